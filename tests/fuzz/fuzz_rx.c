// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: one received RoCEv2 datagram (or a short burst of
 * them) through the whole receive path of the wire transport -- IPv4 or
 * IPv6 checks, srxe_decode_udp() with its ICRC check, the destination address
 * check, then srxe_eng_rx() into a real engine whose context holds RC, UC
 * and UD QPs in RTS with registered memory and posted receive WQEs, and an
 * RC requester with SEND, WRITE, READ and two atomics waiting for their
 * answers, through the transport's own srxe_udp_rx_datagram().
 *
 * Input: one mode byte, then the packet bytes.  Mode bits (fuzz_rx.h)
 * steer inputs past the checks a random mutation almost never passes:
 * ICRC and length fix-up, destination QP steering, valid keys, expected
 * PSNs.  Inputs without them exercise the validators themselves.
 *
 * QP 1 (GSI): UD SEND Only packets for QPN 1 reach the engine's GSI
 * callback, which here runs srxed's CM MAD decoder (cm/cm_mad.h) with an
 * oracle: a MAD either fails with a known errno and a reason, or encodes
 * back to the same bytes (the REQ's ignored alternate path aside) and
 * decodes again to the same struct.  Steering keeps DestQP 1 of UD
 * packets, and FUZZ_RX_KEYS gives them the GSI Q_Key.
 *
 * State: the memory clients and MRs live for the whole run (their bytes
 * are reset per input); the engine context with its CQs, SRQ and QPs is
 * created and destroyed per input, so inputs do not influence each other
 * and nothing an input allocates outlives it.  The engine lock is held
 * for the whole input: the engine thread never runs a pass in between,
 * and the passes this target runs itself make the run deterministic.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cm_mad.h"
#include "core/core.h"
#include "fuzz_entry.h"
#include "fuzz_rx.h"
#include "objects/objects.h"
#include "packet/be_bytes.h"
#include "packet/decode.h"
#include "packet/icrc.h"
#include "packet/netframe.h"
#include "srxe/awf.h"
#include "transport/transport_udp.h"

#define W_IP	      "10.0.0.1" /* server side of the golden pcap */
#define W_PEER_QPN    0x7777u	 /* nobody: requests stay unanswered */
#define W_SLAB_FRAMES 256u
#define W_ARENA	      (1u << 20)
#define W_PD	      3u
#define W_MR_LEN      16384u
#define W_QKEY	      0x11111111u
#define W_MAX_SGE     4u
#define W_RING	      16u
#define W_ALL_ACCESS                                                           \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC |                   \
	 SRXE_ACCESS_FLUSH_GLOBAL)

enum { W_RC, W_UC, W_UD, W_RC_SRQ, W_NQP };

/* What lives for the whole run: one memory client per translation mode. */
struct w_mem {
	struct srxe_mem_client *mem;
	uint8_t *slab;
	uint64_t va;
	uint32_t lkey, rkey;
	uint8_t *bytes; /* the MR's bytes through the slab */
};

/* What one input gets. */
struct w_qp {
	struct srxe_eng_qp *qp;
	struct srxe_ring_hdr *sq, *rq;
	uint32_t sq_prod, rq_prod;
};

struct w_input {
	struct w_mem *m;
	struct srxe_eng_ctx *ctx;
	struct srxe_eng_cq *scq, *rcq;
	struct srxe_eng_srq *srq;
	struct srxe_ring_hdr *srq_ring;
	uint32_t srq_prod;
	struct w_qp q[W_NQP];
	uint64_t arena_used;
};

static struct srxe_engine *w_eng;
static struct w_mem w_mem[2]; /* shortcut, MTT */
static uint8_t *w_arena;
static int w_db = -1;
static uint32_t w_ipv4;
static const uint8_t w_ipv6[16] = FUZZ_RX_IPV6;
static bool trace; /* FUZZ_TRACE=1: what happened to each datagram */

