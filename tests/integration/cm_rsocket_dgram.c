// SPDX-License-Identifier: MIT
/*
 * Datagram rsockets (docs/rdmacm.md "rsockets"), run under `srxe exec`:
 *
 *   cm_rsocket_dgram PORT [PLAIN_IP]
 *
 * Three datagram rsockets in one process on 127.0.0.1: a at PORT, b and c
 * bound by their first send.  Checked, every byte of every message:
 *  - b and a exchange messages of 1 B to 60 KiB both ways (the first over
 *    UDP, then UD while they fit one packet, UDP beyond), recvfrom naming
 *    the sender's address;
 *  - MSG_PEEK, then the same message again; a short buffer: MSG_TRUNC in
 *    msg_flags, and with flag MSG_TRUNC the whole length;
 *  - a burst of 300 messages arrives whole and in order;
 *  - rpoll: nothing readable times out, a message makes it readable;
 *  - b connected to a: rsend/rrecv, and c's messages to b are not its;
 *  - errors: EMSGSIZE, EDESTADDRREQ, EOPNOTSUPP for rlisten; SO_TYPE, and
 *    SO_BROADCAST set and read back (the UDP socket's);
 *  - with PLAIN_IP, a local address no srxe device serves: an rsocket and
 *    a kernel UDP socket there talk plain UDP both ways.
 * Prints "ud messages N" (those that fit UD) for the caller to compare
 * with the device's counters, and exits 0 when all holds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rdma/rsocket.h>

#define BIG   (60u * 1024u)
#define BURST 300

static uint8_t sbuf[65536], rbuf[BIG];
static unsigned long ud_msgs;

static void die(const char *what)
{
	fprintf(stderr, "cm_rsocket_dgram: %s (errno %d: %s)\n", what, errno,
		strerror(errno));
	exit(1);
}

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + seed);
}

static int make(void)
{
	int fd = rsocket(AF_INET, SOCK_DGRAM, 0);
	int big = 1 << 20;

	if (fd < 0)
		die("rsocket(SOCK_DGRAM)");
	if (rsetsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)))
		die("SO_RCVBUF");
	return fd;
}

static struct sockaddr_in addr_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (rgetsockname(fd, (struct sockaddr *)&a, &len))
		die("rgetsockname");
	return a;
}

/* Sends @len bytes (seeded @seed) from @from to @to's address. */
static void send_to(int from, int to, size_t len, unsigned int seed)
{
	struct sockaddr_in a = addr_of(to);

	fill(sbuf, len, seed);
	if (rsendto(from, sbuf, len, 0, (struct sockaddr *)&a, sizeof(a)) !=
	    (ssize_t)len)
		die("rsendto");
	ud_msgs += len <= 2040;
}

/* Receives on @fd one message that must be @len bytes seeded @seed and
 * come from @sender. */
static void expect(int fd, int sender, size_t len, unsigned int seed)
{
	struct sockaddr_in from, want = addr_of(sender);
	socklen_t flen = sizeof(from);
	ssize_t n = rrecvfrom(fd, rbuf, sizeof(rbuf), 0,
			      (struct sockaddr *)&from, &flen);

	if (n < 0)
		die("rrecvfrom");
	fill(sbuf, len, seed);
	if ((size_t)n != len || memcmp(rbuf, sbuf, len)) {
		fprintf(stderr,
			"cm_rsocket_dgram: got %zd bytes, want %zu "
			"(seed %u), or they differ\n",
			n, len, seed);
		exit(1);
	}
	/* An unbound sender's name is 0.0.0.0:port; it sent from lo. */
	if (!want.sin_addr.s_addr)
		want.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (flen != sizeof(from) || from.sin_port != want.sin_port ||
	    from.sin_addr.s_addr != want.sin_addr.s_addr) {
		fprintf(stderr,
			"cm_rsocket_dgram: message from %s:%u, want "
			"port %u\n",
			inet_ntoa(from.sin_addr), ntohs(from.sin_port),
			ntohs(want.sin_port));
		exit(1);
	}
}

static void sizes(int a, int b)
{
	static const size_t len[] = { 1,    64,	  1000, 1536, 2040,
				      2041, 4000, 9000, BIG };
	unsigned int seed = 1;

	for (int round = 0; round < 20; round++)
		for (size_t i = 0; i < sizeof(len) / sizeof(len[0]); i++) {
			send_to(b, a, len[i], seed);
			expect(a, b, len[i], seed++);
			send_to(a, b, len[i], seed);
			expect(b, a, len[i], seed++);
		}
	printf("ok: 360 messages of 1 B to 60 KiB both ways, verified, "
	       "sender addresses right\n");
}

