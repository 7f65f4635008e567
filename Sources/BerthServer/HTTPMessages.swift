import BerthAPI
import BerthOCI
import FoundationEssentials

/// Who is on the other end of an API connection (SO_PEERCRED), logged with every request.
public struct PeerCredentials: Sendable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    public var description: String { "pid=\(pid) uid=\(uid) gid=\(gid)" }
}

/// A whole request: berthd reads the body completely (up to the size limit) before routing.
public struct HTTPRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var body: [UInt8]
    public var peer: PeerCredentials

    /// The path split into decoded segments; nil when an escape is malformed.
    public var segments: [String]? {
        var result: [String] = []
        for part in path.split(separator: "/") {
            guard let decoded = Routes.percentDecoded(part) else { return nil }
            result.append(decoded)
        }
        return result
    }
}

public struct HTTPResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Sent chunked as it is produced, until the stream ends or the client goes away.
        case stream(AsyncStream<[UInt8]>)
    }

    public var status: Int
    public var contentType: String
    public var body: Body

    public init(status: Int, contentType: String, body: Body) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func json(_ value: some Encodable, status: Int = 200) -> HTTPResponse {
        do {
            var bytes = try OCIJSON.encodeBytes(value, pretty: false)
            bytes.append(UInt8(ascii: "\n"))
            return HTTPResponse(status: status, contentType: "application/json", body: .bytes(bytes))
        } catch {
            return .error(500, "encoding the response: \(error)")
        }
    }

    /// Every refusal has this one shape: `{"error": "...", "field": "..."}`.
    public static func error(_ error: APIError) -> HTTPResponse {
        .error(error.status, error.description, field: error.field)
    }


    public static func error(_ status: Int, _ message: String, field: String? = nil) -> HTTPResponse {
        let body = APIErrorBody(error: message, field: field)
        let bytes = (try? OCIJSON.encodeBytes(body, pretty: false)).map { $0 + [UInt8(ascii: "\n")] }
        return HTTPResponse(status: status, contentType: "application/json", body: .bytes(bytes ?? Array("{}".utf8)))
    }
}

/// What answers requests; berthd's router, or a test's.
public protocol RequestHandler: Sendable {
    func handle(_ request: HTTPRequest) async -> HTTPResponse
}
