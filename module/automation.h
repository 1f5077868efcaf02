/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KS automation tables: objects describe their property, method and event
 * sets declaratively; one dispatcher validates requests, answers
 * BASICSUPPORT / SETSUPPORT / size queries from the tables and calls the
 * item handlers with kernel copies of the value buffer.
 */
#ifndef _KSA_AUTOMATION_H
#define _KSA_AUTOMATION_H

#include <linux/types.h>
#include <linux/ksalloc.h>

struct file;

enum ksa_kind {
	KSA_PROPERTY,
	KSA_METHOD,
	KSA_EVENT,
	KSA_KINDS
};

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
	u64 data_addr;			/* caller's address of the value buffer */
	bool kernel;			/* in-kernel caller: kernel-only items */
	/* set by a handler whose effect must be undone if copy-out fails */
	void (*undo)(struct ksa_request *req);
	/* an fd to publish once everything was copied out */
	struct file *install_file;
	int install_fd;
};

typedef int (*ksa_handler_fn)(struct ksa_request *req);

/* Item flags */
#define KSA_ITEM_KERNEL_ONLY	0x1	/* refused from user space */
#define KSA_ITEM_RETURNS_FD	0x2	/* may publish an fd (open_flags) */

struct ksa_item {
	u32 id;
	u32 support;		/* KS*_TYPE_* the item handles */
	u32 data_size;		/* MinData, or the size .size computes */
	u32 min_input;		/* MinProperty/MinMethod if above 24 */
	u16 vt;			/* value type for BASICSUPPORT */
	u16 flags;		/* KSA_ITEM_* */
	ksa_handler_fn get;	/* GET, method call, event enable */
	ksa_handler_fn set;	/* SET */
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

#define KSA_SET(_guid, _items)						\
	{ .guid = &(_guid), .items = (_items),				\
	  .count = sizeof(_items) / sizeof((_items)[0]) }

#define KSA_PROPERTY_GET(_id, _get, _size, _vt)				\
	{ .id = (_id), .get = (_get), .data_size = (_size), .vt = (_vt),	\
	  .support = KSPROPERTY_TYPE_GET }

#define KSA_PROPERTY_GETSET(_id, _get, _set, _size, _vt)		\
	{ .id = (_id), .get = (_get), .set = (_set), .data_size = (_size), \
	  .vt = (_vt),							\
	  .support = KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET }

#define KSA_METHOD_ITEM(_id, _fn, _type, _size, _vt)			\
	{ .id = (_id), .get = (_fn), .support = (_type),		\
	  .data_size = (_size), .vt = (_vt) }

#define KSA_EVENT_ITEM(_id, _fn)					\
	{ .id = (_id), .get = (_fn),					\
	  .support = KSEVENT_TYPE_ENABLE | KSEVENT_TYPE_ONESHOT,	\
	  .data_size = sizeof(struct kseventdata) }

long ksa_dispatch(struct file *file, const struct ksa_automation *tbl,
		  unsigned int cmd, unsigned long arg);
int ksa_kernel_request(struct file *file, const struct ksa_automation *tbl,
		       enum ksa_kind kind, const struct ksidentifier *id,
		       void *data, u32 data_size, u32 *returned);
bool ksa_guid_equal(const struct ksguid *a, const struct ksguid *b);

#endif /* _KSA_AUTOMATION_H */
