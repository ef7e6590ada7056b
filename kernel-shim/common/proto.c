// SPDX-License-Identifier: MIT
/*
 * Control protocol codec (contract in include/srxe/proto.h).  Every size
 * check lives in the opcode table so that a new opcode is one table row.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "srxe/proto.h"

#define REPLY_PREFIX                                                           \
	(sizeof(struct srxe_msg_hdr) + sizeof(struct srxe_reply_status))

_Static_assert(REPLY_PREFIX + sizeof(struct srxe_reg_mr_resp) <= SRXE_MSG_MAX,
	       "REG_MR reply must fit one datagram");
_Static_assert(REPLY_PREFIX + sizeof(struct srxe_create_qp_resp) <=
		       SRXE_MSG_MAX,
	       "CREATE_QP reply must fit one datagram");
_Static_assert(REPLY_PREFIX + sizeof(struct srxe_dereg_mr_resp) <= SRXE_MSG_MAX,
	       "DEREG_MR reply must fit one datagram");

static const struct srxe_op_info op_table[SRXE_OP_TABLE_SIZE] = {
	[SRXE_OP_OPEN_CTX] = { "OPEN_CTX", sizeof(struct srxe_open_ctx_req),
			       sizeof(struct srxe_open_ctx_resp) },
	[SRXE_OP_CLOSE_CTX] = { "CLOSE_CTX", 0, 0 },
	[SRXE_OP_QUERY_DEVICE] = { "QUERY_DEVICE", 0,
				   sizeof(struct srxe_query_device_resp) },
	[SRXE_OP_QUERY_PORT] = { "QUERY_PORT",
				 sizeof(struct srxe_query_port_req),
				 sizeof(struct srxe_query_port_resp) },
	[SRXE_OP_ALLOC_PD] = { "ALLOC_PD", 0,
			       sizeof(struct srxe_alloc_pd_resp) },
	[SRXE_OP_DEALLOC_PD] = { "DEALLOC_PD",
				 sizeof(struct srxe_dealloc_pd_req), 0 },
	[SRXE_OP_STATUS] = { "STATUS", 0, sizeof(struct srxe_status_resp) },
	[SRXE_OP_REG_MR] = { "REG_MR", sizeof(struct srxe_reg_mr_req),
			     sizeof(struct srxe_reg_mr_resp) },
	[SRXE_OP_DEREG_MR] = { "DEREG_MR", sizeof(struct srxe_dereg_mr_req),
			       sizeof(struct srxe_dereg_mr_resp) },
	[SRXE_OP_DEREG_DONE] = { "DEREG_DONE", sizeof(struct srxe_dereg_mr_req),
				 0 },
	[SRXE_OP_DEREG_RUNS] = { "DEREG_RUNS",
				 sizeof(struct srxe_dereg_runs_req),
				 sizeof(struct srxe_dereg_mr_resp) },
	/* Issue #4: include/srxe/proto_verbs.h. */
	[SRXE_OP_MAP_RINGS] = { "MAP_RINGS", 0,
				sizeof(struct srxe_map_rings_resp) },
	[SRXE_OP_GET_DOORBELL] = { "GET_DOORBELL", 0, 0 },
	[SRXE_OP_CREATE_CQ] = { "CREATE_CQ", sizeof(struct srxe_create_cq_req),
				sizeof(struct srxe_create_cq_resp) },
	[SRXE_OP_DESTROY_CQ] = { "DESTROY_CQ", sizeof(struct srxe_destroy_req),
				 0 },
	[SRXE_OP_RESIZE_CQ] = { "RESIZE_CQ", sizeof(struct srxe_resize_cq_req),
				sizeof(struct srxe_resize_cq_resp) },
	[SRXE_OP_CREATE_QP] = { "CREATE_QP", sizeof(struct srxe_create_qp_req),
				sizeof(struct srxe_create_qp_resp) },
	[SRXE_OP_MODIFY_QP] = { "MODIFY_QP", sizeof(struct srxe_modify_qp_req),
				0 },
	[SRXE_OP_QUERY_QP] = { "QUERY_QP", sizeof(struct srxe_query_qp_req),
			       sizeof(struct srxe_query_qp_resp) },
	[SRXE_OP_DESTROY_QP] = { "DESTROY_QP", sizeof(struct srxe_destroy_req),
				 0 },
	[SRXE_OP_CREATE_SRQ] = { "CREATE_SRQ",
				 sizeof(struct srxe_create_srq_req),
				 sizeof(struct srxe_create_srq_resp) },
	[SRXE_OP_MODIFY_SRQ] = { "MODIFY_SRQ",
				 sizeof(struct srxe_modify_srq_req),
				 sizeof(struct srxe_modify_srq_resp) },
	[SRXE_OP_QUERY_SRQ] = { "QUERY_SRQ", sizeof(struct srxe_destroy_req),
				sizeof(struct srxe_query_srq_resp) },
	[SRXE_OP_DESTROY_SRQ] = { "DESTROY_SRQ",
				  sizeof(struct srxe_destroy_req), 0 },
	[SRXE_OP_CREATE_AH] = { "CREATE_AH", sizeof(struct srxe_create_ah_req),
				sizeof(struct srxe_create_ah_resp) },
	[SRXE_OP_DESTROY_AH] = { "DESTROY_AH", sizeof(struct srxe_destroy_req),
				 0 },
	/* Issue #6: include/srxe/proto_event.h. */
	[SRXE_OP_CHAN_OPEN] = { "CHAN_OPEN", sizeof(struct srxe_chan_open_req),
				sizeof(struct srxe_chan_open_resp) },
	[SRXE_OP_SVC_MAKE_CHANNEL] = { "SVC_MAKE_CHANNEL",
				       sizeof(struct srxe_svc_make_channel_req),
				       sizeof(struct
					      srxe_svc_make_channel_resp) },
	/* Issue #5: include/srxe/proto_capture.h. */
	[SRXE_OP_CAPTURE_START] = { "CAPTURE_START",
				    sizeof(struct srxe_capture_start_req),
				    sizeof(struct srxe_capture_start_resp) },
	[SRXE_OP_CAPTURE_STOP] = { "CAPTURE_STOP", 0,
				   sizeof(struct srxe_capture_stop_resp) },
	/* Issue #10: include/srxe/proto_mw.h. */
	[SRXE_OP_ALLOC_MW] = { "ALLOC_MW", sizeof(struct srxe_alloc_mw_req),
			       sizeof(struct srxe_alloc_mw_resp) },
	[SRXE_OP_DEALLOC_MW] = { "DEALLOC_MW",
				 sizeof(struct srxe_dealloc_mw_req), 0 },
	[SRXE_OP_REREG_MR] = { "REREG_MR", sizeof(struct srxe_rereg_mr_req),
			       sizeof(struct srxe_rereg_mr_resp) },
	/* Issue #10: include/srxe/proto_xrc.h. */
	[SRXE_OP_OPEN_XRCD] = { "OPEN_XRCD", sizeof(struct srxe_open_xrcd_req),
				sizeof(struct srxe_open_xrcd_resp) },
	[SRXE_OP_CLOSE_XRCD] = { "CLOSE_XRCD", sizeof(struct srxe_destroy_req),
				 0 },
	[SRXE_OP_CREATE_XSRQ] = { "CREATE_XSRQ",
				  sizeof(struct srxe_create_xsrq_req),
				  sizeof(struct srxe_create_xsrq_resp) },
	[SRXE_OP_CREATE_XRC_TGT] = { "CREATE_XRC_TGT",
				     sizeof(struct srxe_create_xrc_tgt_req),
				     sizeof(struct srxe_create_xrc_tgt_resp) },
	/* Issue #10: include/srxe/proto_mcast.h. */
	[SRXE_OP_ATTACH_MCAST] = { "ATTACH_MCAST",
				   sizeof(struct srxe_mcast_req), 0 },
	[SRXE_OP_DETACH_MCAST] = { "DETACH_MCAST",
				   sizeof(struct srxe_mcast_req), 0 },
	/* Issue #11: include/srxe/proto_cm.h. */
	[SRXE_OP_CM_ADD_CHANNEL] = { "CM_ADD_CHANNEL", 0,
				     sizeof(struct srxe_cm_add_channel_resp) },
	[SRXE_OP_CM_DEL_CHANNEL] = { "CM_DEL_CHANNEL",
				     sizeof(struct srxe_cm_handle_req), 0 },
	[SRXE_OP_CM_LISTEN] = { "CM_LISTEN", sizeof(struct srxe_cm_listen_req),
				sizeof(struct srxe_cm_handle_resp) },
	[SRXE_OP_CM_CONNECT] = { "CM_CONNECT",
				 sizeof(struct srxe_cm_connect_req),
				 sizeof(struct srxe_cm_handle_resp) },
	[SRXE_OP_CM_ACCEPT] = { "CM_ACCEPT", sizeof(struct srxe_cm_accept_req),
				0 },
	[SRXE_OP_CM_REJECT] = { "CM_REJECT", sizeof(struct srxe_cm_reject_req),
				0 },
	[SRXE_OP_CM_ESTABLISH] = { "CM_ESTABLISH",
				   sizeof(struct srxe_cm_handle_req), 0 },
	[SRXE_OP_CM_DISCONNECT] = { "CM_DISCONNECT",
				    sizeof(struct srxe_cm_handle_req), 0 },
	[SRXE_OP_CM_DESTROY] = { "CM_DESTROY",
				 sizeof(struct srxe_cm_handle_req), 0 },
	[SRXE_OP_CM_NOTIFY] = { "CM_NOTIFY", sizeof(struct srxe_cm_handle_req),
				0 },
	[SRXE_OP_CM_MIGRATE] = { "CM_MIGRATE",
				 sizeof(struct srxe_cm_migrate_req), 0 },
};
_Static_assert(SRXE_OP_MW_END <= 48, "memory-window opcodes are 40-47");

