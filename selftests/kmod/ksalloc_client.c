// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_client: a test client of the ksalloc kernel API.
 *
 * It plays a small KS filter driver that user space connects to an
 * allocator: /dev/ksalloc_client takes an allocator fd (ATTACH), allocates
 * frames from kernel context and fills them through a kernel address
 * (FILL), frees frames (FREE) and lets go (DETACH or close). The frames
 * are reached through KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE, as a KS
 * driver would, and through the exported functions directly, from every
 * context ksalloc_kapi.h allows: process context, with a spinlock held,
 * in softirq and in an interrupt handler's context (an irq_work, which is
 * hard interrupt context without PREEMPT_RT and a thread with it, as an
 * ordinary interrupt handler is). The ioctls are in ksalloc_client.h.
 *
 * It also has devices of its own, platform devices with their own DMA
 * masks, and plays them: one with the DMA API's default segment limit
 * (64 KiB, like vivid's and vgem's), one with none (WIDE). It DMA maps a
 * frame for one of them (ksalloc_frame_map) and reads or writes the
 * memory behind the DMA addresses, with or without the syncs the DMA API
 * asks for (DMA), or imports a frame's dma-buf as a driver does (IMPORT).
 * Without an IOMMU or a DMA offset a DMA address is a physical address,
 * so the device's view is phys_to_virt() of it: the frame's pages, or
 * swiotlb's bounce buffer when the kernel bounces (swiotlb=force), where
 * a missing sync shows.
 *
 * Frames the client still holds when it lets go are freed then, as a
 * driver returns its frames before it drops the allocator.
 */
#include <linux/completion.h>
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/file.h>
#include <linux/interrupt.h>
#include <linux/irq_work.h>
#include <linux/iosys-map.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "ksalloc_kapi.h"
#include "ksalloc_client.h"

static const struct ksguid ksc_propset_streamallocator =
	KSPROPSETID_StreamAllocator;

/* One frame the client filled and has not freed yet */
struct ksc_frame {
	struct list_head node;
	struct ksalloc_frame frame;
};

/*
 * The client's hold on one allocator: the allocator reference, its entry
 * points and the frames the client owns. Counted, so that a FILL asleep in
 * the allocator keeps it while a DETACH on another thread lets go.
 */
struct ksc_attachment {
	struct kref ref;
	struct ksalloc_allocator *a;
	struct ksalloc_functiontable ft;
	/*
	 * Protects frames, held, sgt_ok; IRQ-safe. Also the lock held around
	 * ksalloc calls in KSALLOC_CLIENT_ATOMIC context.
	 */
	spinlock_t lock;
	struct list_head frames;
	u32 held;
	bool sgt_ok;
};

/* A dma-buf the client imported for its device */
struct ksc_import {
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
	enum dma_data_direction dir;
};

/* One open of /dev/ksalloc_client */
struct ksc_client {
	struct mutex lock;	/* protects att and imp */
	struct ksc_attachment *att;
	struct ksc_import *imp;
};

/* The client's devices, for DMA mappings: default segments, and WIDE */
static struct platform_device *ksc_pdev;
static struct platform_device *ksc_wide_pdev;

static struct device *ksc_dev(bool wide)
{
	return wide ? &ksc_wide_pdev->dev : &ksc_pdev->dev;
}

/* From 6.2, dma_buf_vmap() wants the reservation lock; importers take it. */
static int ksc_dma_buf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
#ifdef KSC_HAVE_DMA_BUF_VMAP_UNLOCKED
	return dma_buf_vmap_unlocked(dmabuf, map);
#else
	return dma_buf_vmap(dmabuf, map);
#endif
}

static void ksc_dma_buf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
#ifdef KSC_HAVE_DMA_BUF_VMAP_UNLOCKED
	dma_buf_vunmap_unlocked(dmabuf, map);
#else
	dma_buf_vunmap(dmabuf, map);
#endif
}

static void ksc_attachment_release(struct kref *ref)
{
	struct ksc_attachment *att = container_of(ref, struct ksc_attachment, ref);
	struct ksc_frame *f, *tmp;

	list_for_each_entry_safe(f, tmp, &att->frames, node) {
		att->ft.free_frame(att->a, &f->frame);
		list_del(&f->node);
		kfree(f);
	}
	ksalloc_put(att->a);
	kfree(att);
}

