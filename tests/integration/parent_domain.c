// SPDX-License-Identifier: MIT
/*
 * Thread domains and parent domains (ibv_alloc_td, ibv_alloc_parent_domain;
 * providers/srxe/srxe_pd.c) on one device.
 *
 * usage: parent_domain DEVICE
 *
 *  1. ibv_alloc_td with a comp_mask: EINVAL; without: a TD.
 *  2. A parent domain over a PD and the TD, with allocators and a
 *     pd_context, stands in for the PD everywhere: an MR, a CQ created
 *     with IBV_CQ_INIT_ATTR_MASK_PD, an SRQ and an RC QP are made on it;
 *     the other QP of the pair is on the plain PD; 20 SENDs from the
 *     parent's MR land through the SRQ, byte for byte, and an RDMA WRITE
 *     through the parent MR's rkey lands too.  The allocators are never
 *     called (the queues live in srxed's shared memory).
 *  3. Refusals: a parent domain over a parent domain, a CQ with
 *     IBV_CQ_INIT_ATTR_MASK_PD and a plain PD, and ALLOCATORS without the
 *     functions give EINVAL; the PD and the TD cannot be freed while the
 *     parent domain lives (EBUSY), and can once it is gone.
 * Prints "PASS" and exits 0, or names every failed check and exits 1.
 */
static const char *who = "parent_domain";
static int failures;
#include "itest.h"

#define MSGS 20
#define LEN  3000

static int allocator_calls;

static void *count_alloc(struct ibv_pd *pd, void *pd_context, size_t size,
			 size_t alignment, uint64_t resource_type)
{
	(void)pd;
	(void)size;
	(void)alignment;
	(void)resource_type;
	allocator_calls++;
	EXPECT(pd_context == &allocator_calls, "pd_context passed back");
	return IBV_ALLOCATOR_USE_DEFAULT;
}

static void count_free(struct ibv_pd *pd, void *pd_context, void *ptr,
		       uint64_t resource_type)
{
	(void)pd;
	(void)pd_context;
	(void)ptr;
	(void)resource_type;
	allocator_calls++;
}

static struct ibv_cq_ex *parent_cq(struct ibv_context *ctx,
				   struct ibv_pd *parent)
{
	struct ibv_cq_init_attr_ex a = {
		.cqe = 64,
		.wc_flags = IBV_WC_STANDARD_FLAGS,
		.comp_mask = IBV_CQ_INIT_ATTR_MASK_PD,
		.parent_domain = parent,
	};

	return ibv_create_cq_ex(ctx, &a);
}

static void refusals(struct ibv_context *ctx, struct ibv_pd *pd,
		     struct ibv_pd *parent, struct ibv_td *td)
{
	struct ibv_parent_domain_init_attr pa = { .pd = parent, .td = td };
	struct ibv_td_init_attr ta = { .comp_mask = 1 };

	errno = 0;
	EXPECT(!ibv_alloc_td(ctx, &ta) && errno == EINVAL,
	       "TD with comp_mask: errno %d", errno);
	errno = 0;
	EXPECT(!ibv_alloc_parent_domain(ctx, &pa) && errno == EINVAL,
	       "parent over a parent: errno %d", errno);
	pa.pd = pd;
	pa.comp_mask = IBV_PARENT_DOMAIN_INIT_ATTR_ALLOCATORS;
	errno = 0;
	EXPECT(!ibv_alloc_parent_domain(ctx, &pa) && errno == EINVAL,
	       "ALLOCATORS without functions: errno %d", errno);
	errno = 0;
	EXPECT(!parent_cq(ctx, pd) && errno == EINVAL,
	       "CQ with MASK_PD and a plain PD: errno %d", errno);
	EXPECT(ibv_dealloc_pd(pd) == EBUSY, "PD under a parent: EBUSY");
	EXPECT(ibv_dealloc_td(td) == EBUSY, "TD under a parent: EBUSY");
}

static struct ibv_srq *make_srq(struct ibv_pd *pd)
{
	struct ibv_srq_init_attr a = { .attr = { .max_wr = 32, .max_sge = 1 } };

	return ibv_create_srq(pd, &a);
}

static struct ibv_qp *make_qp(struct ibv_pd *pd, struct ibv_cq *cq,
			      struct ibv_srq *srq)
{
	struct ibv_qp_init_attr a = {
		.send_cq = cq,
		.recv_cq = cq,
		.srq = srq,
		.cap = { .max_send_wr = 32,
			 .max_recv_wr = srq ? 0 : 4,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};

