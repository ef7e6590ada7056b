// SPDX-License-Identifier: MIT
/*
 * The engine thread: adaptive polling over every context's rings.
 *
 * While there is work, a pass runs back to back.  When passes find nothing
 * for cfg->spin_us, the thread announces that it sleeps (engine_sleeping =
 * 1 in every context page, seq_cst fence), runs one more pass so that a
 * WQE published before the provider could see the flag is not lost, and
 * then blocks in epoll_wait on the doorbell eventfds, an internal wake
 * eventfd (control-plane changes, stop) and a timerfd armed to the
 * earliest protocol timer.  An idle device therefore costs no CPU.
 * A device runs cfg.threads such threads, each over its own contexts
 * (shard.c).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "capture_hook.h"
#include "core.h"
#include "cpu_spare.h"
#include "objects/objects.h"
#include "packet/timing.h"
#include "proto/proto.h"
#include "shard.h"
#include "srxe/quiet_thread.h"
#include "transport/transport.h"
#include "transport/transport_udp.h"

#define EPOLL_WAKE  0ull
#define EPOLL_TIMER 1ull
#define EPOLL_WIRE  2ull /* the wire transport's receive socket */
/* Context ids start above the two reserved epoll tags. */
#define FIRST_CTX_ID 16ull

/*
 * The wire, the capture and the fault filter are the device's, one of
 * each for every thread: with several threads, one at a time.
 */
static bool io_lock(struct srxe_engine *eng, const struct srxe_xport *t)
{
	struct srxe_engine *dev = eng->dev;

	if (dev->nshards == 1 ||
	    (t == &eng->local && !dev->fault && !dev->capture))
		return false;
	pthread_mutex_lock(&dev->io_lock);
	return true;
}

static void io_unlock(struct srxe_engine *eng, bool locked)
{
	if (locked)
		pthread_mutex_unlock(&eng->dev->io_lock);
}

/* The transmit port (eng->xmit): the state machines' only way out. */
static void eng_xmit(struct srxe_engine *eng, const struct srxe_tx_pkt *pkt,
		     const struct srxe_dest *dst)
{
	struct srxe_xport *t =
		srxe_dest_is_local(eng, dst) ? &eng->local : eng->wire;
	bool locked;

	/* Multicast leaves on the wire, and the kernel loops it back to
	 * every member on this host, this device included; without the
	 * wire only this device's own members can get it. */
	if (!t && srxe_dest_is_mcast(dst))
		t = &eng->local;
	/* A same-host burst counts as the packets it stands for, so that
	 * counters (hw_counters sent_pkts) do not depend on it. */
	eng->stats.pkts_sent += 1 + pkt->extra_psns;
	eng->stats.bytes_sent += pkt->hdr_len + pkt->payload_len;
	if (pkt->extra_psns) {
		eng->stats.bursts++;
		eng->stats.burst_pkts += 1 + pkt->extra_psns;
	}
	locked = io_lock(eng, t);
	srxe_cap_local(eng, t, pkt, dst);
	if (!t) {
		eng->stats.drops++;
		eng->stats.drop_no_route++;
	} else if ((pkt->extra_psns && t != &eng->local) ||
		   !t->xmit(t, pkt, dst)) {
		/* (A same-host burst has no wire form: pkt.h.) */
		eng->stats.drops++;
		eng->stats.drop_tx_error++;
	}
	io_unlock(eng, locked);
}

void srxe_engine_wire_flush(struct srxe_engine *eng)
{
	bool locked;

	if (!eng->wire)
		return;
	locked = io_lock(eng, eng->wire);
	eng->wire->flush(eng->wire);
	io_unlock(eng, locked);
}

/* The wire's receive side is the first thread's. */
static unsigned int wire_poll(struct srxe_engine *eng)
{
	unsigned int work;
	bool locked;

	if (!eng->wire || eng != eng->dev)
		return 0;
	locked = io_lock(eng, eng->wire);
	work = eng->wire->poll(eng->wire);
	io_unlock(eng, locked);
	return work;
}

