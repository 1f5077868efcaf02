// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * GstCheck unit test of GstKsallocPool and of the ksallocpool element
 * (gst/gstksallocpool.c and gstksallocfilter.c, linked in),
 * against the real /dev/ksalloc: acquire up to the frames, the next
 * acquire blocking without sleeping in the kernel, a flush and a
 * deactivation sending it away, a KSRESET of the allocator not, a release
 * waking it, the allocator's counters back to 0, config adjustment, that
 * a buffer's memory is its frame, the element's ALLOCATION answer (a new
 * pool after its properties changed), and its refusal of an allocator-fd
 * that is not an allocator.
 *
 * Most tests join an allocator the test created (as a KS graph manager
 * would hand one over), so that they can read its counters on their own
 * fd. Run in the test VM by selftests/gst/run.sh.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/allocators/allocators.h>
#include <gst/video/video.h>

#include <libksalloc.h>

#include "gstksallocfilter.h"
#include "gstksallocpool.h"
#include "sysfs-allocators.h"

/* A waiter that should have been woken gets this long (TCG is slow). */
#define WAKE_TIMEOUT_S 20
/* How long a waiter that must stay blocked is watched */
#define BLOCKED_MS 300

#define VIDEO_CAPS "video/x-raw,format=I420,width=64,height=48,framerate=30/1"
#define VIDEO_SIZE (64 * 48 * 3 / 2)

/* An allocator of @frames frames of @size bytes, as a graph manager makes */
static gint
make_allocator (guint frames, guint size)
{
  struct ksallocator_framing framing = {
    .options_flags = KSALLOCATOR_OPTIONF_SYSTEM_MEMORY,
    .pool_type = KS_POOL_NONPAGED,
    .frames = frames,
    .frame_size = size,
  };
  gint pin, fd = -1, ret;

  pin = ksa_open_pin ();
  fail_unless (pin >= 0, "open " KSA_DEVICE_PATH ": %s", g_strerror (-pin));
  ret = ksa_create_allocator (pin, &framing, O_CLOEXEC, &fd);
  close (pin);
  fail_unless (ret == 0, "create allocator: %s", ksa_strerror (ret));
  return fd;
}

static struct ksalloc_allocator_info
info_of (gint fd)
{
  struct ksalloc_allocator_info info;
  gint ret = ksa_allocator_info (fd, &info);

  fail_unless (ret == 0, "INFO: %s", ksa_strerror (ret));
  return info;
}

static guint
status_allocated (gint fd)
{
  struct ksstreamallocator_status st;
  gint ret = ksa_allocator_status (fd, &st);

  fail_unless (ret == 0, "STATUS: %s", ksa_strerror (ret));
  return st.allocated_frames;
}

/* The module's allocator count reaching @n */
static void
expect_allocators (gint n)
{
  fail_unless_equals_int (sysfs_allocators_wait (n), n);
}

static GstBufferPool *
configured_pool (gint join_fd, guint frames, const gchar * caps_str,
    guint size, guint min, guint max)
{
  GstBufferPool *pool = gst_ksalloc_pool_new (NULL, frames, join_fd, NULL);
  GstStructure *config;
  GstCaps *caps = gst_caps_from_string (caps_str);

  fail_unless (pool != NULL);
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, size, min, max);
  gst_buffer_pool_config_add_option (config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  fail_unless (gst_buffer_pool_set_config (pool, config),
      "the pool refused a config that fits");
  gst_caps_unref (caps);
  return pool;
}

/* A pool of bytes joining a new allocator of @frames frames of @size */
static GstBufferPool *
joined_pool (guint frames, guint size, gint * afd)
{
  *afd = make_allocator (frames, size);
  return configured_pool (*afd, 0, "application/x-ksalloc-test", size, 0,
      frames);
}

static GstFlowReturn
acquire_nowait (GstBufferPool * pool, GstBuffer ** buf)
{
  GstBufferPoolAcquireParams params = {
    .flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT,
  };

  *buf = NULL;
  return gst_buffer_pool_acquire_buffer (pool, buf, &params);
}

