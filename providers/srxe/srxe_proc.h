/* SPDX-License-Identifier: MIT */
/*
 * Process-wide state of the provider (issue #12): srxed gives every
 * context of one process the same slab memfd (kernel-shim/srxed/proc.h),
 * so a buffer registered in one context is registered in any other
 * without moving its pages again.  This module keeps
 *
 *  - one descriptor per slab (keyed by the memfd's st_dev/st_ino): every
 *    context of the same srxed uses it for its moves, so all contexts map
 *    frames with the same file; contexts of another srxed (another
 *    device served by another daemon) get their own entry;
 *  - the process lock: REG_MR/DEREG_MR/REREG_MR conversations and the
 *    page moves that belong to them, of all contexts, run under it.  Two
 *    contexts must not move or free overlapping pages at once, and a
 *    context must not get keys for pages (REG_MR answering "already
 *    pinned, nothing to move") while another context is still moving
 *    them onto the slab: holding the lock from REG_MR to the last move
 *    guarantees both.
 *
 * fork(): the prepare handler takes the process lock (so the child never
 * inherits a half-done move or conversation), the parent handler releases
 * it; the child handler gives the child a fresh, unlocked lock and marks
 * every inherited slab entry stale, so a context the child opens starts
 * from scratch (srxed sees a different process and hands out another
 * slab).  Inherited contexts must not be used in the child; closing them
 * only drops their references.
 */
#ifndef SRXE_PROC_H
#define SRXE_PROC_H

#include <stdint.h>

/*
 * Take slab_fd (just received with OPEN_CTX) for a new context: returns
 * the process's descriptor for that slab, which the context then uses and
 * later passes to srxe_proc_put_slab().  slab_fd itself is kept or closed.
 * Returns -1 with errno on failure (slab_fd is then closed).
 */
int srxe_proc_get_slab(int slab_fd);
/* The context that used fd (from srxe_proc_get_slab) is gone. */
void srxe_proc_put_slab(int fd);

/* The process lock (see above).  Not recursive. */
void srxe_proc_lock(void);
void srxe_proc_unlock(void);

#endif /* SRXE_PROC_H */
