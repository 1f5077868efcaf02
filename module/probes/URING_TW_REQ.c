// SPDX-License-Identifier: GPL-2.0
/*
 * Newer kernels (7.2, not 6.12): task-work callbacks get a struct
 * io_tw_req and a token whose .cancel says the CQE will not be seen
 * (task exiting or ring going away); before, an io_uring_cmd and
 * issue_flags.
 */
#include "uring.h"

#ifndef KSA_PROBE_CONTROL
static void ksa_probe_tw(struct io_tw_req tw_req, io_tw_token_t tw)
{
	struct io_uring_cmd *cmd = io_uring_cmd_from_tw(tw_req);

	cmd->flags = tw.cancel;
}
#endif

void ksa_probe(struct io_uring_cmd *cmd);
void ksa_probe(struct io_uring_cmd *cmd)
{
#ifdef KSA_PROBE_CONTROL
	cmd->flags = 0;
#else
	io_uring_cmd_complete_in_task(cmd, ksa_probe_tw);
#endif
}
