// SPDX-License-Identifier: MIT
/*
 * RoCEv2 over UDP/IPv4 (contract and the choice of raw sockets in
 * transport_udp.h).  Runs only on the engine thread, under the engine
 * lock, like every other transport.
 */
#include "transport_udp.h"

#include <errno.h>
#include <linux/filter.h>
#include <net/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sock_diag.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include "core/capture_hook.h"
#include "eng_int.h"
#include "packet/decode.h"
#include "packet/icrc.h"
#include "packet/iphdr.h"
#include "packet/wire.h"

_Static_assert(SRXE_RX_REASON_COUNT <= SRXE_WIRE_RX_REASONS,
	       "struct srxe_wire_stats has a slot per receive drop reason");

/* Packets per flush: four 64 KiB messages of 4 KiB packets. */
#define UDP_BATCH 64
#define RX_BATCH  32
/* The receive sockets, as rx_ep tags them. */
enum rx_sock {
	RX_SOCK_PACKET,
	RX_SOCK_OTHER,
	RX_SOCK_RAW,
	RX_SOCK_V6,
	RX_SOCK_V6MC,
	RX_SOCKS
};
/* Largest datagram srxe sends: IPv4 with options, UDP, the longest header
 * set, a 4096-byte payload, pad and ICRC fit easily. */
#define UDP_BUF_LEN 8192
/* Largest datagram received: a GSO run arrives whole (up to 64 KiB) when
 * the kernel did not cut it (veth, lo), behind the packet socket's
 * virtio_net_hdr. */
#define RX_BUF_LEN   (sizeof(struct virtio_net_hdr) + ETH_HLEN + 65536 + 64)
#define IPV4_HDR_LEN SRXE_IPV4_HDR_LEN
#define IPV6_HDR_LEN SRXE_IPV6_HDR_LEN
#define UDP_HDR_LEN  8
/* An IPv6 datagram is received behind room for the IPv6 and UDP headers
 * that the UDP socket does not deliver and rx6_one() writes back. */
#define RX6_HDR_ROOM	(IPV6_HDR_LEN + UDP_HDR_LEN)
#define ROCE_SPORT_BASE 0xc000
#define GOLDEN_RATIO_32 0x61c88647u
/* Socket buffers: a few milliseconds of line rate, so a busy engine
 * thread does not lose a burst (1 MiB lost far more READ responses). */
#define SOCK_BUF_BYTES (8 << 20)
/* One GSO send: at most this many segments (the kernel allows 64) and
 * UDP payload bytes (an IPv4 datagram is at most 65535). */
#define GSO_MAX_SEGS  64
#define GSO_MAX_BYTES 65000
/* Source-port sockets of the batched send: rxe's ports are 0xC000 plus
 * 14 bits; at most PORT_SOCKS of them have a socket (an fd each) at a
 * time, the one used least recently gives way to a new port. */
#define SPORT_COUNT 0x4000
#define PORT_SOCKS  256
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5
#endif
#ifndef UDP_NO_CHECK6_RX
#define UDP_NO_CHECK6_RX 102
#endif
#ifndef IPV6_FLOWINFO
#define IPV6_FLOWINFO 11 /* linux/in6.h: flow info as ancillary data */
#endif
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif
#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

/* Packets of the batch that leave with one sendmmsg entry: one datagram
 * of the raw path, or one GSO send of equal-sized segments of which only
 * the last may be shorter (batched path: a source port's UDP socket). */
struct tx_run {
	uint32_t dst_be;
	int fd;		  /* the socket it leaves on */
	uint16_t seg_len; /* UDP payload of each segment but the last */
	uint8_t first, count;
	bool closed; /* a shorter last segment ended it */
	bool udp;    /* on a source-port socket: the kernel adds the headers */
	bool v6;     /* one IPv6 datagram to dst6, sent on tx6_fd */
	uint8_t dst6[16];
};

union tx_sockaddr {
	struct sockaddr_in v4;
	struct sockaddr_in6 v6;
};

/* Ancillary data of one receive: the socket's drop count (SO_RXQ_OVFL);
 * IPv6 also flow info, hop limit and, on the multicast socket, the
 * destination address. */
#define RX_CTL_LEN CMSG_SPACE(sizeof(uint32_t))
#define RX6_CTL_LEN                                                            \
	(RX_CTL_LEN + CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(int)) + \
	 CMSG_SPACE(sizeof(struct in6_pktinfo)))

struct udp_xport {
	struct srxe_xport xport;
	struct srxe_engine *eng;
	uint32_t ipv4_be;
	int tx_fd, port_fd;
	int tx6_fd; /* IPv6: raw send (IPPROTO_RAW); -1 without IPv6 */
	/* IPv4 receive, behind rx_ep (the engine's rx_fd): the packet
	 * socket (unicast from Ethernet and loopback links, uncut runs cut
	 * here), the cooked one (unicast from other links) and the raw one
	 * (multicast, opened at the first group: take_groups), or the raw
	 * socket alone for everything (no packet socket: SRXE_WIRE_RX=raw).
	 * raw_fd changes under the engine lock while the wire's thread may
	 * poll: atomic. */
	int raw_fd, pkt_fd, oth_fd, rx_ep;
	bool gso; /* batched send: UDP_SEGMENT on source-port sockets */
	/* Source port - 0xC000 -> 0: no socket yet, -1: raw path (no
	 * socket could be had), k: sport_fd[k - 1]. */
	int16_t sport_slot[SPORT_COUNT];
	int sport_fd[PORT_SOCKS];
	uint16_t sport_of[PORT_SOCKS];	 /* sport_fd[k]'s port */
	uint64_t sport_used[PORT_SOCKS]; /* tx_seq at its last packet */
	uint64_t tx_seq;
	unsigned int nsports, max_sports;
	char note[200]; /* why not the full fast path; "" when it is */
	uint16_t next_id;
	unsigned int tx_count, nruns;
	struct srxe_wire_stats stats;
	struct tx_run runs[UDP_BATCH];
	union tx_sockaddr tx_addr[UDP_BATCH];
	struct iovec tx_iov[UDP_BATCH];
	struct iovec run_iov[UDP_BATCH]; /* a run's payloads, one range */
	struct mmsghdr tx_msg[UDP_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} tx_ctl[UDP_BATCH];
	/* Kernel drop counts of rx_fd and rx_fd6 already counted in
	 * stats.rx_overflow (srxe_udp_drops_advance). */
	uint32_t drops_seen, drops_pkt_seen, drops_oth_seen, drops6_seen,
		drops6mc_seen;
	struct iovec rx_iov[RX_BATCH];
	struct mmsghdr rx_msg[RX_BATCH];
	union {
		char buf[RX_CTL_LEN];
		struct cmsghdr align;
	} rx_ctl[RX_BATCH];
	/* IPv6 receive (rx_fd6): into rx_buf behind RX6_HDR_ROOM, polled
	 * after the IPv4 batch is done with the buffers. */
	struct iovec rx6_iov[RX_BATCH];
	struct mmsghdr rx6_msg[RX_BATCH];
	struct sockaddr_in6 rx6_from[RX_BATCH];
	union {
		char buf[RX6_CTL_LEN];
		struct cmsghdr align;
	} rx6_ctl[RX_BATCH];
	/* The batch's packets end to end (tx_used bytes so far): a run's
	 * UDP payloads are one range, handed to the kernel as one iovec. */
	uint8_t tx_area[UDP_BATCH * UDP_BUF_LEN];
	size_t tx_used;
	uint8_t rx_buf[RX_BATCH][RX_BUF_LEN];
};

uint16_t srxe_udp_src_port(uint32_t qpn)
{
	/* Linux hash_32(qpn, 14): the top 14 bits of qpn * GOLDEN_RATIO_32. */
	return (uint16_t)(ROCE_SPORT_BASE + ((qpn * GOLDEN_RATIO_32) >> 18));
}

static int attach_drop_all(int fd);
static void grow_buffer(int fd, int force_opt, int opt);

/* ---- transmit ---- */

/* Raw mode: never 0, the kernel replaces a zero ID of an IP_HDRINCL
 * packet. */
