// SPDX-License-Identifier: MIT
/*
 * Issue #5: RC reliability under loss, duplication and reordering.  The
 * two-context harness of test_engine_rc.c with a fault filter on the
 * same-host transport (engine/transport/fault.h): chosen packets are dropped,
 * delivered twice or swapped with the next one.  Each test checks the
 * bytes that arrived, the completions, and which recovery mechanism ran
 * (NAK sequence error, ACK timeout, READ re-request, duplicate replay),
 * through the engine's counters.
 */
#include <stdarg.h>

#include "engine_harness.h"

#include "engine/packet/opcode.h"
#include "engine/transport/fault.h"

#define TMO 20000

static struct h_ctx A, B;
static struct h_cq acq, bcq;
static struct h_qp qa, qb;

enum kind {
	K_ANY,
	K_DATA,
	K_READ_REQ,
	K_READ_RESP,
	K_ACK,
	K_ATOMIC,
	K_ATOMIC_ACK
};

/* Which packets the "network" mistreats: rule[0] and rule[1]. */
struct rule {
	enum kind kind;
	uint32_t nth[8]; /* 1-based indexes among packets of @kind */
	int n_nth;
	enum srxe_fault_action action;
	uint64_t seen, hit;
};
static struct rule rule, rule2;
/* random mode (per mille of every packet), seeded */
static struct {
	unsigned int drop_pm, dup_pm, delay_pm;
	uint32_t seed;
} chaos;

static bool is_kind(uint8_t op, enum kind k)
{
	switch (k) {
	case K_ANY:
		return true;
	case K_DATA:
		return op <= SRXE_OP_RC_WRITE_ONLY_IMM;
	case K_READ_REQ:
		return op == SRXE_OP_RC_READ_REQUEST;
	case K_READ_RESP:
		return op >= SRXE_OP_RC_READ_RESPONSE_FIRST &&
		       op <= SRXE_OP_RC_READ_RESPONSE_ONLY;
	case K_ACK:
		return op == SRXE_OP_RC_ACKNOWLEDGE;
	case K_ATOMIC:
		return op == SRXE_OP_RC_COMPARE_SWAP ||
		       op == SRXE_OP_RC_FETCH_ADD;
	case K_ATOMIC_ACK:
		return op == SRXE_OP_RC_ATOMIC_ACKNOWLEDGE;
	}
	return false;
}

static uint32_t rnd(void)
{
	chaos.seed = chaos.seed * 1103515245u + 12345u;
	return chaos.seed >> 8;
}

static bool matches(struct rule *r, uint8_t opcode)
{
	if (!r->n_nth || !is_kind(opcode, r->kind))
		return false;
	r->seen++;
	for (int i = 0; i < r->n_nth; i++)
		if (r->nth[i] == r->seen) {
			r->hit++;
			return true;
		}
	return false;
}

static enum srxe_fault_action filter(void *opaque,
				     const struct srxe_fault_info *p)
{
	(void)opaque;
	if (chaos.drop_pm || chaos.dup_pm || chaos.delay_pm) {
		unsigned int r = rnd() % 1000;

		if (r < chaos.drop_pm)
			return SRXE_FAULT_DROP;
		if (r < chaos.drop_pm + chaos.dup_pm)
			return SRXE_FAULT_DUP;
		if (r < chaos.drop_pm + chaos.dup_pm + chaos.delay_pm)
			return SRXE_FAULT_DELAY;
		return SRXE_FAULT_PASS;
	}
	if (matches(&rule, p->opcode))
		return rule.action;
	if (matches(&rule2, p->opcode))
		return rule2.action;
	return SRXE_FAULT_PASS;
}

static void faults(enum kind k, enum srxe_fault_action a, int n, ...)
{
	va_list ap;

	memset(&rule, 0, sizeof(rule));
	memset(&rule2, 0, sizeof(rule2));
	memset(&chaos, 0, sizeof(chaos));
	rule.kind = k;
	rule.action = a;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		rule.nth[rule.n_nth++] = va_arg(ap, uint32_t);
	va_end(ap);
	cr_assert_eq(srxe_engine_set_fault(h_eng, filter, NULL), 0);
}

