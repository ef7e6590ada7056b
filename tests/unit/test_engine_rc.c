// SPDX-License-Identifier: MIT
/*
 * Issue #4: real data movement through the engine.  Two contexts (two
 * "processes": own memory client, own arena) with RC/UC/UD QPs connected
 * over the same-host transport; the engine thread runs its normal loop.
 * Every test checks the bytes that arrived and the exact completion
 * statuses, vendor_err and QP states.
 */
#include "engine_harness.h"

#define TMO 5000

static struct h_ctx A, B;
static struct h_cq acq, bcq;
static struct h_qp qa, qb;

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
	h_ctx_fini(&A);
	h_ctx_fini(&B);
	srxe_engine_stop(h_eng);
}

static const struct h_conn_opts rc_default = {
	.access = H_ALL_ACCESS,
	.timeout = 14,
	.retry_cnt = 7,
	.rnr_retry = 7,
	.min_rnr_timer = 1,
	.psn = 0xfffff0, /* the 24-bit wrap happens inside the tests */
};

static struct srxe_eng_stats eng_stats(void)
{
	struct srxe_eng_stats st;

	srxe_engine_stats(h_eng, &st);
	return st;
}

static void rc_pair(const struct h_conn_opts *o)
{
	h_qp_create(&A, &qa, IBV_QPT_RC, &acq, &acq);
	h_qp_create(&B, &qb, IBV_QPT_RC, &bcq, &bcq);
	h_connect(&qa, &qb, o);
}

static struct srxe_cqe expect_cqe(struct h_cq *c, uint64_t wr_id,
				  uint32_t status, uint32_t opcode)
{
	struct srxe_cqe e;

	cr_assert(h_poll(c, &e, TMO), "no completion for wr_id %lu",
		  (unsigned long)wr_id);
	cr_assert_eq(e.wr_id, wr_id, "wr_id %lu, expected %lu",
		     (unsigned long)e.wr_id, (unsigned long)wr_id);
	cr_assert_eq(e.status, status, "status %u, expected %u", e.status,
		     status);
	if (status == IBV_WC_SUCCESS)
		cr_assert_eq(e.opcode, opcode, "opcode %u, expected %u",
			     e.opcode, opcode);
	return e;
}

static void send_msg(uint64_t len)
{
	struct h_mr src, dst;
	struct srxe_send_wqe *w;
	struct srxe_cqe e;

	h_mr_reg(&A, &src, len + 1, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&B, &dst, len + 1, IBV_ACCESS_LOCAL_WRITE);
	h_fill(src.p, len, (uint32_t)len);
	memset(dst.p, 0, len + 1);
	h_post_recv(&qb, 77, &dst, 0, (uint32_t)len + 1);
	w = h_send_slot(&qa);
	w->wr_id = 1000 + len;
	w->opcode = IBV_WR_SEND_WITH_IMM;
	w->imm_data = htonl(0xabcdef01);
	h_sge(w, &src, 0, (uint32_t)len);
	h_send_publish(&qa);
	e = expect_cqe(&bcq, 77, IBV_WC_SUCCESS, IBV_WC_RECV);
	cr_assert_eq(e.byte_len, len);
	cr_assert(e.wc_flags & IBV_WC_WITH_IMM);
	cr_assert_eq(ntohl(e.imm_data), 0xabcdef01);
	cr_assert_eq(e.qp_num, qb.qpn);
	cr_assert_eq(memcmp(src.p, dst.p, len), 0, "payload differs");
	cr_assert_eq(dst.p[len], 0, "wrote past the message");
	e = expect_cqe(&acq, 1000 + len, IBV_WC_SUCCESS, IBV_WC_SEND);
	cr_assert_eq(e.byte_len, len);
}

Test(engine_rc, send_sizes_with_segmentation, .init = setup, .fini = teardown)
{
	rc_pair(&rc_default);
	send_msg(1);
	send_msg(1024);
	send_msg(1025);
	send_msg(4096);
	send_msg(65536);
	send_msg(1 << 20);
	cr_assert_eq(h_state(&qa), IBV_QPS_RTS);
	cr_assert_eq(h_state(&qb), IBV_QPS_RTS);
	/* rxe's rdma_sends / rdma_recvs (docs/hw-counters.md) */
	cr_assert_eq(eng_stats().sends_done, 6);
	cr_assert_eq(eng_stats().recvs_done, 6);
}

static unsigned int unpolled_mark(const struct h_ctx *hc,
				  struct srxe_cq_mark *m)
{
	unsigned int n;

	srxe_engine_lock(h_eng);
	n = srxe_eng_unpolled_mark(h_eng, hc->pid, m, 4);
	srxe_engine_unlock(h_eng);
	return n;
}

static bool unpolled_since(const struct h_ctx *hc, const struct srxe_cq_mark *m,
			   unsigned int n)
{
	bool ret;

	srxe_engine_lock(h_eng);
	ret = srxe_eng_unpolled_since(h_eng, hc->pid, m, n);
	srxe_engine_unlock(h_eng);
	return ret;
}

/*
 * What the CM asks before it tells a peer's disconnect (cm_conn.c): which
 * CQs of a process hold completions it has not polled, and later whether
 * those are polled.  B's receive is written before the ACK that completes
 * A's send, so once A has its send completion B's CQ holds the receive.
 */
