// SPDX-License-Identifier: MIT
/*
 * Per-client limits (issue #6): query_device reports what `srxe up
 * --max-qp/--max-cq/--max-mr/--max-reg-bytes` set, and one context can
 * create exactly that many objects; the next one fails with ENOMEM (as
 * rxe does when a pool is exhausted), and freeing one makes room again.
 *
 * usage: limits DEVICE MAX_QP MAX_CQ MAX_MR MAX_REG_BYTES
 * Prints "PASS" and exits 0, or names every failed check and exits 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <infiniband/verbs.h>

static const char *who = "limits";
static int failures;
#include "itest.h"

static struct ibv_context *open_dev(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	for (int i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	ibv_free_device_list(list);
	if (!ctx)
		die("cannot open %s: %s", name, strerror(errno));
	return ctx;
}

static void check_attrs(struct ibv_context *ctx, long qp, long cq, long mr,
			unsigned long long reg)
{
	struct ibv_device_attr a;

	if (ibv_query_device(ctx, &a))
		die("ibv_query_device: %s", strerror(errno));
	EXPECT(a.max_qp == qp, "max_qp %d, expected %ld", a.max_qp, qp);
	EXPECT(a.max_cq == cq, "max_cq %d, expected %ld", a.max_cq, cq);
	EXPECT(a.max_mr == mr, "max_mr %d, expected %ld", a.max_mr, mr);
	EXPECT(a.max_mr_size == reg, "max_mr_size %llu, expected %llu",
	       (unsigned long long)a.max_mr_size, reg);
}

static void check_cqs(struct ibv_context *ctx, long max)
{
	struct ibv_cq **cq = calloc(max + 1, sizeof(*cq));
	long n = 0;

	while (n <= max && (cq[n] = ibv_create_cq(ctx, 4, NULL, NULL, 0)))
		n++;
	EXPECT(n == max, "created %ld CQs, limit %ld", n, max);
	EXPECT(n > max || errno == ENOMEM, "CQ past the limit: %s",
	       strerror(errno));
	if (n) {
		EXPECT(!ibv_destroy_cq(cq[--n]), "destroy_cq");
		cq[n] = ibv_create_cq(ctx, 4, NULL, NULL, 0);
		EXPECT(cq[n] != NULL, "CQ after freeing one: %s",
		       strerror(errno));
		n += cq[n] != NULL;
	}
	while (n)
		EXPECT(!ibv_destroy_cq(cq[--n]), "destroy_cq");
	free(cq);
	printf("ok: %ld CQs, then ENOMEM\n", max);
}

static struct ibv_qp *qp_on(struct ibv_pd *pd, struct ibv_cq *cq)
{
	struct ibv_qp_init_attr a = {
		.send_cq = cq,
		.recv_cq = cq,
		.cap = { .max_send_wr = 1,
			 .max_recv_wr = 1,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};

	return ibv_create_qp(pd, &a);
}

static void check_qps(struct ibv_context *ctx, struct ibv_pd *pd, long max)
{
	struct ibv_cq *cq = ibv_create_cq(ctx, 4, NULL, NULL, 0);
	struct ibv_qp **qp = calloc(max + 1, sizeof(*qp));
	long n = 0;

	if (!cq)
		die("create_cq: %s", strerror(errno));
	while (n <= max && (qp[n] = qp_on(pd, cq)))
		n++;
	EXPECT(n == max, "created %ld QPs, limit %ld", n, max);
	EXPECT(n > max || errno == ENOMEM, "QP past the limit: %s",
	       strerror(errno));
	if (n) {
		EXPECT(!ibv_destroy_qp(qp[--n]), "destroy_qp");
		qp[n] = qp_on(pd, cq);
		EXPECT(qp[n] != NULL, "QP after freeing one: %s",
		       strerror(errno));
		n += qp[n] != NULL;
	}
	while (n)
		EXPECT(!ibv_destroy_qp(qp[--n]), "destroy_qp");
	EXPECT(!ibv_destroy_cq(cq), "destroy_cq");
	free(qp);
	printf("ok: %ld QPs, then ENOMEM\n", max);
}

static void check_mrs(struct ibv_pd *pd, long max)
{
	struct ibv_mr **mr = calloc(max + 1, sizeof(*mr));
	char *buf = mmap(NULL, (max + 1) * 4096, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long n = 0;

	if (buf == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	while (n <= max && (mr[n] = ibv_reg_mr(pd, buf + n * 4096, 4096,
					       IBV_ACCESS_LOCAL_WRITE)))
		n++;
	EXPECT(n == max, "registered %ld MRs, limit %ld", n, max);
	EXPECT(n > max || errno == ENOMEM, "MR past the limit: %s",
	       strerror(errno));
	while (n)
		EXPECT(!ibv_dereg_mr(mr[--n]), "dereg_mr");
	munmap(buf, (max + 1) * 4096);
	free(mr);
	printf("ok: %ld MRs, then ENOMEM\n", max);
}

/* max_mr_size bytes in one MR work; one page more in total does not. */
static void check_reg_bytes(struct ibv_pd *pd, unsigned long long max)
{
	size_t len = max + 4096;
	char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct ibv_mr *big, *more;

	if (buf == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	big = ibv_reg_mr(pd, buf, max, IBV_ACCESS_LOCAL_WRITE);
	EXPECT(big != NULL, "MR of max_mr_size bytes: %s", strerror(errno));
	more = ibv_reg_mr(pd, buf + max, 4096, IBV_ACCESS_LOCAL_WRITE);
	EXPECT(!more && errno == ENOMEM, "one page past max_mr_size: %s",
	       more ? "registered" : strerror(errno));
	if (more)
		ibv_dereg_mr(more);
	if (big)
		EXPECT(!ibv_dereg_mr(big), "dereg_mr");
	munmap(buf, len);
	printf("ok: %llu registered bytes, then ENOMEM\n", max);
}

int main(int argc, char **argv)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd;

	if (argc != 6)
		die("usage: limits DEVICE MAX_QP MAX_CQ MAX_MR MAX_REG_BYTES");
	ctx = open_dev(argv[1]);
	pd = ibv_alloc_pd(ctx);
	if (!pd)
		die("alloc_pd: %s", strerror(errno));
	check_attrs(ctx, atol(argv[2]), atol(argv[3]), atol(argv[4]),
		    strtoull(argv[5], NULL, 0));
	check_cqs(ctx, atol(argv[3]));
	check_qps(ctx, pd, atol(argv[2]));
	check_mrs(pd, atol(argv[4]));
	check_reg_bytes(pd, strtoull(argv[5], NULL, 0));
	EXPECT(!ibv_dealloc_pd(pd), "dealloc_pd");
	EXPECT(!ibv_close_device(ctx), "close_device");
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