static void setup(void)
{
	h_engine_start(IBV_MTU_1024);
	h_ctx_init(&A, SRXE_MEM_SHORTCUT, 1);
	h_ctx_init(&B, SRXE_MEM_MTT, 2);
	h_cq_create(&A, &acq, 256);
	h_cq_create(&B, &bcq, 256);
}

static void teardown(void)
{
	srxe_engine_set_fault(h_eng, NULL, NULL);
	h_ctx_fini(&A);
	h_ctx_fini(&B);
	srxe_engine_stop(h_eng);
}

/* Long ACK timeout (timeout 18: ~1 s): a test that expects a NAK to do
 * the recovery would see the timer counter move if it did not. */
static const struct h_conn_opts slow_timer = {
	.access = H_ALL_ACCESS,
	.timeout = 18,
	.retry_cnt = 7,
	.rnr_retry = 7,
	.min_rnr_timer = 1,
	.psn = 0xffff80, /* PSNs wrap inside the tests */
};

/* Short ACK timeout (timeout 10: ~4 ms) for tail losses. */
static const struct h_conn_opts fast_timer = {
	.access = H_ALL_ACCESS,
	.timeout = 10,
	.retry_cnt = 7,
	.rnr_retry = 7,
	.min_rnr_timer = 1,
	.psn = 0xfffff0,
};

static void rc_pair(const struct h_conn_opts *o)
{
	h_qp_create(&A, &qa, IBV_QPT_RC, &acq, &acq);
	h_qp_create(&B, &qb, IBV_QPT_RC, &bcq, &bcq);
	h_connect(&qa, &qb, o);
}

static struct srxe_cqe expect_cqe(struct h_cq *c, uint64_t wr_id,
				  uint32_t status)
{
	struct srxe_cqe e;

	cr_assert(h_poll(c, &e, TMO), "no completion for wr_id %lu",
		  (unsigned long)wr_id);
	cr_assert_eq(e.wr_id, wr_id, "wr_id %lu, expected %lu",
		     (unsigned long)e.wr_id, (unsigned long)wr_id);
	cr_assert_eq(e.status, status, "wr_id %lu: status %u, expected %u",
		     (unsigned long)wr_id, e.status, status);
	return e;
}

static struct srxe_eng_stats stats(void)
{
	struct srxe_eng_stats st;

	srxe_engine_stats(h_eng, &st);
	return st;
}

static void post_send(uint64_t wr_id, const struct h_mr *src, uint64_t off,
		      uint32_t len)
{
	struct srxe_send_wqe *w = h_send_slot(&qa);

	w->wr_id = wr_id;
	w->opcode = IBV_WR_SEND;
	h_sge(w, src, off, len);
	h_send_publish(&qa);
}

static void post_fetch_add(uint64_t wr_id, const struct h_mr *res,
			   const struct h_mr *rem, uint64_t add)
{
	struct srxe_send_wqe *w = h_send_slot(&qa);

	w->wr_id = wr_id;
	w->opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
	w->atomic.remote_addr = (rem->va + 7) & ~7ull;
	w->atomic.rkey = rem->rkey;
	w->atomic.compare_add = add;
	h_sge(w, res, 0, 8);
	h_send_publish(&qa);
}

static uint64_t *atomic_word(const struct h_mr *rem)
{
	return (uint64_t *)(rem->p + (((rem->va + 7) & ~7ull) - rem->va));
}

/* A 200-packet SEND: a loss early in it leaves enough packets behind the
 * gap for the responder to call it a loss and NAK it. */
#define LONG_MSG (200u * 1024u)

static void long_send_with2(enum srxe_fault_action a, uint32_t nth,
			    struct rule extra)
{
	struct h_mr src, dst;
	struct srxe_cqe e;

