// SPDX-License-Identifier: MIT
/*
 * The completer: responses -> send completions (IBA 9.7.5, rxe_comp.c).
 *
 * ACKs are cumulative (an ACK of PSN p acknowledges every SEND/WRITE whose
 * last PSN is <= p); READ responses and atomic ACKs complete their WQE and
 * implicitly acknowledge everything before it.  ATOMIC WRITE and FLUSH
 * (IBA 1.5) wait, like a READ, for their response: a zero-length RDMA READ
 * Response Only, as kernel rxe sends it.  WQEs retire strictly in
 * order.  NAKs map to their completion status and move the QP to ERR;
 * RNR NAKs and PSN sequence NAKs rewind the requester (retry counters,
 * RNR timer); the local ACK timer does the same for silence.
 *
 * Loss and reordering (issue #5): comp.ack_psn is the first PSN not yet
 * acknowledged, moved by coalesced ACKs inside long messages too; any
 * move is progress (retry counters reset, ACK timer restarted).  A READ
 * response or atomic ACK that arrives before the one awaited is held
 * (reseq.h) and processed once the gap fills; a gap that lasts is a loss
 * and is retried once (gap_retried) until progress or the timer: a READ
 * asks again for its missing responses alone, anything else goes back N.
 * A NAK sequence error naming a PSN already acknowledged, or the PSN a
 * retry is already under way for, is stale (duplicated or reordered) and
 * ignored.
 */
#include <stdint.h>
#include <stdlib.h>

#include "objects/objects.h"
#include "packet/psn.h"
#include "packet/timing.h"
#include "packet/wire.h"
#include "proto.h"
#include "srxe/awf.h"

static bool wants_cqe(const struct srxe_eng_qp *qp, const struct srxe_swqe *w)
{
	return w->status != IBV_WC_SUCCESS || qp->sig_all ||
	       (w->wr.flags & SRXE_WQE_SIGNALED);
}

static void maybe_drained(struct srxe_eng_qp *qp)
{
	if (qp->attr.qp_state != IBV_QPS_SQD || qp->drained_sent ||
	    qp->sq_cons != qp->sq_fetched)
		return;
	qp->drained_sent = true;
	if (qp->attr.en_sqd_async_notify)
		srxe_ctx_async(qp->ctx, qp->user_handle, IBV_EVENT_SQ_DRAINED);
}

/* What rxe's rdma_sends counts: SEND WQEs retired, but not flushed. */
static bool is_send(const struct srxe_swqe *w)
{
	return (w->wr.opcode == IBV_WR_SEND ||
		w->wr.opcode == IBV_WR_SEND_WITH_IMM ||
		w->wr.opcode == IBV_WR_SEND_WITH_INV) &&
	       w->status != IBV_WC_WR_FLUSH_ERR;
}

unsigned int srxe_comp_retire(struct srxe_eng_qp *qp)
{
	unsigned int n = 0;

	while (qp->sq_cons != qp->sq_fetched) {
		struct srxe_swqe *w = srxe_swqe_at(qp, qp->sq_cons);

		if (w->state != SRXE_SWQE_DONE)
			break;
		if (is_send(w))
			qp->ctx->eng->stats.sends_done++;
		if (wants_cqe(qp, w)) {
			struct srxe_cqe cqe = {
				.wr_id = w->wr.wr_id,
				.status = w->status,
				.opcode = srxe_wc_opcode(w->wr.opcode),
				.vendor_err = w->vendor_err,
				.qp_num = qp->qpn,
			};

			if (w->status == IBV_WC_SUCCESS)
				cqe.byte_len = (uint32_t)w->length;
			/*
			 * The application may post again the moment it sees
			 * this CQE: its slot (and those of the unsignaled
			 * WQEs before it) must already be free.
			 */
			__atomic_store_n(&qp->sq->cons.val, qp->sq_cons + 1,
					 __ATOMIC_RELEASE);
			if (srxe_cq_push(qp->scq, &cqe, false)) {
				/* CQ overrun: IBA makes the QP unusable. */
				if (qp->attr.qp_state != IBV_QPS_ERR) {
					qp->attr.qp_state = IBV_QPS_ERR;
					srxe_ctx_async(qp->ctx, qp->user_handle,
						       IBV_EVENT_QP_FATAL);
				}
				break;
			}
		}
		qp->sq_cons++;
		n++;
	}
	if (n) {
		__atomic_store_n(&qp->sq->cons.val, qp->sq_cons,
				 __ATOMIC_RELEASE);
		maybe_drained(qp);
	}
	return n;
}

