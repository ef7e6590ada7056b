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
 *      QUIET  no CQ of the process has delivered anything for
 *             SRXE_BACKOFF_QUIET_NS and the engine says no CPU is spare
 *             (cpu_busy): the caller naps (NAP) if this CQ waits for
 *             srxe's own work, sends posted on one of its QPs and not yet
 *             retired, else yields.  A stream with one signaled WR in 100
 *             (perftest's default) waits milliseconds for each completion
 *             and spun all that time on a CPU the engines needed (1 MiB
 *             ib_write_bw across a veth on 2 cores: +12%).  Not a CQ
 *             that only has receives to wait for, nor any CQ while another
 *             of the process delivers: UCX polls srxe's CQs in every
 *             progress call also while its data moves through shared
 *             memory (a nap there made a 0.3 us tag_lat 110 us).
 *  - A running engine moves engine_passes on every pass (a pass takes
 *    microseconds), and a sleeping one is woken by posts (doorbell): a
 *    ping-pong whose engine runs never naps.  A nap only delays noticing a
 *    completion; poll_cq never blocks longer than one nap, and looks at
 *    the ring again after any wait, so that "empty" is not older than
 *    the wait (srxe_poll_cq).
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
#define SRXE_BACKOFF_QUIET_NS 100000u

enum srxe_backoff {
	SRXE_BACKOFF_SPIN,
	SRXE_BACKOFF_YIELD,
	SRXE_BACKOFF_NAP,
	SRXE_BACKOFF_QUIET,
};

struct srxe_backoff_state {
	uint32_t empty_polls;	 /* consecutive polls that found nothing */
	uint32_t passes_seen;	 /* engine_passes when last read */
	uint64_t passes_seen_ns; /* when it last changed (0: not yet read) */
	uint64_t quiet_since_ns; /* no CQ delivered since (0: not yet read) */
	uint32_t activity_seen;	 /* srxe_backoff_activity then */
};

/*
 * Completions the process's CQs found after an empty poll (a CQ that finds
 * one at every poll does not write it).  Unlocked: a lost increment from
 * two threads still changes the value, which is all a reader asks.
 */
extern uint32_t srxe_backoff_activity;

static inline void srxe_backoff_note_activity(void)
{
	uint32_t v = __atomic_load_n(&srxe_backoff_activity, __ATOMIC_RELAXED);

	__atomic_store_n(&srxe_backoff_activity, v + 1, __ATOMIC_RELAXED);
}

static inline void srxe_backoff_reset(struct srxe_backoff_state *s)
{
	if (s->empty_polls)
		srxe_backoff_note_activity();
	s->empty_polls = 0;
	s->passes_seen_ns = 0;
	s->quiet_since_ns = 0;
}

/* @now_ns: the clock, read only once per SRXE_BACKOFF_POLLS empty polls
 * (srxe_backoff_now_ns; tests pass their own). */
enum srxe_backoff srxe_backoff_step(struct srxe_backoff_state *s,
				    const struct srxe_ctx_page *page,
				    uint64_t (*now_ns)(void));
/* QUIET waits as YIELD: the caller decides first (see above). */
void srxe_backoff_wait(enum srxe_backoff b);

/* CLOCK_MONOTONIC in ns (vDSO: no syscall). */
uint64_t srxe_backoff_now_ns(void);

#endif
