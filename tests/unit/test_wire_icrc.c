// SPDX-License-Identifier: MIT
/*
 * CRC-32 and ICRC: known answers, an independent bit-by-bit reference
 * written from the specification (DESIGN.md section 4), the masking rules
 * on constructed IPv4 and IPv6 packets, and robustness of the receive
 * decoder against garbage and truncated real frames (run under ASan).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/golden_frames.h"
#include "engine/packet/decode.h"
#include "engine/packet/icrc.h"
#include "engine/packet/wire.h"

#define UDP_HDR_LEN 8
#define IPV6_LEN    40
#define IPV4_LEN    20

static uint64_t rng_state;

static uint32_t rnd32(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static void rnd_fill(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)rnd32();
}

/* ---- reference: bitwise CRC, explicit masked copy ---- */

static uint32_t ref_crc_bits(uint32_t reg, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		reg ^= p[i];
		for (int b = 0; b < 8; b++)
			reg = reg & 1 ? (reg >> 1) ^ 0xedb88320u : reg >> 1;
	}
	return reg;
}

/* ICRC straight from the rules: build the whole masked packet. */
static uint32_t ref_icrc(const uint8_t *ip, size_t ip_len, const uint8_t *udp,
			 size_t covered)
{
	size_t total = 8 + ip_len + covered;
	uint8_t *buf = malloc(total);
	uint32_t crc;

	cr_assert_not_null(buf);
	memset(buf, 0xff, 8);
	memcpy(buf + 8, ip, ip_len);
	memcpy(buf + 8 + ip_len, udp, covered);
	if ((ip[0] >> 4) == 4) {
		buf[8 + 1] = 0xff;		  /* TOS */
		buf[8 + 8] = 0xff;		  /* TTL */
		buf[8 + 10] = buf[8 + 11] = 0xff; /* checksum */
	} else {
		buf[8] |= 0x0f; /* TC high nibble */
		buf[8 + 1] = buf[8 + 2] = buf[8 + 3] = 0xff; /* TC, flow */
		buf[8 + 7] = 0xff;			     /* hop limit */
	}
	buf[8 + ip_len + 6] = buf[8 + ip_len + 7] = 0xff; /* UDP checksum */
	buf[8 + ip_len + 8 + 4] = 0xff;			  /* BTH resv8a */
	crc = ~ref_crc_bits(~0u, buf, total);
	free(buf);
	return crc;
}

Test(wire_icrc, crc32_known_answers)
{
	cr_assert_eq(srxe_crc32(0, "123456789", 9), 0xcbf43926u);
	cr_assert_eq(srxe_crc32(0, "", 0), 0);
	cr_assert_eq(srxe_crc32(0, "a", 1), 0xe8b7be43u);
	cr_assert_eq(srxe_crc32(0,
				"The quick brown fox jumps over the lazy dog",
				43),
		     0x414fa339u);
}

Test(wire_icrc, crc32_matches_bitwise_reference_and_chains)
{
	static uint8_t buf[5000];

	rng_state = 0x9e3779b97f4a7c15ull;
	rnd_fill(buf, sizeof(buf));
	for (size_t len = 0; len < sizeof(buf); len += 1 + len / 3) {
		uint32_t whole = srxe_crc32(0, buf, len);
		size_t cut = len ? rnd32() % len : 0;

		cr_assert_eq(whole, ~ref_crc_bits(~0u, buf, len), "len %zu",
			     len);
		cr_assert_eq(srxe_crc32(srxe_crc32(0, buf, cut), buf + cut,
					len - cut),
			     whole);
		/* Unaligned starts take the same path. */
		if (len > 3)
			cr_assert_eq(srxe_crc32(0, buf + 3, len - 3),
				     ~ref_crc_bits(~0u, buf + 3, len - 3));
	}
}

Test(wire_icrc, golden_frames_match_the_reference, .init = golden_load,
     .fini = golden_free)
{
	for (size_t i = 0; i < GOLDEN_FRAMES; i++) {
		const struct srxe_frame_view *v = &golden[i].view;
		size_t covered = v->udp_len - SRXE_ICRC_LEN;
		uint32_t icrc;

		cr_assert_eq(srxe_icrc_compute(v->ip, v->ip_len, v->udp,
					       covered, &icrc),
			     0);
		cr_assert_eq(icrc, ref_icrc(v->ip, v->ip_len, v->udp, covered));
		cr_assert_eq(icrc, srxe_icrc_trailer(v->udp + covered));
	}
}

/* ---- constructed packets ---- */

