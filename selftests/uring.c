// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring commands on an allocator (KSALLOC_URING_CMD_*): an ALLOC that
 * finds a frame completes inline with the frame index; one that finds
 * none is queued among the ALLOC callers asleep, FIFO, and completed by
 * the FREE (or dma-buf release) that returns a frame; a queued ALLOC
 * ends with ECANCELED on CANCEL, KSRESET_BEGIN, ring close, process
 * exit and exec (io_uring's own cancel does not reach it), and no frame
 * is lost on any of these, nor when a FREE races the ring's close; bad
 * SQEs fail cleanly.
 *
 * Kernels whose io_uring cannot cancel a queued command (6.1) never
 * queue: /sys/class/misc/ksalloc/uring_queue reads 0 and an ALLOC that
 * finds no frame fails with EAGAIN. The queueing tests are skipped there,
 * and uring_queue_matches_kernel checks that the module picked the
 * behaviour the kernel calls for (a compile probe that failed for the
 * wrong reason would show there).
 *
 * The ring is liburing's, linked statically: an io_uring client written
 * independently of libksalloc's own minimal ring.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "frames_lib.h"
#include "kselftest_harness.h"

#define NFRAMES		4
#define RING_ENTRIES	256
#define SYS_URING_QUEUE	KSA_SYSFS_DIR "uring_queue"

/* ---- ring helpers: 0 or -errno, safe in children (no harness calls) ---- */

static void prep_cmd(struct io_uring_sqe *sqe, int fd, __u32 op, __u64 addr,
		     __u32 count, __u32 flags, __u64 user_data)
{
	struct ksalloc_uring_cmd *c;

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = op;
	c = (struct ksalloc_uring_cmd *)sqe->cmd;
	c->addr = addr;
	c->count = count;
	c->flags = flags;
	sqe->user_data = user_data;
}

/* Submit one command; 0 or -errno */
static int submit_cmd(struct io_uring *ring, int fd, __u32 op, __u64 addr,
		      __u32 count, __u32 flags, __u64 user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	int ret;

	if (!sqe)
		return -EBUSY;
	prep_cmd(sqe, fd, op, addr, count, flags, user_data);
	ret = io_uring_submit(ring);
	return ret == 1 ? 0 : ret < 0 ? ret : -EIO;
}

/* The next CQE within @ms (0: only one already there); -ETIME if none */
static int reap(struct io_uring *ring, int ms, __u64 *user_data, int *res)
{
	struct __kernel_timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (ms % 1000) * 1000000LL,
	};
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (ret)
		return ret;
	*user_data = cqe->user_data;
	*res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

/* Submit one command and wait for its CQE: its res, or -ETIME/-errno */
static int run_cmd(struct io_uring *ring, int fd, __u32 op, __u64 addr,
		   __u32 count, __u32 flags)
{
	__u64 ud;
	int ret, res;

	ret = submit_cmd(ring, fd, op, addr, count, flags, 0x5eed);
	if (ret)
		return ret;
	ret = reap(ring, KSA_WAIT_MS, &ud, &res);
	if (ret)
		return ret;
	return ud == 0x5eed ? res : -EPROTO;
}

/* Wait until STATUS.allocated_frames of @fd is @n; false after KSA_WAIT_MS */
static int wait_allocated(int fd, long n)
{
	long long end = ksa_now_ms() + KSA_WAIT_MS;

	do {
		if (ksa_allocated(fd) == n)
			return 1;
		usleep(1000);
	} while (ksa_now_ms() < end);
	return 0;
}

static int can_queue(void)
{
	return ksa_read_ll(SYS_URING_QUEUE) == 1;
}

static long stride_of(int fd)
{
	struct ksalloc_allocator_info info;

	return ksa_info(fd, &info) ? -1 : (long)info.frame_stride;
}

/* A thread asleep in a blocking ALLOC: its frame index, or -errno */
struct sleeper {
	pthread_t thread;
	int fd;
	long stride;
	int result;
};

static void *sleeper_fn(void *arg)
{
	struct sleeper *s = arg;
	__u64 off;
	int ret = ksa_alloc(s->fd, &off);

	s->result = ret ? ret : (int)(off / s->stride);
	return NULL;
}

/* A thread asleep in poll(POLLIN): woke is set when it returns */
struct poller {
	pthread_t thread;
	int fd;
	volatile int woke;
	short revents;
};

static void *poller_fn(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };

	poll(&pfd, 1, -1);
	p->revents = pfd.revents;
	p->woke = 1;
	return NULL;
}

FIXTURE(uring)
{
	int pin;
	int fd;			/* NFRAMES frames of one page */
	long stride;
	struct io_uring ring;
	int ring_ok;
	int queue;		/* the kernel queues ALLOCs */
	__u64 off[NFRAMES];	/* filled by exhaust() */
};

FIXTURE_SETUP(uring)
{
	int ret;

	self->fd = -1;
	self->ring_ok = 0;
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin) {
		TH_LOG("open %s: %s (is the module loaded?)", KSA_DEV,
		       strerror(-self->pin));
	}
	self->fd = ksa_create(self->pin, NFRAMES, ksa_page_size(), 0);
	ASSERT_LE(0, self->fd);
	self->stride = stride_of(self->fd);
	ASSERT_EQ(ksa_page_size(), self->stride);
	ret = io_uring_queue_init(RING_ENTRIES, &self->ring, 0);
	ASSERT_EQ(0, ret) {
		TH_LOG("io_uring_queue_init: %s", strerror(-ret));
	}
	self->ring_ok = 1;
	self->queue = can_queue();
}

