// SPDX-License-Identifier: GPL-2.0
/*
 * epoll-producer: an event-driven producer that never blocks in ALLOC.
 *
 * The allocator is created O_NONBLOCK, so ALLOC fails with EAGAIN
 * (STATUS_PENDING) when every frame is out. Instead of sleeping in the
 * kernel, the producer registers the allocator fd with epoll,
 * edge-triggered: the allocator is readable (EPOLLIN) while it has a free
 * frame, and becomes readable again, one edge, when a frame comes back.
 * So the loop is: allocate until EAGAIN, then wait for EPOLLIN, repeat.
 * The same epoll set carries a signalfd, as a real event loop would,
 * so SIGINT ends the run cleanly.
 *
 * The frames go to a consumer process (the "device") over a pipe as
 * offsets; it checks each one, holds a few at a time so that the pool runs
 * dry regularly, and frees them in its own mapping of the allocator.
 *
 * Usage: epoll-producer [-n FRAMES] [-c COUNT]
 * Exits 0 when every frame came back intact and the pool ended empty; it
 * prints how often ALLOC found the pool empty and epoll_wait() woke.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include <libksalloc.h>

#define END_OF_STREAM	UINT64_MAX
/* Frames the consumer holds before it frees the oldest */
#define HOLD		3

static const char *prog = "epoll-producer";

static void die(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, ksa_strerror(err));
	exit(1);
}

static void die_sys(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, strerror(-err));
	exit(1);
}

static uint64_t pattern(uint64_t seq, unsigned int word)
{
	return seq * 0x9e3779b97f4a7c15ull ^ word;
}

/* The consumer: check, hold HOLD frames, free the oldest; 0 if all good */
static int consume(struct ksa_allocator *a, int in)
{
	uint64_t held[HOLD], off, seq = 0;
	unsigned int nheld = 0, i, words = ksa_allocator_frame_size(a) / 8;
	uint64_t *w;
	int bad = 0;

	for (;;) {
		if (read(in, &off, sizeof(off)) != sizeof(off)) {
			fprintf(stderr, "%s: consumer: the stream broke\n", prog);
			return 1;
		}
		if (off != END_OF_STREAM) {
			w = ksa_frame_at(a, off);
			if (!w)
				return 1;
			for (i = 0; i < words; i++)
				if (w[i] != pattern(seq, i))
					bad = 1;
			seq++;
			held[nheld++] = off;
		}
		/* Free the oldest once HOLD are held, and everything at the end */
		while (nheld && (nheld == HOLD || off == END_OF_STREAM)) {
			if (ksa_frame_free(a, ksa_frame_at(a, held[0])))
				return 1;
			memmove(held, held + 1, --nheld * sizeof(held[0]));
		}
		if (off == END_OF_STREAM)
			return bad;
	}
}

int main(int argc, char **argv)
{
	uint64_t count = 2000, produced = 0, waits = 0, eagain = 0, off;
	struct epoll_event ev, got[2];
	struct ksstreamallocator_status st;
	struct ksallocator_framing f = { .pool_type = KS_POOL_NONPAGED };
	struct ksa_allocator *a;
	unsigned int frames = 4, i, words;
	int pin, ep, sfd, pipefd[2], ret, opt, status, n, stop = 0;
	sigset_t mask;
	uint64_t *w;
	pid_t pid;

	while ((opt = getopt(argc, argv, "n:c:")) != -1) {
		switch (opt) {
		case 'n':
			frames = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			count = strtoull(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: %s [-n FRAMES] [-c COUNT]\n", prog);
			return 2;
		}
	}
	if (frames <= HOLD || !count) {
		fprintf(stderr, "%s: need more than %d frames and a count\n",
			prog, HOLD);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	pin = ksa_open_pin();
	if (pin < 0)
		die_sys("opening /dev/ksalloc (is the ksalloc module loaded?)", pin);
	f.frames = frames;
	f.frame_size = 4096;
	/* O_NONBLOCK: ALLOC says STATUS_PENDING instead of sleeping */
	ret = ksa_allocator_create(pin, &f, O_NONBLOCK, &a);
	close(pin);
	if (ret)
		die("KsCreateAllocator", ret);
	words = ksa_allocator_frame_size(a) / 8;
	printf("producer: allocator %" PRIu64 ", %u frames, O_NONBLOCK\n",
	       ksa_allocator_id(a), frames);

	if (pipe2(pipefd, O_CLOEXEC))
		die_sys("pipe", -errno);
	pid = fork();
	if (pid < 0)
		die_sys("fork", -errno);
	if (pid == 0) {
		/* the mapping and the fd came along with fork() */
		close(pipefd[1]);
		_exit(consume(a, pipefd[0]));
	}
	close(pipefd[0]);

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die_sys("epoll_create1", -errno);
	ev.events = EPOLLIN | EPOLLET;
	ev.data.fd = ksa_allocator_fd(a);
	if (epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev))
		die_sys("epoll_ctl (allocator)", -errno);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		die_sys("signalfd", -errno);
	ev.events = EPOLLIN;
	ev.data.fd = sfd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev))
		die_sys("epoll_ctl (signalfd)", -errno);

	while (produced < count && !stop) {
		w = ksa_frame_alloc(a, 0);
		if (!w) {
			if (errno != EAGAIN)
				die("ALLOC", -errno);
			/*
			 * Empty. Edge-triggered is safe here: we saw EAGAIN,
			 * so the next free is a new edge.
			 */
			eagain++;
			n = epoll_wait(ep, got, 2, -1);
			if (n < 0 && errno != EINTR)
				die_sys("epoll_wait", -errno);
			waits++;
			for (i = 0; i < (unsigned int)(n > 0 ? n : 0); i++) {
				if (got[i].data.fd == sfd)
					stop = 1;
				else if (got[i].events & EPOLLERR)
					die("the allocator is being reset", -ECANCELED);
			}
			continue;
		}
		for (i = 0; i < words; i++)
			w[i] = pattern(produced, i);
		off = ksa_frame_offset(a, w);
		if (write(pipefd[1], &off, sizeof(off)) != sizeof(off))
			die_sys("write", -EPIPE);
		produced++;
	}
	off = END_OF_STREAM;
	if (write(pipefd[1], &off, sizeof(off)) != sizeof(off))
		die_sys("write", -EPIPE);
	close(pipefd[1]);
	waitpid(pid, &status, 0);

	ret = ksa_allocator_status(ksa_allocator_fd(a), &st);
	if (ret)
		die("KSPROPERTY_STREAMALLOCATOR_STATUS", ret);
	printf("producer: %" PRIu64 " frames produced%s; ALLOC said STATUS_PENDING "
	       "%" PRIu64 " times, epoll_wait woke %" PRIu64 " times\n",
	       produced, stop ? " (interrupted)" : "", eagain, waits);
	printf("consumer: %s\n", WIFEXITED(status) && !WEXITSTATUS(status) ?
	       "every frame intact" : "FAILED");
	printf("allocator: %u frames allocated at the end\n", st.allocated_frames);
	close(sfd);
	close(ep);
	ksa_allocator_close(a);
	return WIFEXITED(status) && !WEXITSTATUS(status) && !stop &&
	       produced == count && st.allocated_frames == 0 ? 0 : 1;
}
