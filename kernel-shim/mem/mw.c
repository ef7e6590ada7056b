// SPDX-License-Identifier: MIT
/*
 * Memory windows: allocation, binding, invalidation and translation of
 * window rkeys (key format and reasoning in mw.h; rules in translate.h).
 * The checks follow IBA 10.6.7 and kernel rxe's rxe_mw.c; where srxe is
 * stricter it says so in docs/memory-windows.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mem_client.h"

#define MW_TAG_MASK 0xffffffu
#define MW_ACCESS_OK                                                           \
	(IBV_ACCESS_LOCAL_WRITE | SRXE_ACCESS_REMOTE | IBV_ACCESS_ZERO_BASED)

static uint8_t random_key_byte(void)
{
	uint8_t b = 0;

	if (getrandom(&b, 1, 0) != 1)
		b = 0x3c;
	return b;
}

static uint32_t tag_of(const struct srxe_mem_client *c, uint32_t idx,
		       uint8_t gen)
{
	if (c->mode == SRXE_MEM_MTT)
		return MW_TAG_MASK - idx;
	return srxe_codec_encode24(&c->sc.codec, idx << 8 | gen);
}

/* The allocated window whose tag is tag, or NULL. */
static struct srxe_mw *mw_by_tag(const struct srxe_mem_client *c, uint32_t tag)
{
	const struct srxe_mw_table *t = &c->mws;
	uint32_t idx, gen = 0;
	struct srxe_mw *mw;

	if (c->mode == SRXE_MEM_MTT) {
		idx = MW_TAG_MASK - (tag & MW_TAG_MASK);
	} else {
		uint32_t plain = srxe_codec_decode24(&c->sc.codec, tag);

		idx = plain >> 8;
		gen = plain & 0xff;
	}
	if (idx >= t->n)
		return NULL;
	mw = &t->v[idx];
	if (mw->state == SRXE_MW_NONE || mw->tag != (tag & MW_TAG_MASK))
		return NULL;
	if (c->mode == SRXE_MEM_SHORTCUT && mw->gen != gen)
		return NULL;
	return mw;
}

bool srxe_mw_tag_live(const struct srxe_mem_client *c, uint32_t tag)
{
	return c->mws.live && mw_by_tag(c, tag);
}

/* Some key tag << 8 | b is the rkey of a live MR. */
static bool tag_clashes(const struct srxe_mem_client *c, uint32_t tag)
{
	if (!c->ops->rkey_live)
		return false;
	for (uint32_t b = 0; b < 256; b++)
		if (c->ops->rkey_live(c, tag << 8 | b))
			return true;
	return false;
}

/* A free index, reused as late as possible; -1 when full. */
static int64_t pick_index(struct srxe_mw_table *t)
{
	if (t->live == t->n) {
		if (t->n == SRXE_MEM_MAX_MWS)
			return -1;
		if (t->n == t->cap) {
			uint32_t cap = t->cap ? t->cap * 2 : 64;
			struct srxe_mw *v = realloc(t->v, cap * sizeof(*v));

			if (!v)
				return -1;
			memset(v + t->cap, 0, (cap - t->cap) * sizeof(*v));
			t->v = v;
			t->cap = cap;
		}
		return t->n++;
	}
	for (uint32_t i = 0; i < t->n; i++) {
		uint32_t idx = (t->cursor + i) % t->n;

		if (t->v[idx].state == SRXE_MW_NONE)
			return idx;
	}
	return -1;
}

int srxe_mem_mw_alloc(struct srxe_mem_client *c, uint32_t pd, unsigned type,
		      uint32_t *id, uint32_t *rkey)
{
	struct srxe_mw_table *t = &c->mws;
	struct srxe_mw *mw;
	int64_t idx;
	uint8_t gen;
	uint32_t tag = 0;
	int tries;

	if (type != IBV_MW_TYPE_1 && type != IBV_MW_TYPE_2)
		return -EINVAL;
	idx = pick_index(t);
	if (idx < 0)
		return -ENOMEM;
	mw = &t->v[idx];
	gen = mw->gen;
	for (tries = 0; tries < 256; tries++, gen++) {
		tag = tag_of(c, (uint32_t)idx, gen);
		if (tag && !tag_clashes(c, tag))
			break;
	}
	if (tries == 256)
		return -ENOMEM;
	memset(mw, 0, sizeof(*mw));
	mw->state = SRXE_MW_UNBOUND;
	mw->type = (uint8_t)type;
	mw->gen = gen;
	mw->key = random_key_byte();
	mw->pd = pd;
	mw->tag = tag;
	t->live++;
	t->cursor = (uint32_t)idx + 1;
	/* no cached rkey can name it yet; the table may have moved */
	srxe_pt_changed(&c->space->pt);
	*id = (uint32_t)idx;
	*rkey = tag << 8 | mw->key;
	return 0;
}

