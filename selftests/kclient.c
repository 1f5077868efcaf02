// SPDX-License-Identifier: GPL-2.0
/*
 * The ksalloc kernel API, driven through the test client module
 * (selftests/kmod/ksalloc_client.ko, /dev/ksalloc_client): a kernel driver
 * takes a reference on an allocator user space hands it as an fd, gets the
 * entry points from KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE, allocates
 * and fills frames that user space then sees through its mapping, frees
 * them, and lets go. Covers the errors of ksalloc_get()/_get_file() (EBADF,
 * EINVAL), blocking and KSALLOC_NOWAIT allocation from the kernel, in
 * every context ksalloc_kapi.h allows (process context, a spinlock held,
 * softirq, an interrupt handler's context: hard interrupt context
 * without PREEMPT_RT, a thread with it),
 * mixing kernel and user frees, the reference the client holds on the
 * allocator, and that the function table is served to the kernel only.
 *
 * The client's own devices (platform devices with their own DMA masks,
 * one with the default 64 KiB segment limit, one without) map frames
 * with ksalloc_frame_map() and import their dma-bufs as a driver does;
 * they play the device by reading and writing the memory behind the DMA
 * addresses. With the DMA API's syncs, and DMA_BUF_IOCTL_SYNC START and
 * END around CPU access to an imported frame, the device and the CPU see
 * the same data. Booted with swiotlb=force every mapping bounces, and the
 * *_unsynced_* and *_without_sync_end tests show the control: without the
 * syncs the data is stale, so the syncs are what moved it (skipped
 * without swiotlb=force). Large frames (1 MiB chunks, a contiguous 4 MiB
 * frame) map in segments each device and swiotlb take.
 *
 * Every test is skipped when the client module is not loaded.
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

#include "frames_lib.h"
#include "ksa_test.h"
#include "kmod/ksalloc_client.h"
#include "kselftest_harness.h"

#define NFRAMES		6
#define SYSFS_ALLOCATORS	KSA_SYSFS_DIR "allocators"
/* struct ksalloc_functiontable: two pointers of the 64-bit kernel */
#define KC_FT_SIZE	16

/* --- the client's ioctls: 0 or -errno ------------------------------------ */

static int kc_attach(int cfd, int fd, __u32 flags)
{
	struct ksalloc_client_attach a = { .fd = fd, .flags = flags };

	return ioctl(cfd, KSALLOC_CLIENT_ATTACH, &a) ? -errno : 0;
}

static int kc_detach(int cfd)
{
	return ioctl(cfd, KSALLOC_CLIENT_DETACH) ? -errno : 0;
}

static int kc_fill(int cfd, __u32 count, __u32 pattern, __u32 flags,
		   struct ksalloc_client_frame *frames)
{
	struct ksalloc_client_fill f = {
		.count = count,
		.pattern = pattern,
		.flags = flags,
		.frames = (uintptr_t)frames,
	};

	return ioctl(cfd, KSALLOC_CLIENT_FILL, &f) ? -errno : 0;
}

static int kc_free(int cfd, const __u64 *offsets, __u32 count, __u32 flags,
		   __u32 *freed)
{
	struct ksalloc_client_free f = {
		.offsets = (uintptr_t)offsets,
		.count = count,
		.flags = flags,
		.freed = 0xdead,
	};
	int ret = ioctl(cfd, KSALLOC_CLIENT_FREE, &f) ? -errno : 0;

	if (freed)
		*freed = f.freed;
	return ret;
}

/* ksalloc_property() in the kernel; its result in p->result */
static int kc_property(int cfd, const struct ksguid *set, __u32 id,
		       __u32 flags, __u32 size,
		       struct ksalloc_client_property *p)
{
	memset(p, 0, sizeof(*p));
	p->id = ksa_ident(set, id, flags);
	p->size = size;
	p->result = 1;		/* must be overwritten */
	return ioctl(cfd, KSALLOC_CLIENT_PROPERTY, p) ? -errno : 0;
}

static int kc_state(int cfd, struct ksalloc_client_state *st)
{
	memset(st, 0xff, sizeof(*st));
	return ioctl(cfd, KSALLOC_CLIENT_STATE, st) ? -errno : 0;
}

/* KSPROPERTY_STREAMALLOCATOR_STATUS read by the client from the kernel */
static long kc_allocated(int cfd)
{
	struct ksalloc_client_property p;
	struct ksstreamallocator_status st;
	int ret;

	ret = kc_property(cfd, &ksa_g_allocprops,
			  KSPROPERTY_STREAMALLOCATOR_STATUS,
			  KSPROPERTY_TYPE_GET, sizeof(st), &p);
	if (ret)
		return ret;
	if (p.result)
		return p.result;
	memcpy(&st, p.value, sizeof(st));
	return st.allocated_frames;
}

/* Index of the first byte of @map that is not FILL's pattern, or -1 */
static long kc_check_pattern(const unsigned char *map, __u32 pattern,
			     __u32 index, __u32 size)
{
	__u32 pos;

	for (pos = 0; pos < size; pos++)
		if (map[pos] != ksalloc_client_byte(pattern, index, pos))
			return pos;
	return -1;
}

/* A FILL in another thread, for the ones that sleep */
struct kc_filler {
	pthread_t thread;
	int cfd;
	__u32 count;
	__u32 pattern;
	__u32 flags;
	int ret;
	struct ksalloc_client_frame frames[NFRAMES];
};

static void *kc_filler_main(void *arg)
{
	struct kc_filler *f = arg;

	f->ret = kc_fill(f->cfd, f->count, f->pattern, f->flags, f->frames);
	return NULL;
}

static int kc_filler_start(struct kc_filler *f, int cfd, __u32 count,
			   __u32 pattern, __u32 flags)
{
	memset(f, 0, sizeof(*f));
	f->cfd = cfd;
	f->count = count;
	f->pattern = pattern;
	f->flags = flags;
	f->ret = 1;
	return pthread_create(&f->thread, NULL, kc_filler_main, f);
}

static void kc_sigusr1(int sig)
{
}

/* --- fixture ---------------------------------------------------------------
 * One pin, one allocator of NFRAMES frames whose size is not a multiple of
 * the page (so frame size and stride differ), its mapping, one client.
 */
FIXTURE(kc)
{
	int pin;
	int fd;
	int cfd;
	unsigned char *map;
	size_t map_size;
	struct ksalloc_allocator_info info;
	__u32 frame_size;
};

FIXTURE_SETUP(kc)
{
	self->pin = self->fd = self->cfd = -1;
	self->map = MAP_FAILED;
	if (access(KSALLOC_CLIENT_DEV, F_OK))
		SKIP(return, "%s absent: ksalloc_client.ko not loaded",
		     KSALLOC_CLIENT_DEV);

	self->frame_size = 2 * ksa_page_size() + 123;
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin) {
		TH_LOG("open %s: %s", KSA_DEV, strerror(-self->pin));
	}
	self->fd = ksa_create(self->pin, NFRAMES, self->frame_size, 0);
	ASSERT_LE(0, self->fd) {
		TH_LOG("create: %s", strerror(-self->fd));
	}
	ASSERT_EQ(0, ksa_info(self->fd, &self->info));
	ASSERT_EQ(3 * ksa_page_size(), self->info.frame_stride);
	self->map_size = self->info.mmap_size;
	self->map = mmap(NULL, self->map_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	self->cfd = open(KSALLOC_CLIENT_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->cfd) {
		TH_LOG("open %s: %s", KSALLOC_CLIENT_DEV, strerror(errno));
	}
}

/* What a fixture holds, let go in the order a user would */
static void kc_let_go(int cfd, void *map, size_t map_size, int fd, int pin)
{
	if (cfd >= 0)
		close(cfd);
	if (map != MAP_FAILED)
		munmap(map, map_size);
	if (fd >= 0)
		close(fd);
	if (pin >= 0)
		close(pin);
}

FIXTURE_TEARDOWN(kc)
{
	kc_let_go(self->cfd, self->map, self->map_size, self->fd, self->pin);
}

/* The 6.1 harness runs the body after a SKIP in the setup: stop it here. */
#define KC_BODY_START() do { if (_metadata->skip) return; } while (0)

