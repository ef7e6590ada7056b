/* SPDX-License-Identifier: MIT */
/*
 * Only one's own memory (issue #12): srxed runs as root, so everything it
 * learns about or maps of a client's address space must be the client's
 * own, with the rights the client itself has.
 *
 * Identity.  The client is the process on the other end of its socket,
 * held as a pidfd taken at accept (struct srxed_session.pidfd,
 * SO_PEERPIDFD).  A request never names a pid, fd or path that srxed
 * would use; srxed ignores any that appear.
 *
 * Race-free /proc access.  srxed_peer_open() opens /proc/PID as a
 * directory and only then asks the pidfd whether its process still
 * lives (pidfd_send_signal(pidfd, 0)).  The directory pins the process
 * that had PID when it was opened; the process the pidfd names cannot
 * have been alive after the open unless that was it, so a pid reused
 * after the client exited yields ESRCH and nothing is read or mapped.
 * Every later access (maps, map_files, status, ns/ipc) is openat()
 * relative to that directory: if the process exits meanwhile, the
 * lookups fail, they never reach another process.
 *
 * Who sends.  A context's socket can be inherited (fork) or passed to
 * another process.  srxed_peer_sender_ok() compares every request's
 * SCM_CREDENTIALS pid (the kernel fills in the sender's tgid at send
 * time and refuses a forged one to anyone without CAP_SYS_ADMIN) with
 * the session's: while the owner lives no other process has its pid, so
 * a forked child or a process the socket was handed to is refused
 * (EACCES).  Only after the owner exited can another process carry its
 * pid (pid reuse); the liveness test is not repeated per request (a
 * system call, measurable on the control path) but wherever srxed looks
 * at or maps client memory: srxed_peer_open() refuses a dead owner, so
 * such a sender may drive the dead owner's remaining objects but gets
 * no memory (REG_MR: EACCES).
 *
 * Registration (srxed_peer_check_reg(), before any frame is allocated):
 *  - the owner still lives, else EACCES (see above);
 *  - every page of [va, va + length) lies in a VMA of the client, else
 *    EFAULT;
 *  - the VMA is readable, and writable when the registration asks
 *    LOCAL_WRITE, REMOTE_WRITE or REMOTE_ATOMIC, else EFAULT (as rxe's
 *    ib_umem_get(), whose FOLL_WRITE pin fails on a read-only VMA);
 *  - a VMA that maps a shared object (a file, memfd, shmem; not SysV,
 *    which shmreg.h checks against the segment's IPC owner) must be an
 *    object the client's credentials (session ucred uid/gid, its current
 *    supplementary groups) could open with the rights asked, else
 *    EACCES.  This is checked first, so another user's file mapped
 *    read-only and registered writable gives EACCES rather than EFAULT.
 *    The check is the kernel's own: srxed reopens the object (an O_PATH
 *    descriptor of map_files/<start>-<end>) through /proc/self/fd on its
 *    control thread with the client's fsuid/fsgid/groups, so modes, ACLs,
 *    read-only mounts and LSMs all count.  Root clients pass.  srxed
 *    opens nothing but regular files, and none on FUSE (its server could
 *    stall srxed in open()): srxed_peer_open_object() gives EOPNOTSUPP.
 * shmreg.c repeats the object check at the moment it really opens the
 * object (the client may remap between the two), via
 * srxed_peer_open_object().
 *
 * Private memory needs nothing more: the provider copies it onto frames
 * of the client's own slab, and srxed never reads the client's pages.
 *
 * Functions return 0 or a positive errno and, where they take why, a
 * reason for a person (SRXE_REASON_MAX + 1 bytes).  They never keep a
 * descriptor open.
 */
#ifndef SRXED_PEER_MEM_H
#define SRXED_PEER_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "session.h"

/* /proc/PID of the pidfd's process as an O_DIRECTORY fd, or -errno
 * (-ESRCH: it exited, its pid may name another process now). */
int srxed_peer_open(pid_t pid, int pidfd);

/*
 * /proc/PID/mem of the pidfd's process, read-write, for on-demand MRs
 * (docs/odp.md): opened inside srxed_peer_open()'s directory, so it is
 * that process's memory or nothing; it stays bound to the address space
 * it was opened for (after the process exits or execs, accesses fail).
 * It gives srxed what the process has through its own /proc/self/mem.
 * fd, or -ESRCH (it exited), -errno.
 */
int srxed_peer_open_mem(pid_t pid, int pidfd);

/* Whether the pidfd's process has not been reaped yet. */
bool srxed_peer_alive(int pidfd);

/* The request's sender (SCM_CREDENTIALS; NULL: none came) is the
 * session's process: 0, else EACCES with why. */
int srxed_peer_sender_ok(const struct srxed_session *s,
			 const struct ucred *sender, char *why);

/* The parts of a registration that lie in private mappings (page-aligned,
 * ascending); more than fit: overflow, the list is incomplete. */
#define SRXED_PEER_RANGES_MAX 32

struct srxed_peer_ranges {
	struct {
		uint64_t start, end;
	} v[SRXED_PEER_RANGES_MAX];
	unsigned int n;
	bool overflow;
	bool file_backed; /* some private part maps a file (hugetlbfs?) */
};

/*
 * The REG_MR checks above for [va, va + length) with IBV_ACCESS_* access:
 * 0, EFAULT, EACCES (also: the owner exited) or ESRCH (it exited while
 * registering) with why.  Mappings of @slab_fd (the context's slab: frames
 * srxed itself handed the client; -1: none) need no object check.
 * *shared: some page lies in another shared mapping (else shmreg has
 * nothing to adopt and need not read the maps again).  *priv (may be
 * NULL): the parts in private mappings, which the provider moves.
 */
int srxed_peer_check_reg(const struct srxed_session *s, uint64_t va,
			 uint64_t length, uint32_t access, int slab_fd,
			 bool *shared, struct srxed_peer_ranges *priv,
			 char *why);

/*
 * Open the object behind the client's mapping [start, end) (dir: from
 * srxed_peer_open()) with open flags @flags, after checking that the
 * client's credentials could open it with the rights @write says.
 * fd, or -EACCES (the client may not), -errno.
 */
int srxed_peer_open_object(int dir, const struct ucred *cred, uint64_t start,
			   uint64_t end, int flags, bool write);

#endif /* SRXED_PEER_MEM_H */