FIXTURE_TEARDOWN(uring)
{
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	if (self->fd >= 0)
		close(self->fd);
	if (self->pin >= 0)
		close(self->pin);
}

static void exhaust(struct __test_metadata *_metadata,
		    FIXTURE_DATA(uring) *self)
{
	int i;

	for (i = 0; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_alloc(self->fd, &self->off[i]));
	ASSERT_EQ(NFRAMES, ksa_allocated(self->fd));
}

#define SKIP_WITHOUT_QUEUE() do {					\
	if (!self->queue)						\
		SKIP(return, "this kernel cannot cancel a queued uring_cmd: ALLOC never queues"); \
} while (0)

/* No CQE is there, even after task work ran (a zero-timeout wait). */
#define ASSERT_NO_CQE() do {						\
	__u64 _ud;							\
	int _res;							\
	ASSERT_EQ(-ETIME, reap(&self->ring, 0, &_ud, &_res)) {		\
		TH_LOG("unexpected CQE %llu: %d", (unsigned long long)_ud, _res); \
	}								\
} while (0)

/* The next CQE: @ud with @res */
#define ASSERT_CQE(_ud, _res) do {					\
	__u64 _got_ud;							\
	int _got_res;							\
	ASSERT_EQ(0, reap(&self->ring, KSA_WAIT_MS, &_got_ud, &_got_res)); \
	EXPECT_EQ((__u64)(_ud), _got_ud);				\
	EXPECT_EQ((int)(_res), _got_res);				\
} while (0)

/* ---- the capability ---- */

/*
 * Kernels from 6.7 can cancel a queued uring_cmd: the module must queue
 * there and must not elsewhere, whatever its compile probes found.
 */
TEST_F(uring, uring_queue_matches_kernel)
{
	struct utsname u;
	int major, minor;

	ASSERT_EQ(0, uname(&u));
	ASSERT_EQ(2, sscanf(u.release, "%d.%d", &major, &minor));
	EXPECT_EQ(major > 6 || (major == 6 && minor >= 7), self->queue) {
		TH_LOG("kernel %s, %s reads %lld", u.release, SYS_URING_QUEUE,
		       ksa_read_ll(SYS_URING_QUEUE));
	}
}

/* ---- inline completion ---- */

/* A free frame: res is its index, lowest first; offset = index * stride */
TEST_F(uring, alloc_completes_inline_with_index)
{
	int i, res;

	for (i = 0; i < NFRAMES; i++) {
		res = run_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
			      0, 0, 0);
		ASSERT_EQ(i, res);
		EXPECT_EQ(i + 1, ksa_allocated(self->fd));
	}
	/* The offsets are those of the ioctl path: FREE them there. */
	for (i = 0; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_free(self->fd, (__u64)i * self->stride));
	EXPECT_EQ(0, ksa_allocated(self->fd));
	EXPECT_EQ(0, ksa_waiters(self->fd));
}

/* FREE through the ring, of a frame the ioctl ALLOC gave */
TEST_F(uring, free_through_ring)
{
	__u64 off;

	ASSERT_EQ(0, ksa_alloc(self->fd, &off));
	ASSERT_EQ(0, run_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_FREE,
			     off, 0, 0));
	EXPECT_EQ(0, ksa_allocated(self->fd));
	/* Twice: it is not held any more */
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_FREE, off, 0, 0));
}

/* A frame of frame_size not a page multiple: index * stride still */
TEST_F(uring, index_times_stride_is_offset)
{
	int fd = ksa_create(self->pin, 2, ksa_page_size() + 100, 0);
	long stride;
	int res;

	ASSERT_LE(0, fd);
	stride = stride_of(fd);
	ASSERT_EQ(2 * ksa_page_size(), stride);
	ASSERT_EQ(0, run_cmd(&self->ring, fd, KSALLOC_URING_CMD_ALLOC, 0, 0, 0));
	res = run_cmd(&self->ring, fd, KSALLOC_URING_CMD_ALLOC, 0, 0, 0);
	ASSERT_EQ(1, res);
	EXPECT_EQ(0, ksa_free(fd, (__u64)res * stride));
	EXPECT_EQ(-EINVAL, ksa_free(fd, (__u64)res * ksa_page_size()));
	EXPECT_EQ(0, ksa_free(fd, 0));
	close(fd);
}

/* NOWAIT and O_NONBLOCK: EAGAIN at once, nothing queued, on every kernel */
TEST_F(uring, nowait_and_nonblock_fail_eagain)
{
	int nb;

	exhaust(_metadata, self);
	EXPECT_EQ(-EAGAIN, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_ALLOC, 0, 0,
				   KSALLOC_FRAMEF_NOWAIT));
	EXPECT_EQ(0, ksa_waiters(self->fd));

	nb = ksa_create(self->pin, 1, ksa_page_size(), O_NONBLOCK);
	ASSERT_LE(0, nb);
	ASSERT_EQ(0, run_cmd(&self->ring, nb, KSALLOC_URING_CMD_ALLOC, 0, 0, 0));
	EXPECT_EQ(-EAGAIN, run_cmd(&self->ring, nb, KSALLOC_URING_CMD_ALLOC,
				   0, 0, 0));
	EXPECT_EQ(0, ksa_waiters(nb));
	EXPECT_EQ(1, ksa_allocated(nb));
	close(nb);
}

