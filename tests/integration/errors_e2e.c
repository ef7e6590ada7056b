// SPDX-License-Identifier: MIT
/*
 * Issue #4, must-show 3: the RC error cases end to end, between two real
 * processes, through the unmodified libibverbs, the srxe provider and
 * srxed.  The program forks a peer; parent and peer each open the device
 * after the fork and talk over a socketpair (a tiny RPC: the parent
 * drives, the peer creates its QP and MRs, posts receives, polls, queries
 * its QP state and checks its memory when asked).
 *
 * Every case uses a fresh RC QP pair and asserts the exact wc.status of
 * every completion on both sides, wc.vendor_err where srxe defines it
 * (LOC_PROT_ERR: the translation check, enum srxe_xlate_err; NAK-caused
 * statuses: the AETH syndrome of the NAK, IBA table 43; 0 otherwise), the
 * QP states of requester and responder afterwards (ibv_query_qp), and that
 * no byte moved where none may.
 *
 * usage: errors_e2e DEVICE
 * Prints one "ok: <case>" line per case and "PASS", or "FAIL ..." lines
 * and exits 1.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

/* The translation failure codes srxe reports in vendor_err. */
#include "../../kernel-shim/mem/xlate_err.h"

#define GID_INDEX 1 /* ::ffff:<device IPv4>, RoCE v2 */
#define PORT	  1
#define BUF	  4096u
#define TMO_MS	  5000
/* vendor_err of a NAK-caused completion: the NAK's AETH syndrome. */
#define NAK_INVALID_REQ 0x61u
#define NAK_REM_ACCESS	0x62u
#define ALL_ACCESS                                                             \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)
#define QP_RW (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

static const char *who = "errors_e2e";
static int failures;

#include "itest.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Byte k of the pattern @seed; distinct seeds differ at every k. */
static uint8_t pat(unsigned int seed, uint64_t k)
{
	return (uint8_t)(((k * 2654435761u) >> 13) + 37u * seed);
}

static void fill(uint8_t *p, uint64_t len, unsigned int seed, uint64_t base)
{
	for (uint64_t i = 0; i < len; i++)
		p[i] = pat(seed, base + i);
}

/* Offset of the first byte that is not the pattern, or len. */
static uint64_t check(const uint8_t *p, uint64_t len, unsigned int seed,
		      uint64_t base)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i] != pat(seed, base + i))
			return i;
	return len;
}

static const char *state_name(int s)
{
	static const char *const n[SRXE_XLATE_ERR_MAX] = {
		"RESET", "INIT", "RTR", "RTS", "SQD", "SQE", "ERR"
	};

	return s >= 0 && s <= IBV_QPS_ERR ? n[s] : "?";
}

static const char *xlate_name(uint32_t e)
{
	static const char *const n[SRXE_XLATE_ERR_MAX] = {
		[SRXE_XLATE_BAD_KEY] = "BAD_KEY",
		[SRXE_XLATE_STALE] = "STALE",
		[SRXE_XLATE_PD_MISMATCH] = "PD_MISMATCH",
		[SRXE_XLATE_ACCESS_DENIED] = "ACCESS_DENIED",
		[SRXE_XLATE_OUT_OF_BOUNDS] = "OUT_OF_BOUNDS",
		[SRXE_XLATE_NOT_PRESENT] = "NOT_PRESENT",
		[SRXE_XLATE_NOT_PINNED] = "NOT_PINNED",
		[SRXE_XLATE_SG_OVERFLOW] = "SG_OVERFLOW",
	};

	return e && e < SRXE_XLATE_ERR_MAX && n[e] ? n[e] : "?";
}

static bool is_key_failure(uint32_t vendor_err)
{
	return vendor_err == SRXE_XLATE_BAD_KEY ||
	       vendor_err == SRXE_XLATE_STALE;
}

/* ------------------------------------------------------------------ */
/* verbs helpers shared by both processes                              */

struct dev {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	union ibv_gid gid;
};

struct side {
	struct ibv_cq *cq;
	struct ibv_qp *qp;
};

struct mr {
	uint8_t *buf;
	uint64_t len;
	struct ibv_mr *mr;
};

static void open_dev(struct dev *d, const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);

	d->ctx = NULL;
	for (int i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			d->ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	if (!d->ctx)
		die("cannot open %s: %s", name, strerror(errno));
	d->pd = ibv_alloc_pd(d->ctx);
	if (!d->pd)
		die("alloc_pd: %s", strerror(errno));
	if (ibv_query_gid(d->ctx, PORT, GID_INDEX, &d->gid))
		die("query_gid: %s", strerror(errno));
}

static void close_dev(struct dev *d)
{
	if (ibv_dealloc_pd(d->pd))
		die("dealloc_pd: %s", strerror(errno));
	if (ibv_close_device(d->ctx))
		die("close_device: %s", strerror(errno));
}

static void mr_reg(struct dev *d, struct mr *m, uint64_t len, int access,
		   unsigned int seed)
{
	m->buf = aligned_alloc(4096, (len + 4095) & ~4095ull);
	if (!m->buf)
		die("aligned_alloc");
	m->len = len;
	fill(m->buf, len, seed, 0);
	m->mr = ibv_reg_mr(d->pd, m->buf, len, access);
	if (!m->mr)
		die("reg_mr(%llu, 0x%x): %s", (unsigned long long)len, access,
		    strerror(errno));
}

/* Deregisters, keeps the buffer (so its content can still be checked). */
static void mr_dereg(struct mr *m)
{
	if (m->mr && ibv_dereg_mr(m->mr))
		die("dereg_mr: %s", strerror(errno));
	m->mr = NULL;
}

static void mr_free(struct mr *m)
{
	mr_dereg(m);
	free(m->buf);
	m->buf = NULL;
}

