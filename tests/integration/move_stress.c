// SPDX-License-Identifier: MIT
/*
 * Issue #12, must-show 3: no write is lost while registrations move pages
 * (docs/move-atomicity.md).
 *
 * Four writer threads keep storing sequence numbers into a 64 MiB private
 * buffer: writer w owns one 8-byte slot per page (page offset w * 1024) and
 * stores (MAGIC, w, seq) there, seq counting up per writer.  Before each
 * store a writer checks that the slot still holds its previous store: a
 * store lost by a move would show there, even if a later one would hide
 * it.  Meanwhile the main thread registers unaligned sub-ranges ITERATIONS
 * times in context A, keeping the last four MRs alive (overlaps pin pages
 * twice, deregistration then moves only some back), and after every
 * fourth registration a QP of a second context B RDMA-READs up to 16 KiB
 * of the new MR over the device: every 8-byte word it sees must be
 * zero or a slot value a writer really stored (right writer for that
 * offset, valid format, seq not beyond the writer's count), and words that
 * are no writer's slot must be zero.  At the end every slot must hold the
 * latest value its writer stored.
 *
 * Sub-ranges start in the first page of a 64 KiB granule and end in the
 * last page of the same or the next granule, at random bytes: their edge
 * pages are shared with bytes outside the MR (the writers' slots), while
 * the VMAs the moves leave behind (a range moved back is a new mapping that
 * does not merge with its neighbours) stay at about one per granule.
 * Otherwise the buffer fragments into thousands of VMAs and every
 * /proc/PID/maps walk (srxed's and the mover's) slows the test down.
 *
 * usage: move_stress DEVICE [ITERATIONS]   prints "move_stress: OK ..." or
 * the failed check, exit 1.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

static const char *who = "move_stress";
static int failures __attribute__((unused));
#include "itest.h"

#define BUF_BYTES (64UL << 20)
#define PAGE	  4096UL
#define NPAGES	  (BUF_BYTES / PAGE)
#define NWRITERS  4
#define SLOT_STEP 1024UL /* writer w's slot: page offset w * SLOT_STEP */
#define GRAN	  (64UL << 10)
#define NGRAN	  (BUF_BYTES / GRAN)
#define MAX_READ  (16UL << 10)
#define LIVE_MRS  4
#define MAGIC	  0x5afeULL
#define SEQ_BITS  40
#define SEQ_MASK  ((1ULL << SEQ_BITS) - 1)

#define CHECK(c, ...)                                                          \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr,                                        \
				"FAIL (move_stress.c:%d): ", __LINE__);        \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			exit(1);                                               \
		}                                                              \
	} while (0)

static uint64_t slot_value(unsigned int w, uint64_t seq)
{
	return MAGIC << 48 | (uint64_t)w << SEQ_BITS | seq;
}

static volatile uint64_t *buf;
static _Atomic int stop;

struct writer {
	pthread_t thread;
	unsigned int id;
	_Atomic uint64_t seq; /* last seq stored (published before the store) */
	uint64_t *last;	      /* per page: last seq this writer stored */
	uint64_t lost;	      /* slots found not holding the last store */
	uint64_t first_lost_page;
};

static struct writer writers[NWRITERS];

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void *writer_main(void *arg)
{
	struct writer *wr = arg;
	uint64_t x = 0x9e3779b97f4a7c15ULL * (wr->id + 1), seq = 0;
	/*
	 * Bursts of 1024 stores (a few microseconds) with 50 us naps, at nice
	 * 10: each writer still stores into pages inside most moves' windows
	 * (a move takes hundreds of microseconds), while the main thread, the
	 * mover and srxed get the CPU on a shared two-core machine.
	 */
	const struct timespec nap = { 0, 50000 };

	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < 1024; i++) {
			uint64_t p = xorshift(&x) % NPAGES;
			volatile uint64_t *slot =
				&buf[(p * PAGE + wr->id * SLOT_STEP) / 8];
			uint64_t want =
				wr->last[p] ? slot_value(wr->id, wr->last[p])
					    : 0;

			if (*slot != want && !wr->lost++)
				wr->first_lost_page = p;
			/*
			 * Announce seq before storing it: a READ that sees
			 * the store must find the count at least that high.
			 */
			atomic_store_explicit(&wr->seq, ++seq,
					      memory_order_relaxed);
			atomic_thread_fence(memory_order_release);
			*slot = slot_value(wr->id, seq);
			wr->last[p] = seq;
		}
		nanosleep(&nap, NULL);
	}
	return NULL;
}

