// SPDX-License-Identifier: GPL-2.0
/*
 * The debugfs status view, /sys/kernel/debug/ksalloc/allocators: a header
 * line, one tab-separated line per live allocator, then "# " total lines.
 * Each allocator's line must say what the test did to it (framing, frames
 * outstanding, high water, sleeping ALLOC callers, enabled events, bytes,
 * reset state) and who created it (pid and comm of the creating process,
 * not of the reader); the totals must agree with the lines, the sysfs
 * counters and the module parameters, and the per-user lines ("# user
 * UID bytes N allocators N") must add up to them. Skipped without debugfs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "frames_lib.h"
#include "ksa_test.h"
#include "kselftest_harness.h"

#define DEBUGFS			"/sys/kernel/debug"
#define STATUS_FILE		DEBUGFS "/ksalloc/allocators"
#define DEBUGFS_MAGIC		0x64626720
#define STATUS_HEADER		"id\tpid\tcomm\tframes\tframe_size\tstride\t" \
				"allocated\thigh_water\twaiters\tevents\tbytes\tresetting"
#define MAX_LINES		64
#define MAX_USERS		16

static const struct ksguid st_g_ksalloc_pin = KSPROPSETID_KsallocPin;

/* One allocator's line */
struct st_line {
	unsigned long long id;
	long long pid;
	char comm[32];
	long long frames, frame_size, stride, allocated, high_water;
	long long waiters, events, bytes, resetting;
};

struct st_view {
	char header[1024];
	struct st_line line[MAX_LINES];
	int n;
	int bad;			/* lines that did not parse */
	/* the "# " lines; -1 when missing */
	long long allocators, total_bytes, max_total_bytes;
	long long max_allocator_bytes, max_frames, max_events, max_user_bytes;
	struct {
		long long uid, bytes, allocators;
	} user[MAX_USERS];
	int users;
};

static int st_parse_line(char *s, struct st_line *l)
{
	char *f[12], *end;
	long long *num[] = {
		&l->frames, &l->frame_size, &l->stride, &l->allocated,
		&l->high_water, &l->waiters, &l->events, &l->bytes,
		&l->resetting,
	};
	int n = 0, i;

	/* strsep, not strtok: an empty field must not vanish */
	while (n < 12 && (f[n] = strsep(&s, "\t")))
		n++;
	if (n != 12 || s)
		return -1;
	l->id = strtoull(f[0], &end, 10);
	if (*end || !*f[0])
		return -1;
	l->pid = strtoll(f[1], &end, 10);
	if (*end || !*f[1])
		return -1;
	snprintf(l->comm, sizeof(l->comm), "%s", f[2]);
	for (i = 0; i < 9; i++) {
		*num[i] = strtoll(f[3 + i], &end, 10);
		if (*end || !*f[3 + i])
			return -1;
	}
	return 0;
}

/* Read and parse the view; 0 or -errno */
static int st_read(struct st_view *v)
{
	char buf[1024];
	FILE *f;
	int first = 1;

	memset(v, 0, sizeof(*v));
	v->allocators = v->total_bytes = v->max_total_bytes = -1;
	v->max_allocator_bytes = v->max_frames = v->max_events = -1;
	v->max_user_bytes = -1;
	f = fopen(STATUS_FILE, "re");
	if (!f)
		return -errno;
	while (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = 0;
		if (first) {
			snprintf(v->header, sizeof(v->header), "%s", buf);
			first = 0;
		} else if (!strncmp(buf, "# allocators ", 13)) {
			if (sscanf(buf, "# allocators %lld", &v->allocators) != 1)
				v->bad++;
		} else if (!strncmp(buf, "# total_bytes ", 14)) {
			if (sscanf(buf, "# total_bytes %lld max_total_bytes %lld",
				   &v->total_bytes, &v->max_total_bytes) != 2)
				v->bad++;
		} else if (!strncmp(buf, "# max_allocator_bytes ", 22)) {
			if (sscanf(buf, "# max_allocator_bytes %lld max_frames %lld max_events %lld max_user_bytes %lld",
				   &v->max_allocator_bytes, &v->max_frames,
				   &v->max_events, &v->max_user_bytes) != 4)
				v->bad++;
		} else if (!strncmp(buf, "# user ", 7)) {
			if (v->users == MAX_USERS ||
			    sscanf(buf, "# user %lld bytes %lld allocators %lld",
				   &v->user[v->users].uid,
				   &v->user[v->users].bytes,
				   &v->user[v->users].allocators) != 3)
				v->bad++;
			else
				v->users++;
		} else if (v->n < MAX_LINES &&
			   !st_parse_line(buf, &v->line[v->n])) {
			v->n++;
		} else {
			v->bad++;
		}
	}
	fclose(f);
	return 0;
}

