// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc-bench: what a frame costs through ksalloc, against what the same
 * machine charges for the nearest thing it can do anyway.
 *
 * Under an emulator (QEMU TCG) absolute times say little, so every figure
 * is paired with a baseline measured in the same run: each round measures
 * the case and its baseline back to back (alternating which goes first),
 * and the result is the median over the rounds of the case, of the
 * baseline and of their per-round ratio.
 *
 * With -i the guest runs under QEMU's -icount shift=0,sleep=off: its clock
 * advances one nanosecond per guest instruction and skips idle time, so a
 * "time" is a count of guest instructions, the same from run to run
 * whatever the host's load (it leaves out cache and pipeline effects).
 *
 * Output: a table on stdout, then the same rows as CSV and as JSON between
 * marker lines (KSA-BENCH-CSV-BEGIN/END, KSA-BENCH-JSON-BEGIN/END) that
 * the host script cuts out of the VM's console. With -g, a function_graph
 * trace of one call of each kind follows (KSA-BENCH-TRACE-BEGIN/END).
 *
 * Usage: ksalloc-bench [-i] [-r ROUNDS] [-t MS] [-s STRUCT-SIZES] [-g] [-q]
 *                      [-k KEYS] [-x KEYS]
 *   -i  the clock counts guest instructions (QEMU -icount shift=0): the
 *       figures are instructions; 3 rounds of 5 M instructions by default
 *   -r  rounds per figure (default 7)
 *   -t  target duration of one measurement in ms (default 40)
 *   -s  file of "name size" lines (struct sizes taken from the module's
 *       debug info on the host) for the computed memory figures
 *   -g  trace one call of each kind with ftrace's function_graph (refused
 *       with more than one CPU: patching live kernel text while another
 *       vCPU runs it is not safe under TCG)
 *   -q  quick: 3 rounds of 10 ms (a smoke test, figures are rough)
 *   -k  only the figures whose key starts with one of KEYS (comma list)
 *   -x  none of the figures whose key starts with one of KEYS
 * Exit: 0 when every case ran or was skipped; targets are reported, not
 * asserted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <liburing.h>
#include <linux/dma-heap.h>
#include <linux/futex.h>
#include <linux/udmabuf.h>
#include <linux/videodev2.h>
#include <linux/dma-buf.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include <linux/ksalloc.h>

#define KSA_DEV		"/dev/ksalloc"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define FRAME_SIZE	4096
/* Frames of the allocator the single-call cases use: the most allowed by
 * default, so that the clock is read once per 1024 calls. */
#define BLOCK		1024
#define MAX_ROUNDS	31
/* Seconds one figure (all its rounds) may take */
#define WATCHDOG_S	240

/*
 * An ioctl number the allocator does not know: the dispatcher's switch
 * sends it back with -ENOTTY before touching anything, so it costs the
 * system call, the fd lookup, the LSM hook and the indirect call only.
 */
#define KSB_NULL_IOCTL	_IOWR(KS_IOCTL_TYPE, 0x3f, struct ks_ioctl_args)

/*
 * The DRM requests of the vgem case. The uapi of drm.h and drm_mode.h
 * (stable ABI) is repeated here so that the benchmark builds with the libc
 * headers alone.
 */
struct drm_version {
	int version_major, version_minor, version_patchlevel;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};

struct drm_gem_close {
	uint32_t handle;
	uint32_t pad;
};

struct drm_prime_handle {
	uint32_t handle;
	uint32_t flags;
	int32_t fd;
};

struct drm_mode_create_dumb {
	uint32_t height, width, bpp, flags;
	uint32_t handle, pitch;
	uint64_t size;
};

#define DRM_IOCTL_VERSION		_IOWR('d', 0x00, struct drm_version)
#define DRM_IOCTL_GEM_CLOSE		_IOW('d', 0x09, struct drm_gem_close)
#define DRM_IOCTL_PRIME_HANDLE_TO_FD	_IOWR('d', 0x2d, struct drm_prime_handle)
#define DRM_IOCTL_MODE_CREATE_DUMB	_IOWR('d', 0xb2, struct drm_mode_create_dumb)
#define DRM_RDWR			O_RDWR

_Static_assert(sizeof(struct drm_mode_create_dumb) == 32, "drm_mode_create_dumb");
_Static_assert(sizeof(struct drm_prime_handle) == 12, "drm_prime_handle");

static const struct ksguid g_methods = KSMETHODSETID_StreamAllocator;
static const struct ksguid g_batch = KSMETHODSETID_KsallocBatch;
static const struct ksguid g_name_allocator = KSNAME_Allocator;
/* A set no object has: the request fails at the set lookup. */
static const struct ksguid g_unknown = {
	{ { 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
	    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a } } };

static int g_rounds = 7;
static double g_target_ns = 40e6;
static const char *g_only, *g_except;
static int g_icount;		/* the clock counts instructions */
static const char *g_sizes_file;
static int g_trace;
static int g_ncpus;
static double g_clock_ns;	/* one clock_gettime(), subtracted per block */

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * Every run function times its operations in short batches (about SUB
 * system calls); a measurement's value is the median batch, per operation.
 * A batch hit by a host-side preemption of the vCPU or a timer interrupt
 * is then an outlier rather than part of the mean.
 */
#define SUB		64
#define MAX_BATCHES	(1 << 16)
static double g_bt[MAX_BATCHES];	/* ns per operation, per batch */
static int g_nb;

/* End the batch of @ops operations begun at @t0; its ns */
static double batch_end(double t0, long ops)
{
	double dt = now_ns() - t0 - g_clock_ns;

	if (g_nb < MAX_BATCHES && ops > 0)
		g_bt[g_nb++] = dt / ops;
	return dt;
}

