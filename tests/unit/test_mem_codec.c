// SPDX-License-Identifier: MIT
/* Shortcut codec: keyed 32-bit permutation, lkey/rkey separation. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "mem/codec.h"

static uint32_t rnd32(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

Test(mem_codec, round_trip_random_plaintexts_both_kinds)
{
	struct srxe_codec c;
	uint64_t s = 0x1234567;

	cr_assert_eq(srxe_codec_init_random(&c), 0);
	for (int i = 0; i < 1000000; i++) {
		uint32_t p = rnd32(&s);
		enum srxe_key_kind k = i & 1;

		cr_assert_eq(
			srxe_codec_decode(&c, k, srxe_codec_encode(&c, k, p)),
			p);
	}
}

/* Encoding 2^20 consecutive plaintexts must give 2^20 distinct keys. */
Test(mem_codec, is_injective_on_a_sample)
{
	struct srxe_codec c;
	const uint32_t n = 1u << 20;
	uint8_t *seen = calloc(1u << 29, 1); /* one bit per 32-bit value */

	cr_assert_not_null(seen);
	cr_assert_eq(srxe_codec_init_random(&c), 0);
	for (uint32_t p = 0; p < n; p++) {
		uint32_t k = srxe_codec_encode(&c, SRXE_KEY_LOCAL, p * 4099u);

		cr_assert_eq(seen[k >> 3] & (1u << (k & 7)), 0,
			     "collision at %u", p);
		seen[k >> 3] |= 1u << (k & 7);
	}
	free(seen);
}

Test(mem_codec, contexts_with_different_secrets_give_different_keys)
{
	struct srxe_codec a, b;
	int same = 0;

	cr_assert_eq(srxe_codec_init_random(&a), 0);
	cr_assert_eq(srxe_codec_init_random(&b), 0);
	for (uint32_t p = 0; p < 100000; p++)
		same += srxe_codec_encode(&a, SRXE_KEY_LOCAL, p) ==
			srxe_codec_encode(&b, SRXE_KEY_LOCAL, p);
	/* A random pair agrees with probability 2^-32 per value. */
	cr_assert_leq(same, 1);
}

Test(mem_codec, lkey_and_rkey_of_one_plaintext_differ)
{
	struct srxe_codec c;
	int same = 0, decodes_back = 0;

	cr_assert_eq(srxe_codec_init_random(&c), 0);
	for (uint32_t p = 0; p < 100000; p++) {
		uint32_t l = srxe_codec_encode(&c, SRXE_KEY_LOCAL, p);

		same += l == srxe_codec_encode(&c, SRXE_KEY_REMOTE, p);
		decodes_back += srxe_codec_decode(&c, SRXE_KEY_REMOTE, l) == p;
	}
	cr_assert_leq(same, 1);
	cr_assert_leq(decodes_back, 1, "an lkey used as rkey is garbage");
}

/* Flipping one plaintext bit changes about half of the key bits. */
Test(mem_codec, avalanche)
{
	struct srxe_codec c;
	uint64_t s = 99, flips = 0, trials = 0;

	cr_assert_eq(srxe_codec_init_random(&c), 0);
	for (int i = 0; i < 20000; i++) {
		uint32_t p = rnd32(&s);
		uint32_t k = srxe_codec_encode(&c, SRXE_KEY_LOCAL, p);

		for (int b = 0; b < 32; b++, trials++)
			flips += __builtin_popcount(
				k ^ srxe_codec_encode(&c, SRXE_KEY_LOCAL,
						      p ^ (1u << b)));
	}
	cr_assert(flips > trials * 15 && flips < trials * 17,
		  "mean flipped bits %.2f", (double)flips / trials);
}

Test(mem_codec, fixed_secret_is_deterministic_and_wipe_clears)
{
	const uint64_t secret[2] = { 1, 2 };
	struct srxe_codec a, b, zero;

	srxe_codec_init_secret(&a, secret);
	srxe_codec_init_secret(&b, secret);
	cr_assert_eq(srxe_codec_encode(&a, SRXE_KEY_LOCAL, 42),
		     srxe_codec_encode(&b, SRXE_KEY_LOCAL, 42));
	srxe_codec_wipe(&a);
	memset(&zero, 0, sizeof(zero));
	cr_assert_eq(memcmp(&a, &zero, sizeof(a)), 0);
}

Test(mem_codec, plaintext_layout_round_trips)
{
	struct srxe_shortcut sc = {
		.desc = 0xbeef, .level = 4, .slot = 0xa5, .gen = 0x2a
	};
	struct srxe_shortcut back =
		srxe_shortcut_unpack(srxe_shortcut_pack(&sc));

	cr_assert_eq(back.desc, sc.desc);
	cr_assert_eq(back.level, sc.level);
	cr_assert_eq(back.slot, sc.slot);
	cr_assert_eq(back.gen, sc.gen);
}
