// SPDX-License-Identifier: MIT
/*
 * The requester: send WQEs -> request packets (IBA 9.4, rxe_req.c).
 *
 * A WQE is copied out of the shared SQ ring and checked once (sq_fetch);
 * from then on only the private copy is used.  PSNs are assigned when a
 * WQE starts (first transmission) and kept across retransmissions, so a
 * rewind to any PSN (NAK, RNR NAK, timeout) can rebuild exactly the packet
 * that carried it.  All requester state is updated *before* a packet is
 * handed to the transport, because the same-host transport delivers it
 * synchronously and the ACK may come back (completer) before xmit returns.
 */
#include <string.h>

#include "objects/objects.h"
#include "packet/psn.h"
#include "packet/reseq.h"
#include "packet/timing.h"
#include "packet/wire.h"
#include "proto.h"
#include "srxe/awf.h"

/*
 * Data in flight beyond the oldest unacknowledged PSN, in bytes: a
 * go-back-N retry resends everything after the lost packet, so the window
 * bounds what one loss costs (rxe: 128 packets).  At path MTU 4096 that is
 * 512 packets; at 1024 it is 2048, because the ACKs of a busy responder
 * (two srxeds sharing two CPUs) come back late enough to close a window
 * of 512 one-KiB packets (ib_write_bw across a veth: about +20%).  At most
 * SRXE_RESEQ_WINDOW packets, what a responder can hold behind a loss; at
 * least 512, above SRXE_RESEQ_LOSS_HELD and SRXE_RESEQ_LOSS_DIST, or the
 * responder would wait for packets this window does not let out and only
 * the ACK timer would recover.
 */
#define SRXE_WINDOW_BYTES (2u << 20)

static int32_t max_unacked(const struct srxe_eng_qp *qp)
{
	uint32_t pkts = SRXE_WINDOW_BYTES / qp->mtu;

	return (int32_t)(pkts > SRXE_RESEQ_WINDOW ? SRXE_RESEQ_WINDOW : pkts);
}

/*
 * AckReq on every eighth of the window above (rxe: every 64 packets
 * inside long messages), so that the window keeps moving and ACKs reach
 * the completer before the message ends: 64 packets at path MTU 4096,
 * 256 at 1024 (there 64 were 34,000 ACKs a second, each a datagram
 * through both kernels, a fifth of the receiving srxed's time).  A
 * message's last packet asks too, unless the next message goes out
 * right behind it (next_follows): a queue of 64 KiB WRITEs at path MTU
 * 4096 then gets an ACK per 64 packets instead of one per 16.
 */
#define SRXE_ACKS_PER_WINDOW 8

static uint32_t ack_every(const struct srxe_eng_qp *qp)
{
	return (uint32_t)max_unacked(qp) / SRXE_ACKS_PER_WINDOW;
}
/*
 * While resending (PSNs below max_psn) only this many packets go out
 * beyond the last acknowledged one, each with AckReq: the responder may
 * hold everything after the lost packet (reseq.h), and its answer to the
 * first resent duplicates tells how far it really got (srxe_req_skip),
 * so a loss costs a few packets and a round trip, not a whole window.
 * A responder that kept nothing gets the rest at this pace.
 */
#define SRXE_RESEND_WINDOW 16

/* IBA 1.5 ATOMIC WRITE and FLUSH: one packet, no SGE, a READ-like
 * response (counted against max_rd_atomic like READs and atomics). */
static bool is_awf(uint32_t opcode)
{
	return opcode == SRXE_WR_ATOMIC_WRITE || opcode == SRXE_WR_FLUSH;
}

static bool is_rd_atomic(uint32_t opcode)
{
	return opcode == IBV_WR_RDMA_READ ||
	       opcode == IBV_WR_ATOMIC_CMP_AND_SWP ||
	       opcode == IBV_WR_ATOMIC_FETCH_AND_ADD || is_awf(opcode);
}

static bool is_atomic(uint32_t opcode)
{
	return opcode == IBV_WR_ATOMIC_CMP_AND_SWP ||
	       opcode == IBV_WR_ATOMIC_FETCH_AND_ADD;
}

/* Memory-window operations done by the requester itself (no packet). */
static bool is_local_op(uint32_t opcode)
{
	return opcode == IBV_WR_BIND_MW || opcode == IBV_WR_LOCAL_INV;
}

