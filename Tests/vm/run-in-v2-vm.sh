#!/bin/bash
# Runs CMD... as root, with CI=true, inside a real Linux kernel booted with cgroup v1 disabled
# (pure cgroup v2), with this machine's filesystem shared in read-only over 9p. Prints CMD's
# output and exits with CMD's exit status. BERTH_* variables of the caller's environment are
# passed in.
#
#   Tests/vm/run-in-v2-vm.sh CMD [ARG...]
#
# Installs what is missing first (qemu, the generic Debian kernel, virtme-ng). The VM uses TCG
# (--disable-kvm): qemu's KVM mode fails on these machines. Only the generic -amd64 kernel has 9p;
# the -cloud-amd64 one does not.
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 CMD [ARG...]" >&2
    exit 2
fi

generic_kernel() {
    local kernel
    for kernel in /boot/vmlinuz-*-amd64; do
        [ -e "$kernel" ] || continue
        case "$kernel" in *-cloud-amd64) continue ;; esac
        echo "$kernel"
    done | sort -V | tail -n 1
}

# --- install what is missing -------------------------------------------------------------------
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
[ -n "$(generic_kernel)" ] || missing+=(linux-image-amd64)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then echo "$0: run as root to install: ${missing[*]}" >&2; exit 1; fi
    echo "$0: installing ${missing[*]}" >&2
    # Fresh machines have no package lists: update first, then install.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! command -v vng >/dev/null; then
    echo "$0: installing virtme-ng" >&2
    pip install -q virtme-ng
    hash -r
fi
kernel=$(generic_kernel)
if [ -z "$kernel" ]; then echo "$0: no generic /boot/vmlinuz-*-amd64 kernel" >&2; exit 1; fi

# --- the script the guest runs ------------------------------------------------------------------
# The host's / is shared read-only; this directory is the one place the guest writes back: the
# script itself and CMD's exit status.
shared=$(mktemp -d /tmp/berth-v2-vm.XXXXXX)
trap 'rm -rf "$shared"' EXIT
{
    echo '#!/bin/bash'
    # The guest's view of the host's stdout writes at offset 0 of a redirected file: collect the
    # output in the shared directory and print it from the host afterwards.
    echo 'exec > '"$shared"'/output 2>&1'
    # First thing: this must be a pure-v2 kernel, or nothing below means anything.
    echo '[ -f /sys/fs/cgroup/cgroup.controllers ] || { echo "run-in-v2-vm: /sys/fs/cgroup/cgroup.controllers missing: not a pure cgroup v2 host" >&2; echo 125 > '"$shared"'/status; exit 125; }'
    echo 'if grep -q " cgroup " /proc/mounts; then echo "run-in-v2-vm: cgroup v1 hierarchies are mounted" >&2; echo 125 > '"$shared"'/status; exit 125; fi'
    echo 'echo "run-in-v2-vm: $(uname -r), cgroup v2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers)" >&2'
    echo "cd $(printf '%q' "$PWD")"
    echo 'export CI=true'
    # The guest starts with a clean environment: carry over what tells the tests where things
    # are (BERTH_BINARY, BERTH_ROOTFS, ...).
    while IFS='=' read -r name _; do
        if [ -n "$name" ]; then printf 'export %s=%q\n' "$name" "${!name}"; fi
    done < <(env | grep -E '^BERTH_[A-Z_]*=' || true)
    # Tests copy the rootfs for every bundle; over 9p under emulation that takes minutes when
    # they run in parallel. One copy into the guest's own /tmp first makes each a memory copy.
    echo 'if [ -d "${BERTH_ROOTFS:-}" ]; then cp -a "$BERTH_ROOTFS" /tmp/berth-rootfs && export BERTH_ROOTFS=/tmp/berth-rootfs; fi'
    printf '%q ' "$@"; echo
    echo 'status=$?'
    echo 'echo "$status" > '"$shared"'/status'
    echo 'exit "$status"'
} > "$shared/inner.sh"
chmod +x "$shared/inner.sh"

set +e
vng --force-9p --disable-kvm --user root -r "$kernel" --append cgroup_no_v1=all \
    --cpus "$(nproc)" --memory 2G --rwdir "$shared" --exec "$shared/inner.sh" > "$shared/vng.log" 2>&1
vng_status=$?
cat "$shared/output" 2>/dev/null || cat "$shared/vng.log"
set -e

# vng passes the guest command's status through, but a VM that crashed or never reached the
# command must not look like success: the status file is the authority.
if [ ! -s "$shared/status" ]; then
    echo "$0: the command did not finish inside the VM (vng exited $vng_status)" >&2
    exit $(( vng_status == 0 ? 1 : vng_status ))
fi
status=$(cat "$shared/status")
if [ "$status" != "$vng_status" ]; then
    echo "$0: note: vng exited $vng_status, the command inside exited $status" >&2
fi
exit "$status"
