// SPDX-License-Identifier: GPL-2.0
/* Before 6.8, eventfd_signal() took the count to add. */
#include <linux/eventfd.h>

void ksa_probe(struct eventfd_ctx *ctx);
void ksa_probe(struct eventfd_ctx *ctx)
{
#ifdef KSA_PROBE_CONTROL
	eventfd_ctx_put(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}
