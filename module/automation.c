// SPDX-License-Identifier: GPL-2.0
/*
 * The one dispatcher for KS property, method and event requests.
 *
 * A request names a set (GUID), an item (id) and a type (flags). The
 * object's automation table says which sets and items exist, which types
 * each item handles and how large its value is; everything that follows
 * from that (BASICSUPPORT, SETSUPPORT, size queries, flag and size checks)
 * is answered here, so handlers only see well-formed requests with the
 * value already in kernel memory.
 */
#include <linux/build_bug.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "automation.h"

/* Values up to this size live on the stack; larger ones are allocated. */
#define KSA_INLINE_DATA		128
#define KSA_MAX_DATA		65536

static const struct ksguid ksa_guid_null = KSGUID_NULL;
static const struct ksguid ksa_typeset_general = KSPROPTYPESETID_General;

struct ksa_call {
	struct ksa_request req;
	void *heap;
	u64 inline_data[KSA_INLINE_DATA / sizeof(u64)];
	u64 input[KSA_MAX_INPUT / sizeof(u64)];
};

/* Type flags per kind: which bits KS defines, which of them we refuse. */
struct ksa_kind_flags {
	u32 known;
	u32 unsupported;
};

#define KSA_SUPPORT_QUERIES (KSPROPERTY_TYPE_SETSUPPORT | KSPROPERTY_TYPE_BASICSUPPORT)

static const struct ksa_kind_flags ksa_kind_flags[KSA_KINDS] = {
	[KSA_PROPERTY] = {
		.known = KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET |
			 KSA_SUPPORT_QUERIES | KSPROPERTY_TYPE_RELATIONS |
			 KSPROPERTY_TYPE_SERIALIZESET |
			 KSPROPERTY_TYPE_UNSERIALIZESET |
			 KSPROPERTY_TYPE_SERIALIZERAW |
			 KSPROPERTY_TYPE_UNSERIALIZERAW |
			 KSPROPERTY_TYPE_SERIALIZESIZE |
			 KSPROPERTY_TYPE_DEFAULTVALUES |
			 KSPROPERTY_TYPE_TOPOLOGY,
		.unsupported = KSPROPERTY_TYPE_RELATIONS |
			       KSPROPERTY_TYPE_SERIALIZESET |
			       KSPROPERTY_TYPE_UNSERIALIZESET |
			       KSPROPERTY_TYPE_SERIALIZERAW |
			       KSPROPERTY_TYPE_UNSERIALIZERAW |
			       KSPROPERTY_TYPE_SERIALIZESIZE |
			       KSPROPERTY_TYPE_DEFAULTVALUES |
			       KSPROPERTY_TYPE_TOPOLOGY,
	},
	[KSA_METHOD] = {
		.known = KSMETHOD_TYPE_MODIFY | KSMETHOD_TYPE_SOURCE |
			 KSA_SUPPORT_QUERIES | KSMETHOD_TYPE_TOPOLOGY,
		.unsupported = KSMETHOD_TYPE_SOURCE | KSMETHOD_TYPE_TOPOLOGY,
	},
	[KSA_EVENT] = {
		.known = KSEVENT_TYPE_ENABLE | KSEVENT_TYPE_ONESHOT |
			 KSEVENT_TYPE_ENABLEBUFFERED | KSA_SUPPORT_QUERIES |
			 KSEVENT_TYPE_QUERYBUFFER | KSEVENT_TYPE_TOPOLOGY,
		.unsupported = KSEVENT_TYPE_ENABLEBUFFERED |
			       KSEVENT_TYPE_QUERYBUFFER |
			       KSEVENT_TYPE_TOPOLOGY,
	},
};

