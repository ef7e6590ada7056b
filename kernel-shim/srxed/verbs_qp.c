// SPDX-License-Identifier: MIT
/* CREATE_QP, MODIFY_QP, QUERY_QP, DESTROY_QP (contract in verbs.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devattr.h"
#include "objects/qp_state.h"
#include "verbs_objs.h"

#define say srxed_say

#define SGE_BYTES sizeof(struct srxe_wqe_sge)

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static int check_type(uint32_t type, char *why)
{
	if (type == IBV_QPT_RC || type == IBV_QPT_UC || type == IBV_QPT_UD ||
	    type == IBV_QPT_XRC_SEND)
		return 0;
	if (type == IBV_QPT_XRC_RECV)
		return say(why, EINVAL,
			   "XRC_RECV QPs are made with CREATE_XRC_TGT");
	return say(why, EOPNOTSUPP,
		   "QP type %u is not supported (RC, UC, UD and XRC are)",
		   type);
}

/* No receive queue of its own: an SRQ, or an XRC initiator. */
static bool no_rq(const struct srxed_qp *qp)
{
	return qp->srq || qp->type == IBV_QPT_XRC_SEND;
}

static int check_caps(const struct srxe_qp_cap_wire *c, bool has_srq, char *why)
{
	if (c->reserved)
		return say(why, EINVAL, "cap.reserved must be 0");
	if (c->max_send_wr > SRXED_MAX_QP_WR)
		return say(why, EINVAL, "max_send_wr %u exceeds max_qp_wr %u",
			   c->max_send_wr, SRXED_MAX_QP_WR);
	if (c->max_send_sge > SRXED_MAX_SGE)
		return say(why, EINVAL, "max_send_sge %u exceeds max_sge %u",
			   c->max_send_sge, SRXED_MAX_SGE);
	if (c->max_inline_data > SRXED_MAX_INLINE)
		return say(why, EINVAL,
			   "max_inline_data %u exceeds the device's %u",
			   c->max_inline_data, SRXED_MAX_INLINE);
	if (has_srq)
		return 0; /* receive caps come from the SRQ */
	if (c->max_recv_wr > SRXED_MAX_QP_WR)
		return say(why, EINVAL, "max_recv_wr %u exceeds max_qp_wr %u",
			   c->max_recv_wr, SRXED_MAX_QP_WR);
	if (c->max_recv_sge > SRXED_MAX_SGE)
		return say(why, EINVAL, "max_recv_sge %u exceeds max_sge %u",
			   c->max_recv_sge, SRXED_MAX_SGE);
	return 0;
}

/*
 * Ring geometry for the asked caps, and the caps granted, as rxe grants
 * them: work requests up to the power-of-two ring size; send SGEs and
 * inline bytes both sized to the larger of the two asks (a slot holding
 * one holds the other); receive SGEs exactly as asked.
 */
static void size_rings(const struct srxe_qp_cap_wire *ask, bool has_srq,
		       struct srxed_qp *qp)
{
	uint32_t payload = ask->max_send_sge * SGE_BYTES;

	if (payload < ask->max_inline_data)
		payload = ask->max_inline_data;
	qp->sq.size =
		srxed_pow2_at_least(ask->max_send_wr ? ask->max_send_wr : 1);
	qp->sq.stride =
		srxed_pow2_at_least(sizeof(struct srxe_send_wqe) + payload);
	qp->cap.max_send_wr = qp->sq.size;
	qp->cap.max_send_sge = min_u32(payload / SGE_BYTES, SRXED_MAX_SGE);
	qp->cap.max_inline_data = min_u32(payload, SRXED_MAX_INLINE);
	if (has_srq)
		return;
	qp->rq.size =
		srxed_pow2_at_least(ask->max_recv_wr ? ask->max_recv_wr : 1);
	qp->rq.stride = srxed_pow2_at_least(sizeof(struct srxe_recv_wqe) +
					    ask->max_recv_sge * SGE_BYTES);
	qp->cap.max_recv_wr = qp->rq.size;
	qp->cap.max_recv_sge = ask->max_recv_sge;
}

