import BerthLinux
import BerthOCI
import BerthTestSupport
import Foundation
import Testing

extension MetricsSuites {
    /// Real containers started with the berth binary, scraped with `berth metrics-scrape`: the
    /// runtime's state gives each container's cgroup, init pid and creation time.
    @Suite struct ScrapeCommandTests {
        @Test(.enabled(if: MetricsHost.canRunContainers, "needs root, the berth binary and the busybox rootfs; in CI (CI=true) it runs and fails without them"))
        func runningContainerIsScrapedFromTheRuntimeState() async throws {
            let directory = "/tmp/berth-metrics-cli-\(UInt32.random(in: 0...UInt32.max))"
            let root = directory + "/state"
            try FileSystem.createDirectory(directory + "/bundle")
            defer {
                _ = try? TestEnvironment.run([TestEnvironment.berthBinary, "--root", root, "delete", "--force", "scraped"])
                try? FileSystem.removeTree(directory)
            }
            var spec = Spec.defaultSpec()
            spec.root = .init(path: TestEnvironment.rootfsPath, readonly: true)
            spec.process?.terminal = false
            spec.process?.args = ["sh", "-c", "sleep 600 & exec sleep 601"]
            var resources = spec.linux?.resources ?? .init()
            resources.memory = .init(limit: 96 << 20)
            spec.linux?.resources = resources
            try FileSystem.writeAtomically(Array(try OCIJSON.encode(spec)), to: directory + "/bundle/config.json")
            let run = try TestEnvironment.run([TestEnvironment.berthBinary, "--root", root, "run", "-d", "--bundle", directory + "/bundle", "scraped"])
            #expect(run.status == .exited(0), "\(run.standardErrorText)")
            // `run -d` returns once the init is released: the shell forks its sleep before it
            // execs the other, so both run once the init's comm is sleep.
            let state = try TestEnvironment.run([TestEnvironment.berthBinary, "--root", root, "state", "scraped"])
            struct Init: Decodable { var pid: Int32 }
            let pid = try JSONDecoder().decode(Init.self, from: Data(state.standardOutput)).pid
            #expect(await eventually { readComm(pid) == "sleep" })

            let scrape = try TestEnvironment.run([TestEnvironment.berthBinary, "--root", root, "metrics-scrape"])
            #expect(scrape.status == .exited(0), "\(scrape.standardErrorText)")
            try expectPromtoolAccepts(scrape.standardOutput)
            let page = Page(scrape.standardOutput)
            let id = "container_id=\"scraped\""
            #expect(page.value("container_processes", id) == 2)
            #expect(page.value("container_spec_memory_limit_bytes", id) == Double(96 << 20))
            #expect((page.value("container_memory_usage_bytes", id) ?? 0) > 0)
            let started = try #require(page.value("container_start_time_seconds", id))
            #expect(abs(started - Date().timeIntervalSince1970) < 3600)
            // Its own network namespace holds only lo, which is left out.
            #expect(page.values("container_network_receive_bytes_total", id).isEmpty)

            // Deleted: gone from the next scrape, which still succeeds.
            _ = try TestEnvironment.run([TestEnvironment.berthBinary, "--root", root, "delete", "--force", "scraped"])
            let after = try TestEnvironment.run([TestEnvironment.berthBinary, "--root", root, "metrics-scrape"])
            #expect(after.status == .exited(0))
            #expect(!after.standardOutputText.contains(id))
        }

        @Test(.enabled(if: FileSystem.exists(TestEnvironment.berthBinary), "needs the berth binary"))
        func badRepeatIsOneLineNamingTheFlag() throws {
            let output = try TestEnvironment.run([TestEnvironment.berthBinary, "--root", "/tmp/berth-metrics-none", "metrics-scrape", "--repeat", "0"])
            #expect(output.status == .exited(1))
            #expect(output.standardErrorText == "berth: --repeat: 0 is not between 1 and 100000\n")
        }
    }
}

/// /proc/PID/comm without its newline ("" when the process is gone).
private func readComm(_ pid: Int32) -> String {
    ((try? FileSystem.readString("/proc/\(pid)/comm")) ?? "").trimmingCharacters(in: "\n")
}
