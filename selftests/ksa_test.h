/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the selftest programs: the KS ioctl wrapper, the
 * common pin and allocator requests, and the counters a test compares
 * before and after (sysfs, module parameters, open fds).
 *
 * Every helper returns a value, 0 or -errno, so a test asserts on the
 * result itself; none calls the harness (the KST_ASSERT_COUNTS macro is
 * the exception: it is expanded in a test body). Names start with kst_,
 * so the header goes with frames_lib.h and with lib/ksalloc.c (ksa_*)
 * in the same program. It builds for 64-bit and -m32 alike.
 */
#ifndef KSA_TEST_H
#define KSA_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <linux/dma-buf.h>
#include <linux/ksalloc.h>

#define KST_DEV			"/dev/ksalloc"
#define KST_SYS_ALLOCATORS	"/sys/class/misc/ksalloc/allocators"
#define KST_SYS_TOTAL_BYTES	"/sys/class/misc/ksalloc/total_bytes"
#define KST_SYS_REFCNT		"/sys/module/ksalloc/refcnt"

/* What bytes_returned holds until the kernel writes it. */
#define KST_UNWRITTEN		0xdeadbeefu

/* A create that "succeeded" without a usable fd in its output. */
#define KST_BAD_CREATE		(-1000)

/*
 * One KS ioctl: 0 (or the ioctl's non-negative result) or -errno.
 * *returned, if non-NULL, gets bytes_returned (KST_UNWRITTEN if the kernel
 * left it alone).
 */
static inline int kst_ioctl(int fd, unsigned long cmd, const void *in,
			    __u32 in_size, void *out, __u32 out_size,
			    __u32 open_flags, __u32 *returned)
{
	struct ks_ioctl_args a = {
		.in_buffer = (uintptr_t)in,
		.out_buffer = (uintptr_t)out,
		.in_size = in_size,
		.out_size = out_size,
		.bytes_returned = KST_UNWRITTEN,
		.open_flags = open_flags,
	};
	int ret = ioctl(fd, cmd, &a);

	if (returned)
		*returned = a.bytes_returned;
	return ret < 0 ? -errno : ret;
}

static inline struct ksidentifier kst_ident(const struct ksguid *set,
					    __u32 id, __u32 flags)
{
	struct ksidentifier k;

	memset(&k, 0, sizeof(k));
	k.set = *set;
	k.id = id;
	k.flags = flags;
	return k;
}

/* A request whose input is just a KSIDENTIFIER. */
static inline int kst_req(int fd, unsigned long cmd, const struct ksguid *set,
			  __u32 id, __u32 flags, void *out, __u32 out_size,
			  __u32 open_flags, __u32 *returned)
{
	struct ksidentifier k = kst_ident(set, id, flags);

	return kst_ioctl(fd, cmd, &k, sizeof(k), out, out_size, open_flags,
			 returned);
}

static inline int kst_prop(int fd, const struct ksguid *set, __u32 id,
			   __u32 flags, void *val, __u32 size,
			   __u32 open_flags, __u32 *returned)
{
	return kst_req(fd, IOCTL_KS_PROPERTY, set, id, flags, val, size,
		       open_flags, returned);
}

/*
 * A KSMETHODSETID_StreamAllocator method with a frame offset (64 bits, a
 * __u64 or a uint64_t) as its data.
 */
static inline int kst_method(int fd, __u32 id, __u32 flags, void *offset)
{
	static const struct ksguid set = KSMETHODSETID_StreamAllocator;

	return kst_req(fd, IOCTL_KS_METHOD, &set, id, flags, offset,
		       sizeof(__u64), 0, NULL);
}

/* KSPROPERTY_STREAM_ALLOCATOR Set on a pin: @handle is an fd or -1. */
static inline int kst_set_allocator(int pin, __s64 handle)
{
	static const struct ksguid set = KSPROPSETID_Stream;

	return kst_prop(pin, &set, KSPROPERTY_STREAM_ALLOCATOR,
			KSPROPERTY_TYPE_SET, &handle, sizeof(handle), 0, NULL);
}

