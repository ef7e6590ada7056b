// SPDX-License-Identifier: MIT
/* CREATE_AH, DESTROY_AH (contract in verbs.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devattr.h"
#include "objects/qp_state.h"
#include "verbs_objs.h"

#define say srxed_say

static int engine_create(struct srxed *d, struct srxed_verbs_ctx *v,
			 const struct srxe_create_ah_req *req,
			 struct srxed_ah *ah, char *why)
{
	const char *reason = NULL;
	int ret;

	/* The AH table is read by engine threads: change it under the lock. */
	srxe_engine_lock(d->engine);
	ret = srxe_eng_ah_create(v->eng, req->pd_handle, &req->ah, &ah->eng,
				 &reason);
	if (ret) {
		say(why, -ret, "the engine cannot resolve the address: %s",
		    reason ? reason : strerror(-ret));
	} else if (srxed_handle_alloc(&v->ahs, ah, &ah->handle)) {
		srxe_eng_ah_destroy(ah->eng);
		ret = -say(why, ENOMEM, "context AH limit (max_ah %u) reached",
			   SRXED_MAX_AH);
	}
	srxe_engine_unlock(d->engine);
	return -ret;
}

int srxed_ah_create(struct srxed *d, struct srxed_session *s,
		    const struct srxe_create_ah_req *req,
		    struct srxe_create_ah_resp *resp, char *why)
{
	struct srxed_pd *pd = srxed_handle_lookup(&s->pds, req->pd_handle);
	struct srxe_qp_limits lim;
	struct srxed_verbs_ctx *v;
	struct srxed_ah *ah;
	int ret;

	if (req->reserved || req->ah.reserved)
		return say(why, EINVAL, "reserved fields must be 0");
	if (!pd)
		return say(why, EINVAL, "no such PD: handle 0x%x",
			   req->pd_handle);
	srxed_qp_limits(&lim);
	if (srxe_av_check(&req->ah, &lim, why, SRXE_REASON_MAX + 1))
		return EINVAL;
	if (d->stats.ahs >= SRXED_MAX_AH)
		return say(why, ENOMEM, "device AH limit (max_ah %u) reached",
			   SRXED_MAX_AH);
	v = srxed_verbs_ctx_get(d, s, &ret, why);
	if (!v)
		return ret;
	ah = calloc(1, sizeof(*ah));
	if (!ah)
		return say(why, ENOMEM, "srxed is out of memory");
	ret = engine_create(d, v, req, ah, why);
	if (ret) {
		free(ah);
		return ret;
	}
	ah->pd = pd;
	pd->users++;
	d->stats.ahs++;
	resp->ah_handle = ah->handle;
	resp->reserved = 0;
	return 0;
}

void srxed_ah_release(struct srxed *d, struct srxed_verbs_ctx *v,
		      struct srxed_ah *ah)
{
	srxe_engine_lock(d->engine);
	srxe_eng_ah_destroy(ah->eng);
	srxe_engine_unlock(d->engine);
	ah->pd->users--;
	d->stats.ahs--;
	free(ah);
}

int srxed_ah_destroy(struct srxed *d, struct srxed_session *s,
		     const struct srxe_destroy_req *req, char *why)
{
	struct srxed_verbs_ctx *v = s->verbs;
	struct srxed_ah *ah;

	if (req->reserved)
		return say(why, EINVAL, "reserved field must be 0");
	ah = v ? srxed_handle_lookup(&v->ahs, req->handle) : NULL;
	if (!ah)
		return say(why, EINVAL, "no such AH: handle 0x%x", req->handle);
	srxe_engine_lock(d->engine);
	srxe_eng_ctx_send_posted_ud(v->eng);
	srxed_handle_free(&v->ahs, req->handle);
	srxe_eng_ah_destroy(ah->eng);
	srxe_engine_unlock(d->engine);
	ah->pd->users--;
	d->stats.ahs--;
	free(ah);
	return 0;
}
