// SPDX-License-Identifier: GPL-2.0
/*
 * The allocator object: an anon-inode file created from a framing.
 *
 * The struct file is the reference count: user fds, pins that were given
 * the allocator (KSPROPERTY_STREAM_ALLOCATOR) and mappings (vma->vm_file)
 * each hold it, and ->release frees the frames when the last one goes. The
 * allocator holds no reference on the pin it was created from.
 */
#include <linux/anon_inodes.h>
#include <linux/dma-buf.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "automation.h"
#include "ksalloc.h"
#include "ksalloc_kapi.h"

#define CREATE_TRACE_POINTS
#include "trace/ksalloc.h"

static const struct ksguid ksa_propset_streamallocator =
	KSPROPSETID_StreamAllocator;
static const struct ksguid ksa_methodset_streamallocator =
	KSMETHODSETID_StreamAllocator;
static const struct ksguid ksa_eventset_streamallocator =
	KSEVENTSETID_StreamAllocator;
static const struct ksguid ksa_propset_ksalloc_allocator =
	KSPROPSETID_KsallocAllocator;
static const struct ksguid ksa_methodset_ksalloc_batch =
	KSMETHODSETID_KsallocBatch;
static const struct ksguid ksa_methodset_ksalloc_frame =
	KSMETHODSETID_KsallocFrame;

/* Protects ksa_allocators, the list of live allocators for the status views */
DEFINE_MUTEX(ksa_allocators_lock);
LIST_HEAD(ksa_allocators);
static atomic64_t ksa_next_id = ATOMIC64_INIT(0);

static const struct file_operations ksa_allocator_fops;

bool ksa_is_allocator_file(const struct file *file)
{
	return file->f_op == &ksa_allocator_fops;
}

static struct ksalloc_allocator *ksa_req_allocator(struct ksa_request *req)
{
	return req->object;
}

/* KSPROPERTY_STREAMALLOCATOR_STATUS */
static int ksa_status_get(struct ksa_request *req)
{
	struct ksalloc_allocator *a = ksa_req_allocator(req);
	struct ksstreamallocator_status *st = req->data;

	st->framing = a->framing;
	st->allocated_frames = READ_ONCE(a->pool.allocated_count);
	return 0;
}

/*
 * KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE: the direct-call entry points,
 * for kernel callers only (the item is KSA_ITEM_KERNEL).
 */
static int ksa_functiontable_get(struct ksa_request *req)
{
	struct ksalloc_functiontable *ft = req->data;

	ft->allocate_frame = ksalloc_alloc_frame;
	ft->free_frame = ksalloc_free_frame;
	return 0;
}

/* KSPROPERTY_KSALLOC_ALLOCATOR_INFO */
static int ksa_info_get(struct ksa_request *req)
{
	struct ksalloc_allocator *a = ksa_req_allocator(req);
	struct ksalloc_allocator_info *info = req->data;
	struct ksa_pool *pool = &a->pool;

	info->id = a->id;
	info->mmap_size = (u64)pool->frames * pool->stride;
	info->bytes_held = pool->bytes;
	info->frames = pool->frames;
	info->frame_size = pool->frame_size;
	info->frame_stride = pool->stride;
	spin_lock_irq(&pool->lock);
	info->allocated_frames = pool->allocated_count;
	info->high_water = pool->high_water;
	info->waiters = pool->nwaiters;
	info->resetting = pool->resetting;
	info->exported_frames = pool->exported_count;
	spin_unlock_irq(&pool->lock);
	return 0;
}

/*
 * FREEFRAME notifications for @n frames that returned to the pool.
 * @may_sleep: process context without locks; kernel clients may free
 * from any context.
 */
static void ksa_allocator_signal_freed(struct ksalloc_allocator *a, u32 n,
				       bool may_sleep)
{
	if (!n)
		return;
	ksa_events_signal(&a->events, KSEVENT_STREAMALLOCATOR_FREEFRAME, n,
			  may_sleep);
}

/* The same, from process context */
void ksa_allocator_freed(struct ksalloc_allocator *a, u32 n)
{
	ksa_allocator_signal_freed(a, n, true);
}

