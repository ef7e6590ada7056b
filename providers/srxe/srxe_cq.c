// SPDX-License-Identifier: MIT
/*
 * Completion queues: srxed creates the ring, the engine writes CQEs into
 * it, the provider converts them to struct ibv_wc and hands the slots back
 * by storing cons.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "srxe_fatal.h"
#include "srxe_verbs.h"

/* srxed knows a channel by its pipe's inode (include/srxe/proto_event.h). */
static int channel_ino(struct ibv_comp_channel *channel, uint64_t *ino)
{
	struct stat st;

	*ino = 0;
	if (!channel)
		return 0;
	if (fstat(channel->fd, &st) || !S_ISFIFO(st.st_mode))
		return EINVAL;
	*ino = st.st_ino;
	return 0;
}

int srxe_cq_setup(struct ibv_context *ibctx, struct srxe_cq *cq, int cqe,
		  int comp_vector, struct ibv_comp_channel *channel)
{
	struct srxe_context *ctx = to_srxe_context(ibctx);
	struct srxe_create_cq_req req = {
		.cqe = cqe < 0 ? 0 : (uint32_t)cqe,
		.comp_vector =
			comp_vector < 0 ? UINT32_MAX : (uint32_t)comp_vector,
		.user_handle = (uintptr_t)&cq->vcq.cq,
	};
	struct srxe_create_cq_resp resp;
	struct srxe_destroy_req dreq = { 0 };
	int ret;

	if (srxe_arena_check(&ctx->arena))
		return errno;
	if (cqe < 1 || channel_ino(channel, &req.channel_ino)) {
		errno = EINVAL;
		return EINVAL;
	}
	ret = srxe_ctx_call(ctx, SRXE_OP_CREATE_CQ, &req, sizeof(req), &resp,
			    sizeof(resp));
	if (ret)
		return ret;
	ret = srxe_ring_attach(&ctx->arena, &resp.ring, SRXE_CQE_STRIDE,
			       &cq->ring);
	if (ret) {
		dreq.handle = resp.cq_handle;
		srxe_ctx_call(ctx, SRXE_OP_DESTROY_CQ, &dreq, sizeof(dreq),
			      NULL, 0);
		errno = ret;
		return ret;
	}
	pthread_spin_init(&cq->lock, PTHREAD_PROCESS_PRIVATE);
	cq->vcq.cq.context = ibctx;
	cq->vcq.cq.handle = resp.cq_handle;
	cq->vcq.cq.cqe = resp.cqe;
	return 0;
}

/* libibverbs' ibv_create_cq() runs verbs_init_cq() on what we return. */
struct ibv_cq *srxe_create_cq(struct ibv_context *ibctx, int cqe,
			      struct ibv_comp_channel *channel, int comp_vector)
{
	struct srxe_cq *cq = calloc(1, sizeof(*cq));
	int ret;

	if (!cq) {
		errno = ENOMEM;
		return NULL;
	}
	ret = srxe_cq_setup(ibctx, cq, cqe, comp_vector, channel);
	if (ret) {
		free(cq);
		errno = ret;
		return NULL;
	}
	return &cq->vcq.cq;
}

static void srxe_cqe_to_wc(const struct srxe_cqe *cqe, struct ibv_wc *wc)
{
	wc->wr_id = cqe->wr_id;
	wc->status = cqe->status;
	wc->opcode = cqe->opcode;
	wc->vendor_err = cqe->vendor_err;
	wc->byte_len = cqe->byte_len;
	wc->imm_data = cqe->imm_data; /* also invalidated_rkey */
	wc->qp_num = cqe->qp_num;
	wc->src_qp = cqe->src_qp;
	wc->wc_flags = cqe->wc_flags;
	wc->pkey_index = cqe->pkey_index;
	wc->slid = cqe->slid;
	wc->sl = cqe->sl;
	wc->dlid_path_bits = cqe->dlid_path_bits;
}

