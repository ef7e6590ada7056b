// SPDX-License-Identifier: MIT
/*
 * Memory regions: srxed decides (pins, allocates frames, issues keys), the
 * provider moves the application's pages onto the frames srxed names and
 * back (srxe_move.h), following the conversation in
 * include/srxe/proto_mr.h.
 *
 * Registration and deregistration of all contexts of the process are
 * serialized by the process lock (srxe_proc.h): the contexts share one
 * slab and one set of pinned pages in srxed, so a DEREG_MR ... DEREG_DONE
 * conversation must not interleave with a REG_MR that could be handed the
 * frames being moved back (srxed quarantines them anyway), two moves of
 * overlapping pages at the same time would lose data, and a REG_MR that
 * finds pages already pinned by another context (no run to move) must not
 * return before that context's move of them is complete.
 *
 * Fork: pages on the slab are MAP_SHARED.  A child inheriting them would
 * share (not copy) the parent's buffers, so every move and its record in
 * srxe_fork.h's registry happen under srxe_fork_hold(), which fork()
 * waits for; the registry marks moved runs MADV_DONTFORK and gives the
 * child private copies (or holes under ibv_fork_init()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srxe.h"
#include "srxe_fork.h"
#include "srxe_move.h"
#include "srxe_proc.h"

/* Move one run back; the application may have unmapped parts of it. */
static int run_to_private_locked(struct srxe_context *ctx,
				 const struct srxe_mr_run *r)
{
	int ret = srxe_move_to_private((void *)(uintptr_t)r->va, r->len,
				       ctx->slab_fd, r->slab_off);

	if (ret != -EINVAL && ret != -EFAULT)
		return ret;
	/*
	 * Some page no longer maps its frame (unmapped or remapped by the
	 * application): there is nothing to move back there, but the other
	 * pages still need to go, one by one.
	 */
	for (uint64_t off = 0; off < r->len; off += SRXE_MOVE_PAGE_SIZE) {
		ret = srxe_move_to_private((void *)(uintptr_t)(r->va + off),
					   SRXE_MOVE_PAGE_SIZE, ctx->slab_fd,
					   r->slab_off + off);
		if (ret && ret != -EINVAL && ret != -EFAULT)
			return ret;
	}
	return 0;
}

/* A run that failed to move back stays recorded (srxe_fork.h). */
static int run_to_private(struct srxe_context *ctx, const struct srxe_mr_run *r)
{
	int ret;

	srxe_fork_hold();
	ret = run_to_private_locked(ctx, r);
	if (!ret)
		srxe_fork_untrack(ctx, (void *)(uintptr_t)r->va, r->len,
				  r->slab_off);
	srxe_fork_release();
	return ret;
}

static int runs_to_private(struct srxe_context *ctx,
			   const struct srxe_dereg_mr_resp *resp)
{
	int first_err = 0;

	for (uint32_t i = 0; i < resp->nruns; i++) {
		int ret = run_to_private(ctx, &resp->runs[i]);

		if (ret && !first_err)
			first_err = ret;
	}
	return first_err;
}

/*
 * DEREG_MR, move every released run back, DEREG_DONE.  Returns 0 or a
 * positive errno.  If a page cannot be moved back, DEREG_DONE is not sent:
 * srxed then keeps the frames quarantined until the process's last
 * context closes rather than zeroing memory the application still uses.
 */
static int dereg_locked(struct srxe_context *ctx, uint32_t handle)
{
	struct srxe_dereg_mr_req req = { .mr_handle = handle };
	struct srxe_dereg_runs_req more = { .mr_handle = handle };
	struct srxe_dereg_mr_resp resp;
	int ret, moved;

	ret = srxe_ctx_call(ctx, SRXE_OP_DEREG_MR, &req, sizeof(req), &resp,
			    sizeof(resp));
	if (ret)
		return ret;
	moved = runs_to_private(ctx, &resp);
	for (more.first = resp.nruns; more.first < resp.nruns_total && !ret;
	     more.first += resp.nruns) {
		ret = srxe_ctx_call(ctx, SRXE_OP_DEREG_RUNS, &more,
				    sizeof(more), &resp, sizeof(resp));
		if (!ret && !resp.nruns)
			ret = EPROTO;
		if (!ret) {
			int err = runs_to_private(ctx, &resp);

			moved = moved ?: err;
		}
	}
	if (ret || moved) {
		fprintf(stderr,
			"%s: MR 0x%x: pages could not be moved back (%s); "
			"their frames stay reserved until the device is "
			"closed\n",
			srxe_devname(ctx), handle, strerror(ret ?: -moved));
		return 0;
	}
	srxe_ctx_call(ctx, SRXE_OP_DEREG_DONE, &req, sizeof(req), NULL, 0);
	return 0;
}

