// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc frames captured into by a real V4L2 driver: vivid, from the test
 * kernel's own package (selftests/peers.conf), with V4L2_MEMORY_DMABUF.
 * Every test skips, saying so, on a kernel without that vivid instance.
 *
 * Three instances, each a variant of the capture tests:
 *  - vmalloc: vb2-vmalloc, which vmaps the dma-buf (the exporter's vmap);
 *  - dma_contig: vb2-dma-contig, which attaches, maps the dma-buf for
 *    vivid's device and needs one contiguous DMA run: frames of an
 *    allocator created with KSALLOC_CREATEF_CONTIGUOUS;
 *  - mplane: the multiplanar API with NV16M, two dma-bufs (two frames)
 *    per buffer, plane 0 starting after data_offset (128) bytes that
 *    vivid sets to 0x80.
 *
 * What is asserted:
 *  - the pattern arrives: a reference frame is captured first with
 *    V4L2_MEMORY_MMAP (a fixed test pattern without OSD text, so frames
 *    are byte-identical); each ksalloc frame is filled with a sentinel,
 *    queued, and after DQBUF (no V4L2_BUF_FLAG_ERROR, bytesused =
 *    sizeimage, the data_offset) it holds exactly the reference, read
 *    through the allocator's mmap between DMA_BUF_IOCTL_SYNC START and
 *    END, and the rest of the dma-buf still holds the sentinel;
 *  - vb2 holds a reference of its own on each queued dma-buf, and
 *    vb2-dma-contig keeps vivid's device attached (dma-buf debugfs);
 *  - a dma-buf smaller than the image is refused (EINVAL) and vb2 keeps
 *    no reference to it;
 *  - vb2-dma-contig refuses a physically scattered frame at QBUF (EFAULT:
 *    "contiguous chunk is too small") and takes one that /proc/self/pagemap
 *    shows contiguous;
 *  - the frame lifetime rule with vb2 holding the last reference: a
 *    FREEd frame whose fds are closed returns only at REQBUFS(0), at the
 *    close of the video node, when vb2 replaces it by another dma-buf, or
 *    when the process owning the queue is killed; the allocator closed
 *    while vivid still holds buffers lives on until vivid lets go, then
 *    every counter is back (allocators, bytes, the module's refcount).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "frames_lib.h"
#include "ksa_test.h"
#include "vivid_lib.h"
#include "kselftest_harness.h"

#define WIDTH		640
#define HEIGHT		360
#define NFRAMES		8
#define NBUF		3
#define SENTINEL	0x5a

/*
 * The frames of one V4L2 buffer: one per plane, each with its dma-buf
 * (fd -1 once closed) and how it was made.
 */
struct vbuf {
	__u64 off[VIDEO_MAX_PLANES];
	int dfd[VIDEO_MAX_PLANES];
	int owned;	/* FRAME_ALLOC with KSALLOC_FRAMEF_DMABUF: no FREE */
	int freed;
};

FIXTURE(cap)
{
	struct vivid v;
	int pin;
	int fd;			/* NFRAMES frames of the largest plane */
	int efd;		/* FREEFRAME, counting */
	struct kseventdata ev;
	unsigned char *map;
	struct ksalloc_allocator_info info;
	unsigned char *ref[VIDEO_MAX_PLANES];
	struct kst_counts base;	/* before the allocator */
	struct vbuf b[NBUF];
};

FIXTURE_VARIANT(cap)
{
	int contig;		/* the vb2-dma-contig instance */
	int mplane;
	__u32 fourcc;
	__u32 create_flags;
};

FIXTURE_VARIANT_ADD(cap, vmalloc)
{
	.fourcc = V4L2_PIX_FMT_YUYV,
};

FIXTURE_VARIANT_ADD(cap, dma_contig)
{
	.contig = 1,
	.fourcc = V4L2_PIX_FMT_YUYV,
	.create_flags = KSALLOC_CREATEF_CONTIGUOUS,
};

FIXTURE_VARIANT_ADD(cap, mplane)
{
	.mplane = 1,
	.fourcc = V4L2_PIX_FMT_NV16M,
};

/* Why there is nothing to test with, for SKIP() */
static const char *no_vivid_reason(void)
{
	if (access("/sys/module/vivid", F_OK))
		return "vivid is not loaded (not in this kernel's package, or not in selftests/peers.conf)";
	return "no such vivid instance (selftests/peers.conf: allocators, multiplanar)";
}

static __u32 largest_plane(const struct vivid *v)
{
	__u32 m = 0;
	unsigned int p;

	for (p = 0; p < v->nplanes; p++)
		if (v->sizeimage[p] > m)
			m = v->sizeimage[p];
	return m;
}

FIXTURE_SETUP(cap)
{
	unsigned int i, p;
	int ret;

	self->pin = self->fd = self->efd = -1;
	self->map = MAP_FAILED;
	for (i = 0; i < NBUF; i++)
		for (p = 0; p < VIDEO_MAX_PLANES; p++)
			self->b[i].dfd[p] = -1;
	if (vivid_open(&self->v, variant->contig, variant->mplane))
		SKIP(return, "%s", no_vivid_reason());
	ret = vivid_setup(&self->v, variant->fourcc, WIDTH, HEIGHT);
	ASSERT_EQ(0, ret) TH_LOG("vivid format: %s", strerror(-ret));
	ret = vivid_capture_reference(&self->v, self->ref);
	ASSERT_EQ(0, ret) TH_LOG("MMAP reference capture: %s", strerror(-ret));

	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin);
	self->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, self->efd);
	kst_read_counts(&self->base);
	self->fd = kst_create_ksalloc(self->pin, NFRAMES,
				      largest_plane(&self->v),
				      variant->create_flags, O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("create: %s", strerror(-self->fd));
	ASSERT_EQ(0, ksa_info(self->fd, &self->info));
	self->map = mmap(NULL, self->info.mmap_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	ksa_event_handle(&self->ev, self->efd);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE,
				      &self->ev));
}