struct test_pkt {
	uint8_t ip[IPV6_LEN];
	size_t ip_len;
	uint8_t *udp; /* exact-size heap block */
	size_t udp_len;
};

/* UDP | BTH (RC Send Only, A=1, pad) | payload | pad | ICRC. */
static void build_udp(struct test_pkt *t, size_t payload)
{
	uint8_t pad = (uint8_t)(-payload & 3);
	uint8_t *bth;

	t->udp_len = UDP_HDR_LEN + SRXE_BTH_LEN + payload + pad + SRXE_ICRC_LEN;
	t->udp = calloc(1, t->udp_len);
	cr_assert_not_null(t->udp);
	srxe_put_be16(t->udp, 0xc011);
	srxe_put_be16(t->udp + 2, SRXE_ROCE_UDP_PORT);
	srxe_put_be16(t->udp + 4, (uint16_t)t->udp_len);
	bth = t->udp + UDP_HDR_LEN;
	srxe_bth_set_opcode(bth, SRXE_OP_RC_SEND_ONLY);
	srxe_bth_set_pad(bth, pad);
	srxe_bth_set_pkey(bth, 0xffff);
	srxe_bth_set_dqpn(bth, 0x123456);
	srxe_bth_set_ackreq(bth, true);
	srxe_bth_set_psn(bth, 0xabcdef);
	rnd_fill(bth + SRXE_BTH_LEN, payload);
}

static void build_ipv6(struct test_pkt *t, size_t payload)
{
	static const uint8_t src[16] = { 0xfe, 0x80, [15] = 1 };
	static const uint8_t dst[16] = { 0xfe, 0x80, [15] = 2 };

	build_udp(t, payload);
	t->ip_len = IPV6_LEN;
	memset(t->ip, 0, sizeof(t->ip));
	t->ip[0] = 0x61; /* version 6, TC 0x12 ... */
	t->ip[1] = 0x2a; /* ... flow label 0xabcde */
	t->ip[2] = 0xbc;
	t->ip[3] = 0xde;
	srxe_put_be16(t->ip + 4, (uint16_t)t->udp_len);
	t->ip[6] = 17;
	t->ip[7] = 64;
	memcpy(t->ip + 8, src, 16);
	memcpy(t->ip + 24, dst, 16);
	cr_assert_eq(srxe_icrc_seal(t->ip, t->ip_len, t->udp, t->udp_len), 0);
}

static void build_ipv4(struct test_pkt *t, size_t payload)
{
	build_udp(t, payload);
	t->ip_len = IPV4_LEN;
	memset(t->ip, 0, sizeof(t->ip));
	t->ip[0] = 0x45;
	t->ip[1] = 0x02; /* ECN capable */
	srxe_put_be16(t->ip + 2, (uint16_t)(IPV4_LEN + t->udp_len));
	srxe_put_be16(t->ip + 4, 0x1234);
	t->ip[6] = 0x40; /* DF */
	t->ip[8] = 64;
	t->ip[9] = 17;
	srxe_put_be32(t->ip + 12, 0x0a000001);
	srxe_put_be32(t->ip + 16, 0x0a000002);
	cr_assert_eq(srxe_icrc_seal(t->ip, t->ip_len, t->udp, t->udp_len), 0);
}

static enum srxe_rx_reason decode_test_pkt(const struct test_pkt *t)
{
	struct srxe_pkt pkt;

	return srxe_decode_udp(t->ip, t->ip_len, t->udp, t->udp_len, &pkt);
}

/* Flip @mask at IP byte @off; the decode result; flip back. */
static enum srxe_rx_reason with_ip_flip(struct test_pkt *t, size_t off,
					uint8_t mask)
{
	enum srxe_rx_reason r;

	t->ip[off] ^= mask;
	r = decode_test_pkt(t);
	t->ip[off] ^= mask;
	return r;
}

Test(wire_icrc, ipv6_packet_round_trip_and_reference)
{
	rng_state = 42;
	for (size_t payload = 0; payload < 300; payload += 7) {
		struct test_pkt t;
		struct srxe_pkt pkt;
		size_t covered;

		build_ipv6(&t, payload);
		covered = t.udp_len - SRXE_ICRC_LEN;
		cr_assert_eq(srxe_icrc_trailer(t.udp + covered),
			     ref_icrc(t.ip, t.ip_len, t.udp, covered));
		cr_assert_eq(
			srxe_decode_udp(t.ip, t.ip_len, t.udp, t.udp_len, &pkt),
			SRXE_RX_OK);
		cr_assert_eq(pkt.payload_len, payload);
		cr_assert_eq(pkt.dqpn, 0x123456);
		free(t.udp);
	}
}

