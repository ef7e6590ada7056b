// SPDX-License-Identifier: MIT
#include "icrc.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "crc32_fold.h"
#include "translate.h"
#include "wire.h"

#define CRC32_POLY_REFLECTED 0xedb88320u
#define CRC32_SLICES	     8
/* Shorter runs (the masked headers) are cheaper by table. */
#define FOLD_MIN_LEN 64

#define IPV4_MIN_LEN	20
#define IPV4_MAX_LEN	60
#define IPV6_LEN	40
#define UDP_LEN		8
#define LRH_STANDIN_LEN 8
#define MASKED_PREFIX_MAX                                                      \
	(LRH_STANDIN_LEN + IPV4_MAX_LEN + UDP_LEN + SRXE_BTH_LEN)
#define IPV4_TOS_OFF	  1
#define IPV4_TTL_OFF	  8
#define IPV4_CSUM_OFF	  10
#define IPV6_HOPLIMIT_OFF 7
#define UDP_CSUM_OFF	  6
#define BTH_RESV8A_OFF	  4

static uint32_t crc_table[CRC32_SLICES][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int bit = 0; bit < 8; bit++)
			c = (c >> 1) ^ (c & 1 ? CRC32_POLY_REFLECTED : 0);
		crc_table[0][i] = c;
	}
	/* Slice k advances a byte through k further zero bytes. */
	for (int k = 1; k < CRC32_SLICES; k++)
		for (int i = 0; i < 256; i++) {
			uint32_t prev = crc_table[k - 1][i];

			crc_table[k][i] =
				(prev >> 8) ^ crc_table[0][prev & 0xff];
		}
}

/* One unaligned little-endian load; the byte-wise srxe_get_le32() is not
 * always merged by the compiler and this loop is the per-byte cost. */
static inline uint32_t load_le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

/* Advances the raw (uninverted) CRC register over @len bytes, by table. */
static uint32_t crc_table_update(uint32_t c, const uint8_t *p, size_t len)
{
	const uint32_t(*t)[256] = crc_table;

	for (; len >= 8; len -= 8, p += 8) {
		uint32_t lo = load_le32(p) ^ c;
		uint32_t hi = load_le32(p + 4);

		c = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^
		    t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^ t[3][hi & 0xff] ^
		    t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^
		    t[0][hi >> 24];
	}
	while (len--)
		c = (c >> 8) ^ t[0][(c ^ *p++) & 0xff];
	return c;
}

/*
 * Advances the raw CRC register over @len bytes.  A packet's payload is
 * folded with PCLMULQDQ where the CPU has it (several times faster than
 * the table, which was the engine's largest cost per packet), and its 16
 * folded bytes reduced the same way; the table does the tail.
 */
static uint32_t crc_update(uint32_t c, const uint8_t *p, size_t len)
{
	uint8_t folded[16];
	size_t n = len >= FOLD_MIN_LEN ? srxe_crc32_fold(c, p, len, folded) : 0;

	if (n) {
		c = srxe_crc32_fold_reduce(folded);
		p += n;
		len -= n;
	}
	return crc_table_update(c, p, len);
}

/*
 * The raw CRC register from ~0 over @pre and then @p.  Where the CPU folds
 * and @pre's length is a multiple of 16 (IPv4: 48 bytes), both are folded
 * as one message, so that only @p's tail goes through the table: per
 * packet the table did the 48 header bytes, the 16 folded bytes of each
 * buffer and the tails, the largest cost of a 1024-byte packet's ICRC
 * (its lookups miss the cache the payload copies flush).
 */
static uint32_t crc_update2(const uint8_t *pre, size_t pre_len,
			    const uint8_t *p, size_t len)
{
	uint8_t state[16], folded[16];
	size_t n;

	if (pre_len % 16 || len < 16 ||
	    srxe_crc32_fold(~0u, pre, pre_len, state) != pre_len)
		return crc_update(crc_update(~0u, pre, pre_len), p, len);
	n = srxe_crc32_fold_more(state, p, len, folded);
	return crc_table_update(srxe_crc32_fold_reduce(folded), p + n, len - n);
}

uint32_t srxe_crc32(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&crc_table_once, crc_table_init);
	return ~crc_update(~crc, buf, len);
}

static bool ip_header_ok(const uint8_t *ip, size_t ip_len)
{
	switch (ip[0] >> 4) {
	case 4:
		return ip_len >= IPV4_MIN_LEN && ip_len <= IPV4_MAX_LEN &&
		       ip_len == (size_t)(ip[0] & 0x0f) * 4;
	case 6:
		return ip_len == IPV6_LEN;
	default:
		return false;
	}
}

static void mask_ip_header(uint8_t *ip)
{
	if (ip[0] >> 4 == 4) {
		ip[IPV4_TOS_OFF] = 0xff;
		ip[IPV4_TTL_OFF] = 0xff;
		ip[IPV4_CSUM_OFF] = 0xff;
		ip[IPV4_CSUM_OFF + 1] = 0xff;
		return;
	}
	/* Keep the version nibble; traffic class and flow label to ones. */
	ip[0] |= 0x0f;
	memset(ip + 1, 0xff, 3);
	ip[IPV6_HOPLIMIT_OFF] = 0xff;
}

