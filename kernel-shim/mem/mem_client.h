/* SPDX-License-Identifier: MIT */
/*
 * Internal to srxe_mem: the client record and the operations each
 * translation mode implements.  The mode-independent work (argument
 * validation, limits, pinning, stats) is done once in translate.c; a mode
 * only issues keys, finds MRs by key and translates.
 */
#ifndef SRXE_MEM_CLIENT_H
#define SRXE_MEM_CLIENT_H

#include "codec.h"
#include "desc.h"
#include "mtt.h"
#include "mw.h"
#include "pagetable.h"
#include "prot.h"
#include "translate.h"

/* Accumulates translated chunks, merging contiguous ones. */
struct srxe_sg_out {
	struct srxe_sg *v;
	int n;
	int max;
};

/*
 * What a key grants, as the translation checks it (tlb.h caches these as
 * facts of a generation): the range in iova space, the process VA of its
 * first byte, PD, rights, the QP of a type 2 window, and where its frames
 * are found.
 */
struct srxe_xlate_facts {
	uint64_t iova, len, va;
	uint32_t pd;
	uint32_t qpn; /* type2 only */
	uint16_t access;
	bool type2;
	const struct srxe_pt_node *node; /* shortcut: the walk starts here */
	const struct srxe_mtt_mr *mtt;	 /* MTT: the frames (a window's MR) */
};

struct srxe_xlate_ops {
	const char *name;
	/* Pages of mr are pinned: record the MR, issue keys.  -ENOMEM. */
	int (*add_mr)(struct srxe_mem_client *c,
		      const struct srxe_prot_entry *mr,
		      struct srxe_mr_keys *keys);
	/* Forget the live MR of lkey, copying it to *mr.  -EINVAL. */
	int (*remove_mr)(struct srxe_mem_client *c, uint32_t lkey,
			 struct srxe_prot_entry *mr);
	int (*translate)(const struct srxe_mem_client *c,
			 const struct srxe_xlate_req *req, struct srxe_sg *out,
			 int max);
	/* Protection entry a key names, or NULL with *err (an enum
	 * srxe_xlate_err) set: the key check of translate, nothing else. */
	const struct srxe_prot_entry *(*entry)(const struct srxe_mem_client *c,
					       uint32_t key, bool is_rkey,
					       int *err);
	/* The facts of an MR key, or the key check's -err. */
	int (*facts)(const struct srxe_mem_client *c, uint32_t key,
		     bool is_rkey, struct srxe_xlate_facts *f);
	/* Key state of this client alone (not the space's). */
	uint64_t (*key_state_bytes)(const struct srxe_mem_client *c);
	/* Live MR of an lkey, copied to *mr; -EINVAL.  (Windows.) */
	int (*find_mr)(const struct srxe_mem_client *c, uint32_t lkey,
		       struct srxe_prot_entry *mr);
	/* The live MR of lkey, for an in-place change; NULL if none. */
	struct srxe_prot_entry *(*mr_entry)(struct srxe_mem_client *c,
					    uint32_t lkey);
	/* The rkey the MR of lkey has when it grants remote rights. */
	uint32_t (*rkey_of)(const struct srxe_mem_client *c, uint32_t lkey);
	/* Shortcut only: key is the rkey of a live MR (NULL in MTT). */
	bool (*rkey_live)(const struct srxe_mem_client *c, uint32_t key);
	/* Frames of [va, va + len) of a bound window; count or -err. */
	int (*window_walk)(const struct srxe_mem_client *c,
			   const struct srxe_mw *mw, uint64_t va, uint64_t len,
			   bool write, struct srxe_sg_out *out);
	void (*fini)(struct srxe_mem_client *c);
};

extern const struct srxe_xlate_ops srxe_shortcut_ops;
extern const struct srxe_xlate_ops srxe_mtt_ops;

/*
 * What the clients of one process share: the slab's frames, the page
 * table with its pin counts (so a page pinned by one context is pinned
 * for all, and freed when the last pin of any context goes), the byte
 * limit, and in MTT mode the MR index space (so one client's key never
 * names another client's MR, as rxe's device-wide indices).
 */
struct srxe_mem_space {
	enum srxe_mem_mode mode;
	uint8_t *slab;
	uint64_t max_reg_bytes;
	uint64_t reg_bytes; /* sum of the clients' reg_bytes */
	uint32_t clients;
	struct srxe_frames frames;
	struct srxe_pt pt;
	struct srxe_mtt mtt; /* MTT mode: slots of every client's MRs */
	struct srxe_proc_io *proc_io; /* srxe_mem_space_set_proc_io() */
};

struct srxe_mem_client {
	const struct srxe_xlate_ops *ops;
	enum srxe_mem_mode mode;
	uint32_t id;
	struct srxe_mem_space *space;
	bool own_space; /* srxe_mem_client_create(): destroyed with it */
	uint32_t max_mrs;
	uint32_t mrs;
	uint64_t reg_bytes;
	union {
		struct {
			struct srxe_codec codec;
			struct srxe_desc_table descs;
		} sc;
		struct {
			uint32_t live;	   /* this client's slots in space */
			uint64_t mr_bytes; /* its MR records */
		} mtt;
	};
	struct srxe_mw_table mws;
};

/* mw.c: a live window has this tag (shortcut key disjointness). */
bool srxe_mw_tag_live(const struct srxe_mem_client *c, uint32_t tag);
/* mw.c: a window is bound to the MR of lkey (dereg must wait). */
bool srxe_mw_mr_busy(const struct srxe_mem_client *c, uint32_t lkey);
/* mw.c: translation of an rkey that is no MR's; -err as translate. */
int srxe_mw_translate(const struct srxe_mem_client *c,
		      const struct srxe_xlate_req *req, struct srxe_sg *out,
		      int max);
/* mw.c: facts of a window rkey, or -err as its translation's key check. */
int srxe_mw_facts(const struct srxe_mem_client *c, uint32_t key,
		  struct srxe_xlate_facts *f);
void srxe_mw_fini(struct srxe_mem_client *c);
/* translate.c: the facts of whatever srxe_mem_translate() would use. */
int srxe_mem_facts(const struct srxe_mem_client *c, uint32_t key, bool is_rkey,
		   struct srxe_xlate_facts *f);

/* 0 or -SRXE_XLATE_SG_OVERFLOW.  Inline: the translation hot path. */
static inline int srxe_sg_append(struct srxe_sg_out *out, void *addr,
				 uint32_t len)
{
	struct srxe_sg *last = out->n ? &out->v[out->n - 1] : NULL;

	if (last && (uint8_t *)last->addr + last->len == (uint8_t *)addr &&
	    last->len <= UINT32_MAX - len) {
		last->len += len;
		return 0;
	}
	if (out->n == out->max)
		return -SRXE_XLATE_SG_OVERFLOW;
	out->v[out->n++] = (struct srxe_sg){ addr, len };
	return 0;
}

static inline void *srxe_frame_addr(const struct srxe_mem_client *c,
				    uint64_t frame, uint64_t offset)
{
	return c->space->slab + (frame << SRXE_FRAME_SHIFT) + offset;
}

#endif /* SRXE_MEM_CLIENT_H */
