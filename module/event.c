// SPDX-License-Identifier: GPL-2.0
/*
 * KS events of an allocator, delivered to eventfds.
 *
 * KSEVENTF_EVENT_HANDLE and KSEVENTF_SEMAPHORE_HANDLE carry a handle; on
 * Linux that handle is an eventfd, which the module holds a reference on
 * while the event is enabled. As in KS, an event is identified for
 * IOCTL_KS_DISABLE_EVENT by the address of the KSEVENTDATA it was enabled
 * with (and here also by its handle).
 */
#include <linux/eventfd.h>
#include <linux/slab.h>

#include "compat.h"
#include "ksalloc.h"

/* Largest KSEVENTF_SEMAPHORE_HANDLE adjustment accepted */
#define KSA_MAX_ADJUSTMENT	1024

struct ksa_event {
	struct list_head node;
	struct eventfd_ctx *ctx;
	u64 addr;		/* user address of the enabling KSEVENTDATA */
	s64 handle;		/* the eventfd number given at enable */
	u32 id;			/* KSEVENT_STREAMALLOCATOR_* */
	u32 count;		/* added to the eventfd per occurrence */
	bool oneshot;
};

void ksa_events_init(struct ksa_events *ev)
{
	spin_lock_init(&ev->lock);
	INIT_LIST_HEAD(&ev->list);
	ev->count = 0;
}

static void ksa_event_free(struct ksa_event *e)
{
	eventfd_ctx_put(e->ctx);
	kfree(e);
}

/**
 * ksa_events_enable() - enable an event for an eventfd
 * @ev: the object's events
 * @id: the event id
 * @oneshot: signal once, then disable
 * @addr: address of the KSEVENTDATA (its identity for disable)
 * @data: the KSEVENTDATA
 *
 * Return: 0, -EINVAL (bad fields or not an eventfd), -EBADF, -EOPNOTSUPP
 * (a notification type other than an event or semaphore handle), -ENOSPC
 * (too many events enabled) or -ENOMEM.
 */
int ksa_events_enable(struct ksa_events *ev, u32 id, u32 oneshot, u64 addr,
		      const struct kseventdata *data)
{
	struct ksa_event *e;
	s64 handle;
	u32 count;

	switch (data->notification_type) {
	case KSEVENTF_EVENT_HANDLE:
		if (data->event_handle.reserved[0] ||
		    data->event_handle.reserved[1])
			return -EINVAL;
		handle = data->event_handle.event;
		count = 1;
		break;
	case KSEVENTF_SEMAPHORE_HANDLE:
		if (data->semaphore_handle.reserved ||
		    data->semaphore_handle.adjustment < 0 ||
		    data->semaphore_handle.adjustment > KSA_MAX_ADJUSTMENT)
			return -EINVAL;
		handle = data->semaphore_handle.semaphore;
		count = data->semaphore_handle.adjustment ?: 1;
		break;
	case KSEVENTF_EVENT_OBJECT:
	case KSEVENTF_SEMAPHORE_OBJECT:
	case KSEVENTF_DPC:
	case KSEVENTF_WORKITEM:
	case KSEVENTF_KSWORKITEM:
		return -EOPNOTSUPP;
	default:
		return -EINVAL;
	}
	if (data->reserved0)
		return -EINVAL;
	if (handle < 0 || handle > INT_MAX)
		return -EBADF;

	e = kzalloc(sizeof(*e), GFP_KERNEL_ACCOUNT);
	if (!e)
		return -ENOMEM;
	e->ctx = eventfd_ctx_fdget(handle);
	if (IS_ERR(e->ctx)) {
		int ret = PTR_ERR(e->ctx);

		kfree(e);
		return ret;
	}
	e->addr = addr;
	e->handle = handle;
	e->id = id;
	e->count = count;
	e->oneshot = oneshot;

	spin_lock_irq(&ev->lock);
	if (ev->count >= READ_ONCE(ksa_max_events)) {
		spin_unlock_irq(&ev->lock);
		ksa_event_free(e);
		return -ENOSPC;
	}
	list_add_tail(&e->node, &ev->list);
	ev->count++;
	spin_unlock_irq(&ev->lock);
	return 0;
}

/**
 * ksa_events_disable() - disable one event, or all of them
 * @ev: the object's events
 * @addr: address of the KSEVENTDATA used at enable, or 0 for all
 * @data: that KSEVENTDATA, or NULL for all
 *
 * Return: 0, or -ENOENT if no such event is enabled.
 */
int ksa_events_disable(struct ksa_events *ev, u64 addr,
		       const struct kseventdata *data)
{
	struct ksa_event *e, *found = NULL;
	s64 handle;

	if (!data) {
		ksa_events_release(ev);
		return 0;
	}
	handle = data->notification_type == KSEVENTF_SEMAPHORE_HANDLE ?
		 data->semaphore_handle.semaphore : data->event_handle.event;

	spin_lock_irq(&ev->lock);
	list_for_each_entry(e, &ev->list, node) {
		if (e->addr == addr && e->handle == handle) {
			list_del(&e->node);
			ev->count--;
			found = e;
			break;
		}
	}
	spin_unlock_irq(&ev->lock);
	if (!found)
		return -ENOENT;
	ksa_event_free(found);
	return 0;
}

/* Signal every event enabled for @id @times; one-shot ones are disabled. */
void ksa_events_signal(struct ksa_events *ev, u32 id, u32 times)
{
	struct ksa_event *e, *tmp;
	unsigned long flags;
	LIST_HEAD(done);

	if (list_empty_careful(&ev->list))
		return;

	spin_lock_irqsave(&ev->lock, flags);
	list_for_each_entry_safe(e, tmp, &ev->list, node) {
		if (e->id != id)
			continue;
		ksa_eventfd_add(e->ctx, e->oneshot ? e->count :
				e->count * times);
		if (e->oneshot) {
			list_move(&e->node, &done);
			ev->count--;
		}
	}
	spin_unlock_irqrestore(&ev->lock, flags);

	list_for_each_entry_safe(e, tmp, &done, node)
		ksa_event_free(e);
}

/* Drop every event and its eventfd reference. */
void ksa_events_release(struct ksa_events *ev)
{
	struct ksa_event *e, *tmp;
	LIST_HEAD(all);

	spin_lock_irq(&ev->lock);
	list_splice_init(&ev->list, &all);
	ev->count = 0;
	spin_unlock_irq(&ev->lock);

	list_for_each_entry_safe(e, tmp, &all, node)
		ksa_event_free(e);
}
