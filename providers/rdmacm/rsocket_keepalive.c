// SPDX-License-Identifier: MIT
/*
 * SO_KEEPALIVE for stream rsockets (contract: rsocket_int.h).
 *
 * As rdma-core's rsockets: every keepidle seconds (TCP_KEEPIDLE, else
 * /proc/sys/net/ipv4/tcp_keepalive_time, else 7200) a connected socket
 * with SO_KEEPALIVE sends a zero-byte WRITE WITH IMM carrying the CTRL
 * message KEEPALIVE, which the peer takes and drops.  Nothing else is
 * needed: a peer that is gone without a disconnect (its host down, the
 * link cut) does not acknowledge it, the RC QP's retries run out, and the
 * failed completion marks the socket dead (ETIMEDOUT) and wakes a
 * sleeping rpoll or rrecv through the completion channel.
 *
 * One thread per process serves every such socket, started with the
 * first.  It takes the registry's lock, then only tries each socket's
 * lock: a socket busy in a call is active anyway and is looked at again
 * a moment later.  rs_keepalive_forget() takes the registry's lock, so
 * once it returns the thread no longer touches the socket.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rsocket_int.h"

#define KA_DEFAULT_S 7200u
#define KA_BUSY_NS   100000000ull /* a locked socket: look again then */

struct ka_entry {
	struct rsock *rs;
	uint64_t due_ns;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct ka_entry *v;
	size_t n, cap;
	bool running; /* the thread exists (in this process) */
} ka = { .lock = PTHREAD_MUTEX_INITIALIZER };

static pthread_once_t ka_once = PTHREAD_ONCE_INIT;

unsigned int rs_keepalive_default_s(void)
{
	unsigned int s = KA_DEFAULT_S;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_keepalive_time", "re");

	if (f) {
		if (fscanf(f, "%u", &s) != 1 || !s)
			s = KA_DEFAULT_S;
		fclose(f);
	}
	return s;
}

static uint64_t period_ns(const struct rsock *rs)
{
	return (uint64_t)rs->opt.keepidle * 1000000000ull;
}

static ssize_t find(const struct rsock *rs)
{
	for (size_t i = 0; i < ka.n; i++)
		if (ka.v[i].rs == rs)
			return (ssize_t)i;
	return -1;
}

/* One round over the sockets due; the next due time. */
static uint64_t send_due(uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < ka.n; i++) {
		struct ka_entry *e = &ka.v[i];

		if (e->due_ns <= now) {
			if (pthread_mutex_trylock(&e->rs->lock)) {
				e->due_ns = now + KA_BUSY_NS;
			} else {
				/* frees control slots of earlier keepalives */
				rs_stream_progress(e->rs);
				if (!e->rs->dead)
					rs_stream_ctrl(e->rs,
						       RSW_CTRL_KEEPALIVE);
				e->due_ns = now + period_ns(e->rs);
				pthread_mutex_unlock(&e->rs->lock);
			}
		}
		if (e->due_ns < next)
			next = e->due_ns;
	}
	return next;
}

static void *run(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&ka.lock);
	for (;;) {
		uint64_t next = send_due(rs_now_ns());

		if (next == UINT64_MAX) {
			pthread_cond_wait(&ka.changed, &ka.lock);
		} else {
			struct timespec ts = { (time_t)(next / 1000000000u),
					       (long)(next % 1000000000u) };

			pthread_cond_timedwait(&ka.changed, &ka.lock, &ts);
		}
	}
	return NULL;
}

/* The thread's timed waits count on the clock rs_now_ns() reads. */
static void init_changed(void)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ka.changed, &ca);
	pthread_condattr_destroy(&ca);
}

static void forget_in_child(void)
{
	/* neither the thread nor the sockets' connections came along */
	pthread_mutex_init(&ka.lock, NULL);
	init_changed();
	ka.n = 0;
	ka.running = false;
}

static void init_once(void)
{
	init_changed();
	pthread_atfork(NULL, NULL, forget_in_child);
}

/* Called with ka.lock held. */
static int start_thread(void)
{
	pthread_attr_t ta;
	pthread_t t;
	int ret;

	if (ka.running)
		return 0;
	pthread_attr_init(&ta);
	pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
	ret = pthread_create(&t, &ta, run, NULL);
	pthread_attr_destroy(&ta);
	if (ret)
		return ret;
	ka.running = true;
	return 0;
}

static int add(struct rsock *rs)
{
	ssize_t i = find(rs);
	int ret;

	if (i >= 0) {
		ka.v[i].due_ns = rs_now_ns() + period_ns(rs);
		return 0;
	}
	if (ka.n == ka.cap) {
		size_t cap = ka.cap ? 2 * ka.cap : 16;
		struct ka_entry *v = realloc(ka.v, cap * sizeof(*v));

		if (!v)
			return ENOMEM;
		ka.v = v;
		ka.cap = cap;
	}
	ret = start_thread();
	if (ret)
		return ret;
	ka.v[ka.n++] = (struct ka_entry){ rs, rs_now_ns() + period_ns(rs) };
	return 0;
}

static void drop(const struct rsock *rs)
{
	ssize_t i = find(rs);

	if (i >= 0)
		ka.v[i] = ka.v[--ka.n];
}

int rs_keepalive_update(struct rsock *rs)
{
	bool want = rs->opt.keepalive && !rs->dg && rs->cq &&
		    rs->phase == RS_CONNECTED;
	int ret = 0;

	if (want && !rs->opt.keepidle)
		rs->opt.keepidle = (int)rs_keepalive_default_s();
	pthread_once(&ka_once, init_once);
	pthread_mutex_lock(&ka.lock);
	if (want)
		ret = add(rs);
	else
		drop(rs);
	pthread_cond_signal(&ka.changed);
	pthread_mutex_unlock(&ka.lock);
	return ret ? rs_fail(ret) : 0;
}

void rs_keepalive_forget(struct rsock *rs)
{
	pthread_mutex_lock(&ka.lock);
	drop(rs);
	pthread_mutex_unlock(&ka.lock);
}
