// SPDX-License-Identifier: MIT
/*
 * socket_overflow (issue #10, "no unexplained drops"): the arithmetic of
 * the kernel's 32-bit cumulative drop count, and the two kernel facts the
 * wire transport relies on, checked on a loopback UDP socket: a datagram
 * queued after drops carries the count (SO_RXQ_OVFL), and drops after
 * the last queued datagram are seen only through SO_MEMINFO.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/transport/transport_udp.h"

Test(wire_overflow, advance_counts_new_drops_once)
{
	uint32_t seen = 0;

	cr_assert_eq(srxe_udp_drops_advance(&seen, 0), 0);
	cr_assert_eq(srxe_udp_drops_advance(&seen, 5), 5);
	cr_assert_eq(srxe_udp_drops_advance(&seen, 5), 0);
	cr_assert_eq(srxe_udp_drops_advance(&seen, 12), 7);
	cr_assert_eq(seen, 12);
}

Test(wire_overflow, advance_ignores_older_reports)
{
	uint32_t seen = 100;

	/* a datagram queued before a SO_MEMINFO read that saw 100 */
	cr_assert_eq(srxe_udp_drops_advance(&seen, 90), 0);
	cr_assert_eq(seen, 100);
	cr_assert_eq(srxe_udp_drops_advance(&seen, 101), 1);
}

Test(wire_overflow, advance_wraps_at_32_bits)
{
	uint32_t seen = 0xfffffffeu;

	cr_assert_eq(srxe_udp_drops_advance(&seen, 3), 5);
	cr_assert_eq(seen, 3);
}

static uint32_t meminfo_drops(int fd)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len), 0);
	cr_assert_gt(len, SK_MEMINFO_DROPS * sizeof(mem[0]));
	return mem[SK_MEMINFO_DROPS];
}

/* The last datagram's SO_RXQ_OVFL count, or 0 when it carried none. */
static uint32_t drain(int fd, unsigned int *got)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint32_t))];
		struct cmsghdr align;
	} ctl;
	uint32_t last = 0;
	char b[2048];

	*got = 0;
	for (;;) {
		struct iovec iov = { b, sizeof(b) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl) };

		if (recvmsg(fd, &mh, MSG_DONTWAIT) < 0)
			return last;
		(*got)++;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SO_RXQ_OVFL)
				memcpy(&last, CMSG_DATA(c), sizeof(last));
	}
}

Test(wire_overflow, kernel_reports_drops_late_and_on_request)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int rx = socket(AF_INET, SOCK_DGRAM, 0),
	    tx = socket(AF_INET, SOCK_DGRAM, 0);
	int on = 1, small = 4096;
	unsigned int sent = 0, got, got2;
	uint32_t cm, now;
	char payload[1000] = { 0 };

	cr_assert(rx >= 0 && tx >= 0);
	cr_assert_eq(
		setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)),
		0);
	cr_assert_eq(setsockopt(rx, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on)),
		     0);
	cr_assert_eq(bind(rx, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(rx, (struct sockaddr *)&a, &alen), 0);
	/* far more than a 4 KiB (8 KiB charged) buffer holds, nobody reads */
	for (int i = 0; i < 200; i++)
		sent += sendto(tx, payload, sizeof(payload), 0,
			       (struct sockaddr *)&a, sizeof(a)) > 0;
	now = meminfo_drops(rx);
	cm = drain(rx, &got);
	cr_assert_gt(now, 0, "the buffer overflowed");
	cr_assert_eq(got + now, sent, "every datagram queued or counted");
	/* the buffer filled and stayed full: no queued datagram saw a drop */
	cr_assert_eq(cm, 0);
	/* the next one carries the whole count */
	sent += sendto(tx, payload, sizeof(payload), 0, (struct sockaddr *)&a,
		       sizeof(a)) > 0;
	cm = drain(rx, &got2);
	cr_assert_eq(got2, 1);
	cr_assert_eq(cm, now);
	close(rx);
	close(tx);
}