static void finish(struct srxe_eng_qp *qp, struct srxe_swqe *w, uint32_t status,
		   uint32_t vendor_err)
{
	w->state = SRXE_SWQE_DONE;
	w->status = status;
	w->vendor_err = vendor_err;
	if (w->rd_atomic) {
		w->rd_atomic = false;
		qp->req.rd_atomic--;
	}
}

void srxe_comp_fail(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		    uint32_t status, uint32_t vendor_err)
{
	if (status == IBV_WC_RETRY_EXC_ERR)
		qp->ctx->eng->stats.retry_exc++;
	else if (status == IBV_WC_RNR_RETRY_EXC_ERR)
		qp->ctx->eng->stats.rnr_retry_exc++;
	finish(qp, w, status, vendor_err);
	srxe_comp_retire(qp);
	srxe_qp_to_err(qp, -1);
}

/* Oldest WQE that has packets out and no final status; NULL: none. */
static struct srxe_swqe *oldest_outstanding(struct srxe_eng_qp *qp)
{
	struct srxe_swqe *w;

	if (qp->sq_cons == qp->sq_fetched)
		return NULL;
	w = srxe_swqe_at(qp, qp->sq_cons);
	if (w->state != SRXE_SWQE_SENDING && w->state != SRXE_SWQE_SENT)
		return NULL;
	return w;
}

static bool needs_response(const struct srxe_swqe *w)
{
	return w->wr.opcode == IBV_WR_RDMA_READ || w->rd_atomic;
}

/* Cumulative ACK through @psn of fully sent SEND/WRITE WQEs. */
/* Sent whole at least once: a go-back-N may be resending it (SENDING). */
static bool sent_whole(const struct srxe_eng_qp *qp, const struct srxe_swqe *w)
{
	return w->state == SRXE_SWQE_SENT ||
	       (w->state == SRXE_SWQE_SENDING &&
		srxe_psn_diff(w->last_psn, qp->req.max_psn) < 0);
}

static unsigned int ack_through(struct srxe_eng_qp *qp, uint32_t psn)
{
	unsigned int n = 0;

	for (uint32_t i = qp->sq_cons; i != qp->sq_fetched; i++) {
		struct srxe_swqe *w = srxe_swqe_at(qp, i);

		if (w->state == SRXE_SWQE_DONE)
			continue;
		if (!sent_whole(qp, w) || needs_response(w) ||
		    srxe_psn_diff(w->last_psn, psn) > 0)
			break;
		finish(qp, w, IBV_WC_SUCCESS, 0);
		n++;
	}
	if (n) {
		qp->comp.retry_left = qp->attr.retry_cnt;
		qp->comp.rnr_left = qp->attr.rnr_retry;
		srxe_comp_retire(qp);
		/* a resend inside what just completed moves past it */
		srxe_req_skip(qp, srxe_psn_add(psn, 1));
	}
	return n;
}

void srxe_comp_update_timer(struct srxe_eng_qp *qp)
{
	uint64_t tmo = srxe_ack_timeout_ns(qp->attr.timeout);

	if (!tmo || !oldest_outstanding(qp) || qp->req.paused)
		qp->comp.ack_deadline = 0;
	else
		qp->comp.ack_deadline = qp->ctx->eng->now + tmo;
}

static void progress(struct srxe_eng_qp *qp)
{
	qp->comp.retry_left = qp->attr.retry_cnt;
	qp->comp.rnr_left = qp->attr.rnr_retry;
	qp->comp.gap_retried = false;
	srxe_comp_update_timer(qp);
}

/* Everything before @next is acknowledged; true if that is news. */
static bool note_acked(struct srxe_eng_qp *qp, uint32_t next)
{
	if (srxe_psn_diff(next, qp->comp.ack_psn) <= 0 ||
	    srxe_psn_diff(next, qp->req.max_psn) > 0)
		return false;
	qp->comp.ack_psn = next;
	return true;
}

uint32_t srxe_comp_unacked_psn(struct srxe_eng_qp *qp)
{
	struct srxe_swqe *w = oldest_outstanding(qp);
	uint32_t ack = qp->comp.ack_psn;

	if (!w)
		return qp->req.psn;
	if (w->wr.opcode == IBV_WR_RDMA_READ)
		return srxe_psn_add(w->first_psn, w->resp_pkts);
	/*
	 * An atomic, ATOMIC WRITE or FLUSH completes only with its response:
	 * an ACK of a later request (comp.ack_psn past it) means the
	 * response was lost, and the request itself must go again.
	 */
	if (w->rd_atomic)
		return w->first_psn;
	if (srxe_psn_diff(ack, w->first_psn) > 0 &&
	    srxe_psn_diff(ack, qp->req.max_psn) <= 0)
		return ack;
	return w->first_psn;
}

