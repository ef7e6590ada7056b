// SPDX-License-Identifier: MIT
/*
 * CM MADs from the network at srxed's QP 1 (issue #11, must-show 5): raw
 * RoCEv2 datagrams (IPv4 | UDP to 4791 | BTH UD SEND Only to QPN 1 | DETH
 * Q_Key 0x80010000, source QP 1 | 256-byte MAD | ICRC), built here with
 * srxe's CM MAD codec and ICRC and sent on a raw socket (IP_HDRINCL, so
 * the IPv4 identification the ICRC covers is ours; needs CAP_NET_RAW).
 * The source address is another local address (SRC, e.g. 127.0.0.2), so
 * that srxed's answers leave on the wire to SRC:4791, where a UDP socket
 * of this program collects and decodes them.
 *
 *   cm_flood flood DST SRC PORT COUNT RATE
 *	COUNT REQs (rdma_cm TCP port space, service PORT) to DST, each with
 *	its own local comm id, QPN, UDP source port and cma_hdr source port,
 *	RATE per second (0: as fast as the socket takes them).
 *   cm_flood keys DST SRC PORT
 *	a REQ to PORT (no listener) with good keys must get REJ 8, one with
 *	a wrong DETH Q_Key or BTH P_Key must be dropped (as kernel rxe).
 *   cm_flood fuzz DST SRC PORT COUNT SEED
 *	COUNT MADs mutated from valid REQ (to PORT and to a port nobody
 *	listens on), MRA, REJ, REP, RTU, DREQ, DREP, SIDR_REQ, SIDR_REP:
 *	random bytes, attribute ids, bad class/version/method/status,
 *	truncated and overlong MADs, random comm ids, a wrong Q_Key, P_Key
 *	or source QP.  Repeatable: xorshift64 from SEED.
 *
 * Prints what it sent and every answer it received by CM attribute (REJ
 * by reason), e.g. "replies: REJ 99872 (reason 28: 99872), REP 0, ...".
 * Exits 0 unless it could not send.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cm/cm_mad.h"
#include "engine/packet/icrc.h"

#define ROCE_PORT    4791
#define IP_LEN	     20
#define UDP_LEN	     8
#define BTH_LEN	     12
#define DETH_LEN     8
#define ICRC_LEN     4
#define UD_SEND_ONLY 0x64
#define PS_TCP	     0x0106
#define PS_UDP	     0x0111
#define PKT_MAX	     (IP_LEN + UDP_LEN + BTH_LEN + DETH_LEN + 512 + ICRC_LEN)
#define BATCH	     64

static uint32_t dst_ip, src_ip; /* network order */
static uint16_t ip_id = 1;
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* Transport fields a fuzz case may get wrong. */
struct xport {
	uint16_t sport;
	uint16_t pkey;
	uint32_t qkey;
	uint32_t sqpn;
	uint32_t dqpn;
	uint8_t opcode;
};

static struct xport good_xport(uint16_t sport)
{
	return (struct xport){ .sport = sport,
			       .pkey = 0xffff,
			       .qkey = SRXE_GSI_QKEY,
			       .sqpn = SRXE_GSI_QPN,
			       .dqpn = SRXE_GSI_QPN,
			       .opcode = UD_SEND_ONLY };
}

/* One datagram in @pkt around @mad_len bytes of @mad; returns its length. */
static size_t build(uint8_t *pkt, const struct xport *x, const uint8_t *mad,
		    size_t mad_len)
{
	size_t pad = (4 - mad_len % 4) % 4;
	size_t udp_len =
		UDP_LEN + BTH_LEN + DETH_LEN + mad_len + pad + ICRC_LEN;
	size_t len = IP_LEN + udp_len;
	uint8_t *udp = pkt + IP_LEN, *bth = udp + UDP_LEN;
	uint8_t *deth = bth + BTH_LEN;

	memset(pkt, 0, len);
	pkt[0] = 0x45;
	put16(pkt + 2, (uint16_t)len);
	if (!++ip_id) /* the kernel fills in an ID of 0 itself */
		ip_id = 1;
	put16(pkt + 4, ip_id);
	put16(pkt + 6, 0x4000); /* DF */
	pkt[8] = 64;
	pkt[9] = IPPROTO_UDP;
	memcpy(pkt + 12, &src_ip, 4);
	memcpy(pkt + 16, &dst_ip, 4);
	put16(udp, x->sport);
	put16(udp + 2, ROCE_PORT);
	put16(udp + 4, (uint16_t)udp_len);
	bth[0] = x->opcode;
	bth[1] = (uint8_t)(pad << 4);
	put16(bth + 2, x->pkey);
	put24(bth + 5, x->dqpn);
	put24(bth + 9, (uint32_t)rnd() & 0xffffff);
	put32(deth, x->qkey);
	put24(deth + 5, x->sqpn);
	memcpy(deth + DETH_LEN, mad, mad_len);
	if (srxe_icrc_seal(pkt, IP_LEN, udp, udp_len)) {
		fprintf(stderr, "cm_flood: cannot seal the ICRC\n");
		exit(1);
	}
	return len;
}

