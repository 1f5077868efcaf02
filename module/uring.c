// SPDX-License-Identifier: GPL-2.0
/*
 * io_uring commands on an allocator (IORING_OP_URING_CMD): ALLOC, FREE,
 * the batches and CANCEL; an ALLOC that waits is KS's STATUS_PENDING
 * made asynchronous.
 *
 * An ALLOC that finds a free frame completes inline, its res being the
 * frame index. One that finds none is queued in the pool's FIFO of
 * waiters, among the ALLOC callers asleep (pool.c); the FREE (or the
 * release of the last dma-buf) that returns a frame hands it to the
 * oldest waiter under pool->lock and, once the lock is dropped, passes
 * a command so served to ksa_uring_complete(). That may run in any
 * context a kernel client frees from, so it only queues io_uring task
 * work; the CQE is posted from there, in the submitter's context. No
 * io_uring function is called under pool->lock, which is taken with
 * interrupts off.
 *
 * Queued commands are marked cancelable before they can be seen on the
 * queue: when their ring is closed, or their task exits or execs,
 * io_uring calls ->uring_cmd() with IO_URING_F_CANCEL, and a command
 * still on the queue ends with -ECANCELED. One that was handed a frame
 * already has its task work pending; when that runs for a task or ring
 * that is going away, nobody would see the CQE, so the frame goes back
 * to the pool. KSRESET_BEGIN and KSALLOC_URING_CMD_CANCEL send commands
 * away through the same path as a frame.
 *
 * Where io_uring cannot cancel a command (6.1), ALLOC never queues, so
 * that no ring ever waits on ksalloc at teardown: it completes inline or
 * fails with -EAGAIN.
 *
 * Lifetime: a request holds the allocator's file until it completes, so
 * the pool outlives every command queued on it.
 */
#include <linux/fs.h>
#include <linux/overflow.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "ksalloc.h"

static struct ksalloc_allocator *ksa_uring_allocator(struct io_uring_cmd *cmd)
{
	return cmd->file->private_data;
}

/* Whether an ALLOC with no frame free is queued (or fails with -EAGAIN) */
bool ksa_uring_can_queue(void)
{
#ifdef KSA_URING_QUEUE
	return true;
#else
	return false;
#endif
}

/*
 * A result that must not be returned as such: -EAGAIN would make
 * io_uring issue the command again from a worker thread. Complete it
 * here instead, as io_uring allows before -EIOCBQUEUED.
 */
static int ksa_uring_post(struct io_uring_cmd *cmd, int res,
			  unsigned int issue_flags)
{
	ksa_uring_done(cmd, res, issue_flags);
	return -EIOCBQUEUED;
}

#ifdef KSA_URING_QUEUE
/* The part of a command's pdu that is ours while it is queued */
struct ksa_uring_pdu {
	struct ksa_waiter w;
	u64 user_data;		/* the SQE's, for KSALLOC_URING_CMD_CANCEL */
};

static_assert(sizeof(struct ksa_uring_pdu) <=
	      sizeof_field(struct io_uring_cmd, pdu));

static struct ksa_uring_pdu *ksa_uring_pdu(struct io_uring_cmd *cmd)
{
	return (struct ksa_uring_pdu *)cmd->pdu;
}

static struct io_uring_cmd *ksa_uring_cmd_of(struct ksa_waiter *w)
{
	return container_of((void *)w, struct io_uring_cmd, pdu);
}

/*
 * Task work of a command taken off the queue: post its frame, or its
 * error. @gone: the task is exiting or the ring is going away, so the
 * CQE will never be seen; a frame would be lost, so it goes back as an
 * ALLOC's whose result never reached the caller (ksa_pool_untake(): no
 * second FREEFRAME after the one of the FREE that handed it over).
 */
static void ksa_uring_finish(struct io_uring_cmd *cmd,
			     unsigned int issue_flags, bool gone)
{
	struct ksa_waiter *w = &ksa_uring_pdu(cmd)->w;
	int res = w->error;

	if (w->frame >= 0) {
		res = w->frame;
		if (gone) {
			ksa_pool_untake(&ksa_uring_allocator(cmd)->pool,
					w->frame);
			res = -ECANCELED;
		}
	}
	ksa_uring_done(cmd, res, issue_flags);
}

#ifdef KSA_HAVE_URING_TW_REQ
static void ksa_uring_tw(struct io_tw_req tw_req, io_tw_token_t tw)
{
	ksa_uring_finish(io_uring_cmd_from_tw(tw_req),
			 IO_URING_CMD_TASK_WORK_ISSUE_FLAGS, tw.cancel);
}
#else
/*
 * IO_URING_F_TASK_DEAD covers the task only: a ring being closed still
 * runs task work normally, so look at its references as newer kernels
 * do for tw.cancel.
 */
static void ksa_uring_tw(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	ksa_uring_finish(cmd, issue_flags,
			 issue_flags & IO_URING_F_TASK_DEAD ||
			 percpu_ref_is_dying(&cmd_to_io_kiocb(cmd)->ctx->refs));
}
#endif

