import BerthAgent
import BerthAPI
import BerthOCI
import FoundationEssentials

/// berthd's routes: each turns a request into one call on the agent and its answer into JSON.
/// Validation of bodies is strict (unknown fields, wrong types and bad values are 400s naming
/// the field); nothing here changes state by itself.
public struct AgentRoutes: RequestHandler {
    let agent: Agent

    public init(agent: Agent) {
        self.agent = agent
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        do {
            return try await route(request)
        } catch {
            return .error(error)
        }
    }

    private func route(_ request: HTTPRequest) async throws(APIError) -> HTTPResponse {
        guard let segments = request.segments, segments.first == "v1" else {
            throw APIError.notFound(nil, "no such endpoint \(request.path) (the API is under /v1)")
        }
        let method = request.method
        let (template, id) = Self.template(Array(segments.dropFirst()))
        switch (method, template) {
        case ("GET", "agent"):
            return .json(await agent.info())
        case ("GET", "offers"):
            return .json(await agent.offers(scheduler: scheduler(request), role: request.query["role"]))
        case ("POST", "offers/accept"):
            let body = try APIJSON.decode(AcceptRequest.self, from: Data(request.body), source: "accept")
            return .json(try await agent.accept(body, scheduler: scheduler(request)))
        case ("POST", "offers/decline"):
            let body = try APIJSON.decode(DeclineRequest.self, from: Data(request.body), source: "decline")
            try await agent.decline(body, scheduler: scheduler(request))
            return .json(AgentClient.Empty())
        case ("GET", "tasks"):
            return .json(await agent.tasks())
        case ("POST", "tasks"):
            let definition = try TaskDefinition.decode(Data(request.body))
            return .json(try await agent.launch(definition, offerID: request.query["offerId"], scheduler: scheduler(request)), status: 201)
        case ("GET", "tasks/:id"):
            return .json(try await agent.task(id))
        case ("POST", "tasks/:id/kill"):
            let body = request.body.isEmpty
                ? KillRequest()
                : try APIJSON.decode(KillRequest.self, from: Data(request.body), source: "kill")
            try body.validate()
            return .json(try await agent.kill(id, graceSeconds: body.graceSeconds), status: 202)
        case ("GET", "tasks/:id/logs"):
            return try await logs(id, query: request.query)
        case ("GET", "events"):
            return events()
        case ("GET", "images"):
            return .json(try await agent.images())
        case ("POST", "images/import"):
            let body = try APIJSON.decode(ImportRequest.self, from: Data(request.body), source: "import")
            return .json(try await agent.importImage(path: body.path, name: body.name), status: 201)
        case ("POST", "images/prune"):
            return .json(try await agent.pruneImages())
        case ("DELETE", "images/:id"):
            try await agent.removeImage(id)
            return .json(AgentClient.Empty())
        case (_, "agent"), (_, "offers"), (_, "offers/accept"), (_, "offers/decline"), (_, "tasks"), (_, "tasks/:id"),
             (_, "tasks/:id/kill"), (_, "tasks/:id/logs"), (_, "events"), (_, "images"), (_, "images/import"),
             (_, "images/prune"), (_, "images/:id"):
            throw APIError(status: 405, message: "\(method) is not allowed on \(request.path)")
        default:
            throw APIError.notFound(nil, "no such endpoint \(request.path)")
        }
    }

    /// Offers belong to a scheduler: the one named in `?scheduler=`, else one per peer uid.
    private func scheduler(_ request: HTTPRequest) -> String {
        request.query["scheduler"] ?? "uid:\(request.peer.uid)"
    }

    /// The path with its one variable part (a task id or image name) replaced by ":id".
    static func template(_ parts: [String]) -> (String, String) {
        var parts = parts
        var id = ""
        if parts.count >= 2, parts[0] == "tasks" || (parts[0] == "images" && parts.count == 2 && !["import", "prune"].contains(parts[1])) {
            id = parts[1]
            parts[1] = ":id"
        }
        return (parts.joined(separator: "/"), id)
    }

    /// The current run's stdout or stderr; with follow=1 the file is streamed as it grows
    /// (across rotations) until the task ends.
    private func logs(_ id: String, query: [String: String]) async throws(APIError) -> HTTPResponse {
        let streamName = query["stream"] ?? "stdout"
        guard let stream = LogStream(rawValue: streamName) else {
            throw APIError.badRequest("stream", "must be stdout or stderr, got \"\(streamName)\"")
        }
        let follow = query["follow"] == "1" || query["follow"] == "true"
        let file = try await agent.logFile(id, stream: stream)
        if !follow {
            return HTTPResponse(status: 200, contentType: "text/plain; charset=utf-8", body: .bytes(LogTail.read(file, from: 0, limit: 64 << 20).bytes))
        }
        let agent = self.agent
        let (chunks, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        let follower = Task {
            var offset = 0
            var path = file
            while !Task.isCancelled {
                let (bytes, next) = LogTail.read(path, from: offset)
                offset = next
                if !bytes.isEmpty { continuation.yield(bytes) }
                let current = try? await agent.logFile(id, stream: stream)
                if let current, current != path {
                    // A restart began a new run: follow its log from the start.
                    path = current
                    offset = 0
                    continue
                }
                if bytes.isEmpty, await agent.hasEnded(id) {
                    let (rest, _) = LogTail.read(path, from: offset)
                    if !rest.isEmpty { continuation.yield(rest) }
                    break
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in follower.cancel() }
        return HTTPResponse(status: 200, contentType: "text/plain; charset=utf-8", body: .stream(chunks))
    }

    /// Every status update from now on, one JSON object per line. The stream opens with an
    /// empty line once the subscription is in place, so a client knows nothing is missed after it.
    private func events() -> HTTPResponse {
        let agent = self.agent
        let (lines, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        let relay = Task {
            let updates = await agent.subscribe()
            continuation.yield([UInt8(ascii: "\n")])
            for await status in updates {
                guard var line = try? OCIJSON.encode(status, pretty: false) else { continue }
                line.append(UInt8(ascii: "\n"))
                continuation.yield(Array(line))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in relay.cancel() }
        return HTTPResponse(status: 200, contentType: "application/x-ndjson", body: .stream(lines))
    }
}
