// SPDX-License-Identifier: GPL-2.0
/*
 * pipeline: a KS-style two-process stream, set up by a third process.
 *
 * The graph manager does what a KS graph builder does for a connection:
 *
 *   1. opens the two pins of the connection, the source (output) pin and
 *      the sink (input) pin: two opens of /dev/ksalloc;
 *   2. reads the sink pin's framing requirements
 *      (KSPROPERTY_CONNECTION_ALLOCATORFRAMING), makes them its allocator
 *      framing (clearing PREFERENCES_ONLY, as KS clients do) and creates
 *      the allocator relative to the sink pin (KsCreateAllocator);
 *   3. gives it to the source pin (KSPROPERTY_STREAM_ALLOCATOR), which
 *      keeps a reference of its own, and sets both pins to KSSTATE_RUN;
 *   4. hands the producer the source pin and the allocator, and the
 *      consumer the sink pin and the allocator, over Unix sockets
 *      (SCM_RIGHTS), plus the two ends of a socket for the frames;
 *   5. counts the frees with KSEVENT_STREAMALLOCATOR_FREEFRAME on an
 *      eventfd, and prints the allocator's status at the end.
 *
 * The producer allocates frames (sleeping while the pool is empty), fills
 * each with a sequence number, a payload and its checksum through its own
 * mapping of the allocator, and sends the frame's offset to the consumer.
 * The consumer maps the same allocator, checks every frame and frees it.
 * Offsets, not pointers, cross the process boundary: each process maps
 * the frames at its own address.
 *
 * Usage: pipeline [-n FRAMES] [-s FRAME_SIZE] [-c COUNT]
 * Exits 0 when every frame arrived intact and in order, the FREEFRAME
 * event counted every free, and the pool ended empty.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <libksalloc.h>

#define END_OF_STREAM	UINT64_MAX
#define MAX_FDS		3

struct frame_header {
	uint64_t seq;
	uint32_t len;		/* payload bytes after the header */
	uint32_t checksum;	/* FNV-1a of the payload */
};

/* What each stage reports to the manager at the end */
struct report {
	uint64_t frames;
	uint64_t bad;
	uint64_t allocator_id;	/* as the stage's own fd sees it */
	int error;		/* -errno of the first failure, or 0 */
};

static const char *prog = "pipeline";

/* A KS request failed: name its KS status */
static void die(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, ksa_strerror(err));
	exit(1);
}

/* Anything else failed */
static void die_sys(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(-err));
	exit(1);
}

