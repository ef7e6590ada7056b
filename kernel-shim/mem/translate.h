/* SPDX-License-Identifier: MIT */
/*
 * srxe memory core: one srxe_mem_client per client context, and one
 * srxe_mem_space per client process that every context of the process
 * joins.  The space owns the frame allocator (over the process's slab),
 * the translation table with its pin counts and the byte limit; the client
 * owns its keys (shortcut: secret + descriptors; MTT: its slots of the
 * space's index table), its protection state and its windows.  This is
 * the one interface the daemon uses for REG_MR / DEREG_MR and the engine
 * for every SGE and remote address, whichever translation mode (shortcut
 * or MTT) the daemon runs.
 *
 * Sharing: a page pinned by any client of a space is present for all of
 * them, so a buffer registered in one context is registered in another
 * without new frames (new_runs stays empty), and a frame is freed only
 * when the last pin of any client goes.  Keys never cross clients: a key
 * is looked up in the presenting client's own key state only.
 *
 * Threading: nothing here locks.  srxe_mem_translate() and
 * srxe_mem_stats() only read and may run concurrently with each other;
 * srxe_mem_reg()/srxe_mem_dereg() need exclusive access to the client.
 *
 * Errors: reg/dereg return 0 or a negative errno; translate returns the
 * number of scatter entries (>= 0) or a negated enum srxe_xlate_err.
 */
#ifndef SRXE_MEM_TRANSLATE_H
#define SRXE_MEM_TRANSLATE_H

#include <stdbool.h>
#include <stdint.h>

#include <infiniband/verbs.h> /* IBV_ACCESS_* */

#include "frames.h"
#include "xlate_err.h"

/* Same values as enum srxe_translation of the control protocol. */
enum srxe_mem_mode {
	SRXE_MEM_SHORTCUT = 0,
	SRXE_MEM_MTT = 1,
};

#define SRXE_MEM_DEFAULT_MAX_REG_BYTES (8ull << 30)
#define SRXE_MEM_DEFAULT_MAX_MRS       65536u
#define SRXE_MEM_MAX_MRS	       ((1u << 24) - (1u << 16)) /* both formats */
#define SRXE_MEM_MAX_MWS	       (1u << 16) /* per client */

struct srxe_mem_config {
	enum srxe_mem_mode mode;
	uint32_t client_id;
	/* The space's (ignored by srxe_mem_client_join()): */
	void *slab;		/* daemon mapping of frame 0 */
	uint32_t slab_frames;	/* frames in the slab */
	uint64_t max_reg_bytes; /* all clients: 0 = SRXE_MEM_DEFAULT_... */
	/* The client's: */
	uint32_t max_mrs; /* 0: SRXE_MEM_DEFAULT_MAX_MRS */
	/* NULL: fresh secret from getrandom().  Tests/benchmarks only. */
	const uint64_t *fixed_secret; /* [2] */
};

struct srxe_mem_client;
struct srxe_mem_space;

struct srxe_mr_keys {
	uint32_t lkey;
	uint32_t rkey; /* always issued; used only with remote rights */
};

/* One chunk of a translation: daemon pointer into the slab mapping. */
struct srxe_sg {
	void *addr;
	uint32_t len;
};

/* One access the engine wants to make. */
struct srxe_xlate_req {
	uint32_t key; /* lkey of an SGE or rkey of a remote address */
	bool is_rkey;
	uint64_t addr; /* in the MR's iova space */
	uint64_t len;
	unsigned access; /* IBV_ACCESS_* needed; 0 = local read */
	uint32_t pd;	 /* PD of the QP doing the access */
	uint32_t qpn;	 /* that QP (type 2 memory windows); 0: none */
};

struct srxe_mem_stats {
	uint64_t mrs;
	uint64_t reg_bytes;	    /* sum of live MR lengths */
	uint64_t frames_in_use;	    /* data frames pinned */
	uint64_t table_pages;	    /* translation-table pages */
	uint64_t table_bytes;	    /* table pages + their pin counts */
	uint64_t key_state_bytes;   /* shortcut: descriptors + protection
				     * blocks; MTT: MR entries + MTT arrays */
	uint64_t translation_bytes; /* what the engine translates with:
				     * shortcut: table + key state;
				     * MTT: key state only */
};

/*
 * A memory space over cfg's slab (mode, slab, slab_frames, max_reg_bytes
 * used).  0, -EINVAL (bad config) or -ENOMEM.
 */
int srxe_mem_space_create(const struct srxe_mem_config *cfg,
			  struct srxe_mem_space **out);
/*
 * Frees the space (frames, table, pins left by destroyed clients); the
 * slab belongs to the caller.  -EBUSY, freeing nothing, while clients
 * remain.
 */
int srxe_mem_space_destroy(struct srxe_mem_space *space);