static bool opcode_allowed(uint32_t type, uint32_t opcode)
{
	switch (opcode) {
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
		return true;
	case IBV_WR_SEND_WITH_INV:
		return type == IBV_QPT_RC;
	case IBV_WR_BIND_MW:
	case IBV_WR_LOCAL_INV:
		return type != IBV_QPT_UD;
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		return type != IBV_QPT_UD;
	case IBV_WR_RDMA_READ:
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		return type == IBV_QPT_RC || type == IBV_QPT_XRC_SEND;
	case SRXE_WR_ATOMIC_WRITE:
	case SRXE_WR_FLUSH:
		return type == IBV_QPT_RC;
	default:
		return false;
	}
}

/* Copies SGEs or inline bytes of the slot; returns a WC status. */
static uint32_t copy_payload_desc(struct srxe_eng_qp *qp, struct srxe_swqe *w,
				  const uint8_t *slot)
{
	uint32_t room = qp->sq_stride - (uint32_t)sizeof(struct srxe_send_wqe);
	const uint8_t *body = slot + sizeof(struct srxe_send_wqe);

	w->length = 0;
	if (w->wr.flags & SRXE_WQE_INLINE) {
		if (w->wr.inline_len > qp->cap.max_inline_data ||
		    w->wr.inline_len > room || is_rd_atomic(w->wr.opcode))
			return IBV_WC_LOC_QP_OP_ERR;
		memcpy(w->inl, body, w->wr.inline_len);
		w->wr.num_sge = 0;
		w->length = w->wr.inline_len;
		return IBV_WC_SUCCESS;
	}
	if (w->wr.num_sge > qp->cap.max_send_sge ||
	    w->wr.num_sge * sizeof(struct srxe_wqe_sge) > room)
		return IBV_WC_LOC_QP_OP_ERR;
	memcpy(w->sge, body, w->wr.num_sge * sizeof(struct srxe_wqe_sge));
	for (uint32_t i = 0; i < w->wr.num_sge; i++)
		w->length += w->sge[i].length;
	return IBV_WC_SUCCESS;
}

static uint32_t resolve_ud(struct srxe_eng_qp *qp, struct srxe_swqe *w)
{
	struct srxe_eng_ctx *ctx = qp->ctx;
	struct srxe_eng_ah *ah = NULL;

	if (ctx->ah_lookup)
		ah = ctx->ah_lookup(ctx->ah_opaque, w->wr.ud.ah_handle);
	if (!ah || ah->ctx != ctx || ah->pd != qp->pd)
		return IBV_WC_LOC_QP_OP_ERR;
	w->dest = ah->dest;
	w->dest.qpn = w->wr.ud.remote_qpn & SRXE_QPN_MASK;
	w->dest.hop_limit = ah->av.hop_limit;
	/* IBA 10.2.4.1: a Q_Key with the high bit set means "use the QP's". */
	w->qkey = (w->wr.ud.remote_qkey & 0x80000000u) ? qp->attr.qkey
						       : w->wr.ud.remote_qkey;
	return w->length > qp->mtu ? IBV_WC_LOC_LEN_ERR : IBV_WC_SUCCESS;
}

static uint32_t check_wqe(struct srxe_eng_qp *qp, struct srxe_swqe *w,
			  const uint8_t *slot)
{
	uint32_t st;

	if (!opcode_allowed(qp->type, w->wr.opcode))
		return IBV_WC_LOC_QP_OP_ERR;
	if (is_awf(w->wr.opcode)) {
		/* The data (ATOMIC WRITE) is in the WQE; SGEs play no part. */
		w->wr.num_sge = 0;
		w->wr.flags &= ~SRXE_WQE_INLINE;
		w->length =
			w->wr.opcode == SRXE_WR_FLUSH ? w->wr.awf.length : 8;
		return IBV_WC_SUCCESS;
	}
	st = copy_payload_desc(qp, w, slot);
	if (st != IBV_WC_SUCCESS)
		return st;
	if (w->length > SRXE_ENG_MAX_MSG)
		return IBV_WC_LOC_LEN_ERR;
	if (is_atomic(w->wr.opcode) && w->length < 8)
		return IBV_WC_LOC_LEN_ERR;
	if (qp->type == IBV_QPT_UD)
		return resolve_ud(qp, w);
	return IBV_WC_SUCCESS;
}