static void ksc_attachment_put(struct ksc_attachment *att)
{
	kref_put(&att->ref, ksc_attachment_release);
}

/* The client's attachment with a reference of the caller's own, or NULL */
static struct ksc_attachment *ksc_attachment_get(struct ksc_client *c)
{
	struct ksc_attachment *att;

	mutex_lock(&c->lock);
	att = c->att;
	if (att)
		kref_get(&att->ref);
	mutex_unlock(&c->lock);
	return att;
}

static int ksc_attach(struct ksc_client *c, void __user *uarg)
{
	struct ksidentifier id = {
		.set = ksc_propset_streamallocator,
		.id = KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE,
		.flags = KSPROPERTY_TYPE_GET,
	};
	struct ksalloc_client_attach req;
	struct ksc_attachment *att;
	struct ksalloc_allocator *a;
	struct file *file;
	u32 returned = 0;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~KSALLOC_CLIENT_ATTACH_FILE)
		return -EINVAL;

	att = kzalloc(sizeof(*att), GFP_KERNEL);
	if (!att)
		return -ENOMEM;
	kref_init(&att->ref);
	spin_lock_init(&att->lock);
	INIT_LIST_HEAD(&att->frames);
	att->sgt_ok = true;

	mutex_lock(&c->lock);
	if (c->att) {
		ret = -EBUSY;
		goto err_unlock;
	}
	if (req.flags & KSALLOC_CLIENT_ATTACH_FILE) {
		file = fget(req.fd);
		if (!file) {
			ret = -EBADF;
			goto err_unlock;
		}
		a = ksalloc_get_file(file);
		fput(file);
	} else {
		a = ksalloc_get(req.fd);
	}
	if (IS_ERR(a)) {
		ret = PTR_ERR(a);
		goto err_unlock;
	}

	/* The KS way to the entry points: ask the allocator for its table. */
	ret = ksalloc_property(a, &id, &att->ft, sizeof(att->ft), &returned);
	if (!ret && (returned != sizeof(att->ft) || !att->ft.allocate_frame ||
		     !att->ft.free_frame))
		ret = -EPROTO;
	if (ret) {
		ksalloc_put(a);
		goto err_unlock;
	}
	att->a = a;
	c->att = att;
	mutex_unlock(&c->lock);
	return 0;

err_unlock:
	mutex_unlock(&c->lock);
	kfree(att);
	return ret;
}

static int ksc_detach(struct ksc_client *c)
{
	struct ksc_attachment *att;

	mutex_lock(&c->lock);
	att = c->att;
	c->att = NULL;
	mutex_unlock(&c->lock);
	if (!att)
		return -ENOTCONN;
	ksc_attachment_put(att);
	return 0;
}

/* Take @count frames into @frames; on an error none stays allocated. */
static int ksc_alloc_some(struct ksc_attachment *att,
			  struct ksc_frame **frames, u32 count, u32 flags)
{
	unsigned int aflags = flags & KSALLOC_CLIENT_NOWAIT ? KSALLOC_NOWAIT : 0;
	int ret = 0;
	u32 i;

	for (i = 0; i < count; i++) {
		if (flags & KSALLOC_CLIENT_DIRECT)
			ret = ksalloc_alloc_frame(att->a, aflags,
						  &frames[i]->frame);
		else
			ret = att->ft.allocate_frame(att->a, aflags,
						     &frames[i]->frame);
		if (ret)
			break;
	}
	if (ret) {
		while (i--)
			att->ft.free_frame(att->a, &frames[i]->frame);
	}
	return ret;
}

/* A call into ksalloc made in one of the KSALLOC_CLIENT_CONTEXTS */
struct ksc_call {
	int (*fn)(struct ksc_call *c);
	u32 where;		/* a KSALLOC_CLIENT_CONTEXTS flag, or 0 */
	int ret;
	struct completion done;
	struct irq_work work;
	struct tasklet_struct tasklet;
	/* the arguments of fn */
	struct ksc_attachment *att;
	struct ksc_frame **frames;
	u32 count;
	u32 flags;
	struct ksalloc_frame frame;
};

