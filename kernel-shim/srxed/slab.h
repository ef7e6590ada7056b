/* SPDX-License-Identifier: MIT */
/*
 * A client context's memory slab: the memfd whose 4 KiB frames are the
 * context's "physical memory" (DESIGN.md section 2).  srxed maps it shared
 * for the engine and hands the same memfd to the provider, which maps
 * frames at the application's addresses.
 *
 * Contract:
 *  - The memfd is sparse: only frames somebody wrote occupy memory.  A
 *    frame srxed hands out must read as zero (the page mover skips
 *    copying pages that were never touched), so frames are punched back
 *    into holes before they are reused.
 *  - srxed_slab_destroy() only drops srxed's references: mappings the
 *    application still holds keep their pages alive and intact.
 */
#ifndef SRXED_SLAB_H
#define SRXED_SLAB_H

#include <stddef.h>
#include <stdint.h>

struct srxed_slab {
	int fd;	    /* memfd, close-on-exec; -1 when none */
	void *base; /* srxed's MAP_SHARED mapping of the whole memfd */
	uint64_t bytes;
};

/* 0, or a negative errno with *why describing the failing step. */
int srxed_slab_create(struct srxed_slab *slab, uint64_t bytes,
		      const char **why);
void srxed_slab_destroy(struct srxed_slab *slab);

/* Return [off, off + len) to holes so it reads as zero.  0 or -errno. */
int srxed_slab_punch(struct srxed_slab *slab, uint64_t off, uint64_t len);

#endif /* SRXED_SLAB_H */
