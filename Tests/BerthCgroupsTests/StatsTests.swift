import XCTest
import BerthLinux
@testable import BerthCgroups
#if canImport(Glibc)
import Glibc
#endif

final class StatsTests: XCTestCase {
    func testStatsOfARunningProcess() throws {
        try withTestCgroup(Resources(memory: .init(limit: 256 << 20), pids: .init(limit: 20))) { cgroup in
            var shell = try GatedShell("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; head -c 1000000 /dev/zero > /dev/null; sleep 60")
            defer { shell.close() }
            try cgroup.addProcess(shell.pid)
            shell.release()
            XCTAssertTrue(eventually { (cgroup.stats().cpu?.usageTotal ?? 0) > 10_000_000 })
            let stats = cgroup.stats()
            let cpu = try XCTUnwrap(stats.cpu)
            XCTAssertGreaterThanOrEqual(cpu.usageTotal, cpu.usageUser / 2, "total and user come from the same clock")
            let memory = try XCTUnwrap(stats.memory)
            XCTAssertGreaterThan(memory.usage, 0)
            XCTAssertEqual(memory.limit, 256 << 20)
            XCTAssertLessThanOrEqual(memory.workingSet, memory.usage)
            XCTAssertEqual(memory.oomKills, 0)
            let pids = try XCTUnwrap(stats.pids)
            XCTAssertGreaterThanOrEqual(pids.current, 1)
            XCTAssertEqual(pids.limit, 20)
            XCTAssertEqual(cgroup.oomKillCount(), 0)
        }
    }

    func testUnlimitedReadsAsNil() throws {
        try withTestCgroup { cgroup in
            let stats = cgroup.stats()
            XCTAssertNil(stats.memory?.limit)
            XCTAssertNil(stats.pids?.limit)
            XCTAssertEqual(stats.pids?.current, 0)
        }
    }

    func testOOMWatcherSeesTheKill() throws {
        // memory+swap = memory, so the hog cannot escape into swap.
        let limits = Resources(memory: .init(limit: 32 << 20, swap: 32 << 20))
        try withTestCgroup(limits) { cgroup in
            let watcher = try cgroup.oomWatcher()
            // A safety net so a broken kernel path cannot hang the suite.
            let guardDone = ManagedFlag()
            _ = startThread {
                for _ in 0..<600 where !guardDone.value { usleep(100_000) }
                watcher.cancel()
            }
            defer { guardDone.set() }

            var shell = try GatedShell("exec tail /dev/zero")
            defer { shell.close() }
            try cgroup.addProcess(shell.pid)
            shell.release()
            let event = try watcher.next()
            guard case .oom = event else { return XCTFail("expected an OOM, got \(event)") }
            XCTAssertEqual(try shell.handle.wait(timeout: .seconds(30)), .signaled(SIGKILL))
            XCTAssertTrue(eventually { (cgroup.oomKillCount() ?? 0) >= 1 })
            XCTAssertGreaterThanOrEqual(cgroup.stats().memory?.oomKills ?? 0, 1)
        }
    }

    func testOOMWatcherEndsWhenCancelledOrRemoved() async throws {
        try requireRoot()
        let host = try CgroupHost.detect()
        var cgroup = try Cgroup.resolve(host: host, cgroupsPath: testPath(), containerID: "")
        try cgroup.create(Resources(memory: .init(limit: 64 << 20)))
        let watcher = try cgroup.oomWatcher()
        watcher.cancel()
        XCTAssertEqual(try watcher.next(), .cancelled)

        let second = try cgroup.oomWatcher()
        let stream = second.events()
        try cgroup.destroy()
        var seen: [OOMWatcher.Event] = []
        for await event in stream { seen.append(event) }
        XCTAssertEqual(seen, [.cgroupRemoved])
    }
}

/// A flag shared with a helper thread.
final class ManagedFlag: @unchecked Sendable {
    private var flag = false
    private let lock = PthreadLock()
    var value: Bool { lock.with { flag } }
    func set() { lock.with { flag = true } }
}

final class PthreadLock: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    init() { pthread_mutex_init(&mutex, nil) }
    func with<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return body()
    }
}