/* A blocking acquire in a thread of its own */
typedef struct
{
  GstBufferPool *pool;
  GThread *thread;
  GMutex lock;
  GCond cond;
  gboolean done;
  GstFlowReturn ret;
  GstBuffer *buf;
  gint tid;                     /* set right before the acquire */
} Waiter;

static gpointer
waiter_thread (gpointer data)
{
  Waiter *w = data;
  GstBuffer *buf = NULL;
  GstFlowReturn ret;

  g_atomic_int_set (&w->tid, (gint) syscall (SYS_gettid));
  ret = gst_buffer_pool_acquire_buffer (w->pool, &buf, NULL);

  g_mutex_lock (&w->lock);
  w->ret = ret;
  w->buf = buf;
  w->done = TRUE;
  g_cond_signal (&w->cond);
  g_mutex_unlock (&w->lock);
  return NULL;
}

static void
waiter_start (Waiter * w, GstBufferPool * pool)
{
  memset (w, 0, sizeof (*w));
  w->pool = pool;
  g_mutex_init (&w->lock);
  g_cond_init (&w->cond);
  w->thread = g_thread_new ("acquire", waiter_thread, w);
}

/* TRUE if the acquire returned within @ms */
static gboolean
waiter_wait (Waiter * w, gint64 ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;
  gboolean done;

  g_mutex_lock (&w->lock);
  while (!w->done && g_cond_wait_until (&w->cond, &w->lock, end)) {
  }
  done = w->done;
  g_mutex_unlock (&w->lock);
  return done;
}

/*
 * TRUE once the waiter's thread is inside the acquire and asleep in poll
 * (state S; wchan naming poll where the kernel tells), FALSE if the
 * acquire returned or it did not get there within WAKE_TIMEOUT_S.
 */
static gboolean
waiter_parked (Waiter * w)
{
  gint64 end = g_get_monotonic_time () + WAKE_TIMEOUT_S * G_TIME_SPAN_SECOND;

  do {
    gint tid = g_atomic_int_get (&w->tid);
    gchar *path, *stat = NULL, *wchan = NULL, *state;
    gboolean parked = FALSE;

    if (waiter_wait (w, 0))
      return FALSE;
    if (tid) {
      path = g_strdup_printf ("/proc/self/task/%d/stat", tid);
      g_file_get_contents (path, &stat, NULL, NULL);
      g_free (path);
      path = g_strdup_printf ("/proc/self/task/%d/wchan", tid);
      g_file_get_contents (path, &wchan, NULL, NULL);
      g_free (path);
      /* "tid (comm) S ...": the state follows the last ')' */
      state = stat ? strrchr (stat, ')') : NULL;
      parked = state && state[1] == ' ' && state[2] == 'S' &&
          (!wchan || !*wchan || !strcmp (wchan, "0") ||
          strstr (wchan, "poll"));
      g_free (stat);
      g_free (wchan);
    }
    if (parked)
      return TRUE;
    g_usleep (10 * 1000);
  } while (g_get_monotonic_time () < end);
  return FALSE;
}

/* The waiter asleep in the acquire, and still there BLOCKED_MS later */
#define fail_unless_blocked(w, what) do {				\
	fail_unless (waiter_parked (w), "acquire did not block " what	\
	    " (%s)", (w)->done ? gst_flow_get_name ((w)->ret) : "not parked"); \
	fail_if (waiter_wait (w, BLOCKED_MS), "acquire returned %s " what, \
	    gst_flow_get_name ((w)->ret));				\
} while (0)

static void
waiter_join (Waiter * w)
{
  g_thread_join (w->thread);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->cond);
}

/* A flush (left on) ends the blocked waiter with FLUSHING, no buffer */
static void
flush_ends_waiter (GstBufferPool * pool, Waiter * w, const gchar * when)
{
  gst_buffer_pool_set_flushing (pool, TRUE);
  fail_unless (waiter_wait (w, WAKE_TIMEOUT_S * 1000),
      "a flush%s did not wake the acquire", when);
  waiter_join (w);
  fail_unless_equals_int (w->ret, GST_FLOW_FLUSHING);
  fail_unless (w->buf == NULL);
}

