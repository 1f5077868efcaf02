// SPDX-License-Identifier: GPL-2.0
/*
 * The ksalloc tracepoints (events/ksalloc/ in tracefs): a scripted
 * sequence of allocator operations produces exactly the events it should,
 * each naming the allocator's id (KSPROPERTY_KSALLOC_ALLOCATOR_INFO.id),
 * with the frame numbers and counters of the operation; operations that
 * fail produce none.
 *
 * The events are enabled in the fixture and disabled again in teardown;
 * the test process is pinned to one CPU so all events land in one ring
 * buffer, in the order they happened. Skipped without tracefs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "frames_lib.h"
#include "ksa_test.h"
#include "kmod/ksalloc_client.h"
#include "kselftest_harness.h"

#define MAX_EVENTS	256

enum tr_type {
	TR_CREATE,
	TR_DESTROY,
	TR_ALLOC,
	TR_FREE,
	TR_WAIT_START,
	TR_WAIT_END,
	TR_RESET,
	TR_TYPES
};

static const char * const tr_names[TR_TYPES] = {
	[TR_CREATE] = "ksalloc_allocator_create",
	[TR_DESTROY] = "ksalloc_allocator_destroy",
	[TR_ALLOC] = "ksalloc_alloc",
	[TR_FREE] = "ksalloc_free",
	[TR_WAIT_START] = "ksalloc_wait_start",
	[TR_WAIT_END] = "ksalloc_wait_end",
	[TR_RESET] = "ksalloc_reset",
};

/* One event of the trace, its fields by type */
struct tr_event {
	enum tr_type type;
	unsigned long long id;
	long long v[3];		/* create: frames, frame_size, bytes;
				 * destroy: high_water; alloc/free: frame,
				 * allocated; wait_start: waiters;
				 * wait_end: ret; reset: 1 begin, 0 end */
};

struct tr_trace {
	struct tr_event ev[MAX_EVENTS];
	int n;
	int count[TR_TYPES];
	int unparsed;		/* ksalloc lines that did not parse */
	int lost;		/* "LOST EVENTS" markers */
};

/* tracefs: where it is mounted, or NULL */
static const char *tr_find_tracefs(void)
{
	static const char * const dirs[] = {
		"/sys/kernel/tracing",
		"/sys/kernel/debug/tracing",
	};
	char path[128];
	unsigned int i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/trace", dirs[i]);
		if (!access(path, W_OK))
			return dirs[i];
	}
	return NULL;
}

