#!/bin/bash
# Host-side tests of the user-space parts: no VM, no module needed.
#
#   build        libksalloc (static and shared) and the ksalloc command
#   libksalloc   lib/tests/host.c: error texts against the uapi errno
#                table, NTSTATUS values against the SDK, missing node,
#                non-ksalloc fds, argument checks (each test one result)
#   headers      libksalloc.h and ks-compat.h stand alone, in C and C++
#   abi          libksalloc.so.0 exports ksa_* only, all versioned
#   cli          usage errors (exit 2), help (0), runtime failures without
#                the module (exit 1, clear message)
#   man          tools/ksalloc.1 renders without warnings and documents
#                every command and option the tool has
#   install      make install-user / install-module / uninstall in a
#                DESTDIR; a program built with pkg-config against the
#                installed library runs; nothing is left behind
#   kernel-doc   module/kapi.c and module/ksalloc_kapi.h pass kernel-doc
#                -none -v (6.1) and -Wall (newer kbuild trees) silently
#   docs         Documentation/ksalloc.rst parses (docutils) and names
#                every exported symbol, ioctl, set and errno of the ABI
#   dkms.conf    its version is VERSION's, its paths exist
#
# Output is TAP ("ok N name", "not ok N name", "ok N name # SKIP why"),
# then "check-host: P passed, F failed, S skipped"; exit 1 if anything
# failed, 4 if everything was skipped. `make check` runs the groups one
# by one through scripts/host-checks/ (one result each); `make check-host`
# runs them all. Environment: HOST_TESTS="build cli ..." runs only those;
# KDIR for the module install (default: the 6.1 headers).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

cd "$ROOT"
WORK=$BUILD/host
mkdir -p "$WORK"
HOST_TESTS=${HOST_TESTS:-build libksalloc headers abi cli man install kernel-doc docs dkms.conf}
CC=${CC:-gcc}

n=0 pass=0 fail=0 skip=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n $*"; }
notok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $*"; }
skipped() { n=$((n + 1)); skip=$((skip + 1)); echo "ok $n $1 # SKIP $2"; }
# check NAME CMD...: one result from a command's status; its output is
# shown (as TAP comments) only when it fails.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		printf '%s\n' "$out" | tail -n 25 | sed 's/^/# /'
		notok "$name"
	fi
}
want() { [[ " $HOST_TESTS " == *" $1 "* ]]; }
diag() { printf '# %s\n' "$@"; }

LIBA=$BUILD/lib/libksalloc.a
LIBSO=$BUILD/lib/libksalloc.so.0
TOOL=$BUILD/bin/ksalloc

# --- build -------------------------------------------------------------
built=0
if want build || want libksalloc || want abi || want cli || want man || want install; then
	if out=$(submake lib tools 2>&1); then
		built=1
		want build && ok "build: libksalloc.a, libksalloc.so.0, ksalloc.pc, ksalloc"
	else
		printf '%s\n' "$out" | grep -E 'error|warning' | head -n 20 | sed 's/^/# /'
		notok "build: libksalloc and ksalloc"
	fi
fi

