// SPDX-License-Identifier: GPL-2.0
/*
 * Pins and allocator creation.
 *
 * IOCTL_KS_CREATE on a pin (the KsCreateAllocator path): the simple and the
 * _EX request forms, the fd flags, the size checks, every framing that must
 * be refused, and that a refused or faulting request leaves nothing behind
 * (no fd, no allocator, no frame memory). Then the pin's properties:
 * KSPROPERTY_STREAM_ALLOCATOR (assigning, replacing and clearing an
 * allocator, and the handle checks), the extension property that hands the
 * assigned allocator back as an fd, the connection state and framing
 * properties, and the allocator's STATUS view.
 *
 * "Nothing left behind" is measured with the module's own counters
 * (/sys/class/misc/ksalloc/allocators and total_bytes) and the number of
 * entries in /proc/self/fd, against a baseline taken in the fixture.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <linux/ksalloc.h>

#include "ksa_test.h"
#include "kselftest_harness.h"

#define PARAM_MAX_BYTES		"/sys/module/ksalloc/parameters/max_allocator_bytes"
#define PARAM_MAX_FRAMES	"/sys/module/ksalloc/parameters/max_frames"

/* The largest frame the module takes: one order-10 block of 4 KiB pages. */
#define MAX_FRAME_SIZE		(4096u << 10)

static const struct ksguid set_stream = KSPROPSETID_Stream;
static const struct ksguid set_connection = KSPROPSETID_Connection;
static const struct ksguid set_ksalloc_pin = KSPROPSETID_KsallocPin;
static const struct ksguid name_allocator = KSNAME_Allocator;
static const struct ksguid name_allocator_ex = KSNAME_AllocatorEx;
static const struct ksguid mem_system = KSMEMORY_TYPE_SYSTEM;
static const struct ksguid mem_paged = KSMEMORY_TYPE_KERNEL_PAGED;

/* The _EX request: object type, header and up to four framing items. */
struct ex_create {
	struct ksguid object_type;
	struct ksallocator_framing_ex ex;	/* holds item 0 */
	struct ks_framing_item more[3];
};

_Static_assert(offsetof(struct ex_create, more) ==
	       sizeof(struct ksguid) + KSALLOCATOR_FRAMING_EX_SIZE(1),
	       "framing items must be contiguous");

#define EX_IN_SIZE(n)	((__u32)(sizeof(struct ksguid) + KSALLOCATOR_FRAMING_EX_SIZE(n)))

static struct ks_framing_item *ex_item(struct ex_create *c, int i)
{
	return i ? &c->more[i - 1] : &c->ex.framing_item[0];
}

static void ex_init(struct ex_create *c, __u32 count)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->object_type = name_allocator_ex;
	c->ex.count_items = count;
	c->ex.output_compression.ratio_numerator = 1;
	c->ex.output_compression.ratio_denominator = 1;
	for (i = 0; i < 4; i++) {
		struct ks_framing_item *it = ex_item(c, i);

		it->memory_type = mem_system;
		it->frames = 2 + i;
		it->file_alignment = 0;
		it->physical_range.max_frame_size = UINT32_MAX;
		it->physical_range.stepping = 1;
		it->framing_range.range.min_frame_size = 1000;
		it->framing_range.range.max_frame_size = 3000 + 1000 * i;
		it->framing_range.range.stepping = 1;
	}
}

static int create_ex(int pin, struct ex_create *c, __u32 in_size)
{
	__s64 fd = -100;
	int ret;

	ret = kst_ioctl(pin, IOCTL_KS_CREATE, c, in_size, &fd, sizeof(fd), 0,
			NULL);
	return ret ? ret : (int)fd;
}

/* Counters are @base plus the given deltas (after any pending release). */
#define ASSERT_COUNTS(_base, _dalloc, _dbytes, _dfds)			\
	KST_ASSERT_COUNTS(((struct kst_counts){				\
		.allocators = (_base).allocators + (_dalloc),		\
		.total_bytes = (_base).total_bytes + (_dbytes),		\
		.refcnt = KST_ANY,					\
		.fds = (_base).fds + (_dfds),				\
	}), 100)

static int fd_flags(int fd)
{
	return fcntl(fd, F_GETFD);
}

/* Module parameters a test lowers; the teardown puts them back. */
static void restore_params(long *saved_max_bytes, long *saved_max_frames)
{
	kst_restore_param(PARAM_MAX_BYTES, saved_max_bytes);
	kst_restore_param(PARAM_MAX_FRAMES, saved_max_frames);
}

/* ---- the pin fixture ---- */

FIXTURE(pin)
{
	int pin;
	long page;
	struct kst_counts base;
	long saved_max_bytes;	/* LONG_MIN: not changed */
	long saved_max_frames;
};

FIXTURE_SETUP(pin)
{
	self->saved_max_bytes = LONG_MIN;
	self->saved_max_frames = LONG_MIN;
	self->page = sysconf(_SC_PAGESIZE);
	self->pin = open(KST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->pin) {
		TH_LOG("open %s: %s (is the module loaded?)", KST_DEV,
		       strerror(errno));
	}
	kst_read_counts(&self->base);
	ASSERT_LE(0, self->base.allocators);
	ASSERT_LE(0, self->base.total_bytes);
	ASSERT_LT(0, self->base.fds);
}

FIXTURE_TEARDOWN(pin)
{
	restore_params(&self->saved_max_bytes, &self->saved_max_frames);
	if (self->pin >= 0)
		close(self->pin);
}

/* ---- IOCTL_KS_CREATE ---- */

TEST_F(pin, create_simple)
{
	struct ksallocator_framing f = kst_framing(2, 4096);
	struct ksallocator_create c = { .object_type = name_allocator };
	struct ksstreamallocator_status st;
	__u32 ret_bytes = 0;
	__s64 out = -100;
	int fd, fl;

	f.options_flags = KSALLOCATOR_OPTIONF_SYSTEM_MEMORY;
	c.framing = f;
	ASSERT_EQ(0, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c, sizeof(c), &out,
			       sizeof(out), 0, &ret_bytes));
	EXPECT_EQ(sizeof(__s64), ret_bytes);
	ASSERT_LE(0, out);
	ASSERT_GE(INT_MAX, out);
	fd = out;
	ASSERT_COUNTS(self->base, 1, 2 * self->page, 1);

	/* It is an allocator: STATUS answers with the creation framing. */
	ASSERT_EQ(0, kst_get_status(fd, &st));
	EXPECT_EQ(0, memcmp(&f, &st.framing, sizeof(f)));
	EXPECT_EQ(0, st.allocated_frames);
	EXPECT_EQ(0, st.reserved);
	/* ... and the pin is not one: STATUS is not a pin property. */
	EXPECT_EQ(-ENOENT, kst_get_status(self->pin, &st));

	/* No open_flags: no close-on-exec, blocking, read-write. */
	EXPECT_EQ(0, fd_flags(fd) & FD_CLOEXEC);
	fl = fcntl(fd, F_GETFL);
	ASSERT_LE(0, fl);
	EXPECT_EQ(0, fl & O_NONBLOCK);
	EXPECT_EQ(O_RDWR, fl & O_ACCMODE);

	EXPECT_EQ(0, close(fd));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

