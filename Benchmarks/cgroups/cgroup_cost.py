#!/usr/bin/env python3
"""What cgroups cost Berth, measured with the release `berth` binary and runc as the peer.

1. `berth run` of /bin/true without linux.resources and with cpu+memory+pids limits (plus the
   default device rules), against `runc run` of the same two bundles, all four alternating so they
   see the same noise. The difference between the two bundles is what applying limits adds.
2. The floor of the cgroup work itself: the same mkdir / limit writes / join / leave / rmdir that
   Berth does for one container, done straight from this script on this host's hierarchies
   (no BPF device program: that needs the C shim).
3. `berth events --stats` for N running containers (default 200), one process per container as a
   user or agent script would call it, against the floor: a shell loop that `cat`s exactly the
   cgroup files Berth reads (found with strace), and one `cat` of all of them at once.
   `berth state` per container shows what a berth process costs before any stats are read.

Usage:
    Benchmarks/cgroups/cgroup_cost.py --berth .build/release/berth --rootfs Fixtures/.cache/busybox-rootfs \
        [--runs 100] [--containers 200]
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, time


def make_bundle(directory, name, args, resources, readonly=False):
    bundle = os.path.join(directory, name)
    os.makedirs(bundle)
    subprocess.run([BERTH, "spec", "--bundle", bundle], check=True)
    path = os.path.join(bundle, "config.json")
    config = json.load(open(path))
    if readonly:  # many containers share the fixture read-only
        config["root"] = {"path": ROOTFS, "readonly": True}
    else:
        shutil.copytree(ROOTFS, os.path.join(bundle, "rootfs"), symlinks=True)
        config["root"]["readonly"] = False
    config["process"]["terminal"] = False
    config["process"]["args"] = args
    if resources is None:
        config["linux"].pop("resources", None)
    else:
        config["linux"]["resources"] = resources
    json.dump(config, open(path, "w"))
    return bundle


LIMITS = {
    "cpu": {"shares": 512, "quota": 50000, "period": 100000},
    "memory": {"limit": 256 << 20},
    "pids": {"limit": 100},
    # The default spec's rule: deny every device (the runtimes then allow their defaults).
    "devices": [{"allow": False, "access": "rwm"}],
}


def run_checked(command):
    # Files, not pipes: a detached container keeps its copy of stdout open for ever.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        code = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err).returncode
        elapsed = (time.perf_counter() - started) * 1000
        out.seek(0)
        err.seek(0)
        if code != 0:
            sys.exit(f"{' '.join(command)} failed: {err.read().decode().strip()}")
        return elapsed, out.read()


def summary(samples):
    samples = sorted(samples)
    p90 = samples[max(int(len(samples) * 0.9) - 1, 0)]
    return statistics.median(samples), p90, samples[0]


# --- 1. berth run / runc run, with and without limits ------------------------------------------

def run_cost(directory, state, runs):
    binaries = {"berth": BERTH, "runc": RUNC}
    bundles = {
        "no resources": make_bundle(directory, "plain", ["/bin/true"], None),
        "cpu+memory+pids": make_bundle(directory, "limits", ["/bin/true"], LIMITS),
    }
    combos = [(runtime, kind) for runtime in binaries for kind in bundles]
    roots = {runtime: os.path.join(state, runtime) for runtime in binaries}
    times = {combo: [] for combo in combos}
    for index in range(-1, runs):  # -1 warms the page cache
        order = combos[index % len(combos):] + combos[:index % len(combos)]
        for runtime, kind in order:
            elapsed, _ = run_checked([binaries[runtime], "--root", roots[runtime], "run", "--bundle",
                                      bundles[kind], f"cgb-{runtime}-{index}-{kind[0]}"])
            if index >= 0:
                times[(runtime, kind)].append(elapsed)
    print(f"\n1. run of /bin/true in a busybox bundle, {runs} runs of each, alternating")
    for combo in combos:
        median, p90, low = summary(times[combo])
        print(f"   {combo[0]:5} {combo[1]:16} median {median:7.2f} ms   p90 {p90:7.2f} ms   min {low:6.2f} ms")
    for runtime in binaries:
        added = statistics.median(times[(runtime, "cpu+memory+pids")]) - statistics.median(times[(runtime, "no resources")])
        print(f"   {runtime}: limits add {added:+.2f} ms (difference of medians)")
    ratio = statistics.median(times[("berth", "cpu+memory+pids")]) / statistics.median(times[("runc", "cpu+memory+pids")])
    print(f"   berth/runc median ratio with limits: {ratio:.3f}")


# --- 2. the floor: the same cgroup file operations, from this script ---------------------------

def hierarchies():
    """(version, mount point, own path) of each cgroup hierarchy Berth uses (not name=systemd)."""
    own = {}
    for line in open("/proc/self/cgroup"):
        number, controllers, path = line.rstrip("\n").split(":", 2)
        own[controllers if number != "0" else ""] = path
    result, seen = [], set()
    for line in open("/proc/self/mountinfo"):
        left, right = line.split(" - ", 1)
        fields, kind = left.split(), right.split()
        if kind[0] not in ("cgroup", "cgroup2") or not fields[4].startswith("/sys/fs/cgroup"):
            continue
        if kind[0] == "cgroup2":
            if "" not in seen:
                seen.add("")
                result.append((2, fields[4], own.get("", "/")))
            continue
        controllers = [o for o in kind[2].split(",") if o not in ("rw", "ro", "relatime", "nosuid", "nodev", "noexec") and "=" not in o]
        if not controllers:
            continue
        key = ",".join(sorted(controllers))
        if key in seen:
            continue
        seen.add(key)
        path = next((p for c, p in own.items() if c and sorted(c.split(",")) == sorted(controllers)), "/")
        result.append((1, fields[4], path))
    return result


def write(path, value):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def floor_cost(runs):
    layout = hierarchies()
    mode = "unified" if all(v == 2 for v, _, _ in layout) else ("legacy" if all(v == 1 for v, _, _ in layout) else "hybrid")
    helper = subprocess.Popen(["sleep", "1000000"])
    v1_limits = {"cpu.shares": "512", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "50000",
                 "memory.limit_in_bytes": str(256 << 20), "pids.max": "100"}
    v2_limits = {"cpu.weight": "20", "cpu.max": "50000 100000", "memory.max": str(256 << 20), "pids.max": "100"}
    device_lines = [("devices.deny", "a")] + [("devices.allow", rule) for rule in (
        "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
        "c 5:0 rwm", "c 5:2 rwm", "c 136:* rwm")]
    samples = {"plain": [], "limits": []}
    try:
        for index in range(runs * 2):
            kind = "plain" if index % 2 == 0 else "limits"
            made = []
            started = time.perf_counter()
            for version, mount, own in layout:
                base = mount + (own if own != "/" else "")
                parent, leaf = base + "/berth-bench", base + f"/berth-bench/c{index}"
                for above, directory in ((base, parent), (parent, leaf)):
                    try:
                        os.mkdir(directory)
                        made.append(directory)
                    except FileExistsError:
                        continue
                    if version == 1 and os.path.exists(directory + "/cpuset.cpus"):
                        for name in ("cpuset.cpus", "cpuset.mems"):  # a new cpuset starts empty
                            write(directory + "/" + name, open(above + "/" + name).read().strip() or "\n")
                    if version == 2 and mode == "unified":
                        write(above + "/cgroup.subtree_control", "+cpu +memory +pids")
                if kind == "limits":
                    limits = v2_limits if (version == 2 and mode == "unified") else v1_limits
                    for name, value in limits.items():
                        if os.path.exists(leaf + "/" + name):
                            write(leaf + "/" + name, value)
                    if os.path.exists(leaf + "/devices.allow"):
                        for name, value in device_lines:
                            write(leaf + "/" + name, value)
                write(leaf + "/cgroup.procs", str(helper.pid))
            for version, mount, own in layout:  # leave again, then remove leaf first
                write(mount + (own if own != "/" else "") + "/cgroup.procs", str(helper.pid))
            for directory in sorted(made, key=len, reverse=True):
                os.rmdir(directory)
            samples[kind].append((time.perf_counter() - started) * 1000)
    finally:
        helper.kill()
        helper.wait()
    print(f"\n2. floor: the cgroup operations of one container from Python on this {mode} host "
          f"({len(layout)} hierarchies), {runs} of each")
    print("   (mkdir of parent and leaf in each hierarchy, limits, join, leave, rmdir; no BPF device program)")
    for kind in samples:
        median, p90, low = summary(samples[kind])
        print(f"   {kind:6} median {median:6.3f} ms   p90 {p90:6.3f} ms   min {low:6.3f} ms")


# --- 3. events --stats for many containers -----------------------------------------------------

def events_cost(directory, state, count):
    root = os.path.join(state, "events")
    bundle = make_bundle(directory, "sleeper", ["sleep", "1000000"],
                         {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}}, readonly=True)
    ids = [f"cgb-ev-{index}" for index in range(count)]
    try:
        started = time.perf_counter()
        for container in ids:
            run_checked([BERTH, "--root", root, "run", "-d", "--bundle", bundle, container])
        print(f"\n3. events --stats for {count} running containers (started in {time.perf_counter() - started:.1f} s)")

        # The files one stats sample reads, as strace sees them.
        trace = os.path.join(directory, "trace")
        subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat,open", "-o", trace,
                        BERTH, "--root", root, "events", "--stats", ids[0]], check=True, capture_output=True)
        files = []
        for line in open(trace):
            match = re.search(r'"(/sys/fs/cgroup/[^"]*)"', line)
            if match and ids[0] in match.group(1) and "= -1" not in line and match.group(1) not in files:
                files.append(match.group(1))
        if not files:
            sys.exit("strace saw no cgroup file opened by berth events --stats")
        print(f"   one sample reads {len(files)} cgroup files")
        script = os.path.join(directory, "floor.sh")
        with open(script, "w") as out:
            out.write("#!/bin/sh\nfor id in " + " ".join(ids) + "; do\n  cat "
                      + " ".join(f.replace(ids[0], "$id") for f in files) + " > /dev/null\ndone\n")
        everything = [f.replace(ids[0], container) for container in ids for f in files]

        def each(command):
            started = time.perf_counter()
            for container in ids:
                _, output = run_checked(command + [container])
                if b'"type":"stats"' not in output and command[-1] == "--stats":
                    sys.exit(f"unexpected events output: {output[:200]}")
            return (time.perf_counter() - started) * 1000

        def once(command):
            return run_checked(command)[0]

        rows = [
            ("berth events --stats ID, one per container", lambda: each([BERTH, "--root", root, "events", "--stats"])),
            ("berth state ID, one per container", lambda: each([BERTH, "--root", root, "state"])),
            ("floor: shell loop, one cat per container", lambda: once(["/bin/sh", script])),
            ("floor: one cat of every file", lambda: once(["/bin/cat"] + everything)),
        ]
        results = {name: [] for name, _ in rows}
        for _ in range(ROUNDS):
            for name, measure in rows:
                results[name].append(measure())
        for name, _ in rows:
            total = statistics.median(results[name])
            print(f"   {name:46} {total:8.1f} ms for {count}   {total / count:6.3f} ms each")
        events_each = statistics.median(results[rows[0][0]]) / count
        state_each = statistics.median(results[rows[1][0]]) / count
        print(f"   reading and printing the stats adds {events_each - state_each:+.3f} ms to a berth process per container")
    finally:
        for container in ids:
            subprocess.run([BERTH, "--root", root, "delete", "--force", container], capture_output=True)
        left = subprocess.run(["find", "/sys/fs/cgroup", "-type", "d", "-name", "cgb-ev-*"], capture_output=True, text=True).stdout
        print("   after delete: " + ("nothing left in /sys/fs/cgroup" if not left.strip() else "LEFT BEHIND:\n" + left))


parser = argparse.ArgumentParser()
parser.add_argument("--berth", required=True)
parser.add_argument("--runc", default=shutil.which("runc") or "runc")
parser.add_argument("--rootfs", required=True)
parser.add_argument("--runs", type=int, default=100)
parser.add_argument("--containers", type=int, default=200)
parser.add_argument("--rounds", type=int, default=3)
arguments = parser.parse_args()
BERTH, RUNC, ROOTFS, ROUNDS = os.path.abspath(arguments.berth), arguments.runc, os.path.abspath(arguments.rootfs), arguments.rounds

with tempfile.TemporaryDirectory(prefix="berth-cgbench-") as directory:
    # State on tmpfs under /run, where both runtimes keep it by default.
    state = tempfile.mkdtemp(prefix="berth-cgbench-", dir="/run")
    try:
        print(f"cgroup costs on {os.uname().release}, {os.cpu_count()} CPUs")
        run_cost(directory, state, arguments.runs)
        floor_cost(arguments.runs)
        events_cost(directory, state, arguments.containers)
    finally:
        shutil.rmtree(state, ignore_errors=True)