/* In a loop: close a batch every @per operations (and at the last one) */
#define BATCH_STEP(i, n, per, inb, t, t0)				\
	do {								\
		if (++(inb) == (per) || (i) + 1 == (n)) {		\
			(t) += batch_end((t0), (inb));			\
			(inb) = 0;					\
			(t0) = now_ns();				\
		}							\
	} while (0)

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ksalloc-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts @v */
static double median_inplace(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n & 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static int ks_ioctl(int fd, unsigned long cmd, const void *in, uint32_t in_size,
		    void *out, uint32_t out_size, uint32_t open_flags,
		    uint32_t *returned)
{
	struct ks_ioctl_args a = {
		.in_buffer = (uintptr_t)in,
		.out_buffer = (uintptr_t)out,
		.in_size = in_size,
		.out_size = out_size,
		.open_flags = open_flags,
	};
	int ret = ioctl(fd, cmd, &a);

	if (returned)
		*returned = a.bytes_returned;
	return ret < 0 ? -errno : 0;
}

static struct ksidentifier ident(const struct ksguid *set, uint32_t id,
				 uint32_t flags)
{
	struct ksidentifier k;

	memset(&k, 0, sizeof(k));
	k.set = *set;
	k.id = id;
	k.flags = flags;
	return k;
}

static int open_pin(void)
{
	int fd = open(KSA_DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open %s: %s", KSA_DEV, strerror(errno));
	return fd;
}

/* A new allocator of @frames frames of @size bytes, or -errno. */
static int create_allocator(int pin, uint32_t frames, uint32_t size,
			    uint32_t open_flags)
{
	struct ksallocator_create c;
	int64_t handle = -1;
	int ret;

	memset(&c, 0, sizeof(c));
	c.object_type = g_name_allocator;
	c.framing.pool_type = KS_POOL_NONPAGED;
	c.framing.frames = frames;
	c.framing.frame_size = size;
	ret = ks_ioctl(pin, IOCTL_KS_CREATE, &c, sizeof(c), &handle,
		       sizeof(handle), open_flags | O_CLOEXEC, NULL);
	return ret ? ret : (int)handle;
}

static int must_create(int pin, uint32_t frames, uint32_t open_flags)
{
	int fd = create_allocator(pin, frames, FRAME_SIZE, open_flags);

	if (fd < 0)
		die("IOCTL_KS_CREATE (%u frames): %s", frames, strerror(-fd));
	return fd;
}

/* The requests of the hot path, built once (as a real client would). */
static struct ksidentifier m_alloc, m_free;

static inline int ks_alloc(int fd, uint64_t *off)
{
	return ks_ioctl(fd, IOCTL_KS_METHOD, &m_alloc, sizeof(m_alloc), off,
			sizeof(*off), 0, NULL);
}

static inline int ks_free(int fd, uint64_t off)
{
	return ks_ioctl(fd, IOCTL_KS_METHOD, &m_free, sizeof(m_free), &off,
			sizeof(off), 0, NULL);
}

/* The direct calls: the same frames without the request framing */
static inline int ks_alloc_direct(int fd, uint64_t *off)
{
	return ioctl(fd, IOCTL_KSALLOC_ALLOC_FRAME, off) ? -errno : 0;
}

static inline int ks_free_direct(int fd, uint64_t off)
{
	return ioctl(fd, IOCTL_KSALLOC_FREE_FRAME, &off) ? -errno : 0;
}

static inline int ks_batch(int fd, uint32_t id, uint64_t *offs, uint32_t n)
{
	struct ksalloc_batch_method m;
	uint32_t ret = 0;
	int err;

	memset(&m, 0, sizeof(m));
	m.method = ident(&g_batch, id, KSMETHOD_TYPE_SEND);
	m.count = n;
	err = ks_ioctl(fd, IOCTL_KS_METHOD, &m, sizeof(m), offs,
		       n * sizeof(*offs), 0, &ret);
	if (!err && id == KSMETHOD_KSALLOC_BATCH_ALLOC && ret != n * 8)
		err = -ENOSPC;
	return err;
}

/* Free @n frames at @offs, 64 per call (untimed clean-up). */
static int free_all(int fd, uint64_t *offs, uint32_t n)
{
	uint32_t i, k;
	int ret;

	for (i = 0; i < n; i += k) {
		k = n - i < KSALLOC_BATCH_MAX ? n - i : KSALLOC_BATCH_MAX;
		ret = ks_batch(fd, KSMETHOD_KSALLOC_BATCH_FREE, offs + i, k);
		if (ret)
			return ret;
	}
	return 0;
}

/* FUTEX_WAIT calls that went to sleep, and all of them */
static atomic_long g_futex_slept, g_futex_waits;

static long sys_futex(_Atomic uint32_t *uaddr, int op, uint32_t val)
{
	long ret = syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);

	if (op == FUTEX_WAIT) {
		atomic_fetch_add(&g_futex_waits, 1);
		if (!ret)
			atomic_fetch_add(&g_futex_slept, 1);
	}
	return ret;
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void unpin(void)
{
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	for (i = 0; i < g_ncpus; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* ------------------------------------------------------------------ */
/* Results                                                              */

enum status { ST_INFO, ST_MET, ST_MISSED, ST_SKIP, ST_ERROR };
static const char *const status_name[] = { "", "met", "MISSED", "skip", "ERROR" };

struct row {
	char key[40];
	char label[72];
	char unit[12];		/* what value is per: op, pair, frame, ... */
	double value;		/* ns per unit (or bytes for memory rows) */
	double vmin, vmax;	/* over the rounds */
	char base_key[40];
	double base;		/* the baseline's ns per its unit */
	double ratio;		/* median of the per-round value / base */
	char target_op[4];	/* "<=", ">=" or "" */
	double target;
	enum status status;
	char note[120];
};

#define MAX_ROWS 96
static struct row rows[MAX_ROWS];
static int nrows;

static struct row *add_row(const char *key, const char *label, const char *unit)
{
	struct row *r;

	if (nrows == MAX_ROWS)
		die("too many rows");
	r = &rows[nrows++];
	memset(r, 0, sizeof(*r));
	snprintf(r->key, sizeof(r->key), "%s", key);
	snprintf(r->label, sizeof(r->label), "%s", label);
	snprintf(r->unit, sizeof(r->unit), "%s", unit);
	return r;
}

static void row_note(struct row *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->note, sizeof(r->note), fmt, ap);
	va_end(ap);
}

/* Does @key start with one of the comma-separated prefixes of @list? */
static int key_in(const char *key, const char *list)
{
	const char *p = list, *e;

	for (;;) {
		e = strchrnul(p, ',');
		if (e > p && !strncmp(key, p, e - p))
			return 1;
		if (!*e)
			return 0;
		p = e + 1;
	}
}

static int wanted(const char *key)
{
	return (!g_only || key_in(key, g_only)) &&
	       (!g_except || !key_in(key, g_except));
}

static struct row *find_row(const char *key)
{
	int i;

	for (i = 0; i < nrows; i++)
		if (!strcmp(rows[i].key, key))
			return &rows[i];
	return NULL;
}

static void set_target(struct row *r, const char *op, double target)
{
	snprintf(r->target_op, sizeof(r->target_op), "%s", op);
	r->target = target;
	if (r->status != ST_INFO)
		return;
	if (!strcmp(op, "<="))
		r->status = r->ratio <= target ? ST_MET : ST_MISSED;
	else
		r->status = r->ratio >= target ? ST_MET : ST_MISSED;
}

/* ------------------------------------------------------------------ */
/* Measurement                                                          */

/*
 * A measurable: run(ctx, n) does n operations and returns the nanoseconds
 * they took (set-up excluded), or a negative errno. Each operation counts
 * as @units units of the figure (frames of a batch, for instance).
 */
typedef double (*run_fn)(void *ctx, long n);

struct bench {
	const char *key;
	run_fn run;
	void *ctx;
	double units;		/* units per operation (default 1) */
	long min_n, max_n;	/* bounds of the operation count */
	long n;			/* calibrated operation count */
	double samples[MAX_ROUNDS];	/* ns per unit, per round */
	int err;
};

static double run_once(struct bench *b, long n)
{
	double t = b->run(b->ctx, n);

	if (t < 0 && !b->err)
		b->err = (int)t;
	return t;
}

/* Find an operation count that takes about g_target_ns. */
static int calibrate(struct bench *b)
{
	long n = b->min_n ? b->min_n : 16;
	long max = b->max_n ? b->max_n : 1L << 24;
	double t;

	if (b->n)
		return 0;
	if (run_once(b, n) < 0)	/* warm-up */
		return b->err;
	for (;;) {
		t = run_once(b, n);
		if (t < 0)
			return b->err;
		if (t >= g_target_ns / 4 || n >= max)
			break;
		n *= 4;
	}
	if (t > 0)
		n = (long)(n * (g_target_ns / t));
	if (n < (b->min_n ? b->min_n : 16))
		n = b->min_n ? b->min_n : 16;
	if (n > max)
		n = max;
	b->n = n;
	return 0;
}

/* One measurement: ns per unit, from the median batch if the run
 * function timed batches, else from its total. */
static double sample(struct bench *b)
{
	double units = b->units ? b->units : 1;
	double t;

	g_nb = 0;
	t = run_once(b, b->n);
	if (t < 0)
		return t;
	if (g_nb >= 3)
		return median_inplace(g_bt, g_nb) / units;
	return t / (b->n * units);
}

/*
 * Measure @c against @base in g_rounds interleaved rounds and fill @r. A
 * baseline measured before keeps its calibration; its samples of this
 * pairing are its own.
 */
static int compare(struct row *r, struct bench *c, struct bench *base)
{
	double ratios[MAX_ROUNDS], bs[MAX_ROUNDS];
	double cv, bv;
	int i;

	if (calibrate(c) || calibrate(base))
		goto error;
	for (i = 0; i < g_rounds; i++) {
		if (i & 1) {
			bv = sample(base);
			cv = sample(c);
		} else {
			cv = sample(c);
			bv = sample(base);
		}
		if (cv < 0 || bv < 0)
			goto error;
		c->samples[i] = cv;
		bs[i] = bv;
		ratios[i] = cv / bv;
	}
	r->value = median(c->samples, g_rounds);
	r->base = median(bs, g_rounds);
	r->ratio = median(ratios, g_rounds);
	r->vmin = r->vmax = c->samples[0];
	for (i = 1; i < g_rounds; i++) {
		if (c->samples[i] < r->vmin)
			r->vmin = c->samples[i];
		if (c->samples[i] > r->vmax)
			r->vmax = c->samples[i];
	}
	snprintf(r->base_key, sizeof(r->base_key), "%s", base->key);
	return 0;
error:
	r->status = ST_ERROR;
	row_note(r, "failed: %s", strerror(-(c->err ? c->err : base->err)));
	return -1;
}

/* A figure measured against a baseline, with an optional target. */
static const char *g_current;

/* A case that hangs must not hold the VM until its time limit. */
static void watchdog(int sig)
{
	char msg[128];
	int len;

	(void)sig;
	len = snprintf(msg, sizeof(msg), "ksalloc-bench: %s did not finish in %d s\n",
		       g_current, WATCHDOG_S);
	if (write(2, msg, len) < 0)
		_exit(3);
	_exit(3);
}

static struct row *figure(const char *key, const char *label, const char *unit,
			  struct bench *c, struct bench *base)
{
	struct row *r;

	if (!wanted(key))
		return NULL;
	r = add_row(key, label, unit);
	c->key = key;
	c->n = 0;
	c->err = 0;
	base->err = 0;
	g_current = key;
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG_S);
	compare(r, c, base);
	alarm(0);
	fprintf(stderr, "  %-28s %12.0f %s/%-6s x%.3f of %s%s%s\n", key, r->value,
		g_icount ? "instr" : "ns", r->unit, r->ratio, base->key, r->status == ST_ERROR ? " " : "",
		r->status == ST_ERROR ? r->note : "");
	return r;
}

static struct row *skipped(const char *key, const char *label,
			   const char *unit, const char *why)
{
	struct row *r;

	if (!wanted(key))
		return NULL;
	r = add_row(key, label, unit);
	r->status = ST_SKIP;
	row_note(r, "%s", why);
	return r;
}

/* ------------------------------------------------------------------ */
/* Single-thread cases                                                  */

struct fd_ctx {
	int fd;
	uint32_t batch;
	int mode;	/* what a combined loop times: 0 alloc, 1 free, 2 both */
	int direct;	/* IOCTL_KSALLOC_{ALLOC,FREE}_FRAME, not the methods */
	uint64_t *offs;
};

/* Null ioctls in timed batches */
static double run_null_ioctl(void *p, long n)
{
	struct fd_ctx *c = p;
	struct ks_ioctl_args a;
	double t = 0, t0;
	long i, k, j;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < n; i += k) {
		k = n - i < SUB ? n - i : SUB;
		t0 = now_ns();
		for (j = 0; j < k; j++)
			ioctl(c->fd, KSB_NULL_IOCTL, &a);
		t += batch_end(t0, k);
	}
	if (ioctl(c->fd, KSB_NULL_IOCTL, &a) != -1 || errno != ENOTTY)
		return -EPROTO;
	return t;
}

static double run_getppid(void *p, long n)
{
	double t = 0, t0;
	long i, k, j;

	(void)p;
	for (i = 0; i < n; i += k) {
		k = n - i < SUB ? n - i : SUB;
		t0 = now_ns();
		for (j = 0; j < k; j++)
			syscall(SYS_getppid);
		t += batch_end(t0, k);
	}
	return t;
}

/*
 * Requests that fail on purpose at a known point of the path: each stage
 * row costs what the one before it does plus one step of the dispatcher,
 * so the differences between them (exact in instructions) split the cost
 * of a call.
 */
struct stage {
	const char *key;
	const char *label;
	const char *from;	/* the stage this one extends */
	const char *adds;	/* what it adds to it */
	unsigned long cmd;	/* IOCTL_KS_METHOD, or a direct ioctl */
	int empty;		/* on the exhausted O_NONBLOCK allocator */
	const struct ksidentifier *id;
	uint32_t id_id, id_flags;	/* when id is NULL: g_methods */
	uint32_t in_size, out_size;
	uint64_t value;
	int reserved;		/* a reserved field set */
	int want;		/* the errno it fails with */
};

struct stage_ctx {
	int fd;
	const struct stage *st;
};

static double run_stage(void *p, long n)
{
	struct stage_ctx *c = p;
	const struct stage *st = c->st;
	struct ksidentifier id = st->id ? *st->id :
				 ident(&g_methods, st->id_id, st->id_flags);
	uint64_t value = st->value;
	struct ks_ioctl_args a = {
		.in_buffer = (uintptr_t)&id,
		.in_size = st->in_size,
		.out_buffer = (uintptr_t)&value,
		.out_size = st->out_size,
	};
	void *arg = st->cmd == IOCTL_KS_METHOD ? (void *)&a : (void *)&value;
	double t = 0, t0;
	long i, k, j;

	a.reserved[0] = st->reserved;
	for (i = 0; i < n; i += k) {
		k = n - i < SUB ? n - i : SUB;
		t0 = now_ns();
		for (j = 0; j < k; j++)
			ioctl(c->fd, st->cmd, arg);
		t += batch_end(t0, k);
	}
	if (ioctl(c->fd, st->cmd, arg) != -1 || errno != st->want)
		return -EPROTO;
	return t;
}

/* ALLOC (mode 0) or FREE (mode 1) alone: BLOCK frames are taken (or
 * returned) in timed batches of SUB calls, and the other half of the work
 * is done untimed with the batch methods. */
static double run_single(void *p, long n)
{
	struct fd_ctx *c = p;
	double t = 0, t0;
	long i, k, j, m;
	int ret;

	for (i = 0; i < n; i += k) {
		k = n - i < BLOCK ? n - i : BLOCK;
		if (c->mode == 0) {
			for (j = 0; j < k; j += m) {
				m = k - j < SUB ? k - j : SUB;
				t0 = now_ns();
				for (long x = j; x < j + m; x++)
					if (c->direct ?
					    ks_alloc_direct(c->fd, &c->offs[x]) :
					    ks_alloc(c->fd, &c->offs[x]))
						return -errno;
				t += batch_end(t0, m);
			}
			ret = free_all(c->fd, c->offs, k);
			if (ret)
				return ret;
			continue;
		}
		for (j = 0; j < k; j += KSALLOC_BATCH_MAX) {
			ret = ks_batch(c->fd, KSMETHOD_KSALLOC_BATCH_ALLOC, c->offs + j,
				       k - j < KSALLOC_BATCH_MAX ? k - j : KSALLOC_BATCH_MAX);
			if (ret)
				return ret;
		}
		for (j = 0; j < k; j += m) {
			m = k - j < SUB ? k - j : SUB;
			t0 = now_ns();
			for (long x = j; x < j + m; x++)
				if (c->direct ? ks_free_direct(c->fd, c->offs[x]) :
				    ks_free(c->fd, c->offs[x]))
					return -errno;
			t += batch_end(t0, m);
		}
	}
	return t;
}

/* ALLOC then FREE of the same frame, n times */
static double run_pair(void *p, long n)
{
	struct fd_ctx *c = p;
	double t = 0, t0;
	uint64_t off;
	long i, k, j;

	for (i = 0; i < n; i += k) {
		k = n - i < SUB / 2 ? n - i : SUB / 2;
		t0 = now_ns();
		for (j = 0; j < k; j++)
			if (c->direct ?
			    ks_alloc_direct(c->fd, &off) || ks_free_direct(c->fd, off) :
			    ks_alloc(c->fd, &off) || ks_free(c->fd, off))
				return -errno;
		t += batch_end(t0, k);
	}
	return t;
}

/* Batch calls of c->batch frames: mode 0 times the ALLOCs, 1 the FREEs
 * (a timed batch is about SUB frames, at least one call), 2 both (the
 * total: ALLOC and FREE per operation). */
static double run_batch(void *p, long n)
{
	struct fd_ctx *c = p;
	uint32_t per = BLOCK / c->batch;
	uint32_t sub = c->batch < SUB ? SUB / c->batch : 1;
	double t = 0, t0;
	long i, k, j, m;
	int ret, timed;

	for (i = 0; i < n; i += k) {
		k = n - i < per ? n - i : per;
		for (timed = 0; timed < 2; timed++) {
			uint32_t id = timed ? KSMETHOD_KSALLOC_BATCH_FREE
					    : KSMETHOD_KSALLOC_BATCH_ALLOC;
			int time_it = timed == c->mode;

			for (j = 0; j < k; j += m) {
				m = k - j < sub ? k - j : sub;
				t0 = now_ns();
				for (long x = j; x < j + m; x++) {
					ret = ks_batch(c->fd, id, c->offs + x * c->batch,
						       c->batch);
					if (ret)
						return ret;
				}
				if (time_it)
					t += batch_end(t0, m);
				else if (c->mode == 2)
					t += now_ns() - t0 - g_clock_ns;
			}
		}
	}
	return t;
}

/* ------------------------------------------------------------------ */
/* The user-space frame pool: a futex lock and direct hand-off to the    */
/* oldest waiter, as ksalloc does, in MAP_SHARED memory (usable across    */
/* processes, so the futexes are not process-private).                  */

#define UP_FRAMES	64
#define UP_WAITERS	16

struct upool {
	_Atomic uint32_t lock;	/* 0 free, 1 held, 2 held and contended */
	uint32_t nfree;
	uint32_t head, tail;	/* FIFO of waiter slots */
	_Atomic uint32_t grant[UP_WAITERS];	/* 0 waiting, else frame + 1 */
	uint32_t stack[UP_FRAMES];
};

static void up_lock(struct upool *p)
{
	uint32_t c = 0;

	if (atomic_compare_exchange_strong(&p->lock, &c, 1))
		return;
	if (c != 2)
		c = atomic_exchange(&p->lock, 2);
	while (c) {
		sys_futex(&p->lock, FUTEX_WAIT, 2);
		c = atomic_exchange(&p->lock, 2);
	}
}

static void up_unlock(struct upool *p)
{
	if (atomic_fetch_sub(&p->lock, 1) != 1) {
		atomic_store(&p->lock, 0);
		sys_futex(&p->lock, FUTEX_WAKE, 1);
	}
}

static uint32_t up_alloc(struct upool *p)
{
	uint32_t slot, g;

	up_lock(p);
	if (p->nfree) {
		g = p->stack[--p->nfree];
		up_unlock(p);
		return g;
	}
	slot = p->tail++ % UP_WAITERS;
	atomic_store(&p->grant[slot], 0);
	up_unlock(p);
	while (!(g = atomic_load(&p->grant[slot])))
		sys_futex(&p->grant[slot], FUTEX_WAIT, 0);
	return g - 1;
}

static void up_free(struct upool *p, uint32_t frame)
{
	uint32_t slot;

	up_lock(p);
	if (p->head != p->tail) {
		slot = p->head++ % UP_WAITERS;
		up_unlock(p);
		atomic_store(&p->grant[slot], frame + 1);
		sys_futex(&p->grant[slot], FUTEX_WAKE, 1);
		return;
	}
	p->stack[p->nfree++] = frame;
	up_unlock(p);
}

static struct upool *up_create(uint32_t frames)
{
	struct upool *p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint32_t i;

	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(p, 0, sizeof(*p));
	for (i = 0; i < frames; i++)
		p->stack[p->nfree++] = frames - 1 - i;
	return p;
}

static double run_upool_pair(void *ctx, long n)
{
	struct upool *p = ctx;
	double t = 0, t0 = now_ns();
	long i, inb = 0;

	for (i = 0; i < n; i++) {
		up_free(p, up_alloc(p));
		BATCH_STEP(i, n, SUB, inb, t, t0);
	}
	return t;
}

/* ------------------------------------------------------------------ */
/* Two-thread ping-pong: thread A passes a token to B and waits for it   */
/* to come back; one operation is one round trip (two wake-ups).        */

enum pp_kind {
	PP_EVENTFD,	/* A: write e1, read e2; B: read e1, write e2 */
	PP_EVENTFD_POLL,	/* the same with poll() and non-blocking reads */
	PP_KS_BLOCK,	/* A: FREE to a1, ALLOC from a2; B: ALLOC a1, FREE a2 */
	PP_KS_POLL,	/* the same with poll() and O_NONBLOCK ALLOC */
	PP_UPOOL,	/* the same with two user-space pools */
};

/*
 * Each direction has an object of its own (two eventfds, two allocators of
 * one frame, two pools of one frame), as in the classic eventfd ping-pong.
 * With one allocator for both directions, A's ALLOC could take back the
 * frame it just freed whenever B was not asleep yet, and A would run on
 * alone; with two, a frame only ever goes from one thread to the other.
 */
struct pp_ctx {
	enum pp_kind kind;
	int pinned;		/* 0 where the scheduler puts them, 1 both
				 * threads on CPU 0, 2 A on CPU 0 and B on 1 */
	int pin;		/* ksalloc pin for the allocators */
	int a, b;		/* the two fds: eventfds or allocators */
	struct upool *up, *up2;
	long n;
	pthread_barrier_t bar;
	volatile int err;	/* B's failure, or A's (which ends B) */
	long total;		/* round trips over all runs */
};

#define PP_WARMUP 8

static int wait_in(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	while (poll(&pfd, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	return pfd.revents & POLLIN ? 0 : -EIO;
}

/* The KS "read": poll for a free frame, then take it without sleeping. */
static int ks_poll_alloc(int fd)
{
	uint64_t off;
	int ret;

	for (;;) {
		ret = wait_in(fd);
		if (ret)
			return ret;
		ret = ks_alloc(fd, &off);
		if (ret != -EAGAIN)
			return ret;
	}
}

static int efd_poll_read(int fd)
{
	uint64_t v;

	for (;;) {
		int ret = wait_in(fd);

		if (ret)
			return ret;
		if (read(fd, &v, 8) == 8)
			return 0;
		if (errno != EAGAIN)
			return -errno;
	}
}

/* B's side of one round trip */
static int pp_b_step(struct pp_ctx *c)
{
	uint64_t v = 1, off;

	switch (c->kind) {
	case PP_EVENTFD:
		if (read(c->a, &v, 8) != 8 || write(c->b, &v, 8) != 8)
			return -errno;
		return 0;
	case PP_EVENTFD_POLL:
		if (efd_poll_read(c->a) || write(c->b, &v, 8) != 8)
			return -EIO;
		return 0;
	case PP_KS_BLOCK:
		if (ks_alloc(c->a, &off) || ks_free(c->b, 0))
			return -EIO;
		return 0;
	case PP_KS_POLL:
		if (ks_poll_alloc(c->a) || ks_free(c->b, 0))
			return -EIO;
		return 0;
	case PP_UPOOL:
		up_alloc(c->up);
		up_free(c->up2, 0);
		return 0;
	}
	return -EINVAL;
}

/* A's side: pass the token, wait for it to come back */
static int pp_a_step(struct pp_ctx *c)
{
	uint64_t v = 1, off = 0;

	switch (c->kind) {
	case PP_EVENTFD:
		if (write(c->a, &v, 8) != 8 || read(c->b, &v, 8) != 8)
			return -errno;
		return 0;
	case PP_EVENTFD_POLL:
		if (write(c->a, &v, 8) != 8 || efd_poll_read(c->b))
			return -EIO;
		return 0;
	case PP_KS_BLOCK:
		if (ks_free(c->a, 0) || ks_alloc(c->b, &off) || off)
			return -EIO;
		return 0;
	case PP_KS_POLL:
		if (ks_free(c->a, 0) || ks_poll_alloc(c->b))
			return -EIO;
		return 0;
	case PP_UPOOL:
		up_free(c->up, 0);
		if (up_alloc(c->up2) != 0)
			return -EIO;
		return 0;
	}
	return -EINVAL;
}

/* After a failure of A: wake B wherever it waits, so it can be joined. */
static void pp_release_b(struct pp_ctx *c)
{
	uint32_t reset = KSRESET_BEGIN;
	uint64_t v = 1;

	c->err = c->err ? c->err : -EIO;
	switch (c->kind) {
	case PP_EVENTFD:
	case PP_EVENTFD_POLL:
		if (write(c->a, &v, 8) != 8)
			break;
		break;
	case PP_KS_BLOCK:
	case PP_KS_POLL:
		ks_ioctl(c->a, IOCTL_KS_RESET_STATE, &reset, sizeof(reset),
			 NULL, 0, 0, NULL);
		break;
	case PP_UPOOL:
		up_free(c->up, 0);
		break;
	}
}

static void *pp_thread_b(void *p)
{
	struct pp_ctx *c = p;
	long i;

	if (c->pinned)
		pin_to_cpu(c->pinned == 2 ? 1 : 0);
	pthread_barrier_wait(&c->bar);
	for (i = 0; i < c->n + PP_WARMUP && !c->err; i++) {
		int ret = pp_b_step(c);

		if (ret) {
			c->err = ret;
			break;
		}
	}
	return NULL;
}

static double run_pingpong(void *p, long n)
{
	struct pp_ctx *c = p;
	double t0 = 0, t = 0;
	uint64_t off;
	pthread_t th;
	long i, inb = 0;
	int ret = 0;

	c->n = n;
	c->err = 0;
	/* Set-up: A holds every frame the token needs. */
	switch (c->kind) {
	case PP_EVENTFD:
	case PP_EVENTFD_POLL:
		c->a = eventfd(0, EFD_CLOEXEC |
			       (c->kind == PP_EVENTFD_POLL ? EFD_NONBLOCK : 0));
		c->b = eventfd(0, EFD_CLOEXEC |
			       (c->kind == PP_EVENTFD_POLL ? EFD_NONBLOCK : 0));
		if (c->a < 0 || c->b < 0)
			return -errno;
		break;
	case PP_KS_BLOCK:
	case PP_KS_POLL:
		c->a = must_create(c->pin, 1, c->kind == PP_KS_POLL ? O_NONBLOCK : 0);
		c->b = must_create(c->pin, 1, c->kind == PP_KS_POLL ? O_NONBLOCK : 0);
		if (ks_alloc(c->a, &off) || ks_alloc(c->b, &off))
			return -errno;
		break;
	case PP_UPOOL:
		c->up = up_create(1);
		c->up2 = up_create(1);
		c->a = c->b = -1;
		up_alloc(c->up);
		up_alloc(c->up2);
		break;
	}
	pthread_barrier_init(&c->bar, NULL, 2);
	if (c->pinned)
		pin_to_cpu(0);
	if (pthread_create(&th, NULL, pp_thread_b, c))
		die("pthread_create");
	pthread_barrier_wait(&c->bar);
	c->total += n + PP_WARMUP;
	for (i = 0; i < PP_WARMUP && !ret; i++)
		ret = pp_a_step(c);
	t0 = now_ns();
	for (i = 0; i < n && !ret; i++) {
		ret = pp_a_step(c);
		BATCH_STEP(i, n, 4, inb, t, t0);
	}
	if (ret)
		pp_release_b(c);
	pthread_join(th, NULL);
	if (c->pinned)
		unpin();
	pthread_barrier_destroy(&c->bar);
	if (c->a >= 0)
		close(c->a);
	if (c->b >= 0)
		close(c->b);
	if (c->up) {
		munmap(c->up, sizeof(*c->up));
		munmap(c->up2, sizeof(*c->up2));
	}
	c->up = c->up2 = NULL;
	if (ret || c->err)
		return ret ? ret : c->err;
	return t;
}

/* ------------------------------------------------------------------ */
/* One and two threads doing ALLOC+FREE pairs                           */

enum tp_mode { TP_ONE, TP_SEPARATE, TP_SHARED };

struct tp_ctx;

struct tp_thread {
	struct tp_ctx *c;
	int fd;
	double start, end;
	int err;
	pthread_t th;
};

struct tp_ctx {
	enum tp_mode mode;
	int aggregate;		/* report wall time per pair of all threads */
	int pin;
	long n;
	pthread_barrier_t bar;
	struct tp_thread t[2];
};

static void *tp_thread(void *p)
{
	struct tp_thread *t = p;
	uint64_t off;
	long i;

	pthread_barrier_wait(&t->c->bar);
	t->start = now_ns();
	for (i = 0; i < t->c->n; i++) {
		if (ks_alloc(t->fd, &off) || ks_free(t->fd, off)) {
			t->err = -errno;
			break;
		}
	}
	t->end = now_ns();
	return NULL;
}

static double run_threads(void *p, long n)
{
	struct tp_ctx *c = p;
	int nt = c->mode == TP_ONE ? 1 : 2;
	double start, end, sum = 0;
	int i, err = 0;

	c->n = n;
	c->t[0].fd = must_create(c->pin, 64, 0);
	c->t[1].fd = c->mode == TP_SEPARATE ? must_create(c->pin, 64, 0) : c->t[0].fd;
	pthread_barrier_init(&c->bar, NULL, nt);
	for (i = 0; i < nt; i++) {
		c->t[i].c = c;
		c->t[i].err = 0;
		if (pthread_create(&c->t[i].th, NULL, tp_thread, &c->t[i]))
			die("pthread_create");
	}
	for (i = 0; i < nt; i++)
		pthread_join(c->t[i].th, NULL);
	pthread_barrier_destroy(&c->bar);
	start = c->t[0].start;
	end = c->t[0].end;
	for (i = 0; i < nt; i++) {
		if (c->t[i].start < start)
			start = c->t[i].start;
		if (c->t[i].end > end)
			end = c->t[i].end;
		sum += c->t[i].end - c->t[i].start;
		if (c->t[i].err)
			err = c->t[i].err;
	}
	close(c->t[0].fd);
	if (c->mode == TP_SEPARATE)
		close(c->t[1].fd);
	if (err)
		return err;
	/* per thread: mean time of one thread's n pairs; aggregate: wall time
	 * of all nt * n pairs, reported per pair by the caller's units. */
	return c->aggregate ? end - start : sum / nt;
}

/* ------------------------------------------------------------------ */
/* Peers: a fresh dma-buf per frame                                     */

static int find_vgem(void)
{
	char path[32], name[32];
	int i, fd;

	for (i = 0; i < 16; i++) {
		struct drm_version v;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&v, 0, sizeof(v));
		memset(name, 0, sizeof(name));
		v.name = name;
		v.name_len = sizeof(name) - 1;
		if (!ioctl(fd, DRM_IOCTL_VERSION, &v) && !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -1;
}

/* DRM_IOCTL_MODE_CREATE_DUMB 4 KiB, PRIME_HANDLE_TO_FD, close both */
static double run_vgem(void *p, long n)
{
	struct fd_ctx *c = p;
	double t = 0, t0 = now_ns();
	long i, inb = 0;

	for (i = 0; i < n; i++) {
		struct drm_mode_create_dumb d = {
			.width = FRAME_SIZE / 4, .height = 1, .bpp = 32,
		};
		struct drm_prime_handle h = { .flags = O_CLOEXEC | DRM_RDWR };
		struct drm_gem_close gc = { 0 };

		if (ioctl(c->fd, DRM_IOCTL_MODE_CREATE_DUMB, &d))
			return -errno;
		h.handle = d.handle;
		if (ioctl(c->fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &h))
			return -errno;
		close(h.fd);
		gc.handle = d.handle;
		if (ioctl(c->fd, DRM_IOCTL_GEM_CLOSE, &gc))
			return -errno;
		BATCH_STEP(i, n, 8, inb, t, t0);
	}
	return t;
}

/* DMA_HEAP_IOCTL_ALLOC 4 KiB from the system heap, close */
static double run_dma_heap(void *p, long n)
{
	struct fd_ctx *c = p;
	double t = 0, t0 = now_ns();
	long i, inb = 0;

	for (i = 0; i < n; i++) {
		struct dma_heap_allocation_data d = {
			.len = FRAME_SIZE,
			.fd_flags = O_RDWR | O_CLOEXEC,
		};

		if (ioctl(c->fd, DMA_HEAP_IOCTL_ALLOC, &d))
			return -errno;
		close(d.fd);
		BATCH_STEP(i, n, 8, inb, t, t0);
	}
	return t;
}

/* UDMABUF_CREATE over 4 KiB of one sealed memfd, close */
struct udmabuf_ctx {
	int dev, memfd;
};

static double run_udmabuf(void *p, long n)
{
	struct udmabuf_ctx *c = p;
	double t = 0, t0 = now_ns();
	long i, inb = 0;

	for (i = 0; i < n; i++) {
		struct udmabuf_create u = {
			.memfd = c->memfd,
			.flags = UDMABUF_FLAGS_CLOEXEC,
			.offset = 0,
			.size = FRAME_SIZE,
		};
		int fd = ioctl(c->dev, UDMABUF_CREATE, &u);

		if (fd < 0)
			return -errno;
		close(fd);
		BATCH_STEP(i, n, 8, inb, t, t0);
	}
	return t;
}

/* ------------------------------------------------------------------ */
/* Memory                                                               */

struct memsnap {
	long long free_pages;	/* buddy free + per-CPU lists, all zones */
	long long slab_kb, sunreclaim_kb;
};

/* free pages as the zones count them, plus the pages parked on the
 * per-CPU lists (MemFree alone moves with those lists). */
static void mem_snapshot(struct memsnap *s)
{
	char line[256];
	FILE *f;
	long long v;

	memset(s, 0, sizeof(*s));
	f = fopen("/proc/zoneinfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, " pages free %lld", &v) == 1 ||
			    sscanf(line, " count: %lld", &v) == 1)
				s->free_pages += v;
		}
		fclose(f);
	}
	f = fopen("/proc/meminfo", "r");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "Slab: %lld", &v) == 1)
				s->slab_kb = v;
			else if (sscanf(line, "SUnreclaim: %lld", &v) == 1)
				s->sunreclaim_kb = v;
		}
		fclose(f);
	}
}