TEST_F(pin, create_cloexec)
{
	int fd;

	fd = kst_create_allocator(self->pin, 1, 4096, O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fd_flags(fd) & FD_CLOEXEC);
	/* O_CLOEXEC is an fd flag, not a file status flag */
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, close(fd));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

TEST_F(pin, create_nonblock)
{
	__u64 off;
	int fd;

	fd = kst_create_allocator(self->pin, 1, 4096, O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, fd_flags(fd) & FD_CLOEXEC);

	/* The flag is live: an empty pool says EAGAIN instead of sleeping. */
	ASSERT_EQ(0, kst_method(fd, KSMETHOD_STREAMALLOCATOR_ALLOC,
				KSMETHOD_TYPE_WRITE, &off));
	EXPECT_EQ(-EAGAIN, kst_method(fd, KSMETHOD_STREAMALLOCATOR_ALLOC,
				      KSMETHOD_TYPE_WRITE, &off));
	EXPECT_EQ(0, close(fd));

	fd = kst_create_allocator(self->pin, 1, 4096, O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fd_flags(fd) & FD_CLOEXEC);
	EXPECT_EQ(0, close(fd));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

/* open_flags takes only O_CLOEXEC and O_NONBLOCK. */
TEST_F(pin, create_bad_open_flags)
{
	EXPECT_EQ(-EINVAL, kst_create_allocator(self->pin, 1, 4096, O_APPEND));
	EXPECT_EQ(-EINVAL, kst_create_allocator(self->pin, 1, 4096, O_RDWR));
	EXPECT_EQ(-EINVAL, kst_create_allocator(self->pin, 1, 4096,
						O_CLOEXEC | O_TRUNC));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

TEST_F(pin, create_wrong_in_size)
{
	struct ksallocator_create c[2] = {
		{ .object_type = name_allocator, .framing = kst_framing(1, 4096) },
	};
	__s64 out = -100;

	/* Shorter than the object type GUID */
	EXPECT_EQ(-EINVAL, kst_ioctl(self->pin, IOCTL_KS_CREATE, c, 15, &out,
				     sizeof(out), 0, NULL));
	EXPECT_EQ(-EINVAL, kst_ioctl(self->pin, IOCTL_KS_CREATE, c, 0, &out,
				     sizeof(out), 0, NULL));
	/* KSNAME_Allocator needs exactly one framing, no more, no less */
	EXPECT_EQ(-EINVAL, kst_ioctl(self->pin, IOCTL_KS_CREATE, c,
				     sizeof(c[0]) - 1, &out, sizeof(out), 0,
				     NULL));
	EXPECT_EQ(-EINVAL, kst_ioctl(self->pin, IOCTL_KS_CREATE, c,
				     sizeof(c[0]) + 8, &out, sizeof(out), 0,
				     NULL));
	EXPECT_EQ(-EINVAL, kst_ioctl(self->pin, IOCTL_KS_CREATE, c,
				     sizeof(struct ksguid), &out, sizeof(out), 0,
				     NULL));
	EXPECT_EQ(-100, out);
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

TEST_F(pin, create_unknown_object_type)
{
	struct ksallocator_create c = { .object_type = set_stream,
					.framing = kst_framing(1, 4096) };
	struct ksallocator_create z = { .framing = kst_framing(1, 4096) };
	__s64 out = -100;

	EXPECT_EQ(-ENOENT, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c, sizeof(c),
				     &out, sizeof(out), 0, NULL));
	EXPECT_EQ(-ENOENT, kst_ioctl(self->pin, IOCTL_KS_CREATE, &z, sizeof(z),
				     &out, sizeof(out), 0, NULL));
	EXPECT_EQ(-100, out);
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

/* Allocators do not create allocators. */
TEST_F(pin, create_on_allocator_enotty)
{
	struct ksallocator_create c = { .object_type = name_allocator,
					.framing = kst_framing(1, 4096) };
	__s64 out = -100;
	int fd;

	fd = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, kst_ioctl(fd, IOCTL_KS_CREATE, &c, sizeof(c), &out,
				     sizeof(out), 0, NULL));
	EXPECT_EQ(0, close(fd));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

TEST_F(pin, create_out_too_small)
{
	struct ksallocator_create c = { .object_type = name_allocator,
					.framing = kst_framing(1, 4096) };
	__u32 sizes[] = { 0, 1, 4, 7 };
	__u32 ret_bytes;
	__s64 out;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		out = -100;
		ret_bytes = 0;
		EXPECT_EQ(-EOVERFLOW, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c,
						sizeof(c), &out, sizes[i], 0,
						&ret_bytes));
		EXPECT_EQ(sizeof(__s64), ret_bytes) {
			TH_LOG("out_size %u", sizes[i]);
		}
		EXPECT_EQ(-100, out);
		ASSERT_COUNTS(self->base, 0, 0, 0);
	}
}

TEST_F(pin, create_ex)
{
	struct ksstreamallocator_status st;
	struct ksalloc_allocator_info info;
	struct ex_create c;
	int fd;

	/* One item: the allocator is made from it */
	ex_init(&c, 1);
	ASSERT_EQ(128, EX_IN_SIZE(1));
	fd = create_ex(self->pin, &c, EX_IN_SIZE(1));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kst_get_status(fd, &st));
	EXPECT_EQ(KSALLOCATOR_OPTIONF_SYSTEM_MEMORY, st.framing.options_flags);
	EXPECT_EQ(KS_POOL_NONPAGED, st.framing.pool_type);
	EXPECT_EQ(2, st.framing.frames);
	/* The item's largest frame size, not its smallest */
	EXPECT_EQ(3000, st.framing.frame_size);
	EXPECT_EQ(0, st.framing.file_alignment);
	EXPECT_EQ(0, st.framing.reserved);
	EXPECT_EQ(0, st.allocated_frames);
	ASSERT_EQ(0, kst_get_info(fd, &info));
	EXPECT_EQ(2, info.frames);
	EXPECT_EQ(3000, info.frame_size);
	ASSERT_COUNTS(self->base, 1, 2 * self->page, 1);
	EXPECT_EQ(0, close(fd));

	/* Several items: item 0 is the preferred one and the others are ignored */
	ex_init(&c, 3);
	ex_item(&c, 0)->frames = 3;
	ex_item(&c, 0)->file_alignment = 7;
	ex_item(&c, 0)->framing_range.range.max_frame_size = 5000;
	fd = create_ex(self->pin, &c, EX_IN_SIZE(3));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kst_get_status(fd, &st));
	EXPECT_EQ(3, st.framing.frames);
	EXPECT_EQ(5000, st.framing.frame_size);
	EXPECT_EQ(7, st.framing.file_alignment);
	ASSERT_COUNTS(self->base, 1, 3 * 2 * self->page, 1);
	EXPECT_EQ(0, close(fd));

	/* Paged kernel memory asks for the paged pool */
	ex_init(&c, 1);
	ex_item(&c, 0)->memory_type = mem_paged;
	fd = create_ex(self->pin, &c, EX_IN_SIZE(1));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kst_get_status(fd, &st));
	EXPECT_EQ(KS_POOL_PAGED, st.framing.pool_type);
	EXPECT_EQ(0, close(fd));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

