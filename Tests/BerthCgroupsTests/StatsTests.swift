import Testing
import BerthLinux
import Synchronization
@testable import BerthCgroups
#if canImport(Glibc)
import Glibc
#endif

extension CgroupSuites {
    @Suite struct StatsTests {
        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func statsOfARunningProcess() throws {
            try withTestCgroup(Resources(memory: .init(limit: 256 << 20), pids: .init(limit: 20))) { cgroup in
                var shell = try GatedShell("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; head -c 1000000 /dev/zero > /dev/null; sleep 60")
                defer { shell.close() }
                try cgroup.addProcess(shell.pid)
                shell.release()
                #expect(eventually { (cgroup.stats().cpu?.usageTotal ?? 0) > 10_000_000 })
                let stats = cgroup.stats()
                let cpu = try #require(stats.cpu)
                #expect(cpu.usageTotal >= cpu.usageUser / 2, "total and user come from the same clock")
                let memory = try #require(stats.memory)
                #expect(memory.usage > 0)
                #expect(memory.limit == 256 << 20)
                #expect(memory.workingSet <= memory.usage)
                #expect(memory.oomKills == 0)
                let pids = try #require(stats.pids)
                #expect(pids.current >= 1)
                #expect(pids.limit == 20)
                #expect(cgroup.oomKillCount() == 0)
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func unlimitedReadsAsNil() throws {
            try withTestCgroup { cgroup in
                let stats = cgroup.stats()
                #expect(stats.memory?.limit == nil)
                #expect(stats.pids?.limit == nil)
                #expect(stats.pids?.current == 0)
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func oomWatcherSeesTheKill() throws {
            // memory+swap = memory, so the hog cannot escape into swap.
            let limits = Resources(memory: .init(limit: 32 << 20, swap: 32 << 20))
            try withTestCgroup(limits) { cgroup in
                let watcher = try cgroup.oomWatcher()
                // A safety net so a broken kernel path cannot hang the suite.
                let guardDone = ManagedFlag()
                try startThread(named: "oom-guard") {
                    for _ in 0..<600 where !guardDone.value { usleep(100_000) }
                    watcher.cancel()
                }
                defer { guardDone.set() }

                var shell = try GatedShell("exec tail /dev/zero")
                defer { shell.close() }
                try cgroup.addProcess(shell.pid)
                shell.release()
                let event = try watcher.next()
                guard case .oom = event else { Issue.record("expected an OOM, got \(event)"); return }
                #expect(try shell.handle.wait(timeout: .seconds(30)) == .signaled(SIGKILL))
                #expect(eventually { (cgroup.oomKillCount() ?? 0) >= 1 })
                #expect(cgroup.stats().memory?.oomKills ?? 0 >= 1)
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func oomWatcherEndsWhenCancelledOrRemoved() async throws {
            let host = try CgroupHost.detect()
            var cgroup = try Cgroup.resolve(host: host, cgroupsPath: testPath(), containerID: "")
            try cgroup.create(Resources(memory: .init(limit: 64 << 20)))
            let watcher = try cgroup.oomWatcher()
            watcher.cancel()
            #expect(try watcher.next() == .cancelled)

            // A watcher waiting on its own thread hears of the cgroup's removal.
            let second = try cgroup.oomWatcher()
            let heard = Mutex<OOMWatcher.Event?>(nil)
            try startThread(named: "oom-watch") {
                let event = try? second.next()
                heard.withLock { $0 = event }
            }
            try cgroup.destroy()
            let deadline = ContinuousClock.now + .seconds(10)
            while heard.withLock({ $0 }) == nil && ContinuousClock.now < deadline { usleep(10_000) }
            #expect(heard.withLock { $0 } == .cgroupRemoved)
        }
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
