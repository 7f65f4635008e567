#!/bin/sh
# What a bridge network costs a task: berth's CNI attach and detach (loopback + bridge/host-local
# + portmap with one published port + firewall), p50 and p99 over 200 tasks, against podman's
# CNI bridge on the same machine. Needs root and the release build (`make bench`), or
# BERTH=path/to/berth Benchmarks/network/run.sh. RUNS=N changes the 200.
set -eu
cd "$(dirname "$0")/../.."
exec Benchmarks/network/network_cost.py --berth "${BERTH:-.build/release/berth}" \
    --rootfs Fixtures/.cache/busybox-rootfs --runs "${RUNS:-200}" --podman-runs "${PODMAN_RUNS:-${RUNS:-200}}"