/* fn, if the call is where it was asked to be; -EPROTO if not */
static int ksc_call_fn(struct ksc_call *c)
{
	bool right;

	switch (c->where) {
	case KSALLOC_CLIENT_HARDIRQ:
		/* an irq_work not marked hard runs in a thread on PREEMPT_RT */
		right = IS_ENABLED(CONFIG_PREEMPT_RT) ? in_task() : in_hardirq();
		break;
	case KSALLOC_CLIENT_SOFTIRQ:
		right = in_serving_softirq();
		break;
	case KSALLOC_CLIENT_ATOMIC:
		/* spin_lock_irqsave() keeps interrupts enabled on PREEMPT_RT */
		right = IS_ENABLED(CONFIG_PREEMPT_RT) || irqs_disabled();
		break;
	default:
		right = in_task();
	}
	return right ? c->fn(c) : -EPROTO;
}

static void ksc_call_irq_work(struct irq_work *work)
{
	struct ksc_call *c = container_of(work, struct ksc_call, work);

	c->ret = ksc_call_fn(c);
	complete(&c->done);
}

static void ksc_call_tasklet(struct tasklet_struct *t)
{
	struct ksc_call *c = from_tasklet(c, t, tasklet);

	c->ret = ksc_call_fn(c);
	complete(&c->done);
}

/* Run c->fn where c->where says, and wait for it. */
static int ksc_call_run(struct ksc_call *c)
{
	unsigned long irqflags;

	switch (c->where) {
	case KSALLOC_CLIENT_HARDIRQ:
		/*
		 * Not IRQ_WORK_INIT_HARD: an interrupt handler's context, as
		 * ksalloc_kapi.h allows it; a hard one would stay hard on
		 * PREEMPT_RT, where a spinlock_t sleeps.
		 */
		init_completion(&c->done);
		c->work = IRQ_WORK_INIT(ksc_call_irq_work);
		irq_work_queue(&c->work);
		wait_for_completion(&c->done);
		irq_work_sync(&c->work);
		return c->ret;
	case KSALLOC_CLIENT_SOFTIRQ:
		init_completion(&c->done);
		tasklet_setup(&c->tasklet, ksc_call_tasklet);
		tasklet_schedule(&c->tasklet);
		wait_for_completion(&c->done);
		tasklet_kill(&c->tasklet);
		return c->ret;
	case KSALLOC_CLIENT_ATOMIC:
		spin_lock_irqsave(&c->att->lock, irqflags);
		c->ret = ksc_call_fn(c);
		spin_unlock_irqrestore(&c->att->lock, irqflags);
		return c->ret;
	default:
		return ksc_call_fn(c);
	}
}

static int ksc_alloc_call(struct ksc_call *c)
{
	return ksc_alloc_some(c->att, c->frames, c->count, c->flags);
}

static int ksc_alloc_frames(struct ksc_attachment *att,
			    struct ksc_frame **frames, u32 count, u32 flags)
{
	struct ksc_call c = {
		.fn = ksc_alloc_call,
		.where = flags & KSALLOC_CLIENT_CONTEXTS,
		.att = att,
		.frames = frames,
		.count = count,
		.flags = flags,
	};

	return ksc_call_run(&c);
}

/* Write the pattern through a kernel address of the frame. */
static int ksc_fill_frame(struct ksalloc_allocator *a,
			  const struct ksalloc_frame *frame, u32 pattern)
{
	u8 *p = ksalloc_frame_vmap(a, frame);
	u32 pos;

	if (!p)
		return -ENOMEM;
	for (pos = 0; pos < frame->size; pos++)
		p[pos] = ksalloc_client_byte(pattern, frame->index, pos);
	ksalloc_frame_vunmap(a, frame, p);
	return 0;
}

/* The frame's table covers its size with pages and has no DMA address. */
static bool ksc_sgt_ok(const struct ksalloc_frame *frame)
{
	struct scatterlist *sg;
	size_t bytes = 0;
	unsigned int i;

	if (!frame->sgt)
		return false;
	for_each_sgtable_sg((struct sg_table *)frame->sgt, sg, i) {
		if (!sg_page(sg) || sg->offset || !PAGE_ALIGNED(sg->length) ||
		    sg_dma_address(sg))
			return false;
		bytes += sg->length;
	}
	return bytes == PAGE_ALIGN(frame->size);
}

