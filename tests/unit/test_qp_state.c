// SPDX-License-Identifier: MIT
/* QP modify admission: kernel-shim/engine/objects/qp_state.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine/objects/qp_state.h"

static const struct srxe_qp_limits lim = {
	.max_mtu = IBV_MTU_4096,
	.max_rd_atomic = 128,
	.max_dest_rd_atomic = 64,
	.pkey_tbl_len = 1,
	.gid_tbl_len = 4,
};

static const enum ibv_qp_type types[] = { IBV_QPT_RC, IBV_QPT_UC, IBV_QPT_UD };

#define S(x) IBV_QPS_##x
#define A(x) IBV_QP_##x

/*
 * The expected table, written independently of qp_state.c from IBA
 * 11.2.4.2 / the kernel's qp_state_table: per transition and type the
 * required and optional attributes.  Transitions absent here must not exist.
 */
struct expect {
	enum ibv_qp_state cur, next;
	uint32_t req[3], opt[3]; /* RC, UC, UD */
};

#define RTS_OPT_UC                                                             \
	(A(CUR_STATE) | A(ALT_PATH) | A(ACCESS_FLAGS) | A(PATH_MIG_STATE))
#define RTS_OPT_RC (RTS_OPT_UC | A(MIN_RNR_TIMER))
#define RTS_OPT_UD (A(CUR_STATE) | A(QKEY))
#define INIT_RC	   (A(PKEY_INDEX) | A(PORT) | A(ACCESS_FLAGS))
#define INIT_UD	   (A(PKEY_INDEX) | A(PORT) | A(QKEY))

static const struct expect expected[] = {
	{ S(RESET), S(RESET), { 0 }, { 0 } },
	{ S(RESET), S(INIT), { INIT_RC, INIT_RC, INIT_UD }, { 0 } },
	{ S(INIT), S(INIT), { 0 }, { INIT_RC, INIT_RC, INIT_UD } },
	{ S(INIT),
	  S(RTR),
	  { A(AV) | A(PATH_MTU) | A(DEST_QPN) | A(RQ_PSN) |
		    A(MAX_DEST_RD_ATOMIC) | A(MIN_RNR_TIMER),
	    A(AV) | A(PATH_MTU) | A(DEST_QPN) | A(RQ_PSN), 0 },
	  { A(ALT_PATH) | A(ACCESS_FLAGS) | A(PKEY_INDEX),
	    A(ALT_PATH) | A(ACCESS_FLAGS) | A(PKEY_INDEX),
	    A(PKEY_INDEX) | A(QKEY) } },
	{ S(RTR),
	  S(RTS),
	  { A(TIMEOUT) | A(RETRY_CNT) | A(RNR_RETRY) | A(SQ_PSN) |
		    A(MAX_QP_RD_ATOMIC),
	    A(SQ_PSN), A(SQ_PSN) },
	  { RTS_OPT_RC, RTS_OPT_UC, RTS_OPT_UD } },
	{ S(RTS), S(RTS), { 0 }, { RTS_OPT_RC, RTS_OPT_UC, RTS_OPT_UD } },
	{ S(RTS),
	  S(SQD),
	  { 0 },
	  { A(EN_SQD_ASYNC_NOTIFY), A(EN_SQD_ASYNC_NOTIFY),
	    A(EN_SQD_ASYNC_NOTIFY) } },
	{ S(SQD), S(RTS), { 0 }, { RTS_OPT_RC, RTS_OPT_UC, RTS_OPT_UD } },
	{ S(SQD),
	  S(SQD),
	  { 0 },
	  { A(PORT) | A(AV) | A(TIMEOUT) | A(RETRY_CNT) | A(RNR_RETRY) |
		    A(MAX_QP_RD_ATOMIC) | A(MAX_DEST_RD_ATOMIC) | A(ALT_PATH) |
		    A(ACCESS_FLAGS) | A(PKEY_INDEX) | A(MIN_RNR_TIMER) |
		    A(PATH_MIG_STATE),
	    A(AV) | A(ALT_PATH) | A(ACCESS_FLAGS) | A(PKEY_INDEX) |
		    A(PATH_MIG_STATE),
	    A(PKEY_INDEX) | A(QKEY) } },
	/* SQE exists only for UC/UD (RC goes to ERR), but the table lists
	 * it for all; the RC row has no optional attributes.
	 */
	{ S(SQE),
	  S(RTS),
	  { 0 },
	  { 0, A(CUR_STATE) | A(ACCESS_FLAGS), A(CUR_STATE) | A(QKEY) } },
};

