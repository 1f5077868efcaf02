#!/bin/bash
# Boot a kernel and an initramfs in QEMU until the guest powers off, with a
# time bound. The console (ttyS0) goes to one file, the guest's results
# port (ttyS1) to another.
#
# Usage: scripts/vm-run.sh -k VMLINUZ -i INITRAMFS -l CONSOLE.log -r RESULTS.log [-H]
#   -H  share this machine's root read-only with the guest over virtio-9p
#       (mount tag hostroot): the userland mode of initramfs.sh (-u)
# Environment:
#   ACCEL=tcg          QEMU accelerator (kvm, kvm:tcg on real hardware)
#   SMP=2 MEM=1024M    guest CPUs and memory
#   VM_TIMEOUT=900     seconds before the VM is killed
#   KCMDLINE_EXTRA     appended to the kernel command line
#   QEMU_EXTRA         extra QEMU arguments (word-split)
# Exit: 0 when QEMU ended by itself, 124 when the VM was killed at
# VM_TIMEOUT, QEMU's status otherwise.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ACCEL=${ACCEL:-tcg}
SMP=${SMP:-2}
MEM=${MEM:-1024M}
VM_TIMEOUT=${VM_TIMEOUT:-900}
# A stalled or locked-up guest fails the run anyway (the splat check):
# panic, and so power off, at once rather than at the VM time limit.
KCMDLINE="console=ttyS0,115200 panic=-1 loglevel=7 ia32_emulation=1"
KCMDLINE+=" sysctl.kernel.panic_on_rcu_stall=1 softlockup_panic=1 ${KCMDLINE_EXTRA-}"

kernel= initrd= log= res= hostroot=()
while getopts 'k:i:l:r:H' opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	i) initrd=$OPTARG ;;
	l) log=$OPTARG ;;
	r) res=$OPTARG ;;
	# multidevs=remap: / spans several file systems (st_dev), whose
	# inode numbers would otherwise collide in the guest
	H) hostroot=(-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap) ;;
	*) die "usage: vm-run.sh -k VMLINUZ -i INITRAMFS -l CONSOLE.log -r RESULTS.log [-H]" ;;
	esac
done
[[ -n $kernel && -n $initrd && -n $log && -n $res ]] ||
	die "usage: vm-run.sh -k VMLINUZ -i INITRAMFS -l CONSOLE.log -r RESULTS.log"
[[ -r $kernel ]] || die "cannot read kernel $kernel"
command -v qemu-system-x86_64 >/dev/null || "$ROOT/scripts/deps.sh" qemu-system-x86

read -r -a extra <<<"${QEMU_EXTRA-}"
mkdir -p "$(dirname "$log")" "$(dirname "$res")"
: >"$log"
: >"$res"

rc=0
timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 \
	-accel "$ACCEL" -smp "$SMP" -m "$MEM" \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$kernel" -initrd "$initrd" -append "$KCMDLINE" \
	-chardev "file,id=con,path=$log" -serial chardev:con \
	-chardev "file,id=res,path=$res" -serial chardev:res \
	"${hostroot[@]}" "${extra[@]}" </dev/null >>"$log" 2>&1 || rc=$?
if ((rc == 124 || rc == 137)); then
	msg "vm: no power-off within ${VM_TIMEOUT}s, killed (console: $log)"
	exit 124
fi
exit $rc
