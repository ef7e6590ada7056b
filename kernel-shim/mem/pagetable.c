// SPDX-License-Identifier: MIT
#include "pagetable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xlate_err.h"

#define PAGE_MASK (~(uint64_t)(SRXE_FRAME_SIZE - 1))

static struct srxe_pt_node *child_of(uint64_t entry)
{
	return (struct srxe_pt_node *)(uintptr_t)(entry & ~SRXE_PTE_FLAGS);
}

static struct srxe_pt_node *node_new(struct srxe_pt *pt, unsigned level,
				     struct srxe_pt_node *parent, unsigned idx,
				     uint64_t va_base)
{
	struct srxe_pt_node *node;

	if (posix_memalign((void **)&node, SRXE_FRAME_SIZE, sizeof(*node)))
		return NULL;
	memset(node, 0, sizeof(*node));
	if (level == 1) {
		node->pins = calloc(SRXE_PT_ENTRIES, sizeof(*node->pins));
		if (!node->pins) {
			free(node);
			return NULL;
		}
	}
	node->parent = parent;
	node->index_in_parent = idx;
	node->va_base = va_base;
	node->level = level;
	pt->nodes[level]++;
	return node;
}

/*
 * One clock for every table of the process: a generation value is unique
 * across tables and time, so a cache entry tagged with a dead table's (or
 * client's) generation can never match a table created later at the same
 * address.  64 bits do not wrap.
 */
static uint64_t gen_clock;

void srxe_pt_changed(struct srxe_pt *pt)
{
	pt->gen = __atomic_add_fetch(&gen_clock, 1, __ATOMIC_RELAXED);
}

static void node_free(struct srxe_pt *pt, struct srxe_pt_node *node)
{
	/* a cached leaf (tlb.h) may point here */
	srxe_pt_changed(pt);
	pt->nodes[node->level]--;
	/* Only left when the table dies under live descriptors. */
	while (node->descs) {
		struct srxe_pt_desc_head *h = node->descs;

		node->descs = h->next;
		free(h);
	}
	free(node->pins);
	free(node);
}

/* Free node and then each ancestor that became empty and unheld. */
static void prune(struct srxe_pt *pt, struct srxe_pt_node *node)
{
	while (node != pt->root && node->used == 0 && node->holds == 0) {
		struct srxe_pt_node *parent = node->parent;

		parent->e[node->index_in_parent] = 0;
		parent->used--;
		node_free(pt, node);
		node = parent;
	}
}

int srxe_pt_init(struct srxe_pt *pt, struct srxe_frames *frames)
{
	memset(pt, 0, sizeof(*pt));
	pt->frames = frames;
	srxe_pt_changed(pt);
	pt->root = node_new(pt, SRXE_PT_LEVELS, NULL, 0, 0);
	return pt->root ? 0 : -ENOMEM;
}

static void free_subtree(struct srxe_pt *pt, struct srxe_pt_node *node)
{
	if (node->level > 1) {
		for (unsigned i = 0; i < SRXE_PT_ENTRIES; i++)
			if (node->e[i] & SRXE_PTE_PRESENT)
				free_subtree(pt, child_of(node->e[i]));
	}
	node_free(pt, node);
}

void srxe_pt_destroy(struct srxe_pt *pt)
{
	if (pt->root)
		free_subtree(pt, pt->root);
	pt->root = NULL;
}

static struct srxe_pt_node *find_leaf(const struct srxe_pt *pt, uint64_t va)
{
	struct srxe_pt_node *node = pt->root;

	while (node->level > 1) {
		uint64_t entry = node->e[srxe_pt_index(node->level, va)];

		if (!(entry & SRXE_PTE_PRESENT))
			return NULL;
		node = child_of(entry);
	}
	return node;
}

static struct srxe_pt_node *ensure_leaf(struct srxe_pt *pt, uint64_t va)
{
	struct srxe_pt_node *node = pt->root;

	while (node->level > 1) {
		unsigned idx = srxe_pt_index(node->level, va);
		struct srxe_pt_node *child;

		if (node->e[idx] & SRXE_PTE_PRESENT) {
			node = child_of(node->e[idx]);
			continue;
		}
		child = node_new(
			pt, node->level - 1, node, idx,
			va >> srxe_pt_span_shift(node->level - 1)
					<< srxe_pt_span_shift(node->level - 1));
		if (!child) {
			prune(pt, node);
			return NULL;
		}
		node->e[idx] = (uint64_t)(uintptr_t)child | SRXE_PTE_PRESENT;
		node->used++;
		node = child;
	}
	return node;
}