static const struct expect *find(enum ibv_qp_state cur, enum ibv_qp_state next)
{
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		if (expected[i].cur == cur && expected[i].next == next)
			return &expected[i];
	return NULL;
}

static bool to_reset_or_err(enum ibv_qp_state cur, enum ibv_qp_state next)
{
	return (next == S(RESET) && cur != S(RESET)) || next == S(ERR);
}

static int tix(enum ibv_qp_type t)
{
	return t == IBV_QPT_RC ? 0 : t == IBV_QPT_UC ? 1 : 2;
}

/* Values that pass every range check. */
static struct srxe_qp_attr_wire good_attr(enum ibv_qp_state cur,
					  enum ibv_qp_state next)
{
	struct srxe_qp_attr_wire a = {
		.qp_state = next,
		.cur_qp_state = cur,
		.path_mtu = IBV_MTU_1024,
		.qkey = 0x11111111,
		.rq_psn = 0x123456,
		.sq_psn = 0x654321,
		.dest_qp_num = 0x11,
		.qp_access_flags = IBV_ACCESS_REMOTE_WRITE,
		.max_rd_atomic = 1,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 12,
		.port_num = 1,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.ah = { .is_global = 1, .port_num = 1, .hop_limit = 64 },
	};

	return a;
}

static int check(enum ibv_qp_type t, enum ibv_qp_state cur,
		 const struct srxe_qp_attr_wire *a, uint32_t mask, char *why)
{
	enum ibv_qp_state next = (enum ibv_qp_state)99;
	int ret;

	why[0] = '\0';
	ret = srxe_qp_check_modify(t, cur, a, mask, &lim, &next, why,
				   SRXE_QP_WHY_MAX);
	if (!ret)
		cr_assert_eq(next, mask & A(STATE) ? a->qp_state : cur);
	else
		cr_assert_neq(why[0], '\0', "refusal without a reason");
	return ret;
}

Test(qp_state, table_matches_the_iba_for_every_type_and_pair)
{
	for (size_t k = 0; k < 3; k++) {
		enum ibv_qp_type t = types[k];

		for (int c = S(RESET); c <= S(ERR); c++) {
			for (int n = S(RESET); n <= S(ERR); n++) {
				const struct expect *e = find(c, n);
				bool want = e || to_reset_or_err(c, n);

				cr_assert_eq(srxe_qp_transition_exists(t, c, n),
					     want, "%s %s->%s",
					     srxe_qp_type_name(t),
					     srxe_qp_state_name(c),
					     srxe_qp_state_name(n));
				cr_assert_eq(srxe_qp_required_attrs(t, c, n),
					     e ? e->req[tix(t)] : 0);
				cr_assert_eq(srxe_qp_optional_attrs(t, c, n),
					     e ? e->opt[tix(t)] : 0);
			}
		}
	}
}

Test(qp_state, every_transition_accepts_its_required_set_and_nothing_less)
{
	char why[SRXE_QP_WHY_MAX];

	for (size_t k = 0; k < 3; k++) {
		enum ibv_qp_type t = types[k];

		for (int c = S(RESET); c <= S(ERR); c++) {
			for (int n = S(RESET); n <= S(ERR); n++) {
				struct srxe_qp_attr_wire a = good_attr(c, n);
				uint32_t req = srxe_qp_required_attrs(t, c, n);
				uint32_t bits;

				if (!srxe_qp_transition_exists(t, c, n)) {
					cr_assert_eq(
						check(t, c, &a, A(STATE), why),
						-EINVAL);
					cr_assert(strstr(why, "not a legal"),
						  "%s", why);
					continue;
				}
				cr_assert_eq(
					check(t, c, &a, A(STATE) | req, why), 0,
					"%s", why);
				for (bits = req; bits; bits &= bits - 1) {
					uint32_t b = bits & -bits;
					char want[SRXE_QP_WHY_MAX];

					cr_assert_eq(
						check(t, c, &a,
						      (A(STATE) | req) & ~b,
						      why),
						-EINVAL);
					snprintf(want, sizeof(want),
						 "requires %s",
						 srxe_qp_attr_name(b));
					cr_assert(strstr(why, want), "%s", why);
				}
			}
		}
	}
}

