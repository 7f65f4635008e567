#!/bin/sh
# Builds a minimal root filesystem from the host's static busybox into DIR (idempotent).
# Usage: Fixtures/busybox-rootfs.sh DIR
set -eu
dir=${1:?usage: busybox-rootfs.sh DIR}
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "busybox-rootfs.sh: $busybox is missing (apt-get install busybox-static)" >&2; exit 1; }
file "$busybox" 2>/dev/null | grep -q 'statically linked' || ldd "$busybox" 2>&1 | grep -q 'not a dynamic' || {
    echo "busybox-rootfs.sh: $busybox is not static (apt-get install busybox-static)" >&2; exit 1; }
[ -x "$dir/bin/busybox" ] && exit 0
tmp="$dir.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/sbin" "$tmp/etc" "$tmp/tmp" "$tmp/root" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/home/user"
cp "$busybox" "$tmp/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$tmp/bin/$applet"
done
chmod 1777 "$tmp/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$tmp/etc/passwd"
printf 'root:x:0:\nuser:x:1000:\ntty:x:5:\nnogroup:x:65534:\n' > "$tmp/etc/group"
chown 1000:1000 "$tmp/home/user"
mkdir -p "$(dirname "$dir")"
mv "$tmp" "$dir"
