#!/bin/bash
# Resolve a kernel name to a Debian kernel, and fetch it into the cache.
#
# Usage: scripts/kernel.sh NAME [--headers-only]
#        scripts/kernel.sh default-kdir
#        scripts/kernel.sh list
#
# Names: 6.1, 6.12, 6.12-rt (Debian 12 and its security updates), 7.2,
# 7.2-rt (Debian sid), sid and sid-rt (the newest kernel Debian sid has,
# whatever its version), debug (the debug kernel of debug-kernel.sh). The
# newest version of a name that is cached or available is chosen.
#
# Nothing is installed on this machine: a kernel package would put the
# kernel in the boot menu, and Debian's 6.12 headers pull in the image.
# Each kernel is a tree in $KSA_CACHE/kernels/<version>/tree, unpacked
# from its Debian packages with dpkg-deb -x: the image (vmlinuz and the
# modules the tests load, indexed with depmod) and, for Debian 12's
# kernels, the headers with their kbuild tools, which this machine's
# compiler builds against. Debian sid's headers need sid's compiler and C
# library, so they are installed in the sid build root (buildroot.sh)
# instead, and kbuild runs there (KROOT).
#
# Prints, for eval:
#   KNAME=6.12  KVER=6.12.117+deb12-amd64  KDIST=bookworm
#   VMLINUZ=...             the kernel the VM boots (empty: --headers-only)
#   KMODS=.../lib/modules/<version>   its modules, with modules.dep
#                                     (empty: --headers-only)
#   KHDR=...                the headers kbuild builds against
#   KROOT=...               the build root kbuild runs in (empty: here)
# and for debug only, each overridable from the environment:
#   KMEM=2048M           VM memory (DEBUG_MEM)
#   KVM_TIMEOUT=1800     seconds before the VM is killed (DEBUG_VM_TIMEOUT)
#   KTEST_TIMEOUT=900    seconds per test program (DEBUG_TEST_TIMEOUT)
#   KGUEST_ENV="..."     NAME=VALUE words for the test programs: the
#                        fuzzer's call count (DEBUG_FUZZ_CALLS)
# A name that resolves to a version is reported on stderr
# ("kernel: sid is 7.2.13+deb14-amd64").
#
# default-kdir prints the headers `make` builds against when KDIR is not
# given: /lib/modules/$(uname -r)/build if it exists, else the cached 6.1
# tree's (fetched if needed).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KNAMES="6.1 6.12 6.12-rt 7.2 7.2-rt sid sid-rt debug"

if [[ ${1-} == list ]]; then
	echo "$KNAMES"
	exit 0
fi
if [[ ${1-} == default-kdir ]]; then
	d=/lib/modules/$(uname -r)/build
	if [[ -f $d/Makefile ]]; then
		printf '%s\n' "$d"
		exit 0
	fi
	eval "$("$0" 6.1 --headers-only)"
	printf '%s\n' "$KHDR"
	exit 0
fi

name=${1:?usage: kernel.sh NAME [--headers-only]}
headers_only=
[[ ${2-} == --headers-only ]] && headers_only=1

if [[ $name == debug ]]; then
	# Builds it the first time (progress on stderr).
	dir=$("$ROOT/scripts/debug-kernel.sh") || die "the debug kernel did not build"
	# shellcheck disable=SC1091
	. "$dir/info"
	printf 'KNAME=debug\nKVER=%q\nKDIST=debug\n' "debug-$DBG_RELEASE"
	printf 'VMLINUZ=%q\n' "$dir/bzImage"
	printf 'KMODS=%q\n' "$dir/modroot/lib/modules/$DBG_RELEASE"
	printf 'KHDR=%q\n' "$DBG_KHDR"
	printf 'KROOT=%q\n' "$DBG_KROOT"
	# KASAN, lockdep and kmemleak under TCG: 5-10 times slower, and
	# KASAN's shadow takes an eighth of the memory.
	printf 'KMEM=%q\n' "${DEBUG_MEM:-2048M}"
	printf 'KVM_TIMEOUT=%q\n' "${DEBUG_VM_TIMEOUT:-1800}"
	printf 'KTEST_TIMEOUT=%q\n' "${DEBUG_TEST_TIMEOUT:-900}"
	printf 'KGUEST_ENV=%q\n' "KSA_FUZZ_CALLS=${DEBUG_FUZZ_CALLS:-300000}"
	exit 0
