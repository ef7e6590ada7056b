/* SPDX-License-Identifier: MIT */
/*
 * Memory windows (internal to srxe_mem; the interface is in translate.h).
 *
 * A window is a protection record of its own: PD, type, the QP a type 2
 * window is bound to, its rights and its range inside one MR.  Its rkey is
 * tag << 8 | key byte.  IBA gives the low 8 bits (the "key") to the
 * consumer, who picks them at every bind (ibv_inc_rkey), so only the 24
 * bits above can name the window:
 *
 *  - shortcut mode: tag = 24-bit keyed permutation (codec.h, its own
 *    subkeys) of index 16 | generation 8.  The generation moves on at
 *    every dealloc, so a deallocated window's tag is dead even when its
 *    index is reused.  The record of a bound window holds the lowest table
 *    node covering the *window* (not the MR), and translation walks only
 *    from there: the key is a shortcut to the table level of the window.
 *  - MTT mode (rxe-like baseline): tag = 0xffffff - index, the top of the
 *    24-bit index space MR keys never reach (SRXE_MTT_MAX_INDEX); the key
 *    byte is random at alloc, as rxe's.
 *
 * MR and window rkeys share one 32-bit space.  A key is tried as an MR
 * rkey first and as a window second; in shortcut mode no live window's
 * tag equals bits 31..8 of a live MR rkey (checked at both allocations),
 * in MTT mode the index ranges are disjoint.
 */
#ifndef SRXE_MEM_MW_H
#define SRXE_MEM_MW_H

#include <stdint.h>

#include "pagetable.h"

enum srxe_mw_state {
	SRXE_MW_NONE = 0, /* index not allocated */
	SRXE_MW_UNBOUND,  /* allocated; type 2: free, type 1: zero length */
	SRXE_MW_BOUND,
};

struct srxe_mw {
	uint8_t state; /* enum srxe_mw_state */
	uint8_t type;  /* IBV_MW_TYPE_1 / IBV_MW_TYPE_2 */
	uint8_t gen;   /* shortcut: generation in the tag */
	uint8_t key;   /* consumer key byte of the current rkey */
	uint32_t pd;
	uint32_t qpn;	  /* type 2: the QP it is bound to */
	uint32_t access;  /* IBV_ACCESS_* of the window */
	uint32_t mr_lkey; /* parent MR while bound */
	uint32_t tag;	  /* rkey >> 8 */
	uint64_t addr;	  /* first byte, in the MR's iova space */
	uint64_t len;
	uint64_t va;		   /* process VA of addr */
	struct srxe_pt_node *node; /* shortcut: covers the window (held) */
};

struct srxe_mw_table {
	struct srxe_mw *v;
	uint32_t n, cap; /* indices ever used, capacity */
	uint32_t live, bound;
	uint32_t cursor; /* next index to try: reuse as late as possible */
};

#define SRXE_MW_INDEX_BITS 16

#endif /* SRXE_MEM_MW_H */
