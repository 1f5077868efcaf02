/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vivid, the V4L2 test driver of the test kernel's own package, as a real
 * dma-buf importer: finding an instance by its buffer allocator, a fixed
 * test pattern, and capture with V4L2_MEMORY_MMAP (a reference) or
 * V4L2_MEMORY_DMABUF (into ksalloc frames), single- or multiplanar.
 *
 * The instances come from selftests/peers.conf; which one uses
 * vb2-vmalloc and which vb2-dma-contig is read back from vivid's own
 * parameters (/sys/module/vivid/parameters/allocators), so the tests do
 * not depend on the order of the instances.
 *
 * Every helper returns 0 (or a count) or -errno and never calls the
 * harness, so children may use them too.
 */
#ifndef KSA_VIVID_LIB_H
#define KSA_VIVID_LIB_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/videodev2.h>

#define VIVID_PARAMS		"/sys/module/vivid/parameters/"
/* The platform device of every instance: what vb2-dma-contig attaches */
#define VIVID_DEVICE		"vivid.0"
/* vivid's private controls (vivid-ctrls.c), the same in 6.1 to 7.2 */
#define VIVID_CID_TEST_PATTERN	0x00f0f000
#define VIVID_CID_OSD_TEXT_MODE	0x00f0f001
#define VIVID_PATTERN_75_COLORBAR 0
#define VIVID_OSD_NONE		2
/* What vivid writes before plane 0 of its multiplanar NV16M frames */
#define VIVID_DATA_OFFSET	128
#define VIVID_DATA_OFFSET_BYTE	0x80

/* A DQBUF waits this long at most for vivid's thread (TCG is slow). */
#define VIVID_DQBUF_MS		20000

struct vivid {
	int fd;
	int inst;		/* vivid instance, from bus_info */
	int contig;		/* vb2-dma-contig (allocators=1) */
	int mplane;		/* multiplanar API */
	__u32 type;		/* V4L2_BUF_TYPE_VIDEO_CAPTURE(_MPLANE) */
	unsigned int nplanes;	/* buffers per frame (1, or 2 for NV16M) */
	__u32 sizeimage[VIDEO_MAX_PLANES];
	__u32 width, height;
};

/* Entry @index of a comma-separated array parameter of vivid, or -1 */
static inline int vivid_param(const char *name, int index)
{
	char path[128], buf[256], *p = buf;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), VIVID_PARAMS "%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	while (index--) {
		p = strchr(p, ',');
		if (!p)
			return -1;
		p++;
	}
	return atoi(p);
}

static inline int vivid_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

/*
 * Open the capture node of a vivid instance with the given allocator
 * (@contig) and API (@mplane). 0, or -ENOENT when the kernel has no such
 * instance (no vivid, or peers.conf did not ask for it).
 */
static inline int vivid_open(struct vivid *v, int contig, int mplane)
{
	char path[32];
	int i;

	memset(v, 0, sizeof(*v));
	v->fd = -1;
	for (i = 0; i < 64; i++) {
		struct v4l2_capability cap;
		__u32 caps;
		int fd, inst;

		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&cap, 0, sizeof(cap));
		if (vivid_ioctl(fd, VIDIOC_QUERYCAP, &cap) ||
		    strcmp((char *)cap.driver, "vivid") ||
		    sscanf((char *)cap.bus_info, "platform:vivid-%d", &inst) != 1) {
			close(fd);
			continue;
		}
		caps = cap.capabilities & V4L2_CAP_DEVICE_CAPS ?
		       cap.device_caps : cap.capabilities;
		if (!(caps & (mplane ? V4L2_CAP_VIDEO_CAPTURE_MPLANE :
				       V4L2_CAP_VIDEO_CAPTURE)) ||
		    (vivid_param("allocators", inst) == 1) != !!contig) {
			close(fd);
			continue;
		}
		v->fd = fd;
		v->inst = inst;
		v->contig = contig;
		v->mplane = mplane;
		v->type = mplane ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE :
				   V4L2_BUF_TYPE_VIDEO_CAPTURE;
		return 0;
	}
	return -ENOENT;
}

static inline int vivid_set_ctrl(int fd, __u32 id, __s32 value)
{
	struct v4l2_control c = { .id = id, .value = value };

	return vivid_ioctl(fd, VIDIOC_S_CTRL, &c);
}

