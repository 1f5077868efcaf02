// SPDX-License-Identifier: GPL-2.0
/*
 * The KS automation core: how property, method and event requests are
 * validated and answered, for every item of the pin's and the allocator's
 * tables.
 *
 * - item fixture, one variant per table item (the batch methods with a
 *   count of 1): the types the item supports work, the ones KS defines but
 *   the item does not are EOPNOTSUPP, bits KS does not define are EINVAL;
 *   BASICSUPPORT at every buffer size; size queries; truncated input;
 *   SETSUPPORT; unknown ids; open_flags.
 * - obj fixture, pin and allocator: SETSUPPORT lists, unknown sets, the
 *   ks_ioctl_args checks (sizes, reserved fields, bad pointers), unknown
 *   ioctl numbers, RESET_STATE / DISABLE_EVENT / CREATE input checks.
 * - the uapi layouts (static_assert) and set GUIDs against their strings.
 *
 * Every call pre-fills bytes_returned with 0xdeadbeef and output buffers
 * with a pattern, so a test sees exactly what the kernel wrote back.
 *
 * Built 64-bit and as automation-m32, which goes through compat_ioctl.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/ksalloc.h>

#include "ksa_test.h"
#include "kselftest_harness.h"

#define PATTERN		0xa5
#define DEADBEEF	0xdeadbeefu

/* ---- The uapi layouts: what both ABIs must agree on (ks.h layouts) ---- */

static_assert(sizeof(struct ksguid) == 16, "ksguid");
static_assert(_Alignof(struct ksguid) == 8, "ksguid align");
static_assert(sizeof(struct ksidentifier) == 24, "ksidentifier");
static_assert(_Alignof(struct ksidentifier) == 8, "ksidentifier align");
static_assert(offsetof(struct ksidentifier, set) == 0, "ksidentifier.set");
static_assert(offsetof(struct ksidentifier, id) == 16, "ksidentifier.id");
static_assert(offsetof(struct ksidentifier, flags) == 20, "ksidentifier.flags");
static_assert(sizeof(struct ksp_node) == 32, "ksp_node");
static_assert(offsetof(struct ksp_node, node_id) == 24, "ksp_node.node_id");
static_assert(offsetof(struct ksp_node, reserved) == 28, "ksp_node.reserved");
static_assert(sizeof(struct ksallocator_framing) == 24, "ksallocator_framing");
static_assert(offsetof(struct ksallocator_framing, options_flags) == 0, "framing.options");
static_assert(offsetof(struct ksallocator_framing, requirements_flags) == 0, "framing.req");
static_assert(offsetof(struct ksallocator_framing, pool_type) == 4, "framing.pool_type");
static_assert(offsetof(struct ksallocator_framing, frames) == 8, "framing.frames");
static_assert(offsetof(struct ksallocator_framing, frame_size) == 12, "framing.frame_size");
static_assert(offsetof(struct ksallocator_framing, file_alignment) == 16, "framing.align");
static_assert(offsetof(struct ksallocator_framing, reserved) == 20, "framing.reserved");
static_assert(sizeof(struct ks_framing_range) == 12, "ks_framing_range");
static_assert(sizeof(struct ks_framing_range_weighted) == 20, "ks_framing_range_weighted");
static_assert(offsetof(struct ks_framing_range_weighted, in_place_weight) == 12, "frw.ipw");
static_assert(offsetof(struct ks_framing_range_weighted, not_in_place_weight) == 16, "frw.nipw");
static_assert(sizeof(struct ks_compression) == 12, "ks_compression");
static_assert(sizeof(struct ks_framing_item) == 88, "ks_framing_item");
static_assert(offsetof(struct ks_framing_item, memory_type) == 0, "item.memory_type");
static_assert(offsetof(struct ks_framing_item, bus_type) == 16, "item.bus_type");
static_assert(offsetof(struct ks_framing_item, memory_flags) == 32, "item.memory_flags");
static_assert(offsetof(struct ks_framing_item, bus_flags) == 36, "item.bus_flags");
static_assert(offsetof(struct ks_framing_item, flags) == 40, "item.flags");
static_assert(offsetof(struct ks_framing_item, frames) == 44, "item.frames");
static_assert(offsetof(struct ks_framing_item, file_alignment) == 48, "item.file_alignment");
static_assert(offsetof(struct ks_framing_item, memory_type_weight) == 52, "item.mtw");
static_assert(offsetof(struct ks_framing_item, physical_range) == 56, "item.physical_range");
static_assert(offsetof(struct ks_framing_item, framing_range) == 68, "item.framing_range");
static_assert(sizeof(struct ksallocator_framing_ex) == 112, "ksallocator_framing_ex");
static_assert(offsetof(struct ksallocator_framing_ex, count_items) == 0, "ex.count_items");
static_assert(offsetof(struct ksallocator_framing_ex, pin_flags) == 4, "ex.pin_flags");
static_assert(offsetof(struct ksallocator_framing_ex, output_compression) == 8, "ex.compression");
static_assert(offsetof(struct ksallocator_framing_ex, pin_weight) == 20, "ex.pin_weight");
static_assert(offsetof(struct ksallocator_framing_ex, framing_item) == 24, "ex.framing_item");
static_assert(KSALLOCATOR_FRAMING_EX_SIZE(1) == 112, "FRAMING_EX_SIZE(1)");
static_assert(KSALLOCATOR_FRAMING_EX_SIZE(2) == 200, "FRAMING_EX_SIZE(2)");
static_assert(sizeof(struct ksstreamallocator_status) == 32, "ksstreamallocator_status");
static_assert(offsetof(struct ksstreamallocator_status, allocated_frames) == 24, "status.allocated");
static_assert(offsetof(struct ksstreamallocator_status, reserved) == 28, "status.reserved");
static_assert(sizeof(struct ksproperty_description) == 40, "ksproperty_description");
static_assert(offsetof(struct ksproperty_description, access_flags) == 0, "desc.access");
static_assert(offsetof(struct ksproperty_description, description_size) == 4, "desc.size");
static_assert(offsetof(struct ksproperty_description, prop_type_set) == 8, "desc.type_set");
static_assert(offsetof(struct ksproperty_description, members_list_count) == 32, "desc.members");
static_assert(offsetof(struct ksproperty_description, reserved) == 36, "desc.reserved");
static_assert(sizeof(struct ksproperty_membersheader) == 16, "ksproperty_membersheader");
static_assert(offsetof(struct ksproperty_membersheader, members_flags) == 0, "mh.flags");
static_assert(offsetof(struct ksproperty_membersheader, members_size) == 4, "mh.size");
static_assert(offsetof(struct ksproperty_membersheader, members_count) == 8, "mh.count");
static_assert(offsetof(struct ksproperty_membersheader, flags) == 12, "mh.flags2");
static_assert(sizeof(struct kseventdata) == 32, "kseventdata");
static_assert(offsetof(struct kseventdata, notification_type) == 0, "ed.type");
static_assert(offsetof(struct kseventdata, event_handle) == 8, "ed.event_handle");
static_assert(offsetof(struct kseventdata, event_handle.event) == 8, "ed.event");
static_assert(offsetof(struct kseventdata, semaphore_handle.semaphore) == 8, "ed.semaphore");
static_assert(offsetof(struct kseventdata, semaphore_handle.adjustment) == 20, "ed.adjustment");
static_assert(sizeof(struct ksallocator_create) == 40, "ksallocator_create");
static_assert(offsetof(struct ksallocator_create, framing) == 16, "create.framing");
static_assert(sizeof(struct ksalloc_allocator_info) == 56, "ksalloc_allocator_info");
static_assert(sizeof(struct ksalloc_batch_method) == 32, "ksalloc_batch_method");
static_assert(offsetof(struct ksalloc_batch_method, count) == 24, "batch.count");
static_assert(offsetof(struct ksalloc_batch_method, flags) == 28, "batch.flags");
static_assert(sizeof(struct ks_ioctl_args) == 48, "ks_ioctl_args");
static_assert(offsetof(struct ks_ioctl_args, in_buffer) == 0, "args.in_buffer");
static_assert(offsetof(struct ks_ioctl_args, out_buffer) == 8, "args.out_buffer");
static_assert(offsetof(struct ks_ioctl_args, in_size) == 16, "args.in_size");
static_assert(offsetof(struct ks_ioctl_args, out_size) == 20, "args.out_size");
static_assert(offsetof(struct ks_ioctl_args, bytes_returned) == 24, "args.bytes_returned");
static_assert(offsetof(struct ks_ioctl_args, open_flags) == 28, "args.open_flags");
static_assert(offsetof(struct ks_ioctl_args, reserved) == 32, "args.reserved");
static_assert(KS_MAX_IN_SIZE == 4096, "KS_MAX_IN_SIZE");
/* One ioctl number for both ABIs: compat_ioctl passes the command as is. */
static_assert(IOCTL_KS_PROPERTY == 0xc0302f00u, "IOCTL_KS_PROPERTY");
static_assert(IOCTL_KS_CREATE == 0xc0302f40u, "IOCTL_KS_CREATE");

/* ---- Requests ---- */

static const struct ksguid guid_null = KSGUID_NULL;
static const struct ksguid set_stream = KSPROPSETID_Stream;
static const struct ksguid set_connection = KSPROPSETID_Connection;
static const struct ksguid set_ksalloc_pin = KSPROPSETID_KsallocPin;
static const struct ksguid set_streamallocator = KSPROPSETID_StreamAllocator;
static const struct ksguid set_ksalloc_allocator = KSPROPSETID_KsallocAllocator;
static const struct ksguid set_alloc_methods = KSMETHODSETID_StreamAllocator;
static const struct ksguid set_alloc_events = KSEVENTSETID_StreamAllocator;
static const struct ksguid typeset_general = KSPROPTYPESETID_General;
static const struct ksguid set_ksalloc_batch = KSMETHODSETID_KsallocBatch;
static const struct ksguid set_ksalloc_frame = KSMETHODSETID_KsallocFrame;
/* A set nobody implements: {4D9B7C2E-1F3A-4B5C-9D8E-7F6A5B4C3D2E} */
static const struct ksguid set_unknown = { { {
	0x2e, 0x7c, 0x9b, 0x4d, 0x3a, 0x1f, 0x5c, 0x4b,
	0x9d, 0x8e, 0x7f, 0x6a, 0x5b, 0x4c, 0x3d, 0x2e } } };

static inline uint64_t ptr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* A request with just a KSIDENTIFIER as input. */
static int ks_req(int fd, unsigned long cmd, const struct ksguid *set,
		  uint32_t id, uint32_t flags, void *out, uint32_t out_size,
		  uint32_t *returned)
{
	return kst_req(fd, cmd, set, id, flags, out, out_size, 0, returned);
}

/* Nothing at or after @from in @buf was written. */
static bool untouched(const void *buf, size_t from, size_t len)
{
	const unsigned char *b = buf;
	size_t i;

	for (i = from; i < len; i++)
		if (b[i] != PATTERN)
			return false;
	return true;
}

/* The fixtures' allocator: four page-sized frames in system memory */
static int create_allocator(int pin, uint32_t open_flags)
{
	return kst_create_system(pin, 4, open_flags);
}

/* The lowest free fd: it moves if a call leaks an fd. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* Two pages, the second PROT_NONE: for pointers into and across a hole. */
static unsigned char *guarded_page(size_t *pagesz)
{
	size_t ps = sysconf(_SC_PAGESIZE);
	unsigned char *p;

	p = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mprotect(p + ps, ps, PROT_NONE)) {
		munmap(p, 2 * ps);
		return NULL;
	}
	*pagesz = ps;
	return p;
}

/* Type bits KS defines, per request kind (the uapi header's values) */
#define PROPERTY_KNOWN (KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET |		\
			KSPROPERTY_TYPE_SETSUPPORT |				\
			KSPROPERTY_TYPE_BASICSUPPORT |				\
			KSPROPERTY_TYPE_RELATIONS |				\
			KSPROPERTY_TYPE_SERIALIZESET |				\
			KSPROPERTY_TYPE_UNSERIALIZESET |			\
			KSPROPERTY_TYPE_SERIALIZERAW |				\
			KSPROPERTY_TYPE_UNSERIALIZERAW |			\
			KSPROPERTY_TYPE_SERIALIZESIZE |				\
			KSPROPERTY_TYPE_DEFAULTVALUES |				\
			KSPROPERTY_TYPE_TOPOLOGY)
