// SPDX-License-Identifier: GPL-2.0
/*
 * The pin: every open() of /dev/ksalloc is one KS connection point.
 *
 * A pin describes its framing requirements, has a KSSTATE, creates
 * allocators (IOCTL_KS_CREATE, the KsCreateAllocator path) and may be given
 * one with KSPROPERTY_STREAM_ALLOCATOR, on which it then holds a file
 * reference until a new Set, a Set of the null handle, or its close.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "automation.h"
#include "ksalloc.h"

static const struct ksguid ksa_propset_stream = KSPROPSETID_Stream;
static const struct ksguid ksa_propset_connection = KSPROPSETID_Connection;
static const struct ksguid ksa_propset_ksalloc_pin = KSPROPSETID_KsallocPin;
static const struct ksguid ksa_name_allocator = KSNAME_Allocator;
static const struct ksguid ksa_name_allocator_ex = KSNAME_AllocatorEx;
static const struct ksguid ksa_name_ksalloc_allocator = KSNAME_KsallocAllocator;

struct ksa_pin {
	struct mutex lock;		/* protects everything below */
	u32 state;			/* KSSTATE_* */
	struct ksallocator_framing framing;	/* requirements */
	struct file *allocator;		/* a reference, or NULL */
};

/* Accepted requirement bits of KSPROPERTY_CONNECTION_ALLOCATORFRAMING */
#define KSA_REQUIREMENT_FLAGS (KSALLOCATOR_REQUIREMENTF_INPLACE_MODIFIER | \
			       KSALLOCATOR_REQUIREMENTF_SYSTEM_MEMORY |	   \
			       KSALLOCATOR_REQUIREMENTF_FRAME_INTEGRITY |  \
			       KSALLOCATOR_REQUIREMENTF_MUST_ALLOCATE |	   \
			       KSALLOCATOR_REQUIREMENTF_PREFERENCES_ONLY)

/* Every KSALLOCATOR_FLAG_* a KS_FRAMING_ITEM may carry (ks.h) */
#define KSA_FRAMING_ITEM_FLAGS (KSALLOCATOR_FLAG_PARTIAL_READ_SUPPORT |	    \
				KSALLOCATOR_FLAG_DEVICE_SPECIFIC |	    \
				KSALLOCATOR_FLAG_CAN_ALLOCATE |		    \
				KSALLOCATOR_FLAG_INSIST_ON_FRAMESIZE_RATIO | \
				KSALLOCATOR_FLAG_NO_FRAME_INTEGRITY |	    \
				KSALLOCATOR_FLAG_MULTIPLE_OUTPUT |	    \
				KSALLOCATOR_FLAG_CYCLE |		    \
				KSALLOCATOR_FLAG_ALLOCATOR_EXISTS |	    \
				KSALLOCATOR_FLAG_INDEPENDENT_RANGES |	    \
				KSALLOCATOR_FLAG_ATTENTION_STEPPING)
static_assert(KSA_FRAMING_ITEM_FLAGS == 0x3ff0);

static struct ksa_pin *ksa_req_pin(struct ksa_request *req)
{
	return req->object;
}

/* KSPROPERTY_STREAM_ALLOCATOR Get: the null handle; success says "supported" */
static int ksa_stream_allocator_get(struct ksa_request *req)
{
	*(s64 *)req->data = KS_NULL_HANDLE;
	return 0;
}

/*
 * The Set's result could not be written back: the pin gets its previous
 * allocator again, unless another Set came in between.
 */
static void ksa_stream_allocator_undo(struct ksa_request *req)
{
	struct ksa_pin *pin = ksa_req_pin(req);
	struct file *mine = req->undo_arg.file;

	mutex_lock(&pin->lock);
	if (pin->allocator == mine) {
		pin->allocator = req->put_file;
		req->put_file = mine;
	}
	mutex_unlock(&pin->lock);
}

