// SPDX-License-Identifier: MIT
/* CREATE_CQ, RESIZE_CQ, DESTROY_CQ (contract in verbs.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chan.h"
#include "devattr.h"
#include "log.h"
#include "verbs_objs.h"

#define say srxed_say

/* Ring slots for at least cqe entries; one slot stays free (cqe = size - 1). */
static int cq_ring_size(uint32_t cqe, uint32_t *size, char *why)
{
	if (cqe < 1 || cqe > SRXED_MAX_CQE)
		return say(why, EINVAL, "cqe %u is outside 1..%u (max_cqe)",
			   cqe, SRXED_MAX_CQE);
	*size = srxed_pow2_at_least(cqe + 1);
	return 0;
}

static struct srxed_cq *find_cq(struct srxed_verbs_ctx *v, uint32_t handle)
{
	return srxed_handle_lookup(&v->cqs, handle);
}

static int cq_engine_create(struct srxed *d, struct srxed_verbs_ctx *v,
			    struct srxed_cq *cq, uint64_t user_handle,
			    char *why)
{
	const char *reason = NULL;
	int ret;

	srxe_engine_lock(d->engine);
	ret = srxe_eng_cq_create(v->eng, srxed_arena_ring(&v->arena, &cq->ring),
				 cq->ring.size, user_handle, &cq->eng, &reason);
	srxe_engine_unlock(d->engine);
	if (ret)
		return say(why, -ret, "the engine refused the CQ: %s",
			   reason ? reason : strerror(-ret));
	return 0;
}

/* Issue #6: the engine writes this CQ's events to the channel's pipe. */
static void cq_attach_channel(struct srxed *d, struct srxed_cq *cq,
			      struct srxed_channel *chan, int event_fd)
{
	if (!chan)
		return;
	srxe_engine_lock(d->engine);
	srxe_eng_cq_set_event_fd(cq->eng, event_fd);
	srxe_engine_unlock(d->engine);
	cq->chan = chan;
	srxed_chan_get(chan);
}

int srxed_cq_create(struct srxed *d, struct srxed_session *s,
		    const struct srxe_create_cq_req *req,
		    struct srxe_create_cq_resp *resp, char *why)
{
	struct srxed_channel *chan = NULL;
	struct srxed_verbs_ctx *v;
	struct srxed_cq *cq;
	uint32_t size = 0;
	int ret, event_fd = -1;

	ret = cq_ring_size(req->cqe, &size, why);
	if (ret)
		return ret;
	if (req->comp_vector != 0)
		return say(why, EINVAL,
			   "comp_vector %u does not exist (srxe has 1)",
			   req->comp_vector);
	if (d->stats.cqs >= SRXED_MAX_CQ)
		return say(why, ENOMEM, "device CQ limit (max_cq %u) reached",
			   SRXED_MAX_CQ);
	if (req->channel_ino) {
		chan = srxed_chan_find(s, req->channel_ino, &event_fd);
		if (!chan)
			return say(why, EINVAL,
				   "no such completion channel (inode %llu)",
				   (unsigned long long)req->channel_ino);
	}
	v = srxed_verbs_ctx_get(d, s, &ret, why);
	if (!v)
		return ret;
	if (srxed_handles_count(&v->cqs) >= d->cfg.max_cq)
		return say(why, ENOMEM,
			   "client CQ limit (max_cq %u, srxe up --max-cq) "
			   "reached",
			   d->cfg.max_cq);
	cq = calloc(1, sizeof(*cq));
	if (!cq)
		return say(why, ENOMEM, "srxed is out of memory");
	if (srxed_arena_alloc_ring(&v->arena, size, SRXE_CQE_STRIDE,
				   &cq->ring)) {
		free(cq);
		return say(why, ENOMEM,
			   "the ring arena has no room for a %u-entry CQ",
			   size);
	}
	ret = cq_engine_create(d, v, cq, req->user_handle, why);
	if (ret) {
		srxed_arena_free_ring(&v->arena, &cq->ring);
		free(cq);
		return ret;
	}
	cq_attach_channel(d, cq, chan, event_fd);
	d->stats.cqs++;
	if (srxed_handle_alloc(&v->cqs, cq, &cq->handle)) {
		srxed_cq_release(d, v, cq);
		return say(why, ENOMEM, "context CQ limit (max_cq %u) reached",
			   SRXED_MAX_CQ);
	}
	resp->cq_handle = cq->handle;
	resp->cqe = size - 1;
	resp->ring = cq->ring;
	return 0;
}

