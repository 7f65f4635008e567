import BerthLinux
import CBerth
#if canImport(Glibc)
import Glibc
#endif

/// Device rules: checked once, then written as v1 devices.allow/deny lines or compiled to a v2
/// BPF program. Rules read last-match-wins, starting from "deny everything".
enum DeviceRules {
    struct Normalized: Equatable {
        var allow: Bool
        var type: Character      // a, b, c
        var major: Int64         // -1 = any
        var minor: Int64
        var access: String       // subset of "rwm", in that order

        var matchesEverything: Bool { type == "a" && major == -1 && minor == -1 && access == "rwm" }
    }

    static func normalize(_ rule: Resources.DeviceRule) -> Normalized {
        let type = rule.type.flatMap { $0.isEmpty ? nil : $0.first } ?? "a"
        let letters = Set(rule.access ?? "")
        let access = letters.isEmpty ? "rwm" : String("rwm".filter { letters.contains($0) })
        return Normalized(allow: rule.allow, type: type, major: rule.major ?? -1, minor: rule.minor ?? -1, access: access)
    }

    static func validate(_ rules: [Resources.DeviceRule]) throws(CgroupError) {
        for (index, rule) in rules.enumerated() {
            let field = "\(resourcesField).devices[\(index)]"
            if let type = rule.type, !type.isEmpty, !["a", "b", "c"].contains(type) {
                throw CgroupError(field: field + ".type", "\"\(type)\" is not a, b or c")
            }
            if let access = rule.access, access.contains(where: { !"rwm".contains($0) }) {
                throw CgroupError(field: field + ".access", "\"\(access)\" has letters other than r, w and m")
            }
            for (name, value) in [("major", rule.major), ("minor", rule.minor)] {
                if let value, value < -1 || value > Int64(Int32.max) {
                    throw CgroupError(field: field + ".\(name)", "\(value) is neither -1 (any) nor a device number")
                }
            }
        }
    }

    /// v1 writes, in order: deny everything, then each rule. A rule of type "a" that is not the
    /// everything-rule becomes a "c" and a "b" line (v1 reads a bare "a" as everything).
    static func v1Writes(_ rules: [Resources.DeviceRule]) -> [(index: Int?, file: String, line: String)] {
        var writes: [(index: Int?, file: String, line: String)] = [(nil, "devices.deny", "a")]
        for (index, rule) in rules.enumerated() {
            let r = normalize(rule)
            let file = r.allow ? "devices.allow" : "devices.deny"
            if r.matchesEverything {
                writes.append((index, file, "a"))
                continue
            }
            let major = r.major == -1 ? "*" : "\(r.major)"
            let minor = r.minor == -1 ? "*" : "\(r.minor)"
            for type in r.type == "a" ? ["c", "b"] : [String(r.type)] {
                writes.append((index, file, "\(type) \(major):\(minor) \(r.access)"))
            }
        }
        return writes
    }

    static func cRules(_ rules: [Resources.DeviceRule]) -> [berth_device_rule] {
        rules.map { rule in
            let r = normalize(rule)
            var access: UInt32 = 0
            if r.access.contains("r") { access |= UInt32(BERTH_DEV_ACC_READ) }
            if r.access.contains("w") { access |= UInt32(BERTH_DEV_ACC_WRITE) }
            if r.access.contains("m") { access |= UInt32(BERTH_DEV_ACC_MKNOD) }
            let type: Int32
            switch r.type {
            case "b": type = Int32(BERTH_DEV_TYPE_BLOCK)
            case "c": type = Int32(BERTH_DEV_TYPE_CHAR)
            default: type = Int32(BERTH_DEV_TYPE_ALL)
            }
            return berth_device_rule(allow: r.allow ? 1 : 0, type: type, major: r.major, minor: r.minor, access: access)
        }
    }

    /// Loads the rules as a BPF program and puts it on the v2 cgroup in place of any device
    /// program already there (`berth update` comes from another process, so nothing is kept).
    static func attachBPF(_ rules: [Resources.DeviceRule], to directory: String) throws(CgroupError) {
        let field = "\(resourcesField).devices"
        let dirfd: FileDescriptor
        do { dirfd = try FileDescriptor.open(directory, O_RDONLY | O_DIRECTORY) } catch {
            throw CgroupError(field: field, "open \(directory) for the device filter: \(error.errno)", errno: error.errno)
        }
        defer { dirfd.close() }
        let cRules = cRules(rules)
        var log = [CChar](repeating: 0, count: 16384)
        let (prog, error) = retryingInterrupts {
            cRules.withUnsafeBufferPointer { buffer in
                log.withUnsafeMutableBufferPointer { logBuffer in
                    berth_device_filter_attach(dirfd.rawValue, buffer.baseAddress, buffer.count, 0,
                                               logBuffer.baseAddress, logBuffer.count)
                }
            }
        }
        if let error {
            let text = log.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            let detail = text.split(separator: "\n").last.map { " (verifier: \($0))" } ?? ""
            throw CgroupError(field: field, "attach the BPF device filter to \(directory): \(error)\(detail)", errno: error)
        }
        Glibc.close(prog)
    }

    /// How many device programs sit directly on a v2 cgroup (for checks and tests).
    static func attachedPrograms(_ directory: String) -> Int? {
        guard let dirfd = try? FileDescriptor.open(directory, O_RDONLY | O_DIRECTORY) else { return nil }
        defer { dirfd.close() }
        let count = berth_device_filter_count(dirfd.rawValue)
        return count < 0 ? nil : Int(count)
    }
}

extension Cgroup {
    /// Device programs attached directly to this cgroup's v2 directory; nil without one.
    public func deviceFilterCount() -> Int? {
        guard let v2 = directories.first(where: { $0.version == 2 }) else { return nil }
        return DeviceRules.attachedPrograms(v2.path)
    }
}
