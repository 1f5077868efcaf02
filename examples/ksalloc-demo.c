// SPDX-License-Identifier: GPL-2.0
/*
 * ksalloc-demo: stream frames between two processes through one KS stream
 * allocator.
 *
 *   1. open /dev/ksalloc (a pin) and create an allocator from it
 *      (IOCTL_KS_CREATE with KSNAME_Allocator and a KSALLOCATOR_FRAMING);
 *   2. give the allocator to the pin (KSPROPERTY_STREAM_ALLOCATOR);
 *   3. a consumer process gets the allocator fd over a unix socket
 *      (SCM_RIGHTS), a producer process inherits it across fork();
 *   4. the producer ALLOCs frames (sleeping while the pool is empty),
 *      writes a sequence number, a payload and its checksum through its
 *      mapping of the allocator, and passes the frame's offset over a pipe;
 *      the consumer checks and FREEs them;
 *   5. the parent counts the FREEs with a FREEFRAME event on an eventfd
 *      and prints the allocator's status before and after.
 *
 * Exits 0 when every frame arrived in order and intact and the pool ended
 * with nothing allocated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/ksalloc.h>

#define KSA_DEV		"/dev/ksalloc"
#define FRAMES		4
#define FRAME_SIZE	16384
#define COUNT		1000

static const struct ksguid set_stream = KSPROPSETID_Stream;
static const struct ksguid set_allocprops = KSPROPSETID_StreamAllocator;
static const struct ksguid set_allocmethods = KSMETHODSETID_StreamAllocator;
static const struct ksguid set_allocevents = KSEVENTSETID_StreamAllocator;
static const struct ksguid set_ksalloc = KSPROPSETID_KsallocAllocator;
static const struct ksguid name_allocator = KSNAME_Allocator;

/* The frame layout both ends agree on */
struct frame_hdr {
	uint64_t seq;
	uint32_t len;
	uint32_t sum;
};

/* What the consumer found, in memory shared with the parent */
struct tally {
	uint64_t received, out_of_order, corrupt, free_errors;
};

static int ks_ioctl(int fd, unsigned long cmd, const void *in, uint32_t in_size,
		    void *out, uint32_t out_size, uint32_t open_flags)
{
	struct ks_ioctl_args a = {
		.in_buffer = (uintptr_t)in,
		.out_buffer = (uintptr_t)out,
		.in_size = in_size,
		.out_size = out_size,
		.open_flags = open_flags,
	};

	return ioctl(fd, cmd, &a) < 0 ? -errno : 0;
}

static struct ksidentifier ident(const struct ksguid *set, uint32_t id,
				 uint32_t flags)
{
	struct ksidentifier k = { .set = *set, .id = id, .flags = flags };

	return k;
}

static int frame_alloc(int fd, uint64_t *offset)
{
	struct ksidentifier m = ident(&set_allocmethods,
				      KSMETHOD_STREAMALLOCATOR_ALLOC,
				      KSMETHOD_TYPE_SEND);

	return ks_ioctl(fd, IOCTL_KS_METHOD, &m, sizeof(m), offset,
			sizeof(*offset), 0);
}

static int frame_free(int fd, uint64_t offset)
{
	struct ksidentifier m = ident(&set_allocmethods,
				      KSMETHOD_STREAMALLOCATOR_FREE,
				      KSMETHOD_TYPE_READ);

	return ks_ioctl(fd, IOCTL_KS_METHOD, &m, sizeof(m), &offset,
			sizeof(offset), 0);
}

static int show_status(int fd, const char *when)
{
	struct ksidentifier ps = ident(&set_allocprops,
				       KSPROPERTY_STREAMALLOCATOR_STATUS,
				       KSPROPERTY_TYPE_GET);
	struct ksidentifier pi = ident(&set_ksalloc,
				       KSPROPERTY_KSALLOC_ALLOCATOR_INFO,
				       KSPROPERTY_TYPE_GET);
	struct ksstreamallocator_status st = { 0 };
	struct ksalloc_allocator_info info = { 0 };
	int ret;

	ret = ks_ioctl(fd, IOCTL_KS_PROPERTY, &ps, sizeof(ps), &st, sizeof(st), 0);
	if (!ret)
		ret = ks_ioctl(fd, IOCTL_KS_PROPERTY, &pi, sizeof(pi), &info,
			       sizeof(info), 0);
	if (ret) {
		fprintf(stderr, "ksalloc-demo: status: %s\n", strerror(-ret));
		return ret;
	}
	printf("ksalloc-demo: %s: STATUS framing {frames %u, frame_size %u, pool_type %u, alignment %#x}, allocated_frames %u\n",
	       when, st.framing.frames, st.framing.frame_size,
	       st.framing.pool_type, st.framing.file_alignment,
	       st.allocated_frames);
	printf("ksalloc-demo: %s: INFO id %llu, mmap_size %llu, bytes_held %llu, frame_stride %u, allocated %u, high_water %u, waiters %u, resetting %u\n",
	       when, (unsigned long long)info.id,
	       (unsigned long long)info.mmap_size,
	       (unsigned long long)info.bytes_held, info.frame_stride,
	       info.allocated_frames, info.high_water, info.waiters,
	       info.resetting);
	return 0;
}

