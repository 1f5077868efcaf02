// SPDX-License-Identifier: GPL-2.0
/*
 * Frame memory: the pages of one frame and the sg_table that describes
 * them, beneath the pool's state (pool.c).
 *
 * A frame is PAGE_ALIGN(frame_size) bytes of ordinary pages, nothing more:
 * no power-of-two rounding, so the caps count exactly what is held. Pages
 * come in the largest orders that are cheap to get, as the dma-buf system
 * heap takes them (8, 4, then 0, never more than what remains), one sg
 * entry per chunk. A contiguous frame (on request) is one block of the
 * smallest order that holds it, with the excess freed, as
 * alloc_pages_exact() does.
 *
 * Every block is split into order-0 pages (split_page()), never kept as a
 * compound page: each page has a reference count of its own, so it can be
 * inserted into user mappings and pinned by get_user_pages(), and a pin
 * on one page (vmsplice, O_DIRECT in flight, io_uring fixed buffers) keeps
 * that page alone alive after the allocator is gone, not its whole block.
 * Such a page has left the caps (they count allocators) but stays charged
 * to the memory cgroup until it is let go.
 *
 * Every page is zeroed, charged to the creator's memory cgroup (over
 * memory.max the allocation fails, with no OOM kill; the table too, see
 * KSA_GFP) and never movable, so never taken from CMA. The table carries
 * no DMA address: importers and kernel clients map a copy of it for their
 * own device.
 */
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "ksalloc.h"

/*
 * High orders: no reclaim, no retry, no warning; a failure just falls
 * back to a smaller order. Order 0 may retry, but fails rather than OOM.
 * GFP_USER, not GFP_HIGHUSER: the same zones on 64-bit, a linear-map
 * address for every page on 32-bit, and the page allocator's fault
 * injection (which leaves highmem allocations alone) reaches frames.
 */
#define KSA_GFP_HIGH	((GFP_USER | __GFP_ZERO | __GFP_NOWARN |		\
			  __GFP_NORETRY | __GFP_ACCOUNT) & ~__GFP_RECLAIM)
#define KSA_GFP_LOW	(GFP_USER | __GFP_ZERO | __GFP_ACCOUNT |		\
			 __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

static const unsigned int ksa_orders[] = { 8, 4, 0 };

/* The largest buddy block: the limit of a contiguous frame. */
size_t ksa_frame_max_contiguous(void)
{
	return PAGE_SIZE << KSA_MAX_BUDDY_ORDER;
}

/* Free the order-0 pages of a split block, @size bytes of them */
static void ksa_free_split(struct page *page, size_t size)
{
	unsigned long i;

	for (i = 0; i < size >> PAGE_SHIFT; i++)
		__free_page(page + i);
}

/*
 * A chunk being gathered: on a list by its first page's lru, its order in
 * that page's private field (both the page's own again once it is in the
 * table).
 */
static size_t ksa_chunk_size(struct page *page)
{
	return PAGE_SIZE << page_private(page);
}

static void ksa_frame_free_chunks(struct list_head *chunks)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, chunks, lru) {
		list_del(&page->lru);
		ksa_free_split(page, ksa_chunk_size(page));
	}
}

/* Scattered: chunks of the largest cheap order, split into pages. */
static int ksa_frame_alloc_chunks(struct list_head *chunks, size_t size,
				  unsigned int *nchunks)
{
	unsigned int max_order = ksa_orders[0];
	size_t left = size;
	struct page *page;
	unsigned int i;

	*nchunks = 0;
	while (left) {
		if (fatal_signal_pending(current))
			return -EINTR;
		page = NULL;
		for (i = 0; i < ARRAY_SIZE(ksa_orders); i++) {
			unsigned int order = ksa_orders[i];

			if (order > max_order || left < (PAGE_SIZE << order))
				continue;
			page = alloc_pages(order ? KSA_GFP_HIGH : KSA_GFP_LOW,
					   order);
			if (page)
				break;
		}
		if (!page)
			return -ENOMEM;
		split_page(page, ksa_orders[i]);
		set_page_private(page, ksa_orders[i]);
		list_add_tail(&page->lru, chunks);
		/* A larger order failed (or is not needed): not again. */
		max_order = ksa_orders[i];
		left -= ksa_chunk_size(page);
		(*nchunks)++;
		cond_resched();
	}
	return 0;
}

/* Contiguous: one block, split into pages, what is beyond @size freed. */
static struct page *ksa_frame_alloc_contiguous(size_t size)
{
	unsigned int order = get_order(size);
	unsigned long n = size >> PAGE_SHIFT, i;
	struct page *page;

	if (order > KSA_MAX_BUDDY_ORDER)
		return ERR_PTR(-E2BIG);
	page = alloc_pages(KSA_GFP_LOW, order);
	if (!page)
		return ERR_PTR(-ENOMEM);
	split_page(page, order);
	for (i = n; i < (1UL << order); i++)
		__free_page(page + i);
	return page;
}

