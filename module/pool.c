// SPDX-License-Identifier: GPL-2.0
/*
 * Frame memory and the free list of one allocator.
 *
 * Every frame is one physically contiguous DMA allocation for the module's
 * device, made when the allocator is created (KS default allocators commit
 * their frames up front), zeroed by the DMA API, charged to the creator's
 * memory cgroup and to the module's byte caps, and returned when the
 * allocator goes.
 *
 * A frame that is freed while callers sleep in ALLOC is handed straight to
 * the oldest of them, so waiters are served in FIFO order and a frame is
 * never free while somebody waits: nfree > 0 implies an empty waiter list.
 */
#include <linux/bitmap.h>
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "ksalloc.h"
#include "trace/ksalloc.h"

/*
 * Charged to the creator's memory cgroup; over its limit creation fails
 * with -ENOMEM rather than waking the OOM killer.
 */
#define KSA_GFP (GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL)

static size_t ksa_pool_frame_bytes(const struct ksa_pool *pool)
{
	return PAGE_SIZE << pool->order;
}

static void ksa_pool_free_frames(struct ksa_pool *pool, u32 count)
{
	struct device *dev = ksa_dma_device();
	u32 i;

	for (i = 0; i < count; i++)
		dma_free_pages(dev, pool->stride, pool->frame[i].page,
			       pool->frame[i].dma, DMA_BIDIRECTIONAL);
}

/**
 * ksa_pool_init() - allocate the frames of an allocator
 * @pool: the pool to set up
 * @frames: number of frames
 * @frame_size: bytes per frame, at most KSA_MAX_FRAME_SIZE
 *
 * Return: 0, -ENOMEM (out of memory or over a cap) or -EINTR.
 */
