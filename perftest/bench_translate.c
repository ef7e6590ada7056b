// SPDX-License-Identifier: MIT
/*
 * Shortcut vs MTT translation, side by side in one run:
 *   1. translate() ns/op at several MR sizes and access sizes, uncached
 *      (srxe_mem_translate) and through the engine's translation cache
 *      (srxe_tlb_translate, mem/tlb.h), next to a memcpy of the same bytes
 *      (what the engine does after translating);
 *   2. registration and deregistration time vs MR size;
 *   3. translation state bytes vs MR size;
 *   4. with a DEVICE (a running srxe device): ibv_reg_mr/ibv_dereg_mr
 *      through srxed per kind of memory, pages untouched vs touched --
 *      private memory (moved onto the slab: the baseline) next to the
 *      shareable kinds srxed maps in place (issue #12: no copy, so their
 *      time must not depend on whether the pages were touched).
 * Usage: bench_translate [seconds-per-point, default 0.1] [DEVICE]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "mem/tlb.h"
#include "mem/translate.h"

#define PAGE	    4096ull
#define MAX_MR	    (256ull << 20)
#define SLAB_FRAMES ((uint32_t)(MAX_MR / PAGE) + 16)
#define BASE	    0x7f1000000000ull
#define NOFF	    4096

static double point_seconds = 0.1;
#define SAMPLES 7 /* rounds per translate cell */
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

/*
 * ns per translate of `access` bytes at random offsets inside the MR, for
 * `seconds`; tlb NULL: uncached, else through a cache that starts empty
 * (its fills are part of the time).
 */
static double time_translate(struct srxe_mem_client *c, struct srxe_tlb *tlb,
			     uint32_t rkey, uint64_t mr_len, uint64_t access,
			     double seconds)
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
	if (tlb)
		srxe_tlb_init(tlb);
	do {
		for (int i = 0; i < NOFF; i++) {
			req.addr = BASE + off[i];
			if (srxe_tlb_translate(tlb, c, &req, sg, 32) < 1) {
				fprintf(stderr, "translate failed\n");
				exit(1);
			}
			sink += (uintptr_t)sg[0].addr;
		}
		iters += NOFF;
		t = now() - t0;
	} while (t < seconds);
	return t * 1e9 / iters;
}

static double time_memcpy(uint8_t *dst, const uint8_t *src, uint64_t len,
			  double seconds)
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
	} while (t < seconds);
	return t * 1e9 / iters;
}

static double min_of(double a, double b)
{
	return b < a ? b : a;
}

static const uint64_t mr_sizes[] = { 4096, 64 << 10, 1 << 20, 16 << 20,
				     256 << 20 };
#define NSIZES (sizeof(mr_sizes) / sizeof(mr_sizes[0]))

