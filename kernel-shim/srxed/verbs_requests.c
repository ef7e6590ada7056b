// SPDX-License-Identifier: MIT
/*
 * Opcodes 16-30, 48-49 (multicast) and 50-53 (XRC) to their handlers
 * (contract in verbs.h).
 */
#include <errno.h>

#include "verbs_objs.h"

#define say srxed_say

static int map_rings(struct srxed *d, struct srxed_session *s,
		     union srxed_verbs_reply *rep, int *reply_fd, char *why)
{
	struct srxed_verbs_ctx *v;
	int err;

	v = srxed_verbs_ctx_get(d, s, &err, why);
	if (!v)
		return err;
	rep->map_rings.arena_bytes = v->arena.bytes;
	*reply_fd = v->arena.fd;
	return 0;
}

static int get_doorbell(struct srxed *d, struct srxed_session *s, int *reply_fd,
			char *why)
{
	struct srxed_verbs_ctx *v;
	int err;

	v = srxed_verbs_ctx_get(d, s, &err, why);
	if (!v)
		return err;
	*reply_fd = v->doorbell_fd;
	return 0;
}

int srxed_verbs_request(struct srxed *d, struct srxed_session *s,
			uint16_t opcode, const void *body, int *fd,
			union srxed_verbs_reply *rep, int *reply_fd, char *why)
{
	switch (opcode) {
	case SRXE_OP_MAP_RINGS:
		return map_rings(d, s, rep, reply_fd, why);
	case SRXE_OP_GET_DOORBELL:
		return get_doorbell(d, s, reply_fd, why);
	case SRXE_OP_CREATE_CQ:
		return srxed_cq_create(d, s, body, &rep->create_cq, why);
	case SRXE_OP_DESTROY_CQ:
		return srxed_cq_destroy(d, s, body, why);
	case SRXE_OP_RESIZE_CQ:
		return srxed_cq_resize(d, s, body, &rep->resize_cq, why);
	case SRXE_OP_CREATE_QP:
		return srxed_qp_create(d, s, body, &rep->create_qp, why);
	case SRXE_OP_MODIFY_QP:
		return srxed_qp_modify(d, s, body, why);
	case SRXE_OP_QUERY_QP:
		return srxed_qp_query(d, s, body, &rep->query_qp, why);
	case SRXE_OP_DESTROY_QP:
		return srxed_qp_destroy(d, s, body, why);
	case SRXE_OP_CREATE_SRQ:
		return srxed_srq_create(d, s, body, &rep->create_srq, why);
	case SRXE_OP_MODIFY_SRQ:
		return srxed_srq_modify(d, s, body, &rep->modify_srq, why);
	case SRXE_OP_QUERY_SRQ:
		return srxed_srq_query(d, s, body, &rep->query_srq, why);
	case SRXE_OP_DESTROY_SRQ:
		return srxed_srq_destroy(d, s, body, why);
	case SRXE_OP_CREATE_AH:
		return srxed_ah_create(d, s, body, &rep->create_ah, why);
	case SRXE_OP_DESTROY_AH:
		return srxed_ah_destroy(d, s, body, why);
	case SRXE_OP_OPEN_XRCD:
		return srxed_xrcd_open(d, s, body, fd, &rep->open_xrcd, why);
	case SRXE_OP_CLOSE_XRCD:
		return srxed_xrcd_close(d, s, body, why);
	case SRXE_OP_CREATE_XSRQ:
		return srxed_xsrq_create(d, s, body, &rep->create_xsrq, why);
	case SRXE_OP_CREATE_XRC_TGT:
		return srxed_xrc_tgt_create(d, s, body, &rep->create_xrc_tgt,
					    why);
	case SRXE_OP_ATTACH_MCAST:
		return srxed_mcast_attach(d, s, body, why);
	case SRXE_OP_DETACH_MCAST:
		return srxed_mcast_detach(d, s, body, why);
	default:
		return say(why, EOPNOTSUPP, "opcode %u is not a verbs opcode",
			   opcode);
	}
}
