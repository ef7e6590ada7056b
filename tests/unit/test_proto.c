// SPDX-License-Identifier: MIT
/* Control-protocol codec: kernel-shim/common/proto.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "srxe/proto.h"

#define HDR    sizeof(struct srxe_msg_hdr)
#define PREFIX (HDR + sizeof(struct srxe_reply_status))

static char buf[SRXE_MSG_MAX * 2];
static char body[SRXE_MSG_MAX];

static struct srxe_msg_hdr hdr_of(const void *msg)
{
	struct srxe_msg_hdr h;

	memcpy(&h, msg, sizeof(h));
	return h;
}

static void put_hdr(void *msg, struct srxe_msg_hdr h)
{
	memcpy(msg, &h, sizeof(h));
}

Test(proto, table_knows_every_opcode)
{
	cr_assert_null(srxe_op_info(0));
	for (uint16_t op = SRXE_OP_OPEN_CTX; op < SRXE_OP_MAX; op++)
		cr_assert_not_null(srxe_op_info(op), "op %u", op);
	cr_assert_eq(srxe_op_info(SRXE_OP_REG_MR)->req_body,
		     sizeof(struct srxe_reg_mr_req));
	cr_assert_eq(srxe_op_info(SRXE_OP_REG_MR)->reply_body,
		     sizeof(struct srxe_reg_mr_resp));
	cr_assert_eq(srxe_op_info(SRXE_OP_DEREG_MR)->reply_body,
		     sizeof(struct srxe_dereg_mr_resp));
	cr_assert_eq(srxe_op_info(SRXE_OP_DEREG_DONE)->reply_body, 0);
	cr_assert_eq(srxe_op_info(SRXE_OP_DEREG_RUNS)->req_body,
		     sizeof(struct srxe_dereg_runs_req));
	cr_assert_leq(PREFIX + sizeof(struct srxe_reg_mr_resp), SRXE_MSG_MAX);
	cr_assert_null(srxe_op_info(SRXE_OP_MAX));
	cr_assert_null(srxe_op_info(0xffff));
	cr_assert_eq(srxe_op_info(SRXE_OP_QUERY_PORT)->req_body,
		     sizeof(struct srxe_query_port_req));
	cr_assert_eq(srxe_op_info(SRXE_OP_STATUS)->reply_body,
		     sizeof(struct srxe_status_resp));
	cr_assert_str_eq(srxe_op_info(SRXE_OP_ALLOC_PD)->name, "ALLOC_PD");
}

/* Request and success reply of every opcode survive the codec intact. */
Test(proto, round_trip_every_opcode)
{
	for (uint16_t op = 1; op < SRXE_OP_MAX; op++) {
		const struct srxe_op_info *info = srxe_op_info(op);
		struct srxe_msg_hdr h;
		const void *reply_body;
		const char *why = "unset";
		char reason[8];
		int n;

		if (!info)
			continue;
		for (size_t i = 0; i < sizeof(body); i++)
			body[i] = (char)(i * 7 + op);
		n = srxe_msg_request(buf, sizeof(buf), op, 1000 + op, body,
				     info->req_body);
		cr_assert_eq(n, (int)(HDR + info->req_body), "%s", info->name);
		cr_assert_eq(srxe_msg_check_request(buf, n, &h, &why), 0,
			     "%s: %s", info->name, why);
		cr_assert_null(why);
		cr_assert_eq(h.opcode, op);
		cr_assert_eq(h.req_id, 1000u + op);
		cr_assert_eq(memcmp(buf + HDR, body, info->req_body), 0);

		n = srxe_msg_reply_ok(buf, sizeof(buf), &h, body,
				      info->reply_body);
		cr_assert_eq(n, (int)(PREFIX + info->reply_body));
		cr_assert_eq(srxe_msg_check_reply(buf, n, op, 1000 + op,
						  &reply_body, reason,
						  sizeof(reason)),
			     0, "%s: %s", info->name, reason);
		cr_assert_eq(memcmp(reply_body, body, info->reply_body), 0);
	}
}

Test(proto, request_builder_refuses_bad_input)
{
	cr_assert_eq(
		srxe_msg_request(buf, sizeof(buf), SRXE_OP_REG_MR, 1, NULL, 0),
		-EINVAL);
	cr_assert_eq(srxe_msg_request(buf, sizeof(buf), SRXE_OP_QUERY_PORT, 1,
				      body, 3),
		     -EINVAL);
	cr_assert_eq(srxe_msg_request(buf, sizeof(buf), SRXE_OP_QUERY_PORT, 1,
				      NULL, sizeof(struct srxe_query_port_req)),
		     -EINVAL);
	cr_assert_eq(srxe_msg_request(buf, HDR + 1, SRXE_OP_QUERY_PORT, 1, body,
				      sizeof(struct srxe_query_port_req)),
		     -EMSGSIZE);
}

