// SPDX-License-Identifier: MIT
/*
 * Shortcut translation mode: the key is an encrypted pointer (descriptor
 * index) to the lowest table node covering the MR; translation decodes it,
 * checks the protection slot and walks only the levels below that node.
 */
#include <errno.h>

#include "mem_client.h"

static struct srxe_shortcut decode_key(const struct srxe_mem_client *c,
				       uint32_t key, bool is_rkey)
{
	enum srxe_key_kind kind = is_rkey ? SRXE_KEY_REMOTE : SRXE_KEY_LOCAL;

	return srxe_shortcut_unpack(srxe_codec_decode(&c->sc.codec, kind, key));
}

static void encode_keys(const struct srxe_mem_client *c,
			const struct srxe_shortcut *sc, unsigned access,
			struct srxe_mr_keys *keys)
{
	uint32_t plain = srxe_shortcut_pack(sc);

	keys->lkey = srxe_codec_encode(&c->sc.codec, SRXE_KEY_LOCAL, plain);
	/* Every MR has an rkey, as in rxe: ibv_rereg_mr() may grant remote
	 * rights later and peers keep the key (the rights are checked). */
	(void)access;
	keys->rkey = srxe_codec_encode(&c->sc.codec, SRXE_KEY_REMOTE, plain);
}

/*
 * Key value 0 is reserved to mean "no rkey"; a slot whose keys would be 0
 * is released (its generation moves on) and another one taken.
 */
static int sc_add_mr(struct srxe_mem_client *c,
		     const struct srxe_prot_entry *mr,
		     struct srxe_mr_keys *keys)
{
	struct srxe_pt_node *node =
		srxe_pt_covering_node(&c->space->pt, mr->va, mr->len);
	struct srxe_shortcut sc = { .level = node->level };
	struct srxe_desc *d;

	for (;;) {
		int err = srxe_desc_reserve(&c->sc.descs, node, &sc.desc,
					    &sc.slot);

		if (err)
			return err;
		d = c->sc.descs.v[sc.desc];
		sc.gen = d->block[sc.slot].gen;
		encode_keys(c, &sc, mr->access, keys);
		/* 0 is "no key"; a window's tag owns its 256 rkeys (mw.h) */
		if (keys->lkey && keys->rkey &&
		    !srxe_mw_tag_live(c, keys->rkey >> 8))
			break;
		srxe_desc_release(&c->sc.descs, &c->space->pt, sc.desc,
				  sc.slot);
	}
	d->block[sc.slot] = *mr;
	d->block[sc.slot].gen = sc.gen;
	d->block[sc.slot].state = SRXE_PROT_LIVE;
	return 0;
}

/* Protection entry of a decoded key, or NULL with *err set. */
static const struct srxe_prot_entry *
lookup_entry(const struct srxe_mem_client *c, const struct srxe_shortcut *sc,
	     const struct srxe_desc **desc, int *err)
{
	const struct srxe_desc *d = srxe_desc_get(&c->sc.descs, sc->desc);
	const struct srxe_prot_entry *e;

	if (!d || d->owner != c->id || d->level != sc->level ||
	    d->node->level != sc->level) {
		*err = SRXE_XLATE_BAD_KEY;
		return NULL;
	}
	e = &d->block[sc->slot];
	if (e->state != SRXE_PROT_LIVE || e->gen != sc->gen) {
		*err = SRXE_XLATE_STALE;
		return NULL;
	}
	*desc = d;
	return e;
}

static int sc_remove_mr(struct srxe_mem_client *c, uint32_t lkey,
			struct srxe_prot_entry *mr)
{
	struct srxe_shortcut sc = decode_key(c, lkey, false);
	const struct srxe_desc *d;
	int err;
	const struct srxe_prot_entry *e = lookup_entry(c, &sc, &d, &err);

	if (!e)
		return -EINVAL;
	*mr = *e;
	srxe_desc_release(&c->sc.descs, &c->space->pt, sc.desc, sc.slot);
	return 0;
}

/* Walk [va, va + len) below node, one leaf lookup per 2 MiB. */
static int walk_range(const struct srxe_mem_client *c,
		      const struct srxe_pt_node *node, uint64_t va,
		      uint64_t len, bool write, struct srxe_sg_out *out)
{
	const struct srxe_pt_node *leaf = NULL;

	while (len) {
		uint64_t offset = va & (SRXE_FRAME_SIZE - 1);
		uint64_t chunk = SRXE_FRAME_SIZE - offset;
		uint64_t pte;
		int err;

		if (!leaf || (va ^ leaf->va_base) >> srxe_pt_span_shift(1)) {
			leaf = srxe_pt_walk_to_leaf(node, va, &err);
			if (!leaf)
				return -err;
		}
		pte = leaf->e[srxe_pt_index(1, va)];
		err = srxe_pte_check(pte, write);
		if (err)
			return err;
		if (chunk > len)
			chunk = len;
		err = srxe_sg_append(
			out, srxe_frame_addr(c, srxe_pte_frame(pte), offset),
			(uint32_t)chunk);
		if (err)
			return err;
		va += chunk;
		len -= chunk;
	}
	return out->n;
}