uint64_t srxe_pt_lookup(const struct srxe_pt *pt, uint64_t va)
{
	const struct srxe_pt_node *leaf = find_leaf(pt, va);

	return leaf ? leaf->e[srxe_pt_index(1, va)] : 0;
}

/* Frames allocated for a pin but not yet installed in entries. */
struct pending_run {
	uint32_t first;
	uint32_t left;
	uint64_t absent_left; /* absent pages ahead, counted once per gap */
};

static uint64_t count_absent(const struct srxe_pt *pt, uint64_t va,
			     uint64_t end)
{
	uint64_t n = 0;

	for (; va < end && n < UINT32_MAX; va += SRXE_FRAME_SIZE, n++)
		if (srxe_pt_lookup(pt, va) & SRXE_PTE_PRESENT)
			break;
	return n;
}

static int install_frame(struct srxe_pt *pt, struct srxe_pt_node *leaf,
			 uint64_t va, uint64_t end, struct pending_run *run,
			 struct srxe_runs *new_runs)
{
	if (!run->left) {
		if (!run->absent_left)
			run->absent_left = count_absent(pt, va, end);
		run->left = srxe_frames_alloc(pt->frames, run->absent_left,
					      &run->first);
		if (!run->left)
			return -ENOMEM;
	}
	if (new_runs && srxe_runs_add_page(new_runs, va, run->first))
		return -ENOMEM;
	leaf->e[srxe_pt_index(1, va)] =
		(uint64_t)run->first << SRXE_FRAME_SHIFT | SRXE_PTE_PRESENT |
		SRXE_PTE_OWNED;
	leaf->used++;
	run->first++;
	run->left--;
	run->absent_left--;
	return 0;
}

static int pin_page(struct srxe_pt *pt, uint64_t va, uint64_t end,
		    bool writable, struct pending_run *run,
		    struct srxe_runs *new_runs)
{
	struct srxe_pt_node *leaf = ensure_leaf(pt, va);
	unsigned idx = srxe_pt_index(1, va);
	int err = 0;

	if (!leaf)
		return -ENOMEM;
	if (!(leaf->e[idx] & SRXE_PTE_PRESENT))
		err = install_frame(pt, leaf, va, end, run, new_runs);
	else if (leaf->pins[idx] == UINT32_MAX)
		err = -ENOMEM;
	if (err) {
		prune(pt, leaf);
		return err;
	}
	leaf->pins[idx]++;
	leaf->e[idx] |= SRXE_PTE_PINNED | (writable ? SRXE_PTE_WRITABLE : 0);
	return 0;
}

int srxe_pt_pin(struct srxe_pt *pt, uint64_t va, uint64_t len, bool writable,
		struct srxe_runs *new_runs)
{
	uint64_t first = va & PAGE_MASK;
	uint64_t end = (va + len + SRXE_FRAME_SIZE - 1) & PAGE_MASK;
	size_t runs_before = new_runs ? new_runs->n : 0;
	struct pending_run run = { 0, 0, 0 };

	for (uint64_t p = first; p < end; p += SRXE_FRAME_SIZE) {
		int err = pin_page(pt, p, end, writable, &run, new_runs);

		if (err) {
			if (run.left)
				srxe_frames_free(pt->frames, run.first,
						 run.left);
			srxe_pt_unpin(pt, first, p - first, NULL);
			if (new_runs)
				new_runs->n = runs_before;
			return err;
		}
	}
	return 0;
}

static void unpin_page(struct srxe_pt *pt, uint64_t va, struct srxe_runs *freed)
{
	struct srxe_pt_node *leaf = find_leaf(pt, va);
	unsigned idx = srxe_pt_index(1, va);
	uint64_t pte;

	if (!leaf || !leaf->pins[idx])
		return;
	if (--leaf->pins[idx])
		return;
	pte = leaf->e[idx] & ~SRXE_PTE_PINNED;
	if (!(pte & SRXE_PTE_OWNED)) {
		leaf->e[idx] = pte;
		return;
	}
	srxe_frames_free(pt->frames, srxe_pte_frame(pte), 1);
	if (freed)
		srxe_runs_add_page(freed, va, srxe_pte_frame(pte));
	leaf->e[idx] = 0;
	leaf->used--;
	prune(pt, leaf);
}

