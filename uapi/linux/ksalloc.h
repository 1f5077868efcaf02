/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ksalloc: Windows Kernel Streaming (KS) stream allocators for Linux.
 *
 * This is the only header user space needs. Names and values follow the
 * Windows SDK's ks.h (set GUIDs, ids, type flags, layouts); structures use
 * fixed-width types so 32- and 64-bit processes share one layout.
 *
 * Objects
 *   open("/dev/ksalloc")  a pin (KS connection point).
 *   IOCTL_KS_CREATE       on a pin: creates an allocator from a
 *                         KSALLOCATOR_FRAMING and returns its fd
 *                         (KsCreateAllocator).
 *
 * Requests
 *   Every ioctl takes a struct ks_ioctl_args, shaped like the arguments of
 *   DeviceIoControl(): an input buffer (the KSIDENTIFIER and anything after
 *   it), an output buffer (the value, in both directions, as in KS), and
 *   bytes_returned written back by the kernel, also on -EOVERFLOW.
 *
 *   KS status                          errno
 *   STATUS_SUCCESS                     0
 *   STATUS_PROPSET_NOT_FOUND           ENOENT   unknown set
 *   STATUS_NOT_FOUND                   ENOENT   unknown id in a known set
 *   STATUS_NOT_SUPPORTED,              EOPNOTSUPP  type flag the item does
 *   STATUS_INVALID_DEVICE_REQUEST               not support, kernel-only item
 *   STATUS_BUFFER_OVERFLOW,            EOVERFLOW  output too small (0 = size
 *   STATUS_BUFFER_TOO_SMALL                       query); bytes_returned holds
 *                                                 the size needed
 *   STATUS_INVALID_PARAMETER,          EINVAL   truncated input, non-zero
 *   STATUS_INVALID_BUFFER_SIZE                  reserved field, unknown flag
 *                                               bit, bad value, wrong fd type
 *   STATUS_OBJECT_TYPE_MISMATCH        EINVAL   fd of another kind
 *   STATUS_INVALID_HANDLE              EBADF    not an open fd
 *   STATUS_ACCESS_VIOLATION            EFAULT   bad user pointer
 *   STATUS_PENDING                     EAGAIN   no frame free, O_NONBLOCK
 *                                               (io_uring ALLOC: NOWAIT,
 *                                               or not queued on 6.1)
 *   STATUS_CANCELLED                   ECANCELED  cancelled by KSRESET_BEGIN,
 *                                                 or a queued io_uring ALLOC
 *                                                 cancelled
 *   STATUS_INVALID_DEVICE_STATE        EBUSY    e.g. allocator set outside
 *                                               KSSTATE_STOP
 *   STATUS_INSUFFICIENT_RESOURCES      ENOMEM   out of memory or over a cap
 *   STATUS_TOO_MANY_OPENED_FILES       EMFILE   no fd free for a new handle
 *   (frame owned by its dma-buf)       EBUSY    FREE or EXPORT of a frame
 *                                               that KSALLOC_FRAMEF_DMABUF
 *                                               handed out
 *   (contiguous frame too large)       E2BIG    above the largest buddy
 *                                               block (KSALLOC_CREATEF_
 *                                               CONTIGUOUS)
 *   (arithmetic overflow)              EOVERFLOW  frame_size rounded up to
 *                                               pages overflows 32 bits
 *   (unknown ioctl)                    ENOTTY
 *
 * Handles are fds. The KS null handle is KS_NULL_HANDLE (-1): fd 0 is a
 * valid fd on Linux.
 */
#ifndef _UAPI_LINUX_KSALLOC_H
#define _UAPI_LINUX_KSALLOC_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * A GUID in the Windows in-memory layout (Data1..Data3 little-endian). The
 * set macros below are initializers: struct ksguid g = KSPROPSETID_Stream;
 * Aligned to 8 so that KSIDENTIFIER has the 8-byte alignment of ks.h.
 */
struct ksguid {
	union {
		__u8 b[16];
		__aligned_u64 align[2];
	};
};

/* {00000000-0000-0000-0000-000000000000} */
#define KSGUID_NULL \
	{ { { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, \
	      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 } } }

/* Set GUIDs (Windows SDK values) */
/* {65AABA60-98AE-11CF-A10D-0020AFD156E4} */
#define KSPROPSETID_Stream \
	{ { { 0x60, 0xba, 0xaa, 0x65, 0xae, 0x98, 0xcf, 0x11, \
	      0xa1, 0x0d, 0x00, 0x20, 0xaf, 0xd1, 0x56, 0xe4 } } }
/* {CF6E4342-EC87-11CF-A130-0020AFD156E4} */
#define KSPROPSETID_StreamAllocator \
	{ { { 0x42, 0x43, 0x6e, 0xcf, 0x87, 0xec, 0xcf, 0x11, \
	      0xa1, 0x30, 0x00, 0x20, 0xaf, 0xd1, 0x56, 0xe4 } } }
