/* SPDX-License-Identifier: MIT */
/*
 * Deterministic network faults on the same-host transport, for tests of
 * the reliability protocol: a filter sees every packet the same-host
 * transport is about to deliver and says whether it arrives normally, is
 * lost, arrives twice, or arrives late (after the next packet that
 * arrives normally: two packets swap places).  The state machines and
 * the packets are the real ones; only delivery is changed, as a lossy
 * network would change it.  With no filter installed (srxed never
 * installs one) delivery costs one predictable branch more.
 */
#ifndef SRXE_ENGINE_FAULT_H
#define SRXE_ENGINE_FAULT_H

#include <stdbool.h>
#include <stdint.h>

struct srxe_engine;

enum srxe_fault_action {
	SRXE_FAULT_PASS,
	SRXE_FAULT_DROP,
	SRXE_FAULT_DUP,	  /* delivered twice in a row */
	SRXE_FAULT_DELAY, /* delivered after the next passing packet */
};

/* What the filter sees of a packet. */
struct srxe_fault_info {
	uint64_t seq; /* packets the filter saw before this one */
	uint8_t opcode;
	bool ackreq;
	uint32_t psn, dqpn, src_qpn;
	uint32_t payload_len;
	uint8_t syndrome; /* AETH syndrome, 0 without AETH */
};

/* Runs on the engine thread with the engine lock held. */
typedef enum srxe_fault_action (*srxe_fault_fn)(
	void *opaque, const struct srxe_fault_info *pkt);

/*
 * Installs @fn (NULL: removes the filter; packets it still delays are
 * discarded, as lost).  Takes the engine lock.  Returns 0 or -ENOMEM.
 */
int srxe_engine_set_fault(struct srxe_engine *eng, srxe_fault_fn fn,
			  void *opaque);

#endif