static int check(size_t len, const char **why)
{
	return srxe_msg_check_request(buf, len, NULL, why);
}

static int valid_port_request(void)
{
	return srxe_msg_request(buf, sizeof(buf), SRXE_OP_QUERY_PORT, 77, body,
				sizeof(struct srxe_query_port_req));
}

Test(proto, rejects_bad_magic_flags_length)
{
	int n = valid_port_request();
	struct srxe_msg_hdr h = hdr_of(buf);
	const char *why = NULL;

	h.magic ^= 0x100;
	put_hdr(buf, h);
	cr_assert_eq(check(n, &why), -EPROTO);
	cr_assert_not_null(why);

	n = valid_port_request();
	h = hdr_of(buf);
	h.flags = SRXE_MSG_REPLY;
	put_hdr(buf, h);
	cr_assert_eq(check(n, &why), -EPROTO);

	n = valid_port_request();
	h = hdr_of(buf);
	h.length = n + 1;
	put_hdr(buf, h);
	cr_assert_eq(check(n, &why), -EPROTO);
	cr_assert(strstr(why, "length"));
}

Test(proto, rejects_bad_version_with_header_copied)
{
	int n = valid_port_request();
	struct srxe_msg_hdr h = hdr_of(buf), out = { 0 };
	const char *why = NULL;

	h.version = SRXE_PROTO_VERSION + 1;
	put_hdr(buf, h);
	cr_assert_eq(srxe_msg_check_request(buf, n, &out, &why),
		     -EPROTONOSUPPORT);
	cr_assert_eq(out.req_id, 77);
}

Test(proto, rejects_unknown_and_reserved_opcodes)
{
	uint16_t ops[] = { 0, SRXE_OP_MAX, SRXE_OP_MAX + 1, 0xffff };
	const char *why;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct srxe_msg_hdr h = {
			SRXE_PROTO_MAGIC, SRXE_PROTO_VERSION, ops[i], HDR, 0, 5
		};

		put_hdr(buf, h);
		cr_assert_eq(check(HDR, &why), -EOPNOTSUPP, "op %u", ops[i]);
	}
}

Test(proto, rejects_wrong_body_size)
{
	const char *why;
	int n = valid_port_request();
	struct srxe_msg_hdr h = hdr_of(buf);

	h.length = n - 1;
	put_hdr(buf, h);
	cr_assert_eq(check(n - 1, &why), -EINVAL);
	h.length = n + 8;
	put_hdr(buf, h);
	cr_assert_eq(check(n + 8, &why), -EINVAL);
}

Test(proto, rejects_truncated_header_without_reading_past_it)
{
	struct srxe_msg_hdr out = { .req_id = 99 };
	const char *why;

	valid_port_request();
	for (size_t len = 0; len < HDR; len++) {
		cr_assert_eq(srxe_msg_check_request(buf, len, &out, &why),
			     -EPROTO, "len %zu", len);
		cr_assert_eq(out.req_id, 99, "header copied from %zu bytes",
			     len);
	}
}

Test(proto, rejects_oversize)
{
	const char *why;

	valid_port_request();
	cr_assert_eq(check(SRXE_MSG_MAX + 1, &why), -EMSGSIZE);
	cr_assert_eq(check(sizeof(buf), &why), -EMSGSIZE);
}

Test(proto, error_reply_carries_reason_and_echoes_request)
{
	struct srxe_msg_hdr req = { .opcode = SRXE_OP_ALLOC_PD, .req_id = 42 };
	char reason[SRXE_REASON_MAX + 1];
	const void *b = NULL;
	int n;

	n = srxe_msg_reply_err(buf, sizeof(buf), &req, ENOMEM, "limit %d", 7);
	cr_assert_eq(n, (int)(PREFIX + strlen("limit 7")));
	cr_assert_eq(srxe_msg_check_reply(buf, n, SRXE_OP_ALLOC_PD, 42, &b,
					  reason, sizeof(reason)),
		     ENOMEM);
	cr_assert_str_eq(reason, "limit 7");
	cr_assert_null(b);
}

