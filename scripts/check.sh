#!/bin/bash
# make check: lint, then on each kernel of KERNELS build the module, boot
# it in QEMU with every selftest and count the results. Ends with the line
# "N passed, M failed[, K skipped]" (summed over lint and all kernels) and
# exits 1 if anything failed.
#
# Environment (see also vm-run.sh):
#   KERNELS="6.1 6.12"  kernel names (kernel.sh list: 6.1, 6.12, 6.12-rt,
#                       7.2, 7.2-rt, sid, sid-rt, and debug: the debug
#                       kernel of scripts/debug-kernel.sh, built the first
#                       time; it runs with more memory and time, see
#                       kernel.sh, and adds a kmemleak result). Each is
#                       built W=1 with sparse (build-module.sh --strict):
#                       warnings are one failure of that kernel.
#   TEST_TIMEOUT=300    seconds each test program may run in the VM
#   EXTRA_FILES         more files for the initramfs (initramfs.sh)
#   LINT=0              leave lint out (it is one result otherwise)
#   HOST_CHECKS=0       leave the host-side checks out
#   TESTS="fuzz limits" run only these selftest programs in the VMs (and of
#                       the userland VM's groups, userland and gst, only
#                       those named)
#   GUEST_ENV="KSA_FUZZ_CALLS=4000000 KSA_FUZZ_SEED=7"  NAME=VALUE words
#                       for the test programs on every kernel, after what
#                       kernel.sh sets (the debug kernel's smaller fuzz count)
# Each kernel gets one more VM in userland mode (scripts/userland.sh): the
# groups of scripts/userland/ run chrooted in this machine's root over
# virtio-9p: "userland" (the mode's own smoke tests) and "gst" (the
# GStreamer plugin's selftests/gst/run.sh); a kernel without 9p skips them.
#   USERLAND_MEM=2048M  its memory
#   USERLAND_TEST_TIMEOUT=400  seconds each of its groups may run
# The last result before the total is "host untouched": no kernel package
# and nothing under /boot changed on this machine (host-state.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KERNELS=${KERNELS:-6.1 6.12}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
LINT=${LINT:-1}
HOST_CHECKS=${HOST_CHECKS:-1}
# Each word becomes an export in the guest: a bad name would stop its init
set -f
for e in ${GUEST_ENV-}; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || die "GUEST_ENV: '$e' is not NAME=VALUE"
done
set +f

mkdir -p "$LOGS"
counts=$LOGS/counts
: >"$counts"
t_start=$SECONDS
"$ROOT/scripts/host-state.sh" >"$LOGS/host-state.before"

# result PASS FAIL SKIP: add to the totals
result() { printf '%d %d %d\n' "$1" "$2" "$3" >>"$counts"; }

