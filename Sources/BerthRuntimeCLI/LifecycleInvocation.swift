import BerthLinux
import BerthOCI
import BerthRuntime
#if canImport(Glibc)
import Glibc
#endif

/// One lifecycle command (`create`, `run`, `start`, `state`, `kill`, `delete`) with its options
/// read: the ArgumentParser commands and the fast path below both end here.
package struct LifecycleInvocation: Equatable {
    package enum Command: Equatable {
        case create(CreateSettings)
        case run(CreateSettings, detach: Bool, keep: Bool, gateFD: String?)
        case start(id: String)
        case state(id: String)
        case kill(id: String, signal: String, all: Bool)
        case delete(id: String, force: Bool)
    }

    package var global: GlobalSettings
    package var command: Command

    package init(global: GlobalSettings, command: Command) {
        self.global = global
        self.command = command
    }

    package func perform() throws {
        let runtime = try global.prepare()
        switch command {
        case .create(let settings):
            try runtime.create(id: settings.id, options: try settings.options())
        case .run(let settings, let detach, let keep, let gateFD):
            let options = try settings.options()
            let gate = try gateFD.map { try Self.gate($0, preserving: options.preserveFDs) }
            do {
                let status = try runtime.run(id: settings.id, options: options, detach: detach, keep: keep, gate: gate)
                if status != 0 { throw CommandExit(status) }
            } catch is LaunchWithdrawn {
                // Not a failure of ours: the launcher changed its mind (EX_TEMPFAIL, silently).
                throw CommandExit(75)
            }
        case .start(let id):
            try runtime.start(id: id)
        case .state(let id):
            print(try OCIJSON.encodeString(try runtime.stateReport(id: id)), terminator: "")
        case .kill(let id, let signal, let all):
            guard let number = Signals.parse(signal) else {
                throw CommandError(description: "kill: \"\(signal)\" is not a signal")
            }
            try runtime.kill(id: id, signal: number, all: all)
        case .delete(let id, let force):
            try runtime.delete(id: id, force: force)
        }
    }
}

extension LifecycleInvocation {
    /// `run --gate-fd N`: an open fd above the preserved ones (the container never gets it).
    static func gate(_ text: String, preserving preserveFDs: Int) throws -> FileDescriptor {
        guard let fd = Int32(text), fd >= 3 + Int32(clamping: preserveFDs), fcntl(fd, F_GETFD) >= 0 else {
            throw CommandError(description: "--gate-fd: \"\(text)\" is not an open file descriptor above stderr and --preserve-fds")
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return FileDescriptor(rawValue: fd)
    }
}

extension LifecycleInvocation {
    /// Reads the plain forms of the lifecycle commands without ArgumentParser, whose reflection
    /// cost more than all the rest of a `berth run` (18 M of 43 M instructions under callgrind):
    /// podman, conmon and containerd call these for every container. Anything else — help, an
    /// unknown flag, `--`, grouped short flags, a value that looks like a flag, a repeated
    /// option — returns nil, and ArgumentParser reads the line, with its help and its errors.
    /// Tests/BerthCLITests holds the two parsers to the same result.
    package init?(fastParsing arguments: [String]) {
        var global = GlobalSettings()
        var verb: String?
        var flags: [String] = []
        var values: [(name: String, value: String)] = []
        func value(_ name: String) -> String? { values.first { $0.name == name }?.value }
        var positionals: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument.hasPrefix("-") else {
                if verb == nil {
                    guard Self.switches(of: argument) != nil else { return nil }
                    verb = argument
                } else {
                    positionals.append(argument)
                }
                continue
            }
            var name = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            name = Self.longName(of: name)
            let verbOptions = verb.flatMap { Self.switches(of: $0) } ?? (flags: [], options: [])
            if Self.globalFlags.contains(name) || verbOptions.flags.contains(name) {
                guard inlineValue == nil, !flags.contains(name) else { return nil }
                flags.append(name)
            } else if Self.globalOptions.contains(name) || verbOptions.options.contains(name) {
                let value: String
                if let inlineValue {
                    value = inlineValue
                } else {
                    guard index < arguments.count, !arguments[index].hasPrefix("-") else { return nil }
                    value = arguments[index]
                    index += 1
                }
                guard !values.contains(where: { $0.name == name }) else { return nil }
                values.append((name, value))
            } else {
                return nil
            }
        }
        guard let verb else { return nil }

        global.root = value("--root") ?? global.root
        global.log = value("--log")
        global.logFormat = value("--log-format") ?? global.logFormat
        global.debug = flags.contains("--debug")
        global.systemdCgroup = flags.contains("--systemd-cgroup")
        global.rootless = value("--rootless")

        let isKill = verb == "kill"
        guard positionals.count == 1 || (isKill && positionals.count == 2) else { return nil }
        let id = positionals[0]
        var create = CreateSettings(id: id)
        create.bundle = value("--bundle") ?? create.bundle
        create.pidFile = value("--pid-file")
        create.consoleSocket = value("--console-socket")
        if let count = value("--preserve-fds") {
            guard let number = Int(count) else { return nil }
            create.preserveFDs = number
        }
        create.noPivot = flags.contains("--no-pivot")

        let command: Command
        switch verb {
        case "create": command = .create(create)
        case "run": command = .run(create, detach: flags.contains("--detach"), keep: flags.contains("--keep"), gateFD: value("--gate-fd"))
        case "start": command = .start(id: id)
        case "state": command = .state(id: id)
        case "kill": command = .kill(id: id, signal: positionals.count == 2 ? positionals[1] : "SIGTERM", all: flags.contains("--all"))
        case "delete": command = .delete(id: id, force: flags.contains("--force"))
        default: return nil
        }
        self.init(global: global, command: command)
    }

    // Plain arrays and switches, not sets and dictionaries: these run at every start, and the
    // first use of a hashed collection of a type costs the Swift runtime a search of every
    // protocol conformance in the binary, far more than the lookups.
    private static let globalFlags = ["--debug", "--systemd-cgroup"]
    private static let globalOptions = ["--root", "--log", "--log-format", "--rootless"]

    /// The flags and options a verb takes besides the global ones; nil for any other verb.
    private static func switches(of verb: String) -> (flags: [String], options: [String])? {
        let createOptions = ["--bundle", "--pid-file", "--console-socket", "--preserve-fds"]
        switch verb {
        case "create": return (["--no-pivot", "--no-new-keyring"], createOptions)
        case "run": return (["--no-pivot", "--no-new-keyring", "--detach", "--keep"], createOptions + ["--gate-fd"])
        case "start", "state": return ([], [])
        case "kill": return (["--all"], [])
        case "delete": return (["--force"], [])
        default: return nil
        }
    }

    /// The short names these commands have; each means the same long name in every command.
    private static func longName(of name: String) -> String {
        switch name {
        case "-b": return "--bundle"
        case "-d": return "--detach"
        case "-a": return "--all"
        case "-f": return "--force"
        default: return name
        }
    }
}
