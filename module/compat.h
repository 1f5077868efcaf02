/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences between the supported kernels (6.1 to 6.12+),
 * in one place. KSA_HAVE_* come from compile probes in Kbuild, because
 * stable kernels backport APIs and a version number misleads.
 */
#ifndef _KSA_COMPAT_H
#define _KSA_COMPAT_H

#include <linux/eventfd.h>
#include <linux/export.h>

/* eventfd_signal() lost its count argument in 6.8 */
static inline void ksa_eventfd_add(struct eventfd_ctx *ctx, u32 n)
{
#ifdef KSA_HAVE_EVENTFD_SIGNAL_COUNT
	eventfd_signal(ctx, n);
#else
	while (n--)
		eventfd_signal(ctx);
#endif
}

/* Symbol namespaces became strings in 6.13 */
#ifdef KSA_HAVE_NS_IDENTIFIER
#define KSA_EXPORT(sym) EXPORT_SYMBOL_NS_GPL(sym, KSALLOC)
#else
#define KSA_EXPORT(sym) EXPORT_SYMBOL_NS_GPL(sym, "KSALLOC")
#endif

#endif /* _KSA_COMPAT_H */
