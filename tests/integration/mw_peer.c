// SPDX-License-Identifier: MIT
/*
 * Memory windows between two hosts (issue #10 must-show 6): one side owns
 * a buffer and opens windows on it, the other side moves data through the
 * windows' rkeys.  Plain verbs and a TCP socket for the set-up, so either
 * side can be srxe or the kernel's rdma_rxe (the rxe-vm guest runs the
 * same binary).
 *
 * The owner (server) registers a 64 KiB MR with MW_BIND access, then:
 *  1. type 1: ibv_alloc_mw + ibv_bind_mw over [4 KiB, 12 KiB) with remote
 *     write+read; the peer WRITEs a pattern into the whole window and READs
 *     it back;
 *  2. type 2: ibv_alloc_mw + an IBV_WR_BIND_MW work request over
 *     [16 KiB, 20 KiB); the peer WRITEs into it, then SENDs WITH INVALIDATE
 *     of that rkey: the owner's receive completes with IBV_WC_WITH_INV and
 *     the rkey as invalidated_rkey;
 *  3. the peer WRITEs with the invalidated rkey: its completion must be
 *     IBV_WC_REM_ACCESS_ERR, and the owner's buffer must hold exactly the
 *     two windows' patterns and nothing else (0 bytes moved by the stale
 *     key).
 *
 * usage: mw_peer -d DEVICE [-x GID_INDEX] [-p TCP_PORT] [SERVER_ADDRESS]
 *   perftest's option letters (GID index 1, port 18517 by default), so
 *   the rxe interop test runs it like the perftest tools; without an
 *   address it is the owner and waits for the peer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <infiniband/verbs.h>

static const char *who = "mw_peer";
static int failures;
#include "itest.h"

#define BUF_LEN (64u << 10)
#define W1_OFF	4096u
#define W1_LEN	8192u
#define W2_OFF	16384u
#define W2_LEN	4096u
#define PSN	0x1234
#define WAIT_MS 10000

struct conn_info {
	uint32_t qpn;
	uint8_t gid[16];
};

struct window_info {
	uint64_t addr;
	uint32_t rkey;
	uint32_t len;
};

struct peer {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	uint8_t *buf;
	int gid_index;
	int sock;
};

static void xfer(int sock, void *p, size_t len, bool out)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = out ? write(sock, (char *)p + done, len - done)
				: read(sock, (char *)p + done, len - done);

		if (n <= 0)
			die("socket %s: %s", out ? "write" : "read",
			    n ? strerror(errno) : "peer closed");
		done += n;
	}
}

static int tcp_connect(const char *server, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int one = 1, s, ls;

	if (server) {
		if (inet_pton(AF_INET, server, &sa.sin_addr) != 1)
			die("bad server address %s", server);
		for (int tries = 0; tries < 100; tries++) {
			s = socket(AF_INET, SOCK_STREAM, 0);
			if (!connect(s, (struct sockaddr *)&sa, sizeof(sa)))
				return s;
			close(s);
			usleep(100 * 1000);
		}
		die("Couldn't connect to %s:%d", server, port);
	}
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 1))
		die("listen on port %d: %s", port, strerror(errno));
	s = accept(ls, NULL, NULL);
	if (s < 0)
		die("accept: %s", strerror(errno));
	close(ls);
	return s;
}

static void setup(struct peer *p, const char *dev)
{
	struct ibv_qp_init_attr qa = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 16,
			 .max_recv_wr = 16,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
	};
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ | IBV_ACCESS_MW_BIND;

	p->ctx = itest_open_device(dev);
	p->pd = ibv_alloc_pd(p->ctx);
	p->cq = ibv_create_cq(p->ctx, 32, NULL, NULL, 0);
	if (!p->pd || !p->cq)
		die("PD/CQ: %s", strerror(errno));
	qa.send_cq = qa.recv_cq = p->cq;
	p->qp = ibv_create_qp(p->pd, &qa);
	p->buf = aligned_alloc(4096, BUF_LEN);
	if (!p->qp || !p->buf)
		die("QP/buffer: %s", strerror(errno));
	memset(p->buf, 0, BUF_LEN);
	p->mr = ibv_reg_mr(p->pd, p->buf, BUF_LEN, access);
	if (!p->mr)
		die("reg_mr with MW_BIND: %s", strerror(errno));
}

static void modify(struct ibv_qp *qp, struct ibv_qp_attr *a, int mask)
{
	int ret = ibv_modify_qp(qp, a, mask);

	if (ret)
		die("modify_qp to state %d: %s", a->qp_state, strerror(ret));
}

static void connect_qp(struct peer *p)
{
	struct conn_info mine = { .qpn = p->qp->qp_num }, theirs;
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT,
				 .port_num = 1,
				 .qp_access_flags = IBV_ACCESS_REMOTE_WRITE |
						    IBV_ACCESS_REMOTE_READ };
	union ibv_gid gid;

	if (ibv_query_gid(p->ctx, 1, p->gid_index, &gid))
		die("query_gid %d", p->gid_index);
	memcpy(mine.gid, gid.raw, 16);
	xfer(p->sock, &mine, sizeof(mine), true);
	xfer(p->sock, &theirs, sizeof(theirs), false);
	modify(p->qp, &a,
	       IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		       IBV_QP_ACCESS_FLAGS);
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = theirs.qpn;
	a.rq_psn = PSN;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.port_num = 1;
	a.ah_attr.grh.hop_limit = 64;
	a.ah_attr.grh.sgid_index = p->gid_index;
	memcpy(a.ah_attr.grh.dgid.raw, theirs.gid, 16);
	modify(p->qp, &a,
	       IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
		       IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
		       IBV_QP_MIN_RNR_TIMER);
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = PSN;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	modify(p->qp, &a,
	       IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		       IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_MAX_QP_RD_ATOMIC);
}

static struct ibv_wc wait_wc(struct peer *p, uint64_t wr_id)
{
	uint64_t until = now_ms() + WAIT_MS;
	struct ibv_wc wc;

	while (now_ms() < until) {
		int n = ibv_poll_cq(p->cq, 1, &wc);

		if (n < 0)
			die("poll_cq: %d", n);
		if (n == 0)
			continue;
		if (wc.wr_id != wr_id)
			die("completion of wr %llu while waiting for %llu "
			    "(status %s)",
			    (unsigned long long)wc.wr_id,
			    (unsigned long long)wr_id,
			    ibv_wc_status_str(wc.status));
		return wc;
	}
	die("no completion for wr %llu in %d ms", (unsigned long long)wr_id,
	    WAIT_MS);
}

static void post(struct peer *p, struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad;
	int ret = ibv_post_send(p->qp, wr, &bad);

	if (ret)
		die("post_send opcode %d: %s", wr->opcode, strerror(ret));
}

static void fill(uint8_t *p, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

/*
 * Kernel rxe (seen on 6.1) writes the kernel's IB_WC_WITH_INVALIDATE
 * (1 << 2) into the user-space CQE, where it reads as IBV_WC_IP_CSUM_OK;
 * IBV_WC_WITH_INV is 1 << 3.  Expect what each device really reports.
 */