static uint16_t next_ip_id(struct udp_xport *u)
{
	if (!++u->next_id)
		u->next_id = 1;
	return u->next_id;
}

static void build_udp(uint8_t *udp, uint16_t sport, size_t udp_len)
{
	srxe_put_be16(udp, sport);
	srxe_put_be16(udp + 2, SRXE_ROCE_UDP_PORT);
	srxe_put_be16(udp + 4, (uint16_t)udp_len);
	srxe_put_be16(udp + 6, 0); /* no checksum: the ICRC covers the data */
}

/* Run @r's UDP payloads as one iovec: place_packet() put them end to
 * end. */
static struct iovec *run_range(struct udp_xport *u, unsigned int r)
{
	const struct tx_run *run = &u->runs[r];
	const struct iovec *first = &u->tx_iov[run->first];
	const struct iovec *last = first + run->count - 1;
	uint8_t *start = first->iov_base;

	u->run_iov[r] = (struct iovec){
		.iov_base = start,
		.iov_len = (size_t)((uint8_t *)last->iov_base - start) +
			   last->iov_len,
	};
	return &u->run_iov[r];
}

/* The sendmmsg entry of run @r. */
static void build_msg(struct udp_xport *u, unsigned int r)
{
	struct tx_run *run = &u->runs[r];
	struct msghdr *mh = &u->tx_msg[r].msg_hdr;
	socklen_t namelen;

	if (run->v6) {
		/* Link-local: the scope is the device's netdev. */
		u->tx_addr[r].v6 = (struct sockaddr_in6){
			.sin6_family = AF_INET6,
			.sin6_scope_id = u->eng->cfg.ifindex,
		};
		memcpy(&u->tx_addr[r].v6.sin6_addr, run->dst6, 16);
		namelen = sizeof(u->tx_addr[r].v6);
	} else {
		u->tx_addr[r].v4 = (struct sockaddr_in){
			.sin_family = AF_INET,
			.sin_port = run->udp ? htons(SRXE_ROCE_UDP_PORT) : 0,
			.sin_addr.s_addr = run->dst_be,
		};
		namelen = sizeof(u->tx_addr[r].v4);
	}
	*mh = (struct msghdr){
		.msg_name = &u->tx_addr[r],
		.msg_namelen = namelen,
		.msg_iov = &u->tx_iov[run->first],
		.msg_iovlen = 1,
	};
	if (run->count > 1) {
		struct cmsghdr *c;
		uint16_t seg = run->seg_len;

		mh->msg_iov = run_range(u, r);
		mh->msg_control = u->tx_ctl[r].buf;
		mh->msg_controllen = sizeof(u->tx_ctl[r].buf);
		c = CMSG_FIRSTHDR(mh);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(seg));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	}
}

/* Counts run @r as sent (@n bytes handed over) or failed. */
static void account_run(struct udp_xport *u, unsigned int r, int n, bool ok)
{
	const struct tx_run *run = &u->runs[r];

	if (!ok) {
		/* refused after xmit() took them: the engine's count of
		 * transmit errors holds these too (srxe_engine_stats adds
		 * them: any engine thread may be flushing) */
		u->stats.tx_errors += run->count;
		u->stats.tx_run_drops += run->count;
		return;
	}
	u->stats.pkts_sent += run->count;
	/* IP datagram bytes, as in raw mode, where @n includes headers */
	u->stats.bytes_sent +=
		(uint64_t)n +
		(run->udp ? run->count * (IPV4_HDR_LEN + UDP_HDR_LEN) : 0);
}

static void udp_flush(struct srxe_xport *t)
{
	struct udp_xport *u = t->priv;
	unsigned int done = 0;

	for (unsigned int r = 0; r < u->nruns; r++)
		build_msg(u, r);
	while (done < u->nruns) {
		/* Runs of one socket leave together.  A QP's packets all
		 * take one socket (its source port's, or the raw one), so
		 * each QP's order is kept. */
		int fd = u->runs[done].fd;
		unsigned int end = done + 1;
		int n;

		while (end < u->nruns && u->runs[end].fd == fd)
			end++;
		n = sendmmsg(fd, u->tx_msg + done, end - done, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* The first entry failed: drop it, go on. */
			account_run(u, done++, 0, false);
			continue;
		}
		for (int i = 0; i < n; i++)
			account_run(u, done + i,
				    (int)u->tx_msg[done + i].msg_len, true);
		done += (unsigned int)n;
	}
	u->tx_count = 0;
	u->tx_used = 0;
	u->nruns = 0;
}

/*
 * A UDP socket on (device address, @sport) for the batched send: DF, so
 * an unconnected send gets IPv4 ID 0 (see join_run); nothing received
 * (drop-all filter: a datagram to this port is none of srxe's).  No
 * SO_REUSEADDR/SO_REUSEPORT: a port another program holds stays its own
 * (EADDRINUSE), and that QP leaves on the raw path.  Blocking: a full
 * send buffer makes the engine wait rather than drop a run.
 */
