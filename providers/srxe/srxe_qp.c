// SPDX-License-Identifier: MIT
/*
 * Queue pairs: srxed creates them (QP number, granted capacities, rings)
 * and runs the state machine; the provider fills the generic ibv_qp, which
 * libibverbs leaves entirely to the provider, and maps the rings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "srxe_fatal.h"
#include "srxe_verbs.h"

#define SRXE_QP_COMP_MASK                                                      \
	(IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_XRCD |                         \
	 IBV_QP_INIT_ATTR_CREATE_FLAGS | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS)

static uint32_t srxe_send_wqe_min_stride(const struct srxe_qp_cap_wire *cap)
{
	uint32_t sges = cap->max_send_sge * sizeof(struct srxe_wqe_sge);
	uint32_t body =
		sges > cap->max_inline_data ? sges : cap->max_inline_data;

	return sizeof(struct srxe_send_wqe) + body;
}

static uint32_t srxe_recv_wqe_min_stride(uint32_t max_sge)
{
	return sizeof(struct srxe_recv_wqe) +
	       max_sge * sizeof(struct srxe_wqe_sge);
}

static int srxe_qp_check(const struct ibv_qp_init_attr_ex *attr)
{
	if (attr->comp_mask & ~(uint32_t)SRXE_QP_COMP_MASK)
		return EOPNOTSUPP;
	if ((attr->comp_mask & IBV_QP_INIT_ATTR_CREATE_FLAGS) &&
	    attr->create_flags)
		return EOPNOTSUPP;
	if (attr->qp_type == IBV_QPT_XRC_RECV)
		/* a target: an XRC domain, nothing to send with */
		return (attr->comp_mask & IBV_QP_INIT_ATTR_XRCD) &&
				       attr->xrcd &&
				       !(attr->comp_mask &
					 IBV_QP_INIT_ATTR_SEND_OPS_FLAGS)
			       ? 0
			       : EINVAL;
	if (!(attr->comp_mask & IBV_QP_INIT_ATTR_PD) || !attr->pd)
		return EINVAL;
	if (!srxe_qp_ex_supported(attr->qp_type))
		return EOPNOTSUPP; /* XRC, raw packet, driver QPs */
	if ((attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS) &&
	    (attr->send_ops_flags & ~srxe_qp_ex_supported(attr->qp_type)))
		return EOPNOTSUPP;
	if (attr->qp_type == IBV_QPT_XRC_SEND)
		/* an initiator receives nothing: no receive CQ needed */
		return attr->send_cq && !attr->srq ? 0 : EINVAL;
	if (!attr->send_cq || !attr->recv_cq)
		return EINVAL;
	return 0;
}

static void srxe_qp_req(const struct ibv_qp_init_attr_ex *attr,
			struct srxe_qp *qp, struct srxe_create_qp_req *req)
{
	memset(req, 0, sizeof(*req));
	req->pd_handle = attr->pd->handle;
	req->qp_type = attr->qp_type;
	req->send_cq_handle = attr->send_cq->handle;
	req->recv_cq_handle =
		attr->qp_type == IBV_QPT_XRC_SEND ? 0 : attr->recv_cq->handle;
	req->srq_handle = attr->srq ? attr->srq->handle : 0;
	req->sq_sig_all = !!attr->sq_sig_all;
	req->cap.max_send_wr = attr->cap.max_send_wr;
	req->cap.max_recv_wr = attr->cap.max_recv_wr;
	req->cap.max_send_sge = attr->cap.max_send_sge;
	req->cap.max_recv_sge = attr->cap.max_recv_sge;
	req->cap.max_inline_data = attr->cap.max_inline_data;
	req->user_handle = (uintptr_t)&qp->vqp.qp;
}

static int srxe_qp_attach(struct srxe_context *ctx, struct srxe_qp *qp,
			  const struct srxe_create_qp_resp *resp, bool has_srq)
{
	int ret;

	ret = srxe_ring_attach(&ctx->arena, &resp->sq,
			       srxe_send_wqe_min_stride(&resp->cap),
			       &qp->sq.ring);
	if (ret)
		return ret;
	if (has_srq)
		return 0;
	return srxe_ring_attach(
		&ctx->arena, &resp->rq,
		srxe_recv_wqe_min_stride(resp->cap.max_recv_sge), &qp->rq.ring);
}

