// SPDX-License-Identifier: MIT
/*
 * QP modify admission (contract in qp_state.h).  The transition table has
 * the shape of IBA 11.2.4.2 / the kernel's qp_state_table, restricted to
 * the transports srxe implements; the value checks follow rxe's
 * rxe_qp_chk_attr plus the ranges the IBA gives each field.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "qp_state.h"
#include "srxe/awf.h"

enum { T_RC, T_UC, T_UD, T_COUNT };
#define NSTATES (IBV_QPS_ERR + 1)

struct transition {
	bool valid;
	uint32_t req[T_COUNT];
	uint32_t opt[T_COUNT];
};

#define ANY_TO_RESET_ERR                                                       \
	[IBV_QPS_RESET] = { .valid = true }, [IBV_QPS_ERR] = { .valid = true }

/* Optional attributes shared by every "back to RTS" transition. */
#define TO_RTS_OPT_UD (IBV_QP_CUR_STATE | IBV_QP_QKEY)
#define TO_RTS_OPT_UC                                                          \
	(IBV_QP_CUR_STATE | IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS |            \
	 IBV_QP_PATH_MIG_STATE)
#define TO_RTS_OPT_RC (TO_RTS_OPT_UC | IBV_QP_MIN_RNR_TIMER)

static const struct transition table[NSTATES][NSTATES] = {
	[IBV_QPS_RESET] = {
		ANY_TO_RESET_ERR,
		[IBV_QPS_INIT] = {
			.valid = true,
			.req = {
				[T_RC] = IBV_QP_PKEY_INDEX | IBV_QP_PORT |
					 IBV_QP_ACCESS_FLAGS,
				[T_UC] = IBV_QP_PKEY_INDEX | IBV_QP_PORT |
					 IBV_QP_ACCESS_FLAGS,
				[T_UD] = IBV_QP_PKEY_INDEX | IBV_QP_PORT |
					 IBV_QP_QKEY,
			},
		},
	},
	[IBV_QPS_INIT] = {
		ANY_TO_RESET_ERR,
		[IBV_QPS_INIT] = {
			.valid = true,
			.opt = {
				[T_RC] = IBV_QP_PKEY_INDEX | IBV_QP_PORT |
					 IBV_QP_ACCESS_FLAGS,
				[T_UC] = IBV_QP_PKEY_INDEX | IBV_QP_PORT |
					 IBV_QP_ACCESS_FLAGS,
				[T_UD] = IBV_QP_PKEY_INDEX | IBV_QP_PORT |
					 IBV_QP_QKEY,
			},
		},
		[IBV_QPS_RTR] = {
			.valid = true,
			.req = {
				[T_RC] = IBV_QP_AV | IBV_QP_PATH_MTU |
					 IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
					 IBV_QP_MAX_DEST_RD_ATOMIC |
					 IBV_QP_MIN_RNR_TIMER,
				[T_UC] = IBV_QP_AV | IBV_QP_PATH_MTU |
					 IBV_QP_DEST_QPN | IBV_QP_RQ_PSN,
			},
			.opt = {
				[T_RC] = IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS |
					 IBV_QP_PKEY_INDEX,
				[T_UC] = IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS |
					 IBV_QP_PKEY_INDEX,
				[T_UD] = IBV_QP_PKEY_INDEX | IBV_QP_QKEY,
			},
		},
	},
	[IBV_QPS_RTR] = {
		ANY_TO_RESET_ERR,
		[IBV_QPS_RTS] = {
			.valid = true,
			.req = {
				[T_RC] = IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
					 IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
					 IBV_QP_MAX_QP_RD_ATOMIC,
				[T_UC] = IBV_QP_SQ_PSN,
				[T_UD] = IBV_QP_SQ_PSN,
			},
			.opt = {
				[T_RC] = TO_RTS_OPT_RC,
				[T_UC] = TO_RTS_OPT_UC,
				[T_UD] = TO_RTS_OPT_UD,
			},
		},
	},
	[IBV_QPS_RTS] = {
		ANY_TO_RESET_ERR,
		[IBV_QPS_RTS] = {
			.valid = true,
			.opt = {
				[T_RC] = TO_RTS_OPT_RC,
				[T_UC] = TO_RTS_OPT_UC,
				[T_UD] = TO_RTS_OPT_UD,
			},
		},
		[IBV_QPS_SQD] = {
			.valid = true,
			.opt = {
				[T_RC] = IBV_QP_EN_SQD_ASYNC_NOTIFY,
				[T_UC] = IBV_QP_EN_SQD_ASYNC_NOTIFY,
				[T_UD] = IBV_QP_EN_SQD_ASYNC_NOTIFY,
			},
		},
	},
	[IBV_QPS_SQD] = {
		ANY_TO_RESET_ERR,
		[IBV_QPS_RTS] = {
			.valid = true,
			.opt = {
				[T_RC] = TO_RTS_OPT_RC,
				[T_UC] = TO_RTS_OPT_UC,
				[T_UD] = TO_RTS_OPT_UD,
			},
		},
		[IBV_QPS_SQD] = {
			.valid = true,
			.opt = {
				[T_RC] = IBV_QP_PORT | IBV_QP_AV |
					 IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
					 IBV_QP_RNR_RETRY |
					 IBV_QP_MAX_QP_RD_ATOMIC |
					 IBV_QP_MAX_DEST_RD_ATOMIC |
					 IBV_QP_ALT_PATH |
					 IBV_QP_ACCESS_FLAGS |
					 IBV_QP_PKEY_INDEX |
					 IBV_QP_MIN_RNR_TIMER |
					 IBV_QP_PATH_MIG_STATE,
				[T_UC] = IBV_QP_AV | IBV_QP_ALT_PATH |
					 IBV_QP_ACCESS_FLAGS |
					 IBV_QP_PKEY_INDEX |
					 IBV_QP_PATH_MIG_STATE,
				[T_UD] = IBV_QP_PKEY_INDEX | IBV_QP_QKEY,
			},
		},
	},
	[IBV_QPS_SQE] = {
		ANY_TO_RESET_ERR,
		[IBV_QPS_RTS] = {
			.valid = true,
			.opt = {
				[T_UC] = IBV_QP_CUR_STATE |
					 IBV_QP_ACCESS_FLAGS,
				[T_UD] = IBV_QP_CUR_STATE | IBV_QP_QKEY,
			},
		},
	},
	[IBV_QPS_ERR] = {
		ANY_TO_RESET_ERR,
	},
};

