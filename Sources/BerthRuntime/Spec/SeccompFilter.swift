import BerthOCI
import CBerth
#if canImport(Glibc)
import Glibc
#endif

/// Compiles linux.seccomp into a BPF program with libseccomp, in the parent, so the child only
/// has to load it.
enum SeccompFilter {
    static func compile(_ seccomp: Spec.Seccomp) throws -> (program: [sock_filter], flags: UInt32) {
        let memory = CMemory()
        var config = berth_seccomp_config()
        config.default_action = try action(seccomp.defaultAction, errno: seccomp.defaultErrnoRet, field: "linux.seccomp.defaultAction")
        let architectures = try (seccomp.architectures ?? []).enumerated().map { index, name in
            guard let short = SeccompTables.architectures[name] else {
                throw RuntimeError("config.json: linux.seccomp.architectures[\(index)]: unknown architecture \"\(name)\"")
            }
            return short
        }
        config.architectures = architectures.isEmpty ? nil : memory.stringArray(architectures)

        var rules: [berth_seccomp_rule] = []
        for (index, syscall) in (seccomp.syscalls ?? []).enumerated() {
            let field = "linux.seccomp.syscalls[\(index)]"
            let ruleAction = try action(syscall.action, errno: syscall.errnoRet, field: field + ".action")
            var arguments: [berth_seccomp_arg] = []
            for (argIndex, argument) in (syscall.args ?? []).enumerated() {
                guard let op = SeccompTables.operators[argument.op] else {
                    throw RuntimeError("config.json: \(field).args[\(argIndex)].op: unknown operator \"\(argument.op)\"")
                }
                arguments.append(berth_seccomp_arg(index: UInt32(argument.index), value: argument.value, value_two: argument.valueTwo ?? 0, op: Int32(op)))
            }
            for name in syscall.names {
                rules.append(berth_seccomp_rule(
                    syscall: memory.string(name), action: ruleAction, args: memory.array(arguments),
                    args_count: arguments.count, field: memory.string(field)))
            }
        }
        config.rules = memory.array(rules)
        config.rules_count = rules.count

        var flags: UInt32 = 0
        for (index, name) in (seccomp.flags ?? []).enumerated() {
            guard let value = SeccompTables.flags[name] else {
                throw RuntimeError("config.json: linux.seccomp.flags[\(index)]: unknown flag \"\(name)\"")
            }
            flags |= value
        }

        var program: UnsafeMutablePointer<sock_filter>?
        var length = 0
        var error = [CChar](repeating: 0, count: 512)
        if berth_seccomp_compile(&config, &program, &length, &error, error.count) != 0 {
            throw RuntimeError("config.json: " + String(cString: error))
        }
        defer { free(program) }
        return (Array(UnsafeBufferPointer(start: program, count: length)), flags)
    }

    private static func action(_ name: String, errno: UInt32?, field: String) throws -> berth_seccomp_action {
        let kinds: [String: berth_seccomp_action_kind] = [
            "SCMP_ACT_KILL": BERTH_SECCOMP_KILL_THREAD, "SCMP_ACT_KILL_THREAD": BERTH_SECCOMP_KILL_THREAD,
            "SCMP_ACT_KILL_PROCESS": BERTH_SECCOMP_KILL_PROCESS, "SCMP_ACT_TRAP": BERTH_SECCOMP_TRAP,
            "SCMP_ACT_ERRNO": BERTH_SECCOMP_ERRNO, "SCMP_ACT_TRACE": BERTH_SECCOMP_TRACE,
            "SCMP_ACT_ALLOW": BERTH_SECCOMP_ALLOW, "SCMP_ACT_LOG": BERTH_SECCOMP_LOG,
        ]
        if name == "SCMP_ACT_NOTIFY" {
            throw RuntimeError("config.json: \(field): SCMP_ACT_NOTIFY is not supported by berth (no seccomp agent)")
        }
        guard let kind = kinds[name] else {
            throw RuntimeError("config.json: \(field): unknown action \"\(name)\"")
        }
        return berth_seccomp_action(kind: Int32(kind.rawValue), errno_value: errno ?? SeccompTables.defaultErrno)
    }
}
