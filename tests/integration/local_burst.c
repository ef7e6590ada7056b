// SPDX-License-Identifier: MIT
/*
 * Same-host bursts (issue #14): between two QPs of one device a SEND or
 * WRITE moves in bursts of up to 64 KiB instead of MTU packets
 * (requester.c burst_pkts).  What a packet path gives must hold:
 *
 *   local_burst DEVICE
 *
 * on fresh RC pairs with path MTU 1024 (a 64 KiB burst stands for 64
 * packets): WRITEs of 1 B to 300 KiB at odd offsets land exactly (bytes
 * around them untouched), READs likewise, WRITE with immediate, a SEND
 * scattered over three receive SGEs, a SEND that meets no receive (RNR NAK,
 * then the receive is posted and the retry lands it), the same across the PSN
 * wrap (first PSN 0xfffff0), a WRITE beyond the MR (REM_ACCESS_ERR, no byte
 * written), a READ beyond it, a SEND longer than the receive (REM_INV_REQ_ERR /
 * LOC_LEN_ERR), and a UC WRITE.  After each good case a 4-byte SEND must
 * arrive: the requester's and the responder's PSNs are still in step.
 * Also inline WRITE_WITH_IMMs right behind a gathered one, each read the
 * moment its completion shows (rsockets' pattern).
 */
#include <endian.h>

#include <infiniband/verbs.h>

static const char *who = "local_burst";
static int failures;
#include "itest.h"

#define BUF	 (512u * 1024u)
#define SMALL_MR (64u * 1024u)

struct side {
	struct ibv_cq *cq;
	struct ibv_qp *qp;
};

struct fix {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	uint8_t *src, *dst;
	struct ibv_mr *smr, *dmr, *small;
	union ibv_gid gid;
	struct side a, b; /* a sends to b */
};

static struct ibv_qp *make_qp(struct fix *f, struct ibv_cq *cq,
			      enum ibv_qp_type type)
{
	struct ibv_qp_init_attr qa = {
		.send_cq = cq,
		.recv_cq = cq,
		.cap = { .max_send_wr = 64,
			 .max_recv_wr = 64,
			 .max_send_sge = 4,
			 .max_recv_sge = 4,
			 .max_inline_data = 64 },
		.qp_type = type,
	};
	struct ibv_qp *qp = ibv_create_qp(f->pd, &qa);

	if (!qp)
		die("ibv_create_qp: %s", strerror(errno));
	return qp;
}

static void uc_connect(struct ibv_qp *qp, uint32_t dest, const union ibv_gid *g)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_RTR,
				 .path_mtu = IBV_MTU_1024 };

	itest_qp_to_init(qp, IBV_ACCESS_REMOTE_WRITE);
	a.dest_qp_num = dest;
	itest_set_av(&a.ah_attr, g);
	if (ibv_modify_qp(qp, &a,
			  IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN))
		die("UC to RTR: %s", strerror(errno));
	a.qp_state = IBV_QPS_RTS;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN))
		die("UC to RTS: %s", strerror(errno));
}

/* A fresh pair a -> b of @type, first PSN @psn (RC). */
static void pair_up(struct fix *f, enum ibv_qp_type type, uint32_t psn)
{
	struct itest_rc_opts o = {
		.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
		.mtu = IBV_MTU_1024,
		.rd_atomic = 1,
		.psn = psn,
	};
	struct side *s[2] = { &f->a, &f->b };

	for (int i = 0; i < 2; i++) {
		s[i]->cq = ibv_create_cq(f->ctx, 256, NULL, NULL, 0);
		if (!s[i]->cq)
			die("ibv_create_cq: %s", strerror(errno));
		s[i]->qp = make_qp(f, s[i]->cq, type);
	}
	if (type == IBV_QPT_UC) {
		uc_connect(f->a.qp, f->b.qp->qp_num, &f->gid);
		uc_connect(f->b.qp, f->a.qp->qp_num, &f->gid);
		return;
	}
	itest_rc_connect_pair_with(f->a.qp, f->b.qp, &f->gid, &o);
}