const struct srxe_op_info *srxe_op_info(uint16_t opcode)
{
	if (opcode >= SRXE_OP_TABLE_SIZE || !op_table[opcode].name)
		return NULL;
	return &op_table[opcode];
}

static void fill_hdr(struct srxe_msg_hdr *h, uint16_t opcode, uint32_t length,
		     uint32_t flags, uint64_t req_id)
{
	h->magic = SRXE_PROTO_MAGIC;
	h->version = SRXE_PROTO_VERSION;
	h->opcode = opcode;
	h->length = length;
	h->flags = flags;
	h->req_id = req_id;
}

int srxe_msg_request(void *buf, size_t cap, uint16_t opcode, uint64_t req_id,
		     const void *body, size_t body_len)
{
	const struct srxe_op_info *op = srxe_op_info(opcode);
	size_t total = sizeof(struct srxe_msg_hdr) + body_len;
	struct srxe_msg_hdr hdr;

	if (!op || body_len != op->req_body || (body_len && !body))
		return -EINVAL;
	if (total > SRXE_MSG_MAX || total > cap)
		return -EMSGSIZE;
	fill_hdr(&hdr, opcode, total, 0, req_id);
	memcpy(buf, &hdr, sizeof(hdr));
	if (body_len)
		memcpy((char *)buf + sizeof(hdr), body, body_len);
	return total;
}

