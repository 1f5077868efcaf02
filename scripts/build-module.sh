#!/bin/bash
# Build ksalloc.ko, and the test client ksalloc_client.ko that uses its
# kernel API, against one kernel's headers in a directory of its own, so
# that two kernels never share object files.
#
# Usage: scripts/build-module.sh [--strict] KHDR DEST [KBUILD-ARGS...]
#   KHDR  the kernel's headers (KHDR of kernel.sh; inside the build root
#         KROOT when that is set in the environment)
#   DEST  build directory; the sources are copied to DEST/module, DEST/uapi
#         and DEST/selftests/kmod, and the results are DEST/module/ksalloc.ko
#         and DEST/selftests/kmod/ksalloc_client.ko
#   --strict  a full rebuild with W=1 and sparse (C=1); sparse must really
#         have checked every source file (kbuild's "CHECK" lines: some
#         kernels' headers lack scripts/checker-valid.sh, and kbuild then
#         skips sparse with a mere notice, so KBUILD_CHECKSRC=1 forces it),
#         and any compiler, sparse or modpost warning is reported
# Extra arguments (W=1, C=1, V=1) go to kbuild. The kbuild output is
# written to stderr.
# Exit: 0 built (and clean); 3 built, but --strict found warnings or
# files sparse did not check (listed on stderr); 1 not built.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

strict=
if [[ ${1-} == --strict ]]; then
	strict=1
	shift
fi
khdr=${1:?usage: build-module.sh [--strict] KHDR DEST [KBUILD-ARGS...]}
dest=${2:?usage: build-module.sh [--strict] KHDR DEST [KBUILD-ARGS...]}
shift 2
# (headers in the cache are seen at the same path in the build root)
[[ -f ${KROOT-}$khdr/Makefile || -f $khdr/Makefile ]] || die "no kernel headers in ${KROOT-}$khdr"

args=("$@")
if [[ -n $strict ]]; then
	rm -rf "${dest:?}/module" "$dest/selftests/kmod"
	args+=(W=1 C=1 KBUILD_CHECKSRC=1)
fi
copy_sources "$dest"
# Both modules include headers from elsewhere in DEST (uapi/, module/).
KBUILD_BIND=$(cd "$dest" && pwd)
export KBUILD_BIND
out=$dest/kbuild.log
: >"$out"
kbuild "$khdr" "$dest/module" CONFIG_KSALLOC=m "${args[@]}" 2>&1 | tee -a "$out" >&2
[[ -f $dest/module/ksalloc.ko ]] || die "kbuild did not produce $dest/module/ksalloc.ko"

# The client links against ksalloc's exports (namespace KSALLOC): modpost
# finds them in the Module.symvers just built.
symvers=$(cd "$dest/module" && pwd)/Module.symvers
kbuild "$khdr" "$dest/selftests/kmod" KBUILD_EXTRA_SYMBOLS="$symvers" "${args[@]}" 2>&1 |
	tee -a "$out" >&2
[[ -f $dest/selftests/kmod/ksalloc_client.ko ]] ||
	die "kbuild did not produce $dest/selftests/kmod/ksalloc_client.ko"

[[ -n $strict ]] || exit 0
rc=0
# kbuild's notice that it would skip sparse is expected where the headers
# lack checker-valid.sh; whether sparse ran is decided by the CHECK lines.
if grep -Ei 'warning:|error:' "$out" | grep -v 'specified, but .* not available' >&2; then
	msg "build-module: warnings against $khdr (log: $out)"
	rc=3
fi
unchecked=
for f in "$dest"/module/*.c "$dest"/selftests/kmod/*.c; do
	f=${f##*/}
	[[ $f == *.mod.c ]] && continue
	grep -Eq "^ +CHECK +(.*/)?$f\$" "$out" || unchecked+=" $f"
done
if [[ -n $unchecked ]]; then
	msg "build-module: sparse did not check:$unchecked (log: $out)"
	rc=3
fi
exit $rc
