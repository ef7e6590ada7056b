// SPDX-License-Identifier: MIT
/*
 * Issue #14 (latency on 2 cores): no lost wake-up across many engine
 * sleep/wake transitions (docs/datapath.md "Sleep and wake-up").
 *
 * THREADS threads, spread over two contexts of one device (two doorbells,
 * two context pages), each with its own pair of RC QPs connected to each
 * other, post and poll at the same time.  Before each post a thread waits
 * a random time: none, a short busy wait, or a sleep longer than the
 * engine's spin, so that the engine falls asleep often and posts race
 * with its "going to sleep" announcement.  Rounds alternate SEND (into a
 * posted receive) and RDMA WRITE, sometimes as a list of two WRs.  Every
 * WR must complete successfully with the bytes it carried; a WR left
 * unprocessed by a lost wake-up shows as a completion that never comes
 * (10 s per completion; nothing else in the run would wake the engine
 * for it except another thread's doorbell, which is why every thread
 * also sleeps on its own).
 *
 * Then each thread runs alone for a while (the engine sleeps in every
 * longer pause), and a last phase ping-pongs back to back on one thread:
 * posts while the engine is awake, so that they ring no doorbell.
 *
 * usage: wake_stress DEVICE   prints "wake_stress: OK posts N wrs M"
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

static const char *who = "wake_stress";
static int failures __attribute__((unused));
#include "itest.h"

#define THREADS	    4
#define ROUNDS	    1500
#define SOLO_ROUNDS 1000
#define BUSY_ROUNDS 3000
#define MSG	    64
#define WAIT_MS	    10000

#define CHECK(c, ...)                                                          \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr,                                        \
				"FAIL (wake_stress.c:%d): ", __LINE__);        \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			exit(1);                                               \
		}                                                              \
	} while (0)

struct dev {
	struct ibv_context *ctx;
	union ibv_gid gid;
};

struct worker {
	struct dev *dev;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *a, *b; /* a sends to b */
	struct ibv_mr *mr;
	uint8_t *buf; /* [0, 2 MSG): a's sources, [2 MSG, 4 MSG): b's */
	unsigned int seed;
	unsigned int id;
	uint64_t posts, wrs;
};

static uint8_t byte_of(unsigned int id, uint32_t round, uint32_t i)
{
	return (uint8_t)(id * 59 + round * 7 + i);
}

