// SPDX-License-Identifier: GPL-2.0
/*
 * Frames of a stream allocator: KSMETHOD_STREAMALLOCATOR_ALLOC and _FREE,
 * the mmap space the offsets they exchange refer to, the byte caps frames
 * are charged to, and a two-process stream through a small pool.
 *
 * ALLOC returns the offset of a frame in the allocator fd's mmap space
 * (frame i at i * frame_stride); FREE takes such an offset back. Anything
 * that is not the offset of an allocated frame of this allocator is
 * refused with EINVAL and changes nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "frames_lib.h"
#include "ksa_test.h"
#include "kselftest_harness.h"

#define NFRAMES		4

FIXTURE(frames)
{
	int pin;
	int fd;				/* NFRAMES frames of one page, blocking */
	struct ksalloc_allocator_info info;
	long page;
};

FIXTURE_SETUP(frames)
{
	self->fd = -1;
	self->page = ksa_page_size();
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin) {
		TH_LOG("open %s: %s (is the module loaded?)", KSA_DEV,
		       strerror(-self->pin));
	}
	self->fd = ksa_create(self->pin, NFRAMES, self->page, 0);
	ASSERT_LE(0, self->fd) {
		TH_LOG("create allocator: %s", strerror(-self->fd));
	}
	ASSERT_EQ(0, ksa_info(self->fd, &self->info));
	ASSERT_EQ(NFRAMES, self->info.frames);
	ASSERT_EQ(self->page, self->info.frame_stride);
	ASSERT_EQ((__u64)NFRAMES * self->page, self->info.mmap_size);
}

FIXTURE_TEARDOWN(frames)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->pin >= 0)
		close(self->pin);
}