/* {CF6E4341-EC87-11CF-A130-0020AFD156E4} */
#define KSMETHODSETID_StreamAllocator \
	{ { { 0x41, 0x43, 0x6e, 0xcf, 0x87, 0xec, 0xcf, 0x11, \
	      0xa1, 0x30, 0x00, 0x20, 0xaf, 0xd1, 0x56, 0xe4 } } }
/* {75D95571-073C-11D0-A161-0020AFD156E4} */
#define KSEVENTSETID_StreamAllocator \
	{ { { 0x71, 0x55, 0xd9, 0x75, 0x3c, 0x07, 0xd0, 0x11, \
	      0xa1, 0x61, 0x00, 0x20, 0xaf, 0xd1, 0x56, 0xe4 } } }
/* {1D58C920-AC9B-11CF-A5D6-28DB04C10000} */
#define KSPROPSETID_Connection \
	{ { { 0x20, 0xc9, 0x58, 0x1d, 0x9b, 0xac, 0xcf, 0x11, \
	      0xa5, 0xd6, 0x28, 0xdb, 0x04, 0xc1, 0x00, 0x00 } } }
/* Value types of KSPROPERTY_DESCRIPTION.prop_type_set; id is a VT_ code */
/* {97E99BA0-BDEA-11CF-A5D6-28DB04C10000} */
#define KSPROPTYPESETID_General \
	{ { { 0xa0, 0x9b, 0xe9, 0x97, 0xea, 0xbd, 0xcf, 0x11, \
	      0xa5, 0xd6, 0x28, 0xdb, 0x04, 0xc1, 0x00, 0x00 } } }
/* Object types for IOCTL_KS_CREATE (KSSTRING_Allocator, ..._AllocatorEx) */
/* {642F5D00-4791-11D0-A5D6-28DB04C10000} */
#define KSNAME_Allocator \
	{ { { 0x00, 0x5d, 0x2f, 0x64, 0x91, 0x47, 0xd0, 0x11, \
	      0xa5, 0xd6, 0x28, 0xdb, 0x04, 0xc1, 0x00, 0x00 } } }
/* {091BB63B-603F-11D1-B067-00A0C9062802} */
#define KSNAME_AllocatorEx \
	{ { { 0x3b, 0xb6, 0x1b, 0x09, 0x3f, 0x60, 0xd1, 0x11, \
	      0xb0, 0x67, 0x00, 0xa0, 0xc9, 0x06, 0x28, 0x02 } } }
/* ksalloc's own object type, with creation flags: struct ksalloc_allocator_create */
/* {4AE6F519-45E2-4550-91CB-562B0776A4D1} */
#define KSNAME_KsallocAllocator \
	{ { { 0x19, 0xf5, 0xe6, 0x4a, 0xe2, 0x45, 0x50, 0x45, \
	      0x91, 0xcb, 0x56, 0x2b, 0x07, 0x76, 0xa4, 0xd1 } } }
/* Memory types of KS_FRAMING_ITEM.memory_type */
/* {091BB638-603F-11D1-B067-00A0C9062802} */
#define KSMEMORY_TYPE_SYSTEM \
	{ { { 0x38, 0xb6, 0x1b, 0x09, 0x3f, 0x60, 0xd1, 0x11, \
	      0xb0, 0x67, 0x00, 0xa0, 0xc9, 0x06, 0x28, 0x02 } } }
/* {4A6D5FC4-7895-11D1-B069-00A0C9062802} */
#define KSMEMORY_TYPE_KERNEL_NONPAGED \
	{ { { 0xc4, 0x5f, 0x6d, 0x4a, 0x95, 0x78, 0xd1, 0x11, \
	      0xb0, 0x69, 0x00, 0xa0, 0xc9, 0x06, 0x28, 0x02 } } }
/* {D833F8F8-7894-11D1-B069-00A0C9062802} */
#define KSMEMORY_TYPE_KERNEL_PAGED \
	{ { { 0xf8, 0xf8, 0x33, 0xd8, 0x94, 0x78, 0xd1, 0x11, \
	      0xb0, 0x69, 0x00, 0xa0, 0xc9, 0x06, 0x28, 0x02 } } }
#define KSMEMORY_TYPE_WILDCARD KSGUID_NULL

/*
 * ksalloc extension sets (GUIDs of this project, not of the SDK).
 *
 * KSPROPSETID_KsallocPin, on a pin:
 *   KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD  Get: a new fd (__s64) for the
 *     allocator assigned with KSPROPERTY_STREAM_ALLOCATOR; -ENOENT if none.
 *     ks_ioctl_args.open_flags may hold O_CLOEXEC only: the fd shares the
 *     allocator's open file, whose O_NONBLOCK is everybody's (-EINVAL).
 * KSPROPSETID_KsallocAllocator, on an allocator:
 *   KSPROPERTY_KSALLOC_ALLOCATOR_INFO  Get: struct ksalloc_allocator_info.
 */