static void mapped_gid(uint8_t gid[16], uint32_t ip_be)
{
	memset(gid, 0, 16);
	gid[10] = gid[11] = 0xff;
	memcpy(gid + 12, &ip_be, 4);
}

/* A REQ as kernel rdma_cm sends it on RoCEv2 (TCP port space). */
static void make_req(struct srxe_cm_msg *m, uint32_t comm_id, uint16_t port,
		     uint16_t cma_sport)
{
	struct srxe_cm_req *r = &m->req;
	struct srxe_cma_hdr h = { .ip_version = 4,
				  .src_port = cma_sport,
				  .dst_port = port };

	memset(m, 0, sizeof(*m));
	m->hdr.tid = ((uint64_t)0x5352u << 48) | comm_id;
	m->hdr.attr_id = SRXE_CM_ATTR_REQ;
	r->local_comm_id = comm_id;
	r->service_id = srxe_cm_service_id(PS_TCP, port);
	r->local_ca_guid = 0x0200c0fffe000001ull;
	/* Distinct QPNs: a REQ from the QPN and GID of a live connection
	 * is stale (REJ 10), as kernel ib_cm's cm_insert_remote_qpn(). */
	r->local_qpn = (0x100 + comm_id) & 0xffffff;
	r->responder_resources = 1;
	r->initiator_depth = 1;
	r->remote_cm_response_timeout = 20;
	r->transport_service_type = 0; /* RC */
	r->end_to_end_flow_control = 1;
	r->starting_psn = comm_id * 2654435761u & 0xffffff;
	r->local_cm_response_timeout = 20;
	r->retry_count = 7;
	r->partition_key = 0xffff;
	r->path_mtu = 3; /* 1024 */
	r->rnr_retry_count = 7;
	r->max_cm_retries = 15;
	r->primary.local_lid = 0xffff;
	r->primary.remote_lid = 0xffff;
	mapped_gid(r->primary.local_gid, src_ip);
	mapped_gid(r->primary.remote_gid, dst_ip);
	r->primary.packet_rate = 3;
	r->primary.hop_limit = 64;
	r->primary.local_ack_timeout = 18;
	mapped_gid(h.src_addr, src_ip);
	mapped_gid(h.dst_addr, dst_ip);
	srxe_cma_hdr_encode(&h, r->private_data);
}

/* Encodes @m and checks that srxe's own decoder takes it. */
static void encode_valid(const struct srxe_cm_msg *m, uint8_t mad[SRXE_MAD_LEN])
{
	struct srxe_cm_msg back;
	const char *why = NULL;

	srxe_cm_mad_encode(m, mad);
	if (srxe_cm_mad_decode(mad, SRXE_MAD_LEN, &back, &why)) {
		fprintf(stderr, "cm_flood: template %s does not decode: %s\n",
			srxe_cm_attr_name(m->hdr.attr_id), why ? why : "?");
		exit(1);
	}
}

/* The answers srxed sends to SRC:4791. */
struct replies {
	uint32_t last_rej_to; /* remote comm id of the last REJ */
	uint64_t by_attr[0x20];
	uint64_t rej_reason[64];
	uint64_t undecodable;
	int fd;
};

static void drain(struct replies *r)
{
	uint8_t buf[2048];

	for (;;) {
		ssize_t n = recv(r->fd, buf, sizeof(buf), MSG_DONTWAIT);
		struct srxe_cm_msg m;
		const char *why;

		if (n < 0)
			return;
		if (n < BTH_LEN + DETH_LEN + SRXE_MAD_LEN + ICRC_LEN ||
		    srxe_cm_mad_decode(buf + BTH_LEN + DETH_LEN, SRXE_MAD_LEN,
				       &m, &why)) {
			r->undecodable++;
			continue;
		}
		r->by_attr[m.hdr.attr_id & 0x1f]++;
		if (m.hdr.attr_id == SRXE_CM_ATTR_REJ) {
			r->rej_reason[m.rej.reason < 64 ? m.rej.reason : 63]++;
			r->last_rej_to = m.rej.remote_comm_id;
		}
	}
}