/*
 * A fixed picture (75% colour bars, no OSD text, so every frame is the
 * same bytes), @fourcc at @width x @height, and the fastest frame rate
 * vivid offers for it. Reads back the plane sizes.
 */
static inline int vivid_setup(struct vivid *v, __u32 fourcc, __u32 width,
			      __u32 height)
{
	struct v4l2_streamparm parm;
	struct v4l2_format f;
	unsigned int p;
	int ret;

	ret = vivid_set_ctrl(v->fd, VIVID_CID_TEST_PATTERN,
			     VIVID_PATTERN_75_COLORBAR);
	if (!ret)
		ret = vivid_set_ctrl(v->fd, VIVID_CID_OSD_TEXT_MODE,
				     VIVID_OSD_NONE);
	if (ret)
		return ret;
	memset(&f, 0, sizeof(f));
	f.type = v->type;
	if (v->mplane) {
		f.fmt.pix_mp.width = width;
		f.fmt.pix_mp.height = height;
		f.fmt.pix_mp.pixelformat = fourcc;
		f.fmt.pix_mp.field = V4L2_FIELD_NONE;
	} else {
		f.fmt.pix.width = width;
		f.fmt.pix.height = height;
		f.fmt.pix.pixelformat = fourcc;
		f.fmt.pix.field = V4L2_FIELD_NONE;
	}
	ret = vivid_ioctl(v->fd, VIDIOC_S_FMT, &f);
	if (ret)
		return ret;
	if (v->mplane) {
		if (f.fmt.pix_mp.pixelformat != fourcc)
			return -EINVAL;
		v->width = f.fmt.pix_mp.width;
		v->height = f.fmt.pix_mp.height;
		v->nplanes = f.fmt.pix_mp.num_planes;
		for (p = 0; p < v->nplanes; p++)
			v->sizeimage[p] = f.fmt.pix_mp.plane_fmt[p].sizeimage;
	} else {
		if (f.fmt.pix.pixelformat != fourcc)
			return -EINVAL;
		v->width = f.fmt.pix.width;
		v->height = f.fmt.pix.height;
		v->nplanes = 1;
		v->sizeimage[0] = f.fmt.pix.sizeimage;
	}
	/* As fast as it goes; a refusal only makes the tests slower */
	memset(&parm, 0, sizeof(parm));
	parm.type = v->type;
	parm.parm.capture.timeperframe.numerator = 1;
	parm.parm.capture.timeperframe.denominator = 60;
	vivid_ioctl(v->fd, VIDIOC_S_PARM, &parm);
	return 0;
}

/* VIDIOC_REQBUFS: the number of buffers, or -errno */
static inline int vivid_reqbufs(struct vivid *v, __u32 memory, __u32 count)
{
	struct v4l2_requestbuffers r = {
		.count = count, .type = v->type, .memory = memory,
	};
	int ret = vivid_ioctl(v->fd, VIDIOC_REQBUFS, &r);

	return ret ? ret : (int)r.count;
}

/* A v4l2_buffer of @v's type for @index, with @planes for multiplanar */
static inline void vivid_buf_init(const struct vivid *v, struct v4l2_buffer *b,
				  struct v4l2_plane *planes, __u32 memory,
				  __u32 index)
{
	memset(b, 0, sizeof(*b));
	b->type = v->type;
	b->memory = memory;
	b->index = index;
	if (v->mplane) {
		memset(planes, 0, sizeof(*planes) * VIDEO_MAX_PLANES);
		b->m.planes = planes;
		b->length = v->nplanes;
	}
}

/*
 * VIDIOC_QBUF of buffer @index with one dma-buf fd per plane (@fds);
 * @length 0 lets vb2 take the dma-buf's size.
 */
static inline int vivid_qbuf_dmabuf(struct vivid *v, __u32 index,
				    const int *fds, __u32 length)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct v4l2_buffer b;
	unsigned int p;

	vivid_buf_init(v, &b, planes, V4L2_MEMORY_DMABUF, index);
	if (v->mplane) {
		for (p = 0; p < v->nplanes; p++) {
			planes[p].m.fd = fds[p];
			planes[p].length = length;
		}
	} else {
		b.m.fd = fds[0];
		b.length = length;
	}
	return vivid_ioctl(v->fd, VIDIOC_QBUF, &b);
}

static inline int vivid_qbuf_mmap(struct vivid *v, __u32 index)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	struct v4l2_buffer b;

	vivid_buf_init(v, &b, planes, V4L2_MEMORY_MMAP, index);
	return vivid_ioctl(v->fd, VIDIOC_QBUF, &b);
}