#define KNOWN_ATTRS                                                            \
	(IBV_QP_STATE | IBV_QP_CUR_STATE | IBV_QP_EN_SQD_ASYNC_NOTIFY |        \
	 IBV_QP_ACCESS_FLAGS | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY | \
	 IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |     \
	 IBV_QP_RNR_RETRY | IBV_QP_RQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC |          \
	 IBV_QP_ALT_PATH | IBV_QP_MIN_RNR_TIMER | IBV_QP_SQ_PSN |              \
	 IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_PATH_MIG_STATE | IBV_QP_CAP |      \
	 IBV_QP_DEST_QPN)

/* The FLUSH rights (IBA 1.5) are accepted on the QP as rxe does; no MR
 * can grant FLUSH_PERSISTENT, so persistent flushes still fail.
 * ON_DEMAND grants nothing on a QP, but programs pass their MR flags
 * here (pyverbs test_odp) and the kernel stores any bits: kept, unused. */
#define KNOWN_ACCESS                                                           \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC |                   \
	 SRXE_ACCESS_FLUSH_GLOBAL | SRXE_ACCESS_FLUSH_PERSISTENT |             \
	 IBV_ACCESS_ON_DEMAND)

/* XRC initiators and targets follow RC's table, with the differences
 * xrc_required() applies (the kernel's qp_state_table columns). */
