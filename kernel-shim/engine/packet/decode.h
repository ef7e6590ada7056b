/* SPDX-License-Identifier: MIT */
/*
 * Receive-side validation and parsing of one RoCEv2 packet.
 *
 * Input is untrusted: any byte string of any length.  The decoder reads
 * only inside the buffers it is given, never writes to them, and either
 * fills a struct srxe_pkt or says why the packet must be dropped, as one
 * enum srxe_rx_reason that the engine counts per reason.
 *
 * srxe_decode_udp() is the full check, in this order:
 *   1. the IP header is an IPv4 header of IHL * 4 bytes or a 40-byte IPv6
 *      header, and the datagram holds at least UDP + BTH + ICRC (else
 *      BAD_IP / TOO_SHORT) -- the minimum needed to compute an ICRC;
 *   2. ICRC (BAD_ICRC) -- before anything is interpreted, so that a packet
 *      damaged in flight is counted as damaged, whatever field got hit;
 *   3. IP protocol/length and UDP length/port agree with the buffers
 *      (BAD_IP, BAD_UDP);
 *   4. the transport checks of srxe_decode_roce().
 * srxe_decode_roce() checks only the transport part (BTH .. ICRC), for
 * callers that cannot see the IP header (a UDP socket does not show the
 * IPv4 identification, which the ICRC covers) and must vouch for
 * integrity otherwise:
 *   TVer 0 (BAD_TVER); known opcode (BAD_OPCODE); room for the opcode's
 *   headers + ICRC (TOO_SHORT); PadCnt 0 on opcodes without payload and
 *   on First/Middle packets, and not larger than the data (BAD_PAD); no
 *   bytes between the headers and the ICRC of an opcode without payload
 *   (BAD_LENGTH).
 * Checks that need QP state (P_Key, Q_Key, PSN, opcode sequence, PMTU)
 * are the receiver's, not the decoder's.
 */
#ifndef SRXE_ENGINE_DECODE_H
#define SRXE_ENGINE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opcode.h"

/* STATUS reports these by value (enum srxe_wire_drop in
 * include/srxe/proto.h mirrors them): append new reasons at the end. */
enum srxe_rx_reason {
	SRXE_RX_OK = 0,
	SRXE_RX_TOO_SHORT,
	SRXE_RX_BAD_IP,
	SRXE_RX_BAD_UDP,
	SRXE_RX_BAD_ICRC,
	SRXE_RX_BAD_TVER,
	SRXE_RX_BAD_OPCODE,
	SRXE_RX_BAD_PAD,
	SRXE_RX_BAD_LENGTH,
	SRXE_RX_REASON_COUNT
};

/* A parsed packet.  Fields of headers the opcode does not carry are 0.
 * Pointers point into the caller's buffer. */
struct srxe_pkt {
	const struct srxe_opcode_info *op;

	/* BTH */
	uint8_t opcode;
	bool se;
	bool mig;
	uint8_t pad;
	uint8_t tver;
	uint16_t pkey;
	uint8_t resv8a;
	uint32_t dqpn;
	bool ackreq;
	uint32_t psn;

	struct {
		uint64_t va;
		uint32_t rkey;
		uint32_t len;
	} reth;
	struct {
		uint8_t syndrome;
		uint32_t msn;
	} aeth;
	struct {
		uint32_t qkey;
		uint32_t sqpn;
	} deth;
	uint32_t imm; /* ImmDt as a big-endian number */
	uint32_t ieth_rkey;
	struct {
		uint64_t va;
		uint32_t rkey;
		uint64_t swap_add;
		uint64_t compare;
	} atomic;
	uint64_t atomic_orig; /* AtomicAckETH */
	uint32_t xrc_srqn;    /* XRCETH */
	struct {
		uint8_t plt; /* placement type */
		uint8_t sel; /* selectivity level */
	} feth;

	/* Same-host bursts only (pkt.h): PSNs after psn this packet
	 * stands for; 0 for every packet decoded from bytes. */
	uint32_t extra_psns;
	const uint8_t *payload; /* message data, pad excluded */
	uint32_t payload_len;
	uint32_t icrc; /* the trailer as received */
	/* The IP header as received (srxe_decode_udp only; NULL from
	 * srxe_decode_roce and the same-host path): a UD receive copies it
	 * into the buffer's first 40 bytes, as kernel rxe does. */
	const uint8_t *ip;
	uint32_t ip_len;
};

/* Transport checks and parse of @len bytes of BTH .. ICRC (ICRC not
 * verified).  On failure *@pkt is unspecified. */
enum srxe_rx_reason srxe_decode_roce(const uint8_t *bth, size_t len,
				     struct srxe_pkt *pkt);

/* Full check: @ip/@ip_len is the IP header, @udp/@udp_len the UDP datagram
 * (header .. ICRC). */
enum srxe_rx_reason srxe_decode_udp(const uint8_t *ip, size_t ip_len,
				    const uint8_t *udp, size_t udp_len,
				    struct srxe_pkt *pkt);

/* "OK", "TOO_SHORT", ...; "?" for an out-of-range value. */
const char *srxe_rx_reason_name(enum srxe_rx_reason reason);

#endif
