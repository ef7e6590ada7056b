// SPDX-License-Identifier: MIT
/*
 * The data-path verbs of one device, without moving data: CQs (plain and
 * extended), QPs walked RESET -> INIT -> RTR -> RTS and checked with
 * ibv_query_qp, SRQs, AHs, and the argument checks of the post verbs;
 * then a little data through a QP connected to itself.  Also: every
 * thread the provider started takes no signal of the application's.
 *
 * usage: verbs_basic DEVICE
 * Prints "PASS" and exits 0, or names the first failed check and exits 1.
 */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#define GID_INDEX 1 /* ::ffff:<device IPv4>, RoCE v2 */
#define PORT	  1
#define MAX_SGES  64 /* above any granted max_*_sge + 1 */
/* every QP sends from and expects this PSN, so any two can be peers */
#define START_PSN 0x123456

static void die(int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL (verbs_basic.c:%d): ", line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			die(__LINE__, __VA_ARGS__);                            \
	} while (0)

/* A call that must fail with exactly err. */
#define CHECK_ERR(ret, err, what)                                              \
	CHECK((ret) == (err), "%s: got %d (%s), expected %d (%s)", what,       \
	      (ret), strerror(ret), (err), strerror(err))

struct fixture {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_device_attr dev;
	union ibv_gid gid;
	char *buf; /* one page, registered as mr */
	struct ibv_mr *mr;
	struct ibv_sge sges[MAX_SGES]; /* 8 bytes each of buf */
};

static struct ibv_context *open_device(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	CHECK(list, "ibv_get_device_list: %s", strerror(errno));
	for (int i = 0; list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	CHECK(ctx, "cannot open %s: %s", name, strerror(errno));
	return ctx;
}

static void test_cq(struct fixture *f)
{
	struct ibv_wc wc[4];
	struct ibv_cq *cq = ibv_create_cq(f->ctx, 16, NULL, NULL, 0);

	CHECK(cq, "ibv_create_cq: %s", strerror(errno));
	CHECK(cq->cqe >= 16, "cq->cqe %d < 16", cq->cqe);
	CHECK(ibv_poll_cq(cq, 4, wc) == 0, "fresh CQ is not empty");
	CHECK(ibv_req_notify_cq(cq, 0) == 0, "req_notify_cq(next)");
	CHECK(ibv_req_notify_cq(cq, 1) == 0, "req_notify_cq(solicited)");
	CHECK(ibv_resize_cq(cq, 200) == 0, "resize_cq: %s", strerror(errno));
	CHECK(cq->cqe >= 200, "resized cq->cqe %d < 200", cq->cqe);
	CHECK(ibv_poll_cq(cq, 4, wc) == 0, "resized CQ is not empty");
	CHECK(ibv_destroy_cq(cq) == 0, "destroy_cq");

	errno = 0;
	cq = ibv_create_cq(f->ctx, 0, NULL, NULL, 0);
	CHECK(!cq && errno == EINVAL, "CQ of 0 entries: errno %d", errno);
	errno = 0;
	cq = ibv_create_cq(f->ctx, f->dev.max_cqe + 1, NULL, NULL, 0);
	CHECK(!cq && errno == EINVAL, "CQ above max_cqe: errno %d", errno);
}

static void test_cq_ex(struct fixture *f)
{
	struct ibv_cq_init_attr_ex attr = {
		.cqe = 8,
		.wc_flags = IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_QP_NUM |
			    IBV_WC_EX_WITH_IMM | IBV_WC_EX_WITH_SRC_QP,
	};
	struct ibv_poll_cq_attr pattr = { 0 };
	struct ibv_cq_ex *cq = ibv_create_cq_ex(f->ctx, &attr);

	CHECK(cq, "ibv_create_cq_ex: %s", strerror(errno));
	CHECK(cq->read_byte_len && cq->read_qp_num && cq->read_imm_data &&
		      cq->read_src_qp && cq->read_opcode && cq->read_wc_flags,
	      "requested getters missing");
	CHECK_ERR(ibv_start_poll(cq, &pattr), ENOENT, "start_poll on empty");
	CHECK(ibv_destroy_cq(ibv_cq_ex_to_cq(cq)) == 0, "destroy cq_ex");

	/* timestamps are cq_timestamps.c's; a VLAN tag srxe never has */
	attr.wc_flags |= IBV_WC_EX_WITH_CVLAN;
	errno = 0;
	cq = ibv_create_cq_ex(f->ctx, &attr);
	CHECK(!cq && errno == EOPNOTSUPP, "CVLAN CQ: errno %d", errno);
}

static struct ibv_qp *make_qp(struct fixture *f, enum ibv_qp_type type,
			      struct ibv_cq *cq, struct ibv_srq *srq)
{
	struct ibv_qp_init_attr init = {
		.send_cq = cq,
		.recv_cq = cq,
		.srq = srq,
		.cap = { .max_send_wr = 16,
			 .max_recv_wr = 16,
			 .max_send_sge = 2,
			 .max_recv_sge = 2,
			 .max_inline_data = 64 },
		.qp_type = type,
	};
	struct ibv_qp *qp = ibv_create_qp(f->pd, &init);

	CHECK(qp, "ibv_create_qp(type %d): %s", type, strerror(errno));
	CHECK(qp->qp_num != 0, "qp_num 0");
	CHECK(qp->state == IBV_QPS_RESET, "new QP in state %d", qp->state);
	CHECK(qp->qp_type == type && qp->pd == f->pd && qp->send_cq == cq &&
		      qp->srq == srq,
	      "ibv_qp fields not filled in");
	CHECK(init.cap.max_send_wr >= 16 && init.cap.max_send_sge >= 2 &&
		      init.cap.max_inline_data >= 64,
	      "granted send caps below request");
	CHECK(srq || (init.cap.max_recv_wr >= 16 && init.cap.max_recv_sge >= 2),
	      "granted recv caps below request");
	return qp;
}

static void modify(struct ibv_qp *qp, struct ibv_qp_attr *attr, int mask,
		   const char *what)
{
	int ret = ibv_modify_qp(qp, attr, mask);

	CHECK(ret == 0, "modify_qp to %s: %s", what, strerror(ret));
	CHECK(qp->state == attr->qp_state, "state after %s: %d", what,
	      qp->state);
}

static void query_state(struct ibv_qp *qp, enum ibv_qp_state want,
			struct ibv_qp_attr *attr)
{
	struct ibv_qp_init_attr init;
	int ret = ibv_query_qp(qp, attr, IBV_QP_STATE | IBV_QP_CAP, &init);

	CHECK(ret == 0, "query_qp: %s", strerror(ret));
	CHECK(attr->qp_state == want, "query_qp state %d, expected %d",
	      attr->qp_state, want);
	CHECK(init.qp_type == qp->qp_type && init.send_cq == qp->send_cq,
	      "query_qp init_attr");
}

static void to_init(struct ibv_qp *qp)
{
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_INIT,
		.pkey_index = 0,
		.port_num = PORT,
		.qkey = 0x11111111,
		.qp_access_flags =
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
	};
	int mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT;

	mask |= qp->qp_type == IBV_QPT_UD ? IBV_QP_QKEY : IBV_QP_ACCESS_FLAGS;
	modify(qp, &attr, mask, "INIT");
}

static void to_rtr(struct fixture *f, struct ibv_qp *qp, uint32_t dest_qpn)
{
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_1024,
		.dest_qp_num = dest_qpn,
		.rq_psn = START_PSN,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 12,
		.ah_attr = { .is_global = 1,
			     .grh = { .dgid = f->gid,
				      .sgid_index = GID_INDEX,
				      .hop_limit = 1 },
			     .port_num = PORT },
	};
	int mask = IBV_QP_STATE;

	if (qp->qp_type != IBV_QPT_UD)
		mask |= IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			IBV_QP_RQ_PSN;
	if (qp->qp_type == IBV_QPT_RC)
		mask |= IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	modify(qp, &attr, mask, "RTR");
}

