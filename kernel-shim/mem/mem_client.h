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
#include "pagetable.h"
#include "prot.h"
#include "translate.h"

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
	uint64_t (*key_state_bytes)(const struct srxe_mem_client *c);
	void (*fini)(struct srxe_mem_client *c);
};

extern const struct srxe_xlate_ops srxe_shortcut_ops;
extern const struct srxe_xlate_ops srxe_mtt_ops;

struct srxe_mem_client {
	const struct srxe_xlate_ops *ops;
	enum srxe_mem_mode mode;
	uint32_t id;
	uint8_t *slab;
	uint64_t max_reg_bytes;
	uint32_t max_mrs;
	uint32_t mrs;
	uint64_t reg_bytes;
	struct srxe_frames frames;
	struct srxe_pt pt;
	union {
		struct {
			struct srxe_codec codec;
			struct srxe_desc_table descs;
		} sc;
		struct srxe_mtt mtt;
	};
};

/* Accumulates translated chunks, merging contiguous ones. */
struct srxe_sg_out {
	struct srxe_sg *v;
	int n;
	int max;
};

/* 0 or -SRXE_XLATE_SG_OVERFLOW. */
int srxe_sg_append(struct srxe_sg_out *out, void *addr, uint32_t len);

static inline void *srxe_frame_addr(const struct srxe_mem_client *c,
				    uint64_t frame, uint64_t offset)
{
	return c->slab + (frame << SRXE_FRAME_SHIFT) + offset;
}

#endif /* SRXE_MEM_CLIENT_H */
