#!/bin/sh
# Every benchmark, against its peer in the same run. `make bench` builds release first.
set -eu
cd "$(dirname "$0")/.."
Benchmarks/run_vs_runc.py --berth .build/release/berth --rootfs Fixtures/.cache/busybox-rootfs --runs "${RUNS:-200}"
