// SPDX-License-Identifier: MIT
/*
 * ATTACH_MCAST, DETACH_MCAST (issue #10; contract in
 * include/srxe/proto_mcast.h, design in docs/multicast.md).  The group
 * table lives in the engine, which delivers from it; this is the
 * request side: handle checks and the engine call under its lock.
 */
#include <errno.h>
#include <string.h>

#include "verbs_objs.h"

#define say srxed_say

static int mcast_op(struct srxed *d, struct srxed_session *s,
		    const struct srxe_mcast_req *req, bool attach, char *why)
{
	struct srxed_qp *qp;
	const char *reason = NULL;
	int ret;

	if (req->reserved)
		return say(why, EINVAL, "reserved field must be 0");
	qp = s->verbs ? srxed_handle_lookup(&s->verbs->qps, req->qp_handle)
		      : NULL;
	if (!qp)
		return say(why, EINVAL, "no such QP: handle 0x%x",
			   req->qp_handle);
	srxe_engine_lock(d->engine);
	ret = attach ? srxe_eng_mcast_attach(qp->eng, req->gid, &reason)
		     : srxe_eng_mcast_detach(qp->eng, req->gid, &reason);
	srxe_engine_unlock(d->engine);
	if (ret)
		return say(why, -ret, "%s QP 0x%x: %s",
			   attach ? "attach_mcast" : "detach_mcast", qp->qpn,
			   reason ? reason : strerror(-ret));
	return 0;
}

int srxed_mcast_attach(struct srxed *d, struct srxed_session *s,
		       const struct srxe_mcast_req *req, char *why)
{
	return mcast_op(d, s, req, true, why);
}

int srxed_mcast_detach(struct srxed *d, struct srxed_session *s,
		       const struct srxe_mcast_req *req, char *why)
{
	return mcast_op(d, s, req, false, why);
}
