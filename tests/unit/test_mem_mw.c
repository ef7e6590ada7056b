// SPDX-License-Identifier: MIT
/*
 * Memory-window keys (kernel-shim/mem/mw.c), in both translation modes:
 * every bind rule of IBA/rxe_mw.c is refused with its own errno, a window
 * rkey reaches exactly the window's bytes with the window's rights, and
 * forged, stale (after invalidation, rebind, dealloc), wrong-QP and
 * wrong-PD keys are refused before a byte is translated.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "mem/translate.h"

#define PAGE  4096ull
#define VA    0x7f0000001000ull
#define LEN   (16 * PAGE)
#define PD    1
#define QPN   0x11
#define RW    (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)
#define FULL  (RW | IBV_ACCESS_REMOTE_READ | IBV_ACCESS_MW_BIND)
#define NSLAB 64u

static const uint64_t secret[2] = { 0x1234, 0x5678 };

struct fx {
	struct srxe_mem_client *c;
	uint8_t *slab;
	struct srxe_mr_keys mr;
};

static struct fx up(enum srxe_mem_mode mode)
{
	struct fx f = { 0 };
	struct srxe_mem_config cfg = { .mode = mode,
				       .client_id = 9,
				       .slab_frames = NSLAB,
				       .fixed_secret = secret };

	f.slab = mmap(NULL, NSLAB * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(f.slab, MAP_FAILED);
	cfg.slab = f.slab;
	cr_assert_eq(srxe_mem_client_create(&cfg, &f.c), 0);
	cr_assert_eq(srxe_mem_reg(f.c, PD, VA, LEN, VA, FULL, &f.mr, NULL), 0);
	return f;
}

static void down(struct fx *f)
{
	srxe_mem_client_destroy(f->c);
	munmap(f->slab, NSLAB * PAGE);
}

static int xlate(struct fx *f, uint32_t rkey, uint64_t addr, uint64_t len,
		 unsigned access, uint32_t pd, uint32_t qpn)
{
	struct srxe_sg sg[20];
	struct srxe_xlate_req req = { rkey, true, addr, len, access, pd, qpn };

	return srxe_mem_translate(f->c, &req, sg, 20);
}

static uint32_t next_key(uint32_t rkey)
{
	return (rkey & 0xffffff00u) | ((rkey + 1) & 0xff);
}

static int bind(struct fx *f, uint32_t mw_rkey, uint32_t new_rkey,
		uint32_t lkey, uint64_t addr, uint64_t len, unsigned access,
		uint32_t pd, uint32_t qpn)
{
	struct srxe_mw_bind_req b = { mw_rkey, new_rkey, lkey, access,
				      addr,    len,	 pd,   qpn };

	return srxe_mem_mw_bind(f->c, &b);
}

static enum srxe_mem_mode modes[] = { SRXE_MEM_SHORTCUT, SRXE_MEM_MTT };

ParameterizedTestParameters(mw, type2_rules)
{
	return cr_make_param_array(enum srxe_mem_mode, modes, 2);
}

ParameterizedTest(enum srxe_mem_mode *mode, mw, type2_rules)
{
	struct fx f = up(*mode);
	struct srxe_mr_keys ro;
	uint32_t id, rk, nk;

	cr_assert_eq(srxe_mem_mw_alloc(f.c, PD, 3, &id, &rk), -EINVAL);
	cr_assert_eq(srxe_mem_mw_alloc(f.c, PD, IBV_MW_TYPE_2, &id, &rk), 0);
	nk = next_key(rk);
	/* unbound: nothing */
	cr_assert_eq(xlate(&f, rk, VA, 8, IBV_ACCESS_REMOTE_WRITE, PD, QPN),
		     -SRXE_XLATE_STALE);
	/* bind rules */
	cr_assert_eq(bind(&f, rk ^ 0x100, nk, f.mr.lkey, VA, PAGE, RW, PD, QPN),
		     -EINVAL, "forged window key");
	cr_assert_eq(
		bind(&f, next_key(nk), nk, f.mr.lkey, VA, PAGE, RW, PD, QPN),
		-EINVAL, "wrong key byte");
	cr_assert_eq(bind(&f, rk, nk ^ 0x100, f.mr.lkey, VA, PAGE, RW, PD, QPN),
		     -EINVAL, "new rkey with other index bits");
	cr_assert_eq(bind(&f, rk, nk, f.mr.lkey, VA, PAGE, RW, PD + 1, QPN),
		     -EINVAL, "QP of another PD (C10-72)");
	cr_assert_eq(bind(&f, rk, nk, f.mr.lkey, VA, 0, RW, PD, QPN), -EINVAL,
		     "type 2 with length 0");
	cr_assert_eq(bind(&f, rk, nk, f.mr.lkey, VA, PAGE,
			  RW | IBV_ACCESS_ZERO_BASED, PD, QPN),
		     -EINVAL);
	cr_assert_eq(
		bind(&f, rk, nk, f.mr.lkey, VA, PAGE, RW | (1u << 20), PD, QPN),
		-EOPNOTSUPP);
	cr_assert_eq(bind(&f, rk, nk, f.mr.lkey, VA + LEN - 8, 16, RW, PD, QPN),
		     -ERANGE, "window past the MR (C10-75)");
	cr_assert_eq(bind(&f, rk, nk, f.mr.lkey, VA - 8, 16, RW, PD, QPN),
		     -ERANGE);
	cr_assert_eq(
		bind(&f, rk, nk, f.mr.rkey ^ 0x55aa00, VA, PAGE, RW, PD, QPN),
		-EINVAL, "no such MR");
	/* MR without MW_BIND (C10-73), without LOCAL_WRITE (C10-74) */
	cr_assert_eq(srxe_mem_reg(f.c, PD, VA + LEN, PAGE, VA + LEN,
				  IBV_ACCESS_LOCAL_WRITE, &ro, NULL),
		     0);
	cr_assert_eq(bind(&f, rk, nk, ro.lkey, VA + LEN, 8, RW, PD, QPN),
		     -EACCES);
	cr_assert_eq(srxe_mem_dereg(f.c, ro.lkey, NULL), 0);
	cr_assert_eq(srxe_mem_reg(f.c, PD, VA + LEN, PAGE, VA + LEN,
				  IBV_ACCESS_MW_BIND, &ro, NULL),
		     0);
	cr_assert_eq(bind(&f, rk, nk, ro.lkey, VA + LEN, 8, RW, PD, QPN),
		     -EACCES);
	cr_assert_eq(bind(&f, rk, nk, ro.lkey, VA + LEN, 8,
			  IBV_ACCESS_REMOTE_READ, PD, QPN),
		     0, "read-only window on a read-only MR");
	cr_assert_eq(srxe_mem_dereg(f.c, ro.lkey, NULL), -EBUSY,
		     "MR with a bound window");
	cr_assert_eq(srxe_mem_mw_invalidate(f.c, nk, PD, QPN), 0);
	cr_assert_eq(srxe_mem_dereg(f.c, ro.lkey, NULL), 0);

	/* a good bind: pages 2..3 of the MR, write only */
	rk = nk;
	nk = next_key(rk);
	cr_assert_eq(bind(&f, rk, nk, f.mr.lkey, VA + 2 * PAGE, 2 * PAGE, RW,
			  PD, QPN),
		     0);
	cr_assert_eq(
		bind(&f, nk, next_key(nk), f.mr.lkey, VA, PAGE, RW, PD, QPN),
		-EINVAL, "type 2 bound again without invalidation");
	cr_assert_geq(xlate(&f, nk, VA + 2 * PAGE, 2 * PAGE,
			    IBV_ACCESS_REMOTE_WRITE, PD, QPN),
		      1);
	cr_assert_eq(xlate(&f, rk, VA + 2 * PAGE, 8, IBV_ACCESS_REMOTE_WRITE,
			   PD, QPN),
		     -SRXE_XLATE_STALE, "previous key byte");
	cr_assert_eq(xlate(&f, nk, VA + 2 * PAGE, 8, IBV_ACCESS_REMOTE_READ, PD,
			   QPN),
		     -SRXE_XLATE_ACCESS_DENIED, "right the window lacks");
	cr_assert_eq(
		xlate(&f, nk, VA + PAGE, 8, IBV_ACCESS_REMOTE_WRITE, PD, QPN),
		-SRXE_XLATE_OUT_OF_BOUNDS, "MR byte outside the window");
	cr_assert_eq(xlate(&f, nk, VA + 4 * PAGE - 4, 8,
			   IBV_ACCESS_REMOTE_WRITE, PD, QPN),
		     -SRXE_XLATE_OUT_OF_BOUNDS);
	cr_assert_eq(xlate(&f, nk, VA + 2 * PAGE, 8, IBV_ACCESS_REMOTE_WRITE,
			   PD, QPN + 1),
		     -SRXE_XLATE_QP_MISMATCH, "type 2 from another QP");
	cr_assert_eq(xlate(&f, nk, VA + 2 * PAGE, 8, IBV_ACCESS_REMOTE_WRITE,
			   PD + 1, QPN),
		     -SRXE_XLATE_PD_MISMATCH);
	/* invalidation: only the bound QP, only the current key */
	cr_assert_eq(srxe_mem_mw_invalidate(f.c, rk, PD, QPN), -EINVAL);
	cr_assert_eq(srxe_mem_mw_invalidate(f.c, nk, PD, QPN + 1), -EINVAL);
	cr_assert_eq(srxe_mem_mw_invalidate(f.c, f.mr.rkey, PD, QPN), -EINVAL,
		     "MR rkeys cannot be invalidated");
	cr_assert_eq(srxe_mem_mw_invalidate(f.c, nk, PD, QPN), 0);
	cr_assert_eq(xlate(&f, nk, VA + 2 * PAGE, 8, IBV_ACCESS_REMOTE_WRITE,
			   PD, QPN),
		     -SRXE_XLATE_STALE, "invalidated");
	/* bound again, then the QP dies, then dealloc while bound */
	rk = nk;
	nk = next_key(rk);
	cr_assert_eq(bind(&f, rk, nk, f.mr.lkey, VA, PAGE, RW, PD, QPN), 0);
	srxe_mem_mw_qp_gone(f.c, QPN);
	cr_assert_eq(xlate(&f, nk, VA, 8, IBV_ACCESS_REMOTE_WRITE, PD, QPN),
		     -SRXE_XLATE_STALE, "QP destroyed");
	rk = nk;
	nk = next_key(rk);
	cr_assert_eq(bind(&f, rk, nk, f.mr.lkey, VA, PAGE, RW, PD, QPN), 0);
	cr_assert_eq(srxe_mem_mw_dealloc(f.c, id), 0);
	cr_assert_lt(xlate(&f, nk, VA, 8, IBV_ACCESS_REMOTE_WRITE, PD, QPN), 0,
		     "deallocated");
	cr_assert_eq(srxe_mem_mw_dealloc(f.c, id), -EINVAL);
	cr_assert_eq(srxe_mem_dereg(f.c, f.mr.lkey, NULL), 0);
	down(&f);
}

