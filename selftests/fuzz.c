// SPDX-License-Identifier: GPL-2.0
/*
 * A bounded random-ioctl fuzzer of the whole ksalloc interface.
 *
 * Several threads issue random requests: every ioctl of both object kinds
 * with known and random set GUIDs, ids, type flags, value sizes, open
 * flags and reserved fields; pointers that are valid, NULL, unmapped,
 * misaligned, read-only, straddling a guard page or in the kernel; fds
 * that are pins, allocators, eventfds, closed or out of range; frame
 * offsets that were handed out, never were, or are misaligned; mmap and
 * munmap of allocators at random offsets and lengths; KSRESET, event
 * enable and disable, the batch methods, pin assignments and the fds a
 * pin hands out; frames as dma-bufs (FRAME_ALLOC and FRAME_EXPORT, as
 * methods and direct ioctls), their mmap and DMA_BUF_IOCTL_SYNC; a real
 * importer, vgem (when the kernel has it): PRIME imports of those
 * dma-bufs, exports back, GEM_CLOSE, vgem fences and their signals;
 * io_uring commands (KSALLOC_URING_CMD_*, known and random, on any fd,
 * with random addresses, counts, flags and uring_cmd_flags, from rings of
 * 64- and 128-byte SQEs that are closed with commands still queued);
 * closes of every kind of fd (dma-bufs, vgem's DRM files, allocators,
 * rings...) in any order, dups and forked children that inherit it all.
 *
 * The program passes if it survives and, once everything it made is
 * closed, the module's counters (live allocators, frame bytes) and this
 * process's fd table are back where they were; the test runner fails the
 * run on any kernel splat. Every 100 ms the workers stop between requests
 * for a census: an fd no worker holds (published by a failed call, or
 * returned where the worker did not look) fails the run, reported with
 * the requests that ended after its number was last let go. Errors
 * returned by the kernel are expected and not checked: correctness of
 * each request is the other tests' business.
 *
 * Reproducible: every thread draws from its own generator seeded from the
 * seed and its index, so with one thread (KSA_FUZZ_THREADS=1) a seed
 * replays exactly; with several, each thread's sequence of requests is
 * the same, their interleaving is not.
 *
 * Usage: fuzz [SEED [CALLS [THREADS]]]
 * or the environment: KSA_FUZZ_SEED, KSA_FUZZ_CALLS (all threads
 * together), KSA_FUZZ_THREADS. The seed and count are printed first.
 *
 * Nothing can block for good: a watchdog thread interrupts (SIGUSR1, no
 * SA_RESTART) a worker that made no progress for a while, so an ALLOC on
 * an exhausted blocking allocator returns EINTR; forked children get the
 * same from an interval timer.
 */
#define _GNU_SOURCE
#include <dirent.h>
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
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <liburing.h>
#include <linux/dma-buf.h>
#include <linux/ksalloc.h>

#include "kselftest.h"
#include "ksa_test.h"
#include "vgem_lib.h"

#define KSA_DEV			"/dev/ksalloc"

#define DEFAULT_SEED		0x6b73616cu
/* About 30-60 s under TCG on a stock kernel */
#define DEFAULT_CALLS		800000UL
#define DEFAULT_THREADS		4
#define MAX_THREADS		16

/* Objects a thread keeps at once */
#define SLOTS			24
#define MAPS			8
/* Frame offsets remembered, to FREE them (or not) later */
#define OFFSETS			64
/* GEM handles and vgem fences remembered, to close or signal them later */
#define HANDLES			16
/* Requests each worker remembers, for the report of an untracked fd */
#define HIST			1024
/* A census of the fd table every this many watchdog ticks */
#define CENSUS_TICKS		20
/* fd numbers the bookkeeping follows */
#define FDLOG			1024
/* Scratch memory for request buffers: ARENA bytes then a guard page */
#define ARENA			(128 * 1024)

/* A worker is interrupted after this long without finishing a request */
#define STALL_MS		25
#define TICK_MS			5

static const struct ksguid known_guids[] = {
	KSGUID_NULL,
	KSPROPSETID_Stream,
	KSPROPSETID_StreamAllocator,
	KSMETHODSETID_StreamAllocator,
	KSEVENTSETID_StreamAllocator,
	KSPROPSETID_Connection,
	KSPROPTYPESETID_General,
	KSNAME_Allocator,
	KSNAME_AllocatorEx,
	KSMEMORY_TYPE_SYSTEM,
	KSMEMORY_TYPE_KERNEL_NONPAGED,
	KSMEMORY_TYPE_KERNEL_PAGED,
	KSPROPSETID_KsallocPin,
	KSPROPSETID_KsallocAllocator,
	KSMETHODSETID_KsallocBatch,
	KSMETHODSETID_KsallocFrame,
	KSNAME_KsallocAllocator,
};
#define NGUIDS (sizeof(known_guids) / sizeof(known_guids[0]))

