#!/bin/bash
# make deb: the Debian packages of debian/ (ksalloc-dkms, libksalloc0,
# libksalloc-dev, ksalloc-tools), built with dpkg-buildpackage -us -uc -b
# from a copy of the tree in $BUILD/deb/src (dpkg-buildpackage writes its
# results into the parent directory: $BUILD/deb), then checked with
# lintian, which must report no error and no warning.
#
# Installs what it needs when it is missing (scripts/deps.sh; no kernel
# package): dpkg-dev, debhelper, dh-dkms and lintian. The copy holds what
# git tracks and what it would track (no build products, no build/); in
# a tree without git, everything but .git, build/ and what .gitignore names.
#
# Output: the build log in $BUILD/deb/build.log, lintian's in
# $BUILD/deb/lintian.log (shown); the packages' paths, one a line, in
# $BUILD/deb/debs. Exit 0, or 1 if the build failed or lintian complained.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

OUT=$BUILD/deb
SRC=$OUT/src

"$ROOT/scripts/deps.sh" make gcc libc6-dev dpkg-dev debhelper dh-dkms lintian

cd "$ROOT"
ver=$(dpkg-parsechangelog -l debian/changelog -S Version)
[[ $ver == "$(cat VERSION)" ]] ||
	die "deb: debian/changelog is at $ver, VERSION says $(cat VERSION): add a changelog entry (dch -v)"

rm -rf "$OUT"
mkdir -p "$SRC"
if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			[[ -e $f || -L $f ]] && printf '%s\0' "$f"
		done | tar -C "$ROOT" --null -T - -cf - | tar -C "$SRC" -xf -
else
	tar -C "$ROOT" --exclude=./build --exclude-vcs --exclude-vcs-ignores -cf - . |
		tar -C "$SRC" -xf -
fi

t0=$SECONDS
msg "deb: dpkg-buildpackage -us -uc -b in $SRC (log: $OUT/build.log)"
# The package's build takes its flags from dpkg-buildflags alone, and
# its directories from debian/rules (BUILD is the outer tree's).
if ! (cd "$SRC" && env -u BUILD -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	-u CFLAGS -u CPPFLAGS -u CXXFLAGS -u LDFLAGS \
	dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1; then
	tail -n 40 "$OUT/build.log" >&2
	die "deb: dpkg-buildpackage failed (log: $OUT/build.log)"
fi
changes=$(ls "$OUT"/ksalloc_"$ver"_*.changes)
# The packages the .changes lists (dbgsym packages too)
sed -n '/^Files:/,/^[^ ]/s/^ [0-9a-f]\{32\} [0-9]\+ [^ ]\+ [^ ]\+ \(.*\.d\?deb\)$/\1/p' "$changes" |
	sed "s|^|$OUT/|" >"$OUT/debs"
msg "deb: built in $((SECONDS - t0)) s:"
sed 's|^.*/|  |' "$OUT/debs" >&2

t0=$SECONDS
rc=0
lintian --fail-on error,warning --display-info "$changes" >"$OUT/lintian.log" 2>&1 || rc=$?
msg "deb: lintian $(lintian --version | awk '{print $2}') on $(basename "$changes") ($((SECONDS - t0)) s):"
if [[ -s $OUT/lintian.log ]]; then
	sed 's/^/  /' "$OUT/lintian.log" >&2
else
	msg "  (no tags)"
fi
((rc == 0)) || die "deb: lintian reported errors or warnings (exit $rc)"
cat "$OUT/debs"
