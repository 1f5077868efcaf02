/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KS automation tables: objects describe their property, method and event
 * sets declaratively; one dispatcher validates requests, answers
 * BASICSUPPORT / SETSUPPORT / size queries from the tables and calls the
 * item handlers with kernel copies of the value buffer.
 */
#ifndef _KSA_AUTOMATION_H
#define _KSA_AUTOMATION_H

#include <linux/build_bug.h>
#include <linux/kernel.h>
#include <linux/types.h>
#include <linux/ksalloc.h>

struct file;

enum ksa_kind {
	KSA_PROPERTY,
	KSA_METHOD,
	KSA_EVENT,
	KSA_KINDS
};

/*
 * Who may issue a request for an item: item flags, and the caller of one
 * request (exactly one of the two). Kernel clients issue properties only
 * (ksalloc_property()), so methods and events are user space's.
 */
#define KSA_ITEM_USER		0x1	/* user space, through the ioctls */
#define KSA_ITEM_KERNEL		0x2	/* kernel clients (ksalloc_property()) */
#define KSA_ITEM_ANY		(KSA_ITEM_USER | KSA_ITEM_KERNEL)
#define KSA_ITEM_RETURNS_FD	0x4	/* may publish an fd (open_flags) */

/* One request on its way through the dispatcher. */
struct ksa_request {
	struct file *file;		/* the object's file */
	void *object;			/* file->private_data */
	struct ksidentifier id;
	const void *input;		/* the whole input, identifier first */
	u32 in_size;			/* its size */
	u64 in_addr;			/* caller's address of the input */
	void *data;			/* kernel copy of the value buffer */
	u32 data_size;			/* size of the caller's value buffer */
	u32 returned;			/* bytes of data valid for the caller */
	u32 open_flags;			/* O_CLOEXEC / O_NONBLOCK for new fds */
	u32 caller;			/* KSA_ITEM_USER or KSA_ITEM_KERNEL */
	u64 data_addr;			/* caller's address of the value buffer */
	/*
	 * Set by a handler whose effect must be undone if the result cannot
	 * be written back after all (bytes_returned is checked writable
	 * before any handler runs, but another thread may unmap it), with
	 * what it needs for that.
	 */
	void (*undo)(struct ksa_request *req);
	union {
		u64 seq;		/* ENABLE_EVENT: the event */
		u32 state;		/* CONNECTION_STATE: the old one */
		struct file *file;	/* STREAM_ALLOCATOR: the new one */
		const struct ksa_item *item;	/* a u64 method (->undo_u64) */
	} undo_arg;
	struct file *put_file;		/* a reference dropped when done */
	/* an fd to publish once everything was copied out */
	struct file *install_file;
	int install_fd;
};

typedef int (*ksa_handler_fn)(struct ksa_request *req);

/*
 * A method whose value is one u64 (in, out or both) and that has no
 * parameters: it is given the object's file and the value only, so that
 * the dispatcher can run it without building a request (ksa_dispatch()).
 * The undo takes a successful call back when its result cannot be
 * written to the caller.
 */
typedef int (*ksa_u64_fn)(struct file *file, u64 *value);
typedef void (*ksa_u64_undo_fn)(struct file *file, u64 value);

/*
 * Largest MinProperty/MinMethod of any item: the dispatcher copies an
 * item's parameters into an on-stack buffer of this size. Every item's
 * min_input is KSA_MIN_INPUT(its parameters' type), which refuses to
 * build above it.
 */
#define KSA_MAX_INPUT		64
#define KSA_MIN_INPUT(type)						\
	(sizeof(type) + BUILD_BUG_ON_ZERO(sizeof(type) > KSA_MAX_INPUT))

/*
 * One item of a set. Exactly the handlers of its kind are set: .get and
 * .set for a property, .call (or .call_u64) for a method, .enable for an event. Items
 * are written with the KSA_* macros below, never open-coded, so that
 * min_input is always checked at build time.
 */
struct ksa_item {
	u32 id;
	u32 support;		/* KS*_TYPE_* the item handles */
	u32 data_size;		/* MinData, or the size .size computes */
	u32 min_input;		/* MinProperty/MinMethod if above 24 */
	u16 vt;			/* value type for BASICSUPPORT */
	u16 flags;		/* KSA_ITEM_* */
	ksa_handler_fn get;	/* property GET */
	ksa_handler_fn set;	/* property SET */
	ksa_handler_fn call;	/* method execution */
	ksa_u64_fn call_u64;	/* or that of a u64 method */
	ksa_u64_undo_fn undo_u64;	/* its undo, if it has an effect */
	ksa_handler_fn enable;	/* event enable */
	/* variable value size of a GET or method, from the input */
	int (*size)(struct ksa_request *req, u32 *need);
};

