// SPDX-License-Identifier: MIT
/* Header accessors and the opcode table, checked against IBA facts. */
#include <criterion/criterion.h>
#include <string.h>

#include "engine/packet/opcode.h"
#include "engine/packet/wire.h"

static const size_t ext_len[SRXE_EXT_COUNT] = {
	[SRXE_EXT_RETH] = 16,	     [SRXE_EXT_AETH] = 4,
	[SRXE_EXT_DETH] = 8,	     [SRXE_EXT_IMMDT] = 4,
	[SRXE_EXT_IETH] = 4,	     [SRXE_EXT_ATOMICETH] = 28,
	[SRXE_EXT_ATOMICACKETH] = 8, [SRXE_EXT_XRCETH] = 4,
	[SRXE_EXT_FETH] = 4,
};

Test(wire_layout, known_opcodes_are_exactly_rc_uc_ud_xrc)
{
	unsigned int n = 0;

	for (int op = 0; op < 256; op++) {
		bool rc = op <= 0x14 || op == 0x16 || op == 0x17 ||
			  op == 0x1c || op == 0x1d;
		bool xrc = op >= 0xa0 && op <= 0xb7 && op != 0xb5;
		bool want = rc || xrc || (op >= 0x20 && op <= 0x2b) ||
			    op == 0x64 || op == 0x65;

		cr_assert_eq(srxe_opcode_info((uint8_t)op) != NULL, want,
			     "opcode 0x%02x", op);
		n += want;
	}
	cr_assert_eq(n, 23 + 2 + 12 + 2 + 23);
}

/* IBA 9.2.4: XRC requests are RC's with an XRCETH right after the BTH;
 * XRC responses are laid out exactly like RC's. */
Test(wire_layout, xrc_mirrors_rc_with_xrceth_on_requests)
{
	for (int code = 0xa0; code <= 0xb7; code++) {
		const struct srxe_opcode_info *x =
			srxe_opcode_info((uint8_t)code);
		const struct srxe_opcode_info *r =
			srxe_opcode_info((uint8_t)(code - 0xa0));
		bool req;

		if (code == 0xb5) {
			cr_assert_null(x);
			continue;
		}
		cr_assert_not_null(x);
		cr_assert_eq(x->flags, r->flags, "%s", x->name);
		cr_assert_str_eq(x->name + 4, r->name + 3);
		req = x->flags & SRXE_OPF_REQUEST;
		cr_assert_eq(x->ext_off[SRXE_EXT_XRCETH], req ? 12 : 0, "%s",
			     x->name);
		cr_assert_eq(x->hdr_len, r->hdr_len + (req ? 4 : 0), "%s",
			     x->name);
		for (int h = 0; h < SRXE_EXT_XRCETH; h++)
			if (r->ext_off[h])
				cr_assert_eq(x->ext_off[h],
					     r->ext_off[h] + (req ? 4 : 0),
					     "%s", x->name);
	}
	cr_assert_eq(srxe_opcode_info(0xab)->n_ext, 3);
	cr_assert_eq(srxe_opcode_info(0xab)->hdr_len, 36);
	cr_assert_str_eq(srxe_ext_hdr_name(SRXE_EXT_XRCETH), "XRCETH");
}

