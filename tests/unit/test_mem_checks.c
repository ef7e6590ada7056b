// SPDX-License-Identifier: MIT
/*
 * Every registration error and every translation check fails with its own
 * reason, in both modes where the check exists; deregistration kills keys;
 * a reused slot gets a new key.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <sys/mman.h>

#include "mem/codec.h"
#include "mem/pagetable.h"
#include "mem/translate.h"

#define PAGE	    4096ull
#define SLAB_FRAMES 256u
#define VA	    0x7f0000001000ull /* page aligned, mid leaf */
#define RW	    (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)

static const uint64_t secret[2] = { 0xfeedface, 0xc0ffee };

struct fixture {
	struct srxe_mem_client *c;
	uint8_t *slab;
	struct srxe_mr_keys
		keys; /* MR: 3 pages + 100 B, LOCAL_WRITE|REMOTE_READ */
};

static struct fixture f;

static void fixture_up(enum srxe_mem_mode mode, uint64_t max_bytes,
		       uint32_t max_mrs, uint32_t frames)
{
	struct srxe_mem_config cfg = { .mode = mode,
				       .client_id = 3,
				       .slab_frames = frames,
				       .max_reg_bytes = max_bytes,
				       .max_mrs = max_mrs,
				       .fixed_secret = secret };

	f.slab = mmap(NULL, SLAB_FRAMES * PAGE, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(f.slab, MAP_FAILED);
	cfg.slab = f.slab;
	cr_assert_eq(srxe_mem_client_create(&cfg, &f.c), 0);
	cr_assert_eq(
		srxe_mem_reg(f.c, 1, VA, 3 * PAGE + 100, VA,
			     IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ,
			     &f.keys, NULL),
		0);
}

static void fixture_down(void)
{
	srxe_mem_client_destroy(f.c);
	munmap(f.slab, SLAB_FRAMES * PAGE);
}

static int xlate(uint32_t key, bool rkey, uint64_t addr, uint64_t len,
		 unsigned access, uint32_t pd)
{
	struct srxe_sg sg[8];
	struct srxe_xlate_req req = { key, rkey, addr, len, access, pd, 0 };

	return srxe_mem_translate(f.c, &req, sg, 8);
}

#define assert_reason(got, want)                                               \
	cr_assert_eq((got), -(want), "got %s (%d), want %s",                   \
		     srxe_xlate_err_name(got), (got),                          \
		     srxe_xlate_err_name(want))

static void run_common_checks(void)
{
	uint32_t l = f.keys.lkey, r = f.keys.rkey;

	cr_assert_eq(xlate(l, false, VA, 3 * PAGE + 100, 0, 1), 1,
		     "fresh frames are one contiguous run");
	cr_assert_eq(xlate(r, true, VA + 5, 10, IBV_ACCESS_REMOTE_READ, 1), 1);
	assert_reason(xlate(l, false, VA, 8, 0, 2), SRXE_XLATE_PD_MISMATCH);
	assert_reason(xlate(r, true, VA, 8, IBV_ACCESS_REMOTE_WRITE, 1),
		      SRXE_XLATE_ACCESS_DENIED);
	assert_reason(xlate(r, true, VA, 8, IBV_ACCESS_REMOTE_ATOMIC, 1),
		      SRXE_XLATE_ACCESS_DENIED);
	assert_reason(xlate(l, false, VA - 1, 8, 0, 1),
		      SRXE_XLATE_OUT_OF_BOUNDS);
	assert_reason(xlate(l, false, VA + 3 * PAGE + 99, 2, 0, 1),
		      SRXE_XLATE_OUT_OF_BOUNDS);
	cr_assert_eq(xlate(l, false, VA + 3 * PAGE + 99, 1, 0, 1), 1,
		     "last byte is inside");
	assert_reason(xlate(l, false, VA + 8, UINT64_MAX, 0, 1),
		      SRXE_XLATE_OUT_OF_BOUNDS);
	assert_reason(xlate(l, false, UINT64_MAX, 2, 0, 1),
		      SRXE_XLATE_OUT_OF_BOUNDS);
	cr_assert_eq(xlate(l, false, VA + 8, 0, 0, 1), 0, "empty access");
}

static void run_sg_overflow(void)
{
	struct srxe_sg sg[1];
	struct srxe_xlate_req req = { f.keys.lkey, false, VA, 8, 0, 1, 0 };

	cr_assert_eq(srxe_mem_translate(f.c, &req, sg, 0),
		     -SRXE_XLATE_SG_OVERFLOW);
}

/* An MR without remote rights: rkey 0, and no remote use of the lkey. */
static void run_local_only_mr(void)
{
	struct srxe_mr_keys k;

	cr_assert_eq(srxe_mem_reg(f.c, 1, VA + 64 * PAGE, 100, VA + 64 * PAGE,
				  0, &k, NULL),
		     0);
	cr_assert_neq(k.rkey, 0); /* issued, refused below (rxe-like) */
	cr_assert_neq(k.lkey, 0);
	assert_reason(xlate(k.lkey, false, VA + 64 * PAGE, 8,
			    IBV_ACCESS_LOCAL_WRITE, 1),
		      SRXE_XLATE_ACCESS_DENIED);
	cr_assert_eq(xlate(k.lkey, false, VA + 64 * PAGE, 8, 0, 1), 1);
	cr_assert_lt(xlate(k.rkey, true, VA + 64 * PAGE, 8,
			   IBV_ACCESS_REMOTE_READ, 1),
		     0);
}

static void run_registration_errors(void)
{
	struct srxe_mr_keys k;
	struct srxe_mem_stats before, after;

	srxe_mem_stats(f.c, &before);
	cr_assert_eq(srxe_mem_reg(f.c, 1, VA, 0, VA, 0, &k, NULL), -EINVAL);
	cr_assert_eq(srxe_mem_reg(f.c, 1, VA, 8, VA, IBV_ACCESS_REMOTE_WRITE,
				  &k, NULL),
		     -EINVAL, "REMOTE_WRITE needs LOCAL_WRITE");
	cr_assert_eq(srxe_mem_reg(f.c, 1, VA, 8, VA, IBV_ACCESS_REMOTE_ATOMIC,
				  &k, NULL),
		     -EINVAL, "REMOTE_ATOMIC needs LOCAL_WRITE");
	cr_assert_eq(srxe_mem_reg(f.c, 1, VA, 8, VA, IBV_ACCESS_ZERO_BASED, &k,
				  NULL),
		     -EINVAL, "unsupported access bit");
	cr_assert_eq(srxe_mem_reg(f.c, 1, VA, 8, VA,
				  IBV_ACCESS_RELAXED_ORDERING, &k, NULL),
		     0, "optional hint accepted");
	cr_assert_eq(srxe_mem_dereg(f.c, k.lkey, NULL), 0);
	cr_assert_eq(srxe_mem_reg(f.c, 1, UINT64_MAX - 8, 16, 0, 0, &k, NULL),
		     -EFAULT);
	cr_assert_eq(srxe_mem_reg(f.c, 1, 1ull << 47, 16, 0, 0, &k, NULL),
		     -EFAULT, "beyond user VA");
	cr_assert_eq(srxe_mem_reg(f.c, 1, (1ull << 47) - 8, 16, 0, 0, &k, NULL),
		     -EFAULT);
	cr_assert_eq(srxe_mem_reg(f.c, 1, VA, 16, UINT64_MAX - 8, 0, &k, NULL),
		     -EFAULT, "iova + len overflows");
	srxe_mem_stats(f.c, &after);
	cr_assert_eq(after.frames_in_use, before.frames_in_use);
	cr_assert_eq(after.mrs, before.mrs);
	cr_assert_eq(srxe_mem_dereg(f.c, f.keys.lkey + 0x40000, NULL), -EINVAL);
}

static void run_dereg_and_reuse(void)
{
	struct srxe_mr_keys old = f.keys, k;
	int n;

	cr_assert_eq(srxe_mem_dereg(f.c, old.lkey, NULL), 0);
	cr_assert_eq(srxe_mem_dereg(f.c, old.lkey, NULL), -EINVAL);
	n = xlate(old.lkey, false, VA, 8, 0, 1);
	cr_assert(n == -SRXE_XLATE_STALE || n == -SRXE_XLATE_BAD_KEY, "%s",
		  srxe_xlate_err_name(n));
	n = xlate(old.rkey, true, VA, 8, IBV_ACCESS_REMOTE_READ, 1);
	cr_assert(n == -SRXE_XLATE_STALE || n == -SRXE_XLATE_BAD_KEY);
	cr_assert_eq(
		srxe_mem_reg(f.c, 1, VA, 3 * PAGE + 100, VA,
			     IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ,
			     &k, NULL),
		0);
	cr_assert_neq(k.lkey, old.lkey);
	cr_assert_neq(k.rkey, old.rkey);
	n = xlate(old.lkey, false, VA, 8, 0, 1);
	cr_assert(n == -SRXE_XLATE_STALE || n == -SRXE_XLATE_BAD_KEY);
	cr_assert_eq(xlate(k.lkey, false, VA, 8, 0, 1), 1);
	f.keys = k;
}

static void run_limits(enum srxe_mem_mode mode)
{
	struct srxe_mr_keys k[4];
	struct srxe_mem_stats before, after;

	fixture_down();
	fixture_up(mode, 5 * PAGE, 3, 6);
	cr_assert_eq(srxe_mem_reg(f.c, 1, VA, 2 * PAGE, VA, 0, &k[0], NULL),
		     -ENOMEM, "byte limit: 3 pages + 100 B + 2 pages > 5");
	cr_assert_eq(srxe_mem_reg(f.c, 1, VA, PAGE, VA, 0, &k[0], NULL), 0);
	cr_assert_eq(srxe_mem_reg(f.c, 1, VA, 8, VA, 0, &k[1], NULL), 0);
	cr_assert_eq(srxe_mem_reg(f.c, 1, VA, 8, VA, 0, &k[2], NULL), -ENOMEM,
		     "MR limit");
	cr_assert_eq(srxe_mem_dereg(f.c, k[1].lkey, NULL), 0);
	srxe_mem_stats(f.c, &before);
	cr_assert_eq(srxe_mem_reg(f.c, 1, VA + 16 * PAGE, 3 * PAGE, VA, 0,
				  &k[3], NULL),
		     -ENOMEM, "slab of 6 frames, 4 used");
	srxe_mem_stats(f.c, &after);
	cr_assert_eq(after.frames_in_use, before.frames_in_use,
		     "failed registration rolled back");
	cr_assert_eq(after.table_pages, before.table_pages);
}

static void run_all(enum srxe_mem_mode mode)
{
	fixture_up(mode, 0, 0, SLAB_FRAMES);
	run_common_checks();
	run_sg_overflow();
	run_local_only_mr();
	run_registration_errors();
	run_dereg_and_reuse();
	run_limits(mode);
	fixture_down();
}

Test(mem_checks, shortcut_reasons)
{
	run_all(SRXE_MEM_SHORTCUT);
}

Test(mem_checks, mtt_reasons)
{
	run_all(SRXE_MEM_MTT);
}

/* Shortcut keys built with the client's secret, to aim at single checks. */
static uint32_t forge(enum srxe_key_kind kind, struct srxe_shortcut sc)
{
	struct srxe_codec codec;

	srxe_codec_init_secret(&codec, secret);
	return srxe_codec_encode(&codec, kind, srxe_shortcut_pack(&sc));
}

static struct srxe_shortcut real_shortcut(uint32_t lkey)
{
	struct srxe_codec codec;

	srxe_codec_init_secret(&codec, secret);
	return srxe_shortcut_unpack(
		srxe_codec_decode(&codec, SRXE_KEY_LOCAL, lkey));
}

Test(mem_checks, shortcut_bad_key_and_stale)
{
	struct srxe_shortcut sc;

	fixture_up(SRXE_MEM_SHORTCUT, 0, 0, SLAB_FRAMES);
	sc = real_shortcut(f.keys.lkey);
	cr_assert_eq(forge(SRXE_KEY_LOCAL, sc), f.keys.lkey);
	cr_assert_eq(forge(SRXE_KEY_REMOTE, sc), f.keys.rkey);
	sc.desc += 1000;
	assert_reason(xlate(forge(SRXE_KEY_LOCAL, sc), false, VA, 8, 0, 1),
		      SRXE_XLATE_BAD_KEY); /* no such descriptor */
	sc = real_shortcut(f.keys.lkey);
	sc.level = sc.level % 4 + 1;
	assert_reason(xlate(forge(SRXE_KEY_LOCAL, sc), false, VA, 8, 0, 1),
		      SRXE_XLATE_BAD_KEY); /* wrong level for that table */
	sc = real_shortcut(f.keys.lkey);
	sc.gen = (sc.gen + 1) & 63;
	assert_reason(xlate(forge(SRXE_KEY_LOCAL, sc), false, VA, 8, 0, 1),
		      SRXE_XLATE_STALE); /* generation mismatch */
	sc = real_shortcut(f.keys.lkey);
	sc.slot = (sc.slot + 7) & 255;
	assert_reason(xlate(forge(SRXE_KEY_LOCAL, sc), false, VA, 8, 0, 1),
		      SRXE_XLATE_STALE); /* slot not live */
	/* lkey presented as rkey (and vice versa) decodes to garbage */
	cr_assert_lt(xlate(f.keys.lkey, true, VA, 8, IBV_ACCESS_REMOTE_READ, 1),
		     0);
	cr_assert_lt(xlate(f.keys.rkey, false, VA, 8, 0, 1), 0);
	fixture_down();
}

Test(mem_checks, mtt_bad_key_and_stale)
{
	fixture_up(SRXE_MEM_MTT, 0, 0, SLAB_FRAMES);
	assert_reason(xlate(f.keys.lkey + (1000u << 8), false, VA, 8, 0, 1),
		      SRXE_XLATE_BAD_KEY);
	assert_reason(xlate(0, false, VA, 8, 0, 1), SRXE_XLATE_BAD_KEY);
	assert_reason(xlate(f.keys.lkey ^ 1, false, VA, 8, 0, 1),
		      SRXE_XLATE_STALE);
	cr_assert_eq(f.keys.lkey, f.keys.rkey, "rxe: rkey == lkey");
	fixture_down();
}

/* Pages unpinned behind a live MR's back (a daemon bug) are caught. */
Test(mem_checks, shortcut_not_present_and_not_pinned)
{
	struct srxe_pt *pt;
	struct srxe_mr_keys k;
	uint64_t va2 = VA + 32 * PAGE;

	fixture_up(SRXE_MEM_SHORTCUT, 0, 0, SLAB_FRAMES);
	pt = srxe_mem_client_pt(f.c);
	srxe_pt_unpin(pt, VA + PAGE, 1, NULL);
	assert_reason(xlate(f.keys.lkey, false, VA, 2 * PAGE, 0, 1),
		      SRXE_XLATE_NOT_PRESENT);
	cr_assert_eq(xlate(f.keys.lkey, false, VA, PAGE, 0, 1), 1,
		     "page 0 still fine");

	cr_assert_eq(srxe_pt_map_page(pt, va2 + PAGE, 200, true), 0);
	cr_assert_eq(srxe_mem_reg(f.c, 1, va2, 2 * PAGE, va2,
				  IBV_ACCESS_LOCAL_WRITE, &k, NULL),
		     0);
	cr_assert_eq(xlate(k.lkey, false, va2, 2 * PAGE, 0, 1), 2,
		     "mapped frame 200 reused, not contiguous");
	srxe_pt_unpin(pt, va2 + PAGE, 1, NULL);
	cr_assert(srxe_pt_lookup(pt, va2 + PAGE) & SRXE_PTE_PRESENT);
	assert_reason(xlate(k.lkey, false, va2, 2 * PAGE, 0, 1),
		      SRXE_XLATE_NOT_PINNED);
	fixture_down();
}

/* Overlapping MRs share frames; the last deregistration frees them. */
Test(mem_checks, overlap_shares_frames_and_pins)
{
	struct srxe_mr_keys a;
	struct srxe_runs runs = { 0 }, freed = { 0 };
	struct srxe_sg sa[4], sb[4];
	struct srxe_xlate_req ra, rb;

	fixture_up(SRXE_MEM_SHORTCUT, 0, 0, SLAB_FRAMES);
	cr_assert_eq(
		srxe_mem_reg(f.c, 1, VA + 2 * PAGE, 4 * PAGE, VA, 0, &a, &runs),
		0);
	cr_assert_eq(runs.n, 1, "one new run");
	cr_assert_eq(runs.v[0].va, VA + 4 * PAGE, "only the 2 absent pages");
	cr_assert_eq(runs.v[0].npages, 2);
	/* a's iova VA is its va VA + 2 pages */
	ra = (struct srxe_xlate_req){ a.lkey, false, VA, PAGE, 0, 1, 0 };
	rb = (struct srxe_xlate_req){
		f.keys.lkey, false, VA + 2 * PAGE, PAGE, 0, 1, 0
	};
	cr_assert_eq(srxe_mem_translate(f.c, &ra, sa, 4), 1);
	cr_assert_eq(srxe_mem_translate(f.c, &rb, sb, 4), 1);
	cr_assert_eq(sa[0].addr, sb[0].addr, "same frame for the same page");
	cr_assert_eq(srxe_mem_dereg(f.c, f.keys.lkey, &freed), 0);
	cr_assert_eq(freed.n, 1);
	cr_assert_eq(freed.v[0].va, VA);
	cr_assert_eq(freed.v[0].npages, 2, "pages 2-3 still pinned by b");
	cr_assert_eq(srxe_mem_translate(f.c, &ra, sa, 4), 1);
	srxe_runs_free(&runs);
	srxe_runs_free(&freed);
	fixture_down();
}

/*
 * Reuse in a 2 MiB region of its own: the guarantee is 64 generations times
 * the slots of the descriptor not held by other live MRs.
 */
static void assert_keys_distinct_over_reuse(enum srxe_mem_mode mode, int n)
{
	uint8_t *seen = calloc(1u << 29, 1);
	const uint64_t va = VA + (4ull << 30);

	fixture_up(mode, 0, 0, SLAB_FRAMES);
	for (int i = 0; i < n; i++) {
		struct srxe_mr_keys k;
		uint32_t l;

		cr_assert_eq(srxe_mem_reg(f.c, 1, va, 8, va, 0, &k, NULL), 0);
		l = k.lkey;
		cr_assert_eq(seen[l >> 3] & (1u << (l & 7)), 0,
			     "key repeated after %d reuses", i);
		seen[l >> 3] |= 1u << (l & 7);
		cr_assert_eq(srxe_mem_dereg(f.c, l, NULL), 0);
	}
	fixture_down();
	free(seen);
}

/* 256 slots x 64 generations before a shortcut key comes back. */
Test(mem_checks, shortcut_keys_do_not_repeat_before_16384_reuses)
{
	assert_keys_distinct_over_reuse(SRXE_MEM_SHORTCUT, 256 * 64);
}

/* rxe-style 8-bit key byte: 256 reuses of one index. */
Test(mem_checks, mtt_keys_do_not_repeat_before_256_reuses)
{
	assert_keys_distinct_over_reuse(SRXE_MEM_MTT, 256);
}

Test(mem_checks, error_names)
{
	cr_assert_str_eq(srxe_xlate_err_name(-SRXE_XLATE_BAD_KEY), "BAD_KEY");
	cr_assert_str_eq(srxe_xlate_err_name(SRXE_XLATE_NOT_PINNED),
			 "NOT_PINNED");
	cr_assert_str_eq(srxe_xlate_err_name(0), "?");
	for (int e = 1; e < SRXE_XLATE_ERR_MAX; e++)
		for (int o = 1; o < e; o++)
			cr_assert_str_neq(srxe_xlate_err_name(e),
					  srxe_xlate_err_name(o));
}
