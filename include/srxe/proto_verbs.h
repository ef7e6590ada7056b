/* SPDX-License-Identifier: MIT */
/*
 * Control messages for the data-path objects (issue #4): ring arena and
 * doorbell, CQ, QP, SRQ, AH.  Framing, errors and fd passing are those of
 * include/srxe/proto.h; ring layouts are in include/srxe/ring.h.
 *
 * Handles are srxed's (generation << 16 | slot, never 0) and only valid on
 * the connection that created them.  user_handle values are opaque to
 * srxed: it echoes them in events (the struct ibv_cq * / ibv_qp * /
 * ibv_srq * of the application, as the kernel does).
 */
#ifndef SRXE_PROTO_VERBS_H
#define SRXE_PROTO_VERBS_H

#include <stdint.h>

enum srxe_verbs_opcode {
	SRXE_OP_MAP_RINGS = 16,	   /* reply fd: ring arena memfd */
	SRXE_OP_GET_DOORBELL = 17, /* reply fd: doorbell eventfd */
	SRXE_OP_CREATE_CQ = 18,
	SRXE_OP_DESTROY_CQ = 19,
	SRXE_OP_RESIZE_CQ = 20,
	SRXE_OP_CREATE_QP = 21,
	SRXE_OP_MODIFY_QP = 22,
	SRXE_OP_QUERY_QP = 23,
	SRXE_OP_DESTROY_QP = 24,
	SRXE_OP_CREATE_SRQ = 25,
	SRXE_OP_MODIFY_SRQ = 26,
	SRXE_OP_QUERY_SRQ = 27,
	SRXE_OP_DESTROY_SRQ = 28,
	SRXE_OP_CREATE_AH = 29,
	SRXE_OP_DESTROY_AH = 30,
	SRXE_OP_VERBS_END, /* first unused */
};

/* MAP_RINGS: empty request. */
struct srxe_map_rings_resp {
	uint64_t arena_bytes;
};

/* GET_DOORBELL: empty request, empty reply body, one fd. */

/* A ring region inside the arena. */
struct srxe_ring_desc {
	uint64_t offset; /* page aligned, from the start of the arena */
	uint64_t bytes;	 /* srxe_ring_bytes(size, stride) */
	uint32_t size;	 /* slots, power of two */
	uint32_t stride; /* bytes per slot */
};

struct srxe_create_cq_req {
	uint32_t cqe; /* minimum number of entries asked for */
	uint32_t comp_vector;
	uint64_t user_handle;
	/* Issue #6: inode of the completion channel's fd, 0 for none
	 * (include/srxe/proto_event.h). */
	uint64_t channel_ino;
};

struct srxe_create_cq_resp {
	uint32_t cq_handle;
	uint32_t cqe; /* usable entries (ring size - 1 is fine) */
	struct srxe_ring_desc ring;
};

struct srxe_destroy_req {
	uint32_t handle;
	uint32_t reserved;
};

/* DESTROY_*: struct srxe_destroy_req, empty reply. */

/*
 * RESIZE_CQ: srxed allocates a new ring, copies the CQEs the provider has
 * not consumed yet into it (in order, from index 0), and returns it; the
 * provider switches to the new ring with cons = 0 and unmaps nothing (the
 * arena stays mapped).
 */
struct srxe_resize_cq_req {
	uint32_t cq_handle;
	uint32_t cqe;
};

struct srxe_resize_cq_resp {
	uint32_t cqe;
	uint32_t reserved;
	struct srxe_ring_desc ring;
};

struct srxe_qp_cap_wire {
	uint32_t max_send_wr;
	uint32_t max_recv_wr;
	uint32_t max_send_sge;
	uint32_t max_recv_sge;
	uint32_t max_inline_data;
	uint32_t reserved;
};

struct srxe_create_qp_req {
	uint32_t pd_handle;
	uint32_t qp_type; /* IBV_QPT_RC, IBV_QPT_UC, IBV_QPT_UD */
	uint32_t send_cq_handle;
	uint32_t recv_cq_handle;
	uint32_t srq_handle; /* 0: none */
	uint32_t sq_sig_all;
	struct srxe_qp_cap_wire cap;
	uint64_t user_handle;
};

