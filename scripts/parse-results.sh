#!/bin/bash
# Turn one VM run into test results.
#
# Usage: scripts/parse-results.sh -r RESULTS.log -l CONSOLE.log -n LABEL
#                                 [-t TESTS.list] [-e VM-STATUS] [-c COUNTS]
#   -r  the guest's results port (protocol lines "KSA: ...", program output,
#       the dmesg dump), -l the console log, -n the name used in messages
#   -t  the programs that should have run, -e vm-run.sh's exit status
#   -c  file to append "PASSED FAILED SKIPPED" to
#
# Counting:
#   insmod, rmmod, module-gone        one result each (insmod and rmmod
#                                     also for the test client)
#   harness lines in a program        "ok N", "not ok N", "ok N # SKIP"
#   a program exiting non-zero        one failure (crash, timeout, signal)
#     without any "not ok"
#   a program exiting 4 (KSFT_SKIP)   one skip
#     with no results
#   a program exiting 0 with no       one pass
#     results
#   kernel splat                      one result: fails on any line of
#                                     SPLAT_RE in the kernel's messages or a
#                                     warning/die/bad-page/lockup taint
#   kmemleak (debug kernels)          one result: fails on a suspected leak
#                                     of ours: naming ksalloc (ksa_*,
#                                     [ksalloc], ksalloc_client) or
#                                     allocated by insmod, rmmod or a test
#                                     program; other suspects are listed as
#                                     a note
#   the VM not finishing              one failure (also each program cut off)
# Prints the failures and skips in detail and a summary line; exit 0.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# Kernel messages that mean something went wrong.
SPLAT_RE='BUG:|WARNING:|Oops|KASAN|UBSAN|possible circular locking|possible recursive locking'
SPLAT_RE+='|hung_task|blocked for more than|general protection|Call Trace:'
SPLAT_RE+='|kernel BUG at|Kernel panic|unreferenced object'
# kmemleak giving up (its report would then prove nothing); its reports
# themselves are counted separately.
SPLAT_RE+='|kmemleak: (.*disabled|Cannot|Memory pool empty|Out of memory)'
# Messages of the stock kernels under QEMU that match SPLAT_RE but are
# harmless (none needed so far for Debian 6.1 and 6.12).
SPLAT_OK_RE=${SPLAT_OK_RE:-'^$'}
# Taint bits that mean trouble: B bad page (5), D died (7), W warning (9),
# L soft lockup (14), M machine check (4).
TAINT_BAD=$(((1 << 4) | (1 << 5) | (1 << 7) | (1 << 9) | (1 << 14)))

res= log= label=vm tests= vmrc=0 counts=
while getopts 'r:l:n:t:e:c:' opt; do
	case $opt in
	r) res=$OPTARG ;;
	l) log=$OPTARG ;;
	n) label=$OPTARG ;;
	t) tests=$OPTARG ;;
	e) vmrc=$OPTARG ;;
	c) counts=$OPTARG ;;
	*) die "usage: parse-results.sh -r RESULTS -l CONSOLE -n LABEL [-t LIST] [-e RC] [-c COUNTS]" ;;
	esac
done
[[ -f $res && -f $log ]] || die "parse-results.sh: missing results or console log"

pass=0 fail=0 skip=0
ok()    { pass=$((pass + 1)); printf '  ok      %s\n' "$*"; }
notok() { fail=$((fail + 1)); printf '  FAIL    %s\n' "$*"; }
skipped() { skip=$((skip + 1)); printf '  skip    %s\n' "$*"; }
# Passes are many: only the failures and skips are listed one by one.
quiet_ok() { pass=$((pass + 1)); }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tr -d '\r' <"$res" >"$tmp/res"

