/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksalloc kernel API: frames for other kernel modules.
 */

/**
 * DOC: ksalloc kernel API
 *
 * The KS direct-call interface (KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE)
 * for Linux drivers: take a counted reference on an allocator that user
 * space handed over as an fd, allocate and free frames (kernel address,
 * DMA address for ksalloc_device(), offset in the allocator's mmap space)
 * without a system call, and drop the reference.
 *
 * The symbols are GPL-only, in the KSALLOC symbol namespace: a client
 * module says KSALLOC_IMPORT_NS() once.
 */
#ifndef _KSALLOC_KAPI_H
#define _KSALLOC_KAPI_H

#include <linux/module.h>
#include <linux/types.h>

struct device;
struct file;
struct ksidentifier;
struct ksalloc_allocator;

/* Spelled out so it works whether or not MODULE_IMPORT_NS() takes a string */
#define KSALLOC_IMPORT_NS() MODULE_INFO(import_ns, "KSALLOC")

/* ksalloc_alloc_frame() flags */
#define KSALLOC_NOWAIT		0x1	/* -EAGAIN instead of sleeping */

/**
 * struct ksalloc_frame - one frame of an allocator
 * @vaddr: kernel address
 * @dma: DMA address for ksalloc_device()
 * @size: usable bytes (the allocator's frame size)
 * @index: frame number
 * @offset: offset in the allocator fd's mmap space (what user-space
 *	KSMETHOD_STREAMALLOCATOR_ALLOC returns for this frame)
 */
struct ksalloc_frame {
	void *vaddr;
	dma_addr_t dma;
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
struct device *ksalloc_device(void);

#endif /* _KSALLOC_KAPI_H */