Test(wire_layout, table_entries_are_self_consistent)
{
	static const char *const prefix[] = { "RC ", "UC ", "RD ",
					      "UD ", "CNP", "XRC" };

	for (int code = 0; code < 256; code++) {
		const struct srxe_opcode_info *op =
			srxe_opcode_info((uint8_t)code);
		size_t off = SRXE_BTH_LEN;
		uint32_t pos;
		unsigned int present = 0;

		if (!op)
			continue;
		cr_assert_eq(op->opcode, code);
		cr_assert_eq(op->transport, code >> 5);
		cr_assert_eq(strncmp(op->name, prefix[code >> 5], 3), 0);
		/* Offsets are the running sum of the headers in order. */
		for (unsigned int i = 0; i < op->n_ext; i++) {
			cr_assert_eq(op->ext_off[op->ext[i]], off, "%s",
				     op->name);
			off += ext_len[op->ext[i]];
		}
		cr_assert_eq(op->hdr_len, off, "%s", op->name);
		for (int h = 0; h < SRXE_EXT_COUNT; h++)
			present += op->ext_off[h] != 0;
		cr_assert_eq(present, op->n_ext, "%s", op->name);
		pos = op->flags & (SRXE_OPF_FIRST | SRXE_OPF_MIDDLE |
				   SRXE_OPF_LAST | SRXE_OPF_ONLY);
		cr_assert(pos && !(pos & (pos - 1)), "%s: one position",
			  op->name);
		cr_assert(!(op->flags & SRXE_OPF_REQUEST) !=
				  !(op->flags & SRXE_OPF_RESPONSE),
			  "%s: request xor response", op->name);
		cr_assert_eq(!!(op->flags & SRXE_OPF_IMM),
			     op->ext_off[SRXE_EXT_IMMDT] != 0, "%s", op->name);
		cr_assert_eq(!!(op->flags & SRXE_OPF_INV),
			     op->ext_off[SRXE_EXT_IETH] != 0, "%s", op->name);
		cr_assert_eq(!!strstr(op->name, "Immediate"),
			     !!(op->flags & SRXE_OPF_IMM), "%s", op->name);
		/* AckReq semantics exist only in RC and XRC. */
		if (op->flags & SRXE_OPF_ACKREQ)
			cr_assert(op->transport == SRXE_TRANSPORT_RC ||
				  op->transport == SRXE_TRANSPORT_XRC);
	}
}

Test(wire_layout, header_order_follows_iba)
{
	const struct srxe_opcode_info *op;

	op = srxe_opcode_info(SRXE_OP_RC_WRITE_ONLY_IMM);
	cr_assert_eq(op->ext[0], SRXE_EXT_RETH);
	cr_assert_eq(op->ext[1], SRXE_EXT_IMMDT);
	cr_assert_eq(op->hdr_len, 32);
	op = srxe_opcode_info(SRXE_OP_RC_ATOMIC_ACKNOWLEDGE);
	cr_assert_eq(op->ext_off[SRXE_EXT_AETH], 12);
	cr_assert_eq(op->ext_off[SRXE_EXT_ATOMICACKETH], 16);
	op = srxe_opcode_info(SRXE_OP_UD_SEND_ONLY_IMM);
	cr_assert_eq(op->ext_off[SRXE_EXT_DETH], 12);
	cr_assert_eq(op->ext_off[SRXE_EXT_IMMDT], 20);
	op = srxe_opcode_info(SRXE_OP_RC_READ_REQUEST);
	cr_assert_not(op->flags & SRXE_OPF_PAYLOAD);
	cr_assert_eq(op->hdr_len, 28);
	op = srxe_opcode_info(SRXE_OP_RC_READ_RESPONSE_MIDDLE);
	cr_assert_eq(op->n_ext, 0, "middle responses carry no AETH");
	op = srxe_opcode_info(SRXE_OP_RC_SEND_ONLY_INV);
	cr_assert_eq(op->ext_off[SRXE_EXT_IETH], 12);
	cr_assert_str_eq(op->name, "RC Send Only Invalidate");
	cr_assert_str_eq(srxe_ext_hdr_name(SRXE_EXT_ATOMICACKETH),
			 "AtomicAckETH");
	cr_assert_str_eq(srxe_ext_hdr_name(SRXE_EXT_COUNT), "?");
}

/* IBA 1.5 (and kernel rxe's rxe_opcode.c): FLUSH is BTH | FETH | RETH
 * with no payload, ATOMIC WRITE is BTH | RETH | 8 bytes; both are single
 * packet RC requests that ask for a response. */
