// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libksalloc: KS-shaped helpers over the ksalloc ioctls (see libksalloc.h).
 *
 * Everything here is a thin layer over <linux/ksalloc.h>: one ioctl per
 * request, no caching of kernel state, no global state. Arguments the
 * kernel would refuse anyway are checked here only where the kernel could
 * not tell (NULL with a non-zero size would be EFAULT there; here it is
 * the caller's bug, EINVAL) or where we compute something from them (a
 * frame pointer outside the mapping).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "libksalloc.h"

#ifndef KSA_PUBLIC
#define KSA_PUBLIC __attribute__((visibility("default")))
#endif

/* How often the size-query dance asks again when the size keeps growing */
#define KSA_SIZE_TRIES		8

static const struct ksguid ksa_null_guid = KSGUID_NULL;
static const struct ksguid ksa_name_allocator = KSNAME_Allocator;
static const struct ksguid ksa_name_allocator_ex = KSNAME_AllocatorEx;
static const struct ksguid ksa_name_ksalloc_allocator = KSNAME_KsallocAllocator;
static const struct ksguid ksa_stream = KSPROPSETID_Stream;
static const struct ksguid ksa_connection = KSPROPSETID_Connection;
static const struct ksguid ksa_ksalloc_pin = KSPROPSETID_KsallocPin;
static const struct ksguid ksa_alloc_props = KSPROPSETID_StreamAllocator;
static const struct ksguid ksa_alloc_events = KSEVENTSETID_StreamAllocator;
static const struct ksguid ksa_ksalloc_alloc = KSPROPSETID_KsallocAllocator;
static const struct ksguid ksa_batch = KSMETHODSETID_KsallocBatch;

/* ------------------------------------------------------------------ */

KSA_PUBLIC int ksa_open_pin_path(const char *path, int open_flags)
{
	int fd;

	if (!path)
		return -EINVAL;
	/* a pin is a read/write object whatever the caller asked for */
	open_flags = (open_flags & ~O_ACCMODE) | O_RDWR;
	fd = open(path, open_flags);
	return fd < 0 ? -errno : fd;
}

KSA_PUBLIC int ksa_open_pin(void)
{
	const char *path = getenv("KSALLOC_DEVICE");

	if (!path || !*path)
		path = KSA_DEVICE_PATH;
	return ksa_open_pin_path(path, O_RDWR | O_CLOEXEC);
}

KSA_PUBLIC int ksa_request(int fd, unsigned long cmd, const void *in,
			   uint32_t in_size, void *out, uint32_t out_size,
			   uint32_t open_flags, uint32_t *returned)
{
	struct ks_ioctl_args args;
	int ret;

	if (returned)
		*returned = 0;
	if ((in_size && !in) || (out_size && !out))
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	memset(&args, 0, sizeof(args));
	args.in_buffer = (uintptr_t)in;
	args.out_buffer = (uintptr_t)out;
	args.in_size = in_size;
	args.out_size = out_size;
	args.open_flags = open_flags;
	ret = ioctl(fd, cmd, &args);
	if (returned)
		*returned = args.bytes_returned;
	return ret < 0 ? -errno : 0;
}

static void ksa_ident(struct ksidentifier *k, const struct ksguid *set,
		      uint32_t id, uint32_t flags)
{
	memset(k, 0, sizeof(*k));
	k->set = *set;
	k->id = id;
	k->flags = flags;
}

static int ksa_ident_request(int fd, unsigned long cmd,
			     const struct ksguid *set, uint32_t id,
			     uint32_t flags, void *data, uint32_t size,
			     uint32_t *returned)
{
	struct ksidentifier k;

	if (returned)
		*returned = 0;
	if (!set)
		return -EINVAL;
	ksa_ident(&k, set, id, flags);
	return ksa_request(fd, cmd, &k, sizeof(k), data, size, 0, returned);
}

KSA_PUBLIC int ksa_property(int fd, const struct ksguid *set, uint32_t id,
			    uint32_t flags, void *data, uint32_t size,
			    uint32_t *returned)
{
	return ksa_ident_request(fd, IOCTL_KS_PROPERTY, set, id, flags, data,
				 size, returned);
}

KSA_PUBLIC int ksa_method(int fd, const struct ksguid *set, uint32_t id,
			  uint32_t flags, void *data, uint32_t size,
			  uint32_t *returned)
{
	return ksa_ident_request(fd, IOCTL_KS_METHOD, set, id, flags, data,
				 size, returned);
}

/*
 * Ask with no buffer; -EOVERFLOW says how much is needed; ask again with
 * that much. The value may grow between the two calls, hence the loop.
 */