TEST_F(pin, create_ex_bad)
{
	struct ex_create c;

	/* in_size must be exactly header + count_items items */
	ex_init(&c, 1);
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(1) - 1));
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(1) + 8));
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(2)));
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, 16 + 24));
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, sizeof(struct ksallocator_create)));
	ex_init(&c, 2);
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(1)));
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(3)));
	ex_init(&c, 0);
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(1)));
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(0)));
	ex_init(&c, UINT32_MAX);
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(1)));

	/* The item itself: smallest above largest, unknown flag, no frames */
	ex_init(&c, 1);
	ex_item(&c, 0)->framing_range.range.min_frame_size = 3001;
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(1)));
	ex_init(&c, 1);
	ex_item(&c, 0)->flags = 0x4000;
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(1)));
	ex_init(&c, 1);
	ex_item(&c, 0)->frames = 0;
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(1)));
	ex_init(&c, 1);
	ex_item(&c, 0)->framing_range.range.min_frame_size = 0;
	ex_item(&c, 0)->framing_range.range.max_frame_size = 0;
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(1)));
	ex_init(&c, 1);
	ex_item(&c, 0)->file_alignment = 5;
	EXPECT_EQ(-EINVAL, create_ex(self->pin, &c, EX_IN_SIZE(1)));
	/* A memory type the module cannot provide (a bus GUID here) */
	ex_init(&c, 1);
	ex_item(&c, 0)->memory_type = set_stream;
	EXPECT_EQ(-EOPNOTSUPP, create_ex(self->pin, &c, EX_IN_SIZE(1)));

	/* Control: the request these were derived from is accepted */
	ex_init(&c, 2);
	{
		int fd = create_ex(self->pin, &c, EX_IN_SIZE(2));

		ASSERT_LE(0, fd);
		EXPECT_EQ(0, close(fd));
	}
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

/*
 * Every accepted value of the fields the validation looks at, so that the
 * refusals below are refusals of the bad value and not of the request.
 */