static void side_new(struct dev *d, struct side *s, int qp_access)
{
	struct ibv_qp_init_attr init = {
		.cap = { .max_send_wr = 64,
			 .max_recv_wr = 64,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.port_num = PORT,
		.qp_access_flags = qp_access,
	};

	s->cq = ibv_create_cq(d->ctx, 512, NULL, NULL, 0);
	if (!s->cq)
		die("create_cq: %s", strerror(errno));
	init.send_cq = init.recv_cq = s->cq;
	s->qp = ibv_create_qp(d->pd, &init);
	if (!s->qp)
		die("create_qp: %s", strerror(errno));
	if (ibv_modify_qp(s->qp, &a,
			  IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				  IBV_QP_ACCESS_FLAGS))
		die("modify_qp INIT");
}

static void side_free(struct side *s)
{
	if (s->qp && ibv_destroy_qp(s->qp))
		die("destroy_qp: %s", strerror(errno));
	if (s->cq && ibv_destroy_cq(s->cq))
		die("destroy_cq: %s", strerror(errno));
	s->qp = NULL;
	s->cq = NULL;
}

struct conn {
	uint32_t dest_qpn, rq_psn, sq_psn;
	union ibv_gid dgid;
	uint8_t min_rnr_timer, timeout, retry_cnt, rnr_retry;
};

static void side_connect(struct side *s, const struct conn *c)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_1024,
		.dest_qp_num = c->dest_qpn,
		.rq_psn = c->rq_psn,
		.max_dest_rd_atomic = 4,
		.min_rnr_timer = c->min_rnr_timer,
		.ah_attr = { .is_global = 1,
			     .grh = { .dgid = c->dgid,
				      .sgid_index = GID_INDEX,
				      .hop_limit = 1 },
			     .port_num = PORT },
	};
	int ret = ibv_modify_qp(s->qp, &a,
				IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
					IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
					IBV_QP_MAX_DEST_RD_ATOMIC |
					IBV_QP_MIN_RNR_TIMER);

	if (ret)
		die("modify_qp RTR: %s", strerror(ret));
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = c->sq_psn;
	a.timeout = c->timeout;
	a.retry_cnt = c->retry_cnt;
	a.rnr_retry = c->rnr_retry;
	a.max_rd_atomic = 4;
	ret = ibv_modify_qp(s->qp, &a,
			    IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
				    IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				    IBV_QP_MAX_QP_RD_ATOMIC);
	if (ret)
		die("modify_qp RTS: %s", strerror(ret));
}

static int qp_state(struct ibv_qp *qp)
{
	struct ibv_qp_attr a;
	struct ibv_qp_init_attr init;
	int ret = ibv_query_qp(qp, &a, IBV_QP_STATE, &init);

	if (ret)
		die("query_qp: %s", strerror(ret));
	return a.qp_state;
}

/* One completion within @ms, or false. */
static bool poll_one(struct ibv_cq *cq, unsigned int ms, struct ibv_wc *wc)
{
	uint64_t end = now_ms() + ms;

	do {
		int n = ibv_poll_cq(cq, 1, wc);

		if (n < 0)
			die("poll_cq: %d", n);
		if (n == 1)
			return true;
		if (!ms)
			return false;
		nanosleep(&(struct timespec){ 0, 50000 }, NULL);
	} while (now_ms() < end);
	return false;
}

static int post_recv(struct ibv_qp *qp, struct mr *m, uint64_t off,
		     uint32_t len, uint64_t wr_id)
{
	struct ibv_sge sg = { .addr = (uintptr_t)m->buf + off,
			      .length = len,
			      .lkey = m->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = wr_id,
				  .sg_list = &sg,
				  .num_sge = 1 };
	struct ibv_recv_wr *bad;

	return ibv_post_recv(qp, &wr, &bad);
}

/* ------------------------------------------------------------------ */
/* the RPC between the driver and its peer                             */

enum {
	OP_QP_NEW = 1, /* v0 QP access -> v0 qpn, v1/v2 gid */
	OP_QP_CONNECT, /* v0 dest qpn, v1 rq_psn, v2 sq_psn, v3 rnr timer,
			  v4/v5 dgid */
	OP_QP_DESTROY, /* */
	OP_QP_STATE,   /* -> v0 state */
	OP_MR_REG,     /* v0 idx, v1 len, v2 access, v3 seed -> v0 addr,
			  v1 lkey, v2 rkey */
	OP_MR_DEREG,   /* v0 idx */
	OP_MR_CHECK,   /* v0 idx, v1 off, v2 len, v3 seed, v4 base ->
			  v0 first differing byte or len */
	OP_POST_RECV,  /* v0 idx, v1 off, v2 len, v3 wr_id */
	OP_POLL,       /* v0 ms -> v0 found, v1 wr_id, v2 status,
			  v3 vendor_err, v4 opcode, v5 byte_len, v6 qp_num */
	OP_EXIT,
};

struct msg {
	uint32_t op;
	int32_t failures; /* reply: the peer's failure count so far */
	uint64_t v[8];
};

#define PEER_MRS 4

struct peer {
	int fd;
	pid_t pid;
};

static struct msg rpc(struct peer *p, uint32_t op, const uint64_t *v, int n)
{
	struct msg m = { .op = op };
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	ssize_t r;

	for (int i = 0; i < n; i++)
		m.v[i] = v[i];
	if (send(p->fd, &m, sizeof(m), 0) != sizeof(m))
		die("rpc %u: send: %s", op, strerror(errno));
	if (poll(&pfd, 1, 30000) != 1)
		die("rpc %u: the peer did not answer within 30 s", op);
	r = recv(p->fd, &m, sizeof(m), 0);
	if (r != sizeof(m))
		die("rpc %u: the peer died (recv %zd)", op, r);
	return m;
}

