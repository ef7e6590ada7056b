// SPDX-License-Identifier: MIT
/*
 * Ring geometry checks, arena teardown and the doorbell (contract in
 * srxe_rings.h and include/srxe/ring.h).  No libibverbs and no connection
 * here, so that tests/unit/test_rings.c can exercise it directly.
 */
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "srxe_rings.h"

static bool srxe_is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

void srxe_arena_close(struct srxe_arena *arena)
{
	if (arena->base)
		munmap(arena->base, arena->bytes);
	if (arena->doorbell_fd >= 0)
		close(arena->doorbell_fd);
	arena->base = NULL;
	arena->bytes = 0;
	arena->doorbell_fd = -1;
	arena->unavailable = EOPNOTSUPP;
}

int srxe_arena_check(const struct srxe_arena *arena)
{
	if (arena->base)
		return 0;
	errno = arena->unavailable ? arena->unavailable : EOPNOTSUPP;
	return errno;
}

int srxe_ring_attach(const struct srxe_arena *arena,
		     const struct srxe_ring_desc *desc, uint32_t min_stride,
		     struct srxe_ring *ring)
{
	uint64_t need;

	if (!srxe_is_pow2(desc->size) || !srxe_is_pow2(desc->stride) ||
	    desc->stride < min_stride)
		return EPROTO;
	need = srxe_ring_bytes(desc->size, desc->stride);
	/* offset 0 is the context page; the ring must fit after it */
	if (desc->offset < SRXE_PAGE_SIZE || desc->offset % SRXE_PAGE_SIZE ||
	    desc->bytes < need || desc->offset > arena->bytes ||
	    arena->bytes - desc->offset < desc->bytes)
		return EPROTO;
	ring->hdr =
		(struct srxe_ring_hdr *)((char *)arena->base + desc->offset);
	ring->size = desc->size;
	ring->stride = desc->stride;
	ring->head = 0;
	return 0;
}

void srxe_arena_kick(const struct srxe_arena *arena)
{
	const struct srxe_ctx_page *page = arena->base;
	uint64_t one = 1;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&page->engine_sleeping, __ATOMIC_RELAXED))
		return;
	/* EAGAIN: the counter is saturated, the engine wakes anyway */
	if (write(arena->doorbell_fd, &one, sizeof(one)) < 0)
		return;
}
