// SPDX-License-Identifier: MIT
/*
 * Issue #5: bulk data over RC with an end-to-end digest.  The client
 * sends BYTES of seeded pseudo-random data twice, first by RDMA WRITE
 * into a ring of slots in the server's memory, then by SEND into the
 * server's receive buffers; the server digests what arrived, in order,
 * and both sides compare digests over the TCP socket that also carried
 * the connection data.  Meant to run across a lossy, duplicating,
 * reordering network (tc netem): the data must arrive intact anyway.
 *
 *   digest_xfer server -d DEV -p PORT [-s BYTES]
 *   digest_xfer client -d DEV -p PORT -a SERVER_IPV4 [-s BYTES] [-S SEED]
 *
 * Flow control: the ring has SLOTS slots of CHUNK bytes; the server sends
 * a 4-byte credit (chunk index) after digesting each chunk, and the client
 * never has more than SLOTS chunks unconfirmed.  WRITE phase: each chunk
 * is a plain RDMA WRITE of all but its last 4 KiB and an RDMA WRITE with
 * immediate (the chunk index) of the rest, which tells the server the
 * chunk is complete (RC orders the two).  SEND phase: a chunk is one SEND.
 * Exit status 0 only when both digests and byte counts agree.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <infiniband/verbs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *who = "digest_xfer";
static int failures;
#include "itest.h"

#define CHUNK	  (1u << 20)
#define TAIL	  4096u
#define SLOTS	  8u
#define PHASES	  2
#define RECV_CRED (2 * SLOTS)
#define TMO_MS	  120000u

enum { PH_WRITE, PH_SEND };

struct conn_info {
	uint32_t qpn, psn, rkey, pad;
	uint64_t addr;
	uint8_t gid[16];
};

struct ctx {
	struct ibv_context *dev;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *ring_mr, *cred_mr;
	uint8_t *ring;	   /* SLOTS * CHUNK */
	uint32_t *credits; /* RECV_CRED receive slots (server: send slot) */
	enum ibv_mtu mtu;
	int sock;
};

/* ---- data and digest ---- */

/* xorshift64*: the seeded stream of the payload, 8 bytes at a time. */
static uint64_t next_word(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void fill_chunk(uint8_t *p, uint64_t seed, uint64_t idx, int phase)
{
	uint64_t s = (seed ^ (idx * 0x9e3779b97f4a7c15ull) ^
		      ((uint64_t)phase << 62)) |
		     1;

	for (uint32_t i = 0; i < CHUNK; i += 8) {
		uint64_t w = next_word(&s);

		memcpy(p + i, &w, 8);
	}
}

/* Order-sensitive 64-bit digest over whole words (FNV-1a style). */
static uint64_t digest(uint64_t h, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h ^= w;
		h *= 0x100000001b3ull;
		h ^= h >> 31;
	}
	return h;
}

/* ---- TCP ---- */

static void xfer_all(int fd, void *buf, size_t len, bool out)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = out ? write(fd, p, len) : read(fd, p, len);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			die("TCP %s: %s", out ? "write" : "read",
			    n ? strerror(errno) : "peer closed");
		}
		p += n;
		len -= (size_t)n;
	}
}

static int tcp_server(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0), s;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1))
		die("listen on %d: %s", port, strerror(errno));
	s = accept(l, NULL, NULL);
	if (s < 0)
		die("accept: %s", strerror(errno));
	close(l);
	return s;
}

static int tcp_client(const char *addr, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };

	if (inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		die("bad address %s", addr);
	for (int i = 0; i < 100; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (!connect(s, (struct sockaddr *)&a, sizeof(a)))
			return s;
		close(s);
		usleep(100000);
	}
	die("cannot connect to %s:%d", addr, port);
}

/* ---- verbs ---- */

static struct ibv_context *open_dev(const char *name)
{
	struct ibv_device **l = ibv_get_device_list(NULL);
	struct ibv_context *c = NULL;

	for (int i = 0; l && l[i]; i++)
		if (!strcmp(ibv_get_device_name(l[i]), name))
			c = ibv_open_device(l[i]);
	if (l)
		ibv_free_device_list(l);
	if (!c)
		die("cannot open device %s", name);
	return c;
}

