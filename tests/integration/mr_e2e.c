// SPDX-License-Identifier: MIT
/*
 * Memory registration through the real libibverbs and the srxe provider:
 * an unmodified-style verbs program registering every kind of buffer.
 *
 *   mr_e2e basic DEV shortcut|mtt   buffers, patterns, keys, errors
 *   mr_e2e limit DEV BYTES          registering past --max-reg-bytes
 *   mr_e2e many DEV                 max_mr concurrent MRs, then one more
 *   mr_e2e hold DEV N               register N MRs, print "holding", wait
 *   mr_e2e proto SOCKET DEV         REG/DEREG conversation on the raw
 *                                   protocol: ownership, quarantine, runs
 *
 * Exit 0 when every expectation held; every failure is printed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "srxe/client.h"
#include "srxe/proto.h"

static const char *who = "mr_e2e";
static int failures;

#include "itest.h"

#define RW (IBV_ACCESS_LOCAL_WRITE)
#define ALL                                                                    \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)
#define PAGE 4096ul

struct dev {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_device_attr attr;
	bool shortcut;
};

static void open_dev(struct dev *d, const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);

	d->ctx = NULL;
	for (int i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			d->ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	if (!d->ctx) {
		fprintf(stderr, "FAIL: cannot open %s\n", name);
		exit(1);
	}
	d->pd = ibv_alloc_pd(d->ctx);
	if (!d->pd || ibv_query_device(d->ctx, &d->attr)) {
		fprintf(stderr, "FAIL: alloc_pd/query_device on %s\n", name);
		exit(1);
	}
}

static void close_dev(struct dev *d)
{
	EXPECT(ibv_dealloc_pd(d->pd) == 0, "dealloc_pd: %s", strerror(errno));
	EXPECT(ibv_close_device(d->ctx) == 0, "close_device");
}

static uint8_t pattern(uintptr_t addr, unsigned seed)
{
	return (uint8_t)(addr * 2654435761u >> 13) ^ (uint8_t)seed;
}

static void fill(void *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = pattern((uintptr_t)buf + i, seed);
}

/* Index of the first byte that differs from the pattern, or len. */
static size_t check(const void *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		if (((const uint8_t *)buf)[i] !=
		    pattern((uintptr_t)buf + i, seed))
			return i;
	return len;
}

/* Is the page of addr mapped from srxe's slab memfd right now? */
static bool on_slab(const void *addr)
{
	uintptr_t a = (uintptr_t)addr, lo, hi;
	char line[512];
	bool hit = false;
	FILE *f = fopen("/proc/self/maps", "r");

	while (f && !hit && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && a >= lo && a < hi)
			hit = strstr(line, "srxe-slab") != NULL;
	if (f)
		fclose(f);
	return hit;
}

/*
 * Register [buf, buf + len) (pattern already in place), check keys,
 * contents and writability while registered, deregister, check again.
 */
static void reg_cycle(struct dev *d, const char *what, uint8_t *buf, size_t len,
		      int access, unsigned seed)
{
	struct ibv_mr *mr = ibv_reg_mr(d->pd, buf, len, access);
	size_t bad;

	EXPECT(mr, "%s: reg_mr(%zu bytes) failed: %s", what, len,
	       strerror(errno));
	if (!mr)
		return;
	EXPECT(mr->addr == buf && mr->length == len && mr->pd == d->pd &&
		       mr->context == d->ctx,
	       "%s: mr fields", what);
	EXPECT(mr->lkey != 0, "%s: lkey 0", what);
	/* issued also without remote rights, as rxe (ibv_rereg_mr) */
	EXPECT(mr->rkey != 0, "%s: rkey 0", what);
	if (d->shortcut && mr->rkey)
		EXPECT(mr->lkey != mr->rkey, "%s: lkey == rkey", what);
	EXPECT(on_slab(buf) && on_slab(buf + len - 1),
	       "%s: buffer not moved onto the slab", what);
	bad = check(buf, len, seed);
	EXPECT(bad == len, "%s: byte %zu changed by reg_mr", what, bad);
	fill(buf, len, seed + 1); /* still writable */
	bad = check(buf, len, seed + 1);
	EXPECT(bad == len, "%s: byte %zu not writable", what, bad);
	EXPECT(ibv_dereg_mr(mr) == 0, "%s: dereg_mr: %s", what,
	       strerror(errno));
	EXPECT(!on_slab(buf), "%s: still on the slab after dereg", what);
	bad = check(buf, len, seed + 1);
	EXPECT(bad == len, "%s: byte %zu changed by dereg_mr", what, bad);
	fill(buf, len, seed + 2);
	EXPECT(check(buf, len, seed + 2) == len, "%s: not writable after",
	       what);
}

