// SPDX-License-Identifier: MIT
/*
 * Protection domains: srxed owns them; the provider keeps the handle in
 * ibv_pd.handle, where later verbs (MR, QP, AH) find it.
 */
#include <errno.h>
#include <stdlib.h>

#include "srxe.h"

struct ibv_pd *srxe_alloc_pd(struct ibv_context *ibctx)
{
	struct srxe_alloc_pd_resp resp;
	struct ibv_pd *pd;
	int ret;

	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		errno = ENOMEM;
		return NULL;
	}

	ret = srxe_ctx_call(to_srxe_context(ibctx), SRXE_OP_ALLOC_PD, NULL, 0,
			    &resp, sizeof(resp));
	if (ret) {
		free(pd);
		errno = ret;
		return NULL;
	}

	pd->context = ibctx;
	pd->handle = resp.pd_handle;
	return pd;
}

/*
 * On failure (e.g. EBUSY while MRs still use it) the PD stays valid, as
 * with kernel providers, so the caller may retry.
 */
int srxe_dealloc_pd(struct ibv_pd *pd)
{
	struct srxe_dealloc_pd_req req = { .pd_handle = pd->handle };
	int ret;

	ret = srxe_ctx_call(to_srxe_context(pd->context), SRXE_OP_DEALLOC_PD,
			    &req, sizeof(req), NULL, 0);
	if (ret)
		return ret;

	free(pd);
	return 0;
}
