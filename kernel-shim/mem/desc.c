// SPDX-License-Identifier: MIT
#include "desc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void srxe_desc_table_init(struct srxe_desc_table *t, uint32_t owner)
{
	memset(t, 0, sizeof(*t));
	t->free_head = t->free_tail = -1;
	t->owner = owner;
}

static void leave_node(struct srxe_desc_table *t, struct srxe_pt *pt,
		       int32_t idx);

/* Live descriptors leave their nodes' lists and drop their holds: in a
 * shared table other clients' descriptors and the pins stay. */
void srxe_desc_table_destroy(struct srxe_desc_table *t, struct srxe_pt *pt)
{
	for (uint32_t i = 0; i < t->n; i++) {
		if (!t->v[i])
			continue;
		if (t->v[i]->node)
			leave_node(t, pt, (int32_t)i);
		free(t->v[i]->block);
		free(t->v[i]);
	}
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static int32_t pop_free(struct srxe_desc_table *t)
{
	int32_t idx = t->free_head;

	if (idx >= 0) {
		t->free_head = t->v[idx]->next;
		if (t->free_head < 0)
			t->free_tail = -1;
	}
	return idx;
}

static void push_free(struct srxe_desc_table *t, int32_t idx)
{
	t->v[idx]->next = -1;
	if (t->free_tail >= 0)
		t->v[t->free_tail]->next = idx;
	else
		t->free_head = idx;
	t->free_tail = idx;
}

/* A never-used index with a zeroed record, or -1. */
static int32_t new_index(struct srxe_desc_table *t)
{
	if (t->n == SRXE_DESC_MAX)
		return -1;
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 64;
		struct srxe_desc **v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n] = calloc(1, sizeof(struct srxe_desc));
	return t->v[t->n] ? (int32_t)t->n++ : -1;
}

/* This table's entry in the node's list, or NULL. */
static struct srxe_pt_desc_head **find_head(const struct srxe_desc_table *t,
					    struct srxe_pt_node *node)
{
	struct srxe_pt_desc_head **h = &node->descs;

	while (*h && (*h)->table != t)
		h = &(*h)->next;
	return *h ? h : NULL;
}

static struct srxe_pt_desc_head *get_head(struct srxe_desc_table *t,
					  struct srxe_pt_node *node)
{
	struct srxe_pt_desc_head **h = find_head(t, node);
	struct srxe_pt_desc_head *head;

	if (h)
		return *h;
	head = malloc(sizeof(*head));
	if (!head)
		return NULL;
	head->table = t;
	head->first = -1;
	head->next = node->descs;
	node->descs = head;
	return head;
}

static void put_head(struct srxe_desc_table *t, struct srxe_pt_node *node)
{
	struct srxe_pt_desc_head **h = find_head(t, node);
	struct srxe_pt_desc_head *head = h ? *h : NULL;

	if (head && head->first < 0) {
		*h = head->next;
		free(head);
	}
}

static int32_t activate(struct srxe_desc_table *t, struct srxe_pt_node *node)
{
	struct srxe_pt_desc_head *head = get_head(t, node);
	int32_t idx =
		head ? (t->free_head >= 0 ? pop_free(t) : new_index(t)) : -1;
	struct srxe_desc *d;

	if (idx < 0) {
		put_head(t, node);
		return -1;
	}
	d = t->v[idx];
	d->block = calloc(SRXE_PROT_SLOTS, sizeof(*d->block));
	if (!d->block) {
		push_free(t, idx);
		put_head(t, node);
		return -1;
	}
	d->node = node;
	d->owner = t->owner;
	d->level = node->level;
	d->live = 0;
	d->next = head->first;
	head->first = idx;
	srxe_pt_hold(node);
	t->active++;
	return idx;
}

/* Unlink descriptor idx from its node's chain and drop its hold. */
static void leave_node(struct srxe_desc_table *t, struct srxe_pt *pt,
		       int32_t idx)
{
	struct srxe_desc *d = t->v[idx];
	struct srxe_pt_node *node = d->node;
	int32_t *link = &(*find_head(t, node))->first;

	while (*link != idx)
		link = &t->v[*link]->next;
	*link = d->next;
	put_head(t, node);
	d->node = NULL;
	srxe_pt_release(pt, node);
}

static void deactivate(struct srxe_desc_table *t, struct srxe_pt *pt,
		       int32_t idx)
{
	struct srxe_desc *d = t->v[idx];

	free(d->block);
	d->block = NULL;
	t->active--;
	leave_node(t, pt, idx);
	push_free(t, idx);
}

static int32_t desc_with_room(struct srxe_desc_table *t,
			      struct srxe_pt_node *node)
{
	struct srxe_pt_desc_head **h = find_head(t, node);

	for (int32_t i = h ? (*h)->first : -1; i >= 0; i = t->v[i]->next)
		if (t->v[i]->live < SRXE_PROT_SLOTS)
			return i;
	return activate(t, node);
}

static uint32_t take_slot(struct srxe_desc *d)
{
	uint32_t slot = d->cursor;

	while (d->block[slot].state != SRXE_PROT_FREE)
		slot = (slot + 1) % SRXE_PROT_SLOTS;
	d->cursor = (uint8_t)(slot + 1);
	d->live++;
	d->block[slot].gen = d->next_gen[slot];
	return slot;
}

int srxe_desc_reserve(struct srxe_desc_table *t, struct srxe_pt_node *node,
		      uint32_t *desc, uint32_t *slot)
{
	int32_t idx = desc_with_room(t, node);

	if (idx < 0)
		return -ENOMEM;
	*desc = (uint32_t)idx;
	*slot = take_slot(t->v[idx]);
	return 0;
}

void srxe_desc_release(struct srxe_desc_table *t, struct srxe_pt *pt,
		       uint32_t desc, uint32_t slot)
{
	struct srxe_desc *d = t->v[desc];
	struct srxe_prot_entry *e = &d->block[slot];

	d->next_gen[slot] = (e->gen + 1) & SRXE_GEN_MASK;
	memset(e, 0, sizeof(*e));
	if (--d->live == 0)
		deactivate(t, pt, (int32_t)desc);
}

uint64_t srxe_desc_table_bytes(const struct srxe_desc_table *t)
{
	return (uint64_t)t->cap * sizeof(*t->v) +
	       (uint64_t)t->n * sizeof(struct srxe_desc) +
	       (uint64_t)t->active * SRXE_PROT_SLOTS *
		       sizeof(struct srxe_prot_entry);
}