/*
 * A client in space (cfg: mode, which must be the space's, client_id,
 * max_mrs, fixed_secret).  0, -EINVAL, -ENOMEM, or getrandom()'s -errno.
 */
int srxe_mem_client_join(const struct srxe_mem_config *cfg,
			 struct srxe_mem_space *space,
			 struct srxe_mem_client **out);
/* A client with a space of its own, destroyed with it.  As above. */
int srxe_mem_client_create(const struct srxe_mem_config *cfg,
			   struct srxe_mem_client **out);
/*
 * Frees the client's keys, windows and key state: its keys are dead.  The
 * pins of its live MRs stay in a shared space ("orphaned": the process may
 * still map those frames, so they must not be handed out again) until the
 * space is destroyed; their bytes leave the space's reg_bytes.  Frames it
 * held (srxe_mem_hold_frames) stay held likewise.
 */
void srxe_mem_client_destroy(struct srxe_mem_client *client);
struct srxe_mem_space *srxe_mem_client_space(const struct srxe_mem_client *c);

/*
 * Register [va, va + len) for PD pd, addressed by work requests at iova.
 * Pages already present (overlapping MRs) keep their frames; absent pages
 * get frames and are appended to new_runs (may be NULL) as (va, frame,
 * npages) runs: the provider must copy the pages into these frames and map
 * each run at its va.  Errors: -EINVAL (len 0, bad access combination),
 * -EFAULT (range overflow/outside user VA), -ENOMEM (byte or MR limit,
 * slab full, keys exhausted; the byte limit is the space's, over every
 * client).  On error nothing changed.
 */
int srxe_mem_reg(struct srxe_mem_client *client, uint32_t pd, uint64_t va,
		 uint64_t len, uint64_t iova, unsigned access,
		 struct srxe_mr_keys *keys, struct srxe_runs *new_runs);

/*
 * Deregister the MR of lkey.  Frames no longer pinned by any MR of any
 * client of the space are freed
 * and appended to freed (may be NULL) so the daemon can punch holes.
 * -EINVAL if lkey names no live MR of this client.
 */
int srxe_mem_dereg(struct srxe_mem_client *client, uint32_t lkey,
		   struct srxe_runs *freed);

/*
 * Change the PD and rights of the live MR of lkey in place (ibv_rereg_mr
 * without a new translation); the keys stay.  keys gets the lkey and the
 * rkey (0 without remote rights).  -EINVAL no such MR or bad access,
 * -EBUSY windows are bound to it, -EAGAIN (shortcut) the rkey the new
 * rights need collides with a window tag or is 0, or ON_DEMAND is added
 * or dropped: register anew.
 */
int srxe_mem_rereg(struct srxe_mem_client *client, uint32_t lkey, uint32_t pd,
		   unsigned access, struct srxe_mr_keys *keys);

/*
 * Quarantine: keep the frames of runs (as just reported freed by
 * srxe_mem_dereg()) out of the allocator until srxe_mem_unhold_frames().
 * The daemon needs this while the application still maps them.  hold
 * returns 0, or -EBUSY / -EINVAL (a frame in use or outside the slab)
 * having held nothing.  Held frames count in frames_in_use.
 */
int srxe_mem_hold_frames(struct srxe_mem_client *client,
			 const struct srxe_runs *runs);
void srxe_mem_unhold_frames(struct srxe_mem_client *client,
			    const struct srxe_runs *runs);

/*
 * Check and translate one access.  Returns the number of chunks written to
 * out[0..max) (physically contiguous frames merged; 0 for len 0), or a
 * negated enum srxe_xlate_err.  Nothing is written to slab memory.
 * An on-demand MR that passes every check gives -SRXE_XLATE_ON_DEMAND:
 * it has no frames, see srxe_mem_odp_va().
 */
int srxe_mem_translate(const struct srxe_mem_client *client,
		       const struct srxe_xlate_req *req, struct srxe_sg *out,
		       int max);

/*
 * On-demand MRs (IBV_ACCESS_ON_DEMAND; docs/odp.md).  srxe_mem_reg() of
 * one pins nothing, allocates no frame, returns no run and counts
 * nothing against max_reg_bytes (only against the MR count); an implicit
 * MR is va 0, iova 0, len SRXE_PT_USER_TOP.  Keys, PD, rights and bounds
 * are checked as for any MR; the bytes are then the process's own, at
 * the VA this gives, reached through the space's process memory
 * (its /proc/PID/mem and helper thread, engine/objects/proc_io.h, set
 * up by the daemon: the mem layer only hands the pointer on).  Windows
 * cannot be bound to such an MR.
 *
 * srxe_mem_odp_va: 0 with the process VA of req->addr in *va and the
 * process memory in *io; the checks' -err; -SRXE_XLATE_NOT_PRESENT for
 * a key of a pinned MR or while the space has no process memory.
 * srxe_mem_space_set_proc_io: set once (-EINVAL if NULL or already
 * set); the caller keeps owning io and closes it after the space is
 * destroyed.  Engines read it concurrently.
 */
