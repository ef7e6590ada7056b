// SPDX-License-Identifier: MIT
/*
 * Issue #10: SysV shared memory registered in place (srxed/shmreg.h).
 * A segment allocated as UCX allocates it (shmget, shmat, IPC_RMID) is
 * registered; an RC QP connected to itself RDMA-WRITEs into it and
 * RDMA-READs from it.  A second attachment of the same segment (what a
 * same-host peer of UCX uses) must see the written bytes, and bytes
 * written through it must be what the READ returns.  After ibv_dereg_mr
 * the segment is still a segment: shmdt() of the first attachment works.
 *
 * usage: shm_reg DEVICE   prints "shm_reg: OK" or names the failed check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>

#include <infiniband/verbs.h>

#define LEN (64 * 1024)

#define CHECK(c, ...)                                                          \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "FAIL (shm_reg.c:%d): ", __LINE__);    \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			exit(1);                                               \
		}                                                              \
	} while (0)

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

static void connect_self(struct ibv_qp *qp, const union ibv_gid *gid)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.port_num = 1,
		.qp_access_flags =
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
	};

	CHECK(!ibv_modify_qp(qp, &a,
			     IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				     IBV_QP_ACCESS_FLAGS),
	      "INIT");
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = qp->qp_num;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 12;
	a.ah_attr.is_global = 1;
	a.ah_attr.port_num = 1;
	a.ah_attr.grh.sgid_index = 1;
	a.ah_attr.grh.hop_limit = 64;
	a.ah_attr.grh.dgid = *gid;
	CHECK(!ibv_modify_qp(qp, &a,
			     IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				     IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
				     IBV_QP_MAX_DEST_RD_ATOMIC |
				     IBV_QP_MIN_RNR_TIMER),
	      "RTR");
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	CHECK(!ibv_modify_qp(qp, &a,
			     IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
				     IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
				     IBV_QP_MAX_QP_RD_ATOMIC),
	      "RTS");
}

static void rdma(struct ibv_qp *qp, struct ibv_cq *cq, enum ibv_wr_opcode op,
		 void *local, uint32_t lkey, void *remote, uint32_t rkey)
{
	struct ibv_sge s = { (uintptr_t)local, LEN, lkey };
	struct ibv_send_wr wr = { .sg_list = &s,
				  .num_sge = 1,
				  .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;
	struct ibv_wc wc;
	int n = 0;

	wr.wr.rdma.remote_addr = (uintptr_t)remote;
	wr.wr.rdma.rkey = rkey;
	CHECK(!ibv_post_send(qp, &wr, &bad), "post_send");
	for (long t = 0; t < 100000000 && !n; t++)
		n = ibv_poll_cq(cq, 1, &wc);
	CHECK(n == 1 && wc.status == IBV_WC_SUCCESS, "%s: status %d",
	      op == IBV_WR_RDMA_WRITE ? "WRITE" : "READ",
	      n ? (int)wc.status : -1);
}

int main(int argc, char **argv)
{
	struct ibv_qp_init_attr qa = {
		.cap = { .max_send_wr = 4,
			 .max_recv_wr = 1,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		     IBV_ACCESS_REMOTE_READ;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *smr, *pmr;
	union ibv_gid gid;
	uint8_t *seg, *view, *priv;
	int id;

	CHECK(argc == 2, "usage: shm_reg DEVICE");
	ctx = open_dev(argv[1]);
	pd = ibv_alloc_pd(ctx);
	cq = ibv_create_cq(ctx, 8, NULL, NULL, 0);
	CHECK(pd && cq, "pd/cq");
	qa.send_cq = qa.recv_cq = cq;
	qp = ibv_create_qp(pd, &qa);
	CHECK(qp && !ibv_query_gid(ctx, 1, 1, &gid), "qp/gid");
	connect_self(qp, &gid);

	id = shmget(IPC_PRIVATE, LEN, IPC_CREAT | 0600);
	CHECK(id >= 0, "shmget: %s", strerror(errno));
	seg = shmat(id, NULL, 0);
	view = shmat(id, NULL, 0); /* a "peer's" attachment */
	CHECK(seg != (void *)-1 && view != (void *)-1, "shmat");
	shmctl(id, IPC_RMID, NULL);
	priv = aligned_alloc(4096, LEN);
	CHECK(priv, "alloc");
	memset(seg, 0x5a, LEN);

	smr = ibv_reg_mr(pd, seg, LEN, access);
	CHECK(smr, "ibv_reg_mr of a SysV segment: %s", strerror(errno));
	pmr = ibv_reg_mr(pd, priv, LEN, access);
	CHECK(pmr, "ibv_reg_mr: %s", strerror(errno));
	CHECK(seg[100] == 0x5a && view[100] == 0x5a, "contents kept");

	for (int i = 0; i < LEN; i++)
		priv[i] = (uint8_t)(i * 7 + 1);
	rdma(qp, cq, IBV_WR_RDMA_WRITE, priv, pmr->lkey, seg, smr->rkey);
	for (int i = 0; i < LEN; i++)
		CHECK(view[i] == (uint8_t)(i * 7 + 1) && seg[i] == view[i],
		      "byte %d after WRITE: seg %u view %u", i, seg[i],
		      view[i]);
	for (int i = 0; i < LEN; i++)
		view[i] = (uint8_t)(i * 3 + 2);
	rdma(qp, cq, IBV_WR_RDMA_READ, priv, pmr->lkey, seg, smr->rkey);
	for (int i = 0; i < LEN; i++)
		CHECK(priv[i] == (uint8_t)(i * 3 + 2), "byte %d after READ: %u",
		      i, priv[i]);

	CHECK(!ibv_dereg_mr(smr), "dereg SysV MR");
	CHECK(!ibv_dereg_mr(pmr), "dereg MR");
	seg[0] = 0x11;
	CHECK(view[0] == 0x11, "segment still shared after dereg");
	CHECK(!shmdt(seg) && !shmdt(view), "shmdt: %s", strerror(errno));
	free(priv); /* LeakSanitizer */
	ibv_destroy_qp(qp);
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	printf("shm_reg: OK\n");
	return 0;
}