static int in_list(const __u64 *v, int n, __u64 x)
{
	int i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

/* Offsets are distinct frame starts; STATUS and INFO count them. */
TEST_F(frames, alloc_offsets_and_counts)
{
	struct ksalloc_allocator_info info;
	__u64 off[NFRAMES];
	int i;

	ASSERT_EQ(0, ksa_allocated(self->fd));
	for (i = 0; i < NFRAMES; i++) {
		ASSERT_EQ(0, ksa_alloc(self->fd, &off[i]));
		EXPECT_EQ(0, off[i] % self->info.frame_stride);
		EXPECT_LT(off[i], self->info.mmap_size);
		EXPECT_FALSE(in_list(off, i, off[i])) {
			TH_LOG("offset %llu handed out twice",
			       (unsigned long long)off[i]);
		}
		EXPECT_EQ(i + 1, ksa_allocated(self->fd));
	}
	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(NFRAMES, info.allocated_frames);
	EXPECT_EQ(NFRAMES, info.high_water);
	EXPECT_EQ(0, info.waiters);

	for (i = 0; i < NFRAMES; i++) {
		ASSERT_EQ(0, ksa_free(self->fd, off[i]));
		EXPECT_EQ(NFRAMES - 1 - i, ksa_allocated(self->fd));
	}
	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(0, info.allocated_frames);
	EXPECT_EQ(NFRAMES, info.high_water);	/* a peak, not a level */
}

/* Clients put either KSMETHOD_TYPE_SEND or _WRITE into an ALLOC request. */
TEST_F(frames, alloc_send_and_write_types)
{
	__u64 a = ~0ULL, b = ~0ULL;

	ASSERT_EQ(0, ksa_alloc_flags(self->fd, KSMETHOD_TYPE_SEND, &a));
	ASSERT_EQ(0, ksa_alloc_flags(self->fd, KSMETHOD_TYPE_WRITE, &b));
	EXPECT_NE(a, b);
	EXPECT_EQ(0, a % self->info.frame_stride);
	EXPECT_EQ(0, b % self->info.frame_stride);
	EXPECT_EQ(2, ksa_allocated(self->fd));
	EXPECT_EQ(0, ksa_free(self->fd, a));
	EXPECT_EQ(0, ksa_free(self->fd, b));
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

/* A frame freed can be allocated again; the pool never runs dry. */
TEST_F(frames, alloc_free_cycles)
{
	__u64 off;
	int i;

	for (i = 0; i < 1000; i++) {
		ASSERT_EQ(0, ksa_alloc(self->fd, &off));
		ASSERT_EQ(0, ksa_free(self->fd, off));
	}
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

static void exhaust(struct __test_metadata *_metadata, int fd, __u64 *off,
		    int n)
{
	int i;

	for (i = 0; i < n; i++)
		ASSERT_EQ(0, ksa_alloc(fd, &off[i]));
}

/* O_NONBLOCK given at creation: an empty pool answers EAGAIN. */
TEST_F(frames, nonblock_at_create_eagain)
{
	__u64 off[NFRAMES], extra = 12345;
	int fd;

	fd = ksa_create(self->pin, NFRAMES, self->page, O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	exhaust(_metadata, fd, off, NFRAMES);
	EXPECT_EQ(-EAGAIN, ksa_alloc(fd, &extra));
	EXPECT_EQ(12345, extra);	/* nothing written on failure */
	EXPECT_EQ(NFRAMES, ksa_allocated(fd));

	/* One frame back makes exactly one ALLOC succeed again. */
	ASSERT_EQ(0, ksa_free(fd, off[1]));
	ASSERT_EQ(0, ksa_alloc(fd, &extra));
	EXPECT_EQ(off[1], extra);
	EXPECT_EQ(-EAGAIN, ksa_alloc(fd, &extra));
	close(fd);
}

/* O_NONBLOCK set later with fcntl is honoured too (it is read per call). */
TEST_F(frames, nonblock_by_fcntl_eagain)
{
	__u64 off[NFRAMES], extra;
	int fl;

	fl = fcntl(self->fd, F_GETFL);
	ASSERT_LE(0, fl);
	ASSERT_EQ(0, fl & O_NONBLOCK);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, fl | O_NONBLOCK));
	exhaust(_metadata, self->fd, off, NFRAMES);
	EXPECT_EQ(-EAGAIN, ksa_alloc(self->fd, &extra));
	EXPECT_EQ(-EAGAIN, ksa_alloc_flags(self->fd, KSMETHOD_TYPE_WRITE, &extra));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	EXPECT_EQ(0, ksa_waiters(self->fd));
}

/* The non-blocking flag lives in the open file: a dup shares it. */
TEST_F(frames, nonblock_shared_by_dup)
{
	__u64 off[NFRAMES], extra;
	int fd2, fl;

	fd2 = dup(self->fd);
	ASSERT_LE(0, fd2);
	fl = fcntl(fd2, F_GETFL);
	ASSERT_EQ(0, fcntl(fd2, F_SETFL, fl | O_NONBLOCK));
	exhaust(_metadata, self->fd, off, NFRAMES);
	EXPECT_EQ(-EAGAIN, ksa_alloc(self->fd, &extra));
	close(fd2);
}

/* A second FREE of the same frame is refused and changes nothing. */
TEST_F(frames, double_free_einval)
{
	struct ksalloc_allocator_info before, after;
	__u64 a, b, c;

	ASSERT_EQ(0, ksa_alloc(self->fd, &a));
	ASSERT_EQ(0, ksa_alloc(self->fd, &b));
	ASSERT_EQ(0, ksa_free(self->fd, a));
	ASSERT_EQ(0, ksa_info(self->fd, &before));

	EXPECT_EQ(-EINVAL, ksa_free(self->fd, a));
	EXPECT_EQ(-EINVAL, ksa_free(self->fd, a));
	ASSERT_EQ(0, ksa_info(self->fd, &after));
	EXPECT_EQ(1, ksa_allocated(self->fd));
	EXPECT_EQ(before.allocated_frames, after.allocated_frames);
	EXPECT_EQ(before.high_water, after.high_water);

	/* The free list was not corrupted: exactly 3 more frames, distinct. */
	ASSERT_EQ(0, ksa_alloc(self->fd, &a));
	ASSERT_EQ(0, ksa_alloc(self->fd, &c));
	EXPECT_NE(a, b);
	EXPECT_NE(c, b);
	EXPECT_NE(a, c);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, ksa_alloc(self->fd, &c));
	EXPECT_EQ(-EAGAIN, ksa_alloc(self->fd, &c));
}

/* Offsets that are not an allocated frame of this allocator: EINVAL. */
TEST_F(frames, free_foreign_offsets_einval)
{
	__u64 stride = self->info.frame_stride, size = self->info.mmap_size;
	__u64 mine, other_off[2 * NFRAMES];
	const __u64 bad[] = {
		1, stride / 2, stride - 1, stride + 8, size - 1,	/* not a frame start */
		size, size + stride, 1ULL << 40,			/* past the end */
		(__u64)stride << 32, ~0ULL, ~0ULL - stride + 1,
	};
	int other, i, n = 0;

	ASSERT_EQ(0, ksa_alloc(self->fd, &mine));
	for (i = 0; i < (int)ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, ksa_free(self->fd, bad[i])) {
			TH_LOG("FREE of offset %#llx", (unsigned long long)bad[i]);
		}
	}

	/* Frames of a larger allocator that lie beyond this one's end */
	other = ksa_create(self->pin, 2 * NFRAMES, self->page, 0);
	ASSERT_LE(0, other);
	for (i = 0; i < 2 * NFRAMES; i++)
		ASSERT_EQ(0, ksa_alloc(other, &other_off[i]));
	for (i = 0; i < 2 * NFRAMES; i++) {
		if (other_off[i] < size)
			continue;
		n++;
		EXPECT_EQ(-EINVAL, ksa_free(self->fd, other_off[i]));
	}
	EXPECT_EQ(NFRAMES, n);
	/* ...and the other allocator still owns them all. */
	EXPECT_EQ(2 * NFRAMES, ksa_allocated(other));

	/* A free frame of this allocator (in range, not allocated) */
	for (i = 0; i < NFRAMES; i++) {
		if ((__u64)i * stride == mine)
			continue;
		EXPECT_EQ(-EINVAL, ksa_free(self->fd, (__u64)i * stride));
	}
	EXPECT_EQ(1, ksa_allocated(self->fd));
	EXPECT_EQ(0, ksa_free(self->fd, mine));
	EXPECT_EQ(0, ksa_allocated(self->fd));
	close(other);
}