static int ksc_fill(struct ksc_client *c, void __user *uarg)
{
	const u32 known = KSALLOC_CLIENT_NOWAIT | KSALLOC_CLIENT_DIRECT |
			  KSALLOC_CLIENT_CONTEXTS;
	struct ksalloc_client_frame *out = NULL;
	struct ksc_frame **frames = NULL;
	struct ksalloc_client_fill req;
	struct ksc_attachment *att;
	unsigned long irqflags;
	bool sgt_ok = true;
	u32 i;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (!req.count || req.count > KSALLOC_CLIENT_MAX_FRAMES ||
	    req.flags & ~known || req.reserved)
		return -EINVAL;
	/* One context at most; none of them may sleep: NOWAIT */
	if (hweight32(req.flags & KSALLOC_CLIENT_CONTEXTS) > 1 ||
	    ((req.flags & KSALLOC_CLIENT_CONTEXTS) &&
	     !(req.flags & KSALLOC_CLIENT_NOWAIT)))
		return -EINVAL;
	att = ksc_attachment_get(c);
	if (!att)
		return -ENOTCONN;

	ret = -ENOMEM;
	frames = kvcalloc(req.count, sizeof(*frames), GFP_KERNEL);
	out = kvcalloc(req.count, sizeof(*out), GFP_KERNEL);
	if (!frames || !out)
		goto out_free;
	for (i = 0; i < req.count; i++) {
		frames[i] = kzalloc(sizeof(*frames[i]), GFP_KERNEL);
		if (!frames[i])
			goto out_free;
	}

	/* No lock of ours is held while a blocking allocation sleeps. */
	ret = ksc_alloc_frames(att, frames, req.count, req.flags);
	if (ret)
		goto out_free;

	for (i = 0; i < req.count; i++) {
		struct ksalloc_frame *f = &frames[i]->frame;

		ret = ksc_fill_frame(att->a, f, req.pattern);
		if (ret)
			break;
		out[i].offset = f->offset;
		out[i].index = f->index;
		out[i].size = f->size;
		if (!ksc_sgt_ok(f))
			sgt_ok = false;
	}

	if (!ret && copy_to_user(u64_to_user_ptr(req.frames), out,
				 array_size(req.count, sizeof(*out))))
		ret = -EFAULT;
	if (ret) {
		for (i = 0; i < req.count; i++)
			att->ft.free_frame(att->a, &frames[i]->frame);
		goto out_free;
	}

	spin_lock_irqsave(&att->lock, irqflags);
	for (i = 0; i < req.count; i++) {
		list_add_tail(&frames[i]->node, &att->frames);
		frames[i] = NULL;
	}
	att->held += req.count;
	if (!sgt_ok)
		att->sgt_ok = false;
	spin_unlock_irqrestore(&att->lock, irqflags);
	ret = 0;

out_free:
	if (frames) {
		for (i = 0; i < req.count; i++)
			kfree(frames[i]);
	}
	kvfree(frames);
	kvfree(out);
	ksc_attachment_put(att);
	return ret;
}

/* The held frame at @offset, unlinked, or NULL. Called with att->lock. */
static struct ksc_frame *ksc_take_held(struct ksc_attachment *att, u64 offset)
{
	struct ksc_frame *f;

	list_for_each_entry(f, &att->frames, node) {
		if (f->frame.offset == offset) {
			list_del(&f->node);
			att->held--;
			return f;
		}
	}
	return NULL;
}

static int ksc_free_call(struct ksc_call *c)
{
	return c->att->ft.free_frame(c->att->a, &c->frame);
}

static int ksc_free_one(struct ksc_attachment *att, u64 offset, u32 where)
{
	struct ksc_call c = {
		.fn = ksc_free_call,
		.where = where,
		.att = att,
		.frame = { .offset = offset },
	};
	unsigned long irqflags;
	struct ksc_frame *f;
	int ret;

	spin_lock_irqsave(&att->lock, irqflags);
	f = ksc_take_held(att, offset);
	if (f)
		c.frame = f->frame;
	spin_unlock_irqrestore(&att->lock, irqflags);
	ret = ksc_call_run(&c);
	if (ret && f) {
		/* Not freed: the client still holds it. */
		spin_lock_irqsave(&att->lock, irqflags);
		list_add_tail(&f->node, &att->frames);
		att->held++;
		spin_unlock_irqrestore(&att->lock, irqflags);
	} else {
		kfree(f);
	}
	return ret;
}

