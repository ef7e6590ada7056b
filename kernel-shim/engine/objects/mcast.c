// SPDX-License-Identifier: MIT
/* UD multicast group table (contract in mcast.h). */
#include "mcast.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4_mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

bool srxe_mgid_is_mcast(const uint8_t gid[SRXE_MGID_LEN], uint32_t *ipv4_be)
{
	uint32_t ip = 0;
	bool mc;

	if (!memcmp(gid, v4_mapped, sizeof(v4_mapped))) {
		memcpy(&ip, gid + 12, 4);
		/* 224.0.0.0/4: the top byte of the address is 0xe0-0xef */
		mc = (gid[12] & 0xf0) == 0xe0;
	} else {
		mc = gid[0] == 0xff;
	}
	if (ipv4_be)
		*ipv4_be = mc ? ip : 0;
	return mc;
}

void srxe_mgid_from_ipv4(uint8_t gid[SRXE_MGID_LEN], uint32_t ipv4_be)
{
	memcpy(gid, v4_mapped, sizeof(v4_mapped));
	memcpy(gid + 12, &ipv4_be, 4);
}

/* FNV-1a over the GID: the low bits of mapped IPv4 groups differ most. */
static unsigned int bucket_of(const uint8_t mgid[SRXE_MGID_LEN])
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < SRXE_MGID_LEN; i++)
		h = (h ^ mgid[i]) * 16777619u;
	return h % SRXE_MCAST_BUCKETS;
}

void srxe_mcast_init(struct srxe_mcast_tbl *t,
		     const struct srxe_mcast_limits *lim,
		     const struct srxe_mcast_ops *ops)
{
	memset(t, 0, sizeof(*t));
	t->lim = *lim;
	if (ops)
		t->ops = *ops;
}

static void leave(struct srxe_mcast_tbl *t, struct srxe_mcast_grp *g)
{
	if (g->join_handle >= 0 && t->ops.leave)
		t->ops.leave(t->ops.opaque, g->join_handle);
	g->join_handle = -1;
}

void srxe_mcast_destroy(struct srxe_mcast_tbl *t)
{
	for (unsigned int b = 0; b < SRXE_MCAST_BUCKETS; b++) {
		while (t->bucket[b]) {
			struct srxe_mcast_grp *g = t->bucket[b];

			t->bucket[b] = g->next;
			leave(t, g);
			free(g);
		}
	}
	t->ngroups = t->nattach = 0;
}

struct srxe_mcast_grp *srxe_mcast_find(const struct srxe_mcast_tbl *t,
				       const uint8_t mgid[SRXE_MGID_LEN])
{
	struct srxe_mcast_grp *g = t->bucket[bucket_of(mgid)];

	while (g && memcmp(g->mgid, mgid, SRXE_MGID_LEN))
		g = g->next;
	return g;
}

/* A new empty group, joined on the network and linked into the table. */
static int new_group(struct srxe_mcast_tbl *t,
		     const uint8_t mgid[SRXE_MGID_LEN],
		     struct srxe_mcast_grp **out)
{
	unsigned int b = bucket_of(mgid);
	struct srxe_mcast_grp *g;

	if (t->ngroups >= t->lim.max_grp)
		return -ENOMEM;
	g = calloc(1, sizeof(*g) + t->lim.max_qp_attach * sizeof(void *));
	if (!g)
		return -ENOMEM;
	memcpy(g->mgid, mgid, SRXE_MGID_LEN);
	g->join_handle = -1;
	if (t->ops.join) {
		int ret = t->ops.join(t->ops.opaque, mgid, &g->join_handle);

		if (ret) {
			free(g);
			return ret;
		}
	}
	g->next = t->bucket[b];
	t->bucket[b] = g;
	t->ngroups++;
	*out = g;
	return 0;
}

static void unlink_group(struct srxe_mcast_tbl *t, struct srxe_mcast_grp *g)
{
	struct srxe_mcast_grp **pp = &t->bucket[bucket_of(g->mgid)];

	while (*pp != g)
		pp = &(*pp)->next;
	*pp = g->next;
	t->ngroups--;
	leave(t, g);
	free(g);
}

int srxe_mcast_attach(struct srxe_mcast_tbl *t,
		      const uint8_t mgid[SRXE_MGID_LEN], void *member)
{
	struct srxe_mcast_grp *g;
	int ret;

	if (!t->lim.max_grp || !t->lim.max_qp_attach)
		return -EINVAL;
	g = srxe_mcast_find(t, mgid);
	if (g) {
		for (uint32_t i = 0; i < g->nmembers; i++)
			if (g->members[i] == member)
				return 0;
		if (g->nmembers >= t->lim.max_qp_attach)
			return -ENOMEM;
	}
	if (t->nattach >= t->lim.max_total_attach)
		return -ENOMEM;
	if (!g) {
		ret = new_group(t, mgid, &g);
		if (ret)
			return ret;
	}
	g->members[g->nmembers++] = member;
	t->nattach++;
	return 0;
}

/* Removes slot @i of @g; the group goes when it empties (rxe does too). */
static void drop_member(struct srxe_mcast_tbl *t, struct srxe_mcast_grp *g,
			uint32_t i)
{
	g->members[i] = g->members[--g->nmembers];
	t->nattach--;
	if (!g->nmembers)
		unlink_group(t, g);
}

int srxe_mcast_detach(struct srxe_mcast_tbl *t,
		      const uint8_t mgid[SRXE_MGID_LEN], void *member)
{
	struct srxe_mcast_grp *g = srxe_mcast_find(t, mgid);

	if (!g)
		return -EINVAL;
	for (uint32_t i = 0; i < g->nmembers; i++) {
		if (g->members[i] == member) {
			drop_member(t, g, i);
			return 0;
		}
	}
	return -EINVAL;
}

unsigned int srxe_mcast_detach_all(struct srxe_mcast_tbl *t, void *member)
{
	unsigned int n = 0;

	for (unsigned int b = 0; b < SRXE_MCAST_BUCKETS; b++) {
		struct srxe_mcast_grp *g = t->bucket[b], *next;

		for (; g; g = next) {
			next = g->next;
			for (uint32_t i = 0; i < g->nmembers; i++) {
				if (g->members[i] == member) {
					n++;
					drop_member(t, g, i);
					break;
				}
			}
		}
	}
	return n;
}
