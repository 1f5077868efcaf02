// SPDX-License-Identifier: GPL-2.0
/*
 * Limits and permissions: what bounds the memory any user of /dev/ksalloc
 * can take, and what does not cross from the kernel to user space.
 *
 *  - many allocators alive at once, each working and each accounted;
 *  - max_allocator_bytes is inclusive and counts every frame as its size
 *    rounded up to whole pages, so a frame of 3 pages costs 3; exactly the
 *    cap fits, one byte less does not; max_frames likewise;
 *  - max_total_bytes holds across processes racing for it: of six that
 *    each want a quarter of the room left, exactly four get it;
 *  - max_user_bytes bounds what the allocators one user (real uid) created
 *    hold together: a user who takes all it can leaves room for the next,
 *    and root is bounded like anyone else;
 *  - frame memory is charged to the creator's memory cgroup: a creation
 *    over the cgroup's memory.max fails with ENOMEM and does not wake the
 *    OOM killer (the caller gets an error, not a SIGKILL), wherever the
 *    limit falls among the creation's charges (frame pages or the tables
 *    that describe them), and a creation within it shows up in
 *    memory.current;
 *  - pages pinned beyond the allocator's life (vmsplice) keep only
 *    themselves: the rest of the frame's memory is freed with the
 *    allocator, and the pinned pages stay charged to the cgroup until
 *    they are let go;
 *  - the device node is 0666 by default, so an unprivileged user may open
 *    pins, create allocators, allocate and map frames; the caps are what
 *    bound the damage, and they (the module parameters) and the debugfs
 *    view stay root's; a node restricted to a group (udev/60-ksalloc.rules)
 *    keeps everybody else out;
 *  - nothing of kernel memory reaches user space: every value copied out
 *    is checked in a buffer pre-filled with a pattern: reserved fields and
 *    padding come back zero, and the bytes past bytes_returned keep the
 *    pattern.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "frames_lib.h"
#include "ksa_test.h"
#include "kselftest_harness.h"

#define SYS_ALLOCATORS		KSA_SYSFS_DIR "allocators"
#define SYS_TOTAL_BYTES		KSA_SYSFS_DIR "total_bytes"
#define PARAM_MAX_ALLOCATOR	KSA_PARAM_DIR "max_allocator_bytes"
#define PARAM_MAX_TOTAL		KSA_PARAM_DIR "max_total_bytes"
#define PARAM_MAX_FRAMES	KSA_PARAM_DIR "max_frames"
#define PARAM_MAX_USER		KSA_PARAM_DIR "max_user_bytes"
#define DEBUGFS_STATUS		"/sys/kernel/debug/ksalloc/allocators"

#define CGROUP2_MAGIC		0x63677270
#define NOBODY			65534

/* The byte pattern output buffers are filled with before a request */
#define PAT			0xa5

static const struct ksguid g_connection = KSPROPSETID_Connection;
static const struct ksguid g_ksalloc_pin = KSPROPSETID_KsallocPin;
static const struct ksguid g_batch = KSMETHODSETID_KsallocBatch;
static const struct ksguid g_null = KSGUID_NULL;

/* Bytes a frame of @size costs against the caps: its whole pages. */
static long long frame_cost(long page, long long size)
{
	return (size + page - 1) / page * page;
}

/* ---- module parameters, put back by the teardown ---- */

struct saved_params {
	long long allocator_bytes, total_bytes, frames, user_bytes;
};

static void params_save(struct saved_params *p)
{
	p->allocator_bytes = ksa_read_ll(PARAM_MAX_ALLOCATOR);
	p->total_bytes = ksa_read_ll(PARAM_MAX_TOTAL);
	p->frames = ksa_read_ll(PARAM_MAX_FRAMES);
	p->user_bytes = ksa_read_ll(PARAM_MAX_USER);
}

static void params_restore(struct __test_metadata *_metadata,
			   const struct saved_params *p)
{
	if (p->allocator_bytes > 0 &&
	    ksa_write_ll(PARAM_MAX_ALLOCATOR, p->allocator_bytes))
		TH_LOG("could not restore max_allocator_bytes");
	if (p->total_bytes > 0 && ksa_write_ll(PARAM_MAX_TOTAL, p->total_bytes))
		TH_LOG("could not restore max_total_bytes");
	if (p->frames > 0 && ksa_write_ll(PARAM_MAX_FRAMES, p->frames))
		TH_LOG("could not restore max_frames");
	if (p->user_bytes > 0 && ksa_write_ll(PARAM_MAX_USER, p->user_bytes))
		TH_LOG("could not restore max_user_bytes");
}

FIXTURE(limits)
{
	int pin;
	long page;
	long long allocators0, total0;
	struct saved_params params;
};

/* Shared by the fixtures that change parameters and count allocators */
#define LIMITS_SETUP() do {						\
	self->pin = -1;							\
	self->page = ksa_page_size();					\
	params_save(&self->params);					\
	ASSERT_LT(0, self->params.allocator_bytes) {			\
		TH_LOG("cannot read %s (is the module loaded?)",	\
		       PARAM_MAX_ALLOCATOR);				\
	}								\
	ASSERT_LT(0, self->params.total_bytes);				\
	ASSERT_LT(0, self->params.frames);				\
	self->pin = ksa_open_pin();					\
	ASSERT_LE(0, self->pin);					\
	self->allocators0 = ksa_read_ll(SYS_ALLOCATORS);		\
	self->total0 = ksa_read_ll(SYS_TOTAL_BYTES);			\
	ASSERT_LE(0, self->allocators0);				\
	ASSERT_LE(0, self->total0);					\
} while (0)

#define LIMITS_TEARDOWN() do {						\
	params_restore(_metadata, &self->params);			\
	if (self->pin >= 0)						\
		close(self->pin);					\
} while (0)

FIXTURE_SETUP(limits)
{
	LIMITS_SETUP();
}

FIXTURE_TEARDOWN(limits)
{
	LIMITS_TEARDOWN();
}

#define EXPECT_BASELINE() do {						\
	EXPECT_EQ(self->allocators0, ksa_read_ll(SYS_ALLOCATORS));	\
	EXPECT_EQ(self->total0, ksa_read_ll(SYS_TOTAL_BYTES));		\
} while (0)

/* ---- many allocators ---- */

#define MANY 64

TEST_F(limits, many_allocators_at_once)
{
	const long long cost = frame_cost(self->page, self->page);
	int fd[MANY], i, n;
	__u64 off;
	void *map;

	for (n = 0; n < MANY; n++) {
		fd[n] = ksa_create(self->pin, 1, self->page, O_NONBLOCK);
		if (fd[n] < 0)
			break;
	}
	EXPECT_EQ(MANY, n) {
		TH_LOG("allocator %d: %s", n, strerror(-fd[n]));
	}
	EXPECT_EQ(self->allocators0 + n, ksa_read_ll(SYS_ALLOCATORS));
	EXPECT_EQ(self->total0 + n * cost, ksa_read_ll(SYS_TOTAL_BYTES));

	/* Each one is an allocator of its own: one frame, then EAGAIN. */
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, ksa_alloc(fd[i], &off));
		EXPECT_EQ(0, off);
		EXPECT_EQ(-EAGAIN, ksa_alloc(fd[i], &off));
		map = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
			   fd[i], 0);
		ASSERT_NE(MAP_FAILED, map);
		*(volatile int *)map = i;
		munmap(map, self->page);
	}
	for (i = 0; i < n; i++)
		EXPECT_EQ(0, close(fd[i]));
	EXPECT_BASELINE();
}

