/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libksalloc: the user-space face of ksalloc, Kernel Streaming (KS) stream
 * allocators for Linux.
 *
 * The ABI is <linux/ksalloc.h>; this library only takes the boilerplate
 * out of it, in the shape KS code already has:
 *
 *   KS (Windows)                      libksalloc
 *   CreateFile(pin name)              ksa_open_pin()
 *   KsCreateAllocator()               ksa_create_allocator()
 *   KsCreateAllocator2() (framing ex) ksa_create_allocator_ex()
 *   KsSynchronousDeviceControl(       ksa_property(), ksa_method(),
 *     IOCTL_KS_PROPERTY/METHOD/...)     ksa_enable_event(), ...
 *   ALLOC / FREE methods              ksa_frame_alloc(), ksa_frame_free()
 *   (frames as dma-bufs)              ksa_frame_export(),
 *                                     ksa_frame_alloc_dmabuf()
 *   KSEVENT_STREAMALLOCATOR_FREEFRAME ksa_freeframe_enable(), ksa_event_wait()
 *   overlapped ALLOC (STATUS_PENDING) ksa_ring_alloc(), ksa_ring_reap()
 *   NTSTATUS                          negative errno; ksa_strerror() names
 *                                     the KS status (see <ks-compat.h>)
 *
 * Conventions
 *   - Functions returning int return 0 (or a count, or an fd) on success
 *     and a negative errno on failure, the table in <linux/ksalloc.h>:
 *     -EOVERFLOW is STATUS_BUFFER_OVERFLOW, -EAGAIN is STATUS_PENDING, ...
 *     errno itself is left alone by them.
 *   - Functions returning a pointer return NULL on failure and set errno
 *     (positive, as usual for errno).
 *   - Set GUIDs are passed by address; KSA_GUID(KSPROPSETID_Stream) makes
 *     one from the initializer macros of the uapi header.
 *   - Nothing here keeps global state; everything is thread-safe as long
 *     as an object is not closed while another thread uses it.
 */
#ifndef _LIBKSALLOC_H
#define _LIBKSALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <linux/ksalloc.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KSA_LIB_VERSION_MAJOR	0
#define KSA_LIB_VERSION_MINOR	1

/* The device node; the environment variable KSALLOC_DEVICE overrides it. */
#define KSA_DEVICE_PATH		"/dev/ksalloc"

/* A const struct ksguid * from a set initializer: KSA_GUID(KSPROPSETID_Stream) */
#define KSA_GUID(init)		(&(const struct ksguid)init)

/* ------------------------------------------------------------------ */
/* Pins and raw requests                                              */

/*
 * ksa_open_pin() - open a pin (a KS connection point): a new open of
 * /dev/ksalloc (or $KSALLOC_DEVICE), O_RDWR | O_CLOEXEC.
 * Returns the fd, or -errno: -ENOENT when the node does not exist (the
 * module is not loaded), -EACCES, ...
 */
int ksa_open_pin(void);
/* The same for another node or with other open(2) flags (O_CLOEXEC is
 * not added). */
int ksa_open_pin_path(const char *path, int open_flags);

/*
 * ksa_request() - one KS ioctl: DeviceIoControl() in one call.
 * @cmd is IOCTL_KS_*; @open_flags is ks_ioctl_args.open_flags (O_CLOEXEC,
 * O_NONBLOCK, only where a request returns an fd). @returned, if not NULL,
 * gets bytes_returned, also on -EOVERFLOW (the size needed).
 */
int ksa_request(int fd, unsigned long cmd, const void *in, uint32_t in_size,
		void *out, uint32_t out_size, uint32_t open_flags,
		uint32_t *returned);

/*
 * ksa_property(), ksa_method() - a property or method request with a
 * plain KSIDENTIFIER as input. @data carries the value in both directions
 * (KS convention); @returned as for ksa_request(). A @size of 0 with a
 * NULL @data is a size query: -EOVERFLOW and *returned = size needed.
 */
int ksa_property(int fd, const struct ksguid *set, uint32_t id, uint32_t flags,
		 void *data, uint32_t size, uint32_t *returned);
int ksa_method(int fd, const struct ksguid *set, uint32_t id, uint32_t flags,
	       void *data, uint32_t size, uint32_t *returned);

