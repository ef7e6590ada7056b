/* SPDX-License-Identifier: MIT */
/*
 * Internal to the verbs_*.c modules of srxed: the per-context verbs state
 * and the daemon records of each object (contract in verbs.h).
 */
#ifndef SRXED_VERBS_OBJS_H
#define SRXED_VERBS_OBJS_H

#include "arena.h"
#include "engine.h"
#include "handles.h"
#include "log.h"
#include "verbs.h"
#include "srxe/proto_xrc.h"

#include <sys/types.h>

struct srxed_verbs_ctx {
	struct srxed_arena arena;
	int doorbell_fd;
	struct srxe_eng_ctx *eng;
	struct srxed_handles cqs, qps, srqs, ahs;
	struct srxed_handles xrcds; /* issue #10 (verbs_xrc.c) */
};

/*
 * An XRC domain, device-wide: named by the inode of the file the
 * application passed (shared by every context that opens that file), or
 * anonymous.  refs: handles to it in all sessions.
 */
struct srxed_xdom {
	struct srxed_xdom *next;
	uint32_t id; /* the engine's xrcd id, never 0 */
	uint32_t refs;
	bool anon;
	dev_t dev;
	ino_t ino;
};

/* One session's handle to a domain. */
struct srxed_xrcd {
	uint32_t handle;
	uint32_t users; /* XRC SRQs and target QPs of this session */
	struct srxed_xdom *dom;
};

struct srxed_cq {
	uint32_t handle;
	uint32_t users; /* QP send/recv references */
	struct srxe_ring_desc ring;
	struct srxe_eng_cq *eng;
	struct srxed_channel *chan; /* completion channel (chan.h) or NULL */
};

struct srxed_srq {
	uint32_t handle;
	uint32_t users; /* QPs attached */
	struct srxed_pd *pd;
	/* XRC SRQ: domain, completion CQ and number; NULL/0 for basic */
	struct srxed_xrcd *xrcd;
	struct srxed_cq *cq;
	uint32_t srqn;
	uint32_t max_wr, max_sge;
	struct srxe_ring_desc ring;
	struct srxe_eng_srq *eng;
};

struct srxed_qp {
	uint32_t handle;
	uint32_t qpn;
	uint32_t type;
	uint32_t sq_sig_all;
	struct srxed_pd *pd; /* NULL: XRC target */
	/* NULL: XRC target (both), XRC_SEND (recv_cq) */
	struct srxed_cq *send_cq, *recv_cq;
	struct srxed_srq *srq;
	struct srxed_xrcd *xrcd; /* XRC target's domain */
	struct srxe_qp_cap_wire cap;
	struct srxe_ring_desc sq, rq;
	struct srxe_eng_qp *eng;
};

struct srxed_ah {
	uint32_t handle;
	struct srxed_pd *pd;
	struct srxe_eng_ah *eng;
};

/* The context's verbs state, created on first use; NULL with why set. */
struct srxed_verbs_ctx *srxed_verbs_ctx_get(struct srxed *d,
					    struct srxed_session *s, int *err,
					    char *why);

uint32_t srxed_pow2_at_least(uint32_t n);

/* Handlers, one per opcode; same return convention as srxed_verbs_request. */
int srxed_cq_create(struct srxed *d, struct srxed_session *s,
		    const struct srxe_create_cq_req *req,
		    struct srxe_create_cq_resp *resp, char *why);
int srxed_cq_resize(struct srxed *d, struct srxed_session *s,
		    const struct srxe_resize_cq_req *req,
		    struct srxe_resize_cq_resp *resp, char *why);
int srxed_cq_destroy(struct srxed *d, struct srxed_session *s,
		     const struct srxe_destroy_req *req, char *why);
/* Teardown of one CQ whose users are gone (drain callback). */
void srxed_cq_release(struct srxed *d, struct srxed_verbs_ctx *v,
		      struct srxed_cq *cq);

int srxed_qp_create(struct srxed *d, struct srxed_session *s,
		    const struct srxe_create_qp_req *req,
		    struct srxe_create_qp_resp *resp, char *why);
