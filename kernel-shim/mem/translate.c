// SPDX-License-Identifier: MIT
/*
 * Mode-independent half of the memory core: configuration, limits,
 * pinning and statistics; the mode's ops do keys and translation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem_client.h"

static const char *const xlate_err_names[SRXE_XLATE_ERR_MAX] = {
	[SRXE_XLATE_BAD_KEY] = "BAD_KEY",
	[SRXE_XLATE_STALE] = "STALE",
	[SRXE_XLATE_PD_MISMATCH] = "PD_MISMATCH",
	[SRXE_XLATE_ACCESS_DENIED] = "ACCESS_DENIED",
	[SRXE_XLATE_OUT_OF_BOUNDS] = "OUT_OF_BOUNDS",
	[SRXE_XLATE_NOT_PRESENT] = "NOT_PRESENT",
	[SRXE_XLATE_NOT_PINNED] = "NOT_PINNED",
	[SRXE_XLATE_SG_OVERFLOW] = "SG_OVERFLOW",
	[SRXE_XLATE_QP_MISMATCH] = "QP_MISMATCH",
	[SRXE_XLATE_ON_DEMAND] = "ON_DEMAND",
	[SRXE_XLATE_FAULT_PENDING] = "FAULT_PENDING",
};

const char *srxe_xlate_err_name(int err)
{
	if (err < 0)
		err = -err;
	if (err <= 0 || err >= SRXE_XLATE_ERR_MAX)
		return "?";
	return xlate_err_names[err];
}

static int init_mode(struct srxe_mem_client *c,
		     const struct srxe_mem_config *cfg)
{
	if (cfg->mode == SRXE_MEM_MTT) {
		c->ops = &srxe_mtt_ops;
		return 0;
	}
	c->ops = &srxe_shortcut_ops;
	srxe_desc_table_init(&c->sc.descs, c->id);
	if (cfg->fixed_secret) {
		srxe_codec_init_secret(&c->sc.codec, cfg->fixed_secret);
		return 0;
	}
	return srxe_codec_init_random(&c->sc.codec);
}

static bool mode_valid(enum srxe_mem_mode mode)
{
	return mode == SRXE_MEM_SHORTCUT || mode == SRXE_MEM_MTT;
}

static bool config_valid(const struct srxe_mem_config *cfg)
{
	if (!mode_valid(cfg->mode))
		return false;
	if (cfg->slab_frames && !cfg->slab)
		return false;
	return cfg->max_mrs <= SRXE_MEM_MAX_MRS;
}

int srxe_mem_space_create(const struct srxe_mem_config *cfg,
			  struct srxe_mem_space **out)
{
	struct srxe_mem_space *s;
	int err;

	if (!config_valid(cfg))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->mode = cfg->mode;
	s->slab = cfg->slab;
	s->max_reg_bytes = cfg->max_reg_bytes ? cfg->max_reg_bytes
					      : SRXE_MEM_DEFAULT_MAX_REG_BYTES;
	err = srxe_frames_init(&s->frames, cfg->slab_frames);
	if (err)
		goto free_space;
	err = srxe_pt_init(&s->pt, &s->frames);
	if (err)
		goto free_frames;
	*out = s;
	return 0;
free_frames:
	srxe_frames_destroy(&s->frames);
free_space:
	free(s);
	return err;
}

int srxe_mem_space_destroy(struct srxe_mem_space *s)
{
	if (!s)
		return 0;
	if (s->clients)
		return -EBUSY;
	srxe_mtt_destroy(&s->mtt);
	srxe_pt_destroy(&s->pt);
	srxe_frames_destroy(&s->frames);
	free(s);
	return 0;
}

int srxe_mem_client_join(const struct srxe_mem_config *cfg,
			 struct srxe_mem_space *space,
			 struct srxe_mem_client **out)
{
	struct srxe_mem_client *c;
	int err;

	if (!space || cfg->mode != space->mode ||
	    cfg->max_mrs > SRXE_MEM_MAX_MRS)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->mode = cfg->mode;
	c->id = cfg->client_id;
	c->space = space;
	c->max_mrs = cfg->max_mrs ? cfg->max_mrs : SRXE_MEM_DEFAULT_MAX_MRS;
	err = init_mode(c, cfg);
	if (err) {
		free(c);
		return err;
	}
	space->clients++;
	/* c may sit where a destroyed client was: entries cached for that
	 * one carry an older generation (tlb.h) */
	srxe_pt_changed(&space->pt);
	*out = c;
	return 0;
}

int srxe_mem_client_create(const struct srxe_mem_config *cfg,
			   struct srxe_mem_client **out)
{
	struct srxe_mem_space *space;
	int err = srxe_mem_space_create(cfg, &space);

	if (err)
		return err;
	err = srxe_mem_client_join(cfg, space, out);
	if (err) {
		srxe_mem_space_destroy(space);
		return err;
	}
	(*out)->own_space = true;
	return 0;
}

