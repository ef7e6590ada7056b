// SPDX-License-Identifier: MIT
/*
 * CQE timestamps: the engine times a CQE only when the ring header asks
 * (cqe_timestamps), with the clock it reads (CLOCK_MONOTONIC ns), and a
 * resize carries the request into the new ring before any CQE lands
 * there, so no completion of a timed CQ is left without its time.
 */
#include <criterion/criterion.h>

#include "engine_harness.h"
#include "objects/objects.h"
#include "packet/timing.h"

static struct h_ctx A;
static struct h_cq C;

static void setup(void)
{
	h_engine_start(IBV_MTU_1024);
	h_ctx_init(&A, SRXE_MEM_SHORTCUT, 1);
	h_cq_create(&A, &C, 16);
}

static void teardown(void)
{
	const char *why;

	srxe_engine_lock(h_eng);
	srxe_eng_cq_destroy(C.cq, &why);
	srxe_engine_unlock(h_eng);
	h_ctx_fini(&A);
	srxe_engine_stop(h_eng);
}

TestSuite(engine_cq_ts, .init = setup, .fini = teardown);

static void push(uint64_t wr_id)
{
	struct srxe_cqe cqe = { .wr_id = wr_id, .status = IBV_WC_SUCCESS };

	srxe_engine_lock(h_eng);
	cr_assert_eq(srxe_cq_push(C.cq, &cqe, false), 0);
	srxe_engine_unlock(h_eng);
}

static const struct srxe_cqe *cqe_at(struct srxe_ring_hdr *r, uint32_t size,
				     uint32_t i)
{
	return srxe_ring_slot(r, i, size, SRXE_CQE_STRIDE);
}

Test(engine_cq_ts, timed_only_when_asked)
{
	uint64_t t0, t1;

	push(1);
	cr_assert_eq(cqe_at(C.ring, 16, 0)->completion_ns, 0);
	__atomic_store_n(&C.ring->cqe_timestamps, 1u, __ATOMIC_RELEASE);
	t0 = srxe_now_ns();
	push(2);
	t1 = srxe_now_ns();
	cr_assert_geq(cqe_at(C.ring, 16, 1)->completion_ns, t0);
	cr_assert_leq(cqe_at(C.ring, 16, 1)->completion_ns, t1);
}

Test(engine_cq_ts, resize_carries_the_request)
{
	struct srxe_ring_hdr *r64 = h_ring(&A, 64, SRXE_CQE_STRIDE);
	const char *why;
	uint64_t stamp, t0;

	__atomic_store_n(&C.ring->cqe_timestamps, 1u, __ATOMIC_RELEASE);
	push(1);
	stamp = cqe_at(C.ring, 16, 0)->completion_ns;
	srxe_engine_lock(h_eng);
	cr_assert_eq(srxe_eng_cq_resize(C.cq, r64, 64, &why), 0, "%s", why);
	srxe_engine_unlock(h_eng);
	/* the provider has not touched the new ring yet */
	cr_assert_eq(__atomic_load_n(&r64->cqe_timestamps, __ATOMIC_ACQUIRE),
		     1u);
	cr_assert_eq(cqe_at(r64, 64, 0)->completion_ns, stamp);
	t0 = srxe_now_ns();
	push(2);
	cr_assert_geq(cqe_at(r64, 64, 1)->completion_ns, t0);
}
