/* SPDX-License-Identifier: MIT */
/*
 * srxe control protocol, memory windows (issue #10, opcodes 40-47).
 * Framing, status and error rules are those of include/srxe/proto.h.
 *
 * Only allocation and deallocation go through srxed's control socket.
 * Binding (IBV_WR_BIND_MW, also what ibv_bind_mw() posts for type 1) and
 * invalidation (IBV_WR_LOCAL_INV, Send with Invalidate) are work requests:
 * the engine runs them in send-queue order (docs/memory-windows.md).
 *
 *  ALLOC_MW    type 1 or 2 in a PD of this context.  The reply's rkey is
 *              the window's first rkey (tag << 8 | key byte).
 *              EINVAL "no such PD" / other type; ENOMEM past max_mw.
 *  DEALLOC_MW  the window dies at once, bound or not: its rkeys are
 *              refused from now on.  EINVAL for an unknown handle.
 */
#ifndef SRXE_PROTO_MW_H
#define SRXE_PROTO_MW_H

#include <stdint.h>

enum srxe_opcode_mw {
	SRXE_OP_ALLOC_MW = 40,
	SRXE_OP_DEALLOC_MW = 41,
	SRXE_OP_MW_END, /* first opcode after this group (<= 48) */
};

struct srxe_alloc_mw_req {
	uint32_t pd_handle;
	uint32_t type; /* IBV_MW_TYPE_1 / IBV_MW_TYPE_2 */
};

struct srxe_alloc_mw_resp {
	uint32_t mw_handle;
	uint32_t rkey;
};

struct srxe_dealloc_mw_req {
	uint32_t mw_handle;
	uint32_t reserved; /* must be 0 */
};

#endif /* SRXE_PROTO_MW_H */