/* Some QP of this send CQ has posted sends srxed has not retired yet. */
static bool sends_pending(const struct srxe_cq *cq)
{
	for (const struct srxe_qp *qp = cq->senders; qp; qp = qp->next_sender) {
		const struct srxe_ring_hdr *h = qp->sq.ring.hdr;

		if (__atomic_load_n(&h->prod.val, __ATOMIC_RELAXED) !=
		    __atomic_load_n(&h->cons.val, __ATOMIC_RELAXED))
			return true;
	}
	return false;
}

enum srxe_backoff srxe_cq_idle_step(struct srxe_cq *cq, int found)
{
	const struct srxe_context *ctx = to_srxe_context(cq->vcq.cq.context);
	enum srxe_backoff b;

	if (found) {
		srxe_backoff_reset(&cq->idle);
		return SRXE_BACKOFF_SPIN;
	}
	b = srxe_backoff_step(&cq->idle, ctx->arena.base, srxe_backoff_now_ns);
	if (b == SRXE_BACKOFF_QUIET)
		return sends_pending(cq) ? SRXE_BACKOFF_NAP
					 : SRXE_BACKOFF_YIELD;
	return b;
}

void srxe_cq_add_sender(struct srxe_cq *cq, struct srxe_qp *qp)
{
	pthread_spin_lock(&cq->lock);
	qp->sender_cq = cq;
	qp->next_sender = cq->senders;
	cq->senders = qp;
	pthread_spin_unlock(&cq->lock);
}

void srxe_cq_del_sender(struct srxe_cq *cq, struct srxe_qp *qp)
{
	pthread_spin_lock(&cq->lock);
	for (struct srxe_qp **p = &cq->senders; *p; p = &(*p)->next_sender) {
		if (*p == qp) {
			*p = qp->next_sender;
			break;
		}
	}
	qp->sender_cq = NULL;
	pthread_spin_unlock(&cq->lock);
}

/* Moves up to @num_entries ready entries into @wc; under the CQ's lock. */
static int take_ready(struct srxe_cq *cq, int num_entries, struct ibv_wc *wc)
{
	uint32_t ready = srxe_ring_ready(&cq->ring);
	int n = 0;

	for (; n < num_entries && (uint32_t)n < ready; n++) {
		srxe_cqe_to_wc(srxe_ring_at(&cq->ring, cq->ring.head), &wc[n]);
		cq->ring.head++;
	}
	if (n)
		srxe_ring_consume(&cq->ring);
	return n;
}

/*
 * An empty poll that waits (srxe_backoff.h) looks again before it answers:
 * a yield on a busy CPU can last milliseconds, and a caller acts on "empty"
 * at once.  libfabric's rxm, for one, then reads its connection events; a
 * completion that arrived during the wait, before the peer's disconnect,
 * would be found only after the connection was closed, and lost with it.
 */
int srxe_poll_cq(struct ibv_cq *ibcq, int num_entries, struct ibv_wc *wc)
{
	struct srxe_cq *cq = to_srxe_cq(ibcq);
	enum srxe_backoff idle;
	int n;

	pthread_spin_lock(&cq->lock);
	n = take_ready(cq, num_entries, wc);
	idle = srxe_cq_idle_step(cq, n);
	pthread_spin_unlock(&cq->lock);
	if (!n && idle != SRXE_BACKOFF_SPIN) {
		srxe_backoff_wait(idle);
		pthread_spin_lock(&cq->lock);
		n = take_ready(cq, num_entries, wc);
		if (n)
			srxe_backoff_reset(&cq->idle);
		pthread_spin_unlock(&cq->lock);
	}
	/* srxed gone: what it wrote, then flush errors (srxe_fatal.h) */
	if (n < num_entries && srxe_ctx_dead(to_srxe_context(ibcq->context)))
		n += srxe_fatal_flush(to_srxe_context(ibcq->context), cq,
				      num_entries - n, wc + n);
	return n;
}

