// SPDX-License-Identifier: MIT
/* Frame allocator: runs, next-fit, fragmentation, accounting. */
#include <criterion/criterion.h>
#include <errno.h>

#include "mem/frames.h"

static struct srxe_frames fa;

static void setup(void)
{
	cr_assert_eq(srxe_frames_init(&fa, 1000), 0);
}

static void teardown(void)
{
	srxe_frames_destroy(&fa);
}

TestSuite(mem_frames, .init = setup, .fini = teardown);

Test(mem_frames, whole_run_when_free)
{
	uint32_t first = 99;

	cr_assert_eq(srxe_frames_alloc(&fa, 300, &first), 300);
	cr_assert_eq(first, 0);
	cr_assert_eq(srxe_frames_alloc(&fa, 300, &first), 300);
	cr_assert_eq(first, 300);
	cr_assert_eq(srxe_frames_in_use(&fa), 600);
	for (uint32_t f = 0; f < 600; f++)
		cr_assert(srxe_frames_is_used(&fa, f));
	cr_assert_not(srxe_frames_is_used(&fa, 600));
}

Test(mem_frames, prefers_a_full_length_hole_over_the_first_hole)
{
	uint32_t first;

	cr_assert_eq(srxe_frames_alloc(&fa, 1000, &first), 1000);
	srxe_frames_free(&fa, 10, 5);	/* small hole */
	srxe_frames_free(&fa, 500, 50); /* big hole */
	cr_assert_eq(srxe_frames_alloc(&fa, 40, &first), 40);
	cr_assert_eq(first, 500);
	cr_assert_eq(srxe_frames_in_use(&fa), 1000 - 5 - 10);
}

Test(mem_frames, longest_run_when_no_hole_is_long_enough)
{
	uint32_t first;

	cr_assert_eq(srxe_frames_alloc(&fa, 1000, &first), 1000);
	srxe_frames_free(&fa, 100, 3);
	srxe_frames_free(&fa, 700, 7);
	srxe_frames_free(&fa, 900, 2);
	cr_assert_eq(srxe_frames_alloc(&fa, 50, &first), 7);
	cr_assert_eq(first, 700);
	cr_assert_eq(srxe_frames_alloc(&fa, 50, &first), 3);
	cr_assert_eq(first, 100);
	cr_assert_eq(srxe_frames_alloc(&fa, 50, &first), 2);
	cr_assert_eq(first, 900);
	cr_assert_eq(srxe_frames_alloc(&fa, 1, &first), 0, "slab is full");
}

Test(mem_frames, next_fit_wraps_around)
{
	uint32_t first;

	cr_assert_eq(srxe_frames_alloc(&fa, 990, &first), 990);
	srxe_frames_free(&fa, 0, 20);
	cr_assert_eq(srxe_frames_alloc(&fa, 10, &first), 10);
	cr_assert_eq(first, 990, "search continues after the last run");
	cr_assert_eq(srxe_frames_alloc(&fa, 10, &first), 10);
	cr_assert_eq(first, 0, "then wraps");
}

Test(mem_frames, bitmap_word_edges)
{
	uint32_t first;

	cr_assert_eq(srxe_frames_alloc(&fa, 63, &first), 63);
	cr_assert_eq(srxe_frames_alloc(&fa, 130, &first), 130);
	cr_assert_eq(first, 63);
	cr_assert_eq(srxe_frames_alloc(&fa, 1000, &first), 1000 - 193);
	srxe_frames_free(&fa, 64, 128);
	cr_assert_eq(srxe_frames_alloc(&fa, 128, &first), 128);
	cr_assert_eq(first, 64);
	cr_assert_eq(srxe_frames_in_use(&fa), 1000);
}

Test(mem_frames, empty_slab_allocates_nothing)
{
	struct srxe_frames none;
	uint32_t first;

	cr_assert_eq(srxe_frames_init(&none, 0), 0);
	cr_assert_eq(srxe_frames_alloc(&none, 1, &first), 0);
	srxe_frames_destroy(&none);
}

Test(mem_frames, runs_merge_only_when_contiguous_in_va_and_frame)
{
	struct srxe_runs runs = { 0 };

	cr_assert_eq(srxe_runs_add_page(&runs, 0x10000, 5), 0);
	cr_assert_eq(srxe_runs_add_page(&runs, 0x11000, 6), 0);
	cr_assert_eq(srxe_runs_add_page(&runs, 0x12000, 8), 0); /* frame gap */
	cr_assert_eq(srxe_runs_add_page(&runs, 0x14000, 9), 0); /* va gap */
	cr_assert_eq(runs.n, 3);
	cr_assert_eq(runs.v[0].npages, 2);
	cr_assert_eq(runs.v[1].frame, 8);
	cr_assert_eq(runs.v[2].va, 0x14000);
	srxe_runs_free(&runs);
}

/* kinds (issue #12): huge pages need frame runs on a huge-page boundary. */
Test(mem_frames, aim_aligned_makes_the_next_alloc_aligned)
{
	uint32_t first = 0;

	cr_assert_eq(srxe_frames_alloc(&fa, 10, &first), 10); /* 0..9 */
	/* Runs of 100 frames with f % 128 == 5: 5 is taken, 133 is free. */
	cr_assert_eq(srxe_frames_aim_aligned(&fa, 100, 128, 5), 0);
	cr_assert_eq(srxe_frames_in_use(&fa), 10, "aiming allocates nothing");
	cr_assert_eq(srxe_frames_alloc(&fa, 100, &first), 100);
	cr_assert_eq(first, 133);
	/* Next candidates: 261 (free), then a taken one is skipped. */
	cr_assert_eq(srxe_frames_claim(&fa, 300, 1), 0);
	cr_assert_eq(srxe_frames_aim_aligned(&fa, 128, 128, 5), 0);
	cr_assert_eq(srxe_frames_alloc(&fa, 128, &first), 128);
	cr_assert_eq(first, 389, "261..388 holds frame 300");
	/* No room left for another run of that alignment and length. */
	cr_assert_eq(srxe_frames_aim_aligned(&fa, 500, 128, 5), -ENOMEM);
	cr_assert_eq(srxe_frames_aim_aligned(&fa, 1001, 1, 0), -ENOMEM);
	cr_assert_eq(srxe_frames_aim_aligned(&fa, 10, 128, 128), -ENOMEM);
}