	return ibv_create_qp(pd, &a);
}

static void traffic(struct ibv_qp *tx, struct ibv_cq *tx_cq,
		    struct ibv_srq *srq, struct ibv_cq *rx_cq,
		    struct ibv_mr *mr, uint8_t *buf)
{
	uint8_t *src = buf, *dst = buf + LEN;
	struct ibv_sge s = { (uintptr_t)src, LEN, mr->lkey };
	struct ibv_sge r = { (uintptr_t)dst, LEN, mr->lkey };
	struct ibv_recv_wr rwr = { .sg_list = &r, .num_sge = 1 }, *rbad;
	struct ibv_send_wr swr = { .sg_list = &s,
				   .num_sge = 1,
				   .opcode = IBV_WR_SEND,
				   .send_flags = IBV_SEND_SIGNALED },
			   *sbad;
	struct ibv_wc wc;

	for (int i = 0; i < MSGS; i++) {
		for (int k = 0; k < LEN; k++)
			src[k] = (uint8_t)(k * 3 + i);
		EXPECT(!ibv_post_srq_recv(srq, &rwr, &rbad), "post_srq_recv");
		EXPECT(!ibv_post_send(tx, &swr, &sbad), "post_send");
		EXPECT(itest_poll_one(tx_cq, &wc, 10000) == 1 &&
			       wc.status == IBV_WC_SUCCESS,
		       "SEND %d", i);
		EXPECT(itest_poll_one(rx_cq, &wc, 10000) == 1 &&
			       wc.status == IBV_WC_SUCCESS &&
			       wc.byte_len == LEN,
		       "RECV %d", i);
		EXPECT(!memcmp(src, dst, LEN), "message %d bytes", i);
	}
	memset(dst, 0, LEN);
	EXPECT(!itest_post_rdma(tx, IBV_WR_RDMA_WRITE, src, mr->lkey,
				(uintptr_t)dst, mr->rkey, LEN),
	       "post WRITE");
	EXPECT(itest_poll_one(tx_cq, &wc, 10000) == 1 &&
		       wc.status == IBV_WC_SUCCESS,
	       "WRITE through the parent MR's rkey");
	EXPECT(!memcmp(src, dst, LEN), "written bytes");
}

int main(int argc, char **argv)
{
	static uint8_t buf[2 * LEN];
	struct ibv_context *ctx;
	struct ibv_pd *pd, *parent;
	struct ibv_td *td;
	struct ibv_cq *cq;
	struct ibv_cq_ex *pcq;
	struct ibv_srq *srq;
	struct ibv_qp *a, *b;
	struct ibv_mr *mr;
	union ibv_gid gid;
	struct ibv_td_init_attr ta = { 0 };
	struct ibv_parent_domain_init_attr pa = {
		.comp_mask = IBV_PARENT_DOMAIN_INIT_ATTR_ALLOCATORS |
			     IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT,
		.alloc = count_alloc,
		.free = count_free,
		.pd_context = &allocator_calls,
	};

	if (argc < 2)
		die("usage: parent_domain DEVICE");
	ctx = itest_open_device(argv[1]);
	pd = ibv_alloc_pd(ctx);
	td = ibv_alloc_td(ctx, &ta);
	cq = ibv_create_cq(ctx, 64, NULL, NULL, 0);
	if (!pd || !td || !cq || ibv_query_gid(ctx, 1, 1, &gid))
		die("PD/TD/CQ/GID: %s", strerror(errno));
	pa.pd = pd;
	pa.td = td;
	parent = ibv_alloc_parent_domain(ctx, &pa);
	if (!parent)
		die("ibv_alloc_parent_domain: %s", strerror(errno));
	refusals(ctx, pd, parent, td);
	pcq = parent_cq(ctx, parent);
	mr = ibv_reg_mr(parent, buf, sizeof(buf),
			IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	srq = make_srq(parent);
	if (!pcq || !mr || !srq)
		die("CQ/MR/SRQ on the parent domain: %s", strerror(errno));
	a = make_qp(pd, cq, NULL);
	b = make_qp(parent, ibv_cq_ex_to_cq(pcq), srq);
	if (!a || !b)
		die("QPs: %s", strerror(errno));
	itest_rc_connect_pair(a, b, &gid);
	traffic(a, cq, srq, ibv_cq_ex_to_cq(pcq), mr, buf);
	EXPECT(allocator_calls == 0, "allocators called %d times",
	       allocator_calls);
	EXPECT(!ibv_destroy_qp(a) && !ibv_destroy_qp(b), "destroy QPs");
	EXPECT(!ibv_destroy_srq(srq) && !ibv_dereg_mr(mr), "SRQ, MR");
	EXPECT(!ibv_destroy_cq(ibv_cq_ex_to_cq(pcq)) && !ibv_destroy_cq(cq),
	       "CQs");
	EXPECT(!ibv_dealloc_pd(parent), "dealloc the parent domain");
	EXPECT(!ibv_dealloc_td(td), "dealloc the TD after its parent");
	EXPECT(!ibv_dealloc_pd(pd), "dealloc the PD after its parent");
	ibv_close_device(ctx);
	if (failures)
		return 1;
	printf("PASS\n");
	return 0;
}
