#!/bin/bash
# The syzkaller description (selftests/syz) agrees with the uapi header:
# constants, GUID bytes and struct sizes.
exec "$(dirname "$0")/../../selftests/syz/check-consts.sh"
