#!/bin/bash
# The syzkaller description (selftests/syz) agrees with the uapi header
# (constants, GUID bytes and struct sizes) and keeps the syzkaller
# compiler's rules a line-based check can see (return types, duplicates,
# unused definitions).
exec "$(dirname "$0")/../../selftests/syz/check-consts.sh"
