// SPDX-License-Identifier: MIT
/*
 * The extended CQ (ibv_cq_ex): start_poll / next_poll / end_poll walk the
 * ring in place and the read_* getters read the current CQE, so no
 * struct ibv_wc is built.  A successful start_poll takes the CQ lock and
 * end_poll releases it, together with the consumed slots.  The current
 * entry is consumed by the next next_poll or by end_poll.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "srxe_fatal.h"
#include "srxe_verbs.h"

/* What the getters below can answer; everything else is refused. */
#define SRXE_CQ_EX_TS_FLAGS                                                    \
	(IBV_WC_EX_WITH_COMPLETION_TIMESTAMP |                                 \
	 IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK)
#define SRXE_CQ_EX_WC_FLAGS                                                    \
	(IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_IMM |                        \
	 IBV_WC_EX_WITH_QP_NUM | IBV_WC_EX_WITH_SRC_QP | IBV_WC_EX_WITH_SLID | \
	 IBV_WC_EX_WITH_SL | IBV_WC_EX_WITH_DLID_PATH_BITS |                   \
	 SRXE_CQ_EX_TS_FLAGS)

#define SRXE_CQ_EX_COMP_MASK                                                   \
	(IBV_CQ_INIT_ATTR_MASK_FLAGS | IBV_CQ_INIT_ATTR_MASK_PD)
#define SRXE_CQ_EX_CREATE_FLAGS (IBV_CREATE_CQ_ATTR_SINGLE_THREADED)

static const struct srxe_cqe *cur(struct ibv_cq_ex *ibcq)
{
	return to_srxe_cq_ex(ibcq)->cur;
}

/* srxed gone: the next flush completion, as a CQE (srxe_fatal.h). */
static bool srxe_cq_load_flush(struct srxe_cq *cq)
{
	struct srxe_context *ctx = to_srxe_context(cq->vcq.cq.context);
	struct ibv_wc wc;

	if (!srxe_ctx_dead(ctx) || srxe_fatal_flush(ctx, cq, 1, &wc) != 1)
		return false;
	cq->fatal_cqe = (struct srxe_cqe){ .wr_id = wc.wr_id,
					   .status = wc.status,
					   .opcode = wc.opcode,
					   .qp_num = wc.qp_num };
	cq->cur = &cq->fatal_cqe;
	return true;
}

/* The current entry is done: a ring slot moves head, a flush entry not. */
static void srxe_cq_step(struct srxe_cq *cq)
{
	if (cq->cur && cq->cur != &cq->fatal_cqe)
		cq->ring.head++;
}

/* Make the entry at head current if there is one; 0 or ENOENT. */
static int srxe_cq_load(struct srxe_cq *cq)
{
	if (!srxe_ring_ready(&cq->ring)) {
		cq->cur = NULL;
		if (!srxe_cq_load_flush(cq))
			return ENOENT;
	} else {
		cq->cur = srxe_ring_at(&cq->ring, cq->ring.head);
	}
	cq->vcq.cq_ex.status = cq->cur->status;
	cq->vcq.cq_ex.wr_id = cq->cur->wr_id;
	return 0;
}

static int srxe_start_poll(struct ibv_cq_ex *ibcq,
			   struct ibv_poll_cq_attr *attr)
{
	struct srxe_cq *cq = to_srxe_cq_ex(ibcq);

	if (attr->comp_mask)
		return EINVAL;
	pthread_spin_lock(&cq->lock);
	if (srxe_cq_load(cq)) {
		enum srxe_backoff idle = srxe_cq_idle_step(cq, 0);

		pthread_spin_unlock(&cq->lock);
		if (idle == SRXE_BACKOFF_SPIN)
			return ENOENT; /* no end_poll follows */
		/* A wait is followed by a second look (srxe_poll_cq). */
		srxe_backoff_wait(idle);
		pthread_spin_lock(&cq->lock);
		if (srxe_cq_load(cq)) {
			pthread_spin_unlock(&cq->lock);
			return ENOENT;
		}
	}
	srxe_backoff_reset(&cq->idle);
	return 0;
}

static int srxe_next_poll(struct ibv_cq_ex *ibcq)
{
	struct srxe_cq *cq = to_srxe_cq_ex(ibcq);

	srxe_cq_step(cq);
	return srxe_cq_load(cq);
}

static void srxe_end_poll(struct ibv_cq_ex *ibcq)
{
	struct srxe_cq *cq = to_srxe_cq_ex(ibcq);

	srxe_cq_step(cq);
	cq->cur = NULL;
	srxe_ring_consume(&cq->ring);
	pthread_spin_unlock(&cq->lock);
}

static enum ibv_wc_opcode srxe_read_opcode(struct ibv_cq_ex *ibcq)
{
	return cur(ibcq)->opcode;
}

static uint32_t srxe_read_vendor_err(struct ibv_cq_ex *ibcq)
{
	return cur(ibcq)->vendor_err;
}

static uint32_t srxe_read_byte_len(struct ibv_cq_ex *ibcq)
{
	return cur(ibcq)->byte_len;
}

/* Also ibv_wc_read_invalidated_rkey(), which libibverbs maps onto this. */
static __be32 srxe_read_imm_data(struct ibv_cq_ex *ibcq)
{
	return cur(ibcq)->imm_data;
}