#define MAX_CACHES 512
struct slabcache {
	char name[64];
	long long active, objsize;
};

static int slab_read(struct slabcache *c)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return 0;
	while (n < MAX_CACHES && fgets(line, sizeof(line), f)) {
		long long active, num, size;
		char name[64];

		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%63s %lld %lld %lld", name, &active, &num,
			   &size) != 4)
			continue;
		snprintf(c[n].name, sizeof(c[n].name), "%s", name);
		c[n].active = active;
		c[n].objsize = size;
		n++;
	}
	fclose(f);
	return n;
}

static long long slab_objsize(const struct slabcache *c, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(c[i].name, name))
			return c[i].objsize;
	return 0;
}

/* The caches that grew most between @a and @b, as "name +objs x size" */
static void slab_top(const struct slabcache *a, int na,
		     const struct slabcache *b, int nb, long long per,
		     char *out, size_t len)
{
	struct { const char *name; long long bytes, objs, size; } top[4] = { 0 };
	int i, j, k;
	size_t o = 0;

	for (i = 0; i < nb; i++) {
		long long before = 0, d;

		for (j = 0; j < na; j++)
			if (!strcmp(a[j].name, b[i].name))
				before = a[j].active;
		d = (b[i].active - before) * b[i].objsize;
		for (k = 0; k < 4; k++) {
			if (d > top[k].bytes) {
				memmove(&top[k + 1], &top[k],
					(3 - k) * sizeof(top[0]));
				top[k].name = b[i].name;
				top[k].bytes = d;
				top[k].objs = b[i].active - before;
				top[k].size = b[i].objsize;
				break;
			}
		}
	}
	out[0] = 0;
	for (k = 0; k < 4 && top[k].name && o < len; k++)
		o += snprintf(out + o, len - o, "%s%s %.2fx%lld", k ? ", " : "",
			      top[k].name, (double)top[k].objs / per,
			      top[k].size);
}

static long long struct_size(const char *name)
{
	char line[128], n[64];
	long long v, found = 0;
	FILE *f;

	if (!g_sizes_file)
		return 0;
	f = fopen(g_sizes_file, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %lld", n, &v) == 2 && !strcmp(n, name))
			found = v;
	fclose(f);
	return found;
}

/* The kmalloc size class of @n bytes (SLUB, 4 KiB pages); page
 * allocations above 8 KiB. */
static long long kmalloc_class(long long n)
{
	static const long long classes[] = {
		8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192
	};
	unsigned int i;

	for (i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (n <= classes[i])
			return classes[i];
	return (n + 4095) & ~4095LL;
}

/* The kmalloc'ed sg list of a frame of one chunk (4 KiB), if the module's
 * debug info knows struct scatterlist (0 with a frame layer without) */
static long long sg_entry_bytes(void)
{
	long long n = struct_size("scatterlist");

	return n ? kmalloc_class(n) : 0;
}

static void bench_memory(int pin)
{
	static struct slabcache sa[MAX_CACHES], sb[MAX_CACHES];
	const int nalloc = 1000, big = 16, big_frames = 1024;
	struct memsnap m0, m1, m2, m3;
	struct rlimit rl = { 8192, 8192 };
	int *fds, i, na, nb;
	long long per_alloc_mem, per_alloc_slab;
	double per_frame;
	char top[120];
	struct row *r;

	if (!wanted("mem"))
		return;
	fprintf(stderr, "  measuring memory\n");
	setrlimit(RLIMIT_NOFILE, &rl);
	fds = calloc(nalloc, sizeof(*fds));
	if (!fds)
		die("calloc");

	/* 1000 allocators of one 4 KiB frame */
	sleep(1);
	na = slab_read(sa);
	mem_snapshot(&m0);
	for (i = 0; i < nalloc; i++) {
		fds[i] = create_allocator(pin, 1, FRAME_SIZE, 0);
		if (fds[i] < 0)
			break;
	}
	mem_snapshot(&m1);
	nb = slab_read(sb);
	if (i < nalloc) {
		r = add_row("mem_allocator", "kernel memory per allocator (1 frame)", "B");
		r->status = ST_ERROR;
		row_note(r, "allocator %d: %s", i, strerror(-fds[i]));
	}
	while (--i >= 0)
		close(fds[i]);
	if (find_row("mem_allocator"))
		goto frames;

	per_alloc_mem = ((m0.free_pages - m1.free_pages) * 4096LL -
			 (long long)nalloc * FRAME_SIZE) / nalloc;
	per_alloc_slab = (m1.slab_kb - m0.slab_kb) * 1024 / nalloc;
	r = add_row("mem_allocator", "kernel memory per allocator beyond its frame", "B");
	r->value = per_alloc_mem;
	r->status = ST_INFO;
	row_note(r, "measured: free pages before/after 1000 allocators of 1 frame");
	r = add_row("mem_allocator_slab", "  of which slab (meminfo Slab delta)", "B");
	r->value = per_alloc_slab;
	slab_top(sa, na, sb, nb, nalloc, top, sizeof(top));
	row_note(r, "slabinfo per allocator: %s", top);
	{
		long long a = struct_size("ksalloc_allocator");
		long long filp = slab_objsize(sb, nb, "filp");
		long long dentry = slab_objsize(sb, nb, "dentry");

		if (a) {
			r = add_row("mem_allocator_computed",
				    "  computed from structure sizes", "B");
			r->value = kmalloc_class(a) + filp + dentry +
				   kmalloc_class(struct_size("ksa_frame")) +
				   kmalloc_class(4) + kmalloc_class(8) + 8 +
				   sg_entry_bytes();
			row_note(r, "allocator %lld->%lld, file %lld, dentry %lld, "
				 "3 arrays %lld+8+8, fd slot 8, the frame's sg entry %lld",
				 a, kmalloc_class(a), filp, dentry,
				 kmalloc_class(struct_size("ksa_frame")), sg_entry_bytes());
		}
	}

frames:
	/* 16 allocators of 1024 frames */
	sleep(1);
	mem_snapshot(&m2);
	for (i = 0; i < big; i++) {
		fds[i] = create_allocator(pin, big_frames, FRAME_SIZE, 0);
		if (fds[i] < 0)
			break;
	}
	mem_snapshot(&m3);
	if (i < big) {
		r = add_row("mem_frame", "kernel memory per frame beyond its data", "B");
		r->status = ST_ERROR;
		row_note(r, "allocator %d of %d frames: %s", i, big_frames,
			 strerror(-fds[i]));
	} else {
		long long pa = find_row("mem_allocator") &&
			       find_row("mem_allocator")->status == ST_INFO ?
			       (long long)find_row("mem_allocator")->value : 0;

		per_frame = ((double)(m2.free_pages - m3.free_pages) * 4096 -
			     (double)big * big_frames * FRAME_SIZE -
			     (double)big * pa) / ((double)big * big_frames);
		r = add_row("mem_frame", "kernel memory per frame beyond its data", "B");
		r->value = per_frame;
		row_note(r, "measured: free pages before/after 16 allocators of 1024 frames");
		if (struct_size("ksa_frame")) {
			r = add_row("mem_frame_computed",
				    "  computed from structure sizes", "B");
			r->value = struct_size("ksa_frame") + 4 + 1.0 / 8 +
				   sg_entry_bytes();
			row_note(r, "struct ksa_frame %lld + free-stack u32 4 + "
				 "bitmap 1/8 + its sg entry %lld (one chunk); frames "
				 "are rounded up to pages",
				 struct_size("ksa_frame"), sg_entry_bytes());
		}
	}
	while (--i >= 0)
		close(fds[i]);
	free(fds);
}

/* ------------------------------------------------------------------ */
/* Frames for devices: creation, a capture, bytes held                 */

/*
 * The rows of frame memory and dma-bufs (keys "frames_"):
 *  - allocator creation plus destruction for 8 frames of 1920x1080 and
 *    of 3840x2160 NV12, against the dma-heap system heap allocating (and
 *    closing) the same 8 buffers; both take zeroed pages;
 *  - one vivid capture into an imported ksalloc frame (DQBUF, SYNC START
 *    and END on the frame's dma-buf, QBUF) against a vivid MMAP capture
 *    and a memcpy into a ksalloc frame (DQBUF, memcpy, QBUF): the
 *    capturing thread's CPU time, since the wall time of a capture is
 *    vivid's frame interval either way;
 *  - bytes held per frame (free pages before and after the creation,
 *    over several frames) divided by bytes asked, for 4 KiB, 12 KiB,
 *    1080p NV12, 4K NV12 and 64 MiB frames.
 */
#define NV12_1080P	(1920 * 1080 * 3 / 2)
#define NV12_2160P	(3840 * 2160 * 3 / 2)
#define FM_FRAMES	8

struct fm_create_ctx {
	int pin, heap;
	uint32_t size;
};

/* IOCTL_KS_CREATE of 8 frames of @size, close */
static double run_fm_create(void *p, long n)
{
	struct fm_create_ctx *c = p;
	double t0 = now_ns();
	long i;

	for (i = 0; i < n; i++) {
		int fd = create_allocator(c->pin, FM_FRAMES, c->size, 0);

		if (fd < 0)
			return fd;
		close(fd);
	}
	return now_ns() - t0;
}

/* DMA_HEAP_IOCTL_ALLOC of 8 buffers of @size from the system heap, close */
static double run_fm_heap(void *p, long n)
{
	struct fm_create_ctx *c = p;
	double t0 = now_ns();
	int fds[FM_FRAMES];
	long i;
	int k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < FM_FRAMES; k++) {
			struct dma_heap_allocation_data d = {
				.len = c->size,
				.fd_flags = O_RDWR | O_CLOEXEC,
			};

			if (ioctl(c->heap, DMA_HEAP_IOCTL_ALLOC, &d)) {
				int err = -errno;

				while (k--)
					close(fds[k]);
				return err;
			}
			fds[k] = d.fd;
		}
		for (k = 0; k < FM_FRAMES; k++)
			close(fds[k]);
	}
	return now_ns() - t0;
}

