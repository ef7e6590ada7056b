/* SPDX-License-Identifier: MIT */
/*
 * Test harness for the engine: plays srxed's control plane and the
 * provider inside one process.  Each harness context has its own memory
 * client over a private slab, a ring arena and a doorbell eventfd; QPs
 * are connected through the engine's same-host transport, so packets
 * really flow requester -> responder -> completer with the engine thread
 * running its normal polling loop.
 */
#ifndef SRXE_TEST_ENGINE_HARNESS_H
#define SRXE_TEST_ENGINE_HARNESS_H

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h"
#include "mem/translate.h"
#include "srxe/ring.h"

#define H_IP "10.9.8.7"
/* The engine's IPv6 link-local address (its GID 0). */
#define H_IP6                                                                  \
	{                                                                      \
		0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe,    \
			0x33, 0x44, 0x55                                       \
	}
#define H_SLAB_FRAMES 2048u /* 8 MiB */
#define H_ARENA	      (1u << 20)
#define H_PD	      7u
#define H_MAX_SGE     4u
#define H_MAX_INLINE  256u
#define H_MAX_AH      8
#define H_ALL_ACCESS                                                           \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

struct h_ctx {
	struct srxe_eng_ctx *ctx;
	uint32_t pid; /* its process, as srxed would give it */
	struct srxe_mem_client *mem;
	uint8_t *slab;
	uint8_t *arena;
	uint64_t arena_used;
	int db;
	uint64_t next_va;
	struct srxe_eng_ah *ah[H_MAX_AH];
	int nah;
};

struct h_cq {
	struct srxe_eng_cq *cq;
	struct srxe_ring_hdr *ring;
	uint32_t size, cons;
};

struct h_qp {
	struct h_ctx *hc;
	struct srxe_eng_qp *qp;
	struct srxe_ring_hdr *sq, *rq;
	uint32_t sq_size, sq_stride, rq_size, rq_stride;
	uint32_t sq_prod, rq_prod;
	uint32_t qpn, type;
};

struct h_mr {
	uint64_t va, len;
	uint32_t lkey, rkey;
	uint8_t *p; /* the bytes, through the slab */
};

static struct srxe_engine *h_eng;
static uint32_t h_next_qpn = 0x11;

static inline uint32_t h_ip(void)
{
	return inet_addr(H_IP);
}

/* @threads engine threads; with @queue, contexts stay where they were
 * placed and every hand-off between threads goes through the inbox
 * (engine.h spread_pairs, queue_handoffs). */
static inline void h_engine_start_threads(enum ibv_mtu mtu,
					  unsigned int threads, bool queue)
{
	struct srxe_engine_config cfg = {
		.ipv4_be = h_ip(),
		.ipv6 = true, /* GID 0: same-host IPv6 (no wire here) */
		.ipv6_ll = H_IP6,
		.ifindex = 1,
		.active_mtu = mtu,
		.threads = threads,
		.spread_pairs = queue,
		.queue_handoffs = queue,
		.spin_us = 200,
		/* UD multicast: same-host members only (no wire here) */
		.max_mcast_grp = 4,
		.max_mcast_qp_attach = 4,
		.max_total_mcast_qp_attach = 8,
	};
	const char *why;

	cr_assert_eq(srxe_engine_start(&cfg, &h_eng, &why), 0, "%s", why);
}

static inline void h_engine_start(enum ibv_mtu mtu)
{
	h_engine_start_threads(mtu, 1, false);
}

static inline struct srxe_eng_ah *h_ah_lookup(void *opaque, uint32_t handle)
{
	struct h_ctx *hc = opaque;

	return handle >= 1 && handle <= (uint32_t)hc->nah ? hc->ah[handle - 1]
							  : NULL;
}