static int open_sport(struct udp_xport *u, uint16_t sport)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(sport),
				 .sin_addr.s_addr = u->ipv4_be };
	int pmtu = IP_PMTUDISC_DO;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (attach_drop_all(fd) ||
	    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)) ||
	    bind(fd, (const struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	grow_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
	return fd;
}

/* Closes the source-port socket used least recently (QPs come and go,
 * their ports with them) and returns its index, now free.  The batch
 * leaves first: no run may still name it. */
static unsigned int evict_sport(struct udp_xport *u)
{
	unsigned int k = 0;

	udp_flush(&u->xport);
	for (unsigned int i = 1; i < u->nsports; i++)
		if (u->sport_used[i] < u->sport_used[k])
			k = i;
	close(u->sport_fd[k]);
	u->sport_slot[u->sport_of[k] - ROCE_SPORT_BASE] = 0;
	return k;
}

/* The socket of source port @sport, opened at its first use; -1: the
 * raw path (batched send off, or the port could not be bound: taken by
 * another program, or any failure; that port stays on the raw path). */
static int sport_sock(struct udp_xport *u, uint16_t sport)
{
	unsigned int k;
	int16_t *slot;
	int fd;

	if (!u->gso || sport < ROCE_SPORT_BASE)
		return -1;
	slot = &u->sport_slot[sport - ROCE_SPORT_BASE];
	if (*slot) {
		if (*slot < 0)
			return -1;
		u->sport_used[*slot - 1] = ++u->tx_seq;
		return u->sport_fd[*slot - 1];
	}
	k = u->nsports < u->max_sports ? u->nsports++ : evict_sport(u);
	fd = open_sport(u, sport);
	if (fd < 0) {
		/* k stays free: the last socket takes its place */
		if (k != --u->nsports) {
			u->sport_fd[k] = u->sport_fd[u->nsports];
			u->sport_of[k] = u->sport_of[u->nsports];
			u->sport_used[k] = u->sport_used[u->nsports];
			u->sport_slot[u->sport_of[k] - ROCE_SPORT_BASE] =
				(int16_t)(k + 1);
		}
		*slot = -1;
		return -1;
	}
	u->sport_fd[k] = fd;
	u->sport_of[k] = sport;
	u->sport_used[k] = ++u->tx_seq;
	*slot = (int16_t)(k + 1);
	return fd;
}

/*
 * Places a packet of @seg_len UDP payload bytes for @dst in a run on
 * socket @fd (@udp: a source-port socket) and returns its index in the
 * run.  A source-port socket's packets append to the last run while it
 * is that socket's to the same destination, the segments stay equal (one
 * shorter last one closes it) and the send stays within the kernel's
 * limits.  The index is the packet's IPv4 ID there: the kernel gives the
 * datagram of an unconnected UDP socket with DF the ID 0, and GSO
 * numbers the segments 0, 1, 2, ... from it.
 */
static unsigned int join_run(struct udp_xport *u, const struct srxe_dest *dst,
			     int fd, bool udp, size_t seg_len)
{
	struct tx_run *run = u->nruns ? &u->runs[u->nruns - 1] : NULL;
	uint32_t dst_be = dst->ipv4_be;

	/* The raw path sends datagrams one by one. */
	if (udp && run && run->fd == fd && !run->closed &&
	    run->dst_be == dst_be && seg_len <= run->seg_len &&
	    run->count < GSO_MAX_SEGS &&
	    (size_t)(run->count + 1) * run->seg_len <= GSO_MAX_BYTES) {
		if (seg_len < run->seg_len)
			run->closed = true;
		return run->count++;
	}
	run = &u->runs[u->nruns++];
	*run = (struct tx_run){ .dst_be = dst_be,
				.fd = fd,
				.seg_len = (uint16_t)seg_len,
				.first = (uint8_t)u->tx_count,
				.count = 1,
				.udp = udp,
				.v6 = dst->ipv6 };
	if (dst->ipv6)
		memcpy(run->dst6, dst->ip6, 16);
	return 0;
}

/* @hdrs is one of two sizes: copied as a constant, a few moves, where a
 * variable length became a rep movsq that took two thirds of udp_xmit's
 * time at path MTU 1024 (perf, docs/benchmarks.md session 19). */
static void copy_hdrs(uint8_t *to, const uint8_t *from, size_t hdrs)
{
	if (hdrs == IPV4_HDR_LEN + UDP_HDR_LEN)
		memcpy(to, from, IPV4_HDR_LEN + UDP_HDR_LEN);
	else
		memcpy(to, from, IPV6_HDR_LEN + UDP_HDR_LEN);
}

/*
 * Where a packet's IP header goes in tx_area: behind the batch's last
 * packet, so that a run's UDP payloads lie end to end and leave as one
 * iovec (the kernel's copy of one range costs the sender far less than
 * one per datagram: perftest/gso-shapes.sh, packed against slots).  A
 * packet that joins a run (@idx > 0) puts its payload right behind the
 * run's last one and its headers, which only its ICRC and a capture
 * read, over that one's last @hdrs bytes, saved in @tail until
 * end_packet().  tx_count < UDP_BATCH leaves room: no packet is longer
 * than UDP_BUF_LEN.
 */
static uint8_t *place_packet(struct udp_xport *u, unsigned int idx, size_t hdrs,
			     uint8_t *tail)
{
	uint8_t *end = u->tx_area + u->tx_used;

	if (!idx)
		return end;
	copy_hdrs(tail, end - hdrs, hdrs);
	return end - hdrs;
}

/* The packet of @len bytes at @ip is built: the one before it gets its
 * tail back, and the next goes behind this one. */
static void end_packet(struct udp_xport *u, unsigned int idx, uint8_t *ip,
		       size_t hdrs, const uint8_t *tail, size_t len)
{
	if (idx)
		copy_hdrs(ip, tail, hdrs);
	u->tx_used = (size_t)(ip + len - u->tx_area);
}

/* The headers as the kernel will send them, which the ICRC covers
 * (batched: the ID the kernel will give, @idx; IPv6 has no ID); rxe's
 * source port either way.  Multicast: the AH's hop limit is the TTL
 * (iphdr.h).  Written before the payload, so that the ICRC's wide loads
 * of them do not wait for these narrow stores to drain. */
static void build_packet(struct udp_xport *u, uint8_t *ip, size_t ip_len,
			 const struct srxe_tx_pkt *pkt,
			 const struct srxe_dest *dst, size_t udp_len, bool gso,
			 unsigned int idx)
{
	uint8_t *udp = ip + ip_len;
	uint8_t *payload = udp + UDP_HDR_LEN + pkt->hdr_len;

	srxe_ip_hdr_build(ip, &u->eng->cfg, dst, udp_len,
			  gso ? (uint16_t)idx
			      : (dst->ipv6 ? 0 : next_ip_id(u)));
	build_udp(udp, srxe_udp_src_port(pkt->src_qpn), udp_len);
	memcpy(udp + UDP_HDR_LEN, pkt->hdr, pkt->hdr_len);
	memset(payload + pkt->payload_len, 0, srxe_pad_len(pkt->payload_len));
	srxe_icrc_seal_gather(ip, ip_len, udp, udp_len,
			      UDP_HDR_LEN + pkt->hdr_len, pkt->chunks,
			      pkt->nchunks, pkt->payload_len);
	/* IPv6 wants a real UDP checksum (RFC 8200; a zero one is dropped
	 * by receivers that do not opt in).  It covers the ICRC, which
	 * masks it, so it comes last. */
	if (dst->ipv6)
		srxe_put_be16(udp + 6, srxe_udp6_checksum(ip, udp, udp_len));
	srxe_cap_wire(u->eng, ip, ip_len + udp_len, false);
}

static bool udp_xmit(struct srxe_xport *t, const struct srxe_tx_pkt *pkt,
		     const struct srxe_dest *dst)
{
	struct udp_xport *u = t->priv;
	uint32_t pad = srxe_pad_len(pkt->payload_len);
	size_t udp_len = UDP_HDR_LEN + pkt->hdr_len + pkt->payload_len + pad +
			 SRXE_ICRC_LEN;
	size_t ip_len = dst->ipv6 ? IPV6_HDR_LEN : IPV4_HDR_LEN;
	size_t hdrs = ip_len + UDP_HDR_LEN;
	uint8_t tail[IPV6_HDR_LEN + UDP_HDR_LEN];
	uint8_t *ip;
	unsigned int slot, idx;
	bool gso;
	int fd;

	if (ip_len + udp_len > UDP_BUF_LEN || (dst->ipv6 && u->tx6_fd < 0) ||
	    !srxe_tx_covered(pkt)) {
		u->stats.tx_errors++;
		return false;
	}
	if (u->tx_count == UDP_BATCH)
		udp_flush(t);
	/* IPv4 unicast takes its source port's socket where it has one;
	 * IPv6 and multicast (IP_MULTICAST_IF, the AH's TTL) the raw path. */
	fd = dst->ipv6 || srxe_ipv4_is_mcast(dst->ipv4_be)
		     ? -1
		     : sport_sock(u, srxe_udp_src_port(pkt->src_qpn));
	gso = fd >= 0;
	if (!gso)
		fd = dst->ipv6 ? u->tx6_fd : u->tx_fd;
	slot = u->tx_count;
	idx = join_run(u, dst, fd, gso, udp_len - UDP_HDR_LEN);
	u->tx_count++;
	ip = place_packet(u, idx, hdrs, tail);
	build_packet(u, ip, ip_len, pkt, dst, udp_len, gso, idx);
	if (gso) {
		u->tx_iov[slot].iov_base = ip + hdrs;
		u->tx_iov[slot].iov_len = udp_len - UDP_HDR_LEN;
	} else {
		u->tx_iov[slot].iov_base = ip;
		u->tx_iov[slot].iov_len = ip_len + udp_len;
	}
	end_packet(u, idx, ip, hdrs, tail, ip_len + udp_len);
	return true;
}

/* ---- receive ---- */

static void rx_drop(struct udp_xport *u, enum srxe_rx_reason reason)
{
	u->stats.rx_drops[reason]++;
}

int srxe_udp_rx_datagram(struct srxe_engine *eng, const uint8_t *ip, size_t len,
			 struct srxe_pkt *pkt)
{
	const struct srxe_engine_config *cfg = &eng->cfg;
	enum srxe_rx_reason reason;
	struct srxe_sg chunk;
	size_t ihl;
	bool ours;

	if (len < 1)
		return SRXE_RX_BAD_IP;
	switch (ip[0] >> 4) {
	case 4:
		if (len < IPV4_HDR_LEN)
			return SRXE_RX_BAD_IP;
		ihl = (size_t)(ip[0] & 0x0f) * 4;
		break;
	case 6:
		ihl = IPV6_HDR_LEN;
		break;
	default:
		return SRXE_RX_BAD_IP;
	}
	if (ihl < IPV4_HDR_LEN || ihl > len)
		return SRXE_RX_BAD_IP;
	reason = srxe_decode_udp(ip, ihl, ip + ihl, len - ihl, pkt);
	if (reason != SRXE_RX_OK)
		return reason;
	if (ip[0] >> 4 == 6) {
		const uint8_t *dst6 = ip + SRXE_IPV6_DST_OFF;

		if (dst6[0] == 0xff && !eng->rx.mcast6_joined(eng, dst6))
			return SRXE_UDP_RX_OTHER_GROUP;
		ours = dst6[0] == 0xff ||
		       (cfg->ipv6 && !memcmp(dst6, cfg->ipv6_ll, 16));
	} else {
		uint32_t dst_be;

		memcpy(&dst_be, ip + 16, 4);
		if (srxe_ipv4_is_mcast(dst_be) &&
		    !eng->rx.mcast4_joined(eng, dst_be))
			return SRXE_UDP_RX_OTHER_GROUP;
		ours = dst_be == cfg->ipv4_be || srxe_ipv4_is_mcast(dst_be);
	}
	if (!ours)
		return SRXE_UDP_RX_NOT_FOR_US;
	chunk.addr = (void *)pkt->payload;
	chunk.len = pkt->payload_len;
	eng->rx.deliver(eng, pkt, &chunk, pkt->payload_len ? 1 : 0);
	return SRXE_RX_OK;
}

static void rx_one(struct udp_xport *u, const uint8_t *ip, size_t len)
{
	struct srxe_pkt pkt;
	int ret;

	srxe_cap_wire(u->eng, ip, len, true);
	ret = srxe_udp_rx_datagram(u->eng, ip, len, &pkt);
	if (ret == SRXE_RX_OK) {
		u->stats.pkts_recv++;
		u->stats.bytes_recv += len;
	} else if (ret == SRXE_UDP_RX_NOT_FOR_US) {
		u->stats.rx_not_for_us++;
	} else if (ret == SRXE_UDP_RX_OTHER_GROUP) {
		u->eng->stats.mcast_other_group++;
	} else {
		rx_drop(u, (enum srxe_rx_reason)ret);
	}
}

/* Writes the @len header bytes @hdr at @d: a constant length without IP
 * options, as a variable one became a `rep movs` (a quarter of rx_gso). */
static void put_headers(uint8_t *d, const uint8_t *hdr, size_t len)
{
	if (len == IPV4_HDR_LEN + UDP_HDR_LEN)
		memcpy(d, hdr, IPV4_HDR_LEN + UDP_HDR_LEN);
	else
		memcpy(d, hdr, len);
}

#if defined(__x86_64__)
/*
 * The headers of a segment of an option-less run: IPv4 (total length
 * @ip_len, ID @id), UDP (length @udp_len) and the BTH's first 4 bytes,
 * which are the segment's own, as two 16-byte stores at 0 and 16: the
 * ICRC loads them that way (icrc.c).  A 28-byte copy and 2-byte stores of
 * the lengths and the ID made those loads wait for the store buffer,
 * every segment.
 */
static void put_segment_headers(uint8_t *d, const uint8_t *hdr, uint16_t ip_len,
				uint16_t id, uint16_t udp_len)
{
	__m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)hdr);
	__m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(hdr + 16));
	uint16_t bth0, bth1;

	memcpy(&bth0, d + 28, 2);
	memcpy(&bth1, d + 30, 2);
	/* 16-bit lanes: byte 2k and 2k + 1; the fields are big-endian */
	v0 = _mm_insert_epi16(v0, __builtin_bswap16(ip_len), 1);
	v0 = _mm_insert_epi16(v0, __builtin_bswap16(id), 2);
	v1 = _mm_insert_epi16(v1, __builtin_bswap16(udp_len), 4);
	v1 = _mm_insert_epi16(v1, bth0, 6);
	v1 = _mm_insert_epi16(v1, bth1, 7);
	_mm_storeu_si128((__m128i *)(void *)d, v0);
	_mm_storeu_si128((__m128i *)(void *)(d + 16), v1);
}
#endif

