#!/bin/bash
# What the test suite must never change on this machine: the kernel
# packages dpkg knows of (images, headers, modules, initramfs tools, boot
# loaders) and the files under /boot. make check records it before it
# starts and compares at the end (the "host untouched" result); the kernels
# it tests live in $KSA_CACHE instead (kernel.sh).
#
# Usage: scripts/host-state.sh            print the state (sorted lines)
#        scripts/host-state.sh diff FILE  compare with a state printed
#                                         before; exit 1 and show what
#                                         changed if anything did
set -euo pipefail

state() {
	dpkg-query -W -f='pkg ${Package} ${Version} ${db:Status-Abbrev}\n' \
		'linux-image*' 'linux-headers*' 'linux-modules*' 'linux-binary*' \
		'linux-kbuild*' 'linux-base*' 'linux-source*' 'initramfs-tools*' \
		'dracut*' 'grub*' 'systemd-boot*' 2>/dev/null |
		awk '$NF ~ /^[a-z]i/' || true
	if [[ -d /boot ]]; then
		find /boot -xdev -printf 'boot %p %y %s %T@\n' 2>/dev/null
	fi
	# mounts left behind by a build root
	awk -v c="${KSA_CACHE:-${HOME:-/root}/.cache/ksalloc}" \
		'index($2, c) == 1 { print "mount " $2 }' /proc/mounts
}

if [[ ${1-} == diff ]]; then
	before=${2:?usage: host-state.sh diff FILE}
	if ! out=$(diff <(LC_ALL=C sort "$before") <(state | LC_ALL=C sort)); then
		printf '%s\n' "$out" | sed -n 's/^</before: /p; s/^>/after:  /p'
		exit 1
	fi
	exit 0
fi
state | LC_ALL=C sort
