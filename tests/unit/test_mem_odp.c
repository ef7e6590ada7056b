// SPDX-License-Identifier: MIT
/*
 * On-demand MRs in the memory core (translate.h, docs/odp.md), in both
 * translation modes: registering pins nothing and counts nothing against
 * the byte limit; every check of a pinned MR applies, in the same order,
 * before the answer ON_DEMAND; srxe_mem_odp_va() gives the process VA
 * only for on-demand keys and only once the space has the process's
 * memory; the translation cache never keeps such a key; windows cannot be
 * bound to them; ibv_rereg_mr cannot turn one into a pinned MR in place.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <sys/mman.h>

#include "mem/pagetable.h"
#include "mem/tlb.h"
#include "mem/translate.h"

#define PAGE  4096ull
#define VA    0x7f0000001000ull
#define LEN   (64 * PAGE)
#define PD    1
#define RW    (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)
#define ODP   (RW | IBV_ACCESS_ON_DEMAND | IBV_ACCESS_MW_BIND)
#define NSLAB 16u

static const uint64_t secret[2] = { 0xabc, 0xdef };

struct fx {
	struct srxe_mem_client *c;
	uint8_t *slab;
	struct srxe_mr_keys mr;
};

static struct fx up(enum srxe_mem_mode mode)
{
	struct fx f = { 0 };
	struct srxe_mem_config cfg = { .mode = mode,
				       .client_id = 4,
				       .slab_frames = NSLAB,
				       .max_reg_bytes = 2 * PAGE,
				       .fixed_secret = secret };

	f.slab = mmap(NULL, NSLAB * PAGE, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(f.slab, MAP_FAILED);
	cfg.slab = f.slab;
	cr_assert_eq(srxe_mem_client_create(&cfg, &f.c), 0);
	/* far beyond max_reg_bytes and the slab: nothing is pinned */
	cr_assert_eq(srxe_mem_reg(f.c, PD, VA, LEN, VA, ODP, &f.mr, NULL), 0);
	return f;
}

static void down(struct fx *f)
{
	srxe_mem_client_destroy(f->c);
	munmap(f->slab, NSLAB * PAGE);
}

static int xlate(struct fx *f, uint32_t key, bool rkey, uint64_t addr,
		 uint64_t len, unsigned access, uint32_t pd)
{
	struct srxe_sg sg[4];
	struct srxe_xlate_req req = { key, rkey, addr, len, access, pd, 0 };

	return srxe_mem_translate(f->c, &req, sg, 4);
}

static int odp_va(struct fx *f, uint32_t key, bool rkey, uint64_t addr,
		  unsigned access, uint64_t *va, struct srxe_proc_io **io)
{
	struct srxe_xlate_req req = { key, rkey, addr, 100, access, PD, 0 };

	return srxe_mem_odp_va(f->c, &req, va, io);
}

static void run_registration(enum srxe_mem_mode mode)
{
	struct fx f = up(mode);
	struct srxe_mem_stats st;
	struct srxe_mr_keys implicit, pinned;
	int r;

	srxe_mem_stats(f.c, &st);
	cr_assert_eq(st.mrs, 1);
	cr_assert_eq(st.reg_bytes, 0, "on demand counts no bytes");
	cr_assert_eq(st.frames_in_use, 0, "on demand pins no frame");
	cr_assert_eq(srxe_mem_reg(f.c, PD, 0, SRXE_PT_USER_TOP, 0, ODP,
				  &implicit, NULL),
		     0, "implicit MR");
	/* the byte limit still holds for pinned MRs */
	cr_assert_eq(srxe_mem_reg(f.c, PD, VA, 3 * PAGE, VA, RW, &pinned, NULL),
		     -ENOMEM);
	cr_assert_eq(srxe_mem_reg(f.c, PD, VA, PAGE, VA, RW, &pinned, NULL), 0);
	srxe_mem_stats(f.c, &st);
	cr_assert_eq(st.reg_bytes, PAGE);
	cr_assert_eq(st.frames_in_use, 1);
	cr_assert_eq(srxe_mem_dereg(f.c, implicit.lkey, NULL), 0);
	cr_assert_eq(srxe_mem_dereg(f.c, f.mr.lkey, NULL), 0);
	srxe_mem_stats(f.c, &st);
	cr_assert_eq(st.mrs, 1);
	cr_assert_eq(st.reg_bytes, PAGE, "dereg of on demand frees nothing");
	cr_assert_eq(st.frames_in_use, 1, "the pinned page stays");
	r = xlate(&f, f.mr.lkey, false, VA, 8, 0, PD);
	cr_assert(r == -SRXE_XLATE_STALE || r == -SRXE_XLATE_BAD_KEY,
		  "dead key: %s", srxe_xlate_err_name(r));
	down(&f);
}

Test(mem_odp, shortcut_registration)
{
	run_registration(SRXE_MEM_SHORTCUT);
}

Test(mem_odp, mtt_registration)
{
	run_registration(SRXE_MEM_MTT);
}