static void translate_table(void *slab)
{
	static const uint64_t accesses[] = { 64, 4096, 64 << 10 };
	/* page aligned: with dst - src = 16 mod 4096 (two malloc()s), this
	 * glibc's rep movsb runs at 3 GB/s on AMD EPYC (measured here), 25x
	 * slower than aligned or 64+ bytes apart */
	uint8_t *src = aligned_alloc(4096, 64 << 10),
		*dst = aligned_alloc(4096, 64 << 10);
	struct srxe_tlb *tlb = malloc(sizeof(*tlb));

	memset(src, 1, 64 << 10);
	memset(dst, 2, 64 << 10);
	printf("## translate() ns/op (rkey, REMOTE_WRITE, random offsets)\n\n");
	printf("cached: through the engine's translation cache (mem/tlb.h), "
	       "%u entries, empty at the start of each sample.  Each cell: "
	       "%d rounds timing every column in turn for %.3f s; the "
	       "fastest round of each column (other work on a shared host "
	       "only adds time).\n\n",
	       SRXE_TLB_ENTRIES, SAMPLES, point_seconds / SAMPLES);
	printf("| MR size | access | shortcut ns | mtt ns | shortcut cached ns "
	       "| mtt cached ns | sc cached / mtt | sc cached / mtt cached "
	       "| memcpy ns |\n");
	printf("|--------:|-------:|------------:|-------:|-------------------:"
	       "|--------------:|----------------:|-----------------------:"
	       "|----------:|\n");
	for (size_t s = 0; s < NSIZES; s++) {
		struct srxe_mem_client *sc =
			new_client(SRXE_MEM_SHORTCUT, slab);
		struct srxe_mem_client *mt = new_client(SRXE_MEM_MTT, slab);
		uint32_t k_sc = reg(sc, mr_sizes[s]).rkey;
		uint32_t k_mt = reg(mt, mr_sizes[s]).rkey;

		for (size_t a = 0; a < 3; a++) {
			double t_sc = 1e30, t_mt = 1e30, t_scc = 1e30,
			       t_mtc = 1e30, t_cp = 1e30;
			double dt = point_seconds / SAMPLES;
			uint64_t len = mr_sizes[s], acc = accesses[a];

			if (acc > len)
				continue;
			for (int r = 0; r < SAMPLES; r++) {
				t_sc = min_of(t_sc,
					      time_translate(sc, NULL, k_sc,
							     len, acc, dt));
				t_mt = min_of(t_mt,
					      time_translate(mt, NULL, k_mt,
							     len, acc, dt));
				t_scc = min_of(t_scc,
					       time_translate(sc, tlb, k_sc,
							      len, acc, dt));
				t_mtc = min_of(t_mtc,
					       time_translate(mt, tlb, k_mt,
							      len, acc, dt));
				t_cp = min_of(t_cp,
					      time_memcpy(dst, src, acc, dt));
			}
			printf("| %7" PRIu64 " KiB | %6" PRIu64
			       " | %11.1f | %6.1f | %18.1f | %13.1f "
			       "| %15.2f | %22.2f | %9.1f |\n",
			       len >> 10, acc, t_sc, t_mt, t_scc, t_mtc,
			       t_scc / t_mt, t_scc / t_mtc, t_cp);
		}
		srxe_mem_client_destroy(sc);
		srxe_mem_client_destroy(mt);
	}
	free(tlb);
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

/*
 * 4. Registration through srxed by kind of memory (kinds, issue #12).
 * Each sample makes a fresh object (so "untouched" pages were never
 * allocated), touches every page or not, then times ibv_reg_mr and
 * ibv_dereg_mr; making and unmapping the object is not timed.
 */
enum kind { K_PRIVATE, K_MEMFD, K_TMPFS, K_ANON_SHARED, K_SYSV, K_HUGE, NK };

static const char *const kind_names[NK] = {
	"private anon (moved)", "memfd",    "tmpfs file (/dev/shm)",
	"anon shared",		"SysV shm", "hugetlbfs 2 MiB (MFD_HUGETLB)",
};

struct obj {
	uint8_t *p;
	int shmid;
};

static int make_obj(enum kind k, uint64_t len, struct obj *o)
{
	int fd = -1, flags = MAP_SHARED;
	char path[64];

	o->shmid = -1;
	switch (k) {
	case K_PRIVATE:
		flags = MAP_PRIVATE | MAP_ANONYMOUS;
		break;
	case K_ANON_SHARED:
		flags |= MAP_ANONYMOUS;
		break;
	case K_MEMFD:
	case K_HUGE:
		fd = memfd_create("bench", k == K_HUGE ? MFD_HUGETLB : 0);
		break;
	case K_TMPFS:
		snprintf(path, sizeof(path), "/dev/shm/srxe-bench.%d",
			 (int)getpid());
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		unlink(path);
		break;
	case K_SYSV:
		o->shmid = shmget(IPC_PRIVATE, len, IPC_CREAT | 0600);
		if (o->shmid < 0)
			return -errno;
		o->p = shmat(o->shmid, NULL, 0);
		shmctl(o->shmid, IPC_RMID, NULL);
		return o->p == (void *)-1 ? -errno : 0;
	default:
		return -EINVAL;
	}
	if (!(flags & MAP_ANONYMOUS) && (fd < 0 || ftruncate(fd, (off_t)len))) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	o->p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (fd >= 0)
		close(fd);
	return o->p == MAP_FAILED ? -errno : 0;
}

static void drop_obj(const struct obj *o, uint64_t len)
{
	if (o->shmid >= 0)
		shmdt(o->p);
	else
		munmap(o->p, len);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define MAX_SAMPLES 64

/* Median us of ibv_reg_mr and of ibv_dereg_mr (a loaded host is noisy);
 * false if a step failed. */
static bool time_kind(struct ibv_pd *pd, enum kind k, uint64_t len,
		      bool touched, double *reg_us, double *dereg_us)
{
	double reg[MAX_SAMPLES], dereg[MAX_SAMPLES], spent = 0;
	int n = 0;

	do {
		struct obj o = { NULL, -1 };
		struct ibv_mr *mr;
		double t0, t1, t2;

		if (make_obj(k, len, &o))
			return false;
		if (touched)
			for (uint64_t i = 0; i < len; i += PAGE)
				o.p[i] = (uint8_t)i | 1;
		/* Start each sample as a waking task in both columns: on a
		 * loaded host, one that just burnt its slice touching pages
		 * waits longer for srxed's replies. */
		usleep(1000);
		t0 = now();
		mr = ibv_reg_mr(pd, o.p, len,
				IBV_ACCESS_LOCAL_WRITE |
					IBV_ACCESS_REMOTE_WRITE |
					IBV_ACCESS_REMOTE_READ);
		t1 = now();
		if (!mr || ibv_dereg_mr(mr)) {
			drop_obj(&o, len);
			return false;
		}
		t2 = now();
		drop_obj(&o, len);
		reg[n] = (t1 - t0) * 1e6;
		dereg[n] = (t2 - t1) * 1e6;
		spent += t2 - t0;
		n++;
	} while (n < MAX_SAMPLES && (n < 5 || spent < point_seconds));
	qsort(reg, n, sizeof(reg[0]), cmp_double);
	qsort(dereg, n, sizeof(dereg[0]), cmp_double);
	*reg_us = reg[n / 2];
	*dereg_us = dereg[n / 2];
	return true;
}

static uint64_t free_huge_2m(void)
{
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/"
			"free_hugepages",
			"r");
	unsigned long long n = 0;

	if (f) {
		if (fscanf(f, "%llu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

static void kinds_table(const char *dev)
{
	static const uint64_t sizes[] = { 2 << 20, 16 << 20, 64 << 20 };
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd;

	for (int i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), dev))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	if (!pd) {
		fprintf(stderr, "cannot open %s\n", dev);
		exit(1);
	}
	printf("\n## ibv_reg_mr through srxed by kind of memory (%s)\n\n", dev);
	printf("Median of >= 5 samples per cell.\n\n");
	printf("| kind | MR size | reg us, untouched | reg us, touched "
	       "| dereg us, untouched | dereg us, touched |\n");
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (int k = 0; k < NK; k++)
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			double ru, rt, du, dt;

			if (k == K_HUGE && free_huge_2m() < (sizes[s] >> 21)) {
				printf("| %s | %" PRIu64 " MiB | (not enough "
				       "free 2 MiB huge pages) | | | |\n",
				       kind_names[k], sizes[s] >> 20);
				continue;
			}
			if (!time_kind(pd, k, sizes[s], false, &ru, &du) ||
			    !time_kind(pd, k, sizes[s], true, &rt, &dt)) {
				printf("| %s | %" PRIu64 " MiB | failed: %s "
				       "| | | |\n",
				       kind_names[k], sizes[s] >> 20,
				       strerror(errno));
				continue;
			}
			printf("| %s | %" PRIu64 " MiB | %.0f | %.0f | %.0f "
			       "| %.0f |\n",
			       kind_names[k], sizes[s] >> 20, ru, rt, du, dt);
		}
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
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
	if (argc > 2)
		kinds_table(argv[2]);
	return 0;
}
