#!/bin/bash
# make bench: build the module and bench/ksalloc-bench, boot KERNEL in QEMU
# once per entry of BENCH_RUNS with the module and the peer modules (vgem,
# vivid and what they depend on), run the benchmark, and collect what it
# printed between its markers:
#   build/bench/<kver>-<date>.json   every run: {"kernel", "date", "host",
#                                    "runs": [{"mode", "smp", "result"}...]}
#   build/bench/<kver>-<date>.csv    the rows of every run, one line each
#   build/bench/<kver>-<date>.md     the tables below, in Markdown
#   build/bench/<kver>-<date>.trace  function_graph traces of one call of
#                                    each kind (and of one vgem frame)
#   build/bench/<kver>-<date>.profile  instructions per kernel function on
#                                    the KS and direct paths (icount:1)
# and print a table of guest instructions and one of TCG time, with a
# column pair per run. The benchmark reports its targets; it does not fail
# on a missed one. Exit 1 only if a VM or the benchmark failed.
#
# A run is MODE:CPUS:
#   icount:1  -icount shift=0,sleep=off, one vCPU: the guest's clock counts
#             its instructions, so every figure is an instruction count,
#             the same from run to run; every row but the two-thread ones,
#             and the function_graph trace (one vCPU: patching live kernel
#             text is only safe where no other vCPU runs it)
#   icount:2  the same with two vCPUs, which QEMU then runs in turn (it
#             refuses MTTCG with icount): the two-thread and wake-up rows,
#             in instructions of both CPUs
#   time:1    plain TCG, the times as the host gives them: the call, peer
#             and wake-up rows
#   time:2    MTTCG with two vCPUs: the two-thread and wake-up rows
#
# Environment:
#   KERNEL=6.12        the kernel (a name kernel.sh knows)
#   BENCH_RUNS="icount:1 icount:2 time:1 time:2"   the VM boots
#   BENCH_ARGS         more ksalloc-bench options for every run (-r 9, -q,
#                      -k alloc,free, -x vgem, ...)
#   BENCH_TRACE=1      0: no function_graph trace
#   BENCH_GST=auto     the GStreamer row: one more VM, in userland mode
#                      (scripts/userland.sh), icount with one vCPU, running
#                      bench/gst-bench.sh: v4l2src capturing into ksallocpool
#                      against v4l2src's own MMAP buffers and a copy.
#                      auto: when make gst built the plugin; 1: also
#                      without it (the baselines alone); 0: never. Results
#                      in <kver>-<date>.gst.csv and in the .md.
#   BENCH_GST_FRAMES="20 320"  BENCH_GST_ROUNDS=3   see bench/gst-bench.sh
# and those of vm-run.sh (ACCEL, MEM, VM_TIMEOUT, QEMU_EXTRA, ...); SMP is
# ignored.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KERNEL=${KERNEL:-6.12}
BENCH_RUNS=${BENCH_RUNS-icount:1 icount:2 time:1 time:2}
[[ -z ${BENCH_SMP-} ]] || die "BENCH_SMP is gone: BENCH_RUNS=\"icount:1 time:2\" (MODE:CPUS, see scripts/bench.sh)"
BENCH_ARGS=${BENCH_ARGS-}
BENCH_TRACE=${BENCH_TRACE:-1}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-1500}
VM_TIMEOUT=${VM_TIMEOUT:-1800}
export VM_TIMEOUT

"$ROOT/scripts/deps.sh"
# pahole: structure sizes from the module's debug info; jq: the report
"$ROOT/scripts/deps.sh" pahole jq

KROOT=
eval "$("$ROOT/scripts/kernel.sh" "$KERNEL")"
export KROOT
kdir=$BUILD/$KVER
out=$BUILD/bench
mkdir -p "$LOGS" "$kdir" "$out"

"$ROOT/scripts/build-module.sh" "$KHDR" "$kdir" 2>"$LOGS/$KVER.build.log" || {
	tail -n 40 "$LOGS/$KVER.build.log" >&2
	die "module build against $KVER failed"
}
submake -C "$ROOT" bench-prog >&2
prog=$BUILD/bench/ksalloc-bench

