/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The module's count of live allocators (sysfs), for the GStreamer tests:
 * test-pool.c and pipeline-check.c check that a pool leaves none behind.
 */
#ifndef KSA_GST_SYSFS_ALLOCATORS_H
#define KSA_GST_SYSFS_ALLOCATORS_H

#include <stdlib.h>
#include <glib.h>

#define SYSFS_ALLOCATORS "/sys/class/misc/ksalloc/allocators"

/* The count, or -1 if it cannot be read (ksalloc not loaded) */
static inline gint
sysfs_allocators (void)
{
  gchar *text = NULL;
  gint n = -1;

  if (g_file_get_contents (SYSFS_ALLOCATORS, &text, NULL, NULL))
    n = atoi (text);
  g_free (text);
  return n;
}

/*
 * The count once it is @n, or the last one read after 5 s: an allocator's
 * last fput may be deferred.
 */
static inline gint
sysfs_allocators_wait (gint n)
{
  gint i, now = sysfs_allocators ();

  for (i = 0; i < 50 && now != n; i++) {
    g_usleep (100 * 1000);
    now = sysfs_allocators ();
  }
  return now;
}

#endif
