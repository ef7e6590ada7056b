// SPDX-License-Identifier: MIT
/*
 * Per-context verbs state (contract in verbs.h): the ring arena, the
 * doorbell, the engine context, the request table for opcodes 16-30 and
 * the teardown order.
 */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/cpu_spare.h"
#include "devattr.h"
#include "log.h"
#include "mr.h"
#include "objects/qp_state.h"
#include "srxe/device.h"
#include "srxe/proto.h"
#include "verbs_objs.h"

uint32_t srxed_pow2_at_least(uint32_t n)
{
	uint32_t p = 1;

	while (p < n && p < (1u << 31))
		p <<= 1;
	return p;
}

void srxed_qp_limits(struct srxe_qp_limits *lim)
{
	lim->max_mtu = IBV_MTU_4096; /* port max_mtu (devattr.c) */
	lim->max_rd_atomic = SRXED_MAX_RD_ATOM;
	lim->max_dest_rd_atomic = SRXED_MAX_RD_ATOM;
	lim->pkey_tbl_len = 1;
	lim->gid_tbl_len = SRXE_GID_COUNT; /* the populated entries */
}

/*
 * SRXED_ENGINE_IDLE=MODE:SPIN_US[:IDLE_US], MODE pause|yield|nap: the
 * engine's wait between empty passes (engine.h, enum srxe_idle_wait);
 * SRXED_ENGINE_SLICE_US: the engine thread's scheduler slice.  For
 * measurements (perftest/wake-table.sh); anything else keeps the default.
 * A policy given so spins whether or not a CPU is spare (spin_if_spare).
 * SRXED_ENGINE_SLEEP_RACE_US: tests only (engine.h, sleep_race_us);
 * SRXED_ENGINE_HANDOFF=spread|queue: tests only (engine.h,
 * spread_pairs; queue also sets queue_handoffs).
 */
static void engine_idle_from_env(struct srxe_engine_config *cfg)
{
	const char *v = getenv("SRXED_ENGINE_IDLE");
	const char *slice = getenv("SRXED_ENGINE_SLICE_US");
	const char *race = getenv("SRXED_ENGINE_SLEEP_RACE_US");
	const char *handoff = getenv("SRXED_ENGINE_HANDOFF");
	unsigned int spin, idle = 0;
	char mode[8];
	int n;

	if (slice)
		cfg->slice_us = (unsigned int)strtoul(slice, NULL, 10);
	if (race)
		cfg->sleep_race_us = (unsigned int)strtoul(race, NULL, 10);
	if (handoff) {
		cfg->spread_pairs = true;
		cfg->queue_handoffs = !strcmp(handoff, "queue");
	}
	if (!v)
		return;
	n = sscanf(v, "%7[a-z]:%u:%u", mode, &spin, &idle);
	if (n < 2) {
		log_warn("SRXED_ENGINE_IDLE=%s: not MODE:SPIN_US[:IDLE_US]", v);
		return;
	}
	if (!strcmp(mode, "pause"))
		cfg->idle_wait = SRXE_IDLE_PAUSE;
	else if (!strcmp(mode, "yield"))
		cfg->idle_wait = SRXE_IDLE_YIELD;
	else if (!strcmp(mode, "nap") && idle)
		cfg->idle_wait = SRXE_IDLE_NAP;
	else {
		log_warn("SRXED_ENGINE_IDLE=%s: unknown mode", v);
		return;
	}
	cfg->spin_us = spin;
	cfg->idle_us = idle;
	cfg->spin_if_spare = false;
}

/*
 * One engine thread per four CPUs: each same-host pair of busy-polling
 * perftest processes already needs two CPUs, and an engine thread spins
 * too after its last work, so more threads than that would only take
 * CPUs from the programs they serve.
 */
unsigned int srxed_engine_threads_for_cpus(unsigned int ncpus)
{
	unsigned int n = ncpus / 4;

	if (n < 1)
		return 1;
	return n > SRXE_ENGINE_MAX_THREADS ? SRXE_ENGINE_MAX_THREADS : n;
}

unsigned int srxed_engine_threads(const struct srxed_config *cfg)
{
	if (cfg->engines)
		return cfg->engines;
	return srxed_engine_threads_for_cpus(srxe_cpus_allowed());
}