/* ---- max_allocator_bytes and max_frames ---- */

FIXTURE(cap)
{
	int pin;
	long page;
	long long allocators0, total0;
	struct saved_params params;
};

FIXTURE_SETUP(cap)
{
	LIMITS_SETUP();
}

FIXTURE_TEARDOWN(cap)
{
	LIMITS_TEARDOWN();
}

FIXTURE_VARIANT(cap)
{
	int frame_pages;	/* frame size in pages, plus ... */
	int extra_bytes;	/* ... this many bytes */
};

/* The frame costs 1, 2, 3 and 5 pages: 1, 1+, 3 and 5 pages of data. */
FIXTURE_VARIANT_ADD(cap, one_page) { .frame_pages = 1 };
FIXTURE_VARIANT_ADD(cap, page_plus_one) { .frame_pages = 1, .extra_bytes = 1 };
FIXTURE_VARIANT_ADD(cap, three_pages) { .frame_pages = 3 };
FIXTURE_VARIANT_ADD(cap, five_pages) { .frame_pages = 5 };

TEST_F(cap, exact_fit_and_one_byte_over)
{
	const __u32 frames = 4;
	const __u32 size = variant->frame_pages * self->page +
			   variant->extra_bytes;
	const long long need = frames * frame_cost(self->page, size);
	struct ksalloc_allocator_info info;
	int fd;

	/* Exactly the cap: fits, and is what the caps are charged. */
	ASSERT_EQ(0, ksa_write_ll(PARAM_MAX_ALLOCATOR, need));
	fd = ksa_create(self->pin, frames, size, 0);
	ASSERT_LE(0, fd) {
		TH_LOG("%u frames of %u bytes under a cap of %lld: %s",
		       frames, size, need, strerror(-fd));
	}
	ASSERT_EQ(0, ksa_info(fd, &info));
	EXPECT_EQ(need, info.bytes_held);
	EXPECT_EQ(self->total0 + need, ksa_read_ll(SYS_TOTAL_BYTES));
	EXPECT_EQ(0, close(fd));
	EXPECT_BASELINE();

	/* One frame more than fits */
	fd = ksa_create(self->pin, frames + 1, size, 0);
	EXPECT_EQ(-ENOMEM, fd);
	if (fd >= 0)
		close(fd);
	EXPECT_BASELINE();

	/* One byte under what it costs */
	ASSERT_EQ(0, ksa_write_ll(PARAM_MAX_ALLOCATOR, need - 1));
	fd = ksa_create(self->pin, frames, size, 0);
	EXPECT_EQ(-ENOMEM, fd) {
		TH_LOG("%u frames of %u bytes cost %lld: the cap %lld is one byte short",
		       frames, size, need, need - 1);
	}
	if (fd >= 0)
		close(fd);
	EXPECT_BASELINE();
}

TEST_F(limits, max_frames_exact_and_one_over)
{
	const __u32 frames = 8;
	int fd;

	ASSERT_EQ(0, ksa_write_ll(PARAM_MAX_FRAMES, frames));
	fd = ksa_create(self->pin, frames, self->page, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close(fd));
	fd = ksa_create(self->pin, frames + 1, self->page, 0);
	EXPECT_EQ(-ENOMEM, fd);
	if (fd >= 0)
		close(fd);
	EXPECT_BASELINE();
}

/* ---- max_total_bytes across processes ---- */

#define RACERS	6
#define WINNERS	4

/*
 * A racer: waits for the start (its end of @start sees EOF), tries to
 * create an allocator of @frames x @size, reports 0 or the errno on
 * @report and keeps the allocator until @hold sees EOF.
 */
static void racer(int start, int report, int hold, __u32 frames, __u32 size)
{
	unsigned char res;
	char c;
	int pin, fd;

	if (read(start, &c, 1) < 0)
		_exit(10);
	pin = ksa_open_pin();
	if (pin < 0)
		_exit(11);
	fd = ksa_create(pin, frames, size, 0);
	res = fd < 0 ? -fd : 0;
	if (write(report, &res, 1) != 1)
		_exit(12);
	if (read(hold, &c, 1) < 0)
		_exit(13);
	if (fd >= 0)
		close(fd);
	close(pin);
	_exit(0);
}

TEST_F(limits, total_cap_holds_across_processes)
{
	const __u32 frames = 16;
	const long long chunk = frames * frame_cost(self->page, self->page);
	int start[2], report[2], hold[RACERS][2];
	int i, j, ok = 0, nomem = 0, other = 0, status, fd;
	pid_t pid[RACERS];
	unsigned char res;

	ASSERT_EQ(0, ksa_write_ll(PARAM_MAX_TOTAL,
				  self->total0 + WINNERS * chunk));
	ASSERT_EQ(0, pipe(start));
	ASSERT_EQ(0, pipe(report));
	for (i = 0; i < RACERS; i++) {
		ASSERT_EQ(0, pipe(hold[i]));
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i]) {
			/* Only the parent may hold write ends, or no EOF */
			for (j = 0; j <= i; j++)
				close(hold[j][1]);
			close(start[1]);
			close(report[0]);
			racer(start[0], report[1], hold[i][0], frames,
			      self->page);
		}
		close(hold[i][0]);
	}
	close(start[0]);
	close(report[1]);
	/* All at once */
	close(start[1]);
	for (i = 0; i < RACERS; i++) {
		ASSERT_EQ(1, read(report[0], &res, 1));
		if (!res)
			ok++;
		else if (res == ENOMEM)
			nomem++;
		else
			other++;
	}
	EXPECT_EQ(WINNERS, ok);
	EXPECT_EQ(RACERS - WINNERS, nomem);
	EXPECT_EQ(0, other);
	EXPECT_EQ(self->total0 + WINNERS * chunk, ksa_read_ll(SYS_TOTAL_BYTES));
	EXPECT_EQ(self->allocators0 + WINNERS, ksa_read_ll(SYS_ALLOCATORS));

	/* Full: not even one page more, from this process either */
	fd = ksa_create(self->pin, 1, 1, 0);
	EXPECT_EQ(-ENOMEM, fd);
	if (fd >= 0)
		close(fd);

	/* Every holder lets go; the room is back. */
	for (i = 0; i < RACERS; i++) {
		close(hold[i][1]);
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(report[0]);
	EXPECT_BASELINE();
	fd = ksa_create(self->pin, frames, self->page, 0);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
}

