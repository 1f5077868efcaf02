/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ksallocpool: a passthrough element that offers a GstKsallocPool upstream
 * in the ALLOCATION query, so that the element before it produces into
 * ksalloc frames (v4l2src io-mode=dmabuf-import captures into them).
 */
#ifndef __GST_KSALLOC_FILTER_H__
#define __GST_KSALLOC_FILTER_H__

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_KSALLOC_FILTER (gst_ksalloc_filter_get_type ())
G_DECLARE_FINAL_TYPE (GstKsallocFilter, gst_ksalloc_filter, GST,
    KSALLOC_FILTER, GstBaseTransform)

GST_ELEMENT_REGISTER_DECLARE (ksallocpool);

G_END_DECLS

#endif /* __GST_KSALLOC_FILTER_H__ */