static int tr_write(const char *dir, const char *file, const char *val)
{
	char path[256];
	int fd, ret = 0;
	ssize_t len = strlen(val);

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (len && write(fd, val, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

static int tr_read_int(const char *dir, const char *file)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return (int)ksa_read_ll(path);
}

/* Parse one "... : ksalloc_xxx: fields" line of the trace file. */
static void tr_parse_line(struct tr_trace *t, const char *line)
{
	struct tr_event e = { 0 };
	const char *p = strstr(line, ": ksalloc_");
	char name[64], word[16];
	int type, ok = 0;
	size_t len;

	if (strstr(line, "LOST") && strstr(line, "EVENTS"))
		t->lost++;
	if (!p)
		return;
	p += 2;
	len = strcspn(p, ":");
	if (len >= sizeof(name) || p[len] != ':') {
		t->unparsed++;
		return;
	}
	memcpy(name, p, len);
	name[len] = 0;
	p += len + 1;
	for (type = 0; type < TR_TYPES; type++)
		if (!strcmp(name, tr_names[type]))
			break;
	e.type = type;
	switch (type) {
	case TR_CREATE:
		ok = sscanf(p, " allocator=%llu frames=%lld frame_size=%lld bytes=%lld",
			    &e.id, &e.v[0], &e.v[1], &e.v[2]) == 4;
		break;
	case TR_DESTROY:
		ok = sscanf(p, " allocator=%llu high_water=%lld", &e.id,
			    &e.v[0]) == 2;
		break;
	case TR_ALLOC:
	case TR_FREE:
		ok = sscanf(p, " allocator=%llu frame=%lld allocated=%lld",
			    &e.id, &e.v[0], &e.v[1]) == 3;
		break;
	case TR_WAIT_START:
		ok = sscanf(p, " allocator=%llu waiters=%lld", &e.id,
			    &e.v[0]) == 2;
		break;
	case TR_WAIT_END:
		ok = sscanf(p, " allocator=%llu ret=%lld", &e.id, &e.v[0]) == 2;
		break;
	case TR_RESET:
		ok = sscanf(p, " allocator=%llu %15s", &e.id, word) == 2 &&
		     (!strcmp(word, "begin") || !strcmp(word, "end"));
		e.v[0] = ok && !strcmp(word, "begin");
		break;
	}
	if (!ok || t->n == MAX_EVENTS) {
		t->unparsed++;
		return;
	}
	t->ev[t->n++] = e;
	t->count[type]++;
}

/* @fn on every line of the trace but its comments; 0 or -errno */
static int tr_each_line(const char *dir,
			void (*fn)(void *arg, const char *line), void *arg)
{
	char path[256], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", dir);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '#')
			fn(arg, line);
	fclose(f);
	return 0;
}

static void tr_parse_arg(void *t, const char *line)
{
	tr_parse_line(t, line);
}

/* Read and parse the whole trace; 0 or -errno */
static int tr_read(const char *dir, struct tr_trace *t)
{
	memset(t, 0, sizeof(*t));
	return tr_each_line(dir, tr_parse_arg, t);
}

/* The @nth (from 0) event of @type, or NULL */
static const struct tr_event *tr_nth(const struct tr_trace *t,
				     enum tr_type type, int nth)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (t->ev[i].type == type && !nth--)
			return &t->ev[i];
	return NULL;
}

/* Position of the @nth event of @type in the trace, or -1 */
static int tr_pos(const struct tr_trace *t, enum tr_type type, int nth)
{
	const struct tr_event *e = tr_nth(t, type, nth);

	return e ? (int)(e - t->ev) : -1;
}

/* Sum over events of @type of field @k, for order-free comparisons */
static long long tr_sum(const struct tr_trace *t, enum tr_type type, int k)
{
	long long s = 0;
	int i;

	for (i = 0; i < t->n; i++)
		if (t->ev[i].type == type)
			s += t->ev[i].v[k];
	return s;
}

/* Events of @type with field @k equal to @val */
static int tr_count_val(const struct tr_trace *t, enum tr_type type, int k,
			long long val)
{
	int i, n = 0;

	for (i = 0; i < t->n; i++)
		if (t->ev[i].type == type && t->ev[i].v[k] == val)
			n++;
	return n;
}

/* Events that name another allocator than @id */
static int tr_foreign(const struct tr_trace *t, unsigned long long id)
{
	int i, n = 0;

	for (i = 0; i < t->n; i++)
		if (t->ev[i].id != id)
			n++;
	return n;
}

FIXTURE(tr)
{
	const char *dir;
	int tracing_on;		/* to restore; -1: not touched */
	int record_cmd;		/* options/record-cmd, the same */
	int pin;
	int fd;
	struct ksalloc_allocator_info info;
	struct tr_trace trace;
};

FIXTURE_SETUP(tr)
{
	char path[256];
	cpu_set_t cpus;

	self->tracing_on = self->record_cmd = -1;
	self->pin = self->fd = -1;
	self->dir = tr_find_tracefs();
	if (!self->dir)
		SKIP(return, "no tracefs at /sys/kernel/tracing or /sys/kernel/debug/tracing");
	snprintf(path, sizeof(path), "%s/events/ksalloc/enable", self->dir);
	ASSERT_EQ(0, access(path, W_OK)) {
		TH_LOG("%s: %s (no ksalloc tracepoints?)", path, strerror(errno));
	}

	/* One CPU, one ring buffer: the events come back in order. */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));

	ASSERT_EQ(0, tr_write(self->dir, "events/ksalloc/enable", "0"));
	ASSERT_EQ(0, tr_write(self->dir, "trace", ""));
	self->tracing_on = tr_read_int(self->dir, "tracing_on");
	ASSERT_EQ(0, tr_write(self->dir, "tracing_on", "1"));
	/*
	 * With record-cmd on, enabling the first event also hooks
	 * sched_switch, live-patching __schedule() on every CPU; under
	 * QEMU TCG with two vCPUs that once left the other vCPU spinning at
	 * the patched site. The tests need no comms: leave it off.
	 */
	self->record_cmd = tr_read_int(self->dir, "options/record-cmd");
	if (self->record_cmd >= 0)
		ASSERT_EQ(0, tr_write(self->dir, "options/record-cmd", "0"));
	ASSERT_EQ(0, tr_write(self->dir, "events/ksalloc/enable", "1"));

	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin);
}