static int ksc_free(struct ksc_client *c, struct ksalloc_client_free __user *uarg)
{
	struct ksalloc_client_free req;
	struct ksc_attachment *att;
	u64 *offsets;
	int ret = 0;
	u32 i;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (!req.count || req.count > KSALLOC_CLIENT_MAX_FRAMES ||
	    req.flags & ~KSALLOC_CLIENT_CONTEXTS ||
	    hweight32(req.flags) > 1 || req.reserved)
		return -EINVAL;
	offsets = vmemdup_user(u64_to_user_ptr(req.offsets),
			       array_size(req.count, sizeof(u64)));
	if (IS_ERR(offsets))
		return PTR_ERR(offsets);
	att = ksc_attachment_get(c);
	if (!att) {
		kvfree(offsets);
		return -ENOTCONN;
	}

	for (i = 0; i < req.count; i++) {
		ret = ksc_free_one(att, offsets[i], req.flags);
		if (ret)
			break;
	}
	ksc_attachment_put(att);
	kvfree(offsets);
	if (put_user(i, &uarg->freed))
		return -EFAULT;
	return ret;
}

static bool ksc_is_functiontable(const struct ksidentifier *id)
{
	return !memcmp(&id->set, &ksc_propset_streamallocator,
		       sizeof(id->set)) &&
	       id->id == KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE;
}

static int ksc_property(struct ksc_client *c,
			struct ksalloc_client_property __user *uarg)
{
	struct ksalloc_client_property *req;
	struct ksc_attachment *att;
	u32 returned = 0;
	u8 *value;
	int ret;

	req = memdup_user(uarg, sizeof(*req));
	if (IS_ERR(req))
		return PTR_ERR(req);
	ret = -EINVAL;
	if (req->size > KSALLOC_CLIENT_MAX_VALUE)
		goto out_req;
	ret = -ENOMEM;
	value = kzalloc(KSALLOC_CLIENT_MAX_VALUE, GFP_KERNEL);
	if (!value)
		goto out_req;
	att = ksc_attachment_get(c);
	ret = -ENOTCONN;
	if (!att)
		goto out_value;

	req->result = ksalloc_property(att->a, &req->id, value, req->size,
				       &returned);
	req->returned = returned;
	req->flags = 0;
	memset(req->value, 0, sizeof(req->value));
	if (ksc_is_functiontable(&req->id) &&
	    returned == sizeof(struct ksalloc_functiontable)) {
		/* Kernel pointers stay here: say whether they are right. */
		const struct ksalloc_functiontable *ft = (void *)value;

		if (!req->result && ft->allocate_frame == ksalloc_alloc_frame &&
		    ft->free_frame == ksalloc_free_frame)
			req->flags |= KSALLOC_CLIENT_FT_MATCH;
	} else if (!req->result) {
		memcpy(req->value, value, min(returned, req->size));
	}
	ksc_attachment_put(att);

	ret = copy_to_user(uarg, req, sizeof(*req)) ? -EFAULT : 0;
out_value:
	kfree(value);
out_req:
	kfree(req);
	return ret;
}

static int ksc_state(struct ksc_client *c, void __user *uarg)
{
	struct ksalloc_client_state st = { 0 };
	struct ksc_attachment *att = ksc_attachment_get(c);
	unsigned long irqflags;

	if (att) {
		st.attached = 1;
		spin_lock_irqsave(&att->lock, irqflags);
		st.held = att->held;
		st.sgt_ok = att->sgt_ok;
		spin_unlock_irqrestore(&att->lock, irqflags);
		ksc_attachment_put(att);
	}
	return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
}

/*
 * The device's view of a DMA address: with no IOMMU and no DMA offset
 * (checked at load) it is the physical address.
 */
static u8 *ksc_device_view(dma_addr_t dma)
{
	return phys_to_virt((phys_addr_t)dma);
}

/*
 * The device writes the pattern to (@to_mem) or reads and checks it from
 * the first @size bytes behind the DMA addresses of @sgt. Returns the
 * number of bytes that had the pattern (reads), or @size (writes).
 */
static u32 ksc_device_access(struct sg_table *sgt, u32 size, u32 pattern,
			     u32 index, bool to_mem)
{
	struct scatterlist *sg;
	u32 pos = 0, good = 0;
	unsigned int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		u8 *p = ksc_device_view(sg_dma_address(sg));
		u32 len = min_t(u32, sg_dma_len(sg), size - pos), j;

		for (j = 0; j < len; j++, pos++) {
			u8 b = ksalloc_client_byte(pattern, index, pos);

			if (to_mem)
				p[j] = b;
			else if (p[j] == b)
				good++;
		}
		if (pos == size)
			break;
	}
	return to_mem ? pos : good;
}

