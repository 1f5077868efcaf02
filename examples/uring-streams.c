// SPDX-License-Identifier: GPL-2.0
/*
 * uring-streams: one thread streaming through several allocators with no
 * call that blocks, the way KS clients use overlapped ALLOCs.
 *
 * Each stream has its own allocator of a few frames and keeps more
 * ALLOCs in flight than it has frames: those the pool cannot serve wait
 * in the kernel (STATUS_PENDING) and complete when a frame is freed.
 * The loop reaps completions from one io_uring: a frame that arrives is
 * filled, checked as a consumer would and freed through the same ring,
 * and that FREE completes the stream's next waiting ALLOC. The only
 * place the thread waits is ksa_ring_reap(), for whatever completes
 * next on any stream.
 *
 * At the end no new ALLOC is sent; each frame that still arrives is
 * freed at once, which completes the next waiting ALLOC, until nothing
 * is in flight and every pool is empty again.
 *
 * Usage: uring-streams [-s STREAMS] [-n FRAMES] [-d DEPTH] [-c COUNT]
 * Exits 0 when every frame came back intact and every pool ended empty.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libksalloc.h>

#define MAX_STREAMS	8

static const char *prog = "uring-streams";

struct stream {
	struct ksa_allocator *a;
	unsigned int id;
	uint64_t produced;	/* frames filled and freed */
	unsigned int in_flight;	/* ALLOCs sent, not completed */
};

static void die(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, ksa_strerror(err));
	exit(1);
}

static uint64_t pattern(unsigned int stream, uint64_t seq, size_t word)
{
	return ((uint64_t)stream << 56 | seq) * 0x9e3779b97f4a7c15ull ^ word;
}

/* Produce into the frame, then check it as the consumer would */
static int fill_and_check(struct stream *s, void *frame)
{
	size_t words = ksa_allocator_frame_size(s->a) / sizeof(uint64_t), i;
	uint64_t *p = frame;

	for (i = 0; i < words; i++)
		p[i] = pattern(s->id, s->produced, i);
	for (i = 0; i < words; i++)
		if (p[i] != pattern(s->id, s->produced, i))
			return -1;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: %s [-s STREAMS] [-n FRAMES] [-d DEPTH] [-c COUNT]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned int nstreams = 3, frames = 2, depth = 4, count = 200;
	struct ksallocator_framing framing;
	struct stream streams[MAX_STREAMS];
	struct ksa_completion c[16];
	struct ksa_ring *ring;
	uint64_t waits = 0, total = 0;
	unsigned int i, busy;
	int opt, pin, n, ret;

	while ((opt = getopt(argc, argv, "s:n:d:c:")) != -1) {
		switch (opt) {
		case 's':
			nstreams = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			frames = strtoul(optarg, NULL, 0);
			break;
		case 'd':
			depth = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			count = strtoul(optarg, NULL, 0);
			break;
		default:
			usage();
		}
	}
	if (!nstreams || nstreams > MAX_STREAMS || !frames || !depth ||
	    depth > 64)
		usage();

	pin = ksa_open_pin();
	if (pin < 0)
		die("open the pin", pin);
	ret = ksa_ring_create(64, 0, &ring);
	if (ret)
		die("create the ring", ret);
	for (i = 0; i < nstreams; i++) {
		memset(&framing, 0, sizeof(framing));
		framing.options_flags = KSALLOCATOR_OPTIONF_SYSTEM_MEMORY;
		framing.pool_type = KS_POOL_NONPAGED;
		framing.frames = frames;
		/* Streams of different frame sizes, as in a real graph */
		framing.frame_size = 4096 * (i + 1) - 64 * i;
		ret = ksa_allocator_create(pin, &framing, 0, &streams[i].a);
		if (ret)
			die("create an allocator", ret);
		streams[i].id = i;
		streams[i].produced = 0;
		streams[i].in_flight = 0;
	}

	/* More ALLOCs in flight than frames: the rest wait in the kernel. */
	for (i = 0; i < nstreams; i++) {
		for (; streams[i].in_flight < depth; streams[i].in_flight++) {
			ret = ksa_ring_alloc(ring, streams[i].a, 0, i);
			if (ret)
				die("ALLOC", ret);
		}
	}

	do {
		n = ksa_ring_reap(ring, c, sizeof(c) / sizeof(c[0]), -1);
		if (n < 0)
			die("reap", n);
		for (i = 0; i < (unsigned int)n; i++) {
			struct stream *s = &streams[c[i].tag];

			if (c[i].result)
				die(c[i].op == KSA_RING_ALLOC ? "ALLOC" :
				    "FREE", c[i].result);
			if (c[i].op == KSA_RING_FREE)
				continue;
			s->in_flight--;
			if (s->produced < count) {
				if (fill_and_check(s, c[i].frame)) {
					fprintf(stderr, "%s: stream %u: frame "
						"%" PRIu64 " corrupted\n",
						prog, s->id, s->produced);
					return 1;
				}
				s->produced++;
				total++;
			}
			/* Freeing completes this stream's next waiter. */
			ret = ksa_ring_free(ring, s->a, c[i].frame, s->id);
			if (ret)
				die("FREE", ret);
			if (s->produced + s->in_flight < count) {
				ret = ksa_ring_alloc(ring, s->a, 0, s->id);
				if (ret)
					die("ALLOC", ret);
				s->in_flight++;
			}
		}
		busy = 0;
		for (i = 0; i < nstreams; i++) {
			struct ksalloc_allocator_info info;

			busy |= streams[i].in_flight;
			if (!ksa_allocator_info(ksa_allocator_fd(streams[i].a),
						&info))
				waits += info.waiters;
		}
	} while (busy);

	/* The last FREEs' completions, then every pool must be empty. */
	while ((n = ksa_ring_reap(ring, c, sizeof(c) / sizeof(c[0]), 0)) > 0)
		;
	ret = 0;
	for (i = 0; i < nstreams; i++) {
		struct ksstreamallocator_status st;

		if (ksa_allocator_status(ksa_allocator_fd(streams[i].a), &st) ||
		    st.allocated_frames) {
			fprintf(stderr, "%s: stream %u: %u frames left\n",
				prog, i, st.allocated_frames);
			ret = 1;
		}
		printf("stream %u: %" PRIu64 " frames of %u bytes\n", i,
		       streams[i].produced,
		       ksa_allocator_frame_size(streams[i].a));
		ksa_allocator_close(streams[i].a);
	}
	printf("%" PRIu64 " frames through %u allocators of %u frames, %u "
	       "ALLOCs in flight each; waiting ALLOCs seen %" PRIu64 " times\n",
	       total, nstreams, frames, depth, waits);
	ksa_ring_close(ring);
	close(pin);
	return ret;
}
