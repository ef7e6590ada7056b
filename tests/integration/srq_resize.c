// SPDX-License-Identifier: MIT
/*
 * SRQ resize (ibv_modify_srq with IBV_SRQ_MAX_WR) with receives posted
 * and traffic flowing, on one device: an RC QP sends to a QP on an SRQ.
 *
 * usage: srq_resize DEVICE [MESSAGES]
 *
 *  1. The device says IBV_DEVICE_SRQ_RESIZE.
 *  2. Posted receives survive a resize in their order: 8 posted, 3 used,
 *     a resize to 4 fails (5 posted: EINVAL) and changes nothing, a
 *     resize to 32 keeps the 5 and takes 27 more (the 33rd: ENOMEM); 32
 *     messages then complete wr_id 3..34 in order, each with its bytes.
 *     An XRC SRQ takes the same path: 5 posted survive a resize to 16,
 *     after which 11 more fit and the 17th gets ENOMEM.
 *  3. Under traffic: a poster thread keeps up to 12 receives posted while
 *     the main thread sends MESSAGES (default 20000) numbered messages and
 *     resizes the SRQ between 16 and 64 slots every 100 receives.  Every
 *     receive completes exactly once, in order, with its message's bytes,
 *     and at least one resize each way succeeded.
 * Prints "PASS" and exits 0, or names every failed check and exits 1.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>

static const char *who = "srq_resize";
static int failures;
#include "itest.h"

#define SLOTS		  256 /* receive buffers, 64 bytes each */
#define SLOT_BYTES	  64
#define OUTSTANDING_RECVS 12
#define SEND_DEPTH	  32
#define STALL_MS	  20000

struct pair {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *scq, *rcq;
	struct ibv_srq *srq;
	struct ibv_qp *tx, *rx;
	struct ibv_mr *mr;
	uint64_t *rbuf;	 /* SLOTS slots */
	uint64_t *sbuf;	 /* SEND_DEPTH slots */
	uint64_t posted; /* next receive wr_id (poster thread) */
	uint64_t done;	 /* receives completed (__atomic) */
	uint64_t total;	 /* receives the poster must post */
};

static uint64_t *slot_of(uint64_t *base, uint64_t i, unsigned int n)
{
	return base + (i % n) * (SLOT_BYTES / sizeof(uint64_t));
}

static int post_recv(struct pair *p, uint64_t id)
{
	struct ibv_sge sge = { (uintptr_t)slot_of(p->rbuf, id, SLOTS),
			       SLOT_BYTES, p->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = id, .sg_list = &sge, .num_sge = 1 },
			   *bad;

	return ibv_post_srq_recv(p->srq, &wr, &bad);
}

