#!/bin/sh
# The benchmark VM's one program (scripts/bench.sh puts it in the
# initramfs; /init has loaded ksalloc.ko): load the peer modules, vgem,
# vivid and what they need, in dependency order, then run ksalloc-bench with the
# options the host chose. A peer that does not load only skips its case.
dir=/ksalloc/extra/bench

if [ -f $dir/modules.order ]; then
	while read -r m; do
		[ -n "$m" ] || continue
		if insmod "$dir/$m.ko" > /tmp/insmod.out 2>&1; then
			echo "bench: loaded $m"
		else
			echo "bench: insmod $m failed: $(cat /tmp/insmod.out)"
		fi
	done < $dir/modules.order
fi

args=$(cat $dir/args 2>/dev/null)
# shellcheck disable=SC2086 # the options are words
exec $dir/ksalloc-bench -s $dir/struct-sizes $args