/*
 * Arming is a bump of arm_seq after arm_solicited is in place; the engine
 * compares arm_seq with the value it last served when it writes a CQE and
 * then writes one event to the CQ's completion channel (docs/events.md).
 */
int srxe_req_notify_cq(struct ibv_cq *ibcq, int solicited_only)
{
	struct srxe_cq *cq = to_srxe_cq(ibcq);
	struct srxe_ring_hdr *hdr;

	pthread_spin_lock(&cq->lock);
	hdr = cq->ring.hdr;
	__atomic_store_n(&hdr->arm_solicited, solicited_only ? 1u : 0u,
			 __ATOMIC_RELAXED);
	__atomic_fetch_add(&hdr->arm_seq, 1, __ATOMIC_RELEASE);
	/* Before the caller's next poll reads prod: see srxe_cq_push(). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	pthread_spin_unlock(&cq->lock);
	return 0;
}

/*
 * srxed moves the unconsumed CQEs into a new ring from index 0 on; the
 * lock keeps pollers off both rings meanwhile.
 */
int srxe_resize_cq(struct ibv_cq *ibcq, int cqe)
{
	struct srxe_context *ctx = to_srxe_context(ibcq->context);
	struct srxe_cq *cq = to_srxe_cq(ibcq);
	struct srxe_resize_cq_req req = { .cq_handle = ibcq->handle };
	struct srxe_resize_cq_resp resp;
	struct srxe_ring ring;
	int ret;

	if (cqe < 1)
		return EINVAL;
	req.cqe = cqe;
	pthread_spin_lock(&cq->lock);
	ret = srxe_ctx_call(ctx, SRXE_OP_RESIZE_CQ, &req, sizeof(req), &resp,
			    sizeof(resp));
	if (!ret)
		ret = srxe_ring_attach(&ctx->arena, &resp.ring, SRXE_CQE_STRIDE,
				       &ring);
	if (!ret) {
		cq->ring = ring;
		ibcq->cqe = resp.cqe;
	}
	pthread_spin_unlock(&cq->lock);
	return ret;
}

int srxe_destroy_cq(struct ibv_cq *ibcq)
{
	struct srxe_cq *cq = to_srxe_cq(ibcq);
	struct srxe_destroy_req req = { .handle = ibcq->handle };
	int ret;

	ret = srxe_ctx_call(to_srxe_context(ibcq->context), SRXE_OP_DESTROY_CQ,
			    &req, sizeof(req), NULL, 0);
	if (ret)
		return ret; /* e.g. EBUSY while a QP uses it: CQ stays valid */
	/* Only a dead context destroys a CQ its QPs still use: they must
	 * not reach it when they go (srxe_destroy_qp). */
	for (struct srxe_qp *qp = cq->senders; qp; qp = qp->next_sender)
		qp->sender_cq = NULL;
	pthread_spin_destroy(&cq->lock);
	free(cq);
	return 0;
}

/*
 * A QP moved to RESET: its completions not yet polled go, as mlx5 does
 * (mlx5_cq_clean), so that flush errors of its previous life do not
 * surface after it is brought back to RTS.  The engine writes no CQE for
 * a reset QP and only writes slots at and after prod: the survivors are
 * compacted towards prod and cons moves past the gap.
 */
void srxe_cq_purge_qp(struct srxe_cq *cq, uint32_t qpn)
{
	uint32_t head, end, dst;

	pthread_spin_lock(&cq->lock);
	head = cq->ring.head;
	end = head + srxe_ring_ready(&cq->ring);
	dst = end;
	for (uint32_t i = end; i != head;) {
		struct srxe_cqe *e = srxe_ring_at(&cq->ring, --i);

		if (e->qp_num == qpn)
			continue;
		if (--dst != i)
			memcpy(srxe_ring_at(&cq->ring, dst), e, sizeof(*e));
	}
	if (dst != head) {
		cq->ring.head = dst;
		srxe_ring_consume(&cq->ring);
	}
	pthread_spin_unlock(&cq->lock);
}
