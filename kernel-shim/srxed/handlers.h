/* SPDX-License-Identifier: MIT */
/*
 * Control-protocol request handling: turns one received datagram into one
 * reply datagram for one client session.  Transport concerns (sockets,
 * ancillary data, back-pressure) stay in server.c; object lifetimes stay in
 * session.c.
 *
 * Contract of srxed_dispatch():
 *  - Every datagram, valid or not, yields a reply (an error reply names
 *    the problem); it returns the reply length (> 0).
 *  - *fd is the descriptor that came with the datagram or -1.  A handler
 *    that keeps it sets *fd to -1; the caller closes whatever is left.
 *  - *err_out is 0 on success, the positive errno a handler answered, or
 *    a negative errno when the datagram itself was malformed (the server
 *    counts those to drop clients that only send garbage).
 *  - *reply_fd is a descriptor to send with the reply (SCM_RIGHTS) or -1.
 *    It stays owned by the session, which outlives the pending reply.
 *  - Counts every request in d->stats.requests and every error reply in
 *    d->stats.rejected.
 */
#ifndef SRXED_HANDLERS_H
#define SRXED_HANDLERS_H

#include <stddef.h>

#include "session.h"
#include "srxed.h"

size_t srxed_dispatch(struct srxed *d, struct srxed_session *s, const void *msg,
		      size_t len, int *fd, void *reply, size_t cap,
		      int *err_out, int *reply_fd);

/*
 * Error reply for a datagram the transport already rejected (oversized,
 * bad ancillary data); echoes the header when msg holds one.  Counts it
 * like srxed_dispatch().
 */
size_t srxed_reject(struct srxed *d, const void *msg, size_t len, int err,
		    const char *why, void *reply, size_t cap);

#endif /* SRXED_HANDLERS_H */
