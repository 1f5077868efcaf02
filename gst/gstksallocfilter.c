/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * SECTION:element-ksallocpool
 * @title: ksallocpool
 *
 * Offers a buffer pool of ksalloc frames (Kernel Streaming stream allocator
 * frames, each a dma-buf) to the element upstream, and passes buffers
 * through unchanged. With `v4l2src io-mode=dmabuf-import` the camera
 * captures straight into the frames: bounded frames, acquire blocking
 * while all are in use, no copy.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src io-mode=dmabuf-import ! ksallocpool frames=8 ! fakesink
 * ]|
 *
 * Raw video caps only: for other caps the query is left to downstream.
 * The upstream element decides how many buffers it needs at once; v4l2src
 * importing dma-bufs needs 4 when the driver states no minimum, and fails
 * with "Failed to configure internal buffer pool" if @frames is lower
 * (this element posts a warning saying how many it needs).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <gst/video/video.h>
#include <gst/video/gstvideometa.h>

#include <libksalloc.h>

#include "gstksallocfilter.h"
#include "gstksallocpool.h"

GST_DEBUG_CATEGORY_STATIC (gst_ksalloc_filter_debug);
#define GST_CAT_DEFAULT gst_ksalloc_filter_debug

enum
{
  PROP_0,
  PROP_FRAMES,
  PROP_DEVICE,
  PROP_ALLOCATOR_FD,
  PROP_FRAMES_ACQUIRED,
  PROP_FRAMES_OUTSTANDING,
  PROP_FRAMES_PASSED,
  PROP_ALLOCATOR_ID,
  PROP_ALLOCATED_FRAMES,
};

struct _GstKsallocFilter
{
  GstBaseTransform parent;

  /* Properties, under the object lock */
  guint frames;
  gchar *device;
  gint allocator_fd;            /* as set */
  gint join_fd;                 /* our dup of it, or -1 */
  gint join_errno;              /* why the dup failed */

  /* The pool offered last (kept for its stats), under the object lock */
  GstBufferPool *pool;
  guint64 passed;
};

#define gst_ksalloc_filter_parent_class parent_class
G_DEFINE_TYPE (GstKsallocFilter, gst_ksalloc_filter, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (ksallocpool, "ksallocpool", GST_RANK_NONE,
    GST_TYPE_KSALLOC_FILTER);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static void
set_allocator_fd (GstKsallocFilter * self, gint fd)
{
  if (self->join_fd >= 0)
    close (self->join_fd);
  self->allocator_fd = fd;
  self->join_fd = -1;
  self->join_errno = 0;
  if (fd < 0)
    return;
  self->join_fd = fcntl (fd, F_DUPFD_CLOEXEC, 3);
  if (self->join_fd < 0) {
    self->join_errno = errno;
    GST_WARNING_OBJECT (self, "allocator-fd %d: %s", fd,
        g_strerror (self->join_errno));
  }
}

static void
gst_ksalloc_filter_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstKsallocFilter *self = GST_KSALLOC_FILTER (object);
  GstBufferPool *stale = NULL;

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_FRAMES:
      self->frames = g_value_get_uint (value);
      break;
    case PROP_DEVICE:
      g_free (self->device);
      self->device = g_value_dup_string (value);
      if (!self->device)
        self->device = g_strdup (KSA_DEVICE_PATH);
      break;
    case PROP_ALLOCATOR_FD:
      set_allocator_fd (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      GST_OBJECT_UNLOCK (self);
      return;
  }
  /* The pool was made from the old values: the next query makes one
   * from the new ones (whoever still uses the old one keeps it). */
  stale = self->pool;
  self->pool = NULL;
  GST_OBJECT_UNLOCK (self);
  if (stale)
    gst_object_unref (stale);
}