/* vivid: a capture node, streaming into 4 buffers of either kind */
#define FM_BUFS		4

struct fm_capture_ctx {
	int pin, video;
	int import;		/* V4L2_MEMORY_DMABUF of ksalloc frames */
	int alloc;		/* the ksalloc allocator */
	unsigned char *frames;	/* its mapping */
	uint32_t stride, size;
	int dmabuf[FM_BUFS];
	void *mmap[FM_BUFS];	/* vivid's buffers (MMAP case) */
	uint32_t mmap_len[FM_BUFS];
};

static int fm_xioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

static double thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The first single-planar vivid capture node, set to YUYV 640x360 */
static int fm_open_vivid(uint32_t *sizeimage)
{
	char path[32];
	int i;

	for (i = 0; i < 64; i++) {
		struct v4l2_capability cap = { 0 };
		struct v4l2_format f = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE };
		struct v4l2_streamparm parm = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
			.parm.capture.timeperframe = { 1, 120 },
		};
		int fd;

		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fm_xioctl(fd, VIDIOC_QUERYCAP, &cap) ||
		    strcmp((char *)cap.driver, "vivid") ||
		    !(cap.device_caps & V4L2_CAP_VIDEO_CAPTURE)) {
			close(fd);
			continue;
		}
		f.fmt.pix.width = 640;
		f.fmt.pix.height = 360;
		f.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
		f.fmt.pix.field = V4L2_FIELD_NONE;
		if (fm_xioctl(fd, VIDIOC_S_FMT, &f)) {
			close(fd);
			return -1;
		}
		fm_xioctl(fd, VIDIOC_S_PARM, &parm);
		*sizeimage = f.fmt.pix.sizeimage;
		return fd;
	}
	return -1;
}

/* Queue every buffer and stream: ksalloc frames as dma-bufs, or MMAP */
static int fm_capture_start(struct fm_capture_ctx *c)
{
	struct v4l2_requestbuffers rb = {
		.count = FM_BUFS, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = c->import ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP,
	};
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, i, ret;
	struct ksalloc_allocator_info info;
	static const struct ksguid set = KSPROPSETID_KsallocAllocator;
	struct ksidentifier k = ident(&set, KSPROPERTY_KSALLOC_ALLOCATOR_INFO,
				      KSPROPERTY_TYPE_GET);

	c->frames = MAP_FAILED;
	for (i = 0; i < FM_BUFS; i++) {
		c->dmabuf[i] = -1;
		c->mmap[i] = MAP_FAILED;
	}
	/* The ksalloc frames: one per buffer, or those copies go to */
	c->alloc = create_allocator(c->pin, FM_BUFS, c->size, 0);
	if (c->alloc < 0)
		return c->alloc;
	ret = ks_ioctl(c->alloc, IOCTL_KS_PROPERTY, &k, sizeof(k), &info,
		       sizeof(info), 0, NULL);
	if (ret)
		return ret;
	c->stride = info.frame_stride;
	c->frames = mmap(NULL, info.mmap_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, c->alloc, 0);
	if (c->frames == MAP_FAILED)
		return -errno;
	ret = fm_xioctl(c->video, VIDIOC_REQBUFS, &rb);
	if (ret)
		return ret;
	if (rb.count != FM_BUFS)
		return -ENOBUFS;
	for (i = 0; i < FM_BUFS; i++) {
		struct v4l2_buffer b = { .index = i, .type = rb.type,
					 .memory = rb.memory };
		uint64_t off;

		if (c->import) {
			struct ksalloc_frame_args a = { .fd_flags = O_CLOEXEC };

			ret = ks_alloc_direct(c->alloc, &off);
			if (ret)
				return ret;
			a.offset = off;
			if (ioctl(c->alloc, IOCTL_KSALLOC_FRAME_EXPORT, &a))
				return -errno;
			c->dmabuf[i] = a.fd;
			b.m.fd = a.fd;
		} else {
			ret = fm_xioctl(c->video, VIDIOC_QUERYBUF, &b);
			if (ret)
				return ret;
			c->mmap_len[i] = b.length;
			c->mmap[i] = mmap(NULL, b.length, PROT_READ, MAP_SHARED,
					  c->video, b.m.offset);
			if (c->mmap[i] == MAP_FAILED)
				return -errno;
		}
		ret = fm_xioctl(c->video, VIDIOC_QBUF, &b);
		if (ret)
			return ret;
	}
	return fm_xioctl(c->video, VIDIOC_STREAMON, &type);
}

static void fm_capture_stop(struct fm_capture_ctx *c)
{
	struct v4l2_requestbuffers rb = {
		.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = c->import ? V4L2_MEMORY_DMABUF : V4L2_MEMORY_MMAP,
	};
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE, i;

	fm_xioctl(c->video, VIDIOC_STREAMOFF, &type);
	for (i = 0; i < FM_BUFS; i++) {
		if (c->dmabuf[i] >= 0)
			close(c->dmabuf[i]);
		if (c->mmap[i] != MAP_FAILED)
			munmap(c->mmap[i], c->mmap_len[i]);
	}
	fm_xioctl(c->video, VIDIOC_REQBUFS, &rb);
	if (c->frames != MAP_FAILED)
		munmap(c->frames, (size_t)c->stride * FM_BUFS);
	if (c->alloc >= 0)
		close(c->alloc);
}

/*
 * @n captures: wait (untimed), then DQBUF, put the picture in a ksalloc
 * frame (import: it is there already, SYNC START and END around reading
 * it; copy: memcpy from vivid's buffer), QBUF. The thread's CPU time.
 */
static double run_fm_capture(void *p, long n)
{
	struct fm_capture_ctx *c = p;
	double t = 0, t0;
	long i;

	for (i = 0; i < n; i++) {
		struct pollfd pfd = { .fd = c->video, .events = POLLIN };
		struct v4l2_buffer b = {
			.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
			.memory = c->import ? V4L2_MEMORY_DMABUF :
					      V4L2_MEMORY_MMAP,
		};
		int ret;

		if (poll(&pfd, 1, 10000) != 1)
			return -ETIMEDOUT;
		t0 = thread_cpu_ns();
		ret = fm_xioctl(c->video, VIDIOC_DQBUF, &b);
		if (ret)
			return ret;
		if (b.flags & V4L2_BUF_FLAG_ERROR || b.bytesused != c->size)
			return -EIO;
		if (c->import) {
			struct dma_buf_sync s = {
				DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ };

			ioctl(c->dmabuf[b.index], DMA_BUF_IOCTL_SYNC, &s);
			s.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
			ioctl(c->dmabuf[b.index], DMA_BUF_IOCTL_SYNC, &s);
		} else {
			memcpy(c->frames + (size_t)b.index * c->stride,
			       c->mmap[b.index], b.bytesused);
		}
		ret = fm_xioctl(c->video, VIDIOC_QBUF, &b);
		if (ret)
			return ret;
		t += thread_cpu_ns() - t0;
	}
	return t;
}

/*
 * One node has one queue: each turn sets it up for its kind (untimed),
 * measures @n captures and releases it again.
 */
static double run_fm_capture_turn(void *p, long n)
{
	struct fm_capture_ctx *c = p;
	int ret = fm_capture_start(c);
	double t = ret ? ret : run_fm_capture(c, n);

	fm_capture_stop(c);
	return t;
}

/* Free memory (pages), settled: the median of three readings */
static long long fm_free_pages(void)
{
	double v[3];
	struct memsnap m;
	int i;

	for (i = 0; i < 3; i++) {
		usleep(100000);
		mem_snapshot(&m);
		v[i] = m.free_pages;
	}
	return (long long)median_inplace(v, 3);
}

static void bench_frames(int pin)
{
	static const struct {
		const char *key, *label;
		uint32_t size, frames;
	} held[] = {
		{ "frames_held_4k", "bytes held / asked, 4 KiB frames", 4096, 1024 },
		{ "frames_held_12k", "bytes held / asked, 12 KiB frames", 12288, 1024 },
		{ "frames_held_1080p", "bytes held / asked, 1080p NV12 frames",
		  NV12_1080P, 16 },
		{ "frames_held_2160p", "bytes held / asked, 4K NV12 frames",
		  NV12_2160P, 8 },
		{ "frames_held_64m", "bytes held / asked, 64 MiB frames",
		  64 << 20, 2 },
	};
	static const struct {
		const char *key, *base_key, *label;
		uint32_t size;
	} creates[] = {
		{ "frames_create_1080p", "heap_8x1080p",
		  "create + destroy, 8 frames 1080p NV12", NV12_1080P },
		{ "frames_create_2160p", "heap_8x2160p",
		  "create + destroy, 8 frames 4K NV12", NV12_2160P },
	};
	struct fm_capture_ctx imp = { .import = 1 }, cpy = { .import = 0 };
	struct bench b, base;
	struct row *r;
	unsigned int i;
	int heap, video;
	uint32_t size;

	if (!wanted("frames_"))
		return;

	/* Creation and destruction against the system heap */
	heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
	for (i = 0; i < sizeof(creates) / sizeof(creates[0]); i++) {
		struct fm_create_ctx c = { .pin = pin, .heap = heap,
					   .size = creates[i].size };

		if (heap < 0) {
			skipped(creates[i].key, creates[i].label, "op",
				"no dma-heap system heap (6.12 and newer)");
			continue;
		}
		b = (struct bench){ .run = run_fm_create, .ctx = &c,
				    .min_n = 1, .max_n = 64 };
		base = (struct bench){ .run = run_fm_heap, .ctx = &c,
				       .min_n = 1, .max_n = 64,
				       .key = creates[i].base_key };
		r = figure(creates[i].key, creates[i].label, "op", &b, &base);
		if (r)
			row_note(r, "IOCTL_KS_CREATE of 8 frames + close, vs 8 DMA_HEAP_IOCTL_ALLOC + 8 close");
	}
	if (heap >= 0)
		close(heap);

	/* A capture: imported frames against MMAP and a copy */
	video = fm_open_vivid(&size);
	if (video < 0) {
		skipped("frames_capture_import",
			"vivid capture into an imported ksalloc frame", "frame",
			"no vivid capture node");
	} else {
		imp.pin = cpy.pin = pin;
		imp.video = cpy.video = video;
		imp.size = cpy.size = size;
		b = (struct bench){ .run = run_fm_capture_turn, .ctx = &imp,
				    .min_n = 4, .max_n = 32 };
		base = (struct bench){ .run = run_fm_capture_turn, .ctx = &cpy,
				       .min_n = 4, .max_n = 32,
				       .key = "vivid_mmap_memcpy" };
		r = figure("frames_capture_import",
			   "vivid capture into an imported ksalloc frame",
			   "frame", &b, &base);
		if (r)
			row_note(r, "YUYV 640x360 (%u B): DQBUF, SYNC START/END, QBUF vs DQBUF, memcpy, QBUF; capturing thread's CPU time",
				 size);
		close(video);
	}

	/* Memory held per frame, measured, over several frames */
	for (i = 0; i < sizeof(held) / sizeof(held[0]); i++) {
		long long before, after;
		double asked = held[i].size, per;
		int fd;

		if (!wanted(held[i].key))
			continue;
		before = fm_free_pages();
		fd = create_allocator(pin, held[i].frames, held[i].size, 0);
		if (fd < 0) {
			r = skipped(held[i].key, held[i].label, "B", "");
			r->status = ST_ERROR;
			row_note(r, "IOCTL_KS_CREATE: %s", strerror(-fd));
			continue;
		}
		after = fm_free_pages();
		close(fd);
		per = (double)(before - after) * 4096 / held[i].frames;
		r = add_row(held[i].key, held[i].label, "B");
		r->value = per;
		r->base = asked;
		r->ratio = per / asked;
		snprintf(r->base_key, sizeof(r->base_key), "bytes asked");
		row_note(r, "free pages before/after one allocator of %u frames of %u B, per frame",
			 held[i].frames, held[i].size);
	}
}

/* ------------------------------------------------------------------ */
/* A function_graph trace of one call of each kind                      */

static const char *g_tracefs = "/sys/kernel/tracing";
static char g_trace_err[256];

