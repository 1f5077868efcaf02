#!/bin/bash
# make clean-cache: remove what the scripts keep in $KSA_CACHE (default
# ~/.cache/ksalloc): the unpacked kernel trees, the build roots (sid,
# bookworm), the debug kernel and linux-source-6.1. Refuses while a build
# root still has something mounted (a build in progress).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ -d $KSA_CACHE ]] || { msg "clean-cache: $KSA_CACHE does not exist"; exit 0; }
if awk -v c="$KSA_CACHE" 'index($2, c) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
	die "clean-cache: something is mounted under $KSA_CACHE (a build running?)"
fi
msg "clean-cache: removing $KSA_CACHE ($(du -sh "$KSA_CACHE" 2>/dev/null | cut -f1))"
rm -rf --one-file-system "$KSA_CACHE"