	rc_pair(&slow_timer);
	h_mr_reg(&A, &src, LONG_MSG, 0);
	h_mr_reg(&B, &dst, LONG_MSG, IBV_ACCESS_LOCAL_WRITE);
	h_fill(src.p, LONG_MSG, 21);
	faults(K_DATA, a, 1, nth);
	rule2 = extra;
	h_post_recv(&qb, 1, &dst, 0, LONG_MSG);
	post_send(2, &src, 0, LONG_MSG);
	e = expect_cqe(&bcq, 1, IBV_WC_SUCCESS);
	cr_assert_eq(e.byte_len, LONG_MSG);
	expect_cqe(&acq, 2, IBV_WC_SUCCESS);
	cr_assert_eq(memcmp(src.p, dst.p, LONG_MSG), 0, "payload differs");
	cr_assert_eq(rule.hit, 1, "the fault happened");
}

static void long_send_with(enum srxe_fault_action a, uint32_t nth)
{
	long_send_with2(a, nth, (struct rule){ 0 });
}

Test(engine_loss, lost_send_packet_is_naked_and_resent, .init = setup,
     .fini = teardown)
{
	struct srxe_eng_stats st;

	long_send_with(SRXE_FAULT_DROP, 5);
	st = stats();
	cr_assert_eq(st.naks_sent, 1, "one NAK per gap, got %lu",
		     (unsigned long)st.naks_sent);
	cr_assert_eq(st.naks_recv, 1);
	cr_assert_eq(st.ack_timeouts, 0, "the NAK recovered, not the timer");
	/* go-back-N from the lost packet: it and what followed it */
	cr_assert_geq(st.retrans_pkts, 1);
	cr_assert_leq(st.retrans_pkts, 196, "resent %lu",
		      (unsigned long)st.retrans_pkts);
	cr_assert_gt(st.ooo_held, 0);
	cr_assert_gt(st.dup_requests, 0, "resent packets already held");
	cr_assert_eq(st.nak_seq_sent, 1, "out_of_seq_request");
	cr_assert_eq(st.nak_seq_recv, 1, "rcvd_seq_err");
	cr_assert_eq(st.retries, 1, "completer_retry_err");
	cr_assert_eq(h_state(&qa), IBV_QPS_RTS);
	cr_assert_eq(h_state(&qb), IBV_QPS_RTS);
}

Test(engine_loss, swapped_packets_need_no_retransmission, .init = setup,
     .fini = teardown)
{
	struct srxe_eng_stats st;

	long_send_with(SRXE_FAULT_DELAY, 7);
	st = stats();
	cr_assert_eq(st.naks_sent, 0);
	cr_assert_eq(st.retrans_pkts, 0);
	cr_assert_eq(st.ack_timeouts, 0);
	cr_assert_eq(st.ooo_held, 1, "the overtaking packet waited");
	cr_assert_eq(st.nak_seq_sent, 0);
	cr_assert_eq(st.retries, 0);
}

Test(engine_loss, duplicated_packet_is_ignored, .init = setup, .fini = teardown)
{
	struct srxe_eng_stats st;

	long_send_with(SRXE_FAULT_DUP, 9);
	st = stats();
	cr_assert_eq(st.dup_requests, 1);
	cr_assert_eq(st.retrans_pkts, 0);
	cr_assert_eq(st.naks_sent, 0);
}

