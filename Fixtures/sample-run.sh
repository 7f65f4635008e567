#!/bin/sh
# `make run` until the agent lands: runs one sample container with berth and shows what happened.
# Usage: Fixtures/sample-run.sh PATH-TO-BERTH ROOTFS
set -eu
berth=${1:?usage: sample-run.sh BERTH ROOTFS}
rootfs=${2:?usage: sample-run.sh BERTH ROOTFS}
bundle=$(mktemp -d /tmp/berth-sample.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
cp -a "$rootfs" "$bundle/rootfs"
"$berth" spec --bundle "$bundle"
# The default spec asks for a terminal and runs sh: make it a one-shot that reports on itself.
python3 - "$bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
config["process"]["terminal"] = False
config["process"]["args"] = ["sh", "-c",
    "echo \"hello from $(hostname), pid $$ in its own pid namespace\"; "
    "echo 'processes:'; ps; echo 'capabilities:'; grep Cap /proc/self/status; "
    "echo 'mounts:'; cut -d' ' -f2,3 /proc/mounts"]
json.dump(config, open(path, "w"), indent=2)
PY
echo "\$ berth run --bundle $bundle sample"
"$berth" run --bundle "$bundle" sample
echo "exit status: $?"
echo "\$ berth list"
"$berth" list
