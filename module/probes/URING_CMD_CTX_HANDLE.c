// SPDX-License-Identifier: GPL-2.0
/* Newer kernels (7.2, not 6.12): io_uring_cmd_ctx_handle() names the ring. */
#include "uring.h"

void *ksa_probe(struct io_uring_cmd *cmd);
void *ksa_probe(struct io_uring_cmd *cmd)
{
#ifdef KSA_PROBE_CONTROL
	return cmd->file;
#else
	return io_uring_cmd_ctx_handle(cmd);
#endif
}
