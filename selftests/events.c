// SPDX-License-Identifier: GPL-2.0
/*
 * KSEVENT_STREAMALLOCATOR_FREEFRAME: an allocator signals an eventfd (the
 * Linux form of a KS event or semaphore handle) on every FREE.
 *
 * IOCTL_KS_ENABLE_EVENT takes a KSEVENT and a KSEVENTDATA; as in KS, the
 * event is identified for IOCTL_KS_DISABLE_EVENT by the address of that
 * KSEVENTDATA (and here also by its handle), and a DISABLE without input
 * disables every event of the allocator.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "frames_lib.h"
#include "kselftest_harness.h"

#define NFRAMES		4
#define MAX_EVENTS	KSA_PARAM_DIR "max_events"

FIXTURE(events)
{
	int pin;
	int fd;		/* NFRAMES frames */
	int efd;	/* non-blocking eventfd, counter mode */
	__u64 off[NFRAMES];
	long long saved_max_events;
};

FIXTURE_SETUP(events)
{
	self->fd = self->efd = -1;
	self->saved_max_events = -1;
	self->pin = ksa_open_pin();
	ASSERT_LE(0, self->pin) {
		TH_LOG("open %s: %s (is the module loaded?)", KSA_DEV,
		       strerror(-self->pin));
	}
	self->fd = ksa_create(self->pin, NFRAMES, ksa_page_size(), 0);
	ASSERT_LE(0, self->fd);
	self->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, self->efd);
}

FIXTURE_TEARDOWN(events)
{
	if (self->saved_max_events >= 0 &&
	    ksa_write_ll(MAX_EVENTS, self->saved_max_events))
		TH_LOG("could not restore %s to %lld", MAX_EVENTS,
		       self->saved_max_events);
	if (self->fd >= 0)
		close(self->fd);
	if (self->efd >= 0)
		close(self->efd);
	if (self->pin >= 0)
		close(self->pin);
}

/* ALLOC @n frames then FREE them all; the number of FREEs made */
static int cycle(int fd, __u64 *off, int n)
{
	int i, freed = 0;

	for (i = 0; i < n; i++)
		if (ksa_alloc(fd, &off[i]))
			return -1;
	for (i = 0; i < n; i++)
		if (!ksa_free(fd, off[i]))
			freed++;
	return freed;
}

/* The eventfd counts exactly the FREEs, and nothing else. */
TEST_F(events, eventfd_counts_frees)
{
	struct kseventdata ed;

	ksa_event_handle(&ed, self->efd);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));

	/* ALLOCs do not signal. */
	ASSERT_EQ(0, ksa_alloc(self->fd, &self->off[0]));
	ASSERT_EQ(0, ksa_alloc(self->fd, &self->off[1]));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));

	ASSERT_EQ(0, ksa_free(self->fd, self->off[0]));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));

	/* Refused FREEs do not signal. */
	EXPECT_EQ(-EINVAL, ksa_free(self->fd, self->off[0]));
	EXPECT_EQ(-EINVAL, ksa_free(self->fd, 1));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));

	ASSERT_EQ(0, ksa_free(self->fd, self->off[1]));
	ASSERT_EQ(NFRAMES, cycle(self->fd, self->off, NFRAMES));
	ASSERT_EQ(NFRAMES, cycle(self->fd, self->off, NFRAMES));
	EXPECT_EQ(1 + 2 * NFRAMES, ksa_eventfd_take(self->efd));
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));
}

/* FREEs made by another process signal the enabler's eventfd. */
TEST_F(events, free_in_other_process_signals)
{
	struct kseventdata ed;
	int i;

	ksa_event_handle(&ed, self->efd);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	for (i = 0; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_alloc(self->fd, &self->off[i]));
	for (i = 0; i < NFRAMES; i++)
		ASSERT_EQ(0, ksa_free_in_child(self->fd, self->off[i]));
	EXPECT_EQ(NFRAMES, ksa_eventfd_take(self->efd));
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));
}

/* ONESHOT fires on the next FREE only, and is then gone. */
TEST_F(events, oneshot_fires_once)
{
	struct kseventdata ed;

	ksa_event_handle(&ed, self->efd);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ONESHOT, &ed));
	ASSERT_EQ(3, cycle(self->fd, self->off, 3));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));
	ASSERT_EQ(3, cycle(self->fd, self->off, 3));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
	EXPECT_EQ(-ENOENT, ksa_event_disable(self->fd, &ed));
}

