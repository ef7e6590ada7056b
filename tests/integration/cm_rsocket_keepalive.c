// SPDX-License-Identifier: MIT
/*
 * SO_KEEPALIVE on stream rsockets, run under `srxe exec` on two hosts:
 *
 *   cm_rsocket_keepalive server ADDR PORT
 *   cm_rsocket_keepalive client ADDR PORT keepalive|none WAIT_S CUT_CMD
 *
 * The server accepts one connection and then sits on it.  The client
 * checks the options (TCP_KEEPIDLE reads tcp_keepalive_time before it is
 * set, 0 is EINVAL), sets SO_KEEPALIVE and TCP_KEEPIDLE 1 before it
 * connects (mode keepalive) or neither (none), connects, runs CUT_CMD
 * (which makes the server's host unreachable without a disconnect), and
 * then waits in rpoll(POLLIN) for up to WAIT_S seconds:
 *  - keepalive: the socket must report POLLERR|POLLHUP in time, and rrecv
 *    fail with ETIMEDOUT (the keepalive's retries ran out);
 *  - none: nothing may happen (an idle connection sends nothing).
 * Prints one line with what it saw; exits 0 when that is what the mode
 * expects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rdma/rsocket.h>

static int fail(const char *what)
{
	fprintf(stderr, "FAIL: %s: %s\n", what, strerror(errno));
	return 1;
}

static struct sockaddr_in addr_of(const char *ip, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)atoi(port)) };

	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		fprintf(stderr, "FAIL: bad address %s\n", ip);
		exit(2);
	}
	return sa;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int server(struct sockaddr_in sa)
{
	int one = 1, ls = rsocket(AF_INET, SOCK_STREAM, 0), fd;
	char b;

	if (ls < 0 ||
	    rsetsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    rbind(ls, (struct sockaddr *)&sa, sizeof(sa)) || rlisten(ls, 1))
		return fail("listen");
	fd = raccept(ls, NULL, NULL);
	if (fd < 0)
		return fail("raccept");
	printf("accepted\n");
	fflush(stdout);
	/* until the test stops it */
	while (rrecv(fd, &b, 1, 0) > 0)
		;
	return 0;
}

static int int_opt(int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);

	return rgetsockopt(fd, level, name, &v, &len) ? -1 : v;
}

/* TCP_KEEPIDLE before it is set, and its range; 0 or 1 (reported). */
static int check_defaults(int fd)
{
	int zero = 0, dflt = 7200;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_keepalive_time", "re");

	if (f) {
		if (fscanf(f, "%d", &dflt) != 1)
			dflt = 7200;
		fclose(f);
	}
	if (int_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE) != dflt) {
		fprintf(stderr, "FAIL: TCP_KEEPIDLE reads %d, not %d\n",
			int_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE), dflt);
		return 1;
	}
	errno = 0;
	if (!rsetsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &zero, sizeof(zero)) ||
	    errno != EINVAL) {
		fprintf(stderr, "FAIL: TCP_KEEPIDLE 0: errno %d, not EINVAL\n",
			errno);
		return 1;
	}
	return 0;
}

/* SO_KEEPALIVE and TCP_KEEPIDLE 1, read back; 0 or 1 (reported). */
static int set_keepalive(int fd)
{
	int one = 1;

	if (rsetsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) ||
	    rsetsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &one, sizeof(one)))
		return fail("set keepalive");
	if (int_opt(fd, SOL_SOCKET, SO_KEEPALIVE) != 1 ||
	    int_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE) != 1) {
		fprintf(stderr, "FAIL: keepalive options do not read back\n");
		return 1;
	}
	return 0;
}

/* A connected socket (the options set first), or -1. */
static int connect_retry(struct sockaddr_in sa, bool keepalive)
{
	uint64_t end = now_ms() + 20000;
	bool checked = false;

	for (;;) {
		int fd = rsocket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0 || (!checked && check_defaults(fd)) ||
		    (keepalive && set_keepalive(fd)))
			return -1;
		checked = true;
		if (!rconnect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		if (errno != ECONNREFUSED || now_ms() > end)
			return fail("rconnect"), -1;
		/* the server may not listen yet */
		rclose(fd);
		usleep(100000);
	}
}

static int client(struct sockaddr_in sa, bool keepalive, int wait_s,
		  const char *cut)
{
	int fd = connect_retry(sa, keepalive), n, err;
	struct pollfd p;
	uint64_t t0;
	char b;

	if (fd < 0)
		return 1;
	if (system(cut) != 0) {
		fprintf(stderr, "FAIL: '%s' failed\n", cut);
		return 1;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	t0 = now_ms();
	n = rpoll(&p, 1, wait_s * 1000);
	if (n < 0)
		return fail("rpoll");
	if (!keepalive) {
		printf("none: rpoll %d after %llu ms\n", n,
		       (unsigned long long)(now_ms() - t0));
		return n != 0;
	}
	errno = 0;
	n = (int)rrecv(fd, &b, 1, MSG_DONTWAIT);
	err = errno;
	printf("keepalive: revents 0x%x after %llu ms, rrecv %d (%s)\n",
	       p.revents, (unsigned long long)(now_ms() - t0), n,
	       strerror(err));
	rclose(fd);
	return !(p.revents & (POLLERR | POLLHUP)) || n != -1 ||
	       err != ETIMEDOUT;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "server"))
		return server(addr_of(argv[2], argv[3]));
	if (argc == 7 && !strcmp(argv[1], "client"))
		return client(addr_of(argv[2], argv[3]),
			      !strcmp(argv[4], "keepalive"), atoi(argv[5]),
			      argv[6]);
	fprintf(stderr,
		"usage: %s server ADDR PORT | client ADDR PORT "
		"keepalive|none WAIT_S CUT_CMD\n",
		argv[0]);
	return 2;
}
