// SPDX-License-Identifier: GPL-2.0
/*
 * A frame as a dma-buf, the way drivers share buffers: importers attach
 * and map it for their own device, vb2 and DRM drivers vmap it, user
 * space mmaps it and brackets CPU access with DMA_BUF_IOCTL_SYNC.
 *
 * Lifetime: each dma-buf holds a reference on the allocator's file, and
 * counts one export of its frame in the pool (ksa_pool_export()); the
 * allocator holds no reference back. The frame returns to the pool only
 * when no client holds it and the last of its dma-bufs is released.
 *
 * Locking: struct ksa_dmabuf.lock (a mutex) protects the list of mapped
 * tables (and whose they are) and the vmap count. map_dma_buf,
 * unmap_dma_buf, vmap and vunmap run with the dma-buf's reservation lock
 * held on 6.12 and later, and sometimes without it on 6.1; this file
 * never takes the reservation lock and never assumes it is held, so the
 * order is always resv, then ours.
 * The pool's spinlock is only taken inside ksa_pool_*(), never across
 * anything that sleeps.
 */
#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/highmem.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "ksalloc.h"

/* The import namespace of the dma-buf symbols, spelled for every kernel */
MODULE_INFO(import_ns, "DMA_BUF");

struct ksa_dmabuf {
	struct ksalloc_allocator *a;	/* a reference on a->file */
	struct ksa_frame *frame;
	u32 index;
	bool owned;			/* it owns the frame (FRAME_ALLOC) */
	bool unpublished;		/* its fd never reached anybody */
	size_t size;			/* PAGE_ALIGN(frame_size) */
	struct mutex lock;		/* protects maps, vmap_cnt, vaddr */
	struct list_head maps;		/* struct ksa_dmabuf_map, mapped now */
	unsigned int vmap_cnt;
	void *vaddr;
};

/* One map_dma_buf result: a table of the frame's pages, mapped for a device */
struct ksa_dmabuf_map {
	struct sg_table *sgt;
	struct device *dev;
	enum dma_data_direction dir;	/* of the mapping, also for syncs */
	/* Whose mapping it is; only compared, never followed */
	const struct dma_buf_attachment *attach;
	struct list_head node;		/* on ksa_dmabuf.maps */
};

/*
 * Importers unmap before they detach. 7.2's core no longer unmaps at
 * detach, so an importer that does not is warned about here; its
 * mappings stay valid (they point at nothing of the attachment's) until
 * it unmaps them or the dma-buf is released.
 */
static void ksa_dmabuf_detach(struct dma_buf *dmabuf,
			      struct dma_buf_attachment *attach)
{
	struct ksa_dmabuf *db = dmabuf->priv;
	struct ksa_dmabuf_map *m;

	mutex_lock(&db->lock);
	list_for_each_entry(m, &db->maps, node) {
		if (m->attach == attach) {
			WARN_ONCE(1, "ksalloc: %s detached a dma-buf it still maps\n",
				  dev_name(attach->dev));
			m->attach = NULL;
		}
	}
	mutex_unlock(&db->lock);
}

/*
 * A fresh table per call, mapped for the importer's device in entries it
 * takes (ksa_frame_map_dev()): the frame's own table never carries a
 * device's DMA addresses, and two maps of one attachment never share one.
 * Called with or without the reservation lock (see the top of the file).
 */
static struct sg_table *ksa_dmabuf_map(struct dma_buf_attachment *attach,
				       enum dma_data_direction dir)
{
	struct ksa_dmabuf *db = attach->dmabuf->priv;
	struct ksa_dmabuf_map *m;
	struct sg_table *sgt;

	m = kzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return ERR_PTR(-ENOMEM);
	m->sgt = ksa_frame_map_dev(db->frame, attach->dev, dir, 0);
	if (IS_ERR(m->sgt)) {
		sgt = m->sgt;
		kfree(m);
		return sgt;
	}
	m->dev = attach->dev;
	m->dir = dir;
	m->attach = attach;
	mutex_lock(&db->lock);
	list_add_tail(&m->node, &db->maps);
	mutex_unlock(&db->lock);
	return m->sgt;
}