/* A ONESHOT not fired yet can still be disabled, and then never fires. */
TEST_F(events, oneshot_disabled_before_firing)
{
	struct kseventdata ed;

	ksa_event_handle(&ed, self->efd);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ONESHOT, &ed));
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));
	ASSERT_EQ(2, cycle(self->fd, self->off, 2));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
}

/* KSEVENTF_SEMAPHORE_HANDLE adds its adjustment per FREE (0 counts as 1). */
TEST_F(events, semaphore_adjustment)
{
	struct kseventdata ed;

	ksa_semaphore_handle(&ed, self->efd, 3);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ASSERT_EQ(2, cycle(self->fd, self->off, 2));
	EXPECT_EQ(6, ksa_eventfd_take(self->efd));
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));

	ksa_semaphore_handle(&ed, self->efd, 0);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ASSERT_EQ(3, cycle(self->fd, self->off, 3));
	EXPECT_EQ(3, ksa_eventfd_take(self->efd));
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));

	ksa_semaphore_handle(&ed, self->efd, 1024);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ASSERT_EQ(2, cycle(self->fd, self->off, 2));
	EXPECT_EQ(2048, ksa_eventfd_take(self->efd));
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));
}

/* An eventfd in semaphore mode is counted the same way. */
TEST_F(events, eventfd_semaphore_mode)
{
	struct kseventdata ed;
	__u64 v;
	int sem, i;

	sem = eventfd(0, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, sem);
	ksa_semaphore_handle(&ed, sem, 2);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(sizeof(v), read(sem, &v, sizeof(v)));
		EXPECT_EQ(1, v);
	}
	EXPECT_EQ(-1, read(sem, &v, sizeof(v)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));
	close(sem);
}

/* DISABLE stops the signalling. */
TEST_F(events, disable_stops)
{
	struct kseventdata ed;

	ksa_event_handle(&ed, self->efd);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));
	ASSERT_EQ(0, ksa_event_disable(self->fd, &ed));
	ASSERT_EQ(NFRAMES, cycle(self->fd, self->off, NFRAMES));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
	/* Gone: a second DISABLE finds nothing. */
	EXPECT_EQ(-ENOENT, ksa_event_disable(self->fd, &ed));
}

/* The event is its KSEVENTDATA's address: an equal copy elsewhere is not it. */
TEST_F(events, disable_needs_same_address_and_handle)
{
	struct kseventdata ed, copy, other_handle;
	int efd2, fd2;

	efd2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd2);
	ksa_event_handle(&ed, self->efd);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));

	memcpy(&copy, &ed, sizeof(ed));
	EXPECT_EQ(-ENOENT, ksa_event_disable(self->fd, &copy));

	/* The same address with another handle in it is not it either. */
	memcpy(&other_handle, &ed, sizeof(ed));
	ed.event_handle.event = efd2;
	EXPECT_EQ(-ENOENT, ksa_event_disable(self->fd, &ed));
	memcpy(&ed, &other_handle, sizeof(ed));

	/* Still enabled */
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));
	EXPECT_EQ(0, ksa_eventfd_take(efd2));

	/* A DISABLE on another allocator does not find it. */
	fd2 = ksa_create(self->pin, 1, ksa_page_size(), 0);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(-ENOENT, ksa_event_disable(fd2, &ed));
	close(fd2);

	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));
	close(efd2);
}

/* One KSEVENTDATA enabled twice is two events, disabled one at a time. */
TEST_F(events, same_data_enabled_twice)
{
	struct kseventdata ed;

	ksa_event_handle(&ed, self->efd);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(2, ksa_eventfd_take(self->efd));
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
	EXPECT_EQ(-ENOENT, ksa_event_disable(self->fd, &ed));
}

