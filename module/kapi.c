// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel API of ksalloc_kapi.h. A reference is a reference on the
 * allocator's struct file, so a kernel client keeps the allocator alive
 * exactly like a user fd, a pin or a mapping does.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/module.h>

#include "compat.h"
#include "ksalloc.h"
#include "ksalloc_kapi.h"

/*
 * On PREEMPT_RT the pool's and the events' locks are spinlock_t, which
 * sleep there: allocating (KSALLOC_NOWAIT) and freeing need a context
 * that may take one. Say so at once (with lockdep), not only when a lock
 * happens to be contended.
 */
static void ksa_kapi_check_context(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		lockdep_assert_preemption_enabled();
}

/**
 * ksalloc_get() - a counted reference on the allocator behind an fd
 * @fd: an allocator fd of the current process
 *
 * The usual way for a driver to get the allocator user space created:
 * user space passes the fd in the driver's own ioctl. The reference keeps
 * the allocator and its frames alive after user space closed the fd;
 * drop it with ksalloc_put().
 *
 * Context: process context (the fd is looked up in current's table).
 * Return: the allocator, ERR_PTR(-EBADF) if @fd is not open, or
 * ERR_PTR(-EINVAL) if it is not an allocator.
 */
struct ksalloc_allocator *ksalloc_get(int fd)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	if (!ksa_is_allocator_file(file)) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	return file->private_data;
}

KSA_EXPORT(ksalloc_get);

/**
 * ksalloc_get_file() - a counted reference on an allocator file
 * @file: a file the caller holds, or NULL
 *
 * Like ksalloc_get() for a struct file the caller already has a reference
 * on (from fget() or its own bookkeeping); takes a reference of its own.
 *
 * Context: any context.
 * Return: the allocator, or ERR_PTR(-EINVAL) if @file is NULL or not an
 * allocator.
 */
struct ksalloc_allocator *ksalloc_get_file(struct file *file)
{
	if (!file || !ksa_is_allocator_file(file))
		return ERR_PTR(-EINVAL);
	get_file(file);
	return file->private_data;
}

KSA_EXPORT(ksalloc_get_file);

/**
 * ksalloc_put() - drop a reference from ksalloc_get() or ksalloc_get_file()
 * @a: the allocator
 *
 * When it was the last reference (no fd, pin or mapping holds the
 * allocator any more), the allocator and its frames are freed; every
 * frame obtained through this reference must have been freed before.
 *
 * Context: any context; the final release is deferred by fput().
 */
void ksalloc_put(struct ksalloc_allocator *a)
{
	fput(a->file);
}

KSA_EXPORT(ksalloc_put);

/**
 * ksalloc_alloc_frame() - allocate a frame
 * @a: the allocator
 * @flags: 0 to sleep until a frame is free, or KSALLOC_NOWAIT
 * @frame: filled in on success
 *
 * The same pool as the user-space ALLOC method: a frame taken here is
 * counted in KSPROPERTY_STREAMALLOCATOR_STATUS, and sleepers on both
 * sides are served in FIFO order. The frame's pages were zeroed when the
 * allocator was created; they are not mapped for any device (see
 * ksalloc_frame_map()) nor into the kernel (see ksalloc_frame_vmap()).
 *
 * Context: process context. With KSALLOC_NOWAIT, any context that may
 * take a spinlock_t (ksalloc_kapi.h): also softirqs and ordinary interrupt
 * handlers, but not IRQF_NO_THREAD handlers, hard irq_work or timers,
 * raw_spinlock_t sections or sections with preemption or interrupts
 * disabled by hand.
 * Return: 0, -EINVAL (unknown @flags), -EAGAIN (KSALLOC_NOWAIT and no
 * frame free), -ECANCELED (KSRESET_BEGIN in force, or begun while
 * asleep) or -ERESTARTSYS (signal while asleep).
 */
int ksalloc_alloc_frame(struct ksalloc_allocator *a, unsigned int flags,
			struct ksalloc_frame *frame)
{
	struct ksa_pool *pool = &a->pool;
	u32 index;
	int ret;

