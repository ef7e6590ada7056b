// SPDX-License-Identifier: MIT
/*
 * Issue #10: what UCX 1.13's UD transport needs from a UD receive, and the
 * address vectors UCX builds.
 *
 *   ud_grh DEVICE             one host: a UD QP sends to itself
 *   ud_grh DEVICE recv PORT   two hosts: receive 4 messages, check them
 *   ud_grh DEVICE send ADDR PORT   send them (exchange QPN/GID over TCP)
 *
 * Checks: ibv_create_ah and modify_qp to RTR take flow_label 0xffffffff
 * and dlid 49152 (UCX's values on RoCE); each receive completes with
 * IBV_WC_GRH and wc.sl = 0x0a (mlx5's "RoCEv2, IPv4", UCX reads sl & 7),
 * through ibv_poll_cq and through ibv_cq_ex's read_sl; the first 40 bytes
 * of the buffer are 20 zero bytes and a valid IPv4 header (version 4,
 * IHL 5, UDP, checksum, source and destination = the peers' addresses,
 * total length = IP + UDP + BTH + DETH + payload + ICRC).  A send with no
 * receive posted is dropped and counted (no_recv_wqe; the script checks).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#define QKEY	0x11111111
#define PAYLOAD 64
#define GRH	40
#define MSGS	4
#define SL_IPV4 0x0a

#define CHECK(c, ...)                                                          \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "FAIL (ud_grh.c:%d): ", __LINE__);     \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			exit(1);                                               \
		}                                                              \
	} while (0)

struct peer {
	uint32_t qpn;
	uint8_t gid[16];
};

struct fix {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *scq;
	struct ibv_cq_ex *rcq_ex; /* receives of odd messages: cq_ex path */
	struct ibv_cq *rcq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	uint8_t *buf;
	union ibv_gid gid;
};

static struct ibv_context *open_dev(const char *name)
{
	struct ibv_device **l = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	CHECK(l, "no device list");
	for (int i = 0; l[i]; i++)
		if (!strcmp(ibv_get_device_name(l[i]), name))
			ctx = ibv_open_device(l[i]);
	ibv_free_device_list(l);
	CHECK(ctx, "cannot open %s", name);
	return ctx;
}

static void setup(struct fix *f, const char *dev, bool use_cq_ex)
{
	struct ibv_cq_init_attr_ex cx = {
		.cqe = 16,
		.wc_flags = IBV_WC_STANDARD_FLAGS,
	};
	struct ibv_qp_init_attr qa = {
		.cap = { .max_send_wr = 8,
			 .max_recv_wr = 8,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_UD,
	};
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT,
				 .port_num = 1,
				 .qkey = QKEY };

	f->ctx = open_dev(dev);
	f->pd = ibv_alloc_pd(f->ctx);
	f->scq = ibv_create_cq(f->ctx, 16, NULL, NULL, 0);
	CHECK(f->pd && f->scq, "pd/cq: %s", strerror(errno));
	if (use_cq_ex) {
		f->rcq_ex = ibv_create_cq_ex(f->ctx, &cx);
		CHECK(f->rcq_ex, "create_cq_ex: %s", strerror(errno));
		f->rcq = ibv_cq_ex_to_cq(f->rcq_ex);
	} else {
		f->rcq = ibv_create_cq(f->ctx, 16, NULL, NULL, 0);
		CHECK(f->rcq, "create_cq: %s", strerror(errno));
	}
	qa.send_cq = f->scq;
	qa.recv_cq = f->rcq;
	f->qp = ibv_create_qp(f->pd, &qa);
	CHECK(f->qp, "create_qp: %s", strerror(errno));
	f->buf = aligned_alloc(4096, 8192);
	CHECK(f->buf, "alloc");
	memset(f->buf, 0xff, 8192);
	f->mr = ibv_reg_mr(f->pd, f->buf, 8192, IBV_ACCESS_LOCAL_WRITE);
	CHECK(f->mr, "reg_mr: %s", strerror(errno));
	CHECK(!ibv_modify_qp(f->qp, &a,
			     IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				     IBV_QP_QKEY),
	      "INIT");
	a.qp_state = IBV_QPS_RTR;
	CHECK(!ibv_modify_qp(f->qp, &a, IBV_QP_STATE), "RTR");
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = 0;
	CHECK(!ibv_modify_qp(f->qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN), "RTS");
	CHECK(!ibv_query_gid(f->ctx, 1, 1, &f->gid), "query_gid");
}

/* UCX's address vector on RoCE: any flow label, a made-up DLID. */
static struct ibv_ah *ucx_ah(struct fix *f, const uint8_t *dgid)
{
	struct ibv_ah_attr aa = {
		.is_global = 1,
		.dlid = 49152,
		.sl = 0,
		.port_num = 1,
		.grh = { .flow_label = 0xffffffffu,
			 .sgid_index = 1,
			 .hop_limit = 64 },
	};
	struct ibv_ah *ah;