#define RPC(p, op, ...)                                                        \
	rpc(p, op, (const uint64_t[]){ 0, ##__VA_ARGS__ } + 1,                 \
	    (int)(sizeof((uint64_t[]){ 0, ##__VA_ARGS__ }) / 8 - 1))

static void peer_serve(int fd, const char *devname)
{
	struct dev d;
	struct side s = { 0 };
	struct mr mrs[PEER_MRS] = { 0 };
	struct msg m;

	who = "peer";
	open_dev(&d, devname);
	for (;;) {
		ssize_t r = recv(fd, &m, sizeof(m), 0);
		uint64_t *v = m.v;
		struct ibv_wc wc;

		if (r == 0)
			break;
		if (r != sizeof(m))
			die("peer recv: %zd %s", r, strerror(errno));
		switch (m.op) {
		case OP_QP_NEW:
			side_free(&s);
			side_new(&d, &s, (int)v[0]);
			v[0] = s.qp->qp_num;
			memcpy(&v[1], d.gid.raw, 16);
			break;
		case OP_QP_CONNECT: {
			struct conn c = { .dest_qpn = (uint32_t)v[0],
					  .rq_psn = (uint32_t)v[1],
					  .sq_psn = (uint32_t)v[2],
					  .min_rnr_timer = (uint8_t)v[3],
					  .timeout = 14,
					  .retry_cnt = 7,
					  .rnr_retry = 7 };

			memcpy(c.dgid.raw, &v[4], 16);
			side_connect(&s, &c);
			break;
		}
		case OP_QP_DESTROY:
			side_free(&s);
			break;
		case OP_QP_STATE:
			v[0] = (uint64_t)qp_state(s.qp);
			break;
		case OP_MR_REG: {
			struct mr *mm = &mrs[v[0] % PEER_MRS];

			mr_free(mm);
			mr_reg(&d, mm, v[1], (int)v[2], (unsigned int)v[3]);
			v[0] = (uintptr_t)mm->buf;
			v[1] = mm->mr->lkey;
			v[2] = mm->mr->rkey;
			break;
		}
		case OP_MR_DEREG:
			mr_dereg(&mrs[v[0] % PEER_MRS]);
			break;
		case OP_MR_CHECK: {
			struct mr *mm = &mrs[v[0] % PEER_MRS];

			if (!mm->buf || v[1] + v[2] > mm->len)
				die("OP_MR_CHECK out of range");
			v[0] = check(mm->buf + v[1], v[2], (unsigned int)v[3],
				     v[4]);
			break;
		}
		case OP_POST_RECV: {
			int ret = post_recv(s.qp, &mrs[v[0] % PEER_MRS], v[1],
					    (uint32_t)v[2], v[3]);

			EXPECT(ret == 0, "post_recv: %s", strerror(ret));
			break;
		}
		case OP_POLL: {
			/* v is m.v: read the wait before clearing the answer */
			unsigned int ms = (unsigned int)v[0];

			memset(v, 0, sizeof(m.v));
			if (poll_one(s.cq, ms, &wc)) {
				v[0] = 1;
				v[1] = wc.wr_id;
				v[2] = wc.status;
				v[3] = wc.vendor_err;
				v[4] = wc.opcode;
				v[5] = wc.byte_len;
				v[6] = wc.qp_num;
			}
			break;
		}
		case OP_EXIT:
			side_free(&s);
			for (int i = 0; i < PEER_MRS; i++)
				mr_free(&mrs[i]);
			close_dev(&d);
			m.failures = failures;
			if (send(fd, &m, sizeof(m), 0) != sizeof(m))
				die("peer send");
			exit(failures ? 1 : 0);
		default:
			die("unknown op %u", m.op);
		}
		m.failures = failures;
		if (send(fd, &m, sizeof(m), 0) != sizeof(m))
			die("peer send: %s", strerror(errno));
	}
	exit(1);
}

static struct peer peer_start(const char *devname)
{
	int sv[2];
	struct peer p;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		die("socketpair: %s", strerror(errno));
	fflush(NULL);
	p.pid = fork();
	if (p.pid < 0)
		die("fork: %s", strerror(errno));
	if (p.pid == 0) {
		close(sv[0]);
		peer_serve(sv[1], devname);
	}
	close(sv[1]);
	p.fd = sv[0];
	return p;
}

/* Ends the peer; its failures count as ours. */
static void peer_stop(struct peer *p)
{
	struct msg m = RPC(p, OP_EXIT);
	int st;

	if (m.failures)
		failures += m.failures;
	if (waitpid(p->pid, &st, 0) != p->pid)
		die("waitpid: %s", strerror(errno));
	EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "peer exited with status 0x%x", st);
	close(p->fd);
}

/* ------------------------------------------------------------------ */
/* the driver                                                          */

static struct dev D;
static struct peer P;
static uint32_t psn_seed = 0xfffff0; /* 24-bit wrap inside the messages */

struct pair {
	struct side l; /* ours: the requester */
	uint32_t peer_qpn;
};

struct pair_opts {
	int peer_qp_access;
	uint8_t peer_min_rnr_timer; /* the responder's RNR NAK timer */
	uint8_t timeout, retry_cnt, rnr_retry; /* our requester */
};

static const struct pair_opts defaults = {
	.peer_qp_access = QP_RW,
	.peer_min_rnr_timer = 1,
	.timeout = 14,
	.retry_cnt = 7,
	.rnr_retry = 7,
};

static void pair_new_with(struct peer *p, struct pair *pr,
			  const struct pair_opts *o)
{
	struct msg m = RPC(p, OP_QP_NEW, (uint64_t)o->peer_qp_access);
	uint32_t psn_l = psn_seed++ & 0xffffff, psn_p = psn_seed++ & 0xffffff;
	uint64_t g[2];
	struct conn c = { .rq_psn = psn_p,
			  .sq_psn = psn_l,
			  .min_rnr_timer = 12,
			  .timeout = o->timeout,
			  .retry_cnt = o->retry_cnt,
			  .rnr_retry = o->rnr_retry };

	pr->peer_qpn = (uint32_t)m.v[0];
	memcpy(c.dgid.raw, &m.v[1], 16);
	side_new(&D, &pr->l, QP_RW);
	memcpy(g, D.gid.raw, 16);
	RPC(p, OP_QP_CONNECT, pr->l.qp->qp_num, psn_l, psn_p,
	    o->peer_min_rnr_timer, g[0], g[1]);
	c.dest_qpn = pr->peer_qpn;
	side_connect(&pr->l, &c);
}

static void pair_new(struct pair *pr)
{
	pair_new_with(&P, pr, &defaults);
}

static void pair_free(struct peer *p, struct pair *pr)
{
	struct ibv_wc wc;

	EXPECT(!poll_one(pr->l.cq, 0, &wc),
	       "unexpected completion wr_id %llu status %s left in our CQ",
	       (unsigned long long)wc.wr_id, ibv_wc_status_str(wc.status));
	side_free(&pr->l);
	RPC(p, OP_QP_DESTROY);
}

static int peer_state(struct peer *p)
{
	return (int)RPC(p, OP_QP_STATE).v[0];
}

struct rmr {
	uint64_t addr;
	uint32_t lkey, rkey;
};

static struct rmr peer_mr(struct peer *p, int idx, uint64_t len, int access,
			  unsigned int seed)
{
	struct msg m = RPC(p, OP_MR_REG, (uint64_t)idx, len, (uint64_t)access,
			   (uint64_t)seed);
	struct rmr r = { m.v[0], (uint32_t)m.v[1], (uint32_t)m.v[2] };

	return r;
}

/* Does the peer's MR idx still hold the pattern @seed in [off, off+len)? */
static bool peer_intact(struct peer *p, int idx, uint64_t off, uint64_t len,
			unsigned int seed, uint64_t base)
{
	uint64_t bad = RPC(p, OP_MR_CHECK, (uint64_t)idx, off, len,
			   (uint64_t)seed, base)
			       .v[0];

	return EXPECT(bad == len,
		      "peer memory changed at byte %llu of [%llu, +%llu)",
		      (unsigned long long)(off + bad), (unsigned long long)off,
		      (unsigned long long)len);
}

struct pwc {
	bool found;
	uint64_t wr_id;
	uint32_t status, vendor_err, opcode, byte_len, qp_num;
};

static struct pwc peer_poll(struct peer *p, unsigned int ms)
{
	struct msg m = RPC(p, OP_POLL, (uint64_t)ms);
	struct pwc w = { m.v[0] != 0,	   m.v[1],	     (uint32_t)m.v[2],
			 (uint32_t)m.v[3], (uint32_t)m.v[4], (uint32_t)m.v[5],
			 (uint32_t)m.v[6] };

	return w;
}

static const char *st(uint32_t s)
{
	return ibv_wc_status_str((enum ibv_wc_status)s);
}

/* Our next completion: wr_id and status exact; returns vendor_err. */
static bool expect_wc(struct ibv_cq *cq, uint64_t wr_id,
		      enum ibv_wc_status status, struct ibv_wc *out)
{
	struct ibv_wc wc;

	if (!EXPECT(poll_one(cq, TMO_MS, &wc),
		    "no completion for wr_id %llu (%s expected) within %d ms",
		    (unsigned long long)wr_id, st(status), TMO_MS))
		return false;
	if (out)
		*out = wc;
	return EXPECT(wc.wr_id == wr_id && wc.status == status,
		      "completion wr_id %llu status %s (vendor_err 0x%x), "
		      "expected wr_id %llu status %s",
		      (unsigned long long)wc.wr_id, st(wc.status),
		      wc.vendor_err, (unsigned long long)wr_id, st(status));
}

static bool expect_peer_wc(struct peer *p, uint64_t wr_id,
			   enum ibv_wc_status status, struct pwc *out)
{
	struct pwc w = peer_poll(p, TMO_MS);

	if (out)
		*out = w;
	if (!EXPECT(w.found, "peer: no completion for wr_id %llu (%s)",
		    (unsigned long long)wr_id, st(status)))
		return false;
	return EXPECT(w.wr_id == wr_id && w.status == status,
		      "peer completion wr_id %llu status %s (vendor_err 0x%x), "
		      "expected wr_id %llu status %s",
		      (unsigned long long)w.wr_id, st(w.status), w.vendor_err,
		      (unsigned long long)wr_id, st(status));
}

static void expect_states(struct pair *pr, int ours, int peers,
			  const char *what)
{
	int a = qp_state(pr->l.qp), b = peer_state(&P);

	EXPECT(a == ours, "%s: requester QP in %s, expected %s", what,
	       state_name(a), state_name(ours));
	EXPECT(b == peers, "%s: responder QP in %s, expected %s", what,
	       state_name(b), state_name(peers));
}

static int post(struct ibv_qp *qp, uint64_t wr_id, enum ibv_wr_opcode op,
		uint64_t laddr, uint32_t len, uint32_t lkey, uint64_t raddr,
		uint32_t rkey, bool signaled)
{
	struct ibv_sge sg = { .addr = laddr, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = &sg,
		.num_sge = 1,
		.opcode = op,
		.send_flags = signaled ? IBV_SEND_SIGNALED : 0,
	};
	struct ibv_send_wr *bad;

	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	return ibv_post_send(qp, &wr, &bad);
}

static const char *opname(enum ibv_wr_opcode op)
{
	return op == IBV_WR_SEND	? "SEND"
	       : op == IBV_WR_RDMA_READ ? "READ"
					: "WRITE";
}

/* One line per case: "ok: NAME" or "not ok: NAME" after its FAIL lines. */
static void report(const char *name, int f0, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void report(const char *name, int f0, const char *fmt, ...)
{
	va_list ap;

	fflush(stderr);
	printf("%s: %s", failures == f0 ? "ok" : "not ok", name);
	if (fmt) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
}

/* bad lkey: LOC_PROT_ERR, the next WR flushed, nothing reaches the peer. */
static void case_bad_lkey(enum ibv_wr_opcode op)
{
	struct pair pr;
	struct mr loc;
	struct rmr rem;
	struct ibv_wc wc;
	uint32_t bad, vendor = 0;
	char name[64];
	int f0 = failures;

	snprintf(name, sizeof(name), "bad lkey %s -> LOC_PROT_ERR", opname(op));
	pair_new(&pr);
	rem = peer_mr(&P, 0, BUF, ALL_ACCESS, 1);
	RPC(&P, OP_POST_RECV, 0, 0, BUF, 500);
	mr_reg(&D, &loc, BUF, IBV_ACCESS_LOCAL_WRITE, 2);
	bad = loc.mr->lkey ^ 0x00a5a500u;
	EXPECT(post(pr.l.qp, 1, op, (uintptr_t)loc.buf, 256, bad, rem.addr,
		    rem.rkey, true) == 0,
	       "post %s", opname(op));
	EXPECT(post(pr.l.qp, 2, IBV_WR_SEND, (uintptr_t)loc.buf, 16,
		    loc.mr->lkey, 0, 0, true) == 0,
	       "post SEND");
	if (expect_wc(pr.l.cq, 1, IBV_WC_LOC_PROT_ERR, &wc)) {
		vendor = wc.vendor_err;
		EXPECT(is_key_failure(wc.vendor_err) &&
			       wc.qp_num == pr.l.qp->qp_num,
		       "vendor_err %u (%s), expected BAD_KEY or STALE; "
		       "qp_num %u",
		       wc.vendor_err, xlate_name(wc.vendor_err), wc.qp_num);
	}
	if (expect_wc(pr.l.cq, 2, IBV_WC_WR_FLUSH_ERR, &wc))
		EXPECT(wc.vendor_err == 0, "flush vendor_err %u",
		       wc.vendor_err);
	expect_states(&pr, IBV_QPS_ERR, IBV_QPS_RTS, name);
	EXPECT(!peer_poll(&P, 50).found,
	       "the peer completed something: a packet reached it");
	peer_intact(&P, 0, 0, BUF, 1, 0);
	EXPECT(check(loc.buf, BUF, 2, 0) == BUF, "local buffer changed");
	pair_free(&P, &pr);
	mr_free(&loc);
	report(name, f0, " (vendor_err %s)", xlate_name(vendor));
}

/*
 * A request the responder refuses with a remote access NAK: requester
 * REM_ACCESS_ERR (vendor_err = the NAK syndrome) and the next WR flushed;
 * both QPs in ERR; the responder's posted receives flushed in order; no
 * byte changed on either side.
 */
struct refusal {
	const char *name;
	enum ibv_wr_opcode op;
	int mr_access, qp_access;
	int64_t off; /* remote address = MR start + off */
	uint32_t len;
	uint32_t rkey_xor;
	bool stale_rkey; /* use the rkey of a deregistered MR */
};

static void case_refused(const struct refusal *r)
{
	struct pair_opts o = defaults;
	struct pair pr;
	struct mr loc;
	struct rmr rem;
	struct ibv_wc wc;
	struct pwc pw;
	uint32_t rkey;
	int f0 = failures;

	o.peer_qp_access = r->qp_access;
	pair_new_with(&P, &pr, &o);
	rem = peer_mr(&P, 0, BUF, r->mr_access, 3);
	rkey = rem.rkey ^ r->rkey_xor;
	if (r->stale_rkey) {
		struct rmr gone = peer_mr(&P, 1, BUF, ALL_ACCESS, 4);

		RPC(&P, OP_MR_DEREG, 1);
		rkey = gone.rkey;
		rem.addr = gone.addr; /* its buffer, no longer registered */
	}
	RPC(&P, OP_POST_RECV, 0, 0, 64, 600);
	RPC(&P, OP_POST_RECV, 0, 64, 64, 601);
	mr_reg(&D, &loc, BUF, IBV_ACCESS_LOCAL_WRITE, 5);
	EXPECT(post(pr.l.qp, 10, r->op, (uintptr_t)loc.buf, r->len,
		    loc.mr->lkey, rem.addr + (uint64_t)r->off, rkey, true) == 0,
	       "post");
	/* unsignaled: a flushed WR completes anyway */
	EXPECT(post(pr.l.qp, 11, IBV_WR_SEND, (uintptr_t)loc.buf, 16,
		    loc.mr->lkey, 0, 0, false) == 0,
	       "post SEND");
	if (expect_wc(pr.l.cq, 10, IBV_WC_REM_ACCESS_ERR, &wc))
		EXPECT(wc.vendor_err == NAK_REM_ACCESS,
		       "vendor_err 0x%x, expected the NAK syndrome 0x%x",
		       wc.vendor_err, NAK_REM_ACCESS);
	if (expect_wc(pr.l.cq, 11, IBV_WC_WR_FLUSH_ERR, &wc))
		EXPECT(wc.vendor_err == 0, "flush vendor_err %u",
		       wc.vendor_err);
	expect_states(&pr, IBV_QPS_ERR, IBV_QPS_ERR, r->name);
	if (expect_peer_wc(&P, 600, IBV_WC_WR_FLUSH_ERR, &pw))
		EXPECT(pw.vendor_err == 0 && pw.qp_num == pr.peer_qpn,
		       "peer flush vendor_err %u qp_num %u", pw.vendor_err,
		       pw.qp_num);
	expect_peer_wc(&P, 601, IBV_WC_WR_FLUSH_ERR, NULL);
	EXPECT(!peer_poll(&P, 20).found, "extra peer completion");
	if (r->stale_rkey)
		peer_intact(&P, 1, 0, BUF, 4, 0);
	else
		peer_intact(&P, 0, 0, BUF, 3, 0);
	EXPECT(check(loc.buf, BUF, 5, 0) == BUF,
	       "local buffer changed (READ landed?)");
	pair_free(&P, &pr);
	mr_free(&loc);
	report(r->name, f0, NULL);
}

static const struct refusal refusals[] = {
	{ "bad rkey WRITE -> REM_ACCESS_ERR", IBV_WR_RDMA_WRITE, ALL_ACCESS,
	  QP_RW, 0, 64, 0x5a5a00, false },
	{ "bad rkey READ -> REM_ACCESS_ERR", IBV_WR_RDMA_READ, ALL_ACCESS,
	  QP_RW, 0, 64, 0x5a5a00, false },
	{ "rkey of a deregistered MR WRITE -> REM_ACCESS_ERR",
	  IBV_WR_RDMA_WRITE, ALL_ACCESS, QP_RW, 0, 64, 0, true },
	{ "rkey of a deregistered MR READ -> REM_ACCESS_ERR", IBV_WR_RDMA_READ,
	  ALL_ACCESS, QP_RW, 0, 64, 0, true },
	{ "out of bounds (end) WRITE -> REM_ACCESS_ERR", IBV_WR_RDMA_WRITE,
	  ALL_ACCESS, QP_RW, BUF - 32, 64, 0, false },
	{ "out of bounds (end) READ -> REM_ACCESS_ERR", IBV_WR_RDMA_READ,
	  ALL_ACCESS, QP_RW, BUF - 32, 64, 0, false },
	{ "out of bounds (before start) WRITE -> REM_ACCESS_ERR",
	  IBV_WR_RDMA_WRITE, ALL_ACCESS, QP_RW, -8, 64, 0, false },
	{ "out of bounds (2 packets) WRITE -> REM_ACCESS_ERR",
	  IBV_WR_RDMA_WRITE, ALL_ACCESS, QP_RW, 2048, 2049, 0, false },
	{ "MR without REMOTE_WRITE: WRITE -> REM_ACCESS_ERR", IBV_WR_RDMA_WRITE,
	  IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ, QP_RW, 0, 64, 0,
	  false },
	{ "MR without REMOTE_READ: READ -> REM_ACCESS_ERR", IBV_WR_RDMA_READ,
	  IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE, QP_RW, 0, 64, 0,
	  false },
	{ "QP without REMOTE_WRITE: WRITE -> REM_ACCESS_ERR", IBV_WR_RDMA_WRITE,
	  ALL_ACCESS, IBV_ACCESS_REMOTE_READ, 0, 64, 0, false },
	{ "QP without REMOTE_READ: READ -> REM_ACCESS_ERR", IBV_WR_RDMA_READ,
	  ALL_ACCESS, IBV_ACCESS_REMOTE_WRITE, 0, 64, 0, false },
};

/*
 * Dereg of the local MR while a WRITE that uses it is queued, made
 * deterministic with SQD: RTS -> SQD (nothing outstanding, so drained at
 * once), post the WRITE (accepted in SQD, not started: IBA 10.3.1), dereg
 * the MR, SQD -> RTS.  The WRITE must fail with LOC_PROT_ERR and move
 * nothing.
 */
static void case_dereg_sqd(void)
{
	const char *name = "dereg while WRITE queued (SQD) -> LOC_PROT_ERR";
	struct pair pr;
	struct mr loc;
	struct rmr rem;
	struct ibv_wc wc;
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_SQD };
	int ret, f0 = failures;

	pair_new(&pr);
	rem = peer_mr(&P, 0, BUF, ALL_ACCESS, 6);
	mr_reg(&D, &loc, BUF, IBV_ACCESS_LOCAL_WRITE, 7);
	ret = ibv_modify_qp(pr.l.qp, &a, IBV_QP_STATE);
	EXPECT(ret == 0, "RTS -> SQD: %s", strerror(ret));
	EXPECT(qp_state(pr.l.qp) == IBV_QPS_SQD, "not in SQD");
	EXPECT(post(pr.l.qp, 30, IBV_WR_RDMA_WRITE, (uintptr_t)loc.buf, 1500,
		    loc.mr->lkey, rem.addr, rem.rkey, true) == 0,
	       "post WRITE in SQD");
	sleep_ms(20);
	EXPECT(!poll_one(pr.l.cq, 0, &wc), "WRITE completed while in SQD");
	mr_dereg(&loc);
	a.qp_state = IBV_QPS_RTS;
	ret = ibv_modify_qp(pr.l.qp, &a, IBV_QP_STATE);
	EXPECT(ret == 0, "SQD -> RTS: %s", strerror(ret));
	if (expect_wc(pr.l.cq, 30, IBV_WC_LOC_PROT_ERR, &wc))
		EXPECT(is_key_failure(wc.vendor_err),
		       "vendor_err %u (%s), expected BAD_KEY or STALE",
		       wc.vendor_err, xlate_name(wc.vendor_err));
	expect_states(&pr, IBV_QPS_ERR, IBV_QPS_RTS, name);
	peer_intact(&P, 0, 0, BUF, 6, 0);
	EXPECT(check(loc.buf, BUF, 7, 0) == BUF, "buffer changed by dereg");
	pair_free(&P, &pr);
	mr_free(&loc);
	report(name, f0, NULL);
}

/*
 * Dereg while the engine is busy with the QP: a SEND to a peer without a
 * receive is RNR-NAKed over and over (rnr_retry 7 = infinite), a WRITE
 * from MR X is queued behind it (IBA: it cannot complete before the SEND;
 * on any retransmission its data is read again).  X is deregistered, then
 * the peer posts its receive: the SEND succeeds, the WRITE fails with
 * LOC_PROT_ERR, and the peer's memory is untouched.
 */
static void case_dereg_busy(void)
{
	const char *name = "dereg while WRITE queued behind an RNR-blocked "
			   "SEND -> SEND ok, WRITE LOC_PROT_ERR";
	struct pair_opts o = defaults;
	struct pair pr;
	struct mr src, x;
	struct rmr rem;
	struct ibv_wc wc;
	struct pwc pw;
	int f0 = failures;

	o.peer_min_rnr_timer = 14; /* 1.28 ms */
	pair_new_with(&P, &pr, &o);
	rem = peer_mr(&P, 0, BUF, ALL_ACCESS, 8);
	peer_mr(&P, 1, BUF, IBV_ACCESS_LOCAL_WRITE, 9);
	mr_reg(&D, &src, BUF, IBV_ACCESS_LOCAL_WRITE, 10);
	mr_reg(&D, &x, BUF, IBV_ACCESS_LOCAL_WRITE, 11);
	EXPECT(post(pr.l.qp, 40, IBV_WR_SEND, (uintptr_t)src.buf, 512,
		    src.mr->lkey, 0, 0, true) == 0,
	       "post SEND");
	EXPECT(post(pr.l.qp, 41, IBV_WR_RDMA_WRITE, (uintptr_t)x.buf, 1024,
		    x.mr->lkey, rem.addr, rem.rkey, true) == 0,
	       "post WRITE");
	sleep_ms(30);
	EXPECT(!poll_one(pr.l.cq, 0, &wc),
	       "completion wr_id %llu (%s) while the SEND is RNR-blocked",
	       (unsigned long long)wc.wr_id, st(wc.status));
	mr_dereg(&x);
	RPC(&P, OP_POST_RECV, 1, 0, BUF, 700);
	if (expect_wc(pr.l.cq, 40, IBV_WC_SUCCESS, &wc))
		EXPECT(wc.opcode == IBV_WC_SEND, "opcode %d", wc.opcode);
	if (expect_wc(pr.l.cq, 41, IBV_WC_LOC_PROT_ERR, &wc))
		EXPECT(is_key_failure(wc.vendor_err),
		       "vendor_err %u (%s), expected BAD_KEY or STALE",
		       wc.vendor_err, xlate_name(wc.vendor_err));
	if (expect_peer_wc(&P, 700, IBV_WC_SUCCESS, &pw)) {
		EXPECT(pw.opcode == IBV_WC_RECV && pw.byte_len == 512,
		       "peer recv opcode %u byte_len %u", pw.opcode,
		       pw.byte_len);
		peer_intact(&P, 1, 0, 512, 10, 0); /* the SEND's bytes */
		peer_intact(&P, 1, 512, BUF - 512, 9, 512);
	}
	expect_states(&pr, IBV_QPS_ERR, IBV_QPS_RTS, name);
	peer_intact(&P, 0, 0, BUF, 8, 0); /* the WRITE moved nothing */
	pair_free(&P, &pr);
	mr_free(&src);
	mr_free(&x);
	report(name, f0, NULL);
}

/* SEND without a receive: rnr_retry n (1..3) -> RNR_RETRY_EXC_ERR. */
static void case_rnr_exhausted(uint8_t n)
{
	struct pair_opts o = defaults;
	struct pair pr;
	struct mr src;
	struct ibv_wc wc;
	char name[64];
	uint64_t t0, dt;
	int f0 = failures;

	snprintf(name, sizeof(name), "rnr_retry %u -> RNR_RETRY_EXC_ERR", n);
	o.peer_min_rnr_timer = 18; /* 5.12 ms: the retries are measurable */
	o.rnr_retry = n;
	pair_new_with(&P, &pr, &o);
	peer_mr(&P, 0, BUF, IBV_ACCESS_LOCAL_WRITE, 12);
	mr_reg(&D, &src, BUF, IBV_ACCESS_LOCAL_WRITE, 13);
	t0 = now_us();
	EXPECT(post(pr.l.qp, 50, IBV_WR_SEND, (uintptr_t)src.buf, 100,
		    src.mr->lkey, 0, 0, true) == 0,
	       "post SEND");
	EXPECT(post(pr.l.qp, 51, IBV_WR_SEND, (uintptr_t)src.buf, 100,
		    src.mr->lkey, 0, 0, true) == 0,
	       "post SEND");
	if (expect_wc(pr.l.cq, 50, IBV_WC_RNR_RETRY_EXC_ERR, &wc))
		EXPECT(wc.vendor_err == 0, "vendor_err %u", wc.vendor_err);
	dt = now_us() - t0;
	/* 1 try + n retries, each after the 5.12 ms RNR timer (10% slack:
	 * the engine dates the NAK at the start of its pass) */
	EXPECT(dt >= 4608u * n && dt < 5000000,
	       "RNR_RETRY_EXC_ERR after %llu us, expected >= %u x 5.12 ms",
	       (unsigned long long)dt, n);
	expect_wc(pr.l.cq, 51, IBV_WC_WR_FLUSH_ERR, NULL);
	/* IBA 9.7.5.2.8: RNR exhaustion errors the requester only. */
	expect_states(&pr, IBV_QPS_ERR, IBV_QPS_RTS, name);
	/* A receive posted now gets nothing: the SEND is gone. */
	RPC(&P, OP_POST_RECV, 0, 0, BUF, 801);
	EXPECT(!peer_poll(&P, 30).found, "the refused SEND arrived late");
	peer_intact(&P, 0, 0, BUF, 12, 0);
	pair_free(&P, &pr);
	mr_free(&src);
	report(name, f0, " (%llu us)", (unsigned long long)dt);
}

/* rnr_retry 7 (infinite): a receive posted late still gets the SEND. */
static void case_rnr_infinite(void)
{
	const char *name = "rnr_retry 7 + late post_recv -> success";
	struct pair_opts o = defaults;
	struct pair pr;
	struct mr src;
	struct ibv_wc wc;
	struct pwc pw;
	int f0 = failures;

	o.peer_min_rnr_timer = 14; /* 1.28 ms: > 100 RNR NAKs meanwhile */
	o.rnr_retry = 7;
	pair_new_with(&P, &pr, &o);
	peer_mr(&P, 0, BUF, IBV_ACCESS_LOCAL_WRITE, 14);
	mr_reg(&D, &src, BUF, IBV_ACCESS_LOCAL_WRITE, 15);
	EXPECT(post(pr.l.qp, 55, IBV_WR_SEND, (uintptr_t)src.buf, 3000,
		    src.mr->lkey, 0, 0, true) == 0,
	       "post SEND");
	sleep_ms(300);
	EXPECT(!poll_one(pr.l.cq, 0, &wc),
	       "SEND completed (%s) before any receive was posted",
	       st(wc.status));
	RPC(&P, OP_POST_RECV, 0, 0, BUF, 802);
	if (expect_wc(pr.l.cq, 55, IBV_WC_SUCCESS, &wc))
		EXPECT(wc.opcode == IBV_WC_SEND, "opcode %d", wc.opcode);
	if (expect_peer_wc(&P, 802, IBV_WC_SUCCESS, &pw))
		EXPECT(pw.opcode == IBV_WC_RECV && pw.byte_len == 3000,
		       "recv opcode %u byte_len %u", pw.opcode, pw.byte_len);
	peer_intact(&P, 0, 0, 3000, 15, 0);
	peer_intact(&P, 0, 3000, BUF - 3000, 14, 3000);
	expect_states(&pr, IBV_QPS_RTS, IBV_QPS_RTS, name);
	pair_free(&P, &pr);
	mr_free(&src);
	report(name, f0, NULL);
}

/* Receive buffer too small: LOC_LEN_ERR there, REM_INV_REQ_ERR here. */
static void case_recv_too_small(void)
{
	const char *name = "receive too small -> LOC_LEN_ERR / REM_INV_REQ_ERR";
	struct pair pr;
	struct mr src;
	struct ibv_wc wc;
	struct pwc pw;
	int f0 = failures;

	pair_new(&pr);
	peer_mr(&P, 0, BUF, IBV_ACCESS_LOCAL_WRITE, 16);
	RPC(&P, OP_POST_RECV, 0, 0, 100, 900);
	RPC(&P, OP_POST_RECV, 0, 1024, 2048, 901);
	mr_reg(&D, &src, BUF, IBV_ACCESS_LOCAL_WRITE, 17);
	EXPECT(post(pr.l.qp, 60, IBV_WR_SEND, (uintptr_t)src.buf, 2048,
		    src.mr->lkey, 0, 0, true) == 0,
	       "post SEND");
	EXPECT(post(pr.l.qp, 61, IBV_WR_SEND, (uintptr_t)src.buf, 16,
		    src.mr->lkey, 0, 0, true) == 0,
	       "post SEND");
	if (expect_wc(pr.l.cq, 60, IBV_WC_REM_INV_REQ_ERR, &wc))
		EXPECT(wc.vendor_err == NAK_INVALID_REQ,
		       "vendor_err 0x%x, expected the NAK syndrome 0x%x",
		       wc.vendor_err, NAK_INVALID_REQ);
	expect_wc(pr.l.cq, 61, IBV_WC_WR_FLUSH_ERR, NULL);
	if (expect_peer_wc(&P, 900, IBV_WC_LOC_LEN_ERR, &pw))
		EXPECT(pw.vendor_err == 0, "peer vendor_err %u", pw.vendor_err);
	expect_peer_wc(&P, 901, IBV_WC_WR_FLUSH_ERR, NULL);
	expect_states(&pr, IBV_QPS_ERR, IBV_QPS_ERR, name);
	peer_intact(&P, 0, 100, BUF - 100, 16, 100);
	pair_free(&P, &pr);
	mr_free(&src);
	report(name, f0, NULL);
}

/*
 * modify_qp(ERR) with receives posted and sends outstanding (the first
 * SEND RNR-blocked, the rest queued behind it, one unsignaled): every WR
 * completes with WR_FLUSH_ERR, each queue in posting order; WRs posted
 * after the move are flushed too.
 */
static void case_modify_err_flush(void)
{
	const char *name = "modify_qp(ERR) flushes sends and receives in "
			   "order";
	struct pair_opts o = defaults;
	struct pair pr;
	struct mr buf;
	struct rmr rem;
	struct ibv_wc wc;
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_ERR };
	uint64_t next_send = 100, next_recv = 200;
	int ret, f0 = failures;

	o.peer_min_rnr_timer = 14;
	pair_new_with(&P, &pr, &o);
	rem = peer_mr(&P, 0, BUF, ALL_ACCESS, 18);
	mr_reg(&D, &buf, BUF, IBV_ACCESS_LOCAL_WRITE, 19);
	for (int i = 0; i < 4; i++)
		EXPECT(post_recv(pr.l.qp, &buf, 1024 + i * 64, 64, 200 + i) ==
			       0,
		       "post_recv");
	EXPECT(post(pr.l.qp, 100, IBV_WR_SEND, (uintptr_t)buf.buf, 64,
		    buf.mr->lkey, 0, 0, true) == 0 &&
		       post(pr.l.qp, 101, IBV_WR_RDMA_WRITE, (uintptr_t)buf.buf,
			    64, buf.mr->lkey, rem.addr, rem.rkey, true) == 0 &&
		       post(pr.l.qp, 102, IBV_WR_SEND, (uintptr_t)buf.buf, 64,
			    buf.mr->lkey, 0, 0, false) == 0 &&
		       post(pr.l.qp, 103, IBV_WR_RDMA_READ,
			    (uintptr_t)buf.buf + 2048, 64, buf.mr->lkey,
			    rem.addr, rem.rkey, true) == 0,
	       "post sends");
	sleep_ms(20);
	EXPECT(!poll_one(pr.l.cq, 0, &wc),
	       "completion wr_id %llu (%s) before the move to ERR",
	       (unsigned long long)wc.wr_id, st(wc.status));
	ret = ibv_modify_qp(pr.l.qp, &a, IBV_QP_STATE);
	EXPECT(ret == 0, "modify_qp(ERR): %s", strerror(ret));
	EXPECT(post(pr.l.qp, 104, IBV_WR_SEND, (uintptr_t)buf.buf, 64,
		    buf.mr->lkey, 0, 0, true) == 0,
	       "post_send in ERR");
	EXPECT(post_recv(pr.l.qp, &buf, 3000, 64, 204) == 0,
	       "post_recv in ERR");
	for (int i = 0; i < 10; i++) {
		if (!EXPECT(poll_one(pr.l.cq, TMO_MS, &wc),
			    "only %d of 10 flush completions", i))
			break;
		EXPECT(wc.status == IBV_WC_WR_FLUSH_ERR && wc.vendor_err == 0,
		       "wr_id %llu: status %s vendor_err %u",
		       (unsigned long long)wc.wr_id, st(wc.status),
		       wc.vendor_err);
		if (wc.wr_id >= 200)
			EXPECT(wc.wr_id == next_recv++,
			       "receive wr_id %llu flushed out of order",
			       (unsigned long long)wc.wr_id);
		else
			EXPECT(wc.wr_id == next_send++,
			       "send wr_id %llu flushed out of order",
			       (unsigned long long)wc.wr_id);
	}
	EXPECT(next_send == 105 && next_recv == 205,
	       "flushed sends up to %llu, receives up to %llu",
	       (unsigned long long)next_send, (unsigned long long)next_recv);
	expect_states(&pr, IBV_QPS_ERR, IBV_QPS_RTS, name);
	peer_intact(&P, 0, 0, BUF, 18, 0);
	EXPECT(check(buf.buf, BUF, 19, 0) == BUF, "local buffer changed");
	pair_free(&P, &pr);
	mr_free(&buf);
	report(name, f0, NULL);
}

/*
 * A second peer process is SIGKILLed while we stream 64 KiB WRITEs into
 * its memory: the oldest outstanding WRITE must fail with RETRY_EXC_ERR
 * (the peer's QP is gone, nothing answers) within 10 s of the kill, every
 * later one is flushed, and our QP is in ERR.  Never a hang.
 */
static void case_peer_killed(const char *devname)
{
	const char *name = "peer SIGKILLed mid-stream -> RETRY_EXC_ERR";
	const uint32_t chunk = 64 << 10, depth = 16;
	struct pair_opts o = defaults;
	struct peer k = peer_start(devname);
	struct pair pr;
	struct mr src;
	struct rmr rem;
	struct ibv_wc wc;
	uint64_t posted = 0, done_ok = 0, flushed = 0, t_kill = 0, t_err = 0;
	uint64_t deadline;
	bool killed = false, failed = false;
	int st_, f0 = failures;

	o.timeout = 12; /* 16.8 ms ACK timeout */
	o.retry_cnt = 3;
	pair_new_with(&k, &pr, &o);
	rem = peer_mr(&k, 0, 1 << 20, ALL_ACCESS, 20);
	mr_reg(&D, &src, 1 << 20, IBV_ACCESS_LOCAL_WRITE, 21);
	deadline = now_ms() + 20000;
	while (posted < depth) {
		EXPECT(post(pr.l.qp, posted, IBV_WR_RDMA_WRITE,
			    (uintptr_t)src.buf + (posted % 16) * chunk, chunk,
			    src.mr->lkey, rem.addr + (posted % 16) * chunk,
			    rem.rkey, true) == 0,
		       "post WRITE");
		posted++;
	}
	while (!failed && now_ms() < deadline) {
		if (!poll_one(pr.l.cq, 10, &wc))
			continue;
		if (wc.status != IBV_WC_SUCCESS) {
			t_err = now_ms();
			failed = true;
			EXPECT(killed, "error %s before the kill",
			       st(wc.status));
			EXPECT(wc.status == IBV_WC_RETRY_EXC_ERR &&
				       wc.vendor_err == 0,
			       "first error after the kill: %s vendor_err %u, "
			       "expected RETRY_EXC_ERR",
			       st(wc.status), wc.vendor_err);
			EXPECT(wc.wr_id == done_ok,
			       "error on wr_id %llu, oldest was %llu",
			       (unsigned long long)wc.wr_id,
			       (unsigned long long)done_ok);
			break;
		}
		EXPECT(wc.wr_id == done_ok, "completion order: %llu, want %llu",
		       (unsigned long long)wc.wr_id,
		       (unsigned long long)done_ok);
		done_ok++;
		if (done_ok == 100 && !killed) {
			kill(k.pid, SIGKILL);
			t_kill = now_ms();
			killed = true;
		}
		EXPECT(post(pr.l.qp, posted, IBV_WR_RDMA_WRITE,
			    (uintptr_t)src.buf + (posted % 16) * chunk, chunk,
			    src.mr->lkey, rem.addr + (posted % 16) * chunk,
			    rem.rkey, true) == 0,
		       "post WRITE");
		posted++;
	}
	EXPECT(killed, "only %llu WRITEs completed before the deadline",
	       (unsigned long long)done_ok);
	EXPECT(failed, "no error completion %llu ms after the kill: a hang",
	       (unsigned long long)(now_ms() - t_kill));
	if (failed && killed)
		EXPECT(t_err - t_kill < 10000,
		       "error completion %llu ms after the kill (> 10 s)",
		       (unsigned long long)(t_err - t_kill));
	/* the rest of what was posted: flushed, in order */
	for (uint64_t id = done_ok + 1; failed && id < posted; id++) {
		if (!expect_wc(pr.l.cq, id, IBV_WC_WR_FLUSH_ERR, NULL))
			break;
		flushed++;
	}
	EXPECT(qp_state(pr.l.qp) == IBV_QPS_ERR, "QP in %s after the error",
	       state_name(qp_state(pr.l.qp)));
	EXPECT(waitpid(k.pid, &st_, 0) == k.pid && WIFSIGNALED(st_) &&
		       WTERMSIG(st_) == SIGKILL,
	       "peer status 0x%x", st_);
	close(k.fd);
	EXPECT(!poll_one(pr.l.cq, 0, &wc), "extra completion wr_id %llu",
	       (unsigned long long)wc.wr_id);
	side_free(&pr.l);
	mr_free(&src);
	report(name, f0,
	       " (%llu WRITEs done, error %llu ms after the kill, %llu "
	       "flushed)",
	       (unsigned long long)done_ok,
	       (unsigned long long)(t_err - t_kill),
	       (unsigned long long)flushed);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: %s DEVICE\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Fork first: each process opens the device itself. */
	P = peer_start(argv[1]);
	open_dev(&D, argv[1]);

	case_bad_lkey(IBV_WR_SEND);
	case_bad_lkey(IBV_WR_RDMA_WRITE);
	case_bad_lkey(IBV_WR_RDMA_READ);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		case_refused(&refusals[i]);
	case_dereg_sqd();
	case_dereg_busy();
	for (uint8_t n = 1; n <= 3; n++)
		case_rnr_exhausted(n);
	case_rnr_infinite();
	case_recv_too_small();
	case_modify_err_flush();
	case_peer_killed(argv[1]);

	peer_stop(&P);
	close_dev(&D);
	if (failures) {
		fprintf(stderr, "FAIL: %d expectation(s) failed\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