void srxe_mem_client_destroy(struct srxe_mem_client *c)
{
	struct srxe_mem_space *space;

	if (!c)
		return;
	space = c->space;
	srxe_pt_changed(&space->pt); /* its keys die (tlb.h) */
	srxe_mw_fini(c);
	c->ops->fini(c);
	/* Pins of MRs still live stay in the space (translate.h). */
	space->reg_bytes -= c->reg_bytes;
	space->clients--;
	if (c->own_space)
		srxe_mem_space_destroy(space);
	free(c);
}

static int check_limits(const struct srxe_mem_client *c, uint64_t len,
			bool on_demand)
{
	const struct srxe_mem_space *s = c->space;

	if (c->mrs >= c->max_mrs)
		return -ENOMEM;
	if (!on_demand && len > s->max_reg_bytes - s->reg_bytes)
		return -ENOMEM;
	return 0;
}

/* Bytes an MR counts against the limit: on-demand MRs pin nothing. */
static uint64_t pinned_len(const struct srxe_prot_entry *mr)
{
	return srxe_access_on_demand(mr->access) ? 0 : mr->len;
}

int srxe_mem_reg(struct srxe_mem_client *c, uint32_t pd, uint64_t va,
		 uint64_t len, uint64_t iova, unsigned access,
		 struct srxe_mr_keys *keys, struct srxe_runs *new_runs)
{
	size_t runs_before = new_runs ? new_runs->n : 0;
	struct srxe_prot_entry mr = {
		.va = va,
		.len = len,
		.iova = iova,
		.pd = pd,
		.access = access & SRXE_ACCESS_SUPPORTED,
		.state = SRXE_PROT_LIVE,
	};
	bool on_demand = srxe_access_on_demand(access);
	int err = srxe_prot_validate(va, len, iova, access);

	if (!err)
		err = check_limits(c, len, on_demand);
	if (!err && !on_demand)
		err = srxe_pt_pin(&c->space->pt, va, len,
				  srxe_access_writes(access), new_runs);
	if (err)
		return err;
	err = c->ops->add_mr(c, &mr, keys);
	if (err) {
		if (!on_demand)
			srxe_pt_unpin(&c->space->pt, va, len, NULL);
		if (new_runs)
			new_runs->n = runs_before;
		return err;
	}
	c->mrs++;
	c->reg_bytes += pinned_len(&mr);
	c->space->reg_bytes += pinned_len(&mr);
	return 0;
}

int srxe_mem_dereg(struct srxe_mem_client *c, uint32_t lkey,
		   struct srxe_runs *freed)
{
	struct srxe_prot_entry mr;
	int err;

	if (srxe_mw_mr_busy(c, lkey))
		return -EBUSY; /* a bound window still points into it */
	err = c->ops->remove_mr(c, lkey, &mr);
	if (err)
		return err;
	srxe_pt_changed(&c->space->pt); /* its keys die (tlb.h) */
	if (!srxe_access_on_demand(mr.access))
		srxe_pt_unpin(&c->space->pt, mr.va, mr.len, freed);
	c->mrs--;
	c->reg_bytes -= pinned_len(&mr);
	c->space->reg_bytes -= pinned_len(&mr);
	return 0;
}

int srxe_mem_rereg(struct srxe_mem_client *c, uint32_t lkey, uint32_t pd,
		   unsigned access, struct srxe_mr_keys *keys)
{
	struct srxe_prot_entry *e = c->ops->mr_entry(c, lkey);
	unsigned rights = access & SRXE_ACCESS_SUPPORTED;
	uint32_t rkey = 0;

	if (!e)
		return -EINVAL;
	if (srxe_prot_validate(e->va, e->len, e->iova, access))
		return -EINVAL;
	if (srxe_mw_mr_busy(c, lkey))
		return -EBUSY;
	/* pinned or on demand is the translation, not a right */
	if (srxe_access_on_demand(rights) != srxe_access_on_demand(e->access))
		return -EAGAIN;
	/* pages pinned read-only cannot take writes */
	if (srxe_access_writes(rights) && !srxe_access_writes(e->access) &&
	    !srxe_access_on_demand(rights))
		return -EAGAIN;
	rkey = c->ops->rkey_of(c, lkey);
	if (!rkey || srxe_mw_tag_live(c, rkey >> 8))
		return -EAGAIN;
	e->pd = pd;
	e->access = (uint16_t)rights;
	srxe_pt_changed(&c->space->pt); /* cached PD and rights (tlb.h) */
	keys->lkey = lkey;
	keys->rkey = rkey;
	return 0;
}

void srxe_mem_unhold_frames(struct srxe_mem_client *c,
			    const struct srxe_runs *runs)
{
	for (size_t i = 0; i < runs->n; i++)
		srxe_frames_free(&c->space->frames, runs->v[i].frame,
				 runs->v[i].npages);
}