static unsigned int qp_pass(struct srxe_eng_qp *qp, uint64_t now)
{
	unsigned int work = 0;

	if (qp->attr.qp_state == IBV_QPS_ERR)
		return srxe_qp_flush(qp);
	work += srxe_comp_timers(qp, now);
	if (srxe_qp_can_send(qp))
		work += srxe_req_run(qp);
	else if (qp->attr.qp_state == IBV_QPS_SQE)
		work += srxe_qp_flush(qp);
	return work;
}

unsigned int srxe_engine_pass(struct srxe_engine *eng)
{
	struct srxe_list *c, *ct, *q, *qt;
	unsigned int work = 0, rx;

	eng->now = srxe_now_ns();
	eng->passes++;
	if (__atomic_load_n(&eng->inbox_pending, __ATOMIC_SEQ_CST))
		work += srxe_shard_inbox_run(eng);
	rx = wire_poll(eng);
	if (rx)
		eng->wire_rx_at = eng->now;
	work += rx;
	srxe_list_for_each_safe(c, ct, &eng->ctxs)
	{
		struct srxe_eng_ctx *ctx =
			srxe_container_of(c, struct srxe_eng_ctx, node);

		__atomic_store_n(&ctx->page->engine_passes, eng->passes,
				 __ATOMIC_RELAXED);
		__atomic_store_n(&ctx->page->cpu_busy, eng->cpu_busy,
				 __ATOMIC_RELAXED);
		srxe_list_for_each_safe(q, qt, &ctx->qps)
		{
			work += qp_pass(
				srxe_container_of(q, struct srxe_eng_qp, node),
				eng->now);
		}
	}
	/* Received packets and QPs may both have queued wire packets. */
	srxe_engine_wire_flush(eng);
	return work;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

uint64_t srxe_engine_next_deadline(struct srxe_engine *eng)
{
	struct srxe_list *c, *ct, *q, *qt;
	uint64_t next = 0;

	srxe_list_for_each_safe(c, ct, &eng->ctxs)
	{
		struct srxe_eng_ctx *ctx =
			srxe_container_of(c, struct srxe_eng_ctx, node);

		srxe_list_for_each_safe(q, qt, &ctx->qps)
		{
			struct srxe_eng_qp *qp =
				srxe_container_of(q, struct srxe_eng_qp, node);

			next = earliest(next, qp->comp.ack_deadline);
			if (qp->req.paused)
				next = earliest(next, qp->req.resume_at);
		}
	}
	return next;
}

static void set_sleeping(struct srxe_engine *eng, uint32_t v)
{
	struct srxe_list *c, *ct;

	__atomic_store_n(&eng->sleeping, (int)v, __ATOMIC_SEQ_CST);
	srxe_list_for_each_safe(c, ct, &eng->ctxs)
	{
		struct srxe_eng_ctx *ctx =
			srxe_container_of(c, struct srxe_eng_ctx, node);

		__atomic_store_n(&ctx->page->engine_sleeping, v,
				 __ATOMIC_SEQ_CST);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void arm_timer(struct srxe_engine *eng, uint64_t deadline)
{
	struct itimerspec its = { 0 };

	/*
	 * A disarmed timer never fires: disarming it again is a wasted
	 * syscall on every sleep of an idle or ping-pong device.  Any other
	 * case re-arms, so that a deadline already in the past fires again.
	 */
	if (!deadline && !eng->timer_armed)
		return;
	eng->timer_armed = deadline;
	if (deadline) {
		its.it_value.tv_sec = (time_t)(deadline / 1000000000ull);
		its.it_value.tv_nsec = (long)(deadline % 1000000000ull);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(eng->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Reads an eventfd's counter: how many writes it had (0: none). */
static uint64_t drain_fd(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0)
		return 0;
	return v;
}

/* Reads the doorbells epoll reported, for contexts that still exist. */
static void drain_events(struct srxe_engine *eng, struct epoll_event *ev, int n)
{
	for (int i = 0; i < n; i++) {
		struct srxe_list *c, *ct;

		if (ev[i].data.u64 == EPOLL_WAKE) {
			drain_fd(eng->wake_fd);
			continue;
		}
		if (ev[i].data.u64 == EPOLL_TIMER) {
			drain_fd(eng->timer_fd);
			continue;
		}
		/* Datagrams wait for the next pass's poll. */
		if (ev[i].data.u64 == EPOLL_WIRE)
			continue;
		srxe_list_for_each_safe(c, ct, &eng->ctxs)
		{
			struct srxe_eng_ctx *ctx =
				srxe_container_of(c, struct srxe_eng_ctx, node);

			if (ctx->id == ev[i].data.u64) {
				eng->stats.doorbells +=
					drain_fd(ctx->doorbell_fd);
				break;
			}
		}
	}
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static void sleep_once(struct srxe_engine *eng)
{
	struct epoll_event ev[32];
	int n;

	if (eng->cfg.sleep_race_us) {
		uint64_t until =
			srxe_now_ns() + eng->cfg.sleep_race_us * 1000ull;

		while (srxe_now_ns() < until)
			cpu_relax();
	}
	srxe_shard_lock(eng);
	set_sleeping(eng, 1);
	if (srxe_engine_pass(eng)) {
		set_sleeping(eng, 0);
		srxe_shard_unlock(eng);
		return;
	}
	arm_timer(eng, srxe_engine_next_deadline(eng));
	eng->stats.sleeps++;
	srxe_shard_unlock(eng);

	n = epoll_wait(eng->epfd, ev, 32, -1);

	srxe_shard_lock(eng);
	set_sleeping(eng, 0);
	if (n > 0)
		drain_events(eng, ev, n);
	srxe_shard_unlock(eng);
}

/*
 * A nap: the CPU goes back to whoever wants it for idle_us, while
 * engine_sleeping stays 0, so posts in the meantime ring no doorbell and
 * wait at most one nap.  The wire, a control-plane wake and a doorbell
 * rung before the flag was cleared end it early.
 */
static void nap_once(struct srxe_engine *eng)
{
	const struct timespec ts = { 0, (long)eng->cfg.idle_us * 1000 };
	struct epoll_event ev[32];
	int n = epoll_pwait2(eng->epfd, ev, 32, &ts, NULL);

	if (n > 0) {
		srxe_shard_lock(eng);
		drain_events(eng, ev, n);
		srxe_shard_unlock(eng);
	}
}

/* @idle_us: cfg's idle_us, or busy_idle_us while no CPU is spare. */
static void idle_wait(struct srxe_engine *eng, uint64_t now,
		      uint64_t *last_yield, unsigned int idle_us)
{
	switch (eng->cfg.idle_wait) {
	case SRXE_IDLE_YIELD:
		if (now - *last_yield < (uint64_t)idle_us * 1000u) {
			cpu_relax();
			break;
		}
		sched_yield();
		*last_yield = now;
		break;
	case SRXE_IDLE_NAP:
		nap_once(eng);
		break;
	default:
		cpu_relax();
		break;
	}
}

/* Work units (engine_pass's count) of a busy stretch that make it a
 * stream rather than a ping-pong's one message each way. */
#define STREAM_WORK 16u

/*
 * Whether the spin after the last work is the short one: on a machine
 * with no CPU to spare, unless a same-host stream runs.  A stream keeps
 * the long spin (4 KiB same-host ib_write_bw lost up to half without it),
 * but not while packets come from the wire (a pass received some within
 * the long spin): there the kernel's socket work needs the CPUs the spin
 * holds, and the yield does not hand them over (64 KiB ib_write_bw
 * across a veth on 2 cores +12-15%, 2 B ib_write_lat 215 -> 37 us;
 * docs/benchmarks.md "Wire on 2 cores, session 12").
 */
static bool spin_short(const struct srxe_engine *eng, bool cpu_busy,
		       uint64_t spin_ns, uint64_t now, uint64_t wire_rx_at,
		       unsigned int last_stretch)
{
	bool wire = now - wire_rx_at < spin_ns;

	return eng->cfg.spin_if_spare && (wire || last_stretch < STREAM_WORK) &&
	       cpu_busy;
}

static void *engine_main(void *arg)
{
	struct srxe_engine *eng = arg;
	uint64_t spin_ns = (uint64_t)eng->cfg.spin_us * 1000u;
	uint64_t busy_spin_ns = (uint64_t)eng->cfg.busy_spin_us * 1000u;
	uint64_t last_work = srxe_now_ns();
	uint64_t last_yield = 0;
	/* Work of the busy stretch going on, and of the one that ended
	 * last: a stream's stretches are long, a ping-pong's one or two. */
	unsigned int stretch = 0, last_stretch = 0;
	struct srxe_cpu_spare spare;

	srxe_cpu_spare_open(&spare);
	/* Naps of a few microseconds: the default 50 us slack would make
	 * every nap 50 us long. */
	if (eng->cfg.idle_wait == SRXE_IDLE_NAP)
		prctl(PR_SET_TIMERSLACK, 1000ul);
	srxe_thread_slice(eng->cfg.slice_us);

	while (!__atomic_load_n(&eng->stop, __ATOMIC_ACQUIRE)) {
		unsigned int work;
		uint64_t now, wire_rx_at;
		bool busy, cpu_busy;

		srxe_shard_lock(eng);
		work = srxe_engine_pass(eng);
		/* The pass's clock, one read per pass; under the lock, as a
		 * hand-off from another thread may move it forward. */
		now = eng->now;
		wire_rx_at = eng->wire_rx_at;
		/* For the spin below; the next pass shows it to the providers
		 * (ring.h cpu_busy). */
		cpu_busy = !srxe_cpu_spare(&spare, now);
		eng->cpu_busy = cpu_busy;
		srxe_shard_unlock(eng);
		if (work) {
			last_work = now;
			stretch += work;
			continue;
		}
		if (stretch) {
			last_stretch = stretch;
			stretch = 0;
		}
		busy = spin_short(eng, cpu_busy, spin_ns, now, wire_rx_at,
				  last_stretch);
		if (now - last_work < (busy ? busy_spin_ns : spin_ns)) {
			idle_wait(eng, now, &last_yield,
				  busy ? eng->cfg.busy_idle_us
				       : eng->cfg.idle_us);
			continue;
		}
		sleep_once(eng);
		last_work = srxe_now_ns();
	}
	srxe_cpu_spare_close(&spare);
	return NULL;
}

void srxe_engine_wake(struct srxe_engine *eng)
{
	uint64_t one = 1;

	if (write(eng->wake_fd, &one, sizeof(one)) < 0)
		return;
}

static int epoll_add(int epfd, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int srxe_engine_watch(struct srxe_engine *eng, int fd, uint64_t tag)
{
	return epoll_add(eng->epfd, fd, tag);
}

void srxe_engine_unwatch(struct srxe_engine *eng, int fd)
{
	epoll_ctl(eng->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* One thread's own part; the device's part is dev_free's. */
static void shard_free(struct srxe_engine *eng)
{
	srxe_shard_inbox_free(eng);
	srxe_odp_fini(eng);
	if (eng->epfd >= 0)
		close(eng->epfd);
	if (eng->wake_fd >= 0)
		close(eng->wake_fd);
	if (eng->timer_fd >= 0)
		close(eng->timer_fd);
	pthread_mutex_destroy(&eng->inbox_lock);
	pthread_mutex_destroy(&eng->lock);
	free(eng);
}

static void dev_free(struct srxe_engine *dev)
{
	for (unsigned int i = dev->nshards; i-- > 1;)
		shard_free(dev->shards[i]);
	srxe_fault_free(dev);
	srxe_mcast_eng_fini(dev);
	srxe_udp_transport_close(dev->wire);
	pthread_mutex_destroy(&dev->io_lock);
	shard_free(dev);
}

static int engine_fds(struct srxe_engine *eng, const char **why)
{
	eng->epfd = epoll_create1(EPOLL_CLOEXEC);
	eng->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	eng->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (eng->epfd < 0 || eng->wake_fd < 0 || eng->timer_fd < 0) {
		*why = "cannot create the engine's epoll/eventfd/timerfd";
		return -errno;
	}
	if (epoll_add(eng->epfd, eng->wake_fd, EPOLL_WAKE) ||
	    epoll_add(eng->epfd, eng->timer_fd, EPOLL_TIMER)) {
		*why = "cannot watch the engine's wake and timer fds";
		return -EIO;
	}
	return 0;
}

static int open_wire(struct srxe_engine *eng, const char **why)
{
	int ret;

	if (!eng->cfg.wire_udp)
		return 0;
	ret = srxe_udp_transport_open(eng, eng->cfg.ipv4_be, &eng->wire, why);
	if (ret)
		return ret;
	if (epoll_add(eng->epfd, eng->wire->rx_fd, EPOLL_WIRE) ||
	    (eng->wire->rx_fd6 >= 0 &&
	     epoll_add(eng->epfd, eng->wire->rx_fd6, EPOLL_WIRE)) ||
	    (eng->wire->rx_fd6mc >= 0 &&
	     epoll_add(eng->epfd, eng->wire->rx_fd6mc, EPOLL_WIRE))) {
		*why = "cannot watch the wire transport's socket";
		return -EIO;
	}
	return 0;
}

/* A thread's state and ports; its contexts come with srxe_shard_attach. */
static int shard_init(struct srxe_engine *eng, struct srxe_engine *dev,
		      const struct srxe_engine_config *cfg, const char **why)
{
	eng->cfg = *cfg;
	eng->dev = dev;
	eng->index = dev->nshards;
	dev->shards[dev->nshards++] = eng;
	eng->epfd = eng->wake_fd = eng->timer_fd = -1;
	srxe_tlb_init(&eng->tlb);
	pthread_mutex_init(&eng->lock, NULL);
	pthread_mutex_init(&eng->inbox_lock, NULL);
	srxe_list_init(&eng->ctxs);
	/* The ports, before any transport can deliver or a QP send. */
	eng->xmit = eng_xmit;
	eng->rx = (struct srxe_rx_port){
		.deliver = srxe_eng_rx,
		.mcast4_joined = srxe_mcast_ipv4_joined,
		.mcast6_joined = srxe_mcast_ipv6_joined,
	};
	eng->handoff = srxe_shard_handoff;
	eng->capture_ip = srxe_capture_ip;
	srxe_local_transport_init(&eng->local, eng);
	return engine_fds(eng, why);
}

static struct srxe_engine *dev_new(const struct srxe_engine_config *cfg,
				   const char **why, int *ret)
{
	struct srxe_engine *dev = calloc(1, sizeof(*dev));
	pthread_mutexattr_t rec;

	if (!dev) {
		*why = "out of memory";
		*ret = -ENOMEM;
		return NULL;
	}
	dev->next_ctx_id = FIRST_CTX_ID;
	pthread_mutexattr_init(&rec);
	pthread_mutexattr_settype(&rec, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&dev->io_lock, &rec);
	pthread_mutexattr_destroy(&rec);
	*ret = shard_init(dev, dev, cfg, why);
	srxe_mcast_eng_init(dev);
	if (!*ret)
		*ret = open_wire(dev, why);
	return dev;
}

static int add_shards(struct srxe_engine *dev, const char **why)
{
	while (dev->nshards < dev->cfg.threads) {
		struct srxe_engine *s = calloc(1, sizeof(*s));
		int ret;

		if (!s) {
			*why = "out of memory";
			return -ENOMEM;
		}
		ret = shard_init(s, dev, &dev->cfg, why);
		s->wire = dev->wire;
		if (ret)
			return ret;
	}
	return 0;
}

static int start_threads(struct srxe_engine *dev, const char **why)
{
	for (unsigned int i = 0; i < dev->nshards; i++) {
		struct srxe_engine *s = dev->shards[i];

		if (srxe_quiet_thread_create(&s->thread, NULL, engine_main,
					     s)) {
			*why = "cannot start the engine thread";
			return -EAGAIN;
		}
		s->thread_started = true;
	}
	return 0;
}

int srxe_engine_start(const struct srxe_engine_config *cfg,
		      struct srxe_engine **out, const char **why)
{
	struct srxe_engine *dev;
	int ret;

	*why = NULL;
	if (!cfg || !cfg->threads || cfg->threads > SRXE_ENGINE_MAX_THREADS ||
	    !srxe_mtu_bytes(cfg->active_mtu)) {
		*why = "engine config needs 1 to 16 threads and a valid "
		       "active MTU";
		return -EINVAL;
	}
	dev = dev_new(cfg, why, &ret);
	if (!dev)
		return ret;
	if (!ret)
		ret = add_shards(dev, why);
	if (!ret)
		ret = start_threads(dev, why);
	if (ret) {
		srxe_engine_stop(dev);
		return ret;
	}
	*out = dev;
	return 0;
}

void srxe_engine_stop(struct srxe_engine *eng)
{
	if (!eng)
		return;
	for (unsigned int i = 0; i < eng->nshards; i++) {
		struct srxe_engine *s = eng->shards[i];

		__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
		srxe_engine_wake(s);
	}
	for (unsigned int i = 0; i < eng->nshards; i++)
		if (eng->shards[i]->thread_started)
			pthread_join(eng->shards[i]->thread, NULL);
	dev_free(eng);
}

void srxe_engine_lock(struct srxe_engine *eng)
{
	srxe_shard_lock_all(eng->dev);
}

void srxe_engine_unlock(struct srxe_engine *eng)
{
	srxe_shard_unlock_all(eng->dev);
}

#define STATS_WORDS (sizeof(struct srxe_eng_stats) / sizeof(uint64_t))
_Static_assert(sizeof(struct srxe_eng_stats) == STATS_WORDS * sizeof(uint64_t),
	       "engine stats are counters of 64 bits, summed per thread");

static void stats_add(struct srxe_eng_stats *sum,
		      const struct srxe_eng_stats *s)
{
	uint64_t a[STATS_WORDS], b[STATS_WORDS];

	memcpy(a, sum, sizeof(a));
	memcpy(b, s, sizeof(b));
	for (size_t i = 0; i < STATS_WORDS; i++)
		a[i] += b[i];
	memcpy(sum, a, sizeof(a));
}

/* Gauges such as qps may go below 0 on one thread when a context moved
 * after creating objects: the sum is right. */
void srxe_engine_stats(struct srxe_engine *eng, struct srxe_eng_stats *out)
{
	struct srxe_engine *dev = eng->dev;
	struct srxe_wire_stats w;

	*out = (struct srxe_eng_stats){ 0 };
	srxe_engine_lock(dev);
	for (unsigned int i = 0; i < dev->nshards; i++)
		stats_add(out, &dev->shards[i]->stats);
	if (dev->wire) {
		srxe_udp_transport_stats(dev->wire, &w);
		out->drops += w.tx_run_drops;
		out->drop_tx_error += w.tx_run_drops;
	}
	out->threads = dev->nshards;
	for (unsigned int i = 0; i < dev->nshards; i++)
		out->thread_ctxs[i] = dev->shards[i]->nctxs;
	srxe_engine_unlock(dev);
}

bool srxe_engine_wire_stats(struct srxe_engine *eng,
			    struct srxe_wire_stats *out)
{
	bool on;

	srxe_engine_lock(eng);
	on = eng->wire != NULL;
	if (on)
		srxe_udp_transport_stats(eng->wire, out);
	srxe_engine_unlock(eng);
	return on;
}
