import BerthCgroups
import BerthLinux
import BerthMetrics
import BerthTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The parent of every suite here: one at a time, so CPU and memory figures of one test do not
/// compete with another's on a small machine.
@Suite(.serialized) struct MetricsSuites {}

extension MetricsSuites {
    /// Real cgroups with real processes in them: the series move as the processes do.
    @Suite struct ContainerMetricsTests {
        func target(_ cgroup: Cgroup, _ id: String, pid: pid_t? = nil, labels: [String: String] = [:]) -> MetricTarget {
            MetricTarget(taskID: "task-" + id, containerID: id, image: "busybox:1", labels: labels, cgroup: cgroup, initPID: pid)
        }

        @Test(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
        func cpuBurnMovesCPUAndThrottling() async throws {
            let limits = Resources(cpu: .init(quota: 20_000, period: 100_000), memory: .init(limit: 256 << 20), pids: .init(limit: 64))
            try await withTestCgroup(limits) { cgroup in
                let shell = try GatedShell("sleep 600 & while :; do :; done")
                try cgroup.addProcess(shell.pid)
                shell.release()
                let collector = MetricsCollector()
                let targets = [target(cgroup, "burn", pid: shell.pid, labels: ["app.kubernetes.io/name": "burner", "Team": "a\"b"])]
                let first = Page(await collector.scrape(targets))
                let id = "container_id=\"burn\""
                #expect(await eventually {
                    let page = Page(await collector.scrape(targets))
                    return (page.value("container_cpu_usage_seconds_total", id) ?? 0) > 0.2
                        && (page.value("container_cpu_cfs_throttled_periods_total", id) ?? 0) > 0
                        && (page.value("container_cpu_cfs_throttled_seconds_total", id) ?? 0) > 0
                })
                let second = Page(await collector.scrape(targets))
                try expectPromtoolAccepts(Array(first.text.utf8))
                try expectPromtoolAccepts(Array(second.text.utf8))

                let before = try #require(first.value("container_cpu_usage_seconds_total", id))
                let after = try #require(second.value("container_cpu_usage_seconds_total", id))
                #expect(after > before)
                #expect((second.value("container_cpu_user_seconds_total", id) ?? 0) > 0)
                #expect(second.value("container_cpu_system_seconds_total", id) != nil)
                #expect((second.value("container_cpu_cfs_periods_total", id) ?? 0) > 0)
                #expect((second.value("container_cpu_cfs_throttled_seconds_total", id) ?? 0) > 0)
                #expect(second.value("container_spec_cpu_quota", id) == 20_000)
                #expect(second.value("container_spec_cpu_period", id) == 100_000)
                #expect(second.value("container_spec_memory_limit_bytes", id) == Double(256 << 20))
                #expect(second.value("container_threads_max", id) == 64)
                #expect(second.value("container_processes", id) == 2, "the shell and its sleep")
                #expect((second.value("container_threads", id) ?? 0) >= 2)
                let start = try #require(second.value("container_start_time_seconds", id))
                #expect(abs(start - Date().timeIntervalSince1970) < 3600)
                // Identity and task labels, sanitised and escaped.
                #expect(second.text.contains("container_processes{task_id=\"task-burn\",container_id=\"burn\",image=\"busybox:1\",label_app_kubernetes_io_name=\"burner\",label_team=\"a\\\"b\"} 2"))
                // Pressure where the kernel keeps it for this cgroup.
                if let v2 = cgroup.directories.last(where: { $0.version == 2 }), FileSystem.exists(v2.path + "/cpu.pressure") {
                    #expect((second.value("container_pressure_cpu_waiting_seconds_total", id) ?? -1) >= 0)
                    #expect(second.value("container_pressure_memory_waiting_seconds_total", id) != nil)
                }
                // The node and the agent are on the same page.
                #expect((second.value("berth_node_cpus") ?? 0) >= 1)
                #expect((second.value("berth_node_memory_total_bytes") ?? 0) > 0)
                #expect(second.value("berth_node_load1") != nil)
                #expect(second.value("berth_node_disk_size_bytes", "path=\"/\"") != nil)
                #expect(second.value("berth_task_launches_total") == 0)
            }
        }

