#!/bin/bash
# The GStreamer row of make bench, run by scripts/bench.sh in a userland VM
# (chrooted in the host's root) under -icount shift=0,sleep=off with one
# vCPU: the guest's clock counts its instructions, one per nanosecond.
#
# vivid (default parameters: YUYV 640x360, vb2-vmalloc) captures N frames
# through each pipeline:
#   ksalloc  v4l2src io-mode=dmabuf-import ! ksallocpool ! fakesink:
#            vivid writes into ksalloc frames, no copy
#   copy     v4l2src io-mode=mmap ! videoconvert ! UYVY ! fakesink: vivid's
#            own buffers, then one real copy of every frame (videoconvert
#            turning YUY2 into UYVY reads and writes every byte; same-format
#            caps would make it a passthrough)
#   mmap     v4l2src io-mode=mmap ! fakesink: vivid's own buffers, no copy
# Each pipeline runs with N1 and N2 frames (BENCH_GST_FRAMES="N1 N2", default "20 320"),
# ROUNDS times each (BENCH_GST_ROUNDS); a per-frame figure is the median
# of (run N2 - run N1) / (N2 - N1), which takes out gst-launch's start
# (linking, plugin loading: most of a short run):
#   proc_instr  gst-launch's own CPU time (user + system, bash's time with
#               microseconds: getrusage of the child) in instructions
#   sys_instr   the CPU time of every task (/proc/schedstat: rq_cpu_time,
#               nanoseconds), so vivid's kernel thread filling the frame too
#   fps         N2 frames over the pipeline's own time in the N2 run
#               (gst-launch's "Execution ended after"), in the guest's clock:
#               vivid's frame rate bounds it (with sleep=off the clock runs
#               at the host's pace while the guest idles), so it says
#               whether a pipeline keeps up, not what it costs
# (Under icount the CPU times come in whole milliseconds here: 3,333
# instructions a frame at 300 frames.)
# Output: a table, and CSV between KSA-BENCH-GST-BEGIN and -END.
set -u
read -r N1 N2 <<<"${BENCH_GST_FRAMES:-20 320}"
ROUNDS=${BENCH_GST_ROUNDS:-3}
# 15 fps as in the tests: vivid computes its sleep from jiffies twice, and
# at higher rates a stalled guest makes it warn ("wrong timeout value")
CAPS=video/x-raw,format=YUY2,width=640,height=360,framerate=15/1

dev=$("$KSA_ROOT/scripts/userland/vivid-node") || exit 1
declare -A pipe=(
	[ksalloc]="v4l2src device=$dev io-mode=dmabuf-import ! $CAPS ! ksallocpool ! fakesink"
	[copy]="v4l2src device=$dev io-mode=mmap ! $CAPS ! videoconvert ! video/x-raw,format=UYVY ! fakesink"
	[mmap]="v4l2src device=$dev io-mode=mmap ! $CAPS ! fakesink"
)
keys="ksalloc copy mmap"
if ! gst-inspect-1.0 ksallocpool >/dev/null 2>&1; then
	echo "gst-bench: no ksallocpool element (GST_PLUGIN_PATH=$GST_PLUGIN_PATH): the ksalloc row is left out"
	keys="copy mmap"
fi

# busy: nanoseconds that tasks ran on every CPU so far
busy() { awk '$1 ~ /^cpu[0-9]/ { s += $8 } END { printf "%.0f\n", s }' /proc/schedstat; }

# one KEY N: "cpu_s busy_ns pipeline_s" of one gst-launch of N frames
one() {
	local b0 b1 out u s
	b0=$(busy)
	# shellcheck disable=SC2086 # the pipeline is words
	out=$( { TIMEFORMAT='%6U %6S'; time gst-launch-1.0 ${pipe[$1]/v4l2src /v4l2src num-buffers=$2 } \
		>/tmp/gst-bench.out 2>&1; } 2>&1) || {
		sed 's/^/gst-bench: /' /tmp/gst-bench.out >&2
		echo "gst-bench: $1 with $2 frames failed" >&2
		return 1
	}
	b1=$(busy)
	read -r u s <<<"$out"
	awk -v u="$u" -v s="$s" -v b=$((b1 - b0)) -F '[ :]' '
		/^Execution ended after / { p = $4 * 3600 + $5 * 60 + $6 }
		END { printf "%.6f %d %.6f\n", u + s, b, p }' /tmp/gst-bench.out
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "gst-bench: $dev, $CAPS, frames $N1 and $N2, $ROUNDS rounds"
declare -A P S F
for k in $keys; do
	: >/tmp/gst-bench.$k
	for ((r = 0; r < ROUNDS; r++)); do
		a=$(one "$k" "$N1") && b=$(one "$k" "$N2") || exit 1
		read -r c1 t1 _ <<<"$a"
		read -r c2 t2 r2 <<<"$b"
		awk -v c1="$c1" -v c2="$c2" -v t1="$t1" -v t2="$t2" -v r2="$r2" -v n=$((N2 - N1)) \
			-v n2="$N2" 'BEGIN { printf "%.0f %.0f %.1f\n", (c2 - c1) * 1e9 / n, (t2 - t1) / n, (r2 > 0 ? n2 / r2 : 0) }' \
			>>/tmp/gst-bench.$k
		echo "gst-bench: $k round $r: $(tail -n 1 /tmp/gst-bench.$k) (proc_instr sys_instr fps)"
	done
	P[$k]=$(cut -d' ' -f1 /tmp/gst-bench.$k | median)
	S[$k]=$(cut -d' ' -f2 /tmp/gst-bench.$k | median)
	F[$k]=$(cut -d' ' -f3 /tmp/gst-bench.$k | median)
done

printf '%-8s %14s %14s %8s\n' pipeline proc_instr/fr sys_instr/fr fps
for k in $keys; do
	printf '%-8s %14s %14s %8s\n' "$k" "${P[$k]}" "${S[$k]}" "${F[$k]}"
done
echo "KSA-BENCH-GST-BEGIN"
echo "key,pipeline,frames,rounds,proc_instr_per_frame,sys_instr_per_frame,fps"
for k in $keys; do
	echo "$k,\"${pipe[$k]}\",$N1 $N2,$ROUNDS,${P[$k]},${S[$k]},${F[$k]}"
done
echo "KSA-BENCH-GST-END"
