/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ksalloc_client: the ioctls of the test client module.
 *
 * /dev/ksalloc_client stands for a kernel driver that user space hands an
 * allocator fd to (the KS filter on the far side of a connection). Each
 * open is one client; it can be attached to one allocator at a time and
 * allocates, fills and frees frames from kernel context through the
 * ksalloc kernel API. Shared by the module and the selftests.
 */
#ifndef _KSALLOC_CLIENT_H
#define _KSALLOC_CLIENT_H

#include <linux/ioctl.h>
#include <linux/types.h>

#include <linux/ksalloc.h>

#define KSALLOC_CLIENT_DEV	"/dev/ksalloc_client"

/* Most frames one FILL or FREE handles */
#define KSALLOC_CLIENT_MAX_FRAMES	1024

/* ksalloc_client_attach.flags */
#define KSALLOC_CLIENT_ATTACH_FILE	0x1	/* fget() + ksalloc_get_file() */

/* ksalloc_client_fill.flags */
#define KSALLOC_CLIENT_NOWAIT		0x1	/* KSALLOC_NOWAIT */
#define KSALLOC_CLIENT_DIRECT		0x2	/* ksalloc_alloc_frame(), not the table */
/*
 * The context of the ksalloc calls (FILL needs NOWAIT with one of them, at
 * most one at a time): with the client's spinlock_t held by
 * spin_lock_irqsave() (interrupts off, except on PREEMPT_RT, where that
 * lock sleeps); in a tasklet (softirq; a thread on PREEMPT_RT); in an
 * irq_work (hard interrupt context; a thread on PREEMPT_RT, like an
 * ordinary interrupt handler). The client checks it is where the flag
 * says (EPROTO if not).
 */
#define KSALLOC_CLIENT_ATOMIC		0x4
#define KSALLOC_CLIENT_SOFTIRQ		0x8
#define KSALLOC_CLIENT_HARDIRQ		0x10
#define KSALLOC_CLIENT_CONTEXTS		(KSALLOC_CLIENT_ATOMIC |	\
					 KSALLOC_CLIENT_SOFTIRQ |	\
					 KSALLOC_CLIENT_HARDIRQ)

/* ksalloc_client_property.flags (out) */
#define KSALLOC_CLIENT_FT_MATCH		0x1	/* table = the exported functions */

/* Largest value ksalloc_client_property passes to ksalloc_property() */
#define KSALLOC_CLIENT_MAX_VALUE	256

/*
 * ATTACH: ksalloc_get(fd) (or ksalloc_get_file()) and the function table
 * from ksalloc_property(); errors of those are the ioctl's errno. EBUSY if
 * already attached.
 */
struct ksalloc_client_attach {
	__s32 fd;
	__u32 flags;
};

/* One frame a FILL allocated */
struct ksalloc_client_frame {
	__aligned_u64 offset;	/* in the allocator fd's mmap space */
	__u32 index;		/* frame number */
	__u32 size;		/* usable bytes */
};

/*
 * FILL: allocate @count frames, write ksalloc_client_byte(pattern, index,
 * pos) to every byte of each through the kernel address, and write their
 * descriptions to the array at @frames. All or nothing: on an error the
 * frames of this call are freed again and the errno is the allocator's
 * (EAGAIN, ECANCELED, EINTR) or the copy's (EFAULT).
 */
struct ksalloc_client_fill {
	__u32 count;
	__u32 pattern;
	__u32 flags;		/* KSALLOC_CLIENT_NOWAIT | _DIRECT | a context */
	__u32 reserved;		/* must be 0 */
	__aligned_u64 frames;	/* struct ksalloc_client_frame[count] */
};

/*
 * FREE: free the frames at the @count offsets at @offsets through the
 * function table, in order; stops at the first error (the errno of
 * free_frame) with @freed saying how many went back. Any frame of the
 * allocator may be freed, not only those the client filled.
 */
struct ksalloc_client_free {
	__aligned_u64 offsets;	/* __u64[count] */
	__u32 count;
	__u32 flags;		/* a KSALLOC_CLIENT_CONTEXTS flag */
	__u32 freed;		/* out */
	__u32 reserved;		/* must be 0 */
};

/*
 * PROPERTY: ksalloc_property() on the attached allocator with @id and a
 * value buffer of @size bytes; its result, bytes returned and (except for
 * the function table, whose pointers stay in the kernel) the value.
 */
struct ksalloc_client_property {
	struct ksidentifier id;
	__u32 size;		/* at most KSALLOC_CLIENT_MAX_VALUE */
	__s32 result;		/* out: 0 or -errno */
	__u32 returned;		/* out */
	__u32 flags;		/* out: KSALLOC_CLIENT_FT_MATCH */
	__u8 value[KSALLOC_CLIENT_MAX_VALUE];	/* out */
};

/* STATE: what the client holds */
struct ksalloc_client_state {
	__u32 attached;		/* 1 while attached */
	__u32 held;		/* frames filled and not freed through it */
	__u32 sgt_ok;		/* every frame's table: its pages, unmapped */
	__u32 reserved;
};

/* ksalloc_client_dma.flags */
#define KSALLOC_CLIENT_DMA_DEV_WRITE	0x1	/* the device writes, else reads */
#define KSALLOC_CLIENT_DMA_SYNC		0x2	/* with the DMA API's syncs */
#define KSALLOC_CLIENT_DMA_CPU_WRITE	0x4	/* reads: the CPU writes after mapping */
#define KSALLOC_CLIENT_DMA_WIDE		0x8	/* the device without a segment limit */

