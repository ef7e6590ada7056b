/* SPDX-License-Identifier: MIT */
/*
 * The capture hooks of the data path (engine.c, transport_udp.c): with no
 * capture running each costs one predictable branch (capture.h).  The
 * capture belongs to the engine's core (it attaches under the engine
 * lock): the transports' hook calls it through eng->capture_ip.
 */
#ifndef SRXE_ENGINE_CAPTURE_HOOK_H
#define SRXE_ENGINE_CAPTURE_HOOK_H

#include "capture.h"
#include "eng_int.h"

/* Producers (engine lock held). */
void srxe_capture_ip(struct srxe_capture *c, const uint8_t *ip, size_t len,
		     bool received);
void srxe_capture_local(struct srxe_capture *c, const struct srxe_tx_pkt *pkt,
			const struct srxe_dest *dst);

/* The hooks the data path calls: one branch when no capture runs. */
static inline void srxe_cap_wire(struct srxe_engine *eng, const uint8_t *ip,
				 size_t len, bool received)
{
	if (__builtin_expect(eng->dev->capture != NULL, 0))
		eng->capture_ip(eng->dev->capture, ip, len, received);
}

static inline void srxe_cap_local(struct srxe_engine *eng,
				  const struct srxe_xport *t,
				  const struct srxe_tx_pkt *pkt,
				  const struct srxe_dest *dst)
{
	if (__builtin_expect(eng->dev->capture != NULL, 0) && t == &eng->local)
		srxe_capture_local(eng->dev->capture, pkt, dst);
}

#endif /* SRXE_ENGINE_CAPTURE_HOOK_H */
