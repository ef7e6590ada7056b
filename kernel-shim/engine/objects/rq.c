// SPDX-License-Identifier: MIT
/*
 * Receive queues: a QP's own RQ or a shared SRQ.  Taking a receive WQE
 * reads the untrusted producer index once, bound-checks it against the
 * private consumer index, copies the slot into private memory and
 * validates it there; the slot is released (consumer index published) at
 * once, because the engine keeps its private copy until completion.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"
#include "packet/wire.h"

struct rq_view {
	struct srxe_ring_hdr *ring;
	uint32_t size, stride, max_sge;
	uint32_t *cons;
};

static void view_of(struct srxe_eng_qp *qp, struct rq_view *v)
{
	if (qp->srq) {
		v->ring = qp->srq->ring;
		v->size = qp->srq->size;
		v->stride = qp->srq->stride;
		v->max_sge = qp->srq->max_sge;
		v->cons = &qp->srq->cons;
	} else {
		v->ring = qp->rq;
		v->size = qp->rq_size;
		v->stride = qp->rq_stride;
		v->max_sge = qp->cap.max_recv_sge;
		v->cons = &qp->rq_cons;
	}
}

/* Posted WQEs, or -1 when the producer index cannot be right. */
static int64_t rq_posted(const struct rq_view *v)
{
	uint32_t prod = __atomic_load_n(&v->ring->prod.val, __ATOMIC_ACQUIRE);
	uint32_t n = prod - *v->cons;

	return n > v->size ? -1 : (int64_t)n;
}

/* Copies and validates slot *cons; false for a malformed WQE. */
static bool rq_copy(const struct rq_view *v, struct srxe_rwqe *out)
{
	const struct srxe_recv_wqe *slot =
		srxe_ring_slot(v->ring, *v->cons, v->size, v->stride);
	struct srxe_recv_wqe hdr;

	memcpy(&hdr, slot, sizeof(hdr));
	out->wr_id = hdr.wr_id;
	out->num_sge = hdr.num_sge;
	out->length = 0;
	if (hdr.num_sge > v->max_sge)
		return false;
	memcpy(out->sge, slot + 1, hdr.num_sge * sizeof(out->sge[0]));
	for (uint32_t i = 0; i < hdr.num_sge; i++)
		out->length += out->sge[i].length;
	return true;
}

static void srq_check_limit(struct srxe_eng_srq *srq, uint32_t left)
{
	if (srq->limit && left < srq->limit) {
		srq->limit = 0; /* one event per arming */
		srxe_ctx_async(srq->ctx, srq->user_handle,
			       IBV_EVENT_SRQ_LIMIT_REACHED);
	}
}

int srxe_rq_take(struct srxe_eng_qp *qp, struct srxe_rwqe *out)
{
	struct rq_view v;
	int64_t posted;
	bool ok;

	view_of(qp, &v);
	if (qp->srq && qp->srq->error)
		return -1;
	posted = rq_posted(&v);
	if (posted < 0) {
		if (qp->srq) {
			/* an XRC SRQ may be another context's: tell its own */
			qp->srq->error = true;
			srxe_ctx_async(qp->srq->ctx, qp->srq->user_handle,
				       IBV_EVENT_SRQ_ERR);
		}
		return -1;
	}
	if (!posted)
		return 0;
	ok = rq_copy(&v, out);
	(*v.cons)++;
	__atomic_store_n(&v.ring->cons.val, *v.cons, __ATOMIC_RELEASE);
	if (qp->srq)
		srq_check_limit(qp->srq, (uint32_t)posted - 1);
	return ok ? 1 : -1;
}

unsigned int srxe_rq_flush(struct srxe_eng_qp *qp)
{
	struct rq_view v;
	struct srxe_rwqe w;
	unsigned int n = 0;
	int64_t posted;

	if (qp->srq || !qp->rq)
		return 0; /* SRQ WQEs belong to no QP: they stay posted;
			   * XRC QPs have no RQ at all */
	view_of(qp, &v);
	posted = rq_posted(&v);
	for (int64_t i = 0; i < posted; i++) {
		struct srxe_cqe cqe = {
			.status = IBV_WC_WR_FLUSH_ERR,
			.opcode = IBV_WC_RECV,
			.qp_num = qp->qpn,
		};

		rq_copy(&v, &w);
		cqe.wr_id = w.wr_id;
		if (srxe_cq_push(qp->rcq, &cqe, false))
			break;
		(*v.cons)++;
		__atomic_store_n(&v.ring->cons.val, *v.cons, __ATOMIC_RELEASE);
		n++;
	}
	if (posted < 0) {
		/* Garbage index: resynchronize so flushing can end. */
		*v.cons = __atomic_load_n(&v.ring->prod.val, __ATOMIC_ACQUIRE);
		__atomic_store_n(&v.ring->cons.val, *v.cons, __ATOMIC_RELEASE);
	}
	return n;
}

/* ---- SRQ objects ---- */

static unsigned int srq_hash(uint32_t srqn)
{
	return (srqn ^ (srqn >> 8)) & (SRXE_ENG_SRQ_HASH - 1);
}

struct srxe_eng_srq *srxe_xsrq_lookup(struct srxe_engine *eng, uint32_t srqn)
{
	struct srxe_eng_srq *srq = eng->dev->srq_hash[srq_hash(srqn)];

	while (srq && srq->srqn != srqn)
		srq = srq->hash_next;
	return srq;
}

static void xsrq_unhash(struct srxe_eng_srq *srq)
{
	struct srxe_eng_srq **pp =
		&srq->ctx->eng->dev->srq_hash[srq_hash(srq->srqn)];

	while (*pp && *pp != srq)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = srq->hash_next;
}