static int tracefs_open_write(const char *file, const char *val, int flags)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", g_tracefs, file);
	fd = open(path, O_WRONLY | O_CLOEXEC | flags);
	if (fd < 0 || write(fd, val, strlen(val)) < 0) {
		ret = -errno;
		snprintf(g_trace_err, sizeof(g_trace_err), "%s <- \"%s\": %s",
			 path, val, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

static int tracefs_write(const char *file, const char *val)
{
	return tracefs_open_write(file, val, O_TRUNC);
}

/* A filter file takes one more entry when it is appended to. */
static int tracefs_append(const char *file, const char *val)
{
	return tracefs_open_write(file, val, O_APPEND);
}

/* The calls traced: once untraced (no first-touch faults in the trace),
 * then traced with a marker after each. */
struct trace_ctx {
	int fd, vgem;
	uint64_t offs[16];
};

static void trace_ks(struct trace_ctx *t, int traced)
{
	struct ks_ioctl_args a;
	uint64_t off;

	memset(&a, 0, sizeof(a));
	ioctl(t->fd, KSB_NULL_IOCTL, &a);
	if (traced)
		tracefs_write("trace_marker", "null ioctl done");
	ks_alloc(t->fd, &off);
	if (traced)
		tracefs_write("trace_marker", "ALLOC done");
	ks_free(t->fd, off);
	if (traced)
		tracefs_write("trace_marker", "FREE done");
	ks_batch(t->fd, KSMETHOD_KSALLOC_BATCH_ALLOC, t->offs, 16);
	if (traced)
		tracefs_write("trace_marker", "batch ALLOC 16 done");
	ks_batch(t->fd, KSMETHOD_KSALLOC_BATCH_FREE, t->offs, 16);
	if (traced)
		tracefs_write("trace_marker", "batch FREE 16 done");
}

static void trace_vgem(struct trace_ctx *t, int traced)
{
	struct fd_ctx c = { .fd = t->vgem };

	(void)traced;
	run_vgem(&c, 1);
}

/* One function_graph section: @func and @func2 (or NULL) are the graph
 * roots, @depth the deepest level shown (0: all). */
static void trace_section(const char *title, const char *func, const char *func2,
			  const char *depth,
			  void (*fn)(struct trace_ctx *, int), struct trace_ctx *t)
{
	char buf[4096], pid[16], path[128];
	ssize_t len;
	int tf;

	snprintf(pid, sizeof(pid), "%d", getpid());
	printf("KSA-BENCH-TRACE-BEGIN\n# %s\n", title);
	if (tracefs_write("tracing_on", "0") ||
	    tracefs_write("current_tracer", "nop") ||
	    tracefs_write("set_graph_function", func) ||
	    (func2 && tracefs_append("set_graph_function", func2)) ||
	    tracefs_write("max_graph_depth", depth) ||
	    tracefs_write("set_ftrace_pid", pid) ||
	    tracefs_write("trace", "") ||
	    tracefs_write("current_tracer", "function_graph")) {
		printf("no function_graph trace: %s\nKSA-BENCH-TRACE-END\n", g_trace_err);
		return;
	}
	/* funcgraph-* options exist once the tracer is set; cosmetic */
	tracefs_write("trace_options", "funcgraph-proc");
	tracefs_write("trace_options", "nofuncgraph-irqs");
	fn(t, 0);
	tracefs_write("trace", "");
	tracefs_write("tracing_on", "1");
	fn(t, 1);
	tracefs_write("tracing_on", "0");

	fflush(stdout);
	snprintf(path, sizeof(path), "%s/trace", g_tracefs);
	tf = open(path, O_RDONLY | O_CLOEXEC);
	if (tf >= 0) {
		while ((len = read(tf, buf, sizeof(buf))) > 0)
			fwrite(buf, 1, len, stdout);
		close(tf);
	}
	printf("KSA-BENCH-TRACE-END\n");
	tracefs_write("current_tracer", "nop");
	tracefs_write("set_graph_function", "");
	tracefs_write("max_graph_depth", "0");
	tracefs_write("set_ftrace_pid", "");
	tracefs_write("trace", "");
	tracefs_write("tracing_on", "1");
}

/*
 * Per-function instruction counts, with -g under -i: each function of
 * prof_funcs is traced alone (function_graph, depth 1, the only function
 * patched) while a worker thread, the only one ftrace follows, makes
 * PROF_CALLS calls of one kind.
 * Under icount a duration is the function's instructions, its children's
 * included, plus the tracer's own entry and exit code; that is taken off
 * as measured on a function that does nothing (the BPF LSM's default
 * file_ioctl hook, "return 0"), so each count is within a few
 * instructions.
 */
#define PROF_CALLS	16
static const char *const prof_funcs[] = {
	"bpf_lsm_file_ioctl",	/* first: the tracer's own cost */
	"__x64_sys_ioctl", "fdget", "security_file_ioctl", "do_vfs_ioctl",
	"ksa_allocator_ioctl", "ksa_dispatch", "ksa_execute", "ksa_guid_equal",
	"ksa_data_reserve", "ksa_data_in", "ksa_alloc_method", "ksa_free_method",
	"ksa_allocator_free_index", "ksa_pool_alloc", "ksa_pool_get",
	"ksa_pool_free", "ksa_pool_take", "ksa_pool_mark", "ksa_pool_release",
	"ksa_pool_frame_index", "ksa_events_deliver", "__cond_resched",
	"_raw_spin_lock_irqsave", "_raw_spin_unlock_irqrestore",
	"__check_object_size", "check_stack_object", "_copy_from_user",
	"_copy_to_user", "kfree",
};

enum prof_kind { PK_NULL, PK_ALLOC, PK_FREE, PK_DALLOC, PK_DFREE, PK_KINDS };
static const char *const prof_kind_name[] = {
	"null ioctl", "ALLOC", "FREE", "direct ALLOC", "direct FREE"
};

struct prof_ctx {
	int fd;
	enum prof_kind kind;
	uint64_t offs[PROF_CALLS];
	pid_t tid;
	pthread_barrier_t bar;
};

/* The worker: its tid for set_ftrace_pid, then the calls, then it waits
 * until tracing is off again before it exits. */
static void *prof_worker(void *p)
{
	struct prof_ctx *c = p;
	struct ks_ioctl_args a;
	int i;

	memset(&a, 0, sizeof(a));
	c->tid = gettid();
	pthread_barrier_wait(&c->bar);
	pthread_barrier_wait(&c->bar);
	for (i = 0; i < PROF_CALLS; i++) {
		switch (c->kind) {
		case PK_NULL:
			ioctl(c->fd, KSB_NULL_IOCTL, &a);
			break;
		case PK_ALLOC:
			ks_alloc(c->fd, &c->offs[i]);
			break;
		case PK_FREE:
			ks_free(c->fd, c->offs[i]);
			break;
		case PK_DALLOC:
			ks_alloc_direct(c->fd, &c->offs[i]);
			break;
		default:
			ks_free_direct(c->fd, c->offs[i]);
			break;
		}
	}
	pthread_barrier_wait(&c->bar);
	pthread_barrier_wait(&c->bar);
	return NULL;
}

/* Durations (ns) of the depth-1 calls in the trace, at most @max */
static int prof_read(double *d, int max)
{
	char path[128], line[512];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/trace", g_tracefs);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && n < max) {
		char *us = strstr(line, " us ");
		char *p;

		if (line[0] == '#' || !us || !strstr(line, "();"))
			continue;
		for (p = us; p > line && (p[-1] == '.' || (p[-1] >= '0' && p[-1] <= '9')); p--)
			;
		d[n++] = atof(p) * 1e3;
	}
	fclose(f);
	return n;
}

/* Instructions per call of @func in calls of @kind, and calls per call */
static int prof_one(struct prof_ctx *c, enum prof_kind kind, double *per_call,
		    double *calls)
{
	double d[4 * PROF_CALLS];
	pthread_t th;
	char tid[16];
	int n, ret;

	c->kind = kind;
	if (kind == PK_FREE || kind == PK_DFREE)
		if (ks_batch(c->fd, KSMETHOD_KSALLOC_BATCH_ALLOC, c->offs, PROF_CALLS))
			return -EIO;
	pthread_barrier_init(&c->bar, NULL, 2);
	if (pthread_create(&th, NULL, prof_worker, c))
		die("pthread_create");
	pthread_barrier_wait(&c->bar);
	snprintf(tid, sizeof(tid), "%d", c->tid);
	ret = tracefs_write("set_ftrace_pid", tid);
	if (!ret)
		ret = tracefs_write("trace", "");
	if (!ret)
		ret = tracefs_write("tracing_on", "1");
	pthread_barrier_wait(&c->bar);
	pthread_barrier_wait(&c->bar);
	tracefs_write("tracing_on", "0");
	pthread_barrier_wait(&c->bar);
	pthread_join(th, NULL);
	pthread_barrier_destroy(&c->bar);
	if (kind == PK_ALLOC || kind == PK_DALLOC)
		free_all(c->fd, c->offs, PROF_CALLS);
	if (ret)
		return ret;
	n = prof_read(d, 4 * PROF_CALLS);
	*calls = (double)n / PROF_CALLS;
	*per_call = n ? median_inplace(d, n) : 0;
	return 0;
}

/*
 * Trace @func alone. The filter files apply a name when they are closed,
 * where an unknown one cannot fail the write: read it back.
 */
static int prof_filter(const char *func)
{
	char path[128], line[256];
	size_t len = strlen(func);
	int ok = 0;
	FILE *f;

	if (tracefs_write("set_ftrace_filter", func) ||
	    tracefs_write("set_graph_function", func))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/set_ftrace_filter", g_tracefs);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (fgets(line, sizeof(line), f))
		ok = !strncmp(line, func, len) && (line[len] == ' ' || line[len] == '\n');
	fclose(f);
	return ok ? 0 : -ENOENT;
}

static void trace_profile(int fd)
{
	struct prof_ctx c = { .fd = fd };
	double v[ARRAY_SIZE(prof_funcs)][PK_KINDS], k[ARRAY_SIZE(prof_funcs)][PK_KINDS];
	unsigned int i, j;
	char cell[32];

	printf("KSA-BENCH-PROFILE-BEGIN\n");
	if (tracefs_write("tracing_on", "0") ||
	    tracefs_write("current_tracer", "nop") ||
	    tracefs_write("max_graph_depth", "1") ||
	    prof_filter(prof_funcs[0]) ||
	    tracefs_write("current_tracer", "function_graph")) {
		printf("no profile: %s\nKSA-BENCH-PROFILE-END\n", g_trace_err);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(prof_funcs); i++) {
		v[i][0] = -1;
		/* Only this function patched: nested calls cost nothing extra */
		if (prof_filter(prof_funcs[i]))
			continue;
		for (j = 0; j < PK_KINDS; j++)
			if (prof_one(&c, j, &v[i][j], &k[i][j]))
				v[i][0] = -1;
	}
	tracefs_write("current_tracer", "nop");
	tracefs_write("set_ftrace_filter", "");
	tracefs_write("set_graph_function", "");
	tracefs_write("max_graph_depth", "0");
	tracefs_write("set_ftrace_pid", "");
	tracefs_write("trace", "");
	tracefs_write("tracing_on", "1");
	if (v[0][0] < 0) {
		printf("no profile: %s not traceable\nKSA-BENCH-PROFILE-END\n", prof_funcs[0]);
		return;
	}

	printf("# instructions per call of each function (children included), in one\n"
	       "# call of each kind; NxM: N calls of M instructions; the tracer's\n"
	       "# own cost (%.0f, %s) taken off; ?: not traceable\n",
	       v[0][PK_NULL], prof_funcs[0]);
	printf("%-28s", "function");
	for (j = 0; j < PK_KINDS; j++)
		printf(" %13s", prof_kind_name[j]);
	printf("\n");
	for (i = 1; i < ARRAY_SIZE(prof_funcs); i++) {
		printf("%-28s", prof_funcs[i]);
		for (j = 0; j < PK_KINDS; j++) {
			double n = k[i][j], m = v[i][j] - v[0][PK_NULL];

			if (v[i][0] < 0)
				snprintf(cell, sizeof(cell), "?");
			else if (n < 0.5)
				snprintf(cell, sizeof(cell), "-");
			else if (n < 1.5)
				snprintf(cell, sizeof(cell), "%.0f", m);
			else
				snprintf(cell, sizeof(cell), "%.0fx%.0f", n, m);
			printf(" %13s", cell);
		}
		printf("\n");
	}
	printf("KSA-BENCH-PROFILE-END\n");
}

/*
 * function_graph traces of one call of each kind. Every traced function
 * costs the tracer's own overhead, so the durations are inflated; what the
 * trace shows is the path: which functions each call runs.
 */
static void trace_calls(int pin)
{
	struct trace_ctx t = { .fd = must_create(pin, 64, 0), .vgem = find_vgem() };

	if (access("/sys/kernel/tracing/trace", F_OK))
		g_tracefs = "/sys/kernel/debug/tracing";
	trace_section("null ioctl, ALLOC, FREE, batch ALLOC and FREE of 16",
		      "__x64_sys_ioctl", NULL, "0", trace_ks, &t);
	if (t.vgem >= 0)
		trace_section("one vgem frame: CREATE_DUMB, PRIME_HANDLE_TO_FD, close, GEM_CLOSE (6 levels)",
			      "__x64_sys_ioctl", "__x64_sys_close", "6", trace_vgem, &t);
	/* Durations are instruction counts only under icount */
	if (g_icount)
		trace_profile(t.fd);
	close(t.fd);
	if (t.vgem >= 0)
		close(t.vgem);
}

/* ------------------------------------------------------------------ */
/* Output                                                               */

/* A time, or an instruction count in -i mode */
static const char *fmt_ns(double ns, char *buf, size_t len)
{
	if (g_icount)
		snprintf(buf, len, "%.0f instr", ns);
	else if (ns >= 1e6)
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	else if (ns >= 1e3)
		snprintf(buf, len, "%.2f us", ns / 1e3);
	else
		snprintf(buf, len, "%.0f ns", ns);
	return buf;
}

static void fmt_value(const struct row *r, char *buf, size_t len)
{
	char t[32];

	if (r->status == ST_SKIP || r->status == ST_ERROR)
		snprintf(buf, len, "-");
	else if (!strcmp(r->unit, "B"))
		snprintf(buf, len, "%.1f B", r->value);
	else
		snprintf(buf, len, "%s/%s", fmt_ns(r->value, t, sizeof(t)), r->unit);
}

static void print_table(const struct utsname *u)
{
	char v[32], b[32], ratio[16], target[16];
	int i;

	printf("\nksalloc-bench: kernel %s, %d CPU%s, %d rounds, median; "
	       "clock read %.0f %s; %s\n", u->release, g_ncpus,
	       g_ncpus == 1 ? "" : "s", g_rounds, g_clock_ns,
	       g_icount ? "instr" : "ns", g_icount ?
	       "figures in guest instructions (icount)" : "figures in TCG time");
	printf("%-46s %14s  %-18s %10s %14s %8s %7s\n", "case", "value",
	       "baseline", "baseline", "ratio", "target", "result");
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		fmt_value(r, v, sizeof(v));
		if (r->base_key[0] && r->status != ST_SKIP && r->status != ST_ERROR) {
			if (!strcmp(r->unit, "B"))
				snprintf(b, sizeof(b), "%.0f B", r->base);
			else
				fmt_ns(r->base, b, sizeof(b));
			snprintf(ratio, sizeof(ratio), "%.3fx", r->ratio);
		} else {
			b[0] = 0;
			ratio[0] = 0;
		}
		if (r->target_op[0])
			snprintf(target, sizeof(target), "%s%gx", r->target_op,
				 r->target);
		else
			target[0] = 0;
		printf("%-46s %14s  %-18s %10s %14s %8s %7s\n", r->label, v,
		       r->base_key, b, ratio, target, status_name[r->status]);
		if (r->note[0])
			printf("%-46s   %s\n", "", r->note);
	}
}

