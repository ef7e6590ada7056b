// SPDX-License-Identifier: MIT
/*
 * Stream rsockets used from several threads at once (librspreload users
 * are often threaded), run under `srxe exec`:
 *
 *   cm_rsocket_duplex PORT
 *
 * One process, two rsockets connected over 127.0.0.1:PORT.  Each end
 * runs a sender thread and a receiver thread on its one socket at the
 * same time, with blocking calls: 24 MiB each way in pieces of 1 B to
 * 200 KiB, every byte checked.  A sender ends with rshutdown(SHUT_WR);
 * the peer's receiver must then get 0 after exactly the bytes sent.
 * Exits 0 and prints one line when all holds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <rdma/rsocket.h>

#define TOTAL	  (24u << 20)
#define MAX_PIECE (200u * 1024u)

struct end {
	const char *name;
	int fd;
	uint8_t seed;	   /* of what this end sends */
	uint8_t peer_seed; /* of what it receives */
	uint64_t received;
	const char *fail;
};

static uint8_t byte_at(uint8_t seed, uint64_t i)
{
	return (uint8_t)(i * 131 + (i >> 13) + seed);
}

static uint32_t next_len(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return 1 + (*state >> 8) % MAX_PIECE;
}

static void *sender(void *arg)
{
	struct end *e = arg;
	uint8_t *buf = malloc(MAX_PIECE);
	uint32_t state = e->seed;
	uint64_t sent = 0;

	while (buf && sent < TOTAL) {
		uint32_t len = next_len(&state);
		ssize_t n;

		if (len > TOTAL - sent)
			len = (uint32_t)(TOTAL - sent);
		for (uint32_t i = 0; i < len; i++)
			buf[i] = byte_at(e->seed, sent + i);
		for (uint32_t off = 0; off < len; off += (uint32_t)n) {
			n = rsend(e->fd, buf + off, len - off, 0);
			if (n <= 0) {
				e->fail = "rsend failed";
				free(buf);
				return NULL;
			}
		}
		sent += len;
	}
	if (!buf)
		e->fail = "out of memory";
	else if (rshutdown(e->fd, SHUT_WR))
		e->fail = "rshutdown(SHUT_WR) failed";
	free(buf);
	return NULL;
}

static void *receiver(void *arg)
{
	struct end *e = arg;
	uint8_t *buf = malloc(MAX_PIECE);
	uint32_t state = e->seed ^ 0x5a;
	ssize_t n = -1;

	while (buf) {
		n = rrecv(e->fd, buf, next_len(&state), 0);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != byte_at(e->peer_seed, e->received + i)) {
				e->fail = "received a wrong byte";
				free(buf);
				return NULL;
			}
		}
		e->received += (uint64_t)n;
	}
	if (n < 0)
		e->fail = buf ? "rrecv failed" : "out of memory";
	else if (e->received != TOTAL)
		e->fail = "end of stream before all bytes";
	free(buf);
	return NULL;
}

static int accepted = -1;

static void *acceptor(void *arg)
{
	accepted = raccept(*(int *)arg, NULL, NULL);
	return NULL;
}

static int connect_pair(int port, int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons((uint16_t)port) };
	int ls = rsocket(AF_INET, SOCK_STREAM, 0), one = 1;
	pthread_t t;

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (ls < 0 ||
	    rsetsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    rbind(ls, (struct sockaddr *)&sin, sizeof(sin)) || rlisten(ls, 1))
		return -1;
	pthread_create(&t, NULL, acceptor, &ls);
	*a = rsocket(AF_INET, SOCK_STREAM, 0);
	if (*a < 0 || rconnect(*a, (struct sockaddr *)&sin, sizeof(sin)))
		return -1;
	pthread_join(t, NULL);
	*b = accepted;
	rclose(ls);
	return *b < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	struct end ends[2] = {
		{ .name = "client", .seed = 1, .peer_seed = 2 },
		{ .name = "server", .seed = 2, .peer_seed = 1 }
	};
	pthread_t t[4];
	int bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: cm_rsocket_duplex PORT\n");
		return 2;
	}
	if (connect_pair(atoi(argv[1]), &ends[0].fd, &ends[1].fd)) {
		fprintf(stderr, "FAIL: connecting the pair: %s\n",
			strerror(errno));
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		pthread_create(&t[2 * i], NULL, sender, &ends[i]);
		pthread_create(&t[2 * i + 1], NULL, receiver, &ends[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 2; i++) {
		if (ends[i].fail) {
			fprintf(stderr,
				"FAIL (%s): %s after %llu bytes received\n",
				ends[i].name, ends[i].fail,
				(unsigned long long)ends[i].received);
			bad = 1;
		}
		rclose(ends[i].fd);
	}
	if (bad)
		return 1;
	printf("rsocket duplex: %u bytes each way, sent and received by "
	       "concurrent threads, every byte checked\n",
	       TOTAL);
	return 0;
}
