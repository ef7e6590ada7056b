/* SPDX-License-Identifier: MIT */
/*
 * 4-level translation table (x86-64 shape) of one memory space (one client
 * process: every context of the process shares it, translate.h) mapping
 * the process's virtual pages onto data frames of its slab, with per-page
 * pin counts.
 *
 * Shape: 48-bit VA, table pages of 512 8-byte entries.  Level 1 is the leaf
 * (one table page covers 2 MiB), level 2 covers 1 GiB, level 3 512 GiB and
 * the level-4 root the whole 256 TiB.
 *
 * Entries (uint64_t):
 *   leaf:     frame << 12 | OWNED | PINNED | WRITABLE | PRESENT
 *   interior: pointer to the child node (4 KiB aligned) | PRESENT
 * A leaf's pin counts live in a parallel array of the leaf node; PINNED
 * mirrors "pin count > 0" so the walk needs only the entry.  OWNED means
 * the frame was allocated by srxe_pt_pin() and is freed (and the entry
 * cleared) when the pin count drops to 0; pages installed with
 * srxe_pt_map_page() stay present, unpinned, when unpinned.
 *
 * Table nodes are daemon-private memory (never in the slab).  A node is
 * freed when it has no present entry and no holder: descriptors that point
 * at a node take a hold (srxe_pt_hold) so a key can never reach freed
 * memory, even if pages under it were unpinned behind the MR's back.
 * Several clients' descriptors may point at one node: holds count them
 * all, and each client finds its own descriptors of a node through its
 * entry in the node's descs list (desc.h).
 *
 * Not thread-safe; walks are read-only and may run concurrently with each
 * other, not with pin/unpin.
 */
#ifndef SRXE_MEM_PAGETABLE_H
#define SRXE_MEM_PAGETABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "frames.h"

#define SRXE_PT_LEVELS	 4
#define SRXE_PT_ENTRIES	 512
#define SRXE_PT_VA_BITS	 48
#define SRXE_PT_USER_TOP (1ull << 47) /* canonical user half */

#define SRXE_PTE_PRESENT  (1ull << 0)
#define SRXE_PTE_WRITABLE (1ull << 1)
#define SRXE_PTE_PINNED	  (1ull << 2)
#define SRXE_PTE_OWNED	  (1ull << 3)
#define SRXE_PTE_FLAGS	  0xfffull

/* The descriptors one descriptor table (one client) has for a node. */
struct srxe_pt_desc_head {
	struct srxe_pt_desc_head *next;
	const void *table; /* the struct srxe_desc_table */
	int32_t first;	   /* first descriptor index of the alias chain */
};

struct srxe_pt_node {
	uint64_t e[SRXE_PT_ENTRIES]; /* first: the node *is* the table page */
	uint32_t *pins;		     /* leaf only: pin count per entry */
	struct srxe_pt_node *parent;
	uint64_t va_base; /* first VA covered */
	uint16_t used;	  /* present entries */
	uint16_t index_in_parent;
	uint8_t level;	/* 1 = leaf ... 4 = root */
	uint32_t holds; /* descriptors and windows pointing here */
	struct srxe_pt_desc_head *descs; /* per client; NULL if none */
};

struct srxe_pt {
	struct srxe_pt_node *root;
	struct srxe_frames *frames;
	uint64_t nodes[SRXE_PT_LEVELS + 1]; /* live nodes per level */
	/*
	 * Translation generation of the memory space (tlb.h): a value never
	 * held by this or any other table before, taken anew by
	 * srxe_pt_changed() whenever a cached translation through this table
	 * may have become wrong -- a node freed here, a key changed by the
	 * memory core.  Written under the same exclusion as the table.
	 */
	uint64_t gen;
};

/* Bytes of VA one node of this level covers: 2 MiB << 9 * (level - 1). */
static inline unsigned srxe_pt_span_shift(unsigned level)
{
	return SRXE_FRAME_SHIFT + 9 * level;
}

static inline unsigned srxe_pt_index(unsigned level, uint64_t va)
{
	return (va >> (SRXE_FRAME_SHIFT + 9 * (level - 1))) &
	       (SRXE_PT_ENTRIES - 1);
}

int srxe_pt_init(struct srxe_pt *pt, struct srxe_frames *frames);

/* Move pt->gen to a fresh value (process-wide clock, never reused). */
void srxe_pt_changed(struct srxe_pt *pt);
/* Frees every node (frames are NOT returned to the allocator). */
void srxe_pt_destroy(struct srxe_pt *pt);

/*
 * Pin every page of [va, va + len) (len > 0, va + len <= SRXE_PT_USER_TOP).
 * Present pages are reused (pin count + 1); absent pages get frames from
 * the allocator, in runs as long as possible, appended to new_runs (may be
 * NULL).  writable marks the pages writable.  All or nothing: -ENOMEM
 * (slab full, no memory for a node, pin count saturated) leaves the table
 * and new_runs as they were.
 */
int srxe_pt_pin(struct srxe_pt *pt, uint64_t va, uint64_t len, bool writable,
		struct srxe_runs *new_runs);

/*
 * Drop one pin from every page of [va, va + len) (each must be pinned).
 * Owned frames whose count reaches 0 are freed and appended to freed (may
 * be NULL; pages are appended even if growing the list fails).
 */
void srxe_pt_unpin(struct srxe_pt *pt, uint64_t va, uint64_t len,
		   struct srxe_runs *freed);

/* Install a present, unpinned, not-owned page.  -EEXIST, -ENOMEM. */
int srxe_pt_map_page(struct srxe_pt *pt, uint64_t va, uint32_t frame,
		     bool writable);

/* Leaf entry for va, or 0 when absent. */
uint64_t srxe_pt_lookup(const struct srxe_pt *pt, uint64_t va);

/* Lowest-level existing node whose span contains [va, va + len). */
struct srxe_pt_node *srxe_pt_covering_node(const struct srxe_pt *pt,
					   uint64_t va, uint64_t len);

void srxe_pt_hold(struct srxe_pt_node *node);
/* Drop a hold; frees the node (and empty ancestors) when unused. */
void srxe_pt_release(struct srxe_pt *pt, struct srxe_pt_node *node);

/*
 * Walk from node (any level) down to the leaf node for va.  Returns the
 * leaf or NULL with *err = SRXE_XLATE_NOT_PRESENT (an interior entry is
 * absent) or SRXE_XLATE_OUT_OF_BOUNDS (va outside the node's span).
 */
const struct srxe_pt_node *srxe_pt_walk_to_leaf(const struct srxe_pt_node *node,
						uint64_t va, int *err);

/*
 * walk(table, level, va) -> frame.  Returns 0 and *frame, or a negative
 * srxe_xlate_err (NOT_PRESENT, NOT_PINNED, ACCESS_DENIED if write and the
 * page is not writable, OUT_OF_BOUNDS).
 */
int srxe_pt_walk(const struct srxe_pt_node *node, uint64_t va, bool write,
		 uint32_t *frame);

/* Check one leaf entry as the walk does; 0 or negative srxe_xlate_err. */
int srxe_pte_check(uint64_t pte, bool write);

static inline uint32_t srxe_pte_frame(uint64_t pte)
{
	return (uint32_t)(pte >> SRXE_FRAME_SHIFT);
}

/* Bytes of daemon memory held by table nodes (pages + metadata). */
uint64_t srxe_pt_bytes(const struct srxe_pt *pt);
uint64_t srxe_pt_table_pages(const struct srxe_pt *pt);

#endif /* SRXE_MEM_PAGETABLE_H */
