/* SPDX-License-Identifier: MIT */
/*
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320) by carry-less
 * multiplication: the bulk of a long buffer folded to 16 bytes with
 * PCLMULQDQ, on x86-64 CPUs that have it (checked once at run time).
 *
 * Contract: srxe_crc32_fold(reg, p, len, out) needs len >= 16.  It
 * consumes a multiple of 16 bytes, n (returned, 16 <= n <= len), and
 * writes 16 bytes to @out such that running the CRC register from 0 over
 * @out and then from that result over p[n..len) gives exactly the
 * register that running @reg over p[0..len) gives.  (Folding keeps the
 * message's polynomial congruent modulo the CRC polynomial, and a
 * register preset XORs into the first four message bytes.)  The caller
 * finishes with srxe_crc32_fold_reduce() (the register from 0 over @out)
 * and its table-driven loop over the tail.
 * Returns 0, touching nothing, when the CPU cannot do it, or when the
 * environment says SRXE_CRC32_FOLD=0 (table only; "128": PCLMULQDQ
 * without the AVX-512 path) -- for benchmarks and bisecting.
 *
 * The fold constants are x^k mod P, computed at first use from the
 * polynomial itself, not copied tables.  This is CRC-32, not CRC-32C:
 * the SSE4.2 crc32 instruction is the other polynomial and of no use.
 */
#ifndef SRXE_ENGINE_CRC32_FOLD_H
#define SRXE_ENGINE_CRC32_FOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether srxe_crc32_fold() works on this CPU. */
bool srxe_crc32_fold_available(void);

size_t srxe_crc32_fold(uint32_t reg, const uint8_t *p, size_t len,
		       uint8_t out[16]);

/*
 * The same, going on from the 16 bytes @state that an earlier
 * srxe_crc32_fold() or srxe_crc32_fold_more() wrote after consuming all
 * of its buffer: running the register from 0 over @out and then over
 * p[n..len) gives the register of the earlier bytes followed by p[0..len).
 * So a message in two buffers is folded as one when the first buffer's
 * length is a multiple of 16 (ICRC: the masked headers, then the payload).
 */
/*
 * The raw register that running the CRC from 0 over @folded gives, by
 * carry-less multiplication and a Barrett reduction (the table's 16
 * lookups miss the cache that payload copies flush).  Only for what
 * srxe_crc32_fold() or srxe_crc32_fold_more() wrote (so only where they
 * work); equal to the table's result for any 16 bytes.
 */
uint32_t srxe_crc32_fold_reduce(const uint8_t folded[16]);

size_t srxe_crc32_fold_more(const uint8_t state[16], const uint8_t *p,
			    size_t len, uint8_t out[16]);

/*
 * srxe_crc32_fold_more() over @src that also copies the n bytes it
 * consumes to @dst (which must not overlap @src), reading them once:
 * the sender's payload goes from the MR to its datagram and into the
 * ICRC in one pass.  Returns n as srxe_crc32_fold_more() does, or 0,
 * touching nothing, where it cannot do both in one pass (no VPCLMULQDQ,
 * SRXE_CRC32_FOLD=128 or 0, or @len < 256): the caller then
 * copies and folds apart.  srxe_crc32_fold_copy_available() says whether
 * this CPU and mode do it (for lengths from 256).
 */
bool srxe_crc32_fold_copy_available(void);
size_t srxe_crc32_fold_copy(const uint8_t state[16], uint8_t *dst,
			    const uint8_t *src, size_t len, uint8_t out[16]);

#endif