static inline int vivid_stream(struct vivid *v, int on)
{
	int type = v->type;

	return vivid_ioctl(v->fd, on ? VIDIOC_STREAMON : VIDIOC_STREAMOFF,
			   &type);
}

/*
 * Wait (VIVID_DQBUF_MS at most) for a filled buffer and dequeue it into
 * @b (and @planes, VIDEO_MAX_PLANES of them, for multiplanar).
 */
static inline int vivid_dqbuf(struct vivid *v, __u32 memory,
			      struct v4l2_buffer *b, struct v4l2_plane *planes)
{
	struct pollfd pfd = { .fd = v->fd, .events = POLLIN };
	int ret;

	do {
		ret = poll(&pfd, 1, VIVID_DQBUF_MS);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (!ret)
		return -ETIMEDOUT;
	vivid_buf_init(v, b, planes, memory, 0);
	return vivid_ioctl(v->fd, VIDIOC_DQBUF, b);
}

/* Bytes used and data offset of plane @p of a dequeued buffer */
static inline __u32 vivid_bytesused(const struct vivid *v,
				    const struct v4l2_buffer *b, unsigned int p)
{
	return v->mplane ? b->m.planes[p].bytesused : b->bytesused;
}

static inline __u32 vivid_data_offset(const struct vivid *v,
				      const struct v4l2_buffer *b,
				      unsigned int p)
{
	return v->mplane ? b->m.planes[p].data_offset : 0;
}

/*
 * One frame captured the usual way (V4L2_MEMORY_MMAP, two buffers), its
 * planes copied into @ref[p] (sizeimage[p] bytes each, malloc()ed; the
 * caller frees them). The queue is released again.
 */
static inline int vivid_capture_reference(struct vivid *v,
					  unsigned char **ref)
{
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	void *map[2][VIDEO_MAX_PLANES] = { { NULL } };
	__u32 len[2][VIDEO_MAX_PLANES] = { { 0 } };
	struct v4l2_buffer b;
	unsigned int i, p;
	int ret, n;

	for (p = 0; p < v->nplanes; p++)
		ref[p] = NULL;
	n = vivid_reqbufs(v, V4L2_MEMORY_MMAP, 2);
	if (n < 0)
		return n;
	if (n != 2) {
		ret = -ENOBUFS;
		goto out;
	}
	for (i = 0; i < 2; i++) {
		vivid_buf_init(v, &b, planes, V4L2_MEMORY_MMAP, i);
		ret = vivid_ioctl(v->fd, VIDIOC_QUERYBUF, &b);
		if (ret)
			goto out;
		for (p = 0; p < v->nplanes; p++) {
			__u32 off = v->mplane ? planes[p].m.mem_offset :
						b.m.offset;

			len[i][p] = v->mplane ? planes[p].length : b.length;
			map[i][p] = mmap(NULL, len[i][p], PROT_READ, MAP_SHARED,
					 v->fd, off);
			if (map[i][p] == MAP_FAILED) {
				map[i][p] = NULL;
				ret = -errno;
				goto out;
			}
		}
		ret = vivid_qbuf_mmap(v, i);
		if (ret)
			goto out;
	}
	ret = vivid_stream(v, 1);
	if (ret)
		goto out;
	ret = vivid_dqbuf(v, V4L2_MEMORY_MMAP, &b, planes);
	if (!ret && (b.flags & V4L2_BUF_FLAG_ERROR))
		ret = -EIO;
	for (p = 0; !ret && p < v->nplanes; p++) {
		if (vivid_bytesused(v, &b, p) != v->sizeimage[p]) {
			ret = -EMSGSIZE;
			break;
		}
		ref[p] = malloc(v->sizeimage[p]);
		if (!ref[p]) {
			ret = -ENOMEM;
			break;
		}
		memcpy(ref[p], map[b.index][p], v->sizeimage[p]);
	}
	vivid_stream(v, 0);
out:
	for (i = 0; i < 2; i++)
		for (p = 0; p < v->nplanes; p++)
			if (map[i][p])
				munmap(map[i][p], len[i][p]);
	vivid_reqbufs(v, V4L2_MEMORY_MMAP, 0);
	if (ret)
		for (p = 0; p < v->nplanes; p++) {
			free(ref[p]);
			ref[p] = NULL;
		}
	return ret;
}

#endif /* KSA_VIVID_LIB_H */