FIXTURE_TEARDOWN(cap)
{
	unsigned int i, p;

	if (self->v.fd >= 0) {
		vivid_stream(&self->v, 0);
		vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, 0);
		close(self->v.fd);
	}
	for (i = 0; i < NBUF; i++)
		for (p = 0; p < VIDEO_MAX_PLANES; p++)
			if (self->b[i].dfd[p] >= 0)
				close(self->b[i].dfd[p]);
	for (p = 0; p < VIDEO_MAX_PLANES; p++)
		free(self->ref[p]);
	if (self->map != MAP_FAILED)
		munmap(self->map, self->info.mmap_size);
	if (self->fd >= 0)
		close(self->fd);
	if (self->efd >= 0)
		close(self->efd);
	if (self->pin >= 0)
		close(self->pin);
}

/* The 6.1 harness runs the body after a SKIP in the setup: stop it here. */
#define BODY_START() do { if (_metadata->skip) return; } while (0)

/*
 * The frames of buffer @i: with @owned one FRAME_ALLOC as a dma-buf per
 * plane, else an ALLOC and an EXPORT. Each frame is filled with the
 * sentinel (between SYNC START and END, as for any CPU write).
 */
static void get_frames(struct __test_metadata *_metadata,
		       FIXTURE_DATA(cap) *self, unsigned int i, int owned)
{
	struct vbuf *b = &self->b[i];
	unsigned int p;

	b->owned = owned;
	b->freed = 0;
	for (p = 0; p < self->v.nplanes; p++) {
		if (owned) {
			b->dfd[p] = kst_frame_alloc(self->fd,
						    KSALLOC_FRAMEF_DMABUF,
						    &b->off[p]);
		} else {
			ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0,
						      &b->off[p]));
			b->dfd[p] = kst_frame_export(self->fd, b->off[p]);
		}
		ASSERT_LE(0, b->dfd[p]) TH_LOG("dma-buf: %s",
					       strerror(-b->dfd[p]));
		ASSERT_EQ(0, kst_dmabuf_sync(b->dfd[p], DMA_BUF_SYNC_START |
					     DMA_BUF_SYNC_WRITE));
		memset(self->map + b->off[p], SENTINEL,
		       self->info.frame_stride);
		ASSERT_EQ(0, kst_dmabuf_sync(b->dfd[p], DMA_BUF_SYNC_END |
					     DMA_BUF_SYNC_WRITE));
	}
}

