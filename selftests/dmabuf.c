// SPDX-License-Identifier: GPL-2.0
/*
 * Frames as dma-bufs, without importers: KSMETHODSETID_KsallocFrame and
 * IOCTL_KSALLOC_FRAME_ALLOC / _EXPORT.
 *
 *  - a dma-buf is PAGE_ALIGN(frame_size) bytes of the frame's memory: its
 *    mmap and the allocator's mmap show the same bytes, DMA_BUF_IOCTL_SYNC
 *    brackets CPU access, the name says which allocator and frame;
 *  - the frame lifetime rule: a frame returns to the pool (free list or
 *    the oldest waiter, with FREEFRAME) only when it was FREEd and its last
 *    dma-buf was released, in every order of FREE, dma-buf close and
 *    allocator close; STATUS and INFO count it as allocated until then;
 *  - the ALLOC-as-dma-buf variant: the dma-buf owns the frame (FREE and
 *    EXPORT are EBUSY), closing its last reference returns the frame,
 *    also when a process dies holding it;
 *  - fds passed by fork and SCM_RIGHTS;
 *  - every bad input of the new calls, with no side effect: unknown flags,
 *    reserved fields, fd flags, offsets, EFAULT, a full fd table.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "frames_lib.h"
#include "ksa_test.h"
#include "kselftest_harness.h"

#define NFRAMES		3

static const struct ksguid g_frame = KSMETHODSETID_KsallocFrame;

FIXTURE(db)
{
	int pin;
	int fd;			/* NFRAMES frames of 2 pages + 123 bytes */
	int efd;		/* FREEFRAME, counting */
	struct kseventdata ev;
	unsigned char *map;
	struct ksalloc_allocator_info info;
	long page;
	struct kst_counts base;
};

FIXTURE_SETUP(db)
{
	self->fd = self->efd = -1;
	self->map = MAP_FAILED;
	self->page = ksa_page_size();
	kst_read_counts(&self->base);
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin) TH_LOG("open %s: %s", KSA_DEV,
				       strerror(-self->pin));
	self->fd = ksa_create(self->pin, NFRAMES, 2 * self->page + 123, 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ksa_info(self->fd, &self->info));
	ASSERT_EQ(3 * self->page, self->info.frame_stride);
	self->map = mmap(NULL, self->info.mmap_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	self->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->efd);
	ksa_event_handle(&self->ev, self->efd);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE,
				      &self->ev));
}

FIXTURE_TEARDOWN(db)
{
	if (self->map != MAP_FAILED)
		munmap(self->map, self->info.mmap_size);
	if (self->fd >= 0)
		close(self->fd);
	if (self->efd >= 0)
		close(self->efd);
	if (self->pin >= 0)
		close(self->pin);
}

/* INFO.high_water, the most frames ever in use at once */
static long high_water(int fd)
{
	struct ksalloc_allocator_info info;

	if (ksa_info(fd, &info))
		return -1;
	return info.high_water;
}