static int sc_translate(const struct srxe_mem_client *c,
			const struct srxe_xlate_req *req, struct srxe_sg *sg,
			int max)
{
	struct srxe_shortcut sc = decode_key(c, req->key, req->is_rkey);
	struct srxe_sg_out out = { sg, 0, max };
	const struct srxe_desc *d;
	const struct srxe_prot_entry *e;
	uint64_t va;
	int err;

	e = lookup_entry(c, &sc, &d, &err);
	if (!e)
		return -err;
	err = srxe_prot_check(e, req->is_rkey, req->addr, req->len, req->access,
			      req->pd, &va);
	if (err)
		return err;
	if (srxe_access_on_demand(e->access))
		return -SRXE_XLATE_ON_DEMAND;
	return walk_range(c, d->node, va, req->len,
			  srxe_access_writes(req->access), &out);
}

static int sc_facts(const struct srxe_mem_client *c, uint32_t key, bool is_rkey,
		    struct srxe_xlate_facts *f)
{
	struct srxe_shortcut sc = decode_key(c, key, is_rkey);
	const struct srxe_desc *d;
	int err;
	const struct srxe_prot_entry *e = lookup_entry(c, &sc, &d, &err);

	if (!e)
		return -err;
	*f = (struct srxe_xlate_facts){
		.iova = e->iova,
		.len = e->len,
		.va = e->va,
		.pd = e->pd,
		.access = e->access,
		.node = d->node,
	};
	return 0;
}

static const struct srxe_prot_entry *
sc_entry(const struct srxe_mem_client *c, uint32_t key, bool is_rkey, int *err)
{
	struct srxe_shortcut sc = decode_key(c, key, is_rkey);
	const struct srxe_desc *d;

	return lookup_entry(c, &sc, &d, err);
}

static int sc_find_mr(const struct srxe_mem_client *c, uint32_t lkey,
		      struct srxe_prot_entry *mr)
{
	int err;
	const struct srxe_prot_entry *e = sc_entry(c, lkey, false, &err);

	if (!e)
		return -EINVAL;
	*mr = *e;
	return 0;
}

static bool sc_rkey_live(const struct srxe_mem_client *c, uint32_t key)
{
	int err;
	const struct srxe_prot_entry *e = sc_entry(c, key, true, &err);

	return e && (e->access & SRXE_ACCESS_REMOTE);
}

static struct srxe_prot_entry *sc_mr_entry(struct srxe_mem_client *c,
					   uint32_t lkey)
{
	int err;

	/* the descriptor's block is the client's own, writable memory */
	return (struct srxe_prot_entry *)sc_entry(c, lkey, false, &err);
}

static uint32_t sc_rkey_of(const struct srxe_mem_client *c, uint32_t lkey)
{
	uint32_t plain = srxe_codec_decode(&c->sc.codec, SRXE_KEY_LOCAL, lkey);

	return srxe_codec_encode(&c->sc.codec, SRXE_KEY_REMOTE, plain);
}

/* A bound window walks from the node covering the window itself. */
static int sc_window_walk(const struct srxe_mem_client *c,
			  const struct srxe_mw *mw, uint64_t va, uint64_t len,
			  bool write, struct srxe_sg_out *out)
{
	return walk_range(c, mw->node, va, len, write, out);
}

static uint64_t sc_key_state_bytes(const struct srxe_mem_client *c)
{
	return srxe_desc_table_bytes(&c->sc.descs);
}

static void sc_fini(struct srxe_mem_client *c)
{
	srxe_desc_table_destroy(&c->sc.descs, &c->space->pt);
	srxe_codec_wipe(&c->sc.codec);
}

const struct srxe_xlate_ops srxe_shortcut_ops = {
	.name = "shortcut",
	.add_mr = sc_add_mr,
	.remove_mr = sc_remove_mr,
	.translate = sc_translate,
	.entry = sc_entry,
	.facts = sc_facts,
	.key_state_bytes = sc_key_state_bytes,
	.find_mr = sc_find_mr,
	.mr_entry = sc_mr_entry,
	.rkey_of = sc_rkey_of,
	.rkey_live = sc_rkey_live,
	.window_walk = sc_window_walk,
	.fini = sc_fini,
};
