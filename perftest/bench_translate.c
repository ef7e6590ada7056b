// SPDX-License-Identifier: MIT
/*
 * Shortcut vs MTT translation, side by side in one run:
 *   1. translate() ns/op at several MR sizes and access sizes, next to a
 *      memcpy of the same bytes (what the engine does after translating);
 *   2. registration and deregistration time vs MR size;
 *   3. translation state bytes vs MR size.
 * Usage: bench_translate [seconds-per-point, default 0.1]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "mem/translate.h"

#define PAGE	    4096ull
#define MAX_MR	    (256ull << 20)
#define SLAB_FRAMES ((uint32_t)(MAX_MR / PAGE) + 16)
#define BASE	    0x7f1000000000ull
#define NOFF	    4096

static double point_seconds = 0.1;
static volatile uint64_t sink;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *mode_name(enum srxe_mem_mode m)
{
	return m == SRXE_MEM_SHORTCUT ? "shortcut" : "mtt";
}

static struct srxe_mem_client *new_client(enum srxe_mem_mode mode, void *slab)
{
	struct srxe_mem_config cfg = { .mode = mode,
				       .client_id = 1,
				       .slab = slab,
				       .slab_frames = SLAB_FRAMES,
				       .max_reg_bytes = 64ull << 30 };
	struct srxe_mem_client *c;

	if (srxe_mem_client_create(&cfg, &c)) {
		fprintf(stderr, "client create failed\n");
		exit(1);
	}
	return c;
}

static struct srxe_mr_keys reg(struct srxe_mem_client *c, uint64_t len)
{
	struct srxe_mr_keys k;

	if (srxe_mem_reg(c, 1, BASE, len, BASE,
			 IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
				 IBV_ACCESS_REMOTE_WRITE,
			 &k, NULL)) {
		fprintf(stderr, "registration of %" PRIu64 " B failed\n", len);
		exit(1);
	}
	return k;
}

/* ns per translate of `access` bytes at random offsets inside the MR. */
static double time_translate(struct srxe_mem_client *c, uint32_t rkey,
			     uint64_t mr_len, uint64_t access)
{
	static uint64_t off[NOFF];
	struct srxe_sg sg[32];
	struct srxe_xlate_req req = {
		rkey, true, 0, access, IBV_ACCESS_REMOTE_WRITE, 1, 0
	};
	uint64_t iters = 0, span = mr_len - access + 1;
	double t0 = now(), t;

	for (int i = 0; i < NOFF; i++)
		off[i] = ((uint64_t)rand() << 20 ^ rand()) % span;
	do {
		for (int i = 0; i < NOFF; i++) {
			req.addr = BASE + off[i];
			if (srxe_mem_translate(c, &req, sg, 32) < 1) {
				fprintf(stderr, "translate failed\n");
				exit(1);
			}
			sink += (uintptr_t)sg[0].addr;
		}
		iters += NOFF;
		t = now() - t0;
	} while (t < point_seconds);
	return t * 1e9 / iters;
}

static double time_memcpy(uint8_t *dst, const uint8_t *src, uint64_t len)
{
	uint64_t iters = 0;
	double t0 = now(), t;

	do {
		for (int i = 0; i < 256; i++) {
			memcpy(dst, src, len);
			__asm__ volatile("" ::"r"(dst) : "memory");
		}
		iters += 256;
		t = now() - t0;
	} while (t < point_seconds);
	return t * 1e9 / iters;
}

static const uint64_t mr_sizes[] = { 4096, 64 << 10, 1 << 20, 16 << 20,
				     256 << 20 };
#define NSIZES (sizeof(mr_sizes) / sizeof(mr_sizes[0]))