/* {0940A18F-F4EC-4215-95A5-D868F3F35957} */
#define KSPROPSETID_KsallocPin \
	{ { { 0x8f, 0xa1, 0x40, 0x09, 0xec, 0xf4, 0x15, 0x42, \
	      0x95, 0xa5, 0xd8, 0x68, 0xf3, 0xf3, 0x59, 0x57 } } }
/* {F18C1172-EE3D-4EE8-B84A-5D208DD3191E} */
#define KSPROPSETID_KsallocAllocator \
	{ { { 0x72, 0x11, 0x8c, 0xf1, 0x3d, 0xee, 0xe8, 0x4e, \
	      0xb8, 0x4a, 0x5d, 0x20, 0x8d, 0xd3, 0x19, 0x1e } } }

/*
 * KSMETHODSETID_KsallocBatch, on an allocator: several frames per call.
 *   KSMETHOD_KSALLOC_BATCH_ALLOC  input: struct ksalloc_batch_method;
 *     output: __u64 offsets[count] (bytes_returned = 8 * frames taken).
 *     Without flags it takes as many free frames as there are, up to
 *     count, sleeping (or -EAGAIN with O_NONBLOCK) only while none is
 *     free; KSALLOC_BATCHF_ALL_OR_NOTHING takes count frames or none and
 *     never sleeps (-EAGAIN).
 *   KSMETHOD_KSALLOC_BATCH_FREE  input: struct ksalloc_batch_method;
 *     data: __u64 offsets[count]; all are freed, or none (-EINVAL) if one
 *     is not an allocated frame or appears twice.
 */
#define KSMETHODSETID_KsallocBatch \
	{ { { 0xe9, 0x69, 0xba, 0x92, 0xec, 0x4f, 0x10, 0x40, \
	      0x92, 0x45, 0x6e, 0xfc, 0x3f, 0x86, 0x58, 0xf0 } } }

/*
 * KSMETHODSETID_KsallocFrame, on an allocator: frames as dma-bufs. The
 * value of both methods is a struct ksalloc_frame_args, read and written
 * (KSMETHOD_TYPE_MODIFY); the dma-buf fd is opened with
 * ks_ioctl_args.open_flags (0 or O_CLOEXEC) and args.fd_flags must be 0.
 *   KSMETHOD_KSALLOC_FRAME_ALLOC  ALLOC with per-call flags: offset and
 *     (with KSALLOC_FRAMEF_DMABUF) fd out.
 *   KSMETHOD_KSALLOC_FRAME_EXPORT  offset of a frame the caller holds in,
 *     a new dma-buf fd of it out; the frame must still be FREEd.
 * See struct ksalloc_frame_args and IOCTL_KSALLOC_FRAME_ALLOC.
 */
/* {96444B43-7CA3-49F0-8007-FFEE56C1418B} */
#define KSMETHODSETID_KsallocFrame \
	{ { { 0x43, 0x4b, 0x44, 0x96, 0xa3, 0x7c, 0xf0, 0x49, \
	      0x80, 0x07, 0xff, 0xee, 0x56, 0xc1, 0x41, 0x8b } } }

#define KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD		0
#define KSPROPERTY_KSALLOC_ALLOCATOR_INFO		0
#define KSMETHOD_KSALLOC_BATCH_ALLOC			0
#define KSMETHOD_KSALLOC_BATCH_FREE			1
#define KSALLOC_BATCHF_ALL_OR_NOTHING			0x00000001
#define KSALLOC_BATCH_MAX				64
#define KSMETHOD_KSALLOC_FRAME_ALLOC			0
#define KSMETHOD_KSALLOC_FRAME_EXPORT			1
/* struct ksalloc_frame_args.flags (FRAME_ALLOC only) */
#define KSALLOC_FRAMEF_NOWAIT				0x00000001
#define KSALLOC_FRAMEF_DMABUF				0x00000002
/* struct ksalloc_allocator_create.flags */
#define KSALLOC_CREATEF_CONTIGUOUS			0x00000001

