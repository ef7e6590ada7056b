// SPDX-License-Identifier: MIT
/*
 * MTT translation mode: see mtt.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "mem_client.h"

static int grow_slots(struct srxe_mtt *m)
{
	uint32_t cap = m->cap ? m->cap * 2 : 64;
	struct srxe_mtt_slot *v;

	if (m->cap > SRXE_MTT_MAX_INDEX)
		return -ENOMEM;
	v = realloc(m->slots, (size_t)cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	m->slots = v;
	m->cap = cap;
	return 0;
}

static uint8_t random_key_byte(void)
{
	uint8_t b = 0;

	if (getrandom(&b, 1, 0) != 1)
		b = 0x5a;
	return b;
}

/* A never-used index, or 0. */
static uint32_t fresh_index(struct srxe_mtt *m)
{
	if (m->n == 0)
		m->n = 1; /* index 0 stays unused */
	if (m->n > SRXE_MTT_MAX_INDEX || (m->n >= m->cap && grow_slots(m)))
		return 0;
	m->slots[m->n] = (struct srxe_mtt_slot){ .key = random_key_byte() };
	return m->n++;
}

/* Cyclic: the first free index after the last one handed out. */
static uint32_t alloc_index(struct srxe_mtt *m)
{
	uint32_t idx;

	if (m->n <= 1 || m->live == m->n - 1) {
		idx = fresh_index(m);
		if (idx)
			m->cursor = idx;
		return idx;
	}
	idx = m->cursor;
	do {
		idx = idx + 1 < m->n ? idx + 1 : 1;
	} while (m->slots[idx].mr);
	m->cursor = idx;
	return idx;
}

static int fill_mtt(const struct srxe_mem_client *c, struct srxe_mtt_mr *mr)
{
	for (uint64_t i = 0; i < mr->npages; i++) {
		uint64_t va = (mr->first_page + i) << SRXE_FRAME_SHIFT;
		uint64_t pte = srxe_pt_lookup(&c->space->pt, va);

		if (!(pte & SRXE_PTE_PINNED))
			return -EFAULT;
		mr->frame[i] = srxe_pte_frame(pte);
	}
	return 0;
}

static struct srxe_mtt_mr *new_mr(const struct srxe_mem_client *c,
				  const struct srxe_prot_entry *prot)
{
	uint64_t first = prot->va >> SRXE_FRAME_SHIFT;
	uint64_t last = (prot->va + prot->len - 1) >> SRXE_FRAME_SHIFT;
	/* on demand: no frames, no MTT (translate never reaches it) */
	uint64_t npages =
		srxe_access_on_demand(prot->access) ? 0 : last - first + 1;
	struct srxe_mtt_mr *mr;

	mr = malloc(sizeof(*mr) + npages * sizeof(mr->frame[0]));
	if (!mr)
		return NULL;
	mr->prot = *prot;
	mr->first_page = first;
	mr->npages = npages;
	if (fill_mtt(c, mr)) {
		free(mr);
		return NULL;
	}
	return mr;
}

static uint64_t mr_bytes(const struct srxe_mtt_mr *mr)
{
	return sizeof(*mr) + mr->npages * sizeof(mr->frame[0]);
}

static int mtt_add_mr(struct srxe_mem_client *c,
		      const struct srxe_prot_entry *prot,
		      struct srxe_mr_keys *keys)
{
	struct srxe_mtt *m = &c->space->mtt;
	struct srxe_mtt_mr *mr = new_mr(c, prot);
	uint32_t idx;

	if (!mr)
		return -ENOMEM;
	idx = alloc_index(m);
	if (!idx) {
		free(mr);
		return -ENOMEM;
	}
	m->slots[idx].mr = mr;
	m->slots[idx].owner = c;
	m->live++;
	m->mr_bytes += mr_bytes(mr);
	c->mtt.live++;
	c->mtt.mr_bytes += mr_bytes(mr);
	keys->lkey = idx << 8 | m->slots[idx].key;
	keys->rkey = keys->lkey; /* as rxe, also without remote rights */
	return 0;
}

/*
 * Live MR of key of client c, or NULL with *err set.  The index space is
 * the process's: an index holding another client's MR is no key of c.
 */
static struct srxe_mtt_mr *lookup(const struct srxe_mem_client *c, uint32_t key,
				  int *err)
{
	const struct srxe_mtt *m = &c->space->mtt;
	uint32_t idx = key >> 8;
	const struct srxe_mtt_slot *slot;

	if (idx == 0 || idx >= m->n ||
	    (m->slots[idx].mr && m->slots[idx].owner != c)) {
		*err = SRXE_XLATE_BAD_KEY;
		return NULL;
	}
	slot = &m->slots[idx];
	if (!slot->mr || slot->key != (key & 0xff)) {
		*err = SRXE_XLATE_STALE;
		return NULL;
	}
	return slot->mr;
}

static void free_slot(struct srxe_mem_client *c, uint32_t idx)
{
	struct srxe_mtt *m = &c->space->mtt;
	struct srxe_mtt_mr *mr = m->slots[idx].mr;

	m->slots[idx].mr = NULL;
	m->slots[idx].owner = NULL;
	m->slots[idx].key++;
	m->live--;
	m->mr_bytes -= mr_bytes(mr);
	c->mtt.live--;
	c->mtt.mr_bytes -= mr_bytes(mr);
	free(mr);
}