/* Collects answers until none came for @quiet_ms (at most @max_ms). */
static void drain_until_quiet(struct replies *r, int quiet_ms, int max_ms)
{
	uint64_t end = now_ns() + (uint64_t)max_ms * 1000000u;
	struct pollfd p = { .fd = r->fd, .events = POLLIN };

	while (now_ns() < end && poll(&p, 1, quiet_ms) > 0)
		drain(r);
}

static void print_replies(const struct replies *r)
{
	static const uint16_t attrs[] = {
		SRXE_CM_ATTR_REQ,  SRXE_CM_ATTR_MRA,	  SRXE_CM_ATTR_REJ,
		SRXE_CM_ATTR_REP,  SRXE_CM_ATTR_RTU,	  SRXE_CM_ATTR_DREQ,
		SRXE_CM_ATTR_DREP, SRXE_CM_ATTR_SIDR_REQ, SRXE_CM_ATTR_SIDR_REP,
	};

	printf("replies:");
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		printf(" %s %llu", srxe_cm_attr_name(attrs[i]),
		       (unsigned long long)r->by_attr[attrs[i] & 0x1f]);
		if (attrs[i] == SRXE_CM_ATTR_REJ) {
			const char *sep = " (";

			for (int j = 0; j < 64; j++) {
				if (!r->rej_reason[j])
					continue;
				printf("%sreason %d: %llu", sep, j,
				       (unsigned long long)r->rej_reason[j]);
				sep = ", ";
			}
			if (*sep == ',')
				printf(")");
		}
		printf(",");
	}
	printf(" undecodable %llu\n", (unsigned long long)r->undecodable);
}

static int reply_socket(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(ROCE_PORT),
				 .sin_addr.s_addr = src_ip };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int sz = 16 << 20;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("cm_flood: bind SRC:4791 for the answers");
		exit(1);
	}
	/* Root may exceed rmem_max; a full buffer only loses counts. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return fd;
}

struct sender {
	int fd;
	int n;
	uint8_t pkt[BATCH][PKT_MAX];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	struct sockaddr_in dst;
	uint64_t sent, errors;
};

static void sender_init(struct sender *s)
{
	int sz = 4 << 20;

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (s->fd < 0) {
		perror("cm_flood: raw socket (needs CAP_NET_RAW)");
		exit(1);
	}
	setsockopt(s->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	s->dst = (struct sockaddr_in){ .sin_family = AF_INET,
				       .sin_addr.s_addr = dst_ip };
}

static void sender_flush(struct sender *s, struct replies *r)
{
	int off = 0;

	while (off < s->n) {
		int ret = sendmmsg(s->fd, s->msg + off,
				   (unsigned int)(s->n - off), 0);

		if (ret < 0) {
			if (errno == ENOBUFS || errno == EAGAIN) {
				drain(r);
				usleep(1000);
				continue;
			}
			s->errors++;
			off++;
			continue;
		}
		off += ret;
		s->sent += (uint64_t)ret;
	}
	s->n = 0;
}

static uint8_t *sender_slot(struct sender *s, struct replies *r)
{
	if (s->n == BATCH)
		sender_flush(s, r);
	return s->pkt[s->n];
}

static void sender_commit(struct sender *s, size_t len)
{
	int i = s->n++;

	s->iov[i] = (struct iovec){ .iov_base = s->pkt[i], .iov_len = len };
	s->msg[i] = (struct mmsghdr){ .msg_hdr = {
					      .msg_name = &s->dst,
					      .msg_namelen = sizeof(s->dst),
					      .msg_iov = &s->iov[i],
					      .msg_iovlen = 1,
				      } };
}

static int do_flood(uint16_t port, uint32_t count, uint32_t rate)
{
	struct replies r = { .fd = reply_socket() };
	static struct sender s;
	uint64_t t0 = now_ns();
	uint8_t mad[SRXE_MAD_LEN];
	struct srxe_cm_msg m;

	sender_init(&s);
	for (uint32_t i = 0; i < count; i++) {
		struct xport x = good_xport((uint16_t)(0xc000 + (i & 0x3fff)));
		uint8_t *pkt = sender_slot(&s, &r);

		make_req(&m, 0x10000000u + i, port,
			 (uint16_t)(1024 + i % 60000));
		if (i == 0)
			encode_valid(&m, mad);
		else
			srxe_cm_mad_encode(&m, mad);
		sender_commit(&s, build(pkt, &x, mad, SRXE_MAD_LEN));
		if (s.n == BATCH) {
			sender_flush(&s, &r);
			drain(&r);
			/* Pace: never ahead of RATE per second. */
			while (rate && (now_ns() - t0) * rate <
					       (uint64_t)(i + 1) * 1000000000u)
				usleep(200);
		}
	}
	sender_flush(&s, &r);
	printf("flood: sent %llu REQs to service 0x%016llx in %.2f s, "
	       "send errors %llu\n",
	       (unsigned long long)s.sent,
	       (unsigned long long)srxe_cm_service_id(PS_TCP, port),
	       (double)(now_ns() - t0) / 1e9, (unsigned long long)s.errors);
	drain_until_quiet(&r, 1500, 20000);
	print_replies(&r);
	return s.sent == count ? 0 : 1;
}