static int type_index(enum ibv_qp_type type)
{
	switch (type) {
	case IBV_QPT_RC:
	case IBV_QPT_XRC_SEND:
	case IBV_QPT_XRC_RECV:
		return T_RC;
	case IBV_QPT_UC:
		return T_UC;
	case IBV_QPT_UD:
		return T_UD;
	default:
		return -1;
	}
}

static bool state_ok(unsigned int state)
{
	return state < NSTATES;
}

static const struct transition *
lookup(enum ibv_qp_type type, enum ibv_qp_state cur, enum ibv_qp_state next)
{
	if (type_index(type) < 0 || !state_ok(cur) || !state_ok(next))
		return NULL;
	return table[cur][next].valid ? &table[cur][next] : NULL;
}

bool srxe_qp_transition_exists(enum ibv_qp_type type, enum ibv_qp_state cur,
			       enum ibv_qp_state next)
{
	return lookup(type, cur, next) != NULL;
}

/*
 * What XRC requires less than RC: an initiator receives no requests
 * (INIT->RTR without responder resources or RNR timer), a target sends
 * none (RTR->RTS with only its ACK timeout and PSN).  What it no longer
 * requires stays optional.
 */
static uint32_t xrc_required(enum ibv_qp_type type, enum ibv_qp_state cur,
			     enum ibv_qp_state next, uint32_t rc_req)
{
	if (type == IBV_QPT_XRC_SEND && cur == IBV_QPS_INIT &&
	    next == IBV_QPS_RTR)
		return rc_req & ~(uint32_t)(IBV_QP_MAX_DEST_RD_ATOMIC |
					    IBV_QP_MIN_RNR_TIMER);
	if (type == IBV_QPT_XRC_RECV && cur == IBV_QPS_RTR &&
	    next == IBV_QPS_RTS)
		return rc_req & (uint32_t)(IBV_QP_TIMEOUT | IBV_QP_SQ_PSN);
	return rc_req;
}

uint32_t srxe_qp_required_attrs(enum ibv_qp_type type, enum ibv_qp_state cur,
				enum ibv_qp_state next)
{
	const struct transition *t = lookup(type, cur, next);

	return t ? xrc_required(type, cur, next, t->req[type_index(type)]) : 0;
}

uint32_t srxe_qp_optional_attrs(enum ibv_qp_type type, enum ibv_qp_state cur,
				enum ibv_qp_state next)
{
	const struct transition *t = lookup(type, cur, next);
	uint32_t req;

	if (!t)
		return 0;
	req = t->req[type_index(type)];
	return t->opt[type_index(type)] |
	       (req & ~xrc_required(type, cur, next, req));
}

/* "an RC QP", "a UC QP", "a UD QP": reasons read as sentences. */
static const char *article(enum ibv_qp_type type)
{
	return type == IBV_QPT_RC || type == IBV_QPT_XRC_SEND ||
			       type == IBV_QPT_XRC_RECV
		       ? "an"
		       : "a";
}