static void translate_table(void *slab)
{
	static const uint64_t accesses[] = { 64, 4096, 64 << 10 };
	uint8_t *src = malloc(64 << 10), *dst = malloc(64 << 10);

	memset(src, 1, 64 << 10);
	memset(dst, 2, 64 << 10);
	printf("## translate() ns/op (rkey, REMOTE_WRITE, random offsets)\n\n");
	printf("| MR size | access | shortcut ns | mtt ns | memcpy ns |\n");
	printf("|--------:|-------:|------------:|-------:|----------:|\n");
	for (size_t s = 0; s < NSIZES; s++) {
		struct srxe_mem_client *sc =
			new_client(SRXE_MEM_SHORTCUT, slab);
		struct srxe_mem_client *mt = new_client(SRXE_MEM_MTT, slab);
		uint32_t k_sc = reg(sc, mr_sizes[s]).rkey;
		uint32_t k_mt = reg(mt, mr_sizes[s]).rkey;

		for (size_t a = 0; a < 3; a++) {
			if (accesses[a] > mr_sizes[s])
				continue;
			printf("| %7" PRIu64 " KiB | %6" PRIu64
			       " | %11.1f | %6.1f | %9.1f |\n",
			       mr_sizes[s] >> 10, accesses[a],
			       time_translate(sc, k_sc, mr_sizes[s],
					      accesses[a]),
			       time_translate(mt, k_mt, mr_sizes[s],
					      accesses[a]),
			       time_memcpy(dst, src, accesses[a]));
		}
		srxe_mem_client_destroy(sc);
		srxe_mem_client_destroy(mt);
	}
	free(src);
	free(dst);
}

struct reg_cost {
	double reg_us;
	double dereg_us;
	struct srxe_mem_stats st;
};

static struct reg_cost time_registration(enum srxe_mem_mode mode, void *slab,
					 uint64_t len)
{
	struct srxe_mem_client *c = new_client(mode, slab);
	struct reg_cost cost = { 0, 0, { 0 } };
	double reg_t = 0, dereg_t = 0;
	int n = 0;

	do {
		double t0 = now();
		struct srxe_mr_keys k = reg(c, len);
		double t1 = now();

		if (n == 0)
			srxe_mem_stats(c, &cost.st);
		srxe_mem_dereg(c, k.lkey, NULL);
		dereg_t += now() - t1;
		reg_t += t1 - t0;
		n++;
	} while (reg_t + dereg_t < point_seconds);
	srxe_mem_client_destroy(c);
	cost.reg_us = reg_t * 1e6 / n;
	cost.dereg_us = dereg_t * 1e6 / n;
	return cost;
}

static void registration_table(void *slab)
{
	printf("\n## registration (pin + keys) and state per MR size\n\n");
	printf("| MR size | shortcut reg us | mtt reg us | shortcut dereg us "
	       "| mtt dereg us | table B (both) | shortcut key B "
	       "| mtt key B | shortcut xlate B | mtt xlate B |\n");
	printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (size_t s = 0; s < NSIZES; s++) {
		struct reg_cost sc =
			time_registration(SRXE_MEM_SHORTCUT, slab, mr_sizes[s]);
		struct reg_cost mt =
			time_registration(SRXE_MEM_MTT, slab, mr_sizes[s]);

		printf("| %" PRIu64
		       " KiB | %.2f | %.2f | %.2f | %.2f | %" PRIu64
		       " | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " | %" PRIu64
		       " |\n",
		       mr_sizes[s] >> 10, sc.reg_us, mt.reg_us, sc.dereg_us,
		       mt.dereg_us, sc.st.table_bytes, sc.st.key_state_bytes,
		       mt.st.key_state_bytes, sc.st.translation_bytes,
		       mt.st.translation_bytes);
	}
}

/* Many MRs over one buffer: shared table vs per-MR MTT copies. */
static void overlap_table(void *slab)
{
	const uint64_t len = 16 << 20;
	const int nmr = 64;

	printf("\n## %d MRs registered over the same 16 MiB buffer\n\n", nmr);
	printf("| mode | table B | key state B | translation B |\n");
	printf("|---|---:|---:|---:|\n");
	for (int m = 0; m < 2; m++) {
		struct srxe_mem_client *c = new_client(m, slab);
		struct srxe_mem_stats st;

		for (int i = 0; i < nmr; i++)
			reg(c, len);
		srxe_mem_stats(c, &st);
		printf("| %s | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " |\n",
		       mode_name(m), st.table_bytes, st.key_state_bytes,
		       st.translation_bytes);
		srxe_mem_client_destroy(c);
	}
}

int main(int argc, char **argv)
{
	void *slab;

	if (argc > 1)
		point_seconds = atof(argv[1]);
	slab = mmap(NULL, (size_t)SLAB_FRAMES * PAGE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (slab == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	srand(42);
	translate_table(slab);
	registration_table(slab);
	overlap_table(slab);
	munmap(slab, (size_t)SLAB_FRAMES * PAGE);
	return 0;
}
