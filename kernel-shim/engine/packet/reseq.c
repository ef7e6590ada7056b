// SPDX-License-Identifier: MIT
#include "reseq.h"

#include <stdlib.h>
#include <string.h>

#include "pkt.h"
#include "psn.h"

static unsigned int slot_of(uint32_t psn)
{
	return psn & (SRXE_RESEQ_WINDOW - 1);
}

/* Drops entries whose PSN the receiver has already passed. */
static void reclaim(struct srxe_reseq *r, uint32_t expected)
{
	for (unsigned int i = 0; i < SRXE_RESEQ_WINDOW && r->held; i++) {
		struct srxe_reseq_ent *e = r->slot[i];

		if (e && srxe_psn_diff(e->pkt.psn, expected) < 0) {
			free(e);
			r->slot[i] = NULL;
			r->held--;
		}
	}
}

static struct srxe_reseq_ent *
copy_pkt(const struct srxe_pkt *pkt, const struct srxe_sg *payload, int nchunks)
{
	struct srxe_reseq_ent *e = malloc(sizeof(*e) + pkt->payload_len);
	struct srxe_sg dst;

	if (!e)
		return NULL;
	e->pkt = *pkt;
	e->chunk.addr = e->data;
	e->chunk.len = pkt->payload_len;
	e->pkt.payload = e->data;
	if (pkt->payload_len) {
		dst = e->chunk;
		srxe_sg_copy(&dst, 1, payload, nchunks, pkt->payload_len);
	}
	return e;
}

bool srxe_reseq_hold(struct srxe_reseq *r, uint32_t expected,
		     const struct srxe_pkt *pkt, const struct srxe_sg *payload,
		     int nchunks)
{
	int32_t d = srxe_psn_diff(pkt->psn, expected);
	struct srxe_reseq_ent **s, *e;

	if (d <= 0 || (uint32_t)d >= SRXE_RESEQ_WINDOW)
		return false;
	if (!r->slot) {
		r->slot = calloc(SRXE_RESEQ_WINDOW, sizeof(*r->slot));
		if (!r->slot)
			return false;
	}
	s = &r->slot[slot_of(pkt->psn)];
	if (*s && (*s)->pkt.psn == pkt->psn)
		return true;
	if (r->held >= SRXE_RESEQ_MAX_HELD)
		reclaim(r, expected);
	if (*s) { /* an older PSN the receiver has passed */
		free(*s);
		*s = NULL;
		r->held--;
	}
	if (r->held >= SRXE_RESEQ_MAX_HELD)
		return false;
	e = copy_pkt(pkt, payload, nchunks);
	if (!e)
		return false;
	*s = e;
	r->held++;
	return true;
}

struct srxe_reseq_ent *srxe_reseq_take(struct srxe_reseq *r, uint32_t psn)
{
	struct srxe_reseq_ent *e;

	if (!r->held)
		return NULL;
	e = r->slot[slot_of(psn)];
	if (!e || e->pkt.psn != psn)
		return NULL;
	r->slot[slot_of(psn)] = NULL;
	r->held--;
	return e;
}

bool srxe_reseq_gap_is_loss(const struct srxe_reseq *r, uint32_t expected,
			    uint32_t psn)
{
	return r->held >= SRXE_RESEQ_LOSS_HELD ||
	       srxe_psn_diff(psn, expected) >= SRXE_RESEQ_LOSS_DIST;
}

void srxe_reseq_clear(struct srxe_reseq *r)
{
	if (r->slot) {
		for (unsigned int i = 0; i < SRXE_RESEQ_WINDOW; i++)
			free(r->slot[i]);
		free(r->slot);
	}
	r->slot = NULL;
	r->held = 0;
}
