/* SPDX-License-Identifier: MIT */
/*
 * The data-path objects of a client context (issue #4): its ring arena and
 * doorbell, CQs, QPs, SRQs and AHs, served for the opcodes of
 * include/srxe/proto_verbs.h, each mirrored by an engine object
 * (engine/engine.h) created and destroyed under srxe_engine_lock().
 *
 * Contract:
 *  - The arena, the doorbell and the engine context are created together
 *    on the first request that needs them and live until the context
 *    closes.  Their fds stay owned by the session while a reply carries
 *    them.
 *  - Handles are per connection: a handle of another client, a stale or a
 *    forged one is "no such ..." (EINVAL).  Objects named in a request
 *    (PD, CQs, SRQ) are counted as used and cannot be destroyed (EBUSY)
 *    while something uses them.
 *  - Limits (devattr.h) are device-wide, counted in d->stats, answered
 *    with ENOMEM; bad sizes and values with EINVAL; unsupported features
 *    with EOPNOTSUPP; every refusal with a reason.
 *  - QP numbers are unique in this srxed (qpn.h).
 *  - srxed_verbs_close() destroys, in order, QPs, SRQs, CQs, AHs, the
 *    engine context, the doorbell and the arena; it must run before the
 *    context's memory (mr.h) goes, since the engine translates through it.
 */
#ifndef SRXED_VERBS_H
#define SRXED_VERBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "session.h"
#include "srxe/proto_verbs.h"
#include "srxe/proto_xrc.h"
#include "srxed.h"

union srxed_verbs_reply {
	struct srxe_map_rings_resp map_rings;
	struct srxe_create_cq_resp create_cq;
	struct srxe_resize_cq_resp resize_cq;
	struct srxe_create_qp_resp create_qp;
	struct srxe_query_qp_resp query_qp;
	struct srxe_create_srq_resp create_srq;
	struct srxe_modify_srq_resp modify_srq;
	struct srxe_query_srq_resp query_srq;
	struct srxe_create_ah_resp create_ah;
	/* issue #10: include/srxe/proto_xrc.h */
	struct srxe_open_xrcd_resp open_xrcd;
	struct srxe_create_xsrq_resp create_xsrq;
	struct srxe_create_xrc_tgt_resp create_xrc_tgt;
};

/*
 * Serves one request of opcode SRXE_OP_MAP_RINGS..SRXE_OP_DESTROY_AH,
 * SRXE_OP_ATTACH_MCAST / SRXE_OP_DETACH_MCAST (proto_mcast.h) or of the
 * XRC opcodes (proto_xrc.h), whose body has the size proto.c's table
 * gives.  Returns 0 or a positive errno with why (SRXE_REASON_MAX + 1
 * bytes); *reply_fd may receive a session-owned fd to send with the
 * reply; *fd is the request's fd (OPEN_XRCD), -1 for none, not taken.
 */
int srxed_verbs_request(struct srxed *d, struct srxed_session *s,
			uint16_t opcode, const void *body, int *fd,
			union srxed_verbs_reply *reply, int *reply_fd,
			char *why);

void srxed_verbs_close(struct srxed *d, struct srxed_session *s);

/*
 * Engine threads of the device: cfg->engines (srxed --engines) when set,
 * else srxed_engine_threads_for_cpus() of the CPUs srxed may run on
 * (sched_getaffinity, else the online CPUs).
 */
unsigned int srxed_engine_threads(const struct srxed_config *cfg);
/* The default for ncpus CPUs: ncpus / 4, at least 1, at most
 * SRXE_ENGINE_MAX_THREADS (2 or 4 CPUs: 1, 8: 2, 16: 4). */
unsigned int srxed_engine_threads_for_cpus(unsigned int ncpus);

/* Starts / stops d->engine for the device (srxed_engine_threads() of
 * d->cfg); 0 or -errno with err[cap]. */
int srxed_verbs_engine_start(struct srxed *d, char *err, size_t cap);
void srxed_verbs_engine_stop(struct srxed *d);

/* Fills the packet and wire counters of a STATUS reply from d->engine. */
struct srxe_status_resp;
void srxed_verbs_packet_status(struct srxed *d, struct srxe_status_resp *st);

#endif /* SRXED_VERBS_H */
