# SPDX-License-Identifier: GPL-2.0
#
# The user-space side of ksalloc, included by the top-level Makefile:
#
#   make lib             libksalloc.a, libksalloc.so.0 and ksalloc.pc in
#                        build/lib
#   make tools           the ksalloc command in build/bin: static, or with
#                        KSA_TOOL_LINK=shared linked against libksalloc.so.0
#   make install         module (kbuild modules_install, INSTALL_MOD_DIR=extra,
#                        depmod), uapi header, library, headers, pkg-config
#                        file, ksalloc and its man page; PREFIX=/usr/local,
#                        DESTDIR honoured
#   make install-user    the same without the module
#   make install-module  only the module
#   make uninstall       remove what install installed
#   make check-host      the host-side tests (no device needed): TAP lines
#   make check-dkms      dkms add/build/remove against every installed
#                        kernel's headers (scripts/check-dkms.sh, as root)
#   make check-deb       the Debian packages (make deb) installed, used in
#                        the 6.1 VM and removed, in build roots
#                        (scripts/check-deb.sh, as root)

KSA_VERSION	:= $(shell cat $(CURDIR)/VERSION 2>/dev/null || echo 0)
KSA_SOMAJOR	:= 0

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
MANDIR		?= $(PREFIX)/share/man
PKGCONFIGDIR	?= $(LIBDIR)/pkgconfig
DESTDIR		?=

# CPPFLAGS, CFLAGS and LDFLAGS from the command line or the environment
# are honoured, after ours: a distribution's build flags (hardening,
# debian/rules) replace the default -O2 -g.
CFLAGS		?= -O2 -g
KSA_CFLAGS	:= -Wall -Wextra -Wno-unused-parameter -Iuapi -Ilib
KSA_CC		= $(CC) $(CPPFLAGS) $(KSA_CFLAGS) $(CFLAGS)
# static: the same binary runs in the busybox test VM; shared: against
# libksalloc.so.0, as a distribution ships it (debian/rules)
KSA_TOOL_LINK	?= static
KSA_LIB_HDRS	:= lib/libksalloc.h lib/ks-compat.h $(UAPI_HDRS)
KSA_LIB_A	:= $(BUILD)/lib/libksalloc.a
KSA_LIB_SO	:= $(BUILD)/lib/libksalloc.so.$(KSA_VERSION)
KSA_LIB_PC	:= $(BUILD)/lib/ksalloc.pc
KSA_TOOL	:= $(BUILD)/bin/ksalloc

lib: $(KSA_LIB_A) $(KSA_LIB_SO) $(KSA_LIB_PC)

# ksalloc.c: requests, allocators, events; ring.c: frames through io_uring
KSA_LIB_SRCS	:= lib/ksalloc.c lib/ring.c

$(BUILD)/lib/%.o: lib/%.c $(KSA_LIB_HDRS)
	@mkdir -p $(@D)
	$(KSA_CC) -fvisibility=hidden -c -o $@ $<

$(BUILD)/lib/%.pic.o: lib/%.c $(KSA_LIB_HDRS)
	@mkdir -p $(@D)
	$(KSA_CC) -fPIC -fvisibility=hidden -c -o $@ $<

$(KSA_LIB_A): $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(KSA_LIB_SRCS))
	rm -f $@
	$(AR) rcs $@ $^

$(KSA_LIB_SO): $(patsubst lib/%.c,$(BUILD)/lib/%.pic.o,$(KSA_LIB_SRCS)) lib/libksalloc.map
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,libksalloc.so.$(KSA_SOMAJOR) \
		-Wl,--version-script=lib/libksalloc.map -o $@ $(filter %.o,$^)
	ln -sf $(@F) $(@D)/libksalloc.so.$(KSA_SOMAJOR)
	ln -sf libksalloc.so.$(KSA_SOMAJOR) $(@D)/libksalloc.so

$(KSA_LIB_PC): lib/ksalloc.pc.in VERSION
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(KSA_VERSION)|' \
	    $< >$@

tools: $(KSA_TOOL)

ifeq ($(KSA_TOOL_LINK),shared)
$(KSA_TOOL): tools/ksalloc.c $(KSA_LIB_HDRS) $(KSA_LIB_SO)
	@mkdir -p $(@D)
	$(KSA_CC) $(LDFLAGS) -DKSA_VERSION='"$(KSA_VERSION)"' -o $@ $< \
		-L$(BUILD)/lib -lksalloc -lpthread
else ifeq ($(KSA_TOOL_LINK),static)
$(KSA_TOOL): tools/ksalloc.c $(KSA_LIB_HDRS) $(KSA_LIB_A)
	@mkdir -p $(@D)
	$(KSA_CC) -static $(LDFLAGS) -DKSA_VERSION='"$(KSA_VERSION)"' -o $@ $< \
		$(KSA_LIB_A) -lpthread