/*
 * The frame's table: one array, never chained, so that entry i is sgl[i]
 * (see ksa_frame_page()). Charged like the pages, and failing, not
 * OOM-killing, over memory.max.
 */
static int ksa_frame_table(struct ksa_frame *f, unsigned int nents)
{
	struct scatterlist *sgl;

	sgl = kvmalloc_array(nents, sizeof(*sgl), KSA_GFP);
	if (!sgl)
		return -ENOMEM;
	sg_init_table(sgl, nents);
	f->sgt.sgl = sgl;
	f->sgt.nents = nents;
	f->sgt.orig_nents = nents;
	return 0;
}

/**
 * ksa_frame_alloc() - allocate the memory of one frame
 * @f: the frame, zeroed by the caller
 * @size: bytes, a multiple of PAGE_SIZE
 * @contiguous: one physically contiguous block
 *
 * Return: 0, -ENOMEM, -EINTR (fatal signal) or -E2BIG (@contiguous and
 * above ksa_frame_max_contiguous()).
 */
int ksa_frame_alloc(struct ksa_frame *f, size_t size, bool contiguous)
{
	struct scatterlist *sg;
	unsigned int nchunks;
	struct page *page;
	LIST_HEAD(chunks);
	int ret;

	if (contiguous) {
		page = ksa_frame_alloc_contiguous(size);
		if (IS_ERR(page))
			return PTR_ERR(page);
		ret = ksa_frame_table(f, 1);
		if (ret) {
			ksa_free_split(page, size);
			return ret;
		}
		sg_set_page(f->sgt.sgl, page, size, 0);
		return 0;
	}

	ret = ksa_frame_alloc_chunks(&chunks, size, &nchunks);
	if (!ret)
		ret = ksa_frame_table(f, nchunks);
	if (ret) {
		ksa_frame_free_chunks(&chunks);
		return ret;
	}
	sg = f->sgt.sgl;
	list_for_each_entry(page, &chunks, lru) {
		sg_set_page(sg, page, ksa_chunk_size(page), 0);
		sg = sg_next(sg);
	}
	/* page->lru and ->private are the page's own again from here on */
	for (sg = f->sgt.sgl; sg; sg = sg_next(sg)) {
		INIT_LIST_HEAD(&sg_page(sg)->lru);
		set_page_private(sg_page(sg), 0);
	}
	return 0;
}

/* Free the memory of a frame ksa_frame_alloc() set up. */
void ksa_frame_free(struct ksa_frame *f)
{
	struct scatterlist *sg;
	unsigned int i;

	/* Each page goes when its last reference does (a pin may hold it). */
	for_each_sgtable_sg(&f->sgt, sg, i)
		ksa_free_split(sg_page(sg), sg->length);
	kvfree(f->sgt.sgl);
}

/*
 * Page @pgoff of the frame, or NULL past its end, for the fault handlers:
 * in O(log n) for n chunks, with nothing stored beyond the table. Chunks
 * never grow within a frame (a frame takes no larger order after a
 * smaller one), so the table is at most one run of equal entries per
 * order (one entry for a contiguous frame); a binary search finds where
 * each run ends, and within a run the chunk is a division away.
 */
struct page *ksa_frame_page(const struct ksa_frame *f, unsigned long pgoff)
{
	struct scatterlist *sgl = f->sgt.sgl;
	unsigned int n = f->sgt.orig_nents, first = 0;

	while (first < n) {
		unsigned int len = sgl[first].length, lo = first + 1, hi = n;
		unsigned long chunk = len >> PAGE_SHIFT, run;

		while (lo < hi) {
			unsigned int mid = lo + (hi - lo) / 2;

			if (sgl[mid].length == len)
				lo = mid + 1;
			else
				hi = mid;
		}
		run = (lo - first) * chunk;
		if (pgoff < run)
			return sg_page(&sgl[first + pgoff / chunk]) +
			       pgoff % chunk;
		pgoff -= run;
		first = lo;
	}
	return NULL;
}

#define KSA_INSERT_BATCH	32

/*
 * Insert @npages pages of the frame, from page @pgoff on, at @addr of
 * @vma, as normal pages (not VM_PFNMAP: get_user_pages() works on them).
 */
int ksa_frame_insert(struct vm_area_struct *vma, unsigned long addr,
		     const struct ksa_frame *f, unsigned long pgoff,
		     unsigned long npages)
{
	struct page *batch[KSA_INSERT_BATCH];
	struct sg_page_iter piter;
	unsigned long n = 0, left;
	int ret;

	for_each_sgtable_page(&f->sgt, &piter, pgoff) {
		if (!npages)
			break;
		batch[n++] = sg_page_iter_page(&piter);
		npages--;
		if (n < KSA_INSERT_BATCH && npages)
			continue;
		left = n;
		ret = vm_insert_pages(vma, addr, batch, &left);
		/* The range is the vma's: EFAULT is a page table not allocated */
		if (ret)
			return ret == -EFAULT ? -ENOMEM : ret;
		addr += n << PAGE_SHIFT;
		n = 0;
	}
	return npages ? -EINVAL : 0;
}

