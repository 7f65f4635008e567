import BerthAPI
import BerthLinux
import BerthTestSupport
import Foundation
import Testing

@Suite(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
struct HealthCheckTests {
    /// Ports of their own for each test's berthd: every berthd hands out the lowest free port of
    /// its range first, so with the default range a task listening in one test would answer
    /// the check of a task that must fail it in another.
    static func ports(_ begin: Int) -> String { #"{"inventory":{"portRanges":[{"begin":\#(begin),"end":\#(begin + 9)}]}}"# }

    @Test("an HTTP check against the task's own port reports it healthy")
    func httpHealthy() throws {
        let daemon = try Daemon("health-http", config: Self.ports(30500))
        defer { daemon.cleanUp() }
        let cmd = "mkdir -p www && echo ok > www/index.html && exec /bin/busybox httpd -f -p 127.0.0.1:$PORT0 -h www"
        // Checks start at RUNNING, before httpd may listen: enough failures allowed for a slow
        // start (about a minute of them), or the task is killed before it could be healthy.
        _ = try daemon.launch(#"""
        {"id":"health-web","cmd":"\#(cmd)","resources":{"cpus":0.1,"mem":32,"ports":1},
         "healthChecks":[{"protocol":"HTTP","path":"/index.html","portIndex":0,"intervalSeconds":0.2,"timeoutSeconds":1,"gracePeriodSeconds":0,"maxConsecutiveFailures":300},
                         {"protocol":"TCP","portIndex":0,"intervalSeconds":0.2,"timeoutSeconds":1,"gracePeriodSeconds":0,"maxConsecutiveFailures":300}]}
        """#)
        try daemon.wait("health-web", for: .running)
        let deadline = ContinuousClock.now + .seconds(60)
        var info = try daemon.task("health-web")
        while info.status.healthy != true && ContinuousClock.now < deadline {
            usleep(100_000)
            info = try daemon.task("health-web")
        }
        #expect(info.status.healthy == true, "\(info.status)")
        #expect(info.status.state == .running)
    }

    @Test("a task failing its COMMAND check maxConsecutiveFailures times is killed: FAILED, healthCheckFailed")
    func commandUnhealthy() throws {
        let daemon = try Daemon("health-cmd")
        defer { daemon.cleanUp() }
        _ = try daemon.launch(#"""
        {"id":"health-sick","cmd":"sleep 600","killGracePeriodSeconds":1,
         "healthChecks":[{"protocol":"COMMAND","command":"test -e /nonexistent","intervalSeconds":0.2,"timeoutSeconds":5,"gracePeriodSeconds":0,"maxConsecutiveFailures":2}]}
        """#)
        let done = try daemon.wait("health-sick", timeout: .seconds(60))
        #expect(done.status.state == .failed)
        #expect(done.status.reason == .healthCheckFailed, "\(done.status)")
    }

    @Test("a TCP check on a port nobody listens on fails the task")
    func tcpUnhealthy() throws {
        let daemon = try Daemon("health-tcp", config: Self.ports(30510))
        defer { daemon.cleanUp() }
        _ = try daemon.launch(#"""
        {"id":"health-deaf","cmd":"sleep 600","killGracePeriodSeconds":0.5,"resources":{"cpus":0.1,"mem":32,"ports":1},
         "healthChecks":[{"protocol":"TCP","portIndex":0,"intervalSeconds":0.2,"timeoutSeconds":0.5,"gracePeriodSeconds":0,"maxConsecutiveFailures":3}]}
        """#)
        let done = try daemon.wait("health-deaf", timeout: .seconds(60))
        #expect(done.status.state == .failed)
        #expect(done.status.reason == .healthCheckFailed)
    }
}