struct ksa_set {
	const struct ksguid *guid;
	const struct ksa_item *items;
	unsigned int count;
};

/* What an object type answers; NULL handlers are -ENOTTY. */
struct ksa_automation {
	const struct ksa_set *sets[KSA_KINDS];
	unsigned int nsets[KSA_KINDS];
	int (*disable_event)(struct file *file, u64 addr,
			     const struct kseventdata *data);
	int (*reset)(struct file *file, u32 reset);
	int (*create)(struct ksa_request *req, const void *in, u32 in_size);
};

/*
 * The set of an item table. The table is named twice, which ARRAY_SIZE()
 * makes safe (it builds for nothing but an array); it is passed as the
 * variadic argument because checkpatch cannot see that.
 */
#define KSA_SET(_guid, ...)						\
	{ .guid = &(_guid), .items = (__VA_ARGS__),			\
	  .count = ARRAY_SIZE(__VA_ARGS__) }

/* A property of fixed size, Get only / Get and Set */
#define KSA_PROPERTY_GET(_id, _get, _size, _vt)				\
	{ .id = (_id), .get = (_get), .data_size = (_size), .vt = (_vt),	\
	  .support = KSPROPERTY_TYPE_GET, .flags = KSA_ITEM_ANY }

#define KSA_PROPERTY_GETSET(_id, _get, _set, _size, _vt)		\
	{ .id = (_id), .get = (_get), .set = (_set), .data_size = (_size), \
	  .vt = (_vt), .support = KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET, \
	  .flags = KSA_ITEM_ANY }

/* A Get whose value size _sizefn computes */
#define KSA_PROPERTY_GET_SIZED(_id, _get, _sizefn, _vt)		\
	{ .id = (_id), .get = (_get), .size = (_sizefn), .vt = (_vt),	\
	  .support = KSPROPERTY_TYPE_GET, .flags = KSA_ITEM_ANY }

/* A Get for kernel clients only (no value type: not a user-space value) */
#define KSA_PROPERTY_GET_KERNEL(_id, _get, _size)			\
	{ .id = (_id), .get = (_get), .data_size = (_size),		\
	  .support = KSPROPERTY_TYPE_GET, .flags = KSA_ITEM_KERNEL }

/* A Get that returns a new fd (__s64): user space only */
#define KSA_PROPERTY_GET_FD(_id, _get)					\
	{ .id = (_id), .get = (_get), .data_size = sizeof(s64),	\
	  .vt = KS_VT_I8, .support = KSPROPERTY_TYPE_GET,		\
	  .flags = KSA_ITEM_USER | KSA_ITEM_RETURNS_FD }

/* A method whose value is one u64 (ksa_u64_fn) */
#define KSA_METHOD_U64(_id, _call, _undo, _type)			\
	{ .id = (_id), .call_u64 = (_call), .undo_u64 = (_undo),	\
	  .support = (_type), .data_size = sizeof(u64), .vt = KS_VT_UI8, \
	  .flags = KSA_ITEM_USER }

/* A method that may return a new fd in its value: user space only */
#define KSA_METHOD_FD(_id, _call, _type, _size, _vt)			\
	{ .id = (_id), .call = (_call), .support = (_type),		\
	  .data_size = (_size), .vt = (_vt),				\
	  .flags = KSA_ITEM_USER | KSA_ITEM_RETURNS_FD }

/* A method with parameters after the identifier (struct _params) */
#define KSA_METHOD_PARAMS(_id, _call, _type, _params, _sizefn, _vt)	\
	{ .id = (_id), .call = (_call), .support = (_type),		\
	  .min_input = KSA_MIN_INPUT(_params),				\
	  .size = (_sizefn), .vt = (_vt), .flags = KSA_ITEM_USER }

#define KSA_EVENT_ITEM(_id, _enable)					\
	{ .id = (_id), .enable = (_enable),				\
	  .support = KSEVENT_TYPE_ENABLE | KSEVENT_TYPE_ONESHOT,	\
	  .data_size = sizeof(struct kseventdata), .flags = KSA_ITEM_USER }

long ksa_dispatch(struct file *file, const struct ksa_automation *tbl,
		  unsigned int cmd, unsigned long arg);
int ksa_kernel_request(struct file *file, const struct ksa_automation *tbl,
		       enum ksa_kind kind, const struct ksidentifier *id,
		       void *data, u32 data_size, u32 *returned);

/* Two u64 compares, inline: the set lookup makes one per set it passes */
static inline bool ksa_guid_equal(const struct ksguid *a,
				  const struct ksguid *b)
{
	return a->align[0] == b->align[0] && a->align[1] == b->align[1];
}

#endif /* _KSA_AUTOMATION_H */