Test(engine_rc, unpolled_completions_of_a_process, .init = setup,
     .fini = teardown)
{
	struct srxe_cq_mark m[4], later[4];
	struct h_mr src, dst;
	struct srxe_send_wqe *w;
	uint32_t prod;

	rc_pair(&rc_default);
	cr_assert_eq(unpolled_mark(&B, m), 0, "an empty CQ holds something");
	h_mr_reg(&A, &src, 64, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&B, &dst, 64, IBV_ACCESS_LOCAL_WRITE);
	for (uint64_t id = 1; id <= 2; id++)
		h_post_recv(&qb, 70 + id, &dst, 0, 64);
	for (uint64_t id = 1; id <= 2; id++) {
		w = h_send_slot(&qa);
		w->wr_id = id;
		w->opcode = IBV_WR_SEND;
		h_sge(w, &src, 0, 64);
		h_send_publish(&qa);
		expect_cqe(&acq, id, IBV_WC_SUCCESS, IBV_WC_SEND);
		if (id == 1)
			cr_assert_eq(unpolled_mark(&B, m), 1,
				     "B's receive not seen unpolled");
	}
	cr_assert_eq(unpolled_mark(&A, later), 0, "A polled everything");
	cr_assert(unpolled_since(&B, m, 1));
	cr_assert(!unpolled_since(&A, m, 1), "a mark of another process");
	/* The first receive polled: what the mark covered is, though the
	 * second receive (after the mark) is not. */
	expect_cqe(&bcq, 71, IBV_WC_SUCCESS, IBV_WC_RECV);
	cr_assert(!unpolled_since(&B, m, 1), "polled, still seen");
	cr_assert_eq(unpolled_mark(&B, later), 1);
	/* The consumer index is the application's: garbage means no. */
	prod = __atomic_load_n(&bcq.ring->prod.val, __ATOMIC_ACQUIRE);
	__atomic_store_n(&bcq.ring->cons.val, prod + 1000, __ATOMIC_RELEASE);
	cr_assert(!unpolled_since(&B, later, 1), "garbage consumer index");
	cr_assert_eq(unpolled_mark(&B, m), 0, "garbage consumer index");
	__atomic_store_n(&bcq.ring->cons.val, bcq.cons, __ATOMIC_RELEASE);
	expect_cqe(&bcq, 72, IBV_WC_SUCCESS, IBV_WC_RECV);
	cr_assert(!unpolled_since(&B, later, 1));
}

Test(engine_rc, inline_send, .init = setup, .fini = teardown)
{
	struct h_mr dst;
	struct srxe_send_wqe *w;
	struct srxe_cqe e;
	const char msg[] = "inline data travels in the WQE";

	rc_pair(&rc_default);
	h_mr_reg(&B, &dst, 256, IBV_ACCESS_LOCAL_WRITE);
	h_post_recv(&qb, 5, &dst, 0, 256);
	w = h_send_slot(&qa);
	w->wr_id = 6;
	w->opcode = IBV_WR_SEND;
	w->flags |= SRXE_WQE_INLINE;
	w->inline_len = sizeof(msg);
	memcpy(w + 1, msg, sizeof(msg));
	h_send_publish(&qa);
	e = expect_cqe(&bcq, 5, IBV_WC_SUCCESS, IBV_WC_RECV);
	cr_assert_eq(e.byte_len, sizeof(msg));
	cr_assert_str_eq((char *)dst.p, msg);
	expect_cqe(&acq, 6, IBV_WC_SUCCESS, IBV_WC_SEND);
}

Test(engine_rc, write_read_atomics, .init = setup, .fini = teardown)
{
	const uint64_t len = 200000;
	struct h_mr loc, rem, res;
	struct srxe_send_wqe *w;
	struct srxe_cqe e;

	rc_pair(&rc_default);
	h_mr_reg(&A, &loc, len, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&B, &rem, len, H_ALL_ACCESS);
	h_mr_reg(&A, &res, 64, IBV_ACCESS_LOCAL_WRITE);
	h_fill(loc.p, len, 1);

	w = h_send_slot(&qa); /* WRITE everything */
	w->wr_id = 1;
	w->opcode = IBV_WR_RDMA_WRITE;
	w->rdma.remote_addr = rem.va;
	w->rdma.rkey = rem.rkey;
	h_sge(w, &loc, 0, (uint32_t)len);
	h_send_publish(&qa);
	expect_cqe(&acq, 1, IBV_WC_SUCCESS, IBV_WC_RDMA_WRITE);
	cr_assert_eq(memcmp(loc.p, rem.p, len), 0);

	h_fill(rem.p, len, 2); /* READ it back, changed, over two SGEs */
	w = h_send_slot(&qa);
	w->wr_id = 2;
	w->opcode = IBV_WR_RDMA_READ;
	w->rdma.remote_addr = rem.va;
	w->rdma.rkey = rem.rkey;
	h_sge(w, &loc, 0, 1000);
	h_sge(w, &loc, 1000, (uint32_t)len - 1000);
	h_send_publish(&qa);
	e = expect_cqe(&acq, 2, IBV_WC_SUCCESS, IBV_WC_RDMA_READ);
	cr_assert_eq(e.byte_len, len);
	cr_assert_eq(memcmp(loc.p, rem.p, len), 0);

	*(uint64_t *)(rem.p + 8 - (rem.va & 7)) = 40;
	w = h_send_slot(&qa);
	w->wr_id = 3;
	w->opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
	w->atomic.remote_addr = (rem.va + 8) & ~7ull;
	w->atomic.rkey = rem.rkey;
	w->atomic.compare_add = 2;
	h_sge(w, &res, 0, 8);
	h_send_publish(&qa);
	expect_cqe(&acq, 3, IBV_WC_SUCCESS, IBV_WC_FETCH_ADD);
	cr_assert_eq(*(uint64_t *)res.p, 40);
	cr_assert_eq(*(uint64_t *)(rem.p + 8 - (rem.va & 7)), 42);

	w = h_send_slot(&qa);
	w->wr_id = 4;
	w->opcode = IBV_WR_ATOMIC_CMP_AND_SWP;
	w->atomic.remote_addr = (rem.va + 8) & ~7ull;
	w->atomic.rkey = rem.rkey;
	w->atomic.compare_add = 42;
	w->atomic.swap = 7;
	h_sge(w, &res, 8, 8);
	h_send_publish(&qa);
	expect_cqe(&acq, 4, IBV_WC_SUCCESS, IBV_WC_COMP_SWAP);
	cr_assert_eq(*(uint64_t *)(res.p + 8), 42);
	cr_assert_eq(*(uint64_t *)(rem.p + 8 - (rem.va & 7)), 7);
}

