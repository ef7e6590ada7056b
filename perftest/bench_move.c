// SPDX-License-Identifier: MIT
/*
 * Page mover throughput (providers/srxe/srxe_move.c) for fully touched
 * buffers, against memcpy of the same bytes measured in the same run:
 *   memcpy      copy into an already faulted private buffer (bandwidth bound)
 *   memcpy+new  copy into fresh memfd frames (adds the page faults a move
 *               cannot avoid)
 *   to_slab     srxe_move_to_slab() (scan + map + copy + mremap)
 *   to_private  srxe_move_to_private()
 * Between rounds the frames are punched, as the daemon does on free, so
 * every to_slab lands on fresh frames.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* The provider is a plugin; the mover is compiled in directly. */
#include "srxe_move.h"

#define MAX_SIZE	(256UL << 20)
#define BYTES_PER_POINT (1UL << 30) /* aim per measurement */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_move: %s: %s\n", what, strerror(err));
	exit(1);
}

static void punch(int fd, size_t len)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
		      (off_t)len))
		die("fallocate", errno);
}

static void *map_private(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap", errno);
	return p;
}

int main(void)
{
	int fd = memfd_create("bench-move-slab", MFD_CLOEXEC);
	uint8_t *src, *dst;

	if (fd < 0 || ftruncate(fd, MAX_SIZE))
		die("memfd", errno);
	dst = map_private(MAX_SIZE);
	memset(dst, 1, MAX_SIZE);

	printf("%10s %7s %12s %12s %12s %12s %12s\n", "size", "rounds",
	       "memcpy GB/s", "memcpy+new", "to_slab GB/s", "to_priv GB/s",
	       "to_slab us");
	for (size_t size = 4096; size <= MAX_SIZE; size *= 4) {
		size_t rounds = BYTES_PER_POINT / size;
		double t_copy = 0, t_copy_new = 0, t_slab = 0, t_priv = 0;

		if (rounds > 20000)
			rounds = 20000;
		if (rounds < 4)
			rounds = 4;
		src = map_private(size);
		memset(src, 0x5a, size);

		for (size_t r = 0; r < rounds; r++) {
			double t0, t1, t2;
			void *fresh;
			int ret;

			t0 = now();
			memcpy(dst, src, size);
			t1 = now();
			t_copy += t1 - t0;

			fresh = mmap(NULL, size, PROT_READ | PROT_WRITE,
				     MAP_SHARED, fd, 0);
			if (fresh == MAP_FAILED)
				die("mmap memfd", errno);
			t0 = now();
			memcpy(fresh, src, size);
			t1 = now();
			t_copy_new += t1 - t0;
			munmap(fresh, size);
			punch(fd, size);

			t0 = now();
			ret = srxe_move_to_slab(src, size, fd, 0);
			t1 = now();
			if (ret)
				die("srxe_move_to_slab", -ret);
			ret = srxe_move_to_private(src, size, fd, 0);
			t2 = now();
			if (ret)
				die("srxe_move_to_private", -ret);
			t_slab += t1 - t0;
			t_priv += t2 - t1;
			punch(fd, size);
		}
		if (src[size - 1] != 0x5a)
			die("content check", EIO);

		double gb = (double)size * (double)rounds / 1e9;

		printf("%10zu %7zu %12.2f %12.2f %12.2f %12.2f %12.1f\n", size,
		       rounds, gb / t_copy, gb / t_copy_new, gb / t_slab,
		       gb / t_priv, t_slab / (double)rounds * 1e6);
		munmap(src, size);
	}
	munmap(dst, MAX_SIZE);
	close(fd);
	return 0;
}