static void pair_down(struct fix *f)
{
	if (ibv_destroy_qp(f->a.qp) || ibv_destroy_qp(f->b.qp) ||
	    ibv_destroy_cq(f->a.cq) || ibv_destroy_cq(f->b.cq))
		die("pair teardown: %s", strerror(errno));
}

static struct ibv_wc wait_wc(struct ibv_cq *cq, const char *what)
{
	struct ibv_wc wc;

	if (itest_poll_one(cq, &wc, 10000) != 1)
		die("%s: no completion in 10 s", what);
	return wc;
}

static void post_recv(struct fix *f, struct ibv_sge *sge, int n)
{
	struct ibv_recv_wr wr = { .wr_id = 7, .sg_list = sge, .num_sge = n },
			   *bad;

	for (int i = 0; i < n; i++)
		sge[i].lkey = f->dmr->lkey;
	if (ibv_post_recv(f->b.qp, &wr, &bad))
		die("ibv_post_recv: %s", strerror(errno));
}

static void post(struct fix *f, enum ibv_wr_opcode op, uint64_t off,
		 uint32_t len, uint64_t raddr, uint32_t rkey)
{
	struct ibv_sge s = { (uintptr_t)(f->src + off), len, f->smr->lkey };
	struct ibv_send_wr wr = { .sg_list = &s,
				  .num_sge = 1,
				  .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED,
				  .imm_data = htobe32(0x5eed) },
			   *bad;

	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	if (ibv_post_send(f->a.qp, &wr, &bad))
		die("ibv_post_send: %s", strerror(errno));
}

static void fill(struct fix *f, unsigned int seed)
{
	for (uint32_t i = 0; i < BUF; i++) {
		f->src[i] = (uint8_t)(i * 7 + seed);
		f->dst[i] = 0xee;
	}
}

/* dst[at, at + len) == src[from, ...); the rest still 0xee. */
static bool landed(struct fix *f, uint64_t at, uint64_t from, uint64_t len)
{
	for (uint64_t i = 0; i < BUF; i++) {
		bool in = i >= at && i < at + len;
		uint8_t want = in ? f->src[from + i - at] : 0xee;

		if (f->dst[i] != want) {
			fprintf(stderr, "byte %lu is 0x%02x, not 0x%02x\n",
				(unsigned long)i, f->dst[i], want);
			return false;
		}
	}
	return true;
}

/* A 4-byte SEND after the case: the PSNs of both ends agree. */
static void in_step(struct fix *f, const char *what)
{
	struct ibv_sge r = { (uintptr_t)(f->dst + BUF - 4), 4, 0 };
	struct ibv_wc wc;

	post_recv(f, &r, 1);
	post(f, IBV_WR_SEND, 0, 4, 0, 0);
	wc = wait_wc(f->a.cq, what);
	EXPECT(wc.status == IBV_WC_SUCCESS, "%s: follow-up SEND: %s", what,
	       ibv_wc_status_str(wc.status));
	wc = wait_wc(f->b.cq, what);
	EXPECT(wc.status == IBV_WC_SUCCESS && wc.byte_len == 4,
	       "%s: follow-up receive: %s, %u bytes", what,
	       ibv_wc_status_str(wc.status), wc.byte_len);
}

static void writes(struct fix *f, const char *what)
{
	static const uint32_t lens[] = { 1, 1024, 1025, 65536, 65537, 300007 };

	for (unsigned int i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint64_t at = 3 + i, from = 11 * i;
		struct ibv_wc wc;

		fill(f, i);
		post(f, IBV_WR_RDMA_WRITE, from, lens[i],
		     (uintptr_t)(f->dst + at), f->dmr->rkey);
		wc = wait_wc(f->a.cq, what);
		EXPECT(wc.status == IBV_WC_SUCCESS, "%s: WRITE %u: %s", what,
		       lens[i], ibv_wc_status_str(wc.status));
		EXPECT(landed(f, at, from, lens[i]),
		       "%s: WRITE of %u bytes landed wrong", what, lens[i]);
	}
	in_step(f, what);
}

