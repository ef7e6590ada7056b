// SPDX-License-Identifier: MIT
/*
 * Completion queues: the engine is the only producer of each ring; the
 * provider's consumer index is untrusted and only used, bound-checked, to
 * detect overflow.  An overflowing (or corrupted) CQ goes to the error
 * state with IBV_EVENT_CQ_ERR and accepts no more CQEs, as IBA says.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdma/ib_user_verbs.h>

#include "objects.h"
#include "packet/timing.h"

static bool cq_ring_ok(struct srxe_eng_ctx *ctx, struct srxe_ring_hdr *ring,
		       uint32_t size)
{
	return size && !(size & (size - 1)) &&
	       srxe_ctx_in_arena(ctx, ring,
				 srxe_ring_bytes(size, SRXE_CQE_STRIDE));
}

int srxe_eng_cq_create(struct srxe_eng_ctx *ctx, struct srxe_ring_hdr *ring,
		       uint32_t size, uint64_t user_handle,
		       struct srxe_eng_cq **out, const char **why)
{
	struct srxe_eng_cq *cq;

	*why = NULL;
	if (!cq_ring_ok(ctx, ring, size)) {
		*why = "CQ ring is not a power-of-two ring inside the arena";
		return -EINVAL;
	}
	cq = calloc(1, sizeof(*cq));
	if (!cq) {
		*why = "out of memory";
		return -ENOMEM;
	}
	cq->ctx = ctx;
	cq->ring = ring;
	cq->size = size;
	cq->user_handle = user_handle;
	cq->serial = ++ctx->eng->dev->next_cq_serial;
	cq->event_fd = -1;
	cq->prod = __atomic_load_n(&ring->prod.val, __ATOMIC_RELAXED);
	__atomic_store_n(&ring->cons.val, cq->prod, __ATOMIC_RELAXED);
	cq->arm_seen = __atomic_load_n(&ring->arm_seq, __ATOMIC_RELAXED);
	srxe_list_add_tail(&ctx->cqs, &cq->node);
	ctx->eng->stats.cqs++;
	*out = cq;
	return 0;
}

static void cq_fail(struct srxe_eng_cq *cq)
{
	if (cq->error)
		return;
	cq->error = true;
	srxe_ctx_async(cq->ctx, cq->user_handle, IBV_EVENT_CQ_ERR);
}

/*
 * One event record on the channel.  A full pipe already holds an event the
 * consumer has not read, a closed one has no reader: neither may stall
 * the engine (the fd is non-blocking; srxed ignores SIGPIPE).
 */
static void cq_deliver(struct srxe_eng_cq *cq)
{
	struct ib_uverbs_comp_event_desc ev = { .cq_handle = cq->user_handle };

	if (cq->event_fd < 0)
		return;
	if (write(cq->event_fd, &ev, sizeof(ev)) < 0)
		return;
}

void srxe_eng_cq_set_event_fd(struct srxe_eng_cq *cq, int fd)
{
	cq->event_fd = fd;
}

/* Raise a notification if the consumer armed the CQ for this CQE. */
static void cq_notify(struct srxe_eng_cq *cq, const struct srxe_cqe *cqe,
		      bool solicited)
{
	uint32_t seq = __atomic_load_n(&cq->ring->arm_seq, __ATOMIC_ACQUIRE);
	uint32_t sol_only;

	if (seq == cq->arm_seen)
		return;
	sol_only = __atomic_load_n(&cq->ring->arm_solicited, __ATOMIC_RELAXED);
	if (sol_only && !solicited && cqe->status == IBV_WC_SUCCESS)
		return;
	cq->arm_seen = seq;
	cq->events++;
	cq_deliver(cq);
}