static int ksa_size_dance(int fd, unsigned long cmd,
			  const struct ksidentifier *k, void **data,
			  uint32_t *size)
{
	uint32_t have = 0, got;
	void *buf = NULL;
	int ret, tries;

	for (tries = 0; tries < KSA_SIZE_TRIES; tries++) {
		ret = ksa_request(fd, cmd, k, sizeof(*k), buf, have, 0, &got);
		if (!ret) {
			if (!got) {
				free(buf);
				buf = NULL;
			}
			*data = buf;
			*size = got;
			return 0;
		}
		free(buf);
		buf = NULL;
		/* A size no larger than what we offered would loop forever */
		if (ret != -EOVERFLOW || got <= have)
			return ret;
		have = got;
		buf = malloc(have);
		if (!buf)
			return -ENOMEM;
	}
	free(buf);
	return -EOVERFLOW;
}

static int ksa_ident_alloc(int fd, unsigned long cmd, const struct ksguid *set,
			   uint32_t id, uint32_t flags, void **data,
			   uint32_t *size)
{
	struct ksidentifier k;

	if (!set || !data || !size)
		return -EINVAL;
	*data = NULL;
	*size = 0;
	ksa_ident(&k, set, id, flags);
	return ksa_size_dance(fd, cmd, &k, data, size);
}

KSA_PUBLIC int ksa_property_alloc(int fd, const struct ksguid *set, uint32_t id,
				  uint32_t flags, void **data, uint32_t *size)
{
	return ksa_ident_alloc(fd, IOCTL_KS_PROPERTY, set, id, flags, data,
			       size);
}

KSA_PUBLIC int ksa_method_alloc(int fd, const struct ksguid *set, uint32_t id,
				uint32_t flags, void **data, uint32_t *size)
{
	return ksa_ident_alloc(fd, IOCTL_KS_METHOD, set, id, flags, data, size);
}

KSA_PUBLIC int ksa_enable_event(int fd, const struct ksguid *set, uint32_t id,
				uint32_t flags, struct kseventdata *data)
{
	if (!data)
		return -EINVAL;
	return ksa_ident_request(fd, IOCTL_KS_ENABLE_EVENT, set, id, flags,
				 data, sizeof(*data), NULL);
}

KSA_PUBLIC int ksa_disable_event(int fd, const struct kseventdata *data)
{
	return ksa_request(fd, IOCTL_KS_DISABLE_EVENT, data,
			   data ? sizeof(*data) : 0, NULL, 0, 0, NULL);
}

KSA_PUBLIC int ksa_reset_state(int fd, uint32_t reset)
{
	return ksa_request(fd, IOCTL_KS_RESET_STATE, &reset, sizeof(reset),
			   NULL, 0, 0, NULL);
}

static unsigned long ksa_kind_cmd(enum ksa_kind kind)
{
	switch (kind) {
	case KSA_KIND_PROPERTY:
		return IOCTL_KS_PROPERTY;
	case KSA_KIND_METHOD:
		return IOCTL_KS_METHOD;
	case KSA_KIND_EVENT:
		return IOCTL_KS_ENABLE_EVENT;
	}
	return 0;
}

/* The SETSUPPORT and BASICSUPPORT bits are the same for all three kinds */
KSA_PUBLIC int ksa_set_supported(int fd, enum ksa_kind kind,
				 const struct ksguid *set)
{
	unsigned long cmd = ksa_kind_cmd(kind);

	if (!cmd || !set)
		return -EINVAL;
	return ksa_ident_request(fd, cmd, set, 0, KSPROPERTY_TYPE_SETSUPPORT,
				 NULL, 0, NULL);
}

KSA_PUBLIC int ksa_supported_sets(int fd, enum ksa_kind kind,
				  struct ksguid **sets, unsigned int *count)
{
	unsigned long cmd = ksa_kind_cmd(kind);
	void *data;
	uint32_t size;
	int ret;

	if (!cmd || !sets || !count)
		return -EINVAL;
	*sets = NULL;
	*count = 0;
	ret = ksa_ident_alloc(fd, cmd, &ksa_null_guid, 0,
			      KSPROPERTY_TYPE_SETSUPPORT, &data, &size);
	if (ret)
		return ret;
	if (size % sizeof(struct ksguid)) {
		free(data);
		return -EPROTO;
	}
	*sets = data;
	*count = size / sizeof(struct ksguid);
	return 0;
}

KSA_PUBLIC int ksa_basic_support(int fd, enum ksa_kind kind,
				 const struct ksguid *set, uint32_t id,
				 uint32_t *access,
				 struct ksproperty_description *desc)
{
	unsigned long cmd = ksa_kind_cmd(kind);
	struct ksproperty_description d;
	uint32_t got;
	int ret;

	if (!cmd || !set)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	if (kind == KSA_KIND_EVENT)
		ret = ksa_ident_request(fd, cmd, set, id,
					KSEVENT_TYPE_BASICSUPPORT, NULL, 0,
					&got);
	else
		ret = ksa_ident_request(fd, cmd, set, id,
					KSPROPERTY_TYPE_BASICSUPPORT, &d,
					sizeof(d), &got);
	if (ret)
		return ret;
	if (access)
		*access = d.access_flags;
	if (desc)
		*desc = d;
	return 0;
}

/* ------------------------------------------------------------------ */

