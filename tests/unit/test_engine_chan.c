// SPDX-License-Identifier: MIT
/*
 * Completion-channel delivery in the engine (issue #6): an armed CQ writes
 * one struct ib_uverbs_comp_event_desc with its user handle to the
 * channel's pipe on the next CQE and disarms; next-solicited arming fires
 * on a solicited or an error completion only; a full or reader-less pipe
 * never blocks the engine.
 */
#include <errno.h>
#include <fcntl.h>
#include <rdma/ib_user_verbs.h>
#include <signal.h>

#include "engine_harness.h"
#include "engine/objects/objects.h"

#define HANDLE 0x1234567890abcdefull

static struct h_ctx A;
static struct h_cq C;
static int pfd[2];

static void setup(void)
{
	h_engine_start(IBV_MTU_1024);
	h_ctx_init(&A, SRXE_MEM_SHORTCUT, 1);
	h_cq_create(&A, &C, 1024);
	C.cq->user_handle = HANDLE;
	cr_assert_eq(pipe2(pfd, O_CLOEXEC | O_NONBLOCK), 0);
	srxe_engine_lock(h_eng);
	srxe_eng_cq_set_event_fd(C.cq, pfd[1]);
	srxe_engine_unlock(h_eng);
}

static void teardown(void)
{
	const char *why;

	srxe_engine_lock(h_eng);
	srxe_eng_cq_destroy(C.cq, &why);
	srxe_engine_unlock(h_eng);
	close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	h_ctx_fini(&A);
	srxe_engine_stop(h_eng);
}

static void arm(bool solicited_only)
{
	__atomic_store_n(&C.ring->arm_solicited, solicited_only ? 1u : 0u,
			 __ATOMIC_RELAXED);
	__atomic_fetch_add(&C.ring->arm_seq, 1, __ATOMIC_RELEASE);
}

static int push(uint32_t status, bool solicited)
{
	struct srxe_cqe cqe = { .status = status };
	int ret;

	srxe_engine_lock(h_eng);
	ret = srxe_cq_push(C.cq, &cqe, solicited);
	srxe_engine_unlock(h_eng);
	/* The consumer takes it right away: the ring never fills here. */
	__atomic_store_n(&C.ring->cons.val,
			 __atomic_load_n(&C.ring->prod.val, __ATOMIC_ACQUIRE),
			 __ATOMIC_RELEASE);
	return ret;
}

/* Events waiting in the pipe, each checked to carry HANDLE. */
static int events(void)
{
	struct ib_uverbs_comp_event_desc ev;
	int n = 0;

	while (read(pfd[0], &ev, sizeof(ev)) == sizeof(ev)) {
		cr_expect_eq(ev.cq_handle, HANDLE);
		n++;
	}
	return n;
}

Test(engine_chan, armed_cq_writes_one_event_then_disarms, .init = setup,
     .fini = teardown)
{
	cr_assert_eq(push(IBV_WC_SUCCESS, false), 0);
	cr_expect_eq(events(), 0, "unarmed CQ raised an event");
	arm(false);
	push(IBV_WC_SUCCESS, false);
	push(IBV_WC_SUCCESS, false);
	cr_expect_eq(events(), 1, "one arm, one event");
	arm(false);
	push(IBV_WC_SUCCESS, true);
	cr_expect_eq(events(), 1);
}

Test(engine_chan, next_solicited_fires_on_solicited_or_error, .init = setup,
     .fini = teardown)
{
	arm(true);
	push(IBV_WC_SUCCESS, false);
	cr_expect_eq(events(), 0, "unsolicited success woke next-solicited");
	push(IBV_WC_SUCCESS, true);
	cr_expect_eq(events(), 1, "solicited completion did not wake");
	arm(true);
	push(IBV_WC_SUCCESS, false);
	push(IBV_WC_REM_ACCESS_ERR, false);
	cr_expect_eq(events(), 1, "error completion did not wake");
}

Test(engine_chan, full_or_closed_pipe_never_blocks, .init = setup,
     .fini = teardown)
{
	int n = 0;

	/* Fill the pipe: the engine's writes must fail, not wait. */
	while (write(pfd[1], "xxxxxxxx", 8) == 8)
		n++;
	cr_assert_eq(errno, EAGAIN);
	arm(false);
	cr_expect_eq(push(IBV_WC_SUCCESS, false), 0);
	/* No reader at all: EPIPE (SIGPIPE ignored as srxed does). */
	signal(SIGPIPE, SIG_IGN);
	close(pfd[0]);
	pfd[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	arm(false);
	cr_expect_eq(push(IBV_WC_SUCCESS, false), 0);
	cr_expect_gt(n, 0);
}

Test(engine_chan, no_channel_no_write, .init = setup, .fini = teardown)
{
	srxe_engine_lock(h_eng);
	srxe_eng_cq_set_event_fd(C.cq, -1);
	srxe_engine_unlock(h_eng);
	arm(false);
	push(IBV_WC_SUCCESS, false);
	cr_expect_eq(events(), 0);
}
