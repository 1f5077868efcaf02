#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The GStreamer tests of ksalloc, run in the userland test VM (chrooted
# into the host's root, with ksalloc.ko and vivid loaded) or on any
# machine with the module loaded. Prints kselftest TAP on stdout and
# exits 0 whatever the results: the TAP lines carry them.
#
# Environment: KSA_ROOT (the checkout), KSA_BUILD (its build directory,
# where `make gst` put build/gst and build/bin/ksalloc), GST_PLUGIN_PATH
# (default $KSA_BUILD/gst), GST_REGISTRY; KSA_GST_TIMEOUT, seconds per
# pipeline (default 180).
#
# The tests:
#   - the plugin loads and documents its properties (gst-inspect-1.0);
#   - the GstCheck unit test of the pool and the element (test-pool),
#     one TAP line per check, and one for its exit status and count;
#   - pipelines through gst-pipeline-check: every buffer at the sink a
#     ksalloc dma-buf of ksallocpool's allocator, no allocator left after
#     NULL: videotestsrc; v4l2src on vivid's capture node with
#     io-mode=dmabuf-import, every frame equal to vivid's picture, to EOS
#     and stopped mid-stream; a flushing seek while the source waits for
#     a frame; an allocator inherited from `ksalloc create`; too few
#     frames for v4l2src failing with a clear message in bounded time;
#   - examples/gst-camera.sh runs.
set -u

