/* SPDX-License-Identifier: MIT */
/*
 * Data-path objects of the provider (issue #4): CQs, QPs, SRQs and AHs.
 * srxed owns every object (include/srxe/proto_verbs.h); the provider keeps
 * its handle in the libibverbs struct (ibv_cq.handle, ibv_qp.handle, ...)
 * and the rings the object's queues live in.
 *
 * Locking follows rxe: one spinlock per queue (CQ, SQ, RQ, SRQ).  The
 * ibv_qp_ex builder API holds the SQ lock from wr_start to wr_complete or
 * wr_abort; the ibv_cq_ex poll API holds the CQ lock from a successful
 * start_poll to end_poll.
 */
#ifndef SRXE_PROVIDER_VERBS_H
#define SRXE_PROVIDER_VERBS_H

#include <pthread.h>
#include <stdbool.h>

#include "srxe.h"
#include "srxe_backoff.h"

struct srxe_cq {
	struct verbs_cq vcq;
	pthread_spinlock_t lock;
	struct srxe_ring ring;
	/* extended poll: the entry at ring.head, valid between polls */
	const struct srxe_cqe *cur;
	struct srxe_backoff_state idle; /* empty polls, under lock */
	/* QPs with this send CQ, linked by next_sender, under lock: whether
	 * sends wait to be retired (srxe_backoff.h QUIET) */
	struct srxe_qp *senders;
	/* srxed gone: the flush entry cur points to (srxe_fatal.h) */
	struct srxe_cqe fatal_cqe;
};

/* A work queue: SQ or RQ of a QP, or an SRQ. */
struct srxe_wq {
	pthread_spinlock_t lock;
	struct srxe_ring ring;
	uint32_t max_sge;
	uint32_t max_inline; /* SQ only */
};

struct srxe_qp {
	struct verbs_qp vqp;
	struct srxe_wq sq;
	struct srxe_wq rq; /* ring.hdr == NULL when the QP uses an SRQ */
	struct srxe_qp_cap_wire cap; /* what srxed granted */
	uint32_t sq_sig_all;
	/* On sender_cq's senders list (its send CQ; NULL once off it). */
	struct srxe_cq *sender_cq;
	struct srxe_qp *next_sender;
	/* ibv_qp_ex builder state, under sq.lock */
	uint32_t ex_next;	      /* index the next builder fills */
	struct srxe_send_wqe *ex_wqe; /* WQE the setters complete */
	int ex_err;		      /* first error since wr_start */
};

struct srxe_srq {
	struct verbs_srq vsrq;
	struct srxe_wq rq;
};

/* Under cq->lock, after a poll that found @found entries: what to do once
 * the lock is dropped (srxe_backoff.h). */
enum srxe_backoff srxe_cq_idle_step(struct srxe_cq *cq, int found);

static inline struct srxe_cq *to_srxe_cq(struct ibv_cq *ibcq)
{
	return srxe_container_of(ibcq, struct srxe_cq, vcq.cq);
}

static inline struct srxe_cq *to_srxe_cq_ex(struct ibv_cq_ex *ibcq)
{
	return srxe_container_of(ibcq, struct srxe_cq, vcq.cq_ex);
}

static inline struct srxe_qp *to_srxe_qp(struct ibv_qp *ibqp)
{
	return srxe_container_of(ibqp, struct srxe_qp, vqp.qp);
}

static inline struct srxe_qp *to_srxe_qp_ex(struct ibv_qp_ex *ibqp)
{
	return srxe_container_of(ibqp, struct srxe_qp, vqp.qp_ex);
}

static inline struct srxe_srq *to_srxe_srq(struct ibv_srq *ibsrq)
{
	return srxe_container_of(ibsrq, struct srxe_srq, vsrq.srq);
}

/* srxe_cq.c */
struct ibv_cq *srxe_create_cq(struct ibv_context *ibctx, int cqe,
			      struct ibv_comp_channel *channel,
			      int comp_vector);
int srxe_poll_cq(struct ibv_cq *ibcq, int num_entries, struct ibv_wc *wc);
int srxe_req_notify_cq(struct ibv_cq *ibcq, int solicited_only);
int srxe_resize_cq(struct ibv_cq *ibcq, int cqe);
int srxe_destroy_cq(struct ibv_cq *ibcq);
/* Creates the CQ in srxed and maps its ring; cq is zeroed by the caller. */
/* channel: NULL, or the completion channel the CQ's events go to. */
int srxe_cq_setup(struct ibv_context *ibctx, struct srxe_cq *cq, int cqe,
		  int comp_vector, struct ibv_comp_channel *channel);
/* Asks the engine to time the CQEs of @cq's ring (ring.h); a resize
 * carries the request over to the new ring. */
static inline void srxe_cq_want_timestamps(struct srxe_cq *cq)
{
	__atomic_store_n(&cq->ring.hdr->cqe_timestamps, 1u, __ATOMIC_RELEASE);
}

