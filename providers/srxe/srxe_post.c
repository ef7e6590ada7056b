// SPDX-License-Identifier: MIT
/*
 * Posting work: each request is checked the way rxe checks it (SGE count,
 * opcode for the QP type, inline length, queue state), written into the
 * next free slot exactly as include/srxe/ring.h lays it out, and the
 * batch is published with one release store of prod and one doorbell.
 * A request that fails stops the batch: it and the ones after it are not
 * posted, *bad_wr names it, the ones before it are.
 */
#include <errno.h>
#include <string.h>

#include "srxe_fatal.h"
#include "srxe_verbs.h"

bool srxe_sq_accepts(enum ibv_qp_state state)
{
	/* RESET, INIT, RTR: IBA C10-96 immediate error; SQE/ERR: flushed */
	return state == IBV_QPS_RTS || state == IBV_QPS_SQD ||
	       state == IBV_QPS_SQE || state == IBV_QPS_ERR;
}

bool srxe_opcode_allowed(enum ibv_qp_type qpt, enum ibv_wr_opcode op)
{
	switch (op) {
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
		return qpt == IBV_QPT_RC || qpt == IBV_QPT_UC ||
		       qpt == IBV_QPT_UD || qpt == IBV_QPT_XRC_SEND;
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		return qpt == IBV_QPT_RC || qpt == IBV_QPT_UC ||
		       qpt == IBV_QPT_XRC_SEND;
	case IBV_WR_RDMA_READ:
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		/* an XRC target (XRC_RECV) sends nothing at all */
		return qpt == IBV_QPT_RC || qpt == IBV_QPT_XRC_SEND;
	case IBV_WR_SEND_WITH_INV:
		return qpt == IBV_QPT_RC;
	case IBV_WR_BIND_MW:
	case IBV_WR_LOCAL_INV:
		return qpt == IBV_QPT_RC || qpt == IBV_QPT_UC;
	default:
		return false;
	}
}

static bool srxe_is_atomic(enum ibv_wr_opcode op)
{
	return op == IBV_WR_ATOMIC_CMP_AND_SWP ||
	       op == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

/* Only payload the requester sends can be inline (not READ/atomic). */
static bool srxe_wants_inline(const struct ibv_send_wr *wr)
{
	return (wr->send_flags & IBV_SEND_INLINE) &&
	       wr->opcode != IBV_WR_RDMA_READ && !srxe_is_atomic(wr->opcode);
}

static uint64_t srxe_sge_bytes(const struct ibv_sge *sg, int num_sge)
{
	uint64_t len = 0;

	for (int i = 0; i < num_sge; i++)
		len += sg[i].length;
	return len;
}

static int srxe_send_check(const struct srxe_qp *qp,
			   const struct ibv_send_wr *wr)
{
	uint64_t len;

	if (wr->num_sge < 0 || (uint32_t)wr->num_sge > qp->sq.max_sge)
		return EINVAL;
	if (!srxe_opcode_allowed(qp->vqp.qp.qp_type, wr->opcode))
		return EINVAL;
	len = srxe_sge_bytes(wr->sg_list, wr->num_sge);
	if (srxe_wants_inline(wr) && len > qp->sq.max_inline)
		return EINVAL;
	if (srxe_is_atomic(wr->opcode) &&
	    (len < 8 || (wr->wr.atomic.remote_addr & 7)))
		return EINVAL;
	if (qp->vqp.qp.qp_type == IBV_QPT_UD && !wr->wr.ud.ah)
		return EINVAL;
	/* rxe: a bind carries no SGE (its range is in bind_info) */
	if (wr->opcode == IBV_WR_BIND_MW &&
	    (!wr->bind_mw.mw || wr->num_sge ||
	     (!wr->bind_mw.bind_info.mr &&
	      (wr->bind_mw.bind_info.addr || wr->bind_mw.bind_info.length))))
		return EINVAL;
	return 0;
}

/* The engine checks the window, the MR and the rights (mem/mw.c). */
void srxe_wqe_bind(struct srxe_send_wqe *wqe, const struct ibv_mw *mw,
		   uint32_t new_rkey, const struct ibv_mw_bind_info *info)
{
	wqe->mw.mw_rkey = mw->rkey;
	wqe->mw.new_rkey = new_rkey;
	wqe->mw.mr_lkey = info->mr ? info->mr->lkey : 0;
	wqe->mw.access = info->mw_access_flags;
	wqe->mw.addr = info->addr;
	wqe->mw.length = info->length;
}

void srxe_wqe_init(struct srxe_qp *qp, struct srxe_send_wqe *wqe,
		   uint64_t wr_id, enum ibv_wr_opcode opcode,
		   unsigned int send_flags)
{
	memset(wqe, 0, sizeof(*wqe));
	wqe->wr_id = wr_id;
	wqe->opcode = opcode;
	if ((send_flags & IBV_SEND_SIGNALED) || qp->sq_sig_all)
		wqe->flags |= SRXE_WQE_SIGNALED;
	if (send_flags & IBV_SEND_FENCE)
		wqe->flags |= SRXE_WQE_FENCE;
	if (send_flags & IBV_SEND_SOLICITED)
		wqe->flags |= SRXE_WQE_SOLICITED;
}

static void srxe_wqe_remote(struct srxe_send_wqe *wqe,
			    const struct ibv_send_wr *wr, enum ibv_qp_type qpt)
{
	switch (wr->opcode) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
	case IBV_WR_RDMA_READ:
		wqe->rdma.remote_addr = wr->wr.rdma.remote_addr;
		wqe->rdma.rkey = wr->wr.rdma.rkey;
		break;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		wqe->atomic.remote_addr = wr->wr.atomic.remote_addr;
		wqe->atomic.compare_add = wr->wr.atomic.compare_add;
		wqe->atomic.swap = wr->wr.atomic.swap;
		wqe->atomic.rkey = wr->wr.atomic.rkey;
		break;
	default:
		if (qpt != IBV_QPT_UD)
			break;
		wqe->ud.ah_handle = wr->wr.ud.ah->handle;
		wqe->ud.remote_qpn = wr->wr.ud.remote_qpn;
		wqe->ud.remote_qkey = wr->wr.ud.remote_qkey;
		break;
	}
	/* after the union's other members: it shares their last word */
	if (qpt == IBV_QPT_XRC_SEND)
		wqe->xrc.remote_srqn = wr->qp_type.xrc.remote_srqn;
}

