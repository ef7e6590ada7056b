/* SPDX-License-Identifier: MIT */
/*
 * What a poll of an empty CQ does next (issue #14, latency and 2 cores).
 *
 * Programs spin on poll_cq; the completions come from srxed's engine
 * thread, which needs a CPU too.  On a machine with more busy threads than
 * cores (2 cores: the program, its engine and a peer's engine) a spinning
 * poller keeps a CPU the engine waits for, and sched_yield() gives it away
 * only to a task queued on the same CPU, which the engine often is not.
 *
 * Contract:
 *  - srxe_backoff_step() is called for each empty poll, under the CQ's lock,
 *    with the context's page and a clock; srxe_backoff_reset() for each
 *    poll that found an entry.  It returns what to do after the lock is
 *    dropped, with srxe_backoff_wait():
 *      SPIN   nothing (the next poll follows at once);
 *      YIELD  sched_yield(), once per SRXE_BACKOFF_POLLS empty polls, as
 *             before;
 *      NAP    sleep SRXE_BACKOFF_NAP_NS: the engine is awake
 *             (engine_sleeping 0) but has begun no pass for
 *             SRXE_BACKOFF_STALL_NS although this poller kept looking, so
 *             it waits for a CPU; this CPU goes idle and the scheduler
 *             gives it to a runnable task (the engine, moved here).
 *  - A running engine moves engine_passes on every pass (a pass takes
 *    microseconds), and a sleeping one is woken by posts (doorbell): a
 *    ping-pong whose engine runs never naps.  A nap only delays noticing a
 *    completion; poll_cq never blocks longer than one nap.
 *  - The page is the application's memory: any value in it only changes
 *    how this process waits.
 */
#ifndef SRXE_PROVIDER_BACKOFF_H
#define SRXE_PROVIDER_BACKOFF_H

#include <stdint.h>

#include <srxe/ring.h>

#define SRXE_BACKOFF_POLLS    64
#define SRXE_BACKOFF_STALL_NS 20000u
#define SRXE_BACKOFF_NAP_NS   20000u

enum srxe_backoff {
	SRXE_BACKOFF_SPIN,
	SRXE_BACKOFF_YIELD,
	SRXE_BACKOFF_NAP,
};

struct srxe_backoff_state {
	uint32_t empty_polls;	 /* consecutive polls that found nothing */
	uint32_t passes_seen;	 /* engine_passes when last read */
	uint64_t passes_seen_ns; /* when it last changed (0: not yet read) */
};

static inline void srxe_backoff_reset(struct srxe_backoff_state *s)
{
	s->empty_polls = 0;
	s->passes_seen_ns = 0;
}

/* @now_ns: the clock, read only once per SRXE_BACKOFF_POLLS empty polls
 * (srxe_backoff_now_ns; tests pass their own). */
enum srxe_backoff srxe_backoff_step(struct srxe_backoff_state *s,
				    const struct srxe_ctx_page *page,
				    uint64_t (*now_ns)(void));
void srxe_backoff_wait(enum srxe_backoff b);

/* CLOCK_MONOTONIC in ns (vDSO: no syscall). */
uint64_t srxe_backoff_now_ns(void);

#endif
