// SPDX-License-Identifier: GPL-2.0
/*
 * Frame memory and the allocator's mapping.
 *
 *  - memory held is frame_size rounded up to pages, for 4 KiB, 12 KiB,
 *    1080p NV12 (3,110,400), 4K NV12 (12,441,600) and 64 MiB frames
 *    (the caps raised for the test, restored after): INFO.bytes_held,
 *    the module's total_bytes and the frames * stride of the mmap space;
 *  - KSALLOC_CREATEF_CONTIGUOUS: physically contiguous frames (the page
 *    frame numbers from /proc/self/pagemap) up to the largest buddy block
 *    (max_contiguous_bytes in sysfs), E2BIG above, EINVAL for unknown
 *    flags and reserved fields;
 *  - the mapping is made of normal pages, so what needs get_user_pages()
 *    works on it: an O_DIRECT read straight into a frame (from a block
 *    device, when the VM has one), process_vm_readv and _writev,
 *    vmsplice; fork shares it; mremap moves it but cannot grow it; after
 *    MADV_DONTNEED a touch finds the data again (no SIGBUS), in the same
 *    page frame, across chunks of every order; the same for the mapping
 *    of a frame's dma-buf.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "frames_lib.h"
#include "ksa_test.h"
#include "kselftest_harness.h"

#define PARAM_MAX_ALLOCATOR	KSA_PARAM_DIR "max_allocator_bytes"
#define PARAM_MAX_TOTAL		KSA_PARAM_DIR "max_total_bytes"
#define SYS_MAX_CONTIGUOUS	KSA_SYSFS_DIR "max_contiguous_bytes"

static long long page_align(long long size, long page)
{
	return (size + page - 1) / page * page;
}

/* ---- memory held ---- */

FIXTURE(held)
{
	int pin;
	long page;
	long saved_alloc, saved_total;
};

FIXTURE_VARIANT(held)
{
	__u32 frames;
	__u32 frame_size;
	__u32 flags;		/* KSALLOC_CREATEF_* */
};

FIXTURE_VARIANT_ADD(held, f4k) { .frames = 8, .frame_size = 4096 };
FIXTURE_VARIANT_ADD(held, f12k) { .frames = 8, .frame_size = 12288 };
FIXTURE_VARIANT_ADD(held, nv12_1080p) { .frames = 8, .frame_size = 3110400 };
FIXTURE_VARIANT_ADD(held, nv12_2160p) { .frames = 8, .frame_size = 12441600 };
FIXTURE_VARIANT_ADD(held, f64m) { .frames = 2, .frame_size = 64 << 20 };
FIXTURE_VARIANT_ADD(held, contiguous_12k_plus_1)
{
	.frames = 8, .frame_size = 12289, .flags = KSALLOC_CREATEF_CONTIGUOUS,
};
FIXTURE_VARIANT_ADD(held, contiguous_1080p_nv12)
{
	.frames = 4, .frame_size = 3110400, .flags = KSALLOC_CREATEF_CONTIGUOUS,
};

FIXTURE_SETUP(held)
{
	long long need;

	self->saved_alloc = self->saved_total = LONG_MIN;
	self->page = ksa_page_size();
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin);
	need = (long long)variant->frames *
	       page_align(variant->frame_size, self->page);
	if (kst_read_long(PARAM_MAX_ALLOCATOR) < need)
		ASSERT_EQ(0, kst_set_param(PARAM_MAX_ALLOCATOR,
					   &self->saved_alloc, need));
	if (kst_read_long(PARAM_MAX_TOTAL) <
	    kst_read_long(KST_SYS_TOTAL_BYTES) + need)
		ASSERT_EQ(0, kst_set_param(PARAM_MAX_TOTAL, &self->saved_total,
					   kst_read_long(KST_SYS_TOTAL_BYTES) +
					   need));
}

FIXTURE_TEARDOWN(held)
{
	kst_restore_param(PARAM_MAX_ALLOCATOR, &self->saved_alloc);
	kst_restore_param(PARAM_MAX_TOTAL, &self->saved_total);
	if (self->pin >= 0)
		close(self->pin);
}

