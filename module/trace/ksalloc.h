/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of ksalloc: allocator life, frames, waits and resets.
 * Enable them with tracefs (events/ksalloc/) or perf -e 'ksalloc:*'.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ksalloc

#if !defined(_KSA_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _KSA_TRACE_H

#include <linux/tracepoint.h>

TRACE_EVENT(ksalloc_allocator_create,
	    TP_PROTO(u64 id, u32 frames, u32 frame_size, u64 bytes),
	    TP_ARGS(id, frames, frame_size, bytes),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u32, frames)
			     __field(u32, frame_size)
			     __field(u64, bytes)),
	    TP_fast_assign(__entry->id = id;
			   __entry->frames = frames;
			   __entry->frame_size = frame_size;
			   __entry->bytes = bytes),
	    TP_printk("allocator=%llu frames=%u frame_size=%u bytes=%llu",
		      __entry->id, __entry->frames, __entry->frame_size,
		      __entry->bytes)
);

TRACE_EVENT(ksalloc_allocator_destroy,
	    TP_PROTO(u64 id, u32 high_water),
	    TP_ARGS(id, high_water),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u32, high_water)),
	    TP_fast_assign(__entry->id = id;
			   __entry->high_water = high_water),
	    TP_printk("allocator=%llu high_water=%u", __entry->id,
		      __entry->high_water)
);

DECLARE_EVENT_CLASS(ksalloc_frame,
		    TP_PROTO(u64 id, u32 index, u32 allocated),
		    TP_ARGS(id, index, allocated),
		    TP_STRUCT__entry(__field(u64, id)
				     __field(u32, index)
				     __field(u32, allocated)),
		    TP_fast_assign(__entry->id = id;
				   __entry->index = index;
				   __entry->allocated = allocated),
		    TP_printk("allocator=%llu frame=%u allocated=%u",
			      __entry->id, __entry->index, __entry->allocated)
);

DEFINE_EVENT(ksalloc_frame, ksalloc_alloc,
	     TP_PROTO(u64 id, u32 index, u32 allocated),
	     TP_ARGS(id, index, allocated)
);

DEFINE_EVENT(ksalloc_frame, ksalloc_free,
	     TP_PROTO(u64 id, u32 index, u32 allocated),
	     TP_ARGS(id, index, allocated)
);

TRACE_EVENT(ksalloc_wait_start,
	    TP_PROTO(u64 id, u32 waiters),
	    TP_ARGS(id, waiters),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(u32, waiters)),
	    TP_fast_assign(__entry->id = id;
			   __entry->waiters = waiters),
	    TP_printk("allocator=%llu waiters=%u", __entry->id,
		      __entry->waiters)
);

TRACE_EVENT(ksalloc_wait_end,
	    TP_PROTO(u64 id, int ret),
	    TP_ARGS(id, ret),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(int, ret)),
	    TP_fast_assign(__entry->id = id;
			   __entry->ret = ret),
	    TP_printk("allocator=%llu ret=%d", __entry->id, __entry->ret)
);

TRACE_EVENT(ksalloc_reset,
	    TP_PROTO(u64 id, bool begin),
	    TP_ARGS(id, begin),
	    TP_STRUCT__entry(__field(u64, id)
			     __field(bool, begin)),
	    TP_fast_assign(__entry->id = id;
			   __entry->begin = begin),
	    TP_printk("allocator=%llu %s", __entry->id,
		      __entry->begin ? "begin" : "end")
);

#endif /* _KSA_TRACE_H */

/* Out of tree: the header lives in the module's own trace/ directory. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH trace
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE ksalloc
#include <trace/define_trace.h>
