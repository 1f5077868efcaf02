#!/bin/bash
# Resolve a kernel name to a Debian kernel, installing it when missing.
#
# Usage: scripts/kernel.sh NAME [--headers-only]
#        scripts/kernel.sh default-kdir [--install]
#
# NAME is 6.1, 6.12 or 6.12-rt. The newest version that is installed or
# available from the package lists is chosen; if its headers are not
# installed, its headers package is. The VM only needs the kernel image:
# /boot/vmlinuz-KVER if that kernel is installed, else the vmlinuz taken
# out of the image package into ${KSA_CACHE:-~/.cache/ksalloc}/kernels/
# (downloaded, never installed: installing a kernel package would add it
# to this machine's boot menu, and make it the default).
# NAME debug is the debug test kernel of scripts/debug-kernel.sh (KASAN,
# lockdep, kmemleak, fault injection), built once and cached: KHDR is its
# O= tree, and it also prints what its slower VM needs (see below).
# Prints, for eval:
#   KVER=6.1.0-56-amd64
#   VMLINUZ=/boot/vmlinuz-6.1.0-56-amd64      (or the cached one; empty
#                                             with --headers-only)
#   KHDR=/usr/src/linux-headers-6.1.0-56-amd64
# and for debug only, each overridable from the environment:
#   KMEM=2048M           VM memory (DEBUG_MEM)
#   KVM_TIMEOUT=1800     seconds before the VM is killed (DEBUG_VM_TIMEOUT)
#   KTEST_TIMEOUT=900    seconds per test program (DEBUG_TEST_TIMEOUT)
#   KGUEST_ENV="..."     NAME=VALUE words for the test programs: the
#                        fuzzer's call count (DEBUG_FUZZ_CALLS)
#
# default-kdir prints the directory `make` builds against when KDIR is not
# given: /lib/modules/$(uname -r)/build if it exists, else the newest
# /usr/src/linux-headers-*-amd64 (no -rt); with --install, installs
# linux-headers-amd64 when there is none.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

newest_headers() {
	local d
	for d in /usr/src/linux-headers-*-amd64; do
		if [[ -f $d/Makefile && $d != *-rt-amd64 ]]; then
			printf '%s\n' "$d"
		fi
	done | sort -V | tail -n 1
}

default_kdir() {
	local d=/lib/modules/$(uname -r)/build
	if [[ -f $d/Makefile ]]; then
		printf '%s\n' "$d"
		return
	fi
	d=$(newest_headers)
	if [[ -z $d && ${1-} == --install ]]; then
		"$ROOT/scripts/deps.sh" linux-headers-amd64
		d=$(newest_headers)
		[[ -n $d ]] || die "no kernel headers under /usr/src after installing linux-headers-amd64"
	fi
	printf '%s\n' "$d"
}

if [[ ${1-} == default-kdir ]]; then
	default_kdir "${2-}"
	exit 0
fi

name=${1:?usage: kernel.sh NAME [--headers-only]}
headers_only=
[[ ${2-} == --headers-only ]] && headers_only=1

if [[ $name == debug ]]; then
	# Builds it the first time (about 28 min on 2 cores, progress on stderr).
	dir=$("$ROOT/scripts/debug-kernel.sh") || die "the debug kernel did not build"
	rel=$(cat "$dir/out/include/config/kernel.release") ||
		die "no kernel.release in $dir/out"
	printf 'KVER=%q\n' "debug-$rel"
	printf 'VMLINUZ=%q\n' "$dir/bzImage"
	printf 'KHDR=%q\n' "$dir/out"
	# KASAN, lockdep and kmemleak under TCG: 5-10 times slower, and
	# KASAN's shadow takes an eighth of the memory.
	printf 'KMEM=%q\n' "${DEBUG_MEM:-2048M}"
	printf 'KVM_TIMEOUT=%q\n' "${DEBUG_VM_TIMEOUT:-1800}"
	printf 'KTEST_TIMEOUT=%q\n' "${DEBUG_TEST_TIMEOUT:-900}"
	printf 'KGUEST_ENV=%q\n' "KSA_FUZZ_CALLS=${DEBUG_FUZZ_CALLS:-300000}"
	exit 0