static void print_csv(const struct utsname *u)
{
	int i;

	printf("KSA-BENCH-CSV-BEGIN\n");
	printf("kernel,cpus,key,label,unit,value,min,max,baseline,baseline_value,"
	       "ratio,target_op,target,status,note\n");
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		printf("%s,%d,%s,\"%s\",%s,%.6g,%.6g,%.6g,%s,%.6g,%.6g,%s,%g,%s,\"%s\"\n",
		       u->release, g_ncpus, r->key, r->label, r->unit, r->value,
		       r->vmin, r->vmax, r->base_key, r->base, r->ratio,
		       r->target_op, r->target,
		       r->status == ST_INFO ? "info" : status_name[r->status],
		       r->note);
	}
	printf("KSA-BENCH-CSV-END\n");
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void print_json(const struct utsname *u, const char *clocksource)
{
	int i;

	printf("KSA-BENCH-JSON-BEGIN\n");
	printf("{\"kernel\": ");
	json_str(u->release);
	printf(", \"cpus\": %d, \"rounds\": %d, \"metric\": \"%s\", \"clocksource\": ",
	       g_ncpus, g_rounds, g_icount ? "instructions" : "ns");
	json_str(clocksource);
	printf(", \"clock_read_ns\": %.1f, \"rows\": [\n", g_clock_ns);
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		printf("  {\"key\": ");
		json_str(r->key);
		printf(", \"label\": ");
		json_str(r->label);
		printf(", \"unit\": ");
		json_str(r->unit);
		printf(", \"value\": %.6g, \"min\": %.6g, \"max\": %.6g, "
		       "\"baseline\": ", r->value, r->vmin, r->vmax);
		json_str(r->base_key);
		printf(", \"baseline_value\": %.6g, \"ratio\": %.6g, "
		       "\"target_op\": ", r->base, r->ratio);
		json_str(r->target_op);
		printf(", \"target\": %g, \"status\": ", r->target);
		json_str(r->status == ST_INFO ? "info" : status_name[r->status]);
		printf(", \"note\": ");
		json_str(r->note);
		printf("}%s\n", i + 1 < nrows ? "," : "");
	}
	printf("]}\n");
	printf("KSA-BENCH-JSON-END\n");
}

/* ------------------------------------------------------------------ */

static void measure_clock(void)
{
	double s[5];
	int i, j;

	for (i = 0; i < 5; i++) {
		double t0 = now_ns();

		for (j = 0; j < 1000; j++)
			now_ns();
		s[i] = (now_ns() - t0) / 1001;
	}
	g_clock_ns = median(s, 5);
}

/*
 * The stages, in the order the dispatcher passes them. ALLOC and FREE are
 * KSMETHOD_STREAMALLOCATOR_*; a FREE's value is frame 0's offset (never
 * allocated on the allocator the stages use) unless given.
 */
#define KS_ALLOC	.cmd = IOCTL_KS_METHOD, .id_id = KSMETHOD_STREAMALLOCATOR_ALLOC, \
			.id_flags = KSMETHOD_TYPE_SEND, .in_size = 24, .out_size = 8
#define KS_FREE		.cmd = IOCTL_KS_METHOD, .id_id = KSMETHOD_STREAMALLOCATOR_FREE, \
			.id_flags = KSMETHOD_TYPE_READ, .in_size = 24, .out_size = 8
static struct ksidentifier g_unknown_id;

static const struct stage ks_stages[] = {
	{ "ks_reject_args", "KS request, reserved field set (EINVAL)", "null_ioctl",
	  "copy_from_user of ks_ioctl_args (48 B), request set-up, argument checks, "
	  "bytes_returned put_user", KS_ALLOC, .reserved = 1, .want = EINVAL },
	{ "ks_unknown_set", "KS method, unknown set (ENOENT)", "ks_reject_args",
	  "identifier copy_from_user (24 B), type check, set lookup (2 GUIDs, no match)",
	  KS_ALLOC, .id = &g_unknown_id, .want = ENOENT },
	{ "ks_unknown_item", "KS method, known set, unknown item (ENOENT)", "ks_unknown_set",
	  "set found at its first GUID instead of no match in 2; item lookup (2 ids)",
	  KS_ALLOC, .id_id = 0x7f, .want = ENOENT },
	{ "ks_refused_type", "ALLOC with a refused type flag (EOPNOTSUPP)", "ks_unknown_item",
	  "item found at its first id; unsupported-type check",
	  KS_ALLOC, .id_flags = KSMETHOD_TYPE_SEND | KSMETHOD_TYPE_SOURCE,
	  .want = EOPNOTSUPP },
};

static const struct stage alloc_stages[] = {
	{ "alloc_short_out", "ALLOC, value buffer too small (EOVERFLOW)", "ks_refused_type",
	  "item flag checks, MinMethod check, value size check; bytes_returned = 8",
	  KS_ALLOC, .out_size = 4, .want = EOVERFLOW },
	{ "alloc_eagain", "ALLOC, O_NONBLOCK and no frame free (EAGAIN)", "alloc_short_out",
	  "value buffer zeroed (8 B), handler call, pool lock and unlock",
	  KS_ALLOC, .empty = 1, .want = EAGAIN },
};

static const struct stage free_stages[] = {
	{ "free_short_out", "FREE, value buffer too small (EINVAL)", "ks_refused_type",
	  "item flag checks, MinMethod check, value size check",
	  KS_FREE, .out_size = 4, .want = EINVAL },
	{ "free_misaligned", "FREE of an offset inside a frame (EINVAL)", "free_short_out",
	  "value buffer zeroed and copy_from_user (8 B), handler call, offset to index",
	  KS_FREE, .value = 1, .want = EINVAL },
	{ "free_einval", "FREE of a frame not allocated (EINVAL)", "free_misaligned",
	  "pool lock, bitmap test, unlock", KS_FREE, .want = EINVAL },
};

static const struct stage direct_alloc_stages[] = {
	{ "direct_alloc_eagain", "ALLOC direct, no frame free (EAGAIN)", "null_ioctl",
	  "direct ioctl instead of the KS dispatcher's refusal; pool lock and unlock",
	  .cmd = IOCTL_KSALLOC_ALLOC_FRAME, .empty = 1, .want = EAGAIN },
};

static const struct stage direct_free_stages[] = {
	{ "direct_free_misaligned", "FREE direct, offset inside a frame (EINVAL)", "null_ioctl",
	  "direct ioctl instead of the KS dispatcher's refusal; get_user, offset to index",
	  .cmd = IOCTL_KSALLOC_FREE_FRAME, .value = 1, .want = EINVAL },
	{ "direct_free_einval", "FREE direct, frame not allocated (EINVAL)",
	  "direct_free_misaligned", "pool lock, bitmap test, unlock",
	  .cmd = IOCTL_KSALLOC_FREE_FRAME, .want = EINVAL },
};

/* Note on @r what it costs over the row @from and why */
static void note_step(struct row *r, const char *from, const char *adds)
{
	const struct row *f = find_row(from);
	char d[32];

	if (!r || r->status == ST_ERROR)
		return;
	if (!f || f->status == ST_ERROR || f->status == ST_SKIP) {
		row_note(r, "%s", adds);
		return;
	}
	/* In TCG time a difference of two medians is mostly noise */
	if (!g_icount) {
		row_note(r, "beyond %s: %s", from, adds);
		return;
	}
	fmt_ns(r->value - f->value, d, sizeof(d));
	row_note(r, "%s%s over %s: %s", r->value >= f->value ? "+" : "", d, from, adds);
}

static void run_stages(const struct stage *st, int n, int fd, int empty,
		       struct bench *null_b)
{
	struct stage_ctx c;
	struct bench b;
	struct row *r;
	int i;

	for (i = 0; i < n; i++) {
		c = (struct stage_ctx){ .fd = st[i].empty ? empty : fd, .st = &st[i] };
		b = (struct bench){ .run = run_stage, .ctx = &c };
		r = figure(st[i].key, st[i].label, "op", &b, null_b);
		note_step(r, st[i].from, st[i].adds);
	}
}

/* ------------------------------------------------------------------ */
/* Scale: the cost of a call must not grow with the frames of the       */
/* allocator or the allocators of the process                           */

#define KSA_PARAMS	"/sys/module/ksalloc/parameters/"

static int param_read(const char *name, char *val, size_t len)
{
	char path[128];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), KSA_PARAMS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ok = fgets(val, len, f) != NULL;
	fclose(f);
	if (!ok)
		return -EIO;
	val[strcspn(val, "\n")] = 0;
	return 0;
}

static int param_write(const char *name, const char *val)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), KSA_PARAMS "%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The caps the scale rows raise, and their values before */
static const char *const scale_params[] = {
	"max_frames", "max_allocator_bytes", "max_total_bytes", "max_user_bytes"
};
#define NSCALE_PARAMS	(sizeof(scale_params) / sizeof(scale_params[0]))
static char scale_saved[NSCALE_PARAMS][32];

