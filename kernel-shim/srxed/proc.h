/* SPDX-License-Identifier: MIT */
/*
 * Client processes (issue #12, "frames belong to the process, not the
 * context").  Every context (session) of one process shares one
 * srxed_proc: the slab memfd, srxed's in-place mappings of shared memory
 * (shmreg.h) and the srxe_mem space (frames, translation table with its
 * pin counts, the max_reg_bytes limit).  So a buffer registered in one
 * context is registered in another without moving anything (the page is
 * already pinned: REG_MR returns no run for it), and a frame is freed
 * only when the last MR of any context lets go of it.  Keys, descriptors,
 * MTT records, windows and MR handles stay per context (mr.h).
 *
 * Identity: the pidfs inode of the session's pidfd (two pidfds of one
 * process have equal st_ino, a child's differs, and an inode number is
 * never reused while the pidfd is open).  Where the pidfd is not on pidfs
 * (kernels before 6.9 give every pidfd one anon inode) the key is the pid
 * plus its start time (/proc/PID/stat), read while the pidfd shows the
 * process alive so the pid cannot have been reused in between.  A session
 * without a pidfd gets a process of its own (no sharing).  After execve()
 * (same pid, same pidfs inode, a new address space) the new image is a
 * new process here: the key also holds where its argument and environment
 * areas lie (/proc/PID/stat), which a new mm moves (ASLR), so pages the
 * old image's still-open contexts pinned never stand in for the new
 * image's buffers.
 *
 * Lifetime: each session with a context holds one reference
 * (srxed_mem_open .. srxed_mem_close); the last put frees the space, the
 * slab (the application's mappings of the memfd keep their pages) and the
 * in-place mappings.  Only the control thread calls these; the engine
 * reaches the space through the sessions' srxe_mem clients under the
 * engine lock (mr.c).
 */
#ifndef SRXED_PROC_H
#define SRXED_PROC_H

#include <stdint.h>

#include "shmreg.h"
#include "slab.h"
#include "srxed.h"
#include "translate.h"

struct srxed_session;

struct srxed_proc_key {
	uint32_t kind; /* SRXED_PROC_KEY_* (proc.c) */
	uint64_t a, b, c;
};

struct srxed_proc {
	struct srxed_proc *next; /* d->procs */
	struct srxed_proc_key key;
	uint32_t refs; /* sessions with a context */
	struct srxed_slab slab;
	struct srxed_shmreg shm; /* shared memory registered in place */
	struct srxe_mem_space *space;
	struct srxe_mem_stats seen; /* the space's share of d->stats.mem */
	/* The process's memory for on-demand MRs: its /proc/PID/mem
	 * (srxed_peer_open_mem()) and helper thread, set up at its first
	 * on-demand MR; the space reaches the bytes through it; NULL: not
	 * yet. */
	struct srxe_proc_io *mem_io;
};

/*
 * The process of session s (found or created, one reference taken).  0 or
 * a positive errno with why (SRXE_REASON_MAX + 1 bytes).
 */
int srxed_proc_get(struct srxed *d, const struct srxed_session *s,
		   struct srxed_proc **out, char *why);
/* Drop a reference; the last one frees the process's memory. */
void srxed_proc_put(struct srxed *d, struct srxed_proc *p);

/* Number of processes (tests, status). */
unsigned srxed_proc_count(const struct srxed *d);

#endif /* SRXED_PROC_H */