FIXTURE_TEARDOWN(tr)
{
	char val[16];

	if (self->fd >= 0)
		close(self->fd);
	if (self->pin >= 0)
		close(self->pin);
	if (!self->dir)
		return;
	tr_write(self->dir, "events/ksalloc/enable", "0");
	tr_write(self->dir, "trace", "");
	if (self->tracing_on >= 0) {
		snprintf(val, sizeof(val), "%d", self->tracing_on);
		tr_write(self->dir, "tracing_on", val);
	}
	if (self->record_cmd >= 0) {
		snprintf(val, sizeof(val), "%d", self->record_cmd);
		tr_write(self->dir, "options/record-cmd", val);
	}
}

/* The 6.1 harness runs the body after a SKIP in the setup: stop it here. */
#define TR_BODY_START() do { if (_metadata->skip) return; } while (0)

/* Stop tracing our events and parse what was recorded. */
#define TR_COLLECT() do {						\
	ASSERT_EQ(0, tr_write(self->dir, "events/ksalloc/enable", "0"));	\
	ASSERT_EQ(0, tr_read(self->dir, &self->trace));			\
	EXPECT_EQ(0, self->trace.unparsed);				\
	EXPECT_EQ(0, self->trace.lost);					\
} while (0)

static void tr_dump(struct __test_metadata *_metadata,
		    const struct tr_trace *t)
{
	int i;

	for (i = 0; i < t->n; i++)
		TH_LOG("  %s allocator=%llu %lld %lld %lld",
		       tr_names[t->ev[i].type], t->ev[i].id, t->ev[i].v[0],
		       t->ev[i].v[1], t->ev[i].v[2]);
}

