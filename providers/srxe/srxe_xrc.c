// SPDX-License-Identifier: MIT
/*
 * XRC (issue #10): XRC domains, XRC SRQs and XRC target QPs over srxed's
 * opcodes 50-53 (include/srxe/proto_xrc.h).  XRC_SEND QPs are ordinary
 * QPs of srxe_qp.c; posting to them is srxe_post.c / srxe_qp_ex.c.
 *
 * libibverbs 44 fills nothing of these objects (ibv_open_xrcd and
 * ibv_create_srq_ex call the provider straight), so everything a kernel
 * provider's ibv_cmd_* would set is set here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "srxe_verbs.h"

#define XRCD_ATTRS (IBV_XRCD_INIT_ATTR_FD | IBV_XRCD_INIT_ATTR_OFLAGS)

struct ibv_xrcd *srxe_open_xrcd(struct ibv_context *ibctx,
				struct ibv_xrcd_init_attr *attr)
{
	struct srxe_context *ctx = to_srxe_context(ibctx);
	struct srxe_open_xrcd_req req = { 0 };
	struct srxe_open_xrcd_resp resp;
	struct verbs_xrcd *x;
	int ret;

	/* As the kernel path: FD and OFLAGS both given, nothing else. */
	if (attr->comp_mask & ~(uint32_t)XRCD_ATTRS) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if ((attr->comp_mask & XRCD_ATTRS) != XRCD_ATTRS) {
		errno = EINVAL;
		return NULL;
	}
	req.oflags = (uint32_t)attr->oflags;
	req.has_fd = attr->fd >= 0;
	x = calloc(1, sizeof(*x));
	if (!x) {
		errno = ENOMEM;
		return NULL;
	}
	ret = srxe_ctx_call_fd(ctx, SRXE_OP_OPEN_XRCD, &req, sizeof(req),
			       attr->fd >= 0 ? attr->fd : -1, &resp,
			       sizeof(resp));
	if (ret) {
		free(x);
		errno = ret;
		return NULL;
	}
	x->xrcd.context = ibctx;
	x->comp_mask = VERBS_XRCD_HANDLE;
	x->handle = resp.xrcd_handle;
	return &x->xrcd;
}

int srxe_close_xrcd(struct ibv_xrcd *ibxrcd)
{
	struct verbs_xrcd *x =
		srxe_container_of(ibxrcd, struct verbs_xrcd, xrcd);
	struct srxe_destroy_req req = { .handle = x->handle };
	int ret;

	ret = srxe_ctx_call(to_srxe_context(ibxrcd->context),
			    SRXE_OP_CLOSE_XRCD, &req, sizeof(req), NULL, 0);
	if (ret)
		return ret; /* EBUSY: SRQs or target QPs still use it */
	free(x);
	return 0;
}

static uint32_t xrcd_handle(struct ibv_xrcd *ibxrcd)
{
	return srxe_container_of(ibxrcd, struct verbs_xrcd, xrcd)->handle;
}

#define SRQ_ATTRS                                                              \
	(IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_PD |                       \
	 IBV_SRQ_INIT_ATTR_XRCD | IBV_SRQ_INIT_ATTR_CQ)

static int check_srq_ex(const struct ibv_srq_init_attr_ex *attr)
{
	uint32_t need = IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_PD |
			IBV_SRQ_INIT_ATTR_XRCD | IBV_SRQ_INIT_ATTR_CQ;

	if (attr->comp_mask & ~(uint32_t)SRQ_ATTRS)
		return EOPNOTSUPP; /* tag matching */
	if (!(attr->comp_mask & IBV_SRQ_INIT_ATTR_TYPE) ||
	    attr->srq_type == IBV_SRQT_BASIC)
		return (attr->comp_mask & IBV_SRQ_INIT_ATTR_PD) && attr->pd
			       ? 0
			       : EINVAL;
	if (attr->srq_type != IBV_SRQT_XRC)
		return EOPNOTSUPP;
	if ((attr->comp_mask & need) != need || !attr->pd || !attr->xrcd ||
	    !attr->cq)
		return EINVAL;
	return 0;
}

/* What ibv_cmd_create_srq_ex() fills for a kernel provider. */
static void fill_srq(struct srxe_srq *srq, struct ibv_context *ibctx,
		     const struct ibv_srq_init_attr_ex *attr)
{
	struct ibv_srq *ibsrq = &srq->vsrq.srq;

	ibsrq->context = ibctx;
	ibsrq->srq_context = attr->srq_context;
	ibsrq->pd = attr->pd;
	ibsrq->events_completed = 0;
	pthread_mutex_init(&ibsrq->mutex, NULL);
	pthread_cond_init(&ibsrq->cond, NULL);
}