static int raise_caps(unsigned int frames, unsigned long long total)
{
	char v[NSCALE_PARAMS][32];
	int i, ret;

	snprintf(v[0], sizeof(v[0]), "%u", frames);
	snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)frames * FRAME_SIZE);
	snprintf(v[2], sizeof(v[2]), "%llu", total);
	/* the bench is one user: it may hold all of max_total_bytes */
	snprintf(v[3], sizeof(v[3]), "%llu", total);
	for (i = 0; i < (int)NSCALE_PARAMS; i++) {
		ret = param_read(scale_params[i], scale_saved[i], sizeof(scale_saved[i]));
		if (!ret)
			ret = param_write(scale_params[i], v[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static void restore_caps(void)
{
	int i;

	for (i = 0; i < (int)NSCALE_PARAMS; i++)
		if (scale_saved[i][0])
			param_write(scale_params[i], scale_saved[i]);
}

/*
 * ALLOC+FREE pairs on allocators of 4, 1024 and 65536 frames, half of
 * them held, so that the pair works in the middle of the free stack and
 * the bitmap. 65536 frames of 4 KiB are 256 MiB: the caps are raised
 * for it (and restored after).
 */
static void bench_scale(int pin, struct bench *null_b)
{
	static const uint32_t sizes[] = { 4, 1024, 65536 };
	struct fd_ctx c[3];
	struct bench base = { .run = run_pair, .ctx = &c[0], .units = 1,
			      .key = "scale_pair_4" };
	uint64_t *offs;
	char key[40], label[80];
	struct row *r;
	int i, fd;

	if (!wanted("scale"))
		return;
	fprintf(stderr, "  creating allocators of up to 65536 frames\n");
	offs = calloc(sizes[2], sizeof(*offs));
	if (!offs)
		die("calloc");
	if (raise_caps(sizes[2], 1ULL << 30)) {
		skipped("scale_pair_65536", "ALLOC+FREE pair, 65536 frames", "pair",
			"cannot raise the caps in " KSA_PARAMS);
		free(offs);
		return;
	}
	for (i = 0; i < 3; i++) {
		fd = create_allocator(pin, sizes[i], FRAME_SIZE, 0);
		c[i] = (struct fd_ctx){ .fd = fd };
		snprintf(key, sizeof(key), "scale_pair_%u", sizes[i]);
		snprintf(label, sizeof(label), "ALLOC+FREE pair, %u frames (half held)",
			 sizes[i]);
		if (fd < 0) {
			r = skipped(key, label, "pair", "");
			if (r)
				row_note(r, "allocator of %u frames: %s", sizes[i],
					 strerror(-fd));
			continue;
		}
		for (uint32_t k = 0; k < sizes[i] / 2; k += KSALLOC_BATCH_MAX)
			if (ks_batch(fd, KSMETHOD_KSALLOC_BATCH_ALLOC, offs + k,
				     sizes[i] / 2 - k < KSALLOC_BATCH_MAX ?
				     sizes[i] / 2 - k : KSALLOC_BATCH_MAX))
				die("batch ALLOC on %u frames: %s", sizes[i],
				    strerror(errno));
		{
			struct bench b = { .run = run_pair, .ctx = &c[i] };

			r = figure(key, label, "pair", &b, i && c[0].fd >= 0 ? &base : null_b);
			/* Exact counts: the same instructions whatever the size */
			if (r && i && c[0].fd >= 0 && g_icount)
				set_target(r, "<=", 1.01);
		}
	}
	for (i = 0; i < 3; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	restore_caps();
	free(offs);
}

/*
 * ALLOC with one live allocator in the process, then with 10,000: the fd
 * table grows, the module's list of allocators is 10,000 long, neither
 * may be on the path.
 */
static void bench_live(int pin)
{
	const int many = 10000;
	static uint64_t offs[BLOCK];
	struct rlimit rl = { many + 256, many + 256 };
	struct fd_ctx c, nc;
	struct bench b, null_b = { .run = run_null_ioctl, .ctx = &nc, .key = "null_ioctl" };
	struct row *r, *one;
	int *fds, i, fd;

	if (!wanted("live"))
		return;
	fds = calloc(many, sizeof(*fds));
	if (!fds)
		die("calloc");
	fd = must_create(pin, BLOCK, 0);
	c = (struct fd_ctx){ .fd = fd, .offs = offs };
	nc = (struct fd_ctx){ .fd = fd };
	b = (struct bench){ .run = run_single, .ctx = &c };
	one = figure("live1_alloc", "ALLOC, 1 live allocator in the process", "op", &b, &null_b);

	fprintf(stderr, "  creating %d allocators\n", many);
	if (setrlimit(RLIMIT_NOFILE, &rl))
		die("RLIMIT_NOFILE %d: %s", many + 256, strerror(errno));
	for (i = 0; i < many - 1; i++) {
		fds[i] = create_allocator(pin, 1, FRAME_SIZE, 0);
		if (fds[i] < 0)
			break;
	}
	if (i < many - 1) {
		r = skipped("live10000_alloc", "ALLOC, 10,000 live allocators in the process",
			    "op", "");
		if (r)
			row_note(r, "allocator %d: %s", i + 2, strerror(-fds[i]));
	} else {
		/* The newest one: the highest fd */
		close(fd);
		fd = must_create(pin, BLOCK, 0);
		c.fd = nc.fd = fd;
		null_b.n = 0;
		b = (struct bench){ .run = run_single, .ctx = &c };
		r = figure("live10000_alloc", "ALLOC, 10,000 live allocators in the process",
			   "op", &b, &null_b);
		if (r && one && one->value > 0 && r->status != ST_ERROR)
			row_note(r, "on fd %d: %.3fx ALLOC with 1 live allocator", fd,
				 r->value / one->value);
	}
	while (--i >= 0)
		close(fds[i]);
	close(fd);
	free(fds);
}

/* What a two-thread wall-time row means */
static void thr_note(struct row *r)
{
	if (!r || r->ratio <= 0)
		return;
	if (g_icount)
		row_note(r, "instructions of both CPUs per pair (vCPUs run in turn)");
	else
		row_note(r, "throughput %.0f k pairs/s, %.2fx of one thread",
			 1e6 / r->value, 1 / r->ratio);
}

/* ------------------------------------------------------------------ */
/* io_uring: a queued ALLOC's completion, and a producer/consumer pair  */
/* that uses nothing but io_uring, against their blocking forms.       */

/* A ring for one thread: DEFER_TASKRUN where the kernel has it */
static int ur_init(struct io_uring *ring, unsigned int entries)
{
	struct io_uring_params p = {
		.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
	};
	int ret = io_uring_queue_init_params(entries, ring, &p);

	if (ret == -EINVAL)
		ret = io_uring_queue_init(entries, ring, 0);
	return ret;
}

static void ur_cmd(struct io_uring *ring, int fd, uint32_t op, uint64_t addr,
		   uint32_t count, uint64_t user_data)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct ksalloc_uring_cmd *c;

	if (!sqe)
		die("io_uring: SQ full");
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = op;
	c = (struct ksalloc_uring_cmd *)sqe->cmd;
	c->addr = addr;
	c->count = count;
	c->flags = 0;
	sqe->user_data = user_data;
}

/* Submit, then reap @want CQEs, every one with res 0; 0 or -errno */
static int ur_submit_reap(struct io_uring *ring, unsigned int want)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_submit_and_wait(ring, want);

	if (ret < 0)
		return ret;
	for (ret = 0; want && !ret; want--) {
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret)
			return ret;
		/* frame 0 of a one-frame allocator, or a FREE's 0 */
		ret = cqe->res < 0 ? cqe->res : cqe->res ? -EPROTO : 0;
		io_uring_cqe_seen(ring, cqe);
	}
	return ret;
}

/*
 * The ping-pong of the blocked-ALLOC row, with queued io_uring ALLOCs:
 * each side submits [ALLOC of its allocator, FREE of the other's] and
 * waits for both CQEs. The ALLOC is queued (its frame is out) and
 * completed by the other side's FREE, so a round trip is two
 * FREE-to-CQE hops, as the blocked ALLOC's is two FREE-to-return hops.
 */
struct urpp_ctx {
	int pin;
	int a, b;		/* A ALLOCs from b and FREEs a; B the reverse */
	long n;
	pthread_barrier_t bar;
	volatile int err;
};

static void *urpp_thread_b(void *p)
{
	struct urpp_ctx *c = p;
	struct io_uring ring;
	int init = ur_init(&ring, 8), ret = init;
	long i;

	pthread_barrier_wait(&c->bar);
	for (i = 0; i < c->n + PP_WARMUP && !ret && !c->err; i++) {
		ur_cmd(&ring, c->a, KSALLOC_URING_CMD_ALLOC, 0, 0, 1);
		ur_cmd(&ring, c->b, KSALLOC_URING_CMD_FREE, 0, 0, 2);
		ret = ur_submit_reap(&ring, 2);
	}
	if (ret && !c->err)
		c->err = ret;
	if (!init)
		io_uring_queue_exit(&ring);
	return NULL;
}

static double run_uring_pingpong(void *p, long n)
{
	struct urpp_ctx *c = p;
	uint32_t reset = KSRESET_BEGIN;
	struct io_uring ring;
	double t0 = 0, t = 0;
	uint64_t off;
	pthread_t th;
	long i, inb = 0;
	int ret;

	c->n = n;
	c->err = 0;
	c->a = must_create(c->pin, 1, 0);
	c->b = must_create(c->pin, 1, 0);
	if (ks_alloc(c->a, &off) || ks_alloc(c->b, &off))
		return -errno;
	ret = ur_init(&ring, 8);
	if (ret)
		return ret;
	pthread_barrier_init(&c->bar, NULL, 2);
	if (pthread_create(&th, NULL, urpp_thread_b, c))
		die("pthread_create");
	pthread_barrier_wait(&c->bar);
	for (i = 0; i < PP_WARMUP + n && !ret && !c->err; i++) {
		if (i == PP_WARMUP)
			t0 = now_ns();
		ur_cmd(&ring, c->b, KSALLOC_URING_CMD_ALLOC, 0, 0, 1);
		ur_cmd(&ring, c->a, KSALLOC_URING_CMD_FREE, 0, 0, 2);
		ret = ur_submit_reap(&ring, 2);
		if (i >= PP_WARMUP)
			BATCH_STEP(i - PP_WARMUP, n, 4, inb, t, t0);
	}
	/* B's last ALLOC waits for one more FREE */
	if (!ret && !c->err) {
		ur_cmd(&ring, c->a, KSALLOC_URING_CMD_FREE, 0, 0, 2);
		ret = ur_submit_reap(&ring, 1);
	}
	if (ret || c->err) {
		/* Wake B wherever it waits */
		ks_ioctl(c->a, IOCTL_KS_RESET_STATE, &reset, sizeof(reset),
			 NULL, 0, 0, NULL);
		ks_ioctl(c->b, IOCTL_KS_RESET_STATE, &reset, sizeof(reset),
			 NULL, 0, 0, NULL);
	}
	pthread_join(th, NULL);
	io_uring_queue_exit(&ring);
	pthread_barrier_destroy(&c->bar);
	close(c->a);
	close(c->b);
	if (ret || c->err)
		return ret ? ret : c->err;
	return t;
}

/*
 * Producer and consumer threads on one allocator of PC_FRAMES frames,
 * the offsets going through a pipe. Blocking: the producer ALLOCs
 * (sleeping while the pool is empty) and writes each offset; the
 * consumer reads them and FREEs. io_uring: the producer keeps PC_DEPTH
 * ALLOCs in flight and writes each frame's offset with IORING_OP_WRITE;
 * the consumer reads with IORING_OP_READ and frees what it read with one
 * BATCH_FREE. One operation is one frame through; the consumer's wall
 * time is measured.
 */
#define PC_FRAMES	4
#define PC_DEPTH	8

struct pc_ctx {
	int pin;
	int uring;
	int fd;			/* the allocator */
	int pipe[2];
	long n;
	pthread_barrier_t bar;
	volatile int err;
};

/* The producer failed: the consumer sees the end of the pipe */
static void pc_fail(struct pc_ctx *c, int err)
{
	c->err = err;
	close(c->pipe[1]);
	c->pipe[1] = -1;
}

static void *pc_producer_blocking(struct pc_ctx *c)
{
	uint64_t off;
	long i;

	for (i = 0; i < c->n && !c->err; i++) {
		if (ks_alloc_direct(c->fd, &off) ||
		    write(c->pipe[1], &off, 8) != 8) {
			pc_fail(c, -EIO);
			break;
		}
	}
	return NULL;
}

static void *pc_producer_uring(struct pc_ctx *c)
{
	uint64_t offs[PC_FRAMES];
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	long sent = 0, written = 0;
	int init = ur_init(&ring, 2 * PC_DEPTH), ret = init;

	for (; !ret && sent < c->n && sent < PC_DEPTH; sent++)
		ur_cmd(&ring, c->fd, KSALLOC_URING_CMD_ALLOC, 0, 0, 1);
	while (!ret && written < c->n && !c->err) {
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0)
			break;
		ret = 0;
		while (!ret && !io_uring_peek_cqe(&ring, &cqe)) {
			int res = cqe->res;

			if (cqe->user_data == 2) {
				ret = res == 8 ? 0 : -EIO;
				written += !ret;
			} else if (res < 0 || res >= PC_FRAMES) {
				ret = res < 0 ? res : -EPROTO;
			} else {
				/* A frame: its offset to the consumer */
				offs[res] = (uint64_t)res * FRAME_SIZE;
				sqe = io_uring_get_sqe(&ring);
				io_uring_prep_write(sqe, c->pipe[1], &offs[res],
						    8, 0);
				sqe->user_data = 2;
				if (sent < c->n) {
					ur_cmd(&ring, c->fd,
					       KSALLOC_URING_CMD_ALLOC, 0, 0, 1);
					sent++;
				}
			}
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	if (!init)
		io_uring_queue_exit(&ring);
	if (ret)
		pc_fail(c, ret);
	return NULL;
}

static void *pc_producer(void *p)
{
	struct pc_ctx *c = p;

	pthread_barrier_wait(&c->bar);
	return c->uring ? pc_producer_uring(c) : pc_producer_blocking(c);
}

static int pc_consume_blocking(struct pc_ctx *c)
{
	uint64_t off;
	long i;

	for (i = 0; i < c->n && !c->err; i++)
		if (read(c->pipe[0], &off, 8) != 8 ||
		    ks_free_direct(c->fd, off))
			return -EIO;
	return c->err;
}

static int pc_consume_uring(struct pc_ctx *c)
{
	uint64_t buf[2][PC_DEPTH];
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	long done = 0;
	int cur = 0, ret = ur_init(&ring, 8);

	if (ret)
		return ret;
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, c->pipe[0], buf[cur], sizeof(buf[cur]), 0);
	sqe->user_data = 3;
	while (!ret && done < c->n && !c->err) {
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0)
			break;
		ret = 0;
		while (!ret && !io_uring_peek_cqe(&ring, &cqe)) {
			int res = cqe->res;

			if (cqe->user_data == 4) {
				ret = res;
			} else if (res <= 0 || res % 8) {
				ret = res < 0 ? res : -EPROTO;
			} else {
				/* Free what came (read at issue), read on */
				ur_cmd(&ring, c->fd,
				       KSALLOC_URING_CMD_BATCH_FREE,
				       (uintptr_t)buf[cur], res / 8, 4);
				done += res / 8;
				cur ^= 1;
				if (done < c->n) {
					sqe = io_uring_get_sqe(&ring);
					io_uring_prep_read(sqe, c->pipe[0],
							   buf[cur],
							   sizeof(buf[cur]), 0);
					sqe->user_data = 3;
				}
			}
			io_uring_cqe_seen(&ring, cqe);
		}
	}
	/* The last BATCH_FREEs */
	if (!ret)
		ret = io_uring_submit_and_wait(&ring, 0) < 0 ? -EIO : 0;
	while (!ret && !io_uring_peek_cqe(&ring, &cqe)) {
		ret = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);
	return ret;
}

static double run_prodcons(void *p, long n)
{
	struct pc_ctx *c = p;
	uint32_t reset = KSRESET_BEGIN;
	double t0;
	pthread_t th;
	int ret;

	c->n = n;
	c->err = 0;
	c->fd = must_create(c->pin, PC_FRAMES, 0);
	if (pipe(c->pipe))
		return -errno;
	pthread_barrier_init(&c->bar, NULL, 2);
	if (pthread_create(&th, NULL, pc_producer, c))
		die("pthread_create");
	pthread_barrier_wait(&c->bar);
	t0 = now_ns();
	ret = c->uring ? pc_consume_uring(c) : pc_consume_blocking(c);
	t0 = now_ns() - t0;
	if (ret) {
		c->err = ret;
		ks_ioctl(c->fd, IOCTL_KS_RESET_STATE, &reset, sizeof(reset),
			 NULL, 0, 0, NULL);
		close(c->pipe[0]);
	}
	pthread_join(th, NULL);
	pthread_barrier_destroy(&c->bar);
	if (!ret)
		close(c->pipe[0]);
	if (c->pipe[1] >= 0)
		close(c->pipe[1]);
	close(c->fd);
	if (ret || c->err)
		return ret ? ret : c->err;
	return t0;
}

static void bench_uring(int pin)
{
	struct urpp_ctx ur = { .pin = pin };
	struct pp_ctx efd = { .kind = PP_EVENTFD };
	struct pp_ctx ks = { .kind = PP_KS_BLOCK, .pin = pin };
	struct pc_ctx pcb = { .pin = pin };
	struct pc_ctx pcu = { .pin = pin, .uring = 1 };
	struct bench efd_b = { .run = run_pingpong, .ctx = &efd, .min_n = 8,
			       .key = "eventfd ping-pong" };
	struct bench ks_b = { .run = run_pingpong, .ctx = &ks, .min_n = 8,
			      .key = "blocked-ALLOC ping-pong" };
	struct bench pcb_b = { .run = run_prodcons, .ctx = &pcb, .min_n = 64,
			       .key = "blocking producer/consumer" };
	struct bench b;
	struct io_uring probe;
	struct row *r;
	const char *why = NULL;

	/* A consumer that failed closes its end of the pipe */
	signal(SIGPIPE, SIG_IGN);
	if (ur_init(&probe, 1))
		why = "no io_uring";
	else
		io_uring_queue_exit(&probe);
	if (!why) {
		FILE *f = fopen("/sys/class/misc/ksalloc/uring_queue", "r");
		int q = 0;

		if (!f || fscanf(f, "%d", &q) != 1 || q != 1)
			why = "this kernel never queues an io_uring ALLOC";
		if (f)
			fclose(f);
	}
	if (why) {
		skipped("uring_wake", "queued io_uring ALLOC round trip", "rtt", why);
		skipped("uring_wake_vs_alloc", "queued io_uring ALLOC vs blocked ALLOC",
			"rtt", why);
		skipped("uring_prodcons", "producer/consumer, io_uring only", "frame", why);
		return;
	}
	b = (struct bench){ .run = run_uring_pingpong, .ctx = &ur, .min_n = 8 };
	r = figure("uring_wake", "queued io_uring ALLOC round trip", "rtt", &b, &efd_b);
	if (r)
		row_note(r, "each side: [ALLOC (queued), FREE of the other's] then both CQEs: two FREE-to-CQE hops");
	b = (struct bench){ .run = run_uring_pingpong, .ctx = &ur, .min_n = 8 };
	r = figure("uring_wake_vs_alloc", "queued io_uring ALLOC vs blocked ALLOC",
		   "rtt", &b, &ks_b);
	if (r)
		row_note(r, "the same round trip against the blocked-ALLOC ping-pong");
	b = (struct bench){ .run = run_prodcons, .ctx = &pcu, .min_n = 64 };
	r = figure("uring_prodcons", "producer/consumer, io_uring only", "frame", &b,
		   &pcb_b);
	if (r && r->ratio > 0)
		row_note(r, "%d frames, ALLOCs %d deep, offsets over a pipe; %.0f k frames/s, %.2fx the blocking pair",
			 PC_FRAMES, PC_DEPTH, 1e6 / r->value, 1 / r->ratio);
}

