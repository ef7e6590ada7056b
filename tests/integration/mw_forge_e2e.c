// SPDX-License-Identifier: MIT
/*
 * Forged, stale and foreign memory-window rkeys move no byte (issue #10,
 * must-show 7; docs/memory-windows.md).  One process, two verbs contexts
 * on one srxe device: a victim (MR with MW_BIND, a type 2 window bound to
 * its QP v1 over 8 KiB in the middle of a 64 KiB MR, a second QP v2 in
 * the same PD, a type 1 window) and an attacker whose QPs a1, a2 are
 * connected to v1, v2.  Every refused RDMA WRITE/READ must complete with
 * IBV_WC_REM_ACCESS_ERR and leave the victim's buffer byte-identical;
 * legitimate accesses through the window work.
 *
 * Usage: mw_forge_e2e DEVICE   (prints PASS)
 */
#include <errno.h>
#include <infiniband/verbs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *who = "mw_forge";
static int failures;
#include "itest.h"

#define MR_LEN	(64 * 1024)
#define WIN_OFF (24 * 1024)
#define WIN_LEN (8 * 1024)
#define GID_IDX 1
#define PSN	0x1234

struct side {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp[2];
	uint8_t *buf;
	struct ibv_mr *mr;
	union ibv_gid gid;
};

static struct side v, a;
static uint8_t ref[MR_LEN];
static unsigned refused, bytes_moved;

static void open_side(struct side *s, struct ibv_device *dev, int mr_access)
{
	struct ibv_qp_init_attr init = {
		.qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 16,
			 .max_recv_wr = 16,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
	};

	s->ctx = ibv_open_device(dev);
	if (!s->ctx)
		die("open_device: %s", strerror(errno));
	s->pd = ibv_alloc_pd(s->ctx);
	s->cq = ibv_create_cq(s->ctx, 64, NULL, NULL, 0);
	if (!s->pd || !s->cq)
		die("pd/cq: %s", strerror(errno));
	init.send_cq = init.recv_cq = s->cq;
	for (int i = 0; i < 2; i++)
		if (!(s->qp[i] = ibv_create_qp(s->pd, &init)))
			die("create_qp: %s", strerror(errno));
	s->buf = aligned_alloc(4096, MR_LEN);
	if (!s->buf)
		die("alloc");
	memset(s->buf, 0x5a, MR_LEN);
	s->mr = ibv_reg_mr(s->pd, s->buf, MR_LEN, mr_access);
	if (!s->mr)
		die("reg_mr: %s", strerror(errno));
	if (ibv_query_gid(s->ctx, 1, GID_IDX, &s->gid))
		die("query_gid");
}

static void connect_qp(struct ibv_qp *qp, uint32_t dest, union ibv_gid *gid)
{
	struct ibv_qp_attr at = { .qp_state = IBV_QPS_RESET };

	if (ibv_modify_qp(qp, &at, IBV_QP_STATE))
		die("reset");
	at = (struct ibv_qp_attr){ .qp_state = IBV_QPS_INIT,
				   .port_num = 1,
				   .qp_access_flags = IBV_ACCESS_REMOTE_WRITE |
						      IBV_ACCESS_REMOTE_READ };
	if (ibv_modify_qp(qp, &at,
			  IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				  IBV_QP_ACCESS_FLAGS))
		die("init: %s", strerror(errno));
	at = (struct ibv_qp_attr){
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_1024,
		.dest_qp_num = dest,
		.rq_psn = PSN,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 12,
		.ah_attr = { .is_global = 1,
			     .port_num = 1,
			     .grh = { .dgid = *gid,
				      .sgid_index = GID_IDX,
				      .hop_limit = 64 } },
	};
	if (ibv_modify_qp(qp, &at,
			  IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
				  IBV_QP_MAX_DEST_RD_ATOMIC |
				  IBV_QP_MIN_RNR_TIMER))
		die("rtr: %s", strerror(errno));
	at = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTS,
				   .sq_psn = PSN,
				   .timeout = 10,
				   .retry_cnt = 2,
				   .rnr_retry = 2,
				   .max_rd_atomic = 1 };
	if (ibv_modify_qp(qp, &at,
			  IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
				  IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				  IBV_QP_MAX_QP_RD_ATOMIC))
		die("rts: %s", strerror(errno));
}

/* Both pairs fresh (an access error leaves both QPs in ERR). */
static void connect_all(void)
{
	for (int i = 0; i < 2; i++) {
		connect_qp(v.qp[i], a.qp[i]->qp_num, &a.gid);
		connect_qp(a.qp[i], v.qp[i]->qp_num, &v.gid);
	}
}

static struct ibv_wc wait_wc(struct ibv_cq *cq)
{
	struct ibv_wc wc;
	uint64_t end = now_ms() + 5000;
	int n;

