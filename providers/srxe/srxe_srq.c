// SPDX-License-Identifier: MIT
/*
 * Shared receive queues: srxed creates the ring and watches the limit;
 * the provider posts receive WQEs into it (srxe_post.c).
 */
#include <errno.h>
#include <stdlib.h>

#include "srxe_verbs.h"

/* Maps the SRQ's ring; on failure destroys the SRQ in srxed. */
int srxe_srq_attach(struct srxe_context *ctx, struct srxe_srq *srq,
		    const struct srxe_ring_desc *ring, uint32_t handle,
		    uint32_t max_sge)
{
	struct srxe_destroy_req dreq = { .handle = handle };
	uint32_t min_stride = sizeof(struct srxe_recv_wqe) +
			      max_sge * sizeof(struct srxe_wqe_sge);
	int ret;

	ret = srxe_ring_attach(&ctx->arena, ring, min_stride, &srq->rq.ring);
	if (ret) {
		srxe_ctx_call(ctx, SRXE_OP_DESTROY_SRQ, &dreq, sizeof(dreq),
			      NULL, 0);
		return ret;
	}
	srq->vsrq.srq.handle = handle;
	srq->rq.max_sge = max_sge;
	pthread_spin_init(&srq->rq.lock, PTHREAD_PROCESS_PRIVATE);
	return 0;
}

static int srxe_srq_make(struct srxe_context *ctx, struct ibv_pd *pd,
			 struct srxe_srq *srq, struct ibv_srq_attr *attr)
{
	struct srxe_create_srq_req req = {
		.pd_handle = pd->handle,
		.max_wr = attr->max_wr,
		.max_sge = attr->max_sge,
		.srq_limit = attr->srq_limit,
		.user_handle = (uintptr_t)&srq->vsrq.srq,
	};
	struct srxe_create_srq_resp resp;
	int ret;

	if (srxe_arena_check(&ctx->arena))
		return errno;
	ret = srxe_ctx_call(ctx, SRXE_OP_CREATE_SRQ, &req, sizeof(req), &resp,
			    sizeof(resp));
	if (ret)
		return ret;
	ret = srxe_srq_attach(ctx, srq, &resp.ring, resp.srq_handle,
			      resp.max_sge);
	if (ret)
		return ret;
	srq->vsrq.srq_type = IBV_SRQT_BASIC;
	/* as the kernel: tell the caller what it got */
	attr->max_wr = resp.max_wr;
	attr->max_sge = resp.max_sge;
	return 0;
}

/* libibverbs fills context, srq_context, pd, mutex and cond afterwards. */
struct ibv_srq *srxe_create_srq(struct ibv_pd *pd,
				struct ibv_srq_init_attr *attr)
{
	struct srxe_srq *srq = calloc(1, sizeof(*srq));
	int ret;

	if (!srq) {
		errno = ENOMEM;
		return NULL;
	}
	srq->vsrq.srq.context = pd->context;
	ret = srxe_srq_make(to_srxe_context(pd->context), pd, srq, &attr->attr);
	if (ret) {
		free(srq);
		errno = ret;
		return NULL;
	}
	return &srq->vsrq.srq;
}

/*
 * A resize moves the posted receives to a new ring (struct
 * srxe_modify_srq_resp); the post lock keeps posters off both rings.
 */
int srxe_modify_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr,
		    int attr_mask)
{
	struct srxe_context *ctx = to_srxe_context(ibsrq->context);
	struct srxe_srq *srq = to_srxe_srq(ibsrq);
	struct srxe_modify_srq_req req = {
		.srq_handle = ibsrq->handle,
		.attr_mask = attr_mask,
		.max_wr = attr_mask & IBV_SRQ_MAX_WR ? attr->max_wr : 0,
		.srq_limit = attr_mask & IBV_SRQ_LIMIT ? attr->srq_limit : 0,
	};
	struct srxe_modify_srq_resp resp;
	struct srxe_ring ring;
	int ret;

	pthread_spin_lock(&srq->rq.lock);
	ret = srxe_ctx_call(ctx, SRXE_OP_MODIFY_SRQ, &req, sizeof(req), &resp,
			    sizeof(resp));
	if (!ret && (attr_mask & IBV_SRQ_MAX_WR)) {
		ret = srxe_ring_attach(&ctx->arena, &resp.ring,
				       srq->rq.ring.stride, &ring);
		if (!ret && resp.posted > ring.size)
			ret = EPROTO;
		if (!ret) {
			ring.head = resp.posted;
			srq->rq.ring = ring;
		}
	}
	pthread_spin_unlock(&srq->rq.lock);
	return ret;
}

int srxe_query_srq(struct ibv_srq *ibsrq, struct ibv_srq_attr *attr)
{
	struct srxe_destroy_req req = { .handle = ibsrq->handle };
	struct srxe_query_srq_resp resp;
	int ret;

	ret = srxe_ctx_call(to_srxe_context(ibsrq->context), SRXE_OP_QUERY_SRQ,
			    &req, sizeof(req), &resp, sizeof(resp));
	if (ret)
		return ret;
	attr->max_wr = resp.max_wr;
	attr->max_sge = resp.max_sge;
	attr->srq_limit = resp.srq_limit;
	return 0;
}

int srxe_destroy_srq(struct ibv_srq *ibsrq)
{
	struct srxe_srq *srq = to_srxe_srq(ibsrq);
	struct srxe_destroy_req req = { .handle = ibsrq->handle };
	int ret;

	ret = srxe_ctx_call(to_srxe_context(ibsrq->context),
			    SRXE_OP_DESTROY_SRQ, &req, sizeof(req), NULL, 0);
	if (ret)
		return ret; /* EBUSY while a QP uses it: the SRQ stays valid */
	pthread_spin_destroy(&srq->rq.lock);
	free(srq);
	return 0;
}
