/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ksalloc GStreamer plugin: ksalloc (Kernel Streaming stream
 * allocator) frames as dma-buf buffers.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

/* GstPluginDesc.source */
#ifndef PACKAGE
#define PACKAGE "ksalloc"
#endif

#include "gstksallocfilter.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  return GST_ELEMENT_REGISTER (ksallocpool, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, ksalloc,
    "ksalloc stream allocator frames as dma-buf buffer pools",
    plugin_init, KSA_VERSION, "LGPL", "ksalloc", "Unknown package origin")