/* FREE reads the offset from the value buffer: no full value, no FREE. */
TEST_F(frames, free_short_or_bad_buffer)
{
	struct ksidentifier m = ksa_ident(&ksa_g_allocmethods,
					  KSMETHOD_STREAMALLOCATOR_FREE,
					  KSMETHOD_TYPE_READ);
	__u64 off;
	void *ro;

	ASSERT_EQ(0, ksa_alloc(self->fd, &off));
	EXPECT_EQ(-EINVAL, ksa_ioctl(self->fd, IOCTL_KS_METHOD, &m, sizeof(m),
				     &off, 4, 0, NULL));
	EXPECT_EQ(-EFAULT, ksa_ioctl(self->fd, IOCTL_KS_METHOD, &m, sizeof(m),
				     (void *)8, sizeof(off), 0, NULL));
	/* An unmapped page */
	ro = mmap(NULL, self->page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, ksa_ioctl(self->fd, IOCTL_KS_METHOD, &m, sizeof(m),
				     ro, sizeof(off), 0, NULL));
	munmap(ro, self->page);
	EXPECT_EQ(1, ksa_allocated(self->fd));
	EXPECT_EQ(0, ksa_free(self->fd, off));
}

/* ALLOC's size query (no room for the value) takes no frame. */
TEST_F(frames, alloc_size_query_takes_nothing)
{
	struct ksidentifier m = ksa_ident(&ksa_g_allocmethods,
					  KSMETHOD_STREAMALLOCATOR_ALLOC,
					  KSMETHOD_TYPE_SEND);
	__u32 returned = 0;
	__u64 off;
	int i;

	for (i = 0; i < 2 * NFRAMES; i++) {
		EXPECT_EQ(-EOVERFLOW, ksa_ioctl(self->fd, IOCTL_KS_METHOD, &m,
						sizeof(m), NULL, 0, 0, &returned));
		EXPECT_EQ(sizeof(__u64), returned);
		EXPECT_EQ(-EOVERFLOW, ksa_ioctl(self->fd, IOCTL_KS_METHOD, &m,
						sizeof(m), &off, 4, 0, &returned));
	}
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

/*
 * An ALLOC whose offset cannot be written back fails with EFAULT; the
 * caller never learns which frame it was, so none may stay allocated.
 */
TEST_F(frames, alloc_efault_loses_no_frame)
{
	struct ksidentifier m = ksa_ident(&ksa_g_allocmethods,
					  KSMETHOD_STREAMALLOCATOR_ALLOC,
					  KSMETHOD_TYPE_SEND);
	struct ksalloc_allocator_info info;
	void *ro;
	int ret;

	ro = mmap(NULL, self->page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ret = ksa_ioctl(self->fd, IOCTL_KS_METHOD, &m, sizeof(m), ro,
			sizeof(__u64), 0, NULL);
	munmap(ro, self->page);
	EXPECT_EQ(-EFAULT, ret);
	EXPECT_EQ(0, ksa_allocated(self->fd)) {
		TH_LOG("KERNEL BUG: an ALLOC that failed with EFAULT left its frame");
		TH_LOG("allocated; nobody knows its offset, so it is lost until the allocator is closed");
	}
	/* Nor a peak of frames in use: the take never happened for the caller */
	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(0, info.high_water);
}

/* Frames read zero when first handed out, in every allocator. */
TEST_F(frames, frames_zeroed_first_handout)
{
	const __u32 nframes = 8, fsize = 4 * self->page;
	struct ksalloc_allocator_info info;
	__u64 off[8], j;
	int round, fd, i;
	unsigned char *map;

	/*
	 * Fill every frame of an allocator and close it, then create one of
	 * the same geometry: it is likely to get the same pages back, and
	 * must not show what the first one held.
	 */
	for (round = 0; round < 3; round++) {
		fd = ksa_create(self->pin, nframes, fsize, 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ksa_info(fd, &info));
		map = mmap(NULL, info.mmap_size, PROT_READ | PROT_WRITE,
			   MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, map);
		for (i = 0; i < (int)nframes; i++) {
			ASSERT_EQ(0, ksa_alloc(fd, &off[i]));
			for (j = 0; j < info.frame_stride; j++)
				if (map[off[i] + j])
					break;
			EXPECT_EQ(info.frame_stride, j) {
				TH_LOG("round %d: frame at %#llx, first hand-out: byte %#x at %llu",
				       round, (unsigned long long)off[i],
				       map[off[i] + j], (unsigned long long)j);
			}
			memset(map + off[i], 0xA5 + round, info.frame_stride);
		}
		/* Free and re-alloc: the same allocator may keep the contents. */
		ASSERT_EQ(0, ksa_free(fd, off[0]));
		ASSERT_EQ(0, ksa_alloc(fd, &off[0]));
		EXPECT_EQ(0, munmap(map, info.mmap_size));
		EXPECT_EQ(0, close(fd));
	}
}

static void *map_whole(int fd, const struct ksalloc_allocator_info *info)
{
	return mmap(NULL, info->mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    fd, 0);
}

TEST_F(frames, mmap_whole_shared)
{
	unsigned char *map;
	__u64 off;
	int i;

	map = map_whole(self->fd, &self->info);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < NFRAMES; i++) {
		ASSERT_EQ(0, ksa_alloc(self->fd, &off));
		memset(map + off, i + 1, self->info.frame_stride);
	}
	/* Each frame is its own memory: no write spilled into another. */
	for (i = 0; i < NFRAMES; i++) {
		unsigned char *f = map + (__u64)i * self->info.frame_stride;
		unsigned char v = f[0];
		__u64 j;

		EXPECT_NE(0, v);
		for (j = 1; j < self->info.frame_stride; j++)
			if (f[j] != v)
				break;
		EXPECT_EQ(self->info.frame_stride, j);
	}
	EXPECT_EQ(0, munmap(map, self->info.mmap_size));
}

/* A mapping at offset 2 * stride is frame 2, and only frame 2. */
TEST_F(frames, mmap_one_frame_by_offset)
{
	__u64 stride = self->info.frame_stride;
	unsigned char *whole, *f2;

	whole = map_whole(self->fd, &self->info);
	ASSERT_NE(MAP_FAILED, whole);
	f2 = mmap(NULL, stride, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		  2 * stride);
	ASSERT_NE(MAP_FAILED, f2);

	memset(whole, 0x11, self->info.mmap_size);
	memset(f2, 0x22, stride);
	EXPECT_EQ(0x11, whole[2 * stride - 1]);
	EXPECT_EQ(0x22, whole[2 * stride]);
	EXPECT_EQ(0x22, whole[3 * stride - 1]);
	EXPECT_EQ(0x11, whole[3 * stride]);
	whole[2 * stride + 7] = 0x33;
	EXPECT_EQ(0x33, f2[7]);

	EXPECT_EQ(0, munmap(f2, stride));
	EXPECT_EQ(0, munmap(whole, self->info.mmap_size));
}

/* Page-granular mappings inside and across multi-page frames */
TEST_F(frames, mmap_pages_of_multipage_frames)
{
	const long page = self->page;
	struct ksalloc_allocator_info info;
	unsigned char *whole, *p, *span;
	__u64 stride;
	int fd;

	fd = ksa_create(self->pin, 3, 4 * page, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ksa_info(fd, &info));
	stride = info.frame_stride;
	ASSERT_EQ(4 * page, stride);
	whole = map_whole(fd, &info);
	ASSERT_NE(MAP_FAILED, whole);
	memset(whole, 0, info.mmap_size);

	/* Page 2 of frame 1 */
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 stride + 2 * page);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x5A, page);
	EXPECT_EQ(0, whole[stride + 2 * page - 1]);
	EXPECT_EQ(0x5A, whole[stride + 2 * page]);
	EXPECT_EQ(0x5A, whole[stride + 3 * page - 1]);
	EXPECT_EQ(0, whole[stride + 3 * page]);

	/* The last page of frame 0 and the first two of frame 1 */
	span = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    stride - page);
	ASSERT_NE(MAP_FAILED, span);
	span[0] = 1;
	span[page] = 2;
	span[3 * page - 1] = 3;
	EXPECT_EQ(1, whole[stride - page]);
	EXPECT_EQ(2, whole[stride]);
	EXPECT_EQ(3, whole[stride + 2 * page - 1]);

	EXPECT_EQ(0, munmap(span, 3 * page));
	EXPECT_EQ(0, munmap(p, page));
	EXPECT_EQ(0, munmap(whole, info.mmap_size));
	close(fd);
}

