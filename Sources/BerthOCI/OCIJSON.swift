import Foundation

/// JSON reading and writing for every document berth shows to users or keeps on disk.
public enum OCIJSON {
    /// Decodes `data`, naming `source` and the JSON path in any error.
    /// Unknown properties are ignored, as the runtime-spec requires.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, source: String) throws(OCIError) -> T {
        let value: JSONValue
        do {
            value = try JSONParser.parse(data)
        } catch {
            throw OCIError(source: source, path: "", message: "not valid JSON: \(error.message)")
        }
        do {
            return try T(from: ValueDecoder(value: value, codingPath: []))
        } catch let failure as DecodeFailure {
            throw OCIError(source: source, path: JSONPath.render(failure.path), message: failure.message)
        } catch let error as DecodingError {
            throw translate(error, source: source)
        } catch let error as OCIError {
            throw error
        } catch {
            throw OCIError(source: source, path: "", message: "\(error)")
        }
    }

    /// Reads a file and decodes it; a missing or unreadable file is reported in one line too.
    public static func load<T: Decodable>(_ type: T.Type, path: String, source: String) throws(OCIError) -> T {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw OCIError(source: source, path: "", message: "cannot read \(path): \(reason(error))")
        }
        return try decode(type, from: data, source: source)
    }

    /// Encodes with sorted keys; `pretty` adds tab indentation and a final newline.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let compact = try encoder.encode(value)
        // Re-emit through our writer: Foundation's pretty printer writes `"key" : value`.
        let parsed = try JSONParser.parse(compact)
        var text = JSONWriter.write(parsed, pretty: pretty)
        if pretty { text += "\n" }
        return Data(text.utf8)
    }

    /// `encode` as a String, for printing.
    public static func encodeString<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
        String(decoding: try encode(value, pretty: pretty), as: UTF8.self)
    }

    private static func reason(_ error: any Error) -> String {
        // Foundation wraps the errno in a CocoaError; show the plain strerror text.
        let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey]
        if let posix = underlying as? POSIXError {
            return String(cString: strerror(posix.code.rawValue))
        }
        if let ns = underlying as? NSError, ns.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(ns.code)))
        }
        if let posix = error as? POSIXError {
            return String(cString: strerror(posix.code.rawValue))
        }
        return error.localizedDescription
    }

    private static func translate(_ error: DecodingError, source: String) -> OCIError {
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return OCIError(source: source, path: JSONPath.render(c.codingPath), message: c.debugDescription)
        case .keyNotFound(let key, let c):
            return OCIError(source: source, path: JSONPath.render(c.codingPath + [key]), message: "missing")
        @unknown default:
            return OCIError(source: source, path: "", message: "\(error)")
        }
    }
}