TEST_F(held, bytes_held_are_the_pages)
{
	const long long stride = page_align(variant->frame_size, self->page);
	const long long asked = (long long)variant->frames *
				variant->frame_size;
	struct ksalloc_allocator_info info;
	long long total0, held;
	unsigned char *map;
	__u32 i;
	int fd;

	total0 = kst_read_long(KST_SYS_TOTAL_BYTES);
	fd = kst_create_ksalloc(self->pin, variant->frames,
				variant->frame_size, variant->flags, O_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("%u frames of %u: %s", variant->frames,
				variant->frame_size, strerror(-fd));
	ASSERT_EQ(0, kst_get_info(fd, &info));
	held = (long long)variant->frames * stride;
	EXPECT_EQ(stride, info.frame_stride);
	EXPECT_EQ(held, info.bytes_held);
	EXPECT_EQ(held, info.mmap_size);
	EXPECT_EQ(total0 + held, kst_read_long(KST_SYS_TOTAL_BYTES));
	TH_LOG("frame %u bytes: %lld held for %lld asked, ratio %.4f",
	       variant->frame_size, held, asked, (double)held / asked);

	/* Every frame is there, zeroed, and its own memory */
	map = mmap(NULL, info.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < variant->frames; i++) {
		unsigned char *f = map + i * stride;
		long long j;

		for (j = 0; j < stride; j += 4096 / 4)
			if (f[j])
				break;
		EXPECT_LE(stride, j) TH_LOG("frame %u not zeroed at %lld", i, j);
		f[0] = (unsigned char)(i + 1);
		f[stride - 1] = (unsigned char)(i + 101);
	}
	for (i = 0; i < variant->frames; i++) {
		EXPECT_EQ((unsigned char)(i + 1), map[i * stride]);
		EXPECT_EQ((unsigned char)(i + 101), map[(i + 1) * stride - 1]);
	}
	if (variant->flags & KSALLOC_CREATEF_CONTIGUOUS) {
		for (i = 0; i < variant->frames; i++) {
			long n = stride / self->page;
			long k = kst_contiguous_pages(map + i * stride, n);

			ASSERT_NE(0, k) TH_LOG("no pfn from /proc/self/pagemap");
			EXPECT_EQ(n, k) TH_LOG("frame %u: page %ld not contiguous",
					       i, k);
		}
	}
	EXPECT_EQ(0, munmap(map, info.mmap_size));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(total0, kst_read_long(KST_SYS_TOTAL_BYTES));
}

/* ---- contiguous frames: limits and bad input ---- */

FIXTURE(contig)
{
	int pin;
	long page;
	long long max;
	struct kst_counts base;
};

FIXTURE_SETUP(contig)
{
	self->page = ksa_page_size();
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin);
	self->max = kst_read_long(SYS_MAX_CONTIGUOUS);
	ASSERT_LT(0, self->max) TH_LOG("%s", SYS_MAX_CONTIGUOUS);
	/* x86-64 with 4 KiB pages: order 10 */
	if (self->page == 4096)
		EXPECT_EQ(4 << 20, self->max);
	kst_read_counts(&self->base);
}

FIXTURE_TEARDOWN(contig)
{
	if (self->pin >= 0)
		close(self->pin);
}