# The closing line; false if anything failed.
summary() {
	local pass fail skip
	read -r pass fail skip < <(awk '{p += $1; f += $2; s += $3}
		END {print p + 0, f + 0, s + 0}' "$counts")
	echo "== total ($KERNELS) in $((SECONDS - t_start)) s"
	if ((skip)); then
		echo "$pass passed, $fail failed, $skip skipped"
	else
		echo "$pass passed, $fail failed"
	fi
	((fail == 0))
}

# Nothing kernel-related was installed on this machine, /boot is as it
# was, and no build root mount is left.
host_untouched() {
	echo "== host"
	if "$ROOT/scripts/host-state.sh" diff "$LOGS/host-state.before" >"$LOGS/host-state.diff"; then
		echo "  ok      host untouched (no kernel package, /boot, mounts)"
		result 1 0 0
	else
		sed 's/^/          | /' "$LOGS/host-state.diff"
		echo "  FAIL    host untouched: the run changed kernel packages, /boot or mounts"
		result 0 1 0
	fi
}

# A step that should not fail did: count it and still close properly.
aborted() {
	trap - ERR
	echo "  FAIL    make check stopped early (line $1 of ${BASH_SOURCE[0]})"
	result 0 1 0
	host_untouched
	summary || true
	exit 1
}
set -E
trap 'aborted $LINENO' ERR

"$ROOT/scripts/deps.sh"

# A debug kernel that is not built yet takes half an hour: it builds (or
# is found in the cache) in the background, at a lower priority than the
# test VMs, while lint, the host checks and the other kernels run; the
# debug step waits for it.
dbg_pid=
if [[ " $KERNELS " == *" debug "* ]]; then
	nice -n 10 "$ROOT/scripts/debug-kernel.sh" >/dev/null 2>"$LOGS/debug-kernel.log" &
	dbg_pid=$!
	dbg_t0=$SECONDS
	echo "== debug kernel: made ready in the background (log: $LOGS/debug-kernel.log)"
fi

if [[ $LINT != 0 ]]; then
	echo "== lint"
	# checkpatch and the canaries; every kernel below is built with W=1
	# and sparse anyway.
	if LINT_BUILDS=0 "$ROOT/scripts/lint.sh" >"$LOGS/lint.log" 2>&1; then
		echo "  ok      lint"
		result 1 0 0
	else
		tail -n 40 "$LOGS/lint.log" | sed 's/^/          | /'
		echo "  FAIL    lint (log: $LOGS/lint.log)"
		result 0 1 0
	fi
fi

# Host-side checks, one result each: scripts/host-checks/*.sh (exit 0
# pass, 4 skip, anything else fail).
if [[ $HOST_CHECKS != 0 ]] && compgen -G "$ROOT/scripts/host-checks/*.sh" >/dev/null; then
	echo "== host checks"
	for hc in "$ROOT"/scripts/host-checks/*.sh; do
		n=$(basename "$hc" .sh)
		rc=0
		"$hc" >"$LOGS/host-$n.log" 2>&1 || rc=$?
		if ((rc == 0)); then
			echo "  ok      $n"
			result 1 0 0
		elif ((rc == 4)); then
			echo "  skip    $n ($(tail -n 1 "$LOGS/host-$n.log"))"
			result 0 0 1
		else
			tail -n 20 "$LOGS/host-$n.log" | sed 's/^/          | /'
			echo "  FAIL    $n (log: $LOGS/host-$n.log)"
			result 0 1 0
		fi
	done
fi

echo "== selftests"
# With -k, a test that does not compile leaves the others runnable; only
# programs newer than their source are run.
tests=()
if ! submake -k -C "$ROOT" selftests >"$LOGS/selftests.log" 2>&1; then
	{ grep -E 'error|Error' "$LOGS/selftests.log" || true; } | head -n 30 | sed 's/^/          | /'
	echo "  FAIL    selftests build (log: $LOGS/selftests.log)"
	result 0 1 0
fi
while IFS= read -r name; do
	[[ -n $name ]] || continue
	bin=$BUILD/selftests/$name
	src=$ROOT/selftests/$name
	[[ $name == *.sh ]] || src=$ROOT/selftests/${name%-m32}.c
	if [[ -x $bin && ! $src -nt $bin ]]; then
		tests+=("$bin")
	else
		echo "  -       $name: not built, not run"
	fi
done < <(submake -C "$ROOT" selftests-list 2>/dev/null)
# TESTS="fuzz limits": only those programs run in the VMs.
if [[ -n ${TESTS-} ]]; then
	keep=()
	for t in "${tests[@]}"; do
		[[ " $TESTS " == *" ${t##*/} "* ]] && keep+=("$t")
	done
	tests=("${keep[@]}")