/* Drop the user's mapping and fd: only the client holds the allocator. */
#define KC_USER_LETS_GO() do {						\
	ASSERT_EQ(0, munmap(self->map, self->map_size));		\
	self->map = MAP_FAILED;						\
	ASSERT_EQ(0, close(self->fd));					\
	self->fd = -1;							\
} while (0)

/* --- round trip, once per way the client allocates ------------------------ */

/* The adjustment of the round trip's FREEFRAME semaphore event */
#define KC_ADJ		3

/*
 * Frames filled by the kernel through frame.vaddr are the frames user
 * space sees at the returned offsets; STATUS counts them while the client
 * holds them and not after its FREE, and each free by the client is
 * signalled on a FREEFRAME eventfd (from the client's context).
 */
static void kc_round_trip(struct __test_metadata *_metadata,
			  FIXTURE_DATA(kc) *self, __u32 fill_flags,
			  __u32 free_flags)
{
	const __u32 n = NFRAMES - 1, pattern = 0x5a17c0de ^ fill_flags;
	struct ksalloc_client_frame frames[NFRAMES];
	struct ksalloc_client_state st;
	struct kseventdata ed;
	__u64 offsets[NFRAMES];
	__u32 i, j, freed;
	long bad;
	int efd;

	if (_metadata->skip)
		return;
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ksa_semaphore_handle(&ed, efd, KC_ADJ);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	ASSERT_EQ(0, kc_state(self->cfd, &st));
	EXPECT_EQ(1, st.attached);
	EXPECT_EQ(0, st.held);

	memset(frames, 0xff, sizeof(frames));
	ASSERT_EQ(0, kc_fill(self->cfd, n, pattern, fill_flags, frames));
	for (i = 0; i < n; i++) {
		EXPECT_LT(frames[i].index, NFRAMES);
		EXPECT_EQ((__u64)frames[i].index * self->info.frame_stride,
			  frames[i].offset);
		EXPECT_EQ(self->frame_size, frames[i].size);
		for (j = 0; j < i; j++)
			EXPECT_NE(frames[j].index, frames[i].index);
		ASSERT_LT(frames[i].offset, self->map_size);
		bad = kc_check_pattern(self->map + frames[i].offset, pattern,
				       frames[i].index, self->frame_size);
		EXPECT_EQ(-1, bad) {
			TH_LOG("frame %u: byte %ld differs", frames[i].index, bad);
		}
		offsets[i] = frames[i].offset;
	}
	EXPECT_EQ(n, ksa_allocated(self->fd));
	EXPECT_EQ(n, kc_allocated(self->cfd));
	ASSERT_EQ(0, kc_state(self->cfd, &st));
	EXPECT_EQ(n, st.held);
	EXPECT_EQ(1, st.sgt_ok);

	ASSERT_EQ(0, kc_free(self->cfd, offsets, n, free_flags, &freed));
	EXPECT_EQ(n, freed);
	EXPECT_EQ(0, ksa_allocated(self->fd));
	ASSERT_EQ(0, kc_state(self->cfd, &st));
	EXPECT_EQ(0, st.held);
	EXPECT_EQ(n * KC_ADJ, ksa_eventfd_take(efd));

	/* The whole pool, a second time, with another pattern */
	ASSERT_EQ(0, kc_fill(self->cfd, NFRAMES, ~pattern, fill_flags,
			     frames));
	for (i = 0; i < NFRAMES; i++) {
		bad = kc_check_pattern(self->map + frames[i].offset, ~pattern,
				       frames[i].index, self->frame_size);
		EXPECT_EQ(-1, bad);
		offsets[i] = frames[i].offset;
	}
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	ASSERT_EQ(0, kc_free(self->cfd, offsets, NFRAMES, free_flags,
			     &freed));
	EXPECT_EQ(NFRAMES, freed);
	EXPECT_EQ(0, ksa_allocated(self->fd));
	EXPECT_EQ(NFRAMES * KC_ADJ, ksa_eventfd_take(efd));
	EXPECT_EQ(0, kc_detach(self->cfd));
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));
	close(efd);
}

TEST_F(kc, round_trip_table)
{
	kc_round_trip(_metadata, self, 0, 0);
}

TEST_F(kc, round_trip_direct)
{
	kc_round_trip(_metadata, self, KSALLOC_CLIENT_DIRECT, 0);
}

TEST_F(kc, round_trip_table_nowait)
{
	kc_round_trip(_metadata, self, KSALLOC_CLIENT_NOWAIT, 0);
}

/* With a spinlock held and interrupts off: NOWAIT and free are atomic-safe. */
TEST_F(kc, round_trip_atomic)
{
	kc_round_trip(_metadata, self,
		      KSALLOC_CLIENT_NOWAIT | KSALLOC_CLIENT_ATOMIC,
		      KSALLOC_CLIENT_ATOMIC);
}

TEST_F(kc, round_trip_direct_atomic)
{
	kc_round_trip(_metadata, self,
		      KSALLOC_CLIENT_NOWAIT | KSALLOC_CLIENT_ATOMIC |
		      KSALLOC_CLIENT_DIRECT, KSALLOC_CLIENT_ATOMIC);
}

/* In a tasklet: softirq context (a thread on PREEMPT_RT) */
TEST_F(kc, round_trip_softirq)
{
	kc_round_trip(_metadata, self,
		      KSALLOC_CLIENT_NOWAIT | KSALLOC_CLIENT_SOFTIRQ,
		      KSALLOC_CLIENT_SOFTIRQ);
}

/* In an irq_work: hard interrupt context (a thread on PREEMPT_RT) */
TEST_F(kc, round_trip_hardirq)
{
	kc_round_trip(_metadata, self,
		      KSALLOC_CLIENT_NOWAIT | KSALLOC_CLIENT_HARDIRQ |
		      KSALLOC_CLIENT_DIRECT, KSALLOC_CLIENT_HARDIRQ);
}

/* Allocated in one context, freed in another */
TEST_F(kc, round_trip_hardirq_to_process)
{
	kc_round_trip(_metadata, self,
		      KSALLOC_CLIENT_NOWAIT | KSALLOC_CLIENT_HARDIRQ, 0);
}

TEST_F(kc, round_trip_softirq_to_atomic)
{
	kc_round_trip(_metadata, self,
		      KSALLOC_CLIENT_NOWAIT | KSALLOC_CLIENT_SOFTIRQ |
		      KSALLOC_CLIENT_DIRECT, KSALLOC_CLIENT_ATOMIC);
}

/* ksalloc_get_file() on an fget() file is a reference like ksalloc_get() */
TEST_F(kc, attach_by_file)
{
	struct ksalloc_client_frame frames[2];
	__u64 offsets[2];
	long before = ksa_read_ll(SYSFS_ALLOCATORS);

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, KSALLOC_CLIENT_ATTACH_FILE));
	ASSERT_EQ(0, kc_fill(self->cfd, 2, 7, KSALLOC_CLIENT_NOWAIT, frames));
	EXPECT_EQ(-1, kc_check_pattern(self->map + frames[1].offset, 7,
				       frames[1].index, self->frame_size));
	EXPECT_EQ(2, ksa_allocated(self->fd));
	offsets[0] = frames[0].offset;
	offsets[1] = frames[1].offset;
	EXPECT_EQ(0, kc_free(self->cfd, offsets, 2, 0, NULL));
	EXPECT_EQ(0, ksa_allocated(self->fd));

	KC_USER_LETS_GO();
	EXPECT_EQ(before, ksa_read_ll(SYSFS_ALLOCATORS));
	EXPECT_EQ(0, kc_detach(self->cfd));
	EXPECT_EQ(before - 1, ksa_read_ll(SYSFS_ALLOCATORS));
}

/* --- ksalloc_get() errors, passed through as the ioctl's errno ----------- */

