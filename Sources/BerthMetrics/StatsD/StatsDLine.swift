/// One StatsD line, as a task sends it: `name:value|type[|@rate][|#tag:value,...]`.
public struct StatsDLine: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case counter = "c", gauge = "g", timer = "ms", histogram = "h", distribution = "d", set = "s"
    }

    public var name: String
    /// The value as sent ("3", "-2" for a gauge change, any word for a set).
    public var value: String
    public var kind: Kind
    public var sampleRate: Double?
    /// DogStatsD tags as sent ("env:prod", "canary").
    public var tags: [String]

    public init(name: String, value: String, kind: Kind, sampleRate: Double? = nil, tags: [String] = []) {
        self.name = name
        self.value = value
        self.kind = kind
        self.sampleRate = sampleRate
        self.tags = tags
    }

    static let maxNameBytes = 256
    static let maxTags = 32

    /// nil for anything malformed: no name, a bad value or type, a rate outside (0, 1], an
    /// unknown section. DogStatsD's container (`c:`) and timestamp (`T`) sections are accepted
    /// and dropped.
    public static func parse(_ line: Substring) -> StatsDLine? {
        let sections = line.split(separator: "|", omittingEmptySubsequences: false)
        guard sections.count >= 2, let colon = sections[0].lastIndex(of: ":") else { return nil }
        let name = sections[0][..<colon]
        let value = sections[0][sections[0].index(after: colon)...]
        guard !name.isEmpty, name.utf8.count <= maxNameBytes, name.utf8.allSatisfy(isNameByte),
              !value.isEmpty, let kind = Kind(rawValue: String(sections[1])) else { return nil }
        if kind != .set {
            guard let number = Double(value), number.isFinite else { return nil }
            // Only gauges take a sign: "+3" / "-3" change the gauge.
            if kind != .gauge && value.first == "+" { return nil }
        } else if !value.utf8.allSatisfy(isNameByte) {
            return nil
        }
        var result = StatsDLine(name: String(name), value: String(value), kind: kind)
        for section in sections.dropFirst(2) {
            if section.hasPrefix("@") {
                guard result.sampleRate == nil, let rate = Double(section.dropFirst()), rate > 0, rate <= 1 else { return nil }
                result.sampleRate = rate
            } else if section.hasPrefix("#") {
                let tags = section.dropFirst().split(separator: ",")
                guard result.tags.isEmpty, !tags.isEmpty, tags.count <= maxTags,
                      tags.allSatisfy({ $0.utf8.allSatisfy(isTagByte) }) else { return nil }
                result.tags = tags.map(String.init)
            } else if section.hasPrefix("c:") || section.hasPrefix("T") {
                continue
            } else {
                return nil
            }
        }
        return result
    }

    /// The line as sent on to the StatsD server, with the task's identity.
    package func encoded(identity: [(String, String)], tagging: StatsDTagging) -> String {
        var out: String
        var tags = self.tags
        switch tagging {
        case .dogStatsD:
            out = name
            tags += identity.map { StatsDEncoder.tag($0.0, $0.1) }
        case .namePrefix(let prefix):
            out = StatsDEncoder.prefixedName(prefix: prefix, identity: identity, name: name)
        }
        out += ":" + value + "|" + kind.rawValue
        if let sampleRate { out += "|@" + SampleValue.real(sampleRate).text }
        if !tags.isEmpty { out += "|#" + tags.joined(separator: ",") }
        return out
    }

    /// Printable ASCII without the separators ':', '|', '@', '#', ',' and space.
    static func isNameByte(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && byte != 0x3A && byte != 0x7C && byte != 0x40 && byte != 0x23 && byte != 0x2C
    }

    /// Tags may hold ':' (key:value) but no '|', ',', '#' or space.
    static func isTagByte(_ byte: UInt8) -> Bool {
        byte > 0x20 && byte < 0x7F && byte != 0x7C && byte != 0x2C && byte != 0x23
    }
}

/// How a container's identity travels with its StatsD lines.
public enum StatsDTagging: Sendable, Equatable {
    /// `|#task_id:...,container_id:...` (DogStatsD tags).
    case dogStatsD
    /// `<prefix>.<task_id>.<container_id>.<name>` for servers without tags.
    case namePrefix(String)
}

/// Writes StatsD lines and packs them into datagrams.
public enum StatsDEncoder {
    /// One line: `name:value|g` or `|c`, with tags or a prefixed name.
    public static func line(name: String, value: SampleValue, kind: StatsDLine.Kind,
                            identity: [(String, String)], extra: [(String, String)], tagging: StatsDTagging) -> String {
        var out: String
        switch tagging {
        case .dogStatsD:
            out = clean(name)
        case .namePrefix(let prefix):
            out = prefixedName(prefix: prefix, identity: identity, name: name)
            for (_, value) in extra { out += "." + clean(value) }
        }
        out += ":" + value.text + "|" + kind.rawValue
        if case .dogStatsD = tagging {
            let tags = (identity + extra).map { tag($0.0, $0.1) }
            if !tags.isEmpty { out += "|#" + tags.joined(separator: ",") }
        }
        return out
    }

    static func prefixedName(prefix: String, identity: [(String, String)], name: String) -> String {
        var parts: [String] = prefix.isEmpty ? [] : [clean(prefix)]
        parts += identity.map { clean($0.1) }
        parts.append(name)
        return parts.joined(separator: ".")
    }

    static func tag(_ key: String, _ value: String) -> String {
        value.isEmpty ? clean(key) : clean(key) + ":" + String(decoding: value.utf8.map { StatsDLine.isTagByte($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
    }

    /// A name part as Graphite-style servers take it: letters, digits, '_' and '-'; anything else
    /// (StatsD's separators, '.', which would add a level, '/') becomes '_'.
    static func clean(_ part: String) -> String {
        let bytes = part.utf8.map { Labels.isNameByte($0) || $0 == UInt8(ascii: "-") ? $0 : UInt8(ascii: "_") }
        return bytes.isEmpty ? "_" : String(decoding: bytes, as: UTF8.self)
    }

    /// Newline-separated lines in datagrams of at most `mtu` bytes. A line longer than that on
    /// its own cannot be sent and is counted in `oversized`.
    public static func pack(_ lines: [String], mtu: Int) -> (datagrams: [[UInt8]], oversized: Int) {
        var datagrams: [[UInt8]] = []
        var current: [UInt8] = []
        var oversized = 0
        for line in lines {
            let bytes = Array(line.utf8)
            if bytes.count > mtu { oversized += 1; continue }
            if !current.isEmpty && current.count + 1 + bytes.count > mtu {
                datagrams.append(current)
                current = []
            }
            if !current.isEmpty { current.append(10) }
            current += bytes
        }
        if !current.isEmpty { datagrams.append(current) }
        return (datagrams, oversized)
    }
}
