// SPDX-License-Identifier: MIT
/*
 * The empty-poll back-off of the provider's CQs (srxe_backoff.h): a
 * poller yields while its engine runs or sleeps, and naps only while the
 * engine is awake but begins no pass (it waits for a CPU); after
 * SRXE_BACKOFF_QUIET_NS in which no CQ of the process delivered, while
 * the engine finds no CPU to spare, it says QUIET (the CQ decides).
 */
#include <criterion/criterion.h>
#include <stddef.h>
#include <string.h>

#include "srxe_backoff.h"

static uint64_t fake_ns;

static uint64_t fake_clock(void)
{
	return fake_ns;
}

static struct srxe_ctx_page page;
static struct srxe_backoff_state st;

static void setup(void)
{
	memset(&page, 0, sizeof(page));
	memset(&st, 0, sizeof(st));
	fake_ns = 1000000;
}

/* SRXE_BACKOFF_POLLS empty polls; returns what the last one said (the
 * ones before it must all say SPIN). */
static enum srxe_backoff empty_polls(void)
{
	for (int i = 1; i < SRXE_BACKOFF_POLLS; i++)
		cr_assert_eq(srxe_backoff_step(&st, &page, fake_clock),
			     SRXE_BACKOFF_SPIN);
	return srxe_backoff_step(&st, &page, fake_clock);
}

TestSuite(backoff, .init = setup);

Test(backoff, page_layout_keeps_the_pass_count_on_its_own_line)
{
	cr_assert_eq(offsetof(struct srxe_ctx_page, engine_passes), 64);
	cr_assert_eq(offsetof(struct srxe_ctx_page, cpu_busy), 68);
	cr_assert_eq(sizeof(struct srxe_ctx_page), 128);
}

Test(backoff, yields_while_the_engine_moves_on)
{
	for (int round = 0; round < 10; round++) {
		cr_assert_eq(empty_polls(), SRXE_BACKOFF_YIELD);
		page.engine_passes++;
		fake_ns += 10 * SRXE_BACKOFF_STALL_NS;
	}
}

Test(backoff, naps_while_an_awake_engine_begins_no_pass)
{
	cr_assert_eq(empty_polls(), SRXE_BACKOFF_YIELD);
	fake_ns += SRXE_BACKOFF_STALL_NS - 1;
	cr_assert_eq(empty_polls(), SRXE_BACKOFF_YIELD);
	fake_ns += 1;
	cr_assert_eq(empty_polls(), SRXE_BACKOFF_NAP);
	fake_ns += SRXE_BACKOFF_NAP_NS;
	cr_assert_eq(empty_polls(), SRXE_BACKOFF_NAP, "still stalled");
	page.engine_passes++;
	cr_assert_eq(empty_polls(), SRXE_BACKOFF_YIELD, "it ran again");
}

Test(backoff, never_naps_while_the_engine_sleeps)
{
	/* A sleeping engine begins no pass either, but a post's doorbell
	 * wakes it: the poller waits for the peer, not for a CPU. */
	page.engine_sleeping = 1;
	for (int round = 0; round < 10; round++) {
		cr_assert_eq(empty_polls(), SRXE_BACKOFF_YIELD);
		fake_ns += 10 * SRXE_BACKOFF_STALL_NS;
	}
	page.engine_sleeping = 0;
	cr_assert_eq(empty_polls(), SRXE_BACKOFF_YIELD,
		     "the stall counts from when it woke");
}

Test(backoff, a_completion_starts_the_count_again)
{
	cr_assert_eq(empty_polls(), SRXE_BACKOFF_YIELD);
	fake_ns += 2 * SRXE_BACKOFF_STALL_NS;
	cr_assert_eq(empty_polls(), SRXE_BACKOFF_NAP);
	srxe_backoff_reset(&st);
	cr_assert_eq(empty_polls(), SRXE_BACKOFF_YIELD);
}

/* @ns later, with the engine running (a pass began meanwhile). */
static enum srxe_backoff empty_polls_after(uint64_t ns)
{
	fake_ns += ns;
	page.engine_passes++;
	return empty_polls();
}

Test(backoff, quiet_once_nothing_came_while_no_cpu_is_spare)
{
	page.cpu_busy = 1;
	cr_assert_eq(empty_polls(), SRXE_BACKOFF_YIELD, "the quiet begins");
	cr_assert_eq(empty_polls_after(SRXE_BACKOFF_QUIET_NS - 1),
		     SRXE_BACKOFF_YIELD);
	cr_assert_eq(empty_polls_after(1), SRXE_BACKOFF_QUIET);
	cr_assert_eq(empty_polls_after(SRXE_BACKOFF_NAP_NS), SRXE_BACKOFF_QUIET,
		     "still quiet");
	page.cpu_busy = 0;
	cr_assert_eq(empty_polls_after(SRXE_BACKOFF_NAP_NS), SRXE_BACKOFF_YIELD,
		     "a CPU is spare again");
}

Test(backoff, never_quiet_while_a_cpu_is_spare)
{
	for (int round = 0; round < 10; round++)
		cr_assert_eq(empty_polls_after(SRXE_BACKOFF_QUIET_NS),
			     SRXE_BACKOFF_YIELD);
}

Test(backoff, a_completion_ends_the_quiet)
{
	page.cpu_busy = 1;
	cr_assert_eq(empty_polls(), SRXE_BACKOFF_YIELD);
	cr_assert_eq(empty_polls_after(SRXE_BACKOFF_QUIET_NS),
		     SRXE_BACKOFF_QUIET);
	srxe_backoff_reset(&st);
	cr_assert_eq(empty_polls_after(SRXE_BACKOFF_NAP_NS), SRXE_BACKOFF_YIELD,
		     "a new quiet begins");
	cr_assert_eq(empty_polls_after(SRXE_BACKOFF_QUIET_NS),
		     SRXE_BACKOFF_QUIET);
}

Test(backoff, not_quiet_while_another_cq_delivers)
{
	/* UCX polls its send and its receive CQ in one loop. */
	struct srxe_backoff_state other = { 0 };

	page.cpu_busy = 1;
	cr_assert_eq(empty_polls(), SRXE_BACKOFF_YIELD);
	for (int round = 0; round < 10; round++) {
		srxe_backoff_step(&other, &page, fake_clock); /* one empty, */
		srxe_backoff_reset(&other);		      /* then one */
		cr_assert_eq(empty_polls_after(SRXE_BACKOFF_QUIET_NS),
			     SRXE_BACKOFF_YIELD);
	}
	cr_assert_eq(empty_polls_after(SRXE_BACKOFF_QUIET_NS),
		     SRXE_BACKOFF_QUIET, "quiet once the other is");
}
