/* SPDX-License-Identifier: MIT */
/*
 * fork() like a current kernel (issue #12, docs/plan-issue12.md section 3,
 * option A): after fork the child has a private copy of registered memory,
 * the parent's MRs and QPs keep working, and the child can open the device
 * afresh.
 *
 * A moved run (srxe_move.h) is a MAP_SHARED mapping of the context's slab
 * memfd.  The kernel can only give a child a private copy of a private
 * mapping, so a shared run is marked MADV_DONTFORK (the child gets a hole,
 * never the parent's live frames) and this module fills the hole in the
 * child from the slab, in a pthread_atfork child handler.
 *
 * Contract:
 *  - srxe_fork_hold() / srxe_fork_release() bracket every move and its
 *    bookkeeping (srxe_mr.c).  fork() waits for the bracket to end (the
 *    prepare handler takes the same lock), so a run is never half moved,
 *    moved but not yet DONTFORK, or moved back but still recorded while
 *    the kernel copies the address space.  They are a plain mutex: never
 *    call fork() or another srxe_fork_*() between them, except track/
 *    untrack.  A process-wide registration lock (if any) is taken before.
 *  - srxe_fork_track() (lock held): [va, va + len) now maps slab frames
 *    [slab_off, slab_off + len) of ctx's slab.  Marks the range
 *    MADV_DONTFORK and records it.  0 or a positive errno (ENOMEM; then
 *    nothing is recorded and the caller moves the run back).
 *  - srxe_fork_untrack() (lock held): [va, va + len) no longer maps the
 *    frames [slab_off, slab_off + len) of ctx's slab (moved back, or found
 *    unmapped); any part of a recorded run.  Records of the same addresses
 *    that name other frames (a newer registration after the application
 *    replaced the mapping) stay; srxe_fork_track() drops them instead.
 *  - The registry keeps its own duplicate of each slab fd, shared by the
 *    context and every run recorded on it, so a child can still read the
 *    frames of MRs whose context was closed without deregistering them.
 *    Its storage is anonymous mmap, never the malloc heap (the heap may
 *    itself be registered, and is not the child's to trust at fork).
 *  - srxe_fork_ctx_add() at the end of alloc_context (0 or a positive
 *    errno: ENOMEM, EMFILE), srxe_fork_ctx_del() first in free_context and
 *    on alloc_context's error path (a context never added is ignored).
 *
 * What fork() does, per ibv_is_fork_initialized() as seen at the first
 * registration (it cannot change later: libibverbs refuses ibv_fork_init()
 * once a region was registered):
 *  - IBV_FORK_ENABLED (RDMAV_FORK_SAFE / IBV_FORK_SAFE / ibv_fork_init()):
 *    libibverbs' contract, the child has no mapping at registered pages.
 *  - otherwise (DISABLED, UNNEEDED): the child gets, at every page the
 *    parent maps from a slab frame that was recorded, a private anonymous
 *    page holding the frame's bytes as read by the child handler, with the
 *    parent's protection.  fork() returns in the parent only once the
 *    child has copied (or died, or 30 s passed), so the forking thread's
 *    later writes never reach the child; the parent's other threads and
 *    srxed's engine are not held back, and their writes during fork() may
 *    or may not show: the bytes are those of a moment during fork().
 *  - In both cases every context inherited by the child is dead there:
 *    no request goes out on the inherited sockets, control verbs fail with
 *    EIO, posts fail with EIO, destroy/dereg/close succeed locally
 *    (srxe_fatal.h), the child's ring arena is a private copy, so polling
 *    an inherited CQ cannot consume the parent's completions.  The child
 *    opens the device again to use it.
 *
 * glibc's fork, in a multithreaded parent, writes malloc arena headers
 * and FILE locks in the child *before* any atfork child handler runs.
 * While fork() runs, a SIGSEGV handler (alternate stack) restores the
 * segment such a write hits in the child, and the write retries; any other
 * fault goes to the application's handler, which is put back at once.
 *
 * Residual hazard (providers/srxe/README.md): registered pages of the
 * forking thread's stack that fork()'s own frames use are not repaired
 * (the parent's fork path rewrote them): the child dies with SIGSEGV
 * inside fork(), as every child did before this module.
 */
#ifndef SRXE_FORK_H
#define SRXE_FORK_H

#include <stddef.h>
#include <stdint.h>

struct srxe_context;

void srxe_fork_hold(void);
void srxe_fork_release(void);

int srxe_fork_track(struct srxe_context *ctx, void *va, size_t len,
		    uint64_t slab_off);
void srxe_fork_untrack(struct srxe_context *ctx, void *va, size_t len,
		       uint64_t slab_off);

int srxe_fork_ctx_add(struct srxe_context *ctx);
void srxe_fork_ctx_del(struct srxe_context *ctx);

#endif /* SRXE_FORK_H */
