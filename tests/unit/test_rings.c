// SPDX-License-Identifier: MIT
/*
 * The provider's ring helpers (providers/srxe/srxe_rings.[ch]): geometry
 * from srxed is checked against the arena before use, free-running
 * indices wrap, and the doorbell costs a write only while the engine
 * sleeps.  The arena is a plain page-aligned allocation here.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "srxe_rings.h"

#define ARENA_BYTES (16 * SRXE_PAGE_SIZE)

static struct srxe_arena arena;

static void arena_setup(void)
{
	arena.base = aligned_alloc(SRXE_PAGE_SIZE, ARENA_BYTES);
	cr_assert(arena.base);
	memset(arena.base, 0, ARENA_BYTES);
	arena.bytes = ARENA_BYTES;
	arena.doorbell_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	cr_assert(arena.doorbell_fd >= 0);
}

static void arena_teardown(void)
{
	close(arena.doorbell_fd);
	free(arena.base);
}

TestSuite(rings, .init = arena_setup, .fini = arena_teardown);

static struct srxe_ring_desc desc_of(uint64_t offset, uint32_t size,
				     uint32_t stride)
{
	struct srxe_ring_desc d = {
		.offset = offset,
		.bytes = srxe_ring_bytes(size, stride),
		.size = size,
		.stride = stride,
	};

	return d;
}

Test(rings, attach_accepts_a_ring_inside_the_arena)
{
	struct srxe_ring_desc d = desc_of(SRXE_PAGE_SIZE, 64, 128);
	struct srxe_ring ring;

	cr_assert_eq(srxe_ring_attach(&arena, &d, 96, &ring), 0);
	cr_assert_eq((char *)ring.hdr, (char *)arena.base + SRXE_PAGE_SIZE);
	cr_assert_eq(ring.size, 64);
	cr_assert_eq(ring.stride, 128);
	cr_assert_eq(ring.head, 0);
	cr_assert_eq((char *)srxe_ring_at(&ring, 65),
		     (char *)ring.hdr + SRXE_RING_SLOTS_OFFSET + 128);

	/* the last ring that still fits */
	d = desc_of(ARENA_BYTES - srxe_ring_bytes(8, 64), 8, 64);
	cr_assert_eq(srxe_ring_attach(&arena, &d, 64, &ring), 0);
}

Test(rings, attach_refuses_bad_geometry)
{
	struct srxe_ring ring;
	struct srxe_ring_desc d;

	d = desc_of(SRXE_PAGE_SIZE, 48, 128); /* size not a power of two */
	cr_assert_eq(srxe_ring_attach(&arena, &d, 64, &ring), EPROTO);
	d = desc_of(SRXE_PAGE_SIZE, 64, 96); /* stride not a power of two */
	cr_assert_eq(srxe_ring_attach(&arena, &d, 64, &ring), EPROTO);
	d = desc_of(SRXE_PAGE_SIZE, 64, 64); /* slot smaller than a WQE */
	cr_assert_eq(srxe_ring_attach(&arena, &d, 80, &ring), EPROTO);
	d = desc_of(0, 8, 64); /* over the context page */
	cr_assert_eq(srxe_ring_attach(&arena, &d, 64, &ring), EPROTO);
	d = desc_of(SRXE_PAGE_SIZE + 64, 8, 64); /* not page aligned */
	cr_assert_eq(srxe_ring_attach(&arena, &d, 64, &ring), EPROTO);
	d = desc_of(ARENA_BYTES - SRXE_PAGE_SIZE, 64, 128); /* runs past */
	cr_assert_eq(srxe_ring_attach(&arena, &d, 64, &ring), EPROTO);
	d = desc_of(UINT64_MAX - SRXE_PAGE_SIZE + 1, 8, 64); /* wraps */
	cr_assert_eq(srxe_ring_attach(&arena, &d, 64, &ring), EPROTO);
	d = desc_of(SRXE_PAGE_SIZE, 64, 128);
	d.bytes -= SRXE_PAGE_SIZE; /* region smaller than its slots */
	cr_assert_eq(srxe_ring_attach(&arena, &d, 64, &ring), EPROTO);
}