Test(qp_state, optional_attributes_accepted_others_refused)
{
	const uint32_t apm = A(ALT_PATH) | A(PATH_MIG_STATE);
	char why[SRXE_QP_WHY_MAX];

	for (size_t k = 0; k < 3; k++) {
		enum ibv_qp_type t = types[k];

		for (int c = S(RESET); c <= S(ERR); c++) {
			for (int n = S(RESET); n <= S(ERR); n++) {
				struct srxe_qp_attr_wire a = good_attr(c, n);
				uint32_t req = srxe_qp_required_attrs(t, c, n);
				uint32_t opt = srxe_qp_optional_attrs(t, c, n);
				uint32_t base = A(STATE) | req;

				if (!srxe_qp_transition_exists(t, c, n))
					continue;
				cr_assert_eq(check(t, c, &a,
						   base | (opt & ~apm), why),
					     0, "%s", why);
				for (uint32_t b = A(CUR_STATE);
				     b <= A(DEST_QPN); b <<= 1) {
					int ret;

					if (b & base)
						continue;
					ret = check(t, c, &a, base | b, why);
					if (b & opt & ~apm) {
						cr_assert_eq(ret, 0, "%s", why);
					} else if (b & opt) {
						cr_assert_eq(ret, -EINVAL);
						cr_assert(
							strstr(why,
							       "no alternate"),
							"%s", why);
					} else {
						cr_assert_eq(ret, -EINVAL);
						cr_assert(
							strstr(why,
							       "does not take"),
							"%s", why);
						cr_assert(
							strstr(why,
							       srxe_qp_attr_name(
								       b)),
							"%s", why);
					}
				}
			}
		}
	}
}

Test(qp_state, reasons_name_transition_type_and_attribute)
{
	struct srxe_qp_attr_wire a = good_attr(S(INIT), S(RTR));
	uint32_t req = srxe_qp_required_attrs(IBV_QPT_RC, S(INIT), S(RTR));
	char why[SRXE_QP_WHY_MAX];

	check(IBV_QPT_RC, S(INIT), &a, (A(STATE) | req) & ~A(DEST_QPN), why);
	cr_assert_str_eq(why, "INIT->RTR on an RC QP requires IBV_QP_DEST_QPN");
	a = good_attr(S(RESET), S(INIT));
	check(IBV_QPT_UD, S(RESET), &a,
	      A(STATE) | A(PKEY_INDEX) | A(PORT) | A(QKEY) | A(ACCESS_FLAGS),
	      why);
	cr_assert_str_eq(
		why,
		"RESET->INIT on a UD QP does not take IBV_QP_ACCESS_FLAGS");
	a = good_attr(S(RESET), S(RTS));
	check(IBV_QPT_UC, S(RESET), &a, A(STATE), why);
	cr_assert_str_eq(why,
			 "RESET->RTS is not a legal transition for a UC QP");
}

Test(qp_state, no_state_bit_means_same_state)
{
	struct srxe_qp_attr_wire a = good_attr(S(RTS), S(RTS));
	char why[SRXE_QP_WHY_MAX];

	a.qp_state = S(ERR); /* ignored without IBV_QP_STATE */
	cr_assert_eq(check(IBV_QPT_RC, S(RTS), &a, A(MIN_RNR_TIMER), why), 0,
		     "%s", why);
	cr_assert_eq(check(IBV_QPT_RC, S(RTR), &a, A(MIN_RNR_TIMER), why),
		     -EINVAL, "RTR->RTR does not exist");
	cr_assert_eq(check(IBV_QPT_RC, S(RESET), &a, 0, why), 0, "%s", why);
}

Test(qp_state, cur_state_must_match_the_qp)
{
	struct srxe_qp_attr_wire a = good_attr(S(SQD), S(RTS));
	char why[SRXE_QP_WHY_MAX];

	cr_assert_eq(
		check(IBV_QPT_UD, S(SQD), &a, A(STATE) | A(CUR_STATE), why), 0,
		"%s", why);
	a.cur_qp_state = S(RTS);
	cr_assert_eq(
		check(IBV_QPT_UD, S(SQD), &a, A(STATE) | A(CUR_STATE), why),
		-EINVAL);
	cr_assert(strstr(why, "cur_qp_state says RTS but the QP is in SQD"),
		  "%s", why);
}

