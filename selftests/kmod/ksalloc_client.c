// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc_client: a test client of the ksalloc kernel API.
 *
 * It plays a small KS filter driver that user space connects to an
 * allocator: /dev/ksalloc_client takes an allocator fd (ATTACH), allocates
 * frames from kernel context and fills them through their kernel address
 * (FILL), frees frames (FREE) and lets go (DETACH or close). The frames
 * are reached through KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE, as a KS
 * driver would, and through the exported functions directly. The ioctls
 * are in ksalloc_client.h.
 *
 * Frames the client still holds when it lets go are freed then, as a
 * driver returns its frames before it drops the allocator.
 */
#include <linux/err.h>
#include <linux/file.h>
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
	spinlock_t lock;	/* protects frames, held, dma_ok; IRQ-safe */
	struct list_head frames;
	u32 held;
	bool dma_ok;
};

/* One open of /dev/ksalloc_client */
struct ksc_client {
	struct mutex lock;	/* protects att */
	struct ksc_attachment *att;
};

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
	att->dma_ok = true;

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

static int ksc_alloc_frames(struct ksc_attachment *att,
			    struct ksc_frame **frames, u32 count, u32 flags)
{
	unsigned long irqflags;
	int ret;

	if (!(flags & KSALLOC_CLIENT_ATOMIC))
		return ksc_alloc_some(att, frames, count, flags);

	/* Atomic context: the kernel API promises NOWAIT works there. */
	spin_lock_irqsave(&att->lock, irqflags);
	ret = ksc_alloc_some(att, frames, count, flags);
	spin_unlock_irqrestore(&att->lock, irqflags);
	return ret;
}

static void ksc_fill_frame(const struct ksalloc_frame *frame, u32 pattern)
{
	u8 *p = frame->vaddr;
	u32 pos;

	for (pos = 0; pos < frame->size; pos++)
		p[pos] = ksalloc_client_byte(pattern, frame->index, pos);
}

static int ksc_fill(struct ksc_client *c, void __user *uarg)
{
	const u32 known = KSALLOC_CLIENT_NOWAIT | KSALLOC_CLIENT_DIRECT |
			  KSALLOC_CLIENT_ATOMIC;
	struct ksalloc_client_frame *out = NULL;
	struct ksc_frame **frames = NULL;
	struct ksalloc_client_fill req;
	struct ksc_attachment *att;
	unsigned long irqflags;
	bool dma_ok = true;
	u32 i;
	int ret;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (!req.count || req.count > KSALLOC_CLIENT_MAX_FRAMES ||
	    req.flags & ~known || req.reserved)
		return -EINVAL;
	if ((req.flags & KSALLOC_CLIENT_ATOMIC) &&
	    !(req.flags & KSALLOC_CLIENT_NOWAIT))
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

		ksc_fill_frame(f, req.pattern);
		out[i].offset = f->offset;
		out[i].index = f->index;
		out[i].size = f->size;
		if (!f->dma)
			dma_ok = false;
	}
	if (!ksalloc_device())
		dma_ok = false;

	if (copy_to_user(u64_to_user_ptr(req.frames), out,
			 array_size(req.count, sizeof(*out)))) {
		for (i = 0; i < req.count; i++)
			att->ft.free_frame(att->a, &frames[i]->frame);
		ret = -EFAULT;
		goto out_free;
	}

	spin_lock_irqsave(&att->lock, irqflags);
	for (i = 0; i < req.count; i++) {
		list_add_tail(&frames[i]->node, &att->frames);
		frames[i] = NULL;
	}
	att->held += req.count;
	if (!dma_ok)
		att->dma_ok = false;
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

static int ksc_free_one(struct ksc_attachment *att, u64 offset, bool atomic)
{
	struct ksalloc_frame frame = { .offset = offset };
	unsigned long irqflags;
	struct ksc_frame *f;
	int ret;

	spin_lock_irqsave(&att->lock, irqflags);
	f = ksc_take_held(att, offset);
	if (f)
		frame = f->frame;
	if (atomic) {
		ret = att->ft.free_frame(att->a, &frame);
		spin_unlock_irqrestore(&att->lock, irqflags);
	} else {
		spin_unlock_irqrestore(&att->lock, irqflags);
		ret = att->ft.free_frame(att->a, &frame);
	}
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
	    req.flags & ~KSALLOC_CLIENT_ATOMIC || req.reserved)
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
		ret = ksc_free_one(att, offsets[i],
				   req.flags & KSALLOC_CLIENT_ATOMIC);
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
		st.dma_ok = att->dma_ok;
		spin_unlock_irqrestore(&att->lock, irqflags);
		ksc_attachment_put(att);
	}
	return copy_to_user(uarg, &st, sizeof(st)) ? -EFAULT : 0;
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

module_misc_device(ksc_misc);

MODULE_DESCRIPTION("Test client of the ksalloc kernel API");
MODULE_LICENSE("GPL");
KSALLOC_IMPORT_NS();