	if (flags & ~KSALLOC_NOWAIT)
		return -EINVAL;
	ksa_kapi_check_context();
	ret = ksa_pool_alloc(pool, flags & KSALLOC_NOWAIT, &index);
	if (ret)
		return ret;
	frame->sgt = &pool->frame[index].sgt;
	frame->size = pool->frame_size;
	frame->index = index;
	frame->offset = (u64)index * pool->stride;
	return 0;
}

KSA_EXPORT(ksalloc_alloc_frame);

/**
 * ksalloc_free_frame() - free a frame, waking the oldest waiter
 * @a: the allocator
 * @frame: a frame from ksalloc_alloc_frame() (its offset identifies it)
 *
 * Also frees a frame user space allocated, given its offset. The frame
 * goes to the oldest sleeping ALLOC caller if there is one, and
 * KSEVENT_STREAMALLOCATOR_FREEFRAME is signalled, in the caller's context:
 * before 6.8 one eventfd_signal() per enabled event, from 6.8 on one per
 * unit of its count (up to 1024 for a semaphore event). If a dma-buf of
 * the frame is still alive, that happens when the last one is released.
 *
 * Context: as ksalloc_alloc_frame() with KSALLOC_NOWAIT: any context
 * that may take a spinlock_t.
 * Return: 0, -EINVAL if @frame is not an allocated frame of @a, or -EBUSY
 * if a dma-buf owns it (user space allocated it with KSALLOC_FRAMEF_DMABUF).
 */
int ksalloc_free_frame(struct ksalloc_allocator *a,
		       const struct ksalloc_frame *frame)
{
	u32 index = ksa_pool_frame_index(&a->pool, frame->offset);

	ksa_kapi_check_context();
	if (index == U32_MAX)
		return -EINVAL;
	return ksa_allocator_free_index(a, index, false);
}

KSA_EXPORT(ksalloc_free_frame);

/* The pool's frame @frame names, or NULL */
static struct ksa_frame *ksa_kapi_frame(struct ksalloc_allocator *a,
					const struct ksalloc_frame *frame)
{
	u32 index = ksa_pool_frame_index(&a->pool, frame->offset);

	if (index == U32_MAX || index != frame->index)
		return NULL;
	return &a->pool.frame[index];
}

/**
 * ksalloc_frame_map() - map a frame for a device
 * @a: the allocator
 * @frame: a frame the caller holds
 * @dev: the device that will access the frame
 * @dir: the direction of the device's accesses
 * @attrs: DMA_ATTR_* for dma_map_sgtable() (e.g. DMA_ATTR_SKIP_CPU_SYNC)
 *
 * A table of the frame's pages, mapped with dma_map_sgtable(): its DMA
 * addresses are @dev's (sg_dma_address() and sg_dma_len() of its
 * nents entries). Its entries are no longer than @dev takes in one
 * segment (dma_get_max_seg_size()) and than the DMA layer maps at once
 * (dma_max_mapping_size(): 256 KiB where swiotlb bounces), so any frame
 * can be mapped for any device; a contiguous frame stays one run of DMA
 * addresses without an IOMMU. Without DMA_ATTR_SKIP_CPU_SYNC the mapping
 * syncs for the device; around later CPU access the caller uses
 * dma_sync_sgtable_for_cpu() and dma_sync_sgtable_for_device() on the
 * table with @dev and @dir. A frame may be mapped for several devices.
 * Every mapping must be undone (ksalloc_frame_unmap()) before the frame
 * is freed and before the allocator reference is put.
 *
 * Context: process context (may sleep).
 * Return: the table, to be given to ksalloc_frame_unmap(), or
 * ERR_PTR(-EINVAL) (not a frame of @a), ERR_PTR(-ENOMEM) or the error
 * of dma_map_sgtable().
 */
struct sg_table *ksalloc_frame_map(struct ksalloc_allocator *a,
				   const struct ksalloc_frame *frame,
				   struct device *dev,
				   enum dma_data_direction dir,
				   unsigned long attrs)
{
	struct ksa_frame *f = ksa_kapi_frame(a, frame);

	if (!f)
		return ERR_PTR(-EINVAL);
	return ksa_frame_map_dev(f, dev, dir, attrs);
}

