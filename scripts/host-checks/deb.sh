#!/bin/bash
# The Debian packages (make deb) installed, DKMS-built, used in the 6.1 VM
# and removed, in build roots; DKMS on 7.2 too (scripts/check-deb.sh).
# It builds the packages and a VM and takes minutes, so it runs only when
# KSA_CHECK_DEB=1 (CI sets it); otherwise it is a skip.
if [[ ${KSA_CHECK_DEB:-0} != 1 ]]; then
	echo "KSA_CHECK_DEB=1 to run it (make check-deb)"
	exit 4
fi
exec "$(dirname "$0")/../check-deb.sh"
