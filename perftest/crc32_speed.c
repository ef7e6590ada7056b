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
 *
 * Then the sender's whole ICRC work on a data packet (IPv4, middle
 * packet, payloads of 1024 and 4096 bytes from a 64 KiB "MR" into a
 * 512 KiB transmit area, both cycled): the payload copied by memcpy and
 * the packet sealed by srxe_icrc_seal() (srxe up to 2d7fbbe) against
 * srxe_icrc_seal_gather(), which folds the payload as it copies it; the
 * two alternate within each trial.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/packet/crc32_fold.h"
#include "engine/packet/icrc.h"
#include "mem/translate.h"

#define TRIALS 40
#define ROUNDS 5000

#define HDRS	    (20 + 8 + 12) /* IPv4, UDP, BTH */
#define SLOT	    8192
#define TX_AREA	    (64 * SLOT)
#define MR_BYTES    65536
#define SEAL_ROUNDS 2000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A middle packet of @payload bytes in @slot: headers, a zero ICRC. */
static size_t packet_in(unsigned char *slot, size_t payload)
{
	size_t udp_len = 8 + 12 + payload + 4;

	memset(slot, 0x5a, HDRS);
	slot[0] = 0x45;
	slot[20 + 4] = (unsigned char)(udp_len >> 8);
	slot[20 + 5] = (unsigned char)udp_len;
	return udp_len;
}

/* ns per packet of SEAL_ROUNDS packets, one way or the other. */
static double seal_round(unsigned char *tx, const unsigned char *mr,
			 size_t payload, bool fused)
{
	size_t udp_len = 0, at = 0;
	double t0 = now();

	for (int r = 0; r < SEAL_ROUNDS; r++) {
		unsigned char *slot = tx + (size_t)r % (TX_AREA / SLOT) * SLOT;
		struct srxe_sg sg = { .addr = (void *)(mr + at),
				      .len = (uint32_t)payload };

		udp_len = packet_in(slot, payload);
		if (fused) {
			srxe_icrc_seal_gather(slot, 20, slot + 20, udp_len,
					      8 + 12, &sg, 1, payload);
		} else {
			memcpy(slot + HDRS, sg.addr, payload);
			srxe_icrc_seal(slot, 20, slot + 20, udp_len);
		}
		at = (at + payload) % MR_BYTES;
	}
	return (now() - t0) / SEAL_ROUNDS * 1e9;
}

static int seal_table(void)
{
	static const size_t payloads[] = { 1024, 4096 };
	unsigned char *tx = aligned_alloc(64, TX_AREA);
	unsigned char *mr = aligned_alloc(64, MR_BYTES);

	if (!tx || !mr)
		return 1;
	for (size_t i = 0; i < MR_BYTES; i++)
		mr[i] = (unsigned char)(i * 37u + 1u);
	memset(tx, 0, TX_AREA);
	printf("\nsender ICRC per data packet (fastest of %d trials of %d)\n",
	       TRIALS, SEAL_ROUNDS);
	printf("%8s %20s %20s %8s\n", "payload", "memcpy+seal ns",
	       "seal_gather ns", "ratio");
	for (size_t p = 0; p < 2; p++) {
		double apart = 1e9, fused = 1e9;

		for (int t = 0; t < TRIALS; t++) {
			double a = seal_round(tx, mr, payloads[p], false);
			double f = seal_round(tx, mr, payloads[p], true);

			apart = a < apart ? a : apart;
			fused = f < fused ? f : fused;
		}
		printf("%8zu %20.1f %20.1f %8.2f\n", payloads[p], apart, fused,
		       fused / apart);
	}
	free(tx);
	free(mr);
	return 0;
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
	return seal_table() || crc == 0x12345678u; /* keeps the loop */
}