Test(proto, error_reason_is_truncated_to_max)
{
	struct srxe_msg_hdr req = { .opcode = SRXE_OP_STATUS, .req_id = 1 };
	char longtext[1000], reason[SRXE_REASON_MAX + 1], small[10];
	int n;

	memset(longtext, 'a', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	n = srxe_msg_reply_err(buf, sizeof(buf), &req, EINVAL, "%s", longtext);
	cr_assert_eq(n, (int)(PREFIX + SRXE_REASON_MAX));
	cr_assert_eq(srxe_msg_check_reply(buf, n, SRXE_OP_STATUS, 1, NULL,
					  reason, sizeof(reason)),
		     EINVAL);
	cr_assert_eq(strlen(reason), SRXE_REASON_MAX);
	/* A small caller buffer still gets a NUL-terminated prefix. */
	cr_assert_eq(srxe_msg_check_reply(buf, n, SRXE_OP_STATUS, 1, NULL,
					  small, sizeof(small)),
		     EINVAL);
	cr_assert_str_eq(small, "aaaaaaaaa");
}

Test(proto, error_reply_needs_positive_errno)
{
	struct srxe_msg_hdr req = { .opcode = SRXE_OP_STATUS };

	cr_assert_eq(srxe_msg_reply_err(buf, sizeof(buf), &req, 0, "x"),
		     -EINVAL);
	cr_assert_eq(srxe_msg_reply_err(buf, sizeof(buf), &req, -5, "x"),
		     -EINVAL);
	cr_assert_eq(srxe_msg_reply_err(buf, PREFIX, &req, EIO, "x"),
		     -EMSGSIZE);
}

Test(proto, ok_reply_must_have_the_opcode_size)
{
	struct srxe_msg_hdr req = { .opcode = SRXE_OP_ALLOC_PD };

	cr_assert_eq(srxe_msg_reply_ok(buf, sizeof(buf), &req, body, 4),
		     -EINVAL);
	req.opcode = SRXE_OP_REG_MR;
	cr_assert_eq(srxe_msg_reply_ok(buf, sizeof(buf), &req, NULL, 0),
		     -EINVAL);
}

static int ok_alloc_pd_reply(uint64_t req_id)
{
	struct srxe_msg_hdr req = { .opcode = SRXE_OP_ALLOC_PD,
				    .req_id = req_id };
	struct srxe_alloc_pd_resp r = { .pd_handle = 0x10001 };

	return srxe_msg_reply_ok(buf, sizeof(buf), &req, &r, sizeof(r));
}

Test(proto, check_reply_rejects_mismatch_and_garbage)
{
	char reason[SRXE_REASON_MAX + 1];
	const void *b;
	struct srxe_msg_hdr h;
	struct srxe_reply_status st;
	int n = ok_alloc_pd_reply(9);

	cr_assert_eq(srxe_msg_check_reply(buf, n, SRXE_OP_ALLOC_PD, 10, &b,
					  reason, sizeof(reason)),
		     -EPROTO);
	cr_assert(strstr(reason, "request id"), "%s", reason);
	cr_assert_eq(srxe_msg_check_reply(buf, n, SRXE_OP_DEALLOC_PD, 9, &b,
					  reason, sizeof(reason)),
		     -EPROTO);
	cr_assert_eq(srxe_msg_check_reply(buf, n - 1, SRXE_OP_ALLOC_PD, 9, &b,
					  reason, sizeof(reason)),
		     -EPROTO);
	cr_assert_eq(srxe_msg_check_reply(buf, PREFIX - 1, SRXE_OP_ALLOC_PD, 9,
					  &b, reason, sizeof(reason)),
		     -EPROTO);

	h = hdr_of(buf);
	h.flags = 0; /* a request echoed back is not a reply */
	put_hdr(buf, h);
	cr_assert_eq(
		srxe_msg_check_reply(buf, n, SRXE_OP_ALLOC_PD, 9, &b, NULL, 0),
		-EPROTO);

	n = ok_alloc_pd_reply(9);
	memcpy(&st, buf + HDR, sizeof(st));
	st.err = -3;
	memcpy(buf + HDR, &st, sizeof(st));
	cr_assert_eq(srxe_msg_check_reply(buf, n, SRXE_OP_ALLOC_PD, 9, &b,
					  reason, sizeof(reason)),
		     -EPROTO);

	n = ok_alloc_pd_reply(9);
	st.err = EIO;
	st.reason_len = SRXE_REASON_MAX + 1; /* lies about its reason */
	memcpy(buf + HDR, &st, sizeof(st));
	cr_assert_eq(srxe_msg_check_reply(buf, n, SRXE_OP_ALLOC_PD, 9, &b,
					  reason, sizeof(reason)),
		     -EPROTO);

	memset(buf, 0xa5, 200);
	cr_assert_lt(srxe_msg_check_reply(buf, 200, SRXE_OP_ALLOC_PD, 9, &b,
					  reason, sizeof(reason)),
		     0);
}
