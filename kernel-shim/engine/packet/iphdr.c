// SPDX-License-Identifier: MIT
/* IP headers of outgoing RoCEv2 datagrams (contract in iphdr.h). */
#include "iphdr.h"

#include <string.h>

#include "be_bytes.h"

#define IPV4_DF		0x4000
#define IPPROTO_UDP_NUM 17
#define FLOW_LABEL_MASK 0xfffffu

/* 224.0.0.0/4 */
static bool ipv4_is_mcast(uint32_t ipv4_be)
{
	const uint8_t *b = (const uint8_t *)&ipv4_be;

	return (b[0] & 0xf0) == 0xe0;
}

static void build_ipv4(uint8_t *ip, uint32_t src_be,
		       const struct srxe_dest *dst, size_t udp_len, uint16_t id)
{
	ip[0] = 0x45; /* version 4, IHL 5 */
	ip[1] = 0;    /* DSCP/ECN */
	srxe_put_be16(ip + 2, (uint16_t)(SRXE_IPV4_HDR_LEN + udp_len));
	srxe_put_be16(ip + 4, id);
	srxe_put_be16(ip + 6, IPV4_DF);
	/* Multicast: the AH's hop limit bounds how far it goes (0: this
	 * host only; the kernel still loops it back), as rxe does. */
	ip[8] = ipv4_is_mcast(dst->ipv4_be) ? dst->hop_limit : SRXE_IP_TTL;
	ip[9] = IPPROTO_UDP_NUM;
	srxe_put_be16(ip + 10, 0); /* the kernel fills it; the ICRC masks it */
	memcpy(ip + 12, &src_be, 4);
	memcpy(ip + 16, &dst->ipv4_be, 4);
}

static void build_ipv6(uint8_t *ip, const uint8_t src[16],
		       const struct srxe_dest *dst, size_t udp_len)
{
	uint32_t word = 6u << 28 | (uint32_t)dst->tclass << 20 |
			(dst->flow_label & FLOW_LABEL_MASK);

	srxe_put_be32(ip, word);
	srxe_put_be16(ip + 4, (uint16_t)udp_len);
	ip[6] = IPPROTO_UDP_NUM;
	/* Multicast: the AH's hop limit as it is, 0 included (this host
	 * only: the kernel loops it back, then discards it), as IPv4's
	 * TTL; unicast: 0 is an AV that left it unset. */
	ip[7] = dst->hop_limit || dst->ip6[0] == 0xff ? dst->hop_limit
						      : SRXE_IP_TTL;
	memcpy(ip + SRXE_IPV6_SRC_OFF, src, 16);
	memcpy(ip + SRXE_IPV6_DST_OFF, dst->ip6, 16);
}

size_t srxe_ip_hdr_build(uint8_t *ip, const struct srxe_engine_config *cfg,
			 const struct srxe_dest *dst, size_t udp_len,
			 uint16_t id)
{
	if (dst->ipv6) {
		build_ipv6(ip, cfg->ipv6_ll, dst, udp_len);
		return SRXE_IPV6_HDR_LEN;
	}
	build_ipv4(ip, cfg->ipv4_be, dst, udp_len, id);
	return SRXE_IPV4_HDR_LEN;
}

void srxe_ipv4_hdr_checksum(uint8_t *ip, size_t ihl)
{
	uint32_t sum = 0;

	srxe_put_be16(ip + 10, 0);
	for (size_t i = 0; i + 1 < ihl; i += 2)
		sum += srxe_get_be16(ip + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	srxe_put_be16(ip + 10, (uint16_t)~sum);
}

/* One's complement sum of @len bytes as big-endian 16-bit words (an odd
 * last byte padded with zero), folded to 32 bits. */
static uint64_t sum16(uint64_t sum, const uint8_t *p, size_t len)
{
	for (; len >= 4; len -= 4, p += 4)
		sum += srxe_get_be32(p);
	for (; len >= 2; len -= 2, p += 2)
		sum += (uint32_t)srxe_get_be16(p) << 16;
	if (len)
		sum += (uint32_t)p[0] << 24;
	return sum;
}

uint16_t srxe_udp6_checksum(const uint8_t *ip6, const uint8_t *udp,
			    size_t udp_len)
{
	uint64_t sum = 0;
	uint32_t s;

	/* 32-bit words: their halves fold into the same 16-bit sum. */
	sum = sum16(sum, ip6 + SRXE_IPV6_SRC_OFF, 32);
	sum += (uint32_t)udp_len;
	sum += IPPROTO_UDP_NUM;
	sum = sum16(sum, udp, udp_len);
	while (sum >> 32)
		sum = (sum & 0xffffffffu) + (sum >> 32);
	s = (uint32_t)sum;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = ~s & 0xffff;
	return s ? (uint16_t)s : 0xffff;
}