/* The headers of segment @d, @n UDP payload bytes (see rx_gso). */
static void put_headers_of(uint8_t *d, const uint8_t *hdr, size_t ihl, size_t n,
			   uint16_t id)
{
#if defined(__x86_64__)
	if (ihl == IPV4_HDR_LEN && n >= 4) {
		put_segment_headers(d, hdr, (uint16_t)(ihl + UDP_HDR_LEN + n),
				    id, (uint16_t)(UDP_HDR_LEN + n));
		return;
	}
#endif
	put_headers(d, hdr, ihl + UDP_HDR_LEN);
	srxe_put_be16(d + 2, (uint16_t)(ihl + UDP_HDR_LEN + n));
	srxe_put_be16(d + 4, id);
	srxe_put_be16(d + ihl + 4, (uint16_t)(UDP_HDR_LEN + n));
}

/*
 * A GSO run that reached us uncut (the sender's kernel left it whole:
 * veth, lo) or that GRO merged (the port socket enables UDP_GRO).
 * Segment i is what the kernel would have made of it, or had before the
 * merge: the UDP payload bytes [i * seg, (i + 1) * seg), with the IPv4
 * total length and UDP length of that size and the ID + i.  GRO also
 * merges datagrams that all carry one ID (DF set: a "fixed ID" flow, as
 * every single send of an unconnected DF socket has ID 0), and the frame
 * does not say which: segment 1 is checked both ways (its ICRC covers
 * the ID) and the run's other segments follow.  Each segment's headers
 * are written in place just before its payload, over the end of segment
 * i - 1, which srxe_eng_rx() has consumed by then (it copies what it
 * keeps), so every segment is one contiguous datagram for rx_one().
 */
static void rx_gso(struct udp_xport *u, uint8_t *ip, size_t len, size_t seg)
{
	uint8_t hdr[60 + UDP_HDR_LEN + 4], small[2 * (60 + UDP_HDR_LEN)];
	size_t ihl, payload, off;
	uint16_t id, step = 1, nth = 0;
	struct srxe_pkt pkt;

	ihl = len >= IPV4_HDR_LEN ? (size_t)(ip[0] & 0x0f) * 4 : 0;
	if (ip[0] >> 4 != 4 || ihl < IPV4_HDR_LEN || len < ihl + UDP_HDR_LEN) {
		rx_drop(u, SRXE_RX_BAD_IP);
		return;
	}
	memcpy(hdr, ip, ihl + UDP_HDR_LEN);
	memset(hdr + ihl + UDP_HDR_LEN, 0, 4); /* put_segment_headers' load */
	id = srxe_get_be16(ip + 4);
	payload = len - ihl - UDP_HDR_LEN;
	for (off = 0; off < payload; off += seg, nth++) {
		size_t n = payload - off < seg ? payload - off : seg;
		uint8_t *d = ip + off;

		/* Segments shorter than the headers (a run of ACKs): the
		 * headers would overwrite unread bytes, so use a copy. */
		if (seg < ihl + UDP_HDR_LEN) {
			d = small;
			memcpy(d + ihl + UDP_HDR_LEN,
			       ip + ihl + UDP_HDR_LEN + off, n);
		}
		put_headers_of(d, hdr, ihl, n, (uint16_t)(id + step * nth));
		if (off == seg &&
		    srxe_decode_udp(d, ihl, d + ihl, UDP_HDR_LEN + n, &pkt) ==
			    SRXE_RX_BAD_ICRC) {
			srxe_put_be16(d + 4, id);
			if (srxe_decode_udp(d, ihl, d + ihl, UDP_HDR_LEN + n,
					    &pkt) == SRXE_RX_OK)
				step = 0;
			else
				srxe_put_be16(d + 4, (uint16_t)(id + 1));
		}
		rx_one(u, d, ihl + UDP_HDR_LEN + n);
	}
}

/* One frame of the packet socket: virtio_net_hdr, Ethernet, IPv4. */
static void rx_packet(struct udp_xport *u, uint8_t *buf, size_t len)
{
	struct virtio_net_hdr vh;

	if (len < sizeof(vh) + ETH_HLEN) {
		rx_drop(u, SRXE_RX_BAD_IP);
		return;
	}
	memcpy(&vh, buf, sizeof(vh));
	buf += sizeof(vh) + ETH_HLEN;
	len -= sizeof(vh) + ETH_HLEN;
	if ((vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) ==
		    VIRTIO_NET_HDR_GSO_UDP_L4 &&
	    vh.gso_size)
		rx_gso(u, buf, len, vh.gso_size);
	else if (vh.gso_type == VIRTIO_NET_HDR_GSO_NONE)
		rx_one(u, buf, len);
	else
		rx_drop(u, SRXE_RX_BAD_UDP);
}

