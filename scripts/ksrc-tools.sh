#!/bin/bash
# Extract the few files ksalloc takes from Debian's linux-source-6.1 tarball
# (scripts/ksrc.sh; never copied into the repository), once; later calls
# reuse them:
#   $BUILD/ksft/kselftest_harness.h, kselftest.h     the selftest harness
#   $BUILD/tools/checkpatch.pl, spelling.txt,
#                const_structs.checkpatch            make lint
# Usage: scripts/ksrc-tools.sh     (prints nothing; downloads linux-source-6.1
#                                   if the tarball is missing)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TARBALL=${KSRC_TARBALL:-}
TOP=linux-source-6.1
KSFT_FILES=(kselftest_harness.h kselftest.h)
TOOL_FILES=(checkpatch.pl spelling.txt const_structs.checkpatch)

up_to_date() {
	local f
	[[ -f $TARBALL ]] || return 1
	for f in "${KSFT_FILES[@]/#/$BUILD/ksft/}" "${TOOL_FILES[@]/#/$BUILD/tools/}"; do
		[[ -f $f && ! $TARBALL -nt $f ]] || return 1
	done
}

if [[ -z $TARBALL ]]; then
	TARBALL=$("$ROOT/scripts/ksrc.sh") || exit 1
	TARBALL=${TARBALL%% *}
fi
up_to_date && exit 0

mkdir -p "$BUILD"
exec 9>"$BUILD/.ksrc-tools.lock"
flock 9
up_to_date && exit 0		# another make did it while we waited

msg "extracting the selftest harness and checkpatch from $TARBALL"
tmp=$(mktemp -d "$BUILD/.ksrc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -C "$tmp" -xJf "$TARBALL" \
	"${KSFT_FILES[@]/#/$TOP/tools/testing/selftests/}" \
	"${TOOL_FILES[@]/#/$TOP/scripts/}"
mkdir -p "$BUILD/ksft" "$BUILD/tools"
for f in "${KSFT_FILES[@]}"; do
	mv -f "$tmp/$TOP/tools/testing/selftests/$f" "$BUILD/ksft/$f"
done
for f in "${TOOL_FILES[@]}"; do
	mv -f "$tmp/$TOP/scripts/$f" "$BUILD/tools/$f"
done
touch "${KSFT_FILES[@]/#/$BUILD/ksft/}" "${TOOL_FILES[@]/#/$BUILD/tools/}"
