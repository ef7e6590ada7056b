// SPDX-License-Identifier: MIT
/*
 * CRC-32 folding with PCLMULQDQ (contract in crc32_fold.h).
 *
 * Bit order: the CRC is reflected, so a 16-byte block loaded little-endian
 * holds the message polynomial with integer bit t as the coefficient of
 * x^(127-t): the low 64-bit half (the earlier bytes) is the high-degree
 * half.  A block A = L*x^64 + H that is followed by d more bits before the
 * block B is replaced by A*x^d + B, which is congruent modulo P:
 *   A*x^d = L*x^(64+d) + H*x^d == L*(x^(64+d) mod P) + H*(x^d mod P).
 * A carry-less product of two reflected 64-bit operands comes out shifted
 * by one degree (the 127-bit product sits in a 128-bit reflected field),
 * so the constants are one degree lower: x^(63+d) and x^(d-1) mod P.
 * Where AVX-512 VPCLMULQDQ exists, one instruction does four such 128-bit
 * folds; long buffers take that path first.  Where VPCLMULQDQ exists
 * without AVX-512 (AMD Zen 3, some Intel client cores), its 256-bit form
 * does two.
 */
#include "crc32_fold.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CRC32_POLY_NORMAL 0x04c11db7u /* x^32 implied */

#if defined(__x86_64__)
#include <immintrin.h>

static bool have_clmul, have_vpclmul, have_vpclmul256;
/* {x^(63+d) mod P, x^(d-1) mod P} for d = 2048 (four 512-bit lanes), 1024
 * (four 256-bit lanes), 512 (four 128-bit lanes, or one 512-bit lane),
 * 256 (one 256-bit lane) and 128 bits. */
static uint64_t k2048[2], k1024[2], k512[2], k256[2], k128[2];
/* The reduction's operands, reflected: {x^95, x^63} mod P and
 * {floor(x^64 / P), P}. */
static uint64_t k_reduce[2], k_barrett[2];
static pthread_once_t fold_once = PTHREAD_ONCE_INIT;

/* x^n mod P, normal bit order (bit j = coefficient of x^j). */
static uint32_t xpow_mod(unsigned int n)
{
	uint32_t r = 1;

	while (n--)
		r = (r << 1) ^ (r & 0x80000000u ? CRC32_POLY_NORMAL : 0);
	return r;
}

static uint32_t bit_reverse32(uint32_t v)
{
	uint32_t r = 0;

	for (int i = 0; i < 32; i++)
		r |= ((v >> i) & 1u) << (31 - i);
	return r;
}

/* A polynomial of degree < 32 as a reflected 64-bit operand: the
 * coefficient of x^j goes to bit 63 - j. */
static uint64_t reflected_operand(unsigned int n)
{
	return (uint64_t)bit_reverse32(xpow_mod(n)) << 32;
}

/* A polynomial of degree <= 63 (normal order) as a reflected operand. */
static uint64_t bit_reverse64(uint64_t v)
{
	return (uint64_t)bit_reverse32((uint32_t)v) << 32 |
	       bit_reverse32((uint32_t)(v >> 32));
}

/* floor(x^64 / P), normal order: a polynomial of degree 32. */
static uint64_t barrett_mu(void)
{
	const uint64_t poly = 0x100000000ull | CRC32_POLY_NORMAL;
	/* x^64 - x^32 * P: the first step of the long division */
	uint64_t rem = (uint64_t)CRC32_POLY_NORMAL << 32;
	uint64_t q = 1ull << 32;

	for (int deg = 63; deg >= 32; deg--) {
		if (rem >> deg & 1) {
			q |= 1ull << (deg - 32);
			rem ^= poly << (deg - 32);
		}
	}
	return q;
}

static void set_constants(uint64_t k[2], unsigned int d)
{
	k[0] = reflected_operand(d + 63);
	k[1] = reflected_operand(d - 1);
}