TEST_F(contig, up_to_the_buddy_limit)
{
	struct ksalloc_allocator_info info;
	unsigned char *map;
	int fd;

	fd = kst_create_ksalloc(self->pin, 1, self->max,
				KSALLOC_CREATEF_CONTIGUOUS, O_CLOEXEC);
	if (fd == -ENOMEM)
		SKIP(return, "no free block of %lld bytes now", self->max);
	ASSERT_LE(0, fd) TH_LOG("%s", strerror(-fd));
	ASSERT_EQ(0, kst_get_info(fd, &info));
	EXPECT_EQ(self->max, info.bytes_held);
	map = mmap(NULL, self->max, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(kst_pfn_of(map) + self->max / self->page - 1,
		  kst_pfn_of(map + self->max - self->page));
	munmap(map, self->max);
	EXPECT_EQ(0, close(fd));

	/* One byte more, or much more: E2BIG, nothing held */
	EXPECT_EQ(-E2BIG, kst_create_ksalloc(self->pin, 1, self->max + 1,
					     KSALLOC_CREATEF_CONTIGUOUS, 0));
	EXPECT_EQ(-E2BIG, kst_create_ksalloc(self->pin, 2, 64 << 20,
					     KSALLOC_CREATEF_CONTIGUOUS, 0));
	/* Scattered, the same sizes are fine */
	fd = kst_create_ksalloc(self->pin, 1, self->max + 1, 0, O_CLOEXEC);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	KST_ASSERT_COUNTS(((struct kst_counts){
		.allocators = self->base.allocators,
		.total_bytes = self->base.total_bytes,
		.refcnt = KST_ANY, .fds = self->base.fds }), 100);
}

TEST_F(contig, bad_create_input)
{
	struct ksalloc_allocator_create c;
	__s64 out = -100;
	__u32 sizes[] = { 0, sizeof(struct ksguid), sizeof(c) - 1,
			  sizeof(c) + 8 };
	unsigned int i;

	memset(&c, 0, sizeof(c));
	c.object_type = (struct ksguid)KSNAME_KsallocAllocator;
	c.framing = kst_framing(1, 4096);
	c.flags = 0x2;
	EXPECT_EQ(-EINVAL, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c, sizeof(c),
				     &out, sizeof(out), 0, NULL));
	c.flags = 0x80000000u | KSALLOC_CREATEF_CONTIGUOUS;
	EXPECT_EQ(-EINVAL, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c, sizeof(c),
				     &out, sizeof(out), 0, NULL));
	c.flags = 0;
	c.reserved = 1;
	EXPECT_EQ(-EINVAL, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c, sizeof(c),
				     &out, sizeof(out), 0, NULL));
	c.reserved = 0;
	c.reserved2[1] = 1;
	EXPECT_EQ(-EINVAL, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c, sizeof(c),
				     &out, sizeof(out), 0, NULL));
	c.reserved2[1] = 0;
	/* The framing is checked as for KSNAME_Allocator */
	c.framing.frames = 0;
	EXPECT_EQ(-EINVAL, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c, sizeof(c),
				     &out, sizeof(out), 0, NULL));
	c.framing.frames = 1;
	c.framing.frame_size = UINT32_MAX;
	EXPECT_EQ(-EOVERFLOW, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c,
					sizeof(c), &out, sizeof(out), 0,
					NULL));
	c.framing.frame_size = 4096;
	/* Braces: the harness's EXPECT is two statements, its log the second */
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		EXPECT_EQ(-EINVAL, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c,
					     sizes[i], &out, sizeof(out), 0,
					     NULL)) TH_LOG("in_size %u", sizes[i]);
	}
	EXPECT_EQ(-100, out);
	KST_ASSERT_COUNTS(((struct kst_counts){
		.allocators = self->base.allocators,
		.total_bytes = self->base.total_bytes,
		.refcnt = KST_ANY, .fds = self->base.fds }), 100);
	/* And the good one */
	c.flags = KSALLOC_CREATEF_CONTIGUOUS;
	ASSERT_EQ(0, kst_ioctl(self->pin, IOCTL_KS_CREATE, &c, sizeof(c), &out,
			       sizeof(out), O_CLOEXEC, NULL));
	EXPECT_EQ(0, close((int)out));
}

/* ---- the mapping: normal pages ---- */

#define MFRAMES		4

FIXTURE(map)
{
	int pin;
	int fd;
	long page;
	struct ksalloc_allocator_info info;
	unsigned char *map;
};

FIXTURE_SETUP(map)
{
	self->fd = -1;
	self->map = MAP_FAILED;
	self->page = ksa_page_size();
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin);
	/* 300 KiB frames: order-4 chunks and single pages */
	self->fd = ksa_create(self->pin, MFRAMES, 300 << 10, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ksa_info(self->fd, &self->info));
	self->map = mmap(NULL, self->info.mmap_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
}

FIXTURE_TEARDOWN(map)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->info.mmap_size);
	if (self->fd >= 0)
		close(self->fd);
	if (self->pin >= 0)
		close(self->pin);
}

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 31 + seed);
}

static size_t check(const unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 31 + seed))
			return i;
	return n;
}

TEST_F(map, madv_dontneed_then_touch)
{
	const size_t len = self->info.mmap_size;

	fill(self->map, len, 1);
	ASSERT_EQ(0, madvise(self->map, len, MADV_DONTNEED));
	/* The fault handler puts the same pages back */
	EXPECT_EQ(len, check(self->map, len, 1));
	ASSERT_EQ(0, madvise(self->map + self->page, self->page,
			     MADV_DONTNEED));
	self->map[self->page + 5] = 0xEE;
	ASSERT_EQ(0, madvise(self->map, len, MADV_DONTNEED));
	EXPECT_EQ(0xEE, self->map[self->page + 5]);
}

