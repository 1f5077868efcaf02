// SPDX-License-Identifier: GPL-2.0
/*
 * libksalloc against the real module: every helper of lib/libksalloc.h and
 * lib/ks-compat.h is used the way a ported KS client would use it, and
 * each test checks both what the helper returns and what the kernel says
 * happened (STATUS, INFO, the mapping's bytes, eventfd counts), including
 * the failure paths and their errno / KS status text.
 *
 * The library is compiled into this program from its sources, so the test
 * always exercises the library of this tree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "../lib/ksalloc.c"
#include "../lib/ring.c"
#include "../lib/ks-compat.h"
#include "ksa_test.h"
#include "kselftest_harness.h"

/* Upper bound of every wait for a state change (not a timing check) */
#define LT_WAIT_MS		20000

static const struct ksguid g_stream = KSPROPSETID_Stream;
static const struct ksguid g_connection = KSPROPSETID_Connection;
static const struct ksguid g_ksalloc_pin = KSPROPSETID_KsallocPin;
static const struct ksguid g_alloc_props = KSPROPSETID_StreamAllocator;
static const struct ksguid g_alloc_methods = KSMETHODSETID_StreamAllocator;
static const struct ksguid g_alloc_events = KSEVENTSETID_StreamAllocator;
static const struct ksguid g_ksalloc_alloc = KSPROPSETID_KsallocAllocator;
static const struct ksguid g_batch = KSMETHODSETID_KsallocBatch;
static const struct ksguid g_frame = KSMETHODSETID_KsallocFrame;
static const struct ksguid g_bogus = {
	.b = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }
};

static long lt_allocated(int fd)
{
	struct ksstreamallocator_status st;
	int ret = ksa_allocator_status(fd, &st);

	return ret ? ret : (long)st.allocated_frames;
}

static long long lt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Wait until thread @tid sleeps (state S) in poll() or ppoll(), as /proc
 * says; 0 after LT_WAIT_MS. That is where KSA_FRAME_WAIT sleeps.
 */