/* Close the dma-buf fds of buffer @i; FREE its frames unless owned. */
static void let_go(struct __test_metadata *_metadata, FIXTURE_DATA(cap) *self,
		   unsigned int i, int free_them)
{
	struct vbuf *b = &self->b[i];
	unsigned int p;

	for (p = 0; p < self->v.nplanes; p++) {
		ASSERT_EQ(0, close(b->dfd[p]));
		b->dfd[p] = -1;
		if (free_them && !b->owned)
			ASSERT_EQ(0, ksa_free(self->fd, b->off[p]));
	}
	b->freed = free_them;
}

static int qbuf(FIXTURE_DATA(cap) *self, unsigned int i)
{
	return vivid_qbuf_dmabuf(&self->v, i, self->b[i].dfd, 0);
}

/*
 * Dequeue a buffer, check what V4L2 says about it, and that each of its
 * frames holds the reference picture (after the data_offset bytes, for
 * plane 0 of NV16M) and the sentinel beyond it. With @sync the reads are
 * bracketed by DMA_BUF_IOCTL_SYNC on the buffer's dma-bufs (which the
 * caller may have closed already: then there is nothing to sync with).
 * Returns the buffer's index, or -1 if none could be dequeued.
 */
static int dequeue_and_check(struct __test_metadata *_metadata,
			     FIXTURE_DATA(cap) *self, int sync)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct v4l2_buffer vb;
	unsigned int p;
	struct vbuf *b;
	int ret;

	ret = vivid_dqbuf(&self->v, V4L2_MEMORY_DMABUF, &vb, planes);
	EXPECT_EQ(0, ret) TH_LOG("DQBUF: %s", strerror(-ret));
	if (ret)
		return -1;
	EXPECT_EQ(0, vb.flags & V4L2_BUF_FLAG_ERROR);
	EXPECT_GT(NBUF, vb.index);
	if (vb.index >= NBUF)
		return -1;
	b = &self->b[vb.index];
	for (p = 0; p < self->v.nplanes; p++) {
		const unsigned char *f = self->map + b->off[p];
		__u32 n = self->v.sizeimage[p], k, off;

		EXPECT_EQ(n, vivid_bytesused(&self->v, &vb, p));
		off = vivid_data_offset(&self->v, &vb, p);
		if (self->v.mplane && p == 0) {
			EXPECT_EQ(VIVID_DATA_OFFSET, off);
		} else {
			EXPECT_EQ(0, off);
		}
		if (sync && b->dfd[p] >= 0)
			EXPECT_EQ(0, kst_dmabuf_sync(b->dfd[p],
						     DMA_BUF_SYNC_START |
						     DMA_BUF_SYNC_READ));
		for (k = 0; k < off && k < n; k++)
			if (f[k] != VIVID_DATA_OFFSET_BYTE)
				break;
		EXPECT_EQ(off, k) TH_LOG("plane %u: data_offset byte %u", p, k);
		for (k = 0; k < n; k++)
			if (f[k] != self->ref[p][k])
				break;
		EXPECT_EQ(n, k) {
			TH_LOG("buffer %u plane %u: byte %u is %#x, the reference %#x",
			       vb.index, p, k, f[k], self->ref[p][k]);
		}
		for (k = n; k < self->info.frame_stride; k++)
			if (f[k] != SENTINEL)
				break;
		EXPECT_EQ(self->info.frame_stride, k) {
			TH_LOG("plane %u: written beyond the image, at %u", p, k);
		}
		if (sync && b->dfd[p] >= 0)
			EXPECT_EQ(0, kst_dmabuf_sync(b->dfd[p],
						     DMA_BUF_SYNC_END |
						     DMA_BUF_SYNC_READ));
	}
	return vb.index;
}

