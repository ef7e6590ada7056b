// SPDX-License-Identifier: MIT
/*
 * The translation agrees with a reference model (array: page -> frame,
 * pin count) over thousands of random registrations/deregistrations in two
 * windows that straddle a 1 GiB and a 512 GiB boundary (so MRs cross 2 MiB,
 * 1 GiB and 512 GiB boundaries), with overlaps, unaligned starts/lengths
 * and 1-byte MRs.  Runs against both translation modes.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "mem/codec.h"
#include "mem/pagetable.h"
#include "mem/translate.h"

#define PAGE	    4096ull
#define WIN_PAGES   3072ull /* 12 MiB per window */
#define NWIN	    2
#define SLAB_FRAMES (NWIN * WIN_PAGES + 64)
#define MAX_MRS	    400
#define OPS	    20000

static const uint64_t win_base[NWIN] = {
	(1ull << 30) - 6 * (1ull << 20),
	(512ull << 30) - 6 * (1ull << 20),
};

struct ref_mr {
	uint64_t va, len, iova;
	uint32_t lkey, rkey, pd;
	unsigned access;
};

struct model {
	struct srxe_mem_client *client;
	uint8_t *slab;
	int64_t frame[NWIN][WIN_PAGES]; /* -1: absent */
	uint32_t pins[NWIN][WIN_PAGES];
	struct ref_mr mr[MAX_MRS];
	int nmr;
	uint64_t rng;
	uint64_t reg_bytes;
};

static uint64_t rnd(struct model *m)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return m->rng;
}

static void page_of(uint64_t va, int *w, uint64_t *p)
{
	for (*w = 0; *w < NWIN; (*w)++) {
		if (va >= win_base[*w] &&
		    va < win_base[*w] + WIN_PAGES * PAGE) {
			*p = (va - win_base[*w]) / PAGE;
			return;
		}
	}
	cr_assert_fail("va %#lx outside the windows", va);
}