/*
 * Without cancelable uring_cmds (6.1): an ALLOC with no frame free fails
 * with EAGAIN at once, never waits, and the ring closes at any time with
 * nothing of ours pending; a frame freed later is free, not lost.
 */
TEST_F(uring, no_queue_kernel_fails_eagain)
{
	__u64 off;

	if (self->queue)
		SKIP(return, "this kernel queues ALLOCs");
	exhaust(_metadata, self);
	ASSERT_EQ(-EAGAIN, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_ALLOC, 0, 0, 0));
	EXPECT_EQ(0, ksa_waiters(self->fd));
	/* CANCEL finds nothing, ever */
	EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_CANCEL, 0, 0,
				   KSALLOC_URING_CANCEL_ALL));
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 1));
	io_uring_queue_exit(&self->ring);
	self->ring_ok = 0;
	ASSERT_EQ(0, ksa_free(self->fd, self->off[1]));
	ASSERT_EQ(0, ksa_alloc_flags(self->fd, KSMETHOD_TYPE_SEND, &off));
	EXPECT_EQ(self->off[1], off);
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
}

/* ---- queued ALLOCs ---- */

/* Queued; completed by a FREE made by another process. */
TEST_F(uring, queued_alloc_completed_by_free_from_other_process)
{
	SKIP_WITHOUT_QUEUE();
	exhaust(_metadata, self);
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 7));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	ASSERT_NO_CQE();
	ASSERT_EQ(0, ksa_free_in_child(self->fd, self->off[2]));
	ASSERT_CQE(7, 2);
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	EXPECT_EQ(0, ksa_waiters(self->fd));
}

/* A FREE through the same ring completes an ALLOC queued on it */
TEST_F(uring, queued_alloc_completed_by_ring_free)
{
	SKIP_WITHOUT_QUEUE();
	exhaust(_metadata, self);
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 1));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_FREE,
				self->off[3], 0, 0, 2));
	/* The FREE's CQE and the ALLOC's, in either order */
	{
		__u64 ud[2];
		int res[2], i;

		for (i = 0; i < 2; i++)
			ASSERT_EQ(0, reap(&self->ring, KSA_WAIT_MS, &ud[i],
					  &res[i]));
		if (ud[0] == 2) {
			EXPECT_EQ(0, res[0]);
			EXPECT_EQ(1, ud[1]);
			EXPECT_EQ(3, res[1]);
		} else {
			EXPECT_EQ(1, ud[0]);
			EXPECT_EQ(3, res[0]);
			EXPECT_EQ(2, ud[1]);
			EXPECT_EQ(0, res[1]);
		}
	}
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
}

/* The release of a frame's last dma-buf serves the queue too */
TEST_F(uring, dmabuf_release_completes_queued_alloc)
{
	struct ksalloc_frame_args args = { .flags = KSALLOC_FRAMEF_DMABUF };
	int i;

	SKIP_WITHOUT_QUEUE();
	ASSERT_EQ(0, ioctl(self->fd, IOCTL_KSALLOC_FRAME_ALLOC, &args));
	ASSERT_LE(0, args.fd);
	for (i = 1; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_alloc(self->fd, &self->off[i]));
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 9));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	ASSERT_NO_CQE();
	ASSERT_EQ(0, close(args.fd));
	ASSERT_CQE(9, args.offset / self->stride);
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
}

/*
 * Queued io_uring ALLOCs and ALLOC callers asleep share one FIFO: each
 * FREE serves the oldest waiter of either kind, and a poll() sleeper
 * only wakes once nobody waits and a frame is free. 64 commands and 8
 * sleepers against 4 frames: every FREE hands its frame to exactly the
 * next waiter, so each frame goes out exactly once per return.
 */
#define MIX_URING	64
#define MIX_EVERY	8	/* a sleeper after every 8 commands */
#define MIX_SLEEPERS	(MIX_URING / MIX_EVERY)
#define MIX_WAITERS	(MIX_URING + MIX_SLEEPERS)