static int reject(const char **why, const char *text, int err)
{
	if (why)
		*why = text;
	return err;
}

int srxe_msg_check_request(const void *buf, size_t len,
			   struct srxe_msg_hdr *hdr_out, const char **why)
{
	const struct srxe_op_info *op;
	struct srxe_msg_hdr hdr;

	if (len >= sizeof(hdr)) {
		memcpy(&hdr, buf, sizeof(hdr));
		if (hdr_out)
			*hdr_out = hdr;
	}
	if (len > SRXE_MSG_MAX)
		return reject(why, "message larger than SRXE_MSG_MAX",
			      -EMSGSIZE);
	if (len < sizeof(hdr))
		return reject(why, "truncated header", -EPROTO);
	if (hdr.magic != SRXE_PROTO_MAGIC)
		return reject(why, "bad magic", -EPROTO);
	if (hdr.flags != 0)
		return reject(why, "request has reply or unknown flags set",
			      -EPROTO);
	if (hdr.length != len)
		return reject(why, "length field does not match datagram size",
			      -EPROTO);
	if (hdr.version != SRXE_PROTO_VERSION)
		return reject(why, "unsupported protocol version",
			      -EPROTONOSUPPORT);
	op = srxe_op_info(hdr.opcode);
	if (!op)
		return reject(why, "unknown opcode", -EOPNOTSUPP);
	if (len - sizeof(hdr) != op->req_body)
		return reject(why, "wrong request body size for opcode",
			      -EINVAL);
	if (why)
		*why = NULL;
	return 0;
}

