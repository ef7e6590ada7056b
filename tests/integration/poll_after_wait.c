// SPDX-License-Identifier: MIT
/*
 * An empty poll that waits answers with what arrived during its wait
 * (providers/srxe/srxe_cq.c): after SRXE_BACKOFF_POLLS empty polls the
 * provider yields or naps, which on a busy CPU lasts milliseconds, and a
 * caller acts on "empty" at once.  libfabric's rxm then reads its
 * connection events: a receive that completed during the wait, before the
 * peer's disconnect arrived, was found only after rxm had closed the
 * connection and destroyed its QP with the completion (fi_pingpong
 * "Work Request Flushed Error" under CPU load).
 *
 * This program stands in for the wait: it defines sched_yield() and
 * nanosleep() (exported, so the provider's calls land here).  While a
 * receive CQ is polled empty, the first wait posts the matching send and
 * waits for the send's completion, which srxed writes after the
 * receive's.  The poll that waited must return that receive, through
 * ibv_poll_cq and through the extended CQ's ibv_start_poll.
 *
 *   poll_after_wait DEVICE
 */
#include <sys/syscall.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>

static const char *who = "poll_after_wait";
static int failures;
#include "itest.h"

#define MAX_EMPTY_POLLS 1000000

struct pair {
	struct ibv_pd *pd;
	struct ibv_cq *send_cq;
	struct ibv_cq *recv_cq;
	struct ibv_cq_ex *recv_cq_ex; /* the extended round's recv_cq */
	struct ibv_qp *sender;
	struct ibv_qp *receiver;
	struct ibv_mr *mr;
	char buf[64];
};

static struct pair *armed_pair;
static bool waited;

/* The completion arrives while the poller waits. */
static void complete_during_wait(void)
{
	struct pair *p = armed_pair;
	struct ibv_sge sge = { (uintptr_t)p->buf, 8, p->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = 2,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = IBV_WR_SEND,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;
	struct ibv_wc wc;

	armed_pair = NULL;
	waited = true;
	if (ibv_post_send(p->sender, &wr, &bad))
		die("ibv_post_send: %s", strerror(errno));
	if (itest_poll_one(p->send_cq, &wc, 30000) != 1)
		die("the send posted during the wait did not complete in 30 s");
	if (wc.status != IBV_WC_SUCCESS)
		die("send completed with %s", ibv_wc_status_str(wc.status));
}

int sched_yield(void)
{
	if (armed_pair)
		complete_during_wait();
	return (int)syscall(SYS_sched_yield);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
	if (armed_pair)
		complete_during_wait();
	return (int)syscall(SYS_nanosleep, req, rem);
}

static struct ibv_qp *rc_qp(struct pair *p, struct ibv_cq *recv_cq)
{
	struct ibv_qp_init_attr qa = {
		.send_cq = p->send_cq,
		.recv_cq = recv_cq,
		.cap = { .max_send_wr = 4,
			 .max_recv_wr = 4,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};
	struct ibv_qp *qp = ibv_create_qp(p->pd, &qa);

	if (!qp)
		die("ibv_create_qp: %s", strerror(errno));
	return qp;
}

static void setup(struct ibv_context *ctx, struct pair *p, bool ex)
{
	struct ibv_cq_init_attr_ex ca = { .cqe = 16 };
	union ibv_gid gid;
	struct ibv_sge sge;
	struct ibv_recv_wr wr = { .wr_id = 1, .sg_list = &sge, .num_sge = 1 },
			   *bad;

	p->pd = ibv_alloc_pd(ctx);
	p->send_cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	if (!p->pd || !p->send_cq)
		die("PD/CQ: %s", strerror(errno));
	if (ex) {
		p->recv_cq_ex = ibv_create_cq_ex(ctx, &ca);
		if (!p->recv_cq_ex)
			die("ibv_create_cq_ex: %s", strerror(errno));
		p->recv_cq = ibv_cq_ex_to_cq(p->recv_cq_ex);
	} else {
		p->recv_cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
		if (!p->recv_cq)
			die("ibv_create_cq: %s", strerror(errno));
	}
	p->mr = ibv_reg_mr(p->pd, p->buf, sizeof(p->buf),
			   IBV_ACCESS_LOCAL_WRITE);
	if (!p->mr)
		die("ibv_reg_mr: %s", strerror(errno));
	p->sender = rc_qp(p, p->send_cq);
	p->receiver = rc_qp(p, p->recv_cq);
	if (ibv_query_gid(ctx, 1, 1, &gid))
		die("ibv_query_gid: %s", strerror(errno));
	itest_rc_connect_pair(p->sender, p->receiver, &gid);
	sge = (struct ibv_sge){ (uintptr_t)(p->buf + 32), 32, p->mr->lkey };
	if (ibv_post_recv(p->receiver, &wr, &bad))
		die("ibv_post_recv: %s", strerror(errno));
}

static void teardown(struct pair *p)
{
	ibv_destroy_qp(p->sender);
	ibv_destroy_qp(p->receiver);
	ibv_dereg_mr(p->mr);
	ibv_destroy_cq(p->send_cq);
	ibv_destroy_cq(p->recv_cq);
	ibv_dealloc_pd(p->pd);
}

/* One poll of the receive CQ: 1 with the receive's opcode and status in
 * @wc, or 0. */
static int poll_recv(struct pair *p, struct ibv_wc *wc)
{
	struct ibv_poll_cq_attr attr = { 0 };

	if (!p->recv_cq_ex)
		return ibv_poll_cq(p->recv_cq, 1, wc);
	if (ibv_start_poll(p->recv_cq_ex, &attr))
		return 0;
	wc->status = p->recv_cq_ex->status;
	wc->opcode = ibv_wc_read_opcode(p->recv_cq_ex);
	ibv_end_poll(p->recv_cq_ex);
	return 1;
}

static void run(struct ibv_context *ctx, bool ex)
{
	const char *api = ex ? "ibv_start_poll" : "ibv_poll_cq";
	struct pair p = { 0 };
	struct ibv_wc wc;
	int n = 0;

	setup(ctx, &p, ex);
	waited = false;
	armed_pair = &p;
	for (int i = 0; i < MAX_EMPTY_POLLS && !waited; i++) {
		n = poll_recv(&p, &wc);
		if (!waited)
			EXPECT(n == 0, "%s: a completion before any send", api);
	}
	armed_pair = NULL;
	if (!EXPECT(waited, "%s: no poll of the empty CQ waited in %d polls",
		    api, MAX_EMPTY_POLLS))
		return;
	if (!EXPECT(n == 1,
		    "%s: the poll that waited said empty; the receive that "
		    "completed during its wait was left for a later poll",
		    api)) {
		if (itest_poll_one(p.recv_cq, &wc, 30000) != 1)
			die("%s: the receive never completed", api);
	} else if (EXPECT(wc.status == IBV_WC_SUCCESS &&
				  wc.opcode == IBV_WC_RECV,
			  "%s: %s, opcode %d", api,
			  ibv_wc_status_str(wc.status), wc.opcode)) {
		printf("ok: %s returned the receive that completed during "
		       "its wait\n",
		       api);
	}
	teardown(&p);
}

int main(int argc, char **argv)
{
	struct ibv_context *ctx;

	if (argc != 2)
		die("usage: poll_after_wait DEVICE");
	ctx = itest_open_device(argv[1]);
	run(ctx, false);
	run(ctx, true);
	ibv_close_device(ctx);
	if (failures)
		return 1;
	printf("PASS\n");
	return 0;
}
