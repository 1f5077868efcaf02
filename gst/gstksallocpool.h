/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GstKsallocPool: a GstBufferPool whose buffers are the frames of a ksalloc
 * (Kernel Streaming) stream allocator, each one a dma-buf that owns its
 * frame (KSALLOC_FRAMEF_DMABUF).
 */
#ifndef __GST_KSALLOC_POOL_H__
#define __GST_KSALLOC_POOL_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_KSALLOC_POOL (gst_ksalloc_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstKsallocPool, gst_ksalloc_pool, GST, KSALLOC_POOL,
    GstBufferPool)

/* Frames of an allocator the pool creates, when nobody says */
#define GST_KSALLOC_POOL_DEFAULT_FRAMES 8
/* ksalloc's default max_frames: more are refused by the module anyway */
#define GST_KSALLOC_POOL_MAX_FRAMES 1024

GstBufferPool *gst_ksalloc_pool_new (const gchar * device, guint frames,
    gint allocator_fd, GstElement * owner);

/* What a running pool reports (all 0 before its first start) */
typedef struct
{
  guint64 allocator_id;         /* the ksalloc id; 0: no allocator */
  guint64 acquired;             /* buffers handed out since creation */
  guint outstanding;            /* buffers of the pool alive now */
  guint frames;                 /* frames of the allocator */
  guint frame_size;             /* bytes per frame */
  gint allocated;               /* the allocator's allocated_frames, or -1 */
} GstKsallocPoolStats;

void gst_ksalloc_pool_get_stats (GstKsallocPool * pool,
    GstKsallocPoolStats * stats);

/* The offset of a pool buffer's frame in the allocator's mmap space, or -1 */
gint64 gst_ksalloc_pool_buffer_offset (GstBuffer * buffer);

G_END_DECLS

#endif /* __GST_KSALLOC_POOL_H__ */
