import BerthAPI

extension Agent {
    /// Schedulers that give no name share this one.
    static let defaultScheduler = "default"

    public func offers(scheduler: String?, role: String?) -> [Offer] {
        book.offers(for: scheduler ?? Agent.defaultScheduler, role: role ?? "*", now: now())
    }

    /// Accepts offers with operations, all or none: LAUNCH and LAUNCH_GROUP start their tasks,
    /// RESERVE and UNRESERVE move resources between roles (checkpointed at once).
    public func accept(_ request: AcceptRequest, scheduler: String?) async throws(APIError) -> AcceptResponse {
        try await acceptAdmitting(request, scheduler: scheduler).response
    }

    /// `accept`, with each launched task as admit answered it (at STAGING).
    func acceptAdmitting(_ request: AcceptRequest, scheduler: String?) async throws(APIError)
        -> (response: AcceptResponse, admitted: [String: TaskInfo]) {
        for (i, operation) in request.operations.enumerated() {
            for (j, task) in operation.tasks.enumerated() {
                try refuseDuplicate(task.id, field: "operations[\(i)].tasks[\(j)].id")
            }
        }
        let response = try book.accept(request, scheduler: scheduler ?? Agent.defaultScheduler, now: now())
        saveBook()
        let definitions = Dictionary(request.operations.flatMap(\.tasks).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var failure: APIError?
        var admitted: [String: TaskInfo] = [:]
        for allocation in response.allocations {
            guard let definition = definitions[allocation.taskId] else { continue }
            if failure != nil {
                book.release(taskId: allocation.taskId)
                continue
            }
            do {
                admitted[allocation.taskId] = try await admit(definition, allocation: allocation)
            } catch {
                failure = error
            }
        }
        // Tasks admitted before a failure (a full disk) run; the rest were given back.
        if let failure { throw failure }
        return (response, admitted)
    }

    public func decline(_ request: DeclineRequest, scheduler: String?) throws(APIError) {
        try book.decline(request, scheduler: scheduler ?? Agent.defaultScheduler, now: now())
    }

    /// Reservations survive restarts; allocations are rebuilt from the tasks' own checkpoints.
    func saveBook() {
        let checkpoint = OfferBookCheckpoint(reservations: book.checkpoint.reservations)
        do {
            try Checkpoint.save(checkpoint, to: configuration.stateDir + "/reservations.json", durable: true)
        } catch {
            log.error("checkpoint of reservations failed", ["error": error.description])
        }
    }
}
