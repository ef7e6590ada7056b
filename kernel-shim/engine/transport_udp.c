// SPDX-License-Identifier: MIT
/*
 * RoCEv2 over UDP/IPv4 (contract and the choice of raw sockets in
 * transport_udp.h).  Runs only on the engine thread, under the engine
 * lock, like every other transport.
 */
#include "transport_udp.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "decode.h"
#include "eng_int.h"
#include "icrc.h"
#include "wire.h"

_Static_assert(SRXE_RX_REASON_COUNT <= SRXE_WIRE_RX_REASONS,
	       "struct srxe_wire_stats has a slot per receive drop reason");

#define UDP_BATCH 32
/* Largest datagram srxe sends or accepts: IPv4 with options, UDP, the
 * longest header set, a 4096-byte payload, pad and ICRC fit easily. */
#define UDP_BUF_LEN	8192
#define IPV4_HDR_LEN	20
#define UDP_HDR_LEN	8
#define IPV4_DF		0x4000
#define IPV4_TTL	64
#define ROCE_SPORT_BASE 0xc000
#define GOLDEN_RATIO_32 0x61c88647u
/* Socket buffers: a few milliseconds of line rate, so a busy engine
 * thread does not lose a burst (1 MiB lost far more READ responses). */
#define SOCK_BUF_BYTES (8 << 20)

struct udp_xport {
	struct srxe_xport xport;
	struct srxe_engine *eng;
	uint32_t ipv4_be;
	int tx_fd, port_fd;
	uint16_t next_id;
	unsigned int tx_count;
	struct srxe_wire_stats stats;
	struct sockaddr_in tx_addr[UDP_BATCH];
	struct iovec tx_iov[UDP_BATCH];
	struct mmsghdr tx_msg[UDP_BATCH];
	struct iovec rx_iov[UDP_BATCH];
	struct mmsghdr rx_msg[UDP_BATCH];
	uint8_t tx_buf[UDP_BATCH][UDP_BUF_LEN];
	uint8_t rx_buf[UDP_BATCH][UDP_BUF_LEN];
};

uint16_t srxe_udp_src_port(uint32_t qpn)
{
	/* Linux hash_32(qpn, 14): the top 14 bits of qpn * GOLDEN_RATIO_32. */
	return (uint16_t)(ROCE_SPORT_BASE + ((qpn * GOLDEN_RATIO_32) >> 18));
}

/* ---- transmit ---- */

/* Never 0: the kernel replaces a zero ID of an IP_HDRINCL packet. */
static uint16_t next_ip_id(struct udp_xport *u)
{
	if (!++u->next_id)
		u->next_id = 1;
	return u->next_id;
}

static void build_ipv4(struct udp_xport *u, uint8_t *ip, uint32_t dst_be,
		       size_t udp_len)
{
	ip[0] = 0x45; /* version 4, IHL 5 */
	ip[1] = 0;    /* DSCP/ECN */
	srxe_put_be16(ip + 2, (uint16_t)(IPV4_HDR_LEN + udp_len));
	srxe_put_be16(ip + 4, next_ip_id(u));
	srxe_put_be16(ip + 6, IPV4_DF);
	ip[8] = IPV4_TTL;
	ip[9] = IPPROTO_UDP;
	srxe_put_be16(ip + 10, 0); /* the kernel fills it; the ICRC masks it */
	memcpy(ip + 12, &u->ipv4_be, 4);
	memcpy(ip + 16, &dst_be, 4);
}

static void build_udp(uint8_t *udp, uint16_t sport, size_t udp_len)
{
	srxe_put_be16(udp, sport);
	srxe_put_be16(udp + 2, SRXE_ROCE_UDP_PORT);
	srxe_put_be16(udp + 4, (uint16_t)udp_len);
	srxe_put_be16(udp + 6, 0); /* no checksum: the ICRC covers the data */
}

