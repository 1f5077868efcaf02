/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences between the supported kernels (6.1 to 7.2),
 * in one place. KSA_HAVE_* come from compile probes in Kbuild, because
 * stable kernels backport APIs and a version number misleads.
 */
#ifndef _KSA_COMPAT_H
#define _KSA_COMPAT_H

#include <linux/build_bug.h>
#include <linux/eventfd.h>
#include <linux/export.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/sched.h>

/*
 * Add @n to an eventfd's counter. eventfd_signal() lost its count in 6.8,
 * and the kernel has no other way to add more than one (6.12's
 * fs/eventfd.c exports eventfd_signal_mask() only, which adds one): there
 * it takes @n calls, each with the eventfd's own lock, and a caller that
 * may sleep is given the chance to reschedule every
 * KSA_EVENTFD_RESCHED of them.
 */
#define KSA_EVENTFD_RESCHED	1024

static inline void ksa_eventfd_add(struct eventfd_ctx *ctx, u64 n,
				   bool may_sleep)
{
#ifdef KSA_HAVE_EVENTFD_SIGNAL_COUNT
	eventfd_signal(ctx, n);
#else
	u64 i;

	for (i = 1; i <= n; i++) {
		eventfd_signal(ctx);
		if (may_sleep && !(i % KSA_EVENTFD_RESCHED))
			cond_resched();
	}
#endif
}

/* Symbol namespaces became strings in 6.13 */
#ifdef KSA_HAVE_NS_IDENTIFIER
#define KSA_EXPORT(sym) EXPORT_SYMBOL_NS_GPL(sym, KSALLOC)
#else
#define KSA_EXPORT(sym) EXPORT_SYMBOL_NS_GPL(sym, "KSALLOC")
#endif

/* vm_flags became read-only in 6.3: it is written through vm_flags_set() */
static inline void ksa_vm_flags_set(struct vm_area_struct *vma,
				    vm_flags_t flags)
{
#ifdef KSA_HAVE_VM_FLAGS_SET
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

/*
 * The largest buddy order. MAX_ORDER was exclusive up to 6.3, inclusive
 * from 6.4 to 6.7, and became MAX_PAGE_ORDER (inclusive) in 6.8, so no
 * spelling of it is right everywhere; MAX_ORDER_NR_PAGES, the pages of
 * the largest block, is: 1 << (MAX_ORDER - 1) before 6.4, 1 << MAX_ORDER
 * from 6.4 and 1 << MAX_PAGE_ORDER from 6.8. The buddy allocator's own
 * free_area[] (one list per order) cross-checks it.
 */
#define KSA_MAX_BUDDY_ORDER	ilog2(MAX_ORDER_NR_PAGES)
static_assert(MAX_ORDER_NR_PAGES == 1UL << KSA_MAX_BUDDY_ORDER);
static_assert(ARRAY_SIZE(((struct zone *)NULL)->free_area) ==
	      KSA_MAX_BUDDY_ORDER + 1);

/*
 * io_uring commands (uring.c). struct io_uring_cmd moved to
 * linux/io_uring/cmd.h in 6.7.
 */
#ifdef KSA_HAVE_URING_CMD_H
#include <linux/io_uring/cmd.h>
#else
#include <linux/io_uring.h>
#endif
#include <linux/ksalloc.h>

/*
 * A queued command must be cancelable when its ring or task goes (6.7),
 * and its task work must learn when nobody will see its CQE (see
 * ksa_uring_tw() in uring.c); without both, ALLOC never queues.
 */
#if IS_ENABLED(CONFIG_IO_URING) && defined(KSA_HAVE_URING_CMD_CANCELABLE) && \
	defined(KSA_HAVE_URING_CMD_SQE) && \
	(defined(KSA_HAVE_URING_TW_REQ) || defined(KSA_HAVE_URING_F_TASK_DEAD))
#define KSA_URING_QUEUE 1
#endif

/* The payload of a command: sqe->cmd, reached in three ways over time */
static inline const struct ksalloc_uring_cmd *
ksa_uring_sqe(const struct io_uring_cmd *cmd)
{
#if defined(KSA_HAVE_URING_SQE_CMD_TYPED)
	return io_uring_sqe_cmd(cmd->sqe, struct ksalloc_uring_cmd);
#elif defined(KSA_HAVE_URING_CMD_SQE)
	return io_uring_sqe_cmd(cmd->sqe);
#else
	return cmd->cmd;
#endif
}

/* A completion with res only (res2 is for 32-byte CQEs) */
static inline void ksa_uring_done(struct io_uring_cmd *cmd, int res,
				  unsigned int issue_flags)
{
#ifdef KSA_HAVE_URING_CMD_DONE_NO_RES2
	io_uring_cmd_done(cmd, res, issue_flags);
#else
	io_uring_cmd_done(cmd, res, 0, issue_flags);
#endif
}

#ifdef KSA_URING_QUEUE
/* The ring a command was submitted to, to compare with another's */
static inline const void *ksa_uring_ring(struct io_uring_cmd *cmd)
{
#ifdef KSA_HAVE_URING_CMD_CTX_HANDLE
	return io_uring_cmd_ctx_handle(cmd);
#else
	return cmd_to_io_kiocb(cmd)->ctx;
#endif
}
#endif

#endif /* _KSA_COMPAT_H */