TEST_F(pin, create_accepted_framings)
{
	static const __u32 pools[] = { KS_POOL_NONPAGED, KS_POOL_PAGED,
				       KS_POOL_NONPAGED_CACHE_ALIGNED,
				       KS_POOL_PAGED_CACHE_ALIGNED,
				       KS_POOL_NONPAGED_NX };
	static const __u32 options[] = {
		0, KSALLOCATOR_OPTIONF_COMPATIBLE,
		KSALLOCATOR_OPTIONF_SYSTEM_MEMORY, KSALLOCATOR_OPTIONF_VALID,
		KSALLOCATOR_REQUIREMENTF_FRAME_INTEGRITY,
		KSALLOCATOR_REQUIREMENTF_MUST_ALLOCATE,
		KSALLOCATOR_OPTIONF_VALID |
			KSALLOCATOR_REQUIREMENTF_FRAME_INTEGRITY |
			KSALLOCATOR_REQUIREMENTF_MUST_ALLOCATE,
	};
	struct ksstreamallocator_status st;
	struct ksallocator_framing f;
	unsigned int i;
	__u32 align;
	int fd;

	for (i = 0; i < ARRAY_SIZE(pools); i++) {
		f = kst_framing(1, 100);
		f.pool_type = pools[i];
		fd = kst_create_framing(self->pin, &f, 0);
		ASSERT_LE(0, fd) TH_LOG("pool_type %u: %d", pools[i], fd);
		ASSERT_EQ(0, kst_get_status(fd, &st));
		EXPECT_EQ(pools[i], st.framing.pool_type);
		EXPECT_EQ(0, close(fd));
	}
	for (i = 0; i < ARRAY_SIZE(options); i++) {
		f = kst_framing(1, 100);
		f.options_flags = options[i];
		fd = kst_create_framing(self->pin, &f, 0);
		ASSERT_LE(0, fd) TH_LOG("options 0x%x: %d", options[i], fd);
		ASSERT_EQ(0, kst_get_status(fd, &st));
		EXPECT_EQ(options[i], st.framing.options_flags);
		EXPECT_EQ(0, close(fd));
	}
	for (align = 0; align < (__u32)self->page; align = align * 2 + 1) {
		f = kst_framing(1, 100);
		f.file_alignment = align;
		fd = kst_create_framing(self->pin, &f, 0);
		ASSERT_LE(0, fd) TH_LOG("file_alignment %u: %d", align, fd);
		EXPECT_EQ(0, close(fd));
	}
	/* Sizes that are not page multiples are fine; frames are whole pages */
	f = kst_framing(3, 1);
	fd = kst_create_framing(self->pin, &f, 0);
	ASSERT_LE(0, fd);
	ASSERT_COUNTS(self->base, 1, 3 * self->page, 1);
	EXPECT_EQ(0, close(fd));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

/* ---- framings that must be refused, with nothing allocated ---- */

FIXTURE(bad_framing)
{
	int pin;
	struct kst_counts base;
	long saved_max_bytes;
	long saved_max_frames;
};

FIXTURE_VARIANT(bad_framing)
{
	__u32 options_flags;
	__u32 pool_type;
	__u32 frames;
	__u32 frame_size;
	__u32 file_alignment;
	__u32 reserved;
	int err;
	long max_bytes;		/* 0: leave the parameter alone */
	long max_frames;
};

FIXTURE_VARIANT_ADD(bad_framing, zero_frames) {
	.frames = 0, .frame_size = 4096, .err = EINVAL,
};
FIXTURE_VARIANT_ADD(bad_framing, zero_frame_size) {
	.frames = 1, .frame_size = 0, .err = EINVAL,
};
/* frames x frame_size past 32 bits is only bounded by the caps now */
FIXTURE_VARIANT_ADD(bad_framing, total_above_32bit_over_cap) {
	.frames = 0x10000, .frame_size = 0x10000, .err = ENOMEM,
};
FIXTURE_VARIANT_ADD(bad_framing, large_frames_over_cap) {
	.frames = 2, .frame_size = 0x80000000u, .err = ENOMEM,
};
/* The stride (frame_size rounded up to pages) must fit in 32 bits */
FIXTURE_VARIANT_ADD(bad_framing, stride_overflows_32bit) {
	.frames = 1, .frame_size = 0xfffff001u, .err = EOVERFLOW,
};
FIXTURE_VARIANT_ADD(bad_framing, stride_overflows_32bit_max) {
	.frames = 1, .frame_size = UINT32_MAX, .err = EOVERFLOW,
};
FIXTURE_VARIANT_ADD(bad_framing, alignment_not_mask) {
	.frames = 1, .frame_size = 4096, .file_alignment = 5, .err = EINVAL,
};
FIXTURE_VARIANT_ADD(bad_framing, alignment_power_of_two) {
	.frames = 1, .frame_size = 4096, .file_alignment = 64, .err = EINVAL,
};
/* 4 KiB pages: 8191 is a mask, but of more than a page */
FIXTURE_VARIANT_ADD(bad_framing, alignment_above_page) {
	.frames = 1, .frame_size = 4096, .file_alignment = 8191, .err = EINVAL,
};
FIXTURE_VARIANT_ADD(bad_framing, alignment_all_ones) {
	.frames = 1, .frame_size = 4096, .file_alignment = UINT32_MAX,
	.err = EINVAL,
};
FIXTURE_VARIANT_ADD(bad_framing, option_unknown_bit) {
	.options_flags = 0x10, .frames = 1, .frame_size = 4096, .err = EINVAL,
};
FIXTURE_VARIANT_ADD(bad_framing, option_high_bit) {
	.options_flags = 0x40000000, .frames = 1, .frame_size = 4096,
	.err = EINVAL,
};
/* A requirement, not an option: clients must clear it */
FIXTURE_VARIANT_ADD(bad_framing, option_preferences_only) {
	.options_flags = KSALLOCATOR_REQUIREMENTF_PREFERENCES_ONLY,
	.frames = 1, .frame_size = 4096, .err = EINVAL,
};
FIXTURE_VARIANT_ADD(bad_framing, option_valid_plus_preferences_only) {
	.options_flags = KSALLOCATOR_OPTIONF_VALID |
			 KSALLOCATOR_REQUIREMENTF_PREFERENCES_ONLY,
	.frames = 1, .frame_size = 4096, .err = EINVAL,
};
FIXTURE_VARIANT_ADD(bad_framing, pool_type_2) {
	.pool_type = 2, .frames = 1, .frame_size = 4096, .err = EINVAL,
};
FIXTURE_VARIANT_ADD(bad_framing, pool_type_513) {
	.pool_type = 513, .frames = 1, .frame_size = 4096, .err = EINVAL,
};
FIXTURE_VARIANT_ADD(bad_framing, pool_type_max) {
	.pool_type = UINT32_MAX, .frames = 1, .frame_size = 4096,
	.err = EINVAL,
};
FIXTURE_VARIANT_ADD(bad_framing, reserved_nonzero) {
	.frames = 1, .frame_size = 4096, .reserved = 1, .err = EINVAL,
};
/* Frames need not be contiguous: a large one is refused by the cap only */
FIXTURE_VARIANT_ADD(bad_framing, frame_over_allocator_cap) {
	.frames = 1, .frame_size = 2 * MAX_FRAME_SIZE + 1, .err = ENOMEM,
	.max_bytes = 2 * MAX_FRAME_SIZE,
};
/* The cap counts whole pages: 9 pages against a cap of 8 */
FIXTURE_VARIANT_ADD(bad_framing, over_allocator_cap) {
	.frames = 9, .frame_size = 4096, .err = ENOMEM, .max_bytes = 8 * 4096,
};
FIXTURE_VARIANT_ADD(bad_framing, over_allocator_cap_one_frame) {
	.frames = 1, .frame_size = 3 * 4096, .err = ENOMEM,
	.max_bytes = 2 * 4096,
};
/* The default cap (256 MiB) without touching the parameter */
FIXTURE_VARIANT_ADD(bad_framing, over_default_allocator_cap) {
	.frames = 65, .frame_size = MAX_FRAME_SIZE, .err = ENOMEM,
};
FIXTURE_VARIANT_ADD(bad_framing, over_max_frames) {
	.frames = 5, .frame_size = 1, .err = ENOMEM, .max_frames = 4,
};
/* The default max_frames (1024) */
FIXTURE_VARIANT_ADD(bad_framing, over_default_max_frames) {
	.frames = 1025, .frame_size = 1, .err = ENOMEM,
};

FIXTURE_SETUP(bad_framing)
{
	self->saved_max_bytes = LONG_MIN;
	self->saved_max_frames = LONG_MIN;
	self->pin = open(KST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->pin) {
		TH_LOG("open %s: %s", KST_DEV, strerror(errno));
	}
	if (variant->max_bytes)
		ASSERT_EQ(0, kst_set_param(PARAM_MAX_BYTES,
					   &self->saved_max_bytes,
					   variant->max_bytes));
	if (variant->max_frames)
		ASSERT_EQ(0, kst_set_param(PARAM_MAX_FRAMES,
					   &self->saved_max_frames,
					   variant->max_frames));
	kst_read_counts(&self->base);
}

FIXTURE_TEARDOWN(bad_framing)
{
	restore_params(&self->saved_max_bytes, &self->saved_max_frames);
	if (self->pin >= 0)
		close(self->pin);
}

TEST_F(bad_framing, refused)
{
	struct ksallocator_framing f = {
		.options_flags = variant->options_flags,
		.pool_type = variant->pool_type,
		.frames = variant->frames,
		.frame_size = variant->frame_size,
		.file_alignment = variant->file_alignment,
		.reserved = variant->reserved,
	};
	int i;

	/* Twice: a refusal must not leave state that changes the next one */
	for (i = 0; i < 2; i++) {
		int ret = kst_create_framing(self->pin, &f, O_CLOEXEC);

		if (ret >= 0)
			close(ret);
		ASSERT_EQ(-variant->err, ret);
		ASSERT_COUNTS(self->base, 0, 0, 0);
	}
	/* The pin is still usable afterwards */
	{
		int fd = kst_create_allocator(self->pin, 1, 4096, 0);

		ASSERT_LE(0, fd);
		EXPECT_EQ(0, close(fd));
	}
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

/* Right at the lowered caps the allocator is created: the caps are limits. */
TEST_F(pin, caps_are_inclusive)
{
	struct ksalloc_allocator_info info;
	int fd;

	ASSERT_EQ(0, kst_set_param(PARAM_MAX_BYTES, &self->saved_max_bytes,
				   8 * self->page));
	fd = kst_create_allocator(self->pin, 8, self->page, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kst_get_info(fd, &info));
	EXPECT_EQ(8 * self->page, info.bytes_held);
	ASSERT_COUNTS(self->base, 1, 8 * self->page, 1);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(-ENOMEM, kst_create_allocator(self->pin, 9, self->page, 0));

	ASSERT_EQ(0, kst_set_param(PARAM_MAX_FRAMES, &self->saved_max_frames, 4));
	fd = kst_create_allocator(self->pin, 4, 1, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(-ENOMEM, kst_create_allocator(self->pin, 5, 1, 0));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

/* ---- the fd is published last ---- */

TEST_F(pin, create_efault_readonly_out)
{
	struct ksallocator_create c = { .object_type = name_allocator,
					.framing = kst_framing(1, 4096) };
	__u32 ret_bytes = 1234;
	void *ro;

	ro = mmap(NULL, self->page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);

	EXPECT_EQ(-EFAULT, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c, sizeof(c),
				     ro, sizeof(__s64), O_CLOEXEC, &ret_bytes));
	/* Nothing was delivered */
	EXPECT_EQ(0, ret_bytes);
	EXPECT_EQ(0, *(__s64 *)ro);
	/* No fd, and the allocator made for it is gone again */
	ASSERT_COUNTS(self->base, 0, 0, 0);

	/* Same with no output buffer at all */
	EXPECT_EQ(-EFAULT, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c, sizeof(c),
				     NULL, sizeof(__s64), 0, NULL));
	ASSERT_COUNTS(self->base, 0, 0, 0);
	EXPECT_EQ(0, munmap(ro, self->page));
}

/*
 * The output value was written but bytes_returned cannot be: the request
 * failed, so the fd number in the output must not be an open fd.
 */
TEST_F(pin, create_efault_readonly_args)
{
	struct ksallocator_create c = { .object_type = name_allocator,
					.framing = kst_framing(1, 4096) };
	struct ks_ioctl_args *args;
	__s64 out = -100;
	int ret;

	args = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, args);
	args->in_buffer = (uintptr_t)&c;
	args->in_size = sizeof(c);
	args->out_buffer = (uintptr_t)&out;
	args->out_size = sizeof(out);
	args->open_flags = O_CLOEXEC;
	ASSERT_EQ(0, mprotect(args, self->page, PROT_READ));

	ret = ioctl(self->pin, IOCTL_KS_CREATE, args);
	EXPECT_EQ(-1, ret);
	EXPECT_EQ(EFAULT, errno);
	ASSERT_COUNTS(self->base, 0, 0, 0);
	if (out >= 0 && out <= INT_MAX) {
		EXPECT_EQ(-1, fcntl((int)out, F_GETFD)) {
			TH_LOG("fd %lld from a failed request is open",
			       (long long)out);
		}
		EXPECT_EQ(EBADF, errno);
	}
	EXPECT_EQ(0, munmap(args, self->page));
}

/* ---- KSPROPERTY_STREAM_ALLOCATOR ---- */

TEST_F(pin, stream_allocator_get_null)
{
	__u32 ret_bytes = 0;
	__s64 h = 1234;
	int fd;

	ASSERT_EQ(0, kst_prop(self->pin, &set_stream, KSPROPERTY_STREAM_ALLOCATOR,
			      KSPROPERTY_TYPE_GET, &h, sizeof(h), 0, &ret_bytes));
	EXPECT_EQ(KS_NULL_HANDLE, h);
	EXPECT_EQ(sizeof(h), ret_bytes);

	/* Also with an allocator assigned: Get says "supported", nothing more */
	fd = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kst_set_allocator(self->pin, fd));
	h = 1234;
	ASSERT_EQ(0, kst_prop(self->pin, &set_stream, KSPROPERTY_STREAM_ALLOCATOR,
			      KSPROPERTY_TYPE_GET, &h, sizeof(h), 0, NULL));
	EXPECT_EQ(KS_NULL_HANDLE, h);
	ASSERT_COUNTS(self->base, 1, self->page, 1);
	EXPECT_EQ(0, close(fd));
	ASSERT_COUNTS(self->base, 1, self->page, 0);
	EXPECT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

TEST_F(pin, stream_allocator_set_replace_clear)
{
	__u64 id_a, id_b;
	int a, b, got;

	a = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, a);
	b = kst_create_allocator(self->pin, 2, 4096, 0);
	ASSERT_LE(0, b);
	id_a = kst_allocator_id(a);
	id_b = kst_allocator_id(b);
	ASSERT_NE(0, id_a);
	ASSERT_NE(0, id_b);
	ASSERT_NE(id_a, id_b);
	ASSERT_COUNTS(self->base, 2, 3 * self->page, 2);

	/* The pin holds A: closing the user's fd does not free it */
	ASSERT_EQ(0, kst_set_allocator(self->pin, a));
	EXPECT_EQ(0, close(a));
	ASSERT_COUNTS(self->base, 2, 3 * self->page, 1);
	got = kst_pin_allocator_fd(self->pin, O_CLOEXEC);
	ASSERT_LE(0, got);
	EXPECT_EQ(id_a, kst_allocator_id(got));
	EXPECT_EQ(0, close(got));

	/* Set B: the pin's reference on A is dropped and A goes */
	ASSERT_EQ(0, kst_set_allocator(self->pin, b));
	ASSERT_COUNTS(self->base, 1, 2 * self->page, 1);
	got = kst_pin_allocator_fd(self->pin, O_CLOEXEC);
	ASSERT_LE(0, got);
	EXPECT_EQ(id_b, kst_allocator_id(got));
	EXPECT_EQ(0, close(got));

	/* Setting the same allocator again keeps exactly one reference */
	ASSERT_EQ(0, kst_set_allocator(self->pin, b));
	ASSERT_EQ(0, kst_set_allocator(self->pin, b));
	EXPECT_EQ(0, close(b));
	ASSERT_COUNTS(self->base, 1, 2 * self->page, 0);

	/* Clearing drops the pin's reference: B goes */
	ASSERT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
	EXPECT_EQ(-ENOENT, kst_pin_allocator_fd(self->pin, 0));
	/* Clearing what is clear is fine */
	EXPECT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

/* Set with the null handle while the user still has the fd open */
TEST_F(pin, stream_allocator_clear_keeps_user_fd)
{
	int a;

	a = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, kst_set_allocator(self->pin, a));
	ASSERT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 1, self->page, 1);
	EXPECT_NE(0, kst_allocator_id(a));
	EXPECT_EQ(0, close(a));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