static const unsigned long cmds[] = {
	IOCTL_KS_PROPERTY, IOCTL_KS_ENABLE_EVENT, IOCTL_KS_DISABLE_EVENT,
	IOCTL_KS_METHOD, IOCTL_KS_RESET_STATE, IOCTL_KS_CREATE,
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static const __u32 flag_values[] = {
	KSPROPERTY_TYPE_GET, KSPROPERTY_TYPE_SET, KSPROPERTY_TYPE_SETSUPPORT,
	KSPROPERTY_TYPE_BASICSUPPORT, KSPROPERTY_TYPE_RELATIONS,
	KSPROPERTY_TYPE_SERIALIZESET, KSPROPERTY_TYPE_DEFAULTVALUES,
	KSPROPERTY_TYPE_TOPOLOGY, KSMETHOD_TYPE_NONE, KSMETHOD_TYPE_READ,
	KSMETHOD_TYPE_WRITE, KSMETHOD_TYPE_MODIFY, KSMETHOD_TYPE_SOURCE,
	KSEVENT_TYPE_ENABLE, KSEVENT_TYPE_ONESHOT, KSEVENT_TYPE_ENABLEBUFFERED,
	KSEVENT_TYPE_QUERYBUFFER,
	KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET,
	KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_BASICSUPPORT,
};
#define NFLAGS (sizeof(flag_values) / sizeof(flag_values[0]))

/* Addresses no user buffer can be at */
static const __u64 bad_addrs[] = {
	0, 1, 0x1000, 0xffffffff81000000ull, 0xffff888000000000ull,
	0x8000000000000000ull, 0xffffffffffffffffull, 0x00007ffffffff000ull,
};
#define NBAD (sizeof(bad_addrs) / sizeof(bad_addrs[0]))

enum kind { NONE, PIN, ALLOCATOR, EVENTFD, DMABUF, VGEM, OTHER };

struct slot {
	int fd;
	enum kind kind;
};

struct mapping {
	void *addr;
	size_t len;
};

struct worker {
	pthread_t thread;
	int index;
	__u64 rng;
	unsigned long calls;
	volatile unsigned long progress;	/* requests finished */
	volatile int paused;		/* between requests, for a census */
	/* The last HIST requests: op draw, global sequence at start and end */
	struct {
		unsigned long seq0, seq1;
		unsigned int op;
		int kept;		/* an fd slot_keep() took, or -1 */
	} hist[HIST];
	int kept;			/* in the request running now */
	struct slot slot[SLOTS];
	struct mapping map[MAPS];
	__u64 offsets[OFFSETS];
	__u32 handles[HANDLES];		/* of any of our vgem fds */
	__u32 fences[HANDLES];
	unsigned long imports, imported;	/* PRIME imports made, worked */
	unsigned char *arena;		/* ARENA bytes, then PROT_NONE */
	unsigned char *rdonly;		/* one read-only page */
	unsigned long forks;
	struct io_uring ring;		/* for op_uring(), when ring_ok */
	int ring_ok;
	unsigned int ring_inflight;	/* commands not yet reaped */
	/*
	 * Where BATCH_ALLOC commands write their offsets: io_uring may run
	 * a command later, in a worker thread, so it must never write into
	 * the arena, where the results of this thread's next requests are
	 * read (an fd a FRAME_ALLOC returned could be overwritten and lost).
	 */
	__u64 ubuf[2 * KSALLOC_BATCH_MAX + 1];
	/* per ioctl of cmds[], and mmap: calls made and calls that worked */
	unsigned long tried[NCMDS + 1], worked[NCMDS + 1];
};

static long page;
static int nthreads;
static int have_vgem;
static struct worker workers[MAX_THREADS];
static volatile int done;
static unsigned long interrupts;	/* stalled requests interrupted */
static unsigned long op_seq;		/* requests started and finished */
static volatile int pause_req;		/* workers: stop between requests */
static int fds0;			/* how many fds were open before the run */
static unsigned char fd_before[FDLOG];	/* which: not ours to account for */
static unsigned long census_seq;	/* op_seq at the last census */
static int census_failed;
static unsigned long censuses;
/* Every fd any thread holds, for the requests that take "some fd" */
static volatile int all_fds[MAX_THREADS * SLOTS];

/* xorshift64*: small, fast, and the same everywhere */
static __u64 rnd(struct worker *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ull;
}

static __u32 below(struct worker *w, __u32 n)
{
	return n ? rnd(w) % n : 0;
}

static int chance(struct worker *w, int percent)
{
	return below(w, 100) < (__u32)percent;
}

/* Sizes and counts: mostly small, sometimes on an edge, rarely anything */
static __u32 rnd_size(struct worker *w)
{
	static const __u32 edges[] = {
		0, 1, 2, 3, 4, 7, 8, 12, 15, 16, 23, 24, 25, 31, 32, 39, 40,
		47, 48, 56, 63, 64, 88, 111, 112, 113, 135, 136, 4095, 4096,
		4097, 65535, 65536, 65537, 0x7fffffff, 0x80000000, 0xffffffff,
	};

	switch (below(w, 4)) {
	case 0:
		return edges[below(w, sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return rnd(w);
	default:
		return below(w, 256);
	}
}

static struct ksguid rnd_guid(struct worker *w)
{
	struct ksguid g;

	if (chance(w, 85))
		return known_guids[below(w, NGUIDS)];
	g.align[0] = rnd(w);
	g.align[1] = rnd(w);
	if (chance(w, 50))	/* a known GUID with one byte changed */
		g = known_guids[1 + below(w, NGUIDS - 1)],
		g.b[below(w, 16)] ^= 1 << below(w, 8);
	return g;
}

static __u32 rnd_id(struct worker *w)
{
	return chance(w, 90) ? below(w, 9) : (__u32)rnd(w);
}

static __u32 rnd_flags(struct worker *w)
{
	if (chance(w, 80))
		return flag_values[below(w, NFLAGS)];
	if (chance(w, 50))
		return 1u << below(w, 32);
	return rnd(w);
}

/* ---- fds ---- */

static void publish(struct worker *w, int i)
{
	all_fds[w->index * SLOTS + i] = w->slot[i].kind ? w->slot[i].fd : -1;
}

/*
 * What last happened to each fd number in this process's bookkeeping, for
 * the report of an fd left open: whether it was ever kept after its last
 * close tells a result lost on the way in from a record lost later.
 */
static struct {
	int worker, kept, reported;
	enum kind kind;
	unsigned long call, seq;
} fdlog[FDLOG];

static void fd_note(struct worker *w, int fd, int kept, enum kind kind)
{
	if (fd < 0 || fd >= FDLOG)
		return;
	fdlog[fd].worker = w->index;
	fdlog[fd].kept = kept;
	fdlog[fd].kind = kind;
	fdlog[fd].call = w->progress;
	fdlog[fd].seq = __atomic_load_n(&op_seq, __ATOMIC_RELAXED);
	if (kept)
		w->kept = fd;
}

static void slot_close(struct worker *w, int i)
{
	if (w->slot[i].kind == NONE)
		return;
	fd_note(w, w->slot[i].fd, 0, w->slot[i].kind);
	w->slot[i].kind = NONE;
	publish(w, i);
	close(w->slot[i].fd);
}

/* Keep a new fd: in a free slot, or in place of a random one */
static void slot_keep(struct worker *w, int fd, enum kind kind)
{
	int i, start = below(w, SLOTS);

	if (fd < 0)
		return;
	for (i = 0; i < SLOTS; i++)
		if (w->slot[(start + i) % SLOTS].kind == NONE)
			break;
	i = (start + i) % SLOTS;
	slot_close(w, i);
	fd_note(w, fd, 1, kind);
	w->slot[i].fd = fd;
	w->slot[i].kind = kind;
	publish(w, i);
}

/* An fd of ours of @kind (any kind with NONE), or -1 */
static int own_fd(struct worker *w, enum kind kind)
{
	int i, start = below(w, SLOTS);

	for (i = 0; i < SLOTS; i++) {
		struct slot *s = &w->slot[(start + i) % SLOTS];

		if (s->kind != NONE && (kind == NONE || s->kind == kind))
			return s->fd;
	}
	return -1;
}

/* Any fd number worth trying: ours, another thread's, closed, absurd */
static int rnd_fd(struct worker *w)
{
	int fd;

	switch (below(w, 10)) {
	case 0:
		fd = all_fds[below(w, nthreads * SLOTS)];
		return fd >= 0 ? fd : 1000;
	case 1: {
		static const int odd[] = { -1, -2, 0x7fffffff, 1023, 1000 };

		return odd[below(w, 5)];
	}
	case 2:
		return chance(w, 50) ? own_fd(w, EVENTFD) : own_fd(w, DMABUF);
	case 3:
	case 4:
		return own_fd(w, PIN);
	default:
		return own_fd(w, ALLOCATOR);
	}
}

/* ---- buffers ---- */

/*
 * A user address for @len bytes: mostly inside the arena (valid), else
 * straddling the guard page, read-only, misaligned or bad outright. The
 * kernel never writes more than @len bytes there, so the arena is all a
 * request can scribble on.
 */
static __u64 rnd_buf(struct worker *w, __u32 len)
{
	__u32 room;

	switch (below(w, 20)) {
	case 0:
		return bad_addrs[below(w, NBAD)];
	case 1:		/* ends in the guard page */
		return (uintptr_t)w->arena + ARENA - (len ? below(w, len) : 0);
	case 2:
		return (uintptr_t)w->rdonly + below(w, 64);
	case 3:		/* misaligned */
		room = len < ARENA ? ARENA - len : 0;
		return (uintptr_t)w->arena + (below(w, room / 8 + 1) * 8 + 1 +
					      below(w, 7)) % (room + 1);
	default:
		room = len < ARENA ? ARENA - len : 0;
		return (uintptr_t)w->arena + below(w, room + 1) / 8 * 8;
	}
}

/* @len bytes at @addr if they are all in the arena, else NULL */
static void *arena_at(struct worker *w, __u64 addr, __u32 len)
{
	__u64 base = (uintptr_t)w->arena;

	if (addr < base || addr - base > ARENA || len > ARENA - (addr - base))
		return NULL;
	return w->arena + (addr - base);
}

/* Fill @len bytes at @addr if they are in the arena */
static void fill(struct worker *w, __u64 addr, __u32 len)
{
	unsigned char *p = arena_at(w, addr, len);
	__u32 i;

	for (i = 0; p && i < len; i++)
		p[i] = chance(w, 70) ? 0 : rnd(w);
}

/* ---- requests ---- */

static __u64 rnd_offset(struct worker *w)
{
	switch (below(w, 6)) {
	case 0:
		return rnd(w);
	case 1:
		return below(w, 64) * page + (chance(w, 50) ? below(w, page) : 0);
	default:
		return w->offsets[below(w, OFFSETS)];
	}
}

static void remember_offset(struct worker *w, __u64 off)
{
	w->offsets[below(w, OFFSETS)] = off;
}

static __u32 rnd_open_flags(struct worker *w)
{
	switch (below(w, 8)) {
	case 0:
		return rnd(w);
	case 1:
		return O_NONBLOCK;
	case 2:
		return O_CLOEXEC | O_NONBLOCK;
	case 3:
		return 0;
	default:
		return O_CLOEXEC;
	}
}

/* Where a KS request's value holds a new fd */
enum { KS_NO_FD, KS_FD_HANDLE, KS_FD_IN_VALUE };

/*
 * Issue one KS ioctl; keeps the fd of a KS_FD_HANDLE request (an s64 at
 * @out). A KS_FD_IN_VALUE caller keeps its fd itself.
 */
static int ks(struct worker *w, int fd, unsigned long cmd, __u64 in,
	      __u32 in_size, __u64 out, __u32 out_size, __u32 open_flags,
	      int returns_fd)
{
	struct ks_ioctl_args *a = (void *)(w->arena + ARENA - page);
	struct ks_ioctl_args local;
	void *argp = &local;
	__s64 *handle;
	unsigned int i;
	int ret;

	memset(&local, 0, sizeof(local));
	local.in_buffer = in;
	local.out_buffer = out;
	local.in_size = in_size;
	local.out_size = out_size;
	local.open_flags = open_flags;
	if (chance(w, 3))
		local.reserved[below(w, 2)] = rnd(w);
	if (chance(w, 2))
		local.bytes_returned = rnd(w);

	/* The argument block itself somewhere odd now and then */
	switch (below(w, 40)) {
	case 0:
		argp = (void *)(uintptr_t)bad_addrs[below(w, NBAD)];
		break;
	case 1:		/* straddling the guard page */
		argp = w->arena + ARENA - below(w, sizeof(local));
		memcpy(argp, &local, w->arena + ARENA - (unsigned char *)argp);
		break;
	case 2:		/* read-only: bytes_returned cannot be written */
		mprotect(w->rdonly, page, PROT_READ | PROT_WRITE);
		memcpy(w->rdonly, &local, sizeof(local));
		mprotect(w->rdonly, page, PROT_READ);
		argp = w->rdonly;
		break;
	case 3:		/* misaligned, in the last arena page */
		memcpy((char *)a + 3, &local, sizeof(local));
		argp = (char *)a + 3;
		break;
	}
	/*
	 * The kernel writes bytes_returned after the value: a new fd's
	 * number must not be written where the block's last field goes.
	 */
	if (returns_fd && (unsigned char *)argp >= w->arena &&
	    (unsigned char *)argp < w->arena + ARENA &&
	    out < (uintptr_t)argp + sizeof(local) &&
	    out + (returns_fd == KS_FD_HANDLE ? sizeof(*handle) : out_size) >
	    (uintptr_t)argp)
		argp = &local;
	ret = ioctl(fd, cmd, argp);
	for (i = 0; i < NCMDS; i++)
		if (cmds[i] == cmd) {
			w->tried[i]++;
			w->worked[i] += ret == 0;
		}
	if (ret < 0)
		return -errno;
	/* Success means the fd was published: it is ours to close. */
	if (returns_fd == KS_FD_HANDLE) {
		handle = arena_at(w, out, sizeof(*handle));
		if (handle && *handle >= 3 && *handle < 65536)
			slot_keep(w, (int)*handle, ALLOCATOR);
	}
	return 0;
}

/* An identifier (and @extra random bytes after it) at a valid address */
static __u64 put_ident(struct worker *w, __u32 *in_size,
		       const struct ksguid *set, __u32 id, __u32 flags,
		       __u32 extra)
{
	__u64 in = rnd_buf(w, sizeof(struct ksidentifier) + extra);
	struct ksidentifier *k = arena_at(w, in, sizeof(*k) + extra);

	fill(w, in, sizeof(*k) + extra);
	if (k) {
		k->set = *set;
		k->id = id;
		k->flags = flags;
	}
	*in_size = chance(w, 85) ? sizeof(*k) + extra : rnd_size(w);
	return in;
}

/* A random property, method or event request */
static void op_automation(struct worker *w)
{
	static const unsigned long kinds[] = {
		IOCTL_KS_PROPERTY, IOCTL_KS_METHOD, IOCTL_KS_ENABLE_EVENT,
	};
	static const struct ksguid kpin = KSPROPSETID_KsallocPin;
	static const struct ksguid kframe = KSMETHODSETID_KsallocFrame;
	unsigned long cmd = kinds[below(w, 3)];
	struct ksguid set = rnd_guid(w);
	__u32 in_size, out_size = rnd_size(w), extra = 0, id = rnd_id(w);
	__u32 flags = rnd_flags(w);
	struct ksalloc_frame_args *v;
	int fd = rnd_fd(w), frame;
	__u64 in, out;

	if (chance(w, 20))
		extra = below(w, 64);
	in = put_ident(w, &in_size, &set, id, flags, extra);
	if (chance(w, 70))
		out_size = chance(w, 50) ? 8 : below(w, 128);
	out = chance(w, 5) ? 0 : rnd_buf(w, out_size);
	fill(w, out, out_size);
	/*
	 * The items of these that publish an fd: the pin's allocator fd, and
	 * the frame methods, whose random value may well ask for a dma-buf.
	 */
	frame = cmd == IOCTL_KS_METHOD && !memcmp(&set, &kframe, sizeof(set)) &&
		!(flags & (KSMETHOD_TYPE_BASICSUPPORT | KSMETHOD_TYPE_SETSUPPORT));
	if (ks(w, fd, cmd, in, in_size, out, out_size,
	       chance(w, 90) ? 0 : rnd_open_flags(w),
	       cmd == IOCTL_KS_PROPERTY && !memcmp(&set, &kpin, sizeof(set)) &&
	       id == KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD &&
	       !(flags & (KSPROPERTY_TYPE_BASICSUPPORT | KSPROPERTY_TYPE_SETSUPPORT)) ?
	       KS_FD_HANDLE : frame ? KS_FD_IN_VALUE : KS_NO_FD) || !frame)
		return;
	v = arena_at(w, out, sizeof(*v));
	if (v && out_size >= sizeof(*v) && v->fd >= 3 && v->fd < 65536)
		slot_keep(w, v->fd, DMABUF);
}

/*
 * O_NONBLOCK on or off (the file's flag, shared by its fds): mostly on,
 * as a blocking ALLOC on an exhausted allocator sleeps until the watchdog
 * interrupts it.
 */
static void flip_nonblock(struct worker *w, int fd)
{
	int fl;

	if (chance(w, 30))
		return;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return;
	if (chance(w, 90))
		fl |= O_NONBLOCK;
	else
		fl &= ~O_NONBLOCK;
	fcntl(fd, F_SETFL, fl);
}

static void op_alloc(struct worker *w)
{
	static const struct ksguid set = KSMETHODSETID_StreamAllocator;
	int fd = chance(w, 90) ? own_fd(w, ALLOCATOR) : rnd_fd(w);
	__u32 in_size, flags = chance(w, 80) ? KSMETHOD_TYPE_WRITE : rnd_flags(w);
	__u64 in, out;

	flip_nonblock(w, fd);
	in = put_ident(w, &in_size, &set, KSMETHOD_STREAMALLOCATOR_ALLOC,
		       flags, 0);
	out = rnd_buf(w, 8);
	if (!ks(w, fd, IOCTL_KS_METHOD, in, in_size, out, 8, 0, 0)) {
		__u64 *v = arena_at(w, out, 8);

		if (v)
			remember_offset(w, *v);
	}
}

static void op_free(struct worker *w)
{
	static const struct ksguid set = KSMETHODSETID_StreamAllocator;
	int fd = chance(w, 90) ? own_fd(w, ALLOCATOR) : rnd_fd(w);
	__u32 in_size, out_size = chance(w, 90) ? 8 : rnd_size(w);
	__u64 in, out, *v;

	in = put_ident(w, &in_size, &set, KSMETHOD_STREAMALLOCATOR_FREE,
		       chance(w, 80) ? KSMETHOD_TYPE_READ : rnd_flags(w), 0);
	out = rnd_buf(w, 8);
	v = arena_at(w, out, 8);
	if (v)
		*v = rnd_offset(w);
	ks(w, fd, IOCTL_KS_METHOD, in, in_size, out, out_size, 0, 0);
}

static void op_batch(struct worker *w)
{
	static const struct ksguid set = KSMETHODSETID_KsallocBatch;
	int fd = chance(w, 90) ? own_fd(w, ALLOCATOR) : rnd_fd(w);
	int is_alloc = (flip_nonblock(w, fd), chance(w, 50));
	__u32 count = chance(w, 90) ? 1 + below(w, KSALLOC_BATCH_MAX) :
		      rnd_size(w);
	__u32 in_size, out_size, i;
	__u64 in, out, *v;
	struct ksalloc_batch_method *m;

	in = put_ident(w, &in_size, &set, is_alloc ?
		       KSMETHOD_KSALLOC_BATCH_ALLOC : KSMETHOD_KSALLOC_BATCH_FREE,
		       is_alloc ? KSMETHOD_TYPE_WRITE : KSMETHOD_TYPE_READ, 8);
	m = arena_at(w, in, sizeof(*m));
	if (m) {
		m->count = count;
		m->flags = chance(w, 70) ? 0 : chance(w, 70) ?
			   KSALLOC_BATCHF_ALL_OR_NOTHING : rnd(w);
		if (chance(w, 10))
			m->method.flags = rnd_flags(w);
	}
	out_size = chance(w, 85) ? count * 8 : rnd_size(w);
	if (out_size > 1024)
		out_size = chance(w, 50) ? 1024 : out_size;
	out = rnd_buf(w, out_size);
	v = arena_at(w, out, out_size);
	if (v && !is_alloc)
		for (i = 0; i < out_size / 8; i++)
			v[i] = chance(w, 10) && i ? v[i - 1] : rnd_offset(w);
	if (!ks(w, fd, IOCTL_KS_METHOD, in, in_size, out, out_size, 0, 0) &&
	    v && is_alloc)
		for (i = 0; i < out_size / 8 && i < count; i++)
			remember_offset(w, v[i]);
}

static void op_create(struct worker *w)
{
	static const struct ksguid name = KSNAME_Allocator;
	static const struct ksguid name_ex = KSNAME_AllocatorEx;
	static const struct ksguid mems[] = {
		KSMEMORY_TYPE_SYSTEM, KSMEMORY_TYPE_KERNEL_NONPAGED,
		KSMEMORY_TYPE_KERNEL_PAGED, KSGUID_NULL,
	};
	static const __u32 pools[] = {
		KS_POOL_NONPAGED, KS_POOL_PAGED, KS_POOL_NONPAGED_CACHE_ALIGNED,
		KS_POOL_PAGED_CACHE_ALIGNED, KS_POOL_NONPAGED_NX, 2, 0xffffffff,
	};
	static const struct ksguid name_ksalloc = KSNAME_KsallocAllocator;
	int fd = chance(w, 90) ? own_fd(w, PIN) : rnd_fd(w);
	int ex = chance(w, 25), items = 1 + (chance(w, 20) ? below(w, 10) : 0);
	int kx = !ex && chance(w, 30);
	__u32 frames = 1 + below(w, 8), size = 1 + below(w, 4 * page);
	__u32 in_size, out_size = chance(w, 90) ? 8 : rnd_size(w);
	__u64 in, out;

	if (chance(w, 10))
		frames = rnd_size(w);
	if (chance(w, 10))
		size = rnd_size(w);
	if (chance(w, 2))	/* a big one now and then (the caps bound it) */
		frames = 64 + below(w, 1024), size = page * (1 + below(w, 64));

	in_size = ex ? 16 + KSALLOCATOR_FRAMING_EX_SIZE(items) :
		  kx ? sizeof(struct ksalloc_allocator_create) :
		  sizeof(struct ksallocator_create);
	in = rnd_buf(w, in_size);
	fill(w, in, in_size);
	if (arena_at(w, in, in_size)) {
		unsigned char *p = arena_at(w, in, in_size);
		struct ksguid type = chance(w, 90) ?
				     (ex ? name_ex : kx ? name_ksalloc : name) :
				     rnd_guid(w);

		memcpy(p, &type, 16);
		if (kx) {
			struct ksalloc_allocator_create *c = (void *)p;
			__u32 flags = chance(w, 50) ? KSALLOC_CREATEF_CONTIGUOUS :
				      chance(w, 80) ? 0 : rnd_flags(w);

			c->flags = flags;
			c->reserved = chance(w, 95) ? 0 : rnd(w);
			c->reserved2[0] = c->reserved2[1] = 0;
			if (chance(w, 5))
				c->reserved2[below(w, 2)] = rnd(w);
		}
		if (!ex) {
			struct ksallocator_framing f = {
				.options_flags = chance(w, 80) ? 0 : rnd_flags(w),
				.pool_type = pools[below(w, 7)],
				.frames = frames,
				.frame_size = size,
				.file_alignment = chance(w, 80) ? 0 :
						  (1u << below(w, 14)) - 1,
				.reserved = chance(w, 95) ? 0 : rnd(w),
			};
			memcpy(p + 16, &f, sizeof(f));
		} else {
			struct ksallocator_framing_ex *e = (void *)(p + 16);
			struct ks_framing_item *it = &e->framing_item[0];

			e->count_items = chance(w, 90) ? items : rnd_size(w);
			it->memory_type = mems[below(w, 4)];
			if (chance(w, 10))
				it->memory_type = rnd_guid(w);
			it->flags = chance(w, 80) ? 0 : rnd_flags(w);
			it->frames = frames;
			it->file_alignment = chance(w, 80) ? 0 :
					     (1u << below(w, 14)) - 1;
			it->framing_range.range.max_frame_size = size;
			it->framing_range.range.min_frame_size =
				chance(w, 90) ? size / 2 : rnd(w);
		}
	}
	if (chance(w, 10))
		in_size = rnd_size(w);
	out = rnd_buf(w, 8);
	ks(w, fd, IOCTL_KS_CREATE, in, in_size, out, out_size,
	   rnd_open_flags(w), KS_FD_HANDLE);
}

/*
 * FRAME_ALLOC (perhaps as a dma-buf) and FRAME_EXPORT, as a method or a
 * direct ioctl, with mostly sane and sometimes random arguments; a new
 * dma-buf fd is kept (and closed later, in any order with the rest). Or
 * a DMA_BUF_IOCTL_SYNC on a dma-buf of ours.
 */
static void op_frame(struct worker *w)
{
	static const struct ksguid set = KSMETHODSETID_KsallocFrame;
	int fd = chance(w, 90) ? own_fd(w, ALLOCATOR) : rnd_fd(w);
	int export = chance(w, 40), direct = chance(w, 50);
	struct ksalloc_frame_args *a;
	__u32 in_size, size = sizeof(*a);
	__u64 in, out;
	int ret;

	if (chance(w, 15)) {
		struct dma_buf_sync sy = {
			.flags = chance(w, 80) ? (below(w, 2) << 2) |
						 (1 + below(w, 3)) : rnd(w),
		};

		ioctl(chance(w, 90) ? own_fd(w, DMABUF) : rnd_fd(w),
		      DMA_BUF_IOCTL_SYNC, &sy);
		return;
	}
	out = rnd_buf(w, size);
	a = arena_at(w, out, size);
	if (a) {
		memset(a, 0, sizeof(*a));
		a->offset = export ? rnd_offset(w) : rnd(w);
		a->flags = export ? (chance(w, 90) ? 0 : rnd_flags(w)) :
			   chance(w, 85) ? below(w, 4) : rnd_flags(w);
		a->fd_flags = direct && chance(w, 80) ?
			      (chance(w, 50) ? O_CLOEXEC : 0) :
			      (chance(w, 80) ? 0 : rnd_flags(w));
		a->reserved = chance(w, 95) ? 0 : rnd(w);
	}
	if (!export && a && !(a->flags & KSALLOC_FRAMEF_DMABUF))
		flip_nonblock(w, fd);
	if (direct) {
		ret = ioctl(fd, export ? IOCTL_KSALLOC_FRAME_EXPORT :
			    IOCTL_KSALLOC_FRAME_ALLOC,
			    a ? (void *)a : (void *)(uintptr_t)out);
		ret = ret < 0 ? -errno : 0;
	} else {
		in = put_ident(w, &in_size, &set,
			       export ? KSMETHOD_KSALLOC_FRAME_EXPORT :
			       KSMETHOD_KSALLOC_FRAME_ALLOC,
			       chance(w, 85) ? KSMETHOD_TYPE_MODIFY :
			       rnd_flags(w), 0);
		if (chance(w, 10))
			size = rnd_size(w);
		ret = ks(w, fd, IOCTL_KS_METHOD, in, in_size, out, size,
			 chance(w, 70) ? O_CLOEXEC : rnd_open_flags(w),
			 KS_FD_IN_VALUE);
	}
	if (ret || !a)
		return;
	if (!export)
		remember_offset(w, a->offset);
	if (a->fd >= 3 && a->fd < 65536)
		slot_keep(w, a->fd, DMABUF);
}

static void op_event(struct worker *w)
{
	static const struct ksguid set = KSEVENTSETID_StreamAllocator;
	static const __u32 types[] = {
		KSEVENTF_EVENT_HANDLE, KSEVENTF_SEMAPHORE_HANDLE,
		KSEVENTF_EVENT_OBJECT, KSEVENTF_DPC, 0, 3,
	};
	int fd = chance(w, 90) ? own_fd(w, ALLOCATOR) : rnd_fd(w);
	struct kseventdata *d;
	__u32 in_size;
	__u64 in, data;

	/* The KSEVENTDATA from a few fixed spots: DISABLE finds them again */
	data = (uintptr_t)w->arena + 64 * below(w, 4);
	d = arena_at(w, data, sizeof(*d));
	if (chance(w, 60)) {
		memset(d, 0, sizeof(*d));
		d->notification_type = types[below(w, chance(w, 80) ? 2 : 6)];
		if (d->notification_type == KSEVENTF_SEMAPHORE_HANDLE) {
			d->semaphore_handle.semaphore = chance(w, 85) ?
				own_fd(w, EVENTFD) : rnd_fd(w);
			d->semaphore_handle.adjustment = chance(w, 80) ?
				below(w, 4) : (__s32)rnd(w);
		} else {
			d->event_handle.event = chance(w, 85) ?
				own_fd(w, EVENTFD) : rnd_fd(w);
		}
		if (chance(w, 5))
			d->reserved0 = rnd(w);
	}
	if (chance(w, 10))
		data = rnd_buf(w, sizeof(*d));

	if (chance(w, 60)) {
		in = put_ident(w, &in_size, &set, chance(w, 90) ?
			       KSEVENT_STREAMALLOCATOR_FREEFRAME : rnd_id(w),
			       chance(w, 50) ? KSEVENT_TYPE_ENABLE :
			       chance(w, 80) ? KSEVENT_TYPE_ONESHOT :
			       rnd_flags(w), 0);
		ks(w, fd, IOCTL_KS_ENABLE_EVENT, in, in_size, data,
		   chance(w, 90) ? sizeof(*d) : rnd_size(w), 0, 0);
	} else {
		/* DISABLE: by the same KSEVENTDATA, another one, or all */
		ks(w, fd, IOCTL_KS_DISABLE_EVENT, data,
		   chance(w, 20) ? 0 : chance(w, 90) ? sizeof(*d) : rnd_size(w),
		   0, 0, 0, 0);
	}
}

static void op_reset(struct worker *w)
{
	int fd = chance(w, 70) ? own_fd(w, ALLOCATOR) : rnd_fd(w);
	__u64 in = rnd_buf(w, 4);
	__u32 *v = arena_at(w, in, 4);

	if (v)
		*v = chance(w, 90) ? below(w, 2) : rnd(w);
	ks(w, fd, IOCTL_KS_RESET_STATE, in, chance(w, 90) ? 4 : rnd_size(w),
	   0, 0, 0, 0);
	/* A reset left begun blocks ALLOC: end most of them soon */
	if (v && *v == KSRESET_BEGIN && chance(w, 80)) {
		*v = KSRESET_END;
		ks(w, fd, IOCTL_KS_RESET_STATE, in, 4, 0, 0, 0, 0);
	}
}

/* Pin properties with meaningful values: state, framing, assignment */
static void op_pin(struct worker *w)
{
	static const struct ksguid stream = KSPROPSETID_Stream;
	static const struct ksguid conn = KSPROPSETID_Connection;
	static const struct ksguid kpin = KSPROPSETID_KsallocPin;
	int fd = chance(w, 90) ? own_fd(w, PIN) : rnd_fd(w);
	__u32 in_size, out_size;
	__u64 in, out;
	void *v;

	out = rnd_buf(w, 128);
	v = arena_at(w, out, 128);
	switch (below(w, 5)) {
	case 0:		/* assign an allocator, something else, or none */
		in = put_ident(w, &in_size, &stream, KSPROPERTY_STREAM_ALLOCATOR,
			       KSPROPERTY_TYPE_SET, 0);
		if (v)
			*(__s64 *)v = chance(w, 20) ? KS_NULL_HANDLE :
				      chance(w, 70) ? own_fd(w, ALLOCATOR) :
				      rnd_fd(w);
		out_size = chance(w, 90) ? 8 : rnd_size(w);
		break;
	case 1:		/* a new fd for the assigned allocator */
		in = put_ident(w, &in_size, &kpin,
			       KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
			       KSPROPERTY_TYPE_GET, 0);
		out_size = chance(w, 90) ? 8 : rnd_size(w);
		ks(w, fd, IOCTL_KS_PROPERTY, in, in_size, out, out_size,
		   rnd_open_flags(w), KS_FD_HANDLE);
		return;
	case 2:
		in = put_ident(w, &in_size, &conn, KSPROPERTY_CONNECTION_STATE,
			       chance(w, 70) ? KSPROPERTY_TYPE_SET :
			       KSPROPERTY_TYPE_GET, 0);
		if (v)
			*(__u32 *)v = chance(w, 90) ? below(w, 4) : rnd(w);
		out_size = chance(w, 90) ? 4 : rnd_size(w);
		break;
	case 3:
		in = put_ident(w, &in_size, &conn,
			       KSPROPERTY_CONNECTION_ALLOCATORFRAMING,
			       chance(w, 50) ? KSPROPERTY_TYPE_SET :
			       KSPROPERTY_TYPE_GET, 0);
		if (v) {
			struct ksallocator_framing *f = v;

			memset(f, 0, sizeof(*f));
			f->requirements_flags = rnd_flags(w);
			f->frames = rnd_size(w);
			f->frame_size = rnd_size(w);
			f->file_alignment = (1u << below(w, 33)) - 1;
		}
		out_size = chance(w, 90) ? 24 : rnd_size(w);
		break;
	default:
		in = put_ident(w, &in_size, &conn,
			       KSPROPERTY_CONNECTION_ALLOCATORFRAMING_EX,
			       KSPROPERTY_TYPE_GET, 0);
		out_size = chance(w, 50) ? 112 : rnd_size(w);
		break;
	}
	if (out_size > 128)
		out_size = 128;
	ks(w, fd, IOCTL_KS_PROPERTY, in, in_size, out, out_size, 0, 0);
}

/* Any ioctl number near ours, or ours with a bad argument pointer */
static void op_raw_ioctl(struct worker *w)
{
	unsigned long cmd = cmds[below(w, NCMDS)];
	int fd = rnd_fd(w);

	switch (below(w, 4)) {
	case 0:
		cmd = _IOC(below(w, 4), KS_IOCTL_TYPE, below(w, 0x48),
			   below(w, 64));
		break;
	case 1:
		cmd = (__u32)rnd(w);
		break;
	}
	ioctl(fd, cmd, chance(w, 50) ? (void *)(uintptr_t)rnd_buf(w, 48) :
	      (void *)(uintptr_t)bad_addrs[below(w, NBAD)]);
}

static void op_mmap(struct worker *w)
{
	static const int prots[] = {
		PROT_READ | PROT_WRITE, PROT_READ, PROT_WRITE, PROT_NONE,
		PROT_READ | PROT_EXEC,
	};
	int fd = chance(w, 90) ? own_fd(w, chance(w, 20) ? DMABUF : ALLOCATOR) :
		 rnd_fd(w);
	int i = below(w, MAPS), prot = prots[below(w, chance(w, 80) ? 2 : 5)];
	size_t len = page * (1 + below(w, 16));
	off_t off = page * below(w, 16);
	volatile unsigned char *p;
	size_t j;
	void *m;

	if (w->map[i].addr) {
		munmap(w->map[i].addr, w->map[i].len);
		w->map[i].addr = NULL;
	}
	if (chance(w, 10))
		off += below(w, page);
	if (chance(w, 5))
		len = rnd_size(w) & 0x3fffffff;
	if (!len)
		len = page;
	m = mmap(NULL, len, prot, chance(w, 95) ? MAP_SHARED : MAP_PRIVATE,
		 fd, off);
	w->tried[NCMDS]++;
	if (m == MAP_FAILED)
		return;
	w->worked[NCMDS]++;
	w->map[i].addr = m;
	w->map[i].len = len;
	/* Touch what may be touched: frames are the process's memory */
	p = m;
	for (j = 0; j < len; j += page) {
		if (prot & PROT_WRITE)
			p[j] = (unsigned char)j;
		else if (prot & PROT_READ)
			(void)p[j];
	}
	/* Shrink it from one end now and then */
	if (len > (size_t)page && chance(w, 20)) {
		munmap(m, page);
		w->map[i].addr = (char *)m + page;
		w->map[i].len = len - page;
	}
}

/*
 * vgem imports our dma-bufs (attach, and map on 6.1 and 6.12), exports
 * them back, forgets them (GEM_CLOSE), fences them (implicit sync in the
 * frame's reservation object) and signals the fences; or a DRM file is
 * opened. Handles and fences are remembered without their file: one
 * used on another vgem fd, or after its file was closed, is just wrong.
 */
static void op_importer(struct worker *w)
{
	int vfd = chance(w, 95) ? own_fd(w, VGEM) : rnd_fd(w);
	__u32 *h = &w->handles[below(w, HANDLES)];
	__u32 *f = &w->fences[below(w, HANDLES)];
	long ret;

	if (!have_vgem)
		return;
	switch (below(w, 8)) {
	case 0:
		if (own_fd(w, VGEM) < 0 || chance(w, 30))
			slot_keep(w, vgem_open(), VGEM);
		break;
	case 1:
	case 2:
		ret = vgem_import(vfd, chance(w, 90) ? own_fd(w, DMABUF) :
				  rnd_fd(w));
		w->imports++;
		if (ret > 0) {
			w->imported++;
			*h = ret;
		}
		break;
	case 3:
		vgem_close(vfd, chance(w, 90) ? *h : (__u32)rnd(w));
		break;
	case 4:
		slot_keep(w, vgem_export(vfd, *h), DMABUF);
		break;
	case 5:
		ret = vgem_fence_attach(vfd, *h, chance(w, 90) ?
					below(w, 2) : (__u32)rnd(w));
		if (ret > 0)
			*f = ret;
		break;
	case 6:
		vgem_fence_signal(vfd, chance(w, 90) ? *f : (__u32)rnd(w));
		break;
	default: {
		struct pollfd pfd = { .fd = own_fd(w, DMABUF),
				      .events = POLLIN | POLLOUT };

		poll(&pfd, 1, 0);
		break;
	}
	}
}

static void op_open(struct worker *w)
{
	int flags = O_RDWR | (chance(w, 50) ? O_CLOEXEC : 0) |
		    (chance(w, 30) ? O_NONBLOCK : 0);
	int fd;

	switch (below(w, 4)) {
	case 0:
		fd = eventfd(below(w, 3), EFD_NONBLOCK | EFD_CLOEXEC |
			     (chance(w, 30) ? EFD_SEMAPHORE : 0));
		slot_keep(w, fd, EVENTFD);
		break;
	case 1:		/* a dup of something we hold */
		fd = own_fd(w, NONE);
		if (fd >= 0) {
			int i, kind = OTHER;

			for (i = 0; i < SLOTS; i++)
				if (w->slot[i].kind && w->slot[i].fd == fd)
					kind = w->slot[i].kind;
			slot_keep(w, fcntl(fd, F_DUPFD_CLOEXEC, 3), kind);
		}
		break;
	default:
		slot_keep(w, open(KSA_DEV, flags), PIN);
		break;
	}
}

static const __u32 uring_ops[] = {
	KSALLOC_URING_CMD_ALLOC, KSALLOC_URING_CMD_FREE,
	KSALLOC_URING_CMD_BATCH_ALLOC, KSALLOC_URING_CMD_BATCH_FREE,
	KSALLOC_URING_CMD_CANCEL,
};
#define NURING_OPS (sizeof(uring_ops) / sizeof(uring_ops[0]))
/* Commands a ring may have in flight; its CQ holds twice its SQ */
#define RING_ENTRIES	32
#define RING_INFLIGHT	48

static void ring_close(struct worker *w)
{
	if (!w->ring_ok)
		return;
	/* What is still queued is the kernel's to cancel. */
	io_uring_queue_exit(&w->ring);
	w->ring_ok = 0;
	w->ring_inflight = 0;
}

/* One random command: user_data is (small tag << 8 | op index) */
static void prep_uring(struct worker *w, struct io_uring_sqe *sqe)
{
	__u32 i = below(w, NURING_OPS + 1), count;
	int fd = chance(w, 85) ? own_fd(w, ALLOCATOR) : rnd_fd(w);
	struct ksalloc_uring_cmd *c;

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = i < NURING_OPS ? uring_ops[i] : (__u32)rnd(w);
	sqe->user_data = below(w, 16) << 8 | i;
	if (chance(w, 3))
		sqe->uring_cmd_flags = rnd(w) & 3;
	c = (struct ksalloc_uring_cmd *)sqe->cmd;
	c->addr = 0;
	c->count = chance(w, 95) ? 0 : rnd_size(w);
	c->flags = chance(w, 70) ? 0 : chance(w, 70) ? below(w, 4) : rnd(w);
	switch (i) {
	case 0:		/* ALLOC: usually the well-formed one, which may queue */
		if (chance(w, 5))
			c->addr = rnd(w);
		if (chance(w, 50))
			c->flags = 0;
		break;
	case 1:
		c->addr = rnd_offset(w);
		break;
	case 2:
	case 3:
		count = chance(w, 90) ? 1 + below(w, KSALLOC_BATCH_MAX) :
			rnd_size(w);
		c->count = count;
		if (i == 2)	/* written, maybe later: never the arena */
			c->addr = chance(w, 90) ? (uintptr_t)w->ubuf +
				  below(w, KSALLOC_BATCH_MAX) * 8 +
				  (chance(w, 95) ? 0 : 1 + below(w, 7)) :
				  bad_addrs[below(w, NBAD)];
		else		/* only read */
			c->addr = rnd_buf(w, count * 8);
		if (i == 3) {
			/* count * 8 must not wrap (count may be huge) */
			__u64 *v = count <= ARENA / 8 ?
				   arena_at(w, c->addr, count * 8) : NULL;
			__u32 k;

			for (k = 0; v && k < count; k++)
				v[k] = rnd_offset(w);
		}
		break;
	case 4:		/* CANCEL: a tag of ours, or all of this ring's */
		c->addr = chance(w, 50) ? 0 : below(w, 16) << 8;
		break;
	default:
		c->addr = rnd(w);
		break;
	}
}

/*
 * A few io_uring commands on a ring of the worker's, and whatever has
 * completed; ALLOCs that got a frame leave its offset to FREE later.
 * Sometimes the ring is closed with commands still queued.
 */
static void op_uring(struct worker *w)
{
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	__u32 n, i;

	if (w->ring_ok && chance(w, 3))
		ring_close(w);
	if (!w->ring_ok) {
		if (io_uring_queue_init(RING_ENTRIES, &w->ring,
					chance(w, 25) ? IORING_SETUP_SQE128 : 0))
			return;
		w->ring_ok = 1;
	}
	n = 1 + below(w, 4);
	for (i = 0; i < n && w->ring_inflight < RING_INFLIGHT; i++) {
		sqe = io_uring_get_sqe(&w->ring);
		if (!sqe)
			break;
		prep_uring(w, sqe);
		w->ring_inflight++;
	}
	io_uring_submit(&w->ring);
	while (!io_uring_peek_cqe(&w->ring, &cqe)) {
		__u32 op = cqe->user_data & 0xff;

		if (op == 0 && cqe->res >= 0)
			remember_offset(w, (__u64)cqe->res * page);
		io_uring_cqe_seen(&w->ring, cqe);
		if (w->ring_inflight)
			w->ring_inflight--;
	}
}

static void op_close(struct worker *w)
{
	slot_close(w, below(w, SLOTS));
}

/* poll, read, write, lseek on whatever: the generic file paths */
static void op_file(struct worker *w)
{
	int fd = rnd_fd(w);
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
	char buf[16] = { 1 };

	switch (below(w, 4)) {
	case 0:
		poll(&pfd, 1, 0);
		break;
	case 1:
		if (fd >= 0 && own_fd(w, EVENTFD) != fd)
			(void)!read(fd, buf, sizeof(buf));
		break;
	case 2:
		if (fd >= 0 && own_fd(w, EVENTFD) != fd)
			(void)!write(fd, buf, sizeof(buf));
		break;
	default:
		lseek(fd, rnd(w), SEEK_SET);
		break;
	}
}

static void one_op(struct worker *w, unsigned int r);
static void on_usr1(int sig);

/*
 * A child that inherits every fd and mapping, does a few requests and
 * exits without closing anything: process exit releases it all.
 */
static void op_fork(struct worker *w)
{
	pid_t pid;
	int i, status;

	if (w->forks >= 100)
		return;
	w->forks++;
	pid = fork();
	if (pid < 0)
		return;
	if (!pid) {
		/*
		 * No watchdog here: a timer interrupts whatever blocks
		 * (on_usr1 is a no-op handler without SA_RESTART).
		 */
		struct itimerval it = {
			.it_interval = { .tv_usec = STALL_MS * 1000 },
			.it_value = { .tv_usec = STALL_MS * 1000 },
		};
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr1;
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		w->rng ^= 0x5bd1e995;
		/* The parent's ring is the parent's: a ring of its own */
		w->ring_ok = 0;
		w->ring_inflight = 0;
		for (i = 0; i < 20; i++)
			one_op(w, below(w, 100));
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Which op a draw of one_op() is, for the census report */
static const char *op_name(unsigned int r)
{
	static const struct { unsigned int below; const char *name; } ops[] = {
		{ 6, "open" }, { 10, "close" }, { 18, "create" },
		{ 30, "automation" }, { 41, "alloc" }, { 47, "frame" },
		{ 57, "free" }, { 64, "batch" }, { 72, "event" },
		{ 76, "reset" }, { 84, "pin" }, { 89, "mmap" },
		{ 92, "raw_ioctl" }, { 95, "importer" }, { 97, "file" },
		{ 99, "uring" }, { 100, "fork/file" },
	};
	unsigned int i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (r < ops[i].below)
			return ops[i].name;
	return "?";
}

static void one_op(struct worker *w, unsigned int r)
{
	switch (r) {
	case 0 ... 5:
		op_open(w);
		break;
	case 6 ... 9:
		op_close(w);
		break;
	case 10 ... 17:
		op_create(w);
		break;
	case 18 ... 29:
		op_automation(w);
		break;
	case 30 ... 40:
		op_alloc(w);
		break;
	case 41 ... 46:
		op_frame(w);
		break;
	case 47 ... 56:
		op_free(w);
		break;
	case 57 ... 63:
		op_batch(w);
		break;
	case 64 ... 71:
		op_event(w);
		break;
	case 72 ... 75:
		op_reset(w);
		break;
	case 76 ... 83:
		op_pin(w);
		break;
	case 84 ... 88:
		op_mmap(w);
		break;
	case 89 ... 91:
		op_raw_ioctl(w);
		break;
	case 92 ... 94:
		op_importer(w);
		break;
	case 95 ... 96:
		op_file(w);
		break;
	case 97 ... 98:
		op_uring(w);
		break;
	default:
		if (chance(w, 20))
			op_fork(w);
		else
			op_file(w);
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned long i;

	for (i = 0; i < w->calls; i++) {
		unsigned int r = below(w, 100), h = i % HIST;

		/*
		 * Seen unpaused again before the next request: a census
		 * asked for meanwhile waits for this worker to say paused.
		 */
		while (__atomic_load_n(&pause_req, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&w->paused, 1, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&pause_req, __ATOMIC_SEQ_CST))
				usleep(200);
			__atomic_store_n(&w->paused, 0, __ATOMIC_SEQ_CST);
		}
		w->kept = -1;
		w->hist[h].op = r;
		w->hist[h].seq0 = __atomic_fetch_add(&op_seq, 1, __ATOMIC_RELAXED);
		one_op(w, r);
		w->hist[h].seq1 = __atomic_fetch_add(&op_seq, 1, __ATOMIC_RELAXED);
		w->hist[h].kept = w->kept;
		w->progress++;
	}
	/* For good: a census need not wait */
	__atomic_store_n(&w->paused, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void on_usr1(int sig)
{
	(void)sig;
}

/* An untracked fd: what it is, and what the workers did since it was free */
static void report_untracked(int dfd, const char *name, int fd)
{
	char what[128] = "?", path[64], info[256] = "";
	unsigned long since = 0;
	ssize_t n = readlinkat(dfd, name, what, sizeof(what) - 1);
	FILE *f;
	int i;

	if (n > 0)
		what[n] = 0;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (f) {
		n = fread(info, 1, sizeof(info) - 1, f);
		info[n > 0 ? n : 0] = 0;
		for (i = 0; info[i]; i++)
			if (info[i] == '\n')
				info[i] = ' ';
		fclose(f);
	}
	ksft_print_msg("census: fd %d held by no slot: %s (%s)\n", fd, what, info);
	if (fd < FDLOG && fdlog[fd].kind != NONE) {
		ksft_print_msg("fd %d: last %s (kind %d) by worker %d at its call %lu, sequence %lu\n",
			       fd, fdlog[fd].kept ? "kept" : "closed",
			       fdlog[fd].kind, fdlog[fd].worker, fdlog[fd].call,
			       fdlog[fd].seq);
		since = fdlog[fd].seq;
	}
	/* The census before this one saw no such fd */
	if (census_seq > since)
		since = census_seq;
	if (fd < FDLOG)
		fdlog[fd].reported = 1;
	/*
	 * It was made by a request that ended after @since: all of those, a
	 * line per worker (call number, op, and the fd it kept if any).
	 */
	ksft_print_msg("requests that ended after sequence %lu:\n", since);
	for (i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];
		unsigned long k, p = w->progress;
		char line[2048];
		int len = 0, shown = 0;

		for (k = p > HIST ? p - HIST : 0; k < p && shown < 96; k++) {
			unsigned int h = k % HIST;

			if (w->hist[h].seq1 < since)
				continue;
			len += snprintf(line + len, sizeof(line) - len, " %lu:%s",
					k, op_name(w->hist[h].op));
			if (w->hist[h].kept >= 0 && len < (int)sizeof(line))
				len += snprintf(line + len, sizeof(line) - len,
						"(kept %d)", w->hist[h].kept);
			if (len >= (int)sizeof(line))
				break;
			shown++;
		}
		ksft_print_msg("  worker %d:%s\n", i, shown ? line : " none");
	}
}

/*
 * Every fd of the process is one from before the run, a worker's slot or
 * a worker's ring. Runs while every worker waits between requests, so the
 * bookkeeping is whole; an fd nobody holds is reported once.
 */
static void census(void)
{
	DIR *d = opendir("/proc/self/fd");
	int dfd = d ? dirfd(d) : -1;
	struct dirent *e;

	censuses++;
	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name), i, j, held = 0;

		if (e->d_name[0] == '.' || fd == dfd ||
		    (fd < FDLOG && (fd_before[fd] || fdlog[fd].reported)))
			continue;
		for (i = 0; i < nthreads && !held; i++) {
			struct worker *w = &workers[i];

			for (j = 0; j < SLOTS; j++)
				held |= w->slot[j].kind != NONE &&
					w->slot[j].fd == fd;
			held |= w->ring_ok && w->ring.ring_fd == fd;
		}
		if (!held) {
			census_failed = 1;
			report_untracked(dfd, e->d_name, fd);
		}
	}
	if (d)
		closedir(d);
	census_seq = __atomic_load_n(&op_seq, __ATOMIC_RELAXED);
}

/* The fds open before the run, by number: the runner's, not ours */
static void note_fds_before(void)
{
	DIR *d = opendir("/proc/self/fd");
	int dfd = d ? dirfd(d) : -1;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd != dfd && fd < FDLOG)
			fd_before[fd] = 1;
	}
	if (d)
		closedir(d);
}

static int all_paused(void)
{
	int i;

	for (i = 0; i < nthreads; i++)
		if (!__atomic_load_n(&workers[i].paused, __ATOMIC_SEQ_CST))
			return 0;
	return 1;
}

/* Interrupt any worker stuck in one request for STALL_MS */
static void *watchdog_main(void *arg)
{
	unsigned long last[MAX_THREADS] = { 0 };
	int idle[MAX_THREADS] = { 0 }, i;
	unsigned long ticks = 0;

	(void)arg;
	while (!done) {
		usleep(TICK_MS * 1000);
		if (++ticks % (10000 / TICK_MS) == 0) {
			unsigned long sum = 0;

			for (i = 0; i < nthreads; i++)
				sum += workers[i].progress;
			ksft_print_msg("%lu calls done, %lu interrupted\n", sum,
				       interrupts);
		}
		/* Now and then a census, between requests */
		if (ticks % CENSUS_TICKS == 0)
			__atomic_store_n(&pause_req, 1, __ATOMIC_SEQ_CST);
		if (pause_req && all_paused()) {
			census();
			__atomic_store_n(&pause_req, 0, __ATOMIC_SEQ_CST);
		}
		for (i = 0; i < nthreads; i++) {
			if (workers[i].paused) {
				idle[i] = 0;
			} else if (workers[i].progress != last[i]) {
				last[i] = workers[i].progress;
				idle[i] = 0;
			} else if (++idle[i] >= STALL_MS / TICK_MS) {
				pthread_kill(workers[i].thread, SIGUSR1);
				interrupts++;
				idle[i] = 0;
			}
		}
	}
	return NULL;
}

static unsigned long env_or_arg(int argc, char **argv, int i, const char *env,
				unsigned long def)
{
	const char *s = i < argc ? argv[i] : getenv(env);

	return s && *s ? strtoul(s, NULL, 0) : def;
}

/*
 * Module counters drop when the last reference goes; a fput from another
 * thread's exit can be deferred for a moment: wait for them a while.
 */
static int settled(long long allocators0, long long total0)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (kst_read_long(KST_SYS_ALLOCATORS) == allocators0 &&
		    kst_read_long(KST_SYS_TOTAL_BYTES) == total0)
			return 1;
		usleep(10000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long seed, calls;
	long long allocators0, total0, allocators1, total1;
	struct sigaction sa;
	pthread_t watchdog;
	int fds1, i, j, ok = 1;
	struct timespec t0, t1;

	/* Line by line: a run cut off at the time limit still says how far */
	setvbuf(stdout, NULL, _IOLBF, 0);
	ksft_print_header();
	ksft_set_plan(1);
	if (access(KSA_DEV, R_OK | W_OK))
		ksft_exit_skip("%s: %s (is the module loaded?)\n", KSA_DEV,
			       strerror(errno));

	seed = env_or_arg(argc, argv, 1, "KSA_FUZZ_SEED", DEFAULT_SEED);
	calls = env_or_arg(argc, argv, 2, "KSA_FUZZ_CALLS", DEFAULT_CALLS);
	nthreads = env_or_arg(argc, argv, 3, "KSA_FUZZ_THREADS",
			      DEFAULT_THREADS);
	if (nthreads < 1 || nthreads > MAX_THREADS)
		nthreads = DEFAULT_THREADS;
	ksft_print_msg("seed %#lx, %lu calls, %d threads (rerun: fuzz %#lx %lu %d)\n",
		       seed, calls, nthreads, seed, calls, nthreads);

	page = sysconf(_SC_PAGESIZE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;	/* no SA_RESTART: interrupts a sleep */
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	i = vgem_open();
	have_vgem = i >= 0;
	if (have_vgem)
		close(i);
	else
		ksft_print_msg("no vgem: the importer's requests are left out\n");

	allocators0 = kst_read_long(KST_SYS_ALLOCATORS);
	total0 = kst_read_long(KST_SYS_TOTAL_BYTES);
	fds0 = kst_count_fds();
	note_fds_before();

	for (i = 0; i < MAX_THREADS * SLOTS; i++)
		all_fds[i] = -1;
	for (i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];
		unsigned char *mem;

		w->index = i;
		w->rng = (seed + 1) * 0x9e3779b97f4a7c15ull + i * 0xbf58476d1ce4e5b9ull;
		if (!w->rng)
			w->rng = 1;
		w->calls = calls / nthreads + (i < (int)(calls % nthreads));
		mem = mmap(NULL, ARENA + 2 * page, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (mem == MAP_FAILED)
			ksft_exit_fail_msg("mmap: %s\n", strerror(errno));
		w->arena = mem;
		mprotect(mem + ARENA, page, PROT_NONE);
		w->rdonly = mem + ARENA + page;
		mprotect(w->rdonly, page, PROT_READ);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < nthreads; i++)
		if (pthread_create(&workers[i].thread, NULL, worker_main,
				   &workers[i]))
			ksft_exit_fail_msg("pthread_create\n");
	/* Only once every worker has a thread id to signal */
	if (pthread_create(&watchdog, NULL, watchdog_main, NULL))
		ksft_exit_fail_msg("pthread_create\n");
	for (i = 0; i < nthreads; i++)
		pthread_join(workers[i].thread, NULL);
	done = 1;
	pthread_join(watchdog, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	census();

	/* Let go of everything; the module must be back at its baseline. */
	for (i = 0; i < nthreads; i++) {
		struct worker *w = &workers[i];

		for (j = 0; j < MAPS; j++)
			if (w->map[j].addr)
				munmap(w->map[j].addr, w->map[j].len);
		for (j = 0; j < SLOTS; j++)
			slot_close(w, j);
		ring_close(w);
	}
	/* fds handed out by the kernel that no slot took (full table) */
	fds1 = kst_count_fds();
	if (fds1 != fds0) {
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;
		int dfd = d ? dirfd(d) : -1;

		while (d && (e = readdir(d))) {
			int fd = atoi(e->d_name);

			if (e->d_name[0] != '.' && fd != dfd &&
			    !(fd < FDLOG && fd_before[fd])) {
				char what[128] = "?";
				ssize_t n = readlinkat(dfd, e->d_name, what,
						       sizeof(what) - 1);

				if (n > 0)
					what[n] = 0;
				ksft_print_msg("fd %d still open: %s\n", fd,
					       what);
				if (fd < FDLOG && fdlog[fd].kind != NONE)
					ksft_print_msg("fd %d: last %s (kind %d) by worker %d at its call %lu\n",
						       fd, fdlog[fd].kept ?
						       "kept" : "closed",
						       fdlog[fd].kind,
						       fdlog[fd].worker,
						       fdlog[fd].call);
			}
		}
		if (d)
			closedir(d);
	}
	ok = settled(allocators0, total0);
	allocators1 = kst_read_long(KST_SYS_ALLOCATORS);
	total1 = kst_read_long(KST_SYS_TOTAL_BYTES);

	ksft_print_msg("%lu calls in %.1f s, %lu interrupted, %lu fd censuses; allocators %lld -> %lld, total_bytes %lld -> %lld, fds %d -> %d\n",
		       calls, (t1.tv_sec - t0.tv_sec) +
		       (t1.tv_nsec - t0.tv_nsec) / 1e9, interrupts, censuses,
		       allocators0, allocators1, total0, total1, fds0, fds1);
	{
		static const char *const names[NCMDS + 1] = {
			"property", "enable", "disable", "method", "reset",
			"create", "mmap",
		};
		char line[512];
		int len = 0;

		for (j = 0; j <= (int)NCMDS; j++) {
			unsigned long t = 0, k = 0;

			for (i = 0; i < nthreads; i++) {
				t += workers[i].tried[j];
				k += workers[i].worked[j];
			}
			len += snprintf(line + len, sizeof(line) - len,
					" %s %lu/%lu", names[j], k, t);
		}
		ksft_print_msg("succeeded/made:%s\n", line);
	}
	if (have_vgem) {
		unsigned long made = 0, worked = 0;

		for (i = 0; i < nthreads; i++) {
			made += workers[i].imports;
			worked += workers[i].imported;
		}
		ksft_print_msg("vgem PRIME imports: %lu of %lu worked\n",
			       worked, made);
	}
	ok = ok && fds1 == fds0 && !census_failed;
	ksft_test_result(ok, "fuzz: survived %lu calls, nothing left behind\n",
			 calls);
	ksft_finished();
}
