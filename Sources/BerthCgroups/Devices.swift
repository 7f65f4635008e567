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

    /// One entry of the v1 exception list: type, major, minor (-1 = "*").
    struct V1Key: Hashable, Comparable {
        var type: Character
        var major: Int64
        var minor: Int64

        static func < (a: V1Key, b: V1Key) -> Bool {
            (a.type, a.major, a.minor) < (b.type, b.major, b.minor)
        }

        var text: String { "\(type) \(major == -1 ? "*" : "\(major)"):\(minor == -1 ? "*" : "\(minor)")" }
    }

    /// The exception list (key to access letters) the kernel holds after `v1Writes`, worked out
    /// the way it does it: under deny-by-default an allow adds letters to the entry with exactly
    /// that key and a deny takes them away; "a" alone resets the list and the default. nil when
    /// the rules end allowing by default (devices.list then shows only "a *:* rwm").
    static func v1Exceptions(_ rules: [Resources.DeviceRule]) -> [V1Key: Set<Character>]? {
        var allowByDefault = false
        var list: [V1Key: Set<Character>] = [:]
        for write in v1Writes(rules) {
            let allow = write.file == "devices.allow"
            guard let (key, access) = parseV1Line(write.line) else {
                // The bare "a": everything.
                allowByDefault = allow
                list = [:]
                continue
            }
            // An exception grants under deny-by-default and refuses under allow-by-default.
            if allow != allowByDefault {
                list[key, default: []].formUnion(access)
            } else {
                list[key]?.subtract(access)
                if list[key]?.isEmpty == true { list[key] = nil }
            }
        }
        return allowByDefault ? nil : list
    }

    /// devices.list as a deny-by-default exception list; nil when it allows by default.
    static func parseV1List(_ text: String) -> [V1Key: Set<Character>]? {
        let lines = text.split(separator: "\n")
        if lines.contains("a *:* rwm") { return nil }
        var list: [V1Key: Set<Character>] = [:]
        for line in lines {
            guard let (key, access) = parseV1Line(String(line)) else { return nil }
            list[key, default: []].formUnion(access)
        }
        return list
    }

    /// "c 1:3 rwm" or "c *:* m"; nil for the bare "a" and for anything unexpected.
    private static func parseV1Line(_ line: String) -> (V1Key, Set<Character>)? {
        let parts = line.split(separator: " ")
        guard parts.count == 3, let type = parts[0].first, parts[0].count == 1 else { return nil }
        let numbers = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        guard numbers.count == 2 else { return nil }
        func number(_ text: Substring) -> Int64? { text == "*" ? -1 : Int64(text) }
        guard let major = number(numbers[0]), let minor = number(numbers[1]) else { return nil }
        return (V1Key(type: type, major: major, minor: minor), Set(parts[2]))
    }

    /// The writes that turn the `current` exception list into `target` without refusing, even
    /// for a moment, anything both allow: first the missing grants, then the removals.
    static func v1Changes(from current: [V1Key: Set<Character>], to target: [V1Key: Set<Character>]) -> [(file: String, line: String)] {
        func access(_ letters: Set<Character>) -> String { String("rwm".filter { letters.contains($0) }) }
        var writes: [(file: String, line: String)] = []
        for key in target.keys.sorted() {
            let missing = target[key]!.subtracting(current[key] ?? [])
            if !missing.isEmpty { writes.append(("devices.allow", "\(key.text) \(access(missing))")) }
        }
        for key in current.keys.sorted() {
            let extra = current[key]!.subtracting(target[key] ?? [])
            if !extra.isEmpty { writes.append(("devices.deny", "\(key.text) \(access(extra))")) }
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
