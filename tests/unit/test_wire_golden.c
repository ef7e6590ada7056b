// SPDX-License-Identifier: MIT
/*
 * Issue #5, "Must show 0": the receive decoder and the ICRC check against
 * the 402 frames two Linux kernel rdma_rxe peers exchanged
 * (tests/data/rxe-6.1-golden.README.md).
 */
#include <criterion/criterion.h>

#include "../tools/golden_frames.h"
#include "engine/packet/decode.h"
#include "engine/packet/icrc.h"
#include "engine/packet/wire.h"

#define UDP_HDR_LEN 8

TestSuite(wire_golden, .init = golden_load, .fini = golden_free);

static enum srxe_rx_reason decode_frame(const struct golden_frame *g,
					struct srxe_pkt *pkt)
{
	return srxe_decode_udp(g->view.ip, g->view.ip_len, g->view.udp,
			       g->view.udp_len, pkt);
}

Test(wire_golden, every_frame_decodes_and_its_icrc_is_accepted)
{
	for (size_t i = 0; i < GOLDEN_FRAMES; i++) {
		const struct golden_frame *g = &golden[i];
		struct srxe_pkt pkt;
		uint32_t icrc;
		enum srxe_rx_reason r = decode_frame(g, &pkt);

		cr_assert_eq(r, SRXE_RX_OK, "frame %zu: %s", i + 1,
			     srxe_rx_reason_name(r));
		cr_assert(srxe_icrc_valid(g->view.ip, g->view.ip_len,
					  g->view.udp, g->view.udp_len));
		cr_assert_eq(srxe_icrc_compute(
				     g->view.ip, g->view.ip_len, g->view.udp,
				     g->view.udp_len - SRXE_ICRC_LEN, &icrc),
			     0);
		cr_assert_eq(icrc, pkt.icrc, "frame %zu", i + 1);
		/* Payload + pad + ICRC end exactly at the datagram's end. */
		cr_assert_eq(pkt.payload + pkt.payload_len + pkt.pad +
				     SRXE_ICRC_LEN,
			     g->view.udp + g->view.udp_len);
	}
}

Test(wire_golden, icrc_known_answer_frame_1)
{
	struct srxe_pkt pkt;

	/* README: "the CRC value 0x52061a18 appears as bytes 18 1a 06 52". */
	cr_assert_eq(decode_frame(&golden[0], &pkt), SRXE_RX_OK);
	cr_assert_eq(pkt.icrc, 0x52061a18u);
	cr_assert_eq(golden[0].data[golden[0].len - 4], 0x18);
	cr_assert_eq(golden[0].data[golden[0].len - 1], 0x52);
}

/* The README's "Contents" table, by BTH opcode (CM MADs are UD Send Only
 * to QP 1). */
static const struct {
	uint8_t opcode;
	const char *name;
	unsigned int count;
} readme_counts[] = {
	{ 0x11, "RC Acknowledge", 56 },
	{ 0x12, "RC Atomic Acknowledge", 16 },
	{ 0x13, "RC Compare Swap", 8 },
	{ 0x14, "RC Fetch Add", 8 },
	{ 0x0c, "RC RDMA Read Request", 24 },
	{ 0x0d, "RC RDMA Read Response First", 16 },
	{ 0x0f, "RC RDMA Read Response Last", 16 },
	{ 0x0e, "RC RDMA Read Response Middle", 24 },
	{ 0x10, "RC RDMA Read Response Only", 8 },
	{ 0x06, "RC RDMA Write First", 16 },
	{ 0x08, "RC RDMA Write Last", 16 },
	{ 0x07, "RC RDMA Write Middle", 24 },
	{ 0x0a, "RC RDMA Write Only", 8 },
	{ 0x00, "RC Send First", 16 },
	{ 0x02, "RC Send Last", 16 },
	{ 0x01, "RC Send Middle", 24 },
	{ 0x04, "RC Send Only", 16 },
	{ 0x26, "UC RDMA Write First", 8 },
	{ 0x28, "UC RDMA Write Last", 8 },
	{ 0x27, "UC RDMA Write Middle", 16 },
	{ 0x20, "UC Send First", 8 },
	{ 0x22, "UC Send Last", 8 },
	{ 0x21, "UC Send Middle", 16 },
	{ 0x64, "UD Send Only", 16 + 10 },
};