struct side {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	union ibv_gid gid;
};

static void open_side(struct side *s, const char *dev)
{
	s->ctx = itest_open_device(dev);
	s->pd = ibv_alloc_pd(s->ctx);
	s->cq = ibv_create_cq(s->ctx, 8, NULL, NULL, 0);
	CHECK(s->pd && s->cq, "pd/cq");
	s->qp = itest_rc_qp(s->pd, s->cq, 4);
	CHECK(s->qp && !ibv_query_gid(s->ctx, 1, 1, &s->gid), "qp/gid");
}

/* Remote READ only, MTU 4096, one READ in flight each way. */
static void connect_to(struct side *s, const struct side *peer)
{
	static const struct itest_rc_opts o = {
		.access = IBV_ACCESS_REMOTE_READ,
		.mtu = IBV_MTU_4096,
		.rd_atomic = 1,
	};

	itest_rc_connect_with(s->qp, peer->qp->qp_num, &peer->gid, &o);
}

static void rdma_read(struct side *b, void *local, uint32_t lkey,
		      uint64_t remote, uint32_t rkey, uint32_t len)
{
	struct ibv_wc wc;
	int n;

	CHECK(!itest_post_rdma(b->qp, IBV_WR_RDMA_READ, local, lkey, remote,
			       rkey, len),
	      "post_send: %s", strerror(errno));
	n = itest_poll_one(b->cq, &wc, 0);
	CHECK(n == 1 && wc.status == IBV_WC_SUCCESS, "READ: %s",
	      n == 1 ? ibv_wc_status_str(wc.status) : "poll failed");
}

