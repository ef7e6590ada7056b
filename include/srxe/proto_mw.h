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
	SRXE_OP_REREG_MR = 42,
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

/*
 * REREG_MR: ibv_rereg_mr() with IBV_REREG_MR_CHANGE_PD and/or _ACCESS
 * (not _TRANSLATION, which the provider does as a new registration
 * followed by the old one's deregistration).  The MR keeps its keys, as
 * in kernel rxe; the new PD and rights apply to every later access.  The
 * reply's rkey is 0 when the new rights grant no remote access.
 * EINVAL no such MR/PD, bad access (as REG_MR); EBUSY memory windows are
 * bound to the MR; EAGAIN the MR's rkey would collide (shortcut mode,
 * about 1 in 2^24): the provider then registers anew.
 */
struct srxe_rereg_mr_req {
	uint32_t mr_handle;
	uint32_t flags;	    /* IBV_REREG_MR_CHANGE_PD | _ACCESS */
	uint32_t pd_handle; /* with CHANGE_PD */
	uint32_t access;    /* with CHANGE_ACCESS */
};

struct srxe_rereg_mr_resp {
	uint32_t lkey;
	uint32_t rkey;
};

#endif /* SRXE_PROTO_MW_H */
