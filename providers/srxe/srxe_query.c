// SPDX-License-Identifier: MIT
/*
 * Device and port attributes, as srxed reports them.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "srxe.h"

/*
 * Everything past the legacy attributes describes features srxe does not
 * have (RSS, tag matching, ...) unless filled in: zero is the truthful
 * answer.  Filled in: the fields that restate legacy facts, on-demand
 * paging (srxe_odp.c), device memory (srxe_dm.c), and completion
 * timestamps, which the engine takes
 * on CLOCK_MONOTONIC in ns (a 1 GHz device clock that never wraps).
 */
static void srxe_fill_device_attr_ex(struct ibv_device_attr_ex *full,
				     const struct srxe_query_device_resp *r)
{
	memset(full, 0, sizeof(*full));
	full->orig_attr = r->attr;
	full->device_cap_flags_ex = (uint64_t)r->cap_flags_ex_hi << 32 |
				    (uint32_t)r->attr.device_cap_flags;
	full->phys_port_cnt_ex = r->attr.phys_port_cnt;
	srxe_odp_caps(&full->odp_caps, &full->xrc_odp_caps);
	full->completion_timestamp_mask = UINT64_MAX;
	full->hca_core_clock = SRXE_CORE_CLOCK_KHZ;
	full->max_dm_size = SRXE_DM_MAX_BYTES;
}

/* The device clock's raw value, as mlx5: the cycles (ns) in tv_nsec. */
int srxe_query_rt_values(struct ibv_context *ibctx, struct ibv_values_ex *v)
{
	struct timespec now;

	(void)ibctx;
	if (!(v->comp_mask & IBV_VALUES_MASK_RAW_CLOCK)) {
		v->comp_mask = 0;
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	v->raw_clock.tv_sec = 0;
	v->raw_clock.tv_nsec =
		(long)((uint64_t)now.tv_sec * 1000000000ull + now.tv_nsec);
	v->comp_mask = IBV_VALUES_MASK_RAW_CLOCK;
	return 0;
}

/*
 * srxed's answer, kept: a fork() child's copy of the context (dead for
 * every other verb, srxe_fatal.h) answers from it, as the kernel answers
 * a child through the inherited command fd.  The attributes never change.
 */
enum { ATTR_NONE, ATTR_WRITING, ATTR_KEPT }; /* srxe_context.have_attr */

static int device_attr(struct srxe_context *ctx,
		       struct srxe_query_device_resp *resp)
{
	int none = ATTR_NONE, ret;

	if (ctx->inherited &&
	    __atomic_load_n(&ctx->have_attr, __ATOMIC_ACQUIRE) == ATTR_KEPT) {
		*resp = ctx->attr;
		return 0;
	}
	ret = srxe_ctx_call(ctx, SRXE_OP_QUERY_DEVICE, NULL, 0, resp,
			    sizeof(*resp));
	/* the first answer is kept, by the one caller that claims it */
	if (!ret && __atomic_compare_exchange_n(
			    &ctx->have_attr, &none, ATTR_WRITING, false,
			    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		ctx->attr = *resp;
		__atomic_store_n(&ctx->have_attr, ATTR_KEPT, __ATOMIC_RELEASE);
	}
	return ret;
}

/*
 * Also reached from legacy ibv_query_device(), with input == NULL and
 * attr_size == sizeof(struct ibv_device_attr): callers built against older
 * headers pass smaller structs, so never touch memory past attr_size.
 */
int srxe_query_device_ex(struct ibv_context *ibctx,
			 const struct ibv_query_device_ex_input *input,
			 struct ibv_device_attr_ex *attr, size_t attr_size)
{
	struct srxe_query_device_resp resp;
	struct ibv_device_attr_ex full;
	int ret;

	if ((input && input->comp_mask) ||
	    attr_size < sizeof(struct ibv_device_attr)) {
		errno = EINVAL;
		return EINVAL;
	}
	ret = device_attr(to_srxe_context(ibctx), &resp);
	if (ret)
		return ret;
	srxe_fill_device_attr_ex(&full, &resp);
	memcpy(attr, &full,
	       attr_size < sizeof(full) ? attr_size : sizeof(full));
	return 0;
}

/* libibverbs hands us a zeroed, full-sized port_attr. */
int srxe_query_port(struct ibv_context *ibctx, uint8_t port_num,
		    struct ibv_port_attr *port_attr)
{
	struct srxe_query_port_req req = { .port_num = port_num };
	struct srxe_query_port_resp resp;
	int ret;

	ret = srxe_ctx_call(to_srxe_context(ibctx), SRXE_OP_QUERY_PORT, &req,
			    sizeof(req), &resp, sizeof(resp));
	if (ret)
		return ret;

	*port_attr = resp.attr;
	return 0;
}
