// SPDX-License-Identifier: MIT
/*
 * Issue #4 must-show 3 / issue #3 must-show 2, end to end: forged rkeys
 * from a second process move 0 bytes.
 *
 * Process A (the victim, forked first; it opens the device itself)
 * registers a buffer with REMOTE_WRITE | REMOTE_READ and a known pattern
 * and hands its lkey and rkey to process B (the attacker, the driver).
 * B proves the first rkey is real (a legitimate WRITE and READ), A then
 * deregisters and re-registers the buffer several times and hands B the
 * keys it had and has.  B then fires RDMA WRITEs and READs at A's buffer
 * with forged rkeys -- random 32-bit values, A's lkeys used as rkeys, A's
 * old (deregistered) rkeys and lkeys, neighbours of the real rkey, B's own
 * rkeys -- never a key that is live as an rkey in A.
 *
 *  - RC: every forged WRITE/READ must complete with REM_ACCESS_ERR
 *    (vendor_err = NAK syndrome 0x62) and put both QPs in ERR (checked
 *    with ibv_query_qp on both sides).  To do this many times, B and A
 *    each hold QPS connected RC QPs; B posts one forged op per QP, polls
 *    the errors, and both sides reset their QPs (ERR -> RESET -> INIT ->
 *    RTR [-> RTS]) in rounds, coordinated over the socketpair.
 *  - UC: IBA has the responder silently drop a WRITE with a bad rkey
 *    (the requester completes with success, no QP changes state).  B fires
 *    most of the forged WRITEs over UC; every 1024 of them a legitimate
 *    UC WRITE of a sequence number to a canary MR of A must arrive, which
 *    proves the forged ones before it were delivered and processed.
 *
 * At the end A's buffer must equal its pattern byte for byte (and its
 * checksum), the canary must hold only the legitimate bytes, B's READ
 * destinations must be unchanged, A's CQ must be empty, and a legitimate
 * RC WRITE, RC READ and UC WRITE with A's live rkey must work.
 *
 * usage: forge_e2e DEVICE [TOTAL_FORGED [RC_ROUNDS]]
 *   (default 100000 forged operations, 160 RC rounds of 64 QPs = 10240
 *   RC operations; FORGE_SEED=N in the environment fixes the PRNG seed)
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#define GID_INDEX 1 /* ::ffff:<device IPv4>, RoCE v2 */
#define PORT	  1
#define QPS	  64u	      /* RC QP pairs */
#define VLEN	  (64u << 10) /* the victim buffer */
#define CLEN	  4096u	      /* the canary */
#define MAXLEN	  4096u	      /* longest forged operation */
#define CYCLES	  7	      /* dereg + re-reg of the victim MR */
#define UC_BATCH  64u	      /* forged UC WRITEs per signaled batch */
#define UC_PROBE  16u	      /* batches between canary probes */
#define TMO_MS	  5000
/* vendor_err of a NAK-caused completion: the NAK's AETH syndrome. */
#define NAK_REM_ACCESS 0x62u

#define VSEED 11u /* victim pattern */
#define CSEED 12u /* canary pattern */
#define SSEED 13u /* B's WRITE source */
#define RSEED 14u /* B's READ destinations */
#define PSEED 15u /* the proof WRITE with the first rkey */
#define LSEED 16u /* the legitimate WRITEs at the end */

static const char *who = "attacker";
static int failures;

#include "itest.h"

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

static uint64_t check(const uint8_t *p, uint64_t len, unsigned int seed,
		      uint64_t base)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i] != pat(seed, base + i))
			return i;
	return len;
}

static uint64_t fnv1a(const uint8_t *p, uint64_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint64_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static const char *state_name(int s)
{
	static const char *const n[] = { "RESET", "INIT", "RTR", "RTS",
					 "SQD",	  "SQE",  "ERR" };

	return s >= 0 && s <= IBV_QPS_ERR ? n[s] : "?";
}

/* ------------------------------------------------------------------ */
/* verbs helpers shared by both processes                              */

struct dev {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	union ibv_gid gid;
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

static uint8_t *map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	return p;
}

static struct ibv_mr *reg(struct dev *d, void *p, size_t len, int access)
{
	struct ibv_mr *mr = ibv_reg_mr(d->pd, p, len, access);

	if (!mr)
		die("reg_mr: %s", strerror(errno));
	return mr;
}

static void dereg(struct ibv_mr *mr)
{
	if (ibv_dereg_mr(mr))
		die("dereg_mr: %s", strerror(errno));
}

static struct ibv_qp *qp_new(struct dev *d, struct ibv_cq *cq,
			     enum ibv_qp_type type, uint32_t depth)
{
	struct ibv_qp_init_attr init = {
		.send_cq = cq,
		.recv_cq = cq,
		.cap = { .max_send_wr = depth,
			 .max_recv_wr = 1,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = type,
	};
	struct ibv_qp *qp = ibv_create_qp(d->pd, &init);

	if (!qp)
		die("create_qp: %s", strerror(errno));
	return qp;
}

static void modify(struct ibv_qp *qp, struct ibv_qp_attr *a, int mask,
		   const char *what)
{
	int ret = ibv_modify_qp(qp, a, mask);

	if (ret)
		die("modify_qp %s: %s", what, strerror(ret));
}

static void to_init(struct ibv_qp *qp, int access)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT,
				 .port_num = PORT,
				 .qp_access_flags = access };

	modify(qp, &a,
	       IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		       IBV_QP_ACCESS_FLAGS,
	       "INIT");
}

