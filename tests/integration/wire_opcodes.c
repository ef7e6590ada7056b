// SPDX-License-Identifier: MIT
/*
 * Issue #5, must-show 3: make a device send every RoCEv2 opcode srxe has,
 * so that a capture of the run can be checked opcode by opcode.
 *
 *   wire_opcodes -d DEV -p PORT                server (responder side)
 *   wire_opcodes -d DEV -p PORT SERVER_ADDR    client (requester side)
 *
 * Path MTU 1024; a "long" message is 2 * 1024 + 101 bytes (First, Middle,
 * Last with 3 bytes of pad).  The client, in this order:
 *   RNR NAK   SEND before the server posted any receive (server's
 *             min_rnr_timer 10.24 ms, client rnr_retry 7), then it lands
 *   SEND      Only, Only with Immediate, First/Middle/Last, Last with Imm
 *   WRITE     Only, Only with Immediate, First/Middle/Last, Last with Imm
 *   READ      Request + Response Only, Request + Response First/Middle/Last
 *   ATOMIC    Fetch Add and Compare Swap, each answered by Atomic Ack
 *   UD SEND   Send Only and Send Only with Immediate
 *   NAK       a WRITE with a forged rkey on a second RC QP: the server
 *             answers NAK (remote access error), the client completes
 *             IBV_WC_REM_ACCESS_ERR
 * ACKs come with all of them.  Both sides check every completion (status,
 * opcode, length, immediate) and the data; exit status 0 only when all
 * matched.  A TCP connection exchanges QP numbers and paces the steps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <infiniband/verbs.h>

static const char *who = "wire_opcodes";
static int failures;

#include "itest.h"

#define PORT_NUM      1
#define MTU	      1024
#define LONG_LEN      (2 * MTU + 101)
#define SHORT_LEN     16
#define BUF_LEN	      (64 * 1024)
#define N_RECV	      8
#define RECV_SLOT     4096
#define WRITE_OFF     (32 * 1024) /* server: RDMA WRITE target */
#define READ_OFF      (40 * 1024) /* server: RDMA READ source */
#define ATOMIC_OFF    (48 * 1024) /* server: the atomic counter */
#define UD_OFF	      (52 * 1024) /* server: UD receive slots */
#define UD_SLOT	      512
#define UD_LEN	      200
#define GRH_LEN	      40
#define QKEY	      0x11111111u
#define RNR_TIMER     20 /* 10.24 ms */
#define RNR_HOLD_MS   30 /* server waits this long before posting */
#define TIMEOUT_MS    20000
#define IMM_SEND      0x5e4d0001u
#define IMM_SEND_LONG 0x5e4d0002u
#define IMM_WRITE     0x5e4d0003u
#define IMM_WRITE_LNG 0x5e4d0004u
#define IMM_UD	      0x5e4d0005u
#define ATOMIC_START  100u
#define ATOMIC_ADD    5u
#define ATOMIC_SWAP   7u

struct peer_info {
	uint32_t qpn_a, qpn_b, qpn_ud, psn;
	uint32_t rkey, pad;
	uint64_t addr;
	union ibv_gid gid;
};

struct side {
	bool server;
	int gid_index;
	int sock;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	struct ibv_qp *qp_a, *qp_b, *ud;
	struct ibv_ah *ah;
	uint8_t *buf;
	struct peer_info me, peer;
};

/* ---- TCP pacing ---- */

static void xfer(int fd, void *p, size_t n, bool out)
{
	while (n) {
		ssize_t r = out ? write(fd, p, n) : read(fd, p, n);

		if (r <= 0)
			die("TCP %s: %s", out ? "write" : "read",
			    r ? strerror(errno) : "peer closed");
		p = (char *)p + r;
		n -= (size_t)r;
	}
}

static void sync_send(struct side *s, char c)
{
	xfer(s->sock, &c, 1, true);
}