static void to_rts(struct ibv_qp *qp)
{
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_RTS,
		.sq_psn = START_PSN,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = 1,
	};
	int mask = IBV_QP_STATE | IBV_QP_SQ_PSN;

	if (qp->qp_type == IBV_QPT_RC)
		mask |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			IBV_QP_MAX_QP_RD_ATOMIC;
	modify(qp, &attr, mask, "RTS");
}

static struct ibv_sge sge_of(struct fixture *f, uint32_t len)
{
	struct ibv_sge s = { .addr = (uintptr_t)f->buf,
			     .length = len,
			     .lkey = f->mr->lkey };

	return s;
}

/* One send WR that must be refused with EINVAL, nothing posted. */
static void send_rejected(struct ibv_qp *qp, struct ibv_send_wr *wr,
			  const char *what)
{
	struct ibv_send_wr *bad = NULL;

	CHECK_ERR(ibv_post_send(qp, wr, &bad), EINVAL, what);
	CHECK(bad == wr, "%s: bad_wr does not name the WR", what);
}

static void recv_rejected(struct ibv_qp *qp, struct ibv_recv_wr *wr,
			  const char *what)
{
	struct ibv_recv_wr *bad = NULL;

	CHECK_ERR(ibv_post_recv(qp, wr, &bad), EINVAL, what);
	CHECK(bad == wr, "%s: bad_wr does not name the WR", what);
}

