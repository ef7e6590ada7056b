// SPDX-License-Identifier: MIT
/* CREATE/MODIFY/QUERY/DESTROY_SRQ (contract in verbs.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devattr.h"
#include "log.h"
#include "verbs_objs.h"

#define say srxed_say

static int check_srq_req(const struct srxe_create_srq_req *req, char *why)
{
	if (req->max_wr > SRXED_MAX_SRQ_WR)
		return say(why, EINVAL, "max_wr %u exceeds max_srq_wr %u",
			   req->max_wr, SRXED_MAX_SRQ_WR);
	if (req->max_sge > SRXED_MAX_SGE)
		return say(why, EINVAL, "max_sge %u exceeds max_srq_sge %u",
			   req->max_sge, SRXED_MAX_SGE);
	/* rxe_srq_chk_init(): an SRQ must hold at least one request */
	if (!req->max_wr)
		return say(why, EINVAL, "max_wr is 0");
	/*
	 * srq_limit is not checked here: ibv_create_srq(3) calls it
	 * irrelevant at creation, and rxe takes it as it is (the limit
	 * event then fires on the first receive consumed).
	 */
	return 0;
}

/* Like rxe, 0 SGEs are rounded up to 1. */
static void size_srq(const struct srxe_create_srq_req *req,
		     struct srxed_srq *srq)
{
	uint32_t sge = req->max_sge ? req->max_sge : 1;
	uint32_t stride =
		srxed_pow2_at_least(sizeof(struct srxe_recv_wqe) +
				    sge * sizeof(struct srxe_wqe_sge));

	srq->ring.size = srxed_pow2_at_least(req->max_wr ? req->max_wr : 1);
	srq->ring.stride = stride;
	srq->max_wr = srq->ring.size;
	srq->max_sge = sge;
}

static int engine_create(struct srxed *d, struct srxed_verbs_ctx *v,
			 const struct srxe_create_srq_req *req,
			 struct srxed_srq *srq, char *why)
{
	struct srxed_xrcd *x = srq->xrcd;
	struct srxe_eng_srq_init init = {
		.pd_handle = req->pd_handle,
		.ring = srxed_arena_ring(&v->arena, &srq->ring),
		.size = srq->ring.size,
		.stride = srq->ring.stride,
		.max_wr = srq->max_wr,
		.max_sge = srq->max_sge,
		.srq_limit = req->srq_limit,
		.user_handle = req->user_handle,
		.xrcd = x ? x->dom->id : 0,
		.srqn = srq->srqn,
		.cq = x ? srq->cq->eng : NULL,
	};
	const char *reason = NULL;
	int ret;

	srxe_engine_lock(d->engine);
	ret = srxe_eng_srq_create(v->eng, &init, &srq->eng, &reason);
	srxe_engine_unlock(d->engine);
	if (ret)
		return say(why, -ret, "the engine refused the SRQ: %s",
			   reason ? reason : strerror(-ret));
	srq->pd->users++;
	if (x) {
		x->users++;
		srq->cq->users++;
	}
	d->stats.srqs++;
	return 0;
}

int srxed_srq_create(struct srxed *d, struct srxed_session *s,
		     const struct srxe_create_srq_req *req,
		     struct srxe_create_srq_resp *resp, char *why)
{
	return srxed_srq_build(d, s, req, NULL, resp, why);
}

int srxed_srq_build(struct srxed *d, struct srxed_session *s,
		    const struct srxe_create_srq_req *req,
		    const struct srxed_xsrq_args *xrc,
		    struct srxe_create_srq_resp *resp, char *why)
{
	struct srxed_pd *pd = srxed_handle_lookup(&s->pds, req->pd_handle);
	struct srxed_verbs_ctx *v;
	struct srxed_srq *srq;
	int ret;

