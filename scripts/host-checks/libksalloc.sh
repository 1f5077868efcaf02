#!/bin/bash
# libksalloc on the host: build, error texts, argument checks, headers, .so ABI.
HOST_TESTS="build libksalloc headers abi" exec "$(dirname "$0")/../check-host.sh"
