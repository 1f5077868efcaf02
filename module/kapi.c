// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel API of ksalloc_kapi.h. A reference is a reference on the
 * allocator's struct file, so a kernel client keeps the allocator alive
 * exactly like a user fd, a pin or a mapping does.
 */
#include <linux/err.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>

#include "compat.h"
#include "ksalloc.h"
#include "ksalloc_kapi.h"

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
 * sides are served in FIFO order. The frame is zeroed only when the
 * allocator is created; its DMA address belongs to ksalloc_device().
 *
 * Context: process context; with KSALLOC_NOWAIT any context.
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
	ret = ksa_pool_alloc(pool, flags & KSALLOC_NOWAIT, &index);
	if (ret)
		return ret;
	frame->vaddr = page_address(pool->frame[index].page);
	frame->dma = pool->frame[index].dma;
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
 * Also frees a frame user space allocated, given its offset: the frame
 * goes to the oldest sleeping ALLOC caller if there is one, and
 * KSEVENT_STREAMALLOCATOR_FREEFRAME is signalled.
 *
 * Context: any context.
 * Return: 0, or -EINVAL if @frame is not an allocated frame of @a.
 */
int ksalloc_free_frame(struct ksalloc_allocator *a,
		       const struct ksalloc_frame *frame)
{
	u32 index = ksa_pool_frame_index(&a->pool, frame->offset);

	if (index == U32_MAX)
		return -EINVAL;
	return ksa_allocator_free_index(a, index);
}

KSA_EXPORT(ksalloc_free_frame);

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

/**
 * ksalloc_device() - the device frame DMA addresses belong to
 *
 * Context: any context.
 * Return: the device frames are allocated for with the DMA API (its DMA
 * mask is the dma_bits module parameter), for dma_sync_single_for_cpu()
 * and dma_sync_single_for_device() on frame DMA addresses. A driver whose
 * own device is behind an IOMMU maps the frame pages for that device.
 */
struct device *ksalloc_device(void)
{
	return ksa_dma_device();
}

KSA_EXPORT(ksalloc_device);