/* Everything ibv_cmd_create_qp() would have set, as DESIGN.md 3 says. */
static void srxe_qp_fill(struct srxe_qp *qp, struct ibv_context *ibctx,
			 const struct ibv_qp_init_attr_ex *attr,
			 const struct srxe_create_qp_resp *resp)
{
	struct ibv_qp *ibqp = &qp->vqp.qp;

	ibqp->context = ibctx;
	ibqp->qp_context = attr->qp_context;
	ibqp->pd = attr->pd;
	ibqp->send_cq = attr->send_cq;
	ibqp->recv_cq = attr->recv_cq;
	ibqp->srq = attr->srq;
	ibqp->qp_type = attr->qp_type;
	ibqp->state = IBV_QPS_RESET;
	ibqp->handle = resp->qp_handle;
	ibqp->qp_num = resp->qp_num;
	ibqp->events_completed = 0;
	pthread_mutex_init(&ibqp->mutex, NULL);
	pthread_cond_init(&ibqp->cond, NULL);

	qp->cap = resp->cap;
	qp->sq_sig_all = !!attr->sq_sig_all;
	qp->sq.max_sge = resp->cap.max_send_sge;
	qp->sq.max_inline = resp->cap.max_inline_data;
	qp->rq.max_sge = resp->cap.max_recv_sge;
	pthread_spin_init(&qp->sq.lock, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&qp->rq.lock, PTHREAD_PROCESS_PRIVATE);
}

/* Like kernel providers, report the granted capacities back. */
static void srxe_cap_out(const struct srxe_qp_cap_wire *w,
			 struct ibv_qp_cap *cap)
{
	cap->max_send_wr = w->max_send_wr;
	cap->max_recv_wr = w->max_recv_wr;
	cap->max_send_sge = w->max_send_sge;
	cap->max_recv_sge = w->max_recv_sge;
	cap->max_inline_data = w->max_inline_data;
}

static int srxe_qp_make(struct ibv_context *ibctx, struct srxe_qp *qp,
			struct ibv_qp_init_attr_ex *attr)
{
	struct srxe_context *ctx = to_srxe_context(ibctx);
	struct srxe_create_qp_req req;
	struct srxe_create_qp_resp resp;
	struct srxe_destroy_req dreq = { 0 };
	int ret;

	if (srxe_arena_check(&ctx->arena))
		return errno;
	srxe_qp_req(attr, qp, &req);
	ret = srxe_ctx_call(ctx, SRXE_OP_CREATE_QP, &req, sizeof(req), &resp,
			    sizeof(resp));
	if (ret)
		return ret;
	ret = srxe_qp_attach(ctx, qp, &resp,
			     attr->srq || attr->qp_type == IBV_QPT_XRC_SEND);
	if (ret) {
		dreq.handle = resp.qp_handle;
		srxe_ctx_call(ctx, SRXE_OP_DESTROY_QP, &dreq, sizeof(dreq),
			      NULL, 0);
		return ret;
	}
	srxe_qp_fill(qp, ibctx, attr, &resp);
	srxe_cap_out(&resp.cap, &attr->cap);
	ret = srxe_fatal_qp_add(ctx, qp);
	if (ret) {
		dreq.handle = resp.qp_handle;
		srxe_ctx_call(ctx, SRXE_OP_DESTROY_QP, &dreq, sizeof(dreq),
			      NULL, 0);
		return ret;
	}
	if (qp->sq.ring.hdr)
		srxe_cq_add_sender(to_srxe_cq(attr->send_cq), qp);
	return 0;
}

struct ibv_qp *srxe_create_qp_ex(struct ibv_context *ibctx,
				 struct ibv_qp_init_attr_ex *attr)
{
	struct srxe_qp *qp;
	int ret;

