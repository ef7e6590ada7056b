/* SPDX-License-Identifier: MIT */
/*
 * Loads and stores of fixed-width integers at arbitrary (unaligned) byte
 * pointers, in big-endian (network) or little-endian order.
 *
 * Packet headers sit at any offset inside a receive buffer, so every access
 * goes byte by byte; the compiler turns these into single loads plus bswap.
 * The 24-bit variants serve the IBA fields (QPN, PSN, MSN) that are three
 * bytes wide.
 */
#ifndef SRXE_ENGINE_BE_BYTES_H
#define SRXE_ENGINE_BE_BYTES_H

#include <stdint.h>

static inline uint16_t srxe_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t srxe_get_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t srxe_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | srxe_get_be24(p + 1);
}

static inline uint64_t srxe_get_be64(const uint8_t *p)
{
	return (uint64_t)srxe_get_be32(p) << 32 | srxe_get_be32(p + 4);
}

static inline uint32_t srxe_get_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

static inline void srxe_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void srxe_put_be24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)v;
}

static inline void srxe_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	srxe_put_be24(p + 1, v);
}

static inline void srxe_put_be64(uint8_t *p, uint64_t v)
{
	srxe_put_be32(p, (uint32_t)(v >> 32));
	srxe_put_be32(p + 4, (uint32_t)v);
}

static inline void srxe_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

#endif
