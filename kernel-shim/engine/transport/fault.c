// SPDX-License-Identifier: MIT
/*
 * Fault injection on the same-host transport (contract in fault.h).
 * Delayed packets are copied, because a transmitted packet's payload
 * chunks are valid only during its xmit call.  Delivery is synchronous
 * and nests (a request's delivery sends the ACK, whose delivery runs the
 * completer): delayed packets are released only by the outermost
 * delivery, so the nesting stays as deep as without faults.
 */
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "transport.h"

#define MAX_DELAYED 8

struct delayed {
	struct srxe_tx_pkt tx;
	struct srxe_dest dst;
	uint8_t data[];
};

struct srxe_fault {
	srxe_fault_fn fn;
	void *opaque;
	uint64_t seq;
	int depth;
	unsigned int ndelayed;
	struct delayed *delayed[MAX_DELAYED];
};

static void drop_delayed(struct srxe_fault *f)
{
	for (unsigned int i = 0; i < f->ndelayed; i++)
		free(f->delayed[i]);
	f->ndelayed = 0;
}

void srxe_fault_free(struct srxe_engine *eng)
{
	if (!eng->dev->fault)
		return;
	drop_delayed(eng->dev->fault);
	free(eng->dev->fault);
	eng->dev->fault = NULL;
}

/* Installed by srxe_engine_set_fault (control.c), under the engine lock. */
struct srxe_fault *srxe_fault_new(srxe_fault_fn fn, void *opaque)
{
	struct srxe_fault *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->fn = fn;
	f->opaque = opaque;
	return f;
}

static void describe(const struct srxe_tx_pkt *tx, uint64_t seq,
		     struct srxe_fault_info *out)
{
	struct srxe_pkt p;

	memset(out, 0, sizeof(*out));
	out->seq = seq;
	out->src_qpn = tx->src_qpn;
	out->payload_len = tx->payload_len;
	if (!srxe_tx_parse(tx, &p))
		return;
	out->opcode = p.opcode;
	out->ackreq = p.ackreq;
	out->psn = p.psn;
	out->dqpn = p.dqpn;
	out->syndrome = p.aeth.syndrome;
}

/* A copy whose single chunk owns the payload bytes. */
static struct delayed *copy_tx(const struct srxe_tx_pkt *tx,
			       const struct srxe_dest *dst)
{
	struct delayed *d = malloc(sizeof(*d) + tx->payload_len);
	struct srxe_sg to;

	if (!d)
		return NULL;
	d->tx = *tx;
	d->dst = *dst;
	to.addr = d->data;
	to.len = tx->payload_len;
	if (tx->payload_len)
		srxe_sg_copy(&to, 1, tx->chunks, tx->nchunks, tx->payload_len);
	d->tx.nchunks = tx->payload_len ? 1 : 0;
	d->tx.chunks[0] = to;
	return d;
}

static void deliver(struct srxe_engine *eng, const struct srxe_tx_pkt *tx,
		    const struct srxe_dest *dst)
{
	struct srxe_fault *f = eng->dev->fault;

	f->depth++;
	srxe_local_deliver(eng, tx, dst);
	f->depth--;
}

static void release_delayed(struct srxe_engine *eng)
{
	struct srxe_fault *f = eng->dev->fault;

	while (f->depth == 0 && f->ndelayed) {
		struct delayed *d = f->delayed[0];

		f->ndelayed--;
		memmove(f->delayed, f->delayed + 1,
			f->ndelayed * sizeof(f->delayed[0]));
		deliver(eng, &d->tx, &d->dst);
		free(d);
		f = eng->dev->fault;
		if (!f)
			return;
	}
}

bool srxe_fault_xmit(struct srxe_engine *eng, const struct srxe_tx_pkt *tx,
		     const struct srxe_dest *dst)
{
	struct srxe_fault *f = eng->dev->fault;
	struct srxe_fault_info info;
	struct delayed *d;

	describe(tx, f->seq++, &info);
	switch (f->fn(f->opaque, &info)) {
	case SRXE_FAULT_DROP:
		return true; /* lost in the "network", not refused */
	case SRXE_FAULT_DELAY:
		d = f->ndelayed < MAX_DELAYED ? copy_tx(tx, dst) : NULL;
		if (d) {
			f->delayed[f->ndelayed++] = d;
			return true;
		}
		break; /* no room: it arrives on time */
	case SRXE_FAULT_DUP:
		deliver(eng, tx, dst);
		break;
	default:
		break;
	}
	deliver(eng, tx, dst);
	release_delayed(eng);
	return true;
}
