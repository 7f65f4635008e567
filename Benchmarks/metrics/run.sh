#!/bin/sh
# What a /metrics scrape costs with 50 and 500 running containers: wall and CPU time per scrape
# and the bytes, against the floor of reading the same cgroup files with a shell loop.
# Needs root and the release build: `make bench`, or BERTH=path/to/berth Benchmarks/metrics/run.sh
set -eu
cd "$(dirname "$0")/../.."
exec Benchmarks/metrics/scrape_cost.py --berth "${BERTH:-.build/release/berth}" \
    --rootfs Fixtures/.cache/busybox-rootfs --counts "${COUNTS:-50,500}" --repeat "${REPEAT:-20}"