/* The "name:" line of a dma-buf's fdinfo, in @buf */
static int dmabuf_name(int dfd, char *buf, size_t size)
{
	char path[64], line[256];
	FILE *f;
	int ret = -ENOENT;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", dfd);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "name:", 5)) {
			char *p = line + 5;

			while (*p == ' ' || *p == '\t')
				p++;
			p[strcspn(p, "\n")] = 0;
			snprintf(buf, size, "%s", p);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* ---- the buffer ---- */

TEST_F(db, export_is_the_frame)
{
	const __u64 stride = self->info.frame_stride;
	char name[300], want[128];
	unsigned char *dm;
	__u64 off;
	int dfd, i;

	ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &off));
	ASSERT_EQ(0, off % stride);
	dfd = kst_frame_export(self->fd, off);
	ASSERT_LE(0, dfd) TH_LOG("export: %s", strerror(-dfd));
	EXPECT_EQ(FD_CLOEXEC, fcntl(dfd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(dfd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ((long long)stride, kst_dmabuf_size(dfd));
	EXPECT_EQ(101, kst_frame_counts(self->fd));

	ASSERT_EQ(0, dmabuf_name(dfd, name, sizeof(name)));
	snprintf(want, sizeof(want), "ksalloc:%llu:%llu",
		 (unsigned long long)self->info.id,
		 (unsigned long long)(off / stride));
	EXPECT_STREQ(want, name);

	/* Its mmap and the allocator's are the same memory, both ways */
	dm = mmap(NULL, stride, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, dm);
	ASSERT_EQ(0, kst_dmabuf_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	for (i = 0; i < (int)stride; i++)
		dm[i] = (unsigned char)(i * 13 + 7);
	ASSERT_EQ(0, kst_dmabuf_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	for (i = 0; i < (int)stride; i++)
		if (self->map[off + i] != (unsigned char)(i * 13 + 7))
			break;
	EXPECT_EQ((int)stride, i);
	self->map[off + stride - 1] = 0x5c;
	EXPECT_EQ(0x5c, dm[stride - 1]);
	/* The neighbours are not part of it */
	if (off)
		EXPECT_EQ(0, self->map[off - 1]);
	/* A mapping of the second page only */
	EXPECT_EQ(0, munmap(dm, stride));
	dm = mmap(NULL, self->page, PROT_READ, MAP_SHARED, dfd, self->page);
	ASSERT_NE(MAP_FAILED, dm);
	EXPECT_EQ((unsigned char)(self->page * 13 + 7), dm[0]);
	EXPECT_EQ(0, munmap(dm, self->page));

	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, ksa_free(self->fd, off));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
}

TEST_F(db, mmap_and_sync_refusals)
{
	const __u64 stride = self->info.frame_stride;
	struct dma_buf_sync s;
	void *p;
	__u64 off;
	int dfd;

	ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &off));
	dfd = kst_frame_export(self->fd, off);
	ASSERT_LE(0, dfd);
	/* Frames are shared memory: no private copy */
	p = mmap(NULL, stride, PROT_READ | PROT_WRITE, MAP_PRIVATE, dfd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	/* Past the end */
	p = mmap(NULL, stride + self->page, PROT_READ, MAP_SHARED, dfd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	p = mmap(NULL, self->page, PROT_READ, MAP_SHARED, dfd, stride);
	EXPECT_EQ(MAP_FAILED, p);
	/* Sync flags the core refuses */
	s.flags = DMA_BUF_SYNC_START;
	EXPECT_EQ(-1, ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s));
	s.flags = 0x100 | DMA_BUF_SYNC_READ;
	EXPECT_EQ(-1, ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s));
	EXPECT_EQ(0, kst_dmabuf_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, kst_dmabuf_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, ksa_free(self->fd, off));
}

/* ---- the frame lifetime rule ---- */

/* FREE first: the frame stays allocated until the dma-buf goes. */
TEST_F(db, free_then_close)
{
	__u64 off, again = 0;
	int dfd;

	ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &off));
	dfd = kst_frame_export(self->fd, off);
	ASSERT_LE(0, dfd);
	self->map[off] = 0x42;
	ASSERT_EQ(0, ksa_free(self->fd, off));
	EXPECT_EQ(101, kst_frame_counts(self->fd));
	EXPECT_EQ(1, ksa_allocated(self->fd));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd)) {
		TH_LOG("FREEFRAME for a frame that is still exported");
	}
	/* Freed once: a second FREE and an EXPORT are refused */
	EXPECT_EQ(-EINVAL, ksa_free(self->fd, off));
	EXPECT_EQ(-EINVAL, kst_frame_export(self->fd, off));
	/* The other frames go first, this one is not free */
	for (int i = 0; i < NFRAMES - 1; i++) {
		ASSERT_EQ(-1, kst_frame_alloc(self->fd, KSALLOC_FRAMEF_NOWAIT,
					      &again));
		EXPECT_NE(off, again);
	}
	EXPECT_EQ(-EAGAIN, kst_frame_alloc(self->fd, KSALLOC_FRAMEF_NOWAIT,
					   &again));

	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ((NFRAMES - 1) * 100, kst_frame_counts(self->fd));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));
	ASSERT_EQ(-1, kst_frame_alloc(self->fd, KSALLOC_FRAMEF_NOWAIT, &again));
	EXPECT_EQ(off, again);
	/* Its contents are what the frame held: frames are not cleared */
	EXPECT_EQ(0x42, self->map[off]);
}

/* Close first: the client still holds the frame; FREE returns it. */
TEST_F(db, close_then_free)
{
	__u64 off;
	int dfd;

	ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &off));
	dfd = kst_frame_export(self->fd, off);
	ASSERT_LE(0, dfd);
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(100, kst_frame_counts(self->fd));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
	/* Still held: it can be exported again */
	dfd = kst_frame_export(self->fd, off);
	ASSERT_LE(0, dfd);
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, ksa_free(self->fd, off));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));
}

