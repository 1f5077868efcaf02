#!/bin/bash
# Debian's linux-source-6.1 tarball, kept in $KSA_CACHE/src (downloaded,
# not installed), for the files ksalloc takes from it: the selftest harness,
# checkpatch, kernel-doc, and the 6.1 debug kernel's source.
#
# Usage: scripts/ksrc.sh        prints "TARBALL VERSION"
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKG=linux-source-6.1
dir=$KSA_CACHE/src
tarball=$dir/$PKG.tar.xz

fetch() {
	local tmp deb
	[[ ! -s $tarball || ! -s $tarball.version ]] || return 0
	[[ $(id -u) == 0 ]] || die "ksrc: $tarball is fetched as root the first time"
	if ! apt-cache show "$PKG" >/dev/null 2>&1; then
		"$ROOT/scripts/deps.sh" --update
	fi
	tmp=$(mktemp -d "$dir/.fetch.XXXXXX")
	chmod 0755 "$tmp"
	msg "ksrc: downloading $PKG (not installed) into $dir"
	if ! (cd "$tmp" && apt-get download -qq "$PKG") >"$tmp/log" 2>&1; then
		cat "$tmp/log" >&2
		rm -rf "$tmp"
		die "ksrc: could not download $PKG"
	fi
	deb=$(ls "$tmp"/*.deb)
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$PKG.tar.xz" >"$tmp/t.tar.xz" ||
		die "ksrc: no usr/src/$PKG.tar.xz in $deb"
	dpkg-deb -f "$deb" Version >"$tarball.version"
	mv "$tmp/t.tar.xz" "$tarball"
	rm -rf "$tmp"
}

mkdir -p "$dir"
with_lock "$dir/.lock" fetch
printf '%s %s\n' "$tarball" "$(cat "$tarball.version")"