TEST_F(map, process_vm_readv_and_writev)
{
	const size_t len = self->info.frame_stride;
	unsigned char *buf = malloc(len);
	struct iovec local, remote;
	int status;
	pid_t pid;

	ASSERT_NE(NULL, buf);
	fill(self->map, len, 7);
	/* A child reads the parent's frame and writes the next one */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		pid_t parent = getppid();

		local.iov_base = buf;
		local.iov_len = len;
		remote.iov_base = self->map;
		remote.iov_len = len;
		if (process_vm_readv(parent, &local, 1, &remote, 1, 0) !=
		    (ssize_t)len)
			_exit(10);
		if (check(buf, len, 7) != len)
			_exit(11);
		fill(buf, len, 9);
		remote.iov_base = self->map + len;
		if (process_vm_writev(parent, &local, 1, &remote, 1, 0) !=
		    (ssize_t)len)
			_exit(12);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(len, check(self->map + len, len, 9));
	free(buf);
}

TEST_F(map, vmsplice_a_frame)
{
	const size_t len = 64 << 10;	/* within a pipe's default size */
	unsigned char *buf = malloc(len);
	struct iovec iov = { .iov_base = self->map, .iov_len = len };
	int p[2];

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	fill(self->map, len, 3);
	/* The pipe takes references on the frame's pages */
	ASSERT_EQ((ssize_t)len, vmsplice(p[1], &iov, 1, 0));
	ASSERT_EQ(0, kst_read_all(p[0], buf, len));
	EXPECT_EQ(len, check(buf, len, 3));
	close(p[0]);
	close(p[1]);
	free(buf);
}

/* vmspliced pages outlive the allocator: the pipe holds them */
TEST_F(map, vmsplice_outlives_allocator)
{
	const size_t len = 16 << 10;
	struct iovec iov = { .iov_base = self->map, .iov_len = len };
	unsigned char buf[16 << 10];
	int p[2];

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	fill(self->map, len, 5);
	ASSERT_EQ((ssize_t)len, vmsplice(p[1], &iov, 1, 0));
	ASSERT_EQ(0, munmap(self->map, self->info.mmap_size));
	self->map = MAP_FAILED;
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	ASSERT_EQ(0, kst_read_all(p[0], buf, len));
	EXPECT_EQ(len, check(buf, len, 5));
	close(p[0]);
	close(p[1]);
}

TEST_F(map, fork_shares_the_mapping)
{
	const size_t len = self->info.mmap_size;
	int status;
	pid_t pid;

	fill(self->map, len, 11);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (check(self->map, len, 11) != len)
			_exit(10);
		fill(self->map, len, 13);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(len, check(self->map, len, 13));
}

/*
 * mremap of a mapping of frame pages that holds fill(@seed): growing it,
 * in place or by moving, is refused; moving it to a chosen place works,
 * and it is the same memory, also after MADV_DONTNEED. The moved mapping
 * (@map is gone then), or MAP_FAILED.
 */
