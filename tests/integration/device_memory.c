// SPDX-License-Identifier: MIT
/*
 * Device memory (ibv_alloc_dm, docs/device-memory.md) on one device.
 *
 * usage: device_memory DEVICE
 *
 *  1. max_dm_size is 256 KiB; ibv_alloc_dm refuses length 0, more than
 *     max_dm_size, a comp_mask and an alignment above a page (EINVAL).
 *  2. ibv_memcpy_to_dm / _from_dm move bytes both ways; an offset or
 *     length that is not a multiple of 4, or a range past the allocation,
 *     gives EINVAL and moves nothing.
 *  3. ibv_reg_dm_mr wants ZERO_BASED and a range inside the allocation
 *     (EINVAL otherwise); the MR's addr is NULL, its length as asked; a
 *     zero-length one registers; ibv_rereg_mr of one fails.
 *  4. Traffic through a DM MR's zero-based addresses between two RC QPs:
 *     a SEND lands in device memory, an RDMA WRITE lands there, an RDMA
 *     READ reads from it, each checked byte for byte.
 *  5. ibv_free_dm while an MR covers it is EBUSY; after ibv_dereg_mr, 0.
 * Prints "PASS" and exits 0, or names every failed check and exits 1.
 */
#include <unistd.h>

static const char *who = "device_memory";
static int failures;
#include "itest.h"

#define DM_LEN (64u * 1024u)
#define MSG    4096u
#define DM_RW                                                                  \
	(IBV_ACCESS_ZERO_BASED | IBV_ACCESS_LOCAL_WRITE |                      \
	 IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

static void pattern(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 5 + seed);
}

static struct ibv_dm *alloc(struct ibv_context *ctx, size_t len, uint32_t align,
			    uint32_t comp_mask)
{
	struct ibv_alloc_dm_attr a = { .length = len,
				       .log_align_req = align,
				       .comp_mask = comp_mask };

	return ibv_alloc_dm(ctx, &a);
}

static void allocation(struct ibv_context *ctx)
{
	struct ibv_device_attr_ex attr;

	EXPECT(!ibv_query_device_ex(ctx, NULL, &attr) &&
		       attr.max_dm_size == 256u * 1024u,
	       "max_dm_size %llu, want 256 KiB",
	       (unsigned long long)attr.max_dm_size);
	errno = 0;
	EXPECT(!alloc(ctx, 0, 0, 0) && errno == EINVAL, "length 0: EINVAL");
	errno = 0;
	EXPECT(!alloc(ctx, attr.max_dm_size + 4, 0, 0) && errno == EINVAL,
	       "past max_dm_size: EINVAL");
	errno = 0;
	EXPECT(!alloc(ctx, 64, 0, 1) && errno == EINVAL, "comp_mask: EINVAL");
	errno = 0;
	EXPECT(!alloc(ctx, 64, 13, 0) && errno == EINVAL,
	       "alignment 2^13: EINVAL");
}

static void copies(struct ibv_dm *dm)
{
	static uint8_t in[MSG], out[MSG];

	pattern(in, MSG, 1);
	EXPECT(!ibv_memcpy_to_dm(dm, 4096, in, MSG), "memcpy_to_dm");
	EXPECT(!ibv_memcpy_from_dm(out, dm, 4096, MSG) && !memcmp(in, out, MSG),
	       "memcpy_from_dm: the bytes written");
	EXPECT(ibv_memcpy_to_dm(dm, 4098, in, 8) == EINVAL,
	       "offset not a multiple of 4: EINVAL");
	EXPECT(ibv_memcpy_from_dm(out, dm, 4096, 6) == EINVAL,
	       "length not a multiple of 4: EINVAL");
	EXPECT(ibv_memcpy_to_dm(dm, DM_LEN - 4, in, 8) == EINVAL,
	       "past the allocation: EINVAL");
	EXPECT(!ibv_memcpy_from_dm(out, dm, 4096, MSG) && !memcmp(in, out, MSG),
	       "refused copies moved nothing");
}

static struct ibv_mr *registration(struct ibv_pd *pd, struct ibv_dm *dm)
{
	struct ibv_mr *mr, *empty;

	errno = 0;
	EXPECT(!ibv_reg_dm_mr(pd, dm, 0, DM_LEN, IBV_ACCESS_LOCAL_WRITE) &&
		       errno == EINVAL,
	       "without ZERO_BASED: EINVAL");
	errno = 0;
	EXPECT(!ibv_reg_dm_mr(pd, dm, 4096, DM_LEN, DM_RW) && errno == EINVAL,
	       "past the allocation: EINVAL");
	empty = ibv_reg_dm_mr(pd, dm, 8, 0, DM_RW);
	EXPECT(empty && empty->length == 0, "a zero-length DM MR registers");
	if (empty)
		EXPECT(!ibv_dereg_mr(empty), "dereg the zero-length MR");
	mr = ibv_reg_dm_mr(pd, dm, 0, DM_LEN, DM_RW);
	if (!mr)
		die("ibv_reg_dm_mr: %s", strerror(errno));
	EXPECT(!mr->addr && mr->length == DM_LEN, "addr NULL, length as asked");
	EXPECT(ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			    IBV_ACCESS_LOCAL_WRITE) != 0,
	       "ibv_rereg_mr of a DM MR fails");
	return mr;
}

