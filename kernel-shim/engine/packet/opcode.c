// SPDX-License-Identifier: MIT
/*
 * The opcode table.  Header layouts are spelled once (the L_* macros) and
 * every opcode names its layout, so offsets and lengths cannot drift apart
 * between opcodes that share a layout.
 */
#include "opcode.h"

#include <stddef.h>

#include "wire.h"

#define OFF1 SRXE_BTH_LEN

#define L_BTH .hdr_len = SRXE_BTH_LEN
#define L_ONE(h, len)                                                          \
	.hdr_len = SRXE_BTH_LEN + (len), .n_ext = 1, .ext = { SRXE_EXT_##h },  \
	.ext_off = { [SRXE_EXT_##h] = OFF1 }
#define L_TWO(h1, len1, h2, len2)                                              \
	.hdr_len = SRXE_BTH_LEN + (len1) + (len2), .n_ext = 2,                 \
	.ext = { SRXE_EXT_##h1, SRXE_EXT_##h2 },                               \
	.ext_off = { [SRXE_EXT_##h1] = OFF1, [SRXE_EXT_##h2] = OFF1 + (len1) }

#define L_RETH	     L_ONE(RETH, SRXE_RETH_LEN)
#define L_IMMDT	     L_ONE(IMMDT, SRXE_IMMDT_LEN)
#define L_IETH	     L_ONE(IETH, SRXE_IETH_LEN)
#define L_AETH	     L_ONE(AETH, SRXE_AETH_LEN)
#define L_ATOMICETH  L_ONE(ATOMICETH, SRXE_ATOMICETH_LEN)
#define L_DETH	     L_ONE(DETH, SRXE_DETH_LEN)
#define L_RETH_IMMDT L_TWO(RETH, SRXE_RETH_LEN, IMMDT, SRXE_IMMDT_LEN)
#define L_AETH_ATMACK                                                          \
	L_TWO(AETH, SRXE_AETH_LEN, ATOMICACKETH, SRXE_ATOMICACKETH_LEN)
#define L_DETH_IMMDT L_TWO(DETH, SRXE_DETH_LEN, IMMDT, SRXE_IMMDT_LEN)
#define L_FETH_RETH  L_TWO(FETH, SRXE_FETH_LEN, RETH, SRXE_RETH_LEN)

/* XRC requests: the XRCETH first, then what the RC opcode carries. */
#define OFFX (SRXE_BTH_LEN + SRXE_XRCETH_LEN)
#define X_BTH                                                                  \
	.hdr_len = OFFX, .n_ext = 1, .ext = { SRXE_EXT_XRCETH },               \
	.ext_off = { [SRXE_EXT_XRCETH] = OFF1 }
#define X_ONE(h, len)                                                          \
	.hdr_len = OFFX + (len), .n_ext = 2,                                   \
	.ext = { SRXE_EXT_XRCETH, SRXE_EXT_##h },                              \
	.ext_off = { [SRXE_EXT_XRCETH] = OFF1, [SRXE_EXT_##h] = OFFX }
#define X_TWO(h1, len1, h2, len2)                                              \
	.hdr_len = OFFX + (len1) + (len2), .n_ext = 3,                         \
	.ext = { SRXE_EXT_XRCETH, SRXE_EXT_##h1, SRXE_EXT_##h2 },              \
	.ext_off = { [SRXE_EXT_XRCETH] = OFF1,                                 \
		     [SRXE_EXT_##h1] = OFFX,                                   \
		     [SRXE_EXT_##h2] = OFFX + (len1) }
#define X_RETH	     X_ONE(RETH, SRXE_RETH_LEN)
#define X_IMMDT	     X_ONE(IMMDT, SRXE_IMMDT_LEN)
#define X_IETH	     X_ONE(IETH, SRXE_IETH_LEN)
#define X_ATOMICETH  X_ONE(ATOMICETH, SRXE_ATOMICETH_LEN)
#define X_RETH_IMMDT X_TWO(RETH, SRXE_RETH_LEN, IMMDT, SRXE_IMMDT_LEN)

#define OP(code, tr, str, fl, layout)                                          \
	[code] = { .name = (str),                                              \
		   .flags = (fl),                                              \
		   .opcode = (code),                                           \
		   .transport = SRXE_TRANSPORT_##tr,                           \
		   layout }

/* Data-carrying request packets by message position. */
#define REQ	 (SRXE_OPF_REQUEST | SRXE_OPF_PAYLOAD)
#define R_FIRST	 (REQ | SRXE_OPF_FIRST)
#define R_MIDDLE (REQ | SRXE_OPF_MIDDLE)
#define R_LAST	 (REQ | SRXE_OPF_LAST)
#define R_ONLY	 (REQ | SRXE_OPF_ONLY)
#define RC_LAST	 (R_LAST | SRXE_OPF_ACKREQ)
#define RC_ONLY	 (R_ONLY | SRXE_OPF_ACKREQ)
#define SEND	 SRXE_OPF_SEND
#define WRITE	 SRXE_OPF_WRITE
#define IMM	 SRXE_OPF_IMM
#define INV	 SRXE_OPF_INV
#define RRESP(pos)                                                             \
	(SRXE_OPF_RESPONSE | SRXE_OPF_READ | SRXE_OPF_PAYLOAD | SRXE_OPF_##pos)
#define ACK (SRXE_OPF_RESPONSE | SRXE_OPF_ACK | SRXE_OPF_ONLY)
#define ATOMIC_RQ                                                              \
	(SRXE_OPF_REQUEST | SRXE_OPF_ATOMIC | SRXE_OPF_ONLY | SRXE_OPF_ACKREQ)
#define ONE_RQ (SRXE_OPF_REQUEST | SRXE_OPF_ONLY | SRXE_OPF_ACKREQ)

static const struct srxe_opcode_info opcode_table[256] = {
	OP(0x00, RC, "RC Send First", R_FIRST | SEND, L_BTH),
	OP(0x01, RC, "RC Send Middle", R_MIDDLE | SEND, L_BTH),
	OP(0x02, RC, "RC Send Last", RC_LAST | SEND, L_BTH),
	OP(0x03, RC, "RC Send Last Immediate", RC_LAST | SEND | IMM, L_IMMDT),
	OP(0x04, RC, "RC Send Only", RC_ONLY | SEND, L_BTH),
	OP(0x05, RC, "RC Send Only Immediate", RC_ONLY | SEND | IMM, L_IMMDT),
	OP(0x06, RC, "RC RDMA Write First", R_FIRST | WRITE, L_RETH),
	OP(0x07, RC, "RC RDMA Write Middle", R_MIDDLE | WRITE, L_BTH),
	OP(0x08, RC, "RC RDMA Write Last", RC_LAST | WRITE, L_BTH),
	OP(0x09, RC, "RC RDMA Write Last Immediate", RC_LAST | WRITE | IMM,
	   L_IMMDT),
	OP(0x0a, RC, "RC RDMA Write Only", RC_ONLY | WRITE, L_RETH),
	OP(0x0b, RC, "RC RDMA Write Only Immediate", RC_ONLY | WRITE | IMM,
	   L_RETH_IMMDT),
	OP(0x0c, RC, "RC RDMA Read Request",
	   SRXE_OPF_REQUEST | SRXE_OPF_READ | SRXE_OPF_ONLY | SRXE_OPF_ACKREQ,
	   L_RETH),
	OP(0x0d, RC, "RC RDMA Read Response First", RRESP(FIRST), L_AETH),
	OP(0x0e, RC, "RC RDMA Read Response Middle", RRESP(MIDDLE), L_BTH),
	OP(0x0f, RC, "RC RDMA Read Response Last", RRESP(LAST), L_AETH),
	OP(0x10, RC, "RC RDMA Read Response Only", RRESP(ONLY), L_AETH),
	OP(0x11, RC, "RC Acknowledge", ACK, L_AETH),
	OP(0x12, RC, "RC Atomic Acknowledge", ACK | SRXE_OPF_ATOMIC,
	   L_AETH_ATMACK),
	OP(0x13, RC, "RC Compare Swap", ATOMIC_RQ, L_ATOMICETH),
	OP(0x14, RC, "RC Fetch Add", ATOMIC_RQ, L_ATOMICETH),
	OP(0x16, RC, "RC Send Last Invalidate", RC_LAST | SEND | INV, L_IETH),
	OP(0x17, RC, "RC Send Only Invalidate", RC_ONLY | SEND | INV, L_IETH),
	OP(0x1c, RC, "RC Flush", ONE_RQ | SRXE_OPF_FLUSH, L_FETH_RETH),
	OP(0x1d, RC, "RC Atomic Write",
	   ONE_RQ | SRXE_OPF_PAYLOAD | SRXE_OPF_ATOMIC_WRITE, L_RETH),

	OP(0x20, UC, "UC Send First", R_FIRST | SEND, L_BTH),
	OP(0x21, UC, "UC Send Middle", R_MIDDLE | SEND, L_BTH),
	OP(0x22, UC, "UC Send Last", R_LAST | SEND, L_BTH),
	OP(0x23, UC, "UC Send Last Immediate", R_LAST | SEND | IMM, L_IMMDT),
	OP(0x24, UC, "UC Send Only", R_ONLY | SEND, L_BTH),
	OP(0x25, UC, "UC Send Only Immediate", R_ONLY | SEND | IMM, L_IMMDT),
	OP(0x26, UC, "UC RDMA Write First", R_FIRST | WRITE, L_RETH),
	OP(0x27, UC, "UC RDMA Write Middle", R_MIDDLE | WRITE, L_BTH),
	OP(0x28, UC, "UC RDMA Write Last", R_LAST | WRITE, L_BTH),
	OP(0x29, UC, "UC RDMA Write Last Immediate", R_LAST | WRITE | IMM,
	   L_IMMDT),
	OP(0x2a, UC, "UC RDMA Write Only", R_ONLY | WRITE, L_RETH),
	OP(0x2b, UC, "UC RDMA Write Only Immediate", R_ONLY | WRITE | IMM,
	   L_RETH_IMMDT),

	OP(0x64, UD, "UD Send Only", R_ONLY | SEND, L_DETH),
	OP(0x65, UD, "UD Send Only Immediate", R_ONLY | SEND | IMM,
	   L_DETH_IMMDT),

	OP(0xa0, XRC, "XRC Send First", R_FIRST | SEND, X_BTH),
	OP(0xa1, XRC, "XRC Send Middle", R_MIDDLE | SEND, X_BTH),
	OP(0xa2, XRC, "XRC Send Last", RC_LAST | SEND, X_BTH),
	OP(0xa3, XRC, "XRC Send Last Immediate", RC_LAST | SEND | IMM, X_IMMDT),
	OP(0xa4, XRC, "XRC Send Only", RC_ONLY | SEND, X_BTH),
	OP(0xa5, XRC, "XRC Send Only Immediate", RC_ONLY | SEND | IMM, X_IMMDT),
	OP(0xa6, XRC, "XRC RDMA Write First", R_FIRST | WRITE, X_RETH),
	OP(0xa7, XRC, "XRC RDMA Write Middle", R_MIDDLE | WRITE, X_BTH),
	OP(0xa8, XRC, "XRC RDMA Write Last", RC_LAST | WRITE, X_BTH),
	OP(0xa9, XRC, "XRC RDMA Write Last Immediate", RC_LAST | WRITE | IMM,
	   X_IMMDT),
	OP(0xaa, XRC, "XRC RDMA Write Only", RC_ONLY | WRITE, X_RETH),
	OP(0xab, XRC, "XRC RDMA Write Only Immediate", RC_ONLY | WRITE | IMM,
	   X_RETH_IMMDT),
	OP(0xac, XRC, "XRC RDMA Read Request",
	   SRXE_OPF_REQUEST | SRXE_OPF_READ | SRXE_OPF_ONLY | SRXE_OPF_ACKREQ,
	   X_RETH),
	OP(0xad, XRC, "XRC RDMA Read Response First", RRESP(FIRST), L_AETH),
	OP(0xae, XRC, "XRC RDMA Read Response Middle", RRESP(MIDDLE), L_BTH),
	OP(0xaf, XRC, "XRC RDMA Read Response Last", RRESP(LAST), L_AETH),
	OP(0xb0, XRC, "XRC RDMA Read Response Only", RRESP(ONLY), L_AETH),
	OP(0xb1, XRC, "XRC Acknowledge", ACK, L_AETH),
	OP(0xb2, XRC, "XRC Atomic Acknowledge", ACK | SRXE_OPF_ATOMIC,
	   L_AETH_ATMACK),
	OP(0xb3, XRC, "XRC Compare Swap", ATOMIC_RQ, X_ATOMICETH),
	OP(0xb4, XRC, "XRC Fetch Add", ATOMIC_RQ, X_ATOMICETH),
	OP(0xb6, XRC, "XRC Send Last Invalidate", RC_LAST | SEND | INV, X_IETH),
	OP(0xb7, XRC, "XRC Send Only Invalidate", RC_ONLY | SEND | INV, X_IETH),
};

const struct srxe_opcode_info *srxe_opcode_info(uint8_t opcode)
{
	const struct srxe_opcode_info *info = &opcode_table[opcode];

	return info->name ? info : NULL;
}

const char *srxe_ext_hdr_name(enum srxe_ext_hdr hdr)
{
	static const char *const names[SRXE_EXT_COUNT] = {
		[SRXE_EXT_RETH] = "RETH",
		[SRXE_EXT_AETH] = "AETH",
		[SRXE_EXT_DETH] = "DETH",
		[SRXE_EXT_IMMDT] = "ImmDt",
		[SRXE_EXT_IETH] = "IETH",
		[SRXE_EXT_ATOMICETH] = "AtomicETH",
		[SRXE_EXT_ATOMICACKETH] = "AtomicAckETH",
		[SRXE_EXT_XRCETH] = "XRCETH",
		[SRXE_EXT_FETH] = "FETH",
	};

	if ((unsigned int)hdr >= SRXE_EXT_COUNT)
		return "?";
	return names[hdr];
}
