// SPDX-License-Identifier: GPL-2.0
/*
 * Waiting for frames: a blocking ALLOC sleeps while the pool is empty and
 * is handed the next freed frame directly, waiters are served in the order
 * they queued, signals end or restart the wait without losing a frame,
 * IOCTL_KS_RESET_STATE sends sleepers away, and poll/select/epoll report
 * "a frame can be allocated" (edge-triggered: once per empty -> non-empty
 * transition).
 *
 * Sleepers run in threads (or child processes); the test waits for the
 * state the kernel reports (INFO.waiters, or a thread asleep in poll) so
 * that every step happens in a known order without sleeping for a guess.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "frames_lib.h"
#include "kselftest_harness.h"

#define NFRAMES		3

FIXTURE(wait)
{
	int pin;
	int fd;			/* NFRAMES frames, blocking */
	__u64 off[NFRAMES];	/* filled by exhaust() */
};

FIXTURE_SETUP(wait)
{
	self->fd = -1;
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin) {
		TH_LOG("open %s: %s (is the module loaded?)", KSA_DEV,
		       strerror(-self->pin));
	}
	self->fd = ksa_create(self->pin, NFRAMES, ksa_page_size(), 0);
	ASSERT_LE(0, self->fd) {
		TH_LOG("create allocator: %s", strerror(-self->fd));
	}
}

FIXTURE_TEARDOWN(wait)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->pin >= 0)
		close(self->pin);
}

static void exhaust(struct __test_metadata *_metadata,
		    FIXTURE_DATA(wait) *self)
{
	int i;

	for (i = 0; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_alloc(self->fd, &self->off[i]));
	ASSERT_EQ(NFRAMES, ksa_allocated(self->fd));
}

/* A thread that sleeps in a blocking ALLOC */
struct waiter {
	pthread_t thread;
	int fd;
	int id;
	int report;		/* write end of a pipe for the id, or -1 */
	pid_t tid;
	int ret;		/* 0 or -errno */
	__u64 off;
	int done;
};

static void *waiter_fn(void *arg)
{
	struct waiter *w = arg;
	char c = (char)w->id;

	__atomic_store_n(&w->tid, ksa_gettid(), __ATOMIC_SEQ_CST);
	w->ret = ksa_alloc(w->fd, &w->off);
	if (w->report >= 0 && write(w->report, &c, 1) != 1)
		w->ret = -EPIPE;
	__atomic_store_n(&w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int waiter_start(struct waiter *w, int fd, int id, int report)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->id = id;
	w->report = report;
	w->off = ~0ULL;
	return pthread_create(&w->thread, NULL, waiter_fn, w);
}

static pid_t waiter_tid(struct waiter *w)
{
	return __atomic_load_n(&w->tid, __ATOMIC_SEQ_CST);
}

static int is_done(struct waiter *w)
{
	return __atomic_load_n(&w->done, __ATOMIC_SEQ_CST);
}

/*
 * Start @n waiters one by one: waiter k only once k are queued, so the
 * queue order is the start order.
 */
static void queue_waiters(struct __test_metadata *_metadata, int fd,
			  struct waiter *w, int n, int report)
{
	int k;

	for (k = 0; k < n; k++) {
		ASSERT_TRUE(ksa_wait_waiters(fd, k));
		ASSERT_EQ(0, waiter_start(&w[k], fd, k, report));
	}
	ASSERT_TRUE(ksa_wait_waiters(fd, n)) {
		TH_LOG("INFO.waiters is %ld, expected %d", ksa_waiters(fd), n);
	}
}

/* A sleeping ALLOC is woken by a FREE made by another process. */
TEST_F(wait, sleeps_until_free_from_other_process)
{
	struct waiter w;

	exhaust(_metadata, self);
	ASSERT_EQ(0, waiter_start(&w, self->fd, 0, -1));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	/* It really sleeps in the ioctl, and has not returned. */
	ASSERT_TRUE(ksa_wait_thread_asleep_in(waiter_tid(&w), SYS_ioctl));
	EXPECT_FALSE(is_done(&w));

	ASSERT_EQ(0, ksa_free_in_child(self->fd, self->off[1]));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	EXPECT_EQ(0, w.ret);
	/* Handed over directly: the frame the child freed */
	EXPECT_EQ(self->off[1], w.off);
	EXPECT_EQ(0, ksa_waiters(self->fd));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
}

/* The other way round: the sleeper is another process. */
TEST_F(wait, sleeper_in_other_process)
{
	int p[2], status;
	__u64 got = ~0ULL;
	pid_t pid;

	exhaust(_metadata, self);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		__u64 o;
		int ret = ksa_alloc(self->fd, &o);

		if (ret)
			_exit(-ret);
		_exit(write(p[1], &o, sizeof(o)) == sizeof(o) ? 0 : 100);
	}
	close(p[1]);
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	ASSERT_EQ(0, ksa_free(self->fd, self->off[2]));
	ASSERT_EQ(sizeof(got), read(p[0], &got, sizeof(got)));
	EXPECT_EQ(self->off[2], got);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	close(p[0]);
}

