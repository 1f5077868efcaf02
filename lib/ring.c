// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libksalloc: asynchronous ALLOC and FREE through io_uring (see
 * libksalloc.h, "Asynchronous frames").
 *
 * A minimal ring of its own over the raw system calls and
 * <linux/io_uring.h>, so that the library needs nothing but libc: one
 * mmap of the SQ and CQ rings (IORING_FEAT_SINGLE_MMAP, 5.4), the SQE
 * array, and io_uring_enter() to submit and wait. Each request in
 * flight has a slot; the slot's address is the SQE's user_data, so a
 * CQE leads back to the allocator and the caller's tag.
 *
 * Where the kernel does not queue an ALLOC (6.1, or an O_NONBLOCK fd),
 * it completes with -EAGAIN; a request that may wait then arms
 * IORING_OP_POLL_ADD on the allocator fd and tries again when it is
 * readable. The caller sees one completion either way.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "libksalloc.h"

#ifndef KSA_PUBLIC
#define KSA_PUBLIC __attribute__((visibility("default")))
#endif

#define KSA_RING_MAX_ENTRIES	4096

/* What a slot's request is doing now */
enum ksa_ring_state {
	KSA_SLOT_FREE,
	KSA_SLOT_ALLOC,		/* KSALLOC_URING_CMD_ALLOC in flight */
	KSA_SLOT_POLL,		/* waiting for the allocator to be readable */
	KSA_SLOT_FREEING,	/* KSALLOC_URING_CMD_FREE in flight */
};

struct ksa_ring_slot {
	struct ksa_allocator *allocator;
	void *frame;		/* FREE: the frame */
	uint64_t tag;
	unsigned int flags;	/* KSA_FRAME_* of the ALLOC */
	enum ksa_ring_state state;
	struct ksa_ring_slot *next_free;
};

struct ksa_ring {
	int fd;
	/* the SQ ring: the kernel's head, our tail */
	unsigned int *sq_head, *sq_tail, *sq_array;
	unsigned int sq_mask, sq_entries;
	struct io_uring_sqe *sqes;
	unsigned int sq_local_tail;	/* prepared, not yet published */
	unsigned int to_submit;		/* published, not yet entered */
	/* the CQ ring: the kernel's tail, our head */
	unsigned int *cq_head, *cq_tail;
	unsigned int cq_mask;
	struct io_uring_cqe *cqes;
	void *ring_map;
	size_t ring_size;
	size_t sqes_size;
	/* one slot per request in flight, as many as the CQ holds */
	struct ksa_ring_slot *slots, *free_slots;
	unsigned int nslots;
};

static int ksa_sys_setup(unsigned int entries, struct io_uring_params *p)
{
	int ret = syscall(__NR_io_uring_setup, entries, p);

	return ret < 0 ? -errno : ret;
}

static int ksa_sys_enter(int fd, unsigned int to_submit,
			 unsigned int min_complete, unsigned int flags,
			 const void *arg, size_t argsz)
{
	int ret = syscall(__NR_io_uring_enter, fd, to_submit, min_complete,
			  flags, arg, argsz);

	return ret < 0 ? -errno : ret;
}

static void *ksa_ring_ptr(void *base, uint32_t off)
{
	return (char *)base + off;
}

KSA_PUBLIC int ksa_ring_create(unsigned int entries, unsigned int flags,
			       struct ksa_ring **ring)
{
	struct io_uring_params p;
	struct ksa_ring *r;
	size_t sq_size, cq_size;
	unsigned int i;
	int ret;