/* READs of 1 B to 300 KiB from dst (remote) into src (local). */
static void reads(struct fix *f)
{
	static const uint32_t lens[] = { 1, 1025, 65536, 300007 };

	for (unsigned int k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		uint64_t at = 5 + k, from = 9 * k;
		struct ibv_wc wc;

		for (uint32_t i = 0; i < BUF; i++) {
			f->dst[i] = (uint8_t)(i * 13 + k);
			f->src[i] = 0xee;
		}
		post(f, IBV_WR_RDMA_READ, at, lens[k],
		     (uintptr_t)(f->dst + from), f->dmr->rkey);
		wc = wait_wc(f->a.cq, "reads");
		EXPECT(wc.status == IBV_WC_SUCCESS, "READ %u: %s", lens[k],
		       ibv_wc_status_str(wc.status));
		EXPECT(!memcmp(f->src + at, f->dst + from, lens[k]) &&
			       f->src[at - 1] == 0xee &&
			       f->src[at + lens[k]] == 0xee,
		       "READ of %u bytes landed wrong", lens[k]);
	}
	in_step(f, "reads");
}

static void write_imm(struct fix *f)
{
	struct ibv_sge r = { (uintptr_t)f->dst, 0, 0 };
	struct ibv_wc wc;

	fill(f, 50);
	post_recv(f, &r, 1);
	post(f, IBV_WR_RDMA_WRITE_WITH_IMM, 0, 200000, (uintptr_t)(f->dst + 8),
	     f->dmr->rkey);
	wc = wait_wc(f->a.cq, "write_imm");
	EXPECT(wc.status == IBV_WC_SUCCESS, "WRITE_WITH_IMM: %s",
	       ibv_wc_status_str(wc.status));
	wc = wait_wc(f->b.cq, "write_imm");
	EXPECT(wc.status == IBV_WC_SUCCESS &&
		       wc.opcode == IBV_WC_RECV_RDMA_WITH_IMM &&
		       wc.byte_len == 200000 &&
		       (wc.wc_flags & IBV_WC_WITH_IMM) &&
		       wc.imm_data == htobe32(0x5eed),
	       "WRITE_WITH_IMM receive: %s opcode %d len %u",
	       ibv_wc_status_str(wc.status), wc.opcode, wc.byte_len);
	EXPECT(landed(f, 8, 0, 200000), "WRITE_WITH_IMM data");
	in_step(f, "write_imm");
}

/*
 * As rsockets sends: back to back, a WRITE_WITH_IMM from the MR, then an
 * inline one of 16 bytes right after it; the receiver reads each
 * message's bytes the moment its completion shows (a completion must
 * never come before its data).  300 rounds at moving offsets.
 */