static void model_init(struct model *m, enum srxe_mem_mode mode)
{
	struct srxe_mem_config cfg = { .mode = mode,
				       .client_id = 7,
				       .slab_frames = SLAB_FRAMES };

	m->slab = mmap(NULL, SLAB_FRAMES * PAGE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(m->slab, MAP_FAILED);
	cfg.slab = m->slab;
	cr_assert_eq(srxe_mem_client_create(&cfg, &m->client), 0);
	for (int w = 0; w < NWIN; w++)
		for (uint64_t p = 0; p < WIN_PAGES; p++)
			m->frame[w][p] = -1;
	m->rng = 0x9e3779b97f4a7c15ull ^ mode;
}

static void model_fini(struct model *m)
{
	srxe_mem_client_destroy(m->client);
	munmap(m->slab, SLAB_FRAMES * PAGE);
}

static uint64_t random_len(struct model *m)
{
	switch (rnd(m) % 5) {
	case 0:
		return 1;
	case 1:
		return 1 + rnd(m) % PAGE;
	case 2:
		return 1 + rnd(m) % (64 * 1024);
	default:
		return 1 + rnd(m) % (3 << 20);
	}
}

/* Every page whose pin count went 0 -> 1 must be in new_runs, and only those.
 */
static void apply_pin(struct model *m, uint64_t va, uint64_t len,
		      const struct srxe_runs *runs)
{
	size_t run = 0, in_run = 0;

	for (uint64_t a = va & ~(PAGE - 1); a < va + len; a += PAGE) {
		int w;
		uint64_t p;

		page_of(a, &w, &p);
		if (m->pins[w][p]++)
			continue;
		cr_assert_lt(run, runs->n, "absent page %#lx not in new runs",
			     a);
		cr_assert_eq(runs->v[run].va + in_run * PAGE, a);
		m->frame[w][p] = runs->v[run].frame + in_run;
		if (++in_run == runs->v[run].npages) {
			run++;
			in_run = 0;
		}
	}
	cr_assert_eq(run, runs->n, "new runs name pages that were present");
}

static void do_register(struct model *m)
{
	struct ref_mr *mr = &m->mr[m->nmr];
	int w = rnd(m) % NWIN;
	uint64_t len = random_len(m);
	uint64_t off = rnd(m) % (WIN_PAGES * PAGE - len);
	struct srxe_runs runs = { 0 };
	struct srxe_mr_keys keys;

	mr->va = win_base[w] + off;
	mr->len = len;
	mr->iova = rnd(m) % 3 ? mr->va : rnd(m) >> 1;
	mr->pd = 1 + rnd(m) % 3;
	mr->access = (rnd(m) & 1) ? IBV_ACCESS_LOCAL_WRITE |
					    IBV_ACCESS_REMOTE_WRITE |
					    IBV_ACCESS_REMOTE_READ
				  : 0;
	cr_assert_eq(srxe_mem_reg(m->client, mr->pd, mr->va, len, mr->iova,
				  mr->access, &keys, &runs),
		     0);
	mr->lkey = keys.lkey;
	mr->rkey = keys.rkey;
	cr_assert_neq(keys.rkey, 0); /* always issued */
	apply_pin(m, mr->va, len, &runs);
	srxe_runs_free(&runs);
	m->reg_bytes += len;
	m->nmr++;
}

static void do_deregister(struct model *m)
{
	int i = rnd(m) % m->nmr;
	struct ref_mr mr = m->mr[i];
	struct srxe_runs freed = { 0 };
	size_t run = 0, in_run = 0;

	cr_assert_eq(srxe_mem_dereg(m->client, mr.lkey, &freed), 0);
	for (uint64_t a = mr.va & ~(PAGE - 1); a < mr.va + mr.len; a += PAGE) {
		int w;
		uint64_t p;

		page_of(a, &w, &p);
		if (--m->pins[w][p])
			continue;
		cr_assert_lt(run, freed.n);
		cr_assert_eq(freed.v[run].va + in_run * PAGE, a);
		cr_assert_eq(freed.v[run].frame + in_run, m->frame[w][p]);
		m->frame[w][p] = -1;
		if (++in_run == freed.v[run].npages) {
			run++;
			in_run = 0;
		}
	}
	cr_assert_eq(run, freed.n, "freed frames still pinned by others");
	srxe_runs_free(&freed);
	m->reg_bytes -= mr.len;
	m->mr[i] = m->mr[--m->nmr];
}

static void *expected_addr(const struct model *m, uint64_t va)
{
	int w;
	uint64_t p;

	page_of(va, &w, &p);
	cr_assert_geq(m->frame[w][p], 0);
	return m->slab + m->frame[w][p] * PAGE + (va & (PAGE - 1));
}

/* Translate [addr, addr + len) of mr and compare byte ranges with the model. */
static void check_translation(const struct model *m, const struct ref_mr *mr,
			      uint64_t off, uint64_t len, bool remote)
{
	static struct srxe_sg sg[1024];
	struct srxe_xlate_req req = {
		.key = remote ? mr->rkey : mr->lkey,
		.is_rkey = remote,
		.addr = mr->iova + off,
		.len = len,
		.access = remote ? IBV_ACCESS_REMOTE_READ : 0,
		.pd = mr->pd,
	};
	int n = srxe_mem_translate(m->client, &req, sg, 1024);
	uint64_t va = mr->va + off;

	cr_assert_geq(n, 0, "translate: %s", srxe_xlate_err_name(n));
	for (int i = 0; i < n; i++) {
		if (i)
			cr_assert_neq((uint8_t *)sg[i - 1].addr + sg[i - 1].len,
				      sg[i].addr,
				      "contiguous chunks not merged");
		for (uint64_t done = 0; done < sg[i].len;) {
			uint64_t step = PAGE - ((va + done) & (PAGE - 1));

			cr_assert_eq((uint8_t *)sg[i].addr + done,
				     expected_addr(m, va + done));
			done += step;
		}
		va += sg[i].len;
	}
	cr_assert_eq(va, mr->va + off + len, "chunks do not add up to len");
}

static void check_one_mr(struct model *m, const struct ref_mr *mr)
{
	uint64_t off = rnd(m) % mr->len;

	check_translation(m, mr, 0, mr->len, false);
	check_translation(m, mr, off, 1 + rnd(m) % (mr->len - off), false);
	if (mr->access & IBV_ACCESS_REMOTE_READ) /* rkeys always exist */
		check_translation(m, mr, off, mr->len - off, true);
}

static void check_table_and_stats(struct model *m)
{
	struct srxe_pt *pt = srxe_mem_client_pt(m->client);
	struct srxe_mem_stats st;
	uint64_t pinned = 0;

	for (int w = 0; w < NWIN; w++) {
		for (uint64_t p = 0; p < WIN_PAGES; p++) {
			uint64_t pte =
				srxe_pt_lookup(pt, win_base[w] + p * PAGE);

			pinned += m->pins[w][p] != 0;
			if (!m->pins[w][p]) {
				cr_assert_eq(pte, 0);
				continue;
			}
			cr_assert(pte & SRXE_PTE_PINNED);
			cr_assert_eq(srxe_pte_frame(pte), m->frame[w][p]);
		}
	}
	srxe_mem_stats(m->client, &st);
	cr_assert_eq(st.frames_in_use, pinned);
	cr_assert_eq(st.mrs, (uint64_t)m->nmr);
	cr_assert_eq(st.reg_bytes, m->reg_bytes);
}

static void run_model(enum srxe_mem_mode mode)
{
	struct model *m = calloc(1, sizeof(*m));
	struct srxe_mem_stats st;

	model_init(m, mode);
	for (int op = 0; op < OPS; op++) {
		bool reg =
			m->nmr == 0 || (m->nmr < MAX_MRS && rnd(m) % 100 < 55);

		if (reg)
			do_register(m);
		else
			do_deregister(m);
		if (m->nmr)
			check_one_mr(m, &m->mr[rnd(m) % m->nmr]);
		if (op % 500 == 0)
			check_table_and_stats(m);
	}
	for (int i = 0; i < m->nmr; i++)
		check_one_mr(m, &m->mr[i]);
	check_table_and_stats(m);
	while (m->nmr)
		do_deregister(m);
	srxe_mem_stats(m->client, &st);
	cr_assert_eq(st.frames_in_use, 0);
	cr_assert_eq(st.table_pages, 1, "empty table pages are freed");
	model_fini(m);
	free(m);
}

Test(mem_walk, shortcut_agrees_with_reference_model, .timeout = 120)
{
	run_model(SRXE_MEM_SHORTCUT);
}

Test(mem_walk, mtt_agrees_with_reference_model, .timeout = 120)
{
	run_model(SRXE_MEM_MTT);
}

/* The key's level is the lowest table level covering the whole MR. */
Test(mem_walk, key_level_is_the_lowest_covering_table)
{
	static const struct {
		uint64_t va, len;
		unsigned level;
	} cases[] = {
		{ (1ull << 30) + 5, 1, 1 },
		{ (1ull << 30) + (2 << 20) - 8, 16, 2 }, /* crosses 2 MiB */
		{ (1ull << 30) - 8, 16, 3 },		 /* crosses 1 GiB */
		{ (512ull << 30) - 8, 16, 4 },		 /* crosses 512 GiB */
		{ (2ull << 30) + 4096, (2 << 20) - 4096, 1 }, /* fills a leaf */
	};
	const uint64_t secret[2] = { 0x1111, 0x2222 };
	struct srxe_codec codec;
	struct srxe_mem_client *c;
	uint8_t *slab =
		mmap(NULL, 1024 * PAGE, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct srxe_mem_config cfg = { .mode = SRXE_MEM_SHORTCUT,
				       .slab = slab,
				       .slab_frames = 1024,
				       .fixed_secret = secret };

	srxe_codec_init_secret(&codec, secret);
	cr_assert_eq(srxe_mem_client_create(&cfg, &c), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct srxe_mr_keys keys;
		struct srxe_shortcut sc;

		cr_assert_eq(srxe_mem_reg(c, 1, cases[i].va, cases[i].len,
					  cases[i].va, 0, &keys, NULL),
			     0);
		sc = srxe_shortcut_unpack(
			srxe_codec_decode(&codec, SRXE_KEY_LOCAL, keys.lkey));
		cr_assert_eq(sc.level, cases[i].level, "case %zu", i);
	}
	srxe_mem_client_destroy(c);
	munmap(slab, 1024 * PAGE);
}