	memcpy(aa.grh.dgid.raw, dgid, 16);
	ah = ibv_create_ah(f->pd, &aa);
	CHECK(ah, "ibv_create_ah(flow_label 0xffffffff, dlid 49152): %s",
	      strerror(errno));
	return ah;
}

/* An RC QP to RTR with the same AV: modify_qp takes it too. */
static void rc_rtr_with_ucx_av(struct fix *f)
{
	struct ibv_qp_init_attr qa = {
		.send_cq = f->scq,
		.recv_cq = f->scq,
		.cap = { .max_send_wr = 1,
			 .max_recv_wr = 1,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};
	struct ibv_qp *qp = ibv_create_qp(f->pd, &qa);
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT, .port_num = 1 };
	int ret;

	CHECK(qp, "create RC qp");
	CHECK(!ibv_modify_qp(qp, &a,
			     IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				     IBV_QP_ACCESS_FLAGS),
	      "RC INIT");
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = qp->qp_num;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.dlid = 49152;
	a.ah_attr.port_num = 1;
	a.ah_attr.grh.flow_label = 0xffffffffu;
	a.ah_attr.grh.sgid_index = 1;
	a.ah_attr.grh.hop_limit = 64;
	memcpy(a.ah_attr.grh.dgid.raw, f->gid.raw, 16);
	ret = ibv_modify_qp(qp, &a,
			    IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				    IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
				    IBV_QP_MAX_DEST_RD_ATOMIC |
				    IBV_QP_MIN_RNR_TIMER);
	CHECK(!ret, "RC RTR with flow_label 0xffffffff: %s", strerror(ret));
	CHECK(!ibv_destroy_qp(qp), "destroy RC qp");
}

static void post_recv(struct fix *f, int i)
{
	struct ibv_sge s = { (uintptr_t)(f->buf + i * 1024), GRH + PAYLOAD,
			     f->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = (uint64_t)i,
				  .sg_list = &s,
				  .num_sge = 1 };
	struct ibv_recv_wr *bad;

	memset(f->buf + i * 1024, 0xff, GRH + PAYLOAD);
	CHECK(!ibv_post_recv(f->qp, &wr, &bad), "post_recv");
}

static void send_one(struct fix *f, struct ibv_ah *ah, uint32_t qpn, int i)
{
	uint8_t *p = f->buf + 4096 + i * 128;
	struct ibv_sge s = { (uintptr_t)p, PAYLOAD, f->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = 100 + (uint64_t)i,
				  .sg_list = &s,
				  .num_sge = 1,
				  .opcode = IBV_WR_SEND,
				  .send_flags = IBV_SEND_SIGNALED };
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	int n;

	for (int k = 0; k < PAYLOAD; k++)
		p[k] = (uint8_t)(i * 31 + k);
	wr.wr.ud.ah = ah;
	wr.wr.ud.remote_qpn = qpn;
	wr.wr.ud.remote_qkey = QKEY;
	CHECK(!ibv_post_send(f->qp, &wr, &bad), "post_send");
	for (int t = 0; t < 2000000; t++)
		if ((n = ibv_poll_cq(f->scq, 1, &wc)))
			break;
	CHECK(n == 1 && wc.status == IBV_WC_SUCCESS, "send completion");
}

