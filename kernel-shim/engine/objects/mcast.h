/* SPDX-License-Identifier: MIT */
/*
 * UD multicast groups of one device: which QPs are attached to which
 * multicast GID (ibv_attach_mcast), within the limits query_device
 * advertises.  A pure table: members are opaque pointers it never
 * dereferences, and the network membership of a group (IGMP/MLD) is
 * taken and released through two callbacks, so the table is tested on
 * its own (tests/unit/test_mcast.c).  The engine keeps one per device and
 * uses it under the engine lock; docs/multicast.md says how it is used.
 *
 * Errors, as kernel rxe (rxe_mcast.c) gives them:
 *  - attach: -EINVAL when the device has no multicast (max_grp 0),
 *    -ENOMEM past max_grp groups, max_qp_attach QPs in the group or
 *    max_total_attach attachments of the device; attaching a QP that is
 *    already attached succeeds and changes nothing; a failed join of a
 *    new group fails the attach with the join's error.
 *  - detach: -EINVAL when the group does not exist or the QP is not in it.
 */
#ifndef SRXE_ENGINE_MCAST_H
#define SRXE_ENGINE_MCAST_H

#include <stdbool.h>
#include <stdint.h>

#define SRXE_MGID_LEN	   16
#define SRXE_MCAST_BUCKETS 256

struct srxe_mcast_limits {
	uint32_t max_grp;	   /* groups of the device */
	uint32_t max_qp_attach;	   /* QPs in one group */
	uint32_t max_total_attach; /* attachments over every group */
};

/*
 * Network membership of a new group: join returns 0 and *@handle (a
 * socket descriptor in the engine, -1: no membership needed), which
 * leave gets back when the group goes, or a negative errno.  NULL hooks:
 * no network membership (tests, a device without the wire).
 */
struct srxe_mcast_ops {
	int (*join)(void *opaque, const uint8_t mgid[SRXE_MGID_LEN],
		    int *handle);
	void (*leave)(void *opaque, int handle);
	void *opaque;
};

struct srxe_mcast_grp {
	struct srxe_mcast_grp *next; /* hash chain */
	uint8_t mgid[SRXE_MGID_LEN];
	int join_handle; /* from ops.join, -1: none */
	uint32_t nmembers;
	void *members[]; /* max_qp_attach slots, [0, nmembers) used */
};

struct srxe_mcast_tbl {
	struct srxe_mcast_limits lim;
	struct srxe_mcast_ops ops;
	uint32_t ngroups;
	uint32_t nattach;
	struct srxe_mcast_grp *bucket[SRXE_MCAST_BUCKETS];
};

void srxe_mcast_init(struct srxe_mcast_tbl *t,
		     const struct srxe_mcast_limits *lim,
		     const struct srxe_mcast_ops *ops);
/* Leaves and frees every group (the device goes away). */
void srxe_mcast_destroy(struct srxe_mcast_tbl *t);

/* The group of @mgid, NULL when no QP is attached to it. */
struct srxe_mcast_grp *srxe_mcast_find(const struct srxe_mcast_tbl *t,
				       const uint8_t mgid[SRXE_MGID_LEN]);

int srxe_mcast_attach(struct srxe_mcast_tbl *t,
		      const uint8_t mgid[SRXE_MGID_LEN], void *member);
int srxe_mcast_detach(struct srxe_mcast_tbl *t,
		      const uint8_t mgid[SRXE_MGID_LEN], void *member);
/* Detaches @member from every group; returns how many it was in. */
unsigned int srxe_mcast_detach_all(struct srxe_mcast_tbl *t, void *member);

/*
 * Multicast GIDs (IBA A17.3 for RoCEv2): IPv6 multicast ff00::/8 or
 * IPv4-mapped multicast ::ffff:224.0.0.0/100.  *@ipv4_be gets the IPv4
 * group of a mapped GID (0 for an IPv6 one).
 */
bool srxe_mgid_is_mcast(const uint8_t gid[SRXE_MGID_LEN], uint32_t *ipv4_be);
/* ::ffff:a.b.c.d of an IPv4 address (network order). */
void srxe_mgid_from_ipv4(uint8_t gid[SRXE_MGID_LEN], uint32_t ipv4_be);

#endif
