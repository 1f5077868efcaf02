// SPDX-License-Identifier: GPL-2.0
/* From 6.7, struct io_uring_cmd lives in linux/io_uring/cmd.h. */
#ifdef KSA_PROBE_CONTROL
#include <linux/io_uring.h>
#else
#include <linux/io_uring/cmd.h>
#endif

u32 ksa_probe(const void *p);
u32 ksa_probe(const void *p)
{
#ifdef KSA_PROBE_CONTROL
	return !!p;
#else
	const struct io_uring_cmd *cmd = p;

	return cmd->cmd_op;
#endif
}
