/* SPDX-License-Identifier: MIT */
/*
 * RoCEv2 over UDP/IPv4: the wire transport (issue #5).
 *
 * Contract:
 *  - xmit: a packet for another device's address becomes one IPv4/UDP
 *    datagram to dst:4791 from the device address, UDP source port
 *    0xC000 + hash_32(src_qpn, 14) as kernel rxe picks it (per QP: ECMP
 *    entropy), UDP checksum 0 from the raw path (the ICRC protects the
 *    data; the batched path's kernel fills it, the ICRC masks it), DF
 *    set, ICRC appended little-endian.  The packet is copied into a
 *    transmit batch before xmit returns, so its chunks may die
 *    afterwards; the batch leaves with sendmmsg() when it is full or
 *    when the engine calls flush (end of every pass), a QP's packets in
 *    their order (they all take one socket).
 *  - poll: takes up to one batch of received datagrams from each receive
 *    socket that holds some (one epoll_wait with no timeout says which;
 *    recvmmsg, never blocks), checks each completely (IP and UDP
 *    headers, ICRC, transport checks: srxe_decode_udp) and hands the
 *    good ones to srxe_eng_rx().  Bad ones are dropped and counted by
 *    reason.
 *  - rx_fd is readable when datagrams wait: the engine sleeps on it.
 *  - What the kernel drops at a full receive socket before srxed reads
 *    it (raw IPv4, packet socket and IPv6 UDP alike) is counted as
 *    socket_overflow: SO_RXQ_OVFL on every receive socket, and
 *    SO_MEMINFO when the counters are read (srxe_udp_drops_advance).
 *  - What runs without the fast path (below) is said in one line,
 *    srxe_wire_stats.note, which srxed logs at start.
 *
 * Send, batched (the default; issue #14): IPv4 unicast leaves from one
 * UDP socket per source port in use, bound at the QP's first send to
 * (device address, rxe's port of the QP), DF, a drop-all filter (it
 * receives nothing), no SO_REUSEADDR/SO_REUSEPORT (a port another
 * program holds stays its own).  A run of packets of one such socket of
 * equal size to one destination (only the last may be shorter; at most
 * 64 and 65000 bytes) leaves as one UDP_SEGMENT send, which the kernel
 * (or the NIC) cuts into one datagram per packet.  What the ICRC covers
 * is known in advance: the QP's source port, UDP length per segment,
 * IPv4 ID 0 for the first segment and 1, 2, ... for the next (an
 * unconnected socket's DF datagram gets ID 0; GSO numbers segments from
 * it; checked on Linux 6.18 with the segmentation done in software on a
 * veth).  At most 256 source ports have a socket at a time (fds): a new
 * port closes the one used least recently, after the batch has left
 * (SRXE_WIRE_SPORTS=N, tests only, lowers the limit).  A port that cannot
 * be bound (EADDRINUSE, any failure) stays on the raw path below, with
 * the same source port.
 *
 * Send, raw (SRXE_WIRE_GSO=0 in srxed's environment, a kernel without
 * UDP_SEGMENT, IPv6, multicast): srxe builds its IPv4 and UDP headers
 * itself and sends on an IPPROTO_RAW socket (implies IP_HDRINCL), one
 * datagram per packet; the ID it writes is never 0, so the kernel keeps
 * it (it only fills a zero ID), and the ICRC is computed over exactly
 * the header that goes out (the kernel fills only the IPv4 checksum,
 * which the ICRC masks).  Multicast (docs/multicast.md) leaves with
 * IP_MULTICAST_IF on the netdev, the AH's hop limit as TTL, and loops
 * back to this host's members.
 *
 * Why not plain UDP sockets for receive: the ICRC covers the IPv4
 * identification field and the UDP source port, and a UDP socket shows
 * neither.  Receive (needs CAP_NET_RAW):
 *  - unicast from Ethernet and loopback links: a packet socket
 *    (ETH_P_IP, every such link, PACKET_VNET_HDR) with a BPF filter for
 *    this address and port 4791.  A run the sender's kernel left uncut
 *    (veth and lo pass GSO packets whole) or that GRO merged arrives as
 *    one frame whose virtio_net_hdr gives the segment size; it is cut
 *    here exactly as the kernel would have cut it (IDs counting up from
 *    the run's, or all equal for GRO's fixed-ID merges: told apart by
 *    the second segment's ICRC; lengths per segment) and every segment
 *    is ICRC-checked on its own.  Captures (tcpdump) on the sender's
 *    link show such runs uncut.
 *  - unicast from other links (an IP tunnel, TUN, IPoIB): a cooked
 *    packet socket (SOCK_DGRAM, the IP header first whatever the link)
 *    with a BPF filter (unfragmented, dport 4791, this address, a link
 *    other than Ethernet/loopback).
 *  - multicast: an IPPROTO_UDP raw socket with a BPF filter (an IPv4
 *    group received on the device's netdev), opened when the device
 *    attaches a QP to its first IPv4 group (xport take_groups, from
 *    mcast_eng.c) and kept until the transport closes: a raw socket is
 *    handed a clone of every UDP datagram of the namespace to filter,
 *    unicast included (on a veth at path MTU 4096, 2.9% of all
 *    samples, in the sending srxed's syscall).  A group's datagrams are
 *    taken only while this device has QPs attached to it (else
 *    other_group).  The packet sockets never see multicast this host
 *    loops back (af_packet drops PACKET_LOOPBACK), hence the raw
 *    socket.  SRXE_WIRE_RX=raw, or no packet socket, opens the raw
 *    socket at once for all unicast and groups, as before issue #14 (an
 *    uncut run then fails its ICRC: bad_icrc).
 *  - the engine waits on one epoll fd holding them all (rx_fd).
 *  - A UDP socket bound to address:4791 holds the port (no ICMP
 *    port-unreachable, no second owner) and discards its copies with a
 *    drop-all filter.  While the packet socket receives it enables
 *    UDP_GRO, so that the kernel hands it uncut runs whole to drop,
 *    instead of cutting each into one skb per datagram first; this also
 *    lets GRO merge RoCEv2 datagrams from a NIC, which the packet socket
 *    cuts back (a GRO merge on a link other than Ethernet, e.g. an IP
 *    tunnel, would reach the cooked socket uncut: bad_icrc).
 *  - IPv6 (issue #10): a UDP socket on the link-local address receives,
 *    the headers the ICRC covers are rebuilt from the socket address and
 *    ancillary data; groups on a second UDP socket on [::]:4791 of the
 *    netdev, whose IPV6_PKTINFO names the group (the unicast socket,
 *    bound to the link-local address, sees no group's datagram); sent
 *    from a raw IPv6 socket (IPV6_MULTICAST_IF for groups).
 *
 * Peers: kernel rxe and hardware receive cut datagrams and need nothing.
 * srxe peers on this host (veth, lo) need a receive that cuts runs:
 * every srxe since issue #14 has it by default, also with
 * SRXE_WIRE_GSO=0; one with SRXE_WIRE_RX=raw or an older one counts
 * bad_icrc for runs from a batched sender.
 */
