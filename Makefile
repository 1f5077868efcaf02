# SPDX-License-Identifier: GPL-2.0
#
# ksalloc: Windows Kernel Streaming stream allocators for Linux.
#
#   make                 build module/ksalloc.ko against KDIR (W=1 C=1 V=1
#                        go to kbuild)
#   make check           lint, then every selftest in a QEMU VM on each
#                        kernel of KERNELS; ends with "N passed, M failed"
#   make check-debug     every selftest on the debug kernel (KASAN, lockdep,
#                        kmemleak, fault injection; built once per machine
#                        by scripts/debug-kernel.sh), and a kmemleak scan
#   make run             boot KERNEL with the module and vivid, the demo
#                        program, the pipeline example and vivid capturing
#                        into ksalloc frames (examples/vivid-capture)
#   make selftests       build the selftests into build/selftests
#   make examples        build the example programs into build/examples
#   make gst             the GStreamer plugin (element ksallocpool) and its
#                        tests in build/gst (gst/gst.mk)
#   make lib, tools      libksalloc (build/lib) and the ksalloc command
#                        (build/bin); install, uninstall, check-host,
#                        check-dkms and check-deb are described in
#                        lib/userspace.mk
#   make lint            checkpatch --strict, and W=1 C=1 (sparse) against
#                        every kernel of the matrix (LINT_KERNELS)
#   make deb             the Debian packages (debian/) in build/deb, checked
#                        with lintian (scripts/deb.sh)
#   make check-ks-values the uapi header's numbers against the Windows SDK's
#                        ks.h (host only; scripts/check-ks-values.sh)
#   make bench           boot KERNEL (6.12 unless given) once per BENCH_RUNS
#                        entry (guest instructions under icount, 1 and 2
#                        vCPUs; TCG time, 1 and 2) and run
#                        bench/ksalloc-bench; results in build/bench
#   make clean           remove build/ and kbuild's output in module/
#   make clean-cache     remove what the scripts keep in ~/.cache/ksalloc
#                        (kernel trees, the build roots, the debug kernel)
#
# The work is done by scripts/; they install the Debian packages they need
# (as root) when those are missing, but never a kernel: the kernels under
# test are unpacked into ~/.cache/ksalloc (scripts/kernel.sh).

# Where `make` builds the module; empty: /lib/modules/$(uname -r)/build, or
# the cached Debian 6.1 headers.
KDIR		?=
# Kernels (names known to scripts/kernel.sh: 6.1 6.12 6.12-rt 7.2 7.2-rt
# sid sid-rt debug).
KERNELS		?= 6.1 6.12
KERNEL		?= 6.1
# The VM: accelerator, CPUs, memory, seconds before it is killed.
ACCEL		?= tcg
SMP		?= 2
MEM		?= 1024M
VM_TIMEOUT	?= 900
# Seconds each test program may run in the VM.
TEST_TIMEOUT	?= 300
BUILD		?= $(CURDIR)/build

export KERNELS KERNEL ACCEL SMP MEM VM_TIMEOUT TEST_TIMEOUT BUILD
export EXTRA_FILES KCMDLINE_EXTRA QEMU_EXTRA LINT HOST_CHECKS TESTS LINT_KERNELS GUEST_ENV
export DEBUG_KERNEL DEBUG_MEM DEBUG_VM_TIMEOUT DEBUG_TEST_TIMEOUT DEBUG_FUZZ_CALLS
export KSA_CACHE DKMS_KERNELS DEB_TESTS