static const uint32_t w_qpn[W_NQP] = { 0x11, 0x12, 0x13, 0x14 };
static const uint32_t w_type[W_NQP] = { IBV_QPT_RC, IBV_QPT_UC, IBV_QPT_UD,
					IBV_QPT_RC };

static void die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_rx: %s: %s\n", what, why ? why : "?");
	abort();
}

static void mem_init(struct w_mem *m, enum srxe_mem_mode mode, uint32_t id)
{
	static const uint64_t secret[2] = { 0x0123456789abcdefull,
					    0xfedcba9876543210ull };
	struct srxe_mem_config mc = {
		.mode = mode,
		.client_id = id,
		.slab_frames = W_SLAB_FRAMES,
		.fixed_secret = secret,
	};
	struct srxe_runs runs = { 0 };
	struct srxe_mr_keys keys;

	m->slab =
		mmap(NULL, (size_t)W_SLAB_FRAMES * 4096, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->slab == MAP_FAILED)
		die("slab", strerror(errno));
	mc.slab = m->slab;
	if (srxe_mem_client_create(&mc, &m->mem))
		die("memory client", "create failed");
	/* Not page aligned on purpose, as applications' buffers often are. */
	m->va = 0x7f1000000100ull;
	if (srxe_mem_reg(m->mem, W_PD, m->va, W_MR_LEN, m->va, W_ALL_ACCESS,
			 &keys, &runs) ||
	    runs.n != 1)
		die("memory registration", "failed or not one run");
	m->lkey = keys.lkey;
	m->rkey = keys.rkey;
	m->bytes = m->slab + ((uint64_t)runs.v[0].frame << 12) + (m->va & 4095);
	free(runs.v);
}

/* ---- QP 1: the CM MAD decoder and its oracle ---- */

/* REQ payload bytes 96..139: the alternate path, not decoded (cm_mad.h),
 * so encode writes zeros there whatever came in. */
static bool cm_same_bytes(const uint8_t *in, const uint8_t *out, uint16_t attr)
{
	size_t alt = SRXE_MAD_HDR_LEN + 96, alt_end = SRXE_MAD_HDR_LEN + 140;

	if (attr != SRXE_CM_ATTR_REQ)
		return !memcmp(in, out, SRXE_MAD_LEN);
	return !memcmp(in, out, alt) &&
	       !memcmp(in + alt_end, out + alt_end, SRXE_MAD_LEN - alt_end);
}

static void cm_mad_check(const uint8_t *mad, uint32_t len)
{
	struct srxe_cm_msg msg, again;
	struct srxe_cma_hdr cma;
	uint8_t out[SRXE_MAD_LEN];
	const char *why = NULL;
	int ret = srxe_cm_mad_decode(mad, len, &msg, &why);

	if (trace)
		fprintf(stderr, "fuzz_rx: CM MAD %s: %d %s\n",
			srxe_cm_attr_name(msg.hdr.attr_id), ret,
			why ? why : "ok");
	if (ret) {
		if (!why ||
		    (ret != -EPROTO && ret != -EOPNOTSUPP && ret != -EINVAL))
			die("CM MAD decode", "unexpected error or no reason");
		return;
	}
	srxe_cm_mad_encode(&msg, out);
	if (!cm_same_bytes(mad, out, msg.hdr.attr_id))
		die("CM MAD", "encode(decode(mad)) differs from mad");
	if (srxe_cm_mad_decode(out, sizeof(out), &again, &why) ||
	    memcmp(&msg, &again, sizeof(msg)))
		die("CM MAD", "decode(encode(msg)) differs from msg");
	if (msg.hdr.attr_id == SRXE_CM_ATTR_REQ)
		(void)srxe_cma_hdr_decode(msg.req.private_data,
					  sizeof(msg.req.private_data), &cma);
	if (msg.hdr.attr_id == SRXE_CM_ATTR_SIDR_REQ)
		(void)srxe_cma_hdr_decode(msg.sidr_req.private_data,
					  sizeof(msg.sidr_req.private_data),
					  &cma);
}

