#!/usr/bin/env python3
"""Image benchmarks, each against its peer in the same run, alternating so both see the same noise:

1. import: `berth image import` of a ~200 MiB multi-layer OCI layout (built with umoci) into an
   empty store, against `umoci unpack` of the same layout. Both verify digests and unpack every layer.
   Reported as berth's time divided by umoci's (below 1: berth is faster), with the CPU time each
   used (user + system, children's rusage), which load on the machine does not inflate as much.
   Outputs are removed only after the last run: on ext4 without a journal, inodes freed in the
   last minute are skipped by the allocator one by one, which would charge whichever tool runs
   right after a removal.
2. bundle: `berth image bundle` time (measured inside berth, without process start-up) against
   image size, overlay backend against copy backend. Every overlay series runs before any copy
   series, after a sync, so the copies' writeback does not land in the overlay samples.

Usage: Benchmarks/images/bench.py --berth .build/release/berth --rootfs Fixtures/.cache/busybox-rootfs [--runs 5]
"""
import argparse, os, random, resource, shutil, statistics, subprocess, sys, tempfile, time


def run(*command, **kwargs):
    result = subprocess.run(command, capture_output=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {result.stderr.decode().strip()}")
    return result


def fill_tree(directory, mib, seed):
    """About `mib` MiB in many files: small text-like files and a few large ones, as images have."""
    rng = random.Random(seed)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz_/.") for _ in range(rng.randint(3, 12))) for _ in range(4000)]
    target, written, index = mib << 20, 0, 0
    while written < target:
        sub = os.path.join(directory, f"d{index // 200}")
        os.makedirs(sub, exist_ok=True)
        if index % 50 == 49:
            data = rng.randbytes(min(4 << 20, target - written))  # a binary blob, incompressible
        else:
            size = min(rng.randint(1, 96) << 10, target - written)
            parts, length = [], 0
            while length < size:
                word = rng.choice(words)
                parts.append(word + b" ")
                length += len(word) + 1
            data = b"".join(parts)[:size]
        with open(os.path.join(sub, f"f{index}"), "wb") as f:
            f.write(data)
        written += len(data)
        index += 1


def build_layout(work, rootfs, layer_mib):
    """Tags: small (rootfs only), medium (+1 layer), full (+all layers)."""
    layout = os.path.join(work, "layout")
    run("umoci", "init", "--layout", layout)
    run("umoci", "new", "--image", layout + ":small")
    run("umoci", "insert", "--image", layout + ":small", rootfs, "/")
    previous = "small"
    for number, mib in enumerate(layer_mib):
        tree = os.path.join(work, f"tree{number}")
        fill_tree(tree, mib, number)
        tag = "medium" if number == 0 else ("full" if number == len(layer_mib) - 1 else f"step{number}")
        run("umoci", "insert", "--image", f"{layout}:{previous}", "--tag", tag, tree, f"/opt/layer{number}")
        shutil.rmtree(tree)
        previous = tag
    run("umoci", "config", "--image", layout + ":full", "--config.cmd", "/bin/true")
    return layout


def median_ms(samples):
    return statistics.median(samples) * 1000


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load():
    return open("/proc/loadavg").read().split()[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--berth", required=True)
    parser.add_argument("--rootfs", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bundle-runs", type=int, default=30)
    args = parser.parse_args()
    berth = os.path.abspath(args.berth)
    work = tempfile.mkdtemp(prefix="berth-images-bench-", dir="/var/tmp")
    try:
        print("building a ~200 MiB layout with umoci ...", flush=True)
        layout = build_layout(work, args.rootfs, [50, 50, 50, 50])
        blobs = sum(os.path.getsize(os.path.join(layout, "blobs/sha256", b)) for b in os.listdir(os.path.join(layout, "blobs/sha256")))
        print(f"layout: 5 layers, {blobs / (1 << 20):.0f} MiB compressed")

        print(f"load average before: {load()}")
        times = {"berth": [], "umoci": []}
        cpu = {"berth": [], "umoci": []}
        targets = []
        for index in range(args.runs):
            for tool in ("berth", "umoci") if index % 2 == 0 else ("umoci", "berth"):
                target = os.path.join(work, f"{tool}-{index}")
                targets.append(target)
                subprocess.run(["sync"])
                cpu_before = children_cpu()
                started = time.perf_counter()
                if tool == "berth":
                    run(berth, "image", "import", "--store", target, "--ref", "full", "--name", "bench:full", layout)
                else:
                    run("umoci", "unpack", "--image", layout + ":full", target)
                times[tool].append(time.perf_counter() - started)
                cpu[tool].append(children_cpu() - cpu_before)
        for target in targets:
            shutil.rmtree(target)
        b, u = median_ms(times["berth"]), median_ms(times["umoci"])
        print(f"import of the full image ({args.runs} runs each, alternating; load average now {load()}):")
        print(f"  berth image import  median {b:8.0f} ms   CPU median {median_ms(cpu['berth']):8.0f} ms")
        print(f"  umoci unpack        median {u:8.0f} ms   CPU median {median_ms(cpu['umoci']):8.0f} ms")
        print(f"  berth time / umoci time  {b / u:.2f}  ({'berth faster' if b < u else 'berth slower'}: {u / b if b < u else b / u:.1f}x)")

        store = os.path.join(work, "store")
        sizes = {}
        for tag in ("small", "medium", "full"):
            run(berth, "image", "import", "--store", store, "--ref", tag, "--name", f"bench:{tag}", layout)
            listing = run(berth, "image", "inspect", "--store", store, f"bench:{tag}").stdout.decode()
            sizes[tag] = sum(int(line.split(":")[1].strip().rstrip(",")) for line in listing.splitlines() if '"size"' in line)
        medians = {}
        for backend in ("overlay", "copy"):
            runs = args.bundle_runs if backend == "overlay" else max(3, args.bundle_runs // 10)
            for tag in ("small", "medium", "full"):
                subprocess.run(["sync"])
                samples = []
                for index in range(runs):
                    bundle = os.path.join(work, f"bundle-{tag}-{backend}-{index}")
                    result = run(berth, "--debug", "image", "bundle", "--store", store, "--backend", backend, f"bench:{tag}", bundle, "--", "/bin/true")
                    line = [l for l in result.stderr.decode().splitlines() if "image bundle:" in l][-1]
                    samples.append(int(line.split()[-2]) / 1e6)
                    run(berth, "image", "unbundle", bundle)
                    shutil.rmtree(bundle, ignore_errors=True)
                medians[tag, backend] = (median_ms(samples), min(samples) * 1000)
        print(f"bundle creation, in-process time ({args.bundle_runs} runs each; copy: {max(3, args.bundle_runs // 10)}; load average now {load()}):")
        print(f"  {'image':8} {'size':>9}   {'overlay median':>24}   {'copy median':>22}")
        for tag in ("small", "medium", "full"):
            overlay, copy = medians[tag, "overlay"], medians[tag, "copy"]
            print(f"  {tag:8} {sizes[tag] / (1 << 20):7.1f} MiB {overlay[0]:8.2f} ms (min {overlay[1]:5.2f}) {copy[0]:8.1f} ms (min {copy[1]:7.1f})")
    finally:
        for line in open("/proc/self/mountinfo"):
            point = line.split()[4]
            if point.startswith(work):
                subprocess.run(["umount", "-l", point])
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
