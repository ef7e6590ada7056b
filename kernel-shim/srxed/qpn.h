/* SPDX-License-Identifier: MIT */
/*
 * QP numbers, unique across one srxed: peers exchange them out of band and
 * address packets by them, so a number is never given to two live QPs.
 *
 * Contract:
 *  - Numbers are 24-bit, from SRXED_QPN_FIRST (0..0x10 are reserved: 0 and
 *    1 are the IB special QPs, the rest kept clear like rxe does) upward;
 *    the search continues after the last number handed out and wraps, so
 *    a freed number is reused as late as possible.
 *  - alloc is O(1) amortized while far fewer than 2^24 QPs are live (srxed
 *    caps live QPs at max_qp).
 */
#ifndef SRXED_QPN_H
#define SRXED_QPN_H

#include <stdint.h>

#define SRXED_QPN_FIRST 0x11u
#define SRXED_QPN_LIMIT (1u << 24) /* first number that does not exist */

struct srxed_qpns {
	uint64_t *live; /* bit set = number in use; allocated on first use */
	uint32_t next;	/* where the next search starts */
	uint32_t count;
};

/* 0 with *qpn, or -ENOMEM (out of memory or every number live). */
int srxed_qpn_alloc(struct srxed_qpns *q, uint32_t *qpn);
/* Frees a live number; anything else is ignored. */
void srxed_qpn_free(struct srxed_qpns *q, uint32_t qpn);
void srxed_qpns_destroy(struct srxed_qpns *q);

#endif /* SRXED_QPN_H */