fi
echo "  built   $(for t in "${tests[@]}"; do printf '%s ' "${t##*/}"; done)"
grep -E '^selftests: ' "$LOGS/selftests.log" | sed 's/^/  /' || true

# The userland VM's groups, and what this machine prepares for them once
ugroups=()
for g in userland gst; do
	[[ -n ${TESTS-} && " $TESTS " != *" $g "* ]] || ugroups+=("$g")
done
if ((${#ugroups[@]})); then
	echo "== userland mode"
	if "$ROOT/scripts/userland.sh" host >"$LOGS/userland-host.log" 2>&1; then
		echo "  ok      host side: $(tail -n 1 "$LOGS/userland-host.log")"
		result 1 0 0
	else
		tail -n 30 "$LOGS/userland-host.log" | sed 's/^/          | /'
		echo "  FAIL    host side of the userland mode (log: $LOGS/userland-host.log)"
		result 0 1 0
		ugroups=()
	fi
fi

for name in $KERNELS; do
	echo "== kernel $name"
	# The debug kernel's first build takes long: show its progress as it
	# comes (sed -u), and do not try a failed build a second time.
	if [[ $name == debug ]]; then
		t0=$SECONDS
		brc=0
		if [[ -n $dbg_pid ]]; then
			echo "  waiting for the background build ($((SECONDS - dbg_t0)) s so far)"
			wait "$dbg_pid" || brc=$?
			sed 's/^/  /' "$LOGS/debug-kernel.log"
			t0=$dbg_t0
		else
			"$ROOT/scripts/debug-kernel.sh" 2>&1 >/dev/null | sed -u 's/^/  /' || brc=$?
		fi
		if ((brc)); then
			echo "  FAIL    kernel debug: the build failed"
			result 0 1 0
			continue
		fi
		echo "  built   in $((SECONDS - t0)) s (cached: $("$ROOT/scripts/debug-kernel.sh" --dir))"
	fi
	# What only some kernels set (kernel.sh): VM memory, time limits and
	# environment for the tests.
	KMEM= KVM_TIMEOUT= KTEST_TIMEOUT= KGUEST_ENV= KROOT=
	t0=$SECONDS
	if ! kinfo=$("$ROOT/scripts/kernel.sh" "$name" 2>"$LOGS/kernel-$name.log"); then
		sed 's/^/          | /' "$LOGS/kernel-$name.log"
		echo "  FAIL    kernel $name: not available"
		result 0 1 0
		continue
	fi
	eval "$kinfo"
	export KROOT
	echo "  kernel  $KVER (Debian ${KDIST}${KROOT:+; kbuild in $KROOT}; ready in $((SECONDS - t0)) s)"
	kdir=$BUILD/$KVER
	mem=${KMEM:-${MEM:-1024M}}
	vm_timeout=${KVM_TIMEOUT:-${VM_TIMEOUT:-900}}
	test_timeout=${KTEST_TIMEOUT:-$TEST_TIMEOUT}
	eargs=()
	set -f	# words, not patterns
	for e in $KGUEST_ENV ${GUEST_ENV-}; do eargs+=(-e "$e"); done
	set +f
	brc=0
	"$ROOT/scripts/build-module.sh" --strict "$KHDR" "$kdir" 2>"$LOGS/$KVER.build.log" || brc=$?
	if ((brc == 3)); then
		grep -Ei -A3 'warning:|error:|did not check' "$LOGS/$KVER.build.log" | head -n 30 |
			sed 's/^/          | /'
		echo "  FAIL    $KVER: W=1 and sparse warnings (log: $LOGS/$KVER.build.log)"
		result 0 1 0
	elif ((brc)); then
		tail -n 40 "$LOGS/$KVER.build.log" | sed 's/^/          | /'
		echo "  FAIL    $KVER: module build (log: $LOGS/$KVER.build.log)"
		result 0 1 0
		continue
	else
		echo "  ok      $KVER: module built W=1 with sparse, no warning"
		result 1 0 0
	fi

	# The peer modules (selftests/peers.conf) from this kernel's package
	peers=$kdir/peers
	rm -rf "$peers"
	mapfile -t pnames < <(sed -n 's/^\([a-z0-9_-]\{1,\}\).*/\1/p' "$ROOT/selftests/peers.conf")
	pargs=()
	if ((${#pnames[@]})) && [[ -n $KMODS ]]; then
		if "$ROOT/scripts/peer-modules.sh" -k "$KMODS" "$peers" "${pnames[@]}" \
			2>"$LOGS/$KVER.peers.log"; then
			cp "$ROOT/selftests/peers.conf" "$peers/"
			pargs=(-P "$peers")
			sed 's/^/  note    /' "$LOGS/$KVER.peers.log"
		else
			sed 's/^/          | /' "$LOGS/$KVER.peers.log"
			echo "  FAIL    $KVER: peer modules"
			result 0 1 0
		fi
	fi

	# run_vm LABEL CMDLINE PROGRAM...: one VM boot with these programs
	run_vm() {
		local label=$1 cmdline=$2 t vmrc=0 t0 targs=() cpio=$kdir/initramfs-$1.cpio
		shift 2
		for t in "$@"; do targs+=(-t "$t"); done
		if ! "$ROOT/scripts/initramfs.sh" -o "$cpio" -m "$kdir/module/ksalloc.ko" \
			-c "$kdir/selftests/kmod/ksalloc_client.ko" "${pargs[@]}" "${uargs[@]}" \
			-T "$test_timeout" "${targs[@]}" "${eargs[@]}" 2>"$LOGS/$label.initramfs.log"; then
			sed 's/^/          | /' "$LOGS/$label.initramfs.log"
			echo "  FAIL    $label: initramfs"
			result 0 1 0
			return 0
		fi
		: >"$kdir/$label.tests.list"
		for t in "$@"; do printf '%s\n' "${t##*/}" >>"$kdir/$label.tests.list"; done
		echo "  boot    $VMLINUZ${cmdline:+ $cmdline} (${ACCEL:-tcg}, smp ${SMP:-2}, $mem); console: $LOGS/$label.log"
		[[ -z $KGUEST_ENV${GUEST_ENV-} ]] ||
			echo "  env     $KGUEST_ENV${KGUEST_ENV:+${GUEST_ENV:+ }}${GUEST_ENV-}"
		t0=$SECONDS
		KCMDLINE_EXTRA="${KCMDLINE_EXTRA-}${cmdline:+ $cmdline}" MEM=$mem VM_TIMEOUT=$vm_timeout \
			"$ROOT/scripts/vm-run.sh" -k "$VMLINUZ" -i "$cpio" -l "$LOGS/$label.log" \
			-r "$LOGS/$label.results" "${vargs[@]}" || vmrc=$?
		# A kernel that dies while booting, before the init program's
		# first line, never ran ksalloc: under multi-threaded TCG the
		# kernel's own text patching (int3 of text_poke_bp on another
		# vCPU) can do that. Such a boot, and only that, is tried again
		# once; the first console log is kept.
		if [[ ! -s $LOGS/$label.results ]] &&
			grep -qE 'Oops|Kernel panic' "$LOGS/$label.log" 2>/dev/null; then
			mv "$LOGS/$label.log" "$LOGS/$label.boot-crash.log"
			echo "  note    the kernel died while booting, before any test (console: $LOGS/$label.boot-crash.log): booting again"
			vmrc=0
			KCMDLINE_EXTRA="${KCMDLINE_EXTRA-}${cmdline:+ $cmdline}" MEM=$mem VM_TIMEOUT=$vm_timeout \
				"$ROOT/scripts/vm-run.sh" -k "$VMLINUZ" -i "$cpio" -l "$LOGS/$label.log" \
				-r "$LOGS/$label.results" "${vargs[@]}" || vmrc=$?
		fi
		echo "  vm      ran $((SECONDS - t0)) s"
		VM_TIMEOUT=$vm_timeout "$ROOT/scripts/parse-results.sh" -r "$LOGS/$label.results" \
			-l "$LOGS/$label.log" -n "$label" -t "$kdir/$label.tests.list" -e "$vmrc" -c "$counts"
	}
	# (initramfs.sh and vm-run.sh options of the userland VM)
	uargs=() vargs=()
	# TESTS naming only userland groups: no VM of selftests
	if ((${#tests[@]})) || [[ -z ${TESTS-} ]]; then
		run_vm "$KVER" "" "${tests[@]}"
	fi

	# The variants of selftests/vm-variants.conf: "NAME CMDLINE PROGRAM..."
	while read -r vname vcmd vprogs; do
		[[ -n $vname && $vname != \#* ]] || continue
		vtests=()
		for t in "${tests[@]}"; do
			[[ " $vprogs " == *" ${t##*/} "* ]] && vtests+=("$t")
		done
		((${#vtests[@]})) || continue
		echo "== kernel $name, $vname ($vcmd)"
		run_vm "$KVER+$vname" "$vcmd" "${vtests[@]}"
	done <"$ROOT/selftests/vm-variants.conf"

	# The userland VM: one boot for its groups
	uprogs=()
	for g in "${ugroups[@]}"; do
		if [[ $g == gst && ! -x $ROOT/selftests/gst/run.sh ]]; then
			echo "  skip    gst (no selftests/gst/run.sh)"
			result 0 0 1
		else
			uprogs+=("$ROOT/scripts/userland/$g")
		fi
	done
	((${#uprogs[@]})) || continue
	echo "== kernel $name, userland (${uprogs[*]##*/})"
	urc=0
	why=$("$ROOT/scripts/userland.sh" modules "$KMODS" "$kdir/userland" 2>"$LOGS/$KVER.userland.modules.log") ||
		urc=$?
	if ((urc == 4)); then
		for g in "${uprogs[@]}"; do
			echo "  skip    ${g##*/} ($why)"
			result 0 0 1
		done
		continue
	elif ((urc)); then
		sed 's/^/          | /' "$LOGS/$KVER.userland.modules.log"
		echo "  FAIL    $KVER: the userland VM's modules"
		result 0 1 0
		continue
	fi
	sed -n 's/^note: /  note    /p' "$LOGS/$KVER.userland.modules.log"
	# (each kernel sets these again)
	pargs=(-P "$kdir/userland/peers")
	uargs=(-u -B "$kdir/userland/boot")
	vargs=(-H)
	mem=${USERLAND_MEM:-${KMEM:-2048M}}
	test_timeout=${USERLAND_TEST_TIMEOUT:-400}
	# every group may use its whole limit, and the checks after them run
	vm_timeout=$((test_timeout * ${#uprogs[@]} + 300))
	run_vm "$KVER+userland" "" "${uprogs[@]}"
	tr -d '\r' <"$LOGS/$KVER+userland.results" | sed -n 's/^# \(boot to first command: \)/  note    \1/p'
done

trap - ERR
host_untouched
summary