/* 1: one WQE copied; 0: none posted; -1: the ring is garbage. */
static int sq_fetch(struct srxe_eng_qp *qp)
{
	uint32_t prod = __atomic_load_n(&qp->sq->prod.val, __ATOMIC_ACQUIRE);
	struct srxe_swqe *w;
	const uint8_t *slot;

	if (prod - qp->sq_cons > qp->sq_size) {
		srxe_qp_to_err(qp, IBV_EVENT_QP_FATAL);
		return -1;
	}
	if (qp->sq_fetched == prod)
		return 0;
	w = srxe_swqe_at(qp, qp->sq_fetched);
	slot = srxe_ring_slot(qp->sq, qp->sq_fetched, qp->sq_size,
			      qp->sq_stride);
	memcpy(&w->wr, slot, sizeof(w->wr));
	w->state = SRXE_SWQE_FETCHED;
	w->rd_atomic = false;
	w->vendor_err = 0;
	w->status = check_wqe(qp, w, slot);
	qp->sq_fetched++;
	return 1;
}

static uint32_t pkts_of(uint64_t len, uint32_t mtu)
{
	return len ? (uint32_t)((len + mtu - 1) / mtu) : 1;
}

/* Fence and the max_rd_atomic limit; false: wait for completions. */
static bool start_wqe(struct srxe_eng_qp *qp, struct srxe_swqe *w)
{
	uint32_t limit = qp->attr.max_rd_atomic ? qp->attr.max_rd_atomic : 1;
	bool rdat = is_rd_atomic(w->wr.opcode);

	if ((w->wr.flags & SRXE_WQE_FENCE) && qp->req.rd_atomic)
		return false;
	if (rdat && qp->req.rd_atomic >= limit)
		return false;
	w->npkts = is_atomic(w->wr.opcode) || is_awf(w->wr.opcode)
			   ? 1
			   : pkts_of(w->length, qp->mtu);
	w->first_psn = qp->req.psn;
	w->last_psn = srxe_psn_add(w->first_psn, w->npkts - 1);
	w->state = SRXE_SWQE_SENDING;
	w->resp_pkts = 0;
	if (rdat) {
		w->rd_atomic = true;
		qp->req.rd_atomic++;
	}
	return true;
}

static uint8_t data_opcode(uint32_t type, uint32_t wr_opcode, bool first,
			   bool last)
{
	bool write = wr_opcode == IBV_WR_RDMA_WRITE ||
		     wr_opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
	bool imm = wr_opcode == IBV_WR_SEND_WITH_IMM ||
		   wr_opcode == IBV_WR_RDMA_WRITE_WITH_IMM;
	uint8_t base = type == IBV_QPT_UC	  ? 0x20
		       : type == IBV_QPT_XRC_SEND ? SRXE_OP_XRC_BASE
						  : 0x00;
	uint8_t op;

	if (type == IBV_QPT_UD)
		return imm ? SRXE_OP_UD_SEND_ONLY_IMM : SRXE_OP_UD_SEND_ONLY;
	if (wr_opcode == IBV_WR_SEND_WITH_INV && last) /* RC only */
		return first ? SRXE_OP_RC_SEND_ONLY_INV
			     : SRXE_OP_RC_SEND_LAST_INV;
	if (first && last)
		op = write ? (imm ? SRXE_OP_RC_WRITE_ONLY_IMM
				  : SRXE_OP_RC_WRITE_ONLY)
			   : (imm ? SRXE_OP_RC_SEND_ONLY_IMM
				  : SRXE_OP_RC_SEND_ONLY);
	else if (first)
		op = write ? SRXE_OP_RC_WRITE_FIRST : SRXE_OP_RC_SEND_FIRST;
	else if (last)
		op = write ? (imm ? SRXE_OP_RC_WRITE_LAST_IMM
				  : SRXE_OP_RC_WRITE_LAST)
			   : (imm ? SRXE_OP_RC_SEND_LAST_IMM
				  : SRXE_OP_RC_SEND_LAST);
	else
		op = write ? SRXE_OP_RC_WRITE_MIDDLE : SRXE_OP_RC_SEND_MIDDLE;
	return (uint8_t)(base + op);
}

/* XRC_SEND: every request packet names the remote SRQ (IBA 9.2.4). */
static void set_xrceth(struct srxe_swqe *w, struct srxe_tx_pkt *tx)
{
	uint8_t *h = srxe_tx_ext(tx, SRXE_EXT_XRCETH);

	if (h)
		srxe_xrceth_set_srqn(h, w->wr.xrc.remote_srqn);
}

/* Payload chunks for bytes [off, off + len) of the WQE; 0 or -xlate err. */
static int map_payload(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		       struct srxe_tx_pkt *tx, uint64_t off, uint32_t len)
{
	int n;

	if (!len)
		return 0;
	if (w->wr.flags & SRXE_WQE_INLINE) {
		tx->chunks[0].addr = w->inl + off;
		tx->chunks[0].len = len;
		tx->nchunks = 1;
		return 0;
	}
	n = srxe_sge_map(qp->ctx->eng, qp->ctx->mem, qp->pd, w->sge,
			 w->wr.num_sge, off, len, 0, tx->chunks,
			 SRXE_PKT_MAX_CHUNKS);
	if (n < 0)
		return n;
	tx->nchunks = n;
	return 0;
}

