// SPDX-License-Identifier: MIT
/*
 * Issue #12, must-show 4: fork() with registered memory, like kernel rxe
 * on a current kernel (providers/srxe/srxe_fork.h).
 *
 *   fork_e2e copy DEV      heap, stack, anonymous and read-only buffers are
 *                          registered (and RDMA-written) before fork; the
 *                          child reads them without a signal, sees the
 *                          parent's data, writes its own, finds inherited
 *                          verbs dead (EIO, close works), opens the device
 *                          again and runs RDMA on new registrations; the
 *                          parent's bytes and QPs are unaffected.
 *   fork_e2e traffic DEV N a thread runs RDMA WRITE + READ on a QP pair,
 *                          data checked each time, while the main thread
 *                          forks N children that read registered memory;
 *                          traffic must progress during and after.
 *   fork_e2e holes DEV     run with RDMAV_FORK_SAFE=1: ibv_is_fork_
 *                          initialized() is IBV_FORK_ENABLED and the child
 *                          has no mapping at registered pages.
 *   fork_e2e closed DEV    the context is closed without deregistering:
 *                          a child still gets the registered bytes.
 *   fork_e2e arena DEV     a buffer in the first page of a non-main malloc
 *                          arena is registered: glibc's fork writes that
 *                          arena's header in the child before atfork
 *                          handlers run; prints what happened to the child
 *                          ("child: exit 0": repaired on fault).
 *   fork_e2e stack DEV     the stack pages fork()'s own frames use are
 *                          registered (the child returns from the fork
 *                          syscall onto them); same report.
 *
 * Prints "fork_e2e MODE: OK" or the failed checks (exit 1).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <infiniband/verbs.h>

static const char *who = "parent";
static int failures;
#include "itest.h"

#define PAGE 4096
#define LEN  (16 * PAGE)
#define ACC                                                                    \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_READ)

/* A device with two RC QPs connected to each other. */
struct dev {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *a, *b;
};

static uint8_t pat(size_t i, unsigned int seed)
{
	return (uint8_t)(i * 131 + seed * 7 + (i >> 12));
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = pat(i, seed);
}

/* Index of the first byte that differs from the pattern, or -1. */
static long check(const uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != pat(i, seed))
			return (long)i;
	return -1;
}

/* Remote READ/WRITE, MTU 1024, one READ in flight each way. */
static const struct itest_rc_opts rc_opts = {
	.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ,
	.mtu = IBV_MTU_1024,
	.rd_atomic = 1,
};

static void dev_open(struct dev *d, const char *name)
{
	union ibv_gid gid;

	d->ctx = itest_open_device(name);
	d->pd = ibv_alloc_pd(d->ctx);
	d->cq = ibv_create_cq(d->ctx, 16, NULL, NULL, 0);
	if (!d->pd || !d->cq)
		die("pd/cq: %s", strerror(errno));
	d->a = itest_rc_qp(d->pd, d->cq, 8);
	d->b = itest_rc_qp(d->pd, d->cq, 8);
	if (!d->a || !d->b || ibv_query_gid(d->ctx, 1, 1, &gid))
		die("qp/gid: %s", strerror(errno));
	itest_rc_connect_pair_with(d->a, d->b, &gid, &rc_opts);
}

static void dev_close(struct dev *d)
{
	EXPECT(!ibv_destroy_qp(d->a) && !ibv_destroy_qp(d->b) &&
		       !ibv_destroy_cq(d->cq) && !ibv_dealloc_pd(d->pd),
	       "destroy: %s", strerror(errno));
	EXPECT(!ibv_close_device(d->ctx), "close: %s", strerror(errno));
}

/* One signaled RDMA op on QP a; true when it completed successfully. */
static bool rdma(struct dev *d, enum ibv_wr_opcode op, void *local,
		 uint32_t lkey, void *remote, uint32_t rkey, uint32_t len)
{
	struct ibv_wc wc;

	if (itest_post_rdma(d->a, op, local, lkey, (uintptr_t)remote, rkey,
			    len))
		return false;
	return itest_poll_one(d->cq, &wc, 10000) == 1 &&
	       wc.status == IBV_WC_SUCCESS;
}

static struct ibv_mr *reg(struct ibv_pd *pd, void *p, size_t n, int acc)
{
	struct ibv_mr *mr = ibv_reg_mr(pd, p, n, acc);

	if (!mr)
		die("ibv_reg_mr(%p, %zu): %s", p, n, strerror(errno));
	return mr;
}