static void peek_trunc(int a, int b)
{
	uint8_t small[10];
	struct iovec iov = { small, sizeof(small) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	send_to(b, a, 100, 77);
	fill(sbuf, 100, 77);
	n = rrecv(a, rbuf, sizeof(rbuf), MSG_PEEK);
	if (n != 100 || memcmp(rbuf, sbuf, 100))
		die("MSG_PEEK");
	n = rrecvmsg(a, &msg, 0);
	if (n != 10 || !(msg.msg_flags & MSG_TRUNC) || memcmp(small, sbuf, 10))
		die("short buffer: want 10 bytes and MSG_TRUNC");
	send_to(b, a, 100, 78);
	if (rrecv(a, small, sizeof(small), MSG_TRUNC) != 100)
		die("flag MSG_TRUNC: want the whole length");
	printf("ok: MSG_PEEK, truncation (MSG_TRUNC)\n");
}

static void burst(int a, int b)
{
	for (unsigned int i = 0; i < BURST; i++)
		send_to(b, a, 200 + i, 1000 + i);
	for (unsigned int i = 0; i < BURST; i++)
		expect(a, b, 200 + i, 1000 + i);
	printf("ok: a burst of %d messages, whole and in order\n", BURST);
}

static void polling(int a, int b)
{
	struct pollfd p = { a, POLLIN, 0 };

	if (rpoll(&p, 1, 100) != 0)
		die("rpoll with nothing to read: want a timeout");
	if (rrecv(a, rbuf, sizeof(rbuf), MSG_DONTWAIT) != -1 || errno != EAGAIN)
		die("rrecv MSG_DONTWAIT with nothing to read: want EAGAIN");
	send_to(b, a, 300, 5);
	if (rpoll(&p, 1, 5000) != 1 || !(p.revents & POLLIN))
		die("rpoll after a send: want POLLIN");
	expect(a, b, 300, 5);
	printf("ok: rpoll, EAGAIN\n");
}

static void connected(int a, int b, int c)
{
	struct sockaddr_in aa = addr_of(a);

	if (rconnect(b, (struct sockaddr *)&aa, sizeof(aa)))
		die("rconnect");
	fill(sbuf, 500, 9);
	if (rsend(b, sbuf, 500, 0) != 500)
		die("rsend, connected");
	expect(a, b, 500, 9);
	send_to(c, b, 40, 10); /* not from b's peer: b never sees it */
	send_to(a, b, 41, 11);
	expect(b, a, 41, 11);
	send_to(a, b, 42, 12);
	if (rrecv(b, rbuf, sizeof(rbuf), 0) != 42)
		die("rrecv, connected");
	printf("ok: connected: rsend/rrecv, other senders filtered\n");
}

static void errors(int a, int b)
{
	struct sockaddr_in aa = addr_of(a);
	int type = 0, c = make();
	socklen_t len = sizeof(type);

	if (rsendto(b, sbuf, 65500, 0, (struct sockaddr *)&aa, sizeof(aa)) !=
		    -1 ||
	    errno != EMSGSIZE)
		die("65500 bytes: want EMSGSIZE");
	if (rsend(c, sbuf, 10, 0) != -1 || errno != EDESTADDRREQ)
		die("rsend unconnected: want EDESTADDRREQ");
	if (rlisten(a, 1) != -1 || errno != EOPNOTSUPP)
		die("rlisten: want EOPNOTSUPP");
	if (rgetsockopt(a, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    type != SOCK_DGRAM)
		die("SO_TYPE: want SOCK_DGRAM");
	type = 1;
	if (rsetsockopt(c, SOL_SOCKET, SO_BROADCAST, &type, sizeof(type)))
		die("SO_BROADCAST");
	type = 0;
	len = sizeof(type);
	if (rgetsockopt(c, SOL_SOCKET, SO_BROADCAST, &type, &len) || !type)
		die("SO_BROADCAST read back: want 1");
	rclose(c);
	printf("ok: EMSGSIZE, EDESTADDRREQ, EOPNOTSUPP, SO_TYPE, "
	       "SO_BROADCAST\n");
}

/* A kernel UDP socket at @ip: what an unbound rsocket sends it arrives
 * as it was sent, and its answer comes back the same way. */
static void plain(const char *ip, uint16_t port)
{
	struct sockaddr_in at = { .sin_family = AF_INET,
				  .sin_port = htons(port) },
			   from;
	socklen_t flen = sizeof(from);
	int k = socket(AF_INET, SOCK_DGRAM, 0), r = make();
	char got[32] = "";

	if (k < 0 || inet_pton(AF_INET, ip, &at.sin_addr) != 1 ||
	    bind(k, (struct sockaddr *)&at, sizeof(at)))
		die("kernel UDP socket at PLAIN_IP");
	if (rsendto(r, "question", 8, 0, (struct sockaddr *)&at, sizeof(at)) !=
	    8)
		die("rsendto to a plain UDP peer");
	if (recvfrom(k, got, sizeof(got), 0, (struct sockaddr *)&from, &flen) !=
		    8 ||
	    memcmp(got, "question", 8))
		die("the plain peer's recvfrom: want \"question\"");
	if (sendto(k, "answer", 6, 0, (struct sockaddr *)&from, flen) != 6)
		die("plain sendto");
	flen = sizeof(from);
	memset(got, 0, sizeof(got));
	if (rrecvfrom(r, got, sizeof(got), 0, (struct sockaddr *)&from,
		      &flen) != 6 ||
	    memcmp(got, "answer", 6) || from.sin_port != at.sin_port)
		die("rrecvfrom from a plain UDP peer: want \"answer\"");
	close(k);
	rclose(r);
	printf("ok: plain UDP with a peer at %s (no srxe device there)\n", ip);
}

int main(int argc, char **argv)
{
	struct sockaddr_in at = { .sin_family = AF_INET };
	int a, b, c;

	if (argc != 2 && argc != 3)
		return fprintf(stderr,
			       "usage: cm_rsocket_dgram PORT [PLAIN_IP]\n"),
		       2;
	at.sin_port = htons((uint16_t)atoi(argv[1]));
	at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a = make();
	b = make();
	c = make();
	if (rbind(a, (struct sockaddr *)&at, sizeof(at)))
		die("rbind");
	sizes(a, b);
	peek_trunc(a, b);
	burst(a, b);
	polling(a, b);
	connected(a, b, c);
	errors(a, b);
	if (argc == 3)
		plain(argv[2], (uint16_t)(atoi(argv[1]) + 1));
	rclose(a);
	rclose(b);
	rclose(c);
	printf("ud messages %lu\n", ud_msgs);
	printf("all datagrams checked\n");
	return 0;
}
