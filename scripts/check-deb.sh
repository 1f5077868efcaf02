#!/bin/bash
# make check-deb: the Debian packages installed, used and removed as on a
# user's machine, in build roots (buildroot.sh), never on this machine.
#
#   1. make deb (scripts/deb.sh): the packages, lintian clean
#   2. Debian 12: the bookworm root, with the 6.1 headers that make check
#      tests (linux-headers-<version>, installed in the root), dkms, a C
#      compiler and pkg-config. apt installs ksalloc-dkms, libksalloc0,
#      libksalloc-dev and ksalloc-tools there; the postinst of
#      ksalloc-dkms has DKMS build and install the module ("installed" in
#      dkms status, found by modprobe); a program
#      (deb-test/pkgconfig-user.c) builds out of tree
#      with `pkg-config --cflags --libs ksalloc`, dynamically and
#      statically. The module, the programs, /usr/bin/ksalloc and the
#      libraries they load are copied out; then apt purges the packages
#      and nothing may be left: dkms knows no ksalloc, the packages and
#      every file of the root are as before.
#   3. The 6.1 VM boots with the module DKMS built, the test client built
#      against that module's exports (ko-symvers.sh: Module.symvers read
#      out of the DKMS-built .ko; insmod of the client checks every CRC)
#      and the peer modules, and runs the selftests (DEB_TESTS: only
#      these; default all), the two programs and the packaged ksalloc
#      command (deb-test/ksalloc-tools.sh). Every result must pass (a
#      skip is allowed, as in make check), with no kernel splat.
#   4. Debian sid: apt installs ksalloc-dkms into the sid root, where the
#      7.2 headers are installed; DKMS must build and install the module
#      for them (a ksalloc.ko of 7.2's vermagic in updates/dkms: sid's
#      DKMS runs no depmod where only headers are installed), and purging
#      must leave the root as it was.
#
# In a build root the running kernel is this machine's, whose headers are
# not there ("It is likely that ... belongs to a chroot's host"): DKMS's
# postinst then builds for every kernel of /lib/modules, which in the sid
# root includes 7.2-rt. Not counted as left behind: DKMS's own signing
# key (/var/lib/dkms/mok.*), made on its first build, and the kernels'
# module index files (modules.*), which depmod makes for a kernel whose
# image is not installed, and which must not name ksalloc. The roots' own
# dependencies (dkms, compilers, headers) stay installed between runs;
# only the packages come and go. Each root is used under its lock; what
# an interrupted run left there is purged first.
#
# Output: one line per step ("ok ..." / "not ok ..."), with the time it
# took, then "check-deb: ok" or "check-deb: FAIL"; exit 0, 1, or 4
# (skipped: not root). Logs and the VM's console in $BUILD/check-deb.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

WORK=$BUILD/check-deb
PKGS=(ksalloc-dkms libksalloc0 libksalloc-dev ksalloc-tools)
# What the bookworm root needs besides the packages' own dependencies
BOOKWORM_PKGS=(dkms libc6-dev pkgconf)
rc=0
t_all=$SECONDS

ok() { echo "ok $* ($((SECONDS - t0)) s)"; }
notok() {
	echo "not ok $* ($((SECONDS - t0)) s)"
	rc=1
}
finish() {
	echo "# total $((SECONDS - t_all)) s"
	if ((rc)); then
		echo "check-deb: FAIL"
		exit 1
	fi
	echo "check-deb: ok"
	exit 0
}
# show FILE: the end of a log, as comments
show() { tail -n "${2:-25}" "$1" | sed 's/^/# /'; }

if [[ $(id -u) != 0 ]]; then
	echo "check-deb: skipped: needs root (build roots, chroot)"
	exit 4
fi
cd "$ROOT" || exit 1
ver=$(cat VERSION)
rm -rf "$WORK"
mkdir -p "$WORK/debs" "$WORK/vm/sysroot"

# --- 1. the packages ---------------------------------------------------
t0=$SECONDS
if ! "$ROOT/scripts/deb.sh" >"$WORK/deb.log" 2>&1; then
	show "$WORK/deb.log" 40
	notok "make deb"
	finish
fi
debs=()
for p in "${PKGS[@]}"; do
	f=$(grep -E "/${p}_${ver}_[a-z0-9]+\.deb$" "$BUILD/deb/debs") || {
		notok "make deb built no $p"
		finish
	}
	cp "$f" "$WORK/debs/"
	debs+=("$WORK/debs/${f##*/}")
