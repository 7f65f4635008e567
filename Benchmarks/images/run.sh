#!/bin/sh
# Image import against `umoci unpack`, and bundle creation time against image size (overlay
# against copy). Run as root from anywhere; BERTH defaults to the release build.
set -eu
cd "$(dirname "$0")/../.."
BERTH=${BERTH:-.build/release/berth}
[ -x "$BERTH" ] || { echo "run.sh: $BERTH is missing: swift build -c release first (or set BERTH)" >&2; exit 1; }
[ -x Fixtures/.cache/busybox-rootfs/bin/busybox ] || Fixtures/busybox-rootfs.sh Fixtures/.cache/busybox-rootfs
exec python3 Benchmarks/images/bench.py --berth "$BERTH" --rootfs Fixtures/.cache/busybox-rootfs --runs "${RUNS:-5}"
