// SPDX-License-Identifier: MIT
/*
 * The extended send API (ibv_qp_ex).  wr_start takes the SQ lock; each
 * builder (wr_send, wr_rdma_write, ...) claims the next slot past the
 * published prod and writes the WQE's fixed part from qp_ex.wr_id and
 * wr_flags; the setters (wr_set_sge, wr_set_inline_data, wr_set_ud_addr,
 * ...) complete the WQE the last builder claimed.  wr_complete publishes
 * every claimed slot at once, or none if any step failed (the first error
 * is returned); wr_abort publishes none.
 */
#include <errno.h>
#include <string.h>

#include "srxe_fatal.h"
#include "srxe_verbs.h"

#define SRXE_UD_SEND_OPS (IBV_QP_EX_WITH_SEND | IBV_QP_EX_WITH_SEND_WITH_IMM)
#define SRXE_UC_SEND_OPS                                                       \
	(SRXE_UD_SEND_OPS | IBV_QP_EX_WITH_RDMA_WRITE |                        \
	 IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM | IBV_QP_EX_WITH_BIND_MW |         \
	 IBV_QP_EX_WITH_LOCAL_INV)
#define SRXE_RC_SEND_OPS                                                       \
	(SRXE_UC_SEND_OPS | IBV_QP_EX_WITH_RDMA_READ |                         \
	 IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP |                                   \
	 IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD | IBV_QP_EX_WITH_SEND_WITH_INV |  \
	 IBV_QP_EX_WITH_ATOMIC_WRITE)
/* XRC has no SEND with Invalidate or ATOMIC WRITE opcode, and windows
 * are bound on RC/UC QPs only (srxe_opcode_allowed()). */
#define SRXE_XRC_SEND_OPS                                                      \
	(SRXE_RC_SEND_OPS &                                                    \
	 ~(IBV_QP_EX_WITH_BIND_MW | IBV_QP_EX_WITH_LOCAL_INV |                 \
	   IBV_QP_EX_WITH_SEND_WITH_INV | IBV_QP_EX_WITH_ATOMIC_WRITE))

uint64_t srxe_qp_ex_supported(enum ibv_qp_type qpt)
{
	switch (qpt) {
	case IBV_QPT_RC:
		return SRXE_RC_SEND_OPS;
	case IBV_QPT_XRC_SEND:
		return SRXE_XRC_SEND_OPS;
	case IBV_QPT_UC:
		return SRXE_UC_SEND_OPS;
	case IBV_QPT_UD:
		return SRXE_UD_SEND_OPS;
	default:
		return 0;
	}
}

static void srxe_ex_fail(struct srxe_qp *qp, int err)
{
	if (!qp->ex_err)
		qp->ex_err = err;
	qp->ex_wqe = NULL; /* setters until the next builder do nothing */
}

/* Claim the next slot for a WQE of opcode; NULL (error noted) if full. */
static struct srxe_send_wqe *srxe_ex_claim(struct ibv_qp_ex *ibqp,
					   enum ibv_wr_opcode opcode)
{
	struct srxe_qp *qp = to_srxe_qp_ex(ibqp);
	struct srxe_send_wqe *wqe;

	/* ENOSPC, like rxe's builders (ibv_post_send() says ENOMEM) */
	if (!srxe_ring_room_from(&qp->sq.ring, qp->ex_next)) {
		srxe_ex_fail(qp, ENOSPC);
		return NULL;
	}
	wqe = srxe_ring_at(&qp->sq.ring, qp->ex_next++);
	srxe_wqe_init(qp, wqe, ibqp->wr_id, opcode, ibqp->wr_flags);
	qp->ex_wqe = wqe;
	return wqe;
}

static void srxe_wr_send(struct ibv_qp_ex *ibqp)
{
	srxe_ex_claim(ibqp, IBV_WR_SEND);
}

static void srxe_wr_send_imm(struct ibv_qp_ex *ibqp, __be32 imm_data)
{
	struct srxe_send_wqe *wqe = srxe_ex_claim(ibqp, IBV_WR_SEND_WITH_IMM);

	if (wqe)
		wqe->imm_data = imm_data;
}