Test(wire_golden, per_opcode_counts_match_the_readme)
{
	unsigned int seen[256] = { 0 }, expected[256] = { 0 };
	unsigned int cm = 0;

	for (size_t i = 0; i < GOLDEN_FRAMES; i++) {
		struct srxe_pkt pkt;

		cr_assert_eq(decode_frame(&golden[i], &pkt), SRXE_RX_OK);
		seen[pkt.opcode]++;
		if (pkt.opcode == SRXE_OP_UD_SEND_ONLY && pkt.dqpn == 1)
			cm++;
	}
	for (size_t i = 0; i < sizeof(readme_counts) / sizeof(readme_counts[0]);
	     i++) {
		const struct srxe_opcode_info *op =
			srxe_opcode_info(readme_counts[i].opcode);

		cr_assert_not_null(op);
		cr_assert_str_eq(op->name, readme_counts[i].name);
		expected[readme_counts[i].opcode] = readme_counts[i].count;
	}
	for (int op = 0; op < 256; op++)
		cr_assert_eq(seen[op], expected[op],
			     "opcode 0x%02x: %u, not %u", op, seen[op],
			     expected[op]);
	cr_assert_eq(cm, 10, "CM MADs to QP 1");
}

/* README "Packet format notes": frame sizes fix the header lengths. */
Test(wire_golden, frame_sizes_match_the_readme)
{
	for (size_t i = 0; i < GOLDEN_FRAMES; i++) {
		struct srxe_pkt pkt;
		size_t want = 0;

		cr_assert_eq(decode_frame(&golden[i], &pkt), SRXE_RX_OK);
		switch (pkt.opcode) {
		case SRXE_OP_RC_ACKNOWLEDGE:
			want = 62;
			break;
		case SRXE_OP_RC_ATOMIC_ACKNOWLEDGE:
			want = 70;
			break;
		case SRXE_OP_RC_COMPARE_SWAP:
		case SRXE_OP_RC_FETCH_ADD:
			want = 86;
			break;
		case SRXE_OP_RC_READ_REQUEST:
			want = 74;
			break;
		case SRXE_OP_RC_WRITE_ONLY:
			want = pkt.payload_len == 2 ? 78 : 0;
			break;
		case SRXE_OP_RC_READ_RESPONSE_ONLY:
			want = pkt.payload_len == 2 ? 66 : 0;
			break;
		}
		if (want)
			cr_assert_eq(golden[i].len, want, "frame %zu", i + 1);
	}
}

/* README "Header fields, the same in every frame". */
Test(wire_golden, constant_header_fields)
{
	for (size_t i = 0; i < GOLDEN_FRAMES; i++) {
		struct srxe_pkt pkt;
		const struct srxe_opcode_info *op;

		cr_assert_eq(decode_frame(&golden[i], &pkt), SRXE_RX_OK);
		op = pkt.op;
		cr_assert_eq(pkt.pkey, 0xffff);
		cr_assert_eq(pkt.tver, 0);
		cr_assert_not(pkt.mig);
		cr_assert_not(pkt.se);
		if (op->transport == SRXE_TRANSPORT_RC &&
		    (op->flags & SRXE_OPF_REQUEST))
			cr_assert_eq(pkt.ackreq,
				     !!(op->flags & SRXE_OPF_ACKREQ),
				     "frame %zu %s", i + 1, op->name);
		if (op->flags & SRXE_OPF_ACK)
			cr_assert_eq(pkt.aeth.syndrome,
				     SRXE_AETH_ACK | SRXE_AETH_CREDITS_INVALID);
		if (pkt.opcode == SRXE_OP_UD_SEND_ONLY)
			cr_assert(pkt.dqpn == 1
					  ? pkt.deth.qkey == 0x80010000u &&
						    pkt.deth.sqpn == 1
					  : pkt.deth.qkey == 0x11111111u);
	}
}

