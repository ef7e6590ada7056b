/* SPDX-License-Identifier: MIT */
/*
 * Packet capture for `srxe capture` (issue #5; protocol in
 * include/srxe/proto_capture.h).
 *
 * Contract:
 *  - The engine side is a bounded single-producer ring: every producer
 *    call runs under the engine lock (so producers are serialized), copies
 *    the packet as a raw IPv4 datagram into a free slot and never waits.
 *    A full ring drops the packet and counts it.  With no capture running
 *    the only cost is one predictable branch on eng->capture.
 *  - Wire packets are taken by the UDP transport exactly as sent (after
 *    the ICRC is sealed, before the kernel fills the IPv4 checksum) or
 *    received.  Same-host packets are synthesised here as the UDP
 *    transport would put them on the wire: own IPv4 ID counter, DF,
 *    TTL 64, rxe's source port, UDP checksum 0, pad, valid ICRC.
 *  - A writer thread (not the engine's) empties the ring: it adds the
 *    Ethernet header (own MAC, the peer's MAC from the neighbour table),
 *    fills the IPv4 checksum of sent packets as the kernel does, and sends
 *    the file header, then batches of whole records (one datagram each, up
 *    to 64 KiB, sent when full or when the ring runs empty) on the
 *    client's SOCK_SEQPACKET socket.  It closes the socket after max_packets
 *    records, or once stopped and drained, or when the client is gone.
 *  - At most one capture feeds from an engine at a time (-EBUSY).
 */
#ifndef SRXE_ENGINE_CAPTURE_H
#define SRXE_ENGINE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct srxe_engine;
struct srxe_capture;

struct srxe_capture_opts {
	int fd;		      /* SOCK_SEQPACKET socket; owned on success */
	uint64_t max_packets; /* 0: until stopped */
	uint32_t snaplen;     /* 0: 65535 */
	uint8_t mac[6];	      /* the device's netdev MAC */
};

struct srxe_capture_counts {
	uint64_t captured; /* records taken into the ring */
	uint64_t dropped;  /* records lost to a full ring */
};

/*
 * Starts the writer thread and attaches the ring to @eng.  0, -EBUSY (a
 * capture is attached), -ENOMEM or another negative errno, with *why.
 */
int srxe_capture_start(struct srxe_engine *eng,
		       const struct srxe_capture_opts *o,
		       struct srxe_capture **out, const char **why);
/*
 * Detaches the ring (no packet is taken afterwards) and lets the writer
 * send what is buffered and close the socket; does not wait for it.
 * Idempotent.  @out: the final counts.
 */
void srxe_capture_stop(struct srxe_capture *c, struct srxe_capture_counts *out);
/* Stops, waits for the writer (bounded) and frees @c; NULL is fine. */
void srxe_capture_free(struct srxe_capture *c);

#endif /* SRXE_ENGINE_CAPTURE_H */
