// SPDX-License-Identifier: MIT
/*
 * Page mover (providers/srxe/srxe_move.c): buffers on the heap, in mmap'd
 * memory spanning several VMAs and on the caller's own stack move onto a
 * memfd slab and back; the "daemon" is a second MAP_SHARED view of the
 * memfd in the same process.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* srxe_move.c comes from the srxe_provider_core library. */
#include "srxe_move.h"

#include "move_slab.h"

#define PAGE	  SRXE_MOVE_PAGE_SIZE
#define SLAB_SIZE (1ULL << 30)

static int slab_fd = -1;
static uint8_t *daemon_view;

static void slab_setup(void)
{
	daemon_view = move_slab_create("srxe-test-slab", SLAB_SIZE, &slab_fd);
}

static void slab_teardown(void)
{
	munmap(daemon_view, SLAB_SIZE);
	close(slab_fd);
}

TestSuite(move, .init = slab_setup, .fini = slab_teardown, .timeout = 60);

static uintptr_t page_down(uintptr_t a)
{
	return a & ~(PAGE - 1);
}

static uintptr_t page_up(uintptr_t a)
{
	return (a + PAGE - 1) & ~(PAGE - 1);
}

static uint8_t pattern(unsigned int seed, size_t i)
{
	return (uint8_t)(((i + 1) * 2654435761u >> 11) ^ seed);
}

static void fill(void *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		((volatile uint8_t *)p)[i] = pattern(seed, i);
}

/* Index of the first byte not matching the pattern, or -1. */
static long mismatch(const void *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		if (((const volatile uint8_t *)p)[i] != pattern(seed, i))
			return (long)i;
	return -1;
}

/*
 * memcmp over whole pages: the pages of a heap buffer also hold allocator
 * redzones that the sanitizer would (rightly) refuse to let memcmp read.
 */
__attribute__((no_sanitize_address)) static bool
same_bytes(const void *a, const void *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((const volatile uint8_t *)a)[i] !=
		    ((const volatile uint8_t *)b)[i])
			return false;
	return true;
}

/* Count VMAs intersecting [lo, hi); optionally report the first one's perms. */
static int vmas_in(uintptr_t lo, uintptr_t hi, char perms_of_first[5])
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long s, e;
	char perms[5], line[4096 + 256];
	int n = 0;

	cr_assert(f);
	while (fgets(line, sizeof(line), f)) {
		cr_assert(sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3);
		if (e <= lo || s >= hi)
			continue;
		if (!n++ && perms_of_first)
			memcpy(perms_of_first, perms, 5);
	}
	fclose(f);
	return n;
}