static void fold_init(void)
{
	const char *want = getenv("SRXE_CRC32_FOLD");

	__builtin_cpu_init();
	have_clmul = __builtin_cpu_supports("pclmul") &&
		     __builtin_cpu_supports("sse2");
	have_vpclmul256 = have_clmul && __builtin_cpu_supports("avx2") &&
			  __builtin_cpu_supports("vpclmulqdq");
	have_vpclmul = have_vpclmul256 && __builtin_cpu_supports("avx512f");
	/* "0": table only, "128": no VPCLMULQDQ, "256": no AVX-512
	 * (benchmarks, bisecting, the tests of each path) */
	if (want && !strcmp(want, "0"))
		have_clmul = have_vpclmul = have_vpclmul256 = false;
	if (want && !strcmp(want, "128"))
		have_vpclmul = have_vpclmul256 = false;
	if (want && !strcmp(want, "256"))
		have_vpclmul = false;
	set_constants(k2048, 2048);
	set_constants(k1024, 1024);
	set_constants(k512, 512);
	set_constants(k256, 256);
	set_constants(k128, 128);
	k_reduce[0] = reflected_operand(95);
	k_reduce[1] = reflected_operand(63);
	k_barrett[0] = bit_reverse64(barrett_mu());
	k_barrett[1] = bit_reverse64(0x100000000ull | CRC32_POLY_NORMAL);
}

/* a*x^d + b for the d whose constants @k holds. */
__attribute__((target("pclmul,sse2"))) static inline __m128i
fold(__m128i a, __m128i k, __m128i b)
{
	__m128i lo = _mm_clmulepi64_si128(a, k, 0x00);
	__m128i hi = _mm_clmulepi64_si128(a, k, 0x11);

	return _mm_xor_si128(_mm_xor_si128(lo, hi), b);
}

__attribute__((target("pclmul,sse2"))) static inline __m128i
load(const uint8_t *p)
{
	return _mm_loadu_si128((const __m128i *)(const void *)p);
}

static size_t fold_vpclmul(__m128i head, const uint8_t *p, size_t len,
			   __m128i *state);
static size_t fold_vpclmul256(__m128i head, const uint8_t *p, size_t len,
			      __m128i *state);

/* @head is XORed into the first 16 bytes: the register preset, or what
 * earlier bytes left (srxe_crc32_fold_more). */
__attribute__((target("pclmul,sse2"))) static size_t
fold_clmul(__m128i head, const uint8_t *p, size_t len, uint8_t out[16])
{
	__m128i k1 = _mm_loadu_si128((const __m128i *)(const void *)k128);
	__m128i x;
	size_t n = 16;

	if (have_vpclmul && len >= 256) {
		n = fold_vpclmul(head, p, len, &x);
		goto tail;
	}
	if (have_vpclmul256 && len >= 128) {
		n = fold_vpclmul256(head, p, len, &x);
		goto tail;
	}
	x = _mm_xor_si128(load(p), head);
	if (len >= 64) {
		/* Four independent lanes hide the multiplier's latency. */
		__m128i k4 =
			_mm_loadu_si128((const __m128i *)(const void *)k512);
		__m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);

		for (n = 64; len - n >= 64; n += 64) {
			x = fold(x, k4, load(p + n));
			x1 = fold(x1, k4, load(p + n + 16));
			x2 = fold(x2, k4, load(p + n + 32));
			x3 = fold(x3, k4, load(p + n + 48));
		}
		x = fold(fold(fold(x, k1, x1), k1, x2), k1, x3);
	}
tail:
	for (; len - n >= 16; n += 16)
		x = fold(x, k1, load(p + n));
	_mm_storeu_si128((__m128i *)(void *)out, x);
	return n;
}

/*
 * AVX-512 VPCLMULQDQ: four 128-bit folds per instruction.  Four 64-byte
 * accumulators take 256 bytes per round; they are folded into one, and its
 * four 128-bit lanes into one.  Returns the bytes consumed (a multiple of
 * 256, at least 256) and the 128-bit state for the xmm loop to go on from.
 */
