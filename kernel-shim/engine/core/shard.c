// SPDX-License-Identifier: MIT
/*
 * Several engine threads per device (docs/datapath.md "Engine threads").
 *
 * Each thread serves the contexts placed on it: their rings, QPs, CQs and
 * SRQs, under its own lock, so that threads run side by side without a
 * lock on the hot path.  What one context's packet does to another's QP
 * is the receiving thread's business: a packet for a QP another thread
 * serves is handed over (the port eng->handoff of rx.c):
 *  - at once, when this thread already holds that thread's lock (a chain
 *    of same-host deliveries that came back) or can take it without
 *    waiting, and nothing of an earlier hand-off waits in its inbox;
 *  - otherwise queued, copied, in that thread's inbox, which it empties
 *    at the start of its next pass, in order.
 * A thread never waits for another's lock while it holds one (trylock
 * only), and the control plane takes every lock in index order: no
 * deadlock.  Packets between two QPs keep their order: once one is
 * queued, the ones behind it queue too until the owner delivered it.
 *
 * Placement: a new context goes to the thread with fewest contexts; when
 * a connected QP's peer is a QP of this device served by another thread,
 * one of the two contexts moves to the other's thread if it has no other
 * connection yet (ping-pong pairs then run on one thread, each pair on
 * its own).  Contexts with objects other contexts use (XRC SRQs and
 * targets, multicast members) move to the first thread for good, where
 * multicast and QP 1 packets are received.  A move delivers what the old
 * thread's inbox held for the context's QPs (inbox_follow), so that no
 * newer packet overtakes it.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "objects/objects.h"
#include "packet/timing.h"
#include "proto/proto.h"
#include "shard.h"

/* Whose lock: the address of a thread-local, unique per thread. */
static __thread char thread_token;

/* Bytes of payload an inbox may hold before hand-offs are dropped (the
 * wire's answer to a full queue: RC retries, UD loses the datagram). */
#define INBOX_MAX_BYTES (64ull << 20)
/* Queued packets one pass delivers, so that its own QPs get their turn. */
#define INBOX_BUDGET 256u
/* Room for an IPv4 header with options, or the IPv6 header. */
#define INBOX_IP_MAX 64u

struct srxe_inbox_item {
	struct srxe_inbox_item *next;
	struct srxe_pkt pkt; /* .ip -> ip, .payload -> data */
	uint8_t ip[INBOX_IP_MAX];
	uint8_t data[];
};

void srxe_shard_lock(struct srxe_engine *s)
{
	pthread_mutex_lock(&s->lock);
	__atomic_store_n(&s->owner, &thread_token, __ATOMIC_RELAXED);
}

void srxe_shard_unlock(struct srxe_engine *s)
{
	__atomic_store_n(&s->owner, NULL, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&s->lock);
}

static bool try_lock(struct srxe_engine *s)
{
	if (pthread_mutex_trylock(&s->lock))
		return false;
	__atomic_store_n(&s->owner, &thread_token, __ATOMIC_RELAXED);
	return true;
}

/* Only this thread ever stores its own token: no race decides this. */
static bool held_here(const struct srxe_engine *s)
{
	return __atomic_load_n(&s->owner, __ATOMIC_RELAXED) == &thread_token;
}

static void wake_if_sleeping(struct srxe_engine *s)
{
	if (__atomic_load_n(&s->sleeping, __ATOMIC_SEQ_CST))
		srxe_engine_wake(s);
}

static struct srxe_inbox_item *
copy_pkt(const struct srxe_pkt *pkt, const struct srxe_sg *payload, int nchunks)
{
	struct srxe_inbox_item *it = malloc(sizeof(*it) + pkt->payload_len);
	struct srxe_sg to;

	if (!it)
		return NULL;
	it->next = NULL;
	it->pkt = *pkt;
	to.addr = it->data;
	to.len = pkt->payload_len;
	if (pkt->payload_len)
		srxe_sg_copy(&to, 1, payload, nchunks, pkt->payload_len);
	it->pkt.payload = it->data;
	it->pkt.ip = NULL;
	if (pkt->ip && pkt->ip_len <= INBOX_IP_MAX) {
		memcpy(it->ip, pkt->ip, pkt->ip_len);
		it->pkt.ip = it->ip;
	}
	return it;
}

