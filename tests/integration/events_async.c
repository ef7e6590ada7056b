// SPDX-License-Identifier: MIT
/*
 * Asynchronous events through unmodified libibverbs (issue #6): each event
 * srxe can be made to raise is provoked for real and read back with
 * ibv_get_async_event(), checking event_type and element, then acked.
 *
 * usage: events_async DEVICE qp      COMM_EST, SQ_DRAINED, QP_ACCESS_ERR,
 *                                    QP_LAST_WQE_REACHED, SRQ_LIMIT_REACHED,
 *                                    CQ_ERR + QP_FATAL
 *        events_async DEVICE port    prints READY, then expects PORT_ERR
 *                                    and PORT_ACTIVE (the caller toggles
 *                                    the netdev's link)
 *        events_async DEVICE fatal   prints READY with work posted; the
 *                                    caller kills srxed; expects
 *                                    DEVICE_FATAL within 5 s, EIO from
 *                                    posts and control verbs, flush
 *                                    completions, no blocking, clean
 *                                    teardown
 * Prints "PASS" and exits 0, or names every failed check and exits 1.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <infiniband/verbs.h>

static const char *who = "events_async";
static int failures;
#include "itest.h"

#define GID_INDEX 1
#define PORT	  1
#define PSN	  0x4242
#define BUF_BYTES 4096
#define EVENT_MS  5000

struct dev {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	char *buf;
	union ibv_gid gid;
};

static const char *ev_name(enum ibv_event_type t)
{
	return ibv_event_type_str(t);
}

static void open_dev(struct dev *d, const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);

	for (int i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			d->ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!d->ctx)
		die("cannot open %s: %s", name, strerror(errno));
	if (ibv_query_gid(d->ctx, PORT, GID_INDEX, &d->gid))
		die("ibv_query_gid: %s", strerror(errno));
	d->pd = ibv_alloc_pd(d->ctx);
	d->cq = ibv_create_cq(d->ctx, 256, NULL, NULL, 0);
	d->buf = aligned_alloc(4096, BUF_BYTES);
	if (!d->pd || !d->cq || !d->buf)
		die("PD/CQ/buffer: %s", strerror(errno));
	memset(d->buf, 0, BUF_BYTES);
	d->mr = ibv_reg_mr(d->pd, d->buf, BUF_BYTES,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ);
	if (!d->mr)
		die("ibv_reg_mr: %s", strerror(errno));
}

static void close_dev(struct dev *d)
{
	EXPECT(!ibv_dereg_mr(d->mr), "dereg_mr: %s", strerror(errno));
	EXPECT(!ibv_destroy_cq(d->cq), "destroy_cq: %s", strerror(errno));
	EXPECT(!ibv_dealloc_pd(d->pd), "dealloc_pd: %s", strerror(errno));
	EXPECT(!ibv_close_device(d->ctx), "close_device: %s", strerror(errno));
	free(d->buf);
}

static struct ibv_qp *make_qp(struct dev *d, struct ibv_cq *scq,
			      struct ibv_srq *srq)
{
	struct ibv_qp_init_attr a = {
		.send_cq = scq ? scq : d->cq,
		.recv_cq = d->cq,
		.srq = srq,
		.cap = { .max_send_wr = 16,
			 .max_recv_wr = 16,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};
	struct ibv_qp *qp = ibv_create_qp(d->pd, &a);

	if (!qp)
		die("ibv_create_qp: %s", strerror(errno));
	return qp;
}

static int modify(struct ibv_qp *qp, struct ibv_qp_attr *a, int mask)
{
	return ibv_modify_qp(qp, a, mask) ? errno ?: EINVAL : 0;
}

static void to_init(struct ibv_qp *qp)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.port_num = PORT,
		.qp_access_flags =
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
	};

	if (modify(qp, &a,
		   IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			   IBV_QP_ACCESS_FLAGS))
		die("INIT: %s", strerror(errno));
}

static void to_rtr(struct dev *d, struct ibv_qp *qp, uint32_t dest)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_1024,
		.dest_qp_num = dest,
		.rq_psn = PSN,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 1,
		.ah_attr = { .is_global = 1,
			     .grh = { .dgid = d->gid,
				      .sgid_index = GID_INDEX,
				      .hop_limit = 1 },
			     .port_num = PORT },
	};

	if (modify(qp, &a,
		   IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			   IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			   IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER))
		die("RTR: %s", strerror(errno));
}

static void to_rts(struct ibv_qp *qp)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTS,
		.sq_psn = PSN,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7, /* forever: a sender to a QP without receives
				 * keeps its WQE outstanding */
		.max_rd_atomic = 1,
	};

	if (modify(qp, &a,
		   IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
			   IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			   IBV_QP_MAX_QP_RD_ATOMIC))
		die("RTS: %s", strerror(errno));
}