	if (!ring)
		return -EINVAL;
	*ring = NULL;
	if (!entries || entries > KSA_RING_MAX_ENTRIES || flags)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memset(&p, 0, sizeof(p));
	r->fd = ksa_sys_setup(entries, &p);
	if (r->fd < 0) {
		ret = r->fd;
		free(r);
		return ret;
	}
	ret = -EOPNOTSUPP;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP) ||
	    !(p.features & IORING_FEAT_EXT_ARG))
		goto err_fd;

	sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	r->ring_size = sq_size > cq_size ? sq_size : cq_size;
	r->ring_map = mmap(NULL, r->ring_size, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	if (r->ring_map == MAP_FAILED) {
		ret = -errno;
		goto err_fd;
	}
	r->sqes_size = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqes_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED) {
		ret = -errno;
		goto err_ring;
	}
	r->sq_head = ksa_ring_ptr(r->ring_map, p.sq_off.head);
	r->sq_tail = ksa_ring_ptr(r->ring_map, p.sq_off.tail);
	r->sq_array = ksa_ring_ptr(r->ring_map, p.sq_off.array);
	r->sq_mask = *(unsigned int *)ksa_ring_ptr(r->ring_map,
						   p.sq_off.ring_mask);
	r->sq_entries = p.sq_entries;
	r->sq_local_tail = *r->sq_tail;
	r->cq_head = ksa_ring_ptr(r->ring_map, p.cq_off.head);
	r->cq_tail = ksa_ring_ptr(r->ring_map, p.cq_off.tail);
	r->cq_mask = *(unsigned int *)ksa_ring_ptr(r->ring_map,
						   p.cq_off.ring_mask);
	r->cqes = ksa_ring_ptr(r->ring_map, p.cq_off.cqes);

	/* No more requests in flight than CQEs fit: the CQ never overflows */
	r->nslots = p.cq_entries;
	r->slots = calloc(r->nslots, sizeof(*r->slots));
	if (!r->slots) {
		ret = -ENOMEM;
		goto err_sqes;
	}
	for (i = 0; i < r->nslots; i++) {
		r->slots[i].next_free = r->free_slots;
		r->free_slots = &r->slots[i];
	}
	*ring = r;
	return 0;

err_sqes:
	munmap(r->sqes, r->sqes_size);
err_ring:
	munmap(r->ring_map, r->ring_size);
err_fd:
	close(r->fd);
	free(r);
	return ret;
}

KSA_PUBLIC void ksa_ring_close(struct ksa_ring *r)
{
	int saved = errno;

	if (!r)
		return;
	/* The kernel cancels what is still queued: no frame is taken. */
	munmap(r->sqes, r->sqes_size);
	munmap(r->ring_map, r->ring_size);
	close(r->fd);
	free(r->slots);
	free(r);
	errno = saved;
}

KSA_PUBLIC int ksa_ring_fd(const struct ksa_ring *r)
{
	return r ? r->fd : -EINVAL;
}

static int ksa_ring_enter(struct ksa_ring *r, unsigned int wait,
			  int timeout_ms);

/* An SQE to fill for @slot; NULL if the SQ stays full after a submit */
static struct io_uring_sqe *ksa_ring_sqe(struct ksa_ring *r,
					 struct ksa_ring_slot *slot)
{
	unsigned int head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
	struct io_uring_sqe *sqe;
	unsigned int idx;

	if (r->sq_local_tail - head >= r->sq_entries) {
		if (!r->to_submit || ksa_ring_enter(r, 0, 0))
			return NULL;
		head = __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
		if (r->sq_local_tail - head >= r->sq_entries)
			return NULL;
	}
	idx = r->sq_local_tail & r->sq_mask;
	sqe = &r->sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	sqe->user_data = (uintptr_t)slot;
	r->sq_array[idx] = idx;
	r->sq_local_tail++;
	/* Published now; the kernel reads it at the next io_uring_enter() */
	__atomic_store_n(r->sq_tail, r->sq_local_tail, __ATOMIC_RELEASE);
	r->to_submit++;
	return sqe;
}

