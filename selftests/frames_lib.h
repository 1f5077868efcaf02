/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the frame tests (frames.c, wait.c, events.c): thin
 * wrappers around the KS ioctls of a pin and an allocator, sysfs access,
 * and bounded waits for states the kernel reports (INFO.waiters, a thread
 * asleep in a given system call).
 *
 * The wrappers return 0 or -errno, so a test can compare the result with
 * the expected errno directly; none of them calls the harness, so they are
 * safe in threads and forked children, where ASSERT_* must not be used
 * (it longjmps into the harness of the test process).
 */
#ifndef KSA_FRAMES_LIB_H
#define KSA_FRAMES_LIB_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/ksalloc.h>

#define KSA_DEV			"/dev/ksalloc"
#define KSA_PARAM_DIR		"/sys/module/ksalloc/parameters/"
#define KSA_SYSFS_DIR		"/sys/class/misc/ksalloc/"

/* Upper bound of every wait for a state change (not a timing check). */
#define KSA_WAIT_MS		20000

static const struct ksguid ksa_g_stream = KSPROPSETID_Stream;
static const struct ksguid ksa_g_allocprops = KSPROPSETID_StreamAllocator;
static const struct ksguid ksa_g_allocmethods = KSMETHODSETID_StreamAllocator;
static const struct ksguid ksa_g_allocevents = KSEVENTSETID_StreamAllocator;
static const struct ksguid ksa_g_ksalloc_alloc = KSPROPSETID_KsallocAllocator;
static const struct ksguid ksa_g_name_allocator = KSNAME_Allocator;

static inline long ksa_page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* One KS ioctl; 0 or -errno. *returned gets bytes_returned if non-NULL. */
static inline int ksa_ioctl(int fd, unsigned long cmd, const void *in,
			    __u32 in_size, void *out, __u32 out_size,
			    __u32 open_flags, __u32 *returned)
{
	struct ks_ioctl_args a = {
		.in_buffer = (uintptr_t)in,
		.out_buffer = (uintptr_t)out,
		.in_size = in_size,
		.out_size = out_size,
		.open_flags = open_flags,
	};
	int ret = ioctl(fd, cmd, &a);

	if (returned)
		*returned = a.bytes_returned;
	return ret < 0 ? -errno : 0;
}

static inline struct ksidentifier ksa_ident(const struct ksguid *set, __u32 id,
					    __u32 flags)
{
	struct ksidentifier k;

	memset(&k, 0, sizeof(k));
	k.set = *set;
	k.id = id;
	k.flags = flags;
	return k;
}