int srxed_qp_modify(struct srxed *d, struct srxed_session *s,
		    const struct srxe_modify_qp_req *req, char *why);
int srxed_qp_query(struct srxed *d, struct srxed_session *s,
		   const struct srxe_query_qp_req *req,
		   struct srxe_query_qp_resp *resp, char *why);
int srxed_qp_destroy(struct srxed *d, struct srxed_session *s,
		     const struct srxe_destroy_req *req, char *why);
void srxed_qp_release(struct srxed *d, struct srxed_verbs_ctx *v,
		      struct srxed_qp *qp);

int srxed_srq_create(struct srxed *d, struct srxed_session *s,
		     const struct srxe_create_srq_req *req,
		     struct srxe_create_srq_resp *resp, char *why);
int srxed_srq_modify(struct srxed *d, struct srxed_session *s,
		     const struct srxe_modify_srq_req *req,
		     struct srxe_modify_srq_resp *resp, char *why);
int srxed_srq_query(struct srxed *d, struct srxed_session *s,
		    const struct srxe_destroy_req *req,
		    struct srxe_query_srq_resp *resp, char *why);
int srxed_srq_destroy(struct srxed *d, struct srxed_session *s,
		      const struct srxe_destroy_req *req, char *why);
void srxed_srq_release(struct srxed *d, struct srxed_verbs_ctx *v,
		       struct srxed_srq *srq);

int srxed_ah_create(struct srxed *d, struct srxed_session *s,
		    const struct srxe_create_ah_req *req,
		    struct srxe_create_ah_resp *resp, char *why);
int srxed_ah_destroy(struct srxed *d, struct srxed_session *s,
		     const struct srxe_destroy_req *req, char *why);
void srxed_ah_release(struct srxed *d, struct srxed_verbs_ctx *v,
		      struct srxed_ah *ah);

/* verbs_xrc.c (issue #10, include/srxe/proto_xrc.h) */
int srxed_xrcd_open(struct srxed *d, struct srxed_session *s,
		    const struct srxe_open_xrcd_req *req, int *fd,
		    struct srxe_open_xrcd_resp *resp, char *why);
int srxed_xrcd_close(struct srxed *d, struct srxed_session *s,
		     const struct srxe_destroy_req *req, char *why);
void srxed_xrcd_release(struct srxed *d, struct srxed_xrcd *x);
int srxed_xsrq_create(struct srxed *d, struct srxed_session *s,
		      const struct srxe_create_xsrq_req *req,
		      struct srxe_create_xsrq_resp *resp, char *why);
int srxed_xrc_tgt_create(struct srxed *d, struct srxed_session *s,
			 const struct srxe_create_xrc_tgt_req *req,
			 struct srxe_create_xrc_tgt_resp *resp, char *why);
/* verbs_srq.c: an SRQ record sized, ringed and made in the engine;
 * xrc: domain and CQ of an XRC SRQ (which gets a number), or NULL. */
struct srxed_xsrq_args {
	struct srxed_xrcd *xrcd;
	struct srxed_cq *cq;
};
int srxed_srq_build(struct srxed *d, struct srxed_session *s,
		    const struct srxe_create_srq_req *req,
		    const struct srxed_xsrq_args *xrc,
		    struct srxe_create_srq_resp *resp, char *why);
/* verbs_qp.c: the QP record's handle, number and engine QP of a target */
int srxed_qp_install(struct srxed *d, struct srxed_verbs_ctx *v,
		     struct srxed_qp *qp, uint64_t user_handle, char *why);
int srxed_mcast_attach(struct srxed *d, struct srxed_session *s,
		       const struct srxe_mcast_req *req, char *why);
int srxed_mcast_detach(struct srxed *d, struct srxed_session *s,
		       const struct srxe_mcast_req *req, char *why);

/* The limits qp_state.h checks against, as query_device/port report. */
struct srxe_qp_limits;
void srxed_qp_limits(struct srxe_qp_limits *lim);

#endif /* SRXED_VERBS_OBJS_H */