Test(engine_loss, lost_last_packet_recovers_by_ack_timeout, .init = setup,
     .fini = teardown)
{
	struct h_mr src, dst;
	struct srxe_eng_stats st;

	rc_pair(&fast_timer);
	h_mr_reg(&A, &src, 8192, 0);
	h_mr_reg(&B, &dst, 8192, IBV_ACCESS_LOCAL_WRITE);
	h_fill(src.p, 8192, 22);
	faults(K_DATA, SRXE_FAULT_DROP, 1, 8);
	h_post_recv(&qb, 1, &dst, 0, 8192);
	post_send(2, &src, 0, 8192);
	expect_cqe(&bcq, 1, IBV_WC_SUCCESS);
	expect_cqe(&acq, 2, IBV_WC_SUCCESS);
	cr_assert_eq(memcmp(src.p, dst.p, 8192), 0);
	st = stats();
	cr_assert_geq(st.ack_timeouts, 1);
	/* Nothing was acknowledged: go back to the message's first PSN.
	 * The responder's answer to that first resent duplicate says how
	 * far it got, so only the lost packet follows it. */
	cr_assert_eq(st.retrans_pkts, 2, "resent %lu",
		     (unsigned long)st.retrans_pkts);
	cr_assert_eq(st.dup_requests, 1);
	cr_assert_eq(st.retries, st.ack_timeouts, "each timeout retried");
	cr_assert_eq(st.nak_seq_sent, 0);
}

Test(engine_loss, lost_ack_is_recovered_by_duplicate_reack, .init = setup,
     .fini = teardown)
{
	struct h_mr src, rem;
	struct srxe_eng_stats st;

	rc_pair(&fast_timer);
	h_mr_reg(&A, &src, 3000, 0);
	h_mr_reg(&B, &rem, 3000, H_ALL_ACCESS);
	h_fill(src.p, 3000, 23);
	faults(K_ACK, SRXE_FAULT_DROP, 1, 1);
	h_post_rdma(&qa, 5, IBV_WR_RDMA_WRITE, &src, 0, &rem, 0, 3000);
	expect_cqe(&acq, 5, IBV_WC_SUCCESS);
	cr_assert_eq(memcmp(src.p, rem.p, 3000), 0);
	st = stats();
	cr_assert_geq(st.ack_timeouts, 1);
	cr_assert_geq(st.dup_requests, 1, "the resent tail was a duplicate");
}

/*
 * Four 64 KiB WRITEs queued at path MTU 1024: 64 packets each, which is
 * one requester run (SRXE_REQ_BUDGET) each.  A run's end is not the
 * queue's: the next run sends the next WRITE right behind, so the 256
 * packets ask for one ACK (every eighth of the 2048-packet window, and
 * the queue's last), not one per WRITE.  Nothing is lost (the filter
 * only counts) and every WRITE completes with its bytes.
 */
Test(engine_loss, runs_of_a_queue_share_acks, .init = setup, .fini = teardown)
{
	const uint32_t n = 4, len = 65536;
	struct h_conn_opts o = slow_timer;
	struct h_mr src, rem;
	struct srxe_eng_stats st;

	o.stop_at_rtr = true;
	rc_pair(&o);
	h_mr_reg(&A, &src, n * len, 0);
	h_mr_reg(&B, &rem, n * len, H_ALL_ACCESS);
	h_fill(src.p, n * len, 24);
	faults(K_ACK, SRXE_FAULT_PASS, 1, UINT32_MAX);
	for (uint32_t i = 0; i < n; i++)
		h_post_rdma(&qa, 70 + i, IBV_WR_RDMA_WRITE, &src, i * len, &rem,
			    i * len, len);
	h_rtr_to_rts(&qa, &o);
	for (uint32_t i = 0; i < n; i++)
		expect_cqe(&acq, 70 + i, IBV_WC_SUCCESS);
	cr_assert_eq(memcmp(src.p, rem.p, n * len), 0);
	st = stats();
	cr_assert_eq(st.retrans_pkts, 0);
	cr_assert_eq(st.ack_timeouts, 0);
	cr_assert_eq(rule.seen, 1, "%lu ACKs for %u WRITEs of 64 packets",
		     (unsigned long)rule.seen, n);
}

/* Several multi-packet WRITEs; a loss inside the second one: the NAK
 * rewinds into the middle of that WQE and everything completes once. */
