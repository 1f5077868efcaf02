// SPDX-License-Identifier: GPL-2.0
/*
 * The direct ALLOC and FREE ioctls (IOCTL_KSALLOC_ALLOC_FRAME/_FREE_FRAME):
 * the same frames, waits, events and errors as the KS methods, without the
 * request framing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/ksalloc.h>

#include "ksa_test.h"
#include "kselftest_harness.h"

#define FRAMES	4

static int direct(int fd, unsigned long cmd, uint64_t *offset)
{
	return ioctl(fd, cmd, offset) ? -errno : 0;
}

static int method(int fd, uint32_t id, uint64_t *offset)
{
	return kst_method(fd, id, KSMETHOD_TYPE_SEND, offset);
}

FIXTURE(direct) {
	int pin;
	int alloc;	/* blocking */
	int nb;		/* O_NONBLOCK */
};

static int create(int pin, uint32_t open_flags)
{
	return kst_create_system(pin, FRAMES, open_flags | O_CLOEXEC);
}

FIXTURE_SETUP(direct)
{
	self->alloc = -1;
	self->nb = -1;
	self->pin = open("/dev/ksalloc", O_RDWR | O_CLOEXEC);
	if (self->pin < 0)
		SKIP(return, "/dev/ksalloc: %s", strerror(errno));
	self->alloc = create(self->pin, 0);
	ASSERT_LE(0, self->alloc);
	self->nb = create(self->pin, O_NONBLOCK);
	ASSERT_LE(0, self->nb);
}

FIXTURE_TEARDOWN(direct)
{
	if (self->nb >= 0)
		close(self->nb);
	if (self->alloc >= 0)
		close(self->alloc);
	if (self->pin >= 0)
		close(self->pin);
}

#define NEED_DEVICE() do { if (self->pin < 0) SKIP(return, "no device"); } while (0)

/* The direct calls and the methods share one set of frames. */
TEST_F(direct, same_frames_as_the_methods)
{
	uint64_t a, b, c;

	NEED_DEVICE();
	ASSERT_EQ(0, direct(self->nb, IOCTL_KSALLOC_ALLOC_FRAME, &a));
	ASSERT_EQ(0, method(self->nb, KSMETHOD_STREAMALLOCATOR_ALLOC, &b));
	EXPECT_NE(a, b);
	EXPECT_EQ(0, a % 4096);
	EXPECT_EQ(0, b % 4096);
	EXPECT_EQ(2, kst_allocated(self->nb));
	/* freed one way, allocated the other */
	EXPECT_EQ(0, method(self->nb, KSMETHOD_STREAMALLOCATOR_FREE, &a));
	EXPECT_EQ(0, direct(self->nb, IOCTL_KSALLOC_FREE_FRAME, &b));
	EXPECT_EQ(0, kst_allocated(self->nb));
	ASSERT_EQ(0, direct(self->nb, IOCTL_KSALLOC_ALLOC_FRAME, &c));
	EXPECT_EQ(0, method(self->nb, KSMETHOD_STREAMALLOCATOR_FREE, &c));
}

TEST_F(direct, nonblocking_empty_pool_is_eagain)
{
	uint64_t off[FRAMES], extra = 0x5a5a;
	int i;

	NEED_DEVICE();
	for (i = 0; i < FRAMES; i++)
		ASSERT_EQ(0, direct(self->nb, IOCTL_KSALLOC_ALLOC_FRAME, &off[i]));
	EXPECT_EQ(-EAGAIN, direct(self->nb, IOCTL_KSALLOC_ALLOC_FRAME, &extra));
	EXPECT_EQ(0x5a5a, extra);
	EXPECT_EQ(FRAMES, kst_allocated(self->nb));
	for (i = 0; i < FRAMES; i++)
		EXPECT_EQ(0, direct(self->nb, IOCTL_KSALLOC_FREE_FRAME, &off[i]));
}

TEST_F(direct, bad_frees_change_nothing)
{
	uint64_t off, bad;

	NEED_DEVICE();
	ASSERT_EQ(0, direct(self->nb, IOCTL_KSALLOC_ALLOC_FRAME, &off));
	bad = off + 1;
	EXPECT_EQ(-EINVAL, direct(self->nb, IOCTL_KSALLOC_FREE_FRAME, &bad));
	bad = FRAMES * 4096;
	EXPECT_EQ(-EINVAL, direct(self->nb, IOCTL_KSALLOC_FREE_FRAME, &bad));
	bad = UINT64_MAX;
	EXPECT_EQ(-EINVAL, direct(self->nb, IOCTL_KSALLOC_FREE_FRAME, &bad));
	bad = off == 0 ? 4096 : 0;	/* a frame that is free */
	EXPECT_EQ(-EINVAL, direct(self->nb, IOCTL_KSALLOC_FREE_FRAME, &bad));
	EXPECT_EQ(1, kst_allocated(self->nb));
	EXPECT_EQ(0, direct(self->nb, IOCTL_KSALLOC_FREE_FRAME, &off));
	EXPECT_EQ(-EINVAL, direct(self->nb, IOCTL_KSALLOC_FREE_FRAME, &off));
	EXPECT_EQ(0, kst_allocated(self->nb));
}

/* A frame whose offset cannot be written back is not lost. */
TEST_F(direct, efault_loses_no_frame)
{
	uint64_t *ro;

	NEED_DEVICE();
	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_TRUE(ro != MAP_FAILED);
	EXPECT_EQ(-EFAULT, direct(self->nb, IOCTL_KSALLOC_ALLOC_FRAME, NULL));
	EXPECT_EQ(-EFAULT, direct(self->nb, IOCTL_KSALLOC_ALLOC_FRAME, ro));
	EXPECT_EQ(0, kst_allocated(self->nb));
	EXPECT_EQ(-EFAULT, direct(self->nb, IOCTL_KSALLOC_FREE_FRAME, NULL));
	EXPECT_EQ(0, munmap(ro, 4096));
}

