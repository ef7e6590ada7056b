// SPDX-License-Identifier: MIT
/*
 * The responder: request packets -> receive WQEs, RDMA WRITE/READ/ATOMIC
 * (and IBA 1.5 ATOMIC WRITE / FLUSH) on this QP's memory, ACKs and NAKs
 * (IBA 9.7.4, rxe_resp.c).
 *
 * Order of checks per packet: QP state and transport, (UD) Q_Key, (RC)
 * PSN against the expected PSN (gap: one NAK sequence error; duplicate:
 * re-ACK, READ replay, atomic replay from a small cache), opcode sequence,
 * then the operation.  Every remote address goes through
 * srxe_mem_translate() with this QP's PD and the remote access it needs;
 * receive buffers with LOCAL_WRITE.  RC errors are answered with the NAK
 * IBA prescribes and move this QP to ERR, as rxe does; UC drops.
 *
 * RC packets that arrive early (PSN after the expected one) are held
 * (reseq.h) and processed in order once the gap fills, so a reordering
 * network does not cost a go-back-N; only a gap that lasts (see
 * srxe_reseq_gap_is_loss) is answered with the one NAK sequence error.
 * ACKs are coalesced by the requester's AckReq bit (message ends and an
 * eighth of the window, requester.c); duplicates are answered per C9-105.
 */
#include <endian.h>
#include <stdlib.h>
#include <string.h>

#include "objects/objects.h"
#include "packet/psn.h"
#include "packet/wire.h"
#include "proto.h"
#include "srxe/awf.h"

#define GRH_LEN 40

#define NO_TRANSPORT 0xff

/* The request transport each QP type serves (XRC_SEND: none, it only
 * sends requests; XRC_RECV: XRC). */
static const uint32_t transport_of_type[] = {
	[IBV_QPT_RC] = SRXE_TRANSPORT_RC,
	[IBV_QPT_UC] = SRXE_TRANSPORT_UC,
	[IBV_QPT_UD] = SRXE_TRANSPORT_UD,
	[IBV_QPT_XRC_SEND] = NO_TRANSPORT,
	[IBV_QPT_XRC_RECV] = SRXE_TRANSPORT_XRC,
};

/*
 * Whose memory the responder works on: the QP's context, or for an XRC
 * target the context of the XRC SRQ the packet names (another process
 * sharing the domain may own it).
 */
static struct srxe_mem_client *resp_mem(const struct srxe_eng_qp *qp)
{
	return qp->srq ? qp->srq->ctx->mem : qp->ctx->mem;
}

static bool is_first(const struct srxe_pkt *pkt)
{
	return pkt->op->flags & (SRXE_OPF_FIRST | SRXE_OPF_ONLY);
}

static bool is_last(const struct srxe_pkt *pkt)
{
	return pkt->op->flags & (SRXE_OPF_LAST | SRXE_OPF_ONLY);
}

/* The last PSN a SEND or WRITE packet stands for (a same-host burst
 * stands for several, pkt.h). */
static uint32_t last_psn(const struct srxe_pkt *pkt)
{
	return srxe_psn_add(pkt->psn, pkt->extra_psns);
}

/* ---- packets the responder sends ---- */

static void send_aeth(struct srxe_eng_qp *qp, uint8_t opcode, uint32_t psn,
		      uint8_t syndrome, uint64_t orig)
{
	struct srxe_tx_pkt tx;
	uint8_t *h;

	srxe_tx_begin(&tx, srxe_qp_opcode(qp, opcode), qp->dest.qpn, psn, 0);
	h = srxe_tx_ext(&tx, SRXE_EXT_AETH);
	srxe_aeth_set_syndrome(h, syndrome);
	srxe_aeth_set_msn(h, qp->resp.msn);
	h = srxe_tx_ext(&tx, SRXE_EXT_ATOMICACKETH);
	if (h)
		srxe_atmack_set_orig(h, orig);
	tx.src_qpn = qp->qpn;
	srxe_eng_xmit(qp->ctx->eng, &tx, &qp->dest);
}

static void send_ack(struct srxe_eng_qp *qp, uint32_t psn)
{
	send_aeth(qp, SRXE_OP_RC_ACKNOWLEDGE, psn,
		  SRXE_AETH_ACK | SRXE_AETH_CREDITS_INVALID, 0);
}

static void send_nak(struct srxe_eng_qp *qp, uint32_t psn, uint8_t syndrome)
{
	qp->ctx->eng->stats.naks_sent++;
	send_aeth(qp, SRXE_OP_RC_ACKNOWLEDGE, psn, syndrome, 0);
}

/* @timer: the IBA RNR timer code the requester waits for. */
static void send_rnr_nak(struct srxe_eng_qp *qp, uint32_t psn, uint32_t timer)
{
	qp->ctx->eng->stats.rnr_naks_sent++;
	send_aeth(qp, SRXE_OP_RC_ACKNOWLEDGE, psn,
		  SRXE_AETH_RNR_NAK | (timer & 0x1f), 0);
}