/* Writes the masked LRH stand-in, IP, UDP and BTH to @out; returns its
 * length. */
static size_t build_masked_prefix(uint8_t *out, const uint8_t *ip,
				  size_t ip_len, const uint8_t *udp)
{
	uint8_t *p = out;

	memset(p, 0xff, LRH_STANDIN_LEN);
	p += LRH_STANDIN_LEN;
	memcpy(p, ip, ip_len);
	mask_ip_header(p);
	p += ip_len;
	memcpy(p, udp, UDP_LEN + SRXE_BTH_LEN);
	p[UDP_CSUM_OFF] = 0xff;
	p[UDP_CSUM_OFF + 1] = 0xff;
	p[UDP_LEN + BTH_RESV8A_OFF] = 0xff;
	p += UDP_LEN + SRXE_BTH_LEN;
	return (size_t)(p - out);
}

#if defined(__x86_64__)
#include <emmintrin.h>

/*
 * The common case, an option-less IPv4 header right before the UDP header
 * (40 contiguous header bytes): the 48-byte prefix made in registers from
 * three loads (16 bytes at 0 and 16, 8 at 32) and stored as three 16-byte
 * blocks, so that folding them loads each from a single store.
 * build_masked_prefix()'s byte-wise masking made the fold's first loads
 * wait for the store buffer.  rx_gso() writes a segment's headers as
 * 16-byte stores at 0 and 16, so that these loads do not wait either
 * (transport_udp.c).  Byte k of a 64-bit lane is bits 8k..8k+7.
 */
static size_t build_masked_prefix_ipv4(uint8_t *out, const uint8_t *ip)
{
	/* the masked fields, placed in the lanes below */
	const long long tos = 0xffll << 8 * IPV4_TOS_OFF;
	const long long ttl_csum = 0xffll << 8 * (IPV4_TTL_OFF - 8) |
				   0xffffll << 8 * (IPV4_CSUM_OFF - 8);
	const long long udp_csum = 0xffffll
				   << 8 * (IPV4_MIN_LEN + UDP_CSUM_OFF - 24);
	const long long resv8a =
		0xffll << 8 * (IPV4_MIN_LEN + UDP_LEN + BTH_RESV8A_OFF - 32);
	__m128i l0 = _mm_loadu_si128((const __m128i *)(const void *)ip);
	__m128i l1 = _mm_loadu_si128((const __m128i *)(const void *)(ip + 16));
	__m128i l2 = _mm_loadl_epi64((const __m128i *)(const void *)(ip + 32));
	/* ones (the LRH stand-in), then ip[0..8) */
	__m128i b0 =
		_mm_or_si128(_mm_slli_si128(l0, 8), _mm_set_epi64x(tos, -1));
	/* ip[8..24) and ip[24..40) */
	__m128i b1 = _mm_or_si128(
		_mm_or_si128(_mm_srli_si128(l0, 8), _mm_slli_si128(l1, 8)),
		_mm_set_epi64x(0, ttl_csum));
	__m128i b2 = _mm_or_si128(
		_mm_or_si128(_mm_srli_si128(l1, 8), _mm_slli_si128(l2, 8)),
		_mm_set_epi64x(resv8a, udp_csum));

	_mm_storeu_si128((__m128i *)(void *)out, b0);
	_mm_storeu_si128((__m128i *)(void *)(out + 16), b1);
	_mm_storeu_si128((__m128i *)(void *)(out + 32), b2);
	return LRH_STANDIN_LEN + IPV4_MIN_LEN + UDP_LEN + SRXE_BTH_LEN;
}
#endif

/* The masked prefix of @ip and @udp to @prefix; its length. */
static size_t masked_prefix(uint8_t *prefix, const uint8_t *ip, size_t ip_len,
			    const uint8_t *udp)
{
#if defined(__x86_64__)
	if (ip_len == IPV4_MIN_LEN && udp == ip + IPV4_MIN_LEN)
		return build_masked_prefix_ipv4(prefix, ip);
#endif
	return build_masked_prefix(prefix, ip, ip_len, udp);
}

int srxe_icrc_compute(const uint8_t *ip, size_t ip_len, const uint8_t *udp,
		      size_t covered_len, uint32_t *icrc)
{
	const size_t fixed = UDP_LEN + SRXE_BTH_LEN;
	uint8_t prefix[MASKED_PREFIX_MAX];
	size_t prefix_len;
	uint32_t c;

	if (ip_len < 1 || !ip_header_ok(ip, ip_len) || covered_len < fixed)
		return -EINVAL;
	pthread_once(&crc_table_once, crc_table_init);
	prefix_len = masked_prefix(prefix, ip, ip_len, udp);
	c = crc_update2(prefix, prefix_len, udp + fixed, covered_len - fixed);
	*icrc = ~c;
	return 0;
}