/* An allocator may be given to a pin other than the one that created it. */
TEST_F(pin, stream_allocator_other_pin)
{
	int pin2, a, got;
	__u64 id;

	pin2 = open(KST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, pin2);
	a = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, a);
	id = kst_allocator_id(a);
	ASSERT_EQ(0, kst_set_allocator(pin2, a));
	ASSERT_EQ(0, kst_set_allocator(self->pin, a));
	EXPECT_EQ(0, close(a));
	got = kst_pin_allocator_fd(pin2, 0);
	ASSERT_LE(0, got);
	EXPECT_EQ(id, kst_allocator_id(got));
	EXPECT_EQ(0, close(got));
	/* Both pins hold it: it goes with the second release only */
	EXPECT_EQ(0, close(pin2));
	ASSERT_COUNTS(self->base, 1, self->page, 0);
	EXPECT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

static void check_set_refused(struct __test_metadata *_metadata, int pin,
			      __s64 handle, int err, const char *what)
{
	EXPECT_EQ(-err, kst_set_allocator(pin, handle)) {
		TH_LOG("Set of %s (%lld)", what, (long long)handle);
	}
}

TEST_F(pin, stream_allocator_wrong_fd_types)
{
	char tmpl[] = "/tmp/ksa-pin-XXXXXX";
	int p[2], efd, nul, reg, pin2, a, got;
	__u64 id;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, nul);
	reg = mkostemp(tmpl, O_CLOEXEC);
	ASSERT_LE(0, reg);
	unlink(tmpl);
	pin2 = open(KST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, pin2);

	/* An assigned allocator must survive every refused Set */
	a = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, a);
	id = kst_allocator_id(a);
	ASSERT_EQ(0, kst_set_allocator(self->pin, a));
	EXPECT_EQ(0, close(a));

	check_set_refused(_metadata, self->pin, p[0], EINVAL, "a pipe (read end)");
	check_set_refused(_metadata, self->pin, p[1], EINVAL, "a pipe (write end)");
	check_set_refused(_metadata, self->pin, efd, EINVAL, "an eventfd");
	check_set_refused(_metadata, self->pin, pin2, EINVAL, "another pin");
	check_set_refused(_metadata, self->pin, self->pin, EINVAL, "the pin itself");
	check_set_refused(_metadata, self->pin, nul, EINVAL, "/dev/null");
	check_set_refused(_metadata, self->pin, reg, EINVAL, "a regular file");

	got = kst_pin_allocator_fd(self->pin, O_CLOEXEC);
	ASSERT_LE(0, got);
	EXPECT_EQ(id, kst_allocator_id(got));
	EXPECT_EQ(0, close(got));

	EXPECT_EQ(0, close(p[0]));
	EXPECT_EQ(0, close(p[1]));
	EXPECT_EQ(0, close(efd));
	EXPECT_EQ(0, close(nul));
	EXPECT_EQ(0, close(reg));
	EXPECT_EQ(0, close(pin2));
	ASSERT_COUNTS(self->base, 1, self->page, 0);
	EXPECT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