TEST_F(kc, attach_bad_fd_ebadf)
{
	int closed;

	KC_BODY_START();
	closed = dup(self->fd);
	ASSERT_LE(0, closed);
	ASSERT_EQ(0, close(closed));

	EXPECT_EQ(-EBADF, kc_attach(self->cfd, -1, 0));
	EXPECT_EQ(-EBADF, kc_attach(self->cfd, closed, 0));
	EXPECT_EQ(-EBADF, kc_attach(self->cfd, 1 << 30, 0));
	EXPECT_EQ(-EBADF, kc_attach(self->cfd, closed,
				    KSALLOC_CLIENT_ATTACH_FILE));
	/* Nothing was attached by the failures */
	EXPECT_EQ(-ENOTCONN, kc_detach(self->cfd));
	EXPECT_EQ(0, kc_attach(self->cfd, self->fd, 0));
}

TEST_F(kc, attach_non_allocator_einval)
{
	int efd, devnull;

	KC_BODY_START();
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, devnull);

	EXPECT_EQ(-EINVAL, kc_attach(self->cfd, self->pin, 0));
	EXPECT_EQ(-EINVAL, kc_attach(self->cfd, efd, 0));
	EXPECT_EQ(-EINVAL, kc_attach(self->cfd, devnull, 0));
	EXPECT_EQ(-EINVAL, kc_attach(self->cfd, self->cfd, 0));
	EXPECT_EQ(-EINVAL, kc_attach(self->cfd, self->pin,
				     KSALLOC_CLIENT_ATTACH_FILE));
	EXPECT_EQ(-EINVAL, kc_attach(self->cfd, efd,
				     KSALLOC_CLIENT_ATTACH_FILE));
	EXPECT_EQ(-ENOTCONN, kc_detach(self->cfd));

	close(devnull);
	close(efd);
}

/* The client's own rules: one allocator at a time, nothing before ATTACH */
TEST_F(kc, attach_state_errors)
{
	struct ksalloc_client_frame frame;
	struct ksalloc_client_state st;
	__u64 off = 0;

	KC_BODY_START();
	EXPECT_EQ(-ENOTCONN, kc_fill(self->cfd, 1, 0, 0, &frame));
	EXPECT_EQ(-ENOTCONN, kc_free(self->cfd, &off, 1, 0, NULL));
	EXPECT_EQ(-ENOTCONN, kc_detach(self->cfd));
	ASSERT_EQ(0, kc_state(self->cfd, &st));
	EXPECT_EQ(0, st.attached);

	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	EXPECT_EQ(-EBUSY, kc_attach(self->cfd, self->fd, 0));
	EXPECT_EQ(-EINVAL, kc_attach(self->cfd, self->fd, 0x80));
	EXPECT_EQ(0, kc_detach(self->cfd));
	EXPECT_EQ(-ENOTCONN, kc_detach(self->cfd));
	/* Attaching again after a DETACH works */
	EXPECT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	EXPECT_EQ(0, kc_detach(self->cfd));
}

/* --- KSALLOC_NOWAIT and blocking allocation from the kernel --------------- */

TEST_F(kc, nowait_beyond_pool_eagain)
{
	struct ksalloc_client_frame frames[NFRAMES + 1];
	__u64 offsets[NFRAMES];
	__u32 i;

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));

	/* More than the pool in one FILL: nothing is kept */
	EXPECT_EQ(-EAGAIN, kc_fill(self->cfd, NFRAMES + 1, 1,
				   KSALLOC_CLIENT_NOWAIT, frames));
	EXPECT_EQ(0, ksa_allocated(self->fd));
	EXPECT_EQ(-EAGAIN, kc_fill(self->cfd, NFRAMES + 1, 1,
				   KSALLOC_CLIENT_NOWAIT | KSALLOC_CLIENT_DIRECT,
				   frames));
	EXPECT_EQ(-EAGAIN, kc_fill(self->cfd, NFRAMES + 1, 1,
				   KSALLOC_CLIENT_NOWAIT | KSALLOC_CLIENT_ATOMIC,
				   frames));
	EXPECT_EQ(0, ksa_allocated(self->fd));

	/* The pool, then one more */
	ASSERT_EQ(0, kc_fill(self->cfd, NFRAMES, 1, KSALLOC_CLIENT_NOWAIT,
			     frames));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	EXPECT_EQ(-EAGAIN, kc_fill(self->cfd, 1, 2, KSALLOC_CLIENT_NOWAIT,
				   frames));
	EXPECT_EQ(-EAGAIN, kc_fill(self->cfd, 1, 2, KSALLOC_CLIENT_NOWAIT |
				   KSALLOC_CLIENT_DIRECT, frames));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));

	/* A user FREE makes one frame available to the kernel again */
	EXPECT_EQ(0, ksa_free(self->fd, 3 * self->info.frame_stride));
	EXPECT_EQ(0, kc_fill(self->cfd, 1, 3, KSALLOC_CLIENT_NOWAIT |
			     KSALLOC_CLIENT_DIRECT, frames));
	EXPECT_EQ(3, frames[0].index);
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	for (i = 0; i < NFRAMES; i++)
		offsets[i] = (__u64)i * self->info.frame_stride;
	EXPECT_EQ(0, kc_free(self->cfd, offsets, NFRAMES, 0, NULL));
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

/* A FILL asleep in ksalloc_alloc_frame() gets the frame user space frees. */
TEST_F(kc, blocking_fill_woken_by_user_free)
{
	struct kc_filler f;
	__u64 off;
	int i;

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	for (i = 0; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_alloc(self->fd, &off));

	ASSERT_EQ(0, kc_filler_start(&f, self->cfd, 1, 0xabc, 0));
	if (!ksa_wait_waiters(self->fd, 1)) {
		ksa_reset(self->fd, KSRESET_BEGIN);	/* let the thread go */
		pthread_join(f.thread, NULL);
		ASSERT_TRUE(0) {
			TH_LOG("the kernel FILL never slept (waiters %ld, ret %d)",
			       ksa_waiters(self->fd), f.ret);
		}
	}
	EXPECT_EQ(1, f.ret);	/* still asleep */

	off = 2 * self->info.frame_stride;
	EXPECT_EQ(0, ksa_free(self->fd, off));
	ASSERT_EQ(0, pthread_join(f.thread, NULL));
	ASSERT_EQ(0, f.ret);
	EXPECT_EQ(off, f.frames[0].offset);
	EXPECT_EQ(2, f.frames[0].index);
	EXPECT_EQ(-1, kc_check_pattern(self->map + off, 0xabc, 2,
				       self->frame_size));
	EXPECT_EQ(0, ksa_waiters(self->fd));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	/* The client's DETACH returns the frame it holds */
	EXPECT_EQ(0, kc_detach(self->cfd));
	EXPECT_EQ(NFRAMES - 1, ksa_allocated(self->fd));
}

/* KSRESET_BEGIN sends a sleeping kernel allocation away with ECANCELED. */
TEST_F(kc, blocking_fill_cancelled_by_reset)
{
	struct ksalloc_client_frame frame;
	struct kc_filler f;
	__u64 off;
	int i;

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	for (i = 0; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_alloc(self->fd, &off));

	ASSERT_EQ(0, kc_filler_start(&f, self->cfd, 1, 1, KSALLOC_CLIENT_DIRECT));
	EXPECT_TRUE(ksa_wait_waiters(self->fd, 1));
	EXPECT_EQ(0, ksa_reset(self->fd, KSRESET_BEGIN));
	ASSERT_EQ(0, pthread_join(f.thread, NULL));
	EXPECT_EQ(-ECANCELED, f.ret);

	/* Refused while the reset lasts, even with frames free */
	EXPECT_EQ(0, ksa_free(self->fd, 0));
	EXPECT_EQ(-ECANCELED, kc_fill(self->cfd, 1, 1, KSALLOC_CLIENT_NOWAIT,
				      &frame));
	EXPECT_EQ(-ECANCELED, kc_fill(self->cfd, 1, 1, 0, &frame));
	EXPECT_EQ(0, ksa_reset(self->fd, KSRESET_END));
	EXPECT_EQ(0, kc_fill(self->cfd, 1, 1, KSALLOC_CLIENT_NOWAIT, &frame));
	EXPECT_EQ(0, frame.offset);
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
}

/*
 * A signal ends the sleep with EINTR (no SA_RESTART); the frame the same
 * FILL already had goes back, so nothing leaks.
 */