	while ((n = ibv_poll_cq(cq, 1, &wc)) == 0 && now_ms() < end)
		;
	if (n != 1)
		die("no completion");
	return wc;
}

static void drain(struct ibv_cq *cq)
{
	struct ibv_wc wc;

	while (ibv_poll_cq(cq, 1, &wc) > 0)
		;
}

/* One RDMA op from attacker QP i; returns the completion status. */
static enum ibv_wc_status rdma(int i, enum ibv_wr_opcode op, uint32_t rkey,
			       uint64_t off, uint32_t len)
{
	struct ibv_sge sge = { (uintptr_t)a.buf, len, a.mr->lkey };
	struct ibv_send_wr wr = { .opcode = op,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;
	struct ibv_wc wc;

	wr.wr.rdma.remote_addr = (uintptr_t)v.buf + off;
	wr.wr.rdma.rkey = rkey;
	memset(a.buf, 0xa7, len);
	if (ibv_post_send(a.qp[i], &wr, &bad))
		die("post_send: %s", strerror(errno));
	wc = wait_wc(a.cq);
	return wc.status;
}

/* A refused access: REM_ACCESS_ERR, victim unchanged, QPs reset. */
static void refused_op(const char *what, int i, enum ibv_wr_opcode op,
		       uint32_t rkey, uint64_t off, uint32_t len)
{
	enum ibv_wc_status st = rdma(i, op, rkey, off, len);

	EXPECT(st == IBV_WC_REM_ACCESS_ERR, "%s: status %s", what,
	       ibv_wc_status_str(st));
	for (uint32_t k = 0; k < MR_LEN; k++)
		if (v.buf[k] != ref[k])
			bytes_moved++;
	EXPECT(!memcmp(v.buf, ref, MR_LEN), "%s: victim bytes changed", what);
	if (op == IBV_WR_RDMA_READ) {
		uint32_t k = 0;

		while (k < len && a.buf[k] == 0xa7)
			k++;
		EXPECT(k == len, "%s: bytes read", what);
	}
	refused++;
	drain(v.cq);
	drain(a.cq);
	connect_all();
}

static void good_write(const char *what, int i, uint32_t rkey, uint64_t off,
		       uint32_t len)
{
	enum ibv_wc_status st = rdma(i, IBV_WR_RDMA_WRITE, rkey, off, len);

	EXPECT(st == IBV_WC_SUCCESS, "%s: status %s", what,
	       ibv_wc_status_str(st));
	memset(ref + off, 0xa7, len);
	EXPECT(!memcmp(v.buf, ref, MR_LEN), "%s: victim bytes", what);
}

/* Victim posts a local op on v1 and waits for it. */
static enum ibv_wc_status victim_op(struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad;

	wr->send_flags = IBV_SEND_SIGNALED;
	if (ibv_post_send(v.qp[0], wr, &bad))
		die("victim post: %s", strerror(errno));
	return wait_wc(v.cq).status;
}

static void close_side(struct side *s)
{
	for (int i = 0; i < 2; i++)
		ibv_destroy_qp(s->qp[i]);
	ibv_destroy_cq(s->cq);
	EXPECT(ibv_dereg_mr(s->mr) == 0, "dereg_mr: %s", strerror(errno));
	ibv_dealloc_pd(s->pd);
	ibv_close_device(s->ctx);
	free(s->buf);
}

static uint32_t bind2(struct ibv_mw *mw, uint32_t access)
{
	struct ibv_send_wr wr = { .opcode = IBV_WR_BIND_MW };

	wr.bind_mw.mw = mw;
	wr.bind_mw.rkey = ibv_inc_rkey(mw->rkey);
	wr.bind_mw.bind_info = (struct ibv_mw_bind_info){
		.mr = v.mr,
		.addr = (uintptr_t)v.buf + WIN_OFF,
		.length = WIN_LEN,
		.mw_access_flags = access,
	};
	if (victim_op(&wr) != IBV_WC_SUCCESS)
		die("bind type 2");
	mw->rkey = wr.bind_mw.rkey;
	return mw->rkey;
}

int main(int argc, char **argv)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_device *dev = NULL;
	struct ibv_send_wr inv = { .opcode = IBV_WR_LOCAL_INV };
	struct ibv_mw *mw2, *mw1;
	struct ibv_mw_bind b1 = { .send_flags = IBV_SEND_SIGNALED };
	uint32_t rk, old;

	for (int i = 0; list && list[i] && argc > 1; i++)
		if (!strcmp(ibv_get_device_name(list[i]), argv[1]))
			dev = list[i];
	if (!dev)
		die("device %s not found", argc > 1 ? argv[1] : "(none)");
	open_side(&v, dev,
		  IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_MW_BIND); /* no remote */
	open_side(&a, dev, IBV_ACCESS_LOCAL_WRITE);
	ibv_free_device_list(list);
	memcpy(ref, v.buf, MR_LEN);
	connect_all();

	mw2 = ibv_alloc_mw(v.pd, IBV_MW_TYPE_2);
	mw1 = ibv_alloc_mw(v.pd, IBV_MW_TYPE_1);
	if (!mw2 || !mw1)
		die("alloc_mw: %s", strerror(errno));
	rk = bind2(mw2, IBV_ACCESS_REMOTE_WRITE);
	printf("victim: MR rkey 0x%08x (no remote rights), window rkey "
	       "0x%08x over +%u..+%u\n",
	       v.mr->rkey, rk, WIN_OFF, WIN_OFF + WIN_LEN);

	refused_op("MR rkey without remote rights", 0, IBV_WR_RDMA_WRITE,
		   v.mr->rkey, WIN_OFF, 64);
	good_write("window write", 0, rk, WIN_OFF + 100, 256);
	for (uint32_t bit = 8; bit < 32; bit++)
		refused_op("forged tag bit", 0, IBV_WR_RDMA_WRITE,
			   rk ^ (1u << bit), WIN_OFF, 64);
	for (uint32_t b = 1; b < 4; b++)
		refused_op("forged key byte", 0, IBV_WR_RDMA_WRITE,
			   (rk & ~0xffu) | ((rk + b) & 0xff), WIN_OFF, 64);
	refused_op("before the window", 0, IBV_WR_RDMA_WRITE, rk, WIN_OFF - 8,
		   16);
	refused_op("past the window", 0, IBV_WR_RDMA_WRITE, rk,
		   WIN_OFF + WIN_LEN - 8, 16);
	refused_op("MR byte outside the window", 0, IBV_WR_RDMA_WRITE, rk, 0,
		   8);
	refused_op("right the window lacks (READ)", 0, IBV_WR_RDMA_READ, rk,
		   WIN_OFF, 64);
	refused_op("type 2 window from another QP", 1, IBV_WR_RDMA_WRITE, rk,
		   WIN_OFF, 64);
	good_write("window write again", 0, rk, WIN_OFF, 64);

	inv.invalidate_rkey = rk;
	EXPECT(victim_op(&inv) == IBV_WC_SUCCESS, "LOCAL_INV");
	refused_op("stale after LOCAL_INV", 0, IBV_WR_RDMA_WRITE, rk, WIN_OFF,
		   64);
	old = rk;
	rk = bind2(mw2, IBV_ACCESS_REMOTE_WRITE);
	refused_op("previous key byte after rebind", 0, IBV_WR_RDMA_WRITE, old,
		   WIN_OFF, 64);
	good_write("rebound window", 0, rk, WIN_OFF + 1000, 100);
	EXPECT(ibv_dealloc_mw(mw2) == 0, "dealloc bound window");
	refused_op("deallocated window", 0, IBV_WR_RDMA_WRITE, rk, WIN_OFF, 64);

	/* type 1: ibv_bind_mw, READ only, any QP of the PD */
	b1.bind_info = (struct ibv_mw_bind_info){
		.mr = v.mr,
		.addr = (uintptr_t)v.buf + WIN_OFF,
		.length = WIN_LEN,
		.mw_access_flags = IBV_ACCESS_REMOTE_READ,
	};
	if (ibv_bind_mw(v.qp[0], mw1, &b1) ||
	    wait_wc(v.cq).status != IBV_WC_SUCCESS)
		die("bind type 1");
	EXPECT(rdma(1, IBV_WR_RDMA_READ, mw1->rkey, WIN_OFF, 64) ==
		       IBV_WC_SUCCESS,
	       "type 1 READ");
	EXPECT(!memcmp(a.buf, ref + WIN_OFF, 64), "type 1 READ bytes");
	refused_op("type 1 READ-only window written", 1, IBV_WR_RDMA_WRITE,
		   mw1->rkey, WIN_OFF, 64);
	old = mw1->rkey;
	b1.bind_info.length = 0;
	b1.bind_info.addr = 0;
	b1.bind_info.mr = NULL;
	if (ibv_bind_mw(v.qp[0], mw1, &b1) ||
	    wait_wc(v.cq).status != IBV_WC_SUCCESS)
		die("unbind type 1");
	refused_op("type 1 after zero-length bind", 1, IBV_WR_RDMA_READ, old,
		   WIN_OFF, 64);
	refused_op("type 1 new key, zero length", 1, IBV_WR_RDMA_READ,
		   mw1->rkey, WIN_OFF, 64);
	EXPECT(ibv_dealloc_mw(mw1) == 0, "dealloc type 1");
	close_side(&a);
	close_side(&v);

	printf("refused window accesses: %u, bytes moved by them: %u\n",
	       refused, bytes_moved);
	if (failures)
		return 1;
	printf("PASS\n");
	return 0;
}