static char sync_recv(struct side *s)
{
	char c;

	xfer(s->sock, &c, 1, false);
	return c;
}

static int tcp_connect(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int fd, tries;

	if (getaddrinfo(host, port, &hints, &ai))
		die("cannot resolve %s", host);
	for (tries = 0; tries < 100; tries++) {
		fd = socket(ai->ai_family, SOCK_STREAM, 0);
		if (fd >= 0 && !connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
		usleep(100000);
	}
	freeaddrinfo(ai);
	if (fd < 0)
		die("cannot connect to %s:%s", host, port);
	return fd;
}

static int tcp_accept(const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)atoi(port)) };
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0), fd;

	if (lfd < 0)
		die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1))
		die("bind/listen on port %s: %s", port, strerror(errno));
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		die("accept: %s", strerror(errno));
	close(lfd);
	return fd;
}

/* ---- verbs set-up ---- */

static struct ibv_context *open_device(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	if (!list)
		die("ibv_get_device_list: %s", strerror(errno));
	for (int i = 0; list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!ctx)
		die("cannot open device %s", name);
	return ctx;
}

static struct ibv_qp *make_qp(struct side *s, enum ibv_qp_type type)
{
	struct ibv_qp_init_attr ia = {
		.send_cq = s->cq,
		.recv_cq = s->cq,
		.qp_type = type,
		.cap = { .max_send_wr = 16,
			 .max_recv_wr = 16,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.sq_sig_all = 1,
	};
	struct ibv_qp *qp = ibv_create_qp(s->pd, &ia);

	if (!qp)
		die("ibv_create_qp(type %d): %s", type, strerror(errno));
	return qp;
}

static void setup(struct side *s, const char *dev)
{
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;

	s->ctx = open_device(dev);
	s->pd = ibv_alloc_pd(s->ctx);
	s->cq = s->pd ? ibv_create_cq(s->ctx, 64, NULL, NULL, 0) : NULL;
	s->buf = aligned_alloc(4096, BUF_LEN);
	if (!s->cq || !s->buf)
		die("PD/CQ/buffer: %s", strerror(errno));
	for (int i = 0; i < BUF_LEN; i++)
		s->buf[i] = (uint8_t)(i * 7 + (s->server ? 3 : 1));
	s->mr = ibv_reg_mr(s->pd, s->buf, BUF_LEN, access);
	if (!s->mr)
		die("ibv_reg_mr: %s", strerror(errno));
	s->qp_a = make_qp(s, IBV_QPT_RC);
	s->qp_b = make_qp(s, IBV_QPT_RC);
	s->ud = make_qp(s, IBV_QPT_UD);
	if (ibv_query_gid(s->ctx, PORT_NUM, s->gid_index, &s->me.gid))
		die("ibv_query_gid %d", s->gid_index);
	s->me.qpn_a = s->qp_a->qp_num;
	s->me.qpn_b = s->qp_b->qp_num;
	s->me.qpn_ud = s->ud->qp_num;
	s->me.psn = s->server ? 0x1000 : 0x2000;
	s->me.rkey = s->mr->rkey;
	s->me.addr = (uintptr_t)s->buf;
}

static void modify(struct ibv_qp *qp, struct ibv_qp_attr *a, int mask,
		   const char *what)
{
	int ret = ibv_modify_qp(qp, a, mask);

	if (ret)
		die("modify_qp to %s: %s", what, strerror(ret));
}

static void rc_connect(struct side *s, struct ibv_qp *qp, uint32_t dqpn)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.port_num = PORT_NUM,
		.qp_access_flags = IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ |
				   IBV_ACCESS_REMOTE_ATOMIC,
	};

	modify(qp, &a,
	       IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		       IBV_QP_ACCESS_FLAGS,
	       "INIT");
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = dqpn;
	a.rq_psn = s->peer.psn;
	a.max_dest_rd_atomic = 4;
	a.min_rnr_timer = RNR_TIMER;
	a.ah_attr.is_global = 1;
	a.ah_attr.grh.dgid = s->peer.gid;
	a.ah_attr.grh.sgid_index = (uint8_t)s->gid_index;
	a.ah_attr.grh.hop_limit = 64;
	a.ah_attr.port_num = PORT_NUM;
	modify(qp, &a,
	       IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
		       IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
		       IBV_QP_MIN_RNR_TIMER,
	       "RTR");
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = s->me.psn;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 4;
	modify(qp, &a,
	       IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		       IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_MAX_QP_RD_ATOMIC,
	       "RTS");
}