/* Frames are shared with the device: a private copy makes no sense. */
TEST_F(frames, mmap_private_einval)
{
	void *p;

	p = mmap(NULL, self->info.mmap_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	if (p != MAP_FAILED)
		munmap(p, self->info.mmap_size);

	p = mmap(NULL, self->page, PROT_READ, MAP_PRIVATE, self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	if (p != MAP_FAILED)
		munmap(p, self->page);
}

TEST_F(frames, mmap_bounds_einval)
{
	const __u64 size = self->info.mmap_size;
	const long page = self->page;
	const struct {
		size_t len;
		off_t off;
	} bad[] = {
		{ page, size },				/* offset at the end */
		{ page, size + 16 * page },		/* offset beyond the end */
		{ size + page, 0 },			/* length beyond the end */
		{ 2 * page, size - page },		/* offset + length beyond */
		{ 1UL << 36, page },			/* huge length */
		{ page, 0x7ffffffffffff000LL },		/* largest offset */
		{ 2 * page, 0x7fffffffffffe000LL },
	};
	void *p;
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(bad); i++) {
		errno = 0;
		p = mmap(NULL, bad[i].len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->fd, bad[i].off);
		EXPECT_EQ(MAP_FAILED, p);
		EXPECT_EQ(EINVAL, errno) {
			TH_LOG("len %#zx off %#llx: %s", bad[i].len,
			       (unsigned long long)bad[i].off, strerror(errno));
		}
		if (p != MAP_FAILED)
			munmap(p, bad[i].len);
	}

	/* The exact end is fine. */
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, self->fd,
		 size - page);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, munmap(p, page));
}

