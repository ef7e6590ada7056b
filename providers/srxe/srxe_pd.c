// SPDX-License-Identifier: MIT
/*
 * Protection domains, thread domains and parent domains.  srxed owns the
 * PDs; the provider keeps the handle in ibv_pd.handle, where later verbs
 * (MR, QP, SRQ, AH, MW) find it.  Thread and parent domains exist only
 * here:
 *
 *  - a thread domain (ibv_alloc_td) is the application's promise that
 *    one thread uses the objects created with it.  srxe accepts it and
 *    keeps its locks: they are uncontended then and cost little.
 *  - a parent domain (ibv_alloc_parent_domain) is an ibv_pd carrying its
 *    PD's handle, so every verb takes it in place of the PD, with its TD
 *    and the application's pd_context.  Its allocators are never called:
 *    srxe's queues live in the memory srxed shares with the process (the
 *    arena, srxe_rings.h), which an application allocator cannot provide,
 *    as if each call had answered IBV_ALLOCATOR_USE_DEFAULT.
 *
 * A PD or TD that parent domains still use cannot be freed (EBUSY), as
 * with mlx5.
 */
#include <errno.h>
#include <stdlib.h>

#include "srxe.h"

enum srxe_pd_kind {
	SRXE_PD_PLAIN = 0x50445044,  /* "PDPD" */
	SRXE_PD_PARENT = 0x50415245, /* "PARE" */
};

/* ibv_pd first: libibverbs and the other verbs see an ibv_pd. */
struct srxe_pd {
	struct ibv_pd ibv_pd;
	uint32_t kind;
	uint32_t parents; /* __atomic: parent domains over this PD */
	/* a parent domain's: */
	struct srxe_pd *pd;
	struct srxe_td *td;
	void *pd_context;
};

struct srxe_td {
	struct ibv_td ibv_td;
	uint32_t parents; /* __atomic */
};

static struct srxe_pd *to_srxe_pd(struct ibv_pd *pd)
{
	return srxe_container_of(pd, struct srxe_pd, ibv_pd);
}

bool srxe_is_parent_domain(struct ibv_pd *pd)
{
	return pd && to_srxe_pd(pd)->kind == SRXE_PD_PARENT;
}

struct ibv_pd *srxe_alloc_pd(struct ibv_context *ibctx)
{
	struct srxe_alloc_pd_resp resp;
	struct srxe_pd *pd;
	int ret;

	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		errno = ENOMEM;
		return NULL;
	}

	ret = srxe_ctx_call(to_srxe_context(ibctx), SRXE_OP_ALLOC_PD, NULL, 0,
			    &resp, sizeof(resp));
	if (ret) {
		free(pd);
		errno = ret;
		return NULL;
	}

	pd->kind = SRXE_PD_PLAIN;
	pd->ibv_pd.context = ibctx;
	pd->ibv_pd.handle = resp.pd_handle;
	return &pd->ibv_pd;
}

static int dealloc_parent(struct srxe_pd *parent)
{
	__atomic_sub_fetch(&parent->pd->parents, 1, __ATOMIC_RELEASE);
	if (parent->td)
		__atomic_sub_fetch(&parent->td->parents, 1, __ATOMIC_RELEASE);
	free(parent);
	return 0;
}

/*
 * On failure (e.g. EBUSY while MRs still use it) the PD stays valid, as
 * with kernel providers, so the caller may retry.
 */
int srxe_dealloc_pd(struct ibv_pd *ibpd)
{
	struct srxe_pd *pd = to_srxe_pd(ibpd);
	struct srxe_dealloc_pd_req req = { .pd_handle = ibpd->handle };
	int ret;

	if (pd->kind == SRXE_PD_PARENT)
		return dealloc_parent(pd);
	if (__atomic_load_n(&pd->parents, __ATOMIC_ACQUIRE))
		return EBUSY;
	ret = srxe_ctx_call(to_srxe_context(ibpd->context), SRXE_OP_DEALLOC_PD,
			    &req, sizeof(req), NULL, 0);
	if (ret)
		return ret;

	free(pd);
	return 0;
}

struct ibv_td *srxe_alloc_td(struct ibv_context *ibctx,
			     struct ibv_td_init_attr *attr)
{
	struct srxe_td *td;

	if (attr->comp_mask) {
		errno = EINVAL;
		return NULL;
	}
	td = calloc(1, sizeof(*td));
	if (!td) {
		errno = ENOMEM;
		return NULL;
	}
	td->ibv_td.context = ibctx;
	return &td->ibv_td;
}

int srxe_dealloc_td(struct ibv_td *ibtd)
{
	struct srxe_td *td = srxe_container_of(ibtd, struct srxe_td, ibv_td);

	if (__atomic_load_n(&td->parents, __ATOMIC_ACQUIRE))
		return EBUSY;
	free(td);
	return 0;
}

/* EINVAL as mlx5: no PD, a parent domain as PD, objects of another
 * device context, unknown comp_mask bits. */
static int check_parent_attr(struct ibv_context *ibctx,
			     const struct ibv_parent_domain_init_attr *attr)
{
	const uint32_t known = IBV_PARENT_DOMAIN_INIT_ATTR_ALLOCATORS |
			       IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT;

	if (!attr->pd || attr->pd->context != ibctx ||
	    srxe_is_parent_domain(attr->pd) ||
	    (attr->td && attr->td->context != ibctx) ||
	    (attr->comp_mask & ~known))
		return EINVAL;
	if ((attr->comp_mask & IBV_PARENT_DOMAIN_INIT_ATTR_ALLOCATORS) &&
	    (!attr->alloc || !attr->free))
		return EINVAL;
	return 0;
}

struct ibv_pd *
srxe_alloc_parent_domain(struct ibv_context *ibctx,
			 struct ibv_parent_domain_init_attr *attr)
{
	int ret = check_parent_attr(ibctx, attr);
	struct srxe_pd *parent;

	if (ret) {
		errno = ret;
		return NULL;
	}
	parent = calloc(1, sizeof(*parent));
	if (!parent) {
		errno = ENOMEM;
		return NULL;
	}
	parent->kind = SRXE_PD_PARENT;
	parent->ibv_pd.context = ibctx;
	parent->ibv_pd.handle = attr->pd->handle;
	parent->pd = to_srxe_pd(attr->pd);
	__atomic_add_fetch(&parent->pd->parents, 1, __ATOMIC_ACQ_REL);
	if (attr->td) {
		parent->td =
			srxe_container_of(attr->td, struct srxe_td, ibv_td);
		__atomic_add_fetch(&parent->td->parents, 1, __ATOMIC_ACQ_REL);
	}
	if (attr->comp_mask & IBV_PARENT_DOMAIN_INIT_ATTR_PD_CONTEXT)
		parent->pd_context = attr->pd_context;
	return &parent->ibv_pd;
}
