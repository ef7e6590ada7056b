// SPDX-License-Identifier: MIT
/*
 * IBA 1.5 ATOMIC WRITE and FLUSH through the engine (docs/atomic-write-
 * flush.md): the two-context harness, each test run with the responder
 * in the MTT and in the shortcut translation mode.  Checked: the bytes
 * (exactly 8 of them, aligned, neighbours untouched), the completions
 * (opcode, byte_len, status), the NAK each refusal gets and that a
 * refused request moves no byte, and that a duplicate is answered again
 * but never executed again.
 */
#include <errno.h>

#include "engine_harness.h"

#include "engine/packet/opcode.h"
#include "engine/transport/fault.h"
#include "srxe/awf.h"

#define TMO 10000

static struct h_ctx A, B;
static struct h_cq acq, bcq;
static struct h_qp qa, qb;

/* requester side and responder side of the current test */
static struct h_ctx *req_ctx, *resp_ctx;
static struct h_cq *req_cq;
static struct h_qp *req_qp;

static void setup_modes(enum srxe_mem_mode a, enum srxe_mem_mode b)
{
	h_engine_start(IBV_MTU_1024);
	h_ctx_init(&A, a, 1);
	h_ctx_init(&B, b, 2);
	h_cq_create(&A, &acq, 256);
	h_cq_create(&B, &bcq, 256);
	req_ctx = &A;
	resp_ctx = &B;
	req_cq = &acq;
	req_qp = &qa;
}

/* A posts; B (the responder) translates in MTT mode ... */
static void setup_mtt(void)
{
	setup_modes(SRXE_MEM_SHORTCUT, SRXE_MEM_MTT);
}

/* ... or in shortcut mode. */
static void setup_shortcut(void)
{
	setup_modes(SRXE_MEM_MTT, SRXE_MEM_SHORTCUT);
}

static void teardown(void)
{
	srxe_engine_set_fault(h_eng, NULL, NULL);
	h_ctx_fini(&A);
	h_ctx_fini(&B);
	srxe_engine_stop(h_eng);
}

#define QP_ACCESS                                                              \
	(IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |                    \
	 IBV_ACCESS_REMOTE_ATOMIC | SRXE_ACCESS_FLUSH_GLOBAL)

static void rc_pair_access(uint32_t access, uint8_t timeout)
{
	struct h_conn_opts o = {
		.access = access,
		.timeout = timeout,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.min_rnr_timer = 1,
		.psn = 0xfffffe, /* wraps inside the tests */
	};

	h_qp_create(&A, &qa, IBV_QPT_RC, &acq, &acq);
	h_qp_create(&B, &qb, IBV_QPT_RC, &bcq, &bcq);
	h_connect(&qa, &qb, &o);
}

static void rc_pair(void)
{
	rc_pair_access(QP_ACCESS, 14);
}

static struct srxe_cqe expect_cqe(uint64_t wr_id, uint32_t status,
				  uint32_t opcode)
{
	struct srxe_cqe e;

	cr_assert(h_poll(req_cq, &e, TMO), "no completion for wr_id %lu",
		  (unsigned long)wr_id);
	cr_assert_eq(e.wr_id, wr_id, "wr_id %lu, expected %lu",
		     (unsigned long)e.wr_id, (unsigned long)wr_id);
	cr_assert_eq(e.status, status, "wr_id %lu: status %u, expected %u",
		     (unsigned long)wr_id, e.status, status);
	if (status == IBV_WC_SUCCESS)
		cr_assert_eq(e.opcode, opcode, "opcode %u, expected %u",
			     e.opcode, opcode);
	return e;
}

static void post_atomic_write(uint64_t wr_id, uint64_t addr, uint32_t rkey,
			      uint64_t value)
{
	struct srxe_send_wqe *w = h_send_slot(req_qp);

	w->wr_id = wr_id;
	w->opcode = IBV_WR_ATOMIC_WRITE;
	w->awf.remote_addr = addr;
	w->awf.rkey = rkey;
	memcpy(w->awf.value, &value, 8);
	h_send_publish(req_qp);
}

static void post_flush(uint64_t wr_id, uint64_t addr, uint32_t rkey,
		       uint32_t len, uint8_t type, uint8_t level)
{
	struct srxe_send_wqe *w = h_send_slot(req_qp);

	w->wr_id = wr_id;
	w->opcode = SRXE_WR_FLUSH;
	w->awf.remote_addr = addr;
	w->awf.rkey = rkey;
	w->awf.length = len;
	w->awf.flush_type = type;
	w->awf.flush_level = level;
	h_send_publish(req_qp);
}

