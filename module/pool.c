// SPDX-License-Identifier: GPL-2.0
/*
 * The state of one allocator's frames: the free stack, which frames are
 * in use and why, the FIFO of ALLOC callers asleep, poll, and the charge
 * against the caps. The memory behind the frames is frames.c's.
 *
 * Frames are allocated when the allocator is created (KS default
 * allocators commit their frames up front) and freed when it goes.
 *
 * A frame is in use while a client holds it (ALLOC to FREE: the allocated
 * bit) or while a dma-buf of it is alive (exports). It returns to the free
 * stack, or to the oldest ALLOC caller asleep, only when neither is true
 * any more: a FREE of an exported frame is deferred to the release of its
 * last dma-buf, and a frame handed out as a dma-buf (owned) returns when
 * that dma-buf is released. A frame that returns is "freed" for
 * FREEFRAME, poll and the counters; a FREE that leaves it exported is not.
 *
 * A frame that returns while ALLOCs wait is handed straight to the oldest
 * of them, so waiters are served in FIFO order and a frame is never free
 * while somebody waits: nfree > 0 implies an empty waiter list. Waiters
 * are callers asleep in ALLOC and queued io_uring commands (uring.c), in
 * one queue; poll and FREEFRAME only see frames nobody waited for. An
 * io_uring waiter is completed (ksa_uring_complete()) after pool->lock is
 * dropped, so that nothing of io_uring ever runs under it.
 */
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "ksalloc.h"
#include "trace/ksalloc.h"

/* An ALLOC caller asleep in ksa_pool_get() */
struct ksa_sleeper {
	struct ksa_waiter w;
	struct task_struct *task;
};

static void ksa_pool_free_frames(struct ksa_pool *pool, u32 count)
{
	u32 i;

	for (i = 0; i < count; i++)
		ksa_frame_free(&pool->frame[i]);
}

/**
 * ksa_pool_init() - allocate the frames of an allocator
 * @pool: the pool to set up
 * @frames: number of frames
 * @frame_size: bytes per frame; PAGE_ALIGN(@frame_size) fits in 32 bits
 * @contiguous: each frame one physically contiguous block
 *
 * Return: 0, -ENOMEM (out of memory or over a cap), -EINTR (fatal signal)
 * or -E2BIG (@contiguous and a frame above the largest buddy block).
 */
int ksa_pool_init(struct ksa_pool *pool, u32 frames, u32 frame_size,
		  bool contiguous)
{
	u64 bytes;
	u32 i;
	int ret;

	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->waiters);
	init_waitqueue_head(&pool->pollq);
	pool->frames = frames;
	pool->frame_size = frame_size;
	pool->stride = PAGE_ALIGN(frame_size);
	pool->contiguous = contiguous;

	if (contiguous && pool->stride > ksa_frame_max_contiguous())
		return -E2BIG;
	bytes = (u64)frames * pool->stride;
	if (frames > READ_ONCE(ksa_max_frames))
		return -ENOMEM;
	ret = ksa_charge(&pool->charge, bytes);
	if (ret)
		return ret;
	pool->bytes = bytes;

	ret = -ENOMEM;
	pool->frame = kvcalloc(frames, sizeof(*pool->frame), KSA_GFP);
	pool->free_stack = kvcalloc(frames, sizeof(u32), KSA_GFP);
	pool->allocated = kvcalloc(BITS_TO_LONGS(frames), sizeof(long),
				   KSA_GFP);
	if (!pool->frame || !pool->free_stack || !pool->allocated)
		goto err_arrays;

	for (i = 0; i < frames; i++) {
		ret = -EINTR;
		if (fatal_signal_pending(current))
			goto err_frames;
		ret = ksa_frame_alloc(&pool->frame[i], pool->stride,
				      contiguous);
		if (ret)
			goto err_frames;
		/* Lowest index on top: frame 0 is handed out first. */
		pool->free_stack[frames - 1 - i] = i;
	}
	pool->nfree = frames;
	return 0;

err_frames:
	ksa_pool_free_frames(pool, i);
err_arrays:
	kvfree(pool->allocated);
	kvfree(pool->free_stack);
	kvfree(pool->frame);
	ksa_uncharge(&pool->charge);
	return ret;
}

/*
 * Called when the last reference is gone: nobody can be waiting, and no
 * dma-buf is alive (each holds the allocator).
 */