struct srxe_create_qp_resp {
	uint32_t qp_handle;
	uint32_t qp_num;
	struct srxe_qp_cap_wire cap; /* what srxed granted (>= asked) */
	struct srxe_ring_desc sq;
	struct srxe_ring_desc rq; /* bytes == 0 when the QP uses an SRQ */
};

/* Address vector, the fields of struct ibv_ah_attr + ibv_global_route. */
struct srxe_ah_wire {
	uint8_t dgid[16];
	uint32_t flow_label;
	uint8_t sgid_index;
	uint8_t hop_limit;
	uint8_t traffic_class;
	uint8_t is_global;
	uint16_t dlid;
	uint8_t sl;
	uint8_t src_path_bits;
	uint8_t static_rate;
	uint8_t port_num;
	uint16_t reserved;
};

/* The fields of struct ibv_qp_attr that srxe uses, fixed width. */
struct srxe_qp_attr_wire {
	uint32_t qp_state;     /* enum ibv_qp_state */
	uint32_t cur_qp_state; /* enum ibv_qp_state */
	uint32_t path_mtu;     /* enum ibv_mtu */
	uint32_t qkey;
	uint32_t rq_psn;
	uint32_t sq_psn;
	uint32_t dest_qp_num;
	uint32_t qp_access_flags;
	uint16_t pkey_index;
	uint8_t en_sqd_async_notify;
	uint8_t sq_draining;
	uint8_t max_rd_atomic;
	uint8_t max_dest_rd_atomic;
	uint8_t min_rnr_timer;
	uint8_t port_num;
	uint8_t timeout;
	uint8_t retry_cnt;
	uint8_t rnr_retry;
	uint8_t reserved;
	struct srxe_ah_wire ah;
	struct srxe_qp_cap_wire cap;
};

struct srxe_modify_qp_req {
	uint32_t qp_handle;
	uint32_t attr_mask; /* enum ibv_qp_attr_mask */
	struct srxe_qp_attr_wire attr;
};

/* MODIFY_QP: empty reply. */

struct srxe_query_qp_req {
	uint32_t qp_handle;
	uint32_t attr_mask;
};

struct srxe_query_qp_resp {
	struct srxe_qp_attr_wire attr;
	uint32_t sq_sig_all;
	uint32_t reserved;
};

struct srxe_create_srq_req {
	uint32_t pd_handle;
	uint32_t max_wr;
	uint32_t max_sge;
	uint32_t srq_limit;
	uint64_t user_handle;
};

struct srxe_create_srq_resp {
	uint32_t srq_handle;
	uint32_t max_wr;
	uint32_t max_sge;
	uint32_t reserved;
	struct srxe_ring_desc ring;
};

struct srxe_modify_srq_req {
	uint32_t srq_handle;
	uint32_t attr_mask; /* IBV_SRQ_MAX_WR (resize), IBV_SRQ_LIMIT */
	uint32_t max_wr;
	uint32_t srq_limit;
};

/*
 * After a resize (IBV_SRQ_MAX_WR) the SRQ lives in @ring: the receives
 * that were posted and not yet taken were moved to its slots 0..posted-1
 * in their order (prod = posted, cons = 0), and the old ring is gone.
 * The provider holds its post lock across the call and posts on from
 * index @posted.  Without IBV_SRQ_MAX_WR the ring is unchanged, @ring
 * names it and @posted is 0.
 */
struct srxe_modify_srq_resp {
	uint32_t max_wr;
	uint32_t posted;
	struct srxe_ring_desc ring;
};

struct srxe_query_srq_resp {
	uint32_t max_wr;
	uint32_t max_sge;
	uint32_t srq_limit;
	uint32_t reserved;
};

/* QUERY_SRQ request: struct srxe_destroy_req (the handle). */

struct srxe_create_ah_req {
	uint32_t pd_handle;
	uint32_t reserved;
	struct srxe_ah_wire ah;
};

struct srxe_create_ah_resp {
	uint32_t ah_handle;
	uint32_t reserved;
};

#endif /* SRXE_PROTO_VERBS_H */