/* KSPROPSETID_Stream */
#define KSPROPERTY_STREAM_ALLOCATOR			0
/* KSPROPSETID_StreamAllocator */
#define KSPROPERTY_STREAMALLOCATOR_FUNCTIONTABLE	0
#define KSPROPERTY_STREAMALLOCATOR_STATUS		1
/* KSMETHODSETID_StreamAllocator */
#define KSMETHOD_STREAMALLOCATOR_ALLOC			0
#define KSMETHOD_STREAMALLOCATOR_FREE			1
/* KSEVENTSETID_StreamAllocator (INTERNAL_FREEFRAME: KS's own, -ENOENT) */
#define KSEVENT_STREAMALLOCATOR_INTERNAL_FREEFRAME	0
#define KSEVENT_STREAMALLOCATOR_FREEFRAME		1
/* KSPROPSETID_Connection */
#define KSPROPERTY_CONNECTION_STATE			0
#define KSPROPERTY_CONNECTION_PRIORITY			1
#define KSPROPERTY_CONNECTION_DATAFORMAT		2
#define KSPROPERTY_CONNECTION_ALLOCATORFRAMING		3
#define KSPROPERTY_CONNECTION_PROPOSEDATAFORMAT		4
#define KSPROPERTY_CONNECTION_ACQUIREORDERING		5
#define KSPROPERTY_CONNECTION_ALLOCATORFRAMING_EX	6
#define KSPROPERTY_CONNECTION_STARTAT			7

/* KSSTATE */
#define KSSTATE_STOP					0
#define KSSTATE_ACQUIRE					1
#define KSSTATE_PAUSE					2
#define KSSTATE_RUN					3
/* KSRESET */
#define KSRESET_BEGIN					0
#define KSRESET_END					1

/* KSIDENTIFIER.flags for properties */
#define KSPROPERTY_TYPE_GET				0x00000001
#define KSPROPERTY_TYPE_SET				0x00000002
#define KSPROPERTY_TYPE_SETSUPPORT			0x00000100
#define KSPROPERTY_TYPE_BASICSUPPORT			0x00000200
#define KSPROPERTY_TYPE_RELATIONS			0x00000400
#define KSPROPERTY_TYPE_SERIALIZESET			0x00000800
#define KSPROPERTY_TYPE_UNSERIALIZESET			0x00001000
#define KSPROPERTY_TYPE_SERIALIZERAW			0x00002000
#define KSPROPERTY_TYPE_UNSERIALIZERAW			0x00004000
#define KSPROPERTY_TYPE_SERIALIZESIZE			0x00008000
#define KSPROPERTY_TYPE_DEFAULTVALUES			0x00010000
#define KSPROPERTY_TYPE_TOPOLOGY			0x10000000

/* KSIDENTIFIER.flags for methods */
#define KSMETHOD_TYPE_NONE				0x00000000
#define KSMETHOD_TYPE_READ				0x00000001
#define KSMETHOD_TYPE_WRITE				0x00000002
#define KSMETHOD_TYPE_MODIFY				0x00000003
#define KSMETHOD_TYPE_SOURCE				0x00000004
#define KSMETHOD_TYPE_SEND				0x00000001
#define KSMETHOD_TYPE_SETSUPPORT			0x00000100
#define KSMETHOD_TYPE_BASICSUPPORT			0x00000200
#define KSMETHOD_TYPE_TOPOLOGY				0x10000000

/* KSIDENTIFIER.flags for events */
#define KSEVENT_TYPE_ENABLE				0x00000001
#define KSEVENT_TYPE_ONESHOT				0x00000002
#define KSEVENT_TYPE_ENABLEBUFFERED			0x00000004
#define KSEVENT_TYPE_SETSUPPORT				0x00000100
#define KSEVENT_TYPE_BASICSUPPORT			0x00000200
#define KSEVENT_TYPE_QUERYBUFFER			0x00000400
#define KSEVENT_TYPE_TOPOLOGY				0x10000000

/* KSEVENTDATA.notification_type */
#define KSEVENTF_EVENT_HANDLE				0x00000001
#define KSEVENTF_SEMAPHORE_HANDLE			0x00000002
#define KSEVENTF_EVENT_OBJECT				0x00000004
#define KSEVENTF_SEMAPHORE_OBJECT			0x00000008
#define KSEVENTF_DPC					0x00000010
#define KSEVENTF_WORKITEM				0x00000020
#define KSEVENTF_KSWORKITEM				0x00000080