static int build_reply(void *buf, size_t cap, const struct srxe_msg_hdr *req,
		       int err, const void *payload, size_t payload_len)
{
	size_t total = REPLY_PREFIX + payload_len;
	struct srxe_msg_hdr hdr;
	struct srxe_reply_status st = { .err = err };

	if (total > SRXE_MSG_MAX || total > cap)
		return -EMSGSIZE;
	if (err)
		st.reason_len = payload_len;
	fill_hdr(&hdr, req ? req->opcode : 0, total, SRXE_MSG_REPLY,
		 req ? req->req_id : 0);
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy((char *)buf + sizeof(hdr), &st, sizeof(st));
	if (payload_len)
		memcpy((char *)buf + REPLY_PREFIX, payload, payload_len);
	return total;
}

int srxe_msg_reply_ok(void *buf, size_t cap, const struct srxe_msg_hdr *req,
		      const void *body, size_t body_len)
{
	const struct srxe_op_info *op = req ? srxe_op_info(req->opcode) : NULL;

	/* A success reply whose size the peer will reject is a daemon bug. */
	if (!op || body_len != op->reply_body || (body_len && !body))
		return -EINVAL;
	return build_reply(buf, cap, req, 0, body, body_len);
}

int srxe_msg_reply_err(void *buf, size_t cap, const struct srxe_msg_hdr *req,
		       int err, const char *fmt, ...)
{
	char reason[SRXE_REASON_MAX + 1];
	va_list ap;
	int n;

	if (err <= 0)
		return -EINVAL;
	va_start(ap, fmt);
	n = vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > SRXE_REASON_MAX)
		n = SRXE_REASON_MAX;
	return build_reply(buf, cap, req, err, reason, n);
}

static int malformed(char *reason, size_t cap, const char *text, int err)
{
	if (reason && cap)
		snprintf(reason, cap, "malformed reply from srxed: %s", text);
	return err;
}

static void copy_reason(char *reason, size_t cap, const char *text, size_t len)
{
	if (!reason || !cap)
		return;
	if (len > cap - 1)
		len = cap - 1;
	memcpy(reason, text, len);
	reason[len] = '\0';
}

static int check_reply_hdr(const struct srxe_msg_hdr *h, size_t len,
			   uint16_t opcode, uint64_t req_id, const char **why)
{
	if (h->magic != SRXE_PROTO_MAGIC)
		return reject(why, "bad magic", -EPROTO);
	if (h->version != SRXE_PROTO_VERSION)
		return reject(why, "unsupported protocol version",
			      -EPROTONOSUPPORT);
	if (h->flags != SRXE_MSG_REPLY)
		return reject(why, "reply flag missing", -EPROTO);
	if (h->length != len)
		return reject(why, "length field does not match datagram size",
			      -EPROTO);
	if (h->opcode != opcode)
		return reject(why, "reply to another opcode", -EPROTO);
	if (h->req_id != req_id)
		return reject(why, "reply to another request id", -EPROTO);
	return 0;
}

int srxe_msg_check_reply(const void *buf, size_t len, uint16_t opcode,
			 uint64_t req_id, const void **body, char *reason,
			 size_t reason_cap)
{
	const struct srxe_op_info *op = srxe_op_info(opcode);
	const char *payload = (const char *)buf + REPLY_PREFIX;
	struct srxe_reply_status st;
	struct srxe_msg_hdr hdr;
	const char *why;
	int ret;

	copy_reason(reason, reason_cap, "", 0);
	if (len > SRXE_MSG_MAX)
		return malformed(reason, reason_cap, "too large", -EMSGSIZE);
	if (len < REPLY_PREFIX)
		return malformed(reason, reason_cap, "truncated", -EPROTO);
	memcpy(&hdr, buf, sizeof(hdr));
	memcpy(&st, (const char *)buf + sizeof(hdr), sizeof(st));
	ret = check_reply_hdr(&hdr, len, opcode, req_id, &why);
	if (ret)
		return malformed(reason, reason_cap, why, ret);
	if (st.err < 0)
		return malformed(reason, reason_cap, "negative status",
				 -EPROTO);
	if (st.err > 0) {
		if (st.reason_len > SRXE_REASON_MAX ||
		    st.reason_len != len - REPLY_PREFIX)
			return malformed(reason, reason_cap,
					 "bad reason length", -EPROTO);
		copy_reason(reason, reason_cap, payload, st.reason_len);
		return st.err;
	}
	if (!op)
		return malformed(reason, reason_cap, "unknown opcode", -EPROTO);
	if (st.reason_len != 0 || len - REPLY_PREFIX != op->reply_body)
		return malformed(reason, reason_cap,
				 "wrong reply body size for opcode", -EPROTO);
	if (body)
		*body = payload;
	return 0;
}