/* a <-> b, both RTS (b only RTR when b_rtr_only). */
static void connect_pair(struct dev *d, struct ibv_qp *a, struct ibv_qp *b,
			 bool b_rtr_only)
{
	to_init(a);
	to_init(b);
	to_rtr(d, a, b->qp_num);
	to_rtr(d, b, a->qp_num);
	to_rts(a);
	if (!b_rtr_only)
		to_rts(b);
}

static int post_recv(struct dev *d, struct ibv_qp *qp, struct ibv_srq *srq,
		     uint64_t wr_id)
{
	struct ibv_sge sge = { (uintptr_t)d->buf, 64, d->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = wr_id,
				  .sg_list = &sge,
				  .num_sge = 1 },
			   *bad;

	return srq ? ibv_post_srq_recv(srq, &wr, &bad)
		   : ibv_post_recv(qp, &wr, &bad);
}

static int post_send(struct dev *d, struct ibv_qp *qp, enum ibv_wr_opcode op,
		     uint32_t rkey, uint64_t wr_id)
{
	struct ibv_sge sge = { (uintptr_t)d->buf + 2048, 64, d->mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { (uintptr_t)d->buf, rkey },
	},
			   *bad;

	return ibv_post_send(qp, &wr, &bad);
}

/* Waits up to ms for one event; false on timeout. */
static bool get_event(struct ibv_context *ctx, struct ibv_async_event *ev,
		      int ms)
{
	struct pollfd p = { .fd = ctx->async_fd, .events = POLLIN };

	if (poll(&p, 1, ms) <= 0)
		return false;
	return ibv_get_async_event(ctx, ev) == 0;
}

/*
 * Expects the next event to be @type on @element (compared by pointer or
 * port number); acks it.
 */
static void expect_event(struct ibv_context *ctx, enum ibv_event_type type,
			 const void *element, const char *what)
{
	struct ibv_async_event ev;
	const void *got;

	if (!EXPECT(get_event(ctx, &ev, EVENT_MS), "%s: no %s within %d ms",
		    what, ev_name(type), EVENT_MS))
		return;
	switch (ev.event_type) {
	case IBV_EVENT_CQ_ERR:
		got = ev.element.cq;
		break;
	case IBV_EVENT_SRQ_ERR:
	case IBV_EVENT_SRQ_LIMIT_REACHED:
		got = ev.element.srq;
		break;
	case IBV_EVENT_PORT_ACTIVE:
	case IBV_EVENT_PORT_ERR:
	case IBV_EVENT_DEVICE_FATAL:
		got = (const void *)(uintptr_t)ev.element.port_num;
		break;
	default:
		got = ev.element.qp;
	}
	EXPECT(ev.event_type == type, "%s: event %s, expected %s", what,
	       ev_name(ev.event_type), ev_name(type));
	EXPECT(got == element, "%s: %s element %p, expected %p", what,
	       ev_name(ev.event_type), got, element);
	ibv_ack_async_event(&ev);
	printf("ok: %s -> %s\n", what, ev_name(ev.event_type));
}

