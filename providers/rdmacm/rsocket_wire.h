/* SPDX-License-Identifier: MIT */
/*
 * The rsocket protocol on the wire, as rdma-core's librdmacm speaks it
 * (version 1), so that srxe's rsockets talk to rsockets on kernel rxe or
 * hardware; datagrams at the end.  Written from the protocol's behaviour,
 * docs/rdmacm.md "rsockets".
 *
 * Connection: each side's connect request or accept carries one
 * struct rsw_conn as rdma_cm private data (big-endian fields): where the
 * peer writes buffer grants to it (target_sgl: an array of RSW_SGL_SIZE
 * struct rsw_sge, its length field counts entries), the first half of its
 * receive buffer (data_buf) and its receive credits (posted receives).
 *
 * Transfer: every message is an RDMA WRITE WITH IMM whose immediate is
 * (op << 29 | value): DATA (value = bytes written at the grant's current
 * address), SGL (a grant: the write put one struct rsw_sge, in the
 * sender's byte order, into the peer's target_sgl slot; zero length: credits
 * only; value = the new credit limit, a 16-bit sequence number) and CTRL
 * (value = RSW_CTRL_*, no payload) and IOMAP_SGL (struct rsw_iomap below).
 * Each message consumes one of the peer's posted receives; riowrite's
 * plain RDMA WRITEs into an iomap consume none.
 */
#ifndef SRXE_RSOCKET_WIRE_H
#define SRXE_RSOCKET_WIRE_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#define RSW_VERSION	    1
#define RSW_SGL_SIZE	    2
#define RSW_CONN_FLAG_NET   (1u << 0) /* sender is big-endian */
#define RSW_CONN_FLAG_IOMAP (1u << 1)

enum rsw_op {
	RSW_OP_DATA = 0,
	RSW_OP_WRITE = 2, /* riowrite's plain WRITE: never on the wire */
	RSW_OP_SGL = 4,
	RSW_OP_IOMAP_SGL = 6,
	RSW_OP_CTRL = 7,
};

enum rsw_ctrl {
	RSW_CTRL_DISCONNECT = 0,
	RSW_CTRL_KEEPALIVE = 1,
	RSW_CTRL_SHUTDOWN = 2,
};

/* A remote buffer: address, rkey, length (bytes; entries in target_sgl). */
struct rsw_sge {
	uint64_t addr;
	uint32_t key;
	uint32_t length;
};

struct rsw_conn {
	uint8_t version;
	uint8_t flags;
	uint16_t credits; /* big-endian */
	uint8_t reserved[3];
	uint8_t target_iomap_size;
	struct rsw_sge target_sgl; /* fields big-endian */
	struct rsw_sge data_buf;   /* fields big-endian */
};

/*
 * An iomap (riomap): bytes at [offset, offset + sge.length) of the
 * mapping side's numbering lie at sge.addr under sge.key.  Written, in
 * the mapping side's byte order, into slot N of the peer's iomap array,
 * which follows its target_sgl entries in the same registration, with an
 * IOMAP_SGL immediate of value N; riowrite then writes there directly.
 */
struct rsw_iomap {
	uint64_t offset;
	struct rsw_sge sge;
};

/* The connection data's iomap count, in 8 bits: up to 128 as is, above
 * that a multiple of 256 with the top bit set. */
static inline uint8_t rsw_iomap_scale(unsigned int n)
{
	return (uint8_t)(n <= 128 ? n : 128 | (n >> 8));
}

static inline unsigned int rsw_iomap_count(uint8_t scaled)
{
	return scaled <= 128 ? scaled : (unsigned int)(scaled & 127) << 8;
}

#define RSW_VALUE_MASK 0x1fffffffu

static inline uint32_t rsw_imm(enum rsw_op op, uint32_t value)
{
	return ((uint32_t)op << 29) | (value & RSW_VALUE_MASK);
}

static inline enum rsw_op rsw_imm_op(uint32_t imm)
{
	return (enum rsw_op)(imm >> 29);
}

static inline uint32_t rsw_imm_value(uint32_t imm)
{
	return imm & RSW_VALUE_MASK;
}

static inline struct rsw_sge rsw_sge_to_be(struct rsw_sge s)
{
	return (struct rsw_sge){ .addr = htobe64(s.addr),
				 .key = htobe32(s.key),
				 .length = htobe32(s.length) };
}