static inline void h_ctx_init(struct h_ctx *hc, enum srxe_mem_mode mode,
			      uint32_t id)
{
	struct srxe_mem_config mc = {
		.mode = mode,
		.client_id = id,
		.slab_frames = H_SLAB_FRAMES,
	};
	struct srxe_eng_ctx_init ci = { 0 };
	const char *why;

	memset(hc, 0, sizeof(*hc));
	hc->slab =
		mmap(NULL, (size_t)H_SLAB_FRAMES * 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	hc->arena = mmap(NULL, H_ARENA, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert(hc->slab != MAP_FAILED && hc->arena != MAP_FAILED);
	mc.slab = hc->slab;
	cr_assert_eq(srxe_mem_client_create(&mc, &hc->mem), 0);
	hc->db = eventfd(0, EFD_CLOEXEC);
	hc->arena_used = 4096;
	hc->next_va = 0x7f0000000000ull + ((uint64_t)id << 32);
	ci.mem = hc->mem;
	ci.arena = hc->arena;
	ci.arena_bytes = H_ARENA;
	ci.doorbell_fd = hc->db;
	ci.async_fd = -1;
	ci.client_id = id;
	hc->pid = 1000 + id; /* each context a process of its own */
	ci.pid = hc->pid;
	srxe_engine_lock(h_eng);
	cr_assert_eq(srxe_eng_ctx_create(h_eng, &ci, &hc->ctx, &why), 0, "%s",
		     why);
	srxe_eng_ctx_set_ah_lookup(hc->ctx, h_ah_lookup, hc);
	srxe_engine_unlock(h_eng);
}

static inline void h_ctx_fini(struct h_ctx *hc)
{
	srxe_engine_lock(h_eng);
	srxe_eng_ctx_destroy(hc->ctx);
	srxe_engine_unlock(h_eng);
	srxe_mem_client_destroy(hc->mem);
	close(hc->db);
	munmap(hc->slab, (size_t)H_SLAB_FRAMES * 4096);
	munmap(hc->arena, H_ARENA);
}

static inline struct srxe_ring_hdr *h_ring(struct h_ctx *hc, uint32_t size,
					   uint32_t stride)
{
	uint64_t bytes = srxe_ring_bytes(size, stride);
	void *p = hc->arena + hc->arena_used;

	cr_assert(hc->arena_used + bytes <= H_ARENA, "arena full");
	hc->arena_used += bytes;
	return p;
}

static inline void h_cq_create(struct h_ctx *hc, struct h_cq *c, uint32_t size)
{
	const char *why;

	memset(c, 0, sizeof(*c));
	c->size = size;
	c->ring = h_ring(hc, size, SRXE_CQE_STRIDE);
	srxe_engine_lock(h_eng);
	cr_assert_eq(
		srxe_eng_cq_create(hc->ctx, c->ring, size, 0, &c->cq, &why), 0,
		"%s", why);
	srxe_engine_unlock(h_eng);
}

static inline void h_qp_create(struct h_ctx *hc, struct h_qp *q, uint32_t type,
			       struct h_cq *scq, struct h_cq *rcq)
{
	struct srxe_eng_qp_init in = { 0 };
	const char *why;

	memset(q, 0, sizeof(*q));
	q->hc = hc;
	q->type = type;
	q->qpn = h_next_qpn++;
	q->sq_size = 64;
	q->sq_stride = 512;
	q->rq_size = 64;
	q->rq_stride = 128;
	q->sq = h_ring(hc, q->sq_size, q->sq_stride);
	q->rq = h_ring(hc, q->rq_size, q->rq_stride);
	in.qp_type = type;
	in.qp_num = q->qpn;
	in.pd_handle = H_PD;
	in.send_cq = scq->cq;
	in.recv_cq = rcq->cq;
	in.sq = q->sq;
	in.rq = q->rq;
	in.sq_size = q->sq_size;
	in.sq_stride = q->sq_stride;
	in.rq_size = q->rq_size;
	in.rq_stride = q->rq_stride;
	in.cap.max_send_wr = 64;
	in.cap.max_recv_wr = 64;
	in.cap.max_send_sge = H_MAX_SGE;
	in.cap.max_recv_sge = H_MAX_SGE;
	in.cap.max_inline_data = H_MAX_INLINE;
	srxe_engine_lock(h_eng);
	cr_assert_eq(srxe_eng_qp_create(hc->ctx, &in, &q->qp, &why), 0, "%s",
		     why);
	srxe_engine_unlock(h_eng);
}

static inline void h_mr_reg(struct h_ctx *hc, struct h_mr *mr, uint64_t len,
			    unsigned int access)
{
	struct srxe_runs runs = { 0 };
	struct srxe_mr_keys keys;
	int ret;

	mr->va = hc->next_va + 0x100; /* not page aligned on purpose */
	mr->len = len;
	hc->next_va += (len + 0x100 + 2 * 4096) & ~4095ull;
	srxe_engine_lock(h_eng);
	ret = srxe_mem_reg(hc->mem, H_PD, mr->va, len, mr->va, access, &keys,
			   &runs);
	srxe_engine_unlock(h_eng);
	cr_assert_eq(ret, 0, "reg: %d", ret);
	cr_assert_eq(runs.n, 1, "fresh slab gives one run");
	mr->lkey = keys.lkey;
	mr->rkey = keys.rkey;
	mr->p = hc->slab + ((uint64_t)runs.v[0].frame << 12) + (mr->va & 4095);
	free(runs.v);
}

static inline void h_mr_dereg(struct h_ctx *hc, struct h_mr *mr)
{
	int ret;

	srxe_engine_lock(h_eng);
	ret = srxe_mem_dereg(hc->mem, mr->lkey, NULL);
	srxe_engine_unlock(h_eng);
	cr_assert_eq(ret, 0);
}

static inline int h_modify(struct h_qp *q, struct srxe_qp_attr_wire *a,
			   uint32_t mask)
{
	const char *why;
	int ret;

	srxe_engine_lock(h_eng);
	ret = srxe_eng_qp_modify(q->qp, a, mask, &why);
	srxe_engine_unlock(h_eng);
	return ret;
}

static inline void h_av(struct srxe_ah_wire *av)
{
	uint32_t ip = h_ip();

	memset(av, 0, sizeof(*av));
	av->dgid[10] = 0xff;
	av->dgid[11] = 0xff;
	memcpy(av->dgid + 12, &ip, 4);
	av->sgid_index = 1;
	av->hop_limit = 64;
	av->is_global = 1;
	av->port_num = 1;
}

struct h_conn_opts {
	uint32_t access;
	uint8_t timeout, retry_cnt, rnr_retry, min_rnr_timer;
	uint32_t psn;
	enum ibv_mtu mtu;
	uint32_t dest_qpn; /* 0: the peer */
	bool stop_at_rtr;
};

/* RTR -> RTS with @o's requester attributes (after o->stop_at_rtr). */
static inline void h_rtr_to_rts(struct h_qp *q, const struct h_conn_opts *o)
{
	struct srxe_qp_attr_wire a = { 0 };
	uint32_t m = IBV_QP_STATE | IBV_QP_SQ_PSN;

	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = o->psn;
	a.timeout = o->timeout;
	a.retry_cnt = o->retry_cnt;
	a.rnr_retry = o->rnr_retry;
	a.max_rd_atomic = 4;
	if (q->type == IBV_QPT_RC)
		m |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		     IBV_QP_MAX_QP_RD_ATOMIC;
	cr_assert_eq(h_modify(q, &a, m), 0);
}

static inline void h_to_rts(struct h_qp *q, uint32_t peer_qpn,
			    const struct h_conn_opts *o)
{
	struct srxe_qp_attr_wire a = { 0 };

	a.qp_state = IBV_QPS_INIT;
	a.port_num = 1;
	a.qp_access_flags = o->access;
	if (q->type == IBV_QPT_UD) {
		a.qkey = 0x11111111;
		cr_assert_eq(h_modify(q, &a,
				      IBV_QP_STATE | IBV_QP_PKEY_INDEX |
					      IBV_QP_PORT | IBV_QP_QKEY),
			     0);
		a.qp_state = IBV_QPS_RTR;
		cr_assert_eq(h_modify(q, &a, IBV_QP_STATE), 0);
		a.qp_state = IBV_QPS_RTS;
		a.sq_psn = o->psn;
		cr_assert_eq(h_modify(q, &a, IBV_QP_STATE | IBV_QP_SQ_PSN), 0);
		return;
	}
	cr_assert_eq(h_modify(q, &a,
			      IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				      IBV_QP_ACCESS_FLAGS),
		     0);
	a.qp_state = IBV_QPS_RTR;
	h_av(&a.ah);
	a.path_mtu = o->mtu ? o->mtu : IBV_MTU_1024;
	a.dest_qp_num = o->dest_qpn ? o->dest_qpn : peer_qpn;
	a.rq_psn = o->psn;
	a.max_dest_rd_atomic = 4;
	a.min_rnr_timer = o->min_rnr_timer;
	uint32_t m = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		     IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;
	if (q->type == IBV_QPT_RC)
		m |= IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	cr_assert_eq(h_modify(q, &a, m), 0);
	if (!o->stop_at_rtr)
		h_rtr_to_rts(q, o);
}

static inline void h_connect(struct h_qp *a, struct h_qp *b,
			     const struct h_conn_opts *o)
{
	h_to_rts(a, b->qpn, o);
	h_to_rts(b, a->qpn, o);
}

static inline uint32_t h_state(struct h_qp *q)
{
	struct srxe_qp_attr_wire a;

	srxe_engine_lock(h_eng);
	srxe_eng_qp_query(q->qp, &a);
	srxe_engine_unlock(h_eng);
	return a.qp_state;
}

/* What the provider does after publishing: ring only if the engine sleeps. */
static inline void h_doorbell(struct h_ctx *hc)
{
	struct srxe_ctx_page *page = (struct srxe_ctx_page *)hc->arena;
	uint64_t one = 1;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&page->engine_sleeping, __ATOMIC_SEQ_CST))
		cr_assert_eq(write(hc->db, &one, sizeof(one)), 8);
}