/*
 * The pool took @w off the queue with a frame or -ECANCELED. Any
 * context, no pool lock held; the command may complete (and its memory
 * go) before this returns.
 */
void ksa_uring_complete(struct ksa_waiter *w)
{
	/* One CQE per command: the lazy wake is allowed. */
	io_uring_cmd_do_in_task_lazy(ksa_uring_cmd_of(w), ksa_uring_tw);
}

/* io_uring cancels the command: its ring or task is going away. */
static void ksa_uring_cancel(struct io_uring_cmd *cmd,
			     unsigned int issue_flags)
{
	struct ksalloc_allocator *a = ksa_uring_allocator(cmd);

	/* If not, it has a frame or an error and its task work will run. */
	if (ksa_pool_dequeue(&a->pool, &ksa_uring_pdu(cmd)->w))
		ksa_uring_done(cmd, -ECANCELED, issue_flags);
}

/* Queue an ALLOC that found no frame free. */
static int ksa_uring_queue(struct io_uring_cmd *cmd, struct ksa_pool *pool,
			   unsigned int issue_flags)
{
	struct ksa_uring_pdu *p = ksa_uring_pdu(cmd);
	u32 index;
	int ret;

	p->w = (struct ksa_waiter){ .frame = -1, .uring = true };
	INIT_LIST_HEAD(&p->w.node);
	p->user_data = READ_ONCE(cmd->sqe->user_data);
	/* Before a FREE can see it, and complete it. */
	io_uring_cmd_mark_cancelable(cmd, issue_flags);
	ret = ksa_pool_queue(pool, &p->w, &index);
	if (ret == -EIOCBQUEUED)
		return ret;
	/* A frame came back meanwhile, or a reset began. */
	return ksa_uring_post(cmd, ret ? ret : index, issue_flags);
}

struct ksa_uring_match {
	const void *ring;
	u64 user_data;
	bool all;
};

static bool ksa_uring_match(struct ksa_waiter *w, const void *data)
{
	const struct ksa_uring_match *m = data;
	struct io_uring_cmd *cmd;

	if (!w->uring)
		return false;
	cmd = ksa_uring_cmd_of(w);
	return ksa_uring_ring(cmd) == m->ring &&
	       (m->all || ksa_uring_pdu(cmd)->user_data == m->user_data);
}
#else
void ksa_uring_complete(struct ksa_waiter *w)
{
	/* Nothing is ever queued. */
	WARN_ON_ONCE(1);
}
#endif /* KSA_URING_QUEUE */

/* KSALLOC_URING_CMD_ALLOC */
static int ksa_uring_alloc(struct io_uring_cmd *cmd, struct ksalloc_allocator *a,
			   const struct ksalloc_uring_cmd *c,
			   unsigned int issue_flags)
{
	struct ksa_pool *pool = &a->pool;
	u32 index;
	int ret;

	if (c->addr)
		return -EINVAL;
	if (c->flags & KSALLOC_FRAMEF_DMABUF)
		return -EOPNOTSUPP;
	/* res is an s32 */
	if (pool->frames > S32_MAX)
		return -EOVERFLOW;
	ret = ksa_pool_alloc(pool, true, &index);
	if (!ret)
		return index;
	if (ret != -EAGAIN)
		return ret;
#ifdef KSA_URING_QUEUE
	if (!(c->flags & KSALLOC_FRAMEF_NOWAIT) &&
	    !(cmd->file->f_flags & O_NONBLOCK))
		return ksa_uring_queue(cmd, pool, issue_flags);
#endif
	return ksa_uring_post(cmd, -EAGAIN, issue_flags);
}

/* KSALLOC_URING_CMD_FREE */
static int ksa_uring_free(struct io_uring_cmd *cmd, struct ksalloc_allocator *a,
			  const struct ksalloc_uring_cmd *c,
			  unsigned int issue_flags)
{
	u32 index = ksa_pool_frame_index(&a->pool, c->addr);

	if (index == U32_MAX)
		return -EINVAL;
	return ksa_allocator_free_index(a, index, true);
}

/* KSALLOC_URING_CMD_BATCH_ALLOC: never queued */
static int ksa_uring_batch_alloc(struct io_uring_cmd *cmd,
				 struct ksalloc_allocator *a,
				 const struct ksalloc_uring_cmd *c,
				 unsigned int issue_flags)
{
	u64 offsets[KSALLOC_BATCH_MAX];
	u32 index[KSALLOC_BATCH_MAX];
	u32 i, got;
	int ret;

	ret = ksa_pool_alloc_batch(&a->pool, true,
				   c->flags & KSALLOC_BATCHF_ALL_OR_NOTHING,
				   c->count, index, &got);
	if (ret == -EAGAIN)
		return ksa_uring_post(cmd, ret, issue_flags);
	if (ret)
		return ret;
	for (i = 0; i < got; i++)
		offsets[i] = (u64)index[i] * a->pool.stride;
	if (copy_to_user(u64_to_user_ptr(c->addr), offsets,
			 got * sizeof(u64))) {
		/* The caller never learnt of the frames: they go back. */
		ksa_allocator_untake_offsets(a, offsets, got);
		return -EFAULT;
	}
	return got;
}

