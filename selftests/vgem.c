// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc frames imported by a real DRM driver: vgem, from the test
 * kernel's own package (selftests/peers.conf). Every test skips, saying
 * so, on a kernel without vgem.
 *
 * vgem imports a dma-buf with DRM_IOCTL_PRIME_FD_TO_HANDLE: on 6.1 and
 * 6.12 it attaches vgem's device and maps the buffer for it at once
 * (the exporter's map_dma_buf), on 7.2 it only attaches. GEM_CLOSE
 * unmaps and detaches. vgem's fences go into the dma-buf's reservation
 * object, which is how implicit sync reaches a ksalloc frame.
 *
 * What is asserted:
 *  - import and export: PRIME_FD_TO_HANDLE gives one handle per buffer
 *    (again for the same buffer, through any fd of it), PRIME_HANDLE_TO_FD
 *    gives the same dma-buf back (same inode), debugfs shows vgem's
 *    device attached until GEM_CLOSE, a second GEM_CLOSE is EINVAL;
 *    two DRM files attach twice;
 *  - implicit sync: a vgem write fence makes poll() on the dma-buf and
 *    the sync_file of DMA_BUF_IOCTL_EXPORT_SYNC_FILE busy and blocks
 *    DMA_BUF_IOCTL_SYNC START until VGEM_FENCE_SIGNAL; a read fence
 *    blocks only writers; the fence stays in the buffer after GEM_CLOSE;
 *  - the frame lifetime rule with vgem holding an import, in every order
 *    of FREE, dma-buf fd close, GEM_CLOSE (the importer detaches) and
 *    allocator close, for a frame that is FREEd and for one its dma-buf
 *    owns: after each step STATUS/INFO, poll on the allocator and the
 *    FREEFRAME eventfd say exactly whether the frame returned, and once
 *    the allocator is closed the module's counters say whether it still
 *    lives; at the end every counter (allocators, bytes, the module's
 *    refcount, fds) is back where it was;
 *  - the import outlives its process only through the DRM fd: a killed
 *    importer lets go, a DRM fd passed on (SCM_RIGHTS) keeps the frame.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "frames_lib.h"
#include "ksa_test.h"
#include "vgem_lib.h"
#include "kselftest_harness.h"

#define FRAME_SIZE	(2 * 4096 + 5)

/* One allocator of @frames frames, mapped, with a FREEFRAME eventfd */
struct alloc {
	int fd;
	int efd;
	unsigned char *map;
	struct kseventdata ev;
	struct ksalloc_allocator_info info;
};

static int alloc_open(struct alloc *a, int pin, __u32 frames)
{
	int ret;

	memset(a, 0, sizeof(*a));
	a->map = MAP_FAILED;
	a->efd = -1;
	a->fd = kst_create_allocator(pin, frames, FRAME_SIZE, O_CLOEXEC);
	if (a->fd < 0)
		return a->fd;
	ret = ksa_info(a->fd, &a->info);
	if (ret)
		return ret;
	a->map = mmap(NULL, a->info.mmap_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, a->fd, 0);
	if (a->map == MAP_FAILED)
		return -errno;
	a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->efd < 0)
		return -errno;
	ksa_event_handle(&a->ev, a->efd);
	return ksa_event_enable(a->fd, KSEVENT_TYPE_ENABLE, &a->ev);
}

/* munmap and close the allocator; the eventfd stays */
static int alloc_drop(struct alloc *a)
{
	int ret = 0;

	if (a->map != MAP_FAILED && munmap(a->map, a->info.mmap_size))
		ret = -errno;
	a->map = MAP_FAILED;
	if (a->fd >= 0 && close(a->fd))
		ret = -errno;
	a->fd = -1;
	return ret;
}

static void alloc_close(struct alloc *a)
{
	alloc_drop(a);
	if (a->efd >= 0)
		close(a->efd);
	a->efd = -1;
}

/* POLLIN on the allocator: a frame can be had without sleeping */
static int frame_free_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* poll() of @fd for @events without waiting: the events it reports */
static int poll_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) == 1 ? p.revents & events : 0;
}

FIXTURE(vg)
{
	int pin;
	int vfd;
	struct alloc a;
	struct kst_counts base;
};