/* Resolves and checks every handle CREATE_QP names. */
static int resolve(struct srxed_session *s, struct srxed_verbs_ctx *v,
		   const struct srxe_create_qp_req *req, struct srxed_qp *qp,
		   char *why)
{
	qp->pd = srxed_handle_lookup(&s->pds, req->pd_handle);
	if (!qp->pd)
		return say(why, EINVAL, "no such PD: handle 0x%x",
			   req->pd_handle);
	qp->send_cq = srxed_handle_lookup(&v->cqs, req->send_cq_handle);
	if (!qp->send_cq)
		return say(why, EINVAL, "no such send CQ: handle 0x%x",
			   req->send_cq_handle);
	if (qp->type == IBV_QPT_XRC_SEND) {
		/* an initiator receives nothing: no receive CQ, no SRQ */
		if (req->srq_handle)
			return say(why, EINVAL, "an XRC_SEND QP takes no SRQ");
		return 0;
	}
	qp->recv_cq = srxed_handle_lookup(&v->cqs, req->recv_cq_handle);
	if (!qp->recv_cq)
		return say(why, EINVAL, "no such receive CQ: handle 0x%x",
			   req->recv_cq_handle);
	if (!req->srq_handle)
		return 0;
	qp->srq = srxed_handle_lookup(&v->srqs, req->srq_handle);
	if (!qp->srq)
		return say(why, EINVAL, "no such SRQ: handle 0x%x",
			   req->srq_handle);
	return 0;
}

static int alloc_rings(struct srxed_verbs_ctx *v, struct srxed_qp *qp,
		       char *why)
{
	struct srxe_ring_desc sq = qp->sq, rq = qp->rq;

	if (srxed_arena_alloc_ring(&v->arena, sq.size, sq.stride, &qp->sq))
		goto full;
	if (!no_rq(qp) &&
	    srxed_arena_alloc_ring(&v->arena, rq.size, rq.stride, &qp->rq)) {
		srxed_arena_free_ring(&v->arena, &qp->sq);
		goto full;
	}
	return 0;
full:
	memset(&qp->sq, 0, sizeof(qp->sq));
	memset(&qp->rq, 0, sizeof(qp->rq));
	return say(why, ENOMEM,
		   "the ring arena has no room for this QP's queues "
		   "(%u + %u slots)",
		   sq.size, rq.size);
}

static int engine_create(struct srxed *d, struct srxed_verbs_ctx *v,
			 const struct srxe_create_qp_req *req,
			 struct srxed_qp *qp, char *why)
{
	struct srxe_eng_qp_init init = {
		.qp_type = qp->type,
		.qp_num = qp->qpn,
		.pd_handle = req->pd_handle,
		.sq_sig_all = qp->sq_sig_all,
		.send_cq = qp->send_cq->eng,
		.recv_cq = qp->recv_cq ? qp->recv_cq->eng : NULL,
		.srq = qp->srq ? qp->srq->eng : NULL,
		.sq = srxed_arena_ring(&v->arena, &qp->sq),
		.rq = no_rq(qp) ? NULL : srxed_arena_ring(&v->arena, &qp->rq),
		.sq_size = qp->sq.size,
		.sq_stride = qp->sq.stride,
		.rq_size = qp->rq.size,
		.rq_stride = qp->rq.stride,
		.cap = qp->cap,
		.user_handle = req->user_handle,
	};
	const char *reason = NULL;
	int ret;

	srxe_engine_lock(d->engine);
	ret = srxe_eng_qp_create(v->eng, &init, &qp->eng, &reason);
	srxe_engine_unlock(d->engine);
	if (ret)
		return say(why, -ret, "the engine refused the QP: %s",
			   reason ? reason : strerror(-ret));
	return 0;
}