	ret = srxe_qp_check(attr);
	if (ret) {
		errno = ret;
		return NULL;
	}
	qp = calloc(1, sizeof(*qp));
	if (!qp) {
		errno = ENOMEM;
		return NULL;
	}
	if (attr->qp_type == IBV_QPT_XRC_RECV)
		ret = srxe_xrc_tgt_make(ibctx, qp, attr);
	else
		ret = srxe_qp_make(ibctx, qp, attr);
	if (ret) {
		free(qp);
		errno = ret;
		return NULL;
	}
	if (attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS) {
		srxe_qp_ex_install(qp, attr->send_ops_flags);
		qp->vqp.comp_mask |= VERBS_QP_EX;
	}
	return &qp->vqp.qp;
}

struct ibv_qp *srxe_create_qp(struct ibv_pd *pd, struct ibv_qp_init_attr *attr)
{
	struct ibv_qp_init_attr_ex ex = {
		.qp_context = attr->qp_context,
		.send_cq = attr->send_cq,
		.recv_cq = attr->recv_cq,
		.srq = attr->srq,
		.cap = attr->cap,
		.qp_type = attr->qp_type,
		.sq_sig_all = attr->sq_sig_all,
		.comp_mask = IBV_QP_INIT_ATTR_PD,
		.pd = pd,
	};
	struct ibv_qp *qp = srxe_create_qp_ex(pd->context, &ex);

	if (qp)
		attr->cap = ex.cap;
	return qp;
}

static void srxe_cap_to_wire(const struct ibv_qp_cap *cap,
			     struct srxe_qp_cap_wire *w)
{
	w->max_send_wr = cap->max_send_wr;
	w->max_recv_wr = cap->max_recv_wr;
	w->max_send_sge = cap->max_send_sge;
	w->max_recv_sge = cap->max_recv_sge;
	w->max_inline_data = cap->max_inline_data;
}

/*
 * All fields are copied; srxed reads only those attr_mask names, exactly
 * like the kernel's modify_qp.
 */
static void srxe_qp_attr_to_wire(const struct ibv_qp_attr *a,
				 struct srxe_qp_attr_wire *w)
{
	memset(w, 0, sizeof(*w));
	w->qp_state = a->qp_state;
	w->cur_qp_state = a->cur_qp_state;
	w->path_mtu = a->path_mtu;
	w->qkey = a->qkey;
	w->rq_psn = a->rq_psn;
	w->sq_psn = a->sq_psn;
	w->dest_qp_num = a->dest_qp_num;
	w->qp_access_flags = a->qp_access_flags;
	w->pkey_index = a->pkey_index;
	w->en_sqd_async_notify = a->en_sqd_async_notify;
	w->sq_draining = a->sq_draining;
	w->max_rd_atomic = a->max_rd_atomic;
	w->max_dest_rd_atomic = a->max_dest_rd_atomic;
	w->min_rnr_timer = a->min_rnr_timer;
	w->port_num = a->port_num;
	w->timeout = a->timeout;
	w->retry_cnt = a->retry_cnt;
	w->rnr_retry = a->rnr_retry;
	srxe_ah_to_wire(&a->ah_attr, &w->ah);
	srxe_cap_to_wire(&a->cap, &w->cap);
}

static void srxe_qp_attr_from_wire(const struct srxe_qp_attr_wire *w,
				   struct ibv_qp_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->qp_state = w->qp_state;
	a->cur_qp_state = w->cur_qp_state;
	a->path_mtu = w->path_mtu;
	a->qkey = w->qkey;
	a->rq_psn = w->rq_psn;
	a->sq_psn = w->sq_psn;
	a->dest_qp_num = w->dest_qp_num;
	a->qp_access_flags = w->qp_access_flags;
	a->pkey_index = w->pkey_index;
	a->en_sqd_async_notify = w->en_sqd_async_notify;
	a->sq_draining = w->sq_draining;
	a->max_rd_atomic = w->max_rd_atomic;
	a->max_dest_rd_atomic = w->max_dest_rd_atomic;
	a->min_rnr_timer = w->min_rnr_timer;
	a->port_num = w->port_num;
	a->timeout = w->timeout;
	a->retry_cnt = w->retry_cnt;
	a->rnr_retry = w->rnr_retry;
	srxe_ah_from_wire(&w->ah, &a->ah_attr);
}

