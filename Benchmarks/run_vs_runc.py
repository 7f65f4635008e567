#!/usr/bin/env python3
"""`berth run` against `runc run` on the same bundle, alternating, so both see the same noise.

Prints the median, p90 and the ratio of medians. Usage:
    Benchmarks/run_vs_runc.py --berth .build/release/berth --rootfs Fixtures/.cache/busybox-rootfs [--runs 200] [--state-tmpfs]
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time


def make_bundle(rootfs, directory, runtime):
    bundle = os.path.join(directory, runtime)
    os.makedirs(bundle)
    shutil.copytree(rootfs, os.path.join(bundle, "rootfs"), symlinks=True)
    subprocess.run([runtime_binary[runtime], "spec", "--bundle", bundle], check=True)
    path = os.path.join(bundle, "config.json")
    config = json.load(open(path))
    config["process"]["terminal"] = False
    config["process"]["args"] = ["/bin/true"]
    json.dump(config, open(path, "w"))
    return bundle


def timed_run(runtime, bundle, root, index):
    command = [runtime_binary[runtime], "--root", root, "run", "--bundle", bundle, f"bench-{runtime}-{index}"]
    started = time.perf_counter()
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{runtime} run failed: {result.stderr.decode().strip()}")
    return elapsed * 1000


def summary(name, samples):
    samples = sorted(samples)
    p90 = samples[int(len(samples) * 0.9) - 1]
    return f"{name:6} median {statistics.median(samples):7.2f} ms   p90 {p90:7.2f} ms   min {samples[0]:6.2f} ms"


parser = argparse.ArgumentParser()
parser.add_argument("--berth", required=True)
parser.add_argument("--runc", default=shutil.which("runc") or "runc")
parser.add_argument("--rootfs", required=True)
parser.add_argument("--runs", type=int, default=200)
parser.add_argument("--state-tmpfs", action="store_true",
                    help="keep both runtimes' state on a tmpfs of its own, as /run is on systemd hosts")
arguments = parser.parse_args()
runtime_binary = {"berth": os.path.abspath(arguments.berth), "runc": arguments.runc}

with tempfile.TemporaryDirectory(prefix="berth-bench-") as directory:
    bundles = {name: make_bundle(arguments.rootfs, directory, name) for name in runtime_binary}
    # State under /run, where both runtimes keep it by default (/run/berth, /run/runc). Usually a
    # tmpfs; on these VMs /run is on the root ext4 (mounted with discard), which the report names.
    state = tempfile.mkdtemp(prefix="berth-bench-", dir="/run")
    if arguments.state_tmpfs:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0700", "berth-bench", state], check=True)
    state_filesystem = subprocess.run(["findmnt", "-n", "-o", "FSTYPE,OPTIONS", "-T", state],
                                      capture_output=True, text=True).stdout.strip()
    roots = {name: os.path.join(state, name) for name in runtime_binary}
    for name in runtime_binary:  # warm the page cache
        timed_run(name, bundles[name], roots[name], "warm")
    times = {name: [] for name in runtime_binary}
    for index in range(arguments.runs):
        for name in (("berth", "runc") if index % 2 == 0 else ("runc", "berth")):
            times[name].append(timed_run(name, bundles[name], roots[name], index))

if arguments.state_tmpfs:
    subprocess.run(["umount", state], check=True)
shutil.rmtree(state, ignore_errors=True)
print(f"run of /bin/true in a busybox bundle, {arguments.runs} runs each, alternating")
print(f"state directories on: {state_filesystem or 'unknown'}")
for name in runtime_binary:
    print(summary(name, times[name]))
ratio = statistics.median(times["berth"]) / statistics.median(times["runc"])
print(f"berth/runc median ratio: {ratio:.3f} (goal: under 0.25)")
