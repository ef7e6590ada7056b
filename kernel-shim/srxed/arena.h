/* SPDX-License-Identifier: MIT */
/*
 * A context's ring arena (include/srxe/ring.h): one sparse memfd
 * ("srxe-rings") that srxed maps shared and hands to the provider, carved
 * into page-aligned ring regions.  Page 0 is struct srxe_ctx_page.
 *
 * Contract:
 *  - Regions are whole pages, one contiguous run each; the first page is
 *    never handed out.
 *  - A fresh region reads as zero (released regions are punched back into
 *    holes), so a new ring starts with prod == cons == 0.
 *  - srxed never trusts the arena's contents: it only writes the geometry
 *    copies of a new ring header and reads indices the engine checks.
 *  - Not thread-safe; the control plane owns it.
 */
#ifndef SRXED_ARENA_H
#define SRXED_ARENA_H

#include <stdbool.h>
#include <stdint.h>

#include "frames.h"
#include "srxe/proto_verbs.h"
#include "srxe/ring.h"

/* 256 MiB of address space, sparse: only touched ring pages cost memory. */
#define SRXED_ARENA_BYTES (256ull << 20)

struct srxed_arena {
	int fd; /* memfd, close-on-exec; -1 when none */
	void *base;
	uint64_t bytes;
	struct srxe_frames pages; /* page allocator; bit 0 = the ctx page */
	/*
	 * The whole arena is going (context closing): freed rings keep their
	 * bytes, so a client that outlives srxed can still flush what it
	 * posted (providers/srxe/srxe_fatal.h).
	 */
	bool keep_contents;
};

/* 0, or a negative errno with *why naming the failing step. */
int srxed_arena_create(struct srxed_arena *a, uint64_t bytes, const char **why);
void srxed_arena_destroy(struct srxed_arena *a);

static inline struct srxe_ctx_page *srxed_arena_ctx_page(struct srxed_arena *a)
{
	return a->base;
}

/*
 * Allocates a zeroed region for a ring of size slots of stride bytes,
 * writes the geometry copies into its header and describes it in *desc.
 * -ENOMEM when the arena has no run of that many pages.
 */
int srxed_arena_alloc_ring(struct srxed_arena *a, uint32_t size,
			   uint32_t stride, struct srxe_ring_desc *desc);
/* Returns the region of desc to the arena (punched: reads as zero). */
void srxed_arena_free_ring(struct srxed_arena *a,
			   const struct srxe_ring_desc *desc);

static inline struct srxe_ring_hdr *
srxed_arena_ring(struct srxed_arena *a, const struct srxe_ring_desc *desc)
{
	return (struct srxe_ring_hdr *)((char *)a->base + desc->offset);
}

#endif /* SRXED_ARENA_H */