/* Move every new run onto the slab; on failure the caller deregisters. */
static int runs_to_slab(struct srxe_context *ctx,
			const struct srxe_reg_mr_resp *resp)
{
	for (uint32_t i = 0; i < resp->nruns; i++) {
		const struct srxe_mr_run *r = &resp->runs[i];
		void *va = (void *)(uintptr_t)r->va;
		int ret;

		srxe_fork_hold();
		ret = -srxe_move_to_slab(va, r->len, ctx->slab_fd, r->slab_off);
		if (!ret) /* also MADV_DONTFORK; dereg moves it back on error */
			ret = srxe_fork_track(ctx, va, r->len, r->slab_off);
		srxe_fork_release();
		if (ret)
			return ret;
	}
	return 0;
}

static int reg_locked(struct srxe_context *ctx,
		      const struct srxe_reg_mr_req *req, struct verbs_mr *vmr)
{
	struct srxe_reg_mr_resp resp;
	int ret;

	ret = srxe_ctx_call(ctx, SRXE_OP_REG_MR, req, sizeof(*req), &resp,
			    sizeof(resp));
	if (ret)
		return ret;
	if (resp.nruns > SRXE_MR_RUNS_MAX)
		ret = EPROTO;
	else
		ret = runs_to_slab(ctx, &resp);
	if (ret) {
		dereg_locked(ctx, resp.mr_handle);
		return ret;
	}
	vmr->ibv_mr.handle = resp.mr_handle;
	vmr->ibv_mr.lkey = resp.lkey;
	vmr->ibv_mr.rkey = resp.rkey;
	return 0;
}

/* verbs_mr first: libibverbs and srxe_dereg_mr() free it as a verbs_mr. */
struct srxe_mr {
	struct verbs_mr vmr;
	uint64_t iova; /* kept for ibv_rereg_mr() without a new translation */
	struct srxe_dm *dm; /* the device memory it covers, or NULL */
};

struct ibv_mr *srxe_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			   uint64_t hca_va, int access)
{
	return srxe_reg_mr_in(pd, addr, length, hca_va, access, NULL);
}

struct ibv_mr *srxe_reg_mr_in(struct ibv_pd *pd, void *addr, size_t length,
			      uint64_t hca_va, int access, struct srxe_dm *dm)
{
	struct srxe_context *ctx = to_srxe_context(pd->context);
	/* Optional bits are hints a device may ignore (verbs.h). */
	struct srxe_reg_mr_req req = {
		.pd_handle = pd->handle,
		.access = (uint32_t)access & ~IBV_ACCESS_OPTIONAL_RANGE,
		.va = (uintptr_t)addr,
		.length = length,
		.iova = hca_va,
	};
	struct srxe_mr *mr = calloc(1, sizeof(*mr));
	struct verbs_mr *vmr = &mr->vmr;
	int ret;

	if (!mr) {
		errno = ENOMEM;
		return NULL;
	}
	mr->iova = hca_va;
	mr->dm = dm;
	srxe_proc_lock();
	ret = reg_locked(ctx, &req, vmr);
	srxe_proc_unlock();
	if (ret) {
		free(vmr);
		errno = ret;
		return NULL;
	}
	vmr->ibv_mr.context = pd->context;
	vmr->ibv_mr.pd = pd;
	vmr->ibv_mr.addr = dm ? NULL : addr; /* as the kernel leaves a DM MR */
	vmr->ibv_mr.length = length;
	vmr->mr_type = IBV_MR_TYPE_MR;
	vmr->access = access;
	if ((access & IBV_ACCESS_ON_DEMAND) &&
	    srxe_odp_add(ctx, &vmr->ibv_mr)) {
		srxe_dereg_mr(vmr);
		errno = ENOMEM;
		return NULL;
	}
	return &vmr->ibv_mr;
}

/* On failure the MR stays registered and valid, as with kernel providers. */
int srxe_dereg_mr(struct verbs_mr *vmr)
{
	struct srxe_context *ctx = to_srxe_context(vmr->ibv_mr.context);
	struct srxe_mr *mr = srxe_container_of(vmr, struct srxe_mr, vmr);
	int ret;

	srxe_proc_lock();
	ret = dereg_locked(ctx, vmr->ibv_mr.handle);
	srxe_proc_unlock();
	if (ret)
		return ret;
	if (vmr->access & IBV_ACCESS_ON_DEMAND)
		srxe_odp_del(ctx, vmr->ibv_mr.lkey);
	if (mr->dm)
		srxe_dm_mr_gone(mr->dm);
	free(vmr);
	return 0;
}