Test(wire_layout, flush_and_atomic_write)
{
	const struct srxe_opcode_info *op;
	const uint32_t one_rq =
		SRXE_OPF_REQUEST | SRXE_OPF_ONLY | SRXE_OPF_ACKREQ;

	op = srxe_opcode_info(SRXE_OP_RC_FLUSH);
	cr_assert_not_null(op);
	cr_assert_eq(op->opcode, 0x1c);
	cr_assert_str_eq(op->name, "RC Flush");
	cr_assert_eq(op->n_ext, 2);
	cr_assert_eq(op->ext[0], SRXE_EXT_FETH);
	cr_assert_eq(op->ext[1], SRXE_EXT_RETH);
	cr_assert_eq(op->ext_off[SRXE_EXT_FETH], 12);
	cr_assert_eq(op->ext_off[SRXE_EXT_RETH], 16);
	cr_assert_eq(op->hdr_len, 32);
	cr_assert_eq(op->flags & one_rq, one_rq);
	cr_assert(op->flags & SRXE_OPF_FLUSH);
	cr_assert_not(op->flags &
		      (SRXE_OPF_PAYLOAD | SRXE_OPF_WRITE | SRXE_OPF_READ |
		       SRXE_OPF_ATOMIC | SRXE_OPF_ATOMIC_WRITE));
	cr_assert_str_eq(srxe_ext_hdr_name(SRXE_EXT_FETH), "FETH");

	op = srxe_opcode_info(SRXE_OP_RC_ATOMIC_WRITE);
	cr_assert_not_null(op);
	cr_assert_eq(op->opcode, 0x1d);
	cr_assert_str_eq(op->name, "RC Atomic Write");
	cr_assert_eq(op->n_ext, 1);
	cr_assert_eq(op->ext_off[SRXE_EXT_RETH], 12);
	cr_assert_eq(op->hdr_len, 28);
	cr_assert_eq(op->flags & one_rq, one_rq);
	cr_assert(op->flags & SRXE_OPF_PAYLOAD);
	cr_assert(op->flags & SRXE_OPF_ATOMIC_WRITE);
	cr_assert_not(op->flags & (SRXE_OPF_FLUSH | SRXE_OPF_WRITE |
				   SRXE_OPF_READ | SRXE_OPF_ATOMIC));
	/* their neighbours stay unknown (0x1e, 0x1f are reserved) */
	cr_assert_null(srxe_opcode_info(0x1b));
	cr_assert_null(srxe_opcode_info(0x1e));
}

Test(wire_layout, feth_fields)
{
	uint8_t feth[4];

	memset(feth, 0xff, sizeof(feth));
	srxe_feth_set(feth, 0x1, 0x1);
	/* reserved bits 31-6 written as zero */
	cr_assert_eq(feth[0] | feth[1] | feth[2], 0);
	cr_assert_eq(feth[3], 0x11);
	cr_assert_eq(srxe_feth_plt(feth), 1);
	cr_assert_eq(srxe_feth_sel(feth), 1);
	srxe_feth_set(feth, 0x2, 0x0);
	cr_assert_eq(feth[3], 0x02);
	srxe_feth_set(feth, 0xff, 0xff); /* each field masked to its width */
	cr_assert_eq(feth[3], 0x3f);
	/* a receiver ignores the reserved bits */
	feth[0] = 0xff;
	feth[3] = 0xc2;
	cr_assert_eq(srxe_feth_plt(feth), 2);
	cr_assert_eq(srxe_feth_sel(feth), 0);
}

/* Each setter writes its field and nothing else; each getter reads it
 * back from the documented place. */
