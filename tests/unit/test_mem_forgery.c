// SPDX-License-Identifier: MIT
/*
 * Unforgeability.  Two clients A and B with their own random secrets
 * register the same layout of MRs (same PD numbers, same VAs).  Keys of A
 * are rejected by B, random keys are rejected by both, and A's keys die
 * with A's MRs.  A key value that equals one the client itself was issued
 * is that client's own key, not a forgery: such coincidences are counted
 * and excluded (the codec is a bijection, so any other value must fail).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "mem/translate.h"

#define PAGE	    4096ull
#define NMR	    64
#define SLAB_FRAMES 2048u
#define BASE	    0x7e0000000000ull

struct party {
	struct srxe_mem_client *c;
	uint8_t *slab;
	struct srxe_mr_keys keys[NMR];
	uint64_t va[NMR], len[NMR];
};

static void party_up(struct party *p, enum srxe_mem_mode mode, uint32_t id)
{
	struct srxe_mem_config cfg = { .mode = mode,
				       .client_id = id,
				       .slab_frames = SLAB_FRAMES };
	unsigned access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
			  IBV_ACCESS_REMOTE_WRITE;

	p->slab = mmap(NULL, SLAB_FRAMES * PAGE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	cr_assert_neq(p->slab, MAP_FAILED);
	cfg.slab = p->slab;
	cr_assert_eq(srxe_mem_client_create(&cfg, &p->c), 0);
	for (int i = 0; i < NMR; i++) {
		/* spread over 2 MiB, 1 GiB and 512 GiB: all four levels */
		p->va[i] = BASE + (uint64_t)(i % 4) * (3ull << 20) +
			   (uint64_t)(i % 3) * (1ull << 30) + i * 3 * PAGE + i;
		p->len[i] = 1 + (uint64_t)i * 1000;
		if (i == NMR - 1) {
			p->va[i] = BASE - 100;
			p->len[i] = 200;
		}
		cr_assert_eq(srxe_mem_reg(p->c, 1, p->va[i], p->len[i],
					  p->va[i], access, &p->keys[i], NULL),
			     0);
	}
}

static void party_down(struct party *p)
{
	srxe_mem_client_destroy(p->c);
	munmap(p->slab, SLAB_FRAMES * PAGE);
}

static bool issued(const struct party *p, uint32_t key, bool rkey)
{
	for (int i = 0; i < NMR; i++)
		if ((rkey ? p->keys[i].rkey : p->keys[i].lkey) == key)
			return true;
	return false;
}

/* Try key against MR i's range with every right the MR grants. */
static bool accepted(const struct party *p, int i, uint32_t key, bool rkey)
{
	struct srxe_sg sg[4];
	struct srxe_xlate_req req = {
		.key = key,
		.is_rkey = rkey,
		.addr = p->va[i],
		.len = 1,
		.access = rkey ? IBV_ACCESS_REMOTE_READ : 0,
		.pd = 1,
	};

	return srxe_mem_translate(p->c, &req, sg, 4) >= 0;
}

static bool accepted_anywhere(const struct party *p, uint32_t key, bool rkey)
{
	for (int i = 0; i < NMR; i++)
		if (accepted(p, i, key, rkey))
			return true;
	return false;
}

static void own_keys_work(const struct party *p)
{
	for (int i = 0; i < NMR; i++) {
		cr_assert(accepted(p, i, p->keys[i].lkey, false));
		cr_assert(accepted(p, i, p->keys[i].rkey, true));
	}
}

static void run_cross_client(enum srxe_mem_mode mode)
{
	struct party a, b;
	int coincidences = 0;

	party_up(&a, mode, 1);
	party_up(&b, mode, 2);
	own_keys_work(&a);
	own_keys_work(&b);
	for (int i = 0; i < NMR; i++) {
		for (int kind = 0; kind < 2; kind++) {
			uint32_t key = kind ? a.keys[i].rkey : a.keys[i].lkey;

			if (issued(&b, key, kind)) {
				coincidences++;
				continue;
			}
			cr_assert_not(accepted_anywhere(&b, key, kind),
				      "B accepted A's key %#x", key);
		}
	}
	cr_log_info("%s: %d coincident keys", mode ? "mtt" : "shortcut",
		    coincidences);
	if (mode == SRXE_MEM_SHORTCUT)
		cr_assert_leq(coincidences, 1);
	party_down(&a);
	party_down(&b);
}

