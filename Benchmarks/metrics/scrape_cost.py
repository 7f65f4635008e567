#!/usr/bin/env python3
"""What a metrics scrape costs, measured with the release `berth` binary on real containers.

For each count (default 50 and 500) of running busybox `sleep` containers:
1. `berth metrics-scrape --repeat R --stats`: the same code berthd runs per scrape (every
   container's cgroup files and /proc, the node's figures, the text exposition), timed inside the
   process over R scrapes: wall and CPU milliseconds per scrape, and the bytes of one page.
   berthd keeps the files open from one scrape to the next, so the first scrape of a process
   (which opens them) is shown on its own. The page is checked with `promtool check metrics`.
2. The floor: a shell loop that `cat`s exactly the files one scrape reads for each container
   (found with strace), one `cat` of all of them at once, the same files read in this Python
   process (open, one read, close: no parsing, no output), and the same files kept open and
   read again from offset 0 (pread), as berth reads them, as the tightest floor.

Usage:
    Benchmarks/metrics/scrape_cost.py --berth .build/release/berth --rootfs Fixtures/.cache/busybox-rootfs \
        [--counts 50,500] [--repeat 20]
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, time


def make_bundle(directory):
    bundle = os.path.join(directory, "sleeper")
    os.makedirs(bundle)
    subprocess.run([BERTH, "spec", "--bundle", bundle], check=True)
    path = os.path.join(bundle, "config.json")
    config = json.load(open(path))
    config["root"] = {"path": ROOTFS, "readonly": True}  # every container shares the fixture
    config["process"]["terminal"] = False
    config["process"]["args"] = ["sleep", "1000000"]
    config["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 50},
                                    "cpu": {"quota": 50000, "period": 100000}}
    json.dump(config, open(path, "w"))
    return bundle


def quiet(command):
    # Files, not pipes: a detached container keeps its copy of stdout open for ever.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        code = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err).returncode
        elapsed = (time.perf_counter() - started) * 1000
        out.seek(0)
        err.seek(0)
        if code != 0:
            sys.exit(f"{' '.join(command)} failed: {err.read().decode()}")
        return elapsed, out.read(), err.read().decode()


def measure(root, ids, directory):
    count = len(ids)
    # 1. berth's scrape, timed inside the process.
    _, page, _ = quiet([BERTH, "--root", root, "metrics-scrape"])
    check = subprocess.run(["promtool", "check", "metrics"], input=page, capture_output=True)
    verdict = "promtool: ok" if check.returncode == 0 else "promtool FAILED: " + (check.stdout + check.stderr).decode()[:300]
    series = sum(1 for line in page.splitlines() if line and not line.startswith(b"#"))
    runs = []
    for _ in range(ROUNDS):
        _, _, stats = quiet([BERTH, "--root", root, "metrics-scrape", "--quiet", "--stats", "--repeat", str(REPEAT)])
        fields = dict(item.split("=") for item in stats.split())
        runs.append((float(fields["wall_ms"]), float(fields["cpu_ms"])))
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    process, _, _ = quiet([BERTH, "--root", root, "metrics-scrape", "--quiet"])
    firsts = []
    for _ in range(ROUNDS):
        _, _, stats = quiet([BERTH, "--root", root, "metrics-scrape", "--quiet", "--stats", "--repeat", "1"])
        firsts.append(float(dict(item.split("=") for item in stats.split())["cpu_ms"]))
    first = statistics.median(firsts)

    # 2. The floor: the files one scrape reads for one container, as strace sees them.
    trace = os.path.join(directory, "trace")
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,open", "-o", trace,
                    BERTH, "--root", root, "metrics-scrape", "--quiet"], check=True, capture_output=True)
    pid = open(os.path.join(root, ids[0], "state.json")).read()
    init = json.loads(pid)["pid"]
    files = []
    for line in open(trace):
        match = re.search(r'"(/sys/fs/cgroup/[^"]*|/proc/[0-9]+/[^"]*)"', line)
        if not match or "= -1" in line or "O_DIRECTORY" in line or match.group(1).endswith("/."):
            continue
        name = match.group(1)
        if (ids[0] in name or f"/proc/{init}/" in name) and name not in files:
            files.append(name)
    script = os.path.join(directory, "floor.sh")
    pids = {container: json.load(open(os.path.join(root, container, "state.json")))["pid"] for container in ids}
    with open(script, "w") as out:
        out.write("#!/bin/sh\n")
        for container in ids:
            names = [f.replace(ids[0], container).replace(f"/proc/{init}/", f"/proc/{pids[container]}/") for f in files]
            out.write("cat " + " ".join(names) + " > /dev/null\n")
    everything = [f.replace(ids[0], c).replace(f"/proc/{init}/", f"/proc/{pids[c]}/") for c in ids for f in files]
    shell = statistics.median(quiet(["/bin/sh", script])[0] for _ in range(ROUNDS))
    with open(os.path.join(directory, "all-files"), "w") as listing:
        listing.write("\0".join(everything))
    one_cat = statistics.median(quiet(["/bin/sh", "-c", f"xargs -0 cat < {directory}/all-files > /dev/null"])[0] for _ in range(ROUNDS))

    in_process = []
    for _ in range(ROUNDS):
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for name in everything:
            try:
                fd = os.open(name, os.O_RDONLY)
                os.read(fd, 65536)
                os.close(fd)
            except OSError:
                pass
        in_process.append(((time.perf_counter() - wall_start) * 1000, (time.process_time() - cpu_start) * 1000))

    kept = []
    descriptors = []
    try:
        for name in everything:
            try:
                descriptors.append(os.open(name, os.O_RDONLY))
            except OSError:
                pass
        for _ in range(ROUNDS):
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            for _ in range(REPEAT):
                for fd in descriptors:
                    try:
                        os.pread(fd, 65536, 0)
                    except OSError:
                        pass
            kept.append(((time.perf_counter() - wall_start) * 1000 / REPEAT, (time.process_time() - cpu_start) * 1000 / REPEAT))
    finally:
        for fd in descriptors:
            os.close(fd)

    print(f"\n{count} running containers: one page is {len(page)} bytes, {series} samples; {verdict}")
    print(f"   berth scrape (in process, median of {ROUNDS}x{REPEAT}) {wall:8.1f} ms wall  {cpu:8.1f} ms CPU per scrape")
    print(f"   berth: the first scrape of a process, which opens the files   {first:8.1f} ms CPU")
    print(f"   berth metrics-scrape as a process (loads {count} state files) {process:8.1f} ms")
    print(f"   floor: shell loop, one cat of {len(files)} files per container {shell:8.1f} ms")
    print(f"   floor: one cat of all {len(everything)} files              {one_cat:8.1f} ms")
    print(f"   floor: the same files read in one Python process   {statistics.median(r[0] for r in in_process):8.1f} ms wall"
          f"  {statistics.median(r[1] for r in in_process):8.1f} ms CPU")
    print(f"   floor: the same files kept open, pread from 0 in Python {statistics.median(r[0] for r in kept):8.1f} ms wall"
          f"  {statistics.median(r[1] for r in kept):8.1f} ms CPU")


parser = argparse.ArgumentParser()
parser.add_argument("--berth", required=True)
parser.add_argument("--rootfs", required=True)
parser.add_argument("--counts", default="50,500")
parser.add_argument("--repeat", type=int, default=20)
parser.add_argument("--rounds", type=int, default=3)
arguments = parser.parse_args()
BERTH, ROOTFS = os.path.abspath(arguments.berth), os.path.abspath(arguments.rootfs)
REPEAT, ROUNDS = arguments.repeat, arguments.rounds
for tool in ("strace", "promtool"):
    if not shutil.which(tool):
        sys.exit(f"{tool} is needed (apt-get install strace prometheus)")

with tempfile.TemporaryDirectory(prefix="berth-metricsbench-") as directory:
    root = tempfile.mkdtemp(prefix="berth-metricsbench-", dir="/run")
    ids = []
    try:
        print(f"metrics scrape cost on {os.uname().release}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
        bundle = make_bundle(directory)
        for count in sorted(int(c) for c in arguments.counts.split(",")):
            started = time.perf_counter()
            while len(ids) < count:
                container = f"mb-{len(ids)}"
                quiet([BERTH, "--root", root, "run", "-d", "--bundle", bundle, container])
                ids.append(container)
            print(f"\n(started containers up to {count} in {time.perf_counter() - started:.1f} s)")
            measure(root, ids, directory)
    finally:
        for container in ids:
            subprocess.run([BERTH, "--root", root, "delete", "--force", container], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
        left = subprocess.run(["find", "/sys/fs/cgroup", "-type", "d", "-name", "mb-*"], capture_output=True, text=True).stdout
        print("\nafter delete: " + ("nothing left in /sys/fs/cgroup" if not left.strip() else "LEFT BEHIND:\n" + left))