static size_t resident_pages(void *p, size_t len)
{
	size_t pages = len / PAGE, n = 0;
	unsigned char *vec = malloc(pages);

	cr_assert(vec && !mincore(p, len, vec));
	for (size_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

static uint64_t slab_bytes_allocated(void)
{
	struct stat st;

	cr_assert(!fstat(slab_fd, &st));
	return (uint64_t)st.st_blocks * 512;
}

/*
 * The range [va, va + len) is on the slab at off: both views show the same
 * bytes and writes from either side reach the other.  probe is a byte the
 * test may scribble on (restored afterwards).
 */
static void assert_shared(uintptr_t va, size_t len, uint64_t off,
			  volatile uint8_t *probe)
{
	volatile uint8_t *dview = daemon_view + off + ((uintptr_t)probe - va);
	uint8_t saved = *probe;

	cr_assert(same_bytes((void *)va, daemon_view + off, len),
		  "app and daemon views differ");
	*probe = (uint8_t)~saved;
	cr_assert_eq(*dview, (uint8_t)~saved, "app write not seen by daemon");
	*dview = saved;
	cr_assert_eq(*probe, saved, "daemon write not seen by app");
}

/* The range is private again: app writes no longer reach the slab. */
static void assert_private(uintptr_t va, uint64_t off, volatile uint8_t *probe)
{
	volatile uint8_t *dview = daemon_view + off + ((uintptr_t)probe - va);
	uint8_t saved = *probe;

	cr_assert_eq(*dview, saved);
	*probe = (uint8_t)~saved;
	cr_assert_eq(*dview, saved, "app write reached the slab after move");
	*probe = saved;
}

Test(move, heap_unaligned_with_neighbours)
{
	/* Neighbours carved from the same block share the edge pages. */
	const size_t head = 1000, body = 3 * PAGE + 777, tail = 1500;
	uint8_t *blk = malloc(head + body + tail);
	uint8_t *other = malloc(64); /* a real malloc neighbour, wherever */
	uint8_t *buf = blk + head;
	uintptr_t va = page_down((uintptr_t)buf);
	size_t len = page_up((uintptr_t)(buf + body)) - va;
	const uint64_t off = 8 * PAGE;

	cr_assert(blk && other);
	cr_assert((uintptr_t)buf % PAGE, "buffer should be unaligned");
	fill(blk, head, 1);
	fill(buf, body, 2);
	fill(buf + body, tail, 3);
	fill(other, 64, 4);

	cr_assert_eq(srxe_move_to_slab((void *)va, len, slab_fd, off), 0);
	cr_assert_eq(vmas_in(va, va + len, NULL), 1, "one VMA for the run");
	cr_assert_eq(mismatch(blk, head, 1), -1);
	cr_assert_eq(mismatch(buf, body, 2), -1);
	cr_assert_eq(mismatch(buf + body, tail, 3), -1);
	cr_assert_eq(mismatch(other, 64, 4), -1);
	assert_shared(va, len, off, buf + 100);
	assert_shared(va, len, off, blk + 5); /* neighbour on the edge page */

	cr_assert_eq(srxe_move_to_private((void *)va, len, slab_fd, off), 0);
	cr_assert_eq(mismatch(blk, head, 1), -1);
	cr_assert_eq(mismatch(buf, body, 2), -1);
	cr_assert_eq(mismatch(buf + body, tail, 3), -1);
	cr_assert_eq(mismatch(other, 64, 4), -1);
	assert_private(va, off, buf + 100);

	/* The allocator's own headers on the edge pages survived too. */
	free(other);
	free(blk);
}

Test(move, mmap_spanning_vmas_keeps_protection)
{
	/* pages 0-2 rw anon, 3-4 r-- anon, 5-7 rw anon, 8-9 private file,
	 * 10-11 rw anon never touched */
	const size_t pages = 12, len = pages * PAGE;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int file = memfd_create("srxe-test-file", MFD_CLOEXEC);
	uintptr_t va = (uintptr_t)m;
	char perms[5];

	cr_assert(m != MAP_FAILED && file >= 0);
	fill(m, 10 * PAGE, 7);
	cr_assert(!mprotect(m + 3 * PAGE, 2 * PAGE, PROT_READ));
	cr_assert(!ftruncate(file, 2 * PAGE));
	cr_assert(pwrite(file, m + 8 * PAGE, 2 * PAGE, 0) == 2 * PAGE);
	cr_assert(mmap(m + 8 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_FIXED, file, 0) == m + 8 * PAGE);
	close(file);
	cr_assert_eq(vmas_in(va, va + len, NULL), 5);

	cr_assert_eq(srxe_move_to_slab(m, len, slab_fd, 0), 0);
	cr_assert_eq(mismatch(m, 10 * PAGE, 7), -1);
	for (size_t i = 10 * PAGE; i < len; i++)
		cr_assert_eq(m[i], 0);
	cr_assert(!memcmp(m, daemon_view, len));
	cr_assert_eq(vmas_in(va + 3 * PAGE, va + 5 * PAGE, perms), 1);
	cr_assert_str_eq(perms, "r--s");
	cr_assert_eq(vmas_in(va, va + 3 * PAGE, perms), 1);
	cr_assert_str_eq(perms, "rw-s");
	cr_assert_eq(vmas_in(va, va + len, NULL), 3, "rw | r-- | rw");
	assert_shared(va, len, 0, m + 8 * PAGE + 9); /* was the file page */
	assert_shared(va, len, 0, m + 11 * PAGE);    /* was never touched */

	cr_assert_eq(srxe_move_to_private(m, len, slab_fd, 0), 0);
	cr_assert_eq(mismatch(m, 10 * PAGE, 7), -1);
	cr_assert_eq(vmas_in(va + 3 * PAGE, va + 5 * PAGE, perms), 1);
	cr_assert_str_eq(perms, "r--p");
	assert_private(va, 0, m + PAGE);
	assert_private(va, 0, m + 9 * PAGE);
	munmap(m, len);
}

/*
 * Make sure the stack below us is mapped, so the range may reach into it.
 * Only the lowest page is touched: the pages in between stay unfaulted,
 * like the stack the mover's callees are about to use.
 */
__attribute__((noinline)) static uint8_t grow_stack(size_t bytes)
{
	volatile uint8_t big[bytes];

	big[0] = 1;
	return big[0];
}

/*
 * A buffer on the caller's stack, in the same pages as live locals, and a
 * range that also covers the stack the mover itself will run on.
 */
/* Not instrumented: a sanitizer's fake stack would move s off the stack. */
__attribute__((noinline, no_sanitize_address)) static void *
stack_roundtrip(void *arg)
{
	struct {
		uint64_t before[5];
		uint8_t buf[2 * PAGE + 123];
		uint64_t after[5];
	} s;
	const uint64_t off = *(uint64_t *)arg;
	uint64_t live = 0x0123456789abcdefULL ^ off;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0), va;
	size_t len;

	cr_assert_eq(grow_stack(768 * 1024), 1);
	for (int i = 0; i < 5; i++) {
		s.before[i] = live + (uint64_t)i;
		s.after[i] = live - (uint64_t)i;
	}
	fill(s.buf, sizeof(s.buf), 9);
	va = page_down(sp - 512 * 1024);
	len = page_up((uintptr_t)&s + sizeof(s)) - va;
	cr_assert((uintptr_t)&s > va);

	cr_assert_eq(srxe_move_to_slab((void *)va, len, slab_fd, off), 0);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(s.before[i], live + (uint64_t)i);
		cr_assert_eq(s.after[i], live - (uint64_t)i);
	}
	cr_assert_eq(mismatch(s.buf, sizeof(s.buf), 9), -1);
	cr_assert(!memcmp(&s, daemon_view + off + ((uintptr_t)&s - va),
			  sizeof(s)));
	assert_shared((uintptr_t)&s, sizeof(s), off + ((uintptr_t)&s - va),
		      &s.buf[17]);

	cr_assert_eq(srxe_move_to_private((void *)va, len, slab_fd, off), 0);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(s.before[i], live + (uint64_t)i);
		cr_assert_eq(s.after[i], live - (uint64_t)i);
	}
	cr_assert_eq(mismatch(s.buf, sizeof(s.buf), 9), -1);
	assert_private(va, off, &s.buf[17]);
	return NULL;
}