/*
 * DMA: ksalloc_frame_map() of the frame at @offset (frame @index) for the
 * client's device, then the device writes the pattern FILL would write to
 * the first @size bytes behind the DMA addresses (DEV_WRITE; with SYNC a
 * dma_sync_sgtable_for_cpu() follows), or reads them (with SYNC after a
 * dma_sync_sgtable_for_device()) and counts the bytes that have the
 * pattern in @result. With CPU_WRITE the kernel writes the pattern
 * through ksalloc_frame_vmap() after the mapping was made and before the
 * sync: what the device reads then depends on the sync alone (swiotlb
 * copies the frame into its bounce buffer when it maps, whatever the
 * direction). The mapping is made and undone with DMA_ATTR_SKIP_CPU_SYNC.
 *
 * The client has two devices: the default one keeps the DMA API's default
 * segment limit (64 KiB, as vivid's and vgem's platform devices do), the
 * WIDE one has none (as a GPU), so only the DMA layer (swiotlb) bounds its
 * segments. @max_segment and @runs describe the mapping: its longest DMA
 * segment, and how many runs of adjacent DMA addresses it makes (1: one
 * DMA-contiguous block, what vb2-dma-contig needs).
 */
struct ksalloc_client_dma {
	__aligned_u64 offset;
	__u32 index;
	__u32 size;
	__u32 pattern;
	__u32 flags;		/* KSALLOC_CLIENT_DMA_* */
	__u32 result;		/* out: bytes written, or read right */
	__u32 segments;		/* out: DMA segments */
	__u32 bounced;		/* out: segments whose DMA address is not the page's */
	__u32 reserved;
	__u32 max_segment;	/* out: bytes of the longest DMA segment */
	__u32 runs;		/* out: runs of adjacent DMA addresses */
};

/* ksalloc_client_import.flags */
#define KSALLOC_CLIENT_IMPORT_DEV_WRITE	0x1	/* map FROM_DEVICE, device writes */
#define KSALLOC_CLIENT_IMPORT_VMAP	0x2	/* vmap and write through it */
#define KSALLOC_CLIENT_IMPORT_WIDE	0x4	/* attach the WIDE device */

/*
 * IMPORT: dma_buf_get(@fd), attach the client's device, map the
 * attachment (DMA_FROM_DEVICE with DEV_WRITE, else DMA_BIDIRECTIONAL) and
 * keep it mapped until UNIMPORT or close. DEV_WRITE: the device writes
 * ksalloc_client_byte(pattern, 0, pos) to the first @size bytes behind the
 * DMA addresses (no sync: user space's DMA_BUF_IOCTL_SYNC is what makes
 * it visible). VMAP: dma_buf_vmap() and ksalloc_client_byte(~pattern, 0,
 * pos) written through the address. EBUSY if one import is held already.
 */
struct ksalloc_client_import {
	__s32 fd;
	__u32 flags;		/* KSALLOC_CLIENT_IMPORT_* */
	__u32 size;
	__u32 pattern;
	__aligned_u64 dmabuf_size;	/* out */
	__u32 segments;		/* out: DMA segments of the mapping */
	__u32 bounced;		/* out: segments that bounce */
	__u32 reserved;
	__u32 reserved2;
	__u32 max_segment;	/* out: as for DMA */
	__u32 runs;		/* out: as for DMA */
};

/*
 * IMPORT_READ: the device reads the first @size bytes behind the DMA
 * addresses of the import's mapping, with no sync of the client's own
 * (user space's DMA_BUF_IOCTL_SYNC END is what makes the CPU's writes
 * visible to it), and counts in @result the bytes that are
 * ksalloc_client_byte(pattern, 0, pos). ENOTCONN without an import.
 */
struct ksalloc_client_import_read {
	__u32 size;
	__u32 pattern;
	__u32 result;		/* out */
	__u32 reserved;		/* must be 0 */
};

#define KSALLOC_CLIENT_IOC_TYPE	0xB7
#define KSALLOC_CLIENT_ATTACH	_IOW(KSALLOC_CLIENT_IOC_TYPE, 1, struct ksalloc_client_attach)
#define KSALLOC_CLIENT_DETACH	_IO(KSALLOC_CLIENT_IOC_TYPE, 2)
#define KSALLOC_CLIENT_FILL	_IOW(KSALLOC_CLIENT_IOC_TYPE, 3, struct ksalloc_client_fill)
#define KSALLOC_CLIENT_FREE	_IOWR(KSALLOC_CLIENT_IOC_TYPE, 4, struct ksalloc_client_free)
#define KSALLOC_CLIENT_PROPERTY	_IOWR(KSALLOC_CLIENT_IOC_TYPE, 5, struct ksalloc_client_property)
#define KSALLOC_CLIENT_STATE	_IOR(KSALLOC_CLIENT_IOC_TYPE, 6, struct ksalloc_client_state)
#define KSALLOC_CLIENT_DMA	_IOWR(KSALLOC_CLIENT_IOC_TYPE, 7, struct ksalloc_client_dma)
#define KSALLOC_CLIENT_IMPORT	_IOWR(KSALLOC_CLIENT_IOC_TYPE, 8, struct ksalloc_client_import)
#define KSALLOC_CLIENT_UNIMPORT	_IO(KSALLOC_CLIENT_IOC_TYPE, 9)
#define KSALLOC_CLIENT_IMPORT_READ	\
	_IOWR(KSALLOC_CLIENT_IOC_TYPE, 10, struct ksalloc_client_import_read)

/* The byte FILL writes at @pos of frame @index: differs per frame and pattern */
static inline __u8 ksalloc_client_byte(__u32 pattern, __u32 index, __u32 pos)
{
	__u32 x = pattern ^ (index * 0x9e3779b1U) ^ (pos * 0x85ebca6bU);

	x ^= x >> 15;
	x *= 0x2c1b3c6dU;
	x ^= x >> 12;
	return (__u8)x;
}

#endif /* _KSALLOC_CLIENT_H */