/*
 * One IPv6 datagram from the UDP socket, @n UDP payload bytes at
 * rx_buf[i] + RX6_HDR_ROOM.  The socket does not show the IPv6 and UDP
 * headers, but everything the ICRC covers in them is known: the
 * addresses (sender from the socket address, ours), payload length and
 * next header (no extension headers: RoCEv2 has none), the ports and the
 * UDP length; traffic class, flow label and hop limit (masked by the
 * ICRC, but a UD receive's GRH shows them) come as ancillary data.  The
 * UDP checksum, which the kernel verified and the ICRC masks, is left 0.
 * The headers are written back in front of the payload, and the datagram
 * takes the same path as an IPv4 one.
 */
static void rx6_one(struct udp_xport *u, unsigned int i, size_t n, bool mc)
{
	struct msghdr *mh = &u->rx6_msg[i].msg_hdr;
	const struct sockaddr_in6 *from = &u->rx6_from[i];
	uint8_t *ip = u->rx_buf[i], *udp = ip + IPV6_HDR_LEN;
	const uint8_t *dst = mc ? NULL : u->eng->cfg.ipv6_ll;
	struct in6_pktinfo pi;
	uint32_t flow = 0;
	int hop = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != IPPROTO_IPV6)
			continue;
		if (c->cmsg_type == IPV6_FLOWINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(flow)))
			memcpy(&flow, CMSG_DATA(c), sizeof(flow));
		else if (c->cmsg_type == IPV6_HOPLIMIT &&
			 c->cmsg_len >= CMSG_LEN(sizeof(hop)))
			memcpy(&hop, CMSG_DATA(c), sizeof(hop));
		else if (mc && c->cmsg_type == IPV6_PKTINFO &&
			 c->cmsg_len >= CMSG_LEN(sizeof(pi))) {
			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			dst = pi.ipi6_addr.s6_addr;
		}
	}
	/* The multicast socket's datagrams say where they went; one that
	 * does not cannot be placed (the ICRC covers the destination). */
	if (!dst) {
		u->stats.rx_not_for_us++;
		return;
	}
	/* flow info: traffic class and flow label, network order */
	srxe_put_be32(ip, 6u << 28 | (ntohl(flow) & 0x0fffffffu));
	srxe_put_be16(ip + 4, (uint16_t)(UDP_HDR_LEN + n));
	ip[6] = IPPROTO_UDP;
	ip[7] = (uint8_t)hop;
	memcpy(ip + SRXE_IPV6_SRC_OFF, &from->sin6_addr, 16);
	memcpy(ip + SRXE_IPV6_DST_OFF, dst, 16);
	memcpy(udp, &from->sin6_port, 2);
	srxe_put_be16(udp + 2, SRXE_ROCE_UDP_PORT);
	srxe_put_be16(udp + 4, (uint16_t)(UDP_HDR_LEN + n));
	srxe_put_be16(udp + 6, 0);
	rx_one(u, ip, RX6_HDR_ROOM + n);
}

/*
 * The drop count the kernel attached to the last datagram of a batch
 * (SO_RXQ_OVFL; none while the socket has dropped nothing).  Datagrams
 * leave the queue in the order they were queued, so the last one has the
 * newest count of the batch.
 */
static void rx_overflow_cmsg(struct udp_xport *u, struct msghdr *mh,
			     uint32_t *seen)
{
	uint32_t drops;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET ||
		    c->cmsg_type != SO_RXQ_OVFL ||
		    c->cmsg_len < CMSG_LEN(sizeof(drops)))
			continue;
		memcpy(&drops, CMSG_DATA(c), sizeof(drops));
		u->stats.rx_overflow += srxe_udp_drops_advance(seen, drops);
	}
}

/* The kernel's drop count of @fd in *@drops; false where it cannot say. */
static bool kernel_drops(int fd, uint32_t *drops)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) ||
	    len <= SK_MEMINFO_DROPS * sizeof(mem[0]))
		return false;
	*drops = mem[SK_MEMINFO_DROPS];
	return true;
}

/* The kernel's drop count of @fd now: drops no datagram has reported
 * yet (the socket stayed full, or nothing came after). */
static void rx_overflow_now(struct udp_xport *u, int fd, uint32_t *seen)
{
	uint32_t drops;

	if (kernel_drops(fd, &drops))
		u->stats.rx_overflow += srxe_udp_drops_advance(seen, drops);
}

/* One batch of the IPv6 socket @fd: the unicast one, or the multicast
 * one (@mc: its datagrams carry their destination as IPV6_PKTINFO);
 * @seen: that socket's last drop count. */
static unsigned int udp_poll6(struct udp_xport *u, int fd, bool mc,
			      uint32_t *seen)
{
	int n;

	if (fd < 0)
		return 0;
	for (int i = 0; i < RX_BATCH; i++) {
		/* recvmmsg() rewrote them last time */
		u->rx6_msg[i].msg_hdr.msg_namelen = sizeof(u->rx6_from[i]);
		u->rx6_msg[i].msg_hdr.msg_controllen = sizeof(u->rx6_ctl[i]);
	}
	n = recvmmsg(fd, u->rx6_msg, RX_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (u->rx6_msg[i].msg_hdr.msg_flags & MSG_TRUNC)
			u->stats.rx_truncated++;
		else
			rx6_one(u, (unsigned int)i, u->rx6_msg[i].msg_len, mc);
	}
	rx_overflow_cmsg(u, &u->rx6_msg[n - 1].msg_hdr, seen);
	return (unsigned int)n;
}

/* One batch of an IPv4 receive socket: the packet socket (@packet:
 * frames behind virtio_net_hdr), the cooked one or the raw one; @seen:
 * its last drop count. */