struct bad_value {
	const char *what;
	enum ibv_qp_state cur, next;
	uint32_t mask;
	void (*spoil)(struct srxe_qp_attr_wire *a);
	const char *reason;
};

static void port2(struct srxe_qp_attr_wire *a)
{
	a->port_num = 2;
}
static void port0(struct srxe_qp_attr_wire *a)
{
	a->port_num = 0;
}
static void pkey1(struct srxe_qp_attr_wire *a)
{
	a->pkey_index = 1;
}
static void access(struct srxe_qp_attr_wire *a)
{
	a->qp_access_flags = 1u << 7;
}
static void mtu0(struct srxe_qp_attr_wire *a)
{
	a->path_mtu = 0;
}
static void mtu6(struct srxe_qp_attr_wire *a)
{
	a->path_mtu = 6;
}
static void qpn25(struct srxe_qp_attr_wire *a)
{
	a->dest_qp_num = 1u << 24;
}
static void nogrh(struct srxe_qp_attr_wire *a)
{
	a->ah.is_global = 0;
}
static void avport(struct srxe_qp_attr_wire *a)
{
	a->ah.port_num = 2;
}
static void sgid(struct srxe_qp_attr_wire *a)
{
	a->ah.sgid_index = 4;
}
static void dest_rd(struct srxe_qp_attr_wire *a)
{
	a->max_dest_rd_atomic = 65;
}
static void rnr_timer(struct srxe_qp_attr_wire *a)
{
	a->min_rnr_timer = 32;
}
static void rd(struct srxe_qp_attr_wire *a)
{
	a->max_rd_atomic = 129;
}
static void timeout(struct srxe_qp_attr_wire *a)
{
	a->timeout = 32;
}
static void retry(struct srxe_qp_attr_wire *a)
{
	a->retry_cnt = 8;
}
static void rnr(struct srxe_qp_attr_wire *a)
{
	a->rnr_retry = 8;
}
static void state9(struct srxe_qp_attr_wire *a)
{
	a->qp_state = 9;
}

#define RC_INIT (A(STATE) | INIT_RC)
#define RC_RTR                                                                 \
	(A(STATE) | A(AV) | A(PATH_MTU) | A(DEST_QPN) | A(RQ_PSN) |            \
	 A(MAX_DEST_RD_ATOMIC) | A(MIN_RNR_TIMER))
#define RC_RTS                                                                 \
	(A(STATE) | A(TIMEOUT) | A(RETRY_CNT) | A(RNR_RETRY) | A(SQ_PSN) |     \
	 A(MAX_QP_RD_ATOMIC))

static const struct bad_value bad_values[] = {
	{ "port 2", S(RESET), S(INIT), RC_INIT, port2,
	  "port 2 does not exist" },
	{ "port 0", S(RESET), S(INIT), RC_INIT, port0,
	  "port 0 does not exist" },
	{ "pkey", S(RESET), S(INIT), RC_INIT, pkey1,
	  "pkey_index 1 is outside" },
	{ "access", S(RESET), S(INIT), RC_INIT, access,
	  "qp_access_flags 0x80" },
	{ "mtu 0", S(INIT), S(RTR), RC_RTR, mtu0, "path_mtu 0 is not" },
	{ "mtu 6", S(INIT), S(RTR), RC_RTR, mtu6, "path_mtu 6 is not" },
	{ "qpn", S(INIT), S(RTR), RC_RTR, qpn25, "dest_qp_num 0x1000000" },
	{ "no grh", S(INIT), S(RTR), RC_RTR, nogrh, "need a GRH" },
	{ "av port", S(INIT), S(RTR), RC_RTR, avport, "vector port 2" },
	{ "sgid", S(INIT), S(RTR), RC_RTR, sgid, "sgid_index 4 names no GID" },
	{ "dest rd", S(INIT), S(RTR), RC_RTR, dest_rd,
	  "max_dest_rd_atomic 65" },
	{ "rnr timer", S(INIT), S(RTR), RC_RTR, rnr_timer, "min_rnr_timer 32" },
	{ "rd", S(RTR), S(RTS), RC_RTS, rd, "max_rd_atomic 129 exceeds" },
	{ "timeout", S(RTR), S(RTS), RC_RTS, timeout, "timeout 32 is outside" },
	{ "retry", S(RTR), S(RTS), RC_RTS, retry, "retry_cnt 8 is outside" },
	{ "rnr", S(RTR), S(RTS), RC_RTS, rnr, "rnr_retry 8 is outside" },
	{ "state", S(RTR), S(RTS), RC_RTS, state9, "qp_state 9 is not" },
};