/*
 * Both fixtures: vgem's DRM file, a pin and an allocator of @frames
 * frames, and the module's counters before them; a skip without vgem.
 */
#define VG_SETUP(_frames) do {						\
	int _ret;							\
									\
	self->pin = -1;							\
	self->a.fd = self->a.efd = -1;					\
	self->a.map = MAP_FAILED;					\
	self->vfd = vgem_open();					\
	if (self->vfd < 0)						\
		SKIP(return, "no vgem: not in this kernel's package, or not in selftests/peers.conf"); \
	self->pin = ksa_open_pin();					\
	ASSERT_LE(0, self->pin);					\
	kst_read_counts(&self->base);					\
	_ret = alloc_open(&self->a, self->pin, (_frames));		\
	ASSERT_EQ(0, _ret) TH_LOG("allocator: %s", strerror(-_ret));	\
} while (0)

#define VG_TEARDOWN() do {						\
	alloc_close(&self->a);						\
	if (self->vfd >= 0)						\
		close(self->vfd);					\
	if (self->pin >= 0)						\
		close(self->pin);					\
} while (0)

FIXTURE_SETUP(vg)
{
	VG_SETUP(4);
}

FIXTURE_TEARDOWN(vg)
{
	VG_TEARDOWN();
}

/* The 6.1 harness runs the body after a SKIP in the setup: stop it here. */
#define BODY_START() do { if (_metadata->skip) return; } while (0)

/* A frame ALLOCated and EXPORTed: the dma-buf fd, its offset in *off */
static int held_frame_dmabuf(int fd, __u64 *off)
{
	int ret = kst_frame_alloc(fd, 0, off);

	return ret < -1 ? ret : kst_frame_export(fd, *off);
}

/* ---- import and export ---- */

TEST_F(vg, import_is_the_same_buffer)
{
	struct kst_bufinfo bi;
	long h, h2, h3;
	int dfd, dfd2, dup_fd, other;
	__u64 off;

	BODY_START();
	dfd = held_frame_dmabuf(self->a.fd, &off);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, kst_dmabuf_bufinfo(dfd, "vgem", &bi)) {
		TH_LOG("no entry in %s", KST_DMABUF_BUFINFO);
	}
	EXPECT_EQ(0, bi.attached);

	h = vgem_import(self->vfd, dfd);
	ASSERT_LT(0, h) TH_LOG("PRIME_FD_TO_HANDLE: %s", strerror(-h));
	ASSERT_EQ(0, kst_dmabuf_bufinfo(dfd, "vgem", &bi));
	EXPECT_EQ(1, bi.attached);
	EXPECT_EQ(1, bi.named);
	/* The same buffer, through itself or a dup: the same handle */
	EXPECT_EQ(h, vgem_import(self->vfd, dfd));
	dup_fd = dup(dfd);
	ASSERT_LE(0, dup_fd);
	EXPECT_EQ(h, vgem_import(self->vfd, dup_fd));
	EXPECT_EQ(0, close(dup_fd));
	ASSERT_EQ(0, kst_dmabuf_bufinfo(dfd, "vgem", &bi));
	EXPECT_EQ(1, bi.attached);

	/* Exported again by vgem: the same dma-buf, not a new one */
	dfd2 = vgem_export(self->vfd, h);
	ASSERT_LE(0, dfd2) TH_LOG("PRIME_HANDLE_TO_FD: %s", strerror(-dfd2));
	EXPECT_EQ(kst_fd_inode(dfd), kst_fd_inode(dfd2));
	EXPECT_EQ(kst_dmabuf_size(dfd), kst_dmabuf_size(dfd2));

	/* Another dma-buf of the same frame is another buffer to vgem */
	other = kst_frame_export(self->a.fd, off);
	ASSERT_LE(0, other);
	EXPECT_NE(kst_fd_inode(dfd), kst_fd_inode(other));
	h2 = vgem_import(self->vfd, other);
	ASSERT_LT(0, h2);
	EXPECT_NE(h, h2);
	/* Two dma-bufs, one frame exported */
	EXPECT_EQ(101, kst_frame_counts(self->a.fd));
	EXPECT_EQ(0, vgem_close(self->vfd, h2));
	EXPECT_EQ(0, close(other));

	/* Closed: detached, and the handle is gone */
	EXPECT_EQ(0, vgem_close(self->vfd, h));
	EXPECT_EQ(-EINVAL, vgem_close(self->vfd, h));
	ASSERT_EQ(0, kst_dmabuf_bufinfo(dfd, "vgem", &bi));
	EXPECT_EQ(0, bi.attached);
	/* Importing again works, and a new handle may be any number */
	h3 = vgem_import(self->vfd, dfd2);
	ASSERT_LT(0, h3);
	EXPECT_EQ(0, vgem_close(self->vfd, h3));
	EXPECT_EQ(0, close(dfd2));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(100, kst_frame_counts(self->a.fd));
	EXPECT_EQ(0, ksa_free(self->a.fd, off));
	EXPECT_EQ(0, kst_frame_counts(self->a.fd));
}