static void ksa_ring_prep_cmd(struct io_uring_sqe *sqe, int fd, uint32_t op,
			      uint64_t addr, uint32_t flags)
{
	struct ksalloc_uring_cmd *c = (struct ksalloc_uring_cmd *)sqe->cmd;

	sqe->opcode = IORING_OP_URING_CMD;
	sqe->fd = fd;
	sqe->cmd_op = op;
	c->addr = addr;
	c->flags = flags;
}

/* The next step of an ALLOC: the command, or a poll before it */
static int ksa_ring_queue_alloc(struct ksa_ring *r, struct ksa_ring_slot *slot,
				enum ksa_ring_state state)
{
	struct io_uring_sqe *sqe = ksa_ring_sqe(r, slot);
	int fd = ksa_allocator_fd(slot->allocator);

	if (!sqe)
		return -EBUSY;
	slot->state = state;
	if (state == KSA_SLOT_POLL) {
		sqe->opcode = IORING_OP_POLL_ADD;
		sqe->fd = fd;
		sqe->poll32_events = POLLIN;
	} else {
		ksa_ring_prep_cmd(sqe, fd, KSALLOC_URING_CMD_ALLOC, 0,
				  slot->flags & KSA_FRAME_NONBLOCK ?
				  KSALLOC_FRAMEF_NOWAIT : 0);
	}
	return 0;
}

static struct ksa_ring_slot *ksa_ring_get_slot(struct ksa_ring *r)
{
	struct ksa_ring_slot *slot = r->free_slots;

	if (slot)
		r->free_slots = slot->next_free;
	return slot;
}

static void ksa_ring_put_slot(struct ksa_ring *r, struct ksa_ring_slot *slot)
{
	slot->state = KSA_SLOT_FREE;
	slot->next_free = r->free_slots;
	r->free_slots = slot;
}

KSA_PUBLIC int ksa_ring_alloc(struct ksa_ring *r, struct ksa_allocator *a,
			      unsigned int flags, uint64_t tag)
{
	struct ksa_ring_slot *slot;
	int ret;

	if (!r || !a || flags & ~KSA_FRAME_NONBLOCK)
		return -EINVAL;
	slot = ksa_ring_get_slot(r);
	if (!slot)
		return -EBUSY;
	slot->allocator = a;
	slot->frame = NULL;
	slot->tag = tag;
	slot->flags = flags;
	ret = ksa_ring_queue_alloc(r, slot, KSA_SLOT_ALLOC);
	if (ret)
		ksa_ring_put_slot(r, slot);
	return ret;
}

KSA_PUBLIC int ksa_ring_free(struct ksa_ring *r, struct ksa_allocator *a,
			     void *frame, uint64_t tag)
{
	int64_t offset = ksa_frame_offset(a, frame);
	struct ksa_ring_slot *slot;
	struct io_uring_sqe *sqe;

	if (!r || offset < 0)
		return -EINVAL;
	slot = ksa_ring_get_slot(r);
	if (!slot)
		return -EBUSY;
	sqe = ksa_ring_sqe(r, slot);
	if (!sqe) {
		ksa_ring_put_slot(r, slot);
		return -EBUSY;
	}
	slot->allocator = a;
	slot->frame = frame;
	slot->tag = tag;
	slot->flags = 0;
	slot->state = KSA_SLOT_FREEING;
	ksa_ring_prep_cmd(sqe, ksa_allocator_fd(a), KSALLOC_URING_CMD_FREE,
			  offset, 0);
	return 0;
}

/* io_uring_enter(): submit what is published, wait for @wait CQEs */
static int ksa_ring_enter(struct ksa_ring *r, unsigned int wait,
			  int timeout_ms)
{
	struct __kernel_timespec ts;
	struct io_uring_getevents_arg arg;
	unsigned int flags = 0;
	int ret;

	memset(&arg, 0, sizeof(arg));
	if (wait) {
		flags |= IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
		if (timeout_ms >= 0) {
			ts.tv_sec = timeout_ms / 1000;
			ts.tv_nsec = (timeout_ms % 1000) * 1000000LL;
			arg.ts = (uintptr_t)&ts;
		}
	}
	ret = ksa_sys_enter(r->fd, r->to_submit, wait, flags,
			    wait ? &arg : NULL, wait ? sizeof(arg) : 0);
	if (ret < 0)
		return ret;
	r->to_submit -= (unsigned int)ret < r->to_submit ?
			(unsigned int)ret : r->to_submit;
	return 0;
}