/*
 * The one path for user and kernel frees: the free and, if the frame
 * returned (it has no dma-buf left), its events. @may_sleep as above.
 */
int ksa_allocator_free_index(struct ksalloc_allocator *a, u32 index,
			     bool may_sleep)
{
	int ret = ksa_pool_free(&a->pool, index);

	if (ret < 0)
		return ret;
	ksa_allocator_signal_freed(a, ret, may_sleep);
	return 0;
}

/*
 * The same for a batch of mmap offsets: all or none (see
 * ksa_pool_free_batch()); -EINVAL if one is not the start of a frame.
 */
int ksa_allocator_free_offsets(struct ksalloc_allocator *a, const u64 *offsets,
			       u32 count)
{
	u32 index[KSALLOC_BATCH_MAX];
	u32 i;
	int ret;

	if (WARN_ON(count > KSALLOC_BATCH_MAX))
		return -EINVAL;
	for (i = 0; i < count; i++) {
		index[i] = ksa_pool_frame_index(&a->pool, offsets[i]);
		if (index[i] == U32_MAX)
			return -EINVAL;
	}
	ret = ksa_pool_free_batch(&a->pool, index, count);
	if (ret < 0)
		return ret;
	ksa_allocator_freed(a, ret);
	return 0;
}

/*
 * A batch ALLOC's frames never reached the caller: they go back, leaving
 * no trace a client sees (ksa_pool_untake()).
 */
void ksa_allocator_untake_offsets(struct ksalloc_allocator *a,
				  const u64 *offsets, u32 count)
{
	u32 i;

	for (i = 0; i < count; i++)
		ksa_pool_untake(&a->pool,
				ksa_pool_frame_index(&a->pool, offsets[i]));
}

/*
 * The ALLOC result never reached the caller: the frame goes back, and the
 * call leaves no trace a client sees (ksa_pool_untake()).
 */
static void ksa_alloc_undo(struct file *file, u64 offset)
{
	struct ksalloc_allocator *a = file->private_data;

	ksa_pool_untake(&a->pool, ksa_pool_frame_index(&a->pool, offset));
}

/* KSMETHOD_STREAMALLOCATOR_ALLOC: the value is the frame's mmap offset. */
static int ksa_alloc_method(struct file *file, u64 *offset)
{
	struct ksalloc_allocator *a = file->private_data;
	u32 index;
	int ret;

	ret = ksa_pool_alloc(&a->pool, file->f_flags & O_NONBLOCK, &index);
	if (ret)
		return ret;
	*offset = (u64)index * a->pool.stride;
	return 0;
}

/* KSMETHOD_STREAMALLOCATOR_FREE */
static int ksa_free_method(struct file *file, u64 *offset)
{
	struct ksalloc_allocator *a = file->private_data;
	u32 index = ksa_pool_frame_index(&a->pool, *offset);

	if (index == U32_MAX)
		return -EINVAL;
	return ksa_allocator_free_index(a, index, true);
}

/* The batch methods' value: count offsets */
static int ksa_batch_size(struct ksa_request *req, u32 *need)
{
	const struct ksalloc_batch_method *m = req->input;
	u32 valid = req->id.id == KSMETHOD_KSALLOC_BATCH_ALLOC ?
		    KSALLOC_BATCHF_ALL_OR_NOTHING : 0;

	if (!m->count || m->count > KSALLOC_BATCH_MAX || m->flags & ~valid)
		return -EINVAL;
	*need = m->count * sizeof(u64);
	return 0;
}

/* The batch never reached the caller: its frames go back. */
static void ksa_batch_alloc_undo(struct ksa_request *req)
{
	ksa_allocator_untake_offsets(ksa_req_allocator(req), req->data,
				     req->returned / sizeof(u64));
}

