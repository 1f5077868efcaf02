#!/bin/bash
# Helpers shared by the ksalloc scripts; source it, don't run it.
# Sets ROOT (the repository), BUILD (build output, default $ROOT/build)
# and LOGS (VM console logs and results, $BUILD/logs).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
LOGS=$BUILD/logs

# Messages go to stderr so that stdout stays parseable.
msg() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Sub-makes run from scripts must not inherit the flags of an outer make
# (question mode, -s, the jobserver); start them clean.
submake() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory "$@"; }

# kbuild KHDR MODDIR [ARGS...]: build the external modules in MODDIR against
# the kernel headers KHDR. MODDIR must exist: with an empty M= kbuild would
# build in (and rewrite) the installed headers directory itself.
kbuild() {
	local khdr=$1 moddir
	[[ -d $2 ]] || die "kbuild: no module directory $2"
	moddir=$(cd "$2" && pwd)
	[[ -n $moddir && -f $khdr/Makefile ]] || die "kbuild: bad headers $khdr or directory $2"
	shift 2
	submake -j"$(nproc)" -C "$khdr" M="$moddir" "$@" modules
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