static void srxe_wr_send_inv(struct ibv_qp_ex *ibqp, uint32_t invalidate_rkey)
{
	struct srxe_send_wqe *wqe = srxe_ex_claim(ibqp, IBV_WR_SEND_WITH_INV);

	if (wqe)
		wqe->invalidate_rkey = invalidate_rkey;
}

static void srxe_wr_local_inv(struct ibv_qp_ex *ibqp, uint32_t invalidate_rkey)
{
	struct srxe_send_wqe *wqe = srxe_ex_claim(ibqp, IBV_WR_LOCAL_INV);

	if (wqe)
		wqe->invalidate_rkey = invalidate_rkey;
	to_srxe_qp_ex(ibqp)->ex_wqe = NULL; /* takes no SGE */
}

static void srxe_wr_bind_mw(struct ibv_qp_ex *ibqp, struct ibv_mw *mw,
			    uint32_t rkey,
			    const struct ibv_mw_bind_info *bind_info)
{
	struct srxe_send_wqe *wqe;

	if (!mw || !bind_info ||
	    (!bind_info->mr && (bind_info->addr || bind_info->length))) {
		srxe_ex_fail(to_srxe_qp_ex(ibqp), EINVAL);
		return;
	}
	wqe = srxe_ex_claim(ibqp, IBV_WR_BIND_MW);
	if (!wqe)
		return;
	srxe_wqe_bind(wqe, mw, rkey, bind_info);
	to_srxe_qp_ex(ibqp)->ex_wqe = NULL; /* takes no SGE */
}

static void srxe_ex_rdma(struct ibv_qp_ex *ibqp, enum ibv_wr_opcode opcode,
			 uint32_t rkey, uint64_t remote_addr, __be32 imm_data)
{
	struct srxe_send_wqe *wqe = srxe_ex_claim(ibqp, opcode);

	if (!wqe)
		return;
	wqe->rdma.remote_addr = remote_addr;
	wqe->rdma.rkey = rkey;
	wqe->imm_data = imm_data;
}

static void srxe_wr_rdma_write(struct ibv_qp_ex *ibqp, uint32_t rkey,
			       uint64_t remote_addr)
{
	srxe_ex_rdma(ibqp, IBV_WR_RDMA_WRITE, rkey, remote_addr, 0);
}

static void srxe_wr_rdma_write_imm(struct ibv_qp_ex *ibqp, uint32_t rkey,
				   uint64_t remote_addr, __be32 imm_data)
{
	srxe_ex_rdma(ibqp, IBV_WR_RDMA_WRITE_WITH_IMM, rkey, remote_addr,
		     imm_data);
}

static void srxe_wr_rdma_read(struct ibv_qp_ex *ibqp, uint32_t rkey,
			      uint64_t remote_addr)
{
	srxe_ex_rdma(ibqp, IBV_WR_RDMA_READ, rkey, remote_addr, 0);
}

static void srxe_ex_atomic(struct ibv_qp_ex *ibqp, enum ibv_wr_opcode opcode,
			   uint32_t rkey, uint64_t remote_addr,
			   uint64_t compare_add, uint64_t swap)
{
	struct srxe_send_wqe *wqe;

	if (remote_addr & 7) { /* atomics work on aligned 64-bit words */
		srxe_ex_fail(to_srxe_qp_ex(ibqp), EINVAL);
		return;
	}
	wqe = srxe_ex_claim(ibqp, opcode);
	if (!wqe)
		return;
	wqe->atomic.remote_addr = remote_addr;
	wqe->atomic.compare_add = compare_add;
	wqe->atomic.swap = swap;
	wqe->atomic.rkey = rkey;
}

static void srxe_wr_atomic_cmp_swp(struct ibv_qp_ex *ibqp, uint32_t rkey,
				   uint64_t remote_addr, uint64_t compare,
				   uint64_t swap)
{
	srxe_ex_atomic(ibqp, IBV_WR_ATOMIC_CMP_AND_SWP, rkey, remote_addr,
		       compare, swap);
}

static void srxe_wr_atomic_fetch_add(struct ibv_qp_ex *ibqp, uint32_t rkey,
				     uint64_t remote_addr, uint64_t add)
{
	srxe_ex_atomic(ibqp, IBV_WR_ATOMIC_FETCH_AND_ADD, rkey, remote_addr,
		       add, 0);
}