static void expect_no_event(struct ibv_context *ctx, const char *what)
{
	struct ibv_async_event ev;

	if (get_event(ctx, &ev, 200)) {
		EXPECT(false, "%s: unexpected %s", what,
		       ev_name(ev.event_type));
		ibv_ack_async_event(&ev);
	}
}

/* Polls until n completions arrived (or EVENT_MS passed). */
static int reap(struct ibv_cq *cq, int n, struct ibv_wc *wc)
{
	uint64_t end = now_ms() + EVENT_MS;
	int got = 0;

	while (got < n && now_ms() < end) {
		int r = ibv_poll_cq(cq, n - got, wc + got);

		if (r < 0)
			return r;
		got += r;
	}
	return got;
}

static void destroy_qp(struct ibv_qp *qp)
{
	EXPECT(!ibv_destroy_qp(qp), "destroy_qp: %s", strerror(errno));
}

static void drain(struct ibv_cq *cq)
{
	struct ibv_wc wc[16];

	while (ibv_poll_cq(cq, 16, wc) > 0)
		;
}

/* First request in RTR: COMM_EST on the responder (IBA 11.6.3). */
static void case_comm_est(struct dev *d)
{
	struct ibv_qp *a = make_qp(d, NULL, NULL), *b = make_qp(d, NULL, NULL);
	struct ibv_wc wc[2];

	connect_pair(d, a, b, true);
	EXPECT(!post_recv(d, b, NULL, 1), "post_recv");
	EXPECT(!post_send(d, a, IBV_WR_SEND, 0, 2), "post_send");
	expect_event(d->ctx, IBV_EVENT_COMM_EST, b, "SEND to a QP in RTR");
	EXPECT(reap(d->cq, 2, wc) == 2, "SEND and RECV completions");
	to_rts(b);
	EXPECT(!post_recv(d, b, NULL, 3), "post_recv");
	EXPECT(!post_send(d, a, IBV_WR_SEND, 0, 4), "post_send");
	EXPECT(reap(d->cq, 2, wc) == 2, "second SEND");
	expect_no_event(d->ctx, "COMM_EST only once");
	destroy_qp(a);
	destroy_qp(b);
}

/* RTS -> SQD with en_sqd_async_notify: SQ_DRAINED. */
static void case_sq_drained(struct dev *d)
{
	struct ibv_qp *a = make_qp(d, NULL, NULL), *b = make_qp(d, NULL, NULL);
	struct ibv_qp_attr attr = { .qp_state = IBV_QPS_SQD,
				    .en_sqd_async_notify = 1 };
	struct ibv_wc wc[1];

	connect_pair(d, a, b, false);
	EXPECT(!post_send(d, a, IBV_WR_RDMA_WRITE, d->mr->rkey, 5),
	       "post WRITE");
	EXPECT(reap(d->cq, 1, wc) == 1 && wc[0].status == IBV_WC_SUCCESS,
	       "WRITE completes");
	EXPECT(!modify(a, &attr, IBV_QP_STATE | IBV_QP_EN_SQD_ASYNC_NOTIFY),
	       "RTS->SQD: %s", strerror(errno));
	expect_event(d->ctx, IBV_EVENT_SQ_DRAINED, a, "RTS->SQD");
	destroy_qp(a);
	destroy_qp(b);
}

/* WRITE with a bad rkey: the responder raises QP_ACCESS_ERR. */
static void case_access_err(struct dev *d)
{
	struct ibv_qp *a = make_qp(d, NULL, NULL), *b = make_qp(d, NULL, NULL);
	struct ibv_wc wc[1];

	connect_pair(d, a, b, false);
	EXPECT(!post_send(d, a, IBV_WR_RDMA_WRITE, d->mr->rkey ^ 0x5a5a00, 6),
	       "post WRITE");
	EXPECT(reap(d->cq, 1, wc) == 1 && wc[0].status == IBV_WC_REM_ACCESS_ERR,
	       "WRITE with a bad rkey: %s", ibv_wc_status_str(wc[0].status));
	expect_event(d->ctx, IBV_EVENT_QP_ACCESS_ERR, b, "bad rkey");
	drain(d->cq);
	destroy_qp(a);
	destroy_qp(b);
}

