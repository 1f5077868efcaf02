#!/bin/bash
# A Debian build root under $KSA_CACHE/roots/<suite>, made once with
# debootstrap from Debian's archive and refreshed when packages are
# missing, for what this machine cannot or must not do itself: Debian
# sid's kernel headers need sid's compiler (gcc-16) and C library (sid);
# the packages of make deb are installed, and their DKMS module built
# against installed kernel headers, as on a user's Debian 12 machine
# (bookworm, with bookworm-updates and bookworm-security). Nothing of it
# is installed on this machine; the root is a directory, used with chroot
# in a mount namespace of its own (lib.sh in_root), so no mount outlives a
# command.
#
# Usage: scripts/buildroot.sh SUITE [PKG...]
#   makes sure the root of SUITE (sid or bookworm) exists and has the base
#   packages (make, gcc, sparse, kmod, xz-utils, pahole) and PKG..., then prints
#   its directory. Needs root (debootstrap, chroot).
#
# Debian's archive may serve sid with a Release file past its Valid-Until
# date. apt refuses such a file; the package lists of this root are then
# fetched once more with the date check off, but only when apt's only
# complaint is exactly that, and the log says so.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

suite=${1:?usage: buildroot.sh SUITE [PKG...]}
shift
case $suite in
sid | bookworm) ;;
*) die "buildroot: unknown suite '$suite' (known: sid, bookworm)" ;;
esac
MIRROR=${KSA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${KSA_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
# pahole: the BTF of a module, when the headers ship vmlinux (6.12 and 7.2)
BASE_PKGS=(make gcc sparse kmod xz-utils ca-certificates pahole)
dir=$KSA_CACHE/roots/$suite
log=$KSA_CACHE/roots/$suite.log

[[ $(id -u) == 0 ]] || die "buildroot: needs root (debootstrap and chroot)"

missing() {
	local p
	for p in "$@"; do
		[[ $(chroot "$dir" dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] ||
			printf '%s\n' "$p"
	done
}

apt_update() {
	local out rc=0
	out=$(in_root "$dir" - apt-get update 2>&1) || rc=$?
	printf '%s\n' "$out" >>"$log"
	# apt-get update exits 0 even when it kept no list of an expired
	# suite: look at what it said.
	if ! grep -q '^E: ' <<<"$out" && ((rc == 0)); then
		return 0
	fi
	if [[ $(grep '^E: ' <<<"$out" | grep -vc 'Release file for .* is expired') == 0 ]] &&
		grep -q '^E: Release file for .* is expired' <<<"$out"; then
		msg "buildroot: $suite: $(grep -m1 '^E: Release file' <<<"$out" | sed 's/^E: //')"
		msg "buildroot: $suite: accepting the expired Release file for this root's package lists (apt's only complaint)"
		out=$(in_root "$dir" - apt-get update -o Acquire::Check-Valid-Until=false 2>&1) || rc=$?
		printf '%s\n' "$out" >>"$log"
		if ! grep -q '^E: ' <<<"$out"; then
			touch "$dir/.lists-fetched"
			return 0
		fi
	fi
	grep '^E: ' <<<"$out" >&2 || true
	die "buildroot: apt-get update failed in $dir (log: $log)"
}

install_pkgs() {
	local todo
	mapfile -t todo < <(missing "$@")
	((${#todo[@]})) || return 0
	# Lists younger than a day are reused; a package not in them
	# (a new kernel ABI) makes the retry fetch them again.
	if [[ ! -f $dir/.lists-fetched || -n $(find "$dir/.lists-fetched" -mmin +1440) ]]; then
		apt_update
		touch "$dir/.lists-fetched"
	fi
	msg "buildroot: $suite: installing ${todo[*]}"
	if ! in_root "$dir" - env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${todo[@]}" >>"$log" 2>&1; then
		apt_update
		touch "$dir/.lists-fetched"
		in_root "$dir" - env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${todo[@]}" >>"$log" 2>&1 ||
			{ tail -n 20 "$log" >&2; die "buildroot: installing ${todo[*]} in $dir failed (log: $log)"; }
	fi
}

make_root() {
	local t0=$SECONDS
	command -v debootstrap >/dev/null || "$ROOT/scripts/deps.sh" debootstrap
	msg "buildroot: creating the $suite build root in $dir (debootstrap, about a minute and 100 MB)"
	rm -rf "$dir.new"
	if ! debootstrap --variant=minbase --include="$(IFS=,; echo "${BASE_PKGS[*]}")" \
		"$suite" "$dir.new" "$MIRROR" >>"$log" 2>&1; then
		tail -n 20 "$log" >&2
		rm -rf "$dir.new"
		die "buildroot: debootstrap $suite failed (log: $log)"
	fi
	# A stable suite's kernels come with its point releases and security
	# updates (Debian 12's newest 6.1 headers are in bookworm-security).
	if [[ $suite != sid ]]; then
		cat >"$dir.new/etc/apt/sources.list" <<-EOF
		deb $MIRROR $suite main
		deb $MIRROR $suite-updates main
		deb $SECURITY_MIRROR $suite-security main
		EOF
	fi
	# Package caches are not kept: the root is for building, not a mirror.
	rm -f "$dir.new"/var/cache/apt/archives/*.deb
	mv "$dir.new" "$dir"
	msg "buildroot: $suite root made in $((SECONDS - t0)) s"
}

ensure() {
	[[ -x $dir/usr/bin/apt-get ]] || make_root
	install_pkgs "${BASE_PKGS[@]}" "$@"
	in_root "$dir" - apt-get clean >/dev/null 2>&1 || true
}

mkdir -p "$KSA_CACHE/roots"
with_lock "$KSA_CACHE/roots/$suite.lock" ensure "$@"
printf '%s\n' "$dir"