struct sleeper {
	int fd;
	int ret;
	uint64_t off;
};

static void *sleep_in_alloc(void *arg)
{
	struct sleeper *s = arg;

	s->ret = direct(s->fd, IOCTL_KSALLOC_ALLOC_FRAME, &s->off);
	return NULL;
}

/* A blocking direct ALLOC sleeps until a FREE hands it the frame. */
TEST_F(direct, blocking_alloc_is_woken_by_free)
{
	struct sleeper s = { .fd = self->alloc, .ret = 1 };
	uint64_t off[FRAMES];
	pthread_t t;
	int i;

	NEED_DEVICE();
	for (i = 0; i < FRAMES; i++)
		ASSERT_EQ(0, direct(self->alloc, IOCTL_KSALLOC_ALLOC_FRAME, &off[i]));
	ASSERT_EQ(0, pthread_create(&t, NULL, sleep_in_alloc, &s));
	while (kst_waiters(self->alloc) != 1)
		usleep(1000);
	EXPECT_EQ(0, direct(self->alloc, IOCTL_KSALLOC_FREE_FRAME, &off[2]));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(0, s.ret);
	EXPECT_EQ(off[2], s.off);
	EXPECT_EQ(FRAMES, kst_allocated(self->alloc));
	for (i = 0; i < FRAMES; i++)
		EXPECT_EQ(0, direct(self->alloc, IOCTL_KSALLOC_FREE_FRAME, &off[i]));
}

/* KSRESET_BEGIN sends a sleeping direct ALLOC away and refuses new ones. */
TEST_F(direct, reset_cancels)
{
	struct sleeper s = { .fd = self->alloc, .ret = 1 };
	uint32_t begin = KSRESET_BEGIN, end = KSRESET_END;
	uint64_t off[FRAMES], o;
	pthread_t t;
	int i;

	NEED_DEVICE();
	for (i = 0; i < FRAMES; i++)
		ASSERT_EQ(0, direct(self->alloc, IOCTL_KSALLOC_ALLOC_FRAME, &off[i]));
	ASSERT_EQ(0, pthread_create(&t, NULL, sleep_in_alloc, &s));
	while (kst_waiters(self->alloc) != 1)
		usleep(1000);
	ASSERT_EQ(0, kst_ioctl(self->alloc, IOCTL_KS_RESET_STATE, &begin, 4, NULL,
			       0, 0, NULL));
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-ECANCELED, s.ret);
	EXPECT_EQ(0, direct(self->alloc, IOCTL_KSALLOC_FREE_FRAME, &off[0]));
	EXPECT_EQ(-ECANCELED, direct(self->alloc, IOCTL_KSALLOC_ALLOC_FRAME, &o));
	ASSERT_EQ(0, kst_ioctl(self->alloc, IOCTL_KS_RESET_STATE, &end, 4, NULL,
			       0, 0, NULL));
	EXPECT_EQ(0, direct(self->alloc, IOCTL_KSALLOC_ALLOC_FRAME, &off[0]));
	for (i = 0; i < FRAMES; i++)
		EXPECT_EQ(0, direct(self->alloc, IOCTL_KSALLOC_FREE_FRAME, &off[i]));
}

/* A direct FREE signals FREEFRAME like the method does. */
TEST_F(direct, free_signals_freeframe)
{
	struct ksidentifier e = {
		.set = KSEVENTSETID_StreamAllocator,
		.id = KSEVENT_STREAMALLOCATOR_FREEFRAME,
		.flags = KSEVENT_TYPE_ENABLE,
	};
	struct kseventdata ed;
	uint64_t off, count = 0;
	int efd;

	NEED_DEVICE();
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd);
	memset(&ed, 0, sizeof(ed));
	ed.notification_type = KSEVENTF_EVENT_HANDLE;
	ed.event_handle.event = efd;
	ASSERT_EQ(0, kst_ioctl(self->nb, IOCTL_KS_ENABLE_EVENT, &e, sizeof(e),
			       &ed, sizeof(ed), 0, NULL));
	ASSERT_EQ(0, direct(self->nb, IOCTL_KSALLOC_ALLOC_FRAME, &off));
	EXPECT_EQ(-1, read(efd, &count, sizeof(count)));	/* nothing yet */
	ASSERT_EQ(0, direct(self->nb, IOCTL_KSALLOC_FREE_FRAME, &off));
	ASSERT_EQ(0, direct(self->nb, IOCTL_KSALLOC_ALLOC_FRAME, &off));
	ASSERT_EQ(0, direct(self->nb, IOCTL_KSALLOC_FREE_FRAME, &off));
	EXPECT_EQ(sizeof(count), read(efd, &count, sizeof(count)));
	EXPECT_EQ(2, count);
	EXPECT_EQ(0, kst_ioctl(self->nb, IOCTL_KS_DISABLE_EVENT, &ed, sizeof(ed),
			       NULL, 0, 0, NULL));
	close(efd);
}

/* A pin has no frames: the direct calls are not its ioctls. */
TEST_F(direct, not_on_a_pin)
{
	uint64_t off = 0;

	NEED_DEVICE();
	EXPECT_EQ(-ENOTTY, direct(self->pin, IOCTL_KSALLOC_ALLOC_FRAME, &off));
	EXPECT_EQ(-ENOTTY, direct(self->pin, IOCTL_KSALLOC_FREE_FRAME, &off));
}

TEST_HARNESS_MAIN