/*
 * SRQ: SRQ_LIMIT_REACHED when the posted count falls below the armed
 * limit; an SRQ QP moved to ERR raises QP_LAST_WQE_REACHED.
 */
static void case_srq(struct dev *d)
{
	struct ibv_srq_init_attr sa = { .attr = { .max_wr = 16,
						  .max_sge = 1 } };
	struct ibv_srq *srq = ibv_create_srq(d->pd, &sa);
	struct ibv_srq_attr lim = { .srq_limit = 3 };
	struct ibv_qp_attr err = { .qp_state = IBV_QPS_ERR };
	struct ibv_qp *a, *c;
	struct ibv_wc wc[4];

	if (!srq)
		die("ibv_create_srq: %s", strerror(errno));
	a = make_qp(d, NULL, NULL);
	c = make_qp(d, NULL, srq);
	connect_pair(d, a, c, false);
	for (int i = 0; i < 4; i++)
		EXPECT(!post_recv(d, NULL, srq, 10 + i), "post_srq_recv");
	EXPECT(!ibv_modify_srq(srq, &lim, IBV_SRQ_LIMIT), "arm SRQ limit: %s",
	       strerror(errno));
	EXPECT(!post_send(d, a, IBV_WR_SEND, 0, 20), "SEND 1");
	EXPECT(reap(d->cq, 2, wc) == 2, "SEND 1 completions");
	expect_no_event(d->ctx, "3 left: not below the limit of 3");
	EXPECT(!post_send(d, a, IBV_WR_SEND, 0, 21), "SEND 2");
	EXPECT(reap(d->cq, 2, wc) == 2, "SEND 2 completions");
	expect_event(d->ctx, IBV_EVENT_SRQ_LIMIT_REACHED, srq,
		     "2 left, limit 3");
	EXPECT(!ibv_modify_qp(c, &err, IBV_QP_STATE), "modify to ERR: %s",
	       strerror(errno));
	expect_event(d->ctx, IBV_EVENT_QP_LAST_WQE_REACHED, c, "SRQ QP to ERR");
	drain(d->cq);
	destroy_qp(a);
	destroy_qp(c);
	EXPECT(!ibv_destroy_srq(srq), "destroy_srq: %s", strerror(errno));
}

/* CQ overrun: CQ_ERR on the CQ, QP_FATAL on the QP that overran it. */
static void case_cq_overrun(struct dev *d)
{
	struct ibv_cq *small = ibv_create_cq(d->ctx, 1, NULL, NULL, 0);
	struct ibv_qp *a, *b;
	struct ibv_async_event ev[2];
	bool cq_err = false, qp_fatal = false;

	if (!small)
		die("ibv_create_cq(1): %s", strerror(errno));
	a = make_qp(d, small, NULL);
	b = make_qp(d, NULL, NULL);
	connect_pair(d, a, b, false);
	for (int i = 0; i < 3 + small->cqe; i++)
		EXPECT(!post_send(d, a, IBV_WR_RDMA_WRITE, d->mr->rkey, 30 + i),
		       "post WRITE %d", i);
	for (int i = 0; i < 2; i++) {
		if (!EXPECT(get_event(d->ctx, &ev[i], EVENT_MS),
			    "CQ overrun: event %d missing", i))
			break;
		if (ev[i].event_type == IBV_EVENT_CQ_ERR)
			cq_err =
				EXPECT(ev[i].element.cq == small,
				       "CQ_ERR element %p, expected %p",
				       (void *)ev[i].element.cq, (void *)small);
		else if (ev[i].event_type == IBV_EVENT_QP_FATAL)
			qp_fatal = EXPECT(ev[i].element.qp == a,
					  "QP_FATAL element %p, expected %p",
					  (void *)ev[i].element.qp, (void *)a);
		else
			EXPECT(false, "CQ overrun: unexpected %s",
			       ev_name(ev[i].event_type));
		ibv_ack_async_event(&ev[i]);
	}
	EXPECT(cq_err && qp_fatal, "CQ overrun: CQ_ERR %d, QP_FATAL %d", cq_err,
	       qp_fatal);
	if (cq_err && qp_fatal)
		printf("ok: CQ overrun -> CQ_ERR + QP_FATAL\n");
	drain(small);
	drain(d->cq);
	destroy_qp(a);
	destroy_qp(b);
	EXPECT(!ibv_destroy_cq(small), "destroy small CQ: %s", strerror(errno));
}

