// SPDX-License-Identifier: MIT
/*
 * RoCEv2 over IPv6 against the Linux kernel's soft-RoCE: the ten frames
 * of tests/data/rxe-6.1-ipv6.pcap were sent by kernel rdma_rxe (6.1) over
 * IPv6 link-local GIDs to srxe (rxe-6.1-ipv6.README.md).  srxe's decoder
 * must accept them with their ICRCs as the kernel computed them (IBA
 * A17 masking of traffic class, flow label and hop limit), and the same
 * rules must hold for headers srxe builds itself (iphdr.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "engine/packet/decode.h"
#include "engine/packet/icrc.h"
#include "engine/packet/iphdr.h"
#include "engine/packet/netframe.h"
#include "engine/packet/pcap.h"
#include "engine/packet/wire.h"

#define NFRAMES	    10
#define UDP_HDR_LEN 8

static uint8_t frames[NFRAMES][2048];
static size_t lens[NFRAMES];

static void load(void)
{
	struct srxe_pcap_reader r;
	struct srxe_pcap_record rec;
	FILE *f = fopen(SRXE_TEST_DATA "/rxe-6.1-ipv6.pcap", "rb");
	int n = 0;

	cr_assert_not_null(f);
	cr_assert_eq(srxe_pcap_reader_open(&r, f), 0);
	while (srxe_pcap_next(&r, &rec) == 1) {
		cr_assert_lt(n, NFRAMES);
		cr_assert_leq(rec.len, sizeof(frames[0]));
		memcpy(frames[n], rec.data, rec.len);
		lens[n++] = rec.len;
	}
	srxe_pcap_reader_close(&r);
	cr_assert_eq(n, NFRAMES);
}

TestSuite(wire_ipv6, .init = load);

static struct srxe_frame_view view_of(int i)
{
	struct srxe_frame_view v;

	cr_assert_eq(srxe_frame_locate_eth(frames[i], lens[i], &v), 0);
	cr_assert_eq(v.ip_len, SRXE_IPV6_HDR_LEN, "frame %d is IPv6", i + 1);
	return v;
}

Test(wire_ipv6, kernel_rxe_frames_decode_with_their_icrc)
{
	static const uint8_t opcodes[NFRAMES] = {
		0x11, 0x00, 0x01, 0x01, 0x02, 0x11, 0x00, 0x02, 0x64, 0x64
	};

	for (int i = 0; i < NFRAMES; i++) {
		struct srxe_frame_view v = view_of(i);
		struct srxe_pkt pkt;
		enum srxe_rx_reason r =
			srxe_decode_udp(v.ip, v.ip_len, v.udp, v.udp_len, &pkt);

		cr_assert_eq(r, SRXE_RX_OK, "frame %d: %s", i + 1,
			     srxe_rx_reason_name(r));
		cr_assert_eq(pkt.opcode, opcodes[i], "frame %d", i + 1);
	}
}

/* Frame 1's ICRC as the kernel wrote it (little-endian on the wire). */
Test(wire_ipv6, icrc_known_answer_frame_1)
{
	struct srxe_frame_view v = view_of(0);
	const uint8_t *t = v.udp + v.udp_len - SRXE_ICRC_LEN;
	uint32_t icrc;

	cr_assert_eq(srxe_icrc_compute(v.ip, v.ip_len, v.udp,
				       v.udp_len - SRXE_ICRC_LEN, &icrc),
		     0);
	cr_assert_eq(icrc, (uint32_t)t[0] | (uint32_t)t[1] << 8 |
				   (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24);
}

/* Routers may change traffic class, flow label and hop limit (masked);
 * anything else in the IPv6 header is covered. */
Test(wire_ipv6, masked_and_covered_ipv6_fields)
{
	struct srxe_frame_view v = view_of(8); /* UD Send Only */
	uint8_t *ip = (uint8_t *)v.ip;

	for (int off = 0; off < SRXE_IPV6_HDR_LEN; off++) {
		for (int bit = 0; bit < 8; bit++) {
			bool masked = (off == 0 && bit < 4) ||
				      (off >= 1 && off <= 3) || off == 7;

			ip[off] ^= (uint8_t)(1u << bit);
			cr_assert_eq(srxe_icrc_valid(ip, SRXE_IPV6_HDR_LEN,
						     v.udp, v.udp_len),
				     masked, "byte %d bit %d", off, bit);
			ip[off] ^= (uint8_t)(1u << bit);
		}
	}
}

/* The header srxe builds: version, TC, 20-bit flow label, hop limit 0
 * sent as 64, payload length, next header, addresses. */
Test(wire_ipv6, header_srxe_builds)
{
	struct srxe_engine_config cfg = { .ipv6 = true };
	struct srxe_dest d = { .ipv6 = true,
			       .tclass = 0xb8,
			       .flow_label = 0x12345,
			       .hop_limit = 0 };
	uint8_t ip[SRXE_IPV6_HDR_LEN];

	memset(cfg.ipv6_ll, 0xaa, 16);
	memset(d.ip6, 0xbb, 16);
	cr_assert_eq(srxe_ip_hdr_build(ip, &cfg, &d, 1060, 0),
		     SRXE_IPV6_HDR_LEN);
	cr_assert_eq(ip[0], 0x6b);
	cr_assert_eq(ip[1], 0x81);
	cr_assert_eq(ip[2], 0x23);
	cr_assert_eq(ip[3], 0x45);
	cr_assert_eq(ip[4] << 8 | ip[5], 1060);
	cr_assert_eq(ip[6], 17);
	cr_assert_eq(ip[7], 64);
	cr_assert_eq(ip[8], 0xaa);
	cr_assert_eq(ip[39], 0xbb);
}

/*
 * Kernel rxe sends IPv6 RoCE with UDP checksum 0 (these frames do; srxe
 * receives them with UDP_NO_CHECK6_RX).  srxe sends a real one: with it
 * in place, the one's complement sum over pseudo-header and datagram
 * must be all ones (RFC 768/8200), summed here the plain way.
 */
static uint32_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return s;
}

Test(wire_ipv6, udp6_checksum_verifies)
{
	for (int i = 0; i < NFRAMES; i++) {
		struct srxe_frame_view v = view_of(i);
		uint8_t udp[2048];
		uint32_t sum = 0;
		uint16_t c;

		cr_assert_eq(v.udp[6] << 8 | v.udp[7], 0, "kernel sent 0");
		memcpy(udp, v.udp, v.udp_len);
		c = srxe_udp6_checksum(v.ip, udp, v.udp_len);
		cr_assert_neq(c, 0);
		udp[6] = (uint8_t)(c >> 8);
		udp[7] = (uint8_t)c;
		for (int k = 8; k < 40; k += 2) /* source, destination */
			sum += (uint32_t)(v.ip[k] << 8 | v.ip[k + 1]);
		sum += (uint32_t)v.udp_len + 17;
		for (size_t k = 0; k + 1 < v.udp_len; k += 2)
			sum += (uint32_t)(udp[k] << 8 | udp[k + 1]);
		if (v.udp_len & 1)
			sum += (uint32_t)udp[v.udp_len - 1] << 8;
		cr_assert_eq(fold(sum), 0xffff, "frame %d", i + 1);
	}
}
