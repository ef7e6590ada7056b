// SPDX-License-Identifier: MIT
#include "codec.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* splitmix64 step: spreads the secret into independent-looking subkeys. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void srxe_codec_init_secret(struct srxe_codec *codec, const uint64_t secret[2])
{
	for (int kind = 0; kind < 3; kind++) {
		uint64_t state = secret[0] ^ fmix64(secret[1] + kind + 1);

		for (int r = 0; r < SRXE_CODEC_ROUNDS; r++)
			codec->subkey[kind][r] =
				splitmix64(&state) ^ fmix64(secret[1] ^ state);
		if (kind < 2)
			__atomic_store_n(&codec->last[kind], 0,
					 __ATOMIC_RELAXED);
	}
}

int srxe_codec_init_random(struct srxe_codec *codec)
{
	uint64_t secret[2];
	ssize_t got = getrandom(secret, sizeof(secret), 0);

	if (got != (ssize_t)sizeof(secret))
		return got < 0 ? -errno : -EIO;
	srxe_codec_init_secret(codec, secret);
	explicit_bzero(secret, sizeof(secret));
	return 0;
}

void srxe_codec_wipe(struct srxe_codec *codec)
{
	explicit_bzero(codec, sizeof(*codec));
}

static uint16_t round_fn(uint64_t subkey, uint16_t half)
{
	return (uint16_t)(fmix64(subkey ^ ((uint64_t)half << 32 | half)) >> 48);
}

uint32_t srxe_codec_encode(const struct srxe_codec *codec,
			   enum srxe_key_kind kind, uint32_t plain)
{
	const uint64_t *k = codec->subkey[kind & 1];
	uint16_t left = plain >> 16, right = (uint16_t)plain;

#pragma GCC unroll 8
	for (int r = 0; r < SRXE_CODEC_ROUNDS; r++) {
		uint16_t next = left ^ round_fn(k[r], right);

		left = right;
		right = next;
	}
	return (uint32_t)left << 16 | right;
}

uint32_t srxe_codec_decode(const struct srxe_codec *codec,
			   enum srxe_key_kind kind, uint32_t key)
{
	const uint64_t *k = codec->subkey[kind & 1];
	/* the cache is not part of the codec's value: see struct srxe_codec */
	uint64_t *last = (uint64_t *)&codec->last[kind & 1];
	uint64_t hit = __atomic_load_n(last, __ATOMIC_RELAXED);
	uint16_t left = key >> 16, right = (uint16_t)key;
	uint32_t plain;

	if (key && hit >> 32 == key)
		return (uint32_t)hit;

#pragma GCC unroll 8
	for (int r = SRXE_CODEC_ROUNDS - 1; r >= 0; r--) {
		uint16_t prev = right ^ round_fn(k[r], left);

		right = left;
		left = prev;
	}
	plain = (uint32_t)left << 16 | right;
	if (key)
		__atomic_store_n(last, (uint64_t)key << 32 | plain,
				 __ATOMIC_RELAXED);
	return plain;
}

static uint16_t round_fn12(uint64_t subkey, uint16_t half)
{
	return (uint16_t)(fmix64(subkey ^ ((uint64_t)half << 32 | half)) >> 52);
}

uint32_t srxe_codec_encode24(const struct srxe_codec *codec, uint32_t plain)
{
	const uint64_t *k = codec->subkey[SRXE_KEY_WINDOW];
	uint16_t left = (plain >> 12) & 0xfff, right = plain & 0xfff;

#pragma GCC unroll 8
	for (int r = 0; r < SRXE_CODEC_ROUNDS; r++) {
		uint16_t next = left ^ round_fn12(k[r], right);

		left = right;
		right = next;
	}
	return (uint32_t)left << 12 | right;
}

uint32_t srxe_codec_decode24(const struct srxe_codec *codec, uint32_t tag)
{
	const uint64_t *k = codec->subkey[SRXE_KEY_WINDOW];
	uint16_t left = (tag >> 12) & 0xfff, right = tag & 0xfff;

#pragma GCC unroll 8
	for (int r = SRXE_CODEC_ROUNDS - 1; r >= 0; r--) {
		uint16_t prev = right ^ round_fn12(k[r], left);

		right = left;
		left = prev;
	}
	return (uint32_t)left << 12 | right;
}
