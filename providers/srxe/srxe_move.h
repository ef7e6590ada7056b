/* SPDX-License-Identifier: MIT */
/*
 * Page mover: puts the pages behind a registered buffer onto slab frames
 * and back, keeping the virtual address and the bytes the application sees.
 *
 * The daemon owns "physical memory" (DESIGN.md section 2): data frames are
 * pages of a per-context memfd (the slab) that srxed also maps.  At
 * ibv_reg_mr the provider calls srxe_move_to_slab() so that the buffer's
 * pages become slab frames the daemon can read and write; at ibv_dereg_mr it
 * calls srxe_move_to_private() so that the frames can be handed out again.
 *
 * Contract shared by both calls:
 *
 *  - va and len are multiples of SRXE_MOVE_PAGE_SIZE, len > 0, the range
 *    does not wrap, and slab_off is page aligned with slab_off + len inside
 *    the memfd's current size.  Otherwise -EINVAL (a negative slab_fd gives
 *    -EBADF).
 *  - Every page of [va, va + len) is mapped (-EFAULT otherwise) and
 *    readable (-EACCES otherwise).  Only r-- and rw- mappings are accepted;
 *    executable ones give -EOPNOTSUPP.  Special kernel mappings ([vdso],
 *    [vvar], ...) give -EFAULT.
 *  - The range may span several VMAs (heap, mmap, stack, private mappings
 *    of memfd/tmpfs files; of disk files see below); the replacement is
 *    always a single mremap() of one VMA, split again only where read-only
 *    pages need their protection back.
 *  - Bytes outside the buffer that share its first or last page (malloc
 *    neighbours, the caller's own locals) move with it and stay intact.
 *  - Atomic with respect to the application's other threads
 *    (docs/move-atomicity.md): while a range moves it is write-protected
 *    with userfaultfd, so a store into it by any thread -- unrelated heap
 *    objects on the first/last page, the caller's own stack, a kernel
 *    copy_to_user such as read(2) -- either lands before the copy or waits
 *    and lands in the new pages.  Reads are never blocked.  The protected
 *    part runs on the provider's mover thread (srxe_uffd.h); the caller
 *    sleeps meanwhile, and may itself block in a fault and be woken.
 *  - With a user-mode-only userfaultfd (the kernel refuses full mode to
 *    unprivileged processes: vm.unprivileged_userfaultfd = 0), a kernel
 *    write into the range during a move fails with EFAULT instead of
 *    waiting (for example read(2) by another thread).
 *  - Not covered (no mover can): DMA and kernel writes through pages pinned
 *    before the move -- O_DIRECT I/O in flight, io_uring fixed buffers,
 *    another device's MR, vmsplice -- still write the old pages.
 *  - If the kernel refuses userfaultfd write-protection (ENOSYS, EPERM
 *    under seccomp, a kernel without WP_UNPOPULATED or shmem WP), or cannot
 *    protect the range's mappings (a private mapping of a disk file), the
 *    move still runs, unprotected on the calling thread, when no thread
 *    but the caller and libsrxe's own exists (srxe_threads.h: nobody else
 *    could store into the range).  Otherwise it fails with -EOPNOTSUPP
 *    after one line on stderr.  With
 *    SRXE_MOVE_UNSAFE=1 in the environment it then moves unprotected on the
 *    calling thread instead: other threads' writes to the pages may be
 *    lost, so register from one thread only.  -EBUSY: another userfaultfd
 *    (the application's) has the range registered.
 *  - The mover's own stack and mailbox cannot be moved (-EINVAL).
 *  - On failure the range is left as it was and the slab frames are
 *    returned to holes (to_slab) or untouched (to_private); the exception is
 *    restoring read-only protection after a successful mremap, see below.
 *  - The new mapping is a fresh VMA: mlock(), madvise() hints, VMA names and
 *    uffd registrations of the old range are not carried over.
 *  - Moves are serialized process-wide; after fork() the child's first move
 *    sets the mover up afresh.
 */
#ifndef SRXE_MOVE_H
#define SRXE_MOVE_H

#include <stddef.h>
#include <stdint.h>

/* The slab's frame size; the only page size the mover handles (x86-64). */
#define SRXE_MOVE_PAGE_SIZE 4096UL

/*
 * Replace the mapping of [va, va + len) with frames [slab_off, slab_off + len)
 * of memfd slab_fd (MAP_SHARED), preserving contents and protection.
 *
 * Only pages that may hold non-zero data are copied: a page of a private
 * anonymous mapping that was never faulted in and is not in swap reads as
 * zero and is skipped, unless the destination frame holds data.  Skipping is
 * therefore correct only because the daemon hands out frames that are holes
 * in the memfd (it punches them on free); frames that still hold data are
 * overwritten with the (zero) source, so stale data never leaks, but at the
 * cost of a copy.  A multi-GiB mostly untouched buffer costs a page-table
 * scan, not a copy.
 *
 * The source must be private memory: a range already mapped from slab_fd
 * gives -EBUSY, other shared mappings -EOPNOTSUPP (moving them would
 * silently break their sharing; the daemon could map their object
 * directly instead).
 *
 * Returns 0 or a negative errno.  If the move itself succeeded but giving
 * read-only parts their PROT_READ back failed (-ENOMEM: too many VMAs), the
 * range IS on the slab, all of it writable; the caller may move it back.
 */
int srxe_move_to_slab(void *va, size_t len, int slab_fd, uint64_t slab_off);

/*
 * Replace the slab mapping of [va, va + len) with private anonymous memory
 * holding the same contents and protection.  slab_fd and slab_off must be
 * the ones given to srxe_move_to_slab(): the range must still map exactly
 * those frames, else -EINVAL (the application unmapped or remapped it;
 * there is then nothing to move back) or -EFAULT (part is unmapped).
 *
 * Holes of the memfd are not read (reading them would allocate frames) and
 * stay untouched, unfaulted pages of the private copy.  The frames are left
 * as they are; freeing them is the daemon's business.
 *
 * Returns 0 or a negative errno, with the same protection caveat as
 * srxe_move_to_slab().
 */
int srxe_move_to_private(void *va, size_t len, int slab_fd, uint64_t slab_off);

/*
 * Tests only: call fn(arg) on the mover thread inside every write-protected
 * window (after the protection, before the copy).  fn must keep to the
 * window's rules (srxe_uffd.h) and must not write the range.  NULL removes.
 */
void srxe_move_set_window_hook(void (*fn)(void *arg), void *arg);

#endif /* SRXE_MOVE_H */