static void run_qp_cases(struct dev *d)
{
	case_comm_est(d);
	case_sq_drained(d);
	case_access_err(d);
	case_srq(d);
	case_cq_overrun(d);
	expect_no_event(d->ctx, "nothing else pending");
}

static void run_port(struct dev *d)
{
	struct ibv_port_attr pa;

	printf("READY\n");
	fflush(stdout);
	expect_event(d->ctx, IBV_EVENT_PORT_ERR, (void *)(uintptr_t)PORT,
		     "link down");
	EXPECT(!ibv_query_port(d->ctx, PORT, &pa) && pa.state == IBV_PORT_DOWN,
	       "query_port after link down: state %d", pa.state);
	expect_event(d->ctx, IBV_EVENT_PORT_ACTIVE, (void *)(uintptr_t)PORT,
		     "link up");
	EXPECT(!ibv_query_port(d->ctx, PORT, &pa) &&
		       pa.state == IBV_PORT_ACTIVE,
	       "query_port after link up: state %d", pa.state);
}

/* After death: every verb answers at once, nothing blocks. */
static void check_dead_verbs(struct dev *d, struct ibv_qp *a)
{
	struct ibv_qp_attr qa = { .qp_state = IBV_QPS_ERR };
	struct ibv_port_attr pa;
	struct ibv_pd *pd;
	uint64_t t0 = now_ms();

	EXPECT(post_send(d, a, IBV_WR_SEND, 0, 99) == EIO,
	       "post_send after death is EIO");
	EXPECT(post_recv(d, a, NULL, 98) == EIO,
	       "post_recv after death is EIO");
	pd = ibv_alloc_pd(d->ctx);
	EXPECT(!pd && errno == EIO, "alloc_pd after death: %s",
	       pd ? "succeeded" : strerror(errno));
	EXPECT(ibv_modify_qp(a, &qa, IBV_QP_STATE) == EIO,
	       "modify_qp after death is EIO");
	EXPECT(ibv_query_port(d->ctx, PORT, &pa) != 0,
	       "query_port after death fails");
	EXPECT(now_ms() - t0 < 1000, "dead verbs took %llu ms",
	       (unsigned long long)(now_ms() - t0));
}

/* Flush completions: every WQE still posted, with its wr_id, then none. */
static void check_flush(struct dev *d, uint64_t sq_id, int nrecv)
{
	struct ibv_wc wc[32];
	int n = reap(d->cq, nrecv + 1, wc), recvs = 0, sends = 0;

	EXPECT(n == nrecv + 1, "flush: %d completions, expected %d", n,
	       nrecv + 1);
	for (int i = 0; i < n; i++) {
		EXPECT(wc[i].status == IBV_WC_WR_FLUSH_ERR, "flush: status %s",
		       ibv_wc_status_str(wc[i].status));
		if (wc[i].opcode == IBV_WC_RECV)
			recvs += wc[i].wr_id >= 100 && wc[i].wr_id < 200;
		else
			sends += wc[i].wr_id == sq_id;
	}
	EXPECT(recvs == nrecv && sends == 1, "flush: %d recvs, %d sends", recvs,
	       sends);
	EXPECT(ibv_poll_cq(d->cq, 32, wc) == 0, "CQ empty after the flush");
}