# What the VM gets besides the module: the program, its wrapper, the peer
# modules in load order and the structure sizes.
files=$kdir/bench-files
rm -rf "$files"
mkdir -p "$files"
cp "$prog" "$files/ksalloc-bench"

# vgem, vivid (its default instance: a capture node) and what they depend
# on, from the kernel's own package; a missing one only skips its case
if "$ROOT/scripts/peer-modules.sh" -k "$KMODS" "$files" vgem vivid; then
	msg "bench: peer modules for $KVER: $(tr '\n' ' ' <"$files/modules.order")"
else
	: >"$files/modules.order"
	msg "bench: no peer modules for $KVER; the vgem and vivid cases will be skipped"
fi

# Sizes of the module's structures (DWARF of the .ko), "name size" lines
pahole -C ksalloc_allocator,ksa_pool,ksa_frame,ksa_pin,scatterlist "$kdir/module/ksalloc.ko" 2>/dev/null |
	awk '/^struct [a-z_]+ \{/ { n = $2 } /\/\* size: / { s = $3; sub(",", "", s); print n, s }' \
	>"$files/struct-sizes" || true

# run_args MODE CPUS: the ksalloc-bench options of one run
traced=0
run_args() {
	local a
	case $1:$2 in
	icount:1) a="-i" ;;
	icount:*) a="-i -k thr2,wake" ;;
	# vivid's capture thread warns (a negative timeout) when TCG time
	# jumps under load: the capture row is counted in instructions only
	time:1) a="-x scale,live,mem,frames_capture" ;;
	time:*) a="-k thr2,wake" ;;
	esac
	if [[ $BENCH_TRACE != 0 && $2 == 1 && $traced == 0 ]]; then
		a+=" -g"
		traced=1
	fi
	printf '%s %s\n' "$a" "$BENCH_ARGS"
}

# One initramfs per run: the options are a file in it
build_initramfs() {
	local extras=() f
	for f in "$files"/*; do
		extras+=(-f "$f:/ksalloc/extra/bench/${f##*/}")
	done
	"$ROOT/scripts/initramfs.sh" -o "$kdir/bench.cpio" -m "$kdir/module/ksalloc.ko" \
		-T "$BENCH_TIMEOUT" -t "$ROOT/bench/ksalloc-bench.sh" "${extras[@]}"
}
printf 'ksalloc-bench.sh\n' >"$kdir/bench.list"

# cut NAME FILE: the lines between KSA-BENCH-NAME-BEGIN and -END
cut_marked() {
	tr -d '\r' <"$2" | awk -v b="KSA-BENCH-$1-BEGIN" -v e="KSA-BENCH-$1-END" '
		$0 == e { on = 0 } on { print } $0 == b { on = 1 }'
}

# boot_count NAME CPIO LIST CONSOLE RESULTS [VM-RUN-OPTION...]: one VM (SMP,
# MEM and QEMU_EXTRA as set by the caller); what the benchmark reported as
# wrong ("bench: ", "gst-bench: " lines), and the VM's results in detail if
# one failed (then false)
boot_count() {
	local name=$1 cpio=$2 list=$3 log=$4 res=$5 vmrc=0 t0=$SECONDS fail
	shift 5
	"$ROOT/scripts/vm-run.sh" -k "$VMLINUZ" -i "$cpio" -l "$log" -r "$res" "$@" || vmrc=$?
	echo "   vm ran $((SECONDS - t0)) s"
	tr -d '\r' <"$res" | grep -aE '^(gst-)?bench: ' || true
	rm -f "$kdir/bench.counts"
	"$ROOT/scripts/parse-results.sh" -r "$res" -l "$log" -n "$KVER $name" \
		-t "$list" -e "$vmrc" -c "$kdir/bench.counts" >"$kdir/bench.report"
	read -r _ fail _ <"$kdir/bench.counts"
	((fail == 0)) || { cat "$kdir/bench.report"; return 1; }
}

