/* SPDX-License-Identifier: MIT */
/*
 * One client process's memory, reached through its /proc/PID/mem by a
 * helper thread of its own, so that a page fault that waits (a FUSE file
 * whose server does not answer, a slow disk) holds that helper and never
 * the engine thread that asked (docs/odp.md "Page faults that wait").
 *
 * Contract:
 *  - srxe_proc_io_open() takes the descriptor (opened by srxed for that
 *    very process, srxed/peer_mem.h) and starts the helper: NULL with
 *    errno on failure, the descriptor then still the caller's.
 *  - srxe_proc_io_rw() moves @len (<= SRXE_PROC_IO_MAX) bytes between
 *    @buf and the process's address @va, one transfer at a time per
 *    process, waiting at most @wait_ns for its turn (behind another
 *    caller's transfer) and its end:
 *      0        done;
 *      -EFAULT  the process maps nothing (or nothing writable) there,
 *               or it is gone (a write reads the range first, so a
 *               hole refuses it before any byte of it is written);
 *      -EAGAIN  not done in time.  The transfer goes on in the helper
 *               (a write still lands) and @buf is not touched again;
 *               until it ended every later call gets -EAGAIN at once,
 *               so transfers of one process land in the order they
 *               were asked and a stuck one costs its callers nothing.
 *               After a transfer that took longer than @wait_ns / 2,
 *               the next call asks for its transfer but does not wait
 *               for it (-EAGAIN), until one ends faster: a process
 *               whose faults always end just in time cannot make its
 *               callers wait either.
 *    Any thread may call it; @buf is the caller's again on return.
 *  - srxe_proc_io_close(): when no transfer is running, the helper ends
 *    and everything is freed now; when one is stuck, the helper frees
 *    everything (the descriptor too) once that transfer returns.
 */
#ifndef SRXE_PROC_IO_H
#define SRXE_PROC_IO_H

#include <stdbool.h>
#include <stdint.h>

#define SRXE_PROC_IO_MAX (256u << 10)

struct srxe_proc_io;

struct srxe_proc_io *srxe_proc_io_open(int fd);
int srxe_proc_io_rw(struct srxe_proc_io *io, void *buf, uint32_t len,
		    uint64_t va, bool write, uint64_t wait_ns);
void srxe_proc_io_close(struct srxe_proc_io *io);

#endif /* SRXE_PROC_IO_H */