int srxe_cq_push(struct srxe_eng_cq *cq, const struct srxe_cqe *cqe,
		 bool solicited)
{
	struct srxe_cqe *slot;
	uint32_t cons, used;

	if (cq->error)
		return -ENOSPC;
	cons = __atomic_load_n(&cq->ring->cons.val, __ATOMIC_ACQUIRE);
	used = cq->prod - cons;
	if (used >= cq->size) {
		/* Full, or a consumer index from nowhere: both are fatal. */
		cq_fail(cq);
		return -ENOSPC;
	}
	slot = srxe_ring_slot(cq->ring, cq->prod, cq->size, SRXE_CQE_STRIDE);
	memcpy(slot, cqe, sizeof(*cqe));
	if (__atomic_load_n(&cq->ring->cqe_timestamps, __ATOMIC_RELAXED))
		slot->completion_ns = srxe_now_ns();
	cq->prod++;
	__atomic_store_n(&cq->ring->prod.val, cq->prod, __ATOMIC_RELEASE);
	/*
	 * Pairs with the fence in srxe_req_notify_cq(): the consumer bumps
	 * arm_seq and then reads prod, we publish prod and then read arm_seq.
	 * Without a full fence on both sides (x86 reorders a store with a
	 * later load) both can read the old value: the consumer polls an
	 * empty CQ and sleeps, and we raise no event -- a lost wake-up.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	cq_notify(cq, cqe, solicited);
	return 0;
}

bool srxe_cq_unconsumed_before(const struct srxe_eng_cq *cq, uint32_t prod)
{
	uint32_t cons = __atomic_load_n(&cq->ring->cons.val, __ATOMIC_ACQUIRE);

	if (cq->prod - cons > cq->size)
		return false; /* garbage consumer index */
	return (int32_t)(prod - cons) > 0;
}

/* Resizing settles the engine's work in between (control.c). */
int srxe_cq_resize_check(struct srxe_eng_cq *cq, struct srxe_ring_hdr *ring,
			 uint32_t size, const char **why)
{
	*why = NULL;
	if (!cq_ring_ok(cq->ctx, ring, size)) {
		*why = "CQ ring is not a power-of-two ring inside the arena";
		return -EINVAL;
	}
	return 0;
}

int srxe_cq_resize_move(struct srxe_eng_cq *cq, struct srxe_ring_hdr *ring,
			uint32_t size, const char **why)
{
	uint32_t cons, n;

	*why = NULL;
	cons = __atomic_load_n(&cq->ring->cons.val, __ATOMIC_ACQUIRE);
	n = cq->prod - cons;
	if (n > cq->size)
		n = 0; /* garbage consumer index: nothing trustworthy to move */
	if (n > size) {
		*why = "more unconsumed CQEs than the new size holds";
		return -EINVAL;
	}
	for (uint32_t i = 0; i < n; i++)
		memcpy(srxe_ring_slot(ring, i, size, SRXE_CQE_STRIDE),
		       srxe_ring_slot(cq->ring, cons + i, cq->size,
				      SRXE_CQE_STRIDE),
		       sizeof(struct srxe_cqe));
	__atomic_store_n(&ring->cons.val, 0, __ATOMIC_RELAXED);
	/* the CQEs written before the provider reads the reply are timed */
	__atomic_store_n(
		&ring->cqe_timestamps,
		__atomic_load_n(&cq->ring->cqe_timestamps, __ATOMIC_RELAXED),
		__ATOMIC_RELAXED);
	__atomic_store_n(&ring->prod.val, n, __ATOMIC_RELEASE);
	cq->ring = ring;
	cq->size = size;
	cq->prod = n;
	cq->arm_seen = __atomic_load_n(&ring->arm_seq, __ATOMIC_RELAXED);
	return 0;
}

int srxe_eng_cq_destroy(struct srxe_eng_cq *cq, const char **why)
{
	*why = NULL;
	if (cq->users) {
		*why = "CQ is still used by a QP";
		return -EBUSY;
	}
	srxe_list_del(&cq->node);
	cq->ctx->eng->stats.cqs--;
	free(cq);
	return 0;
}