static struct srxe_ring attached(uint32_t size)
{
	struct srxe_ring_desc d = desc_of(SRXE_PAGE_SIZE, size, 64);
	struct srxe_ring ring;

	cr_assert_eq(srxe_ring_attach(&arena, &d, 64, &ring), 0);
	return ring;
}

Test(rings, producer_room_across_index_wrap)
{
	struct srxe_ring ring = attached(8);

	ring.head = UINT32_MAX - 2;
	ring.hdr->cons.val = UINT32_MAX - 2;
	cr_assert_eq(srxe_ring_room_from(&ring, ring.head), 8);
	cr_assert_eq(srxe_ring_room_from(&ring, ring.head + 5), 3);
	cr_assert_eq(srxe_ring_room_from(&ring, ring.head + 8), 0);
	ring.head += 8; /* wrapped past zero */
	srxe_ring_publish(&ring);
	cr_assert_eq(ring.hdr->prod.val, 5);
	ring.hdr->cons.val = 1; /* engine consumed 4 */
	cr_assert_eq(srxe_ring_room_from(&ring, ring.head), 4);
	/* an index the engine cannot have written is never "room" */
	ring.hdr->cons.val = ring.head + 1;
	cr_assert_eq(srxe_ring_room_from(&ring, ring.head), 0);
}

Test(rings, consumer_sees_only_plausible_entries)
{
	struct srxe_ring ring = attached(8);

	ring.head = UINT32_MAX;
	ring.hdr->prod.val = 2; /* three CQEs across the wrap */
	cr_assert_eq(srxe_ring_ready(&ring), 3);
	ring.head += 3;
	srxe_ring_consume(&ring);
	cr_assert_eq(ring.hdr->cons.val, 2);
	cr_assert_eq(srxe_ring_ready(&ring), 0);
	ring.hdr->prod.val = ring.head + 9; /* more than the ring holds */
	cr_assert_eq(srxe_ring_ready(&ring), 0);
}

static uint64_t doorbell_count(void)
{
	uint64_t v = 0;

	if (read(arena.doorbell_fd, &v, sizeof(v)) < 0)
		cr_assert_eq(errno, EAGAIN);
	return v;
}

Test(rings, doorbell_only_while_the_engine_sleeps)
{
	struct srxe_ctx_page *page = arena.base;

	page->engine_sleeping = 0;
	srxe_arena_kick(&arena);
	cr_assert_eq(doorbell_count(), 0);
	page->engine_sleeping = 1;
	srxe_arena_kick(&arena);
	srxe_arena_kick(&arena);
	cr_assert_eq(doorbell_count(), 2);
}

Test(rings, unavailable_arena_names_its_reason)
{
	struct srxe_arena none = { .base = NULL, .unavailable = EOPNOTSUPP };

	errno = 0;
	cr_assert_eq(srxe_arena_check(&none), EOPNOTSUPP);
	cr_assert_eq(errno, EOPNOTSUPP);
	cr_assert_eq(srxe_arena_check(&arena), 0);
}

/* XRC_SEND WQEs carry the remote SRQ number in the union's last word,
 * which RDMA and UD leave alone and atomics only as reserved: the fields
 * an XRC READ/WRITE/atomic needs all survive beside it. */
Test(rings, xrc_srqn_shares_no_used_field)
{
	struct srxe_send_wqe w;

	cr_assert_eq(sizeof(w.xrc), sizeof(w.atomic));
	cr_assert_eq(offsetof(struct srxe_send_wqe, xrc.remote_srqn),
		     offsetof(struct srxe_send_wqe, atomic.reserved));
	cr_assert_geq(offsetof(struct srxe_send_wqe, xrc.remote_srqn),
		      offsetof(struct srxe_send_wqe, rdma) + sizeof(w.rdma));
	cr_assert_geq(offsetof(struct srxe_send_wqe, xrc.remote_srqn),
		      offsetof(struct srxe_send_wqe, ud) + sizeof(w.ud));
	cr_assert_eq(sizeof(w), 64, "the union did not grow");
}
