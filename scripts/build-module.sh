#!/bin/bash
# Build ksalloc.ko against one kernel's headers in a directory of its own,
# so that two kernels never share object files.
#
# Usage: scripts/build-module.sh KHDR DEST [KBUILD-ARGS...]
#   KHDR  the kernel's headers (/usr/src/linux-headers-VERSION)
#   DEST  build directory; the sources are copied to DEST/module and
#         DEST/uapi, and the result is DEST/module/ksalloc.ko
# Extra arguments (W=1, C=1, V=1) go to kbuild. The kbuild output is
# written to stderr.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

khdr=${1:?usage: build-module.sh KHDR DEST [KBUILD-ARGS...]}
dest=${2:?usage: build-module.sh KHDR DEST [KBUILD-ARGS...]}
shift 2
[[ -f $khdr/Makefile ]] || die "no kernel headers in $khdr"

copy_sources "$dest"
submake -j"$(nproc)" -C "$khdr" M="$(cd "$dest/module" && pwd)" CONFIG_KSALLOC=m "$@" modules >&2
[[ -f $dest/module/ksalloc.ko ]] || die "kbuild did not produce $dest/module/ksalloc.ko"