static inline struct srxe_send_wqe *h_send_slot(struct h_qp *q)
{
	struct srxe_send_wqe *w =
		srxe_ring_slot(q->sq, q->sq_prod, q->sq_size, q->sq_stride);

	memset(w, 0, q->sq_stride);
	w->flags = SRXE_WQE_SIGNALED;
	return w;
}

static inline void h_send_publish(struct h_qp *q)
{
	q->sq_prod++;
	__atomic_store_n(&q->sq->prod.val, q->sq_prod, __ATOMIC_RELEASE);
	h_doorbell(q->hc);
}

static inline void h_sge(struct srxe_send_wqe *w, const struct h_mr *mr,
			 uint64_t off, uint32_t len)
{
	struct srxe_wqe_sge *sge = (struct srxe_wqe_sge *)(w + 1) + w->num_sge;

	sge->addr = mr->va + off;
	sge->length = len;
	sge->lkey = mr->lkey;
	w->num_sge++;
}

/* An RDMA WRITE or READ of @len bytes, local @loff <-> remote @roff. */
static inline void h_post_rdma(struct h_qp *q, uint64_t wr_id, uint32_t opcode,
			       const struct h_mr *loc, uint64_t loff,
			       const struct h_mr *rem, uint64_t roff,
			       uint32_t len)
{
	struct srxe_send_wqe *w = h_send_slot(q);

	w->wr_id = wr_id;
	w->opcode = opcode;
	w->rdma.remote_addr = rem->va + roff;
	w->rdma.rkey = rem->rkey;
	h_sge(w, loc, loff, len);
	h_send_publish(q);
}