Test(wire_icrc, ipv6_masked_fields_are_ignored_the_rest_is_covered)
{
	struct test_pkt t;

	rng_state = 7;
	build_ipv6(&t, 100);
	cr_assert_eq(decode_test_pkt(&t), SRXE_RX_OK);
	/* Traffic class (both nibbles), flow label, hop limit: any value. */
	for (uint8_t bit = 0; bit < 8; bit++) {
		cr_assert_eq(with_ip_flip(&t, 1, 1u << bit), SRXE_RX_OK);
		cr_assert_eq(with_ip_flip(&t, 2, 1u << bit), SRXE_RX_OK);
		cr_assert_eq(with_ip_flip(&t, 3, 1u << bit), SRXE_RX_OK);
		cr_assert_eq(with_ip_flip(&t, 7, 1u << bit), SRXE_RX_OK);
	}
	for (uint8_t bit = 0; bit < 4; bit++)
		cr_assert_eq(with_ip_flip(&t, 0, 1u << bit), SRXE_RX_OK);
	/* Version: no longer IPv6 of 40 bytes. */
	cr_assert_eq(with_ip_flip(&t, 0, 0x10), SRXE_RX_BAD_IP);
	/* Payload length, next header, addresses: covered. */
	for (size_t off = 4; off < IPV6_LEN; off++)
		if (off != 7)
			cr_assert_eq(with_ip_flip(&t, off, 0x01),
				     SRXE_RX_BAD_ICRC, "byte %zu", off);
	free(t.udp);
}

Test(wire_icrc, ipv4_masked_fields_are_ignored_the_rest_is_covered)
{
	struct test_pkt t;

	rng_state = 8;
	build_ipv4(&t, 33);
	cr_assert_eq(decode_test_pkt(&t), SRXE_RX_OK);
	for (size_t off = 1; off < IPV4_LEN; off++) {
		bool masked = off == 1 || off == 8 || off == 10 || off == 11;

		for (uint8_t bit = 0; bit < 8; bit++)
			cr_assert_eq(with_ip_flip(&t, off, 1u << bit),
				     masked ? SRXE_RX_OK : SRXE_RX_BAD_ICRC,
				     "byte %zu bit %u", off, bit);
	}
	free(t.udp);
}

/* Headers in one block (IPv4 right before UDP, as on the wire) take the
 * register-built masked prefix; headers apart take the byte-wise one.
 * Both must agree for every bit of the 40 header bytes, and ignore
 * exactly the masked ones (TOS, TTL, IP and UDP checksums, BTH resv8a). */
Test(wire_icrc, contiguous_ipv4_headers_match_the_bytewise_prefix)
{
	struct test_pkt t;
	uint8_t *block;
	size_t covered;
	uint32_t base, icrc, apart;

	rng_state = 9;
	build_ipv4(&t, 64);
	covered = t.udp_len - SRXE_ICRC_LEN;
	block = malloc(IPV4_LEN + t.udp_len);
	cr_assert_not_null(block);
	memcpy(block, t.ip, IPV4_LEN);
	memcpy(block + IPV4_LEN, t.udp, t.udp_len);
	cr_assert_eq(srxe_icrc_compute(block, IPV4_LEN, block + IPV4_LEN,
				       covered, &base),
		     0);
	cr_assert_eq(base, srxe_icrc_trailer(t.udp + covered));
	for (size_t off = 0; off < IPV4_LEN + UDP_HDR_LEN + SRXE_BTH_LEN;
	     off++) {
		bool masked = off == 1 || off == 8 || off == 10 || off == 11 ||
			      off == 26 || off == 27 || off == 32;

		for (uint8_t bit = 0; bit < 8; bit++) {
			block[off] ^= (uint8_t)(1u << bit);
			memcpy(t.ip, block, IPV4_LEN);
			memcpy(t.udp, block + IPV4_LEN, t.udp_len);
			if (srxe_icrc_compute(block, IPV4_LEN, block + IPV4_LEN,
					      covered, &icrc)) {
				/* version or IHL: no longer a 20-byte IPv4 */
				cr_assert(off == 0, "byte %zu", off);
			} else {
				cr_assert_eq(srxe_icrc_compute(t.ip, IPV4_LEN,
							       t.udp, covered,
							       &apart),
					     0);
				cr_assert_eq(icrc, apart, "byte %zu bit %u",
					     off, bit);
				cr_assert_eq(icrc == base, masked,
					     "byte %zu bit %u", off, bit);
			}
			block[off] ^= (uint8_t)(1u << bit);
		}
	}
	free(block);
	free(t.udp);
}

