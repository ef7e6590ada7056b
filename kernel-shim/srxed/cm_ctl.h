/* SPDX-License-Identifier: MIT */
/*
 * srxed's side of the connection manager (issue #11): binds the CM state
 * machines (kernel-shim/cm/cm.h) to the engine's QP 1, to srxed's epoll
 * loop and to the CM opcodes 64-74 (include/srxe/proto_cm.h).
 *
 * Contract:
 *  - srxed_cm_start() registers one epoll fd of its own in the server's
 *    set; it holds an eventfd (MADs queued by the engine thread), a
 *    timerfd (the CM's next deadline) and the channel sockets that wait
 *    for EPOLLOUT.  srxed_cm_event() serves it without blocking.
 *  - The engine's GSI callback (engine thread, engine lock held) only
 *    copies a MAD into a bounded queue (SRXED_CM_RXQ entries; full: the
 *    MAD is dropped and counted) and wakes the loop.
 *  - MADs leave with srxe_eng_gsi_send() under the engine lock, to the
 *    peer's GID, QPN 1, Q_Key 0x80010000.
 *  - Requests answer 0 or a positive errno with a reason; the CM state of
 *    a session goes with srxed_cm_session_gone().
 *  - Without srxed_cm_start() (unit tests of srxed) every CM request is
 *    EOPNOTSUPP.
 */
#ifndef SRXED_CM_CTL_H
#define SRXED_CM_CTL_H

#include <stdint.h>

#include "session.h"
#include "srxe/proto.h"
#include "srxe/proto_cm.h"
#include "srxed.h"

#define SRXED_CM_RXQ 1024

union srxed_cm_reply {
	struct srxe_cm_add_channel_resp add_channel;
	struct srxe_cm_handle_resp handle;
};

int srxed_cm_start(struct srxed *d, int server_epoll_fd);
void srxed_cm_event(struct srxed *d);
void srxed_cm_stop(struct srxed *d);
/* The CM counters of STATUS (left 0 without srxed_cm_start()). */
void srxed_cm_status(struct srxed *d, struct srxe_status_resp *out);
void srxed_cm_session_gone(struct srxed *d, struct srxed_session *s);

/* Opcodes 64-74; *fd (CM_ADD_CHANNEL) is set to -1 when kept. */
int srxed_cm_request(struct srxed *d, struct srxed_session *s, uint16_t opcode,
		     const void *body, int *fd, union srxed_cm_reply *rep,
		     char *why);

#endif /* SRXED_CM_CTL_H */
