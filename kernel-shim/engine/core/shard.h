/* SPDX-License-Identifier: MIT */
/*
 * Engine threads of one device (shard.c): where a context is served, how
 * a packet reaches a QP another thread serves, and the locks.
 *
 * Contract:
 *  - A thread's lock guards its contexts and its own fields; it is taken
 *    with srxe_shard_lock (blocking) only by a thread holding no other
 *    engine lock, and otherwise only tried (the hand-off): no deadlock.
 *  - srxe_shard_lock_all / unlock_all are srxe_engine_lock / unlock:
 *    every thread's lock in index order; unlock_all first moves the
 *    contexts srxe_ctx_pin_first marked, then wakes sleeping threads.
 *  - Placement and moves (place, attach, detach, pair, pins) run with
 *    every lock held.  A move (pair, pins) delivers, in order, what the
 *    old thread's inbox held for the moving context's QPs, before any
 *    thread runs again: a packet queued before the move is never
 *    overtaken by one sent after it.
 *  - srxe_shard_handoff is the port eng->handoff: the caller holds
 *    @eng's lock; the packet is delivered before it returns or queued
 *    (copied) in @to's inbox, in order with earlier hand-offs to @to.
 *  - srxe_shard_inbox_run delivers queued packets; the caller holds the
 *    thread's lock and is not inside a delivery (a pass's start).
 */
#ifndef SRXE_ENGINE_SHARD_H
#define SRXE_ENGINE_SHARD_H

#include "eng_int.h"

void srxe_shard_lock(struct srxe_engine *s);
void srxe_shard_unlock(struct srxe_engine *s);
void srxe_shard_lock_all(struct srxe_engine *dev);
void srxe_shard_unlock_all(struct srxe_engine *dev);

/* The thread a new context goes to: the one with fewest contexts. */
struct srxe_engine *srxe_shard_place(struct srxe_engine *dev);
/* Links @ctx to @s's contexts (its doorbell is the caller's). */
void srxe_shard_attach(struct srxe_engine *s, struct srxe_eng_ctx *ctx);
void srxe_shard_detach(struct srxe_eng_ctx *ctx);
/* Moves pinned contexts to the first thread (unlock_all does it). */
void srxe_shard_pins(struct srxe_engine *dev);
/* A QP of @a connected to one of @b: bring them onto one thread. */
void srxe_shard_pair(struct srxe_eng_ctx *a, struct srxe_eng_ctx *b);

void srxe_shard_handoff(struct srxe_engine *eng, struct srxe_engine *to,
			const struct srxe_pkt *pkt,
			const struct srxe_sg *payload, int nchunks);
/* Delivers up to a budget of queued packets; returns how many. */
unsigned int srxe_shard_inbox_run(struct srxe_engine *s);
/* Frees what is still queued (the engine stops). */
void srxe_shard_inbox_free(struct srxe_engine *s);

#endif
