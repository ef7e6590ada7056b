/* SPDX-License-Identifier: MIT */
/*
 * Handle tables: map the 32-bit handles clients name objects by (PDs now;
 * MRs, CQs, QPs later) to daemon objects.
 *
 * Contract:
 *  - A handle is (generation << 16 | slot).  Freeing a slot bumps its
 *    generation, so a stale or forged handle looks up as NULL instead of
 *    reaching whatever reused the slot.  0 is never a valid handle.
 *  - alloc, lookup and free are O(1) (growth is amortized O(1)); the table
 *    never holds more than its capacity (at most SRXED_HANDLES_MAX).
 *  - The table stores pointers only; it never owns or frees objects.
 */
#ifndef SRXED_HANDLES_H
#define SRXED_HANDLES_H

#include <stdint.h>

#define SRXED_HANDLES_MAX (1u << 16)

struct srxed_handle_slot;

struct srxed_handles {
	struct srxed_handle_slot *slots;
	uint32_t allocated; /* slots in the array */
	uint32_t capacity;  /* upper bound for allocated */
	uint32_t used;
	uint32_t free_head; /* index of first free slot, or UINT32_MAX */
};

/* capacity: 1..SRXED_HANDLES_MAX.  Returns 0 or -EINVAL. */
int srxed_handles_init(struct srxed_handles *t, uint32_t capacity);
void srxed_handles_destroy(struct srxed_handles *t);

/* Returns 0, or -ENOSPC when the table is at capacity, -ENOMEM if the
 * process is out of memory.  obj must not be NULL.
 */
int srxed_handle_alloc(struct srxed_handles *t, void *obj, uint32_t *handle);
/* NULL when the handle is not live. */
void *srxed_handle_lookup(const struct srxed_handles *t, uint32_t handle);
/* Removes and returns the object, or NULL when the handle is not live. */
void *srxed_handle_free(struct srxed_handles *t, uint32_t handle);

static inline uint32_t srxed_handles_count(const struct srxed_handles *t)
{
	return t->used;
}

/*
 * Frees every live entry in one pass, handing each object to release (for
 * tearing a client down).  release must not use the table.
 */
void srxed_handles_drain(struct srxed_handles *t,
			 void (*release)(void *obj, uint32_t handle, void *arg),
			 void *arg);

#endif /* SRXED_HANDLES_H */
