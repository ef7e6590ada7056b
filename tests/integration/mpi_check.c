// SPDX-License-Identifier: MIT
/*
 * Issue #10: MPI over UCX over srxe moves the right bytes.  Ranks pair up
 * (0-1, 2-3, ...) for a ping-pong at sizes from 1 byte to 4 MiB (UCX's
 * eager and rendezvous protocols), every byte checked on both sides; then
 * MPI_Allreduce (sum of int64 vectors, 1 .. 1 Mi elements) over all ranks,
 * every element checked.  Needs an even number of ranks.
 *
 * Built by tests/integration/test_mpi.sh with each MPI's mpicc (not by
 * CMake, so the build works without MPI).  Prints "mpi_check: OK, N ranks"
 * from rank 0, or names the first mismatch and aborts.
 */
#include <inttypes.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BYTES (4u << 20)
#define ROUNDS	  3

static int rank, size;

static void fail(const char *what, size_t at, unsigned got, unsigned want)
{
	fprintf(stderr,
		"mpi_check: rank %d: %s: byte/element %zu is %u, "
		"expected %u\n",
		rank, what, at, got, want);
	MPI_Abort(MPI_COMM_WORLD, 1);
}

static uint8_t pattern(int from, int round, size_t len, size_t i)
{
	return (uint8_t)(from * 131 + round * 17 + len * 7 + i * 13 + (i >> 8));
}

static void fill(uint8_t *buf, size_t len, int from, int round)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(from, round, len, i);
}

static void check(const uint8_t *buf, size_t len, int from, int round,
		  const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pattern(from, round, len, i))
			fail(what, i, buf[i], pattern(from, round, len, i));
}

static void pingpong(uint8_t *sbuf, uint8_t *rbuf)
{
	int peer = rank ^ 1;

	for (size_t len = 1; len <= MAX_BYTES; len *= 4) {
		for (int round = 0; round < ROUNDS; round++) {
			memset(rbuf, 0, len);
			if (rank % 2 == 0) {
				fill(sbuf, len, rank, round);
				MPI_Send(sbuf, (int)len, MPI_BYTE, peer, round,
					 MPI_COMM_WORLD);
				MPI_Recv(rbuf, (int)len, MPI_BYTE, peer, round,
					 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
				check(rbuf, len, peer, round, "pong");
			} else {
				MPI_Recv(rbuf, (int)len, MPI_BYTE, peer, round,
					 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
				check(rbuf, len, peer, round, "ping");
				fill(sbuf, len, rank, round);
				MPI_Send(sbuf, (int)len, MPI_BYTE, peer, round,
					 MPI_COMM_WORLD);
			}
		}
	}
}

static void allreduce(void)
{
	for (size_t n = 1; n <= (1u << 20); n *= 32) {
		int64_t *in = malloc(n * sizeof(*in));
		int64_t *out = malloc(n * sizeof(*out));

		if (!in || !out)
			MPI_Abort(MPI_COMM_WORLD, 2);
		for (size_t i = 0; i < n; i++)
			in[i] = (int64_t)(rank + 1) * (int64_t)(i + 1);
		MPI_Allreduce(in, out, (int)n, MPI_INT64_T, MPI_SUM,
			      MPI_COMM_WORLD);
		for (size_t i = 0; i < n; i++) {
			int64_t want = (int64_t)size * (size + 1) / 2 *
				       (int64_t)(i + 1);

			if (out[i] != want) {
				fprintf(stderr,
					"mpi_check: rank %d: allreduce of %zu: "
					"element %zu is %" PRId64
					", expected %" PRId64 "\n",
					rank, n, i, out[i], want);
				MPI_Abort(MPI_COMM_WORLD, 1);
			}
		}
		free(in);
		free(out);
	}
}

int main(int argc, char **argv)
{
	uint8_t *sbuf, *rbuf;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (size % 2) {
		if (!rank)
			fprintf(stderr, "mpi_check: needs an even number of "
					"ranks\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	sbuf = malloc(MAX_BYTES);
	rbuf = malloc(MAX_BYTES);
	if (!sbuf || !rbuf)
		MPI_Abort(MPI_COMM_WORLD, 2);
	pingpong(sbuf, rbuf);
	allreduce();
	MPI_Barrier(MPI_COMM_WORLD);
	if (!rank)
		printf("mpi_check: OK, %d ranks\n", size);
	free(sbuf);
	free(rbuf);
	MPI_Finalize();
	return 0;
}
