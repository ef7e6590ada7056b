// SPDX-License-Identifier: MIT
/*
 * Engine async events that no verb can provoke (issue #6): a malformed
 * request from the wire raises IBV_EVENT_QP_REQ_ERR on the responder QP
 * (IBA 11.6.3.1, "Invalid Request Local Work Queue Error"), written as an
 * ib_uverbs_async_event_desc to the context's async fd with the QP's
 * user handle as element.  Every provokable event is also covered end to
 * end through libibverbs by tests/integration/test_events_async.sh.
 */
#include <fcntl.h>
#include <poll.h>
#include <rdma/ib_user_verbs.h>

#include "engine_harness.h"
#include "engine/proto/proto.h"

#define TMO 5000

static struct h_ctx A, B;
static struct h_cq acq, bcq;
static struct h_qp qa, qb;
static int evpipe[2];

static const struct h_conn_opts rc = {
	.access = H_ALL_ACCESS,
	.timeout = 14,
	.retry_cnt = 7,
	.rnr_retry = 7,
	.min_rnr_timer = 1,
	.psn = 0x100,
};

static void setup(void)
{
	h_engine_start(IBV_MTU_1024);
	h_ctx_init(&A, SRXE_MEM_SHORTCUT, 1);
	h_ctx_init(&B, SRXE_MEM_SHORTCUT, 2);
	h_cq_create(&A, &acq, 64);
	h_cq_create(&B, &bcq, 64);
	cr_assert_eq(pipe2(evpipe, O_CLOEXEC | O_NONBLOCK), 0);
	srxe_engine_lock(h_eng);
	B.ctx->async_fd = evpipe[1];
	srxe_engine_unlock(h_eng);
	h_qp_create(&A, &qa, IBV_QPT_RC, &acq, &acq);
	h_qp_create(&B, &qb, IBV_QPT_RC, &bcq, &bcq);
	srxe_engine_lock(h_eng);
	qb.qp->user_handle = 0xfeedf00dull;
	srxe_engine_unlock(h_eng);
	h_connect(&qa, &qb, &rc);
}

static void teardown(void)
{
	h_ctx_fini(&A);
	h_ctx_fini(&B);
	srxe_engine_stop(h_eng);
	close(evpipe[0]);
	close(evpipe[1]);
}

static bool read_event(struct ib_uverbs_async_event_desc *ev, int ms)
{
	struct pollfd p = { .fd = evpipe[0], .events = POLLIN };

	return poll(&p, 1, ms) == 1 &&
	       read(evpipe[0], ev, sizeof(*ev)) == (ssize_t)sizeof(*ev);
}

/* Hands @pkt to the engine as if a transport had received it. */
static void inject(struct srxe_pkt *pkt)
{
	srxe_engine_lock(h_eng);
	pkt->psn = qb.qp->resp.epsn;
	srxe_eng_rx(h_eng, pkt, NULL, 0);
	srxe_engine_unlock(h_eng);
}

TestSuite(engine_events, .init = setup, .fini = teardown, .timeout = 30);

Test(engine_events, middle_without_first_is_req_err)
{
	struct srxe_pkt pkt = {
		.op = srxe_opcode_info(SRXE_OP_RC_SEND_MIDDLE),
		.opcode = SRXE_OP_RC_SEND_MIDDLE,
		.pkey = 0xffff,
		.dqpn = qb.qpn,
	};
	struct ib_uverbs_async_event_desc ev;

	cr_assert_not_null(pkt.op);
	inject(&pkt);
	cr_assert(read_event(&ev, TMO), "no async event");
	cr_assert_eq(ev.event_type, IBV_EVENT_QP_REQ_ERR, "event %u",
		     ev.event_type);
	cr_assert_eq(ev.element, 0xfeedf00dull, "element 0x%llx",
		     (unsigned long long)ev.element);
	cr_assert_eq(h_state(&qb), IBV_QPS_ERR);
	cr_assert_not(read_event(&ev, 100), "second event %u", ev.event_type);
}

Test(engine_events, first_request_in_rtr_is_comm_est_once)
{
	struct srxe_qp_attr_wire a = { .qp_state = IBV_QPS_RESET };
	struct h_conn_opts rtr_only = rc;
	struct srxe_pkt pkt = {
		.op = srxe_opcode_info(SRXE_OP_RC_SEND_MIDDLE),
		.opcode = SRXE_OP_RC_SEND_MIDDLE,
		.pkey = 0xffff,
		.dqpn = qb.qpn,
	};
	struct ib_uverbs_async_event_desc ev;

	/* back to RTR only: the next request raises COMM_EST first */
	cr_assert_eq(h_modify(&qb, &a, IBV_QP_STATE), 0);
	rtr_only.stop_at_rtr = true;
	h_to_rts(&qb, qa.qpn, &rtr_only);
	cr_assert_eq(h_state(&qb), IBV_QPS_RTR);
	inject(&pkt);
	cr_assert(read_event(&ev, TMO), "no async event");
	cr_assert_eq(ev.event_type, IBV_EVENT_COMM_EST, "event %u",
		     ev.event_type);
	cr_assert_eq(ev.element, 0xfeedf00dull);
	/* the malformed request then fails the QP: REQ_ERR, no 2nd COMM_EST */
	cr_assert(read_event(&ev, TMO), "no second event");
	cr_assert_eq(ev.event_type, IBV_EVENT_QP_REQ_ERR, "event %u",
		     ev.event_type);
}