/* The longest DMA segment of @sgt, and its runs of adjacent DMA addresses */
static void ksc_segments(struct sg_table *sgt, u32 *max_segment, u32 *runs)
{
	dma_addr_t end = 0;
	struct scatterlist *sg;
	unsigned int i;

	*max_segment = 0;
	*runs = 0;
	for_each_sgtable_dma_sg(sgt, sg, i) {
		*max_segment = max(*max_segment, sg_dma_len(sg));
		if (!i || sg_dma_address(sg) != end)
			(*runs)++;
		end = sg_dma_address(sg) + sg_dma_len(sg);
	}
}

/* How many DMA addresses of @sgt differ from their pages' (bounced) */
static u32 ksc_bounced(struct sg_table *sgt)
{
	struct scatterlist *sg;
	unsigned int i;
	u32 n = 0;

	for_each_sgtable_dma_sg(sgt, sg, i)
		if (sg_dma_address(sg) != page_to_phys(sg_page(sg)) + sg->offset)
			n++;
	return n;
}

/*
 * DMA: map a frame for the client's device and play the device. A device
 * write (KSALLOC_CLIENT_DMA_DEV_WRITE) is followed by a sync for the CPU
 * only with KSALLOC_CLIENT_DMA_SYNC, and the unmapping skips the CPU sync,
 * so what user space then reads is what the syncs made of it. A device
 * read is preceded by a sync for the device only with the flag.
 */
static int ksc_dma(struct ksc_client *c, struct ksalloc_client_dma __user *uarg)
{
	const u32 known = KSALLOC_CLIENT_DMA_DEV_WRITE | KSALLOC_CLIENT_DMA_SYNC |
			  KSALLOC_CLIENT_DMA_CPU_WRITE | KSALLOC_CLIENT_DMA_WIDE;
	const unsigned long skip = DMA_ATTR_SKIP_CPU_SYNC;
	struct ksalloc_client_dma req;
	struct ksalloc_frame frame;
	struct ksc_attachment *att;
	enum dma_data_direction dir;
	struct sg_table *sgt;
	struct device *dev;
	bool write, sync;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~known || !req.size || req.reserved)
		return -EINVAL;
	write = req.flags & KSALLOC_CLIENT_DMA_DEV_WRITE;
	if (write && req.flags & KSALLOC_CLIENT_DMA_CPU_WRITE)
		return -EINVAL;
	sync = req.flags & KSALLOC_CLIENT_DMA_SYNC;
	dir = write ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
	dev = ksc_dev(req.flags & KSALLOC_CLIENT_DMA_WIDE);
	att = ksc_attachment_get(c);
	if (!att)
		return -ENOTCONN;
	frame = (struct ksalloc_frame){ .offset = req.offset,
					.index = req.index, .size = req.size };
	sgt = ksalloc_frame_map(att->a, &frame, dev, dir, skip);
	if (IS_ERR(sgt)) {
		ksc_attachment_put(att);
		return PTR_ERR(sgt);
	}
	req.segments = sgt->nents;
	req.bounced = ksc_bounced(sgt);
	ksc_segments(sgt, &req.max_segment, &req.runs);
	if (write) {
		req.result = ksc_device_access(sgt, req.size, req.pattern,
					       req.index, true);
		if (sync)
			dma_sync_sgtable_for_cpu(dev, sgt, dir);
	} else {
		if (req.flags & KSALLOC_CLIENT_DMA_CPU_WRITE &&
		    ksc_fill_frame(att->a, &frame, req.pattern)) {
			ksalloc_frame_unmap(dev, sgt, dir, skip);
			ksc_attachment_put(att);
			return -ENOMEM;
		}
		if (sync)
			dma_sync_sgtable_for_device(dev, sgt, dir);
		req.result = ksc_device_access(sgt, req.size, req.pattern,
					       req.index, false);
	}
	ksalloc_frame_unmap(dev, sgt, dir, skip);
	ksc_attachment_put(att);
	return copy_to_user(uarg, &req, sizeof(req)) ? -EFAULT : 0;
}

static void ksc_import_drop(struct ksc_import *imp)
{
	dma_buf_unmap_attachment_unlocked(imp->attach, imp->sgt, imp->dir);
	dma_buf_detach(imp->dmabuf, imp->attach);
	dma_buf_put(imp->dmabuf);
	kfree(imp);
}

