/* SPDX-License-Identifier: MIT */
/*
 * The objects layer (README.md "Layers", layer 2): what ctx.c, cq.c,
 * rq.c, qp.c and sge.c offer the layers above.  The records themselves
 * are in eng_int.h.  Used with the engine lock held.
 */
#ifndef SRXE_ENGINE_OBJECTS_H
#define SRXE_ENGINE_OBJECTS_H

#include "eng_int.h"

/* ---- ctx.c ---- */
/*
 * The object half of srxe_eng_ctx_create: checks @init and makes the
 * context, not yet known to the engine thread (control.c links it).
 */
int srxe_ctx_new(struct srxe_engine *eng, const struct srxe_eng_ctx_init *init,
		 struct srxe_eng_ctx **out, const char **why);
/*
 * @ctx has an object other contexts use (an XRC SRQ or target QP, a
 * multicast attachment): from the end of this control-plane call on, the
 * first engine thread serves it (shard.c), where those objects meet.
 */
void srxe_ctx_pin_first(struct srxe_eng_ctx *ctx);
/* Frees a context already emptied and unlinked. */
void srxe_ctx_free(struct srxe_eng_ctx *ctx);
void srxe_ctx_async(struct srxe_eng_ctx *ctx, uint64_t element, uint32_t event);
/* true when [p, p + bytes) lies inside the context's arena. */
bool srxe_ctx_in_arena(const struct srxe_eng_ctx *ctx, const void *p,
		       uint64_t bytes);
/* 0 and *@out (all but qpn), or -EINVAL with a reason in *@why. */
int srxe_resolve_av(const struct srxe_engine *eng,
		    const struct srxe_ah_wire *av, struct srxe_dest *out,
		    const char **why);
/* true: @dst is this device's own address (the same-host transport's). */
bool srxe_dest_is_local(const struct srxe_engine *eng,
			const struct srxe_dest *dst);

/* ---- cq.c ---- */
/* 0, or -ENOSPC when the CQ overflowed (it is then in error). */
int srxe_cq_push(struct srxe_eng_cq *cq, const struct srxe_cqe *cqe,
		 bool solicited);
/* Whether @cq holds a CQE written before producer index @prod that the
 * consumer has not read (a consumer index out of range: no). */
bool srxe_cq_unconsumed_before(const struct srxe_eng_cq *cq, uint32_t prod);
/*
 * srxe_eng_cq_resize in two steps around the settling passes (control.c):
 * the ring check (-EINVAL with *@why), then the move of unconsumed CQEs.
 */
int srxe_cq_resize_check(struct srxe_eng_cq *cq, struct srxe_ring_hdr *ring,
			 uint32_t size, const char **why);
int srxe_cq_resize_move(struct srxe_eng_cq *cq, struct srxe_ring_hdr *ring,
			uint32_t size, const char **why);

/* ---- rq.c ---- */
/* The XRC SRQ numbered @srqn, or NULL. */
struct srxe_eng_srq *srxe_xsrq_lookup(struct srxe_engine *eng, uint32_t srqn);
/* 1: a WQE was taken into @out; 0: queue empty; -1: ring garbage. */
int srxe_rq_take(struct srxe_eng_qp *qp, struct srxe_rwqe *out);
/* Own RQ only: flush posted WQEs with IBV_WC_WR_FLUSH_ERR. */
unsigned int srxe_rq_flush(struct srxe_eng_qp *qp);

/* ---- qp.c ---- */
/* The QP numbered @qpn of this engine, or NULL. */
struct srxe_eng_qp *srxe_qp_lookup(struct srxe_engine *eng, uint32_t qpn);
void srxe_qp_hash_add(struct srxe_engine *eng, struct srxe_eng_qp *qp);
void srxe_qp_hash_del(struct srxe_engine *eng, struct srxe_eng_qp *qp);
/*
 * srxe_eng_qp_modify without its move to ERR, which flushes through the
 * completer: the caller (control.c) does that when the QP ends in ERR.
 */
int srxe_qp_modify(struct srxe_eng_qp *qp, const struct srxe_qp_attr_wire *attr,
		   uint32_t attr_mask, const char **why);
/* srxe_eng_qp_destroy once the QP has left its multicast groups. */
void srxe_qp_free(struct srxe_eng_qp *qp);
/* A request reached @qp: the first one in RTR raises COMM_EST (IBA 11.6.3). */
void srxe_qp_comm_est(struct srxe_eng_qp *qp);
static inline bool srxe_qp_can_send(const struct srxe_eng_qp *qp)
{
	return qp->attr.qp_state == IBV_QPS_RTS ||
	       qp->attr.qp_state == IBV_QPS_SQD;
}
/*
 * Same-host bursts towards @qp's peer (RC, UC and XRC SEND/WRITE, RC and
 * XRC READ responses): only between QPs of this engine, and never where
 * packets must be seen one by one (`srxe capture`, the tests' fault
 * injection).
 */