done
ok "make deb: ${PKGS[*]} $ver, lintian: no error or warning"

# --- helpers for a build root --------------------------------------------

# state ROOT: the root's packages, and each of its files with type, mode,
# size and link target; not what apt and dpkg keep as logs, caches and
# databases, nor /tmp, nor what is mounted there (the cache, a build
# directory), nor directories that are no part of the system.
state() {
	local r=$1
	chroot "$r" dpkg-query -W -f='pkg ${Package} ${Version} ${db:Status-Abbrev}\n' | LC_ALL=C sort
	(
		cd "$r" || exit 1
		find . -xdev \( -path ./proc -o -path ./sys -o -path ./dev -o -path ./run \
			-o -path ./tmp -o -path ./var/tmp -o -path ./var/log -o -path ./var/cache \
			-o -path ./var/lib/apt -o -path ./var/lib/dpkg/triggers \
			-o -path './var/lib/dpkg/status*' -o -path './var/lib/dpkg/available*' \
			-o -path './var/lib/dpkg/lock*' -o -path './var/lib/dpkg/*-old' \
			-o -path './var/lib/dkms/mok.*' -o -path './usr/lib/modules/*/modules.*' \
			-o -path ./.lists-fetched \
			-o -path ".$KSA_CACHE" -o -path ".$WORK" \) -prune \
			-o ! -path . ! -path './*/*' \
			! -regex '\./\(bin\|boot\|etc\|home\|lib\|lib32\|lib64\|libx32\|media\|mnt\|opt\|root\|sbin\|srv\|usr\|var\)' -prune \
			-o -type d -printf 'file %p d %m\n' -o -printf 'file %p %y %m %s %l\n'
	) | LC_ALL=C sort
}

# installed ROOT: the packages of PKGS dpkg has in the root (in any state)
installed() {
	chroot "$1" dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${PKGS[@]}" 2>/dev/null |
		awk '$1 != "un" && $1 != "pn" {print $2}'
}

# ksalloc_absent ROOT: nothing of ksalloc in the root (dpkg, dkms, files)
ksalloc_absent() {
	local r=$1 left
	left=$(installed "$r")
	left+=$(in_root "$r" - dkms status ksalloc 2>/dev/null)
	left+=$(cd "$r" && find usr/src var/lib/dkms lib/modules -maxdepth 5 \
		-name '*ksalloc*' 2>/dev/null)
	left+=$(cd "$r" && grep -lw ksalloc lib/modules/*/modules.dep lib/modules/*/modules.alias 2>/dev/null)
	[[ -z $left ]] || { printf '%s\n' "$left"; return 1; }
}