KBUILD_ARGS	:= CONFIG_KSALLOC=m $(if $(W),W=$(W)) $(if $(C),C=$(C)) $(if $(V),V=$(V))
SELFTEST_ARGS	:= -C selftests OUTPUT=$(BUILD)/selftests KSFT_INC=$(BUILD)/ksft
KSFT_HDRS	:= $(BUILD)/ksft/kselftest_harness.h $(BUILD)/ksft/kselftest.h
EXAMPLES	:= $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
UAPI_HDRS	:= $(wildcard uapi/linux/*.h)

# `make check` must end with its summary line, and GNU make would print
# "make: *** [check] Error 1" after it when tests fail. In question mode
# (-q) make runs only '+' recipe lines and exits 1 on failure without that
# message, so `make check` (or check-debug) alone runs in question mode;
# its recipe builds everything through scripts/check.sh, with a clean
# MAKEFLAGS.
ifneq ($(MAKECMDGOALS),)
ifeq ($(filter-out check check-debug,$(MAKECMDGOALS)),)
MAKEFLAGS	+= -q
endif
endif

all: module

module:
	@kdir='$(KDIR)'; \
	if [ -z "$$kdir" ]; then kdir=$$(scripts/kernel.sh default-kdir) || exit 1; fi; \
	[ -n "$$kdir" ] || { echo "no kernel headers found; set KDIR" >&2; exit 1; }; \
	echo "  KDIR    $$kdir"; \
	$(MAKE) -C "$$kdir" M=$(CURDIR)/module $(KBUILD_ARGS) modules

check:
	+@env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL scripts/check.sh

# The debug kernel's VM: DEBUG_MEM, DEBUG_VM_TIMEOUT, DEBUG_TEST_TIMEOUT,
# DEBUG_FUZZ_CALLS (defaults in scripts/kernel.sh). Lint and the host-side
# checks do not depend on the kernel: they are make check's.
check-debug:
	+@env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL KERNELS=debug LINT=0 HOST_CHECKS=0 \
		scripts/check.sh

run: examples
	@scripts/run.sh $(BUILD)/examples/ksalloc-demo $(BUILD)/examples/pipeline \
		$(BUILD)/examples/vivid-capture

lint:
	@scripts/lint.sh

check-ks-values:
	@scripts/check-ks-values.sh

deb:
	@scripts/deb.sh

selftests: $(KSFT_HDRS)
	@$(MAKE) --no-print-directory $(SELFTEST_ARGS)

# The selftest programs, one a line, in the order the VM runs them.
selftests-list:
	@$(MAKE) --no-print-directory -s $(SELFTEST_ARGS) list

$(KSFT_HDRS):
	@scripts/ksrc-tools.sh

# libksalloc, the ksalloc command, install/uninstall, host-side checks
include lib/userspace.mk
# the GStreamer plugin and its tests (make gst); optional, so that a copy
# of the tree without gst/ (a module-only build) still parses
-include gst/gst.mk

examples: $(EXAMPLES)

# Static (the VM has no libc), with libksalloc
$(BUILD)/examples/%: examples/%.c $(KSA_LIB_HDRS) $(KSA_LIB_A)
	@mkdir -p $(@D)
	$(CC) -static -Wall -O2 -Iuapi -Ilib -o $@ $< $(KSA_LIB_A)

clean:
	rm -rf $(BUILD)
	rm -rf module/*.o module/*.ko module/*.mod module/*.mod.c module/.*.cmd \
		module/Module.symvers module/modules.order module/.tmp_versions \
		module/.cache.mk module/.module-common.o

# Everything under KSA_CACHE (default ~/.cache/ksalloc): about 8 GB with
# every kernel of the matrix, the sid and bookworm build roots and the
# debug kernel.
clean-cache:
	@scripts/clean-cache.sh

# The benchmark boots 6.12 (where every peer exists) and allows each VM
# 30 minutes, unless KERNEL or VM_TIMEOUT were given; scripts/bench.sh
# installs what it needs, then makes bench-prog.
bench:
	@KERNEL=$(if $(filter file,$(origin KERNEL)),6.12,$(KERNEL)) \
	VM_TIMEOUT=$(if $(filter file,$(origin VM_TIMEOUT)),1800,$(VM_TIMEOUT)) \
		scripts/bench.sh

bench-prog: $(BUILD)/bench/ksalloc-bench

$(BUILD)/bench/ksalloc-bench: bench/ksalloc-bench.c $(UAPI_HDRS)
	@mkdir -p $(@D)
	$(CC) -static -Wall -O2 -Iuapi -pthread -o $@ $< -luring

.PHONY: all module check check-debug run lint check-ks-values deb selftests selftests-list examples clean \
	clean-cache \
	bench bench-prog
