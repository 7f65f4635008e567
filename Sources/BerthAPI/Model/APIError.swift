import FoundationEssentials
import BerthOCI

/// A refused request, as one line naming the field: `resources.cpus: must be between 0.001 and
/// 4096, got -1`. The server sends it as `APIErrorBody` with `status`; the client rebuilds it.
public struct APIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The HTTP status the server answers with (400 bad input, 404 unknown, 409 conflict, ...).
    public var status: Int
    /// What is wrong, without the field ("must not be empty").
    public var message: String
    /// JSON path of the offending value inside the request ("operations[0].tasks[1].id"), if any.
    public var field: String?

    public init(status: Int = 400, message: String, field: String? = nil) {
        self.status = status
        self.message = message
        self.field = (field?.isEmpty ?? true) ? nil : field
    }

    /// A decoding failure of a request body: 400 naming the JSON path.
    public init(_ error: OCIError) {
        self.init(status: 400, message: error.message, field: error.path)
    }

    /// Rebuilds the error a server sent.
    public init(status: Int, body: APIErrorBody) {
        var message = body.error
        if let field = body.field, !field.isEmpty, message.hasPrefix(field + ": ") {
            message = String(message.dropFirst(field.count + 2))
        }
        self.init(status: status, message: message, field: body.field)
    }

    public var description: String {
        if let field { return "\(field): \(message)" }
        return message
    }

    /// The JSON body the server sends: `{"error": "<one line naming the field>", "field": "..."}`.
    public var body: APIErrorBody { APIErrorBody(error: description, field: field) }

    public static func badRequest(_ field: String?, _ message: String) -> APIError {
        APIError(status: 400, message: message, field: field)
    }

    public static func notFound(_ field: String?, _ message: String) -> APIError {
        APIError(status: 404, message: message, field: field)
    }

    public static func conflict(_ field: String?, _ message: String) -> APIError {
        APIError(status: 409, message: message, field: field)
    }
}

/// The JSON body of every error response.
public struct APIErrorBody: Codable, Sendable, Equatable {
    /// One line, naming the field when there is one.
    public var error: String
    /// JSON path of the offending value, for programs.
    public var field: String?

    public init(error: String, field: String? = nil) {
        self.error = error
        self.field = field
    }
}

/// Builds JSON paths the way users write them (`a.b[2].c`, `env["MY-VAR"]`), to name fields in
/// validation errors the same way the decoder names them.
public enum FieldPath {
    public static func join(_ base: String, _ key: String) -> String {
        if isIdentifier(key) { return base.isEmpty ? key : base + "." + key }
        let escaped = key.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
        return base + "[\"" + escaped + "\"]"
    }

    public static func index(_ base: String, _ i: Int) -> String { base + "[\(i)]" }

    static func isIdentifier(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first else { return false }
        if !(first == "_" || (first.isASCII && first.properties.isAlphabetic)) { return false }
        return s.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && $0.properties.isAlphabetic) || ("0"..."9").contains($0) }
    }
}

/// The string enums of the API. Decoding an unknown value names it and lists the known ones:
/// `network.mode: unknown network mode "overlay" (expected host, none or bridge)`.
public protocol WireEnum: RawRepresentable, CaseIterable, Codable, Sendable, Hashable where RawValue == String {
    /// How the value is called in messages ("network mode").
    static var kind: String { get }
}

extension WireEnum {
    /// "host, none or bridge".
    public static var expected: String {
        let names = allCases.map(\.rawValue)
        guard names.count > 1 else { return names.first ?? "" }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    /// The shared `init(from:)` body of every wire enum.
    public static func decodeWire(from decoder: any Decoder) throws -> Self {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: raw) else {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath,
                debugDescription: "unknown \(kind) \(quoted(raw)) (expected \(expected))"))
        }
        return value
    }
}

/// A string as JSON writes it, for messages: `"a\"b"`.
package func quoted(_ s: String) -> String {
    OCIJSON.quoted(s)
}

/// Decodes a request body strictly (unknown fields and wrong types refused, naming the path).
public enum APIJSON {
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, source: String = "request") throws(APIError) -> T {
        do {
            return try OCIJSON.decode(type, from: data, source: source, rejectingUnknownFields: true)
        } catch {
            throw APIError(error)
        }
    }
}