Test(wire_icrc, ipv4_options_are_covered)
{
	struct test_pkt t;
	uint8_t ip[24];

	rng_state = 9;
	build_ipv4(&t, 8);
	memcpy(ip, t.ip, IPV4_LEN);
	ip[0] = 0x46;
	srxe_put_be16(ip + 2, (uint16_t)(sizeof(ip) + t.udp_len));
	srxe_put_be32(ip + 20, 0x01010100); /* NOP NOP NOP EOL */
	cr_assert_eq(srxe_icrc_seal(ip, sizeof(ip), t.udp, t.udp_len), 0);
	cr_assert_eq(srxe_icrc_trailer(t.udp + t.udp_len - 4),
		     ref_icrc(ip, sizeof(ip), t.udp, t.udp_len - 4));
	cr_assert(srxe_icrc_valid(ip, sizeof(ip), t.udp, t.udp_len));
	ip[21] ^= 1;
	cr_assert_not(srxe_icrc_valid(ip, sizeof(ip), t.udp, t.udp_len));
	free(t.udp);
}

Test(wire_icrc, unusable_ip_headers_are_refused)
{
	uint8_t ip[IPV6_LEN] = { 0x45 };
	uint8_t udp[64] = { 0 };
	uint32_t icrc;

	cr_assert_eq(srxe_icrc_compute(ip, 24, udp, 32, &icrc), -EINVAL);
	cr_assert_eq(srxe_icrc_compute(ip, 20, udp, 19, &icrc), -EINVAL);
	ip[0] = 0x44; /* IHL below 5 */
	cr_assert_eq(srxe_icrc_compute(ip, 16, udp, 32, &icrc), -EINVAL);
	ip[0] = 0x60;
	cr_assert_eq(srxe_icrc_compute(ip, 20, udp, 32, &icrc), -EINVAL);
	ip[0] = 0x50;
	cr_assert_eq(srxe_icrc_compute(ip, 20, udp, 32, &icrc), -EINVAL);
	cr_assert_not(srxe_icrc_valid(ip, 0, udp, 64));
	cr_assert_not(srxe_icrc_valid(NULL, 0, udp, 64));
}

/* ---- robustness ---- */

static void assert_pkt_in_bounds(const struct srxe_pkt *pkt, const uint8_t *buf,
				 size_t len)
{
	cr_assert_not_null(pkt->op);
	cr_assert(pkt->payload >= buf + pkt->op->hdr_len);
	cr_assert(pkt->payload + pkt->payload_len + pkt->pad + SRXE_ICRC_LEN ==
		  buf + len);
}

/* Copy to an exact-size heap block so ASan sees any overread. */
static uint8_t *dup_exact(const uint8_t *p, size_t len)
{
	uint8_t *q = malloc(len ? len : 1);

	cr_assert_not_null(q);
	memcpy(q, p, len);
	return q;
}

Test(wire_icrc, random_garbage_never_crashes_and_is_rejected)
{
	static uint8_t src[2048];
	unsigned int reasons[SRXE_RX_REASON_COUNT] = { 0 };

	rng_state = 0xdecafbad;
	for (int iter = 0; iter < 200000; iter++) {
		size_t len = iter % 4 ? rnd32() % 96 : rnd32() % sizeof(src);
		size_t ip_len = rnd32() % 64;
		uint8_t *buf, *ip;
		struct srxe_pkt pkt;
		enum srxe_rx_reason r;

		rnd_fill(src, sizeof(src));
		/* Half the time make the headers plausible, so the checks
		 * after the first ones are reached too. */
		if (iter & 1) {
			src[0] = (uint8_t)(src[0] & 0x3f); /* RC/UC opcodes */
			src[1] &= 0xf0;			   /* TVer 0 */
		}
		buf = dup_exact(src, len);
		r = srxe_decode_roce(buf, len, &pkt);
		cr_assert_lt((unsigned int)r, SRXE_RX_REASON_COUNT);
		if (r == SRXE_RX_OK)
			assert_pkt_in_bounds(&pkt, buf, len);
		reasons[r]++;

		ip = dup_exact(src + 1024, ip_len);
		if (ip_len && (iter & 1))
			ip[0] = (uint8_t)(iter & 2 ? 0x45 : 0x60);
		r = srxe_decode_udp(ip, ip_len, buf, len, &pkt);
		cr_assert_neq(r, SRXE_RX_OK, "iteration %d", iter);
		cr_assert_lt((unsigned int)r, SRXE_RX_REASON_COUNT);
		free(ip);
		free(buf);
	}
	/* The structured half must reach every transport check. */
	for (int r = SRXE_RX_TOO_SHORT; r < SRXE_RX_REASON_COUNT; r++)
		if (r != SRXE_RX_BAD_IP && r != SRXE_RX_BAD_UDP &&
		    r != SRXE_RX_BAD_ICRC)
			cr_assert_gt(reasons[r], 0, "%s never seen",
				     srxe_rx_reason_name(r));
}