# clean_root ROOT: remove what an interrupted run left in the root
clean_root() {
	local r=$1 pkgs
	mapfile -t pkgs < <(installed "$r")
	((${#pkgs[@]} == 0)) || in_root "$r" - env DEBIAN_FRONTEND=noninteractive dpkg --purge "${pkgs[@]}"
	in_root "$r" - dkms remove "ksalloc/$ver" --all || true
	rm -rf "$r"/usr/src/ksalloc-* "$r"/var/lib/dkms/ksalloc
	rm -f "$r"/lib/modules/*/updates/dkms/ksalloc.ko*
}

# dkms_installed ROOT KVER STATUS: DKMS's module for KVER is in place:
# "installed" in the dkms status output STATUS, a ksalloc.ko under
# /lib/modules/KVER/updates made for KVER (its vermagic), and where the
# kernel's modules are indexed (modules.dep), modprobe finds it. DKMS 3.2
# (sid) runs no depmod for a kernel whose image is not installed, as in
# the sid root, which has the headers alone. Prints how it was found.
dkms_installed() {
	local r=$1 k=$2 ko
	grep -q "^ksalloc/$ver, $k, [^:]*: installed" "$3" || return 1
	ko=$(cd "$r" && find -L "lib/modules/$k/updates" -name 'ksalloc.ko*' | head -n 1)
	[[ -n $ko ]] && in_root "$r" - modinfo -F vermagic "/$ko" | grep -q "^$k " || return 1
	if [[ ! -f $r/lib/modules/$k/modules.dep ]]; then
		echo " (/$ko; no modules.dep: no depmod for headers alone)"
	elif in_root "$r" - modprobe --show-depends -S "$k" ksalloc 2>&1 |
		grep -q "^insmod /.*/ksalloc\.ko"; then
		echo "; modprobe finds it"
	else
		return 1
	fi
}

# apt_in ROOT LOG ARGS...: apt-get in the root, WORK visible there
apt_in() {
	local r=$1 log=$2
	shift 2
	in_root "$r" "$WORK" env DEBIAN_FRONTEND=noninteractive \
		apt-get -y -o DPkg::Lock::Timeout=600 "$@" >>"$log" 2>&1
}

# in_phase ROOT NAME KVER... -- DEB... -- HOOK: install the packages,
# have DKMS build the module for every KVER, check it is installed, run
# HOOK (while the packages are there), purge, check nothing is left.
# Runs under the root's lock; returns 1 if a step failed.
in_phase() {
	local r=$1 name=$2 kvers=() files=() names=() hook k log st=0
	shift 2
	while [[ $1 != -- ]]; do kvers+=("$1"); shift; done
	shift
	while [[ $1 != -- ]]; do files+=("$1"); shift; done
	hook=$2
	for k in "${files[@]}"; do names+=("$(dpkg-deb -f "$k" Package)"); done
	log=$WORK/$name.apt.log
	: >"$log"

	t0=$SECONDS
	if ! ksalloc_absent "$r" >"$WORK/$name.left" 2>&1; then
		sed 's/^/# left by an earlier run: /' "$WORK/$name.left"
		clean_root "$r" >>"$log" 2>&1
		if ! ksalloc_absent "$r" >"$WORK/$name.left" 2>&1; then
			show "$WORK/$name.left"
			notok "$name: cannot remove what an earlier run left in $r"
			return 1
		fi
	fi
	# the bind point of WORK exists before the first state is taken
	in_root "$r" "$WORK" true
	state "$r" >"$WORK/$name.before"

	if apt_in "$r" "$log" install --no-install-recommends "${files[@]}"; then
		ok "$name: apt-get install ${names[*]}"
	else
		show "$log" 40
		notok "$name: apt-get install ${names[*]} (log: $log)"
		st=1
	fi
	t0=$SECONDS
	in_root "$r" - dkms status ksalloc >"$WORK/$name.dkms-status" 2>&1
	sed 's/^/# dkms status: /' "$WORK/$name.dkms-status"
	for k in "${kvers[@]}"; do
		if how=$(dkms_installed "$r" "$k" "$WORK/$name.dkms-status"); then
			ok "$name: DKMS built and installed ksalloc $ver for $k$how"
		else
			find "$r/var/lib/dkms/ksalloc" -name make.log -exec tail -n 30 {} \; 2>/dev/null | sed 's/^/# make.log: /'
			notok "$name: DKMS module for $k"
			st=1
		fi
	done
	if [[ $st == 0 && -n $hook ]]; then
		"$hook" "$r" "${kvers[0]}" || st=1
	fi

	t0=$SECONDS
	if apt_in "$r" "$log" purge "${names[@]}"; then
		ok "$name: apt-get purge ${names[*]}"
	else
		show "$log" 40
		notok "$name: apt-get purge (log: $log)"
		st=1
	fi
	t0=$SECONDS
	state "$r" >"$WORK/$name.after"
	if ksalloc_absent "$r" >"$WORK/$name.left" 2>&1 &&
		diff "$WORK/$name.before" "$WORK/$name.after" >"$WORK/$name.diff"; then
		ok "$name: nothing left behind (dkms status, packages, files of the root)"
	else
		cat "$WORK/$name.left" "$WORK/$name.diff" | head -n 40 | sed 's/^/# /'
		notok "$name: left behind"
		st=1
	fi
	return $st
}

# --- 2. Debian 12 --------------------------------------------------------

# bookworm_hook ROOT KVER: build the program with pkg-config, collect what
# the VM needs from the root
bookworm_hook() {
	local r=$1 kver=$2 ko libs out
	t0=$SECONDS
	ko=$(cd "$r" && find -L lib/modules/"$kver"/updates -name 'ksalloc.ko*' | head -n 1)
	if [[ -z $ko ]]; then
		notok "6.1: no ksalloc.ko of DKMS in /lib/modules/$kver"
		return 1
	fi
	if [[ $ko == *.ko ]]; then
		cp "$r/$ko" "$WORK/vm/ksalloc.ko"
	else
		xz -dc "$r/$ko" >"$WORK/vm/ksalloc.ko"
	fi
	cp "$ROOT/scripts/deb-test/pkgconfig-user.c" "$WORK/"
	out=$WORK/pkgconfig.log
	# shellcheck disable=SC2016
	if in_root "$r" "$WORK" sh -ec '
		cd "$1"
		cc -Wall -Wextra -Werror -o vm/pkgconfig-user pkgconfig-user.c \
			$(pkg-config --cflags --libs ksalloc)
		cc -static -Wall -Wextra -Werror -o vm/pkgconfig-user-static pkgconfig-user.c \
			$(pkg-config --static --cflags --libs ksalloc)
		readelf -d vm/pkgconfig-user | grep -q "NEEDED.*libksalloc\.so\.0"
		! readelf -d vm/pkgconfig-user-static | grep -q NEEDED
	' pkgconfig "$WORK" >"$out" 2>&1; then
		ok "6.1: a program builds with pkg-config --cflags --libs ksalloc (libksalloc.so.0; -static: libksalloc.a)"
	else
		show "$out"
		notok "6.1: building with pkg-config"
		return 1
	fi
	# What the dynamic programs load, from the root, at the same paths
	t0=$SECONDS
	# shellcheck disable=SC2016
	if in_root "$r" "$WORK" sh -ec '
		dest=$1/vm/sysroot
		shift
		mkdir -p "$dest/usr/bin"
		cp /usr/bin/ksalloc "$dest/usr/bin/"
		for f in $(ldd "$@" | sed -n "s|.*=> \(/[^ ]*\) .*|\1|p; s|^[[:space:]]*\(/[^ ]*\) (.*|\1|p" | sort -u); do
			mkdir -p "$dest${f%/*}"
			cp -L "$f" "$dest$f"
		done
	' sysroot "$WORK" "$WORK/vm/pkgconfig-user" /usr/bin/ksalloc >"$out" 2>&1 &&
		libs=$(cd "$WORK/vm/sysroot" && find . -type f | sort | tr '\n' ' ') &&
		[[ $libs == *libksalloc.so.0* && $libs == *libc.so.6* && $libs == *ld-linux* ]]; then
		ok "6.1: /usr/bin/ksalloc and what it and the program load: ${libs//.\//\/}"
	else
		show "$out"
		notok "6.1: collecting the libraries for the VM"
		return 1
	fi
}

t0=$SECONDS
if ! kinfo=$("$ROOT/scripts/kernel.sh" 6.1 2>"$WORK/kernel-6.1.log"); then
	show "$WORK/kernel-6.1.log"
	notok "kernel 6.1"
	finish
fi
eval "$kinfo"
k61=$KVER
if ! broot=$("$ROOT/scripts/buildroot.sh" bookworm "${BOOKWORM_PKGS[@]}" "linux-headers-$k61" \
	2>"$WORK/buildroot-bookworm.log"); then
	show "$WORK/buildroot-bookworm.log"
	notok "the bookworm root with linux-headers-$k61"
	finish
fi
ok "the bookworm root with linux-headers-$k61, ${BOOKWORM_PKGS[*]}: $broot"
with_lock "$KSA_CACHE/roots/bookworm.lock" in_phase "$broot" 6.1 "$k61" -- "${debs[@]}" -- \
	bookworm_hook || rc=1

# --- 3. the 6.1 VM ---------------------------------------------------------
if [[ -f $WORK/vm/ksalloc.ko && -x $WORK/vm/pkgconfig-user && -x $WORK/vm/sysroot/usr/bin/ksalloc ]]; then
	# The test client, against the exports of the DKMS-built module
	t0=$SECONDS
	copy_sources "$WORK/client"
	if scripts/ko-symvers.sh "$WORK/vm/ksalloc.ko" >"$WORK/client/dkms.symvers" 2>"$WORK/client.log" &&
		KROOT="" kbuild "$KHDR" "$WORK/client/selftests/kmod" \
			KBUILD_EXTRA_SYMBOLS="$WORK/client/dkms.symvers" >>"$WORK/client.log" 2>&1 &&
		[[ -f $WORK/client/selftests/kmod/ksalloc_client.ko ]]; then
		ok "6.1: ksalloc_client.ko built against the DKMS module's $(wc -l <"$WORK/client/dkms.symvers") exports"
	else
		show "$WORK/client.log"
		notok "6.1: ksalloc_client.ko"
	fi

	t0=$SECONDS
	tests=()
	if submake -C "$ROOT" selftests >"$WORK/selftests.log" 2>&1; then
		while IFS= read -r t; do
			[[ -n $t && ( -z ${DEB_TESTS-} || " $DEB_TESTS " == *" $t "* ) ]] &&
				tests+=(-t "$BUILD/selftests/$t")
		done < <(submake -C "$ROOT" selftests-list 2>/dev/null)
	else
		show "$WORK/selftests.log"
		notok "6.1: selftests build"
	fi
	tests+=(-t "$WORK/vm/pkgconfig-user" -t "$WORK/vm/pkgconfig-user-static"
		-t "$ROOT/scripts/deb-test/ksalloc-tools.sh")
	mapfile -t pnames < <(sed -n 's/^\([a-z0-9_-]\{1,\}\).*/\1/p' "$ROOT/selftests/peers.conf")
	pargs=()
	if "$ROOT/scripts/peer-modules.sh" -k "$KMODS" "$WORK/peers" "${pnames[@]}" \
		2>"$WORK/peers.log"; then
		cp "$ROOT/selftests/peers.conf" "$WORK/peers/"
		pargs=(-P "$WORK/peers")
	else
		show "$WORK/peers.log"
		notok "6.1: peer modules"
	fi
	files=()
	while IFS= read -r f; do
		files+=(-f "$WORK/vm/sysroot/$f:/$f")
	done < <(cd "$WORK/vm/sysroot" && find . -type f -printf '%P\n')
	cargs=()
	[[ -f $WORK/client/selftests/kmod/ksalloc_client.ko ]] &&
		cargs=(-c "$WORK/client/selftests/kmod/ksalloc_client.ko")
	if "$ROOT/scripts/initramfs.sh" -o "$WORK/vm/initramfs.cpio" -m "$WORK/vm/ksalloc.ko" \
		"${cargs[@]}" "${pargs[@]}" -T "${TEST_TIMEOUT:-300}" "${tests[@]}" "${files[@]}" \
		-e "KSA_DEB_VERSION=$ver" 2>"$WORK/initramfs.log"; then
		printf '%s\n' "${tests[@]}" | grep -v '^-t$' | sed 's|.*/||' >"$WORK/vm/tests.list"
		echo "# boot $VMLINUZ (${ACCEL:-tcg}, smp ${SMP:-2}, ${MEM:-1024M}): $(wc -l <"$WORK/vm/tests.list") programs"
		vmrc=0
		"$ROOT/scripts/vm-run.sh" -k "$VMLINUZ" -i "$WORK/vm/initramfs.cpio" \
			-l "$WORK/vm/console.log" -r "$WORK/vm/results.log" || vmrc=$?
		: >"$WORK/vm/counts"
		"$ROOT/scripts/parse-results.sh" -r "$WORK/vm/results.log" -l "$WORK/vm/console.log" \
			-n "dkms-$k61" -t "$WORK/vm/tests.list" -e "$vmrc" -c "$WORK/vm/counts" \
			>"$WORK/vm/parse.log" 2>&1
		grep -vE '^  (ok|guest|total) ' "$WORK/vm/parse.log" | sed 's/^/# /'
		read -r vpass vfail vskip <"$WORK/vm/counts" || vpass=0 vfail=1 vskip=0
		if ((vfail == 0 && vpass > 0)); then
			ok "6.1 VM: the DKMS-built module, its client, the selftests, the programs and ksalloc: $vpass passed, $vskip skipped"
		else
			notok "6.1 VM: $vpass passed, $vfail failed, $vskip skipped (console: $WORK/vm/console.log)"
		fi
	else
		show "$WORK/initramfs.log"
		notok "6.1 VM: initramfs"
	fi
fi

# --- 4. Debian sid ---------------------------------------------------------
t0=$SECONDS
if ! kinfo=$("$ROOT/scripts/kernel.sh" 7.2 --headers-only 2>"$WORK/kernel-7.2.log"); then
	show "$WORK/kernel-7.2.log"
	notok "kernel 7.2"
	finish
fi
eval "$kinfo"
k72=$KVER
if ! sroot=$("$ROOT/scripts/buildroot.sh" sid dkms 2>"$WORK/buildroot-sid.log"); then
	show "$WORK/buildroot-sid.log"
	notok "dkms in the sid root"
	finish
fi
with_lock "$KSA_CACHE/roots/sid.lock" in_phase "$sroot" 7.2 "$k72" -- "${debs[0]}" -- "" || rc=1

finish