static const struct st_line *st_find(const struct st_view *v,
				     unsigned long long id)
{
	int i;

	for (i = 0; i < v->n; i++)
		if (v->line[i].id == id)
			return &v->line[i];
	return NULL;
}

/* Our comm, as the kernel has it */
static void st_comm(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/comm", "re");

	buf[0] = 0;
	if (f) {
		if (fgets(buf, size, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

static int st_debugfs_mounted(void)
{
	struct statfs sfs;

	return !statfs(DEBUGFS, &sfs) && sfs.f_type == DEBUGFS_MAGIC;
}

FIXTURE(st)
{
	int pin;
	int fd[2];
	struct ksalloc_allocator_info info[2];
	struct st_view view;
};

FIXTURE_SETUP(st)
{
	self->pin = self->fd[0] = self->fd[1] = -1;
	if (!st_debugfs_mounted())
		SKIP(return, "debugfs is not mounted at %s", DEBUGFS);
	ASSERT_EQ(0, access(STATUS_FILE, R_OK)) {
		TH_LOG("%s: %s", STATUS_FILE, strerror(errno));
	}
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin);
}

FIXTURE_TEARDOWN(st)
{
	if (self->fd[0] >= 0)
		close(self->fd[0]);
	if (self->fd[1] >= 0)
		close(self->fd[1]);
	if (self->pin >= 0)
		close(self->pin);
}

/* The 6.1 harness runs the body after a SKIP in the setup: stop it here. */
#define ST_BODY_START() do { if (_metadata->skip) return; } while (0)

static void st_expect_totals(struct __test_metadata *_metadata,
			     const struct st_view *v)
{
	long long sum = 0, n = 0;
	int i;

	EXPECT_EQ(0, v->bad);
	EXPECT_STREQ(STATUS_HEADER, v->header);
	for (i = 0; i < v->n; i++)
		sum += v->line[i].bytes;
	EXPECT_EQ(v->n, v->allocators);
	EXPECT_EQ(ksa_read_ll(KSA_SYSFS_DIR "allocators"), v->allocators);
	EXPECT_EQ(ksa_read_ll(KSA_SYSFS_DIR "total_bytes"), v->total_bytes);
	/* Nothing else runs: the lines account for every byte charged */
	EXPECT_EQ(sum, v->total_bytes);
	EXPECT_EQ(ksa_read_ll(KSA_PARAM_DIR "max_total_bytes"),
		  v->max_total_bytes);
	EXPECT_EQ(ksa_read_ll(KSA_PARAM_DIR "max_allocator_bytes"),
		  v->max_allocator_bytes);
	EXPECT_EQ(ksa_read_ll(KSA_PARAM_DIR "max_frames"), v->max_frames);
	EXPECT_EQ(ksa_read_ll(KSA_PARAM_DIR "max_events"), v->max_events);
	EXPECT_EQ(ksa_read_ll(KSA_PARAM_DIR "max_user_bytes"),
		  v->max_user_bytes);
	EXPECT_LE(v->total_bytes, v->max_total_bytes);

	/* Every allocator is one user's, every user has one at least */
	for (sum = 0, i = 0; i < v->users; i++) {
		sum += v->user[i].bytes;
		n += v->user[i].allocators;
		EXPECT_LT(0, v->user[i].allocators);
		EXPECT_LE(v->user[i].bytes, v->max_user_bytes);
	}
	EXPECT_EQ(v->total_bytes, sum);
	EXPECT_EQ(v->allocators, n);
}

/*
 * Two allocators in known states:
 *   A  4 frames of 1000 bytes: 3 ALLOC, 1 FREE (2 out, high water 3),
 *      one FREEFRAME event enabled, KSRESET_BEGIN in force;
 *   B  3 frames of 2 pages + 1: all out and an ALLOC asleep.
 */
TEST_F(st, two_allocators)
{
	const long page = ksa_page_size();
	const struct st_line *la, *lb;
	struct kseventdata ed;
	struct kst_allocer w;
	char comm[32];
	__u64 off[4];
	int i, efd;

	ST_BODY_START();
	self->fd[0] = ksa_create(self->pin, 4, 1000, 0);
	ASSERT_LE(0, self->fd[0]);
	self->fd[1] = ksa_create(self->pin, 3, 2 * page + 1, 0);
	ASSERT_LE(0, self->fd[1]);
	ASSERT_EQ(0, ksa_info(self->fd[0], &self->info[0]));
	ASSERT_EQ(0, ksa_info(self->fd[1], &self->info[1]));
	ASSERT_NE(self->info[0].id, self->info[1].id);

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, ksa_alloc(self->fd[0], &off[i]));
	ASSERT_EQ(0, ksa_free(self->fd[0], off[1]));
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, efd);
	ksa_event_handle(&ed, efd);
	ASSERT_EQ(0, ksa_event_enable(self->fd[0], KSEVENT_TYPE_ENABLE, &ed));
	ASSERT_EQ(0, ksa_reset(self->fd[0], KSRESET_BEGIN));

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, ksa_alloc(self->fd[1], &off[i]));
	ASSERT_EQ(0, kst_allocer_start(&w, self->fd[1]));
	if (!ksa_wait_waiters(self->fd[1], 1)) {
		ksa_reset(self->fd[1], KSRESET_BEGIN);	/* let the thread go */
		pthread_join(w.thread, NULL);
		ASSERT_TRUE(0) {
			TH_LOG("the ALLOC never slept");
		}
	}

	ASSERT_EQ(0, st_read(&self->view));
	st_comm(comm, sizeof(comm));
	la = st_find(&self->view, self->info[0].id);
	lb = st_find(&self->view, self->info[1].id);
	EXPECT_NE(NULL, la);
	EXPECT_NE(NULL, lb);
	if (la) {
		EXPECT_EQ(getpid(), la->pid);
		EXPECT_STREQ(comm, la->comm);
		EXPECT_EQ(4, la->frames);
		EXPECT_EQ(1000, la->frame_size);
		EXPECT_EQ(page, la->stride);
		EXPECT_EQ(2, la->allocated);
		EXPECT_EQ(3, la->high_water);
		EXPECT_EQ(0, la->waiters);
		EXPECT_EQ(1, la->events);
		EXPECT_EQ(self->info[0].bytes_held, la->bytes);
		EXPECT_LE(4 * page, la->bytes);
		EXPECT_EQ(1, la->resetting);
	}
	if (lb) {
		EXPECT_EQ(getpid(), lb->pid);
		EXPECT_STREQ(comm, lb->comm);
		EXPECT_EQ(3, lb->frames);
		EXPECT_EQ(2 * page + 1, lb->frame_size);
		EXPECT_EQ(3 * page, lb->stride);
		EXPECT_EQ(3, lb->allocated);
		EXPECT_EQ(3, lb->high_water);
		EXPECT_EQ(1, lb->waiters);
		EXPECT_EQ(0, lb->events);
		EXPECT_EQ(self->info[1].bytes_held, lb->bytes);
		EXPECT_LE(3 * 3 * page, lb->bytes);
		EXPECT_EQ(0, lb->resetting);
	}
	st_expect_totals(_metadata, &self->view);

	/* Wake the sleeper; the view follows */
	EXPECT_EQ(0, ksa_free(self->fd[1], off[0]));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	EXPECT_EQ(0, w.ret);
	EXPECT_EQ(0, ksa_reset(self->fd[0], KSRESET_END));
	EXPECT_EQ(0, ksa_event_disable_all(self->fd[0]));
	ASSERT_EQ(0, st_read(&self->view));
	la = st_find(&self->view, self->info[0].id);
	lb = st_find(&self->view, self->info[1].id);
	ASSERT_NE(NULL, la);
	ASSERT_NE(NULL, lb);
	EXPECT_EQ(0, la->resetting);
	EXPECT_EQ(0, la->events);
	EXPECT_EQ(0, lb->waiters);
	EXPECT_EQ(3, lb->allocated);
	close(efd);
}

