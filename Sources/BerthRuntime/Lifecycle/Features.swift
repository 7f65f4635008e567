import BerthCgroups
import BerthOCI

extension Runtime {
    /// What this build supports on this host, in the runtime-spec features format.
    public static func features() -> Features {
        let host = try? CgroupHost.detect()
        var features = Features.berth(
            cgroupV1: host.map { !$0.legacy.isEmpty } ?? false,
            cgroupV2: host?.unified != nil)
        // Berth applies mount options with mount(2); the recursive mount_setattr forms are refused.
        features.mountOptions = features.mountOptions?.filter { name in
            (try? MountOptions.parse([name]).hasRecursiveAttrs) == false
        }
        // A seccomp agent is not supported, so SCMP_ACT_NOTIFY is refused.
        let actions = features.linux?.seccomp?.actions?.filter { $0 != "SCMP_ACT_NOTIFY" }
        features.linux?.seccomp?.actions = actions
        return features
    }
}