static void to_rtr(struct ibv_qp *qp, uint32_t dest_qpn, uint32_t rq_psn,
		   const union ibv_gid *dgid)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_1024,
		.dest_qp_num = dest_qpn,
		.rq_psn = rq_psn & 0xffffff,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 1,
		.ah_attr = { .is_global = 1,
			     .grh = { .dgid = *dgid,
				      .sgid_index = GID_INDEX,
				      .hop_limit = 1 },
			     .port_num = PORT },
	};
	int mask = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
		   IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;

	if (qp->qp_type == IBV_QPT_RC)
		mask |= IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	modify(qp, &a, mask, "RTR");
}

static void to_rts(struct ibv_qp *qp, uint32_t sq_psn)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTS,
		.sq_psn = sq_psn & 0xffffff,
		.timeout = 14,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = 1,
	};
	int mask = IBV_QP_STATE | IBV_QP_SQ_PSN;

	if (qp->qp_type == IBV_QPT_RC)
		mask |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			IBV_QP_MAX_QP_RD_ATOMIC;
	modify(qp, &a, mask, "RTS");
}

static void to_reset(struct ibv_qp *qp)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_RESET };

	modify(qp, &a, IBV_QP_STATE, "RESET");
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

static bool poll_one(struct ibv_cq *cq, unsigned int ms, struct ibv_wc *wc)
{
	uint64_t end = now_ms() + ms;

	for (;;) {
		int n = ibv_poll_cq(cq, 1, wc);

		if (n < 0)
			die("poll_cq: %d", n);
		if (n == 1)
			return true;
		if (!ms || now_ms() >= end)
			return false;
		nanosleep(&(struct timespec){ 0, 20000 }, NULL);
	}
}

/* ------------------------------------------------------------------ */
/* the RPC                                                             */

enum {
	OP_SETUP = 1, /* -> v0 victim addr, v1 rkey, v2 lkey, v3 canary
			 addr, v4 canary rkey, v5/v6 gid */
	OP_VERIFY,    /* v0 off, v1 len, v2 seed, v3 base -> v0 first
			 differing byte or len */
	OP_CYCLE,     /* dereg + re-reg CYCLES times, baseline pattern ->
			 q[0..] old rkeys, q[CYCLES..] old lkeys,
			 v0 live rkey, v1 live lkey, v2 checksum */
	OP_QPS,	      /* create QPS RC + 1 UC QP -> q[] RC qpns, v0 UC qpn */
	OP_CONNECT,   /* q[] B's RC qpns, v0 B's UC qpn, v1 psn base,
			 v2/v3 gid: RC and UC QPs to RTR */
	OP_RC_RESET,  /* v0 psn base: RC QPs ERR -> RESET -> INIT -> RTR;
			 -> v0 how many were in ERR */
	OP_CANARY,    /* v0 value: wait until the canary holds it ->
			 v0 found, v1 UC QP state */
	OP_FINAL,     /* -> v0 checksum, v1 first differing victim byte,
			 v2 first differing canary byte (after 8),
			 v3 completions in A's CQ, v4 UC QP state */
	OP_EXIT,
};

struct msg {
	uint32_t op;
	int32_t failures;
	uint64_t v[8];
	uint32_t q[QPS];
};

struct peer {
	int fd;
	pid_t pid;
};

static void rpc_send(struct peer *p, struct msg *m)
{
	if (send(p->fd, m, sizeof(*m), 0) != sizeof(*m))
		die("rpc %u: send: %s", m->op, strerror(errno));
}

static struct msg rpc_recv(struct peer *p)
{
	struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
	struct msg m;
	ssize_t r;

