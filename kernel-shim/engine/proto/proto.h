/* SPDX-License-Identifier: MIT */
/*
 * The protocol layer (README.md "Layers", layer 3): the receive path
 * (rx.c), the requester, completer and responder state machines, the
 * flush to ERR, QP 1 and multicast delivery, as the core calls them.
 * Used with the engine lock held.
 */
#ifndef SRXE_ENGINE_PROTO_H
#define SRXE_ENGINE_PROTO_H

#include "eng_int.h"

/* ---- rx.c: what every transport delivers to (eng->rx.deliver) ---- */
/*
 * pkt->ip: the packet's IP header as it arrived (IPv4, or the 40-byte
 * IPv6 header; same-host: the one the wire would have carried), which a
 * UD receive gets as its GRH and its wc.sl network type from; NULL where
 * no transport gave one (tests).
 */
void srxe_eng_rx(struct srxe_engine *eng, const struct srxe_pkt *pkt,
		 const struct srxe_sg *payload, int nchunks);
/* Multicast and QP 1: no QP object; the first thread receives them. */
bool srxe_rx_device_qpn(uint32_t qpn);
/* srxe_eng_rx without counting the packet: a hand-off's delivery. */
void srxe_eng_rx_route(struct srxe_engine *eng, const struct srxe_pkt *pkt,
		       const struct srxe_sg *payload, int nchunks);

/* ---- mcast_eng.c ---- */
/* BTH DestQP of every multicast packet (IBA: the "permissive" QPN). */
#define SRXE_MCAST_QPN 0xffffffu
void srxe_mcast_eng_init(struct srxe_engine *eng);
void srxe_mcast_eng_fini(struct srxe_engine *eng);
/* Detaches @qp from every group (QP destroy). */
void srxe_mcast_qp_gone(struct srxe_eng_qp *qp);
/* A packet for the multicast QPN: one copy to every attached QP. */
void srxe_mcast_rx(struct srxe_engine *eng, const struct srxe_pkt *pkt,
		   const struct srxe_sg *payload, int nchunks);
/* true: a multicast IPv4 destination with a group of this device. */
bool srxe_mcast_ipv4_joined(const struct srxe_engine *eng, uint32_t ipv4_be);
/* true: an IPv6 multicast destination that is a group of this device. */
bool srxe_mcast_ipv6_joined(const struct srxe_engine *eng,
			    const uint8_t ip6[16]);

/* ---- gsi.c ---- */
/* A packet for QPN 1: to the CM's callback, or dropped. */
void srxe_gsi_rx(struct srxe_engine *eng, const struct srxe_pkt *pkt,
		 const struct srxe_sg *payload, int nchunks);

/* ---- qp_flush.c ---- */
/* Moves @qp to ERR (idempotent); @event: async event or -1 for none. */
void srxe_qp_to_err(struct srxe_eng_qp *qp, int event);
/* Completes outstanding work with IBV_WC_WR_FLUSH_ERR (SQ only in SQE). */
unsigned int srxe_qp_flush(struct srxe_eng_qp *qp);

/* ---- requester.c ---- */
unsigned int srxe_req_run(struct srxe_eng_qp *qp);
/* Restart sending at @psn (inside an unacknowledged WQE). */
void srxe_req_rewind(struct srxe_eng_qp *qp, uint32_t psn);
/* Everything before @psn is acknowledged: a resend behind it moves up. */
void srxe_req_skip(struct srxe_eng_qp *qp, uint32_t psn);
/* Asks again for READ @w's responses from its first missing one, alone:
 * the READs after it keep flowing. */
void srxe_req_resend_read(struct srxe_eng_qp *qp, struct srxe_swqe *w);
/* First PSN of the window of unacknowledged packets. */
uint32_t srxe_comp_unacked_psn(struct srxe_eng_qp *qp);

/* ---- completer.c ---- */
void srxe_comp_rx(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		  const struct srxe_sg *payload, int nchunks);
/* Retires DONE WQEs in order, writing CQEs; returns how many. */
unsigned int srxe_comp_retire(struct srxe_eng_qp *qp);
/* Completes @w with an error status and moves the QP to ERR. */
void srxe_comp_fail(struct srxe_eng_qp *qp, struct srxe_swqe *w,
		    uint32_t status, uint32_t vendor_err);
/* Local ACK timeout and RNR timer; returns work done. */
unsigned int srxe_comp_timers(struct srxe_eng_qp *qp, uint64_t now);
/* (Re)arms or stops the ACK timer after progress. */
void srxe_comp_update_timer(struct srxe_eng_qp *qp);

/* ---- responder.c ---- */
void srxe_resp_rx(struct srxe_eng_qp *qp, const struct srxe_pkt *pkt,
		  const struct srxe_sg *payload, int nchunks);

#endif