/* KSALLOCATOR_FRAMING.requirements_flags (what a pin asks for) */
#define KSALLOCATOR_REQUIREMENTF_INPLACE_MODIFIER	0x00000001
#define KSALLOCATOR_REQUIREMENTF_SYSTEM_MEMORY		0x00000002
#define KSALLOCATOR_REQUIREMENTF_FRAME_INTEGRITY	0x00000004
#define KSALLOCATOR_REQUIREMENTF_MUST_ALLOCATE		0x00000008
#define KSALLOCATOR_REQUIREMENTF_PREFERENCES_ONLY	0x80000000
/* KSALLOCATOR_FRAMING.options_flags (what an allocator is created with) */
#define KSALLOCATOR_OPTIONF_COMPATIBLE			0x00000001
#define KSALLOCATOR_OPTIONF_SYSTEM_MEMORY		0x00000002
#define KSALLOCATOR_OPTIONF_VALID			0x00000003
/* KS_FRAMING_ITEM.flags */
#define KSALLOCATOR_FLAG_PARTIAL_READ_SUPPORT		0x00000010
#define KSALLOCATOR_FLAG_DEVICE_SPECIFIC		0x00000020
#define KSALLOCATOR_FLAG_CAN_ALLOCATE			0x00000040
#define KSALLOCATOR_FLAG_INSIST_ON_FRAMESIZE_RATIO	0x00000080
#define KSALLOCATOR_FLAG_NO_FRAME_INTEGRITY		0x00000100
#define KSALLOCATOR_FLAG_MULTIPLE_OUTPUT		0x00000200
#define KSALLOCATOR_FLAG_CYCLE				0x00000400
#define KSALLOCATOR_FLAG_ALLOCATOR_EXISTS		0x00000800
#define KSALLOCATOR_FLAG_INDEPENDENT_RANGES		0x00001000
#define KSALLOCATOR_FLAG_ATTENTION_STEPPING		0x00002000

/* POOL_TYPE values accepted in KSALLOCATOR_FRAMING.pool_type */
#define KS_POOL_NONPAGED				0
#define KS_POOL_PAGED					1
#define KS_POOL_NONPAGED_CACHE_ALIGNED			4
#define KS_POOL_PAGED_CACHE_ALIGNED			5
#define KS_POOL_NONPAGED_NX				512

/* KSPROPERTY_DESCRIPTION.prop_type_set.id (OLE VARENUM) */
#define KS_VT_EMPTY					0
#define KS_VT_I8					20
#define KS_VT_UI4					19
#define KS_VT_UI8					21
#define KS_VT_BLOB					65

/* KS null handle; handles are fds */
#define KS_NULL_HANDLE					(-1)

/* KSIDENTIFIER = KSPROPERTY = KSMETHOD = KSEVENT, 24 bytes */
struct ksidentifier {
	struct ksguid set;
	__u32 id;
	__u32 flags;
};

/* KSP_NODE, 32 bytes (topology requests are not supported) */
struct ksp_node {
	struct ksidentifier property;
	__u32 node_id;
	__u32 reserved;
};

/* KSALLOCATOR_FRAMING, 24 bytes */
struct ksallocator_framing {
	union {
		__u32 options_flags;
		__u32 requirements_flags;
	};
	__u32 pool_type;
	__u32 frames;		/* frames that can be outstanding */
	__u32 frame_size;	/* bytes per frame */
	__u32 file_alignment;	/* alignment - 1 (2^n - 1) */
	__u32 reserved;		/* must be 0 */
};

/* KS_FRAMING_RANGE, 12 bytes */
struct ks_framing_range {
	__u32 min_frame_size;
	__u32 max_frame_size;
	__u32 stepping;
};

/* KS_FRAMING_RANGE_WEIGHTED, 20 bytes */
struct ks_framing_range_weighted {
	struct ks_framing_range range;
	__u32 in_place_weight;
	__u32 not_in_place_weight;
};

/* KS_COMPRESSION, 12 bytes */
struct ks_compression {
	__u32 ratio_numerator;
	__u32 ratio_denominator;
	__u32 ratio_constant_margin;
};

/* KS_FRAMING_ITEM, 88 bytes */
struct ks_framing_item {
	struct ksguid memory_type;
	struct ksguid bus_type;
	__u32 memory_flags;
	__u32 bus_flags;
	__u32 flags;
	__u32 frames;
	__u32 file_alignment;
	__u32 memory_type_weight;
	struct ks_framing_range physical_range;
	struct ks_framing_range_weighted framing_range;
};

/*
 * KSALLOCATOR_FRAMING_EX: 24-byte header and count_items items; sizeof()
 * counts one item (112 bytes) as in ks.h. Use KSALLOCATOR_FRAMING_EX_SIZE().
 */
struct ksallocator_framing_ex {
	__u32 count_items;
	__u32 pin_flags;
	struct ks_compression output_compression;
	__u32 pin_weight;
	struct ks_framing_item framing_item[1];
};

#define KSALLOCATOR_FRAMING_EX_SIZE(n)					\
	(24 + (n) * sizeof(struct ks_framing_item))

/* KSSTREAMALLOCATOR_STATUS, 32 bytes */
struct ksstreamallocator_status {
	struct ksallocator_framing framing;
	__u32 allocated_frames;	/* frames outstanding now */
	__u32 reserved;
};

/* KSPROPERTY_DESCRIPTION, 40 bytes (a BASICSUPPORT answer) */
struct ksproperty_description {
	__u32 access_flags;
	__u32 description_size;
	struct ksidentifier prop_type_set;
	__u32 members_list_count;
	__u32 reserved;
};