static void buffers(struct dev *d)
{
	uint8_t stack_buf[3000];
	size_t big = 24ul << 20;
	uint8_t *heap = malloc(100003), *one = malloc(1);
	uint8_t *map = mmap(NULL, big, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	fill(heap, 100003, 1);
	reg_cycle(d, "heap unaligned", heap + 5, 99990, RW, 1);
	fill(stack_buf, sizeof(stack_buf), 3);
	reg_cycle(d, "stack", stack_buf + 1, sizeof(stack_buf) - 2, ALL, 3);
	fill(one, 1, 5);
	reg_cycle(d, "1 byte", one, 1, 0, 5);
	EXPECT(map != MAP_FAILED, "mmap");
	/* Only part of it touched: untouched pages must read as zero. */
	fill(map, 3 * PAGE + 17, 7);
	reg_cycle(d, "mmap 24 MiB", map, 3 * PAGE + 17, ALL, 7);
	fill(map, big, 9);
	reg_cycle(d, "mmap 24 MiB filled", map, big, RW, 9);
	munmap(map, big);
	free(heap);
	free(one);
}

static void untouched_pages_read_zero(struct dev *d)
{
	size_t len = 64 * PAGE;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ibv_mr *mr = ibv_reg_mr(d->pd, m, len, RW);
	size_t nonzero = 0;

	EXPECT(mr, "reg untouched: %s", strerror(errno));
	for (size_t i = 0; i < len; i++)
		nonzero += m[i] != 0;
	EXPECT(nonzero == 0, "%zu bytes of never-touched memory non-zero",
	       nonzero);
	if (mr)
		EXPECT(ibv_dereg_mr(mr) == 0, "dereg untouched");
	munmap(m, len);
}

static void overlap_and_repeat(struct dev *d)
{
	size_t len = 40 * PAGE;
	uint8_t *buf = aligned_alloc(PAGE, len);
	struct ibv_mr *a, *b, *c, *again[8];

	fill(buf, len, 11);
	a = ibv_reg_mr(d->pd, buf, 20 * PAGE, RW);
	b = ibv_reg_mr(d->pd, buf + 10 * PAGE + 7, 20 * PAGE, ALL);
	c = ibv_reg_mr(d->pd, buf + 5 * PAGE, 30 * PAGE, RW);
	EXPECT(a && b && c, "overlapping reg_mr: %s", strerror(errno));
	for (int i = 0; i < 8; i++) {
		again[i] = ibv_reg_mr(d->pd, buf + 3, 100, RW);
		EXPECT(again[i], "repeated reg_mr %d: %s", i, strerror(errno));
	}
	if (a && b && c)
		EXPECT(a->lkey != b->lkey && b->lkey != c->lkey &&
			       a->lkey != c->lkey,
		       "overlapping MRs share an lkey");
	EXPECT(check(buf, len, 11) == len, "overlap changed contents");
	if (b)
		EXPECT(ibv_dereg_mr(b) == 0, "dereg b");
	/* a and c still pin the pages: they stay on the slab, intact. */
	EXPECT(on_slab(buf + 12 * PAGE), "pinned page left the slab");
	fill(buf, len, 12);
	if (a)
		EXPECT(ibv_dereg_mr(a) == 0, "dereg a");
	for (int i = 0; i < 8; i++)
		if (again[i])
			EXPECT(ibv_dereg_mr(again[i]) == 0, "dereg again");
	if (c)
		EXPECT(ibv_dereg_mr(c) == 0, "dereg c");
	EXPECT(!on_slab(buf + 12 * PAGE), "page on slab after last dereg");
	EXPECT(check(buf, len, 12) == len, "contents after overlap deregs");
	free(buf);
}

static void iova_and_optional(struct dev *d)
{
	uint8_t *buf = malloc(10000);
	struct ibv_mr *mr;

	fill(buf, 10000, 13);
	/* the iova keeps the buffer's page offset, as ib_uverbs requires */
	mr = ibv_reg_mr_iova2(d->pd, buf, 10000,
			      0x100000 | ((uintptr_t)buf & 4095), RW);
	EXPECT(mr, "reg_mr_iova2: %s", strerror(errno));
	if (mr)
		EXPECT(ibv_dereg_mr(mr) == 0, "dereg iova2");
	mr = ibv_reg_mr(d->pd, buf, 10000, RW | IBV_ACCESS_RELAXED_ORDERING);
	EXPECT(mr, "RELAXED_ORDERING (optional) refused: %s", strerror(errno));
	if (mr)
		EXPECT(ibv_dereg_mr(mr) == 0, "dereg relaxed");
	EXPECT(check(buf, 10000, 13) == 10000, "iova2 contents");
	free(buf);
}

static void bad_requests(struct dev *d)
{
	uint8_t *buf = malloc(8192);
	struct ibv_mr *mr;
	int ret;

	errno = 0;
	mr = ibv_reg_mr(d->pd, buf, 8192, IBV_ACCESS_REMOTE_WRITE);
	EXPECT(!mr && errno == EINVAL,
	       "REMOTE_WRITE without LOCAL_WRITE: mr %p errno %d", mr, errno);
	errno = 0;
	mr = ibv_reg_mr(d->pd, buf, 8192, IBV_ACCESS_REMOTE_ATOMIC);
	EXPECT(!mr && errno == EINVAL, "REMOTE_ATOMIC alone: errno %d", errno);
	/* the kernel's answers (docs/compat.md, "reg_mr") */
	errno = 0;
	mr = ibv_reg_mr(d->pd, buf, 8192, RW | IBV_ACCESS_ZERO_BASED);
	EXPECT(!mr && errno == EOPNOTSUPP, "ZERO_BASED: errno %d", errno);
	/* on-demand MRs register (docs/odp.md, tests/integration/odp.c),
	 * with the same access rules */
	mr = ibv_reg_mr(d->pd, buf, 8192, RW | IBV_ACCESS_ON_DEMAND);
	EXPECT(mr, "ON_DEMAND: errno %d", errno);
	if (mr)
		EXPECT(!ibv_dereg_mr(mr), "ON_DEMAND dereg");
	errno = 0;
	mr = ibv_reg_mr(d->pd, buf, 8192,
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_ON_DEMAND);
	EXPECT(!mr && errno == EINVAL,
	       "ON_DEMAND REMOTE_WRITE without LOCAL_WRITE: errno %d", errno);
	errno = 0;
	mr = ibv_reg_mr(d->pd, buf, 8192, RW | IBV_ACCESS_HUGETLB);
	EXPECT(!mr && errno == EOPNOTSUPP, "HUGETLB: errno %d", errno);
	errno = 0;
	mr = ibv_reg_mr(d->pd, buf, 8192, RW | (1 << 15));
	EXPECT(!mr && errno == EINVAL, "unknown access bit: errno %d", errno);
	errno = 0;
	mr = ibv_reg_mr(d->pd, buf, 8192,
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_ZERO_BASED);
	EXPECT(!mr && errno == EINVAL,
	       "REMOTE_WRITE alone + ZERO_BASED: errno %d", errno);
	errno = 0;
	mr = ibv_reg_mr(d->pd, buf, 0, RW);
	EXPECT(!mr && errno == EINVAL, "length 0: errno %d", errno);
	errno = 0;
	mr = ibv_reg_mr_iova2(d->pd, buf, 8192, (uintptr_t)buf + 8, RW);
	EXPECT(!mr && errno == EINVAL, "iova at another page offset: errno %d",
	       errno);
	errno = 0;
	mr = ibv_reg_mr_iova2(d->pd, buf, 8192,
			      (UINT64_MAX & ~4095ull) | ((uintptr_t)buf & 4095),
			      RW);
	EXPECT(!mr && errno == EINVAL, "iova range wraps: errno %d", errno);
	errno = 0;
	mr = ibv_reg_mr(d->pd, (void *)(UINTPTR_MAX & ~4095ul), 8192, RW);
	EXPECT(!mr && errno == EINVAL, "buffer range wraps: errno %d", errno);
	errno = 0;
	mr = ibv_reg_mr(d->pd, (void *)(1ul << 47), 8192, RW);
	EXPECT(!mr && errno == EFAULT, "kernel-half address: errno %d", errno);
	errno = 0;
	mr = ibv_reg_mr(d->pd, (void *)0x1000, 8192, RW);
	EXPECT(!mr && errno == EFAULT, "unmapped buffer: errno %d", errno);

	mr = ibv_reg_mr(d->pd, buf, 8192, RW);
	EXPECT(mr, "reg for EBUSY: %s", strerror(errno));
	ret = ibv_dealloc_pd(d->pd);
	EXPECT(ret == EBUSY, "dealloc_pd with a live MR returned %d", ret);
	if (mr)
		EXPECT(ibv_dereg_mr(mr) == 0, "dereg after EBUSY");
	free(buf);
}

static int basic(const char *name, const char *mode)
{
	struct dev d;

	open_dev(&d, name);
	d.shortcut = !strcmp(mode, "shortcut");
	EXPECT(d.attr.max_mr >= 65536, "max_mr %d", d.attr.max_mr);
	EXPECT(d.attr.max_mr_size >= (8ull << 30), "max_mr_size %llu",
	       (unsigned long long)d.attr.max_mr_size);
	buffers(&d);
	untouched_pages_read_zero(&d);
	overlap_and_repeat(&d);
	iova_and_optional(&d);
	bad_requests(&d);
	close_dev(&d);
	return failures ? 1 : 0;
}

static int limit(const char *name, unsigned long long bytes)
{
	size_t half = bytes / 2 + PAGE;
	uint8_t *m = mmap(NULL, 2 * half, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ibv_mr *a, *b, *c;
	struct dev d;

	open_dev(&d, name);
	EXPECT(d.attr.max_mr_size == bytes, "max_mr_size %llu, want %llu",
	       (unsigned long long)d.attr.max_mr_size, bytes);
	fill(m, 2 * half, 21);
	a = ibv_reg_mr(d.pd, m, half, RW);
	EXPECT(a, "first half: %s", strerror(errno));
	errno = 0;
	b = ibv_reg_mr(d.pd, m + half, half, RW);
	EXPECT(!b && errno == ENOMEM, "past the limit: mr %p errno %d", b,
	       errno);
	EXPECT(check(m, 2 * half, 21) == 2 * half, "refusal changed bytes");
	if (a)
		EXPECT(ibv_dereg_mr(a) == 0, "dereg a");
	c = ibv_reg_mr(d.pd, m + half, half, RW);
	EXPECT(c, "after dereg the limit is free again: %s", strerror(errno));
	if (c)
		EXPECT(ibv_dereg_mr(c) == 0, "dereg c");
	if (b)
		ibv_dereg_mr(b);
	close_dev(&d);
	munmap(m, 2 * half);
	return failures ? 1 : 0;
}

static int many(const char *name)
{
	struct dev d;
	struct ibv_mr **mrs, *extra;
	uint8_t *buf;
	int n, got = 0;

	open_dev(&d, name);
	n = d.attr.max_mr;
	EXPECT(n >= 65536, "max_mr %d", n);
	mrs = calloc(n, sizeof(*mrs));
	buf = aligned_alloc(PAGE, 16ul * n);
	fill(buf, 16ul * n, 31);
	for (int i = 0; i < n; i++) {
		mrs[i] = ibv_reg_mr(d.pd, buf + 16ul * i, 16, RW);
		if (!mrs[i]) {
			EXPECT(0, "MR %d of %d: %s", i, n, strerror(errno));
			break;
		}
		got++;
	}
	errno = 0;
	extra = ibv_reg_mr(d.pd, buf, 16, RW);
	EXPECT(!extra && errno == ENOMEM, "MR beyond max_mr: %p errno %d",
	       extra, errno);
	printf("registered %d MRs\n", got);
	fflush(stdout);
	EXPECT(check(buf, 16ul * n, 31) == 16ul * n, "contents");
	for (int i = 0; i < got; i++)
		EXPECT(ibv_dereg_mr(mrs[i]) == 0, "dereg %d", i);
	close_dev(&d);
	free(buf);
	free(mrs);
	return failures ? 1 : 0;
}

static int hold(const char *name, int n)
{
	uint8_t *buf = malloc(n * 3 * PAGE);
	struct dev d;
	char c;

	open_dev(&d, name);
	fill(buf, n * 3 * PAGE, 41);
	for (int i = 0; i < n; i++)
		EXPECT(ibv_reg_mr(d.pd, buf + i * 3 * PAGE, 2 * PAGE + 1, ALL),
		       "hold MR %d: %s", i, strerror(errno));
	printf("holding %d MRs\n", n);
	fflush(stdout);
	/* Until the test kills us or closes stdin. */
	while (read(0, &c, 1) > 0)
		;
	/* Exit holding the MRs, without any cleanup: srxed must free them. */
	_exit(failures ? 1 : 0);
}

struct raw_ctx {
	struct srxe_conn conn;
	int slab_fd;
	uint32_t pd;
	uint64_t slab_bytes;
};

static void raw_open(struct raw_ctx *c, const char *sock, const char *dev)
{
	struct srxe_open_ctx_req req = { .client_version = SRXE_PROTO_VERSION };
	struct srxe_open_ctx_resp resp;
	struct srxe_alloc_pd_resp pd;

	snprintf(req.device, sizeof(req.device), "%s", dev);
	if (srxe_conn_open(&c->conn, sock) ||
	    srxe_call(&c->conn, SRXE_OP_OPEN_CTX, &req, sizeof(req), -1, &resp,
		      sizeof(resp), &c->slab_fd) ||
	    srxe_call(&c->conn, SRXE_OP_ALLOC_PD, NULL, 0, -1, &pd, sizeof(pd),
		      NULL)) {
		fprintf(stderr, "FAIL: raw open of %s: %s\n", dev,
			c->conn.reason);
		exit(1);
	}
	c->pd = pd.pd_handle;
	c->slab_bytes = resp.slab_bytes;
	EXPECT(c->slab_fd >= 0 &&
		       lseek(c->slab_fd, 0, SEEK_END) == (off_t)resp.slab_bytes,
	       "slab fd %d does not hold slab_bytes %llu", c->slab_fd,
	       (unsigned long long)resp.slab_bytes);
}

static int raw_reg(struct raw_ctx *c, uint32_t pd, uint64_t va, uint64_t len,
		   struct srxe_reg_mr_resp *resp)
{
	struct srxe_reg_mr_req req = { .pd_handle = pd,
				       .access = RW,
				       .va = va,
				       .length = len,
				       .iova = va };

	return srxe_call(&c->conn, SRXE_OP_REG_MR, &req, sizeof(req), -1, resp,
			 sizeof(*resp), NULL);
}

static int raw_dereg(struct raw_ctx *c, uint16_t op, uint32_t handle,
		     struct srxe_dereg_mr_resp *resp)
{
	struct srxe_dereg_mr_req req = { .mr_handle = handle };

	return srxe_call(&c->conn, op, &req, sizeof(req), -1, resp,
			 resp ? sizeof(*resp) : 0, NULL);
}

static bool overlaps(const struct srxe_mr_run *a, const struct srxe_mr_run *b)
{
	return a->slab_off < b->slab_off + b->len &&
	       b->slab_off < a->slab_off + a->len;
}

/* Frames released by DEREG_MR are not handed out until DEREG_DONE. */
static void quarantine(struct raw_ctx *c, uint64_t slab_frames)
{
	static struct srxe_reg_mr_resp r1, r2;
	static struct srxe_dereg_mr_resp d1, d2;
	struct srxe_dereg_runs_req runs = { 0 };
	char byte = 0x5a;

	EXPECT(raw_reg(c, c->pd, 0x10000000, 2 * PAGE, &r1) == 0, "REG_MR: %s",
	       c->conn.reason);
	EXPECT(r1.nruns == 1 && r1.runs[0].va == 0x10000000 &&
		       r1.runs[0].len == 2 * PAGE,
	       "REG_MR runs %u", r1.nruns);
	EXPECT(raw_dereg(c, SRXE_OP_DEREG_DONE, r1.mr_handle, NULL) == EINVAL,
	       "DEREG_DONE of a live MR accepted");
	EXPECT(raw_dereg(c, SRXE_OP_DEREG_MR, r1.mr_handle, &d1) == 0,
	       "DEREG_MR: %s", c->conn.reason);
	EXPECT(d1.nruns_total == 1 && d1.nruns == 1 &&
		       d1.runs[0].slab_off == r1.runs[0].slab_off,
	       "DEREG_MR released %u runs", d1.nruns);
	EXPECT(raw_dereg(c, SRXE_OP_DEREG_MR, r1.mr_handle, &d1) == EINVAL,
	       "second DEREG_MR accepted");
	runs.mr_handle = r1.mr_handle;
	runs.first = 1;
	EXPECT(srxe_call(&c->conn, SRXE_OP_DEREG_RUNS, &runs, sizeof(runs), -1,
			 &d1, sizeof(d1), NULL) == EINVAL,
	       "DEREG_RUNS past the end accepted");
	/* The "application" dirties a quarantined frame. */
	EXPECT(pwrite(c->slab_fd, &byte, 1, (off_t)r1.runs[0].slab_off) == 1,
	       "pwrite slab");
	/* Cycle through the (small) slab more than once. */
	for (uint64_t i = 0; i < slab_frames; i++) {
		EXPECT(raw_reg(c, c->pd, 0x20000000 + i * 4 * PAGE, 2 * PAGE,
			       &r2) == 0,
		       "REG_MR during quarantine: %s", c->conn.reason);
		EXPECT(!overlaps(&r2.runs[0], &r1.runs[0]),
		       "quarantined frames handed out again");
		EXPECT(raw_dereg(c, SRXE_OP_DEREG_MR, r2.mr_handle, &d2) == 0 &&
			       raw_dereg(c, SRXE_OP_DEREG_DONE, r2.mr_handle,
					 NULL) == 0,
		       "DEREG of a cycling MR: %s", c->conn.reason);
	}
	EXPECT(raw_dereg(c, SRXE_OP_DEREG_DONE, r1.mr_handle, NULL) == 0,
	       "DEREG_DONE: %s", c->conn.reason);
	byte = 1;
	EXPECT(pread(c->slab_fd, &byte, 1, (off_t)r1.runs[0].slab_off) == 1 &&
		       byte == 0,
	       "released frame not zero after DEREG_DONE");
	EXPECT(raw_dereg(c, SRXE_OP_DEREG_DONE, r1.mr_handle, NULL) == EINVAL,
	       "stale handle accepted");
}

/* A registration needing more runs than a reply holds changes nothing. */
static void too_many_runs(struct raw_ctx *c)
{
	static struct srxe_reg_mr_resp r;
	uint64_t base = 0x40000000;
	int n = SRXE_MR_RUNS_MAX + 40, ret;

	for (int i = 0; i < n; i++)
		EXPECT(raw_reg(c, c->pd, base + 2 * i * PAGE, 1, &r) == 0,
		       "REG_MR page %d: %s", i, c->conn.reason);
	ret = raw_reg(c, c->pd, base, 2 * n * PAGE, &r);
	EXPECT(ret == ENOMEM && strstr(c->conn.reason, "frame runs"),
	       "REG_MR needing %d runs: %d %s", n, ret, c->conn.reason);
	/* Unregistered odd pages are still absent: a small MR gets one. */
	EXPECT(raw_reg(c, c->pd, base + PAGE, 1, &r) == 0 && r.nruns == 1,
	       "odd page after refusal: %s", c->conn.reason);
}

/* srxed registers only what the client has mapped (srxed/peer_mem.h):
 * give the raw registrations' fixed addresses real pages. */
static void reserve(uint64_t va, uint64_t len)
{
	void *p = mmap((void *)(uintptr_t)va, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			       MAP_FIXED_NOREPLACE,
		       -1, 0);

	if (p != (void *)(uintptr_t)va)
		die("cannot map 0x%llx: %s", (unsigned long long)va,
		    strerror(errno));
}

static int proto(const char *sock, const char *dev)
{
	static struct srxe_reg_mr_resp r;
	struct raw_ctx a, b;
	int ret;

	raw_open(&a, sock, dev);
	raw_open(&b, sock, dev);
	ret = raw_reg(&a, a.pd + 1, 0x10000000, PAGE, &r);
	EXPECT(ret == EINVAL && strstr(a.conn.reason, "no such PD"),
	       "REG_MR with a PD that is not ours: %d %s", ret, a.conn.reason);
	ret = raw_reg(&a, a.pd, 0x10000000, 0, &r);
	EXPECT(ret == EINVAL, "length 0: %d", ret);
	EXPECT(a.slab_bytes <= (16ul << 20),
	       "run proto on a device with --max-reg-bytes <= 16M");
	reserve(0x10000000, 2 * PAGE);
	reserve(0x20000000, a.slab_bytes / PAGE * 4 * PAGE);
	reserve(0x40000000, 2 * (SRXE_MR_RUNS_MAX + 40) * PAGE);
	quarantine(&a, a.slab_bytes / PAGE);
	too_many_runs(&b);
	srxe_conn_close(&a.conn); /* drops every MR of both */
	srxe_conn_close(&b.conn);
	close(a.slab_fd);
	close(b.slab_fd);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "basic"))
		return basic(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "limit"))
		return limit(argv[2], strtoull(argv[3], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "many"))
		return many(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return hold(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "proto"))
		return proto(argv[2], argv[3]);
	fprintf(stderr, "usage: mr_e2e basic DEV shortcut|mtt | limit DEV "
			"BYTES | many DEV | hold DEV N | proto SOCKET DEV\n");
	return 2;
}