void ksa_pool_destroy(struct ksa_pool *pool)
{
	WARN_ON(!list_empty(&pool->waiters));
	WARN_ON(pool->exported_count);
	ksa_pool_free_frames(pool, pool->frames);
	kvfree(pool->allocated);
	kvfree(pool->free_stack);
	kvfree(pool->frame);
	ksa_uncharge(&pool->charge);
}

/* Mark a frame taken by a client (held) or by a new dma-buf (owned). */
static __always_inline void ksa_pool_mark(struct ksa_pool *pool, u32 index,
					  bool owned)
{
	struct ksa_frame *f = &pool->frame[index];

	lockdep_assert_held(&pool->lock);
	f->raised = false;
	if (owned) {
		f->owned = true;
		f->exports = 1;
		WRITE_ONCE(pool->exported_count, pool->exported_count + 1);
	} else {
		__set_bit(index, pool->allocated);
	}
}

/*
 * nfree, allocated_count, exported_count and resetting change under
 * pool->lock and are also read without it (poll, STATUS, fdinfo): every
 * store is WRITE_ONCE.
 */
static __always_inline u32 ksa_pool_take(struct ksa_pool *pool, bool owned)
{
	u32 index = pool->free_stack[pool->nfree - 1];

	lockdep_assert_held(&pool->lock);
	WRITE_ONCE(pool->nfree, pool->nfree - 1);
	ksa_pool_mark(pool, index, owned);
	WRITE_ONCE(pool->allocated_count, pool->allocated_count + 1);
	if (pool->allocated_count > pool->high_water) {
		pool->high_water = pool->allocated_count;
		pool->frame[index].raised = true;
	}
	trace_ksalloc_alloc(pool->id, index, pool->allocated_count);
	return index;
}

/*
 * A waiter taken off the queue with a frame or an error: wake a sleeper;
 * an io_uring command goes on @done, for ksa_pool_finish().
 */
static void ksa_pool_send(struct ksa_pool *pool, struct ksa_waiter *w,
			  struct list_head *done)
{
	lockdep_assert_held(&pool->lock);
	if (!w->uring) {
		wake_up_process(container_of(w, struct ksa_sleeper, w)->task);
		return;
	}
	trace_ksalloc_wait_end(pool->id, w->frame < 0 ? w->error : 0);
	if (w->frame >= 0)
		trace_ksalloc_alloc(pool->id, w->frame, pool->allocated_count);
	list_add_tail(&w->node, done);
}

/*
 * After pool->lock: complete the io_uring waiters ksa_pool_send() put on
 * @done, and wake poll if @wake.
 */
static void ksa_pool_finish(struct ksa_pool *pool, struct list_head *done,
			    bool wake)
{
	struct ksa_waiter *w, *tmp;

	/* A command may be gone as soon as it was passed on: _safe */
	list_for_each_entry_safe(w, tmp, done, node)
		ksa_uring_complete(w);
	if (wake)
		wake_up_interruptible_poll(&pool->pollq, EPOLLIN | EPOLLRDNORM);
}

/*
 * A frame that is neither held nor exported any more: to the oldest
 * waiter, or onto the free stack. True if poll should be woken.
 */
static bool ksa_pool_release(struct ksa_pool *pool, u32 index,
			     struct list_head *done)
{
	struct ksa_waiter *w;

	lockdep_assert_held(&pool->lock);
	pool->frame[index].owned = false;
	trace_ksalloc_free(pool->id, index, pool->allocated_count -
			   (list_empty(&pool->waiters) ? 1 : 0));
	w = list_first_entry_or_null(&pool->waiters, struct ksa_waiter, node);
	if (w) {
		/* Handed over: stays in use */
		list_del(&w->node);
		pool->nwaiters--;
		ksa_pool_mark(pool, index, w->owned);
		w->frame = index;
		ksa_pool_send(pool, w, done);
		return false;
	}
	WRITE_ONCE(pool->allocated_count, pool->allocated_count - 1);
	pool->free_stack[pool->nfree] = index;
	WRITE_ONCE(pool->nfree, pool->nfree + 1);
	/* Edge-triggered epoll wants one wake-up per transition. */
	return pool->nfree == 1 && !pool->resetting;
}