/* The KS layouts (ks.h, x86-64 and x86 alike) */
static_assert(sizeof(struct ksguid) == 16);
static_assert(sizeof(struct ksidentifier) == 24);
static_assert(__alignof__(struct ksidentifier) == 8);
static_assert(sizeof(struct ksp_node) == 32);
static_assert(sizeof(struct ksallocator_framing) == 24);
static_assert(sizeof(struct ks_framing_range) == 12);
static_assert(sizeof(struct ks_framing_range_weighted) == 20);
static_assert(sizeof(struct ks_compression) == 12);
static_assert(sizeof(struct ks_framing_item) == 88);
static_assert(sizeof(struct ksallocator_framing_ex) == 112);
static_assert(KSALLOCATOR_FRAMING_EX_SIZE(1) == 112);
static_assert(sizeof(struct ksstreamallocator_status) == 32);
static_assert(sizeof(struct ksproperty_description) == 40);
static_assert(sizeof(struct ksproperty_membersheader) == 16);
static_assert(sizeof(struct kseventdata) == 32);
static_assert(offsetof(struct kseventdata, event_handle) == 8);
static_assert(sizeof(struct ksallocator_create) == 40);
static_assert(sizeof(struct ksalloc_allocator_create) == 64);
static_assert(sizeof(struct ksalloc_frame_args) == 24);
static_assert(sizeof(struct ksalloc_allocator_info) == 56);
static_assert(sizeof(struct ks_ioctl_args) == 48);
static_assert(sizeof(struct ksalloc_batch_method) == 32);
/* The parameters buffer holds whole identifiers and u64s */
static_assert(KSA_MAX_INPUT % sizeof(u64) == 0);
static_assert(sizeof(struct ksidentifier) <= KSA_MAX_INPUT);

static const struct ksa_set *ksa_find_set(const struct ksa_automation *tbl,
					  enum ksa_kind kind,
					  const struct ksguid *guid)
{
	unsigned int i;

	for (i = 0; i < tbl->nsets[kind]; i++)
		if (ksa_guid_equal(tbl->sets[kind][i].guid, guid))
			return &tbl->sets[kind][i];
	return NULL;
}

/* Dispatch on the id, never on the position in the table. */
static const struct ksa_item *ksa_find_item(const struct ksa_set *set, u32 id)
{
	unsigned int i;

	for (i = 0; i < set->count; i++)
		if (set->items[i].id == id)
			return &set->items[i];
	return NULL;
}

/* Buffers of a user request are copies; a kernel client passes its own. */
static bool ksa_user_request(const struct ksa_request *req)
{
	return req->caller == KSA_ITEM_USER;
}

/* Point req->data at a zeroed buffer of @need bytes. */
static int ksa_data_reserve(struct ksa_call *call, u32 need)
{
	struct ksa_request *req = &call->req;

	if (!ksa_user_request(req))
		return 0;	/* the caller's buffer, size already checked */
	if (need <= sizeof(call->inline_data)) {
		/* need is most often a u64 (ALLOC's offset): no memset call */
		if (need <= sizeof(u64))
			call->inline_data[0] = 0;
		else
			memset(call->inline_data, 0, need);
		req->data = call->inline_data;
		return 0;
	}
	if (need > KSA_MAX_DATA)
		return -EINVAL;
	call->heap = kzalloc(need, GFP_KERNEL);
	if (!call->heap)
		return -ENOMEM;
	req->data = call->heap;
	return 0;
}

/* Copy the caller's value buffer in (SET, method READ, event enable). */
static int ksa_data_in(struct ksa_call *call, u32 len)
{
	struct ksa_request *req = &call->req;
	void __user *src = u64_to_user_ptr(req->data_addr);
	int ret;

	if (!ksa_user_request(req))
		return 0;
	/* A u64 (FREE's offset) without the copy's call and usercopy checks */
	if (len == sizeof(u64)) {
		req->data = call->inline_data;
		return get_user(call->inline_data[0], (u64 __user *)src);
	}
	ret = ksa_data_reserve(call, len);
	if (ret)
		return ret;
	if (copy_from_user(req->data, src, len))
		return -EFAULT;
	return 0;
}

static int ksa_setsupport(const struct ksa_automation *tbl, enum ksa_kind kind,
			  struct ksa_call *call)
{
	struct ksa_request *req = &call->req;
	struct ksguid *out;
	unsigned int i;
	u32 need;
	int ret;

	if (!ksa_guid_equal(&req->id.set, &ksa_guid_null))
		return ksa_find_set(tbl, kind, &req->id.set) ? 0 : -ENOENT;

	/* GUID_NULL asks for the list of supported sets. */
	need = tbl->nsets[kind] * sizeof(struct ksguid);
	if (req->data_size < need) {
		req->returned = need;
		return -EOVERFLOW;
	}
	ret = ksa_data_reserve(call, need);
	if (ret)
		return ret;
	out = req->data;
	for (i = 0; i < tbl->nsets[kind]; i++)
		out[i] = *tbl->sets[kind][i].guid;
	req->returned = need;
	return 0;
}

