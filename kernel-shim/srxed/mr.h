/* SPDX-License-Identifier: MIT */
/*
 * Memory of one client context: its srxe_mem client (keys, protection
 * state, windows) in its process's memory space (proc.h: slab, frames,
 * translation table and pin counts, shared by every context of the
 * process) and its MR handle table, driven by REG_MR / DEREG_MR /
 * DEREG_RUNS / DEREG_DONE (include/srxe/proto_mr.h).
 *
 * Contract:
 *  - An MR handle is LIVE from REG_MR to DEREG_MR and then DYING until
 *    DEREG_DONE: its keys are dead, its PD no longer counts it, but the
 *    frames it released stay quarantined (held in the allocator, not
 *    punched) because the application still maps them.
 *  - Another context of the same process may register the same pages:
 *    they are pinned once more and REG_MR returns no run for them;
 *    DEREG_MR of one context releases only frames no context pins.
 *  - srxed_mem_close() ends everything of the context at once
 *    (CLOSE_CTX, client death): its keys die, no frame is punched, and
 *    the frames its live or dying MRs had stay pinned or quarantined in
 *    the process's space until the process's last context closes, since
 *    the application's mappings of the memfd keep its data there.
 *  - max_reg_bytes limits the MRs of all contexts of one process
 *    together (the slab is the process's).
 *  - d->stats.mem always equals the sum of every context's
 *    srxe_mem_client_stats plus every process's srxe_mem_space_stats;
 *    d->stats.mr_handles counts LIVE + DYING handles against
 *    cfg.max_mrs.
 *  - Functions return 0 or a positive errno with rep_why (a buffer of
 *    SRXE_REASON_MAX + 1 bytes) saying what a person should know.
 */
#ifndef SRXED_MR_H
#define SRXED_MR_H

#include "session.h"
#include "srxe/proto.h"

/* 0 or a positive errno with why. */
int srxed_mem_open(struct srxed *d, struct srxed_session *s, char *why);
void srxed_mem_close(struct srxed *d, struct srxed_session *s);

/* The context's translation state, for the engine; NULL without one. */
struct srxe_mem_client *srxed_mem_client(const struct srxed_session *s);

/* The slab memfd OPEN_CTX hands to the client, and its size. */
int srxed_mem_slab_fd(const struct srxed_session *s);
uint64_t srxed_mem_slab_bytes(const struct srxed_session *s);

int srxed_mr_reg(struct srxed *d, struct srxed_session *s,
		 const struct srxe_reg_mr_req *req,
		 struct srxe_reg_mr_resp *resp, char *why);
int srxed_mr_dereg(struct srxed *d, struct srxed_session *s, uint32_t handle,
		   struct srxe_dereg_mr_resp *resp, char *why);
int srxed_mr_dereg_runs(struct srxed_session *s,
			const struct srxe_dereg_runs_req *req,
			struct srxe_dereg_mr_resp *resp, char *why);
int srxed_mr_dereg_done(struct srxed *d, struct srxed_session *s,
			uint32_t handle, char *why);

/* Memory windows (include/srxe/proto_mw.h): handles, PD use counts. */
int srxed_mw_alloc(struct srxed *d, struct srxed_session *s,
		   const struct srxe_alloc_mw_req *req,
		   struct srxe_alloc_mw_resp *resp, char *why);
int srxed_mw_dealloc(struct srxed *d, struct srxed_session *s, uint32_t handle,
		     char *why);

/* REREG_MR (PD and/or access, keys kept); EAGAIN: register anew. */
int srxed_mr_rereg(struct srxed *d, struct srxed_session *s,
		   const struct srxe_rereg_mr_req *req,
		   struct srxe_rereg_mr_resp *resp, char *why);

#endif /* SRXED_MR_H */