static void setup(struct ctx *c, const char *dev)
{
	struct ibv_qp_init_attr qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 4 * SLOTS + 8,
			 .max_recv_wr = RECV_CRED + 8,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
	};
	struct ibv_port_attr pa;
	int acc = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;

	c->dev = open_dev(dev);
	c->pd = ibv_alloc_pd(c->dev);
	c->cq = ibv_create_cq(c->dev, 256, NULL, NULL, 0);
	if (!c->pd || !c->cq)
		die("pd/cq: %s", strerror(errno));
	qa.send_cq = qa.recv_cq = c->cq;
	c->qp = ibv_create_qp(c->pd, &qa);
	if (!c->qp)
		die("create_qp: %s", strerror(errno));
	c->ring = aligned_alloc(4096, (size_t)SLOTS * CHUNK);
	c->credits = aligned_alloc(4096, 4096);
	if (!c->ring || !c->credits)
		die("out of memory");
	memset(c->ring, 0, (size_t)SLOTS * CHUNK);
	c->ring_mr = ibv_reg_mr(c->pd, c->ring, (size_t)SLOTS * CHUNK, acc);
	c->cred_mr = ibv_reg_mr(c->pd, c->credits, 4096, acc);
	if (!c->ring_mr || !c->cred_mr)
		die("reg_mr: %s", strerror(errno));
	if (ibv_query_port(c->dev, 1, &pa))
		die("query_port");
	c->mtu = pa.active_mtu;
}

static void modify(struct ibv_qp *qp, struct ibv_qp_attr *a, int mask,
		   const char *what)
{
	int r = ibv_modify_qp(qp, a, mask);

	if (r)
		die("modify_qp to %s: %s", what, strerror(r));
}

static void connect_qp(struct ctx *c, const struct conn_info *me,
		       const struct conn_info *peer)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT,
				 .port_num = 1,
				 .qp_access_flags = IBV_ACCESS_REMOTE_WRITE };

	modify(c->qp, &a,
	       IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		       IBV_QP_ACCESS_FLAGS,
	       "INIT");
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = c->mtu;
	a.dest_qp_num = peer->qpn;
	a.rq_psn = peer->psn;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.port_num = 1;
	a.ah_attr.grh.sgid_index = 1;
	a.ah_attr.grh.hop_limit = 64;
	memcpy(a.ah_attr.grh.dgid.raw, peer->gid, 16);
	modify(c->qp, &a,
	       IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
		       IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
		       IBV_QP_MIN_RNR_TIMER,
	       "RTR");
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = me->psn;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	modify(c->qp, &a,
	       IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		       IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_MAX_QP_RD_ATOMIC,
	       "RTS");
}

static void exchange(struct ctx *c, struct conn_info *peer, bool server)
{
	struct conn_info me = { .qpn = c->qp->qp_num,
				.psn = (uint32_t)(getpid() * 7919u) & 0xffffff,
				.rkey = c->ring_mr->rkey,
				.addr = (uintptr_t)c->ring };
	union ibv_gid gid;

	if (ibv_query_gid(c->dev, 1, 1, &gid))
		die("query_gid 1");
	memcpy(me.gid, gid.raw, 16);
	if (server) {
		xfer_all(c->sock, peer, sizeof(*peer), false);
		xfer_all(c->sock, &me, sizeof(me), true);
	} else {
		xfer_all(c->sock, &me, sizeof(me), true);
		xfer_all(c->sock, peer, sizeof(*peer), false);
	}
	connect_qp(c, &me, peer);
}

static void post_recv(struct ctx *c, uint64_t id, void *buf, uint32_t len,
		      struct ibv_mr *mr)
{
	struct ibv_sge sge = { (uintptr_t)buf, len, mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = id,
				  .sg_list = &sge,
				  .num_sge = len ? 1 : 0 },
			   *bad;

	if (ibv_post_recv(c->qp, &wr, &bad))
		die("post_recv: %s", strerror(errno));
}

static void post_send(struct ctx *c, struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad;
	int r = ibv_post_send(c->qp, wr, &bad);

	if (r)
		die("post_send: %s", strerror(r));
}

/* One completion; dies on an error status or after TMO_MS. */
static void poll_one(struct ctx *c, struct ibv_wc *wc)
{
	uint64_t t0 = now_ms();
	int n;

	while (!(n = ibv_poll_cq(c->cq, 1, wc)))
		if (now_ms() - t0 > TMO_MS)
			die("no completion for %u ms", TMO_MS);
	if (n < 0)
		die("poll_cq failed");
	if (wc->status != IBV_WC_SUCCESS)
		die("completion wr_id %lu: %s (vendor_err %u)",
		    (unsigned long)wc->wr_id, ibv_wc_status_str(wc->status),
		    wc->vendor_err);
}

