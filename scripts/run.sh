#!/bin/bash
# make run: boot one kernel with the module, vivid and the demo programs,
# show what each printed, unload the modules and power off. Then, if
# examples/gst-camera.sh exists, a second VM in userland mode
# (scripts/userland.sh) runs it: GStreamer on this machine's root, vivid
# capturing into ksalloc frames. Exits 0 only if insmod, every program and
# rmmod succeeded and the kernel showed no splat, in every VM.
#
# Usage: scripts/run.sh DEMO-PROGRAM...   (run in the order given)
# Environment: KERNEL=6.1 (a name kernel.sh knows), USERLAND_MEM=2048M
# (the userland VM's memory), and those of vm-run.sh.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

(($#)) || die "usage: run.sh DEMO-PROGRAM..."
demos=("$@")
KERNEL=${KERNEL:-6.1}
for demo in "${demos[@]}"; do
	[[ -x $demo ]] || die "no demo program $demo"
done
camera=$ROOT/examples/gst-camera.sh

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

# show TAG [INITRAMFS-OPTION...] -- [VM-RUN-OPTION...] -- PROGRAM...: one
# VM ($kdir/TAG.cpio, console $LOGS/$KVER.TAG.log) with these programs;
# what they printed, then the results. False if anything failed.
show() {
	local tag=$1 iargs=() vargs=() demo vmrc=0 fail t0
	shift
	while [[ $1 != -- ]]; do iargs+=("$1"); shift; done
	shift
	while [[ $1 != -- ]]; do vargs+=("$1"); shift; done
	shift
	for demo in "$@"; do iargs+=(-t "$demo"); done
	"$ROOT/scripts/initramfs.sh" -o "$kdir/$tag.cpio" -m "$kdir/module/ksalloc.ko" "${iargs[@]}" ||
		return 1
	printf '%s\n' "${@##*/}" >"$kdir/$tag.list"

	echo "booting $VMLINUZ (${ACCEL:-tcg}, smp ${SMP:-2}, ${MEM:-1024M}); console: $LOGS/$KVER.$tag.log"
	t0=$SECONDS
	"$ROOT/scripts/vm-run.sh" -k "$VMLINUZ" -i "$kdir/$tag.cpio" "${vargs[@]}" \
		-l "$LOGS/$KVER.$tag.log" -r "$LOGS/$KVER.$tag.results" || vmrc=$?
	echo "(the VM ran $((SECONDS - t0)) s)"

	echo "---- kernel messages about ksalloc"
	tr -d '\r' <"$LOGS/$KVER.$tag.log" | grep -aE '\] .*ksalloc' || echo "(none)"
	for demo in "$@"; do
		echo "---- ${demo##*/}"
		tr -d '\r' <"$LOGS/$KVER.$tag.results" | awk -v n="${demo##*/}" '
			$0 == "KSA: begin " n { on = 1; next }
			on && index($0, "KSA: end " n " rc=") == 1 { print "(" substr($0, 6) ")"; on = 0; next }
			on { print }'
	done
	echo "----"
	rm -f "$kdir/$tag.counts.tmp"
	"$ROOT/scripts/parse-results.sh" -r "$LOGS/$KVER.$tag.results" -l "$LOGS/$KVER.$tag.log" \
		-n "$KVER${tag#run}" -t "$kdir/$tag.list" -e "$vmrc" -c "$kdir/$tag.counts.tmp" \
		>"$kdir/$tag.report"
	read -r _ fail _ <"$kdir/$tag.counts.tmp"
	rm -f "$kdir/$tag.counts.tmp"
	cat "$kdir/$tag.report"
	((fail == 0))
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
rc=0
show run "${pargs[@]}" -- -- "${demos[@]}" || rc=1

# The camera pipeline: the userland VM, vivid with its default parameters
[[ -x $camera ]] || exit $rc
echo
echo "== the GStreamer camera pipeline ($camera), in userland mode"
"$ROOT/scripts/userland.sh" host >"$LOGS/userland-host.log" 2>&1 || {
	tail -n 30 "$LOGS/userland-host.log" >&2
	die "the host side of the userland mode failed (log: $LOGS/userland-host.log)"
}
urc=0
why=$("$ROOT/scripts/userland.sh" modules "$KMODS" "$kdir/run-userland") || urc=$?
if ((urc == 4)); then
	echo "  skip    the camera pipeline: $why"
	exit $rc
fi
((urc == 0)) || die "no userland VM on $KVER: ${why:-its modules}"
MEM=${USERLAND_MEM:-2048M} show run-gst -u -B "$kdir/run-userland/boot" -P "$kdir/run-userland/peers" \
	-- -H -- "$camera" || rc=1
exit $rc
