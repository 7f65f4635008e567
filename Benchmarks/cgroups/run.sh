#!/bin/sh
# What cgroups cost berth: `berth run` with and without limits (runc as the peer), the floor of
# the cgroup file operations, and `berth events --stats` for 200 containers against a shell loop.
# Needs root and the release build: `make bench`, or BERTH=path/to/berth Benchmarks/cgroups/run.sh
set -eu
cd "$(dirname "$0")/../.."
exec Benchmarks/cgroups/cgroup_cost.py --berth "${BERTH:-.build/release/berth}" \
    --rootfs Fixtures/.cache/busybox-rootfs --runs "${RUNS:-100}" --containers "${CONTAINERS:-200}"