/* ---- server ---- */

static void send_credit(struct ctx *c, uint32_t idx)
{
	struct ibv_sge sge = { (uintptr_t)&c->credits[512 + (idx % 256)], 4,
			       c->cred_mr->lkey };
	struct ibv_send_wr wr = { .wr_id = 1ull << 40 | idx,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = IBV_WR_SEND,
				  .send_flags = IBV_SEND_SIGNALED };

	c->credits[512 + (idx % 256)] = idx;
	post_send(c, &wr);
}

static uint8_t *chunk_buf(struct ctx *c, uint64_t idx)
{
	return c->ring + (idx % SLOTS) * (uint64_t)CHUNK;
}

static uint64_t serve_phase(struct ctx *c, int phase, uint64_t chunks)
{
	uint64_t h = 0xcbf29ce484222325ull, done = 0, posted = 0;
	struct ibv_wc wc;

	/* WRITE phase: receives only carry the immediate (no buffer);
	 * SEND phase: one receive per slot, reposted once digested. */
	for (; posted < SLOTS && posted < chunks; posted++)
		post_recv(c, posted,
			  phase == PH_SEND ? chunk_buf(c, posted) : NULL,
			  phase == PH_SEND ? CHUNK : 0, c->ring_mr);
	while (done < chunks) {
		poll_one(c, &wc);
		if (wc.wr_id >> 40)
			continue; /* a credit went out */
		if (wc.wr_id != done)
			die("chunk %lu arrived as %lu", (unsigned long)done,
			    (unsigned long)wc.wr_id);
		if (phase == PH_WRITE && (!(wc.wc_flags & IBV_WC_WITH_IMM) ||
					  ntohl(wc.imm_data) != (uint32_t)done))
			die("WRITE chunk %lu: bad immediate",
			    (unsigned long)done);
		if (phase == PH_SEND && wc.byte_len != CHUNK)
			die("SEND chunk %lu: %u bytes", (unsigned long)done,
			    wc.byte_len);
		h = digest(h, chunk_buf(c, done), CHUNK);
		done++;
		if (posted < chunks) {
			post_recv(c, posted,
				  phase == PH_SEND ? chunk_buf(c, posted)
						   : NULL,
				  phase == PH_SEND ? CHUNK : 0, c->ring_mr);
			posted++;
		}
		send_credit(c, (uint32_t)(done - 1));
	}
	return h;
}

/* ---- client ---- */

static void write_chunk(struct ctx *c, const struct conn_info *peer,
			const uint8_t *src, uint64_t idx)
{
	uint64_t raddr = peer->addr + (idx % SLOTS) * (uint64_t)CHUNK;
	struct ibv_sge body = { (uintptr_t)src, CHUNK - TAIL,
				c->ring_mr->lkey };
	struct ibv_sge tail = { (uintptr_t)src + CHUNK - TAIL, TAIL,
				c->ring_mr->lkey };
	struct ibv_send_wr last = { .wr_id = idx,
				    .sg_list = &tail,
				    .num_sge = 1,
				    .opcode = IBV_WR_RDMA_WRITE_WITH_IMM,
				    .send_flags = IBV_SEND_SIGNALED,
				    .imm_data = htonl((uint32_t)idx) };
	struct ibv_send_wr first = { .wr_id = 1ull << 41 | idx,
				     .sg_list = &body,
				     .num_sge = 1,
				     .opcode = IBV_WR_RDMA_WRITE,
				     .next = &last };

	first.wr.rdma.remote_addr = raddr;
	first.wr.rdma.rkey = peer->rkey;
	last.wr.rdma.remote_addr = raddr + CHUNK - TAIL;
	last.wr.rdma.rkey = peer->rkey;
	post_send(c, &first);
}

static void send_chunk(struct ctx *c, const uint8_t *src, uint64_t idx)
{
	struct ibv_sge sge = { (uintptr_t)src, CHUNK, c->ring_mr->lkey };
	struct ibv_send_wr wr = { .wr_id = idx,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = IBV_WR_SEND,
				  .send_flags = IBV_SEND_SIGNALED };

	post_send(c, &wr);
}