/* KSPROPERTY_MEMBERSHEADER, 16 bytes */
struct ksproperty_membersheader {
	__u32 members_flags;
	__u32 members_size;
	__u32 members_count;
	__u32 flags;
};

struct kseventdata_event_handle {
	__s64 event;		/* an eventfd */
	__u64 reserved[2];
};

struct kseventdata_semaphore_handle {
	__s64 semaphore;	/* an eventfd */
	__u32 reserved;
	__s32 adjustment;	/* added per occurrence; 0 counts as 1 */
};

/* KSEVENTDATA, 32 bytes; handles are eventfds */
struct kseventdata {
	__u32 notification_type;
	__u32 reserved0;
	union {
		struct kseventdata_event_handle event_handle;
		struct kseventdata_semaphore_handle semaphore_handle;
		__aligned_u64 alignment[3];
	};
};

/*
 * Input of IOCTL_KS_CREATE: the object type (KSNAME_Allocator followed by a
 * struct ksallocator_framing, or KSNAME_AllocatorEx followed by a
 * KSALLOCATOR_FRAMING_EX with 1 to KS_MAX_FRAMING_ITEMS items, of which the
 * first is used: its frames and its largest frame size). The output is the
 * new fd as a __s64 handle; ks_ioctl_args.open_flags may hold O_CLOEXEC and
 * O_NONBLOCK.
 *
 * Frames must be 1 or more, frame_size 1 to 4 GiB - 4 KiB (rounded up to
 * whole pages it must fit in 32 bits, else EOVERFLOW), file_alignment
 * 2^n - 1 below the page size (frames are page aligned), options_flags
 * within KSALLOCATOR_OPTIONF_VALID plus the FRAME_INTEGRITY and
 * MUST_ALLOCATE requirement bits, pool_type one of KS_POOL_*. Each frame
 * holds frame_size rounded up to whole pages (frame_stride), which is
 * what the max_frames, max_allocator_bytes, max_user_bytes (per real uid
 * of the creator) and max_total_bytes caps count (ENOMEM above them);
 * frames are made of pages that need not be physically contiguous.
 */
struct ksallocator_create {
	struct ksguid object_type;
	struct ksallocator_framing framing;
};

/*
 * Input of IOCTL_KS_CREATE for KSNAME_KsallocAllocator, 64 bytes: a
 * framing as for KSNAME_Allocator plus ksalloc's creation flags. in_size
 * must be sizeof(struct ksalloc_allocator_create); unknown flags and
 * non-zero reserved fields are EINVAL.
 *
 * KSALLOC_CREATEF_CONTIGUOUS: every frame is one physically contiguous
 * block (for importers that need one DMA run when there is no IOMMU, such
 * as vb2-dma-contig), of at most the largest buddy block: 4 MiB on x86-64
 * with 4 KiB pages, /sys/class/misc/ksalloc/max_contiguous_bytes. A
 * larger frame_size is E2BIG. Contiguous blocks are harder to find: a
 * creation can fail with ENOMEM where a scattered one would not.
 */
struct ksalloc_allocator_create {
	struct ksguid object_type;		/* KSNAME_KsallocAllocator */
	struct ksallocator_framing framing;
	__u32 flags;				/* KSALLOC_CREATEF_* */
	__u32 reserved;				/* must be 0 */
	__aligned_u64 reserved2[2];		/* must be 0 */
};

/*
 * KSPROPERTY_KSALLOC_ALLOCATOR_INFO: the mmap layout and counters. Frame i
 * starts at offset i * frame_stride of the allocator fd's mmap space; ALLOC
 * returns that offset.
 */
struct ksalloc_allocator_info {
	__aligned_u64 id;		/* as in the status views */
	__aligned_u64 mmap_size;	/* frames * frame_stride */
	__aligned_u64 bytes_held;	/* memory held for frames */
	__u32 frames;
	__u32 frame_size;
	__u32 frame_stride;		/* frame_size rounded up to pages */
	__u32 allocated_frames;		/* in use: held, or with a dma-buf */
	__u32 high_water;		/* most frames ever outstanding */
	__u32 waiters;			/* ALLOC callers asleep now */
	__u32 resetting;		/* 1 between KSRESET_BEGIN and _END */
	__u32 exported_frames;		/* frames with a live dma-buf */
};

/* Input of the KSMETHODSETID_KsallocBatch methods, 32 bytes */
struct ksalloc_batch_method {
	struct ksidentifier method;
	__u32 count;		/* 1 to KSALLOC_BATCH_MAX frames */
	__u32 flags;		/* KSALLOC_BATCHF_* */
};