TEST_F(kc, blocking_fill_interrupted)
{
	struct sigaction sa = { .sa_handler = kc_sigusr1 };
	struct kc_filler f;
	__u64 off;
	int i;

	KC_BODY_START();
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	for (i = 0; i < NFRAMES - 1; i++)
		ASSERT_EQ(0, ksa_alloc(self->fd, &off));

	/* The first frame is there, the second is not */
	ASSERT_EQ(0, kc_filler_start(&f, self->cfd, 2, 1, 0));
	EXPECT_TRUE(ksa_wait_waiters(self->fd, 1));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	EXPECT_EQ(0, pthread_kill(f.thread, SIGUSR1));
	ASSERT_EQ(0, pthread_join(f.thread, NULL));
	EXPECT_EQ(-EINTR, f.ret);
	EXPECT_EQ(0, ksa_waiters(self->fd));
	EXPECT_EQ(NFRAMES - 1, ksa_allocated(self->fd));
}

/* A DETACH while a FILL sleeps: the FILL still completes on the allocator. */
TEST_F(kc, detach_while_fill_sleeps)
{
	struct ksalloc_client_state st;
	struct kc_filler f;
	__u64 off;
	int i;

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	for (i = 0; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_alloc(self->fd, &off));
	ASSERT_EQ(0, kc_filler_start(&f, self->cfd, 1, 9, 0));
	EXPECT_TRUE(ksa_wait_waiters(self->fd, 1));

	EXPECT_EQ(0, kc_detach(self->cfd));
	ASSERT_EQ(0, kc_state(self->cfd, &st));
	EXPECT_EQ(0, st.attached);
	EXPECT_EQ(1, ksa_waiters(self->fd));

	EXPECT_EQ(0, ksa_free(self->fd, off));
	ASSERT_EQ(0, pthread_join(f.thread, NULL));
	EXPECT_EQ(0, f.ret);
	EXPECT_EQ(off, f.frames[0].offset);
	/* The detached client let go of that frame when the FILL ended */
	EXPECT_EQ(NFRAMES - 1, ksa_allocated(self->fd));
}

/* --- FILL and FREE argument checks --------------------------------------- */

TEST_F(kc, fill_bad_arguments)
{
	struct ksalloc_client_fill fill;
	struct ksalloc_client_frame frame;
	void *ro;

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	EXPECT_EQ(-EINVAL, kc_fill(self->cfd, 0, 0, 0, &frame));
	EXPECT_EQ(-EINVAL, kc_fill(self->cfd, KSALLOC_CLIENT_MAX_FRAMES + 1, 0,
				   0, &frame));
	EXPECT_EQ(-EINVAL, kc_fill(self->cfd, 1, 0, 0x100, &frame));
	/* Atomic contexts cannot sleep: they need NOWAIT */
	EXPECT_EQ(-EINVAL, kc_fill(self->cfd, 1, 0, KSALLOC_CLIENT_ATOMIC,
				   &frame));
	EXPECT_EQ(-EINVAL, kc_fill(self->cfd, 1, 0, KSALLOC_CLIENT_SOFTIRQ,
				   &frame));
	EXPECT_EQ(-EINVAL, kc_fill(self->cfd, 1, 0, KSALLOC_CLIENT_HARDIRQ,
				   &frame));
	/* One context at a time */
	EXPECT_EQ(-EINVAL, kc_fill(self->cfd, 1, 0, KSALLOC_CLIENT_NOWAIT |
				   KSALLOC_CLIENT_SOFTIRQ |
				   KSALLOC_CLIENT_HARDIRQ, &frame));
	frame.offset = 0;
	EXPECT_EQ(-EINVAL, kc_free(self->cfd, &frame.offset, 1,
				   KSALLOC_CLIENT_SOFTIRQ |
				   KSALLOC_CLIENT_ATOMIC, NULL));
	memset(&fill, 0, sizeof(fill));
	fill.count = 1;
	fill.frames = (uintptr_t)&frame;
	fill.reserved = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->cfd, KSALLOC_CLIENT_FILL, &fill));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, ksa_allocated(self->fd));

	/* The result cannot be written: the frames go back */
	ro = mmap(NULL, ksa_page_size(), PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
		  -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, kc_fill(self->cfd, 2, 0, KSALLOC_CLIENT_NOWAIT, ro));
	EXPECT_EQ(-EFAULT, kc_fill(self->cfd, 2, 0, 0, NULL));
	EXPECT_EQ(0, ksa_allocated(self->fd));
	munmap(ro, ksa_page_size());

	EXPECT_EQ(-ENOTTY, ioctl(self->cfd, _IO(KSALLOC_CLIENT_IOC_TYPE, 99)) ?
		  -errno : 0);
}

/*
 * ksalloc_free_frame() refuses what is not an allocated frame with EINVAL,
 * and FREE stops there: the frames before it are freed, the rest are not.
 */
TEST_F(kc, free_errors)
{
	struct ksalloc_client_frame frames[3];
	__u64 offsets[4];
	__u32 freed;

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	ASSERT_EQ(0, kc_fill(self->cfd, 3, 0, KSALLOC_CLIENT_NOWAIT, frames));
	ASSERT_EQ(0, frames[0].offset);	/* lowest index first */

	/* A frame not allocated, inside a frame, past the end */
	offsets[0] = 4 * self->info.frame_stride;
	EXPECT_EQ(-EINVAL, kc_free(self->cfd, offsets, 1, 0, &freed));
	EXPECT_EQ(0, freed);
	offsets[0] = frames[1].offset + ksa_page_size();
	EXPECT_EQ(-EINVAL, kc_free(self->cfd, offsets, 1, 0, &freed));
	EXPECT_EQ(0, freed);
	offsets[0] = NFRAMES * self->info.frame_stride;
	EXPECT_EQ(-EINVAL, kc_free(self->cfd, offsets, 1, 0, &freed));
	offsets[0] = ~0ULL;
	EXPECT_EQ(-EINVAL, kc_free(self->cfd, offsets, 1,
				   KSALLOC_CLIENT_ATOMIC, &freed));
	EXPECT_EQ(3, ksa_allocated(self->fd));

	/* good, bad, good: one freed */
	offsets[0] = frames[0].offset;
	offsets[1] = 5 * self->info.frame_stride;
	offsets[2] = frames[2].offset;
	EXPECT_EQ(-EINVAL, kc_free(self->cfd, offsets, 3, 0, &freed));
	EXPECT_EQ(1, freed);
	EXPECT_EQ(2, ksa_allocated(self->fd));

	/* A double free */
	EXPECT_EQ(-EINVAL, kc_free(self->cfd, offsets, 1, 0, &freed));
	EXPECT_EQ(0, freed);
	EXPECT_EQ(2, ksa_allocated(self->fd));

	/* Argument checks of the client */
	EXPECT_EQ(-EINVAL, kc_free(self->cfd, offsets, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, kc_free(self->cfd, offsets, 1, 0x80, NULL));
	EXPECT_EQ(-EFAULT, kc_free(self->cfd, NULL, 1, 0, NULL));
	EXPECT_EQ(2, ksa_allocated(self->fd));
}

/* Frames belong to the allocator: either side may free the other's. */
TEST_F(kc, free_across_kernel_and_user)
{
	struct ksalloc_client_frame frame;
	__u64 off;

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));

	ASSERT_EQ(0, ksa_alloc(self->fd, &off));
	EXPECT_EQ(1, kc_allocated(self->cfd));
	EXPECT_EQ(0, kc_free(self->cfd, &off, 1, 0, NULL));
	EXPECT_EQ(0, ksa_allocated(self->fd));
	EXPECT_EQ(-EINVAL, ksa_free(self->fd, off));

	ASSERT_EQ(0, kc_fill(self->cfd, 1, 0, 0, &frame));
	EXPECT_EQ(1, ksa_allocated(self->fd));
	EXPECT_EQ(0, ksa_free(self->fd, frame.offset));
	EXPECT_EQ(0, ksa_allocated(self->fd));
	EXPECT_EQ(-EINVAL, kc_free(self->cfd, &frame.offset, 1, 0, NULL));
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

/* --- the client's reference on the allocator ------------------------------ */

/*
 * With the user's fd and mapping gone, the client's reference keeps the
 * allocator (sysfs still counts it, the kernel path still works); DETACH
 * drops the last reference and the allocator goes.
 */
