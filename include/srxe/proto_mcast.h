/* SPDX-License-Identifier: MIT */
/*
 * UD multicast (issue #10): ibv_attach_mcast / ibv_detach_mcast.  Framing,
 * errors and sessions are those of include/srxe/proto.h; what membership
 * means (IGMP/MLD on the netdev, delivery to every attached QP of the
 * host) is in docs/multicast.md.
 *
 * Errors, as kernel rxe (with ib_core's checks) answers them: EINVAL for
 * an unknown QP handle, a QP that is not UD, a GID that is not multicast
 * (ff00::/8 or ::ffff:224.0.0.0/100), detaching a QP that is not
 * attached; ENOMEM at max_mcast_grp, max_mcast_qp_attach or
 * max_total_mcast_qp_attach.  Attaching twice succeeds.  DESTROY_QP of
 * a QP that is still attached answers EBUSY (as uverbs does); a client
 * that dies is detached from everything.
 */
#ifndef SRXE_PROTO_MCAST_H
#define SRXE_PROTO_MCAST_H

#include <stdint.h>

enum srxe_mcast_opcode {
	SRXE_OP_ATTACH_MCAST = 48,
	SRXE_OP_DETACH_MCAST = 49,
	SRXE_OP_MCAST_END, /* first unused */
};

/* ATTACH_MCAST and DETACH_MCAST; both replies are empty. */
struct srxe_mcast_req {
	uint8_t gid[16];
	uint32_t qp_handle;
	uint16_t lid; /* ignored on RoCE (IBA A17.5.6), as rxe does */
	uint16_t reserved;
};

#endif /* SRXE_PROTO_MCAST_H */
