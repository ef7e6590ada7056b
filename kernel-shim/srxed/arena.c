// SPDX-License-Identifier: MIT
/* Ring arena (contract in arena.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arena.h"

_Static_assert(SRXE_PAGE_SIZE == SRXE_FRAME_SIZE,
	       "arena pages are allocated with the frame allocator");
_Static_assert(sizeof(struct srxe_ctx_page) <= SRXE_PAGE_SIZE,
	       "the context page is one page");

static int fail(struct srxed_arena *a, const char **why, const char *step)
{
	int ret = -errno;

	*why = step;
	srxed_arena_destroy(a);
	return ret ? ret : -ENOMEM;
}

int srxed_arena_create(struct srxed_arena *a, uint64_t bytes, const char **why)
{
	uint32_t first;

	memset(a, 0, sizeof(*a));
	a->base = MAP_FAILED;
	a->bytes = bytes;
	a->fd = memfd_create("srxe-rings", MFD_CLOEXEC);
	if (a->fd < 0)
		return fail(a, why, "memfd_create of the ring arena failed");
	if (ftruncate(a->fd, (off_t)bytes) < 0)
		return fail(a, why, "sizing the ring arena failed");
	a->base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_NORESERVE, a->fd, 0);
	if (a->base == MAP_FAILED)
		return fail(a, why, "mapping the ring arena failed");
	errno = ENOMEM;
	if (srxe_frames_init(&a->pages, bytes / SRXE_PAGE_SIZE))
		return fail(a, why, "ring arena page map");
	/* Page 0 is the context page, for the life of the arena. */
	if (srxe_frames_alloc(&a->pages, 1, &first) != 1 || first != 0)
		return fail(a, why, "ring arena context page");
	return 0;
}

void srxed_arena_destroy(struct srxed_arena *a)
{
	if (a->base && a->base != MAP_FAILED)
		munmap(a->base, a->bytes);
	if (a->fd >= 0)
		close(a->fd);
	srxe_frames_destroy(&a->pages);
	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->base = MAP_FAILED;
}

int srxed_arena_alloc_ring(struct srxed_arena *a, uint32_t size,
			   uint32_t stride, struct srxe_ring_desc *desc)
{
	uint64_t bytes = srxe_ring_bytes(size, stride);
	uint64_t pages = bytes / SRXE_PAGE_SIZE;
	struct srxe_ring_hdr *hdr;
	uint32_t first, got;

	if (pages > a->pages.nframes)
		return -ENOMEM;
	got = srxe_frames_alloc(&a->pages, pages, &first);
	if (got != pages) {
		/* Only a shorter run was free: give it back. */
		if (got)
			srxe_frames_free(&a->pages, first, got);
		return -ENOMEM;
	}
	desc->offset = (uint64_t)first * SRXE_PAGE_SIZE;
	desc->bytes = bytes;
	desc->size = size;
	desc->stride = stride;
	hdr = srxed_arena_ring(a, desc);
	hdr->size = size;
	hdr->stride = stride;
	return 0;
}

void srxed_arena_free_ring(struct srxed_arena *a,
			   const struct srxe_ring_desc *desc)
{
	if (!desc->bytes)
		return;
	/* Punch first: the next ring in these pages must start zeroed (there
	 * is none when the whole arena is going). */
	if (!a->keep_contents &&
	    fallocate(a->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)desc->offset, (off_t)desc->bytes) < 0)
		memset(srxed_arena_ring(a, desc), 0, desc->bytes);
	srxe_frames_free(&a->pages, desc->offset / SRXE_PAGE_SIZE,
			 desc->bytes / SRXE_PAGE_SIZE);
}