static int say(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int say(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static uint32_t lowest_bit(uint32_t mask)
{
	return mask & -mask;
}

/* The state half of the check: exists, required present, nothing extra. */
static int check_table(enum ibv_qp_type type, enum ibv_qp_state cur,
		       enum ibv_qp_state next, uint32_t mask, char *why,
		       size_t cap)
{
	const char *tn = srxe_qp_type_name(type);
	uint32_t req, allowed, missing, extra;

	if (!srxe_qp_transition_exists(type, cur, next))
		return say(why, cap,
			   "%s->%s is not a legal transition for %s %s QP",
			   srxe_qp_state_name(cur), srxe_qp_state_name(next),
			   article(type), tn);
	req = srxe_qp_required_attrs(type, cur, next);
	allowed = req | srxe_qp_optional_attrs(type, cur, next) | IBV_QP_STATE;
	missing = req & ~mask;
	if (missing)
		return say(why, cap, "%s->%s on %s %s QP requires %s",
			   srxe_qp_state_name(cur), srxe_qp_state_name(next),
			   article(type), tn,
			   srxe_qp_attr_name(lowest_bit(missing)));
	extra = mask & ~allowed;
	if (extra)
		return say(why, cap, "%s->%s on %s %s QP does not take %s",
			   srxe_qp_state_name(cur), srxe_qp_state_name(next),
			   article(type), tn,
			   srxe_qp_attr_name(lowest_bit(extra)));
	return 0;
}

int srxe_av_check(const struct srxe_ah_wire *av,
		  const struct srxe_qp_limits *lim, char *why, size_t cap)
{
	if (!av->is_global)
		return say(why, cap,
			   "RoCE address vectors need a GRH (is_global = 1, "
			   "e.g. -g GID_INDEX for the pingpong tools)");
	if (av->port_num != 1)
		return say(
			why, cap,
			"address vector port %u does not exist (port 1 only)",
			av->port_num);
	if (av->sgid_index >= lim->gid_tbl_len)
		return say(why, cap,
			   "address vector sgid_index %u names no GID "
			   "(GID indices 0..%u)",
			   av->sgid_index, lim->gid_tbl_len - 1);
	/* Like rxe: flow_label, dlid, sl, static_rate, src_path_bits and
	 * hop_limit are not checked (UCX sets flow_label 0xffffffff on RoCE);
	 * an IPv6 header takes flow_label & SRXE_FLOW_LABEL_MASK. */
	return 0;
}

static int check_link(const struct srxe_qp_attr_wire *a, uint32_t mask,
		      const struct srxe_qp_limits *lim, char *why, size_t cap)
{
	if ((mask & IBV_QP_PORT) && a->port_num != 1)
		return say(why, cap, "port %u does not exist (port 1 only)",
			   a->port_num);
	if ((mask & IBV_QP_PKEY_INDEX) && a->pkey_index >= lim->pkey_tbl_len)
		return say(
			why, cap,
			"pkey_index %u is outside the P_Key table (%u entries)",
			a->pkey_index, lim->pkey_tbl_len);
	if ((mask & IBV_QP_PATH_MTU) &&
	    (a->path_mtu < IBV_MTU_256 || a->path_mtu > lim->max_mtu))
		return say(why, cap,
			   "path_mtu %u is not an MTU of this port (1..%u, "
			   "IBV_MTU_256..max_mtu)",
			   a->path_mtu, (unsigned int)lim->max_mtu);
	if ((mask & IBV_QP_DEST_QPN) && a->dest_qp_num > SRXE_QPN_MASK)
		return say(why, cap, "dest_qp_num 0x%x is wider than 24 bits",
			   a->dest_qp_num);
	if (mask & IBV_QP_AV)
		return srxe_av_check(&a->ah, lim, why, cap);
	return 0;
}

static int check_reliability(const struct srxe_qp_attr_wire *a, uint32_t mask,
			     const struct srxe_qp_limits *lim, char *why,
			     size_t cap)
{
	if ((mask & IBV_QP_ACCESS_FLAGS) &&
	    (a->qp_access_flags & ~KNOWN_ACCESS))
		return say(why, cap,
			   "qp_access_flags 0x%x has bits srxe does not know",
			   a->qp_access_flags);
	if ((mask & IBV_QP_MAX_QP_RD_ATOMIC) &&
	    a->max_rd_atomic > lim->max_rd_atomic)
		return say(why, cap,
			   "max_rd_atomic %u exceeds the device's "
			   "max_qp_rd_atom %u",
			   a->max_rd_atomic, lim->max_rd_atomic);
	if ((mask & IBV_QP_MAX_DEST_RD_ATOMIC) &&
	    a->max_dest_rd_atomic > lim->max_dest_rd_atomic)
		return say(why, cap,
			   "max_dest_rd_atomic %u exceeds the device's "
			   "max_qp_init_rd_atom %u",
			   a->max_dest_rd_atomic, lim->max_dest_rd_atomic);
	if ((mask & IBV_QP_MIN_RNR_TIMER) && a->min_rnr_timer > 31)
		return say(why, cap, "min_rnr_timer %u is outside 0..31",
			   a->min_rnr_timer);
	if ((mask & IBV_QP_TIMEOUT) && a->timeout > 31)
		return say(why, cap, "timeout %u is outside 0..31", a->timeout);
	if ((mask & IBV_QP_RETRY_CNT) && a->retry_cnt > 7)
		return say(why, cap, "retry_cnt %u is outside 0..7",
			   a->retry_cnt);
	if ((mask & IBV_QP_RNR_RETRY) && a->rnr_retry > 7)
		return say(why, cap,
			   "rnr_retry %u is outside 0..7 (7: infinite)",
			   a->rnr_retry);
	return 0;
}

static int check_values(const struct srxe_qp_attr_wire *a, uint32_t mask,
			const struct srxe_qp_limits *lim, char *why, size_t cap)
{
	int ret;

	if (mask & (IBV_QP_ALT_PATH | IBV_QP_PATH_MIG_STATE))
		return say(why, cap, "%s: srxe has no alternate paths (no APM)",
			   srxe_qp_attr_name(
				   lowest_bit(mask & (IBV_QP_ALT_PATH |
						      IBV_QP_PATH_MIG_STATE))));
	ret = check_link(a, mask, lim, why, cap);
	if (ret)
		return ret;
	return check_reliability(a, mask, lim, why, cap);
}

int srxe_qp_check_modify(enum ibv_qp_type type, enum ibv_qp_state cur,
			 const struct srxe_qp_attr_wire *attr, uint32_t mask,
			 const struct srxe_qp_limits *lim,
			 enum ibv_qp_state *next, char *why, size_t cap)
{
	enum ibv_qp_state to = cur;
	int ret;

	if (type_index(type) < 0)
		return say(why, cap,
			   "QP type %u is not RC, UC, UD, XRC_SEND or XRC_RECV",
			   type);
	if (!state_ok(cur))
		return say(why, cap, "the QP is in an invalid state %u", cur);
	if (mask & ~KNOWN_ATTRS)
		return say(why, cap,
			   "attr_mask has bits srxe does not know: 0x%x",
			   mask & ~KNOWN_ATTRS);
	if (mask & IBV_QP_STATE) {
		if (!state_ok(attr->qp_state))
			return say(why, cap, "qp_state %u is not a QP state",
				   attr->qp_state);
		to = attr->qp_state;
	}
	if ((mask & IBV_QP_CUR_STATE) && attr->cur_qp_state != cur)
		return say(why, cap, "cur_qp_state says %s but the QP is in %s",
			   srxe_qp_state_name(attr->cur_qp_state),
			   srxe_qp_state_name(cur));
	ret = check_table(type, cur, to, mask, why, cap);
	if (!ret)
		ret = check_values(attr, mask, lim, why, cap);
	if (!ret)
		*next = to;
	return ret;
}

void srxe_qp_apply_attr(struct srxe_qp_attr_wire *qp,
			const struct srxe_qp_attr_wire *a, uint32_t mask)
{
	if (mask & IBV_QP_STATE)
		qp->qp_state = a->qp_state;
	if (mask & IBV_QP_EN_SQD_ASYNC_NOTIFY)
		qp->en_sqd_async_notify = a->en_sqd_async_notify;
	if (mask & IBV_QP_ACCESS_FLAGS)
		qp->qp_access_flags = a->qp_access_flags;
	if (mask & IBV_QP_PKEY_INDEX)
		qp->pkey_index = a->pkey_index;
	if (mask & IBV_QP_PORT)
		qp->port_num = a->port_num;
	if (mask & IBV_QP_QKEY)
		qp->qkey = a->qkey;
	if (mask & IBV_QP_AV)
		qp->ah = a->ah;
	if (mask & IBV_QP_PATH_MTU)
		qp->path_mtu = a->path_mtu;
	if (mask & IBV_QP_TIMEOUT)
		qp->timeout = a->timeout;
	if (mask & IBV_QP_RETRY_CNT)
		qp->retry_cnt = a->retry_cnt;
	if (mask & IBV_QP_RNR_RETRY)
		qp->rnr_retry = a->rnr_retry;
	if (mask & IBV_QP_RQ_PSN)
		qp->rq_psn = a->rq_psn & SRXE_PSN_MASK;
	if (mask & IBV_QP_MAX_QP_RD_ATOMIC)
		qp->max_rd_atomic = a->max_rd_atomic;
	if (mask & IBV_QP_MIN_RNR_TIMER)
		qp->min_rnr_timer = a->min_rnr_timer;
	if (mask & IBV_QP_SQ_PSN)
		qp->sq_psn = a->sq_psn & SRXE_PSN_MASK;
	if (mask & IBV_QP_MAX_DEST_RD_ATOMIC)
		qp->max_dest_rd_atomic = a->max_dest_rd_atomic;
	if (mask & IBV_QP_DEST_QPN)
		qp->dest_qp_num = a->dest_qp_num & SRXE_QPN_MASK;
}

const char *srxe_qp_state_name(enum ibv_qp_state state)
{
	static const char *const names[NSTATES] = {
		[IBV_QPS_RESET] = "RESET", [IBV_QPS_INIT] = "INIT",
		[IBV_QPS_RTR] = "RTR",	   [IBV_QPS_RTS] = "RTS",
		[IBV_QPS_SQD] = "SQD",	   [IBV_QPS_SQE] = "SQE",
		[IBV_QPS_ERR] = "ERR",
	};

	return state_ok(state) ? names[state] : "invalid";
}

const char *srxe_qp_type_name(enum ibv_qp_type type)
{
	switch (type) {
	case IBV_QPT_RC:
		return "RC";
	case IBV_QPT_UC:
		return "UC";
	case IBV_QPT_UD:
		return "UD";
	case IBV_QPT_XRC_SEND:
		return "XRC_SEND";
	case IBV_QPT_XRC_RECV:
		return "XRC_RECV";
	default:
		return "unsupported";
	}
}

const char *srxe_qp_attr_name(uint32_t bit)
{
	static const char *const names[] = {
		"IBV_QP_STATE",
		"IBV_QP_CUR_STATE",
		"IBV_QP_EN_SQD_ASYNC_NOTIFY",
		"IBV_QP_ACCESS_FLAGS",
		"IBV_QP_PKEY_INDEX",
		"IBV_QP_PORT",
		"IBV_QP_QKEY",
		"IBV_QP_AV",
		"IBV_QP_PATH_MTU",
		"IBV_QP_TIMEOUT",
		"IBV_QP_RETRY_CNT",
		"IBV_QP_RNR_RETRY",
		"IBV_QP_RQ_PSN",
		"IBV_QP_MAX_QP_RD_ATOMIC",
		"IBV_QP_ALT_PATH",
		"IBV_QP_MIN_RNR_TIMER",
		"IBV_QP_SQ_PSN",
		"IBV_QP_MAX_DEST_RD_ATOMIC",
		"IBV_QP_PATH_MIG_STATE",
		"IBV_QP_CAP",
		"IBV_QP_DEST_QPN",
	};
	unsigned int i;

	if (!bit || (bit & (bit - 1)))
		return "unknown";
	i = __builtin_ctz(bit);
	return i < sizeof(names) / sizeof(names[0]) ? names[i] : "unknown";
}
