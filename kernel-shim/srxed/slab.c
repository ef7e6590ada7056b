// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "slab.h"

int srxed_slab_create(struct srxed_slab *slab, uint64_t bytes, const char **why)
{
	int ret;

	slab->fd = memfd_create("srxe-slab", MFD_CLOEXEC);
	slab->base = MAP_FAILED;
	slab->bytes = bytes;
	if (slab->fd < 0) {
		*why = "memfd_create failed";
		return -errno;
	}
	if (ftruncate(slab->fd, (off_t)bytes) < 0) {
		*why = "sizing the slab memfd failed";
		goto fail;
	}
	/* MAP_NORESERVE: the slab is sparse; only written frames cost. */
	slab->base = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_NORESERVE, slab->fd, 0);
	if (slab->base == MAP_FAILED) {
		*why = "mapping the slab failed";
		goto fail;
	}
	return 0;
fail:
	ret = -errno;
	close(slab->fd);
	slab->fd = -1;
	return ret;
}

void srxed_slab_destroy(struct srxed_slab *slab)
{
	if (slab->base && slab->base != MAP_FAILED)
		munmap(slab->base, slab->bytes);
	if (slab->fd >= 0)
		close(slab->fd);
	slab->base = MAP_FAILED;
	slab->fd = -1;
}

int srxed_slab_punch(struct srxed_slab *slab, uint64_t off, uint64_t len)
{
	if (off > slab->bytes || len > slab->bytes - off)
		return -EINVAL;
	if (fallocate(slab->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) < 0)
		return -errno;
	return 0;
}