/* KSMETHOD_KSALLOC_BATCH_ALLOC */
static int ksa_batch_alloc_method(struct ksa_request *req)
{
	const struct ksalloc_batch_method *m = req->input;
	struct ksalloc_allocator *a = ksa_req_allocator(req);
	u32 index[KSALLOC_BATCH_MAX];
	u64 *offsets = req->data;
	u32 i, got;
	int ret;

	ret = ksa_pool_alloc_batch(&a->pool, req->file->f_flags & O_NONBLOCK,
				   m->flags & KSALLOC_BATCHF_ALL_OR_NOTHING,
				   m->count, index, &got);
	if (ret)
		return ret;
	for (i = 0; i < got; i++)
		offsets[i] = (u64)index[i] * a->pool.stride;
	req->returned = got * sizeof(u64);
	req->undo = ksa_batch_alloc_undo;
	return 0;
}

/* KSMETHOD_KSALLOC_BATCH_FREE */
static int ksa_batch_free_method(struct ksa_request *req)
{
	const struct ksalloc_batch_method *m = req->input;

	return ksa_allocator_free_offsets(ksa_req_allocator(req), req->data,
					  m->count);
}

/* ---- KSMETHODSETID_KsallocFrame and its direct ioctls ---- */

/* What a frame call leaves to publish, or to take back. */
struct ksa_frame_call {
	struct ksalloc_frame_args args;
	struct file *file;		/* the dma-buf's, or NULL */
	int fd;
};

/*
 * A frame call's result never reached the caller: take it back, leaving
 * no trace a client sees (no FREEFRAME, no new high_water).
 */
static void ksa_frame_call_undo(struct ksalloc_allocator *a,
				struct ksa_frame_call *c)
{
	u32 index = ksa_pool_frame_index(&a->pool, c->args.offset);

	if (c->file) {
		put_unused_fd(c->fd);
		/* The dma-buf's release takes an owned frame back. */
		ksa_dmabuf_unpublished(c->file);
		fput(c->file);
	} else {
		ksa_pool_untake(&a->pool, index);
	}
}

/* A new dma-buf of frame @index (@owned: taken for it) and an fd for it */
static int ksa_frame_dmabuf(struct ksalloc_allocator *a, u32 index,
			    bool owned, struct ksa_frame_call *c)
{
	struct dma_buf *dmabuf;

	dmabuf = ksa_dmabuf_export(a, index, owned);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	c->file = dmabuf->file;
	c->args.fd = c->fd;
	return 0;
}

/*
 * FRAME_ALLOC: a frame, owned by a new dma-buf with KSALLOC_FRAMEF_DMABUF.
 * The fd is reserved first, so a full fd table takes nothing.
 */
static int ksa_frame_alloc_call(struct ksalloc_allocator *a, struct file *file,
				u32 fd_flags, struct ksa_frame_call *c)
{
	const u32 valid = KSALLOC_FRAMEF_NOWAIT | KSALLOC_FRAMEF_DMABUF;
	struct ksalloc_frame_args *args = &c->args;
	bool nonblock, owned = args->flags & KSALLOC_FRAMEF_DMABUF;
	u32 index;
	int ret;

	if (args->flags & ~valid || args->reserved || fd_flags & ~O_CLOEXEC)
		return -EINVAL;
	nonblock = args->flags & KSALLOC_FRAMEF_NOWAIT ||
		   file->f_flags & O_NONBLOCK;
	c->file = NULL;
	args->fd = -1;
	if (owned) {
		c->fd = get_unused_fd_flags(fd_flags);
		if (c->fd < 0)
			return c->fd;
		ret = ksa_pool_alloc_owned(&a->pool, nonblock, &index);
	} else {
		ret = ksa_pool_alloc(&a->pool, nonblock, &index);
	}
	if (!ret) {
		args->offset = (u64)index * a->pool.stride;
		if (owned)
			ret = ksa_frame_dmabuf(a, index, true, c);
	}
	if (ret && owned)
		put_unused_fd(c->fd);
	return ret;
}

/* FRAME_EXPORT: a new dma-buf of a frame the caller holds */
static int ksa_frame_export_call(struct ksalloc_allocator *a, u32 fd_flags,
				 struct ksa_frame_call *c)
{
	struct ksalloc_frame_args *args = &c->args;
	u32 index;
	int ret;