static int ksa_basicsupport(enum ksa_kind kind, const struct ksa_item *item,
			    struct ksa_call *call)
{
	struct ksa_request *req = &call->req;
	struct ksproperty_description *desc;
	int ret;

	/* For events, success alone says "supported". */
	if (kind == KSA_EVENT)
		return 0;

	if (req->data_size >= sizeof(*desc)) {
		ret = ksa_data_reserve(call, sizeof(*desc));
		if (ret)
			return ret;
		desc = req->data;
		memset(desc, 0, sizeof(*desc));
		desc->access_flags = item->support;
		desc->description_size = sizeof(*desc);
		if (item->vt) {
			desc->prop_type_set.set = ksa_typeset_general;
			desc->prop_type_set.id = item->vt;
		}
		req->returned = sizeof(*desc);
		return 0;
	}
	if (req->data_size >= sizeof(u32)) {
		ret = ksa_data_reserve(call, sizeof(u32));
		if (ret)
			return ret;
		*(u32 *)req->data = item->support;
		req->returned = sizeof(u32);
		return 0;
	}
	req->returned = sizeof(*desc);
	return -EOVERFLOW;
}

static int ksa_property(const struct ksa_item *item, struct ksa_call *call)
{
	struct ksa_request *req = &call->req;
	u32 op = req->id.flags & (KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET);
	u32 need;
	int ret;

	if (op != KSPROPERTY_TYPE_GET && op != KSPROPERTY_TYPE_SET)
		return -EINVAL;
	if (!(item->support & op))
		return -EOPNOTSUPP;

	if (op == KSPROPERTY_TYPE_SET) {
		/* The value to set is input: too short is a truncated request */
		if (req->data_size < item->data_size)
			return -EINVAL;
		ret = ksa_data_in(call, item->data_size);
		if (ret)
			return ret;
		return item->set(req);
	}

	need = item->data_size;
	if (item->size) {
		ret = item->size(req, &need);
		if (ret)
			return ret;
	}
	if (req->data_size < need) {
		req->returned = need;
		return -EOVERFLOW;
	}
	ret = ksa_data_reserve(call, need);
	if (ret)
		return ret;
	req->returned = need;
	return item->get(req);
}

static void ksa_method_u64_undo(struct ksa_request *req)
{
	req->undo_arg.item->undo_u64(req->file, *(u64 *)req->data);
}

/* A u64 method through the full path (ksa_method_fast() passed it on) */
static int ksa_method_u64_call(const struct ksa_item *item,
			       struct ksa_request *req)
{
	int ret = item->call_u64(req->file, req->data);

	if (!ret && item->undo_u64) {
		req->undo_arg.item = item;
		req->undo = ksa_method_u64_undo;
	}
	return ret;
}

static int ksa_method(const struct ksa_item *item, struct ksa_call *call)
{
	struct ksa_request *req = &call->req;
	u32 dir = item->support & KSMETHOD_TYPE_MODIFY;
	u32 need = item->data_size;
	int ret;

	/* Any type without a query bit executes (KSMETHOD_TYPE_SEND etc). */
	if (item->size) {
		ret = item->size(req, &need);
		if (ret)
			return ret;
	}
	if (req->data_size < need) {
		if (dir != KSMETHOD_TYPE_WRITE)
			return -EINVAL;
		req->returned = need;
		return -EOVERFLOW;
	}
	if (dir & KSMETHOD_TYPE_READ)
		ret = ksa_data_in(call, need);
	else
		ret = ksa_data_reserve(call, need);
	if (ret)
		return ret;
	req->returned = (dir & KSMETHOD_TYPE_WRITE) ? need : 0;
	if (item->call_u64)
		return ksa_method_u64_call(item, req);
	return item->call(req);
}

static int ksa_event(const struct ksa_item *item, struct ksa_call *call)
{
	struct ksa_request *req = &call->req;
	u32 op = req->id.flags & (KSEVENT_TYPE_ENABLE | KSEVENT_TYPE_ONESHOT);
	int ret;

	if (op != KSEVENT_TYPE_ENABLE && op != KSEVENT_TYPE_ONESHOT)
		return -EINVAL;
	if (req->data_size < sizeof(struct kseventdata))
		return -EINVAL;
	ret = ksa_data_in(call, sizeof(struct kseventdata));
	if (ret)
		return ret;
	return item->enable(req);
}

