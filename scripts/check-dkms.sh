#!/bin/bash
# make check-dkms: build the module through dkms, as a distribution
# package would, against the headers of every kernel of DKMS_KERNELS (names
# of kernel.sh, default "6.1 6.12 6.12-rt 7.2 7.2-rt"), then remove it
# again. Debian 12's kernels are built by this machine's dkms against their
# cached headers (--kernelsourcedir); Debian sid's by the dkms of the sid
# build root, where their headers are installed. Per place:
#
#   1. copy the module's sources and dkms.conf to /usr/src/ksalloc-<VERSION>
#   2. dkms add ksalloc/<VERSION>
#   3. dkms build ksalloc/<VERSION> -k <version>, for each kernel
#   4. dkms remove ksalloc/<VERSION> --all; remove /usr/src/ksalloc-<VERSION>
#
# Nothing is installed into /lib/modules, and the machine (and the root)
# is left as it was found: the source copy, dkms's tree for ksalloc and any
# signing key dkms generated on the way are removed, also when a step
# fails. Refuses to run when ksalloc is already known to dkms or /usr/src
# has the copy (that would be somebody's real installation). Installs the
# dkms package when it is missing (it is not a kernel). Needs root.
#
# Output: one line per step ("ok ..." / "not ok ..."), then
# "check-dkms: ok" or "check-dkms: FAIL"; exit 0, 1, or 4 (skipped: not
# root).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

DKMS_KERNELS=${DKMS_KERNELS:-6.1 6.12 6.12-rt 7.2 7.2-rt}
name=ksalloc
rc=0

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
conf_ver=$(bash -c '. ./dkms.conf; echo "$PACKAGE_NAME/$PACKAGE_VERSION"') ||
	fail "dkms.conf does not parse"
[[ $conf_ver == "$name/$ver" ]] || fail "dkms.conf is $conf_ver, VERSION says $name/$ver"

# The kernels, by place: "" for this machine, else the build root.
declare -A where=()
for k in $DKMS_KERNELS; do
	info=$("$ROOT/scripts/kernel.sh" "$k" --headers-only 2>/dev/null) ||
		fail "kernel $k is not available"
	KROOT=
	eval "$info"
	where[${KROOT:-host}]+=" $KVER=$KHDR"
done

# dkms_at PLACE ARGS...: dkms on this machine or in the build root PLACE
dkms_at() {
	local place=$1
	shift
	if [[ $place == host ]]; then
		dkms "$@"
	else
		in_root "$place" - dkms "$@"
	fi
}

# run_place PLACE "KVER=KHDR ...": steps 1-4 in one place
run_place() {
	local place=$1 kernels=$2 prefix= src dkms_tree log keys=() new_keys=() k kver khdr
	if [[ $place == host ]]; then
		command -v dkms >/dev/null || "$ROOT/scripts/deps.sh" dkms >&2 ||
			fail "installing the dkms package"
	else
		prefix=$place
	fi
	src=$prefix/usr/src/$name-$ver
	dkms_tree=$prefix$(chroot "${prefix:-/}" bash -c '. /etc/dkms/framework.conf 2>/dev/null; echo "${dkms_tree:-/var/lib/dkms}"')

	[[ ! -e $src ]] || fail "$src exists already (a real installation?); not touching it"
	if dkms_at "$place" status "$name" 2>/dev/null | grep -q .; then
		fail "dkms in $place knows $name already"
	fi
	# Keys dkms may create to sign modules (Debian's dkms makes a MOK
	# pair on first use); ours to remove if they were not there before.
	keys=("$prefix/var/lib/dkms/mok.key" "$prefix/var/lib/dkms/mok.pub")
	for k in "${keys[@]}"; do
		[[ -e $k ]] || new_keys+=("$k")
	done

	log=$(mktemp "${TMPDIR:-/tmp}/check-dkms.XXXXXX")
	cleanup() {
		dkms_at "$place" remove "$name/$ver" --all >>"$log" 2>&1 || true
		rm -rf "$src" "$dkms_tree/$name"
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
	dkms_at "$place" add "$name/$ver" >"$log" 2>&1 ||
		{ sed 's/^/# /' "$log"; fail "dkms add $name/$ver ($place)"; }
	echo "ok dkms add $name/$ver ($place)"

	# 3.
	for k in $kernels; do
		kver=${k%%=*}
		khdr=${k#*=}
		if dkms_at "$place" build "$name/$ver" -k "$kver" --kernelsourcedir "$khdr" >"$log" 2>&1 &&
			ls "$dkms_tree/$name/$ver/$kver/"*/module/$name.ko* >/dev/null 2>&1; then
			echo "ok dkms build $name/$ver -k $kver ($place)"
		else
			tail -n 25 "$log" | sed 's/^/# /'
			[[ -f $dkms_tree/$name/$ver/build/make.log ]] &&
				tail -n 25 "$dkms_tree/$name/$ver/build/make.log" | sed 's/^/# make.log: /'
			echo "not ok dkms build $name/$ver -k $kver ($place)"
			rc=1
		fi
	done

	# 4.
	if dkms_at "$place" remove "$name/$ver" --all >"$log" 2>&1; then
		echo "ok dkms remove $name/$ver --all ($place)"
	else
		sed 's/^/# /' "$log"
		echo "not ok dkms remove $name/$ver --all ($place)"
		rc=1
	fi
	trap - EXIT
	cleanup
	if dkms_at "$place" status "$name" 2>/dev/null | grep -q . || [[ -e $src || -e $dkms_tree/$name ]]; then
		echo "not ok nothing left behind ($place)"
		rc=1
	else
		echo "ok nothing left behind ($place)"
	fi
	return $rc
}

# A build root is used under its lock (make check-deb installs packages
# there too).
for place in "${!where[@]}"; do
	if [[ $place == host ]]; then
		run_place "$place" "${where[$place]}"
	else
		"$ROOT/scripts/buildroot.sh" sid dkms >/dev/null || fail "dkms in the build root $place"
		with_lock "$place.lock" run_place "$place" "${where[$place]}" || rc=1
	fi
done

if ((rc)); then
	echo "check-dkms: FAIL"
	exit 1
fi
echo "check-dkms: ok ($DKMS_KERNELS)"
