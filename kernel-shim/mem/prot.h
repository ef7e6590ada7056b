/* SPDX-License-Identifier: MIT */
/*
 * Protection entry of one memory region and the checks every translation
 * applies to it, shared by the shortcut and the MTT modes so that both
 * enforce exactly the same rules.
 *
 * Address space of an MR: as in IBA and rxe, work requests address an MR
 * in its iova space, for lkeys and rkeys alike: byte iova + k of the MR is
 * the byte va + k of the registering process.  ibv_reg_mr() is the case
 * iova == va.
 */
#ifndef SRXE_MEM_PROT_H
#define SRXE_MEM_PROT_H

#include <stdbool.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "srxe/awf.h"

/* FLUSH_GLOBAL is a remote right too (a FLUSH names the MR by rkey);
 * FLUSH_PERSISTENT is not supported: srxe memory has no persistence
 * domain (docs/atomic-write-flush.md). */
#define SRXE_ACCESS_REMOTE                                                     \
	(IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |                    \
	 IBV_ACCESS_REMOTE_ATOMIC | SRXE_ACCESS_FLUSH_GLOBAL)
/* An on-demand MR pins nothing: the engine reaches its bytes in the
 * process when it uses them (translate.h, srxe_mem_odp_va()). */
#define SRXE_ACCESS_ON_DEMAND IBV_ACCESS_ON_DEMAND
#define SRXE_ACCESS_SUPPORTED                                                  \
	(IBV_ACCESS_LOCAL_WRITE | SRXE_ACCESS_REMOTE | IBV_ACCESS_MW_BIND |    \
	 SRXE_ACCESS_ON_DEMAND)
/* Hints accepted and ignored: an optional one libibverbs may pass, and
 * HUGETLB, which the daemon lets through for on-demand MRs only. */
#define SRXE_ACCESS_IGNORED (IBV_ACCESS_RELAXED_ORDERING | IBV_ACCESS_HUGETLB)

enum srxe_prot_state {
	SRXE_PROT_FREE = 0,
	SRXE_PROT_LIVE = 1,
};

struct srxe_prot_entry {
	uint64_t va;	 /* registering process' address of byte 0 */
	uint64_t len;	 /* bytes */
	uint64_t iova;	 /* address work requests use for byte 0 */
	uint32_t pd;	 /* PD handle */
	uint16_t access; /* IBV_ACCESS_* granted */
	uint8_t state;	 /* enum srxe_prot_state */
	uint8_t gen;	 /* generation the key was issued with */
};

/*
 * Validate a registration request: 0, -EINVAL (len 0, unknown access bit,
 * REMOTE_WRITE/REMOTE_ATOMIC without LOCAL_WRITE as IBA requires) or
 * -EFAULT (va + len or iova + len overflows, range beyond user VA space).
 */
int srxe_prot_validate(uint64_t va, uint64_t len, uint64_t iova,
		       unsigned access);

/*
 * The protection check for one access of len bytes at addr (iova space):
 * state, PD, access rights, bounds, in that order.  access_needed holds
 * IBV_ACCESS_* bits (0 = local read).  An rkey use needs at least one
 * remote right on the MR.  Returns 0 and the process VA of addr in
 * *va_out, or a negative srxe_xlate_err (STALE, PD_MISMATCH,
 * ACCESS_DENIED, OUT_OF_BOUNDS).
 */
int srxe_prot_check(const struct srxe_prot_entry *entry, bool is_rkey,
		    uint64_t addr, uint64_t len, unsigned access_needed,
		    uint32_t pd, uint64_t *va_out);

static inline bool srxe_access_on_demand(unsigned access)
{
	return access & SRXE_ACCESS_ON_DEMAND;
}

static inline bool srxe_access_writes(unsigned access)
{
	return access & (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			 IBV_ACCESS_REMOTE_ATOMIC);
}

#endif /* SRXE_MEM_PROT_H */
