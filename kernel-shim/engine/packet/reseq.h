/* SPDX-License-Identifier: MIT */
/*
 * Holding RC packets that arrive ahead of the PSN their receiver expects.
 *
 * IBA receivers take packets in PSN order only and answer a gap with a
 * NAK sequence error (responder) or a retry (completer), which costs the
 * sender a go-back-N of everything it has in flight.  Networks reorder
 * (netem, ECMP, queues): a packet that is late by a few milliseconds is
 * overtaken by tens of others.  Keeping a bounded number of early packets
 * lets the receiver wait for the late one and then process the early ones
 * in order, as if they had just arrived; the receiver still declares a
 * loss when the gap lasts (srxe_reseq_gap_is_loss).  What goes on the
 * wire is unchanged: this is receive-side buffering only.
 *
 * Contract:
 *  - packets are held by copy (parsed headers and payload bytes), keyed by
 *    PSN, only within SRXE_RESEQ_WINDOW PSNs after the expected PSN and at
 *    most SRXE_RESEQ_MAX_HELD at a time;
 *  - storage is allocated on first use and released by srxe_reseq_clear
 *    (QP reset and destroy);
 *  - entries left behind by a rewind (PSN already passed) are reclaimed
 *    when room is needed.
 */
#ifndef SRXE_ENGINE_RESEQ_H
#define SRXE_ENGINE_RESEQ_H

#include <stdbool.h>
#include <stdint.h>

#include "decode.h"
#include "translate.h" /* struct srxe_sg */

#define SRXE_RESEQ_WINDOW 2048u
/* More than a sender's window at path MTU 4096 (512 packets, requester.c
 * max_unacked), so that everything sent behind a lost packet can wait for
 * its resend; at smaller MTUs what came after the 768th is resent. */
#define SRXE_RESEQ_MAX_HELD 768u
/*
 * A gap with this many packets held behind it, or with a packet this many
 * PSNs after it, is a loss, not a reorder.  The distance matters for
 * requests that use many PSNs each (a READ of 16 responses): a lost READ
 * request is followed by few packets.  Both stay below the sender's
 * window (at least 512, requester.c max_unacked), or only the sender's
 * timer would recover.
 */
#define SRXE_RESEQ_LOSS_HELD 96u
#define SRXE_RESEQ_LOSS_DIST 256

struct srxe_reseq_ent {
	struct srxe_pkt pkt; /* pkt.payload points at data */
	struct srxe_sg chunk;
	uint8_t data[];
};

struct srxe_reseq {
	struct srxe_reseq_ent **slot; /* SRXE_RESEQ_WINDOW, by PSN */
	uint32_t held;
};

/*
 * Keeps a copy of @pkt (PSN after @expected).  false: not held (outside
 * the window, no room, out of memory) -- the caller treats it as lost.
 * A PSN already held is not copied again (true).
 */
bool srxe_reseq_hold(struct srxe_reseq *r, uint32_t expected,
		     const struct srxe_pkt *pkt, const struct srxe_sg *payload,
		     int nchunks);

/* The held packet of @psn, removed from @r (free() it), or NULL. */
struct srxe_reseq_ent *srxe_reseq_take(struct srxe_reseq *r, uint32_t psn);

/* true when a gap at @expected should be reported as a loss now. */
bool srxe_reseq_gap_is_loss(const struct srxe_reseq *r, uint32_t expected,
			    uint32_t psn);

/* Frees everything held and the slot array. */
void srxe_reseq_clear(struct srxe_reseq *r);

#endif
