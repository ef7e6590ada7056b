// SPDX-License-Identifier: MIT
/*
 * QP objects: creation with private ring geometry, the QP number hash,
 * and the state machine (validated by qp_state.h, applied here).  The
 * flush of outstanding work once the QP is in ERR is protocol work
 * (qp_flush.c), done by the callers above (control.c, the state machines).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"
#include "packet/timing.h"
#include "qp_state.h"
#include "srxe/device.h"

static bool pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static unsigned int qp_hash(uint32_t qpn)
{
	return (qpn ^ (qpn >> 12)) & (SRXE_ENG_QP_HASH - 1);
}

struct srxe_eng_qp *srxe_qp_lookup(struct srxe_engine *eng, uint32_t qpn)
{
	struct srxe_eng_qp *qp = eng->dev->qp_hash[qp_hash(qpn)];

	while (qp && qp->qpn != qpn)
		qp = qp->hash_next;
	return qp;
}

void srxe_qp_hash_add(struct srxe_engine *eng, struct srxe_eng_qp *qp)
{
	unsigned int h = qp_hash(qp->qpn);

	qp->hash_next = eng->dev->qp_hash[h];
	eng->dev->qp_hash[h] = qp;
}

void srxe_qp_hash_del(struct srxe_engine *eng, struct srxe_eng_qp *qp)
{
	struct srxe_eng_qp **pp = &eng->dev->qp_hash[qp_hash(qp->qpn)];

	while (*pp && *pp != qp)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = qp->hash_next;
}

/* An XRC target has no queues, CQs or PD of its own. */
static const char *check_xrc_target(const struct srxe_eng_qp_init *in)
{
	if (!in->xrcd)
		return "an XRC target QP needs an XRC domain";
	if (in->send_cq || in->recv_cq || in->srq || in->sq || in->rq)
		return "an XRC target QP has no CQs, SRQ or rings";
	return NULL;
}

static const char *check_geometry(struct srxe_eng_ctx *ctx,
				  const struct srxe_eng_qp_init *in)
{
	const struct srxe_qp_cap_wire *cap = &in->cap;
	uint64_t sq_need = cap->max_send_sge * sizeof(struct srxe_wqe_sge);
	bool xrc_send = in->qp_type == IBV_QPT_XRC_SEND;

	if (cap->max_inline_data > sq_need)
		sq_need = cap->max_inline_data;
	if (in->qp_type == IBV_QPT_XRC_RECV)
		return check_xrc_target(in);
	if (in->qp_type != IBV_QPT_RC && in->qp_type != IBV_QPT_UC &&
	    in->qp_type != IBV_QPT_UD && !xrc_send)
		return "QP type must be RC, UC, UD, XRC_SEND or XRC_RECV";
	if (in->xrcd)
		return "only XRC target QPs belong to an XRC domain";
	if (xrc_send && (in->srq || in->rq))
		return "an XRC_SEND QP receives nothing: no RQ, no SRQ";
	if (!in->send_cq || (!in->recv_cq && !xrc_send) ||
	    in->send_cq->ctx != ctx ||
	    (in->recv_cq && in->recv_cq->ctx != ctx) ||
	    (in->srq && in->srq->ctx != ctx))
		return "CQs and SRQ must belong to the QP's context";
	if (cap->max_send_sge > SRXE_ENG_MAX_SGE ||
	    cap->max_recv_sge > SRXE_ENG_MAX_SGE ||
	    cap->max_inline_data > SRXE_ENG_MAX_INLINE)
		return "QP capabilities exceed the engine's limits";
	if (!pow2(in->sq_size) ||
	    in->sq_stride < sizeof(struct srxe_send_wqe) + sq_need ||
	    !srxe_ctx_in_arena(ctx, in->sq,
			       srxe_ring_bytes(in->sq_size, in->sq_stride)))
		return "SQ ring geometry is inconsistent";
	if (in->srq || xrc_send)
		return NULL;
	if (!pow2(in->rq_size) ||
	    in->rq_stride <
		    sizeof(struct srxe_recv_wqe) +
			    cap->max_recv_sge * sizeof(struct srxe_wqe_sge) ||
	    !srxe_ctx_in_arena(ctx, in->rq,
			       srxe_ring_bytes(in->rq_size, in->rq_stride)))
		return "RQ ring geometry is inconsistent";
	return NULL;
}

/* One block: sq_size records, then per record its SGEs and inline bytes. */
static int alloc_swqes(struct srxe_eng_qp *qp)
{
	size_t per = qp->cap.max_send_sge * sizeof(struct srxe_wqe_sge) +
		     ((qp->cap.max_inline_data + 7) & ~7u);
	char *store;

	qp->swqe = calloc(qp->sq_size, sizeof(*qp->swqe));
	store = calloc(qp->sq_size, per ? per : 1);
	if (!qp->swqe || !store) {
		free(qp->swqe);
		free(store);
		return -ENOMEM;
	}
	qp->swqe_store = store;
	for (uint32_t i = 0; i < qp->sq_size; i++) {
		qp->swqe[i].sge = (struct srxe_wqe_sge *)(store + i * per);
		qp->swqe[i].inl =
			(uint8_t *)(qp->swqe[i].sge + qp->cap.max_send_sge);
	}
	return 0;
}