	if (!pd)
		return say(why, EINVAL, "no such PD: handle 0x%x",
			   req->pd_handle);
	ret = check_srq_req(req, why);
	if (ret)
		return ret;
	if (d->stats.srqs >= SRXED_MAX_SRQ)
		return say(why, ENOMEM, "device SRQ limit (max_srq %u) reached",
			   SRXED_MAX_SRQ);
	v = srxed_verbs_ctx_get(d, s, &ret, why);
	if (!v)
		return ret;
	srq = calloc(1, sizeof(*srq));
	if (!srq)
		return say(why, ENOMEM, "srxed is out of memory");
	srq->pd = pd;
	if (xrc) {
		/* SRQ numbers share the QP number space: one allocator
		 * keeps both unique on this device, as on hardware. */
		if (srxed_qpn_alloc(&d->qpns, &srq->srqn)) {
			free(srq);
			return say(why, ENOMEM, "no SRQ number is free");
		}
		srq->xrcd = xrc->xrcd;
		srq->cq = xrc->cq;
	}
	size_srq(req, srq);
	if (srxed_arena_alloc_ring(&v->arena, srq->ring.size, srq->ring.stride,
				   &srq->ring)) {
		uint32_t slots = srq->max_wr;

		free(srq);
		return say(why, ENOMEM,
			   "the ring arena has no room for a %u-entry SRQ",
			   slots);
	}
	ret = engine_create(d, v, req, srq, why);
	if (!ret && srxed_handle_alloc(&v->srqs, srq, &srq->handle))
		ret = say(why, ENOMEM, "context SRQ limit (max_srq %u) reached",
			  SRXED_MAX_SRQ);
	if (ret) {
		srxed_srq_release(d, v, srq);
		return ret;
	}
	resp->srq_handle = srq->handle;
	resp->max_wr = srq->max_wr;
	resp->max_sge = srq->max_sge;
	resp->reserved = 0;
	resp->ring = srq->ring;
	return 0;
}

void srxed_srq_release(struct srxed *d, struct srxed_verbs_ctx *v,
		       struct srxed_srq *srq)
{
	const char *reason = NULL;

	if (srq->eng) {
		srxe_engine_lock(d->engine);
		if (srxe_eng_srq_destroy(srq->eng, &reason))
			log_warn("engine kept an SRQ srxed freed: %s",
				 reason ? reason : "no reason");
		srxe_engine_unlock(d->engine);
		srq->pd->users--;
		if (srq->xrcd) {
			srq->xrcd->users--;
			srq->cq->users--;
		}
		d->stats.srqs--;
	}
	if (srq->srqn)
		srxed_qpn_free(&d->qpns, srq->srqn);
	srxed_arena_free_ring(&v->arena, &srq->ring);
	free(srq);
}

static struct srxed_srq *find_srq(struct srxed_session *s, uint32_t handle)
{
	return s->verbs ? srxed_handle_lookup(&s->verbs->srqs, handle) : NULL;
}

/*
 * As rxe: not below an armed limit (@asked, before rounding up to @size);
 * the posted receives must fit (checked by the engine, which moves them).
 */
static int srq_resize(struct srxed *d, struct srxed_verbs_ctx *v,
		      struct srxed_srq *srq, uint32_t asked, uint32_t size,
		      uint32_t *moved, char *why)
{
	struct srxe_query_srq_resp now;
	struct srxe_ring_desc ring;
	const char *reason = NULL;
	int ret;

	srxe_engine_lock(d->engine);
	srxe_eng_srq_query(srq->eng, &now);
	srxe_engine_unlock(d->engine);
	if (now.srq_limit && asked < now.srq_limit)
		return say(why, EINVAL,
			   "max_wr %u is below the armed srq_limit %u", asked,
			   now.srq_limit);
	if (srxed_arena_alloc_ring(&v->arena, size, srq->ring.stride, &ring))
		return say(why, ENOMEM,
			   "the ring arena has no room for a %u-entry SRQ",
			   size);
	srxe_engine_lock(d->engine);
	ret = srxe_eng_srq_resize(srq->eng, srxed_arena_ring(&v->arena, &ring),
				  size, moved, &reason);
	srxe_engine_unlock(d->engine);
	if (ret) {
		srxed_arena_free_ring(&v->arena, &ring);
		return say(why, -ret, "cannot resize the SRQ to %u entries: %s",
			   size, reason ? reason : strerror(-ret));
	}
	srxed_arena_free_ring(&v->arena, &srq->ring);
	srq->ring = ring;
	srq->max_wr = size;
	return 0;
}