fi

# kver_re: the version (uname -r) of every kernel the name stands for;
# img_fmt: the name of its image package.
case $name in
6.1)     kver_re='6\.1\.0-[0-9]+-amd64';            img_fmt='linux-image-%s' ;;
6.12)    kver_re='6\.12\.[0-9]+\+deb12-amd64';      img_fmt='linux-image-%s-unsigned' ;;
6.12-rt) kver_re='6\.12\.[0-9]+\+deb12-rt-amd64';   img_fmt='linux-image-%s-unsigned' ;;
*) die "unknown kernel name '$name' (known: 6.1 6.12 6.12-rt debug)" ;;
esac

kcache=${KSA_CACHE:-${HOME:-/root}/.cache/ksalloc}/kernels

# The kernel image the VM boots, if this machine has it
vmlinuz() {
	local f
	for f in "/boot/vmlinuz-$1" "$kcache/vmlinuz-$1"; do
		if [[ -s $f ]]; then
			printf '%s\n' "$f"
			return 0
		fi
	done
	return 1
}

is_installed() {
	[[ -f /usr/src/linux-headers-$1/Makefile ]] || return 1
	[[ -n $headers_only ]] || vmlinuz "$1" >/dev/null
}

# Download the image package of $1 and keep only its vmlinuz
fetch_vmlinuz() {
	local kver=$1 pkg tmp deb
	pkg=$(printf "$img_fmt" "$kver")
	mkdir -p "$kcache"
	tmp=$(mktemp -d "$kcache/.fetch.XXXXXX")
	msg "kernel: downloading $pkg for its vmlinuz (not installed)"
	# apt's sandbox user must be able to write there
	chmod 0755 "$tmp"
	if ! (cd "$tmp" && apt-get download -qq "$pkg") >"$tmp/log" 2>&1; then
		cat "$tmp/log" >&2
		rm -rf "$tmp"
		die "could not download $pkg"
	fi
	deb=$(ls "$tmp"/*.deb)
	if ! dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./boot/vmlinuz-$kver" >"$tmp/vmlinuz" || [[ ! -s $tmp/vmlinuz ]]; then
		rm -rf "$tmp"
		die "no boot/vmlinuz-$kver in $pkg"
	fi
	mv "$tmp/vmlinuz" "$kcache/vmlinuz-$kver"
	rm -rf "$tmp"
}

installed() {
	local f v
	for f in /usr/src/linux-headers-*; do
		v=${f#/usr/src/linux-headers-}
		[[ $v =~ ^$kver_re$ ]] && is_installed "$v" && printf '%s\n' "$v"
	done
	return 0
}

available() {
	local pfx=linux-headers- sfx=
	if [[ -z $headers_only ]]; then
		pfx=${img_fmt%%%s*}
		sfx=${img_fmt#*%s}
	fi
	apt-cache pkgnames "$pfx" 2>/dev/null | grep -E "^${pfx}${kver_re}${sfx}\$" |
		sed -E "s/^${pfx}//; s/${sfx}\$//" || true
}

newest() { sort -V | tail -n 1; }

kver=$( { installed; available; } | newest)
if [[ -z $kver ]] || ! is_installed "$kver"; then
	"$ROOT/scripts/deps.sh" --update
	kver=$( { installed; available; } | newest)
	[[ -n $kver ]] || die "no package found for kernel $name"
	"$ROOT/scripts/deps.sh" "linux-headers-$kver"
	[[ -n $headers_only ]] || vmlinuz "$kver" >/dev/null || fetch_vmlinuz "$kver"
	is_installed "$kver" || die "kernel $kver still incomplete"
fi

printf 'KVER=%q\n' "$kver"
if [[ -n $headers_only ]]; then
	printf 'VMLINUZ=\n'
else
	printf 'VMLINUZ=%q\n' "$(vmlinuz "$kver")"
fi
printf 'KHDR=%q\n' "/usr/src/linux-headers-$kver"
