#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Cross-check the syzkaller description with the uapi header, without
# syzkaller: every constant ksalloc.txt names must be in ksalloc.txt.const
# with the value gcc computes from <linux/ksalloc.h> (and <fcntl.h>,
# <sys/syscall.h>) for x86-64, and the other way round; every GUID of the
# description must have the bytes of the header's macro of that name; and
# the structs that mirror uapi structs must have their sizes.
#
# It also applies the rules of syzkaller's compiler (pkg/compiler) that a
# line-based reading can: a syscall returns nothing or a resource (not
# vma, an int or a pointer); no syscall is declared twice, none has more
# than 9 arguments; no syscall, struct, union or template repeats an
# argument or field name; every struct, union, template, flags and
# resource is used; no comment starts like a directive (include, incdir,
# define). Each rule is shown to fire on a copy of ksalloc.txt broken on
# purpose. What it does not check is listed in README.md; syz-sysgen, the
# compiler itself, is the final word.
#
# Usage: selftests/syz/check-consts.sh [--generate]
#   --generate  rewrite ksalloc.txt.const from the header instead
# Exit 0 if everything matches (prints what does not otherwise).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
txt=$here/ksalloc.txt
const=$here/ksalloc.txt.const
CC=${CC:-gcc}
# The syscalls the description uses
syscalls=(ioctl openat mmap)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# syz_rules FILE: the syzkaller compiler rules above; prints what breaks
# them, false if anything does. Resources that syzkaller's own
# descriptions declare and this one uses are named in SYZ_RESOURCES.
SYZ_RESOURCES="fd fd_event"
syz_rules() {
	awk -v extern="$SYZ_RESOURCES" '
	function err(msg) { printf "check-consts: %s:%d: %s\n", FILENAME, FNR, msg; bad = 1 }
	function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
	# Count the identifiers of a line (names may hold "$")
	function tokens(s,    t) {
		gsub(/`[^`]*`|"[^"]*"/, " ", s)
		while (match(s, /[A-Za-z_][A-Za-z0-9_$]*/)) {
			t = substr(s, RSTART, RLENGTH)
			used[t]++
			s = substr(s, RSTART + RLENGTH)
		}
	}
	# A field or argument name, once per group
	function field(group, name) {
		if ((group SUBSEP name) in names)
			err("duplicate field or argument " name " in " group)
		names[group, name] = 1
	}
	BEGIN { n = split(extern, e, " "); for (i = 1; i <= n; i++) resource[e[i]] = 1 }
	/^[ \t]*#/ {
		c = $0; sub(/^[ \t]*#/, "", c)
		if (c ~ /^[ \t]*(include|incdir|define)/)
			err("confusing comment faking a directive")
		next
	}
	/^[ \t]*$/ { next }
	{ tokens($0) }
	block != "" {
		if ($0 ~ /^[}\]]/) { block = ""; next }
		field(block, $1)
		next
	}
	/^include / { next }
	/^resource / {
		name = $2; sub(/\[.*/, "", name)
		resource[name] = 1; def[name] = "resource"; defline[name] = FNR
		next
	}
	/^[A-Za-z_][A-Za-z0-9_$]* = / {
		def[$1] = "flags"; defline[$1] = FNR
		next
	}
	/^(type )?[A-Za-z_][A-Za-z0-9_$]*(\[[A-Z0-9_, ]+\])? [{[]$/ {
		name = $0; sub(/^type /, "", name); sub(/[[ ].*/, "", name)
		def[name] = ($NF == "{") ? "struct" : "union"; defline[name] = FNR
		block = name
		next
	}
	/^[a-z][A-Za-z0-9_]*(\$[A-Za-z0-9_$]+)?\(/ {
		name = $0; sub(/\(.*/, "", name)
		if (name in calls)
			err("syscall " name " redeclared (line " calls[name] ")")
		calls[name] = FNR
		rest = substr($0, length(name) + 2)
		# The arguments end at the ")" at depth 0
		depth = 0; args = ""
		for (i = 1; i <= length(rest); i++) {
			ch = substr(rest, i, 1)
			if (ch == "[") depth++
			else if (ch == "]") depth--
			else if (ch == ")" && depth == 0) break
			args = args ch
		}
		ret = trim(substr(rest, i + 1))
		sub(/[ \t]*\(.*$/, "", ret)	# call attributes
		nargs = 0; depth = 0; cur = ""
		for (j = 1; j <= length(args) + 1; j++) {
			ch = j <= length(args) ? substr(args, j, 1) : ","
			if (ch == "[") depth++
			else if (ch == "]") depth--
			if (ch == "," && depth == 0) {
				cur = trim(cur)
				if (cur != "") {
					nargs++
					split(cur, a, /[ \t]+/)
					field("syscall " name, a[1])
				}
				cur = ""
			} else {
				cur = cur ch
			}
		}
		if (nargs > 9)
			err("syscall " name " has " nargs " arguments, allowed maximum is 9")
		if (ret != "") {
			rbase = ret; sub(/\[.*/, "", rbase)
			rets[FNR] = rbase
		}
		next
	}
	{ err("not understood: " $0) }
	END {
		for (l in rets)
			if (!(rets[l] in resource)) {
				printf "check-consts: %s:%d: %s can\x27t be syscall return (only resources can)\n", FILENAME, l, rets[l]
				bad = 1
			}
		for (name in def)
			if (used[name] < 2) {
				printf "check-consts: %s:%d: unused %s %s\n", FILENAME, defline[name], def[name], name
				bad = 1
			}
		exit bad
	}' "$1"
}

# The description without comments and without hex string literals
grep -v '^[[:space:]]*#' "$txt" | sed 's/`[0-9a-fA-F]*`//g' >"$tmp/body"

# Template parameters are upper case too: not constants.
params=$(grep -oE '^type [a-z_$0-9]+\[[A-Z, ]+\]' "$tmp/body" |
	sed -E 's/^[^[]*\[//; s/\]$//; s/, */\n/g' | sort -u)
# Identifiers in upper case, not right after '$' (names like ksguid$GUID_NULL)
grep -oE '(^|[^$A-Za-z0-9_])[A-Z][A-Z0-9_]*[A-Z0-9]\b' "$tmp/body" |
	sed 's/^[^A-Z]//' | sort -u | grep -vxF "$params" >"$tmp/names" || true
for s in "${syscalls[@]}"; do echo "__NR_$s"; done >>"$tmp/names"
sort -u -o "$tmp/names" "$tmp/names"

# Their values, as syzkaller writes them (unsigned 64-bit decimal)
{
	echo '#include <fcntl.h>'
	echo '#include <stdio.h>'
	echo '#include <sys/syscall.h>'
	echo '#include <linux/ksalloc.h>'
	echo 'int main(void) {'
	while read -r n; do
		printf '\tprintf("%%s = %%llu\\n", "%s", (unsigned long long)(long long)(%s));\n' "$n" "$n"
	done <"$tmp/names"
	echo 'return 0; }'
} >"$tmp/consts.c"
if ! "$CC" -Wall -I"$root/uapi" -o "$tmp/consts" "$tmp/consts.c" 2>"$tmp/cc.log"; then
	grep -E 'error' "$tmp/cc.log" | head -n 20 >&2
	echo "check-consts: a name of ksalloc.txt is not a constant of the headers" >&2
	exit 1
fi
"$tmp/consts" | LC_ALL=C sort >"$tmp/want"

if [[ ${1-} == --generate ]]; then
	{
		echo '# Generated by check-consts.sh --generate from uapi/linux/ksalloc.h.'
		echo 'arches = amd64'
		cat "$tmp/want"
	} >"$const"
	echo "wrote $const"
	exit 0
fi

bad=0
grep -vE '^[[:space:]]*(#|$)|^arches' "$const" | sed -E 's/[[:space:]]+=[[:space:]]+/ = /' |
	LC_ALL=C sort >"$tmp/have"
if ! diff -u "$tmp/have" "$tmp/want" >"$tmp/diff"; then
	echo "check-consts: ksalloc.txt.const (-) differs from the header (+):"
	tail -n +3 "$tmp/diff"
	bad=1
fi
grep -qx 'arches = amd64' "$const" || { echo "check-consts: no 'arches = amd64'"; bad=1; }

# GUIDs: ksguid$NAME { b stringnoz[`hex`] } against NAME (GUID_NULL: KSGUID_NULL)
grep -v '^[[:space:]]*#' "$txt" | awk '
	/^ksguid\$[A-Za-z_0-9]+ \{/ { name = $1; sub(/^ksguid\$/, "", name) }
	name != "" && /stringnoz\[`/ {
		hex = $0; sub(/.*stringnoz\[`/, "", hex); sub(/`.*/, "", hex)
		print name, hex; name = ""
	}' >"$tmp/guids"
[[ -s $tmp/guids ]] || { echo "check-consts: no GUIDs found in ksalloc.txt"; bad=1; }
{
	echo '#include <stdio.h>'
	echo '#include <linux/ksalloc.h>'
	echo 'static void p(const char *n, struct ksguid g) {'
	echo '	printf("%s ", n);'
	echo '	for (int i = 0; i < 16; i++) printf("%02x", g.b[i]);'
	echo '	printf("\n"); }'
	echo 'int main(void) {'
	while read -r n _; do
		m=$n
		[[ $n == GUID_NULL ]] && m=KSGUID_NULL
		printf '\t{ struct ksguid g = %s; p("%s", g); }\n' "$m" "$n"
	done <"$tmp/guids"
	echo 'return 0; }'
} >"$tmp/guids.c"
if ! "$CC" -Wall -I"$root/uapi" -o "$tmp/guidp" "$tmp/guids.c" 2>"$tmp/cc.log"; then
	grep -E 'error' "$tmp/cc.log" | head -n 20
	echo "check-consts: a GUID of ksalloc.txt has no macro of that name in the header"
	bad=1
elif ! diff -u "$tmp/guids" <("$tmp/guidp") >"$tmp/diff"; then
	echo "check-consts: GUID bytes of ksalloc.txt (-) differ from the header (+):"
	tail -n +3 "$tmp/diff"
	bad=1
fi

# Sizes: a small evaluator of the fixed-size structs and unions of the
# description (fields of ints, consts, flags, lens, ptr64, fixed arrays,
# strings, resources and other such structs; everything here is naturally
# aligned, so there is no padding to compute).
grep -v '^[[:space:]]*#' "$txt" | awk '
	function tsize(t,    a, n, inner, el) {
		gsub(/^[ \t]+|[ \t]+$/, "", t)
		if (t ~ /^int8/) return 1
		if (t ~ /^int16/) return 2
		if (t ~ /^int32/) return 4
		if (t ~ /^int64/ || t ~ /^ptr64/) return 8
		if (t ~ /^(const|flags|len|bytesize)\[/) {
			n = t; sub(/.*, */, "", n); sub(/\].*/, "", n)
			return tsize(n)
		}
		if (t ~ /^stringnoz\[`/) {
			n = t; sub(/^stringnoz\[`/, "", n); sub(/`.*/, "", n)
			return length(n) / 2
		}
		if (t ~ /^array\[/) {
			inner = t; sub(/^array\[/, "", inner); sub(/\][^]]*$/, "", inner)
			n = inner; sub(/.*, */, "", n)
			if (n !~ /^[0-9]+$/) return -1
			el = inner; sub(/, *[0-9]+$/, "", el)
			return (el == "" || tsize(el) < 0) ? -1 : n * tsize(el)
		}
		if (t ~ /^fd_/ || t == "fd") return 4
		if (t == "ksalloc_frame_offset") return 8
		sub(/\[.*/, "", t)
		if (t in size) return size[t]
		return -1
	}
	# struct (or template) "name {" / union "name ["
	/^(type )?[A-Za-z_$0-9]+(\[[A-Z, ]+\])? [{[]$/ {
		name = $0; sub(/^type /, "", name); sub(/[[ ].*/, "", name)
		kind = ($NF == "{") ? "struct" : "union"; total = 0; ok = 1; next
	}
	name != "" && /^[}\]]/ {
		if (ok) { size[name] = total; print name, total }
		name = ""; next
	}
	name != "" && NF >= 2 {
		t = $0; sub(/^[ \t]*[A-Za-z_0-9]+[ \t]+/, "", t); sub(/[ \t]+\((in|out|inout)\)$/, "", t)
		s = (t ~ /^[A-Z]+$/) ? (t == "SET" ? 16 : -1) : tsize(t)
		if (s < 0) { ok = 0; next }
		if (kind == "struct") total += s; else if (s > total) total = s
	}' >"$tmp/sizes"

# What the C layouts say, for the structs that mirror them
expect() { # NAME C-EXPRESSION
	printf '\tprintf("%%s %%zu\\n", "%s", (size_t)(%s));\n' "$1" "$2"
}
{
	echo '#include <stdio.h>'
	echo '#include <linux/ksalloc.h>'
	echo 'int main(void) {'
	for n in ks_ioctl_args_get ks_ioctl_args_set ks_ioctl_args_io ks_ioctl_args_in \
		ks_ioctl_args_all; do
		expect "$n" 'sizeof(struct ks_ioctl_args)'
	done
	for n in 'ksguid' 'ksguid$KSNAME_Allocator'; do expect "$n" 'sizeof(struct ksguid)'; done
	expect ksid 'sizeof(struct ksidentifier)'
	expect ksid_any 'sizeof(struct ksidentifier)'
	expect ksallocator_framing 'sizeof(struct ksallocator_framing)'
	expect 'ksallocator_framing$requirements' 'sizeof(struct ksallocator_framing)'
	expect ksstreamallocator_status 'sizeof(struct ksstreamallocator_status)'
	expect ksalloc_allocator_info 'sizeof(struct ksalloc_allocator_info)'
	expect ks_framing_range 'sizeof(struct ks_framing_range)'
	expect ks_framing_range_weighted 'sizeof(struct ks_framing_range_weighted)'
	expect ks_framing_item 'sizeof(struct ks_framing_item)'
	expect ksallocator_create 'sizeof(struct ksallocator_create)'
	expect ksalloc_allocator_create 'sizeof(struct ksalloc_allocator_create)'
	for n in ksalloc_frame_args 'ksalloc_frame_args$ks'; do
		expect "$n" 'sizeof(struct ksalloc_frame_args)'
	done
	for n in kseventdata 'kseventdata$event' 'kseventdata$semaphore' 'kseventdata$any'; do
		expect "$n" 'sizeof(struct kseventdata)'
	done
	expect ksalloc_batch_method 'sizeof(struct ksalloc_batch_method)'
	expect ksalloc_handle 'sizeof(__s64)'
	expect ksalloc_new_fd 'sizeof(__s64)'
	echo 'return 0; }'
} >"$tmp/sizes.c"
"$CC" -Wall -I"$root/uapi" -o "$tmp/sizep" "$tmp/sizes.c"
while read -r n want; do
	have=$(awk -v n="$n" '$1 == n { print $2 }' "$tmp/sizes")
	if [[ -z $have ]]; then
		echo "check-consts: no fixed size computed for $n"
		bad=1
	elif [[ $have != "$want" ]]; then
		echo "check-consts: $n is $have bytes in ksalloc.txt, $want in the header"
		bad=1
	fi
done < <("$tmp/sizep")

# syzkaller's compiler rules, on the description ...
syz_rules "$txt" || bad=1

# ... and on copies broken on purpose: each rule must fire.
mutate() { # NAME SED-OR-APPEND...: a broken copy in $tmp/NAME.txt
	local name=$1
	shift
	cp "$txt" "$tmp/$name.txt"
	"$@" "$tmp/$name.txt"
}
append() { printf '%b' "$1" >>"$2"; }
rules=0
expect_rule() { # NAME MESSAGE: syz_rules refuses $tmp/NAME.txt with MESSAGE
	rules=$((rules + 1))
	if syz_rules "$tmp/$1.txt" >"$tmp/$1.out" 2>&1; then
		echo "check-consts: the rules check accepted $1 (expected: $2)"
		bad=1
	elif ! grep -q -- "$2" "$tmp/$1.out"; then
		echo "check-consts: the rules check refused $1 without \"$2\":"
		cat "$tmp/$1.out"
		bad=1
	fi
}
mutate ret_vma sed -i -E 's/^(mmap\$ksalloc\(.*\))$/\1 vma/'
expect_rule ret_vma "vma can't be syscall return"
mutate ret_int sed -i -E 's/^(ioctl\$IOCTL_KSALLOC_FREE_FRAME\(.*\))$/\1 intptr/'
expect_rule ret_int "intptr can't be syscall return"
mutate ret_struct sed -i -E 's/^(ioctl\$IOCTL_KSALLOC_ALLOC_FRAME\(.*\))$/\1 ksalloc_allocator_info/'
expect_rule ret_struct "ksalloc_allocator_info can't be syscall return"
mutate dup_call append "$(grep -m1 '^ioctl\$IOCTL_KS_CREATE(' "$txt")\n"
expect_rule dup_call "syscall ioctl\$IOCTL_KS_CREATE redeclared"
mutate dup_field sed -i -E '/^ksstreamallocator_status \{$/a\\tframing\tint32'
expect_rule dup_field "duplicate field or argument framing"
mutate dup_arg sed -i -E 's/^(ioctl\$IOCTL_KSALLOC_FREE_FRAME\(fd fd_ksalloc_allocator), /\1, fd fd_ksalloc_allocator, /'
expect_rule dup_arg "duplicate field or argument fd in syscall"
mutate unused_struct append "\nksalloc_nothing {\n\tx\tint32\n}\n"
expect_rule unused_struct "unused struct ksalloc_nothing"
mutate unused_flags append "\nksalloc_no_flags = O_CLOEXEC\n"
expect_rule unused_flags "unused flags ksalloc_no_flags"
mutate many_args sed -i -E 's/^(ioctl\$IOCTL_KSALLOC_FREE_FRAME\(.*)\)$/\1, a1 int8, a2 int8, a3 int8, a4 int8, a5 int8, a6 int8, a7 int8)/'
expect_rule many_args "has 10 arguments"
mutate fake_directive append "\n# include <linux/fcntl.h>\n"
expect_rule fake_directive "confusing comment"

if ((bad)); then
	exit 1
fi
echo "check-consts: $(wc -l <"$tmp/want") constants, $(wc -l <"$tmp/guids") GUIDs and $("$tmp/sizep" | wc -l) struct sizes match the header; syzkaller's rules hold ($rules broken copies refused)"
