/* SPDX-License-Identifier: MIT */
/*
 * Finding the RoCEv2 datagram inside an Ethernet frame or an IP packet:
 * Ethernet (optionally with up to two 802.1Q/802.1ad tags) -> IPv4 or IPv6
 * -> UDP with destination port 4791.  Only locates and bounds; it checks
 * nothing the ICRC or decode.h checks (checksums, BTH).
 *
 * Lengths come from the headers, bounded by the bytes actually present,
 * so Ethernet padding after a short IP packet is not mistaken for RoCE
 * data.  Not handled (reported as not RoCE): IPv4 fragments, IPv6
 * extension headers.
 */
#ifndef SRXE_ENGINE_NETFRAME_H
#define SRXE_ENGINE_NETFRAME_H

#include <stddef.h>
#include <stdint.h>

struct srxe_frame_view {
	const uint8_t *ip;  /* IP header */
	size_t ip_len;	    /* IPv4: IHL * 4; IPv6: 40 */
	const uint8_t *udp; /* UDP header */
	size_t udp_len;	    /* UDP length field: header .. ICRC */
};

/* 0 and *@view filled for a RoCEv2 frame; -ENOENT for a well-formed frame
 * that is something else; -EINVAL if a header is cut short or its length
 * fields contradict the frame. */
int srxe_frame_locate_eth(const uint8_t *frame, size_t len,
			  struct srxe_frame_view *view);

/* The same for a packet that starts with its IP header. */
int srxe_frame_locate_ip(const uint8_t *pkt, size_t len,
			 struct srxe_frame_view *view);

#endif
