/* SPDX-License-Identifier: MIT */
/*
 * Per-client state: who the client is (SO_PEERCRED, taken at connect) and
 * what it owns (its verbs context, async-event fd, PDs, memory and MRs;
 * later CQs, QPs).  Every object a client creates is reachable from its
 * session, so destroying the session frees everything, whatever way the client
 * left.
 *
 * The control plane is the only writer.  Engine threads (later issues)
 * will reach objects through the session's handle tables, never through
 * the connection that carries the control protocol.
 */
#ifndef SRXED_SESSION_H
#define SRXED_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "handles.h"
#include "srxed.h"

struct srxed_mem;
struct srxed_proc;
struct srxed_verbs_ctx;
struct srxed_chan_ctx;
struct srxe_capture;

struct srxed_session {
	uint64_t id; /* daemon-unique, shown in the log and as ctx_handle */
	struct ucred cred;
	/* pidfd of the process that connected (SO_PEERPIDFD; older kernels:
	 * pidfd_open(cred.pid) at accept), or -1.  shmreg.h uses it so that
	 * a pid reused after the client exited gets nothing. */
	int pidfd;
	char comm[17]; /* the peer's /proc/PID/comm, for the log */
	bool has_ctx;
	int async_fd; /* write end of the client's async-event pipe, or -1 */
	struct srxed_handles pds;
	struct srxed_mem *mem; /* translation, MRs (mr.h); NULL
				* without a context */
	/* The process's shared memory (proc.h) while there is a context. */
	struct srxed_proc *proc;
	/* Rings, doorbell, CQs, QPs, SRQs, AHs (verbs.h); NULL until the
	 * first request that needs them.
	 */
	struct srxed_verbs_ctx *verbs;
	struct srxe_capture *capture; /* `srxe capture` (capture_ctl.h) */
	struct srxed_chan_ctx *chan;  /* completion channels (chan.h) or NULL */
};

struct srxed_pd {
	uint32_t handle;
	uint32_t users; /* MRs, QPs, ... that name it; busy while non-zero */
};

/* Records the peer's credentials of the connected socket fd. */
struct srxed_session *srxed_session_new(uint64_t id, int sock_fd);
/* Frees everything the client owns and the session itself. */
void srxed_session_destroy(struct srxed *d, struct srxed_session *s);

/*
 * Creates the context's memory (slab, translation state) and takes
 * ownership of async_fd (-1 for none) on success.  0 or a positive errno
 * with why (SRXE_REASON_MAX + 1 bytes).
 */
int srxed_session_open_ctx(struct srxed *d, struct srxed_session *s,
			   int async_fd, char *why);
/* Frees the context and every object in it; the session stays usable. */
void srxed_session_close_ctx(struct srxed *d, struct srxed_session *s);

/* 0 or a positive errno with *why saying which limit was hit. */
int srxed_session_alloc_pd(struct srxed *d, struct srxed_session *s,
			   uint32_t *handle, const char **why);
/* 0, EINVAL (no such PD) or EBUSY (still in use), with *why. */
int srxed_session_dealloc_pd(struct srxed *d, struct srxed_session *s,
			     uint32_t handle, const char **why);

#endif /* SRXED_SESSION_H */
