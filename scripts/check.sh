#!/bin/bash
# make check: lint, then on each kernel of KERNELS build the module, boot
# it in QEMU with every selftest and count the results. Ends with the line
# "N passed, M failed[, K skipped]" (summed over lint and all kernels) and
# exits 1 if anything failed.
#
# Environment (see also vm-run.sh):
#   KERNELS="6.1 6.12"  kernel names (6.1, 6.12, 6.12-rt, and debug: the
#                       debug kernel of scripts/debug-kernel.sh, built
#                       the first time; it runs with more memory and time,
#                       see kernel.sh, and adds a kmemleak result)
#   TEST_TIMEOUT=300    seconds each test program may run in the VM
#   EXTRA_FILES         more files for the initramfs (initramfs.sh)
#   LINT=0              leave lint out (it is one result otherwise)
#   HOST_CHECKS=0       leave the host-side checks out
#   TESTS="fuzz limits" run only these selftest programs in the VMs
set -euo pipefail
. "$(dirname "$0")/lib.sh"

KERNELS=${KERNELS:-6.1 6.12}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
LINT=${LINT:-1}
HOST_CHECKS=${HOST_CHECKS:-1}

mkdir -p "$LOGS"
counts=$LOGS/counts
: >"$counts"
t_start=$SECONDS

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

# A step that should not fail did: count it and still close properly.
aborted() {
	trap - ERR
	echo "  FAIL    make check stopped early (line $1 of ${BASH_SOURCE[0]})"
	result 0 1 0
	summary || true
	exit 1
}
set -E
trap 'aborted $LINENO' ERR

"$ROOT/scripts/deps.sh"

if [[ $LINT != 0 ]]; then
	echo "== lint"
	if "$ROOT/scripts/lint.sh" >"$LOGS/lint.log" 2>&1; then
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

for name in $KERNELS; do
	echo "== kernel $name"
	# The debug kernel's first build takes long: show its progress as it
	# comes (sed -u), and do not try a failed build a second time.
	if [[ $name == debug ]]; then
		t0=$SECONDS
		if ! "$ROOT/scripts/debug-kernel.sh" 2>&1 >/dev/null | sed -u 's/^/  /'; then
			echo "  FAIL    kernel debug: the build failed"
			result 0 1 0
			continue
		fi
		echo "  built   in $((SECONDS - t0)) s (cached: $("$ROOT/scripts/debug-kernel.sh" --dir))"
	fi
	# What only some kernels set (kernel.sh): VM memory, time limits and
	# environment for the tests.
	KMEM= KVM_TIMEOUT= KTEST_TIMEOUT= KGUEST_ENV=
	if ! kinfo=$("$ROOT/scripts/kernel.sh" "$name" 2>"$LOGS/kernel-$name.log"); then
		sed 's/^/          | /' "$LOGS/kernel-$name.log"
		echo "  FAIL    kernel $name: not available"
		result 0 1 0
		continue
	fi
	eval "$kinfo"
	kdir=$BUILD/$KVER
	mem=${KMEM:-${MEM:-1024M}}
	vm_timeout=${KVM_TIMEOUT:-${VM_TIMEOUT:-900}}
	test_timeout=${KTEST_TIMEOUT:-$TEST_TIMEOUT}
	eargs=()
	for e in $KGUEST_ENV; do eargs+=(-e "$e"); done
	if ! "$ROOT/scripts/build-module.sh" "$KHDR" "$kdir" 2>"$LOGS/$KVER.build.log"; then
		tail -n 40 "$LOGS/$KVER.build.log" | sed 's/^/          | /'
		echo "  FAIL    $KVER: module build (log: $LOGS/$KVER.build.log)"
		result 0 1 0
		continue
	fi

	targs=()
	for t in "${tests[@]}"; do targs+=(-t "$t"); done
	if ! "$ROOT/scripts/initramfs.sh" -o "$kdir/initramfs.cpio" -m "$kdir/module/ksalloc.ko" \
		-c "$kdir/selftests/kmod/ksalloc_client.ko" \
		-T "$test_timeout" "${targs[@]}" "${eargs[@]}" 2>"$LOGS/$KVER.initramfs.log"; then
		sed 's/^/          | /' "$LOGS/$KVER.initramfs.log"
		echo "  FAIL    $KVER: initramfs"
		result 0 1 0
		continue
	fi
	: >"$kdir/tests.list"
	for t in "${tests[@]}"; do printf '%s\n' "${t##*/}" >>"$kdir/tests.list"; done

	echo "  boot    $VMLINUZ (${ACCEL:-tcg}, smp ${SMP:-2}, $mem); console: $LOGS/$KVER.log"
	[[ -z $KGUEST_ENV ]] || echo "  env     $KGUEST_ENV"
	t0=$SECONDS
	vmrc=0
	MEM=$mem VM_TIMEOUT=$vm_timeout "$ROOT/scripts/vm-run.sh" -k "$VMLINUZ" \
		-i "$kdir/initramfs.cpio" -l "$LOGS/$KVER.log" -r "$LOGS/$KVER.results" || vmrc=$?
	echo "  vm      ran $((SECONDS - t0)) s"
	VM_TIMEOUT=$vm_timeout "$ROOT/scripts/parse-results.sh" -r "$LOGS/$KVER.results" \
		-l "$LOGS/$KVER.log" -n "$KVER" -t "$kdir/tests.list" -e "$vmrc" -c "$counts"
done

trap - ERR
summary