Test(engine_loss, nak_rewinds_into_the_middle_of_a_write, .init = setup,
     .fini = teardown)
{
	const uint32_t len = 64 * 1024;
	struct h_mr src, rem;
	struct srxe_eng_stats st;

	rc_pair(&slow_timer);
	h_mr_reg(&A, &src, 4 * len, 0);
	h_mr_reg(&B, &rem, 4 * len, H_ALL_ACCESS);
	h_fill(src.p, 4 * len, 24);
	faults(K_DATA, SRXE_FAULT_DROP, 1, 64 + 10);
	for (uint32_t i = 0; i < 4; i++)
		h_post_rdma(&qa, 10 + i, IBV_WR_RDMA_WRITE, &src, i * len, &rem,
			    i * len, len);
	for (uint32_t i = 0; i < 4; i++)
		expect_cqe(&acq, 10 + i, IBV_WC_SUCCESS);
	cr_assert_eq(memcmp(src.p, rem.p, 4 * len), 0);
	st = stats();
	cr_assert_eq(st.naks_sent, 1);
	cr_assert_eq(st.ack_timeouts, 0);
	cr_assert_eq(h_state(&qa), IBV_QPS_RTS);
}

/* A lost READ response in the middle of a long READ: the requester asks
 * again from the first missing response, with adjusted VA and length. */
Test(engine_loss, lost_read_response_is_requested_again, .init = setup,
     .fini = teardown)
{
	struct h_mr loc, rem;
	struct srxe_eng_stats st;
	struct srxe_cqe e;

	rc_pair(&slow_timer);
	h_mr_reg(&A, &loc, LONG_MSG, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&B, &rem, LONG_MSG, H_ALL_ACCESS);
	h_fill(rem.p, LONG_MSG, 25);
	faults(K_READ_RESP, SRXE_FAULT_DROP, 1, 3);
	h_post_rdma(&qa, 30, IBV_WR_RDMA_READ, &loc, 0, &rem, 0, LONG_MSG);
	e = expect_cqe(&acq, 30, IBV_WC_SUCCESS);
	cr_assert_eq(e.byte_len, LONG_MSG);
	cr_assert_eq(memcmp(loc.p, rem.p, LONG_MSG), 0);
	st = stats();
	cr_assert_eq(st.ack_timeouts, 0, "the gap was noticed, not the timer");
	cr_assert_eq(st.retrans_pkts, 1, "one READ request for the rest");
	cr_assert_eq(st.dup_requests, 1, "the responder replayed it");
}

/* A lost READ request (the second of two): the responder NAKs the gap
 * when the third arrives... unless nothing follows: the timer. */
Test(engine_loss, lost_read_request_recovers, .init = setup, .fini = teardown)
{
	struct h_mr loc, rem;

	rc_pair(&fast_timer);
	h_mr_reg(&A, &loc, 3 * 5000, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&B, &rem, 3 * 5000, H_ALL_ACCESS);
	h_fill(rem.p, 3 * 5000, 26);
	faults(K_READ_REQ, SRXE_FAULT_DROP, 1, 2);
	for (uint32_t i = 0; i < 3; i++)
		h_post_rdma(&qa, 40 + i, IBV_WR_RDMA_READ, &loc, i * 5000, &rem,
			    i * 5000, 5000);
	for (uint32_t i = 0; i < 3; i++)
		expect_cqe(&acq, 40 + i, IBV_WC_SUCCESS);
	cr_assert_eq(memcmp(loc.p, rem.p, 3 * 5000), 0);
	cr_assert_gt(stats().retrans_pkts, 0);
}

/* A lost atomic ACK: the requester resends the atomic, the responder
 * answers from its cache: the add happens exactly once. */