        @Test(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
        func memoryAndFileWritesShow() async throws {
            // On a disk where there is one writable (/var/tmp here; the v2 VM only writes to tmpfs).
            let base = access("/var/tmp", W_OK) == 0 ? "/var/tmp" : "/tmp"
            let directory = base + "/berth-metrics-\(UInt32.random(in: 0...UInt32.max))"
            try FileSystem.createDirectory(directory)
            defer { try? FileSystem.removeTree(directory) }
            // v1 blk-throttle counts bytes only on devices with a rule (recent kernels): give the
            // disk a limit far above anything it can do. v2's io.stat counts regardless.
            var info = stat()
            #expect(stat(directory, &info) == 0)
            let dev = UInt64(info.st_dev)
            let onDisk = (dev >> 8) & 0xfff != 0
            let major = Int64((dev >> 8) & 0xfff | (dev >> 32) & ~0xfff), minor = Int64((dev & 0xff) | ((dev >> 12) & ~0xff))
            let unlimited = onDisk ? [Resources.ThrottleDevice(major: major, minor: minor, rate: 1 << 40)] : []
            let io = Resources.BlockIO(throttleReadBpsDevice: unlimited, throttleWriteBpsDevice: unlimited)
            try await withTestCgroup(Resources(memory: .init(limit: 512 << 20), blockIO: io)) { cgroup in
                // 32 MB held by the shell, 16 MiB written past the page cache, then read back.
                let script = "x=$(head -c 32000000 /dev/zero | tr '\\0' a); "
                    + "dd if=/dev/zero of=\(directory)/data bs=1M count=16 \(onDisk ? "oflag=direct" : "") 2>/dev/null; "
                    + "cat \(directory)/data > /dev/null; touch \(directory)/done; sleep 600"
                let shell = try GatedShell(script)
                try cgroup.addProcess(shell.pid)
                shell.release()
                #expect(await eventually { FileSystem.exists(directory + "/done") })
                let collector = MetricsCollector()
                let bytes = await collector.scrape([target(cgroup, "mem", pid: shell.pid)])
                try expectPromtoolAccepts(bytes)
                let page = Page(bytes)
                let id = "container_id=\"mem\""
                let usage = try #require(page.value("container_memory_usage_bytes", id))
                let rss = try #require(page.value("container_memory_rss", id))
                let workingSet = try #require(page.value("container_memory_working_set_bytes", id))
                #expect(rss >= 30_000_000)
                #expect(usage >= rss)
                #expect(workingSet <= usage)
                #expect(workingSet >= rss)
                #expect((page.value("container_memory_cache", id) ?? 0) >= Double(8 << 20), "the file read back sits in the page cache")
                #expect(page.value("container_oom_events_total", id) == 0)
                // Block I/O only where the file went to a disk (tmpfs has none to count).
                if onDisk {
                    let written = page.values("container_fs_writes_bytes_total", id).reduce(0, +)
                    #expect(written >= Double(16 << 20))
                    #expect(page.values("container_fs_writes_total", id).reduce(0, +) >= 1)
                    #expect(page.text.contains("device=\"/dev/"), "devices are named as cAdvisor names them")
                }
            }
        }

        @Test(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
        func oomKillIsCounted() async throws {
            try await withTestCgroup(Resources(memory: .init(limit: 32 << 20, swap: 32 << 20))) { cgroup in
                let shell = try GatedShell("exec tail /dev/zero")
                try cgroup.addProcess(shell.pid)
                shell.release()
                #expect(try shell.wait() == .signaled(SIGKILL))
                let collector = MetricsCollector()
                #expect(await eventually {
                    (Page(await collector.scrape([target(cgroup, "oom")])).value("container_oom_events_total", "container_id=\"oom\"") ?? 0) >= 1
                })
                let bytes = await collector.scrape([target(cgroup, "oom")])
                try expectPromtoolAccepts(bytes)
                #expect(Page(bytes).value("container_processes", "container_id=\"oom\"") == 0)
            }
        }

        @Test(.enabled(if: TestEnvironment.canRunPrivileged, "needs root; in CI (CI=true) it runs and fails without it"))
        func vanishedContainerDropsItsSeries() async throws {
            let host = try CgroupHost.detect()
            var gone = try Cgroup.resolve(host: host, cgroupsPath: "berth-metrics-test/gone\(UInt32.random(in: 0...UInt32.max))", containerID: "")
            try gone.create()
            try gone.destroy()
            try await withTestCgroup { cgroup in
                let collector = MetricsCollector()
                let bytes = await collector.scrape([target(gone, "gone"), target(cgroup, "alive")])
                try expectPromtoolAccepts(bytes)
                let page = Page(bytes)
                #expect(!page.text.contains("container_id=\"gone\""))
                #expect(page.value("container_processes", "container_id=\"alive\"") == 0)
            }
        }

        @Test(.enabled(if: TestEnvironment.canRunPrivileged && FileSystem.exists("/usr/sbin/ip") && FileSystem.exists("/usr/bin/python3"), "needs root and iproute2; in CI (CI=true) it runs and fails without it"))
        func networkCountersComeFromTheTasksNamespace() async throws {
            try await withTestCgroup { cgroup in
                // A veth pair inside the new namespace; a datagram to an absent neighbour makes
                // ARP requests leave v0 and arrive on v1.
                let script = "read _gate; ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up "
                    + "&& ip addr add 10.77.0.1/24 dev v0 && /usr/bin/python3 -c 'import socket; "
                    + "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b\"x\", (\"10.77.0.2\", 9))'; sleep 600"
                let shell = try GatedShell("", arguments: ["/usr/bin/unshare", "--net", "/bin/sh", "-c", script])
                try cgroup.addProcess(shell.pid)
                shell.release()
                let collector = MetricsCollector()
                let targets = [target(cgroup, "net", pid: shell.pid), target(cgroup, "hostnet", pid: getpid())]
                #expect(await eventually {
                    (Page(await collector.scrape(targets)).value("container_network_transmit_packets_total", "container_id=\"net\"", "interface=\"v0\"") ?? 0) > 0
                })
                let bytes = await collector.scrape(targets)
                try expectPromtoolAccepts(bytes)
                let page = Page(bytes)
                #expect((page.value("container_network_transmit_bytes_total", "container_id=\"net\"", "interface=\"v0\"") ?? 0) > 0)
                #expect((page.value("container_network_receive_bytes_total", "container_id=\"net\"", "interface=\"v1\"") ?? 0) > 0)
                #expect((page.value("container_network_receive_packets_total", "container_id=\"net\"", "interface=\"v1\"") ?? 0) > 0)
                #expect(!page.text.contains("interface=\"lo\""), "loopback is left out")
                #expect(page.values("container_network_receive_bytes_total", "container_id=\"hostnet\"").isEmpty,
                        "a task in berthd's own namespace shows no network series (they would be the node's)")
            }
        }
    }
}