TEST_F(pin, stream_allocator_bad_handles)
{
	int closed, a;

	closed = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, closed);
	EXPECT_EQ(0, close(closed));

	a = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, kst_set_allocator(self->pin, a));
	EXPECT_EQ(0, close(a));

	check_set_refused(_metadata, self->pin, closed, EBADF, "a closed fd");
	check_set_refused(_metadata, self->pin, a, EBADF, "the closed allocator fd");
	check_set_refused(_metadata, self->pin, -2, EBADF, "-2");
	check_set_refused(_metadata, self->pin, INT_MIN, EBADF, "INT_MIN");
	check_set_refused(_metadata, self->pin, (__s64)INT_MAX + 1, EBADF,
			  "INT_MAX + 1");
	/* fd numbers are ints: a value whose low 32 bits are a valid fd */
	check_set_refused(_metadata, self->pin, ((__s64)1 << 32) | self->pin,
			  EBADF, "2^32 + a valid fd");
	check_set_refused(_metadata, self->pin, INT_MAX, EBADF, "INT_MAX");
	check_set_refused(_metadata, self->pin, INT64_MIN, EBADF, "INT64_MIN");
	check_set_refused(_metadata, self->pin, INT64_MAX, EBADF, "INT64_MAX");

	/* The assignment is unchanged by the refusals */
	ASSERT_COUNTS(self->base, 1, self->page, 0);
	EXPECT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

/* The value is input: shorter than the handle is a truncated request. */
TEST_F(pin, stream_allocator_set_short)
{
	__s64 h = KS_NULL_HANDLE;

	EXPECT_EQ(-EINVAL, kst_prop(self->pin, &set_stream,
				    KSPROPERTY_STREAM_ALLOCATOR,
				    KSPROPERTY_TYPE_SET, &h, 4, 0, NULL));
}

/* fd 0 is an fd like any other; only -1 is the null handle. */
TEST_F(pin, stream_allocator_fd_zero)
{
	int saved0, a, got;
	__u64 id;

	/* Keep stdin to put it back; it must be open so that fd 0 is taken */
	saved0 = fcntl(0, F_DUPFD_CLOEXEC, 3);
	ASSERT_LE(0, saved0);
	a = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, a);
	id = kst_allocator_id(a);
	ASSERT_EQ(0, dup2(a, 0));
	EXPECT_EQ(0, close(a));

	EXPECT_EQ(0, kst_set_allocator(self->pin, 0));
	got = kst_pin_allocator_fd(self->pin, O_CLOEXEC);
	EXPECT_LE(0, got);
	if (got >= 0) {
		EXPECT_EQ(id, kst_allocator_id(got));
		EXPECT_EQ(0, close(got));
	}
	/* Put stdin back; the pin keeps the allocator */
	EXPECT_EQ(0, dup2(saved0, 0));
	EXPECT_EQ(0, close(saved0));
	ASSERT_COUNTS(self->base, 1, self->page, 0);
	EXPECT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

/* ---- KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD ---- */