Test(engine_loss, atomic_replayed_not_reexecuted, .init = setup,
     .fini = teardown)
{
	struct h_mr res, rem;
	struct srxe_eng_stats st;

	rc_pair(&fast_timer);
	h_mr_reg(&A, &res, 64, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&B, &rem, 64, H_ALL_ACCESS);
	*atomic_word(&rem) = 1000;
	faults(K_ATOMIC_ACK, SRXE_FAULT_DROP, 1, 1);
	post_fetch_add(50, &res, &rem, 5);
	expect_cqe(&acq, 50, IBV_WC_SUCCESS);
	cr_assert_eq(*(uint64_t *)res.p, 1000, "original value returned");
	cr_assert_eq(*atomic_word(&rem), 1005, "added exactly once");
	st = stats();
	cr_assert_geq(st.ack_timeouts, 1);
	cr_assert_geq(st.dup_requests, 1);
}

Test(engine_loss, duplicated_atomic_and_read_requests, .init = setup,
     .fini = teardown)
{
	struct h_mr res, loc, rem;

	rc_pair(&fast_timer);
	h_mr_reg(&A, &res, 64, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&A, &loc, 4000, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&B, &rem, 8192, H_ALL_ACCESS);
	h_fill(rem.p + 64, 4000, 27);
	*atomic_word(&rem) = 7;
	faults(K_ATOMIC, SRXE_FAULT_DUP, 1, 1);
	rule2 = (struct rule){ .kind = K_READ_REQ,
			       .n_nth = 1,
			       .nth = { 1 },
			       .action = SRXE_FAULT_DUP };
	post_fetch_add(60, &res, &rem, 1);
	expect_cqe(&acq, 60, IBV_WC_SUCCESS);
	h_post_rdma(&qa, 61, IBV_WR_RDMA_READ, &loc, 0, &rem, 64, 4000);
	expect_cqe(&acq, 61, IBV_WC_SUCCESS);
	cr_assert_eq(*atomic_word(&rem), 8, "added exactly once");
	cr_assert_eq(memcmp(loc.p, rem.p + 64, 4000), 0);
	cr_assert_eq(stats().dup_requests, 2, "%lu duplicates",
		     (unsigned long)stats().dup_requests);
}

/* A NAK delivered twice must rewind the requester once: the same loss
 * costs exactly the same resent packets with and without the copy. */
Test(engine_loss, duplicated_nak_rewinds_once, .init = setup, .fini = teardown)
{
	struct rule dup_nak = { .kind = K_ACK,
				.n_nth = 1,
				.nth = { 1 },
				.action = SRXE_FAULT_DUP };
	uint64_t once, twice;

	long_send_with(SRXE_FAULT_DROP, 5);
	once = stats().retrans_pkts;
	long_send_with2(SRXE_FAULT_DROP, 5, dup_nak); /* a new QP pair */
	cr_assert_eq(rule2.hit, 1, "the NAK was duplicated");
	cr_assert_eq(stats().naks_recv, 3);
	twice = stats().retrans_pkts - once;
	cr_assert_eq(once, twice, "resent %lu, then %lu", (unsigned long)once,
		     (unsigned long)twice);
}

/* Everything at once, at random (seeded): 2% loss, 2% duplication, 5%
 * swapped, on requests and responses alike, over SEND, WRITE, READ and
 * atomics.  Every byte and every completion must come out right. */
