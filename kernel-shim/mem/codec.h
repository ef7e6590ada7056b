/* SPDX-License-Identifier: MIT */
/*
 * Shortcut codec: a keyed permutation of 32-bit values, one instance per
 * client context.  It turns a shortcut plaintext (descriptor, level, slot,
 * generation) into the lkey/rkey handed to the application and back.
 *
 * Construction: 8-round balanced Feistel network on 16-bit halves.  Each
 * round function mixes the half with a 64-bit round subkey through a
 * multiply/xor-shift finalizer (murmur3 fmix64) and keeps the top 16 bits.
 * Subkeys are derived from a 128-bit secret and the key kind, so lkeys and
 * rkeys come from two unrelated permutations: an lkey presented as an rkey
 * decodes to an unrelated plaintext.  O(1), no allocation, no branches on
 * secret data.
 *
 * The secret never leaves this struct: there is deliberately no accessor,
 * and srxe_codec_wipe() clears it.  The round function is a fast keyed mix,
 * not a proven PRF; see docs/translation.md for what that means.
 */
#ifndef SRXE_MEM_CODEC_H
#define SRXE_MEM_CODEC_H

#include <stdint.h>

#define SRXE_CODEC_ROUNDS 8

enum srxe_key_kind {
	SRXE_KEY_LOCAL = 0,
	SRXE_KEY_REMOTE = 1,
	SRXE_KEY_WINDOW = 2, /* 24-bit memory-window tags (mw.h) */
};

struct srxe_codec {
	uint64_t subkey[3][SRXE_CODEC_ROUNDS];
	/*
	 * Last decode per kind, key << 32 | plaintext (0: empty), accessed
	 * with __atomic so that a racing reader sees a whole pair.  The
	 * datapath decodes the same lkey/rkey for every packet of a message;
	 * the 8 dependent multiply rounds cost a third of the engine's time
	 * at 64 KiB (docs/benchmarks.md).  Wiped with the secret.
	 */
	uint64_t last[2];
};

/* Fresh secret from getrandom(); 0 or -errno. */
int srxe_codec_init_random(struct srxe_codec *codec);
/* Deterministic secret (tests, benchmarks). */
void srxe_codec_init_secret(struct srxe_codec *codec, const uint64_t secret[2]);
void srxe_codec_wipe(struct srxe_codec *codec);

uint32_t srxe_codec_encode(const struct srxe_codec *codec,
			   enum srxe_key_kind kind, uint32_t plain);
uint32_t srxe_codec_decode(const struct srxe_codec *codec,
			   enum srxe_key_kind kind, uint32_t key);

/*
 * The same construction on 24-bit values (12-bit halves) with the window
 * subkeys: a memory window's rkey is tag << 8 | key byte, where the key
 * byte belongs to the consumer (IBA 10.6.7) and the tag is this
 * permutation of the window's (index, generation).  Bits above 23 of the
 * argument are ignored.
 */
uint32_t srxe_codec_encode24(const struct srxe_codec *codec, uint32_t plain);
uint32_t srxe_codec_decode24(const struct srxe_codec *codec, uint32_t tag);

/*
 * Shortcut plaintext layout, most significant first:
 *   descriptor index 16 | level - 1 : 2 | protection slot 8 | generation 6
 */
#define SRXE_SC_DESC_BITS  16
#define SRXE_SC_LEVEL_BITS 2
#define SRXE_SC_SLOT_BITS  8
#define SRXE_SC_GEN_BITS   6

struct srxe_shortcut {
	uint32_t desc;
	uint32_t level; /* 1..4 */
	uint32_t slot;
	uint32_t gen;
};

static inline uint32_t srxe_shortcut_pack(const struct srxe_shortcut *sc)
{
	return sc->desc << 16 | (sc->level - 1) << 14 | sc->slot << 6 | sc->gen;
}

static inline struct srxe_shortcut srxe_shortcut_unpack(uint32_t plain)
{
	return (struct srxe_shortcut){
		.desc = plain >> 16,
		.level = ((plain >> 14) & 3) + 1,
		.slot = (plain >> 6) & 0xff,
		.gen = plain & 0x3f,
	};
}

#endif /* SRXE_MEM_CODEC_H */