static void check_rc_walk(struct fixture *f, struct ibv_cq *cq)
{
	struct ibv_qp *qp = make_qp(f, IBV_QPT_RC, cq, NULL);
	struct ibv_sge *sg = f->sges;
	struct ibv_recv_wr rwr = { .wr_id = 1, .sg_list = sg, .num_sge = 1 };
	struct ibv_send_wr swr = {
		.wr_id = 2, .sg_list = sg, .num_sge = 1, .opcode = IBV_WR_SEND
	};
	struct ibv_recv_wr *rbad;
	struct ibv_qp_attr attr;
	struct ibv_qp_cap cap;

	query_state(qp, IBV_QPS_RESET, &attr);
	cap = attr.cap;
	CHECK(cap.max_send_wr >= 16 && cap.max_recv_sge + 1 < MAX_SGES &&
		      cap.max_send_sge + 1 < MAX_SGES,
	      "query_qp caps");
	recv_rejected(qp, &rwr, "post_recv in RESET");

	/* IBA 10.3.1: RESET may only go to INIT (or stay / go to ERR) */
	attr.qp_state = IBV_QPS_RTS;
	CHECK(ibv_modify_qp(qp, &attr, IBV_QP_STATE) != 0,
	      "RESET -> RTS accepted");
	query_state(qp, IBV_QPS_RESET, &attr);

	to_init(qp);
	query_state(qp, IBV_QPS_INIT, &attr);
	send_rejected(qp, &swr, "post_send in INIT");
	CHECK(ibv_post_recv(qp, &rwr, &rbad) == 0, "post_recv in INIT");
	rwr.num_sge = cap.max_recv_sge + 1;
	recv_rejected(qp, &rwr, "post_recv above max_recv_sge");
	rwr.num_sge = 1;

	to_rtr(f, qp, qp->qp_num);
	CHECK(ibv_query_qp(qp, &attr,
			   IBV_QP_STATE | IBV_QP_DEST_QPN | IBV_QP_PATH_MTU |
				   IBV_QP_RQ_PSN,
			   &(struct ibv_qp_init_attr){ 0 }) == 0,
	      "query_qp in RTR");
	CHECK(attr.qp_state == IBV_QPS_RTR && attr.dest_qp_num == qp->qp_num &&
		      attr.path_mtu == IBV_MTU_1024 && attr.rq_psn == START_PSN,
	      "RTR attributes: state %d dest %u mtu %d rq_psn %#x",
	      attr.qp_state, attr.dest_qp_num, attr.path_mtu, attr.rq_psn);
	send_rejected(qp, &swr, "post_send in RTR");

	to_rts(qp);
	CHECK(ibv_query_qp(qp, &attr,
			   IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
				   IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY,
			   &(struct ibv_qp_init_attr){ 0 }) == 0,
	      "query_qp in RTS");
	CHECK(attr.qp_state == IBV_QPS_RTS && attr.sq_psn == START_PSN &&
		      attr.timeout == 14 && attr.retry_cnt == 7 &&
		      attr.rnr_retry == 7,
	      "RTS attributes: state %d sq_psn %#x timeout %d retry %d rnr %d",
	      attr.qp_state, attr.sq_psn, attr.timeout, attr.retry_cnt,
	      attr.rnr_retry);

	/* argument checks in RTS: each refused WR must post nothing */
	swr.num_sge = cap.max_send_sge + 1;
	send_rejected(qp, &swr, "post_send above max_send_sge");
	swr.num_sge = 1;
	swr.opcode = IBV_WR_TSO;
	send_rejected(qp, &swr, "TSO (unsupported opcode)");
	swr.opcode = IBV_WR_SEND;
	swr.send_flags = IBV_SEND_INLINE;
	sg[0].length = 4096;
	send_rejected(qp, &swr, "inline above max_inline_data");
	sg[0].length = 8;
	swr.send_flags = 0;
	swr.opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
	swr.wr.atomic.remote_addr = (uintptr_t)f->buf + 4;
	send_rejected(qp, &swr, "misaligned atomic");

	CHECK(ibv_destroy_qp(qp) == 0, "destroy RC QP");
}

/* A QP with a full RQ says ENOMEM at the first WR that does not fit. */
static void check_rq_full(struct fixture *f, struct ibv_cq *cq)
{
	struct ibv_qp *qp = make_qp(f, IBV_QPT_RC, cq, NULL);
	struct ibv_sge sg = sge_of(f, 8);
	struct ibv_recv_wr wr = { .sg_list = &sg, .num_sge = 1 }, *bad = NULL;
	struct ibv_qp_attr attr;
	struct ibv_qp_init_attr init;
	unsigned int posted = 0;
	int ret = 0;

	CHECK(ibv_query_qp(qp, &attr, IBV_QP_CAP, &init) == 0, "query caps");
	to_init(qp);
	while (posted < 1u << 20) {
		wr.wr_id = posted;
		ret = ibv_post_recv(qp, &wr, &bad);
		if (ret)
			break;
		posted++;
	}
	CHECK_ERR(ret, ENOMEM, "post_recv into a full RQ");
	CHECK(bad == &wr, "full RQ: bad_wr");
	CHECK(posted >= init.cap.max_recv_wr, "RQ took %u WRs of %u granted",
	      posted, init.cap.max_recv_wr);
	CHECK(ibv_destroy_qp(qp) == 0, "destroy QP with a full RQ");
}

static void check_uc(struct fixture *f, struct ibv_cq *cq)
{
	struct ibv_qp *qp = make_qp(f, IBV_QPT_UC, cq, NULL);
	struct ibv_sge sg = sge_of(f, 8);
	struct ibv_send_wr swr = { .sg_list = &sg,
				   .num_sge = 1,
				   .opcode = IBV_WR_RDMA_READ };

	to_init(qp);
	to_rtr(f, qp, qp->qp_num);
	to_rts(qp);
	send_rejected(qp, &swr, "RDMA READ on UC");
	swr.opcode = IBV_WR_ATOMIC_CMP_AND_SWP;
	send_rejected(qp, &swr, "atomic on UC");
	CHECK(ibv_destroy_qp(qp) == 0, "destroy UC QP");
}