/* Every acquire fills the frames; one more blocks until flush or release. */
GST_START_TEST (test_acquire_block_flush_release)
{
  const guint frames = 4;
  gint afd = make_allocator (frames, VIDEO_SIZE);
  struct ksalloc_allocator_info info = info_of (afd);
  /* A minimum, as v4l2src sets: GstBufferPool would preallocate that many */
  GstBufferPool *pool = configured_pool (afd, 0, VIDEO_CAPS, VIDEO_SIZE, 2,
      frames);
  GstKsallocPoolStats stats;
  GstBuffer *buf[4], *extra;
  gint64 offsets[4];
  Waiter w;
  guint i, j;

  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  for (i = 0; i < frames; i++) {
    GstMemory *mem;
    GstVideoMeta *meta;

    fail_unless_equals_int (acquire_nowait (pool, &buf[i]), GST_FLOW_OK);
    fail_unless_equals_int (gst_buffer_n_memory (buf[i]), 1);
    mem = gst_buffer_peek_memory (buf[i], 0);
    fail_unless (gst_is_dmabuf_memory (mem), "not dma-buf memory");
    fail_unless (gst_dmabuf_memory_get_fd (mem) >= 0);
    fail_unless_equals_int (gst_buffer_get_size (buf[i]), VIDEO_SIZE);
    meta = gst_buffer_get_video_meta (buf[i]);
    fail_unless (meta != NULL, "no GstVideoMeta");
    fail_unless_equals_int (meta->width, 64);
    fail_unless_equals_int (meta->height, 48);
    offsets[i] = gst_ksalloc_pool_buffer_offset (buf[i]);
    fail_unless (offsets[i] >= 0 && offsets[i] % info.frame_stride == 0 &&
        (guint64) offsets[i] < info.mmap_size, "bad frame offset %"
        G_GINT64_FORMAT, offsets[i]);
    for (j = 0; j < i; j++)
      fail_unless (offsets[i] != offsets[j], "frame handed out twice");
  }
  info = info_of (afd);
  fail_unless_equals_int (info.allocated_frames, frames);
  fail_unless_equals_int (info.exported_frames, frames);
  gst_ksalloc_pool_get_stats (GST_KSALLOC_POOL (pool), &stats);
  fail_unless_equals_int (stats.outstanding, frames);
  fail_unless_equals_int (stats.acquired, frames);

  /* Empty: DONTWAIT is EOS, a plain acquire waits. */
  fail_unless_equals_int (acquire_nowait (pool, &extra), GST_FLOW_EOS);
  waiter_start (&w, pool);
  fail_unless_blocked (&w, "on an empty pool");
  fail_unless_equals_int (info_of (afd).waiters, 0);    /* not in the kernel */

  /* A flush sends it away at once. */
  flush_ends_waiter (pool, &w, "");
  fail_unless_equals_int (acquire_nowait (pool, &extra), GST_FLOW_FLUSHING);
  gst_buffer_pool_set_flushing (pool, FALSE);

  /* A release wakes the next one, with the frame it released. */
  waiter_start (&w, pool);
  fail_unless_blocked (&w, "on an empty pool");
  gst_buffer_unref (buf[0]);
  fail_unless (waiter_wait (&w, WAKE_TIMEOUT_S * 1000),
      "a release did not wake the acquire");
  waiter_join (&w);
  fail_unless_equals_int (w.ret, GST_FLOW_OK);
  buf[0] = w.buf;
  fail_unless_equals_int (gst_ksalloc_pool_buffer_offset (buf[0]), offsets[0]);
  fail_unless_equals_int (status_allocated (afd), frames);

  /* Releasing every buffer gives every frame back. */
  for (i = 0; i < frames; i++)
    gst_buffer_unref (buf[i]);
  fail_unless_equals_int (status_allocated (afd), 0);
  fail_unless_equals_int (info_of (afd).exported_frames, 0);
  gst_ksalloc_pool_get_stats (GST_KSALLOC_POOL (pool), &stats);
  fail_unless_equals_int (stats.outstanding, 0);
  fail_unless_equals_int (stats.acquired, frames + 1);

  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  /* The pool used a duplicate: ours still works. */
  fail_unless_equals_int (info_of (afd).frames, frames);
  close (afd);
}