static inline int kst_get_state(int pin, __u32 *state)
{
	static const struct ksguid set = KSPROPSETID_Connection;

	return kst_prop(pin, &set, KSPROPERTY_CONNECTION_STATE,
			KSPROPERTY_TYPE_GET, state, sizeof(*state), 0, NULL);
}

static inline int kst_set_state(int pin, __u32 state)
{
	static const struct ksguid set = KSPROPSETID_Connection;

	return kst_prop(pin, &set, KSPROPERTY_CONNECTION_STATE,
			KSPROPERTY_TYPE_SET, &state, sizeof(state), 0, NULL);
}

/* KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD: the fd, or -errno */
static inline int kst_pin_allocator_fd(int pin, __u32 open_flags)
{
	static const struct ksguid set = KSPROPSETID_KsallocPin;
	__s64 fd = -100;
	int ret;

	ret = kst_prop(pin, &set, KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
		       KSPROPERTY_TYPE_GET, &fd, sizeof(fd), open_flags, NULL);
	return ret ? ret : (int)fd;
}

/* STATUS; *st is poisoned first, so an unwritten field shows. */
static inline int kst_get_status(int fd, struct ksstreamallocator_status *st)
{
	static const struct ksguid set = KSPROPSETID_StreamAllocator;

	memset(st, 0xa5, sizeof(*st));
	return kst_prop(fd, &set, KSPROPERTY_STREAMALLOCATOR_STATUS,
			KSPROPERTY_TYPE_GET, st, sizeof(*st), 0, NULL);
}

/* INFO; *info is poisoned first, so an unwritten field shows. */
static inline int kst_get_info(int fd, struct ksalloc_allocator_info *info)
{
	static const struct ksguid set = KSPROPSETID_KsallocAllocator;

	memset(info, 0xa5, sizeof(*info));
	return kst_prop(fd, &set, KSPROPERTY_KSALLOC_ALLOCATOR_INFO,
			KSPROPERTY_TYPE_GET, info, sizeof(*info), 0, NULL);
}

/* STATUS.allocated_frames, or -errno */
static inline long kst_allocated(int fd)
{
	struct ksstreamallocator_status st;
	int ret = kst_get_status(fd, &st);

	return ret ? ret : (long)st.allocated_frames;
}

/* INFO.waiters, or -errno */
static inline long kst_waiters(int fd)
{
	struct ksalloc_allocator_info info;
	int ret = kst_get_info(fd, &info);

	return ret ? ret : (long)info.waiters;
}

/* The allocator's id, or 0 if @fd is not a working allocator fd */
static inline __u64 kst_allocator_id(int fd)
{
	struct ksalloc_allocator_info info;

	return kst_get_info(fd, &info) ? 0 : info.id;
}