static int ksa_create(int pin, const void *in, uint32_t in_size,
		      uint32_t open_flags, int *allocator_fd)
{
	__s64 handle = KS_NULL_HANDLE;
	int ret;

	ret = ksa_request(pin, IOCTL_KS_CREATE, in, in_size, &handle,
			  sizeof(handle), open_flags, NULL);
	if (ret)
		return ret;
	if (handle < 0 || handle > INT32_MAX)
		return -EPROTO;
	*allocator_fd = (int)handle;
	return 0;
}

KSA_PUBLIC int ksa_create_allocator(int pin,
				    const struct ksallocator_framing *framing,
				    uint32_t open_flags, int *allocator_fd)
{
	struct ksallocator_create c;

	if (!framing || !allocator_fd)
		return -EINVAL;
	*allocator_fd = -1;
	memset(&c, 0, sizeof(c));
	c.object_type = ksa_name_allocator;
	c.framing = *framing;
	return ksa_create(pin, &c, sizeof(c), open_flags, allocator_fd);
}

KSA_PUBLIC int ksa_create_allocator_flags(int pin,
					  const struct ksallocator_framing *framing,
					  uint32_t create_flags,
					  uint32_t open_flags, int *allocator_fd)
{
	struct ksalloc_allocator_create c;

	if (!framing || !allocator_fd)
		return -EINVAL;
	*allocator_fd = -1;
	memset(&c, 0, sizeof(c));
	c.object_type = ksa_name_ksalloc_allocator;
	c.framing = *framing;
	c.flags = create_flags;
	return ksa_create(pin, &c, sizeof(c), open_flags, allocator_fd);
}

KSA_PUBLIC int ksa_create_allocator_ex(int pin,
				       const struct ksallocator_framing_ex *framing_ex,
				       uint32_t open_flags, int *allocator_fd)
{
#ifdef KS_MAX_FRAMING_ITEMS
	size_t max_items = KS_MAX_FRAMING_ITEMS;
#else
	size_t max_items = (KS_MAX_IN_SIZE - sizeof(struct ksguid) - 24) /
			   sizeof(struct ks_framing_item);
#endif
	size_t size;
	uint8_t *in;
	int ret;

	if (!framing_ex || !allocator_fd)
		return -EINVAL;
	*allocator_fd = -1;
	if (!framing_ex->count_items || framing_ex->count_items > max_items)
		return -EINVAL;
	size = sizeof(struct ksguid) +
	       KSALLOCATOR_FRAMING_EX_SIZE(framing_ex->count_items);
	in = malloc(size);
	if (!in)
		return -ENOMEM;
	memcpy(in, &ksa_name_allocator_ex, sizeof(struct ksguid));
	memcpy(in + sizeof(struct ksguid), framing_ex,
	       size - sizeof(struct ksguid));
	ret = ksa_create(pin, in, size, open_flags, allocator_fd);
	free(in);
	return ret;
}

KSA_PUBLIC int ksa_allocator_status(int allocator_fd,
				    struct ksstreamallocator_status *st)
{
	if (!st)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	return ksa_property(allocator_fd, &ksa_alloc_props,
			    KSPROPERTY_STREAMALLOCATOR_STATUS,
			    KSPROPERTY_TYPE_GET, st, sizeof(*st), NULL);
}