/* ---- a write that may fault, for read-only checks ---- */

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	siglongjmp(fault_jmp, sig);
}

/* true when a one-byte write at p raises SIGSEGV (p unchanged). */
static bool write_faults(volatile uint8_t *p)
{
	struct sigaction sa = { .sa_handler = on_fault }, old;
	bool faulted = false;

	sigaction(SIGSEGV, &sa, &old);
	if (!sigsetjmp(fault_jmp, 1))
		*p = (uint8_t)(*p + 1);
	else
		faulted = true;
	sigaction(SIGSEGV, &old, NULL);
	return faulted;
}

/* A child's exit status as words; true when it exited with 0. */
static bool reaped_ok(pid_t pid, const char *what)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		return EXPECT(false, "%s: waitpid: %s", what, strerror(errno));
	if (WIFSIGNALED(st))
		return EXPECT(false, "%s: child killed by signal %d", what,
			      WTERMSIG(st));
	return EXPECT(WIFEXITED(st) && !WEXITSTATUS(st),
		      "%s: child exited with %d", what, WEXITSTATUS(st));
}

/* Reap @pid, print "child: signal N" or "child: exit N"; dies otherwise. */
static void print_child_end(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	if (WIFSIGNALED(st))
		printf("child: signal %d\n", WTERMSIG(st));
	else
		printf("child: exit %d\n", WEXITSTATUS(st));
}

/* ---- copy ---- */

struct bufs {
	uint8_t *heap, *stack, *anon, *ro, *src;
	size_t heap_len;
	uint8_t *part;	/* two overlapping MRs, one deregistered */
	uint8_t *remap; /* registered, then unmapped and mapped anew */
	uint8_t *later; /* the parent rewrites it as soon as fork returns */
};

/* Checks in the child; returns the exit status. */
static int copy_child(const char *name, struct dev *inh, struct bufs *b,
		      struct ibv_mr *inh_mr)
{
	struct ibv_send_wr wr = { .opcode = IBV_WR_SEND }, *bad;
	struct ibv_mr *mr, *smr;
	struct dev d;
	long at;

	who = "child";
	/* the parent's data as of the fork, no signal */
	EXPECT((at = check(b->heap, b->heap_len, 1)) < 0, "heap byte %ld", at);
	EXPECT((at = check(b->stack, 2 * PAGE, 2)) < 0, "stack byte %ld", at);
	EXPECT((at = check(b->anon, LEN, 9)) < 0,
	       "anon (RDMA-written) byte %ld", at);
	EXPECT((at = check(b->ro, PAGE, 4)) < 0, "read-only byte %ld", at);
	EXPECT(write_faults(b->ro), "read-only page writable in the child");
	EXPECT((at = check(b->part, 5 * PAGE, 7)) < 0,
	       "partly released byte %ld", at);
	EXPECT((at = check(b->remap, LEN, 15)) < 0,
	       "the application's new mapping, byte %ld", at);
	EXPECT((at = check(b->later, LEN, 16)) < 0,
	       "the parent's write after fork() reached the child (byte %ld)",
	       at);
	/* our own copy: write it */
	fill(b->heap, b->heap_len, 11);
	fill(b->stack, 2 * PAGE, 12);
	fill(b->anon, LEN, 13);
	EXPECT(check(b->heap, b->heap_len, 11) < 0 &&
		       check(b->stack, 2 * PAGE, 12) < 0 &&
		       check(b->anon, LEN, 13) < 0,
	       "child's own writes did not stick");

	/* inherited objects are dead here, and nothing reaches srxed */
	errno = 0;
	EXPECT(!ibv_alloc_pd(inh->ctx) && errno == EIO,
	       "alloc_pd on an inherited context: errno %d (want EIO)", errno);
	EXPECT(ibv_post_send(inh->a, &wr, &bad) == EIO,
	       "post_send on an inherited QP (want EIO)");
	EXPECT(!ibv_dereg_mr(inh_mr), "dereg of an inherited MR: %s",
	       strerror(errno));
	EXPECT(check(b->anon, LEN, 13) < 0, "memory kept after that dereg");
	dev_close(inh);

