#!/usr/bin/env python3
"""berthd against `berth run`: launch latency (request to RUNNING, p50/p99) for short tasks,
sequential and from 16 concurrent clients; berthd's RSS idle and with many tasks; each
supervisor's RSS; berthd's CPU per /metrics scrape and recovery time with many running tasks.

Usage: Benchmarks/agent/run.py --bin .build/release [--launches 1000] [--tasks 500] [--runtime-tmpfs] [--state-fs disk|ext4|tmpfs]
"""
import argparse, http.client, json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time, urllib.request


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("berthd", timeout=60)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(sock, method, path, body=None):
    connection = UnixHTTP(sock)
    payload = json.dumps(body) if body is not None else None
    connection.request(method, path, body=payload, headers={"Content-Type": "application/json"} if payload else {})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    if response.status >= 300:
        sys.exit(f"{method} {path}: {response.status} {data.decode()}")
    return json.loads(data) if data else None


class Events:
    """Follows /v1/events and records when each task was first seen RUNNING."""

    def __init__(self, sock):
        self.running = {}
        self.ended = {}  # tasks that ended without being seen RUNNING: their last status
        self.condition = threading.Condition()
        self.connection = UnixHTTP(sock)
        self.connection.request("GET", "/v1/events")
        self.response = self.connection.getresponse()
        self.response.readline()  # the empty line that says the subscription is in place
        threading.Thread(target=self.follow, daemon=True).start()

    def follow(self):
        for line in self.response:
            line = line.strip()
            if not line:
                continue
            status = json.loads(line)
            if status["state"] == "RUNNING":
                with self.condition:
                    self.running.setdefault(status["taskId"], time.perf_counter())
                    self.condition.notify_all()
            elif status["state"] in ("FAILED", "KILLED", "ERROR", "LOST") and status["taskId"] not in self.running:
                with self.condition:
                    self.ended[status["taskId"]] = status
                    self.condition.notify_all()

    def wait(self, task, timeout=60):
        deadline = time.time() + timeout
        with self.condition:
            while task not in self.running:
                if task in self.ended:
                    status = self.ended[task]
                    sys.exit(f"{task} ended {status['state']} before RUNNING: {status.get('message', '')}")
                if time.time() > deadline:
                    sys.exit(f"{task} not RUNNING within {timeout} s")
                self.condition.wait(1)
            return self.running[task]


def cmdline(pid):
    """A process's command line, or b"" once it is gone (processes come and go while we look)."""
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return b""


def is_supervisor(line, directory):
    return line.startswith(b"/") and b"berth-supervisor" in line and directory.encode() in line


def percentile(samples, p):
    samples = sorted(samples)
    return samples[min(len(samples) - 1, int(len(samples) * p))]


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_berthd(args, state, sock, root, log):
    process = subprocess.Popen([os.path.join(args.bin, "berthd"), "--state-dir", state, "--socket", sock,
                                "--runtime-root", root, "--metrics-address", f"127.0.0.1:{args.metrics_port}"],
                               stdout=log, stderr=log)
    for _ in range(400):
        try:
            call(sock, "GET", "/v1/agent")
            return process
        except (FileNotFoundError, ConnectionRefusedError, SystemExit):
            time.sleep(0.05)
    sys.exit("berthd did not start")


def runtime_root(args, directory, name):
    """Where the runtime's state goes: under /run, as berthd and berth keep it by default, or
    with --runtime-tmpfs on a tmpfs of its own (what /run is on systemd hosts; on these VMs /run
    is the root ext4). Returns the directory and its filesystem type."""
    if not args.runtime_tmpfs:
        root = f"/run/{name}"
    else:
        root = os.path.join(directory, "runtime-tmpfs")
        os.makedirs(root, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0711", name, root], check=True)
    os.makedirs(root, exist_ok=True)
    fstype = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "-T", root], capture_output=True, text=True).stdout.strip()
    return root, fstype


def release_runtime_root(args, root):
    if args.runtime_tmpfs:
        subprocess.run(["umount", "-l", root])
    shutil.rmtree(root, ignore_errors=True)


def launch_latencies(sock, events, ids):
    latencies = []
    for task in ids:
        started = time.perf_counter()
        call(sock, "POST", "/v1/tasks", {"id": task, "cmd": "true", "resources": {"cpus": 0.01, "mem": 16}})
        latencies.append((events.wait(task) - started) * 1000)
    return latencies


