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
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "capture_hook.h"
#include "eng_int.h"
#include "timing.h"
#include "transport_udp.h"

#define EPOLL_WAKE  0ull
#define EPOLL_TIMER 1ull
#define EPOLL_WIRE  2ull /* the wire transport's receive socket */
/* Context ids start above the two reserved epoll tags. */
#define FIRST_CTX_ID 16ull

/* The transmit port (eng->xmit): the state machines' only way out. */
static void eng_xmit(struct srxe_engine *eng, const struct srxe_tx_pkt *pkt,
		     const struct srxe_dest *dst)
{
	struct srxe_xport *t =
		srxe_dest_is_local(eng, dst) ? &eng->local : eng->wire;

	/* Multicast leaves on the wire, and the kernel loops it back to
	 * every member on this host, this device included; without the
	 * wire only this device's own members can get it. */
	if (!t && srxe_dest_is_mcast(dst))
		t = &eng->local;
	/* A same-host burst counts as the packets it stands for, so that
	 * counters (hw_counters sent_pkts) do not depend on it. */
	eng->stats.pkts_sent += 1 + pkt->extra_psns;
	eng->stats.bytes_sent += pkt->hdr_len + pkt->payload_len;
	srxe_cap_local(eng, t, pkt, dst);
	if (pkt->extra_psns) {
		eng->stats.bursts++;
		eng->stats.burst_pkts += 1 + pkt->extra_psns;
	}
	if (!t) {
		eng->stats.drops++;
		eng->stats.drop_no_route++;
	} else if ((pkt->extra_psns && t != &eng->local) ||
		   !t->xmit(t, pkt, dst)) {
		/* (A same-host burst has no wire form: pkt.h.) */
		eng->stats.drops++;
		eng->stats.drop_tx_error++;
	}
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
	unsigned int work = 0;

	eng->now = srxe_now_ns();
	if (eng->wire)
		work += eng->wire->poll(eng->wire);
	srxe_list_for_each_safe(c, ct, &eng->ctxs)
	{
		struct srxe_eng_ctx *ctx =
			srxe_container_of(c, struct srxe_eng_ctx, node);

		srxe_list_for_each_safe(q, qt, &ctx->qps)
		{
			work += qp_pass(
				srxe_container_of(q, struct srxe_eng_qp, node),
				eng->now);
		}
	}
	/* Received packets and QPs may both have queued wire packets. */
	if (eng->wire)
		eng->wire->flush(eng->wire);
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
			if (qp->req.rnr_wait)
				next = earliest(next, qp->req.rnr_deadline);
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
	pthread_mutex_lock(&eng->lock);
	set_sleeping(eng, 1);
	if (srxe_engine_pass(eng)) {
		set_sleeping(eng, 0);
		pthread_mutex_unlock(&eng->lock);
		return;
	}
	arm_timer(eng, srxe_engine_next_deadline(eng));
	eng->stats.sleeps++;
	pthread_mutex_unlock(&eng->lock);

	n = epoll_wait(eng->epfd, ev, 32, -1);

	pthread_mutex_lock(&eng->lock);
	set_sleeping(eng, 0);
	if (n > 0)
		drain_events(eng, ev, n);
	pthread_mutex_unlock(&eng->lock);
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
		pthread_mutex_lock(&eng->lock);
		drain_events(eng, ev, n);
		pthread_mutex_unlock(&eng->lock);
	}
}

static void idle_wait(struct srxe_engine *eng, uint64_t *last_yield)
{
	switch (eng->cfg.idle_wait) {
	case SRXE_IDLE_YIELD:
		if (eng->now - *last_yield <
		    (uint64_t)eng->cfg.idle_us * 1000u) {
			cpu_relax();
			break;
		}
		sched_yield();
		*last_yield = eng->now;
		break;
	case SRXE_IDLE_NAP:
		nap_once(eng);
		break;
	default:
		cpu_relax();
		break;
	}
}

/*
 * EEVDF (Linux 6.6+) takes a SCHED_OTHER task's sched_runtime as its
 * slice: a short one gives the thread an earlier deadline, so that its
 * wake-up preempts a task spinning on the CPU instead of waiting for that
 * task's slice to end.  Older kernels ignore or refuse it: harmless.
 */
static void short_slice(unsigned int slice_us)
{
	/* The uapi struct sched_attr (linux/sched/types.h clashes with
	 * <sched.h>); glibc 2.36 has no wrapper. */
	struct {
		uint32_t size, sched_policy;
		uint64_t sched_flags;
		int32_t sched_nice;
		uint32_t sched_priority;
		uint64_t sched_runtime, sched_deadline, sched_period;
		uint32_t sched_util_min, sched_util_max;
	} a = {
		.size = sizeof(a),
		.sched_policy = SCHED_OTHER,
		.sched_runtime = (uint64_t)slice_us * 1000u,
	};

	if (slice_us)
		syscall(SYS_sched_setattr, 0, &a, 0u);
}