static void
gst_ksalloc_filter_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstKsallocFilter *self = GST_KSALLOC_FILTER (object);
  GstKsallocPoolStats stats = {.allocated = -1 };

  GST_OBJECT_LOCK (self);
  if (self->pool)
    gst_ksalloc_pool_get_stats (GST_KSALLOC_POOL (self->pool), &stats);
  switch (prop_id) {
    case PROP_FRAMES:
      g_value_set_uint (value, self->frames);
      break;
    case PROP_DEVICE:
      g_value_set_string (value, self->device);
      break;
    case PROP_ALLOCATOR_FD:
      g_value_set_int (value, self->allocator_fd);
      break;
    case PROP_FRAMES_ACQUIRED:
      g_value_set_uint64 (value, stats.acquired);
      break;
    case PROP_FRAMES_OUTSTANDING:
      g_value_set_uint (value, stats.outstanding);
      break;
    case PROP_FRAMES_PASSED:
      g_value_set_uint64 (value, self->passed);
      break;
    case PROP_ALLOCATOR_ID:
      g_value_set_uint64 (value, stats.allocator_id);
      break;
    case PROP_ALLOCATED_FRAMES:
      g_value_set_int (value, stats.allocated);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* An allocator-fd that cannot be used fails the start, with the reason. */
static gboolean
gst_ksalloc_filter_start (GstBaseTransform * trans)
{
  GstKsallocFilter *self = GST_KSALLOC_FILTER (trans);
  struct ksalloc_allocator_info info;
  gint fd, join_fd, join_errno, ret = 0;

  /* A duplicate: set_property may close join_fd once the lock is gone */
  GST_OBJECT_LOCK (self);
  fd = self->allocator_fd;
  join_fd = self->join_fd >= 0 ?
      fcntl (self->join_fd, F_DUPFD_CLOEXEC, 0) : -1;
  join_errno = self->join_fd >= 0 ? errno : self->join_errno;
  self->passed = 0;
  GST_OBJECT_UNLOCK (self);

  if (fd < 0) {
    if (join_fd >= 0)
      close (join_fd);
    return TRUE;
  }
  if (join_fd < 0) {
    ret = -join_errno;
  } else {
    ret = ksa_allocator_info (join_fd, &info);
    close (join_fd);
  }
  if (ret) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE,
        ("allocator-fd %d is not a ksalloc allocator", fd),
        ("%s", ksa_strerror (ret)));
    return FALSE;
  }
  GST_INFO_OBJECT (self, "joining allocator %" G_GUINT64_FORMAT " (%u frames "
      "of %u bytes, %u allocated)", (guint64) info.id, info.frames,
      info.frame_size, info.allocated_frames);
  return TRUE;
}

/*
 * The pool to offer for @caps: the last one if it is idle or already has
 * these caps, else a new one. Returns a reference, and the frames that the
 * allocator has (or will have) in @frames.
 */
static GstBufferPool *
get_pool (GstKsallocFilter * self, GstCaps * caps, guint size, guint * frames)
{
  struct ksalloc_allocator_info info;
  GstBufferPool *pool;
  GstStructure *config;

  GST_OBJECT_LOCK (self);
  *frames = self->frames;
  if (self->join_fd >= 0 && !ksa_allocator_info (self->join_fd, &info))
    *frames = info.frames;
  pool = self->pool ? gst_object_ref (self->pool) : NULL;
  GST_OBJECT_UNLOCK (self);

  if (pool && gst_buffer_pool_is_active (pool)) {
    GstCaps *pcaps = NULL;
    gboolean same;

    config = gst_buffer_pool_get_config (pool);
    gst_buffer_pool_config_get_params (config, &pcaps, NULL, NULL, NULL);
    same = pcaps && gst_caps_is_equal (pcaps, caps);
    gst_structure_free (config);
    if (same)
      return pool;
    gst_object_unref (pool);
    pool = NULL;
  }
  if (!pool) {
    GST_OBJECT_LOCK (self);
    pool = gst_ksalloc_pool_new (self->device, self->frames, self->join_fd,
        GST_ELEMENT (self));
    GST_OBJECT_UNLOCK (self);
    if (!pool)
      return NULL;
    GST_OBJECT_LOCK (self);
    gst_clear_object (&self->pool);
    self->pool = gst_object_ref (pool);
    GST_OBJECT_UNLOCK (self);
  }

  /* A starting point; upstream sets its own. */
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, size, 0, *frames);
  gst_buffer_pool_config_add_option (config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  if (!gst_buffer_pool_set_config (pool, config))
    GST_DEBUG_OBJECT (self, "pool adjusted the default config");
  return pool;
}

/*
 * Passthrough: the base class would only forward the query. Ask
 * downstream first (for its metas), then offer our pool in place of any
 * pool downstream offered, and GstVideoMeta.
 */
static gboolean
gst_ksalloc_filter_propose_allocation (GstBaseTransform * trans,
    GstQuery * decide_query G_GNUC_UNUSED, GstQuery * query)
{
  GstKsallocFilter *self = GST_KSALLOC_FILTER (trans);
  GstBufferPool *pool;
  GstVideoInfo info;
  GstCaps *caps;
  guint frames;

  if (!gst_pad_peer_query (trans->srcpad, query))
    GST_DEBUG_OBJECT (self, "downstream did not answer the allocation query");

  gst_query_parse_allocation (query, &caps, NULL);
  if (!caps || !gst_video_info_from_caps (&info, caps)) {
    GST_DEBUG_OBJECT (self, "no raw video caps (%" GST_PTR_FORMAT "), no "
        "pool to offer", caps);
    return TRUE;
  }

  pool = get_pool (self, caps, GST_VIDEO_INFO_SIZE (&info), &frames);
  if (!pool) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE, (NULL),
        ("could not duplicate allocator-fd"));
    return FALSE;
  }
  while (gst_query_get_n_allocation_pools (query) > 0)
    gst_query_remove_nth_allocation_pool (query, 0);
  gst_query_add_allocation_pool (query, pool, GST_VIDEO_INFO_SIZE (&info), 0,
      frames);
  gst_object_unref (pool);

  if (!gst_query_find_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL))
    gst_query_add_allocation_meta (query, GST_VIDEO_META_API_TYPE, NULL);

  GST_DEBUG_OBJECT (self, "offered %u frames of %" G_GSIZE_FORMAT " bytes",
      frames, GST_VIDEO_INFO_SIZE (&info));
  return TRUE;
}

