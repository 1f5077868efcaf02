// SPDX-License-Identifier: GPL-2.0
/*
 * gst-pipeline-check: run a pipeline through ksallocpool and check what
 * reaches the sink, and that nothing is left allocated afterwards.
 *
 *   gst-pipeline-check [options] 'PIPELINE'
 *
 * PIPELINE (gst-launch syntax) has a ksallocpool named "ks" and a sink
 * named "sink". Every buffer that reaches the sink must be one dma-buf
 * memory of a GstKsallocPool whose fd the kernel names
 * ksalloc:<ks.allocator-id>:<frame> (its fdinfo), and the element's
 * frames-passed must count them all. After the pipeline went to NULL
 * (and again after it was freed), /sys/class/misc/ksalloc/allocators
 * must be back where it was before: no frame, and no allocator, is left.
 *
 *   --min-buffers N   at least N buffers must reach the sink (default 1)
 *   --vivid DEV       before the pipeline, set vivid's capture node DEV to
 *                     a fixed picture (75% colour bars, no OSD text,
 *                     YUYV 640x360, 15 fps), capture one reference frame with
 *                     V4L2 MMAP, and require every buffer to equal it
 *   --stop-after N    after N buffers, set the pipeline to NULL while it
 *                     streams (instead of waiting for EOS)
 *   --seek-after N    after N buffers, a flushing seek to 0; buffers must
 *                     keep coming after it, up to EOS
 *   --joined-fd N     ks has allocator-fd=N (an inherited allocator): its
 *                     id must be ks's, frames must have been taken from it
 *                     (high water), and none may be left allocated
 *   --expect-error S  the pipeline must fail with an error whose message
 *                     or debug text contains S (then no buffer is needed)
 *   --timeout S       fail if it has not ended after S seconds (120)
 *
 * Prints "# " lines; exit status 0 if every check passed, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gst/gst.h>
#include <gst/allocators/allocators.h>

#include <libksalloc.h>

#include "../vivid_lib.h"
#include "sysfs-allocators.h"

#define VIVID_WIDTH 640
#define VIVID_HEIGHT 360
/* The frame rate run.sh's caps ask for (see there) */
#define VIVID_FPS 15

static struct
{
  guint min_buffers;
  const gchar *vivid;
  guint stop_after;
  guint seek_after;
  const gchar *expect_error;
  guint timeout;
  gint joined_fd;
} opt = {.min_buffers = 1,.timeout = 120,.joined_fd = -1 };

static struct
{
  GMutex lock;
  guint buffers;                /* reached the sink */
  guint after_seek;             /* of which after the seek */
  gboolean seeked;
  guint bad;                    /* failed a check */
  gchar *first_bad;             /* the first failure */
  gboolean stop_sent, seek_sent;
} st;

static GstElement *pipeline, *ks;
static GMainLoop *loop;
static unsigned char *reference;
static gsize reference_size;
static gboolean failed;
static gboolean got_expected_error;

#define check_fail(...) do {						\
	g_print ("# FAIL: " __VA_ARGS__);				\
	g_print ("\n");							\
	failed = TRUE;							\
} while (0)

/* The "name:" line of a dma-buf fd's fdinfo, or NULL */
static gchar *
dmabuf_name (gint fd)
{
  gchar *path = g_strdup_printf ("/proc/self/fdinfo/%d", fd);
  gchar *text = NULL, *name = NULL, *p;

  if (g_file_get_contents (path, &text, NULL, NULL)) {
    p = strstr (text, "\nname:");
    if (p) {
      p += strlen ("\nname:");
      name = g_strndup (p, strcspn (p, "\n"));
      g_strstrip (name);
    }
  }
  g_free (text);
  g_free (path);
  return name;
}