static void *engine_main(void *arg)
{
	struct srxe_engine *eng = arg;
	uint64_t spin_ns = (uint64_t)eng->cfg.spin_us * 1000u;
	uint64_t last_work = srxe_now_ns();
	uint64_t last_yield = 0;

	/* Naps of a few microseconds: the default 50 us slack would make
	 * every nap 50 us long. */
	if (eng->cfg.idle_wait == SRXE_IDLE_NAP)
		prctl(PR_SET_TIMERSLACK, 1000ul);
	short_slice(eng->cfg.slice_us);

	while (!__atomic_load_n(&eng->stop, __ATOMIC_ACQUIRE)) {
		unsigned int work;

		pthread_mutex_lock(&eng->lock);
		work = srxe_engine_pass(eng);
		pthread_mutex_unlock(&eng->lock);
		if (work) {
			last_work = eng->now;
			continue;
		}
		/* eng->now was read by this pass: one clock read per pass */
		if (eng->now - last_work < spin_ns) {
			idle_wait(eng, &last_yield);
			continue;
		}
		sleep_once(eng);
		last_work = srxe_now_ns();
	}
	return NULL;
}

static void wake(struct srxe_engine *eng)
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

static void engine_free(struct srxe_engine *eng)
{
	srxe_fault_free(eng);
	srxe_mcast_eng_fini(eng);
	srxe_udp_transport_close(eng->wire);
	if (eng->epfd >= 0)
		close(eng->epfd);
	if (eng->wake_fd >= 0)
		close(eng->wake_fd);
	if (eng->timer_fd >= 0)
		close(eng->timer_fd);
	pthread_mutex_destroy(&eng->lock);
	free(eng);
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

int srxe_engine_start(const struct srxe_engine_config *cfg,
		      struct srxe_engine **out, const char **why)
{
	struct srxe_engine *eng;
	int ret;

	*why = NULL;
	if (!cfg || !cfg->threads || !srxe_mtu_bytes(cfg->active_mtu)) {
		*why = "engine config needs threads >= 1 and a valid active "
		       "MTU";
		return -EINVAL;
	}
	eng = calloc(1, sizeof(*eng));
	if (!eng) {
		*why = "out of memory";
		return -ENOMEM;
	}
	eng->cfg = *cfg;
	eng->epfd = eng->wake_fd = eng->timer_fd = -1;
	eng->next_ctx_id = FIRST_CTX_ID;
	srxe_tlb_init(&eng->tlb);
	pthread_mutex_init(&eng->lock, NULL);
	srxe_list_init(&eng->ctxs);
	/* The ports, before any transport can deliver or a QP send. */
	eng->xmit = eng_xmit;
	eng->rx = (struct srxe_rx_port){
		.deliver = srxe_eng_rx,
		.mcast4_joined = srxe_mcast_ipv4_joined,
		.mcast6_joined = srxe_mcast_ipv6_joined,
	};
	eng->capture_ip = srxe_capture_ip;
	srxe_local_transport_init(&eng->local, eng);
	srxe_mcast_eng_init(eng);
	ret = engine_fds(eng, why);
	if (!ret)
		ret = open_wire(eng, why);
	if (!ret) {
		ret = -pthread_create(&eng->thread, NULL, engine_main, eng);
		if (ret)
			*why = "cannot start the engine thread";
	}
	if (ret) {
		engine_free(eng);
		return ret;
	}
	eng->thread_started = true;
	*out = eng;
	return 0;
}

void srxe_engine_stop(struct srxe_engine *eng)
{
	if (!eng)
		return;
	__atomic_store_n(&eng->stop, 1, __ATOMIC_RELEASE);
	wake(eng);
	if (eng->thread_started)
		pthread_join(eng->thread, NULL);
	engine_free(eng);
}

void srxe_engine_lock(struct srxe_engine *eng)
{
	pthread_mutex_lock(&eng->lock);
}

/*
 * The control plane may have made work runnable (a QP moved to RTS with
 * WQEs posted, a QP to ERR that must flush): wake a sleeping thread.
 */
void srxe_engine_unlock(struct srxe_engine *eng)
{
	bool sleeping = __atomic_load_n(&eng->sleeping, __ATOMIC_SEQ_CST);

	pthread_mutex_unlock(&eng->lock);
	if (sleeping)
		wake(eng);
}

void srxe_engine_stats(struct srxe_engine *eng, struct srxe_eng_stats *out)
{
	pthread_mutex_lock(&eng->lock);
	*out = eng->stats;
	pthread_mutex_unlock(&eng->lock);
}

bool srxe_engine_wire_stats(struct srxe_engine *eng,
			    struct srxe_wire_stats *out)
{
	bool on;

	pthread_mutex_lock(&eng->lock);
	on = eng->wire != NULL;
	if (on)
		srxe_udp_transport_stats(eng->wire, out);
	pthread_mutex_unlock(&eng->lock);
	return on;
}
