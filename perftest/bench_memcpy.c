// SPDX-License-Identifier: MIT
/*
 * Single-thread memcpy bandwidth, the baseline perftest/perftest-table.sh
 * prints beside srxe's ib_*_bw numbers.
 *
 *   bench_memcpy [SIZE...]      SIZE in bytes, suffix K/M/G = 2^10/2^20/2^30
 *                               (default: 4K 64K 1M)
 *
 * For each size: one source and one destination buffer, faulted in before
 * timing; the same pair is copied over and over (as perftest reuses its one
 * buffer), so small sizes run from cache.  Each of 5 trials copies at least
 * 256 MiB and lasts at least 50 ms; the median trial is reported.  Output,
 * one line per size after a header:
 *   size  rounds  GB/s (10^9 B/s)  MiB/s (2^20 B/s, perftest's "MB/sec")
 *   us (microseconds per copy, the baseline beside latencies)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TRIALS		5
#define MIN_BYTES	(256.0 * 1048576.0)
#define MIN_SECONDS	0.05

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end || v == 0 || v > (1ULL << 32))
		return -1;
	*out = (size_t)v;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Seconds per copy of size bytes, median of TRIALS; *rounds_out per trial. */
static double measure(uint8_t *dst, const uint8_t *src, size_t size,
		      unsigned long *rounds_out)
{
	double per_copy[TRIALS];
	unsigned long rounds = (unsigned long)(MIN_BYTES / (double)size) + 1;

	for (int t = 0; t < TRIALS; t++) {
		double t0, dt;

		for (;;) {
			t0 = now();
			for (unsigned long i = 0; i < rounds; i++) {
				memcpy(dst, src, size);
				/* Keep every copy: dst is "read" here. */
				__asm__ volatile("" : : "r"(dst) : "memory");
			}
			dt = now() - t0;
			if (dt >= MIN_SECONDS)
				break;
			rounds *= 2;
		}
		per_copy[t] = dt / (double)rounds;
	}
	qsort(per_copy, TRIALS, sizeof(per_copy[0]), cmp_double);
	*rounds_out = rounds;
	return per_copy[TRIALS / 2];
}

int main(int argc, char **argv)
{
	static const char *const defaults[] = { "4K", "64K", "1M" };
	const char *const *sizes = defaults;
	int n = 3;

	if (argc > 1) {
		sizes = (const char *const *)&argv[1];
		n = argc - 1;
	}
	printf("%10s %10s %10s %10s %10s\n", "size", "rounds", "GB/s", "MiB/s",
	       "us");
	for (int i = 0; i < n; i++) {
		size_t size;
		uint8_t *src, *dst;
		unsigned long rounds;
		double sec;

		if (parse_size(sizes[i], &size)) {
			fprintf(stderr, "bench_memcpy: bad size '%s'\n",
				sizes[i]);
			return 2;
		}
		src = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
		dst = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
		if (!src || !dst) {
			fprintf(stderr, "bench_memcpy: out of memory\n");
			return 1;
		}
		memset(src, 0xa5, size);
		memset(dst, 0x5a, size);
		sec = measure(dst, src, size, &rounds);
		if (memcmp(dst, src, size)) {
			fprintf(stderr, "bench_memcpy: copy mismatch\n");
			return 1;
		}
		printf("%10zu %10lu %10.2f %10.0f %10.4f\n", size, rounds,
		       (double)size / sec / 1e9,
		       (double)size / sec / 1048576.0, sec * 1e6);
		free(src);
		free(dst);
	}
	return 0;
}
