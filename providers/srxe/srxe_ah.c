// SPDX-License-Identifier: MIT
/*
 * Address handles: srxed resolves and keeps the address vector; a UD WQE
 * names it by the handle stored in ibv_ah.handle.  The wire conversion of
 * struct ibv_ah_attr here also serves the QP's primary path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "srxe_verbs.h"

void srxe_ah_to_wire(const struct ibv_ah_attr *attr, struct srxe_ah_wire *w)
{
	memset(w, 0, sizeof(*w));
	memcpy(w->dgid, attr->grh.dgid.raw, sizeof(w->dgid));
	w->flow_label = attr->grh.flow_label;
	w->sgid_index = attr->grh.sgid_index;
	w->hop_limit = attr->grh.hop_limit;
	w->traffic_class = attr->grh.traffic_class;
	w->is_global = attr->is_global;
	w->dlid = attr->dlid;
	w->sl = attr->sl;
	w->src_path_bits = attr->src_path_bits;
	w->static_rate = attr->static_rate;
	w->port_num = attr->port_num;
}

void srxe_ah_from_wire(const struct srxe_ah_wire *w, struct ibv_ah_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	memcpy(attr->grh.dgid.raw, w->dgid, sizeof(w->dgid));
	attr->grh.flow_label = w->flow_label;
	attr->grh.sgid_index = w->sgid_index;
	attr->grh.hop_limit = w->hop_limit;
	attr->grh.traffic_class = w->traffic_class;
	attr->is_global = w->is_global;
	attr->dlid = w->dlid;
	attr->sl = w->sl;
	attr->src_path_bits = w->src_path_bits;
	attr->static_rate = w->static_rate;
	attr->port_num = w->port_num;
}

/* libibverbs sets ah->context and ah->pd on what we return. */
struct ibv_ah *srxe_create_ah(struct ibv_pd *pd, struct ibv_ah_attr *attr)
{
	struct srxe_context *ctx = to_srxe_context(pd->context);
	struct srxe_create_ah_req req = { .pd_handle = pd->handle };
	struct srxe_create_ah_resp resp;
	struct ibv_ah *ah;
	int ret;

	if (srxe_arena_check(&ctx->arena))
		return NULL;
	ah = calloc(1, sizeof(*ah));
	if (!ah) {
		errno = ENOMEM;
		return NULL;
	}
	srxe_ah_to_wire(attr, &req.ah);
	ret = srxe_ctx_call(ctx, SRXE_OP_CREATE_AH, &req, sizeof(req), &resp,
			    sizeof(resp));
	if (ret) {
		free(ah);
		errno = ret;
		return NULL;
	}
	ah->handle = resp.ah_handle;
	return ah;
}

int srxe_destroy_ah(struct ibv_ah *ah)
{
	struct srxe_destroy_req req = { .handle = ah->handle };
	int ret;

	ret = srxe_ctx_call(to_srxe_context(ah->context), SRXE_OP_DESTROY_AH,
			    &req, sizeof(req), NULL, 0);
	if (ret)
		return ret;
	free(ah);
	return 0;
}