static int ksa_pool_get(struct ksa_pool *pool, bool nonblock, bool owned,
			u32 *index)
{
	/* Set before use, and only when the caller sleeps: no zeroing */
	struct ksa_sleeper s __uninitialized;
	unsigned long flags;
	int ret = 0;

	if (!nonblock)
		might_sleep();
	spin_lock_irqsave(&pool->lock, flags);
	if (pool->resetting) {
		ret = -ECANCELED;
	} else if (pool->nfree) {
		*index = ksa_pool_take(pool, owned);
	} else if (nonblock) {
		ret = -EAGAIN;
	} else {
		s.w.frame = -1;
		s.w.error = 0;
		s.w.owned = owned;
		s.w.uring = false;
		s.task = current;
		list_add_tail(&s.w.node, &pool->waiters);
		pool->nwaiters++;
		trace_ksalloc_wait_start(pool->id, pool->nwaiters);
		for (;;) {
			set_current_state(TASK_INTERRUPTIBLE);
			spin_unlock_irqrestore(&pool->lock, flags);
			schedule();
			spin_lock_irqsave(&pool->lock, flags);
			/* A granted frame wins over a signal: nothing is lost */
			if (s.w.frame >= 0) {
				*index = s.w.frame;
				break;
			}
			if (s.w.error) {
				ret = s.w.error;
				break;
			}
			if (signal_pending(current)) {
				list_del(&s.w.node);
				pool->nwaiters--;
				ret = -ERESTARTSYS;
				break;
			}
		}
		__set_current_state(TASK_RUNNING);
		trace_ksalloc_wait_end(pool->id, ret);
		if (!ret)
			trace_ksalloc_alloc(pool->id, *index,
					    pool->allocated_count);
	}
	spin_unlock_irqrestore(&pool->lock, flags);
	return ret;
}

/**
 * ksa_pool_alloc() - take a frame, sleeping for one unless @nonblock
 * @pool: the pool
 * @nonblock: fail with -EAGAIN instead of sleeping
 * @index: the frame taken
 *
 * Return: 0, -EAGAIN, -ECANCELED (reset in progress or begun while
 * asleep) or -ERESTARTSYS (signal).
 */
int ksa_pool_alloc(struct ksa_pool *pool, bool nonblock, u32 *index)
{
	return ksa_pool_get(pool, nonblock, false, index);
}

/**
 * ksa_pool_alloc_owned() - take a frame for a new dma-buf that owns it
 * @pool: the pool
 * @nonblock: fail with -EAGAIN instead of sleeping
 * @index: the frame taken
 *
 * The frame counts one export and no holder: it returns when that export
 * is dropped (ksa_pool_unexport()), and FREE refuses it.
 *
 * Return: as ksa_pool_alloc().
 */
int ksa_pool_alloc_owned(struct ksa_pool *pool, bool nonblock, u32 *index)
{
	return ksa_pool_get(pool, nonblock, true, index);
}

/* Why a frame a client names is not one it holds: -EBUSY if a dma-buf owns it. */
static int ksa_pool_not_held(struct ksa_pool *pool, u32 index)
{
	return index < pool->frames && pool->frame[index].owned ? -EBUSY :
								    -EINVAL;
}

/**
 * ksa_pool_free() - a client gives a frame back
 * @pool: the pool
 * @index: the frame
 *
 * The frame returns (to the oldest waiter or the free stack) unless a
 * dma-buf of it is alive; then it returns with the last one.
 *
 * Return: 1 if the frame returned, 0 if it stays exported, -EINVAL if
 * @index is not a frame a client holds, -EBUSY if a dma-buf owns it.
 */
int ksa_pool_free(struct ksa_pool *pool, u32 index)
{
	unsigned long flags;
	bool wake = false;
	LIST_HEAD(done);
	int ret = 0;

	spin_lock_irqsave(&pool->lock, flags);
	if (index >= pool->frames || !test_bit(index, pool->allocated)) {
		ret = ksa_pool_not_held(pool, index);
	} else {
		__clear_bit(index, pool->allocated);
		if (!pool->frame[index].exports) {
			wake = ksa_pool_release(pool, index, &done);
			ret = 1;
		}
	}
	spin_unlock_irqrestore(&pool->lock, flags);

	ksa_pool_finish(pool, &done, wake);
	return ret;
}