static void check_truncation(const struct srxe_frame_view *v, size_t len)
{
	uint8_t *udp = dup_exact(v->udp, len);
	struct srxe_pkt pkt;
	enum srxe_rx_reason r;

	r = srxe_decode_udp(v->ip, v->ip_len, udp, len, &pkt);
	cr_assert_neq(r, SRXE_RX_OK, "len %zu", len);
	cr_assert_lt((unsigned int)r, SRXE_RX_REASON_COUNT);
	free(udp);
}

Test(wire_icrc, truncated_real_frames_are_rejected, .init = golden_load,
     .fini = golden_free)
{
	for (size_t i = 0; i < GOLDEN_FRAMES; i++) {
		const struct srxe_frame_view *v = &golden[i].view;
		size_t len = v->udp_len;

		/* Every short length, then a stride, then the last bytes. */
		for (size_t l = 0; l < len && l < 96; l++)
			check_truncation(v, l);
		for (size_t l = 96; l + 8 < len; l += 97)
			check_truncation(v, l);
		for (size_t l = len > 8 ? len - 8 : 0; l < len; l++)
			check_truncation(v, l);
	}
}

Test(wire_icrc, truncated_transport_headers_are_too_short, .init = golden_load,
     .fini = golden_free)
{
	for (size_t i = 0; i < GOLDEN_FRAMES; i++) {
		const struct srxe_frame_view *v = &golden[i].view;
		const uint8_t *bth = v->udp + UDP_HDR_LEN;
		size_t full = v->udp_len - UDP_HDR_LEN;
		struct srxe_pkt pkt;
		size_t min;

		cr_assert_eq(srxe_decode_roce(bth, full, &pkt), SRXE_RX_OK);
		min = pkt.op->hdr_len + SRXE_ICRC_LEN;
		for (size_t l = 0; l < min; l++) {
			uint8_t *b = dup_exact(bth, l);

			cr_assert_eq(srxe_decode_roce(b, l, &pkt),
				     SRXE_RX_TOO_SHORT, "frame %zu len %zu",
				     i + 1, l);
			free(b);
		}
	}
}

Test(wire_icrc, truncated_ethernet_frames_never_overread, .init = golden_load,
     .fini = golden_free)
{
	for (size_t i = 0; i < GOLDEN_FRAMES; i += 7) {
		const struct golden_frame *g = &golden[i];

		for (size_t l = 0; l < g->len; l += l < 80 ? 1 : 61) {
			uint8_t *f = dup_exact(g->data, l);
			struct srxe_frame_view v;
			int ret = srxe_frame_locate_eth(f, l, &v);

			/* The IP header claims more than is there. */
			cr_assert_eq(ret, -EINVAL, "frame %zu len %zu", i + 1,
				     l);
			free(f);
		}
	}
}

Test(wire_icrc, resealed_mutations_exercise_the_transport_checks,
     .init = golden_load, .fini = golden_free)
{
	rng_state = 0x5eed;
	for (int iter = 0; iter < 20000; iter++) {
		const struct golden_frame *g = &golden[rnd32() % GOLDEN_FRAMES];
		const struct srxe_frame_view *v = &g->view;
		uint8_t *udp = dup_exact(v->udp, v->udp_len);
		struct srxe_pkt pkt;
		enum srxe_rx_reason r;

		/* Damage a few BTH/extension bytes, then fix the ICRC: the
		 * structural checks must cope on their own. */
		for (int k = 0; k < 1 + iter % 4; k++)
			udp[UDP_HDR_LEN + rnd32() % 40 % (v->udp_len - 12)] =
				(uint8_t)rnd32();
		cr_assert_eq(srxe_icrc_seal(v->ip, v->ip_len, udp, v->udp_len),
			     0);
		r = srxe_decode_udp(v->ip, v->ip_len, udp, v->udp_len, &pkt);
		cr_assert_lt((unsigned int)r, SRXE_RX_REASON_COUNT);
		cr_assert_neq(r, SRXE_RX_BAD_ICRC);
		if (r == SRXE_RX_OK)
			assert_pkt_in_bounds(&pkt, udp + UDP_HDR_LEN,
					     v->udp_len - UDP_HDR_LEN);
		free(udp);
	}
}