/*
 * One retry per gap: true when the caller must retry from @psn now;
 * false when that retry is already under way or the retries are
 * exhausted (the QP then failed).
 */
static bool retry_once(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		       uint32_t psn)
{
	if (qp->comp.gap_retried && qp->comp.gap_psn == psn)
		return false;
	if (!qp->comp.retry_left) {
		srxe_comp_fail(qp, w, IBV_WC_RETRY_EXC_ERR, 0);
		return false;
	}
	qp->comp.retry_left--;
	qp->comp.gap_retried = true;
	qp->comp.gap_psn = psn;
	qp->ctx->eng->stats.retries++;
	return true;
}

/*
 * Writes response data into the WQE's local SGEs; false: the QP failed,
 * or on-demand bytes there are still being faulted in (objects/odp.c),
 * and the response is dropped as if lost: the requester's retry asks
 * for it again.
 */
static bool land(struct srxe_eng_qp *qp, struct srxe_swqe *w, uint64_t off,
		 const struct srxe_sg *src, int nsrc, uint64_t len)
{
	struct srxe_sg dst[SRXE_PKT_MAX_CHUNKS];
	int n;

	if (!len)
		return true;
	n = srxe_sge_map(qp->ctx->eng, qp->ctx->mem, qp->pd, w->sge,
			 w->wr.num_sge, off, len, IBV_ACCESS_LOCAL_WRITE, dst,
			 SRXE_PKT_MAX_CHUNKS);
	if (n >= 0) {
		srxe_sg_copy(dst, n, src, nsrc, len);
		n = srxe_odp_commit(qp->ctx->eng);
	}
	if (n == -SRXE_XLATE_FAULT_PENDING)
		return false;
	if (n < 0) {
		srxe_comp_fail(qp, w, IBV_WC_LOC_PROT_ERR, (uint32_t)-n);
		return false;
	}
	return true;
}

/* The WQE whose response is awaited next and that response's PSN. */
static struct srxe_swqe *awaiting(struct srxe_eng_qp *qp, uint32_t *psn)
{
	struct srxe_swqe *w = oldest_outstanding(qp);

	if (!w || !needs_response(w))
		return NULL;
	*psn = w->first_psn;
	if (w->wr.opcode == IBV_WR_RDMA_READ)
		*psn = srxe_psn_add(w->first_psn, w->resp_pkts);
	return w;
}

/* A response after the awaited one: hold it; a lasting gap is a loss. */
static void early_response(struct srxe_eng_qp *qp, struct srxe_swqe *w,
			   uint32_t awaited, const struct srxe_pkt *pkt,
			   const struct srxe_sg *payload, int nchunks)
{
	struct srxe_reseq *r = &qp->comp.reseq;
	bool held = srxe_reseq_hold(r, awaited, pkt, payload, nchunks);

	if (held) {
		qp->ctx->eng->stats.ooo_held++;
		qp->ctx->eng->stats.comp_held++;
	}
	if (held && !srxe_reseq_gap_is_loss(r, awaited, pkt->psn))
		return;
	if (!retry_once(qp, w, awaited))
		return;
	if (w->wr.opcode == IBV_WR_RDMA_READ)
		srxe_req_resend_read(qp, w);
	else
		srxe_req_rewind(qp, awaited);
}

/*
 * A response WQE finished: retire it, then complete the SEND/WRITE WQEs
 * behind it that an earlier ACK already covered (comp.ack_psn moved past
 * them while this one still waited, e.g. for a replayed response), and
 * let a resend skip what is answered.
 */
static void answered(struct srxe_eng_qp *qp)
{
	srxe_comp_retire(qp);
	ack_through(qp, srxe_psn_add(qp->comp.ack_psn, SRXE_PSN_MOD - 1));
	srxe_req_skip(qp, qp->comp.ack_psn);
}

static void read_data(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		      const struct srxe_pkt *pkt, const struct srxe_sg *payload,
		      int nchunks)
{
	uint64_t off = (uint64_t)w->resp_pkts * qp->mtu;

	if (off + pkt->payload_len > w->length ||
	    ((pkt->op->flags & (SRXE_OPF_LAST | SRXE_OPF_ONLY)) &&
	     off + pkt->payload_len != w->length)) {
		srxe_comp_fail(qp, w, IBV_WC_BAD_RESP_ERR, 0);
		return;
	}
	if (!land(qp, w, off, payload, nchunks, pkt->payload_len))
		return;
	/* A same-host burst answers several PSNs (pkt.h extra_psns). */
	w->resp_pkts += 1 + pkt->extra_psns;
	note_acked(qp, srxe_psn_add(pkt->psn, 1 + pkt->extra_psns));
	if (pkt->op->flags & (SRXE_OPF_LAST | SRXE_OPF_ONLY)) {
		finish(qp, w, IBV_WC_SUCCESS, 0);
		/* answered: a resend behind it need not ask again */
		answered(qp);
	}
	progress(qp);
}

