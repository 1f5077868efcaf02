// SPDX-License-Identifier: GPL-2.0
/*
 * 6.12 (not 6.1 or 7.2): task-work callbacks see IO_URING_F_TASK_DEAD
 * in issue_flags when the task is exiting (the CQE will not be seen).
 */
#include "uring.h"

unsigned int ksa_probe(unsigned int issue_flags);
unsigned int ksa_probe(unsigned int issue_flags)
{
#ifdef KSA_PROBE_CONTROL
	return issue_flags & IO_URING_F_NONBLOCK;
#else
	return issue_flags & IO_URING_F_TASK_DEAD;
#endif
}