/* Not a dma-buf, or a closed fd: vgem refuses, nothing attached */
TEST_F(vg, import_refusals)
{
	int efd;

	BODY_START();
	EXPECT_EQ(-EBADF, vgem_import(self->vfd, 1000));
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	EXPECT_EQ(-EINVAL, vgem_import(self->vfd, efd));
	EXPECT_EQ(-EINVAL, vgem_import(self->vfd, self->a.fd));
	EXPECT_EQ(0, close(efd));
	EXPECT_EQ(0, kst_frame_counts(self->a.fd));
}

/* Two DRM files: two imports, two attachments of vgem's device */
TEST_F(vg, two_drm_files)
{
	struct kst_bufinfo bi;
	int dfd, vfd2;
	long h1, h2;
	__u64 off;

	BODY_START();
	vfd2 = vgem_open();
	ASSERT_LE(0, vfd2);
	dfd = kst_frame_alloc(self->a.fd, KSALLOC_FRAMEF_DMABUF, &off);
	ASSERT_LE(0, dfd);
	h1 = vgem_import(self->vfd, dfd);
	h2 = vgem_import(vfd2, dfd);
	ASSERT_LT(0, h1);
	ASSERT_LT(0, h2);
	ASSERT_EQ(0, kst_dmabuf_bufinfo(dfd, "vgem", &bi));
	EXPECT_EQ(2, bi.attached);
	EXPECT_EQ(2, bi.named);
	/* CPU access syncs every mapping there is */
	EXPECT_EQ(0, kst_dmabuf_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW));
	self->a.map[off] = 0x77;
	EXPECT_EQ(0, kst_dmabuf_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW));
	/* The second file's close lets go of its import */
	EXPECT_EQ(0, close(vfd2));
	ASSERT_EQ(0, kst_dmabuf_bufinfo(dfd, "vgem", &bi));
	EXPECT_EQ(1, bi.attached);
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(101, kst_frame_counts(self->a.fd));
	EXPECT_EQ(0, vgem_close(self->vfd, h1));
	EXPECT_EQ(0, kst_frame_counts(self->a.fd));
	EXPECT_EQ(1, ksa_eventfd_take(self->a.efd));
}

/* ---- implicit sync ---- */

struct syncer {
	pthread_t thread;
	pid_t tid;
	int dfd;
	__u64 flags;
	int ret;	/* 1 until the ioctl returns */
};

static void *syncer_main(void *arg)
{
	struct syncer *s = arg;

	s->tid = ksa_gettid();
	__atomic_store_n(&s->ret, kst_dmabuf_sync(s->dfd, s->flags),
			 __ATOMIC_SEQ_CST);
	return NULL;
}

static int syncer_start(struct syncer *s, int dfd, __u64 flags)
{
	s->dfd = dfd;
	s->flags = flags;
	s->tid = 0;
	s->ret = 1;
	return pthread_create(&s->thread, NULL, syncer_main, s);
}

/* Wait until the thread has a tid and is asleep in ioctl() */
static int syncer_asleep(struct syncer *s)
{
	long long end = ksa_now_ms() + KSA_WAIT_MS;

	while (!__atomic_load_n(&s->tid, __ATOMIC_SEQ_CST))
		if (ksa_now_ms() > end)
			return 0;
	return ksa_wait_thread_asleep_in(s->tid, SYS_ioctl);
}

