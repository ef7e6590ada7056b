/* SPDX-License-Identifier: MIT */
/*
 * Whether an engine thread with nothing to do may keep polling long (its
 * 200 us spin, engine.c): only while the machine runs no more tasks than
 * srxed may use CPUs; else it polls briefly (cfg busy_spin_us).  On 2
 * cores a ping-pong has three busy tasks, the two programs spinning on
 * their buffers and the engine; an engine that polls there holds the CPU
 * of the program that waits for what it just delivered, and a
 * sched_yield() does not always give it back (likely EEVDF running the
 * yielding task again while the other is not yet eligible): a message
 * then took ~105 us instead of ~5-10 us.  With a CPU to spare the poll
 * costs nobody anything and saves the wake-up.
 *
 * Contract:
 *  - srxe_cpu_spare_open() counts the CPUs of the calling thread
 *    (srxe_cpus_allowed) and opens /proc/loadavg; srxe_cpu_spare_close()
 *    closes it.
 *  - srxe_cpu_spare() reads the runnable-task count of /proc/loadavg (the
 *    caller counted, as it runs) at most once per SRXE_CPU_SPARE_EVERY_NS
 *    of @now_ns and answers whether it is at most the CPU count; it
 *    answers true when the file cannot be read (no /proc: as before).
 *  - srxe_loadavg_runnable() parses that count from the file's text
 *    ("0.52 0.31 0.20 3/250 1234"): the 3, or -1.
 */
#ifndef SRXE_ENGINE_CPU_SPARE_H
#define SRXE_ENGINE_CPU_SPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRXE_CPU_SPARE_EVERY_NS 1000000u

struct srxe_cpu_spare {
	int fd;		     /* /proc/loadavg, -1: none */
	unsigned int ncpus;  /* CPUs this thread may run on */
	uint64_t checked_ns; /* when last read, 0: never */
	bool spare;	     /* the last answer */
};

/* CPUs the calling thread may run on (its affinity), else the online
 * CPUs; at least 1.  srxed's default engine thread count uses it too. */
unsigned int srxe_cpus_allowed(void);

void srxe_cpu_spare_open(struct srxe_cpu_spare *s);
void srxe_cpu_spare_close(struct srxe_cpu_spare *s);
bool srxe_cpu_spare(struct srxe_cpu_spare *s, uint64_t now_ns);
int srxe_loadavg_runnable(const char *text, size_t len);

#endif