GST_END_TEST;

/* Deactivation wakes the waiter; the allocator goes with the last buffer. */
GST_START_TEST (test_deactivate_own_allocator)
{
  gint base = sysfs_allocators ();
  GstBufferPool *pool = configured_pool (-1, 2, "application/x-ksalloc-test",
      10000, 0, 2);
  GstKsallocPoolStats stats;
  GstBuffer *a, *b;
  Waiter w;

  fail_unless (base >= 0, "cannot read " SYSFS_ALLOCATORS);
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  expect_allocators (base + 1);
  gst_ksalloc_pool_get_stats (GST_KSALLOC_POOL (pool), &stats);
  fail_unless_equals_int (stats.frames, 2);
  fail_unless_equals_int (stats.frame_size, 10000);
  fail_unless (stats.allocator_id != 0);

  fail_unless_equals_int (acquire_nowait (pool, &a), GST_FLOW_OK);
  fail_unless_equals_int (acquire_nowait (pool, &b), GST_FLOW_OK);
  gst_ksalloc_pool_get_stats (GST_KSALLOC_POOL (pool), &stats);
  fail_unless_equals_int (stats.allocated, 2);
  fail_unless_equals_int (stats.outstanding, 2);
  fail_unless_equals_int (stats.acquired, 2);

  waiter_start (&w, pool);
  fail_unless_blocked (&w, "on an empty pool");
  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  fail_unless (waiter_wait (&w, WAKE_TIMEOUT_S * 1000),
      "deactivation did not wake the acquire");
  waiter_join (&w);
  fail_unless_equals_int (w.ret, GST_FLOW_FLUSHING);

  /* Buffers out: the allocator lives on until they come back. */
  expect_allocators (base + 1);
  gst_buffer_unref (a);
  gst_ksalloc_pool_get_stats (GST_KSALLOC_POOL (pool), &stats);
  fail_unless_equals_int (stats.outstanding, 1);
  gst_buffer_unref (b);
  expect_allocators (base);
  gst_ksalloc_pool_get_stats (GST_KSALLOC_POOL (pool), &stats);
  fail_unless_equals_int (stats.outstanding, 0);
  fail_unless_equals_int (stats.allocated, -1);
  gst_object_unref (pool);
}

GST_END_TEST;

/*
 * KSRESET_BEGIN by whoever shares the allocator is not this pool's flush:
 * the waiter stays blocked through the reset and gets a frame after
 * KSRESET_END; a flush during a reset still sends it away at once.
 */
GST_START_TEST (test_ksreset_wakes)
{
  gint afd;
  GstBufferPool *pool = joined_pool (1, 4096, &afd);
  GstBuffer *a, *b;
  Waiter w;

  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  fail_unless_equals_int (acquire_nowait (pool, &a), GST_FLOW_OK);
  waiter_start (&w, pool);
  fail_unless_blocked (&w, "on an empty pool");
  fail_unless_equals_int (ksa_reset_state (afd, KSRESET_BEGIN), 0);
  /* Frees work during a reset; the waiter keeps waiting. */
  gst_buffer_unref (a);
  fail_unless_equals_int (status_allocated (afd), 0);
  fail_unless_blocked (&w, "during a reset");
  fail_unless_equals_int (acquire_nowait (pool, &b), GST_FLOW_EOS);
  fail_unless_equals_int (ksa_reset_state (afd, KSRESET_END), 0);
  fail_unless (waiter_wait (&w, WAKE_TIMEOUT_S * 1000),
      "KSRESET_END did not give the acquire a frame");
  waiter_join (&w);
  fail_unless_equals_int (w.ret, GST_FLOW_OK);
  fail_unless (w.buf != NULL);
  a = w.buf;

  /* A flush during a reset ends the acquire at once. */
  waiter_start (&w, pool);
  fail_unless_blocked (&w, "on an empty pool");
  fail_unless_equals_int (ksa_reset_state (afd, KSRESET_BEGIN), 0);
  gst_buffer_unref (a);
  fail_unless_blocked (&w, "during a reset");
  flush_ends_waiter (pool, &w, " during a reset");
  gst_buffer_pool_set_flushing (pool, FALSE);
  fail_unless_equals_int (ksa_reset_state (afd, KSRESET_END), 0);
  fail_unless_equals_int (acquire_nowait (pool, &b), GST_FLOW_OK);
  gst_buffer_unref (b);
  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  fail_unless_equals_int (status_allocated (afd), 0);
  close (afd);
}