static uint32_t fnv1a(const unsigned char *p, uint32_t len)
{
	uint32_t h = 2166136261u;

	while (len--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* The payload of frame @seq: reproducible, different for every frame */
static void fill(unsigned char *p, uint32_t len, uint64_t seq)
{
	uint32_t x = (uint32_t)seq * 2654435761u + 1, i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

static int producer(int fd, int out, uint64_t mmap_size)
{
	unsigned char *map;
	uint64_t seq, off;
	int ret;

	map = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("ksalloc-demo: producer: mmap");
		return 1;
	}
	for (seq = 0; seq < COUNT; seq++) {
		struct frame_hdr *h;

		/* Blocks while the consumer holds every frame */
		ret = frame_alloc(fd, &off);
		if (ret) {
			fprintf(stderr, "ksalloc-demo: producer: ALLOC: %s\n",
				strerror(-ret));
			return 1;
		}
		h = (struct frame_hdr *)(map + off);
		h->seq = seq;
		h->len = 1 + (seq * 997) % (FRAME_SIZE - sizeof(*h));
		fill((unsigned char *)(h + 1), h->len, seq);
		h->sum = fnv1a((unsigned char *)(h + 1), h->len);
		if (write(out, &off, sizeof(off)) != sizeof(off)) {
			perror("ksalloc-demo: producer: write");
			return 1;
		}
	}
	return 0;
}

static int consumer(int fd, int in, uint64_t mmap_size, struct tally *t)
{
	static unsigned char expect[FRAME_SIZE];
	uint64_t off, next = 0;
	unsigned char *map;

	map = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("ksalloc-demo: consumer: mmap");
		return 1;
	}
	while (read(in, &off, sizeof(off)) == sizeof(off)) {
		struct frame_hdr *h = (struct frame_hdr *)(map + off);

		if (off >= mmap_size) {
			t->corrupt++;
			continue;
		}
		t->received++;
		if (h->seq != next)
			t->out_of_order++;
		next = h->seq + 1;
		if (h->len > FRAME_SIZE - sizeof(*h) ||
		    h->sum != fnv1a((unsigned char *)(h + 1), h->len)) {
			t->corrupt++;
		} else {
			fill(expect, h->len, h->seq);
			if (memcmp(expect, h + 1, h->len))
				t->corrupt++;
		}
		if (frame_free(fd, off))
			t->free_errors++;
	}
	return 0;
}

static int send_fd(int sock, int fd)
{
	char c = 'A', cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &c, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
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
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static int child_ok(pid_t pid, const char *who)
{
	int status;

	if (waitpid(pid, &status, 0) != pid) {
		perror("ksalloc-demo: waitpid");
		return 0;
	}
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 1;
	fprintf(stderr, "ksalloc-demo: %s failed (status %#x)\n", who, status);
	return 0;
}

int main(void)
{
	struct ksidentifier ev = ident(&set_allocevents,
				       KSEVENT_STREAMALLOCATOR_FREEFRAME,
				       KSEVENT_TYPE_ENABLE);
	struct ksidentifier pa = ident(&set_stream, KSPROPERTY_STREAM_ALLOCATOR,
				       KSPROPERTY_TYPE_SET);
	struct ksidentifier pi = ident(&set_ksalloc,
				       KSPROPERTY_KSALLOC_ALLOCATOR_INFO,
				       KSPROPERTY_TYPE_GET);
	struct ksallocator_create create = {
		.object_type = name_allocator,
		.framing = {
			.pool_type = KS_POOL_NONPAGED,
			.frames = FRAMES,
			.frame_size = FRAME_SIZE,
		},
	};
	struct ksalloc_allocator_info info = { 0 };
	struct kseventdata evdata = { 0 };
	int pin, fd, efd, sv[2], p[2], ret, ok = 1;
	uint64_t frees = 0;
	__s64 handle = -1;
	struct tally *t;
	pid_t prod, cons;
	cpu_set_t cpus;

	/*
	 * Keep both ends on one CPU: in an emulated VM a cross-CPU wake-up
	 * costs milliseconds, and every frame hand-off is one.
	 */
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    pipe2(p, O_CLOEXEC)) {
		perror("ksalloc-demo: setup");
		return 1;
	}
	memset(t, 0, sizeof(*t));

	/* The consumer starts before the allocator exists: it gets it by fd passing. */
	cons = fork();
	if (cons < 0) {
		perror("ksalloc-demo: fork");
		return 1;
	}
	if (cons == 0) {
		close(sv[0]);
		close(p[1]);
		fd = recv_fd(sv[1]);
		if (fd < 0 ||
		    ks_ioctl(fd, IOCTL_KS_PROPERTY, &pi, sizeof(pi), &info,
			     sizeof(info), 0)) {
			fprintf(stderr, "ksalloc-demo: consumer: no allocator fd\n");
			_exit(1);
		}
		_exit(consumer(fd, p[0], info.mmap_size, t));
	}
	close(sv[1]);
	close(p[0]);

	pin = open(KSA_DEV, O_RDWR | O_CLOEXEC);
	if (pin < 0) {
		fprintf(stderr, "ksalloc-demo: open %s: %s\n", KSA_DEV, strerror(errno));
		return 1;
	}
	ret = ks_ioctl(pin, IOCTL_KS_CREATE, &create, sizeof(create), &handle,
		       sizeof(handle), O_CLOEXEC);
	if (ret) {
		fprintf(stderr, "ksalloc-demo: IOCTL_KS_CREATE: %s\n", strerror(-ret));
		return 1;
	}
	fd = (int)handle;
	ret = ks_ioctl(pin, IOCTL_KS_PROPERTY, &pa, sizeof(pa), &handle,
		       sizeof(handle), 0);
	if (ret) {
		fprintf(stderr, "ksalloc-demo: KSPROPERTY_STREAM_ALLOCATOR: %s\n",
			strerror(-ret));
		return 1;
	}
	printf("ksalloc-demo: pin %s, allocator fd %d (%d frames of %d bytes) set on the pin\n",
	       KSA_DEV, fd, FRAMES, FRAME_SIZE);

	/* Count the FREEs: FREEFRAME signals this eventfd once per frame. */
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	evdata.notification_type = KSEVENTF_EVENT_HANDLE;
	evdata.event_handle.event = efd;
	ret = efd < 0 ? -errno : ks_ioctl(fd, IOCTL_KS_ENABLE_EVENT, &ev,
					  sizeof(ev), &evdata, sizeof(evdata), 0);
	if (ret) {
		fprintf(stderr, "ksalloc-demo: FREEFRAME event: %s\n", strerror(-ret));
		return 1;
	}

	if (show_status(fd, "before") ||
	    ks_ioctl(fd, IOCTL_KS_PROPERTY, &pi, sizeof(pi), &info, sizeof(info), 0))
		return 1;
	if (send_fd(sv[0], fd)) {
		perror("ksalloc-demo: sending the allocator fd");
		return 1;
	}
	close(sv[0]);

	prod = fork();
	if (prod < 0) {
		perror("ksalloc-demo: fork");
		return 1;
	}
	if (prod == 0)
		_exit(producer(fd, p[1], info.mmap_size));
	close(p[1]);

	ok &= child_ok(prod, "producer");
	ok &= child_ok(cons, "consumer");
	if (read(efd, &frees, sizeof(frees)) != sizeof(frees))
		frees = 0;

	printf("ksalloc-demo: streamed %llu of %d frames: %llu out of order, %llu corrupt, %llu failed FREEs; FREEFRAME events: %llu\n",
	       (unsigned long long)t->received, COUNT,
	       (unsigned long long)t->out_of_order,
	       (unsigned long long)t->corrupt,
	       (unsigned long long)t->free_errors,
	       (unsigned long long)frees);
	if (show_status(fd, "after") ||
	    ks_ioctl(fd, IOCTL_KS_PROPERTY, &pi, sizeof(pi), &info, sizeof(info), 0))
		return 1;

	ok &= t->received == COUNT && !t->out_of_order && !t->corrupt &&
	      !t->free_errors && frees == COUNT && info.allocated_frames == 0 &&
	      info.waiters == 0;

	ks_ioctl(fd, IOCTL_KS_DISABLE_EVENT, &evdata, sizeof(evdata), NULL, 0, 0);
	close(efd);
	close(fd);
	close(pin);
	munmap(t, sizeof(*t));
	printf("ksalloc-demo: %s\n", ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}