/* Every word a READ of buf at [from, from + len) returned is plausible. */
static void check_read(const uint64_t *got, uint64_t from, uint32_t len)
{
	uint64_t seq_now[NWRITERS];

	/* Read after the completion: any value seen was stored by then. */
	for (unsigned int w = 0; w < NWRITERS; w++)
		seq_now[w] = atomic_load_explicit(&writers[w].seq,
						  memory_order_acquire);
	for (uint32_t i = 0; i < len / 8; i++) {
		uint64_t off = from + i * 8ULL, v = got[i];
		uint64_t in_page = off % PAGE;
		unsigned int w = (unsigned int)(in_page / SLOT_STEP);

		if (in_page % SLOT_STEP || w >= NWRITERS) {
			CHECK(!v, "READ at +%lu: 0x%lx where nobody writes",
			      (unsigned long)off, (unsigned long)v);
			continue;
		}
		if (!v)
			continue; /* page not written yet */
		CHECK(v >> 48 == MAGIC && ((v >> SEQ_BITS) & 0xff) == w &&
			      (v & SEQ_MASK) && (v & SEQ_MASK) <= seq_now[w],
		      "READ at +%lu: 0x%lx is no value writer %u stored "
		      "(its count: %lu)",
		      (unsigned long)off, (unsigned long)v, w,
		      (unsigned long)seq_now[w]);
	}
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	long iterations = argc > 2 ? atol(argv[2]) : 10000;
	int access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ;
	struct ibv_mr *live[LIVE_MRS] = { 0 };
	uint64_t x = 0x2545f4914f6cdd1dULL, reads = 0, read_bytes = 0;
	uint64_t stores = 0, checked = 0;
	struct side a, b;
	struct ibv_mr *dst_mr;
	struct timespec t0;
	uint64_t *dst;

	CHECK(argc >= 2 && iterations > 0,
	      "usage: move_stress DEVICE [ITERATIONS]");
	setvbuf(stdout, NULL, _IONBF, 0);
	buf = mmap(NULL, BUF_BYTES, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED, "mmap: %s", strerror(errno));

	open_side(&a, argv[1]);
	open_side(&b, argv[1]);
	connect_to(&a, &b);
	connect_to(&b, &a);
	dst = aligned_alloc(PAGE, MAX_READ);
	CHECK(dst, "alloc");
	dst_mr = ibv_reg_mr(b.pd, dst, MAX_READ, IBV_ACCESS_LOCAL_WRITE);
	CHECK(dst_mr, "reg dst: %s", strerror(errno));

	for (unsigned int w = 0; w < NWRITERS; w++) {
		writers[w].id = w;
		writers[w].last = calloc(NPAGES, sizeof(uint64_t));
		CHECK(writers[w].last, "calloc");
		CHECK(!pthread_create(&writers[w].thread, NULL, writer_main,
				      &writers[w]),
		      "pthread_create");
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < iterations; i++) {
		uint64_t g = xorshift(&x) % (NGRAN - 1);
		uint64_t start = g * GRAN + xorshift(&x) % PAGE;
		uint64_t end =
			(g + 1 + xorshift(&x) % 2) * GRAN - xorshift(&x) % PAGE;
		uint64_t len = end - start;
		struct ibv_mr **slot = &live[i % LIVE_MRS];
		uint64_t rfrom, rlen;
		struct ibv_mr *mr;

		if (*slot)
			CHECK(!ibv_dereg_mr(*slot), "dereg (iteration %ld): %s",
			      i, strerror(errno));
		mr = ibv_reg_mr(a.pd, (void *)(buf + 0) + start, len, access);
		CHECK(mr, "reg [%lu, +%lu) (iteration %ld): %s",
		      (unsigned long)start, (unsigned long)len, i,
		      strerror(errno));
		*slot = mr;

		/* An 8-aligned window of up to MAX_READ bytes inside it. */
		rfrom = (start + 7) & ~7ULL;
		if (i % 4 || rfrom + 8 > start + len)
			continue;
		rlen = (start + len - rfrom) & ~7ULL;
		if (rlen > MAX_READ) {
			rfrom += (xorshift(&x) % (rlen - MAX_READ)) & ~7ULL;
			rlen = MAX_READ;
		}
		rdma_read(&b, dst, dst_mr->lkey, (uintptr_t)buf + rfrom,
			  mr->rkey, (uint32_t)rlen);
		check_read(dst, rfrom, (uint32_t)rlen);
		reads++;
		read_bytes += rlen;
	}
	for (int k = 0; k < LIVE_MRS; k++)
		if (live[k])
			CHECK(!ibv_dereg_mr(live[k]), "dereg: %s",
			      strerror(errno));
	atomic_store(&stop, 1);

	for (unsigned int w = 0; w < NWRITERS; w++) {
		struct writer *wr = &writers[w];

		CHECK(!pthread_join(wr->thread, NULL), "join");
		CHECK(!wr->lost,
		      "writer %u: %lu stores lost (first on page %lu)", w,
		      (unsigned long)wr->lost,
		      (unsigned long)wr->first_lost_page);
		for (uint64_t p = 0; p < NPAGES; p++) {
			uint64_t v = buf[(p * PAGE + w * SLOT_STEP) / 8];
			uint64_t want =
				wr->last[p] ? slot_value(w, wr->last[p]) : 0;

			CHECK(v == want,
			      "page %lu writer %u: 0x%lx, last stored 0x%lx "
			      "(lost write)",
			      (unsigned long)p, w, (unsigned long)v,
			      (unsigned long)want);
			checked += wr->last[p] != 0;
		}
		stores += atomic_load(&wr->seq);
		free(wr->last);
	}
	printf("move_stress: OK: %ld registrations, %lu READs (%lu KiB), "
	       "%lu stores by %d writers, %lu slots checked, %.1f s\n",
	       iterations, (unsigned long)reads,
	       (unsigned long)(read_bytes >> 10), (unsigned long)stores,
	       NWRITERS, (unsigned long)checked, seconds_since(&t0));
	CHECK(!ibv_dereg_mr(dst_mr), "dereg dst");
	free(dst);
	for (int k = 0; k < 2; k++) {
		struct side *s = k ? &b : &a;

		ibv_destroy_qp(s->qp);
		ibv_destroy_cq(s->cq);
		ibv_dealloc_pd(s->pd);
		ibv_close_device(s->ctx);
	}
	munmap((void *)buf, BUF_BYTES);
	return 0;
}
