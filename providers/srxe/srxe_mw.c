// SPDX-License-Identifier: MIT
/*
 * Memory windows (docs/memory-windows.md).  srxed allocates them and
 * issues their first rkey (ALLOC_MW, include/srxe/proto_mw.h); binding
 * and invalidation are send WQEs the engine runs in order.  ibv_bind_mw()
 * (type 1) posts an IBV_WR_BIND_MW like rdma-core's rxe provider does and
 * returns the new rkey at once; if the bind later completes with an
 * error, the application must undo that, as verbs.h says.
 */
#include <errno.h>
#include <stdlib.h>

#include "srxe.h"
#include "srxe_verbs.h"

struct ibv_mw *srxe_alloc_mw(struct ibv_pd *pd, enum ibv_mw_type type)
{
	struct srxe_alloc_mw_req req = { .pd_handle = pd->handle,
					 .type = (uint32_t)type };
	struct srxe_alloc_mw_resp resp;
	struct ibv_mw *mw = calloc(1, sizeof(*mw));
	int ret;

	if (!mw) {
		errno = ENOMEM;
		return NULL;
	}
	ret = srxe_ctx_call(to_srxe_context(pd->context), SRXE_OP_ALLOC_MW,
			    &req, sizeof(req), &resp, sizeof(resp));
	if (ret) {
		free(mw);
		errno = ret;
		return NULL;
	}
	mw->context = pd->context;
	mw->pd = pd;
	mw->rkey = resp.rkey;
	mw->handle = resp.mw_handle;
	mw->type = type;
	return mw;
}

int srxe_dealloc_mw(struct ibv_mw *mw)
{
	struct srxe_dealloc_mw_req req = { .mw_handle = mw->handle };
	int ret = srxe_ctx_call(to_srxe_context(mw->context),
				SRXE_OP_DEALLOC_MW, &req, sizeof(req), NULL, 0);

	if (ret) {
		errno = ret;
		return ret;
	}
	free(mw);
	return 0;
}

int srxe_bind_mw(struct ibv_qp *qp, struct ibv_mw *mw,
		 struct ibv_mw_bind *mw_bind)
{
	const struct ibv_mw_bind_info *info = &mw_bind->bind_info;
	struct ibv_send_wr wr = {
		.wr_id = mw_bind->wr_id,
		.opcode = IBV_WR_BIND_MW,
		.send_flags = mw_bind->send_flags,
	};
	struct ibv_send_wr *bad;
	int ret;

	if (mw->type != IBV_MW_TYPE_1 ||
	    (!info->mr && (info->addr || info->length)) ||
	    (info->mw_access_flags & IBV_ACCESS_ZERO_BASED))
		ret = EINVAL;
	else if (info->mr && info->mr->pd->handle != mw->pd->handle)
		ret = EPERM;
	else
		ret = 0;
	if (ret) {
		errno = ret;
		return ret;
	}
	wr.bind_mw.mw = mw;
	wr.bind_mw.rkey = ibv_inc_rkey(mw->rkey);
	wr.bind_mw.bind_info = *info;
	ret = srxe_post_send(qp, &wr, &bad);
	if (ret) {
		errno = ret;
		return ret;
	}
	mw->rkey = wr.bind_mw.rkey;
	return 0;
}