/* The packet of data packet @idx of @w stands for @pkts MTU packets. */
static int build_data(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		      struct srxe_tx_pkt *tx, uint32_t idx, uint32_t pkts,
		      bool *last)
{
	uint64_t off = (uint64_t)idx * qp->mtu;
	uint64_t room = (uint64_t)pkts * qp->mtu;
	uint32_t len =
		(uint32_t)(w->length - off < room ? w->length - off : room);
	bool first = idx == 0;
	uint8_t *h;

	*last = off + len >= w->length;
	srxe_tx_begin(tx, data_opcode(qp->type, w->wr.opcode, first, *last),
		      qp->type == IBV_QPT_UD ? w->dest.qpn : qp->dest.qpn,
		      qp->req.psn, len);
	tx->extra_psns = pkts - 1;
	h = srxe_tx_ext(tx, SRXE_EXT_RETH);
	if (h) {
		srxe_reth_set_va(h, w->wr.rdma.remote_addr);
		srxe_reth_set_rkey(h, w->wr.rdma.rkey);
		srxe_reth_set_len(h, (uint32_t)w->length);
	}
	h = srxe_tx_ext(tx, SRXE_EXT_IMMDT);
	if (h) /* imm_data is already in network order */
		memcpy(h, &w->wr.imm_data, 4);
	h = srxe_tx_ext(tx, SRXE_EXT_IETH);
	if (h)
		srxe_ieth_set_rkey(h, w->wr.invalidate_rkey);
	h = srxe_tx_ext(tx, SRXE_EXT_DETH);
	if (h) {
		srxe_deth_set_qkey(h, w->qkey);
		srxe_deth_set_sqpn(h, qp->qpn);
	}
	set_xrceth(w, tx);
	if (*last && (w->wr.flags & SRXE_WQE_SOLICITED) &&
	    (tx->op->flags & (SRXE_OPF_SEND | SRXE_OPF_IMM)))
		srxe_bth_set_se(tx->hdr, true);
	return map_payload(qp, w, tx, off, len);
}

static void build_read(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		       struct srxe_tx_pkt *tx, uint32_t idx)
{
	uint64_t off = (uint64_t)idx * qp->mtu;
	uint8_t *h;

	srxe_tx_begin(tx, srxe_qp_opcode(qp, SRXE_OP_RC_READ_REQUEST),
		      qp->dest.qpn, qp->req.psn, 0);
	set_xrceth(w, tx);
	h = srxe_tx_ext(tx, SRXE_EXT_RETH);
	srxe_reth_set_va(h, w->wr.rdma.remote_addr + off);
	srxe_reth_set_rkey(h, w->wr.rdma.rkey);
	srxe_reth_set_len(h, (uint32_t)(w->length - off));
}

static void build_atomic(struct srxe_eng_qp *qp, struct srxe_swqe *w,
			 struct srxe_tx_pkt *tx)
{
	bool cas = w->wr.opcode == IBV_WR_ATOMIC_CMP_AND_SWP;
	uint8_t *h;

	srxe_tx_begin(tx,
		      srxe_qp_opcode(qp, cas ? SRXE_OP_RC_COMPARE_SWAP
					     : SRXE_OP_RC_FETCH_ADD),
		      qp->dest.qpn, qp->req.psn, 0);
	set_xrceth(w, tx);
	h = srxe_tx_ext(tx, SRXE_EXT_ATOMICETH);
	srxe_atmeth_set_va(h, w->wr.atomic.remote_addr);
	srxe_atmeth_set_rkey(h, w->wr.atomic.rkey);
	if (cas) {
		srxe_atmeth_set_swap_add(h, w->wr.atomic.swap);
		srxe_atmeth_set_compare(h, w->wr.atomic.compare_add);
	} else {
		srxe_atmeth_set_swap_add(h, w->wr.atomic.compare_add);
	}
}

/* RETH + the 8 bytes, which stay in the WQE's private copy. */
static void build_atomic_write(struct srxe_eng_qp *qp, struct srxe_swqe *w,
			       struct srxe_tx_pkt *tx)
{
	uint8_t *h;

