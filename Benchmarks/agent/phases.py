#!/usr/bin/env python3
"""Where a launch's time goes, from request to RUNNING: kernel tracepoints (perf record -a, no
ptrace, so nothing is slowed) around launches spaced apart, split into berthd's own part before
`berth run --detach` starts, the runtime itself, and berthd's part after it (the supervisor's
`started` marker to the RUNNING line on /v1/events). berthd's own cost is the first and last.

Usage: Benchmarks/agent/phases.py --bin .build/release [--launches 40] [--runtime-tmpfs]   (root, perf installed)
"""
import argparse, collections, os, re, shutil, signal, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (the launch benchmark's helpers)

EVENTS = ["sched:sched_process_exec", "sched:sched_process_exit", "syscalls:sys_enter_accept4",
          "syscalls:sys_enter_writev", "syscalls:sys_enter_renameat", "syscalls:sys_enter_fsync",
          "syscalls:sys_exit_fsync", "syscalls:sys_enter_clone"]


def launches(args, directory):
    """Starts berthd and launches `true` tasks one at a time, 150 ms apart; returns berthd's pid."""
    state, sock = f"{directory}/state", f"{directory}/berth.sock"
    root, _ = bench.runtime_root(args, directory, "berth-phases-bench")
    berthd = bench.start_berthd(args, state, sock, os.path.join(root, "berthd"), open(f"{directory}/berthd.log", "w"))
    try:
        events = bench.Events(sock)
        time.sleep(1)
        for i in range(args.launches):
            bench.call(sock, "POST", "/v1/tasks", {"id": f"ph{i}", "cmd": "true", "resources": {"cpus": 0.01, "mem": 16}})
            events.wait(f"ph{i}")
            time.sleep(0.15)
        return berthd.pid
    finally:
        berthd.terminate()
        berthd.wait()
        bench.release_runtime_root(args, root)


def parse(script, berthd):
    """(time, comm, pid, event, fields) of every traced event, in time order."""
    events = []
    for line in script.splitlines():
        m = re.match(r"\s*(.+?)\s+(\d+)/\d+\s+([\d.]+):\s+(\S+):\s*(.*)", line)
        if m:
            events.append((float(m.group(3)), m.group(1), int(m.group(2)), m.group(4), m.group(5)))
    events.sort()
    # The events stream is the berthd fd written with writev most often (one line per status).
    fds = collections.Counter(re.search(r"fd: (0x[0-9a-f]+)", e[4]).group(1)
                              for e in events if e[2] == berthd and e[3].endswith("sys_enter_writev"))
    stream = fds.most_common(1)[0][0]
    # Each call is a new connection: the readiness probe and the events stream come first.
    starts = [e[0] for e in events if e[2] == berthd and e[3].endswith("sys_enter_accept4")][2:]
    rows = []
    for i, t0 in enumerate(starts):
        t1 = starts[i + 1] if i + 1 < len(starts) else float("inf")
        part = [e for e in events if t0 <= e[0] < t1]
        lines = [e[0] for e in part if e[2] == berthd and e[3].endswith("sys_enter_writev") and f"fd: {stream}" in e[4]]
        runtime = [e for e in part if e[3] == "sched:sched_process_exec" and re.search(r"filename=\S*/berth\b(?!-)", e[4])]
        supervisor = [e[0] for e in part if e[3] == "sched:sched_process_exec" and "berth-supervisor" in e[4]]
        if len(lines) < 3 or not runtime or not supervisor:
            continue
        ended = [e[0] for e in part if e[3] == "sched:sched_process_exit" and e[2] == runtime[0][2]]
        marker = [e[0] for e in part if e[1].startswith("berth-supervis") and "renameat" in e[3] and ended and e[0] > ended[0]]
        syncing = [e[0] for e in part if e[2] == berthd and e[3].endswith("sys_enter_fsync")]
        synced = [e[0] for e in part if e[2] == berthd and e[3].endswith("sys_exit_fsync")]
        forked = [e[0] for e in part if e[2] == berthd and e[3].endswith("sys_enter_clone")]
        if not ended or not marker:
            continue
        # Durable: the file's and its directory's fsyncs have returned (the last return before the
        # supervisor's exec).
        durable = [t for t in synced if t < supervisor[0]]
        rows.append(dict(request=t0, sync=syncing[0] if syncing else None, durable=durable[-1] if durable else None, staging=lines[0], fork=forked[0] if forked else None,
                         supervisor=supervisor[0], runtime=runtime[0][0], runtime_exit=ended[0], started=marker[0], running=lines[2]))
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build/release")
    parser.add_argument("--launches", type=int, default=40)
    parser.add_argument("--runtime-tmpfs", action="store_true", help="runtime state on a tmpfs of its own (see run.py)")
    args = parser.parse_args()
    args.metrics_port = bench.free_port()
    directory = tempfile.mkdtemp(prefix="berth-phases-bench.", dir="/tmp")
    perf = subprocess.Popen(["perf", "record", "-q", "-a", "-o", f"{directory}/perf.data"] + [a for e in EVENTS for a in ("-e", e)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        berthd = launches(args, directory)
    finally:
        perf.send_signal(signal.SIGINT)
        perf.wait()
    script = subprocess.run(["perf", "script", "-i", f"{directory}/perf.data", "-F", "comm,pid,tid,time,event,trace"],
                            capture_output=True, text=True).stdout
    rows = parse(script, berthd)
    shutil.rmtree(directory, ignore_errors=True)
    if not rows:
        sys.exit("no launch could be read from the trace")
    print(f"{len(rows)} launches, 150 ms apart; load average {os.getloadavg()[0]:.2f}; milliseconds from the request (median):")
    for point in ["sync", "durable", "staging", "fork", "supervisor", "runtime", "runtime_exit", "started", "running"]:
        values = [(r[point] - r["request"]) * 1000 for r in rows if r[point]]
        print(f"  {point:>12}  {statistics.median(values):7.2f}")
    before = [(r["runtime"] - r["request"]) * 1000 for r in rows]
    after = [(r["running"] - r["runtime_exit"]) * 1000 for r in rows]
    own = [b + a for b, a in zip(before, after)]
    print(f"berthd before `berth run` starts: {statistics.median(before):.2f} ms; after it returns: {statistics.median(after):.2f} ms; "
          f"berthd's own part: {statistics.median(own):.2f} ms (median)")


if __name__ == "__main__":
    main()