/*
 * IBA 1.5 ATOMIC WRITE: the 8 bytes at atomic_wr are copied into the WQE
 * now (the caller may reuse them), as rxe does; SGE and inline setters
 * that follow are ignored by the engine.  An unaligned remote address
 * fails here, like the other atomics.
 */
static void srxe_wr_atomic_write(struct ibv_qp_ex *ibqp, uint32_t rkey,
				 uint64_t remote_addr, const void *atomic_wr)
{
	struct srxe_send_wqe *wqe;

	if ((remote_addr & 7) || !atomic_wr) {
		srxe_ex_fail(to_srxe_qp_ex(ibqp), EINVAL);
		return;
	}
	wqe = srxe_ex_claim(ibqp, IBV_WR_ATOMIC_WRITE);
	if (!wqe)
		return;
	wqe->awf.remote_addr = remote_addr;
	wqe->awf.rkey = rkey;
	memcpy(wqe->awf.value, atomic_wr, sizeof(wqe->awf.value));
}

/* The WQE the setters work on, or NULL after an error. */
static struct srxe_send_wqe *srxe_ex_cur(struct ibv_qp_ex *ibqp)
{
	return to_srxe_qp_ex(ibqp)->ex_wqe;
}

static void srxe_wr_set_ud_addr(struct ibv_qp_ex *ibqp, struct ibv_ah *ah,
				uint32_t remote_qpn, uint32_t remote_qkey)
{
	struct srxe_send_wqe *wqe = srxe_ex_cur(ibqp);

	if (!wqe)
		return;
	if (!ah) {
		srxe_ex_fail(to_srxe_qp_ex(ibqp), EINVAL);
		return;
	}
	wqe->ud.ah_handle = ah->handle;
	wqe->ud.remote_qpn = remote_qpn;
	wqe->ud.remote_qkey = remote_qkey;
}

/* XRC_SEND: the remote XRC SRQ this WR's message goes to. */
static void srxe_wr_set_xrc_srqn(struct ibv_qp_ex *ibqp, uint32_t remote_srqn)
{
	struct srxe_send_wqe *wqe = srxe_ex_cur(ibqp);

	if (wqe)
		wqe->xrc.remote_srqn = remote_srqn;
}

static void srxe_wr_set_sge_list(struct ibv_qp_ex *ibqp, size_t num_sge,
				 const struct ibv_sge *sg_list)
{
	struct srxe_qp *qp = to_srxe_qp_ex(ibqp);
	struct srxe_send_wqe *wqe = qp->ex_wqe;
	struct srxe_wqe_sge *dst;

	if (!wqe)
		return;
	if (num_sge > qp->sq.max_sge) { /* the slot has no room: rxe's errno */
		srxe_ex_fail(qp, ENOSPC);
		return;
	}
	dst = (struct srxe_wqe_sge *)(wqe + 1);
	for (size_t i = 0; i < num_sge; i++) {
		dst[i].addr = sg_list[i].addr;
		dst[i].length = sg_list[i].length;
		dst[i].lkey = sg_list[i].lkey;
	}
	wqe->num_sge = num_sge;
	wqe->inline_len = 0;
	wqe->flags &= ~SRXE_WQE_INLINE;
}

static void srxe_wr_set_sge(struct ibv_qp_ex *ibqp, uint32_t lkey,
			    uint64_t addr, uint32_t length)
{
	struct ibv_sge sge = { .addr = addr, .length = length, .lkey = lkey };

	srxe_wr_set_sge_list(ibqp, 1, &sge);
}

static void srxe_wr_set_inline_data_list(struct ibv_qp_ex *ibqp, size_t num_buf,
					 const struct ibv_data_buf *buf_list)
{
	struct srxe_qp *qp = to_srxe_qp_ex(ibqp);
	struct srxe_send_wqe *wqe = qp->ex_wqe;
	uint64_t total = 0;
	uint8_t *dst;

	if (!wqe)
		return;
	for (size_t i = 0; i < num_buf; i++)
		total += buf_list[i].length;
	if (total > qp->sq.max_inline) { /* as rxe: the slot has no room */
		srxe_ex_fail(qp, ENOSPC);
		return;
	}
	dst = (uint8_t *)(wqe + 1);
	for (size_t i = 0; i < num_buf; i++) {
		memcpy(dst, buf_list[i].addr, buf_list[i].length);
		dst += buf_list[i].length;
	}
	wqe->num_sge = 0;
	wqe->inline_len = total;
	wqe->flags |= SRXE_WQE_INLINE;
}

