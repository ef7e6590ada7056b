/* SPDX-License-Identifier: MIT */
/*
 * `srxe capture` in srxed: CAPTURE_START / CAPTURE_STOP
 * (include/srxe/proto_capture.h) on top of the engine's capture
 * (kernel-shim/engine/core/capture.h).  A capture belongs to the session that
 * started it; closing that session ends it.
 */
#ifndef SRXED_CAPTURE_CTL_H
#define SRXED_CAPTURE_CTL_H

#include "session.h"
#include "srxed.h"

/*
 * CAPTURE_START with the client's socket @fd (kept on success: *fd is set
 * to -1).  0, or a positive errno with why (SRXE_REASON_MAX + 1 bytes).
 */
int srxed_capture_start(struct srxed *d, struct srxed_session *s,
			const struct srxe_capture_start_req *r, int *fd,
			struct srxe_capture_start_resp *out, char *why);
/* CAPTURE_STOP: 0, or EINVAL when this session runs no capture. */
int srxed_capture_stop(struct srxed *d, struct srxed_session *s,
		       struct srxe_capture_stop_resp *out, char *why);
/* Session teardown: ends and frees the session's capture, if any. */
void srxed_capture_close(struct srxed *d, struct srxed_session *s);

#endif /* SRXED_CAPTURE_CTL_H */