def berth_run_bundle(args, directory):
    """The bundle of `berth run` of the same plain task (host root, own pid/mount/ipc/uts namespaces)."""
    bundle = os.path.join(directory, "bundle")
    os.makedirs(bundle)
    subprocess.run([os.path.join(args.bin, "berth"), "spec", "--bundle", bundle], check=True)
    config = json.load(open(os.path.join(bundle, "config.json")))
    config["process"].update(terminal=False, args=["/bin/sh", "-c", "true"], cwd="/")
    config["root"] = {"path": "/", "readonly": False}
    config["mounts"] = [{"destination": "/proc", "type": "proc", "source": "proc"}]
    config["linux"]["namespaces"] = [{"type": t} for t in ["pid", "mount", "ipc", "uts"]]
    config["linux"]["maskedPaths"] = []
    config["linux"]["readonlyPaths"] = []
    config["linux"]["resources"]["cpu"] = {"shares": 10, "quota": 1000, "period": 100000}
    config["linux"]["resources"]["memory"] = {"limit": 16 << 20}
    json.dump(config, open(os.path.join(bundle, "config.json"), "w"))
    return bundle


def berth_run_once(args, root, bundle, i):
    started = time.perf_counter()
    subprocess.run([os.path.join(args.bin, "berth"), "--root", os.path.join(root, "run-root"), "run", "--bundle", bundle,
                    f"bench-run-{i}"], check=True, stdin=subprocess.DEVNULL, capture_output=True)
    return (time.perf_counter() - started) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release")
    parser.add_argument("--launches", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=500)
    parser.add_argument("--runtime-tmpfs", action="store_true", help="runtime state on a tmpfs of its own (see runtime_root)")
    parser.add_argument("--state-fs", choices=["disk", "ext4", "tmpfs"], default="disk",
                        help="where berthd's --state-dir is: a directory under /tmp on this machine's disk (default; on "
                             "these VMs an ext4 without a journal, where each new file scans past recently deleted "
                             "inodes, more so the longer files come and go), a fresh journaled ext4 of its own "
                             "(as a /var/lib/berth disk would be), or a tmpfs")
    args = parser.parse_args()
    args.metrics_port = free_port()
    directory = tempfile.mkdtemp(prefix="berth-agent-bench.", dir="/tmp")
    image = directory + ".ext4"
    if args.state_fs == "ext4":
        subprocess.run(["truncate", "-s", "4G", image], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
        subprocess.run(["mount", "-o", "loop", image, directory], check=True)
    elif args.state_fs == "tmpfs":
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700", "berth-agent-bench-state", directory], check=True)
    state, sock = f"{directory}/state", f"{directory}/berth.sock"
    # berthd's containers and the `berth run` baseline keep their runtime state on the same
    # filesystem; berthd's own state (--state-dir) is where --state-fs puts it.
    root, fstype = runtime_root(args, directory, "berth-agent-bench")
    state_fs = subprocess.run(["findmnt", "-n", "-o", "FSTYPE,SOURCE,OPTIONS", "-T", directory], capture_output=True, text=True).stdout.split()
    journal = ""
    if state_fs and state_fs[0] == "ext4":
        # The kernel keeps /proc/fs/jbd2/DEVICE-8 for an ext4 mounted with a journal.
        journaled = os.path.isdir(f"/proc/fs/jbd2/{os.path.basename(state_fs[1])}-8")
        journal = " with a journal" if journaled else " without a journal"
    print(f"runtime state on: {fstype}; berthd's state dir on: {' '.join(state_fs[:2])}{journal}")
    log = open(f"{directory}/berthd.log", "w")
    agent_root = os.path.join(root, "berthd")
    berthd = start_berthd(args, state, sock, agent_root, log)
    try:
        time.sleep(1)
        print(f"berthd RSS idle: {rss_kib(berthd.pid) / 1024:.1f} MiB")
        events = Events(sock)
        half = args.launches // 2
        # Each sequential launch is followed by one `berth run`, so both see the same load.
        print(f"load average before: {os.getloadavg()[0]:.2f}")
        bundle = berth_run_bundle(args, directory)
        sequential, baseline = [], []
        for i in range(half):
            sequential += launch_latencies(sock, events, [f"seq-{i}"])
            baseline.append(berth_run_once(args, root, bundle, i))
        concurrent, lock = [], threading.Lock()

        failures = []

        def client(n):
            try:
                mine = launch_latencies(sock, events, [f"par-{n}-{i}" for i in range(half // 16)])
            except SystemExit as error:
                with lock:
                    failures.append(str(error))
                return
            with lock:
                concurrent.extend(mine)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - began
        if failures:
            sys.exit(f"{len(failures)} concurrent clients failed: {failures[0]}")
        base = statistics.median(baseline)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        print(f"launch to RUNNING, sequential ({len(sequential)}): p50 {percentile(sequential, .5):.1f} ms  p99 {percentile(sequential, .99):.1f} ms")
        print(f"launch to RUNNING, 16 clients ({len(concurrent)}): p50 {percentile(concurrent, .5):.1f} ms  p99 {percentile(concurrent, .99):.1f} ms  ({len(concurrent) / wall:.1f} launches/s)")
        print(f"berth run of the same task ({len(baseline)}, between the sequential launches): median {base:.1f} ms  p99 {percentile(baseline, .99):.1f} ms")
        print(f"agent overhead (sequential p50 / berth run median): {percentile(sequential, .5) / base:.2f}x")

        for i in range(args.tasks):
            call(sock, "POST", "/v1/tasks", {"id": f"long-{i}", "cmd": "exec sleep 3600", "resources": {"cpus": 0.001, "mem": 8}})
        for i in range(args.tasks):
            events.wait(f"long-{i}", timeout=300)
        time.sleep(1)
        print(f"berthd RSS with {args.tasks} running tasks: {rss_kib(berthd.pid) / 1024:.1f} MiB")
        supervisors = [int(p) for p in os.listdir("/proc") if p.isdigit() and is_supervisor(cmdline(p), directory)]
        sizes = [rss_kib(p) for p in supervisors]
        print(f"supervisor RSS over {len(sizes)}: median {statistics.median(sizes) / 1024:.2f} MiB  max {max(sizes) / 1024:.2f} MiB")

        # What a Prometheus scrape costs berthd itself: its CPU time over 20 scrapes (after a
        # first one, which opens the cgroup files that later scrapes re-read).
        url = f"http://127.0.0.1:{args.metrics_port}/metrics"
        first = cpu_seconds(berthd.pid)
        urllib.request.urlopen(url, timeout=60).read()
        opened = cpu_seconds(berthd.pid) - first
        before = cpu_seconds(berthd.pid)
        pages = [len(urllib.request.urlopen(url, timeout=60).read()) for _ in range(20)]
        per_scrape = (cpu_seconds(berthd.pid) - before) / len(pages)
        print(f"berthd CPU per /metrics scrape with {args.tasks} running tasks: {per_scrape * 1000:.1f} ms "
              f"(first scrape {opened * 1000:.0f} ms; {pages[-1]} bytes; load average {os.getloadavg()[0]:.2f})")

        berthd.kill()
        berthd.wait()
        began = time.perf_counter()
        berthd = start_berthd(args, state, sock, agent_root, log)
        answered = time.perf_counter() - began
        recovered = [l for l in open(f"{directory}/berthd.log") if "msg=recovered" in l][-1]
        seconds = float(recovered.split("seconds=")[1].split()[0])
        tasks = call(sock, "GET", "/v1/tasks")
        running = sum(1 for t in tasks if t["status"]["state"] == "RUNNING")
        print(f"recovery with {args.tasks} running tasks: {seconds * 1000:.0f} ms in the agent, socket answering after {answered * 1000:.0f} ms (process start included); {running} found RUNNING")
    finally:
        for task in call(sock, "GET", "/v1/tasks") or []:
            if not task["status"]["state"] in ("FINISHED", "FAILED", "KILLED", "ERROR", "LOST"):
                try:
                    call(sock, "POST", f"/v1/tasks/{task['definition']['id']}/kill", {"graceSeconds": 0})
                except SystemExit:
                    pass
        deadline = time.time() + 120
        while time.time() < deadline:
            tasks = call(sock, "GET", "/v1/tasks")
            if all(t["status"]["state"] in ("FINISHED", "FAILED", "KILLED", "ERROR", "LOST") for t in tasks):
                break
            time.sleep(0.5)
        berthd.terminate()
        berthd.wait()
        if sys.exc_info()[0] is not None:
            # A failed run keeps berthd's log for the post-mortem.
            shutil.copy(f"{directory}/berthd.log", "/tmp/berth-agent-bench.failed.log")
            print("berthd's log: /tmp/berth-agent-bench.failed.log", file=sys.stderr)
        release_runtime_root(args, root)
        log.close()
        if args.state_fs != "disk":
            subprocess.run(["umount", directory], check=True)
        shutil.rmtree(directory, ignore_errors=True)
        if os.path.exists(image):
            os.unlink(image)


if __name__ == "__main__":
    main()
