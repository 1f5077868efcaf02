#!/bin/bash
# make check-dkms: build the module through dkms, as a distribution
# package would, against every kernel whose headers are installed
# (/lib/modules/<version>/build), then remove it again.
#
#   1. copy the module's sources and dkms.conf to /usr/src/ksalloc-<VERSION>
#   2. dkms add ksalloc/<VERSION>
#   3. dkms build ksalloc/<VERSION> -k <version>, for each kernel
#   4. dkms remove ksalloc/<VERSION> --all; remove /usr/src/ksalloc-<VERSION>
#
# Nothing is installed into /lib/modules, and the machine is left as it
# was found: the source copy, dkms's tree for ksalloc and any signing key
# dkms generated on the way are removed, also when a step fails. Refuses
# to run when ksalloc is already known to dkms or /usr/src has the copy
# (that would be somebody's real installation). Installs the dkms package
# when it is missing. Needs root.
#
# Output: one line per step ("ok ..." / "not ok ..."), then
# "check-dkms: ok" or "check-dkms: FAIL"; exit 0, 1, or 4 (skipped: not
# root, or no kernel headers).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

fail() {
	echo "not ok $*"
	echo "check-dkms: FAIL"
	exit 1
}
skip() {
	echo "check-dkms: skipped: $*"
	exit 4
}

[[ $(id -u) == 0 ]] || skip "needs root (dkms writes /usr/src and /var/lib/dkms)"

cd "$ROOT"
ver=$(cat VERSION)
name=ksalloc
src=/usr/src/$name-$ver
conf_ver=$(bash -c '. ./dkms.conf; echo "$PACKAGE_NAME/$PACKAGE_VERSION"') ||
	fail "dkms.conf does not parse"
[[ $conf_ver == "$name/$ver" ]] || fail "dkms.conf is $conf_ver, VERSION says $name/$ver"

kernels=()
for d in /lib/modules/*/build; do
	[[ -f $d/Makefile ]] && kernels+=("$(basename "$(dirname "$d")")")
done
((${#kernels[@]})) || skip "no kernel headers under /lib/modules/*/build"

if ! command -v dkms >/dev/null; then
	"$ROOT/scripts/deps.sh" dkms >&2 || fail "installing the dkms package"
fi
dkms_tree=$(bash -c '. /etc/dkms/framework.conf 2>/dev/null; echo "${dkms_tree:-/var/lib/dkms}"')

[[ ! -e $src ]] || fail "$src exists already (a real installation?); not touching it"
if dkms status "$name" 2>/dev/null | grep -q .; then
	fail "dkms knows $name already: $(dkms status "$name" | head -n 3 | tr '\n' ' ')"
fi

# Keys dkms may create to sign modules (Debian's dkms 3 makes a MOK pair
# on first use); ours to remove if they were not there before.
keys=(/var/lib/dkms/mok.key /var/lib/dkms/mok.pub)
new_keys=()
for k in "${keys[@]}"; do
	[[ -e $k ]] || new_keys+=("$k")
done

log=$(mktemp "${TMPDIR:-/tmp}/check-dkms.XXXXXX")
cleanup() {
	dkms remove "$name/$ver" --all >>"$log" 2>&1 || true
	rm -rf "$src" "$dkms_tree/$name"
	local k
	for k in "${new_keys[@]}"; do
		rm -f "$k"
	done
	rm -f "$log"
}
trap cleanup EXIT

# 1. the sources, without build products
mkdir -p "$src"
tar -C "$ROOT" -cf - \
	--exclude='*.o' --exclude='*.a' --exclude='*.ko' --exclude='*.mod' \
	--exclude='*.mod.c' --exclude='*.cmd' --exclude='Module.symvers' \
	--exclude='modules.order' --exclude='.tmp_versions' --exclude='*.d' \
	dkms.conf VERSION module uapi | tar -C "$src" -xf - ||
	fail "copying the sources to $src"
echo "ok copy the sources to $src"

# 2.
dkms add "$name/$ver" >"$log" 2>&1 || { sed 's/^/# /' "$log"; fail "dkms add $name/$ver"; }
echo "ok dkms add $name/$ver"

# 3.
rc=0
for k in "${kernels[@]}"; do
	if dkms build "$name/$ver" -k "$k" >"$log" 2>&1 &&
		ls "$dkms_tree/$name/$ver/$k/"*/module/$name.ko* >/dev/null 2>&1; then
		echo "ok dkms build $name/$ver -k $k"
	else
		tail -n 25 "$log" | sed 's/^/# /'
		make_log=$(ls "$dkms_tree/$name/$ver/build/make.log" 2>/dev/null)
		[[ -n $make_log ]] && tail -n 25 "$make_log" | sed 's/^/# make.log: /'
		echo "not ok dkms build $name/$ver -k $k"
		rc=1
	fi
done

# 4.
if dkms remove "$name/$ver" --all >"$log" 2>&1; then
	echo "ok dkms remove $name/$ver --all"
else
	sed 's/^/# /' "$log"
	echo "not ok dkms remove $name/$ver --all"
	rc=1
fi
trap - EXIT
cleanup
if dkms status "$name" 2>/dev/null | grep -q . || [[ -e $src || -e $dkms_tree/$name ]]; then
	echo "not ok nothing left behind"
	rc=1
else
	echo "ok nothing left behind"
fi

if ((rc)); then
	echo "check-dkms: FAIL"
	exit 1
fi
echo "check-dkms: ok (${kernels[*]})"
