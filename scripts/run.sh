#!/bin/bash
# make run: boot one kernel with the module, vivid and the demo programs,
# show what each printed, unload the modules and power off. Exits 0 only if
# insmod, every program and rmmod succeeded and the kernel showed no splat.
#
# Usage: scripts/run.sh DEMO-PROGRAM...   (run in the order given)
# Environment: KERNEL=6.1 (a name kernel.sh knows), and those of vm-run.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

(($#)) || die "usage: run.sh DEMO-PROGRAM..."
demos=("$@")
KERNEL=${KERNEL:-6.1}
for demo in "${demos[@]}"; do
	[[ -x $demo ]] || die "no demo program $demo"
done

"$ROOT/scripts/deps.sh"
KROOT=
eval "$("$ROOT/scripts/kernel.sh" "$KERNEL")"
export KROOT
kdir=$BUILD/$KVER
mkdir -p "$LOGS" "$kdir"
"$ROOT/scripts/build-module.sh" "$KHDR" "$kdir" 2>"$LOGS/$KVER.build.log" || {
	cat "$LOGS/$KVER.build.log" >&2
	die "module build against $KVER failed"
}
# vivid from this kernel's own package, with the parameters of
# selftests/peers.conf, for the capture demo (as make check loads it)
peers=$kdir/run-peers
rm -rf "$peers"
pargs=()
if [[ -n ${KMODS-} ]] && "$ROOT/scripts/peer-modules.sh" -k "$KMODS" "$peers" vivid; then
	cp "$ROOT/selftests/peers.conf" "$peers/"
	pargs=(-P "$peers")
fi
targs=()
for demo in "${demos[@]}"; do targs+=(-t "$demo"); done
"$ROOT/scripts/initramfs.sh" -o "$kdir/run.cpio" -m "$kdir/module/ksalloc.ko" "${pargs[@]}" "${targs[@]}"
printf '%s\n' "${demos[@]##*/}" >"$kdir/run.list"

echo "booting $VMLINUZ (${ACCEL:-tcg}, smp ${SMP:-2}, ${MEM:-1024M}); console: $LOGS/$KVER.run.log"
vmrc=0
"$ROOT/scripts/vm-run.sh" -k "$VMLINUZ" -i "$kdir/run.cpio" \
	-l "$LOGS/$KVER.run.log" -r "$LOGS/$KVER.run.results" || vmrc=$?

echo "---- kernel messages about ksalloc"
tr -d '\r' <"$LOGS/$KVER.run.log" | grep -aE '\] .*ksalloc' || echo "(none)"
for demo in "${demos[@]}"; do
	echo "---- ${demo##*/}"
	tr -d '\r' <"$LOGS/$KVER.run.results" | awk -v n="${demo##*/}" '
		$0 == "KSA: begin " n { on = 1; next }
		on && index($0, "KSA: end " n " rc=") == 1 { print "(" substr($0, 6) ")"; on = 0; next }
		on { print }'
done
echo "----"
rm -f "$kdir/run.counts.tmp"
"$ROOT/scripts/parse-results.sh" -r "$LOGS/$KVER.run.results" -l "$LOGS/$KVER.run.log" \
	-n "$KVER" -t "$kdir/run.list" -e "$vmrc" -c "$kdir/run.counts.tmp" >"$kdir/run.report"
read -r _ fail _ <"$kdir/run.counts.tmp"
rm -f "$kdir/run.counts.tmp"
cat "$kdir/run.report"
((fail == 0))
