// SPDX-License-Identifier: MIT
/*
 * Issue #12 must-show 2: one buffer registered in 3 contexts of one
 * process (3 PDs), used by QPs of all three concurrently.
 *
 * A peer process (forked before any device is opened, so srxed sees two
 * processes) holds a buffer P of 3 segments and two RC QPs per context of
 * the main process.  The main process opens the device 3 times, allocates
 * one PD per context and registers the same heap buffer B in each of
 * them.  Then:
 *
 *  1. three threads, one per context, each RDMA-WRITE their own segment of
 *     B to the peer and RDMA-READ it back into another segment of B, 100
 *     rounds with new data each round, all at the same time; every READ
 *     must return what that thread wrote;
 *  2. the peer RDMA-WRITEs and RDMA-READs segments of B through each
 *     context's rkey; the main process sees the bytes through its pointer;
 *  3. keys stay per context: an lkey of context 0 in an SGE of a QP of
 *     context 1 completes with LOC_PROT_ERR; the peer's WRITE with context
 *     2's rkey over a QP connected to context 0 and READ with context 1's
 *     rkey over one connected to context 2 complete with REM_ACCESS_ERR,
 *     and no byte of B changes;
 *  4. a child forked now (the parent's MRs live) opens the device, and its
 *     registration lands on a slab of its own (srxed sees another
 *     process; the provider's process state was reset in the child);
 *  5. the MRs are deregistered in the order 1, 0, 2; after each, the
 *     remaining contexts' traffic (step 1 and 2 again) still works and B
 *     stays on srxed's slab (/proc/self/maps), after the last it is private
 *     memory again; B always holds exactly what the application and the
 *     peer wrote.
 *
 * usage: multi_ctx DEVICE   prints "multi_ctx: OK" or the failed check.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

static const char *who = "multi_ctx";
static int failures __attribute__((unused));
#include "itest.h"

#define NCTX   3
#define NPAIR  2 /* per context: 0 = traffic, 1 = error probes */
#define SEG    (64 * 1024)
#define ROUNDS 100
#define GIDX   1
#define RW                                                                     \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_READ)

#define CHECK(c, ...)                                                          \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "FAIL (multi_ctx.c:%d): ", __LINE__);  \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			exit(1);                                               \
		}                                                              \
	} while (0)

/* Segments of B: per context its WRITE source, READ target, peer area. */
enum { SEG_W, SEG_R, SEG_X, SEGS_PER_CTX };
#define BLEN (NCTX * SEGS_PER_CTX * SEG)

struct qp_info {
	uint32_t qpn[NCTX][NPAIR];
	union ibv_gid gid;
	uint64_t addr; /* the peer's buffer P */
	uint32_t rkey;
};

struct cmd {
	char op; /* 'W' write, 'R' read, 'Q' quit */
	uint8_t ctx, pair, seed;
	uint32_t rkey;
	uint64_t addr;
};

struct reply {
	int status;  /* ibv_wc_status, or -1: no completion */
	int data_ok; /* 'R': the bytes read are pattern(seed) */
};

static uint8_t pattern(uint32_t seed, uint32_t i)
{
	return (uint8_t)(i * 131 + seed * 7 + (i >> 9));
}

static void fill(uint8_t *p, uint32_t seed)
{
	for (uint32_t i = 0; i < SEG; i++)
		p[i] = pattern(seed, i);
}

static bool holds(const uint8_t *p, uint32_t seed)
{
	for (uint32_t i = 0; i < SEG; i++)
		if (p[i] != pattern(seed, i))
			return false;
	return true;
}

/* Remote READ/WRITE, MTU 1024, four READs in flight each way. */
static void connect_qp(struct ibv_qp *qp, uint32_t dest,
		       const union ibv_gid *gid)
{
	static const struct itest_rc_opts o = {
		.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
		.mtu = IBV_MTU_1024,
		.rd_atomic = 4,
	};

	itest_rc_connect_with(qp, dest, gid, &o);
}

/* Post one RDMA op and wait for its completion: the status, -1 if none. */
static int rdma(struct ibv_qp *qp, struct ibv_cq *cq, enum ibv_wr_opcode op,
		void *local, uint32_t lkey, uint64_t remote, uint32_t rkey)
{
	struct ibv_wc wc;
	int n;

	CHECK(!itest_post_rdma(qp, op, local, lkey, remote, rkey, SEG),
	      "post_send: %s", strerror(errno));
	n = itest_poll_one(cq, &wc, 20000);
	CHECK(n >= 0, "poll_cq");
	return n ? (int)wc.status : -1;
}