/* Counts the QP as a user of what it names. */
static void take_refs(struct srxed_qp *qp, int delta)
{
	if (qp->pd)
		qp->pd->users += delta;
	if (qp->send_cq)
		qp->send_cq->users += delta;
	if (qp->recv_cq)
		qp->recv_cq->users += delta;
	if (qp->srq)
		qp->srq->users += delta;
	if (qp->xrcd)
		qp->xrcd->users += delta;
}

static int build_qp(struct srxed *d, struct srxed_session *s,
		    struct srxed_verbs_ctx *v,
		    const struct srxe_create_qp_req *req, struct srxed_qp *qp,
		    char *why)
{
	int ret;

	qp->type = req->qp_type;
	qp->sq_sig_all = req->sq_sig_all;
	ret = resolve(s, v, req, qp, why);
	if (!ret)
		ret = check_caps(&req->cap, no_rq(qp), why);
	if (ret)
		return ret;
	size_rings(&req->cap, no_rq(qp), qp);
	ret = alloc_rings(v, qp, why);
	if (ret)
		return ret;
	if (srxed_qpn_alloc(&d->qpns, &qp->qpn))
		return say(why, ENOMEM, "no QP number is free");
	ret = engine_create(d, v, req, qp, why);
	if (ret)
		return ret;
	take_refs(qp, 1);
	d->stats.qps++;
	return 0;
}

/*
 * An XRC target: no rings, CQs or PD; srxed_xrc_tgt_create() set type
 * and xrcd.  Numbers it, makes the engine QP and gives it a handle.
 */
int srxed_qp_install(struct srxed *d, struct srxed_verbs_ctx *v,
		     struct srxed_qp *qp, uint64_t user_handle, char *why)
{
	struct srxe_eng_qp_init init = {
		.qp_type = qp->type,
		.user_handle = user_handle,
		.xrcd = qp->xrcd->dom->id,
	};
	const char *reason = NULL;
	int ret;

	if (srxed_qpn_alloc(&d->qpns, &qp->qpn))
		return say(why, ENOMEM, "no QP number is free");
	init.qp_num = qp->qpn;
	srxe_engine_lock(d->engine);
	ret = srxe_eng_qp_create(v->eng, &init, &qp->eng, &reason);
	srxe_engine_unlock(d->engine);
	if (ret)
		return say(why, -ret, "the engine refused the QP: %s",
			   reason ? reason : strerror(-ret));
	take_refs(qp, 1);
	d->stats.qps++;
	if (srxed_handle_alloc(&v->qps, qp, &qp->handle))
		return say(why, ENOMEM, "context QP limit (max_qp %u) reached",
			   SRXED_MAX_QP);
	return 0;
}

int srxed_qp_create(struct srxed *d, struct srxed_session *s,
		    const struct srxe_create_qp_req *req,
		    struct srxe_create_qp_resp *resp, char *why)
{
	struct srxed_verbs_ctx *v;
	struct srxed_qp *qp;
	int ret;

	ret = check_type(req->qp_type, why);
	if (ret)
		return ret;
	if (req->sq_sig_all > 1)
		return say(why, EINVAL, "sq_sig_all must be 0 or 1");
	if (d->stats.qps >= SRXED_MAX_QP)
		return say(why, ENOMEM, "device QP limit (max_qp %u) reached",
			   SRXED_MAX_QP);
	v = srxed_verbs_ctx_get(d, s, &ret, why);
	if (!v)
		return ret;
	if (srxed_handles_count(&v->qps) >= d->cfg.max_qp)
		return say(why, ENOMEM,
			   "client QP limit (max_qp %u, srxe up --max-qp) "
			   "reached",
			   d->cfg.max_qp);
	qp = calloc(1, sizeof(*qp));
	if (!qp)
		return say(why, ENOMEM, "srxed is out of memory");
	ret = build_qp(d, s, v, req, qp, why);
	if (!ret && srxed_handle_alloc(&v->qps, qp, &qp->handle))
		ret = say(why, ENOMEM, "context QP limit (max_qp %u) reached",
			  SRXED_MAX_QP);
	if (ret) {
		srxed_qp_release(d, v, qp);
		return ret;
	}
	resp->qp_handle = qp->handle;
	resp->qp_num = qp->qpn;
	resp->cap = qp->cap;
	resp->sq = qp->sq;
	resp->rq = qp->rq;
	return 0;
}