TEST_F(uring, fifo_of_commands_sleepers_and_poll)
{
	struct sleeper sl[MIX_SLEEPERS];
	int order[MIX_WAITERS];	/* >= 0: command user_data, < 0: ~sleeper */
	struct poller p = { 0 };
	int held[NFRAMES];	/* frame indexes the test holds */
	int served[NFRAMES] = { 0 };
	int i, n = 0, nsl = 0, frame;

	SKIP_WITHOUT_QUEUE();
	exhaust(_metadata, self);
	for (i = 0; i < NFRAMES; i++)
		held[i] = self->off[i] / self->stride;

	p.fd = self->fd;
	ASSERT_EQ(0, pthread_create(&p.thread, NULL, poller_fn, &p));
	for (i = 0; i < MIX_URING; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&self->ring);

		ASSERT_NE(NULL, sqe);
		prep_cmd(sqe, self->fd, KSALLOC_URING_CMD_ALLOC, 0, 0, 0, i);
		order[n++] = i;
		if ((i + 1) % MIX_EVERY)
			continue;
		/* SQEs are issued in order: queue this group, then a sleeper */
		ASSERT_EQ(MIX_EVERY, io_uring_submit(&self->ring));
		ASSERT_TRUE(ksa_wait_waiters(self->fd, n));
		sl[nsl].fd = self->fd;
		sl[nsl].stride = self->stride;
		sl[nsl].result = 1;
		ASSERT_EQ(0, pthread_create(&sl[nsl].thread, NULL, sleeper_fn,
					    &sl[nsl]));
		order[n++] = ~nsl;
		nsl++;
		ASSERT_TRUE(ksa_wait_waiters(self->fd, n));
	}
	ASSERT_EQ(MIX_WAITERS, n);
	ASSERT_NO_CQE();
	EXPECT_EQ(0, p.woke);

	/* Each FREE of a held frame: the next waiter in order gets it. */
	for (i = 0; i < MIX_WAITERS; i++) {
		int slot = i % NFRAMES;

		frame = held[slot];
		ASSERT_EQ(0, ksa_free(self->fd, (__u64)frame * self->stride));
		if (order[i] >= 0) {
			ASSERT_CQE(order[i], frame);
		} else {
			ASSERT_EQ(0, pthread_join(sl[~order[i]].thread, NULL));
			ASSERT_EQ(frame, sl[~order[i]].result);
		}
		ASSERT_EQ(MIX_WAITERS - i - 1, ksa_waiters(self->fd));
		ASSERT_EQ(NFRAMES, ksa_allocated(self->fd));
		/* The waiter's frame is the test's to free again. */
		served[slot]++;
		EXPECT_EQ(0, p.woke);
	}
	ASSERT_NO_CQE();
	for (i = 0; i < NFRAMES; i++)
		EXPECT_EQ(MIX_WAITERS / NFRAMES, served[i]);

	/* Nobody waits: the next FREE makes a frame free, and poll wakes. */
	ASSERT_EQ(0, ksa_free(self->fd, (__u64)held[0] * self->stride));
	ASSERT_EQ(0, pthread_join(p.thread, NULL));
	EXPECT_TRUE(p.revents & POLLIN);
	EXPECT_EQ(NFRAMES - 1, ksa_allocated(self->fd));
}

/* ---- cancellation ---- */

/* CANCEL by user_data, then all of the ring's; FIFO of the rest kept */
TEST_F(uring, cancel_command)
{
	SKIP_WITHOUT_QUEUE();
	exhaust(_metadata, self);
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 1));
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 2));
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 3));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 3));

	/* One: the cancelled ALLOC's CQE, then CANCEL's (1 sent away) */
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_CANCEL,
				2, 0, 0, 100));
	{
		__u64 ud[2];
		int res[2], i, seen = 0;

		for (i = 0; i < 2; i++) {
			ASSERT_EQ(0, reap(&self->ring, KSA_WAIT_MS, &ud[i],
					  &res[i]));
			if (ud[i] == 2) {
				EXPECT_EQ(-ECANCELED, res[i]);
				seen |= 1;
			} else {
				EXPECT_EQ(100, ud[i]);
				EXPECT_EQ(1, res[i]);
				seen |= 2;
			}
		}
		EXPECT_EQ(3, seen);
	}
	EXPECT_EQ(2, ksa_waiters(self->fd));
	/* Nothing left of user_data 2 */
	EXPECT_EQ(-ENOENT, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_CANCEL, 2, 0, 0));

	/* The oldest still gets the next frame. */
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	ASSERT_CQE(1, 0);

	/* All of this ring's: user_data 3 */
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_CANCEL,
				0, 0, KSALLOC_URING_CANCEL_ALL, 100));
	{
		__u64 ud;
		int res, i, seen = 0;

		for (i = 0; i < 2; i++) {
			ASSERT_EQ(0, reap(&self->ring, KSA_WAIT_MS, &ud, &res));
			if (ud == 3) {
				EXPECT_EQ(-ECANCELED, res);
				seen |= 1;
			} else {
				EXPECT_EQ(100, ud);
				EXPECT_EQ(1, res);
				seen |= 2;
			}
		}
		EXPECT_EQ(3, seen);
	}
	EXPECT_EQ(0, ksa_waiters(self->fd));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	/* No frame went to a cancelled command: a FREE makes one free. */
	ASSERT_EQ(0, ksa_free(self->fd, self->off[1]));
	EXPECT_EQ(NFRAMES - 1, ksa_allocated(self->fd));
}

/* CANCEL reaches only the commands of its own ring */
TEST_F(uring, cancel_is_per_ring)
{
	struct io_uring other;

	SKIP_WITHOUT_QUEUE();
	exhaust(_metadata, self);
	ASSERT_EQ(0, io_uring_queue_init(8, &other, 0));
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 5));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	EXPECT_EQ(-ENOENT, run_cmd(&other, self->fd, KSALLOC_URING_CMD_CANCEL,
				   5, 0, 0));
	EXPECT_EQ(-ENOENT, run_cmd(&other, self->fd, KSALLOC_URING_CMD_CANCEL,
				   0, 0, KSALLOC_URING_CANCEL_ALL));
	EXPECT_EQ(1, ksa_waiters(self->fd));
	io_uring_queue_exit(&other);
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	ASSERT_CQE(5, 0);
}

