#!/bin/bash
# The ksalloc command without the module (exit codes, messages) and its man page.
HOST_TESTS="cli man" exec "$(dirname "$0")/../check-host.sh"