/* Waiters get frames in the order they queued (FIFO). */
TEST_F(wait, waiters_served_in_queue_order)
{
	struct waiter w[NFRAMES];
	int p[2], k;
	char id;

	exhaust(_metadata, self);
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	queue_waiters(_metadata, self->fd, w, NFRAMES, p[1]);

	/* Free in the reverse of allocation order: order is the queue's. */
	for (k = 0; k < NFRAMES; k++) {
		__u64 freed = self->off[NFRAMES - 1 - k];

		ASSERT_EQ(0, ksa_free(self->fd, freed));
		ASSERT_EQ(1, read(p[0], &id, 1));
		EXPECT_EQ(k, id) {
			TH_LOG("FREE #%d woke waiter %d", k, id);
		}
		ASSERT_EQ(0, pthread_join(w[k].thread, NULL));
		EXPECT_EQ(0, w[k].ret);
		EXPECT_EQ(freed, w[k].off);
		EXPECT_EQ(NFRAMES - 1 - k, ksa_waiters(self->fd));
	}
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	close(p[0]);
	close(p[1]);
}

/* FREEs in a burst: each waiter still gets the frame freed for it. */
TEST_F(wait, burst_of_frees_keeps_order)
{
	struct waiter w[NFRAMES];
	int k;

	exhaust(_metadata, self);
	queue_waiters(_metadata, self->fd, w, NFRAMES, -1);
	for (k = 0; k < NFRAMES; k++)
		ASSERT_EQ(0, ksa_free(self->fd, self->off[k]));
	for (k = 0; k < NFRAMES; k++) {
		ASSERT_EQ(0, pthread_join(w[k].thread, NULL));
		EXPECT_EQ(0, w[k].ret);
		EXPECT_EQ(self->off[k], w[k].off);
	}
	EXPECT_EQ(0, ksa_waiters(self->fd));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
}

/* One FREE wakes one of several sleepers, not all of them. */
TEST_F(wait, one_free_wakes_one_sleeper)
{
	struct waiter w[NFRAMES];
	long long end;
	int k, ndone;

	exhaust(_metadata, self);
	queue_waiters(_metadata, self->fd, w, NFRAMES, -1);
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));

	end = ksa_now_ms() + KSA_WAIT_MS;
	while (!is_done(&w[0]) && ksa_now_ms() < end)
		usleep(1000);
	ASSERT_TRUE(is_done(&w[0]));
	EXPECT_EQ(NFRAMES - 1, ksa_waiters(self->fd));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	/* The others are still asleep in ALLOC. */
	for (k = 1; k < NFRAMES; k++)
		EXPECT_TRUE(ksa_wait_thread_asleep_in(waiter_tid(&w[k]), SYS_ioctl));
	for (ndone = 0, k = 0; k < NFRAMES; k++)
		ndone += is_done(&w[k]);
	EXPECT_EQ(1, ndone);

	/* Release the rest. */
	for (k = 1; k < NFRAMES; k++)
		ASSERT_EQ(0, ksa_free(self->fd, self->off[k]));
	for (k = 0; k < NFRAMES; k++) {
		ASSERT_EQ(0, pthread_join(w[k].thread, NULL));
		EXPECT_EQ(0, w[k].ret);
	}
}

