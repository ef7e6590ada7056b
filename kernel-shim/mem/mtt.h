/* SPDX-License-Identifier: MIT */
/*
 * Baseline MTT translation mode, shaped like kernel rxe: an MR table
 * indexed by key, lkey = index << 8 | 8-bit key byte, rkey = lkey when the
 * MR grants remote access (else 0), and per MR one 8-byte entry per page
 * (the frame number, as a hardware MTT holds a physical address).
 *
 * Indices are allocated cyclically from 1 (0 is never used, so no valid
 * key is 0); the key byte of an index advances on every reuse, so a new MR
 * in a reused index gets a different key and the old key reads as STALE
 * (until 256 reuses of that index, the format's limit).  The protection
 * checks are the shared ones of prot.h.  The MTT is the pin record of this
 * mode: its entries never point at unpinned frames, so NOT_PRESENT and
 * NOT_PINNED cannot occur here.
 *
 * The index table belongs to the memory space (one per client process,
 * translate.h), each slot naming the client whose MR it holds: the
 * contexts of one process never share an index, so a key of one context
 * is BAD_KEY in another (rxe's indices are per device).
 */
#ifndef SRXE_MEM_MTT_H
#define SRXE_MEM_MTT_H

#include <stdint.h>

#include "prot.h"

struct srxe_mtt_mr {
	struct srxe_prot_entry prot;
	uint64_t first_page; /* prot.va >> SRXE_FRAME_SHIFT */
	uint64_t npages;
	uint64_t frame[]; /* one per page */
};

struct srxe_mem_client;

struct srxe_mtt_slot {
	struct srxe_mtt_mr *mr;		     /* NULL: free */
	const struct srxe_mem_client *owner; /* client of mr */
	uint8_t key; /* key byte of the current/next MR */
};

struct srxe_mtt {
	struct srxe_mtt_slot *slots;
	uint32_t n; /* indices ever used, including 0 */
	uint32_t cap;
	uint32_t cursor; /* cyclic allocation */
	uint32_t live;
	uint64_t mr_bytes; /* MR records incl. their MTT arrays */
};

/* Bytes of the index table itself; free it and any MR left in it. */
uint64_t srxe_mtt_table_bytes(const struct srxe_mtt *m);
void srxe_mtt_destroy(struct srxe_mtt *m);

/* Indices above this one are memory-window tags (mw.h). */
#define SRXE_MTT_MAX_INDEX ((1u << 24) - 1 - (1u << 16))

#endif /* SRXE_MEM_MTT_H */