/*
 * The size-query dance done for you: ask with an empty buffer, allocate
 * what the kernel says it needs (bytes_returned with -EOVERFLOW), ask
 * again (repeating if the size grew meanwhile). On success *data is a
 * malloc()ed buffer of *size bytes (NULL if the value is empty) that the
 * caller frees.
 */
int ksa_property_alloc(int fd, const struct ksguid *set, uint32_t id,
		       uint32_t flags, void **data, uint32_t *size);
int ksa_method_alloc(int fd, const struct ksguid *set, uint32_t id,
		     uint32_t flags, void **data, uint32_t *size);

/*
 * ksa_enable_event() - IOCTL_KS_ENABLE_EVENT. @data must stay at the same
 * address until the event is disabled: KS identifies an event by the
 * address of its KSEVENTDATA. @flags is KSEVENT_TYPE_ENABLE or _ONESHOT.
 * ksa_disable_event() - IOCTL_KS_DISABLE_EVENT for that @data, or for
 * every event of the object when @data is NULL.
 */
int ksa_enable_event(int fd, const struct ksguid *set, uint32_t id,
		     uint32_t flags, struct kseventdata *data);
int ksa_disable_event(int fd, const struct kseventdata *data);

/* ksa_reset_state() - IOCTL_KS_RESET_STATE with KSRESET_BEGIN or _END */
int ksa_reset_state(int fd, uint32_t reset);

/* Which request kind a support query is about */
enum ksa_kind {
	KSA_KIND_PROPERTY,
	KSA_KIND_METHOD,
	KSA_KIND_EVENT,
};

/*
 * ksa_set_supported() - SETSUPPORT: 0 if the object has @set, -ENOENT if
 * not. ksa_supported_sets() - SETSUPPORT with GUID_NULL: the list of sets
 * (malloc()ed, *count entries; free() it).
 */
int ksa_set_supported(int fd, enum ksa_kind kind, const struct ksguid *set);
int ksa_supported_sets(int fd, enum ksa_kind kind, struct ksguid **sets,
		       unsigned int *count);
/*
 * ksa_basic_support() - BASICSUPPORT of an item: its KS*_TYPE_* access
 * flags and, for properties and methods, its description (either pointer
 * may be NULL). Events answer only with success: *access is then 0.
 */
int ksa_basic_support(int fd, enum ksa_kind kind, const struct ksguid *set,
		      uint32_t id, uint32_t *access,
		      struct ksproperty_description *desc);

/* ------------------------------------------------------------------ */
/* Allocators by fd                                                   */

/*
 * ksa_create_allocator() - KsCreateAllocator(): a new allocator from
 * @pin with @framing. @open_flags: O_CLOEXEC and/or O_NONBLOCK (the
 * allocator's ALLOC then fails with -EAGAIN instead of sleeping).
 * On success *allocator_fd is the new fd.
 * ksa_create_allocator_ex() - the same from a KSALLOCATOR_FRAMING_EX of
 * framing_ex->count_items items (KSNAME_AllocatorEx).
 * ksa_create_allocator_flags() - the same with ksalloc's creation flags
 * (KSNAME_KsallocAllocator): KSALLOC_CREATEF_CONTIGUOUS for physically
 * contiguous frames (-E2BIG above the largest buddy block).
 */
int ksa_create_allocator(int pin, const struct ksallocator_framing *framing,
			 uint32_t open_flags, int *allocator_fd);
int ksa_create_allocator_flags(int pin,
			       const struct ksallocator_framing *framing,
			       uint32_t create_flags, uint32_t open_flags,
			       int *allocator_fd);
int ksa_create_allocator_ex(int pin,
			    const struct ksallocator_framing_ex *framing_ex,
			    uint32_t open_flags, int *allocator_fd);

/* KSPROPERTY_STREAMALLOCATOR_STATUS and KSPROPERTY_KSALLOC_ALLOCATOR_INFO */
int ksa_allocator_status(int allocator_fd, struct ksstreamallocator_status *st);
int ksa_allocator_info(int allocator_fd, struct ksalloc_allocator_info *info);

/* ------------------------------------------------------------------ */
/* Pin properties                                                     */

/*
 * ksa_pin_set_allocator() - KSPROPERTY_STREAM_ALLOCATOR Set: the pin keeps
 * a reference on the allocator (KS_NULL_HANDLE drops it). Only in
 * KSSTATE_STOP (-EBUSY otherwise).
 * ksa_pin_get_allocator() - a new fd for the allocator the pin was given
 * (KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD; the KS property itself answers
 * Get with the null handle, as a handle is per process). -ENOENT if none.
 * @open_flags may hold O_CLOEXEC.
 */