/* RC: NAK and move to ERR; UC: forget the message. */
static void fail_request(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
			 uint8_t syndrome, int event)
{
	qp->resp.in_msg = 0;
	if (!srxe_qp_reliable(qp)) {
		qp->ctx->eng->stats.drops++;
		qp->ctx->eng->stats.drop_bad_request++;
		return;
	}
	send_nak(qp, pkt->psn, syndrome);
	srxe_qp_to_err(qp, event);
}

/* The rkey, range or bytes of a request refused it: nothing of it stays
 * queued for the process (an on-demand write), remote access NAK. */
static void access_error(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt)
{
	srxe_odp_abort(qp->ctx->eng);
	fail_request(qp, pkt, SRXE_AETH_NAK_REM_ACCESS,
		     IBV_EVENT_QP_ACCESS_ERR);
}

/*
 * The request's on-demand bytes are still being faulted in by the
 * process's helper (objects/odp.c): nothing of the request counts yet.
 * A SEND or WRITE gets an RNR NAK, so that its requester sends it again
 * shortly, as hardware ODP answers; READ and atomic requests may not be
 * RNR NAKed (IBA 9.7.5.2.8) and are dropped, to come again at the
 * requester's retry.  UC and UD drop the packet (UC: with the rest of
 * its message).
 */
static void put_off(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt)
{
	srxe_odp_abort(qp->ctx->eng);
	if (!srxe_qp_reliable(qp))
		qp->resp.in_msg = 0;
	else if (pkt->op->flags & (SRXE_OPF_SEND | SRXE_OPF_WRITE)) {
		send_rnr_nak(qp, pkt->psn, SRXE_ODP_RNR_TIMER);
		return;
	}
	qp->ctx->eng->stats.drops++;
}

/* An access of the request's rkey range gave @err. */
static void access_failed(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
			  int err)
{
	if (err == -SRXE_XLATE_FAULT_PENDING)
		put_off(qp, pkt);
	else
		access_error(qp, pkt);
}

/* 0: the request's on-demand bytes (if any) are written back to the
 * process; else the request failed or was put off (access_failed). */
static int odp_landed(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt)
{
	int r = srxe_odp_commit(qp->ctx->eng);

	if (r)
		access_failed(qp, pkt, r);
	return r;
}

/* ---- receive WQEs ---- */

/* 1: a WQE is held; 0: none posted (RNR); -1: the QP failed. */
static int hold_rwqe(struct srxe_eng_qp *qp)
{
	int r;

	if (qp->resp.have_rwqe)
		return 1;
	r = srxe_rq_take(qp, &qp->resp.rwqe);
	if (r < 0) {
		srxe_qp_to_err(qp, IBV_EVENT_QP_FATAL);
		return -1;
	}
	qp->resp.have_rwqe = r == 1;
	qp->resp.recv_off = 0;
	return r;
}

static void complete_recv(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
			  uint32_t status, uint32_t vendor_err, uint32_t opcode,
			  uint64_t byte_len)
{
	struct srxe_cqe cqe = {
		.wr_id = qp->resp.rwqe.wr_id,
		.status = status,
		.opcode = opcode,
		.vendor_err = vendor_err,
		.byte_len = (uint32_t)byte_len,
		.qp_num = qp->qpn,
		.src_qp = qp->attr.dest_qp_num,
	};

	if (status == IBV_WC_SUCCESS) {
		qp->ctx->eng->stats.recvs_done++;
		if (pkt->op->flags & SRXE_OPF_IMM) {
			cqe.wc_flags |= IBV_WC_WITH_IMM;
			cqe.imm_data = htobe32(pkt->imm);
		} else if (pkt->op->flags & SRXE_OPF_INV) {
			cqe.wc_flags |= IBV_WC_WITH_INV;
			cqe.imm_data = pkt->ieth_rkey;
		}
		if (qp->type == IBV_QPT_UD) {
			bool v6 = pkt->ip && pkt->ip[0] >> 4 == 6;

			cqe.wc_flags |= IBV_WC_GRH;
			cqe.src_qp = pkt->deth.sqpn;
			cqe.sl = v6 ? SRXE_WC_SL_ROCEV2_IPV6
				    : SRXE_WC_SL_ROCEV2_IPV4;
		}
	}
	qp->resp.have_rwqe = false;
	srxe_cq_push(qp->rcq, &cqe, pkt->se);
}

enum fill_result { FILLED, FILL_FAILED, FILL_PUT_OFF };

/* Copies payload into the held receive WQE at recv_off.  FILL_FAILED sets
 * *status; FILL_PUT_OFF: on-demand bytes not faulted in yet (put_off). */