enum {
	T_REQ,
	T_REQ_NOSVC,
	T_MRA,
	T_REJ,
	T_REP,
	T_RTU,
	T_DREQ,
	T_DREP,
	T_SIDR_REQ,
	T_SIDR_REP,
	T_COUNT
};

static void make_template(int t, uint16_t port, uint32_t id,
			  uint8_t mad[SRXE_MAD_LEN])
{
	struct srxe_cm_msg m;
	uint32_t remote = (uint32_t)rnd();

	memset(&m, 0, sizeof(m));
	switch (t) {
	case T_REQ:
	case T_REQ_NOSVC:
		make_req(&m, id, t == T_REQ ? port : (uint16_t)(port + 1),
			 (uint16_t)(1024 + id % 60000));
		break;
	case T_MRA:
		m.hdr.attr_id = SRXE_CM_ATTR_MRA;
		m.mra.local_comm_id = id;
		m.mra.remote_comm_id = remote;
		m.mra.message_mraed = (uint8_t)rnd_below(3);
		m.mra.service_timeout = 20;
		break;
	case T_REJ:
		m.hdr.attr_id = SRXE_CM_ATTR_REJ;
		m.rej.local_comm_id = id;
		m.rej.remote_comm_id = remote;
		m.rej.message_rejected = (uint8_t)rnd_below(3);
		m.rej.reason = (uint16_t)rnd_below(40);
		break;
	case T_REP:
		m.hdr.attr_id = SRXE_CM_ATTR_REP;
		m.rep.local_comm_id = id;
		m.rep.remote_comm_id = remote;
		m.rep.local_qpn = 0x200;
		m.rep.starting_psn = 0x1234;
		m.rep.responder_resources = 1;
		m.rep.initiator_depth = 1;
		m.rep.target_ack_delay = 10;
		m.rep.rnr_retry_count = 7;
		m.rep.local_ca_guid = 0x0200c0fffe000001ull;
		break;
	case T_RTU:
		m.hdr.attr_id = SRXE_CM_ATTR_RTU;
		m.rtu.local_comm_id = id;
		m.rtu.remote_comm_id = remote;
		break;
	case T_DREQ:
		m.hdr.attr_id = SRXE_CM_ATTR_DREQ;
		m.dreq.local_comm_id = id;
		m.dreq.remote_comm_id = remote;
		m.dreq.remote_qpn = 0x200;
		break;
	case T_DREP:
		m.hdr.attr_id = SRXE_CM_ATTR_DREP;
		m.drep.local_comm_id = id;
		m.drep.remote_comm_id = remote;
		break;
	case T_SIDR_REQ:
		m.hdr.attr_id = SRXE_CM_ATTR_SIDR_REQ;
		m.sidr_req.request_id = id;
		m.sidr_req.partition_key = 0xffff;
		m.sidr_req.service_id = srxe_cm_service_id(PS_UDP, port);
		break;
	case T_SIDR_REP:
		m.hdr.attr_id = SRXE_CM_ATTR_SIDR_REP;
		m.sidr_rep.request_id = id;
		m.sidr_rep.status = (uint8_t)rnd_below(2);
		m.sidr_rep.qpn = 0x300;
		m.sidr_rep.service_id = srxe_cm_service_id(PS_UDP, port);
		m.sidr_rep.qkey = 0x01234567;
		break;
	}
	m.hdr.tid = rnd();
	encode_valid(&m, mad);
}

