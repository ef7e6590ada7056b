// SPDX-License-Identifier: MIT
/*
 * rpoll and rselect (rsocket_int.h): rsockets and ordinary fds in one
 * call.  An rsocket is ready by its own state (connect progress, pending
 * requests, received data, room to send); to sleep, poll() waits on its
 * event channel and, once connected, its armed completion channel; a
 * datagram rsocket on its epoll fd (rsocket_dgram.c).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

#include <rdma/rsocket.h>

#include "rsocket_int.h"

/* An rsocket's poll events now, driving its set-up and transfers. */
static short rs_revents(struct rsock *rs, short events)
{
	short r = 0;

	if (rs->dg)
		return rs_dgram_revents(rs, events);
	/* Set-up lives on CM events; a connection only ends by one, and
	 * rpoll's sleep watches the channel, so a glance does meanwhile. */
	if (rs->phase == RS_CONNECTED)
		rs_cm_glance(rs);
	else
		rs_cm_drain(rs);
	switch (rs->phase) {
	case RS_LISTENING:
		return rs->npend ? (events & POLLIN) : 0;
	case RS_CONNECTED:
		rs_stream_progress(rs);
		if (rs_stream_has_data(rs) || !rs->readable)
			r |= events & POLLIN;
		if (rs_stream_can_send(rs) || !rs->writable)
			r |= events & POLLOUT;
		/* Hung up once nothing is left to read, as TCP: programs
		 * that stop at POLLHUP still get the peer's last bytes. */
		if (!rs->readable && !rs->writable && !rs_stream_has_data(rs))
			r |= POLLHUP;
		if (rs->err)
			r |= POLLERR;
		return r;
	case RS_FAILED:
		/* As rdma-core: programs print errno after such a poll. */
		errno = rs->err;
		return (short)(POLLOUT | POLLERR | POLLHUP) &
		       (events | POLLERR | POLLHUP);
	case RS_INIT:
	case RS_BOUND:
		return (short)(events & POLLOUT) | POLLHUP;
	default:
		return 0;
	}
}

/* What rpoll sleeps on for one rsocket: its CM channel, and its CQ's
 * channel once connected (armed, so that a completion wakes it). */
static void rs_sleep_fds(struct rsock *rs, struct pollfd *cm, struct pollfd *cq)
{
	*cq = (struct pollfd){ -1, POLLIN, 0 };
	if (rs->dg) {
		*cm = (struct pollfd){ rs->fd, POLLIN, 0 };
		rs_dgram_arm(rs);
		return;
	}
	*cm = (struct pollfd){ rs->chan->fd, POLLIN, 0 };
	if (rs->phase == RS_CONNECTED && rs->cch) {
		rs_stream_arm(rs);
		cq->fd = rs->cch->fd;
	}
}

static int scan(struct pollfd *fds, nfds_t nfds)
{
	int ready = 0;
	nfds_t i;

	for (i = 0; i < nfds; i++) {
		struct rsock *rs = rs_get(fds[i].fd);

		if (!rs)
			continue;
		pthread_mutex_lock(&rs->lock);
		fds[i].revents = rs_revents(rs, fds[i].events);
		pthread_mutex_unlock(&rs->lock);
		ready += fds[i].revents != 0;
	}
	return ready;
}

/* Fills @sl (two entries per fd) for the poll() that sleeps. */
static void sleep_set(const struct pollfd *fds, nfds_t nfds, struct pollfd *sl)
{
	nfds_t i;

	for (i = 0; i < nfds; i++) {
		struct rsock *rs = rs_get(fds[i].fd);

		if (!rs) {
			sl[2 * i] = fds[i];
			sl[2 * i].revents = 0;
			sl[2 * i + 1] = (struct pollfd){ -1, 0, 0 };
			continue;
		}
		pthread_mutex_lock(&rs->lock);
		rs_sleep_fds(rs, &sl[2 * i], &sl[2 * i + 1]);
		pthread_mutex_unlock(&rs->lock);
	}
}

