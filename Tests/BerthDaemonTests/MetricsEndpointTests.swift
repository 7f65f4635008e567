import BerthAPI
import BerthLinux
import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct MetricsEndpointTests {
    private func scrape(_ port: Int) throws -> String {
        let output = try Host.run(["/usr/bin/curl", "-sf", "--max-time", "10", "http://127.0.0.1:\(port)/metrics"])
        try #require(output.status == .exited(0), "curl: \(output.standardErrorText)")
        return output.standardOutputText
    }

    /// The value of the first sample of `family` whose labels contain `fragment`.
    private func value(_ page: String, _ family: String, _ fragment: String) -> Double? {
        for line in page.split(separator: "\n") where line.hasPrefix(family + "{") && line.contains(fragment) {
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    @Test("/metrics shows each task's cgroup statistics and berth's own series, and promtool accepts it")
    func tasksOnMetrics() throws {
        // A UDP socket stands in for the StatsD server the relay forwards to.
        let statsd = try UDPListener()
        let daemon = try Daemon("metrics", arguments: ["--statsd-address", "127.0.0.1:\(statsd.port)"])
        defer { daemon.cleanUp() }
        let port = try daemon.metricsPort()
        _ = try daemon.launch(#"{"id":"met-burn","cmd":"while :; do :; done","resources":{"cpus":0.5,"mem":64},"labels":{"team":"core"}}"#)
        // A plain task runs on the host's filesystem: bash's /dev/udp sends the datagrams.
        _ = try daemon.launch(#"{"id":"met-statsd","args":["/bin/bash","-c","printf 'jobs.done:3|c' > /dev/udp/$STATSD_UDP_HOST/$STATSD_UDP_PORT; printf 'bad line' > /dev/udp/$STATSD_UDP_HOST/$STATSD_UDP_PORT; exec sleep 600"]}"#)
        try daemon.wait("met-burn", for: .running)
        try daemon.wait("met-statsd", for: .running)
        let first = try scrape(port)
        let cpu1 = try #require(value(first, "container_cpu_usage_seconds_total", #"task_id="met-burn""#))
        // Scraped again until the burner has had some CPU and the relay has taken the task's
        // datagrams: each in its own time on a loaded machine.
        var second = first
        func settled(_ page: String) -> Bool {
            (value(page, "container_cpu_usage_seconds_total", #"task_id="met-burn""#) ?? 0) > cpu1
                && page.contains("jobs_done_total{")
                && page.split(separator: "\n").contains { $0.hasPrefix("berth_statsd_malformed_total") && !$0.hasSuffix(" 0") }
        }
        _ = try Host.eventually(timeout: .seconds(90)) {
            usleep(200_000)
            second = try scrape(port)
            return settled(second)
        }
        let cpu2 = try #require(value(second, "container_cpu_usage_seconds_total", #"task_id="met-burn""#))
        #expect(cpu2 > cpu1, "a busy task's CPU counter grows")
        #expect(second.contains(#"label_team="core""#))
        #expect(value(second, "container_spec_memory_limit_bytes", #"task_id="met-burn""#) == Double(64 << 20))
        #expect(value(second, "berth_tasks", #"state="running""#) == 2)
        #expect(second.contains("jobs_done_total{"), "the task's StatsD counter is shown")
        #expect(second.split(separator: "\n").contains { $0.hasPrefix("berth_statsd_malformed_total") && !$0.hasSuffix(" 0") })
        // The relay forwarded the task's line, tagged with its identity.
        let datagram = try #require(statsd.receive(timeout: 60))
        #expect(datagram.hasPrefix("jobs.done:3|c|#"), "\(datagram)")
        #expect(datagram.contains("task_id:met-statsd"))

        let page = daemon.directory + "/page.txt"
        try FileSystem.writeAtomically(Array(second.utf8), to: page)
        let check = try Host.run(["/bin/sh", "-c", "promtool check metrics < \(page)"])
        #expect(check.status == .exited(0), "\(check.standardOutputText)\(check.standardErrorText)")

        // A task that ended drops its series.
        _ = try daemon.client.call("POST", Routes.killTask("met-burn"), body: KillRequest(graceSeconds: 0), as: TaskInfo.self)
        try daemon.wait("met-burn", for: .killed)
        #expect(value(try scrape(port), "container_cpu_usage_seconds_total", #"task_id="met-burn""#) == nil)
    }
}

/// A UDP socket on 127.0.0.1 that reads one datagram at a time.
final class UDPListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw DaemonError("bind UDP: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }

    func receive(timeout seconds: Int32) -> String? {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, seconds * 1000) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : nil
    }
}