int srxed_srq_modify(struct srxed *d, struct srxed_session *s,
		     const struct srxe_modify_srq_req *req,
		     struct srxe_modify_srq_resp *resp, char *why)
{
	struct srxed_srq *srq = find_srq(s, req->srq_handle);
	bool resize = req->attr_mask & IBV_SRQ_MAX_WR;
	const char *reason = NULL;
	uint32_t moved = 0, max_wr;
	int ret;

	if (!srq)
		return say(why, EINVAL, "no such SRQ: handle 0x%x",
			   req->srq_handle);
	if (req->attr_mask & ~(uint32_t)(IBV_SRQ_MAX_WR | IBV_SRQ_LIMIT))
		return say(why, EINVAL, "attr_mask has unknown bits 0x%x",
			   req->attr_mask);
	if (resize && (!req->max_wr || req->max_wr > SRXED_MAX_SRQ_WR))
		return say(why, EINVAL,
			   "max_wr %u is outside 1..%u (max_srq_wr)",
			   req->max_wr, SRXED_MAX_SRQ_WR);
	max_wr = resize ? srxed_pow2_at_least(req->max_wr) : srq->max_wr;
	/* against the new size, before a resize, which cannot be undone */
	if ((req->attr_mask & IBV_SRQ_LIMIT) && req->srq_limit > max_wr)
		return say(why, EINVAL, "srq_limit %u exceeds max_wr %u",
			   req->srq_limit, max_wr);
	if (resize) {
		ret = srq_resize(d, s->verbs, srq, req->max_wr, max_wr, &moved,
				 why);
		if (ret)
			return ret;
	}
	srxe_engine_lock(d->engine);
	ret = srxe_eng_srq_modify(srq->eng, req->attr_mask & IBV_SRQ_LIMIT,
				  req->max_wr, req->srq_limit, &reason);
	srxe_engine_unlock(d->engine);
	if (ret)
		return say(why, -ret, "the engine refused the change: %s",
			   reason ? reason : strerror(-ret));
	resp->max_wr = srq->max_wr;
	resp->posted = moved;
	resp->ring = srq->ring;
	return 0;
}

int srxed_srq_query(struct srxed *d, struct srxed_session *s,
		    const struct srxe_destroy_req *req,
		    struct srxe_query_srq_resp *resp, char *why)
{
	struct srxed_srq *srq = find_srq(s, req->handle);

	if (req->reserved)
		return say(why, EINVAL, "reserved field must be 0");
	if (!srq)
		return say(why, EINVAL, "no such SRQ: handle 0x%x",
			   req->handle);
	srxe_engine_lock(d->engine);
	srxe_eng_srq_query(srq->eng, resp);
	srxe_engine_unlock(d->engine);
	resp->reserved = 0;
	return 0;
}

int srxed_srq_destroy(struct srxed *d, struct srxed_session *s,
		      const struct srxe_destroy_req *req, char *why)
{
	struct srxed_srq *srq = find_srq(s, req->handle);
	const char *reason = NULL;
	int ret;

	if (req->reserved)
		return say(why, EINVAL, "reserved field must be 0");
	if (!srq)
		return say(why, EINVAL, "no such SRQ: handle 0x%x",
			   req->handle);
	if (srq->users)
		return say(why, EBUSY, "SRQ 0x%x is still used by %u QP(s)",
			   req->handle, srq->users);
	srxe_engine_lock(d->engine);
	ret = srxe_eng_srq_destroy(srq->eng, &reason);
	srxe_engine_unlock(d->engine);
	if (ret)
		return say(why, -ret, "the engine keeps SRQ 0x%x: %s",
			   req->handle, reason ? reason : strerror(-ret));
	srq->eng = NULL;
	srq->pd->users--;
	if (srq->xrcd) {
		srq->xrcd->users--;
		srq->cq->users--;
	}
	d->stats.srqs--;
	srxed_handle_free(&s->verbs->srqs, req->handle);
	srxed_srq_release(d, s->verbs, srq);
	return 0;
}
