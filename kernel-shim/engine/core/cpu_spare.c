// SPDX-License-Identifier: MIT
/*
 * Is a CPU spare for the engine's spin (contract in cpu_spare.h).
 */
#include "cpu_spare.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

unsigned int srxe_cpus_allowed(void)
{
	cpu_set_t set;
	long n = 0;

	if (!sched_getaffinity(0, sizeof(set), &set))
		n = CPU_COUNT(&set);
	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned int)n : 1;
}

void srxe_cpu_spare_open(struct srxe_cpu_spare *s)
{
	*s = (struct srxe_cpu_spare){
		.fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC),
		.ncpus = srxe_cpus_allowed(),
		.spare = true,
	};
}

void srxe_cpu_spare_close(struct srxe_cpu_spare *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int srxe_loadavg_runnable(const char *text, size_t len)
{
	size_t i = 0;
	int fields = 0, n = 0;

	/* Past the three load averages and their spaces. */
	while (i < len && fields < 3)
		if (text[i++] == ' ')
			fields++;
	if (fields < 3 || i >= len || text[i] < '0' || text[i] > '9')
		return -1;
	for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
		if (n > 100000000)
			return -1;
		n = n * 10 + (text[i] - '0');
	}
	return i < len && text[i] == '/' ? n : -1;
}

bool srxe_cpu_spare(struct srxe_cpu_spare *s, uint64_t now_ns)
{
	char buf[128];
	ssize_t got;
	int runnable;

	if (s->fd < 0 ||
	    (s->checked_ns && now_ns - s->checked_ns < SRXE_CPU_SPARE_EVERY_NS))
		return s->spare;
	s->checked_ns = now_ns;
	got = pread(s->fd, buf, sizeof(buf), 0);
	runnable = got > 0 ? srxe_loadavg_runnable(buf, (size_t)got) : -1;
	s->spare = runnable < 0 || (unsigned int)runnable <= s->ncpus;
	return s->spare;
}
