#!/bin/busybox sh
# /init of the ksalloc test VM (busybox initramfs built by initramfs.sh).
#
# Mounts the usual file systems, loads ksalloc.ko, then the test client
# ksalloc_client.ko (it needs ksalloc's symbols), then the peer modules of
# /ksalloc/peers (the test kernel's own vgem, vivid...: modules.order, with
# the parameters of peers.conf), runs every program of /ksalloc/tests.list
# with a time limit, unloads the peers (which must have let go of every
# ksalloc buffer), the client and the module, dumps the kernel log and
# powers off. Everything the host parses is
# written to the console and to the second serial port (/dev/ttyS1), which
# carries no kernel messages; its lines of its own start with "KSA: ".
# Settings come from /ksalloc/config (KSA_TEST_TIMEOUT, KSA_MODULE,
# KSA_CLIENT, KSA_USERLAND, KSA_GST_REGISTRY).
#
# Userland mode (KSA_USERLAND=1, initramfs.sh -u): first the modules of
# /ksalloc/boot (9p over virtio), then the host's root is mounted read-only
# at /host (tag hostroot, vm-run.sh -H) with proc, sysfs, devtmpfs and
# tmpfs (/tmp, /run, /dev/shm) inside, and each line of tests.list is a
# program on the host, run chrooted in /host with /ksalloc/chroot.env;
# everything else (modules, time limits, checks) is as in the busybox mode.

/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin /proc /sys /dev /tmp
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/ TERM=dumb

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
[ -d /sys/kernel/tracing ] && mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null

KSA_TEST_TIMEOUT=300
KSA_MODULE=/ksalloc/ksalloc.ko
KSA_CLIENT=
KSA_USERLAND=
KSA_GST_REGISTRY=
. /ksalloc/config

RES=/dev/ttyS1
[ -c $RES ] || RES=/dev/null
stty -F $RES raw -echo 2>/dev/null

# say LINE...: a protocol line, to the console and the results port
say() {
	echo "KSA: $*" | tee -a $RES
}

# Debug kernels (CONFIG_DEBUG_KMEMLEAK): leaks of the tests' time are
# reported in a "kmemleak" section. Objects younger than 5 s are never
# reported, hence two scans with a pause. What boot left behind is cleared
# before the module is loaded, so only what happened since is reported.
KML=/sys/kernel/debug/kmemleak
kmemleak_report() {
	[ -e $KML ] || return 0
	echo scan > $KML 2>/dev/null
	sleep 6
	echo scan > $KML 2>/dev/null
	say "kmemleak-begin $1"
	cat $KML > $RES 2>&1
	say "kmemleak-end"
	# Reported once: the next report has only what is new.
	echo clear > $KML 2>/dev/null
}
if [ -e $KML ]; then
	echo scan > $KML 2>/dev/null
	echo clear > $KML 2>/dev/null
fi

finish() {
	say "taint $(cat /proc/sys/kernel/tainted)"
	# After rmmod: what the module's exit (or init) left behind; module
	# symbols no longer resolve here, so it counts by comm (insmod, rmmod).
	kmemleak_report after-unload
	say "dmesg-begin"
	dmesg > $RES 2>&1
	say "dmesg-end"
	say "done"
	sync
	poweroff -f
}

say "boot $(uname -r) cpus=$(nproc) mem=$(sed -n 's/^MemTotal: *//p' /proc/meminfo)"

if [ -n "$KSA_MODULE" ]; then
	if insmod "$KSA_MODULE" > /tmp/insmod.out 2>&1; then
		say "ok insmod"
	else
		rc=$?
		cat /tmp/insmod.out | tee -a $RES
		say "not ok insmod rc=$rc"
		finish
	fi
fi
# Without the client its tests skip; the others run all the same.
if [ -n "$KSA_MODULE" ] && [ -n "$KSA_CLIENT" ]; then
	if insmod "$KSA_CLIENT" > /tmp/insmod.out 2>&1; then
		say "ok insmod ksalloc_client"
	else
		rc=$?
		cat /tmp/insmod.out | tee -a $RES
		say "not ok insmod ksalloc_client rc=$rc"
	fi
fi

# load_mods DIR: insmod DIR's modules (peer-modules.sh: modules.order,
# dependencies first), each with its DIR/peers.conf parameters; one
# "not ok" per module that did not load. False if one did not.
load_mods() {
	bad=0
	while read -r m; do
		[ -n "$m" ] || continue
		params=$(sed -n "s/^$m[[:space:]]\{1,\}//p" "$1/peers.conf" 2>/dev/null)
		# shellcheck disable=SC2086
		rc=0
		insmod "$1/$m.ko" $params > /tmp/insmod.out 2>&1 || rc=$?
		if [ $rc != 0 ]; then
			cat /tmp/insmod.out | tee -a $RES
			say "not ok load $m${params:+ $params} rc=$rc"
			bad=1
		fi
	done < "$1/modules.order"
	[ $bad = 0 ]
}

