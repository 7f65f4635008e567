#if canImport(Glibc)
import Glibc
#endif

/// JSON reading and writing for every document berth shows to users or keeps on disk.
public enum OCIJSON {
    /// Decodes JSON bytes (an array, or Foundation's Data), naming `source` and the JSON path in
    /// any error. Unknown properties are ignored, as the runtime-spec requires, unless
    /// `rejectingUnknownFields` (API requests and agent configuration, where a misspelt field
    /// must not vanish). BerthOCI takes no Foundation type: berth, which starts for every
    /// container, links no Foundation.
    public static func decode<T: Decodable>(
        _ type: T.Type, from bytes: some Collection<UInt8>, source: String, rejectingUnknownFields: Bool = false
    ) throws(OCIError) -> T {
        try decode(type, from: try parse(Array(bytes), source: source), source: source, rejectingUnknownFields: rejectingUnknownFields)
    }

    private static func parse(_ bytes: [UInt8], source: String) throws(OCIError) -> JSONValue {
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw OCIError(source: source, path: "", message: "not valid JSON: \(error.message)")
        }
    }

    /// Decodes an already parsed document (or part of one).
    static func decode<T: Decodable>(
        _ type: T.Type, from value: JSONValue, source: String, rejectingUnknownFields: Bool = false
    ) throws(OCIError) -> T {
        do {
            return try T(from: ValueDecoder(value: value, codingPath: [], rejectsUnknownKeys: rejectingUnknownFields))
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
        try decode(type, from: try contents(of: path, source: source), source: source)
    }

    /// `load`, keeping the parsed document too, so that writing the value again costs no encoding.
    public static func loadDocument<T: Codable & Sendable>(
        _ type: T.Type, path: String, source: String
    ) throws(OCIError) -> (value: T, document: Deferred<T>) {
        let tree = try parse(try contents(of: path, source: source), source: source)
        let value = try decode(type, from: tree, source: source)
        return (value, Deferred(value, decodedFrom: tree))
    }

    /// `loadDocument` for a document with tree readers (TreeReading.swift): Codable reads only
    /// what they do not take, and names what is wrong with it.
    static func loadReadableDocument<T: Codable & Sendable & TreeReadable>(
        _ type: T.Type, path: String, source: String
    ) throws(OCIError) -> (value: T, document: Deferred<T>) {
        let tree = try parse(try contents(of: path, source: source), source: source)
        let value = try decodeReadable(type, from: tree, source: source)
        return (value, Deferred(value, decodedFrom: tree))
    }

    /// `decode` from bytes, for a document with tree readers.
    static func decodeReadable<T: Decodable & TreeReadable>(
        _ type: T.Type, from bytes: some Collection<UInt8>, source: String
    ) throws(OCIError) -> T {
        try decodeReadable(type, from: try parse(Array(bytes), source: source), source: source)
    }

    private static func decodeReadable<T: Decodable & TreeReadable>(
        _ type: T.Type, from tree: JSONValue, source: String
    ) throws(OCIError) -> T {
        do {
            return try T(tree: tree)
        } catch {
            return try decode(type, from: tree, source: source)
        }
    }

    private static func contents(of path: String, source: String) throws(OCIError) -> [UInt8] {
        switch readFile(path) {
        case .success(let bytes): return bytes
        case .failure(let error):
            throw OCIError(source: source, path: "", message: "cannot read \(path): \(String(cString: strerror(error.code)))")
        }
    }

    struct ReadError: Error { let code: Int32 }

    /// The whole file, or the errno that stopped it.
    static func readFile(_ path: String) -> Result<[UInt8], ReadError> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return .failure(ReadError(code: errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        // An uninitialised chunk on the stack: zero-filling a heap buffer per file showed up in
        // every `berth run`. (BerthOCI sits below BerthLinux, hence not FileDescriptor.readAll.)
        return withUnsafeTemporaryAllocation(byteCount: 16384, alignment: 1) { chunk in
            while true {
                let count = read(fd, chunk.baseAddress, chunk.count)
                if count == 0 { return .success(bytes) }
                if count < 0 {
                    if errno == EINTR { continue }
                    return .failure(ReadError(code: errno))
                }
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[..<count]))
            }
        }
    }

    /// Encodes with sorted keys; `pretty` adds tab indentation and a final newline.
    public static func encode<T: Encodable>(_ value: T, pretty: Bool = true) throws -> [UInt8] {
        try encodeBytes(value, pretty: pretty)
    }

    /// `encode`, as the bytes to write to a file.
    public static func encodeBytes<T: Encodable>(_ value: T, pretty: Bool = true) throws -> [UInt8] {
        var bytes = JSONWriter.write(try ValueEncoder.encode(value), pretty: pretty)
        if pretty { bytes.append(UInt8(ascii: "\n")) }
        return bytes
    }

    /// A string as JSON writes it (`"a\"b"`), for messages that quote hostile text.
    public static func quoted(_ text: String) -> String { JSONWriter.quoted(text) }

    /// `encode` as a String, for printing.
    public static func encodeString<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
        String(decoding: try encode(value, pretty: pretty), as: UTF8.self)
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