static unsigned char *move_mapping(struct __test_metadata *_metadata,
				   unsigned char *map, size_t len, long page,
				   unsigned int seed)
{
	unsigned char *dst, *moved;

	EXPECT_EQ(MAP_FAILED, mremap(map, len, len + page, 0));
	EXPECT_EQ(MAP_FAILED, mremap(map, len, len + page, MREMAP_MAYMOVE));
	dst = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT_NE(MAP_FAILED, dst);
	if (dst == MAP_FAILED)
		return MAP_FAILED;
	moved = mremap(map, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	EXPECT_EQ(dst, moved);
	if (moved != dst)
		return MAP_FAILED;
	EXPECT_EQ(len, check(moved, len, seed));
	EXPECT_EQ(0, madvise(moved, len, MADV_DONTNEED));
	EXPECT_EQ(len, check(moved, len, seed));
	return moved;
}

TEST_F(map, mremap_moves_but_never_grows)
{
	const size_t len = self->info.mmap_size;
	unsigned char *moved;
	void *p;

	fill(self->map, len, 17);
	moved = move_mapping(_metadata, self->map, len, self->page, 17);
	ASSERT_NE(MAP_FAILED, moved);
	self->map = moved;
	/* Shrinking is fine */
	p = mremap(moved, len, len - self->page, 0);
	ASSERT_EQ(moved, p);
	self->info.mmap_size -= self->page;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/*
 * What the mapping costs (logged, never asserted: TCG time follows the
 * host's load): mmap() with every page inserted, a first touch of every
 * page after it, and the same touch when every page has to be faulted in
 * (after MADV_DONTNEED: what a fault-only mmap would cost on first use).
 */
TEST_F(map, cost_prefault_and_fault)
{
	const __u32 frames = 8, size = 3110400;
	struct ksalloc_allocator_info info;
	double t0, t_mmap, t_touch, t_fault;
	volatile unsigned char *m;
	size_t i;
	int fd;

	fd = ksa_create(self->pin, frames, size, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ksa_info(fd, &info));
	t0 = now_us();
	m = mmap(NULL, info.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	t_mmap = now_us() - t0;
	ASSERT_NE(MAP_FAILED, m);
	t0 = now_us();
	for (i = 0; i < info.mmap_size; i += self->page)
		m[i] = 1;
	t_touch = now_us() - t0;
	ASSERT_EQ(0, madvise((void *)m, info.mmap_size, MADV_DONTNEED));
	t0 = now_us();
	for (i = 0; i < info.mmap_size; i += self->page)
		m[i] = 2;
	t_fault = now_us() - t0;
	TH_LOG("%llu pages: mmap with prefault %.0f us, touch after it %.0f us; touch faulting every page %.0f us",
	       (unsigned long long)info.mmap_size / self->page, t_mmap,
	       t_touch, t_fault);
	EXPECT_EQ(2, m[info.mmap_size - self->page]);
	munmap((void *)m, info.mmap_size);
	close(fd);
}

/*
 * A block device the test may overwrite, or NULL: a RAM disk (make check
 * loads brd, selftests/peers.conf), or the device KSA_TEST_BLOCK_DEVICE
 * names.
 */
static const char *find_block_device(char *buf, size_t size)
{
	const char *env = getenv("KSA_TEST_BLOCK_DEVICE");
	struct dirent *e;
	DIR *d;

	if (env)
		return env;
	d = opendir("/sys/block");
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		if (!strncmp(e->d_name, "ram", 3)) {
			snprintf(buf, size, "/dev/%s", e->d_name);
			closedir(d);
			return access(buf, R_OK | W_OK) ? NULL : buf;
		}
	}
	closedir(d);
	return NULL;
}

TEST_F(map, o_direct_read_into_a_frame)
{
	const size_t len = 256 << 10;
	unsigned char *src;
	char name[300];
	const char *dev;
	int bfd;

	dev = find_block_device(name, sizeof(name));
	if (!dev)
		SKIP(return, "no block device to test O_DIRECT with (a RAM disk: brd; or KSA_TEST_BLOCK_DEVICE)");
	bfd = open(dev, O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, bfd) TH_LOG("open %s: %s", dev, strerror(errno));
	src = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, src);
	fill(src, len, 23);
	ASSERT_EQ((ssize_t)len, pwrite(bfd, src, len, 0));
	/* The device's DMA (here a copy) lands straight in the frame */
	memset(self->map, 0, len);
	ASSERT_EQ((ssize_t)len, pread(bfd, self->map + self->info.frame_stride,
				      len, 0)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(len, check(self->map + self->info.frame_stride, len, 23));
	/* And the other way: O_DIRECT write from a frame */
	fill(self->map, len, 29);
	ASSERT_EQ((ssize_t)len, pwrite(bfd, self->map, len, len));
	ASSERT_EQ((ssize_t)len, pread(bfd, src, len, len));
	EXPECT_EQ(len, check(src, len, 29));
	munmap(src, len);
	close(bfd);
}

/* The dma-buf's own mapping is made of the same normal pages */
TEST_F(map, dmabuf_mapping_normal_pages)
{
	const size_t len = self->info.frame_stride;
	unsigned char *dm, *buf = malloc(len);
	struct iovec iov;
	__u64 off;
	int dfd, p[2];

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &off));
	dfd = kst_frame_export(self->fd, off);
	ASSERT_LE(0, dfd);
	dm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, dm);
	fill(dm, len, 41);
	ASSERT_EQ(0, madvise(dm, len, MADV_DONTNEED));
	EXPECT_EQ(len, check(dm, len, 41));
	EXPECT_EQ(len, check(self->map + off, len, 41));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	iov.iov_base = dm;
	iov.iov_len = 32 << 10;
	ASSERT_EQ(32 << 10, vmsplice(p[1], &iov, 1, 0));
	ASSERT_EQ(0, kst_read_all(p[0], buf, 32 << 10));
	EXPECT_EQ((size_t)32 << 10, check(buf, 32 << 10, 41));
	close(p[0]);
	close(p[1]);
	munmap(dm, len);
	close(dfd);
	EXPECT_EQ(0, ksa_free(self->fd, off));
	free(buf);
}