/* PD/access change that keeps the keys (REREG_MR); EAGAIN: not possible. */
static int rereg_in_place(struct srxe_context *ctx, const struct ibv_mr *m,
			  const struct srxe_reg_mr_req *r, struct verbs_mr *out)
{
	struct srxe_rereg_mr_req req = {
		.mr_handle = m->handle,
		.flags = IBV_REREG_MR_CHANGE_PD | IBV_REREG_MR_CHANGE_ACCESS,
		.pd_handle = r->pd_handle,
		.access = r->access,
	};
	struct srxe_rereg_mr_resp resp;
	int ret = srxe_ctx_call(ctx, SRXE_OP_REREG_MR, &req, sizeof(req), &resp,
				sizeof(resp));

	if (!ret) {
		out->ibv_mr.lkey = resp.lkey;
		out->ibv_mr.rkey = resp.rkey;
	}
	return ret;
}

/*
 * The list entry of an on-demand MR after ibv_rereg_mr(), which updates
 * the ibv_mr's pd, addr and length only after we return.  Without
 * memory for it, ibv_advise_mr() refuses the MR (EINVAL).
 */
static void odp_track_rereg(struct srxe_context *ctx, const struct ibv_mr *m,
			    const struct srxe_reg_mr_req *req,
			    struct ibv_pd *pd)
{
	struct ibv_mr now = *m;

	now.pd = pd;
	now.addr = (void *)(uintptr_t)req->va;
	now.length = req->length;
	srxe_odp_add(ctx, &now);
}

/*
 * ibv_rereg_mr().  A PD or access change keeps the MR's keys, as kernel
 * rxe does (srxed changes the protection entry in place: REREG_MR).  A new
 * translation is a new registration followed by the old one's
 * deregistration under one hold of the process lock: new keys, the old ones
 * stop working (rxe refuses translation changes).  Pages shared by both ranges
 * keep their frames (srxed pins them twice for a moment); pages only the old
 * range had are moved back.  If the old MR cannot go (memory windows are bound
 * to it: EBUSY) the new one is undone and the MR stays exactly as it was.
 */
int srxe_rereg_mr(struct verbs_mr *vmr, int flags, struct ibv_pd *pd,
		  void *addr, size_t length, int access)
{
	struct srxe_mr *mr = srxe_container_of(vmr, struct srxe_mr, vmr);
	struct ibv_mr *m = &vmr->ibv_mr;
	struct srxe_context *ctx = to_srxe_context(m->context);
	bool xlate = flags & IBV_REREG_MR_CHANGE_TRANSLATION;
	int new_access =
		flags & IBV_REREG_MR_CHANGE_ACCESS ? access : vmr->access;
	struct srxe_reg_mr_req req = {
		.pd_handle = flags & IBV_REREG_MR_CHANGE_PD ? pd->handle
							    : m->pd->handle,
		.access = (uint32_t)new_access & ~IBV_ACCESS_OPTIONAL_RANGE,
		.va = xlate ? (uintptr_t)addr : (uintptr_t)m->addr,
		.length = xlate ? length : m->length,
		.iova = xlate ? (uintptr_t)addr : mr->iova,
	};
	struct verbs_mr fresh = { 0 };
	int ret;

	/* a device memory MR cannot be changed, as in the kernel */
	if (flags & ~(IBV_REREG_MR_CHANGE_TRANSLATION | IBV_REREG_MR_CHANGE_PD |
		      IBV_REREG_MR_CHANGE_ACCESS) ||
	    ((flags & IBV_REREG_MR_CHANGE_PD) && !pd) || mr->dm) {
		errno = EINVAL;
		return IBV_REREG_MR_ERR_INPUT;
	}
	if (!flags)
		return 0;
	srxe_proc_lock();
	ret = xlate ? EAGAIN : rereg_in_place(ctx, m, &req, &fresh);
	if (ret == EAGAIN)
		ret = reg_locked(ctx, &req, &fresh);
	else if (!ret)
		fresh.ibv_mr.handle = m->handle;
	if (!ret && fresh.ibv_mr.handle != m->handle) {
		ret = dereg_locked(ctx, m->handle);
		if (ret)
			dereg_locked(ctx, fresh.ibv_mr.handle);
	}
	srxe_proc_unlock();
	if (ret) {
		errno = ret;
		return IBV_REREG_MR_ERR_CMD;
	}
	if (vmr->access & IBV_ACCESS_ON_DEMAND)
		srxe_odp_del(ctx, m->lkey);
	m->handle = fresh.ibv_mr.handle;
	m->lkey = fresh.ibv_mr.lkey;
	m->rkey = fresh.ibv_mr.rkey;
	vmr->access = new_access;
	mr->iova = req.iova;
	if (new_access & IBV_ACCESS_ON_DEMAND)
		odp_track_rereg(ctx, m, &req,
				flags & IBV_REREG_MR_CHANGE_PD ? pd : m->pd);
	return 0;
}