KSA_EXPORT(ksalloc_frame_map);

/**
 * ksalloc_frame_unmap() - undo ksalloc_frame_map()
 * @dev: the device it was mapped for
 * @sgt: the table ksalloc_frame_map() returned
 * @dir: the direction it was mapped with
 * @attrs: DMA_ATTR_* for dma_unmap_sgtable()
 *
 * Without DMA_ATTR_SKIP_CPU_SYNC the unmapping syncs for the CPU. The
 * table is freed.
 *
 * Context: process context (may sleep).
 */
void ksalloc_frame_unmap(struct device *dev, struct sg_table *sgt,
			 enum dma_data_direction dir, unsigned long attrs)
{
	ksa_frame_unmap_dev(dev, sgt, dir, attrs);
}

KSA_EXPORT(ksalloc_frame_unmap);

/**
 * ksalloc_frame_vmap() - a kernel address of a frame
 * @a: the allocator
 * @frame: a frame the caller holds
 *
 * The frame's @frame->size bytes at one kernel address: the linear map
 * for a contiguous frame, a vmap() of its pages otherwise. CPU caches are
 * the caller's to manage against device mappings (DMA syncs). The
 * address must be dropped (ksalloc_frame_vunmap()) before the frame is
 * freed and before the allocator reference is put.
 *
 * Context: process context (may sleep).
 * Return: the address, or NULL (not a frame of @a, or out of memory).
 */
void *ksalloc_frame_vmap(struct ksalloc_allocator *a,
			 const struct ksalloc_frame *frame)
{
	struct ksa_frame *f = ksa_kapi_frame(a, frame);

	if (!f)
		return NULL;
	return ksa_frame_vmap(f, a->pool.stride);
}

KSA_EXPORT(ksalloc_frame_vmap);

/**
 * ksalloc_frame_vunmap() - undo ksalloc_frame_vmap()
 * @a: the allocator
 * @frame: the frame
 * @vaddr: what ksalloc_frame_vmap() returned
 *
 * Context: process context.
 */
void ksalloc_frame_vunmap(struct ksalloc_allocator *a,
			  const struct ksalloc_frame *frame, void *vaddr)
{
	if (ksa_kapi_frame(a, frame) && vaddr)
		ksa_frame_vunmap(vaddr);
}

KSA_EXPORT(ksalloc_frame_vunmap);

/**
 * ksalloc_frame_dmabuf() - a new dma-buf of a frame
 * @a: the allocator
 * @frame: a frame the caller holds
 *
 * The same dma-buf user space gets from KSMETHOD_KSALLOC_FRAME_EXPORT: it
 * holds the allocator, and the frame returns to the pool only when it was
 * freed and the dma-buf was released, in either order. Drop it with
 * dma_buf_put(), or hand it to user space with dma_buf_fd().
 *
 * Context: process context (may sleep).
 * Return: the dma-buf (one reference), or ERR_PTR(-EINVAL) (not a frame
 * the caller holds), ERR_PTR(-EBUSY) (owned by a dma-buf already) or
 * ERR_PTR(-ENOMEM).
 */
struct dma_buf *ksalloc_frame_dmabuf(struct ksalloc_allocator *a,
				     const struct ksalloc_frame *frame)
{
	if (!ksa_kapi_frame(a, frame))
		return ERR_PTR(-EINVAL);
	return ksa_dmabuf_export(a, frame->index, false);
}

KSA_EXPORT(ksalloc_frame_dmabuf);

/**
 * ksalloc_property() - a KS property request from the kernel
 * @a: the allocator
 * @id: set, id and KSPROPERTY_TYPE_* flags
 * @data: the value buffer
 * @size: its size
 * @returned: bytes written to @data, or needed on -EOVERFLOW
 *
 * Serves kernel-only items such as KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE.
 *
 * Context: process context.
 * Return: 0 or a negative errno, as for the ioctl.
 */
int ksalloc_property(struct ksalloc_allocator *a,
		     const struct ksidentifier *id, void *data, u32 size,
		     u32 *returned)
{
	return ksa_allocator_kernel_property(a, id, data, size, returned);
}

KSA_EXPORT(ksalloc_property);
