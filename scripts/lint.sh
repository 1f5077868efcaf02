#!/bin/bash
# make lint: checkpatch --strict on the module, test client and uapi
# sources, and W=1 C=1 (sparse) builds of both modules against the 6.1 and
# 6.12 headers. Any checkpatch message and any compiler, sparse or modpost
# warning fails. The builds run in the background while checkpatch runs.
# Usage: scripts/lint.sh [KERNEL-NAME...]     (default: 6.1 6.12)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

(($#)) || set -- 6.1 6.12
"$ROOT/scripts/deps.sh" make gcc perl sparse
"$ROOT/scripts/ksrc-tools.sh"

LINT=$BUILD/lint
CHECKPATCH=(perl "$BUILD/tools/checkpatch.pl" --strict --no-tree --show-types --terse -f)
rc=0
mkdir -p "$LINT"

# --- W=1 C=1 builds, one per kernel, started first -------------------------
kvers=() pids=()
for name in "$@"; do
	eval "$("$ROOT/scripts/kernel.sh" "$name" --headers-only)"
	rm -rf "${LINT:?}/$KVER"	# a full rebuild: every file compiled and checked
	"$ROOT/scripts/build-module.sh" "$KHDR" "$LINT/$KVER" W=1 C=1 2>"$LINT/$KVER.log" &
	kvers+=("$KVER")
	pids+=($!)
done

# --- checkpatch ---------------------------------------------------------------
shopt -s nullglob
cd "$ROOT"
mod_files=()
for f in module/*.c module/*.h selftests/kmod/*.c selftests/kmod/*.h; do
	[[ $f == *.mod.c ]] || mod_files+=("$f")	# kbuild's generated file
done
uapi_files=(uapi/linux/*.h)

if ((${#mod_files[@]})) && ! "${CHECKPATCH[@]}" "${mod_files[@]}"; then
	msg "lint: checkpatch found problems in module/ or selftests/kmod/"
	rc=1
fi

# checkpatch applies the uapi rules (no __aligned(), ...) to files under
# include/uapi/, so show the uapi headers to it at their in-tree path.
# MACRO_ARG_REUSE is off there: the uapi initializer macros (KSGUID_INIT)
# take constants only.
rm -rf "$LINT/src"
mkdir -p "$LINT/src/include/uapi/linux"
for f in "${uapi_files[@]}"; do
	ln -s "$ROOT/$f" "$LINT/src/include/$f"
done
if ((${#uapi_files[@]})) && ! (cd "$LINT/src" &&
	"${CHECKPATCH[@]}" --ignore MACRO_ARG_REUSE "${uapi_files[@]/#/include/}"); then
	msg "lint: checkpatch found problems in uapi/ (shown as include/uapi/)"
	rc=1
fi

# --- results of the builds ------------------------------------------------------
for i in "${!pids[@]}"; do
	kver=${kvers[$i]}
	log=$LINT/$kver.log
	if ! wait "${pids[$i]}"; then
		cat "$log" >&2
		msg "lint: W=1 C=1 build against $kver failed"
		rc=1
	elif grep -Eiq 'warning:|error:' "$log"; then
		grep -Ei -A3 'warning:|error:' "$log" >&2
		msg "lint: W=1 C=1 build against $kver has warnings (log: $log)"
		rc=1
	fi
done

((rc == 0)) && msg "lint: clean (checkpatch --strict; W=1 C=1 against ${kvers[*]})"
exit $rc
