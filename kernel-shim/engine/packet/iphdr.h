/* SPDX-License-Identifier: MIT */
/*
 * The IP header in front of a RoCEv2 datagram that this device sends, for
 * both address families, and the IPv6 UDP checksum.  One builder for the
 * wire transport (the header the ICRC is sealed over), the same-host
 * transport (the header a UD receive finds in its GRH) and the capture
 * tap (the frames it synthesises), so the three never disagree.
 *
 *  - IPv4 (dst->ipv6 false): 20 bytes, DF, TTL 64, TOS 0, checksum 0 (the
 *    kernel fills it; the ICRC masks it), identification @id, from the
 *    device's IPv4 address.
 *  - IPv6 (dst->ipv6): 40 bytes, version 6, traffic class, flow label
 *    (low 20 bits) and hop limit from the address vector (a hop limit of
 *    0, an AV that left it unset, goes out as 64: RFC 8200 hosts do not
 *    send 0; to a multicast group it goes out as it is), next header
 *    UDP, payload length = @udp_len, from the netdev's link-local
 *    address.  No extension headers.
 */
#ifndef SRXE_ENGINE_IPHDR_H
#define SRXE_ENGINE_IPHDR_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "pkt.h"

#define SRXE_IPV4_HDR_LEN 20
#define SRXE_IPV6_HDR_LEN 40
#define SRXE_IP_TTL	  64
#define SRXE_IPV6_SRC_OFF 8
#define SRXE_IPV6_DST_OFF 24

/* Writes the header (at most SRXE_IPV6_HDR_LEN bytes) and returns its
 * length. */
size_t srxe_ip_hdr_build(uint8_t *ip, const struct srxe_engine_config *cfg,
			 const struct srxe_dest *dst, size_t udp_len,
			 uint16_t id);

/* Fills in the checksum (RFC 791) of an IPv4 header of @ihl bytes
 * (options included), as a receiver sees it. */
void srxe_ipv4_hdr_checksum(uint8_t *ip, size_t ihl);

/*
 * The UDP checksum of an IPv6 datagram (RFC 8200 8.1: pseudo-header of
 * source, destination, UDP length and next header 17), computed with the
 * checksum field as it is in @udp (write 0 there first); 0 is sent as
 * 0xffff.
 */
uint16_t srxe_udp6_checksum(const uint8_t *ip6, const uint8_t *udp,
			    size_t udp_len);

#endif
