import NIOCore

/// berthd's HTTP servers (the API socket, /metrics) accept the same way: each connection in a
/// child task of its own until the surrounding task is cancelled, which closes the listening
/// channel; connections still open then are cancelled too.
package func serveConnections<Connection: Sendable>(
    of server: NIOAsyncChannel<Connection, Never>, _ serve: @escaping @Sendable (Connection) async -> Void
) async throws {
    try await withThrowingDiscardingTaskGroup { connections in
        try await withTaskCancellationHandler {
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    connections.addTask { await serve(connection) }
                }
            }
        } onCancel: {
            server.channel.close(promise: nil)
        }
        connections.cancelAll()
    }
}