/* KSRESET_BEGIN sends queued commands away, with the sleepers */
TEST_F(uring, reset_begin_cancels_queued)
{
	struct sleeper s = { .fd = -1 };

	SKIP_WITHOUT_QUEUE();
	exhaust(_metadata, self);
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 1));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	s.fd = self->fd;
	s.stride = self->stride;
	ASSERT_EQ(0, pthread_create(&s.thread, NULL, sleeper_fn, &s));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 2));
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 2));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 3));

	ASSERT_EQ(0, ksa_reset(self->fd, KSRESET_BEGIN));
	ASSERT_CQE(1, -ECANCELED);
	ASSERT_CQE(2, -ECANCELED);
	ASSERT_EQ(0, pthread_join(s.thread, NULL));
	EXPECT_EQ(-ECANCELED, s.result);
	EXPECT_EQ(0, ksa_waiters(self->fd));

	/* During the reset: refused inline, even with a frame free */
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	EXPECT_EQ(-ECANCELED, run_cmd(&self->ring, self->fd,
				      KSALLOC_URING_CMD_ALLOC, 0, 0, 0));
	ASSERT_EQ(0, ksa_reset(self->fd, KSRESET_END));
	EXPECT_EQ(0, run_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
			     0, 0, 0));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
}

/*
 * A ring closed with commands queued: they are cancelled, no frame goes
 * to them, and the counters are right afterwards.
 */
TEST_F(uring, ring_closed_with_commands_queued)
{
	struct ksalloc_allocator_info info;
	int i;

	SKIP_WITHOUT_QUEUE();
	exhaust(_metadata, self);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, submit_cmd(&self->ring, self->fd,
					KSALLOC_URING_CMD_ALLOC, 0, 0, 0, i));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 8));
	io_uring_queue_exit(&self->ring);
	self->ring_ok = 0;
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 0));

	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(NFRAMES, info.allocated_frames);
	EXPECT_EQ(NFRAMES, info.high_water);
	/* Every frame freed now is free: none goes to a dead command. */
	for (i = 0; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_free(self->fd, self->off[i]));
	EXPECT_EQ(0, ksa_allocated(self->fd));
	for (i = 0; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_alloc_flags(self->fd, KSMETHOD_TYPE_SEND,
					     &self->off[i]));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
}

/*
 * A command handed a frame whose CQE is never posted: with
 * IORING_SETUP_DEFER_TASKRUN the completion waits for the submitter to
 * ask for events, and the ring is closed first. The frame goes back as
 * an ALLOC's that never reached its caller: one FREEFRAME (the FREE's),
 * high_water unchanged.
 */
TEST_F(uring, ring_closed_with_frame_handed_over)
{
	struct io_uring_params prm = {
		.flags = IORING_SETUP_SINGLE_ISSUER |
			 IORING_SETUP_DEFER_TASKRUN,
	};
	struct ksalloc_allocator_info info;
	struct kseventdata ed;
	struct io_uring dr;
	int efd;

	SKIP_WITHOUT_QUEUE();
	exhaust(_metadata, self);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	ksa_event_handle(&ed, efd);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ASSERT_EQ(0, io_uring_queue_init_params(8, &dr, &prm));
	ASSERT_EQ(0, submit_cmd(&dr, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 1));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	/* Handed over (off the queue), CQE pending in the ring's task work */
	ASSERT_EQ(0, ksa_free(self->fd, self->off[1]));
	EXPECT_EQ(0, ksa_waiters(self->fd));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	io_uring_queue_exit(&dr);
	/* The frame comes back: allocated drops to 3. */
	ASSERT_TRUE(wait_allocated(self->fd, NFRAMES - 1));
	EXPECT_EQ(1, ksa_eventfd_take(efd));
	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(NFRAMES, info.high_water);
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));
	close(efd);
	ASSERT_EQ(0, ksa_alloc_flags(self->fd, KSMETHOD_TYPE_SEND,
				     &self->off[1]));
}

/*
 * In a child: queue @n ALLOCs on @fd from a DEFER_TASKRUN ring (so no CQE
 * is posted unless asked for), say so on @ready, and wait for a byte on
 * @go, never asking for CQEs. The ring stays open. 0, or an exit code.
 */
static int child_queue(int fd, int n, int ready, int go)
{
	struct io_uring_params prm = {
		.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	};
	struct io_uring r;
	char c;
	int i;

	if (io_uring_queue_init_params(8, &r, &prm))
		return 1;
	for (i = 0; i < n; i++)
		if (submit_cmd(&r, fd, KSALLOC_URING_CMD_ALLOC, 0, 0, 0, i))
			return 2;
	if (write(ready, "r", 1) != 1)
		return 3;
	return read(go, &c, 1) == 1 ? 0 : 4;
}

/*
 * The process that queued the commands exits: they are cancelled; one
 * handed a frame just before (its CQE never seen) gives it back.
 */
TEST_F(uring, process_exit_cancels_queued)
{
	int go[2], ready[2], status, i;
	char c;
	pid_t pid;

	SKIP_WITHOUT_QUEUE();
	exhaust(_metadata, self);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		_exit(child_queue(self->fd, 4, ready[1], go[0]));
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 4));
	/* The oldest is handed a frame; the child never sees it. */
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 3));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 0));
	EXPECT_TRUE(wait_allocated(self->fd, NFRAMES - 1));
	for (i = 1; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_free(self->fd, self->off[i]));
	EXPECT_EQ(0, ksa_allocated(self->fd));
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}

/* A child killed with commands queued on its ring */
TEST_F(uring, killed_process_cancels_queued)
{
	int ready[2], status;
	char c;
	pid_t pid;

	SKIP_WITHOUT_QUEUE();
	exhaust(_metadata, self);
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct io_uring r;

		if (io_uring_queue_init(8, &r, 0))
			_exit(1);
		if (submit_cmd(&r, self->fd, KSALLOC_URING_CMD_ALLOC, 0, 0, 0, 1))
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 0));
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	EXPECT_EQ(NFRAMES - 1, ksa_allocated(self->fd));
	close(ready[0]);
	close(ready[1]);
}

