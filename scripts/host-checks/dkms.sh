#!/bin/bash
# dkms builds the module against every installed kernel (scripts/check-dkms.sh).
# It installs the dkms package and takes a minute or two, so it runs only
# when KSA_CHECK_DKMS=1 (CI sets it); otherwise it is a skip.
if [[ ${KSA_CHECK_DKMS:-0} != 1 ]]; then
	echo "KSA_CHECK_DKMS=1 to run it (make check-dkms)"
	exit 4
fi
exec "$(dirname "$0")/../check-dkms.sh"