/* ---- max_user_bytes ---- */

#define USER_A		65534	/* nobody */
#define USER_B		65533
#define GREEDY_MAX	64	/* allocators a greedy user keeps at most */

/* Become @uid:@uid with no supplementary groups and no capabilities. */
static int become(uid_t uid)
{
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
		return -errno;
	return 0;
}

/*
 * Create allocators of one page until the module says ENOMEM (or
 * GREEDY_MAX of them); the pages taken, or -errno for another error.
 * The fds are left in @fd (-1 after the last).
 */
static int take_all(int pin, long page, int *fd)
{
	int n;

	for (n = 0; n < GREEDY_MAX; n++) {
		fd[n] = ksa_create(pin, 1, page, 0);
		if (fd[n] < 0)
			return fd[n] == -ENOMEM ? n : fd[n];
	}
	return n;
}

/*
 * A user that takes what it can as @uid, writes the number of pages it got
 * (or 255 - errno of what went wrong) to @report, and holds them until
 * @hold sees EOF.
 */
static void greedy_user(uid_t uid, long page, int report, int hold)
{
	int fd[GREEDY_MAX + 1], pin, n;
	unsigned char res;
	char c;

	n = become(uid);
	pin = n ? n : ksa_open_pin();
	n = pin < 0 ? pin : take_all(pin, page, fd);
	res = n < 0 ? 255 + n : n;
	if (write(report, &res, 1) != 1)
		_exit(12);
	if (read(hold, &c, 1) < 0)
		_exit(13);
	_exit(0);
}

/* "# user UID bytes N" of the debugfs view: N, 0 if absent, -1 if unreadable */
static long long debugfs_user_bytes(uid_t uid)
{
	char line[256], want[64];
	long long bytes = 0;
	FILE *f = fopen(DEBUGFS_STATUS, "re");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "# user %u bytes ", uid);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)))
			bytes = atoll(line + strlen(want));
	fclose(f);
	return bytes;
}

/*
 * With room in max_total_bytes for two users' max_user_bytes, a user who
 * takes all it can gets exactly max_user_bytes, and a second user still
 * gets all of its own; the debugfs view shows what each holds. Root, with
 * the others gone and the total cap far away, is held to max_user_bytes
 * as well.
 */
TEST_F(limits, per_user_cap_leaves_room_for_others)
{
	const int cap_pages = 8;
	const long long cap = cap_pages * frame_cost(self->page, self->page);
	int report[2], hold[2][2], fd[GREEDY_MAX + 1];
	int i, n, status;
	unsigned char res;
	long long root0;
	pid_t pid[2];

	root0 = debugfs_user_bytes(0);
	ASSERT_EQ(0, root0) TH_LOG("%s: root holds %lld bytes already",
				   DEBUGFS_STATUS, root0);
	ASSERT_EQ(0, ksa_write_ll(PARAM_MAX_USER, cap)) {
		TH_LOG("cannot set %s", PARAM_MAX_USER);
	}
	ASSERT_EQ(0, ksa_write_ll(PARAM_MAX_TOTAL,
				  self->total0 + 2 * cap));
	ASSERT_EQ(0, pipe(report));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, pipe(hold[i]));
		pid[i] = fork();
		ASSERT_LE(0, pid[i]);
		if (!pid[i]) {
			close(hold[i][1]);
			if (i)
				close(hold[0][1]);
			close(report[0]);
			greedy_user(i ? USER_B : USER_A, self->page, report[1],
				    hold[i][0]);
		}
		close(hold[i][0]);
		/* One after the other: A has taken all it could before B. */
		ASSERT_EQ(1, read(report[0], &res, 1));
		EXPECT_EQ(cap_pages, res) {
			TH_LOG("user %d got %d pages (255 - errno if > 64)",
			       i ? USER_B : USER_A, res);
		}
		EXPECT_EQ(cap, debugfs_user_bytes(i ? USER_B : USER_A));
	}
	EXPECT_EQ(self->total0 + 2 * cap, ksa_read_ll(SYS_TOTAL_BYTES));

	/* Both let go; their charges go with their allocators. */
	for (i = 0; i < 2; i++) {
		close(hold[i][1]);
		ASSERT_EQ(pid[i], waitpid(pid[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		EXPECT_EQ(0, debugfs_user_bytes(i ? USER_B : USER_A));
	}
	close(report[0]);
	close(report[1]);
	EXPECT_BASELINE();

	/* Root: the same cap, with the total cap twice as far */
	n = take_all(self->pin, self->page, fd);
	EXPECT_EQ(cap_pages, n);
	EXPECT_EQ(cap, debugfs_user_bytes(0));
	EXPECT_LT(ksa_read_ll(SYS_TOTAL_BYTES), self->total0 + 2 * cap);
	for (i = 0; i < n && i < GREEDY_MAX; i++)
		close(fd[i]);
	EXPECT_BASELINE();
}

/*
 * The charge stays with the user who created the allocator: an allocator
 * handed to another user (SCM_RIGHTS would do; here a fork before the
 * other takes its uid) still counts against its creator, and the other
 * user's own cap is untouched.
 */
TEST_F(limits, per_user_charge_stays_with_creator)
{
	const long long cost = frame_cost(self->page, self->page);
	int fd, pin, status;
	long long root0;
	pid_t pid;

	root0 = debugfs_user_bytes(0);
	ASSERT_EQ(0, root0) TH_LOG("%s: root holds %lld bytes already",
				   DEBUGFS_STATUS, root0);
	ASSERT_EQ(0, ksa_write_ll(PARAM_MAX_USER, 2 * cost));
	fd = ksa_create(self->pin, 2, self->page, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(2 * cost, debugfs_user_bytes(0));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* Holds root's allocator as nobody, creates its own full cap */
		if (become(USER_A))
			_exit(1);
		pin = ksa_open_pin();
		if (pin < 0)
			_exit(2);
		if (ksa_create(pin, 2, self->page, 0) < 0)
			_exit(3);
		if (ksa_create(pin, 1, self->page, 0) != -ENOMEM)
			_exit(4);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, debugfs_user_bytes(USER_A));
	/* Root is still at its cap */
	EXPECT_EQ(-ENOMEM, ksa_create(self->pin, 1, self->page, 0));
	EXPECT_EQ(0, close(fd));
	EXPECT_EQ(0, debugfs_user_bytes(0));
	EXPECT_BASELINE();
}

/* ---- memory cgroup ---- */

struct cg {
	char root[PATH_MAX];	/* the cgroup2 mount */
	char dir[PATH_MAX];	/* our child cgroup */
	char mnt[PATH_MAX];	/* set if we mounted root ourselves */
};

/* The value of "key N" in a flat-keyed cgroup file, or -1 */
static long long cg_key(const struct cg *cg, const char *file, const char *key)
{
	char path[PATH_MAX + 64], buf[1024], *p;
	size_t klen = strlen(key);

	snprintf(path, sizeof(path), "%s/%s", cg->dir, file);
	if (kst_read_str(path, buf, sizeof(buf)))
		return -1;
	for (p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == ' ')
			return atoll(p + klen + 1);
	return -1;
}

static long long cg_value(const struct cg *cg, const char *file)
{
	char path[PATH_MAX + 64], buf[64];

	snprintf(path, sizeof(path), "%s/%s", cg->dir, file);
	if (kst_read_str(path, buf, sizeof(buf)))
		return -1;
	return atoll(buf);
}

static int cg_write(const struct cg *cg, const char *file, const char *s)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", cg->dir, file);
	return kst_write_str(path, s);
}

static int is_cgroup2(const char *path)
{
	struct statfs sf;

	return !statfs(path, &sf) && sf.f_type == CGROUP2_MAGIC;
}

/*
 * A child cgroup with the memory controller: on /sys/fs/cgroup if that is
 * cgroup2, else on a cgroup2 mount of our own. 0, or a reason to skip.
 */
static const char *cg_setup(struct cg *cg)
{
	char path[PATH_MAX + 64], buf[256];

	memset(cg, 0, sizeof(*cg));
	if (is_cgroup2("/sys/fs/cgroup")) {
		strcpy(cg->root, "/sys/fs/cgroup");
	} else {
		snprintf(cg->mnt, sizeof(cg->mnt), "/tmp/ksa-cgroup2.%d",
			 getpid());
		if (mkdir(cg->mnt, 0700))
			return "cannot create a mount point";
		if (mount("cgroup2", cg->mnt, "cgroup2", 0, NULL)) {
			rmdir(cg->mnt);
			cg->mnt[0] = 0;
			return "cannot mount cgroup2";
		}
		strcpy(cg->root, cg->mnt);
	}
	snprintf(path, sizeof(path), "%s/cgroup.controllers", cg->root);
	if (kst_read_str(path, buf, sizeof(buf)) || !strstr(buf, "memory"))
		return "no memory controller";
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", cg->root);
	if (kst_write_str(path, "+memory"))
		return "cannot enable the memory controller";
	snprintf(cg->dir, sizeof(cg->dir), "%s/ksa-limits.%d", cg->root,
		 getpid());
	if (mkdir(cg->dir, 0755)) {
		cg->dir[0] = 0;
		return "cannot create a cgroup";
	}
	return NULL;
}

static void cg_cleanup(struct cg *cg)
{
	if (cg->dir[0])
		rmdir(cg->dir);
	if (cg->mnt[0]) {
		umount(cg->mnt);
		rmdir(cg->mnt);
	}
	cg->dir[0] = cg->mnt[0] = 0;
}

/* Run @fn in a child moved into @cg; its exit status, or -1. */
static int cg_run(const struct cg *cg, int (*fn)(const struct cg *, void *),
		  void *arg, int *status)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		if (cg_write(cg, "cgroup.procs", "0"))
			_exit(100);
		_exit(fn(cg, arg));
	}
	return waitpid(pid, status, 0) == pid ? 0 : -1;
}

