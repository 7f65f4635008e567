
/// Linux capabilities by name, numbered as in <linux/capability.h>.
public enum LinuxCapability {
    /// In number order, so `names[n]` is capability n.
    public static let names: [String] = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
        "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
        "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
        "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
    ]

    /// Name → capability number (CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40).
    public static let numbers: [String: UInt32] = {
        var table: [String: UInt32] = [:]
        for (i, name) in names.enumerated() { table[name] = UInt32(i) }
        return table
    }()

    public static let last: UInt32 = UInt32(names.count - 1)

    public static func number(_ name: String) -> UInt32? { numbers[name] }

    /// A 64-bit mask (bit n = capability n) for capset(2) and PR_CAPBSET_DROP loops.
    /// Unknown names are skipped; validation refuses them first.
    public static func mask(_ names: [String]) -> UInt64 {
        names.reduce(0) { acc, name in
            guard let n = numbers[name] else { return acc }
            return acc | (1 << UInt64(n))
        }
    }
}
