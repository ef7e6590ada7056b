// SPDX-License-Identifier: MIT
/*
 * The rsocket wire format (providers/rdmacm/rsocket_wire.h): the
 * connection data's layout is rdma-core's (40 bytes, the offsets below),
 * immediates pack op and value as rdma-core's rsockets read them, iomap
 * entries and their 8-bit count are rdma-core's, and the
 * byte-order helpers round-trip; the datagram headers are rdma-core's and
 * malformed ones are refused.
 */
#include <criterion/criterion.h>
#include <stddef.h>

#include "../../providers/rdmacm/rsocket_wire.h"

Test(rsocket_wire, conn_layout)
{
	cr_expect_eq(sizeof(struct rsw_sge), 16);
	cr_expect_eq(offsetof(struct rsw_sge, addr), 0);
	cr_expect_eq(offsetof(struct rsw_sge, key), 8);
	cr_expect_eq(offsetof(struct rsw_sge, length), 12);
	cr_expect_eq(sizeof(struct rsw_conn), 40);
	cr_expect_eq(offsetof(struct rsw_conn, version), 0);
	cr_expect_eq(offsetof(struct rsw_conn, flags), 1);
	cr_expect_eq(offsetof(struct rsw_conn, credits), 2);
	cr_expect_eq(offsetof(struct rsw_conn, target_iomap_size), 7);
	cr_expect_eq(offsetof(struct rsw_conn, target_sgl), 8);
	cr_expect_eq(offsetof(struct rsw_conn, data_buf), 24);
}

Test(rsocket_wire, immediates)
{
	/* rdma-core's values: DATA 0, SGL 4, CTRL 7 in the top 3 bits. */
	cr_expect_eq(rsw_imm(RSW_OP_DATA, 65536), 0x00010000u);
	cr_expect_eq(rsw_imm(RSW_OP_SGL, 384), 0x80000180u);
	cr_expect_eq(rsw_imm(RSW_OP_CTRL, RSW_CTRL_DISCONNECT), 0xe0000000u);
	cr_expect_eq(rsw_imm(RSW_OP_CTRL, RSW_CTRL_SHUTDOWN), 0xe0000002u);
	cr_expect_eq(rsw_imm_op(0x80000180u), RSW_OP_SGL);
	cr_expect_eq(rsw_imm_value(0x80000180u), 384);
	/* A value never spills into the op. */
	cr_expect_eq(rsw_imm_op(rsw_imm(RSW_OP_DATA, 0xffffffffu)),
		     RSW_OP_DATA);
	cr_expect_eq(rsw_imm_value(rsw_imm(RSW_OP_DATA, 0xffffffffu)),
		     0x1fffffffu);
}

Test(rsocket_wire, byte_order)
{
	struct rsw_sge s = { 0x0102030405060708ull, 0x11223344u, 0x8000u };
	struct rsw_sge be = rsw_sge_to_be(s), back = rsw_sge_from_be(be);
	const uint8_t *p = (const uint8_t *)&be;

	cr_expect_eq(p[0], 0x01);
	cr_expect_eq(p[7], 0x08);
	cr_expect_eq(p[8], 0x11);
	cr_expect_eq(p[15], 0x00);
	cr_expect_eq(back.addr, s.addr);
	cr_expect_eq(back.key, s.key);
	cr_expect_eq(back.length, s.length);
	back = rsw_sge_swap(rsw_sge_swap(s));
	cr_expect_eq(back.addr, s.addr);
	cr_expect_eq(rsw_sge_swap(s).key, 0x44332211u);
}

Test(rsocket_wire, iomap)
{
	cr_expect_eq(sizeof(struct rsw_iomap), 24);
	cr_expect_eq(offsetof(struct rsw_iomap, offset), 0);
	cr_expect_eq(offsetof(struct rsw_iomap, sge), 8);
	/* rdma-core's 8-bit scale: as is up to 128, then 256ths. */
	cr_expect_eq(rsw_iomap_scale(0), 0);
	cr_expect_eq(rsw_iomap_scale(1), 1);
	cr_expect_eq(rsw_iomap_scale(128), 128);
	cr_expect_eq(rsw_iomap_scale(512), 130);
	cr_expect_eq(rsw_iomap_count(130), 512);
	for (unsigned int n = 0; n <= 128; n++)
		cr_expect_eq(rsw_iomap_count(rsw_iomap_scale(n)), n);
	cr_expect_eq(rsw_imm(RSW_OP_IOMAP_SGL, 3), 0xc0000003u);
}

