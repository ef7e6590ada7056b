/* SPDX-License-Identifier: MIT */
/*
 * The core (README.md "Layers", layer 5): the engine thread's own
 * functions that control.c and shard.c call in engine.c.
 */
#ifndef SRXE_ENGINE_CORE_H
#define SRXE_ENGINE_CORE_H

#include "eng_int.h"

/* ---- engine.c ---- */
/* Hands the wire its queued packets (one thread at a time). */
void srxe_engine_wire_flush(struct srxe_engine *eng);
/* Wakes the thread from epoll_wait (or makes its next one return). */
void srxe_engine_wake(struct srxe_engine *eng);
/* Doorbell fds in the engine's epoll set (tag: the context id). */
int srxe_engine_watch(struct srxe_engine *eng, int fd, uint64_t tag);
void srxe_engine_unwatch(struct srxe_engine *eng, int fd);
/* One pass over every context: returns how much work it did. */
unsigned int srxe_engine_pass(struct srxe_engine *eng);
/* Earliest timer deadline of any QP (ns), 0 when none. */
uint64_t srxe_engine_next_deadline(struct srxe_engine *eng);

#endif