TEST_F(tr, events_listed)
{
	char path[256], buf[4096];
	unsigned int i;
	ssize_t len;
	int fd;

	TR_BODY_START();
	for (i = 0; i < TR_TYPES; i++) {
		snprintf(path, sizeof(path), "%s/events/ksalloc/%s/format",
			 self->dir, tr_names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		EXPECT_LE(0, fd) {
			TH_LOG("%s: %s", path, strerror(errno));
		}
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		ASSERT_LT(0, len);
		buf[len] = 0;
		EXPECT_NE(NULL, strstr(buf, "field:u64 id;")) {
			TH_LOG("%s: no u64 id field", tr_names[i]);
		}
	}
}

/*
 * create; 3 ALLOC; a refused non-blocking ALLOC and a refused FREE (no
 * events); a blocked ALLOC woken by a FREE; 3 FREE; KSRESET_BEGIN with a
 * refused ALLOC, KSRESET_END; close.
 */
TEST_F(tr, sequence)
{
	const struct tr_trace *t = &self->trace;
	struct kst_allocer w;
	__u64 off[3];
	int i, fl;

	TR_BODY_START();
	self->fd = ksa_create(self->pin, 3, ksa_page_size(), 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ksa_info(self->fd, &self->info));

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, ksa_alloc(self->fd, &off[i]));
	fl = fcntl(self->fd, F_GETFL);
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(-EAGAIN, ksa_alloc(self->fd, &off[0]));
	ASSERT_EQ(0, fcntl(self->fd, F_SETFL, fl));
	EXPECT_EQ(-EINVAL, ksa_free(self->fd, 7 * ksa_page_size()));

	ASSERT_EQ(0, kst_allocer_start(&w, self->fd));
	if (!ksa_wait_waiters(self->fd, 1)) {
		ksa_reset(self->fd, KSRESET_BEGIN);	/* let the thread go */
		pthread_join(w.thread, NULL);
		ASSERT_TRUE(0) {
			TH_LOG("the ALLOC never slept");
		}
	}
	EXPECT_EQ(0, ksa_free(self->fd, off[1]));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	ASSERT_EQ(0, w.ret);
	ASSERT_EQ(off[1], w.offset);

	EXPECT_EQ(0, ksa_free(self->fd, off[0]));
	EXPECT_EQ(0, ksa_free(self->fd, off[2]));
	EXPECT_EQ(0, ksa_free(self->fd, w.offset));

	EXPECT_EQ(0, ksa_reset(self->fd, KSRESET_BEGIN));
	EXPECT_EQ(-ECANCELED, ksa_alloc(self->fd, &off[0]));
	EXPECT_EQ(0, ksa_reset(self->fd, KSRESET_END));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;

	TR_COLLECT();
	EXPECT_EQ(14, t->n) {
		tr_dump(_metadata, t);
	}
	EXPECT_EQ(0, tr_foreign(t, self->info.id)) {
		TH_LOG("events of another allocator than %llu",
		       (unsigned long long)self->info.id);
		tr_dump(_metadata, t);
	}

	EXPECT_EQ(1, t->count[TR_CREATE]);
	EXPECT_EQ(1, t->count[TR_DESTROY]);
	EXPECT_EQ(4, t->count[TR_ALLOC]);
	EXPECT_EQ(4, t->count[TR_FREE]);
	EXPECT_EQ(1, t->count[TR_WAIT_START]);
	EXPECT_EQ(1, t->count[TR_WAIT_END]);
	EXPECT_EQ(2, t->count[TR_RESET]);

	/* The allocator's life frames everything else */
	EXPECT_EQ(0, tr_pos(t, TR_CREATE, 0));
	EXPECT_EQ(t->n - 1, tr_pos(t, TR_DESTROY, 0));
	if (tr_nth(t, TR_CREATE, 0)) {
		EXPECT_EQ(3, tr_nth(t, TR_CREATE, 0)->v[0]);
		EXPECT_EQ(ksa_page_size(), tr_nth(t, TR_CREATE, 0)->v[1]);
		EXPECT_EQ(self->info.bytes_held, tr_nth(t, TR_CREATE, 0)->v[2]);
	}
	if (tr_nth(t, TR_DESTROY, 0))
		EXPECT_EQ(3, tr_nth(t, TR_DESTROY, 0)->v[0]);

	/* The three ALLOCs in order, frames 0, 1, 2 */
	for (i = 0; i < 3 && tr_nth(t, TR_ALLOC, i); i++) {
		EXPECT_EQ(i, tr_nth(t, TR_ALLOC, i)->v[0]);
		EXPECT_EQ(i + 1, tr_nth(t, TR_ALLOC, i)->v[1]);
	}
	/*
	 * The woken ALLOC gets the freed frame 1 with the count unchanged
	 * (handed over, never free); which of the freeing and the woken
	 * thread records first is up to the scheduler, so compare sums.
	 */
	EXPECT_EQ(0 + 1 + 2 + 1, tr_sum(t, TR_ALLOC, 0));
	EXPECT_EQ(2, tr_count_val(t, TR_ALLOC, 1, 3));
	EXPECT_EQ(1 + 0 + 2 + 1, tr_sum(t, TR_FREE, 0));
	EXPECT_EQ(3 + 2 + 1 + 0, tr_sum(t, TR_FREE, 1));
	EXPECT_EQ(1, tr_count_val(t, TR_FREE, 1, 0));

	if (tr_nth(t, TR_WAIT_START, 0) && tr_nth(t, TR_WAIT_END, 0)) {
		EXPECT_EQ(1, tr_nth(t, TR_WAIT_START, 0)->v[0]);
		EXPECT_EQ(0, tr_nth(t, TR_WAIT_END, 0)->v[0]);
		EXPECT_LT(tr_pos(t, TR_ALLOC, 2), tr_pos(t, TR_WAIT_START, 0));
		EXPECT_LT(tr_pos(t, TR_WAIT_START, 0), tr_pos(t, TR_WAIT_END, 0));
		EXPECT_LT(tr_pos(t, TR_WAIT_END, 0), tr_pos(t, TR_ALLOC, 3));
	}
	if (t->count[TR_RESET] == 2) {
		EXPECT_EQ(1, tr_nth(t, TR_RESET, 0)->v[0]);
		EXPECT_EQ(0, tr_nth(t, TR_RESET, 1)->v[0]);
		EXPECT_LT(tr_pos(t, TR_FREE, 3), tr_pos(t, TR_RESET, 0));
	}
}