KSA_PUBLIC int ksa_allocator_info(int allocator_fd,
				  struct ksalloc_allocator_info *info)
{
	if (!info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	return ksa_property(allocator_fd, &ksa_ksalloc_alloc,
			    KSPROPERTY_KSALLOC_ALLOCATOR_INFO,
			    KSPROPERTY_TYPE_GET, info, sizeof(*info), NULL);
}

/* ------------------------------------------------------------------ */

KSA_PUBLIC int ksa_pin_set_allocator(int pin, int allocator_fd)
{
	__s64 handle = allocator_fd < 0 ? KS_NULL_HANDLE : allocator_fd;

	return ksa_property(pin, &ksa_stream, KSPROPERTY_STREAM_ALLOCATOR,
			    KSPROPERTY_TYPE_SET, &handle, sizeof(handle), NULL);
}

KSA_PUBLIC int ksa_pin_get_allocator(int pin, uint32_t open_flags,
				     int *allocator_fd)
{
	struct ksidentifier k;
	__s64 handle = KS_NULL_HANDLE;
	int ret;

	if (!allocator_fd)
		return -EINVAL;
	*allocator_fd = -1;
	ksa_ident(&k, &ksa_ksalloc_pin, KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
		  KSPROPERTY_TYPE_GET);
	ret = ksa_request(pin, IOCTL_KS_PROPERTY, &k, sizeof(k), &handle,
			  sizeof(handle), open_flags, NULL);
	if (ret)
		return ret;
	if (handle < 0 || handle > INT32_MAX)
		return -EPROTO;
	*allocator_fd = (int)handle;
	return 0;
}

KSA_PUBLIC int ksa_pin_set_state(int pin, uint32_t state)
{
	return ksa_property(pin, &ksa_connection, KSPROPERTY_CONNECTION_STATE,
			    KSPROPERTY_TYPE_SET, &state, sizeof(state), NULL);
}

KSA_PUBLIC int ksa_pin_get_state(int pin, uint32_t *state)
{
	if (!state)
		return -EINVAL;
	return ksa_property(pin, &ksa_connection, KSPROPERTY_CONNECTION_STATE,
			    KSPROPERTY_TYPE_GET, state, sizeof(*state), NULL);
}

KSA_PUBLIC int ksa_pin_set_framing(int pin,
				   const struct ksallocator_framing *framing)
{
	struct ksallocator_framing f;

	if (!framing)
		return -EINVAL;
	f = *framing;		/* the value buffer is in/out: not const */
	return ksa_property(pin, &ksa_connection,
			    KSPROPERTY_CONNECTION_ALLOCATORFRAMING,
			    KSPROPERTY_TYPE_SET, &f, sizeof(f), NULL);
}

KSA_PUBLIC int ksa_pin_get_framing(int pin, struct ksallocator_framing *framing)
{
	if (!framing)
		return -EINVAL;
	return ksa_property(pin, &ksa_connection,
			    KSPROPERTY_CONNECTION_ALLOCATORFRAMING,
			    KSPROPERTY_TYPE_GET, framing, sizeof(*framing),
			    NULL);
}

KSA_PUBLIC int ksa_pin_get_framing_ex(int pin,
				      struct ksallocator_framing_ex **framing_ex,
				      uint32_t *size)
{
	void *data;
	uint32_t got;
	int ret;

	if (!framing_ex || !size)
		return -EINVAL;
	*framing_ex = NULL;
	*size = 0;
	ret = ksa_property_alloc(pin, &ksa_connection,
				 KSPROPERTY_CONNECTION_ALLOCATORFRAMING_EX,
				 KSPROPERTY_TYPE_GET, &data, &got);
	if (ret)
		return ret;
	if (got < KSALLOCATOR_FRAMING_EX_SIZE(1)) {
		free(data);
		return -EPROTO;
	}
	*framing_ex = data;
	*size = got;
	return 0;
}

/* ------------------------------------------------------------------ */

struct ksa_allocator {
	int fd;
	bool own_fd;
	uint8_t *base;		/* every frame, mapped MAP_SHARED */
	size_t map_size;
	uint32_t frames;
	uint32_t frame_size;
	uint32_t stride;
	uint64_t id;
};

KSA_PUBLIC int ksa_allocator_open(int allocator_fd, unsigned int flags,
				  struct ksa_allocator **allocator)
{
	struct ksalloc_allocator_info info;
	struct ksa_allocator *a;
	void *base;
	int ret;

	if (!allocator || flags & ~KSA_ALLOCATOR_OWN_FD)
		return -EINVAL;
	*allocator = NULL;
	ret = ksa_allocator_info(allocator_fd, &info);
	if (ret)
		return ret;
	if (!info.frames || !info.frame_stride ||
	    info.mmap_size != (uint64_t)info.frames * info.frame_stride ||
	    info.mmap_size > SIZE_MAX)
		return -EPROTO;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	base = mmap(NULL, info.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		    allocator_fd, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		free(a);
		return ret;
	}
	a->fd = allocator_fd;
	a->own_fd = flags & KSA_ALLOCATOR_OWN_FD;
	a->base = base;
	a->map_size = info.mmap_size;
	a->frames = info.frames;
	a->frame_size = info.frame_size;
	a->stride = info.frame_stride;
	a->id = info.id;
	*allocator = a;
	return 0;
}

KSA_PUBLIC int ksa_allocator_create(int pin,
				    const struct ksallocator_framing *framing,
				    uint32_t open_flags,
				    struct ksa_allocator **allocator)
{
	int fd, ret;