	srxe_tx_begin(tx, SRXE_OP_RC_ATOMIC_WRITE, qp->dest.qpn, qp->req.psn,
		      sizeof(w->wr.awf.value));
	h = srxe_tx_ext(tx, SRXE_EXT_RETH);
	srxe_reth_set_va(h, w->wr.awf.remote_addr);
	srxe_reth_set_rkey(h, w->wr.awf.rkey);
	srxe_reth_set_len(h, sizeof(w->wr.awf.value));
	tx->chunks[0].addr = w->wr.awf.value;
	tx->chunks[0].len = sizeof(w->wr.awf.value);
	tx->nchunks = 1;
}

static void build_flush(struct srxe_eng_qp *qp, struct srxe_swqe *w,
			struct srxe_tx_pkt *tx)
{
	uint8_t *h;

	srxe_tx_begin(tx, SRXE_OP_RC_FLUSH, qp->dest.qpn, qp->req.psn, 0);
	srxe_feth_set(srxe_tx_ext(tx, SRXE_EXT_FETH), w->wr.awf.flush_type,
		      w->wr.awf.flush_level);
	h = srxe_tx_ext(tx, SRXE_EXT_RETH);
	srxe_reth_set_va(h, w->wr.awf.remote_addr);
	srxe_reth_set_rkey(h, w->wr.awf.rkey);
	srxe_reth_set_len(h, w->wr.awf.length);
}

/* Local access check of a READ/atomic's landing SGEs, before sending. */
static int check_landing(struct srxe_eng_qp *qp, struct srxe_swqe *w)
{
	for (uint32_t i = 0; i < w->wr.num_sge; i++) {
		struct srxe_xlate_req req = {
			.key = w->sge[i].lkey,
			.addr = w->sge[i].addr,
			.len = w->sge[i].length,
			.access = IBV_ACCESS_LOCAL_WRITE,
			.pd = qp->pd,
		};
		int r = srxe_eng_check(qp->ctx->eng, qp->ctx->mem, &req);

		if (r < 0)
			return r;
	}
	return 0;
}

/* Sending PSNs that went out before (a go-back-N in progress). */
static bool resending(const struct srxe_eng_qp *qp)
{
	return srxe_psn_diff(qp->req.psn, qp->req.max_psn) < 0;
}

/*
 * MTU packets the data packet at @idx may stand for.  Between two QPs of
 * this engine a SEND or WRITE moves in bursts (pkt.h extra_psns): one
 * translation and copy per burst instead of per packet, every check of
 * the packet path made once for all of it, PSNs and MSNs accounted as
 * if each packet had gone, so the QPs stay in step.  One packet during a
 * go-back-N, whose resent PSNs the responder may have partly taken.
 */
static uint32_t burst_pkts(struct srxe_eng_qp *qp, const struct srxe_swqe *w,
			   uint32_t idx)
{
	uint32_t pkts = SRXE_BURST_BYTES / qp->mtu;

	if (!srxe_qp_may_burst(qp) || resending(qp))
		return 1;
	if (srxe_qp_reliable(qp)) {
		int32_t used =
			srxe_psn_diff(qp->req.psn, srxe_comp_unacked_psn(qp));
		int32_t window = max_unacked(qp);

		if (used >= window)
			return 1;
		if ((uint32_t)(window - used) < pkts)
			pkts = (uint32_t)(window - used);
	}
	if (w->npkts - idx < pkts)
		pkts = w->npkts - idx;
	return pkts ? pkts : 1;
}

/* Builds the packet of req.psn; true on success, else w->status is set or,
 * where on-demand bytes are still being faulted in, the QP is paused. */
static bool build(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		  struct srxe_tx_pkt *tx, bool *last)
{
	uint32_t idx = (uint32_t)srxe_psn_diff(qp->req.psn, w->first_psn);
	int err = 0;

	*last = true;
	if (w->wr.opcode == IBV_WR_RDMA_READ) {
		err = idx ? 0 : check_landing(qp, w);
		build_read(qp, w, tx, idx);
	} else if (is_atomic(w->wr.opcode)) {
		err = check_landing(qp, w);
		build_atomic(qp, w, tx);
	} else if (w->wr.opcode == SRXE_WR_ATOMIC_WRITE) {
		build_atomic_write(qp, w, tx);
	} else if (w->wr.opcode == SRXE_WR_FLUSH) {
		build_flush(qp, w, tx);
	} else {
		uint32_t pkts = burst_pkts(qp, w, idx);

		err = build_data(qp, w, tx, idx, pkts, last);
		if (err == -SRXE_XLATE_SG_OVERFLOW && pkts > 1)
			err = build_data(qp, w, tx, idx, 1, last);
	}
	if (!err)
		return true;
	if (err == -SRXE_XLATE_FAULT_PENDING) {
		/* on-demand bytes not read yet: built again after a pause */
		qp->req.paused = true;
		qp->req.resume_at = qp->ctx->eng->now + SRXE_ODP_RETRY_NS;
		return false;
	}
	w->status = IBV_WC_LOC_PROT_ERR;
	w->vendor_err = (uint32_t)-err;
	return false;
}