/* A sleeper sent away by KSRESET_BEGIN: its wait ends with -ECANCELED. */
TEST_F(tr, wait_cancelled_by_reset)
{
	const struct tr_trace *t = &self->trace;
	struct kst_allocer w;
	__u64 off;

	TR_BODY_START();
	self->fd = ksa_create(self->pin, 1, ksa_page_size(), 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ksa_info(self->fd, &self->info));
	ASSERT_EQ(0, ksa_alloc(self->fd, &off));
	ASSERT_EQ(0, kst_allocer_start(&w, self->fd));
	EXPECT_TRUE(ksa_wait_waiters(self->fd, 1));
	EXPECT_EQ(0, ksa_reset(self->fd, KSRESET_BEGIN));
	ASSERT_EQ(0, pthread_join(w.thread, NULL));
	EXPECT_EQ(-ECANCELED, w.ret);
	EXPECT_EQ(0, ksa_reset(self->fd, KSRESET_END));
	EXPECT_EQ(0, ksa_free(self->fd, off));

	TR_COLLECT();
	EXPECT_EQ(0, tr_foreign(t, self->info.id));
	EXPECT_EQ(1, t->count[TR_CREATE]);
	EXPECT_EQ(1, t->count[TR_ALLOC]);
	EXPECT_EQ(1, t->count[TR_FREE]);
	EXPECT_EQ(1, t->count[TR_WAIT_START]);
	EXPECT_EQ(1, t->count[TR_WAIT_END]);
	EXPECT_EQ(2, t->count[TR_RESET]);
	EXPECT_EQ(0, t->count[TR_DESTROY]);	/* still open */
	EXPECT_EQ(7, t->n);
	if (tr_nth(t, TR_WAIT_END, 0))
		EXPECT_EQ(-ECANCELED, tr_nth(t, TR_WAIT_END, 0)->v[0]);
	EXPECT_LT(tr_pos(t, TR_RESET, 0), tr_pos(t, TR_WAIT_END, 0));
}

/* destroy comes with the last reference, not with the creator's close. */
TEST_F(tr, destroy_at_last_reference)
{
	const struct tr_trace *t = &self->trace;

	TR_BODY_START();
	self->fd = ksa_create(self->pin, 2, ksa_page_size(), 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ksa_info(self->fd, &self->info));
	ASSERT_EQ(0, ksa_pin_set_allocator(self->pin, self->fd));
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;

	ASSERT_EQ(0, tr_read(self->dir, &self->trace));
	EXPECT_EQ(1, t->count[TR_CREATE]);
	EXPECT_EQ(0, t->count[TR_DESTROY]);

	ASSERT_EQ(0, close(self->pin));
	self->pin = -1;
	TR_COLLECT();
	EXPECT_EQ(1, t->count[TR_CREATE]);
	EXPECT_EQ(1, t->count[TR_DESTROY]);
	EXPECT_EQ(0, tr_foreign(t, self->info.id));
	EXPECT_EQ(2, t->n);
}

/* Frames a kernel driver takes and frees are traced like user ones. */
TEST_F(tr, kernel_client_traced)
{
	const struct tr_trace *t = &self->trace;
	struct ksalloc_client_attach at = { .fd = -1 };
	struct ksalloc_client_frame frames[2];
	struct ksalloc_client_fill fill = {
		.count = 2,
		.flags = KSALLOC_CLIENT_NOWAIT,
		.frames = (uintptr_t)frames,
	};
	struct ksalloc_client_free fr = { .count = 2 };
	__u64 offsets[2];
	int cfd;

	TR_BODY_START();
	if (access(KSALLOC_CLIENT_DEV, F_OK))
		SKIP(return, "%s absent: ksalloc_client.ko not loaded",
		     KSALLOC_CLIENT_DEV);
	self->fd = ksa_create(self->pin, 2, ksa_page_size(), 0);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ksa_info(self->fd, &self->info));
	cfd = open(KSALLOC_CLIENT_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, cfd);
	at.fd = self->fd;
	ASSERT_EQ(0, ioctl(cfd, KSALLOC_CLIENT_ATTACH, &at));
	ASSERT_EQ(0, ioctl(cfd, KSALLOC_CLIENT_FILL, &fill));
	offsets[0] = frames[0].offset;
	offsets[1] = frames[1].offset;
	fr.offsets = (uintptr_t)offsets;
	ASSERT_EQ(0, ioctl(cfd, KSALLOC_CLIENT_FREE, &fr));
	close(cfd);

	TR_COLLECT();
	EXPECT_EQ(0, tr_foreign(t, self->info.id));
	EXPECT_EQ(1, t->count[TR_CREATE]);
	EXPECT_EQ(2, t->count[TR_ALLOC]);
	EXPECT_EQ(2, t->count[TR_FREE]);
	EXPECT_EQ(0, t->count[TR_DESTROY]);	/* the user's fd holds it */
	EXPECT_EQ(5, t->n);
}

