// SPDX-License-Identifier: MIT
/*
 * What the shape of a UDP GSO send's memory costs the sending CPU
 * (issue #14, must-show 4; run by perftest/gso-shapes.sh).
 *
 *   udp_gso_shapes ADDR PORT SECONDS SHAPE
 *
 * Sends UDP_SEGMENT runs of 15 datagrams of 4,112 bytes (srxe's data
 * packet at path MTU 4096: BTH 12 + 4096 + ICRC 4), four runs per
 * sendmmsg, on a connected DF socket, for SECONDS, then 1-byte end
 * markers (udp_raw_bw recv stops on them).  SHAPE is where the bytes of
 * each run lie:
 *   one      one 61,680-byte iovec (udp_raw_bw's gso send)
 *   slots    one iovec per datagram, 8 KiB apart, starting 28 bytes in
 *            (srxe's transmit slots behind the IPv4 and UDP headers)
 *   packed   one iovec per run over its datagrams laid end to end in
 *            the slots' memory (never written)
 *   written  slots, each datagram first copied (memcpy) from a 64 KiB
 *            buffer, as srxe copies a packet's payload into its slot
 *   written-rep  the same copy by `rep movsb` (x86-64 only) instead of
 *            glibc's memcpy (here the kernel's copy then read faster;
 *            srxe's own gather did not gain from it: docs/benchmarks.md)
 *   packed-rep  packed, each datagram first copied by `rep movsb`
 *   pieces   three iovecs per datagram: 12 header bytes from a slot,
 *            4096 bytes of a 64 KiB buffer that is never written (an
 *            MR), 4 trailer bytes from the slot
 * Prints one line: shape, MiB/s handed to the kernel, and this process's
 * CPU seconds (user + system, and user alone) per GiB handed over.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "udp_lib.h"

#define SEG_LEN	    4112
#define SEGS	    15
#define RUNS	    4
#define SLOT_STRIDE 8192
#define SLOT_OFF    28
#define HDR_LEN	    12
#define TRAILER_LEN 4
#define SRC_LEN	    65536
#define MAX_IOV	    (SEGS * 3)

enum shape { ONE, SLOTS, PACKED, WRITTEN, WRITTEN_REP, PACKED_REP, PIECES };

static const char *const shape_names[] = { "one",	  "slots",
					   "packed",	  "written",
					   "written-rep", "packed-rep",
					   "pieces" };

static uint8_t slots[RUNS * SEGS * SLOT_STRIDE] __attribute__((aligned(4096)));
static uint8_t src[SRC_LEN + SEG_LEN] __attribute__((aligned(4096)));
static struct iovec iov[RUNS][MAX_IOV];
static struct mmsghdr msg[RUNS];

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

static bool is_packed(enum shape s)
{
	return s == PACKED || s == PACKED_REP;
}

/* Where datagram @seg of run @r lies. */
static uint8_t *slot(enum shape s, int run, int seg)
{
	size_t stride = is_packed(s) ? SEG_LEN : SLOT_STRIDE;

	return slots + (size_t)run * SEGS * SLOT_STRIDE + seg * stride +
	       SLOT_OFF;
}

/* The iovecs of run @r; returns their count. */
static int shape_run(enum shape s, int r)
{
	int n = 0;

	if (s == ONE || is_packed(s)) {
		iov[r][n++] = (struct iovec){ s == ONE ? src : slot(s, r, 0),
					      (size_t)SEG_LEN * SEGS };
		return n;
	}
	for (int k = 0; k < SEGS; k++) {
		uint8_t *p = slot(s, r, k);

		if (s != PIECES) {
			iov[r][n++] = (struct iovec){ p, SEG_LEN };
			continue;
		}
		iov[r][n++] = (struct iovec){ p, HDR_LEN };
		iov[r][n++] = (struct iovec){ src + (size_t)k * 4096 % SRC_LEN,
					      SEG_LEN - HDR_LEN - TRAILER_LEN };
		iov[r][n++] = (struct iovec){ p + HDR_LEN, TRAILER_LEN };
	}
	return n;
}

static bool rep_movsb_works(void)
{
#if defined(__x86_64__)
	return true;
#else
	return false;
#endif
}

static void copy_rep_movsb(uint8_t *dst, const uint8_t *from, size_t len)
{
#if defined(__x86_64__)
	asm volatile("rep movsb"
		     : "+D"(dst), "+S"(from), "+c"(len)
		     :
		     : "memory");
#else
	memcpy(dst, from, len);
#endif
}

static void write_slots(enum shape s)
{
	for (int r = 0; r < RUNS; r++)
		for (int k = 0; k < SEGS; k++) {
			uint8_t *d = slot(s, r, k);
			const uint8_t *from =
				src + (size_t)k * SEG_LEN % SRC_LEN;

			if (s == WRITTEN)
				memcpy(d, from, SEG_LEN);
			else
				copy_rep_movsb(d, from, SEG_LEN);
		}
}

static enum shape parse_shape(const char *name)
{
	for (int s = ONE; s <= PIECES; s++) {
		if (strcmp(name, shape_names[s]))
			continue;
		if ((s == WRITTEN_REP || s == PACKED_REP) &&
		    !rep_movsb_works()) {
			fprintf(stderr, "udp_gso_shapes: %s needs x86-64\n",
				name);
			exit(2);
		}
		return (enum shape)s;
	}
	fprintf(stderr, "udp_gso_shapes: unknown shape %s\n", name);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long bytes = 0;
	struct rusage r0, r1;
	struct sockaddr_in sa;
	double t0, end, secs, gib, user;
	enum shape s;
	int fd;

	if (argc != 5 || parse_addr(argv[1], argv[2], &sa)) {
		fprintf(stderr, "usage: udp_gso_shapes ADDR PORT SECONDS "
				"one|slots|packed|written|written-rep|"
				"packed-rep|pieces\n");
		return 2;
	}
	s = parse_shape(argv[4]);
	fd = udp_sender(&sa, SEG_LEN);
	memset(src, 0xa5, sizeof(src));
	memset(slots, 0x5a, sizeof(slots));
	for (int r = 0; r < RUNS; r++)
		msg[r].msg_hdr = (struct msghdr){
			.msg_iov = iov[r],
			.msg_iovlen = (size_t)shape_run(s, r),
		};
	getrusage(RUSAGE_SELF, &r0);
	t0 = now();
	end = t0 + strtod(argv[3], NULL);
	while (now() < end) {
		int n;

		if (s == WRITTEN || s == WRITTEN_REP || s == PACKED_REP)
			write_slots(s);
		n = sendmmsg(fd, msg, RUNS, 0);
		if (n < 0 && errno != ENOBUFS && errno != EAGAIN &&
		    errno != EINTR && errno != ECONNREFUSED)
			die_errno("sendmmsg");
		if (n > 0)
			bytes += (unsigned long long)n * SEG_LEN * SEGS;
	}
	secs = now() - t0;
	getrusage(RUSAGE_SELF, &r1);
	send_end_marks(fd, true);
	gib = (double)bytes / (1 << 30);
	user = tv_s(r1.ru_utime) - tv_s(r0.ru_utime);
	printf("shape %s MiB/s %.1f cpu_s_per_gib %.3f user_s_per_gib %.3f\n",
	       shape_names[s], (double)bytes / secs / (1 << 20),
	       gib > 0 ? (user + tv_s(r1.ru_stime) - tv_s(r0.ru_stime)) / gib
		       : 0,
	       gib > 0 ? user / gib : 0);
	close(fd);
	return 0;
}
