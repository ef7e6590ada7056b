// SPDX-License-Identifier: MIT
/*
 * The engine's spin keeps a CPU only while one is spare (core/cpu_spare.h):
 * the runnable count parsed from /proc/loadavg's text, the answer against
 * the thread's CPU count, read at most once per interval, and a missing
 * file that leaves the spin as it was.
 */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/core/cpu_spare.h"

static int runnable(const char *text)
{
	return srxe_loadavg_runnable(text, strlen(text));
}

Test(cpu_spare, runnable_count_is_parsed_from_loadavg)
{
	cr_assert_eq(runnable("0.52 0.31 0.20 3/250 1234\n"), 3);
	cr_assert_eq(runnable("12.00 9.44 1.03 17/912 77"), 17);
	cr_assert_eq(runnable("0.00 0.00 0.00 1/1 1"), 1);
}

Test(cpu_spare, malformed_text_is_refused)
{
	const char *bad[] = { "",
			      "0.52 0.31",
			      "0.52 0.31 0.20",
			      "0.52 0.31 0.20 ",
			      "0.52 0.31 0.20 x/250 1",
			      "0.52 0.31 0.20 3 250",
			      "0.52 0.31 0.20 3",
			      "0.52 0.31 0.20 99999999999999/5 1" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(runnable(bad[i]), -1, "\"%s\"", bad[i]);
	/* The length bounds the parse, not a terminating zero. */
	cr_assert_eq(srxe_loadavg_runnable("0.5 0.3 0.2 3/250", 13), -1);
}

/* A file standing in for /proc/loadavg with @text. */
static void put(int fd, const char *text)
{
	cr_assert_eq(ftruncate(fd, 0), 0);
	cr_assert_eq(pwrite(fd, text, strlen(text), 0), (ssize_t)strlen(text));
}

Test(cpu_spare, spare_while_runnable_tasks_fit_the_cpus_read_once_per_interval)
{
	char path[] = "/tmp/srxe-loadavg-XXXXXX";
	int fd = mkstemp(path);
	struct srxe_cpu_spare s = { .fd = fd, .ncpus = 2, .spare = true };
	const uint64_t t0 = 5000000000ull, step = SRXE_CPU_SPARE_EVERY_NS;

	cr_assert_geq(fd, 0);
	unlink(path);
	put(fd, "2.00 1.00 0.50 3/200 999\n");
	cr_assert_not(srxe_cpu_spare(&s, t0), "3 runnable on 2 CPUs");
	put(fd, "2.00 1.00 0.50 2/200 999\n");
	cr_assert_not(srxe_cpu_spare(&s, t0 + step - 1), "not read again yet");
	cr_assert(srxe_cpu_spare(&s, t0 + step), "2 runnable on 2 CPUs");
	put(fd, "garbage\n");
	cr_assert(srxe_cpu_spare(&s, t0 + 2 * step), "unreadable: spin");
	srxe_cpu_spare_close(&s);
	cr_assert_eq(s.fd, -1);
	cr_assert(srxe_cpu_spare(&s, t0 + 3 * step), "no file: spin");
}

Test(cpu_spare, open_counts_the_threads_cpus)
{
	struct srxe_cpu_spare s;

	srxe_cpu_spare_open(&s);
	cr_assert_geq(s.fd, 0, "/proc/loadavg");
	cr_assert_geq(s.ncpus, 1);
	cr_assert_leq(s.ncpus, (unsigned int)sysconf(_SC_NPROCESSORS_CONF));
	cr_assert(s.spare);
	srxe_cpu_spare_close(&s);
}

Test(cpu_spare, cpus_allowed_follow_the_threads_affinity)
{
	cpu_set_t one;
	struct srxe_cpu_spare s;
	int cpu = sched_getcpu();

	cr_assert_geq(cpu, 0);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	/* Criterion runs each test in its own process: nothing to restore. */
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	cr_assert_eq(srxe_cpus_allowed(), 1);
	srxe_cpu_spare_open(&s);
	cr_assert_eq(s.ncpus, 1);
	srxe_cpu_spare_close(&s);
}
