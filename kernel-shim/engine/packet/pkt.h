/* SPDX-License-Identifier: MIT */
/*
 * Outgoing packets and the transport interface.
 *
 * A packet leaves a state machine as struct srxe_tx_pkt: its BTH and
 * extension headers already in RoCEv2 wire format (hdr), plus its payload
 * as a list of chunks that point into slab memory (or a private buffer).
 * The payload is not copied: chunks are valid only during the xmit call,
 * which is why every transport must consume the packet before returning
 * (the same-host transport delivers it synchronously; the UDP transport of
 * issue #5 gathers it into its socket buffers).  Pad bytes are not in the
 * chunk list; BTH.PadCnt says how many zero bytes a wire transport appends
 * before the ICRC, which it computes once it knows the IP/UDP headers.
 *
 * Receiving is the mirror: a transport parses the headers into the
 * decoder's struct srxe_pkt (decode.h) and hands it, with the payload as a
 * chunk list, to the receive port below (srxe_eng_rx() in rx.c).
 */
#ifndef SRXE_ENGINE_PKT_H
#define SRXE_ENGINE_PKT_H

#include <stdbool.h>
#include <stdint.h>

#include "decode.h"
#include "opcode.h"
#include "translate.h" /* struct srxe_sg */

#define SRXE_PKT_HDR_MAX 64
/* A 4096-byte packet over up to 32 SGEs needs at most 64 chunks. */
#define SRXE_PKT_MAX_CHUNKS 72

struct srxe_tx_pkt {
	const struct srxe_opcode_info *op;
	uint8_t hdr[SRXE_PKT_HDR_MAX]; /* BTH + extension headers */
	uint32_t hdr_len;
	uint32_t payload_len;
	uint32_t src_qpn; /* sending QP: UDP source port, DETH */
	/*
	 * 0 on the wire.  A same-host burst (requester.c) is one packet
	 * that stands for 1 + extra_psns MTU packets of a message: its
	 * payload is theirs, its PSN the first, and both ends account for
	 * every PSN.  Only the same-host transport carries one.
	 */
	uint32_t extra_psns;
	int nchunks;
	struct srxe_sg chunks[SRXE_PKT_MAX_CHUNKS];
};

/*
 * Where a packet goes: the peer's address and the destination QP.  The
 * address family follows the destination GID (ctx.c srxe_resolve_av):
 * IPv4-mapped GIDs are IPv4 peers, link-local ones IPv6 peers on the
 * device's netdev, ff00::/8 ones IPv6 multicast groups.  The GRH fields
 * apply to IPv6 (IPv4 keeps TOS 0 and TTL 64, multicast takes the hop
 * limit as TTL).
 */
struct srxe_dest {
	uint32_t ipv4_be; /* IPv4 peer (!ipv6) */
	uint32_t qpn;
	bool ipv6;
	uint8_t tclass;
	uint8_t hop_limit;   /* IPv6; IPv4 multicast: the TTL */
	uint32_t flow_label; /* 20 bits */
	uint8_t ip6[16];     /* IPv6 peer (ipv6) */
};

struct srxe_engine;

/* A transport (same-host hand-over; RoCEv2/UDP with issue #5). */
struct srxe_xport {
	const char *name;
	/* Consume @pkt before returning; false when it was dropped. */
	bool (*xmit)(struct srxe_xport *t, const struct srxe_tx_pkt *pkt,
		     const struct srxe_dest *dst);
	/* Wire transports only (NULL otherwise).  poll: receive what waits,
	 * without blocking; returns the packets handled.  flush: send what
	 * xmit queued; the engine calls it at the end of every pass. */
	unsigned int (*poll)(struct srxe_xport *t);
	void (*flush)(struct srxe_xport *t);
	/* Ready to receive IPv4 multicast, before the first group is
	 * joined; 0 or -errno with @why.  NULL: always ready. */
	int (*take_groups)(struct srxe_xport *t, const char **why);
	int rx_fd;    /* readable when poll has work; -1: none */
	int rx_fd6;   /* a second one (the IPv6 socket); -1: none */
	int rx_fd6mc; /* a third one (IPv6 multicast); -1: none */
	void *priv;
};

/*
 * What a transport hands received packets to: registered by the engine's
 * core (engine.c) in struct srxe_engine, so that transports call nothing
 * of the layers above them.  Called under the engine lock.
 */
struct srxe_rx_port {
	/* A parsed packet for this device: to its QP(s) (rx.c). */
	void (*deliver)(struct srxe_engine *eng, const struct srxe_pkt *pkt,
			const struct srxe_sg *payload, int nchunks);
	/* true: the IPv4 / IPv6 multicast destination is a group this
	 * device has QPs in (mcast_eng.c). */
	bool (*mcast4_joined)(const struct srxe_engine *eng, uint32_t ipv4_be);
	bool (*mcast6_joined)(const struct srxe_engine *eng,
			      const uint8_t ip6[16]);
};

/*
 * Starts a packet: writes the BTH (TVer 0, PadCnt from @payload_len, P_Key
 * 0xffff), zeroes the extension headers, sets hdr_len from the opcode map.
 * Returns false for an opcode srxe does not know.
 */
bool srxe_tx_begin(struct srxe_tx_pkt *pkt, uint8_t opcode, uint32_t dqpn,
		   uint32_t psn, uint32_t payload_len);

/* Pointer to extension header @kind in pkt->hdr; NULL if absent. */
uint8_t *srxe_tx_ext(struct srxe_tx_pkt *pkt, enum srxe_ext_hdr kind);

/*
 * Parses the headers of @pkt (as built above) into @out exactly as
 * srxe_decode_roce() would parse the same bytes on the wire; the payload
 * pointer stays NULL (the chunks carry it).  Used by the same-host
 * transport; false if the headers are inconsistent.
 */
bool srxe_tx_parse(const struct srxe_tx_pkt *pkt, struct srxe_pkt *out);

/* Bytes of pad a payload of @len needs to reach a 4-byte boundary. */
static inline uint32_t srxe_pad_len(uint32_t len)
{
	return (4 - (len & 3)) & 3;
}

/*
 * Copies @len bytes from one chunk list to another (the lists describe at
 * least @len bytes each).  Overlap between the two is allowed only when
 * identical (a QP writing to itself through two keys of one buffer).  The
 * last byte is stored last, after every other byte of the copy is
 * visible: a message's final copy ends with its last byte, which programs
 * poll.
 */
void srxe_sg_copy(const struct srxe_sg *dst, int ndst,
		  const struct srxe_sg *src, int nsrc, uint64_t len);

/*
 * Copies @pkt's payload chunks contiguously to @p (payload_len bytes);
 * false when the chunks hold fewer bytes than payload_len.
 */
bool srxe_tx_gather(uint8_t *p, const struct srxe_tx_pkt *pkt);

/* Whether @pkt's chunks hold its payload_len bytes: srxe_tx_gather()
 * then succeeds. */
bool srxe_tx_covered(const struct srxe_tx_pkt *pkt);

#endif