struct cg_create {
	__u32 frames, frame_size;
	int expect;		/* 0 or -errno */
	long long charged;	/* with 0: memory.current must grow by this */
};

/*
 * In the cgroup: create an allocator, compare with what is expected.
 * Exit status 0 if as expected, 1 + a code otherwise (printed).
 */
static int cg_create_child(const struct cg *cg, void *arg)
{
	const struct cg_create *c = arg;
	long long before, after;
	int pin, fd;

	pin = ksa_open_pin();
	if (pin < 0)
		return 2;
	before = cg_value(cg, "memory.current");
	fd = ksa_create(pin, c->frames, c->frame_size, 0);
	after = cg_value(cg, "memory.current");
	if ((fd < 0 ? fd : 0) != c->expect) {
		fprintf(stderr, "# child: %u frames of %u: %s, expected %s\n",
			c->frames, c->frame_size,
			fd < 0 ? strerror(-fd) : "created",
			c->expect ? strerror(-c->expect) : "success");
		return 3;
	}
	/*
	 * Charges go through per-CPU stocks (pages charged ahead), so the
	 * difference can be short of the frames by a stock; but a fresh
	 * cgroup holds the frames' bytes only if they were charged to it.
	 */
	if (fd >= 0 && after < c->charged) {
		fprintf(stderr, "# child: memory.current %lld -> %lld, expected at least %lld\n",
			before, after, c->charged);
		return 4;
	}
	/*
	 * ... and no more than the frames' pages plus the bookkeeping and a
	 * charge batch: frames are not rounded up to a power of two.
	 */
	if (fd >= 0 && after - before > c->charged + (1LL << 20)) {
		fprintf(stderr, "# child: memory.current %lld -> %lld, expected at most %lld more\n",
			before, after, c->charged + (1LL << 20));
		return 5;
	}
	if (fd >= 0)
		close(fd);
	close(pin);
	return 0;
}

/* The frame sizes of the memcg tests: order 0, 3 (costly) and 8 */
FIXTURE(memcg)
{
	struct cg cg;
	const char *skip;
	struct saved_params params;
	long long allocators0, total0;
};

FIXTURE_VARIANT(memcg)
{
	__u32 frames;
	__u32 frame_size;
};

FIXTURE_VARIANT_ADD(memcg, pages) { .frames = 8192, .frame_size = 4096 };
FIXTURE_VARIANT_ADD(memcg, order3) { .frames = 1024, .frame_size = 32768 };
FIXTURE_VARIANT_ADD(memcg, order8) { .frames = 32, .frame_size = 1 << 20 };

FIXTURE_SETUP(memcg)
{
	params_save(&self->params);
	ASSERT_LT(0, self->params.frames);
	/* 32 MiB must be within the module's own caps: the cgroup refuses. */
	if (self->params.frames < variant->frames)
		ASSERT_EQ(0, ksa_write_ll(PARAM_MAX_FRAMES, variant->frames));
	if (self->params.allocator_bytes < 64LL << 20)
		ASSERT_EQ(0, ksa_write_ll(PARAM_MAX_ALLOCATOR, 64LL << 20));
	self->allocators0 = ksa_read_ll(SYS_ALLOCATORS);
	self->total0 = ksa_read_ll(SYS_TOTAL_BYTES);
	if (self->params.total_bytes < self->total0 + (64LL << 20))
		ASSERT_EQ(0, ksa_write_ll(PARAM_MAX_TOTAL,
					  self->total0 + (64LL << 20)));
	self->skip = cg_setup(&self->cg);
}

FIXTURE_TEARDOWN(memcg)
{
	cg_cleanup(&self->cg);
	params_restore(_metadata, &self->params);
}