/* Two dma-bufs and a dup: the frame returns with the last reference. */
TEST_F(db, several_dmabufs)
{
	int d1, d2, d3;
	__u64 off;

	ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &off));
	d1 = kst_frame_export(self->fd, off);
	d2 = kst_frame_export(self->fd, off);
	ASSERT_LE(0, d1);
	ASSERT_LE(0, d2);
	d3 = dup(d1);
	ASSERT_LE(0, d3);
	EXPECT_EQ(101, kst_frame_counts(self->fd));
	ASSERT_EQ(0, ksa_free(self->fd, off));
	EXPECT_EQ(0, close(d1));
	EXPECT_EQ(101, kst_frame_counts(self->fd));
	EXPECT_EQ(0, close(d2));
	EXPECT_EQ(101, kst_frame_counts(self->fd));	/* d3 is d1's buffer */
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
	EXPECT_EQ(0, close(d3));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));
}

/* A sleeping ALLOC gets the frame when its dma-buf goes. */
TEST_F(db, waiter_served_by_dmabuf_release)
{
	struct kst_allocer w;
	__u64 off[NFRAMES];
	int dfd, i;

	for (i = 0; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_alloc(self->fd, &off[i]));
	dfd = kst_frame_export(self->fd, off[1]);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, ksa_free(self->fd, off[1]));
	ASSERT_EQ(0, kst_allocer_start(&w, self->fd));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	EXPECT_EQ(1, w.ret);	/* the FREE did not wake it */
	EXPECT_EQ(0, close(dfd));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(off[1], w.offset);
	EXPECT_EQ(NFRAMES * 100, kst_frame_counts(self->fd));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));
}

/*
 * The allocator's fds and mapping go first: the dma-buf holds the
 * allocator, its memory stays, and everything goes with the dma-buf.
 */
static void allocator_closed_first(struct __test_metadata *_metadata,
				   FIXTURE_DATA(db) *self, int free_first)
{
	const __u64 stride = self->info.frame_stride;
	struct kst_counts with;
	unsigned char *dm;
	__u64 off = 0;
	int dfd;

	ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &off));
	memset(self->map + off, 0x3c, stride);
	dfd = kst_frame_export(self->fd, off);
	ASSERT_LE(0, dfd);
	if (free_first)
		ASSERT_EQ(0, ksa_free(self->fd, off));
	kst_read_counts(&with);

	ASSERT_EQ(0, munmap(self->map, self->info.mmap_size));
	self->map = MAP_FAILED;
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(with.allocators, kst_read_long(KST_SYS_ALLOCATORS));
	EXPECT_EQ(with.total_bytes, kst_read_long(KST_SYS_TOTAL_BYTES));

	dm = mmap(NULL, stride, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, dm);
	EXPECT_EQ(0x3c, dm[0]);
	EXPECT_EQ(0x3c, dm[stride - 1]);
	EXPECT_EQ(0, close(dfd));
	/* The mapping holds the dma-buf, and so the allocator */
	EXPECT_EQ(with.allocators, kst_read_long(KST_SYS_ALLOCATORS));
	dm[1] = 1;
	EXPECT_EQ(0, munmap(dm, stride));
	KST_ASSERT_COUNTS(((struct kst_counts){
		.allocators = with.allocators - 1,
		.total_bytes = with.total_bytes - (long)self->info.bytes_held,
		.refcnt = KST_ANY, .fds = with.fds - 2 }), 200);
}

TEST_F(db, allocator_closed_first_frame_freed)
{
	allocator_closed_first(_metadata, self, 1);
}

TEST_F(db, allocator_closed_first_frame_held)
{
	allocator_closed_first(_metadata, self, 0);
}

/* ---- ALLOC as a dma-buf ---- */

TEST_F(db, owned_frame_returns_on_close)
{
	__u64 off, off2;
	int dfd;

	dfd = kst_frame_alloc(self->fd, KSALLOC_FRAMEF_DMABUF, &off);
	ASSERT_LE(0, dfd) TH_LOG("alloc as dma-buf: %s", strerror(-dfd));
	EXPECT_EQ(0, off % self->info.frame_stride);
	EXPECT_EQ((long long)self->info.frame_stride, kst_dmabuf_size(dfd));
	EXPECT_EQ(101, kst_frame_counts(self->fd));
	/* The dma-buf owns it: no FREE, no second export */
	EXPECT_EQ(-EBUSY, ksa_free(self->fd, off));
	EXPECT_EQ(-EBUSY, ioctl(self->fd, IOCTL_KSALLOC_FREE_FRAME, &off) ?
		  -errno : 0);
	EXPECT_EQ(-EBUSY, kst_frame_export(self->fd, off));
	EXPECT_EQ(101, kst_frame_counts(self->fd));
	ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &off2));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));

	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(100, kst_frame_counts(self->fd));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));
	EXPECT_EQ(-EINVAL, ksa_free(self->fd, off));
	EXPECT_EQ(0, ksa_free(self->fd, off2));
}

