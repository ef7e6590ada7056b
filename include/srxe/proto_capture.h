/* SPDX-License-Identifier: MIT */
/*
 * Packet capture (issue #5, `srxe capture`): control messages 36-37.
 * Framing and errors are those of include/srxe/proto.h.
 *
 * Conversation:
 *  1. The client makes an AF_UNIX SOCK_SEQPACKET socketpair and sends
 *     CAPTURE_START with one end (SCM_RIGHTS).  No context is needed.
 *  2. srxed answers, then sends on that socket the pcap file: first a
 *     datagram holding only the classic file header (Ethernet link type,
 *     24 bytes), then datagrams of one or more whole records (record
 *     header + frame; at most 64 KiB), so a reader that appends datagrams
 *     as they come always holds a valid pcap file with complete records.  Every
 * RoCEv2 packet the device sends or receives becomes one Ethernet/IPv4/UDP
 * frame with its ICRC; same-host packets are synthesised exactly as they would
 * go on the wire.
 *  3. After max_packets records, or after CAPTURE_STOP (or when the
 *     connection that started it closes), srxed stops taking packets,
 *     sends what it buffered and closes its end: the client reads EOF.
 *  The engine never waits for the client: records that find the bounded
 *  buffer full are dropped and counted (CAPTURE_STOP's reply).
 *
 * One capture per device: a second CAPTURE_START gets EBUSY.  Only root or
 * the user srxed runs as may capture (EPERM): the packets carry other
 * clients' data.
 */
#ifndef SRXE_PROTO_CAPTURE_H
#define SRXE_PROTO_CAPTURE_H

#include <stdint.h>

enum srxe_capture_opcode {
	SRXE_OP_CAPTURE_START = 36, /* request fd: the client's socket end */
	SRXE_OP_CAPTURE_STOP = 37,
	SRXE_OP_CAPTURE_END, /* first unused */
};

struct srxe_capture_start_req {
	uint64_t max_packets; /* 0: until CAPTURE_STOP */
	uint32_t snaplen;     /* 0: whole packets (65535) */
	uint32_t reserved;    /* must be 0 */
};

struct srxe_capture_start_resp {
	uint32_t linktype; /* 1: Ethernet */
	uint32_t snaplen;  /* as written in the file header */
};

/* CAPTURE_STOP: empty request, on the connection that started it. */
struct srxe_capture_stop_resp {
	uint64_t captured; /* records taken into the buffer */
	uint64_t dropped;  /* records lost because the buffer was full */
};

#endif /* SRXE_PROTO_CAPTURE_H */
