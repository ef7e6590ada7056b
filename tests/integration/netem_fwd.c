// SPDX-License-Identifier: MIT
/*
 * A user-space stand-in for `tc netem` on kernels built without sch_netem
 * (CONFIG_NET_SCH_NETEM unset, as in some CI VMs): forwards every
 * Ethernet frame between two interfaces (AF_PACKET) and, per frame and
 * per direction, applies netem's
 *   loss L% duplicate D% delay T reorder R%
 * semantics: lost with probability L; duplicated with probability D
 * (each copy then goes on alone); sent at once with probability R,
 * otherwise queued for T (a queued frame is overtaken by the ones sent
 * at once: reordering).  Like netem, at most LIMIT frames wait per
 * direction; more are dropped.  Seeded, so a run is repeatable.
 *
 *   netem_fwd IF_A IF_B LOSS_PCT DUP_PCT DELAY_MS REORDER_PCT SEED
 *
 * Runs until SIGTERM/SIGINT, then prints its counters on stderr.  The
 * interfaces should have offloads (GSO/GRO/TSO) off, so that frames are
 * never larger than the MTU.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 9216
#define LIMIT	  1000

struct frame {
	uint64_t due_ns;
	uint32_t len;
	uint8_t data[FRAME_MAX];
};

/* Frames waiting for their delay, oldest first (one delay: FIFO). */
struct queue {
	struct frame *f;
	unsigned int head, count;
};

struct dir {
	int in, out;
	struct queue q;
	uint64_t fwd, lost, dup, reordered, delayed, overflow, tx_err;
};

static volatile sig_atomic_t stop;
static double loss_pct, dup_pct, reorder_pct;
static uint64_t delay_ns, rng;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Uniform in [0, 100). */
static double pct(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * 0x2545f4914f6cdd1dull) >> 11) /
	       (double)(1ull << 53) * 100.0;
}

static int open_if(const char *name)
{
	struct sockaddr_ll a = { .sll_family = AF_PACKET,
				 .sll_protocol = htons(ETH_P_ALL) };
	int one = 1, bufsz = 32 << 20,
	    fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));

	a.sll_ifindex = (int)if_nametoindex(name);
	if (fd < 0 || !a.sll_ifindex) {
		fprintf(stderr, "netem_fwd: %s: %s\n", name, strerror(errno));
		exit(1);
	}
	/* Our own transmissions on this interface are not input. */
	setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	/* netem queues in the kernel and never loses to a busy CPU: give
	 * the sockets room for bursts (FORCE: beyond rmem_max, as root). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		fprintf(stderr, "netem_fwd: bind %s: %s\n", name,
			strerror(errno));
		exit(1);
	}
	return fd;
}

static void emit(struct dir *d, const uint8_t *p, uint32_t len)
{
	if (send(d->out, p, len, 0) < 0)
		d->tx_err++;
	else
		d->fwd++;
}

static void one_copy(struct dir *d, const uint8_t *p, uint32_t len,
		     uint64_t now)
{
	struct frame *f;

	if (pct() < reorder_pct) {
		d->reordered++;
		emit(d, p, len);
		return;
	}
	if (d->q.count == LIMIT) {
		d->overflow++;
		return;
	}
	f = &d->q.f[(d->q.head + d->q.count++) % LIMIT];
	f->due_ns = now + delay_ns;
	f->len = len;
	memcpy(f->data, p, len);
	d->delayed++;
}

static void receive(struct dir *d, uint64_t now)
{
	static uint8_t buf[FRAME_MAX];

	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(d->in, buf, sizeof(buf), MSG_TRUNC);

		if (n < 0)
			return;
		if (n > (ssize_t)sizeof(buf) || n < 14) {
			d->lost++; /* larger than any frame at our MTU */
			continue;
		}
		if (pct() < loss_pct) {
			d->lost++;
			continue;
		}
		if (pct() < dup_pct) {
			d->dup++;
			one_copy(d, buf, (uint32_t)n, now);
		}
		one_copy(d, buf, (uint32_t)n, now);
	}
}

/* Sends what is due; returns ns until the next frame is due (0: none). */
static uint64_t release(struct dir *d, uint64_t now)
{
	while (d->q.count) {
		struct frame *f = &d->q.f[d->q.head];

		if (f->due_ns > now)
			return f->due_ns - now;
		emit(d, f->data, f->len);
		d->q.head = (d->q.head + 1) % LIMIT;
		d->q.count--;
	}
	return 0;
}

static uint64_t sooner(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

static void report(const char *name, const struct dir *d)
{
	fprintf(stderr,
		"netem_fwd %s: forwarded %lu, lost %lu, duplicated %lu, sent "
		"at once %lu, delayed %lu, queue overflow %lu, send errors "
		"%lu\n",
		name, (unsigned long)d->fwd, (unsigned long)d->lost,
		(unsigned long)d->dup, (unsigned long)d->reordered,
		(unsigned long)d->delayed, (unsigned long)d->overflow,
		(unsigned long)d->tx_err);
}

int main(int argc, char **argv)
{
	struct dir d[2] = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };

	if (argc != 8) {
		fprintf(stderr, "usage: netem_fwd IF_A IF_B LOSS_PCT DUP_PCT "
				"DELAY_MS REORDER_PCT SEED\n");
		return 2;
	}
	loss_pct = atof(argv[3]);
	dup_pct = atof(argv[4]);
	delay_ns = (uint64_t)(atof(argv[5]) * 1e6);
	reorder_pct = atof(argv[6]);
	rng = strtoull(argv[7], NULL, 0) | 1;
	d[0].in = d[1].out = open_if(argv[1]);
	d[1].in = d[0].out = open_if(argv[2]);
	for (int i = 0; i < 2; i++) {
		d[i].q.f = calloc(LIMIT, sizeof(struct frame));
		if (!d[i].q.f)
			return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		struct pollfd p[2] = { { d[0].in, POLLIN, 0 },
				       { d[1].in, POLLIN, 0 } };
		uint64_t now = now_ns(), wait = 0;
		struct timespec ts;

		for (int i = 0; i < 2; i++)
			wait = sooner(wait, release(&d[i], now));
		ts.tv_sec = (time_t)(wait / 1000000000ull);
		ts.tv_nsec = (long)(wait % 1000000000ull);
		if (ppoll(p, 2, wait ? &ts : NULL, NULL) < 0 && errno != EINTR)
			break;
		now = now_ns();
		for (int i = 0; i < 2; i++)
			if (p[i].revents & POLLIN)
				receive(&d[i], now);
	}
	report(argv[1], &d[0]);
	report(argv[2], &d[1]);
	free(d[0].q.f);
	free(d[1].q.f);
	return 0;
}