/* 32 MiB of frames in a cgroup of 8 MiB: ENOMEM, nobody killed. */
TEST_F(memcg, over_memory_max_is_enomem_not_oom)
{
	struct cg_create c = {
		.frames = variant->frames,
		.frame_size = variant->frame_size,
		.expect = -ENOMEM,
	};
	int status = -1;

	if (self->skip)
		SKIP(return, "memory cgroup: %s", self->skip);
	ASSERT_EQ((__u64)32 << 20, (__u64)c.frames * c.frame_size);
	ASSERT_EQ(0, cg_write(&self->cg, "memory.max", "8M"));
	ASSERT_EQ(0, cg_run(&self->cg, cg_create_child, &c, &status));
	EXPECT_TRUE(WIFEXITED(status)) {
		TH_LOG("the creating process was killed by signal %d",
		       WIFSIGNALED(status) ? WTERMSIG(status) : -1);
	}
	EXPECT_EQ(0, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	EXPECT_EQ(0, cg_key(&self->cg, "memory.events", "oom_kill")) {
		TH_LOG("KERNEL BUG: the memcg OOM killer fired for an allocator over "
		       "memory.max (frames of %u bytes); the creation should fail "
		       "with ENOMEM instead (frame pages need __GFP_RETRY_MAYFAIL)",
		       c.frame_size);
	}
	TH_LOG("memory.events: oom %lld, max %lld",
	       cg_key(&self->cg, "memory.events", "oom"),
	       cg_key(&self->cg, "memory.events", "max"));
	/* The failed creation gave every charged page back. */
	EXPECT_GT(1LL << 20, cg_value(&self->cg, "memory.current"));
	EXPECT_EQ(self->allocators0, ksa_read_ll(SYS_ALLOCATORS));
	EXPECT_EQ(self->total0, ksa_read_ll(SYS_TOTAL_BYTES));
}

/* Within memory.max the frames are created, and charged to the cgroup. */
TEST_F(memcg, frames_are_charged_to_creator)
{
	struct cg_create c = {
		.frames = variant->frames / 8,
		.frame_size = variant->frame_size,
		.expect = 0,
		.charged = (long long)variant->frames / 8 * variant->frame_size,
	};
	int status = -1;

	if (self->skip)
		SKIP(return, "memory cgroup: %s", self->skip);
	ASSERT_EQ(0, cg_write(&self->cg, "memory.max", "64M"));
	ASSERT_EQ(0, cg_run(&self->cg, cg_create_child, &c, &status));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	EXPECT_EQ(0, cg_key(&self->cg, "memory.events", "oom_kill"));
	EXPECT_EQ(self->allocators0, ksa_read_ll(SYS_ALLOCATORS));
	EXPECT_EQ(self->total0, ksa_read_ll(SYS_TOTAL_BYTES));
}

/*
 * The limit at every page within a window wider than the period of the
 * creation's charges: for one-page frames, a page of frames and then,
 * after about a hundred frames, a page for the small objects of their
 * tables. Wherever memory.max falls, the creation fails with ENOMEM, and
 * nobody is killed. Each step runs in a fresh cgroup (empty charge
 * caches), pinned to one CPU, so the steps move the limit one page at a
 * time through the same sequence of charges.
 */
#define SWEEP_STEPS	128
#define SWEEP_HEADROOM	32	/* pages above memory.current at the start */

static int cg_sweep_child(const struct cg *cg, void *arg)
{
	const int step = *(const int *)arg;
	long long cur;
	char buf[32];
	int pin, fd;

	pin = ksa_open_pin();
	if (pin < 0)
		return 2;
	cur = cg_value(cg, "memory.current");
	if (cur < 0)
		return 3;
	snprintf(buf, sizeof(buf), "%lld",
		 cur + (long long)(SWEEP_HEADROOM + step) * 4096);
	if (cg_write(cg, "memory.max", buf))
		return 4;
	fd = ksa_create(pin, 1024, 4096, 0);
	if (fd != -ENOMEM) {
		fprintf(stderr, "# step %d: %s, expected ENOMEM\n", step,
			fd < 0 ? strerror(-fd) : "created");
		return 5;
	}
	close(pin);
	return 0;
}

/* Minutes on a debug kernel: 128 cgroups, or 16 MiB pinned page by page */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

TEST_F_TIMEOUT(slow, memcg_every_crossing_is_enomem, 600)
{
	int step, status, killed = 0, failed = 0;
	const char *skip;
	cpu_set_t cpus;
	struct cg cg;

	if (ksa_page_size() != 4096)
		SKIP(return, "the sweep is laid out for 4 KiB pages");
	if (ksa_read_ll(PARAM_MAX_FRAMES) < 1024)
		SKIP(return, "max_frames below 1024");
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));
	for (step = 0; step < SWEEP_STEPS; step++) {
		skip = cg_setup(&cg);
		if (skip) {
			cg_cleanup(&cg);
			SKIP(return, "memory cgroup: %s", skip);
		}
		status = -1;
		ASSERT_EQ(0, cg_run(&cg, cg_sweep_child, &step, &status));
		if (cg_key(&cg, "memory.events", "oom_kill") ||
		    !WIFEXITED(status)) {
			if (!killed++)
				TH_LOG("KERNEL BUG: step %d: OOM-killed (signal %d, oom_kill %lld) "
				       "instead of ENOMEM", step,
				       WIFSIGNALED(status) ? WTERMSIG(status) : 0,
				       cg_key(&cg, "memory.events", "oom_kill"));
		} else if (WEXITSTATUS(status)) {
			if (!failed++)
				TH_LOG("step %d: exit status %d", step,
				       WEXITSTATUS(status));
		}
		cg_cleanup(&cg);
	}
	EXPECT_EQ(0, killed);
	EXPECT_EQ(0, failed);
}

/*
 * A page of a frame pinned by a pipe (vmsplice) keeps that page alive
 * after the allocator is gone, and nothing more: not the rest of its
 * chunk. One page of every 64 KiB block of a 16 MiB frame is pinned; the
 * allocator goes, the caps are released, and the cgroup holds only the
 * pinned pages (up to its charge caches) until the pipe lets them go.
 */
#define PIN_FRAME	(16 << 20)
#define PIN_BLOCK	16	/* pages: an order-4 block */