static struct ibv_srq *create_xsrq(struct ibv_context *ibctx,
				   struct ibv_srq_init_attr_ex *attr)
{
	struct srxe_context *ctx = to_srxe_context(ibctx);
	struct srxe_create_xsrq_req req = {
		.pd_handle = attr->pd->handle,
		.xrcd_handle = xrcd_handle(attr->xrcd),
		.cq_handle = attr->cq->handle,
		.max_wr = attr->attr.max_wr,
		.max_sge = attr->attr.max_sge,
		.srq_limit = attr->attr.srq_limit,
	};
	struct srxe_create_xsrq_resp resp;
	struct srxe_srq *srq;
	int ret;

	if (srxe_arena_check(&ctx->arena))
		return NULL;
	srq = calloc(1, sizeof(*srq));
	if (!srq) {
		errno = ENOMEM;
		return NULL;
	}
	req.user_handle = (uintptr_t)&srq->vsrq.srq;
	ret = srxe_ctx_call(ctx, SRXE_OP_CREATE_XSRQ, &req, sizeof(req), &resp,
			    sizeof(resp));
	if (!ret)
		ret = srxe_srq_attach(ctx, srq, &resp.ring, resp.srq_handle,
				      resp.max_sge);
	if (ret) {
		free(srq);
		errno = ret;
		return NULL;
	}
	fill_srq(srq, ibctx, attr);
	srq->vsrq.srq_type = IBV_SRQT_XRC;
	srq->vsrq.xrcd = srxe_container_of(attr->xrcd, struct verbs_xrcd, xrcd);
	srq->vsrq.cq = attr->cq;
	srq->vsrq.srq_num = resp.srq_num;
	attr->attr.max_wr = resp.max_wr;
	attr->attr.max_sge = resp.max_sge;
	return &srq->vsrq.srq;
}

struct ibv_srq *srxe_create_srq_ex(struct ibv_context *ibctx,
				   struct ibv_srq_init_attr_ex *attr)
{
	struct ibv_srq_init_attr basic;
	struct ibv_srq *ibsrq;
	int ret = check_srq_ex(attr);

	if (ret) {
		errno = ret;
		return NULL;
	}
	if ((attr->comp_mask & IBV_SRQ_INIT_ATTR_TYPE) &&
	    attr->srq_type == IBV_SRQT_XRC)
		return create_xsrq(ibctx, attr);
	/* a basic SRQ asked for with extra (CQ/XRCD) bits: as create_srq */
	basic.srq_context = attr->srq_context;
	basic.attr = attr->attr;
	ibsrq = srxe_create_srq(attr->pd, &basic);
	if (!ibsrq)
		return NULL;
	fill_srq(to_srxe_srq(ibsrq), ibctx, attr);
	attr->attr = basic.attr;
	return ibsrq;
}

int srxe_get_srq_num(struct ibv_srq *ibsrq, uint32_t *srq_num)
{
	struct srxe_srq *srq = to_srxe_srq(ibsrq);

	if (srq->vsrq.srq_type != IBV_SRQT_XRC)
		return EINVAL; /* only XRC SRQs have a number peers name */
	*srq_num = srq->vsrq.srq_num;
	return 0;
}

int srxe_xrc_tgt_make(struct ibv_context *ibctx, struct srxe_qp *qp,
		      struct ibv_qp_init_attr_ex *attr)
{
	struct srxe_create_xrc_tgt_req req = {
		.xrcd_handle = xrcd_handle(attr->xrcd),
		.user_handle = (uintptr_t)&qp->vqp.qp,
	};
	struct srxe_create_xrc_tgt_resp resp;
	struct ibv_qp *ibqp = &qp->vqp.qp;
	int ret;

	ret = srxe_ctx_call(to_srxe_context(ibctx), SRXE_OP_CREATE_XRC_TGT,
			    &req, sizeof(req), &resp, sizeof(resp));
	if (ret)
		return ret;
	/* No SQ, RQ, CQs or PD: a target only answers requests. */
	ibqp->context = ibctx;
	ibqp->qp_context = attr->qp_context;
	ibqp->qp_type = IBV_QPT_XRC_RECV;
	ibqp->state = IBV_QPS_RESET;
	ibqp->handle = resp.qp_handle;
	ibqp->qp_num = resp.qp_num;
	pthread_mutex_init(&ibqp->mutex, NULL);
	pthread_cond_init(&ibqp->cond, NULL);
	qp->vqp.comp_mask |= VERBS_QP_XRCD;
	qp->vqp.xrcd = srxe_container_of(attr->xrcd, struct verbs_xrcd, xrcd);
	pthread_spin_init(&qp->sq.lock, PTHREAD_PROCESS_PRIVATE);
	pthread_spin_init(&qp->rq.lock, PTHREAD_PROCESS_PRIVATE);
	memset(&attr->cap, 0, sizeof(attr->cap));
	return 0;
}