/* State after sending the packet of req.psn; done before xmit. */
static void advance(struct srxe_eng_qp *qp, struct srxe_swqe *w, bool last,
		    bool ackreq, uint32_t extra_psns)
{
	uint64_t tmo = srxe_ack_timeout_ns(qp->attr.timeout);

	if (ackreq && tmo && !qp->comp.ack_deadline)
		qp->comp.ack_deadline = qp->ctx->eng->now + tmo;
	if (!last) {
		qp->req.psn = srxe_psn_add(qp->req.psn, 1 + extra_psns);
		return;
	}
	qp->req.psn = srxe_psn_add(w->last_psn, 1);
	qp->req.idx++;
	w->state = srxe_qp_reliable(qp) ? SRXE_SWQE_SENT : SRXE_SWQE_DONE;
}

/* Counts resent packets and remembers the first never-sent PSN; a READ
 * request uses the PSNs of all its responses (through @last). */
static void note_sent(struct srxe_eng_qp *qp, uint32_t psn, uint32_t last)
{
	if (srxe_psn_diff(psn, qp->req.max_psn) < 0) {
		qp->ctx->eng->stats.retrans_pkts++;
		return;
	}
	qp->req.max_psn = srxe_psn_add(last, 1);
}

/* SEND and WRITE: no response, no fence wait, no local work first. */
static bool is_plain_data(const struct srxe_swqe *w)
{
	return !is_rd_atomic(w->wr.opcode) && !is_local_op(w->wr.opcode) &&
	       !(w->wr.flags & SRXE_WQE_FENCE);
}

/*
 * Whether the packet after the one about to leave (the last of the WQE at
 * req.idx) is certainly the first of the next WQE, sent by this run or,
 * where this one ends at its budget, by the QP's run of the next engine
 * pass (every pass runs every QP that can send): the next WQE is posted,
 * valid and plain data, the packet may be followed (@may_follow: not
 * when it must ask anyway) and the window has room for both packets.  A
 * build error of that WQE is the one case left: srxe_req_run settles it.
 * (At path MTU 1024 a 64 KiB WRITE is one run of 64 packets: asking at
 * every run's end was an ACK per message, whatever the ACK spacing.)
 */
static bool next_follows(struct srxe_eng_qp *qp, bool may_follow)
{
	const struct srxe_swqe *next;
	uint32_t used =
		(uint32_t)srxe_psn_diff(qp->req.psn, srxe_comp_unacked_psn(qp));

	if (!may_follow || qp->attr.qp_state != IBV_QPS_RTS ||
	    used + 2 > (uint32_t)max_unacked(qp))
		return false;
	if (qp->sq_fetched == qp->req.idx + 1 && sq_fetch(qp) <= 0)
		return false;
	next = srxe_swqe_at(qp, qp->req.idx + 1);
	return next->state == SRXE_SWQE_FETCHED &&
	       next->status == IBV_WC_SUCCESS && is_plain_data(next);
}

static bool want_ack(struct srxe_eng_qp *qp, bool last, bool may_follow)
{
	if (!srxe_qp_reliable(qp))
		return false;
	if ((last && !next_follows(qp, may_follow)) ||
	    ++qp->req.noack >= ack_every(qp)) {
		qp->req.noack = 0;
		return true;
	}
	return false;
}

/* @may_follow: false where the packet must ask for its ACK in any case. */
static void send_one(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		     bool may_follow)
{
	struct srxe_tx_pkt tx;
	struct srxe_dest dest;
	bool last, ackreq;

	if (!build(qp, w, &tx, &last))
		return;
	/* A burst asks for its ACK: one per burst keeps the window open. */
	ackreq = want_ack(qp, last, may_follow && !resending(qp)) ||
		 (srxe_qp_reliable(qp) && (resending(qp) || tx.extra_psns));
	srxe_bth_set_ackreq(tx.hdr, ackreq);
	/* Owed from a message's end until a packet asks. */
	qp->req.ack_owed =
		srxe_qp_reliable(qp) && (qp->req.ack_owed || last) && !ackreq;
	if (srxe_qp_reliable(qp))
		note_sent(qp, qp->req.psn,
			  w->wr.opcode == IBV_WR_RDMA_READ
				  ? w->last_psn
				  : srxe_psn_add(qp->req.psn, tx.extra_psns));
	tx.src_qpn = qp->qpn;
	dest = qp->type == IBV_QPT_UD ? w->dest : qp->dest;
	advance(qp, w, last, ackreq, tx.extra_psns);
	srxe_eng_xmit(qp->ctx->eng, &tx, &dest);
	if (!srxe_qp_reliable(qp) && last)
		srxe_comp_retire(qp);
}

