// SPDX-License-Identifier: MIT
/*
 * IBA 1.5 ATOMIC WRITE and FLUSH through unmodified libibverbs 44
 * (docs/atomic-write-flush.md), one process, two RC QPs on one device:
 *
 *   awf_e2e DEV
 *
 *   - query_device_ex: device_cap_flags_ex has ATOMIC_WRITE (bit 40) and
 *     FLUSH_GLOBAL (38), not FLUSH_PERSISTENT (39);
 *   - reg_mr: FLUSH_GLOBAL is granted, FLUSH_PERSISTENT is EOPNOTSUPP;
 *   - create_qp_ex: IBV_QP_EX_WITH_ATOMIC_WRITE on RC, EOPNOTSUPP on UD;
 *   - ibv_wr_atomic_write: values land (8 bytes, neighbours untouched),
 *     completions IBV_WC_ATOMIC_WRITE with byte_len 8; an unaligned
 *     address fails at wr_complete with EINVAL and posts nothing;
 *     ibv_post_send with IBV_WR_ATOMIC_WRITE is EINVAL (rdma-core defines
 *     the operation for ibv_qp_ex only);
 *   - forged rkeys (random, the lkey, neighbours, a deregistered rkey)
 *     and an MR without REMOTE_WRITE: IBV_WC_REM_ACCESS_ERR, 0 bytes
 *     moved (the QPs are reset and reconnected after each).
 * Prints "wire: VA RKEY VALUE" (hex, as on the wire) for the capture
 * check of test_awf_e2e.sh, and PASS.
 */
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "srxe/awf.h"

static const char *who = "awf_e2e";
static int failures;

#include "itest.h"

#define BUF	 4096
#define N_WRITES 64

struct side {
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_qp_ex *qpx;
};

static struct ibv_context *ctx;
static struct ibv_pd *pd;
static struct side a, b;
static union ibv_gid gid;