/* Waits for one credit (a receive completion); send completions pass. */
static uint64_t drive_phase(struct ctx *c, const struct conn_info *peer,
			    int phase, uint64_t chunks, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ull, sent = 0, credited = 0;
	struct ibv_wc wc;

	while (credited < chunks) {
		while (sent < chunks && sent - credited < SLOTS) {
			uint8_t *p = chunk_buf(c, sent);

			fill_chunk(p, seed, sent, phase);
			h = digest(h, p, CHUNK);
			if (phase == PH_WRITE)
				write_chunk(c, peer, p, sent);
			else
				send_chunk(c, p, sent);
			sent++;
		}
		poll_one(c, &wc);
		if (wc.opcode != IBV_WC_RECV)
			continue;
		if (c->credits[wc.wr_id] != (uint32_t)credited)
			die("credit %u, expected %lu", c->credits[wc.wr_id],
			    (unsigned long)credited);
		credited++;
		post_recv(c, wc.wr_id, &c->credits[wc.wr_id], 4, c->cred_mr);
	}
	return h;
}

/* ---- main ---- */

struct opts {
	bool server;
	const char *dev, *addr;
	int port;
	uint64_t bytes, seed;
};

static void parse(int argc, char **argv, struct opts *o)
{
	int ch;

	if (argc < 2 ||
	    (strcmp(argv[1], "server") && strcmp(argv[1], "client")))
		die("usage: digest_xfer server|client -d DEV -p PORT "
		    "[-a ADDR] [-s BYTES] [-S SEED]");
	o->server = !strcmp(argv[1], "server");
	o->bytes = 1ull << 30;
	o->seed = 0x5eed5eedull;
	o->port = 18515;
	while ((ch = getopt(argc - 1, argv + 1, "d:p:a:s:S:")) != -1) {
		switch (ch) {
		case 'd':
			o->dev = optarg;
			break;
		case 'p':
			o->port = atoi(optarg);
			break;
		case 'a':
			o->addr = optarg;
			break;
		case 's':
			o->bytes = strtoull(optarg, NULL, 0);
			break;
		case 'S':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		default:
			die("unknown option");
		}
	}
	if (!o->dev || (!o->server && !o->addr))
		die("-d DEV is required, and -a ADDR for the client");
	if (!o->bytes || o->bytes % CHUNK)
		die("-s must be a positive multiple of %u", CHUNK);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct conn_info peer;
	struct ctx c = { 0 };
	uint64_t mine[PHASES], theirs[PHASES], t0;
	const char *names[PHASES] = { "RDMA WRITE", "SEND" };

	parse(argc, argv, &o);
	who = o.server ? "digest_xfer server" : "digest_xfer client";
	setup(&c, o.dev);
	c.sock = o.server ? tcp_server(o.port) : tcp_client(o.addr, o.port);
	exchange(&c, &peer, o.server);
	if (!o.server)
		for (uint32_t i = 0; i < RECV_CRED; i++)
			post_recv(&c, i, &c.credits[i], 4, c.cred_mr);
	for (int ph = 0; ph < PHASES; ph++) {
		char go = 'g';

		/* both sides ready for the phase before the first byte */
		xfer_all(c.sock, &go, 1, !o.server);
		xfer_all(c.sock, &go, 1, o.server);
		t0 = now_ms();
		mine[ph] = o.server ? serve_phase(&c, ph, o.bytes / CHUNK)
				    : drive_phase(&c, &peer, ph,
						  o.bytes / CHUNK, o.seed);
		xfer_all(c.sock, &mine[ph], 8, true);
		xfer_all(c.sock, &theirs[ph], 8, false);
		printf("%s: %s %lu bytes in %lu ms, digest %016lx, peer "
		       "%016lx\n",
		       who, names[ph], (unsigned long)o.bytes,
		       (unsigned long)(now_ms() - t0), (unsigned long)mine[ph],
		       (unsigned long)theirs[ph]);
		EXPECT(mine[ph] == theirs[ph], "%s digests differ", names[ph]);
	}
	fflush(stdout);
	/* drain outstanding credit sends before tearing down */
	close(c.sock);
	ibv_destroy_qp(c.qp);
	ibv_dereg_mr(c.ring_mr);
	ibv_dereg_mr(c.cred_mr);
	ibv_destroy_cq(c.cq);
	ibv_dealloc_pd(c.pd);
	ibv_close_device(c.dev);
	free(c.ring);
	free(c.credits);
	if (failures)
		return 1;
	printf("%s: PASS\n", who);
	return 0;
}