#define METHOD_KNOWN (KSMETHOD_TYPE_MODIFY | KSMETHOD_TYPE_SOURCE |		\
		      KSMETHOD_TYPE_SETSUPPORT | KSMETHOD_TYPE_BASICSUPPORT |	\
		      KSMETHOD_TYPE_TOPOLOGY)
#define EVENT_KNOWN (KSEVENT_TYPE_ENABLE | KSEVENT_TYPE_ONESHOT |		\
		     KSEVENT_TYPE_ENABLEBUFFERED | KSEVENT_TYPE_SETSUPPORT |	\
		     KSEVENT_TYPE_BASICSUPPORT | KSEVENT_TYPE_QUERYBUFFER |	\
		     KSEVENT_TYPE_TOPOLOGY)

enum kind { PROPERTY, METHOD, EVENT };

static const unsigned long kind_cmd[] = {
	[PROPERTY] = IOCTL_KS_PROPERTY,
	[METHOD] = IOCTL_KS_METHOD,
	[EVENT] = IOCTL_KS_ENABLE_EVENT,
};

static const uint32_t kind_known[] = {
	[PROPERTY] = PROPERTY_KNOWN,
	[METHOD] = METHOD_KNOWN,
	[EVENT] = EVENT_KNOWN,
};

/* ---- Every item of every table ---- */

enum item_tag {
	T_STREAM_ALLOCATOR, T_STATE, T_FRAMING, T_FRAMING_EX, T_ALLOCATOR_FD,
	T_FUNCTIONTABLE, T_STATUS, T_INFO, T_ALLOC, T_FREE,
	T_BATCH_ALLOC, T_BATCH_FREE, T_FREEFRAME,
};

FIXTURE(item)
{
	int pin;
	int alloc;
	int fd;		/* the object the item belongs to */
	int efd;	/* an eventfd for event items */
	bool missing;
};

FIXTURE_VARIANT(item)
{
	enum item_tag tag;
	bool on_allocator;
	enum kind kind;
	struct ksguid set;
	uint32_t id;
	uint32_t support;	/* KS*_TYPE_* the item handles */
	uint32_t size;		/* value size */
	uint32_t vt;		/* KSPROPERTY_DESCRIPTION type id */
	bool kernel_only;	/* refused from user space */
	bool batch;		/* input is a ksalloc_batch_method (count 1) */
};

FIXTURE_VARIANT_ADD(item, pin_stream_allocator)
{
	.tag = T_STREAM_ALLOCATOR, .kind = PROPERTY,
	.set = KSPROPSETID_Stream, .id = KSPROPERTY_STREAM_ALLOCATOR,
	.support = KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET,
	.size = 8, .vt = KS_VT_I8,
};

FIXTURE_VARIANT_ADD(item, pin_connection_state)
{
	.tag = T_STATE, .kind = PROPERTY,
	.set = KSPROPSETID_Connection, .id = KSPROPERTY_CONNECTION_STATE,
	.support = KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET,
	.size = 4, .vt = KS_VT_UI4,
};

FIXTURE_VARIANT_ADD(item, pin_connection_allocatorframing)
{
	.tag = T_FRAMING, .kind = PROPERTY,
	.set = KSPROPSETID_Connection,
	.id = KSPROPERTY_CONNECTION_ALLOCATORFRAMING,
	.support = KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET,
	.size = 24, .vt = KS_VT_BLOB,
};

FIXTURE_VARIANT_ADD(item, pin_connection_allocatorframing_ex)
{
	.tag = T_FRAMING_EX, .kind = PROPERTY,
	.set = KSPROPSETID_Connection,
	.id = KSPROPERTY_CONNECTION_ALLOCATORFRAMING_EX,
	.support = KSPROPERTY_TYPE_GET,
	.size = 112, .vt = KS_VT_BLOB,
};

FIXTURE_VARIANT_ADD(item, pin_ksalloc_allocator_fd)
{
	.tag = T_ALLOCATOR_FD, .kind = PROPERTY,
	.set = KSPROPSETID_KsallocPin,
	.id = KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
	.support = KSPROPERTY_TYPE_GET,
	.size = 8, .vt = KS_VT_I8,
};

FIXTURE_VARIANT_ADD(item, allocator_functiontable)
{
	.tag = T_FUNCTIONTABLE, .on_allocator = true, .kind = PROPERTY,
	.set = KSPROPSETID_StreamAllocator,
	.id = KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE,
	.support = KSPROPERTY_TYPE_GET, .size = 16, .kernel_only = true,
};

FIXTURE_VARIANT_ADD(item, allocator_status)
{
	.tag = T_STATUS, .on_allocator = true, .kind = PROPERTY,
	.set = KSPROPSETID_StreamAllocator,
	.id = KSPROPERTY_STREAMALLOCATOR_STATUS,
	.support = KSPROPERTY_TYPE_GET,
	.size = 32, .vt = KS_VT_BLOB,
};

FIXTURE_VARIANT_ADD(item, allocator_ksalloc_info)
{
	.tag = T_INFO, .on_allocator = true, .kind = PROPERTY,
	.set = KSPROPSETID_KsallocAllocator,
	.id = KSPROPERTY_KSALLOC_ALLOCATOR_INFO,
	.support = KSPROPERTY_TYPE_GET,
	.size = sizeof(struct ksalloc_allocator_info), .vt = KS_VT_BLOB,
};

FIXTURE_VARIANT_ADD(item, allocator_method_alloc)
{
	.tag = T_ALLOC, .on_allocator = true, .kind = METHOD,
	.set = KSMETHODSETID_StreamAllocator,
	.id = KSMETHOD_STREAMALLOCATOR_ALLOC,
	.support = KSMETHOD_TYPE_WRITE, .size = 8, .vt = KS_VT_UI8,
};

FIXTURE_VARIANT_ADD(item, allocator_method_free)
{
	.tag = T_FREE, .on_allocator = true, .kind = METHOD,
	.set = KSMETHODSETID_StreamAllocator,
	.id = KSMETHOD_STREAMALLOCATOR_FREE,
	.support = KSMETHOD_TYPE_READ, .size = 8, .vt = KS_VT_UI8,
};

/* The batch methods with a count of 1: one frame, like ALLOC and FREE */
FIXTURE_VARIANT_ADD(item, allocator_batch_alloc)
{
	.tag = T_BATCH_ALLOC, .on_allocator = true, .kind = METHOD,
	.set = KSMETHODSETID_KsallocBatch, .id = KSMETHOD_KSALLOC_BATCH_ALLOC,
	.support = KSMETHOD_TYPE_WRITE, .size = 8, .vt = KS_VT_BLOB,
	.batch = true,
};

FIXTURE_VARIANT_ADD(item, allocator_batch_free)
{
	.tag = T_BATCH_FREE, .on_allocator = true, .kind = METHOD,
	.set = KSMETHODSETID_KsallocBatch, .id = KSMETHOD_KSALLOC_BATCH_FREE,
	.support = KSMETHOD_TYPE_READ, .size = 8, .vt = KS_VT_BLOB,
	.batch = true,
};

FIXTURE_VARIANT_ADD(item, allocator_event_freeframe)
{
	.tag = T_FREEFRAME, .on_allocator = true, .kind = EVENT,
	.set = KSEVENTSETID_StreamAllocator,
	.id = KSEVENT_STREAMALLOCATOR_FREEFRAME,
	.support = KSEVENT_TYPE_ENABLE | KSEVENT_TYPE_ONESHOT,
	.size = 32,
};

FIXTURE_SETUP(item)
{
	self->pin = self->alloc = self->fd = self->efd = -1;
	if (access(KST_DEV, F_OK)) {
		self->missing = true;
		SKIP(return, KST_DEV " is missing (module not loaded)");
	}
	self->pin = open(KST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->pin) {
		TH_LOG("open %s: %s", KST_DEV, strerror(errno));
	}
	/* O_NONBLOCK: a broken pool fails with EAGAIN instead of hanging. */
	self->alloc = create_allocator(self->pin, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, self->alloc) {
		TH_LOG("IOCTL_KS_CREATE: %s", strerror(-self->alloc));
	}
	self->fd = variant->on_allocator ? self->alloc : self->pin;
	self->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->efd);
}

FIXTURE_TEARDOWN(item)
{
	if (self->efd >= 0)
		close(self->efd);
	if (self->alloc >= 0)
		close(self->alloc);
	if (self->pin >= 0)
		close(self->pin);
}

/* The 6.1 harness runs the body after a SKIP in the setup. */
#define NEED_DEVICE() do {						\
	if (self->missing)						\
		SKIP(return, KST_DEV " is missing");			\
} while (0)

static unsigned long item_cmd(const FIXTURE_VARIANT(item) *v)
{
	return kind_cmd[v->kind];
}

/* The plain use of the item: GET, the method's own type, ENABLE. */
static uint32_t item_op(const FIXTURE_VARIANT(item) *v)
{
	switch (v->kind) {
	case PROPERTY:
		return KSPROPERTY_TYPE_GET;
	case METHOD:
		return v->support;
	default:
		return KSEVENT_TYPE_ENABLE;
	}
}

/* Does the plain use of the item write a value (GET, WRITE method)? */
static bool item_writes(const FIXTURE_VARIANT(item) *v)
{
	return (v->kind == PROPERTY && (v->support & KSPROPERTY_TYPE_GET)) ||
	       (v->kind == METHOD && (v->support & KSMETHOD_TYPE_WRITE));
}

/* A request on the item with @flags. */
static int item_req(FIXTURE_DATA(item) *self, const FIXTURE_VARIANT(item) *v,
		    uint32_t flags, void *out, uint32_t out_size,
		    uint32_t *returned)
{
	struct ksalloc_batch_method in;

	memset(&in, 0, sizeof(in));
	in.method = kst_ident(&v->set, v->id, flags);
	in.count = 1;
	return kst_ioctl(self->fd, item_cmd(v), &in,
			 v->batch ? sizeof(in) : sizeof(in.method), out,
			 out_size, 0, returned);
}

/* The item's value is an allocated frame's offset (FREE, BATCH_FREE). */
static bool item_frees(const FIXTURE_VARIANT(item) *v)
{
	return v->tag == T_FREE || v->tag == T_BATCH_FREE;
}

static void event_data(struct kseventdata *ed, int efd)
{
	memset(ed, 0, sizeof(*ed));
	ed->notification_type = KSEVENTF_EVENT_HANDLE;
	ed->event_handle.event = efd;
}

static int disable_event(int fd, struct kseventdata *ed)
{
	return kst_ioctl(fd, IOCTL_KS_DISABLE_EVENT, ed, sizeof(*ed), NULL, 0,
			 0, NULL);
}

static int alloc_frame(int fd, uint64_t *offset)
{
	return ks_req(fd, IOCTL_KS_METHOD, &set_alloc_methods,
		      KSMETHOD_STREAMALLOCATOR_ALLOC, KSMETHOD_TYPE_WRITE,
		      offset, sizeof(*offset), NULL);
}

static int free_frame(int fd, uint64_t offset)
{
	return ks_req(fd, IOCTL_KS_METHOD, &set_alloc_methods,
		      KSMETHOD_STREAMALLOCATOR_FREE, KSMETHOD_TYPE_READ,
		      &offset, sizeof(offset), NULL);
}

/*
 * Make the item's plain use succeed where it depends on state: the pin's
 * ALLOCATOR_FD needs an assigned allocator, FREE an allocated frame.
 * Fills @value with what the plain use sends.
 */
static void item_prepare(struct __test_metadata *_metadata,
			 FIXTURE_DATA(item) *self,
			 const FIXTURE_VARIANT(item) *v, void *value)
{
	if (v->tag == T_ALLOCATOR_FD)
		ASSERT_EQ(0, kst_set_allocator(self->pin, self->alloc));
	if (item_frees(v))
		ASSERT_EQ(0, alloc_frame(self->alloc, value));
	if (v->kind == EVENT)
		event_data(value, self->efd);
}