static unsigned int udp_poll4(struct udp_xport *u, int fd, bool packet,
			      uint32_t *seen)
{
	int n;

	for (int i = 0; i < RX_BATCH; i++) /* recvmmsg() rewrote it */
		u->rx_msg[i].msg_hdr.msg_controllen = sizeof(u->rx_ctl[i]);
	n = recvmmsg(fd, u->rx_msg, RX_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	rx_overflow_cmsg(u, &u->rx_msg[n - 1].msg_hdr, seen);
	for (int i = 0; i < n; i++) {
		size_t len = u->rx_msg[i].msg_len;

		if (u->rx_msg[i].msg_hdr.msg_flags & MSG_TRUNC)
			u->stats.rx_truncated++;
		else if (packet)
			rx_packet(u, u->rx_buf[i], len);
		else
			rx_one(u, u->rx_buf[i], len);
	}
	return (unsigned int)n;
}

/* One batch of receive socket @which (its rx_ep tag).  Each batch is
 * done with rx_buf before the next reuses it. */
static unsigned int poll_sock(struct udp_xport *u, uint32_t which)
{
	struct srxe_xport *t = &u->xport;

	switch (which) {
	case RX_SOCK_PACKET:
		return udp_poll4(u, u->pkt_fd, true, &u->drops_pkt_seen);
	case RX_SOCK_OTHER:
		return udp_poll4(u, u->oth_fd, false, &u->drops_oth_seen);
	case RX_SOCK_RAW:
		return udp_poll4(u,
				 __atomic_load_n(&u->raw_fd, __ATOMIC_ACQUIRE),
				 false, &u->drops_seen);
	case RX_SOCK_V6:
		return udp_poll6(u, t->rx_fd6, false, &u->drops6_seen);
	case RX_SOCK_V6MC:
		return udp_poll6(u, t->rx_fd6mc, true, &u->drops6mc_seen);
	}
	return 0;
}

/*
 * One epoll_wait() says which receive sockets hold datagrams; only those
 * are read.  An engine pass polls the wire every time, and most passes
 * find most sockets empty (the raw and IPv6 ones nearly always): one
 * syscall instead of one recvmmsg() per socket.  Without rx_ep (no
 * packet socket) the raw socket is the only IPv4 one: read them all.
 */
static unsigned int udp_poll(struct srxe_xport *t)
{
	struct udp_xport *u = t->priv;
	struct epoll_event ev[RX_SOCKS];
	unsigned int done = 0;
	int n;

	if (u->rx_ep < 0) {
		for (uint32_t s = RX_SOCK_RAW; s < RX_SOCKS; s++)
			done += poll_sock(u, s);
		return done;
	}
	n = epoll_wait(u->rx_ep, ev, RX_SOCKS, 0);
	for (int i = 0; i < n; i++)
		done += poll_sock(u, ev[i].data.u32);
	return done;
}

/* ---- sockets ---- */

/* No link has this type (dev->type is 16 bits). */
#define NO_HATYPE 0xffffffffu

/* What an IPv4 receive socket whose data starts at the IP header takes
 * (attach_rx_filter). */
enum rx_take {
	RX_TAKE_ALL,	     /* raw socket alone: unicast and groups */
	RX_TAKE_GROUPS,	     /* raw socket beside the packet sockets */
	RX_TAKE_OTHER_LINKS, /* cooked packet socket: unicast, not Ethernet
				or loopback (the packet socket's) */
};

/*
 * Keeps unfragmented IPv4 datagrams to UDP port 4791 whose destination is
 * @ipv4_be, or a multicast group received on @ifindex (any link when 0),
 * as @take says: the raw socket is not bound to the address, so that
 * multicast reaches it.  Every unicast datagram a raw socket keeps or
 * drops was cloned for it first, hence the packet sockets for unicast.
 */
static int attach_rx_filter(int fd, uint32_t ipv4_be, unsigned int ifindex,
			    enum rx_take take)
{
	bool split = take != RX_TAKE_ALL;
	/* ifindex 0: A = 0 instead of the link, which then always matches */
	struct sock_filter link =
		ifindex ? (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						       SKF_AD_OFF +
							       SKF_AD_IFINDEX)
			: (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, 0);
	/* no unicast: on to the group test, which sends it away */
	struct sock_filter to_us =
		take != RX_TAKE_GROUPS
			? (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
							       BPF_K,
						       ntohl(ipv4_be), 4, 0)
			: (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0);
	/* no groups: everything else to the end */
	struct sock_filter group =
		take != RX_TAKE_OTHER_LINKS
			? (struct sock_filter)BPF_JUMP(
				  BPF_JMP | BPF_JGE | BPF_K, 0xe0000000u, 0, 11)
			: (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 11);
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 16), /* destination */
		to_us,
		group,
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0xf0000000u, 10, 0),
		link,
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ifindex, 3, 8),
		/* unicast: the link type */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_HATYPE),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			 split ? ARPHRD_ETHER : NO_HATYPE, 6, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
			 split ? ARPHRD_LOOPBACK : NO_HATYPE, 5, 0),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 6), /* flags, offset */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 3, 0),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0), /* X = IHL * 4 */
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),	/* UDP dport */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SRXE_ROCE_UDP_PORT, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]),
				   .filter = code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			  sizeof(prog));
}

/*
 * The packet socket's filter (the IPv4 header starts at @l2, after the
 * Ethernet header): from an Ethernet or loopback link, received for this
 * host (not our own outgoing copies), IPv4 UDP to @ipv4_be, unfragmented,
 * destination port 4791.
 */
static int attach_packet_filter(int fd, uint32_t ipv4_be, uint32_t l2)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_HATYPE),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARPHRD_ETHER, 1, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARPHRD_LOOPBACK, 0, 11),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PACKET_HOST, 0, 9),
		BPF_STMT(BPF_LD | BPF_B | BPF_ABS, l2 + 9), /* protocol */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_UDP, 0, 7),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, l2 + 16), /* destination */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ntohl(ipv4_be), 0, 5),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, l2 + 6), /* flags, offset */
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, 3, 0),
		BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, l2),    /* X = IHL * 4 */
		BPF_STMT(BPF_LD | BPF_H | BPF_IND, l2 + 2), /* UDP dport */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SRXE_ROCE_UDP_PORT, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]),
				   .filter = code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			  sizeof(prog));
}

static int attach_drop_all(int fd)
{
	static struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = code };

	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
			  sizeof(prog));
}

/* Larger than the sysctl limit when privileged, else what it allows. */
static void grow_buffer(int fd, int force_opt, int opt)
{
	int bytes = SOCK_BUF_BYTES;

	if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)))
		setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
}

/*
 * A receive socket: the largest buffer allowed, and the kernel's drop
 * count with every datagram queued after a drop (socket_overflow).  Both
 * are best effort: without them the socket still works, drops are then
 * seen only through SO_MEMINFO.
 */
static void setup_rx_socket(int fd)
{
	int on = 1;

	grow_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
}

/* Whatever queued before the filter was attached. */
static void drain_unfiltered(int fd)
{
	uint8_t b[1];

	while (recv(fd, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
}

static int open_rx(struct udp_xport *u, enum rx_take take, const char **why)
{
	/* Not bound to the address: multicast datagrams are addressed to
	 * their group (the filter keeps this address and the groups). */
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_UDP);
	int err;

	if (fd < 0) {
		*why = "cannot open the raw receive socket (needs CAP_NET_RAW)";
		return -errno;
	}
	if (attach_rx_filter(fd, u->ipv4_be, u->eng->cfg.ifindex, take) ||
	    bind(fd, (const struct sockaddr *)&addr, sizeof(addr))) {
		*why = "cannot filter or bind the raw receive socket";
		err = -errno;
		close(fd);
		return err;
	}
	setup_rx_socket(fd);
	drain_unfiltered(fd);
	__atomic_store_n(&u->raw_fd, fd, __ATOMIC_RELEASE);
	return 0;
}

/*
 * Finishes packet socket @fd, whose options and filter were set with
 * @failed (nonzero: a call failed, errno says why): bound to IPv4 on
 * every interface, set up for receive, in *@out.  Closed on failure.
 */
static int bind_packet_rx(int fd, int failed, int *out)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_IP) };
	int err;

	if (failed || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		err = -errno;
		close(fd);
		return err;
	}
	setup_rx_socket(fd);
	*out = fd;
	return 0;
}

/*
 * Unicast from links other than Ethernet and loopback (an IP tunnel,
 * IPoIB), beside the packet socket, whose filter takes those two: a
 * cooked packet socket (the IP header first, whatever the link's), which
 * runs its filter before taking a datagram, where a raw socket takes a
 * clone of each first.
 */
static int open_other_rx(struct udp_xport *u)
{
	/* Protocol 0 until the filter is on: nothing queues unfiltered. */
	int fd =
		socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	return bind_packet_rx(fd,
			      attach_rx_filter(fd, u->ipv4_be,
					       u->eng->cfg.ifindex,
					       RX_TAKE_OTHER_LINKS),
			      &u->oth_fd);
}

/*
 * The unicast receive socket: a packet socket with virtio_net_hdr, which
 * says where an uncut GSO run is to be cut (a raw IP socket would get the
 * run as one datagram and no segment size).  PACKET_VNET_HDR needs
 * SOCK_RAW, so frames keep their Ethernet header; the filter takes only
 * Ethernet and loopback links (the cooked socket takes the others).  Bound
 * to every interface: a peer on another address of this host arrives
 * over lo, not the address's link.  It never sees multicast this host
 * loops back (af_packet drops PACKET_LOOPBACK): the raw socket takes
 * every group's datagrams.
 */
static int open_packet_rx(struct udp_xport *u)
{
	int on = 1;
	/* Protocol 0 until the filter is on: nothing queues unfiltered. */
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	return bind_packet_rx(
		fd,
		setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) ||
			attach_packet_filter(fd, u->ipv4_be, ETH_HLEN),
		&u->pkt_fd);
}

static int open_port_holder(struct udp_xport *u, struct sockaddr_in addr,
			    const char **why)
{
	u->port_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u->port_fd < 0) {
		*why = "cannot open the UDP port socket";
		return -errno;
	}
	addr.sin_port = htons(SRXE_ROCE_UDP_PORT);
	if (attach_drop_all(u->port_fd) ||
	    bind(u->port_fd, (const struct sockaddr *)&addr, sizeof(addr))) {
		*why = "cannot bind UDP port 4791 of the device address "
		       "(another device on it?)";
		return -errno;
	}
	return 0;
}

/*
 * Multicast leaves through the device's netdev (not the route to the
 * group) and loops back to this host's members (on by default).
 */