ROOT=${KSA_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${KSA_BUILD:-$ROOT/build}
GSTB=$BUILD/gst
export GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-$GSTB}
TIMEOUT=${KSA_GST_TIMEOUT:-180}
CHECK=$GSTB/gst-pipeline-check
TMP=$(mktemp -d /tmp/ksa-gst.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# The unit test's checks, in its order (each is one TAP line). No process
# substitution: the VM's devtmpfs has no /dev/fd.
# shellcheck disable=SC2207
UNIT=($(sed -n 's/^ *tcase_add_test (tc, \(test_[a-z_0-9]*\));/\1/p' \
	"$ROOT/selftests/gst/test-pool.c"))
# inspect + unit checks + test-pool's own status + pipelines
PIPELINES=8
echo "TAP version 13"
echo "1..$((1 + ${#UNIT[@]} + 1 + PIPELINES))"

n=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
notok() { n=$((n + 1)); echo "not ok $n $1"; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
diag() { sed 's/^/# /' "$@"; }

# all_of RESULT REASON: every test of the plan skipped (RESULT skip) or
# failed (RESULT notok)
all_of() {
	local i t
	"$1" "the plugin loads" "$2"
	for t in "${UNIT[@]}"; do "$1" "pool: $t" "$2"; done
	"$1" "pool: test-pool's status" "$2"
	for ((i = 0; i < PIPELINES; i++)); do "$1" "pipeline $((i + 1))" "$2"; done
	exit 0
}
# shellcheck disable=SC2317 # called through all_of
failed() { notok "$1: $2"; }

[[ -c /dev/ksalloc ]] || all_of skip "no /dev/ksalloc (module not loaded)"
command -v gst-launch-1.0 >/dev/null || all_of skip "no GStreamer (scripts/deps.sh --gst)"
# GStreamer is there: a plugin or test not built is a failure, not a skip
for f in "$GSTB/libgstksalloc.so" "$GSTB/test-pool" "$CHECK"; do
	[[ -x $f || -f $f ]] || all_of failed "plugin not built: no $f (make gst)"
done

# run NAME TIMEOUT CMD...: one TAP line from the exit status, output as
# diagnostics. A shell function as CMD bounds its own commands' time.
run() {
	local name=$1 t=$2 rc
	shift 2
	if declare -F "$1" >/dev/null; then
		"$@" >"$TMP/out" 2>&1
	else
		timeout -k 10 "$t" "$@" >"$TMP/out" 2>&1
	fi
	rc=$?
	diag "$TMP/out"
	if ((rc == 124 || rc == 137)); then
		notok "$name (killed after ${t} s)"
	elif ((rc)); then
		notok "$name"
	else
		ok "$name"
	fi
}

# --- the plugin -----------------------------------------------------------
# Every property with its description (gst-inspect-1.0's documentation)
inspect() {
	local out p
	out=$(timeout -k 10 120 gst-inspect-1.0 ksallocpool 2>&1) ||
		{ echo "$out"; return 1; }
	for p in frames device allocator-fd frames-acquired frames-outstanding \
		frames-passed allocator-id allocated-frames; do
		grep -Eq "^  $p +: [A-Z].{20,}" <<<"$out" ||
			{ echo "property $p missing or undocumented"; return 1; }
	done
	grep -q "Filename *$GSTB/libgstksalloc.so" <<<"$out" ||
		{ echo "not loaded from $GSTB"; return 1; }
}
run "the plugin loads and documents its properties" 120 inspect

# --- the unit test --------------------------------------------------------
CK_VERBOSITY=verbose CK_FORK=yes timeout -k 10 900 "$GSTB/test-pool" >"$TMP/unit" 2>&1
rc=$?
diag "$TMP/unit"
unit_failed=
for t in "${UNIT[@]}"; do
	if grep -q ":P:[^:]*:$t:" "$TMP/unit"; then
		ok "pool: $t"
	elif grep -q ":[FE]:[^:]*:$t:" "$TMP/unit"; then
		notok "pool: $t"
		unit_failed=1
	else
		notok "pool: $t (no result, exit status $rc)"
		unit_failed=1
	fi
done
# What the lines above cannot show: no check found, a check test-pool
# ran but the list misses, a failing exit with every check passed
ran=$(sed -n 's/^[0-9]*%: Checks: \([0-9]*\),.*/\1/p' "$TMP/unit" | tail -n 1)
if ((${#UNIT[@]} == 0)); then
	notok "pool: test-pool's status (no tcase_add_test found in test-pool.c)"
elif [[ $ran != "${#UNIT[@]}" ]]; then
	notok "pool: test-pool's status (ran ${ran:-no} checks, ${#UNIT[@]} listed)"
elif ((rc)) && [[ -z $unit_failed ]]; then
	notok "pool: test-pool's status (exit status $rc, no check failed)"
else
	ok "pool: test-pool's status"
fi

# --- pipelines ------------------------------------------------------------
VT="videotestsrc num-buffers=30 ! video/x-raw,format=I420,width=320,height=240"
run "videotestsrc ! ksallocpool ! fakesink, to EOS" "$TIMEOUT" \
	"$CHECK" --min-buffers 30 "$VT ! ksallocpool name=ks frames=3 ! fakesink name=sink"

# Frames 2 and a queue: the source often waits in acquire when the seek
# flushes. Buffers must keep coming after it.
run "flushing seek while the source waits for a frame" "$TIMEOUT" \
	"$CHECK" --seek-after 10 --min-buffers 20 \
	"videotestsrc num-buffers=40 ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 !
	 ksallocpool name=ks frames=2 ! queue max-size-buffers=1 ! fakesink name=sink sync=true"

# An allocator handed over as an inherited fd (ksalloc create -- COMMAND)
if [[ -x $BUILD/bin/ksalloc ]]; then
	run "ksallocpool joins an inherited allocator (allocator-fd)" "$TIMEOUT" \
		"$BUILD/bin/ksalloc" create --frames 3 --frame-size 115200 --fd 9 -- \
		"$CHECK" --joined-fd 9 --min-buffers 30 \
		"$VT ! ksallocpool name=ks allocator-fd=9 ! fakesink name=sink"
else
	skip "ksallocpool joins an inherited allocator (allocator-fd)" \
		"$BUILD/bin/ksalloc not built (make tools)"
fi

# vivid's video capture node (scripts/userland/vivid-node); the tests
# want instance 0, the vb2-vmalloc one (imports are vmapped: scattered
# frames are fine)
VIVID=$("$ROOT/scripts/userland/vivid-node" 2>"$TMP/vivid") || { diag "$TMP/vivid"; VIVID=; }
if [[ -n $VIVID && $(cat "/sys/class/video4linux/${VIVID##*/}/name") != vivid-000-vid-cap ]]; then
	echo "# $VIVID is not vivid instance 0's capture node"
	VIVID=
fi
alloc0=$(cut -d, -f1 /sys/module/vivid/parameters/allocators 2>/dev/null)
V4L2_TESTS=(
	"v4l2src io-mode=dmabuf-import (vivid) ! ksallocpool: vivid's picture in ksalloc frames, to EOS"
	"v4l2src (vivid) into ksalloc frames, PLAYING to NULL mid-stream"
	"v4l2src (vivid) into ksalloc frames through a queue, to EOS"
	"too few frames for v4l2src fails with a clear message, no hang"
	"examples/gst-camera.sh (make run's camera pipeline)"
)
if [[ -z $VIVID ]]; then
	for t in "${V4L2_TESTS[@]}"; do skip "$t" "no vivid capture node (vivid-000-vid-cap)"; done
elif [[ -n $alloc0 && $alloc0 != 0 ]]; then
	for t in "${V4L2_TESTS[@]}"; do skip "$t" "vivid instance 0 is not vb2-vmalloc"; done
else
	echo "# vivid capture node: $VIVID"
	# 15 fps: vivid's capture thread computes its sleep from jiffies twice
	# and warns (a negative timeout, with a stack dump) when the clock
	# jumps past a frame period in between, which a loaded host does to a
	# TCG guest; the longer the period, the rarer that is.
	CAPS="video/x-raw,format=YUY2,width=640,height=360,framerate=15/1"
	SRC="v4l2src device=$VIVID io-mode=dmabuf-import"
	run "${V4L2_TESTS[0]}" "$TIMEOUT" \
		"$CHECK" --vivid "$VIVID" --min-buffers 10 \
		"$SRC num-buffers=10 ! $CAPS ! ksallocpool name=ks frames=6 ! fakesink name=sink"
	run "${V4L2_TESTS[1]}" "$TIMEOUT" \
		"$CHECK" --vivid "$VIVID" --stop-after 6 --min-buffers 6 \
		"$SRC ! $CAPS ! ksallocpool name=ks frames=4 ! fakesink name=sink"
	# A queue keeps frames downstream while v4l2src waits in acquire
	run "${V4L2_TESTS[2]}" "$TIMEOUT" \
		"$CHECK" --vivid "$VIVID" --min-buffers 8 \
		"$SRC num-buffers=8 ! $CAPS ! ksallocpool name=ks frames=5 !
		 queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! fakesink name=sink sync=true"
	# v4l2src needs 2 + its own 2 buffers at once: 3 frames cannot work.
	# It must fail (v4l2src's error) within 60 s, and ksallocpool must say
	# how many frames it needs.
	too_few() {
		local out rc
		out=$(timeout -k 10 120 "$CHECK" --timeout 60 \
			--expect-error "Failed to configure internal buffer pool" \
			"$SRC ! $CAPS ! ksallocpool name=ks frames=3 ! fakesink name=sink" 2>&1)
		rc=$?
		echo "$out"
		((rc == 0)) || return 1
		grep -q "warning from ks: .*set frames=[0-9]* or more" <<<"$out" ||
			{ echo "ksallocpool posted no warning naming the frames needed"; return 1; }
	}
	run "${V4L2_TESTS[3]}" 120 too_few
	camera() {
		local out rc
		out=$(timeout -k 10 "$TIMEOUT" "$ROOT/examples/gst-camera.sh" "$VIVID" 2>&1)
		rc=$?
		echo "$out"
		((rc == 0)) || return 1
		grep -Eq "^   \.\.\. [1-9][0-9]* frames handed out as dma-bufs" <<<"$out" ||
			{ echo "no frame handed out as a dma-buf"; return 1; }
	}
	run "${V4L2_TESTS[4]}" "$TIMEOUT" camera
fi
exit 0