/* A child dies holding an owned frame (killed, and exiting): no frame lost */
TEST_F(db, owned_frame_survives_no_dying_process)
{
	int sig, status, p[2], go[2];
	__u64 off = 0;
	pid_t pid;
	char c;

	for (sig = 0; sig <= 1; sig++) {
		ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
		ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid) {
			int d = kst_frame_alloc(self->fd, KSALLOC_FRAMEF_DMABUF,
						&off);

			close(go[1]);
			if (d < 0)
				_exit(10);
			if (write(p[1], "a", 1) != 1)
				_exit(11);
			/* Exit (with the fd open) when the parent says so */
			if (read(go[0], &c, 1) < 0 || sig)
				for (;;)
					pause();
			_exit(0);
		}
		close(p[1]);
		close(go[0]);
		ASSERT_EQ(1, read(p[0], &c, 1));
		close(p[0]);
		EXPECT_EQ(101, kst_frame_counts(self->fd));
		close(go[1]);
		if (sig)
			kill(pid, SIGKILL);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_EQ(sig, WIFSIGNALED(status));
		EXPECT_EQ(0, kst_frame_counts(self->fd));
		EXPECT_EQ(1, ksa_eventfd_take(self->efd));
	}
}

/* KSALLOC_FRAMEF_NOWAIT: per call, whatever the file's O_NONBLOCK */
TEST_F(db, nowait_per_call)
{
	int d[NFRAMES], i, fl;
	__u64 off;

	fl = fcntl(self->fd, F_GETFL);
	ASSERT_EQ(0, fl & O_NONBLOCK);
	for (i = 0; i < NFRAMES; i++) {
		d[i] = kst_frame_alloc(self->fd, KSALLOC_FRAMEF_DMABUF |
				       KSALLOC_FRAMEF_NOWAIT, &off);
		ASSERT_LE(0, d[i]);
	}
	off = 12345;
	EXPECT_EQ(-EAGAIN, kst_frame_alloc(self->fd, KSALLOC_FRAMEF_NOWAIT |
					   KSALLOC_FRAMEF_DMABUF, &off));
	EXPECT_EQ(-EAGAIN, kst_frame_alloc(self->fd, KSALLOC_FRAMEF_NOWAIT,
					   &off));
	EXPECT_EQ(12345, off);
	EXPECT_EQ(0, ksa_waiters(self->fd));
	/* O_NONBLOCK on the file makes the call non-blocking too */
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(-EAGAIN, kst_frame_alloc(self->fd, KSALLOC_FRAMEF_DMABUF,
					   &off));
	EXPECT_EQ(-EAGAIN, kst_frame_alloc(self->fd, 0, &off));
	for (i = 0; i < NFRAMES; i++)
		EXPECT_EQ(0, close(d[i]));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
}

/*
 * Two processes on one struct file (fork): one sleeps in ALLOC while the
 * other's calls with KSALLOC_FRAMEF_NOWAIT, direct and as the KS method,
 * fail with EAGAIN at once. The file's mode is never touched: that was the
 * only choice before, and fcntl() changes it for every holder.
 */