/* A frame handed to a waiter never becomes free: poll stays quiet. */
TEST_F(wait, handoff_does_not_make_pool_readable)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	struct waiter w;

	exhaust(_metadata, self);
	ASSERT_EQ(0, waiter_start(&w, self->fd, 0, -1));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, pfd.revents);
	EXPECT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	EXPECT_EQ(-EAGAIN, ksa_alloc(self->fd, &w.off));
}

static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
	handled++;
}

static int install(int sig, int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	return sigaction(sig, &sa, NULL);
}

/* A handled signal without SA_RESTART ends the wait: EINTR, no frame lost. */
TEST_F(wait, signal_ends_wait_eintr)
{
	struct ksalloc_allocator_info info;
	struct waiter w;
	__u64 off;

	exhaust(_metadata, self);
	handled = 0;
	ASSERT_EQ(0, install(SIGALRM, 0));
	ASSERT_EQ(0, waiter_start(&w, self->fd, 0, -1));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	ASSERT_EQ(0, pthread_kill(w.thread, SIGALRM));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	EXPECT_EQ(-EINTR, w.ret);
	EXPECT_EQ(1, handled);

	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(0, info.waiters);
	EXPECT_EQ(NFRAMES, info.allocated_frames);
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));

	/* With nobody waiting any more, a freed frame goes back to the pool. */
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	EXPECT_EQ(NFRAMES - 1, ksa_allocated(self->fd));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, ksa_alloc(self->fd, &off));
	EXPECT_EQ(self->off[0], off);
}

/* With SA_RESTART the ALLOC goes back to sleep and completes later. */
TEST_F(wait, signal_with_restart_completes)
{
	struct waiter w;
	long long end;

	exhaust(_metadata, self);
	handled = 0;
	ASSERT_EQ(0, install(SIGUSR1, SA_RESTART));
	ASSERT_EQ(0, waiter_start(&w, self->fd, 0, -1));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	ASSERT_EQ(0, pthread_kill(w.thread, SIGUSR1));

	end = ksa_now_ms() + KSA_WAIT_MS;
	while (!handled && ksa_now_ms() < end)
		usleep(1000);
	ASSERT_EQ(1, handled);
	/* Restarted: queued again, not returned */
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	EXPECT_FALSE(is_done(&w));

	ASSERT_EQ(0, ksa_free(self->fd, self->off[2]));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(self->off[2], w.off);
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	EXPECT_EQ(0, ksa_waiters(self->fd));
}

/* A sleeper killed in ALLOC leaves the queue; later FREEs are not lost. */
TEST_F(wait, killed_sleeper_leaves_queue)
{
	int status;
	__u64 off;
	pid_t pid;

	exhaust(_metadata, self);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		ksa_alloc(self->fd, &off);
		_exit(1);
	}
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(0, ksa_waiters(self->fd));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));

	ASSERT_EQ(0, ksa_free(self->fd, self->off[1]));
	EXPECT_EQ(NFRAMES - 1, ksa_allocated(self->fd));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, O_NONBLOCK));
	ASSERT_EQ(0, ksa_alloc(self->fd, &off));
	EXPECT_EQ(self->off[1], off);
}

/* KSRESET_BEGIN sends every sleeping ALLOC away with ECANCELED. */
TEST_F(wait, reset_begin_cancels_every_sleeper)
{
	struct ksalloc_allocator_info info;
	struct waiter w[NFRAMES];
	int k;

	exhaust(_metadata, self);
	queue_waiters(_metadata, self->fd, w, NFRAMES, -1);
	ASSERT_EQ(0, ksa_reset(self->fd, KSRESET_BEGIN));
	for (k = 0; k < NFRAMES; k++) {
		ASSERT_EQ(0, pthread_join(w[k].thread, NULL));
		EXPECT_EQ(-ECANCELED, w[k].ret);
		EXPECT_EQ(~0ULL, w[k].off);
	}
	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(0, info.waiters);
	EXPECT_EQ(1, info.resetting);
	EXPECT_EQ(NFRAMES, info.allocated_frames);
	ASSERT_EQ(0, ksa_reset(self->fd, KSRESET_END));
}

