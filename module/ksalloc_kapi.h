/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksalloc kernel API: frames for other kernel modules.
 */

/**
 * DOC: ksalloc kernel API
 *
 * The KS direct-call interface (KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE)
 * for Linux drivers: take a counted reference on an allocator that user
 * space handed over as an fd, allocate and free frames without a system
 * call, and drop the reference.
 *
 * A frame is pages, described by its sg_table (&ksalloc_frame.sgt), which
 * carries no DMA address: a driver maps the frame for its own device with
 * ksalloc_frame_map() (a copy of the table, mapped with dma_map_sgtable(),
 * so every device gets addresses that are right for it: behind an IOMMU,
 * with a narrower mask or a DMA offset, through swiotlb), syncs that table
 * with dma_sync_sgtable_for_cpu() and dma_sync_sgtable_for_device() around
 * CPU access, and unmaps it with ksalloc_frame_unmap(). ksalloc_frame_vmap()
 * gives a kernel address of the frame. ksalloc_frame_dmabuf() makes a
 * dma-buf of the frame, for a driver that attaches it like any other.
 *
 * The symbols are GPL-only, in the KSALLOC symbol namespace: a client
 * module says KSALLOC_IMPORT_NS() once.
 *
 * Contexts. ksalloc_get(), ksalloc_property() and the map, vmap and
 * dma-buf calls need process context; ksalloc_get_file() and
 * ksalloc_put() work in any context;
 * ksalloc_alloc_frame() without KSALLOC_NOWAIT sleeps, so process context.
 * ksalloc_alloc_frame() with KSALLOC_NOWAIT and ksalloc_free_frame() take
 * the allocator's spinlock_t locks, IRQ-safe, and wake waiters and
 * eventfds, which take spinlock_t locks too. So they work in any context
 * that may take a spinlock_t, by the same rule on every kernel (that of
 * Documentation/locking/locktypes.rst): process context, softirqs and
 * tasklets, ordinary interrupt handlers and irq_work (hard interrupt
 * context without PREEMPT_RT, threads with it), with spinlock_t locks held
 * (spin_lock_irqsave() included) or not. Never in a context that stays
 * hard on PREEMPT_RT (IRQF_NO_THREAD handlers, HRTIMER_MODE_HARD timers,
 * IRQ_WORK_HARD_IRQ irq_work), in a raw_spinlock_t section, or in a
 * preempt_disable() or local_irq_disable() section. Lockdep reports the
 * first two on every kernel (PROVE_RAW_LOCK_NESTING), and all of them on
 * PREEMPT_RT.
 *
 * A free signals the allocator's FREEFRAME eventfds in the caller's
 * context; from 6.8 on, eventfd_signal() adds one at a time, so a free
 * with semaphore events costs one call per unit of their adjustments.
 */
#ifndef _KSALLOC_KAPI_H
#define _KSALLOC_KAPI_H

#include <linux/dma-direction.h>
#include <linux/module.h>
#include <linux/types.h>

struct device;
struct dma_buf;
struct file;
struct ksidentifier;
struct ksalloc_allocator;
struct sg_table;

/* Spelled out so it works whether or not MODULE_IMPORT_NS() takes a string */
#define KSALLOC_IMPORT_NS() MODULE_INFO(import_ns, "KSALLOC")

/* ksalloc_alloc_frame() flags */
#define KSALLOC_NOWAIT		0x1	/* -EAGAIN instead of sleeping */

/**
 * struct ksalloc_frame - one frame of an allocator
 * @sgt: the frame's pages (PAGE_ALIGN(@size) bytes of them), not mapped
 *	for any device; read-only for the client, valid while the client
 *	holds the frame
 * @size: usable bytes (the allocator's frame size)
 * @index: frame number
 * @offset: offset in the allocator fd's mmap space (what user-space
 *	KSMETHOD_STREAMALLOCATOR_ALLOC returns for this frame)
 */
struct ksalloc_frame {
	const struct sg_table *sgt;
	u32 size;
	u32 index;
	u64 offset;
};

/**
 * struct ksalloc_functiontable - KSSTREAMALLOCATOR_FUNCTIONTABLE
 * @allocate_frame: ksalloc_alloc_frame()
 * @free_frame: ksalloc_free_frame()
 *
 * The value of KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE, served only to
 * in-kernel callers of ksalloc_property().
 */
struct ksalloc_functiontable {
	int (*allocate_frame)(struct ksalloc_allocator *a, unsigned int flags,
			      struct ksalloc_frame *frame);
	int (*free_frame)(struct ksalloc_allocator *a,
			  const struct ksalloc_frame *frame);
};

struct ksalloc_allocator *ksalloc_get(int fd);
struct ksalloc_allocator *ksalloc_get_file(struct file *file);
void ksalloc_put(struct ksalloc_allocator *a);
int ksalloc_alloc_frame(struct ksalloc_allocator *a, unsigned int flags,
			struct ksalloc_frame *frame);
int ksalloc_free_frame(struct ksalloc_allocator *a,
		       const struct ksalloc_frame *frame);
int ksalloc_property(struct ksalloc_allocator *a,
		     const struct ksidentifier *id, void *data, u32 size,
		     u32 *returned);
struct sg_table *ksalloc_frame_map(struct ksalloc_allocator *a,
				   const struct ksalloc_frame *frame,
				   struct device *dev,
				   enum dma_data_direction dir,
				   unsigned long attrs);
void ksalloc_frame_unmap(struct device *dev, struct sg_table *sgt,
			 enum dma_data_direction dir, unsigned long attrs);
void *ksalloc_frame_vmap(struct ksalloc_allocator *a,
			 const struct ksalloc_frame *frame);
void ksalloc_frame_vunmap(struct ksalloc_allocator *a,
			  const struct ksalloc_frame *frame, void *vaddr);
struct dma_buf *ksalloc_frame_dmabuf(struct ksalloc_allocator *a,
				     const struct ksalloc_frame *frame);

#endif /* _KSALLOC_KAPI_H */
