// SPDX-License-Identifier: MIT
/*
 * Issue #14 (2 cores): a program spinning on an empty CQ gives its CPU
 * away while its engine is awake but cannot run (providers/srxe/
 * srxe_backoff.h).  The engine here cannot run because this program
 * stops srxed (SIGSTOP) after it put the engine to work, so the context
 * page says "awake" and its pass count stands still: exactly what a
 * poller sees when the engine waits for the CPU the poller spins on.
 *
 * The test runs srxed with an engine that stays awake (a long spin), so
 * that the page says "awake" all along.
 *
 * usage: idle_poll DEVICE SECONDS [SRXED_PID]
 *   creates a CQ, posts nothing, stops srxed when SRXED_PID is given,
 *   polls the CQ for SECONDS of wall time, continues srxed and prints
 *   "idle_poll: polls P cpu_ms C wall_ms W" (C: this process's CPU time
 *   during the polling).  A poller that only yielded would use the whole
 *   wall time on an otherwise idle CPU; without SRXED_PID (the engine
 *   runs) it must.
 */
#include <inttypes.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

static const char *who = "idle_poll";
static int failures __attribute__((unused));
#include "itest.h"

static uint64_t cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

int main(int argc, char **argv)
{
	struct ibv_context *ctx;
	struct ibv_cq *cq;
	struct ibv_wc wc;
	uint64_t polls = 0, cpu0, t0, end;
	pid_t srxed = 0;

	if (argc != 3 && argc != 4)
		die("usage: idle_poll DEVICE SECONDS [SRXED_PID]");
	if (argc == 4)
		srxed = (pid_t)atoi(argv[3]);
	ctx = itest_open_device(argv[1]);
	cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	if (!cq)
		die("ibv_create_cq: %s", strerror(errno));
	if (srxed && kill(srxed, SIGSTOP))
		die("kill(%d, SIGSTOP): %s", (int)srxed, strerror(errno));
	cpu0 = cpu_ms();
	t0 = now_ms();
	end = t0 + (uint64_t)atoi(argv[2]) * 1000;
	while (now_ms() < end) {
		if (ibv_poll_cq(cq, 1, &wc))
			die("a completion on a CQ nothing uses");
		polls++;
	}
	printf("idle_poll: polls %" PRIu64 " cpu_ms %" PRIu64
	       " wall_ms %" PRIu64 "\n",
	       polls, cpu_ms() - cpu0, now_ms() - t0);
	if (srxed && kill(srxed, SIGCONT))
		die("kill(%d, SIGCONT): %s", (int)srxed, strerror(errno));
	ibv_destroy_cq(cq);
	ibv_close_device(ctx);
	return 0;
}