Test(qp_state, bad_values_are_refused_with_their_own_reason)
{
	char why[SRXE_QP_WHY_MAX];

	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]);
	     i++) {
		const struct bad_value *b = &bad_values[i];
		struct srxe_qp_attr_wire a = good_attr(b->cur, b->next);

		cr_assert_eq(check(IBV_QPT_RC, b->cur, &a, b->mask, why), 0,
			     "%s baseline: %s", b->what, why);
		b->spoil(&a);
		cr_assert_eq(check(IBV_QPT_RC, b->cur, &a, b->mask, why),
			     -EINVAL, "%s accepted", b->what);
		cr_assert(strstr(why, b->reason), "%s: got \"%s\"", b->what,
			  why);
	}
}

Test(qp_state, limits_are_inclusive)
{
	struct srxe_qp_attr_wire a = good_attr(S(INIT), S(RTR));
	char why[SRXE_QP_WHY_MAX];

	a.path_mtu = IBV_MTU_4096;
	a.max_dest_rd_atomic = 64;
	a.min_rnr_timer = 31;
	a.ah.sgid_index = 3;
	cr_assert_eq(check(IBV_QPT_RC, S(INIT), &a, RC_RTR, why), 0, "%s", why);
	a = good_attr(S(RTR), S(RTS));
	a.max_rd_atomic = 128;
	a.timeout = 31;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	cr_assert_eq(check(IBV_QPT_RC, S(RTR), &a, RC_RTS, why), 0, "%s", why);
}

/*
 * Issue #10: like kernel rxe, any flow label (UCX sets 0xffffffff on RoCE;
 * only 20 bits reach an IPv6 header) and any DLID (RoCE has no LIDs).
 */
Test(qp_state, roce_av_takes_any_flow_label_and_dlid)
{
	struct srxe_qp_attr_wire a = good_attr(S(INIT), S(RTR));
	char why[SRXE_QP_WHY_MAX];

	a.ah.flow_label = 0xffffffffu;
	a.ah.dlid = 49152;
	a.ah.sl = 15;
	a.ah.static_rate = 0xff;
	cr_assert_eq(check(IBV_QPT_RC, S(INIT), &a, RC_RTR, why), 0, "%s", why);
	cr_assert_eq(srxe_av_check(&a.ah, &lim, why, sizeof(why)), 0, "%s",
		     why);
}

Test(qp_state, unknown_mask_bits_type_and_state)
{
	struct srxe_qp_attr_wire a = good_attr(S(RTS), S(ERR));
	char why[SRXE_QP_WHY_MAX];

	cr_assert_eq(
		check(IBV_QPT_RC, S(RTS), &a, A(STATE) | A(RATE_LIMIT), why),
		-EINVAL);
	cr_assert(strstr(why, "does not know: 0x2000000"), "%s", why);
	cr_assert_eq(check(IBV_QPT_RAW_PACKET, S(RTS), &a, A(STATE), why),
		     -EINVAL);
	cr_assert(strstr(why, "QP type 8 is not RC, UC, UD, XRC_SEND or "
			      "XRC_RECV"),
		  "%s", why);
	cr_assert_eq(check(IBV_QPT_RC, (enum ibv_qp_state)7, &a, A(STATE), why),
		     -EINVAL);
	cr_assert(strstr(why, "invalid state 7"), "%s", why);
	cr_assert_eq(check(IBV_QPT_RC, S(RTS), &a, A(STATE) | A(CAP), why),
		     -EINVAL);
	cr_assert(strstr(why, "does not take IBV_QP_CAP"), "%s", why);
}