static void atomic_data(struct srxe_eng_qp *qp, struct srxe_swqe *w,
			const struct srxe_pkt *pkt)
{
	struct srxe_sg src;
	uint64_t orig = pkt->atomic_orig;

	src.addr = &orig;
	src.len = sizeof(orig);
	if (!land(qp, w, 0, &src, 1, sizeof(orig)))
		return;
	note_acked(qp, srxe_psn_add(pkt->psn, 1));
	finish(qp, w, IBV_WC_SUCCESS, 0);
	w->length = sizeof(orig);
	answered(qp);
	progress(qp);
}

/* ATOMIC WRITE and FLUSH: answered by a zero-length READ Response Only. */
static bool awf_opcode(uint32_t opcode)
{
	return opcode == SRXE_WR_ATOMIC_WRITE || opcode == SRXE_WR_FLUSH;
}

static void awf_done(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		     const struct srxe_pkt *pkt)
{
	if (pkt->opcode != SRXE_OP_RC_READ_RESPONSE_ONLY || pkt->payload_len) {
		srxe_comp_fail(qp, w, IBV_WC_BAD_RESP_ERR, 0);
		return;
	}
	note_acked(qp, srxe_psn_add(pkt->psn, 1));
	finish(qp, w, IBV_WC_SUCCESS, 0);
	answered(qp);
	progress(qp);
}

/* READ response or atomic ACK: both acknowledge every request before. */
static void response(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		     const struct srxe_sg *payload, int nchunks)
{
	bool read = pkt->op->flags & SRXE_OPF_READ;
	struct srxe_swqe *w;
	uint32_t awaited;
	int32_t d;

	if (ack_through(qp, srxe_psn_add(pkt->psn, SRXE_PSN_MOD - 1)))
		progress(qp);
	w = awaiting(qp, &awaited);
	if (!w)
		return; /* stale or duplicate */
	d = srxe_psn_diff(pkt->psn, awaited);
	if (d < 0)
		return; /* duplicate */
	if (d > 0) {
		early_response(qp, w, awaited, pkt, payload, nchunks);
		return;
	}
	if (awf_opcode(w->wr.opcode)) {
		awf_done(qp, w, pkt);
		return;
	}
	if (read != (w->wr.opcode == IBV_WR_RDMA_READ)) {
		srxe_comp_fail(qp, w, IBV_WC_BAD_RESP_ERR, 0);
		return;
	}
	if (read)
		read_data(qp, w, pkt, payload, nchunks);
	else
		atomic_data(qp, w, pkt);
}

static void rnr_nak(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		    const struct srxe_pkt *pkt)
{
	if (qp->attr.rnr_retry != SRXE_RNR_RETRY_INFINITE) {
		if (!qp->comp.rnr_left) {
			srxe_comp_fail(qp, w, IBV_WC_RNR_RETRY_EXC_ERR, 0);
			return;
		}
		qp->comp.rnr_left--;
	}
	srxe_req_rewind(qp, pkt->psn);
	qp->req.paused = true;
	qp->req.resume_at =
		qp->ctx->eng->now +
		srxe_rnr_timer_ns(pkt->aeth.syndrome & SRXE_AETH_VALUE_MASK);
	qp->comp.ack_deadline = 0;
}

static uint32_t nak_status(uint8_t syndrome)
{
	switch (syndrome) {
	case SRXE_AETH_NAK_INVALID_REQ:
		return IBV_WC_REM_INV_REQ_ERR;
	case SRXE_AETH_NAK_REM_ACCESS:
		return IBV_WC_REM_ACCESS_ERR;
	case SRXE_AETH_NAK_REM_OP:
		return IBV_WC_REM_OP_ERR;
	case SRXE_AETH_NAK_INVALID_RDRQ:
		return IBV_WC_REM_INV_RD_REQ_ERR;
	default:
		return IBV_WC_BAD_RESP_ERR;
	}
}