static void run_checks(enum srxe_mem_mode mode)
{
	struct fx f = up(mode);
	struct srxe_mr_keys pinned;
	uint64_t va = 0;
	/* the mem layer only hands the process memory on: any address */
	static char proc_a, proc_b;
	struct srxe_proc_io *a = (struct srxe_proc_io *)&proc_a;
	struct srxe_proc_io *b = (struct srxe_proc_io *)&proc_b;
	struct srxe_proc_io *io = NULL;

	/* the checks first, in the order of a pinned MR */
	cr_assert_eq(xlate(&f, f.mr.lkey, false, VA, 8, 0, PD + 1),
		     -SRXE_XLATE_PD_MISMATCH);
	cr_assert_eq(
		xlate(&f, f.mr.rkey, true, VA, 8, IBV_ACCESS_REMOTE_READ, PD),
		-SRXE_XLATE_ACCESS_DENIED);
	cr_assert_eq(xlate(&f, f.mr.lkey, false, VA + LEN - 4, 8, 0, PD),
		     -SRXE_XLATE_OUT_OF_BOUNDS);
	cr_assert_eq(xlate(&f, f.mr.rkey ^ 0x40, true, VA, 8,
			   IBV_ACCESS_REMOTE_WRITE, PD) > 0,
		     false, "a forged rkey never passes");
	cr_assert_eq(xlate(&f, f.mr.rkey, true, VA + 8, 8,
			   IBV_ACCESS_REMOTE_WRITE, PD),
		     -SRXE_XLATE_ON_DEMAND);
	/* no process memory yet: nothing to reach the bytes through */
	cr_assert_eq(odp_va(&f, f.mr.lkey, false, VA, 0, &va, &io),
		     -SRXE_XLATE_NOT_PRESENT);
	cr_assert_eq(
		srxe_mem_space_set_proc_io(srxe_mem_client_space(f.c), NULL),
		-EINVAL);
	cr_assert_eq(srxe_mem_space_set_proc_io(srxe_mem_client_space(f.c), a),
		     0);
	cr_assert_eq(srxe_mem_space_set_proc_io(srxe_mem_client_space(f.c), b),
		     -EINVAL, "set once");
	cr_assert_eq(odp_va(&f, f.mr.rkey, true, VA + 300,
			    IBV_ACCESS_REMOTE_WRITE, &va, &io),
		     0);
	cr_assert_eq(va, VA + 300);
	cr_assert_eq(io, a);
	cr_assert_eq(odp_va(&f, f.mr.rkey, true, VA + 300,
			    IBV_ACCESS_REMOTE_ATOMIC, &va, &io),
		     -SRXE_XLATE_ACCESS_DENIED);
	cr_assert_eq(odp_va(&f, f.mr.lkey, false, VA + LEN - 50, 0, &va, &io),
		     -SRXE_XLATE_OUT_OF_BOUNDS);
	/* a pinned MR's key is no on-demand key */
	cr_assert_eq(srxe_mem_reg(f.c, PD, VA, PAGE, VA, RW, &pinned, NULL), 0);
	cr_assert_eq(odp_va(&f, pinned.lkey, false, VA, 0, &va, &io),
		     -SRXE_XLATE_NOT_PRESENT);
	cr_assert_eq(xlate(&f, pinned.lkey, false, VA, 8, 0, PD), 1);
	down(&f);
}

Test(mem_odp, shortcut_checks_then_on_demand)
{
	run_checks(SRXE_MEM_SHORTCUT);
}

Test(mem_odp, mtt_checks_then_on_demand)
{
	run_checks(SRXE_MEM_MTT);
}

static void run_cache_windows_rereg(enum srxe_mem_mode mode)
{
	struct fx f = up(mode);
	struct srxe_tlb *tlb = malloc(sizeof(*tlb));
	struct srxe_xlate_req req = { f.mr.lkey, false, VA, 64, 0, PD, 0 };
	struct srxe_mw_bind_req bind = { .mr_lkey = f.mr.lkey,
					 .access = IBV_ACCESS_REMOTE_WRITE,
					 .addr = VA,
					 .len = PAGE,
					 .pd = PD };
	struct srxe_mr_keys keys;
	struct srxe_sg sg[2];
	uint32_t id;

	cr_assert_not_null(tlb);
	srxe_tlb_init(tlb);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(srxe_tlb_translate(tlb, f.c, &req, sg, 2),
			     -SRXE_XLATE_ON_DEMAND);
	cr_assert_eq(tlb->fills, 0, "the cache keeps no on-demand key");
	cr_assert_eq(tlb->hits, 0);
	free(tlb);

	cr_assert_eq(
		srxe_mem_mw_alloc(f.c, PD, IBV_MW_TYPE_1, &id, &bind.mw_rkey),
		0);
	bind.new_rkey = (bind.mw_rkey & ~0xffu) | ((bind.mw_rkey + 1) & 0xff);
	cr_assert_eq(srxe_mem_mw_bind(f.c, &bind), -EOPNOTSUPP);

	cr_assert_eq(srxe_mem_rereg(f.c, f.mr.lkey, PD, RW, &keys), -EAGAIN,
		     "dropping ON_DEMAND is a new registration");
	cr_assert_eq(
		srxe_mem_rereg(f.c, f.mr.lkey, PD + 1,
			       IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_ON_DEMAND,
			       &keys),
		0);
	cr_assert_eq(keys.lkey, f.mr.lkey, "keys stay");
	cr_assert_eq(xlate(&f, f.mr.lkey, false, VA, 8, 0, PD + 1),
		     -SRXE_XLATE_ON_DEMAND);
	cr_assert_eq(xlate(&f, f.mr.rkey, true, VA, 8, IBV_ACCESS_REMOTE_WRITE,
			   PD + 1),
		     -SRXE_XLATE_ACCESS_DENIED, "rights dropped in place");
	down(&f);
}

Test(mem_odp, shortcut_cache_windows_rereg)
{
	run_cache_windows_rereg(SRXE_MEM_SHORTCUT);
}

Test(mem_odp, mtt_cache_windows_rereg)
{
	run_cache_windows_rereg(SRXE_MEM_MTT);
}