static inline void h_post_recv(struct h_qp *q, uint64_t wr_id,
			       const struct h_mr *mr, uint64_t off,
			       uint32_t len)
{
	struct srxe_recv_wqe *w =
		srxe_ring_slot(q->rq, q->rq_prod, q->rq_size, q->rq_stride);
	struct srxe_wqe_sge *sge = (struct srxe_wqe_sge *)(w + 1);

	w->wr_id = wr_id;
	w->num_sge = 1;
	sge->addr = mr->va + off;
	sge->length = len;
	sge->lkey = mr->lkey;
	q->rq_prod++;
	__atomic_store_n(&q->rq->prod.val, q->rq_prod, __ATOMIC_RELEASE);
	h_doorbell(q->hc);
}

static inline bool h_poll(struct h_cq *c, struct srxe_cqe *out, int ms)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		uint32_t prod =
			__atomic_load_n(&c->ring->prod.val, __ATOMIC_ACQUIRE);

		if (prod != c->cons) {
			memcpy(out,
			       srxe_ring_slot(c->ring, c->cons, c->size,
					      SRXE_CQE_STRIDE),
			       sizeof(*out));
			c->cons++;
			__atomic_store_n(&c->ring->cons.val, c->cons,
					 __ATOMIC_RELEASE);
			return true;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
			    (t.tv_nsec - t0.tv_nsec) / 1000000 >
		    ms)
			return false;
		usleep(50);
	}
}

static inline void h_fill(uint8_t *p, uint64_t len, uint32_t seed)
{
	for (uint64_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

#endif
