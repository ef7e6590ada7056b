/* SPDX-License-Identifier: MIT */
/*
 * Reporting helpers shared by the two-process integration programs.
 * The including file defines, before including this header,
 *   static const char *who;   (role printed with every failure)
 *   static int failures;      (count of failed EXPECTs)
 */
#ifndef SRXE_ITEST_H
#define SRXE_ITEST_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <infiniband/verbs.h>

static inline void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static inline void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL (%s, fatal): ", who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Counts and reports a failed expectation; evaluates to the condition. */
#define EXPECT(cond, ...)                                                      \
	({                                                                     \
		bool ok_ = (cond);                                             \
		if (!ok_) {                                                    \
			failures++;                                            \
			fprintf(stderr, "FAIL (%s) %s:%d: ", who, __func__,    \
				__LINE__);                                     \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
		ok_;                                                           \
	})

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The verbs device called @name, opened; dies when there is none. */
static inline struct ibv_context *itest_open_device(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	for (int i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	if (!ctx)
		die("cannot open device %s", name);
	return ctx;
}

/* What itest_rc_connect_with() varies: remote access, MTU, READ depth,
 * the first PSN of both directions. */
struct itest_rc_opts {
	int access;
	enum ibv_mtu mtu;
	uint8_t rd_atomic;
	uint32_t psn;
};

/* The address of @dgid on port 1 from GID index 1 (srxe's IPv4-mapped
 * GID), as connected QPs and AHs of these tests use it. */
static inline void itest_set_av(struct ibv_ah_attr *ah,
				const union ibv_gid *dgid)
{
	ah->is_global = 1;
	ah->port_num = 1;
	ah->grh.sgid_index = 1;
	ah->grh.hop_limit = 64;
	ah->grh.dgid = *dgid;
}

/* A fresh connected QP to INIT on port 1 with @access; dies on failure. */
static inline void itest_qp_to_init(struct ibv_qp *qp, int access)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT,
		.port_num = 1,
		.qp_access_flags = (unsigned int)access,
	};

	if (ibv_modify_qp(qp, &a,
			  IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				  IBV_QP_ACCESS_FLAGS))
		die("QP to INIT: %s", strerror(errno));
}

/*
 * Bring an RC QP to RTS towards (dest_qpn, dgid) on port 1, GID index 1
 * (srxe's IPv4-mapped GID), with @o's access, MTU and READ depth (both
 * ways); dies on failure.
 */
static inline void itest_rc_connect_with(struct ibv_qp *qp, uint32_t dest_qpn,
					 const union ibv_gid *dgid,
					 const struct itest_rc_opts *o)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_RTR };

	itest_qp_to_init(qp, o->access);
	a.path_mtu = o->mtu;
	a.dest_qp_num = dest_qpn;
	a.max_dest_rd_atomic = o->rd_atomic;
	a.min_rnr_timer = 12;
	a.rq_psn = o->psn;
	itest_set_av(&a.ah_attr, dgid);
	if (ibv_modify_qp(qp, &a,
			  IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				  IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
				  IBV_QP_MAX_DEST_RD_ATOMIC |
				  IBV_QP_MIN_RNR_TIMER))
		die("QP to RTR: %s", strerror(errno));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = o->rd_atomic;
	a.sq_psn = o->psn;
	if (ibv_modify_qp(qp, &a,
			  IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
				  IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
				  IBV_QP_MAX_QP_RD_ATOMIC))
		die("QP to RTS: %s", strerror(errno));
}

/*
 * itest_rc_connect_with() with remote READ/WRITE/ATOMIC, MTU 1024 and one
 * READ in flight each way.  (mem_kinds, shared_reg, shm_reg.)
 */
static inline void itest_rc_connect(struct ibv_qp *qp, uint32_t dest_qpn,
				    const union ibv_gid *dgid)
{
	static const struct itest_rc_opts o = {
		.access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
			  IBV_ACCESS_REMOTE_ATOMIC,
		.mtu = IBV_MTU_1024,
		.rd_atomic = 1,
	};

	itest_rc_connect_with(qp, dest_qpn, dgid, &o);
}

/* Two QPs of one device, each connected to the other (a same-host pair):
 * itest_rc_connect_with() both ways. */
static inline void itest_rc_connect_pair_with(struct ibv_qp *a,
					      struct ibv_qp *b,
					      const union ibv_gid *gid,
					      const struct itest_rc_opts *o)
{
	itest_rc_connect_with(a, b->qp_num, gid, o);
	itest_rc_connect_with(b, a->qp_num, gid, o);
}

/* The same with itest_rc_connect()'s options. */
static inline void itest_rc_connect_pair(struct ibv_qp *a, struct ibv_qp *b,
					 const union ibv_gid *gid)
{
	itest_rc_connect(a, b->qp_num, gid);
	itest_rc_connect(b, a->qp_num, gid);
}

/* An RC QP on @pd/@cq: @send_wr send WRs, 1 recv WR, 1 SGE; NULL on failure. */
static inline struct ibv_qp *itest_rc_qp(struct ibv_pd *pd, struct ibv_cq *cq,
					 uint32_t send_wr)
{
	struct ibv_qp_init_attr qa = {
		.send_cq = cq,
		.recv_cq = cq,
		.cap = { .max_send_wr = send_wr,
			 .max_recv_wr = 1,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};

	return ibv_create_qp(pd, &qa);
}

/* Post one signaled RDMA @op of @len bytes; ibv_post_send()'s result. */
static inline int itest_post_rdma(struct ibv_qp *qp, enum ibv_wr_opcode op,
				  void *local, uint32_t lkey, uint64_t remote,
				  uint32_t rkey, uint32_t len)
{
	struct ibv_sge s = { (uintptr_t)local, len, lkey };
	struct ibv_send_wr wr = { .sg_list = &s,
				  .num_sge = 1,
				  .opcode = op,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;

	wr.wr.rdma.remote_addr = remote;
	wr.wr.rdma.rkey = rkey;
	return ibv_post_send(qp, &wr, &bad);
}

/* Poll @cq for a completion up to @ms (0: forever); ibv_poll_cq()'s result. */
static inline int itest_poll_one(struct ibv_cq *cq, struct ibv_wc *wc,
				 uint64_t ms)
{
	uint64_t until = ms ? now_ms() + ms : UINT64_MAX;
	int n = 0;

	while (!n && now_ms() < until)
		n = ibv_poll_cq(cq, 1, wc);
	return n;
}

#endif /* SRXE_ITEST_H */