GST_END_TEST;

/* What does not fit is written back adjusted, with FALSE. */
GST_START_TEST (test_config_adjusted)
{
  GstCaps *caps = gst_caps_from_string (VIDEO_CAPS);
  GstBufferPool *pool = gst_ksalloc_pool_new (NULL, 4, -1, NULL);
  GstStructure *config;
  guint size, min, max;
  gint afd;

  /* More buffers at once than frames: refused, min lowered */
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, VIDEO_SIZE, 6, 0);
  fail_if (gst_buffer_pool_set_config (pool, config));
  config = gst_buffer_pool_get_config (pool);
  fail_unless (gst_buffer_pool_config_get_params (config, NULL, &size, &min,
          &max));
  fail_unless_equals_int (min, 4);
  fail_unless_equals_int (max, 4);
  fail_if (gst_buffer_pool_config_validate_params (config, caps, VIDEO_SIZE,
          6, 0), "a lowered minimum must not validate");
  gst_structure_free (config);

  /* No maximum or too high: set to the frames, which validates */
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, VIDEO_SIZE, 2, 0);
  fail_if (gst_buffer_pool_set_config (pool, config));
  config = gst_buffer_pool_get_config (pool);
  fail_unless (gst_buffer_pool_config_validate_params (config, caps,
          VIDEO_SIZE, 2, 0));
  fail_unless (gst_buffer_pool_config_get_params (config, NULL, NULL, &min,
          &max));
  fail_unless_equals_int (min, 2);
  fail_unless_equals_int (max, 4);
  fail_unless (gst_buffer_pool_set_config (pool, config));

  /* A size below the caps' frame size is raised */
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, 100, 0, 4);
  fail_if (gst_buffer_pool_set_config (pool, config));
  config = gst_buffer_pool_get_config (pool);
  fail_unless (gst_buffer_pool_config_get_params (config, NULL, &size, NULL,
          NULL));
  fail_unless_equals_int (size, VIDEO_SIZE);
  gst_structure_free (config);
  gst_object_unref (pool);

  /* A joined allocator's frames too small: refused, never validates */
  afd = make_allocator (4, 4096);
  pool = gst_ksalloc_pool_new (NULL, 0, afd, NULL);
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, VIDEO_SIZE, 0, 4);
  fail_if (gst_buffer_pool_set_config (pool, config));
  config = gst_buffer_pool_get_config (pool);
  fail_if (gst_buffer_pool_config_validate_params (config, caps, VIDEO_SIZE,
          0, 4));
  gst_structure_free (config);
  gst_object_unref (pool);
  close (afd);
  gst_caps_unref (caps);
}

GST_END_TEST;