/* Fill the frames of buffer @i with the sentinel again, for a requeue */
static void refill(struct __test_metadata *_metadata, FIXTURE_DATA(cap) *self,
		   unsigned int i)
{
	struct vbuf *b = &self->b[i];
	unsigned int p;

	for (p = 0; p < self->v.nplanes; p++) {
		ASSERT_EQ(0, kst_dmabuf_sync(b->dfd[p], DMA_BUF_SYNC_START |
					     DMA_BUF_SYNC_WRITE));
		memset(self->map + b->off[p], SENTINEL, self->v.sizeimage[p]);
		ASSERT_EQ(0, kst_dmabuf_sync(b->dfd[p], DMA_BUF_SYNC_END |
					     DMA_BUF_SYNC_WRITE));
	}
}

/*
 * vb2 holds the dma-bufs of buffer @i (a reference of its own besides our
 * fd), and vb2-dma-contig keeps vivid's device attached to each.
 */
static void check_vb2_holds(struct __test_metadata *_metadata,
			    FIXTURE_DATA(cap) *self, unsigned int i)
{
	struct kst_bufinfo bi;
	unsigned int p;

	for (p = 0; p < self->v.nplanes; p++) {
		ASSERT_EQ(0, kst_dmabuf_bufinfo(self->b[i].dfd[p], VIVID_DEVICE,
						&bi));
		EXPECT_EQ(2, bi.refs);
		EXPECT_EQ(self->v.contig, bi.attached);
		EXPECT_EQ(self->v.contig, bi.named);
	}
}

/* The frames are not the picture yet: the sentinel differs from it */
static void assert_reference_differs(struct __test_metadata *_metadata,
				     FIXTURE_DATA(cap) *self)
{
	unsigned int p, k, same;

	for (p = 0; p < self->v.nplanes; p++) {
		for (k = same = 0; k < self->v.sizeimage[p]; k++)
			same += self->ref[p][k] == SENTINEL;
		ASSERT_GT(self->v.sizeimage[p] / 100, same) {
			TH_LOG("the sentinel is too common in the picture");
		}
	}
}

/* ---- the picture arrives ---- */

TEST_F_TIMEOUT(cap, capture_into_frames, 120)
{
	const unsigned int np = self->v.nplanes;
	unsigned int n;
	int i;

	BODY_START();
	assert_reference_differs(_metadata, self);
	for (i = 0; i < NBUF; i++)
		get_frames(_metadata, self, i, i == 1);
	ASSERT_EQ(NBUF, vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, NBUF));
	for (i = 0; i < NBUF; i++) {
		ASSERT_EQ(0, qbuf(self, i));
		check_vb2_holds(_metadata, self, i);
	}
	ASSERT_EQ(0, vivid_stream(&self->v, 1));
	/* Twice round the queue, every frame filled and checked again */
	for (n = 0; n < 2 * NBUF; n++) {
		i = dequeue_and_check(_metadata, self, 1);
		ASSERT_LE(0, i);
		refill(_metadata, self, i);
		ASSERT_EQ(0, qbuf(self, i));
	}
	EXPECT_EQ(NBUF * np * 101, kst_frame_counts(self->fd));
	ASSERT_EQ(0, vivid_stream(&self->v, 0));
	/* vb2 keeps its references until REQBUFS(0) */
	for (i = 0; i < NBUF; i++) {
		check_vb2_holds(_metadata, self, i);
		let_go(_metadata, self, i, 1);
	}
	EXPECT_EQ(NBUF * np * 101, kst_frame_counts(self->fd));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
	ASSERT_EQ(0, vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, 0));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
	EXPECT_EQ(NBUF * np, ksa_eventfd_take(self->efd));
}

/* A dma-buf smaller than the image: EINVAL, and vb2 keeps nothing */
TEST_F(cap, dmabuf_too_small)
{
	unsigned int p, np = self->v.nplanes;
	__u64 off[VIDEO_MAX_PLANES];
	int fd, dfd[VIDEO_MAX_PLANES];

	BODY_START();
	/* Frames one page short of the smallest plane */
	fd = kst_create_ksalloc(self->pin, np, self->v.sizeimage[np - 1] -
				ksa_page_size(), 0, O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (p = 0; p < np; p++) {
		dfd[p] = kst_frame_alloc(fd, KSALLOC_FRAMEF_DMABUF, &off[p]);
		ASSERT_LE(0, dfd[p]);
		ASSERT_GT(self->v.sizeimage[p], kst_dmabuf_size(dfd[p]));
	}
	ASSERT_LE(2, vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, 2));
	EXPECT_EQ(-EINVAL, vivid_qbuf_dmabuf(&self->v, 0, dfd, 0));
	for (p = 0; p < np; p++)
		EXPECT_EQ(0, close(dfd[p]));
	EXPECT_EQ(0, kst_frame_counts(fd));
	EXPECT_EQ(0, close(fd));
}