/*
 * An XRC target sends no requests, but the requester, flush and RESET
 * code all walk an SQ: a private empty one (never shared, never posted
 * to) keeps them uniform instead of a NULL check in each.
 */
static int xrc_target_sq(struct srxe_eng_qp *qp)
{
	const uint32_t stride = 64;

	qp->own_sq = calloc(1, srxe_ring_bytes(1, stride));
	if (!qp->own_sq)
		return -ENOMEM;
	qp->sq = qp->own_sq;
	qp->sq_size = 1;
	qp->sq_stride = stride;
	return 0;
}

/* CQ and SRQ references of @qp, taken (+1) or dropped (-1). */
static void take_cqs(struct srxe_eng_qp *qp, int d)
{
	if (qp->scq)
		qp->scq->users += d;
	if (qp->rcq)
		qp->rcq->users += d;
	if (qp->srq)
		qp->srq->users += d;
}

int srxe_eng_qp_create(struct srxe_eng_ctx *ctx,
		       const struct srxe_eng_qp_init *init,
		       struct srxe_eng_qp **out, const char **why)
{
	struct srxe_eng_qp *qp;

	*why = check_geometry(ctx, init);
	if (*why)
		return -EINVAL;
	if (srxe_qp_lookup(ctx->eng, init->qp_num)) {
		*why = "QP number already in use";
		return -EEXIST;
	}
	qp = calloc(1, sizeof(*qp));
	if (!qp) {
		*why = "out of memory";
		return -ENOMEM;
	}
	qp->ctx = ctx;
	qp->type = init->qp_type;
	qp->qpn = init->qp_num & SRXE_QPN_MASK;
	qp->pd = init->pd_handle;
	qp->sig_all = init->sq_sig_all;
	qp->scq = init->send_cq;
	qp->rcq = init->recv_cq;
	qp->srq = init->srq;
	qp->sq = init->sq;
	qp->rq = init->srq ? NULL : init->rq;
	qp->sq_size = init->sq_size;
	qp->sq_stride = init->sq_stride;
	qp->rq_size = init->rq_size;
	qp->rq_stride = init->rq_stride;
	qp->cap = init->cap;
	qp->user_handle = init->user_handle;
	qp->xrcd = init->xrcd;
	qp->attr.qp_state = IBV_QPS_RESET;
	qp->attr.path_mtu = ctx->eng->cfg.active_mtu;
	qp->mtu = srxe_mtu_bytes(ctx->eng->cfg.active_mtu);
	if (qp->type == IBV_QPT_XRC_RECV && xrc_target_sq(qp)) {
		free(qp);
		*why = "out of memory";
		return -ENOMEM;
	}
	if (alloc_swqes(qp)) {
		free(qp->own_sq);
		free(qp);
		*why = "out of memory";
		return -ENOMEM;
	}
	take_cqs(qp, 1);
	srxe_list_add_tail(&ctx->qps, &qp->node);
	srxe_qp_hash_add(ctx->eng, qp);
	if (qp->type == IBV_QPT_XRC_RECV)
		srxe_ctx_pin_first(ctx); /* it receives into other's SRQs */
	ctx->eng->stats.qps++;
	*out = qp;
	return 0;
}

void srxe_qp_free(struct srxe_eng_qp *qp)
{
	srxe_qp_hash_del(qp->ctx->eng, qp);
	srxe_list_del(&qp->node);
	/* Type 2 windows bound to it die with it (its QPN may come back). */
	if (qp->ctx->mem)
		srxe_mem_mw_qp_gone(qp->ctx->mem, qp->qpn);
	take_cqs(qp, -1);
	qp->ctx->eng->stats.qps--;
	srxe_reseq_clear(&qp->comp.reseq);
	srxe_reseq_clear(&qp->resp.reseq);
	free(qp->own_sq);
	free(qp->swqe_store);
	free(qp->swqe);
	free(qp);
}

/* RESET empties the work queues: whatever is posted is discarded. */
static void reset_queues(struct srxe_eng_qp *qp)
{
	uint32_t prod = __atomic_load_n(&qp->sq->prod.val, __ATOMIC_ACQUIRE);

	qp->sq_cons = qp->sq_fetched = prod;
	__atomic_store_n(&qp->sq->cons.val, prod, __ATOMIC_RELEASE);
	if (qp->rq) {
		prod = __atomic_load_n(&qp->rq->prod.val, __ATOMIC_ACQUIRE);
		qp->rq_cons = prod;
		__atomic_store_n(&qp->rq->cons.val, prod, __ATOMIC_RELEASE);
	}
	srxe_reseq_clear(&qp->comp.reseq);
	srxe_reseq_clear(&qp->resp.reseq);
	memset(&qp->req, 0, sizeof(qp->req));
	memset(&qp->comp, 0, sizeof(qp->comp));
	memset(&qp->resp, 0, sizeof(qp->resp));
	qp->req.idx = qp->sq_cons;
	qp->fatal_sent = false;
	qp->comm_est_sent = false;
	qp->last_wqe_sent = false;
}

