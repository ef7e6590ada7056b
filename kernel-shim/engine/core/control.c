// SPDX-License-Identifier: MIT
/*
 * The control plane's verbs (engine.h) that span layers: each is an
 * object operation (ctx.c, cq.c, qp.c, fault.c) plus what the layers
 * above the objects must do around it -- the engine thread's epoll set,
 * a pass of the engine, the multicast groups, the flush of a QP in ERR,
 * sending what was posted before a destroy.
 * Here in the core, so that the objects never call upwards.  Caller holds
 * srxe_engine_lock() unless a function says it takes it.
 */
#include <errno.h>

#include "core.h"
#include "objects/objects.h"
#include "packet/timing.h"
#include "proto/proto.h"
#include "shard.h"
#include "transport/transport.h"

int srxe_eng_ctx_create(struct srxe_engine *eng,
			const struct srxe_eng_ctx_init *init,
			struct srxe_eng_ctx **out, const char **why)
{
	struct srxe_engine *shard = srxe_shard_place(eng->dev);
	struct srxe_eng_ctx *ctx;
	int ret;

	ret = srxe_ctx_new(shard, init, &ctx, why);
	if (ret)
		return ret;
	if (ctx->doorbell_fd >= 0) {
		ret = srxe_engine_watch(shard, ctx->doorbell_fd, ctx->id);
		if (ret) {
			srxe_ctx_free(ctx);
			*why = "cannot watch the doorbell eventfd";
			return ret;
		}
	}
	srxe_shard_attach(shard, ctx);
	*out = ctx;
	return 0;
}

/* QPs first: they hold references on CQs and SRQs. */
void srxe_eng_ctx_destroy(struct srxe_eng_ctx *ctx)
{
	struct srxe_list *n, *t;
	const char *why;

	if (!ctx)
		return;
	srxe_list_for_each_safe(n, t, &ctx->qps) srxe_eng_qp_destroy(
		srxe_container_of(n, struct srxe_eng_qp, node));
	srxe_list_for_each_safe(n, t, &ctx->srqs) srxe_eng_srq_destroy(
		srxe_container_of(n, struct srxe_eng_srq, node), &why);
	srxe_list_for_each_safe(n, t, &ctx->cqs) srxe_eng_cq_destroy(
		srxe_container_of(n, struct srxe_eng_cq, node), &why);
	srxe_list_for_each_safe(n, t, &ctx->ahs) srxe_eng_ah_destroy(
		srxe_container_of(n, struct srxe_eng_ah, node));
	if (ctx->doorbell_fd >= 0)
		srxe_engine_unwatch(ctx->eng, ctx->doorbell_fd);
	srxe_shard_detach(ctx);
	srxe_ctx_free(ctx);
}

/*
 * Work posted before a resize completes before the CQEs are counted, as
 * on kernel rxe, where posting runs the requester in the poster's context:
 * otherwise "more unconsumed CQEs than the new size" would depend on how
 * far the engine thread happened to be.  Bounded: a pass that still finds
 * work after that many belongs to traffic that keeps coming.
 */
#define SETTLE_PASSES 64

static void settle(struct srxe_engine *eng)
{
	for (int i = 0; i < SETTLE_PASSES && srxe_engine_pass(eng); i++)
		;
}

int srxe_eng_cq_resize(struct srxe_eng_cq *cq, struct srxe_ring_hdr *ring,
		       uint32_t size, const char **why)
{
	int ret = srxe_cq_resize_check(cq, ring, size, why);

	if (ret)
		return ret;
	settle(cq->ctx->eng);
	return srxe_cq_resize_move(cq, ring, size, why);
}

/* Bounded by the queue: each run takes up to a budget of WQEs. */
static void send_posted(struct srxe_eng_qp *qp)
{
	unsigned int rounds = qp->sq_size / SRXE_REQ_BUDGET + 2;

	while (rounds-- && srxe_qp_can_send(qp) && srxe_req_run(qp))
		;
}

void srxe_eng_qp_send_posted(struct srxe_eng_qp *qp)
{
	struct srxe_engine *eng = qp->ctx->eng;

	eng->now = srxe_now_ns();
	send_posted(qp);
	srxe_engine_wire_flush(eng);
}

void srxe_eng_ctx_send_posted_ud(struct srxe_eng_ctx *ctx)
{
	struct srxe_engine *eng = ctx->eng;
	struct srxe_list *q, *qt;

	eng->now = srxe_now_ns();
	srxe_list_for_each_safe(q, qt, &ctx->qps)
	{
		struct srxe_eng_qp *qp =
			srxe_container_of(q, struct srxe_eng_qp, node);

		if (qp->type == IBV_QPT_UD)
			send_posted(qp);
	}
	srxe_engine_wire_flush(eng);
}

/* A QP connected to a QP of this device: one engine thread for both. */
static void pair_threads(struct srxe_eng_qp *qp)
{
	struct srxe_engine *eng = qp->ctx->eng;
	struct srxe_eng_qp *peer;

	if (eng->dev->nshards == 1 || qp->type == IBV_QPT_UD ||
	    !srxe_dest_is_local(eng, &qp->dest))
		return;
	peer = srxe_qp_lookup(eng, qp->dest.qpn);
	if (peer)
		srxe_shard_pair(qp->ctx, peer->ctx);
}

/* A modify to ERR flushes at once, before the verb returns, as on rxe. */
int srxe_eng_qp_modify(struct srxe_eng_qp *qp,
		       const struct srxe_qp_attr_wire *attr, uint32_t attr_mask,
		       const char **why)
{
	int ret = srxe_qp_modify(qp, attr, attr_mask, why);

	if (ret)
		return ret;
	if (qp->attr.qp_state == IBV_QPS_ERR)
		srxe_qp_to_err(qp, -1);
	else if ((attr_mask & IBV_QP_STATE) && attr->qp_state == IBV_QPS_RTR)
		pair_threads(qp);
	return 0;
}

void srxe_eng_qp_destroy(struct srxe_eng_qp *qp)
{
	if (!qp)
		return;
	srxe_mcast_qp_gone(qp);
	srxe_qp_free(qp);
}

int srxe_engine_set_fault(struct srxe_engine *eng, srxe_fault_fn fn,
			  void *opaque)
{
	struct srxe_fault *f = NULL;

	if (fn) {
		f = srxe_fault_new(fn, opaque);
		if (!f)
			return -ENOMEM;
	}
	srxe_engine_lock(eng);
	srxe_fault_free(eng);
	eng->fault = f;
	srxe_engine_unlock(eng);
	return 0;
}