	/* a new context works */
	dev_open(&d, name);
	mr = reg(d.pd, b->heap, b->heap_len, ACC);
	smr = reg(d.pd, b->src, LEN, ACC);
	fill(b->src, LEN, 21);
	EXPECT(rdma(&d, IBV_WR_RDMA_WRITE, b->src, smr->lkey, b->heap, mr->rkey,
		    (uint32_t)b->heap_len),
	       "RDMA WRITE on the child's context");
	EXPECT((at = check(b->heap, b->heap_len, 21)) < 0,
	       "child WRITE: heap byte %ld", at);
	memset(b->src, 0, LEN);
	EXPECT(rdma(&d, IBV_WR_RDMA_READ, b->src, smr->lkey, b->heap, mr->rkey,
		    (uint32_t)b->heap_len),
	       "RDMA READ on the child's context");
	EXPECT((at = check(b->src, b->heap_len, 21)) < 0,
	       "child READ: byte %ld", at);
	EXPECT(!ibv_dereg_mr(mr) && !ibv_dereg_mr(smr), "child dereg");
	dev_close(&d);
	return failures ? 1 : 0;
}

static int run_copy(const char *name)
{
	uint8_t stack[2 * PAGE] __attribute__((aligned(PAGE)));
	struct ibv_mr *mh, *ms, *ma, *mro, *msrc, *mpart, *mpart2, *mremap_mr,
		*mremap2, *mlater;
	struct bufs b = { .stack = stack, .heap_len = 3 * PAGE + 123 };
	struct dev d;
	pid_t pid;
	long at;

	dev_open(&d, name);
	b.heap = malloc(b.heap_len);
	b.anon = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b.ro = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b.src = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!b.heap || b.anon == MAP_FAILED || b.ro == MAP_FAILED ||
	    b.src == MAP_FAILED)
		die("buffers");
	fill(b.heap, b.heap_len, 1);
	fill(b.stack, sizeof(stack), 2);
	fill(b.ro, PAGE, 4);
	mprotect(b.ro, PAGE, PROT_READ);
	mh = reg(d.pd, b.heap, b.heap_len, ACC);
	ms = reg(d.pd, b.stack, sizeof(stack), ACC);
	ma = reg(d.pd, b.anon, LEN, ACC);
	mro = reg(d.pd, b.ro, PAGE, IBV_ACCESS_REMOTE_READ);
	msrc = reg(d.pd, b.src, LEN, ACC);
	/*
	 * Pages 0-2 then 2-4: the second MR moves only 3-4; dropping the
	 * first releases 0-1 (a piece of the first run).
	 */
	b.part = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	b.remap = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b.part == MAP_FAILED || b.remap == MAP_FAILED)
		die("buffers");
	fill(b.part, 5 * PAGE, 7);
	mpart = reg(d.pd, b.part, 3 * PAGE, ACC);
	mpart2 = reg(d.pd, b.part + 2 * PAGE, 3 * PAGE, ACC);
	EXPECT(!ibv_dereg_mr(mpart), "dereg of the first overlapping MR");
	/* registered, then replaced by the application without dereg */
	mremap_mr = reg(d.pd, b.remap, LEN, ACC);
	if (mmap(b.remap, LEN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != b.remap)
		die("mmap over a registered buffer");
	fill(b.remap, LEN, 15);
	/*
	 * ... and registered again: refused while the old MR lives (it
	 * would get the old frames, docs/compat.md); after the old MR's
	 * dereg (which must leave the new mapping alone) srxed moves the
	 * new pages, and the child must see the application's bytes.
	 */
	errno = 0;
	mremap2 = ibv_reg_mr(d.pd, b.remap, LEN, ACC);
	EXPECT(!mremap2 && errno == EBUSY,
	       "registered over a replaced buffer whose MR lives: %p errno %d",
	       (void *)mremap2, errno);
	EXPECT(!ibv_dereg_mr(mremap_mr), "dereg of the replaced buffer's MR");
	EXPECT(check(b.remap, LEN, 15) < 0, "new mapping after the old dereg");
	mremap2 = reg(d.pd, b.remap, LEN, ACC);
	b.later = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b.later == MAP_FAILED)
		die("buffers");
	fill(b.later, LEN, 16);
	mlater = reg(d.pd, b.later, LEN, ACC);
	/* the anonymous buffer's bytes come from srxed's engine */
	fill(b.src, LEN, 9);
	EXPECT(rdma(&d, IBV_WR_RDMA_WRITE, b.src, msrc->lkey, b.anon, ma->rkey,
		    LEN),
	       "RDMA WRITE before fork");
	EXPECT(check(b.anon, LEN, 9) < 0, "anon after WRITE");

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid)
		_exit(copy_child(name, &d, &b, ma));
	fill(b.later, LEN, 17); /* fork() returned: the child has its copy */
	reaped_ok(pid, "copy");

	/* the child's writes stayed in the child */
	EXPECT((at = check(b.heap, b.heap_len, 1)) < 0, "heap byte %ld", at);
	EXPECT((at = check(b.stack, sizeof(stack), 2)) < 0, "stack byte %ld",
	       at);
	EXPECT((at = check(b.anon, LEN, 9)) < 0, "anon byte %ld", at);
	EXPECT(write_faults(b.ro), "read-only page writable in the parent");
	/* the parent's MRs and QPs still work */
	fill(b.src, LEN, 31);
	EXPECT(rdma(&d, IBV_WR_RDMA_WRITE, b.src, msrc->lkey, b.anon, ma->rkey,
		    LEN),
	       "RDMA WRITE after fork");
	EXPECT((at = check(b.anon, LEN, 31)) < 0, "anon byte %ld", at);
	memset(b.src, 0, LEN);
	EXPECT(rdma(&d, IBV_WR_RDMA_READ, b.src, msrc->lkey, b.heap, mh->rkey,
		    (uint32_t)b.heap_len),
	       "RDMA READ after fork");
	EXPECT((at = check(b.src, b.heap_len, 1)) < 0, "READ byte %ld", at);
	EXPECT(!ibv_dereg_mr(mh) && !ibv_dereg_mr(ms) && !ibv_dereg_mr(ma) &&
		       !ibv_dereg_mr(mro) && !ibv_dereg_mr(msrc),
	       "dereg");
	EXPECT(check(b.heap, b.heap_len, 1) < 0 &&
		       check(b.stack, sizeof(stack), 2) < 0,
	       "contents after dereg");
	EXPECT((at = check(b.part, 5 * PAGE, 7)) < 0,
	       "partly released byte %ld", at);
	EXPECT((at = check(b.remap, LEN, 15)) < 0, "new mapping byte %ld", at);
	EXPECT(check(b.later, LEN, 17) < 0, "parent's write after fork");
	EXPECT(!ibv_dereg_mr(mpart2) && !ibv_dereg_mr(mremap2) &&
		       !ibv_dereg_mr(mlater),
	       "dereg of the overlapping / replaced MRs");
	EXPECT(check(b.part, 5 * PAGE, 7) < 0 && check(b.remap, LEN, 15) < 0,
	       "contents after those deregs");
	dev_close(&d);
	free(b.heap);
	return 0;
}

