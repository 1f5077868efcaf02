#!/bin/bash
# Build (once per machine) the ksalloc debug test kernel: KASAN, UBSAN,
# lockdep, kmemleak, DMA API debugging, fault injection (scripts/debug.config
# merged over x86_64_defconfig and kernel/configs/kvm_guest.config), from
# Debian's source of the kernel named by DEBUG_KERNEL:
#   7.2  linux-source-7.2, built in the sid build root (sid's compiler)
#   6.1  linux-source-6.1 (scripts/ksrc.sh), built on this machine
# The build is cached under $KSA_CACHE/debug-kernel/<key>, keyed by the
# kernel, the source package's version and the fragment's hash. The
# directory holds bzImage, the O= tree modules build against (out/), the
# kernel's own modules (modroot/lib/modules/<release>, vgem and vivid among
# them) and an "info" file for kernel.sh (DBG_RELEASE, DBG_KHDR, DBG_KROOT).
#
# Usage: scripts/debug-kernel.sh         build if needed, print the dir
#        scripts/debug-kernel.sh --dir   print the dir only (no build)
# Environment: DEBUG_KERNEL=7.2 (or 6.1).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

DEBUG_KERNEL=${DEBUG_KERNEL:-7.2}
BUILD_PKGS=(make gcc bc bison flex libelf-dev libssl-dev xz-utils cpio perl kmod)

case $DEBUG_KERNEL in
6.1)
	kroot=
	"$ROOT/scripts/deps.sh" "${BUILD_PKGS[@]}" >&2
	read -r tarball srcver < <("$ROOT/scripts/ksrc.sh")
	[[ -n ${srcver-} ]] || die "no linux-source-6.1"
	;;
7.2)
	# pahole too: the config records its version (CONFIG_PAHOLE_VERSION)
	# and a module build warns if the pahole it finds differs, so it is
	# there before the build, not installed later by another user of the
	# shared root.
	kroot=$("$ROOT/scripts/buildroot.sh" sid "${BUILD_PKGS[@]}" pahole python3 linux-source-7.2)
	tarball=$kroot/usr/src/linux-source-7.2.tar.xz
	srcver=$(chroot "$kroot" dpkg-query -W -f='${Version}' linux-source-7.2)
	;;
*) die "DEBUG_KERNEL is 7.2 or 6.1, not '$DEBUG_KERNEL'" ;;
esac
[[ -f $tarball ]] || die "no $tarball"
fraghash=$(sha256sum "$ROOT/scripts/debug.config" | cut -c1-12)
key=$DEBUG_KERNEL-$srcver-$fraghash
dir=$KSA_CACHE/debug-kernel/$key
if [[ ${1-} == --dir || -f $dir/.done ]]; then
	echo "$dir"
	exit 0
fi

# run CMD...: here, or in the build root (which sees $KSA_CACHE too)
run() {
	if [[ -n $kroot ]]; then
		in_root "$kroot" - "$@"
	else
		"$@"
	fi
}

build() {
	local log=$dir/build.log start jobs out=$dir/out missing n pid rel
	[[ ! -f $dir/.done ]] || return 0
	start=$(date +%s)
	msg "debug kernel: building $key (about 30 min on 2 cores; log: $log)"
	if [[ ! -d $dir/src ]]; then
		rm -rf "$dir/src.tmp"
		mkdir -p "$dir/src.tmp"
		tar -xJf "$tarball" -C "$dir/src.tmp" --strip-components=1
		mv "$dir/src.tmp" "$dir/src"
	fi
	mkdir -p "$out"
	# (a copy the build root can see)
	cp "$ROOT/scripts/debug.config" "$dir/debug.config"
	run make -s -C "$dir/src" O="$out" x86_64_defconfig >"$log" 2>&1
	run "$dir/src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		"$dir/src/kernel/configs/kvm_guest.config" "$dir/debug.config" >>"$log" 2>&1
	run make -s -C "$dir/src" O="$out" olddefconfig >>"$log" 2>&1
	# Every option the fragment sets or unsets must have survived
	# olddefconfig.
	missing=$(grep -E '^(CONFIG_[A-Z0-9_]+=|# CONFIG_[A-Z0-9_]+ is not set)' "$dir/debug.config" |
		while read -r l; do
			if [[ $l == '#'* ]]; then
				o=${l#\# }
				o=${o%% *}
				! grep -q "^$o=" "$out/.config" || echo "$l"
			else
				grep -qxF "$l" "$out/.config" || echo "$l"
			fi
		done)
	if [[ -n $missing ]]; then
		msg "debug kernel: options not taken: $missing"
		return 1
	fi
	jobs=$(nproc)
	( run make -C "$dir/src" O="$out" -j"$jobs" all >>"$log" 2>&1 ) &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 60
		n=$(grep -c '^  CC' "$log" || true)
		msg "debug kernel: $(( ($(date +%s) - start) / 60 )) min, $n objects compiled"
	done
	if ! wait "$pid"; then
		tail -n 30 "$log" >&2
		msg "debug kernel: build failed (log: $log)"
		return 1
	fi
	rm -rf "$dir/modroot"
	run make -s -C "$dir/src" O="$out" INSTALL_MOD_PATH="$dir/modroot" \
		INSTALL_MOD_STRIP=1 modules_install >>"$log" 2>&1 ||
		{ tail -n 30 "$log" >&2; msg "debug kernel: modules_install failed"; return 1; }
	cp "$out/arch/x86/boot/bzImage" "$dir/bzImage"
	rel=$(cat "$out/include/config/kernel.release")
	{
		printf 'DBG_RELEASE=%q\n' "$rel"
		printf 'DBG_KHDR=%q\n' "$out"
		printf 'DBG_KROOT=%q\n' "$kroot"
	} >"$dir/info"
	echo "$(( $(date +%s) - start ))" >"$dir/build-seconds"
	touch "$dir/.done"
	msg "debug kernel: built in $(( ($(date +%s) - start) / 60 )) min"
}

mkdir -p "$dir"
with_lock "$dir.lock" build
echo "$dir"
