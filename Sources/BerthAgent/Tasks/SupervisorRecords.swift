import BerthLinux
import BerthOCI
import FoundationEssentials

/// What berth-supervisor writes next to a run (CShims/berth-supervisor): who it is, and how the
/// task ended. berthd only reads these; the supervisor writes them atomically.
struct SupervisorRecord: Codable, Sendable {
    var pid: Int32
    var startTime: UInt64
    var containerId: String

    static func load(_ path: String) -> SupervisorRecord? {
        try? OCIJSON.load(SupervisorRecord.self, path: path, source: path)
    }

    /// Whether this very supervisor still runs (a recycled pid has another start time).
    var isAlive: Bool { ProcFS.isRunning(pid: pid, startTime: startTime) }
}

struct ExitRecord: Codable, Sendable {
    enum Phase: String, Codable, Sendable { case create, start, run }
    var containerId: String
    var phase: Phase
    var exitCode: Int32?
    var signal: Int32?
    var message: String?
    var finishedAt: Double

    static func load(_ path: String) -> ExitRecord? {
        try? OCIJSON.load(ExitRecord.self, path: path, source: path)
    }
}
