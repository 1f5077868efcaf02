#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A camera capturing straight into ksalloc frames with GStreamer:
#
#   v4l2src io-mode=dmabuf-import ! ksallocpool frames=6 ! fakesink
#
# ksallocpool offers upstream a buffer pool of ksalloc frames, each a
# dma-buf; v4l2src queues them into the driver (V4L2_MEMORY_DMABUF), the
# driver writes the picture into the frame and the frame itself goes
# downstream: no copy. When all 6 frames are in use, v4l2src waits for one.
#
# The camera is vivid's capture node (the kernel's virtual video driver),
# found by scripts/userland/vivid-node; give another node as $1. Needs
# ksalloc loaded, the plugin (make gst: build/gst on GST_PLUGIN_PATH, or
# make install) and the ksalloc command (build/bin/ksalloc, or on PATH).
# `make run` runs it in the userland test VM. Prints what shows where the frames came from: the
# pool's log lines (GST_DEBUG=ksallocpool:6), the allocator as ksalloc's
# status view shows it while the camera streams, and afterwards.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${KSA_BUILD:-$ROOT/build}
export GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-$BUILD/gst}
KSALLOC=$BUILD/bin/ksalloc
[[ -x $KSALLOC ]] || KSALLOC=ksalloc
FRAMES=6
BUFFERS=30

dev=${1-}
if [[ -z $dev ]]; then
	dev=$("$ROOT/scripts/userland/vivid-node") ||
		{ echo "gst-camera: no vivid capture node (modprobe vivid)" >&2; exit 1; }
fi
[[ -c /dev/ksalloc ]] || { echo "gst-camera: no /dev/ksalloc (load ksalloc)" >&2; exit 1; }

pipeline=(v4l2src "device=$dev" io-mode=dmabuf-import "num-buffers=$BUFFERS"
	! video/x-raw,format=YUY2,width=640,height=360,framerate=15/1
	! ksallocpool "frames=$FRAMES" ! fakesink)
echo "== camera $dev ($(cat "/sys/class/video4linux/${dev##*/}/name"))"
echo "== gst-launch-1.0 ${pipeline[*]}"

log=$(mktemp /tmp/gst-camera.XXXXXX)
pid=
# Killed (a timeout's TERM) or not: no gst-launch-1.0 left behind, no file
cleanup() {
	[[ -z $pid ]] || kill "$pid" 2>/dev/null || true
	rm -f "$log" "$log.out"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
GST_DEBUG=ksallocpool:6 GST_DEBUG_NO_COLOR=1 gst-launch-1.0 "${pipeline[@]}" \
	>"$log.out" 2>"$log" &
pid=$!

# The allocator while the camera streams: frames in use, high water mark
# (as soon as the pool hands out frames, while gst-launch-1.0 runs)
streaming=
for _ in $(seq 300); do
	kill -0 "$pid" 2>/dev/null || break
	if [[ $(grep -c "as dma-buf" "$log" 2>/dev/null) -gt 2 ]]; then
		echo "== ksalloc status while streaming"
		"$KSALLOC" status || true
		streaming=1
		break
	fi
	sleep 0.1
done
[[ -n $streaming ]] || echo "== (the pipeline ended before ksalloc status could show it)"

rc=0
wait "$pid" || rc=$?
pid=
sed 's/^/   /' "$log.out"
# The pool's own words: which allocator, and each frame as a dma-buf
msgs=$(sed -n 's/.*gstksallocpool\.c:[0-9]*:[a-z_]*:<[^>]*> //p' "$log")
echo "== ksallocpool (log)"
grep -m1 "^allocator" <<<"$msgs" | sed 's/^/   /' || true
grep "as dma-buf" <<<"$msgs" | head -n 3 | sed 's/^/   /' || true
echo "   ... $(grep -c "as dma-buf" <<<"$msgs") frames handed out as dma-bufs to v4l2src"
echo "== ksalloc status afterwards (the allocator is gone with the pipeline)"
"$KSALLOC" status || true
if ((rc)); then
	echo "gst-camera: gst-launch-1.0 failed ($rc)" >&2
	exit "$rc"
fi
echo "gst-camera: $BUFFERS frames captured into ksalloc frames, no copy"
