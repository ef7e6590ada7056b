// SPDX-License-Identifier: MIT
/* Engine pieces that can be tested alone: PSN arithmetic, IBA timers,
 * packet building/parsing, chunk copies. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <string.h>

#include "engine/packet/decode.h"
#include "engine/packet/pkt.h"
#include "engine/packet/psn.h"
#include "engine/packet/timing.h"
#include "engine/packet/wire.h"

Test(engine_psn, wraps_at_24_bits)
{
	cr_assert_eq(srxe_psn_add(0xffffff, 1), 0);
	cr_assert_eq(srxe_psn_add(0xfffffe, 5), 3);
	cr_assert_eq(srxe_psn_diff(2, 0xfffffe), 4);
	cr_assert_eq(srxe_psn_diff(0xfffffe, 2), -4);
	cr_assert_eq(srxe_psn_diff(100, 100), 0);
	cr_assert_eq(srxe_psn_diff(0x7fffff, 0), 0x7fffff);
	cr_assert_eq(srxe_psn_diff(0x800000, 0), -0x800000);
}

Test(engine_timing, rnr_table_is_ibta)
{
	cr_assert_eq(srxe_rnr_timer_ns(0), 655360000ull);
	cr_assert_eq(srxe_rnr_timer_ns(1), 10000ull);
	cr_assert_eq(srxe_rnr_timer_ns(14), 1280000ull);
	cr_assert_eq(srxe_rnr_timer_ns(31), 491520000ull);
	cr_assert_eq(srxe_rnr_timer_ns(32 + 1), 10000ull, "5 bits only");
	for (int i = 2; i < 32; i++)
		cr_assert_gt(srxe_rnr_timer_ns(i), srxe_rnr_timer_ns(i - 1));
}

Test(engine_timing, ack_timeout_and_mtu)
{
	cr_assert_eq(srxe_ack_timeout_ns(0), 0, "0 is infinite");
	cr_assert_eq(srxe_ack_timeout_ns(1), 8192);
	cr_assert_eq(srxe_ack_timeout_ns(14), 4096ull << 14);
	cr_assert_eq(srxe_mtu_bytes(IBV_MTU_256), 256);
	cr_assert_eq(srxe_mtu_bytes(IBV_MTU_4096), 4096);
	cr_assert_eq(srxe_mtu_bytes(0), 0);
	cr_assert_eq(srxe_mtu_bytes(6), 0);
}

Test(engine_pkt, build_parse_roundtrip_and_wire_bytes)
{
	struct srxe_tx_pkt tx;
	struct srxe_pkt p;
	uint32_t imm = htonl(0x01020304);

	cr_assert(srxe_tx_begin(&tx, SRXE_OP_RC_WRITE_ONLY_IMM, 0xabcdef,
				0x123456, 7));
	srxe_reth_set_va(srxe_tx_ext(&tx, SRXE_EXT_RETH), 0x1122334455667788);
	srxe_reth_set_rkey(srxe_tx_ext(&tx, SRXE_EXT_RETH), 0xdeadbeef);
	srxe_reth_set_len(srxe_tx_ext(&tx, SRXE_EXT_RETH), 7);
	memcpy(srxe_tx_ext(&tx, SRXE_EXT_IMMDT), &imm, 4);
	srxe_bth_set_ackreq(tx.hdr, true);
	cr_assert_eq(tx.hdr_len, 12 + 16 + 4);
	/* BTH bytes exactly as on the wire */
	cr_assert_eq(tx.hdr[0], 0x0b);
	cr_assert_eq(tx.hdr[1], 1 << 4, "PadCnt 1 for 7 bytes, TVer 0");
	cr_assert_eq(tx.hdr[2], 0xff);
	cr_assert_eq(tx.hdr[5], 0xab);
	cr_assert_eq(tx.hdr[8], 0x80);
	cr_assert_eq(tx.hdr[9], 0x12);
	cr_assert_eq(tx.hdr[12 + 16], 0x01, "ImmDt after RETH");
	cr_assert(srxe_tx_parse(&tx, &p));
	cr_assert_eq(p.dqpn, 0xabcdef);
	cr_assert_eq(p.psn, 0x123456);
	cr_assert(p.ackreq);
	cr_assert_eq(p.pad, 1);
	cr_assert_eq(p.reth.va, 0x1122334455667788);
	cr_assert_eq(p.reth.rkey, 0xdeadbeef);
	cr_assert_eq(p.imm, 0x01020304);
	cr_assert_eq(p.payload_len, 7);
}

Test(engine_pkt, parse_rejects_payload_on_ack)
{
	struct srxe_tx_pkt tx;
	struct srxe_pkt p;

	cr_assert(srxe_tx_begin(&tx, SRXE_OP_RC_ACKNOWLEDGE, 1, 2, 0));
	cr_assert(srxe_tx_parse(&tx, &p));
	tx.payload_len = 4;
	cr_assert_not(srxe_tx_parse(&tx, &p));
	cr_assert_not(srxe_tx_begin(&tx, 0x7f, 1, 2, 0), "unknown opcode");
}

/* udp_xmit checks coverage before it joins a run; the gather must then
 * succeed, and a payload its chunks do not hold must be refused. */
