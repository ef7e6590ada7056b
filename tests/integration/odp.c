// SPDX-License-Identifier: MIT
/*
 * On-demand MRs (IBV_ACCESS_ON_DEMAND, docs/odp.md) on one device, between
 * two RC QPs connected to each other.
 *
 * usage: odp DEVICE
 *
 *  1. The device reports ODP: general SUPPORT (not IMPLICIT: docs/odp.md);
 *     RC and XRC SEND, RECV, WRITE, READ, ATOMIC, SRQ_RECV.
 *  2. Buffers that were never touched, and are emptied again
 *     (MADV_DONTNEED) before every round, move data both ways: 40,000-byte
 *     SENDs (40 packets), a 64 KiB WRITE, a 64 KiB READ, 100 FETCH_ADDs
 *     and a COMPARE_SWAP, each checked byte for byte; also a SEND whose
 *     SGE list mixes an on-demand and a pinned MR.
 *  3. What only on-demand paging gives: the receiver unmaps its buffer
 *     under the live MR and maps new memory there with other bytes; a
 *     READ through the same rkey returns the new bytes (a pinned MR would
 *     still show the old page).
 *  4. Faults: a WRITE into a hole of the MR (a page unmapped) completes
 *     IBV_WC_REM_ACCESS_ERR and a SEND from a hole IBV_WC_LOC_PROT_ERR,
 *     with the bytes around the hole untouched; a forged rkey of the MR
 *     is refused as for any MR.
 *  5. An implicit MR (NULL, SIZE_MAX), which registers though not
 *     offered: a WRITE from a malloc()ed buffer to a static one, both
 *     through the implicit keys.
 *  6. ibv_advise_mr(): a synchronous PREFETCH_WRITE of the MR succeeds
 *     and faults the pages in (mincore); an lkey that is no on-demand MR
 *     gives EINVAL, an unknown advice EOPNOTSUPP.
 *  7. Registering does not need the memory to be mapped, and counts
 *     nothing against max_reg_bytes: a 64 GiB on-demand MR of reserved,
 *     never-touched address space registers.
 * Prints "PASS" and exits 0, or names every failed check and exits 1.
 */
#include <inttypes.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *who = "odp";
static int failures;
#include "itest.h"

#define BUF  (64u * 1024u)
#define MSG  40000u
#define PAGE 4096u
#define RW                                                                     \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)
#define ODP (RW | IBV_ACCESS_ON_DEMAND)

struct pair {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *a, *b; /* a sends, b receives */
	union ibv_gid gid;
};

/* itest_post_rdma()'s work requests carry wr_id 0. */
#define RDMA_WR_ID 0

/* Completions polled but not yet asked for, by wr_id (all < 8). */
static int early[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };

static void *map_fresh(void *at, size_t len)
{
	void *p =
		mmap(at, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | (at ? MAP_FIXED : 0), -1, 0);

	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	return p;
}

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed * 13 + (i >> 9));
}

static bool same(const uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(i * 7 + seed * 13 + (i >> 9)))
			return false;
	return true;
}

/* Two SGEs a WR: the mixed SEND gathers from two MRs. */
static struct ibv_qp *new_qp(struct pair *p)
{
	struct ibv_qp_init_attr qa = {
		.send_cq = p->cq,
		.recv_cq = p->cq,
		.cap = { .max_send_wr = 16,
			 .max_recv_wr = 4,
			 .max_send_sge = 2,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};