/* ---- the frame lifetime rule, vb2 holding the last reference ---- */

/* FREEd, fds closed, still captured into; back at REQBUFS(0) */
TEST_F_TIMEOUT(cap, freed_frame_returns_at_reqbufs0, 120)
{
	const unsigned int np = self->v.nplanes;
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };

	BODY_START();
	get_frames(_metadata, self, 0, 0);
	get_frames(_metadata, self, 1, 0);
	ASSERT_LE(2, vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, 2));
	ASSERT_EQ(0, qbuf(self, 0));
	ASSERT_EQ(0, qbuf(self, 1));
	let_go(_metadata, self, 0, 1);
	let_go(_metadata, self, 1, 1);
	EXPECT_EQ(2 * np * 101, kst_frame_counts(self->fd));
	EXPECT_EQ(2 * np, kst_allocated(self->fd));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
	/* vivid writes into them all the same: nothing to sync with now */
	ASSERT_EQ(0, vivid_stream(&self->v, 1));
	dequeue_and_check(_metadata, self, 0);
	ASSERT_EQ(0, vivid_stream(&self->v, 0));
	EXPECT_EQ(2 * np * 101, kst_frame_counts(self->fd));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
	ASSERT_EQ(0, vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, 0));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
	EXPECT_EQ(2 * np, ksa_eventfd_take(self->efd));
	EXPECT_EQ(1, poll(&pfd, 1, 0));
}

/* Frames owned by their dma-bufs return when the video node is closed */
TEST_F_TIMEOUT(cap, owned_frame_returns_at_node_close, 120)
{
	const unsigned int np = self->v.nplanes;

	BODY_START();
	get_frames(_metadata, self, 0, 1);
	get_frames(_metadata, self, 1, 1);
	ASSERT_LE(2, vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, 2));
	ASSERT_EQ(0, qbuf(self, 0));
	ASSERT_EQ(0, qbuf(self, 1));
	ASSERT_EQ(0, vivid_stream(&self->v, 1));
	dequeue_and_check(_metadata, self, 1);
	let_go(_metadata, self, 0, 0);
	let_go(_metadata, self, 1, 0);
	/* Owned, closed, and still queued (one of them even streaming) */
	EXPECT_EQ(2 * np * 101, kst_frame_counts(self->fd));
	EXPECT_EQ(-EBUSY, ksa_free(self->fd, self->b[0].off[0]));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
	/* No STREAMOFF, no REQBUFS(0): the last close releases the queue */
	ASSERT_EQ(0, close(self->v.fd));
	self->v.fd = -1;
	EXPECT_EQ(0, kst_frame_counts(self->fd));
	EXPECT_EQ(2 * np, ksa_eventfd_take(self->efd));
}

/* Queueing another dma-buf at an index lets go of the one it had */
TEST_F_TIMEOUT(cap, requeue_replaces_dmabuf, 120)
{
	const unsigned int np = self->v.nplanes;
	unsigned int i;

	BODY_START();
	get_frames(_metadata, self, 0, 0);
	/* Only one buffer index, so each DQBUF is that one */
	ASSERT_LE(1, vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, 1));
	ASSERT_EQ(0, qbuf(self, 0));
	ASSERT_EQ(0, vivid_stream(&self->v, 1));
	ASSERT_EQ(0, dequeue_and_check(_metadata, self, 1));
	let_go(_metadata, self, 0, 1);
	EXPECT_EQ(np * 101, kst_frame_counts(self->fd));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));

	/* Index 0 again, with the frames of b[1]: b[0]'s come back */
	get_frames(_metadata, self, 1, 1);
	ASSERT_EQ(0, vivid_qbuf_dmabuf(&self->v, 0, self->b[1].dfd, 0));
	EXPECT_EQ(np * 101, kst_frame_counts(self->fd));
	EXPECT_EQ(np, ksa_eventfd_take(self->efd));
	/* The new frames get the picture: check them as buffer 0's */
	self->b[0] = self->b[1];
	for (i = 0; i < np; i++)
		self->b[1].dfd[i] = -1;
	ASSERT_EQ(0, dequeue_and_check(_metadata, self, 1));
	ASSERT_EQ(0, vivid_stream(&self->v, 0));
	let_go(_metadata, self, 0, 0);
	EXPECT_EQ(np * 101, kst_frame_counts(self->fd));
	ASSERT_EQ(0, vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, 0));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
}