static inline bool srxe_qp_may_burst(const struct srxe_eng_qp *qp)
{
	const struct srxe_engine *eng = qp->ctx->eng;

	return qp->type != IBV_QPT_UD && !eng->dev->capture &&
	       !eng->dev->fault && srxe_dest_is_local(eng, &qp->dest);
}
/* RC and both XRC halves: PSNs, ACKs, retries (IBA 9.7). */
static inline bool srxe_qp_reliable(const struct srxe_eng_qp *qp)
{
	return qp->type == IBV_QPT_RC || qp->type == IBV_QPT_XRC_SEND ||
	       qp->type == IBV_QPT_XRC_RECV;
}
/* Opcode of an RC request/response on this QP's transport. */
static inline uint8_t srxe_qp_opcode(const struct srxe_eng_qp *qp,
				     uint8_t rc_opcode)
{
	return qp->type == IBV_QPT_XRC_SEND || qp->type == IBV_QPT_XRC_RECV
		       ? (uint8_t)(rc_opcode + SRXE_OP_XRC_BASE)
		       : rc_opcode;
}
static inline bool srxe_qp_can_recv(const struct srxe_eng_qp *qp)
{
	uint32_t s = qp->attr.qp_state;

	return s == IBV_QPS_RTR || s == IBV_QPS_RTS || s == IBV_QPS_SQD ||
	       s == IBV_QPS_SQE;
}
static inline struct srxe_swqe *srxe_swqe_at(struct srxe_eng_qp *qp,
					     uint32_t idx)
{
	return &qp->swqe[idx & (qp->sq_size - 1)];
}

/* ---- odp.c ---- */
/*
 * On-demand MRs (translate.h, docs/odp.md): their bytes stay in the
 * process and pass through this engine thread's bounce buffer.
 *
 * srxe_odp_map: for a translation that gave -SRXE_XLATE_ON_DEMAND, one
 * chunk of bounce buffer standing for the access: read from the process
 * now for a read or an atomic; for another write, which stores every
 * byte of the chunk, left as it is.  A write access is queued, and the
 * caller must end it with
 * srxe_odp_commit() once it stored the bytes, or srxe_odp_abort() if it
 * gives up.  The chunk is valid until SRXE_ODP_BOUNCE_BYTES more bounce
 * bytes were taken (the packet being built or handled is done by then).
 * REMOTE_ATOMIC also takes a lock all engine threads share, released by
 * the commit or the abort, so that RDMA atomics on on-demand memory
 * exclude each other.  Returns 1 (0 for len 0) or a negated
 * srxe_xlate_err: the checks', SG_OVERFLOW (more than
 * SRXE_ODP_MAX_ACCESS bytes, too many writes queued), NOT_PRESENT (the
 * process has no such mapping, it is gone, or no bounce memory),
 * FAULT_PENDING (the process's page faults took longer than
 * SRXE_ODP_WAIT_NS: nothing was read; its helper goes on, and the caller
 * puts the operation off and tries it whole again later).
 *
 * srxe_odp_commit: writes the queued bytes back; 0, NOT_PRESENT when some
 * could not be written, or FAULT_PENDING when some are still on their way
 * (they land, in order before any later access of the process; the
 * operation is put off and done again whole, so only idempotent ones may
 * take that answer as "not done").  Nothing is queued afterwards.
 */
int srxe_odp_map(struct srxe_engine *eng, const struct srxe_mem_client *mem,
		 const struct srxe_xlate_req *req, struct srxe_sg *out,
		 int max);
int srxe_odp_flush(struct srxe_engine *eng);
void srxe_odp_abort(struct srxe_engine *eng);
/* Frees the bounce buffer (engine teardown). */
void srxe_odp_fini(struct srxe_engine *eng);

static inline int srxe_odp_commit(struct srxe_engine *eng)
{
	if (!eng->odp.npending && !eng->odp.atomic_locked)
		return 0;
	return srxe_odp_flush(eng);
}

/* ---- sge.c ---- */
/*
 * srxe_mem_translate() through the engine's cache (tlb.h): every address
 * the engine uses goes through here, under eng->lock.  The chunks are
 * the bytes to use: an on-demand MR's are bounce memory (odp.c above),
 * and a write to them needs srxe_odp_commit() after the stores.
 */
static inline int srxe_eng_translate(struct srxe_engine *eng,
				     const struct srxe_mem_client *mem,
				     const struct srxe_xlate_req *req,
				     struct srxe_sg *out, int max)
{
	int r = srxe_tlb_translate(&eng->tlb, mem, req, out, max);

	if (__builtin_expect(r == -SRXE_XLATE_ON_DEMAND, 0))
		return srxe_odp_map(eng, mem, req, out, max);
	return r;
}

/*
 * The checks of srxe_eng_translate() alone (keys, PD, rights, bounds and
 * presence of a whole operation's range, before any byte of it moves):
 * 0 or a negated srxe_xlate_err.  An on-demand range passes unread.
 */
static inline int srxe_eng_check(struct srxe_engine *eng,
				 const struct srxe_mem_client *mem,
				 const struct srxe_xlate_req *req)
{
	struct srxe_sg one;
	int r = srxe_tlb_translate(&eng->tlb, mem, req, &one, 1);

	if (r >= 0 || r == -SRXE_XLATE_SG_OVERFLOW ||
	    r == -SRXE_XLATE_ON_DEMAND)
		return 0;
	return r;
}

/*
 * Translates bytes [off, off + len) of an SGE list with @access into
 * chunks (srxe_eng_translate()).  Returns the chunk count or a negated
 * srxe_xlate_err; -SRXE_XLATE_OUT_OF_BOUNDS also when the list is
 * shorter than off + len.  On failure no on-demand write stays queued.
 */
int srxe_sge_map(struct srxe_engine *eng, const struct srxe_mem_client *mem,
		 uint32_t pd, const struct srxe_wqe_sge *sge, uint32_t nsge,
		 uint64_t off, uint64_t len, unsigned int access,
		 struct srxe_sg *out, int max);

#endif