static int post_send(struct pair *p, uint64_t seq)
{
	uint64_t *msg = slot_of(p->sbuf, seq, SEND_DEPTH);
	struct ibv_sge sge = { (uintptr_t)msg, SLOT_BYTES, p->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = seq,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = IBV_WR_SEND,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;

	for (unsigned int i = 0; i < SLOT_BYTES / sizeof(uint64_t); i++)
		msg[i] = seq * 1000003u + i;
	return ibv_post_send(p->tx, &wr, &bad);
}

/* The receive of wr_id @id holds message @id. */
static bool recv_holds(struct pair *p, uint64_t id)
{
	const uint64_t *got = slot_of(p->rbuf, id, SLOTS);

	for (unsigned int i = 0; i < SLOT_BYTES / sizeof(uint64_t); i++)
		if (got[i] != id * 1000003u + i)
			return false;
	return true;
}

static int resize(struct pair *p, uint32_t max_wr)
{
	struct ibv_srq_attr a = { .max_wr = max_wr };

	return ibv_modify_srq(p->srq, &a, IBV_SRQ_MAX_WR);
}

static void setup(struct pair *p, const char *dev)
{
	struct ibv_srq_init_attr sa = { .attr = { .max_wr = 8, .max_sge = 1 } };
	/* whole pages: aligned_alloc wants a multiple of the alignment */
	size_t bytes = ((SLOTS + SEND_DEPTH) * SLOT_BYTES + 4095) & ~4095ul;
	union ibv_gid gid;
	struct ibv_qp_init_attr qa = {
		.cap = { .max_send_wr = SEND_DEPTH,
			 .max_recv_wr = 1,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};

	p->ctx = itest_open_device(dev);
	p->pd = ibv_alloc_pd(p->ctx);
	p->scq = ibv_create_cq(p->ctx, 2 * SEND_DEPTH, NULL, NULL, 0);
	p->rcq = ibv_create_cq(p->ctx, 2 * SLOTS, NULL, NULL, 0);
	p->srq = p->pd ? ibv_create_srq(p->pd, &sa) : NULL;
	p->rbuf = aligned_alloc(4096, bytes);
	if (!p->pd || !p->scq || !p->rcq || !p->srq || !p->rbuf)
		die("setup: %s", strerror(errno));
	memset(p->rbuf, 0, bytes);
	p->sbuf = p->rbuf + SLOTS * SLOT_BYTES / sizeof(uint64_t);
	p->mr = ibv_reg_mr(p->pd, p->rbuf, bytes, IBV_ACCESS_LOCAL_WRITE);
	qa.send_cq = p->scq;
	qa.recv_cq = p->rcq;
	p->tx = p->mr ? ibv_create_qp(p->pd, &qa) : NULL;
	qa.srq = p->srq;
	p->rx = p->tx ? ibv_create_qp(p->pd, &qa) : NULL;
	if (!p->rx || ibv_query_gid(p->ctx, 1, 1, &gid))
		die("QPs: %s", strerror(errno));
	itest_rc_connect_pair(p->tx, p->rx, &gid);
}

static void check_cap(struct pair *p)
{
	struct ibv_device_attr a;

	if (EXPECT(!ibv_query_device(p->ctx, &a), "query_device: %s",
		   strerror(errno)))
		EXPECT(a.device_cap_flags & IBV_DEVICE_SRQ_RESIZE,
		       "device_cap_flags 0x%x lack SRQ_RESIZE",
		       a.device_cap_flags);
}

/* Waits for one completion on @cq with status SUCCESS; its wr_id or -1. */
static int64_t reap(struct ibv_cq *cq)
{
	struct ibv_wc wc;

	if (itest_poll_one(cq, &wc, STALL_MS) != 1) {
		EXPECT(false, "no completion within %d ms", STALL_MS);
		return -1;
	}
	if (!EXPECT(wc.status == IBV_WC_SUCCESS, "wr_id %llu: %s",
		    (unsigned long long)wc.wr_id, ibv_wc_status_str(wc.status)))
		return -1;
	return (int64_t)wc.wr_id;
}

/* Sends messages [first, first + n) and expects receives of the same ids. */
static void exchange(struct pair *p, uint64_t first, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		int64_t got;

		if (post_send(p, first + i))
			die("post_send %llu: %s",
			    (unsigned long long)(first + i), strerror(errno));
		if (reap(p->scq) < 0)
			die("send %llu did not complete",
			    (unsigned long long)(first + i));
		got = reap(p->rcq);
		EXPECT(got == (int64_t)(first + i),
		       "receive %u: wr_id %lld, expected %llu", i,
		       (long long)got, (unsigned long long)(first + i));
		EXPECT(got < 0 || recv_holds(p, (uint64_t)got),
		       "receive %lld holds another message", (long long)got);
	}
}

static void check_posted_survive(struct pair *p)
{
	struct ibv_srq_attr a;
	int ret;

	for (p->posted = 0; p->posted < 8; p->posted++)
		if (post_recv(p, p->posted))
			die("post_srq_recv %llu: %s",
			    (unsigned long long)p->posted, strerror(errno));
	EXPECT(post_recv(p, p->posted) == ENOMEM, "9th receive of 8 accepted");
	exchange(p, 0, 3);
	ret = resize(p, 4);
	EXPECT(ret == EINVAL, "resize to 4 with 5 posted: %d (%s)", ret,
	       strerror(ret));
	ret = resize(p, 32);
	EXPECT(!ret, "resize to 32 with 5 posted: %s", strerror(ret));
	EXPECT(!ibv_query_srq(p->srq, &a) && a.max_wr == 32,
	       "max_wr after resize: %u", a.max_wr);
	for (; p->posted < 35; p->posted++)
		if (post_recv(p, p->posted))
			die("post_srq_recv %llu after the resize: %s",
			    (unsigned long long)p->posted, strerror(errno));
	EXPECT(post_recv(p, p->posted) == ENOMEM,
	       "33rd receive of 32 accepted");
	exchange(p, 3, 32);
	EXPECT(!resize(p, 2), "resize of an empty SRQ to 2: %s",
	       strerror(errno));
	printf("ok: posted receives survive resizes, in order\n");
}

/* An XRC SRQ resizes the same way: 5 posted survive, posting goes on. */
static void check_xrc_srq(struct pair *p)
{
	struct ibv_xrcd_init_attr xa = { .comp_mask = IBV_XRCD_INIT_ATTR_FD |
						      IBV_XRCD_INIT_ATTR_OFLAGS,
					 .fd = -1,
					 .oflags = O_CREAT };
	struct ibv_srq_init_attr_ex sa = {
		.attr = { .max_wr = 8, .max_sge = 1 },
		.comp_mask = IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_PD |
			     IBV_SRQ_INIT_ATTR_XRCD | IBV_SRQ_INIT_ATTR_CQ,
		.srq_type = IBV_SRQT_XRC,
		.pd = p->pd,
		.cq = p->rcq,
	};
	struct ibv_srq *basic = p->srq;
	struct ibv_srq_attr a;
	struct ibv_xrcd *xrcd = ibv_open_xrcd(p->ctx, &xa);
	uint64_t id;

	sa.xrcd = xrcd;
	p->srq = xrcd ? ibv_create_srq_ex(p->ctx, &sa) : NULL;
	if (!p->srq)
		die("XRC SRQ: %s", strerror(errno));
	for (id = 0; id < 5; id++)
		if (post_recv(p, id))
			die("XRC post_srq_recv: %s", strerror(errno));
	EXPECT(resize(p, 4) == EINVAL, "XRC SRQ: resize to 4 with 5 posted");
	EXPECT(!resize(p, 16), "XRC SRQ: resize to 16: %s", strerror(errno));
	EXPECT(!ibv_query_srq(p->srq, &a) && a.max_wr == 16,
	       "XRC SRQ max_wr after resize: %u", a.max_wr);
	for (; id < 16; id++)
		EXPECT(!post_recv(p, id), "XRC post %llu after the resize",
		       (unsigned long long)id);
	EXPECT(post_recv(p, id) == ENOMEM, "XRC SRQ: 17th receive of 16");
	if (ibv_destroy_srq(p->srq) || ibv_close_xrcd(xrcd))
		EXPECT(false, "XRC teardown: %s", strerror(errno));
	p->srq = basic;
	printf("ok: an XRC SRQ resizes with its posted receives\n");
}

static void *poster(void *arg)
{
	struct pair *p = arg;
	uint64_t last = now_ms();

	while (p->posted < p->total) {
		uint64_t done = __atomic_load_n(&p->done, __ATOMIC_ACQUIRE);
		int ret;

		if (p->posted - done >= OUTSTANDING_RECVS) {
			if (now_ms() - last > STALL_MS)
				break;
			sched_yield();
			continue;
		}
		ret = post_recv(p, p->posted);
		if (ret == ENOMEM) { /* a resize in between: full for now */
			sched_yield();
			continue;
		}
		if (ret) {
			EXPECT(false, "post_srq_recv %llu: %s",
			       (unsigned long long)p->posted, strerror(ret));
			break;
		}
		p->posted++;
		last = now_ms();
	}
	return NULL;
}

static void traffic(struct pair *p, uint64_t messages)
{
	uint64_t sent = 0, sends_done = 0, next = p->posted, ok[2] = { 0, 0 };
	uint64_t first = p->posted, last = now_ms();
	pthread_t t;
	bool big = false;

	p->total = first + messages;
	p->done = first;
	if (resize(p, 16) || pthread_create(&t, NULL, poster, p))
		die("start: %s", strerror(errno));
	while (next < p->total && now_ms() - last < STALL_MS) {
		struct ibv_wc wc[16];
		int n;

		while (sent < messages && sent - sends_done < SEND_DEPTH &&
		       sent + first < next + SEND_DEPTH)
			if (post_send(p, first + sent++))
				die("post_send: %s", strerror(errno));
		n = ibv_poll_cq(p->scq, 16, wc);
		for (int i = 0; i < n; i++)
			EXPECT(wc[i].status == IBV_WC_SUCCESS, "send: %s",
			       ibv_wc_status_str(wc[i].status));
		sends_done += n > 0 ? (uint64_t)n : 0;
		n = ibv_poll_cq(p->rcq, 16, wc);
		for (int i = 0; i < n; i++, next++) {
			if (!EXPECT(wc[i].status == IBV_WC_SUCCESS &&
					    wc[i].wr_id == next &&
					    recv_holds(p, next),
				    "receive %llu: %s, wr_id %llu",
				    (unsigned long long)next,
				    ibv_wc_status_str(wc[i].status),
				    (unsigned long long)wc[i].wr_id))
				die("receives out of order or damaged");
			__atomic_store_n(&p->done, next + 1, __ATOMIC_RELEASE);
			if ((next + 1 - first) % 100 == 0) {
				big = !big;
				ok[big] += !resize(p, big ? 64 : 16);
			}
		}
		if (n > 0)
			last = now_ms();
	}
	pthread_join(t, NULL);
	EXPECT(next == p->total, "%llu of %llu messages received",
	       (unsigned long long)(next - first),
	       (unsigned long long)messages);
	EXPECT(ok[0] && ok[1], "resizes that worked: %llu to 16, %llu to 64",
	       (unsigned long long)ok[0], (unsigned long long)ok[1]);
	printf("ok: %llu messages in order across %llu + %llu resizes\n",
	       (unsigned long long)(next - first), (unsigned long long)ok[0],
	       (unsigned long long)ok[1]);
}

int main(int argc, char **argv)
{
	struct pair p = { 0 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || argc > 3)
		die("usage: srq_resize DEVICE [MESSAGES]");
	setup(&p, argv[1]);
	check_cap(&p);
	check_posted_survive(&p);
	check_xrc_srq(&p);
	traffic(&p, argc > 2 ? strtoull(argv[2], NULL, 0) : 20000);
	if (ibv_destroy_qp(p.rx) || ibv_destroy_qp(p.tx) ||
	    ibv_destroy_srq(p.srq) || ibv_dereg_mr(p.mr) ||
	    ibv_destroy_cq(p.scq) || ibv_destroy_cq(p.rcq) ||
	    ibv_dealloc_pd(p.pd) || ibv_close_device(p.ctx))
		EXPECT(false, "teardown: %s", strerror(errno));
	free(p.rbuf);
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