static enum srxe_rx_reason decode_flipped(struct golden_frame *g, size_t off,
					  uint8_t bit)
{
	struct srxe_pkt pkt;
	enum srxe_rx_reason r;

	g->data[off] ^= (uint8_t)(1u << bit);
	r = decode_frame(g, &pkt);
	g->data[off] ^= (uint8_t)(1u << bit);
	return r;
}

/* The variant fields, as frame offsets. */
static bool is_masked(const struct golden_frame *g, size_t off)
{
	size_t ip = golden_ip_off(g), udp = golden_udp_off(g);

	return off == ip + 1 ||			   /* TOS */
	       off == ip + 8 ||			   /* TTL */
	       off == ip + 10 || off == ip + 11 || /* header checksum */
	       off == udp + 6 || off == udp + 7 || /* UDP checksum */
	       off == udp + UDP_HDR_LEN + 4;	   /* BTH resv8a */
}

static void assert_flip_rejected(struct golden_frame *g, size_t i, size_t off,
				 uint8_t bit)
{
	enum srxe_rx_reason r = decode_flipped(g, off, bit);

	/* Byte 0 holds the IP version and IHL, which decide how the ICRC is
	 * computed at all; anything else is caught by the ICRC. */
	if (off == golden_ip_off(g))
		cr_assert_neq(r, SRXE_RX_OK, "frame %zu byte %zu", i + 1, off);
	else
		cr_assert_eq(r, SRXE_RX_BAD_ICRC,
			     "frame %zu byte %zu bit %u: %s", i + 1, off, bit,
			     srxe_rx_reason_name(r));
}

Test(wire_golden, one_flipped_bit_in_covered_headers_is_bad_icrc)
{
	for (size_t i = 0; i < GOLDEN_FRAMES; i++) {
		struct golden_frame *g = &golden[i];
		struct srxe_pkt pkt;
		size_t hdr_end;

		cr_assert_eq(decode_frame(g, &pkt), SRXE_RX_OK);
		/* IP, UDP, BTH and extension headers: every bit. */
		hdr_end = golden_udp_off(g) + UDP_HDR_LEN + pkt.op->hdr_len;
		for (size_t off = golden_ip_off(g); off < hdr_end; off++)
			for (uint8_t bit = 0; bit < 8; bit++)
				if (!is_masked(g, off))
					assert_flip_rejected(g, i, off, bit);
	}
}

Test(wire_golden, one_flipped_bit_in_payload_pad_or_icrc_is_bad_icrc)
{
	for (size_t i = 0; i < GOLDEN_FRAMES; i++) {
		struct golden_frame *g = &golden[i];
		struct srxe_pkt pkt;
		size_t data_off, data_len, icrc_off = g->len - SRXE_ICRC_LEN;

		cr_assert_eq(decode_frame(g, &pkt), SRXE_RX_OK);
		data_off = (size_t)(pkt.payload - g->data);
		data_len = pkt.payload_len + pkt.pad;
		/* ~17 places spread over payload and pad, each bit once. */
		for (size_t k = 0; data_len && k <= 16; k++) {
			size_t off = data_off + k * (data_len - 1) / 16;

			assert_flip_rejected(g, i, off, (uint8_t)(k % 8));
		}
		for (size_t off = icrc_off; off < g->len; off++)
			for (uint8_t bit = 0; bit < 8; bit++)
				assert_flip_rejected(g, i, off, bit);
	}
}

Test(wire_golden, flipped_bits_in_masked_fields_keep_the_icrc_valid)
{
	for (size_t i = 0; i < GOLDEN_FRAMES; i++) {
		struct golden_frame *g = &golden[i];
		size_t end = golden_udp_off(g) + UDP_HDR_LEN + SRXE_BTH_LEN;
		unsigned int masked = 0;

		for (size_t off = golden_ip_off(g); off < end; off++) {
			if (!is_masked(g, off))
				continue;
			masked++;
			for (uint8_t bit = 0; bit < 8; bit++)
				cr_assert_eq(decode_flipped(g, off, bit),
					     SRXE_RX_OK, "frame %zu byte %zu",
					     i + 1, off);
		}
		cr_assert_eq(masked, 7);
	}
}