static unsigned int with_inv_flag(const struct peer *p)
{
	return strncmp(ibv_get_device_name(p->ctx->device), "rxe", 3)
		       ? IBV_WC_WITH_INV
		       : IBV_WC_IP_CSUM_OK;
}

/* The side that owns the memory and opens the windows. */
static void run_owner(struct peer *p)
{
	struct ibv_mw *mw1 = ibv_alloc_mw(p->pd, IBV_MW_TYPE_1);
	struct ibv_mw *mw2 = ibv_alloc_mw(p->pd, IBV_MW_TYPE_2);
	struct ibv_mw_bind bind = {
		.wr_id = 1,
		.send_flags = IBV_SEND_SIGNALED,
		.bind_info = { .mr = p->mr,
			       .addr = (uintptr_t)p->buf + W1_OFF,
			       .length = W1_LEN,
			       .mw_access_flags = IBV_ACCESS_REMOTE_WRITE |
						  IBV_ACCESS_REMOTE_READ },
	};
	struct ibv_sge rsge = { .addr = (uintptr_t)p->buf + BUF_LEN - 64,
				.length = 64,
				.lkey = p->mr->lkey };
	struct ibv_recv_wr rwr = { .wr_id = 3, .sg_list = &rsge, .num_sge = 1 },
			   *bad_r;
	struct ibv_send_wr wr = { 0 };
	struct window_info w;
	struct ibv_wc wc;
	uint8_t *expect, done;
	uint32_t rkey2;

	if (!mw1 || !mw2)
		die("alloc_mw: %s", strerror(errno));
	if (ibv_post_recv(p->qp, &rwr, &bad_r))
		die("post_recv");
	if (ibv_bind_mw(p->qp, mw1, &bind))
		die("ibv_bind_mw (type 1): %s", strerror(errno));
	wc = wait_wc(p, 1);
	EXPECT(wc.status == IBV_WC_SUCCESS && wc.opcode == IBV_WC_BIND_MW,
	       "type 1 bind: %s, opcode %d", ibv_wc_status_str(wc.status),
	       wc.opcode);
	w = (struct window_info){ bind.bind_info.addr, mw1->rkey, W1_LEN };
	xfer(p->sock, &w, sizeof(w), true);

	rkey2 = ibv_inc_rkey(mw2->rkey);
	wr.wr_id = 2;
	wr.opcode = IBV_WR_BIND_MW;
	wr.send_flags = IBV_SEND_SIGNALED;
	wr.bind_mw.mw = mw2;
	wr.bind_mw.rkey = rkey2;
	wr.bind_mw.bind_info = bind.bind_info;
	wr.bind_mw.bind_info.addr = (uintptr_t)p->buf + W2_OFF;
	wr.bind_mw.bind_info.length = W2_LEN;
	wr.bind_mw.bind_info.mw_access_flags = IBV_ACCESS_REMOTE_WRITE;
	post(p, &wr);
	wc = wait_wc(p, 2);
	EXPECT(wc.status == IBV_WC_SUCCESS && wc.opcode == IBV_WC_BIND_MW,
	       "type 2 bind: %s", ibv_wc_status_str(wc.status));
	w = (struct window_info){ wr.bind_mw.bind_info.addr, rkey2, W2_LEN };
	xfer(p->sock, &w, sizeof(w), true);

	wc = wait_wc(p, 3); /* the peer's SEND WITH INVALIDATE */
	EXPECT(wc.status == IBV_WC_SUCCESS && wc.opcode == IBV_WC_RECV &&
		       (wc.wc_flags & with_inv_flag(p)) &&
		       wc.invalidated_rkey == rkey2,
	       "send with invalidate: %s, flags 0x%x, rkey 0x%x (bound 0x%x)",
	       ibv_wc_status_str(wc.status), wc.wc_flags, wc.invalidated_rkey,
	       rkey2);
	xfer(p->sock, &done, 1, false); /* the peer tried the stale rkey */

	expect = calloc(1, BUF_LEN);
	fill(expect + W1_OFF, W1_LEN, 0x11);
	fill(expect + W2_OFF, W2_LEN, 0x22);
	memcpy(expect + BUF_LEN - 64, p->buf + BUF_LEN - 64, 64);
	for (uint32_t i = 0; i < BUF_LEN; i++)
		if (!EXPECT(p->buf[i] == expect[i],
			    "byte %u is 0x%02x, expected 0x%02x", i, p->buf[i],
			    expect[i]))
			break;
	free(expect);
	xfer(p->sock, &done, 1, true);
	EXPECT(!ibv_dealloc_mw(mw1) && !ibv_dealloc_mw(mw2), "dealloc_mw");
}