static void ksa_dmabuf_unmap(struct dma_buf_attachment *attach,
			     struct sg_table *sgt,
			     enum dma_data_direction dir)
{
	struct ksa_dmabuf *db = attach->dmabuf->priv;
	struct ksa_dmabuf_map *m, *found = NULL;

	mutex_lock(&db->lock);
	list_for_each_entry(m, &db->maps, node) {
		if (m->sgt == sgt) {
			list_del(&m->node);
			found = m;
			break;
		}
	}
	mutex_unlock(&db->lock);
	if (WARN_ON(!found))
		return;
	ksa_frame_unmap_dev(found->dev, found->sgt, dir, 0);
	kfree(found);
}

/*
 * DMA_BUF_IOCTL_SYNC START: what devices wrote becomes visible to CPUs.
 * Each mapping is synced in the direction it was mapped with (DMA API
 * debugging rejects any other), whatever the CPU access is.
 */
static int ksa_dmabuf_begin_cpu_access(struct dma_buf *dmabuf,
				       enum dma_data_direction dir)
{
	struct ksa_dmabuf *db = dmabuf->priv;
	struct ksa_dmabuf_map *m;

	mutex_lock(&db->lock);
	if (db->vmap_cnt)
		invalidate_kernel_vmap_range(db->vaddr, db->size);
	list_for_each_entry(m, &db->maps, node)
		dma_sync_sgtable_for_cpu(m->dev, m->sgt, m->dir);
	mutex_unlock(&db->lock);
	return 0;
}

/* DMA_BUF_IOCTL_SYNC END: what CPUs wrote becomes visible to devices. */
static int ksa_dmabuf_end_cpu_access(struct dma_buf *dmabuf,
				     enum dma_data_direction dir)
{
	struct ksa_dmabuf *db = dmabuf->priv;
	struct ksa_dmabuf_map *m;

	mutex_lock(&db->lock);
	if (db->vmap_cnt)
		flush_kernel_vmap_range(db->vaddr, db->size);
	list_for_each_entry(m, &db->maps, node)
		dma_sync_sgtable_for_device(m->dev, m->sgt, m->dir);
	mutex_unlock(&db->lock);
	return 0;
}

static vm_fault_t ksa_dmabuf_fault(struct vm_fault *vmf)
{
	struct ksa_dmabuf *db = vmf->vma->vm_private_data;

	return ksa_frame_fault(vmf, ksa_frame_page(db->frame, vmf->pgoff));
}

static const struct vm_operations_struct ksa_dmabuf_vm_ops = {
	.fault = ksa_dmabuf_fault,
};

/* The core checked the range against the size; only shared mappings. */
static int ksa_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	struct ksa_dmabuf *db = dmabuf->priv;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	ksa_vma_setup(vma, &ksa_dmabuf_vm_ops, db);
	return ksa_frame_insert(vma, vma->vm_start, db->frame, vma->vm_pgoff,
				vma_pages(vma));
}

static int ksa_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct ksa_dmabuf *db = dmabuf->priv;
	int ret = 0;

	mutex_lock(&db->lock);
	if (!db->vmap_cnt) {
		db->vaddr = ksa_frame_vmap(db->frame, db->size);
		if (!db->vaddr)
			ret = -ENOMEM;
	}
	if (!ret) {
		db->vmap_cnt++;
		iosys_map_set_vaddr(map, db->vaddr);
	}
	mutex_unlock(&db->lock);
	return ret;
}

static void ksa_dmabuf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct ksa_dmabuf *db = dmabuf->priv;

	mutex_lock(&db->lock);
	if (!WARN_ON(!db->vmap_cnt) && !--db->vmap_cnt) {
		ksa_frame_vunmap(db->vaddr);
		db->vaddr = NULL;
	}
	mutex_unlock(&db->lock);
	iosys_map_clear(map);
}

/*
 * The last reference is gone (the final fput, in process context): the
 * frame may return to the pool, and the allocator may go.
 */