static void xfer(int fd, void *p, size_t len, bool out)
{
	uint8_t *b = p;

	while (len) {
		ssize_t n = out ? write(fd, b, len) : read(fd, b, len);

		CHECK(n > 0, "socket %s: %s", out ? "write" : "read",
		      n ? strerror(errno) : "closed");
		b += n;
		len -= (size_t)n;
	}
}

/* ---- the peer process ---- */

static void peer(const char *dev, int sock)
{
	struct ibv_context *ctx = itest_open_device(dev);
	struct ibv_pd *pd = ibv_alloc_pd(ctx);
	struct ibv_qp *qp[NCTX][NPAIR];
	struct ibv_cq *cq[NCTX][NPAIR];
	struct qp_info mine = { 0 }, theirs;
	uint8_t *p = aligned_alloc(4096, NCTX * SEG);
	uint8_t *scratch = aligned_alloc(4096, SEG);
	struct ibv_mr *pmr, *smr;
	struct cmd c;

	CHECK(pd && p && scratch, "peer setup");
	pmr = ibv_reg_mr(pd, p, NCTX * SEG, RW);
	smr = ibv_reg_mr(pd, scratch, SEG, RW);
	CHECK(pmr && smr, "peer reg_mr: %s", strerror(errno));
	for (int i = 0; i < NCTX; i++) {
		for (int j = 0; j < NPAIR; j++) {
			cq[i][j] = ibv_create_cq(ctx, 16, NULL, NULL, 0);
			CHECK(cq[i][j], "peer cq");
			qp[i][j] = itest_rc_qp(pd, cq[i][j], 8);
			CHECK(qp[i][j], "peer qp: %s", strerror(errno));
			mine.qpn[i][j] = qp[i][j]->qp_num;
		}
	}
	CHECK(!ibv_query_gid(ctx, 1, GIDX, &mine.gid), "peer gid");
	mine.addr = (uintptr_t)p;
	mine.rkey = pmr->rkey;
	xfer(sock, &mine, sizeof(mine), true);
	xfer(sock, &theirs, sizeof(theirs), false);
	for (int i = 0; i < NCTX; i++)
		for (int j = 0; j < NPAIR; j++)
			connect_qp(qp[i][j], theirs.qpn[i][j], &theirs.gid);
	xfer(sock, &mine, 1, true); /* connected */
	for (;;) {
		struct reply r = { 0 };

		xfer(sock, &c, sizeof(c), false);
		if (c.op == 'Q')
			break;
		if (c.op == 'W') {
			fill(scratch, c.seed);
			r.status = rdma(qp[c.ctx][c.pair], cq[c.ctx][c.pair],
					IBV_WR_RDMA_WRITE, scratch, smr->lkey,
					c.addr, c.rkey);
		} else {
			memset(scratch, 0, SEG);
			r.status = rdma(qp[c.ctx][c.pair], cq[c.ctx][c.pair],
					IBV_WR_RDMA_READ, scratch, smr->lkey,
					c.addr, c.rkey);
			r.data_ok = holds(scratch, c.seed);
		}
		xfer(sock, &r, sizeof(r), true);
	}
	_exit(0);
}

/* ---- the main process ---- */

struct ctx {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_qp *qp[NPAIR];
	struct ibv_cq *cq[NPAIR];
	struct ibv_mr *mr;
	int rounds_done;
};

static uint8_t *B;
static struct ctx C[NCTX];
static struct qp_info peer_info;
static int sock;
static uint8_t seed_w[NCTX], seed_x[NCTX]; /* what each segment holds */

static uint8_t *seg(int ctx, int which)
{
	return B + (size_t)(ctx * SEGS_PER_CTX + which) * SEG;
}

static uint64_t peer_seg(int ctx)
{
	return peer_info.addr + (uint64_t)ctx * SEG;
}