static enum fill_result fill_rwqe(struct srxe_eng_qp *qp,
				  const struct srxe_pkt *pkt,
				  const struct srxe_sg *payload, int nchunks,
				  uint32_t *status, uint32_t *vendor_err)
{
	struct srxe_sg dst[SRXE_PKT_MAX_CHUNKS];
	struct srxe_rwqe *r = &qp->resp.rwqe;
	int n;

	if (qp->resp.recv_off + pkt->payload_len > r->length) {
		*status = IBV_WC_LOC_LEN_ERR;
		*vendor_err = 0;
		return FILL_FAILED;
	}
	if (!pkt->payload_len)
		return FILLED;
	n = srxe_sge_map(qp->ctx->eng, resp_mem(qp), qp->pd, r->sge, r->num_sge,
			 qp->resp.recv_off, pkt->payload_len,
			 IBV_ACCESS_LOCAL_WRITE, dst, SRXE_PKT_MAX_CHUNKS);
	if (n >= 0) {
		srxe_sg_copy(dst, n, payload, nchunks, pkt->payload_len);
		n = srxe_odp_commit(qp->ctx->eng);
	}
	if (n == -SRXE_XLATE_FAULT_PENDING)
		return FILL_PUT_OFF;
	if (n < 0) {
		*status = IBV_WC_LOC_PROT_ERR;
		*vendor_err = (uint32_t)-n;
		return FILL_FAILED;
	}
	qp->resp.recv_off += pkt->payload_len;
	return FILLED;
}

/* ---- operations ---- */

static void rx_send(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		    const struct srxe_sg *payload, int nchunks)
{
	uint32_t status, vendor_err;
	int r;

	if (is_first(pkt)) {
		r = hold_rwqe(qp);
		if (r < 0) {
			qp->ctx->eng->stats.drops++;
			qp->ctx->eng->stats.drop_rq_error++;
			return;
		}
		if (!r) {
			if (srxe_qp_reliable(qp)) {
				send_rnr_nak(qp, pkt->psn,
					     qp->attr.min_rnr_timer);
			} else {
				qp->ctx->eng->stats.drops++;
				qp->ctx->eng->stats.drop_no_recv_wqe++;
			}
			return;
		}
		qp->resp.recv_off = 0;
	}
	r = fill_rwqe(qp, pkt, payload, nchunks, &status, &vendor_err);
	if (r == FILL_PUT_OFF) {
		put_off(qp, pkt);
		return;
	}
	if (r == FILL_FAILED) {
		complete_recv(qp, pkt, status, vendor_err, IBV_WC_RECV, 0);
		fail_request(qp, pkt,
			     status == IBV_WC_LOC_LEN_ERR
				     ? SRXE_AETH_NAK_INVALID_REQ
				     : SRXE_AETH_NAK_REM_OP,
			     -1);
		if (!srxe_qp_reliable(qp))
			srxe_qp_to_err(qp, -1);
		return;
	}
	/*
	 * Send with Invalidate: the named rkey must be a type 2 window bound
	 * to this QP (rxe: RESPST_ERR_INVALIDATE_RKEY, class J).
	 */
	if (is_last(pkt) && (pkt->op->flags & SRXE_OPF_INV) &&
	    srxe_mem_mw_invalidate(qp->ctx->mem, pkt->ieth_rkey, qp->pd,
				   qp->qpn)) {
		complete_recv(qp, pkt, IBV_WC_REM_INV_REQ_ERR, 0, IBV_WC_RECV,
			      0);
		fail_request(qp, pkt, SRXE_AETH_NAK_INVALID_REQ,
			     IBV_EVENT_QP_REQ_ERR);
		return;
	}
	qp->resp.epsn = srxe_psn_add(last_psn(pkt), 1);
	qp->resp.in_msg = SRXE_OPF_SEND;
	if (is_last(pkt)) {
		qp->resp.in_msg = 0;
		qp->resp.msn++;
		complete_recv(qp, pkt, IBV_WC_SUCCESS, 0, IBV_WC_RECV,
			      qp->resp.recv_off);
	}
	if (pkt->ackreq && srxe_qp_reliable(qp))
		send_ack(qp, last_psn(pkt));
}

/* An access through an rkey by this QP (a type 2 window answers only the
 * QP it is bound to, for FLUSH too, as rxe). */
static struct srxe_xlate_req remote_access(const struct srxe_eng_qp *qp,
					   uint32_t rkey, uint64_t va,
					   uint64_t len, unsigned int access)
{
	return (struct srxe_xlate_req){
		.key = rkey,
		.is_rkey = true,
		.addr = va,
		.len = len,
		.access = access,
		.pd = qp->pd,
		.qpn = qp->qpn,
	};
}

static int translate_remote(struct srxe_eng_qp *qp, uint32_t rkey, uint64_t va,
			    uint64_t len, unsigned int access,
			    struct srxe_sg *out, int max)
{
	struct srxe_xlate_req req = remote_access(qp, rkey, va, len, access);

	return srxe_eng_translate(qp->ctx->eng, resp_mem(qp), &req, out, max);
}

/* The access a RETH asks of this QP. */
static struct srxe_xlate_req reth_access(const struct srxe_eng_qp *qp,
					 const struct srxe_pkt *pkt,
					 unsigned int access)
{
	return remote_access(qp, pkt->reth.rkey, pkt->reth.va, pkt->reth.len,
			     access);
}

/*
 * Key, PD, access and bounds of the whole RDMA operation (RETH length), on
 * its first packet: a refused WRITE or READ moves no byte at all.
 */