static int cg_pinned_child(const struct cg *cg, void *arg)
{
	const long page = 4096, npages = PIN_FRAME / page;
	long long base, created, pinned, released, total0;
	long i, npins = 0;
	unsigned char *map;
	struct iovec *iov;
	int pin, fd, p[2];

	(void)arg;
	iov = calloc(npages / PIN_BLOCK, sizeof(*iov));
	pin = ksa_open_pin();
	if (!iov || pin < 0 || pipe2(p, O_CLOEXEC))
		return 2;
	if (fcntl(p[1], F_SETPIPE_SZ, (int)(npages / PIN_BLOCK * page)) < 0)
		return 3;
	total0 = ksa_read_ll(SYS_TOTAL_BYTES);
	base = cg_value(cg, "memory.current");
	fd = ksa_create(pin, 1, PIN_FRAME, 0);
	if (fd < 0)
		return 4;
	created = cg_value(cg, "memory.current");
	map = mmap(NULL, PIN_FRAME, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return 5;
	/* The last page of each whole 64 KiB block: a tail of any chunk */
	for (i = 0; i < npages; i++) {
		unsigned long long pfn = kst_pfn_of(map + i * page);

		if (!pfn)
			return 6;
		if (pfn % PIN_BLOCK == PIN_BLOCK - 1 && i >= PIN_BLOCK - 1 &&
		    kst_pfn_of(map + (i - PIN_BLOCK + 1) * page) ==
		    pfn - PIN_BLOCK + 1) {
			iov[npins].iov_base = map + i * page;
			iov[npins].iov_len = page;
			npins++;
		}
	}
	if (npins < npages / PIN_BLOCK / 2) {
		fprintf(stderr, "# only %ld of %ld pages in 64 KiB blocks\n",
			npins * PIN_BLOCK, npages);
		return 99;	/* no high-order chunk: cannot tell */
	}
	for (i = 0; i < npins; i++)
		if (vmsplice(p[1], &iov[i], 1, 0) != page)
			return 7;
	munmap(map, PIN_FRAME);
	close(fd);
	close(pin);
	if (ksa_read_ll(SYS_TOTAL_BYTES) != total0) {
		fprintf(stderr, "# the caps still count the allocator\n");
		return 8;
	}
	pinned = cg_value(cg, "memory.current");
	close(p[0]);
	close(p[1]);
	released = cg_value(cg, "memory.current");
	fprintf(stderr, "# memory.current: %lld, created %lld, pinned %ld pages: %lld, released %lld\n",
		base, created, npins, pinned, released);
	/* Charge caches: up to 64 pages per CPU either way */
	if (created - base < PIN_FRAME - (1 << 20))
		return 9;
	if (pinned - base > npins * page + (1 << 20)) {
		fprintf(stderr, "# KERNEL BUG: %lld bytes held for %ld pinned pages\n",
			pinned - base, npins);
		return 10;
	}
	if (pinned - released < npins * page / 4) {
		fprintf(stderr, "# the pinned pages were not charged to the cgroup\n");
		return 11;
	}
	free(iov);
	return 0;
}

TEST_F_TIMEOUT(slow, pinned_pages_outlive_allocator_alone, 600)
{
	const char *skip;
	int status = -1;
	struct cg cg;

	skip = cg_setup(&cg);
	if (skip) {
		cg_cleanup(&cg);
		SKIP(return, "memory cgroup: %s", skip);
	}
	ASSERT_EQ(0, cg_run(&cg, cg_pinned_child, NULL, &status));
	cg_cleanup(&cg);
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 99)
		SKIP(return, "the frame has no high-order chunk");
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* ---- permissions ---- */

/* Become nobody:nogroup with no supplementary groups and no capabilities. */
static int drop_privileges(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return -errno;
	return 0;
}

/*
 * As nobody: what a user may do with a 0666 node (open, create, allocate,
 * map, free) and may not (module parameters, debugfs). Exit status: 0, or
 * the number of the step that went wrong (printed).
 */
static int unprivileged_child(long page)
{
	struct ksalloc_allocator_info info;
	int pin, fd, ret;
	__u64 off;
	char *map;

#define STEP(n, cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "# nobody, step %d: ", n);		\
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		return n;						\
	}								\
} while (0)

	ret = drop_privileges();
	STEP(1, !ret, "dropping privileges: %s", strerror(-ret));
	STEP(2, getuid() == NOBODY && geteuid() == NOBODY, "still uid %d", geteuid());

	pin = ksa_open_pin();
	STEP(3, pin >= 0, "open %s: %s", KSA_DEV, strerror(-pin));
	fd = ksa_create(pin, 2, page, O_NONBLOCK);
	STEP(4, fd >= 0, "create: %s", strerror(-fd));
	ret = ksa_alloc(fd, &off);
	STEP(5, !ret, "alloc: %s", strerror(-ret));
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	STEP(6, map != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(map + off, 0x5a, page);
	ret = ksa_info(fd, &info);
	STEP(7, !ret && info.allocated_frames == 1, "info: %s", strerror(-ret));
	ret = ksa_free(fd, off);
	STEP(8, !ret, "free: %s", strerror(-ret));
	munmap(map, 2 * page);
	close(fd);
	close(pin);

	/* The caps are root's to set. */
	ret = ksa_write_ll(PARAM_MAX_TOTAL, 1LL << 40);
	STEP(9, ret == -EACCES, "writing max_total_bytes: %s, expected EACCES",
	     ret ? strerror(-ret) : "it worked");
	ret = ksa_write_ll(PARAM_MAX_ALLOCATOR, 1LL << 40);
	STEP(10, ret == -EACCES, "writing max_allocator_bytes: %s, expected EACCES",
	     ret ? strerror(-ret) : "it worked");
	/* ... and readable by everyone (0644). */
	STEP(11, ksa_read_ll(PARAM_MAX_TOTAL) > 0, "reading max_total_bytes: %s",
	     strerror(errno));
	/* debugfs (owner pids and comms of every allocator) is not theirs. */
	fd = open(DEBUGFS_STATUS, O_RDONLY);
	ret = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	STEP(12, ret == EACCES || ret == ENOENT,
	     "opening %s: %s, expected EACCES or ENOENT", DEBUGFS_STATUS,
	     ret ? strerror(ret) : "it worked");
	return 0;
#undef STEP
}

TEST_F(limits, unprivileged_user_streams_but_sets_no_caps)
{
	int status = -1;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(unprivileged_child(self->page));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* Nothing a failed step could have changed */
	EXPECT_EQ(self->params.total_bytes, ksa_read_ll(PARAM_MAX_TOTAL));
	EXPECT_EQ(self->params.allocator_bytes, ksa_read_ll(PARAM_MAX_ALLOCATOR));
	EXPECT_BASELINE();
}

/*
 * The group-restricted setup of udev/60-ksalloc.rules (MODE 0660, a group)
 * on a node of our own with the same device number: members of the group
 * get in, everybody else gets EACCES.
 */
#define STREAM_GID	44	/* "video" on Debian */

static int open_as(const char *node, gid_t gid, int member)
{
	gid_t groups[1] = { gid };
	int fd;

	if (setgroups(member, groups) || setgid(NOBODY) || setuid(NOBODY))
		return 100;
	fd = open(node, O_RDWR);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

TEST_F(limits, group_restricted_node)
{
	char node[64];
	struct stat st;
	int status, member;
	pid_t pid;

	ASSERT_EQ(0, stat(KSA_DEV, &st));
	snprintf(node, sizeof(node), "/tmp/ksalloc-node.%d", getpid());
	unlink(node);
	ASSERT_EQ(0, mknod(node, S_IFCHR | 0660, st.st_rdev));
	ASSERT_EQ(0, chown(node, 0, STREAM_GID));
	ASSERT_EQ(0, chmod(node, 0660));

	for (member = 0; member <= 1; member++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			_exit(open_as(node, STREAM_GID, member));
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		EXPECT_EQ(member ? 0 : EACCES, WEXITSTATUS(status)) {
			TH_LOG("%s of group %d: open gave %s", member ?
			       "member" : "non-member", STREAM_GID,
			       strerror(WEXITSTATUS(status)));
		}
	}
	EXPECT_EQ(0, unlink(node));
}

/* ---- nothing of kernel memory reaches user space ---- */

/*
 * Output buffers are this large, filled with PAT; what the kernel did not
 * report as returned must still be PAT afterwards.
 */
#define BUF 512

static int pattern_intact(const void *buf, size_t from, size_t to)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = from; i < to; i++)
		if (p[i] != PAT)
			return 0;
	return 1;
}

