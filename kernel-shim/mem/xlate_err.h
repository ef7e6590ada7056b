/* SPDX-License-Identifier: MIT */
/*
 * Why a translation was refused.  Every check of the engine's translation
 * path has its own code so that tests (and error completions/NAK choices)
 * can tell them apart.  Functions return these negated; 0 or a positive
 * count means success.
 */
#ifndef SRXE_MEM_XLATE_ERR_H
#define SRXE_MEM_XLATE_ERR_H

enum srxe_xlate_err {
	SRXE_XLATE_BAD_KEY = 1, /* decodes to no descriptor/MR of this client */
	SRXE_XLATE_STALE,	/* slot free or generation/key byte mismatch */
	SRXE_XLATE_PD_MISMATCH, /* MR belongs to another PD than the QP */
	SRXE_XLATE_ACCESS_DENIED, /* access not granted (or page not writable)
				   */
	SRXE_XLATE_OUT_OF_BOUNDS, /* [addr, addr + len) not inside the MR */
	SRXE_XLATE_NOT_PRESENT,	  /* a table or page entry is not present */
	SRXE_XLATE_NOT_PINNED,	  /* a page is present but not pinned */
	SRXE_XLATE_SG_OVERFLOW, /* more chunks than the caller's array holds */
	SRXE_XLATE_QP_MISMATCH, /* type 2 window bound to another QP */
	/* Not a refusal: every check passed, but the MR is on-demand
	 * (IBV_ACCESS_ON_DEMAND) and has no frames; the bytes are the
	 * process's own at srxe_mem_odp_va() */
	SRXE_XLATE_ON_DEMAND,
	/* Not a refusal either: an on-demand access's page fault takes
	 * longer than the engine waits; it goes on in the process's helper
	 * (engine/objects/proc_io.h) and the access is to be tried again
	 * later */
	SRXE_XLATE_FAULT_PENDING,
	SRXE_XLATE_ERR_MAX
};

/* "BAD_KEY", ...; accepts the code or its negation; "?" when unknown. */
const char *srxe_xlate_err_name(int err);

#endif /* SRXE_MEM_XLATE_ERR_H */
