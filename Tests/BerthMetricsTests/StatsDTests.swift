import BerthCgroups
import BerthLinux
import BerthMetrics
import BerthMetricsServer
import BerthTestSupport
import NIOPosix
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension MetricsSuites {
    @Suite struct StatsDTests {
        @Test func linesParseOrAreRefused() {
            let good = StatsDLine.parse("api.requests:3|c|@0.5|#env:prod,canary")
            #expect(good == StatsDLine(name: "api.requests", value: "3", kind: .counter, sampleRate: 0.5, tags: ["env:prod", "canary"]))
            #expect(StatsDLine.parse("queue:-2|g")?.value == "-2")
            #expect(StatsDLine.parse("latency:12.5|ms|c:abc123")?.kind == .timer, "DogStatsD's container field is accepted")
            #expect(StatsDLine.parse("users:alice|s")?.kind == .set)
            let bad = ["", "novalue", "x:|c", ":1|c", "x:1", "x:1|q", "x:abc|c", "x:1|c|@2", "x:1|c|@0", "x:1|c|bogus",
                       "x:+1|c", "x y:1|c", "x:inf|g", "x:1|c|#", "x:1|c|#a|#b", "x:nan|ms"]
            for line in bad { #expect(StatsDLine.parse(line[...]) == nil, "\(line) is malformed") }
        }

        @Test func gaugesCountersAndTagsByteForByte() {
            let identity = [("task_id", "web.1"), ("container_id", "c|1")]
            #expect(StatsDEncoder.line(name: "container_memory_rss", value: .integer(1024), kind: .gauge, identity: identity,
                                       extra: [], tagging: .dogStatsD)
                == "container_memory_rss:1024|g|#task_id:web.1,container_id:c_1")
            #expect(StatsDEncoder.line(name: "container_network_receive_bytes_total", value: .real(0.5), kind: .counter, identity: identity,
                                       extra: [("interface", "eth0")], tagging: .dogStatsD)
                == "container_network_receive_bytes_total:0.5|c|#task_id:web.1,container_id:c_1,interface:eth0")
            #expect(StatsDEncoder.line(name: "container_memory_rss", value: .integer(7), kind: .gauge, identity: identity,
                                       extra: [("device", "/dev/vda")], tagging: .namePrefix("berth"))
                == "berth.web_1.c_1.container_memory_rss._dev_vda:7|g")
        }

        @Test func datagramsStayUnderTheMTU() {
            let lines = (0..<100).map { "metric_\($0):\($0)|g|#task_id:t" }
            let (datagrams, oversized) = StatsDEncoder.pack(lines + [String(repeating: "x", count: 600) + ":1|g"], mtu: 512)
            #expect(oversized == 1)
            #expect(datagrams.allSatisfy { $0.count <= 512 })
            #expect(datagrams.count > 1)
            #expect(datagrams.flatMap { $0.text.split(separator: "\n").map(String.init) } == lines, "every line once, in order")
        }

        @Test func aServerThatIsDownNeverBlocks() throws {
            // A port nobody receives on: the kernel's "connection refused" comes back as drops.
            // It stays bound (to a socket that takes datagrams from port 9 only), so no test
            // running alongside can be given it and receive ours.
            let holder = try UDPListener()
            holder.connect(toPort: 9)
            let sender = try StatsDSender(address: "127.0.0.1:\(holder.port)")
            for _ in 0..<2000 { sender.send(Array(String(repeating: "a", count: 1400).utf8)) }
            #expect(sender.sent + sender.dropped == 2000)
            #expect(sender.dropped > 0)
            withExtendedLifetime(holder) {}
        }

        @Test func badAddressesAreRefusedNamingTheFlag() {
            for address in ["nohost", "127.0.0.1:0", "127.0.0.1:70000", ":8125", "[::1]8125"]  {
                let error = Result { try StatsDSender(address: address) }
                guard case .failure(let failure) = error else { Issue.record("\(address) accepted"); continue }
                #expect("\(failure)".hasPrefix("--statsd-address: "), "\(failure)")
            }
        }

        @Test(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
        func emitterPushesGaugesAndCounterIncreases() async throws {
            try await withTestCgroup { cgroup in
                let server = try UDPListener()
                let emitter = StatsDEmitter(sender: try StatsDSender(address: "127.0.0.1:\(server.port)"), mtu: 512)
                let target = MetricTarget(taskID: "t1", containerID: "c1", cgroup: cgroup)
                let first = emitter.push([target])
                // An empty cgroup: nothing moves, so the second round's counters increase by 0.
                let second = emitter.push([target])
                let datagrams = server.drain()
                #expect(datagrams.allSatisfy { $0.count <= 512 })
                let received = datagrams.flatMap { $0.text.split(separator: "\n").map(String.init) }
                #expect(received == first + second)
                #expect(first.contains("container_processes:0|g|#task_id:t1,container_id:c1"))
                #expect(!first.contains { $0.contains("|c|") }, "a counter seen the first time sends nothing")
                #expect(second.contains("container_cpu_usage_seconds_total:0|c|#task_id:t1,container_id:c1"))
                #expect(second.contains("container_threads:0|g|#task_id:t1,container_id:c1"))
            }
        }

        @Test func relayTagsForwardsAndShowsTaskLines() async throws {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let server = try UDPListener()
            let relay = StatsDRelay(group: group, upstream: try StatsDSender(address: "127.0.0.1:\(server.port)"), seriesLimitPerTask: 3)
            let endpoint = try await relay.open(taskID: "web.1", containerID: "c1")
            #expect(endpoint.environment == ["STATSD_UDP_HOST": "127.0.0.1", "STATSD_UDP_PORT": String(endpoint.port)])
            let task = try UDPListener()
            task.send("requests:2|c|#code:200\nqueue_depth:7|g\nnot a line\nlatency:12|ms\n", to: endpoint.port)
            let forwarded = try #require(server.receive())
            #expect(forwarded.text == "requests:2|c|#code:200,task_id:web.1,container_id:c1\nqueue_depth:7|g|#task_id:web.1,container_id:c1\nlatency:12|ms|#task_id:web.1,container_id:c1")
            task.send("requests:1|c|@0.5|#code:200\nqueue_depth:-2|g\nfourth_series:1|g\nbad:|c", to: endpoint.port)
            _ = try #require(server.receive())
            #expect(relay.malformedLines == 2)
            var exposition = Exposition()
            relay.write(into: &exposition)
            let bytes = exposition.render()
            try expectPromtoolAccepts(bytes)
            let page = Page(bytes)
            #expect(page.value("requests_total", "task_id=\"web.1\"", "container_id=\"c1\"", "code=\"200\"") == 4)
            #expect(page.value("queue_depth", "task_id=\"web.1\"") == 5)
            #expect(page.value("latency_sum", "task_id=\"web.1\"") == 12)
            #expect(page.value("latency_count", "task_id=\"web.1\"") == 1)
            #expect(page.value("fourth_series") == nil, "past the task's limit of 3 series")
            #expect(page.value("berth_statsd_dropped_series_total") == 1)
            #expect(page.value("berth_statsd_malformed_total") == 2)
            await relay.close(taskID: "web.1")
            var after = Exposition()
            relay.write(into: &after)
            #expect(Page(after.render()).value("requests_total") == nil, "a closed task's series go with it")
            try await group.shutdownGracefully()
        }
    }
}
