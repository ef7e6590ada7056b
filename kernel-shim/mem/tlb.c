// SPDX-License-Identifier: MIT
/*
 * Translation cache: see tlb.h for the contract and why a stale or forged
 * key is never honoured.
 */
#include "tlb.h"

#include <string.h>

#include "mem_client.h"

#define REGION_SIZE (1ull << SRXE_TLB_REGION_SHIFT)
#define PAGE_SIZE   ((uint64_t)SRXE_FRAME_SIZE)

void srxe_tlb_init(struct srxe_tlb *tlb)
{
	memset(tlb, 0, sizeof(*tlb));
}

/* Consecutive regions of one key land in consecutive entries. */
static inline struct srxe_tlb_entry *slot(struct srxe_tlb *tlb, uint32_t key,
					  uint64_t region)
{
	uint32_t k = (key * 0x9e3779b1u) >> 24;

	return &tlb->e[(region + k) & (SRXE_TLB_ENTRIES - 1)];
}

/* The entry for (c, gen, key, region) if it is there and grants req. */
static inline const struct srxe_tlb_entry *
hit(struct srxe_tlb *tlb, const struct srxe_mem_client *c, uint64_t gen,
    const struct srxe_xlate_req *req, uint64_t region)
{
	const struct srxe_tlb_entry *e = slot(tlb, req->key, region);

	/* the generation first: nothing else of a stale entry is used */
	if (e->gen != gen || e->client != c || e->key != req->key ||
	    e->region != region || e->is_rkey != req->is_rkey)
		return NULL;
	/* the checks of prot.c / mw.c on the facts of this generation */
	if (e->pd != req->pd || (req->access & ~(unsigned)e->access) ||
	    (req->is_rkey && !(e->access & SRXE_ACCESS_REMOTE)) ||
	    (e->type2 && e->qpn != req->qpn))
		return NULL;
	return e;
}

/* One page: the walk's check (srxe_pte_check) on the live entry. */
static inline int page_sc(uint64_t pte, uint8_t *slab, uint64_t need,
			  uint64_t in_page, uint64_t chunk,
			  struct srxe_sg_out *out)
{
	if ((pte & need) != need)
		return -1;
	return srxe_sg_append(out, slab + (pte & ~SRXE_PTE_FLAGS) + in_page,
			      (uint32_t)chunk);
}

/*
 * Chunks of the process VA [va, vend) of e (inside [e->lo, e->hi) of its
 * region), one mode each.  0, or -1 when a page entry fails its check or
 * out is full: the caller then asks the uncached path, which says why.
 */
static inline int pages_sc(const struct srxe_tlb_entry *e, uint8_t *slab,
			   uint64_t need, uint64_t va, uint64_t vend,
			   struct srxe_sg_out *out)
{
	/* page p of the part is entry p - vbase of page[0], then page[1] */
	uint64_t p = (va >> SRXE_FRAME_SHIFT) - e->vbase;
	const uint64_t *pte;

	if (!e->page[1]) {
		/* one leaf (always when iova and va are 2 MiB-aligned alike) */
		for (pte = &e->page[0][p]; va < vend; pte++) {
			uint64_t in_page = va & (PAGE_SIZE - 1);
			uint64_t chunk = PAGE_SIZE - in_page;

			if (chunk > vend - va)
				chunk = vend - va;
			if (page_sc(*pte, slab, need, in_page, chunk, out))
				return -1;
			va += chunk;
		}
		return 0;
	}
	pte = &e->page[p / SRXE_PT_ENTRIES][p % SRXE_PT_ENTRIES];
	while (va < vend) {
		uint64_t in_page = va & (PAGE_SIZE - 1);
		uint64_t chunk = PAGE_SIZE - in_page;

		if (chunk > vend - va)
			chunk = vend - va;
		if (page_sc(*pte, slab, need, in_page, chunk, out))
			return -1;
		va += chunk;
		if (++p == SRXE_PT_ENTRIES)
			pte = e->page[1]; /* the second leaf */
		else
			pte++;
	}
	return 0;
}

static inline int pages_mtt(const struct srxe_tlb_entry *e, uint8_t *slab,
			    uint64_t va, uint64_t vend, struct srxe_sg_out *out)
{
	const uint64_t *frame =
		&e->page[0][(va >> SRXE_FRAME_SHIFT) - e->vbase];

	for (; va < vend; frame++) {
		uint64_t in_page = va & (PAGE_SIZE - 1);
		uint64_t chunk = PAGE_SIZE - in_page;

		if (chunk > vend - va)
			chunk = vend - va;
		if (srxe_sg_append(
			    out, slab + (*frame << SRXE_FRAME_SHIFT) + in_page,
			    (uint32_t)chunk))
			return -1;
		va += chunk;
	}
	return 0;
}