else
$(error KSA_TOOL_LINK is static or shared, not '$(KSA_TOOL_LINK)')
endif

# --- install -----------------------------------------------------------

install: install-module install-user

# Against the running kernel's headers unless KDIR says otherwise. The
# kernel release comes from the module's vermagic: what kbuild built
# against, whatever the headers' directory is called. depmod runs on the
# DESTDIR tree too (-b), quiet about the kernel's own index files that a
# staging tree lacks.
install-module:
	@kdir='$(KDIR)'; \
	if [ -z "$$kdir" ]; then kdir=/lib/modules/$$(uname -r)/build; fi; \
	[ -f "$$kdir/Makefile" ] || { echo "no headers of the running kernel in $$kdir;" \
		"install its headers package or set KDIR" >&2; exit 1; }; \
	echo "  KDIR    $$kdir"; \
	$(MAKE) -C "$$kdir" M=$(CURDIR)/module $(KBUILD_ARGS) modules || exit 1; \
	kver=$$(modinfo -F vermagic module/ksalloc.ko | cut -d' ' -f1); \
	[ -n "$$kver" ] || { echo "no vermagic in module/ksalloc.ko" >&2; exit 1; }; \
	$(MAKE) -C "$$kdir" M=$(CURDIR)/module $(KBUILD_ARGS) \
		INSTALL_MOD_DIR=extra INSTALL_MOD_PATH=$(DESTDIR) modules_install || exit 1; \
	echo "  DEPMOD  $$kver"; \
	if [ -n "$(DESTDIR)" ]; then \
		depmod -b "$(DESTDIR)" "$$kver" 2>&1 | { grep -v 'could not open modules\.' >&2 || true; }; \
	else \
		depmod "$$kver"; \
	fi

install-user: lib tools
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR)/linux \
		$(DESTDIR)$(MANDIR)/man1
	install -m 0644 uapi/linux/ksalloc.h $(DESTDIR)$(INCLUDEDIR)/linux/ksalloc.h
	install -m 0644 lib/libksalloc.h lib/ks-compat.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 $(KSA_LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(KSA_LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf libksalloc.so.$(KSA_VERSION) $(DESTDIR)$(LIBDIR)/libksalloc.so.$(KSA_SOMAJOR)
	ln -sf libksalloc.so.$(KSA_SOMAJOR) $(DESTDIR)$(LIBDIR)/libksalloc.so
	install -m 0644 $(KSA_LIB_PC) $(DESTDIR)$(PKGCONFIGDIR)/ksalloc.pc
	install -m 0755 $(KSA_TOOL) $(DESTDIR)$(BINDIR)/ksalloc
	install -m 0644 tools/ksalloc.1 $(DESTDIR)$(MANDIR)/man1/ksalloc.1
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

# Removes the module from every kernel it was installed for.
uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/linux/ksalloc.h \
		$(DESTDIR)$(INCLUDEDIR)/libksalloc.h $(DESTDIR)$(INCLUDEDIR)/ks-compat.h \
		$(DESTDIR)$(LIBDIR)/libksalloc.a $(DESTDIR)$(LIBDIR)/libksalloc.so \
		$(DESTDIR)$(LIBDIR)/libksalloc.so.$(KSA_SOMAJOR) \
		$(DESTDIR)$(LIBDIR)/libksalloc.so.$(KSA_VERSION) \
		$(DESTDIR)$(PKGCONFIGDIR)/ksalloc.pc $(DESTDIR)$(BINDIR)/ksalloc \
		$(DESTDIR)$(MANDIR)/man1/ksalloc.1
	@for ko in $(DESTDIR)/lib/modules/*/extra/ksalloc.ko*; do \
		[ -e "$$ko" ] || continue; \
		kver=$${ko#$(DESTDIR)/lib/modules/}; kver=$${kver%%/*}; \
		echo "rm -f $$ko"; rm -f "$$ko"; \
		rmdir "$(DESTDIR)/lib/modules/$$kver/extra" 2>/dev/null; \
		if [ -n "$(DESTDIR)" ]; then \
			depmod -b "$(DESTDIR)" "$$kver" 2>&1 | { grep -v 'could not open modules\.' >&2 || true; }; \
		else depmod "$$kver"; fi; \
	done; true
	@if [ -z "$(DESTDIR)" ] && command -v ldconfig >/dev/null; then ldconfig; fi

# --- host-side checks --------------------------------------------------

check-host:
	@scripts/check-host.sh

check-dkms:
	@scripts/check-dkms.sh

check-deb:
	@scripts/check-deb.sh

.PHONY: lib tools install install-module install-user uninstall check-host check-dkms \
	check-deb
