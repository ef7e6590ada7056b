// SPDX-License-Identifier: MIT
/*
 * The PCLMULQDQ CRC-32 fold (engine/packet/crc32_fold.h) against a bitwise
 * reference written from the definition: every length 16..600 and long
 * packet-sized runs, every start alignment, chained registers, and the
 * public srxe_crc32()/ICRC that use it.  On a CPU without PCLMULQDQ the
 * fold tests are skipped with the reason (the table path is covered by
 * test_wire_icrc).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/packet/crc32_fold.h"
#include "engine/packet/icrc.h"
#include "mem/translate.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint32_t rnd32(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* The raw register, one bit at a time (reflected 0xEDB88320). */
static uint32_t ref_reg(uint32_t reg, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		reg ^= p[i];
		for (int b = 0; b < 8; b++)
			reg = reg & 1 ? (reg >> 1) ^ 0xedb88320u : reg >> 1;
	}
	return reg;
}

/* Register over p[0..len) the way the contract says the caller does it. */
static uint32_t via_fold(uint32_t reg, const uint8_t *p, size_t len)
{
	uint8_t out[16];
	size_t n = srxe_crc32_fold(reg, p, len, out);

	cr_assert(n >= 16 && n <= len && n % 16 == 0, "len %zu: consumed %zu",
		  len, n);
	return ref_reg(ref_reg(0, out, 16), p + n, len - n);
}

static void need_fold(void)
{
	if (!srxe_crc32_fold_available())
		cr_skip_test("this CPU has no PCLMULQDQ: table path only");
}

static uint8_t buf[9000 + 64];

Test(wire_crc32_fold, every_short_length_and_alignment, .init = need_fold)
{
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd32();
	for (size_t off = 0; off < 16; off++)
		for (size_t len = 16; len <= 600; len++) {
			uint32_t reg = rnd32();

			cr_assert_eq(via_fold(reg, buf + off, len),
				     ref_reg(reg, buf + off, len),
				     "off %zu len %zu", off, len);
		}
}

Test(wire_crc32_fold, packet_sizes_and_patterns, .init = need_fold)
{
	static const size_t lens[] = { 1024 + 16, 1024 + 32, 2048 + 28,
				       4096 + 16, 4096 + 32, 4096 + 44,
				       8192,	  9000 };
	static const uint8_t fills[] = { 0x00, 0xff, 0x5a };

	for (size_t f = 0; f < 4; f++) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = f < 3 ? fills[f] : (uint8_t)rnd32();
		for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
			for (uint32_t reg = 0; reg < 3; reg++) {
				uint32_t r = reg == 2 ? rnd32() : -reg;

				cr_assert_eq(via_fold(r, buf + l, lens[l]),
					     ref_reg(r, buf + l, lens[l]),
					     "fill %zu len %zu reg %u", f,
					     lens[l], reg);
			}
	}
}

Test(wire_crc32_fold, refuses_short_input_untouched)
{
	uint8_t out[16];

	memset(out, 0x77, sizeof(out));
	cr_assert_eq(srxe_crc32_fold(0, buf, 15, out), 0);
	cr_assert_eq(srxe_crc32_fold(0, buf, 0, out), 0);
	for (size_t i = 0; i < sizeof(out); i++)
		cr_assert_eq(out[i], 0x77);
}

/* The public CRC takes the fold for long runs: same answers as the
 * definition, including a million-byte known answer. */
Test(wire_crc32_fold, public_crc32_uses_it_correctly)
{
	static uint8_t big[1 << 20];

	for (size_t len = 0; len < 9000; len += 1 + len / 5) {
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd32();
		cr_assert_eq(srxe_crc32(0, buf, len), ~ref_reg(~0u, buf, len),
			     "len %zu", len);
	}
	/* A megabyte: many four-lane rounds. */
	memset(big, 'a', sizeof(big));
	cr_assert_eq(srxe_crc32(0, big, sizeof(big)),
		     ~ref_reg(~0u, big, sizeof(big)));
}

/* A message in two buffers, the first a multiple of 16 long, folded as one
 * (srxe_crc32_fold_more: the ICRC's masked headers, then the payload). */