	if (!allocator)
		return -EINVAL;
	*allocator = NULL;
	ret = ksa_create_allocator(pin, framing, open_flags | O_CLOEXEC, &fd);
	if (ret)
		return ret;
	ret = ksa_allocator_open(fd, KSA_ALLOCATOR_OWN_FD, allocator);
	if (ret)
		close(fd);
	return ret;
}

KSA_PUBLIC void ksa_allocator_close(struct ksa_allocator *a)
{
	int saved = errno;

	if (!a)
		return;
	munmap(a->base, a->map_size);
	if (a->own_fd)
		close(a->fd);
	free(a);
	errno = saved;
}

KSA_PUBLIC int ksa_allocator_fd(const struct ksa_allocator *a)
{
	return a ? a->fd : -EINVAL;
}

KSA_PUBLIC uint32_t ksa_allocator_frames(const struct ksa_allocator *a)
{
	return a ? a->frames : 0;
}

KSA_PUBLIC uint32_t ksa_allocator_frame_size(const struct ksa_allocator *a)
{
	return a ? a->frame_size : 0;
}

KSA_PUBLIC uint32_t ksa_allocator_frame_stride(const struct ksa_allocator *a)
{
	return a ? a->stride : 0;
}

KSA_PUBLIC uint64_t ksa_allocator_id(const struct ksa_allocator *a)
{
	return a ? a->id : 0;
}

KSA_PUBLIC int64_t ksa_frame_offset(const struct ksa_allocator *a,
				    const void *frame)
{
	uintptr_t p = (uintptr_t)frame, base;

	if (!a || !frame) {
		errno = EINVAL;
		return -1;
	}
	base = (uintptr_t)a->base;
	if (p < base || p - base >= a->map_size || (p - base) % a->stride) {
		errno = EINVAL;
		return -1;
	}
	return (int64_t)(p - base);
}

KSA_PUBLIC void *ksa_frame_at(const struct ksa_allocator *a, uint64_t offset)
{
	if (!a || offset >= a->map_size || offset % a->stride) {
		errno = EINVAL;
		return NULL;
	}
	return a->base + offset;
}

KSA_PUBLIC int ksa_frame_export(struct ksa_allocator *a, const void *frame)
{
	int64_t offset = ksa_frame_offset(a, frame);
	struct ksalloc_frame_args args;

	if (offset < 0)
		return -EINVAL;
	memset(&args, 0, sizeof(args));
	args.offset = offset;
	args.fd_flags = O_CLOEXEC;
	if (ioctl(a->fd, IOCTL_KSALLOC_FRAME_EXPORT, &args))
		return -errno;
	return args.fd;
}

KSA_PUBLIC void *ksa_frame_alloc_dmabuf(struct ksa_allocator *a,
					unsigned int flags, int *dmabuf_fd)
{
	struct ksalloc_frame_args args;
	void *frame;

	if (dmabuf_fd)
		*dmabuf_fd = -1;
	if (!a || !dmabuf_fd || flags & ~KSA_FRAME_NONBLOCK) {
		errno = EINVAL;
		return NULL;
	}
	memset(&args, 0, sizeof(args));
	args.flags = KSALLOC_FRAMEF_DMABUF |
		     (flags & KSA_FRAME_NONBLOCK ? KSALLOC_FRAMEF_NOWAIT : 0);
	args.fd_flags = O_CLOEXEC;
	if (ioctl(a->fd, IOCTL_KSALLOC_FRAME_ALLOC, &args))
		return NULL;
	frame = ksa_frame_at(a, args.offset);
	if (!frame) {
		close(args.fd);
		errno = EPROTO;
		return NULL;
	}
	*dmabuf_fd = args.fd;
	return frame;
}

/* The batch method's input: the identifier and its parameters */
static int ksa_batch_request(int fd, uint32_t id, uint32_t count,
			     uint32_t flags, uint64_t *offsets,
			     uint32_t *returned)
{
	struct ksalloc_batch_method m;

	memset(&m, 0, sizeof(m));
	ksa_ident(&m.method, &ksa_batch, id, KSMETHOD_TYPE_SEND);
	m.count = count;
	m.flags = flags;
	return ksa_request(fd, IOCTL_KS_METHOD, &m, sizeof(m), offsets,
			   count * sizeof(uint64_t), 0, returned);
}

/* Sleep until the allocator has a free frame (or is being reset). */
static int ksa_wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, -1) < 0)
		return -errno;
	return 0;
}

/* One frame's offset: plain ALLOC, or a batch of one that never sleeps */
static int ksa_alloc_offset(struct ksa_allocator *a, unsigned int flags,
			    uint64_t *offset)
{
	uint32_t got;
	int ret;

	for (;;) {
		if (flags & KSA_FRAME_NONBLOCK) {
			ret = ksa_batch_request(a->fd,
						KSMETHOD_KSALLOC_BATCH_ALLOC, 1,
						KSALLOC_BATCHF_ALL_OR_NOTHING,
						offset, &got);
			if (!ret && got != sizeof(*offset))
				ret = -EPROTO;
		} else {
			/* ALLOC without the request framing: the fast call */
			ret = ioctl(a->fd, IOCTL_KSALLOC_ALLOC_FRAME, offset) ?
			      -errno : 0;
		}
		if (ret != -EAGAIN || !(flags & KSA_FRAME_WAIT))
			return ret;
		/* An O_NONBLOCK fd, and the caller wants to wait anyway */
		ret = ksa_wait_readable(a->fd);
		if (ret)
			return ret;
	}
}

static int ksa_check_frame_flags(unsigned int flags, unsigned int valid)
{
	if (flags & ~valid)
		return -EINVAL;
	if ((flags & KSA_FRAME_NONBLOCK) && (flags & KSA_FRAME_WAIT))
		return -EINVAL;
	return 0;
}

KSA_PUBLIC void *ksa_frame_alloc(struct ksa_allocator *a, unsigned int flags)
{
	uint64_t offset;
	void *frame;
	int ret;

	if (!a) {
		errno = EINVAL;
		return NULL;
	}
	ret = ksa_check_frame_flags(flags, KSA_FRAME_NONBLOCK | KSA_FRAME_WAIT);
	if (!ret)
		ret = ksa_alloc_offset(a, flags, &offset);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	frame = ksa_frame_at(a, offset);
	if (!frame)
		errno = EPROTO;
	return frame;
}