	if (args->flags || args->reserved || fd_flags & ~O_CLOEXEC)
		return -EINVAL;
	index = ksa_pool_frame_index(&a->pool, args->offset);
	if (index == U32_MAX)
		return -EINVAL;
	c->file = NULL;
	c->fd = get_unused_fd_flags(fd_flags);
	if (c->fd < 0)
		return c->fd;
	ret = ksa_frame_dmabuf(a, index, false, c);
	if (ret)
		put_unused_fd(c->fd);
	return ret;
}

static void ksa_frame_method_undo(struct ksa_request *req)
{
	struct ksalloc_allocator *a = ksa_req_allocator(req);
	const struct ksalloc_frame_args *args = req->data;

	/* A dma-buf goes back through the dispatcher's install_file. */
	if (req->install_file)
		ksa_dmabuf_unpublished(req->install_file);
	else
		ksa_pool_untake(&a->pool,
				ksa_pool_frame_index(&a->pool, args->offset));
}

/* KSMETHOD_KSALLOC_FRAME_ALLOC and _EXPORT */
static int ksa_frame_method(struct ksa_request *req)
{
	struct ksalloc_allocator *a = ksa_req_allocator(req);
	struct ksalloc_frame_args *args = req->data;
	struct ksa_frame_call c = { .args = *args };
	int ret;

	/* The fd's flags come from ks_ioctl_args.open_flags. */
	if (args->fd_flags)
		return -EINVAL;
	if (req->id.id == KSMETHOD_KSALLOC_FRAME_ALLOC)
		ret = ksa_frame_alloc_call(a, req->file, req->open_flags, &c);
	else
		ret = ksa_frame_export_call(a, req->open_flags, &c);
	if (ret)
		return ret;
	*args = c.args;
	if (c.file) {
		req->install_file = c.file;
		req->install_fd = c.fd;
	}
	req->undo = ksa_frame_method_undo;
	return 0;
}

/* The enable never reached the caller: the event goes again. */
static void ksa_event_enable_undo(struct ksa_request *req)
{
	struct ksalloc_allocator *a = ksa_req_allocator(req);

	ksa_events_undo_enable(&a->events, req->undo_arg.seq);
}

static int ksa_event_enable(struct ksa_request *req)
{
	struct ksalloc_allocator *a = ksa_req_allocator(req);
	int ret;

	ret = ksa_events_enable(&a->events, req->id.id,
				req->id.flags & KSEVENT_TYPE_ONESHOT,
				req->data_addr, req->data, &req->undo_arg.seq);
	if (!ret)
		req->undo = ksa_event_enable_undo;
	return ret;
}

static int ksa_allocator_disable_event(struct file *file, u64 addr,
				       const struct kseventdata *data)
{
	struct ksalloc_allocator *a = file->private_data;

	return ksa_events_disable(&a->events, addr, data);
}

int ksa_allocator_reset(struct file *file, u32 reset)
{
	struct ksalloc_allocator *a = file->private_data;

	trace_ksalloc_reset(a->id, reset == KSRESET_BEGIN);
	ksa_pool_reset(&a->pool, reset == KSRESET_BEGIN);
	return 0;
}

static const struct ksa_item ksa_allocator_props[] = {
	KSA_PROPERTY_GET_KERNEL(KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE,
				ksa_functiontable_get,
				sizeof(struct ksalloc_functiontable)),
	KSA_PROPERTY_GET(KSPROPERTY_STREAMALLOCATOR_STATUS, ksa_status_get,
			 sizeof(struct ksstreamallocator_status), KS_VT_BLOB),
};

static const struct ksa_item ksa_allocator_ksalloc_props[] = {
	KSA_PROPERTY_GET(KSPROPERTY_KSALLOC_ALLOCATOR_INFO, ksa_info_get,
			 sizeof(struct ksalloc_allocator_info), KS_VT_BLOB),
};

static const struct ksa_item ksa_allocator_methods[] = {
	KSA_METHOD_U64(KSMETHOD_STREAMALLOCATOR_ALLOC, ksa_alloc_method,
		       ksa_alloc_undo, KSMETHOD_TYPE_WRITE),
	KSA_METHOD_U64(KSMETHOD_STREAMALLOCATOR_FREE, ksa_free_method, NULL,
		       KSMETHOD_TYPE_READ),
};