__attribute__((target("avx512f,vpclmulqdq,pclmul"))) static inline __m512i
fold512(__m512i a, __m512i k, __m512i b)
{
	__m512i lo = _mm512_clmulepi64_epi128(a, k, 0x00);
	__m512i hi = _mm512_clmulepi64_epi128(a, k, 0x11);

	return _mm512_ternarylogic_epi64(lo, hi, b, 0x96); /* lo ^ hi ^ b */
}

/* A 64-byte load, also stored to @to unless that is NULL: with it,
 * fold_vpclmul_to() copies what it folds, and a caller that both copies
 * and sums a buffer reads it once. */
__attribute__((target("avx512f,vpclmulqdq,pclmul"))) static inline __m512i
load512(const uint8_t *p, uint8_t *to)
{
	__m512i v = _mm512_loadu_si512(p);

	if (to)
		_mm512_storeu_si512(to, v);
	return v;
}

__attribute__((target("avx512f,vpclmulqdq,pclmul"),
	       always_inline)) static inline size_t
fold_vpclmul_to(__m128i head, const uint8_t *p, size_t len, __m128i *state,
		uint8_t *to)
{
	__m512i k4 = _mm512_broadcast_i32x4(
		_mm_loadu_si128((const __m128i *)(const void *)k2048));
	__m512i k1 = _mm512_broadcast_i32x4(
		_mm_loadu_si128((const __m128i *)(const void *)k512));
	__m128i k0 = _mm_loadu_si128((const __m128i *)(const void *)k128);
	__m512i x0 =
		_mm512_xor_si512(load512(p, to), _mm512_zextsi128_si512(head));
	__m512i x1 = load512(p + 64, to ? to + 64 : NULL);
	__m512i x2 = load512(p + 128, to ? to + 128 : NULL);
	__m512i x3 = load512(p + 192, to ? to + 192 : NULL);
	__m128i x;
	size_t n;

	for (n = 256; len - n >= 256; n += 256) {
		uint8_t *t = to ? to + n : NULL;

		x0 = fold512(x0, k4, load512(p + n, t));
		x1 = fold512(x1, k4, load512(p + n + 64, t ? t + 64 : NULL));
		x2 = fold512(x2, k4, load512(p + n + 128, t ? t + 128 : NULL));
		x3 = fold512(x3, k4, load512(p + n + 192, t ? t + 192 : NULL));
	}
	x0 = fold512(fold512(fold512(x0, k1, x1), k1, x2), k1, x3);
	x = _mm512_extracti32x4_epi32(x0, 0);
	x = fold(x, k0, _mm512_extracti32x4_epi32(x0, 1));
	x = fold(x, k0, _mm512_extracti32x4_epi32(x0, 2));
	*state = fold(x, k0, _mm512_extracti32x4_epi32(x0, 3));
	return n;
}

__attribute__((target("avx512f,vpclmulqdq,pclmul"))) static size_t
fold_vpclmul(__m128i head, const uint8_t *p, size_t len, __m128i *state)
{
	return fold_vpclmul_to(head, p, len, state, NULL);
}

__attribute__((target("avx512f,vpclmulqdq,pclmul"))) static size_t
fold_vpclmul_copy(__m128i head, const uint8_t *p, size_t len, __m128i *state,
		  uint8_t *to)
{
	return fold_vpclmul_to(head, p, len, state, to);
}

/*
 * AVX2 VPCLMULQDQ: two 128-bit folds per instruction, the same scheme on
 * four 32-byte accumulators (128 bytes per round).  Returns the bytes
 * consumed (a multiple of 128, at least 128) and the 128-bit state.
 */
__attribute__((target("avx2,vpclmulqdq,pclmul"))) static inline __m256i
fold256(__m256i a, __m256i k, __m256i b)
{
	__m256i lo = _mm256_clmulepi64_epi128(a, k, 0x00);
	__m256i hi = _mm256_clmulepi64_epi128(a, k, 0x11);

	return _mm256_xor_si256(_mm256_xor_si256(lo, hi), b);
}

/* A 32-byte load, also stored to @to unless that is NULL (load512). */
__attribute__((target("avx2,vpclmulqdq,pclmul"))) static inline __m256i
load256(const uint8_t *p, uint8_t *to)
{
	__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)p);

	if (to)
		_mm256_storeu_si256((__m256i *)(void *)to, v);
	return v;
}