static void update_mtu(struct srxe_eng_qp *qp)
{
	uint32_t active = qp->ctx->eng->cfg.active_mtu;
	uint32_t mtu = qp->attr.path_mtu;

	if (qp->type == IBV_QPT_UD || !srxe_mtu_bytes(mtu) || mtu > active)
		mtu = active;
	qp->mtu = srxe_mtu_bytes(mtu);
}

/*
 * Entering SQD: nothing outstanding means drained at once (IBA 10.3.1.2);
 * otherwise the completer raises SQ_DRAINED when the last WQE retires.
 */
static void enter_sqd(struct srxe_eng_qp *qp)
{
	qp->drained_sent = qp->sq_cons == qp->sq_fetched;
	if (qp->drained_sent && qp->attr.en_sqd_async_notify)
		srxe_ctx_async(qp->ctx, qp->user_handle, IBV_EVENT_SQ_DRAINED);
}

static void enter_state(struct srxe_eng_qp *qp, enum ibv_qp_state cur,
			enum ibv_qp_state next, uint32_t mask)
{
	if (next == IBV_QPS_RESET) {
		reset_queues(qp);
		return;
	}
	if (cur == IBV_QPS_RESET)
		reset_queues(qp);
	if (mask & IBV_QP_RQ_PSN)
		qp->resp.epsn = qp->attr.rq_psn & SRXE_PSN_MASK;
	if (mask & IBV_QP_SQ_PSN)
		qp->req.psn = qp->attr.sq_psn & SRXE_PSN_MASK;
	if (mask & IBV_QP_SQ_PSN)
		qp->req.max_psn = qp->comp.ack_psn = qp->req.psn;
	if (mask & IBV_QP_RETRY_CNT)
		qp->comp.retry_left = qp->attr.retry_cnt;
	if (mask & IBV_QP_RNR_RETRY)
		qp->comp.rnr_left = qp->attr.rnr_retry;
	/* next == IBV_QPS_ERR: srxe_eng_qp_modify (control.c) flushes. */
	if (next == IBV_QPS_SQD && cur != IBV_QPS_SQD)
		enter_sqd(qp);
}

int srxe_qp_modify(struct srxe_eng_qp *qp, const struct srxe_qp_attr_wire *attr,
		   uint32_t attr_mask, const char **why)
{
	static __thread char reason[SRXE_QP_WHY_MAX];
	const struct srxe_qp_limits lim = {
		.max_mtu = IBV_MTU_4096,
		.max_rd_atomic = SRXE_ENG_MAX_RD_ATOM,
		.max_dest_rd_atomic = SRXE_ENG_MAX_RD_ATOM,
		.pkey_tbl_len = 1,
		.gid_tbl_len = SRXE_GID_COUNT, /* the populated entries */
	};
	enum ibv_qp_state cur = qp->attr.qp_state, next;
	struct srxe_dest dest = { 0 };
	int ret;

	*why = NULL;
	ret = srxe_qp_check_modify(qp->type, cur, attr, attr_mask, &lim, &next,
				   reason, sizeof(reason));
	if (ret) {
		*why = reason;
		return ret;
	}
	if (attr_mask & IBV_QP_AV) {
		ret = srxe_resolve_av(qp->ctx->eng, &attr->ah, &dest, why);
		if (ret)
			return ret;
	}
	srxe_qp_apply_attr(&qp->attr, attr, attr_mask);
	qp->attr.qp_state = next;
	if (attr_mask & IBV_QP_AV) {
		dest.qpn = qp->dest.qpn;
		qp->dest = dest;
	}
	if (attr_mask & IBV_QP_DEST_QPN)
		qp->dest.qpn = qp->attr.dest_qp_num & SRXE_QPN_MASK;
	update_mtu(qp);
	enter_state(qp, cur, next, attr_mask);
	return 0;
}

void srxe_eng_qp_query(const struct srxe_eng_qp *qp,
		       struct srxe_qp_attr_wire *out)
{
	*out = qp->attr;
	out->cur_qp_state = qp->attr.qp_state;
	out->cap = qp->cap;
	out->sq_draining = qp->attr.qp_state == IBV_QPS_SQD &&
			   qp->sq_cons != qp->sq_fetched;
}

void srxe_qp_comm_est(struct srxe_eng_qp *qp)
{
	if (qp->attr.qp_state != IBV_QPS_RTR || qp->type == IBV_QPT_UD ||
	    qp->comm_est_sent)
		return;
	qp->comm_est_sent = true;
	srxe_ctx_async(qp->ctx, qp->user_handle, IBV_EVENT_COMM_EST);
}
