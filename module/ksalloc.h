/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ksalloc internals shared between the object files.
 */
#ifndef _KSA_KSALLOC_H
#define _KSA_KSALLOC_H

#include <linux/atomic.h>
#include <linux/dma-direction.h>
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/mm_types.h>
#include <linux/wait.h>

#include <linux/ksalloc.h>

struct device;
struct file;
struct seq_file;
struct vm_area_struct;
struct vm_fault;
struct dma_buf;

/*
 * Every allocation a user's request makes and keeps (the allocator, its
 * arrays and frame tables, a dma-buf's state) is charged to the caller's
 * memory cgroup, and over memory.max it fails rather than calling the
 * memcg OOM killer: the request gets ENOMEM, nobody is killed.
 */
#define KSA_GFP (GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/* main.c: module parameters */
extern unsigned long ksa_max_allocator_bytes;
extern unsigned long ksa_max_user_bytes;
extern unsigned long ksa_max_total_bytes;
extern unsigned int ksa_max_frames;
extern unsigned int ksa_max_events;

/* account.c: the byte caps (allocator, user, module) */
struct ksa_user;

struct ksa_charge {
	struct ksa_user *user;		/* charged, or NULL */
	u64 bytes;
};

extern atomic64_t ksa_total_bytes;
int ksa_charge(struct ksa_charge *c, u64 bytes);
void ksa_uncharge(struct ksa_charge *c);
void ksa_account_show(struct seq_file *m);

/*
 * frames.c: the memory of one frame, pages described by an sg_table that
 * carries no DMA address (importers map it for their own devices).
 */
struct ksa_frame {
	/* fixed from creation to destruction; one array, never chained */
	struct sg_table sgt;
	u32 exports;		/* live dma-bufs of the frame; pool->lock */
	bool owned;		/* handed out as a dma-buf; pool->lock */
	bool raised;		/* its last take raised high_water; pool->lock */
};

int ksa_frame_alloc(struct ksa_frame *f, size_t size, bool contiguous);
void ksa_frame_free(struct ksa_frame *f);
size_t ksa_frame_max_contiguous(void);
struct page *ksa_frame_page(const struct ksa_frame *f, unsigned long pgoff);
int ksa_frame_insert(struct vm_area_struct *vma, unsigned long addr,
		     const struct ksa_frame *f, unsigned long pgoff,
		     unsigned long npages);
void *ksa_frame_vmap(const struct ksa_frame *f, size_t size);
void ksa_frame_vunmap(void *vaddr);
struct sg_table *ksa_frame_map_dev(const struct ksa_frame *f,
				   struct device *dev,
				   enum dma_data_direction dir,
				   unsigned long attrs);
void ksa_frame_unmap_dev(struct device *dev, struct sg_table *sgt,
			 enum dma_data_direction dir, unsigned long attrs);
vm_fault_t ksa_frame_fault(struct vm_fault *vmf, struct page *page);
void ksa_vma_setup(struct vm_area_struct *vma,
		   const struct vm_operations_struct *ops, void *priv);

/*
 * An ALLOC waiting for a frame, on the pool's FIFO: a caller asleep (in
 * struct ksa_sleeper) or a queued io_uring command (uring.c, in the
 * command's pdu). It is on the queue while frame < 0 and error == 0;
 * both are set under pool->lock when it is taken off.
 */
struct ksa_waiter {
	struct list_head node;	/* on pool->waiters (empty before) */
	s32 frame;		/* granted frame, or -1 */
	s16 error;		/* -ECANCELED when sent away */
	bool owned;		/* the frame goes to a new dma-buf */
	bool uring;		/* an io_uring command, not a sleeper */
};

struct ksa_pool {
	/*
	 * Protects the free stack, the allocated bitmap, the waiter list and
	 * the counters below. IRQ-safe because kernel clients may allocate
	 * (KSALLOC_NOWAIT) and free from interrupt context; never held
	 * across anything that sleeps. A spinlock_t, not a raw one: its hold
	 * time is not bounded (KSRESET_BEGIN and KSALLOC_URING_CMD_CANCEL
	 * walk every waiter), and the wake-ups and eventfd signals after it
	 * take spinlock_t locks anyway, so kernel clients must be in a
	 * context that may take a spinlock_t (ksalloc_kapi.h).
	 */
	spinlock_t lock;
	u32 *free_stack;
	u32 nfree;
	unsigned long *allocated;	/* bitmap, one bit per frame */
	struct list_head waiters;	/* FIFO of struct ksa_waiter */
	u32 nwaiters;
	u32 allocated_count;		/* frames in use: held or exported */
	u32 exported_count;		/* frames with a live dma-buf */
	u32 high_water;
	bool resetting;			/* between KSRESET_BEGIN and _END */

	/* Fixed at creation */
	u64 id;				/* the allocator's, for tracepoints */
	u32 frames;
	u32 frame_size;
	u32 stride;			/* frame_size rounded up to pages */
	bool contiguous;		/* KSALLOC_CREATEF_CONTIGUOUS */
	u64 bytes;			/* charged to the caps */
	struct ksa_charge charge;
	struct ksa_frame *frame;

	wait_queue_head_t pollq;	/* poll/epoll: a frame became free */
};

