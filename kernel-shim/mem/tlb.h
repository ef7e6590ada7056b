/* SPDX-License-Identifier: MIT */
/*
 * Translation cache ("TLB") of one translating thread: recent
 * (client, key, 2 MiB region of iova) -> page source translations, so
 * that an access costs one tagged lookup, the protection checks on cached
 * facts and one page-entry load, in either mode, instead of a key decode
 * and a table walk (shortcut) or a slot lookup (MTT).
 *
 * Contract:
 *  - srxe_tlb_translate() returns exactly what srxe_mem_translate() would
 *    return for the same client and request at that moment: the same
 *    count and the same chunks, or the same error.  A hit only ever
 *    produces success; any check that fails on a hit (and every error)
 *    is answered by the uncached path, which is authoritative.
 *  - One srxe_tlb per thread; it is never shared, so the hit path takes
 *    no lock and makes no atomic read-modify-write.  The same rule as
 *    srxe_mem_translate() applies to the tables: no srxe_mem_* call that
 *    changes a client or its space runs concurrently with a translation
 *    through it (srxed: both run under the engine lock, engine.h).
 *
 * An entry holds, for one region of 2 MiB of iova space and one key:
 *  - tag: client pointer, key, lkey/rkey, region, and the generation of
 *    the client's memory space (srxe_pt.gen) at fill time;
 *  - facts of that generation: PD, granted rights, the QP of a type 2
 *    window, the part [lo, hi) of the region the MR/window covers, and
 *    va - iova;
 *  - page source: shortcut, the entry arrays of the (at most two) leaf
 *    table pages under that part; MTT, the MR's frame array.
 * A hit re-checks PD, rights (an rkey use needs a remote right), the
 * type 2 QP and bounds against the facts, and, in shortcut mode, reads
 * each page entry live and checks PRESENT, PINNED and (for a write)
 * WRITABLE as the walk does.  MTT entries are the MR's pin record, as
 * uncached.  Chunks are merged as srxe_mem_translate() merges them.
 *
 * Why a stale or forged key is never honoured:
 *  - Entries are only made after srxe_mem_translate() succeeded for that
 *    very key, so an entry's key was a live key of that client with those
 *    facts at fill time.  A forged key that fails is never entered, and a
 *    hit needs all 32 bits of the key equal to an entered one.
 *  - Every change that can make a cached fact or pointer wrong moves the
 *    space's generation to a fresh value of a process-wide clock
 *    (srxe_pt_changed()): dereg (the key dies, its frames and perhaps table
 *    pages go), rereg (PD, rights), window bind / invalidate / dealloc /
 *    QP gone (unbind), window alloc, client join and destroy, and every
 *    table node freed for any reason (a cached leaf pointer can only
 *    dangle after its node was freed -- also when pages are unpinned
 *    behind a live MR's back).  Registration does not: it invalidates no
 *    live key (new keys never equal a live one, mw.h), changes no facts
 *    and frees no node (it only adds entries, and a page entry's WRITABLE
 *    bit only ever gets set while pinned); entries are re-read on a hit.
 *  - A hit compares the entry's generation with the space's current one
 *    before using anything else in it.  Values are never reused (64-bit
 *    clock shared by all spaces), so an entry of a destroyed client or
 *    space cannot match a new client allocated at the same address: that
 *    one's space took a newer value when it joined.
 *  - Concurrency: srxe_pt_changed() and every table change run under the
 *    exclusion that already separates srxe_mem_translate() from
 *    reg/dereg (engine lock).  The lock's release/acquire orders the bump
 *    before any later lookup, and a lookup never overlaps a change, so a
 *    lookup either sees the old generation with the old, still intact
 *    tables, or the new one.  Dropping that lock would need an RCU-like
 *    scheme for the uncached path too (it reads nodes dereg frees); the
 *    cache would then have to re-check the generation after its loads.
 *
 * Reach: SRXE_TLB_ENTRIES regions of 2 MiB, direct-mapped, consecutive
 * regions of one key in consecutive entries (512 MiB of one MR without
 * conflicts).
 */
#ifndef SRXE_MEM_TLB_H
#define SRXE_MEM_TLB_H

#include <stdint.h>

#include "translate.h"

#define SRXE_TLB_ENTRIES      256u /* power of 2 */
#define SRXE_TLB_REGION_SHIFT 21   /* one leaf table page of VA */

struct srxe_tlb_entry {
	const struct srxe_mem_client *client; /* NULL: empty */
	uint64_t gen;			      /* the space's, at fill */
	uint64_t region; /* iova >> SRXE_TLB_REGION_SHIFT */
	uint32_t key;
	uint32_t pd;
	uint32_t qpn; /* type2 */
	uint16_t access;
	uint8_t is_rkey;
	uint8_t type2;
	uint32_t lo, hi; /* [lo, hi): offsets in the region the key covers */
	uint64_t delta;	 /* va - iova, modulo 2^64 */
	uint64_t vbase;	 /* VA page of page[0][0] (MTT: the MR's first page) */
	/* shortcut: entries of the first and second leaf; MTT: page[0] is
	 * the MR's frame array */
	const uint64_t *page[2];
};

struct srxe_tlb {
	struct srxe_tlb_entry e[SRXE_TLB_ENTRIES];
	uint64_t hits;	 /* requests answered from entries */
	uint64_t misses; /* requests answered by srxe_mem_translate() */
	uint64_t fills;	 /* entries written */
};

/* All entries empty, counters 0. */
void srxe_tlb_init(struct srxe_tlb *tlb);

/*
 * srxe_mem_translate(client, req, out, max), answered from the cache when
 * it can be (see above).  tlb NULL: uncached.
 */
int srxe_tlb_translate(struct srxe_tlb *tlb,
		       const struct srxe_mem_client *client,
		       const struct srxe_xlate_req *req, struct srxe_sg *out,
		       int max);

#endif /* SRXE_MEM_TLB_H */
