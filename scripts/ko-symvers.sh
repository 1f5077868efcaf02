#!/bin/bash
# The Module.symvers lines of a built module, read out of its .ko: for
# each symbol it exports, the CRC modversions gave it, the kind of export
# and the namespace. For a module whose build directory is gone (DKMS
# keeps only the .ko), so that another module can be built against
# exactly those exports (KBUILD_EXTRA_SYMBOLS): insmod then checks each
# CRC against the loaded module's.
#
# Usage: scripts/ko-symvers.sh MODULE.ko >Module.symvers
#
# Reads the layout of the 6.1 kernels: per exported symbol S a
# __ksymtab_S in __ksymtab or __ksymtab_gpl, __crc_S in __kcrctab or
# __kcrctab_gpl (with CONFIG_MODVERSIONS; else the CRC is 0), and
# __kstrtabns_S, the namespace, in __ksymtab_strings. Exit 1 when the
# module exports nothing it can read.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ko=${1:?usage: ko-symvers.sh MODULE.ko}
[[ -f $ko ]] || die "ko-symvers: no $ko"
name=$(modinfo -F name "$ko" 2>/dev/null) || true
if [[ -z $name ]]; then
	name=$(basename "$ko")
	name=${name%%.ko*}
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

declare -A secname=()
while read -r num sec; do
	secname[$num]=$sec
done < <(readelf -SW "$ko" | sed -n 's/^ *\[ *\([0-9]\{1,\}\)\] \([^ ]\{1,\}\) .*/\1 \2/p')

# section: the raw bytes of a section, extracted once
section() {
	[[ -f $tmp/$1 ]] || objcopy -O binary --only-section="$1" "$ko" "$tmp/$1"
	printf '%s\n' "$tmp/$1"
}

declare -A kind=() crc=() ns=()
while read -r value ndx sym; do
	sec=${secname[$ndx]-}
	off=$((16#$value))
	case $sym in
	__ksymtab_*)
		case $sec in
		__ksymtab) kind[${sym#__ksymtab_}]=EXPORT_SYMBOL ;;
		__ksymtab_gpl) kind[${sym#__ksymtab_}]=EXPORT_SYMBOL_GPL ;;
		esac ;;
	__crc_*)
		[[ $sec == __kcrctab* ]] || continue
		crc[${sym#__crc_}]=$(od -An -tx4 -j "$off" -N4 "$(section "$sec")" | tr -d ' ') ;;
	__kstrtabns_*)
		[[ $sec == __ksymtab_strings ]] || continue
		ns[${sym#__kstrtabns_}]=$(tail -c +$((off + 1)) "$(section "$sec")" | tr '\0' '\n' | head -n 1) ;;
	esac
done < <(readelf -sW "$ko" | awk '$4 != "SECTION" && $8 ~ /^__(ksymtab|crc|kstrtabns)_/ && $7 ~ /^[0-9]+$/ {print $2, $7, $8}')

((${#kind[@]})) || die "ko-symvers: $ko exports no symbol this script can read"
for s in $(printf '%s\n' "${!kind[@]}" | LC_ALL=C sort); do
	printf '0x%s\t%s\t%s\t%s\t%s\n' "${crc[$s]:-00000000}" "$s" "$name" "${kind[$s]}" "${ns[$s]-}"
done
