// SPDX-License-Identifier: GPL-2.0
/*
 * From 6.7, a queued uring_cmd can be marked cancelable: io_uring then
 * calls ->uring_cmd() with IO_URING_F_CANCEL when the ring or the task
 * goes away.
 */
#include "uring.h"

void ksa_probe(struct io_uring_cmd *cmd, unsigned int issue_flags);
void ksa_probe(struct io_uring_cmd *cmd, unsigned int issue_flags)
{
#ifdef KSA_PROBE_CONTROL
	cmd->flags = issue_flags;
#else
	if (!(issue_flags & IO_URING_F_CANCEL))
		io_uring_cmd_mark_cancelable(cmd, issue_flags);
#endif
}