TEST_F(db, nowait_and_blocking_share_a_file)
{
	struct ksalloc_frame_args a = { .flags = KSALLOC_FRAMEF_NOWAIT,
					.fd = -100 };
	__u64 off[NFRAMES], got;
	int i, status, p[2];
	pid_t pid;

	for (i = 0; i < NFRAMES; i++)
		ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &off[i]));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* blocking: the mode of the shared file and no flag */
		int ret = kst_frame_alloc(self->fd, 0, &got);

		_exit(ret == -1 && write(p[1], &got, sizeof(got)) ==
		      sizeof(got) ? 0 : 1);
	}
	close(p[1]);
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	EXPECT_EQ(0, fcntl(self->fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(-EAGAIN, kst_frame_alloc(self->fd, KSALLOC_FRAMEF_NOWAIT,
					   NULL));
	EXPECT_EQ(-EAGAIN, kst_frame_method(self->fd,
					    KSMETHOD_KSALLOC_FRAME_ALLOC,
					    KSMETHOD_TYPE_SEND, &a, sizeof(a),
					    0, NULL));
	/* the sleeper is still asleep, and first in line */
	EXPECT_EQ(1, ksa_waiters(self->fd));
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG));
	ASSERT_EQ(0, ksa_free(self->fd, off[1]));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(sizeof(got), read(p[0], &got, sizeof(got)));
	close(p[0]);
	EXPECT_EQ(off[1], got);
	EXPECT_EQ(0, ksa_waiters(self->fd));
	EXPECT_EQ(0, ksa_free(self->fd, off[0]));
	EXPECT_EQ(0, ksa_free(self->fd, off[1]));
	EXPECT_EQ(0, ksa_free(self->fd, off[2]));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
}

/* A sleeping ALLOC-as-dma-buf is cancelled by a reset: no fd, no frame */
TEST_F(db, owned_waiter_cancelled_by_reset)
{
	struct ksalloc_frame_args a = { .flags = KSALLOC_FRAMEF_DMABUF,
					.fd = -100 };
	int d[NFRAMES], i, fds, status;
	pid_t pid;

	for (i = 0; i < NFRAMES; i++)
		ASSERT_LE(0, d[i] = kst_frame_alloc(self->fd,
						    KSALLOC_FRAMEF_DMABUF,
						    NULL));
	fds = kst_count_fds();
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int ret = kst_frame_ioctl(self->fd, IOCTL_KSALLOC_FRAME_ALLOC,
					  &a);

		_exit(ret == -ECANCELED && a.fd == -100 &&
		      kst_count_fds() == fds ? 0 : 1);
	}
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	EXPECT_EQ(0, ksa_reset(self->fd, KSRESET_BEGIN));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(0, ksa_reset(self->fd, KSRESET_END));
	for (i = 0; i < NFRAMES; i++)
		EXPECT_EQ(0, close(d[i]));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
}

/* ---- fds passed on ---- */

/*
 * SCM_RIGHTS to a process that has nothing else of the allocator: it maps
 * the dma-buf and reads what the creator wrote; the frame returns when it
 * lets go, after the creator closed and FREEd its side.
 */
TEST_F(db, scm_rights_to_other_process)
{
	const __u64 stride = self->info.frame_stride;
	int sv[2], dfd, status;
	__u64 off;
	pid_t pid;
	char c;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		unsigned char *m;
		int d;

		close(self->fd);
		munmap(self->map, self->info.mmap_size);
		close(sv[0]);
		d = kst_recv_fd(sv[1]);
		if (d < 0)
			_exit(10);
		m = mmap(NULL, stride, PROT_READ | PROT_WRITE, MAP_SHARED, d, 0);
		if (m == MAP_FAILED)
			_exit(11);
		if (kst_dmabuf_sync(d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ))
			_exit(12);
		if (m[0] != 0x11 || m[stride - 1] != 0x22)
			_exit(13);
		/* Wait until the creator let go of its side */
		if (write(sv[1], "r", 1) != 1 || read(sv[1], &c, 1) != 1)
			_exit(14);
		m[0] = 0x33;
		_exit(0);
	}
	close(sv[1]);
	ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &off));
	self->map[off] = 0x11;
	self->map[off + stride - 1] = 0x22;
	dfd = kst_frame_export(self->fd, off);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, kst_send_fd(sv[0], dfd));
	EXPECT_EQ(0, close(dfd));
	ASSERT_EQ(1, read(sv[0], &c, 1));
	EXPECT_EQ(0, ksa_free(self->fd, off));
	EXPECT_EQ(101, kst_frame_counts(self->fd));
	ASSERT_EQ(1, write(sv[0], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0x33, self->map[off]);
	EXPECT_EQ(0, kst_frame_counts(self->fd));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));
	close(sv[0]);
}

/* fork: the child's inherited dma-buf fd keeps the frame after the parent's close */
TEST_F(db, fork_child_holds_last_reference)
{
	int p[2], dfd, status;
	__u64 off;
	pid_t pid;
	char c;

	dfd = kst_frame_alloc(self->fd, KSALLOC_FRAMEF_DMABUF, &off);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(p[1]);
		if (read(p[0], &c, 1) < 0)
			_exit(10);
		_exit(kst_dmabuf_size(dfd) == (long long)self->info.frame_stride ?
		      0 : 11);
	}
	close(p[0]);
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(101, kst_frame_counts(self->fd));
	EXPECT_EQ(0, close(p[1]));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
}