static inline int kst_open_pin(void)
{
	int fd = open(KST_DEV, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Nonpaged, no options, no alignment */
static inline struct ksallocator_framing kst_framing(__u32 frames,
						     __u32 frame_size)
{
	struct ksallocator_framing f;

	memset(&f, 0, sizeof(f));
	f.pool_type = KS_POOL_NONPAGED;
	f.frames = frames;
	f.frame_size = frame_size;
	return f;
}

/*
 * KSNAME_Allocator with @f: the new fd, -errno, or KST_BAD_CREATE for a
 * success without exactly one valid fd in the output.
 */
static inline int kst_create_framing(int pin,
				     const struct ksallocator_framing *f,
				     __u32 open_flags)
{
	struct ksallocator_create c = { .object_type = KSNAME_Allocator,
					.framing = *f };
	__s64 fd = -100;
	__u32 ret_bytes;
	int ret;

	ret = kst_ioctl(pin, IOCTL_KS_CREATE, &c, sizeof(c), &fd, sizeof(fd),
			open_flags, &ret_bytes);
	if (ret)
		return ret;
	if (ret_bytes != sizeof(fd) || fd < 0 || fd > INT_MAX)
		return KST_BAD_CREATE;
	return (int)fd;
}

static inline int kst_create_allocator(int pin, __u32 frames,
				       __u32 frame_size, __u32 open_flags)
{
	struct ksallocator_framing f = kst_framing(frames, frame_size);

	return kst_create_framing(pin, &f, open_flags);
}

/*
 * An allocator in system memory with page-aligned page-sized frames, as
 * the request-level tests use.
 */
static inline int kst_create_system(int pin, __u32 frames, __u32 open_flags)
{
	struct ksallocator_framing f = kst_framing(frames, 4096);

	f.options_flags = KSALLOCATOR_OPTIONF_SYSTEM_MEMORY;
	f.file_alignment = 4095;
	return kst_create_framing(pin, &f, open_flags);
}

/*
 * KSNAME_KsallocAllocator: a framing plus ksalloc's creation flags; the
 * new fd, -errno, or KST_BAD_CREATE.
 */
static inline int kst_create_ksalloc(int pin, __u32 frames, __u32 frame_size,
				     __u32 flags, __u32 open_flags)
{
	struct ksalloc_allocator_create c;
	__s64 fd = -100;
	__u32 ret_bytes;
	int ret;

	memset(&c, 0, sizeof(c));
	c.object_type = (struct ksguid)KSNAME_KsallocAllocator;
	c.framing = kst_framing(frames, frame_size);
	c.flags = flags;
	ret = kst_ioctl(pin, IOCTL_KS_CREATE, &c, sizeof(c), &fd, sizeof(fd),
			open_flags, &ret_bytes);
	if (ret)
		return ret;
	if (ret_bytes != sizeof(fd) || fd < 0 || fd > INT_MAX)
		return KST_BAD_CREATE;
	return (int)fd;
}

/* IOCTL_KSALLOC_FRAME_ALLOC or _EXPORT on @args: 0 or -errno */
static inline int kst_frame_ioctl(int fd, unsigned long cmd,
				  struct ksalloc_frame_args *args)
{
	return ioctl(fd, cmd, args) < 0 ? -errno : 0;
}

/* FRAME_ALLOC with @flags: the offset in *offset, the fd (or -1) returned */
static inline int kst_frame_alloc(int fd, __u32 flags, __u64 *offset)
{
	struct ksalloc_frame_args a = { .flags = flags, .fd = -100,
					.fd_flags = O_CLOEXEC };
	int ret = kst_frame_ioctl(fd, IOCTL_KSALLOC_FRAME_ALLOC, &a);

	if (ret)
		return ret;
	if (offset)
		*offset = a.offset;
	return a.fd;
}

/* FRAME_EXPORT of the frame at @offset: the dma-buf fd, or -errno */
static inline int kst_frame_export(int fd, __u64 offset)
{
	struct ksalloc_frame_args a = { .offset = offset, .fd = -100,
					.fd_flags = O_CLOEXEC };
	int ret = kst_frame_ioctl(fd, IOCTL_KSALLOC_FRAME_EXPORT, &a);

	return ret ? ret : a.fd;
}

/* A KSMETHODSETID_KsallocFrame method; *returned gets bytes_returned */
static inline int kst_frame_method(int fd, __u32 id, __u32 flags,
				   struct ksalloc_frame_args *args,
				   __u32 size, __u32 open_flags,
				   __u32 *returned)
{
	static const struct ksguid set = KSMETHODSETID_KsallocFrame;

	return kst_req(fd, IOCTL_KS_METHOD, &set, id, flags, args, size,
		       open_flags, returned);
}

/* An ALLOC (KSMETHOD_TYPE_SEND) in another thread: for a sleeper. */
struct kst_allocer {
	pthread_t thread;
	int fd;
	int ret;	/* 1 until the ALLOC returns */
	__u64 offset;
};

static inline void *kst_allocer_main(void *arg)
{
	struct kst_allocer *a = arg;

	a->ret = kst_method(a->fd, KSMETHOD_STREAMALLOCATOR_ALLOC,
			    KSMETHOD_TYPE_SEND, &a->offset);
	return NULL;
}

/* 0, or pthread_create's error */
static inline int kst_allocer_start(struct kst_allocer *a, int fd)
{
	a->fd = fd;
	a->ret = 1;
	a->offset = ~0ULL;
	return pthread_create(&a->thread, NULL, kst_allocer_main, a);
}

/* ---- fds over a unix socket (SCM_RIGHTS) ---- */

/* Send @fd with one byte of data; 0 or -1 */
static inline int kst_send_fd(int sock, int fd)
{
	char c = 'F', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

/* The fd kst_send_fd() sent (close-on-exec here), or -1 */
static inline int kst_recv_fd(int sock)
{
	char c, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* Read exactly @len bytes (a pipe may return less); 0 or -1 */
static inline int kst_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* ---- dma-bufs ---- */

/* DMA_BUF_IOCTL_SYNC with @flags (DMA_BUF_SYNC_*): 0 or -errno */
static inline int kst_dmabuf_sync(int dfd, __u64 flags)
{
	struct dma_buf_sync s = { .flags = flags };

	return ioctl(dfd, DMA_BUF_IOCTL_SYNC, &s) ? -errno : 0;
}

/* The size of a dma-buf, as its llseek reports it */
static inline long long kst_dmabuf_size(int dfd)
{
	return lseek(dfd, 0, SEEK_END);
}

/*
 * INFO.allocated_frames and .exported_frames as one number, a * 100 + e,
 * so one comparison shows both; -1 if INFO fails.
 */
static inline long kst_frame_counts(int fd)
{
	struct ksalloc_allocator_info info;

	if (kst_get_info(fd, &info))
		return -1;
	return info.allocated_frames * 100L + info.exported_frames;
}

#define KST_DMABUF_BUFINFO	"/sys/kernel/debug/dma_buf/bufinfo"

/* The inode of an fd (dma-bufs are one inode each), or 0 */
static inline unsigned long long kst_fd_inode(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (unsigned long long)st.st_ino;
}

/* What the dma-buf core's debugfs says about one buffer */
struct kst_bufinfo {
	long refs;		/* references to its file (fds, importers) */
	int attached;		/* attachments */
	int named;		/* of them, to a device of the name asked for */
	int fences;		/* fences in its reservation object */
	int unsignalled;	/* of them, not signalled yet */
};

/*
 * The entry of the dma-buf @dfd in /sys/kernel/debug/dma_buf/bufinfo,
 * counting attachments of devices called @dev_name: 0, -ENOENT if the
 * buffer is not listed, or -errno.
 */
static inline int kst_dmabuf_bufinfo(int dfd, const char *dev_name,
				 struct kst_bufinfo *bi)
{
	unsigned long long ino = kst_fd_inode(dfd), i;
	char line[512], exp[64];
	int state = 0;	/* 0: looking, 1: its fences, 2: its devices */
	FILE *f;

	memset(bi, 0, sizeof(*bi));
	f = fopen(KST_DMABUF_BUFINFO, "re");
	if (!f)
		return -errno;
	while (state < 3 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		switch (state) {
		case 0:
			/* size flags mode count exp_name ino name */
			if (sscanf(line, "%*s %*s %*s %ld %63s %llu",
				   &bi->refs, exp, &i) == 3 && i == ino &&
			    !strcmp(exp, "ksalloc"))
				state = 1;
			break;
		case 1:
			if (!strcmp(line, "\tAttached Devices:")) {
				state = 2;
			} else if (strstr(line, " fence:")) {
				bi->fences++;
				bi->unsignalled += !!strstr(line, "unsignalled");
			}
			break;
		case 2:
			if (!strncmp(line, "Total ", 6)) {
				state = 3;
			} else if (line[0] == '\t') {
				bi->attached++;
				bi->named += dev_name && !strcmp(line + 1,
								 dev_name);
			}
			break;
		}
	}
	fclose(f);
	return state ? 0 : -ENOENT;
}

/* ---- physical memory (root only) ---- */

/*
 * The page frame number behind @addr, from /proc/self/pagemap (root
 * only); 0 if the page is not present or the PFN is hidden.
 */
static inline unsigned long long kst_pfn_of(const void *addr)
{
	unsigned long long e = 0;
	long page = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	off_t pos = (uintptr_t)addr / page * sizeof(e);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), pos) != sizeof(e))
		e = 0;
	close(fd);
	if (!(e & (1ULL << 63)))
		return 0;
	return e & ((1ULL << 55) - 1);
}

/*
 * How many of the @npages mapped pages from @addr on are physically
 * contiguous with the first; 0 if pagemap shows no page frame there.
 */
static inline long kst_contiguous_pages(const void *addr, long npages)
{
	long page = sysconf(_SC_PAGESIZE), k;
	unsigned long long p0 = kst_pfn_of(addr);

	if (!p0)
		return 0;
	for (k = 1; k < npages; k++)
		if (kst_pfn_of((const char *)addr + k * page) != p0 + k)
			break;
	return k;
}

/* ---- files and counters ---- */

/* A number from a sysfs file, or LONG_MIN */
static inline long kst_read_long(const char *path)
{
	char buf[64];
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return LONG_MIN;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return LONG_MIN;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/* The allocators counter in sysfs, or -1 */
static inline long long kst_sysfs_allocators(void)
{
	long long v = -1;
	FILE *f = fopen(KST_SYS_ALLOCATORS, "re");

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* A file's text, without its final newline, in @buf; 0 or -errno */
static inline int kst_read_str(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	if (n && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	return 0;
}

/* 0, or -errno (-EIO for a short write) */
static inline int kst_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -EIO;
}

static inline int kst_write_long(const char *path, long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", v);
	return kst_write_str(path, buf);
}

/*
 * Set a module parameter, remembering its first value in *saved (LONG_MIN:
 * not saved yet) for kst_restore_param(); 0 or -errno.
 */
static inline int kst_set_param(const char *path, long *saved, long value)
{
	if (*saved == LONG_MIN) {
		*saved = kst_read_long(path);
		if (*saved == LONG_MIN)
			return -ENOENT;
	}
	return kst_write_long(path, value);
}

/* Put back what kst_set_param() saved, if anything. */
static inline void kst_restore_param(const char *path, long *saved)
{
	if (*saved != LONG_MIN)
		kst_write_long(path, *saved);
	*saved = LONG_MIN;
}

/* Entries in /proc/self/fd (the directory's own fd included), or -1 */
static inline int kst_count_fds(void)
{
	struct dirent *e;
	DIR *d;
	int n = 0;

	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The module's counters and this process's fds. */
struct kst_counts {
	long allocators;
	long total_bytes;
	long refcnt;	/* KST_ANY in a wanted count: not compared */
	int fds;
};

#define KST_ANY		LONG_MIN

static inline void kst_read_counts(struct kst_counts *c)
{
	c->allocators = kst_read_long(KST_SYS_ALLOCATORS);
	c->total_bytes = kst_read_long(KST_SYS_TOTAL_BYTES);
	c->refcnt = kst_read_long(KST_SYS_REFCNT);
	c->fds = kst_count_fds();
}

static inline int kst_counts_match(const struct kst_counts *want,
				   const struct kst_counts *got)
{
	return want->allocators == got->allocators &&
	       want->total_bytes == got->total_bytes &&
	       (want->refcnt == KST_ANY || want->refcnt == got->refcnt) &&
	       want->fds == got->fds;
}

/*
 * Read the counters until they are @want, at most @tries times 10 ms.
 * Releases run before close(), munmap() or exit return, so the counters
 * should already match; the wait only absorbs a release the kernel chose
 * to defer (delayed fput). It never makes a wrong count pass.
 */
static inline void kst_wait_counts(const struct kst_counts *want,
				   struct kst_counts *got, int tries)
{
	int i;

	for (i = 0; i < tries; i++) {
		kst_read_counts(got);
		if (kst_counts_match(want, got))
			return;
		usleep(10000);
	}
}

/* In a test body: the counters become @_want (a struct kst_counts). */
#define KST_ASSERT_COUNTS(_want, _tries) do {				\
	struct kst_counts _w = (_want), _got;				\
									\
	kst_wait_counts(&_w, &_got, (_tries));				\
	ASSERT_EQ(_w.allocators, _got.allocators)			\
		TH_LOG("allocators in sysfs");				\
	ASSERT_EQ(_w.total_bytes, _got.total_bytes)			\
		TH_LOG("total_bytes in sysfs");				\
	if (_w.refcnt != KST_ANY) {					\
		ASSERT_EQ(_w.refcnt, _got.refcnt)			\
			TH_LOG("module refcnt");			\
	}								\
	ASSERT_EQ(_w.fds, _got.fds)					\
		TH_LOG("entries in /proc/self/fd");			\
} while (0)

#endif /* KSA_TEST_H */