/* Undo what a successful plain use left behind. */
static void item_cleanup(struct __test_metadata *_metadata,
			 FIXTURE_DATA(item) *self,
			 const FIXTURE_VARIANT(item) *v, void *value)
{
	if (v->tag == T_ALLOCATOR_FD)
		EXPECT_EQ(0, close((int)*(int64_t *)value));
	if (v->tag == T_ALLOC || v->tag == T_BATCH_ALLOC)
		EXPECT_EQ(0, free_frame(self->alloc, *(uint64_t *)value));
	if (v->kind == EVENT)
		EXPECT_EQ(0, disable_event(self->fd, value));
}

/*
 * Every type the item supports works; kernel-only items refuse each of
 * them from user space.
 */
TEST_F(item, supported_types)
{
	unsigned char out[256], sent[256];
	uint32_t ret_bytes, t;
	bool set;
	int ret;

	NEED_DEVICE();
	for (t = 1; t; t <<= 1) {
		if (!(variant->support & t))
			continue;
		set = variant->kind == PROPERTY && t == KSPROPERTY_TYPE_SET;
		memset(out, PATTERN, sizeof(out));
		if (variant->kernel_only) {
			EXPECT_EQ(-EOPNOTSUPP, item_req(self, variant, t, out,
							variant->size,
							&ret_bytes))
				TH_LOG("type 0x%x", t);
			EXPECT_EQ(0, ret_bytes);
			EXPECT_TRUE(untouched(out, 0, sizeof(out)));
			continue;
		}
		if (set) {
			/* Set what Get returned: always a valid value. */
			ASSERT_EQ(0, item_req(self, variant, KSPROPERTY_TYPE_GET,
					      out, variant->size, NULL));
		} else {
			item_prepare(_metadata, self, variant, out);
		}
		memcpy(sent, out, sizeof(out));
		ret = item_req(self, variant, t, out, variant->size, &ret_bytes);
		ASSERT_EQ(0, ret) {
			TH_LOG("type 0x%x: %s", t, strerror(-ret));
		}
		EXPECT_EQ(item_writes(variant) && !set ? variant->size : 0,
			  ret_bytes) TH_LOG("type 0x%x", t);
		/* Input values are not written back; nothing past a value is. */
		EXPECT_EQ(0, memcmp(out + ret_bytes, sent + ret_bytes,
				    sizeof(out) - ret_bytes))
			TH_LOG("type 0x%x", t);

		if (variant->kind == EVENT && t == KSEVENT_TYPE_ONESHOT) {
			uint64_t off, n = 0;

			/* A one-shot fires once and is gone. */
			ASSERT_EQ(0, alloc_frame(self->alloc, &off));
			ASSERT_EQ(0, free_frame(self->alloc, off));
			EXPECT_EQ(sizeof(n), read(self->efd, &n, sizeof(n)));
			EXPECT_EQ(1, n);
			ASSERT_EQ(0, alloc_frame(self->alloc, &off));
			ASSERT_EQ(0, free_frame(self->alloc, off));
			EXPECT_EQ(-1, read(self->efd, &n, sizeof(n)));
			EXPECT_EQ(EAGAIN, errno);
			EXPECT_EQ(-ENOENT, disable_event(self->fd,
					(struct kseventdata *)out));
			continue;
		}
		if (!set)
			item_cleanup(_metadata, self, variant, out);
	}
}

/* What the plain Get answers on a fresh pin and allocator. */
TEST_F(item, get_values)
{
	union {
		int64_t handle;
		uint32_t state;
		struct ksallocator_framing framing;
		struct ksallocator_framing_ex ex;
		struct ksstreamallocator_status status;
		struct ksalloc_allocator_info info;
		uint64_t offset;
		unsigned char b[256];
	} v;
	struct ksalloc_allocator_info info;

	NEED_DEVICE();
	if (variant->kind != PROPERTY || variant->kernel_only)
		return;
	memset(&v, PATTERN, sizeof(v));
	item_prepare(_metadata, self, variant, &v);
	ASSERT_EQ(0, item_req(self, variant, KSPROPERTY_TYPE_GET, &v,
			      variant->size, NULL));
	switch (variant->tag) {
	case T_STREAM_ALLOCATOR:
		EXPECT_EQ(KS_NULL_HANDLE, v.handle);
		break;
	case T_STATE:
		EXPECT_EQ(KSSTATE_STOP, v.state);
		break;
	case T_FRAMING:
		EXPECT_EQ(KSALLOCATOR_REQUIREMENTF_SYSTEM_MEMORY |
			  KSALLOCATOR_REQUIREMENTF_PREFERENCES_ONLY,
			  v.framing.requirements_flags);
		EXPECT_EQ(KS_POOL_NONPAGED, v.framing.pool_type);
		EXPECT_EQ(4, v.framing.frames);
		EXPECT_EQ(sysconf(_SC_PAGESIZE), v.framing.frame_size);
		EXPECT_EQ(sysconf(_SC_PAGESIZE) - 1, v.framing.file_alignment);
		EXPECT_EQ(0, v.framing.reserved);
		break;
	case T_FRAMING_EX:
		EXPECT_EQ(1, v.ex.count_items);
		EXPECT_EQ(4, v.ex.framing_item[0].frames);
		EXPECT_EQ(sysconf(_SC_PAGESIZE),
			  v.ex.framing_item[0].framing_range.range.max_frame_size);
		break;
	case T_ALLOCATOR_FD:
		/* A new fd for the same allocator */
		ASSERT_LE(0, v.handle);
		EXPECT_NE(self->alloc, v.handle);
		/* no open_flags: no close-on-exec */
		EXPECT_EQ(0, fcntl((int)v.handle, F_GETFD) & FD_CLOEXEC);
		ASSERT_EQ(0, ks_req((int)v.handle, IOCTL_KS_PROPERTY,
				    &set_ksalloc_allocator,
				    KSPROPERTY_KSALLOC_ALLOCATOR_INFO,
				    KSPROPERTY_TYPE_GET, &info, sizeof(info),
				    NULL));
		item_cleanup(_metadata, self, variant, &v);
		memset(&v, 0, sizeof(v));
		ASSERT_EQ(0, ks_req(self->alloc, IOCTL_KS_PROPERTY,
				    &set_ksalloc_allocator,
				    KSPROPERTY_KSALLOC_ALLOCATOR_INFO,
				    KSPROPERTY_TYPE_GET, &v.info,
				    sizeof(v.info), NULL));
		EXPECT_EQ(v.info.id, info.id);
		break;
	case T_STATUS:
		EXPECT_EQ(KSALLOCATOR_OPTIONF_SYSTEM_MEMORY,
			  v.status.framing.options_flags);
		EXPECT_EQ(4, v.status.framing.frames);
		EXPECT_EQ(4096, v.status.framing.frame_size);
		EXPECT_EQ(4095, v.status.framing.file_alignment);
		EXPECT_EQ(0, v.status.allocated_frames);
		EXPECT_EQ(0, v.status.reserved);
		break;
	case T_INFO:
		EXPECT_LT(0, v.info.id);
		EXPECT_EQ(4, v.info.frames);
		EXPECT_EQ(4096, v.info.frame_size);
		EXPECT_EQ(0, v.info.allocated_frames);
		break;
	default:
		break;
	}
}

/* KS's request types the item does not handle: EOPNOTSUPP, not EINVAL. */
TEST_F(item, unsupported_types)
{
	static const uint32_t property[] = {
		KSPROPERTY_TYPE_RELATIONS, KSPROPERTY_TYPE_SERIALIZESET,
		KSPROPERTY_TYPE_UNSERIALIZESET, KSPROPERTY_TYPE_SERIALIZERAW,
		KSPROPERTY_TYPE_UNSERIALIZERAW, KSPROPERTY_TYPE_SERIALIZESIZE,
		KSPROPERTY_TYPE_DEFAULTVALUES,
		KSPROPERTY_TYPE_DEFAULTVALUES | KSPROPERTY_TYPE_GET,
		KSPROPERTY_TYPE_TOPOLOGY | KSPROPERTY_TYPE_GET,
		KSPROPERTY_TYPE_TOPOLOGY | KSPROPERTY_TYPE_BASICSUPPORT,
	};
	static const uint32_t method[] = {
		KSMETHOD_TYPE_SOURCE, KSMETHOD_TYPE_SOURCE | KSMETHOD_TYPE_WRITE,
		KSMETHOD_TYPE_SOURCE | KSMETHOD_TYPE_READ,
		KSMETHOD_TYPE_TOPOLOGY | KSMETHOD_TYPE_SEND,
		KSMETHOD_TYPE_TOPOLOGY | KSMETHOD_TYPE_BASICSUPPORT,
	};
	static const uint32_t event[] = {
		KSEVENT_TYPE_ENABLEBUFFERED, KSEVENT_TYPE_QUERYBUFFER,
		KSEVENT_TYPE_TOPOLOGY | KSEVENT_TYPE_ENABLE,
		KSEVENT_TYPE_TOPOLOGY | KSEVENT_TYPE_BASICSUPPORT,
	};
	const uint32_t *list = variant->kind == PROPERTY ? property :
			       variant->kind == METHOD ? method : event;
	unsigned int n = variant->kind == PROPERTY ? ARRAY_SIZE(property) :
			 variant->kind == METHOD ? ARRAY_SIZE(method) :
			 ARRAY_SIZE(event);
	unsigned char out[256];
	struct ksp_node node;
	uint32_t ret_bytes;
	unsigned int i;

	NEED_DEVICE();
	for (i = 0; i < n; i++) {
		memset(out, PATTERN, sizeof(out));
		if (variant->kind == EVENT)
			event_data((struct kseventdata *)out, self->efd);
		/* TOPOLOGY requests carry a node id after the identifier */
		memset(&node, 0, sizeof(node));
		node.property = kst_ident(&variant->set, variant->id, list[i]);
		EXPECT_EQ(-EOPNOTSUPP,
			  kst_ioctl(self->fd, item_cmd(variant), &node,
				    sizeof(node), out, sizeof(out), 0,
				    &ret_bytes)) TH_LOG("type 0x%x", list[i]);
		EXPECT_EQ(0, ret_bytes);
		if (variant->kind != EVENT)
			EXPECT_TRUE(untouched(out, 0, sizeof(out)));
	}

	/* Set on a Get-only property */
	if (variant->kind == PROPERTY &&
	    !(variant->support & KSPROPERTY_TYPE_SET)) {
		memset(out, 0, sizeof(out));
		EXPECT_EQ(-EOPNOTSUPP, item_req(self, variant,
						KSPROPERTY_TYPE_SET, out,
						variant->size, &ret_bytes));
		EXPECT_EQ(0, ret_bytes);
	}
}

/*
 * Type bits KS does not define: EINVAL, whatever else is set. The value
 * sent is a valid one, so a request that got through would succeed.
 */
TEST_F(item, undefined_type_bits)
{
	uint32_t known = kind_known[variant->kind], bit, ret_bytes;
	unsigned char out[256], sent[256];

	NEED_DEVICE();
	memset(sent, PATTERN, sizeof(sent));
	if (item_frees(variant) || variant->kind == EVENT)
		item_prepare(_metadata, self, variant, sent);
	for (bit = 1; bit; bit <<= 1) {
		if (known & bit)
			continue;
		memcpy(out, sent, sizeof(out));
		EXPECT_EQ(-EINVAL, item_req(self, variant, bit, out,
					    sizeof(out), &ret_bytes))
			TH_LOG("type 0x%x", bit);
		EXPECT_EQ(0, ret_bytes);
		EXPECT_EQ(-EINVAL, item_req(self, variant,
					    item_op(variant) | bit, out,
					    sizeof(out), &ret_bytes))
			TH_LOG("type 0x%x", item_op(variant) | bit);
		EXPECT_EQ(0, ret_bytes);
		EXPECT_EQ(0, memcmp(out, sent, sizeof(out)));
	}
	if (item_frees(variant))	/* still allocated */
		EXPECT_EQ(0, free_frame(self->alloc, *(uint64_t *)sent));
}

/*
 * A property request is a Get or a Set, an event request an enable or a
 * one-shot: neither or both is EINVAL. A method request without a query
 * bit executes the method, whatever its direction bits say.
 */
