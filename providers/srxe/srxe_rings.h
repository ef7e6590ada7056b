/* SPDX-License-Identifier: MIT */
/*
 * The provider's side of the virtual interface (include/srxe/ring.h): the
 * context's ring arena and doorbell, and the index arithmetic of one ring.
 *
 * The provider is the only writer of a work ring's prod and of a CQ
 * ring's cons, so it keeps its own copy of that index ("head") and only
 * ever stores it to shared memory; the other index is read with an
 * acquire load so that slot contents written before it are visible.
 * Geometry (size, stride, where the ring lives) comes from srxed's reply,
 * is checked against the arena once, and is never read back from the
 * arena.  Callers serialize access to one ring (per-queue locks).
 *
 * Fetching the arena from srxed is srxe_arena_open() (srxe.h); this header
 * and srxe_rings.c need neither libibverbs nor a connection.
 */
#ifndef SRXE_PROVIDER_RINGS_H
#define SRXE_PROVIDER_RINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "srxe/proto_verbs.h"
#include "srxe/ring.h"

/*
 * The ring arena of a context.  base == NULL means srxed offers no data
 * path (an older srxed answered MAP_RINGS with EOPNOTSUPP, or mapping
 * failed): unavailable says why, and the #4 verbs fail with it.
 */
struct srxe_arena {
	void *base;
	uint64_t bytes;
	int doorbell_fd; /* eventfd, -1 when absent */
	int unavailable; /* positive errno while base == NULL */
};

/* One ring as the provider uses it. */
struct srxe_ring {
	struct srxe_ring_hdr *hdr;
	uint32_t size;	 /* slots, power of two */
	uint32_t stride; /* bytes per slot */
	uint32_t head;	 /* our index: prod of a work ring, cons of a CQ */
};

/* Unmaps and closes; the arena is unavailable (EOPNOTSUPP) afterwards. */
void srxe_arena_close(struct srxe_arena *arena);

/* 0, or the positive errno the #4 verbs must fail with (errno is set). */
int srxe_arena_check(const struct srxe_arena *arena);

/*
 * Point ring at the region desc names, after checking that it lies inside
 * the arena, is page aligned, holds size slots of stride >= min_stride
 * bytes and that size and stride are powers of two.  0 or EPROTO.
 */
int srxe_ring_attach(const struct srxe_arena *arena,
		     const struct srxe_ring_desc *desc, uint32_t min_stride,
		     struct srxe_ring *ring);

/*
 * Tell the engine that producer indices moved: a fence orders our prod
 * stores before reading engine_sleeping, and only a sleeping engine costs
 * a write(2) to the eventfd (see include/srxe/ring.h).
 */
void srxe_arena_kick(const struct srxe_arena *arena);

static inline void *srxe_ring_at(const struct srxe_ring *ring, uint32_t idx)
{
	return srxe_ring_slot(ring->hdr, idx, ring->size, ring->stride);
}

/* Work ring: slots free from index idx on (idx >= head, not published). */
static inline uint32_t srxe_ring_room_from(const struct srxe_ring *ring,
					   uint32_t idx)
{
	uint32_t cons = __atomic_load_n(&ring->hdr->cons.val, __ATOMIC_ACQUIRE);
	uint32_t used = idx - cons;

	return used >= ring->size ? 0 : ring->size - used;
}

/* Work ring: make slots [published prod, head) visible to the engine. */
static inline void srxe_ring_publish(struct srxe_ring *ring)
{
	__atomic_store_n(&ring->hdr->prod.val, ring->head, __ATOMIC_RELEASE);
}

/* CQ ring: entries the engine has written and we have not consumed. */
static inline uint32_t srxe_ring_ready(const struct srxe_ring *ring)
{
	uint32_t prod = __atomic_load_n(&ring->hdr->prod.val, __ATOMIC_ACQUIRE);
	uint32_t ready = prod - ring->head;

	/* the engine never overruns; anything else is not a CQE */
	return ready > ring->size ? 0 : ready;
}

/* CQ ring: hand the slots before head back to the engine. */
static inline void srxe_ring_consume(struct srxe_ring *ring)
{
	__atomic_store_n(&ring->hdr->cons.val, ring->head, __ATOMIC_RELEASE);
}

#endif /* SRXE_PROVIDER_RINGS_H */