static void srxe_wr_set_inline_data(struct ibv_qp_ex *ibqp, void *addr,
				    size_t length)
{
	struct ibv_data_buf buf = { .addr = addr, .length = length };

	srxe_wr_set_inline_data_list(ibqp, 1, &buf);
}

static void srxe_wr_start(struct ibv_qp_ex *ibqp)
{
	struct srxe_qp *qp = to_srxe_qp_ex(ibqp);

	pthread_spin_lock(&qp->sq.lock);
	qp->ex_next = qp->sq.ring.head;
	qp->ex_wqe = NULL;
	qp->ex_err = 0;
}

static int srxe_wr_complete(struct ibv_qp_ex *ibqp)
{
	struct srxe_qp *qp = to_srxe_qp_ex(ibqp);
	int ret = qp->ex_err;

	if (!ret && !srxe_sq_accepts(qp->vqp.qp.state))
		ret = EINVAL;
	if (!ret && srxe_ctx_dead(to_srxe_context(qp->vqp.qp.context)))
		ret = EIO;
	if (!ret && qp->ex_next != qp->sq.ring.head) {
		qp->sq.ring.head = qp->ex_next;
		srxe_sq_ring_doorbell(qp);
	}
	qp->ex_wqe = NULL;
	pthread_spin_unlock(&qp->sq.lock);
	return ret;
}

static void srxe_wr_abort(struct ibv_qp_ex *ibqp)
{
	struct srxe_qp *qp = to_srxe_qp_ex(ibqp);

	qp->ex_wqe = NULL;
	pthread_spin_unlock(&qp->sq.lock);
}

void srxe_qp_ex_install(struct srxe_qp *qp, uint64_t flags)
{
	struct ibv_qp_ex *ex = &qp->vqp.qp_ex;

	if (flags & IBV_QP_EX_WITH_SEND)
		ex->wr_send = srxe_wr_send;
	if (flags & IBV_QP_EX_WITH_SEND_WITH_IMM)
		ex->wr_send_imm = srxe_wr_send_imm;
	if (flags & IBV_QP_EX_WITH_RDMA_WRITE)
		ex->wr_rdma_write = srxe_wr_rdma_write;
	if (flags & IBV_QP_EX_WITH_RDMA_WRITE_WITH_IMM)
		ex->wr_rdma_write_imm = srxe_wr_rdma_write_imm;
	if (flags & IBV_QP_EX_WITH_RDMA_READ)
		ex->wr_rdma_read = srxe_wr_rdma_read;
	if (flags & IBV_QP_EX_WITH_ATOMIC_CMP_AND_SWP)
		ex->wr_atomic_cmp_swp = srxe_wr_atomic_cmp_swp;
	if (flags & IBV_QP_EX_WITH_ATOMIC_FETCH_AND_ADD)
		ex->wr_atomic_fetch_add = srxe_wr_atomic_fetch_add;
	if (flags & IBV_QP_EX_WITH_BIND_MW)
		ex->wr_bind_mw = srxe_wr_bind_mw;
	if (flags & IBV_QP_EX_WITH_LOCAL_INV)
		ex->wr_local_inv = srxe_wr_local_inv;
	if (flags & IBV_QP_EX_WITH_SEND_WITH_INV)
		ex->wr_send_inv = srxe_wr_send_inv;
	if (flags & IBV_QP_EX_WITH_ATOMIC_WRITE)
		ex->wr_atomic_write = srxe_wr_atomic_write;
	ex->wr_set_ud_addr = srxe_wr_set_ud_addr;
	ex->wr_set_xrc_srqn = srxe_wr_set_xrc_srqn;
	ex->wr_set_sge = srxe_wr_set_sge;
	ex->wr_set_sge_list = srxe_wr_set_sge_list;
	ex->wr_set_inline_data = srxe_wr_set_inline_data;
	ex->wr_set_inline_data_list = srxe_wr_set_inline_data_list;
	ex->wr_start = srxe_wr_start;
	ex->wr_complete = srxe_wr_complete;
	ex->wr_abort = srxe_wr_abort;
}