TEST_F(kc, reference_outlives_user_fd_until_detach)
{
	struct ksalloc_client_frame frames[2];
	long before = ksa_read_ll(SYSFS_ALLOCATORS);
	long long bytes = ksa_read_ll(KSA_SYSFS_DIR "total_bytes");
	__u64 off;

	KC_BODY_START();
	ASSERT_LE(1, before);
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	KC_USER_LETS_GO();

	EXPECT_EQ(before, ksa_read_ll(SYSFS_ALLOCATORS));
	EXPECT_EQ(bytes, ksa_read_ll(KSA_SYSFS_DIR "total_bytes"));
	ASSERT_EQ(0, kc_fill(self->cfd, 2, 4, KSALLOC_CLIENT_NOWAIT, frames));
	EXPECT_EQ(2, kc_allocated(self->cfd));
	off = frames[0].offset;
	EXPECT_EQ(0, kc_free(self->cfd, &off, 1, 0, NULL));
	EXPECT_EQ(1, kc_allocated(self->cfd));

	/* The last reference, with a frame still held */
	EXPECT_EQ(0, kc_detach(self->cfd));
	EXPECT_EQ(before - 1, ksa_read_ll(SYSFS_ALLOCATORS));
	EXPECT_GT(bytes, ksa_read_ll(KSA_SYSFS_DIR "total_bytes"));
}

/* Closing the client without DETACH drops its reference just the same. */
TEST_F(kc, reference_dropped_on_client_close)
{
	struct ksalloc_client_frame frames[3];
	long before = ksa_read_ll(SYSFS_ALLOCATORS);

	KC_BODY_START();
	ASSERT_LE(1, before);
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	ASSERT_EQ(0, kc_fill(self->cfd, 3, 4, 0, frames));
	KC_USER_LETS_GO();
	EXPECT_EQ(before, ksa_read_ll(SYSFS_ALLOCATORS));

	ASSERT_EQ(0, close(self->cfd));
	self->cfd = -1;
	EXPECT_EQ(before - 1, ksa_read_ll(SYSFS_ALLOCATORS));
}

/* The frames a closing client still holds go back to the allocator. */
TEST_F(kc, client_close_returns_frames)
{
	struct ksalloc_client_frame frames[NFRAMES];
	long before = ksa_read_ll(SYSFS_ALLOCATORS);

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	ASSERT_EQ(0, kc_fill(self->cfd, NFRAMES, 4, 0, frames));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	ASSERT_EQ(0, close(self->cfd));
	self->cfd = -1;
	EXPECT_EQ(0, ksa_allocated(self->fd));
	/* The user's fd still holds the allocator */
	EXPECT_EQ(before, ksa_read_ll(SYSFS_ALLOCATORS));
}

/* Two clients hold one allocator; it goes with the last of them. */
TEST_F(kc, two_clients_two_references)
{
	long before = ksa_read_ll(SYSFS_ALLOCATORS);
	int cfd2;

	KC_BODY_START();
	cfd2 = open(KSALLOC_CLIENT_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, cfd2);
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	ASSERT_EQ(0, kc_attach(cfd2, self->fd, KSALLOC_CLIENT_ATTACH_FILE));
	KC_USER_LETS_GO();

	EXPECT_EQ(0, kc_detach(self->cfd));
	EXPECT_EQ(before, ksa_read_ll(SYSFS_ALLOCATORS));
	EXPECT_EQ(0, kc_allocated(cfd2));
	EXPECT_EQ(0, close(cfd2));
	EXPECT_EQ(before - 1, ksa_read_ll(SYSFS_ALLOCATORS));
}

/* --- KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE: kernel only ---------------- */

TEST_F(kc, functiontable_kernel_only)
{
	struct ksidentifier id = ksa_ident(&ksa_g_allocprops,
					   KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE,
					   KSPROPERTY_TYPE_GET);
	struct ksalloc_client_property p;
	unsigned char buf[64];
	__u32 returned = 0xdead;

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));

	/* From the kernel: the two exported entry points, 16 bytes */
	ASSERT_EQ(0, kc_property(self->cfd, &ksa_g_allocprops,
				 KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE,
				 KSPROPERTY_TYPE_GET, KC_FT_SIZE, &p));
	EXPECT_EQ(0, p.result);
	EXPECT_EQ(KC_FT_SIZE, p.returned);
	EXPECT_EQ(KSALLOC_CLIENT_FT_MATCH, p.flags);

	/* Size query and a short buffer from the kernel: -EOVERFLOW */
	ASSERT_EQ(0, kc_property(self->cfd, &ksa_g_allocprops,
				 KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE,
				 KSPROPERTY_TYPE_GET, 0, &p));
	EXPECT_EQ(-EOVERFLOW, p.result);
	EXPECT_EQ(KC_FT_SIZE, p.returned);
	ASSERT_EQ(0, kc_property(self->cfd, &ksa_g_allocprops,
				 KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE,
				 KSPROPERTY_TYPE_GET, KC_FT_SIZE / 2, &p));
	EXPECT_EQ(-EOVERFLOW, p.result);
	EXPECT_EQ(KC_FT_SIZE, p.returned);

	/* Get only, also for the kernel */
	ASSERT_EQ(0, kc_property(self->cfd, &ksa_g_allocprops,
				 KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE,
				 KSPROPERTY_TYPE_SET, KC_FT_SIZE, &p));
	EXPECT_EQ(-EOPNOTSUPP, p.result);

	/* From user space: not supported, whatever the buffer */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(-EOPNOTSUPP, ksa_ioctl(self->fd, IOCTL_KS_PROPERTY, &id,
					 sizeof(id), buf, sizeof(buf), 0,
					 &returned));
	EXPECT_EQ(0, returned);
	EXPECT_EQ(-EOPNOTSUPP, ksa_ioctl(self->fd, IOCTL_KS_PROPERTY, &id,
					 sizeof(id), NULL, 0, 0, &returned));
	EXPECT_EQ(0, returned);
	id.flags = KSPROPERTY_TYPE_BASICSUPPORT;
	EXPECT_EQ(-EOPNOTSUPP, ksa_ioctl(self->fd, IOCTL_KS_PROPERTY, &id,
					 sizeof(id), buf, sizeof(buf), 0, NULL));
	/* No byte of a kernel pointer reached the buffer */
	EXPECT_EQ(0, buf[0] | buf[7] | buf[8] | buf[15]);
}

/* The kernel path serves the ordinary items with the same values. */
TEST_F(kc, kernel_property_matches_user)
{
	struct ksalloc_client_property p;
	struct ksstreamallocator_status kst, ust;
	struct ksalloc_allocator_info kinfo;
	struct ksproperty_description desc;
	__u64 off;

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	ASSERT_EQ(0, ksa_alloc(self->fd, &off));

	ASSERT_EQ(0, kc_property(self->cfd, &ksa_g_allocprops,
				 KSPROPERTY_STREAMALLOCATOR_STATUS,
				 KSPROPERTY_TYPE_GET, sizeof(kst), &p));
	ASSERT_EQ(0, p.result);
	EXPECT_EQ(sizeof(kst), p.returned);
	memcpy(&kst, p.value, sizeof(kst));
	ASSERT_EQ(0, ksa_status(self->fd, &ust));
	EXPECT_EQ(0, memcmp(&kst, &ust, sizeof(kst)));
	EXPECT_EQ(1, kst.allocated_frames);
	EXPECT_EQ(NFRAMES, kst.framing.frames);

	ASSERT_EQ(0, kc_property(self->cfd, &ksa_g_ksalloc_alloc,
				 KSPROPERTY_KSALLOC_ALLOCATOR_INFO,
				 KSPROPERTY_TYPE_GET, sizeof(kinfo), &p));
	ASSERT_EQ(0, p.result);
	memcpy(&kinfo, p.value, sizeof(kinfo));
	EXPECT_EQ(self->info.id, kinfo.id);
	EXPECT_EQ(1, kinfo.allocated_frames);

	/* BASICSUPPORT of the function table works from the kernel */
	ASSERT_EQ(0, kc_property(self->cfd, &ksa_g_allocprops,
				 KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE,
				 KSPROPERTY_TYPE_BASICSUPPORT, sizeof(desc), &p));
	ASSERT_EQ(0, p.result);
	EXPECT_EQ(sizeof(desc), p.returned);
	memcpy(&desc, p.value, sizeof(desc));
	EXPECT_EQ(KSPROPERTY_TYPE_GET, desc.access_flags);

	/* Unknown set and id: ENOENT, as from user space */
	ASSERT_EQ(0, kc_property(self->cfd, &ksa_g_stream, 0,
				 KSPROPERTY_TYPE_GET, 8, &p));
	EXPECT_EQ(-ENOENT, p.result);
	ASSERT_EQ(0, kc_property(self->cfd, &ksa_g_allocprops, 77,
				 KSPROPERTY_TYPE_GET, 8, &p));
	EXPECT_EQ(-ENOENT, p.result);
	EXPECT_EQ(0, ksa_free(self->fd, off));
}