/*
 * DMA_BUF_IOCTL_SYNC START with @flags sleeps until vgem signals @fence,
 * and then returns 0; both directions are free afterwards.
 */
static void sync_waits_for(struct __test_metadata *_metadata, int vfd,
			   int dfd, __u64 flags, long fence)
{
	struct syncer s;

	ASSERT_EQ(0, syncer_start(&s, dfd, DMA_BUF_SYNC_START | flags));
	ASSERT_TRUE(syncer_asleep(&s));
	EXPECT_EQ(1, __atomic_load_n(&s.ret, __ATOMIC_SEQ_CST));
	EXPECT_EQ(0, vgem_fence_signal(vfd, fence));
	ASSERT_EQ(0, pthread_join(s.thread, NULL));
	EXPECT_EQ(0, s.ret);
	EXPECT_EQ(0, kst_dmabuf_sync(dfd, DMA_BUF_SYNC_END | flags));
	EXPECT_EQ(POLLIN | POLLOUT, poll_now(dfd, POLLIN | POLLOUT));
}

static int export_sync_file(int dfd, __u32 flags)
{
	struct dma_buf_export_sync_file e = { .flags = flags, .fd = -1 };

	return ioctl(dfd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e) ? -errno : e.fd;
}

TEST_F(vg, write_fence)
{
	struct kst_bufinfo bi;
	int dfd, sf, sf_after;
	long h, fence;
	__u64 off;

	BODY_START();
	dfd = held_frame_dmabuf(self->a.fd, &off);
	ASSERT_LE(0, dfd);
	h = vgem_import(self->vfd, dfd);
	ASSERT_LT(0, h);
	EXPECT_EQ(POLLIN | POLLOUT, poll_now(dfd, POLLIN | POLLOUT));

	fence = vgem_fence_attach(self->vfd, h, VGEM_FENCE_WRITE);
	ASSERT_LT(0, fence) TH_LOG("FENCE_ATTACH: %s", strerror(-fence));
	/* The fence is in the ksalloc dma-buf's reservation object */
	ASSERT_EQ(0, kst_dmabuf_bufinfo(dfd, "vgem", &bi));
	EXPECT_EQ(1, bi.fences);
	EXPECT_EQ(1, bi.unsignalled);
	/* Readers and writers wait for a writer */
	EXPECT_EQ(0, poll_now(dfd, POLLIN | POLLOUT));
	sf = export_sync_file(dfd, DMA_BUF_SYNC_READ);
	ASSERT_LE(0, sf) TH_LOG("EXPORT_SYNC_FILE: %s", strerror(-sf));
	EXPECT_EQ(0, poll_now(sf, POLLIN));
	/* A second writer conflicts */
	EXPECT_EQ(-EBUSY, vgem_fence_attach(self->vfd, h, VGEM_FENCE_WRITE));
	/* CPU access waits in DMA_BUF_IOCTL_SYNC START until the signal */
	sync_waits_for(_metadata, self->vfd, dfd, DMA_BUF_SYNC_READ, fence);
	EXPECT_EQ(POLLIN, poll_now(sf, POLLIN));
	/* Signalled once: a second signal finds nothing */
	EXPECT_EQ(-ENOENT, vgem_fence_signal(self->vfd, fence));
	sf_after = export_sync_file(dfd, DMA_BUF_SYNC_RW);
	ASSERT_LE(0, sf_after);
	EXPECT_EQ(POLLIN, poll_now(sf_after, POLLIN));
	EXPECT_EQ(0, close(sf_after));
	EXPECT_EQ(0, close(sf));
	EXPECT_EQ(0, vgem_close(self->vfd, h));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, ksa_free(self->a.fd, off));
	EXPECT_EQ(0, kst_frame_counts(self->a.fd));
}