/*
 * The QP's completions not yet polled go (srxe_cq_purge_qp) when it is
 * reset, and when it is destroyed, as mlx4 and mlx5 do and rxe does not:
 * a consumer never sees a completion of a QP it destroyed, whose buffers
 * and contexts it may have freed with it (libfabric's rxm reposts the
 * receive of a completion it finds in a shared CQ on that completion's
 * endpoint).  srxed hands out QP numbers round robin, so none is reused
 * before this runs; an SRQ's slots do not depend on its CQEs.
 */
static void purge_cqs(struct ibv_qp *ibqp)
{
	if (ibqp->send_cq)
		srxe_cq_purge_qp(to_srxe_cq(ibqp->send_cq), ibqp->qp_num);
	if (ibqp->recv_cq && ibqp->recv_cq != ibqp->send_cq)
		srxe_cq_purge_qp(to_srxe_cq(ibqp->recv_cq), ibqp->qp_num);
}

int srxe_modify_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr, int attr_mask)
{
	struct srxe_modify_qp_req req = {
		.qp_handle = ibqp->handle,
		.attr_mask = attr_mask,
	};
	int ret;

	srxe_qp_attr_to_wire(attr, &req.attr);
	ret = srxe_ctx_call(to_srxe_context(ibqp->context), SRXE_OP_MODIFY_QP,
			    &req, sizeof(req), NULL, 0);
	if (ret)
		return ret;
	if (attr_mask & IBV_QP_STATE)
		ibqp->state = attr->qp_state;
	if ((attr_mask & IBV_QP_STATE) && attr->qp_state == IBV_QPS_RESET)
		purge_cqs(ibqp);
	return 0;
}

int srxe_query_qp(struct ibv_qp *ibqp, struct ibv_qp_attr *attr, int attr_mask,
		  struct ibv_qp_init_attr *init_attr)
{
	struct srxe_qp *qp = to_srxe_qp(ibqp);
	struct srxe_query_qp_req req = {
		.qp_handle = ibqp->handle,
		.attr_mask = attr_mask,
	};
	struct srxe_query_qp_resp resp;
	int ret;

	ret = srxe_ctx_call(to_srxe_context(ibqp->context), SRXE_OP_QUERY_QP,
			    &req, sizeof(req), &resp, sizeof(resp));
	if (ret)
		return ret;
	srxe_qp_attr_from_wire(&resp.attr, attr);
	srxe_cap_out(&qp->cap, &attr->cap);

	memset(init_attr, 0, sizeof(*init_attr));
	init_attr->qp_context = ibqp->qp_context;
	init_attr->send_cq = ibqp->send_cq;
	init_attr->recv_cq = ibqp->recv_cq;
	init_attr->srq = ibqp->srq;
	init_attr->qp_type = ibqp->qp_type;
	init_attr->sq_sig_all = qp->sq_sig_all;
	init_attr->cap = attr->cap;
	return 0;
}

/*
 * The rings stay in the arena, which srxed reuses once the QP is gone; a
 * failed destroy leaves the QP usable.
 */
int srxe_destroy_qp(struct ibv_qp *ibqp)
{
	struct srxe_qp *qp = to_srxe_qp(ibqp);
	struct srxe_destroy_req req = { .handle = ibqp->handle };
	int ret;

	ret = srxe_ctx_call(to_srxe_context(ibqp->context), SRXE_OP_DESTROY_QP,
			    &req, sizeof(req), NULL, 0);
	if (ret)
		return ret;
	srxe_fatal_qp_del(to_srxe_context(ibqp->context), qp);
	if (qp->sender_cq)
		srxe_cq_del_sender(qp->sender_cq, qp);
	/* A dead context may have destroyed the CQs first (srxed's EBUSY
	 * keeps them while it lives). */
	if (!srxe_ctx_dead(to_srxe_context(ibqp->context)))
		purge_cqs(ibqp);
	pthread_spin_destroy(&qp->sq.lock);
	pthread_spin_destroy(&qp->rq.lock);
	free(qp);
	return 0;
}
