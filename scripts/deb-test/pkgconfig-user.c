// SPDX-License-Identifier: GPL-2.0
/*
 * A program as a user of the Debian packages writes one: built out of
 * tree against the installed libksalloc-dev, with nothing but
 *
 *	cc pkgconfig-user.c $(pkg-config --cflags --libs ksalloc)
 *
 * (scripts/check-deb.sh builds it so, and once more with -static and
 * pkg-config --static), then run in the test VM against the module that
 * DKMS built from ksalloc-dkms. It goes through the library's main paths
 * and the KS names of ks-compat.h, and prints one TAP line per check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <ks-compat.h>
#include <libksalloc.h>

#define FRAMES		4
#define FRAME_SIZE	4096

static int n, failed;

static void check(int cond, const char *what)
{
	n++;
	if (!cond)
		failed++;
	printf("%sok %d %s\n", cond ? "" : "not ", n, what);
}

int main(void)
{
	KSALLOCATOR_FRAMING framing = {
		.frames = FRAMES, .frame_size = FRAME_SIZE,
	};
	struct ksstreamallocator_status st;
	struct ksa_allocator *a = NULL;
	struct ksa_event *ev = NULL;
	void *frames[FRAMES] = { NULL };
	uint64_t count = 0;
	HANDLE fd = -1;
	NTSTATUS status;
	int pin, ret, i, dmabuf;
	char *map;

	pin = ksa_open_pin();
	check(pin >= 0, "ksa_open_pin: /dev/ksalloc opens");
	if (pin < 0) {
		printf("# %s\n", ksa_strerror(pin));
		return 1;
	}

	/* The KS spelling of ks-compat.h, then libksalloc's object */
	status = KsCreateAllocator(pin, &framing, &fd);
	check(NT_SUCCESS(status) && fd >= 0, "KsCreateAllocator: STATUS_SUCCESS and an fd");
	ret = fd >= 0 ? ksa_allocator_open(fd, KSA_ALLOCATOR_OWN_FD, &a) : -EBADF;
	check(ret == 0 && ksa_allocator_frames(a) == FRAMES &&
	      ksa_allocator_frame_size(a) >= FRAME_SIZE,
	      "ksa_allocator_open: 4 frames of at least 4096 bytes mapped");
	if (ret) {
		printf("# %s\n", ksa_strerror(ret));
		return 1;
	}

	for (i = 0; i < FRAMES; i++) {
		frames[i] = ksa_frame_alloc(a, KSA_FRAME_NONBLOCK);
		if (!frames[i])
			break;
		memset(frames[i], 'a' + i, FRAME_SIZE);
	}
	check(i == FRAMES, "ksa_frame_alloc: every frame of the pool");
	for (ret = 1, i = 0; i < FRAMES; i++)
		ret &= frames[i] && ksa_frame_at(a, ksa_frame_offset(a, frames[i])) == frames[i] &&
		       ((char *)frames[i])[FRAME_SIZE - 1] == 'a' + i;
	check(ret, "frames: distinct offsets, each keeps what was written");
	errno = 0;
	check(!ksa_frame_alloc(a, KSA_FRAME_NONBLOCK) && errno == EAGAIN &&
	      !strncmp(ksa_strerror(-EAGAIN), "STATUS_PENDING", 14),
	      "pool empty: EAGAIN, STATUS_PENDING");
	ret = ksa_allocator_status(ksa_allocator_fd(a), &st);
	check(ret == 0 && st.allocated_frames == FRAMES && st.framing.frames == FRAMES,
	      "ksa_allocator_status: 4 frames allocated");

	/* A frame as a dma-buf: the same memory */
	dmabuf = ksa_frame_export(a, frames[2]);
	map = dmabuf >= 0 ? mmap(NULL, FRAME_SIZE, PROT_READ, MAP_SHARED, dmabuf, 0) : MAP_FAILED;
	check(map != MAP_FAILED && map[0] == 'c' && map[FRAME_SIZE - 1] == 'c',
	      "ksa_frame_export: the dma-buf maps the frame's bytes");
	if (map != MAP_FAILED)
		munmap(map, FRAME_SIZE);

	/* FREEFRAME: freeing a frame signals the eventfd */
	ret = ksa_freeframe_enable(ksa_allocator_fd(a), 0, &ev);
	check(ret == 0, "ksa_freeframe_enable");
	check(ksa_frame_free(a, frames[0]) == 0, "ksa_frame_free");
	frames[0] = NULL;
	ret = ev ? ksa_event_wait(ev, 5000, &count) : -EINVAL;
	check(ret == 0 && count == 1, "ksa_event_wait: one FREEFRAME");
	ksa_event_disable(ev);

	/* The exported frame returns when it is freed and its dma-buf closed */
	for (i = 1; i < FRAMES; i++)
		ksa_frame_free(a, frames[i]);
	if (dmabuf >= 0)
		close(dmabuf);
	ret = ksa_allocator_status(ksa_allocator_fd(a), &st);
	check(ret == 0 && st.allocated_frames == 0, "all frames back in the pool");
	ksa_allocator_close(a);
	close(pin);

	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
