/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * GstKsallocPool: buffers that are ksalloc frames.
 *
 * Every buffer holds one GstMemory of the dma-buf allocator wrapping the fd
 * of one frame allocated with KSALLOC_FRAMEF_DMABUF: the dma-buf owns the
 * frame, and the frame goes back to the allocator when the last reference
 * to the dma-buf goes (the memory closes its fd when it is freed; an
 * importer such as a V4L2 queue may hold its own reference a little
 * longer). So the pool keeps no buffers of its own: acquire allocates a
 * frame, release frees the buffer and with it the frame. The frames exist
 * from the allocator's creation on (ksalloc commits them up front); the
 * pool only hands them out, and the allocator's own count is the limit.
 *
 * Waiting: an ALLOC never sleeps in the kernel (KSALLOC_FRAMEF_NOWAIT).
 * When no frame is free, acquire polls the allocator fd (readable while a
 * frame is free) together with an eventfd that flush_start writes, so a
 * flush or a deactivation sends every waiter away at once with
 * GST_FLOW_FLUSHING. A KSRESET_BEGIN on the allocator (by whoever shares
 * it) does not: ALLOC fails with ECANCELED and poll reports EPOLLERR until
 * KSRESET_END, so acquire waits on the eventfd alone, a bounded backoff,
 * and tries again (DONTWAIT: EOS).
 *
 * The allocator is either created at start on the device (the frames
 * property: count; the configured size: frame size) and destroyed at stop,
 * or an existing one that the pool joins (an fd, dup()ed): its frames and
 * frame size are then fixed, and it may be shared with other clients.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include <gst/allocators/allocators.h>
#include <gst/video/video.h>
#include <gst/video/gstvideometa.h>
#include <gst/video/gstvideopool.h>

#include <libksalloc.h>

#include "gstksallocpool.h"

GST_DEBUG_CATEGORY_STATIC (gst_ksalloc_pool_debug);
#define GST_CAT_DEFAULT gst_ksalloc_pool_debug

struct _GstKsallocPool
{
  GstBufferPool parent;

  /* Fixed at creation */
  gchar *device;
  guint frames;                 /* of an allocator the pool creates */
  gint join_fd;                 /* an allocator to join (our dup), or -1 */
  GWeakRef owner;               /* the element that gets our messages */
  GstAllocator *dmabuf;

  /* From set_config */
  guint size;
  gboolean video;
  GstVideoInfo info;
  gboolean add_video_meta;

  /* Between start and stop; alloc_fd and the stats under the object lock
   * (acquire reads alloc_fd without it: stop never runs while a buffer is
   * being acquired or is outstanding) */
  gint alloc_fd;
  gint wake_fd;                 /* eventfd, readable while flushing */
  guint frame_size;
  guint alloc_frames;
  guint64 allocator_id;
  guint64 acquired;
  guint outstanding;
};

#define gst_ksalloc_pool_parent_class parent_class
G_DEFINE_TYPE (GstKsallocPool, gst_ksalloc_pool, GST_TYPE_BUFFER_POOL);

/* Per-buffer: the frame's offset in the allocator's mmap space, plus one */
static GQuark offset_quark;

static void
post_warning (GstKsallocPool * self, const gchar * text)
{
  GstElement *owner = g_weak_ref_get (&self->owner);

  GST_WARNING_OBJECT (self, "%s", text);
  if (owner) {
    GST_ELEMENT_WARNING (owner, RESOURCE, SETTINGS, ("%s", text), (NULL));
    gst_object_unref (owner);
  }
}

static void
post_error (GstKsallocPool * self, const gchar * text, const gchar * debug)
{
  GstElement *owner = g_weak_ref_get (&self->owner);

  GST_ERROR_OBJECT (self, "%s: %s", text, debug);
  if (owner) {
    GST_ELEMENT_ERROR (owner, RESOURCE, OPEN_READ_WRITE, ("%s", text),
        ("%s", debug));
    gst_object_unref (owner);
  }
}

/*
 * What the allocator offers: frames and frame size of the joined one
 * (INFO), or the frames of one we will create (any frame size).
 */