static void post_write(uint64_t wr_id, const struct h_mr *loc, uint64_t addr,
		       uint32_t rkey, uint32_t len)
{
	struct srxe_send_wqe *w = h_send_slot(req_qp);

	w->wr_id = wr_id;
	w->opcode = IBV_WR_RDMA_WRITE;
	w->rdma.remote_addr = addr;
	w->rdma.rkey = rkey;
	h_sge(w, loc, 0, len);
	h_send_publish(req_qp);
}

/* Offset of the first 8-byte aligned address inside @mr. */
static uint64_t aligned_off(const struct h_mr *mr)
{
	return ((mr->va + 7) & ~7ull) - mr->va;
}

static void atomic_write_lands(void)
{
	struct h_mr rem, loc;
	uint64_t off, value = 0x1122334455667788ull, got;
	uint8_t before[64];
	struct srxe_cqe e;

	rc_pair();
	h_mr_reg(resp_ctx, &rem, 64,
		 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	h_mr_reg(req_ctx, &loc, 64, IBV_ACCESS_LOCAL_WRITE);
	h_fill(rem.p, 64, 5);
	memcpy(before, rem.p, 64);
	off = aligned_off(&rem) + 16;
	post_atomic_write(1, rem.va + off, rem.rkey, value);
	e = expect_cqe(1, IBV_WC_SUCCESS, SRXE_WC_ATOMIC_WRITE);
	cr_assert_eq(e.byte_len, 8);
	memcpy(&got, rem.p + off, 8);
	cr_assert_eq(got, value, "0x%llx landed", (unsigned long long)got);
	cr_assert_eq(memcmp(rem.p, before, off), 0, "bytes before changed");
	cr_assert_eq(memcmp(rem.p + off + 8, before + off + 8, 64 - off - 8), 0,
		     "bytes after changed");
	/* SGEs play no part: a garbage one is ignored */
	{
		struct srxe_send_wqe *w = h_send_slot(req_qp);

		w->wr_id = 2;
		w->opcode = IBV_WR_ATOMIC_WRITE;
		w->awf.remote_addr = rem.va + off;
		w->awf.rkey = rem.rkey;
		memset(w->awf.value, 0xab, 8);
		h_sge(w, &loc, 0, 8);
		((struct srxe_wqe_sge *)(w + 1))->lkey ^= 0x777;
		h_send_publish(req_qp);
	}
	expect_cqe(2, IBV_WC_SUCCESS, SRXE_WC_ATOMIC_WRITE);
	cr_assert_eq(rem.p[off], 0xab);
	cr_assert_eq(rem.p[off + 7], 0xab);
	/* the QPs stay usable after many, across the PSN wrap */
	for (uint64_t i = 0; i < 40; i++)
		post_atomic_write(10 + i, rem.va + off, rem.rkey, i * 3);
	for (uint64_t i = 0; i < 40; i++)
		expect_cqe(10 + i, IBV_WC_SUCCESS, SRXE_WC_ATOMIC_WRITE);
	memcpy(&got, rem.p + off, 8);
	cr_assert_eq(got, 39 * 3);
}

Test(engine_awf, atomic_write_lands_mtt, .init = setup_mtt, .fini = teardown)
{
	atomic_write_lands();
}

Test(engine_awf, atomic_write_lands_shortcut, .init = setup_shortcut,
     .fini = teardown)
{
	atomic_write_lands();
}

/* One refused ATOMIC WRITE: its status, both QPs in ERR, no byte moved. */
static void atomic_write_refused(uint32_t qp_access, unsigned int mr_access,
				 int64_t delta, bool forge, uint32_t status)
{
	struct h_mr rem;
	uint8_t before[64];

	rc_pair_access(qp_access, 14);
	/* 60 bytes: the aligned word at 56 is half outside */
	h_mr_reg(resp_ctx, &rem, 60, mr_access);
	h_fill(rem.p, 60, 9);
	memcpy(before, rem.p, 60);
	post_atomic_write(1, rem.va + aligned_off(&rem) + delta,
			  forge ? rem.rkey ^ 0x5a5a00 : rem.rkey, ~0ull);
	expect_cqe(1, status, 0);
	cr_assert_eq(h_state(req_qp), IBV_QPS_ERR);
	cr_assert_eq(h_state(&qb), IBV_QPS_ERR);
	cr_assert_eq(memcmp(before, rem.p, 60), 0, "refused write moved bytes");
}

#define RW_MR (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)

static void atomic_write_refusals(int which)
{
	switch (which) {
	case 0: /* a forged rkey */
		atomic_write_refused(QP_ACCESS, RW_MR, 0, true,
				     IBV_WC_REM_ACCESS_ERR);
		break;
	case 1: /* the MR does not grant REMOTE_WRITE */
		atomic_write_refused(QP_ACCESS,
				     IBV_ACCESS_LOCAL_WRITE |
					     IBV_ACCESS_REMOTE_READ |
					     IBV_ACCESS_REMOTE_ATOMIC,
				     0, false, IBV_WC_REM_ACCESS_ERR);
		break;
	case 2: /* the last 4 bytes of the MR and 4 beyond */
		atomic_write_refused(QP_ACCESS, RW_MR, 56, false,
				     IBV_WC_REM_ACCESS_ERR);
		break;
	case 3: /* misaligned: IBA oA19-28, rxe: invalid request */
		atomic_write_refused(QP_ACCESS, RW_MR, 4, false,
				     IBV_WC_REM_INV_REQ_ERR);
		break;
	default: /* the QP does not allow remote writes: as rxe */
		atomic_write_refused(IBV_ACCESS_REMOTE_READ, RW_MR, 0, false,
				     IBV_WC_REM_INV_REQ_ERR);
		break;
	}
}

#define REFUSAL_TESTS(mode)                                                    \
	Test(engine_awf, atomic_write_forged_rkey_##mode,                      \
	     .init = setup_##mode, .fini = teardown)                           \
	{                                                                      \
		atomic_write_refusals(0);                                      \
	}                                                                      \
	Test(engine_awf, atomic_write_no_remote_write_##mode,                  \
	     .init = setup_##mode, .fini = teardown)                           \
	{                                                                      \
		atomic_write_refusals(1);                                      \
	}                                                                      \
	Test(engine_awf, atomic_write_out_of_bounds_##mode,                    \
	     .init = setup_##mode, .fini = teardown)                           \
	{                                                                      \
		atomic_write_refusals(2);                                      \
	}                                                                      \
	Test(engine_awf, atomic_write_misaligned_##mode, .init = setup_##mode, \
	     .fini = teardown)                                                 \
	{                                                                      \
		atomic_write_refusals(3);                                      \
	}                                                                      \
	Test(engine_awf, atomic_write_qp_without_write_##mode,                 \
	     .init = setup_##mode, .fini = teardown)                           \
	{                                                                      \
		atomic_write_refusals(4);                                      \
	}

REFUSAL_TESTS(mtt)
REFUSAL_TESTS(shortcut)

#define FLUSH_MR (IBV_ACCESS_LOCAL_WRITE | SRXE_ACCESS_FLUSH_GLOBAL)

/* WRITEs, then a FLUSH of their range: the FLUSH completes after them,
 * and the data is in place when it does. */
static void flush_after_writes(void)
{
	const uint32_t len = 3000;
	struct h_mr rem, loc;
	struct srxe_cqe e;

	rc_pair();
	h_mr_reg(resp_ctx, &rem, 8192, RW_MR | SRXE_ACCESS_FLUSH_GLOBAL);
	h_mr_reg(req_ctx, &loc, len, IBV_ACCESS_LOCAL_WRITE);
	h_fill(loc.p, len, 77);
	memset(rem.p, 0, 8192);
	post_write(1, &loc, rem.va + 100, rem.rkey, len);
	post_write(2, &loc, rem.va + 4000, rem.rkey, len);
	post_flush(3, rem.va + 100, rem.rkey, 4000 + len - 100,
		   SRXE_FLUSH_GLOBAL, SRXE_FLUSH_RANGE);
	expect_cqe(1, IBV_WC_SUCCESS, IBV_WC_RDMA_WRITE);
	expect_cqe(2, IBV_WC_SUCCESS, IBV_WC_RDMA_WRITE);
	e = expect_cqe(3, IBV_WC_SUCCESS, SRXE_WC_FLUSH);
	cr_assert_eq(e.byte_len, 4000 + len - 100);
	cr_assert_eq(memcmp(rem.p + 100, loc.p, len), 0);
	cr_assert_eq(memcmp(rem.p + 4000, loc.p, len), 0);
	/* MR level: RETH address and length are ignored, the key is not */
	post_flush(4, 0x1234, rem.rkey, 0, SRXE_FLUSH_GLOBAL, SRXE_FLUSH_MR);
	expect_cqe(4, IBV_WC_SUCCESS, SRXE_WC_FLUSH);
	/* a zero-length range inside the MR is a valid no-op */
	post_flush(5, rem.va + 8, rem.rkey, 0, SRXE_FLUSH_GLOBAL,
		   SRXE_FLUSH_RANGE);
	expect_cqe(5, IBV_WC_SUCCESS, SRXE_WC_FLUSH);
	cr_assert_eq(h_state(req_qp), IBV_QPS_RTS);
	cr_assert_eq(h_state(&qb), IBV_QPS_RTS);
}

Test(engine_awf, flush_after_writes_mtt, .init = setup_mtt, .fini = teardown)
{
	flush_after_writes();
}

Test(engine_awf, flush_after_writes_shortcut, .init = setup_shortcut,
     .fini = teardown)
{
	flush_after_writes();
}

static void flush_refused(uint32_t qp_access, unsigned int mr_access,
			  uint64_t delta, uint32_t len, bool forge,
			  uint8_t type, uint8_t level, uint32_t status)
{
	struct h_mr rem;

	rc_pair_access(qp_access, 14);
	h_mr_reg(resp_ctx, &rem, 4096, mr_access);
	post_flush(1, rem.va + delta, forge ? rem.rkey ^ 0x3c3c00 : rem.rkey,
		   len, type, level);
	expect_cqe(1, status, 0);
	cr_assert_eq(h_state(req_qp), IBV_QPS_ERR);
	cr_assert_eq(h_state(&qb), IBV_QPS_ERR);
}

static void flush_refusals(int which)
{
	const uint8_t G = SRXE_FLUSH_GLOBAL, R = SRXE_FLUSH_RANGE,
		      M = SRXE_FLUSH_MR;

	switch (which) {
	case 0: /* forged rkey, range and MR level */
		flush_refused(QP_ACCESS, FLUSH_MR, 0, 64, true, G, R,
			      IBV_WC_REM_ACCESS_ERR);
		break;
	case 1:
		flush_refused(QP_ACCESS, FLUSH_MR, 0, 0, true, G, M,
			      IBV_WC_REM_ACCESS_ERR);
		break;
	case 2: /* the MR does not grant FLUSH_GLOBAL (REMOTE_WRITE is not
		 * enough, as in rxe) */
		flush_refused(QP_ACCESS, RW_MR | IBV_ACCESS_REMOTE_READ, 0, 64,
			      false, G, M, IBV_WC_REM_ACCESS_ERR);
		break;
	case 3: /* range beyond the MR */
		flush_refused(QP_ACCESS, FLUSH_MR, 4000, 200, false, G, R,
			      IBV_WC_REM_ACCESS_ERR);
		break;
	case 4: /* the QP does not allow FLUSH: invalid request, as rxe */
		flush_refused(QP_ACCESS & ~SRXE_ACCESS_FLUSH_GLOBAL, FLUSH_MR,
			      0, 64, false, G, R, IBV_WC_REM_INV_REQ_ERR);
		break;
	case 5: /* persistence: the QP allows it, no MR can grant it */
		flush_refused(QP_ACCESS | SRXE_ACCESS_FLUSH_PERSISTENT,
			      FLUSH_MR, 0, 64, false, SRXE_FLUSH_PERSISTENT, R,
			      IBV_WC_REM_ACCESS_ERR);
		break;
	case 6: /* ... and without the QP right: invalid request */
		flush_refused(QP_ACCESS, FLUSH_MR, 0, 64, false,
			      SRXE_FLUSH_PERSISTENT | G, R,
			      IBV_WC_REM_INV_REQ_ERR);
		break;
	case 7: /* no placement type at all */
		flush_refused(QP_ACCESS, FLUSH_MR, 0, 64, false, 0, R,
			      IBV_WC_REM_INV_REQ_ERR);
		break;
	default: /* reserved selectivity level */
		flush_refused(QP_ACCESS, FLUSH_MR, 0, 64, false, G, 2,
			      IBV_WC_REM_INV_REQ_ERR);
		break;
	}
}

#define FLUSH_REFUSAL(mode, n, what)                                           \
	Test(engine_awf, flush_refused_##what##_##mode, .init = setup_##mode,  \
	     .fini = teardown)                                                 \
	{                                                                      \
		flush_refusals(n);                                             \
	}
#define FLUSH_REFUSALS(mode)                                                   \
	FLUSH_REFUSAL(mode, 0, forged_rkey_range)                              \
	FLUSH_REFUSAL(mode, 1, forged_rkey_mr)                                 \
	FLUSH_REFUSAL(mode, 2, mr_without_flush)                               \
	FLUSH_REFUSAL(mode, 3, out_of_bounds)                                  \
	FLUSH_REFUSAL(mode, 4, qp_without_flush)                               \
	FLUSH_REFUSAL(mode, 5, persistent_mr)                                  \
	FLUSH_REFUSAL(mode, 6, persistent_qp)                                  \
	FLUSH_REFUSAL(mode, 7, no_type)                                        \
	FLUSH_REFUSAL(mode, 8, bad_level)

FLUSH_REFUSALS(mtt)
FLUSH_REFUSALS(shortcut)

Test(engine_awf, flush_persistent_mr_cannot_be_registered, .init = setup_mtt,
     .fini = teardown)
{
	struct srxe_mr_keys keys;
	int ret;

	srxe_engine_lock(h_eng);
	ret = srxe_mem_reg(
		B.mem, H_PD, 0x7f0000100000ull, 4096, 0x7f0000100000ull,
		IBV_ACCESS_LOCAL_WRITE | SRXE_ACCESS_FLUSH_PERSISTENT, &keys,
		NULL);
	srxe_engine_unlock(h_eng);
	cr_assert_eq(ret, -EINVAL);
}

/* ---- duplicates: answered again, never executed again ---- */

static int drop_nth_zero_resp; /* 1-based, among zero-length READ resps */
static int zero_resp_seen, zero_resp_dropped;

static enum srxe_fault_action drop_zero_resp(void *opaque,
					     const struct srxe_fault_info *p)
{
	(void)opaque;
	if (p->opcode != SRXE_OP_RC_READ_RESPONSE_ONLY || p->payload_len)
		return SRXE_FAULT_PASS;
	if (++zero_resp_seen != drop_nth_zero_resp)
		return SRXE_FAULT_PASS;
	zero_resp_dropped++;
	return SRXE_FAULT_DROP;
}

/*
 * ATOMIC WRITE of X, then a WRITE of Y over the same word, and the
 * ATOMIC WRITE's response is lost: the requester goes back and sends
 * both again.  A responder that executed the duplicate ATOMIC WRITE
 * would leave X; the right answer is Y (and one completion each).
 */
static void duplicate_atomic_write_not_reexecuted(void)
{
	struct h_mr rem, loc;
	uint64_t off, x = 0x58585858, y = 0x59595959, got;
	struct srxe_eng_stats st;

	rc_pair_access(QP_ACCESS, 8); /* ~1 ms ACK timeout */
	h_mr_reg(resp_ctx, &rem, 64, RW_MR);
	h_mr_reg(req_ctx, &loc, 64, IBV_ACCESS_LOCAL_WRITE);
	off = aligned_off(&rem);
	memcpy(loc.p, &y, 8);
	zero_resp_seen = zero_resp_dropped = 0;
	drop_nth_zero_resp = 1;
	cr_assert_eq(srxe_engine_set_fault(h_eng, drop_zero_resp, NULL), 0);
	post_atomic_write(1, rem.va + off, rem.rkey, x);
	post_write(2, &loc, rem.va + off, rem.rkey, 8);
	expect_cqe(1, IBV_WC_SUCCESS, SRXE_WC_ATOMIC_WRITE);
	expect_cqe(2, IBV_WC_SUCCESS, IBV_WC_RDMA_WRITE);
	memcpy(&got, rem.p + off, 8);
	cr_assert_eq(got, y, "duplicate ATOMIC WRITE executed again: 0x%llx",
		     (unsigned long long)got);
	cr_assert_eq(zero_resp_dropped, 1);
	cr_assert_geq(zero_resp_seen, 2, "the response was replayed");
	srxe_engine_stats(h_eng, &st);
	cr_assert_geq(st.dup_requests, 1);
}

Test(engine_awf, duplicate_atomic_write_not_reexecuted_mtt, .init = setup_mtt,
     .fini = teardown)
{
	duplicate_atomic_write_not_reexecuted();
}

Test(engine_awf, duplicate_atomic_write_not_reexecuted_shortcut,
     .init = setup_shortcut, .fini = teardown)
{
	duplicate_atomic_write_not_reexecuted();
}

/* The same for a FETCH ADD whose atomic ACK is lost behind a WRITE: the
 * ACK of the WRITE must not count as the atomic's answer. */
static int drop_nth_atomic_ack, atomic_ack_seen;

static enum srxe_fault_action drop_atomic_ack(void *opaque,
					      const struct srxe_fault_info *p)
{
	(void)opaque;
	if (p->opcode == SRXE_OP_RC_ATOMIC_ACKNOWLEDGE &&
	    ++atomic_ack_seen == drop_nth_atomic_ack)
		return SRXE_FAULT_DROP;
	return SRXE_FAULT_PASS;
}

Test(engine_awf, lost_atomic_ack_behind_a_write, .init = setup_mtt,
     .fini = teardown)
{
	struct h_mr rem, loc, res;
	struct srxe_send_wqe *w;
	uint64_t off, got;

	rc_pair_access(QP_ACCESS, 8);
	h_mr_reg(resp_ctx, &rem, 64, H_ALL_ACCESS);
	h_mr_reg(req_ctx, &loc, 64, IBV_ACCESS_LOCAL_WRITE);
	h_mr_reg(req_ctx, &res, 64, IBV_ACCESS_LOCAL_WRITE);
	off = aligned_off(&rem);
	memset(rem.p, 0, 64);
	h_fill(loc.p, 64, 3);
	atomic_ack_seen = 0;
	drop_nth_atomic_ack = 1;
	cr_assert_eq(srxe_engine_set_fault(h_eng, drop_atomic_ack, NULL), 0);
	w = h_send_slot(req_qp);
	w->wr_id = 1;
	w->opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
	w->atomic.remote_addr = rem.va + off;
	w->atomic.rkey = rem.rkey;
	w->atomic.compare_add = 5;
	h_sge(w, &res, 0, 8);
	h_send_publish(req_qp);
	post_write(2, &loc, rem.va + off + 8, rem.rkey, 16);
	expect_cqe(1, IBV_WC_SUCCESS, IBV_WC_FETCH_ADD);
	expect_cqe(2, IBV_WC_SUCCESS, IBV_WC_RDMA_WRITE);
	memcpy(&got, rem.p + off, 8);
	cr_assert_eq(got, 5, "added once");
	memcpy(&got, res.p, 8);
	cr_assert_eq(got, 0, "original value from the replay");
}

/* A lost FLUSH response: the FLUSH is answered again from the cache. */
Test(engine_awf, lost_flush_response_is_replayed, .init = setup_shortcut,
     .fini = teardown)
{
	struct h_mr rem;
	struct srxe_eng_stats st;

	rc_pair_access(QP_ACCESS, 8);
	h_mr_reg(resp_ctx, &rem, 4096, FLUSH_MR);
	zero_resp_seen = zero_resp_dropped = 0;
	drop_nth_zero_resp = 1;
	cr_assert_eq(srxe_engine_set_fault(h_eng, drop_zero_resp, NULL), 0);
	post_flush(1, rem.va, rem.rkey, 4096, SRXE_FLUSH_GLOBAL,
		   SRXE_FLUSH_RANGE);
	expect_cqe(1, IBV_WC_SUCCESS, SRXE_WC_FLUSH);
	cr_assert_eq(zero_resp_dropped, 1);
	srxe_engine_stats(h_eng, &st);
	cr_assert_geq(st.dup_requests, 1);
	cr_assert_geq(st.ack_timeouts, 1);
}

/* UC QPs have neither operation: a local error, nothing sent. */
Test(engine_awf, uc_refuses_both_locally, .init = setup_mtt, .fini = teardown)
{
	struct h_conn_opts o = { .access = QP_ACCESS, .psn = 1 };
	struct h_mr rem;

	h_qp_create(&A, &qa, IBV_QPT_UC, &acq, &acq);
	h_qp_create(&B, &qb, IBV_QPT_UC, &bcq, &bcq);
	h_connect(&qa, &qb, &o);
	h_mr_reg(&B, &rem, 64, RW_MR);
	post_atomic_write(1, rem.va & ~7ull, rem.rkey, 1);
	expect_cqe(1, IBV_WC_LOC_QP_OP_ERR, 0);
}
