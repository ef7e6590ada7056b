// SPDX-License-Identifier: MIT
/*
 * Speed of srxe's CRC-32 (the ICRC's cost per packet) on the path this
 * CPU takes.  perftest/wire-table.sh's "what bounds it" cites it; run it
 * three times to compare the paths (kernel-shim/engine/packet/crc32_fold.h):
 *
 *   SRXE_CRC32_FOLD=0   perftest/crc32_speed    table (slicing-by-8)
 *   SRXE_CRC32_FOLD=128 perftest/crc32_speed    PCLMULQDQ
 *   SRXE_CRC32_FOLD=256 perftest/crc32_speed    256-bit VPCLMULQDQ (AVX2)
 *                       perftest/crc32_speed    best available
 *
 * For each size (default: 1040 and 4112 bytes, srxe's data packets at
 * path MTU 1024 and 4096 without IP/UDP): 40 trials of 5000 CRCs over
 * one cache-hot buffer; the fastest trial is reported (the least
 * disturbed by other load), as ns per CRC and GB/s (10^9 B/s).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/packet/crc32_fold.h"
#include "engine/packet/icrc.h"

#define TRIALS 40
#define ROUNDS 5000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	static unsigned char buf[65536];
	const char *deflt[] = { "1040", "4112" };
	const char **sizes = argc > 1 ? (const char **)argv + 1 : deflt;
	int nsizes = argc > 1 ? argc - 1 : 2;
	const char *mode = getenv("SRXE_CRC32_FOLD");
	uint32_t crc = 0;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131u + 7u);
	printf("path: %s\n",
	       !srxe_crc32_fold_available()   ? "table (slicing-by-8)"
	       : mode && !strcmp(mode, "128") ? "PCLMULQDQ fold"
	       : mode && !strcmp(mode, "256")
		       ? "best fold up to 256-bit VPCLMULQDQ"
		       : "best fold (512-bit VPCLMULQDQ with AVX-512, else "
			 "256-bit VPCLMULQDQ, else PCLMULQDQ)");
	printf("%8s %10s %8s\n", "bytes", "ns/crc", "GB/s");
	for (int s = 0; s < nsizes; s++) {
		long len = strtol(sizes[s], NULL, 10);
		double best = 1e9;

		if (len <= 0 || len > (long)sizeof(buf)) {
			fprintf(stderr, "crc32_speed: size 1..%zu\n",
				sizeof(buf));
			return 2;
		}
		for (int t = 0; t < TRIALS; t++) {
			double t0 = now(), d;

			for (int r = 0; r < ROUNDS; r++)
				crc = srxe_crc32(crc, buf, (size_t)len);
			d = (now() - t0) / ROUNDS;
			if (d < best)
				best = d;
		}
		printf("%8ld %10.1f %8.2f\n", len, best * 1e9,
		       (double)len / best / 1e9);
	}
	return crc == 0x12345678u; /* keeps the loop; practically never */
}