static const struct ksa_item ksa_allocator_batch_methods[] = {
	KSA_METHOD_PARAMS(KSMETHOD_KSALLOC_BATCH_ALLOC, ksa_batch_alloc_method,
			  KSMETHOD_TYPE_WRITE, struct ksalloc_batch_method,
			  ksa_batch_size, KS_VT_BLOB),
	KSA_METHOD_PARAMS(KSMETHOD_KSALLOC_BATCH_FREE, ksa_batch_free_method,
			  KSMETHOD_TYPE_READ, struct ksalloc_batch_method,
			  ksa_batch_size, KS_VT_BLOB),
};

static const struct ksa_item ksa_allocator_frame_methods[] = {
	KSA_METHOD_FD(KSMETHOD_KSALLOC_FRAME_ALLOC, ksa_frame_method,
		      KSMETHOD_TYPE_MODIFY, sizeof(struct ksalloc_frame_args),
		      KS_VT_BLOB),
	KSA_METHOD_FD(KSMETHOD_KSALLOC_FRAME_EXPORT, ksa_frame_method,
		      KSMETHOD_TYPE_MODIFY, sizeof(struct ksalloc_frame_args),
		      KS_VT_BLOB),
};

/*
 * KSEVENT_STREAMALLOCATOR_INTERNAL_FREEFRAME is not served: in KS it is
 * the default allocator's notification to its own framework, enabled
 * with kernel notification types (DPC, work item, KEVENT) that have no
 * ksalloc form, and a kernel client waits for frames with
 * ksalloc_alloc_frame() instead.
 */
static const struct ksa_item ksa_allocator_events[] = {
	KSA_EVENT_ITEM(KSEVENT_STREAMALLOCATOR_FREEFRAME, ksa_event_enable),
};

static const struct ksa_set ksa_allocator_property_sets[] = {
	KSA_SET(ksa_propset_streamallocator, ksa_allocator_props),
	KSA_SET(ksa_propset_ksalloc_allocator, ksa_allocator_ksalloc_props),
};

static const struct ksa_set ksa_allocator_method_sets[] = {
	KSA_SET(ksa_methodset_streamallocator, ksa_allocator_methods),
	KSA_SET(ksa_methodset_ksalloc_batch, ksa_allocator_batch_methods),
	KSA_SET(ksa_methodset_ksalloc_frame, ksa_allocator_frame_methods),
};

static const struct ksa_set ksa_allocator_event_sets[] = {
	KSA_SET(ksa_eventset_streamallocator, ksa_allocator_events),
};

static const struct ksa_automation ksa_allocator_automation = {
	.sets = {
		[KSA_PROPERTY] = ksa_allocator_property_sets,
		[KSA_METHOD] = ksa_allocator_method_sets,
		[KSA_EVENT] = ksa_allocator_event_sets,
	},
	.nsets = {
		[KSA_PROPERTY] = ARRAY_SIZE(ksa_allocator_property_sets),
		[KSA_METHOD] = ARRAY_SIZE(ksa_allocator_method_sets),
		[KSA_EVENT] = ARRAY_SIZE(ksa_allocator_event_sets),
	},
	.disable_event = ksa_allocator_disable_event,
	.reset = ksa_allocator_reset,
};

int ksa_allocator_kernel_property(struct ksalloc_allocator *a,
				  const struct ksidentifier *id, void *data,
				  u32 size, u32 *returned)
{
	return ksa_kernel_request(a->file, &ksa_allocator_automation,
				  KSA_PROPERTY, id, data, size, returned);
}

/* IOCTL_KSALLOC_ALLOC_FRAME: ALLOC without the KS request framing */
static long ksa_allocator_alloc_frame(struct ksalloc_allocator *a,
				      struct file *file, u64 __user *uoffset)
{
	u32 index;
	int ret;

	ret = ksa_pool_alloc(&a->pool, file->f_flags & O_NONBLOCK, &index);
	if (ret)
		return ret;
	if (put_user((u64)index * a->pool.stride, uoffset)) {
		/* The caller never learnt of the frame: it goes back. */
		ksa_pool_untake(&a->pool, index);
		return -EFAULT;
	}
	return 0;
}