/*
 * BIND_MW / LOCAL_INV: done here, in send-queue order, under the engine
 * lock like every change of the client's memory state (rxe_do_local_ops).
 * A refused bind completes with MW_BIND_ERR, a refused invalidation with
 * LOC_QP_OP_ERR, as in rxe; nothing changed then.
 */
static uint32_t do_local_op(struct srxe_eng_qp *qp, struct srxe_swqe *w)
{
	struct srxe_mw_bind_req bind = {
		.mw_rkey = w->wr.mw.mw_rkey,
		.new_rkey = w->wr.mw.new_rkey,
		.mr_lkey = w->wr.mw.mr_lkey,
		.access = w->wr.mw.access,
		.addr = w->wr.mw.addr,
		.len = w->wr.mw.length,
		.pd = qp->pd,
		.qpn = qp->qpn,
	};
	int err;

	if (w->wr.opcode == IBV_WR_LOCAL_INV) {
		err = srxe_mem_mw_invalidate(
			qp->ctx->mem, w->wr.invalidate_rkey, qp->pd, qp->qpn);
		w->vendor_err = (uint32_t)-err;
		return err ? IBV_WC_LOC_QP_OP_ERR : IBV_WC_SUCCESS;
	}
	err = srxe_mem_mw_bind(qp->ctx->mem, &bind);
	w->vendor_err = (uint32_t)-err;
	return err ? IBV_WC_MW_BIND_ERR : IBV_WC_SUCCESS;
}

/* Runs a fetched local op; false: it must wait (fence). */
static bool run_local_op(struct srxe_eng_qp *qp, struct srxe_swqe *w)
{
	/* IBV_SEND_FENCE: every earlier WQE must have completed. */
	if ((w->wr.flags & SRXE_WQE_FENCE) && qp->sq_cons != qp->req.idx)
		return false;
	w->status = do_local_op(qp, w);
	if (w->status != IBV_WC_SUCCESS)
		return true; /* completed in order by the error path */
	w->length = 0;
	w->state = SRXE_SWQE_DONE;
	qp->req.idx++;
	srxe_comp_retire(qp);
	return true;
}

/* Next WQE to work on, fetching one if needed; NULL: nothing to do. */
static struct srxe_swqe *current_wqe(struct srxe_eng_qp *qp)
{
	if (qp->req.idx == qp->sq_fetched) {
		if (qp->attr.qp_state == IBV_QPS_SQD || sq_fetch(qp) <= 0)
			return NULL;
	}
	return srxe_swqe_at(qp, qp->req.idx);
}

static bool window_full(struct srxe_eng_qp *qp)
{
	int32_t limit;

	/* Also inside the oldest WQE: a message may be longer than the
	 * window, and a go-back-N may restart at it. */
	if (!srxe_qp_reliable(qp))
		return false;
	limit = resending(qp) ? SRXE_RESEND_WINDOW : max_unacked(qp);
	return srxe_psn_diff(qp->req.psn, srxe_comp_unacked_psn(qp)) >= limit;
}

/*
 * A message ended without AckReq because the next WQE was to follow, and
 * that WQE failed to build (first or later packet): it now waits, in
 * order, for older completions, which wait for an ACK nobody asked for.
 * The last packet sent goes again, asking; the responder answers a
 * duplicate with an ACK (C9-105).  Returns whether it went.
 */
static bool settle_owed_ack(struct srxe_eng_qp *qp)
{
	if (!qp->req.ack_owed)
		return false;
	qp->req.ack_owed = false;
	srxe_req_rewind(qp, srxe_psn_add(qp->req.psn, SRXE_PSN_MOD - 1));
	send_one(qp, srxe_swqe_at(qp, qp->req.idx), false);
	return true;
}

