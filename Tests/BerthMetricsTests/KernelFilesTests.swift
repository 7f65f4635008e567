import BerthCgroups
import BerthLinux
import BerthMetrics
import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension MetricsSuites {
    /// The files a scrape keeps open between scrapes, and the parsers reading them.
    @Suite struct KernelFilesTests {
        func scrape(_ targets: [MetricTarget]) throws -> Page {
            var exposition = Exposition()
            MetricsCollector.writeContainers(targets, into: &exposition)
            let bytes = exposition.render()
            try expectPromtoolAccepts(bytes)
            return Page(bytes)
        }

        /// Our open files inside `cgroup`'s directories. (Not all our fds: tests of other targets
        /// run in this process at the same time and open and close their own.)
        func openFiles(in cgroup: Cgroup) -> Int {
            let directories = cgroup.directories.map { $0.path + "/" }
            return ((try? FileSystem.listDirectory("/proc/self/fd")) ?? []).filter { fd in
                let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd)) ?? ""
                return directories.contains { (target + "/").hasPrefix($0) }
            }.count
        }

        @Test(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
        func cgroupRemovedAndMadeAgainShowsTheNewOne() throws {
            let host = try CgroupHost.detect()
            let path = "berth-metrics-test/again\(UInt32.random(in: 0...UInt32.max))"
            var first = try Cgroup.resolve(host: host, cgroupsPath: path, containerID: "")
            try first.create(Resources(memory: .init(limit: 64 << 20)))
            var second = first
            defer {
                try? first.destroy()
                try? second.destroy()
                for dir in first.directories.map({ FileSystem.parentDirectory(of: $0.path) }) where dir.hasSuffix("/berth-metrics-test") {
                    rmdir(dir)
                }
            }
            let target = MetricTarget(taskID: "t", containerID: "again", cgroup: first)
            let id = "container_id=\"again\""
            #expect(try scrape([target]).value("container_spec_memory_limit_bytes", id) == Double(64 << 20))

            // Gone: the kept files fail, the series go, the scrape still succeeds.
            try first.destroy()
            #expect(!(try scrape([target]).text.contains(id)))

            // Made again under the same path with another limit: the page shows the new cgroup.
            second = try Cgroup.resolve(host: host, cgroupsPath: path, containerID: "")
            try second.create(Resources(memory: .init(limit: 32 << 20)))
            let again = MetricTarget(taskID: "t", containerID: "again", cgroup: second)
            #expect(try scrape([again]).value("container_spec_memory_limit_bytes", id) == Double(32 << 20))
            #expect(try scrape([again]).value("container_processes", id) == 0)
            // And gone between two scrapes once more, while its files are kept open.
            try second.destroy()
            #expect(!(try scrape([again]).text.contains(id)))
        }

        @Test(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
        func limitsWrittenBetweenScrapesShowAtTheNext() async throws {
            let limits = Resources(cpu: .init(quota: 20_000, period: 100_000), memory: .init(limit: 64 << 20), pids: .init(limit: 64))
            try await withTestCgroup(limits) { cgroup in
                let target = MetricTarget(taskID: "t", containerID: "limits", cgroup: cgroup)
                let id = "container_id=\"limits\""
                for _ in 0..<2 {
                    let page = try scrape([target])
                    #expect(page.value("container_spec_memory_limit_bytes", id) == Double(64 << 20))
                    #expect(page.value("container_spec_cpu_quota", id) == 20_000)
                    #expect(page.value("container_threads_max", id) == 64)
                }
                // Limits are kept between scrapes until something writes them (berth update here).
                try cgroup.update(Resources(cpu: .init(quota: 30_000, period: 100_000), memory: .init(limit: 48 << 20), pids: .init(limit: 32)))
                for _ in 0..<2 {
                    let page = try scrape([target])
                    #expect(page.value("container_spec_memory_limit_bytes", id) == Double(48 << 20))
                    #expect(page.value("container_spec_cpu_quota", id) == 30_000)
                    #expect(page.value("container_threads_max", id) == 32)
                }
            }
        }

        @Test(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
        func filesOfContainersNoLongerScrapedAreClosed() async throws {
            try await withTestCgroup(Resources(memory: .init(limit: 64 << 20))) { cgroup in
                _ = try scrape([])
                #expect(openFiles(in: cgroup) == 0)
                let targets = (0..<3).map { MetricTarget(taskID: "t\($0)", containerID: "c\($0)", cgroup: cgroup, initPID: getpid()) }
                let page = try scrape(targets)
                #expect(page.values("container_spec_memory_limit_bytes").count == 3)
                #expect(openFiles(in: cgroup) > 3, "each container's files stay open for the next scrape")
                _ = try scrape(targets)
                _ = try scrape([])
                #expect(openFiles(in: cgroup) == 0, "a scrape without them closes them")
            }
        }

        @Test(.enabled(if: TestEnvironment.canRunPrivileged && FileSystem.exists("/usr/bin/python3"), "needs root and python3; in CI (CI=true) it runs and fails without it"))
        func threadListsLongerThanAPageAreCountedWhole() async throws {
            try await withTestCgroup { cgroup in
                // 900 threads: cgroup.threads is more than one kernel page long.
                let script = "exec /usr/bin/python3 -c 'import threading, time\n"
                    + "for _ in range(899): threading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n"
                    + "time.sleep(600)'"
                let shell = try GatedShell(script)
                try cgroup.addProcess(shell.pid)
                shell.release()
                let target = MetricTarget(taskID: "t", containerID: "many", cgroup: cgroup)
                #expect(await eventually { (try? scrape([target]).value("container_threads", "container_id=\"many\"")) == 900 })
                let page = try scrape([target])
                #expect(page.value("container_processes", "container_id=\"many\"") == 1)
                #expect(page.value("container_threads", "container_id=\"many\"") == 900)
            }
        }

        @Test func numbersAndKeyedLinesRefuseWhatIsNotThere() {
            func bytes(_ text: String, _ body: (UnsafeRawBufferPointer) -> Void) {
                Array(text.utf8).withUnsafeBytes(body)
            }
            bytes("123\n") { #expect(KernelText.number($0) == 123) }
            bytes("max\n") { #expect(KernelText.number($0) == nil) }
            bytes("-1\n") { #expect(KernelText.number($0) == nil) }
            bytes("18446744073709551615") { #expect(KernelText.number($0) == UInt64.max) }
            bytes("18446744073709551616") { #expect(KernelText.number($0) == nil, "an overflow is no value") }
            bytes("") { #expect(KernelText.number($0) == nil) }
            #expect(KernelText.number(nil) == nil)
            bytes("cache 10\nrss 20\ntotal_rss 30x\nnoval\n oom_kill 1\noom_kill 7") { text in
                #expect(KernelText.keyed(text, "rss") == 20)
                #expect(KernelText.keyed(text, "total_rss") == nil, "a value with junk after it is no value")
                #expect(KernelText.keyed(text, "oom_kill") == 7, "the last line needs no newline")
                #expect(KernelText.keyed(text, "noval") == nil)
            }
            bytes("some avg10=0.00 avg60=0.00 avg300=0.00 total=123\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=45\n") {
                #expect(KernelText.pressure($0) == ContainerPressure(waiting: 123, stalled: 45))
            }
            bytes("some avg10=0.00 total=9\n") { #expect(KernelText.pressure($0) == ContainerPressure(waiting: 9, stalled: nil)) }
            bytes("full avg10=0.00 total=9\nsome total=\nsome x total=abc\n") { #expect(KernelText.pressure($0) == nil) }
        }

        @Test func valuesAreWrittenAsExactDecimals() {
            func fixed(_ value: UInt64, _ scale: Int) -> String {
                var out: [UInt8] = []
                Digits.appendFixed(value, scale: scale, to: &out)
                return String(decoding: out, as: UTF8.self)
            }
            #expect(fixed(2_546_374, 9) == "0.002546374")
            #expect(fixed(3_000_000_000, 9) == "3")
            #expect(fixed(1_500_000_000, 9) == "1.5")
            #expect(fixed(0, 9) == "0")
            #expect(fixed(7, 6) == "0.000007")
            #expect(fixed(UInt64.max, 9) == "18446744073.709551615")
            var out: [UInt8] = []
            for value: UInt64 in [0, 9, 10, 1234567890, .max] {
                out.removeAll()
                Digits.appendDecimal(value, to: &out)
                #expect(String(decoding: out, as: UTF8.self) == String(value))
            }
        }

        @Test func readAllReadsPastItsChunk() throws {
            // Bigger than readAll's 16 KiB chunk, from a file and from a pipe whose writer
            // delivers it in pieces.
            let data = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let path = "/tmp/berth-metrics-readall-\(UInt32.random(in: 0...UInt32.max))"
            defer { unlink(path) }
            try FileSystem.writeAtomically(data, to: path)
            #expect(try FileSystem.readBytes(path) == data)
            #expect(try FileSystem.readBytes("/dev/null").isEmpty)
            var ends: [Int32] = [-1, -1]
            #expect(pipe(&ends) == 0)
            let writer = FileDescriptor(rawValue: ends[1])
            let thread = Thread {
                for start in stride(from: 0, to: data.count, by: 7000) {
                    try? writer.writeAll(data[start..<min(start + 7000, data.count)])
                    usleep(1000)
                }
                writer.close()
            }
            thread.start()
            let reader = FileDescriptor(rawValue: ends[0])
            defer { reader.close() }
            #expect(try reader.readAll() == data)
        }
    }
}
