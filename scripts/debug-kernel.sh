#!/bin/bash
# Build (once per machine) the ksalloc debug test kernel from Debian's
# linux-source-6.1: x86_64_defconfig + kvm_guest.config + scripts/debug.config.
# The build is cached under ${KSA_CACHE:-~/.cache/ksalloc}/debug-kernel/<key>,
# keyed by the source package version and the fragment's hash, and prints
# the directory (holding bzImage and the O= tree modules build against).
#
# Usage: scripts/debug-kernel.sh         build if needed, print the dir
#        scripts/debug-kernel.sh --dir   print the dir only (no build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

cache=${KSA_CACHE:-${HOME:-/root}/.cache/ksalloc}
"$here/deps.sh" linux-source-6.1 make gcc bc bison flex libelf-dev \
	libssl-dev xz-utils cpio perl >&2
tarball=$(ls /usr/src/linux-source-6.1.tar.xz)
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
fraghash=$(sha256sum "$here/debug.config" | cut -c1-12)
key=6.1-$srcver-$fraghash
dir=$cache/debug-kernel/$key
if [[ ${1-} == --dir ]]; then
	echo "$dir"
	exit 0
fi
if [[ -f $dir/.done ]]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [[ -f $dir/.done ]]; then
	echo "$dir"
	exit 0
fi
log=$dir/build.log
start=$(date +%s)
echo "debug kernel: building $key (about 28 min on 2 cores; log: $log)" >&2
if [[ ! -d $dir/src ]]; then
	mkdir -p "$dir/src.tmp"
	tar -xJf "$tarball" -C "$dir/src.tmp" --strip-components=1
	mv "$dir/src.tmp" "$dir/src"
fi
out=$dir/out
mkdir -p "$out"
make -s -C "$dir/src" O="$out" x86_64_defconfig >"$log" 2>&1
"$dir/src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
	"$dir/src/kernel/configs/kvm_guest.config" "$here/debug.config" >>"$log" 2>&1
make -s -C "$dir/src" O="$out" olddefconfig >>"$log" 2>&1
# Every option of the fragment must have survived olddefconfig.
missing=$(grep -E '^CONFIG_[A-Z0-9_]+=' "$here/debug.config" | while read -r l; do
	grep -qxF "$l" "$out/.config" || echo "$l"
done)
if [[ -n $missing ]]; then
	echo "debug kernel: options not taken: $missing" >&2
	exit 1
fi
jobs=$(nproc)
( make -C "$dir/src" O="$out" -j"$jobs" all >>"$log" 2>&1 ) &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	sleep 60
	n=$(grep -c '^  CC' "$log" || true)
	echo "debug kernel: $(( ($(date +%s) - start) / 60 )) min, $n objects compiled" >&2
done
if ! wait "$pid"; then
	tail -n 30 "$log" >&2
	echo "debug kernel: build failed (log: $log)" >&2
	exit 1
fi
cp "$out/arch/x86/boot/bzImage" "$dir/bzImage"
echo "$(( $(date +%s) - start ))" >"$dir/build-seconds"
touch "$dir/.done"
echo "debug kernel: built in $(( ($(date +%s) - start) / 60 )) min" >&2
echo "$dir"
