/* SPDX-License-Identifier: MIT */
/*
 * The mover tests' slab (test_move.c, test_move_race.c): a memfd and the
 * "daemon"'s MAP_SHARED view of it, in the test's own process.
 */
#ifndef SRXE_TEST_MOVE_SLAB_H
#define SRXE_TEST_MOVE_SLAB_H

#include <criterion/criterion.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* A memfd @name of @size bytes in *@fd, and a shared view of it; asserts. */
static inline void *move_slab_create(const char *name, uint64_t size, int *fd)
{
	void *view;

	*fd = memfd_create(name, MFD_CLOEXEC);
	cr_assert(*fd >= 0);
	cr_assert(!ftruncate(*fd, (off_t)size));
	view = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	cr_assert(view != MAP_FAILED);
	return view;
}

#endif /* SRXE_TEST_MOVE_SLAB_H */
