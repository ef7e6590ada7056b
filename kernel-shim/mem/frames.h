/* SPDX-License-Identifier: MIT */
/*
 * Data-frame allocator over one client's slab.
 *
 * Contract:
 * - A slab holds nframes frames of SRXE_FRAME_SIZE bytes, numbered from 0.
 *   The allocator only does bookkeeping: it never touches slab memory.
 * - srxe_frames_alloc() hands out ONE run of physically consecutive frames,
 *   as long as possible up to the requested count: it first looks (next-fit
 *   from where the last search ended) for a free run of the whole length
 *   and otherwise returns the longest free run it saw.  Long runs matter
 *   because the provider maps one VMA per run (vm.max_map_count).
 * - A run list (struct srxe_runs) tells callers which (va, frame, npages)
 *   runs were created or freed; adjacent entries that are consecutive both
 *   in va and in frame number are merged, so one entry = one mmap/one hole.
 * - Not thread-safe: the owner of the client serializes calls.
 */
#ifndef SRXE_MEM_FRAMES_H
#define SRXE_MEM_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define SRXE_FRAME_SHIFT 12
#define SRXE_FRAME_SIZE	 (1u << SRXE_FRAME_SHIFT)

struct srxe_frames {
	uint64_t *bitmap; /* bit set = frame in use */
	uint32_t nframes;
	uint32_t cursor; /* next-fit: where the next search starts */
	uint32_t in_use;
};

/* Returns 0 or -ENOMEM.  nframes may be 0 (every allocation then fails). */
int srxe_frames_init(struct srxe_frames *fa, uint32_t nframes);
void srxe_frames_destroy(struct srxe_frames *fa);

/*
 * Allocate one run of 1..want consecutive frames; *first receives the first
 * frame number.  Returns the run length, or 0 when the slab is full.
 */
uint32_t srxe_frames_alloc(struct srxe_frames *fa, uint32_t want,
			   uint32_t *first);

/*
 * Aim the next allocation at an aligned free run (huge pages in place,
 * srxed/shmreg.h): find the lowest free run of exactly want frames whose
 * first frame f has f % align == phase, and point the next-fit cursor at
 * it, so that the next srxe_frames_alloc(fa, want, ..) returns exactly that
 * run (next-fit stops at the first free run of the whole length).  Nothing
 * is marked in use: the caller allocates right away, under the same lock,
 * and checks what it got.  align > 0, phase < align.  0, or -ENOMEM when
 * no such run is free.
 */
int srxe_frames_aim_aligned(struct srxe_frames *fa, uint32_t want,
			    uint32_t align, uint32_t phase);

/*
 * Mark frames [first, first + n) in use again (the daemon's quarantine of
 * frames that were just freed).  -EBUSY, changing nothing, if any of them
 * is in use; -EINVAL if the range leaves the slab.
 */
int srxe_frames_claim(struct srxe_frames *fa, uint32_t first, uint32_t n);

/* Free frames [first, first + n); all of them must be in use. */
void srxe_frames_free(struct srxe_frames *fa, uint32_t first, uint32_t n);

static inline uint32_t srxe_frames_in_use(const struct srxe_frames *fa)
{
	return fa->in_use;
}

static inline int srxe_frames_is_used(const struct srxe_frames *fa,
				      uint32_t frame)
{
	return (fa->bitmap[frame / 64] >> (frame % 64)) & 1;
}

/* One virtually and physically contiguous piece of a registration. */
struct srxe_run {
	uint64_t va;	 /* page-aligned virtual address of the first page */
	uint32_t frame;	 /* first frame */
	uint32_t npages; /* frames [frame, frame + npages) back va.. */
};

struct srxe_runs {
	struct srxe_run *v;
	size_t n;
	size_t cap;
};

/* Append one page, merging with the last run when contiguous.  -ENOMEM. */
int srxe_runs_add_page(struct srxe_runs *runs, uint64_t va, uint32_t frame);
void srxe_runs_free(struct srxe_runs *runs);

#endif /* SRXE_MEM_FRAMES_H */