/* ---- traffic across forks ---- */

struct traffic {
	struct dev *d;
	uint8_t *local, *remote;
	struct ibv_mr *lmr, *rmr;
	volatile int stop;
	volatile unsigned long rounds;
	volatile int bad; /* first failed round, or 0 */
	uint8_t *churn;	  /* registered and deregistered all the time */
	volatile unsigned long churns;
	volatile int churn_err; /* errno of a failed reg/dereg, or 0 */
};

/*
 * Overlapping registrations come and go on a buffer nobody writes, so
 * every fork happens with runs being moved, split and moved back.
 */
static void *churn_main(void *arg)
{
	struct traffic *t = arg;

	for (unsigned int k = 0; !t->stop; k++) {
		size_t a = (k % 8) * PAGE, b = ((k + 3) % 8) * PAGE;
		struct ibv_mr *m1 = ibv_reg_mr(t->d->pd, t->churn + a,
					       (1 + k % 5) * PAGE, ACC);
		struct ibv_mr *m2 =
			ibv_reg_mr(t->d->pd, t->churn + b, 6 * PAGE, ACC);

		if (!m1 || !m2 || ibv_dereg_mr(m1) || ibv_dereg_mr(m2)) {
			t->churn_err = errno ?: EIO;
			break;
		}
		t->churns++;
	}
	return NULL;
}

static void *traffic_main(void *arg)
{
	struct traffic *t = arg;

	for (unsigned int k = 1; !t->stop; k++) {
		fill(t->local, PAGE, k);
		if (!rdma(t->d, IBV_WR_RDMA_WRITE, t->local, t->lmr->lkey,
			  t->remote, t->rmr->rkey, PAGE) ||
		    check(t->remote, PAGE, k) >= 0) {
			t->bad = (int)k;
			break;
		}
		memset(t->local, 0, PAGE);
		if (!rdma(t->d, IBV_WR_RDMA_READ, t->local, t->lmr->lkey,
			  t->remote + PAGE, t->rmr->rkey, PAGE) ||
		    check(t->local, PAGE, 77) >= 0) {
			t->bad = (int)k;
			break;
		}
		t->rounds++;
	}
	return NULL;
}

