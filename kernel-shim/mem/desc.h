/* SPDX-License-Identifier: MIT */
/*
 * Table descriptors of the shortcut mode (daemon-private).
 *
 * A descriptor names one translation-table node of one client and carries
 * a protection block of SRXE_PROT_SLOTS MR slots.  A key's plaintext holds
 * a descriptor index (16 bits), so a client has up to SRXE_DESC_MAX
 * descriptors.  Normally a node has one descriptor; when its block is full
 * another ("alias") descriptor for the same node is chained in, so the
 * number of MRs per table page is unlimited up to the client's total of
 * SRXE_DESC_MAX * SRXE_PROT_SLOTS.
 *
 * Stale keys: a slot's generation (6 bits) is bumped on every free and is
 * kept even while the descriptor is inactive or reused for another node,
 * so the same (descriptor, slot, generation) triple comes back only after
 * 64 reuses of that exact slot.  Slots are handed out round robin inside a
 * descriptor and inactive descriptors are reused oldest first, which
 * spreads reuse and delays that wrap.
 *
 * A descriptor holds its node (srxe_pt_hold) while it has live slots.
 * The table is per client while the translation table may be shared by
 * the clients of one process (translate.h): a node then carries one
 * alias chain per client (struct srxe_pt_desc_head), so a client never
 * reserves a slot in, or finds, another client's descriptor, and every
 * client's descriptors count in the node's holds.
 */
#ifndef SRXE_MEM_DESC_H
#define SRXE_MEM_DESC_H

#include <stdint.h>

#include "pagetable.h"
#include "prot.h"

#define SRXE_DESC_MAX	65536u
#define SRXE_PROT_SLOTS 256u
#define SRXE_GEN_MASK	63u

struct srxe_desc {
	struct srxe_pt_node *node;     /* NULL while inactive */
	struct srxe_prot_entry *block; /* SRXE_PROT_SLOTS entries if active */
	uint32_t owner;		       /* client id */
	int32_t next;		       /* alias chain, or free queue link */
	uint16_t live;		       /* live slots */
	uint8_t level;		       /* == node->level */
	uint8_t cursor;		       /* round robin: next slot to try */
	uint8_t next_gen[SRXE_PROT_SLOTS];
};

struct srxe_desc_table {
	struct srxe_desc **v;
	uint32_t n;   /* indices ever used */
	uint32_t cap; /* capacity of v */
	int32_t free_head;
	int32_t free_tail;
	uint32_t active;
	uint32_t owner;
};

void srxe_desc_table_init(struct srxe_desc_table *t, uint32_t owner);
void srxe_desc_table_destroy(struct srxe_desc_table *t, struct srxe_pt *pt);

/*
 * Reserve a free slot for an MR whose covering node is node.  Returns 0
 * with *desc and *slot set (entry state still FREE, gen preset), or
 * -ENOMEM (no descriptor index left, out of memory).
 */
int srxe_desc_reserve(struct srxe_desc_table *t, struct srxe_pt_node *node,
		      uint32_t *desc, uint32_t *slot);

/* Free a reserved or live slot: bumps its generation, may deactivate. */
void srxe_desc_release(struct srxe_desc_table *t, struct srxe_pt *pt,
		       uint32_t desc, uint32_t slot);

/* Active descriptor idx, or NULL. */
static inline const struct srxe_desc *
srxe_desc_get(const struct srxe_desc_table *t, uint32_t idx)
{
	const struct srxe_desc *d = idx < t->n ? t->v[idx] : NULL;

	return d && d->node ? d : NULL;
}

uint64_t srxe_desc_table_bytes(const struct srxe_desc_table *t);

#endif /* SRXE_MEM_DESC_H */