Test(wire_crc32_fold, two_buffers_fold_as_one, .init = need_fold)
{
	static uint8_t pre[256];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd32();
	for (size_t i = 0; i < sizeof(pre); i++)
		pre[i] = (uint8_t)rnd32();
	for (size_t pre_len = 16; pre_len <= sizeof(pre); pre_len += 16)
		for (size_t len = 16; len <= 4200; len += len < 600 ? 1 : 97) {
			uint32_t reg = rnd32();
			uint8_t state[16], out[16];
			size_t n;

			cr_assert_eq(srxe_crc32_fold(reg, pre, pre_len, state),
				     pre_len);
			n = srxe_crc32_fold_more(state, buf + 3, len, out);
			cr_assert(n >= 16 && n <= len && n % 16 == 0,
				  "len %zu: consumed %zu", len, n);
			cr_assert_eq(ref_reg(ref_reg(0, out, 16), buf + 3 + n,
					     len - n),
				     ref_reg(ref_reg(reg, pre, pre_len),
					     buf + 3, len),
				     "pre %zu len %zu", pre_len, len);
		}
}

/* The reduction of the 16 folded bytes equals the bitwise register from 0
 * over them: edge patterns (single bits in each position, all ones) and
 * random blocks, also blocks the fold itself wrote. */