__attribute__((target("avx2,vpclmulqdq,pclmul"),
	       always_inline)) static inline size_t
fold_vpclmul256_to(__m128i head, const uint8_t *p, size_t len, __m128i *state,
		   uint8_t *to)
{
	__m256i k4 = _mm256_broadcastsi128_si256(
		_mm_loadu_si128((const __m128i *)(const void *)k1024));
	__m256i k1 = _mm256_broadcastsi128_si256(
		_mm_loadu_si128((const __m128i *)(const void *)k256));
	__m128i k0 = _mm_loadu_si128((const __m128i *)(const void *)k128);
	__m256i x0 =
		_mm256_xor_si256(load256(p, to), _mm256_zextsi128_si256(head));
	__m256i x1 = load256(p + 32, to ? to + 32 : NULL);
	__m256i x2 = load256(p + 64, to ? to + 64 : NULL);
	__m256i x3 = load256(p + 96, to ? to + 96 : NULL);
	size_t n;

	for (n = 128; len - n >= 128; n += 128) {
		uint8_t *t = to ? to + n : NULL;

		x0 = fold256(x0, k4, load256(p + n, t));
		x1 = fold256(x1, k4, load256(p + n + 32, t ? t + 32 : NULL));
		x2 = fold256(x2, k4, load256(p + n + 64, t ? t + 64 : NULL));
		x3 = fold256(x3, k4, load256(p + n + 96, t ? t + 96 : NULL));
	}
	x0 = fold256(fold256(fold256(x0, k1, x1), k1, x2), k1, x3);
	*state = fold(_mm256_castsi256_si128(x0), k0,
		      _mm256_extracti128_si256(x0, 1));
	return n;
}

__attribute__((target("avx2,vpclmulqdq,pclmul"))) static size_t
fold_vpclmul256(__m128i head, const uint8_t *p, size_t len, __m128i *state)
{
	return fold_vpclmul256_to(head, p, len, state, NULL);
}

__attribute__((target("avx2,vpclmulqdq,pclmul"))) static size_t
fold_vpclmul256_copy(__m128i head, const uint8_t *p, size_t len, __m128i *state,
		     uint8_t *to)
{
	return fold_vpclmul256_to(head, p, len, state, to);
}

bool srxe_crc32_fold_available(void)
{
	pthread_once(&fold_once, fold_init);
	return have_clmul;
}

__attribute__((target("pclmul,sse2"))) size_t
srxe_crc32_fold(uint32_t reg, const uint8_t *p, size_t len, uint8_t out[16])
{
	if (len < 16 || !srxe_crc32_fold_available())
		return 0;
	return fold_clmul(_mm_cvtsi32_si128((int)reg), p, len, out);
}

/* The state stands 128 bits before p's first block: state * x^128 goes
 * into that block (a fold onto zero). */
__attribute__((target("pclmul,sse2"))) size_t
srxe_crc32_fold_more(const uint8_t state[16], const uint8_t *p, size_t len,
		     uint8_t out[16])
{
	__m128i k1;

	if (len < 16 || !srxe_crc32_fold_available())
		return 0;
	k1 = _mm_loadu_si128((const __m128i *)(const void *)k128);
	return fold_clmul(fold(load(state), k1, _mm_setzero_si128()), p, len,
			  out);
}

/*
 * srxe_crc32_fold_more() that also copies, where a VPCLMULQDQ loop (512-
 * or 256-bit) can store what it loads.  With PCLMULQDQ alone the caller
 * copies and folds apart: a copy and a fold in one call cost 4-8% more
 * there than apart (perftest/crc32_speed).
 */
bool srxe_crc32_fold_copy_available(void)
{
	return srxe_crc32_fold_available() && have_vpclmul256;
}