/*
 * IMPORT: what a driver does with a dma-buf fd user space gives it:
 * attach its device, map the attachment and let the device write the
 * pattern (KSALLOC_CLIENT_IMPORT_DEV_WRITE), and/or vmap the buffer and
 * write it through the CPU (_VMAP). The mapping stays until UNIMPORT, so
 * user space can DMA_BUF_IOCTL_SYNC against it.
 */
static int ksc_import(struct ksc_client *c,
		      struct ksalloc_client_import __user *uarg)
{
	const u32 known = KSALLOC_CLIENT_IMPORT_DEV_WRITE |
			  KSALLOC_CLIENT_IMPORT_VMAP | KSALLOC_CLIENT_IMPORT_WIDE;
	struct ksalloc_client_import req;
	struct iosys_map map;
	struct ksc_import *imp;
	int ret;
	u32 i;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.flags & ~known || req.reserved)
		return -EINVAL;
	imp = kzalloc(sizeof(*imp), GFP_KERNEL);
	if (!imp)
		return -ENOMEM;
	imp->dir = req.flags & KSALLOC_CLIENT_IMPORT_DEV_WRITE ?
		   DMA_FROM_DEVICE : DMA_BIDIRECTIONAL;
	imp->dmabuf = dma_buf_get(req.fd);
	if (IS_ERR(imp->dmabuf)) {
		ret = PTR_ERR(imp->dmabuf);
		goto err_free;
	}
	ret = -EINVAL;
	if (req.size > imp->dmabuf->size)
		goto err_put;
	req.dmabuf_size = imp->dmabuf->size;
	imp->attach = dma_buf_attach(imp->dmabuf,
				     ksc_dev(req.flags & KSALLOC_CLIENT_IMPORT_WIDE));
	if (IS_ERR(imp->attach)) {
		ret = PTR_ERR(imp->attach);
		goto err_put;
	}
	imp->sgt = dma_buf_map_attachment_unlocked(imp->attach, imp->dir);
	if (IS_ERR(imp->sgt)) {
		ret = PTR_ERR(imp->sgt);
		goto err_detach;
	}
	req.segments = imp->sgt->nents;
	req.bounced = ksc_bounced(imp->sgt);
	ksc_segments(imp->sgt, &req.max_segment, &req.runs);
	if (req.flags & KSALLOC_CLIENT_IMPORT_DEV_WRITE)
		ksc_device_access(imp->sgt, req.size, req.pattern, 0, true);
	if (req.flags & KSALLOC_CLIENT_IMPORT_VMAP) {
		ret = ksc_dma_buf_vmap(imp->dmabuf, &map);
		if (ret)
			goto err_unmap;
		for (i = 0; i < req.size; i++)
			((u8 *)map.vaddr)[i] =
				ksalloc_client_byte(~req.pattern, 0, i);
		ksc_dma_buf_vunmap(imp->dmabuf, &map);
	}
	if (copy_to_user(uarg, &req, sizeof(req))) {
		ret = -EFAULT;
		goto err_unmap;
	}
	mutex_lock(&c->lock);
	if (c->imp) {
		mutex_unlock(&c->lock);
		ret = -EBUSY;
		goto err_unmap;
	}
	c->imp = imp;
	mutex_unlock(&c->lock);
	return 0;

err_unmap:
	dma_buf_unmap_attachment_unlocked(imp->attach, imp->sgt, imp->dir);
err_detach:
	dma_buf_detach(imp->dmabuf, imp->attach);
err_put:
	dma_buf_put(imp->dmabuf);
err_free:
	kfree(imp);
	return ret;
}

/* IMPORT_READ: the device reads the import's mapping as it is now. */
static int ksc_import_read(struct ksc_client *c,
			   struct ksalloc_client_import_read __user *uarg)
{
	struct ksalloc_client_import_read req;
	int ret = 0;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.reserved || !req.size)
		return -EINVAL;
	mutex_lock(&c->lock);
	if (!c->imp)
		ret = -ENOTCONN;
	else if (req.size > c->imp->dmabuf->size)
		ret = -EINVAL;
	else
		req.result = ksc_device_access(c->imp->sgt, req.size,
					       req.pattern, 0, false);
	mutex_unlock(&c->lock);
	if (ret)
		return ret;
	return copy_to_user(uarg, &req, sizeof(req)) ? -EFAULT : 0;
}

