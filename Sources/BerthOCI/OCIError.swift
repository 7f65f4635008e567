
/// One problem in a JSON document, printed as a single line:
/// `config.json: process.user.uid: expected an unsigned integer, found a string`.
public struct OCIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Name the user knows the document by ("config.json", "process.json", "state.json").
    public var source: String
    /// JSON path inside the document ("linux.namespaces[2].type"); empty for the whole document.
    public var path: String
    public var message: String

    public init(source: String, path: String, message: String) {
        self.source = source
        self.path = path
        self.message = message
    }

    public var description: String {
        path.isEmpty ? "\(source): \(message)" : "\(source): \(path): \(message)"
    }
}



/// Builds JSON paths the way users write them: `a.b[2].c`, and `m["net.ipv4.ip_forward"]`
/// for map keys that are not plain identifiers.
enum JSONPath {
    static func join(_ base: String, _ key: String) -> String {
        if isIdentifier(key) {
            return base.isEmpty ? key : base + "." + key
        }
        let escaped = ASCII.replacing("\"", with: "\\\"", in: ASCII.replacing("\\", with: "\\\\", in: key))
        return base + "[\"" + escaped + "\"]"
    }

    static func index(_ base: String, _ i: Int) -> String {
        base + "[\(i)]"
    }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.utf8.first, first == UInt8(ascii: "_") || ASCII.isLetter(first) else { return false }
        return s.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ASCII.isLetter($0) || ASCII.isDigit($0) }
    }

    /// Renders a Codable coding path; array positions become `[n]`.
    static func render(_ keys: [any CodingKey]) -> String {
        var path = ""
        for key in keys {
            if let k = key as? PathKey, let i = k.index {
                path = index(path, i)
            } else if let i = key.intValue, key.stringValue == "Index \(i)" {
                path = index(path, i)
            } else {
                path = join(path, key.stringValue)
            }
        }
        return path
    }
}

/// Coding key used by the JSON decoder for object members and array positions.
struct PathKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    /// Non-nil only for array positions (map keys that look numeric stay keys).
    var index: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
        self.index = nil
    }

    init(intValue: Int) {
        self.stringValue = "Index \(intValue)"
        self.intValue = intValue
        self.index = intValue
    }
}