/* KSPROPERTY_STREAM_ALLOCATOR Set: an allocator fd, or the null handle */
static int ksa_stream_allocator_set(struct ksa_request *req)
{
	struct ksa_pin *pin = ksa_req_pin(req);
	s64 handle = *(s64 *)req->data;
	struct file *file = NULL, *old;

	if (handle != KS_NULL_HANDLE) {
		if (handle < 0 || handle > INT_MAX)
			return -EBADF;
		file = fget(handle);
		if (!file)
			return -EBADF;
		if (!ksa_is_allocator_file(file)) {
			fput(file);
			return -EINVAL;
		}
	}

	mutex_lock(&pin->lock);
	if (pin->state != KSSTATE_STOP) {
		mutex_unlock(&pin->lock);
		if (file)
			fput(file);
		return -EBUSY;
	}
	old = pin->allocator;
	pin->allocator = file;
	mutex_unlock(&pin->lock);

	/* The old reference goes when the request is done, or back. */
	req->put_file = old;
	req->undo_arg.file = file;
	req->undo = ksa_stream_allocator_undo;
	return 0;
}

/* KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD: a new fd for the assigned allocator */
static int ksa_pin_allocator_fd_get(struct ksa_request *req)
{
	struct ksa_pin *pin = ksa_req_pin(req);
	struct file *file;
	int fd;

	/* The file is shared with its other fds: no per-fd O_NONBLOCK */
	if (req->open_flags & ~O_CLOEXEC)
		return -EINVAL;
	fd = get_unused_fd_flags(req->open_flags);
	if (fd < 0)
		return fd;

	mutex_lock(&pin->lock);
	file = pin->allocator;
	if (file)
		get_file(file);
	mutex_unlock(&pin->lock);
	if (!file) {
		put_unused_fd(fd);
		return -ENOENT;
	}
	req->install_file = file;
	req->install_fd = fd;
	*(s64 *)req->data = fd;
	return 0;
}

static int ksa_state_get(struct ksa_request *req)
{
	struct ksa_pin *pin = ksa_req_pin(req);

	*(u32 *)req->data = READ_ONCE(pin->state);
	return 0;
}

/* The Set's result could not be written back: the old state, if still ours */
static void ksa_state_undo(struct ksa_request *req)
{
	struct ksa_pin *pin = ksa_req_pin(req);

	mutex_lock(&pin->lock);
	if (pin->state == *(u32 *)req->data)
		WRITE_ONCE(pin->state, req->undo_arg.state);
	mutex_unlock(&pin->lock);
}

static int ksa_state_set(struct ksa_request *req)
{
	struct ksa_pin *pin = ksa_req_pin(req);
	u32 state = *(u32 *)req->data;

	if (state > KSSTATE_RUN)
		return -EINVAL;
	mutex_lock(&pin->lock);
	req->undo_arg.state = pin->state;
	WRITE_ONCE(pin->state, state);
	mutex_unlock(&pin->lock);
	req->undo = ksa_state_undo;
	return 0;
}

static int ksa_framing_get(struct ksa_request *req)
{
	struct ksa_pin *pin = ksa_req_pin(req);

	mutex_lock(&pin->lock);
	*(struct ksallocator_framing *)req->data = pin->framing;
	mutex_unlock(&pin->lock);
	return 0;
}

static int ksa_framing_set(struct ksa_request *req)
{
	struct ksa_pin *pin = ksa_req_pin(req);
	struct ksallocator_framing *f = req->data;

	if (f->requirements_flags & ~KSA_REQUIREMENT_FLAGS || f->reserved)
		return -EINVAL;
	if (f->file_alignment & (f->file_alignment + 1))
		return -EINVAL;
	mutex_lock(&pin->lock);
	pin->framing = *f;
	mutex_unlock(&pin->lock);
	return 0;
}

static int ksa_framing_ex_size(struct ksa_request *req, u32 *need)
{
	*need = KSALLOCATOR_FRAMING_EX_SIZE(1);
	return 0;
}

/* ALLOCATORFRAMING_EX: the simple framing as one framing item */
static int ksa_framing_ex_get(struct ksa_request *req)
{
	static const struct ksguid system_memory = KSMEMORY_TYPE_SYSTEM;
	struct ksallocator_framing_ex *ex = req->data;
	struct ks_framing_item *item = &ex->framing_item[0];
	struct ksallocator_framing f;

	mutex_lock(&ksa_req_pin(req)->lock);
	f = ksa_req_pin(req)->framing;
	mutex_unlock(&ksa_req_pin(req)->lock);

	ex->count_items = 1;
	ex->output_compression.ratio_numerator = 1;
	ex->output_compression.ratio_denominator = 1;
	item->memory_type = system_memory;
	item->flags = f.requirements_flags;
	item->frames = f.frames;
	item->file_alignment = f.file_alignment;
	item->physical_range.max_frame_size = U32_MAX;
	item->physical_range.stepping = 1;
	item->framing_range.range.min_frame_size = f.frame_size;
	item->framing_range.range.max_frame_size = f.frame_size;
	item->framing_range.range.stepping = 1;
	return 0;
}

