
extension Spec {
    /// config.json `linux.seccomp`.
    public struct Seccomp: Codable, Sendable, Equatable {
        public var defaultAction: String
        public var defaultErrnoRet: UInt32?
        public var architectures: [String]?
        public var flags: [String]?
        public var listenerPath: String?
        public var listenerMetadata: String?
        public var syscalls: [Syscall]?

        public init(
            defaultAction: String, defaultErrnoRet: UInt32? = nil, architectures: [String]? = nil,
            flags: [String]? = nil, listenerPath: String? = nil, listenerMetadata: String? = nil,
            syscalls: [Syscall]? = nil
        ) {
            self.defaultAction = defaultAction
            self.defaultErrnoRet = defaultErrnoRet
            self.architectures = architectures
            self.flags = flags
            self.listenerPath = listenerPath
            self.listenerMetadata = listenerMetadata
            self.syscalls = syscalls
        }
    }

    public struct Syscall: Codable, Sendable, Equatable {
        public var names: [String]
        public var action: String
        public var errnoRet: UInt32?
        public var args: [SyscallArg]?

        public init(names: [String], action: String, errnoRet: UInt32? = nil, args: [SyscallArg]? = nil) {
            self.names = names
            self.action = action
            self.errnoRet = errnoRet
            self.args = args
        }
    }

    public struct SyscallArg: Codable, Sendable, Equatable {
        /// Argument position, 0...5.
        public var index: UInt
        public var value: UInt64
        public var valueTwo: UInt64?
        public var op: String

        public init(index: UInt, value: UInt64, valueTwo: UInt64? = nil, op: String) {
            self.index = index
            self.value = value
            self.valueTwo = valueTwo
            self.op = op
        }
    }
}

/// Names the spec uses for seccomp, and the libseccomp / kernel values behind them.
public enum SeccompTables {
    /// Action name → libseccomp action value (scmp_action, <seccomp.h>). ERRNO and TRACE
    /// carry their errno in the low 16 bits: use `actionValue(_:errnoRet:)`.
    public static let actions: [String: UInt32] = [
        "SCMP_ACT_KILL": 0x0000_0000,
        "SCMP_ACT_KILL_THREAD": 0x0000_0000,
        "SCMP_ACT_KILL_PROCESS": 0x8000_0000,
        "SCMP_ACT_TRAP": 0x0003_0000,
        "SCMP_ACT_ERRNO": 0x0005_0000,
        "SCMP_ACT_TRACE": 0x7FF0_0000,
        "SCMP_ACT_LOG": 0x7FFC_0000,
        "SCMP_ACT_ALLOW": 0x7FFF_0000,
        "SCMP_ACT_NOTIFY": 0x7FC0_0000,
    ]

    /// Errno returned by SCMP_ACT_ERRNO / SCMP_ACT_TRACE when errnoRet is absent (EPERM).
    public static let defaultErrno: UInt32 = 1

    /// Actions whose value carries an errno (errnoRet is meaningless for the others).
    public static let actionsWithErrno: Set<String> = ["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"]

    public static func actionValue(_ name: String, errnoRet: UInt32? = nil) -> UInt32? {
        guard let base = actions[name] else { return nil }
        if actionsWithErrno.contains(name) {
            return base | ((errnoRet ?? defaultErrno) & 0xFFFF)
        }
        return base
    }

    /// Operator name → libseccomp `enum scmp_compare`.
    public static let operators: [String: UInt32] = [
        "SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
        "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7,
    ]

    /// Spec architecture name → the name `seccomp_arch_resolve_name()` accepts.
    public static let architectures: [String: String] = [
        "SCMP_ARCH_X86": "x86", "SCMP_ARCH_X86_64": "x86_64", "SCMP_ARCH_X32": "x32",
        "SCMP_ARCH_ARM": "arm", "SCMP_ARCH_AARCH64": "aarch64",
        "SCMP_ARCH_MIPS": "mips", "SCMP_ARCH_MIPS64": "mips64", "SCMP_ARCH_MIPS64N32": "mips64n32",
        "SCMP_ARCH_MIPSEL": "mipsel", "SCMP_ARCH_MIPSEL64": "mipsel64", "SCMP_ARCH_MIPSEL64N32": "mipsel64n32",
        "SCMP_ARCH_PPC": "ppc", "SCMP_ARCH_PPC64": "ppc64", "SCMP_ARCH_PPC64LE": "ppc64le",
        "SCMP_ARCH_S390": "s390", "SCMP_ARCH_S390X": "s390x",
        "SCMP_ARCH_PARISC": "parisc", "SCMP_ARCH_PARISC64": "parisc64",
        "SCMP_ARCH_RISCV64": "riscv64", "SCMP_ARCH_LOONGARCH64": "loongarch64",
        "SCMP_ARCH_M68K": "m68k", "SCMP_ARCH_SH": "sh", "SCMP_ARCH_SHEB": "sheb",
    ]

    /// Filter flag name → SECCOMP_FILTER_FLAG_* value for seccomp(2).
    public static let flags: [String: UInt32] = [
        "SECCOMP_FILTER_FLAG_TSYNC": 1,
        "SECCOMP_FILTER_FLAG_LOG": 2,
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4,
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 32,
    ]

    /// The kernel passes six syscall arguments.
    public static let maxArgs: UInt = 6
}