static unsigned long wait_rounds(struct traffic *t, unsigned long n)
{
	unsigned long start = t->rounds;
	uint64_t deadline = now_ms() + 10000;

	while (t->rounds - start < n && !t->bad && now_ms() < deadline)
		usleep(1000);
	return t->rounds - start;
}

static int run_traffic(const char *name, int nforks)
{
	struct traffic t = { 0 };
	unsigned long before, during, after;
	uint8_t *still;
	struct ibv_mr *smr;
	pthread_t th, ch;
	struct dev d;

	dev_open(&d, name);
	t.d = &d;
	t.churn = mmap(NULL, LEN, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t.churn == MAP_FAILED)
		die("churn buffer");
	fill(t.churn, LEN, 23);
	t.local = aligned_alloc(PAGE, PAGE);
	t.remote = aligned_alloc(PAGE, 2 * PAGE);
	still = aligned_alloc(PAGE, LEN);
	if (!t.local || !t.remote || !still)
		die("buffers");
	fill(t.remote + PAGE, PAGE, 77);
	fill(still, LEN, 5);
	t.lmr = reg(d.pd, t.local, PAGE, ACC);
	t.rmr = reg(d.pd, t.remote, 2 * PAGE, ACC);
	smr = reg(d.pd, still, LEN, ACC);
	if (pthread_create(&th, NULL, traffic_main, &t) ||
	    pthread_create(&ch, NULL, churn_main, &t))
		die("pthread_create");
	before = wait_rounds(&t, 20);
	during = t.rounds;
	for (int i = 0; i < nforks && !t.bad; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork %d: %s", i, strerror(errno));
		if (!pid) {
			/* an inherited registered buffer, the traffic's
			 * read source and the churned buffer: nobody
			 * writes them */
			_exit(check(still, LEN, 5) >= 0		      ? 3
			      : check(t.remote + PAGE, PAGE, 77) >= 0 ? 4
			      : check(t.churn, LEN, 23) >= 0	      ? 5
								      : 0);
		}
		if (!reaped_ok(pid, "traffic fork"))
			break;
	}
	during = t.rounds - during;
	after = wait_rounds(&t, 20);
	t.stop = 1;
	pthread_join(th, NULL);
	pthread_join(ch, NULL);
	printf("traffic: %lu rounds before, %lu during %d forks, %lu after; "
	       "%lu reg/dereg cycles\n",
	       before, during, nforks, after, t.churns);
	EXPECT(!t.churn_err, "reg/dereg failed: %s", strerror(t.churn_err));
	EXPECT(t.churns > 0, "no reg/dereg cycle");
	EXPECT(check(t.churn, LEN, 23) < 0, "churned buffer changed");
	EXPECT(!t.bad, "traffic round %d failed", t.bad);
	EXPECT(before >= 20 && after >= 20, "traffic did not progress");
	EXPECT(during > 0, "no traffic while forking");
	EXPECT(check(still, LEN, 5) < 0, "parent's buffer changed");
	EXPECT(!ibv_dereg_mr(t.lmr) && !ibv_dereg_mr(t.rmr) &&
		       !ibv_dereg_mr(smr),
	       "dereg");
	dev_close(&d);
	free(t.local);
	free(t.remote);
	free(still);
	munmap(t.churn, LEN);
	return 0;
}

/* ---- RDMAV_FORK_SAFE: libibverbs' contract ---- */

static int run_holes(const char *name)
{
	uint8_t *buf = aligned_alloc(PAGE, LEN);
	unsigned char vec[LEN / PAGE];
	struct ibv_mr *mr;
	struct dev d;
	pid_t pid;
	int st;

	dev_open(&d, name);
	if (!buf)
		die("buffer");
	fill(buf, LEN, 6);
	mr = reg(d.pd, buf, LEN, ACC);
	EXPECT(ibv_is_fork_initialized() == IBV_FORK_ENABLED,
	       "ibv_is_fork_initialized() = %d, want IBV_FORK_ENABLED (1)",
	       (int)ibv_is_fork_initialized());
	fflush(NULL);
	pid = fork();
	if (!pid) {
		struct dev nd;

		who = "child";
		/* no mapping there: mincore says ENOMEM */
		if (!mincore(buf, LEN, vec) || errno != ENOMEM)
			_exit(4);
		dev_open(&nd, name); /* the device still works */
		dev_close(&nd);
		if (failures)
			_exit(5);
		signal(SIGSEGV, SIG_DFL);	/* not a sanitizer's report */
		(void)*(volatile uint8_t *)buf; /* SIGSEGV */
		_exit(6);
	}
	EXPECT(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) &&
		       WTERMSIG(st) == SIGSEGV,
	       "child status 0x%x, want killed by SIGSEGV", st);
	EXPECT(check(buf, LEN, 6) < 0, "parent's buffer");
	EXPECT(!ibv_dereg_mr(mr), "dereg");
	dev_close(&d);
	free(buf);
	return 0;
}