static int ksa_execute(const struct ksa_automation *tbl, enum ksa_kind kind,
		       struct ksa_call *call)
{
	const struct ksa_kind_flags *kf = &ksa_kind_flags[kind];
	struct ksa_request *req = &call->req;
	u32 flags = req->id.flags;
	const struct ksa_set *set;
	const struct ksa_item *item;

	if (flags & ~kf->known)
		return -EINVAL;
	if (flags & KSPROPERTY_TYPE_SETSUPPORT) {
		if (flags != KSPROPERTY_TYPE_SETSUPPORT)
			return -EINVAL;
		return ksa_setsupport(tbl, kind, call);
	}

	set = ksa_find_set(tbl, kind, &req->id.set);
	if (!set)
		return -ENOENT;
	item = ksa_find_item(set, req->id.id);
	if (!item)
		return -ENOENT;
	if (flags & kf->unsupported)
		return -EOPNOTSUPP;
	if (!(item->flags & req->caller))
		return -EOPNOTSUPP;
	if (req->open_flags && (!(item->flags & KSA_ITEM_RETURNS_FD) ||
				flags & KSPROPERTY_TYPE_BASICSUPPORT))
		return -EINVAL;

	if (flags & KSPROPERTY_TYPE_BASICSUPPORT) {
		if (flags != KSPROPERTY_TYPE_BASICSUPPORT)
			return -EINVAL;
		return ksa_basicsupport(kind, item, call);
	}

	if (item->min_input > sizeof(req->id)) {
		/* Items with parameters after the identifier (MinMethod) */
		if (req->in_size < item->min_input)
			return -EINVAL;
		if (ksa_user_request(req)) {
			memcpy(call->input, &req->id, sizeof(req->id));
			if (copy_from_user((u8 *)call->input + sizeof(req->id),
					   u64_to_user_ptr(req->in_addr +
							   sizeof(req->id)),
					   item->min_input - sizeof(req->id)))
				return -EFAULT;
			req->input = call->input;
		}
	}

	switch (kind) {
	case KSA_PROPERTY:
		return ksa_property(item, call);
	case KSA_METHOD:
		return ksa_method(item, call);
	default:
		return ksa_event(item, call);
	}
}

/* Requests that are not set/id lookups: DISABLE_EVENT, RESET_STATE, CREATE */
static int ksa_object_request(const struct ksa_automation *tbl,
			      unsigned int cmd, const struct ks_ioctl_args *args,
			      struct ksa_call *call)
{
	void __user *in = u64_to_user_ptr(args->in_buffer);
	struct ksa_request *req = &call->req;
	struct kseventdata ed;
	void *buf;
	u32 reset;
	int ret;

	/* Not a set/id request: no handler may see a stale identifier */
	memset(&req->id, 0, sizeof(req->id));
	switch (cmd) {
	case IOCTL_KS_DISABLE_EVENT:
		if (args->open_flags)
			return -EINVAL;
		/* No input disables every event of the object. */
		if (!args->in_size)
			return tbl->disable_event(req->file, 0, NULL);
		if (args->in_size < sizeof(ed))
			return -EINVAL;
		if (copy_from_user(&ed, in, sizeof(ed)))
			return -EFAULT;
		return tbl->disable_event(req->file, args->in_buffer, &ed);

	case IOCTL_KS_RESET_STATE:
		if (args->open_flags || args->in_size < sizeof(reset))
			return -EINVAL;
		if (get_user(reset, (u32 __user *)in))
			return -EFAULT;
		if (reset != KSRESET_BEGIN && reset != KSRESET_END)
			return -EINVAL;
		return tbl->reset(req->file, reset);

	default: /* IOCTL_KS_CREATE */
		if (args->in_size < sizeof(struct ksguid))
			return -EINVAL;
		if (req->data_size < sizeof(s64)) {
			req->returned = sizeof(s64);
			return -EOVERFLOW;
		}
		ret = ksa_data_reserve(call, sizeof(s64));
		if (ret)
			return ret;
		buf = memdup_user(in, args->in_size);
		if (IS_ERR(buf))
			return PTR_ERR(buf);
		ret = tbl->create(req, buf, args->in_size);
		kfree(buf);
		return ret;
	}
}

/*
 * The argument block, read in one user-access section that also makes sure
 * bytes_returned can be written back after the request took effect: it is
 * 0 until then.
 */
