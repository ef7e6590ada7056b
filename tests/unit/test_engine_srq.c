// SPDX-License-Identifier: MIT
/*
 * srxe_eng_srq_resize(): posted receive WQEs move to the new ring's slots
 * 0.. in their order; a resize that cannot hold them, a ring outside the
 * arena or a producer index out of range is refused with nothing changed.
 */
#include <criterion/criterion.h>

#include "engine_harness.h"

#define STRIDE 64u /* one WQE header + up to two SGEs */

static struct h_ctx A;
static struct srxe_eng_srq *srq;
static struct srxe_ring_hdr *ring8;

static void setup(void)
{
	struct srxe_eng_srq_init init = {
		.pd_handle = H_PD,
		.size = 8,
		.stride = STRIDE,
		.max_wr = 8,
		.max_sge = 2,
	};
	const char *why;

	h_engine_start(IBV_MTU_1024);
	h_ctx_init(&A, SRXE_MEM_SHORTCUT, 1);
	ring8 = init.ring = h_ring(&A, 8, STRIDE);
	srxe_engine_lock(h_eng);
	cr_assert_eq(srxe_eng_srq_create(A.ctx, &init, &srq, &why), 0, "%s",
		     why);
	srxe_engine_unlock(h_eng);
}

static void teardown(void)
{
	const char *why;

	srxe_engine_lock(h_eng);
	srxe_eng_srq_destroy(srq, &why);
	srxe_engine_unlock(h_eng);
	h_ctx_fini(&A);
	srxe_engine_stop(h_eng);
}

TestSuite(engine_srq, .init = setup, .fini = teardown);

/* Posts wr_ids [first, first + n) at ring indices from @at on. */
static void post(struct srxe_ring_hdr *r, uint32_t size, uint32_t at,
		 uint64_t first, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct srxe_recv_wqe *w =
			srxe_ring_slot(r, at + i, size, STRIDE);

		memset(w, 0, STRIDE);
		w->wr_id = first + i;
	}
	__atomic_store_n(&r->prod.val, at + n, __ATOMIC_RELEASE);
}

static int resize(struct srxe_ring_hdr *r, uint32_t size, uint32_t *moved)
{
	const char *why;
	int ret;

	srxe_engine_lock(h_eng);
	ret = srxe_eng_srq_resize(srq, r, size, moved, &why);
	srxe_engine_unlock(h_eng);
	return ret;
}

static uint64_t wr_id_at(struct srxe_ring_hdr *r, uint32_t size, uint32_t i)
{
	return ((struct srxe_recv_wqe *)srxe_ring_slot(r, i, size, STRIDE))
		->wr_id;
}

Test(engine_srq, posted_receives_move_in_order)
{
	struct srxe_ring_hdr *r16 = h_ring(&A, 16, STRIDE);
	struct srxe_query_srq_resp q;
	uint32_t moved = 99;

	post(ring8, 8, 0, 100, 5);
	cr_assert_eq(resize(r16, 16, &moved), 0);
	cr_assert_eq(moved, 5);
	for (uint32_t i = 0; i < 5; i++)
		cr_assert_eq(wr_id_at(r16, 16, i), 100 + i);
	cr_assert_eq(__atomic_load_n(&r16->prod.val, __ATOMIC_ACQUIRE), 5);
	cr_assert_eq(__atomic_load_n(&r16->cons.val, __ATOMIC_ACQUIRE), 0);
	srxe_engine_lock(h_eng);
	srxe_eng_srq_query(srq, &q);
	srxe_engine_unlock(h_eng);
	cr_assert_eq(q.max_wr, 16);
}

Test(engine_srq, refuses_what_does_not_fit_and_changes_nothing)
{
	struct srxe_ring_hdr *r4 = h_ring(&A, 4, STRIDE);
	struct srxe_ring_hdr *r32 = h_ring(&A, 32, STRIDE);
	uint32_t moved = 0;

	post(ring8, 8, 0, 7, 6);
	cr_assert_eq(resize(r4, 4, &moved), -EINVAL, "6 posted into 4");
	cr_assert_eq(resize(r32, 3, &moved), -EINVAL, "not a power of two");
	cr_assert_eq(
		resize((void *)((uint8_t *)A.arena + H_ARENA - 64), 32, &moved),
		-EINVAL, "ring past the arena's end");
	/* still the old ring, whole: the next resize moves all six */
	cr_assert_eq(resize(r32, 32, &moved), 0);
	cr_assert_eq(moved, 6);
	cr_assert_eq(wr_id_at(r32, 32, 5), 12);
}

Test(engine_srq, refuses_a_garbage_producer_index)
{
	struct srxe_ring_hdr *r16 = h_ring(&A, 16, STRIDE);
	uint32_t moved = 0;

	/* the application's memory: any value can be there */
	__atomic_store_n(&ring8->prod.val, 1000u, __ATOMIC_RELEASE);
	cr_assert_eq(resize(r16, 16, &moved), -EINVAL);
	post(ring8, 8, 0, 1, 2);
	cr_assert_eq(resize(r16, 16, &moved), 0);
	cr_assert_eq(moved, 2);
}
