// SPDX-License-Identifier: MIT
/* UD multicast group table: kernel-shim/engine/objects/mcast.c. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "engine/objects/mcast.h"

/* Stand-ins for QPs: the table never dereferences its members. */
static int qp[64];

struct hooks {
	int joins, leaves, next_handle, fail_with;
	int left[8];
};

static int hook_join(void *opaque, const uint8_t mgid[SRXE_MGID_LEN],
		     int *handle)
{
	struct hooks *h = opaque;

	(void)mgid;
	if (h->fail_with)
		return h->fail_with;
	h->joins++;
	*handle = h->next_handle++;
	return 0;
}

static void hook_leave(void *opaque, int handle)
{
	struct hooks *h = opaque;

	if (h->leaves < 8)
		h->left[h->leaves] = handle;
	h->leaves++;
}

static void v4_gid(uint8_t gid[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	memset(gid, 0, 16);
	gid[10] = gid[11] = 0xff;
	gid[12] = a;
	gid[13] = b;
	gid[14] = c;
	gid[15] = d;
}

static void init(struct srxe_mcast_tbl *t, struct hooks *h, uint32_t grp,
		 uint32_t per, uint32_t total)
{
	const struct srxe_mcast_limits lim = { grp, per, total };
	const struct srxe_mcast_ops ops = { hook_join, hook_leave, h };

	memset(h, 0, sizeof(*h));
	h->next_handle = 100;
	srxe_mcast_init(t, &lim, &ops);
}

Test(mcast, gid_classification)
{
	uint8_t g[16];
	uint32_t ip;

	v4_gid(g, 239, 1, 2, 3);
	cr_assert(srxe_mgid_is_mcast(g, &ip));
	cr_assert_eq(memcmp(&ip, g + 12, 4), 0);
	v4_gid(g, 224, 0, 0, 1);
	cr_assert(srxe_mgid_is_mcast(g, NULL));
	v4_gid(g, 223, 255, 255, 255);
	cr_assert_not(srxe_mgid_is_mcast(g, &ip));
	cr_assert_eq(ip, 0);
	v4_gid(g, 240, 0, 0, 1);
	cr_assert_not(srxe_mgid_is_mcast(g, NULL));
	v4_gid(g, 10, 0, 0, 1);
	cr_assert_not(srxe_mgid_is_mcast(g, NULL));
	memset(g, 0, 16);
	g[0] = 0xff;
	g[1] = 0x02;
	g[15] = 1;
	cr_assert(srxe_mgid_is_mcast(g, &ip));
	cr_assert_eq(ip, 0, "an IPv6 group has no IPv4 address");
	g[0] = 0xfe;
	g[1] = 0x80;
	cr_assert_not(srxe_mgid_is_mcast(g, NULL));
	{
		uint8_t want[16];

		srxe_mgid_from_ipv4(g, htonl(0xef010203));
		v4_gid(want, 239, 1, 2, 3);
		cr_assert_eq(memcmp(g, want, 16), 0);
	}
}

Test(mcast, attach_detach_and_membership)
{
	struct srxe_mcast_tbl t;
	struct hooks h;
	struct srxe_mcast_grp *g;
	uint8_t a[16], b[16];

	init(&t, &h, 4, 4, 16);
	v4_gid(a, 239, 0, 0, 1);
	v4_gid(b, 239, 0, 0, 2);
	cr_assert_null(srxe_mcast_find(&t, a));
	cr_assert_eq(srxe_mcast_attach(&t, a, &qp[0]), 0);
	cr_assert_eq(h.joins, 1, "first attach joins the group");
	cr_assert_eq(srxe_mcast_attach(&t, a, &qp[1]), 0);
	cr_assert_eq(srxe_mcast_attach(&t, a, &qp[0]), 0, "twice is fine");
	cr_assert_eq(h.joins, 1, "one membership per group");
	cr_assert_eq(srxe_mcast_attach(&t, b, &qp[0]), 0);
	cr_assert_eq(h.joins, 2);
	cr_assert_eq(t.ngroups, 2);
	cr_assert_eq(t.nattach, 3, "a repeated attach is not counted");
	g = srxe_mcast_find(&t, a);
	cr_assert_not_null(g);
	cr_assert_eq(g->nmembers, 2);
	cr_assert_eq(g->join_handle, 100);

	cr_assert_eq(srxe_mcast_detach(&t, a, &qp[2]), -EINVAL, "not attached");
	cr_assert_eq(srxe_mcast_detach(&t, a, &qp[0]), 0);
	cr_assert_eq(srxe_mcast_detach(&t, a, &qp[0]), -EINVAL, "detached");
	cr_assert_eq(h.leaves, 0, "qp[1] still holds the group");
	cr_assert_eq(srxe_mcast_detach(&t, a, &qp[1]), 0);
	cr_assert_eq(h.leaves, 1, "the last detach leaves");
	cr_assert_eq(h.left[0], 100);
	cr_assert_null(srxe_mcast_find(&t, a));
	cr_assert_eq(srxe_mcast_detach(&t, a, &qp[1]), -EINVAL, "no group");
	cr_assert_eq(t.ngroups, 1);
	cr_assert_eq(t.nattach, 1);
	srxe_mcast_destroy(&t);
	cr_assert_eq(h.leaves, 2, "destroy leaves what is left");
	cr_assert_eq(t.ngroups, 0);
}

Test(mcast, limits_as_rxe)
{
	struct srxe_mcast_tbl t;
	struct hooks h;
	uint8_t g[16];

	init(&t, &h, 2, 3, 5);
	v4_gid(g, 239, 0, 0, 1);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(srxe_mcast_attach(&t, g, &qp[i]), 0);
	cr_assert_eq(srxe_mcast_attach(&t, g, &qp[3]), -ENOMEM,
		     "max_qp_attach");
	cr_assert_eq(srxe_mcast_attach(&t, g, &qp[0]), 0,
		     "an attached QP at the limit still succeeds");
	v4_gid(g, 239, 0, 0, 2);
	cr_assert_eq(srxe_mcast_attach(&t, g, &qp[0]), 0);
	cr_assert_eq(srxe_mcast_attach(&t, g, &qp[1]), 0);
	cr_assert_eq(srxe_mcast_attach(&t, g, &qp[2]), -ENOMEM,
		     "max_total_attach");
	v4_gid(g, 239, 0, 0, 3);
	cr_assert_eq(srxe_mcast_attach(&t, g, &qp[9]), -ENOMEM,
		     "max_total_attach before max_grp");
	v4_gid(g, 239, 0, 0, 2);
	cr_assert_eq(srxe_mcast_detach(&t, g, &qp[1]), 0);
	v4_gid(g, 239, 0, 0, 3);
	cr_assert_eq(srxe_mcast_attach(&t, g, &qp[9]), -ENOMEM, "max_grp");
	cr_assert_null(srxe_mcast_find(&t, g), "no half-made group");
	cr_assert_eq(h.joins, 2);
	srxe_mcast_destroy(&t);

	init(&t, &h, 0, 0, 0);
	cr_assert_eq(srxe_mcast_attach(&t, g, &qp[0]), -EINVAL,
		     "no multicast: EINVAL as rxe");
}

Test(mcast, failed_join_fails_the_attach)
{
	struct srxe_mcast_tbl t;
	struct hooks h;
	uint8_t g[16];

	init(&t, &h, 4, 4, 4);
	h.fail_with = -ENOBUFS;
	v4_gid(g, 239, 0, 0, 1);
	cr_assert_eq(srxe_mcast_attach(&t, g, &qp[0]), -ENOBUFS);
	cr_assert_null(srxe_mcast_find(&t, g));
	cr_assert_eq(t.ngroups, 0);
	cr_assert_eq(t.nattach, 0);
	h.fail_with = 0;
	cr_assert_eq(srxe_mcast_attach(&t, g, &qp[0]), 0);
	srxe_mcast_destroy(&t);
}

Test(mcast, detach_all_of_a_qp)
{
	struct srxe_mcast_tbl t;
	struct hooks h;
	uint8_t g[16];

	init(&t, &h, 64, 8, 256);
	for (int i = 0; i < 40; i++) {
		v4_gid(g, 239, 1, 0, (uint8_t)i);
		cr_assert_eq(srxe_mcast_attach(&t, g, &qp[0]), 0);
		if (i % 2)
			cr_assert_eq(srxe_mcast_attach(&t, g, &qp[1]), 0);
	}
	cr_assert_eq(srxe_mcast_detach_all(&t, &qp[0]), 40);
	cr_assert_eq(t.ngroups, 20, "groups qp[1] is in stay");
	cr_assert_eq(h.leaves, 20, "the others are left");
	cr_assert_eq(t.nattach, 20);
	for (int i = 0; i < 40; i++) {
		struct srxe_mcast_grp *grp;

		v4_gid(g, 239, 1, 0, (uint8_t)i);
		grp = srxe_mcast_find(&t, g);
		if (i % 2) {
			cr_assert_not_null(grp);
			cr_assert_eq(grp->nmembers, 1);
			cr_assert_eq(grp->members[0], &qp[1]);
		} else {
			cr_assert_null(grp);
		}
	}
	cr_assert_eq(srxe_mcast_detach_all(&t, &qp[0]), 0);
	cr_assert_eq(srxe_mcast_detach_all(&t, &qp[1]), 20);
	cr_assert_eq(t.ngroups, 0);
	cr_assert_eq(t.nattach, 0);
	cr_assert_eq(h.joins, h.leaves);
}

Test(mcast, no_hooks_means_no_membership)
{
	struct srxe_mcast_tbl t;
	const struct srxe_mcast_limits lim = { 2, 2, 4 };
	uint8_t g[16];

	srxe_mcast_init(&t, &lim, NULL);
	v4_gid(g, 239, 0, 0, 1);
	cr_assert_eq(srxe_mcast_attach(&t, g, &qp[0]), 0);
	cr_assert_eq(srxe_mcast_find(&t, g)->join_handle, -1);
	cr_assert_eq(srxe_mcast_detach(&t, g, &qp[0]), 0);
	srxe_mcast_destroy(&t);
}