/* ---- eventfd signalling, seen by the function tracer ---- */

/*
 * What the function tracer saw of eventfd_signal_mask() called from
 * ksalloc: every eventfd signal goes through it (eventfd_signal() is an
 * inline wrapper from 6.8 on, and jumps to it before).
 */
struct fn_calls {
	int calls;		/* calls whose caller is a ksalloc function */
	int irqs_off;		/* of those, with interrupts disabled */
	int lost;
};

/*
 * Lines look like "  <...>-123  [000] d..1.  12.345678:
 * eventfd_signal_mask <-ksa_events_deliver [ksalloc]": the first flag is
 * 'd' (or 'D') when interrupts were disabled at the call.
 */
static void fn_parse_line(void *arg, const char *line)
{
	struct fn_calls *c = arg;
	const char *p, *q;

	if (strstr(line, "LOST") && strstr(line, "EVENTS"))
		c->lost++;
	p = strstr(line, ": eventfd_signal_mask <-");
	q = strstr(line, "<-ksa_");
	if (!p || !q || q < p)
		return;
	c->calls++;
	p = strstr(line, "] ");
	if (p && (p[2] == 'd' || p[2] == 'D'))
		c->irqs_off++;
}

static int fn_read(const char *dir, struct fn_calls *c)
{
	memset(c, 0, sizeof(*c));
	return tr_each_line(dir, fn_parse_line, c);
}

/* Before 6.8, eventfd_signal() adds a count in one call. */
static int kernel_has_signal_count(void)
{
	struct utsname u;
	int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return -1;
	return major < 6 || (major == 6 && minor < 8);
}

FIXTURE(fn)
{
	const char *dir;
	char tracer[64];	/* current_tracer to restore, "" if untouched */
	int tracing_on;		/* to restore; -1: not touched */
	int record_cmd;
	int pin, fd, efd[2];
};

FIXTURE_SETUP(fn)
{
	char path[256], buf[4096];
	cpu_set_t cpus;
	int i;

	self->tracer[0] = 0;
	self->tracing_on = self->record_cmd = -1;
	self->pin = self->fd = self->efd[0] = self->efd[1] = -1;
	self->dir = tr_find_tracefs();
	if (!self->dir)
		SKIP(return, "no tracefs");
	snprintf(path, sizeof(path), "%s/available_tracers", self->dir);
	if (kst_read_str(path, buf, sizeof(buf)) || !strstr(buf, "function"))
		SKIP(return, "no function tracer");

	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &cpus);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpus), &cpus));

	snprintf(path, sizeof(path), "%s/current_tracer", self->dir);
	ASSERT_EQ(0, kst_read_str(path, self->tracer, sizeof(self->tracer)));
	/* As in the tr fixture: no sched_switch hook (see there). */
	self->record_cmd = tr_read_int(self->dir, "options/record-cmd");
	if (self->record_cmd >= 0)
		ASSERT_EQ(0, tr_write(self->dir, "options/record-cmd", "0"));
	ASSERT_EQ(0, tr_write(self->dir, "set_ftrace_filter", "eventfd_signal_mask"));
	snprintf(buf, sizeof(buf), "%d", getpid());
	ASSERT_EQ(0, tr_write(self->dir, "set_ftrace_pid", buf));
	self->tracing_on = tr_read_int(self->dir, "tracing_on");
	ASSERT_EQ(0, tr_write(self->dir, "tracing_on", "1"));

	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin);
	for (i = 0; i < 2; i++) {
		self->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ASSERT_LE(0, self->efd[i]);
	}
}