/* IOCTL_KSALLOC_FREE_FRAME: FREE without the KS request framing */
static long ksa_allocator_free_frame(struct ksalloc_allocator *a,
				     u64 __user *uoffset)
{
	u64 offset;
	u32 index;

	if (get_user(offset, uoffset))
		return -EFAULT;
	index = ksa_pool_frame_index(&a->pool, offset);
	if (index == U32_MAX)
		return -EINVAL;
	return ksa_allocator_free_index(a, index, true);
}

/*
 * IOCTL_KSALLOC_FRAME_ALLOC and _EXPORT: the frame methods without the
 * request framing. The fd is published only after the copy-out worked.
 */
static long ksa_allocator_frame_ioctl(struct ksalloc_allocator *a,
				      struct file *file, unsigned int cmd,
				      struct ksalloc_frame_args __user *uargs)
{
	struct ksa_frame_call c;
	int ret;

	if (copy_from_user(&c.args, uargs, sizeof(c.args)))
		return -EFAULT;
	if (cmd == IOCTL_KSALLOC_FRAME_ALLOC)
		ret = ksa_frame_alloc_call(a, file, c.args.fd_flags, &c);
	else
		ret = ksa_frame_export_call(a, c.args.fd_flags, &c);
	if (ret)
		return ret;
	if (copy_to_user(uargs, &c.args, sizeof(c.args))) {
		ksa_frame_call_undo(a, &c);
		return -EFAULT;
	}
	if (c.file)
		fd_install(c.fd, c.file);
	return 0;
}

static long ksa_allocator_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	struct ksalloc_allocator *a = file->private_data;

	switch (cmd) {
	case IOCTL_KSALLOC_ALLOC_FRAME:
		return ksa_allocator_alloc_frame(a, file, (u64 __user *)arg);
	case IOCTL_KSALLOC_FREE_FRAME:
		return ksa_allocator_free_frame(a, (u64 __user *)arg);
	case IOCTL_KSALLOC_FRAME_ALLOC:
	case IOCTL_KSALLOC_FRAME_EXPORT:
		return ksa_allocator_frame_ioctl(a, file, cmd, (void __user *)arg);
	default:
		return ksa_dispatch(file, &ksa_allocator_automation, cmd, arg);
	}
}

static int ksa_allocator_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct ksalloc_allocator *a = file->private_data;

	return ksa_pool_mmap(&a->pool, vma);
}

static __poll_t ksa_allocator_poll(struct file *file, poll_table *wait)
{
	struct ksalloc_allocator *a = file->private_data;

	poll_wait(file, &a->pool.pollq, wait);
	if (READ_ONCE(a->pool.resetting))
		return EPOLLERR;
	return ksa_pool_readable(&a->pool) ? EPOLLIN | EPOLLRDNORM : 0;
}

static void ksa_allocator_free(struct ksalloc_allocator *a)
{
	trace_ksalloc_allocator_destroy(a->id, a->pool.high_water);
	ksa_events_release(&a->events);
	ksa_pool_destroy(&a->pool);
	kfree(a);
}

static int ksa_allocator_release(struct inode *inode, struct file *file)
{
	struct ksalloc_allocator *a = file->private_data;

	mutex_lock(&ksa_allocators_lock);
	list_del(&a->node);
	mutex_unlock(&ksa_allocators_lock);
	ksa_allocator_free(a);
	return 0;
}

static void ksa_allocator_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct ksalloc_allocator *a = file->private_data;

	seq_printf(m, "ksalloc-id:\t%llu\n", a->id);
	seq_printf(m, "frames:\t%u\n", a->pool.frames);
	seq_printf(m, "frame-size:\t%u\n", a->pool.frame_size);
	seq_printf(m, "allocated:\t%u\n", READ_ONCE(a->pool.allocated_count));
	seq_printf(m, "exported:\t%u\n", READ_ONCE(a->pool.exported_count));
}

