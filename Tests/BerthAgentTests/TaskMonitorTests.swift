@testable import BerthAgent
import BerthLinux
import BerthTestSupport
import Foundation
import Synchronization
import Testing

@Suite struct TaskMonitorTests {
    /// The supervisor renames `started` into place at any moment after berthd begins watching
    /// its run; whenever that is, the start is reported (once the monitor once lost it for
    /// good when the event came while its poll still held the list of runs from before).
    @Test("a run started just after it is watched is reported started, every time")
    func startedJustAfterWatch() throws {
        let root = try TestEnvironment.temporaryDirectory("monitor")
        defer { try? FileSystem.removeTree(root) }
        let started = Mutex<Set<String>>([])
        let monitor = try TaskMonitor { event in
            if case .started(let taskID, _) = event { started.withLock { _ = $0.insert(taskID) } }
        }
        // This process stands in for the supervisors: the monitor only waits for it to exit.
        let pid = getpid()
        let startTime = try #require(ProcFS.startTime(of: pid))
        let runs = 300
        for index in 0..<runs {
            let directory = root + "/run-\(index)"
            try FileSystem.createDirectory(directory)
            monitor.watch(taskID: "task-\(index)", run: 1, supervisorPID: pid, startTime: startTime, runDirectory: directory)
            try FileSystem.writeAtomically(Array("{}".utf8), to: directory + "/.started.tmp", durable: false)
            #expect(rename(directory + "/.started.tmp", directory + "/started") == 0)
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while started.withLock({ $0.count }) < runs && ContinuousClock.now < deadline {
            usleep(10_000)
        }
        let missing = (0..<runs).map { "task-\($0)" }.filter { name in !started.withLock { $0.contains(name) } }
        #expect(missing.isEmpty, "never reported started: \(missing.prefix(10))")
        for index in 0..<runs { monitor.unwatch(taskID: "task-\(index)") }
    }
}
