/* SPDX-License-Identifier: MIT */
/*
 * XRC control messages (issue #10): XRC domains, XRC SRQs and XRC target
 * QPs.  Framing, errors and fd passing are those of include/srxe/proto.h;
 * opcodes 50-57 are reserved for XRC.
 *
 * What is *not* here, because the issue #4 opcodes already serve it:
 *  - XRC_SEND (initiator) QPs: CREATE_QP with qp_type IBV_QPT_XRC_SEND,
 *    recv_cq_handle 0 (or any CQ, ignored), srq_handle 0, no receive caps;
 *    the reply's rq ring has bytes == 0.
 *  - MODIFY/QUERY/DESTROY of an XRC SRQ or XRC target QP: the SRQ and QP
 *    opcodes with the handle this file's CREATE replies give.
 *
 * XRC domains are device-wide objects, like the kernel's: OPEN_XRCD with a
 * file descriptor names the domain by the file's inode, so contexts of
 * different processes that open the same file share one domain (their
 * XRC SRQs and target QPs can serve each other).  Without an fd every
 * OPEN_XRCD makes a new, unshared domain.  The handle is per connection;
 * the domain lives while any connection holds a handle to it.
 */
#ifndef SRXE_PROTO_XRC_H
#define SRXE_PROTO_XRC_H

#include <stdint.h>

#include "srxe/proto_verbs.h"

enum srxe_xrc_opcode {
	SRXE_OP_OPEN_XRCD = 50,	     /* request fd: the domain's file, if any */
	SRXE_OP_CLOSE_XRCD = 51,     /* struct srxe_destroy_req, empty reply */
	SRXE_OP_CREATE_XSRQ = 52,    /* XRC SRQ */
	SRXE_OP_CREATE_XRC_TGT = 53, /* XRC_RECV (target) QP */
	SRXE_OP_XRC_END,	     /* first unused; 54-57 stay reserved */
};

/*
 * OPEN_XRCD.  has_fd 1: exactly one fd travels with the request (the
 * ibv_xrcd_init_attr.fd of the application, any file it has open); 0: no
 * fd (fd = -1 in verbs).  oflags: O_CREAT (make the domain if the file
 * has none) and O_EXCL (fail with EEXIST if it has one), as the kernel;
 * without O_CREAT a file with no domain is EINVAL.
 */
struct srxe_open_xrcd_req {
	uint32_t oflags;
	uint32_t has_fd;
};

struct srxe_open_xrcd_resp {
	uint32_t xrcd_handle;
	uint32_t reserved;
};

struct srxe_create_xsrq_req {
	uint32_t pd_handle;
	uint32_t xrcd_handle;
	uint32_t cq_handle; /* receive completions of the SRQ */
	uint32_t max_wr;
	uint32_t max_sge;
	uint32_t srq_limit;
	uint64_t user_handle;
};

struct srxe_create_xsrq_resp {
	uint32_t srq_handle;
	uint32_t srq_num; /* what an XRCETH names; unique in this srxed */
	uint32_t max_wr;
	uint32_t max_sge;
	struct srxe_ring_desc ring;
};

struct srxe_create_xrc_tgt_req {
	uint32_t xrcd_handle;
	uint32_t reserved;
	uint64_t user_handle;
};

struct srxe_create_xrc_tgt_resp {
	uint32_t qp_handle;
	uint32_t qp_num;
};

#endif /* SRXE_PROTO_XRC_H */