int ksa_pin_set_allocator(int pin, int allocator_fd);
int ksa_pin_get_allocator(int pin, uint32_t open_flags, int *allocator_fd);
/* KSPROPERTY_CONNECTION_STATE: KSSTATE_STOP .. KSSTATE_RUN */
int ksa_pin_set_state(int pin, uint32_t state);
int ksa_pin_get_state(int pin, uint32_t *state);
/* KSPROPERTY_CONNECTION_ALLOCATORFRAMING: the pin's requirements */
int ksa_pin_set_framing(int pin, const struct ksallocator_framing *framing);
int ksa_pin_get_framing(int pin, struct ksallocator_framing *framing);
/* KSPROPERTY_CONNECTION_ALLOCATORFRAMING_EX: malloc()ed, *size bytes */
int ksa_pin_get_framing_ex(int pin, struct ksallocator_framing_ex **framing_ex,
			   uint32_t *size);

/* ------------------------------------------------------------------ */
/* Allocator objects: frames as pointers                              */

struct ksa_allocator;

/* ksa_allocator_open() flags */
#define KSA_ALLOCATOR_OWN_FD	0x1	/* ksa_allocator_close() closes the fd */

/*
 * ksa_allocator_open() - wrap an allocator fd: read its layout and map
 * every frame (MAP_SHARED, read/write). The fd stays the caller's unless
 * KSA_ALLOCATOR_OWN_FD. The mapping keeps the allocator alive on its own,
 * so closing the fd early does not invalidate frame pointers.
 * ksa_allocator_create() - ksa_create_allocator() and ksa_allocator_open()
 * in one; the object owns the new fd (@open_flags as for
 * ksa_create_allocator(), O_CLOEXEC added).
 * ksa_allocator_close() - unmap, close the fd if owned, free. NULL is ok.
 */
int ksa_allocator_open(int allocator_fd, unsigned int flags,
		       struct ksa_allocator **allocator);
int ksa_allocator_create(int pin, const struct ksallocator_framing *framing,
			 uint32_t open_flags, struct ksa_allocator **allocator);
void ksa_allocator_close(struct ksa_allocator *allocator);

int ksa_allocator_fd(const struct ksa_allocator *allocator);
/* Number of frames, usable bytes per frame, distance between frames */
uint32_t ksa_allocator_frames(const struct ksa_allocator *allocator);
uint32_t ksa_allocator_frame_size(const struct ksa_allocator *allocator);
uint32_t ksa_allocator_frame_stride(const struct ksa_allocator *allocator);
/* The allocator's id, as the status views show it */
uint64_t ksa_allocator_id(const struct ksa_allocator *allocator);

/* ksa_frame_alloc() flags */
#define KSA_FRAME_NONBLOCK	0x1	/* never sleep: NULL, errno EAGAIN */
#define KSA_FRAME_WAIT		0x2	/* sleep even on an O_NONBLOCK fd */

/*
 * ksa_frame_alloc() - KSMETHOD_STREAMALLOCATOR_ALLOC, as a pointer into
 * the mapping. Without flags it sleeps until a frame is free, or fails
 * with EAGAIN if the fd is O_NONBLOCK. Returns NULL and sets errno on
 * failure: EAGAIN (STATUS_PENDING, no frame free), ECANCELED (KSRESET
 * in progress), EINTR, EINVAL.
 * ksa_frame_free() - KSMETHOD_STREAMALLOCATOR_FREE of a frame pointer.
 * Returns 0 or -errno (-EINVAL: not the start of an allocated frame).
 */
void *ksa_frame_alloc(struct ksa_allocator *allocator, unsigned int flags);
int ksa_frame_free(struct ksa_allocator *allocator, void *frame);

/*
 * Batches (KSMETHODSETID_KsallocBatch), 1 to KSALLOC_BATCH_MAX frames.
 * ksa_frame_alloc_batch() returns how many frames it put in @frames
 * (at least 1) or -errno. Without flags it takes what is free, sleeping
 * only while nothing is (-EAGAIN on an O_NONBLOCK fd); KSA_FRAME_NONBLOCK
 * takes what is free and never sleeps; KSA_FRAME_WAIT sleeps even on an
 * O_NONBLOCK fd; KSA_FRAME_ALL_OR_NOTHING takes @count or none and never
 * sleeps (-EAGAIN; -EINVAL if @count exceeds the pool or with
 * KSA_FRAME_WAIT). ksa_frame_free_batch() frees all or none (-EINVAL if
 * one is not an allocated frame, or appears twice).
 */