TEST_F(item, operation_count)
{
	uint32_t none_or_both[2], ret_bytes, i;
	unsigned char out[256];
	uint64_t off;

	NEED_DEVICE();
	if (variant->kind == METHOD) {
		memset(out, PATTERN, sizeof(out));
		item_prepare(_metadata, self, variant, out);
		ASSERT_EQ(0, item_req(self, variant, KSMETHOD_TYPE_SEND, out,
				      variant->size, &ret_bytes));
		if (!item_frees(variant)) {
			EXPECT_EQ(8, ret_bytes);
			memcpy(&off, out, sizeof(off));
			EXPECT_EQ(0, off % 4096);
			EXPECT_GT(4 * 4096, off);
			item_cleanup(_metadata, self, variant, out);
		} else {
			EXPECT_EQ(0, ret_bytes);
		}
		return;
	}
	if (variant->kind == PROPERTY) {
		none_or_both[0] = 0;
		none_or_both[1] = KSPROPERTY_TYPE_GET | KSPROPERTY_TYPE_SET;
	} else {
		none_or_both[0] = 0;
		none_or_both[1] = KSEVENT_TYPE_ENABLE | KSEVENT_TYPE_ONESHOT;
	}
	for (i = 0; i < 2; i++) {
		memset(out, PATTERN, sizeof(out));
		if (variant->kind == EVENT)
			event_data((struct kseventdata *)out, self->efd);
		/* Kernel-only items are refused before the type is looked at */
		EXPECT_EQ(variant->kernel_only ? -EOPNOTSUPP : -EINVAL,
			  item_req(self, variant, none_or_both[i], out,
				   variant->size, &ret_bytes))
			TH_LOG("type 0x%x", none_or_both[i]);
		EXPECT_EQ(0, ret_bytes);
	}
}

/* BASICSUPPORT with room for a KSPROPERTY_DESCRIPTION */
TEST_F(item, basicsupport_description)
{
	struct ksproperty_description d;
	unsigned char out[64];
	uint32_t ret_bytes;
	int ret;

	NEED_DEVICE();
	memset(out, PATTERN, sizeof(out));
	ret = item_req(self, variant, KSPROPERTY_TYPE_BASICSUPPORT, out,
		       sizeof(out), &ret_bytes);
	if (variant->kernel_only) {
		EXPECT_EQ(-EOPNOTSUPP, ret);
		EXPECT_EQ(0, ret_bytes);
		EXPECT_TRUE(untouched(out, 0, sizeof(out)));
		return;
	}
	ASSERT_EQ(0, ret);
	if (variant->kind == EVENT) {
		/* For events, success alone says "supported" */
		EXPECT_EQ(0, ret_bytes);
		EXPECT_TRUE(untouched(out, 0, sizeof(out)));
		return;
	}
	ASSERT_EQ(sizeof(d), ret_bytes);
	EXPECT_TRUE(untouched(out, sizeof(d), sizeof(out)));
	memcpy(&d, out, sizeof(d));
	EXPECT_EQ(variant->support, d.access_flags);
	EXPECT_EQ(sizeof(d), d.description_size);
	EXPECT_EQ(0, memcmp(&d.prop_type_set.set, &typeset_general, 16));
	EXPECT_EQ(variant->vt, d.prop_type_set.id);
	EXPECT_EQ(0, d.prop_type_set.flags);
	EXPECT_EQ(0, d.members_list_count);
	EXPECT_EQ(0, d.reserved);

	/* Exactly 40 bytes is enough */
	memset(out, PATTERN, sizeof(out));
	ASSERT_EQ(0, item_req(self, variant, KSPROPERTY_TYPE_BASICSUPPORT,
			      out, sizeof(d), &ret_bytes));
	EXPECT_EQ(sizeof(d), ret_bytes);
	EXPECT_EQ(0, memcmp(&d, out, sizeof(d)));
}

/* BASICSUPPORT with 4..39 bytes: only the access flags */
TEST_F(item, basicsupport_access_flags)
{
	static const uint32_t sizes[] = { 4, 5, 8, 39 };
	unsigned char out[64];
	uint32_t ret_bytes, flags;
	unsigned int i;
	int ret;

	NEED_DEVICE();
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(out, PATTERN, sizeof(out));
		ret = item_req(self, variant, KSPROPERTY_TYPE_BASICSUPPORT,
			       out, sizes[i], &ret_bytes);
		if (variant->kernel_only) {
			EXPECT_EQ(-EOPNOTSUPP, ret);
			EXPECT_EQ(0, ret_bytes);
			EXPECT_TRUE(untouched(out, 0, sizeof(out)));
			continue;
		}
		ASSERT_EQ(0, ret) TH_LOG("out_size %u", sizes[i]);
		if (variant->kind == EVENT) {
			EXPECT_EQ(0, ret_bytes);
			EXPECT_TRUE(untouched(out, 0, sizeof(out)));
			continue;
		}
		EXPECT_EQ(4, ret_bytes) TH_LOG("out_size %u", sizes[i]);
		memcpy(&flags, out, 4);
		EXPECT_EQ(variant->support, flags);
		EXPECT_TRUE(untouched(out, 4, sizeof(out)));
	}
}

/* BASICSUPPORT with less than 4 bytes: a size query for the description */
TEST_F(item, basicsupport_size_query)
{
	unsigned char out[64];
	uint32_t ret_bytes, size;
	int ret;

	NEED_DEVICE();
	for (size = 0; size < 4; size++) {
		memset(out, PATTERN, sizeof(out));
		ret = item_req(self, variant, KSPROPERTY_TYPE_BASICSUPPORT,
			       size ? out : NULL, size, &ret_bytes);
		if (variant->kernel_only) {
			EXPECT_EQ(-EOPNOTSUPP, ret);
			EXPECT_EQ(0, ret_bytes);
		} else if (variant->kind == EVENT) {
			EXPECT_EQ(0, ret);
			EXPECT_EQ(0, ret_bytes);
		} else {
			EXPECT_EQ(-EOVERFLOW, ret) TH_LOG("out_size %u", size);
			EXPECT_EQ(sizeof(struct ksproperty_description),
				  ret_bytes);
		}
		EXPECT_TRUE(untouched(out, 0, sizeof(out)));
	}
}

