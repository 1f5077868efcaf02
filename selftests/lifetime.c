// SPDX-License-Identifier: GPL-2.0
/*
 * Allocator lifetimes: an allocator is a reference-counted file.
 *
 * User fds, pins that were given the allocator (KSPROPERTY_STREAM_ALLOCATOR)
 * and mappings each hold it; it must live exactly as long as the last of
 * them, whatever the order they go in: pin first, fd first, a pin as the
 * only holder, a process exiting, a mapping outliving every fd, fds shared
 * by fork() and passed with SCM_RIGHTS, and threads racing assignments
 * against closes. Every open pin and allocator file also holds one module
 * reference, so the module cannot be unloaded under them.
 *
 * What is observed: /sys/class/misc/ksalloc/allocators (live allocators),
 * total_bytes (their frame memory), /sys/module/ksalloc/refcnt and the
 * entries of /proc/self/fd, against a baseline taken in the fixture. A
 * leaked reference shows as a count that stays up, a double drop as one
 * that goes below the baseline (or as a splat in the kernel log).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/ksalloc.h>

#include "ksa_test.h"
#include "kselftest_harness.h"

#define SYS_MODULE		"/sys/module/ksalloc"

static int alloc_frame(int fd, __u64 *off)
{
	return kst_method(fd, KSMETHOD_STREAMALLOCATOR_ALLOC,
			  KSMETHOD_TYPE_WRITE, off);
}

static int free_frame(int fd, __u64 off)
{
	return kst_method(fd, KSMETHOD_STREAMALLOCATOR_FREE,
			  KSMETHOD_TYPE_READ, &off);
}

/*
 * Counters are the fixture's baseline plus: live allocators, their frame
 * bytes, module references (open pin and allocator files), fds. The wait
 * for a deferred release is at most 2 s.
 */
#define ASSERT_COUNTS(_dalloc, _dbytes, _dref, _dfds)			\
	KST_ASSERT_COUNTS(((struct kst_counts){				\
		.allocators = self->base.allocators + (_dalloc),	\
		.total_bytes = self->base.total_bytes + (_dbytes),	\
		.refcnt = self->base.refcnt + (_dref),			\
		.fds = self->base.fds + (_dfds),			\
	}), 200)

FIXTURE(life)
{
	long page;
	struct kst_counts base;
};

FIXTURE_SETUP(life)
{
	self->page = sysconf(_SC_PAGESIZE);
	ASSERT_EQ(0, access(KST_DEV, R_OK | W_OK)) {
		TH_LOG("%s: %s (is the module loaded?)", KST_DEV,
		       strerror(errno));
	}
	kst_read_counts(&self->base);
	ASSERT_LE(0, self->base.allocators);
	ASSERT_LE(0, self->base.total_bytes);
	ASSERT_LE(0, self->base.refcnt);
	ASSERT_LT(0, self->base.fds);
}

FIXTURE_TEARDOWN(life)
{
}