static void gsi_rx(void *opaque, const struct srxe_gsi_mad *m)
{
	cm_mad_check(m->mad, m->len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct srxe_engine_config cfg = {
		.active_mtu = IBV_MTU_4096,
		.threads = 1,
		.spin_us = 50,
	};
	const char *why = NULL;

	trace = getenv("FUZZ_TRACE") != NULL;
	w_ipv4 = inet_addr(W_IP);
	cfg.ipv4_be = w_ipv4;
	/* IPv6 too: the target has a link-local address (GID 0). */
	cfg.ipv6 = true;
	memcpy(cfg.ipv6_ll, w_ipv6, 16);
	cfg.ifindex = 1;
	if (srxe_engine_start(&cfg, &w_eng, &why))
		die("engine", why);
	srxe_engine_lock(w_eng);
	srxe_eng_set_gsi_rx(w_eng, gsi_rx, NULL);
	srxe_engine_unlock(w_eng);
	mem_init(&w_mem[0], SRXE_MEM_SHORTCUT, 1);
	mem_init(&w_mem[1], SRXE_MEM_MTT, 2);
	w_arena = mmap(NULL, W_ARENA, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	w_db = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w_arena == MAP_FAILED || w_db < 0)
		die("arena/doorbell", strerror(errno));
	return 0;
}

/* ---- per-input world ---- */

static struct srxe_ring_hdr *ring(struct w_input *in, uint32_t stride)
{
	uint64_t bytes = srxe_ring_bytes(W_RING, stride);
	struct srxe_ring_hdr *r = (void *)(w_arena + in->arena_used);

	in->arena_used += bytes;
	if (in->arena_used > W_ARENA)
		die("arena", "full");
	return r;
}

static void av_local(struct srxe_ah_wire *av)
{
	memset(av, 0, sizeof(*av));
	av->dgid[10] = 0xff;
	av->dgid[11] = 0xff;
	memcpy(av->dgid + 12, &w_ipv4, 4);
	av->sgid_index = 1;
	av->hop_limit = 64;
	av->is_global = 1;
	av->port_num = 1;
}

static void modify(struct w_qp *q, struct srxe_qp_attr_wire *a, uint32_t mask)
{
	const char *why = NULL;

	if (srxe_eng_qp_modify(q->qp, a, mask, &why))
		die("modify_qp", why);
}

static void ud_to_rts(struct w_qp *q)
{
	struct srxe_qp_attr_wire a = { .qp_state = IBV_QPS_INIT,
				       .port_num = 1,
				       .qkey = W_QKEY };

	modify(q, &a,
	       IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY);
	a.qp_state = IBV_QPS_RTR;
	modify(q, &a, IBV_QP_STATE);
	a.qp_state = IBV_QPS_RTS;
	modify(q, &a, IBV_QP_STATE | IBV_QP_SQ_PSN);
}

/* RC/UC: PSNs start at 0, timers far beyond one input's run time. */
static void conn_to_rts(struct w_qp *q, uint32_t type, enum ibv_mtu mtu)
{
	struct srxe_qp_attr_wire a = { .qp_state = IBV_QPS_INIT,
				       .port_num = 1,
				       .qp_access_flags = W_ALL_ACCESS };
	uint32_t m;

	modify(q, &a,
	       IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		       IBV_QP_ACCESS_FLAGS);
	a.qp_state = IBV_QPS_RTR;
	av_local(&a.ah);
	a.path_mtu = mtu;
	a.dest_qp_num = W_PEER_QPN;
	a.max_dest_rd_atomic = 4;
	a.min_rnr_timer = 31;
	m = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
	    IBV_QP_RQ_PSN;
	if (type == IBV_QPT_RC)
		m |= IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	modify(q, &a, m);
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 20; /* 4.3 s */
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 4;
	m = IBV_QP_STATE | IBV_QP_SQ_PSN;
	if (type == IBV_QPT_RC)
		m |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		     IBV_QP_MAX_QP_RD_ATOMIC;
	modify(q, &a, m);
}

static void qp_create(struct w_input *in, int i)
{
	struct w_qp *q = &in->q[i];
	struct srxe_eng_qp_init init = {
		.qp_type = w_type[i],
		.qp_num = w_qpn[i],
		.pd_handle = W_PD,
		.send_cq = in->scq,
		.recv_cq = in->rcq,
		.srq = i == W_RC_SRQ ? in->srq : NULL,
		.sq_size = W_RING,
		.sq_stride = 256,
		.rq_size = W_RING,
		.rq_stride = 128,
		.cap = { .max_send_wr = W_RING,
			 .max_recv_wr = W_RING,
			 .max_send_sge = W_MAX_SGE,
			 .max_recv_sge = W_MAX_SGE,
			 .max_inline_data = 64 },
	};
	const char *why = NULL;

	q->sq = init.sq = ring(in, init.sq_stride);
	q->rq = init.rq = ring(in, init.rq_stride);
	if (srxe_eng_qp_create(in->ctx, &init, &q->qp, &why))
		die("create_qp", why);
	if (w_type[i] == IBV_QPT_UD)
		ud_to_rts(q);
	else
		conn_to_rts(q, w_type[i],
			    i == W_RC ? IBV_MTU_1024 : IBV_MTU_4096);
}

static void recv_wqe(struct srxe_ring_hdr *r, uint32_t *prod, uint64_t wr_id,
		     const struct w_mem *m, uint64_t off, uint32_t len)
{
	struct srxe_recv_wqe *w = srxe_ring_slot(r, *prod, W_RING, 128);
	struct srxe_wqe_sge *sge = (struct srxe_wqe_sge *)(w + 1);

	memset(w, 0, 128);
	w->wr_id = wr_id;
	w->num_sge = 2;
	sge[0] = (struct srxe_wqe_sge){ m->va + off, len / 2, m->lkey };
	sge[1] = (struct srxe_wqe_sge){ m->va + off + len / 2, len - len / 2,
					m->lkey };
	(*prod)++;
	__atomic_store_n(&r->prod.val, *prod, __ATOMIC_RELEASE);
}

static struct srxe_send_wqe *send_wqe(struct w_qp *q, uint32_t opcode)
{
	struct srxe_send_wqe *w =
		srxe_ring_slot(q->sq, q->sq_prod, W_RING, 256);

	memset(w, 0, 256);
	w->wr_id = 0x5000 + q->sq_prod;
	w->opcode = opcode;
	w->flags = SRXE_WQE_SIGNALED;
	return w;
}

static void send_sge(struct srxe_send_wqe *w, const struct w_mem *m,
		     uint64_t off, uint32_t len)
{
	struct srxe_wqe_sge *sge = (struct srxe_wqe_sge *)(w + 1) + w->num_sge;

	*sge = (struct srxe_wqe_sge){ m->va + off, len, m->lkey };
	w->num_sge++;
}

static void send_publish(struct w_qp *q)
{
	q->sq_prod++;
	__atomic_store_n(&q->sq->prod.val, q->sq_prod, __ATOMIC_RELEASE);
}

/* The RC requester's outstanding work: 2-packet SEND, WRITE, 2-packet
 * READ, CMP_SWAP, FETCH_ADD (PSNs 0..6), all to a peer that never answers,
 * so responses fed by the fuzzer find WQEs to complete. */
static void post_rc_sends(struct w_input *in)
{
	struct w_qp *q = &in->q[W_RC];
	const struct w_mem *m = in->m;
	struct srxe_send_wqe *w;

	w = send_wqe(q, IBV_WR_SEND);
	send_sge(w, m, 0, 1500);
	send_publish(q);
	w = send_wqe(q, IBV_WR_RDMA_WRITE);
	send_sge(w, m, 2048, 512);
	w->rdma.remote_addr = 0x1000;
	w->rdma.rkey = 0x1234;
	send_publish(q);
	w = send_wqe(q, IBV_WR_RDMA_READ);
	send_sge(w, m, 4096, 2000);
	w->rdma.remote_addr = 0x2000;
	w->rdma.rkey = 0x1234;
	send_publish(q);
	w = send_wqe(q, IBV_WR_ATOMIC_CMP_AND_SWP);
	send_sge(w, m, 8192, 8);
	w->atomic.remote_addr = 0x3000;
	w->atomic.rkey = 0x1234;
	w->atomic.compare_add = 1;
	w->atomic.swap = 2;
	send_publish(q);
	w = send_wqe(q, IBV_WR_ATOMIC_FETCH_AND_ADD);
	send_sge(w, m, 8200, 8);
	w->atomic.remote_addr = 0x3008;
	w->atomic.rkey = 0x1234;
	w->atomic.compare_add = 5;
	send_publish(q);
}

static void post_recvs(struct w_input *in)
{
	for (int i = 0; i < W_NQP; i++) {
		if (i == W_RC_SRQ)
			continue;
		for (uint32_t k = 0; k < 2; k++)
			recv_wqe(in->q[i].rq, &in->q[i].rq_prod, 0x100 * i + k,
				 in->m, 10240 + 2048 * k, 2048);
	}
	for (uint32_t k = 0; k < 2; k++)
		recv_wqe(in->srq_ring, &in->srq_prod, 0x900 + k, in->m,
			 14336 + 1024 * k, 1024);
}

static void world_up(struct w_input *in, struct w_mem *m, bool recvs)
{
	struct srxe_eng_ctx_init ci = {
		.mem = m->mem,
		.arena = w_arena,
		.arena_bytes = W_ARENA,
		.doorbell_fd = w_db,
		.async_fd = -1,
		.client_id = m == &w_mem[0] ? 1 : 2,
	};
	struct srxe_eng_srq_init si = { .pd_handle = W_PD,
					.size = W_RING,
					.stride = 128,
					.max_wr = W_RING,
					.max_sge = W_MAX_SGE };
	const char *why = NULL;

	memset(in, 0, sizeof(*in));
	in->m = m;
	memset(m->bytes, 0xa5, W_MR_LEN);
	memset(w_arena, 0, W_ARENA); /* rings start zeroed, as srxed's do */
	in->arena_used = 4096;
	if (srxe_eng_ctx_create(w_eng, &ci, &in->ctx, &why))
		die("context", why);
	if (srxe_eng_cq_create(in->ctx, ring(in, SRXE_CQE_STRIDE), W_RING, 0,
			       &in->scq, &why) ||
	    srxe_eng_cq_create(in->ctx, ring(in, SRXE_CQE_STRIDE), W_RING, 0,
			       &in->rcq, &why))
		die("create_cq", why);
	in->srq_ring = si.ring = ring(in, 128);
	if (srxe_eng_srq_create(in->ctx, &si, &in->srq, &why))
		die("create_srq", why);
	for (int i = 0; i < W_NQP; i++)
		qp_create(in, i);
	if (recvs)
		post_recvs(in);
	post_rc_sends(in);
	/* Two passes: the requester sends within its per-pass budget. */
	srxe_engine_pass(w_eng);
	srxe_engine_pass(w_eng);
}

static void world_down(struct w_input *in)
{
	srxe_engine_pass(w_eng); /* retire what the input completed */
	if (trace)
		fprintf(stderr, "fuzz_rx: CQEs: send %u, recv %u\n",
			in->scq->prod, in->rcq->prod);
	srxe_eng_ctx_destroy(in->ctx);
}

/* ---- fix-ups of one datagram (IPv4 header first) ---- */

/* The BTH, when the datagram is long enough to hold one. */
static uint8_t *bth_of(uint8_t *ip, size_t len, size_t *ihl_out)
{
	size_t ihl;

	if (len >= 40 && ip[0] >> 4 == 6)
		ihl = 40;
	else if (len < 20 || ip[0] >> 4 != 4)
		return NULL;
	else
		ihl = (size_t)(ip[0] & 0x0f) * 4;
	if (ihl < 20 || len < ihl + 8 + 12 + 4)
		return NULL;
	*ihl_out = ihl;
	return ip + ihl + 8;
}

/* The QP of the opcode's transport.  RC responses go to the requester
 * with outstanding work; RC requests to the QP with its own RQ or the one
 * on the SRQ, as DestQP's low bit says; UD to QP 1 (the CM) stays there.
 * Unknown transports: DestQP modulo the QP count. */
static void steer_qp(uint8_t *ip, uint8_t *bth)
{
	uint32_t dqpn = srxe_get_be24(bth + 5);
	const struct srxe_opcode_info *op;
	int i = -1;

	switch (bth[0] >> 5) {
	case SRXE_TRANSPORT_RC:
		op = srxe_opcode_info(bth[0]);
		i = (op && op->flags & SRXE_OPF_RESPONSE) || !(dqpn & 1)
			    ? W_RC
			    : W_RC_SRQ;
		break;
	case SRXE_TRANSPORT_UC:
		i = W_UC;
		break;
	case SRXE_TRANSPORT_UD:
		if (dqpn != SRXE_GSI_QPN)
			i = W_UD;
		break;
	default:
		i = (int)(dqpn % W_NQP);
	}
	if (i >= 0)
		srxe_put_be24(bth + 5, w_qpn[i]);
	if (ip[0] >> 4 == 6)
		memcpy(ip + 24, w_ipv6, 16);
	else
		memcpy(ip + 16, &w_ipv4, 4);
}

static void fix_keys(struct w_input *in, uint8_t *bth, size_t room)
{
	const struct srxe_opcode_info *op = srxe_opcode_info(bth[0]);
	const struct w_mem *m = in->m;
	uint8_t off;

	if (!op || op->hdr_len > room)
		return;
	off = op->ext_off[SRXE_EXT_RETH];
	if (off) {
		uint64_t va = srxe_get_be64(bth + off);

		srxe_put_be64(bth + off, m->va + va % W_MR_LEN);
		srxe_put_be32(bth + off + 8, m->rkey);
	}
	off = op->ext_off[SRXE_EXT_ATOMICETH];
	if (off) {
		uint64_t va = srxe_get_be64(bth + off) & ~7ull;

		srxe_put_be64(bth + off, m->va + va % W_MR_LEN);
		srxe_put_be32(bth + off + 8, m->rkey);
	}
	off = op->ext_off[SRXE_EXT_DETH];
	if (off)
		srxe_put_be32(bth + off, srxe_get_be24(bth + 5) == SRXE_GSI_QPN
						 ? SRXE_GSI_QKEY
						 : W_QKEY);
	off = op->ext_off[SRXE_EXT_IETH];
	if (off)
		srxe_put_be32(bth + off, m->rkey);
}

/* Requests: the responder's expected PSN.  Responses: inside the RC
 * requester's outstanding PSNs (low bits of the input pick where). */
static void fix_psn(struct w_input *in, uint8_t *bth)
{
	const struct srxe_opcode_info *op = srxe_opcode_info(bth[0]);
	struct srxe_eng_qp *qp = srxe_qp_lookup(w_eng, srxe_get_be24(bth + 5));
	uint32_t psn = srxe_get_be24(bth + 9);

	if (!op || !qp)
		return;
	if (op->flags & SRXE_OPF_RESPONSE)
		psn = srxe_swqe_at(qp, qp->sq_cons)->first_psn + (psn & 7);
	else
		psn = qp->resp.epsn;
	srxe_put_be24(bth + 9, psn & 0xffffff);
}

/* IP header, UDP length/port and ICRC as a sender would make them. */
static void fix_lengths_icrc(uint8_t *ip, size_t len, size_t ihl)
{
	uint8_t *udp = ip + ihl;

	if (ip[0] >> 4 == 6) {
		srxe_put_be16(ip + 4, (uint16_t)(len - ihl));
		ip[6] = 17; /* next header UDP, no extension headers */
	} else {
		srxe_put_be16(ip + 2, (uint16_t)len);
		srxe_put_be16(ip + 6, 0x4000); /* DF, not a fragment */
		ip[9] = 17;
	}
	srxe_put_be16(udp + 2, 4791);
	srxe_put_be16(udp + 4, (uint16_t)(len - ihl));
	srxe_icrc_seal(ip, ihl, udp, len - ihl);
}

static void fix_up(struct w_input *in, uint8_t mode, uint8_t *ip, size_t len)
{
	size_t ihl;
	uint8_t *bth;

	/* An IPv6 header stays one; anything else becomes IPv4. */
	if ((mode & FUZZ_RX_FIX_ICRC) && len >= 20 &&
	    !(ip[0] >> 4 == 6 && len >= 40) &&
	    (ip[0] >> 4 != 4 || (ip[0] & 0x0f) < 5))
		ip[0] = 0x45;
	bth = bth_of(ip, len, &ihl);
	if (!bth || len > 0xffff)
		return;
	if (mode & FUZZ_RX_STEER)
		steer_qp(ip, bth);
	if (mode & FUZZ_RX_KEYS)
		fix_keys(in, bth, len - ihl - 8);
	if (mode & FUZZ_RX_PSN)
		fix_psn(in, bth);
	if (mode & FUZZ_RX_FIX_ICRC)
		fix_lengths_icrc(ip, len, ihl);
}

/* ---- the receive path ---- */

/* The wire transport's own receive path (transport_udp.h). */
static void rx_ip(const uint8_t *ip, size_t len)
{
	struct srxe_pkt pkt;
	int ret = srxe_udp_rx_datagram(w_eng, ip, len, &pkt);

	if (!trace)
		return;
	if (ret == SRXE_UDP_RX_NOT_FOR_US)
		fprintf(stderr, "fuzz_rx: %zu bytes: not for us\n", len);
	else if (ret == SRXE_UDP_RX_OTHER_GROUP)
		fprintf(stderr, "fuzz_rx: %zu bytes: a group not joined\n",
			len);
	else
		fprintf(stderr, "fuzz_rx: %zu bytes: %s %s dqpn 0x%x psn %u\n",
			len, srxe_rx_reason_name((enum srxe_rx_reason)ret),
			ret ? "-" : pkt.op->name, ret ? 0 : pkt.dqpn,
			ret ? 0 : pkt.psn);
}

/* An Ethernet frame: IPv4 and IPv6 go the wire's way. */
static void rx_frame(struct w_input *in, uint8_t mode, uint8_t *f, size_t len)
{
	struct srxe_frame_view v;
	uint8_t *ip;

	if (srxe_frame_locate_eth(f, len, &v))
		return;
	ip = f + (v.ip - f);
	/* The IP datagram as the raw (IPv4) or the UDP socket (IPv6, whose
	 * headers transport_udp.c writes back) would deliver it. */
	len = (size_t)(v.udp - v.ip) + v.udp_len;
	fix_up(in, mode, ip, len);
	rx_ip(ip, len);
}

static void rx_one(struct w_input *in, uint8_t mode, const uint8_t *p,
		   size_t len)
{
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		die("malloc", "out of memory");
	memcpy(buf, p, len);
	if (mode & FUZZ_RX_ETH) {
		rx_frame(in, mode, buf, len);
	} else {
		fix_up(in, mode, buf, len);
		rx_ip(buf, len);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct w_input in;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	srxe_engine_lock(w_eng);
	world_up(&in, &w_mem[mode & FUZZ_RX_MTT ? 1 : 0],
		 !(mode & FUZZ_RX_NO_RECV));
	if (!(mode & FUZZ_RX_MULTI)) {
		rx_one(&in, mode, data, size);
	} else {
		/* Records: 16-bit little-endian length, then the bytes. */
		while (size >= 2) {
			size_t n = data[0] | (size_t)data[1] << 8;

			data += 2;
			size -= 2;
			n = n < size ? n : size;
			rx_one(&in, mode, data, n);
			srxe_engine_pass(w_eng);
			data += n;
			size -= n;
		}
	}
	world_down(&in);
	srxe_engine_unlock(w_eng);
	return 0;
}