static bool one_completion(struct ibv_cq *cq, const char *what)
{
	struct ibv_wc wc;

	if (!itest_poll_one(cq, &wc, 10000))
		return EXPECT(false, "%s: no completion", what);
	return EXPECT(wc.status == IBV_WC_SUCCESS, "%s: %s", what,
		      ibv_wc_status_str(wc.status));
}

/* Zero-based: address 0 of the DM MR is byte 0 of the device memory. */
static void traffic(struct ibv_context *ctx, struct ibv_pd *pd,
		    struct ibv_dm *dm, struct ibv_mr *dmr)
{
	static uint8_t buf[2 * MSG], back[MSG];
	struct ibv_cq *cq = ibv_create_cq(ctx, 8, NULL, NULL, 0);
	struct ibv_mr *mr =
		ibv_reg_mr(pd, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE);
	struct ibv_qp *a, *b;
	union ibv_gid gid;
	struct ibv_sge rsge = { 8192, MSG, dmr->lkey };
	struct ibv_recv_wr rwr = { .sg_list = &rsge, .num_sge = 1 }, *rbad;

	if (!cq || !mr || ibv_query_gid(ctx, 1, 1, &gid))
		die("CQ, MR or GID: %s", strerror(errno));
	a = itest_rc_qp(pd, cq, 4);
	b = itest_rc_qp(pd, cq, 4);
	if (!a || !b)
		die("ibv_create_qp: %s", strerror(errno));
	itest_rc_connect_pair(a, b, &gid);
	/* SEND from host memory into device memory (b's receive) */
	pattern(buf, MSG, 7);
	EXPECT(!ibv_post_recv(b, &rwr, &rbad), "post_recv into DM");
	{
		struct ibv_sge s = { (uintptr_t)buf, MSG, mr->lkey };
		struct ibv_send_wr w = { .sg_list = &s,
					 .num_sge = 1,
					 .opcode = IBV_WR_SEND,
					 .send_flags = IBV_SEND_SIGNALED },
				   *bad;

		EXPECT(!ibv_post_send(a, &w, &bad), "post SEND");
	}
	one_completion(cq, "SEND");
	one_completion(cq, "RECV into DM");
	EXPECT(!ibv_memcpy_from_dm(back, dm, 8192, MSG) &&
		       !memcmp(back, buf, MSG),
	       "the SEND's bytes in device memory");
	/* RDMA WRITE into device memory at zero-based address 16384 */
	pattern(buf, MSG, 9);
	EXPECT(!itest_post_rdma(a, IBV_WR_RDMA_WRITE, buf, mr->lkey, 16384,
				dmr->rkey, MSG),
	       "post WRITE");
	one_completion(cq, "WRITE into DM");
	EXPECT(!ibv_memcpy_from_dm(back, dm, 16384, MSG) &&
		       !memcmp(back, buf, MSG),
	       "the WRITE's bytes in device memory");
	/* RDMA READ of what memcpy_to_dm put at 4096 */
	memset(buf + MSG, 0, MSG);
	EXPECT(!itest_post_rdma(a, IBV_WR_RDMA_READ, buf + MSG, mr->lkey, 4096,
				dmr->rkey, MSG),
	       "post READ");
	one_completion(cq, "READ from DM");
	pattern(back, MSG, 1);
	EXPECT(!memcmp(buf + MSG, back, MSG), "the READ's bytes");
	if (ibv_destroy_qp(a) || ibv_destroy_qp(b) || ibv_dereg_mr(mr) ||
	    ibv_destroy_cq(cq))
		die("teardown: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_dm *dm;
	struct ibv_mr *dmr;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DEVICE\n", argv[0]);
		return 2;
	}
	ctx = itest_open_device(argv[1]);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("ibv_alloc_pd: %s", strerror(errno));
	allocation(ctx);
	dm = alloc(ctx, DM_LEN, 6, 0);
	if (!dm)
		die("ibv_alloc_dm: %s", strerror(errno));
	copies(dm);
	dmr = registration(pd, dm);
	traffic(ctx, pd, dm, dmr);
	EXPECT(ibv_free_dm(dm) == EBUSY, "free_dm under a live MR: EBUSY");
	EXPECT(!ibv_dereg_mr(dmr), "dereg the DM MR");
	EXPECT(!ibv_free_dm(dm), "free_dm after the MR");
	if (ibv_dealloc_pd(pd) || ibv_close_device(ctx))
		die("teardown: %s", strerror(errno));
	if (failures)
		return 1;
	printf("PASS\n");
	return 0;
}
