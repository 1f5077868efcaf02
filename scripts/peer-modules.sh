#!/bin/bash
# Copy modules of a test kernel, with everything they depend on, into a
# directory for the VM: the peers ksalloc is tested and measured against
# (vgem, vivid), taken from the kernel's own Debian package (the KMODS tree
# of kernel.sh, indexed by depmod) and decompressed, since the initramfs's
# busybox insmod loads plain .ko files.
#
# Usage: scripts/peer-modules.sh [-k] KMODS DEST MODULE...
#   KMODS  <tree>/lib/modules/<version>
#   DEST   gets NAME.ko for each module needed, and modules.order: their
#          names, dependencies first, each once, in load order
#   -k     keep going: a MODULE that this kernel does not have is left out
#          with a message ("peer-modules: no module NAME for VERSION")
# Modules built into the kernel are left out. Exit 1 (with a message) if
# one of MODULE... does not exist for that kernel, unless -k.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

keep_going=
if [[ ${1-} == -k ]]; then
	keep_going=1
	shift
fi
kmods=${1:?usage: peer-modules.sh KMODS DEST MODULE...}
dest=${2:?usage: peer-modules.sh KMODS DEST MODULE...}
shift 2
kver=${kmods##*/}
base=${kmods%/lib/modules/*}
[[ -f $kmods/modules.dep ]] || die "peer-modules: no modules.dep in $kmods"
command -v modinfo >/dev/null || "$ROOT/scripts/deps.sh" kmod

declare -A seen=()
order=()
# add NAME: NAME's dependencies first, then NAME
add() {
	local dep deps
	[[ -z ${seen[$1]-} ]] || return 0
	seen[$1]=1
	deps=$(modinfo -b "$base" -k "$kver" -F depends "$1" 2>/dev/null) ||
		die "peer-modules: no module $1 for $kver"
	for dep in ${deps//,/ }; do
		add "$dep"
	done
	order+=("$1")
}
for m in "$@"; do
	if [[ -n $keep_going ]] && ! modinfo -b "$base" -k "$kver" -F name "$m" >/dev/null 2>&1; then
		msg "peer-modules: no module $m for $kver"
		continue
	fi
	add "$m"
done

mkdir -p "$dest"
: >"$dest/modules.order"
for m in "${order[@]}"; do
	path=$(modinfo -b "$base" -k "$kver" -n "$m")
	case $path in
	*.ko) cp "$path" "$dest/$m.ko" ;;
	*.ko.xz) xz -dc "$path" >"$dest/$m.ko" ;;
	*.ko.zst) zstd -qdc "$path" >"$dest/$m.ko" ;;
	*.ko.gz) gzip -dc "$path" >"$dest/$m.ko" ;;
	*) continue ;;	# built in
	esac
	printf '%s\n' "$m" >>"$dest/modules.order"
done