static struct ibv_qp *make_qp(struct ibv_cq *cq, enum ibv_qp_type type,
			      uint64_t ops, int *err)
{
	struct ibv_qp_init_attr_ex ia = {
		.send_cq = cq,
		.recv_cq = cq,
		.qp_type = type,
		.cap = { .max_send_wr = 128,
			 .max_recv_wr = 4,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.comp_mask =
			IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.pd = pd,
		.send_ops_flags = ops,
	};
	struct ibv_qp *qp = ibv_create_qp_ex(ctx, &ia);

	*err = qp ? 0 : errno;
	return qp;
}

static void modify(struct ibv_qp *qp, struct ibv_qp_attr *at, int mask)
{
	int ret = ibv_modify_qp(qp, at, mask);

	if (ret)
		die("modify_qp to %d: %s", at->qp_state, strerror(ret));
}

/* RESET -> RTS towards @peer. */
static void connect_qp(struct ibv_qp *qp, uint32_t peer)
{
	struct ibv_qp_attr at = { .qp_state = IBV_QPS_RESET };

	modify(qp, &at, IBV_QP_STATE);
	at = (struct ibv_qp_attr){
		.qp_state = IBV_QPS_INIT,
		.port_num = 1,
		.qp_access_flags = IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ |
				   SRXE_ACCESS_FLUSH_GLOBAL,
	};
	modify(qp, &at,
	       IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		       IBV_QP_ACCESS_FLAGS);
	at = (struct ibv_qp_attr){
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_1024,
		.dest_qp_num = peer,
		.rq_psn = 0x123,
		.max_dest_rd_atomic = 4,
		.min_rnr_timer = 12,
		.ah_attr = { .is_global = 1,
			     .grh = { .dgid = gid,
				      .sgid_index = 1,
				      .hop_limit = 64 },
			     .port_num = 1 },
	};
	modify(qp, &at,
	       IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
		       IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
		       IBV_QP_MIN_RNR_TIMER);
	at = (struct ibv_qp_attr){
		.qp_state = IBV_QPS_RTS,
		.sq_psn = 0x123,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = 4,
	};
	modify(qp, &at,
	       IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		       IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_MAX_QP_RD_ATOMIC);
}

static void reconnect(void)
{
	connect_qp(a.qp, b.qp->qp_num);
	connect_qp(b.qp, a.qp->qp_num);
}

static struct ibv_wc poll_one(struct ibv_cq *cq)
{
	uint64_t end = now_ms() + 10000;
	struct ibv_wc wc;

	while (now_ms() < end)
		if (ibv_poll_cq(cq, 1, &wc) == 1)
			return wc;
	die("no completion in 10 s");
}

/* One ATOMIC WRITE from a; returns the work completion. */
static struct ibv_wc atomic_write(uint64_t wr_id, uint32_t rkey, uint64_t addr,
				  uint64_t value)
{
	int ret;

	ibv_wr_start(a.qpx);
	a.qpx->wr_id = wr_id;
	a.qpx->wr_flags = IBV_SEND_SIGNALED;
	ibv_wr_atomic_write(a.qpx, rkey, addr, &value);
	ret = ibv_wr_complete(a.qpx);
	if (ret)
		die("wr_complete: %s", strerror(ret));
	return poll_one(a.cq);
}

static void check_caps(void)
{
	struct ibv_device_attr_ex attr;
	uint64_t f;

	if (ibv_query_device_ex(ctx, NULL, &attr))
		die("ibv_query_device_ex: %s", strerror(errno));
	f = attr.device_cap_flags_ex;
	EXPECT(f & SRXE_DEVICE_ATOMIC_WRITE, "no ATOMIC_WRITE cap (0x%llx)",
	       (unsigned long long)f);
	EXPECT(f & SRXE_DEVICE_FLUSH_GLOBAL, "no FLUSH_GLOBAL cap");
	EXPECT(!(f & SRXE_DEVICE_FLUSH_PERSISTENT), "FLUSH_PERSISTENT cap");
	EXPECT((uint32_t)f == (uint32_t)attr.orig_attr.device_cap_flags,
	       "device_cap_flags_ex restates device_cap_flags");
	printf("ok: device_cap_flags_ex 0x%llx: ATOMIC_WRITE, FLUSH_GLOBAL\n",
	       (unsigned long long)f);
}

static void check_mr_access(uint8_t *buf)
{
	struct ibv_mr *mr;

	errno = 0;
	mr = ibv_reg_mr(pd, buf, BUF,
			IBV_ACCESS_LOCAL_WRITE | SRXE_ACCESS_FLUSH_PERSISTENT);
	EXPECT(!mr && errno == EOPNOTSUPP,
	       "FLUSH_PERSISTENT MR: %s, expected EOPNOTSUPP",
	       mr ? "registered" : strerror(errno));
	if (mr)
		ibv_dereg_mr(mr);
	mr = ibv_reg_mr(pd, buf, BUF,
			IBV_ACCESS_LOCAL_WRITE | SRXE_ACCESS_FLUSH_GLOBAL);
	EXPECT(mr && mr->rkey, "FLUSH_GLOBAL MR: %s",
	       mr ? "no rkey" : strerror(errno));
	if (mr)
		ibv_dereg_mr(mr);
	printf("ok: MR access FLUSH_GLOBAL granted, FLUSH_PERSISTENT "
	       "EOPNOTSUPP\n");
}

static void check_qp_types(void)
{
	struct ibv_qp *qp;
	int err;

	qp = make_qp(a.cq, IBV_QPT_UD,
		     IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_ATOMIC_WRITE, &err);
	EXPECT(!qp && err == EOPNOTSUPP, "UD QP with ATOMIC_WRITE: %s",
	       qp ? "created" : strerror(err));
	if (qp)
		ibv_destroy_qp(qp);
	printf("ok: ATOMIC_WRITE on a UD QP is EOPNOTSUPP\n");
}

static void writes_land(uint8_t *dst, struct ibv_mr *dmr)
{
	uint8_t before[BUF];
	uint64_t v = 0, got;
	struct ibv_wc wc;

	memcpy(before, dst, BUF);
	for (uint64_t i = 0; i < N_WRITES; i++) {
		v = 0x0102030405060708ull * (i + 1);
		wc = atomic_write(i, dmr->rkey, (uintptr_t)dst + 1024, v);
		if (!EXPECT(wc.status == IBV_WC_SUCCESS &&
				    wc.opcode == IBV_WC_ATOMIC_WRITE &&
				    wc.byte_len == 8 && wc.wr_id == i,
			    "write %llu: %s opcode %d len %u",
			    (unsigned long long)i, ibv_wc_status_str(wc.status),
			    wc.opcode, wc.byte_len))
			return;
		memcpy(&got, dst + 1024, 8);
		EXPECT(got == v, "write %llu landed 0x%llx",
		       (unsigned long long)i, (unsigned long long)got);
	}
	EXPECT(!memcmp(dst, before, 1024) &&
		       !memcmp(dst + 1032, before + 1032, BUF - 1032),
	       "bytes around the word changed");
	printf("ok: %d ATOMIC WRITEs landed, IBV_WC_ATOMIC_WRITE, byte_len 8\n",
	       N_WRITES);
	printf("wire: %016llx %08x %016llx\n",
	       (unsigned long long)(uintptr_t)(dst + 1024), dmr->rkey,
	       (unsigned long long)htobe64(v));
}

static void local_refusals(uint8_t *dst, struct ibv_mr *dmr)
{
	struct ibv_send_wr wr = { .opcode = IBV_WR_ATOMIC_WRITE,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad = NULL;
	uint64_t v = 1;
	struct ibv_wc wc;
	int ret;

	ibv_wr_start(a.qpx);
	ibv_wr_atomic_write(a.qpx, dmr->rkey, (uintptr_t)dst + 1028, &v);
	ret = ibv_wr_complete(a.qpx);
	EXPECT(ret == EINVAL, "unaligned ATOMIC WRITE: wr_complete %d", ret);
	wr.wr.rdma.remote_addr = (uintptr_t)dst;
	wr.wr.rdma.rkey = dmr->rkey;
	ret = ibv_post_send(a.qp, &wr, &bad);
	EXPECT(ret == EINVAL && bad == &wr,
	       "ibv_post_send(IBV_WR_ATOMIC_WRITE): %d", ret);
	EXPECT(ibv_poll_cq(a.cq, 1, &wc) == 0, "something was posted");
	printf("ok: unaligned wr_atomic_write and post_send ATOMIC_WRITE are "
	       "EINVAL, nothing posted\n");
}

static uint32_t rnd32(void)
{
	return (uint32_t)random() << 16 ^ (uint32_t)random();
}

/* A refused ATOMIC WRITE: REM_ACCESS_ERR and not one byte moved. */
static void refused(const char *what, uint32_t rkey, uint8_t *dst,
		    uint64_t addr)
{
	uint8_t before[BUF];
	struct ibv_wc wc;

	memcpy(before, dst, BUF);
	wc = atomic_write(7, rkey, addr, 0xdeadbeefdeadbeefull);
	EXPECT(wc.status == IBV_WC_REM_ACCESS_ERR, "%s: %s", what,
	       ibv_wc_status_str(wc.status));
	EXPECT(!memcmp(before, dst, BUF), "%s: bytes moved", what);
	reconnect();
}

static void forged(uint8_t *dst, struct ibv_mr *dmr, struct ibv_mr *ro)
{
	uint64_t addr = (uintptr_t)dst + 512;
	struct ibv_mr *gone;
	uint32_t gone_rkey;
	int n = 0;

	for (int i = 0; i < 20; i++, n++)
		refused("random rkey", rnd32(), dst, addr);
	refused("the lkey", dmr->lkey == dmr->rkey ? dmr->rkey ^ 1 : dmr->lkey,
		dst, addr);
	for (uint32_t bit = 0; bit < 32; bit += 3, n++)
		refused("a neighbour rkey", dmr->rkey ^ (1u << bit), dst, addr);
	gone = ibv_reg_mr(pd, dst + BUF, BUF,
			  IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	if (!gone)
		die("reg_mr: %s", strerror(errno));
	gone_rkey = gone->rkey;
	ibv_dereg_mr(gone);
	refused("a deregistered rkey", gone_rkey, dst, addr);
	refused("an MR without REMOTE_WRITE", ro->rkey, dst,
		(uintptr_t)ro->addr);
	n += 3;
	printf("ok: %d forged or insufficient rkeys: IBV_WC_REM_ACCESS_ERR, "
	       "0 bytes moved\n",
	       n);
}

int main(int argc, char **argv)
{
	uint8_t *buf = aligned_alloc(4096, 4 * BUF);
	struct ibv_mr *dmr, *ro;
	int err;

	if (argc != 2 || !buf)
		die("usage: awf_e2e DEV");
	srandom((unsigned int)getpid());
	ctx = itest_open_device(argv[1]);
	pd = ibv_alloc_pd(ctx);
	a.cq = ibv_create_cq(ctx, 256, NULL, NULL, 0);
	b.cq = ibv_create_cq(ctx, 256, NULL, NULL, 0);
	if (!pd || !a.cq || !b.cq || ibv_query_gid(ctx, 1, 1, &gid))
		die("PD/CQ/GID: %s", strerror(errno));
	memset(buf, 0x5c, 4 * BUF);
	check_caps();
	check_mr_access(buf + 3 * BUF);
	dmr = ibv_reg_mr(pd, buf, BUF,
			 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
				 SRXE_ACCESS_FLUSH_GLOBAL);
	ro = ibv_reg_mr(pd, buf + 2 * BUF, BUF,
			IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ);
	if (!dmr || !ro)
		die("reg_mr: %s", strerror(errno));
	a.qp = make_qp(a.cq, IBV_QPT_RC,
		       IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_ATOMIC_WRITE, &err);
	b.qp = make_qp(b.cq, IBV_QPT_RC, IBV_QP_EX_WITH_SEND, &err);
	if (!a.qp || !b.qp)
		die("create_qp_ex(RC, ATOMIC_WRITE): %s", strerror(err));
	a.qpx = ibv_qp_to_qp_ex(a.qp);
	if (!a.qpx || !a.qpx->wr_atomic_write)
		die("no wr_atomic_write");
	check_qp_types();
	reconnect();
	writes_land(buf, dmr);
	local_refusals(buf, dmr);
	forged(buf, dmr, ro);
	ibv_destroy_qp(a.qp);
	ibv_destroy_qp(b.qp);
	ibv_dereg_mr(dmr);
	ibv_dereg_mr(ro);
	ibv_destroy_cq(a.cq);
	ibv_destroy_cq(b.cq);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	free(buf);
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