static int set_mcast_if(struct udp_xport *u, int fd)
{
	struct ip_mreqn mr = {
		.imr_address.s_addr = u->ipv4_be,
		.imr_ifindex = (int)u->eng->cfg.ifindex,
	};

	return setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof(mr));
}

static int open_tx(struct udp_xport *u, const char **why)
{
	u->tx_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (u->tx_fd < 0) {
		*why = "cannot open the raw send socket (needs CAP_NET_RAW)";
		return -errno;
	}
	if (set_mcast_if(u, u->tx_fd)) {
		*why = "cannot set IP_MULTICAST_IF on the raw send socket";
		return -errno;
	}
	grow_buffer(u->tx_fd, SO_SNDBUFFORCE, SO_SNDBUF);
	return 0;
}

/*
 * With the packet socket receiving, the port socket takes GSO runs whole
 * (UDP_GRO): without it the kernel cuts every run that arrives uncut
 * (veth, lo) into one skb per datagram only to drop each at the port
 * socket's filter (a fifth of the sending srxed's CPU at path MTU 1024).
 * It also lets GRO merge RoCEv2 datagrams from a NIC, which the packet
 * socket cuts back (rx_gso).  Best effort: without it, only that cost.
 */
static void gro_port(struct udp_xport *u)
{
	int on = 1;

	setsockopt(u->port_fd, SOL_UDP, UDP_GRO, &on, sizeof(on));
}

static void add_note(struct udp_xport *u, const char *what)
{
	size_t n = strlen(u->note);

	snprintf(u->note + n, sizeof(u->note) - n, "%s%s", n ? "; " : "", what);
}

/*
 * The batched send (source-port sockets, opened as QPs first send):
 * unless SRXE_WIRE_GSO=0 asks for the raw path, and where the kernel
 * knows UDP_SEGMENT (Linux 4.18; the port socket is asked, its segment
 * size stays 0: no GSO on it).
 */
static void setup_gso(struct udp_xport *u)
{
	const char *want = getenv("SRXE_WIRE_GSO");
	const char *max = getenv("SRXE_WIRE_SPORTS");
	int zero = 0;

	/* Tests: fewer source-port sockets, so that they give way often. */
	u->max_sports = max ? (unsigned int)strtoul(max, NULL, 10) : 0;
	if (!u->max_sports || u->max_sports > PORT_SOCKS)
		u->max_sports = PORT_SOCKS;
	if (want && !strcmp(want, "0")) {
		add_note(u, "batched send off (SRXE_WIRE_GSO=0): one "
			    "datagram per packet from the raw socket");
		return;
	}
	if (setsockopt(u->port_fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero))) {
		add_note(u, "batched send off: the kernel has no "
			    "UDP_SEGMENT; one datagram per packet from the "
			    "raw socket");
		return;
	}
	u->gso = true;
}

/* SRXE_WIRE_RX=raw: the raw socket receives everything, as before the
 * packet socket (comparisons, and tests of the raw socket itself). */
static bool raw_rx_forced(void)
{
	const char *rx = getenv("SRXE_WIRE_RX");

	return rx && !strcmp(rx, "raw");
}

/* Puts receive socket @fd into rx_ep, tagged @which; -1 (errno) when it
 * cannot.  Nothing to do without rx_ep or without the socket. */
static int watch_sock(struct udp_xport *u, int fd, uint32_t which)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = which };

	if (u->rx_ep < 0 || fd < 0)
		return 0;
	return epoll_ctl(u->rx_ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The engine waits on one fd: an epoll set of both IPv4 receive
 * sockets, and later the IPv6 ones (the engine also waits on those
 * itself); udp_poll asks it which sockets to read. */
static int open_rx_ep(struct udp_xport *u, const char **why)
{
	u->rx_ep = epoll_create1(EPOLL_CLOEXEC);
	if (u->rx_ep < 0 || watch_sock(u, u->pkt_fd, RX_SOCK_PACKET) ||
	    watch_sock(u, u->oth_fd, RX_SOCK_OTHER)) {
		*why = "cannot watch the receive sockets";
		return -errno;
	}
	u->xport.rx_fd = u->rx_ep;
	return 0;
}

/*
 * The wire's take_groups (pkt.h): beside the packet sockets the raw one
 * opens for the first IPv4 group, so that unicast, which a raw socket
 * would be handed a clone of each datagram of only to drop it, costs
 * nothing until then.  Stays open until the transport closes.
 */
static int udp_take_groups(struct srxe_xport *t, const char **why)
{
	struct udp_xport *u = t->priv;
	int ret;

	if (u->raw_fd >= 0)
		return 0;
	ret = open_rx(u, RX_TAKE_GROUPS, why);
	if (ret)
		return ret;
	/* What it dropped before its filter was on is not ours; the wire's
	 * thread reads drops_seen only once rx_ep reports the socket. */
	(void)kernel_drops(u->raw_fd, &u->drops_seen);
	if (watch_sock(u, u->raw_fd, RX_SOCK_RAW)) {
		ret = -errno;
		*why = "cannot watch the raw receive socket";
		close(u->raw_fd);
		__atomic_store_n(&u->raw_fd, -1, __ATOMIC_RELEASE);
	}
	return ret;
}

/*
 * IPv6 receive: a UDP socket bound to [link-local%netdev]:4791.  Unlike
 * IPv4 it needs no raw socket: the ICRC covers no IPv6 field the socket
 * hides (rx6_one).  Bound with freebind, so a link-local address still in
 * duplicate address detection can be bound (it receives once DAD is
 * over); zero UDP checksums (RFC 6936 tunnels) are accepted.
 */
static int open_rx6(struct udp_xport *u, const char **why)
{
	const struct srxe_engine_config *cfg = &u->eng->cfg;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons(SRXE_ROCE_UDP_PORT),
				  .sin6_scope_id = cfg->ifindex };
	int on = 1;
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	u->xport.rx_fd6 = fd;
	if (fd < 0) {
		*why = "cannot open the IPv6 UDP socket";
		return -errno;
	}
	memcpy(&a.sin6_addr, cfg->ipv6_ll, 16);
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_FLOWINFO, &on, sizeof(on)) ||
	    setsockopt(fd, SOL_UDP, UDP_NO_CHECK6_RX, &on, sizeof(on))) {
		*why = "cannot set the IPv6 UDP socket's options";
		return -errno;
	}
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &on, sizeof(on)))
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &on, sizeof(on));
	if (bind(fd, (const struct sockaddr *)&a, sizeof(a))) {
		*why = "cannot bind UDP port 4791 of the device's IPv6 "
		       "link-local address (another device on it?)";
		return -errno;
	}
	/* Only now: the multicast socket's [::]:4791 on the same netdev
	 * may join it (both need SO_REUSEADDR), a second device on this
	 * address still may not (its bind comes without). */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on))) {
		*why = "cannot set SO_REUSEADDR on the IPv6 UDP socket";
		return -errno;
	}
	setup_rx_socket(fd);
	return 0;
}

/*
 * IPv6 multicast receive (docs/multicast.md): the unicast socket, bound
 * to the link-local address, never sees a datagram sent to a group, so a
 * second UDP socket listens on [::]:4791 of the netdev only
 * (SO_BINDTOIFINDEX), with SO_REUSEADDR so that it shares the port with
 * the unicast socket.  It receives the datagrams of every group joined
 * on the netdev (IPV6_MULTICAST_ALL, the default: the joins are the
 * membership sockets' in mcast_eng.c), and IPV6_PKTINFO says which group
 * each went to (the ICRC covers it, the GRH shows it).  Other srxe
 * devices have sockets of their own on their own netdevs; the kernel
 * gives each socket its copy of a multicast datagram.
 */
