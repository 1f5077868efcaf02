// SPDX-License-Identifier: GPL-2.0
/* From 6.6, a uring_cmd points at its whole SQE, not at sqe->cmd. */
#include "uring.h"

u32 ksa_probe(const struct io_uring_cmd *cmd);
u32 ksa_probe(const struct io_uring_cmd *cmd)
{
#ifdef KSA_PROBE_CONTROL
	return cmd->cmd_op;
#else
	return READ_ONCE(cmd->sqe->cmd_op);
#endif
}