/* Between BEGIN and END: no ALLOC (even with frames free), FREE works. */
TEST_F(wait, reset_refuses_alloc_until_end)
{
	struct ksalloc_allocator_info info;
	__u64 off = ~0ULL;
	int nb;

	exhaust(_metadata, self);
	ASSERT_EQ(0, ksa_reset(self->fd, KSRESET_BEGIN));
	EXPECT_EQ(-ECANCELED, ksa_alloc(self->fd, &off));

	EXPECT_EQ(0, ksa_free(self->fd, self->off[0]));
	EXPECT_EQ(0, ksa_free(self->fd, self->off[1]));
	EXPECT_EQ(NFRAMES - 2, ksa_allocated(self->fd));
	/* Frames are free, but a blocking ALLOC neither sleeps nor succeeds. */
	EXPECT_EQ(-ECANCELED, ksa_alloc(self->fd, &off));
	EXPECT_EQ(-ECANCELED, ksa_alloc_flags(self->fd, KSMETHOD_TYPE_WRITE, &off));
	EXPECT_EQ(~0ULL, off);

	/* The same on a non-blocking fd: ECANCELED, not EAGAIN or a frame */
	nb = ksa_create(self->pin, 1, ksa_page_size(), O_NONBLOCK);
	ASSERT_LE(0, nb);
	ASSERT_EQ(0, ksa_reset(nb, KSRESET_BEGIN));
	EXPECT_EQ(-ECANCELED, ksa_alloc(nb, &off));
	ASSERT_EQ(0, ksa_reset(nb, KSRESET_END));
	EXPECT_EQ(0, ksa_alloc(nb, &off));
	close(nb);

	/* A second BEGIN changes nothing. */
	EXPECT_EQ(0, ksa_reset(self->fd, KSRESET_BEGIN));
	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(1, info.resetting);

	ASSERT_EQ(0, ksa_reset(self->fd, KSRESET_END));
	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(0, info.resetting);
	EXPECT_EQ(0, ksa_alloc(self->fd, &off));
	EXPECT_EQ(0, ksa_alloc(self->fd, &off));
	EXPECT_EQ(NFRAMES, ksa_allocated(self->fd));
	/* An END without a BEGIN is harmless. */
	EXPECT_EQ(0, ksa_reset(self->fd, KSRESET_END));
}

/* A sleeper that arrives after END waits normally again. */
TEST_F(wait, sleeper_after_reset_end_waits)
{
	struct waiter w;

	exhaust(_metadata, self);
	ASSERT_EQ(0, ksa_reset(self->fd, KSRESET_BEGIN));
	ASSERT_EQ(0, ksa_reset(self->fd, KSRESET_END));
	ASSERT_EQ(0, waiter_start(&w, self->fd, 0, -1));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(self->off[0], w.off);
}

TEST_F(wait, reset_bad_arguments)
{
	struct ksalloc_allocator_info info;
	__u16 half = KSRESET_BEGIN;
	__u32 v = 2;

	EXPECT_EQ(-EINVAL, ksa_reset(self->fd, 2));
	EXPECT_EQ(-EINVAL, ksa_reset(self->fd, ~0U));
	EXPECT_EQ(-EINVAL, ksa_ioctl(self->fd, IOCTL_KS_RESET_STATE, &half,
				     sizeof(half), NULL, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, ksa_ioctl(self->fd, IOCTL_KS_RESET_STATE, NULL, 0,
				     NULL, 0, 0, NULL));
	EXPECT_EQ(-EFAULT, ksa_ioctl(self->fd, IOCTL_KS_RESET_STATE,
				     (void *)8, sizeof(v), NULL, 0, 0, NULL));
	/* None of them started a reset. */
	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(0, info.resetting);
}

/* poll reports POLLERR (and not POLLIN) during a reset. */
TEST_F(wait, reset_poll_reports_err)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN | POLLRDNORM };

	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLIN | POLLRDNORM, pfd.revents);
	ASSERT_EQ(0, ksa_reset(self->fd, KSRESET_BEGIN));
	pfd.revents = 0;
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLERR, pfd.revents);
	ASSERT_EQ(0, ksa_reset(self->fd, KSRESET_END));
	pfd.revents = 0;
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLIN | POLLRDNORM, pfd.revents);
}

