// SPDX-License-Identifier: GPL-2.0
/* Newer kernels (7.2, not 6.12): io_uring_sqe_cmd() takes the payload type. */
#include "uring.h"

u64 ksa_probe(const struct io_uring_cmd *cmd);
u64 ksa_probe(const struct io_uring_cmd *cmd)
{
#ifdef KSA_PROBE_CONTROL
	return cmd->cmd_op;
#else
	return *io_uring_sqe_cmd(cmd->sqe, u64);
#endif
}
