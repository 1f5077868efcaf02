#!/bin/bash
# make bench: build the module and bench/ksalloc-bench, boot KERNEL in QEMU
# once per CPU count of BENCH_SMP with the module and the peer modules
# (vgem and what it depends on), run the benchmark, and collect what it
# printed between its markers:
#   build/bench/<kver>-<date>.json   every run: {"kernel", "date", "host",
#                                    "runs": [{"smp", "result"}...]}
#   build/bench/<kver>-<date>.csv    the rows of every run, one line each
#   build/bench/<kver>-<date>.md     the table below, in Markdown
#   build/bench/<kver>-<date>.smpN.trace  function_graph traces of one call
#                                    of each kind (and of one vgem frame)
# and print one table with a column pair per run. The benchmark reports its
# targets; it does not fail on a missed one. Exit 1 only if a VM or the
# benchmark failed.
#
# Environment:
#   KERNEL=6.12        the kernel (a name kernel.sh knows)
#   BENCH_SMP="1 2"    one VM boot per entry, with that many vCPUs
#   BENCH_ARGS         more ksalloc-bench options (-r 9, -q, -k alloc, ...)
#   BENCH_TRACE=1      0: no function_graph trace
# and those of vm-run.sh (ACCEL, MEM, VM_TIMEOUT, ...); SMP is ignored.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KERNEL=${KERNEL:-6.12}
BENCH_SMP=${BENCH_SMP:-1 2}
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

# vgem and what it depends on, from the kernel's own package
if "$ROOT/scripts/peer-modules.sh" "$KMODS" "$files" vgem; then
	msg "bench: peer modules for $KVER: $(tr '\n' ' ' <"$files/modules.order")"
else
	: >"$files/modules.order"
	msg "bench: no vgem module for $KVER; the vgem case will be skipped"
fi

# Sizes of the module's structures (DWARF of the .ko), "name size" lines
pahole -C ksalloc_allocator,ksa_pool,ksa_frame,ksa_pin "$kdir/module/ksalloc.ko" 2>/dev/null |
	awk '/^struct [a-z_]+ \{/ { n = $2 } /\/\* size: / { s = $3; sub(",", "", s); print n, s }' \
	>"$files/struct-sizes" || true

args=$BENCH_ARGS
[[ $BENCH_TRACE == 0 ]] || args+=" -g"
printf '%s\n' "$args" >"$files/args"

extras=()
for f in "$files"/*; do
	extras+=(-f "$f:/ksalloc/extra/bench/${f##*/}")
done
"$ROOT/scripts/initramfs.sh" -o "$kdir/bench.cpio" -m "$kdir/module/ksalloc.ko" \
	-T "$BENCH_TIMEOUT" -t "$ROOT/bench/ksalloc-bench.sh" "${extras[@]}"
printf 'ksalloc-bench.sh\n' >"$kdir/bench.list"

# cut NAME FILE: the lines between KSA-BENCH-NAME-BEGIN and -END
cut_marked() {
	tr -d '\r' <"$2" | awk -v b="KSA-BENCH-$1-BEGIN" -v e="KSA-BENCH-$1-END" '
		$0 == e { on = 0 } on { print } $0 == b { on = 1 }'
}

stamp=$(date +%Y%m%d-%H%M%S)
base=$out/$KVER-$stamp
failed=0
runs=()
for smp in $BENCH_SMP; do
	log=$LOGS/$KVER.bench-smp$smp.log
	res=$LOGS/$KVER.bench-smp$smp.results
	echo "== bench $KVER, smp $smp (${ACCEL:-tcg}, ${MEM:-1024M}); console: $log"
	t0=$SECONDS
	vmrc=0
	SMP=$smp "$ROOT/scripts/vm-run.sh" -k "$VMLINUZ" -i "$kdir/bench.cpio" \
		-l "$log" -r "$res" || vmrc=$?
	echo "   vm ran $((SECONDS - t0)) s"
	# The program's own table, and anything the VM reported as wrong
	tr -d '\r' <"$res" | grep -a '^bench: ' || true
	tr -d '\r' <"$res" | sed -n '/^ksalloc-bench: kernel /,/^KSA-BENCH-/p' | sed '$d'
	rm -f "$kdir/bench.counts"
	"$ROOT/scripts/parse-results.sh" -r "$res" -l "$log" -n "$KVER smp $smp" \
		-t "$kdir/bench.list" -e "$vmrc" -c "$kdir/bench.counts" >"$kdir/bench.report"
	read -r _ fail _ <"$kdir/bench.counts"
	if ((fail)); then
		cat "$kdir/bench.report"
		failed=1
	fi
	cut_marked JSON "$res" >"$base.smp$smp.json"
	if [[ ! -s $base.smp$smp.json ]] || ! jq -e . "$base.smp$smp.json" >/dev/null 2>&1; then
		msg "bench: no result from the smp $smp run (console: $log)"
		rm -f "$base.smp$smp.json"
		failed=1
		continue
	fi
	runs+=("$smp")
	if [[ $BENCH_TRACE != 0 ]]; then
		cut_marked TRACE "$res" >"$base.smp$smp.trace"
	fi
	cut_marked CSV "$res" | awk -v smp="$smp" -v first=$((${#runs[@]} == 1)) '
		NR == 1 { if (first) print "smp," $0; next } { print smp "," $0 }' >>"$base.csv"
done
((${#runs[@]})) || die "no benchmark results"

host="$(nproc)-core $(. /etc/os-release && echo "$PRETTY_NAME") host, QEMU $(qemu-system-x86_64 --version | sed -n '1s/.*version \([^ ]*\).*/\1/p') ${ACCEL:-tcg}"
smps=$(printf '%s\n' "${runs[@]}" | jq -s .)
jq -s --arg kernel "$KVER" --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg host "$host" --argjson smps "$smps" \
	'{kernel: $kernel, date: $date, host: $host,
	  runs: [range(0; length) as $i | {smp: $smps[$i], result: .[$i]}]}' \
	$(for s in "${runs[@]}"; do echo "$base.smp$s.json"; done) >"$base.json"
for s in "${runs[@]}"; do rm -f "$base.smp$s.json"; done

# One Markdown table: a value and ratio column per run
jq -r -f "$ROOT/bench/report.jq" "$base.json" >"$base.md"
echo
cat "$base.md"
echo
echo "results: $(ls "$base".* | tr '\n' ' ')"
exit $failed