stamp=$(date +%Y%m%d-%H%M%S)
base=$out/$KVER-$stamp
failed=0
runs=()

# The GStreamer row: $base.gst.csv and $base.gst.md
bench_gst() {
	local log=$LOGS/$KVER.bench-gst.log res=$LOGS/$KVER.bench-gst.results ul=$kdir/bench-userland
	"$ROOT/scripts/userland.sh" host >"$LOGS/userland-host.log" 2>&1 || {
		tail -n 30 "$LOGS/userland-host.log" >&2
		msg "bench: the host side of the userland mode failed (log: $LOGS/userland-host.log)"
		return 1
	}
	if [[ ${BENCH_GST:-auto} == auto && ! -f $BUILD/gst/libgstksalloc.so ]]; then
		msg "bench: no GStreamer plugin ($BUILD/gst/libgstksalloc.so): no GStreamer row"
		return 0
	fi
	"$ROOT/scripts/userland.sh" modules "$KMODS" "$ul" >&2 || return 1
	"$ROOT/scripts/initramfs.sh" -o "$kdir/bench-gst.cpio" -m "$kdir/module/ksalloc.ko" -u \
		-B "$ul/boot" -P "$ul/peers" -T "$BENCH_TIMEOUT" -t "$ROOT/bench/gst-bench.sh" \
		${BENCH_GST_FRAMES:+-e "BENCH_GST_FRAMES=$BENCH_GST_FRAMES"} \
		${BENCH_GST_ROUNDS:+-e "BENCH_GST_ROUNDS=$BENCH_GST_ROUNDS"} || return 1
	printf 'gst-bench.sh\n' >"$kdir/bench-gst.list"
	echo "== bench $KVER, GStreamer, icount, smp 1, userland mode (${ACCEL:-tcg}, ${USERLAND_MEM:-2048M}); console: $log"
	SMP=1 MEM=${USERLAND_MEM:-2048M} QEMU_EXTRA="${QEMU_EXTRA-} -icount shift=0,sleep=off" \
		boot_count gst "$kdir/bench-gst.cpio" "$kdir/bench-gst.list" "$log" "$res" -H || return 1
	cut_marked GST "$res" >"$base.gst.csv"
	[[ -s $base.gst.csv ]] || { msg "bench: no GStreamer result (console: $log)"; return 1; }
	# Markdown, with each pipeline's instructions against the copy's
	awk -F, -v host="$(date -u +%Y-%m-%d), $(uptime | sed 's/.*load average: //') host load" '
		NR == 1 { next }
		{ n = split($0, q, "\""); k = $1; split(q[3], f, ","); proc[k] = f[4]; sys[k] = f[5]; fps[k] = f[6]
		  pipe[k] = q[2]; order[++m] = k; fr = f[2]; rounds = f[3] }
		END {
			print "GStreamer, one vCPU under icount (" host "): per frame, the median over " rounds " rounds of (run of " fr " frames, second - first) / difference"
			print ""
			print "| pipeline | gst-launch instr/frame | ratio to copy | all CPUs instr/frame | ratio to copy | frames/s (guest clock; vivid bounds it) |"
			print "|---|---:|---:|---:|---:|---:|"
			for (i = 1; i <= m; i++) {
				k = order[i]
				printf "| %s: `%s` | %d | %s | %d | %s | %s |\n", k, pipe[k], proc[k],
					("copy" in proc && proc["copy"] > 0) ? sprintf("%.2f", proc[k] / proc["copy"]) : "-",
					sys[k], ("copy" in sys && sys["copy"] > 0) ? sprintf("%.2f", sys[k] / sys["copy"]) : "-", fps[k]
			}
		}' "$base.gst.csv" >"$base.gst.md"
}
if [[ ${BENCH_GST:-auto} != 0 ]] && ! bench_gst; then
	failed=1
fi