/*
 * The fold state after the prefix and the extension headers at @ext
 * (@ext_len bytes), both whole 16-byte blocks (srxe_icrc_seal_gather()
 * only comes here with those, where the CPU folds).
 */
static void fold_headers(const uint8_t *prefix, size_t prefix_len,
			 const uint8_t *ext, size_t ext_len, uint8_t state[16])
{
	srxe_crc32_fold(~0u, prefix, prefix_len, state);
	if (ext_len)
		srxe_crc32_fold_more(state, ext, ext_len, state);
}

/*
 * Copies @len bytes of @src (@n chunks) to @to, folding them into @state
 * while the chunks keep whole blocks; returns how many were folded (a
 * multiple of 16: a chunk of another length ends the folding, and the
 * rest is only copied).
 */
static size_t copy_folding(uint8_t *to, const struct srxe_sg *src, int n,
			   size_t len, uint8_t state[16])
{
	size_t folded = 0, done = 0;
	bool folding = true;

	for (int i = 0; i < n && done < len; i++) {
		size_t take = src[i].len < len - done ? src[i].len : len - done;
		size_t f = 0;

		if (folding)
			f = srxe_crc32_fold_copy(state, to + done, src[i].addr,
						 take, state);
		memcpy(to + done + f, (const uint8_t *)src[i].addr + f,
		       take - f);
		folded += f;
		folding = folding && f == take;
		done += take;
	}
	return folded;
}

/* The copy and the seal apart, where one pass is not to be had. */
static int gather_then_seal(const uint8_t *ip, size_t ip_len, uint8_t *udp,
			    size_t udp_len, size_t payload_off,
			    const struct srxe_sg *src, int nsrc,
			    size_t payload_len)
{
	for (int i = 0; i < nsrc && payload_len; i++) {
		size_t n = src[i].len < payload_len ? src[i].len : payload_len;

		memcpy(udp + payload_off, src[i].addr, n);
		payload_off += n;
		payload_len -= n;
	}
	return srxe_icrc_seal(ip, ip_len, udp, udp_len);
}

int srxe_icrc_seal_gather(const uint8_t *ip, size_t ip_len, uint8_t *udp,
			  size_t udp_len, size_t payload_off,
			  const struct srxe_sg *src, int nsrc,
			  size_t payload_len)
{
	const size_t fixed = UDP_LEN + SRXE_BTH_LEN;
	uint8_t prefix[MASKED_PREFIX_MAX], state[16];
	size_t folded, rest_len;
	uint8_t *rest;
	uint32_t c;

	if (udp_len < SRXE_ICRC_LEN || payload_off < fixed ||
	    payload_off + payload_len > udp_len - SRXE_ICRC_LEN || ip_len < 1 ||
	    !ip_header_ok(ip, ip_len))
		return -EINVAL;
	/* Decided before any work: apart, this must cost what it did.  An
	 * option-less IPv4 header makes a 48-byte masked prefix. */
	if (payload_len < 256 || ip_len != IPV4_MIN_LEN ||
	    (payload_off - fixed) % 16 || !srxe_crc32_fold_copy_available())
		return gather_then_seal(ip, ip_len, udp, udp_len, payload_off,
					src, nsrc, payload_len);
	pthread_once(&crc_table_once, crc_table_init);
	fold_headers(prefix, masked_prefix(prefix, ip, ip_len, udp),
		     udp + fixed, payload_off - fixed, state);
	folded = copy_folding(udp + payload_off, src, nsrc, payload_len, state);
	rest = udp + payload_off + folded;
	rest_len = (size_t)(udp + udp_len - SRXE_ICRC_LEN - rest);
	if (rest_len >= 16) {
		size_t n = srxe_crc32_fold_more(state, rest, rest_len, state);

		rest += n;
		rest_len -= n;
	}
	c = crc_table_update(srxe_crc32_fold_reduce(state), rest, rest_len);
	srxe_icrc_set_trailer(udp + udp_len - SRXE_ICRC_LEN, ~c);
	return 0;
}

bool srxe_icrc_valid(const uint8_t *ip, size_t ip_len, const uint8_t *udp,
		     size_t udp_len)
{
	uint32_t icrc;

	if (udp_len < SRXE_ICRC_LEN)
		return false;
	if (srxe_icrc_compute(ip, ip_len, udp, udp_len - SRXE_ICRC_LEN, &icrc))
		return false;
	return icrc == srxe_icrc_trailer(udp + udp_len - SRXE_ICRC_LEN);
}

int srxe_icrc_seal(const uint8_t *ip, size_t ip_len, uint8_t *udp,
		   size_t udp_len)
{
	uint32_t icrc;
	int ret;

	if (udp_len < SRXE_ICRC_LEN)
		return -EINVAL;
	ret = srxe_icrc_compute(ip, ip_len, udp, udp_len - SRXE_ICRC_LEN,
				&icrc);
	if (ret)
		return ret;
	srxe_icrc_set_trailer(udp + udp_len - SRXE_ICRC_LEN, icrc);
	return 0;
}