/* fork shares the dma-buf's mapping; mremap moves it but cannot grow it */
TEST_F(map, dmabuf_mapping_fork_and_mremap)
{
	const size_t len = self->info.frame_stride;
	unsigned char *dm, *moved;
	int dfd, status;
	__u64 off;
	pid_t pid;
	void *p;

	ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &off));
	dfd = kst_frame_export(self->fd, off);
	ASSERT_LE(0, dfd);
	dm = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, dm);
	fill(dm, len, 43);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (check(dm, len, 43) != len)
			_exit(10);
		fill(dm, len, 47);
		/* The child's copy of the mapping faults back after DONTNEED */
		if (madvise(dm, len, MADV_DONTNEED) || check(dm, len, 47) != len)
			_exit(11);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(len, check(dm, len, 47));
	EXPECT_EQ(len, check(self->map + off, len, 47));

	moved = move_mapping(_metadata, dm, len, self->page, 47);
	ASSERT_NE(MAP_FAILED, moved);
	fill(moved, len, 53);
	EXPECT_EQ(len, check(self->map + off, len, 53));
	/* The moved mapping holds the dma-buf: the frame stays exported */
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, ksa_free(self->fd, off));
	EXPECT_EQ(1, ksa_allocated(self->fd));
	p = mremap(moved, len, len - self->page, 0);
	ASSERT_EQ(moved, p);
	EXPECT_EQ(0, munmap(moved, len - self->page));
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

/*
 * A frame of 1 MiB, 64 KiB and 4 KiB chunks: after MADV_DONTNEED every
 * page of the allocator's and the dma-buf's mapping faults back as the
 * same page frame, across the chunk boundaries of every order.
 */
TEST_F(map, fault_back_every_chunk)
{
	const __u32 size = (1 << 20) + 3 * (64 << 10) + 5 * 4096;
	struct ksalloc_allocator_info info;
	unsigned long long *pfn;
	unsigned char *map, *dm;
	size_t i, n, bad = 0;
	int fd, dfd;
	__u64 off;

	fd = ksa_create(self->pin, 2, size, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ksa_info(fd, &info));
	n = info.mmap_size / self->page;
	map = mmap(NULL, info.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	pfn = calloc(n, sizeof(*pfn));
	ASSERT_NE(NULL, pfn);
	fill(map, info.mmap_size, 59);
	for (i = 0; i < n; i++) {
		pfn[i] = kst_pfn_of(map + i * self->page);
		ASSERT_NE(0, pfn[i]) TH_LOG("no pfn from /proc/self/pagemap");
	}
	ASSERT_EQ(0, madvise(map, info.mmap_size, MADV_DONTNEED));
	/* Backwards, so no fault finds its neighbour already in place */
	for (i = n; i-- > 0;)
		if (map[i * self->page] != (unsigned char)(i * self->page * 31 + 59) ||
		    kst_pfn_of(map + i * self->page) != pfn[i])
			bad++;
	EXPECT_EQ(0, bad);
	EXPECT_EQ(info.mmap_size, check(map, info.mmap_size, 59));

	/* The second frame's dma-buf: the same pages, also when faulted */
	ASSERT_EQ(0, ksa_alloc(fd, &off));
	ASSERT_EQ(0, ksa_alloc(fd, &off));
	ASSERT_EQ(info.frame_stride, off);
	dfd = kst_frame_export(fd, off);
	ASSERT_LE(0, dfd);
	dm = mmap(NULL, info.frame_stride, PROT_READ, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, dm);
	ASSERT_EQ(0, madvise(dm, info.frame_stride, MADV_DONTNEED));
	bad = 0;
	for (i = info.frame_stride / self->page; i-- > 0;)
		if (dm[i * self->page] != map[off + i * self->page] ||
		    kst_pfn_of(dm + i * self->page) !=
		    pfn[off / self->page + i])
			bad++;
	EXPECT_EQ(0, bad);
	munmap(dm, info.frame_stride);
	close(dfd);
	free(pfn);
	munmap(map, info.mmap_size);
	close(fd);
}

TEST_HARNESS_MAIN