static void check_ud(struct fixture *f, struct ibv_cq *cq)
{
	struct ibv_qp *qp = make_qp(f, IBV_QPT_UD, cq, NULL);
	struct ibv_ah_attr ah_attr = {
		.is_global = 1,
		.grh = { .dgid = f->gid,
			 .sgid_index = GID_INDEX,
			 .hop_limit = 1 },
		.port_num = PORT,
	};
	struct ibv_ah *ah = ibv_create_ah(f->pd, &ah_attr);
	struct ibv_sge sg = sge_of(f, 8);
	struct ibv_send_wr swr = { .sg_list = &sg,
				   .num_sge = 1,
				   .opcode = IBV_WR_SEND };
	struct ibv_qp_attr attr;

	CHECK(ah, "ibv_create_ah: %s", strerror(errno));
	to_init(qp);
	to_rtr(f, qp, 0);
	to_rts(qp);
	query_state(qp, IBV_QPS_RTS, &attr);
	send_rejected(qp, &swr, "UD send without an AH");
	swr.wr.ud.ah = ah;
	swr.opcode = IBV_WR_RDMA_WRITE;
	send_rejected(qp, &swr, "RDMA WRITE on UD");
	CHECK(ibv_destroy_qp(qp) == 0, "destroy UD QP");
	CHECK(ibv_destroy_ah(ah) == 0, "destroy AH");
}

static void check_srq(struct fixture *f, struct ibv_cq *cq)
{
	struct ibv_srq_init_attr init = {
		.attr = { .max_wr = 32, .max_sge = 2, .srq_limit = 0 },
	};
	struct ibv_srq *srq = ibv_create_srq(f->pd, &init);
	struct ibv_recv_wr wr = { .wr_id = 7,
				  .sg_list = f->sges,
				  .num_sge = 1 };
	struct ibv_recv_wr *bad = NULL;
	struct ibv_srq_attr attr = { .srq_limit = 4 };
	struct ibv_qp *qp;

	CHECK(srq, "ibv_create_srq: %s", strerror(errno));
	CHECK(init.attr.max_wr >= 32 && init.attr.max_sge >= 2,
	      "granted SRQ caps %u/%u", init.attr.max_wr, init.attr.max_sge);
	CHECK(ibv_modify_srq(srq, &attr, IBV_SRQ_LIMIT) == 0, "modify_srq");
	memset(&attr, 0, sizeof(attr));
	CHECK(ibv_query_srq(srq, &attr) == 0, "query_srq");
	CHECK(attr.srq_limit == 4 && attr.max_wr >= 32, "query_srq: limit %u",
	      attr.srq_limit);
	CHECK(ibv_post_srq_recv(srq, &wr, &bad) == 0, "post_srq_recv");
	CHECK(init.attr.max_sge + 1 < MAX_SGES, "SRQ max_sge %u",
	      init.attr.max_sge);
	wr.num_sge = init.attr.max_sge + 1;
	CHECK_ERR(ibv_post_srq_recv(srq, &wr, &bad), EINVAL,
		  "post_srq_recv above max_sge");
	CHECK(bad == &wr, "SRQ bad_wr");
	wr.num_sge = 1;

	qp = make_qp(f, IBV_QPT_RC, cq, srq);
	to_init(qp);
	recv_rejected(qp, &wr, "post_recv on a QP with an SRQ");
	CHECK(ibv_destroy_srq(srq) == EBUSY, "destroy SRQ in use: not EBUSY");
	CHECK(ibv_destroy_qp(qp) == 0, "destroy SRQ QP");
	CHECK(ibv_destroy_srq(srq) == 0, "destroy SRQ");
}