/* Step 1: WRITE own segment to the peer, READ it back, ROUNDS times. */
static void *traffic(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct ctx *c = &C[i];

	for (int r = 0; r < ROUNDS; r++) {
		uint8_t seed = (uint8_t)(seed_w[i] + 1 + r);
		int st;

		fill(seg(i, SEG_W), seed);
		memset(seg(i, SEG_R), 0, SEG);
		st = rdma(c->qp[0], c->cq[0], IBV_WR_RDMA_WRITE, seg(i, SEG_W),
			  c->mr->lkey, peer_seg(i), peer_info.rkey);
		CHECK(st == IBV_WC_SUCCESS, "ctx %d round %d: WRITE status %d",
		      i, r, st);
		st = rdma(c->qp[0], c->cq[0], IBV_WR_RDMA_READ, seg(i, SEG_R),
			  c->mr->lkey, peer_seg(i), peer_info.rkey);
		CHECK(st == IBV_WC_SUCCESS, "ctx %d round %d: READ status %d",
		      i, r, st);
		CHECK(holds(seg(i, SEG_R), seed),
		      "ctx %d round %d: READ returned other bytes", i, r);
		c->rounds_done++;
	}
	seed_w[i] = (uint8_t)(seed_w[i] + ROUNDS);
	return NULL;
}

static void run_traffic(const bool live[NCTX])
{
	pthread_t t[NCTX];

	for (int i = 0; i < NCTX; i++)
		if (live[i])
			CHECK(!pthread_create(&t[i], NULL, traffic,
					      (void *)(intptr_t)i),
			      "thread");
	for (int i = 0; i < NCTX; i++)
		if (live[i])
			pthread_join(t[i], NULL);
}

static struct reply ask_peer(char op, int ctx, int pair, uint8_t seed,
			     uint64_t addr, uint32_t rkey)
{
	struct cmd c = { .op = op,
			 .ctx = (uint8_t)ctx,
			 .pair = (uint8_t)pair,
			 .seed = seed,
			 .rkey = rkey,
			 .addr = addr };
	struct reply r;

	xfer(sock, &c, sizeof(c), true);
	xfer(sock, &r, sizeof(r), false);
	return r;
}

/* Step 2: the peer writes and reads segment X of ctx through its rkey. */
static void peer_access(int i)
{
	uint8_t seed = (uint8_t)(seed_x[i] + 17);
	struct reply r = ask_peer('W', i, 0, seed, (uintptr_t)seg(i, SEG_X),
				  C[i].mr->rkey);

	CHECK(r.status == IBV_WC_SUCCESS, "peer WRITE via ctx %d: status %d", i,
	      r.status);
	CHECK(holds(seg(i, SEG_X), seed),
	      "ctx %d: the peer's WRITE is not what the application sees", i);
	seed_x[i] = seed;
	fill(seg(i, SEG_X), (uint8_t)(seed + 1)); /* the application writes */
	r = ask_peer('R', i, 0, (uint8_t)(seed + 1), (uintptr_t)seg(i, SEG_X),
		     C[i].mr->rkey);
	CHECK(r.status == IBV_WC_SUCCESS && r.data_ok,
	      "peer READ via ctx %d: status %d data %d", i, r.status,
	      r.data_ok);
	seed_x[i] = (uint8_t)(seed + 1);
}

/* B holds exactly what was written (last rounds, peer and application). */
static void check_contents(const char *when)
{
	for (int i = 0; i < NCTX; i++) {
		CHECK(holds(seg(i, SEG_W), seed_w[i]) &&
			      holds(seg(i, SEG_R), seed_w[i]) &&
			      holds(seg(i, SEG_X), seed_x[i]),
		      "%s: ctx %d's segments do not hold what was written",
		      when, i);
	}
}

/* Pages of B mapped from srxed's slab memfd. */
static long slab_pages(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	uintptr_t b = (uintptr_t)B, e = b + BLEN;
	char line[512];
	long pages = 0;

	CHECK(f, "maps");
	while (fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) != 2 ||
		    hi <= b || lo >= e || !strstr(line, "srxe-slab"))
			continue;
		lo = lo < b ? b : lo;
		hi = hi > e ? e : hi;
		pages += (long)((hi - lo) / 4096);
	}
	fclose(f);
	return pages;
}