static gboolean
allocator_limits (GstKsallocPool * self, guint * frames, guint * frame_size)
{
  struct ksalloc_allocator_info info;
  int ret;

  if (self->join_fd < 0) {
    *frames = self->frames;
    *frame_size = G_MAXUINT;
    return TRUE;
  }
  ret = ksa_allocator_info (self->join_fd, &info);
  if (ret) {
    GST_ERROR_OBJECT (self, "allocator fd %d: %s", self->join_fd,
        ksa_strerror (ret));
    return FALSE;
  }
  *frames = info.frames;
  *frame_size = info.frame_size;
  return TRUE;
}

static const gchar **
gst_ksalloc_pool_get_options (GstBufferPool * pool G_GNUC_UNUSED)
{
  static const gchar *options[] = { GST_BUFFER_POOL_OPTION_VIDEO_META, NULL };

  return options;
}

/*
 * Accept what fits the allocator; otherwise write back the nearest config
 * that does and return FALSE, so the caller can validate and retry. A
 * minimum above the frames is never accepted: v4l2src queues its minimum
 * before it starts streaming and would wait forever for the rest.
 */
static gboolean
gst_ksalloc_pool_set_config (GstBufferPool * pool, GstStructure * config)
{
  GstKsallocPool *self = GST_KSALLOC_POOL (pool);
  guint size, min, max, frames, frame_size;
  GstCaps *caps;
  gboolean exact = TRUE;

  if (!gst_buffer_pool_config_get_params (config, &caps, &size, &min, &max)) {
    GST_WARNING_OBJECT (self, "invalid config %" GST_PTR_FORMAT, config);
    return FALSE;
  }
  if (!allocator_limits (self, &frames, &frame_size))
    return FALSE;

  self->video = caps && gst_video_info_from_caps (&self->info, caps);
  if (self->video && size < GST_VIDEO_INFO_SIZE (&self->info)) {
    GST_DEBUG_OBJECT (self, "size %u too small for %" GST_PTR_FORMAT,
        size, caps);
    size = GST_VIDEO_INFO_SIZE (&self->info);
    exact = FALSE;
  }
  if (size == 0) {
    GST_WARNING_OBJECT (self, "no buffer size in the config");
    return FALSE;
  }
  if (size > frame_size) {
    gchar *text = g_strdup_printf ("buffers of %u bytes do not fit the "
        "allocator's frames of %u bytes", size, frame_size);

    post_warning (self, text);
    g_free (text);
    size = frame_size;
    exact = FALSE;
  }
  if (min > frames) {
    gchar *text = g_strdup_printf ("upstream needs %u buffers at once, the "
        "allocator has %u frames: set frames=%u or more", min, frames, min);

    post_warning (self, text);
    g_free (text);
    min = frames;
    exact = FALSE;
  }
  if (max == 0 || max > frames) {
    max = frames;
    exact = FALSE;
  }
  gst_buffer_pool_config_set_params (config, caps, size, min, max);

  self->size = size;
  self->add_video_meta = self->video &&
      gst_buffer_pool_config_has_option (config,
      GST_BUFFER_POOL_OPTION_VIDEO_META);
  GST_DEBUG_OBJECT (self, "size %u min %u max %u frames %u video meta %d%s",
      size, min, max, frames, self->add_video_meta, exact ? "" : " (adjusted)");

  return GST_BUFFER_POOL_CLASS (parent_class)->set_config (pool, config) &&
      exact;
}

static gint
create_allocator (GstKsallocPool * self)
{
  struct ksallocator_framing framing = {
    .options_flags = KSALLOCATOR_OPTIONF_SYSTEM_MEMORY,
    .pool_type = KS_POOL_NONPAGED,
    .frames = self->frames,
    .frame_size = self->size,
  };
  gint pin, fd = -1, ret;

  pin = ksa_open_pin_path (self->device, O_RDWR | O_CLOEXEC);
  if (pin < 0) {
    gchar *debug = g_strdup_printf ("open %s: %s", self->device,
        g_strerror (-pin));

    post_error (self, "Could not open the ksalloc device", debug);
    g_free (debug);
    return -1;
  }
  ret = ksa_create_allocator (pin, &framing, O_CLOEXEC, &fd);
  close (pin);
  if (ret) {
    gchar *debug = g_strdup_printf ("%u frames of %u bytes on %s: %s",
        self->frames, self->size, self->device, ksa_strerror (ret));

    post_error (self, "Could not create a ksalloc allocator", debug);
    g_free (debug);
    return -1;
  }
  return fd;
}