/* A query bit is the whole request: anything added is EINVAL. */
TEST_F(item, query_with_other_type)
{
	uint32_t op = item_op(variant), ret_bytes;
	unsigned char out[64];

	NEED_DEVICE();
	if (variant->kind == METHOD && op == KSMETHOD_TYPE_READ)
		op = KSMETHOD_TYPE_WRITE;	/* any execute bit will do */
	memset(out, PATTERN, sizeof(out));
	EXPECT_EQ(variant->kernel_only ? -EOPNOTSUPP : -EINVAL,
		  item_req(self, variant, KSPROPERTY_TYPE_BASICSUPPORT | op,
			   out, sizeof(out), &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	if (variant->kind == PROPERTY) {
		EXPECT_EQ(variant->kernel_only ? -EOPNOTSUPP : -EINVAL,
			  item_req(self, variant,
				   KSPROPERTY_TYPE_BASICSUPPORT |
				   KSPROPERTY_TYPE_SET, out, sizeof(out),
				   &ret_bytes));
		EXPECT_EQ(0, ret_bytes);
	}
	/* SETSUPPORT is checked first, for every item */
	EXPECT_EQ(-EINVAL, item_req(self, variant,
				    KSPROPERTY_TYPE_SETSUPPORT | op, out,
				    sizeof(out), &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	EXPECT_EQ(-EINVAL, item_req(self, variant,
				    KSPROPERTY_TYPE_SETSUPPORT |
				    KSPROPERTY_TYPE_BASICSUPPORT, out,
				    sizeof(out), &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	EXPECT_TRUE(untouched(out, 0, sizeof(out)));
}

/* SETSUPPORT on the item's own set: supported, nothing written. */
TEST_F(item, setsupport_own_set)
{
	unsigned char out[64];
	uint32_t ret_bytes;

	NEED_DEVICE();
	memset(out, PATTERN, sizeof(out));
	EXPECT_EQ(0, ks_req(self->fd, item_cmd(variant), &variant->set, 0,
			    KSPROPERTY_TYPE_SETSUPPORT, out, sizeof(out),
			    &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	EXPECT_TRUE(untouched(out, 0, sizeof(out)));
	/* The id does not matter to SETSUPPORT */
	EXPECT_EQ(0, ks_req(self->fd, item_cmd(variant), &variant->set,
			    0xffffffff, KSPROPERTY_TYPE_SETSUPPORT, NULL, 0,
			    &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
}

/*
 * Output too small for a Get or a WRITE method: EOVERFLOW with the size
 * needed. Too short a value for a Set, a READ method or an event: EINVAL,
 * as that is truncated input.
 */
TEST_F(item, size_query)
{
	uint32_t sizes[3] = { 0, 1, variant->size - 1 };
	unsigned char out[256];
	uint32_t ret_bytes;
	unsigned int i;
	int ret;

	NEED_DEVICE();
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		/* A valid value (a real frame for FREE) in a short buffer */
		memset(out, PATTERN, sizeof(out));
		if (!variant->kernel_only)
			item_prepare(_metadata, self, variant, out);
		ret = item_req(self, variant, item_op(variant),
			       sizes[i] ? out : NULL, sizes[i], &ret_bytes);
		if (variant->kernel_only) {
			EXPECT_EQ(-EOPNOTSUPP, ret);
			EXPECT_EQ(0, ret_bytes);
		} else if (item_writes(variant)) {
			EXPECT_EQ(-EOVERFLOW, ret) TH_LOG("out_size %u", sizes[i]);
			EXPECT_EQ(variant->size, ret_bytes);
		} else {
			EXPECT_EQ(-EINVAL, ret) TH_LOG("out_size %u", sizes[i]);
			EXPECT_EQ(0, ret_bytes);
		}
		if (item_frees(variant)) {	/* not freed by the above */
			EXPECT_EQ(0, free_frame(self->alloc, *(uint64_t *)out));
		} else if (variant->kind != EVENT) {
			EXPECT_TRUE(untouched(out, 0, sizeof(out)));
		}
	}

	if (variant->kind != PROPERTY || !(variant->support & KSPROPERTY_TYPE_SET))
		return;
	/* A Set with a short value */
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(out, 0, sizeof(out));
		EXPECT_EQ(-EINVAL, item_req(self, variant, KSPROPERTY_TYPE_SET,
					    sizes[i] ? out : NULL, sizes[i],
					    &ret_bytes))
			TH_LOG("out_size %u", sizes[i]);
		EXPECT_EQ(0, ret_bytes);
	}
}

/*
 * A larger output buffer than needed: bytes_returned is the value size
 * and the rest is left alone. out_size is only an upper bound, so even
 * 0xffffffff with a buffer of the right size is legal.
 */
TEST_F(item, larger_output)
{
	static const uint32_t big[] = { 256, 0xffffffff };
	unsigned char out[256];
	uint32_t ret_bytes;
	unsigned int i;
	int ret;

	NEED_DEVICE();
	for (i = 0; i < ARRAY_SIZE(big); i++) {
		memset(out, PATTERN, sizeof(out));
		item_prepare(_metadata, self, variant, out);
		ret = item_req(self, variant, item_op(variant), out, big[i],
			       &ret_bytes);
		if (variant->kernel_only) {
			EXPECT_EQ(-EOPNOTSUPP, ret);
			EXPECT_EQ(0, ret_bytes);
			continue;
		}
		ASSERT_EQ(0, ret) {
			TH_LOG("out_size 0x%x: %s", big[i], strerror(-ret));
		}
		EXPECT_EQ(item_writes(variant) ? variant->size : 0, ret_bytes);
		EXPECT_TRUE(untouched(out, variant->size, sizeof(out)));
		item_cleanup(_metadata, self, variant, out);

		if (variant->kind == EVENT)
			continue;
		memset(out, PATTERN, sizeof(out));
		ASSERT_EQ(0, item_req(self, variant,
				      KSPROPERTY_TYPE_BASICSUPPORT, out,
				      big[i], &ret_bytes));
		EXPECT_EQ(sizeof(struct ksproperty_description), ret_bytes);
		EXPECT_TRUE(untouched(out, sizeof(struct ksproperty_description),
				      sizeof(out)));
	}
}

/*
 * The input must hold the item's whole request: the KSIDENTIFIER, and for
 * the batch methods the count and flags after it (MinMethod 32). The value
 * sent is valid, so a request that got through would succeed.
 */
TEST_F(item, truncated_parameters)
{
	uint32_t min = variant->batch ? sizeof(struct ksalloc_batch_method) :
					sizeof(struct ksidentifier);
	uint32_t sizes[] = { 0, 16, sizeof(struct ksidentifier), min - 1 };
	uint32_t flags[] = { item_op(variant), KSPROPERTY_TYPE_BASICSUPPORT };
	struct ksalloc_batch_method in;
	unsigned char out[256], sent[256];
	uint32_t ret_bytes;
	unsigned int i, f;

	NEED_DEVICE();
	memset(sent, PATTERN, sizeof(sent));
	if (!variant->kernel_only)
		item_prepare(_metadata, self, variant, sent);
	for (f = 0; f < ARRAY_SIZE(flags); f++) {
		memset(&in, 0, sizeof(in));
		in.method = kst_ident(&variant->set, variant->id, flags[f]);
		in.count = 1;
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			if (sizes[i] >= min)
				continue;
			/*
			 * BASICSUPPORT describes the item and needs only
			 * the identifier, not the method's parameters.
			 */
			if (flags[f] == KSPROPERTY_TYPE_BASICSUPPORT &&
			    sizes[i] >= sizeof(struct ksidentifier))
				continue;
			memcpy(out, sent, sizeof(out));
			EXPECT_EQ(-EINVAL, kst_ioctl(self->fd, item_cmd(variant),
						     &in, sizes[i], out,
						     variant->size, 0,
						     &ret_bytes))
				TH_LOG("type 0x%x in_size %u", flags[f], sizes[i]);
			EXPECT_EQ(0, ret_bytes);
			EXPECT_EQ(0, memcmp(out, sent, sizeof(out)));
		}
	}
	if (item_frees(variant))	/* still allocated */
		EXPECT_EQ(0, free_frame(self->alloc, *(uint64_t *)sent));
}

/*
 * An id the item's set does not have: ENOENT. For KSPROPSETID_Connection
 * that includes the ids KS defines but the pin does not implement.
 */
TEST_F(item, unknown_id)
{
	static const uint32_t ids[] = {
		8, 0x100, 0x7fffffff, 0xffffffff,
		KSPROPERTY_CONNECTION_PRIORITY, KSPROPERTY_CONNECTION_DATAFORMAT,
		KSPROPERTY_CONNECTION_PROPOSEDATAFORMAT,
		KSPROPERTY_CONNECTION_ACQUIREORDERING,
		KSPROPERTY_CONNECTION_STARTAT,
	};
	unsigned int i, n = ARRAY_SIZE(ids);
	unsigned char out[256];
	uint32_t ret_bytes;

	NEED_DEVICE();
	if (memcmp(&variant->set, &set_connection, sizeof(variant->set)))
		n = 4;
	for (i = 0; i < n; i++) {
		memset(out, PATTERN, sizeof(out));
		if (variant->kind == EVENT)
			event_data((struct kseventdata *)out, self->efd);
		EXPECT_EQ(-ENOENT, ks_req(self->fd, item_cmd(variant),
					  &variant->set, ids[i],
					  item_op(variant), out, sizeof(out),
					  &ret_bytes)) TH_LOG("id %u", ids[i]);
		EXPECT_EQ(0, ret_bytes);
		EXPECT_EQ(-ENOENT, ks_req(self->fd, item_cmd(variant),
					  &variant->set, ids[i],
					  KSPROPERTY_TYPE_BASICSUPPORT, out,
					  sizeof(out), &ret_bytes));
		EXPECT_EQ(0, ret_bytes);
	}
}

/* A set is found only through its own kind of ioctl. */
TEST_F(item, set_under_other_ioctl)
{
	unsigned char out[256];
	uint32_t ret_bytes;
	int k;

	NEED_DEVICE();
	for (k = PROPERTY; k <= EVENT; k++) {
		if (k == (int)variant->kind)
			continue;
		memset(out, PATTERN, sizeof(out));
		if (k == EVENT)
			event_data((struct kseventdata *)out, self->efd);
		EXPECT_EQ(-ENOENT, ks_req(self->fd, kind_cmd[k], &variant->set,
					  variant->id,
					  k == EVENT ? KSEVENT_TYPE_ENABLE : 1,
					  out, sizeof(out), &ret_bytes))
			TH_LOG("kind %d", k);
		EXPECT_EQ(0, ret_bytes);
		EXPECT_EQ(-ENOENT, ks_req(self->fd, kind_cmd[k], &variant->set,
					  0, KSPROPERTY_TYPE_SETSUPPORT, out,
					  sizeof(out), &ret_bytes));
		EXPECT_EQ(0, ret_bytes);
	}
}

/*
 * open_flags only on requests that return an fd; the pin's ALLOCATOR_FD
 * is one and takes O_CLOEXEC.
 */
TEST_F(item, open_flags)
{
	struct ksidentifier k = kst_ident(&variant->set, variant->id,
					  item_op(variant));
	unsigned char out[256], sent[256];
	uint32_t ret_bytes;
	int64_t fd;
	int ret;

	NEED_DEVICE();
	memset(out, PATTERN, sizeof(out));
	item_prepare(_metadata, self, variant, out);
	memcpy(sent, out, sizeof(out));
	ret = kst_ioctl(self->fd, item_cmd(variant), &k, sizeof(k), out,
			sizeof(out), O_CLOEXEC, &ret_bytes);
	if (variant->kernel_only) {
		EXPECT_EQ(-EOPNOTSUPP, ret);
		EXPECT_EQ(0, ret_bytes);
	} else if (variant->tag != T_ALLOCATOR_FD) {
		EXPECT_EQ(-EINVAL, ret);
		EXPECT_EQ(0, ret_bytes);
		EXPECT_EQ(0, memcmp(out, sent, sizeof(out)));
	} else {
		ASSERT_EQ(0, ret);
		EXPECT_EQ(8, ret_bytes);
		memcpy(&fd, out, sizeof(fd));
		ASSERT_LE(0, fd);
		EXPECT_EQ(FD_CLOEXEC, fcntl((int)fd, F_GETFD) & FD_CLOEXEC);
		EXPECT_EQ(0, close((int)fd));
	}
	if (item_frees(variant))	/* the frame prepared above */
		EXPECT_EQ(0, free_frame(self->alloc, *(uint64_t *)out));

	/* Same for a query of an item that returns no fd */
	if (variant->tag == T_ALLOCATOR_FD)
		return;
	k.flags = KSPROPERTY_TYPE_BASICSUPPORT;
	EXPECT_EQ(variant->kernel_only ? -EOPNOTSUPP : -EINVAL,
		  kst_ioctl(self->fd, item_cmd(variant), &k, sizeof(k), out,
			    sizeof(out), O_CLOEXEC, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
}

/* ---- Per object: set lists and the ks_ioctl_args checks ---- */

FIXTURE(obj)
{
	int pin;
	int alloc;
	int fd;
	bool missing;
};

FIXTURE_VARIANT(obj)
{
	bool on_allocator;
	/* The supported sets per kind, in no particular order */
	unsigned int nsets[3];
	const struct ksguid *sets[3][4];
	/* A Get-able property of the object and its size */
	const struct ksguid *get_set;
	uint32_t get_id;
	uint32_t get_size;
};

FIXTURE_VARIANT_ADD(obj, pin)
{
	.nsets = { 3, 0, 0 },
	.sets = { { &set_stream, &set_connection, &set_ksalloc_pin } },
	.get_set = &set_connection,
	.get_id = KSPROPERTY_CONNECTION_ALLOCATORFRAMING,
	.get_size = sizeof(struct ksallocator_framing),
};

FIXTURE_VARIANT_ADD(obj, allocator)
{
	.on_allocator = true,
	.nsets = { 2, 3, 1 },
	.sets = {
		{ &set_streamallocator, &set_ksalloc_allocator },
		{ &set_alloc_methods, &set_ksalloc_batch, &set_ksalloc_frame },
		{ &set_alloc_events },
	},
	.get_set = &set_streamallocator,
	.get_id = KSPROPERTY_STREAMALLOCATOR_STATUS,
	.get_size = sizeof(struct ksstreamallocator_status),
};

FIXTURE_SETUP(obj)
{
	self->pin = self->alloc = self->fd = -1;
	if (access(KST_DEV, F_OK)) {
		self->missing = true;
		SKIP(return, KST_DEV " is missing (module not loaded)");
	}
	self->pin = open(KST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->pin) {
		TH_LOG("open %s: %s", KST_DEV, strerror(errno));
	}
	self->alloc = create_allocator(self->pin, O_CLOEXEC | O_NONBLOCK);
	ASSERT_LE(0, self->alloc) {
		TH_LOG("IOCTL_KS_CREATE: %s", strerror(-self->alloc));
	}
	self->fd = variant->on_allocator ? self->alloc : self->pin;
}

FIXTURE_TEARDOWN(obj)
{
	if (self->alloc >= 0)
		close(self->alloc);
	if (self->pin >= 0)
		close(self->pin);
}

/* The object's plain Get, with an input of @in_size and open_flags */
static int obj_get(FIXTURE_DATA(obj) *self, const FIXTURE_VARIANT(obj) *v,
		   const void *in, uint32_t in_size, void *out,
		   uint32_t open_flags, uint32_t *returned)
{
	return kst_ioctl(self->fd, IOCTL_KS_PROPERTY, in, in_size, out,
			 v->get_size, open_flags, returned);
}

/* SETSUPPORT on GUID_NULL: a size query, then the list of sets. */
TEST_F(obj, setsupport_lists_sets)
{
	struct ksguid got[8];
	uint32_t ret_bytes, need;
	unsigned int i, j;
	int k;

	NEED_DEVICE();
	for (k = PROPERTY; k <= EVENT; k++) {
		need = 16 * variant->nsets[k];

		memset(got, PATTERN, sizeof(got));
		if (need) {
			EXPECT_EQ(-EOVERFLOW,
				  ks_req(self->fd, kind_cmd[k], &guid_null, 0,
					 KSPROPERTY_TYPE_SETSUPPORT, NULL, 0,
					 &ret_bytes)) TH_LOG("kind %d", k);
			EXPECT_EQ(need, ret_bytes);
			EXPECT_EQ(-EOVERFLOW,
				  ks_req(self->fd, kind_cmd[k], &guid_null, 0,
					 KSPROPERTY_TYPE_SETSUPPORT, got,
					 need - 1, &ret_bytes));
			EXPECT_EQ(need, ret_bytes);
			EXPECT_TRUE(untouched(got, 0, sizeof(got)));
		}

		ASSERT_EQ(0, ks_req(self->fd, kind_cmd[k], &guid_null, 0,
				    KSPROPERTY_TYPE_SETSUPPORT, got,
				    sizeof(got), &ret_bytes)) TH_LOG("kind %d", k);
		ASSERT_EQ(need, ret_bytes) TH_LOG("kind %d", k);
		EXPECT_TRUE(untouched(got, need, sizeof(got)));
		/* Every expected set once, nothing else */
		for (i = 0; i < variant->nsets[k]; i++) {
			unsigned int seen = 0;

			for (j = 0; j < variant->nsets[k]; j++)
				seen += !memcmp(&got[j], variant->sets[k][i], 16);
			EXPECT_EQ(1, seen) TH_LOG("kind %d set %u", k, i);
		}

		/* Each listed set answers SETSUPPORT on itself */
		for (i = 0; i < variant->nsets[k]; i++)
			EXPECT_EQ(0, ks_req(self->fd, kind_cmd[k], &got[i], 0,
					    KSPROPERTY_TYPE_SETSUPPORT, NULL, 0,
					    NULL));
	}
}

/* A set the object does not have: ENOENT for every kind of request. */
TEST_F(obj, unknown_set)
{
	static const uint32_t flags[] = {
		KSPROPERTY_TYPE_GET, KSPROPERTY_TYPE_SET,
		KSPROPERTY_TYPE_BASICSUPPORT, KSPROPERTY_TYPE_SETSUPPORT,
	};
	const struct ksguid *sets[] = { &set_unknown, &guid_null };
	struct kseventdata ed;
	unsigned char out[256];
	uint32_t ret_bytes, f;
	unsigned int i, s;
	int k;

	NEED_DEVICE();
	for (k = PROPERTY; k <= EVENT; k++) {
		for (s = 0; s < ARRAY_SIZE(sets); s++) {
			for (i = 0; i < ARRAY_SIZE(flags); i++) {
				f = flags[i];
				/* GUID_NULL + SETSUPPORT is the list query */
				if (s == 1 && f == KSPROPERTY_TYPE_SETSUPPORT)
					continue;
				memset(out, PATTERN, sizeof(out));
				event_data(&ed, -1);
				if (k == EVENT)
					memcpy(out, &ed, sizeof(ed));
				EXPECT_EQ(-ENOENT,
					  ks_req(self->fd, kind_cmd[k], sets[s],
						 0, f, out, sizeof(out),
						 &ret_bytes))
					TH_LOG("kind %d set %u type 0x%x", k, s, f);
				EXPECT_EQ(0, ret_bytes);
			}
		}
	}
}

/* The input must hold a whole KSIDENTIFIER. */
TEST_F(obj, truncated_input)
{
	static const uint32_t sizes[] = { 0, 1, 16, 20, 23 };
	struct ksidentifier k;
	unsigned char out[256];
	uint32_t ret_bytes;
	unsigned int i;
	int kind;

	NEED_DEVICE();
	for (kind = PROPERTY; kind <= EVENT; kind++) {
		for (i = 0; i < ARRAY_SIZE(sizes); i++) {
			k = kst_ident(variant->get_set, variant->get_id,
				      KSPROPERTY_TYPE_GET);
			memset(out, PATTERN, sizeof(out));
			EXPECT_EQ(-EINVAL,
				  kst_ioctl(self->fd, kind_cmd[kind], &k,
					    sizes[i], out, sizeof(out), 0,
					    &ret_bytes))
				TH_LOG("kind %d in_size %u", kind, sizes[i]);
			EXPECT_EQ(0, ret_bytes);
			EXPECT_TRUE(untouched(out, 0, sizeof(out)));
		}
	}
}

/*
 * Input up to KS_MAX_IN_SIZE is accepted (a KSIDENTIFIER may be followed
 * by more, as KSP_NODE is), one byte more is EINVAL for every ioctl.
 */
TEST_F(obj, input_size_limit)
{
	static const unsigned long cmds[] = {
		IOCTL_KS_PROPERTY, IOCTL_KS_METHOD, IOCTL_KS_ENABLE_EVENT,
		IOCTL_KS_DISABLE_EVENT, IOCTL_KS_RESET_STATE, IOCTL_KS_CREATE,
	};
	unsigned char *in, out[256];
	struct ksidentifier k;
	uint32_t ret_bytes;
	unsigned int i;

	NEED_DEVICE();
	in = calloc(1, KS_MAX_IN_SIZE + 1);
	ASSERT_TRUE(in != NULL);
	k = kst_ident(variant->get_set, variant->get_id, KSPROPERTY_TYPE_GET);
	memcpy(in, &k, sizeof(k));

	memset(out, PATTERN, sizeof(out));
	EXPECT_EQ(0, obj_get(self, variant, in, KS_MAX_IN_SIZE, out, 0,
			     &ret_bytes));
	EXPECT_EQ(variant->get_size, ret_bytes);

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		/* (the pin has no events to disable, the allocator no CREATE) */
		if (cmds[i] == (variant->on_allocator ? IOCTL_KS_CREATE :
				IOCTL_KS_DISABLE_EVENT))
			continue;
		memset(out, PATTERN, sizeof(out));
		EXPECT_EQ(-EINVAL, kst_ioctl(self->fd, cmds[i], in,
					     KS_MAX_IN_SIZE + 1, out,
					     sizeof(out), 0, &ret_bytes))
			TH_LOG("cmd 0x%lx", cmds[i]);
		EXPECT_TRUE(untouched(out, 0, sizeof(out)));
		EXPECT_EQ(-EINVAL, kst_ioctl(self->fd, cmds[i], in, 0xffffffff,
					     out, sizeof(out), 0, &ret_bytes));
	}
	free(in);
}

/* Bad user pointers: EFAULT, and bytes_returned 0. */
TEST_F(obj, bad_buffers)
{
	struct ksidentifier k = kst_ident(variant->get_set, variant->get_id,
					  KSPROPERTY_TYPE_GET);
	unsigned char out[256], *page;
	uint32_t ret_bytes;
	size_t ps;

	NEED_DEVICE();
	page = guarded_page(&ps);
	ASSERT_TRUE(page != NULL);

	/* Control: the same request from good buffers works */
	ASSERT_EQ(0, obj_get(self, variant, &k, sizeof(k), out, 0, NULL));

	/* Input at NULL, in the hole, across into the hole */
	EXPECT_EQ(-EFAULT, obj_get(self, variant, NULL, sizeof(k), out, 0,
				   &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	EXPECT_EQ(-EFAULT, obj_get(self, variant, page + ps, sizeof(k), out, 0,
				   &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	memcpy(page + ps - 16, &k, 16);
	EXPECT_EQ(-EFAULT, obj_get(self, variant, page + ps - 16, sizeof(k),
				   out, 0, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	/* The same identifier ending right at the hole is fine */
	memcpy(page + ps - sizeof(k), &k, sizeof(k));
	EXPECT_EQ(0, obj_get(self, variant, page + ps - sizeof(k), sizeof(k),
			     out, 0, &ret_bytes));
	EXPECT_EQ(variant->get_size, ret_bytes);

	/* Output at NULL, in the hole, across into the hole, read-only */
	EXPECT_EQ(-EFAULT, obj_get(self, variant, &k, sizeof(k), NULL, 0,
				   &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	EXPECT_EQ(-EFAULT, obj_get(self, variant, &k, sizeof(k), page + ps, 0,
				   &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	EXPECT_EQ(-EFAULT, obj_get(self, variant, &k, sizeof(k),
				   page + ps - 4, 0, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	ASSERT_EQ(0, mprotect(page, ps, PROT_READ));
	EXPECT_EQ(-EFAULT, obj_get(self, variant, &k, sizeof(k), page, 0,
				   &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	ASSERT_EQ(0, mprotect(page, ps, PROT_READ | PROT_WRITE));

	/* BASICSUPPORT and SETSUPPORT answers go through the same copy */
	k.flags = KSPROPERTY_TYPE_BASICSUPPORT;
	EXPECT_EQ(-EFAULT, kst_ioctl(self->fd, IOCTL_KS_PROPERTY, &k, sizeof(k),
				     page + ps, 40, 0, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	k = kst_ident(&guid_null, 0, KSPROPERTY_TYPE_SETSUPPORT);
	EXPECT_EQ(-EFAULT, kst_ioctl(self->fd, IOCTL_KS_PROPERTY, &k, sizeof(k),
				     page + ps, 256, 0, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);

	EXPECT_EQ(0, munmap(page, 2 * ps));
}

/* The ks_ioctl_args block itself at a bad address: EFAULT. */
TEST_F(obj, bad_args_pointer)
{
	struct ksidentifier k = kst_ident(variant->get_set, variant->get_id,
					  KSPROPERTY_TYPE_GET);
	unsigned char out[256], *page;
	struct ks_ioctl_args a = {
		.in_buffer = ptr(&k), .out_buffer = ptr(out),
		.in_size = sizeof(k), .out_size = variant->get_size,
	};
	size_t ps;

	NEED_DEVICE();
	page = guarded_page(&ps);
	ASSERT_TRUE(page != NULL);

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, IOCTL_KS_PROPERTY, NULL));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, IOCTL_KS_PROPERTY, page + ps));
	EXPECT_EQ(EFAULT, errno);
	/* Half of it readable */
	memcpy(page + ps - 24, &a, 24);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, IOCTL_KS_PROPERTY, page + ps - 24));
	EXPECT_EQ(EFAULT, errno);

	/* Readable but not writable: bytes_returned cannot be written back */
	memcpy(page, &a, sizeof(a));
	ASSERT_EQ(0, mprotect(page, ps, PROT_READ));
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->fd, IOCTL_KS_PROPERTY, page));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mprotect(page, ps, PROT_READ | PROT_WRITE));

	/* Control: the same block writable works */
	EXPECT_EQ(0, ioctl(self->fd, IOCTL_KS_PROPERTY, page));
	EXPECT_EQ(variant->get_size, ((struct ks_ioctl_args *)page)->bytes_returned);

	EXPECT_EQ(0, munmap(page, 2 * ps));
}

/*
 * A request whose bytes_returned cannot be written back takes no effect:
 * the kernel checks that it can write it before the request runs. The
 * argument block is in a page made read-only after it was filled in; each
 * of the three requests that change state fails with EFAULT and leaves
 * the state as it was, and succeeds once the page is writable again.
 */
static int ro_request(int fd, unsigned long cmd, void *page, size_t ps,
		      const void *in, uint32_t in_size, void *out,
		      uint32_t out_size)
{
	struct ks_ioctl_args *a = page;
	int ret;

	memset(a, 0, sizeof(*a));
	a->in_buffer = ptr(in);
	a->in_size = in_size;
	a->out_buffer = ptr(out);
	a->out_size = out_size;
	a->bytes_returned = DEADBEEF;
	if (mprotect(page, ps, PROT_READ))
		return -1000;
	ret = ioctl(fd, cmd, a) < 0 ? -errno : 0;
	if (mprotect(page, ps, PROT_READ | PROT_WRITE))
		return -1000;
	if (a->bytes_returned != DEADBEEF)
		return -1001;
	return ret;
}

FIXTURE(ro)
{
	unsigned char *page;	/* and a guard page */
	size_t ps;
	int pin, a, b, efd;
	struct kseventdata ed;	/* an EVENT_HANDLE for efd */
	bool missing;
};

FIXTURE_SETUP(ro)
{
	self->page = NULL;
	self->pin = self->a = self->b = self->efd = -1;
	if (access(KST_DEV, F_OK)) {
		self->missing = true;
		SKIP(return, KST_DEV " is missing (module not loaded)");
	}
	self->page = guarded_page(&self->ps);
	ASSERT_TRUE(self->page != NULL);
	self->pin = kst_open_pin();
	ASSERT_LE(0, self->pin);
	self->a = kst_create_system(self->pin, 2, O_CLOEXEC);
	ASSERT_LE(0, self->a);
	self->b = kst_create_system(self->pin, 2, O_CLOEXEC);
	ASSERT_LE(0, self->b);
	self->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, self->efd);
	memset(&self->ed, 0, sizeof(self->ed));
	self->ed.notification_type = KSEVENTF_EVENT_HANDLE;
	self->ed.event_handle.event = self->efd;
}

FIXTURE_TEARDOWN(ro)
{
	if (self->efd >= 0)
		close(self->efd);
	if (self->b >= 0)
		close(self->b);
	if (self->a >= 0)
		close(self->a);
	if (self->pin >= 0)
		close(self->pin);
	if (self->page)
		munmap(self->page, 2 * self->ps);
}

/* SET CONNECTION_STATE: still KSSTATE_STOP */
TEST_F(ro, connection_state)
{
	struct ksidentifier st = kst_ident(&set_connection,
					   KSPROPERTY_CONNECTION_STATE,
					   KSPROPERTY_TYPE_SET);
	uint32_t state = KSSTATE_RUN;

	NEED_DEVICE();
	EXPECT_EQ(-EFAULT, ro_request(self->pin, IOCTL_KS_PROPERTY, self->page,
				      self->ps, &st, sizeof(st), &state,
				      sizeof(state)));
	state = DEADBEEF;
	EXPECT_EQ(0, kst_get_state(self->pin, &state));
	EXPECT_EQ(KSSTATE_STOP, state);

	/* Control: the same request with the block writable works. */
	EXPECT_EQ(0, kst_set_state(self->pin, KSSTATE_RUN));
	EXPECT_EQ(0, kst_get_state(self->pin, &state));
	EXPECT_EQ(KSSTATE_RUN, state);
}

/* The allocator a pin holds, by id; 0 for none */
static __u64 pin_allocator_id(int pin)
{
	int fd = kst_pin_allocator_fd(pin, O_CLOEXEC);
	__u64 id;

	if (fd < 0)
		return 0;
	id = kst_allocator_id(fd);
	close(fd);
	return id;
}

/* SET STREAM_ALLOCATOR: the pin keeps what it had (a, then none) */
TEST_F(ro, stream_allocator)
{
	struct ksidentifier sa = kst_ident(&set_stream,
					   KSPROPERTY_STREAM_ALLOCATOR,
					   KSPROPERTY_TYPE_SET);
	__u64 id_a = kst_allocator_id(self->a), id_b = kst_allocator_id(self->b);
	__s64 handle = self->b;

	NEED_DEVICE();
	ASSERT_NE(0, id_a);
	ASSERT_EQ(0, kst_set_allocator(self->pin, self->a));
	EXPECT_EQ(-EFAULT, ro_request(self->pin, IOCTL_KS_PROPERTY, self->page,
				      self->ps, &sa, sizeof(sa), &handle,
				      sizeof(handle)));
	EXPECT_EQ(id_a, pin_allocator_id(self->pin));
	handle = KS_NULL_HANDLE;
	EXPECT_EQ(-EFAULT, ro_request(self->pin, IOCTL_KS_PROPERTY, self->page,
				      self->ps, &sa, sizeof(sa), &handle,
				      sizeof(handle)));
	EXPECT_EQ(id_a, pin_allocator_id(self->pin));

	ASSERT_EQ(0, kst_set_allocator(self->pin, KS_NULL_HANDLE));
	handle = self->b;
	EXPECT_EQ(-EFAULT, ro_request(self->pin, IOCTL_KS_PROPERTY, self->page,
				      self->ps, &sa, sizeof(sa), &handle,
				      sizeof(handle)));
	EXPECT_EQ(0, pin_allocator_id(self->pin));

	/* Control */
	EXPECT_EQ(0, kst_set_allocator(self->pin, self->b));
	EXPECT_EQ(id_b, pin_allocator_id(self->pin));
}

/* ENABLE_EVENT: not enabled, so a free signals nothing */
TEST_F(ro, enable_event)
{
	struct ksidentifier ev = kst_ident(&set_alloc_events,
					   KSEVENT_STREAMALLOCATOR_FREEFRAME,
					   KSEVENT_TYPE_ENABLE);
	__u64 off, count = 0;

	NEED_DEVICE();
	EXPECT_EQ(-EFAULT, ro_request(self->a, IOCTL_KS_ENABLE_EVENT,
				      self->page, self->ps, &ev, sizeof(ev),
				      &self->ed, sizeof(self->ed)));
	ASSERT_EQ(0, ioctl(self->a, IOCTL_KSALLOC_ALLOC_FRAME, &off));
	ASSERT_EQ(0, ioctl(self->a, IOCTL_KSALLOC_FREE_FRAME, &off));
	EXPECT_EQ(-1, read(self->efd, &count, sizeof(count)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-ENOENT, kst_ioctl(self->a, IOCTL_KS_DISABLE_EVENT,
				     &self->ed, sizeof(self->ed), NULL, 0, 0,
				     NULL));

	/* Control: enabled once, signalled once, disabled once */
	ASSERT_EQ(0, kst_ioctl(self->a, IOCTL_KS_ENABLE_EVENT, &ev, sizeof(ev),
			       &self->ed, sizeof(self->ed), 0, NULL));
	ASSERT_EQ(0, ioctl(self->a, IOCTL_KSALLOC_ALLOC_FRAME, &off));
	ASSERT_EQ(0, ioctl(self->a, IOCTL_KSALLOC_FREE_FRAME, &off));
	EXPECT_EQ(sizeof(count), read(self->efd, &count, sizeof(count)));
	EXPECT_EQ(1, count);
	EXPECT_EQ(0, kst_ioctl(self->a, IOCTL_KS_DISABLE_EVENT, &self->ed,
			       sizeof(self->ed), NULL, 0, 0, NULL));
	EXPECT_EQ(-ENOENT, kst_ioctl(self->a, IOCTL_KS_DISABLE_EVENT,
				     &self->ed, sizeof(self->ed), NULL, 0, 0,
				     NULL));
}

/* reserved[] must be 0, on every ioctl the object answers. */
TEST_F(obj, reserved_fields)
{
	struct ksidentifier k = kst_ident(variant->get_set, variant->get_id,
					  KSPROPERTY_TYPE_GET);
	struct ks_ioctl_args a;
	unsigned char out[256];
	int r;

	NEED_DEVICE();
	memset(out, PATTERN, sizeof(out));
	for (r = 0; r < 2; r++) {
		memset(&a, 0, sizeof(a));
		a.in_buffer = ptr(&k);
		a.in_size = sizeof(k);
		a.out_buffer = ptr(out);
		a.out_size = variant->get_size;
		a.bytes_returned = DEADBEEF;
		a.reserved[r] = 1;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, IOCTL_KS_PROPERTY, &a));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_TRUE(untouched(out, 0, sizeof(out)));

		a.reserved[r] = 1ull << 63;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, IOCTL_KS_PROPERTY, &a));
		EXPECT_EQ(EINVAL, errno);

		/* Requests without an identifier are checked the same way */
		memset(&a, 0, sizeof(a));
		a.reserved[r] = 1;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, IOCTL_KS_RESET_STATE, &a));
		EXPECT_EQ(EINVAL, errno);
		if (variant->on_allocator) {
			errno = 0;
			EXPECT_EQ(-1, ioctl(self->fd, IOCTL_KS_DISABLE_EVENT, &a));
			EXPECT_EQ(EINVAL, errno);
		} else {
			errno = 0;
			EXPECT_EQ(-1, ioctl(self->fd, IOCTL_KS_CREATE, &a));
			EXPECT_EQ(EINVAL, errno);
		}
	}
	/* Control: all zero */
	memset(&a, 0, sizeof(a));
	a.in_buffer = ptr(&k);
	a.in_size = sizeof(k);
	a.out_buffer = ptr(out);
	a.out_size = variant->get_size;
	EXPECT_EQ(0, ioctl(self->fd, IOCTL_KS_PROPERTY, &a));
	EXPECT_EQ(variant->get_size, a.bytes_returned);
}

/* open_flags bits other than O_CLOEXEC and O_NONBLOCK: EINVAL. */
TEST_F(obj, open_flags_bits)
{
	static const uint32_t bad[] = {
		O_RDWR, O_WRONLY, O_APPEND, O_SYNC, O_CREAT, O_NOCTTY,
		O_CLOEXEC | O_APPEND, O_NONBLOCK | O_DIRECT, 0x80000000u,
	};
	struct ksidentifier k = kst_ident(variant->get_set, variant->get_id,
					  KSPROPERTY_TYPE_GET);
	unsigned char out[256];
	uint32_t ret_bytes;
	unsigned int i;

	NEED_DEVICE();
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(out, PATTERN, sizeof(out));
		EXPECT_EQ(-EINVAL, obj_get(self, variant, &k, sizeof(k), out,
					   bad[i], &ret_bytes))
			TH_LOG("open_flags 0x%x", bad[i]);
		EXPECT_TRUE(untouched(out, 0, sizeof(out)));
	}
	/* Valid bits on a request that returns no fd: EINVAL all the same */
	EXPECT_EQ(-EINVAL, obj_get(self, variant, &k, sizeof(k), out,
				   O_NONBLOCK, &ret_bytes));
	EXPECT_EQ(-EINVAL, obj_get(self, variant, &k, sizeof(k), out,
				   O_CLOEXEC | O_NONBLOCK, &ret_bytes));
}

/*
 * bytes_returned is 0 after every error but EOVERFLOW, also when the
 * ks_ioctl_args block itself is refused (reserved fields, open_flags bits,
 * in_size above the limit): a caller that reads it after a failure must
 * not see a stale or uninitialised count.
 */
TEST_F(obj, bytes_returned_after_invalid_args)
{
	struct ksidentifier k = kst_ident(variant->get_set, variant->get_id,
					  KSPROPERTY_TYPE_GET);
	static const char *const what[] = {
		"reserved[0] = 1", "reserved[1] = 1", "open_flags O_APPEND",
		"in_size KS_MAX_IN_SIZE + 1",
	};
	unsigned char *in, out[256];
	struct ks_ioctl_args a;
	unsigned int i;

	NEED_DEVICE();
	in = calloc(1, KS_MAX_IN_SIZE + 1);
	ASSERT_TRUE(in != NULL);
	memcpy(in, &k, sizeof(k));
	for (i = 0; i < ARRAY_SIZE(what); i++) {
		memset(&a, 0, sizeof(a));
		a.in_buffer = ptr(in);
		a.in_size = sizeof(k);
		a.out_buffer = ptr(out);
		a.out_size = variant->get_size;
		a.bytes_returned = DEADBEEF;
		if (i < 2)
			a.reserved[i] = 1;
		else if (i == 2)
			a.open_flags = O_APPEND;
		else
			a.in_size = KS_MAX_IN_SIZE + 1;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, IOCTL_KS_PROPERTY, &a));
		EXPECT_EQ(EINVAL, errno) TH_LOG("%s", what[i]);
		EXPECT_EQ(0, a.bytes_returned) {
			TH_LOG("%s: bytes_returned left at 0x%x; the dispatcher "
			       "returns before writing it back when it refuses "
			       "the args block", what[i], a.bytes_returned);
		}
	}
	free(in);
}

/* Numbers the driver does not define: ENOTTY, whatever the encoding. */
TEST_F(obj, unknown_ioctl_numbers)
{
	const unsigned long cmds[] = {
		_IOWR(KS_IOCTL_TYPE, 0x04, struct ks_ioctl_args),
		_IOWR(KS_IOCTL_TYPE, 0x05, struct ks_ioctl_args),
		_IOWR(KS_IOCTL_TYPE, 0x07, struct ks_ioctl_args),
		_IOWR(KS_IOCTL_TYPE, 0x3f, struct ks_ioctl_args),
		_IOWR(KS_IOCTL_TYPE, 0x41, struct ks_ioctl_args),
		_IOWR(KS_IOCTL_TYPE, 0xff, struct ks_ioctl_args),
		/* the right number with another size */
		_IOWR(KS_IOCTL_TYPE, 0x00, struct ksidentifier),
		_IOWR(KS_IOCTL_TYPE, 0x00, char[40]),
		_IOWR(KS_IOCTL_TYPE, 0x00, char[56]),
		_IOWR(KS_IOCTL_TYPE, 0x03, uint32_t),
		/* or another direction */
		_IO(KS_IOCTL_TYPE, 0x00),
		_IO(KS_IOCTL_TYPE, 0x03),
		_IOR(KS_IOCTL_TYPE, 0x00, struct ks_ioctl_args),
		_IOW(KS_IOCTL_TYPE, 0x00, struct ks_ioctl_args),
		_IOW(KS_IOCTL_TYPE, 0x06, struct ks_ioctl_args),
		/* or another type byte */
		_IOWR(KS_IOCTL_TYPE + 1, 0x00, struct ks_ioctl_args),
		_IOWR(0x00, 0x00, struct ks_ioctl_args),
		/* the Windows control code itself */
		0x002f0003,
	};
	struct ks_ioctl_args a;
	unsigned int i;

	NEED_DEVICE();
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		memset(&a, 0, sizeof(a));
		a.bytes_returned = DEADBEEF;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], &a))
			TH_LOG("cmd 0x%lx", cmds[i]);
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd 0x%lx", cmds[i]);
		/* Unknown commands never touch the block */
		EXPECT_EQ(DEADBEEF, a.bytes_returned);
	}
}

/* IOCTL_KS_RESET_STATE takes a KSRESET value (4 bytes) as input. */
TEST_F(obj, reset_state_input)
{
	uint32_t v[2] = { KSRESET_BEGIN, 0 }, ret_bytes;
	unsigned char *page;
	uint32_t size;
	size_t ps;

	NEED_DEVICE();
	for (size = 0; size < 4; size++) {
		EXPECT_EQ(-EINVAL, kst_ioctl(self->fd, IOCTL_KS_RESET_STATE, v,
					     size, NULL, 0, 0, &ret_bytes))
			TH_LOG("in_size %u", size);
		EXPECT_EQ(0, ret_bytes);
	}
	for (v[0] = KSRESET_END + 1; v[0] < KSRESET_END + 3; v[0]++)
		EXPECT_EQ(-EINVAL, kst_ioctl(self->fd, IOCTL_KS_RESET_STATE, v,
					     4, NULL, 0, 0, &ret_bytes));
	v[0] = 0xffffffff;
	EXPECT_EQ(-EINVAL, kst_ioctl(self->fd, IOCTL_KS_RESET_STATE, v, 4,
				     NULL, 0, 0, NULL));
	EXPECT_EQ(-EFAULT, kst_ioctl(self->fd, IOCTL_KS_RESET_STATE, NULL, 4,
				     NULL, 0, 0, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	page = guarded_page(&ps);
	ASSERT_TRUE(page != NULL);
	EXPECT_EQ(-EFAULT, kst_ioctl(self->fd, IOCTL_KS_RESET_STATE, page + ps,
				     4, NULL, 0, 0, NULL));
	EXPECT_EQ(-EFAULT, kst_ioctl(self->fd, IOCTL_KS_RESET_STATE,
				     page + ps - 2, 4, NULL, 0, 0, NULL));
	EXPECT_EQ(0, munmap(page, 2 * ps));
	/* It returns no fd */
	v[0] = KSRESET_END;
	EXPECT_EQ(-EINVAL, kst_ioctl(self->fd, IOCTL_KS_RESET_STATE, v, 4,
				     NULL, 0, O_CLOEXEC, NULL));

	/* Control: BEGIN then END, with a longer input (only 4 bytes count) */
	v[0] = KSRESET_BEGIN;
	v[1] = 0xffffffff;
	EXPECT_EQ(0, kst_ioctl(self->fd, IOCTL_KS_RESET_STATE, v, sizeof(v),
			       NULL, 0, 0, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	v[0] = KSRESET_END;
	EXPECT_EQ(0, kst_ioctl(self->fd, IOCTL_KS_RESET_STATE, v, 4, NULL, 0,
			       0, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
}

/*
 * IOCTL_KS_DISABLE_EVENT takes the KSEVENTDATA an event was enabled with
 * (32 bytes) or nothing (all events). The pin has no events.
 */
TEST_F(obj, disable_event_input)
{
	struct kseventdata ed;
	uint32_t size, ret_bytes;

	NEED_DEVICE();
	event_data(&ed, 0);
	if (!variant->on_allocator) {
		EXPECT_EQ(-ENOTTY, kst_ioctl(self->fd, IOCTL_KS_DISABLE_EVENT,
					     &ed, sizeof(ed), NULL, 0, 0, NULL));
		EXPECT_EQ(-ENOTTY, kst_ioctl(self->fd, IOCTL_KS_DISABLE_EVENT,
					     NULL, 0, NULL, 0, 0, NULL));
		return;
	}
	for (size = 1; size < sizeof(ed); size++) {
		EXPECT_EQ(-EINVAL, kst_ioctl(self->fd, IOCTL_KS_DISABLE_EVENT,
					     &ed, size, NULL, 0, 0, &ret_bytes))
			TH_LOG("in_size %u", size);
		EXPECT_EQ(0, ret_bytes);
	}
	EXPECT_EQ(-EFAULT, kst_ioctl(self->fd, IOCTL_KS_DISABLE_EVENT, NULL,
				     sizeof(ed), NULL, 0, 0, NULL));
	EXPECT_EQ(-EINVAL, kst_ioctl(self->fd, IOCTL_KS_DISABLE_EVENT, NULL, 0,
				     NULL, 0, O_CLOEXEC, NULL));
	/* Nothing enabled with this KSEVENTDATA */
	EXPECT_EQ(-ENOENT, kst_ioctl(self->fd, IOCTL_KS_DISABLE_EVENT, &ed,
				     sizeof(ed), NULL, 0, 0, NULL));
	/* No input: every event, also when there are none */
	EXPECT_EQ(0, kst_ioctl(self->fd, IOCTL_KS_DISABLE_EVENT, NULL, 0, NULL,
			       0, 0, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
}

/* Only a pin creates objects; the pin has no methods or events. */
TEST_F(obj, requests_the_object_has_no_table_for)
{
	struct ksallocator_create c = {
		.object_type = KSNAME_Allocator,
		.framing = {
			.options_flags = KSALLOCATOR_OPTIONF_SYSTEM_MEMORY,
			.frames = 1, .frame_size = 4096,
		},
	};
	struct kseventdata ed;
	uint32_t ret_bytes;
	int64_t fd = -2;
	int ret;

	NEED_DEVICE();
	ret = kst_ioctl(self->fd, IOCTL_KS_CREATE, &c, sizeof(c), &fd,
			sizeof(fd), O_CLOEXEC, &ret_bytes);
	if (variant->on_allocator) {
		/* Refused by its number, like any ioctl the object lacks */
		EXPECT_EQ(-ENOTTY, ret);
		EXPECT_EQ(DEADBEEF, ret_bytes);
		EXPECT_EQ(-2, fd);
		return;
	}
	ASSERT_EQ(0, ret);	/* control */
	EXPECT_EQ(8, ret_bytes);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, close((int)fd));

	EXPECT_EQ(-ENOENT, ks_req(self->fd, IOCTL_KS_METHOD, &set_alloc_methods,
				  KSMETHOD_STREAMALLOCATOR_ALLOC,
				  KSMETHOD_TYPE_WRITE, &fd, sizeof(fd), NULL));
	event_data(&ed, -1);
	EXPECT_EQ(-ENOENT, ks_req(self->fd, IOCTL_KS_ENABLE_EVENT,
				  &set_alloc_events,
				  KSEVENT_STREAMALLOCATOR_FREEFRAME,
				  KSEVENT_TYPE_ENABLE, &ed, sizeof(ed), NULL));
}

/*
 * A request that would return an fd but cannot copy it out publishes
 * nothing: no fd appears in the table.
 */
TEST(efault_publishes_no_fd)
{
	struct ksallocator_create c = {
		.object_type = KSNAME_Allocator,
		.framing = {
			.options_flags = KSALLOCATOR_OPTIONF_SYSTEM_MEMORY,
			.frames = 1, .frame_size = 4096,
		},
	};
	struct ksidentifier k = kst_ident(&set_ksalloc_pin,
					  KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
					  KSPROPERTY_TYPE_GET);
	int pin, alloc, lowest;
	unsigned char *page;
	uint32_t ret_bytes;
	size_t ps;

	if (access(KST_DEV, F_OK))
		SKIP(return, KST_DEV " is missing");
	pin = open(KST_DEV, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, pin);
	alloc = create_allocator(pin, O_CLOEXEC);
	ASSERT_LE(0, alloc);
	ASSERT_EQ(0, kst_set_allocator(pin, alloc));
	page = guarded_page(&ps);
	ASSERT_TRUE(page != NULL);
	ASSERT_EQ(0, mprotect(page, ps, PROT_READ));

	lowest = lowest_free_fd();
	EXPECT_EQ(-EFAULT, kst_ioctl(pin, IOCTL_KS_CREATE, &c, sizeof(c), page,
				     8, O_CLOEXEC, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	EXPECT_EQ(lowest, lowest_free_fd());
	EXPECT_EQ(-EFAULT, kst_ioctl(pin, IOCTL_KS_PROPERTY, &k, sizeof(k), page,
				     8, O_CLOEXEC, &ret_bytes));
	EXPECT_EQ(0, ret_bytes);
	EXPECT_EQ(lowest, lowest_free_fd());
	EXPECT_EQ(-EFAULT, kst_ioctl(pin, IOCTL_KS_PROPERTY, &k, sizeof(k),
				     page + ps - 4, 8, 0, &ret_bytes));
	EXPECT_EQ(lowest, lowest_free_fd());

	EXPECT_EQ(0, munmap(page, 2 * ps));
	EXPECT_EQ(0, close(alloc));
	EXPECT_EQ(0, close(pin));
}

/* ---- The set GUIDs are the canonical ones, in Windows memory layout ---- */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX" -> bytes, Data1..3 little-endian */
static bool parse_guid(const char *s, unsigned char b[16])
{
	static const int order[16] = {
		3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15
	};
	unsigned char v[16];
	int i, n = 0;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
			continue;
		}
		if (hexval(s[i]) < 0 || hexval(s[i + 1]) < 0)
			return false;
		v[n++] = hexval(s[i]) << 4 | hexval(s[i + 1]);
		i++;
	}
	for (i = 0; i < 16; i++)
		b[order[i]] = v[i];
	return n == 16;
}

TEST(guid_bytes)
{
	static const struct {
		const char *name;
		struct ksguid g;
		const char *s;
	} guids[] = {
		{ "KSPROPSETID_Stream", KSPROPSETID_Stream,
		  "65AABA60-98AE-11CF-A10D-0020AFD156E4" },
		{ "KSPROPSETID_StreamAllocator", KSPROPSETID_StreamAllocator,
		  "CF6E4342-EC87-11CF-A130-0020AFD156E4" },
		{ "KSMETHODSETID_StreamAllocator", KSMETHODSETID_StreamAllocator,
		  "CF6E4341-EC87-11CF-A130-0020AFD156E4" },
		{ "KSEVENTSETID_StreamAllocator", KSEVENTSETID_StreamAllocator,
		  "75D95571-073C-11D0-A161-0020AFD156E4" },
		{ "KSPROPSETID_Connection", KSPROPSETID_Connection,
		  "1D58C920-AC9B-11CF-A5D6-28DB04C10000" },
		{ "KSPROPTYPESETID_General", KSPROPTYPESETID_General,
		  "97E99BA0-BDEA-11CF-A5D6-28DB04C10000" },
		{ "KSNAME_Allocator", KSNAME_Allocator,
		  "642F5D00-4791-11D0-A5D6-28DB04C10000" },
		{ "KSNAME_AllocatorEx", KSNAME_AllocatorEx,
		  "091BB63B-603F-11D1-B067-00A0C9062802" },
		{ "KSMEMORY_TYPE_SYSTEM", KSMEMORY_TYPE_SYSTEM,
		  "091BB638-603F-11D1-B067-00A0C9062802" },
		{ "KSMEMORY_TYPE_KERNEL_NONPAGED", KSMEMORY_TYPE_KERNEL_NONPAGED,
		  "4A6D5FC4-7895-11D1-B069-00A0C9062802" },
		{ "KSMEMORY_TYPE_KERNEL_PAGED", KSMEMORY_TYPE_KERNEL_PAGED,
		  "D833F8F8-7894-11D1-B069-00A0C9062802" },
		{ "KSMEMORY_TYPE_WILDCARD", KSMEMORY_TYPE_WILDCARD,
		  "00000000-0000-0000-0000-000000000000" },
		{ "KSGUID_NULL", KSGUID_NULL,
		  "00000000-0000-0000-0000-000000000000" },
		{ "KSPROPSETID_KsallocPin", KSPROPSETID_KsallocPin,
		  "0940A18F-F4EC-4215-95A5-D868F3F35957" },
		{ "KSPROPSETID_KsallocAllocator", KSPROPSETID_KsallocAllocator,
		  "F18C1172-EE3D-4EE8-B84A-5D208DD3191E" },
	};
	unsigned char b[16];
	unsigned int i, j;

	/* The parser itself, on the layout the KS documentation shows */
	ASSERT_TRUE(parse_guid("65AABA60-98AE-11CF-A10D-0020AFD156E4", b));
	EXPECT_EQ(0x60, b[0]);
	EXPECT_EQ(0x65, b[3]);
	EXPECT_EQ(0xae, b[4]);
	EXPECT_EQ(0xcf, b[6]);
	EXPECT_EQ(0xa1, b[8]);
	EXPECT_EQ(0xe4, b[15]);

	for (i = 0; i < ARRAY_SIZE(guids); i++) {
		ASSERT_TRUE(parse_guid(guids[i].s, b));
		EXPECT_EQ(0, memcmp(guids[i].g.b, b, 16)) {
			TH_LOG("%s is not {%s}", guids[i].name, guids[i].s);
		}
	}
	/* No two share a GUID (GUID_NULL and the wildcard excepted) */
	for (i = 0; i < ARRAY_SIZE(guids); i++) {
		unsigned int same = 0;

		if (!strcmp(guids[i].s, "00000000-0000-0000-0000-000000000000"))
			continue;
		for (j = 0; j < ARRAY_SIZE(guids); j++)
			same += !memcmp(guids[i].g.b, guids[j].g.b, 16);
		EXPECT_EQ(1, same) TH_LOG("%s", guids[i].name);
	}
}

TEST_HARNESS_MAIN