FIXTURE_TEARDOWN(fn)
{
	char val[16];
	int i;

	for (i = 0; i < 2; i++)
		if (self->efd[i] >= 0)
			close(self->efd[i]);
	if (self->fd >= 0)
		close(self->fd);
	if (self->pin >= 0)
		close(self->pin);
	if (!self->dir)
		return;
	if (self->tracer[0])
		tr_write(self->dir, "current_tracer", self->tracer);
	if (self->tracing_on >= 0) {
		snprintf(val, sizeof(val), "%d", self->tracing_on);
		tr_write(self->dir, "tracing_on", val);
	}
	tr_write(self->dir, "set_ftrace_filter", "");
	tr_write(self->dir, "set_ftrace_pid", "");
	tr_write(self->dir, "trace", "");
	if (self->record_cmd >= 0) {
		snprintf(val, sizeof(val), "%d", self->record_cmd);
		tr_write(self->dir, "options/record-cmd", val);
	}
}

/*
 * A free signals its events after the event lock is dropped: no eventfd
 * signal from ksalloc has interrupts disabled (they used to run under the
 * IRQ-safe lock). Where eventfd_signal() takes a count,
 * there is one call per event and free request whatever the adjustment;
 * without it (6.8 on), one per unit added.
 *
 * Two semaphore events at adjustment 3; a BATCH_FREE of 4 frames, then a
 * direct FREE of one: 2 + 2 calls, or 2 * 4 * 3 + 2 * 3 = 30.
 */
TEST_F(fn, eventfd_signalled_with_irqs_on)
{
	static const struct ksguid batch_set = KSMETHODSETID_KsallocBatch;
	struct ksalloc_batch_method m;
	struct kseventdata ed[2];
	struct fn_calls c;
	__u64 off[4], one;
	int i, has_count;

	TR_BODY_START();
	has_count = kernel_has_signal_count();
	ASSERT_LE(0, has_count);
	self->fd = ksa_create(self->pin, 4, ksa_page_size(), 0);
	ASSERT_LE(0, self->fd);
	for (i = 0; i < 2; i++) {
		ksa_semaphore_handle(&ed[i], self->efd[i], 3);
		ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE,
					      &ed[i]));
	}
	memset(&m, 0, sizeof(m));
	m.method = ksa_ident(&batch_set, KSMETHOD_KSALLOC_BATCH_ALLOC,
			     KSMETHOD_TYPE_WRITE);
	m.count = 4;
	m.flags = KSALLOC_BATCHF_ALL_OR_NOTHING;
	ASSERT_EQ(0, ksa_ioctl(self->fd, IOCTL_KS_METHOD, &m, sizeof(m), off,
			       sizeof(off), 0, NULL));

	ASSERT_EQ(0, tr_write(self->dir, "trace", ""));
	ASSERT_EQ(0, tr_write(self->dir, "current_tracer", "function"));
	m.method.id = KSMETHOD_KSALLOC_BATCH_FREE;
	m.method.flags = KSMETHOD_TYPE_READ;
	m.flags = 0;
	EXPECT_EQ(0, ksa_ioctl(self->fd, IOCTL_KS_METHOD, &m, sizeof(m), off,
			       sizeof(off), 0, NULL));
	EXPECT_EQ(0, ioctl(self->fd, IOCTL_KSALLOC_ALLOC_FRAME, &one));
	EXPECT_EQ(0, ioctl(self->fd, IOCTL_KSALLOC_FREE_FRAME, &one));
	/* Another tracer would empty the buffer: stop recording first. */
	ASSERT_EQ(0, tr_write(self->dir, "tracing_on", "0"));
	ASSERT_EQ(0, fn_read(self->dir, &c));
	for (i = 0; i < 2; i++)
		EXPECT_EQ(5 * 3, ksa_eventfd_take(self->efd[i]));
	EXPECT_EQ(0, c.lost);
	EXPECT_EQ(has_count ? 4 : 30, c.calls);
	EXPECT_EQ(0, c.irqs_off) {
		TH_LOG("%d of %d eventfd signals from ksalloc had IRQs off",
		       c.irqs_off, c.calls);
	}
}

TEST_HARNESS_MAIN