/* Gather the SGEs' bytes into the slot now: the caller may reuse them. */
static void srxe_wqe_inline(struct srxe_send_wqe *wqe, const struct ibv_sge *sg,
			    int num_sge)
{
	uint8_t *dst = (uint8_t *)(wqe + 1);

	for (int i = 0; i < num_sge; i++) {
		memcpy(dst, (const void *)(uintptr_t)sg[i].addr, sg[i].length);
		dst += sg[i].length;
	}
	wqe->flags |= SRXE_WQE_INLINE;
	wqe->inline_len = dst - (uint8_t *)(wqe + 1);
}

static void srxe_wqe_sges(struct srxe_wqe_sge *dst, const struct ibv_sge *sg,
			  int num_sge)
{
	for (int i = 0; i < num_sge; i++) {
		dst[i].addr = sg[i].addr;
		dst[i].length = sg[i].length;
		dst[i].lkey = sg[i].lkey;
	}
}

static void srxe_send_fill(struct srxe_qp *qp, struct srxe_send_wqe *wqe,
			   const struct ibv_send_wr *wr)
{
	srxe_wqe_init(qp, wqe, wr->wr_id, wr->opcode, wr->send_flags);
	switch (wr->opcode) {
	case IBV_WR_BIND_MW:
		srxe_wqe_bind(wqe, wr->bind_mw.mw, wr->bind_mw.rkey,
			      &wr->bind_mw.bind_info);
		return;
	case IBV_WR_LOCAL_INV:
		wqe->invalidate_rkey = wr->invalidate_rkey;
		return;
	case IBV_WR_SEND_WITH_INV:
		wqe->invalidate_rkey = wr->invalidate_rkey;
		break;
	default:
		wqe->imm_data = wr->imm_data;
		break;
	}
	srxe_wqe_remote(wqe, wr, qp->vqp.qp.qp_type);
	if (srxe_wants_inline(wr)) {
		srxe_wqe_inline(wqe, wr->sg_list, wr->num_sge);
		return;
	}
	wqe->num_sge = wr->num_sge;
	srxe_wqe_sges((struct srxe_wqe_sge *)(wqe + 1), wr->sg_list,
		      wr->num_sge);
}

