// SPDX-License-Identifier: MIT
#include "netframe.h"

#include <errno.h>
#include <stdbool.h>

#include "be_bytes.h"
#include "wire.h"

#define ETH_HDR_LEN	   14
#define ETH_TYPE_OFF	   12
#define VLAN_TAG_LEN	   4
#define VLAN_MAX_TAGS	   2
#define ETHERTYPE_IPV4	   0x0800
#define ETHERTYPE_IPV6	   0x86dd
#define ETHERTYPE_8021Q	   0x8100
#define ETHERTYPE_8021AD   0x88a8
#define IPPROTO_UDP_NUM	   17
#define IPV4_MIN_LEN	   20
#define IPV4_TOTLEN_OFF	   2
#define IPV4_FRAG_OFF	   6
#define IPV4_MF_AND_OFFSET 0x3fff
#define IPV4_PROTO_OFF	   9
#define IPV6_LEN	   40
#define IPV6_PAYLEN_OFF	   4
#define IPV6_NEXTHDR_OFF   6
#define UDP_HDR_LEN	   8
#define UDP_DPORT_OFF	   2
#define UDP_LEN_OFF	   4

/* @l4/@l4_len: the bytes after the IP header that the IP header claims. */
static int locate_udp(const uint8_t *l4, size_t l4_len,
		      struct srxe_frame_view *view)
{
	size_t udp_len;

	if (l4_len < UDP_HDR_LEN)
		return -EINVAL;
	udp_len = srxe_get_be16(l4 + UDP_LEN_OFF);
	if (udp_len < UDP_HDR_LEN || udp_len > l4_len)
		return -EINVAL;
	if (srxe_get_be16(l4 + UDP_DPORT_OFF) != SRXE_ROCE_UDP_PORT)
		return -ENOENT;
	view->udp = l4;
	view->udp_len = udp_len;
	return 0;
}

static int locate_ipv4(const uint8_t *ip, size_t len,
		       struct srxe_frame_view *view)
{
	size_t hdr_len, total;

	if (len < IPV4_MIN_LEN)
		return -EINVAL;
	hdr_len = (size_t)(ip[0] & 0x0f) * 4;
	total = srxe_get_be16(ip + IPV4_TOTLEN_OFF);
	if (hdr_len < IPV4_MIN_LEN || total < hdr_len || total > len)
		return -EINVAL;
	if (ip[IPV4_PROTO_OFF] != IPPROTO_UDP_NUM ||
	    (srxe_get_be16(ip + IPV4_FRAG_OFF) & IPV4_MF_AND_OFFSET))
		return -ENOENT;
	view->ip = ip;
	view->ip_len = hdr_len;
	return locate_udp(ip + hdr_len, total - hdr_len, view);
}

static int locate_ipv6(const uint8_t *ip, size_t len,
		       struct srxe_frame_view *view)
{
	size_t payload;

	if (len < IPV6_LEN)
		return -EINVAL;
	payload = srxe_get_be16(ip + IPV6_PAYLEN_OFF);
	if (payload > len - IPV6_LEN)
		return -EINVAL;
	if (ip[IPV6_NEXTHDR_OFF] != IPPROTO_UDP_NUM)
		return -ENOENT;
	view->ip = ip;
	view->ip_len = IPV6_LEN;
	return locate_udp(ip + IPV6_LEN, payload, view);
}

int srxe_frame_locate_ip(const uint8_t *pkt, size_t len,
			 struct srxe_frame_view *view)
{
	if (len < 1)
		return -EINVAL;
	switch (pkt[0] >> 4) {
	case 4:
		return locate_ipv4(pkt, len, view);
	case 6:
		return locate_ipv6(pkt, len, view);
	default:
		return -ENOENT;
	}
}

int srxe_frame_locate_eth(const uint8_t *frame, size_t len,
			  struct srxe_frame_view *view)
{
	size_t off = ETH_TYPE_OFF;
	uint16_t type;

	for (int tags = 0;; tags++) {
		if (len < off + 2)
			return -EINVAL;
		type = srxe_get_be16(frame + off);
		off += 2;
		if (type != ETHERTYPE_8021Q && type != ETHERTYPE_8021AD)
			break;
		if (tags == VLAN_MAX_TAGS)
			return -ENOENT;
		off += VLAN_TAG_LEN - 2; /* TCI; the next type follows */
	}
	if (type != ETHERTYPE_IPV4 && type != ETHERTYPE_IPV6)
		return -ENOENT;
	/* The EtherType must agree with the IP version nibble. */
	if (len <= off || (frame[off] >> 4) != (type == ETHERTYPE_IPV4 ? 4 : 6))
		return -EINVAL;
	return srxe_frame_locate_ip(frame + off, len - off, view);
}