KSA_PUBLIC int ksa_frame_free(struct ksa_allocator *a, void *frame)
{
	int64_t offset = ksa_frame_offset(a, frame);
	uint64_t value;

	if (offset < 0)
		return -EINVAL;
	value = offset;
	return ioctl(a->fd, IOCTL_KSALLOC_FREE_FRAME, &value) ? -errno : 0;
}

KSA_PUBLIC int ksa_frame_alloc_batch(struct ksa_allocator *a, void **frames,
				     unsigned int count, unsigned int flags)
{
	uint64_t offsets[KSALLOC_BATCH_MAX];
	uint32_t got = 0, i, n = 0, want;
	int ret;

	if (!a || !frames || !count || count > KSALLOC_BATCH_MAX)
		return -EINVAL;
	ret = ksa_check_frame_flags(flags, KSA_FRAME_NONBLOCK | KSA_FRAME_WAIT |
				    KSA_FRAME_ALL_OR_NOTHING);
	/* Waiting for @count at once would spin while fewer are free */
	if (!ret && (flags & KSA_FRAME_WAIT) &&
	    (flags & KSA_FRAME_ALL_OR_NOTHING))
		ret = -EINVAL;
	if (ret)
		return ret;

	if (flags & KSA_FRAME_ALL_OR_NOTHING) {
		ret = ksa_batch_request(a->fd, KSMETHOD_KSALLOC_BATCH_ALLOC,
					count, KSALLOC_BATCHF_ALL_OR_NOTHING,
					offsets, &got);
		n = got / sizeof(uint64_t);
	} else if (flags & KSA_FRAME_NONBLOCK) {
		/*
		 * The kernel sleeps whenever a plain batch finds nothing
		 * free, so a batch that must not sleep is all-or-nothing:
		 * try for everything (at most the whole pool), then take
		 * what there is one frame at a time.
		 */
		want = count < a->frames ? count : a->frames;
		ret = ksa_batch_request(a->fd, KSMETHOD_KSALLOC_BATCH_ALLOC,
					want, KSALLOC_BATCHF_ALL_OR_NOTHING,
					offsets, &got);
		n = got / sizeof(uint64_t);
		if (ret == -EAGAIN) {
			for (n = 0; n < want; n++) {
				ret = ksa_batch_request(a->fd,
							KSMETHOD_KSALLOC_BATCH_ALLOC,
							1, KSALLOC_BATCHF_ALL_OR_NOTHING,
							&offsets[n], &got);
				if (ret)
					break;
			}
			if (n)
				ret = 0;
		}
	} else {
		for (;;) {
			ret = ksa_batch_request(a->fd,
						KSMETHOD_KSALLOC_BATCH_ALLOC,
						count, 0, offsets, &got);
			n = got / sizeof(uint64_t);
			if (ret != -EAGAIN || !(flags & KSA_FRAME_WAIT))
				break;
			/* an O_NONBLOCK fd, and the caller wants to wait */
			ret = ksa_wait_readable(a->fd);
			if (ret)
				return ret;
		}
	}
	if (ret)
		return ret;
	if (!n || n > count)
		return -EPROTO;
	for (i = 0; i < n; i++) {
		frames[i] = ksa_frame_at(a, offsets[i]);
		if (!frames[i])
			return -EPROTO;
	}
	return n;
}

KSA_PUBLIC int ksa_frame_free_batch(struct ksa_allocator *a,
				    void *const *frames, unsigned int count)
{
	uint64_t offsets[KSALLOC_BATCH_MAX];
	unsigned int i;
	int64_t off;

	if (!a || !frames || !count || count > KSALLOC_BATCH_MAX)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		off = ksa_frame_offset(a, frames[i]);
		if (off < 0)
			return -EINVAL;
		offsets[i] = off;
	}
	return ksa_batch_request(a->fd, KSMETHOD_KSALLOC_BATCH_FREE, count, 0,
				 offsets, NULL);
}

/* ------------------------------------------------------------------ */

struct ksa_event {
	int fd;			/* our own fd of the object */
	int efd;		/* the eventfd the kernel signals */
	bool oneshot;
	/* KS identifies the event by this structure's address */
	struct kseventdata data;
};

KSA_PUBLIC int ksa_event_enable(int fd, const struct ksguid *set, uint32_t id,
				unsigned int flags, int32_t adjustment,
				struct ksa_event **event)
{
	struct ksa_event *ev;
	int ret;