for run in $BENCH_RUNS; do
	mode=${run%%:*} smp=${run#*:}
	[[ $mode =~ ^(icount|time)$ && $smp =~ ^[1-9][0-9]*$ ]] ||
		die "BENCH_RUNS: '$run' is not icount:CPUS or time:CPUS"
	name=$mode-smp$smp
	log=$LOGS/$KVER.bench-$name.log
	res=$LOGS/$KVER.bench-$name.results
	run_args "$mode" "$smp" >"$files/args"
	build_initramfs
	qemu=${QEMU_EXTRA-}
	[[ $mode == time ]] || qemu+=" -icount shift=0,sleep=off"
	echo "== bench $KVER, $mode, smp $smp (${ACCEL:-tcg}, ${MEM:-1024M}; ksalloc-bench $(cat "$files/args")); console: $log"
	SMP=$smp QEMU_EXTRA=$qemu boot_count "$name" "$kdir/bench.cpio" "$kdir/bench.list" "$log" "$res" ||
		failed=1
	tr -d '\r' <"$res" | sed -n '/^ksalloc-bench: kernel /,/^KSA-BENCH-/p' | sed '$d'
	cut_marked JSON "$res" >"$base.$name.json"
	if [[ ! -s $base.$name.json ]] || ! jq -e . "$base.$name.json" >/dev/null 2>&1; then
		msg "bench: no result from the $name run (console: $log)"
		rm -f "$base.$name.json"
		failed=1
		continue
	fi
	runs+=("$name")
	cut_marked TRACE "$res" >>"$base.trace"
	cut_marked PROFILE "$res" >>"$base.profile"
	cut_marked CSV "$res" | awk -v mode="$mode" -v smp="$smp" -v first=$((${#runs[@]} == 1)) '
		NR == 1 { if (first) print "mode,smp," $0; next } { print mode "," smp "," $0 }' >>"$base.csv"
done
if ((${#runs[@]} == 0)); then
	[[ -s $base.gst.md ]] || die "no benchmark results"
	echo
	cat "$base.gst.md"
	echo
	echo "results: $(ls "$base".* | tr '\n' ' ')"
	exit $failed
fi
[[ -s $base.trace ]] || rm -f "$base.trace"
[[ -s $base.profile ]] || rm -f "$base.profile"

host="$(nproc)-core $(. /etc/os-release && echo "$PRETTY_NAME") host, QEMU $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p') ${ACCEL:-tcg}"
jq -s --arg kernel "$KVER" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg host "$host" --arg names "${runs[*]}" \
	'{kernel: $kernel, date: $date, host: $host,
	  runs: [($names | split(" ")) as $n | range(0; length) as $i
		 | {mode: ($n[$i] | sub("-smp.*"; "")),
		    smp: ($n[$i] | sub(".*-smp"; "") | tonumber), result: .[$i]}]}' \
	$(for r in "${runs[@]}"; do echo "$base.$r.json"; done) >"$base.json"
for r in "${runs[@]}"; do rm -f "$base.$r.json"; done

# The Markdown tables: instructions, then TCG time
jq -r -f "$ROOT/bench/report.jq" "$base.json" >"$base.md"
[[ ! -s $base.gst.md ]] || { echo; cat "$base.gst.md"; } >>"$base.md"
echo
cat "$base.md"
if [[ -f $base.profile ]]; then
	echo
	echo "Per function, from the one-vCPU icount run's function_graph trace:"
	cat "$base.profile"
fi
# Instruction counts repeat: against the last run on this kernel, if any
prev=$(ls "$out/$KVER"-????????-??????.json 2>/dev/null | grep -vxF "$base.json" | tail -n 1 || true)
if [[ -n $prev ]]; then
	echo
	jq -n -r --slurpfile a "$prev" --slurpfile b "$base.json" \
		--arg an "${prev##*/}" -f "$ROOT/bench/compare.jq" ||
		msg "bench: cannot compare with $prev"
fi
echo
echo "results: $(ls "$base".* | tr '\n' ' ')"
exit $failed
