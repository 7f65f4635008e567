#!/usr/bin/env python3
"""Bridge networking set-up and tear-down per task: berth against podman, both through the same
Debian CNI plugins on this machine.

berth: `berth network-bench` (hidden) runs BerthNetwork's attach and detach directly, N times:
    netns file + loopback + bridge/host-local + portmap (one published port) + firewall, the
    checkpoint and the task's hosts/resolv.conf; then CNI DEL of all of it and the netns.
podman: the network part of a podman container cannot be timed on its own, so it is the
    difference between `podman --network-backend cni run --rm -p PORT:80 IMAGE true` with
    `--network bridge` and with `--network none`, the two alternating so they see the same noise.
    p50(bridge) - p50(none) is podman's network cost (set-up and tear-down together).

Usage:
    Benchmarks/network/network_cost.py --berth .build/release/berth --rootfs Fixtures/.cache/busybox-rootfs \
        [--runs 200] [--podman-runs 200]
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time

IMAGE = "localhost/berth-bench-busybox"
# podman's default limits exceed this machine's hard limits.
LIMITS = ["--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]


def percentile(values, p):
    ordered = sorted(values)
    rank = max(1, -(-int(p * len(ordered) * 100) // 100))  # nearest rank, ceil(p*n)
    return ordered[min(len(ordered), rank) - 1]


def podman_image(rootfs):
    if subprocess.run(["podman", "image", "exists", IMAGE]).returncode == 0:
        return
    with tempfile.TemporaryDirectory() as directory:
        tar = os.path.join(directory, "rootfs.tar")
        subprocess.run(["tar", "-C", rootfs, "-cf", tar, "."], check=True)
        subprocess.run(["podman", "import", tar, IMAGE], check=True, stdout=subprocess.DEVNULL)


def podman_run(network, port):
    command = ["podman", "--network-backend", "cni", "run", "--rm", "--runtime", "runc"] + LIMITS + ["--network", network]
    if network == "bridge":
        command += ["-p", f"{port}:80"]
    started = time.perf_counter()
    result = subprocess.run(command + [IMAGE, "true"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    elapsed = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        sys.exit(f"podman run --network {network} failed: {result.stderr.strip()}")
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--berth", required=True)
    parser.add_argument("--rootfs", required=True)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--podman-runs", type=int, default=200)
    parser.add_argument("--port", type=int, default=18089)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("network_cost.py: needs root (network namespaces, iptables)")

    # network-bench keeps its namespace files in /run/berth/network-bench/netns (a shared mount,
    # as iproute2 makes /run/netns) and removes every round's namespace, checkpoint and files.
    out = subprocess.run([args.berth, "network-bench", "--count", str(args.runs), "--publish", f"{args.port}:80"],
                         check=True, capture_output=True, text=True).stdout
    berth = json.loads(out)
    b_attach, b_detach = berth["attach"], berth["detach"]
    print(f"berth bridge attach (set-up)     p50 {b_attach['p50_ms']:8.1f} ms   p99 {b_attach['p99_ms']:8.1f} ms   ({args.runs} tasks)")
    print(f"berth bridge detach (tear-down)  p50 {b_detach['p50_ms']:8.1f} ms   p99 {b_detach['p99_ms']:8.1f} ms")
    berth_total = (b_attach["p50_ms"] + b_detach["p50_ms"], b_attach["p99_ms"] + b_detach["p99_ms"])
    print(f"berth set-up + tear-down         p50 {berth_total[0]:8.1f} ms   p99 {berth_total[1]:8.1f} ms (sum of percentiles)")

    if shutil.which("podman") is None:
        print("podman: not installed, no comparison")
        return
    podman_image(args.rootfs)
    bridge, none = [], []
    for _ in range(args.podman_runs):
        bridge.append(podman_run("bridge", args.port))
        none.append(podman_run("none", args.port))
    p50 = percentile(bridge, 0.50) - percentile(none, 0.50)
    p99 = percentile(bridge, 0.99) - percentile(none, 0.99)
    print(f"podman run --network bridge      p50 {percentile(bridge, 0.5):8.1f} ms   p99 {percentile(bridge, 0.99):8.1f} ms   ({args.podman_runs} runs)")
    print(f"podman run --network none        p50 {percentile(none, 0.5):8.1f} ms   p99 {percentile(none, 0.99):8.1f} ms")
    print(f"podman network cost (difference) p50 {p50:8.1f} ms   p99 {p99:8.1f} ms")
    if p50 > 0:
        print(f"ratio berth / podman (p50 of set-up + tear-down): {berth_total[0] / p50:.2f}")


if __name__ == "__main__":
    main()