static void check_qp_ex(struct fixture *f, struct ibv_cq *cq)
{
	struct ibv_qp_init_attr_ex init = {
		.send_cq = cq,
		.recv_cq = cq,
		.cap = { .max_send_wr = 8,
			 .max_recv_wr = 8,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
		.comp_mask =
			IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.pd = f->pd,
		.send_ops_flags = IBV_QP_EX_WITH_SEND |
				  IBV_QP_EX_WITH_RDMA_WRITE |
				  IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD,
	};
	struct ibv_sge *sg = f->sges;
	struct ibv_qp *qp = ibv_create_qp_ex(f->ctx, &init);
	struct ibv_qp_ex *qpx;

	CHECK(qp, "ibv_create_qp_ex: %s", strerror(errno));
	qpx = ibv_qp_to_qp_ex(qp);
	CHECK(qpx && qpx->wr_send && qpx->wr_rdma_write &&
		      qpx->wr_atomic_fetch_add && !qpx->wr_rdma_read,
	      "qp_ex builders do not match send_ops_flags");

	/* a QP in RESET takes nothing, whatever the builder says */
	ibv_wr_start(qpx);
	qpx->wr_id = 1;
	ibv_wr_send(qpx);
	ibv_wr_set_sge(qpx, sg[0].lkey, sg[0].addr, sg[0].length);
	CHECK_ERR(ibv_wr_complete(qpx), EINVAL, "wr_complete in RESET");

	to_init(qp);
	to_rtr(f, qp, qp->qp_num);
	to_rts(qp);
	ibv_wr_start(qpx);
	ibv_wr_send(qpx);
	CHECK(init.cap.max_send_sge + 1 < MAX_SGES, "qp_ex max_send_sge");
	ibv_wr_set_sge_list(qpx, init.cap.max_send_sge + 1, sg);
	CHECK_ERR(ibv_wr_complete(qpx), ENOSPC, "wr_set_sge_list above max");
	ibv_wr_start(qpx);
	ibv_wr_send(qpx);
	ibv_wr_set_inline_data(qpx, f->buf, init.cap.max_inline_data + 1);
	CHECK_ERR(ibv_wr_complete(qpx), ENOSPC, "wr_set_inline_data above max");
	ibv_wr_start(qpx); /* one more builder than the SQ has slots */
	for (uint32_t i = 0; i <= init.cap.max_send_wr; i++) {
		ibv_wr_send(qpx);
		ibv_wr_set_sge(qpx, sg[0].lkey, sg[0].addr, sg[0].length);
	}
	CHECK_ERR(ibv_wr_complete(qpx), ENOSPC, "more builders than slots");
	ibv_wr_start(qpx);
	ibv_wr_atomic_fetch_add(qpx, 0, (uintptr_t)f->buf + 1, 1);
	CHECK_ERR(ibv_wr_complete(qpx), EINVAL, "misaligned wr_atomic");
	ibv_wr_start(qpx);
	ibv_wr_send(qpx);
	ibv_wr_abort(qpx); /* must release the SQ lock */
	CHECK(ibv_destroy_qp(qp) == 0, "destroy qp_ex");

	init.qp_type = IBV_QPT_UD;
	errno = 0;
	qp = ibv_create_qp_ex(f->ctx, &init);
	CHECK(!qp && errno == EOPNOTSUPP, "UD with RDMA WRITE ops: errno %d",
	      errno);
}

/* A create_qp that must fail with err (docs/compat.md, "create_qp"). */
static void qp_refused(struct fixture *f, struct ibv_qp_init_attr_ex *init,
		       int err, const char *what)
{
	struct ibv_qp *qp;

	errno = 0;
	qp = ibv_create_qp_ex(f->ctx, init);
	CHECK(!qp, "%s: created", what);
	CHECK_ERR(errno, err, what);
}

/*
 * The attribute checks of create_qp, create_srq and post_send that
 * docs/compat.md compares with kernel rxe, with rxe's answers.
 */
static void check_attrs(struct fixture *f, struct ibv_cq *cq)
{
	struct ibv_qp_init_attr_ex base = {
		.send_cq = cq,
		.recv_cq = cq,
		.cap = { .max_send_wr = 4,
			 .max_recv_wr = 4,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
		.comp_mask = IBV_QP_INIT_ATTR_PD,
		.pd = f->pd,
	};
	struct ibv_qp_init_attr_ex init;
	struct ibv_srq_init_attr sinit = { .attr = { .max_wr = 0,
						     .max_sge = 1 } };
	struct ibv_send_wr swr = { .opcode = IBV_WR_BIND_MW,
				   .sg_list = f->sges,
				   .num_sge = 1 };
	struct ibv_srq_attr sattr;
	struct ibv_srq *srq;
	struct ibv_mw *mw;
	struct ibv_qp *qp;

	init = base;
	init.cap.max_send_wr = f->dev.max_qp_wr + 1;
	qp_refused(f, &init, EINVAL, "max_send_wr above max_qp_wr");
	init = base;
	init.cap.max_recv_wr = f->dev.max_qp_wr + 1;
	qp_refused(f, &init, EINVAL, "max_recv_wr above max_qp_wr");
	init = base;
	init.cap.max_send_sge = f->dev.max_sge + 1;
	qp_refused(f, &init, EINVAL, "max_send_sge above max_sge");
	init = base;
	init.cap.max_recv_sge = f->dev.max_sge + 1;
	qp_refused(f, &init, EINVAL, "max_recv_sge above max_sge");
	init = base;
	init.cap.max_inline_data = 1u << 20;
	qp_refused(f, &init, EINVAL, "max_inline_data above the device's");
	init = base;
	init.send_cq = NULL;
	qp_refused(f, &init, EINVAL, "no send CQ");
	init = base;
	init.comp_mask |= IBV_QP_INIT_ATTR_CREATE_FLAGS;
	init.create_flags = IBV_QP_CREATE_SCATTER_FCS;
	qp_refused(f, &init, EOPNOTSUPP, "create_flags");
	init = base;
	init.comp_mask |= IBV_QP_INIT_ATTR_MAX_TSO_HEADER;
	qp_refused(f, &init, EOPNOTSUPP, "unsupported comp_mask bit");
	init = base;
	init.qp_type = IBV_QPT_RAW_PACKET;
	qp_refused(f, &init, EOPNOTSUPP, "RAW_PACKET QP");
	/* XRC has no SEND with Invalidate; windows bind on RC/UC only */
	init = base;
	init.qp_type = IBV_QPT_XRC_SEND;
	init.comp_mask |= IBV_QP_INIT_ATTR_SEND_OPS_FLAGS;
	init.send_ops_flags = IBV_QP_EX_WITH_SEND_WITH_INV;
	qp_refused(f, &init, EOPNOTSUPP, "XRC_SEND with SEND_WITH_INV");
	init.send_ops_flags = IBV_QP_EX_WITH_BIND_MW;
	qp_refused(f, &init, EOPNOTSUPP, "XRC_SEND with BIND_MW");
	init = base; /* any sq_sig_all counts as "all", as in uverbs */
	init.sq_sig_all = 2;
	qp = ibv_create_qp_ex(f->ctx, &init);
	CHECK(qp, "sq_sig_all 2: %s", strerror(errno));
	CHECK(ibv_destroy_qp(qp) == 0, "destroy sq_sig_all QP");

	errno = 0;
	srq = ibv_create_srq(f->pd, &sinit);
	CHECK(!srq && errno == EINVAL, "SRQ of 0 WRs: errno %d", errno);
	/* as rxe: srq_limit is not checked at creation */
	sinit.attr.max_wr = 4;
	sinit.attr.srq_limit = 100;
	srq = ibv_create_srq(f->pd, &sinit);
	CHECK(srq, "SRQ with srq_limit > max_wr: %s", strerror(errno));
	sattr.srq_limit = sinit.attr.max_wr + 1;
	CHECK_ERR(ibv_modify_srq(srq, &sattr, IBV_SRQ_LIMIT), EINVAL,
		  "modify_srq limit above max_wr");
	/* resizing, as rxe: not below an armed limit (here 100) */
	sattr.max_wr = 64;
	CHECK_ERR(ibv_modify_srq(srq, &sattr, IBV_SRQ_MAX_WR), EINVAL,
		  "SRQ resize below the armed limit");
	sattr.srq_limit = 0;
	CHECK(ibv_modify_srq(srq, &sattr, IBV_SRQ_LIMIT) == 0, "disarm: %s",
	      strerror(errno));
	CHECK(ibv_modify_srq(srq, &sattr, IBV_SRQ_MAX_WR) == 0,
	      "SRQ resize: %s", strerror(errno));
	CHECK(ibv_query_srq(srq, &sattr) == 0 && sattr.max_wr == 64,
	      "max_wr after the resize: %u", sattr.max_wr);
	sattr.max_wr = 0;
	CHECK_ERR(ibv_modify_srq(srq, &sattr, IBV_SRQ_MAX_WR), EINVAL,
		  "SRQ resize to 0");
	sattr.max_wr = 1u << 20;
	CHECK_ERR(ibv_modify_srq(srq, &sattr, IBV_SRQ_MAX_WR), EINVAL,
		  "SRQ resize above max_srq_wr");
	CHECK(ibv_destroy_srq(srq) == 0, "destroy SRQ");

	/* as rxe's validate_send_wr(): a bind carries no SGE */
	qp = make_qp(f, IBV_QPT_RC, cq, NULL);
	to_init(qp);
	to_rtr(f, qp, qp->qp_num);
	to_rts(qp);
	mw = ibv_alloc_mw(f->pd, IBV_MW_TYPE_2);
	CHECK(mw, "alloc_mw: %s", strerror(errno));
	swr.bind_mw.mw = mw;
	swr.bind_mw.rkey = ibv_inc_rkey(mw->rkey);
	send_rejected(qp, &swr, "BIND_MW with an SGE");
	CHECK(ibv_destroy_qp(qp) == 0, "destroy bind QP");
	CHECK(ibv_dealloc_mw(mw) == 0, "dealloc_mw");
}

/*
 * Data between two connected RC QPs of this process: a SEND with
 * immediate and inline payload built with the ibv_qp_ex API and reaped
 * with the ibv_cq_ex API, then an RDMA WRITE posted and polled with the
 * classic verbs.
 */
struct loopback {
	struct ibv_cq_ex *cq;
	struct ibv_qp *qp;   /* sends */
	struct ibv_qp *peer; /* receives */
	struct ibv_qp_ex *qpx;
	struct ibv_mr *mr;
	char *buf; /* [0, 1024) receives, [1024, 2048) source, [2048, ...)
		      target */
};

static struct ibv_qp *loopback_qp(struct fixture *f, struct ibv_cq_ex *cq)
{
	struct ibv_qp_init_attr_ex init = {
		.send_cq = ibv_cq_ex_to_cq(cq),
		.recv_cq = ibv_cq_ex_to_cq(cq),
		.cap = { .max_send_wr = 4,
			 .max_recv_wr = 4,
			 .max_send_sge = 1,
			 .max_recv_sge = 1,
			 .max_inline_data = 32 },
		.qp_type = IBV_QPT_RC,
		.comp_mask =
			IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_SEND_OPS_FLAGS,
		.pd = f->pd,
		.send_ops_flags = IBV_QP_EX_WITH_SEND_WITH_IMM,
	};
	struct ibv_qp *qp = ibv_create_qp_ex(f->ctx, &init);

	CHECK(qp, "loopback QP: %s", strerror(errno));
	to_init(qp);
	return qp;
}

static void loopback_connect(struct fixture *f, struct loopback *lb)
{
	to_rtr(f, lb->qp, lb->peer->qp_num);
	to_rtr(f, lb->peer, lb->qp->qp_num);
	to_rts(lb->qp);
	to_rts(lb->peer);
}

/* Reaps want completions with the extended API; 5 s at most. */
static void reap_ex(struct loopback *lb, int want)
{
	struct ibv_poll_cq_attr pattr = { 0 };
	int got = 0;

	for (long spins = 0; got < want; spins++) {
		int ret = ibv_start_poll(lb->cq, &pattr);

		CHECK(spins < 50000000L, "only %d of %d completions", got,
		      want);
		if (ret == ENOENT)
			continue;
		CHECK(ret == 0, "start_poll: %d", ret);
		do {
			CHECK(lb->cq->status == IBV_WC_SUCCESS,
			      "wr_id %llu status %s",
			      (unsigned long long)lb->cq->wr_id,
			      ibv_wc_status_str(lb->cq->status));
			if (ibv_wc_read_opcode(lb->cq) == IBV_WC_RECV) {
				CHECK(ibv_wc_read_qp_num(lb->cq) ==
					      lb->peer->qp_num,
				      "recv qp_num");
				CHECK(lb->cq->wr_id == 20, "recv wr_id");
				CHECK(ibv_wc_read_byte_len(lb->cq) == 11,
				      "recv byte_len %u",
				      ibv_wc_read_byte_len(lb->cq));
				CHECK((ibv_wc_read_wc_flags(lb->cq) &
				       IBV_WC_WITH_IMM) &&
					      ibv_wc_read_imm_data(lb->cq) ==
						      htobe32(0x1234),
				      "recv immediate");
			} else {
				CHECK(ibv_wc_read_opcode(lb->cq) ==
						      IBV_WC_SEND &&
					      lb->cq->wr_id == 10 &&
					      ibv_wc_read_qp_num(lb->cq) ==
						      lb->qp->qp_num,
				      "send completion");
			}
			got++;
		} while (got < want && ibv_next_poll(lb->cq) == 0);
		ibv_end_poll(lb->cq);
	}
}

static void loopback_send_imm(struct loopback *lb)
{
	struct ibv_sge sg = { .addr = (uintptr_t)lb->buf,
			      .length = 1024,
			      .lkey = lb->mr->lkey };
	struct ibv_recv_wr rwr = { .wr_id = 20, .sg_list = &sg, .num_sge = 1 };
	struct ibv_recv_wr *rbad;

	CHECK(ibv_post_recv(lb->peer, &rwr, &rbad) == 0, "loopback post_recv");
	ibv_wr_start(lb->qpx);
	lb->qpx->wr_id = 10;
	lb->qpx->wr_flags = IBV_SEND_SIGNALED | IBV_SEND_INLINE;
	ibv_wr_send_imm(lb->qpx, htobe32(0x1234));
	ibv_wr_set_inline_data(lb->qpx, "hello srxe", 11);
	CHECK(ibv_wr_complete(lb->qpx) == 0, "wr_complete");
	reap_ex(lb, 2);
	CHECK(!memcmp(lb->buf, "hello srxe", 11), "received payload");
}

static void loopback_write(struct loopback *lb)
{
	struct ibv_sge sg = { .addr = (uintptr_t)lb->buf + 1024,
			      .length = 1024,
			      .lkey = lb->mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = 30,
		.sg_list = &sg,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = (uintptr_t)lb->buf + 2048,
			     .rkey = lb->mr->rkey },
	};
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	long spins = 0;
	int n;

	for (int i = 0; i < 1024; i++)
		lb->buf[1024 + i] = (char)(i * 7 + 1);
	CHECK(ibv_post_send(lb->qp, &wr, &bad) == 0, "post RDMA WRITE");
	while ((n = ibv_poll_cq(ibv_cq_ex_to_cq(lb->cq), 1, &wc)) == 0)
		CHECK(++spins < 50000000L, "no RDMA WRITE completion");
	CHECK(n == 1 && wc.status == IBV_WC_SUCCESS && wc.wr_id == 30 &&
		      wc.opcode == IBV_WC_RDMA_WRITE,
	      "RDMA WRITE completion: n %d status %s opcode %d", n,
	      ibv_wc_status_str(wc.status), wc.opcode);
	CHECK(!memcmp(lb->buf + 1024, lb->buf + 2048, 1024), "written data");
}

static void check_loopback(struct fixture *f)
{
	struct ibv_cq_init_attr_ex cattr = {
		.cqe = 16,
		.wc_flags = IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_QP_NUM |
			    IBV_WC_EX_WITH_IMM,
	};
	struct loopback lb = { 0 };

	lb.buf = aligned_alloc(4096, 4096);
	CHECK(lb.buf, "out of memory");
	memset(lb.buf, 0, 4096);
	lb.mr = ibv_reg_mr(f->pd, lb.buf, 4096,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	CHECK(lb.mr, "loopback reg_mr: %s", strerror(errno));
	lb.cq = ibv_create_cq_ex(f->ctx, &cattr);
	CHECK(lb.cq, "loopback cq_ex: %s", strerror(errno));
	lb.qp = loopback_qp(f, lb.cq);
	lb.peer = loopback_qp(f, lb.cq);
	loopback_connect(f, &lb);
	lb.qpx = ibv_qp_to_qp_ex(lb.qp);
	loopback_send_imm(&lb);
	loopback_write(&lb);
	CHECK(ibv_destroy_qp(lb.qp) == 0, "destroy loopback QP");
	CHECK(ibv_destroy_qp(lb.peer) == 0, "destroy loopback peer");
	CHECK(ibv_destroy_cq(ibv_cq_ex_to_cq(lb.cq)) == 0, "destroy cq_ex");
	CHECK(ibv_dereg_mr(lb.mr) == 0, "loopback dereg_mr");
	free(lb.buf);
}

/* srxed refuses to destroy a CQ a QP still completes into. */
static void check_cq_busy(struct fixture *f, struct ibv_cq *cq)
{
	struct ibv_qp *qp = make_qp(f, IBV_QPT_RC, cq, NULL);

	CHECK(ibv_destroy_cq(cq) == EBUSY, "destroy CQ in use: not EBUSY");
	CHECK(ibv_destroy_qp(qp) == 0, "destroy QP");
}

/* SigBlk of /proc/self/task/TID/status. */
static unsigned long long blocked_of(const char *tid)
{
	char path[64], line[128];
	unsigned long long mask = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	f = fopen(path, "r");
	CHECK(f, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "SigBlk: %llx", &mask) == 1)
			break;
	fclose(f);
	return mask;
}

/*
 * Signals 1..31 but SIGKILL and SIGSTOP (which nothing blocks): a thread
 * of the provider must not run the application's handlers (glibc keeps
 * its own two real-time signals open, hence no more).
 */
#define STANDARD_SIGNALS 0x7ffbfeffULL

/* This program starts no thread: every other task is the provider's. */
static void check_provider_threads_quiet(void)
{
	char self[24];
	struct dirent *e;
	int others = 0;
	DIR *d;

	snprintf(self, sizeof(self), "%d", getpid());
	d = opendir("/proc/self/task");
	CHECK(d, "/proc/self/task: %s", strerror(errno));
	while ((e = readdir(d))) {
		unsigned long long mask;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, self))
			continue;
		others++;
		mask = blocked_of(e->d_name);
		CHECK((mask & STANDARD_SIGNALS) == STANDARD_SIGNALS,
		      "provider thread %s takes signals (SigBlk %llx)",
		      e->d_name, mask);
	}
	closedir(d);
	CHECK(others > 0, "no provider thread to check");
}