/*
 * The task that queued the commands calls execve(): they are cancelled
 * while the new image still runs (io_uring cancels a task's requests at
 * exec) and take no frame. (One handed a frame before is not tested: at
 * exec its task work may post the CQE, as for a live task, and the frame
 * is then held like any ALLOC result nobody reaped.)
 */
TEST_F(uring, exec_cancels_queued)
{
	static const char busybox[] = "/bin/busybox";
	int go[2], ready[2], status;
	char c;
	pid_t pid;

	SKIP_WITHOUT_QUEUE();
	if (access(busybox, X_OK))
		SKIP(return, "no %s to exec", busybox);
	exhaust(_metadata, self);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int ret = child_queue(self->fd, 3, ready[1], go[0]);

		if (ret)
			_exit(ret);
		/* The new image waits on the pipe until the parent closes it. */
		if (dup2(go[0], STDIN_FILENO) < 0)
			_exit(5);
		close(go[1]);
		execl(busybox, "busybox", "cat", (char *)NULL);
		_exit(6);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 3));
	ASSERT_EQ(1, write(go[1], "g", 1));
	/* Cancelled by the exec, while the child lives on in cat */
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 0));
	EXPECT_EQ(0, waitpid(pid, &status, WNOHANG));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	/* A frame freed now is free: none goes to a cancelled command. */
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	EXPECT_EQ(NFRAMES - 1, ksa_allocated(self->fd));
	close(go[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(self->off[0] / self->stride,
		  run_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC, 0, 0,
			  KSALLOC_FRAMEF_NOWAIT));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	close(go[0]);
	close(ready[0]);
	close(ready[1]);
}

/*
 * io_uring's own cancel (IORING_OP_ASYNC_CANCEL, by user_data or by fd,
 * and IORING_REGISTER_SYNC_CANCEL) does not reach a queued uring_cmd: it
 * finds nothing (ENOENT), and the command stays queued, first in line,
 * until KSALLOC_URING_CMD_CANCEL or a frame ends it.
 */
TEST_F(uring, io_uring_cancel_leaves_queued)
{
	struct io_uring_sync_cancel_reg reg = {
		.addr = 7,
		.timeout = { .tv_sec = -1, .tv_nsec = -1 },
	};
	struct io_uring_sqe *sqe;
	int ret;

	SKIP_WITHOUT_QUEUE();
	exhaust(_metadata, self);
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 7));
	ASSERT_EQ(0, submit_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				0, 0, 0, 8));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 2));

	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_cancel64(sqe, 7, 0);
	sqe->user_data = 200;
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_cancel_fd(sqe, self->fd, 0);
	sqe->user_data = 201;
	ASSERT_EQ(2, io_uring_submit(&self->ring));
	ASSERT_CQE(200, -ENOENT);
	ASSERT_CQE(201, -ENOENT);
	ret = io_uring_register_sync_cancel(&self->ring, &reg);
	EXPECT_EQ(-ENOENT, ret);
	ASSERT_NO_CQE();
	EXPECT_EQ(2, ksa_waiters(self->fd));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));

	/* Still FIFO: the first FREE goes to 7 */
	ASSERT_EQ(0, ksa_free(self->fd, self->off[2]));
	ASSERT_CQE(7, 2);
	EXPECT_EQ(1, run_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_CANCEL,
			     8, 0, 0));
	ASSERT_CQE(8, -ECANCELED);
	EXPECT_EQ(0, ksa_waiters(self->fd));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
}

/*
 * A FREE handing a frame to a queued command races the close of the
 * command's ring (IO_URING_F_CANCEL) and its task work, on two CPUs.
 * The ring never asks for CQEs (DEFER_TASKRUN), so whichever wins, the
 * frame comes back: after each round one frame is free, the others are
 * held, nobody waits. Many rounds, so that every ordering occurs.
 */
#define RACE_ROUNDS	300

struct closer {
	struct io_uring ring;
	pthread_barrier_t *go;
};

static void *closer_fn(void *arg)
{
	struct closer *cl = arg;

	pthread_barrier_wait(cl->go);
	io_uring_queue_exit(&cl->ring);
	return NULL;
}

TEST_F(uring, free_races_ring_close)
{
	struct io_uring_params prm = {
		.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	};
	pthread_barrier_t go;
	struct closer cl;
	pthread_t t;
	int round, slot;

	SKIP_WITHOUT_QUEUE();
	exhaust(_metadata, self);
	ASSERT_EQ(0, pthread_barrier_init(&go, NULL, 2));
	for (round = 0; round < RACE_ROUNDS; round++) {
		slot = round % NFRAMES;
		cl.go = &go;
		/* Submitted from here (SINGLE_ISSUER); the other thread closes */
		ASSERT_EQ(0, io_uring_queue_init_params(8, &cl.ring, &prm));
		ASSERT_EQ(0, submit_cmd(&cl.ring, self->fd,
					KSALLOC_URING_CMD_ALLOC, 0, 0, 0, 1));
		ASSERT_EQ(0, submit_cmd(&cl.ring, self->fd,
					KSALLOC_URING_CMD_ALLOC, 0, 0, 0, 2));
		ASSERT_TRUE(ksa_wait_waiters(self->fd, 2));
		ASSERT_EQ(0, pthread_create(&t, NULL, closer_fn, &cl));
		pthread_barrier_wait(&go);
		ASSERT_EQ(0, ksa_free(self->fd, self->off[slot]));
		ASSERT_EQ(0, pthread_join(t, NULL));

		ASSERT_TRUE(ksa_wait_waiters(self->fd, 0));
		ASSERT_TRUE(wait_allocated(self->fd, NFRAMES - 1)) {
			TH_LOG("round %d: %ld frames allocated", round,
			       ksa_allocated(self->fd));
		}
		/* The frame is free, not lost: take it back for the next round */
		ASSERT_EQ(self->off[slot] / self->stride,
			  run_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_ALLOC,
				  0, 0, KSALLOC_FRAMEF_NOWAIT));
	}
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	EXPECT_EQ(0, ksa_waiters(self->fd));
	pthread_barrier_destroy(&go);
}