__attribute__((target("pclmul,sse2"))) size_t
srxe_crc32_fold_copy(const uint8_t state[16], uint8_t *dst, const uint8_t *src,
		     size_t len, uint8_t out[16])
{
	__m128i k1, x;
	size_t n;

	if (len < 256 || !srxe_crc32_fold_copy_available())
		return 0;
	k1 = _mm_loadu_si128((const __m128i *)(const void *)k128);
	x = fold(load(state), k1, _mm_setzero_si128());
	n = have_vpclmul ? fold_vpclmul_copy(x, src, len, &x, dst)
			 : fold_vpclmul256_copy(x, src, len, &x, dst);
	for (; len - n >= 16; n += 16) {
		_mm_storeu_si128((__m128i *)(void *)(dst + n), load(src + n));
		x = fold(x, k1, load(src + n));
	}
	_mm_storeu_si128((__m128i *)(void *)out, x);
	return n;
}

/*
 * The 16 bytes are M = L*x^64 + H (L: the low qword, the earlier bytes);
 * the register from 0 over them is M*x^32 mod P.  In the lane notation
 * above (bit t of 128 is x^(127-t); a product gains one degree):
 *   T = L*(x^95 mod P)*x + H*x^32        degree <= 95, in bits 32..127
 *   V = T_hi*(x^63 mod P)*x + T_lo      T_hi: bits 32..63, V: high qword
 *   q = floor(A*mu / x^32)              A: V's top 32 coefficients,
 *   R = V + q*P  (mod x^32)             mu = floor(x^64 / P): Barrett.
 * The shifts put each product's coefficients back where the next
 * operand or the reflected 32-bit register wants them.  All of it stays
 * in vector registers: moving each product to general registers and back
 * was most of its time (14 ns a packet, in the ICRC of each).
 */
__attribute__((target("pclmul,sse2"))) uint32_t
srxe_crc32_fold_reduce(const uint8_t folded[16])
{
	const __m128i low32 = _mm_set_epi32(0, 0, 0, -1);
	const __m128i high32 = _mm_set_epi32(0, 0, -1, 0);
	__m128i k = _mm_loadu_si128((const __m128i *)(const void *)k_reduce);
	__m128i b = _mm_loadu_si128((const __m128i *)(const void *)k_barrett);
	__m128i m = load(folded), t, v, q, r;

	/* T = L * r95 + H * x^32 (H moved up by 32 bits) */
	t = _mm_xor_si128(_mm_clmulepi64_si128(m, k, 0x00),
			  _mm_slli_si128(_mm_srli_si128(m, 8), 4));
	/* V, the high qword of T_lo * r63 + T */
	v = _mm_xor_si128(_mm_clmulepi64_si128(t, k, 0x10), t);
	/* q = (V mod x^32) * mu; then q's top half (shifted for the
	 * reflection) times P */
	q = _mm_clmulepi64_si128(_mm_and_si128(_mm_srli_si128(v, 8), low32), b,
				 0x00);
	q = _mm_and_si128(_mm_slli_epi64(q, 1), high32);
	r = _mm_srli_epi64(_mm_clmulepi64_si128(q, b, 0x10), 31);
	return (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(v, 12)) ^
	       (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(r, 8));
}

#else /* no PCLMULQDQ: the table does everything */

bool srxe_crc32_fold_available(void)
{
	return false;
}

size_t srxe_crc32_fold(uint32_t reg, const uint8_t *p, size_t len,
		       uint8_t out[16])
{
	(void)reg;
	(void)p;
	(void)len;
	(void)out;
	return 0;
}

uint32_t srxe_crc32_fold_reduce(const uint8_t folded[16])
{
	(void)folded;
	return 0;
}

size_t srxe_crc32_fold_more(const uint8_t state[16], const uint8_t *p,
			    size_t len, uint8_t out[16])
{
	(void)state;
	(void)p;
	(void)len;
	(void)out;
	return 0;
}

bool srxe_crc32_fold_copy_available(void)
{
	return false;
}

size_t srxe_crc32_fold_copy(const uint8_t state[16], uint8_t *dst,
			    const uint8_t *src, size_t len, uint8_t out[16])
{
	(void)state;
	(void)dst;
	(void)src;
	(void)len;
	(void)out;
	return 0;
}

#endif
