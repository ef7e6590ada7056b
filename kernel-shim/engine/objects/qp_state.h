/* SPDX-License-Identifier: MIT */
/*
 * The QP state machine's admission rules: which ibv_modify_qp requests are
 * legal for an RC, UC or UD QP in a given state (IBA 11.2.4.2 and the
 * kernel's ib_modify_qp_is_ok table), and whether the attribute values are
 * within what srxe supports.
 *
 * Contract:
 *  - Pure: no state, no allocation, no locking; safe from any thread.
 *  - srxe_qp_check_modify() accepts a request iff the transition
 *    (current state -> next state) exists for the QP type, every required
 *    attribute is in the mask, no attribute outside required | optional is,
 *    and every value named by the mask is in range.  On refusal it returns
 *    -EINVAL and writes one sentence naming the first problem, e.g.
 *    "INIT->RTR on an RC QP requires IBV_QP_DEST_QPN".
 *  - IBV_QP_CUR_STATE, when given, must equal the QP's actual state (the
 *    consumer asserting its view); rxe trusts the claim, srxe checks it.
 *  - Alternate paths (IBV_QP_ALT_PATH, IBV_QP_PATH_MIG_STATE) are legal in
 *    the table but unsupported by srxe: refused with their own reason.
 *  - srxe_qp_apply_attr() never fails: PSNs and the destination QPN are
 *    masked to 24 bits as the wire carries them.
 */
#ifndef SRXE_ENGINE_QP_STATE_H
#define SRXE_ENGINE_QP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <infiniband/verbs.h>

#include "srxe/proto_verbs.h"

#define SRXE_PSN_MASK 0xffffffu
#define SRXE_QPN_MASK 0xffffffu
/* The 20 bits of an AV's flow label that an IPv6 header can carry. */
#define SRXE_FLOW_LABEL_MASK 0xfffffu
/* Room for any reason srxe_qp_check_modify() writes. */
#define SRXE_QP_WHY_MAX 160

/* What the device and its port allow; values as query_device/port say. */
struct srxe_qp_limits {
	enum ibv_mtu max_mtu;	     /* port max_mtu */
	uint32_t max_rd_atomic;	     /* device max_qp_rd_atom */
	uint32_t max_dest_rd_atomic; /* device max_qp_init_rd_atom */
	uint32_t pkey_tbl_len;
	uint32_t gid_tbl_len; /* entries that hold a GID (0..n-1) */
};

/* true when cur -> next is a transition of the table for this QP type. */
bool srxe_qp_transition_exists(enum ibv_qp_type type, enum ibv_qp_state cur,
			       enum ibv_qp_state next);
/* Attributes (enum ibv_qp_attr_mask bits) the transition must / may carry;
 * 0 when the transition does not exist.  IBV_QP_STATE is in neither.
 */
uint32_t srxe_qp_required_attrs(enum ibv_qp_type type, enum ibv_qp_state cur,
				enum ibv_qp_state next);
uint32_t srxe_qp_optional_attrs(enum ibv_qp_type type, enum ibv_qp_state cur,
				enum ibv_qp_state next);

/*
 * Validates a modify request against a QP of this type in state cur.
 * Returns 0 and the state the QP moves to in *next, or -EINVAL with a
 * reason in why[cap] (cap >= 1).
 */
int srxe_qp_check_modify(enum ibv_qp_type type, enum ibv_qp_state cur,
			 const struct srxe_qp_attr_wire *attr, uint32_t mask,
			 const struct srxe_qp_limits *lim,
			 enum ibv_qp_state *next, char *why, size_t cap);

/*
 * Checks an address vector (QP AV or CREATE_AH): RoCE needs a GRH, port 1,
 * a GID index inside the table; any flow label, DLID, SL, rate (as rxe).
 * 0 or -EINVAL with a reason.
 */
int srxe_av_check(const struct srxe_ah_wire *av,
		  const struct srxe_qp_limits *lim, char *why, size_t cap);

/* Copies the attributes named in mask (already checked) into qp. */
void srxe_qp_apply_attr(struct srxe_qp_attr_wire *qp,
			const struct srxe_qp_attr_wire *attr, uint32_t mask);

/* "RESET", "INIT", ..., "ERR"; "invalid" for a value outside the enum. */
const char *srxe_qp_state_name(enum ibv_qp_state state);
/* "RC", "UC", "UD"; "unsupported" for any other type. */
const char *srxe_qp_type_name(enum ibv_qp_type type);
/* "IBV_QP_DEST_QPN" for one mask bit; "unknown" otherwise. */
const char *srxe_qp_attr_name(uint32_t bit);

#endif /* SRXE_ENGINE_QP_STATE_H */
