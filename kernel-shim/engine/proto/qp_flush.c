// SPDX-License-Identifier: MIT
/*
 * A QP in ERR (or SQE): outstanding work completes with
 * IBV_WC_WR_FLUSH_ERR, after the completer retired what had finished.
 * Protocol work on the QP objects, so it sits with the state machines
 * (which move a QP to ERR) rather than in qp.c; the control plane's move
 * to ERR comes here through control.c.
 */
#include <string.h>

#include "objects/objects.h"
#include "proto.h"

void srxe_qp_to_err(struct srxe_eng_qp *qp, int event)
{
	if (qp->attr.qp_state != IBV_QPS_ERR)
		qp->attr.qp_state = IBV_QPS_ERR;
	qp->comp.ack_deadline = 0;
	qp->req.paused = false;
	if (event >= 0 && !qp->fatal_sent) {
		qp->fatal_sent = true;
		srxe_ctx_async(qp->ctx, qp->user_handle, (uint32_t)event);
	}
	srxe_qp_flush(qp);
}

static void flush_cqe(struct srxe_eng_qp *qp, uint32_t idx,
		      struct srxe_cqe *cqe)
{
	uint32_t opcode;

	if (idx - qp->sq_cons < qp->sq_fetched - qp->sq_cons) {
		cqe->wr_id = srxe_swqe_at(qp, idx)->wr.wr_id;
		opcode = srxe_swqe_at(qp, idx)->wr.opcode;
	} else {
		/* Never fetched: read what the CQE needs from the slot. */
		struct srxe_send_wqe w;

		memcpy(&w,
		       srxe_ring_slot(qp->sq, idx, qp->sq_size, qp->sq_stride),
		       sizeof(w));
		cqe->wr_id = w.wr_id;
		opcode = w.opcode;
	}
	cqe->opcode = srxe_wc_opcode(opcode);
}

static unsigned int sq_flush(struct srxe_eng_qp *qp)
{
	uint32_t prod = __atomic_load_n(&qp->sq->prod.val, __ATOMIC_ACQUIRE);
	unsigned int n = srxe_comp_retire(qp);

	if (prod - qp->sq_cons > qp->sq_size)
		prod = qp->sq_fetched; /* garbage index: flush what we hold */
	while (qp->sq_cons != prod) {
		struct srxe_cqe cqe = {
			.status = IBV_WC_WR_FLUSH_ERR,
			.qp_num = qp->qpn,
		};

		flush_cqe(qp, qp->sq_cons, &cqe);
		if (srxe_cq_push(qp->scq, &cqe, false))
			break;
		if (qp->sq_fetched == qp->sq_cons)
			qp->sq_fetched++;
		qp->sq_cons++;
		n++;
	}
	qp->req.idx = qp->sq_cons;
	qp->req.rd_atomic = 0;
	__atomic_store_n(&qp->sq->cons.val, qp->sq_cons, __ATOMIC_RELEASE);
	return n;
}

static unsigned int held_rwqe_flush(struct srxe_eng_qp *qp)
{
	struct srxe_cqe cqe = {
		.status = IBV_WC_WR_FLUSH_ERR,
		.opcode = IBV_WC_RECV,
		.qp_num = qp->qpn,
	};

	struct srxe_eng_cq *cq = qp->rcq;

	if (!qp->resp.have_rwqe)
		return 0;
	if (qp->type == IBV_QPT_XRC_RECV) {
		/* The WQE came from the XRC SRQ of the message; if that SRQ
		 * is gone, so is the CQ its flush would go to. */
		struct srxe_eng_srq *srq =
			srxe_xsrq_lookup(qp->ctx->eng, qp->resp.xsrqn);

		cq = srq && srq->xrcd == qp->xrcd ? srq->cq : NULL;
	}
	cqe.wr_id = qp->resp.rwqe.wr_id;
	if (cq && srxe_cq_push(cq, &cqe, false))
		return 0;
	qp->resp.have_rwqe = false;
	return 1;
}

/*
 * IBA 11.6.3 / 10.3.1: an SRQ-attached QP in ERR reports that it will
 * consume no more SRQ WQEs once the one it held is flushed.
 */
static void last_wqe_reached(struct srxe_eng_qp *qp)
{
	if (!qp->srq || qp->resp.have_rwqe || qp->last_wqe_sent)
		return;
	qp->last_wqe_sent = true;
	srxe_ctx_async(qp->ctx, qp->user_handle, IBV_EVENT_QP_LAST_WQE_REACHED);
}

unsigned int srxe_qp_flush(struct srxe_eng_qp *qp)
{
	unsigned int n = sq_flush(qp);

	if (qp->attr.qp_state == IBV_QPS_ERR) {
		n += held_rwqe_flush(qp) + srxe_rq_flush(qp);
		last_wqe_reached(qp);
	}
	return n;
}
