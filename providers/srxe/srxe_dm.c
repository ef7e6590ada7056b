// SPDX-License-Identifier: MIT
/*
 * Device memory (ibv_alloc_dm; docs/device-memory.md).  A NIC's device
 * memory is on-chip memory the application fills with ibv_memcpy_to_dm()
 * and registers with ibv_reg_dm_mr() (zero-based: its addresses are
 * offsets into it).  srxe's device is the CPU, so its device memory is
 * memory srxe maps into the process for each allocation; registering it
 * is registering that memory, with iova 0 at the MR's offset.  The rules
 * and errors are mlx5's: 4-byte aligned copies within the allocation,
 * EINVAL otherwise; ZERO_BASED required; EBUSY for freeing memory an MR
 * still covers.  mlx5 also registers a zero-length DM MR, which srxed
 * does not (no MR is empty there): such an MR covers one byte of a page
 * mapped past the allocation for it, which no copy reaches and nothing
 * else uses.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "srxe.h"

struct srxe_dm {
	struct verbs_dm vdm;
	uint8_t *buf;
	size_t length; /* as allocated: copies and MRs stay inside */
	size_t mapped; /* whole pages, then the page of empty MRs */
	unsigned int mrs;
};

static struct srxe_dm *to_srxe_dm(struct ibv_dm *dm)
{
	return srxe_container_of(dm, struct srxe_dm, vdm.dm);
}

/* A copy of @length bytes at @offset: 4-byte aligned and inside. */
static bool copy_ok(const struct srxe_dm *dm, uint64_t offset, size_t length)
{
	return !((offset | length) & 3) && offset <= dm->length &&
	       length <= dm->length - offset;
}

static int to_dm(struct ibv_dm *ibdm, uint64_t offset, const void *src,
		 size_t length)
{
	struct srxe_dm *dm = to_srxe_dm(ibdm);

	if (!copy_ok(dm, offset, length))
		return EINVAL;
	memcpy(dm->buf + offset, src, length);
	return 0;
}

static int from_dm(void *dst, struct ibv_dm *ibdm, uint64_t offset,
		   size_t length)
{
	struct srxe_dm *dm = to_srxe_dm(ibdm);

	if (!copy_ok(dm, offset, length))
		return EINVAL;
	memcpy(dst, dm->buf + offset, length);
	return 0;
}

struct ibv_dm *srxe_alloc_dm(struct ibv_context *ibctx,
			     struct ibv_alloc_dm_attr *attr)
{
	static uint32_t next_handle;
	const size_t page = SRXE_PAGE_SIZE;
	struct srxe_dm *dm;

	if (attr->comp_mask || !attr->length ||
	    attr->length > SRXE_DM_MAX_BYTES ||
	    attr->log_align_req > SRXE_DM_MAX_LOG_ALIGN) {
		errno = EINVAL;
		return NULL;
	}
	dm = calloc(1, sizeof(*dm));
	if (!dm) {
		errno = ENOMEM;
		return NULL;
	}
	dm->length = attr->length;
	dm->mapped = ((attr->length + page - 1) & ~(page - 1)) + page;
	dm->buf = mmap(NULL, dm->mapped, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (dm->buf == MAP_FAILED) {
		free(dm);
		errno = ENOMEM;
		return NULL;
	}
	dm->vdm.dm.context = ibctx;
	dm->vdm.dm.memcpy_to_dm = to_dm;
	dm->vdm.dm.memcpy_from_dm = from_dm;
	dm->vdm.dm.handle = dm->vdm.handle =
		__atomic_add_fetch(&next_handle, 1, __ATOMIC_RELAXED);
	return &dm->vdm.dm;
}

int srxe_free_dm(struct ibv_dm *ibdm)
{
	struct srxe_dm *dm = to_srxe_dm(ibdm);

	if (__atomic_load_n(&dm->mrs, __ATOMIC_ACQUIRE))
		return EBUSY;
	munmap(dm->buf, dm->mapped);
	free(dm);
	return 0;
}

struct ibv_mr *srxe_reg_dm_mr(struct ibv_pd *pd, struct ibv_dm *ibdm,
			      uint64_t dm_offset, size_t length,
			      unsigned int access)
{
	const unsigned int allowed =
		IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
		IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC |
		IBV_ACCESS_ZERO_BASED | IBV_ACCESS_OPTIONAL_RANGE;
	struct srxe_dm *dm = to_srxe_dm(ibdm);
	uint8_t *at = dm->buf + dm_offset;
	struct ibv_mr *mr;

	if (!(access & IBV_ACCESS_ZERO_BASED) || (access & ~allowed) ||
	    dm_offset > dm->length || length > dm->length - dm_offset) {
		errno = EINVAL;
		return NULL;
	}
	if (!length)
		at = dm->buf + dm->mapped - SRXE_PAGE_SIZE;
	mr = srxe_reg_mr_in(pd, at, length ? length : 1, 0,
			    (int)(access & ~IBV_ACCESS_ZERO_BASED), dm);
	if (mr) {
		mr->length = length;
		__atomic_add_fetch(&dm->mrs, 1, __ATOMIC_RELEASE);
	}
	return mr;
}

void srxe_dm_mr_gone(struct srxe_dm *dm)
{
	__atomic_sub_fetch(&dm->mrs, 1, __ATOMIC_RELEASE);
}