/* A closed allocator's line goes, and the totals with it. */
TEST_F(st, closed_allocator_leaves)
{
	long long bytes_before, allocators_before;
	__u64 id;

	ST_BODY_START();
	ASSERT_EQ(0, st_read(&self->view));
	st_expect_totals(_metadata, &self->view);
	bytes_before = self->view.total_bytes;
	allocators_before = self->view.allocators;

	self->fd[0] = ksa_create(self->pin, 2, 4 * ksa_page_size(), 0);
	ASSERT_LE(0, self->fd[0]);
	ASSERT_EQ(0, ksa_info(self->fd[0], &self->info[0]));
	id = self->info[0].id;
	ASSERT_EQ(0, st_read(&self->view));
	EXPECT_NE(NULL, st_find(&self->view, id));
	EXPECT_EQ(allocators_before + 1, self->view.allocators);
	EXPECT_EQ(bytes_before + (long long)self->info[0].bytes_held,
		  self->view.total_bytes);
	st_expect_totals(_metadata, &self->view);

	ASSERT_EQ(0, close(self->fd[0]));
	self->fd[0] = -1;
	ASSERT_EQ(0, st_read(&self->view));
	EXPECT_EQ(NULL, st_find(&self->view, id));
	EXPECT_EQ(allocators_before, self->view.allocators);
	EXPECT_EQ(bytes_before, self->view.total_bytes);
	st_expect_totals(_metadata, &self->view);
}