/* srxe_cq_ex.c */
struct ibv_cq_ex *srxe_create_cq_ex(struct ibv_context *ibctx,
				    struct ibv_cq_init_attr_ex *attr);

/* srxe_qp.c */
struct ibv_qp *srxe_create_qp(struct ibv_pd *pd, struct ibv_qp_init_attr *attr);
struct ibv_qp *srxe_create_qp_ex(struct ibv_context *ibctx,
				 struct ibv_qp_init_attr_ex *attr);
int srxe_modify_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr,
		   int attr_mask);
int srxe_query_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr, int attr_mask,
		  struct ibv_qp_init_attr *init_attr);
int srxe_destroy_qp(struct ibv_qp *ibqp);

/* srxe_post.c: ibv_post_send / ibv_post_recv / ibv_post_srq_recv */
int srxe_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		   struct ibv_send_wr **bad_wr);
int srxe_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		   struct ibv_recv_wr **bad_wr);
int srxe_post_srq_recv(struct ibv_srq *ibsrq, struct ibv_recv_wr *wr,
		       struct ibv_recv_wr **bad_wr);
/* States in which the SQ accepts work (the engine flushes in SQE/ERR). */
bool srxe_sq_accepts(enum ibv_qp_state state);
/* Opcodes a QP of type qpt may post (IBA 9.4 / 11.4.1 per service). */
bool srxe_opcode_allowed(enum ibv_qp_type qpt, enum ibv_wr_opcode op);

/* srxe_qp_ex.c: the ibv_qp_ex builders; flags are validated by the caller */
void srxe_qp_ex_install(struct srxe_qp *qp, uint64_t send_ops_flags);
/* srxe_cq.c: drop the unpolled CQEs of a QP that went to RESET. */
void srxe_cq_purge_qp(struct srxe_cq *cq, uint32_t qpn);
/* A QP with an SQ joins / leaves its send CQ's senders list. */
void srxe_cq_add_sender(struct srxe_cq *cq, struct srxe_qp *qp);
void srxe_cq_del_sender(struct srxe_cq *cq, struct srxe_qp *qp);
/* srxe_post.c: the IBV_WR_BIND_MW part of a send WQE. */
void srxe_wqe_bind(struct srxe_send_wqe *wqe, const struct ibv_mw *mw,
		   uint32_t new_rkey, const struct ibv_mw_bind_info *info);
/* Send ops flags srxe implements for a QP type; 0 for unsupported types. */
uint64_t srxe_qp_ex_supported(enum ibv_qp_type qpt);

/* srxe_srq.c */
struct ibv_srq *srxe_create_srq(struct ibv_pd *pd,
				struct ibv_srq_init_attr *attr);
int srxe_modify_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr,
		    int attr_mask);
int srxe_query_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr);
int srxe_destroy_srq(struct ibv_srq *ibsrq);

/* srxe_xrc.c (issue #10): XRC domains, XRC SRQs, XRC target QPs */
struct ibv_xrcd *srxe_open_xrcd(struct ibv_context *ibctx,
				struct ibv_xrcd_init_attr *attr);
int srxe_close_xrcd(struct ibv_xrcd *xrcd);
struct ibv_srq *srxe_create_srq_ex(struct ibv_context *ibctx,
				   struct ibv_srq_init_attr_ex *attr);
int srxe_get_srq_num(struct ibv_srq *srq, uint32_t *srq_num);
/* IBV_QPT_XRC_RECV through create_qp_ex (qp zeroed, attr checked). */
int srxe_xrc_tgt_make(struct ibv_context *ibctx, struct srxe_qp *qp,
		      struct ibv_qp_init_attr_ex *attr);
/* srxe_srq.c: ring set-up shared by basic and XRC SRQs */
int srxe_srq_attach(struct srxe_context *ctx, struct srxe_srq *srq,
		    const struct srxe_ring_desc *ring, uint32_t handle,
		    uint32_t max_sge);

/* srxe_ah.c */
struct ibv_ah *srxe_create_ah(struct ibv_pd *pd, struct ibv_ah_attr *attr);
/* srxe_mcast.c (issue #10) */
int srxe_attach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
		      uint16_t lid);
int srxe_detach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
		      uint16_t lid);
int srxe_destroy_ah(struct ibv_ah *ah);
void srxe_ah_to_wire(const struct ibv_ah_attr *attr, struct srxe_ah_wire *w);
void srxe_ah_from_wire(const struct srxe_ah_wire *w, struct ibv_ah_attr *attr);

/* srxe_post.c helpers shared with srxe_qp_ex.c */
/* Fill the fixed part of a send WQE (sge/inline follow separately). */
void srxe_wqe_init(struct srxe_qp *qp, struct srxe_send_wqe *wqe,
		   uint64_t wr_id, enum ibv_wr_opcode opcode,
		   unsigned int send_flags);
/* Publish the SQ up to sq.ring.head and wake the engine if it sleeps. */
void srxe_sq_ring_doorbell(struct srxe_qp *qp);

#endif /* SRXE_PROVIDER_VERBS_H */