/* One fuzz case: a template, one or two mutations; returns the length. */
static size_t fuzz_case(uint8_t *pkt, uint16_t port, uint32_t i,
			uint64_t *kinds)
{
	uint8_t mad[512];
	size_t mad_len = SRXE_MAD_LEN;
	struct xport x = good_xport((uint16_t)(0xc000 + (i & 0x3fff)));
	int rounds = 1 + (int)rnd_below(2);

	make_template((int)rnd_below(T_COUNT), port, 0x20000000u + i, mad);
	for (int r = 0; r < rounds; r++) {
		uint32_t kind = rnd_below(10);

		kinds[kind]++;
		switch (kind) {
		case 0: /* a few random bytes anywhere */
			for (uint32_t n = 1 + rnd_below(16); n; n--)
				mad[rnd_below(SRXE_MAD_LEN)] = (uint8_t)rnd();
			break;
		case 1: /* attribute id: neighbours of the CM's or any */
			put16(mad + 16,
			      rnd_below(2) ? (uint16_t)rnd()
					   : (uint16_t)(0x0e + rnd_below(16)));
			break;
		case 2: /* base version, class, class version, method */
			mad[rnd_below(4)] = (uint8_t)rnd();
			break;
		case 3: /* truncated */
			mad_len = rnd_below(SRXE_MAD_LEN);
			break;
		case 4: /* overlong */
			for (size_t k = SRXE_MAD_LEN; k < sizeof(mad); k++)
				mad[k] = (uint8_t)rnd();
			mad_len = SRXE_MAD_LEN + 1 +
				  rnd_below(sizeof(mad) - SRXE_MAD_LEN - 4);
			break;
		case 5: /* comm ids: random, or small ones a live
			 * connection may have */
			put32(mad + 24,
			      rnd_below(2) ? (uint32_t)rnd() : rnd_below(64));
			put32(mad + 28,
			      rnd_below(2) ? (uint32_t)rnd() : rnd_below(64));
			break;
		case 6: /* body random, header kept */
			for (size_t k = SRXE_MAD_HDR_LEN; k < SRXE_MAD_LEN; k++)
				mad[k] = (uint8_t)rnd();
			break;
		case 7: /* status, reserved, attribute modifier */
			put16(mad + 4, (uint16_t)rnd());
			put32(mad + 20, (uint32_t)rnd());
			break;
		case 8: /* transport: Q_Key, P_Key, source or dest QP */
			switch (rnd_below(4)) {
			case 0:
				x.qkey = (uint32_t)rnd();
				break;
			case 1:
				x.pkey = (uint16_t)rnd();
				break;
			case 2:
				x.sqpn = (uint32_t)rnd() & 0xffffff;
				break;
			default:
				x.dqpn = 0; /* QP 0 (SMI): not served */
				break;
			}
			break;
		default: /* valid as built: the state machines get it */
			break;
		}
	}
	return build(pkt, &x, mad, mad_len);
}

static int do_fuzz(uint16_t port, uint32_t count, uint64_t seed)
{
	struct replies r = { .fd = reply_socket() };
	static struct sender s;
	uint64_t kinds[10] = { 0 };
	uint64_t t0 = now_ns();

	rng = seed ? seed : 1;
	sender_init(&s);
	for (uint32_t i = 0; i < count; i++) {
		uint8_t *pkt = sender_slot(&s, &r);

		sender_commit(&s, fuzz_case(pkt, port, i, kinds));
		if (s.n == BATCH) {
			sender_flush(&s, &r);
			drain(&r);
			usleep(2000); /* let srxed keep up: test the CM,
				       * not the socket buffer */
		}
	}
	sender_flush(&s, &r);
	printf("fuzz: sent %llu mutated CM MADs (seed %llu) in %.2f s; "
	       "mutations: bytes %llu, attr %llu, class/version/method %llu, "
	       "truncated %llu, overlong %llu, comm ids %llu, body %llu, "
	       "status/attr_mod %llu, transport %llu, none %llu\n",
	       (unsigned long long)s.sent, (unsigned long long)seed,
	       (double)(now_ns() - t0) / 1e9, (unsigned long long)kinds[0],
	       (unsigned long long)kinds[1], (unsigned long long)kinds[2],
	       (unsigned long long)kinds[3], (unsigned long long)kinds[4],
	       (unsigned long long)kinds[5], (unsigned long long)kinds[6],
	       (unsigned long long)kinds[7], (unsigned long long)kinds[8],
	       (unsigned long long)kinds[9]);
	drain_until_quiet(&r, 1500, 20000);
	print_replies(&r);
	return s.sent == count ? 0 : 1;
}

