#!/bin/sh
# The ksalloc command of the ksalloc-tools package (linked against
# libksalloc0's libksalloc.so.0, both copied into the VM with the C
# library they need), against the module DKMS built from ksalloc-dkms.
# Run in the test VM by scripts/check-deb.sh; KSA_DEB_VERSION is the
# packages' version. One TAP line per check.
K=/usr/bin/ksalloc
n=0
failed=0

# t DESCRIPTION CMD...: one check, its output shown when it fails
t() {
	desc=$1
	shift
	n=$((n + 1))
	if "$@" >/tmp/deb-t.out 2>&1; then
		echo "ok $n $desc"
	else
		sed 's/^/# /' /tmp/deb-t.out
		echo "not ok $n $desc"
		failed=1
	fi
}

t "ksalloc --version is $KSA_DEB_VERSION" \
	sh -c "$K --version | grep '^ksalloc $KSA_DEB_VERSION '"
t "ksalloc status: no allocators" \
	sh -c "$K status | grep '^allocators: *0\$'"
t "ksalloc create -- CMD: the allocator's fd in KSALLOC_FD, ksalloc status shows it" \
	$K create --frames 2 --frame-size 64k -- \
	sh -c 'test -e "/proc/self/fd/$KSALLOC_FD" && '"$K"' status | grep "^allocators: *1\$"'
t "ksalloc alloc: frames of a new allocator" \
	$K alloc --frames 4 --frame-size 4k --count 4
t "ksalloc stress: 2 threads, 1 s" \
	$K stress --threads 2 --frames 2 --seconds 1
t "ksalloc nope: usage error, exit 2" \
	sh -c "$K nope; test \$? = 2"

echo "1..$n"
exit $failed
