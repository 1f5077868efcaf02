/* SPDX-License-Identifier: GPL-2.0 */
/*
 * struct io_uring_cmd for the io_uring probes: in linux/io_uring/cmd.h
 * from 6.7, in linux/io_uring.h before (the URING_CMD_H probe tells
 * compat.h which; a probe cannot see another probe's result).
 */
#if __has_include("linux/io_uring/cmd.h")
#include <linux/io_uring/cmd.h>
#else
#include <linux/io_uring.h>
#endif
