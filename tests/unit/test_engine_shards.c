// SPDX-License-Identifier: MIT
/*
 * Issue #14, engine threads (kernel-shim/engine/core/shard.h): a context
 * that moves to another thread while packets for its QPs wait in its old
 * thread's inbox gets them before any newer one.
 *
 * Two threads, every hand-off queued (h_engine_start_threads with queue):
 * context A on the first thread, B on the second.  With every engine lock
 * held by the test (the control plane's view), three datagrams for B's UD
 * QP are handed to B's thread the way rx.c hands them (srxe_shard_handoff:
 * queued, as that thread cannot run), A posts three more to the same QP,
 * and a multicast attach of that QP pins B to the first thread (where
 * multicast is received): B moves when the locks are released, its
 * thread's inbox holding the first three.  They must be received first:
 * left behind, the old thread would hand them on after A's thread, which
 * now serves B, delivered A's three directly.
 */
#include "engine_harness.h"
#include "engine/core/shard.h"
#include "engine/eng_int.h"
#include "engine/packet/pkt.h"
#include "engine/packet/wire.h"

#define TMO   10000
#define DGRAM 256
#define QKEY  0x11111111u

static struct h_ctx A, B;
static struct h_cq acq, bcq;
static struct h_qp qa, qu;
static struct h_mr src, dst;

static void setup(void)
{
	struct h_conn_opts o = { 0 };
	struct srxe_ah_wire av;
	const char *why;

	h_engine_start_threads(IBV_MTU_1024, 2, true);
	h_ctx_init(&A, SRXE_MEM_SHORTCUT, 1);
	h_ctx_init(&B, SRXE_MEM_SHORTCUT, 2);
	h_cq_create(&A, &acq, 64);
	h_cq_create(&B, &bcq, 64);
	h_qp_create(&A, &qa, IBV_QPT_UD, &acq, &acq);
	h_qp_create(&B, &qu, IBV_QPT_UD, &bcq, &bcq);
	h_to_rts(&qa, 0, &o);
	h_to_rts(&qu, 0, &o);
	h_av(&av);
	srxe_engine_lock(h_eng);
	cr_assert_eq(srxe_eng_ah_create(A.ctx, H_PD, &av, &A.ah[0], &why), 0,
		     "%s", why);
	srxe_engine_unlock(h_eng);
	A.nah = 1;
	h_mr_reg(&A, &src, DGRAM, 0);
	h_fill(src.p, DGRAM, 3);
	h_mr_reg(&B, &dst, 8 * 512, IBV_ACCESS_LOCAL_WRITE);
	for (uint32_t i = 0; i < 8; i++)
		h_post_recv(&qu, i, &dst, (uint64_t)i * 512, 512);
}

static void teardown(void)
{
	h_ctx_fini(&A);
	h_ctx_fini(&B);
	srxe_engine_stop(h_eng);
}

static struct srxe_eng_stats eng_stats(void)
{
	struct srxe_eng_stats st;

	srxe_engine_stats(h_eng, &st);
	return st;
}

/* Datagram @seq from A's QP to B's, as the first thread hands it to the
 * second (every lock held: it can only be queued). */
static void hand_over(uint32_t seq)
{
	struct srxe_engine *first = h_eng->shards[0],
			   *second = h_eng->shards[1];
	struct srxe_tx_pkt tx = { 0 };
	struct srxe_pkt pkt;
	struct srxe_sg chunk = { .addr = src.p, .len = DGRAM };
	uint32_t imm = htonl(seq);

	cr_assert(srxe_tx_begin(&tx, SRXE_OP_UD_SEND_ONLY_IMM, qu.qpn, seq,
				DGRAM));
	memcpy(srxe_tx_ext(&tx, SRXE_EXT_IMMDT), &imm, 4);
	srxe_deth_set_qkey(srxe_tx_ext(&tx, SRXE_EXT_DETH), QKEY);
	srxe_deth_set_sqpn(srxe_tx_ext(&tx, SRXE_EXT_DETH), qa.qpn);
	cr_assert(srxe_tx_parse(&tx, &pkt));
	pkt.payload = src.p;
	pkt.payload_len = DGRAM;
	srxe_shard_handoff(first, second, &pkt, &chunk, 1);
}

/* Datagram @seq posted on A's QP (sent once the engine runs). */
static void post_send(uint32_t seq)
{
	struct srxe_send_wqe *w = h_send_slot(&qa);

	w->wr_id = seq;
	w->opcode = IBV_WR_SEND_WITH_IMM;
	w->imm_data = htonl(seq);
	w->ud.ah_handle = 1;
	w->ud.remote_qpn = qu.qpn;
	w->ud.remote_qkey = QKEY;
	h_sge(w, &src, 0, DGRAM);
	qa.sq_prod++;
	__atomic_store_n(&qa.sq->prod.val, qa.sq_prod, __ATOMIC_RELEASE);
}

Test(engine_shards, queued_packets_follow_a_moved_context, .init = setup,
     .fini = teardown)
{
	static const uint8_t grp[16] = { 0xff, 0x02, [15] = 7 };
	struct srxe_eng_stats st = eng_stats();
	struct srxe_cqe e;
	const char *why;

	cr_assert_eq(st.threads, 2);
	cr_assert_eq(st.thread_ctxs[1], 1, "B on the second thread");
	srxe_engine_lock(h_eng);
	for (uint32_t seq = 0; seq < 3; seq++)
		hand_over(seq);
	for (uint32_t seq = 3; seq < 6; seq++)
		post_send(seq);
	cr_assert_eq(srxe_eng_mcast_attach(qu.qp, grp, &why), 0, "%s", why);
	srxe_engine_unlock(h_eng); /* B moves to the first thread here */
	h_doorbell(&A);

	for (uint32_t seq = 0; seq < 6; seq++) {
		cr_assert(h_poll(&bcq, &e, TMO), "datagram %u never arrived",
			  seq);
		cr_assert_eq(e.status, IBV_WC_SUCCESS);
		cr_assert_eq(ntohl(e.imm_data), seq,
			     "datagram %u arrived where %u was due",
			     ntohl(e.imm_data), seq);
		cr_assert_eq(memcmp(dst.p + e.wr_id * 512 + 40, src.p, DGRAM),
			     0);
	}
	st = eng_stats();
	cr_assert_eq(st.thread_ctxs[0], 2, "B pinned to the first thread");
	cr_assert_eq(st.handoffs_queued, 3);
	cr_assert_eq(st.handoffs_followed, 3);
}