static const char *check_xrc(struct srxe_eng_ctx *ctx,
			     const struct srxe_eng_srq_init *init)
{
	if (!init->xrcd)
		return init->cq ? "a basic SRQ has no CQ of its own" : NULL;
	if (!init->cq || init->cq->ctx != ctx)
		return "an XRC SRQ needs a CQ of its own context";
	if (!init->srqn || init->srqn > SRXE_QPN_MASK ||
	    srxe_xsrq_lookup(ctx->eng, init->srqn))
		return "XRC SRQ number is 0, too wide or in use";
	return NULL;
}

int srxe_eng_srq_create(struct srxe_eng_ctx *ctx,
			const struct srxe_eng_srq_init *init,
			struct srxe_eng_srq **out, const char **why)
{
	struct srxe_eng_srq *srq;
	uint32_t size = init->size, stride = init->stride;

	*why = NULL;
	if (!size || (size & (size - 1)) || init->max_sge > SRXE_ENG_MAX_SGE ||
	    stride < sizeof(struct srxe_recv_wqe) +
			     init->max_sge * sizeof(struct srxe_wqe_sge) ||
	    !srxe_ctx_in_arena(ctx, init->ring,
			       srxe_ring_bytes(size, stride))) {
		*why = "SRQ ring geometry is inconsistent";
		return -EINVAL;
	}
	*why = check_xrc(ctx, init);
	if (*why)
		return -EINVAL;
	srq = calloc(1, sizeof(*srq));
	if (!srq) {
		*why = "out of memory";
		return -ENOMEM;
	}
	srq->ctx = ctx;
	srq->pd = init->pd_handle;
	srq->ring = init->ring;
	srq->size = size;
	srq->stride = stride;
	srq->max_wr = init->max_wr;
	srq->max_sge = init->max_sge;
	srq->limit = init->srq_limit;
	srq->user_handle = init->user_handle;
	srq->cons = __atomic_load_n(&init->ring->cons.val, __ATOMIC_RELAXED);
	if (init->xrcd) {
		struct srxe_eng_srq **head =
			&ctx->eng->dev->srq_hash[srq_hash(init->srqn)];

		srq->xrcd = init->xrcd;
		srq->srqn = init->srqn;
		srq->cq = init->cq;
		srq->cq->users++;
		srq->hash_next = *head;
		*head = srq;
		srxe_ctx_pin_first(ctx);
	}
	srxe_list_add_tail(&ctx->srqs, &srq->node);
	ctx->eng->stats.srqs++;
	*out = srq;
	return 0;
}

/*
 * The posted WQEs move to slots 0.. of the new ring in the order they were
 * posted, so receives are still consumed in that order; the provider
 * holds its post lock across the resize and goes on from @moved.
 */
int srxe_eng_srq_resize(struct srxe_eng_srq *srq, struct srxe_ring_hdr *ring,
			uint32_t size, uint32_t *moved, const char **why)
{
	uint32_t prod, n;

	*why = NULL;
	if (!size || (size & (size - 1)) ||
	    !srxe_ctx_in_arena(srq->ctx, ring,
			       srxe_ring_bytes(size, srq->stride))) {
		*why = "SRQ ring geometry is inconsistent";
		return -EINVAL;
	}
	if (srq->error) {
		*why = "the SRQ is in the error state";
		return -EINVAL;
	}
	prod = __atomic_load_n(&srq->ring->prod.val, __ATOMIC_ACQUIRE);
	n = prod - srq->cons;
	if (n > srq->size) {
		*why = "the SRQ's producer index is out of range";
		return -EINVAL;
	}
	if (n > size) {
		*why = "more receives are posted than the new size holds";
		return -EINVAL;
	}
	for (uint32_t i = 0; i < n; i++)
		memcpy(srxe_ring_slot(ring, i, size, srq->stride),
		       srxe_ring_slot(srq->ring, srq->cons + i, srq->size,
				      srq->stride),
		       srq->stride);
	__atomic_store_n(&ring->cons.val, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ring->prod.val, n, __ATOMIC_RELEASE);
	srq->ring = ring;
	srq->size = size;
	srq->max_wr = size;
	srq->cons = 0;
	*moved = n;
	return 0;
}

int srxe_eng_srq_modify(struct srxe_eng_srq *srq, uint32_t attr_mask,
			uint32_t max_wr, uint32_t srq_limit, const char **why)
{
	*why = NULL;
	if (attr_mask & IBV_SRQ_MAX_WR) {
		*why = "resizing is srxe_eng_srq_resize()";
		return -EINVAL;
	}
	if (attr_mask & IBV_SRQ_LIMIT) {
		if (srq_limit > srq->max_wr) {
			*why = "srq_limit exceeds max_wr";
			return -EINVAL;
		}
		srq->limit = srq_limit;
	}
	return 0;
}

void srxe_eng_srq_query(const struct srxe_eng_srq *srq,
			struct srxe_query_srq_resp *out)
{
	memset(out, 0, sizeof(*out));
	out->max_wr = srq->max_wr;
	out->max_sge = srq->max_sge;
	out->srq_limit = srq->limit;
}

int srxe_eng_srq_destroy(struct srxe_eng_srq *srq, const char **why)
{
	*why = NULL;
	if (srq->users) {
		*why = "SRQ is still used by a QP";
		return -EBUSY;
	}
	if (srq->xrcd) {
		/* XRC targets find it by number per packet: unhashed, it
		 * is gone for them (no pointer to it is kept anywhere). */
		xsrq_unhash(srq);
		srq->cq->users--;
	}
	srxe_list_del(&srq->node);
	srq->ctx->eng->stats.srqs--;
	free(srq);
	return 0;
}
