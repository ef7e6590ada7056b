/* SPDX-License-Identifier: MIT */
/*
 * Private contract between the modules of the srxe libibverbs provider.
 *
 * A verbs context is backed by one connection to srxed (include/srxe/
 * client.h): every verb that needs the device turns into one synchronous
 * request on that connection.  The provider keeps no device state of its
 * own beyond handles; srxed is the authority.
 */
#ifndef SRXE_PROVIDER_H
#define SRXE_PROVIDER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "srxe/client.h"
#include "srxe/verbs_abi.h"
#include "srxe_rings.h"
#include "srxe_svc.h"

struct srxe_device {
	struct verbs_device vdev;
};

struct srxe_context {
	/* srxed gone (srxe_fatal.h): dead flag, async write end, state;
	 * inherited: dead because this is a fork() child's copy */
	int dead;
	bool inherited;
	int async_wfd;
	struct srxe_fatal *fatal;
	struct srxe_conn conn;
	uint32_t ctx_handle;  /* srxed's name for this context */
	uint32_t translation; /* enum srxe_translation */
	/* memfd of the process's frames: the descriptor every context of
	 * this srxed shares (srxe_proc.h); moves use it */
	int slab_fd;
	uint64_t slab_bytes;
	struct srxe_arena arena; /* work rings, doorbell (srxe_rings.h) */
	struct srxe_svc svc;	 /* completion channels (srxe_svc.h) */
	/* on-demand MRs of this context, for ibv_advise_mr() (srxe_odp.c) */
	pthread_mutex_t odp_lock;
	struct srxe_odp_mr *odp_mrs;
	/* the device's attributes as srxed gave them (have_attr): a fork
	 * child's copy of the context still answers them (srxe_query.c) */
	int have_attr;
	struct srxe_query_device_resp attr;
	struct verbs_context vctx; /* ibv_context is its last member */
};

static inline struct srxe_context *to_srxe_context(struct ibv_context *ibctx)
{
	struct verbs_context *vctx =
		srxe_container_of(ibctx, struct verbs_context, context);

	return srxe_container_of(vctx, struct srxe_context, vctx);
}

static inline const char *srxe_devname(const struct srxe_context *ctx)
{
	return ctx->vctx.context.device->name;
}

/* srxe_context.c: verbs_device_ops.alloc_context and the ops table. */
struct verbs_context *srxe_alloc_context(struct ibv_device *ibdev, int cmd_fd,
					 void *private_data);

/*
 * One request on the context's connection.  Returns 0 or a positive errno
 * (also stored in errno).  A broken connection is reported on stderr once
 * per call; a refusal by srxed only when SRXE_DEBUG is set, since callers
 * such as test suites provoke refusals on purpose.
 */
int srxe_ctx_call(struct srxe_context *ctx, uint16_t op, const void *req,
		  size_t req_len, void *reply, size_t reply_len);
/* The same with one fd sent beside the request (-1: none). */
int srxe_ctx_call_fd(struct srxe_context *ctx, uint16_t op, const void *req,
		     size_t req_len, int fd, void *reply, size_t reply_len);

/*
 * srxe_arena.c: fetch the ring arena (MAP_RINGS) and the doorbell
 * (GET_DOORBELL) into ctx->arena.  An srxed without the data path leaves
 * the arena unavailable and returns 0, so the context still serves the
 * #2/#3 verbs; other failures return a positive errno.
 */
int srxe_arena_open(struct srxe_context *ctx);

/* srxe_query.c */
int srxe_query_device_ex(struct ibv_context *ibctx,
			 const struct ibv_query_device_ex_input *input,
			 struct ibv_device_attr_ex *attr, size_t attr_size);
/* Completion timestamps' clock: CLOCK_MONOTONIC ns, i.e. 1 GHz. */
#define SRXE_CORE_CLOCK_KHZ 1000000u
int srxe_query_rt_values(struct ibv_context *ibctx, struct ibv_values_ex *v);
int srxe_query_port(struct ibv_context *ibctx, uint8_t port_num,
		    struct ibv_port_attr *port_attr);

/* srxe_pd.c: PDs, thread domains, parent domains (which carry their PD's
 * handle: every verb takes one in place of its PD). */
struct ibv_pd *srxe_alloc_pd(struct ibv_context *ibctx);
int srxe_dealloc_pd(struct ibv_pd *pd);
struct ibv_td *srxe_alloc_td(struct ibv_context *ibctx,
			     struct ibv_td_init_attr *attr);
int srxe_dealloc_td(struct ibv_td *td);
struct ibv_pd *
srxe_alloc_parent_domain(struct ibv_context *ibctx,
			 struct ibv_parent_domain_init_attr *attr);
bool srxe_is_parent_domain(struct ibv_pd *pd);

/*
 * srxe_odp.c: on-demand MRs (docs/odp.md).  srxed registers them (nothing
 * moves); the provider keeps each context's in a list so that
 * ibv_advise_mr() can check its SGEs against them.  add: 0 or ENOMEM.
 */
struct srxe_odp_mr {
	struct srxe_odp_mr *next;
	uint32_t lkey;
	uint32_t pd_handle; /* a parent domain stands for its PD */
	uint64_t addr, length;
};
int srxe_odp_add(struct srxe_context *ctx, const struct ibv_mr *mr);
void srxe_odp_del(struct srxe_context *ctx, uint32_t lkey);
void srxe_odp_fini(struct srxe_context *ctx);
int srxe_advise_mr(struct ibv_pd *pd, enum ibv_advise_mr_advice advice,
		   uint32_t flags, struct ibv_sge *sg_list, uint32_t num_sges);
/* query_device_ex's odp_caps and xrc_odp_caps */
void srxe_odp_caps(struct ibv_odp_caps *caps, uint32_t *xrc_caps);

/*
 * srxe_dm.c: device memory (docs/device-memory.md): memory srxe maps into
 * the process per allocation, registered zero-based.  srxe_dm_mr_gone():
 * an MR of @dm was deregistered (srxe_mr.c).
 */
#define SRXE_DM_MAX_BYTES     (256u << 10)
#define SRXE_DM_MAX_LOG_ALIGN 12u /* page alignment */
struct srxe_dm;
struct ibv_dm *srxe_alloc_dm(struct ibv_context *ibctx,
			     struct ibv_alloc_dm_attr *attr);
int srxe_free_dm(struct ibv_dm *dm);
struct ibv_mr *srxe_reg_dm_mr(struct ibv_pd *pd, struct ibv_dm *dm,
			      uint64_t dm_offset, size_t length,
			      unsigned int access);
void srxe_dm_mr_gone(struct srxe_dm *dm);

/* srxe_mr.c; _in: an MR of device memory @dm (NULL: none) */
struct ibv_mr *srxe_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			   uint64_t hca_va, int access);
struct ibv_mr *srxe_reg_mr_in(struct ibv_pd *pd, void *addr, size_t length,
			      uint64_t hca_va, int access, struct srxe_dm *dm);
int srxe_dereg_mr(struct verbs_mr *vmr);
int srxe_rereg_mr(struct verbs_mr *vmr, int flags, struct ibv_pd *pd,
		  void *addr, size_t length, int access);

/* srxe_mw.c */
struct ibv_mw *srxe_alloc_mw(struct ibv_pd *pd, enum ibv_mw_type type);
int srxe_dealloc_mw(struct ibv_mw *mw);
int srxe_bind_mw(struct ibv_qp *qp, struct ibv_mw *mw,
		 struct ibv_mw_bind *mw_bind);

#endif /* SRXE_PROVIDER_H */
