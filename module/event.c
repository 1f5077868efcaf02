// SPDX-License-Identifier: GPL-2.0
/*
 * KS events of an allocator, delivered to eventfds.
 *
 * KSEVENTF_EVENT_HANDLE and KSEVENTF_SEMAPHORE_HANDLE carry a handle; on
 * Linux that handle is an eventfd, which the module holds a reference on
 * while the event is enabled. As in KS, an event is identified for
 * IOCTL_KS_DISABLE_EVENT by the address of the KSEVENTDATA it was enabled
 * with (and here also by its handle).
 *
 * A free signals its events without ev->lock: the lock is held only to
 * walk the list and take a reference on each event to signal (at most
 * KSA_SIGNAL_BATCH at a time), so the work done with it held, and IRQs
 * off, depends on the number of events and never on how much is added.
 */
#include <linux/eventfd.h>
#include <linux/refcount.h>
#include <linux/slab.h>

#include "compat.h"
#include "ksalloc.h"

/* Largest KSEVENTF_SEMAPHORE_HANDLE adjustment accepted */
#define KSA_MAX_ADJUSTMENT	1024
/* Events signalled per hold of ev->lock */
#define KSA_SIGNAL_BATCH	16

struct ksa_event {
	struct list_head node;	/* on ev->list while enabled */
	refcount_t ref;		/* the list's, and each signaller's */
	struct eventfd_ctx *ctx;
	u64 addr;		/* user address of the enabling KSEVENTDATA */
	s64 handle;		/* the eventfd number given at enable */
	u64 seq;		/* enable order, the list's order */
	u32 id;			/* KSEVENT_STREAMALLOCATOR_* */
	u32 count;		/* added to the eventfd per occurrence */
	bool oneshot;
};

void ksa_events_init(struct ksa_events *ev)
{
	spin_lock_init(&ev->lock);
	INIT_LIST_HEAD(&ev->list);
	ev->count = 0;
	ev->next_seq = 0;
}

static void ksa_event_put(struct ksa_event *e)
{
	if (refcount_dec_and_test(&e->ref)) {
		eventfd_ctx_put(e->ctx);
		kfree(e);
	}
}

/* Off the list, with ev->lock held; the list's reference is the caller's. */
static void ksa_event_unlink(struct ksa_events *ev, struct ksa_event *e)
{
	list_del_init(&e->node);
	WRITE_ONCE(ev->count, ev->count - 1);
}

/**
 * ksa_events_enable() - enable an event for an eventfd
 * @ev: the object's events
 * @id: the event id
 * @oneshot: signal once, then disable
 * @addr: address of the KSEVENTDATA (its identity for disable)
 * @data: the KSEVENTDATA
 * @seq: set to the event's number, for ksa_events_undo_enable()
 *
 * Return: 0, -EINVAL (bad fields or not an eventfd), -EBADF, -EOPNOTSUPP
 * (a notification type other than an event or semaphore handle), -ENOSPC
 * (too many events enabled) or -ENOMEM.
 */
int ksa_events_enable(struct ksa_events *ev, u32 id, u32 oneshot, u64 addr,
		      const struct kseventdata *data, u64 *seq)
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
	refcount_set(&e->ref, 1);
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
		ksa_event_put(e);
		return -ENOSPC;
	}
	e->seq = ev->next_seq++;
	*seq = e->seq;
	list_add_tail(&e->node, &ev->list);
	WRITE_ONCE(ev->count, ev->count + 1);
	spin_unlock_irq(&ev->lock);
	return 0;
}

/*
 * Take back the enable that made event @seq, if it is still enabled: its
 * result could not be written back to the caller.
 */
void ksa_events_undo_enable(struct ksa_events *ev, u64 seq)
{
	struct ksa_event *e, *found = NULL;

	spin_lock_irq(&ev->lock);
	list_for_each_entry(e, &ev->list, node) {
		if (e->seq == seq) {
			ksa_event_unlink(ev, e);
			found = e;
			break;
		}
	}
	spin_unlock_irq(&ev->lock);
	if (found)
		ksa_event_put(found);
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
			ksa_event_unlink(ev, e);
			found = e;
			break;
		}
	}
	spin_unlock_irq(&ev->lock);
	if (!found)
		return -ENOENT;
	ksa_event_put(found);
	return 0;
}

/*
 * Up to KSA_SIGNAL_BATCH events enabled for @id from number @from on, with
 * a reference each (a one-shot one leaves the list: its reference passes
 * to the caller). Return: how many; *@more if there are others after them.
 */
static unsigned int ksa_events_gather(struct ksa_events *ev, u32 id, u64 from,
				      struct ksa_event **batch, bool *more)
{
	struct ksa_event *e, *tmp;
	unsigned long flags;
	unsigned int n = 0;

	*more = false;
	spin_lock_irqsave(&ev->lock, flags);
	list_for_each_entry_safe(e, tmp, &ev->list, node) {
		if (e->seq < from || e->id != id)
			continue;
		if (n == KSA_SIGNAL_BATCH) {
			*more = true;
			break;
		}
		if (e->oneshot)
			ksa_event_unlink(ev, e);
		else
			refcount_inc(&e->ref);
		batch[n++] = e;
	}
	spin_unlock_irqrestore(&ev->lock, flags);
	return n;
}

/**
 * ksa_events_deliver() - signal every event enabled for @id, @times over
 * @ev: the object's events
 * @id: the event id
 * @times: occurrences (frames freed); a one-shot event counts once and is
 *	disabled
 * @may_sleep: the caller may be rescheduled (process context, no lock)
 *
 * The eventfds are signalled after ev->lock is dropped, each with its
 * whole count in one call where the kernel allows it. An event disabled
 * while a free is signalling it may still receive that free's count.
 */
void ksa_events_deliver(struct ksa_events *ev, u32 id, u32 times,
			bool may_sleep)
{
	struct ksa_event *batch[KSA_SIGNAL_BATCH];
	unsigned int i, n;
	u64 from = 0;
	bool more;

	do {
		n = ksa_events_gather(ev, id, from, batch, &more);
		for (i = 0; i < n; i++) {
			struct ksa_event *e = batch[i];

			ksa_eventfd_add(e->ctx, e->oneshot ? e->count :
					(u64)e->count * times, may_sleep);
			from = e->seq + 1;
			ksa_event_put(e);
		}
	} while (more);
}

/* Drop every event and its eventfd reference. */
void ksa_events_release(struct ksa_events *ev)
{
	struct ksa_event *e, *tmp;
	LIST_HEAD(all);

	spin_lock_irq(&ev->lock);
	list_splice_init(&ev->list, &all);
	WRITE_ONCE(ev->count, 0);
	spin_unlock_irq(&ev->lock);

	list_for_each_entry_safe(e, tmp, &all, node) {
		list_del_init(&e->node);
		ksa_event_put(e);
	}
}