struct poller {
	pthread_t thread;
	int fd;
	short events;
	pid_t tid;
	int ret;
	short revents;
};

static void *poller_fn(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = p->events };

	__atomic_store_n(&p->tid, ksa_gettid(), __ATOMIC_SEQ_CST);
	p->ret = poll(&pfd, 1, KSA_WAIT_MS);
	p->revents = pfd.revents;
	return NULL;
}

static void start_poller(struct __test_metadata *_metadata, struct poller *p,
			 int fd, short events)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->events = events;
	ASSERT_EQ(0, pthread_create(&p->thread, NULL, poller_fn, p));
	while (!__atomic_load_n(&p->tid, __ATOMIC_SEQ_CST))
		usleep(100);
	ASSERT_TRUE(ksa_wait_thread_asleep_in2(p->tid, SYS_poll, SYS_ppoll));
}

/* A poll() asleep on an exhausted allocator wakes at KSRESET_BEGIN. */
TEST_F(wait, reset_wakes_poll_sleeper)
{
	struct poller p;

	exhaust(_metadata, self);
	start_poller(_metadata, &p, self->fd, POLLIN);
	ASSERT_EQ(0, ksa_reset(self->fd, KSRESET_BEGIN));
	ASSERT_EQ(0, pthread_join(p.thread, NULL));
	EXPECT_EQ(1, p.ret);
	EXPECT_EQ(POLLERR, p.revents);
	ASSERT_EQ(0, ksa_reset(self->fd, KSRESET_END));
}

/* Reset on the pin that holds the allocator is forwarded to it. */
TEST_F(wait, reset_through_pin)
{
	struct ksalloc_allocator_info info;
	struct waiter w;
	int other;
	__u64 off;

	other = ksa_create(self->pin, 1, ksa_page_size(), 0);
	ASSERT_LE(0, other);
	/* A pin without an allocator: nothing to reset, not an error */
	EXPECT_EQ(0, ksa_reset(self->pin, KSRESET_BEGIN));
	EXPECT_EQ(0, ksa_reset(self->pin, KSRESET_END));
	ASSERT_EQ(0, ksa_info(other, &info));
	EXPECT_EQ(0, info.resetting);

	ASSERT_EQ(0, ksa_pin_set_allocator(self->pin, self->fd));
	exhaust(_metadata, self);
	ASSERT_EQ(0, waiter_start(&w, self->fd, 0, -1));
	ASSERT_TRUE(ksa_wait_waiters(self->fd, 1));

	ASSERT_EQ(0, ksa_reset(self->pin, KSRESET_BEGIN));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	EXPECT_EQ(-ECANCELED, w.ret);
	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(1, info.resetting);
	EXPECT_EQ(0, info.waiters);
	EXPECT_EQ(0, ksa_free(self->fd, self->off[0]));
	EXPECT_EQ(-ECANCELED, ksa_alloc(self->fd, &off));
	/* Only the pin's allocator is reset. */
	ASSERT_EQ(0, ksa_info(other, &info));
	EXPECT_EQ(0, info.resetting);
	EXPECT_EQ(0, ksa_alloc(other, &off));

	ASSERT_EQ(0, ksa_reset(self->pin, KSRESET_END));
	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(0, info.resetting);
	EXPECT_EQ(0, ksa_alloc(self->fd, &off));
	EXPECT_EQ(self->off[0], off);

	/* Once the pin lets go of the allocator, its resets stay on the pin. */
	ASSERT_EQ(0, ksa_pin_set_allocator(self->pin, KS_NULL_HANDLE));
	EXPECT_EQ(0, ksa_reset(self->pin, KSRESET_BEGIN));
	ASSERT_EQ(0, ksa_info(self->fd, &info));
	EXPECT_EQ(0, info.resetting);
	EXPECT_EQ(0, ksa_reset(self->pin, KSRESET_END));
	close(other);
}

