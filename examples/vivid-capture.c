// SPDX-License-Identifier: GPL-2.0
/*
 * vivid-capture: a V4L2 driver captures straight into ksalloc frames.
 *
 *   1. find a capture node of vivid (the kernel's virtual video driver)
 *      and set a fixed picture: 75% colour bars, no OSD text, YUYV 640x360;
 *   2. capture one frame the usual way (V4L2_MEMORY_MMAP) and take its
 *      checksum: what vivid's pattern looks like;
 *   3. create a ksalloc allocator with one frame per V4L2 buffer (frames
 *      physically contiguous if this vivid instance uses vb2-dma-contig),
 *      ALLOC the frames, export each as a dma-buf (ksa_frame_export());
 *   4. queue the dma-bufs to vivid (V4L2_MEMORY_DMABUF), stream, and for
 *      every buffer vivid fills, checksum the ksalloc frame in place,
 *      between DMA_BUF_IOCTL_SYNC START and END: no byte is copied;
 *   5. print the allocator's STATUS while vivid holds the frames and
 *      after it let go.
 *
 * Exits 0 when every captured frame matched vivid's pattern and every
 * frame came back to the allocator.
 *
 * Usage: vivid-capture [/dev/videoN]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/dma-buf.h>
#include <linux/videodev2.h>

#include <libksalloc.h>

#define NBUF		4
#define CAPTURES	12
#define WIDTH		640
#define HEIGHT		360
/* vivid's own controls (drivers/media/test-drivers/vivid/vivid-ctrls.c) */
#define VIVID_CID_TEST_PATTERN	0x00f0f000
#define VIVID_CID_OSD_TEXT_MODE	0x00f0f001

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret;
}

static uint32_t fnv1a(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* The first single-planar vivid capture node, or -1; its instance */
static int open_vivid(const char *path, int *inst)
{
	char name[32];
	int i, fd;

	for (i = path ? -1 : 0; i < 64; i++) {
		struct v4l2_capability cap = { 0 };

		if (i >= 0)
			snprintf(name, sizeof(name), "/dev/video%d", i);
		fd = open(i < 0 ? path : name, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!xioctl(fd, VIDIOC_QUERYCAP, &cap) &&
		    !strcmp((char *)cap.driver, "vivid") &&
		    (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE) &&
		    sscanf((char *)cap.bus_info, "platform:vivid-%d", inst) == 1) {
			printf("vivid-capture: %s: %s, %s\n", i < 0 ? path : name,
			       cap.card, cap.bus_info);
			return fd;
		}
		close(fd);
		if (path)
			break;
	}
	return -1;
}

/* Whether vivid instance @inst uses vb2-dma-contig (allocators=1) */
static int uses_dma_contig(int inst)
{
	FILE *f = fopen("/sys/module/vivid/parameters/allocators", "re");
	int v = 0, i;

	if (!f)
		return 0;
	for (i = 0; i <= inst; i++)
		if (fscanf(f, "%d,", &v) != 1)
			v = 0;
	fclose(f);
	return v == 1;
}

static int setup(int vfd, struct v4l2_format *fmt)
{
	struct v4l2_control pattern = { VIVID_CID_TEST_PATTERN, 0 };
	struct v4l2_control osd = { VIVID_CID_OSD_TEXT_MODE, 2 };

	if (xioctl(vfd, VIDIOC_S_CTRL, &pattern) ||
	    xioctl(vfd, VIDIOC_S_CTRL, &osd))
		return -errno;
	memset(fmt, 0, sizeof(*fmt));
	fmt->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	fmt->fmt.pix.width = WIDTH;
	fmt->fmt.pix.height = HEIGHT;
	fmt->fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	fmt->fmt.pix.field = V4L2_FIELD_NONE;
	if (xioctl(vfd, VIDIOC_S_FMT, fmt))
		return -errno;
	return fmt->fmt.pix.pixelformat == V4L2_PIX_FMT_YUYV ? 0 : -EINVAL;
}

static int dqbuf(int vfd, uint32_t memory, struct v4l2_buffer *b)
{
	struct pollfd p = { .fd = vfd, .events = POLLIN };

	if (poll(&p, 1, 20000) != 1)
		return -ETIMEDOUT;
	memset(b, 0, sizeof(*b));
	b->type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	b->memory = memory;
	return xioctl(vfd, VIDIOC_DQBUF, b) ? -errno : 0;
}

static int stream(int vfd, int on)
{
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;

	return xioctl(vfd, on ? VIDIOC_STREAMON : VIDIOC_STREAMOFF, &type);
}

static int reqbufs(int vfd, uint32_t memory, uint32_t count)
{
	struct v4l2_requestbuffers r = {
		.count = count, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = memory,
	};

	return xioctl(vfd, VIDIOC_REQBUFS, &r) ? -errno : (int)r.count;
}

/* The checksum of one frame captured with V4L2_MEMORY_MMAP */
static int reference(int vfd, uint32_t size, uint32_t *sum)
{
	struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				 .memory = V4L2_MEMORY_MMAP };
	void *p;
	int ret;

	if (reqbufs(vfd, V4L2_MEMORY_MMAP, 1) < 1 ||
	    xioctl(vfd, VIDIOC_QUERYBUF, &b))
		return -errno;
	p = mmap(NULL, b.length, PROT_READ, MAP_SHARED, vfd, b.m.offset);
	if (p == MAP_FAILED)
		return -errno;
	ret = xioctl(vfd, VIDIOC_QBUF, &b) || stream(vfd, 1) ? -errno : 0;
	if (!ret)
		ret = dqbuf(vfd, V4L2_MEMORY_MMAP, &b);
	if (!ret)
		*sum = fnv1a(p, size);
	stream(vfd, 0);
	munmap(p, b.length);
	reqbufs(vfd, V4L2_MEMORY_MMAP, 0);
	return ret;
}