unsigned int srxe_req_run(struct srxe_eng_qp *qp)
{
	unsigned int work = 0;

	while (work < SRXE_REQ_BUDGET && srxe_qp_can_send(qp) &&
	       !qp->req.paused) {
		struct srxe_swqe *w = current_wqe(qp);

		if (!w)
			break;
		if (w->status != IBV_WC_SUCCESS) {
			/* Errors complete in order: wait for older WQEs. */
			if (qp->sq_cons != qp->req.idx) {
				work += settle_owed_ack(qp);
				break;
			}
			srxe_comp_fail(qp, w, w->status, w->vendor_err);
			work++;
			break;
		}
		if (w->state == SRXE_SWQE_DONE) { /* local op, after a rewind */
			qp->req.idx++;
			continue;
		}
		if (w->state == SRXE_SWQE_FETCHED &&
		    is_local_op(w->wr.opcode)) {
			if (!run_local_op(qp, w))
				break;
			work++;
			continue;
		}
		if (w->state == SRXE_SWQE_FETCHED && !start_wqe(qp, w))
			break;
		if (window_full(qp))
			break;
		send_one(qp, w, true);
		work++;
	}
	return work;
}

void srxe_req_rewind(struct srxe_eng_qp *qp, uint32_t psn)
{
	for (uint32_t i = qp->sq_cons; i != qp->sq_fetched; i++) {
		struct srxe_swqe *w = srxe_swqe_at(qp, i);
		uint32_t have;

		if (w->state == SRXE_SWQE_DONE && is_local_op(w->wr.opcode))
			continue; /* no PSNs */
		if (w->state != SRXE_SWQE_SENDING && w->state != SRXE_SWQE_SENT)
			break;
		if (srxe_psn_diff(psn, w->first_psn) < 0 ||
		    srxe_psn_diff(psn, w->last_psn) > 0)
			continue;
		/* A READ asks only for the responses it does not have. */
		have = srxe_psn_add(w->first_psn, w->resp_pkts);
		if (w->wr.opcode == IBV_WR_RDMA_READ &&
		    srxe_psn_diff(psn, have) < 0)
			psn = have;
		qp->req.idx = i;
		qp->req.psn = psn;
		qp->req.noack = 0;
		qp->req.ack_owed = false; /* resends ask */
		for (uint32_t j = i; j != qp->sq_fetched; j++) {
			struct srxe_swqe *l = srxe_swqe_at(qp, j);

			if (l->state == SRXE_SWQE_SENT)
				l->state = SRXE_SWQE_SENDING;
		}
		return;
	}
}

void srxe_req_resend_read(struct srxe_eng_qp *qp, struct srxe_swqe *w)
{
	uint32_t idx = w->resp_pkts, saved = qp->req.psn;
	struct srxe_tx_pkt tx;

	if (!srxe_qp_can_send(qp) || idx >= w->npkts)
		return;
	/* build_read() takes the PSN from req.psn: lend it the resend's. */
	qp->req.psn = srxe_psn_add(w->first_psn, idx);
	build_read(qp, w, &tx, idx);
	qp->req.psn = saved;
	srxe_bth_set_ackreq(tx.hdr, true);
	tx.src_qpn = qp->qpn;
	qp->ctx->eng->stats.retrans_pkts++;
	srxe_eng_xmit(qp->ctx->eng, &tx, &qp->dest);
}

/* READ and atomic requests are never resent from their middle here. */
static bool skip_whole(const struct srxe_swqe *w)
{
	return w->wr.opcode == IBV_WR_RDMA_READ || w->rd_atomic;
}

void srxe_req_skip(struct srxe_eng_qp *qp, uint32_t psn)
{
	uint32_t i;

	if (!resending(qp) || srxe_psn_diff(psn, qp->req.psn) <= 0)
		return;
	if (srxe_psn_diff(psn, qp->req.max_psn) > 0)
		psn = qp->req.max_psn;
	for (i = qp->req.idx; i != qp->sq_fetched; i++) {
		struct srxe_swqe *w = srxe_swqe_at(qp, i);

		if (w->state == SRXE_SWQE_DONE)
			continue;
		if (w->state != SRXE_SWQE_SENDING ||
		    srxe_psn_diff(psn, w->first_psn) <= 0)
			break;
		if (srxe_psn_diff(psn, w->last_psn) <= 0 && !skip_whole(w)) {
			qp->req.idx = i;
			qp->req.psn = psn;
			return;
		}
		/* sent whole before and acknowledged (or answered) */
		w->state = SRXE_SWQE_SENT;
	}
	qp->req.idx = i;
	if (i != qp->sq_fetched &&
	    srxe_swqe_at(qp, i)->state == SRXE_SWQE_SENDING)
		qp->req.psn = srxe_swqe_at(qp, i)->first_psn;
	else
		qp->req.psn = qp->req.max_psn;
}