Test(move, own_stack_main_thread)
{
	uint64_t off = 64 * PAGE;

	stack_roundtrip(&off);
}

Test(move, own_stack_other_thread)
{
	uint64_t off = 1024 * PAGE;
	pthread_t t;

	cr_assert(!pthread_create(&t, NULL, stack_roundtrip, &off));
	cr_assert(!pthread_join(t, NULL));
}

Test(move, sparse_256mib_moves_only_touched_pages)
{
	const size_t len = 256UL << 20, stride = 64 * PAGE;
	const size_t touched = len / stride;
	const uint64_t off = 512ULL << 20;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	cr_assert(m != MAP_FAILED);
	cr_assert(!madvise(m, len, MADV_NOHUGEPAGE)); /* count 4 KiB pages */
	for (size_t i = 0; i < len; i += stride)
		fill(m + i + 5, 3, (unsigned int)(i / stride));
	cr_assert_eq(resident_pages(m, len), touched);

	cr_assert_eq(srxe_move_to_slab(m, len, slab_fd, off), 0);
	/* Only the touched pages became slab frames, none was faulted in. */
	cr_assert_eq(slab_bytes_allocated(), touched * PAGE);
	cr_assert_eq(resident_pages(m, len), touched);
	for (size_t i = 0; i < len; i += stride)
		cr_assert_eq(mismatch(m + i + 5, 3, (unsigned int)(i / stride)),
			     -1);

	cr_assert_eq(srxe_move_to_private(m, len, slab_fd, off), 0);
	cr_assert_eq(resident_pages(m, len), touched);
	for (size_t i = 0; i < len; i += stride) {
		cr_assert_eq(mismatch(m + i + 5, 3, (unsigned int)(i / stride)),
			     -1);
		cr_assert_eq(m[i + PAGE / 2], 0);
	}
	munmap(m, len);
}

