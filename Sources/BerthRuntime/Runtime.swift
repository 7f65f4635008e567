import BerthLinux
import BerthOCI

/// Debug lines from the runtime; the CLI decides where they go.
public struct RuntimeLog: Sendable {
    let sink: @Sendable (String) -> Void
    public init(_ sink: @escaping @Sendable (String) -> Void) { self.sink = sink }
    func debug(_ message: @autoclosure () -> String) { sink(message()) }
    public static let silent = RuntimeLog { _ in }
}

/// The container runtime: every lifecycle operation on containers under one state root.
/// Each operation lives in its own file under Lifecycle/.
public struct Runtime: Sendable {
    public let store: StateStore
    let log: RuntimeLog

    public init(store: StateStore = StateStore(), log: RuntimeLog = .silent) {
        self.store = store
        self.log = log
    }

    /// The container's status as the kernel sees it now, not as last written.
    func status(of record: ContainerRecord) -> ContainerState.Status {
        if record.status == .stopped || !record.initIsRunning { return .stopped }
        if record.status == .creating { return .creating }
        if FileSystem.exists(store.directory(of: record.id) + "/" + StateStore.execFifoName) { return .created }
        if record.cgroup?.isFrozen == true { return .paused }
        return .running
    }

    /// Loads a record under its lock and runs `body`; the lock is released afterwards.
    func withLockedContainer<T>(_ id: String, _ body: (inout ContainerRecord, ContainerLock) throws -> T) throws -> T {
        let lock = try store.lock(id: id)
        defer { lock.unlock() }
        var record = try store.load(id: id)
        return try body(&record, lock)
    }
}