/* Step 3: keys of one context are refused in the others. */
static void foreign_keys(void)
{
	uint8_t *x0 = seg(0, SEG_X), *x2 = seg(2, SEG_X);
	struct reply r;
	int st;

	st = rdma(C[1].qp[1], C[1].cq[1], IBV_WR_RDMA_WRITE, seg(1, SEG_W),
		  C[0].mr->lkey, peer_seg(1), peer_info.rkey);
	CHECK(st == IBV_WC_LOC_PROT_ERR,
	      "lkey of ctx 0 on a QP of ctx 1: status %d (want "
	      "LOC_PROT_ERR %d)",
	      st, IBV_WC_LOC_PROT_ERR);
	r = ask_peer('W', 0, 1, 99, (uintptr_t)x0, C[2].mr->rkey);
	CHECK(r.status == IBV_WC_REM_ACCESS_ERR,
	      "rkey of ctx 2 on a QP of ctx 0: status %d (want "
	      "REM_ACCESS_ERR %d)",
	      r.status, IBV_WC_REM_ACCESS_ERR);
	r = ask_peer('R', 2, 1, 0, (uintptr_t)x2, C[1].mr->rkey);
	CHECK(r.status == IBV_WC_REM_ACCESS_ERR,
	      "rkey of ctx 1 on a QP of ctx 2: status %d (want "
	      "REM_ACCESS_ERR %d)",
	      r.status, IBV_WC_REM_ACCESS_ERR);
	check_contents("after foreign keys");
	printf("ok: keys of one context refused in the others\n");
}

/* Inode of the file mapped at addr (/proc/self/maps), 0 if none. */
static unsigned long inode_at(const void *addr)
{
	FILE *f = fopen("/proc/self/maps", "r");
	uintptr_t a = (uintptr_t)addr;
	unsigned long ino = 0;
	char line[512];

	CHECK(f, "maps");
	while (fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		unsigned long i;

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %*s %*s %lu",
			   &lo, &hi, &i) == 3 &&
		    lo <= a && a < hi)
			ino = i;
	}
	fclose(f);
	return ino;
}

/* Step 4: a forked child is another process with a slab of its own. */
static void fork_child_context(const char *dev)
{
	unsigned long parent_slab = inode_at(B);
	int status;
	pid_t pid;

	CHECK(parent_slab, "B is not on a mapped slab");
	pid = fork();
	CHECK(pid >= 0, "fork");
	if (!pid) {
		struct ibv_context *ctx = itest_open_device(dev);
		struct ibv_pd *pd = ibv_alloc_pd(ctx);
		uint8_t *buf = aligned_alloc(4096, 4 * 4096);
		struct ibv_mr *mr;
		unsigned long child_slab;

		CHECK(pd && buf, "child pd");
		memset(buf, 0x77, 4 * 4096);
		mr = ibv_reg_mr(pd, buf, 4 * 4096, RW);
		CHECK(mr, "child reg_mr: %s", strerror(errno));
		child_slab = inode_at(buf);
		CHECK(child_slab && child_slab != parent_slab,
		      "child's buffer on slab inode %lu, parent's is %lu",
		      child_slab, parent_slab);
		CHECK(buf[100] == 0x77 && !ibv_dereg_mr(mr) &&
			      buf[5000] == 0x77,
		      "child dereg");
		CHECK(!ibv_dealloc_pd(pd) && !ibv_close_device(ctx),
		      "child close");
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		      !WEXITSTATUS(status),
	      "fork child failed (status 0x%x)", status);
	check_contents("after a child used the device");
	printf("ok: a forked child registers on a slab of its own\n");
}

static void setup_main(const char *dev)
{
	struct qp_info mine = { 0 };
	char ack;

	B = aligned_alloc(4096, BLEN);
	CHECK(B, "alloc");
	memset(B, 0, BLEN);
	for (int i = 0; i < NCTX; i++) {
		fill(seg(i, SEG_W), 0);
		fill(seg(i, SEG_R), 0);
		fill(seg(i, SEG_X), 0);
	}
	for (int i = 0; i < NCTX; i++) {
		struct ctx *c = &C[i];

		c->ctx = itest_open_device(dev);
		c->pd = ibv_alloc_pd(c->ctx);
		CHECK(c->pd, "pd %d", i);
		for (int j = 0; j < NPAIR; j++) {
			c->cq[j] = ibv_create_cq(c->ctx, 16, NULL, NULL, 0);
			CHECK(c->cq[j], "cq");
			c->qp[j] = itest_rc_qp(c->pd, c->cq[j], 8);
			CHECK(c->qp[j], "qp: %s", strerror(errno));
			mine.qpn[i][j] = c->qp[j]->qp_num;
		}
	}
	CHECK(!ibv_query_gid(C[0].ctx, 1, GIDX, &mine.gid), "gid");
	xfer(sock, &mine, sizeof(mine), true);
	xfer(sock, &peer_info, sizeof(peer_info), false);
	for (int i = 0; i < NCTX; i++)
		for (int j = 0; j < NPAIR; j++)
			connect_qp(C[i].qp[j], peer_info.qpn[i][j],
				   &peer_info.gid);
	xfer(sock, &ack, 1, false);
}

