// SPDX-License-Identifier: MIT
/*
 * Raw UDP bandwidth: the baseline perftest/wire-table.sh prints beside
 * srxe's ib_write_bw across a veth.  A sender and a receiver of UDP
 * datagrams of one size (the size of srxe's data packets: BTH + path MTU
 * payload + ICRC), batched so that neither side pays a syscall per packet:
 *
 *   udp_raw_bw recv ADDR PORT [gro]         bind ADDR:PORT, count until the
 *                                           sender's end marker (or 2 s of
 *                                           silence after data)
 *   udp_raw_bw send ADDR PORT LEN SECONDS [gso]
 *                                           send LEN-byte UDP payloads to
 *                                           ADDR:PORT for SECONDS
 *
 * Plain mode: sendmmsg()/recvmmsg() of BATCH datagrams per call.  "gso"
 * sends with UDP_SEGMENT (one send carries up to GSO_MAX_SEGS datagrams,
 * the kernel cuts them) and "gro" receives with UDP_GRO (the kernel hands
 * over coalesced runs, the cmsg says the segment size): the fastest way a
 * program moves UDP datagrams through the kernel, the upper bound.
 *
 * The receiver prints one line:
 *   recv datagrams N bytes B seconds S MiB/s M dgram/s D
 * counting UDP payload bytes of data datagrams, from the first to the last
 * one received (datagrams the veth or a socket buffer dropped are not
 * counted: this is what arrived).  The sender prints the same fields for
 * what it sent, as "send ...".  Datagram loss is the difference.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "udp_lib.h"

#define BATCH	      64
#define GSO_MAX_SEGS  64
#define GSO_MAX_BYTES 65000 /* below the 64 KiB IPv4 datagram limit */
#define RX_BUF	      65536
#define IDLE_END_S    2

struct tally {
	unsigned long long dgrams, bytes;
	double first, last;
};

static void usage(void)
{
	fprintf(stderr, "usage: udp_raw_bw recv ADDR PORT [gro]\n"
			"       udp_raw_bw send ADDR PORT LEN SECONDS [gso]\n");
	exit(2);
}

static void print_tally(const char *who, const struct tally *t)
{
	double s = t->last > t->first ? t->last - t->first : 0;

	printf("%s datagrams %llu bytes %llu seconds %.3f MiB/s %.1f "
	       "dgram/s %.0f\n",
	       who, t->dgrams, t->bytes, s,
	       s > 0 ? (double)t->bytes / s / 1048576.0 : 0.0,
	       s > 0 ? (double)t->dgrams / s : 0.0);
}

/* ---- receiver ---- */

/* The segment size of a GRO run, from its UDP_GRO cmsg; 0 if none. */
static size_t gro_segment(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int v;

			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v > 0 ? (size_t)v : 0;
		}
	return 0;
}

/* Counts one received buffer; returns 1 on the end marker. */
static int count_rx(struct tally *t, struct msghdr *mh, size_t len, double at)
{
	size_t seg = gro_segment(mh);

	if (len <= END_MARK_LEN)
		return t->dgrams ? 1 : 0; /* a marker before data: stale */
	if (!t->dgrams)
		t->first = at;
	t->last = at;
	t->bytes += len;
	t->dgrams += seg ? (len + seg - 1) / seg : 1;
	return 0;
}

static int do_recv(int argc, char **argv)
{
	static uint8_t bufs[BATCH][RX_BUF];
	static char ctl[BATCH][CMSG_SPACE(sizeof(int))];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	struct sockaddr_in sa;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	struct tally t = { 0 };
	double idle_since = 0;
	int fd, on = 1, gro;

	if (argc < 2 || argc > 3 || parse_addr(argv[0], argv[1], &sa))
		usage();
	gro = argc == 3 && !strcmp(argv[2], "gro");
	if (argc == 3 && !gro)
		usage();
	fd = udp_socket(SO_RCVBUFFORCE, SO_RCVBUF);
	if (gro && setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)))
		die_errno("UDP_GRO");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		die_errno("SO_RCVTIMEO");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die_errno("bind");
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int n;
		double at;

		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], RX_BUF };
			msg[i].msg_hdr = (struct msghdr){
				.msg_iov = &iov[i],
				.msg_iovlen = 1,
				.msg_control = gro ? ctl[i] : NULL,
				.msg_controllen = gro ? sizeof(ctl[i]) : 0,
			};
		}
		n = recvmmsg(fd, msg, BATCH, MSG_WAITFORONE, NULL);
		at = now();
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				die_errno("recvmmsg");
			if (t.dgrams && !idle_since)
				idle_since = at;
			if (idle_since && at - idle_since > IDLE_END_S)
				break;
			continue;
		}
		idle_since = 0;
		for (int i = 0; i < n; i++)
			if (count_rx(&t, &msg[i].msg_hdr, msg[i].msg_len, at))
				goto done;
	}
done:
	print_tally("recv", &t);
	close(fd);
	return 0;
}

/* ---- sender ---- */

static int do_send(int argc, char **argv)
{
	static uint8_t buf[GSO_MAX_BYTES];
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	struct sockaddr_in sa;
	struct tally t = { 0 };
	long len, per_send = 1;
	double seconds, end;
	int fd, gso;

	if (argc < 4 || argc > 5 || parse_addr(argv[0], argv[1], &sa))
		usage();
	len = strtol(argv[2], NULL, 10);
	seconds = strtod(argv[3], NULL);
	gso = argc == 5 && !strcmp(argv[4], "gso");
	if ((argc == 5 && !gso) || len <= END_MARK_LEN || len > GSO_MAX_BYTES ||
	    seconds <= 0)
		usage();
	fd = udp_sender(&sa, gso ? (int)len : 0);
	if (gso) {
		per_send = GSO_MAX_BYTES / len;
		if (per_send > GSO_MAX_SEGS)
			per_send = GSO_MAX_SEGS;
	}
	memset(buf, 0xa5, sizeof(buf));
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ buf, (size_t)(len * per_send) };
		msg[i].msg_hdr =
			(struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	t.first = now();
	end = t.first + seconds;
	do {
		int n = sendmmsg(fd, msg, BATCH, 0);

		if (n < 0) {
			/* ENOBUFS: the qdisc or veth is full; try again */
			if (errno != ENOBUFS && errno != EAGAIN &&
			    errno != EINTR && errno != ECONNREFUSED)
				die_errno("sendmmsg");
			continue;
		}
		t.dgrams +=
			(unsigned long long)n * (unsigned long long)per_send;
		t.bytes += (unsigned long long)n *
			   (unsigned long long)(len * per_send);
		t.last = now();
	} while (t.last < end);
	send_end_marks(fd, gso);
	print_tally("send", &t);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (!strcmp(argv[1], "recv"))
		return do_recv(argc - 2, argv + 2);
	if (!strcmp(argv[1], "send"))
		return do_send(argc - 2, argv + 2);
	usage();
	return 2;
}