/*
 * pid and comm are the creator's: a child named "ksa-creator" creates an
 * allocator, hands it to a pin we share and exits; the pin keeps it alive
 * and its line still names the child.
 */
TEST_F(st, owner_is_creator)
{
	struct ksidentifier pin_fd = ksa_ident(&st_g_ksalloc_pin,
					       KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
					       KSPROPERTY_TYPE_GET);
	const struct st_line *l;
	__s64 handle = -1;
	int status, fd;
	pid_t pid;

	ST_BODY_START();
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		prctl(PR_SET_NAME, "ksa-creator");
		fd = ksa_create(self->pin, 1, ksa_page_size(), 0);
		if (fd < 0)
			_exit(1);
		if (ksa_pin_set_allocator(self->pin, fd))
			_exit(2);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));

	/* The allocator through the pin: a new fd for INFO */
	ASSERT_EQ(0, ksa_ioctl(self->pin, IOCTL_KS_PROPERTY, &pin_fd,
			       sizeof(pin_fd), &handle, sizeof(handle),
			       O_CLOEXEC, NULL));
	self->fd[0] = (int)handle;
	ASSERT_EQ(0, ksa_info(self->fd[0], &self->info[0]));
	ASSERT_EQ(0, st_read(&self->view));
	l = st_find(&self->view, self->info[0].id);
	ASSERT_NE(NULL, l);
	EXPECT_EQ(pid, l->pid);
	EXPECT_STREQ("ksa-creator", l->comm);
	st_expect_totals(_metadata, &self->view);
}

TEST_HARNESS_MAIN