/*
 * The value of the KSMETHODSETID_KsallocFrame methods and the argument of
 * IOCTL_KSALLOC_FRAME_ALLOC and _EXPORT, 24 bytes, read and written.
 *
 * FRAME_ALLOC: flags in (KSALLOC_FRAMEF_*), offset and fd out.
 *   KSALLOC_FRAMEF_NOWAIT: EAGAIN instead of sleeping when no frame is
 *     free, for this call, whether or not the file has O_NONBLOCK (which
 *     makes every ALLOC non-blocking).
 *   KSALLOC_FRAMEF_DMABUF: the frame comes back as a dma-buf fd that owns
 *     it: no FREE (EBUSY, and EXPORT too); the frame returns when the
 *     last reference to that dma-buf goes (close, process exit, importer
 *     release). Without it, fd is -1.
 * FRAME_EXPORT: offset in (a frame the caller holds), fd out; flags must
 *   be 0. Every call makes a new dma-buf (dup the fd to share one). The
 *   frame must still be FREEd: it returns when it was FREEd and its last
 *   dma-buf was released, in either order.
 * fd_flags: the new fd's flags for the direct ioctls, 0 or O_CLOEXEC; for
 *   the KS methods it must be 0 (ks_ioctl_args.open_flags is used).
 * A dma-buf is PAGE_ALIGN(frame_size) bytes, O_RDWR, mmap-able (shared
 * mappings only), and answers DMA_BUF_IOCTL_SYNC.
 * Errors: EINVAL (unknown flag, non-zero reserved, offset not the start of
 * a frame the caller holds), EBUSY (frame owned by its dma-buf), EMFILE
 * (no fd free; nothing allocated), EFAULT (nothing allocated or exported),
 * and ALLOC's EAGAIN, ECANCELED, EINTR.
 */
struct ksalloc_frame_args {
	__aligned_u64 offset;	/* ALLOC: out; EXPORT: in */
	__u32 flags;		/* KSALLOC_FRAMEF_* */
	__u32 fd_flags;		/* direct ioctls: 0 or O_CLOEXEC */
	__s32 fd;		/* out: the dma-buf fd, or -1 */
	__u32 reserved;		/* must be 0 */
};

/* The argument of every ioctl below: DeviceIoControl() in one block. */
struct ks_ioctl_args {
	__aligned_u64 in_buffer;	/* lpInBuffer */
	__aligned_u64 out_buffer;	/* lpOutBuffer */
	__u32 in_size;			/* nInBufferSize, at most KS_MAX_IN_SIZE */
	__u32 out_size;			/* nOutBufferSize */
	__u32 bytes_returned;		/* written back by the kernel */
	__u32 open_flags;		/* O_CLOEXEC (+ O_NONBLOCK: CREATE) */
	__aligned_u64 reserved[2];	/* must be 0 */
};

#define KS_MAX_IN_SIZE		4096
#define KS_MAX_FRAMING_ITEMS	8

/* 0x2F is FILE_DEVICE_KS; the numbers are the KS CTL_CODE function codes */
#define KS_IOCTL_TYPE		0x2F
#define IOCTL_KS_PROPERTY	_IOWR(KS_IOCTL_TYPE, 0x00, struct ks_ioctl_args)
#define IOCTL_KS_ENABLE_EVENT	_IOWR(KS_IOCTL_TYPE, 0x01, struct ks_ioctl_args)
#define IOCTL_KS_DISABLE_EVENT	_IOWR(KS_IOCTL_TYPE, 0x02, struct ks_ioctl_args)
#define IOCTL_KS_METHOD		_IOWR(KS_IOCTL_TYPE, 0x03, struct ks_ioctl_args)
#define IOCTL_KS_RESET_STATE	_IOWR(KS_IOCTL_TYPE, 0x06, struct ks_ioctl_args)
/* IRP_MJ_CREATE relative to a pin (KsCreateAllocator) */
#define IOCTL_KS_CREATE		_IOWR(KS_IOCTL_TYPE, 0x40, struct ks_ioctl_args)

/*
 * Direct calls on an allocator, the user-space counterpart of the
 * FUNCTIONTABLE that KS gives kernel clients: KSMETHOD_STREAMALLOCATOR_ALLOC
 * and _FREE without the request framing. The argument is the frame's
 * __u64 mmap offset (written by ALLOC, read by FREE); blocking, O_NONBLOCK,
 * FIFO order, FREEFRAME events and errors are those of the methods.
 */
#define IOCTL_KSALLOC_ALLOC_FRAME	_IOR(KS_IOCTL_TYPE, 0x41, __u64)
#define IOCTL_KSALLOC_FREE_FRAME	_IOW(KS_IOCTL_TYPE, 0x42, __u64)
/*
 * KSMETHOD_KSALLOC_FRAME_ALLOC and _EXPORT without the request framing;
 * the fd is published only after the struct was written back.
 */
#define IOCTL_KSALLOC_FRAME_ALLOC	_IOWR(KS_IOCTL_TYPE, 0x43, \
					      struct ksalloc_frame_args)
