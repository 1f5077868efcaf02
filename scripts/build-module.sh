#!/bin/bash
# Build ksalloc.ko, and the test client ksalloc_client.ko that uses its
# kernel API, against one kernel's headers in a directory of its own, so
# that two kernels never share object files.
#
# Usage: scripts/build-module.sh KHDR DEST [KBUILD-ARGS...]
#   KHDR  the kernel's headers (/usr/src/linux-headers-VERSION)
#   DEST  build directory; the sources are copied to DEST/module, DEST/uapi
#         and DEST/selftests/kmod, and the results are DEST/module/ksalloc.ko
#         and DEST/selftests/kmod/ksalloc_client.ko
# Extra arguments (W=1, C=1, V=1) go to kbuild. The kbuild output is
# written to stderr.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

khdr=${1:?usage: build-module.sh KHDR DEST [KBUILD-ARGS...]}
dest=${2:?usage: build-module.sh KHDR DEST [KBUILD-ARGS...]}
shift 2
[[ -f $khdr/Makefile ]] || die "no kernel headers in $khdr"

copy_sources "$dest"
kbuild "$khdr" "$dest/module" CONFIG_KSALLOC=m "$@" >&2
[[ -f $dest/module/ksalloc.ko ]] || die "kbuild did not produce $dest/module/ksalloc.ko"

# The client links against ksalloc's exports (namespace KSALLOC): modpost
# finds them in the Module.symvers just built.
symvers=$(cd "$dest/module" && pwd)/Module.symvers
kbuild "$khdr" "$dest/selftests/kmod" KBUILD_EXTRA_SYMBOLS="$symvers" "$@" >&2
[[ -f $dest/selftests/kmod/ksalloc_client.ko ]] ||
	die "kbuild did not produce $dest/selftests/kmod/ksalloc_client.ko"
