// SPDX-License-Identifier: MIT
/*
 * Issue #12, "frames belong to the process": three clients (contexts of one
 * process) over one srxe_mem space, in both translation modes.
 *
 *  - The same buffer registered by A, B and C: only A's registration gets
 *    frames; B and C get no run, every client translates to the same
 *    frames, and each page's pin count is 3.  Deregistered in every
 *    order: only the last one frees the frames, and until then the others'
 *    keys keep working.
 *  - Shortcut descriptors of several clients on one table node: the node
 *    lives while any client's descriptor holds it.
 *  - A key of one client is never valid in another (MTT: BAD_KEY always,
 *    the index space is the process's; shortcut: the codecs differ).
 *  - A destroyed client's live MRs stay pinned ("orphaned") and their
 *    frames are not handed out again; the byte limit is per space.
 *  - A random model: 3 clients, 3000 reg/dereg of overlapping ranges;
 *    new runs = exactly the pages nobody pinned, freed = exactly the
 *    pages nobody pins any more, every live key translates to the model's
 *    frames, the table's pin counts equal the model's.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem/pagetable.h"
#include "mem/translate.h"

#define PAGE	    4096ull
#define SLAB_FRAMES 1024u
#define BASE	    0x7f1234400000ull /* 2 MiB aligned */
#define RW                                                                     \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_READ)
#define NCLIENTS 3

struct proc {
	struct srxe_mem_space *space;
	struct srxe_mem_client *c[NCLIENTS];
	uint8_t *slab;
};