static const struct ksa_item ksa_pin_stream_props[] = {
	KSA_PROPERTY_GETSET(KSPROPERTY_STREAM_ALLOCATOR,
			    ksa_stream_allocator_get, ksa_stream_allocator_set,
			    sizeof(s64), KS_VT_I8),
};

static const struct ksa_item ksa_pin_connection_props[] = {
	KSA_PROPERTY_GETSET(KSPROPERTY_CONNECTION_STATE, ksa_state_get,
			    ksa_state_set, sizeof(u32), KS_VT_UI4),
	KSA_PROPERTY_GETSET(KSPROPERTY_CONNECTION_ALLOCATORFRAMING,
			    ksa_framing_get, ksa_framing_set,
			    sizeof(struct ksallocator_framing), KS_VT_BLOB),
	KSA_PROPERTY_GET_SIZED(KSPROPERTY_CONNECTION_ALLOCATORFRAMING_EX,
			       ksa_framing_ex_get, ksa_framing_ex_size,
			       KS_VT_BLOB),
};

static const struct ksa_item ksa_pin_ksalloc_props[] = {
	KSA_PROPERTY_GET_FD(KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
			    ksa_pin_allocator_fd_get),
};

static const struct ksa_set ksa_pin_property_sets[] = {
	KSA_SET(ksa_propset_stream, ksa_pin_stream_props),
	KSA_SET(ksa_propset_connection, ksa_pin_connection_props),
	KSA_SET(ksa_propset_ksalloc_pin, ksa_pin_ksalloc_props),
};

/* IOCTL_KS_RESET_STATE on a pin resets the allocator it was given. */
static int ksa_pin_reset(struct file *file, u32 reset)
{
	struct ksa_pin *pin = file->private_data;
	struct file *alloc;
	int ret = 0;

	mutex_lock(&pin->lock);
	alloc = pin->allocator;
	if (alloc)
		get_file(alloc);
	mutex_unlock(&pin->lock);
	if (alloc) {
		ret = ksa_allocator_reset(alloc, reset);
		fput(alloc);
	}
	return ret;
}

/*
 * KSALLOCATOR_FRAMING_EX: the allocator is made from the first framing
 * item (the preferred one); its frame size is the item's largest.
 */
static int ksa_framing_from_ex(const void *in, u32 in_size,
			       struct ksallocator_framing *f)
{
	static const struct ksguid mem_system = KSMEMORY_TYPE_SYSTEM;
	static const struct ksguid mem_nonpaged = KSMEMORY_TYPE_KERNEL_NONPAGED;
	static const struct ksguid mem_paged = KSMEMORY_TYPE_KERNEL_PAGED;
	static const struct ksguid mem_any = KSMEMORY_TYPE_WILDCARD;
	const struct ksallocator_framing_ex *ex = in + sizeof(struct ksguid);
	const struct ks_framing_item *item;
	u32 known = KSA_FRAMING_ITEM_FLAGS | KSA_REQUIREMENT_FLAGS;

	if (in_size < sizeof(struct ksguid) + KSALLOCATOR_FRAMING_EX_SIZE(1))
		return -EINVAL;
	if (!ex->count_items || ex->count_items > KS_MAX_FRAMING_ITEMS ||
	    in_size != sizeof(struct ksguid) +
		       KSALLOCATOR_FRAMING_EX_SIZE(ex->count_items))
		return -EINVAL;
	item = &ex->framing_item[0];
	if (item->flags & ~known)
		return -EINVAL;
	if (item->framing_range.range.min_frame_size >
	    item->framing_range.range.max_frame_size)
		return -EINVAL;
	if (!ksa_guid_equal(&item->memory_type, &mem_system) &&
	    !ksa_guid_equal(&item->memory_type, &mem_nonpaged) &&
	    !ksa_guid_equal(&item->memory_type, &mem_paged) &&
	    !ksa_guid_equal(&item->memory_type, &mem_any))
		return -EOPNOTSUPP;