#define KSA_FRAME_ALL_OR_NOTHING 0x4
int ksa_frame_alloc_batch(struct ksa_allocator *allocator, void **frames,
			  unsigned int count, unsigned int flags);
int ksa_frame_free_batch(struct ksa_allocator *allocator, void *const *frames,
			 unsigned int count);

/*
 * Frames between processes: a pointer is only valid in the process that
 * mapped it, the offset (what ALLOC returns) is valid for every process
 * mapping the same allocator. Both return -1 / NULL (errno EINVAL) for
 * something that is not the start of a frame.
 */
int64_t ksa_frame_offset(const struct ksa_allocator *allocator,
			 const void *frame);
void *ksa_frame_at(const struct ksa_allocator *allocator, uint64_t offset);

/*
 * Frames as dma-bufs (KSMETHODSETID_KsallocFrame), for V4L2 DMABUF, DRM
 * PRIME and other importers. The fds are close-on-exec.
 * ksa_frame_export() - a new dma-buf of a frame the caller holds: its fd,
 * or -errno (-EINVAL: not an allocated frame, -EBUSY: a dma-buf owns it).
 * The frame must still be freed; it returns to the pool when it was freed
 * and its last dma-buf is gone, in either order.
 * ksa_frame_alloc_dmabuf() - a new frame that a new dma-buf owns: the
 * pointer, and the dma-buf's fd in *dmabuf_fd. ksa_frame_free() of it is
 * -EBUSY; the frame returns when the last reference to the dma-buf goes
 * (also when the process dies). @flags: KSA_FRAME_NONBLOCK (never sleep)
 * or 0 (sleep, unless the fd is O_NONBLOCK). NULL and errno on failure,
 * as ksa_frame_alloc().
 */
int ksa_frame_export(struct ksa_allocator *allocator, const void *frame);
void *ksa_frame_alloc_dmabuf(struct ksa_allocator *allocator,
			     unsigned int flags, int *dmabuf_fd);

/* ------------------------------------------------------------------ */
/* Asynchronous frames through io_uring                               */

/*
 * KS clients allocate with an overlapped DeviceIoControl() that returns
 * STATUS_PENDING and completes when a frame comes back. A ksa_ring is
 * that: one thread keeps ALLOCs in flight on any number of allocators
 * and reaps each frame as it is allocated, with no call that sleeps
 * except the wait for completions (or none, with a timeout of 0).
 *
 * ksa_ring_create() - an io_uring of @entries submission slots (1 to
 * 4096; the kernel rounds up to a power of two), close-on-exec. @flags
 * must be 0. As many requests may be in flight as the completion queue
 * holds (twice the rounded @entries).
 * ksa_ring_fd() - the ring's fd: poll/epoll report it readable when
 * completions are ready, for event loops that wait elsewhere.
 * ksa_ring_close() - close the ring. ALLOCs still waiting end in the
 * kernel without taking a frame; frames already completed but not
 * reaped stay allocated (free them by pointer). NULL is ok.
 *
 * ksa_ring_alloc() - ALLOC a frame of @allocator, tagged @tag: it
 * completes at once if a frame is free, else when one is freed, FIFO
 * with the other waiters of the allocator (blocking ALLOCs and other
 * rings). @flags: KSA_FRAME_NONBLOCK completes with -EAGAIN instead of
 * waiting. Where the kernel does not queue ALLOCs (6.1, or an O_NONBLOCK
 * fd; /sys/class/misc/ksalloc/uring_queue) the library waits for the
 * allocator to be readable and tries again: one completion either way,
 * but not in FIFO order with other waiters.
 * ksa_ring_free() - FREE @frame through the ring (a pointer from
 * ksa_frame_alloc() or a completion).
 * Both only prepare the request (submitting first if the ring is full);
 * ksa_ring_submit() or ksa_ring_reap() sends it. They return 0, -EINVAL,
 * or -EBUSY when as many requests are in flight as the ring holds (reap
 * first).
 *
 * ksa_ring_submit() - send the prepared requests: how many, or -errno.
 * ksa_ring_reap() - submit, then fill up to @max completions in @c,
 * waiting up to @timeout_ms (-1: forever, 0: not at all) for the first
 * one. Returns how many (0 on timeout) or -errno (-EINTR on a signal).
 *
 * A ring is for one thread at a time; allocators must stay open while
 * requests on them are in flight.
 */