int ksa_pool_init(struct ksa_pool *pool, u32 frames, u32 frame_size)
{
	struct device *dev = ksa_dma_device();
	u64 bytes;
	u32 i;
	int ret;

	spin_lock_init(&pool->lock);
	INIT_LIST_HEAD(&pool->waiters);
	init_waitqueue_head(&pool->pollq);
	pool->frames = frames;
	pool->frame_size = frame_size;
	pool->stride = PAGE_ALIGN(frame_size);
	pool->order = get_order(pool->stride);

	bytes = (u64)frames * ksa_pool_frame_bytes(pool);
	if (frames > READ_ONCE(ksa_max_frames) ||
	    bytes > READ_ONCE(ksa_max_allocator_bytes))
		return -ENOMEM;
	if (atomic64_add_return(bytes, &ksa_total_bytes) >
	    READ_ONCE(ksa_max_total_bytes)) {
		atomic64_sub(bytes, &ksa_total_bytes);
		return -ENOMEM;
	}
	pool->bytes = bytes;

	ret = -ENOMEM;
	pool->frame = kvcalloc(frames, sizeof(*pool->frame), KSA_GFP);
	pool->free_stack = kvcalloc(frames, sizeof(u32), KSA_GFP);
	pool->allocated = kvcalloc(BITS_TO_LONGS(frames), sizeof(long),
				   KSA_GFP);
	if (!pool->frame || !pool->free_stack || !pool->allocated)
		goto err_arrays;

	for (i = 0; i < frames; i++) {
		if (fatal_signal_pending(current)) {
			ret = -EINTR;
			goto err_frames;
		}
		pool->frame[i].page =
			dma_alloc_pages(dev, pool->stride, &pool->frame[i].dma,
					DMA_BIDIRECTIONAL, KSA_GFP | __GFP_NOWARN);
		if (!pool->frame[i].page)
			goto err_frames;
		/* The handle is a mapping: DMA_API_DEBUG wants it checked. */
		if (dma_mapping_error(dev, pool->frame[i].dma)) {
			dma_free_pages(dev, pool->stride, pool->frame[i].page,
				       pool->frame[i].dma, DMA_BIDIRECTIONAL);
			goto err_frames;
		}
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
	atomic64_sub(bytes, &ksa_total_bytes);
	return ret;
}

/* Called when the last reference is gone: nobody can be waiting. */
void ksa_pool_destroy(struct ksa_pool *pool)
{
	WARN_ON(!list_empty(&pool->waiters));
	ksa_pool_free_frames(pool, pool->frames);
	kvfree(pool->allocated);
	kvfree(pool->free_stack);
	kvfree(pool->frame);
	atomic64_sub(pool->bytes, &ksa_total_bytes);
}

static u32 ksa_pool_take(struct ksa_pool *pool)
{
	u32 index = pool->free_stack[--pool->nfree];

	lockdep_assert_held(&pool->lock);
	__set_bit(index, pool->allocated);
	if (++pool->allocated_count > pool->high_water)
		pool->high_water = pool->allocated_count;
	trace_ksalloc_alloc(pool->id, index, pool->allocated_count);
	return index;
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
	struct ksa_waiter w;
	unsigned long flags;
	int ret = 0;

	if (!nonblock)
		might_sleep();
	spin_lock_irqsave(&pool->lock, flags);
	if (pool->resetting) {
		ret = -ECANCELED;
	} else if (pool->nfree) {
		*index = ksa_pool_take(pool);
	} else if (nonblock) {
		ret = -EAGAIN;
	} else {
		w.task = current;
		w.frame = -1;
		w.error = 0;
		list_add_tail(&w.node, &pool->waiters);
		pool->nwaiters++;
		trace_ksalloc_wait_start(pool->id, pool->nwaiters);
		for (;;) {
			set_current_state(TASK_INTERRUPTIBLE);
			spin_unlock_irqrestore(&pool->lock, flags);
			schedule();
			spin_lock_irqsave(&pool->lock, flags);
			/* A granted frame wins over a signal: nothing is lost */
			if (w.frame >= 0) {
				*index = w.frame;
				break;
			}
			if (w.error) {
				ret = w.error;
				break;
			}
			if (signal_pending(current)) {
				list_del(&w.node);
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
 * ksa_pool_free() - return a frame, or hand it to the oldest waiter
 * @pool: the pool
 * @index: the frame
 *
 * Return: 0, or -EINVAL if @index is not an allocated frame.
 */
int ksa_pool_free(struct ksa_pool *pool, u32 index)
{
	struct ksa_waiter *w;
	bool wake_poll = false;
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	if (index >= pool->frames || !test_bit(index, pool->allocated)) {
		spin_unlock_irqrestore(&pool->lock, flags);
		return -EINVAL;
	}
	w = list_first_entry_or_null(&pool->waiters, struct ksa_waiter, node);
	if (w) {
		/* Handed over: stays allocated */
		trace_ksalloc_free(pool->id, index, pool->allocated_count);
		list_del(&w->node);
		pool->nwaiters--;
		w->frame = index;
		wake_up_process(w->task);
	} else {
		__clear_bit(index, pool->allocated);
		pool->allocated_count--;
		pool->free_stack[pool->nfree++] = index;
		trace_ksalloc_free(pool->id, index, pool->allocated_count);
		/* Edge-triggered epoll wants one wake-up per transition. */
		wake_poll = pool->nfree == 1 && !pool->resetting;
	}
	spin_unlock_irqrestore(&pool->lock, flags);

	if (wake_poll)
		wake_up_interruptible_poll(&pool->pollq, EPOLLIN | EPOLLRDNORM);
	return 0;
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
			index[n++] = ksa_pool_take(pool);
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
		index[n++] = ksa_pool_take(pool);
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
 * Return: 0, or -EINVAL (and nothing freed) if one of them is not an
 * allocated frame or appears twice.
 */
int ksa_pool_free_batch(struct ksa_pool *pool, const u32 *index, u32 count)
{
	struct ksa_waiter *w;
	bool was_empty, wake_poll;
	unsigned long flags;
	u32 i, j;

	spin_lock_irqsave(&pool->lock, flags);
	/* Clearing the bits as we check catches duplicates. */
	for (i = 0; i < count; i++) {
		if (index[i] >= pool->frames ||
		    !__test_and_clear_bit(index[i], pool->allocated)) {
			for (j = 0; j < i; j++)
				__set_bit(index[j], pool->allocated);
			spin_unlock_irqrestore(&pool->lock, flags);
			return -EINVAL;
		}
	}
	was_empty = !pool->nfree;
	for (i = 0; i < count; i++) {
		w = list_first_entry_or_null(&pool->waiters, struct ksa_waiter,
					     node);
		if (w) {
			trace_ksalloc_free(pool->id, index[i],
					   pool->allocated_count);
			__set_bit(index[i], pool->allocated);
			list_del(&w->node);
			pool->nwaiters--;
			w->frame = index[i];
			wake_up_process(w->task);
		} else {
			pool->allocated_count--;
			pool->free_stack[pool->nfree++] = index[i];
			trace_ksalloc_free(pool->id, index[i],
					   pool->allocated_count);
		}
	}
	wake_poll = was_empty && pool->nfree && !pool->resetting;
	spin_unlock_irqrestore(&pool->lock, flags);

	if (wake_poll)
		wake_up_interruptible_poll(&pool->pollq, EPOLLIN | EPOLLRDNORM);
	return 0;
}

/* KSRESET_BEGIN sends every sleeper away and refuses ALLOC until _END. */
void ksa_pool_reset(struct ksa_pool *pool, bool begin)
{
	struct ksa_waiter *w, *tmp;
	unsigned long flags;
	bool changed;

	spin_lock_irqsave(&pool->lock, flags);
	changed = pool->resetting != begin;
	pool->resetting = begin;
	if (begin) {
		list_for_each_entry_safe(w, tmp, &pool->waiters, node) {
			list_del(&w->node);
			w->error = -ECANCELED;
			wake_up_process(w->task);
		}
		pool->nwaiters = 0;
	}
	spin_unlock_irqrestore(&pool->lock, flags);

	if (changed)
		wake_up_interruptible_poll(&pool->pollq,
					   EPOLLIN | EPOLLRDNORM | EPOLLERR);
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

/*
 * Frame i occupies [i * stride, (i + 1) * stride) of the mmap space. The
 * mapping holds the allocator file, so the frames outlive every fd.
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

	while (npages) {
		unsigned long frame = pgoff / stride_pages;
		unsigned long within = pgoff % stride_pages;
		unsigned long run = min(npages, stride_pages - within);

		ret = remap_pfn_range(vma, addr,
				      page_to_pfn(pool->frame[frame].page) + within,
				      run << PAGE_SHIFT, vma->vm_page_prot);
		if (ret)
			return ret;
		addr += run << PAGE_SHIFT;
		pgoff += run;
		npages -= run;
	}
	return 0;
}