static uint16_t csum(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* One receive completion: from the plain CQ or the extended one. */
static void reap(struct fix *f, struct ibv_wc *wc)
{
	for (int t = 0; t < 20000000; t++) {
		if (f->rcq_ex) {
			struct ibv_poll_cq_attr pa = { 0 };

			if (ibv_start_poll(f->rcq_ex, &pa))
				continue;
			wc->wr_id = f->rcq_ex->wr_id;
			wc->status = f->rcq_ex->status;
			wc->wc_flags = ibv_wc_read_wc_flags(f->rcq_ex);
			wc->byte_len = ibv_wc_read_byte_len(f->rcq_ex);
			wc->sl = ibv_wc_read_sl(f->rcq_ex);
			wc->src_qp = ibv_wc_read_src_qp(f->rcq_ex);
			ibv_end_poll(f->rcq_ex);
			return;
		}
		if (ibv_poll_cq(f->rcq, 1, wc) == 1)
			return;
		usleep(t > 1000 ? 100 : 0);
	}
	CHECK(0, "no receive completion");
}

static void check_recv(struct fix *f, int i, const uint8_t *src_gid,
		       const uint8_t *dst_gid)
{
	const uint8_t *b = f->buf + i * 1024, *ip = b + 20;
	static const uint8_t zero[20];
	struct ibv_wc wc;

	reap(f, &wc);
	CHECK(wc.status == IBV_WC_SUCCESS && wc.wr_id == (uint64_t)i,
	      "recv %d: status %d wr_id %llu", i, wc.status,
	      (unsigned long long)wc.wr_id);
	CHECK(wc.byte_len == GRH + PAYLOAD, "byte_len %u", wc.byte_len);
	CHECK(wc.wc_flags & IBV_WC_GRH, "no IBV_WC_GRH");
	CHECK(wc.sl == SL_IPV4, "%s: wc.sl 0x%x, expected 0x%x (RoCEv2 IPv4)",
	      f->rcq_ex ? "read_sl" : "poll_cq", wc.sl, SL_IPV4);
	CHECK(!memcmp(b, zero, 20), "GRH bytes 0..19 are not zero");
	CHECK(ip[0] == 0x45 && ip[9] == 17, "IPv4 header: %02x proto %u", ip[0],
	      ip[9]);
	CHECK((ip[2] << 8 | ip[3]) == 20 + 8 + 12 + 8 + PAYLOAD + 4,
	      "IPv4 total length %u", ip[2] << 8 | ip[3]);
	CHECK(csum(ip) == 0xffff, "IPv4 header checksum wrong");
	CHECK(!memcmp(ip + 12, src_gid + 12, 4), "IPv4 source");
	CHECK(!memcmp(ip + 16, dst_gid + 12, 4), "IPv4 destination");
	for (int k = 0; k < PAYLOAD; k++)
		CHECK(b[GRH + k] == (uint8_t)(i * 31 + k), "payload byte %d",
		      k);
}

static int tcp(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	int s = socket(AF_INET, SOCK_STREAM, 0), one = 1, c;

	CHECK(s >= 0, "socket");
	if (!addr) {
		sa.sin_addr.s_addr = htonl(INADDR_ANY);
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		CHECK(!bind(s, (void *)&sa, sizeof(sa)) && !listen(s, 1),
		      "listen");
		c = accept(s, NULL, NULL);
		close(s);
		return c;
	}
	inet_pton(AF_INET, addr, &sa.sin_addr);
	for (int t = 0; t < 100; t++) {
		if (!connect(s, (void *)&sa, sizeof(sa)))
			return s;
		usleep(50000);
	}
	CHECK(0, "connect %s:%d", addr, port);
	return -1;
}

static void xchg(int s, const struct peer *me, struct peer *them)
{
	CHECK(write(s, me, sizeof(*me)) == sizeof(*me), "write");
	CHECK(read(s, them, sizeof(*them)) == sizeof(*them), "read");
}

static void teardown(struct fix *f, struct ibv_ah *ah)
{
	if (ah)
		CHECK(!ibv_destroy_ah(ah), "destroy_ah");
	CHECK(!ibv_destroy_qp(f->qp), "destroy_qp");
	CHECK(!ibv_dereg_mr(f->mr), "dereg_mr");
	CHECK(!ibv_destroy_cq(f->rcq) && !ibv_destroy_cq(f->scq), "cqs");
	CHECK(!ibv_dealloc_pd(f->pd), "pd");
	CHECK(!ibv_close_device(f->ctx), "close");
	free(f->buf);
}

int main(int argc, char **argv)
{
	struct fix f = { 0 };
	struct peer me, them;
	struct ibv_ah *ah;
	char ok = 1;
	int s;

	CHECK(argc == 2 || argc == 4 || argc == 5, "usage: see the source");
	setup(&f, argv[1], argc > 2 && !strcmp(argv[2], "recv"));
	me.qpn = f.qp->qp_num;
	memcpy(me.gid, f.gid.raw, 16);
	if (argc == 2) {
		rc_rtr_with_ucx_av(&f);
		ah = ucx_ah(&f, f.gid.raw);
		for (int i = 0; i < MSGS; i++) {
			post_recv(&f, i);
			send_one(&f, ah, f.qp->qp_num, i);
			check_recv(&f, i, f.gid.raw, f.gid.raw);
		}
		/* Nothing posted: dropped, counted as no_recv_wqe. */
		send_one(&f, ah, f.qp->qp_num, 0);
		teardown(&f, ah);
		printf("ud_grh: one host OK\n");
		return 0;
	}
	if (!strcmp(argv[2], "recv")) {
		for (int i = 0; i < MSGS; i++)
			post_recv(&f, i);
		s = tcp(NULL, atoi(argv[3]));
		xchg(s, &me, &them);
		for (int i = 0; i < MSGS; i++)
			check_recv(&f, i, them.gid, me.gid);
		CHECK(write(s, &ok, 1) == 1, "ack");
		close(s);
		teardown(&f, NULL);
		printf("ud_grh: receiver OK\n");
		return 0;
	}
	s = tcp(argv[3], atoi(argv[4]));
	xchg(s, &me, &them);
	ah = ucx_ah(&f, them.gid);
	for (int i = 0; i < MSGS; i++)
		send_one(&f, ah, them.qpn, i);
	CHECK(read(s, &ok, 1) == 1, "receiver did not confirm");
	close(s);
	teardown(&f, ah);
	printf("ud_grh: sender OK\n");
	return 0;
}
