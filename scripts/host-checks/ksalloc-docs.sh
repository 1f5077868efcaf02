#!/bin/bash
# kernel-doc of the kernel API and Documentation/ksalloc.rst.
HOST_TESTS="kernel-doc docs" exec "$(dirname "$0")/../check-host.sh"
