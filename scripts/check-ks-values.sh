#!/bin/bash
# Check that the numbers in uapi/linux/ksalloc.h are the Windows SDK's.
#
# The reference is the ks.h of Debian's mingw-w64-common (plus the POOL_TYPE
# and VT_ enums that ks.h refers to). Every object-like #define of ours whose
# name contains KS (KSPROPERTY_*, KSSTATE_*, set GUIDs, IOCTL_KS_*, ...) is
# looked up there under the same name, or under the SDK name listed in SDK_NAME
# below. Names with KSALLOC_ or Ksalloc in them are this project's extensions;
# any other name the SDK does not have must be listed in OURS_ONLY, so a typo
# in one of our names fails as loudly as a wrong value.
#
# How: the SDK headers are run through the host preprocessor (they are not
# compilable on Linux, but they preprocess with a few empty stand-ins for
# the compiler's intrinsic headers). That expands every SDK macro we need to
# plain numbers and yields the SDK's enum declarations. Both go, renamed with
# an SDK_ prefix, into one generated C file next to #include <linux/ksalloc.h>:
# integers are compared with _Static_assert, GUIDs byte by byte (Windows
# in-memory layout, Data1..Data3 little-endian) by the program it builds,
# which is then run.
#
# Usage: scripts/check-ks-values.sh
# Environment: UAPI_INC (default uapi/), KS_INC (default the mingw headers),
#              CC (default gcc), KEEP=1 keeps the work directory.
# Exit: 0 when every value matches (last line "check-ks-values: ok"), 1
# otherwise (last line "check-ks-values: FAIL"): one host-side test.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

UAPI_INC=${UAPI_INC:-$ROOT/uapi}
KS_INC=${KS_INC:-/usr/share/mingw-w64/include}
CC=${CC:-gcc}
HDR=$UAPI_INC/linux/ksalloc.h

# Our name -> the SDK's name, where they differ.
declare -A SDK_NAME=(
	[KSGUID_NULL]=GUID_NULL
	[KSNAME_AllocatorEx]=KSSTRING_AllocatorEx	# only the string form exists
	[KS_IOCTL_TYPE]=FILE_DEVICE_KS
	[KS_POOL_NONPAGED]=NonPagedPool
	[KS_POOL_PAGED]=PagedPool
	[KS_POOL_NONPAGED_CACHE_ALIGNED]=NonPagedPoolCacheAligned
	[KS_POOL_PAGED_CACHE_ALIGNED]=PagedPoolCacheAligned
	[KS_POOL_NONPAGED_NX]=NonPagedPoolNx
	[KS_VT_EMPTY]=VT_EMPTY
	[KS_VT_I8]=VT_I8
	[KS_VT_UI4]=VT_UI4
	[KS_VT_UI8]=VT_UI8
	[KS_VT_BLOB]=VT_BLOB
)
# Our other names with no SDK counterpart: the Linux-only ABI.
OURS_ONLY=(KS_MAX_IN_SIZE KS_MAX_FRAMING_ITEMS KS_NULL_HANDLE IOCTL_KS_CREATE)

fail() {
	printf 'check-ks-values: %s\n' "$*" >&2
	echo "check-ks-values: FAIL"
	exit 1
}

[[ -r $HDR ]] || fail "cannot read $HDR"
if [[ ! -r $KS_INC/ks.h ]]; then
	"$ROOT/scripts/deps.sh" mingw-w64-common || true
	[[ -r $KS_INC/ks.h ]] || fail "no $KS_INC/ks.h (install mingw-w64-common)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/ks-values.XXXXXX")
if [[ ${KEEP-} == 1 ]]; then
	msg "check-ks-values: work directory $work"
else
	trap 'rm -rf "$work"' EXIT
fi

# 1. Our object-like KS #defines: "NAME<TAB>VALUE", continuation lines joined.
perl -0777 -ne '
	s/\\\n/ /g;
	my (@n, %v);
	while (/^#define[ \t]+(\w*KS\w*)(?![\w(])[ \t]*(.*)$/mg) {
		my ($n, $v) = ($1, $2);
		next if $n eq "_UAPI_LINUX_KSALLOC_H";
		$v =~ s{/\*.*?\*/}{}g; $v =~ s/\s+/ /g; $v =~ s/^ | $//g;
		push @n, $n;
		$v{$n} = $v;
	}
	for my $n (@n) {	# an alias of another of ours has its value
		my $v = $v{$n};
		$v = $v{$v} while exists $v{$v};
		print "$n\t$v\n";
	}' "$HDR" >"$work/ours.tsv"