static int open_rx6mc(struct udp_xport *u, const char **why)
{
	const struct srxe_engine_config *cfg = &u->eng->cfg;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6,
				  .sin6_port = htons(SRXE_ROCE_UDP_PORT) };
	int on = 1, ifindex = (int)cfg->ifindex;
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	u->xport.rx_fd6mc = fd;
	if (fd < 0) {
		*why = "cannot open the IPv6 multicast UDP socket";
		return -errno;
	}
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof(on)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_FLOWINFO, &on, sizeof(on)) ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) ||
	    setsockopt(fd, SOL_UDP, UDP_NO_CHECK6_RX, &on, sizeof(on)) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &ifindex,
		       sizeof(ifindex))) {
		*why = "cannot set the IPv6 multicast UDP socket's options";
		return -errno;
	}
	if (bind(fd, (const struct sockaddr *)&a, sizeof(a))) {
		*why = "cannot bind [::]:4791 on the netdev for IPv6 "
		       "multicast (a socket without SO_REUSEADDR holds it)";
		return -errno;
	}
	setup_rx_socket(fd);
	return 0;
}

/* IPv6 send: srxe writes the IPv6 header (traffic class, flow label, hop
 * limit of the AV; the ICRC is sealed over it) and the UDP header (rxe's
 * source port) itself, on an IPPROTO_RAW socket (header included). */
static int open_tx6(struct udp_xport *u, const char **why)
{
	u->tx6_fd = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (u->tx6_fd < 0) {
		*why = "cannot open the raw IPv6 send socket (needs "
		       "CAP_NET_RAW)";
		return -errno;
	}
	/* Multicast leaves on the netdev whatever the group's scope (the
	 * scope id only picks it for link- and interface-local groups) and
	 * loops back to this host's members (IPV6_MULTICAST_LOOP, on by
	 * default); the hop limit is the header's. */
	if (setsockopt(u->tx6_fd, IPPROTO_IPV6, IPV6_MULTICAST_IF,
		       &u->eng->cfg.ifindex, sizeof(u->eng->cfg.ifindex))) {
		*why = "cannot set IPV6_MULTICAST_IF on the raw IPv6 send "
		       "socket";
		return -errno;
	}
	grow_buffer(u->tx6_fd, SO_SNDBUFFORCE, SO_SNDBUF);
	return 0;
}

static void init_msgs(struct udp_xport *u)
{
	for (int i = 0; i < RX_BATCH; i++) {
		u->rx_iov[i].iov_base = u->rx_buf[i];
		u->rx_iov[i].iov_len = RX_BUF_LEN;
		u->rx_msg[i].msg_hdr = (struct msghdr){
			.msg_iov = &u->rx_iov[i],
			.msg_iovlen = 1,
			.msg_control = u->rx_ctl[i].buf,
			.msg_controllen = sizeof(u->rx_ctl[i]),
		};
		u->rx6_iov[i].iov_base = u->rx_buf[i] + RX6_HDR_ROOM;
		u->rx6_iov[i].iov_len = RX_BUF_LEN - RX6_HDR_ROOM;
		u->rx6_msg[i].msg_hdr = (struct msghdr){
			.msg_name = &u->rx6_from[i],
			.msg_namelen = sizeof(u->rx6_from[i]),
			.msg_iov = &u->rx6_iov[i],
			.msg_iovlen = 1,
			.msg_control = u->rx6_ctl[i].buf,
			.msg_controllen = sizeof(u->rx6_ctl[i]),
		};
	}
}

int srxe_udp_transport_open(struct srxe_engine *eng, uint32_t ipv4_be,
			    struct srxe_xport **out, const char **why)
{
	struct sockaddr_in addr = { .sin_family = AF_INET,
				    .sin_addr.s_addr = ipv4_be };
	struct udp_xport *u = calloc(1, sizeof(*u));
	int ret;

	*why = NULL;
	if (!u) {
		*why = "out of memory";
		return -ENOMEM;
	}
	u->eng = eng;
	u->ipv4_be = ipv4_be;
	u->tx_fd = u->port_fd = u->tx6_fd = -1;
	u->raw_fd = u->pkt_fd = u->oth_fd = u->rx_ep = -1;
	u->xport = (struct srxe_xport){
		.name = "udp",
		.xmit = udp_xmit,
		.poll = udp_poll,
		.flush = udp_flush,
		.take_groups = udp_take_groups,
		.rx_fd = -1,
		.rx_fd6 = -1,
		.rx_fd6mc = -1,
		.priv = u,
	};
	init_msgs(u);
	ret = open_port_holder(u, addr, why);
	/* The packet sockets, or else the raw socket for everything, at
	 * once: then runs that peers leave uncut (veth, lo) fail their
	 * ICRC here.  Beside the packet sockets the raw one waits for the
	 * first IPv4 group (udp_take_groups). */
	if (!ret && raw_rx_forced())
		add_note(u, "packet-socket receive off (SRXE_WIRE_RX=raw): "
			    "runs that srxe peers on this host send uncut "
			    "(veth, lo) fail their ICRC here");
	else if (!ret && open_packet_rx(u))
		add_note(u, "no packet socket: runs that srxe peers on this "
			    "host send uncut (veth, lo) fail their ICRC here");
	else if (!ret)
		gro_port(u);
	if (!ret && u->pkt_fd >= 0 && open_other_rx(u))
		add_note(u, "no cooked packet socket: unicast from links other "
			    "than Ethernet and loopback is not received");
	if (!ret && u->pkt_fd < 0)
		ret = open_rx(u, RX_TAKE_ALL, why);
	if (!ret)
		ret = open_tx(u, why);
	if (!ret && u->pkt_fd >= 0)
		ret = open_rx_ep(u, why);
	else if (!ret)
		u->xport.rx_fd = u->raw_fd;
	if (!ret)
		setup_gso(u);
	if (!ret && eng->cfg.ipv6) {
		ret = open_rx6(u, why);
		if (!ret)
			ret = open_tx6(u, why);
		if (!ret)
			ret = open_rx6mc(u, why);
		if (!ret && (watch_sock(u, u->xport.rx_fd6, RX_SOCK_V6) ||
			     watch_sock(u, u->xport.rx_fd6mc, RX_SOCK_V6MC))) {
			*why = "cannot watch the IPv6 receive sockets";
			ret = -errno;
		}
	}
	if (ret) {
		srxe_udp_transport_close(&u->xport);
		return ret;
	}
	/* What the raw socket dropped before its filter was on is not ours. */
	rx_overflow_now(u, u->raw_fd, &u->drops_seen);
	rx_overflow_now(u, u->pkt_fd, &u->drops_pkt_seen);
	rx_overflow_now(u, u->oth_fd, &u->drops_oth_seen);
	rx_overflow_now(u, u->xport.rx_fd6, &u->drops6_seen);
	rx_overflow_now(u, u->xport.rx_fd6mc, &u->drops6mc_seen);
	u->stats.rx_overflow = 0;
	*out = &u->xport;
	return 0;
}

void srxe_udp_transport_close(struct srxe_xport *t)
{
	struct udp_xport *u;

	if (!t)
		return;
	u = t->priv;
	if (u->rx_ep >= 0)
		close(u->rx_ep);
	if (u->raw_fd >= 0)
		close(u->raw_fd);
	if (u->pkt_fd >= 0)
		close(u->pkt_fd);
	if (u->oth_fd >= 0)
		close(u->oth_fd);
	for (unsigned int i = 0; i < u->nsports; i++)
		close(u->sport_fd[i]);
	if (t->rx_fd6 >= 0)
		close(t->rx_fd6);
	if (t->rx_fd6mc >= 0)
		close(t->rx_fd6mc);
	if (u->tx6_fd >= 0)
		close(u->tx6_fd);
	if (u->tx_fd >= 0)
		close(u->tx_fd);
	if (u->port_fd >= 0)
		close(u->port_fd);
	free(u);
}

void srxe_udp_transport_stats(struct srxe_xport *t, struct srxe_wire_stats *out)
{
	struct udp_xport *u = t->priv;

	rx_overflow_now(u, u->raw_fd, &u->drops_seen);
	rx_overflow_now(u, u->pkt_fd, &u->drops_pkt_seen);
	rx_overflow_now(u, u->oth_fd, &u->drops_oth_seen);
	rx_overflow_now(u, t->rx_fd6, &u->drops6_seen);
	rx_overflow_now(u, t->rx_fd6mc, &u->drops6mc_seen);
	*out = u->stats;
	out->ipv6 = t->rx_fd6 >= 0;
	out->note = u->note[0] ? u->note : NULL;
}