static const struct file_operations ksa_allocator_fops = {
	.owner = THIS_MODULE,
	.release = ksa_allocator_release,
	.unlocked_ioctl = ksa_allocator_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = ksa_allocator_mmap,
	.poll = ksa_allocator_poll,
	.show_fdinfo = ksa_allocator_show_fdinfo,
	.uring_cmd = ksa_uring_cmd,
};

/*
 * Accepted option bits: the KSALLOCATOR_OPTIONF_VALID options plus the
 * requirement bits that clients copy over from ALLOCATORFRAMING (the two
 * share one field); PREFERENCES_ONLY must be cleared, as KS clients do.
 */
#define KSA_OPTION_FLAGS (KSALLOCATOR_OPTIONF_VALID |			\
			  KSALLOCATOR_REQUIREMENTF_FRAME_INTEGRITY |	\
			  KSALLOCATOR_REQUIREMENTF_MUST_ALLOCATE)

/**
 * ksa_framing_validate() - check a framing an allocator is created with
 * @framing: the framing
 *
 * Frames need not be physically contiguous, so their size is bounded only
 * by the caps (checked at creation) and by the 32 bits of frame_stride.
 *
 * Return: 0, -EINVAL (zero frames or size, bad alignment, unknown flag or
 * pool type, non-zero reserved field) or -EOVERFLOW (frame_size rounded up
 * to pages does not fit in 32 bits).
 */
int ksa_framing_validate(const struct ksallocator_framing *framing)
{
	if (!framing->frames || !framing->frame_size || framing->reserved)
		return -EINVAL;
	if (framing->options_flags & ~KSA_OPTION_FLAGS)
		return -EINVAL;
	switch (framing->pool_type) {
	case KS_POOL_NONPAGED:
	case KS_POOL_PAGED:
	case KS_POOL_NONPAGED_CACHE_ALIGNED:
	case KS_POOL_PAGED_CACHE_ALIGNED:
	case KS_POOL_NONPAGED_NX:
		break;
	default:
		return -EINVAL;
	}
	/* A mask of 2^n - 1, at most page alignment (frames are pages) */
	if (framing->file_alignment & (framing->file_alignment + 1) ||
	    framing->file_alignment >= PAGE_SIZE)
		return -EINVAL;
	if (framing->frame_size > (U32_MAX & PAGE_MASK))
		return -EOVERFLOW;
	return 0;
}

/**
 * ksa_allocator_create() - a new allocator file
 * @framing: a validated framing
 * @flags: KSALLOC_CREATEF_* (validated)
 * @open_flags: O_NONBLOCK for the new file
 *
 * Return: the file (holding the only reference) or an ERR_PTR.
 */
struct file *ksa_allocator_create(const struct ksallocator_framing *framing,
				  u32 flags, u32 open_flags)
{
	struct ksalloc_allocator *a;
	struct file *file;
	int ret;

	a = kzalloc(sizeof(*a), KSA_GFP);
	if (!a)
		return ERR_PTR(-ENOMEM);
	a->id = atomic64_inc_return(&ksa_next_id);
	a->framing = *framing;
	a->owner_pid = task_tgid_nr(current);
	get_task_comm(a->owner_comm, current);
	ksa_events_init(&a->events);
	a->pool.id = a->id;
	ret = ksa_pool_init(&a->pool, framing->frames, framing->frame_size,
			    flags & KSALLOC_CREATEF_CONTIGUOUS);
	if (ret) {
		kfree(a);
		return ERR_PTR(ret);
	}
	trace_ksalloc_allocator_create(a->id, a->pool.frames,
				       a->pool.frame_size, a->pool.bytes);

	file = anon_inode_getfile("[ksalloc-allocator]", &ksa_allocator_fops,
				  a, O_RDWR | (open_flags & O_NONBLOCK));
	if (IS_ERR(file)) {
		ksa_allocator_free(a);
		return file;
	}
	/* From here on ->release owns the allocator. */
	a->file = file;
	mutex_lock(&ksa_allocators_lock);
	list_add_tail(&a->node, &ksa_allocators);
	mutex_unlock(&ksa_allocators_lock);
	return file;
}
