/* SPDX-License-Identifier: MIT */
/*
 * Port state from the netdev's link state (issue #6): a thread listens to
 * rtnetlink link notifications for the device's netdev and, when the link
 * goes down or comes back, raises IBV_EVENT_PORT_ERR / IBV_EVENT_PORT_ACTIVE
 * (element: port 1) on every context's async channel, as the kernel's
 * RoCE drivers do on netdev carrier changes.  QUERY_PORT reports the same
 * state (srxed_port_is_up()).
 *
 * Contract:
 *  - "Up" is IFF_UP and IFF_RUNNING (administratively up with carrier).
 *  - One event per change; repeated notifications with the same state are
 *    ignored.  Each change to down also counts in d->link_downed (rxe's
 *    link_downed hw counter, countersfs.h).
 *  - Start after the engine, stop before it: the thread takes the engine
 *    lock to post events.  A start failure (no netlink) is logged and
 *    leaves the port reported as up, never stops srxed.
 */
#ifndef SRXED_LINKWATCH_H
#define SRXED_LINKWATCH_H

#include <pthread.h>
#include <stdbool.h>

#include "srxed.h"

struct srxed_linkwatch {
	struct srxed *d;
	int nl_fd, stop_fd;
	unsigned int ifindex;
	pthread_t thread;
	bool running;
};

/* 0 or a negative errno (logged); lw is always safe to stop. */
int srxed_linkwatch_start(struct srxed_linkwatch *lw, struct srxed *d);
void srxed_linkwatch_stop(struct srxed_linkwatch *lw);

/* Current port state for QUERY_PORT. */
bool srxed_port_is_up(const struct srxed *d);

#endif /* SRXED_LINKWATCH_H */