Test(engine_loss, random_faults_soak, .init = setup, .fini = teardown)
{
	const uint32_t len = 96 * 1024;
	struct h_mr src, dst, rem, loc, res;
	struct srxe_eng_stats st;
	struct h_conn_opts o = fast_timer;

	o.retry_cnt = 7;
	rc_pair(&o);
	h_mr_reg(&A, &src, 2 * len, 0);
	h_mr_reg(&A, &loc, len, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&A, &res, 64, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&B, &dst, len, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&B, &rem, 2 * len, H_ALL_ACCESS);
	faults(K_ANY, SRXE_FAULT_PASS, 0);
	chaos.drop_pm = 20;
	chaos.dup_pm = 20;
	chaos.delay_pm = 50;
	chaos.seed = 0x5eed;
	cr_assert_eq(srxe_engine_set_fault(h_eng, filter, NULL), 0);
	*atomic_word(&rem) = 0;
	for (uint32_t round = 0; round < 6; round++) {
		h_fill(src.p, 2 * len, 100 + round);
		h_fill(rem.p + len, len, 200 + round);
		h_post_recv(&qb, 1000 + round, &dst, 0, len);
		post_send(1, &src, 0, len);
		h_post_rdma(&qa, 2, IBV_WR_RDMA_WRITE, &src, len, &rem, 8,
			    len - 8);
		h_post_rdma(&qa, 3, IBV_WR_RDMA_READ, &loc, 0, &rem, len, len);
		post_fetch_add(4, &res, &rem, 3);
		for (uint64_t id = 1; id <= 4; id++)
			expect_cqe(&acq, id, IBV_WC_SUCCESS);
		expect_cqe(&bcq, 1000 + round, IBV_WC_SUCCESS);
		cr_assert_eq(memcmp(src.p, dst.p, len), 0, "round %u SEND",
			     round);
		cr_assert_eq(memcmp(src.p + len, rem.p + 8, len - 8), 0,
			     "round %u WRITE", round);
		cr_assert_eq(memcmp(loc.p, rem.p + len, len), 0,
			     "round %u READ", round);
		cr_assert_eq(*(uint64_t *)res.p, 3ull * round,
			     "round %u atomic", round);
	}
	cr_assert_eq(*atomic_word(&rem), 18, "every add exactly once");
	st = stats();
	cr_assert_gt(st.retrans_pkts, 0);
	cr_assert_gt(st.dup_requests, 0);
	cr_assert_eq(h_state(&qa), IBV_QPS_RTS);
	cr_assert_eq(h_state(&qb), IBV_QPS_RTS);
}

Test(engine_loss, bad_qkey_and_unknown_qp_are_counted, .init = setup,
     .fini = teardown)
{
	struct h_mr loc;
	struct srxe_send_wqe *w;
	struct h_conn_opts o = fast_timer;

	o.dest_qpn = 0xabcde; /* nobody */
	o.retry_cnt = 1;
	h_qp_create(&A, &qa, IBV_QPT_RC, &acq, &acq);
	h_to_rts(&qa, 0, &o);
	h_mr_reg(&A, &loc, 64, 0);
	w = h_send_slot(&qa);
	w->wr_id = 70;
	w->opcode = IBV_WR_SEND;
	h_sge(w, &loc, 0, 64);
	h_send_publish(&qa);
	expect_cqe(&acq, 70, IBV_WC_RETRY_EXC_ERR);
	/* Issue #10: same-host, as on the wire, a named reason per drop. */
	cr_assert_eq(stats().drop_no_qp, 2, "1 try + 1 retry, no_qp");
	cr_assert_eq(stats().drops, 2, "drops = the sum of the reasons");
	cr_assert_eq(stats().ack_timeouts, 2, "1 try + 1 retry");
	cr_assert_eq(stats().retries, 1);
	cr_assert_eq(stats().retry_exc, 1);
}

/* Random 1% loss of data packets on a stream of multi-packet WRITEs: a
 * loss must cost about a resend window, not everything in flight. */
