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

    /// `berth run` writes the run's init.pid once the container has started; the supervisor's
    /// `started` follows after `berth run` has exited. The first is the start, and it is
    /// reported once: a second report would restart the kill of a task killed while starting.
    @Test("init.pid reports a run started; the supervisor's later `started` does not report it again")
    func startedOnceByPidFile() throws {
        let root = try TestEnvironment.temporaryDirectory("monitor-pid")
        defer { try? FileSystem.removeTree(root) }
        let events = Mutex<[String]>([])
        let monitor = try TaskMonitor { event in
            if case .started(let taskID, let run) = event { events.withLock { $0.append("\(taskID).\(run)") } }
        }
        let pid = getpid()
        let startTime = try #require(ProcFS.startTime(of: pid))
        let directory = root + "/run"
        try FileSystem.createDirectory(directory)
        monitor.watch(taskID: "task", run: 3, supervisorPID: pid, startTime: startTime, runDirectory: directory)
        defer { monitor.unwatch(taskID: "task") }
        // Written as berth writes its pid file: a temporary file renamed into place.
        try FileSystem.writeAtomically(Array("4242".utf8), to: directory + "/init.pid", durable: false)
        let deadline = ContinuousClock.now + .seconds(30)
        while events.withLock({ $0.isEmpty }) && ContinuousClock.now < deadline { usleep(5_000) }
        #expect(events.withLock { $0 } == ["task.3"])
        // A second run, started after the first one's `started`: the monitor reads one inotify
        // queue in order, so once this is reported, a report of `started` would have come.
        let other = root + "/other"
        try FileSystem.createDirectory(other)
        monitor.watch(taskID: "other", run: 1, supervisorPID: pid, startTime: startTime, runDirectory: other)
        defer { monitor.unwatch(taskID: "other") }
        try FileSystem.writeAtomically(Array("{}".utf8), to: directory + "/started", durable: false)
        try FileSystem.writeAtomically(Array("4243".utf8), to: other + "/init.pid", durable: false)
        while events.withLock({ $0.count < 2 }) && ContinuousClock.now < deadline { usleep(5_000) }
        #expect(events.withLock { $0 } == ["task.3", "other.1"])
    }
}