static void inline_after(struct fix *f)
{
	static const uint32_t lens[] = { 2032, 16 };
	struct ibv_sge r = { (uintptr_t)f->dst, 0, 0 };
	uint64_t at = 0;
	struct ibv_wc wc;

	fill(f, 60);
	for (unsigned int round = 0; round < 300; round++) {
		for (unsigned int i = 0; i < 2; i++) {
			struct ibv_sge s = { (uintptr_t)(f->src + at), lens[i],
					     f->smr->lkey };
			struct ibv_send_wr wr = {
				.sg_list = &s,
				.num_sge = 1,
				.opcode = IBV_WR_RDMA_WRITE_WITH_IMM,
				.send_flags = IBV_SEND_SIGNALED |
					      (i ? IBV_SEND_INLINE : 0),
				.wr.rdma = { (uintptr_t)(f->dst + at),
					     f->dmr->rkey },
			}, *bad;

			post_recv(f, &r, 1);
			if (ibv_post_send(f->a.qp, &wr, &bad))
				die("ibv_post_send: %s", strerror(errno));
			at += lens[i];
		}
		for (unsigned int i = 0; i < 2; i++) {
			uint64_t from = at - (i ? 16 : 2048);
			uint32_t len = lens[i];

			wc = wait_wc(f->b.cq, "inline_after");
			if (!EXPECT(wc.status == IBV_WC_SUCCESS &&
					    !memcmp(f->dst + from,
						    f->src + from, len),
				    "round %u: WRITE_IMM of %u bytes: %s, data "
				    "%s at completion",
				    round, len, ibv_wc_status_str(wc.status),
				    memcmp(f->dst + from, f->src + from, len)
					    ? "missing"
					    : "there"))
				return;
		}
		for (unsigned int i = 0; i < 2; i++)
			wait_wc(f->a.cq, "inline_after");
		if (at + 2048 > BUF)
			at = 0;
	}
	in_step(f, "inline_after");
}

/* SEND of 150000 bytes into SGEs of 50000 at 0, 50000 at 100000 and
 * 60000 at 200000; checks each piece. */
static void send_sges(struct fix *f, bool rnr)
{
	struct ibv_sge r[3] = { { (uintptr_t)f->dst, 50000, 0 },
				{ (uintptr_t)(f->dst + 100000), 50000, 0 },
				{ (uintptr_t)(f->dst + 200000), 60000, 0 } };
	const char *what = rnr ? "send after RNR" : "send_sges";
	struct ibv_wc wc;

	fill(f, rnr ? 60 : 70);
	if (!rnr)
		post_recv(f, r, 3);
	post(f, IBV_WR_SEND, 5, 150000, 0, 0);
	if (rnr) {
		EXPECT(itest_poll_one(f->a.cq, &wc, 50) == 0,
		       "RNR: the SEND completed with no receive posted");
		post_recv(f, r, 3);
	}
	wc = wait_wc(f->a.cq, what);
	EXPECT(wc.status == IBV_WC_SUCCESS, "%s: %s", what,
	       ibv_wc_status_str(wc.status));
	wc = wait_wc(f->b.cq, what);
	EXPECT(wc.status == IBV_WC_SUCCESS && wc.byte_len == 150000,
	       "%s receive: %s, %u bytes", what, ibv_wc_status_str(wc.status),
	       wc.byte_len);
	EXPECT(!memcmp(f->dst, f->src + 5, 50000) &&
		       !memcmp(f->dst + 100000, f->src + 50005, 50000) &&
		       !memcmp(f->dst + 200000, f->src + 100005, 50000) &&
		       f->dst[250000] == 0xee && f->dst[50000] == 0xee,
	       "%s: scattered data wrong", what);
	in_step(f, what);
}

/* A WRITE or READ of twice the small MR through its rkey: refused, and
 * (WRITE) no byte of the target written. */
static void beyond(struct fix *f, enum ibv_wr_opcode op, const char *what)
{
	struct ibv_wc wc;

	fill(f, 80);
	post(f, op, 0, 2 * SMALL_MR, (uintptr_t)f->dst, f->small->rkey);
	wc = wait_wc(f->a.cq, what);
	EXPECT(wc.status == IBV_WC_REM_ACCESS_ERR,
	       "%s beyond the MR: %s, not REM_ACCESS_ERR", what,
	       ibv_wc_status_str(wc.status));
	EXPECT(landed(f, 0, 0, 0), "%s beyond the MR moved bytes", what);
}