void srxe_sq_ring_doorbell(struct srxe_qp *qp)
{
	srxe_ring_publish(&qp->sq.ring);
	srxe_arena_kick(&to_srxe_context(qp->vqp.qp.context)->arena);
}

static int srxe_post_one_send(struct srxe_qp *qp, const struct ibv_send_wr *wr)
{
	struct srxe_ring *ring = &qp->sq.ring;
	int ret = srxe_send_check(qp, wr);

	if (ret)
		return ret;
	if (!srxe_ring_room_from(ring, ring->head))
		return ENOMEM;
	srxe_send_fill(qp, srxe_ring_at(ring, ring->head), wr);
	ring->head++;
	return 0;
}

int srxe_post_send(struct ibv_qp *ibqp, struct ibv_send_wr *wr,
		   struct ibv_send_wr **bad_wr)
{
	struct srxe_qp *qp = to_srxe_qp(ibqp);
	uint32_t first;
	int ret = 0;

	*bad_wr = NULL;
	if (srxe_ctx_dead(to_srxe_context(ibqp->context))) {
		*bad_wr = wr;
		return EIO;
	}
	if (!srxe_sq_accepts(ibqp->state)) {
		*bad_wr = wr;
		return EINVAL;
	}
	pthread_spin_lock(&qp->sq.lock);
	first = qp->sq.ring.head;
	for (; wr; wr = wr->next) {
		ret = srxe_post_one_send(qp, wr);
		if (ret) {
			*bad_wr = wr;
			break;
		}
	}
	if (qp->sq.ring.head != first)
		srxe_sq_ring_doorbell(qp);
	pthread_spin_unlock(&qp->sq.lock);
	return ret;
}

static int srxe_post_one_recv(struct srxe_wq *wq, const struct ibv_recv_wr *wr)
{
	struct srxe_ring *ring = &wq->ring;
	struct srxe_recv_wqe *wqe;

	if (wr->num_sge < 0 || (uint32_t)wr->num_sge > wq->max_sge)
		return EINVAL;
	if (!srxe_ring_room_from(ring, ring->head))
		return ENOMEM;
	wqe = srxe_ring_at(ring, ring->head);
	wqe->wr_id = wr->wr_id;
	wqe->num_sge = wr->num_sge;
	wqe->reserved = 0;
	srxe_wqe_sges((struct srxe_wqe_sge *)(wqe + 1), wr->sg_list,
		      wr->num_sge);
	ring->head++;
	return 0;
}

/* A waiting RNR retry or SRQ limit may depend on new receive WQEs. */
static int srxe_post_recv_list(struct srxe_context *ctx, struct srxe_wq *wq,
			       struct ibv_recv_wr *wr,
			       struct ibv_recv_wr **bad_wr)
{
	uint32_t first;
	int ret = 0;

	if (srxe_ctx_dead(ctx)) {
		*bad_wr = wr;
		return EIO;
	}
	pthread_spin_lock(&wq->lock);
	first = wq->ring.head;
	for (; wr; wr = wr->next) {
		ret = srxe_post_one_recv(wq, wr);
		if (ret) {
			*bad_wr = wr;
			break;
		}
	}
	if (wq->ring.head != first) {
		srxe_ring_publish(&wq->ring);
		srxe_arena_kick(&ctx->arena);
	}
	pthread_spin_unlock(&wq->lock);
	return ret;
}

int srxe_post_recv(struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
		   struct ibv_recv_wr **bad_wr)
{
	struct srxe_qp *qp = to_srxe_qp(ibqp);

	*bad_wr = NULL;
	/* C10-97.2.1: no receives in RESET; an SRQ QP has no RQ of its own */
	if (ibqp->state == IBV_QPS_RESET || ibqp->srq || !qp->rq.ring.hdr) {
		*bad_wr = wr;
		return EINVAL;
	}
	return srxe_post_recv_list(to_srxe_context(ibqp->context), &qp->rq, wr,
				   bad_wr);
}

int srxe_post_srq_recv(struct ibv_srq *ibsrq, struct ibv_recv_wr *wr,
		       struct ibv_recv_wr **bad_wr)
{
	struct srxe_srq *srq = to_srxe_srq(ibsrq);

	*bad_wr = NULL;
	return srxe_post_recv_list(to_srxe_context(ibsrq->context), &srq->rq,
				   wr, bad_wr);
}
