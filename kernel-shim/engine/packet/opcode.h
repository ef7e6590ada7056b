/* SPDX-License-Identifier: MIT */
/*
 * The RoCEv2 opcode map: what each BTH opcode means and which headers
 * follow the BTH.  One constant table, indexed by opcode, answers every
 * "what is this packet" question so that no other code switches on opcode
 * numbers.
 *
 * Covered: RC 0x00-0x14, 0x16, 0x17, and the IBA 1.5 RC FLUSH (0x1c) and
 * RC ATOMIC WRITE (0x1d) that kernel rxe has since 6.2; UC 0x20-0x2b; UD
 * 0x64, 0x65; XRC 0xa0-0xb4, 0xb6, 0xb7 (the RC set + 0xa0, requests with
 * an XRCETH after the BTH, responses exactly like RC's).  Not covered
 * (srxe_opcode_info() returns NULL): RD, which rxe does not support
 * either, CNP (0x81; Wireshark 4.0 has no name for it) and the
 * reserved/vendor values.
 *
 * Names are exactly what Wireshark 4.0's tshark prints in the Info column
 * before " QP=..." (quirk included: it prints "UC RDMA Write First" with no
 * space before "QP=").  XRC is an exception: tshark 4.0 names XRC opcodes
 * only in its -V tree ("Extended Reliable Connection (XRC) - SEND Only")
 * and prints "Unknown OpCode" in the Info column, so XRC names here follow
 * the RC ones with the "XRC " prefix.  Wireshark 4.0 predates FLUSH and
 * ATOMIC WRITE too: it prints "Unknown OpCode" for them and shows their
 * headers as vendor data; their names here are IBA's.
 */
#ifndef SRXE_ENGINE_OPCODE_H
#define SRXE_ENGINE_OPCODE_H

#include <stdint.h>

/* BTH opcode values (IBA vol. 1, table 38). */
enum srxe_opcode {
	SRXE_OP_RC_SEND_FIRST = 0x00,
	SRXE_OP_RC_SEND_MIDDLE = 0x01,
	SRXE_OP_RC_SEND_LAST = 0x02,
	SRXE_OP_RC_SEND_LAST_IMM = 0x03,
	SRXE_OP_RC_SEND_ONLY = 0x04,
	SRXE_OP_RC_SEND_ONLY_IMM = 0x05,
	SRXE_OP_RC_WRITE_FIRST = 0x06,
	SRXE_OP_RC_WRITE_MIDDLE = 0x07,
	SRXE_OP_RC_WRITE_LAST = 0x08,
	SRXE_OP_RC_WRITE_LAST_IMM = 0x09,
	SRXE_OP_RC_WRITE_ONLY = 0x0a,
	SRXE_OP_RC_WRITE_ONLY_IMM = 0x0b,
	SRXE_OP_RC_READ_REQUEST = 0x0c,
	SRXE_OP_RC_READ_RESPONSE_FIRST = 0x0d,
	SRXE_OP_RC_READ_RESPONSE_MIDDLE = 0x0e,
	SRXE_OP_RC_READ_RESPONSE_LAST = 0x0f,
	SRXE_OP_RC_READ_RESPONSE_ONLY = 0x10,
	SRXE_OP_RC_ACKNOWLEDGE = 0x11,
	SRXE_OP_RC_ATOMIC_ACKNOWLEDGE = 0x12,
	SRXE_OP_RC_COMPARE_SWAP = 0x13,
	SRXE_OP_RC_FETCH_ADD = 0x14,
	SRXE_OP_RC_SEND_LAST_INV = 0x16,
	SRXE_OP_RC_SEND_ONLY_INV = 0x17,
	SRXE_OP_RC_FLUSH = 0x1c,	/* IBA 1.5: FETH + RETH */
	SRXE_OP_RC_ATOMIC_WRITE = 0x1d, /* IBA 1.5: RETH + 8 bytes */

	SRXE_OP_UC_SEND_FIRST = 0x20,
	SRXE_OP_UC_SEND_MIDDLE = 0x21,
	SRXE_OP_UC_SEND_LAST = 0x22,
	SRXE_OP_UC_SEND_LAST_IMM = 0x23,
	SRXE_OP_UC_SEND_ONLY = 0x24,
	SRXE_OP_UC_SEND_ONLY_IMM = 0x25,
	SRXE_OP_UC_WRITE_FIRST = 0x26,
	SRXE_OP_UC_WRITE_MIDDLE = 0x27,
	SRXE_OP_UC_WRITE_LAST = 0x28,
	SRXE_OP_UC_WRITE_LAST_IMM = 0x29,
	SRXE_OP_UC_WRITE_ONLY = 0x2a,
	SRXE_OP_UC_WRITE_ONLY_IMM = 0x2b,