TEST_F(vg, read_fence)
{
	long h, fence;
	int dfd;
	__u64 off;

	BODY_START();
	dfd = kst_frame_alloc(self->a.fd, KSALLOC_FRAMEF_DMABUF, &off);
	ASSERT_LE(0, dfd);
	h = vgem_import(self->vfd, dfd);
	ASSERT_LT(0, h);
	fence = vgem_fence_attach(self->vfd, h, 0);
	ASSERT_LT(0, fence);
	/* Other readers go ahead, writers wait */
	EXPECT_EQ(POLLIN, poll_now(dfd, POLLIN | POLLOUT));
	EXPECT_EQ(0, kst_dmabuf_sync(dfd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ));
	EXPECT_EQ(0, kst_dmabuf_sync(dfd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ));
	EXPECT_EQ(-EBUSY, vgem_fence_attach(self->vfd, h, VGEM_FENCE_WRITE));
	sync_waits_for(_metadata, self->vfd, dfd, DMA_BUF_SYNC_WRITE, fence);
	EXPECT_EQ(0, vgem_close(self->vfd, h));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, kst_frame_counts(self->a.fd));
}

/*
 * The fence belongs to the buffer, not to the import: after GEM_CLOSE
 * the dma-buf is still busy until vgem signals; the frame returns when
 * the dma-buf goes, fence or not (whoever still does DMA holds it).
 */
TEST_F(vg, fence_outlives_import)
{
	long h, fence;
	int dfd;
	__u64 off;

	BODY_START();
	dfd = held_frame_dmabuf(self->a.fd, &off);
	ASSERT_LE(0, dfd);
	h = vgem_import(self->vfd, dfd);
	ASSERT_LT(0, h);
	fence = vgem_fence_attach(self->vfd, h, VGEM_FENCE_WRITE);
	ASSERT_LT(0, fence);
	EXPECT_EQ(0, vgem_close(self->vfd, h));
	EXPECT_EQ(0, poll_now(dfd, POLLIN));
	EXPECT_EQ(0, vgem_fence_signal(self->vfd, fence));
	EXPECT_EQ(POLLIN, poll_now(dfd, POLLIN));

	/* Now unsignalled when everything goes */
	h = vgem_import(self->vfd, dfd);
	ASSERT_LT(0, h);
	fence = vgem_fence_attach(self->vfd, h, VGEM_FENCE_WRITE);
	ASSERT_LT(0, fence);
	EXPECT_EQ(0, vgem_close(self->vfd, h));
	EXPECT_EQ(0, ksa_free(self->a.fd, off));
	EXPECT_EQ(101, kst_frame_counts(self->a.fd));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, kst_frame_counts(self->a.fd));
	EXPECT_EQ(1, ksa_eventfd_take(self->a.efd));
	/* vgem still has the fence and signals it */
	EXPECT_EQ(0, vgem_fence_signal(self->vfd, fence));
}

/* ---- the import and the importer's process ---- */

/* Closing the DRM file lets go of every import made through it */
TEST_F(vg, drm_file_close_releases)
{
	int dfd;
	long h;

	BODY_START();
	dfd = kst_frame_alloc(self->a.fd, KSALLOC_FRAMEF_DMABUF, NULL);
	ASSERT_LE(0, dfd);
	h = vgem_import(self->vfd, dfd);
	ASSERT_LT(0, h);
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(101, kst_frame_counts(self->a.fd));
	EXPECT_EQ(0, ksa_eventfd_take(self->a.efd));
	EXPECT_EQ(0, close(self->vfd));
	self->vfd = -1;
	EXPECT_EQ(0, kst_frame_counts(self->a.fd));
	EXPECT_EQ(1, ksa_eventfd_take(self->a.efd));
}

/*
 * A child imports an owned frame's dma-buf through a DRM file of its own
 * and is killed, or passes that DRM file on first (SCM_RIGHTS): the frame
 * is held exactly as long as somebody holds the DRM file.
 */
