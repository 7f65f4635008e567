import BerthCgroups
import BerthLinux
import BerthMetrics
import BerthMetricsServer
import BerthTestSupport
import Foundation
import NIOPosix
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension MetricsSuites {
    /// The HTTP side: berthd's /metrics endpoint, and tasks' own endpoints scraped through it.
    @Suite struct EndpointTests {
        /// GET http://127.0.0.1:port/path with curl-like simplicity: (status line, body).
        func get(_ port: Int, _ path: String, method: String = "GET") throws -> (String, [UInt8]) {
            let output = try TestEnvironment.run(["/usr/bin/python3", "-c", """
                import http.client, sys
                c = http.client.HTTPConnection("127.0.0.1", \(port), timeout=10)
                c.request("\(method)", "\(path)")
                r = c.getresponse()
                body = r.read()
                sys.stderr.write("%d %s\\n" % (r.status, r.getheader("Content-Type")))
                sys.stdout.buffer.write(body)
                """])
            return (output.standardErrorText.trimmingCharacters(in: .whitespacesAndNewlines), output.standardOutput)
        }

        @Test func serverAnswersMetricsAndNothingElse() async throws {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let collector = MetricsCollector()
            collector.agent.launchStarted()
            let ports = AsyncStream<Int>.makeStream()
            let server = MetricsServer(host: "127.0.0.1", port: 0) { await collector.scrape([]) }
            let serving = Task { try await server.run(group: group) { ports.continuation.yield($0) } }
            var iterator = ports.stream.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let (status, body) = try get(port, "/metrics")
            #expect(status == "200 text/plain; version=0.0.4; charset=utf-8")
            try expectPromtoolAccepts(body)
            #expect(Page(body).value("berth_task_launches_total") == 1)
            #expect(Page(body).value("berth_node_cpus") != nil)
            #expect(try get(port, "/").0.hasPrefix("404"))
            #expect(try get(port, "/metrics/extra").0.hasPrefix("404"))
            #expect(try get(port, "/metrics", method: "POST").0.hasPrefix("405"))
            // The previous scrape's own duration shows on the next one.
            #expect(Page(try get(port, "/metrics").1).value("berth_metrics_scrape_duration_seconds") != nil)
            serving.cancel()
            _ = await serving.result
            try await group.shutdownGracefully()
        }

        @Test func badMetricsAddressIsRefusedNamingTheFlag() {
            let result = Result { try MetricsServer.parseAddress("localhost") }
            guard case .failure(let error) = result else { Issue.record("accepted"); return }
            #expect("\(error)" == "--metrics-address: \"localhost\" has no port (host:port)")
        }

        /// A task's own endpoint, served by a real HTTP server (python's) from a file.
        final class TaskEndpoint {
            let directory: String
            let server: ProcessHandle
            let port: Int

            init(_ body: String) throws {
                directory = "/tmp/berth-metrics-endpoint-\(UInt32.random(in: 0...UInt32.max))"
                try FileSystem.createDirectory(directory)
                try FileSystem.writeAtomically(Array(body.utf8), to: directory + "/metrics")
                // The server binds port 0 itself and names the port it got (a port picked here and
                // bound later could be taken in between by a test running alongside).
                let devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)
                defer { close(devnull) }
                let script = """
                    import functools, http.server, os, sys
                    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
                    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
                    with open(sys.argv[1] + "/port.tmp", "w") as f:
                        f.write(str(server.server_address[1]))
                    os.rename(sys.argv[1] + "/port.tmp", sys.argv[1] + "/port")
                    server.serve_forever()
                    """
                server = try ChildProcess(path: "/usr/bin/python3", arguments: ["python3", "-c", script, directory])
                    .spawn(stdout: devnull, stderr: devnull)
                var named: Int?
                let deadline = ContinuousClock.now + .seconds(60)
                while named == nil && ContinuousClock.now < deadline {
                    named = (try? FileSystem.readString(directory + "/port")).flatMap { Int($0) }
                    if named == nil { usleep(20_000) }
                }
                guard let named else {
                    try? server.signal(SIGKILL)
                    _ = try? server.wait(timeout: .seconds(5))
                    server.close()
                    throw EndpointFailure(description: "python's http.server named no port within 60 s")
                }
                port = named
            }

            deinit {
                try? server.signal(SIGKILL)
                _ = try? server.wait(timeout: .seconds(5))
                server.close()
                try? FileSystem.removeTree(directory)
            }
        }

        @Test(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
        func taskEndpointsAreScrapedAndRelabelled() async throws {
            var body = """
                # HELP http_requests_total Requests.
                # TYPE http_requests_total counter
                http_requests_total{code="200",task_id="spoof"} 10 1700000000000
                http_requests_total{code="500"} 2
                # HELP request_duration_seconds Latency.
                # TYPE request_duration_seconds histogram
                request_duration_seconds_bucket{le="0.1"} 3
                request_duration_seconds_bucket{le="+Inf"} 4
                request_duration_seconds_sum 0.9
                request_duration_seconds_count 4
                this line is not a sample
                # HELP container_processes Clash with berth's own family.
                # TYPE container_processes gauge
                container_processes 99

                """
            for i in 0..<1200 { body += "many_series{i=\"\(i)\"} \(i)\n" }
            let endpoint = try TaskEndpoint(body)
            try await withTestCgroup { cgroup in
                let labels = ["DCOS_METRICS_FORMAT": "prometheus", "BERTH_METRICS_PORT": String(endpoint.port)]
                let scraped = MetricTarget(taskID: "app", containerID: "app-1", cgroup: cgroup)
                var withEndpoint = scraped
                withEndpoint.labels = labels
                let down = MetricTarget(taskID: "down", containerID: "down-1", labels: ["BERTH_METRICS_FORMAT": "prometheus", "BERTH_METRICS_PORT": "1"], cgroup: cgroup)
                let collector = MetricsCollector()
                // Listening since it named its port; the first scrape shows it up.
                #expect(await eventually { Page(await collector.scrape([withEndpoint])).value("berth_task_scrape_up", "task_id=\"app\"") == 1 })
                let bytes = await collector.scrape([withEndpoint, down])
                try expectPromtoolAccepts(bytes)
                let page = Page(bytes)
                #expect(page.value("http_requests_total", "task_id=\"app\"", "container_id=\"app-1\"", "code=\"200\"", "exported_task_id=\"spoof\"") == 10)
                #expect(page.value("http_requests_total", "task_id=\"app\"", "code=\"500\"") == 2)
                #expect(page.value("request_duration_seconds_bucket", "task_id=\"app\"", "le=\"+Inf\"") == 4)
                #expect(page.value("request_duration_seconds_count", "task_id=\"app\"") == 4)
                #expect(page.value("container_processes", "task_id=\"app\"") == 0, "berth's own series, not the task's 99")
                #expect(page.values("container_processes").contains(99) == false)
                let kept = page.values("many_series").count
                #expect(kept == 1000 - 7, "the limit counts every sample of the task")
                #expect(page.value("berth_task_scrape_samples_skipped", "task_id=\"app\"")! >= 200)
                #expect(page.value("berth_task_scrape_up", "task_id=\"down\"") == 0, "a dead endpoint fails only itself")
                #expect(page.value("container_processes", "task_id=\"down\"") == 0)
            }
        }
    }
}

struct EndpointFailure: Error, CustomStringConvertible {
    let description: String
}
