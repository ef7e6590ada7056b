/* SPDX-License-Identifier: MIT */
/*
 * srxe control protocol, memory registration (issue #3).  Framing, status
 * and error rules are those of include/srxe/proto.h.
 *
 * The slab: OPEN_CTX's reply carries (SCM_RIGHTS) a memfd of
 * srxe_open_ctx_resp.slab_bytes bytes, the client context's "physical
 * memory".  srxed maps it too.  Frame f is bytes [f * 4096, f * 4096 + 4096).
 *
 * Registration is a conversation in which srxed decides and the provider
 * moves pages:
 *
 *  REG_MR     srxed pins the pages of [va, va + length), gives absent pages
 *             zeroed frames and answers with the keys and the runs of new
 *             frames.  The provider copies each run's pages onto its frames
 *             and maps them at run.va (srxe_move_to_slab).  If that fails
 *             it deregisters (DEREG_MR ... DEREG_DONE).  All or nothing:
 *             on an error reply nothing changed.
 *  DEREG_MR   the MR dies at once (its keys are rejected from now on).  The
 *             reply lists the frames no MR pins any more; they stay
 *             QUARANTINED (never handed out again) because the application
 *             still maps them at its addresses.  The provider moves those
 *             pages back to private memory (srxe_move_to_private), fetching
 *             runs beyond the first SRXE_MR_RUNS_MAX with DEREG_RUNS.
 *  DEREG_DONE srxed punches the quarantined frames (they read as zero
 *             again, which the mover relies on) and frees them and the
 *             MR handle.  Closing the context or the connection does the
 *             same for every MR at once.
 */
#ifndef SRXE_PROTO_MR_H
#define SRXE_PROTO_MR_H

#include <stdint.h>

/*
 * Runs per reply: the largest count that keeps a REG_MR/DEREG_MR reply
 * within SRXE_MSG_MAX (checked with static asserts in proto.c).  A
 * registration that would need more new runs is refused with ENOMEM.
 */
#define SRXE_MR_RUNS_MAX 160

/* One run of frames: npages of va map frames at slab_off onwards. */
struct srxe_mr_run {
	uint64_t va;	   /* page aligned */
	uint64_t slab_off; /* page aligned offset in the slab memfd */
	uint64_t len;	   /* bytes, multiple of 4096 */
};

struct srxe_reg_mr_req {
	uint32_t pd_handle; /* a PD of this context */
	uint32_t access;    /* IBV_ACCESS_*; optional bits must be masked */
	uint64_t va;	    /* first byte; any alignment */
	uint64_t length;    /* bytes, > 0 */
	uint64_t iova;	    /* address work requests use for va */
};

struct srxe_reg_mr_resp {
	uint32_t lkey;
	uint32_t rkey; /* 0 without remote access */
	uint32_t mr_handle;
	uint32_t nruns; /* runs[0..nruns) to move onto the slab */
	struct srxe_mr_run runs[SRXE_MR_RUNS_MAX];
};

struct srxe_dereg_mr_req {
	uint32_t mr_handle;
	uint32_t reserved; /* must be 0 */
};

/* DEREG_MR reply, also the DEREG_RUNS reply. */
struct srxe_dereg_mr_resp {
	uint32_t nruns_total; /* runs released by the MR altogether */
	uint32_t nruns;	      /* runs[0..nruns) of this reply */
	struct srxe_mr_run runs[SRXE_MR_RUNS_MAX];
};

/* DEREG_RUNS: the released runs from index first on (first < total). */
struct srxe_dereg_runs_req {
	uint32_t mr_handle; /* after DEREG_MR, before DEREG_DONE */
	uint32_t first;
};

/* DEREG_DONE: srxe_dereg_mr_req body, empty reply. */

#endif /* SRXE_PROTO_MR_H */