#define IOCTL_KSALLOC_FRAME_EXPORT	_IOWR(KS_IOCTL_TYPE, 0x44, \
					      struct ksalloc_frame_args)

/*
 * io_uring commands on an allocator fd, the asynchronous ALLOC (KS's
 * overlapped DeviceIoControl() that returns STATUS_PENDING): an
 * IORING_OP_URING_CMD SQE with sqe->fd the allocator, sqe->cmd_op one of
 * KSALLOC_URING_CMD_* and a struct ksalloc_uring_cmd at sqe->cmd (the
 * first 16 bytes; the rest of a 128-byte SQE is ignored). Every other SQE
 * field is io_uring's; sqe->uring_cmd_flags must be 0. The CQE's res is
 * the result, user_data the SQE's.
 *
 * ALLOC: addr 0, count 0, flags KSALLOC_FRAMEF_NOWAIT or 0. res is the
 *   frame index i >= 0; the frame's mmap offset (what the ioctl ALLOC
 *   returns) is i * frame_stride (KSPROPERTY_KSALLOC_ALLOCATOR_INFO).
 *   A free frame completes it inline. Otherwise it is queued, FIFO with
 *   the ALLOC callers asleep, and the FREE that returns a frame completes
 *   it; poll and FREEFRAME only see frames nobody waited for. It fails
 *   with EAGAIN instead of queueing with KSALLOC_FRAMEF_NOWAIT, on an
 *   O_NONBLOCK fd, and on kernels whose io_uring cannot cancel a queued
 *   command (6.1; /sys/class/misc/ksalloc/uring_queue reads 0 there).
 *   A queued ALLOC ends with ECANCELED on KSRESET_BEGIN, on CANCEL, and
 *   when its ring is closed or its task exits or execs (no frame is
 *   taken for it then). KSALLOC_FRAMEF_DMABUF is EOPNOTSUPP: ALLOC, then
 *   IOCTL_KSALLOC_FRAME_EXPORT.
 * FREE: addr the frame's mmap offset, count 0, flags 0; res 0.
 * BATCH_ALLOC: addr a __u64 array of count (1 to KSALLOC_BATCH_MAX)
 *   offsets, written; flags KSALLOC_BATCHF_ALL_OR_NOTHING or 0. Never
 *   queued: res is how many free frames were taken (all count or none
 *   with ALL_OR_NOTHING), EAGAIN if none.
 * BATCH_FREE: addr a __u64 array of count offsets, read; all or none.
 *   res 0.
 * CANCEL: sends away the ALLOCs queued on this allocator from the same
 *   ring whose user_data is addr, or with KSALLOC_URING_CANCEL_ALL (addr
 *   0) all of them; each completes with ECANCELED. res is how many, or
 *   ENOENT if none was queued. (IORING_OP_ASYNC_CANCEL does not reach
 *   queued uring commands.)
 * Errors: EINVAL (non-zero unused field, unknown flag, count out of
 * range, offset not the start of a frame the caller holds, a
 * uring_cmd_flags bit), ENOTTY (unknown cmd_op), EOPNOTSUPP
 * (KSALLOC_FRAMEF_DMABUF; io_uring's own for any fd but an allocator,
 * and on 6.1 and 6.12 for an IORING_SETUP_IOPOLL ring), EFAULT, and
 * those of the ioctls: EAGAIN, ECANCELED, EBUSY.
 */
struct ksalloc_uring_cmd {
	__aligned_u64 addr;	/* see the command */
	__u32 count;		/* BATCH_*: 1 to KSALLOC_BATCH_MAX, else 0 */
	__u32 flags;		/* see the command */
};

#define KSALLOC_URING_CMD_ALLOC		_IOWR(KS_IOCTL_TYPE, 0x50, \
					      struct ksalloc_uring_cmd)
#define KSALLOC_URING_CMD_FREE		_IOWR(KS_IOCTL_TYPE, 0x51, \
					      struct ksalloc_uring_cmd)
#define KSALLOC_URING_CMD_BATCH_ALLOC	_IOWR(KS_IOCTL_TYPE, 0x52, \
					      struct ksalloc_uring_cmd)
#define KSALLOC_URING_CMD_BATCH_FREE	_IOWR(KS_IOCTL_TYPE, 0x53, \
					      struct ksalloc_uring_cmd)
#define KSALLOC_URING_CMD_CANCEL	_IOWR(KS_IOCTL_TYPE, 0x54, \
					      struct ksalloc_uring_cmd)
/* struct ksalloc_uring_cmd.flags of KSALLOC_URING_CMD_CANCEL */
#define KSALLOC_URING_CANCEL_ALL	0x00000001

#endif /* _UAPI_LINUX_KSALLOC_H */