KSA_PUBLIC int ksa_ring_submit(struct ksa_ring *r)
{
	unsigned int n;
	int ret;

	if (!r)
		return -EINVAL;
	n = r->to_submit;
	if (!n)
		return 0;
	ret = ksa_ring_enter(r, 0, 0);
	return ret ? ret : (int)(n - r->to_submit);
}

/*
 * One CQE: true if it completes the caller's request (filled in @c),
 * false if the library took it up (a poll before an ALLOC again).
 */
static bool ksa_ring_cqe(struct ksa_ring *r, const struct io_uring_cqe *cqe,
			 struct ksa_completion *c)
{
	struct ksa_ring_slot *slot = (void *)(uintptr_t)cqe->user_data;
	struct ksa_allocator *a = slot->allocator;
	int res = cqe->res;

	if (slot->state == KSA_SLOT_ALLOC && res == -EAGAIN &&
	    !(slot->flags & KSA_FRAME_NONBLOCK)) {
		/* Not queued by the kernel: wait for a frame to be free */
		if (!ksa_ring_queue_alloc(r, slot, KSA_SLOT_POLL))
			return false;
	} else if (slot->state == KSA_SLOT_POLL && res >= 0) {
		if (!ksa_ring_queue_alloc(r, slot, KSA_SLOT_ALLOC))
			return false;
		res = -EAGAIN;
	}
	memset(c, 0, sizeof(*c));
	c->allocator = a;
	c->tag = slot->tag;
	if (slot->state == KSA_SLOT_FREEING) {
		c->op = KSA_RING_FREE;
		c->frame = slot->frame;
		c->result = res;
	} else {
		c->op = KSA_RING_ALLOC;
		c->result = res < 0 ? res : 0;
		if (res >= 0) {
			c->frame = ksa_frame_at(a, (uint64_t)res *
					       ksa_allocator_frame_stride(a));
			if (!c->frame)
				c->result = -EPROTO;
		}
	}
	ksa_ring_put_slot(r, slot);
	return true;
}

static int64_t ksa_ring_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

KSA_PUBLIC int ksa_ring_reap(struct ksa_ring *r, struct ksa_completion *c,
			     unsigned int max, int timeout_ms)
{
	int64_t deadline = 0;
	unsigned int head, tail, n = 0;
	int ret, left = timeout_ms;

	if (!r || !c || !max)
		return -EINVAL;
	if (timeout_ms > 0)
		deadline = ksa_ring_now_ms() + timeout_ms;
	for (;;) {
		if (r->to_submit) {
			ret = ksa_ring_enter(r, 0, 0);
			if (ret)
				return ret;
		}
		head = *r->cq_head;
		tail = __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE);
		while (head != tail && n < max) {
			if (ksa_ring_cqe(r, &r->cqes[head & r->cq_mask], &c[n]))
				n++;
			head++;
		}
		__atomic_store_n(r->cq_head, head, __ATOMIC_RELEASE);
		/* Polls and retries of ALLOCs go out now, whatever follows */
		if (r->to_submit) {
			ret = ksa_ring_enter(r, 0, 0);
			if (ret && !n)
				return ret;
		}
		if (n || !timeout_ms)
			return n;
		if (timeout_ms > 0) {
			left = deadline - ksa_ring_now_ms();
			if (left <= 0)
				return 0;
		}
		ret = ksa_ring_enter(r, 1, left);
		if (ret == -ETIME)
			return 0;
		if (ret)
			return ret;
	}
}