/* A buffer's memory is its frame: what one side writes, the other reads. */
GST_START_TEST (test_buffer_is_frame)
{
  gint afd;
  GstBufferPool *pool = joined_pool (2, 8192, &afd);
  struct ksa_allocator *alloc = NULL;
  GstMapInfo map;
  GstBuffer *buf;
  guint8 *frame;
  gint ret;

  ret = ksa_allocator_open (afd, 0, &alloc);
  fail_unless (ret == 0, "map the allocator: %s", ksa_strerror (ret));
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  fail_unless_equals_int (acquire_nowait (pool, &buf), GST_FLOW_OK);
  frame = ksa_frame_at (alloc, gst_ksalloc_pool_buffer_offset (buf));
  fail_unless (frame != NULL);

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  memset (map.data, 0x5a, map.size);
  gst_buffer_unmap (buf, &map);
  fail_unless (frame[0] == 0x5a && frame[8191] == 0x5a,
      "the buffer's writes are not in the frame");
  memset (frame, 0xa5, 8192);
  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  fail_unless (map.data[0] == 0xa5 && map.data[8191] == 0xa5,
      "the frame's contents are not in the buffer");
  gst_buffer_unmap (buf, &map);

  gst_buffer_unref (buf);
  fail_unless_equals_int (status_allocated (afd), 0);
  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  ksa_allocator_close (alloc);
  close (afd);
}

GST_END_TEST;