# Userland mode: the host's root, with the kernel's file systems inside;
# the GStreamer registry built on the host goes to the guest's /tmp.
HOST=/host
if [ -n "$KSA_USERLAND" ]; then
	mkdir -p $HOST
	if load_mods /ksalloc/boot &&
		mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 \
			hostroot $HOST > /tmp/mount.out 2>&1 &&
		mount -t proc proc $HOST/proc && mount -t sysfs sysfs $HOST/sys &&
		mount -t devtmpfs devtmpfs $HOST/dev && mount -t tmpfs tmpfs $HOST/tmp &&
		mount -t tmpfs tmpfs $HOST/run && mkdir -p $HOST/dev/shm &&
		mount -t tmpfs tmpfs $HOST/dev/shm; then
		mount -t debugfs debugfs $HOST/sys/kernel/debug 2>/dev/null
		cp /ksalloc/chroot.env $HOST/run/ksalloc.env
		if [ -n "$KSA_GST_REGISTRY" ] && [ -f "$HOST$KSA_GST_REGISTRY" ]; then
			cp "$HOST$KSA_GST_REGISTRY" $HOST/tmp/gst-registry.bin
		fi
		say "ok userland: host root over 9p ($(tr '\n' ' ' < /ksalloc/boot/modules.order)) at $(cut -d' ' -f1 /proc/uptime) s"
	else
		cat /tmp/mount.out 2>/dev/null | tee -a $RES
		say "not ok userland: loading 9p or mounting the host root failed"
		finish
	fi
fi

# Peers: dependencies first, each with its peers.conf parameters; one
# result for all of them, one failure per module that did not load.
PEERS=/ksalloc/peers
if [ -n "$KSA_MODULE" ] && [ -f $PEERS/modules.order ] && load_mods $PEERS; then
	say "ok load peers: $(tr '\n' ' ' < $PEERS/modules.order)"
fi

while read -r name; do
	[ -n "$name" ] || continue
	if [ -n "$KSA_USERLAND" ]; then
		set -- chroot $HOST /usr/bin/env -i /bin/sh -c \
			'set -a; . /run/ksalloc.env; set +a; cd /tmp && exec "$0"' "$name"
		name=${name##*/}
	else
		set -- "/ksalloc/tests/$name"
	fi
	say "begin $name"
	t0=$(date +%s)
	cd /tmp
	( timeout -k 10 "$KSA_TEST_TIMEOUT" "$@" < /dev/null; echo $? > /tmp/rc ) 2>&1 |
		tee -a $RES
	cd /
	rc=$(cat /tmp/rc 2>/dev/null || echo 255)
	rm -f /tmp/rc
	# Leftovers of a killed program (forked test children) would keep
	# the device busy: end every process but this one.
	kill -KILL -1 2>/dev/null
	say "end $name rc=$rc secs=$(($(date +%s) - t0))"
done < /ksalloc/tests.list

# While the module is loaded, so that its functions show by name.
kmemleak_report after-tests

# The peers first, in reverse order: whatever they imported from ksalloc
# they must have released by now.
if [ -f $PEERS/modules.order ]; then
	bad=0
	for m in $(sed '1!G;h;$!d' $PEERS/modules.order); do
		[ -e /sys/module/$(echo "$m" | tr - _) ] || continue
		rc=0
		rmmod "$m" > /tmp/rmmod.out 2>&1 || rc=$?
		if [ $rc != 0 ]; then
			cat /tmp/rmmod.out | tee -a $RES
			say "not ok unload $m rc=$rc"
			bad=1
		fi
	done
	[ $bad = 1 ] || say "ok unload peers"
fi

# The client next: it holds ksalloc's symbols.
if [ -e /sys/module/ksalloc_client ]; then
	if rmmod ksalloc_client > /tmp/rmmod.out 2>&1; then
		say "ok rmmod ksalloc_client"
	else
		rc=$?
		cat /tmp/rmmod.out | tee -a $RES
		say "not ok rmmod ksalloc_client rc=$rc"
	fi
fi
if [ -n "$KSA_MODULE" ]; then
	if rmmod ksalloc > /tmp/rmmod.out 2>&1; then
		say "ok rmmod"
	else
		rc=$?
		cat /tmp/rmmod.out | tee -a $RES
		say "not ok rmmod rc=$rc"
	fi
	if [ -e /sys/module/ksalloc ]; then
		say "not ok module-gone /sys/module/ksalloc still exists"
	else
		say "ok module-gone"
	fi
fi

finish
