/* SPDX-License-Identifier: MIT */
/*
 * The device srxed emulates: the limits it enforces and the attributes it
 * answers QUERY_DEVICE and QUERY_PORT with.  Every limit reported here is
 * one srxed enforces (now or in the issue that adds the object), so that
 * applications sizing themselves from query_device never meet a lower,
 * hidden limit.
 */
#ifndef SRXED_DEVATTR_H
#define SRXED_DEVATTR_H

#include <stddef.h>
#include <infiniband/verbs.h>

#include "srxed.h"

#define SRXED_MAX_PD	65536u
#define SRXED_MAX_QP	65536u
#define SRXED_MAX_QP_WR 16384u
#define SRXED_MAX_SGE	32u
#define SRXED_MAX_CQ	16384u
/* Kernel rxe allows 32767; libfabric's verbs;ofi_rxm asks for (tx + rx
 * depth) * FI_UNIVERSE_SIZE = 262144 entries by default and fails on rxe
 * (docs/compat.md).  2^20 - 1 entries are a 64 MiB ring: a quarter of the
 * ring arena. */
#define SRXED_MAX_CQE	  1048575u
#define SRXED_MAX_SRQ	  16384u
#define SRXED_MAX_SRQ_WR  16384u
#define SRXED_MAX_AH	  32768u
#define SRXED_MAX_RD_ATOM 128u
#define SRXED_MAX_INLINE  256u
/*
 * UD multicast (docs/multicast.md).  Groups: each holds one membership
 * socket in srxed, so a few hundred; QPs per group as rxe
 * (RXE_MAX_MCAST_QP_ATTACH); attachments over all groups bounded so
 * that a client cannot make srxed walk huge member lists per packet.
 */
#define SRXED_MAX_MCAST_GRP		256u
#define SRXED_MAX_MCAST_QP_ATTACH	56u
#define SRXED_MAX_TOTAL_MCAST_QP_ATTACH 4096u
/* max_mr and max_mr_size come from --max-mrs and --max-reg-bytes. */
#define SRXED_MAX_MSG_SZ 0x80000000u

/*
 * Reads the netdev's MAC and MTU from sysfs and derives the node GUID.
 * Returns 0, or a negative errno with a message in err[cap].
 */
int srxed_device_probe(struct srxed *d, char *err, size_t cap);

void srxed_query_device(const struct srxed *d,
			struct srxe_query_device_resp *out);
/* Re-reads the netdev MTU so that an MTU change shows up in active_mtu. */
void srxed_query_port(struct srxed *d, struct ibv_port_attr *out);

#endif /* SRXED_DEVATTR_H */