struct srxe_proc_io;
int srxe_mem_odp_va(const struct srxe_mem_client *client,
		    const struct srxe_xlate_req *req, uint64_t *va,
		    struct srxe_proc_io **io);
int srxe_mem_space_set_proc_io(struct srxe_mem_space *space,
			       struct srxe_proc_io *io);

/*
 * The checks of srxe_mem_translate() for an operation on a whole MR (a
 * FLUSH at MR level): key, state, PD and access; req->addr and req->len
 * are ignored.  0 or a negated enum srxe_xlate_err (on-demand MRs pass
 * with 0).
 */
int srxe_mem_check_mr(const struct srxe_mem_client *client,
		      const struct srxe_xlate_req *req);

/*
 * Statistics split so that sums over clients and spaces count nothing
 * twice: client_stats has mrs, reg_bytes and the client's own key state
 * (other fields 0); space_stats has frames_in_use, table_pages,
 * table_bytes and the space's key state (MTT index table; shortcut
 * translation_bytes include the table); srxe_mem_stats() is the sum of
 * both, i.e. everything a client translates with.
 */
void srxe_mem_client_stats(const struct srxe_mem_client *client,
			   struct srxe_mem_stats *stats);
void srxe_mem_space_stats(const struct srxe_mem_space *space,
			  struct srxe_mem_stats *stats);
void srxe_mem_stats(const struct srxe_mem_client *client,
		    struct srxe_mem_stats *stats);
/* Sum of the live MR lengths of every client (the limit's measure). */
uint64_t srxe_mem_space_reg_bytes(const struct srxe_mem_space *space);

enum srxe_mem_mode srxe_mem_mode(const struct srxe_mem_client *client);

/*
 * Memory windows (mw.h for the key format).  Errors are negative errnos:
 *  alloc:   -EINVAL type not 1/2; -ENOMEM SRXE_MEM_MAX_MWS reached.
 *           *id names the window for dealloc, *rkey is its first rkey.
 *  dealloc: -EINVAL no such window.  A bound window is unbound first.
 *  bind:    -EINVAL mw_rkey is not the window's current rkey, new_rkey
 *           has other tag bits, type 1 not in a valid state / type 2 not
 *           free, type 2 with length 0 or a QP of another PD, ZERO_BASED,
 *           no such MR (length > 0), MR of another PD;
 *           -EOPNOTSUPP unknown access bits or an on-demand MR;
 *           -EACCES MR without MW_BIND,
 *           or a writable window on an MR without LOCAL_WRITE; -ERANGE
 *           window not inside the MR.  On error nothing changed.
 *  invalidate: -EINVAL rkey names no bound type 2 window (MR rkeys, type
 *           1 windows, stale key byte), or the window belongs to another
 *           PD or QP.
 * Translation of window rkeys is part of srxe_mem_translate().
 */
struct srxe_mw_bind_req {
	uint32_t mw_rkey;  /* the window's current rkey */
	uint32_t new_rkey; /* its rkey after the bind: same tag, new key byte */
	uint32_t mr_lkey;  /* ignored when len == 0 */
	uint32_t access;   /* IBV_ACCESS_* of the window */
	uint64_t addr;	   /* in the MR's iova space */
	uint64_t len;
	uint32_t pd;  /* PD of the binding QP */
	uint32_t qpn; /* binding QP */
};

int srxe_mem_mw_alloc(struct srxe_mem_client *client, uint32_t pd,
		      unsigned type, uint32_t *id, uint32_t *rkey);
int srxe_mem_mw_dealloc(struct srxe_mem_client *client, uint32_t id);
int srxe_mem_mw_bind(struct srxe_mem_client *client,
		     const struct srxe_mw_bind_req *req);
int srxe_mem_mw_invalidate(struct srxe_mem_client *client, uint32_t rkey,
			   uint32_t pd, uint32_t qpn);
/* The QP is destroyed: type 2 windows bound to it become free. */
void srxe_mem_mw_qp_gone(struct srxe_mem_client *client, uint32_t qpn);
/* Allocated windows (stats, tests). */
uint32_t srxe_mem_mw_count(const struct srxe_mem_client *client);

/*
 * The client's (= its space's) translation table: introspection for the
 * daemon's status and for tests that simulate a corrupted table under a live
 * MR.
 */
struct srxe_pt *srxe_mem_client_pt(struct srxe_mem_client *client);

#endif /* SRXE_MEM_TRANSLATE_H */