/* The element answers the ALLOCATION query with the pool and counts. */
GST_START_TEST (test_element_offers_pool)
{
  GstHarness *h = gst_harness_new ("ksallocpool");
  GstCaps *caps = gst_caps_from_string (VIDEO_CAPS);
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  GstBufferPool *pool = NULL;
  GstStructure *config;
  GstBuffer *buf, *out;
  guint size, min, max;
  guint64 passed, acquired, id;
  gint allocated;

  g_object_set (h->element, "frames", 3, NULL);
  gst_harness_set_src_caps (h, gst_caps_ref (caps));
  fail_unless (gst_pad_peer_query (h->srcpad, query));
  fail_unless_equals_int (gst_query_get_n_allocation_pools (query), 1);
  gst_query_parse_nth_allocation_pool (query, 0, &pool, &size, &min, &max);
  fail_unless (pool && GST_IS_KSALLOC_POOL (pool), "not a ksalloc pool");
  fail_unless_equals_int (size, VIDEO_SIZE);
  fail_unless_equals_int (min, 0);
  fail_unless_equals_int (max, 3);
  fail_unless (gst_query_find_allocation_meta (query, GST_VIDEO_META_API_TYPE,
          NULL), "no GstVideoMeta offered");
  gst_query_unref (query);

  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, size, 2, max);
  fail_unless (gst_buffer_pool_set_config (pool, config));
  fail_unless (gst_buffer_pool_set_active (pool, TRUE));
  fail_unless_equals_int (gst_buffer_pool_acquire_buffer (pool, &buf, NULL),
      GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  out = gst_harness_pull (h);
  fail_unless (out == buf, "not passed through");
  g_object_get (h->element, "frames-passed", &passed, "frames-acquired",
      &acquired, "allocated-frames", &allocated, "allocator-id", &id, NULL);
  fail_unless_equals_int (passed, 1);
  fail_unless_equals_int (acquired, 1);
  fail_unless_equals_int (allocated, 1);
  fail_unless (id != 0);
  gst_buffer_unref (out);
  g_object_get (h->element, "allocated-frames", &allocated, NULL);
  fail_unless_equals_int (allocated, 0);

  fail_unless (gst_buffer_pool_set_active (pool, FALSE));
  gst_object_unref (pool);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* The pool the element offers for @caps, with its max in @max */
static GstBufferPool *
offered_pool (GstHarness * h, GstCaps * caps, guint * max)
{
  GstQuery *query = gst_query_new_allocation (caps, TRUE);
  GstBufferPool *pool = NULL;

  fail_unless (gst_pad_peer_query (h->srcpad, query));
  fail_unless_equals_int (gst_query_get_n_allocation_pools (query), 1);
  gst_query_parse_nth_allocation_pool (query, 0, &pool, NULL, NULL, max);
  fail_unless (pool && GST_IS_KSALLOC_POOL (pool), "not a ksalloc pool");
  gst_query_unref (query);
  return pool;
}

/* frames or allocator-fd changed: the next query offers a pool of them */
GST_START_TEST (test_element_property_change_new_pool)
{
  GstHarness *h = gst_harness_new ("ksallocpool");
  GstCaps *caps = gst_caps_from_string (VIDEO_CAPS);
  GstBufferPool *a, *b, *c;
  gint afd = make_allocator (2, VIDEO_SIZE);
  guint max;

  g_object_set (h->element, "frames", 3, NULL);
  gst_harness_set_src_caps (h, gst_caps_ref (caps));
  a = offered_pool (h, caps, &max);
  fail_unless_equals_int (max, 3);
  g_object_set (h->element, "frames", 5, NULL);
  b = offered_pool (h, caps, &max);
  fail_unless (b != a, "the pool of frames=3 offered after frames=5");
  fail_unless_equals_int (max, 5);
  g_object_set (h->element, "allocator-fd", afd, NULL);
  c = offered_pool (h, caps, &max);
  fail_unless (c != b, "the pool of its own allocator offered after "
      "allocator-fd");
  fail_unless_equals_int (max, 2);
  fail_unless (gst_buffer_pool_set_active (c, TRUE));
  fail_unless_equals_int (info_of (afd).allocated_frames, 0);
  fail_unless (gst_buffer_pool_set_active (c, FALSE));

  gst_object_unref (a);
  gst_object_unref (b);
  gst_object_unref (c);
  gst_caps_unref (caps);
  gst_harness_teardown (h);
  close (afd);
}

GST_END_TEST;

/* An allocator-fd that is not an allocator fails the start, saying so. */
GST_START_TEST (test_element_bad_allocator_fd)
{
  gint fds[2] = { ksa_open_pin (), eventfd (0, EFD_CLOEXEC) };
  guint i;

  fail_unless (fds[0] >= 0 && fds[1] >= 0);
  for (i = 0; i < G_N_ELEMENTS (fds); i++) {
    GstElement *e = gst_element_factory_make ("ksallocpool", NULL);
    GstBus *bus = gst_bus_new ();
    GstMessage *msg;
    GError *err = NULL;
    gint fd = -2;

    gst_element_set_bus (e, bus);
    g_object_set (e, "allocator-fd", fds[i], NULL);
    g_object_get (e, "allocator-fd", &fd, NULL);
    fail_unless_equals_int (fd, fds[i]);
    fail_unless_equals_int (gst_element_set_state (e, GST_STATE_PAUSED),
        GST_STATE_CHANGE_FAILURE);
    msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    fail_unless (msg != NULL, "no error message");
    gst_message_parse_error (msg, &err, NULL);
    fail_unless (strstr (err->message, "is not a ksalloc allocator") != NULL,
        "error: %s", err->message);
    g_error_free (err);
    gst_message_unref (msg);
    gst_element_set_state (e, GST_STATE_NULL);
    gst_object_unref (e);
    gst_object_unref (bus);
    close (fds[i]);
  }
}

GST_END_TEST;

static Suite *
ksallocpool_suite (void)
{
  Suite *s = suite_create ("ksallocpool");
  TCase *tc = tcase_create ("pool");

  /* Slow under TCG; a hang is still caught. */
  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_acquire_block_flush_release);
  tcase_add_test (tc, test_deactivate_own_allocator);
  tcase_add_test (tc, test_ksreset_wakes);
  tcase_add_test (tc, test_config_adjusted);
  tcase_add_test (tc, test_buffer_is_frame);
  tcase_add_test (tc, test_element_offers_pool);
  tcase_add_test (tc, test_element_property_change_new_pool);
  tcase_add_test (tc, test_element_bad_allocator_fd);
  return s;
}

int
main (int argc, char **argv)
{
  /*
   * The element under test is this binary's: the registry is used as it
   * is, never rescanned, since a scan could load the plugin's own copy of
   * the same types.
   */
  SRunner *sr;
  gint failed;

  g_setenv ("GST_REGISTRY_UPDATE", "no", TRUE);
  gst_check_init (&argc, &argv);
  GST_ELEMENT_REGISTER (ksallocpool, NULL);

  /* Verbose: a line for every check that passed too (run.sh reads them) */
  sr = srunner_create (ksallocpool_suite ());
  srunner_run_all (sr, CK_VERBOSE);
  failed = srunner_ntests_failed (sr);
  srunner_free (sr);
  return failed ? 1 : 0;
}
