#!/bin/bash
# make lint: checkpatch --strict on the module, test client and uapi
# sources, and W=1 C=1 (sparse) builds of both modules against every kernel
# of the matrix. Any checkpatch message and any compiler, sparse or modpost
# warning fails, and so does a checker that did not run: checkpatch must
# flag a known-bad canary file, sparse must flag a known-bad canary module
# on each kernel and must have checked every source file of ours
# (build-module.sh --strict).
# Usage: scripts/lint.sh [KERNEL-NAME...]   (default: LINT_KERNELS, else
#                                           6.1 6.12 6.12-rt 7.2 7.2-rt)
# LINT_BUILDS=0 leaves the builds out (make check builds every kernel it
# tests with build-module.sh --strict anyway).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

(($#)) || set -- ${LINT_KERNELS:-6.1 6.12 6.12-rt 7.2 7.2-rt}
LINT_BUILDS=${LINT_BUILDS:-1}
"$ROOT/scripts/deps.sh" make gcc perl sparse
"$ROOT/scripts/ksrc-tools.sh"

LINT=$BUILD/lint
CHECKPATCH=(perl "$BUILD/tools/checkpatch.pl" --strict --no-tree --show-types --terse -f)
rc=0
mkdir -p "$LINT"

# --- checkpatch ---------------------------------------------------------------
shopt -s nullglob
cd "$ROOT"
mod_files=()
for f in module/*.c module/*.h module/*/*.c module/*/*.h selftests/kmod/*.c selftests/kmod/*.h; do
	[[ $f == *.mod.c ]] || mod_files+=("$f")	# kbuild's generated file
done
uapi_files=(uapi/linux/*.h)

# The canary: checkpatch must complain, or it did not really run.
printf '%s\n' '// SPDX-License-Identifier: GPL-2.0' 'int ksa_canary(void){ return  0 ;}' \
	>"$LINT/canary.c"
if "${CHECKPATCH[@]}" "$LINT/canary.c" >"$LINT/canary.checkpatch" 2>&1 ||
	! grep -q 'ERROR' "$LINT/canary.checkpatch"; then
	cat "$LINT/canary.checkpatch" >&2
	msg "lint: checkpatch did not flag its canary: it is not running"
	rc=1
fi

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

# --- W=1 C=1 builds, one per kernel ----------------------------------------------
# The sparse canary: a module sparse must flag (a __user pointer
# dereferenced), built like ours.
canary_module() {
	local d=$1
	rm -rf "$d"
	mkdir -p "$d"
	printf 'obj-m += ksa_canary.o\n' >"$d/Kbuild"
	cat >"$d/ksa_canary.c" <<'EOF'
// SPDX-License-Identifier: GPL-2.0
#include <linux/compiler.h>
#include <linux/module.h>
int ksa_canary(int __user *p);
int ksa_canary(int __user *p) { return *p; }
EXPORT_SYMBOL_GPL(ksa_canary);
MODULE_LICENSE("GPL");
EOF
}

built=()
if [[ $LINT_BUILDS != 0 ]]; then
	for name in "$@"; do
		KROOT=
		if ! info=$("$ROOT/scripts/kernel.sh" "$name" --headers-only); then
			msg "lint: kernel $name is not available"
			rc=1
			continue
		fi
		eval "$info"
		export KROOT
		log=$LINT/$KVER.log
		brc=0
		"$ROOT/scripts/build-module.sh" --strict "$KHDR" "$LINT/$KVER" 2>"$log" || brc=$?
		if ((brc == 3)); then
			grep -Ei -A3 'warning:|error:|did not check' "$log" | head -n 40 >&2
			msg "lint: W=1 C=1 build against $KVER has warnings or unchecked files (log: $log)"
			rc=1
		elif ((brc)); then
			tail -n 40 "$log" >&2
			msg "lint: W=1 C=1 build against $KVER failed"
			rc=1
			continue
		fi
		canary_module "$LINT/$KVER/canary"
		kbuild "$KHDR" "$LINT/$KVER/canary" C=1 KBUILD_CHECKSRC=1 >"$log.canary" 2>&1 || true
		if ! grep -q 'dereference of noderef expression' "$log.canary"; then
			tail -n 20 "$log.canary" >&2
			msg "lint: sparse did not flag its canary against $KVER: it is not running"
			rc=1
			continue
		fi
		built+=("$KVER")
	done
fi

((rc == 0)) && msg "lint: clean (checkpatch --strict; W=1 C=1 with sparse against ${built[*]:-no kernel})"
exit $rc
