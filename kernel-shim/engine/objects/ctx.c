// SPDX-License-Identifier: MIT
/*
 * Client contexts, address handles and asynchronous events; where a
 * destination is (this device or a peer).  Linking a context into the
 * engine and tearing it down with its objects is control.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdma/ib_user_verbs.h>

#include "objects.h"

bool srxe_ctx_in_arena(const struct srxe_eng_ctx *ctx, const void *p,
		       uint64_t bytes)
{
	const char *c = p;

	return c >= ctx->arena && bytes <= ctx->arena_bytes &&
	       (uint64_t)(c - ctx->arena) <= ctx->arena_bytes - bytes;
}

void srxe_ctx_async(struct srxe_eng_ctx *ctx, uint64_t element, uint32_t event)
{
	struct ib_uverbs_async_event_desc desc = {
		.element = element,
		.event_type = event,
	};

	if (ctx->async_fd < 0)
		return;
	/* A full or closed event channel must not stall the engine. */
	if (write(ctx->async_fd, &desc, sizeof(desc)) < 0)
		return;
}

void srxe_eng_port_event(struct srxe_engine *eng, uint32_t event)
{
	struct srxe_list *n, *t;

	for (unsigned int i = 0; i < eng->dev->nshards; i++) {
		srxe_list_for_each_safe(n, t, &eng->dev->shards[i]->ctxs)
		{
			struct srxe_eng_ctx *ctx =
				srxe_container_of(n, struct srxe_eng_ctx, node);

			srxe_ctx_async(ctx, 1, event);
		}
	}
}

int srxe_ctx_new(struct srxe_engine *eng, const struct srxe_eng_ctx_init *init,
		 struct srxe_eng_ctx **out, const char **why)
{
	struct srxe_eng_ctx *ctx;

	*why = NULL;
	if (!init->mem || !init->arena ||
	    init->arena_bytes < sizeof(struct srxe_ctx_page)) {
		*why = "context needs a memory client and a ring arena";
		return -EINVAL;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		*why = "out of memory";
		return -ENOMEM;
	}
	ctx->eng = eng;
	ctx->id = eng->dev->next_ctx_id++;
	ctx->mem = init->mem;
	ctx->arena = init->arena;
	ctx->page = init->arena;
	ctx->arena_bytes = init->arena_bytes;
	ctx->doorbell_fd = init->doorbell_fd;
	ctx->async_fd = init->async_fd;
	ctx->client_id = init->client_id;
	ctx->pid = init->pid;
	srxe_list_init(&ctx->qps);
	srxe_list_init(&ctx->cqs);
	srxe_list_init(&ctx->srqs);
	srxe_list_init(&ctx->ahs);
	*out = ctx;
	return 0;
}

void srxe_ctx_pin_first(struct srxe_eng_ctx *ctx)
{
	if (ctx->pinned)
		return;
	ctx->pin_first = true;
	ctx->eng->dev->pins_pending = true;
}

void srxe_ctx_free(struct srxe_eng_ctx *ctx)
{
	free(ctx);
}

void srxe_eng_ctx_set_ah_lookup(struct srxe_eng_ctx *ctx,
				srxe_eng_ah_lookup_fn fn, void *opaque)
{
	ctx->ah_lookup = fn;
	ctx->ah_opaque = opaque;
}

static const uint8_t v4_mapped_prefix[12] = { 0, 0, 0, 0, 0,	0,
					      0, 0, 0, 0, 0xff, 0xff };

/*
 * GID -> peer address (the QPN is the caller's).  The destination GID
 * decides the family, as the GIDs srxe advertises do: IPv4-mapped GIDs
 * (GID 1) are IPv4 peers; link-local GIDs (fe80::/10, GID 0) are IPv6
 * peers on the device's netdev, reached with its ifindex as scope, and
 * need the device to have a link-local address itself (its source);
 * IPv6 multicast groups (ff00::/8, docs/multicast.md) likewise.  The
 * source address is the device's own address of that family whatever
 * sgid_index says (kernel rxe would build a header of the sgid's family
 * around a destination of the other: srxe sends what the dgid names).
 * Global IPv6 GIDs are refused: srxe advertises none, and a link-local
 * source must not leave the link.
 */