static bool remote_range_allowed(struct srxe_eng_qp *qp,
				 const struct srxe_pkt *pkt,
				 unsigned int access)
{
	struct srxe_xlate_req req = reth_access(qp, pkt, access);

	if (!(qp->attr.qp_access_flags & access))
		return false;
	if (!pkt->reth.len)
		return true;
	return !srxe_eng_check(qp->ctx->eng, resp_mem(qp), &req);
}

static bool write_start(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt)
{
	if (!remote_range_allowed(qp, pkt, IBV_ACCESS_REMOTE_WRITE)) {
		access_error(qp, pkt);
		return false;
	}
	qp->resp.va = pkt->reth.va;
	qp->resp.rkey = pkt->reth.rkey;
	qp->resp.dma_len = pkt->reth.len;
	qp->resp.wr_off = 0;
	return true;
}

static void rx_write(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		     const struct srxe_sg *payload, int nchunks)
{
	struct srxe_sg dst[SRXE_PKT_MAX_CHUNKS];
	struct srxe_resp_state *rs = &qp->resp;
	uint64_t end;
	int n;

	if (is_first(pkt) && !write_start(qp, pkt))
		return;
	end = rs->wr_off + pkt->payload_len;
	if (end > rs->dma_len || (is_last(pkt) && end != rs->dma_len)) {
		fail_request(qp, pkt, SRXE_AETH_NAK_INVALID_REQ,
			     IBV_EVENT_QP_REQ_ERR);
		return;
	}
	if (is_last(pkt) && (pkt->op->flags & SRXE_OPF_IMM)) {
		n = hold_rwqe(qp);
		if (n <= 0) {
			if (!n && srxe_qp_reliable(qp)) {
				send_rnr_nak(qp, pkt->psn,
					     qp->attr.min_rnr_timer);
				return;
			}
			if (!n)
				rs->in_msg = 0;
			qp->ctx->eng->stats.drops++;
			if (n)
				qp->ctx->eng->stats.drop_rq_error++;
			else
				qp->ctx->eng->stats.drop_no_recv_wqe++;
			return;
		}
	}
	if (pkt->payload_len) {
		n = translate_remote(qp, rs->rkey, rs->va + rs->wr_off,
				     pkt->payload_len, IBV_ACCESS_REMOTE_WRITE,
				     dst, SRXE_PKT_MAX_CHUNKS);
		if (n < 0) {
			access_failed(qp, pkt, n);
			return;
		}
		srxe_sg_copy(dst, n, payload, nchunks, pkt->payload_len);
		if (odp_landed(qp, pkt))
			return;
	}
	rs->wr_off = end;
	rs->epsn = srxe_psn_add(last_psn(pkt), 1);
	rs->in_msg = SRXE_OPF_WRITE;
	if (is_last(pkt)) {
		rs->in_msg = 0;
		rs->msn++;
		if (pkt->op->flags & SRXE_OPF_IMM)
			complete_recv(qp, pkt, IBV_WC_SUCCESS, 0,
				      IBV_WC_RECV_RDMA_WITH_IMM, rs->dma_len);
	}
	if (pkt->ackreq && srxe_qp_reliable(qp))
		send_ack(qp, last_psn(pkt));
}

/* The response that covers responses [i, i + k) of n. */
static uint8_t read_resp_opcode(const struct srxe_eng_qp *qp, uint32_t i,
				uint32_t k, uint32_t n)
{
	if (k == n)
		return srxe_qp_opcode(qp, SRXE_OP_RC_READ_RESPONSE_ONLY);
	if (i == 0)
		return srxe_qp_opcode(qp, SRXE_OP_RC_READ_RESPONSE_FIRST);
	return srxe_qp_opcode(qp, i + k == n ? SRXE_OP_RC_READ_RESPONSE_LAST
					     : SRXE_OP_RC_READ_RESPONSE_MIDDLE);
}

/* Responses one packet stands for: a same-host burst covers several. */
static uint32_t read_burst(const struct srxe_eng_qp *qp)
{
	return srxe_qp_may_burst(qp) ? SRXE_BURST_BYTES / qp->mtu : 1;
}