[[ -s $work/ours.tsv ]] || fail "no KS #defines found in $HDR"

declare -A only=()
for n in "${OURS_ONLY[@]}" \
	$(awk -F'\t' '$1 ~ /KSALLOC_|Ksalloc/ {print $1}' "$work/ours.tsv"); do
	only[$n]=1
done

# 2. Expand the SDK's counterparts. A guid of ours is compared with the
# SDK's STATIC_<name> (its components); a marker identifier keeps each
# expansion's name, as the preprocessor replaces the name itself.
{
	# wdm.h for POOL_TYPE and the CTL_CODE pieces; ks.h brings VARENUM.
	echo '#include <ddk/wdm.h>'
	echo '#include <ks.h>'
	while IFS=$'\t' read -r name value; do
		[[ -n ${only[$name]-} ]] && continue
		sdk=${SDK_NAME[$name]-$name}
		if [[ $value == \{* && $sdk != KSSTRING_* ]]; then
			sdk=STATIC_$sdk
		fi
		printf '@@@KSA_SDK_%s@@@ %s\n' "$name" "$sdk"
	done <"$work/ours.tsv"
} >"$work/sdk.c"

# Empty stand-ins for gcc's intrinsic headers that the SDK's intrin.h
# pulls in (only declarations we never use come from them).
mkdir -p "$work/stub"
for h in mm_malloc.h x86intrin.h cpuid.h mmintrin.h mm3dnow.h xmmintrin.h \
	 emmintrin.h pmmintrin.h; do
	: >"$work/stub/$h"
done
if ! "$CC" -E -P -nostdinc -D_NTDDK_ -D_WIN32 -D_WIN64 -D__MINGW32__ \
	-D__MINGW64__ -I"$work/stub" -I"$KS_INC" "$work/sdk.c" \
	>"$work/sdk.i" 2>"$work/sdk.err"; then
	cat "$work/sdk.err" >&2
	fail "preprocessing the SDK headers failed"
fi

# 3. Generate the check program. Perl reads our values, the expansions and
# the SDK's enums and writes the C file; it exits 2 on names the SDK lacks.
set +e
perl -w - "$work/ours.tsv" "$work/sdk.i" "${!only[@]}" >"$work/check.c" <<'EOF'
use strict;
my ($ours_file, $sdk_file, @ours_only) = @ARGV;
my %only = map { $_ => 1 } @ours_only;

open(my $fh, '<', $ours_file) or die;
my @ours = map { chomp; [split /\t/, $_, 2] } <$fh>;
close $fh;
open($fh, '<', $sdk_file) or die;
my $sdk = do { local $/; <$fh> };
close $fh;

# Expansions of the markers.
my %exp;
while ($sdk =~ /^\@\@\@KSA_SDK_(\w+)\@\@\@ (.*)$/mg) {
	$exp{$1} = $2;
}
$sdk =~ s/^\@\@\@.*$//mg;

# Every enum of the SDK headers: member names, and the declarations.
my (%member, @enums);
while ($sdk =~ /\benum\s*\w*\s*\{([^{}]*)\}/g) {
	my $body = $1;
	push @enums, $body;
	$member{$1} = 1 while $body =~ /(?:^|,)\s*([A-Za-z_]\w*)/g;
}

my (@int, @guid, @missing, %need_enum);
for my $o (@ours) {
	my ($name, $value) = @$o;
	next if $only{$name};
	my $e = $exp{$name};
	die "no expansion for $name\n" unless defined $e;
	if ($value =~ /^\{/) {
		if ($e =~ /^L"\{([0-9A-Fa-f-]+)\}"$/) {	# a KSSTRING_
			my @p = split /-/, $1;
			my @d4 = ($p[3] . $p[4]) =~ /(..)/g;
			$e = join(',', map("0x$_", @p[0..2], @d4));
		}
		if ($e !~ /^[\s0-9a-fA-FxXuUlL,]+$/) {
			push @missing, $name;
			next;
		}
		push @guid, [$name, $e];
		next;
	}
	if ($e =~ /^\s*([A-Za-z_]\w*)\s*$/ && !$member{$1}) {
		push @missing, $name;	# neither a macro nor an enum member
		next;
	}
	push @int, [$name, $value, $e];
}
if (@missing) {
	print STDERR "check-ks-values: not in the SDK headers: @missing\n";
	print STDERR "  (fix the name, or add it to SDK_NAME or OURS_ONLY)\n";
	exit 2;
}

# SDK identifiers in expressions get the SDK_ prefix.
sub sdkify {
	my $s = shift;
	$s =~ s/\b([A-Za-z_]\w*)\b/$member{$1} ? "SDK_$1" : $1/ge;
	return $s;
}
# Only the enums that hold a value we compare are compiled.
my %used;
for my $i (@int) {
	$used{$1} = 1 while $i->[2] =~ /\b([A-Za-z_]\w*)\b/g;
}

print <<'HDR';
/* Generated by scripts/check-ks-values.sh: ksalloc.h against the SDK. */
#include <stdio.h>
#include <string.h>
#include <linux/ksalloc.h>

/* Windows GUID {Data1, Data2, Data3, Data4[8]} as its 16 bytes in memory */
#define SDK_GUID(d1, d2, d3, a, b, c, d, e, f, g, h)			\
	{ (d1) & 0xff, ((d1) >> 8) & 0xff, ((d1) >> 16) & 0xff,	\
	  ((d1) >> 24) & 0xff, (d2) & 0xff, ((d2) >> 8) & 0xff,		\
	  (d3) & 0xff, ((d3) >> 8) & 0xff, a, b, c, d, e, f, g, h }
#define SDK_GUID_(...) SDK_GUID(__VA_ARGS__)

HDR
for my $body (@enums) {
	next unless grep { $used{$_} } ($body =~ /(?:^|,)\s*([A-Za-z_]\w*)/g);
	(my $b = sdkify($body)) =~ s/\s+/ /g;
	print "enum {$b};\n";
}
print "\n";
for my $i (@int) {
	my ($name, $ours, $e) = @$i;
	my $s = sdkify($e);
	my $what = "$name: ksalloc.h $ours, SDK $e";
	$what =~ s/(["\\])/\\$1/g;
	if ($name =~ /^IOCTL_KS_/) {
		# Our number is _IOWR(KS_IOCTL_TYPE, fn); the SDK's is CTL_CODE
		# (FILE_DEVICE_KS, fn, ...): the type and function must match.
		print "_Static_assert(_IOC_TYPE($name) == (($s) >> 16) &&\n";
		print "\t       _IOC_NR($name) == ((($s) >> 2) & 0xfff),\n";
		print "\t       \"$what\");\n";
	} else {
		print "_Static_assert(($name) == ($s), \"$what\");\n";
	}
}
print "\nstatic const struct {\n\tconst char *name;\n\tstruct ksguid ours;\n";
print "\tunsigned char sdk[16];\n} guids[] = {\n";
for my $g (@guid) {
	print "\t{ \"$g->[0]\", $g->[0], SDK_GUID_($g->[1]) },\n";
}
printf "};\n\n#define N_INT %d\n", scalar @int;
print <<'MAIN';

static void hex(const char *what, const unsigned char *b)
{
	int i;

	printf("  %-10s", what);
	for (i = 0; i < 16; i++)
		printf(" %02x", b[i]);
	printf("\n");
}

int main(void)
{
	unsigned int i, bad = 0, n = sizeof(guids) / sizeof(guids[0]);

	for (i = 0; i < n; i++) {
		if (!memcmp(guids[i].ours.b, guids[i].sdk, 16))
			continue;
		printf("check-ks-values: %s differs from the SDK\n",
		       guids[i].name);
		hex("ksalloc.h", guids[i].ours.b);
		hex("SDK", guids[i].sdk);
		bad++;
	}
	printf("check-ks-values: %d integer values and %u GUIDs compared, "
	       "%u GUIDs differ\n", N_INT, n, bad);
	return bad ? 1 : 0;
}
MAIN
EOF
rc=$?
set -e
((rc == 0)) || fail "could not generate the check (see above)"

if ! "$CC" -std=gnu11 -Wall -Werror -I"$UAPI_INC" -o "$work/check" \
	"$work/check.c" 2>"$work/check.err"; then
	grep -E 'error|note' "$work/check.err" >&2 || cat "$work/check.err" >&2
	fail "values of $HDR differ from the SDK (static assertions above)"
fi
"$work/check" || fail "GUIDs of $HDR differ from the SDK"
echo "check-ks-values: ok"