static int lt_wait_asleep_in_poll(pid_t tid)
{
	long long end = lt_now_ms() + LT_WAIT_MS;
	char path[64], buf[512], *p;
	int asleep, in_poll;
	long nr;
	FILE *f;

	do {
		asleep = in_poll = 0;
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
		f = fopen(path, "re");
		if (f) {
			if (fgets(buf, sizeof(buf), f)) {
				p = strrchr(buf, ')');
				asleep = p && p[1] == ' ' && p[2] == 'S';
			}
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
		f = fopen(path, "re");
		if (f) {
			in_poll = fscanf(f, "%ld", &nr) == 1 &&
				  (nr == SYS_poll || nr == SYS_ppoll);
			fclose(f);
		}
		if (asleep && in_poll)
			return 1;
		usleep(1000);
	} while (lt_now_ms() < end);
	return 0;
}

FIXTURE(lib) {
	int pin;
};

FIXTURE_SETUP(lib)
{
	self->pin = ksa_open_pin();
	if (self->pin < 0)
		TH_LOG("ksa_open_pin: %s (is the module loaded?)",
		       strerror(-self->pin));
	ASSERT_LE(0, self->pin);
}

FIXTURE_TEARDOWN(lib)
{
	if (self->pin >= 0)
		close(self->pin);
}

/* A pin from ksa_open_pin() is close-on-exec and answers pin requests. */
TEST_F(lib, open_pin)
{
	__u32 state = 99;
	int fd;

	EXPECT_EQ(FD_CLOEXEC, fcntl(self->pin, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(O_RDWR, fcntl(self->pin, F_GETFL) & O_ACCMODE);
	ASSERT_EQ(0, ksa_pin_get_state(self->pin, &state));
	EXPECT_EQ(KSSTATE_STOP, state);

	/* KSALLOC_DEVICE names another node */
	ASSERT_EQ(0, setenv("KSALLOC_DEVICE", "/nonexistent/ksalloc", 1));
	EXPECT_EQ(-ENOENT, ksa_open_pin());
	ASSERT_EQ(0, setenv("KSALLOC_DEVICE", "/dev/null", 1));
	fd = ksa_open_pin();
	ASSERT_LE(0, fd);
	/* not a ksalloc node: its ioctls are unknown there */
	EXPECT_EQ(-ENOTTY, ksa_pin_get_state(fd, &state));
	EXPECT_NE(NULL, strstr(ksa_strerror(-ENOTTY),
			       "STATUS_INVALID_DEVICE_REQUEST"));
	close(fd);
	unsetenv("KSALLOC_DEVICE");

	EXPECT_EQ(-ENOENT, ksa_open_pin_path("/nonexistent/ksalloc", O_CLOEXEC));
	EXPECT_EQ(-EINVAL, ksa_open_pin_path(NULL, 0));
	/* a pin is read/write whatever the flags ask for */
	fd = ksa_open_pin_path(KSA_DEVICE_PATH, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(O_RDWR, fcntl(fd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

/* KsCreateAllocator: the framing reaches the kernel as given. */
TEST_F(lib, create_allocator)
{
	struct ksallocator_framing f = kst_framing(3, 5000);
	struct ksstreamallocator_status st;
	struct ksalloc_allocator_info info;
	long page = sysconf(_SC_PAGESIZE);
	int fd = -7, fd2;

	ASSERT_EQ(0, ksa_create_allocator(self->pin, &f, O_CLOEXEC, &fd));
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	ASSERT_EQ(0, ksa_allocator_info(fd, &info));
	EXPECT_EQ(3, info.frames);
	EXPECT_EQ(5000, info.frame_size);
	EXPECT_EQ((5000 + page - 1) / page * page, info.frame_stride);
	EXPECT_EQ(3ULL * info.frame_stride, info.mmap_size);
	EXPECT_EQ(0, info.allocated_frames);
	ASSERT_EQ(0, ksa_allocator_status(fd, &st));
	EXPECT_EQ(0, memcmp(&f, &st.framing, sizeof(f)));
	EXPECT_EQ(0, st.allocated_frames);

	/* O_NONBLOCK reaches the new file; no O_CLOEXEC leaves it inheritable */
	ASSERT_EQ(0, ksa_create_allocator(self->pin, &f, O_NONBLOCK, &fd2));
	EXPECT_EQ(O_NONBLOCK, fcntl(fd2, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(0, fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	close(fd2);

	/* kernel refusals come back as -errno, *fd reset to -1 */
	f.frames = 0;
	fd2 = 5;
	EXPECT_EQ(-EINVAL, ksa_create_allocator(self->pin, &f, 0, &fd2));
	EXPECT_EQ(-1, fd2);
	f = kst_framing(1, UINT32_MAX);
	EXPECT_EQ(-EOVERFLOW, ksa_create_allocator(self->pin, &f, 0, &fd2));
	f = kst_framing(1, 4096);
	f.reserved = 1;
	EXPECT_EQ(-EINVAL, ksa_create_allocator(self->pin, &f, 0, &fd2));
	f.reserved = 0;
	/* an allocator creates nothing */
	EXPECT_EQ(-ENOTTY, ksa_create_allocator(fd, &f, 0, &fd2));
	/* bad open flags */
	EXPECT_EQ(-EINVAL, ksa_create_allocator(self->pin, &f, O_APPEND, &fd2));
	/* caller bugs, caught before the kernel */
	EXPECT_EQ(-EINVAL, ksa_create_allocator(self->pin, NULL, 0, &fd2));
	EXPECT_EQ(-EINVAL, ksa_create_allocator(self->pin, &f, 0, NULL));
	EXPECT_EQ(-EBADF, ksa_create_allocator(-1, &f, 0, &fd2));
	close(fd);
}

/* KSNAME_AllocatorEx: the first framing item makes the allocator. */
TEST_F(lib, create_allocator_ex)
{
	static const struct ksguid mem_system = KSMEMORY_TYPE_SYSTEM;
	struct ksallocator_framing_ex ex;
	struct ksalloc_allocator_info info;
	int fd = -1;

	memset(&ex, 0, sizeof(ex));
	ex.count_items = 1;
	ex.framing_item[0].memory_type = mem_system;
	ex.framing_item[0].frames = 2;
	ex.framing_item[0].framing_range.range.min_frame_size = 1000;
	ex.framing_item[0].framing_range.range.max_frame_size = 3000;
	ASSERT_EQ(0, ksa_create_allocator_ex(self->pin, &ex, O_CLOEXEC, &fd));
	ASSERT_EQ(0, ksa_allocator_info(fd, &info));
	EXPECT_EQ(2, info.frames);
	EXPECT_EQ(3000, info.frame_size);
	close(fd);

	/* min above max: the kernel's -EINVAL */
	ex.framing_item[0].framing_range.range.min_frame_size = 4000;
	EXPECT_EQ(-EINVAL, ksa_create_allocator_ex(self->pin, &ex, 0, &fd));
	/* no items: refused before the kernel */
	ex.count_items = 0;
	EXPECT_EQ(-EINVAL, ksa_create_allocator_ex(self->pin, &ex, 0, &fd));
	ex.count_items = 1000;
	EXPECT_EQ(-EINVAL, ksa_create_allocator_ex(self->pin, &ex, 0, &fd));
}

/*
 * Frames are pointers into one mapping: distinct, frame-aligned, usable,
 * counted by the kernel; the empty pool says STATUS_PENDING.
 */
TEST_F(lib, frame_pointers)
{
	struct ksallocator_framing f = kst_framing(4, 4096);
	struct ksa_allocator *a = NULL;
	void *fr[4], *extra;
	int64_t off;
	int i, j;

	ASSERT_EQ(0, ksa_allocator_create(self->pin, &f, 0, &a));
	ASSERT_NE(NULL, a);
	EXPECT_EQ(4, ksa_allocator_frames(a));
	EXPECT_EQ(4096, ksa_allocator_frame_size(a));
	EXPECT_EQ(FD_CLOEXEC, fcntl(ksa_allocator_fd(a), F_GETFD) & FD_CLOEXEC);
	EXPECT_LT(0, ksa_allocator_id(a));

	for (i = 0; i < 4; i++) {
		fr[i] = ksa_frame_alloc(a, KSA_FRAME_NONBLOCK);
		ASSERT_NE(NULL, fr[i]);
		off = ksa_frame_offset(a, fr[i]);
		ASSERT_LE(0, off);
		EXPECT_EQ(0, off % ksa_allocator_frame_stride(a));
		EXPECT_EQ(fr[i], ksa_frame_at(a, off));
		for (j = 0; j < i; j++)
			EXPECT_NE(fr[j], fr[i]);
		/* the whole frame is writable */
		memset(fr[i], 0xa0 + i, 4096);
	}
	for (i = 0; i < 4; i++)
		EXPECT_EQ(0xa0 + i, ((unsigned char *)fr[i])[4095]);
	EXPECT_EQ(4, lt_allocated(ksa_allocator_fd(a)));

	errno = 0;
	extra = ksa_frame_alloc(a, KSA_FRAME_NONBLOCK);
	EXPECT_EQ(NULL, extra);
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_NE(NULL, strstr(ksa_strerror(-errno), "STATUS_PENDING"));

	/* not the start of a frame: refused without asking the kernel */
	EXPECT_EQ(-EINVAL, ksa_frame_free(a, (char *)fr[0] + 8));
	EXPECT_EQ(-EINVAL, ksa_frame_free(a, NULL));
	EXPECT_EQ(-EINVAL, ksa_frame_free(a, &f));
	EXPECT_EQ(-1, ksa_frame_offset(a, (char *)fr[0] + 1));
	EXPECT_EQ(NULL, ksa_frame_at(a, 4ULL * ksa_allocator_frame_stride(a)));
	EXPECT_EQ(4, lt_allocated(ksa_allocator_fd(a)));

	for (i = 0; i < 4; i++)
		EXPECT_EQ(0, ksa_frame_free(a, fr[i]));
	EXPECT_EQ(0, lt_allocated(ksa_allocator_fd(a)));
	/* a frame that is free already: the kernel's STATUS_INVALID_PARAMETER */
	EXPECT_EQ(-EINVAL, ksa_frame_free(a, fr[0]));

	/* unknown and contradicting flags */
	errno = 0;
	EXPECT_EQ(NULL, ksa_frame_alloc(a, 0x100));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, ksa_frame_alloc(a, KSA_FRAME_NONBLOCK | KSA_FRAME_WAIT));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, lt_allocated(ksa_allocator_fd(a)));
	ksa_allocator_close(a);
	ksa_allocator_close(NULL);
}

/* Frames as dma-bufs: exported, and allocated as one; contiguous frames */
TEST_F(lib, frames_as_dmabufs)
{
	struct ksallocator_framing f = kst_framing(2, 3 * 4096 + 5);
	struct ksa_allocator *a = NULL;
	void *fr, *owned, *none;
	int d, od, fd;

	ASSERT_EQ(0, ksa_allocator_create(self->pin, &f, 0, &a));
	fr = ksa_frame_alloc(a, KSA_FRAME_NONBLOCK);
	ASSERT_NE(NULL, fr);
	d = ksa_frame_export(a, fr);
	ASSERT_LE(0, d) TH_LOG("%s", strerror(-d));
	EXPECT_EQ(FD_CLOEXEC, fcntl(d, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(4 * 4096, lseek(d, 0, SEEK_END));
	EXPECT_EQ(-EINVAL, ksa_frame_export(a, (char *)fr + 1));
	EXPECT_EQ(-EINVAL, ksa_frame_export(a, NULL));

	owned = ksa_frame_alloc_dmabuf(a, KSA_FRAME_NONBLOCK, &od);
	ASSERT_NE(NULL, owned);
	ASSERT_LE(0, od);
	EXPECT_NE(fr, owned);
	EXPECT_EQ(-EBUSY, ksa_frame_free(a, owned));
	EXPECT_EQ(-EBUSY, ksa_frame_export(a, owned));
	errno = 0;
	fd = 77;
	none = ksa_frame_alloc_dmabuf(a, KSA_FRAME_NONBLOCK, &fd);
	EXPECT_EQ(NULL, none);
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(NULL, ksa_frame_alloc_dmabuf(a, KSA_FRAME_WAIT, &fd));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(NULL, ksa_frame_alloc_dmabuf(a, 0, NULL));
	EXPECT_EQ(EINVAL, errno);

	/* The frame lifetime rule: freed and closed, in either order */
	EXPECT_EQ(0, ksa_frame_free(a, fr));
	EXPECT_EQ(2, lt_allocated(ksa_allocator_fd(a)));
	EXPECT_EQ(0, close(d));
	EXPECT_EQ(0, close(od));
	EXPECT_EQ(0, lt_allocated(ksa_allocator_fd(a)));
	ksa_allocator_close(a);

	/* Contiguous frames through the creation flags */
	ASSERT_EQ(0, ksa_create_allocator_flags(self->pin, &f,
						KSALLOC_CREATEF_CONTIGUOUS,
						O_CLOEXEC, &fd));
	EXPECT_EQ(0, close(fd));
	f.frame_size = 64 << 20;
	EXPECT_EQ(-E2BIG, ksa_create_allocator_flags(self->pin, &f,
						     KSALLOC_CREATEF_CONTIGUOUS,
						     0, &fd));
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(-EINVAL, ksa_create_allocator_flags(self->pin, &f, 0x80, 0,
						      &fd));
	EXPECT_EQ(-EINVAL, ksa_create_allocator_flags(self->pin, NULL, 0, 0,
						      &fd));
}

/*
 * What one process writes into a frame, another process mapping the same
 * allocator reads at the same offset, and the other way round.
 */
TEST_F(lib, mapping_is_shared)
{
	struct ksallocator_framing f = kst_framing(2, 8192);
	struct ksa_allocator *a, *b;
	int64_t off;
	char *p, *q;
	int status;
	pid_t pid;

	ASSERT_EQ(0, ksa_allocator_create(self->pin, &f, 0, &a));
	p = ksa_frame_alloc(a, 0);
	ASSERT_NE(NULL, p);
	off = ksa_frame_offset(a, p);
	strcpy(p, "written by the parent");
	strcpy(p + 8000, "tail");

	/* A second object on the same fd has its own mapping */
	ASSERT_EQ(0, ksa_allocator_open(ksa_allocator_fd(a), 0, &b));
	q = ksa_frame_at(b, off);
	ASSERT_NE(NULL, q);
	EXPECT_NE(p, q);
	EXPECT_STREQ("written by the parent", q);
	EXPECT_STREQ("tail", q + 8000);
	ksa_allocator_close(b);
	/* b did not own the fd: a's still works */
	EXPECT_EQ(1, lt_allocated(ksa_allocator_fd(a)));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct ksa_allocator *c;
		char *r;

		/* a fresh mapping in the child, through the inherited fd */
		if (ksa_allocator_open(ksa_allocator_fd(a), 0, &c))
			_exit(10);
		r = ksa_frame_at(c, off);
		if (!r || strcmp(r, "written by the parent"))
			_exit(11);
		strcpy(r, "answered by the child");
		ksa_allocator_close(c);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_STREQ("answered by the child", p);

	EXPECT_EQ(0, ksa_frame_free(a, p));
	ksa_allocator_close(a);
}

/*
 * The mapping keeps the allocator alive: a wrapped fd closed by its owner
 * leaves the frames usable until ksa_allocator_close() unmaps them.
 */
TEST_F(lib, mapping_outlives_fd)
{
	struct ksallocator_framing f = kst_framing(1, 4096);
	struct ksa_allocator *a;
	long long before;
	int fd;
	char *p;

	before = kst_sysfs_allocators();
	ASSERT_LE(0, before);
	ASSERT_EQ(0, ksa_create_allocator(self->pin, &f, O_CLOEXEC, &fd));
	ASSERT_EQ(0, ksa_allocator_open(fd, 0, &a));
	p = ksa_frame_alloc(a, 0);
	ASSERT_NE(NULL, p);
	strcpy(p, "still here");
	close(fd);
	EXPECT_EQ(before + 1, kst_sysfs_allocators());
	EXPECT_STREQ("still here", p);
	ksa_allocator_close(a);
	EXPECT_EQ(before, kst_sysfs_allocators());

	/* KSA_ALLOCATOR_OWN_FD: the fd goes with the object */
	ASSERT_EQ(0, ksa_create_allocator(self->pin, &f, O_CLOEXEC, &fd));
	ASSERT_EQ(0, ksa_allocator_open(fd, KSA_ALLOCATOR_OWN_FD, &a));
	ksa_allocator_close(a);
	EXPECT_EQ(-1, fcntl(fd, F_GETFD));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(before, kst_sysfs_allocators());

	/* a pin is not an allocator; unknown flags */
	EXPECT_EQ(-ENOENT, ksa_allocator_open(self->pin, 0, &a));
	EXPECT_EQ(NULL, a);
	EXPECT_EQ(-EINVAL, ksa_allocator_open(self->pin, 0x80, &a));
	EXPECT_EQ(-EBADF, ksa_allocator_open(-1, 0, &a));
}

/* KSA_FRAME_NONBLOCK does not sleep on a blocking allocator. */
TEST_F(lib, nonblock_flag_on_blocking_fd)
{
	struct ksallocator_framing f = kst_framing(1, 4096);
	struct ksa_allocator *a;
	void *p;

	ASSERT_EQ(0, ksa_allocator_create(self->pin, &f, 0, &a));
	EXPECT_EQ(0, fcntl(ksa_allocator_fd(a), F_GETFL) & O_NONBLOCK);
	p = ksa_frame_alloc(a, 0);
	ASSERT_NE(NULL, p);
	/* If this slept, the harness would kill the test at its timeout */
	errno = 0;
	EXPECT_EQ(NULL, ksa_frame_alloc(a, KSA_FRAME_NONBLOCK));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(1, lt_allocated(ksa_allocator_fd(a)));
	EXPECT_EQ(0, ksa_frame_free(a, p));
	ksa_allocator_close(a);
}

struct waiter {
	struct ksa_allocator *a;
	pid_t tid;
	void *frame;
	int err;
};

static void *wait_alloc(void *arg)
{
	struct waiter *w = arg;

	__atomic_store_n(&w->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	w->frame = ksa_frame_alloc(w->a, KSA_FRAME_WAIT);
	w->err = w->frame ? 0 : errno;
	return NULL;
}

/*
 * KSA_FRAME_WAIT sleeps (in poll) even on an O_NONBLOCK allocator, and
 * gets the frame that is freed.
 */
TEST_F(lib, wait_flag_on_nonblocking_fd)
{
	struct ksallocator_framing f = kst_framing(1, 4096);
	struct waiter w = { 0 };
	struct ksa_allocator *a;
	pthread_t th;
	void *p;

	ASSERT_EQ(0, ksa_allocator_create(self->pin, &f, O_NONBLOCK, &a));
	EXPECT_EQ(O_NONBLOCK, fcntl(ksa_allocator_fd(a), F_GETFL) & O_NONBLOCK);
	p = ksa_frame_alloc(a, 0);
	ASSERT_NE(NULL, p);
	errno = 0;
	EXPECT_EQ(NULL, ksa_frame_alloc(a, 0));
	EXPECT_EQ(EAGAIN, errno);

	w.a = a;
	w.tid = 0;
	ASSERT_EQ(0, pthread_create(&th, NULL, wait_alloc, &w));
	while (!__atomic_load_n(&w.tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	ASSERT_TRUE(lt_wait_asleep_in_poll(w.tid)) {
		TH_LOG("the KSA_FRAME_WAIT caller never slept in poll");
		ksa_frame_free(a, p);
		pthread_join(th, NULL);
	}
	EXPECT_EQ(NULL, w.frame);
	EXPECT_EQ(0, ksa_frame_free(a, p));
	pthread_join(th, NULL);
	EXPECT_EQ(0, w.err);
	EXPECT_EQ(p, w.frame);
	EXPECT_EQ(1, lt_allocated(ksa_allocator_fd(a)));
	EXPECT_EQ(0, ksa_frame_free(a, w.frame));
	ksa_allocator_close(a);
}

/* The batch helpers: counts, all-or-nothing, non-blocking, all-or-none frees */
TEST_F(lib, batch)
{
	struct ksallocator_framing f = kst_framing(4, 4096);
	struct ksa_allocator *a;
	void *fr[KSALLOC_BATCH_MAX + 1], *more[4], *dup[2];
	int n, i;

	ASSERT_EQ(0, ksa_allocator_create(self->pin, &f, 0, &a));
	n = ksa_frame_alloc_batch(a, fr, 3, 0);
	ASSERT_EQ(3, n);
	for (i = 0; i < 3; i++)
		ASSERT_LE(0, ksa_frame_offset(a, fr[i]));
	EXPECT_EQ(3, lt_allocated(ksa_allocator_fd(a)));

	/* one is free: all-or-nothing for two takes none */
	EXPECT_EQ(-EAGAIN, ksa_frame_alloc_batch(a, more, 2,
						 KSA_FRAME_ALL_OR_NOTHING));
	EXPECT_EQ(3, lt_allocated(ksa_allocator_fd(a)));
	/* non-blocking takes what is there */
	EXPECT_EQ(1, ksa_frame_alloc_batch(a, more, 4, KSA_FRAME_NONBLOCK));
	EXPECT_EQ(4, lt_allocated(ksa_allocator_fd(a)));
	EXPECT_EQ(-EAGAIN, ksa_frame_alloc_batch(a, &more[1], 3,
						 KSA_FRAME_NONBLOCK));
	fr[3] = more[0];

	/* a duplicate: nothing is freed */
	dup[0] = fr[0];
	dup[1] = fr[0];
	EXPECT_EQ(-EINVAL, ksa_frame_free_batch(a, dup, 2));
	EXPECT_EQ(4, lt_allocated(ksa_allocator_fd(a)));
	/* a pointer outside the mapping: refused before the kernel */
	dup[1] = &n;
	EXPECT_EQ(-EINVAL, ksa_frame_free_batch(a, dup, 2));
	EXPECT_EQ(4, lt_allocated(ksa_allocator_fd(a)));

	EXPECT_EQ(0, ksa_frame_free_batch(a, fr, 4));
	EXPECT_EQ(0, lt_allocated(ksa_allocator_fd(a)));

	/* all-or-nothing for the whole pool succeeds, for more is -EINVAL */
	EXPECT_EQ(4, ksa_frame_alloc_batch(a, fr, 4, KSA_FRAME_ALL_OR_NOTHING));
	EXPECT_EQ(0, ksa_frame_free_batch(a, fr, 4));
	EXPECT_EQ(-EINVAL, ksa_frame_alloc_batch(a, fr, 5,
						 KSA_FRAME_ALL_OR_NOTHING));
	/* non-blocking for more than the pool takes the pool */
	EXPECT_EQ(4, ksa_frame_alloc_batch(a, fr, 6, KSA_FRAME_NONBLOCK));
	EXPECT_EQ(0, ksa_frame_free_batch(a, fr, 4));

	/* argument checks */
	EXPECT_EQ(-EINVAL, ksa_frame_alloc_batch(a, fr, 0, 0));
	EXPECT_EQ(-EINVAL, ksa_frame_alloc_batch(a, fr, KSALLOC_BATCH_MAX + 1, 0));
	EXPECT_EQ(-EINVAL, ksa_frame_alloc_batch(a, fr, 1, KSA_FRAME_WAIT |
						 KSA_FRAME_ALL_OR_NOTHING));
	EXPECT_EQ(-EINVAL, ksa_frame_alloc_batch(a, fr, 1, 0x100));
	EXPECT_EQ(-EINVAL, ksa_frame_free_batch(a, fr, 0));
	EXPECT_EQ(0, lt_allocated(ksa_allocator_fd(a)));
	ksa_allocator_close(a);
}

/*
 * The size-query dance: ask with no buffer, get -EOVERFLOW and the size,
 * ask again. The *_alloc helpers do it; raw calls show the first step.
 */
TEST_F(lib, size_queries)
{
	struct ksallocator_framing f = kst_framing(2, 4096);
	struct ksallocator_framing_ex *ex;
	struct ksstreamallocator_status *st;
	__u32 size = 0, returned = 0;
	struct ksguid *sets;
	unsigned int n, i;
	void *data;
	int fd, found;

	/* raw: the size query itself */
	EXPECT_EQ(-EOVERFLOW,
		  ksa_property(self->pin, &g_connection,
			       KSPROPERTY_CONNECTION_ALLOCATORFRAMING_EX,
			       KSPROPERTY_TYPE_GET, NULL, 0, &returned));
	EXPECT_EQ(KSALLOCATOR_FRAMING_EX_SIZE(1), returned);
	EXPECT_NE(NULL, strstr(ksa_strerror(-EOVERFLOW), "STATUS_BUFFER_OVERFLOW"));

	ASSERT_EQ(0, ksa_property_alloc(self->pin, &g_connection,
					KSPROPERTY_CONNECTION_ALLOCATORFRAMING_EX,
					KSPROPERTY_TYPE_GET, &data, &size));
	ASSERT_NE(NULL, data);
	EXPECT_EQ(KSALLOCATOR_FRAMING_EX_SIZE(1), size);
	ex = data;
	EXPECT_EQ(1, ex->count_items);
	free(data);

	ASSERT_EQ(0, ksa_pin_get_framing_ex(self->pin, &ex, &size));
	EXPECT_EQ(KSALLOCATOR_FRAMING_EX_SIZE(1), size);
	EXPECT_EQ(1, ex->count_items);
	free(ex);

	ASSERT_EQ(0, ksa_create_allocator(self->pin, &f, O_CLOEXEC, &fd));
	ASSERT_EQ(0, ksa_property_alloc(fd, &g_alloc_props,
					KSPROPERTY_STREAMALLOCATOR_STATUS,
					KSPROPERTY_TYPE_GET, &data, &size));
	EXPECT_EQ(sizeof(*st), size);
	st = data;
	EXPECT_EQ(2, st->framing.frames);
	free(data);

	/* a method's output: ALLOC's offset, and FREE through ksa_method */
	ASSERT_EQ(0, ksa_method_alloc(fd, &g_alloc_methods,
				      KSMETHOD_STREAMALLOCATOR_ALLOC,
				      KSMETHOD_TYPE_SEND, &data, &size));
	EXPECT_EQ(sizeof(__u64), size);
	EXPECT_EQ(1, lt_allocated(fd));
	EXPECT_EQ(0, ksa_method(fd, &g_alloc_methods,
				KSMETHOD_STREAMALLOCATOR_FREE,
				KSMETHOD_TYPE_SEND, data, size, NULL));
	EXPECT_EQ(0, lt_allocated(fd));
	free(data);

	/* failures leave nothing allocated */
	data = &fd;
	size = 7;
	EXPECT_EQ(-ENOENT, ksa_property_alloc(fd, &g_bogus, 0,
					      KSPROPERTY_TYPE_GET, &data, &size));
	EXPECT_EQ(NULL, data);
	EXPECT_EQ(0, size);
	EXPECT_NE(NULL, strstr(ksa_strerror(-ENOENT), "STATUS_PROPSET_NOT_FOUND"));
	EXPECT_EQ(-ENOENT, ksa_property_alloc(fd, &g_alloc_props, 77,
					      KSPROPERTY_TYPE_GET, &data, &size));
	/* FUNCTIONTABLE is for kernel callers */
	EXPECT_EQ(-EOPNOTSUPP,
		  ksa_property_alloc(fd, &g_alloc_props,
				     KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE,
				     KSPROPERTY_TYPE_GET, &data, &size));
	EXPECT_NE(NULL, strstr(ksa_strerror(-EOPNOTSUPP), "STATUS_NOT_SUPPORTED"));
	EXPECT_EQ(-EINVAL, ksa_property_alloc(fd, &g_alloc_props, 0, 0, NULL,
					      &size));

	/* SETSUPPORT with GUID_NULL: the list of sets, sized the same way */
	ASSERT_EQ(0, ksa_supported_sets(self->pin, KSA_KIND_PROPERTY, &sets, &n));
	EXPECT_EQ(3, n);
	found = 0;
	for (i = 0; i < n; i++)
		found += !memcmp(&sets[i], &g_stream, 16) ||
			 !memcmp(&sets[i], &g_connection, 16) ||
			 !memcmp(&sets[i], &g_ksalloc_pin, 16);
	EXPECT_EQ(3, found);
	free(sets);
	ASSERT_EQ(0, ksa_supported_sets(fd, KSA_KIND_METHOD, &sets, &n));
	EXPECT_EQ(3, n);
	found = 0;
	for (i = 0; i < n; i++)
		found += !memcmp(&sets[i], &g_alloc_methods, 16) ||
			 !memcmp(&sets[i], &g_batch, 16) ||
			 !memcmp(&sets[i], &g_frame, 16);
	EXPECT_EQ(3, found);
	free(sets);
	ASSERT_EQ(0, ksa_supported_sets(fd, KSA_KIND_EVENT, &sets, &n));
	EXPECT_EQ(1, n);
	if (n == 1)
		EXPECT_EQ(0, memcmp(&sets[0], &g_alloc_events, 16));
	free(sets);
	ASSERT_EQ(0, ksa_supported_sets(fd, KSA_KIND_PROPERTY, &sets, &n));
	EXPECT_EQ(2, n);
	free(sets);
	/* a pin has no methods: an empty list */
	ASSERT_EQ(0, ksa_supported_sets(self->pin, KSA_KIND_METHOD, &sets, &n));
	EXPECT_EQ(0, n);
	EXPECT_EQ(NULL, sets);

	EXPECT_EQ(0, ksa_set_supported(fd, KSA_KIND_METHOD, &g_batch));
	EXPECT_EQ(0, ksa_set_supported(fd, KSA_KIND_PROPERTY, &g_ksalloc_alloc));
	EXPECT_EQ(-ENOENT, ksa_set_supported(self->pin, KSA_KIND_METHOD, &g_batch));
	EXPECT_EQ(-ENOENT, ksa_set_supported(fd, KSA_KIND_EVENT, &g_bogus));
	EXPECT_EQ(-EINVAL, ksa_set_supported(fd, (enum ksa_kind)9, &g_batch));
	close(fd);
}

/* BASICSUPPORT: access flags and the description's value type */
TEST_F(lib, basic_support)
{
	struct ksallocator_framing f = kst_framing(1, 4096);
	struct ksproperty_description d;
	__u32 access = 0xffff;
	int fd;

	ASSERT_EQ(0, ksa_basic_support(self->pin, KSA_KIND_PROPERTY, &g_stream,
				       KSPROPERTY_STREAM_ALLOCATOR, &access, &d));
	EXPECT_EQ(KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET, access);
	EXPECT_EQ(sizeof(d), d.description_size);
	EXPECT_EQ(KS_VT_I8, d.prop_type_set.id);

	ASSERT_EQ(0, ksa_create_allocator(self->pin, &f, O_CLOEXEC, &fd));
	ASSERT_EQ(0, ksa_basic_support(fd, KSA_KIND_METHOD, &g_alloc_methods,
				       KSMETHOD_STREAMALLOCATOR_ALLOC, &access,
				       NULL));
	EXPECT_EQ(KSMETHOD_TYPE_WRITE, access);
	ASSERT_EQ(0, ksa_basic_support(fd, KSA_KIND_METHOD, &g_alloc_methods,
				       KSMETHOD_STREAMALLOCATOR_FREE, &access,
				       NULL));
	EXPECT_EQ(KSMETHOD_TYPE_READ, access);
	/* events answer with success alone */
	access = 0xffff;
	EXPECT_EQ(0, ksa_basic_support(fd, KSA_KIND_EVENT, &g_alloc_events,
				       KSEVENT_STREAMALLOCATOR_FREEFRAME,
				       &access, NULL));
	EXPECT_EQ(0, access);
	EXPECT_EQ(-ENOENT, ksa_basic_support(fd, KSA_KIND_EVENT, &g_alloc_events,
					     42, NULL, NULL));
	close(fd);
}

/* FREEFRAME on an eventfd: one count per freed frame, and the variants */
TEST_F(lib, freeframe_events)
{
	struct ksallocator_framing f = kst_framing(3, 4096);
	struct ksa_allocator *a;
	struct ksa_event *ev, *ev2;
	void *fr[3];
	uint64_t count = 0;
	int fd;

	ASSERT_EQ(0, ksa_allocator_create(self->pin, &f, 0, &a));
	fd = ksa_allocator_fd(a);
	ASSERT_EQ(0, ksa_freeframe_enable(fd, 0, &ev));
	ASSERT_LE(0, ksa_event_fd(ev));
	EXPECT_EQ(FD_CLOEXEC, fcntl(ksa_event_fd(ev), F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(3, ksa_frame_alloc_batch(a, fr, 3, 0));
	/* nothing freed yet */
	EXPECT_EQ(-ETIMEDOUT, ksa_event_wait(ev, 0, &count));
	EXPECT_NE(NULL, strstr(ksa_strerror(-ETIMEDOUT), "STATUS_TIMEOUT"));
	EXPECT_EQ(0, ksa_frame_free(a, fr[0]));
	EXPECT_EQ(0, ksa_frame_free(a, fr[1]));
	ASSERT_EQ(0, ksa_event_wait(ev, LT_WAIT_MS, &count));
	EXPECT_EQ(2, count);
	/* the count was consumed */
	EXPECT_EQ(-ETIMEDOUT, ksa_event_wait(ev, 0, NULL));

	/* a semaphore adds its adjustment per frame */
	ASSERT_EQ(0, ksa_event_enable(fd, &g_alloc_events,
				      KSEVENT_STREAMALLOCATOR_FREEFRAME,
				      KSA_EVENT_SEMAPHORE, 3, &ev2));
	EXPECT_EQ(0, ksa_frame_free(a, fr[2]));
	ASSERT_EQ(0, ksa_event_wait(ev2, LT_WAIT_MS, &count));
	EXPECT_EQ(3, count);
	ASSERT_EQ(0, ksa_event_wait(ev, LT_WAIT_MS, &count));
	EXPECT_EQ(1, count);
	EXPECT_EQ(0, ksa_event_disable(ev2));

	/* disabled: frees do not signal it any more */
	EXPECT_EQ(0, ksa_event_disable(ev));
	ASSERT_EQ(0, ksa_freeframe_enable(fd, KSA_EVENT_ONESHOT, &ev));
	ASSERT_EQ(2, ksa_frame_alloc_batch(a, fr, 2, 0));
	EXPECT_EQ(0, ksa_frame_free_batch(a, fr, 2));
	/* one-shot: signalled once, then gone; disabling it is not an error */
	ASSERT_EQ(0, ksa_event_wait(ev, LT_WAIT_MS, &count));
	EXPECT_EQ(1, count);
	fr[0] = ksa_frame_alloc(a, 0);
	ASSERT_NE(NULL, fr[0]);
	EXPECT_EQ(0, ksa_frame_free(a, fr[0]));
	EXPECT_EQ(-ETIMEDOUT, ksa_event_wait(ev, 0, NULL));
	EXPECT_EQ(0, ksa_event_disable(ev));

	/* disable-all (no KSEVENTDATA) drops it behind the helper's back */
	ASSERT_EQ(0, ksa_freeframe_enable(fd, 0, &ev));
	EXPECT_EQ(0, ksa_disable_event(fd, NULL));
	EXPECT_EQ(-ENOENT, ksa_event_disable(ev));

	/* the event keeps its own fd of the allocator */
	ASSERT_EQ(0, ksa_freeframe_enable(fd, 0, &ev));
	EXPECT_NE(fd, ksa_event_fd(ev));
	ksa_allocator_close(a);

	/* argument checks */
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->pin, &g_alloc_events, 1, 0, 5,
					    &ev2));
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->pin, &g_alloc_events, 1, 0x40,
					    0, &ev2));
	EXPECT_EQ(-EBADF, ksa_freeframe_enable(-1, 0, &ev2));
	/* a pin has no events */
	EXPECT_EQ(-ENOENT, ksa_freeframe_enable(self->pin, 0, &ev2));
	EXPECT_EQ(NULL, ev2);
	EXPECT_EQ(0, ksa_event_disable(NULL));
	EXPECT_EQ(0, ksa_event_disable(ev));
}

/* KSPROPERTY_STREAM_ALLOCATOR, state and framing through the pin helpers */
TEST_F(lib, pin_helpers)
{
	struct ksallocator_framing f = kst_framing(2, 4096), got;
	struct ksalloc_allocator_info i1, i2;
	__u32 state = 99;
	int fd, fd2 = -5;

	f.requirements_flags = KSALLOCATOR_REQUIREMENTF_SYSTEM_MEMORY;
	f.file_alignment = 63;
	ASSERT_EQ(0, ksa_pin_set_framing(self->pin, &f));
	ASSERT_EQ(0, ksa_pin_get_framing(self->pin, &got));
	EXPECT_EQ(0, memcmp(&f, &got, sizeof(f)));
	f.file_alignment = 5;
	EXPECT_EQ(-EINVAL, ksa_pin_set_framing(self->pin, &f));

	f = kst_framing(2, 4096);
	ASSERT_EQ(0, ksa_create_allocator(self->pin, &f, O_CLOEXEC, &fd));
	EXPECT_EQ(-ENOENT, ksa_pin_get_allocator(self->pin, O_CLOEXEC, &fd2));
	EXPECT_EQ(-1, fd2);

	ASSERT_EQ(0, ksa_pin_set_state(self->pin, KSSTATE_RUN));
	ASSERT_EQ(0, ksa_pin_get_state(self->pin, &state));
	EXPECT_EQ(KSSTATE_RUN, state);
	EXPECT_EQ(-EBUSY, ksa_pin_set_allocator(self->pin, fd));
	EXPECT_NE(NULL, strstr(ksa_strerror(-EBUSY), "STATUS_INVALID_DEVICE_STATE"));
	EXPECT_EQ(-EINVAL, ksa_pin_set_state(self->pin, 4));
	ASSERT_EQ(0, ksa_pin_set_state(self->pin, KSSTATE_STOP));

	ASSERT_EQ(0, ksa_pin_set_allocator(self->pin, fd));
	ASSERT_EQ(0, ksa_pin_get_allocator(self->pin, O_CLOEXEC, &fd2));
	ASSERT_LE(0, fd2);
	EXPECT_NE(fd, fd2);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, ksa_allocator_info(fd, &i1));
	ASSERT_EQ(0, ksa_allocator_info(fd2, &i2));
	EXPECT_EQ(i1.id, i2.id);
	close(fd2);

	/* the pin's reference keeps it alive after our fd is gone */
	close(fd);
	ASSERT_EQ(0, ksa_pin_get_allocator(self->pin, 0, &fd2));
	ASSERT_EQ(0, ksa_allocator_info(fd2, &i2));
	EXPECT_EQ(i1.id, i2.id);
	EXPECT_EQ(0, fcntl(fd2, F_GETFD) & FD_CLOEXEC);
	close(fd2);

	/* the null handle drops it */
	ASSERT_EQ(0, ksa_pin_set_allocator(self->pin, -1));
	EXPECT_EQ(-ENOENT, ksa_pin_get_allocator(self->pin, O_CLOEXEC, &fd2));
	/* not an allocator, not an fd */
	EXPECT_EQ(-EINVAL, ksa_pin_set_allocator(self->pin, self->pin));
	EXPECT_EQ(-EBADF, ksa_pin_set_allocator(self->pin, 1000000));
	/* O_NONBLOCK cannot be per fd of a shared file */
	EXPECT_EQ(-EINVAL, ksa_pin_get_allocator(self->pin, O_NONBLOCK, &fd2));
	EXPECT_EQ(-EINVAL, ksa_pin_get_state(self->pin, NULL));
}

/* KSRESET through ksa_reset_state(): STATUS_CANCELLED until the end */
TEST_F(lib, reset)
{
	struct ksallocator_framing f = kst_framing(2, 4096);
	struct ksa_allocator *a;
	void *p;

	ASSERT_EQ(0, ksa_allocator_create(self->pin, &f, 0, &a));
	ASSERT_EQ(0, ksa_reset_state(ksa_allocator_fd(a), KSRESET_BEGIN));
	errno = 0;
	EXPECT_EQ(NULL, ksa_frame_alloc(a, 0));
	EXPECT_EQ(ECANCELED, errno);
	EXPECT_NE(NULL, strstr(ksa_strerror(-ECANCELED), "STATUS_CANCELLED"));
	EXPECT_EQ(-ECANCELED, ksa_frame_alloc_batch(a, &p, 1, KSA_FRAME_NONBLOCK));
	EXPECT_EQ(0, ksa_reset_state(ksa_allocator_fd(a), KSRESET_END));
	p = ksa_frame_alloc(a, 0);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(0, ksa_frame_free(a, p));
	EXPECT_EQ(-EINVAL, ksa_reset_state(ksa_allocator_fd(a), 7));
	ksa_allocator_close(a);
}

/* The next completion within LT_WAIT_MS: 1, or 0 if none came */
static int lt_reap_one(struct ksa_ring *r, struct ksa_completion *c)
{
	return ksa_ring_reap(r, c, 1, LT_WAIT_MS);
}

/*
 * Asynchronous ALLOC: inline while frames are free, then a waiting one
 * completed by a FREE through the ring. The same on every kernel: where
 * the kernel does not queue ALLOCs the library waits with a poll.
 */
TEST_F(lib, ring_alloc_and_free)
{
	struct ksallocator_framing f = kst_framing(2, 4096);
	struct ksa_completion c[4];
	struct ksa_allocator *a;
	struct ksa_ring *r;
	void *fr[2];
	int i, seen = 0;

	ASSERT_EQ(0, ksa_allocator_create(self->pin, &f, 0, &a));
	ASSERT_EQ(0, ksa_ring_create(8, 0, &r));
	EXPECT_EQ(FD_CLOEXEC, fcntl(ksa_ring_fd(r), F_GETFD) & FD_CLOEXEC);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, ksa_ring_alloc(r, a, 0, 10 + i));
	EXPECT_EQ(3, ksa_ring_submit(r));
	/*
	 * Tag 10 gets frame 0, tag 11 frame 1; io_uring does not order the
	 * CQEs of separate requests (6.1 posts these two the other way).
	 */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(1, lt_reap_one(r, &c[i]));
		EXPECT_EQ(KSA_RING_ALLOC, c[i].op);
		EXPECT_EQ(0, c[i].result);
		EXPECT_EQ(a, c[i].allocator);
		ASSERT_TRUE(c[i].tag == 10 || c[i].tag == 11);
		EXPECT_EQ(c[i].frame, ksa_frame_at(a, (c[i].tag - 10) * 4096));
		fr[c[i].tag - 10] = c[i].frame;
	}
	EXPECT_NE(c[0].tag, c[1].tag);
	/* The third waits: nothing completes until a frame comes back. */
	EXPECT_EQ(0, ksa_ring_reap(r, c, 4, 0));
	EXPECT_EQ(0, ksa_ring_reap(r, c, 4, 50));
	EXPECT_EQ(2, lt_allocated(ksa_allocator_fd(a)));

	ASSERT_EQ(0, ksa_ring_free(r, a, fr[1], 99));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(1, lt_reap_one(r, &c[0]));
		if (c[0].op == KSA_RING_FREE) {
			EXPECT_EQ(99, c[0].tag);
			EXPECT_EQ(fr[1], c[0].frame);
			EXPECT_EQ(0, c[0].result);
			seen |= 1;
		} else {
			EXPECT_EQ(12, c[0].tag);
			EXPECT_EQ(0, c[0].result);
			EXPECT_EQ(fr[1], c[0].frame);
			seen |= 2;
		}
	}
	EXPECT_EQ(3, seen);
	EXPECT_EQ(2, lt_allocated(ksa_allocator_fd(a)));
	EXPECT_EQ(0, ksa_ring_reap(r, c, 4, 0));
	EXPECT_EQ(0, ksa_frame_free(a, fr[0]));
	EXPECT_EQ(0, ksa_frame_free(a, fr[1]));
	ksa_ring_close(r);
	ksa_allocator_close(a);
}

/* NONBLOCK: -EAGAIN; KSRESET_BEGIN: a waiting ALLOC ends -ECANCELED */
TEST_F(lib, ring_nonblock_and_reset)
{
	struct ksallocator_framing f = kst_framing(1, 4096);
	struct ksa_completion c;
	struct ksa_allocator *a;
	struct ksa_ring *r;
	void *fr;

	ASSERT_EQ(0, ksa_allocator_create(self->pin, &f, 0, &a));
	ASSERT_EQ(0, ksa_ring_create(4, 0, &r));
	fr = ksa_frame_alloc(a, 0);
	ASSERT_NE(NULL, fr);
	ASSERT_EQ(0, ksa_ring_alloc(r, a, KSA_FRAME_NONBLOCK, 1));
	ASSERT_EQ(1, lt_reap_one(r, &c));
	EXPECT_EQ(-EAGAIN, c.result);
	EXPECT_EQ(NULL, c.frame);

	ASSERT_EQ(0, ksa_ring_alloc(r, a, 0, 2));
	EXPECT_EQ(0, ksa_ring_reap(r, &c, 1, 50));
	ASSERT_EQ(0, ksa_reset_state(ksa_allocator_fd(a), KSRESET_BEGIN));
	ASSERT_EQ(1, lt_reap_one(r, &c));
	EXPECT_EQ(2, c.tag);
	EXPECT_EQ(-ECANCELED, c.result);
	EXPECT_EQ(0, ksa_reset_state(ksa_allocator_fd(a), KSRESET_END));
	EXPECT_EQ(1, lt_allocated(ksa_allocator_fd(a)));
	EXPECT_EQ(0, ksa_frame_free(a, fr));
	ksa_ring_close(r);
	ksa_allocator_close(a);
}

/* A ring closed with an ALLOC waiting takes no frame */
TEST_F(lib, ring_close_with_alloc_waiting)
{
	struct ksallocator_framing f = kst_framing(1, 4096);
	struct ksa_completion c;
	struct ksa_allocator *a;
	struct ksa_ring *r;
	long long end;
	void *fr;

	ASSERT_EQ(0, ksa_allocator_create(self->pin, &f, 0, &a));
	ASSERT_EQ(0, ksa_ring_create(4, 0, &r));
	fr = ksa_frame_alloc(a, 0);
	ASSERT_NE(NULL, fr);
	ASSERT_EQ(0, ksa_ring_alloc(r, a, 0, 1));
	EXPECT_EQ(0, ksa_ring_reap(r, &c, 1, 50));
	ksa_ring_close(r);
	/* The kernel cancels it in the background */
	end = lt_now_ms() + LT_WAIT_MS;
	while (kst_waiters(ksa_allocator_fd(a)) && lt_now_ms() < end)
		usleep(1000);
	EXPECT_EQ(0, kst_waiters(ksa_allocator_fd(a)));
	EXPECT_EQ(0, ksa_frame_free(a, fr));
	EXPECT_EQ(0, lt_allocated(ksa_allocator_fd(a)));
	fr = ksa_frame_alloc(a, KSA_FRAME_NONBLOCK);
	EXPECT_NE(NULL, fr);
	ksa_allocator_close(a);
}

/* Argument checks, and a ring whose requests in flight are all taken */
TEST_F(lib, ring_arguments)
{
	struct ksallocator_framing f = kst_framing(1, 4096);
	struct ksa_completion c;
	struct ksa_allocator *a;
	struct ksa_ring *r = (void *)1;
	char other;
	int i, ret;

	EXPECT_EQ(-EINVAL, ksa_ring_create(0, 0, &r));
	EXPECT_EQ(NULL, r);
	EXPECT_EQ(-EINVAL, ksa_ring_create(8, 1, &r));
	EXPECT_EQ(-EINVAL, ksa_ring_create(8192, 0, &r));
	EXPECT_EQ(-EINVAL, ksa_ring_create(8, 0, NULL));
	ASSERT_EQ(0, ksa_allocator_create(self->pin, &f, 0, &a));
	ASSERT_EQ(0, ksa_ring_create(1, 0, &r));
	EXPECT_EQ(-EINVAL, ksa_ring_alloc(r, NULL, 0, 0));
	EXPECT_EQ(-EINVAL, ksa_ring_alloc(r, a, KSA_FRAME_WAIT, 0));
	EXPECT_EQ(-EINVAL, ksa_ring_free(r, a, &other, 0));
	EXPECT_EQ(-EINVAL, ksa_ring_free(r, a, NULL, 0));
	EXPECT_EQ(-EINVAL, ksa_ring_reap(r, &c, 0, 0));
	EXPECT_EQ(-EINVAL, ksa_ring_reap(NULL, &c, 1, 0));
	EXPECT_EQ(-EINVAL, ksa_ring_fd(NULL));
	/* One SQ entry, two CQ entries: two requests in flight at most */
	for (i = 0; i < 3; i++) {
		ret = ksa_ring_alloc(r, a, 0, i);
		if (ret)
			break;
	}
	EXPECT_EQ(2, i);
	EXPECT_EQ(-EBUSY, ret);
	ASSERT_EQ(1, lt_reap_one(r, &c));
	EXPECT_EQ(0, c.result);
	ASSERT_EQ(0, ksa_ring_free(r, a, c.frame, 0));
	/* The FREE, and the second ALLOC it served */
	ASSERT_EQ(1, lt_reap_one(r, &c));
	ASSERT_EQ(1, lt_reap_one(r, &c));
	ksa_ring_close(r);
	ksa_ring_close(NULL);
	ksa_allocator_close(a);
}

/* ks-compat.h: the KS names return NTSTATUS values, errno on failure */
TEST_F(lib, ks_compat)
{
	KSALLOCATOR_FRAMING framing = kst_framing(2, 4096);
	KSSTREAMALLOCATOR_STATUS st;
	KSPROPERTY prop;
	HANDLE allocator = INVALID_HANDLE_VALUE;
	__u32 returned = 0;
	NTSTATUS status;

	status = KsCreateAllocator(self->pin, &framing, &allocator);
	ASSERT_EQ(STATUS_SUCCESS, status);
	ASSERT_TRUE(NT_SUCCESS(status));
	ASSERT_LE(0, allocator);

	memset(&prop, 0, sizeof(prop));
	prop.set = g_alloc_props;
	prop.id = KSPROPERTY_STREAMALLOCATOR_STATUS;
	prop.flags = KSPROPERTY_TYPE_GET;
	status = KsSynchronousDeviceControl(allocator, IOCTL_KS_PROPERTY, &prop,
					    sizeof(prop), NULL, 0, &returned);
	EXPECT_EQ(STATUS_BUFFER_OVERFLOW, status);
	EXPECT_FALSE(NT_SUCCESS(status));
	EXPECT_EQ(sizeof(st), returned);
	status = KsSynchronousDeviceControl(allocator, IOCTL_KS_PROPERTY, &prop,
					    sizeof(prop), &st, sizeof(st),
					    &returned);
	EXPECT_EQ(STATUS_SUCCESS, status);
	EXPECT_EQ(2, st.framing.frames);

	prop.set = g_bogus;
	errno = 0;
	status = KsSynchronousDeviceControl(allocator, IOCTL_KS_PROPERTY, &prop,
					    sizeof(prop), &st, sizeof(st),
					    &returned);
	EXPECT_EQ(STATUS_PROPSET_NOT_FOUND, status);
	EXPECT_EQ(ENOENT, errno);
	close(allocator);

	framing.frames = 0;
	errno = 0;
	EXPECT_EQ(STATUS_INVALID_PARAMETER,
		  KsCreateAllocator(self->pin, &framing, &allocator));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(INVALID_HANDLE_VALUE, allocator);
}

/*
 * examples/uring-streams.c, run as it is: one thread streaming through
 * several allocators with more ALLOCs in flight than frames, never
 * blocking except in ksa_ring_reap(). It checks itself (every frame
 * intact, every pool empty at the end) and exits 0 only then.
 */
#define main uring_streams_main
#include "../examples/uring-streams.c"
#undef main

TEST(example_uring_streams)
{
	char *argv[] = { "uring-streams", "-s", "4", "-n", "2", "-d", "6",
			 "-c", "150", NULL };
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		optind = 1;
		status = uring_streams_main(ARRAY_SIZE(argv) - 1, argv);
		fflush(stdout);
		_exit(status);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