static inline struct rsw_sge rsw_sge_from_be(struct rsw_sge s)
{
	return (struct rsw_sge){ .addr = be64toh(s.addr),
				 .key = be32toh(s.key),
				 .length = be32toh(s.length) };
}

/* A grant written by a peer whose byte order is not ours is swapped. */
static inline struct rsw_sge rsw_sge_swap(struct rsw_sge s)
{
	return (struct rsw_sge){ .addr = __builtin_bswap64(s.addr),
				 .key = __builtin_bswap32(s.key),
				 .length = __builtin_bswap32(s.length) };
}

static inline int rsw_host_is_be(void)
{
	return __BYTE_ORDER == __BIG_ENDIAN;
}

/*
 * Datagram rsockets (SOCK_DGRAM), in the shape of rdma-core's.  Each UD
 * message starts with a struct rsw_ds_hdr naming the sender's UDP address
 * (what recvfrom reports); a message over the kernel UDP socket starts with
 * a struct rsw_ds_udp naming the sender's UD QP: DATA carries a payload,
 * CTRL answers a DATA with the receiver's QP.  Lengths are 8 or 24 and 16
 * or 28 for IPv4 or IPv6; multi-byte fields are big-endian.
 */
#define RSW_DS_UDP_TAG 0x55555555u
#define RSW_DS_QKEY    0x01234567u /* RDMA_UDP_QKEY */
#define RSW_DS_HDR_V4  8u
#define RSW_DS_HDR_V6  24u
#define RSW_DS_UDP_V4  16u
#define RSW_DS_UDP_V6  28u

enum rsw_ds_udp_op {
	RSW_DS_DATA = RSW_OP_DATA,
	RSW_DS_CTRL = RSW_OP_CTRL,
};

struct rsw_ds_hdr {
	uint8_t version; /* 4 or 6 */
	uint8_t length;
	uint16_t port;
	union {
		uint32_t ipv4;
		struct {
			uint32_t flowinfo;
			uint8_t addr[16];
		} ipv6;
	} addr;
};

struct rsw_ds_udp {
	uint32_t tag;
	uint8_t version;
	uint8_t op;
	uint8_t length;
	uint8_t reserved;
	uint32_t qpn; /* low 24 bits */
	union {
		uint32_t ipv4;
		uint8_t ipv6[16];
	} addr;
};

/* The header length a UD message announces, or 0 when it is not one. */
static inline unsigned int rsw_ds_hdr_len(const struct rsw_ds_hdr *h,
					  uint32_t avail)
{
	if (avail < RSW_DS_HDR_V4)
		return 0;
	if (h->version == 4 && h->length == RSW_DS_HDR_V4)
		return RSW_DS_HDR_V4;
	if (h->version == 6 && h->length == RSW_DS_HDR_V6 &&
	    avail >= RSW_DS_HDR_V6)
		return RSW_DS_HDR_V6;
	return 0;
}

/*
 * Whether a UD message's header names the address its packet came from:
 * the 40-byte GRH a receive gets holds an IPv4 header in its last 20
 * bytes, or an IPv6 header.  A GRH of zeros (no IP header to compare)
 * agrees.
 */
static inline int rsw_ds_grh_agrees(const uint8_t grh[40],
				    const struct rsw_ds_hdr *h)
{
	if (grh[20] >> 4 == 4)
		return h->version == 4 && !memcmp(grh + 32, &h->addr.ipv4, 4);
	if (grh[0] >> 4 == 6)
		return h->version == 6 &&
		       !memcmp(grh + 8, h->addr.ipv6.addr, 16);
	return 1;
}

/* The same for a UDP message from an address of @family (4 or 6). */
static inline unsigned int rsw_ds_udp_len(const struct rsw_ds_udp *u,
					  uint32_t avail, int family)
{
	if (avail < RSW_DS_UDP_V4 || be32toh(u->tag) != RSW_DS_UDP_TAG)
		return 0;
	if (family == 4 && u->version == 4 && u->length == RSW_DS_UDP_V4)
		return RSW_DS_UDP_V4;
	if (family == 6 && u->version == 6 && u->length == RSW_DS_UDP_V6 &&
	    avail >= RSW_DS_UDP_V6)
		return RSW_DS_UDP_V6;
	return 0;
}

#endif