Test(engine_pkt, tx_covered_agrees_with_gather)
{
	uint8_t a[6] = "abcdef", b[5] = "ghijk", out[16];
	struct srxe_tx_pkt tx;

	cr_assert(srxe_tx_begin(&tx, SRXE_OP_RC_SEND_ONLY, 1, 2, 11));
	tx.nchunks = 2;
	tx.chunks[0] = (struct srxe_sg){ a, sizeof(a) };
	tx.chunks[1] = (struct srxe_sg){ b, sizeof(b) };
	cr_assert(srxe_tx_covered(&tx));
	cr_assert(srxe_tx_gather(out, &tx));
	cr_assert_arr_eq(out, "abcdefghijk", 11);
	tx.payload_len = 12;
	cr_assert_not(srxe_tx_covered(&tx));
	cr_assert_not(srxe_tx_gather(out, &tx));
	tx.payload_len = 0;
	tx.nchunks = 0;
	cr_assert(srxe_tx_covered(&tx), "no payload needs no chunk");
}

Test(engine_pkt, sg_copy_across_uneven_chunks)
{
	uint8_t src[100], dst[100] = { 0 };
	struct srxe_sg s[3] = { { src, 10 },
				{ src + 10, 57 },
				{ src + 67, 33 } };
	struct srxe_sg d[2] = { { dst, 41 }, { dst + 41, 59 } };

	for (int i = 0; i < 100; i++)
		src[i] = (uint8_t)(i * 7 + 1);
	srxe_sg_copy(d, 2, s, 3, 100);
	cr_assert_eq(memcmp(src, dst, 100), 0);
	memset(dst, 0, sizeof(dst));
	srxe_sg_copy(d, 2, s, 3, 50);
	cr_assert_eq(memcmp(src, dst, 50), 0);
	cr_assert_eq(dst[50], 0, "copies exactly len bytes");
}

/* IBA 1.5 FLUSH: FETH before RETH, bytes as kernel rxe puts them. */
Test(engine_pkt, flush_build_parse_and_decode)
{
	uint8_t wire[64];
	struct srxe_tx_pkt tx;
	struct srxe_pkt p;

	cr_assert(srxe_tx_begin(&tx, SRXE_OP_RC_FLUSH, 0x12, 0x345, 0));
	srxe_feth_set(srxe_tx_ext(&tx, SRXE_EXT_FETH), 1, 1);
	srxe_reth_set_va(srxe_tx_ext(&tx, SRXE_EXT_RETH), 0x7f0000001000);
	srxe_reth_set_rkey(srxe_tx_ext(&tx, SRXE_EXT_RETH), 0xabcd0102);
	srxe_reth_set_len(srxe_tx_ext(&tx, SRXE_EXT_RETH), 4096);
	cr_assert_eq(tx.hdr_len, 32);
	cr_assert_eq(tx.hdr[0], 0x1c);
	cr_assert_eq(tx.hdr[12 + 3], 0x11, "FETH: SEL 1 (MR), PLT 1 (global)");
	cr_assert_eq(tx.hdr[16 + 8], 0xab, "R_Key after the VA");
	cr_assert(srxe_tx_parse(&tx, &p));
	cr_assert_eq(p.feth.plt, 1);
	cr_assert_eq(p.feth.sel, 1);
	cr_assert_eq(p.reth.len, 4096);
	cr_assert_eq(p.reth.rkey, 0xabcd0102);

	/* the same bytes through the receive decoder */
	memcpy(wire, tx.hdr, tx.hdr_len);
	memset(wire + tx.hdr_len, 0, 4); /* ICRC, not checked here */
	memset(&p, 0, sizeof(p));
	cr_assert_eq(srxe_decode_roce(wire, 36, &p), SRXE_RX_OK);
	cr_assert_eq(p.op->opcode, SRXE_OP_RC_FLUSH);
	cr_assert_eq(p.feth.plt, 1);
	cr_assert_eq(p.reth.va, 0x7f0000001000);
	cr_assert_eq(p.payload_len, 0);
	/* FLUSH carries no data: trailing bytes and pad are malformed */
	cr_assert_eq(srxe_decode_roce(wire, 40, &p), SRXE_RX_BAD_LENGTH);
	srxe_bth_set_pad(wire, 1);
	cr_assert_eq(srxe_decode_roce(wire, 36, &p), SRXE_RX_BAD_PAD);
	cr_assert_eq(srxe_decode_roce(wire, 31, &p), SRXE_RX_TOO_SHORT);
	/* a payload on a FLUSH cannot even be built for the same host */
	tx.payload_len = 8;
	cr_assert_not(srxe_tx_parse(&tx, &p));
}

Test(engine_pkt, atomic_write_build_and_decode)
{
	static const uint8_t value[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t wire[64];
	struct srxe_tx_pkt tx;
	struct srxe_pkt p;

	cr_assert(srxe_tx_begin(&tx, SRXE_OP_RC_ATOMIC_WRITE, 0x12, 7, 8));
	srxe_reth_set_len(srxe_tx_ext(&tx, SRXE_EXT_RETH), 8);
	cr_assert_eq(tx.hdr_len, 28);
	cr_assert_eq(tx.hdr[1] & 0x30, 0, "8 bytes need no pad");
	memcpy(wire, tx.hdr, tx.hdr_len);
	memcpy(wire + 28, value, 8);
	memset(wire + 36, 0, 4);
	cr_assert_eq(srxe_decode_roce(wire, 40, &p), SRXE_RX_OK);
	cr_assert(p.op->flags & SRXE_OPF_ATOMIC_WRITE);
	cr_assert_eq(p.reth.len, 8);
	cr_assert_eq(p.payload_len, 8);
	cr_assert_eq(memcmp(p.payload, value, 8), 0);
	/* a short one decodes (the responder refuses its length) */
	cr_assert_eq(srxe_decode_roce(wire, 36, &p), SRXE_RX_OK);
	cr_assert_eq(p.payload_len, 4);
	cr_assert_eq(srxe_decode_roce(wire, 27, &p), SRXE_RX_TOO_SHORT);
}
