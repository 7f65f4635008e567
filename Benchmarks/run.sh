#!/bin/sh
# Every benchmark, against its peer in the same run. `make bench` builds release first.
set -eu
cd "$(dirname "$0")/.."
Benchmarks/run_vs_runc.py --berth .build/release/berth --rootfs Fixtures/.cache/busybox-rootfs --runs "${RUNS:-200}"
# Again with the state on a tmpfs, as /run is on systemd hosts (on these VMs it is the root ext4).
Benchmarks/run_vs_runc.py --berth .build/release/berth --rootfs Fixtures/.cache/busybox-rootfs --runs "${RUNS:-200}" --state-tmpfs
Benchmarks/cgroups/run.sh
Benchmarks/images/run.sh
Benchmarks/network/run.sh
Benchmarks/metrics/run.sh
Benchmarks/agent/run.py --bin .build/release --launches "${LAUNCHES:-1000}" --tasks "${TASKS:-500}"
Benchmarks/agent/run.py --bin .build/release --launches "${LAUNCHES:-1000}" --tasks "${TASKS:-500}" --runtime-tmpfs
# As a node keeps them: berthd's state on a journaled ext4 disk of its own, runtime state on a tmpfs.
Benchmarks/agent/run.py --bin .build/release --launches "${LAUNCHES:-1000}" --tasks "${TASKS:-500}" --runtime-tmpfs --state-fs ext4