int srxed_cq_resize(struct srxed *d, struct srxed_session *s,
		    const struct srxe_resize_cq_req *req,
		    struct srxe_resize_cq_resp *resp, char *why)
{
	struct srxed_verbs_ctx *v = s->verbs;
	struct srxed_cq *cq = v ? find_cq(v, req->cq_handle) : NULL;
	struct srxe_ring_desc ring;
	const char *reason = NULL;
	uint32_t size = 0;
	int ret;

	if (!cq)
		return say(why, EINVAL, "no such CQ: handle 0x%x",
			   req->cq_handle);
	ret = cq_ring_size(req->cqe, &size, why);
	if (ret)
		return ret;
	if (srxed_arena_alloc_ring(&v->arena, size, SRXE_CQE_STRIDE, &ring))
		return say(why, ENOMEM,
			   "the ring arena has no room for a %u-entry CQ",
			   size);
	srxe_engine_lock(d->engine);
	ret = srxe_eng_cq_resize(cq->eng, srxed_arena_ring(&v->arena, &ring),
				 size, &reason);
	srxe_engine_unlock(d->engine);
	if (ret) {
		srxed_arena_free_ring(&v->arena, &ring);
		return say(why, -ret, "cannot resize the CQ to %u entries: %s",
			   size - 1, reason ? reason : strerror(-ret));
	}
	srxed_arena_free_ring(&v->arena, &cq->ring);
	cq->ring = ring;
	resp->cqe = size - 1;
	resp->reserved = 0;
	resp->ring = ring;
	return 0;
}

void srxed_cq_release(struct srxed *d, struct srxed_verbs_ctx *v,
		      struct srxed_cq *cq)
{
	const char *reason = NULL;

	if (cq->eng) {
		srxe_engine_lock(d->engine);
		/* The channel's fd may close below. */
		srxe_eng_cq_set_event_fd(cq->eng, -1);
		if (srxe_eng_cq_destroy(cq->eng, &reason))
			log_warn("engine kept a CQ srxed freed: %s",
				 reason ? reason : "no reason");
		srxe_engine_unlock(d->engine);
		d->stats.cqs--;
	}
	if (cq->chan)
		srxed_chan_put(d, cq->chan);
	srxed_arena_free_ring(&v->arena, &cq->ring);
	free(cq);
}

int srxed_cq_destroy(struct srxed *d, struct srxed_session *s,
		     const struct srxe_destroy_req *req, char *why)
{
	struct srxed_verbs_ctx *v = s->verbs;
	struct srxed_cq *cq = v ? find_cq(v, req->handle) : NULL;
	const char *reason = NULL;
	int ret;

	if (req->reserved)
		return say(why, EINVAL, "reserved field must be 0");
	if (!cq)
		return say(why, EINVAL, "no such CQ: handle 0x%x", req->handle);
	if (cq->users)
		return say(why, EBUSY,
			   "CQ 0x%x is still used by %u QP queue(s)",
			   req->handle, cq->users);
	srxe_engine_lock(d->engine);
	ret = srxe_eng_cq_destroy(cq->eng, &reason);
	srxe_engine_unlock(d->engine);
	if (ret)
		return say(why, -ret, "the engine keeps CQ 0x%x: %s",
			   req->handle, reason ? reason : strerror(-ret));
	cq->eng = NULL;
	d->stats.cqs--;
	srxed_handle_free(&v->cqs, req->handle);
	srxed_cq_release(d, v, cq);
	return 0;
}