static int all_zero(const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/*
 * A request whose output goes into a pattern-filled buffer of BUF bytes;
 * checks that bytes_returned is @expect_len and the rest kept the pattern.
 * The ks_ioctl_args block itself is checked too: the kernel writes
 * bytes_returned and nothing else of it.
 */
static int leak_request(struct __test_metadata *_metadata, int fd,
			unsigned long cmd, const void *in, __u32 in_size,
			unsigned char *out, __u32 out_size, __u32 open_flags,
			__u32 expect_len)
{
	struct ks_ioctl_args a, before;
	int ret;

	memset(out, PAT, BUF);
	memset(&a, 0, sizeof(a));
	a.in_buffer = (uintptr_t)in;
	a.out_buffer = (uintptr_t)out;
	a.in_size = in_size;
	a.out_size = out_size;
	a.bytes_returned = 0xa5a5a5a5;
	a.open_flags = open_flags;
	before = a;
	ret = ioctl(fd, cmd, &a) < 0 ? -errno : 0;
	EXPECT_EQ(expect_len, a.bytes_returned);
	a.bytes_returned = before.bytes_returned;
	EXPECT_EQ(0, memcmp(&a, &before, sizeof(a))) {
		TH_LOG("the kernel wrote to ks_ioctl_args beyond bytes_returned");
	}
	EXPECT_TRUE(pattern_intact(out, ret ? 0 : expect_len, BUF)) {
		TH_LOG("output bytes past bytes_returned (%u) were written",
		       expect_len);
	}
	return ret;
}

FIXTURE(leak)
{
	int pin, alloc;
	long page;
	unsigned char *out;
};

FIXTURE_SETUP(leak)
{
	self->page = ksa_page_size();
	self->alloc = -1;
	self->out = malloc(BUF);
	ASSERT_NE(NULL, self->out);
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin);
	self->alloc = ksa_create(self->pin, 3, self->page, O_NONBLOCK);
	ASSERT_LE(0, self->alloc);
}

FIXTURE_TEARDOWN(leak)
{
	if (self->alloc >= 0)
		close(self->alloc);
	if (self->pin >= 0)
		close(self->pin);
	free(self->out);
}

TEST_F(leak, status)
{
	struct ksidentifier p = ksa_ident(&ksa_g_allocprops,
					  KSPROPERTY_STREAMALLOCATOR_STATUS,
					  KSPROPERTY_TYPE_GET);
	struct ksstreamallocator_status *st = (void *)self->out;

	ASSERT_EQ(0, leak_request(_metadata, self->alloc, IOCTL_KS_PROPERTY,
				  &p, sizeof(p), self->out, BUF, 0,
				  sizeof(*st)));
	EXPECT_EQ(0, st->reserved);
	EXPECT_EQ(0, st->framing.reserved);
	EXPECT_EQ(3, st->framing.frames);
}

TEST_F(leak, info)
{
	struct ksidentifier p = ksa_ident(&ksa_g_ksalloc_alloc,
					  KSPROPERTY_KSALLOC_ALLOCATOR_INFO,
					  KSPROPERTY_TYPE_GET);
	struct ksalloc_allocator_info *info = (void *)self->out;

	ASSERT_EQ(0, leak_request(_metadata, self->alloc, IOCTL_KS_PROPERTY,
				  &p, sizeof(p), self->out, BUF, 0,
				  sizeof(*info)));
	EXPECT_EQ(0, info->exported_frames);
	EXPECT_EQ(0, info->resetting);
	EXPECT_EQ(3, info->frames);
}

TEST_F(leak, allocator_framing)
{
	struct ksidentifier p = ksa_ident(&g_connection,
					  KSPROPERTY_CONNECTION_ALLOCATORFRAMING,
					  KSPROPERTY_TYPE_GET);
	struct ksallocator_framing *f = (void *)self->out;

	ASSERT_EQ(0, leak_request(_metadata, self->pin, IOCTL_KS_PROPERTY,
				  &p, sizeof(p), self->out, BUF, 0,
				  sizeof(*f)));
	EXPECT_EQ(0, f->reserved);
}

/*
 * ALLOCATORFRAMING_EX: one item of 88 bytes of which the module fills a
 * few fields; every other byte (bus type, flags, weights, the rest of the
 * ranges) must be zero, not stack or heap contents.
 */
TEST_F(leak, allocator_framing_ex)
{
	static const struct ksguid system = KSMEMORY_TYPE_SYSTEM;
	struct ksidentifier p = ksa_ident(&g_connection,
					  KSPROPERTY_CONNECTION_ALLOCATORFRAMING_EX,
					  KSPROPERTY_TYPE_GET);
	struct ksallocator_framing_ex *ex = (void *)self->out;
	struct ks_framing_item item;

	ASSERT_EQ(0, leak_request(_metadata, self->pin, IOCTL_KS_PROPERTY,
				  &p, sizeof(p), self->out, BUF, 0,
				  KSALLOCATOR_FRAMING_EX_SIZE(1)));
	EXPECT_EQ(1, ex->count_items);
	EXPECT_EQ(0, ex->pin_flags);
	EXPECT_EQ(0, ex->output_compression.ratio_constant_margin);
	EXPECT_EQ(0, ex->pin_weight);
	/* Clear what the module is meant to set; the rest must be zero. */
	memcpy(&item, &ex->framing_item[0], sizeof(item));
	EXPECT_EQ(0, memcmp(&item.memory_type, &system, sizeof(system)));
	memset(&item.memory_type, 0, sizeof(item.memory_type));
	item.flags = item.frames = item.file_alignment = 0;
	item.physical_range.max_frame_size = 0;
	item.physical_range.stepping = 0;
	item.framing_range.range.min_frame_size = 0;
	item.framing_range.range.max_frame_size = 0;
	item.framing_range.range.stepping = 0;
	EXPECT_TRUE(all_zero(&item, sizeof(item))) {
		TH_LOG("a field of the framing item the module does not set is not zero");
	}
}