/* Gathers the payload chunks to @p; false if they do not hold @len. */
static bool gather_payload(uint8_t *p, const struct srxe_tx_pkt *pkt)
{
	uint32_t left = pkt->payload_len;

	for (int i = 0; i < pkt->nchunks && left; i++) {
		uint32_t n =
			pkt->chunks[i].len < left ? pkt->chunks[i].len : left;

		memcpy(p, pkt->chunks[i].addr, n);
		p += n;
		left -= n;
	}
	return !left;
}

static void udp_flush(struct srxe_xport *t)
{
	struct udp_xport *u = t->priv;
	unsigned int done = 0;

	while (done < u->tx_count) {
		int n = sendmmsg(u->tx_fd, u->tx_msg + done, u->tx_count - done,
				 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* The first datagram failed: drop it, go on. */
			u->stats.tx_errors++;
			done++;
			continue;
		}
		for (int i = 0; i < n; i++) {
			u->stats.pkts_sent++;
			u->stats.bytes_sent += u->tx_msg[done + i].msg_len;
		}
		done += (unsigned int)n;
	}
	u->tx_count = 0;
}

static bool udp_xmit(struct srxe_xport *t, const struct srxe_tx_pkt *pkt,
		     const struct srxe_dest *dst)
{
	struct udp_xport *u = t->priv;
	uint32_t pad = srxe_pad_len(pkt->payload_len);
	size_t udp_len = UDP_HDR_LEN + pkt->hdr_len + pkt->payload_len + pad +
			 SRXE_ICRC_LEN;
	uint8_t *ip, *udp;
	unsigned int slot;

	if (IPV4_HDR_LEN + udp_len > UDP_BUF_LEN) {
		u->stats.tx_errors++;
		return false;
	}
	if (u->tx_count == UDP_BATCH)
		udp_flush(t);
	slot = u->tx_count;
	ip = u->tx_buf[slot];
	udp = ip + IPV4_HDR_LEN;
	build_ipv4(u, ip, dst->ipv4_be, udp_len);
	build_udp(udp, srxe_udp_src_port(pkt->src_qpn), udp_len);
	memcpy(udp + UDP_HDR_LEN, pkt->hdr, pkt->hdr_len);
	if (!gather_payload(udp + UDP_HDR_LEN + pkt->hdr_len, pkt)) {
		u->stats.tx_errors++;
		return false;
	}
	memset(udp + UDP_HDR_LEN + pkt->hdr_len + pkt->payload_len, 0, pad);
	srxe_icrc_seal(ip, IPV4_HDR_LEN, udp, udp_len);

	u->tx_addr[slot] = (struct sockaddr_in){
		.sin_family = AF_INET,
		.sin_addr.s_addr = dst->ipv4_be,
	};
	u->tx_iov[slot].iov_base = ip;
	u->tx_iov[slot].iov_len = IPV4_HDR_LEN + udp_len;
	u->tx_count++;
	return true;
}

/* ---- receive ---- */

static void rx_drop(struct udp_xport *u, enum srxe_rx_reason reason)
{
	u->stats.rx_drops[reason]++;
}

static void rx_one(struct udp_xport *u, const uint8_t *ip, size_t len,
		   int flags)
{
	struct srxe_pkt pkt;
	enum srxe_rx_reason reason;
	struct srxe_sg chunk;
	uint32_t src_be, dst_be;
	size_t ihl;

	if (flags & MSG_TRUNC) {
		u->stats.rx_truncated++;
		return;
	}
	if (len < IPV4_HDR_LEN || ip[0] >> 4 != 4) {
		rx_drop(u, SRXE_RX_BAD_IP);
		return;
	}
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	if (ihl < IPV4_HDR_LEN || ihl > len) {
		rx_drop(u, SRXE_RX_BAD_IP);
		return;
	}
	reason = srxe_decode_udp(ip, ihl, ip + ihl, len - ihl, &pkt);
	if (reason != SRXE_RX_OK) {
		rx_drop(u, reason);
		return;
	}
	memcpy(&src_be, ip + 12, 4);
	memcpy(&dst_be, ip + 16, 4);
	if (dst_be != u->ipv4_be) {
		u->stats.rx_not_for_us++;
		return;
	}
	u->stats.pkts_recv++;
	u->stats.bytes_recv += len;
	chunk.addr = (void *)pkt.payload;
	chunk.len = pkt.payload_len;
	srxe_eng_rx(u->eng, &pkt, &chunk, pkt.payload_len ? 1 : 0, src_be,
		    dst_be);
}