	return ibv_create_qp(p->pd, &qa);
}

static void pair_connect(struct pair *p)
{
	p->a = new_qp(p);
	p->b = new_qp(p);
	if (!p->a || !p->b)
		die("ibv_create_qp: %s", strerror(errno));
	itest_rc_connect_pair(p->a, p->b, &p->gid);
}

/* After a failure leaves QPs in error: two new ones. */
static void pair_renew(struct pair *p)
{
	struct ibv_wc wc;

	while (ibv_poll_cq(p->cq, 1, &wc) > 0)
		;
	for (int i = 0; i < 8; i++)
		early[i] = -1;
	ibv_destroy_qp(p->a);
	ibv_destroy_qp(p->b);
	pair_connect(p);
}

/* The status of the next completion of wr_id within 10 s, or -1. */
static int status_of(struct pair *p, uint64_t wr_id)
{
	struct ibv_wc wc;
	int st = early[wr_id];

	early[wr_id] = -1;
	while (st < 0) {
		if (itest_poll_one(p->cq, &wc, 10000) != 1)
			return -1;
		if (wc.wr_id == wr_id)
			return wc.status;
		if (wc.wr_id < 8)
			early[wc.wr_id] = wc.status;
	}
	return st;
}

static int post_send_sges(struct pair *p, struct ibv_sge *s, int n,
			  uint64_t wr_id)
{
	struct ibv_send_wr wr = { .wr_id = wr_id,
				  .sg_list = s,
				  .num_sge = n,
				  .opcode = IBV_WR_SEND,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;

	return ibv_post_send(p->a, &wr, &bad);
}

static int post_recv(struct pair *p, void *buf, uint32_t len, uint32_t lkey,
		     uint64_t wr_id)
{
	struct ibv_sge s = { (uintptr_t)buf, len, lkey };
	struct ibv_recv_wr wr = { .wr_id = wr_id, .sg_list = &s, .num_sge = 1 },
			   *bad;

	return ibv_post_recv(p->b, &wr, &bad);
}

static int atomic(struct pair *p, enum ibv_wr_opcode op, uint64_t *local,
		  uint32_t lkey, uint64_t remote, uint32_t rkey, uint64_t add,
		  uint64_t swap)
{
	struct ibv_sge s = { (uintptr_t)local, 8, lkey };
	struct ibv_send_wr wr = { .wr_id = 7,
				  .sg_list = &s,
				  .num_sge = 1,
				  .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;

	wr.wr.atomic.remote_addr = remote;
	wr.wr.atomic.rkey = rkey;
	wr.wr.atomic.compare_add = add;
	wr.wr.atomic.swap = swap;
	return ibv_post_send(p->a, &wr, &bad);
}

static void check_caps(struct pair *p)
{
	const uint32_t all = IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV |
			     IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ |
			     IBV_ODP_SUPPORT_ATOMIC | IBV_ODP_SUPPORT_SRQ_RECV;
	struct ibv_device_attr_ex a;

	if (ibv_query_device_ex(p->ctx, NULL, &a))
		die("ibv_query_device_ex: %s", strerror(errno));
	EXPECT(a.odp_caps.general_caps == IBV_ODP_SUPPORT,
	       "general_caps 0x%" PRIx64, a.odp_caps.general_caps);
	EXPECT(a.odp_caps.per_transport_caps.rc_odp_caps == all,
	       "rc_odp_caps 0x%x", a.odp_caps.per_transport_caps.rc_odp_caps);
	EXPECT(a.xrc_odp_caps == all, "xrc_odp_caps 0x%x", a.xrc_odp_caps);
}

/* Round r: SEND, WRITE, READ between freshly emptied buffers. */
static void round_trip(struct pair *p, uint8_t *src, struct ibv_mr *smr,
		       uint8_t *dst, struct ibv_mr *dmr, unsigned int r)
{
	struct ibv_sge s = { (uintptr_t)src, MSG, smr->lkey };

	madvise(src, BUF, MADV_DONTNEED);
	madvise(dst, BUF, MADV_DONTNEED);
	fill(src, MSG, r);
	EXPECT(!post_recv(p, dst, BUF, dmr->lkey, 1), "post_recv");
	EXPECT(!post_send_sges(p, &s, 1, 2), "post_send");
	EXPECT(status_of(p, 2) == IBV_WC_SUCCESS, "round %u: SEND", r);
	EXPECT(status_of(p, 1) == IBV_WC_SUCCESS, "round %u: RECV", r);
	EXPECT(same(dst, MSG, r), "round %u: received bytes", r);

	madvise(dst, BUF, MADV_DONTNEED);
	fill(src, BUF, r + 100);
	EXPECT(!itest_post_rdma(p->a, IBV_WR_RDMA_WRITE, src, smr->lkey,
				(uintptr_t)dst, dmr->rkey, BUF),
	       "post WRITE");
	EXPECT(status_of(p, RDMA_WR_ID) == IBV_WC_SUCCESS, "round %u: WRITE",
	       r);
	EXPECT(same(dst, BUF, r + 100), "round %u: written bytes", r);

	madvise(src, BUF, MADV_DONTNEED);
	fill(dst, BUF, r + 200);
	EXPECT(!itest_post_rdma(p->a, IBV_WR_RDMA_READ, src, smr->lkey,
				(uintptr_t)dst, dmr->rkey, BUF),
	       "post READ");
	EXPECT(status_of(p, RDMA_WR_ID) == IBV_WC_SUCCESS, "round %u: READ", r);
	EXPECT(same(src, BUF, r + 200), "round %u: read bytes", r);
}

static void atomics(struct pair *p, struct ibv_mr *smr, uint64_t *word,
		    struct ibv_mr *dmr)
{
	uint64_t *result = smr->addr;

	madvise(dmr->addr, BUF, MADV_DONTNEED);
	*word = 5;
	for (int i = 0; i < 100; i++) {
		EXPECT(!atomic(p, IBV_WR_ATOMIC_FETCH_AND_ADD, result,
			       smr->lkey, (uintptr_t)word, dmr->rkey, 3, 0),
		       "post FETCH_ADD");
		EXPECT(status_of(p, 7) == IBV_WC_SUCCESS, "FETCH_ADD %d", i);
		EXPECT(*result == 5 + 3ull * i,
		       "FETCH_ADD %d returned %" PRIu64, i, *result);
	}
	EXPECT(*word == 305, "after 100 FETCH_ADDs: %" PRIu64, *word);
	EXPECT(!atomic(p, IBV_WR_ATOMIC_CMP_AND_SWP, result, smr->lkey,
		       (uintptr_t)word, dmr->rkey, 305, 77),
	       "post CMP_SWAP");
	EXPECT(status_of(p, 7) == IBV_WC_SUCCESS, "CMP_SWAP");
	EXPECT(*result == 305 && *word == 77, "CMP_SWAP: %" PRIu64 " %" PRIu64,
	       *result, *word);
}

/* One SEND gathered from an on-demand and a pinned MR. */
static void mixed(struct pair *p, uint8_t *odp, struct ibv_mr *omr,
		  uint8_t *dst, struct ibv_mr *dmr)
{
	static uint8_t pinned[3000];
	struct ibv_mr *pmr = ibv_reg_mr(p->pd, pinned, sizeof(pinned), RW);
	struct ibv_sge s[2] = { { (uintptr_t)odp, 5000, omr->lkey },
				{ (uintptr_t)pinned, 3000, 0 } };
	uint8_t want[8000];

	if (!pmr)
		die("ibv_reg_mr (pinned): %s", strerror(errno));
	s[1].lkey = pmr->lkey;
	madvise(odp, BUF, MADV_DONTNEED);
	fill(odp, 5000, 31);
	fill(pinned, 3000, 32);
	memcpy(want, odp, 5000);
	memcpy(want + 5000, pinned, 3000);
	EXPECT(!post_recv(p, dst, BUF, dmr->lkey, 1), "post_recv");
	EXPECT(!post_send_sges(p, s, 2, 2), "post_send");
	EXPECT(status_of(p, 2) == IBV_WC_SUCCESS, "mixed SEND");
	EXPECT(status_of(p, 1) == IBV_WC_SUCCESS, "mixed RECV");
	EXPECT(!memcmp(dst, want, sizeof(want)), "mixed: bytes");
	ibv_dereg_mr(pmr);
}

/* Unmap the buffer under its MR and map other memory there. */
static void remap(struct pair *p, uint8_t *src, struct ibv_mr *smr,
		  uint8_t *dst, struct ibv_mr *dmr)
{
	fill(dst, BUF, 41);
	EXPECT(!itest_post_rdma(p->a, IBV_WR_RDMA_READ, src, smr->lkey,
				(uintptr_t)dst, dmr->rkey, BUF),
	       "post READ");
	EXPECT(status_of(p, RDMA_WR_ID) == IBV_WC_SUCCESS && same(src, BUF, 41),
	       "READ before the remap");
	munmap(dst, BUF);
	map_fresh(dst, BUF);
	fill(dst, BUF, 42);
	EXPECT(!itest_post_rdma(p->a, IBV_WR_RDMA_READ, src, smr->lkey,
				(uintptr_t)dst, dmr->rkey, BUF),
	       "post READ");
	EXPECT(status_of(p, RDMA_WR_ID) == IBV_WC_SUCCESS,
	       "READ after the remap");
	EXPECT(same(src, BUF, 42), "READ after the remap: the new bytes");
}

static void faults(struct pair *p, uint8_t *src, struct ibv_mr *smr,
		   uint8_t *dst, struct ibv_mr *dmr)
{
	uint8_t *hole = dst + 8 * PAGE;
	struct ibv_sge s = { (uintptr_t)hole, 100, dmr->lkey };

	fill(dst, BUF, 51);
	fill(src, BUF, 52);
	munmap(hole, PAGE);
	EXPECT(!itest_post_rdma(p->a, IBV_WR_RDMA_WRITE, src, smr->lkey,
				(uintptr_t)(hole - 100), dmr->rkey, 200),
	       "post WRITE");
	EXPECT(status_of(p, RDMA_WR_ID) == IBV_WC_REM_ACCESS_ERR,
	       "WRITE into a hole: want REM_ACCESS_ERR");
	EXPECT(same(dst, 8 * PAGE, 51), "the bytes before the hole");
	pair_renew(p);
	EXPECT(!post_recv(p, src, BUF, smr->lkey, 1), "post_recv");
	{
		struct ibv_send_wr wr = { .wr_id = 2,
					  .sg_list = &s,
					  .num_sge = 1,
					  .opcode = IBV_WR_SEND,
					  .send_flags = IBV_SEND_SIGNALED },
				   *bad;

		EXPECT(!ibv_post_send(p->b, &wr, &bad), "post_send");
	}
	EXPECT(status_of(p, 2) == IBV_WC_LOC_PROT_ERR,
	       "SEND from a hole: want LOC_PROT_ERR");
	pair_renew(p);
	EXPECT(!itest_post_rdma(p->a, IBV_WR_RDMA_WRITE, src, smr->lkey,
				(uintptr_t)dst, dmr->rkey ^ 0x100, 64),
	       "post WRITE");
	EXPECT(status_of(p, RDMA_WR_ID) == IBV_WC_REM_ACCESS_ERR,
	       "forged rkey: want REM_ACCESS_ERR");
	EXPECT(same(dst, 8 * PAGE, 51), "forged rkey: nothing written");
	pair_renew(p);
	map_fresh(hole, PAGE);
}

static void implicit(struct pair *p)
{
	static uint8_t target[20000];
	uint8_t *from = malloc(sizeof(target));
	struct ibv_mr *mr = ibv_reg_mr(p->pd, NULL, SIZE_MAX, ODP);

	if (!mr || !from) {
		EXPECT(false, "implicit ibv_reg_mr: %s", strerror(errno));
		free(from);
		return;
	}
	fill(from, sizeof(target), 61);
	EXPECT(!itest_post_rdma(p->a, IBV_WR_RDMA_WRITE, from, mr->lkey,
				(uintptr_t)target, mr->rkey, sizeof(target)),
	       "post WRITE");
	EXPECT(status_of(p, RDMA_WR_ID) == IBV_WC_SUCCESS, "implicit WRITE");
	EXPECT(same(target, sizeof(target), 61), "implicit: written bytes");
	EXPECT(!ibv_dereg_mr(mr), "implicit dereg");
	free(from);
}

static void advise(struct pair *p, uint8_t *dst, struct ibv_mr *dmr)
{
	struct ibv_sge s = { (uintptr_t)dst, BUF, dmr->lkey };
	unsigned char in[BUF / PAGE];
	struct ibv_mr *pinned = ibv_reg_mr(p->pd, in, sizeof(in), RW);
	int resident = 0;

	madvise(dst, BUF, MADV_DONTNEED);
	EXPECT(!ibv_advise_mr(p->pd, IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE,
			      IBV_ADVISE_MR_FLAG_FLUSH, &s, 1),
	       "advise PREFETCH_WRITE: %s", strerror(errno));
	if (!mincore(dst, BUF, in))
		for (unsigned int i = 0; i < BUF / PAGE; i++)
			resident += in[i] & 1;
	EXPECT(resident == BUF / PAGE, "prefetched pages resident: %d",
	       resident);
	if (pinned) {
		s.lkey = pinned->lkey;
		s.addr = (uintptr_t)in;
		s.length = sizeof(in);
		EXPECT(ibv_advise_mr(p->pd, IBV_ADVISE_MR_ADVICE_PREFETCH, 0,
				     &s, 1) == EINVAL,
		       "advise on a pinned MR: want EINVAL");
		ibv_dereg_mr(pinned);
	}
	s = (struct ibv_sge){ (uintptr_t)dst, BUF, dmr->lkey };
	EXPECT(ibv_advise_mr(p->pd, (enum ibv_advise_mr_advice)9, 0, &s, 1) ==
		       EOPNOTSUPP,
	       "unknown advice: want EOPNOTSUPP");
}

static void huge_unmapped(struct pair *p)
{
	size_t len = 64ull << 30;
	void *va = mmap(NULL, len, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct ibv_mr *mr;

	if (va == MAP_FAILED) {
		printf("skip: cannot reserve 64 GiB of address space\n");
		return;
	}
	mr = ibv_reg_mr(p->pd, va, len, ODP);
	EXPECT(mr, "64 GiB on-demand MR: %s", strerror(errno));
	if (mr)
		EXPECT(!ibv_dereg_mr(mr), "64 GiB dereg");
	munmap(va, len);
}

int main(int argc, char **argv)
{
	struct pair p = { 0 };
	struct ibv_mr *smr, *dmr;
	uint8_t *src, *dst;

	if (argc < 2)
		die("usage: odp DEVICE");
	p.ctx = itest_open_device(argv[1]);
	p.pd = ibv_alloc_pd(p.ctx);
	p.cq = ibv_create_cq(p.ctx, 64, NULL, NULL, 0);
	if (!p.pd || !p.cq || ibv_query_gid(p.ctx, 1, 1, &p.gid))
		die("PD/CQ/GID: %s", strerror(errno));
	pair_connect(&p);
	check_caps(&p);
	src = map_fresh(NULL, BUF);
	dst = map_fresh(NULL, BUF);
	smr = ibv_reg_mr(p.pd, src, BUF, ODP);
	dmr = ibv_reg_mr(p.pd, dst, BUF, ODP);
	if (!smr || !dmr)
		die("ibv_reg_mr ON_DEMAND: %s", strerror(errno));
	for (unsigned int r = 0; r < 3; r++)
		round_trip(&p, src, smr, dst, dmr, r);
	atomics(&p, smr, (uint64_t *)(dst + 4096 + 64), dmr);
	mixed(&p, src, smr, dst, dmr);
	remap(&p, src, smr, dst, dmr);
	faults(&p, src, smr, dst, dmr);
	round_trip(&p, src, smr, dst, dmr, 9); /* all well after the faults */
	implicit(&p);
	advise(&p, dst, dmr);
	huge_unmapped(&p);
	EXPECT(!ibv_dereg_mr(smr) && !ibv_dereg_mr(dmr), "dereg");
	ibv_destroy_qp(p.a);
	ibv_destroy_qp(p.b);
	ibv_destroy_cq(p.cq);
	ibv_dealloc_pd(p.pd);
	ibv_close_device(p.ctx);
	if (failures)
		return 1;
	printf("PASS\n");
	return 0;
}
