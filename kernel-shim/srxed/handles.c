// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "handles.h"

#define SLOT_BITS	 16
#define SLOT_MASK	 ((1u << SLOT_BITS) - 1)
#define GEN_MAX		 0xffffu
#define NO_SLOT		 UINT32_MAX
#define FIRST_ALLOCATION 16u

struct srxed_handle_slot {
	void *obj;	    /* NULL when free */
	uint32_t next_free; /* free-list link while free */
	uint16_t gen;	    /* 1..GEN_MAX, so a handle is never 0 */
};

int srxed_handles_init(struct srxed_handles *t, uint32_t capacity)
{
	memset(t, 0, sizeof(*t));
	t->free_head = NO_SLOT;
	if (capacity == 0 || capacity > SRXED_HANDLES_MAX)
		return -EINVAL;
	t->capacity = capacity;
	return 0;
}

void srxed_handles_destroy(struct srxed_handles *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
	t->free_head = NO_SLOT;
}

/* Doubles the array; the new slots go on the free list lowest first. */
static int grow(struct srxed_handles *t)
{
	uint32_t want, i;
	struct srxed_handle_slot *s;

	if (t->allocated >= t->capacity)
		return -ENOSPC;
	want = t->allocated ? t->allocated * 2 : FIRST_ALLOCATION;
	if (want > t->capacity)
		want = t->capacity;
	s = realloc(t->slots, want * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = want; i-- > t->allocated;) {
		s[i].obj = NULL;
		s[i].gen = 1;
		s[i].next_free = t->free_head;
		t->free_head = i;
	}
	t->slots = s;
	t->allocated = want;
	return 0;
}

static uint32_t make_handle(uint32_t slot, uint16_t gen)
{
	return (uint32_t)gen << SLOT_BITS | slot;
}

int srxed_handle_alloc(struct srxed_handles *t, void *obj, uint32_t *handle)
{
	struct srxed_handle_slot *s;
	uint32_t slot;
	int ret;

	if (!obj)
		return -EINVAL;
	if (t->free_head == NO_SLOT) {
		ret = grow(t);
		if (ret)
			return ret;
	}
	slot = t->free_head;
	s = &t->slots[slot];
	t->free_head = s->next_free;
	s->obj = obj;
	t->used++;
	*handle = make_handle(slot, s->gen);
	return 0;
}

static struct srxed_handle_slot *live_slot(const struct srxed_handles *t,
					   uint32_t handle)
{
	uint32_t slot = handle & SLOT_MASK;
	struct srxed_handle_slot *s;

	if (slot >= t->allocated)
		return NULL;
	s = &t->slots[slot];
	if (!s->obj || s->gen != handle >> SLOT_BITS)
		return NULL;
	return s;
}

void *srxed_handle_lookup(const struct srxed_handles *t, uint32_t handle)
{
	struct srxed_handle_slot *s = live_slot(t, handle);

	return s ? s->obj : NULL;
}

void *srxed_handle_free(struct srxed_handles *t, uint32_t handle)
{
	struct srxed_handle_slot *s = live_slot(t, handle);
	void *obj;

	if (!s)
		return NULL;
	obj = s->obj;
	s->obj = NULL;
	s->gen = s->gen == GEN_MAX ? 1 : s->gen + 1;
	s->next_free = t->free_head;
	t->free_head = s - t->slots;
	t->used--;
	return obj;
}

void srxed_handles_drain(struct srxed_handles *t,
			 void (*release)(void *obj, uint32_t handle, void *arg),
			 void *arg)
{
	uint32_t i, h;

	for (i = 0; i < t->allocated && t->used; i++) {
		if (!t->slots[i].obj)
			continue;
		h = make_handle(i, t->slots[i].gen);
		release(srxed_handle_free(t, h), h, arg);
	}
}
