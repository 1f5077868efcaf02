#!/bin/bash
# The userland mode of the test VM (initramfs.sh -u, vm-run.sh -H): the
# guest mounts this machine's root read-only over virtio-9p and runs
# dynamically linked programs (GStreamer, v4l2-ctl, the build tree's own)
# chrooted in it. What this machine prepares for it:
#
# Usage: scripts/userland.sh env
#          the environment of the chrooted programs, NAME=VALUE lines
#        scripts/userland.sh host
#          GStreamer's packages, the plugin (make gst, where the Makefile
#          has that target) and a GStreamer registry of this machine's
#          plugins and ours, built in the guest's environment, so that no
#          guest program pays the plugin scan (15-40 s under TCG):
#          $BUILD/userland/gst-registry.bin; its last line says what it did
#        scripts/userland.sh modules KMODS DIR
#          DIR/boot: 9p over virtio with what it depends on (and
#          virtio_pci where that is a module: 6.1), from the kernel's own
#          package (the KMODS tree of kernel.sh); DIR/peers: vivid with its
#          default parameters (vb2-vmalloc: imported dma-bufs are vmapped)
#          and vgem, those of them the kernel has. Exit 4 with the reason
#          on stdout if the kernel has no 9p modules (the debug kernel).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

uenv() {
	printf '%s\n' PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin HOME=/tmp \
		LC_ALL=C.UTF-8 "KSA_ROOT=$ROOT" "KSA_BUILD=$BUILD" "GST_PLUGIN_PATH=$BUILD/gst" \
		GST_REGISTRY=/tmp/gst-registry.bin
}

case ${1-} in
env)
	uenv ;;
host)
	"$ROOT/scripts/deps.sh" --gst
	submake -C "$ROOT" gst >&2 || die "userland: make gst failed"
	plugin="make gst"
	mkdir -p "$BUILD/userland"
	reg=$BUILD/userland/gst-registry.bin
	rm -f "$reg"
	mapfile -t e < <(uenv)
	env -i "${e[@]}" GST_REGISTRY="$reg" gst-inspect-1.0 >/dev/null ||
		die "userland: gst-inspect-1.0 could not build the registry"
	[[ -s $reg ]] || die "userland: no registry $reg"
	echo "GStreamer packages, $plugin, registry $reg"
	;;
modules)
	kmods=${2:?usage: userland.sh modules KMODS DIR}
	dir=${3:?usage: userland.sh modules KMODS DIR}
	rm -rf "$dir"
	mkdir -p "$dir"
	"$ROOT/scripts/peer-modules.sh" -k "$kmods" "$dir/boot" 9p 9pnet_virtio virtio_pci 2>"$dir/boot.log"
	if grep -E 'no module (9p|9pnet_virtio) ' "$dir/boot.log" >/dev/null; then
		echo "no 9p in ${kmods##*/} (CONFIG_9P_FS, CONFIG_NET_9P_VIRTIO)"
		exit 4
	fi
	"$ROOT/scripts/peer-modules.sh" -k "$kmods" "$dir/peers" vivid vgem 2>"$dir/peers.log"
	sed 's/^/note: /' "$dir/peers.log" >&2
	;;
*)
	die "usage: userland.sh env | host | modules KMODS DIR" ;;
esac
