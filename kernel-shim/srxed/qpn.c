// SPDX-License-Identifier: MIT
/* QP number allocation (contract in qpn.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "qpn.h"

#define WORDS (SRXED_QPN_LIMIT / 64)

static bool is_live(const struct srxed_qpns *q, uint32_t n)
{
	return (q->live[n / 64] >> (n % 64)) & 1;
}

int srxed_qpn_alloc(struct srxed_qpns *q, uint32_t *qpn)
{
	uint32_t n, tries;

	if (!q->live) {
		/* 2 MiB of address space; calloc'd pages stay untouched. */
		q->live = calloc(WORDS, sizeof(*q->live));
		if (!q->live)
			return -ENOMEM;
	}
	if (q->next < SRXED_QPN_FIRST || q->next >= SRXED_QPN_LIMIT)
		q->next = SRXED_QPN_FIRST;
	n = q->next;
	for (tries = SRXED_QPN_LIMIT - SRXED_QPN_FIRST; tries; tries--) {
		if (!is_live(q, n))
			break;
		if (++n == SRXED_QPN_LIMIT)
			n = SRXED_QPN_FIRST;
	}
	if (!tries)
		return -ENOMEM;
	q->live[n / 64] |= 1ull << (n % 64);
	q->count++;
	q->next = n + 1;
	*qpn = n;
	return 0;
}

void srxed_qpn_free(struct srxed_qpns *q, uint32_t qpn)
{
	if (!q->live || qpn < SRXED_QPN_FIRST || qpn >= SRXED_QPN_LIMIT ||
	    !is_live(q, qpn))
		return;
	q->live[qpn / 64] &= ~(1ull << (qpn % 64));
	q->count--;
}

void srxed_qpns_destroy(struct srxed_qpns *q)
{
	free(q->live);
	q->live = NULL;
	q->count = 0;
	q->next = 0;
}
