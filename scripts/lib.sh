#!/bin/bash
# Helpers shared by the ksalloc scripts; source it, don't run it.
# Sets ROOT (the repository), BUILD (build output, default $ROOT/build),
# LOGS (VM console logs and results, $BUILD/logs) and KSA_CACHE (what is
# downloaded or built once per machine: kernel trees, build roots, the
# debug kernel; default ~/.cache/ksalloc).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LOGS=$BUILD/logs
KSA_CACHE=${KSA_CACHE:-${HOME:-/root}/.cache/ksalloc}

# Messages go to stderr so that stdout stays parseable.
msg() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Sub-makes run from scripts must not inherit the flags of an outer make
# (question mode, -s, the jobserver); start them clean.
submake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory "$@"; }

# in_root ROOTDIR DIR CMD...: run CMD chrooted in the build root ROOTDIR,
# with DIR (an absolute path, e.g. a build directory; - for none) and
# KSA_CACHE visible at the same paths inside, and /proc and /dev mounted.
# The mounts live in a private mount namespace of their own, so none is
# left behind however CMD ends.
in_root() {
	local rootdir=$1 dir=$2
	shift 2
	[[ -d $rootdir/usr ]] || die "in_root: no build root $rootdir"
	if [[ $dir != - ]]; then
		[[ $dir == /* && -d $dir ]] || die "in_root: bad directory $dir"
		mkdir -p "$rootdir$dir"
	fi
	mkdir -p "$KSA_CACHE" "$rootdir$KSA_CACHE"
	unshare --mount --propagation private -- /bin/bash -c '
		set -e
		r=$1 c=$2 d=$3
		shift 3
		mount --bind "$c" "$r$c"
		[[ $d == - ]] || mount --bind "$d" "$r$d"
		mount -t proc proc "$r/proc"
		mount --rbind /dev "$r/dev"
		exec chroot "$r" /usr/bin/env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"
	' in_root "$rootdir" "$KSA_CACHE" "$dir" "$@"
}

# kbuild KHDR MODDIR [ARGS...]: build the external modules in MODDIR against
# the kernel headers KHDR; inside the build root KROOT when that is set (a
# kernel whose headers need a newer compiler and C library than this
# machine's, see kernel.sh; there MODDIR, or KBUILD_BIND when it holds
# more the build needs, is what the root sees of this machine). MODDIR must
# exist: with an empty M= kbuild would build in (and rewrite) the headers
# directory itself.
kbuild() {
	local khdr=$1 moddir
	[[ -d $2 ]] || die "kbuild: no module directory $2"
	moddir=$(cd "$2" && pwd)
	shift 2
	if [[ -n ${KROOT-} ]]; then
		# (headers in the cache are seen at the same path in the root)
		[[ -n $moddir && ( -f $KROOT$khdr/Makefile || -f $khdr/Makefile ) ]] ||
			die "kbuild: bad headers $khdr in $KROOT"
		in_root "$KROOT" "${KBUILD_BIND:-$moddir}" make --no-print-directory -j"$(nproc)" -C "$khdr" \
			M="$moddir" "$@" modules
	else
		[[ -n $moddir && -f $khdr/Makefile ]] || die "kbuild: bad headers $khdr or directory $2"
		submake -j"$(nproc)" -C "$khdr" M="$moddir" "$@" modules
	fi
}

# copy_sources DEST: copy the module/, uapi/ and test client (selftests/kmod)
# sources (no build products) to DEST/module, DEST/uapi and
# DEST/selftests/kmod, keeping mtimes so rebuilds stay incremental.
copy_sources() {
	mkdir -p "$1"
	tar -C "$ROOT" -cf - \
		--exclude='*.o' --exclude='*.a' --exclude='*.ko' --exclude='*.mod' \
		--exclude='*.mod.c' --exclude='*.cmd' --exclude='Module.symvers' \
		--exclude='modules.order' --exclude='.tmp_versions' --exclude='.cache.mk' \
		module uapi selftests/kmod | tar -C "$1" -xf -
}

# with_lock FILE CMD...: run CMD holding an exclusive lock on FILE (the
# cache is shared by every checkout and every make of this machine).
with_lock() {
	local f=$1
	shift
	mkdir -p "$(dirname "$f")"
	(
		flock 9
		"$@"
	) 9>"$f"
}