/* --- the client's device: DMA mappings and syncs ------------------------- */

static int kc_dma(int cfd, __u64 offset, __u32 index, __u32 size,
		  __u32 pattern, __u32 flags, struct ksalloc_client_dma *d)
{
	memset(d, 0, sizeof(*d));
	d->offset = offset;
	d->index = index;
	d->size = size;
	d->pattern = pattern;
	d->flags = flags;
	return ioctl(cfd, KSALLOC_CLIENT_DMA, d) ? -errno : 0;
}

static int kc_import(int cfd, int dfd, __u32 flags, __u32 size, __u32 pattern,
		     struct ksalloc_client_import *im)
{
	memset(im, 0, sizeof(*im));
	im->fd = dfd;
	im->flags = flags;
	im->size = size;
	im->pattern = pattern;
	return ioctl(cfd, KSALLOC_CLIENT_IMPORT, im) ? -errno : 0;
}

static int kc_unimport(int cfd)
{
	return ioctl(cfd, KSALLOC_CLIENT_UNIMPORT) ? -errno : 0;
}

/* The device reads the import's mapping: bytes that have the pattern */
static long kc_import_read(int cfd, __u32 size, __u32 pattern)
{
	struct ksalloc_client_import_read r = {
		.size = size, .pattern = pattern, .result = 0xdead,
	};

	if (ioctl(cfd, KSALLOC_CLIENT_IMPORT_READ, &r))
		return -errno;
	return r.result;
}

/* Whether the kernel was booted with swiotlb=force (every mapping bounces) */
static int swiotlb_forced(void)
{
	char buf[4096];

	if (kst_read_str("/proc/cmdline", buf, sizeof(buf)))
		return 0;
	return strstr(buf, "swiotlb=force") != NULL;
}

#define KC_NEED_SWIOTLB() do {						\
	if (!swiotlb_forced())						\
		SKIP(return, "needs a kernel booted with swiotlb=force "	\
		     "(every DMA mapping bounces); /proc/cmdline lacks it"); \
} while (0)

/* A user frame of the fixture's allocator, filled with @byte */
static __u64 kc_user_frame(struct __test_metadata *_metadata,
			   FIXTURE_DATA(kc) *self, unsigned char byte)
{
	__u64 off = ~0ULL;

	EXPECT_EQ(0, ksa_alloc(self->fd, &off));
	if (off < self->map_size)
		memset(self->map + off, byte, self->info.frame_stride);
	return off;
}

/* Bytes of the mapping at @off that are not FILL's pattern */
static long kc_wrong(FIXTURE_DATA(kc) *self, __u64 off, __u32 pattern,
		     __u32 index)
{
	long n = 0;
	__u32 pos;

	for (pos = 0; pos < self->frame_size; pos++)
		if (self->map[off + pos] !=
		    ksalloc_client_byte(pattern, index, pos))
			n++;
	return n;
}

/* The device writes, dma_sync_sgtable_for_cpu(): the CPU sees it. */
TEST_F(kc, device_write_synced)
{
	struct ksalloc_client_dma d;
	__u64 off;
	__u32 index;

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	off = kc_user_frame(_metadata, self, 0xAB);
	index = off / self->info.frame_stride;
	ASSERT_EQ(0, kc_dma(self->cfd, off, index, self->frame_size, 0x1234,
			    KSALLOC_CLIENT_DMA_DEV_WRITE |
			    KSALLOC_CLIENT_DMA_SYNC, &d));
	EXPECT_EQ(self->frame_size, d.result);
	EXPECT_LE(1, d.segments);
	EXPECT_EQ(0, kc_wrong(self, off, 0x1234, index));
	TH_LOG("%u DMA segments, %u bounced", d.segments, d.bounced);
	EXPECT_EQ(0, ksa_free(self->fd, off));
}

/* User space writes, then the mapping (it syncs): the device reads it. */
TEST_F(kc, device_reads_what_user_space_wrote)
{
	struct ksalloc_client_dma d;
	__u32 pos, index;
	__u64 off;

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	off = kc_user_frame(_metadata, self, 0);
	index = off / self->info.frame_stride;
	for (pos = 0; pos < self->frame_size; pos++)
		self->map[off + pos] = ksalloc_client_byte(0x777, index, pos);
	ASSERT_EQ(0, kc_dma(self->cfd, off, index, self->frame_size, 0x777,
			    KSALLOC_CLIENT_DMA_SYNC, &d));
	EXPECT_EQ(self->frame_size, d.result);
	EXPECT_EQ(0, ksa_free(self->fd, off));
}

/* The CPU writes while mapped, dma_sync_sgtable_for_device(): the device reads it. */
TEST_F(kc, device_read_synced)
{
	struct ksalloc_client_dma d;
	__u32 index;
	__u64 off;

	KC_BODY_START();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	off = kc_user_frame(_metadata, self, 0);
	index = off / self->info.frame_stride;
	ASSERT_EQ(0, kc_dma(self->cfd, off, index, self->frame_size, 0x777,
			    KSALLOC_CLIENT_DMA_SYNC |
			    KSALLOC_CLIENT_DMA_CPU_WRITE, &d));
	EXPECT_EQ(self->frame_size, d.result);
	/* The CPU's write is in the frame, of course */
	EXPECT_EQ(0, kc_wrong(self, off, 0x777, index));
	EXPECT_EQ(0, ksa_free(self->fd, off));
}

/* The control: without the sync the CPU does not see the device's write. */
TEST_F(kc, device_write_unsynced_is_stale)
{
	struct ksalloc_client_dma d;
	__u64 off;
	__u32 index;

	KC_BODY_START();
	KC_NEED_SWIOTLB();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	off = kc_user_frame(_metadata, self, 0xAB);
	index = off / self->info.frame_stride;
	ASSERT_EQ(0, kc_dma(self->cfd, off, index, self->frame_size, 0x1234,
			    KSALLOC_CLIENT_DMA_DEV_WRITE, &d));
	EXPECT_EQ(d.segments, d.bounced);
	/* Still what user space wrote (up to bytes that match by chance) */
	EXPECT_LT(self->frame_size * 9 / 10, kc_wrong(self, off, 0x1234, index));
	EXPECT_EQ(0, ksa_free(self->fd, off));
}

TEST_F(kc, device_read_unsynced_is_stale)
{
	struct ksalloc_client_dma d;
	__u32 index;
	__u64 off;

	KC_BODY_START();
	KC_NEED_SWIOTLB();
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	off = kc_user_frame(_metadata, self, 0);
	index = off / self->info.frame_stride;
	ASSERT_EQ(0, kc_dma(self->cfd, off, index, self->frame_size, 0x778,
			    KSALLOC_CLIENT_DMA_CPU_WRITE, &d));
	EXPECT_EQ(d.segments, d.bounced);
	/* The device read the bounce buffer as the mapping filled it: zeros */
	EXPECT_GT(self->frame_size / 10, d.result) {
		TH_LOG("the device read %u right bytes", d.result);
	}
	EXPECT_EQ(0, ksa_free(self->fd, off));
}

