# SPDX-License-Identifier: GPL-2.0
#
# The GStreamer plugin (gst/) and its tests, included by the top-level
# Makefile. Built on the host, dynamically linked against the host's
# GStreamer 1.22; the userland test VM runs them over the host's root.
#
#   make gst             build/gst: libgstksalloc.so (the plugin: element
#                        ksallocpool), test-pool (GstCheck unit test of the
#                        pool) and gst-pipeline-check (the pipeline checker
#                        of selftests/gst/run.sh); installs the Debian
#                        packages it needs (scripts/deps.sh --gst)
#   make install-gst     the plugin into GStreamer's plugin directory
#                        (pkg-config gstreamer-1.0 pluginsdir, or
#                        GST_PLUGINSDIR), DESTDIR honoured; make install
#                        does it when GStreamer's development files exist
#   make uninstall-gst   remove it (also done by make uninstall)

GST_BUILD	:= $(BUILD)/gst
GST_PCS		:= gstreamer-1.0 gstreamer-base-1.0 gstreamer-video-1.0 \
		   gstreamer-allocators-1.0
GST_PLUGIN	:= $(GST_BUILD)/libgstksalloc.so
GST_SRCS	:= gst/plugin.c gst/gstksallocfilter.c gst/gstksallocpool.c
GST_HDRS	:= gst/gstksallocfilter.h gst/gstksallocpool.h $(KSA_LIB_HDRS)
GST_TESTS	:= $(GST_BUILD)/test-pool $(GST_BUILD)/gst-pipeline-check
# Evaluated when used: pkg-config may only exist after scripts/deps.sh --gst
GST_PLUGINSDIR	?= $(shell pkg-config --variable=pluginsdir gstreamer-1.0 2>/dev/null)
GST_CC		= $(CC) $(CPPFLAGS) -Wall -Wextra -Iuapi -Ilib -Igst $(CFLAGS) \
		  -DKSA_VERSION='"$(KSA_VERSION)"'

# The tests use the ksalloc command too (an allocator to join).
gst: gst-deps $(GST_PLUGIN) $(GST_TESTS) $(KSA_TOOL)

gst-deps:
	@scripts/deps.sh --gst

# make install builds with what is there: it never installs packages
GST_DEPS	?= gst-deps

# libksalloc goes into the plugin (position-independent objects); the
# version script exports only the plugin's descriptor.
$(GST_PLUGIN): $(GST_SRCS) $(GST_HDRS) $(BUILD)/lib/ksalloc.pic.o gst/plugin.map | $(GST_DEPS)
	@mkdir -p $(@D)
	$(GST_CC) -fPIC -shared $(LDFLAGS) -Wl,--version-script=gst/plugin.map \
		-Wl,-z,defs -o $@ $(GST_SRCS) $(BUILD)/lib/ksalloc.pic.o \
		$$(pkg-config --cflags --libs $(GST_PCS))

# The pool and the element linked in, not loaded from the plugin
$(GST_BUILD)/test-pool: selftests/gst/test-pool.c gst/gstksallocpool.c gst/gstksallocfilter.c \
		selftests/gst/sysfs-allocators.h $(GST_HDRS) $(BUILD)/lib/ksalloc.pic.o | $(GST_DEPS)
	@mkdir -p $(@D)
	$(GST_CC) $(LDFLAGS) -o $@ selftests/gst/test-pool.c gst/gstksallocpool.c \
		gst/gstksallocfilter.c $(BUILD)/lib/ksalloc.pic.o \
		$$(pkg-config --cflags --libs $(GST_PCS) gstreamer-check-1.0) -pthread

$(GST_BUILD)/gst-pipeline-check: selftests/gst/pipeline-check.c selftests/vivid_lib.h \
		selftests/gst/sysfs-allocators.h $(KSA_LIB_HDRS) $(BUILD)/lib/ksalloc.pic.o | $(GST_DEPS)
	@mkdir -p $(@D)
	$(GST_CC) $(LDFLAGS) -o $@ $< $(BUILD)/lib/ksalloc.pic.o \
		$$(pkg-config --cflags --libs $(GST_PCS))

install-gst:
	@if pkg-config --exists $(GST_PCS) 2>/dev/null; then \
		$(MAKE) --no-print-directory GST_DEPS= $(GST_PLUGIN) && \
		dir='$(GST_PLUGINSDIR)' && [ -n "$$dir" ] && \
		install -d "$(DESTDIR)$$dir" && \
		install -m 0644 $(GST_PLUGIN) "$(DESTDIR)$$dir/libgstksalloc.so"; \
	else \
		echo "  SKIP    the GStreamer plugin: no GStreamer development files" \
			"(scripts/deps.sh --gst installs them)"; \
	fi

uninstall-gst:
	@dir='$(GST_PLUGINSDIR)'; \
	if [ -n "$$dir" ] && [ -e "$(DESTDIR)$$dir/libgstksalloc.so" ]; then \
		echo "rm -f $(DESTDIR)$$dir/libgstksalloc.so"; \
		rm -f "$(DESTDIR)$$dir/libgstksalloc.so"; \
	fi

install: install-gst
uninstall: uninstall-gst

.PHONY: gst gst-deps install-gst uninstall-gst