/* Queues a copy of the packet for @to; the caller holds @eng's lock. */
static void enqueue(struct srxe_engine *eng, struct srxe_engine *to,
		    const struct srxe_pkt *pkt, const struct srxe_sg *payload,
		    int nchunks)
{
	struct srxe_inbox_item *it = copy_pkt(pkt, payload, nchunks);
	bool full;

	pthread_mutex_lock(&to->inbox_lock);
	full = !it || to->inbox_bytes + pkt->payload_len > INBOX_MAX_BYTES;
	if (!full) {
		if (to->inbox_tail)
			to->inbox_tail->next = it;
		else
			to->inbox_head = it;
		to->inbox_tail = it;
		to->inbox_bytes += pkt->payload_len;
		__atomic_add_fetch(&to->inbox_pending, 1, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_unlock(&to->inbox_lock);
	if (full) {
		free(it);
		eng->stats.drops++;
		eng->stats.handoff_drops++;
		return;
	}
	eng->stats.handoffs_queued++;
	wake_if_sleeping(to);
}

static void deliver_now(struct srxe_engine *eng, struct srxe_engine *to,
			const struct srxe_pkt *pkt,
			const struct srxe_sg *payload, int nchunks)
{
	/* Timers the delivery arms count from a current clock, not from
	 * the last pass of a thread that slept. */
	if (to->now < eng->now)
		to->now = eng->now;
	eng->stats.handoffs_direct++;
	srxe_eng_rx_route(to, pkt, payload, nchunks);
}

void srxe_shard_handoff(struct srxe_engine *eng, struct srxe_engine *to,
			const struct srxe_pkt *pkt,
			const struct srxe_sg *payload, int nchunks)
{
	bool mine = held_here(to);

	if (eng->cfg.queue_handoffs || (!mine && !try_lock(to))) {
		enqueue(eng, to, pkt, payload, nchunks);
		return;
	}
	if (__atomic_load_n(&to->inbox_pending, __ATOMIC_SEQ_CST))
		enqueue(eng, to, pkt, payload, nchunks); /* behind those */
	else
		deliver_now(eng, to, pkt, payload, nchunks);
	if (!mine) {
		srxe_shard_unlock(to);
		/* Its QPs may have work now (an ACK freed the window). */
		wake_if_sleeping(to);
	}
}

static struct srxe_inbox_item *inbox_pop(struct srxe_engine *s)
{
	struct srxe_inbox_item *it;

	pthread_mutex_lock(&s->inbox_lock);
	it = s->inbox_head;
	if (it) {
		s->inbox_head = it->next;
		if (!s->inbox_head)
			s->inbox_tail = NULL;
		s->inbox_bytes -= it->pkt.payload_len;
	}
	pthread_mutex_unlock(&s->inbox_lock);
	return it;
}

/*
 * An item stays counted in inbox_pending until it is delivered: a
 * hand-off made meanwhile (from inside this delivery) queues behind it.
 */
unsigned int srxe_shard_inbox_run(struct srxe_engine *s)
{
	unsigned int n = 0;

	while (n < INBOX_BUDGET &&
	       __atomic_load_n(&s->inbox_pending, __ATOMIC_SEQ_CST)) {
		struct srxe_inbox_item *it = inbox_pop(s);
		struct srxe_sg chunk;

		if (!it)
			break;
		chunk.addr = it->data;
		chunk.len = it->pkt.payload_len;
		srxe_eng_rx_route(s, &it->pkt, &chunk,
				  it->pkt.payload_len ? 1 : 0);
		free(it);
		__atomic_sub_fetch(&s->inbox_pending, 1, __ATOMIC_SEQ_CST);
		n++;
	}
	return n;
}

void srxe_shard_inbox_free(struct srxe_engine *s)
{
	struct srxe_inbox_item *it;

	while ((it = inbox_pop(s)))
		free(it);
	s->inbox_pending = 0;
}

struct srxe_engine *srxe_shard_place(struct srxe_engine *dev)
{
	struct srxe_engine *best = dev;

	for (unsigned int i = 1; i < dev->nshards; i++)
		if (dev->shards[i]->nctxs < best->nctxs)
			best = dev->shards[i];
	return best;
}

void srxe_shard_attach(struct srxe_engine *s, struct srxe_eng_ctx *ctx)
{
	ctx->eng = s;
	srxe_list_add_tail(&s->ctxs, &ctx->node);
	s->nctxs++;
	/* Stable: the thread changes it only under its lock, held here. */
	__atomic_store_n(
		&ctx->page->engine_sleeping,
		(uint32_t)__atomic_load_n(&s->sleeping, __ATOMIC_SEQ_CST),
		__ATOMIC_SEQ_CST);
}

void srxe_shard_detach(struct srxe_eng_ctx *ctx)
{
	srxe_list_del(&ctx->node);
	ctx->eng->nctxs--;
}

/* Takes the items of @from's inbox whose QP is one of @ctx's, in order. */
static struct srxe_inbox_item *inbox_take(struct srxe_engine *from,
					  const struct srxe_eng_ctx *ctx)
{
	struct srxe_inbox_item *taken = NULL, **tail = &taken, **pp, *it;

	pthread_mutex_lock(&from->inbox_lock);
	from->inbox_tail = NULL;
	for (pp = &from->inbox_head; (it = *pp);) {
		struct srxe_eng_qp *qp =
			srxe_rx_device_qpn(it->pkt.dqpn)
				? NULL
				: srxe_qp_lookup(from, it->pkt.dqpn);

		if (qp && qp->ctx == ctx) {
			*pp = it->next;
			it->next = NULL;
			*tail = it;
			tail = &it->next;
			from->inbox_bytes -= it->pkt.payload_len;
			continue;
		}
		from->inbox_tail = it;
		pp = &it->next;
	}
	pthread_mutex_unlock(&from->inbox_lock);
	return taken;
}

/*
 * Every lock held, @ctx now on @to.  What @from had queued for @ctx's QPs
 * is delivered now, in order: left there, @from would hand it on after
 * newer packets that reach @to directly (a same-thread delivery does not
 * look at the inbox).  Only the context's own QPs: no QP 1 MAD reaches
 * srxed's CM from here.
 */
static void inbox_follow(struct srxe_eng_ctx *ctx, struct srxe_engine *from,
			 struct srxe_engine *to)
{
	struct srxe_inbox_item *it = inbox_take(from, ctx), *next;
	uint64_t now = srxe_now_ns();

	if (to->now < now)
		to->now = now;
	for (; it; it = next) {
		struct srxe_sg chunk = { .addr = it->data,
					 .len = it->pkt.payload_len };

		next = it->next;
		srxe_eng_rx_route(to, &it->pkt, &chunk,
				  it->pkt.payload_len ? 1 : 0);
		free(it);
		__atomic_sub_fetch(&from->inbox_pending, 1, __ATOMIC_SEQ_CST);
		to->stats.handoffs_followed++;
	}
}

/*
 * Every lock held.  A doorbell rung before the move stays in the eventfd
 * and wakes the new thread as soon as its epoll set has the fd.
 */
static void ctx_move(struct srxe_eng_ctx *ctx, struct srxe_engine *to)
{
	struct srxe_engine *from = ctx->eng;

	if (from == to)
		return;
	if (ctx->doorbell_fd >= 0) {
		if (srxe_engine_watch(to, ctx->doorbell_fd, ctx->id))
			return; /* stays where its doorbell is heard */
		srxe_engine_unwatch(from, ctx->doorbell_fd);
	}
	srxe_shard_detach(ctx);
	srxe_shard_attach(to, ctx);
	inbox_follow(ctx, from, to);
}

void srxe_shard_pins(struct srxe_engine *dev)
{
	if (!dev->pins_pending)
		return;
	dev->pins_pending = false;
	for (unsigned int i = 0; i < dev->nshards; i++) {
		struct srxe_list *c, *ct;

		srxe_list_for_each_safe(c, ct, &dev->shards[i]->ctxs)
		{
			struct srxe_eng_ctx *ctx =
				srxe_container_of(c, struct srxe_eng_ctx, node);

			if (!ctx->pin_first || ctx->pinned)
				continue;
			ctx_move(ctx, dev);
			ctx->pinned = ctx->eng == dev;
		}
	}
}

/* Connected QPs of @ctx (RC, UC, XRC in RTR or later). */
static unsigned int connections(const struct srxe_eng_ctx *ctx)
{
	const struct srxe_list *q;
	unsigned int n = 0;

	for (q = ctx->qps.next; q != &ctx->qps; q = q->next) {
		const struct srxe_eng_qp *qp =
			srxe_container_of(q, struct srxe_eng_qp, node);

		if (qp->type != IBV_QPT_UD && srxe_qp_can_recv(qp))
			n++;
	}
	return n;
}

/* @mine: connections @ctx may have and still move (the new one). */
static bool movable(const struct srxe_eng_ctx *ctx, unsigned int mine)
{
	return !ctx->pin_first && !ctx->pinned && connections(ctx) <= mine;
}

void srxe_shard_pair(struct srxe_eng_ctx *a, struct srxe_eng_ctx *b)
{
	bool ma, mb;

	if (a->eng == b->eng || a->eng->cfg.spread_pairs)
		return;
	ma = movable(a, 1);
	mb = movable(b, 1);
	if (ma && mb && b->eng->nctxs > a->eng->nctxs)
		ma = false; /* b leaves the busier thread */
	if (ma)
		ctx_move(a, b->eng);
	else if (mb)
		ctx_move(b, a->eng);
}

void srxe_shard_lock_all(struct srxe_engine *dev)
{
	for (unsigned int i = 0; i < dev->nshards; i++)
		srxe_shard_lock(dev->shards[i]);
}

void srxe_shard_unlock_all(struct srxe_engine *dev)
{
	bool sleeping[SRXE_ENGINE_MAX_THREADS];

	srxe_shard_pins(dev);
	for (unsigned int i = dev->nshards; i-- > 0;) {
		struct srxe_engine *s = dev->shards[i];

		sleeping[i] = __atomic_load_n(&s->sleeping, __ATOMIC_SEQ_CST);
		srxe_shard_unlock(s);
	}
	/* The control plane may have made work runnable (a QP moved to RTS
	 * with WQEs posted, a QP to ERR that must flush, a context moved). */
	for (unsigned int i = 0; i < dev->nshards; i++)
		if (sleeping[i])
			srxe_engine_wake(dev->shards[i]);
}