/*
 * The allocator's fds and mapping closed while vivid holds its frames:
 * vivid still captures into them, and everything goes at REQBUFS(0).
 */
static void allocator_closed(struct __test_metadata *_metadata,
			     FIXTURE_DATA(cap) *self, int free_first)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct v4l2_buffer vb;
	unsigned int i, n;

	get_frames(_metadata, self, 0, 0);
	get_frames(_metadata, self, 1, 1);
	ASSERT_LE(2, vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, 2));
	ASSERT_EQ(0, qbuf(self, 0));
	ASSERT_EQ(0, qbuf(self, 1));
	let_go(_metadata, self, 0, free_first);
	let_go(_metadata, self, 1, free_first);
	ASSERT_EQ(0, munmap(self->map, self->info.mmap_size));
	self->map = MAP_FAILED;
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	EXPECT_EQ(self->base.allocators + 1,
		  kst_read_long(KST_SYS_ALLOCATORS));
	EXPECT_EQ(self->base.total_bytes + (long)self->info.bytes_held,
		  kst_read_long(KST_SYS_TOTAL_BYTES));

	/* Both buffers filled, with nobody but vivid holding the memory */
	ASSERT_EQ(0, vivid_stream(&self->v, 1));
	for (n = 0; n < 2; n++) {
		ASSERT_EQ(0, vivid_dqbuf(&self->v, V4L2_MEMORY_DMABUF, &vb,
					 planes));
		EXPECT_EQ(0, vb.flags & V4L2_BUF_FLAG_ERROR);
		for (i = 0; i < self->v.nplanes; i++)
			EXPECT_EQ(self->v.sizeimage[i],
				  vivid_bytesused(&self->v, &vb, i));
	}
	ASSERT_EQ(0, vivid_stream(&self->v, 0));
	EXPECT_EQ(self->base.allocators + 1,
		  kst_read_long(KST_SYS_ALLOCATORS));
	ASSERT_EQ(0, vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, 0));
	KST_ASSERT_COUNTS(self->base, 200);
}

TEST_F_TIMEOUT(cap, allocator_closed_frames_freed, 120)
{
	BODY_START();
	allocator_closed(_metadata, self, 1);
}

TEST_F_TIMEOUT(cap, allocator_closed_frames_held, 120)
{
	BODY_START();
	allocator_closed(_metadata, self, 0);
}

/* The process owning the queue is killed: vb2's references go with it */
TEST_F_TIMEOUT(cap, queue_owner_killed, 120)
{
	const unsigned int np = self->v.nplanes;
	int p[2], status;
	pid_t pid;
	char c;

	BODY_START();
	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vivid v;
		int dfd[VIDEO_MAX_PLANES];
		unsigned int i;

		close(p[0]);
		/* A queue of its own: the parent lets go of the node */
		close(self->v.fd);
		if (vivid_open(&v, self->v.contig, self->v.mplane))
			_exit(10);
		v.nplanes = self->v.nplanes;
		for (i = 0; i < np; i++) {
			dfd[i] = kst_frame_alloc(self->fd, KSALLOC_FRAMEF_DMABUF,
						 NULL);
			if (dfd[i] < 0)
				_exit(11);
		}
		if (vivid_reqbufs(&v, V4L2_MEMORY_DMABUF, 2) < 2 ||
		    vivid_qbuf_dmabuf(&v, 0, dfd, 0) ||
		    vivid_stream(&v, 1))
			_exit(12);
		for (i = 0; i < np; i++)
			close(dfd[i]);
		if (write(p[1], "q", 1) != 1)
			_exit(13);
		for (;;)
			pause();
	}
	close(p[1]);
	/* The parent's node must not own the queue */
	ASSERT_EQ(0, close(self->v.fd));
	self->v.fd = -1;
	ASSERT_EQ(1, read(p[0], &c, 1)) TH_LOG("the child failed to queue");
	close(p[0]);
	EXPECT_EQ(np * 101, kst_frame_counts(self->fd));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
	EXPECT_EQ(np, ksa_eventfd_take(self->efd));
}