/* Undoes whatever part of build_qp() happened. */
void srxed_qp_release(struct srxed *d, struct srxed_verbs_ctx *v,
		      struct srxed_qp *qp)
{
	if (qp->eng) {
		srxe_engine_lock(d->engine);
		srxe_eng_qp_destroy(qp->eng);
		srxe_engine_unlock(d->engine);
		take_refs(qp, -1);
		d->stats.qps--;
	}
	if (qp->qpn)
		srxed_qpn_free(&d->qpns, qp->qpn);
	srxed_arena_free_ring(&v->arena, &qp->sq);
	srxed_arena_free_ring(&v->arena, &qp->rq);
	free(qp);
}

static struct srxed_qp *find_qp(struct srxed_session *s, uint32_t handle)
{
	return s->verbs ? srxed_handle_lookup(&s->verbs->qps, handle) : NULL;
}

int srxed_qp_modify(struct srxed *d, struct srxed_session *s,
		    const struct srxe_modify_qp_req *req, char *why)
{
	struct srxed_qp *qp = find_qp(s, req->qp_handle);
	struct srxe_qp_attr_wire now;
	struct srxe_qp_limits lim;
	enum ibv_qp_state next;
	const char *reason = NULL;
	int ret;

	if (!qp)
		return say(why, EINVAL, "no such QP: handle 0x%x",
			   req->qp_handle);
	srxed_qp_limits(&lim);
	srxe_engine_lock(d->engine);
	srxe_eng_qp_query(qp->eng, &now);
	ret = srxe_qp_check_modify(qp->type, now.qp_state, &req->attr,
				   req->attr_mask, &lim, &next, why,
				   SRXE_REASON_MAX + 1);
	if (!ret) {
		ret = srxe_eng_qp_modify(qp->eng, &req->attr, req->attr_mask,
					 &reason);
		if (ret)
			say(why, -ret, "the engine refused the change: %s",
			    reason ? reason : strerror(-ret));
	}
	srxe_engine_unlock(d->engine);
	return -ret;
}

int srxed_qp_query(struct srxed *d, struct srxed_session *s,
		   const struct srxe_query_qp_req *req,
		   struct srxe_query_qp_resp *resp, char *why)
{
	struct srxed_qp *qp = find_qp(s, req->qp_handle);

	if (!qp)
		return say(why, EINVAL, "no such QP: handle 0x%x",
			   req->qp_handle);
	srxe_engine_lock(d->engine);
	srxe_eng_qp_query(qp->eng, &resp->attr);
	srxe_engine_unlock(d->engine);
	resp->attr.cap = qp->cap;
	resp->sq_sig_all = qp->sq_sig_all;
	resp->reserved = 0;
	return 0;
}

int srxed_qp_destroy(struct srxed *d, struct srxed_session *s,
		     const struct srxe_destroy_req *req, char *why)
{
	struct srxed_qp *qp;
	uint32_t attached;

	if (req->reserved)
		return say(why, EINVAL, "reserved field must be 0");
	qp = find_qp(s, req->handle);
	if (!qp)
		return say(why, EINVAL, "no such QP: handle 0x%x", req->handle);
	/* As uverbs: the application detaches first; a dying client's QPs
	 * are detached by the engine when they go. */
	srxe_engine_lock(d->engine);
	attached = srxe_eng_qp_mcast_count(qp->eng);
	if (!attached)
		srxe_eng_qp_send_posted(qp->eng);
	srxe_engine_unlock(d->engine);
	if (attached)
		return say(why, EBUSY,
			   "QP 0x%x is still attached to %u multicast "
			   "group(s): detach it first",
			   qp->qpn, attached);
	srxed_handle_free(&s->verbs->qps, req->handle);
	srxed_qp_release(d, s->verbs, qp);
	return 0;
}
