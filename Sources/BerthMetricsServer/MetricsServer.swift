import BerthMetrics
import NIOCore
import NIOHTTP1
import NIOPosix

/// GET /metrics over TCP (default 127.0.0.1:9110). It knows nothing of the agent: each scrape
/// calls `render`, which berthd gives it. Anything but /metrics is 404; other methods are 405.
public struct MetricsServer: Sendable {
    public var host: String
    public var port: Int
    public let render: @Sendable () async -> [UInt8]

    public init(host: String = "127.0.0.1", port: Int = 9110, render: @escaping @Sendable () async -> [UInt8]) {
        self.host = host
        self.port = port
        self.render = render
    }

    /// "host:port" or "[v6]:port", as --metrics-address takes it.
    public static func parseAddress(_ address: String) throws(MetricsError) -> (host: String, port: Int) {
        let result = Result { () throws(MetricsError) in try StatsDSender.split(address, allowAnyPort: true) }
        switch result {
        case .success(let (host, port)): return (host, port)
        case .failure(let error):
            throw MetricsError(error.message.replacing("--statsd-address", with: "--metrics-address"))
        }
    }

    /// Binds, reports the bound port (useful with port 0), and serves until the surrounding task
    /// is cancelled.
    public func run(group: any EventLoopGroup, listening: @Sendable (Int) -> Void = { _ in }) async throws {
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        listening(server.channel.localAddress?.port ?? port)
        try await serveConnections(of: server) { connection in await serve(connection) }
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let h): head = h
                    case .body: continue
                    case .end:
                        guard let h = head else { continue }
                        let path = h.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? h.uri
                        let status: HTTPResponseStatus
                        var body: [UInt8]
                        var contentType = "text/plain; charset=utf-8"
                        if path != "/metrics" {
                            (status, body) = (.notFound, Array("not found: only /metrics is served here\n".utf8))
                        } else if h.method != .GET && h.method != .HEAD {
                            (status, body) = (.methodNotAllowed, Array("method not allowed: use GET\n".utf8))
                        } else {
                            (status, body) = (.ok, await render())
                            contentType = Exposition.contentType
                        }
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: contentType)
                        headers.add(name: "Content-Length", value: String(body.count))
                        headers.add(name: "Connection", value: h.isKeepAlive ? "keep-alive" : "close")
                        if status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
                        if h.method == .HEAD { body = [] }
                        try await outbound.write(.head(HTTPResponseHead(version: h.version, status: status, headers: headers)))
                        if !body.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
                        try await outbound.write(.end(nil))
                        if !h.isKeepAlive { return }
                        head = nil
                    }
                }
            }
        } catch {
            // A scraper that hangs up mid-answer is not berthd's problem.
        }
    }
}