static inline int ksa_open_pin(void)
{
	int fd = open(KSA_DEV, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* A new allocator fd from @pin (KSNAME_Allocator), or -errno. */
static inline int ksa_create(int pin, __u32 frames, __u32 frame_size,
			     __u32 open_flags)
{
	struct ksallocator_create c;
	__s64 handle = -1;
	int ret;

	memset(&c, 0, sizeof(c));
	c.object_type = ksa_g_name_allocator;
	c.framing.pool_type = KS_POOL_NONPAGED;
	c.framing.frames = frames;
	c.framing.frame_size = frame_size;
	ret = ksa_ioctl(pin, IOCTL_KS_CREATE, &c, sizeof(c), &handle,
			sizeof(handle), open_flags | O_CLOEXEC, NULL);
	return ret ? ret : (int)handle;
}

/* KSMETHOD_STREAMALLOCATOR_ALLOC with the given method type flags. */
static inline int ksa_alloc_flags(int fd, __u32 flags, __u64 *offset)
{
	struct ksidentifier m = ksa_ident(&ksa_g_allocmethods,
					  KSMETHOD_STREAMALLOCATOR_ALLOC, flags);

	return ksa_ioctl(fd, IOCTL_KS_METHOD, &m, sizeof(m), offset,
			 sizeof(*offset), 0, NULL);
}

static inline int ksa_alloc(int fd, __u64 *offset)
{
	return ksa_alloc_flags(fd, KSMETHOD_TYPE_SEND, offset);
}

static inline int ksa_free(int fd, __u64 offset)
{
	struct ksidentifier m = ksa_ident(&ksa_g_allocmethods,
					  KSMETHOD_STREAMALLOCATOR_FREE,
					  KSMETHOD_TYPE_READ);

	return ksa_ioctl(fd, IOCTL_KS_METHOD, &m, sizeof(m), &offset,
			 sizeof(offset), 0, NULL);
}

static inline int ksa_status(int fd, struct ksstreamallocator_status *st)
{
	struct ksidentifier p = ksa_ident(&ksa_g_allocprops,
					  KSPROPERTY_STREAMALLOCATOR_STATUS,
					  KSPROPERTY_TYPE_GET);

	memset(st, 0, sizeof(*st));
	return ksa_ioctl(fd, IOCTL_KS_PROPERTY, &p, sizeof(p), st, sizeof(*st),
			 0, NULL);
}

/* STATUS.allocated_frames, or -errno */
static inline long ksa_allocated(int fd)
{
	struct ksstreamallocator_status st;
	int ret = ksa_status(fd, &st);

	return ret ? ret : (long)st.allocated_frames;
}

static inline int ksa_info(int fd, struct ksalloc_allocator_info *info)
{
	struct ksidentifier p = ksa_ident(&ksa_g_ksalloc_alloc,
					  KSPROPERTY_KSALLOC_ALLOCATOR_INFO,
					  KSPROPERTY_TYPE_GET);

	memset(info, 0, sizeof(*info));
	return ksa_ioctl(fd, IOCTL_KS_PROPERTY, &p, sizeof(p), info,
			 sizeof(*info), 0, NULL);
}

/* INFO.waiters, or -errno */
static inline long ksa_waiters(int fd)
{
	struct ksalloc_allocator_info info;
	int ret = ksa_info(fd, &info);

	return ret ? ret : (long)info.waiters;
}

static inline int ksa_reset(int fd, __u32 how)
{
	return ksa_ioctl(fd, IOCTL_KS_RESET_STATE, &how, sizeof(how), NULL, 0,
			 0, NULL);
}

/* KSPROPERTY_STREAM_ALLOCATOR Set on a pin: @handle is an fd or -1. */
static inline int ksa_pin_set_allocator(int pin, __s64 handle)
{
	struct ksidentifier p = ksa_ident(&ksa_g_stream,
					  KSPROPERTY_STREAM_ALLOCATOR,
					  KSPROPERTY_TYPE_SET);

	return ksa_ioctl(pin, IOCTL_KS_PROPERTY, &p, sizeof(p), &handle,
			 sizeof(handle), 0, NULL);
}

/* FREEFRAME (or another id) enable; @flags is ENABLE or ONESHOT. */
static inline int ksa_event_enable_id(int fd, __u32 id, __u32 flags,
				      struct kseventdata *data)
{
	struct ksidentifier e = ksa_ident(&ksa_g_allocevents, id, flags);

	return ksa_ioctl(fd, IOCTL_KS_ENABLE_EVENT, &e, sizeof(e), data,
			 sizeof(*data), 0, NULL);
}

static inline int ksa_event_enable(int fd, __u32 flags,
				   struct kseventdata *data)
{
	return ksa_event_enable_id(fd, KSEVENT_STREAMALLOCATOR_FREEFRAME,
				   flags, data);
}

/* Disable the event enabled with the KSEVENTDATA at @data. */
static inline int ksa_event_disable(int fd, const struct kseventdata *data)
{
	return ksa_ioctl(fd, IOCTL_KS_DISABLE_EVENT, data, sizeof(*data), NULL,
			 0, 0, NULL);
}

/* No input: every event of the allocator. */
static inline int ksa_event_disable_all(int fd)
{
	return ksa_ioctl(fd, IOCTL_KS_DISABLE_EVENT, NULL, 0, NULL, 0, 0, NULL);
}

static inline void ksa_event_handle(struct kseventdata *d, __s64 efd)
{
	memset(d, 0, sizeof(*d));
	d->notification_type = KSEVENTF_EVENT_HANDLE;
	d->event_handle.event = efd;
}

static inline void ksa_semaphore_handle(struct kseventdata *d, __s64 efd,
					__s32 adjustment)
{
	memset(d, 0, sizeof(*d));
	d->notification_type = KSEVENTF_SEMAPHORE_HANDLE;
	d->semaphore_handle.semaphore = efd;
	d->semaphore_handle.adjustment = adjustment;
}

/* Read (and reset) an O_NONBLOCK eventfd's counter; 0 when it is zero. */
static inline __u64 ksa_eventfd_take(int efd)
{
	__u64 v = 0;

	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

/* sysfs: a number from a file, or -1 */
static inline long long ksa_read_ll(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static inline int ksa_write_ll(const char *path, long long v)
{
	char buf[32];
	int fd, len, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%lld\n", v);
	if (write(fd, buf, len) != len)
		ret = -errno;
	close(fd);
	return ret;
}

static inline long long ksa_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait until INFO.waiters of @fd is @n; false after KSA_WAIT_MS. */
static inline int ksa_wait_waiters(int fd, long n)
{
	long long end = ksa_now_ms() + KSA_WAIT_MS;

	do {
		if (ksa_waiters(fd) == n)
			return 1;
		usleep(1000);
	} while (ksa_now_ms() < end);
	return 0;
}

static inline pid_t ksa_gettid(void)
{
	return syscall(SYS_gettid);
}

/*
 * Wait until thread @tid of this process is asleep (state S) inside
 * system call @nr (or @alt, for libcs that use the newer call; -1 for
 * none), as /proc reports it; false after KSA_WAIT_MS. Used where the
 * kernel has no counter of its own (poll, select and epoll sleepers).
 */
static inline int ksa_wait_thread_asleep_in2(pid_t tid, long nr, long alt)
{
	long long end = ksa_now_ms() + KSA_WAIT_MS;
	char path[64], buf[512], *p;
	long cur;
	FILE *f;
	int asleep, in_call;

	do {
		asleep = in_call = 0;
		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
		f = fopen(path, "r");
		if (f) {
			if (fgets(buf, sizeof(buf), f)) {
				p = strrchr(buf, ')');
				asleep = p && p[1] == ' ' && p[2] == 'S';
			}
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
		f = fopen(path, "r");
		if (f) {
			in_call = fscanf(f, "%ld", &cur) == 1 &&
				  (cur == nr || cur == alt);
			fclose(f);
		}
		if (asleep && in_call)
			return 1;
		usleep(1000);
	} while (ksa_now_ms() < end);
	return 0;
}

static inline int ksa_wait_thread_asleep_in(pid_t tid, long nr)
{
	return ksa_wait_thread_asleep_in2(tid, nr, -1);
}

/* Fork a child that FREEs @offset on @fd and exits 0, or errno; -1 on fork failure. */
static inline int ksa_free_in_child(int fd, __u64 offset)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0)
		_exit(-ksa_free(fd, offset));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

#endif /* KSA_FRAMES_LIB_H */