Test(rsocket_wire, datagram_layout)
{
	/* rdma-core's ds_header and ds_udp_header. */
	cr_expect_eq(sizeof(struct rsw_ds_hdr), RSW_DS_HDR_V6);
	cr_expect_eq(offsetof(struct rsw_ds_hdr, version), 0);
	cr_expect_eq(offsetof(struct rsw_ds_hdr, length), 1);
	cr_expect_eq(offsetof(struct rsw_ds_hdr, port), 2);
	cr_expect_eq(offsetof(struct rsw_ds_hdr, addr.ipv4), 4);
	cr_expect_eq(offsetof(struct rsw_ds_hdr, addr.ipv6.addr), 8);
	cr_expect_eq(sizeof(struct rsw_ds_udp), RSW_DS_UDP_V6);
	cr_expect_eq(offsetof(struct rsw_ds_udp, tag), 0);
	cr_expect_eq(offsetof(struct rsw_ds_udp, version), 4);
	cr_expect_eq(offsetof(struct rsw_ds_udp, op), 5);
	cr_expect_eq(offsetof(struct rsw_ds_udp, length), 6);
	cr_expect_eq(offsetof(struct rsw_ds_udp, qpn), 8);
	cr_expect_eq(offsetof(struct rsw_ds_udp, addr), 12);
	cr_expect_eq(RSW_DS_DATA, 0);
	cr_expect_eq(RSW_DS_CTRL, 7);
}

Test(rsocket_wire, datagram_headers_checked)
{
	struct rsw_ds_hdr h = { .version = 4, .length = RSW_DS_HDR_V4 };
	struct rsw_ds_udp u = { .tag = htobe32(RSW_DS_UDP_TAG),
				.version = 4,
				.length = RSW_DS_UDP_V4 };

	cr_expect_eq(rsw_ds_hdr_len(&h, 8), RSW_DS_HDR_V4);
	cr_expect_eq(rsw_ds_hdr_len(&h, 7), 0, "shorter than its header");
	h.length = RSW_DS_HDR_V6;
	cr_expect_eq(rsw_ds_hdr_len(&h, 100), 0, "v4 with v6's length");
	h.version = 6;
	cr_expect_eq(rsw_ds_hdr_len(&h, 23), 0, "v6 cut short");
	cr_expect_eq(rsw_ds_hdr_len(&h, 24), RSW_DS_HDR_V6);
	h.version = 5;
	cr_expect_eq(rsw_ds_hdr_len(&h, 100), 0, "no such version");

	cr_expect_eq(rsw_ds_udp_len(&u, 16, 4), RSW_DS_UDP_V4);
	cr_expect_eq(rsw_ds_udp_len(&u, 16, 6), 0, "v4 header from v6");
	cr_expect_eq(rsw_ds_udp_len(&u, 15, 4), 0, "cut short");
	u.tag = RSW_DS_UDP_TAG ^ 1;
	cr_expect_eq(rsw_ds_udp_len(&u, 16, 4), 0, "wrong tag");
	u.tag = htobe32(RSW_DS_UDP_TAG);
	u.version = 6;
	u.length = RSW_DS_UDP_V6;
	cr_expect_eq(rsw_ds_udp_len(&u, 27, 6), 0, "v6 cut short");
	cr_expect_eq(rsw_ds_udp_len(&u, 28, 6), RSW_DS_UDP_V6);
}

Test(rsocket_wire, datagram_source_checked)
{
	uint8_t grh[40] = { 0 };
	struct rsw_ds_hdr h = { .version = 4, .length = RSW_DS_HDR_V4 };

	cr_expect(rsw_ds_grh_agrees(grh, &h), "no IP header: nothing to check");
	/* RoCEv2 over IPv4: the IPv4 header in the GRH's last 20 bytes,
	 * source address at its offset 12. */
	grh[20] = 0x45;
	grh[32] = 127, grh[33] = 0, grh[34] = 0, grh[35] = 1;
	memcpy(&h.addr.ipv4, &grh[32], 4);
	cr_expect(rsw_ds_grh_agrees(grh, &h));
	grh[35] = 2;
	cr_expect_not(rsw_ds_grh_agrees(grh, &h), "forged IPv4 source");
	h.version = 6;
	cr_expect_not(rsw_ds_grh_agrees(grh, &h), "v6 header, v4 packet");

	memset(grh, 0, sizeof(grh));
	grh[0] = 0x60;
	grh[8 + 15] = 1; /* ::1 */
	memset(h.addr.ipv6.addr, 0, 16);
	h.addr.ipv6.addr[15] = 1;
	cr_expect(rsw_ds_grh_agrees(grh, &h));
	h.addr.ipv6.addr[15] = 2;
	cr_expect_not(rsw_ds_grh_agrees(grh, &h), "forged IPv6 source");
}