static uint32_t srxe_read_qp_num(struct ibv_cq_ex *ibcq)
{
	return cur(ibcq)->qp_num;
}

static uint32_t srxe_read_src_qp(struct ibv_cq_ex *ibcq)
{
	return cur(ibcq)->src_qp;
}

static unsigned int srxe_read_wc_flags(struct ibv_cq_ex *ibcq)
{
	return cur(ibcq)->wc_flags;
}

static uint32_t srxe_read_slid(struct ibv_cq_ex *ibcq)
{
	return cur(ibcq)->slid;
}

static uint8_t srxe_read_sl(struct ibv_cq_ex *ibcq)
{
	return cur(ibcq)->sl;
}

static uint8_t srxe_read_dlid_path_bits(struct ibv_cq_ex *ibcq)
{
	return cur(ibcq)->dlid_path_bits;
}

/* The device's clock (hca_core_clock 1 GHz): CLOCK_MONOTONIC, ns. */
static uint64_t srxe_read_completion_ts(struct ibv_cq_ex *ibcq)
{
	return cur(ibcq)->completion_ns;
}

/* The same moment on CLOCK_REALTIME: the clocks' distance now. */
static uint64_t srxe_read_completion_wallclock_ns(struct ibv_cq_ex *ibcq)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	return cur(ibcq)->completion_ns +
	       ((uint64_t)real.tv_sec - (uint64_t)mono.tv_sec) * 1000000000ull +
	       (uint64_t)real.tv_nsec - (uint64_t)mono.tv_nsec;
}

static void srxe_cq_ex_install(struct ibv_cq_ex *ex, uint64_t wc_flags)
{
	ex->start_poll = srxe_start_poll;
	ex->next_poll = srxe_next_poll;
	ex->end_poll = srxe_end_poll;
	ex->read_opcode = srxe_read_opcode;
	ex->read_vendor_err = srxe_read_vendor_err;
	ex->read_wc_flags = srxe_read_wc_flags;
	if (wc_flags & IBV_WC_EX_WITH_BYTE_LEN)
		ex->read_byte_len = srxe_read_byte_len;
	if (wc_flags & IBV_WC_EX_WITH_IMM)
		ex->read_imm_data = srxe_read_imm_data;
	if (wc_flags & IBV_WC_EX_WITH_QP_NUM)
		ex->read_qp_num = srxe_read_qp_num;
	if (wc_flags & IBV_WC_EX_WITH_SRC_QP)
		ex->read_src_qp = srxe_read_src_qp;
	if (wc_flags & IBV_WC_EX_WITH_SLID)
		ex->read_slid = srxe_read_slid;
	if (wc_flags & IBV_WC_EX_WITH_SL)
		ex->read_sl = srxe_read_sl;
	if (wc_flags & IBV_WC_EX_WITH_DLID_PATH_BITS)
		ex->read_dlid_path_bits = srxe_read_dlid_path_bits;
	if (wc_flags & IBV_WC_EX_WITH_COMPLETION_TIMESTAMP)
		ex->read_completion_ts = srxe_read_completion_ts;
	if (wc_flags & IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK)
		ex->read_completion_wallclock_ns =
			srxe_read_completion_wallclock_ns;
}

static int srxe_cq_ex_check(const struct ibv_cq_init_attr_ex *attr)
{
	if (attr->wc_flags & ~(uint64_t)SRXE_CQ_EX_WC_FLAGS)
		return EOPNOTSUPP; /* cvlan, flow tag, TM */
	if (attr->comp_mask & ~(uint32_t)SRXE_CQ_EX_COMP_MASK)
		return EOPNOTSUPP;
	/* as mlx5: only a parent domain (its TD and allocators, srxe_pd.c) */
	if ((attr->comp_mask & IBV_CQ_INIT_ATTR_MASK_PD) &&
	    !srxe_is_parent_domain(attr->parent_domain))
		return EINVAL;
	if ((attr->comp_mask & IBV_CQ_INIT_ATTR_MASK_FLAGS) &&
	    (attr->flags & ~(uint32_t)SRXE_CQ_EX_CREATE_FLAGS))
		return EOPNOTSUPP;
	return 0;
}

/*
 * libibverbs 44 wraps this op (__lib_ibv_create_cq_ex in device.c) and runs
 * verbs_init_cq() on what we return, as ibv_create_cq() does: calling it
 * here as well counted the channel twice, and ibv_destroy_comp_channel()
 * then failed with EBUSY (issue #10).
 */
struct ibv_cq_ex *srxe_create_cq_ex(struct ibv_context *ibctx,
				    struct ibv_cq_init_attr_ex *attr)
{
	struct srxe_cq *cq;
	int ret;

	ret = srxe_cq_ex_check(attr);
	if (ret) {
		errno = ret;
		return NULL;
	}
	cq = calloc(1, sizeof(*cq));
	if (!cq) {
		errno = ENOMEM;
		return NULL;
	}
	ret = srxe_cq_setup(ibctx, cq, attr->cqe, attr->comp_vector,
			    attr->channel);
	if (ret) {
		free(cq);
		errno = ret;
		return NULL;
	}
	srxe_cq_ex_install(&cq->vcq.cq_ex, attr->wc_flags);
	if (attr->wc_flags & SRXE_CQ_EX_TS_FLAGS)
		srxe_cq_want_timestamps(cq);
	return &cq->vcq.cq_ex;
}