	if (poll(&pfd, 1, 60000) != 1)
		die("the victim did not answer within 60 s");
	r = recv(p->fd, &m, sizeof(m), 0);
	if (r != sizeof(m))
		die("the victim died (recv %zd)", r);
	return m;
}

static struct msg rpc(struct peer *p, struct msg *m)
{
	rpc_send(p, m);
	return rpc_recv(p);
}

/* ------------------------------------------------------------------ */
/* process A: the victim                                               */

struct victim {
	struct dev d;
	uint8_t *buf, *canary;
	struct ibv_mr *mr, *cmr;
	struct ibv_cq *cq;
	struct ibv_qp *rc[QPS], *uc;
	uint32_t b_rc[QPS], b_uc;
	union ibv_gid b_gid;
};

static void victim_rc_to_rtr(struct victim *v, uint32_t i, uint32_t psn)
{
	to_init(v->rc[i], IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	to_rtr(v->rc[i], v->b_rc[i], psn + i, &v->b_gid);
}

static void victim_serve(int fd, const char *devname)
{
	struct victim v = { 0 };
	struct msg m;

	who = "victim";
	open_dev(&v.d, devname);
	v.buf = map(VLEN);
	v.canary = map(CLEN);
	v.cq = ibv_create_cq(v.d.ctx, 256, NULL, NULL, 0);
	if (!v.cq)
		die("create_cq: %s", strerror(errno));
	for (;;) {
		ssize_t r = recv(fd, &m, sizeof(m), 0);
		struct ibv_wc wc;

		if (r == 0)
			exit(1);
		if (r != sizeof(m))
			die("recv: %zd %s", r, strerror(errno));
		switch (m.op) {
		case OP_SETUP:
			fill(v.buf, VLEN, VSEED, 0);
			fill(v.canary, CLEN, CSEED, 0);
			v.mr = reg(&v.d, v.buf, VLEN,
				   IBV_ACCESS_LOCAL_WRITE |
					   IBV_ACCESS_REMOTE_WRITE |
					   IBV_ACCESS_REMOTE_READ);
			v.cmr = reg(&v.d, v.canary, CLEN,
				    IBV_ACCESS_LOCAL_WRITE |
					    IBV_ACCESS_REMOTE_WRITE);
			m.v[0] = (uintptr_t)v.buf;
			m.v[1] = v.mr->rkey;
			m.v[2] = v.mr->lkey;
			m.v[3] = (uintptr_t)v.canary;
			m.v[4] = v.cmr->rkey;
			memcpy(&m.v[5], v.d.gid.raw, 16);
			break;
		case OP_VERIFY:
			if (m.v[0] + m.v[1] > VLEN)
				die("OP_VERIFY out of range");
			m.v[0] = check(v.buf + m.v[0], m.v[1],
				       (unsigned int)m.v[2], m.v[3]);
			break;
		case OP_CYCLE:
			for (int i = 0; i < CYCLES; i++) {
				m.q[i] = v.mr->rkey;
				m.q[CYCLES + i] = v.mr->lkey;
				dereg(v.mr);
				v.mr = reg(&v.d, v.buf, VLEN,
					   IBV_ACCESS_LOCAL_WRITE |
						   IBV_ACCESS_REMOTE_WRITE |
						   IBV_ACCESS_REMOTE_READ);
			}
			fill(v.buf, VLEN, VSEED, 0); /* the baseline */
			m.v[0] = v.mr->rkey;
			m.v[1] = v.mr->lkey;
			m.v[2] = fnv1a(v.buf, VLEN);
			break;
		case OP_QPS:
			for (uint32_t i = 0; i < QPS; i++) {
				v.rc[i] = qp_new(&v.d, v.cq, IBV_QPT_RC, 1);
				m.q[i] = v.rc[i]->qp_num;
			}
			v.uc = qp_new(&v.d, v.cq, IBV_QPT_UC, 1);
			m.v[0] = v.uc->qp_num;
			break;
		case OP_CONNECT:
			memcpy(v.b_rc, m.q, sizeof(v.b_rc));
			v.b_uc = (uint32_t)m.v[0];
			memcpy(v.b_gid.raw, &m.v[2], 16);
			for (uint32_t i = 0; i < QPS; i++)
				victim_rc_to_rtr(&v, i, (uint32_t)m.v[1]);
			to_init(v.uc, IBV_ACCESS_REMOTE_WRITE);
			to_rtr(v.uc, v.b_uc, (uint32_t)m.v[1] + QPS, &v.b_gid);
			break;
		case OP_RC_RESET: {
			uint64_t in_err = 0;

			for (uint32_t i = 0; i < QPS; i++) {
				in_err += qp_state(v.rc[i]) == IBV_QPS_ERR;
				to_reset(v.rc[i]);
				victim_rc_to_rtr(&v, i, (uint32_t)m.v[0]);
			}
			m.v[0] = in_err;
			break;
		}
		case OP_CANARY: {
			uint64_t end = now_ms() + 2000, got;

			do {
				memcpy(&got, (void *)v.canary, 8);
				__atomic_thread_fence(__ATOMIC_ACQUIRE);
			} while (got != m.v[0] && now_ms() < end);
			m.v[0] = got == m.v[0];
			m.v[1] = (uint64_t)qp_state(v.uc);
			break;
		}
		case OP_FINAL:
			m.v[0] = fnv1a(v.buf, VLEN);
			m.v[1] = check(v.buf, VLEN, VSEED, 0);
			m.v[2] = 8 + check(v.canary + 8, CLEN - 8, CSEED, 8);
			m.v[3] = 0;
			while (poll_one(v.cq, 0, &wc))
				m.v[3]++;
			m.v[4] = (uint64_t)qp_state(v.uc);
			break;
		case OP_EXIT:
			for (uint32_t i = 0; i < QPS; i++)
				if (ibv_destroy_qp(v.rc[i]))
					die("destroy_qp");
			if (ibv_destroy_qp(v.uc) || ibv_destroy_cq(v.cq))
				die("destroy uc/cq");
			dereg(v.mr);
			dereg(v.cmr);
			close_dev(&v.d);
			m.failures = failures;
			if (send(fd, &m, sizeof(m), 0) != sizeof(m))
				die("send");
			exit(failures ? 1 : 0);
		default:
			die("unknown op %u", m.op);
		}
		m.failures = failures;
		if (send(fd, &m, sizeof(m), 0) != sizeof(m))
			die("send: %s", strerror(errno));
	}
}

/* ------------------------------------------------------------------ */
/* process B: the attacker                                             */

static struct dev D;
static struct peer A;
static struct ibv_cq *rc_cq, *uc_cq;
static struct ibv_qp *rc[QPS], *uc;
static uint8_t *src, *rdst;
static struct ibv_mr *src_mr, *rdst_mr;

/* What A told us. */
static uint64_t v_addr, c_addr;
static uint32_t v_rkey, v_lkey, c_rkey;

/* Forged keys that are not random. */
static uint32_t special[64];
static const char *special_what[64];
static unsigned int nspecial;

static struct {
	uint64_t rc_write, rc_read, rc_refused, uc_write, special_ops, excluded,
		probes;
} count;

static bool live_rkey(uint32_t key)
{
	return key == v_rkey || key == c_rkey;
}

static void add_special(uint32_t key, const char *what)
{
	if (live_rkey(key)) {
		printf("note: %s 0x%08x is a live rkey of A (not a forgery), "
		       "skipped\n",
		       what, key);
		return;
	}
	for (unsigned int i = 0; i < nspecial; i++)
		if (special[i] == key)
			return;
	if (nspecial < sizeof(special) / sizeof(special[0])) {
		special_what[nspecial] = what;
		special[nspecial++] = key;
	}
}

static uint32_t random_forged_key(void)
{
	for (;;) {
		uint32_t k = (uint32_t)(rnd() >> 32);

		if (!live_rkey(k))
			return k;
		count.excluded++;
	}
}

static int post(struct ibv_qp *qp, uint64_t wr_id, enum ibv_wr_opcode op,
		void *laddr, uint32_t len, uint32_t lkey, uint64_t raddr,
		uint32_t rkey, bool signaled)
{
	struct ibv_sge sg = { .addr = (uintptr_t)laddr,
			      .length = len,
			      .lkey = lkey };
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

/* A legitimate signaled operation that must succeed. */
static bool legit(struct ibv_qp *qp, struct ibv_cq *cq, enum ibv_wr_opcode op,
		  void *laddr, uint32_t len, uint32_t lkey, uint64_t raddr,
		  uint32_t rkey, const char *what)
{
	struct ibv_wc wc;
	int ret = post(qp, 0x1e917, op, laddr, len, lkey, raddr, rkey, true);

	if (!EXPECT(ret == 0, "%s: post: %s", what, strerror(ret)))
		return false;
	if (!EXPECT(poll_one(cq, TMO_MS, &wc), "%s: no completion", what))
		return false;
	return EXPECT(wc.wr_id == 0x1e917 && wc.status == IBV_WC_SUCCESS,
		      "%s: wr_id 0x%llx status %s vendor_err 0x%x", what,
		      (unsigned long long)wc.wr_id,
		      ibv_wc_status_str(wc.status), wc.vendor_err);
}

static uint64_t victim_verify(uint64_t off, uint64_t len, unsigned int seed,
			      uint64_t base)
{
	struct msg m = { .op = OP_VERIFY, .v = { off, len, seed, base } };

	return rpc(&A, &m).v[0];
}

static void b_rc_to_rts(uint32_t i, uint32_t dest_qpn, uint32_t psn,
			const union ibv_gid *gid)
{
	to_init(rc[i], 0);
	to_rtr(rc[i], dest_qpn, 0, gid);
	to_rts(rc[i], psn + i);
}

/* One forged op's parameters. */
struct forged {
	uint32_t key;
	uint32_t off, len;
	bool read;
};

static struct forged next_forged(bool read)
{
	struct forged f = { .read = read };

	f.len = 1 + (uint32_t)(rnd() % MAXLEN);
	f.off = (uint32_t)(rnd() % (VLEN - f.len + 1));
	f.key = random_forged_key();
	return f;
}

static void rc_rounds(unsigned int rounds, const uint32_t *a_qpn,
		      const union ibv_gid *a_gid)
{
	unsigned int next_special = 0, shown = 0;
	uint64_t *refused = &count.rc_refused;

	for (unsigned int r = 0; r < rounds; r++) {
		struct forged f[QPS];
		struct msg m = { .op = OP_RC_RESET };
		uint32_t psn = (uint32_t)rnd() & 0xffffff;
		uint64_t seen = 0;

		for (uint32_t i = 0; i < QPS; i++) {
			bool read = (r + i) & 1;
			int ret;

			f[i] = next_forged(read);
			/* each special key once as READ and once as WRITE */
			if (next_special < 2 * nspecial) {
				f[i].key = special[next_special / 2];
				f[i].read = next_special & 1;
				next_special++;
				count.special_ops++;
			}
			ret = post(rc[i], (uint64_t)r << 8 | i,
				   f[i].read ? IBV_WR_RDMA_READ
					     : IBV_WR_RDMA_WRITE,
				   f[i].read ? rdst + i * MAXLEN : src,
				   f[i].len,
				   f[i].read ? rdst_mr->lkey : src_mr->lkey,
				   v_addr + f[i].off, f[i].key, true);
			if (!EXPECT(ret == 0, "post: %s", strerror(ret)))
				return;
			if (f[i].read)
				count.rc_read++;
			else
				count.rc_write++;
		}
		for (uint32_t n = 0; n < QPS; n++) {
			struct ibv_wc wc;
			uint32_t i;

			if (!EXPECT(poll_one(rc_cq, TMO_MS, &wc),
				    "round %u: %u of %u completions", r, n,
				    QPS))
				return;
			i = wc.wr_id & 0xff;
			if (!EXPECT(wc.wr_id >> 8 == r && i < QPS &&
					    !(seen >> i & 1) &&
					    wc.qp_num == rc[i]->qp_num,
				    "round %u: stray completion wr_id 0x%llx",
				    r, (unsigned long long)wc.wr_id))
				return;
			seen |= 1ull << i;
			if (wc.status == IBV_WC_REM_ACCESS_ERR &&
			    wc.vendor_err == NAK_REM_ACCESS) {
				(*refused)++;
				continue;
			}
			if (shown++ < 10)
				EXPECT(false,
				       "forged RC %s rkey 0x%08x at +%u len "
				       "%u: "
				       "%s vendor_err 0x%x, expected "
				       "REM_ACCESS_ERR 0x%x",
				       f[i].read ? "READ" : "WRITE", f[i].key,
				       f[i].off, f[i].len,
				       ibv_wc_status_str(wc.status),
				       wc.vendor_err, NAK_REM_ACCESS);
			else
				failures++;
		}
		/* Both sides reset in parallel; A answers when its QPs are
		 * back in RTR, only then do we post again. */
		m.v[0] = psn;
		rpc_send(&A, &m);
		for (uint32_t i = 0; i < QPS; i++) {
			int s = qp_state(rc[i]);

			if (s != IBV_QPS_ERR && shown++ < 10)
				EXPECT(false, "round %u: requester QP %u in %s",
				       r, i, state_name(s));
			to_reset(rc[i]);
			b_rc_to_rts(i, a_qpn[i], psn, a_gid);
		}
		m = rpc_recv(&A);
		EXPECT(m.v[0] == QPS,
		       "round %u: %llu of %u responder QPs in ERR", r,
		       (unsigned long long)m.v[0], QPS);
	}
	EXPECT(*refused == count.rc_read + count.rc_write,
	       "%llu of %llu forged RC operations refused",
	       (unsigned long long)*refused,
	       (unsigned long long)(count.rc_read + count.rc_write));
}

static void uc_forged(uint64_t n)
{
	unsigned int next_special = 0;
	uint64_t seq = 0, batches = 0;

	while (count.uc_write < n) {
		struct ibv_wc wc;

		for (uint32_t i = 0; i < UC_BATCH; i++) {
			struct forged f = next_forged(false);
			int ret;

			if (next_special < nspecial) {
				f.key = special[next_special++];
				count.special_ops++;
			}
			ret = post(uc, batches, IBV_WR_RDMA_WRITE, src, f.len,
				   src_mr->lkey, v_addr + f.off, f.key,
				   i == UC_BATCH - 1);
			if (!EXPECT(ret == 0, "UC post: %s", strerror(ret)))
				return;
			count.uc_write++;
		}
		/* UC: the requester completes when the packets are out. */
		if (!EXPECT(poll_one(uc_cq, TMO_MS, &wc) &&
				    wc.status == IBV_WC_SUCCESS &&
				    wc.wr_id == batches,
			    "UC batch %llu: completion %s",
			    (unsigned long long)batches,
			    ibv_wc_status_str(wc.status)))
			return;
		if (++batches % UC_PROBE && count.uc_write < n)
			continue;
		/* A legitimate UC WRITE behind them must arrive. */
		seq++;
		memcpy(src + MAXLEN, &seq, 8);
		if (!legit(uc, uc_cq, IBV_WR_RDMA_WRITE, src + MAXLEN, 8,
			   src_mr->lkey, c_addr, c_rkey, "canary WRITE"))
			return;
		struct msg m = { .op = OP_CANARY, .v = { seq } };

		m = rpc(&A, &m);
		count.probes++;
		if (!EXPECT(m.v[0] == 1,
			    "canary %llu did not arrive: the UC path is dead, "
			    "forged WRITEs before it prove nothing",
			    (unsigned long long)seq))
			return;
		EXPECT(m.v[1] == IBV_QPS_RTR,
		       "A's UC QP in %s after forged WRITEs",
		       state_name((int)m.v[1]));
	}
	EXPECT(qp_state(uc) == IBV_QPS_RTS, "B's UC QP in %s",
	       state_name(qp_state(uc)));
}

int main(int argc, char **argv)
{
	uint64_t total = argc > 2 ? strtoull(argv[2], NULL, 0) : 100000;
	unsigned int rounds =
		argc > 3 ? (unsigned int)strtoul(argv[3], NULL, 0) : 160;
	const char *seed_env = getenv("FORGE_SEED");
	uint32_t a_qpn[QPS], a_uc, old_rkey[CYCLES], old_lkey[CYCLES];
	uint64_t seed, checksum0, uc_n, rdst_bad, t0 = now_ms();
	union ibv_gid a_gid;
	struct msg m;
	int sv[2], st;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: %s DEVICE [TOTAL [RC_ROUNDS]]\n",
			argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	seed = seed_env ? strtoull(seed_env, NULL, 0)
			: (uint64_t)time(NULL) * 2654435761u ^
				  (uint64_t)getpid();
	rng_state = seed | 1;
	printf("seed %llu (FORGE_SEED=%llu reproduces)\n",
	       (unsigned long long)seed, (unsigned long long)seed);

	/* Fork first: each process opens the device itself. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		die("socketpair: %s", strerror(errno));
	fflush(NULL);
	A.pid = fork();
	if (A.pid < 0)
		die("fork: %s", strerror(errno));
	if (A.pid == 0) {
		close(sv[0]);
		victim_serve(sv[1], argv[1]);
	}
	close(sv[1]);
	A.fd = sv[0];
	open_dev(&D, argv[1]);

	src = map(2 * MAXLEN);
	rdst = map(QPS * MAXLEN);
	fill(src, 2 * MAXLEN, SSEED, 0);
	fill(rdst, QPS * MAXLEN, RSEED, 0);
	src_mr = reg(&D, src, 2 * MAXLEN,
		     IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			     IBV_ACCESS_REMOTE_READ);
	rdst_mr = reg(&D, rdst, QPS * MAXLEN,
		      IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			      IBV_ACCESS_REMOTE_READ);

	m = (struct msg){ .op = OP_SETUP };
	m = rpc(&A, &m);
	v_addr = m.v[0];
	v_rkey = (uint32_t)m.v[1];
	v_lkey = (uint32_t)m.v[2];
	c_addr = m.v[3];
	c_rkey = (uint32_t)m.v[4];
	memcpy(a_gid.raw, &m.v[5], 16);

	/* QPs: QPS RC pairs and one UC pair. */
	rc_cq = ibv_create_cq(D.ctx, 4 * QPS, NULL, NULL, 0);
	uc_cq = ibv_create_cq(D.ctx, 512, NULL, NULL, 0);
	if (!rc_cq || !uc_cq)
		die("create_cq: %s", strerror(errno));
	m = (struct msg){ .op = OP_QPS };
	m = rpc(&A, &m);
	memcpy(a_qpn, m.q, sizeof(a_qpn));
	a_uc = (uint32_t)m.v[0];
	uc = qp_new(&D, uc_cq, IBV_QPT_UC, 256);
	m = (struct msg){ .op = OP_CONNECT, .v = { uc->qp_num, 0x10000 } };
	for (uint32_t i = 0; i < QPS; i++) {
		rc[i] = qp_new(&D, rc_cq, IBV_QPT_RC, 4);
		m.q[i] = rc[i]->qp_num;
	}
	memcpy(&m.v[2], D.gid.raw, 16);
	rpc(&A, &m);
	for (uint32_t i = 0; i < QPS; i++)
		b_rc_to_rts(i, a_qpn[i], 0x10000, &a_gid);
	to_init(uc, 0);
	to_rtr(uc, a_uc, 0, &a_gid);
	to_rts(uc, 0x10000 + QPS);

	/* The first keys are real: a WRITE and a READ with them work. */
	if (legit(rc[0], rc_cq, IBV_WR_RDMA_WRITE, src, MAXLEN, src_mr->lkey,
		  v_addr + 2 * MAXLEN, v_rkey, "proof WRITE with A's rkey"))
		EXPECT(victim_verify(2 * MAXLEN, MAXLEN, SSEED, 0) == MAXLEN,
		       "proof WRITE did not land");
	if (legit(rc[1], rc_cq, IBV_WR_RDMA_READ, rdst + MAXLEN, 256,
		  rdst_mr->lkey, v_addr + 256, v_rkey,
		  "proof READ with A's rkey"))
		EXPECT(check(rdst + MAXLEN, 256, VSEED, 256) == 256,
		       "proof READ returned wrong bytes");
	fill(rdst + MAXLEN, 256, RSEED, MAXLEN);

	/* A deregisters and re-registers: its old keys become forgeries. */
	m = (struct msg){ .op = OP_CYCLE };
	m = rpc(&A, &m);
	memcpy(old_rkey, m.q, sizeof(old_rkey));
	memcpy(old_lkey, m.q + CYCLES, sizeof(old_lkey));
	v_rkey = (uint32_t)m.v[0];
	v_lkey = (uint32_t)m.v[1];
	checksum0 = m.v[2];
	printf("victim: %u bytes at 0x%llx, rkey 0x%08x lkey 0x%08x, "
	       "checksum 0x%016llx; %d old rkeys/lkeys\n",
	       VLEN, (unsigned long long)v_addr, v_rkey, v_lkey,
	       (unsigned long long)checksum0, CYCLES);

	if (v_lkey == v_rkey)
		printf("note: lkey == rkey for this MR (rxe-style MTT keys): "
		       "'lkey as rkey' is the real rkey, not a forgery\n");
	add_special(v_lkey, "live lkey as rkey");
	for (int i = 0; i < CYCLES; i++) {
		add_special(old_rkey[i], "old rkey");
		add_special(old_lkey[i], "old lkey as rkey");
	}
	add_special(v_rkey ^ 1, "rkey ^ 1");
	add_special(v_rkey + 0x100, "rkey + 0x100");
	add_special(v_rkey - 0x100, "rkey - 0x100");
	add_special(v_rkey ^ 0x80000000u, "rkey ^ 0x80000000");
	add_special(src_mr->rkey, "B's own rkey");
	add_special(rdst_mr->rkey, "B's own rkey");
	add_special(src_mr->lkey, "B's own lkey");
	add_special(0, "zero");
	add_special(0xffffffffu, "all ones");
	printf("special forged keys: %u\n", nspecial);

	/* RC first (A's QPs are in RTR from OP_CONNECT), then UC. */
	rc_rounds(rounds, a_qpn, &a_gid);
	uc_n = count.rc_read + count.rc_write < total
		       ? total - count.rc_read - count.rc_write
		       : 0;
	uc_n = uc_n > nspecial ? uc_n : nspecial;
	uc_forged(uc_n);

	/* 0 bytes moved. */
	m = (struct msg){ .op = OP_FINAL };
	m = rpc(&A, &m);
	EXPECT(m.v[0] == checksum0 && m.v[1] == VLEN,
	       "victim changed: checksum 0x%016llx (was 0x%016llx), first "
	       "changed byte %llu",
	       (unsigned long long)m.v[0], (unsigned long long)checksum0,
	       (unsigned long long)m.v[1]);
	EXPECT(m.v[2] == CLEN, "canary changed at byte %llu",
	       (unsigned long long)m.v[2]);
	EXPECT(m.v[3] == 0, "%llu completions in A's CQ",
	       (unsigned long long)m.v[3]);
	EXPECT(m.v[4] == IBV_QPS_RTR, "A's UC QP in %s",
	       state_name((int)m.v[4]));
	rdst_bad = check(rdst, QPS * MAXLEN, RSEED, 0);
	EXPECT(rdst_bad == QPS * MAXLEN,
	       "a forged READ landed in B's memory at byte %llu",
	       (unsigned long long)rdst_bad);
	printf("forged: %llu RC WRITE + %llu RC READ (%llu refused with "
	       "REM_ACCESS_ERR) + %llu UC WRITE (dropped by A) = %llu, %llu of "
	       "them with special keys; %llu random keys equal to a live rkey "
	       "skipped; %llu canary probes arrived\n",
	       (unsigned long long)count.rc_write,
	       (unsigned long long)count.rc_read,
	       (unsigned long long)count.rc_refused,
	       (unsigned long long)count.uc_write,
	       (unsigned long long)(count.rc_write + count.rc_read +
				    count.uc_write),
	       (unsigned long long)count.special_ops,
	       (unsigned long long)count.excluded,
	       (unsigned long long)count.probes);
	printf("bytes moved by forged operations: %s (victim checksum "
	       "0x%016llx, was 0x%016llx; READ destinations %s)\n",
	       m.v[0] == checksum0 && m.v[1] == VLEN && rdst_bad == QPS * MAXLEN
		       ? "0"
		       : "SOME",
	       (unsigned long long)m.v[0], (unsigned long long)checksum0,
	       rdst_bad == QPS * MAXLEN ? "intact" : "CHANGED");

	/* The real rkey still works: RC WRITE, RC READ, UC WRITE. */
	fill(src, MAXLEN, LSEED, 0);
	if (legit(rc[2], rc_cq, IBV_WR_RDMA_WRITE, src, MAXLEN, src_mr->lkey,
		  v_addr + 3 * MAXLEN, v_rkey, "legitimate RC WRITE")) {
		EXPECT(victim_verify(3 * MAXLEN, MAXLEN, LSEED, 0) == MAXLEN,
		       "legitimate RC WRITE did not arrive");
		EXPECT(victim_verify(0, 3 * MAXLEN, VSEED, 0) == 3 * MAXLEN &&
			       victim_verify(4 * MAXLEN, VLEN - 4 * MAXLEN,
					     VSEED,
					     4 * MAXLEN) == VLEN - 4 * MAXLEN,
		       "legitimate WRITE changed bytes outside its range");
	}
	if (legit(rc[3], rc_cq, IBV_WR_RDMA_READ, rdst, MAXLEN, rdst_mr->lkey,
		  v_addr + 3 * MAXLEN, v_rkey, "legitimate RC READ"))
		EXPECT(check(rdst, MAXLEN, LSEED, 0) == MAXLEN,
		       "legitimate READ returned wrong bytes");
	if (legit(uc, uc_cq, IBV_WR_RDMA_WRITE, src + 100, 3000, src_mr->lkey,
		  v_addr + 5 * MAXLEN, v_rkey, "legitimate UC WRITE")) {
		uint64_t bad = MAXLEN;

		for (int i = 0; i < 200 && bad != 3000; i++) {
			bad = victim_verify(5 * MAXLEN, 3000, LSEED, 100);
			if (bad != 3000)
				usleep(10000);
		}
		EXPECT(bad == 3000, "legitimate UC WRITE did not arrive");
	}

	for (uint32_t i = 0; i < QPS; i++)
		if (ibv_destroy_qp(rc[i]))
			die("destroy_qp");
	if (ibv_destroy_qp(uc) || ibv_destroy_cq(rc_cq) ||
	    ibv_destroy_cq(uc_cq))
		die("destroy");
	dereg(src_mr);
	dereg(rdst_mr);
	close_dev(&D);
	m = (struct msg){ .op = OP_EXIT };
	m = rpc(&A, &m);
	failures += m.failures;
	if (waitpid(A.pid, &st, 0) != A.pid)
		die("waitpid: %s", strerror(errno));
	EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "victim exit status 0x%x",
	       st);
	printf("time %.1f s\n", (double)(now_ms() - t0) / 1000);
	if (failures) {
		fprintf(stderr, "FAIL: %d expectation(s) failed\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
