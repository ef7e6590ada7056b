// SPDX-License-Identifier: MIT
/*
 * What the raw UDP programs of perftest share (contract in udp_lib.h).
 */
#include "udp_lib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define END_MARKS 20
#define SOCK_BUF  (8 << 20)

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void die_errno(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what,
		strerror(errno));
	exit(1);
}

int parse_addr(const char *addr, const char *port, struct sockaddr_in *sa)
{
	char *end;
	long p = strtol(port, &end, 10);

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	if (*end || p <= 0 || p > 65535 ||
	    inet_pton(AF_INET, addr, &sa->sin_addr) != 1)
		return -1;
	sa->sin_port = htons((uint16_t)p);
	return 0;
}

int udp_socket(int buf_opt_force, int buf_opt)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int bytes = SOCK_BUF;

	if (fd < 0)
		die_errno("socket");
	/* Privileged: past the sysctl limit; else as much as it allows. */
	if (setsockopt(fd, SOL_SOCKET, buf_opt_force, &bytes, sizeof(bytes)))
		setsockopt(fd, SOL_SOCKET, buf_opt, &bytes, sizeof(bytes));
	return fd;
}

int udp_sender(const struct sockaddr_in *sa, int gso_seg)
{
	int fd = udp_socket(SO_SNDBUFFORCE, SO_SNDBUF);
	int pmtu = IP_PMTUDISC_DO;

	if (setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)))
		die_errno("IP_MTU_DISCOVER");
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)))
		die_errno("connect");
	if (gso_seg &&
	    setsockopt(fd, SOL_UDP, UDP_SEGMENT, &gso_seg, sizeof(gso_seg)))
		die_errno("UDP_SEGMENT");
	return fd;
}

void send_end_marks(int fd, bool gso)
{
	uint8_t mark = 0;

	/* A 1-byte send with UDP_SEGMENT set is fine, but keep it obvious. */
	if (gso) {
		int off = 0;

		setsockopt(fd, SOL_UDP, UDP_SEGMENT, &off, sizeof(off));
	}
	for (int i = 0; i < END_MARKS; i++) {
		if (send(fd, &mark, sizeof(mark), 0) < 0 &&
		    errno != ECONNREFUSED)
			die_errno("send end marker");
		usleep(5000);
	}
}