Test(engine_loss, loss_costs_a_few_packets, .init = setup, .fini = teardown)
{
	const uint32_t len = 64 * 1024, n = 48;
	struct h_mr src, rem;
	struct srxe_eng_stats st;

	rc_pair(&fast_timer);
	h_mr_reg(&A, &src, 8 * len, 0);
	h_mr_reg(&B, &rem, 8 * len, H_ALL_ACCESS);
	h_fill(src.p, 8 * len, 31);
	faults(K_ANY, SRXE_FAULT_PASS, 0);
	chaos.drop_pm = 10;
	chaos.seed = 77;
	for (uint32_t i = 0; i < n; i++) {
		h_post_rdma(&qa, 100 + i, IBV_WR_RDMA_WRITE, &src,
			    (i % 8) * len, &rem, (i % 8) * len, len);
		if (i >= 7)
			expect_cqe(&acq, 100 + i - 7, IBV_WC_SUCCESS);
	}
	for (uint32_t i = n - 7; i < n; i++)
		expect_cqe(&acq, 100 + i, IBV_WC_SUCCESS);
	cr_assert_eq(memcmp(src.p, rem.p, 8 * len), 0);
	st = stats();
	/* ~31 losses among 3072 packets; a go-back-N of whole windows
	 * (512) or messages (64) per loss would resend thousands. */
	cr_assert_lt(
		st.retrans_pkts, 8 * (st.naks_recv + st.ack_timeouts) + 40,
		"sent %lu, resent %lu, naks %lu, timeouts %lu",
		(unsigned long)st.pkts_sent, (unsigned long)st.retrans_pkts,
		(unsigned long)st.naks_recv, (unsigned long)st.ack_timeouts);
	cr_assert_gt(st.naks_recv, 0);
}

/* netem's mix in the harness (1% loss, 1% duplication, 25% swapped) over
 * long messages in both directions at once: WRITEs one way, SENDs the
 * other, several WQEs in flight, so that NAKs and resends overlap WQE
 * boundaries.  Every byte and completion must come out right, without
 * IBV_WC_RETRY_EXC_ERR. */
Test(engine_loss, netem_mix_long_messages, .init = setup, .fini = teardown)
{
	const uint32_t len = 300 * 1024, n = 4;
	struct h_mr src, rem, bsrc, adst;
	struct srxe_send_wqe *w;

	rc_pair(&fast_timer);
	h_mr_reg(&A, &src, n * len, 0);
	h_mr_reg(&B, &rem, n * len, H_ALL_ACCESS);
	h_mr_reg(&B, &bsrc, len, 0);
	h_mr_reg(&A, &adst, n * len, IBV_ACCESS_LOCAL_WRITE);
	faults(K_ANY, SRXE_FAULT_PASS, 0);
	chaos.drop_pm = 10;
	chaos.dup_pm = 10;
	chaos.delay_pm = 250;
	chaos.seed = 0xfeed;
	for (uint32_t round = 0; round < 3; round++) {
		h_fill(src.p, n * len, 300 + round);
		h_fill(bsrc.p, len, 400 + round);
		for (uint32_t i = 0; i < n; i++)
			h_post_recv(&qa, 500 + i, &adst, i * len, len);
		for (uint32_t i = 0; i < n; i++) {
			h_post_rdma(&qa, 600 + i, IBV_WR_RDMA_WRITE, &src,
				    i * len, &rem, i * len, len);
			w = h_send_slot(&qb);
			w->wr_id = 700 + i;
			w->opcode = IBV_WR_SEND;
			h_sge(w, &bsrc, 0, len);
			h_send_publish(&qb);
		}
		/* both directions share A's and B's CQs: sort by wr_id */
		for (uint32_t got = 0; got < 3 * n; got++) {
			struct srxe_cqe e;
			struct h_cq *c = got < 2 * n ? &acq : &bcq;

			cr_assert(h_poll(c, &e, TMO), "round %u: %u of %u",
				  round, got, 3 * n);
			cr_assert_eq(e.status, IBV_WC_SUCCESS,
				     "round %u wr_id %lu status %u", round,
				     (unsigned long)e.wr_id, e.status);
		}
		cr_assert_eq(memcmp(src.p, rem.p, n * len), 0, "round %u",
			     round);
		for (uint32_t i = 0; i < n; i++)
			cr_assert_eq(memcmp(bsrc.p, adst.p + i * len, len), 0,
				     "round %u SEND %u", round, i);
	}
	cr_assert_gt(stats().retrans_pkts, 0);
	cr_assert_eq(h_state(&qa), IBV_QPS_RTS);
	cr_assert_eq(h_state(&qb), IBV_QPS_RTS);
}