int srxed_verbs_engine_start(struct srxed *d, char *err, size_t cap)
{
	struct srxe_engine_config cfg = {
		.ipv4_be = d->cfg.ipv4_be,
		.active_mtu = srxe_ib_mtu_from_netdev(d->dev.netdev_mtu),
		.threads = srxed_engine_threads(&d->cfg),
		/*
		 * After the last work the engine polls 200 us, yielding the
		 * CPU every 10 us, then sleeps: 5 us instead of 41 us 2 B
		 * ib_write_lat on 2 cores against spinning 50 us
		 * (docs/benchmarks.md "Latency on 2 cores").  That long only
		 * while a CPU is spare; on a busier machine it held the CPU
		 * of the process it served (~105 us messages), so there,
		 * after a ping-pong's short stretch of work, it polls 4 us,
		 * yielding every 1 us (docs/datapath.md "Sleep and
		 * wake-up").
		 */
		.spin_us = 200,
		.idle_us = 10,
		.idle_wait = SRXE_IDLE_YIELD,
		.spin_if_spare = true,
		.busy_spin_us = 4,
		.busy_idle_us = 1,
		.wire_udp = true,
		.max_mcast_grp = SRXED_MAX_MCAST_GRP,
		.max_mcast_qp_attach = SRXED_MAX_MCAST_QP_ATTACH,
		.max_total_mcast_qp_attach = SRXED_MAX_TOTAL_MCAST_QP_ATTACH,
		.ifindex = if_nametoindex(d->cfg.netdev),
	};
	const char *why = NULL;
	int ret;

	engine_idle_from_env(&cfg);
	if (d->cfg.has_ipv6) {
		cfg.ipv6 = true;
		memcpy(cfg.ipv6_ll, d->cfg.ipv6_ll, sizeof(cfg.ipv6_ll));
		if (!cfg.ifindex) {
			log_warn("netdev %s has no ifindex: no IPv6",
				 d->cfg.netdev);
			cfg.ipv6 = false;
		}
	}

	/* Its threads take no signal (srxe/quiet_thread.h). */
	ret = srxe_engine_start(&cfg, &d->engine, &why);
	if (ret && cfg.ipv6) {
		/* IPv4 keeps working when only IPv6 cannot be had (the
		 * port of the link-local address is taken). */
		log_warn("no RoCEv2 over IPv6: %s (%s); IPv4 only",
			 why ? why : "no reason given", strerror(-ret));
		cfg.ipv6 = false;
		ret = srxe_engine_start(&cfg, &d->engine, &why);
	}
	if (ret) {
		/* Same-host verbs still work without the wire (no
		 * CAP_NET_RAW, or another device holds the address). */
		log_warn("no RoCEv2/UDP transport: %s (%s); same-host only",
			 why ? why : "no reason given", strerror(-ret));
		cfg.wire_udp = false;
		ret = srxe_engine_start(&cfg, &d->engine, &why);
	}
	if (!ret && cfg.wire_udp) {
		struct srxe_wire_stats w;

		/* The wire's fast path falls back in one line (no
		 * UDP_SEGMENT, no packet socket, SRXE_WIRE_GSO=0). */
		if (srxe_engine_wire_stats(d->engine, &w) && w.note)
			log_warn("RoCEv2/UDP: %s", w.note);
	}
	if (ret)
		snprintf(err, cap, "cannot start the engine: %s (%s)",
			 why ? why : "no reason given", strerror(-ret));
	return ret;
}

static void wire_status(struct srxed *d, struct srxe_status_resp *st)
{
	struct srxe_wire_stats w;

	if (!srxe_engine_wire_stats(d->engine, &w))
		return;
	st->wire = 1 | (w.ipv6 ? SRXE_STATUS_WIRE_IPV6 : 0);
	st->wire_pkts_sent = w.pkts_sent;
	st->wire_bytes_sent = w.bytes_sent;
	st->wire_pkts_recv = w.pkts_recv;
	st->wire_bytes_recv = w.bytes_recv;
	st->wire_tx_errors = w.tx_errors;
	/* enum srxe_wire_drop mirrors enum srxe_rx_reason up to here. */
	for (int r = SRXE_WDROP_TOO_SHORT; r <= SRXE_WDROP_BAD_LENGTH; r++)
		st->wire_drops[r] = w.rx_drops[r];
	st->wire_drops[SRXE_WDROP_TRUNCATED] = w.rx_truncated;
	st->wire_drops[SRXE_WDROP_NOT_FOR_US] = w.rx_not_for_us;
	st->wire_drops[SRXE_WDROP_SOCKET_OVERFLOW] = w.rx_overflow;
}

