// SPDX-License-Identifier: MIT
#include "prot.h"

#include <errno.h>

#include "pagetable.h"
#include "xlate_err.h"

int srxe_prot_validate(uint64_t va, uint64_t len, uint64_t iova,
		       unsigned access)
{
	unsigned rights = access & ~SRXE_ACCESS_IGNORED;

	if (len == 0 || (rights & ~SRXE_ACCESS_SUPPORTED))
		return -EINVAL;
	if ((rights & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
	    !(rights & IBV_ACCESS_LOCAL_WRITE))
		return -EINVAL;
	if (va >= SRXE_PT_USER_TOP || len > SRXE_PT_USER_TOP - va)
		return -EFAULT;
	if (iova + len < iova)
		return -EFAULT;
	return 0;
}

static bool rights_granted(unsigned granted, bool is_rkey, unsigned needed)
{
	if (is_rkey && !(granted & SRXE_ACCESS_REMOTE))
		return false;
	return (needed & ~granted) == 0;
}

int srxe_prot_check(const struct srxe_prot_entry *entry, bool is_rkey,
		    uint64_t addr, uint64_t len, unsigned access_needed,
		    uint32_t pd, uint64_t *va_out)
{
	uint64_t offset;

	if (entry->state != SRXE_PROT_LIVE)
		return -SRXE_XLATE_STALE;
	if (entry->pd != pd)
		return -SRXE_XLATE_PD_MISMATCH;
	if (!rights_granted(entry->access, is_rkey, access_needed))
		return -SRXE_XLATE_ACCESS_DENIED;
	offset = addr - entry->iova;
	if (addr < entry->iova || offset > entry->len ||
	    len > entry->len - offset)
		return -SRXE_XLATE_OUT_OF_BOUNDS;
	*va_out = entry->va + offset;
	return 0;
}