static gboolean
gst_ksalloc_pool_start (GstBufferPool * pool)
{
  GstKsallocPool *self = GST_KSALLOC_POOL (pool);
  struct ksalloc_allocator_info info;
  gint fd, wake, ret;

  if (self->join_fd >= 0)
    fd = fcntl (self->join_fd, F_DUPFD_CLOEXEC, 3);
  else
    fd = create_allocator (self);
  if (fd < 0)
    return FALSE;

  ret = ksa_allocator_info (fd, &info);
  if (ret || info.frame_size < self->size) {
    gchar *debug = g_strdup_printf ("allocator fd %d: %s", fd,
        ret ? ksa_strerror (ret) : "frames too small");

    post_error (self, "Not a usable ksalloc allocator", debug);
    g_free (debug);
    close (fd);
    return FALSE;
  }
  wake = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    post_error (self, "Could not create an eventfd", g_strerror (errno));
    close (fd);
    return FALSE;
  }

  GST_OBJECT_LOCK (self);
  self->alloc_fd = fd;
  self->wake_fd = wake;
  self->frame_size = info.frame_size;
  self->alloc_frames = info.frames;
  self->allocator_id = info.id;
  GST_OBJECT_UNLOCK (self);
  GST_INFO_OBJECT (self, "allocator %" G_GUINT64_FORMAT ": %u frames of %u "
      "bytes (%s)", (guint64) info.id, info.frames, info.frame_size,
      self->join_fd >= 0 ? "joined" : "created");

  /*
   * No chaining up: GstBufferPool's start would allocate min buffers of
   * its own (system memory) and queue them through release_buffer.
   */
  return TRUE;
}

/* Runs once every buffer came back: nothing can use the fds any more. */
static gboolean
gst_ksalloc_pool_stop (GstBufferPool * pool)
{
  GstKsallocPool *self = GST_KSALLOC_POOL (pool);

  GST_OBJECT_LOCK (self);
  if (self->alloc_fd >= 0)
    close (self->alloc_fd);
  if (self->wake_fd >= 0)
    close (self->wake_fd);
  self->alloc_fd = -1;
  self->wake_fd = -1;
  GST_OBJECT_UNLOCK (self);

  return GST_BUFFER_POOL_CLASS (parent_class)->stop (pool);
}

static void
gst_ksalloc_pool_flush_start (GstBufferPool * pool)
{
  GstKsallocPool *self = GST_KSALLOC_POOL (pool);

  if (self->wake_fd >= 0 && eventfd_write (self->wake_fd, 1) < 0)
    GST_ERROR_OBJECT (self, "eventfd: %s", g_strerror (errno));
}

static void
gst_ksalloc_pool_flush_stop (GstBufferPool * pool)
{
  GstKsallocPool *self = GST_KSALLOC_POOL (pool);
  eventfd_t count;

  if (self->wake_fd >= 0)
    eventfd_read (self->wake_fd, &count);
}

/*
 * Wait until a frame may be free, a flush began or the allocator is being
 * reset. TRUE to try again.
 */
static gboolean
wait_for_frame (GstKsallocPool * self)
{
  struct pollfd pfd[2] = {
    {.fd = self->alloc_fd,.events = POLLIN},
    {.fd = self->wake_fd,.events = POLLIN},
  };

  GST_LOG_OBJECT (self, "no frame free, waiting");
  while (poll (pfd, 2, -1) < 0) {
    if (errno != EINTR) {
      GST_ERROR_OBJECT (self, "poll: %s", g_strerror (errno));
      return FALSE;
    }
  }
  return TRUE;
}

/*
 * A KSRESET_BEGIN by whoever shares the allocator: allocations fail with
 * ECANCELED until KSRESET_END, and the allocator fd polls EPOLLERR all
 * along, so it cannot be waited on. Wait on the wake eventfd alone (a
 * flush leaves at once) for @backoff_ms, then the caller tries again.
 */
