import Testing
import BerthLinux
@testable import BerthCgroups
#if canImport(Glibc)
import Glibc
#endif

/// create / add / freeze / kill / destroy on this host's real cgroups.
extension CgroupSuites {
    @Suite struct LifecycleTests {
        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func createMakesEveryHierarchyAndDestroyRemovesOnlyWhatItMade() throws {
            let host = try CgroupHost.detect()
            // A parent that exists before Berth comes: it must survive.
            let parentPath = testPath()
            var parent = try Cgroup.resolve(host: host, cgroupsPath: parentPath, containerID: "")
            try parent.create()
            defer { try? parent.destroy() }

            var cgroup = try Cgroup.resolve(host: host, cgroupsPath: parentPath + "/inner/leaf", containerID: "")
            try cgroup.create()
            for directory in cgroup.directories {
                #expect(FileSystem.isDirectory(directory.path), "\(directory.path)")
            }
            // Two levels made in each hierarchy, nothing above.
            #expect(cgroup.created.count == 2 * cgroup.directories.count)
            #expect(cgroup.created.allSatisfy { $0.contains("/inner") })
            if host.mode == .hybrid {
                #expect(cgroup.directory(version: 2) != nil, "a hybrid host mirrors the cgroup in the v2 hierarchy")
            }

            var shell = try GatedShell("sleep 60")
            defer { shell.close() }
            try cgroup.addProcess(shell.pid)
            shell.release()
            for directory in cgroup.directories {
                #expect(readFile(directory.path + "/cgroup.procs").split(separator: "\n").contains("\(shell.pid)"), "\(directory.path)")
            }
            #expect(cgroup.exists())

            try cgroup.destroy()
            for directory in cgroup.directories {
                #expect(!FileSystem.exists(directory.path), "\(directory.path)")
                #expect(!(FileSystem.exists(FileSystem.parentDirectory(of: directory.path))), "inner/ was made by Berth too")
            }
            #expect(cgroup.created.isEmpty)
            #expect(parent.directories.allSatisfy { FileSystem.isDirectory($0.path) }, "the pre-existing parent stays")
            #expect(!cgroup.exists())
            #expect(try shell.handle.wait(timeout: .seconds(20)) == .signaled(SIGKILL))
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func freezeStopsCPUAndThawResumesIt() throws {
            try withTestCgroup { cgroup in
                var shell = try GatedShell("while :; do :; done")
                defer { shell.close() }
                try cgroup.addProcess(shell.pid)
                shell.release()
                func usage() -> UInt64 { cgroup.stats().cpu?.usageTotal ?? 0 }
                #expect(eventually { usage() > 20_000_000 }, "the busy loop accumulates CPU time")

                try cgroup.freeze()
                #expect(try cgroup.freezerState() == .frozen)
                let frozenAt = usage()
                usleep(300_000)
                // Nothing runs while frozen; allow a whisker for accounting at the freeze itself.
                #expect(usage() - frozenAt < 5_000_000)

                try cgroup.thaw()
                #expect(try cgroup.freezerState() == .thawed)
                #expect(eventually { usage() > frozenAt + 50_000_000 }, "thawed, it runs again")
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func killAllEmptiesTheCgroup() throws {
            try withTestCgroup { cgroup in
                var shell = try GatedShell("sleep 100 & sleep 100 & sleep 100 & wait")
                defer { shell.close() }
                try cgroup.addProcess(shell.pid)
                shell.release()
                #expect(eventually { (try? cgroup.processes().count) == 4 })
                try cgroup.killAll()
                #expect(try shell.handle.wait(timeout: .seconds(20)) == .signaled(SIGKILL))
                #expect(eventually { (try? cgroup.processes().isEmpty) == true })
                for directory in cgroup.directories {
                    #expect(readFile(directory.path + "/cgroup.procs") == "", "\(directory.path)")
                }
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func killAllWithAnotherSignalGoesThroughTheFreezer() throws {
            try withTestCgroup { cgroup in
                var shell = try GatedShell("trap 'exit 7' TERM; sleep 100 & sleep 100 & wait")
                defer { shell.close() }
                try cgroup.addProcess(shell.pid)
                shell.release()
                // Wait for the exec: a signal caught between dash's fork and exec is lost to the shell.
                #expect(eventually { ((try? cgroup.processes()) ?? []).filter { readFile("/proc/\($0)/comm") == "sleep" }.count == 2 })
                try cgroup.killAll(signal: SIGTERM)
                #expect(try shell.handle.wait(timeout: .seconds(20)) == .exited(7), "the shell's TERM trap ran")
                func emptied() -> Bool { (try? cgroup.processes().isEmpty) == true }
                let left = eventually(.seconds(20), emptied)
                #expect(left, "the sleeps got TERM too: \((try? cgroup.processes()) ?? []) \((try? cgroup.processes())?.map { ProcFS.state(of: $0).map { String($0) } ?? "-" } ?? [])")
                #expect(try cgroup.freezerState() == .thawed)
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func killAllKeepsAPausedCgroupPausedForOtherSignals() throws {
            try withTestCgroup { cgroup in
                var shell = try GatedShell("sleep 100")
                defer { shell.close() }
                try cgroup.addProcess(shell.pid)
                shell.release()
                try cgroup.freeze()
                try cgroup.killAll(signal: SIGUSR1)
                // v2 lets a fatal signal end a frozen task at once (v1 holds it until thaw). We are
                // its parent: reap it, or the zombie keeps cgroup.events at "frozen 0". (However
                // long that takes on a slow machine: a fixed wait could read the state mid-exit.)
                if cgroup.directory(version: 1, controller: "freezer") == nil {
                    #expect(try shell.handle.wait(timeout: .seconds(60)) == .signaled(SIGUSR1))
                }
                #expect(try cgroup.freezerState() == .frozen)
                try cgroup.thaw()
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func destroyKillsWhatIsLeft() throws {
            let host = try CgroupHost.detect()
            var cgroup = try Cgroup.resolve(host: host, cgroupsPath: testPath(), containerID: "")
            try cgroup.create()
            defer { try? cgroup.destroy() }
            var shell = try GatedShell("sleep 100 & sleep 100 & wait")
            defer { shell.close() }
            try cgroup.addProcess(shell.pid)
            shell.release()
            #expect(eventually { (try? cgroup.processes().count) == 3 })
            // A nested cgroup the container made for itself goes too.
            for directory in cgroup.directories {
                #expect(mkdir(directory.path + "/nested", 0o755) == 0)
            }
            try cgroup.destroy()
            #expect(!cgroup.exists())
            for directory in cgroup.directories {
                #expect(!FileSystem.exists(directory.path))
            }
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func sweepListsAndRemovesLeftovers() throws {
            let host = try CgroupHost.detect()
            let parentPath = testPath()
            var parent = try Cgroup.resolve(host: host, cgroupsPath: parentPath, containerID: "")
            try parent.create()
            defer { try? parent.destroy() }
            for name in ["a", "b"] {
                var child = try Cgroup.resolve(host: host, cgroupsPath: parentPath + "/" + name, containerID: "")
                try child.create()
            }
            #expect(try Cgroup.children(host: host, of: parentPath) == [parentPath + "/a", parentPath + "/b"])
            for path in try Cgroup.children(host: host, of: parentPath) {
                var leftover = try Cgroup.leftover(host: host, cgroupsPath: path)
                #expect(leftover.created.count == leftover.directories.count)
                try leftover.destroy()
            }
            #expect(try Cgroup.children(host: host, of: parentPath) == [])
            #expect(parent.exists())
        }

        @Test(.enabled(if: CgroupTestHost.rootOrCI, "needs root; in CI it runs and fails without it"))
        func freezeThroughV2WhenThereIsNoV1Freezer() throws {
            let host = try CgroupHost.detect(mountRoot: FileSystem.isDirectory("/sys/fs/cgroup/unified") ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup")
            try withTestCgroup(host: host) { cgroup in
                var shell = try GatedShell("while :; do :; done")
                defer { shell.close() }
                try cgroup.addProcess(shell.pid)
                shell.release()
                try cgroup.freeze()
                #expect(try cgroup.freezerState() == .frozen)
                #expect(ProcFS.state(of: shell.pid).map { "\($0)" } ?? "" == "S", "a v2-frozen task sleeps")
                try cgroup.thaw()
                #expect(try cgroup.freezerState() == .thawed)
                try cgroup.killAll()
                #expect(try shell.handle.wait(timeout: .seconds(20)) == .signaled(SIGKILL))
            }
        }
    }
}