static void child_import(struct __test_metadata *_metadata,
			 FIXTURE_DATA(vg) *self, int pass_drm_fd)
{
	int sv[2], status, got = -1, dfd;
	__u32 handle = 0;
	unsigned char *m;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		__u64 off = 0;
		int vfd;
		long h;

		close(sv[0]);
		close(self->vfd);
		vfd = vgem_open();
		dfd = kst_frame_alloc(self->a.fd, KSALLOC_FRAMEF_DMABUF, &off);
		if (vfd < 0 || dfd < 0)
			_exit(10);
		memset(self->a.map + off, 0x6e, self->a.info.frame_stride);
		h = vgem_import(vfd, dfd);
		if (h <= 0)
			_exit(11);
		handle = h;
		close(dfd);
		if (pass_drm_fd) {
			if (kst_send_fd(sv[1], vfd) ||
			    write(sv[1], &handle, sizeof(handle)) !=
			    sizeof(handle))
				_exit(12);
			_exit(0);
		}
		if (write(sv[1], &handle, sizeof(handle)) != sizeof(handle))
			_exit(13);
		for (;;)
			pause();
	}
	close(sv[1]);
	if (pass_drm_fd) {
		got = kst_recv_fd(sv[0]);
		ASSERT_LE(0, got);
	}
	ASSERT_EQ(0, kst_read_all(sv[0], &handle, sizeof(handle)));
	close(sv[0]);
	if (!pass_drm_fd)
		ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (!pass_drm_fd) {
		EXPECT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(0, kst_frame_counts(self->a.fd));
		EXPECT_EQ(1, ksa_eventfd_take(self->a.efd));
		return;
	}
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	/* Held through the DRM file alone; vgem hands the dma-buf back */
	EXPECT_EQ(101, kst_frame_counts(self->a.fd));
	dfd = vgem_export(got, handle);
	ASSERT_LE(0, dfd);
	m = mmap(NULL, self->a.info.frame_stride, PROT_READ, MAP_SHARED, dfd, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(0x6e, m[0]);
	EXPECT_EQ(0x6e, m[self->a.info.frame_stride - 1]);
	EXPECT_EQ(0, munmap(m, self->a.info.frame_stride));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, ksa_eventfd_take(self->a.efd));
	EXPECT_EQ(0, close(got));
	EXPECT_EQ(0, kst_frame_counts(self->a.fd));
	EXPECT_EQ(1, ksa_eventfd_take(self->a.efd));
}

TEST_F(vg, importer_killed)
{
	BODY_START();
	child_import(_metadata, self, 0);
}

TEST_F(vg, drm_fd_passed_on)
{
	BODY_START();
	child_import(_metadata, self, 1);
}

/* A dma-buf whose allocator is closed can still be imported */
TEST_F(vg, import_after_allocator_closed)
{
	struct kst_bufinfo bi;
	int dfd;
	long h;

	BODY_START();
	dfd = kst_frame_alloc(self->a.fd, KSALLOC_FRAMEF_DMABUF, NULL);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, alloc_drop(&self->a));
	h = vgem_import(self->vfd, dfd);
	ASSERT_LT(0, h);
	ASSERT_EQ(0, kst_dmabuf_bufinfo(dfd, "vgem", &bi));
	EXPECT_EQ(1, bi.named);
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(self->base.allocators + 1,
		  kst_read_long(KST_SYS_ALLOCATORS));
	EXPECT_EQ(0, vgem_close(self->vfd, h));
	KST_ASSERT_COUNTS(((struct kst_counts){
		.allocators = self->base.allocators,
		.total_bytes = self->base.total_bytes,
		.refcnt = self->base.refcnt,
		.fds = self->base.fds + 1 }), 200);	/* the eventfd */
}

/* ---- every order of FREE, close, GEM_CLOSE and allocator close ---- */

/*
 * One sequence: F = FREE (not for an owned frame), C = close of the
 * dma-buf fd, G = GEM_CLOSE (vgem detaches), A = munmap and close of the
 * allocator (never before F: FREE needs it).
 */
FIXTURE(order)
{
	int pin;
	int vfd;
	struct alloc a;
	struct kst_counts base;
};

FIXTURE_VARIANT(order)
{
	int owned;		/* FRAME_ALLOC with KSALLOC_FRAMEF_DMABUF */
	const char *seq;
};

#define ORDER(_name, _owned, _seq)					\
	FIXTURE_VARIANT_ADD(order, _name) { .owned = _owned, .seq = _seq }

