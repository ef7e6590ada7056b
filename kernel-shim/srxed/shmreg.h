/* SPDX-License-Identifier: MIT */
/*
 * Registering shareable memory in place (issue #10: SysV; issue #12: every
 * shared mapping of a regular file -- MAP_SHARED|MAP_ANONYMOUS (shmem),
 * memfd, tmpfs and disk files).
 *
 * Private memory is moved onto slab frames by the provider (srxe_move.h).
 * A SysV segment cannot be moved without breaking its sharing: UCX
 * allocates every ucp_mem_map() buffer with shmget() and lets same-host
 * peers attach it by shmid.  So srxed maps the segment itself: for each
 * new frame run that lies in a SysV attachment of the client (its
 * /proc/PID/maps names "/SYSV<key>", inode = shmid), srxed attaches the
 * segment and puts the matching part of it over those frames in its own
 * mapping of the slab (mremap MREMAP_FIXED).  The engine then reads and
 * writes the very pages the application and its peers see, as a NIC DMAs
 * to pinned pages; the run is dropped from what the provider moves.
 *
 * Who may: the segment's owner or creator uid must be the client's
 * (SO_PEERCRED) unless the client is root, the client must be in srxed's
 * IPC namespace (a shmid means nothing elsewhere), the attachment must be
 * writable, and srxed needs IPC permission on it (root, or the same uid).
 * Pages that do not qualify stay in the runs: the provider then refuses
 * them as other shared memory (EOPNOTSUPP), as before.
 *
 * Other shared mappings (issue #12): the same, but srxed opens the very
 * object the client maps through /proc/PID/map_files/<start>-<end> of the
 * client's /proc directory pinned by its session pidfd (peer_mem.h: a
 * reused pid gets nothing), only if the client's own credentials could
 * open it with the rights asked (-EACCES otherwise), and keeps it only if
 * the file's device and inode are the ones the maps line named.  srxed maps it
 * MAP_SHARED|MAP_FIXED over the frames at the VMA's file offset, with the
 * client's protection (read-only mappings stay read-only in srxed too).  Only
 * regular files (no device memory), not srxed's own memfds (any context's slab
 * or rings: a buffer registered in another context stays refused, EOPNOTSUPP).
 * Huge pages go their own way (below): a huge page cannot sit on scattered 4
 * KiB frames.
 *
 * Rights: a read-only shared mapping may be registered for read access
 * only.  If the registration asks LOCAL_WRITE, REMOTE_WRITE or
 * REMOTE_ATOMIC, srxed_shmreg_adopt() fails with -EFAULT, as rxe's
 * ib_umem_get() does when its FOLL_WRITE pin meets a read-only VMA.
 *
 * When the frames are freed, srxed puts its memfd mapping back over them
 * (which drops its attachment) before they can be handed out again.
 *
 * Huge pages (issue #12; docs/memory-kinds.md): a shared mapping whose
 * object lies on hugetlbfs -- a hugetlbfs file, an MFD_HUGETLB memfd, an
 * SHM_HUGETLB segment, MAP_HUGETLB|MAP_SHARED -- is registered in place too,
 * and stays huge on both sides.  hugetlbfs maps only whole huge pages at
 * huge-aligned addresses and offsets, so before the registration pins its
 * pages, srxed_shmreg_huge_get() pins every huge page the range touches
 * WHOLE (also when the registration starts or ends in its middle) on a run
 * of frames that starts on a huge-page boundary of srxed's slab view
 * (srxe_frames_aim_aligned()), and maps the object there.  The
 * registration's own pin then finds those pages present, so the provider
 * gets no run for them and never touches the application's mapping.  Each
 * huge page is counted once per registration that touches it; the last
 * srxed_shmreg_huge_put() unpins it and puts the memfd back.  Private huge
 * pages (MAP_PRIVATE|MAP_HUGETLB, or a hugetlbfs file mapped private)
 * cannot be shared with srxed and moving them would split them into 4 KiB
 * pages: they are refused with EOPNOTSUPP.
 */
#ifndef SRXED_SHMREG_H
#define SRXED_SHMREG_H

#include <stdint.h>
#include <sys/socket.h>

#include "frames.h"
#include "pagetable.h"
#include "slab.h"

/* A huge page of the client, pinned whole and shown in srxed's view. */
struct srxed_huge {
	uint64_t va;	/* the client's huge page (aligned) */
	uint64_t bytes; /* its size: 2 MiB, 1 GiB, ... */
	uint32_t frame; /* first of its frames; the view is aligned there */
	uint32_t refs;	/* registrations that touch it */
};

/* Frames of one slab that show a shared object; zero-initialized. */
struct srxed_shmreg {
	uint64_t *adopted; /* bitmap, one bit per frame; NULL: none yet */
	uint64_t nframes;
	uint64_t frames_adopted;
	struct srxed_huge *huge; /* huge pages in place, unordered */
	size_t nhuge, huge_cap;
};

/*
 * For every page of runs (just allocated, not yet written) that the client
 * @cred maps from a shareable object as described above: map it at its
 * frame, mark the frame and remove the page from runs.  @pidfd: the
 * client's (session.h; -1: files are not adopted, SysV is).  @access: the
 * registration's IBV_ACCESS_* flags.  Returns the number of pages adopted,
 * or a negative errno (runs then lists at least every page that was not
 * adopted; adopted pages are marked either way).  -EFAULT: a read-only
 * shared mapping with write access asked; -EACCES: the client may not
 * open the object with the rights asked; -ESRCH: the client exited.  On
 * those the caller must fail the registration (and release what was
 * adopted).
 */
long srxed_shmreg_adopt(struct srxed_shmreg *sr, struct srxed_slab *slab,
			const struct ucred *cred, int pidfd, uint32_t access,
			struct srxe_runs *runs);

/*
 * freed: runs just freed by srxe_mem_dereg().  Adopted frames among them
 * get the memfd mapping back and are removed from freed (the provider has
 * nothing to move back there, and they need no quarantine).
 */
void srxed_shmreg_release(struct srxed_shmreg *sr, struct srxed_slab *slab,
			  struct srxe_runs *freed);

/*
 * Before pinning [va, va + len) for a registration with @access: take one
 * reference on every huge page already in place that the range touches,
 * and put in place (pin whole in @pt, map the object at aligned frames)
 * every other huge page of a shared hugetlbfs mapping of the client that
 * it touches.  0, or a negative errno with *why set, having taken nothing:
 * -EOPNOTSUPP private huge pages; -EFAULT a read-only mapping with write
 * access; -EACCES a SysV segment the client may not register; -EBUSY a huge
 * page part of which is already registered as other memory; -ENOMEM no
 * aligned run of free frames; other errors from /proc or mmap.
 */
int srxed_shmreg_huge_get(struct srxed_shmreg *sr, struct srxed_slab *slab,
			  struct srxe_pt *pt, const struct ucred *cred,
			  int pidfd, uint64_t va, uint64_t len, uint32_t access,
			  const char **why);

/*
 * After the registration's own pages of [va, va + len) were unpinned (or
 * its pin failed): drop the references srxed_shmreg_huge_get() took; a huge
 * page nobody references is unpinned and gets srxed's memfd view back.
 */
void srxed_shmreg_huge_put(struct srxed_shmreg *sr, struct srxed_slab *slab,
			   struct srxe_pt *pt, uint64_t va, uint64_t len);

void srxed_shmreg_destroy(struct srxed_shmreg *sr);

#endif /* SRXED_SHMREG_H */