/* ---- bad inputs, each without a side effect ---- */

/*
 * Nothing left of a failed call: no frame or fd, no FREEFRAME for a frame
 * the call took and gave back, and no new peak of frames in use.
 */
#define ASSERT_NO_SIDE_EFFECT(_alloc100) do {				\
	EXPECT_EQ((_alloc100), kst_frame_counts(self->fd));			\
	EXPECT_EQ(fds, kst_count_fds());				\
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));			\
	EXPECT_EQ(hw, high_water(self->fd));				\
} while (0)

TEST_F(db, bad_direct_args)
{
	const __u32 bad_flags[] = { 0x4, 0x80000000u, 0xffffffffu };
	const __u32 bad_fd_flags[] = { O_NONBLOCK, O_APPEND, 1, O_CLOEXEC | 1 };
	const __u64 stride = self->info.frame_stride;
	struct ksalloc_frame_args a;
	__u64 held, bad_off[6];
	unsigned int i;
	int fds;
	long hw;
	void *ro;

	ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &held));
	fds = kst_count_fds();
	hw = high_water(self->fd);
	ASSERT_EQ(1, hw);
	for (i = 0; i < ARRAY_SIZE(bad_flags); i++) {
		a = (struct ksalloc_frame_args){ .flags = bad_flags[i] };
		EXPECT_EQ(-EINVAL, kst_frame_ioctl(self->fd,
					IOCTL_KSALLOC_FRAME_ALLOC, &a));
		a = (struct ksalloc_frame_args){ .flags = bad_flags[i],
						 .offset = held };
		EXPECT_EQ(-EINVAL, kst_frame_ioctl(self->fd,
					IOCTL_KSALLOC_FRAME_EXPORT, &a));
	}
	/* EXPORT takes no flags at all */
	a = (struct ksalloc_frame_args){ .flags = KSALLOC_FRAMEF_NOWAIT,
					 .offset = held };
	EXPECT_EQ(-EINVAL, kst_frame_ioctl(self->fd, IOCTL_KSALLOC_FRAME_EXPORT,
					   &a));
	a.flags = KSALLOC_FRAMEF_DMABUF;
	EXPECT_EQ(-EINVAL, kst_frame_ioctl(self->fd, IOCTL_KSALLOC_FRAME_EXPORT,
					   &a));
	for (i = 0; i < ARRAY_SIZE(bad_fd_flags); i++) {
		a = (struct ksalloc_frame_args){ .flags = KSALLOC_FRAMEF_DMABUF,
						 .fd_flags = bad_fd_flags[i] };
		EXPECT_EQ(-EINVAL, kst_frame_ioctl(self->fd,
					IOCTL_KSALLOC_FRAME_ALLOC, &a));
		a = (struct ksalloc_frame_args){ .offset = held,
						 .fd_flags = bad_fd_flags[i] };
		EXPECT_EQ(-EINVAL, kst_frame_ioctl(self->fd,
					IOCTL_KSALLOC_FRAME_EXPORT, &a));
	}
	a = (struct ksalloc_frame_args){ .reserved = 1 };
	EXPECT_EQ(-EINVAL, kst_frame_ioctl(self->fd, IOCTL_KSALLOC_FRAME_ALLOC,
					   &a));
	a = (struct ksalloc_frame_args){ .offset = held, .reserved = 1 };
	EXPECT_EQ(-EINVAL, kst_frame_ioctl(self->fd, IOCTL_KSALLOC_FRAME_EXPORT,
					   &a));
	ASSERT_NO_SIDE_EFFECT(100);

	/* Offsets that are not a frame the caller holds */
	bad_off[0] = held + 1;
	bad_off[1] = held + self->page;
	bad_off[2] = self->info.mmap_size;
	bad_off[3] = ~0ULL;
	bad_off[4] = (held + stride) % self->info.mmap_size;	/* not allocated */
	bad_off[5] = (__u64)stride << 32;
	for (i = 0; i < ARRAY_SIZE(bad_off); i++) {
		__u64 o = bad_off[i];

		EXPECT_EQ(-EINVAL, kst_frame_export(self->fd, o)) {
			TH_LOG("offset %#llx", (unsigned long long)o);
		}
	}
	ASSERT_NO_SIDE_EFFECT(100);

	/* Unreadable and unwritable arguments: EFAULT, nothing taken */
	EXPECT_EQ(-EFAULT, kst_frame_ioctl(self->fd, IOCTL_KSALLOC_FRAME_ALLOC,
					   NULL));
	EXPECT_EQ(-EFAULT, kst_frame_ioctl(self->fd, IOCTL_KSALLOC_FRAME_EXPORT,
					   (void *)8));
	ro = mmap(NULL, self->page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, kst_frame_ioctl(self->fd, IOCTL_KSALLOC_FRAME_ALLOC,
					   ro));
	ASSERT_NO_SIDE_EFFECT(100);
	/* A read-only copy with DMABUF and with an offset to export */
	munmap(ro, self->page);
	ro = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	a = (struct ksalloc_frame_args){ .flags = KSALLOC_FRAMEF_DMABUF };
	memcpy(ro, &a, sizeof(a));
	ASSERT_EQ(0, mprotect(ro, self->page, PROT_READ));
	EXPECT_EQ(-EFAULT, kst_frame_ioctl(self->fd, IOCTL_KSALLOC_FRAME_ALLOC,
					   ro));
	ASSERT_NO_SIDE_EFFECT(100);
	ASSERT_EQ(0, mprotect(ro, self->page, PROT_READ | PROT_WRITE));
	a = (struct ksalloc_frame_args){ .offset = held };
	memcpy(ro, &a, sizeof(a));
	ASSERT_EQ(0, mprotect(ro, self->page, PROT_READ));
	EXPECT_EQ(-EFAULT, kst_frame_ioctl(self->fd, IOCTL_KSALLOC_FRAME_EXPORT,
					   ro));
	ASSERT_NO_SIDE_EFFECT(100);
	munmap(ro, self->page);

	/* On a pin: not an allocator */
	a = (struct ksalloc_frame_args){ 0 };
	EXPECT_EQ(-ENOTTY, kst_frame_ioctl(self->pin, IOCTL_KSALLOC_FRAME_ALLOC,
					   &a));
	EXPECT_EQ(0, ksa_free(self->fd, held));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
}