static void send_too_long(struct fix *f)
{
	struct ibv_sge r = { (uintptr_t)f->dst, SMALL_MR, 0 };
	struct ibv_wc wc;

	fill(f, 90);
	post_recv(f, &r, 1);
	post(f, IBV_WR_SEND, 0, 2 * SMALL_MR, 0, 0);
	wc = wait_wc(f->a.cq, "send_too_long");
	EXPECT(wc.status == IBV_WC_REM_INV_REQ_ERR,
	       "SEND longer than the receive: %s, not REM_INV_REQ_ERR",
	       ibv_wc_status_str(wc.status));
	wc = wait_wc(f->b.cq, "send_too_long");
	EXPECT(wc.status == IBV_WC_LOC_LEN_ERR,
	       "receive of a too long SEND: %s, not LOC_LEN_ERR",
	       ibv_wc_status_str(wc.status));
}

static void uc_write(struct fix *f)
{
	struct ibv_wc wc;

	fill(f, 100);
	post(f, IBV_WR_RDMA_WRITE, 1, 200001, (uintptr_t)(f->dst + 2),
	     f->dmr->rkey);
	wc = wait_wc(f->a.cq, "uc_write");
	EXPECT(wc.status == IBV_WC_SUCCESS, "UC WRITE: %s",
	       ibv_wc_status_str(wc.status));
	/* UC completes on sending; the same-host copy is done by then. */
	EXPECT(landed(f, 2, 1, 200001), "UC WRITE data");
	in_step(f, "uc_write");
}

int main(int argc, char **argv)
{
	struct fix f = { 0 };
	int acc = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		  IBV_ACCESS_REMOTE_READ;

	if (argc != 2)
		die("usage: local_burst DEVICE");
	f.ctx = itest_open_device(argv[1]);
	f.pd = ibv_alloc_pd(f.ctx);
	f.src = malloc(BUF);
	f.dst = malloc(BUF);
	if (!f.pd || !f.src || !f.dst || ibv_query_gid(f.ctx, 1, 1, &f.gid))
		die("set-up: %s", strerror(errno));
	f.smr = ibv_reg_mr(f.pd, f.src, BUF, IBV_ACCESS_LOCAL_WRITE);
	f.dmr = ibv_reg_mr(f.pd, f.dst, BUF, acc);
	f.small = ibv_reg_mr(f.pd, f.dst, SMALL_MR, acc);
	if (!f.smr || !f.dmr || !f.small)
		die("ibv_reg_mr: %s", strerror(errno));

	pair_up(&f, IBV_QPT_RC, 0);
	writes(&f, "writes");
	reads(&f);
	write_imm(&f);
	inline_after(&f);
	send_sges(&f, false);
	send_sges(&f, true);
	pair_down(&f);
	pair_up(&f, IBV_QPT_RC, 0xfffff0);
	writes(&f, "writes across the PSN wrap");
	reads(&f);
	send_sges(&f, true);
	pair_down(&f);
	pair_up(&f, IBV_QPT_RC, 0);
	beyond(&f, IBV_WR_RDMA_WRITE, "WRITE");
	pair_down(&f);
	pair_up(&f, IBV_QPT_RC, 0);
	beyond(&f, IBV_WR_RDMA_READ, "READ");
	pair_down(&f);
	pair_up(&f, IBV_QPT_RC, 0);
	send_too_long(&f);
	pair_down(&f);
	pair_up(&f, IBV_QPT_UC, 0);
	uc_write(&f);
	pair_down(&f);

	if (ibv_dereg_mr(f.small) || ibv_dereg_mr(f.dmr) ||
	    ibv_dereg_mr(f.smr) || ibv_dealloc_pd(f.pd) ||
	    ibv_close_device(f.ctx))
		die("teardown: %s", strerror(errno));
	free(f.src);
	free(f.dst);
	if (failures)
		return 1;
	printf("same-host RC/UC WRITE, READ, WRITE_IMM, SEND (3 SGEs, RNR, "
	       "PSN wrap), refused WRITE, READ and SEND: as on the packet "
	       "path\n");
	return 0;
}
