import BerthAPI
import BerthLinux
import BerthMetricsServer
import NIOCore
import NIOHTTP1
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// HTTP/1.1 on a Unix socket, one task per connection. The socket is 0660 root:`group`, so
/// only root and that group can talk to berthd; each request's peer is logged as well.
public struct APIServer: Sendable {
    public struct Configuration: Sendable {
        public var socketPath: String
        /// Group that may use the socket besides root (Mesos/Docker style); nil keeps root:root.
        public var group: String?
        /// Bodies over this are refused with 413 before they are buffered.
        public var maxBodyBytes: Int = 1 << 20
        public init(socketPath: String, group: String? = "berth") {
            self.socketPath = socketPath
            self.group = group
        }
    }

    public let configuration: Configuration
    public let handler: any RequestHandler
    public let log: @Sendable (String) -> Void

    public init(configuration: Configuration, handler: any RequestHandler, log: @escaping @Sendable (String) -> Void) {
        self.configuration = configuration
        self.handler = handler
        self.log = log
    }

    /// Serves until the surrounding task is cancelled; then stops accepting and returns.
    public func run(group eventLoops: MultiThreadedEventLoopGroup) async throws {
        let path = configuration.socketPath
        try FileSystem.createDirectory(FileSystem.parentDirectory(of: path), mode: 0o755)
        let server = try await ServerBootstrap(group: eventLoops)
            .serverChannelOption(.backlog, value: 256)
            .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        try securePermissions(path)
        log("listening on \(path)")
        try await serveConnections(of: server) { connection in await serve(connection) }
        unlink(path)
    }

    private func securePermissions(_ path: String) throws {
        var gid: gid_t = 0
        if let name = configuration.group {
            if let entry = getgrnam(name) {
                gid = entry.pointee.gr_gid
            } else {
                log("group \(name) does not exist: the socket stays root-only")
            }
        }
        try sys("chown \(path)") { chown(path, 0, gid) }
        try sys("chmod \(path)") { chmod(path, 0o660) }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        let peer = await peerCredentials(connection.channel)
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                var body: [UInt8] = []
                var tooLarge = false
                for try await part in inbound {
                    switch part {
                    case .head(let h):
                        head = h
                        body = []
                        tooLarge = (h.headers.first(name: "content-length").flatMap(Int.init) ?? 0) > configuration.maxBodyBytes
                    case .body(var buffer):
                        if body.count + buffer.readableBytes > configuration.maxBodyBytes {
                            tooLarge = true
                        } else if !tooLarge {
                            body += buffer.readBytes(length: buffer.readableBytes) ?? []
                        }
                    case .end:
                        guard let h = head else { continue }
                        let response: HTTPResponse
                        if tooLarge {
                            response = .error(413, "request body over \(configuration.maxBodyBytes) bytes")
                        } else {
                            let request = makeRequest(h, body: body, peer: peer)
                            log("\(request.method) \(request.path) from \(peer)")
                            response = await handler.handle(request)
                        }
                        let keepAlive = h.isKeepAlive && !tooLarge
                        try await write(response, keepAlive: keepAlive, version: h.version, to: outbound)
                        if !keepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            // A client that goes away mid-answer is normal (watch and logs --follow end that way).
        }
    }

    private func makeRequest(_ head: HTTPRequestHead, body: [UInt8], peer: PeerCredentials) -> HTTPRequest {
        let uri = head.uri
        let path: Substring
        var query: [String: String] = [:]
        if let mark = uri.firstIndex(of: "?") {
            path = uri[..<mark]
            query = Routes.query(uri[uri.index(after: mark)...])
        } else {
            path = uri[...]
        }
        return HTTPRequest(method: head.method.rawValue, path: String(path), query: query, body: body, peer: peer)
    }

    private func write(
        _ response: HTTPResponse, keepAlive: Bool, version: HTTPVersion,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        switch response.body {
        case .bytes(let bytes):
            headers.add(name: "Content-Length", value: String(bytes.count))
            try await outbound.write(.head(HTTPResponseHead(version: version, status: .init(statusCode: response.status), headers: headers)))
            try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: bytes))))
            try await outbound.write(.end(nil))
        case .stream(let stream):
            headers.add(name: "Transfer-Encoding", value: "chunked")
            try await outbound.write(.head(HTTPResponseHead(version: version, status: .init(statusCode: response.status), headers: headers)))
            for await chunk in stream where !chunk.isEmpty {
                try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: chunk))))
            }
            try await outbound.write(.end(nil))
        }
    }

    /// SO_PEERCRED through NIO's raw option access; the layout is struct ucred's.
    private func peerCredentials(_ channel: Channel) async -> PeerCredentials {
        struct RawCredentials: Sendable { var pid: Int32 = 0; var uid: UInt32 = 0; var gid: UInt32 = 0 }
        guard let provider = channel as? SocketOptionProvider,
              let raw: RawCredentials = try? await provider.unsafeGetSocketOption(
                  level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).get()
        else { return PeerCredentials(pid: 0, uid: UInt32.max, gid: UInt32.max) }
        return PeerCredentials(pid: raw.pid, uid: raw.uid, gid: raw.gid)
    }
}