/* The same through the ibv_cq_ex poll API: nrecv flush entries. */
static void check_flush_ex(struct ibv_cq_ex *cq, int nrecv)
{
	struct ibv_poll_cq_attr pa = { 0 };
	int n = 0, ret = ibv_start_poll(cq, &pa);

	while (!ret) {
		EXPECT(cq->status == IBV_WC_WR_FLUSH_ERR &&
			       cq->wr_id == (uint64_t)(300 + n) &&
			       ibv_wc_read_opcode(cq) == IBV_WC_RECV,
		       "cq_ex flush %d: status %s wr_id %llu", n,
		       ibv_wc_status_str(cq->status),
		       (unsigned long long)cq->wr_id);
		n++;
		ret = ibv_next_poll(cq);
	}
	if (n)
		ibv_end_poll(cq);
	EXPECT(ret == ENOENT && n == nrecv, "cq_ex: %d flush entries (%d)", n,
	       ret);
	EXPECT(ibv_start_poll(cq, &pa) == ENOENT, "cq_ex empty after flush");
}

static void run_fatal(struct dev *d)
{
	struct ibv_qp *a = make_qp(d, NULL, NULL), *b = make_qp(d, NULL, NULL);
	struct ibv_cq_init_attr_ex cqa = { .cqe = 16,
					   .wc_flags = IBV_WC_STANDARD_FLAGS };
	struct ibv_cq_ex *cqx = ibv_create_cq_ex(d->ctx, &cqa);
	struct ibv_qp_init_attr xa = { .cap = { .max_send_wr = 4,
						.max_recv_wr = 4,
						.max_send_sge = 1,
						.max_recv_sge = 1 },
				       .qp_type = IBV_QPT_RC };
	struct ibv_async_event ev;
	struct ibv_qp *x;
	uint64_t t0;
	enum { NRECV = 8 };

	if (!cqx)
		die("ibv_create_cq_ex: %s", strerror(errno));
	xa.send_cq = xa.recv_cq = ibv_cq_ex_to_cq(cqx);
	x = ibv_create_qp(d->pd, &xa);
	if (!x)
		die("ibv_create_qp on a cq_ex: %s", strerror(errno));
	to_init(x);
	for (int i = 0; i < 3; i++)
		EXPECT(!post_recv(d, x, NULL, 300 + i), "post_recv on x");

	/* a's SEND waits for RNR forever (b has no receives); a's own RQ
	 * holds NRECV receives nothing will fill. */
	connect_pair(d, a, b, false);
	for (int i = 0; i < NRECV; i++)
		EXPECT(!post_recv(d, a, NULL, 100 + i), "post_recv");
	EXPECT(!post_send(d, a, IBV_WR_SEND, 0, 7), "post SEND");
	printf("READY\n");
	fflush(stdout);
	t0 = now_ms();
	expect_event(d->ctx, IBV_EVENT_DEVICE_FATAL, NULL, "srxed gone");
	printf("device fatal after %llu ms\n",
	       (unsigned long long)(now_ms() - t0));
	EXPECT(ibv_get_async_event(d->ctx, &ev) != 0,
	       "a second ibv_get_async_event fails instead of blocking");
	check_dead_verbs(d, a);
	check_flush(d, 7, NRECV);
	check_flush_ex(cqx, 3);
	destroy_qp(a);
	destroy_qp(b);
	/* A dead context destroys in any order, as a disassociated kernel
	 * device does: here the CQ before the QP that sends to it. */
	EXPECT(!ibv_destroy_cq(ibv_cq_ex_to_cq(cqx)), "destroy cq_ex: %s",
	       strerror(errno));
	destroy_qp(x);
}

int main(int argc, char **argv)
{
	struct dev d = { 0 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 3)
		die("usage: events_async DEVICE qp|port|fatal");
	open_dev(&d, argv[1]);
	if (!strcmp(argv[2], "qp"))
		run_qp_cases(&d);
	else if (!strcmp(argv[2], "port"))
		run_port(&d);
	else if (!strcmp(argv[2], "fatal"))
		run_fatal(&d);
	else
		die("unknown mode %s", argv[2]);
	close_dev(&d);
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