/* Other fds take what poll() said; rsockets take their CQ events. */
static void after_sleep(struct pollfd *fds, nfds_t nfds,
			const struct pollfd *sl)
{
	nfds_t i;

	for (i = 0; i < nfds; i++) {
		struct rsock *rs = rs_get(fds[i].fd);

		if (!rs) {
			fds[i].revents = sl[2 * i].revents;
			continue;
		}
		if (!sl[2 * i].revents && !sl[2 * i + 1].revents)
			continue;
		pthread_mutex_lock(&rs->lock);
		if (rs->dg)
			rs_dgram_events(rs);
		if (sl[2 * i + 1].revents)
			rs_stream_cq_event(rs);
		if (sl[2 * i].revents)
			rs_cm_drain(rs);
		pthread_mutex_unlock(&rs->lock);
	}
}

static int count_ready(const struct pollfd *fds, nfds_t nfds)
{
	int n = 0;
	nfds_t i;

	for (i = 0; i < nfds; i++)
		n += fds[i].revents != 0;
	return n;
}

/*
 * Before rpoll's first sleep: looks at the rsockets for RS_SPIN_NS, so
 * that an answer arriving meanwhile costs no wake-up (rdma-core's rpoll
 * polls first too).  Only with an rsocket among @fds.
 */
static void spin(struct pollfd *fds, nfds_t nfds)
{
	struct rs_spin budget = { 0 };
	nfds_t i;

	for (i = 0; i < nfds && !rs_get(fds[i].fd); i++)
		;
	if (i == nfds)
		return;
	while (!scan(fds, nfds) && !rs_spin_over(&budget))
		;
}

RSOCKET_EXPORT int rpoll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct pollfd *sl = calloc(nfds * 2 + 1, sizeof(*sl));
	uint64_t end =
		rs_now_ns() + (uint64_t)(timeout > 0 ? timeout : 0) * 1000000u;
	int ready = -1, left = timeout;

	if (!sl)
		return rs_fail(ENOMEM);
	if (timeout)
		spin(fds, nfds);
	for (;;) {
		sleep_set(fds, nfds, sl);
		ready = scan(fds, nfds);
		if (poll(sl, nfds * 2, ready ? 0 : left) < 0) {
			ready = -1;
			break;
		}
		after_sleep(fds, nfds, sl);
		if (!ready) /* else the rsockets' answers stand */
			scan(fds, nfds);
		ready = count_ready(fds, nfds);
		if (ready || !left)
			break;
		if (timeout > 0) {
			uint64_t now = rs_now_ns();

			left = now < end ? (int)((end - now + 999999) / 1000000)
					 : 0;
		}
	}
	free(sl);
	return ready;
}

RSOCKET_EXPORT int rselect(int nfds, fd_set *readfds, fd_set *writefds,
			   fd_set *exceptfds, struct timeval *timeout)
{
	struct pollfd *p = calloc(nfds > 0 ? (size_t)nfds : 1, sizeof(*p));
	int i, n = 0, ready, ms = -1;

	if (!p)
		return rs_fail(ENOMEM);
	for (i = 0; i < nfds; i++) {
		short ev = (readfds && FD_ISSET(i, readfds) ? POLLIN : 0) |
			   (writefds && FD_ISSET(i, writefds) ? POLLOUT : 0) |
			   (exceptfds && FD_ISSET(i, exceptfds) ? POLLPRI : 0);

		if (ev)
			p[n++] = (struct pollfd){ i, ev, 0 };
	}
	if (timeout)
		ms = (int)(timeout->tv_sec * 1000 + timeout->tv_usec / 1000);
	ready = rpoll(p, (nfds_t)n, ms);
	if (readfds)
		FD_ZERO(readfds);
	if (writefds)
		FD_ZERO(writefds);
	if (exceptfds)
		FD_ZERO(exceptfds);
	for (i = 0, ready = ready < 0 ? ready : 0; ready >= 0 && i < n; i++) {
		if (readfds && (p[i].revents & (POLLIN | POLLHUP | POLLERR)))
			FD_SET(p[i].fd, readfds), ready++;
		if (writefds && (p[i].revents & (POLLOUT | POLLERR)))
			FD_SET(p[i].fd, writefds), ready++;
		if (exceptfds && (p[i].revents & POLLPRI))
			FD_SET(p[i].fd, exceptfds), ready++;
	}
	free(p);
	return ready;
}