static void bench_all(int pin)
{
	static uint64_t offs[BLOCK];
	struct fd_ctx null_c, alloc_c, free_c, pair_c, batch_c, bt16_c;
	struct fd_ctx dalloc_c, dfree_c, dpair_c;
	struct bench null_b = { .run = run_null_ioctl, .ctx = &null_c };
	struct bench b, pair_b, bt16_b;
	struct row *r;
	int fd, fd64, empty, i;
	char key[40], label[80], buf[32];
	uint64_t off;
	static const uint32_t batches[] = { 1, 4, 16, 64 };

	fd = must_create(pin, BLOCK, 0);
	fd64 = must_create(pin, BLOCK, 0);
	null_c = (struct fd_ctx){ .fd = fd };
	null_b.key = "null_ioctl";

	/* The floor and the dispatcher's fixed cost */
	if (wanted("null")) {
		r = add_row("null_ioctl", "null ioctl (unknown cmd, ENOTTY)", "op");
		null_b.n = 0;
		calibrate(&null_b);
		for (i = 0; i < g_rounds; i++)
			null_b.samples[i] = sample(&null_b);
		r->value = median(null_b.samples, g_rounds);
		r->ratio = 1;
		r->vmin = r->vmax = null_b.samples[0];
		for (i = 1; i < g_rounds; i++) {
			if (null_b.samples[i] < r->vmin)
				r->vmin = null_b.samples[i];
			if (null_b.samples[i] > r->vmax)
				r->vmax = null_b.samples[i];
		}
		row_note(r, "the floor: syscall, fd lookup, LSM hook, f_op->unlocked_ioctl");
	}
	b = (struct bench){ .run = run_getppid };
	figure("syscall_getppid", "getppid() system call", "op", &b, &null_b);

	/* The stages of a KS request, then ALLOC and FREE (each timed alone
	 * on a 1024-frame allocator) and the round trip */
	empty = must_create(pin, 1, O_NONBLOCK);
	if (ks_alloc(empty, &off))
		die("ALLOC on a new allocator: %s", strerror(errno));
	run_stages(ks_stages, ARRAY_SIZE(ks_stages), fd, empty, &null_b);
	run_stages(alloc_stages, ARRAY_SIZE(alloc_stages), fd, empty, &null_b);
	alloc_c = (struct fd_ctx){ .fd = fd64, .mode = 0, .offs = offs };
	b = (struct bench){ .run = run_single, .ctx = &alloc_c };
	r = figure("alloc", "ALLOC (KSMETHOD_STREAMALLOCATOR_ALLOC)", "op", &b, &null_b);
	note_step(r, "alloc_eagain", "frame taken (free stack, bitmap, counts), "
		  "value copy_to_user (8 B), bytes_returned = 8");
	if (r)
		set_target(r, "<=", 1.3);
	run_stages(free_stages, ARRAY_SIZE(free_stages), fd, empty, &null_b);
	free_c = (struct fd_ctx){ .fd = fd64, .mode = 1, .offs = offs };
	b = (struct bench){ .run = run_single, .ctx = &free_c };
	r = figure("free", "FREE (KSMETHOD_STREAMALLOCATOR_FREE)", "op", &b, &null_b);
	note_step(r, "free_einval", "bit cleared, free-stack push, poll wake-up check, "
		  "FREEFRAME events checked (none enabled)");
	if (r)
		set_target(r, "<=", 1.3);
	pair_c = (struct fd_ctx){ .fd = fd64 };
	b = (struct bench){ .run = run_pair, .ctx = &pair_c, .units = 2 };
	r = figure("pair_per_call", "ALLOC+FREE round trip, per call", "call", &b, &null_b);
	if (r) {
		set_target(r, "<=", 1.3);
		row_note(r, "one pair = %s", fmt_ns(2 * r->value, buf, sizeof(buf)));
	}

	/* The direct calls (IOCTL_KSALLOC_ALLOC_FRAME / _FREE_FRAME) */
	run_stages(direct_alloc_stages, ARRAY_SIZE(direct_alloc_stages), fd, empty, &null_b);
	dalloc_c = (struct fd_ctx){ .fd = fd64, .mode = 0, .direct = 1, .offs = offs };
	b = (struct bench){ .run = run_single, .ctx = &dalloc_c };
	r = figure("alloc_direct", "ALLOC, direct ioctl", "op", &b, &null_b);
	note_step(r, "direct_alloc_eagain", "frame taken, put_user of the offset");
	if (r)
		set_target(r, "<=", 1.3);
	run_stages(direct_free_stages, ARRAY_SIZE(direct_free_stages), fd, empty, &null_b);
	dfree_c = (struct fd_ctx){ .fd = fd64, .mode = 1, .direct = 1, .offs = offs };
	b = (struct bench){ .run = run_single, .ctx = &dfree_c };
	r = figure("free_direct", "FREE, direct ioctl", "op", &b, &null_b);
	note_step(r, "direct_free_einval", "bit cleared, free-stack push, poll wake-up "
		  "check, FREEFRAME events checked");
	if (r)
		set_target(r, "<=", 1.3);
	dpair_c = (struct fd_ctx){ .fd = fd64, .direct = 1 };
	b = (struct bench){ .run = run_pair, .ctx = &dpair_c, .units = 2 };
	r = figure("pair_direct_per_call", "ALLOC+FREE round trip, direct, per call",
		   "call", &b, &null_b);
	if (r) {
		set_target(r, "<=", 1.3);
		row_note(r, "one pair = %s", fmt_ns(2 * r->value, buf, sizeof(buf)));
	}
	close(empty);

	/* Batches */
	for (i = 0; i < 4; i++) {
		int mode;

		for (mode = 0; mode < 2; mode++) {
			batch_c = (struct fd_ctx){ .fd = fd64, .mode = mode,
						   .batch = batches[i], .offs = offs };
			b = (struct bench){ .run = run_batch, .ctx = &batch_c,
					    .units = batches[i] };
			snprintf(key, sizeof(key), "batch%u_%s", batches[i],
				 mode ? "free" : "alloc");
			snprintf(label, sizeof(label), "batch %s, N=%u, per frame",
				 mode ? "FREE" : "ALLOC", batches[i]);
			r = figure(key, label, "frame", &b, &null_b);
			if (r && batches[i] == 16)
				set_target(r, "<=", 0.3);
		}
	}

	/* The baselines of everything per frame: one ALLOC+FREE pair, and
	 * batch ALLOC+FREE of 16 frames per frame */
	pair_b = (struct bench){ .run = run_pair, .ctx = &pair_c, .key = "ks_pair" };
	bt16_c = (struct fd_ctx){ .fd = fd64, .mode = 2, .batch = 16, .offs = offs };
	bt16_b = (struct bench){ .run = run_batch, .ctx = &bt16_c, .units = 16,
				 .key = "ks_batch16_pair" };

	/* Lower bound: the user-space pool */
	{
		struct upool *up = up_create(UP_FRAMES);

		b = (struct bench){ .run = run_upool_pair, .ctx = up };
		r = figure("upool_pair", "user-space futex pool, alloc+free pair", "pair",
			   &b, &pair_b);
		if (r)
			row_note(r, "shared memory, no kernel crossing: the lower bound");
		munmap(up, sizeof(*up));
	}

	/* Peers: a fresh dma-buf per frame */
	{
		struct fd_ctx vc;
		int vfd = find_vgem();

		if (vfd < 0) {
			skipped("vgem_dmabuf", "vgem dumb buffer + dma-buf fd, per frame",
				"frame", "no vgem device (/dev/dri/card* named vgem)");
		} else {
			vc = (struct fd_ctx){ .fd = vfd };
			b = (struct bench){ .run = run_vgem, .ctx = &vc };
			r = figure("vgem_dmabuf", "vgem dumb buffer + dma-buf fd, per frame",
				   "frame", &b, &pair_b);
			if (r) {
				set_target(r, ">=", 50);
				row_note(r, "CREATE_DUMB 4 KiB, PRIME_HANDLE_TO_FD, close, GEM_CLOSE");
			}
			/* The same against frames taken and returned 16 at a time */
			b = (struct bench){ .run = run_vgem, .ctx = &vc };
			r = figure("vgem_dmabuf_vs_batch16",
				   "vgem dma-buf per frame, vs batched (N=16)", "frame",
				   &b, &bt16_b);
			if (r)
				set_target(r, ">=", 50);
			close(vfd);
		}
	}
	{
		struct fd_ctx hc;
		int hfd = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);

		if (hfd < 0) {
			skipped("dma_heap", "dma-heap system heap, per frame", "frame",
				"no /dev/dma_heap/system");
		} else {
			hc = (struct fd_ctx){ .fd = hfd };
			b = (struct bench){ .run = run_dma_heap, .ctx = &hc };
			r = figure("dma_heap", "dma-heap system heap, per frame", "frame",
				   &b, &pair_b);
			if (r)
				row_note(r, "DMA_HEAP_IOCTL_ALLOC 4 KiB, close");
			close(hfd);
		}
	}
	{
		struct udmabuf_ctx uc = { .dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC) };

		uc.memfd = memfd_create("bench", MFD_ALLOW_SEALING | MFD_CLOEXEC);
		if (uc.dev < 0 || uc.memfd < 0 || ftruncate(uc.memfd, FRAME_SIZE) ||
		    fcntl(uc.memfd, F_ADD_SEALS, F_SEAL_SHRINK)) {
			skipped("udmabuf", "udmabuf from a memfd, per frame", "frame",
				uc.dev < 0 ? "no /dev/udmabuf" : "memfd set-up failed");
		} else {
			b = (struct bench){ .run = run_udmabuf, .ctx = &uc };
			r = figure("udmabuf", "udmabuf from a memfd, per frame", "frame",
				   &b, &pair_b);
			if (r)
				row_note(r, "UDMABUF_CREATE 4 KiB of one sealed memfd, close");
		}
		if (uc.dev >= 0)
			close(uc.dev);
		if (uc.memfd >= 0)
			close(uc.memfd);
	}

	/*
	 * Two threads: with one CPU they only take turns, so these rows need
	 * two. Under icount QEMU runs the vCPUs in turn (no MTTCG) and the
	 * clock counts the instructions of both: the wall time per pair is
	 * then the work per pair of both CPUs, while a thread's own time
	 * depends on where QEMU switched vCPUs, so it is measured in TCG time
	 * only.
	 */
	if (g_ncpus > 1) {
		struct tp_ctx one = { .mode = TP_ONE, .pin = pin };
		struct tp_ctx sep = { .mode = TP_SEPARATE, .pin = pin };
		struct tp_ctx shr = { .mode = TP_SHARED, .pin = pin };
		struct tp_ctx sep_a = { .mode = TP_SEPARATE, .pin = pin, .aggregate = 1 };
		struct tp_ctx shr_a = { .mode = TP_SHARED, .pin = pin, .aggregate = 1 };
		struct bench one_b = { .run = run_threads, .ctx = &one,
				       .key = "1 thread pair" };

		b = (struct bench){ .run = run_threads, .ctx = &sep };
		if (!g_icount)
			figure("thr2_sep_latency", "2 threads, own allocators: pair per thread",
			       "pair", &b, &one_b);
		b = (struct bench){ .run = run_threads, .ctx = &sep_a, .units = 2 };
		r = figure("thr2_sep_throughput", "2 threads, own allocators: wall per pair",
			   "pair", &b, &one_b);
		thr_note(r);
		b = (struct bench){ .run = run_threads, .ctx = &shr };
		if (!g_icount)
			figure("thr2_shared_latency", "2 threads, one allocator: pair per thread",
			       "pair", &b, &one_b);
		b = (struct bench){ .run = run_threads, .ctx = &shr_a, .units = 2 };
		r = figure("thr2_shared_throughput", "2 threads, one allocator: wall per pair",
			   "pair", &b, &one_b);
		thr_note(r);
	}

	/* Wake-ups */
	{
		static const char *const sfxs[] = { "", "_cpu0", "_cpu01" };
		static const char *const lsfxs[] = {
			"", " (both on CPU 0)", " (CPU 0 and CPU 1)"
		};
		static const char *const bases[] = {
			"eventfd ping-pong", "eventfd ping-pong, cpu0",
			"eventfd ping-pong, cpu0/1"
		};
		int pinned;

		for (pinned = 0; pinned <= (g_ncpus > 1 ? 2 : 0); pinned++) {
			struct pp_ctx efd = { .kind = PP_EVENTFD, .pinned = pinned };
			struct pp_ctx ks = { .kind = PP_KS_BLOCK, .pinned = pinned, .pin = pin };
			struct pp_ctx ksp = { .kind = PP_KS_POLL, .pinned = pinned, .pin = pin };
			struct pp_ctx efp = { .kind = PP_EVENTFD_POLL, .pinned = pinned };
			struct pp_ctx upp = { .kind = PP_UPOOL, .pinned = pinned };
			struct bench efd_b = { .run = run_pingpong, .ctx = &efd, .min_n = 8,
					       .key = bases[pinned] };
			const char *sfx = sfxs[pinned];
			const char *lsfx = lsfxs[pinned];

			/* Under icount, whether the scheduler puts the two on one
			 * vCPU or on two changes from round to round: the pinned
			 * rows say each. */
			if (g_icount && g_ncpus > 1 && !pinned)
				continue;

			snprintf(key, sizeof(key), "wake_alloc%s", sfx);
			snprintf(label, sizeof(label), "blocked-ALLOC wake-up round trip%s", lsfx);
			b = (struct bench){ .run = run_pingpong, .ctx = &ks, .min_n = 8 };
			r = figure(key, label, "rtt", &b, &efd_b);
			if (r) {
				set_target(r, "<=", 1.2);
				row_note(r, "A FREEs -> B's ALLOC returns -> B FREEs -> A's ALLOC returns");
			}
			snprintf(key, sizeof(key), "wake_poll%s", sfx);
			snprintf(label, sizeof(label), "poll + O_NONBLOCK ALLOC round trip%s", lsfx);
			b = (struct bench){ .run = run_pingpong, .ctx = &ksp, .min_n = 8 };
			r = figure(key, label, "rtt", &b, &efd_b);
			if (r)
				row_note(r, "two allocators of one frame, poll(POLLIN) then ALLOC");
			snprintf(key, sizeof(key), "wake_eventfd_poll%s", sfx);
			snprintf(label, sizeof(label), "eventfd with poll round trip%s", lsfx);
			b = (struct bench){ .run = run_pingpong, .ctx = &efp, .min_n = 8 };
			figure(key, label, "rtt", &b, &efd_b);
			snprintf(key, sizeof(key), "wake_upool%s", sfx);
			snprintf(label, sizeof(label), "user-space futex pool round trip%s", lsfx);
			b = (struct bench){ .run = run_pingpong, .ctx = &upp, .min_n = 8 };
			atomic_store(&g_futex_slept, 0);
			atomic_store(&g_futex_waits, 0);
			r = figure(key, label, "rtt", &b, &efd_b);
			/* How often a side found the token already there */
			if (r && upp.total)
				row_note(r, "FUTEX_WAIT per round trip %.2f, of them slept %.2f",
					 (double)atomic_load(&g_futex_waits) / upp.total,
					 (double)atomic_load(&g_futex_slept) / upp.total);
		}
	}

	bench_scale(pin, &null_b);

	/*
	 * The null ioctl's own figure: the median of every measurement of it
	 * taken as a baseline above (the host's load moves absolute times
	 * between figures; each ratio above used its own paired baseline).
	 */
	{
		struct row *nr = find_row("null_ioctl");
		double v[MAX_ROWS];
		int nv = 0, k;

		for (k = 0; k < nrows && nr; k++)
			if (!strcmp(rows[k].base_key, "null_ioctl") &&
			    rows[k].status != ST_ERROR && rows[k].status != ST_SKIP)
				v[nv++] = rows[k].base;
		if (nr && nv) {
			double vmin = v[0], vmax = v[0];

			for (k = 1; k < nv; k++) {
				vmin = v[k] < vmin ? v[k] : vmin;
				vmax = v[k] > vmax ? v[k] : vmax;
			}
			nr->value = median_inplace(v, nv);
			nr->vmin = vmin;
			nr->vmax = vmax;
			row_note(nr, "the floor (syscall, fd lookup, LSM hooks, f_op->unlocked_ioctl); "
				 "median of its %d pairings, %.0f-%.0f ns", nv, vmin, vmax);
		}
	}

	close(fd);
	close(fd64);
}

int main(int argc, char **argv)
{
	char clocksource[64] = "?";
	struct utsname u;
	double target_ms = 0;
	int opt, pin, rounds = 0, quick = 0;
	FILE *f;

	while ((opt = getopt(argc, argv, "ir:t:s:gqk:x:")) != -1) {
		switch (opt) {
		case 'i':
			g_icount = 1;
			break;
		case 'r':
			rounds = atoi(optarg);
			break;
		case 't':
			target_ms = atof(optarg);
			break;
		case 's':
			g_sizes_file = optarg;
			break;
		case 'g':
			g_trace = 1;
			break;
		case 'q':
			quick = 1;
			break;
		case 'k':
			g_only = optarg;
			break;
		case 'x':
			g_except = optarg;
			break;
		default:
			fprintf(stderr, "usage: ksalloc-bench [-i] [-r ROUNDS] [-t MS] "
				"[-s SIZES] [-g] [-q] [-k KEYS] [-x KEYS]\n");
			return 2;
		}
	}
	/* Instruction counts repeat exactly: a few short rounds suffice. */
	if (g_icount || quick) {
		g_rounds = 3;
		g_target_ns = g_icount ? 5e6 : 10e6;
	}
	if (rounds)
		g_rounds = rounds;
	if (target_ms > 0)
		g_target_ns = target_ms * 1e6;
	if (g_rounds < 1 || g_rounds > MAX_ROUNDS)
		die("rounds must be 1 to %d", MAX_ROUNDS);
	uname(&u);
	g_ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	if (f) {
		if (fscanf(f, "%63s", clocksource) != 1)
			strcpy(clocksource, "?");
		fclose(f);
	}
	m_alloc = ident(&g_methods, KSMETHOD_STREAMALLOCATOR_ALLOC, KSMETHOD_TYPE_SEND);
	m_free = ident(&g_methods, KSMETHOD_STREAMALLOCATOR_FREE, KSMETHOD_TYPE_READ);
	g_unknown_id = ident(&g_unknown, 0, KSMETHOD_TYPE_SEND);
	measure_clock();
	fprintf(stderr, "ksalloc-bench: %s, %d CPUs, clocksource %s (%.0f %s a read)\n",
		u.release, g_ncpus, clocksource, g_clock_ns, g_icount ? "instr" : "ns");

	pin = open_pin();
	bench_all(pin);
	bench_live(pin);
	bench_uring(pin);
	bench_memory(pin);
	bench_frames(pin);
	/* function_graph patches every kernel function: with one CPU only */
	if (g_trace && g_ncpus > 1)
		fprintf(stderr, "ksalloc-bench: no trace with %d CPUs (-g needs one)\n",
			g_ncpus);
	else if (g_trace)
		trace_calls(pin);
	close(pin);

	print_table(&u);
	print_csv(&u);
	print_json(&u, clocksource);
	return 0;
}