static gboolean
wait_for_reset_end (GstKsallocPool * self, gint backoff_ms)
{
  struct pollfd pfd = {.fd = self->wake_fd,.events = POLLIN };

  GST_LOG_OBJECT (self, "allocator resetting, retry in %d ms", backoff_ms);
  if (poll (&pfd, 1, backoff_ms) < 0 && errno != EINTR) {
    GST_ERROR_OBJECT (self, "poll: %s", g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

/* Retry delays while the allocator is reset: 1 ms, doubling to 100 ms */
#define RESET_BACKOFF_MIN_MS 1
#define RESET_BACKOFF_MAX_MS 100

static GstBuffer *
wrap_frame (GstKsallocPool * self, const struct ksalloc_frame_args *frame)
{
  GstBuffer *buffer = gst_buffer_new ();
  GstMemory *mem;

  /* The memory owns the fd, the fd owns the frame. */
  mem = gst_dmabuf_allocator_alloc (self->dmabuf, frame->fd, self->frame_size);
  gst_memory_resize (mem, 0, self->size);
  gst_buffer_append_memory (buffer, mem);
  gst_mini_object_set_qdata (GST_MINI_OBJECT (buffer), offset_quark,
      GSIZE_TO_POINTER ((gsize) frame->offset + 1), NULL);

  if (self->add_video_meta) {
    GstVideoInfo *info = &self->info;

    gst_buffer_add_video_meta_full (buffer, GST_VIDEO_FRAME_FLAG_NONE,
        GST_VIDEO_INFO_FORMAT (info), GST_VIDEO_INFO_WIDTH (info),
        GST_VIDEO_INFO_HEIGHT (info), GST_VIDEO_INFO_N_PLANES (info),
        info->offset, info->stride);
  }
  return buffer;
}

static GstFlowReturn
gst_ksalloc_pool_acquire_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  GstKsallocPool *self = GST_KSALLOC_POOL (pool);
  struct ksalloc_frame_args frame;
  gint backoff_ms = RESET_BACKOFF_MIN_MS;

  for (;;) {
    if (GST_BUFFER_POOL_IS_FLUSHING (pool))
      return GST_FLOW_FLUSHING;

    memset (&frame, 0, sizeof (frame));
    frame.flags = KSALLOC_FRAMEF_NOWAIT | KSALLOC_FRAMEF_DMABUF;
    frame.fd_flags = O_CLOEXEC;
    if (ioctl (self->alloc_fd, IOCTL_KSALLOC_FRAME_ALLOC, &frame) == 0)
      break;

    switch (errno) {
      case EINTR:
        continue;
      case EAGAIN:
        break;
      case ECANCELED:
        /* The reset is the allocator's, not this pool's flush: only a
         * flush or a deactivation ends the acquire. */
        GST_DEBUG_OBJECT (self, "allocator reset (KSRESET_BEGIN)");
        if (GST_BUFFER_POOL_IS_FLUSHING (pool) ||
            !gst_buffer_pool_is_active (pool))
          return GST_FLOW_FLUSHING;
        if (params && (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT))
          return GST_FLOW_EOS;
        if (!wait_for_reset_end (self, backoff_ms))
          return GST_FLOW_ERROR;
        backoff_ms = MIN (backoff_ms * 2, RESET_BACKOFF_MAX_MS);
        continue;
      default:
        GST_ERROR_OBJECT (self, "FRAME_ALLOC: %s", ksa_strerror (errno));
        return GST_FLOW_ERROR;
    }
    if (params && (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT))
      return GST_FLOW_EOS;
    if (!wait_for_frame (self))
      return GST_FLOW_ERROR;
  }

  *buffer = wrap_frame (self, &frame);
  GST_OBJECT_LOCK (self);
  self->acquired++;
  self->outstanding++;
  GST_OBJECT_UNLOCK (self);
  GST_LOG_OBJECT (self, "frame at %" G_GUINT64_FORMAT " as dma-buf %d",
      (guint64) frame.offset, frame.fd);
  return GST_FLOW_OK;
}

/* Nothing to reset: a released buffer is freed, never reused. */
static void
gst_ksalloc_pool_reset_buffer (GstBufferPool * pool G_GNUC_UNUSED,
    GstBuffer * buffer G_GNUC_UNUSED)
{
}

/*
 * Free the buffer instead of queueing it: its memory closes the dma-buf
 * fd, which returns the frame (and wakes whoever polls for one) unless
 * somebody else still holds a reference to that dma-buf.
 */
static void
gst_ksalloc_pool_release_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  GstKsallocPool *self = GST_KSALLOC_POOL (pool);

  GST_OBJECT_LOCK (self);
  self->outstanding--;
  GST_OBJECT_UNLOCK (self);
  gst_buffer_unref (buffer);
}

static void
gst_ksalloc_pool_finalize (GObject * object)
{
  GstKsallocPool *self = GST_KSALLOC_POOL (object);

  if (self->join_fd >= 0)
    close (self->join_fd);
  g_weak_ref_clear (&self->owner);
  gst_object_unref (self->dmabuf);
  g_free (self->device);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_ksalloc_pool_class_init (GstKsallocPoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  gobject_class->finalize = gst_ksalloc_pool_finalize;

  pool_class->get_options = gst_ksalloc_pool_get_options;
  pool_class->set_config = gst_ksalloc_pool_set_config;
  pool_class->start = gst_ksalloc_pool_start;
  pool_class->stop = gst_ksalloc_pool_stop;
  pool_class->acquire_buffer = gst_ksalloc_pool_acquire_buffer;
  pool_class->reset_buffer = gst_ksalloc_pool_reset_buffer;
  pool_class->release_buffer = gst_ksalloc_pool_release_buffer;
  pool_class->flush_start = gst_ksalloc_pool_flush_start;
  pool_class->flush_stop = gst_ksalloc_pool_flush_stop;

  offset_quark = g_quark_from_static_string ("GstKsallocPoolFrameOffset");
  GST_DEBUG_CATEGORY_INIT (gst_ksalloc_pool_debug, "ksallocpool", 0,
      "ksalloc frames as a buffer pool");
}

static void
gst_ksalloc_pool_init (GstKsallocPool * self)
{
  self->join_fd = -1;
  self->alloc_fd = -1;
  self->wake_fd = -1;
  g_weak_ref_init (&self->owner, NULL);
  self->dmabuf = gst_dmabuf_allocator_new ();
}

/**
 * gst_ksalloc_pool_new:
 * @device: the ksalloc device node (NULL: /dev/ksalloc)
 * @frames: frames of the allocator the pool creates at start
 * @allocator_fd: an allocator to join instead (dup()ed), or -1
 * @owner: (nullable): the element on whose behalf warnings and errors are
 *   posted (not referenced)
 *
 * Returns: (transfer full) (nullable): the pool, or NULL if @allocator_fd
 * cannot be duplicated.
 */
GstBufferPool *
gst_ksalloc_pool_new (const gchar * device, guint frames, gint allocator_fd,
    GstElement * owner)
{
  GstKsallocPool *self;
  gint fd = -1;

  if (allocator_fd >= 0) {
    fd = fcntl (allocator_fd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
      return NULL;
  }
  self = g_object_new (GST_TYPE_KSALLOC_POOL, NULL);
  gst_object_ref_sink (self);
  self->device = g_strdup (device ? device : KSA_DEVICE_PATH);
  self->frames = frames;
  self->join_fd = fd;
  g_weak_ref_set (&self->owner, owner);
  return GST_BUFFER_POOL (self);
}

void
gst_ksalloc_pool_get_stats (GstKsallocPool * self, GstKsallocPoolStats * stats)
{
  struct ksalloc_allocator_info info;

  g_return_if_fail (GST_IS_KSALLOC_POOL (self));

  GST_OBJECT_LOCK (self);
  stats->allocator_id = self->allocator_id;
  stats->acquired = self->acquired;
  stats->outstanding = self->outstanding;
  stats->frames = self->alloc_frames;
  stats->frame_size = self->frame_size;
  stats->allocated = -1;
  if (self->alloc_fd >= 0 && !ksa_allocator_info (self->alloc_fd, &info))
    stats->allocated = info.allocated_frames;
  GST_OBJECT_UNLOCK (self);
}

gint64
gst_ksalloc_pool_buffer_offset (GstBuffer * buffer)
{
  gsize v = GPOINTER_TO_SIZE (gst_mini_object_get_qdata (GST_MINI_OBJECT
          (buffer), offset_quark));

  return v ? (gint64) v - 1 : -1;
}
