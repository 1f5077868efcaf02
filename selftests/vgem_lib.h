/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vgem, the virtual GEM driver of the test kernel's own package, as a
 * real dma-buf importer: PRIME import and export, GEM_CLOSE, and vgem's
 * fences, which it attaches to the reservation object of an imported
 * dma-buf (implicit sync).
 *
 * The DRM uapi is spelled out here (from include/uapi/drm/drm.h and
 * vgem_drm.h, the same in 6.1 to 7.2): the build machine need not have
 * libdrm's headers, and the static programs use nothing else of libdrm.
 *
 * Every helper returns 0 (or a handle, an fd, a count) or -errno and
 * never calls the harness.
 */
#ifndef KSA_VGEM_LIB_H
#define KSA_VGEM_LIB_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/types.h>

struct drm_version {
	int version_major;
	int version_minor;
	int version_patchlevel;
	size_t name_len;
	char *name;
	size_t date_len;
	char *date;
	size_t desc_len;
	char *desc;
};

struct drm_gem_close {
	__u32 handle;
	__u32 pad;
};

struct drm_prime_handle {
	__u32 handle;
	__u32 flags;	/* DRM_CLOEXEC, DRM_RDWR (HANDLE_TO_FD) */
	__s32 fd;
};

struct drm_vgem_fence_attach {
	__u32 handle;
	__u32 flags;
#define VGEM_FENCE_WRITE	0x1
	__u32 out_fence;
	__u32 pad;
};

struct drm_vgem_fence_signal {
	__u32 fence;
	__u32 flags;
};

#define DRM_CLOEXEC			O_CLOEXEC
#define DRM_RDWR			O_RDWR
#define DRM_COMMAND_BASE		0x40
#define DRM_IOCTL_VERSION		_IOWR('d', 0x00, struct drm_version)
#define DRM_IOCTL_GEM_CLOSE		_IOW('d', 0x09, struct drm_gem_close)
#define DRM_IOCTL_PRIME_HANDLE_TO_FD	_IOWR('d', 0x2d, struct drm_prime_handle)
#define DRM_IOCTL_PRIME_FD_TO_HANDLE	_IOWR('d', 0x2e, struct drm_prime_handle)
#define DRM_IOCTL_VGEM_FENCE_ATTACH	_IOWR('d', DRM_COMMAND_BASE + 0x1, \
					      struct drm_vgem_fence_attach)
#define DRM_IOCTL_VGEM_FENCE_SIGNAL	_IOW('d', DRM_COMMAND_BASE + 0x2, \
					     struct drm_vgem_fence_signal)

_Static_assert(sizeof(struct drm_gem_close) == 8, "drm_gem_close");
_Static_assert(sizeof(struct drm_prime_handle) == 12, "drm_prime_handle");
_Static_assert(sizeof(struct drm_vgem_fence_attach) == 16,
	       "drm_vgem_fence_attach");
_Static_assert(sizeof(struct drm_vgem_fence_signal) == 8,
	       "drm_vgem_fence_signal");

static inline int vgem_ioctl(int fd, unsigned long cmd, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, cmd, arg);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

/* A new fd of vgem's DRM node, or -ENOENT if the kernel has no vgem */
static inline int vgem_open(void)
{
	char path[32], name[16];
	int i;

	for (i = 0; i < 16; i++) {
		struct drm_version v;
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&v, 0, sizeof(v));
		memset(name, 0, sizeof(name));
		v.name = name;
		v.name_len = sizeof(name) - 1;
		if (!vgem_ioctl(fd, DRM_IOCTL_VERSION, &v) &&
		    !strcmp(name, "vgem"))
			return fd;
		close(fd);
	}
	return -ENOENT;
}

/* PRIME import of dma-buf @dfd: the GEM handle, or -errno */
static inline long vgem_import(int vfd, int dfd)
{
	struct drm_prime_handle h = { .fd = dfd };
	int ret = vgem_ioctl(vfd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &h);

	return ret ? ret : (long)h.handle;
}

/* PRIME export of @handle: a dma-buf fd (close-on-exec), or -errno */
static inline int vgem_export(int vfd, __u32 handle)
{
	struct drm_prime_handle h = { .handle = handle,
				      .flags = DRM_CLOEXEC | DRM_RDWR,
				      .fd = -1 };
	int ret = vgem_ioctl(vfd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &h);

	return ret ? ret : h.fd;
}

static inline int vgem_close(int vfd, __u32 handle)
{
	struct drm_gem_close c = { .handle = handle };

	return vgem_ioctl(vfd, DRM_IOCTL_GEM_CLOSE, &c);
}

/* A vgem fence on @handle's buffer: the fence id, or -errno */
static inline long vgem_fence_attach(int vfd, __u32 handle, __u32 flags)
{
	struct drm_vgem_fence_attach a = { .handle = handle, .flags = flags };
	int ret = vgem_ioctl(vfd, DRM_IOCTL_VGEM_FENCE_ATTACH, &a);

	return ret ? ret : (long)a.out_fence;
}

static inline int vgem_fence_signal(int vfd, __u32 fence)
{
	struct drm_vgem_fence_signal s = { .fence = fence };

	return vgem_ioctl(vfd, DRM_IOCTL_VGEM_FENCE_SIGNAL, &s);
}

#endif /* KSA_VGEM_LIB_H */
