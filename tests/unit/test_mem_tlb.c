// SPDX-License-Identifier: MIT
/*
 * The translation cache (kernel-shim/mem/tlb.h), in both modes: every
 * answer equals srxe_mem_translate()'s at that moment (count, chunks,
 * error), and a cached translation is never used after
 *  - dereg, also when the same key value comes back for another MR at
 *    the same iova (MTT after 256 reuses of an index, shortcut after
 *    16,384 reuses of a slot);
 *  - rereg of the PD or the rights;
 *  - window invalidate, rebind, dealloc, QP gone;
 *  - client exit (a new client with the same key value and iova);
 *  - a table page freed behind a live MR's back;
 * forged keys never hit; PD, rights, bounds, the type 2 QP and the page
 * checks still hold on a hit; and a random model of thousands of
 * operations (reg, dereg, rereg, windows, client exit, translations of
 * live, dead and random keys) agrees with the uncached path throughout.
 * The hit counter shows the cache was in use (tests never look at time).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem/pagetable.h"
#include "mem/tlb.h"
#include "mem/translate.h"

#define PAGE	    4096ull
#define REGION	    (2ull << 20)
#define SLAB_FRAMES 4096u
#define VA	    0x7f2000000000ull /* 1 GiB aligned */
#define PD	    1
#define QPN	    0x21
#define RW                                                                     \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_READ)
#define FULL  (RW | IBV_ACCESS_MW_BIND)
#define MAXSG 40

static const uint64_t secret[2] = { 0xabcdef, 0x123456 };

struct fx {
	struct srxe_mem_client *c;
	uint8_t *slab;
	struct srxe_tlb *tlb;
};