/* Fill the entry of region from facts f (a successful translation). */
static void fill_region(struct srxe_tlb *tlb, const struct srxe_mem_client *c,
			const struct srxe_xlate_req *req,
			const struct srxe_xlate_facts *f, uint64_t region)
{
	uint64_t rbase = region << SRXE_TLB_REGION_SHIFT;
	uint64_t end = f->iova + f->len - rbase; /* no wrap: prot.c, mw.c */
	struct srxe_tlb_entry e = {
		.client = c,
		.gen = c->space->pt.gen,
		.region = region,
		.key = req->key,
		.pd = f->pd,
		.qpn = f->type2 ? f->qpn : 0,
		.access = f->access,
		.is_rkey = req->is_rkey,
		.type2 = f->type2,
		.lo = (uint32_t)(f->iova > rbase ? f->iova - rbase : 0),
		.hi = (uint32_t)(end < REGION_SIZE ? end : REGION_SIZE),
		.delta = f->va - f->iova,
	};
	uint64_t vlo = rbase + e.lo + e.delta;
	uint64_t vlast = vlo + (e.hi - e.lo) - 1;

	if (c->mode == SRXE_MEM_MTT) {
		e.page[0] = f->mtt->frame;
		e.vbase = f->mtt->first_page;
	} else {
		uint64_t vend[2] = { vlo, vlast };
		int err;

		/* the part spans one or two leaves of the process VA; vbase:
		 * the page of entry 0 of the first */
		e.vbase = (vlo >> SRXE_TLB_REGION_SHIFT) * SRXE_PT_ENTRIES;
		for (int i = 0; i < 2; i++) {
			const struct srxe_pt_node *leaf =
				srxe_pt_walk_to_leaf(f->node, vend[i], &err);

			if (!leaf)
				return; /* a page under the MR is gone */
			e.page[((vend[i] >> SRXE_FRAME_SHIFT) - e.vbase) /
			       SRXE_PT_ENTRIES] = leaf->e;
		}
	}
	*slot(tlb, req->key, region) = e;
	tlb->fills++;
}

static int miss(struct srxe_tlb *tlb, const struct srxe_mem_client *c,
		const struct srxe_xlate_req *req, struct srxe_sg *out, int max)
{
	int r = srxe_mem_translate(c, req, out, max);
	struct srxe_xlate_facts f;
	uint64_t region, last;

	tlb->misses++;
	/* only what the authoritative path just granted is entered */
	if (r <= 0 || srxe_mem_facts(c, req->key, req->is_rkey, &f))
		return r;
	region = req->addr >> SRXE_TLB_REGION_SHIFT;
	last = (req->addr + req->len - 1) >> SRXE_TLB_REGION_SHIFT;
	for (unsigned n = 0; n < SRXE_TLB_ENTRIES && region <= last; n++)
		fill_region(tlb, c, req, &f, region++);
	return r;
}

int srxe_tlb_translate(struct srxe_tlb *tlb, const struct srxe_mem_client *c,
		       const struct srxe_xlate_req *req, struct srxe_sg *out,
		       int max)
{
	const struct srxe_mem_space *space = c->space;
	uint64_t gen = space->pt.gen;
	uint64_t addr = req->addr, end = req->addr + req->len;
	bool shortcut = c->mode == SRXE_MEM_SHORTCUT;
	uint64_t need =
		SRXE_PTE_PRESENT | SRXE_PTE_PINNED |
		(srxe_access_writes(req->access) ? SRXE_PTE_WRITABLE : 0);
	struct srxe_sg_out sg = { out, 0, max };

	if (!tlb)
		return srxe_mem_translate(c, req, out, max);
	/* len 0 and wrapping ranges: the uncached checks decide */
	if (!req->len || end < addr)
		return miss(tlb, c, req, out, max);
	do {
		uint64_t region = addr >> SRXE_TLB_REGION_SHIFT;
		uint64_t rbase = region << SRXE_TLB_REGION_SHIFT;
		const struct srxe_tlb_entry *e = hit(tlb, c, gen, req, region);
		uint64_t off = addr - rbase;
		uint64_t stop =
			end - rbase < REGION_SIZE ? end - rbase : REGION_SIZE;
		uint64_t va, vend;

		if (!e || off < e->lo || stop > e->hi)
			return miss(tlb, c, req, out, max);
		va = addr + e->delta;
		vend = va + (stop - off);
		if (shortcut ? pages_sc(e, space->slab, need, va, vend, &sg)
			     : pages_mtt(e, space->slab, va, vend, &sg))
			return miss(tlb, c, req, out, max);
		addr = rbase + stop;
	} while (addr < end);
	tlb->hits++;
	return sg.n;
}