/* A full fd table: EMFILE, and no frame taken or exported */
TEST_F(db, fd_table_full_emfile)
{
	struct ksalloc_frame_args a = { .flags = KSALLOC_FRAMEF_DMABUF };
	struct rlimit old, lim;
	int fds, n = 0, spare[64], ret;
	__u64 held;

	ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &held));
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &old));
	fds = kst_count_fds();
	ASSERT_GT(32, fds);
	/* A limit of 32 fds, every number below it taken */
	lim = old;
	lim.rlim_cur = 32;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	while (n < 64 && (spare[n] = fcntl(self->pin, F_DUPFD_CLOEXEC, 0)) >= 0)
		n++;
	ASSERT_EQ(EMFILE, errno);

	ret = kst_frame_alloc(self->fd, KSALLOC_FRAMEF_DMABUF |
			      KSALLOC_FRAMEF_NOWAIT, NULL);
	EXPECT_EQ(-EMFILE, ret);
	EXPECT_EQ(-EMFILE, kst_frame_export(self->fd, held));
	EXPECT_EQ(-EMFILE, kst_frame_method(self->fd,
					    KSMETHOD_KSALLOC_FRAME_ALLOC,
					    KSMETHOD_TYPE_MODIFY, &a, sizeof(a),
					    0, NULL));
	EXPECT_EQ(100, kst_frame_counts(self->fd));
	while (n--)
		close(spare[n]);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &old));
	EXPECT_EQ(fds, kst_count_fds());
	/* Without EMFILE a plain ALLOC still works: no fd needed */
	EXPECT_EQ(0, ksa_free(self->fd, held));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
}

/* ---- the KS methods ---- */