TEST_F(pin, allocator_fd_none)
{
	__s64 fd = -100;
	__u32 ret_bytes = 1234;

	EXPECT_EQ(-ENOENT, kst_prop(self->pin, &set_ksalloc_pin,
				    KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
				    KSPROPERTY_TYPE_GET, &fd, sizeof(fd),
				    O_CLOEXEC, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	EXPECT_EQ(-100, fd);
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

TEST_F(pin, allocator_fd_get)
{
	__u32 ret_bytes = 0;
	__s64 out = -100;
	int a, got, got2, fl;
	__u64 id;

	a = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, a);
	id = kst_allocator_id(a);
	ASSERT_EQ(0, kst_set_allocator(self->pin, a));

	ASSERT_EQ(0, kst_prop(self->pin, &set_ksalloc_pin,
			      KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
			      KSPROPERTY_TYPE_GET, &out, sizeof(out), 0,
			      &ret_bytes));
	EXPECT_EQ(sizeof(out), ret_bytes);
	ASSERT_LE(0, out);
	got = out;
	EXPECT_NE(a, got);
	EXPECT_NE(self->pin, got);
	EXPECT_EQ(id, kst_allocator_id(got));
	EXPECT_EQ(0, fd_flags(got) & FD_CLOEXEC);
	ASSERT_COUNTS(self->base, 1, self->page, 2);

	/*
	 * It is the same open file, not a new one: file status flags set
	 * through one fd are seen through the other.
	 */
	fl = fcntl(got, F_GETFL);
	ASSERT_LE(0, fl);
	ASSERT_EQ(0, fcntl(got, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(O_NONBLOCK, fcntl(a, F_GETFL) & O_NONBLOCK);
	ASSERT_EQ(0, fcntl(a, F_SETFL, fl & ~O_NONBLOCK));
	EXPECT_EQ(0, fcntl(got, F_GETFL) & O_NONBLOCK);

	got2 = kst_pin_allocator_fd(self->pin, O_CLOEXEC);
	ASSERT_LE(0, got2);
	EXPECT_EQ(FD_CLOEXEC, fd_flags(got2) & FD_CLOEXEC);
	EXPECT_EQ(id, kst_allocator_id(got2));

	/* O_NONBLOCK would change the shared file for every holder */
	EXPECT_EQ(-EINVAL, kst_pin_allocator_fd(self->pin, O_NONBLOCK));
	EXPECT_EQ(-EINVAL, kst_pin_allocator_fd(self->pin, O_NONBLOCK | O_CLOEXEC));
	EXPECT_EQ(-EINVAL, kst_pin_allocator_fd(self->pin, O_APPEND));
	ASSERT_COUNTS(self->base, 1, self->page, 3);

	EXPECT_EQ(0, close(a));
	EXPECT_EQ(0, close(got));
	EXPECT_EQ(0, close(got2));
	ASSERT_COUNTS(self->base, 1, self->page, 0);
	EXPECT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

/* open_flags belong only to requests that return an fd. */
TEST_F(pin, open_flags_on_plain_property)
{
	__u32 state = 1234;

	EXPECT_EQ(-EINVAL, kst_prop(self->pin, &set_connection,
				    KSPROPERTY_CONNECTION_STATE,
				    KSPROPERTY_TYPE_GET, &state, sizeof(state),
				    O_CLOEXEC, NULL));
	EXPECT_EQ(1234, state);
}

TEST_F(pin, allocator_fd_efault)
{
	__u32 ret_bytes = 1234;
	void *ro;
	int a;

	ro = mmap(NULL, self->page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	a = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, kst_set_allocator(self->pin, a));
	ASSERT_COUNTS(self->base, 1, self->page, 1);

	EXPECT_EQ(-EFAULT, kst_prop(self->pin, &set_ksalloc_pin,
				    KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
				    KSPROPERTY_TYPE_GET, ro, sizeof(__s64),
				    O_CLOEXEC, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	ASSERT_COUNTS(self->base, 1, self->page, 1);

	/*
	 * The reference taken for the fd that was never published must be
	 * gone too: once the pin and the user let go, the allocator is freed.
	 */
	EXPECT_EQ(0, close(a));
	EXPECT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
	EXPECT_EQ(0, munmap(ro, self->page));
}

TEST_F(pin, allocator_fd_efault_readonly_args)
{
	struct ksidentifier p = { .set = set_ksalloc_pin,
				  .id = KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
				  .flags = KSPROPERTY_TYPE_GET };
	struct ks_ioctl_args *args;
	__s64 out = -100;
	int a;

	args = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, args);
	a = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, kst_set_allocator(self->pin, a));
	EXPECT_EQ(0, close(a));

	args->in_buffer = (uintptr_t)&p;
	args->in_size = sizeof(p);
	args->out_buffer = (uintptr_t)&out;
	args->out_size = sizeof(out);
	ASSERT_EQ(0, mprotect(args, self->page, PROT_READ));
	EXPECT_EQ(-1, ioctl(self->pin, IOCTL_KS_PROPERTY, args));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_COUNTS(self->base, 1, self->page, 0);
	/* The fd number may have reached the output; the fd must not exist */
	if (out >= 0 && out <= INT_MAX) {
		EXPECT_EQ(-1, fcntl((int)out, F_GETFD));
		EXPECT_EQ(EBADF, errno);
	}
	EXPECT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
	EXPECT_EQ(0, munmap(args, self->page));
}

/* ---- KSPROPSETID_Connection ---- */

TEST_F(pin, connection_state)
{
	__u32 states[] = { KSSTATE_ACQUIRE, KSSTATE_PAUSE, KSSTATE_RUN,
			   KSSTATE_PAUSE, KSSTATE_STOP, KSSTATE_RUN,
			   KSSTATE_STOP };
	__u32 state = 1234;
	unsigned int i;

	ASSERT_EQ(0, kst_get_state(self->pin, &state));
	EXPECT_EQ(KSSTATE_STOP, state);
	for (i = 0; i < ARRAY_SIZE(states); i++) {
		ASSERT_EQ(0, kst_set_state(self->pin, states[i]));
		state = 1234;
		ASSERT_EQ(0, kst_get_state(self->pin, &state));
		EXPECT_EQ(states[i], state);
	}

	/* Out of range: refused, and the state stays */
	ASSERT_EQ(0, kst_set_state(self->pin, KSSTATE_PAUSE));
	EXPECT_EQ(-EINVAL, kst_set_state(self->pin, 4));
	EXPECT_EQ(-EINVAL, kst_set_state(self->pin, UINT32_MAX));
	ASSERT_EQ(0, kst_get_state(self->pin, &state));
	EXPECT_EQ(KSSTATE_PAUSE, state);
}

/* Pins are independent: one pin's state is not another's. */
TEST_F(pin, connection_state_per_pin)
{
	__u32 state = 1234;
	int pin2;

	pin2 = open(KST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, pin2);
	ASSERT_EQ(0, kst_set_state(self->pin, KSSTATE_RUN));
	ASSERT_EQ(0, kst_get_state(pin2, &state));
	EXPECT_EQ(KSSTATE_STOP, state);
	EXPECT_EQ(0, close(pin2));
}

TEST_F(pin, allocator_only_in_stop)
{
	static const __u32 busy[] = { KSSTATE_ACQUIRE, KSSTATE_PAUSE,
				      KSSTATE_RUN };
	__u64 id_a;
	unsigned int i;
	int a, b, got;

	a = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, a);
	b = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, b);
	id_a = kst_allocator_id(a);
	ASSERT_EQ(0, kst_set_allocator(self->pin, a));
	EXPECT_EQ(0, close(a));

	for (i = 0; i < ARRAY_SIZE(busy); i++) {
		ASSERT_EQ(0, kst_set_state(self->pin, busy[i]));
		EXPECT_EQ(-EBUSY, kst_set_allocator(self->pin, b)) {
			TH_LOG("state %u", busy[i]);
		}
		EXPECT_EQ(-EBUSY, kst_set_allocator(self->pin, KS_NULL_HANDLE)) {
			TH_LOG("state %u", busy[i]);
		}
		/* Still A, still held */
		got = kst_pin_allocator_fd(self->pin, O_CLOEXEC);
		ASSERT_LE(0, got);
		EXPECT_EQ(id_a, kst_allocator_id(got));
		EXPECT_EQ(0, close(got));
		ASSERT_COUNTS(self->base, 2, 2 * self->page, 1);
	}

	/* The refused Set of B took no reference: B goes with its fd */
	EXPECT_EQ(0, close(b));
	ASSERT_COUNTS(self->base, 1, self->page, 0);

	/* Back in STOP the allocator can be changed again */
	ASSERT_EQ(0, kst_set_state(self->pin, KSSTATE_STOP));
	EXPECT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
	b = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, b);
	EXPECT_EQ(0, kst_set_allocator(self->pin, b));
	EXPECT_EQ(0, close(b));
	EXPECT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

/* A pin in RUN is closed with its allocator: nothing stays behind. */
TEST_F(pin, close_running_pin)
{
	int a;

	a = kst_create_allocator(self->pin, 1, 4096, 0);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, kst_set_allocator(self->pin, a));
	EXPECT_EQ(0, close(a));
	ASSERT_EQ(0, kst_set_state(self->pin, KSSTATE_RUN));
	EXPECT_EQ(0, close(self->pin));
	self->pin = -1;
	ASSERT_COUNTS(self->base, 0, 0, -1);
}

static int get_framing(int pin, struct ksallocator_framing *f)
{
	memset(f, 0xa5, sizeof(*f));
	return kst_prop(pin, &set_connection,
			KSPROPERTY_CONNECTION_ALLOCATORFRAMING,
			KSPROPERTY_TYPE_GET, f, sizeof(*f), 0, NULL);
}

static int set_framing(int pin, struct ksallocator_framing *f)
{
	return kst_prop(pin, &set_connection,
			KSPROPERTY_CONNECTION_ALLOCATORFRAMING,
			KSPROPERTY_TYPE_SET, f, sizeof(*f), 0, NULL);
}

static int get_framing_ex(int pin, struct ksallocator_framing_ex *ex,
			  __u32 *ret_bytes)
{
	memset(ex, 0xa5, sizeof(*ex));
	return kst_prop(pin, &set_connection,
			KSPROPERTY_CONNECTION_ALLOCATORFRAMING_EX,
			KSPROPERTY_TYPE_GET, ex, sizeof(*ex), 0, ret_bytes);
}

/*
 * A new pin asks for 4 page-sized, page-aligned frames of system memory
 * and marks that as a preference only.
 */
TEST_F(pin, allocatorframing_default)
{
	struct ksallocator_framing f;

	ASSERT_EQ(0, get_framing(self->pin, &f));
	EXPECT_EQ(KSALLOCATOR_REQUIREMENTF_SYSTEM_MEMORY |
		  KSALLOCATOR_REQUIREMENTF_PREFERENCES_ONLY,
		  f.requirements_flags);
	EXPECT_EQ(KS_POOL_NONPAGED, f.pool_type);
	EXPECT_EQ(4, f.frames);
	EXPECT_EQ(self->page, f.frame_size);
	EXPECT_EQ(self->page - 1, f.file_alignment);
	EXPECT_EQ(0, f.reserved);
}

TEST_F(pin, allocatorframing_set_get)
{
	struct ksallocator_framing want = {
		.requirements_flags = KSALLOCATOR_REQUIREMENTF_INPLACE_MODIFIER |
				      KSALLOCATOR_REQUIREMENTF_FRAME_INTEGRITY,
		.pool_type = KS_POOL_PAGED,
		.frames = 8,
		.frame_size = 1234,
		.file_alignment = 63,
	}, f, bad;
	struct ksallocator_framing_ex ex;
	struct ks_framing_item *item = &ex.framing_item[0];
	static const struct ksguid sysmem = KSMEMORY_TYPE_SYSTEM;
	__u32 ret_bytes;

	ASSERT_EQ(0, set_framing(self->pin, &want));
	ASSERT_EQ(0, get_framing(self->pin, &f));
	EXPECT_EQ(0, memcmp(&want, &f, sizeof(f)));

	/* _EX is the same framing as one item */
	ret_bytes = 0;
	ASSERT_EQ(0, get_framing_ex(self->pin, &ex, &ret_bytes));
	EXPECT_EQ(KSALLOCATOR_FRAMING_EX_SIZE(1), ret_bytes);
	EXPECT_EQ(1, ex.count_items);
	EXPECT_EQ(0, memcmp(&sysmem, &item->memory_type, sizeof(sysmem)));
	EXPECT_EQ(want.requirements_flags, item->flags);
	EXPECT_EQ(8, item->frames);
	EXPECT_EQ(63, item->file_alignment);
	EXPECT_EQ(1234, item->framing_range.range.min_frame_size);
	EXPECT_EQ(1234, item->framing_range.range.max_frame_size);

	/* Refused: unknown requirement bit, reserved field, non-mask alignment */
	bad = want;
	bad.requirements_flags |= 0x10;
	EXPECT_EQ(-EINVAL, set_framing(self->pin, &bad));
	bad = want;
	bad.requirements_flags = 0x40000000;
	EXPECT_EQ(-EINVAL, set_framing(self->pin, &bad));
	bad = want;
	bad.reserved = 1;
	EXPECT_EQ(-EINVAL, set_framing(self->pin, &bad));
	bad = want;
	bad.file_alignment = 6;
	EXPECT_EQ(-EINVAL, set_framing(self->pin, &bad));
	ASSERT_EQ(0, get_framing(self->pin, &f));
	EXPECT_EQ(0, memcmp(&want, &f, sizeof(f)));

	/* Every requirement bit is accepted as a requirement */
	want.requirements_flags = KSALLOCATOR_REQUIREMENTF_INPLACE_MODIFIER |
				  KSALLOCATOR_REQUIREMENTF_SYSTEM_MEMORY |
				  KSALLOCATOR_REQUIREMENTF_FRAME_INTEGRITY |
				  KSALLOCATOR_REQUIREMENTF_MUST_ALLOCATE |
				  KSALLOCATOR_REQUIREMENTF_PREFERENCES_ONLY;
	want.frames = 3;
	want.frame_size = 777;
	ASSERT_EQ(0, set_framing(self->pin, &want));
	ASSERT_EQ(0, get_framing(self->pin, &f));
	EXPECT_EQ(0, memcmp(&want, &f, sizeof(f)));
	ASSERT_EQ(0, get_framing_ex(self->pin, &ex, NULL));
	EXPECT_EQ(want.requirements_flags, item->flags);
	EXPECT_EQ(3, item->frames);
	EXPECT_EQ(777, item->framing_range.range.max_frame_size);
}

TEST_F(pin, allocatorframing_ex_size_and_get_only)
{
	struct ksallocator_framing_ex ex;
	__u32 ret_bytes = 0;

	/* Size query */
	EXPECT_EQ(-EOVERFLOW, kst_prop(self->pin, &set_connection,
				       KSPROPERTY_CONNECTION_ALLOCATORFRAMING_EX,
				       KSPROPERTY_TYPE_GET, NULL, 0, 0,
				       &ret_bytes));
	EXPECT_EQ(KSALLOCATOR_FRAMING_EX_SIZE(1), ret_bytes);
	/* The default framing, as an item */
	ASSERT_EQ(0, get_framing_ex(self->pin, &ex, NULL));
	EXPECT_EQ(1, ex.count_items);
	EXPECT_EQ(4, ex.framing_item[0].frames);
	EXPECT_EQ(self->page, ex.framing_item[0].framing_range.range.max_frame_size);
	/* Get only */
	EXPECT_EQ(-EOPNOTSUPP, kst_prop(self->pin, &set_connection,
					KSPROPERTY_CONNECTION_ALLOCATORFRAMING_EX,
					KSPROPERTY_TYPE_SET, &ex, sizeof(ex), 0,
					NULL));
}

/* ---- KSPROPERTY_STREAMALLOCATOR_STATUS ---- */

TEST_F(pin, status_counts_frames)
{
	struct ksallocator_framing f = kst_framing(2, 4096);
	struct ksstreamallocator_status st;
	__u64 off0, off1;
	int a;

	f.options_flags = KSALLOCATOR_OPTIONF_VALID;
	f.file_alignment = 15;
	a = kst_create_framing(self->pin, &f, 0);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, kst_get_status(a, &st));
	EXPECT_EQ(0, memcmp(&f, &st.framing, sizeof(f)));
	EXPECT_EQ(0, st.allocated_frames);

	ASSERT_EQ(0, kst_method(a, KSMETHOD_STREAMALLOCATOR_ALLOC,
				KSMETHOD_TYPE_WRITE, &off0));
	ASSERT_EQ(0, kst_get_status(a, &st));
	EXPECT_EQ(1, st.allocated_frames);
	EXPECT_EQ(0, memcmp(&f, &st.framing, sizeof(f)));

	ASSERT_EQ(0, kst_method(a, KSMETHOD_STREAMALLOCATOR_ALLOC,
				KSMETHOD_TYPE_WRITE, &off1));
	EXPECT_NE(off0, off1);
	ASSERT_EQ(0, kst_get_status(a, &st));
	EXPECT_EQ(2, st.allocated_frames);

	ASSERT_EQ(0, kst_method(a, KSMETHOD_STREAMALLOCATOR_FREE,
				KSMETHOD_TYPE_READ, &off1));
	ASSERT_EQ(0, kst_get_status(a, &st));
	EXPECT_EQ(1, st.allocated_frames);
	ASSERT_EQ(0, kst_method(a, KSMETHOD_STREAMALLOCATOR_FREE,
				KSMETHOD_TYPE_READ, &off0));
	ASSERT_EQ(0, kst_get_status(a, &st));
	EXPECT_EQ(0, st.allocated_frames);
	/* Freeing a free frame is refused and changes nothing */
	EXPECT_EQ(-EINVAL, kst_method(a, KSMETHOD_STREAMALLOCATOR_FREE,
				      KSMETHOD_TYPE_READ, &off0));
	ASSERT_EQ(0, kst_get_status(a, &st));
	EXPECT_EQ(0, st.allocated_frames);

	/* STATUS through the fd the pin hands back is the same allocator */
	ASSERT_EQ(0, kst_set_allocator(self->pin, a));
	ASSERT_EQ(0, kst_method(a, KSMETHOD_STREAMALLOCATOR_ALLOC,
				KSMETHOD_TYPE_WRITE, &off0));
	EXPECT_EQ(0, close(a));
	a = kst_pin_allocator_fd(self->pin, O_CLOEXEC);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, kst_get_status(a, &st));
	EXPECT_EQ(1, st.allocated_frames);
	/* Frames outstanding at release do not keep the memory */
	EXPECT_EQ(0, close(a));
	EXPECT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(self->base, 0, 0, 0);
}

TEST_HARNESS_MAIN