static void ud_ready(struct side *s)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT,
				 .port_num = PORT_NUM,
				 .qkey = QKEY };
	struct ibv_ah_attr ah = {
		.is_global = 1,
		.grh = { .dgid = s->peer.gid,
			 .sgid_index = (uint8_t)s->gid_index,
			 .hop_limit = 64 },
		.port_num = PORT_NUM,
	};

	modify(s->ud, &a,
	       IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY,
	       "UD INIT");
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	modify(s->ud, &a, IBV_QP_STATE, "UD RTR");
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = s->me.psn;
	modify(s->ud, &a, IBV_QP_STATE | IBV_QP_SQ_PSN, "UD RTS");
	s->ah = ibv_create_ah(s->pd, &ah);
	if (!s->ah)
		die("ibv_create_ah: %s", strerror(errno));
}

/* ---- work requests ---- */

static void post_recv(struct side *s, struct ibv_qp *qp, uint64_t off,
		      uint32_t len, uint64_t wr_id)
{
	struct ibv_sge sge = { (uintptr_t)(s->buf + off), len, s->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = wr_id,
				  .sg_list = &sge,
				  .num_sge = 1 },
			   *bad;

	if (ibv_post_recv(qp, &wr, &bad))
		die("ibv_post_recv: %s", strerror(errno));
}

static bool poll_one(struct side *s, struct ibv_wc *wc)
{
	uint64_t end = now_ms() + TIMEOUT_MS;
	int n;

	do {
		n = ibv_poll_cq(s->cq, 1, wc);
		if (n < 0)
			die("ibv_poll_cq failed");
		if (n == 1)
			return true;
	} while (now_ms() < end);
	return false;
}

struct op {
	const char *name;
	enum ibv_wr_opcode opcode;
	uint32_t len;
	uint64_t local_off, remote_off;
	uint32_t imm;
	enum ibv_wc_status want;
};