/* poll and select: readable exactly while a frame can be allocated */
TEST_F(wait, poll_select_readable_iff_free)
{
	struct pollfd pfd = { .fd = self->fd,
			      .events = POLLIN | POLLRDNORM | POLLOUT };
	struct timeval tv = { 0, 0 };
	fd_set rd;
	__u64 off;
	int i;

	for (i = 0; i < NFRAMES; i++) {
		pfd.revents = 0;
		ASSERT_EQ(1, poll(&pfd, 1, 0));
		EXPECT_EQ(POLLIN | POLLRDNORM, pfd.revents);
		ASSERT_EQ(0, ksa_alloc(self->fd, &self->off[i]));
	}
	pfd.revents = 0;
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	EXPECT_EQ(0, pfd.revents);
	FD_ZERO(&rd);
	FD_SET(self->fd, &rd);
	EXPECT_EQ(0, select(self->fd + 1, &rd, NULL, NULL, &tv));
	EXPECT_FALSE(FD_ISSET(self->fd, &rd));

	ASSERT_EQ(0, ksa_free(self->fd, self->off[1]));
	pfd.revents = 0;
	ASSERT_EQ(1, poll(&pfd, 1, 0));
	EXPECT_EQ(POLLIN | POLLRDNORM, pfd.revents);
	FD_ZERO(&rd);
	FD_SET(self->fd, &rd);
	tv.tv_sec = tv.tv_usec = 0;
	EXPECT_EQ(1, select(self->fd + 1, &rd, NULL, NULL, &tv));
	EXPECT_TRUE(FD_ISSET(self->fd, &rd));

	ASSERT_EQ(0, ksa_alloc(self->fd, &off));
	pfd.revents = 0;
	EXPECT_EQ(0, poll(&pfd, 1, 0));
}

/* A poll() asleep on an exhausted allocator wakes when a frame is freed. */
TEST_F(wait, poll_sleeper_woken_by_free)
{
	struct poller p;

	exhaust(_metadata, self);
	start_poller(_metadata, &p, self->fd, POLLIN);
	ASSERT_EQ(0, ksa_free_in_child(self->fd, self->off[2]));
	ASSERT_EQ(0, pthread_join(p.thread, NULL));
	EXPECT_EQ(1, p.ret);
	EXPECT_EQ(POLLIN, p.revents);
}

/* A select() sleeper too */
struct selector {
	pthread_t thread;
	int fd;
	pid_t tid;
	int ret, isset;
};

static void *selector_fn(void *arg)
{
	struct selector *s = arg;
	struct timeval tv = { KSA_WAIT_MS / 1000, 0 };
	fd_set rd;

	FD_ZERO(&rd);
	FD_SET(s->fd, &rd);
	__atomic_store_n(&s->tid, ksa_gettid(), __ATOMIC_SEQ_CST);
	s->ret = select(s->fd + 1, &rd, NULL, NULL, &tv);
	s->isset = FD_ISSET(s->fd, &rd);
	return NULL;
}

TEST_F(wait, select_sleeper_woken_by_free)
{
	struct selector s = { .fd = self->fd };

	exhaust(_metadata, self);
	ASSERT_EQ(0, pthread_create(&s.thread, NULL, selector_fn, &s));
	while (!__atomic_load_n(&s.tid, __ATOMIC_SEQ_CST))
		usleep(100);
	ASSERT_TRUE(ksa_wait_thread_asleep_in2(s.tid, SYS_select,
					       SYS_pselect6));
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	ASSERT_EQ(0, pthread_join(s.thread, NULL));
	EXPECT_EQ(1, s.ret);
	EXPECT_TRUE(s.isset);
}

static int epoll_count(int ep, __u32 *events)
{
	struct epoll_event ev[4];
	int n = epoll_wait(ep, ev, 4, 0);

	if (n > 0 && events)
		*events = ev[0].events;
	return n;
}

