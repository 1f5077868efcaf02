#!/bin/bash
# Install the Debian packages that building and testing ksalloc need, but
# only those that are missing. Runs `apt-get update` once before the first
# install (remembered for an hour in $BUILD/.apt-updated).
#
# Usage: scripts/deps.sh            the base set (compilers, QEMU, busybox...)
#        scripts/deps.sh PKG...     just these packages
#        scripts/deps.sh --gst      GStreamer 1.22 and v4l-utils (make gst,
#                                   the userland VM's pipelines)
#        scripts/deps.sh --update   refresh the package lists if stale
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# No kernel package: kernels, their headers and linux-source-6.1 are
# unpacked into $KSA_CACHE (kernel.sh, ksrc.sh), never installed.
BASE_PKGS=(
	make gcc libc6-dev xz-utils perl	# compilers, static libc, tar.xz
	gcc-multilib				# the optional -m32 selftests
	sparse					# make C=1
	libelf1 libssl3				# the unpacked kbuild tools
	pahole					# BTF of a module: 6.12's headers ship vmlinux
	kmod					# depmod, modinfo (peer modules)
	busybox-static cpio qemu-system-x86	# initramfs and VM
	mingw-w64-common			# ks.h, the KS reference headers
	liburing-dev				# liburing.a: the io_uring selftest
)

# The GStreamer plugin (gst/) and its tests: headers and pkg-config files
# to build it; gst-launch-1.0, gst-inspect-1.0, videotestsrc, v4l2src and
# v4l2-ctl to run it (in the VM, over the host's root).
GST_PKGS=(
	pkgconf libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
	gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
	v4l-utils
)

apt_update() {
	local stamp=$BUILD/.apt-updated
	if [[ -f $stamp && -n $(find "$stamp" -mmin -60 2>/dev/null) ]]; then
		return 0
	fi
	msg "deps: apt-get update"
	mkdir -p "$BUILD"
	if ! apt-get update -qq -o DPkg::Lock::Timeout=600 >"$BUILD/apt.log" 2>&1; then
		tail -n 20 "$BUILD/apt.log" >&2
		die "apt-get update failed (log: $BUILD/apt.log)"
	fi
	touch "$stamp"
}

missing() {
	local p
	for p in "$@"; do
		[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] ||
			printf '%s\n' "$p"
	done
}

if [[ ${1-} == --update ]]; then
	apt_update
	exit 0
fi
if (($# == 0)); then
	set -- "${BASE_PKGS[@]}"
elif [[ $1 == --gst ]]; then
	set -- "${GST_PKGS[@]}"
fi

mapfile -t todo < <(missing "$@")
((${#todo[@]})) || exit 0

[[ $(id -u) == 0 ]] || die "missing packages (${todo[*]}); run as root or install them"
apt_update
msg "deps: installing ${todo[*]}"
if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 \
	"${todo[@]}" >"$BUILD/apt.log" 2>&1; then
	tail -n 20 "$BUILD/apt.log" >&2
	die "apt-get install failed (log: $BUILD/apt.log)"
fi
