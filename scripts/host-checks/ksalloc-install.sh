#!/bin/bash
# make install / uninstall in a DESTDIR (library, pkg-config, module), dkms.conf.
HOST_TESTS="install dkms.conf" exec "$(dirname "$0")/../check-host.sh"