/* NULL if @buf is a ksalloc frame of ks's allocator (with the picture) */
static gchar *
check_buffer (GstBuffer * buf)
{
  guint64 id = 0;
  GstMemory *mem;
  GstMapInfo map;
  gchar *name, *want, *why = NULL;

  if (gst_buffer_n_memory (buf) != 1)
    return g_strdup_printf ("%u memories", gst_buffer_n_memory (buf));
  mem = gst_buffer_peek_memory (buf, 0);
  if (!gst_is_dmabuf_memory (mem))
    return g_strdup_printf ("not dma-buf memory (%s)",
        mem->allocator ? mem->allocator->mem_type : "?");
  if (!buf->pool || strcmp (G_OBJECT_TYPE_NAME (buf->pool), "GstKsallocPool"))
    return g_strdup_printf ("not from a ksalloc pool (%s)",
        buf->pool ? G_OBJECT_TYPE_NAME (buf->pool) : "no pool");

  g_object_get (ks, "allocator-id", &id, NULL);
  name = dmabuf_name (gst_dmabuf_memory_get_fd (mem));
  want = g_strdup_printf ("ksalloc:%" G_GUINT64_FORMAT ":", id);
  if (!name || !g_str_has_prefix (name, want))
    why = g_strdup_printf ("dma-buf named '%s', not %s<frame>",
        name ? name : "(none)", want);
  g_free (want);
  g_free (name);
  if (why || !reference)
    return why;

  if (!gst_buffer_map (buf, &map, GST_MAP_READ))
    return g_strdup ("cannot map");
  if (map.size != reference_size)
    why = g_strdup_printf ("%" G_GSIZE_FORMAT " bytes, the reference %"
        G_GSIZE_FORMAT, map.size, reference_size);
  else if (memcmp (map.data, reference, reference_size)) {
    gsize i = 0;

    while (map.data[i] == reference[i])
      i++;
    why = g_strdup_printf ("differs from vivid's picture at byte %"
        G_GSIZE_FORMAT, i);
  }
  gst_buffer_unmap (buf, &map);
  return why;
}

static gboolean
stop_now (gpointer data G_GNUC_UNUSED)
{
  g_print ("# %u buffers: setting the pipeline to NULL while streaming\n",
      st.buffers);
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static gboolean
seek_now (gpointer data G_GNUC_UNUSED)
{
  g_print ("# %u buffers: flushing seek to 0\n", st.buffers);
  if (!gst_element_seek_simple (pipeline, GST_FORMAT_TIME,
          GST_SEEK_FLAG_FLUSH, 0)) {
    check_fail ("the flushing seek failed");
    g_main_loop_quit (loop);
    return G_SOURCE_REMOVE;
  }
  g_mutex_lock (&st.lock);
  st.seeked = TRUE;
  g_mutex_unlock (&st.lock);
  return G_SOURCE_REMOVE;
}

static GstPadProbeReturn
on_buffer (GstPad * pad G_GNUC_UNUSED, GstPadProbeInfo * info,
    gpointer data G_GNUC_UNUSED)
{
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  gchar *why = check_buffer (buf);

  g_mutex_lock (&st.lock);
  st.buffers++;
  if (st.seeked)
    st.after_seek++;
  if (why) {
    st.bad++;
    if (!st.first_bad)
      st.first_bad = g_strdup_printf ("buffer %u: %s", st.buffers, why);
  }
  if (opt.stop_after && st.buffers >= opt.stop_after && !st.stop_sent) {
    st.stop_sent = TRUE;
    g_idle_add (stop_now, NULL);
  }
  if (opt.seek_after && st.buffers >= opt.seek_after && !st.seek_sent) {
    st.seek_sent = TRUE;
    g_idle_add (seek_now, NULL);
  }
  g_mutex_unlock (&st.lock);
  g_free (why);
  return GST_PAD_PROBE_OK;
}

static gboolean
on_message (GstBus * bus G_GNUC_UNUSED, GstMessage * msg,
    gpointer data G_GNUC_UNUSED)
{
  GError *err = NULL;
  gchar *debug = NULL;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_EOS:
      g_print ("# EOS\n");
      g_main_loop_quit (loop);
      break;
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (msg, &err, &debug);
      g_print ("# error from %s: %s (%s)\n", GST_OBJECT_NAME (msg->src),
          err->message, debug ? debug : "");
      if (opt.expect_error && (strstr (err->message, opt.expect_error) ||
              (debug && strstr (debug, opt.expect_error))))
        got_expected_error = TRUE;
      else
        check_fail ("the pipeline failed");
      g_main_loop_quit (loop);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (msg, &err, &debug);
      g_print ("# warning from %s: %s\n", GST_OBJECT_NAME (msg->src),
          err->message);
      break;
    default:
      break;
  }
  g_clear_error (&err);
  g_free (debug);
  return TRUE;
}