static void send_read_responses(struct srxe_eng_qp *qp,
				const struct srxe_pkt *pkt)
{
	uint32_t len = pkt->reth.len, mtu = qp->mtu;
	uint32_t n = len ? (len + mtu - 1) / mtu : 1;
	uint32_t burst = read_burst(qp);
	struct srxe_tx_pkt tx;

	for (uint32_t i = 0, k; i < n; i += k) {
		uint32_t off = i * mtu, plen;
		uint8_t *aeth;
		int got = 0;

		k = n - i < burst ? n - i : burst;
		plen = len - off < k * mtu ? len - off : k * mtu;
		srxe_tx_begin(&tx, read_resp_opcode(qp, i, k, n), qp->dest.qpn,
			      srxe_psn_add(pkt->psn, i), plen);
		tx.extra_psns = k - 1;
		aeth = srxe_tx_ext(&tx, SRXE_EXT_AETH);
		if (aeth) {
			srxe_aeth_set_syndrome(
				aeth,
				SRXE_AETH_ACK | SRXE_AETH_CREDITS_INVALID);
			srxe_aeth_set_msn(aeth, qp->resp.msn);
		}
		if (plen)
			got = translate_remote(qp, pkt->reth.rkey,
					       pkt->reth.va + off, plen,
					       IBV_ACCESS_REMOTE_READ,
					       tx.chunks, SRXE_PKT_MAX_CHUNKS);
		if (got == -SRXE_XLATE_NOT_PRESENT) {
			/* on demand: the process maps nothing there */
			access_error(qp, pkt);
			return;
		}
		if (got < 0)
			return; /* MR vanished mid-read, or on-demand bytes
				 * still faulted in: the requester retries */
		tx.nchunks = got;
		tx.src_qpn = qp->qpn;
		srxe_eng_xmit(qp->ctx->eng, &tx, &qp->dest);
		if (qp->attr.qp_state == IBV_QPS_ERR)
			return;
	}
}

static void rx_read(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt)
{
	uint32_t len = pkt->reth.len, mtu = qp->mtu;
	uint32_t n = len ? (len + mtu - 1) / mtu : 1;

	if (!remote_range_allowed(qp, pkt, IBV_ACCESS_REMOTE_READ)) {
		access_error(qp, pkt);
		return;
	}
	qp->resp.epsn = srxe_psn_add(pkt->psn, n);
	qp->resp.msn++;
	send_read_responses(qp, pkt);
}

static void remember_atomic(struct srxe_eng_qp *qp, uint32_t psn, uint64_t orig)
{
	unsigned int i = qp->resp.atomic_next++ % SRXE_ATOMIC_CACHE;

	qp->resp.atomic[i].psn = psn;
	qp->resp.atomic[i].orig = orig;
	qp->resp.atomic[i].valid = true;
}