static void ksa_dmabuf_release(struct dma_buf *dmabuf)
{
	struct ksa_dmabuf *db = dmabuf->priv;
	struct ksalloc_allocator *a = db->a;

	WARN_ON(!list_empty(&db->maps) || db->vmap_cnt);
	if (db->owned && db->unpublished)
		ksa_pool_untake(&a->pool, db->index);
	else if (ksa_pool_unexport(&a->pool, db->index) > 0)
		ksa_allocator_freed(a, 1);
	mutex_destroy(&db->lock);
	kfree(db);
	fput(a->file);
}

static const struct dma_buf_ops ksa_dmabuf_ops = {
	.detach = ksa_dmabuf_detach,
	.map_dma_buf = ksa_dmabuf_map,
	.unmap_dma_buf = ksa_dmabuf_unmap,
	.begin_cpu_access = ksa_dmabuf_begin_cpu_access,
	.end_cpu_access = ksa_dmabuf_end_cpu_access,
	.mmap = ksa_dmabuf_mmap,
	.vmap = ksa_dmabuf_vmap,
	.vunmap = ksa_dmabuf_vunmap,
	.release = ksa_dmabuf_release,
};

/**
 * ksa_dmabuf_export() - a new dma-buf of frame @index
 * @a: the allocator
 * @index: the frame: one a client holds, or (@owned) one just taken with
 *	ksa_pool_alloc_owned(), whose export the new dma-buf takes over
 * @owned: the frame was taken for this dma-buf
 *
 * The dma-buf is PAGE_ALIGN(frame_size) bytes, O_RDWR, named
 * "ksalloc:<allocator id>:<frame index>" for debugfs.
 *
 * Return: the dma-buf (its only reference) or an ERR_PTR: -EINVAL or
 * -EBUSY (not a frame a client holds, see ksa_pool_export()), -ENOMEM.
 * With @owned, on failure the frame is taken back (ksa_pool_untake()).
 */
struct dma_buf *ksa_dmabuf_export(struct ksalloc_allocator *a, u32 index,
				  bool owned)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct file *file = NULL;
	struct dma_buf *dmabuf;
	struct ksa_dmabuf *db;
	char *name;
	int ret;

	if (!owned) {
		ret = ksa_pool_export(&a->pool, index);
		if (ret)
			return ERR_PTR(ret);
	}
	ret = -ENOMEM;
	db = kzalloc(sizeof(*db), KSA_GFP);
	name = kasprintf(KSA_GFP, "ksalloc:%llu:%u", a->id, index);
	if (!db || !name)
		goto err;
	mutex_init(&db->lock);
	INIT_LIST_HEAD(&db->maps);
	db->a = a;
	db->frame = &a->pool.frame[index];
	db->index = index;
	db->owned = owned;
	db->size = a->pool.stride;

	exp_info.ops = &ksa_dmabuf_ops;
	exp_info.size = db->size;
	exp_info.flags = O_RDWR;
	exp_info.priv = db;
	get_file(a->file);
	dmabuf = dma_buf_export(&exp_info);
	if (!IS_ERR(dmabuf)) {
		/* Not published yet: nobody else can set or read the name. */
		spin_lock(&dmabuf->name_lock);
		dmabuf->name = name;
		spin_unlock(&dmabuf->name_lock);
		return dmabuf;
	}
	ret = PTR_ERR(dmabuf);
	mutex_destroy(&db->lock);
	file = a->file;

err:
	/* The export goes before the reference that keeps the pool. */
	if (owned)
		ksa_pool_untake(&a->pool, index);
	else if (ksa_pool_unexport(&a->pool, index) > 0)
		ksa_allocator_freed(a, 1);
	kfree(name);
	kfree(db);
	if (file)
		fput(file);
	return ERR_PTR(ret);
}

/**
 * ksa_dmabuf_unpublished() - a new dma-buf's fd never reached anybody
 * @file: the dma-buf's file, of ksa_dmabuf_export(), its only reference
 *
 * Called before the caller drops that reference because the request
 * failed after all (EFAULT): a frame the dma-buf owns is then taken back
 * at its release as if it had never been taken (ksa_pool_untake()), with
 * no FREEFRAME.
 */
void ksa_dmabuf_unpublished(struct file *file)
{
	struct dma_buf *dmabuf = file->private_data;
	struct ksa_dmabuf *db = dmabuf->priv;

	db->unpublished = true;
}