static struct ibv_wc rdma(struct peer *p, enum ibv_wr_opcode op, uint64_t id,
			  uint32_t off, uint32_t len, uint64_t raddr,
			  uint32_t rkey)
{
	struct ibv_sge sge = { .addr = (uintptr_t)p->buf + off,
			       .length = len,
			       .lkey = p->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = id,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED };

	if (op == IBV_WR_SEND_WITH_INV) {
		wr.invalidate_rkey = rkey;
	} else {
		wr.wr.rdma.remote_addr = raddr;
		wr.wr.rdma.rkey = rkey;
	}
	post(p, &wr);
	return wait_wc(p, id);
}

/* The side that moves data through the windows. */
static void run_user(struct peer *p)
{
	struct window_info w1, w2;
	struct ibv_wc wc;
	uint8_t done = 1;

	xfer(p->sock, &w1, sizeof(w1), false);
	fill(p->buf, w1.len, 0x11);
	wc = rdma(p, IBV_WR_RDMA_WRITE, 10, 0, w1.len, w1.addr, w1.rkey);
	EXPECT(wc.status == IBV_WC_SUCCESS, "WRITE through type 1 MW: %s",
	       ibv_wc_status_str(wc.status));
	wc = rdma(p, IBV_WR_RDMA_READ, 11, 32768, w1.len, w1.addr, w1.rkey);
	EXPECT(wc.status == IBV_WC_SUCCESS &&
		       !memcmp(p->buf, p->buf + 32768, w1.len),
	       "READ through type 1 MW: %s", ibv_wc_status_str(wc.status));

	xfer(p->sock, &w2, sizeof(w2), false);
	fill(p->buf, w2.len, 0x22);
	wc = rdma(p, IBV_WR_RDMA_WRITE, 12, 0, w2.len, w2.addr, w2.rkey);
	EXPECT(wc.status == IBV_WC_SUCCESS, "WRITE through type 2 MW: %s",
	       ibv_wc_status_str(wc.status));
	wc = rdma(p, IBV_WR_SEND_WITH_INV, 13, 0, 16, 0, w2.rkey);
	EXPECT(wc.status == IBV_WC_SUCCESS, "SEND WITH INVALIDATE: %s",
	       ibv_wc_status_str(wc.status));
	memset(p->buf, 0xee, w2.len);
	wc = rdma(p, IBV_WR_RDMA_WRITE, 14, 0, w2.len, w2.addr, w2.rkey);
	EXPECT(wc.status == IBV_WC_REM_ACCESS_ERR,
	       "WRITE with the invalidated rkey: %s (expected %s)",
	       ibv_wc_status_str(wc.status),
	       ibv_wc_status_str(IBV_WC_REM_ACCESS_ERR));
	xfer(p->sock, &done, 1, true);
	xfer(p->sock, &done, 1, false);
}

int main(int argc, char **argv)
{
	struct peer p = { .gid_index = 1 };
	const char *dev = NULL, *server;
	int opt, port = 18517;

	while ((opt = getopt(argc, argv, "d:x:p:")) != -1) {
		if (opt == 'd')
			dev = optarg;
		else if (opt == 'x')
			p.gid_index = atoi(optarg);
		else if (opt == 'p')
			port = atoi(optarg);
		else
			break; /* unknown option: usage */
	}
	if (!dev || opt != -1) {
		fprintf(stderr,
			"usage: %s -d DEVICE [-x GID_INDEX] [-p PORT] "
			"[SERVER]\n",
			argv[0]);
		return 2;
	}
	server = optind < argc ? argv[optind] : NULL;
	who = server ? "mw_peer user" : "mw_peer owner";
	setup(&p, dev);
	p.sock = tcp_connect(server, port);
	connect_qp(&p);
	if (server)
		run_user(&p);
	else
		run_owner(&p);
	if (failures) {
		fprintf(stderr, "%s: %d failure(s)\n", who, failures);
		return 1;
	}
	printf("%s: PASS (type 1 and type 2 windows, remote invalidate, "
	       "stale rkey rejected)\n",
	       who);
	return 0;
}
