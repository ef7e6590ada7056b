/* SPDX-License-Identifier: MIT */
/*
 * 24-bit packet sequence number arithmetic (IBA 9.7.1).  PSNs wrap at
 * 2^24; two PSNs are compared by their signed 24-bit distance, which is
 * meaningful while they are less than 2^23 apart (the IBA window).
 */
#ifndef SRXE_ENGINE_PSN_H
#define SRXE_ENGINE_PSN_H

#include <stdint.h>

#define SRXE_PSN_BITS 24
#define SRXE_PSN_MOD  (1u << SRXE_PSN_BITS)

static inline uint32_t srxe_psn_add(uint32_t psn, uint32_t n)
{
	return (psn + n) & (SRXE_PSN_MOD - 1);
}

/* a - b as a signed 24-bit distance: < 0 when a is before b. */
static inline int32_t srxe_psn_diff(uint32_t a, uint32_t b)
{
	uint32_t d = (a - b) & (SRXE_PSN_MOD - 1);

	return d & (SRXE_PSN_MOD >> 1) ? (int32_t)d - (int32_t)SRXE_PSN_MOD
				       : (int32_t)d;
}

#endif