static int mtt_remove_mr(struct srxe_mem_client *c, uint32_t lkey,
			 struct srxe_prot_entry *prot)
{
	int err;
	struct srxe_mtt_mr *mr = lookup(c, lkey, &err);

	if (!mr)
		return -EINVAL;
	*prot = mr->prot;
	free_slot(c, lkey >> 8);
	return 0;
}

/* Chunks of [va, va + len) of mr (already checked) from its MTT. */
static int mtt_chunks(const struct srxe_mem_client *c,
		      const struct srxe_mtt_mr *mr, uint64_t va, uint64_t len,
		      struct srxe_sg_out *out)
{
	int err = 0;

	while (!err && len) {
		uint64_t offset = va & (SRXE_FRAME_SIZE - 1);
		uint64_t chunk = SRXE_FRAME_SIZE - offset;
		uint64_t page = (va >> SRXE_FRAME_SHIFT) - mr->first_page;

		if (chunk > len)
			chunk = len;
		err = srxe_sg_append(
			out, srxe_frame_addr(c, mr->frame[page], offset),
			(uint32_t)chunk);
		va += chunk;
		len -= chunk;
	}
	return err ? err : out->n;
}

static int mtt_translate(const struct srxe_mem_client *c,
			 const struct srxe_xlate_req *req, struct srxe_sg *sg,
			 int max)
{
	struct srxe_sg_out out = { sg, 0, max };
	uint64_t va;
	int err;
	const struct srxe_mtt_mr *mr = lookup(c, req->key, &err);

	if (!mr)
		return -err;
	err = srxe_prot_check(&mr->prot, req->is_rkey, req->addr, req->len,
			      req->access, req->pd, &va);
	if (!err && srxe_access_on_demand(mr->prot.access))
		err = -SRXE_XLATE_ON_DEMAND;
	return err ? err : mtt_chunks(c, mr, va, req->len, &out);
}

static int mtt_find_mr(const struct srxe_mem_client *c, uint32_t lkey,
		       struct srxe_prot_entry *prot)
{
	int err;
	const struct srxe_mtt_mr *mr = lookup(c, lkey, &err);

	if (!mr)
		return -EINVAL;
	*prot = mr->prot;
	return 0;
}

static struct srxe_prot_entry *mtt_mr_entry(struct srxe_mem_client *c,
					    uint32_t lkey)
{
	int err;
	struct srxe_mtt_mr *mr = lookup(c, lkey, &err);

	return mr ? &mr->prot : NULL;
}

static uint32_t mtt_rkey_of(const struct srxe_mem_client *c, uint32_t lkey)
{
	(void)c;
	return lkey; /* as rxe */
}

/* A window reaches its frames through the parent MR's MTT, as in rxe. */
static int mtt_window_walk(const struct srxe_mem_client *c,
			   const struct srxe_mw *mw, uint64_t va, uint64_t len,
			   bool write, struct srxe_sg_out *out)
{
	int err;
	const struct srxe_mtt_mr *mr = lookup(c, mw->mr_lkey, &err);

	(void)write; /* the window's rights were checked against the MR's */
	if (!mr)
		return -err;
	return mtt_chunks(c, mr, va, len, out);
}

static int mtt_facts(const struct srxe_mem_client *c, uint32_t key,
		     bool is_rkey, struct srxe_xlate_facts *f)
{
	int err;
	const struct srxe_mtt_mr *mr = lookup(c, key, &err);

	(void)is_rkey; /* MTT keys: the rkey is the lkey */
	if (!mr)
		return -err;
	*f = (struct srxe_xlate_facts){
		.iova = mr->prot.iova,
		.len = mr->prot.len,
		.va = mr->prot.va,
		.pd = mr->prot.pd,
		.access = mr->prot.access,
		.mtt = mr,
	};
	return 0;
}

static const struct srxe_prot_entry *
mtt_entry(const struct srxe_mem_client *c, uint32_t key, bool is_rkey, int *err)
{
	const struct srxe_mtt_mr *mr = lookup(c, key, err);

	(void)is_rkey; /* MTT keys: the rkey is the lkey */
	return mr ? &mr->prot : NULL;
}

static uint64_t mtt_key_state_bytes(const struct srxe_mem_client *c)
{
	return c->mtt.mr_bytes;
}

/* The client's MRs leave the space's index table (their pins stay). */
static void mtt_fini(struct srxe_mem_client *c)
{
	const struct srxe_mtt *m = &c->space->mtt;

	for (uint32_t i = 1; i < m->n && c->mtt.live; i++)
		if (m->slots[i].mr && m->slots[i].owner == c)
			free_slot(c, i);
}

uint64_t srxe_mtt_table_bytes(const struct srxe_mtt *m)
{
	return (uint64_t)m->cap * sizeof(struct srxe_mtt_slot);
}

void srxe_mtt_destroy(struct srxe_mtt *m)
{
	for (uint32_t i = 1; i < m->n; i++)
		free(m->slots[i].mr);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

const struct srxe_xlate_ops srxe_mtt_ops = {
	.name = "mtt",
	.add_mr = mtt_add_mr,
	.remove_mr = mtt_remove_mr,
	.translate = mtt_translate,
	.entry = mtt_entry,
	.facts = mtt_facts,
	.key_state_bytes = mtt_key_state_bytes,
	.find_mr = mtt_find_mr,
	.mr_entry = mtt_mr_entry,
	.rkey_of = mtt_rkey_of,
	.window_walk = mtt_window_walk,
	.fini = mtt_fini,
};