/*
 * A kernel address of the first @size bytes of the frame: the linear map
 * for a contiguous low-memory frame, a vmap() of its pages otherwise.
 */
void *ksa_frame_vmap(const struct ksa_frame *f, size_t size)
{
	unsigned long npages = PAGE_ALIGN(size) >> PAGE_SHIFT, i = 0;
	struct sg_page_iter piter;
	struct page **pages;
	void *vaddr;

	if (f->sgt.orig_nents == 1 && !PageHighMem(sg_page(f->sgt.sgl)))
		return page_address(sg_page(f->sgt.sgl));
	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return NULL;
	for_each_sgtable_page(&f->sgt, &piter, 0) {
		if (i == npages)
			break;
		pages[i++] = sg_page_iter_page(&piter);
	}
	vaddr = vmap(pages, i, VM_MAP, PAGE_KERNEL);
	kvfree(pages);
	return vaddr;
}

/* Undo ksa_frame_vmap(): only a vmap() has anything to undo. */
void ksa_frame_vunmap(void *vaddr)
{
	if (is_vmalloc_addr(vaddr))
		vunmap(vaddr);
}

/*
 * The longest entry a table mapped for @dev may have: no longer than the
 * device takes in one DMA segment (64 KiB unless its driver says more)
 * nor than the DMA layer maps at once (swiotlb bounces at most 256 KiB:
 * swiotlb=force, SEV/TDX guests, pages beyond a narrow DMA mask), in
 * whole pages.
 */
static size_t ksa_frame_max_entry(struct device *dev)
{
	size_t max = min_t(size_t, dma_max_mapping_size(dev),
			   dma_get_max_seg_size(dev));

	return max_t(size_t, max & PAGE_MASK, PAGE_SIZE);
}

/**
 * ksa_frame_map_dev() - the frame mapped for one device
 * @f: the frame
 * @dev: the device
 * @dir: the direction of the device's accesses
 * @attrs: DMA_ATTR_* for dma_map_sgtable()
 *
 * A new table of the frame's pages, cut into entries the device and the
 * DMA layer take (ksa_frame_max_entry()), mapped with dma_map_sgtable():
 * the frame's own table never carries one device's addresses. Each piece
 * starts a whole number of entries into a naturally aligned block, so it
 * crosses no boundary the block does not; and adjacent pages stay
 * adjacent, so without an IOMMU a contiguous frame is still one run of
 * DMA addresses (what vb2-dma-contig checks).
 *
 * Return: the table, for ksa_frame_unmap_dev(), or an ERR_PTR: -ENOMEM or
 * the error of dma_map_sgtable().
 */
struct sg_table *ksa_frame_map_dev(const struct ksa_frame *f,
				   struct device *dev,
				   enum dma_data_direction dir,
				   unsigned long attrs)
{
	size_t max = ksa_frame_max_entry(dev), off, len;
	struct scatterlist *sg, *new_sg;
	unsigned int i, nents = 0;
	struct sg_table *sgt;
	int ret;

	for_each_sgtable_sg(&f->sgt, sg, i)
		nents += DIV_ROUND_UP(sg->length, max);
	sgt = kzalloc(sizeof(*sgt), GFP_KERNEL);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, nents, GFP_KERNEL);
	if (ret)
		goto err_free;
	new_sg = sgt->sgl;
	for_each_sgtable_sg(&f->sgt, sg, i) {
		for (off = 0; off < sg->length; off += len) {
			len = min_t(size_t, max, sg->length - off);
			sg_set_page(new_sg, sg_page(sg) + (off >> PAGE_SHIFT),
				    len, 0);
			new_sg = sg_next(new_sg);
		}
	}
	ret = dma_map_sgtable(dev, sgt, dir, attrs);
	if (ret)
		goto err_table;
	return sgt;

err_table:
	sg_free_table(sgt);
err_free:
	kfree(sgt);
	return ERR_PTR(ret);
}

/* Undo ksa_frame_map_dev() (@dir and @attrs as for dma_unmap_sgtable()) */
void ksa_frame_unmap_dev(struct device *dev, struct sg_table *sgt,
			 enum dma_data_direction dir, unsigned long attrs)
{
	dma_unmap_sgtable(dev, sgt, dir, attrs);
	sg_free_table(sgt);
	kfree(sgt);
}

/* A fault handler's answer for frame page @page (NULL: past the end) */
vm_fault_t ksa_frame_fault(struct vm_fault *vmf, struct page *page)
{
	if (!page)
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

/*
 * A shared mapping of frame pages: it never grows (mremap), and its pages
 * are normal pages, put back by the fault handler after MADV_DONTNEED.
 */
void ksa_vma_setup(struct vm_area_struct *vma,
		   const struct vm_operations_struct *ops, void *priv)
{
	ksa_vm_flags_set(vma, VM_DONTEXPAND);
	vma->vm_ops = ops;
	vma->vm_private_data = priv;
}