fi

# kver_re: the version (uname -r) of every kernel the name stands for
case $name in
6.1)     dist=bookworm kver_re='6\.1\.0-[0-9]+-amd64' ;;
6.12)    dist=bookworm kver_re='6\.12\.[0-9]+\+deb12-amd64' ;;
6.12-rt) dist=bookworm kver_re='6\.12\.[0-9]+\+deb12-rt-amd64' ;;
7.2)     dist=sid kver_re='7\.2\.[0-9]+\+deb[0-9]+-amd64' ;;
7.2-rt)  dist=sid kver_re='7\.2\.[0-9]+\+deb[0-9]+-rt-amd64' ;;
sid)     dist=sid kver_re='[0-9]+\.[0-9]+\.[0-9]+\+deb[0-9]+-amd64' ;;
sid-rt)  dist=sid kver_re='[0-9]+\.[0-9]+\.[0-9]+\+deb[0-9]+-rt-amd64' ;;
*) die "unknown kernel name '$name' (known: $KNAMES)" ;;
esac

[[ $(id -u) == 0 ]] || [[ -d $KSA_CACHE/kernels ]] ||
	die "kernel.sh: the kernels are fetched as root the first time (apt-get download, chroot)"

sidroot=
if [[ $dist == sid ]]; then
	sidroot=$("$ROOT/scripts/buildroot.sh" sid)
fi

# apt-cache / apt-get of the kernel's own distribution
dist_apt() {
	if [[ $dist == sid ]]; then
		in_root "$sidroot" - "$@"
	else
		"$@"
	fi
}

kdir_of() { printf '%s\n' "$KSA_CACHE/kernels/$1"; }