#ifndef SRXE_ENGINE_TRANSPORT_UDP_H
#define SRXE_ENGINE_TRANSPORT_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "packet/pkt.h"

/*
 * Opens the sockets for device address @ipv4_be (network order).  Returns
 * 0 and *@out, or a negative errno with a reason in *@why.
 */
int srxe_udp_transport_open(struct srxe_engine *eng, uint32_t ipv4_be,
			    struct srxe_xport **out, const char **why);
void srxe_udp_transport_close(struct srxe_xport *t);
/* The counters; also collects the receive sockets' kernel drop counts
 * (engine lock held). */
void srxe_udp_transport_stats(struct srxe_xport *t,
			      struct srxe_wire_stats *out);

/*
 * The kernel counts what a receive socket drops (its buffer was full) in
 * 32 bits, from the socket's creation, and tells srxe late: with each
 * datagram queued after a drop (SO_RXQ_OVFL: the count when that datagram
 * was queued) and on request (SO_MEMINFO: the count now).  Returns how
 * many of @now are new since *@seen and moves *@seen on; a report older
 * than *@seen (a queued datagram's, after a SO_MEMINFO read) adds
 * nothing.  Wraps at 2^32.
 */
static inline uint32_t srxe_udp_drops_advance(uint32_t *seen, uint32_t now)
{
	uint32_t d = now - *seen;

	if (d > INT32_MAX)
		return 0;
	*seen = now;
	return d;
}

/* srxe_udp_rx_datagram(): a valid packet for another address. */
#define SRXE_UDP_RX_NOT_FOR_US (-1)
/* ... for a multicast group this device has no QP in (another device or
 * program of this host joined it): not a drop, counted apart. */
#define SRXE_UDP_RX_OTHER_GROUP (-2)

/*
 * The receive path of one datagram that starts at its IP header (IPv4,
 * or a 40-byte IPv6 header without extension headers): IP checks,
 * srxe_decode_udp() with the ICRC, the destination check against the
 * device's addresses (eng->cfg: ipv4_be, ipv6_ll), then srxe_eng_rx()
 * (engine lock held by the caller as for any transport).  Returns
 * SRXE_RX_OK when the packet went to the engine, the enum srxe_rx_reason
 * it was dropped for, SRXE_UDP_RX_NOT_FOR_US or SRXE_UDP_RX_OTHER_GROUP.  *@pkt
 * is the parse (valid unless a drop).
 */
int srxe_udp_rx_datagram(struct srxe_engine *eng, const uint8_t *ip, size_t len,
			 struct srxe_pkt *pkt);

/* rxe's UDP source port for a QP: 0xC000 + hash_32(qpn, 14). */
uint16_t srxe_udp_src_port(uint32_t qpn);

#endif