static int ksa_get_args(struct ks_ioctl_args __user *uarg,
			struct ks_ioctl_args *args)
{
	if (!user_access_begin(uarg, sizeof(*uarg)))
		return -EFAULT;
	unsafe_get_user(args->in_buffer, &uarg->in_buffer, efault);
	unsafe_get_user(args->out_buffer, &uarg->out_buffer, efault);
	unsafe_get_user(args->in_size, &uarg->in_size, efault);
	unsafe_get_user(args->out_size, &uarg->out_size, efault);
	unsafe_get_user(args->open_flags, &uarg->open_flags, efault);
	unsafe_get_user(args->reserved[0], &uarg->reserved[0], efault);
	unsafe_get_user(args->reserved[1], &uarg->reserved[1], efault);
	unsafe_put_user(0, &uarg->bytes_returned, efault);
	user_access_end();
	args->bytes_returned = 0;
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/* The identifier at the start of the input, without a copy call */
static int ksa_get_id(u64 addr, struct ksidentifier *id)
{
	struct ksidentifier __user *uid = u64_to_user_ptr(addr);

	if (!user_access_begin(uid, sizeof(*uid)))
		return -EFAULT;
	unsafe_get_user(id->set.align[0], &uid->set.align[0], efault);
	unsafe_get_user(id->set.align[1], &uid->set.align[1], efault);
	unsafe_get_user(id->id, &uid->id, efault);
	unsafe_get_user(id->flags, &uid->flags, efault);
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/* Copy the value out: a u64 (ALLOC's offset) without the usercopy checks */
static int ksa_data_out(const struct ksa_request *req)
{
	void __user *dst = u64_to_user_ptr(req->data_addr);

	if (req->returned == sizeof(u64))
		return put_user(*(u64 *)req->data, (u64 __user *)dst);
	if (copy_to_user(dst, req->data, req->returned))
		return -EFAULT;
	return 0;
}

/* ksa_method_fast() leaves the request to the full path */
#define KSA_FULL_PATH	1

/*
 * A u64 method (StreamAllocator ALLOC and FREE) in its common form: an
 * executing type, no open_flags, a value buffer of at least 8 bytes. It
 * goes straight to the handler, the value through get_user/put_user, with
 * no request built. Anything else returns KSA_FULL_PATH: the full path
 * makes every check and gives every error, so this one only needs to know
 * that none of them applies.
 */
static int ksa_method_fast(struct file *file,
			   const struct ksa_automation *tbl,
			   const struct ks_ioctl_args *args,
			   const struct ksidentifier *id,
			   u32 __user *ureturned)
{
	u64 __user *uvalue = u64_to_user_ptr(args->out_buffer);
	const struct ksa_item *item;
	const struct ksa_set *set;
	u64 value = 0;
	int ret;

	set = ksa_find_set(tbl, KSA_METHOD, &id->set);
	if (!set)
		return KSA_FULL_PATH;
	item = ksa_find_item(set, id->id);
	if (!item || !item->call_u64 || !(item->flags & KSA_ITEM_USER) ||
	    id->flags & ~KSMETHOD_TYPE_MODIFY || args->open_flags ||
	    args->out_size < sizeof(u64))
		return KSA_FULL_PATH;

	if (item->support & KSMETHOD_TYPE_READ && get_user(value, uvalue))
		return -EFAULT;
	ret = item->call_u64(file, &value);
	if (ret || !(item->support & KSMETHOD_TYPE_WRITE))
		return ret;
	if (put_user(value, uvalue) || put_user(sizeof(value), ureturned)) {
		/* The caller never saw the result: take the effect back. */
		if (item->undo_u64)
			item->undo_u64(file, value);
		return -EFAULT;
	}
	return 0;
}

/**
 * ksa_dispatch() - handle one KS ioctl on an object file
 * @file: the pin or allocator file
 * @tbl: the object type's automation table
 * @cmd: the ioctl number
 * @arg: user address of a struct ks_ioctl_args
 *
 * Return: 0 or a negative errno (see the table in the uapi header).
 */
long ksa_dispatch(struct file *file, const struct ksa_automation *tbl,
		  unsigned int cmd, unsigned long arg)
{
	struct ks_ioctl_args __user *uarg = (void __user *)arg;
	/* Both are set before use: no zeroing of 300 bytes per call */
	struct ks_ioctl_args args __uninitialized;
	struct ksa_call call __uninitialized;
	struct ksa_request *req = &call.req;
	enum ksa_kind kind;
	u32 returned;
	int ret;

	switch (cmd) {
	case IOCTL_KS_PROPERTY:
		kind = KSA_PROPERTY;
		break;
	case IOCTL_KS_METHOD:
		kind = KSA_METHOD;
		break;
	case IOCTL_KS_ENABLE_EVENT:
		kind = KSA_EVENT;
		break;
	case IOCTL_KS_DISABLE_EVENT:
		kind = KSA_KINDS;
		if (!tbl->disable_event)
			return -ENOTTY;
		break;
	case IOCTL_KS_RESET_STATE:
		kind = KSA_KINDS;
		if (!tbl->reset)
			return -ENOTTY;
		break;
	case IOCTL_KS_CREATE:
		kind = KSA_KINDS;
		if (!tbl->create)
			return -ENOTTY;
		break;
	default:
		return -ENOTTY;
	}

	ret = ksa_get_args(uarg, &args);
	if (ret)
		return ret;
	/* Nothing to clean up yet, and bytes_returned is 0: plain returns */
	if (args.reserved[0] || args.reserved[1] ||
	    args.open_flags & ~(O_CLOEXEC | O_NONBLOCK) ||
	    args.in_size > KS_MAX_IN_SIZE)
		return -EINVAL;
	if (kind != KSA_KINDS) {
		if (args.in_size < sizeof(req->id))
			return -EINVAL;
		ret = ksa_get_id(args.in_buffer, &req->id);
		if (ret)
			return ret;
		if (kind == KSA_METHOD) {
			ret = ksa_method_fast(file, tbl, &args, &req->id,
					      &uarg->bytes_returned);
			if (ret != KSA_FULL_PATH)
				return ret;
		}
	}

	req->file = file;
	req->object = file->private_data;
	req->input = &req->id;
	req->in_size = args.in_size;
	req->in_addr = args.in_buffer;
	req->data = NULL;
	req->data_size = args.out_size;
	req->data_addr = args.out_buffer;
	req->returned = 0;
	req->open_flags = args.open_flags;
	req->caller = KSA_ITEM_USER;
	req->undo = NULL;
	req->put_file = NULL;
	req->install_file = NULL;
	req->install_fd = -1;
	call.heap = NULL;

	if (kind == KSA_KINDS)
		ret = ksa_object_request(tbl, cmd, &args, &call);
	else
		ret = ksa_execute(tbl, kind, &call);

	if (ret && ret != -EOVERFLOW)
		req->returned = 0;
	if (!ret && req->returned && ksa_data_out(req))
		ret = -EFAULT;
	/* bytes_returned is 0 already (ksa_get_args()) */
	returned = ret == -EFAULT ? 0 : req->returned;
	if (returned && put_user(returned, &uarg->bytes_returned) &&
	    (!ret || ret == -EOVERFLOW))
		ret = -EFAULT;
	/* The caller never saw the result: take the side effect back. */
	if (ret && req->undo)
		req->undo(req);
	if (req->put_file)
		fput(req->put_file);

	/* Publishing an fd cannot be undone: only after every copy worked. */
	if (req->install_file) {
		if (!ret) {
			fd_install(req->install_fd, req->install_file);
		} else {
			put_unused_fd(req->install_fd);
			fput(req->install_file);
		}
	}
	if (unlikely(call.heap))
		kfree(call.heap);
	return ret;
}

/**
 * ksa_kernel_request() - a property, method or event request from the kernel
 * @file: the object's file
 * @tbl: the object type's automation table
 * @kind: property, method or event
 * @id: set, id and type flags
 * @data: kernel value buffer, in and out
 * @data_size: its size
 * @returned: bytes of @data written (or needed, on -EOVERFLOW)
 *
 * Kernel-only items (FUNCTIONTABLE) are served here and nowhere else.
 *
 * Return: 0 or a negative errno.
 */
int ksa_kernel_request(struct file *file, const struct ksa_automation *tbl,
		       enum ksa_kind kind, const struct ksidentifier *id,
		       void *data, u32 data_size, u32 *returned)
{
	struct ksa_call call = {
		.req = {
			.file = file,
			.object = file->private_data,
			.id = *id,
			.input = id,
			.in_size = sizeof(*id),
			.data = data,
			.data_size = data_size,
			.caller = KSA_ITEM_KERNEL,
			.install_fd = -1,
		},
	};
	int ret;

	if (kind >= KSA_KINDS)
		return -EINVAL;
	ret = ksa_execute(tbl, kind, &call);
	if (call.req.put_file)
		fput(call.req.put_file);
	*returned = call.req.returned;
	return ret;
}