Test(wire_crc32_fold, reduce_equals_the_register_over_16_bytes,
     .init = need_fold)
{
	uint8_t b[16], out[16];

	memset(b, 0, sizeof(b));
	cr_assert_eq(srxe_crc32_fold_reduce(b), 0u);
	for (int bit = 0; bit < 128; bit++) {
		memset(b, 0, sizeof(b));
		b[bit / 8] = (uint8_t)(1u << (bit % 8));
		cr_assert_eq(srxe_crc32_fold_reduce(b), ref_reg(0, b, 16),
			     "bit %d", bit);
	}
	memset(b, 0xff, sizeof(b));
	cr_assert_eq(srxe_crc32_fold_reduce(b), ref_reg(0, b, 16));
	for (int i = 0; i < 100000; i++) {
		for (size_t j = 0; j < sizeof(b); j++)
			b[j] = (uint8_t)rnd32();
		cr_assert_eq(srxe_crc32_fold_reduce(b), ref_reg(0, b, 16),
			     "random block %d", i);
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd32();
	for (size_t len = 16; len <= 4200; len += 61) {
		uint32_t reg = rnd32();
		size_t n = srxe_crc32_fold(reg, buf, len, out);

		cr_assert_eq(
			ref_reg(srxe_crc32_fold_reduce(out), buf + n, len - n),
			ref_reg(reg, buf, len), "len %zu", len);
	}
}

/* The fold that copies: the same state as srxe_crc32_fold_more(), the
 * bytes it consumed copied, nothing past them written; or, where it
 * cannot do both in one pass, nothing at all. */
Test(wire_crc32_fold, fold_copy_copies_exactly_what_it_folds, .init = need_fold)
{
	static uint8_t dst[4200 + 64];
	uint8_t state[16], want[16], got[16];
	/* a VPCLMULQDQ path, which every mode but 128 takes where it exists */
	const char *mode = getenv("SRXE_CRC32_FOLD");
	bool one_pass;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rnd32();
	cr_assert_eq(srxe_crc32_fold(rnd32(), buf + 5000, 48, state), 48u);
	one_pass = srxe_crc32_fold_copy(state, dst, buf, 256, got) == 256;
	cr_assert(one_pass || (mode && !strcmp(mode, "128")) ||
			  !__builtin_cpu_supports("avx2") ||
			  !__builtin_cpu_supports("vpclmulqdq"),
		  "VPCLMULQDQ here, but no one-pass fold and copy");
	for (size_t len = 16; len <= 4200; len += len < 600 ? 1 : 97) {
		size_t n, m;

		memset(dst, 0xa5, sizeof(dst));
		n = srxe_crc32_fold_more(state, buf + 1, len, want);
		m = srxe_crc32_fold_copy(state, dst + 3, buf + 1, len, got);
		/* 0: this CPU or mode copies and folds apart */
		cr_assert(m == n || (m == 0 && (len < 256 || !one_pass)),
			  "len %zu: %zu", len, m);
		if (m)
			cr_assert_arr_eq(got, want, 16, "len %zu", len);
		cr_assert_arr_eq(dst + 3, buf + 1, m, "len %zu", len);
		for (size_t i = 0; i < sizeof(dst); i++)
			if (i < 3 || i >= 3 + m)
				cr_assert_eq(dst[i], 0xa5, "len %zu: byte %zu",
					     len, i);
	}
	cr_assert_eq(srxe_crc32_fold_copy(state, dst, buf, 15, got), 0u);
}

/* A packet of @ip_len header bytes (IPv4 or IPv6), @ext extension header
 * bytes behind the BTH and @payload payload bytes (and their pad) in
 * @pkt; the UDP part's length. */
static size_t sealable_packet(uint8_t *pkt, size_t ip_len, size_t ext,
			      size_t payload)
{
	size_t udp_len = 8 + 12 + ext + payload + (-payload & 3) + 4;

	for (size_t i = 0; i < ip_len + udp_len; i++)
		pkt[i] = (uint8_t)rnd32();
	pkt[0] = ip_len == 40 ? 0x60 : (uint8_t)(0x40 | ip_len / 4);
	memset(pkt + ip_len + udp_len - 4 - (-payload & 3), 0, -payload & 3);
	return udp_len;
}

/* srxe_icrc_seal_gather() writes the bytes and the ICRC that a gather and
 * srxe_icrc_seal() write: headers with and without whole 16-byte blocks,
 * chunks of every shape (one, whole blocks, odd lengths, many small). */
Test(wire_crc32_fold, seal_gather_equals_gather_then_seal)
{
	static const size_t ip_lens[] = { 20, 24, 40 };
	static const size_t exts[] = { 0, 4, 16, 28 };
	static const size_t payloads[] = { 0,	1,    17,   63,	  64,  255,
					   256, 1023, 1024, 2000, 4096 };
	static const uint32_t splits[] = { 0, 2048, 512, 100, 7 };
	static uint8_t want[4300], got[4300], src[4096];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)rnd32();
	for (size_t a = 0; a < 3; a++)
		for (size_t e = 0; e < 4; e++)
			for (size_t p = 0; p < 11; p++)
				for (size_t s = 0; s < 5; s++) {
					size_t ip_len = ip_lens[a];
					size_t len = payloads[p];
					size_t off = 8 + 12 + exts[e];
					size_t udp_len = sealable_packet(
						want, ip_len, exts[e], len);
					struct srxe_sg sg[600];
					int n = 0;

					for (uint32_t o = 0; o < len; n++) {
						uint32_t c = splits[s]
								     ? splits[s]
								     : 4096;

						sg[n].addr = src + o;
						sg[n].len =
							c < len - o
								? c
								: (uint32_t)(len -
									     o);
						o += sg[n].len;
					}
					memcpy(got, want, ip_len + udp_len);
					memset(got + ip_len + off, 0x33, len);
					memcpy(want + ip_len + off, src, len);
					cr_assert_eq(
						srxe_icrc_seal(want, ip_len,
							       want + ip_len,
							       udp_len),
						0);
					cr_assert_eq(srxe_icrc_seal_gather(
							     got, ip_len,
							     got + ip_len,
							     udp_len, off, sg,
							     n, len),
						     0);
					cr_assert_arr_eq(got, want,
							 ip_len + udp_len,
							 "ip %zu ext %zu "
							 "payload %zu split %u",
							 ip_len, exts[e], len,
							 splits[s]);
				}
}

Test(wire_crc32_fold, seal_gather_refuses_a_payload_that_does_not_fit)
{
	static uint8_t pkt[2000], src[2000];
	struct srxe_sg sg = { .addr = src, .len = 1000 };
	size_t udp_len = sealable_packet(pkt, 20, 0, 1000);

	cr_assert_eq(srxe_icrc_seal_gather(pkt, 20, pkt + 20, udp_len, 20, &sg,
					   1, 1001),
		     -EINVAL);
	cr_assert_eq(srxe_icrc_seal_gather(pkt, 20, pkt + 20, udp_len, 12, &sg,
					   1, 1000),
		     -EINVAL);
}
