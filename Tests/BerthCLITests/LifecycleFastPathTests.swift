import ArgumentParser
@testable import BerthRuntimeCLI
import Testing

@testable import BerthCLI

/// The fast path must read every line it takes exactly as ArgumentParser reads it, and take
/// nothing it cannot read that way.
@Suite struct LifecycleFastPathTests {
    static let linesItTakes: [[String]] = [
        ["--root", "/run/x", "--log", "/tmp/l", "--log-format", "json", "create", "--bundle", "/b",
         "--pid-file", "/p", "--console-socket", "/s", "--no-new-keyring", "c1"],
        ["create", "-b", "/b", "c1"],
        ["create", "--bundle=/b", "--pid-file=/p", "--preserve-fds=1", "c1"],
        ["create", "--root", "/r", "--debug", "c1"],
        ["--systemd-cgroup", "create", "c1"],
        ["--rootless", "false", "create", "--no-pivot", "c1"],
        ["--debug", "run", "-d", "--keep", "--preserve-fds", "2", "c1"],
        ["run", "--bundle", "b", "c1"],
        ["run", "--detach", "--pid-file", "/p", "-b", "/b", "c1"],
        ["run", "--detach", "--gate-fd", "4", "--bundle", "/b", "c1"],
        ["--root", "/r", "start", "c1"],
        ["state", "c1"],
        ["--root=/r", "state", "c1"],
        ["kill", "c1"],
        ["kill", "c1", "KILL"],
        ["kill", "--all", "c1", "9"],
        ["--root", "/r", "kill", "-a", "c1", "SIGTERM"],
        ["delete", "c1"],
        ["delete", "-f", "c1"],
        ["--log-format", "json", "delete", "--force", "c1"],
    ]

    @Test(arguments: linesItTakes)
    func readsAsArgumentParserReads(_ line: [String]) throws {
        let fast = try #require(LifecycleInvocation(fastParsing: line))
        let parsed = try Berth.parseAsRoot(line)
        let command = try #require(parsed as? any LifecycleCommand)
        #expect(fast == command.invocation)
    }

    static let linesItLeaves: [[String]] = [
        [], ["--help"], ["run", "--help"], ["run", "-h", "c1"], ["--version"], ["list"], ["spec"],
        ["run", "--bogus", "c1"], ["kill", "c1", "-9"], ["run", "--", "c1"], ["run", "-dk", "c1"],
        ["run", "c1", "c2"], ["start"], ["create", "--pid-file", "--bundle", "c1"],
        ["--debug", "--debug", "start", "c1"], ["create", "-b=x", "c1"], ["delete", "-d", "c1"],
        ["run", "--preserve-fds", "two", "c1"], ["--bundle", "b", "run", "c1"], ["--debug=yes", "start", "c1"],
        ["--socket", "/s", "state", "c1"], ["exec", "c1", "true"],
    ]

    @Test(arguments: linesItLeaves)
    func leavesTheRestToArgumentParser(_ line: [String]) {
        #expect(LifecycleInvocation(fastParsing: line) == nil)
    }
}