/* Both BASICSUPPORT answers: the 40-byte description and the bare flags */
TEST_F(leak, basicsupport)
{
	struct ksidentifier p = ksa_ident(&ksa_g_allocprops,
					  KSPROPERTY_STREAMALLOCATOR_STATUS,
					  KSPROPERTY_TYPE_BASICSUPPORT);
	struct ksidentifier m = ksa_ident(&ksa_g_allocmethods,
					  KSMETHOD_STREAMALLOCATOR_ALLOC,
					  KSMETHOD_TYPE_BASICSUPPORT);
	struct ksproperty_description *d = (void *)self->out;

	ASSERT_EQ(0, leak_request(_metadata, self->alloc, IOCTL_KS_PROPERTY,
				  &p, sizeof(p), self->out, BUF, 0,
				  sizeof(*d)));
	EXPECT_EQ(sizeof(*d), d->description_size);
	EXPECT_EQ(0, d->prop_type_set.flags);
	EXPECT_EQ(0, d->members_list_count);
	EXPECT_EQ(0, d->reserved);

	ASSERT_EQ(0, leak_request(_metadata, self->alloc, IOCTL_KS_METHOD,
				  &m, sizeof(m), self->out, BUF, 0,
				  sizeof(*d)));
	EXPECT_EQ(0, d->reserved);

	/* Room for the flags only: 4 bytes, nothing past them */
	ASSERT_EQ(0, leak_request(_metadata, self->alloc, IOCTL_KS_PROPERTY,
				  &p, sizeof(p), self->out, sizeof(__u32), 0,
				  sizeof(__u32)));
	/* Too small for anything: the size, and the buffer untouched */
	ASSERT_EQ(-EOVERFLOW, leak_request(_metadata, self->alloc,
					   IOCTL_KS_PROPERTY, &p, sizeof(p),
					   self->out, 3, 0, sizeof(*d)));
}

/* The SETSUPPORT list: exactly one GUID per set, nothing after them */
TEST_F(leak, setsupport_list)
{
	struct ksidentifier p = ksa_ident(&g_null, 0,
					  KSPROPERTY_TYPE_SETSUPPORT);
	__u32 returned = 0;

	/* Its size first */
	EXPECT_EQ(-EOVERFLOW, ksa_ioctl(self->alloc, IOCTL_KS_PROPERTY, &p,
					sizeof(p), NULL, 0, 0, &returned));
	ASSERT_LT(0, returned);
	ASSERT_GE(BUF, returned);
	EXPECT_EQ(0, returned % sizeof(struct ksguid));
	ASSERT_EQ(0, leak_request(_metadata, self->alloc, IOCTL_KS_PROPERTY,
				  &p, sizeof(p), self->out, BUF, 0, returned));
	/* Same on a pin, and for methods */
	ASSERT_EQ(0, ksa_ioctl(self->pin, IOCTL_KS_PROPERTY, &p, sizeof(p),
			       self->out, BUF, 0, &returned));
	ASSERT_EQ(0, leak_request(_metadata, self->pin, IOCTL_KS_PROPERTY,
				  &p, sizeof(p), self->out, BUF, 0, returned));
	ASSERT_EQ(0, ksa_ioctl(self->alloc, IOCTL_KS_METHOD, &p, sizeof(p),
			       self->out, BUF, 0, &returned));
	ASSERT_EQ(0, leak_request(_metadata, self->alloc, IOCTL_KS_METHOD,
				  &p, sizeof(p), self->out, BUF, 0, returned));
}

TEST_F(leak, alloc_value)
{
	struct ksidentifier m = ksa_ident(&ksa_g_allocmethods,
					  KSMETHOD_STREAMALLOCATOR_ALLOC,
					  KSMETHOD_TYPE_WRITE);
	__u64 off;

	ASSERT_EQ(0, leak_request(_metadata, self->alloc, IOCTL_KS_METHOD,
				  &m, sizeof(m), self->out, BUF, 0,
				  sizeof(__u64)));
	memcpy(&off, self->out, sizeof(off));
	EXPECT_EQ(0, off % self->page);
	EXPECT_EQ(0, ksa_free(self->alloc, off));
}

/* A batch of 8 from 3 free frames: 24 bytes returned, 40 untouched */
TEST_F(leak, batch_alloc_short)
{
	struct ksalloc_batch_method bm;
	__u64 off[3];
	int i;

	memset(&bm, 0, sizeof(bm));
	bm.method = ksa_ident(&g_batch, KSMETHOD_KSALLOC_BATCH_ALLOC,
			      KSMETHOD_TYPE_WRITE);
	bm.count = 8;
	ASSERT_EQ(0, leak_request(_metadata, self->alloc, IOCTL_KS_METHOD,
				  &bm, sizeof(bm), self->out, 8 * sizeof(__u64),
				  0, 3 * sizeof(__u64)));
	memcpy(off, self->out, sizeof(off));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, ksa_free(self->alloc, off[i]));
}

TEST_F(leak, create_result)
{
	struct ksallocator_create c;
	__s64 handle;

	memset(&c, 0, sizeof(c));
	c.object_type = ksa_g_name_allocator;
	c.framing.pool_type = KS_POOL_NONPAGED;
	c.framing.frames = 1;
	c.framing.frame_size = self->page;
	ASSERT_EQ(0, leak_request(_metadata, self->pin, IOCTL_KS_CREATE, &c,
				  sizeof(c), self->out, BUF, O_CLOEXEC,
				  sizeof(__s64)));
	memcpy(&handle, self->out, sizeof(handle));
	ASSERT_LE(0, handle);
	ASSERT_GE(INT_MAX, handle);
	EXPECT_EQ(0, close((int)handle));
}

TEST_F(leak, pin_allocator_fd)
{
	struct ksidentifier p = ksa_ident(&g_ksalloc_pin,
					  KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
					  KSPROPERTY_TYPE_GET);
	__s64 handle;

	ASSERT_EQ(0, ksa_pin_set_allocator(self->pin, self->alloc));
	ASSERT_EQ(0, leak_request(_metadata, self->pin, IOCTL_KS_PROPERTY, &p,
				  sizeof(p), self->out, BUF, O_CLOEXEC,
				  sizeof(__s64)));
	memcpy(&handle, self->out, sizeof(handle));
	ASSERT_LE(0, handle);
	EXPECT_EQ(0, close((int)handle));
	EXPECT_EQ(0, ksa_pin_set_allocator(self->pin, KS_NULL_HANDLE));
}

/* Failed requests copy nothing out at all */
TEST_F(leak, errors_copy_nothing)
{
	struct ksidentifier bad = ksa_ident(&ksa_g_allocprops, 77,
					    KSPROPERTY_TYPE_GET);
	struct ksidentifier m = ksa_ident(&ksa_g_allocmethods,
					  KSMETHOD_STREAMALLOCATOR_ALLOC,
					  KSMETHOD_TYPE_WRITE);
	__u64 off[3];
	int i;

	EXPECT_EQ(-ENOENT, leak_request(_metadata, self->alloc,
					IOCTL_KS_PROPERTY, &bad, sizeof(bad),
					self->out, BUF, 0, 0));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, ksa_alloc(self->alloc, &off[i]));
	EXPECT_EQ(-EAGAIN, leak_request(_metadata, self->alloc,
					IOCTL_KS_METHOD, &m, sizeof(m),
					self->out, BUF, 0, 0));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, ksa_free(self->alloc, off[i]));
}

TEST_HARNESS_MAIN