/* Level-triggered epoll reports readiness as long as it lasts. */
TEST_F(wait, epoll_level_triggered)
{
	struct epoll_event ev = { .events = EPOLLIN };
	__u32 got = 0;
	int ep, i;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(1, epoll_count(ep, &got));
		EXPECT_EQ(EPOLLIN, got);
	}
	exhaust(_metadata, self);
	EXPECT_EQ(0, epoll_count(ep, NULL));
	EXPECT_EQ(0, epoll_count(ep, NULL));
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(1, epoll_count(ep, NULL));
	ASSERT_EQ(0, ksa_free(self->fd, self->off[1]));
	EXPECT_EQ(1, epoll_count(ep, NULL));
	close(ep);
}

/*
 * Edge-triggered epoll: one event per not-readable -> readable transition.
 * Frees that find a frame already free are no transition and must not
 * produce another event.
 */
TEST_F(wait, epoll_edge_triggered_one_event_per_transition)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	__u32 got = 0;
	__u64 off;
	int ep;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	/* Readable when added: one event, then silence */
	EXPECT_EQ(1, epoll_count(ep, NULL));
	EXPECT_EQ(0, epoll_count(ep, NULL));

	/* Allocating is no transition to readable. */
	exhaust(_metadata, self);
	EXPECT_EQ(0, epoll_count(ep, NULL));

	/* Two frees: one transition, one event */
	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	ASSERT_EQ(0, ksa_free(self->fd, self->off[1]));
	EXPECT_EQ(1, epoll_count(ep, &got));
	EXPECT_EQ(EPOLLIN, got);
	EXPECT_EQ(0, epoll_count(ep, NULL));

	/* 2 free -> 1 free -> 2 free stays readable throughout: no event */
	ASSERT_EQ(0, ksa_alloc(self->fd, &off));
	ASSERT_EQ(0, ksa_free(self->fd, off));
	EXPECT_EQ(0, epoll_count(ep, NULL));

	/* Exhausted again; the first free is an event, the second is not. */
	ASSERT_EQ(0, ksa_alloc(self->fd, &self->off[0]));
	ASSERT_EQ(0, ksa_alloc(self->fd, &self->off[1]));
	EXPECT_EQ(0, epoll_count(ep, NULL));
	ASSERT_EQ(0, ksa_free(self->fd, self->off[2]));
	EXPECT_EQ(1, epoll_count(ep, NULL));
	EXPECT_EQ(0, epoll_count(ep, NULL));
	ASSERT_EQ(0, ksa_free(self->fd, self->off[1]));
	EXPECT_EQ(0, epoll_count(ep, NULL));
	close(ep);
}

/* An epoll_wait() asleep in another thread wakes on the transition. */
struct epoller {
	pthread_t thread;
	int ep;
	pid_t tid;
	int ret;
	__u32 events;
};

static void *epoller_fn(void *arg)
{
	struct epoller *e = arg;
	struct epoll_event out = { 0 };

	__atomic_store_n(&e->tid, ksa_gettid(), __ATOMIC_SEQ_CST);
	e->ret = epoll_wait(e->ep, &out, 1, KSA_WAIT_MS);
	e->events = out.events;
	return NULL;
}

TEST_F(wait, epoll_edge_triggered_wakes_sleeper)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct epoller e = { 0 };

	e.ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, e.ep);
	exhaust(_metadata, self);
	ASSERT_EQ(0, epoll_ctl(e.ep, EPOLL_CTL_ADD, self->fd, &ev));
	EXPECT_EQ(0, epoll_count(e.ep, NULL));
	ASSERT_EQ(0, pthread_create(&e.thread, NULL, epoller_fn, &e));
	while (!__atomic_load_n(&e.tid, __ATOMIC_SEQ_CST))
		usleep(100);
	ASSERT_TRUE(ksa_wait_thread_asleep_in2(e.tid, SYS_epoll_wait,
					       SYS_epoll_pwait));
	ASSERT_EQ(0, ksa_free_in_child(self->fd, self->off[0]));
	ASSERT_EQ(0, pthread_join(e.thread, NULL));
	EXPECT_EQ(1, e.ret);
	EXPECT_EQ(EPOLLIN, e.events);
	close(e.ep);
}

TEST_HARNESS_MAIN