Test(engine_rc, write_with_imm_consumes_recv, .init = setup, .fini = teardown)
{
	struct h_mr loc, rem, rbuf;
	struct srxe_send_wqe *w;
	struct srxe_cqe e;

	rc_pair(&rc_default);
	h_mr_reg(&A, &loc, 5000, 0);
	h_mr_reg(&B, &rem, 5000,
		 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	h_mr_reg(&B, &rbuf, 16, IBV_ACCESS_LOCAL_WRITE);
	h_fill(loc.p, 5000, 9);
	h_post_recv(&qb, 55, &rbuf, 0, 16);
	w = h_send_slot(&qa);
	w->wr_id = 1;
	w->opcode = IBV_WR_RDMA_WRITE_WITH_IMM;
	w->imm_data = htonl(99);
	w->rdma.remote_addr = rem.va;
	w->rdma.rkey = rem.rkey;
	h_sge(w, &loc, 0, 5000);
	h_send_publish(&qa);
	e = expect_cqe(&bcq, 55, IBV_WC_SUCCESS, IBV_WC_RECV_RDMA_WITH_IMM);
	cr_assert_eq(e.byte_len, 5000);
	cr_assert_eq(ntohl(e.imm_data), 99);
	expect_cqe(&acq, 1, IBV_WC_SUCCESS, IBV_WC_RDMA_WRITE);
	cr_assert_eq(memcmp(loc.p, rem.p, 5000), 0);
}

/* A WRITE whose remote side is refused: status, and both QPs in ERR. */
static void remote_write_refused(struct h_mr *rem, uint64_t addr, uint32_t rkey,
				 uint32_t len)
{
	struct h_mr loc;
	struct srxe_send_wqe *w;
	uint8_t before[64];

	h_mr_reg(&A, &loc, 4096, 0);
	h_fill(loc.p, 4096, 3);
	memcpy(before, rem->p, sizeof(before));
	w = h_send_slot(&qa);
	w->wr_id = 10;
	w->opcode = IBV_WR_RDMA_WRITE;
	w->rdma.remote_addr = addr;
	w->rdma.rkey = rkey;
	h_sge(w, &loc, 0, len);
	h_send_publish(&qa);
	w = h_send_slot(&qa);
	w->wr_id = 11;
	w->opcode = IBV_WR_SEND;
	w->flags = 0; /* unsignaled: flushed WQEs complete anyway */
	h_send_publish(&qa);
	expect_cqe(&acq, 10, IBV_WC_REM_ACCESS_ERR, 0);
	expect_cqe(&acq, 11, IBV_WC_WR_FLUSH_ERR, 0);
	cr_assert_eq(h_state(&qa), IBV_QPS_ERR);
	cr_assert_eq(h_state(&qb), IBV_QPS_ERR);
	cr_assert_eq(memcmp(before, rem->p, sizeof(before)), 0,
		     "refused WRITE changed memory");
}

Test(engine_rc, bad_rkey, .init = setup, .fini = teardown)
{
	struct h_mr rem;

	rc_pair(&rc_default);
	h_mr_reg(&B, &rem, 4096, H_ALL_ACCESS);
	remote_write_refused(&rem, rem.va, rem.rkey ^ 0x5a5a00, 64);
}

Test(engine_rc, out_of_bounds, .init = setup, .fini = teardown)
{
	struct h_mr rem;

	rc_pair(&rc_default);
	h_mr_reg(&B, &rem, 4096, H_ALL_ACCESS);
	remote_write_refused(&rem, rem.va + 4096 - 32, rem.rkey, 64);
}

Test(engine_rc, missing_access_right, .init = setup, .fini = teardown)
{
	struct h_mr rem;

	rc_pair(&rc_default);
	h_mr_reg(&B, &rem, 4096,
		 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ);
	remote_write_refused(&rem, rem.va, rem.rkey, 64);
}

Test(engine_rc, bad_lkey_is_local_protection_error, .init = setup,
     .fini = teardown)
{
	struct h_mr loc, dst;
	struct srxe_send_wqe *w;
	struct srxe_cqe e;

	rc_pair(&rc_default);
	h_mr_reg(&A, &loc, 4096, 0);
	h_mr_reg(&B, &dst, 4096, IBV_ACCESS_LOCAL_WRITE);
	h_post_recv(&qb, 1, &dst, 0, 4096);
	w = h_send_slot(&qa);
	w->wr_id = 20;
	w->opcode = IBV_WR_SEND;
	h_sge(w, &loc, 0, 64);
	((struct srxe_wqe_sge *)(w + 1))->lkey ^= 0x1234;
	h_send_publish(&qa);
	w = h_send_slot(&qa);
	w->wr_id = 21;
	w->opcode = IBV_WR_SEND;
	h_send_publish(&qa);
	e = expect_cqe(&acq, 20, IBV_WC_LOC_PROT_ERR, 0);
	cr_assert_neq(e.vendor_err, 0, "vendor_err names the xlate check");
	expect_cqe(&acq, 21, IBV_WC_WR_FLUSH_ERR, 0);
	cr_assert_eq(h_state(&qa), IBV_QPS_ERR);
	cr_assert_eq(h_state(&qb), IBV_QPS_RTS, "nothing reached the peer");
}

/*
 * A queue of one-packet WRITEs: only every eighth of the window's
 * packets and the queue's last ask for an ACK (requester.c next_follows),
 * and every WRITE still completes, in order, with its bytes in place.
 */
Test(engine_rc, queued_messages_share_acks, .init = setup, .fini = teardown)
{
	const uint32_t n = 64, len = 512; /* the harness's SQ: 64 */
	struct h_conn_opts o = rc_default;
	struct h_mr loc, rem;
	struct srxe_eng_stats st;

	o.stop_at_rtr = true;
	rc_pair(&o);
	h_mr_reg(&A, &loc, n * len, 0);
	h_mr_reg(&B, &rem, n * len, H_ALL_ACCESS);
	h_fill(loc.p, n * len, 5);
	for (uint32_t i = 0; i < n; i++)
		h_post_rdma(&qa, 100 + i, IBV_WR_RDMA_WRITE, &loc, i * len,
			    &rem, i * len, len);
	h_rtr_to_rts(&qa, &o);
	for (uint32_t i = 0; i < n; i++)
		expect_cqe(&acq, 100 + i, IBV_WC_SUCCESS, IBV_WC_RDMA_WRITE);
	cr_assert_eq(memcmp(loc.p, rem.p, n * len), 0);
	st = eng_stats();
	/* 64 WRITEs and one ACK (the 64th packet and the queue's last), not
	 * 64 ACKs */
	cr_assert_leq(st.pkts_sent, n + 1, "%lu packets for %u WRITEs",
		      (unsigned long)st.pkts_sent, n);
	cr_assert_eq(st.retrans_pkts, 0);
	cr_assert_eq(st.ack_timeouts, 0);
}

/*
 * The WRITE behind one that went without AckReq fails to build (bad
 * lkey): the first is asked for its ACK again at once (one resent packet)
 * and completes; the second fails in order -- no ACK timer involved.
 */
Test(engine_rc, owed_ack_is_asked_when_the_next_fails, .init = setup,
     .fini = teardown)
{
	struct h_conn_opts o = rc_default;
	struct h_mr loc, rem;
	struct srxe_send_wqe *w;
	struct srxe_eng_stats st;

	o.stop_at_rtr = true;
	o.timeout = 31; /* ~2.4 hours: only the resend can complete it */
	rc_pair(&o);
	h_mr_reg(&A, &loc, 4096, 0);
	h_mr_reg(&B, &rem, 4096, H_ALL_ACCESS);
	h_fill(loc.p, 4096, 9);
	h_post_rdma(&qa, 40, IBV_WR_RDMA_WRITE, &loc, 0, &rem, 0, 256);
	w = h_send_slot(&qa);
	w->wr_id = 41;
	w->opcode = IBV_WR_RDMA_WRITE;
	w->rdma.remote_addr = rem.va + 256;
	w->rdma.rkey = rem.rkey;
	h_sge(w, &loc, 256, 256);
	((struct srxe_wqe_sge *)(w + 1))->lkey ^= 0x1234;
	h_send_publish(&qa);
	h_rtr_to_rts(&qa, &o);
	expect_cqe(&acq, 40, IBV_WC_SUCCESS, IBV_WC_RDMA_WRITE);
	expect_cqe(&acq, 41, IBV_WC_LOC_PROT_ERR, 0);
	cr_assert_eq(memcmp(loc.p, rem.p, 256), 0);
	st = eng_stats();
	cr_assert_eq(st.retrans_pkts, 1, "the first WRITE's packet, once");
	cr_assert_eq(st.ack_timeouts, 0);
	cr_assert_eq(h_state(&qa), IBV_QPS_ERR);
}

Test(engine_rc, dereg_while_write_queued, .init = setup, .fini = teardown)
{
	struct h_mr loc, rem;
	struct srxe_send_wqe *w;
	struct srxe_cqe e;
	struct h_conn_opts o = rc_default;
	struct srxe_qp_attr_wire a = { 0 };

	o.stop_at_rtr = true;
	rc_pair(&o);
	h_mr_reg(&A, &loc, 4096, 0);
	h_mr_reg(&B, &rem, 4096, H_ALL_ACCESS);
	w = h_send_slot(&qa); /* queued: the QP is not in RTS yet */
	w->wr_id = 30;
	w->opcode = IBV_WR_RDMA_WRITE;
	w->rdma.remote_addr = rem.va;
	w->rdma.rkey = rem.rkey;
	h_sge(w, &loc, 0, 128);
	h_send_publish(&qa);
	h_mr_dereg(&A, &loc);
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	cr_assert_eq(h_modify(&qa, &a,
			      IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
				      IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				      IBV_QP_MAX_QP_RD_ATOMIC),
		     0);
	e = expect_cqe(&acq, 30, IBV_WC_LOC_PROT_ERR, 0);
	cr_assert_neq(e.vendor_err, 0);
	cr_assert_eq(h_state(&qa), IBV_QPS_ERR);
}

Test(engine_rc, rnr_retry_exhausted, .init = setup, .fini = teardown)
{
	struct h_mr loc;
	struct srxe_send_wqe *w;
	struct srxe_eng_stats st;
	struct h_conn_opts o = rc_default;

	o.rnr_retry = 2;
	o.min_rnr_timer = 1; /* 10 us */
	rc_pair(&o);
	h_mr_reg(&A, &loc, 64, 0);
	w = h_send_slot(&qa);
	w->wr_id = 40;
	w->opcode = IBV_WR_SEND;
	h_sge(w, &loc, 0, 64);
	h_send_publish(&qa);
	expect_cqe(&acq, 40, IBV_WC_RNR_RETRY_EXC_ERR, 0);
	cr_assert_eq(h_state(&qa), IBV_QPS_ERR);
	cr_assert_eq(h_state(&qb), IBV_QPS_RTS);
	srxe_engine_stats(h_eng, &st);
	cr_assert_eq(st.rnr_naks_sent, 3, "1 try + 2 retries, got %lu",
		     (unsigned long)st.rnr_naks_sent);
	cr_assert_eq(st.rnr_naks_recv, 3);
	cr_assert_eq(st.rnr_retry_exc, 1);
	cr_assert_eq(st.retry_exc, 0);
	cr_assert_eq(st.retries, 0, "RNR retries are not go-back-N ones");
	cr_assert_eq(st.sends_done, 1, "rxe counts a failed SEND too");
	cr_assert_eq(st.recvs_done, 0);
}

Test(engine_rc, rnr_then_recv_posted_succeeds, .init = setup, .fini = teardown)
{
	struct h_mr loc, dst;
	struct srxe_send_wqe *w;
	struct h_conn_opts o = rc_default;

	o.min_rnr_timer = 14; /* 1.28 ms */
	rc_pair(&o);
	h_mr_reg(&A, &loc, 3000, 0);
	h_mr_reg(&B, &dst, 3000, IBV_ACCESS_LOCAL_WRITE);
	h_fill(loc.p, 3000, 5);
	w = h_send_slot(&qa);
	w->wr_id = 41;
	w->opcode = IBV_WR_SEND;
	h_sge(w, &loc, 0, 3000);
	h_send_publish(&qa);
	usleep(20000);
	h_post_recv(&qb, 42, &dst, 0, 3000);
	expect_cqe(&bcq, 42, IBV_WC_SUCCESS, IBV_WC_RECV);
	expect_cqe(&acq, 41, IBV_WC_SUCCESS, IBV_WC_SEND);
	cr_assert_eq(memcmp(loc.p, dst.p, 3000), 0);
}

Test(engine_rc, dead_destination_retry_exhausted, .init = setup,
     .fini = teardown)
{
	struct h_mr loc;
	struct srxe_send_wqe *w;
	struct h_conn_opts o = rc_default;

	o.timeout = 8; /* ~1 ms */
	o.retry_cnt = 3;
	o.dest_qpn = 0xabcde; /* no such QP */
	h_qp_create(&A, &qa, IBV_QPT_RC, &acq, &acq);
	h_to_rts(&qa, 0, &o);
	h_mr_reg(&A, &loc, 64, 0);
	w = h_send_slot(&qa);
	w->wr_id = 50;
	w->opcode = IBV_WR_SEND;
	h_sge(w, &loc, 0, 64);
	h_send_publish(&qa);
	expect_cqe(&acq, 50, IBV_WC_RETRY_EXC_ERR, 0);
	cr_assert_eq(h_state(&qa), IBV_QPS_ERR);
	cr_assert_eq(eng_stats().retries, 3, "retry_cnt retries");
	cr_assert_eq(eng_stats().retry_exc, 1);
	cr_assert_eq(eng_stats().rnr_retry_exc, 0);
}

Test(engine_rc, peer_destroyed_mid_stream, .init = setup, .fini = teardown)
{
	struct h_mr loc;
	struct srxe_send_wqe *w;
	struct h_conn_opts o = rc_default;

	o.timeout = 8;
	o.retry_cnt = 2;
	rc_pair(&o);
	h_mr_reg(&A, &loc, 64, 0);
	srxe_engine_lock(h_eng); /* the peer process dies */
	srxe_eng_qp_destroy(qb.qp);
	srxe_engine_unlock(h_eng);
	w = h_send_slot(&qa);
	w->wr_id = 51;
	w->opcode = IBV_WR_SEND;
	h_sge(w, &loc, 0, 64);
	h_send_publish(&qa);
	expect_cqe(&acq, 51, IBV_WC_RETRY_EXC_ERR, 0);
}

Test(engine_rc, recv_too_small, .init = setup, .fini = teardown)
{
	struct h_mr loc, dst;
	struct srxe_send_wqe *w;

	rc_pair(&rc_default);
	h_mr_reg(&A, &loc, 2048, 0);
	h_mr_reg(&B, &dst, 2048, IBV_ACCESS_LOCAL_WRITE);
	h_post_recv(&qb, 60, &dst, 0, 100);
	w = h_send_slot(&qa);
	w->wr_id = 61;
	w->opcode = IBV_WR_SEND;
	h_sge(w, &loc, 0, 2048);
	h_send_publish(&qa);
	expect_cqe(&bcq, 60, IBV_WC_LOC_LEN_ERR, 0);
	expect_cqe(&acq, 61, IBV_WC_REM_INV_REQ_ERR, 0);
	cr_assert_eq(h_state(&qa), IBV_QPS_ERR);
	cr_assert_eq(h_state(&qb), IBV_QPS_ERR);
}

Test(engine_rc, modify_to_err_flushes_both_queues, .init = setup,
     .fini = teardown)
{
	struct h_mr dst;
	struct srxe_qp_attr_wire a = { .qp_state = IBV_QPS_ERR };

	rc_pair(&rc_default);
	h_mr_reg(&B, &dst, 64, IBV_ACCESS_LOCAL_WRITE);
	h_post_recv(&qb, 70, &dst, 0, 64);
	h_post_recv(&qb, 71, &dst, 0, 64);
	cr_assert_eq(h_modify(&qb, &a, IBV_QP_STATE), 0);
	expect_cqe(&bcq, 70, IBV_WC_WR_FLUSH_ERR, 0);
	expect_cqe(&bcq, 71, IBV_WC_WR_FLUSH_ERR, 0);
	h_post_recv(&qb, 72, &dst, 0, 64); /* posted in ERR: flushed too */
	expect_cqe(&bcq, 72, IBV_WC_WR_FLUSH_ERR, 0);
	cr_assert_eq(h_state(&qb), IBV_QPS_ERR);
	cr_assert_eq(eng_stats().recvs_done, 0, "flushed: not received");
}

Test(engine_rc, garbage_producer_index_kills_only_the_qp, .init = setup,
     .fini = teardown)
{
	rc_pair(&rc_default);
	__atomic_store_n(&qa.sq->prod.val, 0x7fffffff, __ATOMIC_RELEASE);
	h_doorbell(&A);
	for (int i = 0; i < 200 && h_state(&qa) != IBV_QPS_ERR; i++)
		usleep(1000);
	cr_assert_eq(h_state(&qa), IBV_QPS_ERR);
	cr_assert_eq(h_state(&qb), IBV_QPS_RTS);
	rc_pair(&rc_default); /* the engine is alive: a new pair works */
	send_msg(4096);
}

Test(engine_uc, send_and_write, .init = setup, .fini = teardown)
{
	struct h_mr loc, dst, rem;
	struct srxe_send_wqe *w;
	struct srxe_cqe e;
	struct h_conn_opts o = { .access = H_ALL_ACCESS, .psn = 0xfffffe };

	h_qp_create(&A, &qa, IBV_QPT_UC, &acq, &acq);
	h_qp_create(&B, &qb, IBV_QPT_UC, &bcq, &bcq);
	h_connect(&qa, &qb, &o);
	h_mr_reg(&A, &loc, 10000, 0);
	h_mr_reg(&B, &dst, 10000, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(&B, &rem, 10000,
		 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	h_fill(loc.p, 10000, 11);
	h_post_recv(&qb, 80, &dst, 0, 10000);
	w = h_send_slot(&qa);
	w->wr_id = 81;
	w->opcode = IBV_WR_SEND;
	h_sge(w, &loc, 0, 10000);
	h_send_publish(&qa);
	e = expect_cqe(&bcq, 80, IBV_WC_SUCCESS, IBV_WC_RECV);
	cr_assert_eq(e.byte_len, 10000);
	expect_cqe(&acq, 81, IBV_WC_SUCCESS, IBV_WC_SEND);
	cr_assert_eq(memcmp(loc.p, dst.p, 10000), 0);
	w = h_send_slot(&qa);
	w->wr_id = 82;
	w->opcode = IBV_WR_RDMA_WRITE;
	w->rdma.remote_addr = rem.va;
	w->rdma.rkey = rem.rkey;
	h_sge(w, &loc, 0, 10000);
	h_send_publish(&qa);
	expect_cqe(&acq, 82, IBV_WC_SUCCESS, IBV_WC_RDMA_WRITE);
	cr_assert_eq(memcmp(loc.p, rem.p, 10000), 0);
}

static void ud_pair(void)
{
	struct srxe_ah_wire av;
	const char *why;
	struct h_conn_opts o = { 0 };

	h_qp_create(&A, &qa, IBV_QPT_UD, &acq, &acq);
	h_qp_create(&B, &qb, IBV_QPT_UD, &bcq, &bcq);
	h_to_rts(&qa, 0, &o);
	h_to_rts(&qb, 0, &o);
	h_av(&av);
	srxe_engine_lock(h_eng);
	cr_assert_eq(srxe_eng_ah_create(A.ctx, H_PD, &av, &A.ah[0], &why), 0);
	srxe_engine_unlock(h_eng);
	A.nah = 1;
}

static void ud_send(uint64_t wr_id, uint32_t qkey, struct h_mr *loc,
		    uint32_t len)
{
	struct srxe_send_wqe *w = h_send_slot(&qa);

	w->wr_id = wr_id;
	w->opcode = IBV_WR_SEND_WITH_IMM;
	w->imm_data = htonl(5);
	w->ud.ah_handle = 1;
	w->ud.remote_qpn = qb.qpn;
	w->ud.remote_qkey = qkey;
	h_sge(w, loc, 0, len);
	h_send_publish(&qa);
}

Test(engine_ud, grh_and_qkey, .init = setup, .fini = teardown)
{
	struct h_mr loc, dst;
	struct srxe_cqe e;
	uint32_t ip = h_ip();

	ud_pair();
	h_mr_reg(&A, &loc, 2048, 0);
	h_mr_reg(&B, &dst, 2048, IBV_ACCESS_LOCAL_WRITE);
	h_fill(loc.p, 1024, 12);
	h_post_recv(&qb, 90, &dst, 0, 2048);
	ud_send(91, 0x22222222, &loc, 1024); /* wrong Q_Key: dropped */
	expect_cqe(&acq, 91, IBV_WC_SUCCESS, IBV_WC_SEND);
	ud_send(92, 0x11111111, &loc, 1024);
	expect_cqe(&acq, 92, IBV_WC_SUCCESS, IBV_WC_SEND);
	e = expect_cqe(&bcq, 90, IBV_WC_SUCCESS, IBV_WC_RECV);
	cr_assert_eq(e.byte_len, 1024 + 40);
	cr_assert(e.wc_flags & IBV_WC_GRH);
	cr_assert_eq(e.src_qp, qa.qpn);
	cr_assert_eq(ntohl(e.imm_data), 5);
	cr_assert_eq(dst.p[20], 0x45, "IPv4 header in GRH bytes 20..39");
	cr_assert_eq(memcmp(dst.p + 32, &ip, 4), 0);
	cr_assert_eq(memcmp(dst.p + 40, loc.p, 1024), 0);
	ud_send(93, 0x11111111, &loc, 1025); /* > MTU: local length error */
	expect_cqe(&acq, 93, IBV_WC_LOC_LEN_ERR, 0);
	cr_assert_eq(h_state(&qa), IBV_QPS_ERR);
}

/*
 * RoCEv2 over IPv6 through the same-host path: an AV on the device's own
 * link-local GID.  The receive gets the 40-byte IPv6 header as its GRH,
 * as kernel rxe writes it: version 6, the AV's traffic class, flow label
 * (masked to 20 bits) and hop limit, payload length = the UDP datagram,
 * next header UDP, source and destination the link-local address.
 */
Test(engine_ud, grh_ipv6, .init = setup, .fini = teardown)
{
	static const uint8_t ll[16] = H_IP6;
	struct srxe_ah_wire av;
	struct h_conn_opts o = { 0 };
	struct h_mr loc, dst;
	struct srxe_cqe e;
	const char *why;

	h_qp_create(&A, &qa, IBV_QPT_UD, &acq, &acq);
	h_qp_create(&B, &qb, IBV_QPT_UD, &bcq, &bcq);
	h_to_rts(&qa, 0, &o);
	h_to_rts(&qb, 0, &o);
	h_av(&av);
	memcpy(av.dgid, ll, 16);
	av.sgid_index = 0;
	av.traffic_class = 0x28;
	av.flow_label = 0xfffabcde; /* UCX sets all ones: 20 bits are kept */
	av.hop_limit = 7;
	srxe_engine_lock(h_eng);
	cr_assert_eq(srxe_eng_ah_create(A.ctx, H_PD, &av, &A.ah[0], &why), 0,
		     "%s", why);
	srxe_engine_unlock(h_eng);
	A.nah = 1;
	h_mr_reg(&A, &loc, 2048, 0);
	h_mr_reg(&B, &dst, 2048, IBV_ACCESS_LOCAL_WRITE);
	h_fill(loc.p, 1000, 13);
	h_post_recv(&qb, 94, &dst, 0, 2048);
	ud_send(95, 0x11111111, &loc, 1000);
	expect_cqe(&acq, 95, IBV_WC_SUCCESS, IBV_WC_SEND);
	e = expect_cqe(&bcq, 94, IBV_WC_SUCCESS, IBV_WC_RECV);
	cr_assert_eq(e.byte_len, 1000 + 40);
	cr_assert(e.wc_flags & IBV_WC_GRH);
	/* 6 | TC 0x28 | flow label 0xabcde */
	cr_assert_eq(dst.p[0], 0x62);
	cr_assert_eq(dst.p[1], 0x8a);
	cr_assert_eq(dst.p[2], 0xbc);
	cr_assert_eq(dst.p[3], 0xde);
	/* UDP 8 + BTH 12 + DETH 8 + ImmDt 4 + 1000 + ICRC 4 */
	cr_assert_eq(dst.p[4] << 8 | dst.p[5], 8 + 12 + 8 + 4 + 1000 + 4);
	cr_assert_eq(dst.p[6], 17);
	cr_assert_eq(dst.p[7], 7);
	cr_assert_eq(memcmp(dst.p + 8, ll, 16), 0);
	cr_assert_eq(memcmp(dst.p + 24, ll, 16), 0);
	cr_assert_eq(memcmp(dst.p + 40, loc.p, 1000), 0);
}

/*
 * An IPv6 multicast group (docs/multicast.md): the AH takes it, the send
 * to QPN 0xFFFFFF reaches the attached QP (the same-host path stands in
 * for the kernel's loopback here: the harness has no wire), and the GRH
 * is the IPv6 header to the group, with the AH's hop limit kept as it
 * is, 0 included (this host only, as IPv4's TTL 0).  A QP that is not
 * attached gets nothing; detached, the packet is an mcast_no_group drop.
 */
Test(engine_ud, mcast_ipv6_group, .init = setup, .fini = teardown)
{
	static const uint8_t ll[16] = H_IP6;
	static const uint8_t grp[16] = { 0xff,
					 0x02, [13] = 1, [14] = 2, [15] = 3 };
	struct srxe_ah_wire av;
	struct h_conn_opts o = { 0 };
	struct h_mr loc, dst;
	struct srxe_send_wqe *w;
	struct srxe_eng_stats st;
	struct srxe_cqe e;
	const char *why;

	h_qp_create(&A, &qa, IBV_QPT_UD, &acq, &acq);
	h_qp_create(&B, &qb, IBV_QPT_UD, &bcq, &bcq);
	h_to_rts(&qa, 0, &o);
	h_to_rts(&qb, 0, &o);
	h_av(&av);
	memcpy(av.dgid, grp, 16);
	av.sgid_index = 0;
	av.hop_limit = 0;
	srxe_engine_lock(h_eng);
	cr_assert_eq(srxe_eng_mcast_attach(qb.qp, grp, &why), 0, "%s", why);
	cr_assert_eq(srxe_eng_ah_create(A.ctx, H_PD, &av, &A.ah[0], &why), 0,
		     "%s", why);
	srxe_engine_unlock(h_eng);
	A.nah = 1;
	h_mr_reg(&A, &loc, 2048, 0);
	h_mr_reg(&B, &dst, 2048, IBV_ACCESS_LOCAL_WRITE);
	h_fill(loc.p, 500, 14);
	h_post_recv(&qb, 96, &dst, 0, 2048);
	for (uint64_t id = 97; id <= 98; id++) {
		if (id == 98) {
			srxe_engine_lock(h_eng);
			cr_assert_eq(srxe_eng_mcast_detach(qb.qp, grp, &why),
				     0);
			srxe_engine_unlock(h_eng);
		}
		w = h_send_slot(&qa);
		w->wr_id = id;
		w->opcode = IBV_WR_SEND;
		w->ud.ah_handle = 1;
		w->ud.remote_qpn = 0xffffff;
		w->ud.remote_qkey = 0x11111111;
		h_sge(w, &loc, 0, 500);
		h_send_publish(&qa);
		expect_cqe(&acq, id, IBV_WC_SUCCESS, IBV_WC_SEND);
		if (id == 97) {
			e = expect_cqe(&bcq, 96, IBV_WC_SUCCESS, IBV_WC_RECV);
			cr_assert_eq(e.byte_len, 500 + 40);
			cr_assert(e.wc_flags & IBV_WC_GRH);
			cr_assert_eq(e.src_qp, qa.qpn);
		}
	}
	cr_assert_eq(dst.p[0] >> 4, 6);
	cr_assert_eq(dst.p[7], 0, "the AH's hop limit 0 is kept");
	cr_assert_eq(memcmp(dst.p + 8, ll, 16), 0);
	cr_assert_eq(memcmp(dst.p + 24, grp, 16), 0);
	cr_assert_eq(memcmp(dst.p + 40, loc.p, 500), 0);
	srxe_engine_stats(h_eng, &st);
	cr_assert_eq(st.mcast_recv, 1);
	cr_assert_eq(st.mcast_copies, 1);
	cr_assert_eq(st.drop_mcast_no_group, 1);
}

/* A global IPv6 GID is refused (srxe advertises none, and a link-local
 * source must not leave the link); EINVAL with a reason. */
Test(engine_ud, ah_refuses_global_ipv6, .init = setup, .fini = teardown)
{
	struct srxe_ah_wire av;
	struct srxe_eng_ah *ah = NULL;
	const char *why = NULL;

	h_av(&av);
	memset(av.dgid, 0, 16);
	av.dgid[0] = 0x20;
	av.dgid[1] = 0x01;
	av.dgid[15] = 1;
	srxe_engine_lock(h_eng);
	cr_assert_eq(srxe_eng_ah_create(A.ctx, H_PD, &av, &ah, &why), -EINVAL);
	srxe_engine_unlock(h_eng);
	cr_assert_not_null(why);
	cr_assert_null(ah);
}

Test(engine_poll, idle_engine_sleeps_and_doorbell_wakes_it, .init = setup,
     .fini = teardown)
{
	struct srxe_ctx_page *page = (struct srxe_ctx_page *)A.arena;
	struct timespec c0, c1;
	uint64_t used_ns;

	usleep(50000); /* well past spin_us */
	cr_assert_eq(__atomic_load_n(&page->engine_sleeping, __ATOMIC_SEQ_CST),
		     1, "an idle engine announces that it sleeps");
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	usleep(300000);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	used_ns = (uint64_t)(c1.tv_sec - c0.tv_sec) * 1000000000ull +
		  (uint64_t)(c1.tv_nsec - c0.tv_nsec);
	cr_assert_lt(used_ns, 15000000ull, "idle: %lu ns CPU in 300 ms",
		     (unsigned long)used_ns);
	rc_pair(&rc_default); /* then work arrives through the doorbell */
	send_msg(100);
}