static gboolean
on_timeout (gpointer data G_GNUC_UNUSED)
{
  check_fail ("no end after %u s (a hang?)", opt.timeout);
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* vivid: a fixed picture, and one frame of it captured with MMAP */
static gboolean
vivid_reference (const gchar * dev)
{
  struct vivid v;
  unsigned char *ref[VIDEO_MAX_PLANES];
  int ret;

  memset (&v, 0, sizeof (v));
  v.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
  v.fd = open (dev, O_RDWR | O_CLOEXEC);
  if (v.fd < 0) {
    check_fail ("open %s: %s", dev, g_strerror (errno));
    return FALSE;
  }
  ret = vivid_setup (&v, V4L2_PIX_FMT_YUYV, VIVID_WIDTH, VIVID_HEIGHT);
  if (!ret && (v.width != VIVID_WIDTH || v.height != VIVID_HEIGHT))
    ret = -EINVAL;
  if (!ret) {
    struct v4l2_streamparm parm = {.type = v.type };

    parm.parm.capture.timeperframe.numerator = 1;
    parm.parm.capture.timeperframe.denominator = VIVID_FPS;
    ret = vivid_ioctl (v.fd, VIDIOC_S_PARM, &parm);
  }
  if (!ret)
    ret = vivid_capture_reference (&v, ref);
  close (v.fd);
  if (ret) {
    check_fail ("vivid reference frame on %s: %s", dev, g_strerror (-ret));
    return FALSE;
  }
  reference = ref[0];
  reference_size = v.sizeimage[0];
  g_print ("# vivid %s: reference frame of %" G_GSIZE_FORMAT " bytes\n", dev,
      reference_size);
  return TRUE;
}

/* Allocators back at @base, allowing a moment for deferred releases */
static void
check_allocators (gint base, const gchar * when)
{
  gint n = sysfs_allocators_wait (base);

  if (n != base)
    check_fail ("%s: %d ksalloc allocators, %d before the pipeline", when, n,
        base);
}

/* The inherited allocator ks joined: used, and every frame back */
static void
check_joined (guint64 ks_id)
{
  struct ksalloc_allocator_info info;
  int ret = ksa_allocator_info (opt.joined_fd, &info);

  if (ret) {
    check_fail ("allocator fd %d: %s", opt.joined_fd, ksa_strerror (ret));
    return;
  }
  g_print ("# joined allocator %llu: high water %u, %u allocated\n",
      (unsigned long long) info.id, info.high_water, info.allocated_frames);
  if (info.id != ks_id)
    check_fail ("ks used allocator %" G_GUINT64_FORMAT ", not the joined %llu",
        ks_id, (unsigned long long) info.id);
  if (!info.high_water)
    check_fail ("no frame was taken from the joined allocator");
  if (info.allocated_frames)
    check_fail ("%u frames of the joined allocator left allocated",
        info.allocated_frames);
}

static void
usage (const char *prog)
{
  g_printerr ("usage: %s [--min-buffers N] [--vivid DEV] [--stop-after N] "
      "[--seek-after N] [--joined-fd N] [--expect-error TEXT] [--timeout S] PIPELINE\n",
      prog);
  exit (2);
}

static void
parse_args (int argc, char **argv)
{
  static const struct option longopts[] = {
    {"min-buffers", required_argument, NULL, 'm'},
    {"vivid", required_argument, NULL, 'v'},
    {"stop-after", required_argument, NULL, 's'},
    {"seek-after", required_argument, NULL, 'k'},
    {"joined-fd", required_argument, NULL, 'j'},
    {"expect-error", required_argument, NULL, 'e'},
    {"timeout", required_argument, NULL, 't'},
    {NULL, 0, NULL, 0},
  };
  int c;

  while ((c = getopt_long (argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
      case 'm':
        opt.min_buffers = atoi (optarg);
        break;
      case 'v':
        opt.vivid = optarg;
        break;
      case 's':
        opt.stop_after = atoi (optarg);
        break;
      case 'k':
        opt.seek_after = atoi (optarg);
        break;
      case 'j':
        opt.joined_fd = atoi (optarg);
        break;
      case 'e':
        opt.expect_error = optarg;
        break;
      case 't':
        opt.timeout = atoi (optarg);
        break;
      default:
        usage (argv[0]);
    }
  }
  if (optind != argc - 1 || !opt.timeout)
    usage (argv[0]);
}

int
main (int argc, char **argv)
{
  GError *err = NULL;
  GstElement *sink;
  GstPad *pad;
  GstBus *bus;
  guint64 passed = 0, id = 0;
  guint outstanding = 0;
  gint base;

  gst_init (&argc, &argv);
  parse_args (argc, argv);
  g_mutex_init (&st.lock);

  base = sysfs_allocators ();
  if (base < 0) {
    g_print ("# FAIL: no %s (ksalloc not loaded?)\n", SYSFS_ALLOCATORS);
    return 1;
  }
  if (opt.vivid && !vivid_reference (opt.vivid))
    return 1;

  pipeline = gst_parse_launch (argv[optind], &err);
  if (!pipeline || err) {
    g_print ("# FAIL: pipeline: %s\n", err ? err->message : "?");
    return 1;
  }
  ks = gst_bin_get_by_name (GST_BIN (pipeline), "ks");
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  if (!ks || !sink) {
    g_print ("# FAIL: the pipeline needs elements named ks and sink\n");
    return 1;
  }
  pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, NULL, NULL);
  gst_object_unref (pad);

  loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (pipeline);
  gst_bus_add_watch (bus, on_message, NULL);
  g_timeout_add_seconds (opt.timeout, on_timeout, NULL);

  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    g_print ("# the pipeline refused PLAYING\n");
  g_main_loop_run (loop);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_object_get (ks, "frames-passed", &passed, "frames-outstanding",
      &outstanding, "allocator-id", &id, NULL);
  g_print ("# %u buffers at the sink (%u after a seek), %" G_GUINT64_FORMAT
      " passed ksallocpool as ksalloc frames\n", st.buffers, st.after_seek,
      passed);

  if (opt.expect_error) {
    if (!got_expected_error)
      check_fail ("no error containing \"%s\"", opt.expect_error);
  } else {
    if (st.buffers < opt.min_buffers)
      check_fail ("%u buffers, at least %u expected", st.buffers,
          opt.min_buffers);
    if (st.bad)
      check_fail ("%u of %u buffers: the first, %s", st.bad, st.buffers,
          st.first_bad);
    /* A stop or a flush may drop what passed before it reached the sink */
    if (passed < st.buffers || (passed != st.buffers && !opt.stop_after &&
            !opt.seek_after))
      check_fail ("ksallocpool passed %" G_GUINT64_FORMAT " ksalloc frames, "
          "the sink got %u buffers", passed, st.buffers);
    if (opt.seek_after && !st.after_seek)
      check_fail ("no buffer after the flushing seek");
  }
  if (outstanding)
    check_fail ("%u buffers of the pool still out after NULL", outstanding);
  check_allocators (base, "after NULL");
  if (opt.joined_fd >= 0)
    check_joined (id);

  gst_object_unref (sink);
  gst_object_unref (ks);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  check_allocators (base, "after the pipeline was freed");
  g_main_loop_unref (loop);
  free (reference);

  return failed ? 1 : 0;
}