static unsigned int udp_poll(struct srxe_xport *t)
{
	struct udp_xport *u = t->priv;
	int n = recvmmsg(t->rx_fd, u->rx_msg, UDP_BATCH, MSG_DONTWAIT, NULL);

	for (int i = 0; i < n; i++)
		rx_one(u, u->rx_buf[i], u->rx_msg[i].msg_len,
		       u->rx_msg[i].msg_hdr.msg_flags);
	return n > 0 ? (unsigned int)n : 0;
}

/* ---- sockets ---- */

/* Keeps unfragmented IPv4 datagrams whose UDP destination port is 4791. */
static int attach_rx_filter(int fd)
{
	static struct sock_filter code[] = {
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

/* Whatever queued before the filter was attached. */
static void drain_unfiltered(int fd)
{
	uint8_t b[1];

	while (recv(fd, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
}

static int open_rx(struct udp_xport *u, const struct sockaddr_in *addr,
		   const char **why)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			IPPROTO_UDP);

	u->xport.rx_fd = fd;
	if (fd < 0) {
		*why = "cannot open the raw receive socket (needs CAP_NET_RAW)";
		return -errno;
	}
	if (attach_rx_filter(fd) ||
	    bind(fd, (const struct sockaddr *)addr, sizeof(*addr))) {
		*why = "cannot filter or bind the raw receive socket";
		return -errno;
	}
	grow_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
	drain_unfiltered(fd);
	return 0;
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

static int open_tx(struct udp_xport *u, const char **why)
{
	u->tx_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (u->tx_fd < 0) {
		*why = "cannot open the raw send socket (needs CAP_NET_RAW)";
		return -errno;
	}
	grow_buffer(u->tx_fd, SO_SNDBUFFORCE, SO_SNDBUF);
	return 0;
}

static void init_msgs(struct udp_xport *u)
{
	for (int i = 0; i < UDP_BATCH; i++) {
		u->tx_msg[i].msg_hdr = (struct msghdr){
			.msg_name = &u->tx_addr[i],
			.msg_namelen = sizeof(u->tx_addr[i]),
			.msg_iov = &u->tx_iov[i],
			.msg_iovlen = 1,
		};
		u->rx_iov[i].iov_base = u->rx_buf[i];
		u->rx_iov[i].iov_len = UDP_BUF_LEN;
		u->rx_msg[i].msg_hdr = (struct msghdr){
			.msg_iov = &u->rx_iov[i],
			.msg_iovlen = 1,
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
	u->tx_fd = u->port_fd = -1;
	u->xport = (struct srxe_xport){
		.name = "udp",
		.xmit = udp_xmit,
		.poll = udp_poll,
		.flush = udp_flush,
		.rx_fd = -1,
		.priv = u,
	};
	init_msgs(u);
	ret = open_port_holder(u, addr, why);
	if (!ret)
		ret = open_rx(u, &addr, why);
	if (!ret)
		ret = open_tx(u, why);
	if (ret) {
		srxe_udp_transport_close(&u->xport);
		return ret;
	}
	*out = &u->xport;
	return 0;
}

void srxe_udp_transport_close(struct srxe_xport *t)
{
	struct udp_xport *u;

	if (!t)
		return;
	u = t->priv;
	if (t->rx_fd >= 0)
		close(t->rx_fd);
	if (u->tx_fd >= 0)
		close(u->tx_fd);
	if (u->port_fd >= 0)
		close(u->port_fd);
	free(u);
}

void srxe_udp_transport_stats(const struct srxe_xport *t,
			      struct srxe_wire_stats *out)
{
	const struct udp_xport *u = t->priv;

	*out = u->stats;
}
