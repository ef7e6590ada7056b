/* SPDX-License-Identifier: MIT */
/*
 * The page mover's userfaultfd and its thread (docs/move-atomicity.md).
 *
 * One userfaultfd per process, created on first use: full mode if the
 * kernel allows it (a kernel write into a write-protected page, read(2)
 * for example, then waits like a CPU store), otherwise UFFD_USER_MODE_ONLY
 * (such a kernel write fails with EFAULT while a move is in progress).
 * The handshake asks for write-protect faults (kernel 5.7+), and where
 * offered write-protection of never-populated anonymous PTEs
 * (WP_UNPOPULATED, 6.4+) and of shmem (the slab, for the move back;
 * 5.19+).  Without WP_UNPOPULATED a range is also registered for
 * missing-page faults, so that the first touch of a never-populated page
 * waits like a store to a protected one (Debian 12's kernel 6.1).  A
 * kernel without write-protect faults makes srxe_uffd_run() fail with
 * -EOPNOTSUPP after one line on stderr; without shmem protection, the
 * move back is unprotectable (srxe_uffd_protect() -EOPNOTSUPP).
 *
 * One mover thread per process runs the protected part of every move.  Its
 * stack, TLS and the hand-over mailbox lie in one private mapping that no
 * move may cover (srxe_uffd_owns()), so that it never faults on a page it
 * has write-protected itself.  The caller hands over a request and sleeps
 * on a futex; if the caller's own stack is being moved it simply blocks in
 * its write-protect fault like any other thread and is woken at the end.
 *
 * Contract for the function run on the mover thread, between
 * srxe_uffd_protect() and srxe_uffd_release(): no malloc, no stdio, no lock
 * an application thread could hold (a blocked application thread may hold
 * it), no lazy symbol binding (libsrxe is linked with -z now), no store
 * into the protected range.  Raw system calls and stores into memory of its
 * own (its stack, its own mmaps) only.
 *
 * After fork() the child has neither the thread nor a usable descriptor
 * (the uffd would still act on the parent's mm); a pthread_atfork child
 * handler forgets both and the next srxe_uffd_run() starts afresh.
 */
#ifndef SRXE_UFFD_H
#define SRXE_UFFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * True when ranges are registered for missing-page faults (no
 * WP_UNPOPULATED): a read of a never-populated page in the window waits
 * too, and no markers exist (swap-like pagemap entries are data).  Valid
 * inside a function srxe_uffd_run() runs.
 */
bool srxe_uffd_missing_faults(void);

/*
 * For tests: handshake as with a kernel before 6.4 (no WP_UNPOPULATED,
 * missing-page faults instead).  Call before the first move.
 */
void srxe_uffd_without_wp_unpopulated(void);

/* The largest argument srxe_uffd_run() copies into the mailbox. */
#define SRXE_UFFD_ARG_MAX 128

/*
 * Run fn(copy of arg) on the mover thread and return its result, after
 * making sure the userfaultfd and the thread exist.  One request at a time
 * per process (callers are serialized here).  -EOPNOTSUPP: the kernel does
 * not offer what is needed (said once on stderr); -EAGAIN/-ENOMEM: the
 * thread could not be started.
 */
int srxe_uffd_run(int (*fn)(void *arg), const void *arg, size_t arg_len);

/* Why the kernel refused userfaultfd (after -EOPNOTSUPP), or NULL. */
const char *srxe_uffd_refusal(void);

/* The process's userfaultfd, valid inside a function srxe_uffd_run() runs. */
int srxe_uffd_fd(void);

/* Whether kernel writes wait (full mode) rather than fail with EFAULT. */
bool srxe_uffd_full_mode(void);

/*
 * The /proc/self/pagemap entry (masked with SRXE_UFFD_PME_MASK) of a
 * never-populated anonymous page that srxe_uffd_protect() protected: such a
 * page holds no data although pagemap calls it swapped.  0 if unknown or
 * not distinguishable from a swapped-out page (pagemap hides swap details
 * from processes without CAP_SYS_ADMIN).
 */
#define SRXE_UFFD_PME_MASK ((1ULL << 63) | (1ULL << 62) | ((1ULL << 55) - 1))
uint64_t srxe_uffd_marker_pme(void);

/* Whether [va, va + len) touches the mover's own mapping (stack, mailbox). */
bool srxe_uffd_owns(uintptr_t va, size_t len);

/* Part of a range that lies in one VMA. */
struct srxe_uffd_span {
	uintptr_t start, end;
};

/*
 * Register [va, va + len) for write-protect faults and write-protect every
 * page in it, populated or not; spans[n] are its VMAs (kernels before 6.5
 * write-protect within one VMA per call: ENOENT otherwise).  From the
 * return on, every store into the range waits until srxe_uffd_release().
 * -EBUSY: some other userfaultfd has the range registered; -EOPNOTSUPP: a
 * VMA of a kind userfaultfd cannot write-protect (a private mapping of a
 * disk file); other -errno from the kernel.  On failure nothing stays
 * registered or protected.
 */
int srxe_uffd_protect(uintptr_t va, size_t len,
		      const struct srxe_uffd_span *spans, size_t n);

/*
 * End the window opened by srxe_uffd_protect() with the same spans.
 * replaced: the range was mremap()ed over (its registration went with the
 * old VMA), so only the waiters are woken; otherwise protection is cleared
 * (which wakes them) and the range unregistered.
 */
void srxe_uffd_release(uintptr_t va, size_t len,
		       const struct srxe_uffd_span *spans, size_t n,
		       bool replaced);

#endif /* SRXE_UFFD_H */