ParameterizedTestParameters(mw, type1_and_mr_keys)
{
	return cr_make_param_array(enum srxe_mem_mode, modes, 2);
}

ParameterizedTest(enum srxe_mem_mode *mode, mw, type1_and_mr_keys)
{
	struct fx f = up(*mode);
	uint32_t id, rk, nk, id2, rk2;

	cr_assert_eq(srxe_mem_mw_alloc(f.c, PD, IBV_MW_TYPE_1, &id, &rk), 0);
	nk = next_key(rk);
	/* type 1 is not bound to a QP and can be rebound */
	cr_assert_eq(bind(&f, rk, nk, f.mr.lkey, VA, PAGE, RW, PD, QPN), 0);
	cr_assert_eq(xlate(&f, nk, VA, 8, IBV_ACCESS_REMOTE_WRITE, PD, 0x99),
		     1);
	cr_assert_eq(srxe_mem_mw_invalidate(f.c, nk, PD, QPN), -EINVAL,
		     "type 1 is not invalidated (o10-37.2.26)");
	rk = nk;
	nk = next_key(rk);
	cr_assert_eq(bind(&f, rk, nk, 0, 0, 0, 0, PD, QPN), 0,
		     "zero length: unbind");
	cr_assert_eq(xlate(&f, nk, VA, 8, IBV_ACCESS_REMOTE_WRITE, PD, QPN),
		     -SRXE_XLATE_STALE);
	cr_assert_eq(xlate(&f, rk, VA, 8, IBV_ACCESS_REMOTE_WRITE, PD, QPN),
		     -SRXE_XLATE_STALE);
	/* MR rkeys keep working next to windows, and windows never take
	 * an MR's key */
	cr_assert_eq(srxe_mem_mw_alloc(f.c, PD, IBV_MW_TYPE_2, &id2, &rk2), 0);
	cr_assert_neq(rk2 >> 8, rk >> 8);
	cr_assert_neq(rk2 >> 8, f.mr.rkey >> 8);
	cr_assert_eq(
		xlate(&f, f.mr.rkey, VA, 8, IBV_ACCESS_REMOTE_WRITE, PD, QPN),
		1);
	cr_assert_eq(srxe_mem_mw_count(f.c), 2);
	/* deallocated tags stay dead when the index is reused */
	cr_assert_eq(srxe_mem_mw_dealloc(f.c, id2), 0);
	cr_assert_eq(srxe_mem_mw_alloc(f.c, PD, IBV_MW_TYPE_2, &id2, &rk2), 0);
	down(&f);
}