ORDER(free_fd_gem_allocator, 0, "FCGA");
ORDER(free_fd_allocator_gem, 0, "FCAG");
ORDER(free_gem_fd_allocator, 0, "FGCA");
ORDER(free_gem_allocator_fd, 0, "FGAC");
ORDER(free_allocator_fd_gem, 0, "FACG");
ORDER(free_allocator_gem_fd, 0, "FAGC");
ORDER(fd_free_gem_allocator, 0, "CFGA");
ORDER(fd_free_allocator_gem, 0, "CFAG");
ORDER(fd_gem_free_allocator, 0, "CGFA");
ORDER(gem_free_fd_allocator, 0, "GFCA");
ORDER(gem_free_allocator_fd, 0, "GFAC");
ORDER(gem_fd_free_allocator, 0, "GCFA");
ORDER(owned_fd_gem_allocator, 1, "CGA");
ORDER(owned_fd_allocator_gem, 1, "CAG");
ORDER(owned_gem_fd_allocator, 1, "GCA");
ORDER(owned_gem_allocator_fd, 1, "GAC");
ORDER(owned_allocator_fd_gem, 1, "ACG");
ORDER(owned_allocator_gem_fd, 1, "AGC");

FIXTURE_SETUP(order)
{
	/* One frame: POLLIN on the allocator says whether it is back */
	VG_SETUP(1);
}

FIXTURE_TEARDOWN(order)
{
	VG_TEARDOWN();
}

TEST_F(order, frame_returns_when_all_let_go)
{
	int done_f = 0, done_c = 0, done_g = 0, done_a = 0, was_back = 0;
	const long held = self->a.info.bytes_held;
	struct kst_bufinfo bi;
	const char *step;
	__u64 off = ~0ULL;
	int dfd, alive, back;
	long h;

	BODY_START();
	if (variant->owned) {
		dfd = kst_frame_alloc(self->a.fd, KSALLOC_FRAMEF_DMABUF, &off);
	} else {
		dfd = held_frame_dmabuf(self->a.fd, &off);
	}
	ASSERT_LE(0, dfd);
	h = vgem_import(self->vfd, dfd);
	ASSERT_LT(0, h) TH_LOG("PRIME_FD_TO_HANDLE: %s", strerror(-h));

	for (step = variant->seq; ; step++) {
		alive = !(done_c && done_g);
		back = (done_f || variant->owned) && !alive;
		if (!done_a) {
			EXPECT_EQ((back ? 0 : 100) + alive,
				  kst_frame_counts(self->a.fd)) {
				TH_LOG("after \"%.*s\"", (int)(step - variant->seq),
				       variant->seq);
			}
			EXPECT_EQ(back, frame_free_now(self->a.fd));
			EXPECT_EQ(back && !was_back,
				  ksa_eventfd_take(self->a.efd));
		} else {
			/* Only the dma-buf can keep the allocator now */
			EXPECT_EQ(self->base.allocators + alive,
				  kst_read_long(KST_SYS_ALLOCATORS)) {
				TH_LOG("after \"%.*s\"", (int)(step - variant->seq),
				       variant->seq);
			}
			EXPECT_EQ(self->base.total_bytes + (alive ? held : 0),
				  kst_read_long(KST_SYS_TOTAL_BYTES));
		}
		if (!done_c) {
			ASSERT_EQ(0, kst_dmabuf_bufinfo(dfd, "vgem", &bi));
			EXPECT_EQ(!done_g, bi.named);
		}
		was_back = back;
		if (!*step)
			break;
		switch (*step) {
		case 'F':
			ASSERT_EQ(0, ksa_free(self->a.fd, off));
			done_f = 1;
			break;
		case 'C':
			ASSERT_EQ(0, close(dfd));
			done_c = 1;
			break;
		case 'G':
			ASSERT_EQ(0, vgem_close(self->vfd, h));
			done_g = 1;
			break;
		case 'A':
			ASSERT_EQ(0, alloc_drop(&self->a));
			done_a = 1;
			break;
		}
	}
	/* Nothing left behind: the eventfd and vgem's fd stay open */
	if (done_a)
		KST_ASSERT_COUNTS(((struct kst_counts){
			.allocators = self->base.allocators,
			.total_bytes = self->base.total_bytes,
			.refcnt = self->base.refcnt,
			.fds = self->base.fds + 1 }), 200);
}

TEST_HARNESS_MAIN