/* ---- a context closed with its MR still registered ---- */

static struct ibv_mr *closed_mr; /* reachable: not a leak */

static int run_closed(const char *name)
{
	uint8_t *buf = aligned_alloc(PAGE, LEN);
	struct ibv_context *ctx = itest_open_device(name);
	struct ibv_pd *pd = ibv_alloc_pd(ctx);
	pid_t pid;

	if (!buf || !pd)
		die("buffer/pd");
	fill(buf, LEN, 8);
	closed_mr = reg(pd, buf, LEN, ACC); /* never deregistered */
	EXPECT(!ibv_close_device(ctx), "close: %s", strerror(errno));
	pid = fork();
	if (!pid)
		_exit(check(buf, LEN, 8) < 0 ? 0 : 3);
	reaped_ok(pid, "closed");
	EXPECT(check(buf, LEN, 8) < 0, "parent's buffer");
	free(buf);
	return 0;
}

/* ---- glibc's writes before the atfork handlers ---- */

static void *arena_alloc(void *arg)
{
	/* this thread's first malloc creates a new arena; the chunk lies in
	 * the arena heap's first page, next to its malloc_state */
	*(void **)arg = malloc(64);
	return NULL;
}

static int run_arena(const char *name)
{
	struct ibv_mr *mr;
	struct dev d;
	pthread_t th;
	void *p = NULL;
	pid_t pid;

	dev_open(&d, name);
	if (pthread_create(&th, NULL, arena_alloc, &p) ||
	    pthread_join(th, NULL) || !p)
		die("thread");
	memset(p, 0x3c, 64);
	mr = reg(d.pd, p, 64, ACC);
	fflush(NULL);
	pid = fork();
	if (!pid)
		_exit(((uint8_t *)p)[10] == 0x3c ? 0 : 3);
	print_child_end(pid);
	EXPECT(!ibv_dereg_mr(mr), "dereg");
	dev_close(&d);
	free(p);
	return 0;
}

/* The pages below our frame, where fork() will run, registered. */
static __attribute__((noinline)) int run_stack(const char *name)
{
	volatile uint8_t mark[64];
	uintptr_t hi, lo;
	struct ibv_mr *mr;
	struct dev d;
	pid_t pid;

	dev_open(&d, name); /* deep calls: the stack below us exists */
	memset((void *)mark, 0x5e, sizeof(mark));
	hi = ((uintptr_t)mark + sizeof(mark) + PAGE - 1) &
	     ~(uintptr_t)(PAGE - 1);
	lo = ((uintptr_t)mark & ~(uintptr_t)(PAGE - 1)) - 2 * PAGE;
	mr = reg(d.pd, (void *)lo, hi - lo, ACC);
	/* the child's fault goes to the default action, not a sanitizer */
	signal(SIGSEGV, SIG_DFL);
	pid = fork();
	if (!pid)
		_exit(mark[10] == 0x5e ? 0 : 3);
	print_child_end(pid);
	EXPECT(mark[10] == 0x5e, "parent's stack");
	EXPECT(!ibv_dereg_mr(mr), "dereg");
	dev_close(&d);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && !strcmp(argv[1], "copy"))
		run_copy(argv[2]);
	else if (argc == 4 && !strcmp(argv[1], "traffic"))
		run_traffic(argv[2], atoi(argv[3]));
	else if (argc == 3 && !strcmp(argv[1], "holes"))
		run_holes(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "arena"))
		run_arena(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "closed"))
		run_closed(argv[2]);
	else if (argc == 3 && !strcmp(argv[1], "stack"))
		run_stack(argv[2]);
	else
		die("usage: fork_e2e copy|holes|closed|arena|stack DEV | "
		    "traffic DEV "
		    "N");
	if (failures)
		return 1;
	printf("fork_e2e %s: OK\n", argv[1]);
	return 0;
}