Test(wire_layout, bth_fields_are_independent)
{
	uint8_t bth[SRXE_BTH_LEN];

	memset(bth, 0xff, sizeof(bth));
	srxe_bth_set_pad(bth, 0);
	cr_assert_eq(bth[1], 0xcf);
	srxe_bth_set_tver(bth, 0);
	cr_assert_eq(bth[1], 0xc0);
	srxe_bth_set_se(bth, false);
	srxe_bth_set_mig(bth, false);
	cr_assert_eq(bth[1], 0x00);
	srxe_bth_set_pad(bth, 3);
	cr_assert_eq(bth[1], 0x30);
	cr_assert_eq(srxe_bth_pad(bth), 3);
	bth[1] = 0xff;
	srxe_bth_init_byte1(bth, 2, 1);
	cr_assert_eq(bth[1], 0x21, "SE and M cleared, PadCnt 2, TVer 1");
	srxe_bth_init_byte1(bth, 3, 0);
	cr_assert_eq(bth[1], 0x30);
	cr_assert_eq(bth[0], 0xff, "byte 1 only");
	cr_assert_eq(bth[2], 0xff, "byte 1 only");
	srxe_bth_set_ackreq(bth, false);
	cr_assert_eq(bth[8], 0x7f);
	srxe_bth_set_psn(bth, 0x1123456); /* bit 24 dropped */
	cr_assert_eq(bth[8], 0x7f);
	cr_assert_eq(srxe_bth_psn(bth), 0x123456);
	srxe_bth_set_dqpn(bth, 0xabcdef);
	cr_assert_eq(bth[4], 0xff);
	cr_assert_eq(bth[5], 0xab);
	cr_assert_eq(srxe_bth_dqpn(bth), 0xabcdef);
	srxe_bth_set_pkey(bth, 0x8001);
	cr_assert_eq(bth[2], 0x80);
	cr_assert_eq(bth[3], 0x01);
	srxe_bth_set_opcode(bth, 0x64);
	cr_assert_eq(bth[0], 0x64);
	cr_assert_eq(srxe_bth_resv8a(bth), 0xff);
	srxe_bth_set_se(bth, true);
	cr_assert(srxe_bth_se(bth));
	cr_assert_not(srxe_bth_mig(bth));
	cr_assert_not(srxe_bth_ackreq(bth));
}

Test(wire_layout, extension_headers_are_big_endian)
{
	uint8_t h[SRXE_ATOMICETH_LEN];
	static const uint8_t reth[] = { 1,    2,    3,	  4,	5, 6, 7,    8,
					0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0x10, 0 };

	memcpy(h, reth, sizeof(reth));
	cr_assert_eq(srxe_reth_va(h), 0x0102030405060708ull);
	cr_assert_eq(srxe_reth_rkey(h), 0xaabbccdd);
	cr_assert_eq(srxe_reth_len(h), 4096);

	memset(h, 0, sizeof(h));
	srxe_aeth_set_syndrome(h, SRXE_AETH_NAK_REM_ACCESS);
	srxe_aeth_set_msn(h, 0x010203);
	cr_assert_eq(memcmp(h, "\x62\x01\x02\x03", 4), 0);

	memset(h, 0xee, sizeof(h));
	srxe_deth_set_qkey(h, 0x80010000);
	srxe_deth_set_sqpn(h, 1);
	cr_assert_eq(memcmp(h, "\x80\x01\x00\x00\x00\x00\x00\x01", 8), 0);
	cr_assert_eq(srxe_deth_sqpn(h), 1);

	srxe_atmeth_set_va(h, 0x1122334455667788ull);
	srxe_atmeth_set_rkey(h, 0x99aabbcc);
	srxe_atmeth_set_swap_add(h, 1);
	srxe_atmeth_set_compare(h, 0xfedcba9876543210ull);
	cr_assert_eq(h[0], 0x11);
	cr_assert_eq(h[11], 0xcc);
	cr_assert_eq(h[19], 0x01);
	cr_assert_eq(h[20], 0xfe);
	cr_assert_eq(srxe_atmeth_compare(h), 0xfedcba9876543210ull);
	cr_assert_eq(srxe_atmeth_swap_add(h), 1);

	srxe_icrc_set_trailer(h, 0x52061a18);
	cr_assert_eq(memcmp(h, "\x18\x1a\x06\x52", 4), 0);
	cr_assert_eq(srxe_icrc_trailer(h), 0x52061a18);
}