cached() {
	local d v
	for d in "$KSA_CACHE"/kernels/*/; do
		v=$(basename "$d")
		[[ $v =~ ^$kver_re$ && -f $d/.image-done ]] || continue
		if [[ $dist == sid ]]; then
			[[ -f $sidroot/usr/src/linux-headers-$v/Makefile ]] || continue
		else
			[[ -f $d/.headers-done ]] || continue
		fi
		printf '%s\n' "$v"
	done
	return 0
}

available() {
	dist_apt apt-cache pkgnames linux-headers- 2>/dev/null |
		sed -nE "s/^linux-headers-($kver_re)\$/\\1/p" || true
}

newest() { sort -V | tail -n 1; }

# download DIR PKG...: the .deb files of PKG... into DIR
download() {
	local dir=$1
	shift
	if [[ $dist == sid ]]; then
		# (under the root's lock: buildroot.sh may be refreshing its lists)
		with_lock "$KSA_CACHE/roots/sid.lock" in_root "$sidroot" "$dir" \
			/bin/sh -c 'cd "$1" && shift && apt-get download -qq "$@"' download "$dir" "$@"
	else
		# apt's sandbox user must be able to write there
		chmod 0755 "$dir"
		(cd "$dir" && apt-get download -qq "$@")
	fi
}

# unpack DIR KD: every .deb of DIR (a directory inside KD) into KD/tree
unpack() {
	local deb
	mkdir -p "$2/tree"
	for deb in "$1"/*.deb; do
		if [[ $dist == sid ]]; then
			in_root "$sidroot" "$2" dpkg-deb -x "$deb" "$2/tree"
		else
			dpkg-deb -x "$deb" "$2/tree"
		fi
	done
}

# The packages of the headers: the headers, their common part and kbuild
# (the first alternative of each Depends entry that is one of those).
headers_pkgs() {
	local kver=$1
	printf '%s\n' "linux-headers-$kver"
	dist_apt apt-cache show "linux-headers-$kver" 2>/dev/null |
		sed -n '0,/^Depends:/s/^Depends: //p' | tr ',' '\n' |
		sed -E 's/^ *//; s/[ (|].*//' | grep -E '^linux-(headers-.*-common(-rt)?|kbuild-.*)$' || true
}

# The packages of vmlinuz and the modules
image_pkgs() {
	local kver=$1 p
	if [[ $dist == sid ]]; then
		printf '%s\n' "linux-binary-$kver" "linux-modules-$kver" "linux-base-$kver"
		return
	fi
	for p in "linux-image-$kver-unsigned" "linux-image-$kver"; do
		if apt-cache show "$p" >/dev/null 2>&1; then
			printf '%s\n' "$p"
			return
		fi
	done
	die "no image package for $kver"
}

# fetch_part KVER PART: download and unpack the headers or the image of
# KVER into its tree, once (a stamp names the packages).
fetch_part() {
	local kver=$1 part=$2 kd tmp pkgs
	kd=$(kdir_of "$kver")
	[[ ! -f $kd/.$part-done ]] || return 0
	mkdir -p "$kd"
	if [[ $part == headers ]]; then
		mapfile -t pkgs < <(headers_pkgs "$kver")
		((${#pkgs[@]} >= 3)) || die "kernel: cannot tell the header packages of $kver (${pkgs[*]})"
	else
		mapfile -t pkgs < <(image_pkgs "$kver")
	fi
	tmp=$(mktemp -d "$kd/.fetch.XXXXXX")
	msg "kernel: fetching ${pkgs[*]} into $kd (unpacked, not installed)"
	if ! download "$tmp" "${pkgs[@]}" >"$tmp.log" 2>&1; then
		cat "$tmp.log" >&2
		rm -rf "$tmp" "$tmp.log"
		die "could not download ${pkgs[*]}"
	fi
	unpack "$tmp" "$kd"
	rm -rf "$tmp" "$tmp.log"
	if [[ $part == headers ]]; then
		# The headers include their common part by its absolute path.
		sed -i "s|^include /usr/src/|include $kd/tree/usr/src/|" \
			"$kd/tree/usr/src/linux-headers-$kver/Makefile"
		grep -q "^include $kd/tree/usr/src/" "$kd/tree/usr/src/linux-headers-$kver/Makefile" ||
			die "kernel: unexpected Makefile in the headers of $kver"
	else
		# sid's packages keep modules in /usr/lib/modules
		if [[ ! -d $kd/tree/lib/modules/$kver && -d $kd/tree/usr/lib/modules/$kver ]]; then
			mkdir -p "$kd/tree/lib"
			ln -sfn ../usr/lib/modules "$kd/tree/lib/modules"
		fi
		[[ -d $kd/tree/lib/modules/$kver/kernel ]] || die "kernel: no modules in the packages of $kver"
		command -v depmod >/dev/null || "$ROOT/scripts/deps.sh" kmod
		depmod -b "$kd/tree" "$kver" || die "kernel: depmod of $kver failed"
	fi
	printf '%s\n' "${pkgs[@]}" >"$kd/.$part-done"
}

vmlinuz_of() {
	local kd f
	kd=$(kdir_of "$1")
	for f in "$kd/tree/boot/vmlinuz-$1" "$kd/tree/usr/lib/modules/$1/vmlinuz" \
		"$kd/tree/lib/modules/$1/vmlinuz"; do
		if [[ -s $f ]]; then
			printf '%s\n' "$f"
			return 0
		fi
	done
	die "kernel: no vmlinuz in the packages of $1"
}

fetch() {
	local kver=$1
	if [[ $dist == sid ]]; then
		"$ROOT/scripts/buildroot.sh" sid "linux-headers-$kver" >/dev/null
	else
		fetch_part "$kver" headers
	fi
	[[ -n $headers_only ]] || fetch_part "$kver" image
}

resolve() {
	kver=$( { cached; available; } | newest)
	if [[ -z $kver && $dist == bookworm ]]; then
		"$ROOT/scripts/deps.sh" --update
		kver=$( { cached; available; } | newest)
	fi
	[[ -n $kver ]] || die "no package found for kernel $name"
	mkdir -p "$KSA_CACHE/kernels"
	with_lock "$KSA_CACHE/kernels/$kver.lock" fetch "$kver"
}
resolve
[[ $name == sid* ]] && msg "kernel: $name is $kver"

printf 'KNAME=%q\nKVER=%q\nKDIST=%q\n' "$name" "$kver" "$dist"
if [[ -n $headers_only ]]; then
	printf 'VMLINUZ=\nKMODS=\n'
else
	printf 'VMLINUZ=%q\n' "$(vmlinuz_of "$kver")"
	printf 'KMODS=%q\n' "$(kdir_of "$kver")/tree/lib/modules/$kver"
fi
if [[ $dist == sid ]]; then
	printf 'KHDR=%q\nKROOT=%q\n' "/usr/src/linux-headers-$kver" "$sidroot"
else
	printf 'KHDR=%q\nKROOT=\n' "$(kdir_of "$kver")/tree/usr/src/linux-headers-$kver"
fi