/*
 * A REQ to a port nobody listens on gets REJ 8, unless QP 1 must not take
 * it: kernel rxe drops a GSI packet whose DETH Q_Key is not 0x80010000 or
 * whose P_Key does not match the default one, before any MAD layer sees
 * it (drivers/infiniband/sw/rxe/rxe_recv.c, check_keys(): "u32 qkey =
 * (qpn == 1) ? GSI_QKEY : qp->attr.qkey; if (unlikely(deth_qkey(pkt) !=
 * qkey)) ... set_qkey_viol_cntr()"; "if (!pkey_match(pkey,
 * IB_DEFAULT_PKEY_FULL)) ... set_bad_pkey_cntr()").  One REQ each: good
 * keys (must be answered), a wrong Q_Key, a wrong P_Key (must not be).
 */
static int do_keys(uint16_t port)
{
	static const struct {
		const char *what;
		uint32_t qkey;
		uint16_t pkey;
		bool answered;
	} cases[] = {
		{ "good Q_Key and P_Key", SRXE_GSI_QKEY, 0xffff, true },
		{ "Q_Key 0x12345678", 0x12345678, 0xffff, false },
		{ "P_Key 0x1234", SRXE_GSI_QKEY, 0x1234, false },
	};
	struct replies r = { .fd = reply_socket() };
	static struct sender s;
	uint8_t mad[SRXE_MAD_LEN];
	struct srxe_cm_msg m;
	int bad = 0;

	sender_init(&s);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xport x = good_xport((uint16_t)(0xc000 + i));
		uint32_t id = 0x30000000u + (uint32_t)i;
		bool got;

		x.qkey = cases[i].qkey;
		x.pkey = cases[i].pkey;
		make_req(&m, id, port, (uint16_t)(40000 + i));
		encode_valid(&m, mad);
		sender_commit(
			&s, build(sender_slot(&s, &r), &x, mad, SRXE_MAD_LEN));
		sender_flush(&s, &r);
		r.last_rej_to = 0;
		drain_until_quiet(&r, 1000, 3000);
		got = r.last_rej_to == id;
		if (got != cases[i].answered) {
			bad++;
			printf("FAIL: REQ with %s: %s (kernel rxe: %s)\n",
			       cases[i].what,
			       got ? "answered with REJ" : "not answered",
			       cases[i].answered ? "REJ 8" : "dropped");
		} else {
			printf("ok: REQ with %s: %s\n", cases[i].what,
			       got ? "REJ 8" : "dropped");
		}
	}
	return bad ? 1 : 0;
}

static uint32_t parse_ip(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1) {
		fprintf(stderr, "cm_flood: not an IPv4 address: %s\n", s);
		exit(2);
	}
	return a.s_addr;
}

int main(int argc, char **argv)
{
	uint16_t port;
	uint32_t count;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 7 && !(argc == 5 && !strcmp(argv[1], "keys"))) {
		fprintf(stderr,
			"usage: cm_flood flood DST SRC PORT COUNT RATE\n"
			"       cm_flood fuzz DST SRC PORT COUNT SEED\n"
			"       cm_flood keys DST SRC PORT\n");
		return 2;
	}
	dst_ip = parse_ip(argv[2]);
	src_ip = parse_ip(argv[3]);
	port = (uint16_t)atoi(argv[4]);
	rng = 0x9e3779b97f4a7c15ull;
	if (!strcmp(argv[1], "keys"))
		return do_keys(port);
	count = (uint32_t)strtoul(argv[5], NULL, 0);
	if (!strcmp(argv[1], "flood"))
		return do_flood(port, count, (uint32_t)atoi(argv[6]));
	if (!strcmp(argv[1], "fuzz"))
		return do_fuzz(port, count, strtoull(argv[6], NULL, 0));
	fprintf(stderr, "cm_flood: unknown mode %s\n", argv[1]);
	return 2;
}
