#!/bin/bash
# The uapi header's KS names carry the Windows SDK values (mingw-w64 ks.h).
exec "$(dirname "$0")/../check-ks-values.sh"
