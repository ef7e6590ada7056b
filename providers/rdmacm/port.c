// SPDX-License-Identifier: MIT
/*
 * Port reservations, host-wide within a network namespace: an id owning
 * port P of port space S holds a bound abstract AF_UNIX socket named
 * "\0srxe-rdmacm/S/P".  The kernel refuses a second bind of the name
 * (EADDRINUSE for every process of the namespace) and frees it when the
 * socket is closed or its process dies, so no table has to be shared or
 * cleaned up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "rdmacm_int.h"

#define PROT_SOCK 1024

/* CAP_NET_BIND_SERVICE (10) in the effective set, as the kernel's
 * rdma_cm checks for ports below 1024. */
static bool may_bind_low(void)
{
	unsigned long long caps = 0;
	char line[128];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/status", "re");
	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			found = true;
			break;
		}
	fclose(f);
	if (!found)
		return geteuid() == 0;
	return caps & (1ull << 10);
}

static void local_port_range(int *lo, int *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

	*lo = 32768;
	*hi = 60999;
	if (f) {
		if (fscanf(f, "%d %d", lo, hi) != 2 || *lo < 1 || *hi > 65535 ||
		    *lo > *hi) {
			*lo = 32768;
			*hi = 60999;
		}
		fclose(f);
	}
}

/* 0 with *fd holding the name, or a positive errno. */
static int try_port(int ps, uint16_t port, int *fd)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int s, n;

	n = snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1,
		     "srxe-rdmacm/%d/%u", ps, port);
	len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return errno;
	if (bind(s, (struct sockaddr *)&sun, len)) {
		int err = errno;

		close(s);
		return err;
	}
	*fd = s;
	return 0;
}

/* Where the ephemeral search starts: differs per process and per call so
 * that concurrent processes rarely collide. */
static unsigned ephemeral_seed(void)
{
	static unsigned calls;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned)getpid() * 2654435761u ^ (unsigned)ts.tv_nsec ^
	       __atomic_add_fetch(&calls, 7919, __ATOMIC_RELAXED);
}

int rcm_port_reserve(int ps, uint16_t *port, bool reuse, int *fd)
{
	int lo, hi, range, start, i, ret;

	*fd = -1;
	if (*port) {
		if (*port < PROT_SOCK && !may_bind_low())
			return EACCES;
		ret = try_port(ps, *port, fd);
		/* REUSEADDR: an id that only connects may share the port; a
		 * listen reserves it again (rdma_listen) and fails there. */
		if (ret == EADDRINUSE && reuse)
			return 0;
		return ret;
	}
	local_port_range(&lo, &hi);
	range = hi - lo + 1;
	start = (int)(ephemeral_seed() % (unsigned)range);
	for (i = 0; i < range; i++) {
		uint16_t p = lo + (start + i) % range;

		ret = try_port(ps, p, fd);
		if (!ret) {
			*port = p;
			return 0;
		}
		if (ret != EADDRINUSE)
			return ret;
	}
	return EADDRNOTAVAIL;
}