# --- libksalloc host test ----------------------------------------------
if want libksalloc; then
	"$ROOT/scripts/ksrc-tools.sh" >/dev/null 2>&1 || true
	if ((!built)); then
		notok "libksalloc: not built"
	elif ! out=$($CC -Wall -O2 -Iuapi -Ilib -I"$BUILD/ksft" \
		-DKSA_UAPI_HEADER="\"$ROOT/uapi/linux/ksalloc.h\"" \
		-o "$WORK/host-libksalloc" lib/tests/host.c "$LIBA" 2>&1); then
		printf '%s\n' "$out" | head -n 20 | sed 's/^/# /'
		notok "libksalloc: lib/tests/host.c does not build"
	else
		# Its TAP lines, renumbered into ours; its diagnostics as comments
		seen=0
		while IFS= read -r line; do
			if [[ $line =~ ^(not\ )?ok\ [0-9]+\ (.*)$ ]]; then
				seen=1
				desc="libksalloc: ${BASH_REMATCH[2]}"
				if [[ -n ${BASH_REMATCH[1]} ]]; then
					notok "$desc"
				elif [[ $desc =~ (.*)\ \#\ *[Ss][Kk][Ii][Pp]\ *(.*) ]]; then
					skipped "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
				else
					ok "$desc"
				fi
			elif [[ $line == \#* && $line != *'  OK  '* && $line != *' RUN '* ]]; then
				printf '%s\n' "$line"
			fi
		done < <(cd "$WORK" && timeout 60 ./host-libksalloc 2>&1; echo "# exit $?")
		((seen)) || notok "libksalloc: no results"
	fi
fi

# --- headers -----------------------------------------------------------
if want headers; then
	printf '#include <libksalloc.h>\n#include <libksalloc.h>\n' >"$WORK/hdr-lib.c"
	printf '#include <ks-compat.h>\n#include <libksalloc.h>\n' >"$WORK/hdr.c"
	check "headers: libksalloc.h alone, C11 -Wall -Wextra -pedantic -Werror" \
		$CC -std=c11 -Wall -Wextra -pedantic -Werror -Iuapi -Ilib -fsyntax-only "$WORK/hdr-lib.c"
	check "headers: ks-compat.h alone, POSIX 2008 C11 -Wall -Wextra -pedantic -Werror" \
		$CC -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -pedantic -Werror \
		-Iuapi -Ilib -fsyntax-only "$WORK/hdr.c"
	if command -v g++ >/dev/null; then
		check "headers: C++ -Wall -Werror" \
			g++ -x c++ -Wall -Werror -Iuapi -Ilib -fsyntax-only "$WORK/hdr.c"
	else
		skipped "headers: C++" "no g++"
	fi
fi

# --- shared library ABI --------------------------------------------------
abi_check() {
	local soname bad
	soname=$(objdump -p "$LIBSO" | awk '$1 == "SONAME" {print $2}')
	[[ $soname == libksalloc.so.0 ]] || { echo "SONAME is '$soname'"; return 1; }
	# defined dynamic symbols: "ksa_foo@@KSALLOC_0.1" each, nothing else
	bad=$(nm -D --defined-only --with-symbol-versions "$LIBSO" |
		awk '$2 != "A" && $3 !~ /^ksa_[a-z0-9_]+@@KSALLOC_0\.1$/ {print $3}')
	[[ -z $bad ]] || { echo "unexpected exports: $bad"; return 1; }
	# every function the header declares is exported
	local f missing=
	for f in $(grep -oE '\bksa_[a-z0-9_]+\(' lib/libksalloc.h | tr -d '(' | sort -u); do
		nm -D --defined-only "$LIBSO" | grep -qE " T $f(@|$)" || missing+=" $f"
	done
	[[ -z $missing ]] || { echo "declared but not exported:$missing"; return 1; }
}
if want abi; then
	if ((built)); then
		check "abi: libksalloc.so.0 exports the ksa_* of libksalloc.h, versioned KSALLOC_0.1" abi_check
	else
		notok "abi: not built"
	fi
fi

# --- the ksalloc command without the module ------------------------------
# expect_rc WANT PATTERN ARGS...: exit status WANT and PATTERN in its output
expect_rc() {
	local want=$1 pat=$2 out rc=0
	shift 2
	out=$("$TOOL" "$@" 2>&1) || rc=$?
	if ((rc != want)); then
		echo "ksalloc $*: exit $rc, expected $want"
		printf '%s\n' "$out"
		return 1
	fi
	if [[ -n $pat ]] && ! grep -qE -- "$pat" <<<"$out"; then
		echo "ksalloc $*: no /$pat/ in:"
		printf '%s\n' "$out"
		return 1
	fi
}
cli_usage() {
	expect_rc 2 'Usage: ksalloc' &&
	expect_rc 2 "unknown command 'nope'" nope &&
	expect_rc 2 "unknown option '--nope'" --nope &&
	expect_rc 2 'are required' create &&
	expect_rc 2 'needs a value' create --frames &&
	expect_rc 2 "bad --frames" create --frames 1x --frame-size 1 &&
	expect_rc 2 'power of two' create --frames 1 --frame-size 1 --alignment 6 &&
	expect_rc 2 'after --' create --frames 1 --frame-size 1 cmd &&
	expect_rc 2 'more than --frames' alloc --frames 1 --count 2 &&
	expect_rc 2 "bad --threads" stress --threads 0 &&
	expect_rc 2 "unknown option" status -x &&
	expect_rc 2 "unknown command" help nope
}
cli_help() {
	local c
	expect_rc 0 '^Usage: ksalloc \[--help\]' --help &&
	expect_rc 0 '^ksalloc [0-9]' --version || return 1
	for c in status create alloc free stress help; do
		expect_rc 0 "^Usage: ksalloc $c" "$c" --help || return 1
		expect_rc 0 "^Usage: ksalloc $c" help "$c" || return 1
	done
}
cli_no_module() {
	KSALLOC_DEVICE=/nonexistent/ksalloc expect_rc 1 'is the ksalloc module loaded' \
		alloc &&
	KSALLOC_DEVICE=/nonexistent/ksalloc expect_rc 1 'is the ksalloc module loaded' \
		create --frames 1 --frame-size 1 &&
	KSALLOC_DEVICE=/nonexistent/ksalloc expect_rc 1 'is the ksalloc module loaded' \
		stress --seconds 0.1
}
if want cli; then
	if ((built)); then
		check "cli: usage errors exit 2 with a message" cli_usage
		check "cli: --help of every command exits 0" cli_help
		check "cli: no device node: exit 1, 'is the ksalloc module loaded'" cli_no_module
		if [[ -e /sys/class/misc/ksalloc ]]; then
			skipped "cli: status without the module" "the module is loaded here"
		else
			check "cli: status without the module: exit 1, 'not loaded'" \
				expect_rc 1 'module is not loaded' status
		fi
	else
		notok "cli: not built"
	fi
fi

# --- man page ----------------------------------------------------------
man_warnings() {
	local out
	out=$(LC_ALL=C groff -man -ww -z -Tutf8 tools/ksalloc.1 2>&1)
	[[ -z $out ]] || { printf '%s\n' "$out"; return 1; }
	out=$(LC_ALL=C MANWIDTH=80 man --warnings -l tools/ksalloc.1 2>&1 >/dev/null)
	[[ -z $out ]] || { printf '%s\n' "$out"; return 1; }
}
# Every command and every long option the tool knows is in the man page
man_complete() {
	local text c o missing=
	text=$(LC_ALL=C MANWIDTH=200 man -l tools/ksalloc.1 2>/dev/null | sed 's/.\x08//g')
	for c in status create alloc free stress help; do
		grep -qE "^ +$c\b" <<<"$text" || missing+=" command:$c"
		for o in $("$TOOL" "$c" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
			grep -qF -- "$o" <<<"$text" || missing+=" $c:$o"
		done
	done
	for o in KSALLOC_FD KSALLOC_DEVICE 'EXIT STATUS' 'SEE ALSO'; do
		grep -qF -- "$o" <<<"$text" || missing+=" '$o'"
	done
	[[ -z $missing ]] || { echo "not in the man page:$missing"; return 1; }
}
if want man; then
	command -v groff >/dev/null && command -v man >/dev/null ||
		"$ROOT/scripts/deps.sh" groff-base man-db >/dev/null 2>&1
	if command -v groff >/dev/null && command -v man >/dev/null; then
		check "man: tools/ksalloc.1 renders without warnings" man_warnings
		if ((built)); then
			check "man: documents every command and option of ksalloc" man_complete
		else
			notok "man: ksalloc not built"
		fi
	else
		skipped "man: tools/ksalloc.1" "no groff/man (groff-base, man-db)"
	fi
fi

# --- install / uninstall -------------------------------------------------
install_user() {
	local d=$WORK/destdir pc
	rm -rf "$d"
	submake install-user DESTDIR="$d" PREFIX=/usr/local >"$WORK/install.log" 2>&1 ||
		{ cat "$WORK/install.log"; return 1; }
	for f in usr/local/include/linux/ksalloc.h usr/local/include/libksalloc.h \
		usr/local/include/ks-compat.h usr/local/lib/libksalloc.a \
		usr/local/lib/libksalloc.so usr/local/lib/libksalloc.so.0 \
		usr/local/lib/pkgconfig/ksalloc.pc usr/local/bin/ksalloc \
		usr/local/share/man/man1/ksalloc.1; do
		[[ -e $d/$f ]] || { echo "missing $d/$f"; return 1; }
	done
	# A program built the way users build one, against the shared library
	cat >"$WORK/pc-user.c" <<-'EOF'
	#include <stdio.h>
	#include <libksalloc.h>
	int main(void)
	{
		int pin = ksa_open_pin_path("/nonexistent/ksalloc", 0);

		printf("%d %s\n", pin, ksa_strerror(pin));
		return pin == -2 ? 0 : 1;
	}
	EOF
	export PKG_CONFIG_SYSROOT_DIR=$d PKG_CONFIG_LIBDIR=$d/usr/local/lib/pkgconfig
	pc=$(pkg-config --cflags --libs ksalloc) || return 1
	[[ $(pkg-config --modversion ksalloc) == "$(cat VERSION)" ]] ||
		{ echo "pkg-config version differs from VERSION"; return 1; }
	# shellcheck disable=SC2086
	$CC -Wall -Werror -o "$WORK/pc-user" "$WORK/pc-user.c" $pc || return 1
	unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR
	readelf -d "$WORK/pc-user" | grep -q 'NEEDED.*libksalloc.so.0' ||
		{ echo "not linked against libksalloc.so.0"; return 1; }
	LD_LIBRARY_PATH=$d/usr/local/lib "$WORK/pc-user" | grep -q '^-2 STATUS_PROPSET_NOT_FOUND' ||
		{ echo "the installed library did not run"; return 1; }
	"$d/usr/local/bin/ksalloc" --version | grep -q "^ksalloc $(cat VERSION) " ||
		{ echo "installed ksalloc --version is wrong"; return 1; }
	submake uninstall DESTDIR="$d" PREFIX=/usr/local >>"$WORK/install.log" 2>&1 ||
		{ cat "$WORK/install.log"; return 1; }
	left=$(find "$d" ! -type d)
	[[ -z $left ]] || { echo "left after uninstall: $left"; return 1; }
}
install_module() {
	local d=$WORK/destdir-mod kdir=${KDIR:-} kver left
	if [[ -z $kdir ]]; then
		eval "$("$ROOT/scripts/kernel.sh" 6.1 --headers-only)" || return 1
		kdir=$KHDR
	fi
	[[ -n $kdir ]] || { echo "no kernel headers"; return 1; }
	rm -rf "$d"
	# a copy of the sources, so no kbuild output lands in module/
	rm -rf "$WORK/src"
	mkdir -p "$WORK/src"
	cp -a Makefile VERSION lib scripts "$WORK/src/"
	copy_sources "$WORK/src"
	submake -C "$WORK/src" install-module DESTDIR="$d" KDIR="$kdir" \
		>"$WORK/install-module.log" 2>&1 || { tail -n 30 "$WORK/install-module.log"; return 1; }
	kver=$(modinfo -F vermagic "$WORK/src/module/ksalloc.ko" | cut -d' ' -f1)
	# (compressed where the kernel's config says so)
	ls "$d/lib/modules/$kver/extra/"ksalloc.ko* >/dev/null 2>&1 ||
		{ echo "no $d/lib/modules/$kver/extra/ksalloc.ko"; find "$d"; return 1; }
	grep -q '^extra/ksalloc.ko[.a-z]*:' "$d/lib/modules/$kver/modules.dep" ||
		{ echo "depmod did not list it"; return 1; }
	submake -C "$WORK/src" uninstall DESTDIR="$d" >>"$WORK/install-module.log" 2>&1 ||
		{ tail -n 30 "$WORK/install-module.log"; return 1; }
	[[ ! -e $d/lib/modules/$kver/extra ]] || { echo "extra/ left behind"; return 1; }
	! grep -q 'ksalloc' "$d/lib/modules/$kver/modules.dep" ||
		{ echo "modules.dep still lists it"; return 1; }
	# only depmod's index files remain
	left=$(find "$d" ! -type d ! -name 'modules.*')
	[[ -z $left ]] || { echo "left after uninstall: $left"; return 1; }
}
if want install; then
	command -v pkg-config >/dev/null || "$ROOT/scripts/deps.sh" pkgconf >/dev/null 2>&1
	if ((built)) && command -v pkg-config >/dev/null; then
		check "install: install-user/uninstall in DESTDIR, pkg-config build against the .so" \
			install_user
	elif ((built)); then
		skipped "install: install-user" "no pkg-config"
	else
		notok "install: not built"
	fi
	check "install: install-module/uninstall in DESTDIR (extra/, depmod)" install_module
fi

# --- kernel-doc ----------------------------------------------------------
KERNEL_DOC=$BUILD/tools/kernel-doc
kernel_doc_tool() {
	local tarball=${KSRC_TARBALL:-}
	if [[ -z $tarball ]]; then
		tarball=$("$ROOT/scripts/ksrc.sh") || return 1
		tarball=${tarball%% *}
	fi
	[[ -x $KERNEL_DOC && ! $tarball -nt $KERNEL_DOC ]] && return 0
	mkdir -p "$BUILD/tools"
	tar -xJf "$tarball" -O linux-source-6.1/scripts/kernel-doc >"$KERNEL_DOC.tmp" &&
		chmod +x "$KERNEL_DOC.tmp" && mv -f "$KERNEL_DOC.tmp" "$KERNEL_DOC"
}
# 6.1's kernel-doc has no -Wall; -v turns on the same checks (missing
# Return:, contents before sections). A newer kernel-doc from the cached
# kernel trees' kbuild tools (kernel.sh) runs with -Wall too.
kernel_doc_clean() {
	local out kd
	out=$(perl "$KERNEL_DOC" -none -v module/kapi.c module/ksalloc_kapi.h 2>&1 |
		grep -v ': info: ')
	[[ -z $out ]] || { printf '%s\n' "$out"; return 1; }
	for kd in "$KSA_CACHE"/kernels/*/tree/usr/lib/linux-kbuild-*/scripts/kernel-doc; do
		[[ -f $kd ]] && grep -q Wall "$kd" || continue
		out=$(perl "$kd" -none -Wall module/kapi.c module/ksalloc_kapi.h 2>&1)
		[[ -z $out ]] || { echo "$kd -Wall:"; printf '%s\n' "$out"; return 1; }
	done
	# and it finds the functions at all: one entry per exported symbol
	local f missing=
	for f in $(grep -oE 'KSA_EXPORT\([a-z_]+\)' module/kapi.c | sed 's/KSA_EXPORT(//; s/)//'); do
		perl "$KERNEL_DOC" -rst -function "$f" module/kapi.c 2>/dev/null |
			grep -q "^.. c:function::.*$f" || missing+=" $f"
	done
	[[ -z $missing ]] || { echo "no kernel-doc for:$missing"; return 1; }
}
if want kernel-doc; then
	if kernel_doc_tool >"$WORK/kernel-doc.log" 2>&1; then
		check "kernel-doc: module/kapi.c, module/ksalloc_kapi.h: no warnings, every export documented" \
			kernel_doc_clean
	else
		tail -n 5 "$WORK/kernel-doc.log" | sed 's/^/# /'
		notok "kernel-doc: cannot get scripts/kernel-doc from linux-source-6.1"
	fi
fi

# --- Documentation -------------------------------------------------------
docs_parse() {
	python3 - Documentation/ksalloc.rst <<-'EOF'
	import sys
	import docutils.core
	import docutils.utils
	from docutils.parsers.rst import Directive, directives, roles

	class Stub(Directive):
	    # Sphinx-only directives: accept anything
	    has_content = True
	    optional_arguments = 10
	    final_argument_whitespace = True
	    option_spec = None
	    def run(self):
	        return []

	class AnyOptions(dict):
	    def __missing__(self, key):
	        return directives.unchanged

	Stub.option_spec = AnyOptions()
	for name in ("kernel-doc", "toctree", "c:function", "c:struct",
	             "c:macro", "c:type", "code-block"):
	    directives.register_directive(name, Stub)
	for name in ("c:func", "c:type", "c:macro", "c:data", "c:member",
	             "ref", "doc"):
	    roles.register_generic_role(name, docutils.nodes.literal)

	src = open(sys.argv[1]).read()
	out = docutils.core.publish_doctree(
	    src, source_path=sys.argv[1],
	    settings_overrides={"report_level": 2, "halt_level": 5,
	                        "warning_stream": sys.stdout})
	bad = [m for m in out.traverse(docutils.nodes.system_message)
	       if m["level"] >= 2]
	sys.exit(1 if bad else 0)
	EOF
}
docs_complete() {
	local f=Documentation/ksalloc.rst missing= w
	# every exported kernel function, ioctl, set and item of the uapi
	for w in $(grep -oE 'KSA_EXPORT\([a-z_]+\)' module/kapi.c | sed 's/KSA_EXPORT(//; s/)//') \
		$(grep -oE '^#define (IOCTL_KS_[A-Z_]+|KS[A-Z]*SETID_[A-Za-z]+|KSPROPERTY_(STREAM|STREAMALLOCATOR|CONNECTION|KSALLOC)_[A-Z_]+|KSMETHOD_(STREAMALLOCATOR|KSALLOC)_[A-Z_]+|KSEVENT_STREAMALLOCATOR_[A-Z_]+|KSALLOC_URING_[A-Z_]+)\b' uapi/linux/ksalloc.h | awk '{print $2}') \
		$(sed -n 's/^.*module_param_named(\([a-z_]*\),.*/\1/p' module/main.c) \
		ENOENT EOPNOTSUPP EOVERFLOW EINVAL EBADF EFAULT EAGAIN ECANCELED EBUSY ENOMEM ENOTTY \
		$(sed -n 's/^TRACE_EVENT(\([a-z_]*\),.*/\1/p; s/^DEFINE_EVENT([a-z_]*, \([a-z_]*\),.*/\1/p' module/trace/ksalloc.h); do
		grep -qw -- "$w" "$f" || missing+=" $w"
	done
	[[ -z $missing ]] || { echo "not in $f:$missing"; return 1; }
}
if want docs; then
	if [[ ! -f Documentation/ksalloc.rst ]]; then
		notok "docs: no Documentation/ksalloc.rst"
	else
		if python3 -c 'import docutils' 2>/dev/null ||
			{ "$ROOT/scripts/deps.sh" python3-docutils >/dev/null 2>&1 &&
			  python3 -c 'import docutils' 2>/dev/null; }; then
			check "docs: Documentation/ksalloc.rst parses without warnings (docutils)" docs_parse
		else
			skipped "docs: reStructuredText check" "no docutils (python3-docutils)"
		fi
		check "docs: Documentation/ksalloc.rst covers every ioctl, set, item, errno, parameter, tracepoint, export" \
			docs_complete
	fi
fi

# --- dkms.conf ---------------------------------------------------------------
dkms_conf() {
	local v
	[[ -f dkms.conf ]] || { echo "no dkms.conf"; return 1; }
	v=$(bash -c '. ./dkms.conf; echo "$PACKAGE_NAME $PACKAGE_VERSION ${BUILT_MODULE_NAME[0]} ${BUILT_MODULE_LOCATION[0]} ${DEST_MODULE_LOCATION[0]} $AUTOINSTALL"')
	[[ $v == "ksalloc $(cat VERSION) ksalloc module/ /extra yes" ]] ||
		{ echo "dkms.conf says: $v"; return 1; }
	grep -q 'kernel_source_dir' dkms.conf || { echo "MAKE does not use \$kernel_source_dir"; return 1; }
}
if want dkms.conf; then
	check "dkms.conf: version from VERSION, module/ to /extra, AUTOINSTALL" dkms_conf
fi

echo "1..$n"
echo "check-host: $pass passed, $fail failed, $skip skipped"
# 4 (skipped) when nothing ran, as the host-checks hook of check.sh reads it
((fail == 0)) || exit 1
((pass || !skip)) || exit 4
exit 0