int srxe_resolve_av(const struct srxe_engine *eng,
		    const struct srxe_ah_wire *av, struct srxe_dest *out,
		    const char **why)
{
	*out = (struct srxe_dest){ 0 };
	if (!memcmp(av->dgid, v4_mapped_prefix, sizeof(v4_mapped_prefix))) {
		memcpy(&out->ipv4_be, av->dgid + 12, 4);
		return 0;
	}
	if ((av->dgid[0] == 0xfe && (av->dgid[1] & 0xc0) == 0x80) ||
	    av->dgid[0] == 0xff) {
		if (!eng->cfg.ipv6) {
			*why = av->dgid[0] == 0xff
				       ? "destination GID is an IPv6 multicast "
					 "group, but this device's netdev has "
					 "no IPv6 link-local address (the "
					 "source)"
				       : "destination GID is IPv6 link-local, "
					 "but this device's netdev has no IPv6 "
					 "link-local address (its GID 0 is "
					 "IPv4-mapped)";
			return -EINVAL;
		}
		out->ipv6 = true;
		memcpy(out->ip6, av->dgid, 16);
		out->tclass = av->traffic_class;
		out->hop_limit = av->hop_limit;
		out->flow_label = av->flow_label & 0xfffff;
		return 0;
	}
	*why = "destination GID is neither IPv4-mapped, IPv6 link-local nor "
	       "an IPv6 multicast group";
	return -EINVAL;
}

bool srxe_dest_is_local(const struct srxe_engine *eng,
			const struct srxe_dest *dst)
{
	if (dst->ipv6)
		return eng->cfg.ipv6 &&
		       !memcmp(dst->ip6, eng->cfg.ipv6_ll, sizeof(dst->ip6));
	return dst->ipv4_be == eng->cfg.ipv4_be;
}

int srxe_eng_ah_create(struct srxe_eng_ctx *ctx, uint32_t pd_handle,
		       const struct srxe_ah_wire *av, struct srxe_eng_ah **out,
		       const char **why)
{
	struct srxe_eng_ah *ah;
	struct srxe_dest dest;
	int ret;

	*why = NULL;
	ret = srxe_resolve_av(ctx->eng, av, &dest, why);
	if (ret)
		return ret;
	ah = calloc(1, sizeof(*ah));
	if (!ah) {
		*why = "out of memory";
		return -ENOMEM;
	}
	ah->ctx = ctx;
	ah->pd = pd_handle;
	ah->av = *av;
	ah->dest = dest;
	srxe_list_add_tail(&ctx->ahs, &ah->node);
	ctx->eng->stats.ahs++;
	*out = ah;
	return 0;
}

void srxe_eng_ah_destroy(struct srxe_eng_ah *ah)
{
	if (!ah)
		return;
	srxe_list_del(&ah->node);
	ah->ctx->eng->stats.ahs--;
	free(ah);
}

/* Calls @fn for each CQ of process @pid's contexts until it returns true;
 * returns whether one did. */
static bool pid_cqs(struct srxe_engine *eng, uint32_t pid,
		    bool (*fn)(struct srxe_eng_cq *cq, void *arg), void *arg)
{
	struct srxe_list *c, *ct, *q, *qt;

	for (unsigned int i = 0; i < eng->dev->nshards; i++) {
		srxe_list_for_each_safe(c, ct, &eng->dev->shards[i]->ctxs)
		{
			struct srxe_eng_ctx *ctx =
				srxe_container_of(c, struct srxe_eng_ctx, node);

			if (ctx->pid != pid)
				continue;
			srxe_list_for_each_safe(q, qt, &ctx->cqs)
			{
				if (fn(srxe_container_of(q, struct srxe_eng_cq,
							 node),
				       arg))
					return true;
			}
		}
	}
	return false;
}

struct mark_walk {
	struct srxe_cq_mark *marks;
	const struct srxe_cq_mark *cmarks;
	unsigned int n, max;
};

static bool mark_one(struct srxe_eng_cq *cq, void *arg)
{
	struct mark_walk *w = arg;

	if (!srxe_cq_unconsumed_before(cq, cq->prod))
		return false;
	w->marks[w->n++] = (struct srxe_cq_mark){ cq->serial, cq->prod };
	return w->n == w->max;
}

unsigned int srxe_eng_unpolled_mark(struct srxe_engine *eng, uint32_t pid,
				    struct srxe_cq_mark *marks,
				    unsigned int max)
{
	struct mark_walk w = { .marks = marks, .max = max };

	if (max)
		pid_cqs(eng, pid, mark_one, &w);
	return w.n;
}

static bool still_unpolled(struct srxe_eng_cq *cq, void *arg)
{
	const struct mark_walk *w = arg;

	for (unsigned int i = 0; i < w->n; i++)
		if (w->cmarks[i].cq_serial == cq->serial)
			return srxe_cq_unconsumed_before(cq, w->cmarks[i].prod);
	return false;
}

bool srxe_eng_unpolled_since(struct srxe_engine *eng, uint32_t pid,
			     const struct srxe_cq_mark *marks, unsigned int n)
{
	struct mark_walk w = { .cmarks = marks, .n = n };

	return n && pid_cqs(eng, pid, still_unpolled, &w);
}