void srxed_verbs_packet_status(struct srxed *d, struct srxe_status_resp *st)
{
	struct srxe_eng_stats e;

	srxe_engine_stats(d->engine, &e);
	st->pkts_sent = e.pkts_sent;
	st->bytes_sent = e.bytes_sent;
	st->pkts_recv = e.pkts_recv;
	st->bytes_recv = e.bytes_recv;
	st->naks_sent = e.naks_sent;
	st->rnr_naks_sent = e.rnr_naks_sent;
	st->drops = e.drops;
	st->retrans_pkts = e.retrans_pkts;
	st->ack_timeouts = e.ack_timeouts;
	st->naks_recv = e.naks_recv;
	st->rnr_naks_recv = e.rnr_naks_recv;
	st->dup_requests = e.dup_requests;
	st->ooo_held = e.ooo_held;
	st->drop_no_qp = e.drop_no_qp;
	st->drop_bad_pkey = e.drop_bad_pkey;
	st->drop_bad_qkey = e.drop_bad_qkey;
	st->drop_bad_state = e.drop_bad_state;
	st->drop_bad_seq = e.drop_bad_seq;
	st->mcast_groups = e.mcast_groups;
	st->mcast_attached = e.mcast_attached;
	st->mcast_recv = e.mcast_recv;
	st->mcast_copies = e.mcast_copies;
	st->drop_mcast_no_group = e.drop_mcast_no_group;
	st->mcast_other_group = e.mcast_other_group;
	st->drop_no_recv_wqe = e.drop_no_recv_wqe;
	st->drop_bad_request = e.drop_bad_request;
	st->drop_rq_error = e.drop_rq_error;
	st->drop_no_route = e.drop_no_route;
	st->drop_tx_error = e.drop_tx_error;
	st->engine_sleeps = e.sleeps;
	st->engine_doorbells = e.doorbells;
	st->engine_bursts = e.bursts;
	st->engine_burst_pkts = e.burst_pkts;
	st->engine_threads = e.threads;
	for (unsigned int i = 0; i < SRXE_ENGINE_MAX_THREADS; i++)
		st->engine_thread_ctxs[i] = (uint32_t)e.thread_ctxs[i];
	st->engine_handoffs_direct = e.handoffs_direct;
	st->engine_handoffs_queued = e.handoffs_queued;
	st->engine_handoff_drops = e.handoff_drops;
	st->odp_reads = e.odp_reads;
	st->odp_writes = e.odp_writes;
	st->odp_faults = e.odp_faults;
	st->odp_bytes_read = e.odp_bytes_read;
	st->odp_bytes_written = e.odp_bytes_written;
	st->odp_deferred = e.odp_deferred;
	wire_status(d, st);
}

void srxed_verbs_engine_stop(struct srxed *d)
{
	if (d->engine)
		srxe_engine_stop(d->engine);
	d->engine = NULL;
	srxed_qpns_destroy(&d->qpns);
}

/* The engine resolves a UD WQE's AH handle here, under the engine lock. */
static struct srxe_eng_ah *lookup_ah(void *opaque, uint32_t ah_handle)
{
	struct srxed_verbs_ctx *v = opaque;
	struct srxed_ah *ah = srxed_handle_lookup(&v->ahs, ah_handle);

	return ah ? ah->eng : NULL;
}

static int init_tables(struct srxed_verbs_ctx *v)
{
	return srxed_handles_init(&v->cqs, SRXED_MAX_CQ) ||
	       srxed_handles_init(&v->qps, SRXED_MAX_QP) ||
	       srxed_handles_init(&v->srqs, SRXED_MAX_SRQ) ||
	       srxed_handles_init(&v->ahs, SRXED_MAX_AH) ||
	       srxed_handles_init(&v->xrcds, SRXED_MAX_SRQ);
}

static void free_ctx(struct srxed_verbs_ctx *v)
{
	srxed_handles_destroy(&v->cqs);
	srxed_handles_destroy(&v->qps);
	srxed_handles_destroy(&v->srqs);
	srxed_handles_destroy(&v->ahs);
	srxed_handles_destroy(&v->xrcds);
	if (v->doorbell_fd >= 0)
		close(v->doorbell_fd);
	srxed_arena_destroy(&v->arena);
	free(v);
}

static int create_engine_ctx(struct srxed *d, struct srxed_session *s,
			     struct srxed_verbs_ctx *v, char *why)
{
	struct srxe_eng_ctx_init init = {
		.mem = srxed_mem_client(s),
		.arena = v->arena.base,
		.arena_bytes = v->arena.bytes,
		.doorbell_fd = v->doorbell_fd,
		.async_fd = s->async_fd,
		.client_id = (uint32_t)s->id,
		.pid = (uint32_t)s->cred.pid,
	};
	const char *reason = NULL;
	int ret;