static void nak(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		const struct srxe_pkt *pkt)
{
	uint8_t syn = pkt->aeth.syndrome;

	if (syn != SRXE_AETH_NAK_PSN_SEQ) {
		srxe_comp_fail(qp, w, nak_status(syn), syn);
		return;
	}
	if (!retry_once(qp, w, pkt->psn))
		return; /* under way (a duplicated NAK), or failed */
	qp->ctx->eng->stats.nak_seq_recv++;
	srxe_req_rewind(qp, pkt->psn);
	srxe_comp_update_timer(qp);
}

static void acknowledge(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt)
{
	uint8_t kind = pkt->aeth.syndrome & SRXE_AETH_TYPE_MASK;
	struct srxe_swqe *w;

	if (kind == SRXE_AETH_ACK) {
		bool moved = note_acked(qp, srxe_psn_add(pkt->psn, 1));

		if (moved)
			srxe_req_skip(qp, qp->comp.ack_psn);
		if (ack_through(qp, pkt->psn) || moved)
			progress(qp);
		return;
	}
	if (kind != SRXE_AETH_RNR_NAK && kind != SRXE_AETH_NAK)
		return;
	if (kind == SRXE_AETH_RNR_NAK)
		qp->ctx->eng->stats.rnr_naks_recv++;
	else
		qp->ctx->eng->stats.naks_recv++;
	if (srxe_psn_diff(pkt->psn, qp->comp.ack_psn) < 0)
		return; /* names a PSN already acknowledged: stale */
	if (note_acked(qp, pkt->psn) |
	    ack_through(qp, srxe_psn_add(pkt->psn, SRXE_PSN_MOD - 1)))
		progress(qp);
	w = oldest_outstanding(qp);
	if (!w || srxe_psn_diff(pkt->psn, w->first_psn) < 0 ||
	    srxe_psn_diff(pkt->psn, w->last_psn) > 0)
		return; /* names no outstanding WQE: stale */
	if (kind == SRXE_AETH_RNR_NAK)
		rnr_nak(qp, w, pkt);
	else
		nak(qp, w, pkt);
}

static void dispatch(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		     const struct srxe_sg *payload, int nchunks)
{
	if (pkt->op->flags & (SRXE_OPF_READ | SRXE_OPF_ATOMIC))
		response(qp, pkt, payload, nchunks);
	else
		acknowledge(qp, pkt);
}

/* Held responses whose turn has come, in PSN order. */
static void drain_held(struct srxe_eng_qp *qp)
{
	while (qp->comp.reseq.held && srxe_qp_can_send(qp)) {
		struct srxe_reseq_ent *e;
		uint32_t psn;

		if (!awaiting(qp, &psn))
			break;
		e = srxe_reseq_take(&qp->comp.reseq, psn);
		if (!e)
			break;
		dispatch(qp, &e->pkt, &e->chunk, e->pkt.payload_len ? 1 : 0);
		free(e);
	}
}

void srxe_comp_rx(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		  const struct srxe_sg *payload, int nchunks)
{
	/* Responses come to requesters: RC QPs and XRC_SEND QPs, each on
	 * its own transport (an XRC target sends, never receives, them). */
	bool rc = qp->type == IBV_QPT_RC &&
		  pkt->op->transport == SRXE_TRANSPORT_RC;
	bool xrc = qp->type == IBV_QPT_XRC_SEND &&
		   pkt->op->transport == SRXE_TRANSPORT_XRC;

	if (!(rc || xrc) || !srxe_qp_can_send(qp)) {
		qp->ctx->eng->stats.drops++;
		qp->ctx->eng->stats.drop_bad_state++;
		return;
	}
	dispatch(qp, pkt, payload, nchunks);
	drain_held(qp);
}

unsigned int srxe_comp_timers(struct srxe_eng_qp *qp, uint64_t now)
{
	struct srxe_swqe *w;

	if (qp->req.paused && now >= qp->req.resume_at) {
		qp->req.paused = false;
		return 1;
	}
	if (!qp->comp.ack_deadline || now < qp->comp.ack_deadline)
		return 0;
	w = oldest_outstanding(qp);
	if (!w) {
		qp->comp.ack_deadline = 0;
		return 0;
	}
	qp->ctx->eng->stats.ack_timeouts++;
	if (!qp->comp.retry_left) {
		srxe_comp_fail(qp, w, IBV_WC_RETRY_EXC_ERR, 0);
		return 1;
	}
	qp->comp.retry_left--;
	qp->ctx->eng->stats.retries++;
	/* Silence: go back N from the first unacknowledged PSN, and let
	 * gaps be retried again. */
	qp->comp.gap_retried = false;
	srxe_req_rewind(qp, srxe_comp_unacked_psn(qp));
	qp->comp.ack_deadline = now + srxe_ack_timeout_ns(qp->attr.timeout);
	return 1;
}
