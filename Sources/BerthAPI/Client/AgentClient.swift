import BerthOCI
import FoundationEssentials

/// The one client of berthd's socket API; the `berth` CLI and the tests use it.
public struct AgentClient: Sendable {
    public static let defaultSocket = "/run/berth/berth.sock"
    public let socketPath: String

    public init(socketPath: String = AgentClient.defaultSocket) {
        self.socketPath = socketPath
    }

    /// One request; a JSON body in, a decoded JSON body out. Non-2xx answers become `.refused`
    /// with berthd's one-line reason.
    public func call<Response: Decodable>(
        _ method: String, _ path: String, body: (some Encodable)? = nil as Empty?, as type: Response.Type
    ) throws(APIClientError) -> Response {
        let (status, bytes) = try exchange(method, path, body: body)
        guard (200..<300).contains(status) else { throw refusal(status, bytes) }
        return try decode(type, bytes)
    }

    /// A request whose answer is not JSON (task logs): the raw body.
    public func callRaw(_ method: String, _ path: String) throws(APIClientError) -> [UInt8] {
        let (status, bytes) = try exchange(method, path, body: nil as Empty?)
        guard (200..<300).contains(status) else { throw refusal(status, bytes) }
        return bytes
    }

    /// A streamed answer (chunked): `receive` gets each chunk until it returns false or the
    /// stream ends.
    public func stream(_ path: String, receive: ([UInt8]) -> Bool) throws(APIClientError) {
        var connection = try HTTPConnection(socketPath: socketPath)
        defer { connection.close() }
        try connection.send(method: "GET", path: path, body: nil)
        let head = try connection.readHead()
        guard (200..<300).contains(head.status) else {
            throw refusal(head.status, try connection.readBody(of: head))
        }
        if head.header("Transfer-Encoding")?.lowercased() == "chunked" {
            try connection.readChunks(receive)
        } else {
            _ = receive(try connection.readBody(of: head))
        }
    }

    /// Streamed JSON lines decoded one by one; `receive` returns false to stop.
    public func streamLines<Element: Decodable>(
        _ path: String, as type: Element.Type, receive: (Element) -> Bool
    ) throws(APIClientError) {
        var pending: [UInt8] = []
        var failure: APIClientError?
        try stream(path) { chunk in
            pending += chunk
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                if line.isEmpty { continue }
                switch Result(catching: { () throws(APIClientError) in try decode(type, line) }) {
                case .success(let element):
                    if !receive(element) { return false }
                case .failure(let error):
                    failure = error
                    return false
                }
            }
            return true
        }
        if let failure { throw failure }
    }

    private func exchange(_ method: String, _ path: String, body: (some Encodable)?) throws(APIClientError) -> (Int, [UInt8]) {
        var payload: [UInt8]?
        if let body {
            do {
                payload = try OCIJSON.encodeBytes(body, pretty: false)
            } catch {
                throw .broken("encoding the request: \(error)")
            }
        }
        var connection = try HTTPConnection(socketPath: socketPath)
        defer { connection.close() }
        try connection.send(method: method, path: path, body: payload)
        let head = try connection.readHead()
        return (head.status, try connection.readBody(of: head))
    }

    private func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws(APIClientError) -> T {
        do {
            return try OCIJSON.decode(type, from: Data(bytes), source: "berthd response")
        } catch {
            throw .undecodable(error.description)
        }
    }

    private func refusal(_ status: Int, _ bytes: [UInt8]) -> APIClientError {
        if let body = try? OCIJSON.decode(APIErrorBody.self, from: Data(bytes), source: "berthd error") {
            return .refused(status: status, message: body.error)
        }
        let text = String(decoding: bytes.prefix(200), as: UTF8.self)
        return .refused(status: status, message: "berthd answered \(status): \(text)")
    }

    /// A body-less request.
    public struct Empty: Codable, Sendable {
        public init() {}
    }
}
