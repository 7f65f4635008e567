/// Label and metric name rules of the exposition format, and the escaping of values.
public enum Labels {
    /// `a="x",b="y"` from pairs, values escaped. Names must already be valid.
    public static func render(_ pairs: [(String, String)]) -> String {
        var out = ""
        for (name, value) in pairs {
            if !out.isEmpty { out += "," }
            out += name
            out += "=\""
            out += escapeValue(value)
            out += "\""
        }
        return out
    }

    /// Joins two rendered label lists.
    public static func join(_ a: String, _ b: String) -> String {
        if a.isEmpty { return b }
        if b.isEmpty { return a }
        return a + "," + b
    }

    /// Label values escape backslash, double quote and newline.
    public static func escapeValue(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x5C || $0 == 0x22 || $0 == 0x0A }) else { return value }
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// HELP text escapes backslash and newline.
    public static func escapeHelp(_ help: String) -> String {
        help.replacing("\\", with: "\\\\").replacing("\n", with: "\\n")
    }

    /// A valid, lint-clean label name: lower case snake case, [a-z_][a-z0-9_]*, never "__..."
    /// (reserved for Prometheus itself). "app.kubernetes.io/name" becomes "app_kubernetes_io_name".
    public static func sanitizeName(_ raw: String) -> String {
        var out = ""
        for byte in raw.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                out.append(Character(Unicode.Scalar(byte)))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"):
                out.append(Character(Unicode.Scalar(byte + 32)))
            default:
                out.append("_")
            }
        }
        if out.isEmpty || out.first!.isNumber { out = "_" + out }
        while out.hasPrefix("__") { out.removeFirst() }
        return out
    }

    /// True for a name the exposition format accepts as a label name.
    public static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return name.utf8.allSatisfy { isNameByte($0) }
    }

    /// True for a metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
    public static func isValidMetricName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(first >= 0x30 && first <= 0x39) else { return false }
        return name.utf8.allSatisfy { isNameByte($0) || $0 == UInt8(ascii: ":") }
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x5F
    }
}