/**
 * ksa_pool_untake() - undo a take whose result never reached the caller
 * @pool: the pool
 * @index: a frame just taken by ksa_pool_alloc(), _alloc_owned() (whose
 *	dma-buf never got out) or _alloc_batch(), or handed to a queued
 *	io_uring ALLOC whose CQE nobody will see
 *
 * For a request that fails after its frame was taken (EFAULT on the way
 * out, no memory for an owned frame's dma-buf): the frame returns as for
 * a FREE, but the take leaves nothing a client sees: the caller signals
 * no FREEFRAME, and high_water loses the peak the take made (unless more
 * frames were taken since). The trace keeps the take and its return. A
 * frame that somebody else FREEd or exported in the meantime (another
 * thread may name any offset) is left to that call.
 */
void ksa_pool_untake(struct ksa_pool *pool, u32 index)
{
	struct ksa_frame *f = &pool->frame[index];
	unsigned long flags;
	bool wake = false;
	LIST_HEAD(done);

	spin_lock_irqsave(&pool->lock, flags);
	if (f->owned) {
		/* Nobody else can export or free an owned frame. */
		if (WARN_ON(f->exports != 1))
			goto out;
		f->exports = 0;
		WRITE_ONCE(pool->exported_count, pool->exported_count - 1);
	} else if (!__test_and_clear_bit(index, pool->allocated) ||
		   f->exports) {
		goto out;
	}
	if (f->raised && pool->high_water == pool->allocated_count)
		pool->high_water--;
	wake = ksa_pool_release(pool, index, &done);
out:
	spin_unlock_irqrestore(&pool->lock, flags);
	ksa_pool_finish(pool, &done, wake);
}

/**
 * ksa_pool_alloc_batch() - take up to @count frames
 * @pool: the pool
 * @nonblock: fail with -EAGAIN instead of sleeping
 * @all: take @count frames or none, never sleeping
 * @count: frames wanted, at most KSALLOC_BATCH_MAX
 * @index: the frames taken
 * @got: how many
 *
 * Without @all it takes what is free, and sleeps (like ksa_pool_alloc())
 * only while nothing is.
 *
 * Return: 0, -EAGAIN, -EINVAL (@all and more than the pool has),
 * -ECANCELED or -ERESTARTSYS.
 */
int ksa_pool_alloc_batch(struct ksa_pool *pool, bool nonblock, bool all,
			 u32 count, u32 *index, u32 *got)
{
	unsigned long flags;
	u32 n = 0;
	int ret = 0;

	if (all && count > pool->frames)
		return -EINVAL;
	spin_lock_irqsave(&pool->lock, flags);
	if (pool->resetting)
		ret = -ECANCELED;
	else if (all && pool->nfree < count)
		ret = -EAGAIN;
	else
		while (n < count && pool->nfree)
			index[n++] = ksa_pool_take(pool, false);
	spin_unlock_irqrestore(&pool->lock, flags);
	if (ret || n)
		goto out;
	if (all || nonblock)
		return -EAGAIN;

	ret = ksa_pool_alloc(pool, false, &index[0]);
	if (ret)
		return ret;
	n = 1;
	spin_lock_irqsave(&pool->lock, flags);
	while (n < count && pool->nfree && !pool->resetting)
		index[n++] = ksa_pool_take(pool, false);
	spin_unlock_irqrestore(&pool->lock, flags);
out:
	*got = n;
	return ret;
}

/**
 * ksa_pool_free_batch() - free @count frames, all or none
 * @pool: the pool
 * @index: the frames
 * @count: how many
 *
 * Return: how many of them returned (the others stay exported), or
 * -EINVAL (and nothing freed) if one of them is not a frame a client
 * holds or appears twice, -EBUSY if a dma-buf owns one of them.
 */
int ksa_pool_free_batch(struct ksa_pool *pool, const u32 *index, u32 count)
{
	bool was_empty, wake;
	unsigned long flags;
	int ret, returned = 0;
	LIST_HEAD(done);
	u32 i, j;

	spin_lock_irqsave(&pool->lock, flags);
	/* Clearing the bits as we check catches duplicates. */
	for (i = 0; i < count; i++) {
		if (index[i] >= pool->frames ||
		    !__test_and_clear_bit(index[i], pool->allocated)) {
			ret = ksa_pool_not_held(pool, index[i]);
			for (j = 0; j < i; j++)
				__set_bit(index[j], pool->allocated);
			spin_unlock_irqrestore(&pool->lock, flags);
			return ret;
		}
	}
	was_empty = !pool->nfree;
	for (i = 0; i < count; i++) {
		if (pool->frame[index[i]].exports)
			continue;
		ksa_pool_release(pool, index[i], &done);
		returned++;
	}
	wake = was_empty && pool->nfree && !pool->resetting;
	spin_unlock_irqrestore(&pool->lock, flags);

	ksa_pool_finish(pool, &done, wake);
	return returned;
}