static uint8_t *new_slab(void)
{
	uint8_t *s = mmap(NULL, SLAB_FRAMES * PAGE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	cr_assert_neq(s, MAP_FAILED);
	return s;
}

static struct srxe_mem_client *new_client(enum srxe_mem_mode mode,
					  uint8_t *slab)
{
	struct srxe_mem_config cfg = { .mode = mode,
				       .client_id = 7,
				       .slab = slab,
				       .slab_frames = SLAB_FRAMES,
				       .fixed_secret = secret };
	struct srxe_mem_client *c;

	cr_assert_eq(srxe_mem_client_create(&cfg, &c), 0);
	return c;
}

static struct fx up(enum srxe_mem_mode mode)
{
	struct fx f;

	f.slab = new_slab();
	f.c = new_client(mode, f.slab);
	f.tlb = malloc(sizeof(*f.tlb));
	cr_assert(f.tlb);
	srxe_tlb_init(f.tlb);
	return f;
}

static void down(struct fx *f)
{
	srxe_mem_client_destroy(f->c);
	munmap(f->slab, SLAB_FRAMES * PAGE);
	free(f->tlb);
}

/*
 * The cached and the uncached answer for c: equal (asserted), returned.
 * The uncached one runs second, so it cannot warm anything for the
 * cached one.
 */
static int both(struct srxe_tlb *tlb, const struct srxe_mem_client *c,
		const struct srxe_xlate_req *req, int max, struct srxe_sg *out)
{
	struct srxe_sg a[MAXSG], b[MAXSG];
	int ra, rb;

	cr_assert(max <= MAXSG);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	ra = srxe_tlb_translate(tlb, c, req, a, max);
	rb = srxe_mem_translate(c, req, b, max);
	cr_assert_eq(ra, rb,
		     "key 0x%x%s addr 0x%lx len %lu access 0x%x pd %u: "
		     "cached %d (%s), uncached %d (%s)",
		     req->key, req->is_rkey ? " (rkey)" : "",
		     (unsigned long)req->addr, (unsigned long)req->len,
		     req->access, req->pd, ra, srxe_xlate_err_name(ra), rb,
		     srxe_xlate_err_name(rb));
	for (int i = 0; i < ra; i++) {
		cr_assert_eq(a[i].addr, b[i].addr, "chunk %d address", i);
		cr_assert_eq(a[i].len, b[i].len, "chunk %d length", i);
	}
	if (out && ra > 0)
		memcpy(out, a, (size_t)ra * sizeof(*a));
	return ra;
}

static int xl(struct fx *f, uint32_t key, bool rkey, uint64_t addr,
	      uint64_t len, unsigned access, uint32_t pd, uint32_t qpn)
{
	struct srxe_xlate_req req = { key, rkey, addr, len, access, pd, qpn };

	return both(f->tlb, f->c, &req, MAXSG, NULL);
}

/* Translate twice: the second time must be a hit. */
static void warm(struct fx *f, uint32_t key, bool rkey, uint64_t addr,
		 uint64_t len, unsigned access, uint32_t pd, uint32_t qpn)
{
	uint64_t hits;

	cr_assert_gt(xl(f, key, rkey, addr, len, access, pd, qpn), 0);
	hits = f->tlb->hits;
	cr_assert_gt(xl(f, key, rkey, addr, len, access, pd, qpn), 0);
	cr_assert_eq(f->tlb->hits, hits + 1, "the second use hits");
}

#define assert_err(got, want)                                                  \
	cr_assert_eq((got), -(want), "got %s (%d), want %s",                   \
		     srxe_xlate_err_name(got), (got),                          \
		     srxe_xlate_err_name(want))

static enum srxe_mem_mode modes[] = { SRXE_MEM_SHORTCUT, SRXE_MEM_MTT };

#define MODES(name)                                                            \
	ParameterizedTestParameters(mem_tlb, name)                             \
	{                                                                      \
		return cr_make_param_array(enum srxe_mem_mode, modes, 2);      \
	}                                                                      \
	ParameterizedTest(enum srxe_mem_mode *mode, mem_tlb, name)

MODES(hit_equals_uncached_and_dies_with_dereg)
{
	struct fx f = up(*mode);
	struct srxe_mr_keys k;
	uint64_t len = 3 * REGION + 5 * PAGE + 17; /* 4 regions */

	cr_assert_eq(
		srxe_mem_reg(f.c, PD, VA + 100, len, VA + 100, FULL, &k, NULL),
		0);
	warm(&f, k.rkey, true, VA + 200, 64, IBV_ACCESS_REMOTE_WRITE, PD, 0);
	warm(&f, k.lkey, false, VA + REGION - 10, 64 << 10, 0, PD, 0);
	/* a whole-MR access across every region, from the entries */
	warm(&f, k.lkey, false, VA + 100, len, IBV_ACCESS_LOCAL_WRITE, PD, 0);
	cr_assert_eq(srxe_mem_dereg(f.c, k.lkey, NULL), 0);
	/* STALE, or BAD_KEY where the shortcut descriptor went with it */
	cr_assert_lt(xl(&f, k.rkey, true, VA + 200, 64, IBV_ACCESS_REMOTE_WRITE,
			PD, 0),
		     0);
	cr_assert_lt(
		xl(&f, k.lkey, false, VA + REGION - 10, 64 << 10, 0, PD, 0), 0);
	down(&f);
}

/*
 * The same key value names another MR at the same iova (other va, other
 * length and PD): the answer is the new MR's, never the cached one.
 */
MODES(same_key_back_for_another_mr)
{
	struct fx f = up(*mode);
	struct srxe_mr_keys k, k2;
	const uint64_t iova = VA + 8 * PAGE;
	struct srxe_sg sg[MAXSG];
	struct srxe_xlate_req req = {
		0, true, iova + 4 * PAGE, 64, IBV_ACCESS_REMOTE_READ, PD, 0
	};
	void *old;
	int tries;

	cr_assert_eq(srxe_mem_reg(f.c, PD, VA + 8 * PAGE, 16 * PAGE, iova, RW,
				  &k, NULL),
		     0);
	/* keeps the first MR's frames busy after its dereg, so the new MR's
	 * pages get other frames */
	cr_assert_eq(srxe_mem_reg(f.c, PD + 1, VA + 8 * PAGE, 16 * PAGE,
				  VA + 8 * PAGE, RW, &k2, NULL),
		     0);
	req.key = k.rkey;
	cr_assert_eq(both(f.tlb, f.c, &req, MAXSG, sg), 1);
	old = sg[0].addr;
	cr_assert_eq(both(f.tlb, f.c, &req, MAXSG, sg), 1);
	cr_assert_eq(f.tlb->hits, 1);
	cr_assert_eq(srxe_mem_dereg(f.c, k.lkey, NULL), 0);
	for (tries = 0; tries < 20000; tries++) {
		struct srxe_mr_keys n;

		cr_assert_eq(srxe_mem_reg(f.c, PD + 2, VA + 64 * PAGE, 8 * PAGE,
					  iova, RW, &n, NULL),
			     0);
		if (n.rkey == k.rkey)
			break;
		cr_assert_eq(srxe_mem_dereg(f.c, n.lkey, NULL), 0);
	}
	cr_assert_lt(tries, 20000, "the key value came back");
	/* old PD: refused now, though the cached entry granted it */
	assert_err(both(f.tlb, f.c, &req, MAXSG, NULL), SRXE_XLATE_PD_MISMATCH);
	req.pd = PD + 2;
	cr_assert_eq(both(f.tlb, f.c, &req, MAXSG, sg), 1);
	cr_assert_neq(sg[0].addr, old, "the new MR's frame");
	/* the new MR is 8 pages long */
	req.addr = iova + 12 * PAGE;
	assert_err(both(f.tlb, f.c, &req, MAXSG, NULL),
		   SRXE_XLATE_OUT_OF_BOUNDS);
	down(&f);
}

MODES(rereg_pd_and_rights)
{
	struct fx f = up(*mode);
	struct srxe_mr_keys k, k2;

	cr_assert_eq(srxe_mem_reg(f.c, PD, VA, 4 * PAGE, VA, RW, &k, NULL), 0);
	warm(&f, k.rkey, true, VA + 8, 64, IBV_ACCESS_REMOTE_WRITE, PD, 0);
	cr_assert_eq(srxe_mem_rereg(f.c, k.lkey, PD + 1, RW, &k2), 0);
	cr_assert_eq(k2.rkey, k.rkey, "in place: same keys");
	assert_err(xl(&f, k.rkey, true, VA + 8, 64, IBV_ACCESS_REMOTE_WRITE, PD,
		      0),
		   SRXE_XLATE_PD_MISMATCH);
	warm(&f, k.rkey, true, VA + 8, 64, IBV_ACCESS_REMOTE_WRITE, PD + 1, 0);
	cr_assert_eq(
		srxe_mem_rereg(f.c, k.lkey, PD + 1,
			       IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ,
			       &k2),
		0);
	assert_err(xl(&f, k.rkey, true, VA + 8, 64, IBV_ACCESS_REMOTE_WRITE,
		      PD + 1, 0),
		   SRXE_XLATE_ACCESS_DENIED);
	warm(&f, k.rkey, true, VA + 8, 64, IBV_ACCESS_REMOTE_READ, PD + 1, 0);
	cr_assert_eq(srxe_mem_rereg(f.c, k.lkey, PD + 1, IBV_ACCESS_LOCAL_WRITE,
				    &k2),
		     0);
	assert_err(xl(&f, k.rkey, true, VA + 8, 64, IBV_ACCESS_REMOTE_READ,
		      PD + 1, 0),
		   SRXE_XLATE_ACCESS_DENIED);
	down(&f);
}

static uint32_t next_key(uint32_t rkey)
{
	return (rkey & 0xffffff00u) | ((rkey + 1) & 0xff);
}

static int bind(struct fx *f, uint32_t mw_rkey, uint32_t new_rkey,
		uint32_t lkey, uint64_t addr, uint64_t len, unsigned access,
		uint32_t qpn)
{
	struct srxe_mw_bind_req b = { mw_rkey, new_rkey, lkey, access,
				      addr,    len,	 PD,   qpn };

	return srxe_mem_mw_bind(f->c, &b);
}

MODES(windows_invalidate_rebind_dealloc_qp_gone)
{
	struct fx f = up(*mode);
	struct srxe_mr_keys k;
	uint32_t id, id1, rk, nk, rk1, nk1;
	const unsigned w = IBV_ACCESS_REMOTE_WRITE;

	cr_assert_eq(srxe_mem_reg(f.c, PD, VA, 32 * PAGE, VA, FULL, &k, NULL),
		     0);
	cr_assert_eq(srxe_mem_mw_alloc(f.c, PD, IBV_MW_TYPE_2, &id, &rk), 0);
	nk = next_key(rk);
	cr_assert_eq(bind(&f, rk, nk, k.lkey, VA + PAGE, 4 * PAGE, RW, QPN), 0);
	warm(&f, nk, true, VA + PAGE, 64, w, PD, QPN);
	/* type 2 QP and bounds on a hit */
	assert_err(xl(&f, nk, true, VA + PAGE, 64, w, PD, QPN + 1),
		   SRXE_XLATE_QP_MISMATCH);
	assert_err(xl(&f, nk, true, VA + 5 * PAGE - 8, 64, w, PD, QPN),
		   SRXE_XLATE_OUT_OF_BOUNDS);
	cr_assert_eq(srxe_mem_mw_invalidate(f.c, nk, PD, QPN), 0);
	assert_err(xl(&f, nk, true, VA + PAGE, 64, w, PD, QPN),
		   SRXE_XLATE_STALE);
	/* rebind elsewhere with the next key byte: old key dead, new range */
	rk = nk;
	nk = next_key(rk);
	cr_assert_eq(
		bind(&f, rk, nk, k.lkey, VA + 16 * PAGE, 2 * PAGE, RW, QPN), 0);
	assert_err(xl(&f, rk, true, VA + PAGE, 64, w, PD, QPN),
		   SRXE_XLATE_STALE);
	warm(&f, nk, true, VA + 16 * PAGE, 64, w, PD, QPN);
	assert_err(xl(&f, nk, true, VA + PAGE, 64, w, PD, QPN),
		   SRXE_XLATE_OUT_OF_BOUNDS);
	srxe_mem_mw_qp_gone(f.c, QPN);
	assert_err(xl(&f, nk, true, VA + 16 * PAGE, 64, w, PD, QPN),
		   SRXE_XLATE_STALE);
	/* type 1: rebind with other rights, zero-length bind, dealloc */
	cr_assert_eq(srxe_mem_mw_alloc(f.c, PD, IBV_MW_TYPE_1, &id1, &rk1), 0);
	nk1 = next_key(rk1);
	cr_assert_eq(bind(&f, rk1, nk1, k.lkey, VA, 8 * PAGE, RW, 0), 0);
	warm(&f, nk1, true, VA + 3 * PAGE, 64, w, PD, 0);
	cr_assert_eq(bind(&f, nk1, nk1, k.lkey, VA, 8 * PAGE,
			  IBV_ACCESS_REMOTE_READ, 0),
		     0);
	assert_err(xl(&f, nk1, true, VA + 3 * PAGE, 64, w, PD, 0),
		   SRXE_XLATE_ACCESS_DENIED);
	warm(&f, nk1, true, VA + 3 * PAGE, 64, IBV_ACCESS_REMOTE_READ, PD, 0);
	cr_assert_eq(bind(&f, nk1, nk1, k.lkey, 0, 0, 0, 0), 0);
	assert_err(xl(&f, nk1, true, VA + 3 * PAGE, 64, IBV_ACCESS_REMOTE_READ,
		      PD, 0),
		   SRXE_XLATE_STALE);
	cr_assert_eq(bind(&f, nk1, nk1, k.lkey, VA, 8 * PAGE, RW, 0), 0);
	warm(&f, nk1, true, VA + 3 * PAGE, 64, w, PD, 0);
	cr_assert_eq(srxe_mem_mw_dealloc(f.c, id1), 0);
	assert_err(xl(&f, nk1, true, VA + 3 * PAGE, 64, w, PD, 0),
		   SRXE_XLATE_BAD_KEY);
	cr_assert_eq(srxe_mem_mw_dealloc(f.c, id), 0);
	down(&f);
}

/*
 * A client exits; a new one with the same secret registers the same
 * buffer at the same iova, so its key has the same value (shortcut: same
 * plaintext, same codec; MTT: checked, skipped if the key byte differs),
 * on another slab.  Its answers are its own, never the dead client's.
 */
MODES(client_exit)
{
	struct fx f = up(*mode);
	struct srxe_mr_keys k, k2;
	struct srxe_xlate_req req = {
		0, true, VA + 3 * PAGE, 64, IBV_ACCESS_REMOTE_WRITE, PD, 0
	};
	struct srxe_sg sg[MAXSG];
	uint8_t *slab2 = new_slab();
	struct srxe_mem_client *old = f.c;

	cr_assert_eq(srxe_mem_reg(f.c, PD, VA, 8 * PAGE, VA, RW, &k, NULL), 0);
	req.key = k.rkey;
	warm(&f, k.rkey, true, req.addr, 64, req.access, PD, 0);
	srxe_mem_client_destroy(f.c);
	munmap(f.slab, SLAB_FRAMES * PAGE);
	f.slab = slab2;
	f.c = new_client(*mode, slab2);
	cr_assert_eq(srxe_mem_reg(f.c, PD, VA, 8 * PAGE, VA, RW, &k2, NULL), 0);
	if (*mode == SRXE_MEM_SHORTCUT)
		cr_assert_eq(k2.rkey, k.rkey, "same secret, same key");
	cr_log_info("client %s the dead one's address, key %s",
		    f.c == old ? "reuses" : "does not reuse",
		    k2.rkey == k.rkey ? "equal" : "differs");
	req.key = k2.rkey;
	cr_assert_eq(both(f.tlb, f.c, &req, MAXSG, sg), 1);
	cr_assert_geq((uint8_t *)sg[0].addr, slab2);
	cr_assert_lt((uint8_t *)sg[0].addr, slab2 + SLAB_FRAMES * PAGE);
	down(&f);
}

/* Another client of the space exits: the survivors still translate. */
MODES(other_client_of_space_exits)
{
	struct fx f = up(*mode);
	struct srxe_mem_config cfg = { .mode = *mode, .client_id = 8 };
	struct srxe_mem_client *b;
	struct srxe_mr_keys k, kb;

	cr_assert_eq(srxe_mem_client_join(&cfg, srxe_mem_client_space(f.c), &b),
		     0);
	cr_assert_eq(srxe_mem_reg(f.c, PD, VA, 8 * PAGE, VA, RW, &k, NULL), 0);
	cr_assert_eq(srxe_mem_reg(b, PD, VA, 8 * PAGE, VA, RW, &kb, NULL), 0);
	warm(&f, k.rkey, true, VA, 64, IBV_ACCESS_REMOTE_READ, PD, 0);
	{
		struct srxe_xlate_req req = {
			kb.rkey, true, VA, 64, IBV_ACCESS_REMOTE_READ, PD, 0
		};

		cr_assert_eq(both(f.tlb, b, &req, MAXSG, NULL), 1);
		/* b's key in f.c's name: never b's entry */
		req.key = kb.rkey;
		both(f.tlb, f.c, &req, MAXSG, NULL);
		srxe_mem_client_destroy(b);
	}
	warm(&f, k.rkey, true, VA, 64, IBV_ACCESS_REMOTE_READ, PD, 0);
	down(&f);
}

MODES(forged_keys_never_hit)
{
	struct fx f = up(*mode);
	struct srxe_mr_keys k[4];
	uint64_t hits;

	for (int i = 0; i < 4; i++)
		cr_assert_eq(srxe_mem_reg(f.c, PD, VA + i * REGION, REGION,
					  VA + i * REGION, RW, &k[i], NULL),
			     0);
	for (int i = 0; i < 4; i++)
		warm(&f, k[i].rkey, true, VA + i * REGION + 64, 64,
		     IBV_ACCESS_REMOTE_WRITE, PD, 0);
	hits = f.tlb->hits;
	srand(14);
	for (int n = 0; n < 200000; n++) {
		int i = n & 3;
		uint32_t key = n & 4 ? (uint32_t)rand() << 1 ^ (uint32_t)rand()
				     : k[i].rkey ^ (1u << (n % 32));
		bool valid = false;
		uint64_t addr = VA + i * REGION + (uint64_t)(rand() % 4000);

		for (int j = 0; j < 4; j++)
			valid |= key == k[j].rkey || key == k[j].lkey;
		if (valid)
			continue;
		cr_assert_lt(xl(&f, key, n & 8, addr, 64,
				IBV_ACCESS_REMOTE_WRITE, PD, 0),
			     0, "forged key 0x%x", key);
	}
	cr_assert_eq(f.tlb->hits, hits, "no forged key hit");
	down(&f);
}

MODES(checks_hold_on_a_hit)
{
	struct fx f = up(*mode);
	struct srxe_mr_keys k, ro;
	struct srxe_xlate_req req = { 0, false, VA, 3 * PAGE, 0, PD, 0 };
	const unsigned w = IBV_ACCESS_REMOTE_WRITE;

	cr_assert_eq(srxe_mem_reg(f.c, PD, VA, 16 * PAGE, VA, RW, &k, NULL), 0);
	cr_assert_eq(srxe_mem_reg(f.c, PD, VA + 64 * PAGE, 4 * PAGE,
				  VA + 64 * PAGE, IBV_ACCESS_REMOTE_READ, &ro,
				  NULL),
		     0);
	warm(&f, k.rkey, true, VA + 8, 64, w, PD, 0);
	warm(&f, ro.rkey, true, VA + 64 * PAGE, 64, IBV_ACCESS_REMOTE_READ, PD,
	     0);
	warm(&f, ro.lkey, false, VA + 64 * PAGE, 64, 0, PD, 0);
	assert_err(xl(&f, k.rkey, true, VA + 8, 64, w, PD + 1, 0),
		   SRXE_XLATE_PD_MISMATCH);
	assert_err(xl(&f, ro.rkey, true, VA + 64 * PAGE, 64, w, PD, 0),
		   SRXE_XLATE_ACCESS_DENIED);
	assert_err(xl(&f, ro.lkey, false, VA + 64 * PAGE, 64,
		      IBV_ACCESS_LOCAL_WRITE, PD, 0),
		   SRXE_XLATE_ACCESS_DENIED);
	/* an lkey is no rkey (shortcut: another permutation; in MTT they
	 * are equal, as rxe's) */
	if (*mode == SRXE_MEM_SHORTCUT)
		cr_assert_lt(xl(&f, k.lkey, true, VA + 8, 64, w, PD, 0), 0);
	assert_err(xl(&f, k.rkey, true, VA + 16 * PAGE - 8, 64, w, PD, 0),
		   SRXE_XLATE_OUT_OF_BOUNDS);
	assert_err(xl(&f, k.rkey, true, VA - 8, 64, w, PD, 0),
		   SRXE_XLATE_OUT_OF_BOUNDS);
	assert_err(xl(&f, k.rkey, true, VA + 8, ~0ull - 4, w, PD, 0),
		   SRXE_XLATE_OUT_OF_BOUNDS);
	cr_assert_eq(xl(&f, k.rkey, true, VA + 8, 0, w, PD, 0), 0);
	/* out full: the uncached path's SG_OVERFLOW (and partial chunks) */
	req.key = k.lkey;
	warm(&f, k.lkey, false, VA, 3 * PAGE, 0, PD, 0);
	{
		int r = both(f.tlb, f.c, &req, 1, NULL);

		cr_assert(r == 1 || r == -SRXE_XLATE_SG_OVERFLOW);
	}
	down(&f);
}

/* Pages unpinned, their table page freed, behind a live MR's back. */
MODES(table_changed_behind_live_mr)
{
	struct fx f = up(*mode);
	struct srxe_mr_keys k;
	struct srxe_pt *pt = srxe_mem_client_pt(f.c);
	uint64_t gen;

	cr_assert_eq(srxe_mem_reg(f.c, PD, VA + REGION - 2 * PAGE, 4 * PAGE,
				  VA + REGION - 2 * PAGE, RW, &k, NULL),
		     0);
	warm(&f, k.lkey, false, VA + REGION - 2 * PAGE, 4 * PAGE, 0, PD, 0);
	gen = pt->gen;
	/* one page: still pinned by nobody; the leaf stays */
	srxe_pt_unpin(pt, VA + REGION - PAGE, PAGE, NULL);
	xl(&f, k.lkey, false, VA + REGION - 2 * PAGE, 4 * PAGE, 0, PD, 0);
	xl(&f, k.lkey, false, VA + REGION - 2 * PAGE, PAGE, 0, PD, 0);
	/* the second leaf's pages: the leaf page is freed */
	srxe_pt_unpin(pt, VA + REGION, 2 * PAGE, NULL);
	cr_assert_neq(pt->gen, gen);
	xl(&f, k.lkey, false, VA + REGION - 2 * PAGE, 4 * PAGE, 0, PD, 0);
	xl(&f, k.lkey, false, VA + REGION, 64, 0, PD, 0);
	xl(&f, k.lkey, false, VA + REGION - 2 * PAGE, 64, 0, PD, 0);
	down(&f);
}

/*
 * iova != va, not 2 MiB apart, not even page aligned apart: an iova
 * region spans two leaves.
 */
MODES(iova_offset_two_leaves)
{
	struct fx f = up(*mode);
	struct srxe_mr_keys k;
	const uint64_t va = VA + REGION - 5 * PAGE, iova = 0x1000123;

	cr_assert_eq(srxe_mem_reg(f.c, PD, va, 40 * PAGE, iova, RW, &k, NULL),
		     0);
	for (uint64_t off = 0; off < 40 * PAGE; off += 1999) {
		uint64_t len = 40 * PAGE - off < 5000 ? 40 * PAGE - off : 5000;

		warm(&f, k.rkey, true, iova + off, len, IBV_ACCESS_REMOTE_WRITE,
		     PD, 0);
	}
	assert_err(xl(&f, k.rkey, true, iova + 40 * PAGE - 1, 2,
		      IBV_ACCESS_REMOTE_WRITE, PD, 0),
		   SRXE_XLATE_OUT_OF_BOUNDS);
	down(&f);
}

/*
 * Random model: two clients of one space share one cache (as the engine
 * does); thousands of translations of live, dead and random keys at
 * random places with random rights and PDs, interleaved with reg, dereg,
 * rereg, window bind/invalidate/dealloc and client exit.  Every answer of
 * the cache equals the uncached one (both()).
 */
#define NMR  24
#define NMW  6
#define NOPS 30000

struct mslot {
	struct srxe_mem_client *c;
	struct srxe_mr_keys k;
	bool live;
	uint32_t pd;
	unsigned access;
	uint64_t iova, len;
};

struct wslot {
	struct srxe_mem_client *c;
	uint32_t id, rkey;
	bool alloc;
	int mr; /* bound to; -1 */
};

static uint64_t rnd(uint64_t n)
{
	return ((uint64_t)rand() << 31 ^ (uint64_t)rand()) % n;
}

static const unsigned access_set[] = {
	IBV_ACCESS_LOCAL_WRITE,
	RW,
	FULL,
	IBV_ACCESS_REMOTE_READ,
	IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_MW_BIND,
};

static void model_run(enum srxe_mem_mode mode)
{
	uint8_t *slab = new_slab();
	struct srxe_mem_config cfg = { .mode = mode,
				       .slab = slab,
				       .slab_frames = SLAB_FRAMES };
	struct srxe_mem_space *space;
	struct srxe_mem_client *c[2];
	struct srxe_tlb *tlb = malloc(sizeof(*tlb));
	struct mslot mr[NMR] = { 0 };
	struct wslot mw[NMW] = { 0 };
	uint32_t dead[64] = { 0 };
	unsigned ndead = 0, translations = 0, granted = 0, changes = 0;
	uint64_t gen = 0;

	srand(1414);
	cr_assert(tlb);
	srxe_tlb_init(tlb);
	cr_assert_eq(srxe_mem_space_create(&cfg, &space), 0);
	for (int i = 0; i < 2; i++) {
		cfg.client_id = 20 + i;
		cr_assert_eq(srxe_mem_client_join(&cfg, space, &c[i]), 0);
	}
	for (int i = 0; i < NMW; i++)
		mw[i].mr = -1;
	for (int op = 0; op < NOPS; op++) {
		/* mostly translations (a few hot MRs), 3% changes */
		int r = (int)rnd(2500);
		int i = (int)rnd(NMR), j = (int)rnd(NMW);
		int ci = (int)rnd(2);

		if (srxe_mem_client_pt(c[0])->gen != gen) {
			gen = srxe_mem_client_pt(c[0])->gen;
			changes++;
		}

		if (r < 20 && !mr[i].live) { /* reg */
			uint64_t va = VA + rnd(3 * REGION / PAGE) * PAGE +
				      rnd(2) * rnd(PAGE);
			uint64_t len = 1 + rnd(rnd(4) ? 8 * PAGE : REGION);
			uint64_t iova = rnd(3) ? va : rnd(1ull << 40);
			uint32_t pd = 1 + (uint32_t)rnd(2);
			unsigned acc = access_set[rnd(5)];

			if (srxe_mem_reg(c[ci], pd, va, len, iova, acc,
					 &mr[i].k, NULL) == 0)
				mr[i] = (struct mslot){ c[ci], mr[i].k, true,
							pd,    acc,	iova,
							len };
		} else if (r < 35 && mr[i].live) { /* dereg */
			if (srxe_mem_dereg(mr[i].c, mr[i].k.lkey, NULL) == 0) {
				mr[i].live = false;
				dead[ndead++ % 64] = mr[i].k.rkey;
			}
		} else if (r < 42 && mr[i].live) { /* rereg */
			struct srxe_mr_keys k2;
			uint32_t pd = 1 + (uint32_t)rnd(2);
			unsigned acc = access_set[rnd(5)];

			if (srxe_mem_rereg(mr[i].c, mr[i].k.lkey, pd, acc,
					   &k2) == 0) {
				mr[i].pd = pd;
				mr[i].access = acc;
			}
		} else if (r < 50) { /* window alloc / dealloc */
			if (!mw[j].alloc) {
				mw[j].c = c[ci];
				mw[j].alloc =
					srxe_mem_mw_alloc(
						c[ci], 1 + rnd(2),
						rnd(2) ? IBV_MW_TYPE_1
						       : IBV_MW_TYPE_2,
						&mw[j].id, &mw[j].rkey) == 0;
			} else if (srxe_mem_mw_dealloc(mw[j].c, mw[j].id) ==
				   0) {
				mw[j].alloc = false;
				mw[j].mr = -1;
				dead[ndead++ % 64] = mw[j].rkey;
			}
		} else if (r < 60 && mw[j].alloc && mr[i].live &&
			   mr[i].c == mw[j].c) { /* bind */
			uint64_t off = rnd(mr[i].len);
			struct srxe_mw_bind_req b = {
				.mw_rkey = mw[j].rkey,
				.new_rkey = next_key(mw[j].rkey),
				.mr_lkey = mr[i].k.lkey,
				.access = access_set[rnd(4)] &
					  ~(unsigned)IBV_ACCESS_MW_BIND,
				.addr = mr[i].iova + off,
				.len = 1 + rnd(mr[i].len - off),
				.pd = mr[i].pd,
				.qpn = QPN + (uint32_t)rnd(2),
			};

			if (srxe_mem_mw_bind(mw[j].c, &b) == 0) {
				dead[ndead++ % 64] = mw[j].rkey;
				mw[j].rkey = b.new_rkey;
				mw[j].mr = i;
			}
		} else if (r < 64 && mw[j].alloc) { /* invalidate */
			srxe_mem_mw_invalidate(mw[j].c, mw[j].rkey, 1 + rnd(2),
					       QPN + rnd(2));
		} else if (r < 67) {
			srxe_mem_mw_qp_gone(c[ci], QPN + (uint32_t)rnd(2));
		} else if (r < 70 && rnd(3) == 0) { /* client exit */
			for (int m = 0; m < NMR; m++)
				if (mr[m].c == c[ci] && mr[m].live) {
					mr[m].live = false;
					dead[ndead++ % 64] = mr[m].k.rkey;
				}
			for (int w = 0; w < NMW; w++)
				if (mw[w].c == c[ci] && mw[w].alloc) {
					mw[w].alloc = false;
					mw[w].mr = -1;
				}
			srxe_mem_client_destroy(c[ci]);
			cfg.client_id = 30 + (uint32_t)op;
			cr_assert_eq(srxe_mem_client_join(&cfg, space, &c[ci]),
				     0);
		} else { /* translate */
			struct srxe_xlate_req req = {
				.pd = 1 + (uint32_t)rnd(2),
				.qpn = QPN + (uint32_t)rnd(2),
				.access =
					(unsigned)rnd(3) == 0
						? 0
						: access_set[rnd(4)] &
							  ~(unsigned)
								  IBV_ACCESS_MW_BIND,
			};
			int pick = (int)rnd(10);

			if (rnd(4))
				i = (int)rnd(4);
			uint64_t base = VA, span = 3 * REGION;
			const struct srxe_mem_client *who = c[ci];

			if (pick < 6 && mr[i].live) {
				req.is_rkey = rnd(2);
				req.key = req.is_rkey ? mr[i].k.rkey
						      : mr[i].k.lkey;
				base = mr[i].iova;
				span = mr[i].len;
				who = rnd(8) ? mr[i].c : c[ci];
				/* mostly what it grants: the cache's case */
				if (rnd(4)) {
					req.pd = mr[i].pd;
					req.access &= mr[i].access;
				}
			} else if (pick < 8 && mw[j].alloc) {
				req.is_rkey = true;
				req.key = mw[j].rkey;
				who = rnd(8) ? mw[j].c : c[ci];
				if (mw[j].mr >= 0) {
					base = mr[mw[j].mr].iova;
					span = mr[mw[j].mr].len;
				}
			} else if (pick < 9 && ndead) {
				req.is_rkey = rnd(2);
				req.key = dead[rnd(ndead < 64 ? ndead : 64)];
			} else {
				req.is_rkey = rnd(2);
				req.key = (uint32_t)rnd(1ull << 32);
			}
			req.addr = base + rnd(span + 64) - rnd(2) * rnd(64);
			req.len = rnd(4) ? 1 + rnd(64) : rnd(3 * PAGE);
			if (both(tlb, who, &req, 1 + (int)rnd(MAXSG), NULL) > 0)
				granted++;
			translations++;
		}
	}
	cr_log_info("%s: %u translations (%u granted), %u generations, %lu "
		    "hits, %lu misses, %lu fills",
		    mode == SRXE_MEM_MTT ? "mtt" : "shortcut", translations,
		    granted, changes, (unsigned long)tlb->hits,
		    (unsigned long)tlb->misses, (unsigned long)tlb->fills);
	cr_assert_gt(translations, NOPS / 2);
	cr_assert_gt(granted, translations / 20);
	cr_assert_gt(tlb->hits, granted / 4, "the cache was used");
	for (int i = 0; i < 2; i++)
		srxe_mem_client_destroy(c[i]);
	cr_assert_eq(srxe_mem_space_destroy(space), 0);
	munmap(slab, SLAB_FRAMES * PAGE);
	free(tlb);
}

MODES(random_model_agrees_with_uncached)
{
	model_run(*mode);
}