/*
 * A process that never had the allocator gets its fd over a socket, maps
 * it and allocates a frame: what it writes is what the creator's mapping
 * shows, and the reverse.
 */
TEST_F(frames, mmap_shared_with_other_process)
{
	__u64 stride = self->info.frame_stride, off;
	unsigned char *map;
	int sv[2], status;
	char c;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	map = map_whole(self->fd, &self->info);
	ASSERT_NE(MAP_FAILED, map);
	memset(map, 0, self->info.mmap_size);

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Drop every inherited allocator fd: only the passed one counts. */
		unsigned char *m;
		__u64 o;
		int fd, i;

		close(self->fd);
		close(sv[0]);
		fd = kst_recv_fd(sv[1]);
		if (fd < 0)
			_exit(10);
		m = mmap(NULL, self->info.mmap_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			_exit(11);
		if (ksa_alloc(fd, &o))
			_exit(12);
		for (i = 0; i < (int)stride; i++)
			m[o + i] = (unsigned char)(i * 7 + 1);
		if (write(sv[1], &o, sizeof(o)) != sizeof(o))
			_exit(13);
		/* Wait for the parent's answer, written into frame 0 + o */
		if (read(sv[1], &c, 1) != 1)
			_exit(14);
		if (m[o] != 0xEE || m[o + stride - 1] != 0xEF)
			_exit(15);
		_exit(0);
	}
	close(sv[1]);
	ASSERT_EQ(0, kst_send_fd(sv[0], self->fd));
	ASSERT_EQ(sizeof(off), read(sv[0], &off, sizeof(off)));
	ASSERT_LT(off, self->info.mmap_size);
	EXPECT_EQ(1, ksa_allocated(self->fd));
	for (c = 0; c < 3; c++)
		EXPECT_EQ((unsigned char)(c * 7 + 1), map[off + c]);
	EXPECT_EQ((unsigned char)((stride - 1) * 7 + 1), map[off + stride - 1]);
	map[off] = 0xEE;
	map[off + stride - 1] = 0xEF;
	ASSERT_EQ(1, write(sv[0], "k", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The child's frame is still allocated; anyone with the fd may free it. */
	EXPECT_EQ(0, ksa_free(self->fd, off));
	EXPECT_EQ(0, munmap(map, self->info.mmap_size));
	close(sv[0]);
}

/* A mapping holds the allocator: its memory outlives every fd. */
TEST_F(frames, mapping_outlives_fds)
{
	long long total0, count0;
	unsigned char *map;
	__u64 off, i;

	ASSERT_EQ(0, ksa_alloc(self->fd, &off));
	map = map_whole(self->fd, &self->info);
	ASSERT_NE(MAP_FAILED, map);
	for (i = 0; i < self->info.frame_stride; i++)
		map[off + i] = (unsigned char)i;

	total0 = ksa_read_ll(KSA_SYSFS_DIR "total_bytes");
	count0 = ksa_read_ll(KSA_SYSFS_DIR "allocators");
	ASSERT_LE(0, total0);
	ASSERT_LE(1, count0);

	/* No fd left: not the allocator's, not the pin's. */
	EXPECT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(0, close(self->pin));
	self->pin = -1;

	EXPECT_EQ(total0, ksa_read_ll(KSA_SYSFS_DIR "total_bytes"));
	EXPECT_EQ(count0, ksa_read_ll(KSA_SYSFS_DIR "allocators"));
	for (i = 0; i < self->info.frame_stride; i++)
		if (map[off + i] != (unsigned char)i)
			break;
	EXPECT_EQ(self->info.frame_stride, i);
	memset(map, 0x77, self->info.mmap_size);
	EXPECT_EQ(0x77, map[self->info.mmap_size - 1]);

	/* The last reference is the mapping: unmapping frees the frames. */
	EXPECT_EQ(0, munmap(map, self->info.mmap_size));
	EXPECT_EQ(total0 - (long long)self->info.bytes_held,
		  ksa_read_ll(KSA_SYSFS_DIR "total_bytes"));
	EXPECT_EQ(count0 - 1, ksa_read_ll(KSA_SYSFS_DIR "allocators"));
}

/* The same holds when the mapping lives in a child the parent outlives. */
TEST_F(frames, mapping_in_child_outlives_parent_fds)
{
	int p2c[2], c2p[2], status;
	long long total0;
	pid_t pid;
	char c;

	total0 = ksa_read_ll(KSA_SYSFS_DIR "total_bytes");
	ASSERT_EQ(0, pipe2(p2c, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(c2p, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		unsigned char *m;

		m = mmap(NULL, self->info.mmap_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
		if (m == MAP_FAILED)
			_exit(10);
		close(self->fd);
		close(self->pin);
		memset(m, 0x42, self->info.mmap_size);
		if (write(c2p[1], "m", 1) != 1)
			_exit(11);
		/* The parent closes its fds now. */
		if (read(p2c[0], &c, 1) != 1)
			_exit(12);
		if (m[0] != 0x42 || m[self->info.mmap_size - 1] != 0x42)
			_exit(13);
		_exit(0);
	}
	ASSERT_EQ(1, read(c2p[0], &c, 1));
	close(self->fd);
	self->fd = -1;
	EXPECT_EQ(total0, ksa_read_ll(KSA_SYSFS_DIR "total_bytes"));
	ASSERT_EQ(1, write(p2c[1], "c", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(total0 - (long long)self->info.bytes_held,
		  ksa_read_ll(KSA_SYSFS_DIR "total_bytes"));
	close(p2c[0]);
	close(p2c[1]);
	close(c2p[0]);
	close(c2p[1]);
}

/* total_bytes follows what allocators hold: created, closed, per size. */
TEST_F(frames, total_bytes_tracks_allocators)
{
	const long page = self->page;
	const struct {
		__u32 frames, size;
	} geo[] = {
		{ 1, 1 },
		{ 4, page },
		{ 3, page + 1 },		/* rounded up to 2 pages */
		{ 5, 8 * page },
		{ 2, 3 * page },		/* 3 pages, not 4 */
	};
	const int n = ARRAY_SIZE(geo);
	struct ksalloc_allocator_info info;
	long long total0, count0, sum = 0;
	int fds[5], i;

	total0 = ksa_read_ll(KSA_SYSFS_DIR "total_bytes");
	count0 = ksa_read_ll(KSA_SYSFS_DIR "allocators");
	ASSERT_LE(0, total0);
	ASSERT_LE(0, count0);
	for (i = 0; i < n; i++) {
		fds[i] = ksa_create(self->pin, geo[i].frames, geo[i].size, 0);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, ksa_info(fds[i], &info));
		EXPECT_EQ(geo[i].size, info.frame_size);
		EXPECT_EQ((geo[i].size + page - 1) / page * page,
			  info.frame_stride);
		EXPECT_EQ((__u64)geo[i].frames * info.frame_stride,
			  info.mmap_size);
		/* Exactly the pages: no power-of-two rounding */
		EXPECT_EQ((__u64)geo[i].frames * info.frame_stride,
			  info.bytes_held);
		sum += info.bytes_held;
		EXPECT_EQ(total0 + sum, ksa_read_ll(KSA_SYSFS_DIR "total_bytes"));
		EXPECT_EQ(count0 + i + 1, ksa_read_ll(KSA_SYSFS_DIR "allocators"));
	}
	for (i = n - 1; i >= 0; i--) {
		ASSERT_EQ(0, ksa_info(fds[i], &info));
		EXPECT_EQ(0, close(fds[i]));
		sum -= info.bytes_held;
		EXPECT_EQ(total0 + sum, ksa_read_ll(KSA_SYSFS_DIR "total_bytes"));
		EXPECT_EQ(count0 + i, ksa_read_ll(KSA_SYSFS_DIR "allocators"));
	}
}

/* max_total_bytes, with the original value restored whatever happens */
FIXTURE(caps)
{
	int pin;
	long long saved;
	long page;
};

#define MAX_TOTAL_BYTES	KSA_PARAM_DIR "max_total_bytes"

FIXTURE_SETUP(caps)
{
	self->saved = -1;
	self->page = ksa_page_size();
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin);
	self->saved = ksa_read_ll(MAX_TOTAL_BYTES);
	ASSERT_LT(0, self->saved) {
		TH_LOG("cannot read %s", MAX_TOTAL_BYTES);
	}
}

FIXTURE_TEARDOWN(caps)
{
	if (self->saved > 0 && ksa_write_ll(MAX_TOTAL_BYTES, self->saved))
		TH_LOG("could not restore %s to %lld", MAX_TOTAL_BYTES,
		       self->saved);
	if (self->pin >= 0)
		close(self->pin);
}

TEST_F(caps, max_total_bytes_refuses_second_allocator)
{
	const __u32 frames = 4, fsize = 16 * self->page;
	const long long bytes = (long long)frames * fsize;
	long long total0, count0;
	int a, b;

	total0 = ksa_read_ll(KSA_SYSFS_DIR "total_bytes");
	count0 = ksa_read_ll(KSA_SYSFS_DIR "allocators");
	ASSERT_LE(0, total0);
	/* Room for one allocator and a half */
	ASSERT_EQ(0, ksa_write_ll(MAX_TOTAL_BYTES, total0 + bytes + bytes / 2));

	a = ksa_create(self->pin, frames, fsize, 0);
	ASSERT_LE(0, a);
	EXPECT_EQ(total0 + bytes, ksa_read_ll(KSA_SYSFS_DIR "total_bytes"));

	b = ksa_create(self->pin, frames, fsize, 0);
	EXPECT_EQ(-ENOMEM, b);
	if (b >= 0)
		close(b);
	/* The refused creation left no trace. */
	EXPECT_EQ(total0 + bytes, ksa_read_ll(KSA_SYSFS_DIR "total_bytes"));
	EXPECT_EQ(count0 + 1, ksa_read_ll(KSA_SYSFS_DIR "allocators"));
	/* What is left of the cap still fits a smaller one. */
	b = ksa_create(self->pin, 1, fsize, 0);
	EXPECT_LE(0, b);
	if (b >= 0)
		close(b);

	EXPECT_EQ(0, close(a));
	EXPECT_EQ(total0, ksa_read_ll(KSA_SYSFS_DIR "total_bytes"));
	b = ksa_create(self->pin, frames, fsize, 0);
	ASSERT_LE(0, b) {
		TH_LOG("after closing the first allocator: %s", strerror(-b));
	}
	EXPECT_EQ(total0 + bytes, ksa_read_ll(KSA_SYSFS_DIR "total_bytes"));
	EXPECT_EQ(0, close(b));
}

/* The cap is inclusive: exactly the cap fits, one page more does not. */
TEST_F(caps, max_total_bytes_exact_fit)
{
	const long long bytes = 2 * self->page;
	long long total0;
	int a, b;

	total0 = ksa_read_ll(KSA_SYSFS_DIR "total_bytes");
	ASSERT_LE(0, total0);
	ASSERT_EQ(0, ksa_write_ll(MAX_TOTAL_BYTES, total0 + bytes));
	a = ksa_create(self->pin, 2, self->page, 0);
	ASSERT_LE(0, a);
	b = ksa_create(self->pin, 1, 1, 0);
	EXPECT_EQ(-ENOMEM, b);
	if (b >= 0)
		close(b);
	EXPECT_EQ(0, close(a));
}

/* A mapping keeps the bytes charged: the cap still counts them. */
TEST_F(caps, mapping_keeps_bytes_charged)
{
	const long long bytes = 4 * self->page;
	long long total0;
	void *map;
	int a, b;

	total0 = ksa_read_ll(KSA_SYSFS_DIR "total_bytes");
	ASSERT_LE(0, total0);
	ASSERT_EQ(0, ksa_write_ll(MAX_TOTAL_BYTES, total0 + bytes));
	a = ksa_create(self->pin, 4, self->page, 0);
	ASSERT_LE(0, a);
	map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(0, close(a));

	b = ksa_create(self->pin, 4, self->page, 0);
	EXPECT_EQ(-ENOMEM, b);
	if (b >= 0)
		close(b);
	EXPECT_EQ(0, munmap(map, bytes));
	b = ksa_create(self->pin, 4, self->page, 0);
	EXPECT_LE(0, b);
	if (b >= 0)
		close(b);
}

/*
 * Streaming: a producer and a consumer process share one allocator of
 * STREAM_FRAMES frames. The producer ALLOCs (blocking), writes a header
 * and a payload derived from the sequence number, and passes the offset
 * over a pipe; the consumer checks sequence and checksum and FREEs.
 */
#define STREAM_COUNT	10000
#define STREAM_FRAMES	4

struct frame_hdr {
	__u64 seq;
	__u32 len;
	__u32 sum;
};

struct stream_result {
	__u64 sent, received, bad_seq, bad_sum, bad_offset, alloc_err, free_err;
	__u64 first_bad_seq;
};

static __u32 fnv1a(const unsigned char *p, __u32 len)
{
	__u32 h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static void fill_payload(unsigned char *p, __u32 len, __u64 seq)
{
	__u32 x = (__u32)seq * 2654435761u + 1;
	__u32 i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

static void producer(int fd, int out, unsigned char *map, __u32 room,
		     __u64 mmap_size, struct stream_result *r)
{
	__u64 seq, off;

	for (seq = 0; seq < STREAM_COUNT; seq++) {
		struct frame_hdr *h;

		if (ksa_alloc(fd, &off) || off >= mmap_size) {
			r->alloc_err++;
			break;
		}
		h = (struct frame_hdr *)(map + off);
		h->seq = seq;
		h->len = 1 + (seq * 37) % (room - sizeof(*h));
		fill_payload((unsigned char *)(h + 1), h->len, seq);
		h->sum = fnv1a((unsigned char *)(h + 1), h->len);
		if (write(out, &off, sizeof(off)) != sizeof(off))
			break;
		r->sent++;
	}
}

static void consumer(int fd, int in, unsigned char *map, __u32 room,
		     __u64 mmap_size, __u64 stride, struct stream_result *r)
{
	unsigned char expect[4096];
	__u64 off, next = 0;

	while (read(in, &off, sizeof(off)) == sizeof(off)) {
		struct frame_hdr *h = (struct frame_hdr *)(map + off);

		if (off >= mmap_size || off % stride) {
			r->bad_offset++;
			continue;
		}
		r->received++;
		if (h->seq != next) {
			if (!r->bad_seq)
				r->first_bad_seq = h->seq;
			r->bad_seq++;
		}
		next = h->seq + 1;
		if (h->len > room - sizeof(*h) ||
		    h->sum != fnv1a((unsigned char *)(h + 1), h->len)) {
			r->bad_sum++;
		} else {
			fill_payload(expect, h->len, h->seq);
			if (memcmp(expect, h + 1, h->len))
				r->bad_sum++;
		}
		/* Scribble over it: a stale frame handed out again shows. */
		h->seq = ~0ULL;
		if (ksa_free(fd, off))
			r->free_err++;
	}
}

TEST_F_TIMEOUT(frames, stream_two_processes, 240)
{
	struct ksalloc_allocator_info info;
	struct stream_result *res;
	pid_t prod, cons;
	int fd, p[2], st_p, st_c;
	unsigned char *map;
	cpu_set_t cpus;
	__u32 room;

	/*
	 * Both ends on one CPU: under emulation a cross-CPU wake-up costs
	 * milliseconds, which would make 10,000 hand-offs take minutes.
	 */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));

	fd = ksa_create(self->pin, STREAM_FRAMES, 4096, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ksa_info(fd, &info));
	room = info.frame_size;
	map = map_whole(fd, &info);
	ASSERT_NE(MAP_FAILED, map);
	res = mmap(NULL, 2 * sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	memset(res, 0, 2 * sizeof(*res));
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));

	cons = fork();
	ASSERT_LE(0, cons);
	if (cons == 0) {
		close(p[1]);
		consumer(fd, p[0], map, room, info.mmap_size,
			 info.frame_stride, &res[1]);
		_exit(0);
	}
	prod = fork();
	ASSERT_LE(0, prod);
	if (prod == 0) {
		close(p[0]);
		producer(fd, p[1], map, room, info.mmap_size, &res[0]);
		_exit(0);
	}
	close(p[0]);
	close(p[1]);
	ASSERT_EQ(prod, waitpid(prod, &st_p, 0));
	ASSERT_EQ(cons, waitpid(cons, &st_c, 0));
	EXPECT_TRUE(WIFEXITED(st_p) && !WEXITSTATUS(st_p));
	EXPECT_TRUE(WIFEXITED(st_c) && !WEXITSTATUS(st_c));

	TH_LOG("streamed %llu frames through %u frames of %u bytes (high water %u)",
	       (unsigned long long)res[1].received, STREAM_FRAMES, room,
	       (ksa_info(fd, &info), info.high_water));
	EXPECT_EQ(STREAM_COUNT, res[0].sent);
	EXPECT_EQ(0, res[0].alloc_err);
	EXPECT_EQ(STREAM_COUNT, res[1].received);
	EXPECT_EQ(0, res[1].bad_seq) {
		TH_LOG("first out-of-order sequence number %llu",
		       (unsigned long long)res[1].first_bad_seq);
	}
	EXPECT_EQ(0, res[1].bad_sum);
	EXPECT_EQ(0, res[1].bad_offset);
	EXPECT_EQ(0, res[1].free_err);

	ASSERT_EQ(0, ksa_info(fd, &info));
	EXPECT_EQ(0, info.allocated_frames);
	EXPECT_EQ(0, info.waiters);
	EXPECT_GE(STREAM_FRAMES, info.high_water);

	munmap(res, 2 * sizeof(*res));
	munmap(map, info.mmap_size);
	close(fd);
}

TEST_HARNESS_MAIN