static void rx_atomic(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt)
{
	struct srxe_sg sg;
	uint64_t *p, orig;
	int n;

	if (!(qp->attr.qp_access_flags & IBV_ACCESS_REMOTE_ATOMIC)) {
		access_error(qp, pkt);
		return;
	}
	if (pkt->atomic.va & 7) {
		fail_request(qp, pkt, SRXE_AETH_NAK_INVALID_REQ,
			     IBV_EVENT_QP_REQ_ERR);
		return;
	}
	n = translate_remote(qp, pkt->atomic.rkey, pkt->atomic.va, 8,
			     IBV_ACCESS_REMOTE_ATOMIC, &sg, 1);
	if (n == -SRXE_XLATE_FAULT_PENDING) {
		put_off(qp, pkt);
		return;
	}
	if (n != 1 || sg.len != 8 || ((uintptr_t)sg.addr & 7)) {
		access_error(qp, pkt);
		return;
	}
	p = sg.addr;
	if (pkt->opcode == srxe_qp_opcode(qp, SRXE_OP_RC_COMPARE_SWAP)) {
		orig = pkt->atomic.compare;
		__atomic_compare_exchange_n(p, &orig, pkt->atomic.swap_add,
					    false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
	} else {
		orig = __atomic_fetch_add(p, pkt->atomic.swap_add,
					  __ATOMIC_SEQ_CST);
	}
	/* An on-demand result still on its way (FAULT_PENDING) has been
	 * computed and lands before any later on-demand access of the
	 * process: the atomic happened, and is answered (never run twice). */
	n = srxe_odp_commit(qp->ctx->eng);
	if (n && n != -SRXE_XLATE_FAULT_PENDING) {
		access_error(qp, pkt);
		return;
	}
	remember_atomic(qp, pkt->psn, orig);
	qp->resp.epsn = srxe_psn_add(pkt->psn, 1);
	qp->resp.msn++;
	send_aeth(qp, SRXE_OP_RC_ATOMIC_ACKNOWLEDGE, pkt->psn,
		  SRXE_AETH_ACK | SRXE_AETH_CREDITS_INVALID, orig);
}

/* ---- XRC ---- */

/*
 * XRC target (IBA 9.7.4.1.3, "XRC SRQ"): the packet's XRCETH names the
 * SRQ; it must exist and be in this QP's XRC domain, and a multi-packet
 * message keeps the SRQ of its first packet.  While the packet is served
 * the QP borrows that SRQ's PD, CQ and memory; nothing is kept pointing
 * at the SRQ afterwards (it is found again by number), so an SRQ may be
 * destroyed between packets.  Other QP types: nothing to do.
 */
static struct srxe_eng_srq *xrc_find(struct srxe_eng_qp *qp,
				     const struct srxe_pkt *pkt)
{
	struct srxe_eng_srq *srq =
		srxe_xsrq_lookup(qp->ctx->eng, pkt->xrc_srqn);

	return srq && srq->xrcd == qp->xrcd ? srq : NULL;
}

static void xrc_lend(struct srxe_eng_qp *qp, struct srxe_eng_srq *srq)
{
	qp->srq = srq;
	qp->rcq = srq->cq;
	qp->pd = srq->pd;
}

static bool xrc_bind(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt)
{
	struct srxe_eng_srq *srq;

	if (qp->type != IBV_QPT_XRC_RECV)
		return true;
	if (qp->resp.in_msg && pkt->xrc_srqn != qp->resp.xsrqn)
		return false;
	srq = xrc_find(qp, pkt);
	if (!srq)
		return false;
	if (qp->resp.have_rwqe && qp->resp.xsrqn != srq->srqn)
		qp->resp.have_rwqe = false; /* WQE of a failed message */
	qp->resp.xsrqn = srq->srqn;
	xrc_lend(qp, srq);
	return true;
}

static void xrc_unbind(struct srxe_eng_qp *qp)
{
	if (qp->type != IBV_QPT_XRC_RECV)
		return;
	qp->srq = NULL;
	qp->rcq = NULL;
	qp->pd = 0;
}

/*
 * ATOMIC WRITE and FLUSH (IBA 1.5, as kernel rxe 6.2+): both are answered
 * with a zero-length RDMA READ Response Only, replayed for duplicates from
 * the atomic cache (never executed twice), and refused with the NAK rxe
 * sends: invalid request when the QP does not allow the operation or the
 * request is malformed (length, alignment, FETH), remote access error when
 * the rkey does not grant it.  A refused request moves no byte.
 */
static void send_zero_read_response(struct srxe_eng_qp *qp, uint32_t psn)
{
	send_aeth(qp, SRXE_OP_RC_READ_RESPONSE_ONLY, psn,
		  SRXE_AETH_ACK | SRXE_AETH_CREDITS_INVALID, 0);
}

static void one_packet_done(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt)
{
	remember_atomic(qp, pkt->psn, 0);
	qp->resp.epsn = srxe_psn_add(pkt->psn, 1);
	qp->resp.msn++;
	send_zero_read_response(qp, pkt->psn);
}

static void rx_atomic_write(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
			    const struct srxe_sg *payload, int nchunks)
{
	struct srxe_sg dst, src = { NULL, 0 };
	uint64_t value;
	int n;

	if (!(qp->attr.qp_access_flags & IBV_ACCESS_REMOTE_WRITE) ||
	    pkt->reth.len != sizeof(value) ||
	    pkt->payload_len != sizeof(value) || pkt->pad ||
	    (pkt->reth.va & 7)) {
		fail_request(qp, pkt, SRXE_AETH_NAK_INVALID_REQ,
			     IBV_EVENT_QP_REQ_ERR);
		return;
	}
	n = translate_remote(qp, pkt->reth.rkey, pkt->reth.va, sizeof(value),
			     IBV_ACCESS_REMOTE_WRITE, &dst, 1);
	if (n == -SRXE_XLATE_FAULT_PENDING) {
		put_off(qp, pkt);
		return;
	}
	if (n != 1 || dst.len != sizeof(value) || ((uintptr_t)dst.addr & 7)) {
		access_error(qp, pkt);
		return;
	}
	/* The 8 bytes as they came (possibly in two chunks), then one
	 * 8-byte store that no reader can see half done. */
	src.addr = &value;
	src.len = sizeof(value);
	srxe_sg_copy(&src, 1, payload, nchunks, sizeof(value));
	__atomic_store_n((uint64_t *)dst.addr, value, __ATOMIC_RELEASE);
	if (odp_landed(qp, pkt))
		return;
	one_packet_done(qp, pkt);
}

/* Access a FLUSH needs on the QP and on the MR, from its placement type. */
static unsigned int flush_access(uint8_t plt)
{
	unsigned int access = 0;

	if (plt & SRXE_FLUSH_GLOBAL)
		access |= SRXE_ACCESS_FLUSH_GLOBAL;
	if (plt & SRXE_FLUSH_PERSISTENT)
		access |= SRXE_ACCESS_FLUSH_PERSISTENT;
	return access;
}

static bool flush_key_ok(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
			 unsigned int access)
{
	struct srxe_xlate_req req = reth_access(qp, pkt, access);
	/* MR level: the RETH address and length play no part (rxe) */
	if (pkt->feth.sel == SRXE_FLUSH_MR)
		return srxe_mem_check_mr(qp->ctx->mem, &req) == 0;
	return !srxe_eng_check(qp->ctx->eng, qp->ctx->mem, &req);
}

/*
 * srxe's memory is DRAM in the client's memfd slab, written by this
 * engine with ordinary stores in PSN order: when a FLUSH's turn comes
 * every earlier WRITE and ATOMIC WRITE of the QP has been placed.  The
 * full fence orders those stores before the response, so once the
 * requester sees the FLUSH complete, every CPU and every process mapping
 * the memory reads the data (global visibility).  Persistence is refused:
 * no MR can grant FLUSH_PERSISTENT (there is no persistence domain).
 */
static void rx_flush(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt)
{
	uint8_t plt = pkt->feth.plt;
	unsigned int access = flush_access(plt);

	if (!plt || (plt & ~(SRXE_FLUSH_GLOBAL | SRXE_FLUSH_PERSISTENT)) ||
	    pkt->feth.sel > SRXE_FLUSH_MR ||
	    (qp->attr.qp_access_flags & access) != access) {
		fail_request(qp, pkt, SRXE_AETH_NAK_INVALID_REQ,
			     IBV_EVENT_QP_REQ_ERR);
		return;
	}
	if (!flush_key_ok(qp, pkt, access)) {
		access_error(qp, pkt);
		return;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	one_packet_done(qp, pkt);
}

static bool in_atomic_cache(const struct srxe_eng_qp *qp, uint32_t psn,
			    uint64_t *orig)
{
	for (unsigned int i = 0; i < SRXE_ATOMIC_CACHE; i++)
		if (qp->resp.atomic[i].valid && qp->resp.atomic[i].psn == psn) {
			*orig = qp->resp.atomic[i].orig;
			return true;
		}
	return false;
}

/* ---- sequencing ---- */

/* RC duplicate (PSN already seen): answer again, change nothing. */
static void duplicate(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt)
{
	if (pkt->op->flags & SRXE_OPF_READ) {
		/* an XRC replay reads through the named SRQ's PD again */
		struct srxe_eng_srq *srq = NULL;

		if (qp->type == IBV_QPT_XRC_RECV) {
			srq = xrc_find(qp, pkt);
			if (!srq)
				return;
			xrc_lend(qp, srq);
		}
		if (remote_range_allowed(qp, pkt, IBV_ACCESS_REMOTE_READ))
			send_read_responses(qp, pkt);
		xrc_unbind(qp);
		return;
	}
	if (pkt->op->flags & SRXE_OPF_ATOMIC) {
		uint64_t orig;

		if (in_atomic_cache(qp, pkt->psn, &orig))
			send_aeth(qp, SRXE_OP_RC_ATOMIC_ACKNOWLEDGE, pkt->psn,
				  SRXE_AETH_ACK | SRXE_AETH_CREDITS_INVALID,
				  orig);
		return;
	}
	if (pkt->op->flags & (SRXE_OPF_ATOMIC_WRITE | SRXE_OPF_FLUSH)) {
		uint64_t unused;

		/* answered before: answer again, do not execute again */
		if (in_atomic_cache(qp, pkt->psn, &unused))
			send_zero_read_response(qp, pkt->psn);
		return;
	}
	if (pkt->ackreq)
		send_ack(qp, srxe_psn_add(qp->resp.epsn, SRXE_PSN_MOD - 1));
}

/* An early request: hold it; NAK the gap once when it is a loss. */
static void early_request(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
			  const struct srxe_sg *payload, int nchunks)
{
	struct srxe_reseq *r = &qp->resp.reseq;
	bool held = srxe_reseq_hold(r, qp->resp.epsn, pkt, payload, nchunks);

	if (held)
		qp->ctx->eng->stats.ooo_held++;
	if (held && !srxe_reseq_gap_is_loss(r, qp->resp.epsn, pkt->psn))
		return;
	if (!qp->resp.nak_seq_sent) {
		qp->resp.nak_seq_sent = true;
		qp->ctx->eng->stats.nak_seq_sent++;
		send_nak(qp, qp->resp.epsn, SRXE_AETH_NAK_PSN_SEQ);
	}
}

static bool rc_psn_ok(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		      const struct srxe_sg *payload, int nchunks)
{
	int32_t d = srxe_psn_diff(pkt->psn, qp->resp.epsn);

	if (d > 0) {
		early_request(qp, pkt, payload, nchunks);
		return false;
	}
	if (d < 0) {
		qp->ctx->eng->stats.dup_requests++;
		duplicate(qp, pkt);
		return false;
	}
	qp->resp.nak_seq_sent = false;
	return true;
}

/* UC: a gap loses the message in progress; resume at First/Only. */
static bool uc_psn_ok(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt)
{
	if (pkt->psn == qp->resp.epsn)
		return true;
	qp->resp.in_msg = 0;
	qp->resp.epsn = pkt->psn;
	return is_first(pkt);
}

/* First/Only outside a message, Middle/Last of the same kind inside. */
static bool sequence_ok(const struct srxe_eng_qp *qp,
			const struct srxe_pkt *pkt)
{
	uint32_t kind = pkt->op->flags & (SRXE_OPF_SEND | SRXE_OPF_WRITE);

	if (!qp->resp.in_msg)
		return is_first(pkt);
	return !is_first(pkt) && kind == qp->resp.in_msg;
}

/*
 * The first 40 bytes of a UD receive buffer (IBA 11.4.1.2, RoCEv2 annex
 * A17.4.5.2), as kernel rxe writes them: the 40-byte IPv6 header as it
 * arrived, or 20 zero bytes and then the IPv4 header as it arrived
 * (without options).  Same-host packets carry the header the wire would
 * have (transport_local.c).  Zero when the transport gave no header.
 */
static void write_grh(uint8_t grh[GRH_LEN], const uint8_t *ip)
{
	memset(grh, 0, GRH_LEN);
	if (!ip)
		return;
	if (ip[0] >> 4 == 6)
		memcpy(grh, ip, GRH_LEN);
	else
		memcpy(grh + 20, ip, 20);
}

static void rx_ud(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		  const struct srxe_sg *payload, int nchunks)
{
	uint8_t grh[GRH_LEN];
	struct srxe_pkt hdr = *pkt;
	struct srxe_sg g = { grh, GRH_LEN };
	uint32_t status, vendor_err;
	int r;

	if (!(pkt->op->flags & SRXE_OPF_SEND) ||
	    pkt->deth.qkey != qp->attr.qkey) {
		qp->ctx->eng->stats.drops++;
		qp->ctx->eng->stats.drop_bad_qkey++;
		return;
	}
	r = hold_rwqe(qp);
	if (r <= 0) {
		qp->ctx->eng->stats.drops++;
		if (r)
			qp->ctx->eng->stats.drop_rq_error++;
		else
			qp->ctx->eng->stats.drop_no_recv_wqe++;
		return;
	}
	write_grh(grh, pkt->ip);
	hdr.payload_len = GRH_LEN;
	r = fill_rwqe(qp, &hdr, &g, 1, &status, &vendor_err);
	if (r == FILLED)
		r = fill_rwqe(qp, pkt, payload, nchunks, &status, &vendor_err);
	if (r == FILL_PUT_OFF) {
		qp->resp.recv_off = 0; /* the WQE waits for the next one */
		put_off(qp, pkt);
		return;
	}
	if (r == FILL_FAILED) {
		complete_recv(qp, pkt, status, vendor_err, IBV_WC_RECV, 0);
		return;
	}
	complete_recv(qp, pkt, IBV_WC_SUCCESS, 0, IBV_WC_RECV,
		      qp->resp.recv_off);
}

static void in_order_bound(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
			   const struct srxe_sg *payload, int nchunks);

/* An RC/UC/XRC request in PSN order. */
static void in_order(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		     const struct srxe_sg *payload, int nchunks)
{
	if (!xrc_bind(qp, pkt)) {
		fail_request(qp, pkt, SRXE_AETH_NAK_INVALID_REQ,
			     IBV_EVENT_QP_REQ_ERR);
		return;
	}
	in_order_bound(qp, pkt, payload, nchunks);
	xrc_unbind(qp);
}

static void in_order_bound(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
			   const struct srxe_sg *payload, int nchunks)
{
	uint32_t flags = pkt->op->flags;

	if (!sequence_ok(qp, pkt)) {
		/* Dropped (RC: and NAKed); counted here, not as bad_request */
		qp->ctx->eng->stats.drops++;
		qp->ctx->eng->stats.drop_bad_seq++;
		if (qp->type != IBV_QPT_RC) {
			qp->resp.in_msg = 0;
			return;
		}
		fail_request(qp, pkt, SRXE_AETH_NAK_INVALID_REQ,
			     IBV_EVENT_QP_REQ_ERR);
		return;
	}
	if (flags & SRXE_OPF_SEND)
		rx_send(qp, pkt, payload, nchunks);
	else if (flags & SRXE_OPF_WRITE)
		rx_write(qp, pkt, payload, nchunks);
	else if (flags & SRXE_OPF_READ)
		rx_read(qp, pkt);
	else if (flags & SRXE_OPF_ATOMIC)
		rx_atomic(qp, pkt);
	else if (flags & SRXE_OPF_ATOMIC_WRITE)
		rx_atomic_write(qp, pkt, payload, nchunks);
	else if (flags & SRXE_OPF_FLUSH)
		rx_flush(qp, pkt);
}

/* Held requests whose turn has come, in PSN order. */
static void drain_held(struct srxe_eng_qp *qp)
{
	while (qp->resp.reseq.held && srxe_qp_can_recv(qp)) {
		struct srxe_reseq_ent *e =
			srxe_reseq_take(&qp->resp.reseq, qp->resp.epsn);

		if (!e)
			break;
		qp->resp.nak_seq_sent = false;
		in_order(qp, &e->pkt, &e->chunk, e->pkt.payload_len ? 1 : 0);
		free(e);
	}
}

void srxe_resp_rx(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		  const struct srxe_sg *payload, int nchunks)
{
	if (!srxe_qp_can_recv(qp) ||
	    pkt->op->transport != transport_of_type[qp->type]) {
		qp->ctx->eng->stats.drops++;
		qp->ctx->eng->stats.drop_bad_state++;
		return;
	}
	if (qp->type == IBV_QPT_UD) {
		rx_ud(qp, pkt, payload, nchunks);
		return;
	}
	if (qp->type == IBV_QPT_UC) {
		if (uc_psn_ok(qp, pkt)) {
			in_order(qp, pkt, payload, nchunks);
		} else { /* the rest of a message that lost a packet */
			qp->ctx->eng->stats.drops++;
			qp->ctx->eng->stats.drop_bad_seq++;
		}
		return;
	}
	if (!rc_psn_ok(qp, pkt, payload, nchunks))
		return;
	in_order(qp, pkt, payload, nchunks);
	drain_held(qp);
}
