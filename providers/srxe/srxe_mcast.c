// SPDX-License-Identifier: MIT
/*
 * UD multicast (issue #10): ibv_attach_mcast / ibv_detach_mcast.  srxed
 * keeps the device's groups and delivers to attached QPs
 * (docs/multicast.md); the provider only forwards the request.
 */
#include <string.h>

#include "srxe_verbs.h"

static int mcast_call(struct ibv_qp *qp, const union ibv_gid *gid, uint16_t lid,
		      uint16_t opcode)
{
	struct srxe_mcast_req req = { .qp_handle = qp->handle, .lid = lid };

	memcpy(req.gid, gid->raw, sizeof(req.gid));
	return srxe_ctx_call(to_srxe_context(qp->context), opcode, &req,
			     sizeof(req), NULL, 0);
}

int srxe_attach_mcast(struct ibv_qp *qp, const union ibv_gid *gid, uint16_t lid)
{
	return mcast_call(qp, gid, lid, SRXE_OP_ATTACH_MCAST);
}

int srxe_detach_mcast(struct ibv_qp *qp, const union ibv_gid *gid, uint16_t lid)
{
	return mcast_call(qp, gid, lid, SRXE_OP_DETACH_MCAST);
}
