// SPDX-License-Identifier: GPL-2.0
/*
 * Newer kernels (7.2, not 6.12): io_uring_cmd_done() takes no res2
 * (io_uring_cmd_done32() does, for 32-byte CQEs).
 */
#include "uring.h"

void ksa_probe(struct io_uring_cmd *cmd, unsigned int issue_flags);
void ksa_probe(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
#ifdef KSA_PROBE_CONTROL
	cmd->flags = issue_flags;
#else
	io_uring_cmd_done(cmd, 0, issue_flags);
#endif
}