int srxe_mem_hold_frames(struct srxe_mem_client *c,
			 const struct srxe_runs *runs)
{
	struct srxe_runs done = { .v = runs->v };
	int err = 0;

	for (size_t i = 0; i < runs->n && !err; i++) {
		err = srxe_frames_claim(&c->space->frames, runs->v[i].frame,
					runs->v[i].npages);
		if (!err)
			done.n = i + 1;
	}
	if (err)
		srxe_mem_unhold_frames(c, &done);
	return err;
}

int srxe_mem_translate(const struct srxe_mem_client *c,
		       const struct srxe_xlate_req *req, struct srxe_sg *out,
		       int max)
{
	int r = c->ops->translate(c, req, out, max);

	/* Not an MR's rkey: maybe a window's (mw.h). */
	if (req->is_rkey && c->mws.live &&
	    (r == -SRXE_XLATE_BAD_KEY || r == -SRXE_XLATE_STALE)) {
		int w = srxe_mw_translate(c, req, out, max);

		if (w != -SRXE_XLATE_BAD_KEY)
			return w;
	}
	return r;
}

int srxe_mem_facts(const struct srxe_mem_client *c, uint32_t key, bool is_rkey,
		   struct srxe_xlate_facts *f)
{
	int r = c->ops->facts(c, key, is_rkey, f);

	/* the order of srxe_mem_translate(): an MR's rkey, else a window's */
	if (is_rkey && c->mws.live &&
	    (r == -SRXE_XLATE_BAD_KEY || r == -SRXE_XLATE_STALE)) {
		int w = srxe_mw_facts(c, key, f);

		if (w != -SRXE_XLATE_BAD_KEY)
			return w;
	}
	return r;
}

int srxe_mem_check_mr(const struct srxe_mem_client *c,
		      const struct srxe_xlate_req *req)
{
	int err = 0;
	const struct srxe_prot_entry *e =
		c->ops->entry(c, req->key, req->is_rkey, &err);
	uint64_t va;

	if (!e)
		return -err;
	return srxe_prot_check(e, req->is_rkey, e->iova, 0, req->access,
			       req->pd, &va);
}

int srxe_mem_odp_va(const struct srxe_mem_client *c,
		    const struct srxe_xlate_req *req, uint64_t *va,
		    struct srxe_proc_io **io)
{
	int err = 0;
	const struct srxe_prot_entry *e =
		c->ops->entry(c, req->key, req->is_rkey, &err);

	if (!e)
		return -err;
	if (!srxe_access_on_demand(e->access))
		return -SRXE_XLATE_NOT_PRESENT;
	err = srxe_prot_check(e, req->is_rkey, req->addr, req->len, req->access,
			      req->pd, va);
	if (err)
		return err;
	*io = __atomic_load_n(&c->space->proc_io, __ATOMIC_ACQUIRE);
	return *io ? 0 : -SRXE_XLATE_NOT_PRESENT;
}

int srxe_mem_space_set_proc_io(struct srxe_mem_space *s,
			       struct srxe_proc_io *io)
{
	if (!io || s->proc_io)
		return -EINVAL;
	__atomic_store_n(&s->proc_io, io, __ATOMIC_RELEASE);
	return 0;
}

void srxe_mem_client_stats(const struct srxe_mem_client *c,
			   struct srxe_mem_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->mrs = c->mrs;
	st->reg_bytes = c->reg_bytes;
	st->key_state_bytes = c->ops->key_state_bytes(c);
	st->translation_bytes = st->key_state_bytes;
}

void srxe_mem_space_stats(const struct srxe_mem_space *s,
			  struct srxe_mem_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->frames_in_use = srxe_frames_in_use(&s->frames);
	st->table_pages = srxe_pt_table_pages(&s->pt);
	st->table_bytes = srxe_pt_bytes(&s->pt);
	if (s->mode == SRXE_MEM_MTT)
		st->key_state_bytes = srxe_mtt_table_bytes(&s->mtt);
	st->translation_bytes = st->key_state_bytes;
	if (s->mode == SRXE_MEM_SHORTCUT)
		st->translation_bytes += st->table_bytes;
}

void srxe_mem_stats(const struct srxe_mem_client *c, struct srxe_mem_stats *st)
{
	struct srxe_mem_stats sp;

	srxe_mem_client_stats(c, st);
	srxe_mem_space_stats(c->space, &sp);
	st->frames_in_use = sp.frames_in_use;
	st->table_pages = sp.table_pages;
	st->table_bytes = sp.table_bytes;
	st->key_state_bytes += sp.key_state_bytes;
	st->translation_bytes += sp.translation_bytes;
}

uint64_t srxe_mem_space_reg_bytes(const struct srxe_mem_space *s)
{
	return s->reg_bytes;
}

struct srxe_mem_space *srxe_mem_client_space(const struct srxe_mem_client *c)
{
	return c->space;
}

enum srxe_mem_mode srxe_mem_mode(const struct srxe_mem_client *c)
{
	return c->mode;
}

struct srxe_pt *srxe_mem_client_pt(struct srxe_mem_client *c)
{
	return &c->space->pt;
}