# --- protocol and harness lines -------------------------------------------
prog= done= taint= section= ppass=0 pfail=0 pskip=0 kmemleak_ran=
declare -A begun=()
: >"$tmp/dmesg" >"$tmp/kmemleak" >"$tmp/diag"
while IFS= read -r line; do
	case $section in
	dmesg)
		if [[ $line == 'KSA: dmesg-end' ]]; then section=; else printf '%s\n' "$line" >>"$tmp/dmesg"; fi
		continue ;;
	kmemleak)
		if [[ $line == 'KSA: kmemleak-end' ]]; then section=; else printf '%s\n' "$line" >>"$tmp/kmemleak"; fi
		continue ;;
	esac
	case $line in
	'KSA: dmesg-begin') section=dmesg ;;
	'KSA: kmemleak-begin'*) section=kmemleak; kmemleak_ran=1 ;;
	'KSA: done') done=1 ;;
	'KSA: boot '*) printf '  guest   %s\n' "${line#KSA: boot }"; : >"$tmp/diag" ;;
	'KSA: taint '*) taint=${line#KSA: taint } ;;
	'KSA: ok '*) ok "${line#KSA: ok }"; : >"$tmp/diag" ;;
	'KSA: not ok '*)
		tail -n 15 "$tmp/diag" | sed 's/^/          | /'
		: >"$tmp/diag"
		notok "${line#KSA: not ok }" ;;
	'KSA: begin '*)
		prog=${line#KSA: begin }
		begun[$prog]=1
		ppass=0 pfail=0 pskip=0
		: >"$tmp/diag" ;;
	'KSA: end '*)
		rest=${line#KSA: end }
		secs=
		if [[ $rest == *' secs='* ]]; then
			secs=", ${rest##* secs=} s"
			rest=${rest% secs=*}
		fi
		name=${rest% rc=*}
		rc=${rest##* rc=}
		[[ $rc =~ ^[0-9]+$ ]] || rc=255
		if ((pfail == 0 && rc != 0)); then
			if ((rc == 4 && ppass == 0 && pskip == 0)); then
				skipped "$name (exit 4: skipped)"
			elif ((rc != 4)); then	# exit 4 after results: they count
				case $rc in
				124 | 137 | 143) why="killed at the time limit or by a signal" ;;
				*) why="exit status $rc"; ((rc > 128)) && why="killed by signal $((rc - 128))" ;;
				esac
				tail -n 15 "$tmp/diag" | sed 's/^/          | /'
				notok "$name: $why"
			fi
		elif ((rc == 0 && ppass + pfail + pskip == 0)); then
			ok "$name (exit 0)"
		fi
		((ppass + pfail + pskip == 0)) ||
			printf '  total   %s\n' "$name: $ppass passed, $pfail failed, $pskip skipped (exit $rc$secs)"
		prog= ;;
	*)
		if [[ -z $prog ]]; then		# e.g. what a failing insmod said
			printf '%s\n' "$line" >>"$tmp/diag"
			continue
		fi
		if [[ $line =~ ^(not\ )?ok\ [0-9]+(\ (.*))?$ ]]; then
			desc=${BASH_REMATCH[3]}
			if [[ -n ${BASH_REMATCH[1]} ]]; then
				tail -n 12 "$tmp/diag" | sed 's/^/          | /'
				pfail=$((pfail + 1))
				notok "$prog: $desc"
			elif [[ $desc =~ \#\ *[Ss][Kk][Ii][Pp] ]]; then
				pskip=$((pskip + 1))
				skipped "$prog: $desc"
			else
				ppass=$((ppass + 1))
				quiet_ok
			fi
			: >"$tmp/diag"
		else
			printf '%s\n' "$line" >>"$tmp/diag"
		fi ;;
	esac
done <"$tmp/res"

# A program cut off by the VM dying, and those that never started.
if [[ -n $prog ]]; then
	tail -n 15 "$tmp/diag" | sed 's/^/          | /'
	notok "$prog: did not finish (the VM stopped during it)"
fi
if [[ -n $tests && -f $tests ]]; then
	while IFS= read -r t; do
		[[ -z $t || -n ${begun[$t]-} ]] || printf '  -       %s: not run\n' "$t"
	done <"$tests"
fi
if [[ -z $done ]]; then
	if ((vmrc == 124)); then
		notok "vm: killed, no power-off within ${VM_TIMEOUT:-the time limit}s"
	else
		notok "vm: stopped before the end of the tests (status $vmrc; panic?)"
	fi
fi

# --- kernel splats ---------------------------------------------------------
# Kernel lines only ("[   12.345678] ..."), from the console (all there is
# when the VM died) and from the dmesg dump (complete, even where the
# console lost lines); the same message from both counts once.
{
	tr -d '\r' <"$log" | grep -aoE '\[ *[0-9]+\.[0-9]+\] .*' || true
	cat "$tmp/dmesg"
} >"$tmp/klog"
grep -aE "$SPLAT_RE" "$tmp/klog" | grep -avE "$SPLAT_OK_RE" | awk '!seen[$0]++' >"$tmp/splat" || true
reasons=()
if [[ -s $tmp/splat ]]; then
	reasons+=("kernel messages")
	# The first splat with what follows it (the trace), then every other
	# line that matched.
	first=$(head -n 1 "$tmp/splat")
	grep -aF -m 1 -A 30 -- "$first" "$tmp/klog" >"$tmp/block" || true
	sed 's/^/          | /' "$tmp/block"
	grep -avxFf "$tmp/block" "$tmp/splat" | head -n 20 | sed 's/^/          | /' || true
fi
if [[ $taint =~ ^[0-9]+$ ]] && ((taint & TAINT_BAD)); then
	letters=
	for b in 4:M 5:B 7:D 9:W 14:L; do
		((taint & (1 << ${b%%:*}))) && letters+=${b#*:}
	done
	reasons+=("taint $taint ($letters)")
fi
if ((${#reasons[@]})); then
	notok "no kernel splat: $(IFS=,; echo "${reasons[*]}") (console: $log)"
else
	ok "no kernel splat"
fi

# --- kmemleak --------------------------------------------------------------
# Blocks start with "unreferenced object"; ours name the module or were
# allocated by a task of ours (comm is cut to 15 characters).
if [[ -n $kmemleak_ran ]]; then
	comms='insmod|rmmod'
	if [[ -n $tests && -f $tests ]]; then
		while IFS= read -r t; do
			[[ -n $t ]] && comms+="|$(printf '%s' "${t:0:15}" | sed 's/[].[^$*+?(){}|\\]/\\&/g')"
		done <"$tests"
	fi
	awk -v ours="$tmp/leak-ours" -v others="$tmp/leak-others" -v comms="$comms" '
		function flush() {
			if (block == "") return
			if (block ~ /ksalloc|[^a-z_]ksa_/ || block ~ ("comm \"(" comms ")\"")) {
				printf "%s", block > ours; n_ours++
			} else {
				printf "%s", block > others; n_others++
			}
			block = ""
		}
		/unreferenced object/ { flush() }
		{ block = block $0 "\n" }
		END { flush(); print n_ours + 0, n_others + 0 }
	' "$tmp/kmemleak" >"$tmp/leak-counts"
	read -r n_ours n_others <"$tmp/leak-counts"
	if ((n_others)); then
		printf '  note    kmemleak: %d suspected leak(s) not of ksalloc (first below)\n' "$n_others"
		head -n 12 "$tmp/leak-others" | sed 's/^/          | /'
	fi
	if ((n_ours)); then
		sed 's/^/          | /' "$tmp/leak-ours" | head -n 200
		notok "no memory leak (kmemleak): $n_ours suspected leak(s) of ksalloc or its tests"
	else
		ok "no memory leak (kmemleak)"
	fi
fi

printf '%s: %d passed, %d failed, %d skipped (console: %s)\n' "$label" "$pass" "$fail" "$skip" "$log"
[[ -z $counts ]] || printf '%d %d %d\n' "$pass" "$fail" "$skip" >>"$counts"
