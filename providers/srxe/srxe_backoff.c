// SPDX-License-Identifier: MIT
/*
 * Empty-poll back-off of the CQs (contract in srxe_backoff.h).
 */
#include "srxe_backoff.h"

#include <sched.h>
#include <time.h>

uint32_t srxe_backoff_activity;

uint64_t srxe_backoff_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The engine is awake but began no pass since STALL_NS ago. */
static int engine_stalled(struct srxe_backoff_state *s,
			  const struct srxe_ctx_page *page, uint64_t now_ns)
{
	uint32_t passes;

	if (__atomic_load_n(&page->engine_sleeping, __ATOMIC_RELAXED)) {
		s->passes_seen_ns = 0;
		return 0;
	}
	passes = __atomic_load_n(&page->engine_passes, __ATOMIC_RELAXED);
	if (!s->passes_seen_ns || passes != s->passes_seen) {
		s->passes_seen = passes;
		s->passes_seen_ns = now_ns;
		return 0;
	}
	return now_ns - s->passes_seen_ns >= SRXE_BACKOFF_STALL_NS;
}

/* No CQ of the process delivered for QUIET_NS, and the engine finds no
 * CPU to spare. */
static int quiet_on_busy_cpus(struct srxe_backoff_state *s,
			      const struct srxe_ctx_page *page, uint64_t now_ns)
{
	uint32_t activity =
		__atomic_load_n(&srxe_backoff_activity, __ATOMIC_RELAXED);

	if (!s->quiet_since_ns || activity != s->activity_seen) {
		s->quiet_since_ns = now_ns;
		s->activity_seen = activity;
		return 0;
	}
	return __atomic_load_n(&page->cpu_busy, __ATOMIC_RELAXED) &&
	       now_ns - s->quiet_since_ns >= SRXE_BACKOFF_QUIET_NS;
}

enum srxe_backoff srxe_backoff_step(struct srxe_backoff_state *s,
				    const struct srxe_ctx_page *page,
				    uint64_t (*now_ns)(void))
{
	uint64_t now;

	if (++s->empty_polls % SRXE_BACKOFF_POLLS)
		return SRXE_BACKOFF_SPIN;
	now = now_ns();
	/* Still stalled after a nap: nap again. */
	if (engine_stalled(s, page, now))
		return SRXE_BACKOFF_NAP;
	return quiet_on_busy_cpus(s, page, now) ? SRXE_BACKOFF_QUIET
						: SRXE_BACKOFF_YIELD;
}

void srxe_backoff_wait(enum srxe_backoff b)
{
	const struct timespec nap = { 0, SRXE_BACKOFF_NAP_NS };

	if (b == SRXE_BACKOFF_YIELD || b == SRXE_BACKOFF_QUIET)
		sched_yield();
	else if (b == SRXE_BACKOFF_NAP)
		nanosleep(&nap, NULL);
}