/* DISABLE without input disables every event of the allocator. */
TEST_F(events, disable_all_with_no_input)
{
	struct kseventdata ed[3];
	int efd[3], i;

	for (i = 0; i < 3; i++) {
		efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ASSERT_LE(0, efd[i]);
	}
	ksa_event_handle(&ed[0], efd[0]);
	ksa_semaphore_handle(&ed[1], efd[1], 5);
	ksa_event_handle(&ed[2], efd[2]);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed[0]));
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed[1]));
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ONESHOT, &ed[2]));
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(1, ksa_eventfd_take(efd[0]));
	EXPECT_EQ(5, ksa_eventfd_take(efd[1]));
	EXPECT_EQ(1, ksa_eventfd_take(efd[2]));

	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ONESHOT, &ed[2]));
	EXPECT_EQ(0, ksa_event_disable_all(self->fd));
	ASSERT_EQ(NFRAMES, cycle(self->fd, self->off, NFRAMES));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, ksa_eventfd_take(efd[i]));
		EXPECT_EQ(-ENOENT, ksa_event_disable(self->fd, &ed[i]));
	}
	/* With nothing enabled it still succeeds. */
	EXPECT_EQ(0, ksa_event_disable_all(self->fd));
	/* And events can be enabled again afterwards. */
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed[0]));
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(1, ksa_eventfd_take(efd[0]));
	for (i = 0; i < 3; i++)
		close(efd[i]);
}

/* Notification types that need a kernel object cannot come from user space. */
TEST_F(events, kernel_notification_types_eopnotsupp)
{
	const __u32 types[] = {
		KSEVENTF_EVENT_OBJECT, KSEVENTF_SEMAPHORE_OBJECT, KSEVENTF_DPC,
		KSEVENTF_WORKITEM, KSEVENTF_KSWORKITEM,
	};
	struct kseventdata ed;
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(types); i++) {
		ksa_event_handle(&ed, self->efd);
		ed.notification_type = types[i];
		EXPECT_EQ(-EOPNOTSUPP,
			  ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed)) {
			TH_LOG("notification type %#x", types[i]);
		}
	}
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
	EXPECT_EQ(-ENOENT, ksa_event_disable(self->fd, &ed));
}

TEST_F(events, unknown_notification_type_einval)
{
	const __u32 types[] = {
		0, 0x40, 0x100, 0x80000000,
		KSEVENTF_EVENT_HANDLE | KSEVENTF_SEMAPHORE_HANDLE,
	};
	struct kseventdata ed;
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(types); i++) {
		ksa_event_handle(&ed, self->efd);
		ed.notification_type = types[i];
		EXPECT_EQ(-EINVAL,
			  ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed)) {
			TH_LOG("notification type %#x", types[i]);
		}
	}
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
}

/* The handle must be an open eventfd. */
TEST_F(events, handle_must_be_eventfd)
{
	struct kseventdata ed;
	int p[2], closed;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ksa_event_handle(&ed, p[0]);
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ksa_semaphore_handle(&ed, p[1], 1);
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	/* Other ksalloc files are not eventfds either. */
	ksa_event_handle(&ed, self->fd);
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ksa_event_handle(&ed, self->pin);
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));

	closed = dup(p[0]);
	ASSERT_LE(0, closed);
	close(closed);
	ksa_event_handle(&ed, closed);
	EXPECT_EQ(-EBADF, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ksa_event_handle(&ed, KS_NULL_HANDLE);
	EXPECT_EQ(-EBADF, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ksa_event_handle(&ed, 1LL << 32);
	EXPECT_EQ(-EBADF, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ksa_semaphore_handle(&ed, -5, 1);
	EXPECT_EQ(-EBADF, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));

	/* Nothing got enabled by the failures. */
	EXPECT_EQ(-ENOENT, ksa_event_disable(self->fd, &ed));
	close(p[0]);
	close(p[1]);
}

TEST_F(events, reserved_fields_einval)
{
	struct kseventdata ed;

	ksa_event_handle(&ed, self->efd);
	ed.reserved0 = 1;
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));

	ksa_event_handle(&ed, self->efd);
	ed.event_handle.reserved[0] = 1;
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));

	ksa_event_handle(&ed, self->efd);
	ed.event_handle.reserved[1] = 1ULL << 63;
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));

	ksa_semaphore_handle(&ed, self->efd, 1);
	ed.semaphore_handle.reserved = 1;
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));

	ksa_semaphore_handle(&ed, self->efd, 1);
	ed.reserved0 = 0x80000000;
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->fd, KSEVENT_TYPE_ONESHOT, &ed));

	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
}

TEST_F(events, adjustment_out_of_range_einval)
{
	const __s32 bad[] = { -1, -1024, 1025, 0x7fffffff, (__s32)0x80000000 };
	struct kseventdata ed;
	int i;

	for (i = 0; i < (int)ARRAY_SIZE(bad); i++) {
		ksa_semaphore_handle(&ed, self->efd, bad[i]);
		EXPECT_EQ(-EINVAL,
			  ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed)) {
			TH_LOG("adjustment %d", bad[i]);
		}
	}
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
}