int main(int argc, char **argv)
{
	struct fixture f = { 0 };
	struct ibv_cq *cq;

	CHECK(argc == 2, "usage: %s DEVICE", argv[0]);
	f.ctx = open_device(argv[1]);
	CHECK(ibv_query_device(f.ctx, &f.dev) == 0, "query_device");
	CHECK(ibv_query_gid(f.ctx, PORT, GID_INDEX, &f.gid) == 0, "query_gid");
	f.pd = ibv_alloc_pd(f.ctx);
	CHECK(f.pd, "alloc_pd: %s", strerror(errno));
	f.buf = aligned_alloc(4096, 4096);
	CHECK(f.buf, "out of memory");
	f.mr = ibv_reg_mr(f.pd, f.buf, 4096, IBV_ACCESS_LOCAL_WRITE);
	CHECK(f.mr, "reg_mr: %s", strerror(errno));
	for (int i = 0; i < MAX_SGES; i++)
		f.sges[i] = sge_of(&f, 8);

	test_cq(&f);
	test_cq_ex(&f);
	cq = ibv_create_cq(f.ctx, 64, NULL, NULL, 0);
	CHECK(cq, "create_cq: %s", strerror(errno));
	check_rc_walk(&f, cq);
	check_rq_full(&f, cq);
	check_uc(&f, cq);
	check_ud(&f, cq);
	check_srq(&f, cq);
	check_qp_ex(&f, cq);
	check_attrs(&f, cq);

	check_cq_busy(&f, cq);
	check_loopback(&f);
	check_provider_threads_quiet();
	CHECK(ibv_destroy_cq(cq) == 0, "destroy CQ");
	CHECK(ibv_dereg_mr(f.mr) == 0, "dereg_mr");
	CHECK(ibv_dealloc_pd(f.pd) == 0, "dealloc_pd");
	CHECK(ibv_close_device(f.ctx) == 0, "close_device");
	free(f.buf);
	printf("PASS\n");
	return 0;
}