/* KSALLOC_URING_CMD_BATCH_FREE */
static int ksa_uring_batch_free(struct io_uring_cmd *cmd,
				struct ksalloc_allocator *a,
				const struct ksalloc_uring_cmd *c,
				unsigned int issue_flags)
{
	u64 offsets[KSALLOC_BATCH_MAX];

	if (copy_from_user(offsets, u64_to_user_ptr(c->addr),
			   c->count * sizeof(u64)))
		return -EFAULT;
	return ksa_allocator_free_offsets(a, offsets, c->count);
}

/* KSALLOC_URING_CMD_CANCEL */
static int ksa_uring_cancel_cmd(struct io_uring_cmd *cmd,
				struct ksalloc_allocator *a,
				const struct ksalloc_uring_cmd *c,
				unsigned int issue_flags)
{
#ifdef KSA_URING_QUEUE
	struct ksa_uring_match m = {
		.ring = ksa_uring_ring(cmd),
		.user_data = c->addr,
		.all = c->flags & KSALLOC_URING_CANCEL_ALL,
	};
	u32 n;
#endif

	if (c->flags & KSALLOC_URING_CANCEL_ALL && c->addr)
		return -EINVAL;
#ifdef KSA_URING_QUEUE
	n = ksa_pool_cancel(&a->pool, ksa_uring_match, &m);
	if (n)
		return min_t(u32, n, S32_MAX);
#endif
	return -ENOENT;
}

struct ksa_uring_op {
	u32 cmd_op;
	u32 flags;		/* valid ksalloc_uring_cmd.flags */
	bool batch;		/* count is 1 to KSALLOC_BATCH_MAX, else 0 */
	int (*fn)(struct io_uring_cmd *cmd, struct ksalloc_allocator *a,
		  const struct ksalloc_uring_cmd *c, unsigned int issue_flags);
};

static const struct ksa_uring_op ksa_uring_ops[] = {
	{ KSALLOC_URING_CMD_ALLOC,
	  KSALLOC_FRAMEF_NOWAIT | KSALLOC_FRAMEF_DMABUF, false,
	  ksa_uring_alloc },
	{ KSALLOC_URING_CMD_FREE, 0, false, ksa_uring_free },
	{ KSALLOC_URING_CMD_BATCH_ALLOC, KSALLOC_BATCHF_ALL_OR_NOTHING, true,
	  ksa_uring_batch_alloc },
	{ KSALLOC_URING_CMD_BATCH_FREE, 0, true, ksa_uring_batch_free },
	{ KSALLOC_URING_CMD_CANCEL, KSALLOC_URING_CANCEL_ALL, false,
	  ksa_uring_cancel_cmd },
};

/* sqe->uring_cmd_flags: none applies (no registered buffer, one CQE) */
#ifdef IORING_URING_CMD_MASK
#define KSA_URING_CMD_USER_FLAGS	IORING_URING_CMD_MASK
#else
#define KSA_URING_CMD_USER_FLAGS	IORING_URING_CMD_FIXED
#endif

/**
 * ksa_uring_cmd() - file_operations.uring_cmd of an allocator
 * @cmd: the command
 * @issue_flags: IO_URING_F_*
 *
 * Return: the result (the CQE's res), or -EIOCBQUEUED when it completes
 * later through io_uring_cmd_done().
 */
int ksa_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
	const struct ksalloc_uring_cmd *sqe;
	const struct ksa_uring_op *op;
	struct ksalloc_uring_cmd c;
	unsigned int i;

#ifdef KSA_URING_QUEUE
	if (issue_flags & IO_URING_F_CANCEL) {
		ksa_uring_cancel(cmd, issue_flags);
		return 0;
	}
#endif
	if (cmd->flags & KSA_URING_CMD_USER_FLAGS)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(ksa_uring_ops); i++)
		if (ksa_uring_ops[i].cmd_op == cmd->cmd_op)
			break;
	if (i == ARRAY_SIZE(ksa_uring_ops))
		return -ENOTTY;
	op = &ksa_uring_ops[i];

	/* The SQE may be user memory still: read each field once. */
	sqe = ksa_uring_sqe(cmd);
	c.addr = READ_ONCE(sqe->addr);
	c.count = READ_ONCE(sqe->count);
	c.flags = READ_ONCE(sqe->flags);
	if (c.flags & ~op->flags)
		return -EINVAL;
	if (op->batch ? !c.count || c.count > KSALLOC_BATCH_MAX : c.count)
		return -EINVAL;
	return op->fn(cmd, ksa_uring_allocator(cmd), &c, issue_flags);
}
