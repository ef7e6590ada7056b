// SPDX-License-Identifier: MIT
/*
 * On-demand MRs in the provider (docs/odp.md): the capabilities, the
 * list of each context's on-demand MRs and ibv_advise_mr().  The data
 * path needs nothing here: srxed reaches the bytes in the process.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "srxe.h"

#ifndef MADV_POPULATE_READ /* Linux 5.14; older C libraries lack it */
#define MADV_POPULATE_READ  22
#define MADV_POPULATE_WRITE 23
#endif

/*
 * Every operation of every transport srxe has can use on-demand memory,
 * as on kernel rxe 6.10+ for RC (rxe has no XRC).  Implicit MRs register
 * (srxed: the whole address space) but are not offered, as rxe does not:
 * UCX takes an offered implicit MR as the key of all its memory, which
 * would send all its transfers down the slow on-demand path, and UCX
 * 1.13's verbs memory domain then crashes at exit where it turned relaxed
 * ordering on (AMD CPUs): it deregisters a second MR it never registered
 * (docs/odp.md).
 */
void srxe_odp_caps(struct ibv_odp_caps *caps, uint32_t *xrc_caps)
{
	const uint32_t msg = IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV |
			     IBV_ODP_SUPPORT_SRQ_RECV;
	const uint32_t rdma = IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ |
			      IBV_ODP_SUPPORT_ATOMIC;

	caps->general_caps = IBV_ODP_SUPPORT;
	caps->per_transport_caps.rc_odp_caps = msg | rdma;
	caps->per_transport_caps.uc_odp_caps = msg | IBV_ODP_SUPPORT_WRITE;
	caps->per_transport_caps.ud_odp_caps = msg;
	*xrc_caps = msg | rdma;
}

int srxe_odp_add(struct srxe_context *ctx, const struct ibv_mr *mr)
{
	struct srxe_odp_mr *o = malloc(sizeof(*o));

	if (!o)
		return ENOMEM;
	o->lkey = mr->lkey;
	o->pd_handle = mr->pd->handle;
	o->addr = (uintptr_t)mr->addr;
	o->length = mr->length;
	pthread_mutex_lock(&ctx->odp_lock);
	o->next = ctx->odp_mrs;
	ctx->odp_mrs = o;
	pthread_mutex_unlock(&ctx->odp_lock);
	return 0;
}

void srxe_odp_del(struct srxe_context *ctx, uint32_t lkey)
{
	struct srxe_odp_mr **link, *gone = NULL;

	pthread_mutex_lock(&ctx->odp_lock);
	for (link = &ctx->odp_mrs; *link; link = &(*link)->next)
		if ((*link)->lkey == lkey) {
			gone = *link;
			*link = gone->next;
			break;
		}
	pthread_mutex_unlock(&ctx->odp_lock);
	free(gone);
}

void srxe_odp_fini(struct srxe_context *ctx)
{
	while (ctx->odp_mrs) {
		struct srxe_odp_mr *o = ctx->odp_mrs;

		ctx->odp_mrs = o->next;
		free(o);
	}
	pthread_mutex_destroy(&ctx->odp_lock);
}

/* The SGE lies in an on-demand MR of pd: 0, else EINVAL. */
static int sge_in_odp_mr(struct srxe_context *ctx, struct ibv_pd *pd,
			 const struct ibv_sge *sge)
{
	int ret = EINVAL;

	pthread_mutex_lock(&ctx->odp_lock);
	for (const struct srxe_odp_mr *o = ctx->odp_mrs; o; o = o->next) {
		if (o->lkey != sge->lkey)
			continue;
		if (o->pd_handle == pd->handle && sge->addr >= o->addr &&
		    sge->length <= o->length - (sge->addr - o->addr))
			ret = 0;
		break;
	}
	pthread_mutex_unlock(&ctx->odp_lock);
	return ret;
}

/* Fault the pages of [addr, addr + length) in, as an access would. */
static int populate(uint64_t addr, uint32_t length, bool write)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t start = addr & ~(page - 1);
	uint64_t end = (addr + length + page - 1) & ~(page - 1);

	if (!length)
		return 0;
	if (madvise((void *)(uintptr_t)start, end - start,
		    write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ))
		return errno == ENOMEM ? EFAULT : errno;
	return 0;
}

/*
 * Prefetch: the pages are faulted in now (also without
 * IBV_ADVISE_MR_FLAG_FLUSH: doing it before returning is allowed);
 * NO_FAULT only maps pages already present, which srxe's accesses find
 * anyway.  Errors as mlx5: EOPNOTSUPP for another advice, EINVAL for
 * unknown flags, no SGE, or an SGE outside the PD's on-demand MRs.
 */
int srxe_advise_mr(struct ibv_pd *pd, enum ibv_advise_mr_advice advice,
		   uint32_t flags, struct ibv_sge *sg_list, uint32_t num_sges)
{
	struct srxe_context *ctx = to_srxe_context(pd->context);
	bool write = advice == IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE;
	int ret = 0;

	if (advice != IBV_ADVISE_MR_ADVICE_PREFETCH &&
	    advice != IBV_ADVISE_MR_ADVICE_PREFETCH_WRITE &&
	    advice != IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT)
		return EOPNOTSUPP;
	if ((flags & ~IBV_ADVISE_MR_FLAG_FLUSH) || !num_sges || !sg_list)
		return EINVAL;
	for (uint32_t i = 0; i < num_sges && !ret; i++)
		ret = sge_in_odp_mr(ctx, pd, &sg_list[i]);
	if (advice == IBV_ADVISE_MR_ADVICE_PREFETCH_NO_FAULT)
		return ret;
	for (uint32_t i = 0; i < num_sges && !ret; i++)
		ret = populate(sg_list[i].addr, sg_list[i].length, write);
	return ret;
}