/* The request itself: event type flags, value size, ids not served */
TEST_F(events, enable_request_checks)
{
	struct kseventdata ed;
	struct ksidentifier e;

	ksa_event_handle(&ed, self->efd);
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->fd, 0, &ed));
	EXPECT_EQ(-EINVAL, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE |
					    KSEVENT_TYPE_ONESHOT, &ed));
	EXPECT_EQ(-EOPNOTSUPP, ksa_event_enable(self->fd,
						KSEVENT_TYPE_ENABLEBUFFERED, &ed));
	/* INTERNAL_FREEFRAME (KS's own) is defined, not served. */
	EXPECT_EQ(-ENOENT,
		  ksa_event_enable_id(self->fd,
				      KSEVENT_STREAMALLOCATOR_INTERNAL_FREEFRAME,
				      KSEVENT_TYPE_ENABLE, &ed));
	EXPECT_EQ(-ENOENT,
		  ksa_event_enable_id(self->fd,
				      KSEVENT_STREAMALLOCATOR_INTERNAL_FREEFRAME,
				      KSEVENT_TYPE_BASICSUPPORT, &ed));
	EXPECT_EQ(-ENOENT, ksa_event_enable_id(self->fd, 2,
					       KSEVENT_TYPE_ENABLE, &ed));
	/* A KSEVENTDATA shorter than 32 bytes */
	e = ksa_ident(&ksa_g_allocevents, KSEVENT_STREAMALLOCATOR_FREEFRAME,
		      KSEVENT_TYPE_ENABLE);
	EXPECT_EQ(-EINVAL, ksa_ioctl(self->fd, IOCTL_KS_ENABLE_EVENT, &e,
				     sizeof(e), &ed, sizeof(ed) - 1, 0, NULL));
	EXPECT_EQ(-EFAULT, ksa_ioctl(self->fd, IOCTL_KS_ENABLE_EVENT, &e,
				     sizeof(e), (void *)8, sizeof(ed), 0, NULL));
	/* BASICSUPPORT says FREEFRAME is supported. */
	e.flags = KSEVENT_TYPE_BASICSUPPORT;
	EXPECT_EQ(0, ksa_ioctl(self->fd, IOCTL_KS_ENABLE_EVENT, &e, sizeof(e),
			       NULL, 0, 0, NULL));

	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
	/* DISABLE with a short KSEVENTDATA, or an unreadable one */
	EXPECT_EQ(-EINVAL, ksa_ioctl(self->fd, IOCTL_KS_DISABLE_EVENT, &ed,
				     sizeof(ed) - 1, NULL, 0, 0, NULL));
	EXPECT_EQ(-EFAULT, ksa_ioctl(self->fd, IOCTL_KS_DISABLE_EVENT,
				     (void *)8, sizeof(ed), NULL, 0, 0, NULL));
}

/* max_events enables per allocator, then ENOSPC */
TEST_F(events, max_events_then_enospc)
{
	struct kseventdata *ed, extra;
	long long max;
	int i, fd2;

	max = ksa_read_ll(MAX_EVENTS);
	ASSERT_LT(0, max);
	ASSERT_GE(4096, max);
	if (max != 64)
		TH_LOG("max_events is %lld (default 64)", max);
	ed = calloc(max, sizeof(*ed));
	ASSERT_NE(NULL, ed);
	for (i = 0; i < max; i++) {
		ksa_event_handle(&ed[i], self->efd);
		ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE,
					      &ed[i])) {
			TH_LOG("enable #%d of %lld", i, max);
		}
	}
	ksa_event_handle(&extra, self->efd);
	EXPECT_EQ(-ENOSPC, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &extra));
	EXPECT_EQ(-ENOSPC, ksa_event_enable(self->fd, KSEVENT_TYPE_ONESHOT, &extra));
	/* Every one of them signals. */
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(max, ksa_eventfd_take(self->efd));

	/* The limit is per allocator. */
	fd2 = ksa_create(self->pin, 1, ksa_page_size(), 0);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(0, ksa_event_enable(fd2, KSEVENT_TYPE_ENABLE, &extra));
	close(fd2);

	/* One disabled makes room for one. */
	ASSERT_EQ(0, ksa_event_disable(self->fd, &ed[max / 2]));
	EXPECT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &extra));
	EXPECT_EQ(-ENOSPC, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE,
					    &ed[max / 2]));
	EXPECT_EQ(0, ksa_event_disable_all(self->fd));
	free(ed);
}

