// SPDX-License-Identifier: MIT
/*
 * Same-host transport: a packet for this device's address
 * (srxe_dest_is_local, ctx.c) is handed to the receive port (pkt.h)
 * directly, without a socket.  The headers are parsed from their wire
 * bytes (what the UDP transport will do after decode), the payload chunks
 * are passed as they are: one copy from the sender's memory to the
 * receiver's, done by the responder/completer.
 * Delivery is synchronous, which is why the state machines update their
 * state before calling xmit.  Depth is bounded: requester -> responder ->
 * completer; the completer never transmits.
 */
#include "packet/iphdr.h"
#include "packet/wire.h"
#include "transport.h"

bool srxe_local_deliver(struct srxe_engine *eng, const struct srxe_tx_pkt *tx,
			const struct srxe_dest *dst)
{
	uint8_t ip[SRXE_IPV6_HDR_LEN];
	struct srxe_pkt pkt;
	size_t udp_len;

	if (!srxe_tx_parse(tx, &pkt))
		return false;
	/* An unknown QP is the receiver's drop (no_qp), as on the wire.
	 * Only a UD receive reads the IP header (its GRH). */
	if (pkt.op->transport != SRXE_TRANSPORT_UD) {
		eng->rx.deliver(eng, &pkt, tx->chunks, tx->nchunks);
		return true;
	}
	/* The header a wire peer would have received. */
	udp_len = 8 + tx->hdr_len + tx->payload_len +
		  srxe_pad_len(tx->payload_len) + SRXE_ICRC_LEN;
	pkt.ip_len =
		(uint32_t)srxe_ip_hdr_build(ip, &eng->cfg, dst, udp_len, 0);
	if (!dst->ipv6)
		srxe_ipv4_hdr_checksum(ip, pkt.ip_len); /* the kernel's part */
	pkt.ip = ip;
	eng->rx.deliver(eng, &pkt, tx->chunks, tx->nchunks);
	return true;
}

static bool local_xmit(struct srxe_xport *t, const struct srxe_tx_pkt *tx,
		       const struct srxe_dest *dst)
{
	struct srxe_engine *eng = t->priv;

	/* Tests only (fault.h): a lossy "network" between the QPs. */
	if (eng->dev->fault)
		return srxe_fault_xmit(eng, tx, dst);
	return srxe_local_deliver(eng, tx, dst);
}

void srxe_local_transport_init(struct srxe_xport *t, struct srxe_engine *eng)
{
	t->name = "local";
	t->xmit = local_xmit;
	t->poll = NULL;
	t->flush = NULL;
	t->rx_fd = -1;
	t->rx_fd6 = -1;
	t->rx_fd6mc = -1;
	t->priv = eng;
}