struct ksa_ring;

/* struct ksa_completion.op */
#define KSA_RING_ALLOC		1
#define KSA_RING_FREE		2

struct ksa_completion {
	struct ksa_allocator *allocator;
	void *frame;		/* ALLOC: the frame (NULL on error); FREE: it */
	uint64_t tag;		/* the request's */
	uint32_t op;		/* KSA_RING_ALLOC or KSA_RING_FREE */
	int32_t result;		/* 0 or -errno: -EAGAIN (KSA_FRAME_NONBLOCK),
				 * -ECANCELED (KSRESET_BEGIN), -EINVAL, ... */
};

int ksa_ring_create(unsigned int entries, unsigned int flags,
		    struct ksa_ring **ring);
int ksa_ring_fd(const struct ksa_ring *ring);
void ksa_ring_close(struct ksa_ring *ring);
int ksa_ring_alloc(struct ksa_ring *ring, struct ksa_allocator *allocator,
		   unsigned int flags, uint64_t tag);
int ksa_ring_free(struct ksa_ring *ring, struct ksa_allocator *allocator,
		  void *frame, uint64_t tag);
int ksa_ring_submit(struct ksa_ring *ring);
int ksa_ring_reap(struct ksa_ring *ring, struct ksa_completion *c,
		  unsigned int max, int timeout_ms);

/* ------------------------------------------------------------------ */
/* Events on eventfds                                                 */

struct ksa_event;

/* ksa_event_enable() / ksa_freeframe_enable() flags */
#define KSA_EVENT_ONESHOT	0x1	/* KSEVENT_TYPE_ONESHOT */
#define KSA_EVENT_SEMAPHORE	0x2	/* KSEVENTF_SEMAPHORE_HANDLE */

/*
 * ksa_event_enable() - enable (set, id) on @fd for a new eventfd (non-
 * blocking, close-on-exec), KSEVENTF_EVENT_HANDLE or, with
 * KSA_EVENT_SEMAPHORE, KSEVENTF_SEMAPHORE_HANDLE adding @adjustment per
 * occurrence. The eventfd counts occurrences (freed frames for
 * FREEFRAME).
 * ksa_freeframe_enable() - the same for KSEVENT_STREAMALLOCATOR_FREEFRAME.
 * ksa_event_fd() - the eventfd, for poll/epoll (readable when signalled).
 * ksa_event_wait() - wait up to @timeout_ms (-1: forever) for the event,
 * then read and reset its count into *count (may be NULL). -ETIMEDOUT
 * (STATUS_TIMEOUT) if it did not come, -EINTR on a signal.
 * ksa_event_disable() - disable (a one-shot event that fired is already
 * gone: that is not an error), close the eventfd, free. NULL is ok.
 */
int ksa_event_enable(int fd, const struct ksguid *set, uint32_t id,
		     unsigned int flags, int32_t adjustment,
		     struct ksa_event **event);
int ksa_freeframe_enable(int allocator_fd, unsigned int flags,
			 struct ksa_event **event);
int ksa_event_fd(const struct ksa_event *event);
int ksa_event_wait(struct ksa_event *event, int timeout_ms, uint64_t *count);
int ksa_event_disable(struct ksa_event *event);

/* ------------------------------------------------------------------ */
/* Errors                                                             */

/*
 * ksa_strerror() - what a negative errno of this library means, naming
 * the KS status it stands for, e.g. -EAGAIN: "STATUS_PENDING: no frame
 * free". Positive values are taken as errno values too. Never NULL; the
 * text is static.
 */
const char *ksa_strerror(int err);

/*
 * ksa_ntstatus() - the NTSTATUS value a negative errno stands for (the
 * first KS status of its row in the uapi table), for code that compares
 * with STATUS_* constants; 0 for 0, STATUS_UNSUCCESSFUL (0xC0000001)
 * for an errno the table does not have.
 */
uint32_t ksa_ntstatus(int err);

#ifdef __cplusplus
}
#endif

#endif /* _LIBKSALLOC_H */
