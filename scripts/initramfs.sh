#!/bin/bash
# Build the initramfs (an uncompressed newc cpio) of a ksalloc test VM:
# static busybox, /init (guest-init.sh), the module, the test programs in
# the order they run, and any extra files.
#
# Usage: scripts/initramfs.sh -o OUT.cpio [-m MODULE.ko] [-c CLIENT.ko]
#                             [-P PEERS] [-T SECONDS] [-t PROGRAM]...
#                             [-f SRC[:DEST]]... [-e NAME=VALUE]...
#                             [-u -B BOOTMODS]
#   -m  the module insmod'ed before the tests (none: no insmod/rmmod)
#   -c  the test client module, insmod'ed right after it (needs -m)
#   -P  a directory of peer modules (peer-modules.sh: NAME.ko and
#       modules.order) and their peers.conf ("NAME PARAMETERS..." lines),
#       loaded after the module and the client, unloaded before them
#   -t  a test program or script, run in the given order
#   -T  time limit of each program (default 300 s)
#   -f  an extra file; DEST defaults to /ksalloc/extra/<name of SRC>
#   -e  an environment variable for the test programs (e.g. KSA_FUZZ_CALLS)
#   -u  userland mode: the guest mounts this machine's root read-only over
#       virtio-9p (vm-run.sh -H) at /host and runs each -t PROGRAM, a path
#       on this machine, chrooted there in the environment of
#       `userland.sh env` and the -e variables (GST_REGISTRY: the guest's
#       copy of $BUILD/userland/gst-registry.bin, if that exists); nothing
#       of the programs is copied
#   -B  the modules that mount needs (peer-modules.sh's layout: the 9p
#       set of userland.sh), loaded first and never unloaded
# EXTRA_FILES (environment, space separated SRC[:DEST]) adds more -f files,
# e.g. test modules that a test script loads itself.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

out= module= client= peers= timeout=300 userland= bootmods=
tests=() extras=() envs=()
while getopts 'o:m:c:P:T:t:f:e:uB:' opt; do
	case $opt in
	o) out=$OPTARG ;;
	m) module=$OPTARG ;;
	c) client=$OPTARG ;;
	P) peers=$OPTARG ;;
	T) timeout=$OPTARG ;;
	t) tests+=("$OPTARG") ;;
	f) extras+=("$OPTARG") ;;
	e) [[ $OPTARG =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "initramfs.sh: -e wants NAME=VALUE, not '$OPTARG'"
	   envs+=("$OPTARG") ;;
	u) userland=1 ;;
	B) bootmods=$OPTARG ;;
	*) die "usage: initramfs.sh -o OUT [-m KO] [-c KO] [-P DIR] [-T S] [-t PROG]... [-f SRC[:DEST]]... [-e NAME=VALUE]..." ;;
	esac
done
[[ -n $out ]] || die "initramfs.sh: -o OUT is required"
[[ -z $client || -n $module ]] || die "initramfs.sh: -c needs -m"
[[ -z $peers || -f $peers/modules.order ]] || die "initramfs.sh: no $peers/modules.order"
[[ -z $bootmods || -f $bootmods/modules.order ]] || die "initramfs.sh: no $bootmods/modules.order"
[[ -z $userland || -n $bootmods ]] || die "initramfs.sh: -u needs -B (the 9p modules)"
read -r -a more <<<"${EXTRA_FILES-}"
extras+=("${more[@]}")

BUSYBOX=${BUSYBOX:-/bin/busybox}
if [[ ! -x $BUSYBOX ]] || ldd "$BUSYBOX" >/dev/null 2>&1; then
	"$ROOT/scripts/deps.sh" busybox-static cpio
	[[ -x $BUSYBOX ]] && ! ldd "$BUSYBOX" >/dev/null 2>&1 ||
		die "$BUSYBOX is not a static busybox"
fi
command -v cpio >/dev/null || "$ROOT/scripts/deps.sh" cpio

stage=$(mktemp -d "${TMPDIR:-/tmp}/ksa-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,ksalloc/tests}
cp "$BUSYBOX" "$stage/bin/busybox"
# The kernel opens /dev/console for /init before devtmpfs is mounted
# (without root, /init reopens it after mounting devtmpfs instead).
mknod -m 0600 "$stage/dev/console" c 5 1 2>/dev/null || true
cp "$ROOT/scripts/guest-init.sh" "$stage/init"
chmod 0755 "$stage/init"

{
	printf 'KSA_TEST_TIMEOUT=%s\n' "$timeout"
	if [[ -n $module ]]; then
		[[ -f $module ]] || die "no module $module"
		cp "$module" "$stage/ksalloc/ksalloc.ko"
		printf 'KSA_MODULE=/ksalloc/ksalloc.ko\n'
	else
		printf 'KSA_MODULE=\n'
	fi
	if [[ -n $client ]]; then
		[[ -f $client ]] || die "no module $client"
		cp "$client" "$stage/ksalloc/ksalloc_client.ko"
		printf 'KSA_CLIENT=/ksalloc/ksalloc_client.ko\n'
	else
		printf 'KSA_CLIENT=\n'
	fi
	for e in "${envs[@]}"; do
		printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"
	done
	printf 'KSA_USERLAND=%s\n' "$userland"
	[[ -z $userland ]] || printf 'KSA_GST_REGISTRY=%q\n' "$BUILD/userland/gst-registry.bin"
} >"$stage/ksalloc/config"

# The environment of the chrooted programs (userland mode), for sh's ".":
# NAME='VALUE' lines.
if [[ -n $userland ]]; then
	mapfile -t uenv < <("$ROOT/scripts/userland.sh" env)
	for e in "${uenv[@]}" "${envs[@]}"; do
		v=${e#*=}
		printf "%s='%s'\n" "${e%%=*}" "${v//\'/\'\\\'\'}"
	done >"$stage/ksalloc/chroot.env"
fi

# copy_mods DIR NAME: a peer-modules.sh directory to /ksalloc/NAME
copy_mods() {
	mkdir -p "$stage/ksalloc/$2"
	cp "$1"/modules.order "$stage/ksalloc/$2/"
	[[ ! -f $1/peers.conf ]] || cp "$1/peers.conf" "$stage/ksalloc/$2/"
	while IFS= read -r m; do
		[[ -n $m ]] && cp "$1/$m.ko" "$stage/ksalloc/$2/"
	done <"$1/modules.order"
}
[[ -z $peers ]] || copy_mods "$peers" peers
[[ -z $bootmods ]] || copy_mods "$bootmods" boot

: >"$stage/ksalloc/tests.list"
for t in "${tests[@]}"; do
	[[ -f $t ]] || die "no test program $t"
	if [[ -n $userland ]]; then
		# seen at the same path in the guest's chroot
		[[ $t == /* && -x $t ]] || die "userland test program $t: not an absolute path of an executable"
		printf '%s\n' "$t" >>"$stage/ksalloc/tests.list"
		continue
	fi
	cp "$t" "$stage/ksalloc/tests/"
	chmod 0755 "$stage/ksalloc/tests/${t##*/}"
	printf '%s\n' "${t##*/}" >>"$stage/ksalloc/tests.list"
done

for e in "${extras[@]}"; do
	src=${e%%:*}
	dest=/ksalloc/extra/${src##*/}
	[[ $e == *:* ]] && dest=${e#*:}
	[[ -e $src ]] || die "no extra file $src"
	mkdir -p "$stage$(dirname "$dest")"
	cp -a "$src" "$stage$dest"
done

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0) >"$out.tmp"
mv -f "$out.tmp" "$out"