/* ---- batches ---- */

TEST_F(uring, batch_alloc_and_free)
{
	__u64 off[KSALLOC_BATCH_MAX];
	int res;

	memset(off, 0xff, sizeof(off));
	res = run_cmd(&self->ring, self->fd, KSALLOC_URING_CMD_BATCH_ALLOC,
		      (uintptr_t)off, 3, 0);
	ASSERT_EQ(3, res);
	EXPECT_EQ(0, off[0]);
	EXPECT_EQ(self->stride, off[1]);
	EXPECT_EQ(2 * self->stride, off[2]);
	EXPECT_EQ(~0ULL, off[3]);
	/* ALL_OR_NOTHING with 2 wanted and 1 free: EAGAIN, nothing taken */
	EXPECT_EQ(-EAGAIN, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_BATCH_ALLOC,
				   (uintptr_t)&off[3], 2,
				   KSALLOC_BATCHF_ALL_OR_NOTHING));
	EXPECT_EQ(3, ksa_allocated(self->fd));
	/* Without: takes the one there is */
	EXPECT_EQ(1, run_cmd(&self->ring, self->fd,
			     KSALLOC_URING_CMD_BATCH_ALLOC, (uintptr_t)&off[3],
			     2, 0));
	/* None left: EAGAIN, never queued */
	EXPECT_EQ(-EAGAIN, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_BATCH_ALLOC,
				   (uintptr_t)&off[4], 1, 0));
	EXPECT_EQ(0, ksa_waiters(self->fd));
	/* A duplicate: all or none */
	off[4] = off[0];
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_BATCH_FREE,
				   (uintptr_t)off, 5, 0));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	EXPECT_EQ(0, run_cmd(&self->ring, self->fd,
			     KSALLOC_URING_CMD_BATCH_FREE, (uintptr_t)off,
			     NFRAMES, 0));
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

/* A fault copying the offsets out: EFAULT, and the frames go back */
TEST_F(uring, batch_fault_loses_nothing)
{
	void *ro = mmap(NULL, ksa_page_size(), PROT_READ,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_BATCH_ALLOC,
				   (uintptr_t)ro, 2, 0));
	EXPECT_EQ(0, ksa_allocated(self->fd));
	EXPECT_EQ(-EFAULT, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_BATCH_ALLOC, 8, 2, 0));
	EXPECT_EQ(-EFAULT, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_BATCH_FREE, 8, 2, 0));
	EXPECT_EQ(0, ksa_allocated(self->fd));
	munmap(ro, ksa_page_size());
}

/* ---- bad SQEs ---- */

TEST_F(uring, bad_commands)
{
	static const __u32 unknown[] = {
		0, KSALLOC_URING_CMD_CANCEL + 1, IOCTL_KSALLOC_ALLOC_FRAME,
		KSALLOC_URING_CMD_ALLOC & 0xff, ~0u,
	};
	__u64 off[2];
	unsigned int i;

	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		EXPECT_EQ(-ENOTTY, run_cmd(&self->ring, self->fd, unknown[i],
					   0, 0, 0));
	/* ALLOC: unknown flag, DMABUF, addr, count */
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_ALLOC, 0, 0, 0x4));
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_ALLOC, 0, 0, 1u << 31));
	EXPECT_EQ(-EOPNOTSUPP, run_cmd(&self->ring, self->fd,
				       KSALLOC_URING_CMD_ALLOC, 0, 0,
				       KSALLOC_FRAMEF_DMABUF));
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_ALLOC, 8, 0, 0));
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_ALLOC, 0, 1, 0));
	EXPECT_EQ(0, ksa_allocated(self->fd));
	/* FREE: not a frame start, past the end, not held, flags, count */
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_FREE, 1, 0, 0));
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_FREE,
				   (__u64)NFRAMES * self->stride, 0, 0));
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_FREE, 0, 0, 0));
	ASSERT_EQ(0, ksa_alloc(self->fd, &off[0]));
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_FREE, off[0], 0, 1));
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_FREE, off[0], 1, 0));
	EXPECT_EQ(1, ksa_allocated(self->fd));
	/* BATCH: count 0 and above the maximum, flags */
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_BATCH_ALLOC,
				   (uintptr_t)off, 0, 0));
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_BATCH_ALLOC,
				   (uintptr_t)off, KSALLOC_BATCH_MAX + 1, 0));
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_BATCH_ALLOC,
				   (uintptr_t)off, 1, 2));
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_BATCH_FREE,
				   (uintptr_t)off, 1, KSALLOC_BATCHF_ALL_OR_NOTHING));
	/* CANCEL: ALL with a user_data, unknown flag */
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_CANCEL, 1, 0,
				   KSALLOC_URING_CANCEL_ALL));
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_CANCEL, 0, 0, 2));
	EXPECT_EQ(-EINVAL, run_cmd(&self->ring, self->fd,
				   KSALLOC_URING_CMD_CANCEL, 0, 1, 0));
	EXPECT_EQ(1, ksa_allocated(self->fd));
	EXPECT_EQ(0, ksa_waiters(self->fd));
}