	SRXE_OP_UD_SEND_ONLY = 0x64,
	SRXE_OP_UD_SEND_ONLY_IMM = 0x65,

	/* XRC: the RC opcode + SRXE_OP_XRC_BASE. */
	SRXE_OP_XRC_BASE = 0xa0,
	SRXE_OP_XRC_SEND_ONLY = 0xa4,
	SRXE_OP_XRC_ACKNOWLEDGE = 0xb1,
	SRXE_OP_XRC_ATOMIC_ACKNOWLEDGE = 0xb2,
};

/* The opcode's top three bits. */
enum srxe_transport {
	SRXE_TRANSPORT_RC = 0,
	SRXE_TRANSPORT_UC = 1,
	SRXE_TRANSPORT_RD = 2,
	SRXE_TRANSPORT_UD = 3,
	SRXE_TRANSPORT_CNP = 4,
	SRXE_TRANSPORT_XRC = 5,
};

/* Extension transport headers (after the BTH). */
enum srxe_ext_hdr {
	SRXE_EXT_RETH,
	SRXE_EXT_AETH,
	SRXE_EXT_DETH,
	SRXE_EXT_IMMDT,
	SRXE_EXT_IETH,
	SRXE_EXT_ATOMICETH,
	SRXE_EXT_ATOMICACKETH,
	SRXE_EXT_XRCETH,
	SRXE_EXT_FETH, /* FLUSH */
	SRXE_EXT_COUNT
};

/* XRC RDMA Write Only Immediate: XRCETH, RETH, ImmDt. */
#define SRXE_EXT_MAX 3

enum srxe_opcode_flag {
	/* Position of the packet inside its message. */
	SRXE_OPF_FIRST = 1u << 0,
	SRXE_OPF_MIDDLE = 1u << 1,
	SRXE_OPF_LAST = 1u << 2,
	SRXE_OPF_ONLY = 1u << 3,
	/* Carries message data (and may therefore carry pad bytes). */
	SRXE_OPF_PAYLOAD = 1u << 4,
	SRXE_OPF_IMM = 1u << 5, /* ImmDt present */
	SRXE_OPF_INV = 1u << 6, /* IETH present */
	/* Direction: requests flow requester->responder; responses (READ
	 * responses, ACKs, atomic ACKs) flow back. */
	SRXE_OPF_REQUEST = 1u << 7,
	SRXE_OPF_RESPONSE = 1u << 8,
	/* A pure acknowledgement (RC Acknowledge, RC Atomic Acknowledge). */
	SRXE_OPF_ACK = 1u << 9,
	/* Operation class. */
	SRXE_OPF_SEND = 1u << 10,
	SRXE_OPF_WRITE = 1u << 11,
	SRXE_OPF_READ = 1u << 12,
	SRXE_OPF_ATOMIC = 1u << 13,
	/* An RC/XRC requester sets BTH.AckReq on this packet (end of a
	 * message, READ request, atomics) and the responder must answer it. */
	SRXE_OPF_ACKREQ = 1u << 14,
	/* IBA 1.5 operations, answered by a zero-length RDMA READ Response
	 * Only as kernel rxe does; neither is a WRITE or an ATOMIC to the
	 * responder's state machine. */
	SRXE_OPF_ATOMIC_WRITE = 1u << 15,
	SRXE_OPF_FLUSH = 1u << 16,
};

struct srxe_opcode_info {
	const char *name; /* tshark 4.0 Info text */
	uint32_t flags;	  /* enum srxe_opcode_flag */
	uint8_t opcode;
	uint8_t transport; /* enum srxe_transport */
	/* BTH plus extension headers, in bytes: the payload starts here. */
	uint8_t hdr_len;
	uint8_t n_ext;
	uint8_t ext[SRXE_EXT_MAX]; /* enum srxe_ext_hdr, in wire order */
	/* Offset of each extension header from the BTH; 0 means absent (an
	 * extension header never sits at offset 0). */
	uint8_t ext_off[SRXE_EXT_COUNT];
};

/* The entry for @opcode, or NULL if srxe does not know it. */
const struct srxe_opcode_info *srxe_opcode_info(uint8_t opcode);

/* "RETH", "AETH", ...; "?" for an out-of-range value. */
const char *srxe_ext_hdr_name(enum srxe_ext_hdr hdr);

#endif