	if (!set || !event ||
	    flags & ~(KSA_EVENT_ONESHOT | KSA_EVENT_SEMAPHORE) ||
	    (adjustment && !(flags & KSA_EVENT_SEMAPHORE)))
		return -EINVAL;
	*event = NULL;
	if (fd < 0)
		return -EBADF;
	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->oneshot = flags & KSA_EVENT_ONESHOT;
	/*
	 * A private fd of the object keeps ksa_event_disable() working
	 * after the caller closed or reused its own.
	 */
	ev->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (ev->fd < 0) {
		ret = -errno;
		free(ev);
		return ret;
	}
	ev->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ev->efd < 0) {
		ret = -errno;
		goto err;
	}
	if (flags & KSA_EVENT_SEMAPHORE) {
		ev->data.notification_type = KSEVENTF_SEMAPHORE_HANDLE;
		ev->data.semaphore_handle.semaphore = ev->efd;
		ev->data.semaphore_handle.adjustment = adjustment;
	} else {
		ev->data.notification_type = KSEVENTF_EVENT_HANDLE;
		ev->data.event_handle.event = ev->efd;
	}
	ret = ksa_enable_event(ev->fd, set, id,
			       ev->oneshot ? KSEVENT_TYPE_ONESHOT :
					     KSEVENT_TYPE_ENABLE,
			       &ev->data);
	if (ret)
		goto err;
	*event = ev;
	return 0;

err:
	if (ev->efd >= 0)
		close(ev->efd);
	close(ev->fd);
	free(ev);
	return ret;
}

KSA_PUBLIC int ksa_freeframe_enable(int allocator_fd, unsigned int flags,
				    struct ksa_event **event)
{
	return ksa_event_enable(allocator_fd, &ksa_alloc_events,
				KSEVENT_STREAMALLOCATOR_FREEFRAME, flags, 0,
				event);
}

KSA_PUBLIC int ksa_event_fd(const struct ksa_event *ev)
{
	return ev ? ev->efd : -EINVAL;
}

static int64_t ksa_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

KSA_PUBLIC int ksa_event_wait(struct ksa_event *ev, int timeout_ms,
			      uint64_t *count)
{
	int64_t deadline = 0, left = timeout_ms;
	struct pollfd p;
	uint64_t v;
	int n;

	if (!ev)
		return -EINVAL;
	if (timeout_ms >= 0)
		deadline = ksa_now_ms() + timeout_ms;
	for (;;) {
		p.fd = ev->efd;
		p.events = POLLIN;
		p.revents = 0;
		n = poll(&p, 1, timeout_ms < 0 ? -1 : (int)left);
		if (n < 0)
			return -errno;
		if (n > 0) {
			if (read(ev->efd, &v, sizeof(v)) == sizeof(v)) {
				if (count)
					*count = v;
				return 0;
			}
			/* another reader was first: keep waiting */
			if (errno != EAGAIN)
				return -errno;
		}
		if (timeout_ms >= 0) {
			left = deadline - ksa_now_ms();
			if (left <= 0)
				return -ETIMEDOUT;
		}
	}
}

KSA_PUBLIC int ksa_event_disable(struct ksa_event *ev)
{
	int ret;

	if (!ev)
		return 0;
	ret = ksa_disable_event(ev->fd, &ev->data);
	/* A one-shot event that fired was disabled by the kernel. */
	if (ret == -ENOENT && ev->oneshot)
		ret = 0;
	close(ev->efd);
	close(ev->fd);
	free(ev);
	return ret;
}

/* ------------------------------------------------------------------ */

/* NTSTATUS values (ntstatus.h) */
#define KSA_STATUS_SUCCESS			0x00000000u
#define KSA_STATUS_ALERTED			0x00000101u
#define KSA_STATUS_TIMEOUT			0x00000102u
#define KSA_STATUS_PENDING			0x00000103u
#define KSA_STATUS_BUFFER_OVERFLOW		0x80000005u
#define KSA_STATUS_UNSUCCESSFUL			0xC0000001u
#define KSA_STATUS_ACCESS_VIOLATION		0xC0000005u
#define KSA_STATUS_INVALID_HANDLE		0xC0000008u
#define KSA_STATUS_INVALID_PARAMETER		0xC000000Du
#define KSA_STATUS_NO_SUCH_DEVICE		0xC000000Eu
#define KSA_STATUS_INVALID_DEVICE_REQUEST	0xC0000010u
#define KSA_STATUS_ACCESS_DENIED		0xC0000022u
#define KSA_STATUS_INSUFFICIENT_RESOURCES	0xC000009Au
#define KSA_STATUS_NOT_SUPPORTED		0xC00000BBu
#define KSA_STATUS_TOO_MANY_OPENED_FILES	0xC000011Fu
#define KSA_STATUS_CANCELLED			0xC0000120u
#define KSA_STATUS_INVALID_DEVICE_STATE		0xC0000184u
#define KSA_STATUS_NOT_FOUND			0xC0000225u
#define KSA_STATUS_PROPSET_NOT_FOUND		0xC0000230u

/*
 * The errno table of <linux/ksalloc.h>, in its order, then what the
 * library and open() add. The text starts with the KS status name(s).
 */