/* FREE of a frame a dma-buf owns: EBUSY, as for the ioctl */
TEST_F(uring, free_of_dmabuf_owned_frame_is_ebusy)
{
	struct ksalloc_frame_args args = { .flags = KSALLOC_FRAMEF_DMABUF };

	ASSERT_EQ(0, ioctl(self->fd, IOCTL_KSALLOC_FRAME_ALLOC, &args));
	EXPECT_EQ(-EBUSY, run_cmd(&self->ring, self->fd,
				  KSALLOC_URING_CMD_FREE, args.offset, 0, 0));
	ASSERT_EQ(0, close(args.fd));
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

/* io_uring's uring_cmd_flags: a registered buffer means nothing here */
TEST_F(uring, uring_cmd_flags_refused)
{
	struct iovec iov = { .iov_len = ksa_page_size() };
	struct io_uring_sqe *sqe;
	__u64 ud;
	int res;

	/* Anonymous memory: 6.1 registers no file-backed page (.bss is) */
	iov.iov_base = mmap(NULL, iov.iov_len, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, iov.iov_base);
	ASSERT_EQ(0, io_uring_register_buffers(&self->ring, &iov, 1));
	sqe = io_uring_get_sqe(&self->ring);
	ASSERT_NE(NULL, sqe);
	prep_cmd(sqe, self->fd, KSALLOC_URING_CMD_ALLOC, 0, 0, 0, 1);
	sqe->uring_cmd_flags = IORING_URING_CMD_FIXED;
	sqe->buf_index = 0;
	ASSERT_EQ(1, io_uring_submit(&self->ring));
	ASSERT_EQ(0, reap(&self->ring, KSA_WAIT_MS, &ud, &res));
	EXPECT_EQ(-EINVAL, res);
	EXPECT_EQ(0, ksa_allocated(self->fd));
	EXPECT_EQ(0, io_uring_unregister_buffers(&self->ring));
	munmap(iov.iov_base, iov.iov_len);
}

/* Not an allocator: io_uring refuses (no ->uring_cmd) */
TEST_F(uring, wrong_file_type)
{
	struct ksalloc_frame_args args = { .flags = KSALLOC_FRAMEF_DMABUF };
	int p[2];

	EXPECT_EQ(-EOPNOTSUPP, run_cmd(&self->ring, self->pin,
				       KSALLOC_URING_CMD_ALLOC, 0, 0, 0));
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(-EOPNOTSUPP, run_cmd(&self->ring, p[0],
				       KSALLOC_URING_CMD_ALLOC, 0, 0, 0));
	close(p[0]);
	close(p[1]);
	ASSERT_EQ(0, ioctl(self->fd, IOCTL_KSALLOC_FRAME_ALLOC, &args));
	EXPECT_EQ(-EOPNOTSUPP, run_cmd(&self->ring, args.fd,
				       KSALLOC_URING_CMD_FREE, args.offset,
				       0, 0));
	close(args.fd);
	EXPECT_EQ(0, ksa_allocated(self->fd));
	EXPECT_EQ(-EBADF, run_cmd(&self->ring, 1000, KSALLOC_URING_CMD_ALLOC,
				  0, 0, 0));
}

/*
 * An IOPOLL ring: an allocator has nothing to poll, so 6.1's and 6.12's
 * io_uring refuse the command (EOPNOTSUPP); newer ones run it as on any
 * ring. Either way nothing is left behind.
 */
TEST_F(uring, iopoll_ring)
{
	struct io_uring ip;
	int res;

	ASSERT_EQ(0, io_uring_queue_init(8, &ip, IORING_SETUP_IOPOLL));
	res = run_cmd(&ip, self->fd, KSALLOC_URING_CMD_ALLOC, 0, 0, 0);
	if (res != -EOPNOTSUPP) {
		ASSERT_EQ(0, res);
		EXPECT_EQ(1, ksa_allocated(self->fd));
		EXPECT_EQ(0, run_cmd(&ip, self->fd, KSALLOC_URING_CMD_FREE,
				     0, 0, 0));
	}
	io_uring_queue_exit(&ip);
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

/* 128-byte SQEs and 32-byte CQEs work the same (the rest is ignored) */
TEST_F(uring, big_sqes_and_cqes)
{
	struct io_uring big;

	ASSERT_EQ(0, io_uring_queue_init(8, &big, IORING_SETUP_SQE128 |
					 IORING_SETUP_CQE32));
	EXPECT_EQ(0, run_cmd(&big, self->fd, KSALLOC_URING_CMD_ALLOC, 0, 0, 0));
	EXPECT_EQ(0, run_cmd(&big, self->fd, KSALLOC_URING_CMD_FREE, 0, 0, 0));
	io_uring_queue_exit(&big);
	EXPECT_EQ(0, ksa_allocated(self->fd));
}

TEST_HARNESS_MAIN