	srxe_engine_lock(d->engine);
	ret = srxe_eng_ctx_create(d->engine, &init, &v->eng, &reason);
	if (!ret)
		srxe_eng_ctx_set_ah_lookup(v->eng, lookup_ah, v);
	srxe_engine_unlock(d->engine);
	if (ret)
		return srxed_say(why, -ret,
				 "cannot create the engine context: %s",
				 reason ? reason : strerror(-ret));
	return 0;
}

static int create_ctx(struct srxed *d, struct srxed_session *s,
		      struct srxed_verbs_ctx **out, char *why)
{
	struct srxed_verbs_ctx *v = calloc(1, sizeof(*v));
	const char *step;
	int ret;

	if (!v)
		return srxed_say(why, ENOMEM, "srxed is out of memory");
	v->doorbell_fd = -1;
	ret = srxed_arena_create(&v->arena, SRXED_ARENA_BYTES, &step);
	if (ret) {
		v->arena.fd = -1;
		free_ctx(v);
		return srxed_say(why, -ret, "%s: %s", step, strerror(-ret));
	}
	v->doorbell_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->doorbell_fd < 0 || init_tables(v)) {
		ret = srxed_say(why, ENOMEM, "cannot create the doorbell: %s",
				strerror(errno));
		free_ctx(v);
		return ret;
	}
	ret = create_engine_ctx(d, s, v, why);
	if (ret) {
		free_ctx(v);
		return ret;
	}
	*out = v;
	return 0;
}

struct srxed_verbs_ctx *srxed_verbs_ctx_get(struct srxed *d,
					    struct srxed_session *s, int *err,
					    char *why)
{
	if (s->verbs)
		return s->verbs;
	if (!d->engine) {
		*err = srxed_say(why, EIO, "the srxe engine is not running");
		return NULL;
	}
	if (!srxed_mem_client(s)) {
		*err = srxed_say(why, EIO, "the context has no memory");
		return NULL;
	}
	*err = create_ctx(d, s, &s->verbs, why);
	return *err ? NULL : s->verbs;
}

/* What a drain callback needs besides the object. */
struct teardown {
	struct srxed *d;
	struct srxed_verbs_ctx *v;
};

static void drain_qp(void *obj, uint32_t handle, void *arg)
{
	struct teardown *t = arg;

	srxed_qp_release(t->d, t->v, obj);
}

static void drain_srq(void *obj, uint32_t handle, void *arg)
{
	struct teardown *t = arg;

	srxed_srq_release(t->d, t->v, obj);
}

static void drain_cq(void *obj, uint32_t handle, void *arg)
{
	struct teardown *t = arg;

	srxed_cq_release(t->d, t->v, obj);
}

static void drain_xrcd(void *obj, uint32_t handle, void *arg)
{
	struct teardown *t = arg;

	srxed_xrcd_release(t->d, obj);
}

static void drain_ah(void *obj, uint32_t handle, void *arg)
{
	struct teardown *t = arg;

	srxed_ah_release(t->d, t->v, obj);
}

void srxed_verbs_close(struct srxed *d, struct srxed_session *s)
{
	struct srxed_verbs_ctx *v = s->verbs;
	struct teardown t = { d, v };
	unsigned int qps, cqs, srqs, ahs;

	if (!v)
		return;
	qps = srxed_handles_count(&v->qps);
	cqs = srxed_handles_count(&v->cqs);
	srqs = srxed_handles_count(&v->srqs);
	ahs = srxed_handles_count(&v->ahs);
	v->arena.keep_contents = true;
	/* Users before what they use: QPs hold CQs, SRQs and PDs. */
	srxed_handles_drain(&v->qps, drain_qp, &t);
	srxed_handles_drain(&v->srqs, drain_srq, &t);
	srxed_handles_drain(&v->xrcds, drain_xrcd, &t);
	srxed_handles_drain(&v->cqs, drain_cq, &t);
	srxed_handles_drain(&v->ahs, drain_ah, &t);
	srxe_engine_lock(d->engine);
	srxe_eng_ctx_destroy(v->eng);
	srxe_engine_unlock(d->engine);
	if (qps || cqs || srqs || ahs)
		log_info("client %llu: freed %u QPs, %u CQs, %u SRQs, %u AHs",
			 (unsigned long long)s->id, qps, cqs, srqs, ahs);
	free_ctx(v);
	s->verbs = NULL;
}