Test(qp_state, apply_copies_masked_fields_and_masks_psns)
{
	struct srxe_qp_attr_wire qp = { .qp_state = S(INIT), .qkey = 7 };
	struct srxe_qp_attr_wire a = good_attr(S(INIT), S(RTR));

	a.rq_psn = 0xff123456;
	a.sq_psn = 0xffabcdef;
	a.dest_qp_num = 0x12;
	srxe_qp_apply_attr(&qp, &a, RC_RTR | A(SQ_PSN));
	cr_assert_eq(qp.qp_state, S(RTR));
	cr_assert_eq(qp.rq_psn, 0x123456);
	cr_assert_eq(qp.sq_psn, 0xabcdef);
	cr_assert_eq(qp.dest_qp_num, 0x12);
	cr_assert_eq(qp.path_mtu, IBV_MTU_1024);
	cr_assert_eq(qp.ah.is_global, 1);
	cr_assert_eq(qp.qkey, 7, "QKEY not in the mask but copied");
	cr_assert_eq(qp.timeout, 0, "TIMEOUT not in the mask but copied");
}

Test(qp_state, names)
{
	cr_assert_str_eq(srxe_qp_state_name(IBV_QPS_RESET), "RESET");
	cr_assert_str_eq(srxe_qp_state_name(IBV_QPS_SQE), "SQE");
	cr_assert_str_eq(srxe_qp_state_name(IBV_QPS_ERR), "ERR");
	cr_assert_str_eq(srxe_qp_state_name(IBV_QPS_UNKNOWN), "invalid");
	cr_assert_str_eq(srxe_qp_type_name(IBV_QPT_UD), "UD");
	cr_assert_str_eq(srxe_qp_type_name(IBV_QPT_RAW_PACKET), "unsupported");
	cr_assert_str_eq(srxe_qp_attr_name(IBV_QP_DEST_QPN), "IBV_QP_DEST_QPN");
	cr_assert_str_eq(srxe_qp_attr_name(IBV_QP_STATE), "IBV_QP_STATE");
	cr_assert_str_eq(srxe_qp_attr_name(IBV_QP_RATE_LIMIT), "unknown");
	cr_assert_str_eq(srxe_qp_attr_name(IBV_QP_AV | IBV_QP_PORT), "unknown");
}

/* The masks ibv_xsrq_pingpong uses (the kernel's XRC_INI / XRC_TGT
 * columns): less than RC where one half never sends or never receives. */
Test(qp_state, xrc_initiator_and_target_columns)
{
	struct srxe_qp_attr_wire a;
	char why[SRXE_QP_WHY_MAX];
	const uint32_t init =
		A(STATE) | A(PKEY_INDEX) | A(PORT) | A(ACCESS_FLAGS);

	for (int t = IBV_QPT_XRC_SEND; t <= IBV_QPT_XRC_RECV; t++) {
		a = good_attr(S(RESET), S(INIT));
		cr_assert_eq(check(t, S(RESET), &a, init, why), 0, "%s", why);
	}
	a = good_attr(S(INIT), S(RTR));
	cr_assert_eq(
		check(IBV_QPT_XRC_SEND, S(INIT), &a,
		      A(STATE) | A(AV) | A(PATH_MTU) | A(DEST_QPN) | A(RQ_PSN),
		      why),
		0, "%s", why);
	cr_assert_eq(
		check(IBV_QPT_XRC_RECV, S(INIT), &a,
		      A(STATE) | A(AV) | A(PATH_MTU) | A(DEST_QPN) | A(RQ_PSN),
		      why),
		-EINVAL);
	cr_assert(strstr(why, "INIT->RTR on an XRC_RECV QP requires "
			      "IBV_QP_MIN_RNR_TIMER"),
		  "%s", why);
	a = good_attr(S(RTR), S(RTS));
	cr_assert_eq(check(IBV_QPT_XRC_RECV, S(RTR), &a,
			   A(STATE) | A(TIMEOUT) | A(SQ_PSN), why),
		     0, "%s", why);
	cr_assert_eq(check(IBV_QPT_XRC_SEND, S(RTR), &a,
			   A(STATE) | A(TIMEOUT) | A(SQ_PSN), why),
		     -EINVAL);
	cr_assert(strstr(why, "requires IBV_QP_RETRY_CNT"), "%s", why);
	/* what a target no longer requires it still accepts */
	cr_assert_eq(check(IBV_QPT_XRC_RECV, S(RTR), &a,
			   A(STATE) | A(TIMEOUT) | A(SQ_PSN) | A(RETRY_CNT) |
				   A(RNR_RETRY) | A(MAX_QP_RD_ATOMIC),
			   why),
		     0, "%s", why);
}
