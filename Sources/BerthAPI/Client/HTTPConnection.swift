import BerthLinux
#if canImport(Glibc)
import Glibc
#endif

/// One HTTP/1.1 exchange over berthd's Unix socket, blocking. The CLI makes one request per
/// connection, so there is no keep-alive, and streamed responses (task watch, logs --follow)
/// arrive chunked and are handed over as they come.
struct HTTPConnection {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    private let fd: FileDescriptor
    private var buffer: [UInt8] = []
    private var position = 0

    init(socketPath: String) throws(APIClientError) {
        do {
            fd = try UnixSocket.connect(socketPath)
        } catch {
            throw APIClientError.unreachable(socketPath, error.errno.description)
        }
    }

    func close() { fd.close() }

    mutating func send(method: String, path: String, body: [UInt8]?) throws(APIClientError) {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: berthd\r\nConnection: close\r\nUser-Agent: berth\r\n"
        if let body {
            head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        do {
            try fd.writeAll(Array(head.utf8) + (body ?? []), step: "send request")
        } catch {
            throw .broken("sending the request: \(error.errno)")
        }
    }

    /// The status line and headers; the body is read by `readBody` or `readChunks`.
    mutating func readHead() throws(APIClientError) -> Response {
        var lines: [String] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            lines.append(line)
            if lines.count > 200 { throw .broken("more than 200 header lines") }
        }
        guard let statusLine = lines.first else { throw .broken("empty response") }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw .broken("bad status line \"\(statusLine)\"")
        }
        let headers = lines.dropFirst().compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].drop(while: { $0 == " " })
            return (String(line[..<colon]), String(value))
        }
        return Response(status: status, headers: headers, body: [])
    }

    /// The whole body of a response whose head was read.
    mutating func readBody(of response: Response) throws(APIClientError) -> [UInt8] {
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            var body: [UInt8] = []
            try readChunks { body += $0; return true }
            return body
        }
        if let length = response.header("Content-Length").flatMap(Int.init) {
            return try readExactly(length)
        }
        return try readToEnd()
    }

    /// Hands each chunk of a chunked body to `receive` until the last chunk, or until
    /// `receive` returns false.
    mutating func readChunks(_ receive: ([UInt8]) -> Bool) throws(APIClientError) {
        while true {
            let sizeLine = try readLine()
            let hex = sizeLine.split(separator: ";").first.map(String.init) ?? ""
            guard let size = Int(hex.trimmingCharacters(in: " "), radix: 16), size >= 0 else {
                throw .broken("bad chunk size \"\(sizeLine)\"")
            }
            if size == 0 { _ = try? readLine(); return }
            let chunk = try readExactly(size)
            _ = try readLine()
            if !receive(chunk) { return }
        }
    }

    private mutating func fill() throws(APIClientError) -> Bool {
        if position > 0 && position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            position = 0
        }
        var chunk = [UInt8](repeating: 0, count: 16384)
        let (count, error) = chunk.withUnsafeMutableBytes { raw in
            retryingInterrupts { Glibc.read(fd.rawValue, raw.baseAddress, raw.count) }
        }
        if let error { throw .broken("reading the response: \(error)") }
        if count == 0 { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    private mutating func readLine() throws(APIClientError) -> String {
        while true {
            if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = newline
                if end > position && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = String(decoding: buffer[position..<end], as: UTF8.self)
                position = newline + 1
                return line
            }
            if buffer.count - position > 65536 { throw .broken("header line over 64 KiB") }
            guard try fill() else { throw .broken("connection closed mid-response") }
        }
    }

    private mutating func readExactly(_ count: Int) throws(APIClientError) -> [UInt8] {
        while buffer.count - position < count {
            guard try fill() else { throw .broken("connection closed mid-body") }
        }
        defer { position += count }
        return Array(buffer[position..<position + count])
    }

    private mutating func readToEnd() throws(APIClientError) -> [UInt8] {
        while try fill() {}
        defer { position = buffer.count }
        return Array(buffer[position...])
    }
}
