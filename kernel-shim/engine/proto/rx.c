// SPDX-License-Identifier: MIT
/*
 * The receive entry point shared by every transport: a parsed packet goes
 * to its destination QP's responder (requests) or completer (responses).
 * Packets for unknown QPs are dropped, so their sender retries and finally
 * reports IBV_WC_RETRY_EXC_ERR.  Packets for the multicast QPN go to every
 * QP attached to their destination's group (mcast_eng.c); packets for
 * QPN 1 to srxed's CM (gsi.c).
 * With several engine threads, a packet whose QP another thread serves
 * goes there through the hand-off port (shard.c); multicast and QP 1
 * packets go to the first thread, which serves every group member.
 */
#include "objects/objects.h"
#include "proto.h"

/* BTH P_Key: srxe has the default partition only (full or limited). */
static bool pkey_ok(uint16_t pkey)
{
	return (pkey & 0x7fff) == 0x7fff;
}

void srxe_eng_rx(struct srxe_engine *eng, const struct srxe_pkt *pkt,
		 const struct srxe_sg *payload, int nchunks)
{
	/* A burst counts as its MTU packets (engine.c eng_xmit). */
	eng->stats.pkts_recv += 1 + pkt->extra_psns;
	eng->stats.bytes_recv += pkt->op->hdr_len + pkt->payload_len;
	srxe_eng_rx_route(eng, pkt, payload, nchunks);
}

bool srxe_rx_device_qpn(uint32_t qpn)
{
	return qpn == SRXE_MCAST_QPN || qpn == 1;
}

/* The thread serving @pkt's destination, when not @eng; else NULL. */
static struct srxe_engine *other_owner(struct srxe_engine *eng,
				       const struct srxe_pkt *pkt,
				       const struct srxe_eng_qp *qp)
{
	if (srxe_rx_device_qpn(pkt->dqpn))
		return eng->dev != eng ? eng->dev : NULL;
	return qp && qp->ctx->eng != eng ? qp->ctx->eng : NULL;
}

void srxe_eng_rx_route(struct srxe_engine *eng, const struct srxe_pkt *pkt,
		       const struct srxe_sg *payload, int nchunks)
{
	struct srxe_eng_qp *qp = NULL;
	struct srxe_engine *owner;

	if (!srxe_rx_device_qpn(pkt->dqpn))
		qp = srxe_qp_lookup(eng, pkt->dqpn);
	owner = other_owner(eng, pkt, qp);
	if (owner) {
		eng->handoff(eng, owner, pkt, payload, nchunks);
		return;
	}
	if (pkt->dqpn == SRXE_MCAST_QPN && pkey_ok(pkt->pkey)) {
		srxe_mcast_rx(eng, pkt, payload, nchunks);
		return;
	}
	if (pkt->dqpn == 1) {
		if (pkey_ok(pkt->pkey)) {
			srxe_gsi_rx(eng, pkt, payload, nchunks);
		} else {
			eng->stats.drops++;
			eng->stats.drop_bad_pkey++;
		}
		return;
	}
	if (!qp || !pkey_ok(pkt->pkey)) {
		eng->stats.drops++;
		if (!qp)
			eng->stats.drop_no_qp++;
		else
			eng->stats.drop_bad_pkey++;
		return;
	}
	if (pkt->op->flags & SRXE_OPF_RESPONSE)
		srxe_comp_rx(qp, pkt, payload, nchunks);
	else {
		srxe_qp_comm_est(qp);
		srxe_resp_rx(qp, pkt, payload, nchunks);
	}
}
