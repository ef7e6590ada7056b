// SPDX-License-Identifier: MIT
/* srxed handle tables: kernel-shim/srxed/handles.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>

#include "srxed/handles.h"

static int objs[SRXED_HANDLES_MAX];

Test(handles, capacity_is_validated)
{
	struct srxed_handles t;

	cr_assert_eq(srxed_handles_init(&t, 0), -EINVAL);
	cr_assert_eq(srxed_handles_init(&t, SRXED_HANDLES_MAX + 1), -EINVAL);
	cr_assert_eq(srxed_handles_init(&t, SRXED_HANDLES_MAX), 0);
	srxed_handles_destroy(&t);
}

Test(handles, alloc_lookup_free)
{
	struct srxed_handles t;
	uint32_t a, b;

	srxed_handles_init(&t, 8);
	cr_assert_eq(srxed_handle_alloc(&t, &objs[0], &a), 0);
	cr_assert_eq(srxed_handle_alloc(&t, &objs[1], &b), 0);
	cr_assert_neq(a, 0);
	cr_assert_neq(a, b);
	cr_assert_eq(srxed_handle_lookup(&t, a), &objs[0]);
	cr_assert_eq(srxed_handle_lookup(&t, b), &objs[1]);
	cr_assert_eq(srxed_handles_count(&t), 2);
	cr_assert_eq(srxed_handle_free(&t, a), &objs[0]);
	cr_assert_null(srxed_handle_lookup(&t, a));
	cr_assert_null(srxed_handle_free(&t, a), "double free accepted");
	cr_assert_eq(srxed_handles_count(&t), 1);
	cr_assert_eq(srxed_handle_alloc(&t, NULL, &a), -EINVAL);
	srxed_handles_destroy(&t);
}

Test(handles, stale_handle_misses_reused_slot)
{
	struct srxed_handles t;
	uint32_t old, fresh;

	srxed_handles_init(&t, 1);
	srxed_handle_alloc(&t, &objs[0], &old);
	srxed_handle_free(&t, old);
	cr_assert_eq(srxed_handle_alloc(&t, &objs[1], &fresh), 0);
	cr_assert_eq(fresh & 0xffff, old & 0xffff, "slot should be reused");
	cr_assert_neq(fresh, old, "generation not bumped");
	cr_assert_null(srxed_handle_lookup(&t, old));
	cr_assert_null(srxed_handle_free(&t, old));
	cr_assert_eq(srxed_handle_lookup(&t, fresh), &objs[1]);
	srxed_handles_destroy(&t);
}

Test(handles, generation_wraps_but_never_yields_zero)
{
	struct srxed_handles t;
	uint32_t h, first;

	srxed_handles_init(&t, 1);
	srxed_handle_alloc(&t, &objs[0], &first);
	srxed_handle_free(&t, first);
	for (int i = 0; i < 70000; i++) {
		cr_assert_eq(srxed_handle_alloc(&t, &objs[0], &h), 0);
		cr_assert_neq(h, 0, "handle 0 after %d reuses", i);
		srxed_handle_free(&t, h);
	}
	srxed_handles_destroy(&t);
}

Test(handles, forged_handles_miss)
{
	struct srxed_handles t;
	uint32_t h;

	srxed_handles_init(&t, 4);
	srxed_handle_alloc(&t, &objs[0], &h);
	cr_assert_null(srxed_handle_lookup(&t, 0));
	cr_assert_null(srxed_handle_lookup(&t, h + 1));	      /* unused slot */
	cr_assert_null(srxed_handle_lookup(&t, h ^ 0x30000)); /* generation */
	cr_assert_null(srxed_handle_lookup(&t, 0xffffffff));
	cr_assert_null(srxed_handle_lookup(&t, h | 0xfff0)); /* past array */
	srxed_handles_destroy(&t);
}

Test(handles, exhaustion_then_room_after_free)
{
	struct srxed_handles t;
	uint32_t h[100], extra;
	int i;

	srxed_handles_init(&t, 100);
	for (i = 0; i < 100; i++)
		cr_assert_eq(srxed_handle_alloc(&t, &objs[i], &h[i]), 0);
	cr_assert_eq(srxed_handle_alloc(&t, &objs[100], &extra), -ENOSPC);
	for (i = 0; i < 100; i++)
		cr_assert_eq(srxed_handle_lookup(&t, h[i]), &objs[i]);
	srxed_handle_free(&t, h[50]);
	cr_assert_eq(srxed_handle_alloc(&t, &objs[100], &extra), 0);
	cr_assert_eq(srxed_handle_alloc(&t, &objs[101], &extra), -ENOSPC);
	srxed_handles_destroy(&t);
}

Test(handles, full_range_is_usable)
{
	struct srxed_handles t;
	uint32_t h;

	srxed_handles_init(&t, SRXED_HANDLES_MAX);
	for (uint32_t i = 0; i < SRXED_HANDLES_MAX; i++)
		cr_assert_eq(srxed_handle_alloc(&t, &objs[i], &h), 0);
	cr_assert_eq(srxed_handle_alloc(&t, &objs[0], &h), -ENOSPC);
	cr_assert_eq(srxed_handles_count(&t), SRXED_HANDLES_MAX);
	srxed_handles_destroy(&t);
}

static void count_release(void *obj, uint32_t handle, void *arg)
{
	int *sum = arg;

	*sum += *(int *)obj;
}

Test(handles, drain_releases_every_live_object_once)
{
	struct srxed_handles t;
	uint32_t h[10];
	int sum = 0, i;

	srxed_handles_init(&t, 10);
	for (i = 0; i < 10; i++) {
		objs[i] = 1 << i;
		srxed_handle_alloc(&t, &objs[i], &h[i]);
	}
	srxed_handle_free(&t, h[3]);
	srxed_handles_drain(&t, count_release, &sum);
	cr_assert_eq(sum, 0x3ff & ~(1 << 3));
	cr_assert_eq(srxed_handles_count(&t), 0);
	for (i = 0; i < 10; i++)
		cr_assert_null(srxed_handle_lookup(&t, h[i]));
	srxed_handles_destroy(&t);
}