/* Fired ONESHOT events no longer count against max_events. */
TEST_F(events, fired_oneshots_free_their_slots)
{
	struct kseventdata ed[3];
	int i;

	self->saved_max_events = ksa_read_ll(MAX_EVENTS);
	ASSERT_LT(0, self->saved_max_events);
	ASSERT_EQ(0, ksa_write_ll(MAX_EVENTS, 3));
	for (i = 0; i < 3; i++) {
		ksa_event_handle(&ed[i], self->efd);
		ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ONESHOT,
					      &ed[i]));
	}
	EXPECT_EQ(-ENOSPC, ksa_event_enable(self->fd, KSEVENT_TYPE_ONESHOT, &ed[0]));
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(3, ksa_eventfd_take(self->efd));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE,
					      &ed[i]));
	EXPECT_EQ(-ENOSPC, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed[0]));
	/* Lowering the limit leaves enabled events alone. */
	ASSERT_EQ(0, ksa_write_ll(MAX_EVENTS, 1));
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(3, ksa_eventfd_take(self->efd));
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed[0]));
	EXPECT_EQ(-ENOSPC, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed[0]));
	EXPECT_EQ(0, ksa_event_disable_all(self->fd));
	EXPECT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed[0]));
}

/*
 * The allocator holds its own reference on the eventfd: closing the fd the
 * event was enabled with does not stop the signalling (nor break it), and
 * closing the allocator with events enabled leaves the eventfd working.
 */
TEST_F(events, eventfd_reference_held_and_released)
{
	struct kseventdata ed, ed2, ed3;
	int dupfd, efd2;
	__u64 v;

	dupfd = dup(self->efd);
	ASSERT_LE(0, dupfd);
	ksa_event_handle(&ed, dupfd);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ASSERT_EQ(0, close(dupfd));
	ASSERT_EQ(2, cycle(self->fd, self->off, 2));
	EXPECT_EQ(2, ksa_eventfd_take(self->efd));

	/*
	 * An eventfd whose only holders are the allocator's events: one
	 * ONESHOT that fires (and drops its reference) and one that stays
	 * until the allocator goes.
	 */
	efd2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ASSERT_LE(0, efd2);
	ksa_event_handle(&ed2, efd2);
	ksa_semaphore_handle(&ed3, efd2, 2);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ONESHOT, &ed2));
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed3));
	ASSERT_EQ(0, close(efd2));
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));

	/* Close the allocator with events still enabled. */
	ASSERT_EQ(0, close(self->fd));
	self->fd = -1;
	v = 7;
	ASSERT_EQ(sizeof(v), write(self->efd, &v, sizeof(v)));
	EXPECT_EQ(7, ksa_eventfd_take(self->efd));
}

/* A new fd for a pin's allocator (ALLOCATOR_FD) reaches the same events. */
TEST_F(events, events_shared_by_every_fd)
{
	struct ksidentifier p = ksa_ident(&(struct ksguid)KSPROPSETID_KsallocPin,
					  KSPROPERTY_KSALLOC_PIN_ALLOCATOR_FD,
					  KSPROPERTY_TYPE_GET);
	struct kseventdata ed;
	__s64 handle = -1;

	ksa_event_handle(&ed, self->efd);
	ASSERT_EQ(0, ksa_event_enable(self->fd, KSEVENT_TYPE_ENABLE, &ed));
	ASSERT_EQ(0, ksa_pin_set_allocator(self->pin, self->fd));
	ASSERT_EQ(0, ksa_ioctl(self->pin, IOCTL_KS_PROPERTY, &p, sizeof(p),
			       &handle, sizeof(handle), O_CLOEXEC, NULL));
	ASSERT_LE(0, handle);
	ASSERT_EQ(0, ksa_pin_set_allocator(self->pin, KS_NULL_HANDLE));
	ASSERT_EQ(0, close(self->fd));
	self->fd = handle;

	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(1, ksa_eventfd_take(self->efd));
	/* Disabled through the other fd: same allocator, same event */
	EXPECT_EQ(0, ksa_event_disable(self->fd, &ed));
	ASSERT_EQ(1, cycle(self->fd, self->off, 1));
	EXPECT_EQ(0, ksa_eventfd_take(self->efd));
}