static void show_status(struct ksa_allocator *a, const char *when)
{
	struct ksstreamallocator_status st;
	struct ksalloc_allocator_info info;

	if (ksa_allocator_status(ksa_allocator_fd(a), &st) ||
	    ksa_allocator_info(ksa_allocator_fd(a), &info))
		return;
	printf("vivid-capture: %s: STATUS allocated_frames %u of %u (frame_size %u); INFO exported_frames %u, bytes_held %llu\n",
	       when, st.allocated_frames, st.framing.frames,
	       st.framing.frame_size, info.exported_frames,
	       (unsigned long long)info.bytes_held);
}

int main(int argc, char **argv)
{
	struct ksallocator_framing framing = { .pool_type = KS_POOL_NONPAGED };
	unsigned char *frame[NBUF] = { NULL };
	int dmabuf[NBUF], vfd, inst = 0, pin, fd, ret, i, n, bad = 0;
	struct ksalloc_allocator_info info;
	struct ksa_allocator *a = NULL;
	struct v4l2_format fmt;
	uint32_t size, ref_sum = 0;
	uint32_t create_flags;

	for (i = 0; i < NBUF; i++)
		dmabuf[i] = -1;
	vfd = open_vivid(argc > 1 ? argv[1] : NULL, &inst);
	if (vfd < 0) {
		fprintf(stderr, "vivid-capture: no vivid capture node (is vivid loaded?)\n");
		return 1;
	}
	ret = setup(vfd, &fmt);
	size = fmt.fmt.pix.sizeimage;
	if (!ret)
		ret = reference(vfd, size, &ref_sum);
	if (ret) {
		fprintf(stderr, "vivid-capture: vivid: %s\n", strerror(-ret));
		return 1;
	}
	printf("vivid-capture: YUYV %ux%u, %u bytes a frame; MMAP reference checksum %08x\n",
	       fmt.fmt.pix.width, fmt.fmt.pix.height, size, ref_sum);

	/* One frame per V4L2 buffer, contiguous if vivid needs one DMA run */
	create_flags = uses_dma_contig(inst) ? KSALLOC_CREATEF_CONTIGUOUS : 0;
	framing.frames = NBUF;
	framing.frame_size = size;
	pin = ksa_open_pin();
	ret = pin < 0 ? pin : ksa_create_allocator_flags(pin, &framing,
							  create_flags,
							  O_CLOEXEC, &fd);
	if (!ret)
		ret = ksa_allocator_open(fd, KSA_ALLOCATOR_OWN_FD, &a);
	if (ret) {
		fprintf(stderr, "vivid-capture: allocator: %s\n", ksa_strerror(ret));
		return 1;
	}
	ksa_allocator_info(ksa_allocator_fd(a), &info);
	printf("vivid-capture: allocator %llu: %u frames of %u bytes (%s), vivid uses %s\n",
	       (unsigned long long)info.id, info.frames, info.frame_stride,
	       create_flags ? "physically contiguous" : "scattered pages",
	       create_flags ? "vb2-dma-contig" : "vb2-vmalloc");

	/* The frames, as dma-bufs, are vivid's buffers */
	if (reqbufs(vfd, V4L2_MEMORY_DMABUF, NBUF) != NBUF) {
		fprintf(stderr, "vivid-capture: REQBUFS: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < NBUF; i++) {
		struct v4l2_buffer b = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					 .memory = V4L2_MEMORY_DMABUF,
					 .index = i };

		frame[i] = ksa_frame_alloc(a, 0);
		if (!frame[i])
			return perror("vivid-capture: ALLOC"), 1;
		memset(frame[i], 0, size);
		dmabuf[i] = ksa_frame_export(a, frame[i]);
		if (dmabuf[i] < 0) {
			fprintf(stderr, "vivid-capture: export: %s\n",
				ksa_strerror(dmabuf[i]));
			return 1;
		}
		b.m.fd = dmabuf[i];
		if (xioctl(vfd, VIDIOC_QBUF, &b))
			return perror("vivid-capture: QBUF"), 1;
	}
	if (stream(vfd, 1))
		return perror("vivid-capture: STREAMON"), 1;

	for (n = 0; n < CAPTURES; n++) {
		struct dma_buf_sync sync = { DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW };
		struct v4l2_buffer b;
		uint32_t sum;

		ret = dqbuf(vfd, V4L2_MEMORY_DMABUF, &b);
		if (ret) {
			fprintf(stderr, "vivid-capture: DQBUF: %s\n", strerror(-ret));
			return 1;
		}
		i = b.index;
		/*
		 * Read the frame where vivid wrote it, the ksalloc mapping,
		 * then clear it, so that the next capture into it must
		 * arrive anew; CPU access between SYNC START and END.
		 */
		xioctl(dmabuf[i], DMA_BUF_IOCTL_SYNC, &sync);
		sum = fnv1a(frame[i], b.bytesused);
		memset(frame[i], 0, size);
		sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
		xioctl(dmabuf[i], DMA_BUF_IOCTL_SYNC, &sync);
		printf("vivid-capture: capture %2d: buffer %d = ksalloc frame at offset %lld, %u bytes, checksum %08x %s\n",
		       n, i, (long long)ksa_frame_offset(a, frame[i]),
		       b.bytesused, sum,
		       sum == ref_sum && b.bytesused == size &&
		       !(b.flags & V4L2_BUF_FLAG_ERROR) ?
		       "= vivid's pattern" : "MISMATCH");
		if (sum != ref_sum || b.bytesused != size ||
		    b.flags & V4L2_BUF_FLAG_ERROR)
			bad++;
		if (n == CAPTURES / 2)
			show_status(a, "streaming");
		if (xioctl(vfd, VIDIOC_QBUF, &b))
			return perror("vivid-capture: QBUF"), 1;
	}
	stream(vfd, 0);

	/* Our side lets go first; vivid's references keep the frames */
	for (i = 0; i < NBUF; i++) {
		close(dmabuf[i]);
		ksa_frame_free(a, frame[i]);
	}
	show_status(a, "freed, vivid still holds them");
	reqbufs(vfd, V4L2_MEMORY_DMABUF, 0);
	show_status(a, "after REQBUFS(0)");
	ksa_allocator_info(ksa_allocator_fd(a), &info);
	ksa_allocator_close(a);
	close(pin);
	close(vfd);
	printf("vivid-capture: %d of %d captures matched vivid's pattern, %u frames still allocated: %s\n",
	       CAPTURES - bad, CAPTURES, info.allocated_frames,
	       bad || info.allocated_frames ? "FAILED" : "ok, no copy");
	return bad || info.allocated_frames ? 1 : 0;
}