static void unbind(struct srxe_mem_client *c, struct srxe_mw *mw)
{
	srxe_pt_changed(&c->space->pt); /* its rkey dies (tlb.h) */
	if (mw->state == SRXE_MW_BOUND) {
		if (mw->node)
			srxe_pt_release(&c->space->pt, mw->node);
		c->mws.bound--;
	}
	mw->state = SRXE_MW_UNBOUND;
	mw->node = NULL;
	mw->qpn = 0;
	mw->access = 0;
	mw->mr_lkey = 0;
	mw->addr = mw->len = mw->va = 0;
}

int srxe_mem_mw_dealloc(struct srxe_mem_client *c, uint32_t id)
{
	struct srxe_mw *mw = id < c->mws.n ? &c->mws.v[id] : NULL;
	uint8_t gen;

	if (!mw || mw->state == SRXE_MW_NONE)
		return -EINVAL;
	unbind(c, mw);
	gen = mw->gen + 1; /* the dead tag never comes back soon */
	memset(mw, 0, sizeof(*mw));
	mw->gen = gen;
	c->mws.live--;
	return 0;
}

static int check_mr(const struct srxe_mem_client *c, const struct srxe_mw *mw,
		    const struct srxe_mw_bind_req *req, uint64_t *va)
{
	struct srxe_prot_entry mr;
	uint64_t off;

	if (c->ops->find_mr(c, req->mr_lkey, &mr) || mr.pd != mw->pd)
		return -EINVAL;
	if (srxe_access_on_demand(mr.access)) /* windows walk frames */
		return -EOPNOTSUPP;
	if (!(mr.access & IBV_ACCESS_MW_BIND)) /* C10-73 */
		return -EACCES;
	if ((req->access &
	     (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
	    !(mr.access & IBV_ACCESS_LOCAL_WRITE)) /* C10-74 */
		return -EACCES;
	off = req->addr - mr.iova;
	if (req->addr < mr.iova || off > mr.len || req->len > mr.len - off)
		return -ERANGE; /* C10-75 */
	*va = mr.va + off;
	return 0;
}

int srxe_mem_mw_bind(struct srxe_mem_client *c,
		     const struct srxe_mw_bind_req *req)
{
	struct srxe_mw *mw = mw_by_tag(c, req->mw_rkey >> 8);
	struct srxe_pt_node *node = NULL;
	uint64_t va = 0;
	int err;

	if (!mw || mw->key != (req->mw_rkey & 0xff) ||
	    req->new_rkey >> 8 != mw->tag)
		return -EINVAL;
	if (req->access & ~MW_ACCESS_OK)
		return -EOPNOTSUPP;
	if (req->access & IBV_ACCESS_ZERO_BASED)
		return -EINVAL;
	if (req->pd != mw->pd)
		return -EINVAL; /* C10-72 */
	if (mw->type == IBV_MW_TYPE_2 &&
	    (mw->state != SRXE_MW_UNBOUND || !req->len))
		return -EINVAL; /* o10-37.2.30, o10-37.2.40 */
	if (req->len) {
		err = check_mr(c, mw, req, &va);
		if (err)
			return err;
		if (c->mode == SRXE_MEM_SHORTCUT) {
			node = srxe_pt_covering_node(&c->space->pt, va,
						     req->len);
			srxe_pt_hold(node);
		}
	}
	unbind(c, mw);
	mw->key = req->new_rkey & 0xff;
	if (!req->len)
		return 0; /* type 1: a zero-length window grants nothing */
	mw->state = SRXE_MW_BOUND; /* unbind() moved the generation on */
	mw->node = node;
	mw->access = req->access;
	mw->mr_lkey = req->mr_lkey;
	mw->addr = req->addr;
	mw->len = req->len;
	mw->va = va;
	if (mw->type == IBV_MW_TYPE_2)
		mw->qpn = req->qpn;
	c->mws.bound++;
	return 0;
}

int srxe_mem_mw_invalidate(struct srxe_mem_client *c, uint32_t rkey,
			   uint32_t pd, uint32_t qpn)
{
	struct srxe_mw *mw = mw_by_tag(c, rkey >> 8);

	if (!mw || mw->key != (rkey & 0xff) || mw->type != IBV_MW_TYPE_2 ||
	    mw->state != SRXE_MW_BOUND || mw->pd != pd || mw->qpn != qpn)
		return -EINVAL;
	unbind(c, mw);
	return 0;
}

void srxe_mem_mw_qp_gone(struct srxe_mem_client *c, uint32_t qpn)
{
	for (uint32_t i = 0; c->mws.bound && i < c->mws.n; i++) {
		struct srxe_mw *mw = &c->mws.v[i];

		if (mw->state == SRXE_MW_BOUND && mw->type == IBV_MW_TYPE_2 &&
		    mw->qpn == qpn)
			unbind(c, mw);
	}
}

bool srxe_mw_mr_busy(const struct srxe_mem_client *c, uint32_t lkey)
{
	for (uint32_t i = 0; c->mws.bound && i < c->mws.n; i++)
		if (c->mws.v[i].state == SRXE_MW_BOUND &&
		    c->mws.v[i].mr_lkey == lkey)
			return true;
	return false;
}

uint32_t srxe_mem_mw_count(const struct srxe_mem_client *c)
{
	return c->mws.live;
}

int srxe_mw_translate(const struct srxe_mem_client *c,
		      const struct srxe_xlate_req *req, struct srxe_sg *out,
		      int max)
{
	const struct srxe_mw *mw = mw_by_tag(c, req->key >> 8);
	struct srxe_sg_out sg = { out, 0, max };
	uint64_t off;

	if (!mw)
		return -SRXE_XLATE_BAD_KEY;
	if (mw->state != SRXE_MW_BOUND || mw->key != (req->key & 0xff))
		return -SRXE_XLATE_STALE;
	if (mw->pd != req->pd)
		return -SRXE_XLATE_PD_MISMATCH;
	if (mw->type == IBV_MW_TYPE_2 && mw->qpn != req->qpn)
		return -SRXE_XLATE_QP_MISMATCH;
	if (!(mw->access & SRXE_ACCESS_REMOTE) || (req->access & ~mw->access))
		return -SRXE_XLATE_ACCESS_DENIED;
	off = req->addr - mw->addr;
	if (req->addr < mw->addr || off > mw->len || req->len > mw->len - off)
		return -SRXE_XLATE_OUT_OF_BOUNDS;
	return c->ops->window_walk(c, mw, mw->va + off, req->len,
				   srxe_access_writes(req->access), &sg);
}

int srxe_mw_facts(const struct srxe_mem_client *c, uint32_t key,
		  struct srxe_xlate_facts *f)
{
	const struct srxe_mw *mw = mw_by_tag(c, key >> 8);
	struct srxe_xlate_facts mr;
	int err;

	if (!mw)
		return -SRXE_XLATE_BAD_KEY;
	if (mw->state != SRXE_MW_BOUND || mw->key != (key & 0xff))
		return -SRXE_XLATE_STALE;
	*f = (struct srxe_xlate_facts){
		.iova = mw->addr,
		.len = mw->len,
		.va = mw->va,
		.pd = mw->pd,
		.qpn = mw->qpn,
		.access = (uint16_t)mw->access,
		.type2 = mw->type == IBV_MW_TYPE_2,
		.node = mw->node, /* shortcut: the window's own level */
	};
	if (c->mode == SRXE_MEM_SHORTCUT)
		return 0;
	/* MTT: the frames are the parent MR's (mtt_window_walk) */
	err = c->ops->facts(c, mw->mr_lkey, false, &mr);
	f->mtt = mr.mtt;
	return err;
}

void srxe_mw_fini(struct srxe_mem_client *c)
{
	for (uint32_t i = 0; i < c->mws.n; i++)
		if (c->mws.v[i].state == SRXE_MW_BOUND && c->mws.v[i].node)
			srxe_pt_release(&c->space->pt, c->mws.v[i].node);
	free(c->mws.v);
	memset(&c->mws, 0, sizeof(c->mws));
}