/* ---- the largest free: one BATCH_FREE with every event enabled ---- */

#define WORST_EVENTS	64	/* the default max_events */
#define WORST_ADJ	1024	/* the largest adjustment */

static const struct ksguid g_batch = KSMETHODSETID_KsallocBatch;

/* BATCH_ALLOC or BATCH_FREE of @count frames; 0 or -errno */
static int batch(int fd, __u32 id, __u64 *off, __u32 count)
{
	struct ksalloc_batch_method m;

	memset(&m, 0, sizeof(m));
	m.method = ksa_ident(&g_batch, id, id == KSMETHOD_KSALLOC_BATCH_ALLOC ?
			     KSMETHOD_TYPE_WRITE : KSMETHOD_TYPE_READ);
	m.count = count;
	if (id == KSMETHOD_KSALLOC_BATCH_ALLOC)
		m.flags = KSALLOC_BATCHF_ALL_OR_NOTHING;
	return ksa_ioctl(fd, IOCTL_KS_METHOD, &m, sizeof(m), off,
			 count * sizeof(*off), 0, NULL);
}

/*
 * One BATCH_FREE of KSALLOC_BATCH_MAX frames with WORST_EVENTS semaphore
 * events at adjustment WORST_ADJ, each on an eventfd of its own: every
 * eventfd gets exactly frames x adjustment (4194304 in all), and every
 * fourth event, a one-shot, gets one adjustment once. The events are
 * signalled in several rounds of the event lock, so one-shots leave the
 * list between rounds; a second free reaches the others only.
 */
/* Minutes on a debug kernel: 64 events x 64 frames x 1024 per round */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

TEST_F_TIMEOUT(slow, worst_case_batch_free_totals, 600)
{
	struct kseventdata ed[WORST_EVENTS];
	__u64 off[KSALLOC_BATCH_MAX];
	long long saved, total = 0;
	int efd[WORST_EVENTS];
	int pin, fd, i, round;
	__u64 got;

	saved = ksa_read_ll(MAX_EVENTS);
	ASSERT_LT(0, saved) TH_LOG("cannot read %s", MAX_EVENTS);
	ASSERT_EQ(0, ksa_write_ll(MAX_EVENTS, WORST_EVENTS));
	pin = ksa_open_pin();
	ASSERT_LE(0, pin);
	fd = ksa_create(pin, KSALLOC_BATCH_MAX, ksa_page_size(), 0);
	ASSERT_LE(0, fd);
	for (i = 0; i < WORST_EVENTS; i++) {
		efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ASSERT_LE(0, efd[i]);
		ksa_semaphore_handle(&ed[i], efd[i], WORST_ADJ);
		ASSERT_EQ(0, ksa_event_enable(fd, i % 4 == 3 ?
					      KSEVENT_TYPE_ONESHOT :
					      KSEVENT_TYPE_ENABLE, &ed[i]));
	}

	for (round = 0; round < 2; round++) {
		ASSERT_EQ(0, batch(fd, KSMETHOD_KSALLOC_BATCH_ALLOC, off,
				   KSALLOC_BATCH_MAX));
		ASSERT_EQ(0, batch(fd, KSMETHOD_KSALLOC_BATCH_FREE, off,
				   KSALLOC_BATCH_MAX));
		for (i = 0; i < WORST_EVENTS; i++) {
			__u64 want = i % 4 != 3 ? KSALLOC_BATCH_MAX * WORST_ADJ :
				     round ? 0 : WORST_ADJ;

			got = ksa_eventfd_take(efd[i]);
			total += got;
			EXPECT_EQ(want, got) TH_LOG("round %d, event %d", round, i);
		}
	}
	EXPECT_EQ(2LL * 48 * KSALLOC_BATCH_MAX * WORST_ADJ + 16 * WORST_ADJ,
		  total);
	/* The one-shots are gone, the others still enabled */
	EXPECT_EQ(-ENOENT, ksa_event_disable(fd, &ed[3]));
	EXPECT_EQ(0, ksa_event_disable(fd, &ed[0]));

	for (i = 0; i < WORST_EVENTS; i++)
		close(efd[i]);
	close(fd);
	close(pin);
	EXPECT_EQ(0, ksa_write_ll(MAX_EVENTS, saved));
}

TEST_HARNESS_MAIN