Test(move, dirty_slab_frames_do_not_leak)
{
	const size_t len = 4 * PAGE;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert(m != MAP_FAILED);
	memset(daemon_view + 2 * PAGE, 0xee, 3 * PAGE); /* stale frames */
	m[0] = 1;					/* page 0 touched */

	cr_assert_eq(srxe_move_to_slab(m, len, slab_fd, 2 * PAGE), 0);
	cr_assert_eq(m[0], 1);
	for (size_t i = 1; i < len; i++)
		cr_assert_eq(m[i], 0, "stale slab byte at %zu", i);
	munmap(m, len);
}

Test(move, paged_out_memory_is_not_mistaken_for_untouched)
{
	const size_t len = 64 * PAGE;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert(m != MAP_FAILED);
	fill(m, len, 11);
	/* With swap configured this leaves pages that mincore() calls
	 * non-resident; without swap it is a no-op and the test still holds. */
	madvise(m, len, MADV_PAGEOUT);
	cr_assert_eq(srxe_move_to_slab(m, len, slab_fd, 0), 0);
	cr_assert_eq(mismatch(m, len, 11), -1);
	cr_assert_eq(mismatch(daemon_view, len, 11), -1);
	munmap(m, len);
}

Test(move, rejects_bad_arguments)
{
	uint8_t *m = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert(m != MAP_FAILED);
	m[0] = 1;
	cr_assert_eq(srxe_move_to_slab(m + 1, PAGE, slab_fd, 0), -EINVAL);
	cr_assert_eq(srxe_move_to_slab(m, 0, slab_fd, 0), -EINVAL);
	cr_assert_eq(srxe_move_to_slab(m, PAGE + 1, slab_fd, 0), -EINVAL);
	cr_assert_eq(srxe_move_to_slab(m, PAGE, slab_fd, 1), -EINVAL);
	cr_assert_eq(srxe_move_to_slab((void *)(UINTPTR_MAX & ~(PAGE - 1)),
				       2 * PAGE, slab_fd, 0),
		     -EINVAL);
	cr_assert_eq(
		srxe_move_to_slab(m, PAGE, slab_fd, UINT64_MAX & ~(PAGE - 1)),
		-EINVAL);
	cr_assert_eq(srxe_move_to_slab(m, 2 * PAGE, slab_fd, SLAB_SIZE - PAGE),
		     -EINVAL);
	cr_assert_eq(srxe_move_to_slab(m, PAGE, -1, 0), -EBADF);
	cr_assert_eq(srxe_move_to_private(m, PAGE, slab_fd, 0), -EINVAL,
		     "not on the slab");

	cr_assert(!munmap(m + 2 * PAGE, PAGE)); /* hole */
	cr_assert_eq(srxe_move_to_slab(m, 4 * PAGE, slab_fd, 0), -EFAULT);
	cr_assert(!mprotect(m + PAGE, PAGE, PROT_NONE));
	cr_assert_eq(srxe_move_to_slab(m, 2 * PAGE, slab_fd, 0), -EACCES);
	cr_assert(!mprotect(m + PAGE, PAGE, PROT_READ | PROT_EXEC));
	cr_assert_eq(srxe_move_to_slab(m, 2 * PAGE, slab_fd, 0), -EOPNOTSUPP);
	cr_assert_eq(m[0], 1, "failed moves leave the range alone");

	cr_assert_eq(srxe_move_to_slab(m, PAGE, slab_fd, 0), 0);
	cr_assert_eq(srxe_move_to_slab(m, PAGE, slab_fd, PAGE), -EBUSY);
	cr_assert_eq(srxe_move_to_private(m, PAGE, slab_fd, PAGE), -EINVAL,
		     "wrong frames");
	cr_assert_eq(srxe_move_to_private(m, PAGE, slab_fd, 0), 0);
	cr_assert_eq(m[0], 1);
	munmap(m, 4 * PAGE);
}

Test(move, refuses_special_and_shared_mappings)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096 + 256];
	void *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert(f && shared != MAP_FAILED);
	while (fgets(line, sizeof(line), f)) {
		unsigned long s, e;
		char perms[5];

		cr_assert(sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3);
		if (!strstr(line, "[vvar]") || perms[0] != 'r')
			continue;
		cr_assert_eq(srxe_move_to_slab((void *)s, PAGE, slab_fd, 0),
			     -EFAULT, "[vvar] must not move");
	}
	fclose(f);
	cr_assert_eq(srxe_move_to_slab(shared, PAGE, slab_fd, 0), -EOPNOTSUPP);
	munmap(shared, PAGE);
}