/* Posts one WR and waits for its completion; checks status and opcode. */
static void run_op(struct side *s, struct ibv_qp *qp, const struct op *op,
		   uint32_t rkey)
{
	struct ibv_sge sge = { (uintptr_t)(s->buf + op->local_off), op->len,
			       s->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = 1,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = op->opcode,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;
	struct ibv_wc wc;

	wr.imm_data = htonl(op->imm);
	if (op->opcode == IBV_WR_ATOMIC_FETCH_AND_ADD ||
	    op->opcode == IBV_WR_ATOMIC_CMP_AND_SWP) {
		wr.wr.atomic.remote_addr = s->peer.addr + op->remote_off;
		wr.wr.atomic.rkey = rkey;
		wr.wr.atomic.compare_add =
			op->opcode == IBV_WR_ATOMIC_CMP_AND_SWP
				? ATOMIC_START + ATOMIC_ADD
				: ATOMIC_ADD;
		wr.wr.atomic.swap = ATOMIC_SWAP;
	} else if (qp->qp_type == IBV_QPT_UD) {
		wr.wr.ud.ah = s->ah;
		wr.wr.ud.remote_qpn = s->peer.qpn_ud;
		wr.wr.ud.remote_qkey = QKEY;
	} else {
		wr.wr.rdma.remote_addr = s->peer.addr + op->remote_off;
		wr.wr.rdma.rkey = rkey;
	}
	if (ibv_post_send(qp, &wr, &bad))
		die("%s: ibv_post_send: %s", op->name, strerror(errno));
	if (!poll_one(s, &wc))
		die("%s: no completion in %d ms", op->name, TIMEOUT_MS);
	EXPECT(wc.status == op->want, "%s: status %s, expected %s", op->name,
	       ibv_wc_status_str(wc.status), ibv_wc_status_str(op->want));
	printf("ok: %s -> %s\n", op->name, ibv_wc_status_str(wc.status));
}

/* ---- client ---- */

static void client_rnr(struct side *s)
{
	const struct op send = {
		"SEND during RNR", IBV_WR_SEND, SHORT_LEN, 0, 0, 0,
		IBV_WC_SUCCESS
	};

	if (sync_recv(s) != 'R')
		die("server not ready");
	/* The server posts its receives RNR_HOLD_MS after this byte. */
	sync_send(s, 'G');
	run_op(s, s->qp_a, &send, 0);
}

static const struct op rc_ops[] = {
	{ "SEND only", IBV_WR_SEND, SHORT_LEN, 0, 0, 0, IBV_WC_SUCCESS },
	{ "SEND only imm", IBV_WR_SEND_WITH_IMM, SHORT_LEN, 0, 0, IMM_SEND,
	  IBV_WC_SUCCESS },
	{ "SEND first/middle/last", IBV_WR_SEND, LONG_LEN, 0, 0, 0,
	  IBV_WC_SUCCESS },
	{ "SEND first/middle/last imm", IBV_WR_SEND_WITH_IMM, LONG_LEN, 0, 0,
	  IMM_SEND_LONG, IBV_WC_SUCCESS },
	{ "WRITE only", IBV_WR_RDMA_WRITE, SHORT_LEN, 0, WRITE_OFF, 0,
	  IBV_WC_SUCCESS },
	{ "WRITE only imm", IBV_WR_RDMA_WRITE_WITH_IMM, SHORT_LEN, 0,
	  WRITE_OFF + 16, IMM_WRITE, IBV_WC_SUCCESS },
	{ "WRITE first/middle/last", IBV_WR_RDMA_WRITE, LONG_LEN, 64,
	  WRITE_OFF + 64, 0, IBV_WC_SUCCESS },
	{ "WRITE first/middle/last imm", IBV_WR_RDMA_WRITE_WITH_IMM, LONG_LEN,
	  64, WRITE_OFF + 64, IMM_WRITE_LNG, IBV_WC_SUCCESS },
	{ "READ response only", IBV_WR_RDMA_READ, SHORT_LEN, 16 * 1024,
	  READ_OFF, 0, IBV_WC_SUCCESS },
	{ "READ response first/middle/last", IBV_WR_RDMA_READ, LONG_LEN,
	  16 * 1024 + 64, READ_OFF + 64, 0, IBV_WC_SUCCESS },
	{ "ATOMIC fetch-add", IBV_WR_ATOMIC_FETCH_AND_ADD, 8, 24 * 1024,
	  ATOMIC_OFF, 0, IBV_WC_SUCCESS },
	{ "ATOMIC compare-swap", IBV_WR_ATOMIC_CMP_AND_SWP, 8, 24 * 1024 + 8,
	  ATOMIC_OFF, 0, IBV_WC_SUCCESS },
};

static void client_check_reads(struct side *s)
{
	uint64_t fetched, swapped;

	/* The server's buffer pattern: byte i is i * 7 + 3. */
	for (uint32_t i = 0; i < LONG_LEN; i++) {
		uint32_t at = READ_OFF + 64 + i;

		if (s->buf[16 * 1024 + 64 + i] != (uint8_t)(at * 7 + 3)) {
			EXPECT(false, "READ data differs at byte %u", i);
			break;
		}
	}
	memcpy(&fetched, s->buf + 24 * 1024, 8);
	memcpy(&swapped, s->buf + 24 * 1024 + 8, 8);
	EXPECT(fetched == ATOMIC_START, "fetch-add returned %llu",
	       (unsigned long long)fetched);
	EXPECT(swapped == ATOMIC_START + ATOMIC_ADD,
	       "compare-swap returned %llu", (unsigned long long)swapped);
}

static void client(struct side *s)
{
	const struct op ud_ops[] = {
		{ "UD SEND only", IBV_WR_SEND, UD_LEN, 0, 0, 0,
		  IBV_WC_SUCCESS },
		{ "UD SEND only imm", IBV_WR_SEND_WITH_IMM, UD_LEN, 0, 0,
		  IMM_UD, IBV_WC_SUCCESS },
	};
	const struct op nak = { "WRITE with a forged rkey (NAK)",
				IBV_WR_RDMA_WRITE,
				SHORT_LEN,
				0,
				WRITE_OFF,
				0,
				IBV_WC_REM_ACCESS_ERR };

	client_rnr(s);
	for (size_t i = 0; i < sizeof(rc_ops) / sizeof(rc_ops[0]); i++)
		run_op(s, s->qp_a, &rc_ops[i], s->peer.rkey);
	client_check_reads(s);
	for (size_t i = 0; i < 2; i++)
		run_op(s, s->ud, &ud_ops[i], 0);
	run_op(s, s->qp_b, &nak, s->peer.rkey ^ 0x5a5a0000u);
	sync_send(s, failures ? 'F' : 'D');
	if (sync_recv(s) != 'D')
		EXPECT(false, "the server reported failures");
}

/* ---- server ---- */

struct want_recv {
	enum ibv_wc_opcode opcode;
	uint32_t len;
	bool imm;
	uint32_t imm_data;
};

static const struct want_recv rc_recvs[] = {
	{ IBV_WC_RECV, SHORT_LEN, false, 0 }, /* the RNR one */
	{ IBV_WC_RECV, SHORT_LEN, false, 0 },
	{ IBV_WC_RECV, SHORT_LEN, true, IMM_SEND },
	{ IBV_WC_RECV, LONG_LEN, false, 0 },
	{ IBV_WC_RECV, LONG_LEN, true, IMM_SEND_LONG },
	{ IBV_WC_RECV_RDMA_WITH_IMM, SHORT_LEN, true, IMM_WRITE },
	{ IBV_WC_RECV_RDMA_WITH_IMM, LONG_LEN, true, IMM_WRITE_LNG },
};

static void check_recv(const struct ibv_wc *wc, const struct want_recv *w,
		       const char *what, uint32_t extra)
{
	EXPECT(wc->status == IBV_WC_SUCCESS, "%s: status %s", what,
	       ibv_wc_status_str(wc->status));
	EXPECT(wc->opcode == w->opcode, "%s: opcode %d, expected %d", what,
	       wc->opcode, w->opcode);
	EXPECT(wc->byte_len == w->len + extra, "%s: %u bytes, expected %u",
	       what, wc->byte_len, w->len + extra);
	EXPECT(!!(wc->wc_flags & IBV_WC_WITH_IMM) == w->imm,
	       "%s: immediate flag", what);
	if (w->imm)
		EXPECT(ntohl(wc->imm_data) == w->imm_data,
		       "%s: imm 0x%x, expected 0x%x", what, ntohl(wc->imm_data),
		       w->imm_data);
}

static void server_recvs(struct side *s)
{
	const struct want_recv ud[] = {
		{ IBV_WC_RECV, UD_LEN, false, 0 },
		{ IBV_WC_RECV, UD_LEN, true, IMM_UD },
	};
	size_t n_rc = sizeof(rc_recvs) / sizeof(rc_recvs[0]), rc = 0, u = 0;
	struct ibv_wc wc;

	while (rc + u < n_rc + 2) {
		if (!poll_one(s, &wc))
			die("only %zu RC and %zu UD receives completed", rc, u);
		if (wc.qp_num == s->ud->qp_num && u < 2) {
			check_recv(&wc, &ud[u], "UD receive", GRH_LEN);
			u++;
		} else if (wc.qp_num == s->qp_a->qp_num && rc < n_rc) {
			check_recv(&wc, &rc_recvs[rc], "RC receive", 0);
			rc++;
		} else {
			EXPECT(false, "unexpected completion on QP 0x%x (%s)",
			       wc.qp_num, ibv_wc_status_str(wc.status));
		}
	}
	printf("ok: %zu RC and %zu UD receives as expected\n", rc, u);
}

static void server_check_memory(struct side *s)
{
	uint64_t counter;

	/* The client's pattern is i * 7 + 1; WRITEs copy it from offset 64. */
	for (uint32_t i = 0; i < LONG_LEN; i++) {
		if (s->buf[WRITE_OFF + 64 + i] != (uint8_t)((64 + i) * 7 + 1)) {
			EXPECT(false, "WRITE data differs at byte %u", i);
			break;
		}
	}
	memcpy(&counter, s->buf + ATOMIC_OFF, 8);
	EXPECT(counter == ATOMIC_SWAP, "atomic counter is %llu, expected %u",
	       (unsigned long long)counter, ATOMIC_SWAP);
}

static void server(struct side *s)
{
	uint64_t start = ATOMIC_START;

	memcpy(s->buf + ATOMIC_OFF, &start, 8);
	for (int i = 0; i < 2; i++)
		post_recv(s, s->ud, UD_OFF + i * UD_SLOT, UD_SLOT, 100 + i);
	sync_send(s, 'R');
	if (sync_recv(s) != 'G')
		die("client did not start");
	usleep(RNR_HOLD_MS * 1000);
	for (int i = 0; i < N_RECV; i++)
		post_recv(s, s->qp_a, (uint64_t)i * RECV_SLOT, RECV_SLOT, i);
	server_recvs(s);
	if (sync_recv(s) != 'D')
		EXPECT(false, "the client reported failures");
	server_check_memory(s);
	sync_send(s, failures ? 'F' : 'D');
}

static void teardown(struct side *s)
{
	ibv_destroy_ah(s->ah);
	ibv_destroy_qp(s->ud);
	ibv_destroy_qp(s->qp_b);
	ibv_destroy_qp(s->qp_a);
	ibv_dereg_mr(s->mr);
	ibv_destroy_cq(s->cq);
	ibv_dealloc_pd(s->pd);
	ibv_close_device(s->ctx);
	free(s->buf);
	close(s->sock);
}

int main(int argc, char **argv)
{
	struct side s = { .gid_index = 1 };
	const char *dev = NULL, *port = "18515";
	int c;

	while ((c = getopt(argc, argv, "d:p:g:")) != -1) {
		if (c == 'd')
			dev = optarg;
		else if (c == 'p')
			port = optarg;
		else if (c == 'g')
			s.gid_index = atoi(optarg);
		else
			die("usage: wire_opcodes -d DEV [-p PORT] [-g GID] "
			    "[SERVER]");
	}
	if (!dev)
		die("-d DEV is required");
	s.server = optind >= argc;
	who = s.server ? "wire_opcodes server" : "wire_opcodes client";
	setup(&s, dev);
	s.sock = s.server ? tcp_accept(port) : tcp_connect(argv[optind], port);
	xfer(s.sock, &s.me, sizeof(s.me), true);
	xfer(s.sock, &s.peer, sizeof(s.peer), false);
	rc_connect(&s, s.qp_a, s.peer.qpn_a);
	rc_connect(&s, s.qp_b, s.peer.qpn_b);
	ud_ready(&s);
	if (s.server)
		server(&s);
	else
		client(&s);
	teardown(&s);
	if (failures) {
		fprintf(stderr, "%s: %d failures\n", who, failures);
		return 1;
	}
	printf("%s: PASS\n", who);
	return 0;
}