/**
 * ksa_pool_export() - count a new dma-buf of a frame a client holds
 * @pool: the pool
 * @index: the frame
 *
 * Return: 0, -EINVAL if @index is not a frame a client holds, -EBUSY if a
 * dma-buf owns it.
 */
int ksa_pool_export(struct ksa_pool *pool, u32 index)
{
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&pool->lock, flags);
	if (index >= pool->frames || !test_bit(index, pool->allocated))
		ret = ksa_pool_not_held(pool, index);
	else if (!pool->frame[index].exports++)
		WRITE_ONCE(pool->exported_count, pool->exported_count + 1);
	spin_unlock_irqrestore(&pool->lock, flags);
	return ret;
}

/**
 * ksa_pool_unexport() - a dma-buf of the frame was released
 * @pool: the pool
 * @index: the frame
 *
 * Return: 1 if the frame returned (no client held it and this was its
 * last dma-buf), else 0.
 */
int ksa_pool_unexport(struct ksa_pool *pool, u32 index)
{
	struct ksa_frame *f = &pool->frame[index];
	unsigned long flags;
	bool wake = false;
	LIST_HEAD(done);
	int ret = 0;

	spin_lock_irqsave(&pool->lock, flags);
	if (!WARN_ON(!f->exports) && !--f->exports) {
		WRITE_ONCE(pool->exported_count, pool->exported_count - 1);
		if (!test_bit(index, pool->allocated)) {
			wake = ksa_pool_release(pool, index, &done);
			ret = 1;
		}
	}
	spin_unlock_irqrestore(&pool->lock, flags);

	ksa_pool_finish(pool, &done, wake);
	return ret;
}

/* Send the waiters @match accepts (NULL: all) away with -ECANCELED. */
static u32 ksa_pool_send_away(struct ksa_pool *pool,
			      bool (*match)(struct ksa_waiter *w,
					    const void *data),
			      const void *data, struct list_head *done)
{
	struct ksa_waiter *w, *tmp;
	u32 n = 0;

	list_for_each_entry_safe(w, tmp, &pool->waiters, node) {
		if (match && !match(w, data))
			continue;
		list_del(&w->node);
		pool->nwaiters--;
		w->error = -ECANCELED;
		ksa_pool_send(pool, w, done);
		n++;
	}
	return n;
}

/* KSRESET_BEGIN sends every waiter away and refuses ALLOC until _END. */
void ksa_pool_reset(struct ksa_pool *pool, bool begin)
{
	unsigned long flags;
	LIST_HEAD(done);
	bool changed;

	spin_lock_irqsave(&pool->lock, flags);
	changed = pool->resetting != begin;
	WRITE_ONCE(pool->resetting, begin);
	if (begin)
		ksa_pool_send_away(pool, NULL, NULL, &done);
	spin_unlock_irqrestore(&pool->lock, flags);

	ksa_pool_finish(pool, &done, false);
	if (changed)
		wake_up_interruptible_poll(&pool->pollq,
					   EPOLLIN | EPOLLRDNORM | EPOLLERR);
}

/**
 * ksa_pool_queue() - take a frame, or queue an io_uring waiter for one
 * @pool: the pool
 * @w: the waiter: uring set, frame -1, error 0, node empty
 * @index: the frame taken
 *
 * Return: 0 (a frame was free), -EIOCBQUEUED (@w is on the queue; it
 * will be given a frame or -ECANCELED and passed to ksa_uring_complete())
 * or -ECANCELED (KSRESET_BEGIN in force).
 */
int ksa_pool_queue(struct ksa_pool *pool, struct ksa_waiter *w, u32 *index)
{
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&pool->lock, flags);
	if (pool->resetting) {
		ret = -ECANCELED;
	} else if (pool->nfree) {
		*index = ksa_pool_take(pool, w->owned);
	} else {
		list_add_tail(&w->node, &pool->waiters);
		pool->nwaiters++;
		trace_ksalloc_wait_start(pool->id, pool->nwaiters);
		ret = -EIOCBQUEUED;
	}
	spin_unlock_irqrestore(&pool->lock, flags);
	return ret;
}