TEST_F(db, ks_methods)
{
	struct ksalloc_frame_args a;
	struct ksproperty_description desc;
	__u32 returned;
	__u64 held;
	int fds;
	long hw;
	void *ro;

	/* ALLOC as dma-buf through the method: fd flags from open_flags */
	a = (struct ksalloc_frame_args){ .flags = KSALLOC_FRAMEF_DMABUF,
					 .fd = -100 };
	ASSERT_EQ(0, kst_frame_method(self->fd, KSMETHOD_KSALLOC_FRAME_ALLOC,
				      KSMETHOD_TYPE_MODIFY, &a, sizeof(a),
				      O_CLOEXEC, &returned));
	EXPECT_EQ(sizeof(a), returned);
	ASSERT_LE(0, a.fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(a.fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-EBUSY, ksa_free(self->fd, a.offset));
	EXPECT_EQ(0, close(a.fd));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));

	/* Plain ALLOC and EXPORT through the methods, no O_CLOEXEC */
	a = (struct ksalloc_frame_args){ .fd = -100 };
	ASSERT_EQ(0, kst_frame_method(self->fd, KSMETHOD_KSALLOC_FRAME_ALLOC,
				      KSMETHOD_TYPE_SEND, &a, sizeof(a), 0,
				      NULL));
	EXPECT_EQ(-1, a.fd);
	held = a.offset;
	a.fd = -100;
	ASSERT_EQ(0, kst_frame_method(self->fd, KSMETHOD_KSALLOC_FRAME_EXPORT,
				      KSMETHOD_TYPE_MODIFY, &a, sizeof(a), 0,
				      NULL));
	ASSERT_LE(0, a.fd);
	EXPECT_EQ(0, fcntl(a.fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, close(a.fd));

	fds = kst_count_fds();
	hw = high_water(self->fd);
	/* fd_flags belongs to the direct calls; O_NONBLOCK is not an fd flag here */
	a.fd_flags = O_CLOEXEC;
	EXPECT_EQ(-EINVAL, kst_frame_method(self->fd,
				KSMETHOD_KSALLOC_FRAME_EXPORT,
				KSMETHOD_TYPE_MODIFY, &a, sizeof(a), 0, NULL));
	a.fd_flags = 0;
	EXPECT_EQ(-EINVAL, kst_frame_method(self->fd,
				KSMETHOD_KSALLOC_FRAME_EXPORT,
				KSMETHOD_TYPE_MODIFY, &a, sizeof(a),
				O_NONBLOCK, NULL));
	/* Too small a value: nothing allocated (a size query) */
	returned = 0;
	EXPECT_EQ(-EINVAL, kst_frame_method(self->fd,
				KSMETHOD_KSALLOC_FRAME_ALLOC,
				KSMETHOD_TYPE_MODIFY, &a, 8, 0, &returned));
	/* An unwritable value: EFAULT, no frame and no fd left behind */
	ro = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	a = (struct ksalloc_frame_args){ .flags = KSALLOC_FRAMEF_DMABUF };
	memcpy(ro, &a, sizeof(a));
	ASSERT_EQ(0, mprotect(ro, self->page, PROT_READ));
	EXPECT_EQ(-EFAULT, kst_frame_method(self->fd,
				KSMETHOD_KSALLOC_FRAME_ALLOC,
				KSMETHOD_TYPE_MODIFY, ro, sizeof(a), 0, NULL));
	a.flags = 0;
	ASSERT_EQ(0, mprotect(ro, self->page, PROT_READ | PROT_WRITE));
	memcpy(ro, &a, sizeof(a));
	ASSERT_EQ(0, mprotect(ro, self->page, PROT_READ));
	EXPECT_EQ(-EFAULT, kst_frame_method(self->fd,
				KSMETHOD_KSALLOC_FRAME_ALLOC,
				KSMETHOD_TYPE_MODIFY, ro, sizeof(a), 0, NULL));
	munmap(ro, self->page);
	ASSERT_NO_SIDE_EFFECT(100);

	/* BASICSUPPORT: read and written */
	memset(&desc, 0, sizeof(desc));
	ASSERT_EQ(0, kst_req(self->fd, IOCTL_KS_METHOD, &g_frame,
			     KSMETHOD_KSALLOC_FRAME_EXPORT,
			     KSMETHOD_TYPE_BASICSUPPORT, &desc, sizeof(desc),
			     0, NULL));
	EXPECT_EQ(KSMETHOD_TYPE_MODIFY, desc.access_flags);
	/* Unknown id of the set; the set on a pin */
	EXPECT_EQ(-ENOENT, kst_frame_method(self->fd, 2, KSMETHOD_TYPE_MODIFY,
					    &a, sizeof(a), 0, NULL));
	EXPECT_EQ(-ENOENT, kst_frame_method(self->pin,
					    KSMETHOD_KSALLOC_FRAME_ALLOC,
					    KSMETHOD_TYPE_MODIFY, &a,
					    sizeof(a), 0, NULL));
	EXPECT_EQ(0, ksa_free(self->fd, held));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
}

TEST_HARNESS_MAIN