Test(mem_forgery, shortcut_other_clients_keys_rejected)
{
	run_cross_client(SRXE_MEM_SHORTCUT);
}

/* rxe-style keys are small integers: B's own keys coincide with A's. */
Test(mem_forgery, mtt_other_clients_keys_rejected_unless_coincident)
{
	run_cross_client(SRXE_MEM_MTT);
}

static void run_random_keys(enum srxe_mem_mode mode)
{
	struct party parties[2];
	uint32_t keys[4096];
	long tried = 0, coincidences = 0;

	party_up(&parties[0], mode, 1);
	party_up(&parties[1], mode, 2);
	while (tried < 1000000) {
		cr_assert_eq(getrandom(keys, sizeof(keys), 0),
			     (ssize_t)sizeof(keys));
		for (int j = 0; j < 4096 && tried < 1000000; j++, tried++) {
			const struct party *p = &parties[j & 1];
			bool rkey = j & 2;
			int i = (tried >> 2) % NMR;

			if (issued(p, keys[j], rkey)) {
				coincidences++;
				continue;
			}
			cr_assert_not(accepted(p, i, keys[j], rkey),
				      "random key %#x accepted", keys[j]);
		}
	}
	cr_log_info("%ld random keys, %ld coincided with issued keys", tried,
		    coincidences);
	cr_assert_leq(coincidences, 2);
	party_down(&parties[0]);
	party_down(&parties[1]);
}

Test(mem_forgery, shortcut_million_random_keys_rejected, .timeout = 120)
{
	run_random_keys(SRXE_MEM_SHORTCUT);
}

Test(mem_forgery, mtt_million_random_keys_rejected, .timeout = 120)
{
	run_random_keys(SRXE_MEM_MTT);
}

/*
 * Knowing some keys must not help guessing others.  The attacker holds
 * A's first key and tries its 2^14 neighbours (key +/- k * 256 and +/- k):
 * MTT keys are index << 8 | byte, so this walk finds A's other MRs; the
 * shortcut keys of the other MRs stay out of reach.
 */
static int neighbours_found(const struct party *a)
{
	uint32_t k0 = a->keys[0].lkey;
	int found = 0;

	for (int64_t d = -4096; d <= 4096; d++) {
		uint32_t guesses[2] = { k0 + (uint32_t)(d * 256),
					k0 + (uint32_t)d };

		for (int g = 0; g < 2; g++) {
			if (d == 0)
				continue;
			for (int i = 1; i < NMR; i++)
				found += accepted(a, i, guesses[g], false);
		}
	}
	return found;
}

Test(mem_forgery, neighbouring_keys_guessable_only_in_mtt, .timeout = 120)
{
	struct party a;

	party_up(&a, SRXE_MEM_MTT, 1);
	cr_assert_geq(neighbours_found(&a), 1, "MTT keys are enumerable");
	party_down(&a);
	party_up(&a, SRXE_MEM_SHORTCUT, 1);
	cr_assert_eq(neighbours_found(&a), 0);
	party_down(&a);
}

static void run_dead_keys(enum srxe_mem_mode mode)
{
	struct party a;
	struct srxe_mem_stats st;

	party_up(&a, mode, 1);
	for (int i = 0; i < NMR; i++)
		cr_assert_eq(srxe_mem_dereg(a.c, a.keys[i].lkey, NULL), 0);
	for (int i = 0; i < NMR; i++) {
		cr_assert_not(accepted_anywhere(&a, a.keys[i].lkey, false));
		cr_assert_not(accepted_anywhere(&a, a.keys[i].rkey, true));
		cr_assert_eq(srxe_mem_dereg(a.c, a.keys[i].lkey, NULL),
			     -EINVAL);
	}
	srxe_mem_stats(a.c, &st);
	cr_assert_eq(st.mrs, 0);
	cr_assert_eq(st.frames_in_use, 0);
	party_down(&a);
}

Test(mem_forgery, deregistered_keys_rejected)
{
	run_dead_keys(SRXE_MEM_SHORTCUT);
	run_dead_keys(SRXE_MEM_MTT);
}