/**
 * ksa_pool_dequeue() - take an io_uring waiter off the queue
 * @pool: the pool
 * @w: a waiter given to ksa_pool_queue()
 *
 * Return: true if @w was still waiting (it gets nothing and is not passed
 * to ksa_uring_complete()); false if it was given a frame or sent away
 * already (it is, or will be, passed to ksa_uring_complete()) or was
 * never queued.
 */
bool ksa_pool_dequeue(struct ksa_pool *pool, struct ksa_waiter *w)
{
	unsigned long flags;
	bool queued;

	spin_lock_irqsave(&pool->lock, flags);
	queued = !list_empty(&w->node) && w->frame < 0 && !w->error;
	if (queued) {
		list_del_init(&w->node);
		pool->nwaiters--;
		trace_ksalloc_wait_end(pool->id, -ECANCELED);
	}
	spin_unlock_irqrestore(&pool->lock, flags);
	return queued;
}

/**
 * ksa_pool_cancel() - send waiters away with -ECANCELED
 * @pool: the pool
 * @match: true for a waiter to send away
 * @data: for @match
 *
 * Return: how many were sent away.
 */
u32 ksa_pool_cancel(struct ksa_pool *pool,
		    bool (*match)(struct ksa_waiter *w, const void *data),
		    const void *data)
{
	unsigned long flags;
	LIST_HEAD(done);
	u32 n;

	spin_lock_irqsave(&pool->lock, flags);
	n = ksa_pool_send_away(pool, match, data, &done);
	spin_unlock_irqrestore(&pool->lock, flags);

	ksa_pool_finish(pool, &done, false);
	return n;
}

bool ksa_pool_readable(struct ksa_pool *pool)
{
	return READ_ONCE(pool->nfree) && !READ_ONCE(pool->resetting);
}

/* The frame at mmap offset @offset, or U32_MAX if there is none. */
u32 ksa_pool_frame_index(struct ksa_pool *pool, u64 offset)
{
	u64 index = div_u64(offset, pool->stride);

	if (index >= pool->frames || index * pool->stride != offset)
		return U32_MAX;
	return index;
}

/* A page of the mapping was zapped (MADV_DONTNEED): put it back. */
static vm_fault_t ksa_pool_fault(struct vm_fault *vmf)
{
	struct ksa_pool *pool = vmf->vma->vm_private_data;
	unsigned long stride_pages = pool->stride >> PAGE_SHIFT;
	unsigned long frame = vmf->pgoff / stride_pages;

	if (frame >= pool->frames)
		return VM_FAULT_SIGBUS;
	return ksa_frame_fault(vmf, ksa_frame_page(&pool->frame[frame],
						   vmf->pgoff % stride_pages));
}

static const struct vm_operations_struct ksa_pool_vm_ops = {
	.fault = ksa_pool_fault,
};

/*
 * Frame i occupies [i * stride, (i + 1) * stride) of the mmap space. The
 * pages are inserted at once (so the first touch costs no fault) as
 * normal pages. The mapping holds the allocator file, so the frames
 * outlive every fd.
 */
int ksa_pool_mmap(struct ksa_pool *pool, struct vm_area_struct *vma)
{
	unsigned long stride_pages = pool->stride >> PAGE_SHIFT;
	unsigned long total_pages = pool->frames * stride_pages;
	unsigned long npages = vma_pages(vma);
	unsigned long pgoff = vma->vm_pgoff;
	unsigned long addr = vma->vm_start;
	int ret;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	if (pgoff >= total_pages || npages > total_pages - pgoff)
		return -EINVAL;

	ksa_vma_setup(vma, &ksa_pool_vm_ops, pool);
	while (npages) {
		unsigned long frame = pgoff / stride_pages;
		unsigned long within = pgoff % stride_pages;
		unsigned long run = min(npages, stride_pages - within);

		ret = ksa_frame_insert(vma, addr, &pool->frame[frame], within,
				       run);
		if (ret)
			return ret;
		addr += run << PAGE_SHIFT;
		pgoff += run;
		npages -= run;
	}
	return 0;
}