/* 10^5 random keys against a client with bound windows: none accepted. */
Test(mw, forged_keys_shortcut)
{
	struct fx f = up(SRXE_MEM_SHORTCUT);
	uint32_t rk[8], hits = 0;

	for (int i = 0; i < 8; i++) {
		uint32_t id;

		cr_assert_eq(
			srxe_mem_mw_alloc(f.c, PD, IBV_MW_TYPE_2, &id, &rk[i]),
			0);
		cr_assert_eq(bind(&f, rk[i], next_key(rk[i]), f.mr.lkey, VA,
				  LEN, RW, PD, QPN),
			     0);
		rk[i] = next_key(rk[i]);
	}
	srandom(7);
	for (int i = 0; i < 100000; i++) {
		uint32_t key = (uint32_t)random() << 1 ^ (uint32_t)random();
		bool ours = key == f.mr.rkey;

		for (int j = 0; j < 8; j++)
			ours |= key == rk[j];
		if (!ours && xlate(&f, key, VA, 8, IBV_ACCESS_REMOTE_WRITE, PD,
				   QPN) >= 0)
			hits++;
	}
	cr_assert_eq(hits, 0);
	/* neighbours of a window's tag are not windows (encrypted tags) */
	for (uint32_t d = 1; d < 256; d++)
		cr_assert_lt(xlate(&f, rk[0] + (d << 8), VA, 8,
				   IBV_ACCESS_REMOTE_WRITE, PD, QPN),
			     0);
	down(&f);
}