TEST_F(kc, dma_bad_arguments)
{
	struct ksalloc_client_dma d;
	__u64 off;

	KC_BODY_START();
	EXPECT_EQ(-ENOTCONN, kc_dma(self->cfd, 0, 0, 1, 0, 0, &d));
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
	off = kc_user_frame(_metadata, self, 0);
	/* ksalloc_frame_map(): not a frame of the allocator */
	EXPECT_EQ(-EINVAL, kc_dma(self->cfd, off + 1, 0, 1, 0, 0, &d));
	EXPECT_EQ(-EINVAL, kc_dma(self->cfd, self->map_size, NFRAMES, 1, 0, 0,
				  &d));
	EXPECT_EQ(-EINVAL, kc_dma(self->cfd, off,
				  off / self->info.frame_stride + 1, 1, 0, 0,
				  &d));
	EXPECT_EQ(-EINVAL, kc_dma(self->cfd, off, 0, 1, 0, 0x80, &d));
	EXPECT_EQ(-EINVAL, kc_dma(self->cfd, off, off / self->info.frame_stride,
				  1, 0, KSALLOC_CLIENT_DMA_DEV_WRITE |
				  KSALLOC_CLIENT_DMA_CPU_WRITE, &d));
	EXPECT_EQ(0, ksa_free(self->fd, off));
}

/* --- importing a frame's dma-buf, as a driver does ------------------------ */

/*
 * The device writes into the imported buffer; DMA_BUF_IOCTL_SYNC (the
 * exporter's begin_cpu_access) makes it visible to the CPU.
 */
TEST_F(kc, import_device_write_then_sync)
{
	struct ksalloc_client_import im;
	struct dma_buf_sync s;
	__u64 off;
	int dfd;

	KC_BODY_START();
	off = kc_user_frame(_metadata, self, 0xCD);
	dfd = kst_frame_export(self->fd, off);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, kc_import(self->cfd, dfd, KSALLOC_CLIENT_IMPORT_DEV_WRITE,
			       self->frame_size, 0x4242, &im));
	EXPECT_EQ(self->info.frame_stride, im.dmabuf_size);
	EXPECT_LE(1, im.segments);
	s.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ;
	ASSERT_EQ(0, ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s));
	EXPECT_EQ(0, kc_wrong(self, off, 0x4242, 0));
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
	ASSERT_EQ(0, ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s));
	/* Only one import at a time */
	EXPECT_EQ(-EBUSY, kc_import(self->cfd, dfd, 0, 1, 0, &im));
	EXPECT_EQ(0, kc_unimport(self->cfd));
	EXPECT_EQ(-ENOTCONN, kc_unimport(self->cfd));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, ksa_free(self->fd, off));
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

TEST_F(kc, import_device_write_unsynced_is_stale)
{
	struct ksalloc_client_import im;
	__u64 off;
	int dfd;

	KC_BODY_START();
	KC_NEED_SWIOTLB();
	off = kc_user_frame(_metadata, self, 0xCD);
	dfd = kst_frame_export(self->fd, off);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, kc_import(self->cfd, dfd, KSALLOC_CLIENT_IMPORT_DEV_WRITE,
			       self->frame_size, 0x4242, &im));
	EXPECT_EQ(im.segments, im.bounced);
	EXPECT_LT(self->frame_size * 9 / 10, kc_wrong(self, off, 0x4242, 0));
	EXPECT_EQ(0, kc_unimport(self->cfd));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, ksa_free(self->fd, off));
}

/*
 * The CPU writes an imported frame (between DMA_BUF_IOCTL_SYNC START and
 * END with @bracket), then the importer's device reads it: the bytes it
 * read right.
 */
static long kc_device_reads_cpu_write(struct __test_metadata *_metadata,
				      FIXTURE_DATA(kc) *self, __u32 pattern,
				      bool bracket)
{
	struct ksalloc_client_import im;
	struct dma_buf_sync s;
	long good = -1;
	__u32 pos;
	__u64 off;
	int dfd;

	off = kc_user_frame(_metadata, self, 0);
	dfd = kst_frame_export(self->fd, off);
	EXPECT_LE(0, dfd);
	if (dfd < 0)
		return -1;
	EXPECT_EQ(0, kc_import(self->cfd, dfd, 0, self->frame_size, 0, &im));
	if (swiotlb_forced())
		EXPECT_EQ(im.segments, im.bounced);
	s.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE;
	if (bracket)
		EXPECT_EQ(0, ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s));
	for (pos = 0; pos < self->frame_size; pos++)
		self->map[off + pos] = ksalloc_client_byte(pattern, 0, pos);
	s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE;
	if (bracket)
		EXPECT_EQ(0, ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s));
	good = kc_import_read(self->cfd, self->frame_size, pattern);
	EXPECT_EQ(0, kc_unimport(self->cfd));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, ksa_free(self->fd, off));
	return good;
}

/*
 * END (the exporter's end_cpu_access) is what makes the CPU's writes
 * visible to an importer's device. Booted with swiotlb=force the device
 * reads a bounce buffer that only END refreshes.
 */
TEST_F(kc, import_device_reads_after_sync_end)
{
	KC_BODY_START();
	EXPECT_EQ(self->frame_size,
		  kc_device_reads_cpu_write(_metadata, self, 0x5150, true));
	EXPECT_EQ(-ENOTCONN, kc_import_read(self->cfd, 1, 0));
}

/* The control: without END the device reads what the mapping bounced. */
TEST_F(kc, import_device_reads_stale_without_sync_end)
{
	long good;

	KC_BODY_START();
	KC_NEED_SWIOTLB();
	good = kc_device_reads_cpu_write(_metadata, self, 0x5151, false);
	EXPECT_GT(self->frame_size / 10, good) {
		TH_LOG("the device read %ld right bytes", good);
	}
}

/* dma_buf_vmap(), what vb2-vmalloc importers use: writes land in the frame */
TEST_F(kc, import_vmap)
{
	struct ksalloc_client_import im;
	__u64 off;
	int dfd;

	KC_BODY_START();
	dfd = kst_frame_alloc(self->fd, KSALLOC_FRAMEF_DMABUF, &off);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, kc_import(self->cfd, dfd, KSALLOC_CLIENT_IMPORT_VMAP,
			       self->frame_size, 0x99, &im));
	EXPECT_EQ(0, kc_wrong(self, off, ~0x99u, 0));
	EXPECT_EQ(0, kc_unimport(self->cfd));
	EXPECT_EQ(0, close(dfd));
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

/*
 * The importer holds the last reference: the user's dma-buf fd is closed
 * and the frame FREEd, and the frame returns only when the importer lets
 * go (unimport, or the client's close).
 */
TEST_F(kc, importer_releases_last)
{
	struct ksalloc_client_import im;
	int dfd, round;
	__u64 off;

	KC_BODY_START();
	for (round = 0; round < 2; round++) {
		off = kc_user_frame(_metadata, self, 0);
		dfd = kst_frame_export(self->fd, off);
		ASSERT_LE(0, dfd);
		ASSERT_EQ(0, kc_import(self->cfd, dfd, 0, 1, 0, &im));
		EXPECT_EQ(0, close(dfd));
		EXPECT_EQ(0, ksa_free(self->fd, off));
		EXPECT_EQ(1, ksa_allocated(self->fd));
		if (round == 0) {
			EXPECT_EQ(0, kc_unimport(self->cfd));
		} else {
			EXPECT_EQ(0, close(self->cfd));
			self->cfd = -1;
		}
		EXPECT_EQ(0, ksa_allocated(self->fd));
	}
}

/* The importer holds the allocator too: everything of the user's is gone */
TEST_F(kc, importer_holds_allocator)
{
	long before = ksa_read_ll(SYSFS_ALLOCATORS);
	struct ksalloc_client_import im;
	__u64 off;
	int dfd;

	KC_BODY_START();
	dfd = kst_frame_alloc(self->fd, KSALLOC_FRAMEF_DMABUF, &off);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, kc_import(self->cfd, dfd, KSALLOC_CLIENT_IMPORT_DEV_WRITE,
			       self->frame_size, 5, &im));
	EXPECT_EQ(0, close(dfd));
	KC_USER_LETS_GO();
	EXPECT_EQ(before, ksa_read_ll(SYSFS_ALLOCATORS));
	EXPECT_EQ(0, kc_unimport(self->cfd));
	EXPECT_EQ(before - 1, ksa_read_ll(SYSFS_ALLOCATORS));
}