	memset(f, 0, sizeof(*f));
	f->options_flags = KSALLOCATOR_OPTIONF_SYSTEM_MEMORY;
	f->pool_type = ksa_guid_equal(&item->memory_type, &mem_paged) ?
		       KS_POOL_PAGED : KS_POOL_NONPAGED;
	f->frames = item->frames;
	f->frame_size = item->framing_range.range.max_frame_size;
	f->file_alignment = item->file_alignment;
	return 0;
}

/* KSNAME_KsallocAllocator: a framing and ksalloc's creation flags */
static int ksa_create_from_ksalloc(const void *in, u32 in_size,
				   struct ksallocator_framing *f, u32 *flags)
{
	const struct ksalloc_allocator_create *c = in;

	if (in_size != sizeof(*c) || c->flags & ~KSALLOC_CREATEF_CONTIGUOUS ||
	    c->reserved || c->reserved2[0] || c->reserved2[1])
		return -EINVAL;
	*f = c->framing;
	*flags = c->flags;
	return 0;
}

/*
 * IOCTL_KS_CREATE: KSNAME_Allocator and a KSALLOCATOR_FRAMING,
 * KSNAME_AllocatorEx and a KSALLOCATOR_FRAMING_EX, or
 * KSNAME_KsallocAllocator and a struct ksalloc_allocator_create.
 * Everything is checked and allocated here; the dispatcher publishes the
 * fd after the copy-out.
 */
static int ksa_pin_create(struct ksa_request *req, const void *in, u32 in_size)
{
	const struct ksallocator_create *c = in;
	struct ksallocator_framing framing;
	struct file *file;
	u32 flags = 0;
	int fd, ret;

	if (ksa_guid_equal(&c->object_type, &ksa_name_allocator)) {
		if (in_size != sizeof(*c))
			return -EINVAL;
		framing = c->framing;
	} else if (ksa_guid_equal(&c->object_type,
				  &ksa_name_ksalloc_allocator)) {
		ret = ksa_create_from_ksalloc(in, in_size, &framing, &flags);
		if (ret)
			return ret;
	} else if (ksa_guid_equal(&c->object_type, &ksa_name_allocator_ex)) {
		ret = ksa_framing_from_ex(in, in_size, &framing);
		if (ret)
			return ret;
	} else {
		return -ENOENT;
	}
	ret = ksa_framing_validate(&framing);
	if (ret)
		return ret;

	fd = get_unused_fd_flags(req->open_flags & O_CLOEXEC);
	if (fd < 0)
		return fd;
	file = ksa_allocator_create(&framing, flags, req->open_flags);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	req->install_file = file;
	req->install_fd = fd;
	*(s64 *)req->data = fd;
	req->returned = sizeof(s64);
	return 0;
}

static const struct ksa_automation ksa_pin_automation = {
	.sets = { [KSA_PROPERTY] = ksa_pin_property_sets },
	.nsets = { [KSA_PROPERTY] = ARRAY_SIZE(ksa_pin_property_sets) },
	.reset = ksa_pin_reset,
	.create = ksa_pin_create,
};

static int ksa_pin_open(struct inode *inode, struct file *file)
{
	struct ksa_pin *pin;

	pin = kzalloc(sizeof(*pin), GFP_KERNEL_ACCOUNT);
	if (!pin)
		return -ENOMEM;
	mutex_init(&pin->lock);
	pin->state = KSSTATE_STOP;
	pin->framing.requirements_flags = KSALLOCATOR_REQUIREMENTF_SYSTEM_MEMORY |
		KSALLOCATOR_REQUIREMENTF_PREFERENCES_ONLY;
	pin->framing.pool_type = KS_POOL_NONPAGED;
	pin->framing.frames = 4;
	pin->framing.frame_size = PAGE_SIZE;
	pin->framing.file_alignment = PAGE_SIZE - 1;
	file->private_data = pin;
	return 0;
}

static int ksa_pin_release(struct inode *inode, struct file *file)
{
	struct ksa_pin *pin = file->private_data;

	if (pin->allocator)
		fput(pin->allocator);
	mutex_destroy(&pin->lock);
	kfree(pin);
	return 0;
}

static long ksa_pin_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	return ksa_dispatch(file, &ksa_pin_automation, cmd, arg);
}

const struct file_operations ksa_pin_fops = {
	.owner = THIS_MODULE,
	.open = ksa_pin_open,
	.release = ksa_pin_release,
	.unlocked_ioctl = ksa_pin_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};