static const struct {
	int err;
	uint32_t status;
	const char *text;
} ksa_errors[] = {
	{ 0, KSA_STATUS_SUCCESS, "STATUS_SUCCESS: success" },
	{ ENOENT, KSA_STATUS_PROPSET_NOT_FOUND,
	  "STATUS_PROPSET_NOT_FOUND / STATUS_NOT_FOUND: unknown set or id "
	  "(or no such object, event or device node)" },
	{ EOPNOTSUPP, KSA_STATUS_NOT_SUPPORTED,
	  "STATUS_NOT_SUPPORTED / STATUS_INVALID_DEVICE_REQUEST: the item "
	  "does not support this request type, or is kernel-only" },
	{ EOVERFLOW, KSA_STATUS_BUFFER_OVERFLOW,
	  "STATUS_BUFFER_OVERFLOW / STATUS_BUFFER_TOO_SMALL: output buffer "
	  "too small (bytes_returned holds the size needed), or frames x "
	  "frame_size overflows" },
	{ EINVAL, KSA_STATUS_INVALID_PARAMETER,
	  "STATUS_INVALID_PARAMETER / STATUS_INVALID_BUFFER_SIZE / "
	  "STATUS_OBJECT_TYPE_MISMATCH: invalid argument, size, flag, value "
	  "or kind of fd" },
	{ EBADF, KSA_STATUS_INVALID_HANDLE,
	  "STATUS_INVALID_HANDLE: not an open file descriptor" },
	{ EFAULT, KSA_STATUS_ACCESS_VIOLATION,
	  "STATUS_ACCESS_VIOLATION: bad buffer address" },
	{ EAGAIN, KSA_STATUS_PENDING, "STATUS_PENDING: no frame free" },
	{ ECANCELED, KSA_STATUS_CANCELLED,
	  "STATUS_CANCELLED: cancelled by KSRESET_BEGIN, or a waiting "
	  "io_uring ALLOC cancelled (its ring closed)" },
	{ EBUSY, KSA_STATUS_INVALID_DEVICE_STATE,
	  "STATUS_INVALID_DEVICE_STATE: not allowed in the current state "
	  "(e.g. allocator set outside KSSTATE_STOP)" },
	{ ENOMEM, KSA_STATUS_INSUFFICIENT_RESOURCES,
	  "STATUS_INSUFFICIENT_RESOURCES: out of memory or over a module cap" },
	{ ENOTTY, KSA_STATUS_INVALID_DEVICE_REQUEST,
	  "STATUS_INVALID_DEVICE_REQUEST: request not known to this object "
	  "(unknown ioctl, or not a ksalloc fd)" },
	/* not in the uapi table: other kernel and library errors */
	{ ENOSPC, KSA_STATUS_INSUFFICIENT_RESOURCES,
	  "STATUS_INSUFFICIENT_RESOURCES: too many events enabled" },
	{ EINTR, KSA_STATUS_ALERTED,
	  "STATUS_ALERTED: interrupted by a signal" },
	{ ETIMEDOUT, KSA_STATUS_TIMEOUT, "STATUS_TIMEOUT: the wait timed out" },
	{ ENODEV, KSA_STATUS_NO_SUCH_DEVICE,
	  "STATUS_NO_SUCH_DEVICE: no ksalloc device (module not loaded?)" },
	{ ENXIO, KSA_STATUS_NO_SUCH_DEVICE,
	  "STATUS_NO_SUCH_DEVICE: no ksalloc device (module not loaded?)" },
	{ EACCES, KSA_STATUS_ACCESS_DENIED,
	  "STATUS_ACCESS_DENIED: permission denied" },
	{ EPERM, KSA_STATUS_ACCESS_DENIED,
	  "STATUS_ACCESS_DENIED: operation not permitted" },
	{ EMFILE, KSA_STATUS_TOO_MANY_OPENED_FILES,
	  "STATUS_TOO_MANY_OPENED_FILES: out of file descriptors" },
	{ ENFILE, KSA_STATUS_TOO_MANY_OPENED_FILES,
	  "STATUS_TOO_MANY_OPENED_FILES: system file table full" },
	{ EPROTO, KSA_STATUS_UNSUCCESSFUL,
	  "STATUS_UNSUCCESSFUL: the kernel answered something unexpected "
	  "(library and module versions differ?)" },
};

#define KSA_N_ERRORS (sizeof(ksa_errors) / sizeof(ksa_errors[0]))

KSA_PUBLIC const char *ksa_strerror(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < KSA_N_ERRORS; i++)
		if (ksa_errors[i].err == err)
			return ksa_errors[i].text;
	/* EWOULDBLOCK == EAGAIN and ENOTSUP == EOPNOTSUPP on Linux */
	return "STATUS_UNSUCCESSFUL: error not in the ksalloc table "
	       "(see strerror)";
}

KSA_PUBLIC uint32_t ksa_ntstatus(int err)
{
	size_t i;

	if (err < 0)
		err = -err;
	for (i = 0; i < KSA_N_ERRORS; i++)
		if (ksa_errors[i].err == err)
			return ksa_errors[i].status;
	return KSA_STATUS_UNSUCCESSFUL;
}