static void register_everywhere(void)
{
	for (int i = 0; i < NCTX; i++) {
		C[i].mr = ibv_reg_mr(C[i].pd, B, BLEN, RW);
		CHECK(C[i].mr, "ibv_reg_mr of B in context %d: %s", i,
		      strerror(errno));
		CHECK(slab_pages() == BLEN / 4096,
		      "after registration %d, %ld of %d pages of B are on "
		      "the slab",
		      i, slab_pages(), BLEN / 4096);
		check_contents("after registration");
	}
	CHECK(C[0].mr->lkey != C[1].mr->lkey && C[1].mr->lkey != C[2].mr->lkey,
	      "contexts got the same keys");
	printf("ok: one buffer registered in %d contexts (%d PDs)\n", NCTX,
	       NCTX);
}

int main(int argc, char **argv)
{
	static const int order[NCTX] = { 1, 0, 2 };
	bool live[NCTX] = { true, true, true };
	int sv[2], status;
	pid_t child;

	CHECK(argc == 2, "usage: multi_ctx DEVICE");
	setvbuf(stdout, NULL, _IONBF, 0);
	CHECK(!socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	child = fork();
	CHECK(child >= 0, "fork");
	if (!child) {
		close(sv[0]);
		peer(argv[1], sv[1]);
	}
	close(sv[1]);
	sock = sv[0];
	setup_main(argv[1]);
	register_everywhere();

	run_traffic(live);
	for (int i = 0; i < NCTX; i++)
		peer_access(i);
	check_contents("after concurrent traffic");
	printf("ok: %d rounds of WRITE+READ on each of %d contexts at once, "
	       "peer WRITE+READ through each context's rkey\n",
	       ROUNDS, NCTX);

	foreign_keys();
	fork_child_context(argv[1]);

	for (int k = 0; k < NCTX; k++) {
		int i = order[k];
		long want = k < NCTX - 1 ? BLEN / 4096 : 0;

		CHECK(!ibv_dereg_mr(C[i].mr), "dereg ctx %d: %s", i,
		      strerror(errno));
		live[i] = false;
		C[i].mr = NULL;
		CHECK(slab_pages() == want,
		      "after dereg of ctx %d: %ld pages of B on the slab, "
		      "want %ld",
		      i, slab_pages(), want);
		check_contents("after dereg");
		if (k < NCTX - 1) {
			run_traffic(live);
			for (int j = 0; j < NCTX; j++)
				if (live[j])
					peer_access(j);
			check_contents("traffic after dereg");
		}
		printf("ok: ctx %d deregistered, %s\n", i,
		       k < NCTX - 1 ? "the others still work"
				    : "B is private memory again");
	}
	/* The application's own memory, writable as ever. */
	memset(B, 0x3c, BLEN);
	for (size_t i = 0; i < BLEN; i += 4096)
		CHECK(B[i] == 0x3c, "B not writable");

	{
		struct cmd quit = { .op = 'Q' };

		xfer(sock, &quit, sizeof(quit), true);
	}
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
		      !WEXITSTATUS(status),
	      "peer failed (status 0x%x)", status);
	for (int i = 0; i < NCTX; i++) {
		for (int j = 0; j < NPAIR; j++) {
			CHECK(!ibv_destroy_qp(C[i].qp[j]), "destroy qp");
			CHECK(!ibv_destroy_cq(C[i].cq[j]), "destroy cq");
		}
		CHECK(!ibv_dealloc_pd(C[i].pd), "dealloc pd");
		CHECK(!ibv_close_device(C[i].ctx), "close");
	}
	free(B);
	printf("multi_ctx: OK\n");
	return 0;
}