static GstFlowReturn
gst_ksalloc_filter_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstKsallocFilter *self = GST_KSALLOC_FILTER (trans);

  if (buffer->pool && GST_IS_KSALLOC_POOL (buffer->pool)) {
    GST_OBJECT_LOCK (self);
    self->passed++;
    GST_OBJECT_UNLOCK (self);
  }
  return GST_FLOW_OK;
}

static void
gst_ksalloc_filter_finalize (GObject * object)
{
  GstKsallocFilter *self = GST_KSALLOC_FILTER (object);

  set_allocator_fd (self, -1);
  gst_clear_object (&self->pool);
  g_free (self->device);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_ksalloc_filter_class_init (GstKsallocFilterClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags ready = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;
  const GParamFlags stat = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS;

  gobject_class->set_property = gst_ksalloc_filter_set_property;
  gobject_class->get_property = gst_ksalloc_filter_get_property;
  gobject_class->finalize = gst_ksalloc_filter_finalize;

  g_object_class_install_property (gobject_class, PROP_FRAMES,
      g_param_spec_uint ("frames", "Frames",
          "Frames of the ksalloc allocator created for the pool: how many "
          "buffers can be in use at once (ignored with allocator-fd)",
          1, GST_KSALLOC_POOL_MAX_FRAMES, GST_KSALLOC_POOL_DEFAULT_FRAMES,
          ready));
  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_string ("device", "Device",
          "The ksalloc device node the allocator is created on",
          KSA_DEVICE_PATH, ready));
  g_object_class_install_property (gobject_class, PROP_ALLOCATOR_FD,
      g_param_spec_int ("allocator-fd", "Allocator fd",
          "An existing ksalloc allocator to take the frames from (an fd "
          "inherited or received with SCM_RIGHTS from a KS graph manager; "
          "the element uses a duplicate), instead of creating one; "
          "-1: create one", -1, G_MAXINT, -1, ready));
  g_object_class_install_property (gobject_class, PROP_FRAMES_ACQUIRED,
      g_param_spec_uint64 ("frames-acquired", "Frames acquired",
          "Buffers (frames) the pool has handed out", 0, G_MAXUINT64, 0, stat));
  g_object_class_install_property (gobject_class, PROP_FRAMES_OUTSTANDING,
      g_param_spec_uint ("frames-outstanding", "Frames outstanding",
          "Buffers of the pool in use now (each holds a frame)", 0,
          G_MAXUINT, 0, stat));
  g_object_class_install_property (gobject_class, PROP_FRAMES_PASSED,
      g_param_spec_uint64 ("frames-passed", "Frames passed",
          "Buffers from a ksalloc pool that went through the element since "
          "it started", 0, G_MAXUINT64, 0, stat));
  g_object_class_install_property (gobject_class, PROP_ALLOCATOR_ID,
      g_param_spec_uint64 ("allocator-id", "Allocator id",
          "The id of the pool's allocator, as ksalloc's status views, "
          "fdinfo and dma-buf names (ksalloc:ID:FRAME) show it; 0 before "
          "the pool first started", 0, G_MAXUINT64, 0, stat));
  g_object_class_install_property (gobject_class, PROP_ALLOCATED_FRAMES,
      g_param_spec_int ("allocated-frames", "Allocated frames",
          "The allocator's frames in use now, as the kernel counts them "
          "(by every client of a shared allocator); -1 while the pool has "
          "no allocator", -1, G_MAXINT, -1, stat));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "ksalloc frame pool", "Generic",
      "Offers ksalloc (Kernel Streaming allocator) frames as dma-buf "
      "buffers upstream and passes buffers through", "ksalloc developers");

  trans_class->start = GST_DEBUG_FUNCPTR (gst_ksalloc_filter_start);
  trans_class->propose_allocation =
      GST_DEBUG_FUNCPTR (gst_ksalloc_filter_propose_allocation);
  trans_class->transform_ip =
      GST_DEBUG_FUNCPTR (gst_ksalloc_filter_transform_ip);
  trans_class->transform_ip_on_passthrough = TRUE;
  trans_class->passthrough_on_same_caps = FALSE;

  GST_DEBUG_CATEGORY_INIT (gst_ksalloc_filter_debug, "ksallocfilter", 0,
      "ksallocpool element");
}

static void
gst_ksalloc_filter_init (GstKsallocFilter * self)
{
  self->frames = GST_KSALLOC_POOL_DEFAULT_FRAMES;
  self->device = g_strdup (KSA_DEVICE_PATH);
  self->allocator_fd = -1;
  self->join_fd = -1;
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}