static int ksc_unimport(struct ksc_client *c)
{
	struct ksc_import *imp;

	mutex_lock(&c->lock);
	imp = c->imp;
	c->imp = NULL;
	mutex_unlock(&c->lock);
	if (!imp)
		return -ENOTCONN;
	ksc_import_drop(imp);
	return 0;
}

static long ksc_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct ksc_client *c = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KSALLOC_CLIENT_ATTACH:
		return ksc_attach(c, uarg);
	case KSALLOC_CLIENT_DETACH:
		return ksc_detach(c);
	case KSALLOC_CLIENT_FILL:
		return ksc_fill(c, uarg);
	case KSALLOC_CLIENT_FREE:
		return ksc_free(c, uarg);
	case KSALLOC_CLIENT_PROPERTY:
		return ksc_property(c, uarg);
	case KSALLOC_CLIENT_STATE:
		return ksc_state(c, uarg);
	case KSALLOC_CLIENT_DMA:
		return ksc_dma(c, uarg);
	case KSALLOC_CLIENT_IMPORT:
		return ksc_import(c, uarg);
	case KSALLOC_CLIENT_UNIMPORT:
		return ksc_unimport(c);
	case KSALLOC_CLIENT_IMPORT_READ:
		return ksc_import_read(c, uarg);
	default:
		return -ENOTTY;
	}
}

static int ksc_open(struct inode *inode, struct file *file)
{
	struct ksc_client *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (!c)
		return -ENOMEM;
	mutex_init(&c->lock);
	file->private_data = c;
	return 0;
}

/* Closing without DETACH lets go of the allocator all the same. */
static int ksc_release(struct inode *inode, struct file *file)
{
	struct ksc_client *c = file->private_data;

	if (c->att)
		ksc_attachment_put(c->att);
	if (c->imp)
		ksc_import_drop(c->imp);
	mutex_destroy(&c->lock);
	kfree(c);
	return 0;
}

static const struct file_operations ksc_fops = {
	.owner = THIS_MODULE,
	.open = ksc_open,
	.release = ksc_release,
	.unlocked_ioctl = ksc_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice ksc_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ksalloc_client",
	.fops = &ksc_fops,
};

/*
 * A device of the client's: a mask of its own, as a driver sets for its
 * hardware, and (@wide) no segment limit. It plays its part through
 * phys_to_virt(), so its DMA addresses must not be translated.
 */
static struct platform_device *ksc_device_create(const char *name, bool wide)
{
	struct platform_device *pdev;
	struct device *dev;
	int ret;

	pdev = platform_device_register_simple(name, -1, NULL, 0);
	if (IS_ERR(pdev))
		return pdev;
	dev = &pdev->dev;
	ret = dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (!ret && (dev->dma_range_map || device_iommu_mapped(dev))) {
		dev_err(dev, "DMA addresses are translated: cannot play the device\n");
		ret = -ENODEV;
	}
	if (ret) {
		platform_device_unregister(pdev);
		return ERR_PTR(ret);
	}
	if (wide)
		dma_set_max_seg_size(dev, UINT_MAX);
	return pdev;
}

static int __init ksc_init(void)
{
	int ret;

	ksc_pdev = ksc_device_create("ksalloc_client", false);
	if (IS_ERR(ksc_pdev))
		return PTR_ERR(ksc_pdev);
	ksc_wide_pdev = ksc_device_create("ksalloc_client_wide", true);
	if (IS_ERR(ksc_wide_pdev)) {
		ret = PTR_ERR(ksc_wide_pdev);
		goto err_pdev;
	}
	ret = misc_register(&ksc_misc);
	if (ret)
		goto err_wide;
	return 0;

err_wide:
	platform_device_unregister(ksc_wide_pdev);
err_pdev:
	platform_device_unregister(ksc_pdev);
	return ret;
}

static void __exit ksc_exit(void)
{
	misc_deregister(&ksc_misc);
	platform_device_unregister(ksc_wide_pdev);
	platform_device_unregister(ksc_pdev);
}

module_init(ksc_init);
module_exit(ksc_exit);

MODULE_DESCRIPTION("Test client of the ksalloc kernel API");
MODULE_LICENSE("GPL");
KSALLOC_IMPORT_NS();
MODULE_INFO(import_ns, "DMA_BUF");