static uint32_t fnv1a(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;

	while (len--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

/* Deterministic bytes for frame @seq (xorshift), so damage shows */
static void fill_payload(uint8_t *p, size_t len, uint64_t seq)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ull + 1;

	while (len--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*p++ = (uint8_t)x;
	}
}

/* ---- SCM_RIGHTS -------------------------------------------------------- */

static int send_fds(int sock, const int *fds, int n)
{
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = CMSG_SPACE(sizeof(int) * n),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	memset(u.buf, 0, sizeof(u.buf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

static int recv_fds(int sock, int *fds, int n)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -EPROTO;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int) * n))
		return -EPROTO;
	memcpy(fds, CMSG_DATA(c), sizeof(int) * n);
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

/* ---- the two stages ---------------------------------------------------- */

/*
 * Both stages start with the same three fds from the manager: their pin,
 * the allocator, their end of the frame socket.
 */
static struct ksa_allocator *stage_setup(int ctl, const char *name, int *pin,
					 int *data, struct report *r)
{
	struct ksa_allocator *a;
	int fds[3], ret, from_pin;
	struct ksalloc_allocator_info info;

	ret = recv_fds(ctl, fds, 3);
	if (ret)
		die_sys("receiving the fds", ret);
	*pin = fds[0];
	*data = fds[2];
	ret = ksa_allocator_open(fds[1], KSA_ALLOCATOR_OWN_FD, &a);
	if (ret)
		die("mapping the allocator", ret);
	r->allocator_id = ksa_allocator_id(a);

	/*
	 * The source pin was given the allocator: it hands out an fd of its
	 * own for it (the same allocator); the sink pin has none.
	 */
	ret = ksa_pin_get_allocator(*pin, O_CLOEXEC, &from_pin);
	if (!ret) {
		ret = ksa_allocator_info(from_pin, &info);
		close(from_pin);
		if (ret || info.id != r->allocator_id)
			die("the pin's allocator is another one", ret ?: -EPROTO);
		printf("%s: pin holds allocator %" PRIu64 " too\n", name,
		       r->allocator_id);
	} else if (ret != -ENOENT) {
		die("asking the pin for its allocator", ret);
	}
	return a;
}

static int producer(int ctl, uint64_t count)
{
	struct report r = { 0 };
	struct ksa_allocator *a;
	struct frame_header *h;
	uint32_t state;
	uint64_t seq, off;
	int pin, data, ret;

	a = stage_setup(ctl, "producer", &pin, &data, &r);
	ret = ksa_pin_get_state(pin, &state);
	if (ret || state != KSSTATE_RUN)
		die("the source pin is not running", ret ?: -EPROTO);

	for (seq = 0; seq < count; seq++) {
		/* Sleeps while the consumer holds every frame */
		h = ksa_frame_alloc(a, 0);
		if (!h) {
			r.error = -errno;
			break;
		}
		h->seq = seq;
		h->len = ksa_allocator_frame_size(a) - sizeof(*h);
		fill_payload((uint8_t *)(h + 1), h->len, seq);
		h->checksum = fnv1a((uint8_t *)(h + 1), h->len);
		off = ksa_frame_offset(a, h);
		ret = write_all(data, &off, sizeof(off));
		if (ret) {
			r.error = ret;
			ksa_frame_free(a, h);
			break;
		}
		r.frames++;
	}
	off = END_OF_STREAM;
	write_all(data, &off, sizeof(off));
	write_all(ctl, &r, sizeof(r));
	close(data);
	close(pin);
	ksa_allocator_close(a);
	return r.error ? 1 : 0;
}

static int consumer(int ctl)
{
	struct report r = { 0 };
	struct ksa_allocator *a;
	struct frame_header *h;
	uint64_t off, want = 0;
	int pin, data, ret;

	a = stage_setup(ctl, "consumer", &pin, &data, &r);
	for (;;) {
		ret = read_all(data, &off, sizeof(off));
		if (ret) {
			r.error = ret;
			break;
		}
		if (off == END_OF_STREAM)
			break;
		h = ksa_frame_at(a, off);
		if (!h) {
			r.error = -EINVAL;
			break;
		}
		if (h->seq != want++ ||
		    h->len != ksa_allocator_frame_size(a) - sizeof(*h) ||
		    h->checksum != fnv1a((uint8_t *)(h + 1), h->len))
			r.bad++;
		/* Scribble, so a frame handed out twice would show */
		memset(h, 0xee, sizeof(*h));
		ret = ksa_frame_free(a, h);
		if (ret) {
			r.error = ret;
			break;
		}
		r.frames++;
	}
	write_all(ctl, &r, sizeof(r));
	close(data);
	close(pin);
	ksa_allocator_close(a);
	return r.error ? 1 : 0;
}

/* ---- the graph manager ------------------------------------------------- */

static pid_t start_stage(int *ctl, int (*fn)(int, uint64_t), uint64_t count)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die_sys("socketpair", -errno);
	pid = fork();
	if (pid < 0)
		die_sys("fork", -errno);
	if (pid == 0) {
		close(sv[0]);
		_exit(fn(sv[1], count));
	}
	close(sv[1]);
	*ctl = sv[0];
	return pid;
}

static int run_producer(int ctl, uint64_t count)
{
	return producer(ctl, count);
}

static int run_consumer(int ctl, uint64_t count)
{
	return consumer(ctl);
}

