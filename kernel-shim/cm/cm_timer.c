// SPDX-License-Identifier: MIT
/*
 * CM timers: one deadline per connection (response timeout with retries,
 * MRA's extended wait, TimeWait), kept on one list; the earliest is
 * announced through ops->set_timer.  The list only holds connections
 * with a running timer, so a flood of REQs that are dropped costs nothing.
 */
#include "cm_int.h"

static void announce(struct srxe_cm *cm, uint64_t deadline)
{
	cm->armed = deadline;
	if (cm->ops.set_timer)
		cm->ops.set_timer(cm->opaque, deadline);
}

void cm_timer_start(struct srxe_cm *cm, struct cm_conn *c, uint32_t ms,
		    uint8_t retries)
{
	if (!c->timer_on) {
		c->tprev = NULL;
		c->tnext = cm->timers;
		if (cm->timers)
			cm->timers->tprev = c;
		cm->timers = c;
		c->timer_on = true;
	}
	c->retries_left = retries;
	c->deadline = cm->ops.now_ms(cm->opaque) + ms;
	if (!cm->armed || c->deadline < cm->armed)
		announce(cm, c->deadline);
}

void cm_timer_stop(struct srxe_cm *cm, struct cm_conn *c)
{
	if (!c->timer_on)
		return;
	if (c->tprev)
		c->tprev->tnext = c->tnext;
	else
		cm->timers = c->tnext;
	if (c->tnext)
		c->tnext->tprev = c->tprev;
	c->tnext = c->tprev = NULL;
	c->timer_on = false;
}

void cm_timer_rearm(struct srxe_cm *cm)
{
	uint64_t next = 0;
	struct cm_conn *c;

	for (c = cm->timers; c; c = c->tnext)
		if (!next || c->deadline < next)
			next = c->deadline;
	if (next != cm->armed)
		announce(cm, next);
	else if (!next && cm->ops.set_timer)
		cm->ops.set_timer(cm->opaque, 0);
}

void srxe_cm_timer(struct srxe_cm *cm)
{
	uint64_t now = cm->ops.now_ms(cm->opaque);
	struct cm_conn *c, *next;

	/* A handler touches only its own connection: it may free it or
	 * start its timer again (at the list head, behind us). */
	for (c = cm->timers; c; c = next) {
		next = c->tnext;
		if (c->deadline > now)
			continue;
		cm_timer_stop(cm, c);
		cm_conn_timeout(cm, c);
	}
	cm->armed = 0;
	cm_timer_rearm(cm);
}
