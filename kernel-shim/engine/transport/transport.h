/* SPDX-License-Identifier: MIT */
/*
 * The transports layer (README.md "Layers", layer 4): the same-host
 * transport and the tests' fault filter (transport_udp.h has the wire
 * transport).  Used with the engine lock held.
 */
#ifndef SRXE_ENGINE_TRANSPORT_H
#define SRXE_ENGINE_TRANSPORT_H

#include "eng_int.h"

/* ---- fault.c (tests only, fault.h) ---- */
bool srxe_fault_xmit(struct srxe_engine *eng, const struct srxe_tx_pkt *tx,
		     const struct srxe_dest *dst);
/* A filter record for srxe_engine_set_fault (control.c); NULL: no memory. */
struct srxe_fault *srxe_fault_new(srxe_fault_fn fn, void *opaque);
void srxe_fault_free(struct srxe_engine *eng);

/* ---- transport_local.c ---- */
void srxe_local_transport_init(struct srxe_xport *t, struct srxe_engine *eng);
/* Hands @tx to the destination QP on this device; false: no such QP. */
bool srxe_local_deliver(struct srxe_engine *eng, const struct srxe_tx_pkt *tx,
			const struct srxe_dest *dst);

#endif