static void usage(void)
{
	fprintf(stderr, "usage: %s [-n FRAMES] [-s FRAME_SIZE] [-c COUNT]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	uint32_t frames = 4, frame_size = 4096;
	uint64_t count = 1000, freed = 0, n;
	struct ksstreamallocator_status st;
	struct ksalloc_allocator_info info;
	struct ksallocator_framing f;
	struct report rp, rc;
	struct ksa_event *ev;
	int source, sink, alloc, data[2], fds[3];
	int pctl, cctl, ret, opt, ok, status[2];
	pid_t ppid, cpid;

	while ((opt = getopt(argc, argv, "n:s:c:")) != -1) {
		switch (opt) {
		case 'n':
			frames = strtoul(optarg, NULL, 0);
			break;
		case 's':
			frame_size = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			count = strtoull(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || !frames || frame_size < 64 || !count)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* The stages first: they inherit nothing but their socket */
	ppid = start_stage(&pctl, run_producer, count);
	cpid = start_stage(&cctl, run_consumer, count);

	/* 1. the connection's two pins */
	source = ksa_open_pin();
	if (source < 0)
		die_sys("opening the source pin (is the ksalloc module loaded?)", source);
	sink = ksa_open_pin();
	if (sink < 0)
		die_sys("opening the sink pin", sink);

	/* 2. the sink's requirements become the allocator's framing */
	ret = ksa_pin_get_framing(sink, &f);
	if (ret)
		die("KSPROPERTY_CONNECTION_ALLOCATORFRAMING", ret);
	printf("manager: sink pin asks for %u frames of %u bytes (flags %#x)\n",
	       f.frames, f.frame_size, f.requirements_flags);
	f.frames = frames;
	f.frame_size = frame_size;
	f.options_flags = f.requirements_flags &
			  ~KSALLOCATOR_REQUIREMENTF_PREFERENCES_ONLY;
	ret = ksa_create_allocator(sink, &f, O_CLOEXEC, &alloc);
	if (ret)
		die("KsCreateAllocator", ret);
	ret = ksa_allocator_info(alloc, &info);
	if (ret)
		die("KSPROPERTY_KSALLOC_ALLOCATOR_INFO", ret);
	printf("manager: allocator %" PRIu64 ": %u frames of %u bytes\n",
	       (uint64_t)info.id, info.frames, info.frame_size);

	/* 3. the source pin takes it; then both run */
	ret = ksa_pin_set_allocator(source, alloc);
	if (ret)
		die("KSPROPERTY_STREAM_ALLOCATOR", ret);
	ret = ksa_pin_set_state(source, KSSTATE_RUN);
	if (!ret)
		ret = ksa_pin_set_state(sink, KSSTATE_RUN);
	if (ret)
		die("KSPROPERTY_CONNECTION_STATE", ret);

	/* 5. (before any frame moves) count the frees */
	ret = ksa_freeframe_enable(alloc, 0, &ev);
	if (ret)
		die("KSEVENT_STREAMALLOCATOR_FREEFRAME", ret);

	/* 4. hand out the objects */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, data))
		die_sys("socketpair", -errno);
	fds[0] = source;
	fds[1] = alloc;
	fds[2] = data[0];
	ret = send_fds(pctl, fds, 3);
	fds[0] = sink;
	fds[2] = data[1];
	if (!ret)
		ret = send_fds(cctl, fds, 3);
	if (ret)
		die_sys("sending the fds", ret);
	close(data[0]);
	close(data[1]);
	printf("manager: streaming %" PRIu64 " frames\n", count);

	memset(&rp, 0, sizeof(rp));
	memset(&rc, 0, sizeof(rc));
	if (read_all(pctl, &rp, sizeof(rp)))
		rp.error = -EPIPE;
	if (read_all(cctl, &rc, sizeof(rc)))
		rc.error = -EPIPE;
	waitpid(ppid, &status[0], 0);
	waitpid(cpid, &status[1], 0);

	/* Every free was signalled; read what has come (at most a wait) */
	while (freed < rc.frames && !ksa_event_wait(ev, 5000, &n))
		freed += n;
	ksa_event_disable(ev);

	ret = ksa_allocator_status(alloc, &st);
	if (!ret)
		ret = ksa_allocator_info(alloc, &info);
	if (ret)
		die("KSPROPERTY_STREAMALLOCATOR_STATUS", ret);
	printf("producer: %" PRIu64 " frames sent%s%s\n", rp.frames,
	       rp.error ? ", stopped: " : "", rp.error ? ksa_strerror(rp.error) : "");
	printf("consumer: %" PRIu64 " frames checked, %" PRIu64 " bad%s%s\n",
	       rc.frames, rc.bad, rc.error ? ", stopped: " : "",
	       rc.error ? ksa_strerror(rc.error) : "");
	printf("manager: FREEFRAME counted %" PRIu64 " frees\n", freed);
	printf("manager: allocator status: %u of %u frames allocated, "
	       "at most %u at once, %u waiters\n", st.allocated_frames,
	       st.framing.frames, info.high_water, info.waiters);

	ok = !rp.error && !rc.error && !rc.bad && rp.frames == count &&
	     rc.frames == count && freed == count &&
	     st.allocated_frames == 0 && info.high_water <= frames &&
	     rp.allocator_id == info.id && rc.allocator_id == info.id &&
	     WIFEXITED(status[0]) && !WEXITSTATUS(status[0]) &&
	     WIFEXITED(status[1]) && !WEXITSTATUS(status[1]);

	/* The source pin's reference goes with the null handle (STOP first) */
	ksa_pin_set_state(source, KSSTATE_STOP);
	ret = ksa_pin_set_allocator(source, -1);
	if (ret)
		die("dropping the source pin's allocator", ret);
	close(alloc);
	close(source);
	close(sink);
	close(pctl);
	close(cctl);
	printf("manager: %s\n", ok ? "every frame arrived intact and in order"
				   : "FAILED");
	return ok ? 0 : 1;
}