/* ---- vb2-dma-contig: one contiguous DMA run or nothing ---- */

FIXTURE(contig)
{
	struct vivid v;
	int pin;
	int fd;
	unsigned char *map;
	struct ksalloc_allocator_info info;
};

FIXTURE_SETUP(contig)
{
	int ret;

	self->pin = self->fd = -1;
	self->map = MAP_FAILED;
	if (vivid_open(&self->v, 1, 0))
		SKIP(return, "%s", no_vivid_reason());
	ret = vivid_setup(&self->v, V4L2_PIX_FMT_YUYV, WIDTH, HEIGHT);
	ASSERT_EQ(0, ret) TH_LOG("vivid format: %s", strerror(-ret));
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin);
}

FIXTURE_TEARDOWN(contig)
{
	if (self->v.fd >= 0) {
		vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, 0);
		close(self->v.fd);
	}
	if (self->map != MAP_FAILED)
		munmap(self->map, self->info.mmap_size);
	if (self->fd >= 0)
		close(self->fd);
	if (self->pin >= 0)
		close(self->pin);
}

/*
 * Scattered frames (no KSALLOC_CREATEF_CONTIGUOUS): vb2-dma-contig takes
 * a frame only if its pages happen to be physically contiguous (the VM
 * has no IOMMU: DMA addresses are physical addresses), and refuses the
 * others at QBUF. Which is which comes from /proc/self/pagemap; at least
 * one must be scattered, or nothing was tested.
 */
TEST_F(contig, scattered_frames_refused)
{
	long page = ksa_page_size();
	long need;
	int dfd, ret, scattered = 0, taken = 0, n;
	unsigned int i;
	__u64 off;

	BODY_START();
	self->fd = kst_create_ksalloc(self->pin, NFRAMES, self->v.sizeimage[0],
				      0, O_CLOEXEC);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ksa_info(self->fd, &self->info));
	/* vb2 maps the whole dma-buf (length 0 at QBUF): every page of it */
	need = self->info.frame_stride / page;
	self->map = mmap(NULL, self->info.mmap_size, PROT_READ, MAP_SHARED,
			 self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	n = vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, NFRAMES);
	ASSERT_EQ(NFRAMES, n);
	for (i = 0; i < NFRAMES; i++) {
		long run;

		ASSERT_EQ(-1, kst_frame_alloc(self->fd, 0, &off));
		run = kst_contiguous_pages(self->map + off, need);
		ASSERT_LT(0, run) TH_LOG("no pfn from /proc/self/pagemap");
		dfd = kst_frame_export(self->fd, off);
		ASSERT_LE(0, dfd);
		ret = vivid_qbuf_dmabuf(&self->v, i, &dfd, 0);
		if (run == need) {
			EXPECT_EQ(0, ret) TH_LOG("frame %u: contiguous", i);
			taken++;
		} else {
			EXPECT_EQ(-EFAULT, ret) {
				TH_LOG("frame %u: %ld of %ld pages contiguous",
				       i, run, need);
			}
			scattered++;
		}
		EXPECT_EQ(0, close(dfd));
		ASSERT_EQ(0, ksa_free(self->fd, off));
		/* vb2 keeps the frames it took, and only those */
		EXPECT_EQ(taken * 101, kst_frame_counts(self->fd));
	}
	EXPECT_LT(0, scattered) TH_LOG("every frame was contiguous by chance");
	ksft_print_msg("%d scattered frames refused, %d contiguous by chance taken\n",
		       scattered, taken);
	ASSERT_EQ(0, vivid_reqbufs(&self->v, V4L2_MEMORY_DMABUF, 0));
	EXPECT_EQ(0, kst_frame_counts(self->fd));
}

TEST_HARNESS_MAIN