static void proc_up(struct proc *p, enum srxe_mem_mode mode, uint64_t max_bytes)
{
	struct srxe_mem_config cfg = { .mode = mode,
				       .slab_frames = SLAB_FRAMES,
				       .max_reg_bytes = max_bytes };

	p->slab = mmap(NULL, SLAB_FRAMES * PAGE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(p->slab, MAP_FAILED);
	cfg.slab = p->slab;
	cr_assert_eq(srxe_mem_space_create(&cfg, &p->space), 0);
	for (int i = 0; i < NCLIENTS; i++) {
		cfg.client_id = 10 + i;
		cr_assert_eq(srxe_mem_client_join(&cfg, p->space, &p->c[i]), 0);
		cr_assert_eq(srxe_mem_client_space(p->c[i]), p->space);
	}
}

static void proc_down(struct proc *p)
{
	for (int i = 0; i < NCLIENTS; i++)
		srxe_mem_client_destroy(p->c[i]);
	cr_assert_eq(srxe_mem_space_destroy(p->space), 0);
	munmap(p->slab, SLAB_FRAMES * PAGE);
}

static uint64_t frames_in_use(const struct proc *p)
{
	struct srxe_mem_stats st;

	srxe_mem_space_stats(p->space, &st);
	return st.frames_in_use;
}

static uint32_t pins_of(struct srxe_pt *pt, uint64_t va)
{
	const struct srxe_pt_node *leaf =
		srxe_pt_covering_node(pt, va & ~(PAGE - 1), 1);

	if (leaf->level != 1 ||
	    !(leaf->e[srxe_pt_index(1, va)] & SRXE_PTE_PRESENT))
		return 0;
	return leaf->pins[srxe_pt_index(1, va)];
}

/* Translate [va, va + len) with key in c: one chunk expected, its address. */
static int xlate(struct srxe_mem_client *c, uint32_t key, bool rkey,
		 uint64_t va, uint64_t len, uint32_t pd, void **addr)
{
	struct srxe_sg sg[64];
	struct srxe_xlate_req req = {
		.key = key,
		.is_rkey = rkey,
		.addr = va,
		.len = len,
		.access =
			rkey ? IBV_ACCESS_REMOTE_WRITE : IBV_ACCESS_LOCAL_WRITE,
		.pd = pd,
	};
	int n = srxe_mem_translate(c, &req, sg, 64);

	if (n > 0 && addr)
		*addr = sg[0].addr;
	return n;
}

static const int orders[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
				  { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };

static void same_buffer_three_clients(enum srxe_mem_mode mode)
{
	const uint64_t va = BASE + 3 * PAGE + 17, len = 10 * PAGE;
	const uint64_t npages = 11; /* starts and ends mid-page */

	for (int o = 0; o < 6; o++) {
		struct proc p;
		struct srxe_mr_keys k[NCLIENTS];
		struct srxe_runs runs = { 0 };
		void *addr[NCLIENTS];

		proc_up(&p, mode, 0);
		for (int i = 0; i < NCLIENTS; i++) {
			runs.n = 0;
			cr_assert_eq(srxe_mem_reg(p.c[i], 1, va, len, va, RW,
						  &k[i], &runs),
				     0);
			if (i == 0)
				cr_assert(runs.n == 1 &&
						  runs.v[0].npages == npages,
					  "first registration: %zu runs",
					  runs.n);
			else
				cr_assert_eq(runs.n, 0,
					     "client %d moved pages again", i);
			cr_assert_eq(frames_in_use(&p), npages);
		}
		for (uint64_t pg = 0; pg < npages; pg++)
			cr_assert_eq(pins_of(srxe_mem_client_pt(p.c[0]),
					     (va & ~(PAGE - 1)) + pg * PAGE),
				     3);
		for (int i = 0; i < NCLIENTS; i++) {
			cr_assert_eq(xlate(p.c[i], k[i].lkey, false, va, len, 1,
					   &addr[i]),
				     1);
			cr_assert_eq(addr[i], addr[0],
				     "client %d sees other frames", i);
			cr_assert_eq(xlate(p.c[i], k[i].rkey, true, va + 5, 100,
					   1, NULL),
				     1);
		}
		for (int step = 0; step < NCLIENTS; step++) {
			int i = orders[o][step];

			runs.n = 0;
			cr_assert_eq(srxe_mem_dereg(p.c[i], k[i].lkey, &runs),
				     0);
			if (step < NCLIENTS - 1) {
				cr_assert_eq(runs.n, 0,
					     "order %d: dereg %d freed frames "
					     "others pin",
					     o, i);
				cr_assert_eq(frames_in_use(&p), npages);
			} else {
				cr_assert(runs.n == 1 &&
					  runs.v[0].npages == npages);
				cr_assert_eq(frames_in_use(&p), 0);
			}
			/* The dead key is dead, the others live. */
			cr_assert_lt(
				xlate(p.c[i], k[i].lkey, false, va, 1, 1, NULL),
				0);
			for (int later = step + 1; later < NCLIENTS; later++) {
				int j = orders[o][later];

				cr_assert_eq(xlate(p.c[j], k[j].lkey, false, va,
						   len, 1, NULL),
					     1);
			}
		}
		srxe_runs_free(&runs);
		proc_down(&p);
	}
}

Test(mem_space, shortcut_same_buffer_three_clients_all_dereg_orders)
{
	same_buffer_three_clients(SRXE_MEM_SHORTCUT);
}

Test(mem_space, mtt_same_buffer_three_clients_all_dereg_orders)
{
	same_buffer_three_clients(SRXE_MEM_MTT);
}

/* Partial overlap: B gets frames only for the pages A did not pin. */
static void partial_overlap(enum srxe_mem_mode mode)
{
	struct proc p;
	struct srxe_mr_keys a, b;
	struct srxe_runs runs = { 0 };

	proc_up(&p, mode, 0);
	cr_assert_eq(
		srxe_mem_reg(p.c[0], 1, BASE, 8 * PAGE, BASE, RW, &a, &runs),
		0);
	runs.n = 0;
	cr_assert_eq(srxe_mem_reg(p.c[1], 7, BASE + 4 * PAGE, 8 * PAGE,
				  BASE + 4 * PAGE, RW, &b, &runs),
		     0);
	cr_assert(runs.n == 1 && runs.v[0].va == BASE + 8 * PAGE &&
		  runs.v[0].npages == 4);
	cr_assert_eq(frames_in_use(&p), 12);
	runs.n = 0;
	cr_assert_eq(srxe_mem_dereg(p.c[0], a.lkey, &runs), 0);
	cr_assert(runs.n == 1 && runs.v[0].va == BASE && runs.v[0].npages == 4,
		  "A's dereg frees exactly the pages only A pinned");
	cr_assert_eq(xlate(p.c[1], b.lkey, false, BASE + 4 * PAGE, 8 * PAGE, 7,
			   NULL),
		     1);
	/* PDs stay per client: B's MR is PD 7, not A's PD 1. */
	cr_assert_lt(xlate(p.c[1], b.lkey, false, BASE + 4 * PAGE, 1, 1, NULL),
		     0);
	srxe_runs_free(&runs);
	proc_down(&p);
}

Test(mem_space, shortcut_partial_overlap)
{
	partial_overlap(SRXE_MEM_SHORTCUT);
}

Test(mem_space, mtt_partial_overlap)
{
	partial_overlap(SRXE_MEM_MTT);
}

/*
 * Shortcut: A's and B's descriptors name the same leaf; A's go away (dereg,
 * then the whole client) while B's key must keep walking from that leaf.
 */
Test(mem_space, shortcut_node_shared_by_clients_descriptors)
{
	struct proc p;
	struct srxe_mr_keys a[300], b;
	struct srxe_pt *pt;
	const struct srxe_pt_node *leaf;

	proc_up(&p, SRXE_MEM_SHORTCUT, 0);
	pt = srxe_mem_client_pt(p.c[0]);
	/* 300 one-page MRs of A in one leaf: two alias descriptors */
	for (int i = 0; i < 300; i++)
		cr_assert_eq(srxe_mem_reg(p.c[0], 1, BASE + (i % 100) * PAGE,
					  PAGE, BASE + (i % 100) * PAGE, RW,
					  &a[i], NULL),
			     0);
	cr_assert_eq(srxe_mem_reg(p.c[1], 1, BASE + 5 * PAGE, PAGE,
				  BASE + 5 * PAGE, RW, &b, NULL),
		     0);
	leaf = srxe_pt_covering_node(pt, BASE + 5 * PAGE, PAGE);
	cr_assert_eq(leaf->level, 1);
	cr_assert_eq(leaf->holds, 3, "2 descriptors of A, 1 of B: %u",
		     leaf->holds);
	cr_assert_not_null(leaf->descs);
	cr_assert_not_null(leaf->descs->next, "one chain per client");
	cr_assert_null(leaf->descs->next->next);
	for (int i = 0; i < 300; i += 2)
		cr_assert_eq(srxe_mem_dereg(p.c[0], a[i].lkey, NULL), 0);
	cr_assert_eq(
		xlate(p.c[1], b.lkey, false, BASE + 5 * PAGE, PAGE, 1, NULL),
		1);
	/* A disappears with 150 live MRs: its pins stay, its keys die. */
	srxe_mem_client_destroy(p.c[0]);
	p.c[0] = NULL;
	cr_assert_eq(leaf->holds, 1);
	cr_assert_null(leaf->descs->next);
	cr_assert_eq(
		xlate(p.c[1], b.lkey, false, BASE + 5 * PAGE, PAGE, 1, NULL),
		1);
	/* even pages lost all of A's pins (i and i % 100 share parity) */
	cr_assert_eq(frames_in_use(&p), 50, "orphaned pins keep frames");
	cr_assert_eq(srxe_mem_dereg(p.c[1], b.lkey, NULL), 0);
	cr_assert_eq(frames_in_use(&p), 50);
	cr_assert_eq(leaf->holds, 0);
	cr_assert_eq(srxe_mem_space_destroy(p.space), -EBUSY);
	for (int i = 1; i < NCLIENTS; i++)
		srxe_mem_client_destroy(p.c[i]);
	cr_assert_eq(srxe_mem_space_destroy(p.space), 0);
	munmap(p.slab, SLAB_FRAMES * PAGE);
}

/* A key of one client is no key of another, for any right or range. */
static void keys_stay_per_client(enum srxe_mem_mode mode)
{
	struct proc p;
	struct srxe_mr_keys k[NCLIENTS][64];
	int coincidences = 0;

	proc_up(&p, mode, 0);
	for (int m = 0; m < 64; m++)
		for (int i = 0; i < NCLIENTS; i++)
			cr_assert_eq(srxe_mem_reg(p.c[i], 1,
						  BASE + m * 3 * PAGE, 2 * PAGE,
						  BASE + m * 3 * PAGE, RW,
						  &k[i][m], NULL),
				     0);
	for (int i = 0; i < NCLIENTS; i++) {
		for (int j = 0; j < NCLIENTS; j++) {
			if (i == j)
				continue;
			for (int m = 0; m < 64; m++) {
				uint32_t keys[2] = { k[i][m].lkey,
						     k[i][m].rkey };

				for (int kind = 0; kind < 2; kind++) {
					bool own = false;

					for (int n = 0; n < 64; n++)
						own |= (kind ? k[j][n].rkey
							     : k[j][n].lkey) ==
						       keys[kind];
					if (own) {
						coincidences++;
						continue;
					}
					for (int n = 0; n < 64; n++)
						cr_assert_lt(
							xlate(p.c[j],
							      keys[kind], kind,
							      BASE + n * 3 * PAGE,
							      1, 1, NULL),
							0,
							"client %d accepted "
							"client %d's key",
							j, i);
				}
			}
		}
	}
	/* MTT indices are process-wide: no two clients share a key. */
	if (mode == SRXE_MEM_MTT)
		cr_assert_eq(coincidences, 0);
	else
		cr_assert_leq(coincidences, 1);
	proc_down(&p);
}

Test(mem_space, shortcut_keys_stay_per_client)
{
	keys_stay_per_client(SRXE_MEM_SHORTCUT);
}

Test(mem_space, mtt_keys_stay_per_client)
{
	keys_stay_per_client(SRXE_MEM_MTT);
}

/* MTT: the index space is shared, so another client's key is BAD_KEY. */
Test(mem_space, mtt_other_clients_index_is_bad_key)
{
	struct proc p;
	struct srxe_mr_keys a, b;

	proc_up(&p, SRXE_MEM_MTT, 0);
	cr_assert_eq(srxe_mem_reg(p.c[0], 1, BASE, PAGE, BASE, RW, &a, NULL),
		     0);
	cr_assert_eq(srxe_mem_reg(p.c[1], 1, BASE, PAGE, BASE, RW, &b, NULL),
		     0);
	cr_assert_neq(a.lkey >> 8, b.lkey >> 8);
	cr_assert_eq(xlate(p.c[1], a.lkey, false, BASE, 1, 1, NULL),
		     -SRXE_XLATE_BAD_KEY);
	cr_assert_eq(xlate(p.c[0], b.rkey, true, BASE, 1, 1, NULL),
		     -SRXE_XLATE_BAD_KEY);
	cr_assert_eq(srxe_mem_dereg(p.c[1], a.lkey, NULL), -EINVAL,
		     "B deregistered A's MR");
	cr_assert_eq(xlate(p.c[0], a.lkey, false, BASE, 1, 1, NULL), 1);
	proc_down(&p);
}

/* max_reg_bytes is the space's; a destroyed client's bytes leave it. */
static void limit_per_space(enum srxe_mem_mode mode)
{
	struct proc p;
	struct srxe_mr_keys a, b, c;
	struct srxe_runs runs = { 0 };

	proc_up(&p, mode, 16 * PAGE);
	cr_assert_eq(
		srxe_mem_reg(p.c[0], 1, BASE, 10 * PAGE, BASE, RW, &a, NULL),
		0);
	cr_assert_eq(
		srxe_mem_reg(p.c[1], 1, BASE, 8 * PAGE, BASE, RW, &b, NULL),
		-ENOMEM);
	cr_assert_eq(srxe_mem_space_reg_bytes(p.space), 10 * PAGE);
	cr_assert_eq(
		srxe_mem_reg(p.c[1], 1, BASE, 6 * PAGE, BASE, RW, &b, NULL), 0);
	cr_assert_eq(srxe_mem_space_reg_bytes(p.space), 16 * PAGE);
	/* A goes away holding its MR: bytes freed, pins kept. */
	srxe_mem_client_destroy(p.c[0]);
	p.c[0] = NULL;
	cr_assert_eq(srxe_mem_space_reg_bytes(p.space), 6 * PAGE);
	cr_assert_eq(frames_in_use(&p), 10);
	/* C registers A's buffer: still pinned, nothing to move. */
	cr_assert_eq(
		srxe_mem_reg(p.c[2], 1, BASE, 10 * PAGE, BASE, RW, &c, &runs),
		0);
	cr_assert_eq(runs.n, 0);
	cr_assert_eq(srxe_mem_dereg(p.c[2], c.lkey, &runs), 0);
	cr_assert_eq(runs.n, 0, "orphaned pins must not be freed");
	cr_assert_eq(srxe_mem_dereg(p.c[1], b.lkey, &runs), 0);
	cr_assert_eq(runs.n, 0);
	cr_assert_eq(frames_in_use(&p), 10);
	srxe_runs_free(&runs);
	srxe_mem_client_destroy(p.c[1]);
	srxe_mem_client_destroy(p.c[2]);
	cr_assert_eq(srxe_mem_space_destroy(p.space), 0);
	munmap(p.slab, SLAB_FRAMES * PAGE);
}

Test(mem_space, shortcut_limit_per_space_and_orphans)
{
	limit_per_space(SRXE_MEM_SHORTCUT);
}

Test(mem_space, mtt_limit_per_space_and_orphans)
{
	limit_per_space(SRXE_MEM_MTT);
}

Test(mem_space, join_checks)
{
	struct srxe_mem_config cfg = { .mode = SRXE_MEM_SHORTCUT };
	struct srxe_mem_space *s;
	struct srxe_mem_client *c;

	cr_assert_eq(srxe_mem_space_create(&cfg, &s), 0);
	cfg.mode = SRXE_MEM_MTT;
	cr_assert_eq(srxe_mem_client_join(&cfg, s, &c), -EINVAL,
		     "a client of another mode joined");
	cr_assert_eq(srxe_mem_client_join(&cfg, NULL, &c), -EINVAL);
	cr_assert_eq(srxe_mem_space_destroy(s), 0);
}

/* ---- random model ---- */

#define MPAGES 96 /* window straddling a 2 MiB boundary */
#define MAXMR  40

struct model_mr {
	bool live;
	uint32_t lkey;
	uint64_t first, n; /* pages of the window */
};

struct model {
	uint32_t pins[MPAGES];
	int64_t frame[MPAGES]; /* -1: absent */
	struct model_mr mr[NCLIENTS][MAXMR];
};

static uint64_t win_va(uint64_t page)
{
	return BASE + (2ull << 20) - 40 * PAGE + page * PAGE;
}

static void check_runs_new(struct model *m, const struct srxe_runs *runs,
			   uint64_t first, uint64_t n)
{
	bool seen[MPAGES] = { false };

	for (size_t r = 0; r < runs->n; r++) {
		for (uint32_t k = 0; k < runs->v[r].npages; k++) {
			uint64_t pg = (runs->v[r].va - win_va(0)) / PAGE + k;

			cr_assert(pg >= first && pg < first + n);
			cr_assert_eq(m->pins[pg], 0, "page %lu had pins",
				     (unsigned long)pg);
			seen[pg] = true;
			m->frame[pg] = runs->v[r].frame + k;
		}
	}
	for (uint64_t pg = first; pg < first + n; pg++) {
		cr_assert_eq(seen[pg], m->pins[pg] == 0,
			     "page %lu: new run %d, pins %u", (unsigned long)pg,
			     seen[pg], m->pins[pg]);
		m->pins[pg]++;
	}
}

static void check_runs_freed(struct model *m, const struct srxe_runs *runs,
			     uint64_t first, uint64_t n)
{
	bool seen[MPAGES] = { false };

	for (size_t r = 0; r < runs->n; r++) {
		for (uint32_t k = 0; k < runs->v[r].npages; k++) {
			uint64_t pg = (runs->v[r].va - win_va(0)) / PAGE + k;

			cr_assert(pg >= first && pg < first + n);
			cr_assert_eq(m->frame[pg], runs->v[r].frame + k);
			seen[pg] = true;
		}
	}
	for (uint64_t pg = first; pg < first + n; pg++) {
		m->pins[pg]--;
		cr_assert_eq(seen[pg], m->pins[pg] == 0);
		if (!m->pins[pg])
			m->frame[pg] = -1;
	}
}

static void check_all(struct proc *p, struct model *m)
{
	uint8_t *slab = p->slab;

	for (int i = 0; i < NCLIENTS; i++) {
		for (int j = 0; j < MAXMR; j++) {
			const struct model_mr *mr = &m->mr[i][j];
			struct srxe_sg sg[MPAGES];
			struct srxe_xlate_req req = {
				.key = mr->lkey,
				.addr = win_va(mr->first),
				.len = mr->n * PAGE,
				.pd = 1 + i,
			};
			int n, done = 0;

			if (!mr->live)
				continue;
			n = srxe_mem_translate(p->c[i], &req, sg, MPAGES);
			cr_assert_gt(n, 0, "client %d MR %d: %s", i, j,
				     srxe_xlate_err_name(n));
			for (int s = 0; s < n; s++) {
				for (uint32_t off = 0; off < sg[s].len;
				     off += PAGE, done++) {
					uint64_t pg = mr->first + done;

					cr_assert_eq(
						(uint8_t *)sg[s].addr + off,
						slab + m->frame[pg] * PAGE);
				}
			}
		}
	}
	for (uint64_t pg = 0; pg < MPAGES; pg++)
		cr_assert_eq(pins_of(srxe_mem_client_pt(p->c[0]), win_va(pg)),
			     m->pins[pg]);
}

static void random_model(enum srxe_mem_mode mode)
{
	struct proc p;
	struct model *m = calloc(1, sizeof(*m));
	struct srxe_runs runs = { 0 };
	unsigned seed = 12345;

	proc_up(&p, mode, 0);
	for (int pg = 0; pg < MPAGES; pg++)
		m->frame[pg] = -1;
	for (int op = 0; op < 3000; op++) {
		int i = rand_r(&seed) % NCLIENTS, j = rand_r(&seed) % MAXMR;
		struct model_mr *mr = &m->mr[i][j];
		struct srxe_mr_keys k;

		runs.n = 0;
		if (mr->live) {
			cr_assert_eq(srxe_mem_dereg(p.c[i], mr->lkey, &runs),
				     0);
			check_runs_freed(m, &runs, mr->first, mr->n);
			mr->live = false;
		} else {
			mr->first = rand_r(&seed) % MPAGES;
			mr->n = 1 + rand_r(&seed) % (MPAGES - mr->first);
			if (mr->n > 30)
				mr->n = 1 + mr->n % 30;
			cr_assert_eq(
				srxe_mem_reg(p.c[i], 1 + i, win_va(mr->first),
					     mr->n * PAGE, win_va(mr->first),
					     RW, &k, &runs),
				0);
			check_runs_new(m, &runs, mr->first, mr->n);
			mr->lkey = k.lkey;
			mr->live = true;
		}
		if (op % 50 == 0)
			check_all(&p, m);
	}
	check_all(&p, m);
	srxe_runs_free(&runs);
	proc_down(&p);
	free(m);
}

Test(mem_space, shortcut_random_model_three_clients, .timeout = 60)
{
	random_model(SRXE_MEM_SHORTCUT);
}

Test(mem_space, mtt_random_model_three_clients, .timeout = 60)
{
	random_model(SRXE_MEM_MTT);
}