void srxe_pt_unpin(struct srxe_pt *pt, uint64_t va, uint64_t len,
		   struct srxe_runs *freed)
{
	uint64_t end = (va + len + SRXE_FRAME_SIZE - 1) & PAGE_MASK;

	for (uint64_t p = va & PAGE_MASK; p < end; p += SRXE_FRAME_SIZE)
		unpin_page(pt, p, freed);
}

int srxe_pt_map_page(struct srxe_pt *pt, uint64_t va, uint32_t frame,
		     bool writable)
{
	struct srxe_pt_node *leaf = ensure_leaf(pt, va);
	unsigned idx = srxe_pt_index(1, va);

	if (!leaf)
		return -ENOMEM;
	if (leaf->e[idx] & SRXE_PTE_PRESENT)
		return -EEXIST;
	leaf->e[idx] = (uint64_t)frame << SRXE_FRAME_SHIFT | SRXE_PTE_PRESENT |
		       (writable ? SRXE_PTE_WRITABLE : 0);
	leaf->used++;
	return 0;
}

struct srxe_pt_node *srxe_pt_covering_node(const struct srxe_pt *pt,
					   uint64_t va, uint64_t len)
{
	struct srxe_pt_node *node = pt->root;
	uint64_t last = va + len - 1;

	while (node->level > 1) {
		unsigned idx = srxe_pt_index(node->level, va);

		if (idx != srxe_pt_index(node->level, last) ||
		    !(node->e[idx] & SRXE_PTE_PRESENT))
			break;
		node = child_of(node->e[idx]);
	}
	return node;
}

void srxe_pt_hold(struct srxe_pt_node *node)
{
	node->holds++;
}

void srxe_pt_release(struct srxe_pt *pt, struct srxe_pt_node *node)
{
	node->holds--;
	prune(pt, node);
}

const struct srxe_pt_node *srxe_pt_walk_to_leaf(const struct srxe_pt_node *node,
						uint64_t va, int *err)
{
	if ((va ^ node->va_base) >> srxe_pt_span_shift(node->level)) {
		*err = SRXE_XLATE_OUT_OF_BOUNDS;
		return NULL;
	}
	while (node->level > 1) {
		uint64_t entry = node->e[srxe_pt_index(node->level, va)];

		if (!(entry & SRXE_PTE_PRESENT)) {
			*err = SRXE_XLATE_NOT_PRESENT;
			return NULL;
		}
		node = child_of(entry);
	}
	return node;
}

int srxe_pte_check(uint64_t pte, bool write)
{
	if (!(pte & SRXE_PTE_PRESENT))
		return -SRXE_XLATE_NOT_PRESENT;
	if (!(pte & SRXE_PTE_PINNED))
		return -SRXE_XLATE_NOT_PINNED;
	if (write && !(pte & SRXE_PTE_WRITABLE))
		return -SRXE_XLATE_ACCESS_DENIED;
	return 0;
}

int srxe_pt_walk(const struct srxe_pt_node *node, uint64_t va, bool write,
		 uint32_t *frame)
{
	int err = 0;
	const struct srxe_pt_node *leaf = srxe_pt_walk_to_leaf(node, va, &err);
	uint64_t pte;

	if (!leaf)
		return -err;
	pte = leaf->e[srxe_pt_index(1, va)];
	err = srxe_pte_check(pte, write);
	if (!err)
		*frame = srxe_pte_frame(pte);
	return err;
}

uint64_t srxe_pt_table_pages(const struct srxe_pt *pt)
{
	uint64_t n = 0;

	for (unsigned l = 1; l <= SRXE_PT_LEVELS; l++)
		n += pt->nodes[l];
	return n;
}

uint64_t srxe_pt_bytes(const struct srxe_pt *pt)
{
	return srxe_pt_table_pages(pt) * sizeof(struct srxe_pt_node) +
	       pt->nodes[1] * SRXE_PT_ENTRIES * sizeof(uint32_t);
}