int ksa_pool_init(struct ksa_pool *pool, u32 frames, u32 frame_size,
		  bool contiguous);
void ksa_pool_destroy(struct ksa_pool *pool);
int ksa_pool_alloc(struct ksa_pool *pool, bool nonblock, u32 *index);
int ksa_pool_alloc_owned(struct ksa_pool *pool, bool nonblock, u32 *index);
int ksa_pool_free(struct ksa_pool *pool, u32 index);
void ksa_pool_untake(struct ksa_pool *pool, u32 index);
int ksa_pool_alloc_batch(struct ksa_pool *pool, bool nonblock, bool all,
			 u32 count, u32 *index, u32 *got);
int ksa_pool_free_batch(struct ksa_pool *pool, const u32 *index, u32 count);
int ksa_pool_export(struct ksa_pool *pool, u32 index);
int ksa_pool_unexport(struct ksa_pool *pool, u32 index);
void ksa_pool_reset(struct ksa_pool *pool, bool begin);
int ksa_pool_queue(struct ksa_pool *pool, struct ksa_waiter *w, u32 *index);
bool ksa_pool_dequeue(struct ksa_pool *pool, struct ksa_waiter *w);
u32 ksa_pool_cancel(struct ksa_pool *pool,
		    bool (*match)(struct ksa_waiter *w, const void *data),
		    const void *data);
bool ksa_pool_readable(struct ksa_pool *pool);
int ksa_pool_mmap(struct ksa_pool *pool, struct vm_area_struct *vma);
u32 ksa_pool_frame_index(struct ksa_pool *pool, u64 offset);

/* event.c: FREEFRAME notifications to eventfds */
struct ksa_events {
	/*
	 * Protects list, count and next_seq; IRQ-safe (kernel clients free
	 * from interrupt context) and held only to walk the list, never while
	 * an eventfd is signalled. A spinlock_t like the pool's: the walk
	 * grows with max_events, and the eventfd signals take a spinlock_t.
	 */
	spinlock_t lock;
	struct list_head list;		/* enabled events, in seq order */
	unsigned int count;		/* also read without the lock */
	u64 next_seq;
};

void ksa_events_init(struct ksa_events *ev);
int ksa_events_enable(struct ksa_events *ev, u32 id, u32 oneshot, u64 addr,
		      const struct kseventdata *data, u64 *seq);
void ksa_events_undo_enable(struct ksa_events *ev, u64 seq);
int ksa_events_disable(struct ksa_events *ev, u64 addr,
		       const struct kseventdata *data);
void ksa_events_deliver(struct ksa_events *ev, u32 id, u32 times,
			bool may_sleep);
void ksa_events_release(struct ksa_events *ev);

/*
 * Signal every event enabled for @id (ksa_events_deliver()). Most objects
 * have none: a FREE then costs no call.
 */
static inline void ksa_events_signal(struct ksa_events *ev, u32 id, u32 times,
				     bool may_sleep)
{
	if (READ_ONCE(ev->count))
		ksa_events_deliver(ev, id, times, may_sleep);
}

/* allocator.c */
struct ksalloc_allocator {
	u64 id;
	struct file *file;		/* the object's file: the refcount */
	struct ksallocator_framing framing;
	struct ksa_pool pool;
	struct ksa_events events;
	pid_t owner_pid;
	char owner_comm[TASK_COMM_LEN];
	struct list_head node;		/* on ksa_allocators */
};

extern struct mutex ksa_allocators_lock;
extern struct list_head ksa_allocators;	/* under ksa_allocators_lock */

bool ksa_is_allocator_file(const struct file *file);
struct file *ksa_allocator_create(const struct ksallocator_framing *framing,
				  u32 flags, u32 open_flags);
int ksa_framing_validate(const struct ksallocator_framing *framing);
int ksa_allocator_reset(struct file *file, u32 reset);
int ksa_allocator_free_index(struct ksalloc_allocator *a, u32 index,
			     bool may_sleep);
int ksa_allocator_free_offsets(struct ksalloc_allocator *a, const u64 *offsets,
			       u32 count);
void ksa_allocator_untake_offsets(struct ksalloc_allocator *a,
				  const u64 *offsets, u32 count);
void ksa_allocator_freed(struct ksalloc_allocator *a, u32 n);
int ksa_allocator_kernel_property(struct ksalloc_allocator *a,
				  const struct ksidentifier *id, void *data,
				  u32 size, u32 *returned);

/* uring.c: io_uring commands on an allocator */
struct io_uring_cmd;
int ksa_uring_cmd(struct io_uring_cmd *cmd, unsigned int issue_flags);
void ksa_uring_complete(struct ksa_waiter *w);
bool ksa_uring_can_queue(void);

/* dmabuf.c: a frame as a dma-buf */
struct dma_buf *ksa_dmabuf_export(struct ksalloc_allocator *a, u32 index,
				  bool owned);
void ksa_dmabuf_unpublished(struct file *file);

/* status.c: debugfs view of every allocator */
void ksa_status_init(void);
void ksa_status_exit(void);

/* pin.c */
extern const struct file_operations ksa_pin_fops;

#endif /* _KSA_KSALLOC_H */
