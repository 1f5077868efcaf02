// SPDX-License-Identifier: GPL-2.0
/* From 6.2, importers vmap with dma_buf_vmap_unlocked(). */
#include <linux/dma-buf.h>
#include <linux/iosys-map.h>

int ksc_probe(struct dma_buf *dmabuf, struct iosys_map *map);
int ksc_probe(struct dma_buf *dmabuf, struct iosys_map *map)
{
#ifdef KSC_PROBE_CONTROL
	return dma_buf_vmap(dmabuf, map);
#else
	return dma_buf_vmap_unlocked(dmabuf, map);
#endif
}