/* Each pin and each allocator file holds the module once. */
TEST_F(life, module_reference_per_file)
{
	int p1, p2, a;

	p1 = kst_open_pin();
	ASSERT_LE(0, p1);
	ASSERT_COUNTS(0, 0, 1, 1);
	p2 = kst_open_pin();
	ASSERT_LE(0, p2);
	ASSERT_COUNTS(0, 0, 2, 2);
	a = kst_create_allocator(p1, 2, self->page, O_CLOEXEC);
	ASSERT_LE(0, a);
	ASSERT_COUNTS(1, 2 * self->page, 3, 3);
	/* A second fd of the same file is not a second reference */
	{
		int d = dup(a);

		ASSERT_LE(0, d);
		ASSERT_COUNTS(1, 2 * self->page, 3, 4);
		EXPECT_EQ(0, close(d));
	}
	EXPECT_EQ(0, close(p2));
	ASSERT_COUNTS(1, 2 * self->page, 2, 2);
	EXPECT_EQ(0, close(a));
	ASSERT_COUNTS(0, 0, 1, 1);
	EXPECT_EQ(0, close(p1));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/* The allocator holds no reference on the pin that created it. */
TEST_F(life, creator_pin_closed_first)
{
	struct ksstreamallocator_status st;
	int pin, a;

	pin = kst_open_pin();
	ASSERT_LE(0, pin);
	a = kst_create_allocator(pin, 1, self->page, O_CLOEXEC);
	ASSERT_LE(0, a);
	EXPECT_EQ(0, close(pin));
	ASSERT_COUNTS(1, self->page, 1, 1);
	EXPECT_EQ(0, kst_get_status(a, &st));
	EXPECT_EQ(1, st.framing.frames);
	EXPECT_EQ(0, close(a));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/* Pin (holding the allocator) closed first, then the user's fd. */
TEST_F(life, pin_closed_then_allocator)
{
	__u64 off;
	int pin, a;

	pin = kst_open_pin();
	ASSERT_LE(0, pin);
	a = kst_create_allocator(pin, 2, self->page, O_CLOEXEC);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, kst_set_allocator(pin, a));
	ASSERT_COUNTS(1, 2 * self->page, 2, 2);

	EXPECT_EQ(0, close(pin));
	ASSERT_COUNTS(1, 2 * self->page, 1, 1);
	/* Still fully usable through the user's fd */
	ASSERT_EQ(0, alloc_frame(a, &off));
	EXPECT_EQ(0, free_frame(a, off));

	EXPECT_EQ(0, close(a));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/* The user's fd closed first: the pin's reference keeps the allocator. */
TEST_F(life, allocator_fd_closed_first)
{
	struct ksstreamallocator_status st;
	struct ksalloc_allocator_info info;
	__u64 id, off;
	int pin, a, got;

	pin = kst_open_pin();
	ASSERT_LE(0, pin);
	a = kst_create_allocator(pin, 2, self->page, O_CLOEXEC);
	ASSERT_LE(0, a);
	id = kst_allocator_id(a);
	ASSERT_NE(0, id);
	ASSERT_EQ(0, alloc_frame(a, &off));
	ASSERT_EQ(0, kst_set_allocator(pin, a));

	EXPECT_EQ(0, close(a));
	ASSERT_COUNTS(1, 2 * self->page, 2, 1);

	/* The pin holds the only reference; the allocator is intact */
	got = kst_pin_allocator_fd(pin, O_CLOEXEC);
	ASSERT_LE(0, got);
	ASSERT_EQ(0, kst_get_info(got, &info));
	EXPECT_EQ(id, info.id);
	EXPECT_EQ(2, info.frames);
	EXPECT_EQ(1, info.allocated_frames);
	ASSERT_EQ(0, kst_get_status(got, &st));
	EXPECT_EQ(1, st.allocated_frames);
	EXPECT_EQ(0, free_frame(got, off));
	EXPECT_EQ(0, close(got));
	ASSERT_COUNTS(1, 2 * self->page, 2, 1);

	EXPECT_EQ(0, close(pin));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/* Made on one pin, held only by another after everything else is closed. */
TEST_F(life, other_pin_only_reference)
{
	int creator, holder, a, got;
	__u64 id;

	creator = kst_open_pin();
	ASSERT_LE(0, creator);
	holder = kst_open_pin();
	ASSERT_LE(0, holder);
	a = kst_create_allocator(creator, 3, self->page, O_CLOEXEC);
	ASSERT_LE(0, a);
	id = kst_allocator_id(a);
	ASSERT_EQ(0, kst_set_allocator(holder, a));
	EXPECT_EQ(0, close(a));
	EXPECT_EQ(0, close(creator));
	ASSERT_COUNTS(1, 3 * self->page, 2, 1);

	got = kst_pin_allocator_fd(holder, 0);
	ASSERT_LE(0, got);
	EXPECT_EQ(id, kst_allocator_id(got));
	EXPECT_EQ(0, close(got));

	EXPECT_EQ(0, close(holder));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/* Replacing and clearing drop the pin's reference at once. */
TEST_F(life, replace_and_clear)
{
	int pin, a, b;

	pin = kst_open_pin();
	ASSERT_LE(0, pin);
	a = kst_create_allocator(pin, 1, self->page, O_CLOEXEC);
	ASSERT_LE(0, a);
	b = kst_create_allocator(pin, 2, self->page, O_CLOEXEC);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, kst_set_allocator(pin, a));
	EXPECT_EQ(0, close(a));
	EXPECT_EQ(0, close(b));
	/* b is gone (no holder), a is held by the pin */
	ASSERT_COUNTS(1, self->page, 2, 1);

	b = kst_create_allocator(pin, 2, self->page, O_CLOEXEC);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, kst_set_allocator(pin, b));
	EXPECT_EQ(0, close(b));
	ASSERT_COUNTS(1, 2 * self->page, 2, 1);
	ASSERT_EQ(0, kst_set_allocator(pin, KS_NULL_HANDLE));
	ASSERT_COUNTS(0, 0, 1, 1);
	EXPECT_EQ(0, close(pin));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/*
 * A process exits while its pin holds the allocator (its own fd for the
 * allocator already closed, the pin left open): exit releases the pin,
 * the pin releases the allocator.
 */
TEST_F(life, child_exits_holding)
{
	int ready[2], go[2], status;
	__u64 id = 0;
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int pin, a;

		close(ready[0]);
		close(go[1]);
		pin = kst_open_pin();
		if (pin < 0)
			_exit(10);
		a = kst_create_allocator(pin, 2, 4096, 0);
		if (a < 0)
			_exit(11);
		id = kst_allocator_id(a);
		if (kst_set_allocator(pin, a))
			_exit(12);
		if (close(a))
			_exit(13);
		if (write(ready[1], &id, sizeof(id)) != sizeof(id))
			_exit(14);
		/* Wait for the parent's look, then exit with the pin open */
		if (read(go[0], &c, 1) < 0)
			_exit(15);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	ASSERT_EQ(0, kst_read_all(ready[0], &id, sizeof(id))) {
		waitpid(pid, &status, 0);
		TH_LOG("child failed before holding: status 0x%x", status);
	}
	EXPECT_NE(0, id);
	/* The child's pin and its allocator; the parent holds two pipe fds */
	ASSERT_COUNTS(1, 2 * self->page, 2, 2);

	EXPECT_EQ(0, close(go[1]));	/* lets the child exit */
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, close(ready[0]));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/* A process killed while holding pins, allocators, frames and a mapping */
TEST_F(life, child_killed_holding_everything)
{
	int ready[2], status;
	char c;
	pid_t pid;

	ASSERT_EQ(0, pipe2(ready, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int pin, a, b;
		__u64 off;
		void *m;

		close(ready[0]);
		pin = kst_open_pin();
		a = kst_create_allocator(pin, 2, 4096, 0);
		b = kst_create_allocator(pin, 1, 4096, 0);
		if (pin < 0 || a < 0 || b < 0)
			_exit(10);
		if (kst_set_allocator(pin, a) || alloc_frame(a, &off) ||
		    alloc_frame(b, &off))
			_exit(11);
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, b, 0);
		if (m == MAP_FAILED)
			_exit(12);
		memset(m, 0x5a, 4096);
		if (write(ready[1], "r", 1) != 1)
			_exit(13);
		for (;;)
			pause();
	}
	close(ready[1]);
	ASSERT_EQ(1, read(ready[0], &c, 1)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	ASSERT_COUNTS(2, 3 * self->page, 3, 1);
	EXPECT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(0, close(ready[0]));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/*
 * A mapping holds the allocator file: with every fd closed the frames stay
 * mapped and usable, and go at munmap.
 */
TEST_F(life, mapping_outlives_fds)
{
	struct ksalloc_allocator_info info;
	unsigned char *m;
	size_t i;
	int pin, a;

	pin = kst_open_pin();
	ASSERT_LE(0, pin);
	a = kst_create_allocator(pin, 3, self->page, O_CLOEXEC);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, kst_get_info(a, &info));
	ASSERT_EQ(3 * self->page, info.mmap_size);
	m = mmap(NULL, info.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
	ASSERT_NE(MAP_FAILED, m);
	for (i = 0; i < info.mmap_size; i++)
		m[i] = (unsigned char)(i * 7 + 1);
	ASSERT_EQ(0, kst_set_allocator(pin, a));

	EXPECT_EQ(0, close(a));
	EXPECT_EQ(0, close(pin));
	/* No fd and no pin: only the mapping holds the allocator */
	ASSERT_COUNTS(1, 3 * self->page, 1, 0);

	for (i = 0; i < info.mmap_size; i++)
		if (m[i] != (unsigned char)(i * 7 + 1))
			break;
	EXPECT_EQ(info.mmap_size, i) TH_LOG("mapping changed at byte %zu", i);
	for (i = 0; i < info.mmap_size; i++)
		m[i] = (unsigned char)~i;
	for (i = 0; i < info.mmap_size; i++)
		if (m[i] != (unsigned char)~i)
			break;
	EXPECT_EQ(info.mmap_size, i);

	EXPECT_EQ(0, munmap(m, info.mmap_size));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/* Two mappings of parts of the frames: the allocator goes with the last. */
TEST_F(life, two_mappings)
{
	unsigned char *m1, *m2;
	int pin, a;

	pin = kst_open_pin();
	ASSERT_LE(0, pin);
	a = kst_create_allocator(pin, 2, self->page, O_CLOEXEC);
	ASSERT_LE(0, a);
	EXPECT_EQ(0, close(pin));
	m1 = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
	ASSERT_NE(MAP_FAILED, m1);
	m2 = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE, MAP_SHARED, a,
		  0);
	ASSERT_NE(MAP_FAILED, m2);
	EXPECT_EQ(0, close(a));
	m1[10] = 0x77;
	/* Both map frame 0: the same memory */
	EXPECT_EQ(0x77, m2[10]);
	EXPECT_EQ(0, munmap(m2, 2 * self->page));
	ASSERT_COUNTS(1, 2 * self->page, 1, 0);
	EXPECT_EQ(0x77, m1[10]);
	EXPECT_EQ(0, munmap(m1, self->page));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/*
 * What a child does with a pin and an allocator it got from its parent:
 * STATUS, assign the allocator to the pin, ALLOC and FREE through the
 * pin's fd for it. Returns 0 or the number of the step that failed.
 */
static int child_use(int pin, int a, __u64 id)
{
	struct ksstreamallocator_status st;
	__u64 off;
	int got;

	if (kst_get_status(a, &st))
		return 20;
	if (st.framing.frames != 2 || st.allocated_frames != 0)
		return 21;
	if (kst_allocator_id(a) != id)
		return 22;
	if (kst_set_allocator(pin, a))
		return 23;
	if (close(a))
		return 24;
	got = kst_pin_allocator_fd(pin, O_CLOEXEC);
	if (got < 0)
		return 25;
	if (kst_allocator_id(got) != id)
		return 26;
	if (alloc_frame(got, &off))
		return 27;
	if (kst_get_status(got, &st) || st.allocated_frames != 1)
		return 28;
	if (free_frame(got, off))
		return 29;
	if (kst_get_status(got, &st) || st.allocated_frames != 0)
		return 30;
	if (close(got))
		return 31;
	if (close(pin))
		return 32;
	return 0;
}

/* fork(): both processes share the files; the parent lets go first. */
TEST_F(life, fork_parent_closes_first)
{
	int go[2], pin, a, status;
	__u64 id;
	char c;
	pid_t pid;

	pin = kst_open_pin();
	ASSERT_LE(0, pin);
	a = kst_create_allocator(pin, 2, self->page, O_CLOEXEC);
	ASSERT_LE(0, a);
	id = kst_allocator_id(a);
	ASSERT_EQ(0, pipe2(go, O_CLOEXEC));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(10);
		close(go[0]);
		_exit(child_use(pin, a, id));
	}
	close(go[0]);

	/* The parent's fds go; the child's keep both files */
	EXPECT_EQ(0, close(a));
	EXPECT_EQ(0, close(pin));
	ASSERT_COUNTS(1, 2 * self->page, 2, 1);

	ASSERT_EQ(1, write(go[1], "g", 1));
	EXPECT_EQ(0, close(go[1]));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("child failed at step %d",
						 WEXITSTATUS(status));
	ASSERT_COUNTS(0, 0, 0, 0);
}

static int send_fds(int sock, const int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	char byte = 'f';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = CMSG_SPACE(n * sizeof(int)),
	};
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fds(int sock, int *fds, int n)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(n * sizeof(int)))
		return -1;
	memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
	return 0;
}

/*
 * SCM_RIGHTS to a child that inherited nothing: the parent creates the pin
 * and allocator after the fork, passes them, closes its own and only then
 * lets the child use them.
 */
TEST_F(life, scm_rights_parent_closes_first)
{
	int sv[2], fds[2], pin, a, status;
	__u64 id;
	char c;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(sv[0]);
		if (recv_fds(sv[1], fds, 2))
			_exit(10);
		if (read(sv[1], &id, sizeof(id)) != sizeof(id))
			_exit(11);
		/* "closed": the parent has let go of its copies */
		if (read(sv[1], &c, 1) != 1)
			_exit(12);
		status = child_use(fds[0], fds[1], id);
		if (!status && write(sv[1], "d", 1) != 1)
			status = 13;
		close(sv[1]);
		_exit(status);
	}
	close(sv[1]);

	pin = kst_open_pin();
	ASSERT_LE(0, pin);
	a = kst_create_allocator(pin, 2, self->page, O_CLOEXEC);
	ASSERT_LE(0, a);
	id = kst_allocator_id(a);
	fds[0] = pin;
	fds[1] = a;
	ASSERT_EQ(0, send_fds(sv[0], fds, 2));
	ASSERT_EQ(sizeof(id), write(sv[0], &id, sizeof(id)));
	EXPECT_EQ(0, close(a));
	EXPECT_EQ(0, close(pin));
	/*
	 * The files live on in the child (or in flight to it); the parent
	 * holds only its socket.
	 */
	ASSERT_COUNTS(1, 2 * self->page, 2, 1);
	ASSERT_EQ(1, write(sv[0], "c", 1));

	/* The child's "done" comes after it used and closed everything */
	EXPECT_EQ(1, read(sv[0], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("child failed at step %d",
						 WEXITSTATUS(status));
	EXPECT_EQ(0, close(sv[0]));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/*
 * The other direction: the child creates and sends, exits, and the parent
 * is left with the only references (its received fds).
 */
TEST_F(life, scm_rights_from_exited_child)
{
	int sv[2], fds[2], status;
	__u64 id;
	pid_t pid;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int pin, a;
		__u64 cid;

		close(sv[0]);
		pin = kst_open_pin();
		if (pin < 0)
			_exit(10);
		a = kst_create_allocator(pin, 2, 4096, 0);
		if (a < 0)
			_exit(11);
		cid = kst_allocator_id(a);
		fds[0] = pin;
		fds[1] = a;
		if (send_fds(sv[1], fds, 2))
			_exit(12);
		if (write(sv[1], &cid, sizeof(cid)) != sizeof(cid))
			_exit(13);
		_exit(0);
	}
	close(sv[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* In flight in the socket while nobody has them as fds */
	ASSERT_COUNTS(1, 2 * self->page, 2, 1);

	ASSERT_EQ(0, recv_fds(sv[0], fds, 2));
	ASSERT_EQ(sizeof(id), read(sv[0], &id, sizeof(id)));
	EXPECT_EQ(0, close(sv[0]));
	ASSERT_COUNTS(1, 2 * self->page, 2, 2);
	EXPECT_EQ(0, child_use(fds[0], fds[1], id));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/* Fds still in flight when both socket ends close are released too. */
TEST_F(life, scm_rights_never_received)
{
	int sv[2], fds[2], pin, a;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pin = kst_open_pin();
	ASSERT_LE(0, pin);
	a = kst_create_allocator(pin, 1, self->page, O_CLOEXEC);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, kst_set_allocator(pin, a));
	fds[0] = pin;
	fds[1] = a;
	ASSERT_EQ(0, send_fds(sv[0], fds, 2));
	EXPECT_EQ(0, close(a));
	EXPECT_EQ(0, close(pin));
	ASSERT_COUNTS(1, self->page, 2, 2);
	EXPECT_EQ(0, close(sv[0]));
	EXPECT_EQ(0, close(sv[1]));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/* ---- threads racing assignments against closes ---- */

/* Per thread: whichever comes first (no timing is asserted) */
#define RACE_ITERATIONS	20000
#define RACE_SECONDS	3
#define SWAP_ITERATIONS	2000

struct race {
	int pins[2];		/* current pin fds; replaced by the pin churner */
	int allocs[2];		/* current allocator fds; replaced likewise */
	struct timespec end;
	long sets_ok;
	long sets_stale;	/* refused because an fd number went stale */
	long sets_busy;		/* refused outside KSSTATE_STOP */
	long gets_ok;
	long allocs_made;
	long pins_made;
	long unexpected;
	int bad_errno;
	int bad_where;
};

static int race_expired(struct race *r)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > r->end.tv_sec ||
	       (now.tv_sec == r->end.tv_sec && now.tv_nsec >= r->end.tv_nsec);
}

static void race_bad(struct race *r, int where, int err)
{
	__atomic_add_fetch(&r->unexpected, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&r->bad_errno, err, __ATOMIC_RELAXED);
	__atomic_store_n(&r->bad_where, where, __ATOMIC_RELAXED);
}

static int load_fd(int *slot)
{
	return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
}

/*
 * Set A / Set B / Set null on the current pins. The fd numbers read may be
 * closed and reused by the churners at any moment, so besides success the
 * outcomes of a stale number are expected: EBADF (closed), EINVAL (now a
 * pin where an allocator was), ENOENT (now an allocator where a pin was),
 * EBUSY (the pin churner has the pin out of KSSTATE_STOP).
 */
static void *race_setter(void *arg)
{
	struct race *r = arg;
	static int which;
	int me = __atomic_fetch_add(&which, 1, __ATOMIC_RELAXED);
	int i;

	for (i = 0; i < RACE_ITERATIONS && !race_expired(r); i++) {
		int pin = load_fd(&r->pins[(i + me) & 1]);
		__s64 h;
		int ret;

		switch ((i + me) % 3) {
		case 0:
			h = load_fd(&r->allocs[0]);
			break;
		case 1:
			h = load_fd(&r->allocs[1]);
			break;
		default:
			h = KS_NULL_HANDLE;
			break;
		}
		ret = kst_set_allocator(pin, h);
		if (!ret)
			__atomic_add_fetch(&r->sets_ok, 1, __ATOMIC_RELAXED);
		else if (ret == -EBUSY)
			__atomic_add_fetch(&r->sets_busy, 1, __ATOMIC_RELAXED);
		else if (ret == -EBADF || ret == -EINVAL || ret == -ENOENT)
			__atomic_add_fetch(&r->sets_stale, 1, __ATOMIC_RELAXED);
		else
			race_bad(r, 1, -ret);

		if (i % 4 == me) {
			int got = kst_pin_allocator_fd(pin, O_CLOEXEC);

			if (got >= 0) {
				struct ksstreamallocator_status st;

				/* A published fd is always a live allocator */
				if (kst_get_status(got, &st))
					race_bad(r, 2, errno);
				close(got);
				__atomic_add_fetch(&r->gets_ok, 1,
						   __ATOMIC_RELAXED);
			} else if (got != -ENOENT && got != -EBADF) {
				race_bad(r, 3, -got);
			}
		}
	}
	return NULL;
}

/* Replaces the allocators (and now and then its own creating pin). */
static void *race_alloc_churn(void *arg)
{
	struct race *r = arg;
	int creator = kst_open_pin();
	int i;

	if (creator < 0) {
		race_bad(r, 4, -creator);
		return NULL;
	}
	for (i = 0; i < RACE_ITERATIONS && !race_expired(r); i++) {
		int fd = kst_create_allocator(creator, 1 + (i & 1), 4096, O_CLOEXEC);
		int old;

		if (fd < 0) {
			race_bad(r, 5, -fd);
			continue;
		}
		old = __atomic_exchange_n(&r->allocs[i & 1], fd,
					  __ATOMIC_ACQ_REL);
		close(old);
		__atomic_add_fetch(&r->allocs_made, 1, __ATOMIC_RELAXED);
		if (i % 64 == 63) {
			close(creator);
			creator = kst_open_pin();
			if (creator < 0) {
				race_bad(r, 6, -creator);
				return NULL;
			}
		}
	}
	close(creator);
	return NULL;
}

/* Replaces the pins, moving them through RUN and back now and then. */
static void *race_pin_churn(void *arg)
{
	struct race *r = arg;
	int i;

	for (i = 0; i < RACE_ITERATIONS && !race_expired(r); i++) {
		int slot = i & 1, fd, old, ret;

		if (i % 3 == 0) {
			int pin = load_fd(&r->pins[slot]);

			ret = kst_set_state(pin, KSSTATE_RUN);
			if (ret && ret != -EBADF && ret != -ENOENT)
				race_bad(r, 7, -ret);
			ret = kst_set_state(pin, KSSTATE_STOP);
			if (ret && ret != -EBADF && ret != -ENOENT)
				race_bad(r, 8, -ret);
			continue;
		}
		fd = kst_open_pin();
		if (fd < 0) {
			race_bad(r, 9, -fd);
			continue;
		}
		old = __atomic_exchange_n(&r->pins[slot], fd, __ATOMIC_ACQ_REL);
		close(old);
		__atomic_add_fetch(&r->pins_made, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST_F(life, race_set_close_recreate)
{
	struct race r = { .pins = { -1, -1 }, .allocs = { -1, -1 } };
	pthread_t t[4];
	int i, creator;

	creator = kst_open_pin();
	ASSERT_LE(0, creator);
	for (i = 0; i < 2; i++) {
		r.pins[i] = kst_open_pin();
		ASSERT_LE(0, r.pins[i]);
		r.allocs[i] = kst_create_allocator(creator, 1, self->page, O_CLOEXEC);
		ASSERT_LE(0, r.allocs[i]);
	}
	EXPECT_EQ(0, close(creator));

	clock_gettime(CLOCK_MONOTONIC, &r.end);
	r.end.tv_sec += RACE_SECONDS;
	ASSERT_EQ(0, pthread_create(&t[0], NULL, race_setter, &r));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, race_setter, &r));
	ASSERT_EQ(0, pthread_create(&t[2], NULL, race_alloc_churn, &r));
	ASSERT_EQ(0, pthread_create(&t[3], NULL, race_pin_churn, &r));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));

	EXPECT_EQ(0, r.unexpected) {
		TH_LOG("%ld unexpected results, last: %s at site %d",
		       r.unexpected, strerror(r.bad_errno), r.bad_where);
	}
	/* The race must actually have assigned allocators */
	EXPECT_LT(0, r.sets_ok);
	TH_LOG("Sets: %ld done, %ld stale fd, %ld busy; %ld fd Gets; %ld allocators and %ld pins replaced",
	       r.sets_ok, r.sets_stale, r.sets_busy, r.gets_ok, r.allocs_made,
	       r.pins_made);

	for (i = 0; i < 2; i++) {
		EXPECT_EQ(0, close(r.pins[i]));
		EXPECT_EQ(0, close(r.allocs[i]));
	}
	/* Exactly back: a leak stays above, a double drop goes below */
	ASSERT_COUNTS(0, 0, 0, 0);
}

/*
 * Two threads assign two allocators to one pin while a third drops its
 * fds: the pin ends up holding exactly one of them.
 */
struct swap_race {
	int pin;
	int a, b;
	long ok;
};

static void *swap_thread(void *arg)
{
	struct swap_race *s = arg;
	static int which;
	int me = __atomic_fetch_add(&which, 1, __ATOMIC_RELAXED);
	int i;

	for (i = 0; i < SWAP_ITERATIONS; i++) {
		__s64 h = (i + me) % 3 == 0 ? s->a :
			  (i + me) % 3 == 1 ? s->b : KS_NULL_HANDLE;

		if (!kst_set_allocator(s->pin, h))
			__atomic_add_fetch(&s->ok, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

TEST_F(life, race_swap_one_pin)
{
	struct swap_race s = { 0 };
	pthread_t t[3];
	int i, got;

	s.pin = kst_open_pin();
	ASSERT_LE(0, s.pin);
	s.a = kst_create_allocator(s.pin, 1, self->page, O_CLOEXEC);
	ASSERT_LE(0, s.a);
	s.b = kst_create_allocator(s.pin, 2, self->page, O_CLOEXEC);
	ASSERT_LE(0, s.b);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, swap_thread, &s));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_join(t[i], NULL));
	/* Every Set had valid handles and the pin stayed in STOP */
	EXPECT_EQ(3 * SWAP_ITERATIONS, s.ok);

	EXPECT_EQ(0, close(s.a));
	EXPECT_EQ(0, close(s.b));
	got = kst_pin_allocator_fd(s.pin, O_CLOEXEC);
	if (got >= 0) {
		/* The pin holds one of them, the other is gone */
		struct ksalloc_allocator_info info;

		ASSERT_EQ(0, kst_get_info(got, &info));
		EXPECT_EQ(0, close(got));
		ASSERT_COUNTS(1, info.frames * self->page, 2, 1);
	} else {
		EXPECT_EQ(-ENOENT, got);
		ASSERT_COUNTS(0, 0, 1, 1);
	}
	EXPECT_EQ(0, close(s.pin));
	ASSERT_COUNTS(0, 0, 0, 0);
}

/* ---- module unload ---- */

static int try_unload(void)
{
	return syscall(__NR_delete_module, "ksalloc", O_NONBLOCK) ? errno : 0;
}

/*
 * Unloading is refused while a pin or an allocator file exists, even when
 * no fd is left (a mapping). Refusal is checked only with references
 * counted, so that a miscount cannot unload the module under the other
 * tests; the clean unload at the end of the run is checked by the runner.
 */
TEST_F(life, unload_refused_while_open)
{
	struct ksstreamallocator_status st;
	struct stat sb;
	void *m;
	int pin, a, err;

	pin = kst_open_pin();
	ASSERT_LE(0, pin);
	ASSERT_COUNTS(0, 0, 1, 1);
	ASSERT_LT(0, kst_read_long(KST_SYS_REFCNT));
	err = try_unload();
	EXPECT_TRUE(err == EWOULDBLOCK || err == EBUSY) {
		TH_LOG("delete_module with a pin open: %s",
		       err ? strerror(err) : "succeeded");
	}
	ASSERT_EQ(0, stat(SYS_MODULE, &sb));

	/* Only an allocator fd */
	a = kst_create_allocator(pin, 1, self->page, O_CLOEXEC);
	ASSERT_LE(0, a);
	EXPECT_EQ(0, close(pin));
	ASSERT_COUNTS(1, self->page, 1, 1);
	ASSERT_LT(0, kst_read_long(KST_SYS_REFCNT));
	err = try_unload();
	EXPECT_TRUE(err == EWOULDBLOCK || err == EBUSY) {
		TH_LOG("delete_module with an allocator open: %s",
		       err ? strerror(err) : "succeeded");
	}
	ASSERT_EQ(0, stat(SYS_MODULE, &sb));
	EXPECT_EQ(0, kst_get_status(a, &st));

	/* Only a mapping */
	m = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED, a, 0);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(0, close(a));
	ASSERT_COUNTS(1, self->page, 1, 0);
	ASSERT_LT(0, kst_read_long(KST_SYS_REFCNT));
	err = try_unload();
	EXPECT_TRUE(err == EWOULDBLOCK || err == EBUSY) {
		TH_LOG("delete_module with a mapping: %s",
		       err ? strerror(err) : "succeeded");
	}
	ASSERT_EQ(0, stat(SYS_MODULE, &sb));
	memset(m, 1, 16);
	EXPECT_EQ(0, munmap(m, self->page));
	ASSERT_COUNTS(0, 0, 0, 0);
	ASSERT_EQ(0, access(KST_DEV, F_OK));
}

/* ---- module load ---- */

/* Written by the test VM's initramfs: KSA_MODULE=path, KSA_CLIENT=path */
#define VM_CONFIG		"/ksalloc/config"
#define RELOADS			24

/* The value of KEY=value in VM_CONFIG into @buf; 0 or -errno */
static int vm_config(const char *key, char *buf, size_t size)
{
	char line[PATH_MAX + 64];
	size_t klen = strlen(key);
	FILE *f = fopen(VM_CONFIG, "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) || line[klen] != '=')
			continue;
		line[strcspn(line, "\n")] = 0;
		snprintf(buf, size, "%s", line + klen + 1);
		ret = buf[0] ? 0 : -ENOENT;
		break;
	}
	fclose(f);
	return ret;
}

/* 0 or errno */
static int load_module(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return errno;
	if (syscall(__NR_finit_module, fd, "", 0))
		err = errno;
	close(fd);
	return err;
}

static int unload_module(const char *name)
{
	return syscall(__NR_delete_module, name, O_NONBLOCK) ? errno : 0;
}

/*
 * Opens /dev/ksalloc until it works, then creates an allocator on the
 * pin at once: the first thing a user can do with a node that appeared.
 */
struct opener {
	pthread_t thread;
	int inotify;		/* IN_CREATE in /dev, non-blocking */
	int stop;		/* atomic: set by the test */
	int opened;		/* atomic: pins opened */
	int created;		/* allocators created on them */
	int failed;		/* creations that failed */
	int first_error;	/* the errno of the first of those */
};

static void *opener_main(void *arg)
{
	struct opener *o = arg;
	struct pollfd pfd = { .fd = o->inotify, .events = POLLIN };
	char events[4096];
	int pin, fd;

	while (!__atomic_load_n(&o->stop, __ATOMIC_ACQUIRE)) {
		pin = open(KST_DEV, O_RDWR | O_CLOEXEC);
		if (pin < 0) {
			/* Asleep until something appears in /dev */
			if (poll(&pfd, 1, 100) > 0)
				while (read(o->inotify, events, sizeof(events)) > 0)
					;
			continue;
		}
		fd = kst_create_allocator(pin, 1, 4096, O_CLOEXEC);
		if (fd >= 0) {
			o->created++;
			close(fd);
		} else {
			if (!o->failed++)
				o->first_error = -fd;
		}
		close(pin);
		__atomic_store_n(&o->opened, 1, __ATOMIC_RELEASE);
		break;
	}
	return NULL;
}

/*
 * The node appears only once everything behind it is ready: a pin opened
 * the moment /dev/ksalloc exists creates allocators like any other. (The
 * DMA mask used to be set after misc_register(), and a creation in that
 * window failed with ENOMEM after a WARNING in the DMA API.) The module is
 * unloaded and loaded again RELOADS times while a thread waits for the
 * node to appear (inotify on /dev) and opens it. That thread runs on the
 * loader's CPU at a real-time priority, so on a preemptible kernel
 * (PREEMPT_RT, preempt=full) it runs the moment it can: as soon as the
 * node exists and again as soon as misc_register() lets its open in,
 * before the loader goes on. With voluntary preemption the loader usually
 * finishes first and the test shows less. The test client, which needs
 * the module, is unloaded first and loaded again at the end.
 */
/* 24 module reloads: minutes on a debug kernel on a busy host */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

TEST_F_TIMEOUT(slow, reload_while_opening, 600)
{
	char module[PATH_MAX], client[PATH_MAX];
	struct sched_param prio = { .sched_priority = 1 };
	struct opener o;
	int i, t, ino, err, opened = 0, failed = 0, first_error = 0;
	pthread_attr_t attr;
	bool have_client;
	cpu_set_t cpu0;

	if (vm_config("KSA_MODULE", module, sizeof(module)) ||
	    access(module, R_OK))
		SKIP(return, "no module file in " VM_CONFIG);
	have_client = !vm_config("KSA_CLIENT", client, sizeof(client)) &&
		      !access("/sys/module/ksalloc_client", F_OK);
	if (have_client)
		ASSERT_EQ(0, unload_module("ksalloc_client"));
	ASSERT_EQ(0, unload_module("ksalloc")) {
		TH_LOG("the module is in use: nothing to test");
	}

	/* Both threads on one CPU, the opener at a real-time priority */
	CPU_ZERO(&cpu0);
	CPU_SET(sched_getcpu(), &cpu0);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpu0), &cpu0));
	ASSERT_EQ(0, pthread_attr_init(&attr));
	ASSERT_EQ(0, pthread_attr_setaffinity_np(&attr, sizeof(cpu0), &cpu0));
	ASSERT_EQ(0, pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED));
	ASSERT_EQ(0, pthread_attr_setschedpolicy(&attr, SCHED_FIFO));
	ASSERT_EQ(0, pthread_attr_setschedparam(&attr, &prio));

	ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	ASSERT_LE(0, ino);
	ASSERT_LE(0, inotify_add_watch(ino, "/dev", IN_CREATE));

	for (i = 0; i < RELOADS; i++) {
		memset(&o, 0, sizeof(o));
		o.inotify = ino;
		ASSERT_EQ(0, pthread_create(&o.thread, &attr, opener_main, &o));
		err = load_module(module);
		/* The node is there once the load returned: bounded wait. */
		for (t = 0; !err && t < 20000; t++) {
			if (__atomic_load_n(&o.opened, __ATOMIC_ACQUIRE))
				break;
			usleep(1000);
		}
		__atomic_store_n(&o.stop, 1, __ATOMIC_RELEASE);
		pthread_join(o.thread, NULL);
		ASSERT_EQ(0, err) TH_LOG("loading %s: %s", module, strerror(err));
		opened += o.opened;	/* the thread has ended */
		if (o.failed && !failed)
			first_error = o.first_error;
		failed += o.failed;
		ASSERT_EQ(0, unload_module("ksalloc"));
	}
	pthread_attr_destroy(&attr);
	close(ino);
	ASSERT_EQ(0, load_module(module));
	if (have_client)
		ASSERT_EQ(0, load_module(client));

	EXPECT_EQ(RELOADS, opened);
	EXPECT_EQ(0, failed) {
		TH_LOG("%d of %d creations on a pin opened as the node appeared failed (first: %s)",
		       failed, opened, strerror(first_error));
	}
}

TEST_HARNESS_MAIN