TEST_F(kc, import_bad_arguments)
{
	struct ksalloc_client_import im;
	int efd;

	KC_BODY_START();
	efd = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	EXPECT_EQ(-EBADF, kc_import(self->cfd, -1, 0, 1, 0, &im));
	EXPECT_EQ(-EINVAL, kc_import(self->cfd, efd, 0, 1, 0, &im));
	EXPECT_EQ(-EINVAL, kc_import(self->cfd, self->fd, 0, 1, 0, &im));
	close(efd);
}

/* --- large frames: per-device segments ------------------------------------
 * Frames of 1 MiB chunks (1080p NV12) and a contiguous 4 MiB frame, mapped
 * for both of the client's devices and imported by them. Each device gets
 * DMA segments no longer than it takes (64 KiB for the default device) and
 * than the DMA layer can map: swiotlb bounces at most 256 KiB at once, so
 * under swiotlb=force a frame mapped as it is (1 MiB or 4 MiB entries)
 * could not be mapped at all. Without bouncing, a contiguous frame is
 * still one run of DMA addresses however it is cut (vb2-dma-contig needs
 * that).
 */
#define KC_SEG_DEFAULT	(64u << 10)	/* the DMA API's default segment limit */
#define KC_SEG_SWIOTLB	(256u << 10)	/* IO_TLB_SEGSIZE slots of 2 KiB */

FIXTURE(kcbig)
{
	int pin;
	int fd;
	int cfd;
	unsigned char *map;
	struct ksalloc_allocator_info info;
	int bounce;
};

FIXTURE_VARIANT(kcbig)
{
	__u32 frames;
	__u32 frame_size;
	__u32 flags;
};

FIXTURE_VARIANT_ADD(kcbig, nv12_1080p) { .frames = 2, .frame_size = 3110400 };
FIXTURE_VARIANT_ADD(kcbig, contiguous_4m)
{
	.frames = 1, .frame_size = 4 << 20, .flags = KSALLOC_CREATEF_CONTIGUOUS,
};

FIXTURE_SETUP(kcbig)
{
	self->pin = self->fd = self->cfd = -1;
	self->map = MAP_FAILED;
	if (access(KSALLOC_CLIENT_DEV, F_OK))
		SKIP(return, "%s absent: ksalloc_client.ko not loaded",
		     KSALLOC_CLIENT_DEV);
	self->bounce = swiotlb_forced();
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin);
	self->fd = kst_create_ksalloc(self->pin, variant->frames,
				      variant->frame_size, variant->flags, 0);
	ASSERT_LE(0, self->fd) {
		TH_LOG("create: %s", strerror(-self->fd));
	}
	ASSERT_EQ(0, ksa_info(self->fd, &self->info));
	self->map = mmap(NULL, self->info.mmap_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	self->cfd = open(KSALLOC_CLIENT_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->cfd);
	ASSERT_EQ(0, kc_attach(self->cfd, self->fd, 0));
}

FIXTURE_TEARDOWN(kcbig)
{
	kc_let_go(self->cfd, self->map, self->info.mmap_size, self->fd,
		  self->pin);
}

/* Bytes of frame @off that are not FILL's pattern for frame @index */
static long kcbig_wrong(FIXTURE_DATA(kcbig) *self, __u64 off, __u32 pattern,
			__u32 index)
{
	const __u32 size = self->info.frame_size;
	long n = 0;
	__u32 pos;

	for (pos = 0; pos < size; pos++)
		if (self->map[off + pos] !=
		    ksalloc_client_byte(pattern, index, pos))
			n++;
	return n;
}

/*
 * The segments of one mapping: within the device's limit and swiotlb's
 * when it bounces, and one DMA run for a contiguous frame that does not.
 */
static void kcbig_check_segments(struct __test_metadata *_metadata,
				 FIXTURE_DATA(kcbig) *self, __u32 flags,
				 bool wide, __u32 segments, __u32 bounced,
				 __u32 max_segment, __u32 runs)
{
	__u32 limit = wide ? UINT32_MAX : KC_SEG_DEFAULT;

	if (self->bounce && limit > KC_SEG_SWIOTLB)
		limit = KC_SEG_SWIOTLB;
	EXPECT_LE(1, segments);
	EXPECT_GE(limit, max_segment) {
		TH_LOG("a DMA segment of %u bytes: the %s device takes %u",
		       max_segment, wide ? "wide" : "default", limit);
	}
	if (self->bounce)
		EXPECT_EQ(segments, bounced);
	if (!self->bounce && flags & KSALLOC_CREATEF_CONTIGUOUS)
		EXPECT_EQ(1, runs) {
			TH_LOG("a contiguous frame in %u runs of DMA addresses",
			       runs);
		}
	TH_LOG("%s device: %u segments, longest %u, %u runs, %u bounced",
	       wide ? "wide" : "default", segments, max_segment, runs, bounced);
}

/* ksalloc_frame_map(): the device writes, then reads what the CPU wrote */
TEST_F(kcbig, frame_map_each_device)
{
	const __u32 size = self->info.frame_size;
	struct ksalloc_client_dma d;
	__u32 wide, index;
	__u64 off;
	int ret;

	if (_metadata->skip)
		return;
	for (wide = 0; wide <= 1; wide++) {
		__u32 dflag = wide ? KSALLOC_CLIENT_DMA_WIDE : 0;

		ASSERT_EQ(0, ksa_alloc(self->fd, &off));
		index = off / self->info.frame_stride;
		memset(self->map + off, 0xAB, size);
		ret = kc_dma(self->cfd, off, index, size, 0x77 + wide,
			     KSALLOC_CLIENT_DMA_DEV_WRITE |
			     KSALLOC_CLIENT_DMA_SYNC | dflag, &d);
		ASSERT_EQ(0, ret) {
			TH_LOG("ksalloc_frame_map() of %u bytes for the %s device: %s",
			       size, wide ? "wide" : "default", strerror(-ret));
		}
		EXPECT_EQ(size, d.result);
		EXPECT_EQ(0, kcbig_wrong(self, off, 0x77 + wide, index));
		kcbig_check_segments(_metadata, self, variant->flags, wide,
				     d.segments, d.bounced, d.max_segment,
				     d.runs);

		ASSERT_EQ(0, kc_dma(self->cfd, off, index, size, 0x99 + wide,
				    KSALLOC_CLIENT_DMA_CPU_WRITE |
				    KSALLOC_CLIENT_DMA_SYNC | dflag, &d));
		EXPECT_EQ(size, d.result);
		EXPECT_EQ(0, ksa_free(self->fd, off));
	}
}

/* A dma-buf import: the device writes, DMA_BUF_IOCTL_SYNC, the CPU reads */
TEST_F(kcbig, import_each_device)
{
	const __u32 size = self->info.frame_size;
	struct ksalloc_client_import im;
	struct dma_buf_sync s;
	__u64 off;
	int dfd, ret;
	__u32 wide;

	if (_metadata->skip)
		return;
	for (wide = 0; wide <= 1; wide++) {
		dfd = kst_frame_alloc(self->fd, KSALLOC_FRAMEF_DMABUF, &off);
		ASSERT_LE(0, dfd);
		memset(self->map + off, 0xCD, size);
		ret = kc_import(self->cfd, dfd, KSALLOC_CLIENT_IMPORT_DEV_WRITE |
				(wide ? KSALLOC_CLIENT_IMPORT_WIDE : 0), size,
				0x4242 + wide, &im);
		ASSERT_EQ(0, ret) {
			TH_LOG("import of %u bytes for the %s device: %s", size,
			       wide ? "wide" : "default", strerror(-ret));
		}
		kcbig_check_segments(_metadata, self, variant->flags, wide,
				     im.segments, im.bounced, im.max_segment,
				     im.runs);
		s.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW;
		ASSERT_EQ(0, ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s));
		EXPECT_EQ(0, kcbig_wrong(self, off, 0x4242 + wide, 0));
		s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
		ASSERT_EQ(0, ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s));
		EXPECT_EQ(0, kc_unimport(self->cfd));
		EXPECT_EQ(0, close(dfd));
	}
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

TEST_HARNESS_MAIN