static void setup(struct worker *w, struct dev *dev, unsigned int id)
{
	static const struct itest_rc_opts o = {
		.access = IBV_ACCESS_REMOTE_WRITE,
		.mtu = IBV_MTU_1024,
		.rd_atomic = 1,
	};
	struct ibv_qp_init_attr qa = {
		.cap = { .max_send_wr = 8,
			 .max_recv_wr = 8,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};

	memset(w, 0, sizeof(*w));
	w->dev = dev;
	w->id = id;
	w->seed = id * 7919u + (unsigned int)getpid();
	w->pd = ibv_alloc_pd(dev->ctx);
	w->cq = ibv_create_cq(dev->ctx, 64, NULL, NULL, 0);
	CHECK(w->pd && w->cq, "pd/cq: %s", strerror(errno));
	qa.send_cq = qa.recv_cq = w->cq;
	w->a = ibv_create_qp(w->pd, &qa);
	w->b = ibv_create_qp(w->pd, &qa);
	CHECK(w->a && w->b, "create_qp: %s", strerror(errno));
	w->buf = calloc(4, MSG);
	CHECK(w->buf, "calloc");
	w->mr = ibv_reg_mr(w->pd, w->buf, 4 * MSG,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	CHECK(w->mr, "reg_mr: %s", strerror(errno));
	itest_rc_connect_pair_with(w->a, w->b, &dev->gid, &o);
}

/*
 * None, a short busy wait, or a sleep of up to 600 us: around and past
 * the engine's spin (200 us by default), so that posts land before,
 * during and after its "going to sleep" announcement.
 */
static void random_wait(struct worker *w)
{
	unsigned int r = (unsigned int)rand_r(&w->seed) % 8;
	struct timespec ts = { 0, 0 };

	if (r < 3)
		return;
	if (r < 5) {
		uint64_t until = (uint64_t)rand_r(&w->seed) % 20;

		for (volatile uint64_t i = 0; i < until * 100; i++)
			;
		return;
	}
	ts.tv_nsec = 1000 + (long)(rand_r(&w->seed) % 600) * 1000;
	nanosleep(&ts, NULL);
}

/* Completions until @want of them arrived; every one successful. */
static void reap(struct worker *w, unsigned int want, uint32_t round, bool send)
{
	struct ibv_wc wc;

	while (want) {
		int n = itest_poll_one(w->cq, &wc, WAIT_MS);

		CHECK(n == 1,
		      "thread %u round %u: a completion did not come (lost "
		      "wake-up?)",
		      w->id, round);
		CHECK(wc.status == IBV_WC_SUCCESS,
		      "thread %u round %u: %s (wr_id %" PRIu64 ")", w->id,
		      round, ibv_wc_status_str(wc.status), wc.wr_id);
		if (wc.opcode == IBV_WC_RECV)
			CHECK(send && wc.byte_len == MSG,
			      "thread %u round %u: receive of %u B", w->id,
			      round, wc.byte_len);
		want--;
	}
}

/* One round: one or two WRs from a to b, their data checked. */
static void round_trip(struct worker *w, uint32_t round, bool two)
{
	bool send = round % 2 == 0;
	unsigned int nwr = two ? 2 : 1;
	struct ibv_sge s[2], rs[2];
	struct ibv_send_wr wr[2], *bad;
	struct ibv_recv_wr rwr[2], *rbad;

	memset(wr, 0, sizeof(wr));
	memset(rwr, 0, sizeof(rwr));
	memset(w->buf + 2 * MSG, 0, 2 * MSG);
	for (unsigned int k = 0; k < nwr; k++) {
		for (uint32_t i = 0; i < MSG; i++)
			w->buf[k * MSG + i] = byte_of(w->id, round + k, i);
		s[k] = (struct ibv_sge){ (uintptr_t)(w->buf + k * MSG), MSG,
					 w->mr->lkey };
		rs[k] = (struct ibv_sge){ (uintptr_t)(w->buf + (2 + k) * MSG),
					  MSG, w->mr->lkey };
		rwr[k] = (struct ibv_recv_wr){ .wr_id = round + k,
					       .sg_list = &rs[k],
					       .num_sge = 1,
					       .next = k + 1 < nwr ? &rwr[k + 1]
								   : NULL };
		wr[k] = (struct ibv_send_wr){
			.wr_id = round + k,
			.sg_list = &s[k],
			.num_sge = 1,
			.opcode = send ? IBV_WR_SEND : IBV_WR_RDMA_WRITE,
			.send_flags = IBV_SEND_SIGNALED,
			.next = k + 1 < nwr ? &wr[k + 1] : NULL,
		};
		wr[k].wr.rdma.remote_addr = (uintptr_t)(w->buf + (2 + k) * MSG);
		wr[k].wr.rdma.rkey = w->mr->rkey;
	}
	if (send)
		CHECK(!ibv_post_recv(w->b, rwr, &rbad), "post_recv: %s",
		      strerror(errno));
	CHECK(!ibv_post_send(w->a, wr, &bad), "post_send: %s", strerror(errno));
	w->posts++;
	w->wrs += nwr;
	reap(w, send ? 2 * nwr : nwr, round, send);
	for (unsigned int k = 0; k < nwr; k++)
		for (uint32_t i = 0; i < MSG; i++)
			CHECK(w->buf[(2 + k) * MSG + i] ==
				      byte_of(w->id, round + k, i),
			      "thread %u round %u: byte %u of WR %u wrong",
			      w->id, round, i, k);
}

static void rounds(struct worker *w, uint32_t n)
{
	for (uint32_t r = 0; r < n; r++) {
		random_wait(w);
		round_trip(w, r * 2, rand_r(&w->seed) % 4 == 0);
	}
}

static void *run(void *arg)
{
	rounds(arg, ROUNDS);
	return NULL;
}

int main(int argc, char **argv)
{
	struct dev devs[2];
	struct worker w[THREADS];
	pthread_t t[THREADS];
	uint64_t posts = 0, wrs = 0;

	CHECK(argc == 2, "usage: wake_stress DEVICE");
	for (int i = 0; i < 2; i++) {
		devs[i].ctx = itest_open_device(argv[1]);
		CHECK(!ibv_query_gid(devs[i].ctx, 1, 1, &devs[i].gid),
		      "query_gid");
	}
	for (unsigned int i = 0; i < THREADS; i++)
		setup(&w[i], &devs[i % 2], i);
	for (unsigned int i = 0; i < THREADS; i++)
		CHECK(!pthread_create(&t[i], NULL, run, &w[i]),
		      "pthread_create");
	for (unsigned int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	/* One thread at a time: the engine sleeps whenever it pauses. */
	for (unsigned int i = 0; i < THREADS; i++)
		rounds(&w[i], SOLO_ROUNDS);
	/* Back to back: the engine has work at every pass. */
	for (uint32_t r = 0; r < BUSY_ROUNDS; r++)
		round_trip(&w[0], r * 2 + 1, false);
	for (unsigned int i = 0; i < THREADS; i++) {
		posts += w[i].posts;
		wrs += w[i].wrs;
		ibv_destroy_qp(w[i].a);
		ibv_destroy_qp(w[i].b);
		ibv_dereg_mr(w[i].mr);
		ibv_destroy_cq(w[i].cq);
		ibv_dealloc_pd(w[i].pd);
		free(w[i].buf);
	}
	for (int i = 0; i < 2; i++)
		ibv_close_device(devs[i].ctx);
	printf("wake_stress: OK posts %" PRIu64 " wrs %" PRIu64 "\n", posts,
	       wrs);
	return 0;
}
