// SPDX-License-Identifier: MIT
/*
 * Data-path object driver for test_verbs_clients.sh: CQ/QP/SRQ/AH, ring
 * arena and doorbell requests (include/srxe/proto_verbs.h) against a real
 * srxed.  Each mode exits 0 when every expectation held.
 *
 *   verbs_clients SOCK semantics     answers, error codes, EBUSY rules,
 *                                    foreign handles, ring geometry
 *   verbs_clients SOCK limits        max_cq and arena exhaustion (ENOMEM)
 *   verbs_clients SOCK killed        a client SIGKILLed holding objects
 *   verbs_clients SOCK garbage N S   N random bodies for opcodes 16-30
 *   verbs_clients SOCK expect-idle   0 clients and no objects left
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srxe/client.h"
#include "srxe/proto.h"
#include "srxe/ring.h"

#define DEVICE "srxe0"

static const char *sock_path;
static int failures;

#define EXPECT(cond, ...)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__);   \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
			failures++;                                            \
		}                                                              \
	} while (0)

static void must_open(struct srxe_conn *c)
{
	struct srxe_open_ctx_req req = { .client_version = SRXE_PROTO_VERSION };
	struct srxe_open_ctx_resp resp;
	int slab = -1;

	if (srxe_conn_open(c, sock_path)) {
		fprintf(stderr, "connect %s: %s\n", sock_path, c->reason);
		exit(1);
	}
	snprintf(req.device, sizeof(req.device), DEVICE);
	if (srxe_call(c, SRXE_OP_OPEN_CTX, &req, sizeof(req), -1, &resp,
		      sizeof(resp), &slab)) {
		fprintf(stderr, "OPEN_CTX: %s\n", c->reason);
		exit(1);
	}
	if (slab >= 0)
		close(slab);
}

static void expect_err(struct srxe_conn *c, int got, int want, const char *what,
		       const char *reason_part)
{
	EXPECT(got == want, "%s: got %d (%s), want %d (%s)", what, got,
	       c->reason, want, strerror(want));
	if (want && got == want && reason_part)
		EXPECT(strstr(c->reason, reason_part),
		       "%s: reason \"%s\" lacks \"%s\"", what, c->reason,
		       reason_part);
}

static int alloc_pd(struct srxe_conn *c, uint32_t *pd)
{
	struct srxe_alloc_pd_resp resp = { 0 };
	int ret = srxe_call(c, SRXE_OP_ALLOC_PD, NULL, 0, -1, &resp,
			    sizeof(resp), NULL);

	*pd = resp.pd_handle;
	return ret;
}

static int destroy(struct srxe_conn *c, uint16_t op, uint32_t handle)
{
	struct srxe_destroy_req req = { .handle = handle };

	return srxe_call(c, op, &req, sizeof(req), -1, NULL, 0, NULL);
}

static int create_cq(struct srxe_conn *c, uint32_t cqe, uint32_t vector,
		     struct srxe_create_cq_resp *resp)
{
	struct srxe_create_cq_req req = { .cqe = cqe, .comp_vector = vector };

	memset(resp, 0, sizeof(*resp));
	return srxe_call(c, SRXE_OP_CREATE_CQ, &req, sizeof(req), -1, resp,
			 sizeof(*resp), NULL);
}

static struct srxe_create_qp_req qp_req(uint32_t pd, uint32_t type, uint32_t cq,
					uint32_t srq)
{
	struct srxe_create_qp_req r = {
		.pd_handle = pd,
		.qp_type = type,
		.send_cq_handle = cq,
		.recv_cq_handle = cq,
		.srq_handle = srq,
		.cap = { .max_send_wr = 100,
			 .max_recv_wr = 33,
			 .max_send_sge = 2,
			 .max_recv_sge = 1,
			 .max_inline_data = 64 },
	};

	return r;
}

static int create_qp(struct srxe_conn *c, const struct srxe_create_qp_req *r,
		     struct srxe_create_qp_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	return srxe_call(c, SRXE_OP_CREATE_QP, r, sizeof(*r), -1, resp,
			 sizeof(*resp), NULL);
}

static int modify_qp(struct srxe_conn *c, uint32_t qp, uint32_t mask,
		     const struct srxe_qp_attr_wire *attr)
{
	struct srxe_modify_qp_req req = { .qp_handle = qp,
					  .attr_mask = mask,
					  .attr = *attr };

	return srxe_call(c, SRXE_OP_MODIFY_QP, &req, sizeof(req), -1, NULL, 0,
			 NULL);
}

static int create_srq(struct srxe_conn *c, uint32_t pd, uint32_t max_wr,
		      uint32_t limit, struct srxe_create_srq_resp *resp)
{
	struct srxe_create_srq_req req = { .pd_handle = pd,
					   .max_wr = max_wr,
					   .max_sge = 1,
					   .srq_limit = limit };

	memset(resp, 0, sizeof(*resp));
	return srxe_call(c, SRXE_OP_CREATE_SRQ, &req, sizeof(req), -1, resp,
			 sizeof(*resp), NULL);
}

/* The device's own IPv4-mapped GID: an address the engine can resolve. */
static struct srxe_ah_wire own_av(void)
{
	struct srxe_ah_wire av = {
		.is_global = 1, .port_num = 1, .hop_limit = 64, .sgid_index = 1
	};

	av.dgid[10] = av.dgid[11] = 0xff;
	av.dgid[12] = 127;
	av.dgid[15] = 1;
	return av;
}

static int create_ah(struct srxe_conn *c, uint32_t pd,
		     const struct srxe_ah_wire *av, uint32_t *ah)
{
	struct srxe_create_ah_req req = { .pd_handle = pd, .ah = *av };
	struct srxe_create_ah_resp resp = { 0 };
	int ret = srxe_call(c, SRXE_OP_CREATE_AH, &req, sizeof(req), -1, &resp,
			    sizeof(resp), NULL);

	*ah = resp.ah_handle;
	return ret;
}

static bool pow2(uint32_t x)
{
	return x && !(x & (x - 1));
}

static void expect_ring(const char *what, const struct srxe_ring_desc *r,
			uint64_t arena_bytes, const uint8_t *arena)
{
	const struct srxe_ring_hdr *h;

	EXPECT(r->offset >= SRXE_PAGE_SIZE && r->offset % SRXE_PAGE_SIZE == 0,
	       "%s: offset 0x%llx not a page past the ctx page", what,
	       (unsigned long long)r->offset);
	EXPECT(r->bytes == srxe_ring_bytes(r->size, r->stride),
	       "%s: bytes %llu", what, (unsigned long long)r->bytes);
	EXPECT(r->offset + r->bytes <= arena_bytes, "%s: outside the arena",
	       what);
	EXPECT(pow2(r->size) && pow2(r->stride), "%s: size %u stride %u", what,
	       r->size, r->stride);
	if (!arena || r->offset + r->bytes > arena_bytes)
		return;
	h = (const void *)(arena + r->offset);
	EXPECT(h->size == r->size && h->stride == r->stride,
	       "%s: header says %u x %u", what, h->size, h->stride);
	EXPECT(h->prod.val == 0 && h->cons.val == 0, "%s: indices not zero",
	       what);
}

static uint8_t *map_arena(struct srxe_conn *c, uint64_t *bytes)
{
	struct srxe_map_rings_resp resp = { 0 };
	int fd = -1, ret;
	void *p;

	ret = srxe_call(c, SRXE_OP_MAP_RINGS, NULL, 0, -1, &resp, sizeof(resp),
			&fd);
	EXPECT(ret == 0 && fd >= 0, "MAP_RINGS: %d %s", ret, c->reason);
	if (ret || fd < 0)
		return NULL;
	*bytes = resp.arena_bytes;
	p = mmap(NULL, resp.arena_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	close(fd);
	EXPECT(p != MAP_FAILED, "mmap arena of %llu bytes",
	       (unsigned long long)resp.arena_bytes);
	return p == MAP_FAILED ? NULL : p;
}

static void doorbell_is_eventfd(struct srxe_conn *c)
{
	char link[64], target[64] = "";
	int fd = -1, ret;

	ret = srxe_call(c, SRXE_OP_GET_DOORBELL, NULL, 0, -1, NULL, 0, &fd);
	EXPECT(ret == 0 && fd >= 0, "GET_DOORBELL: %d %s", ret, c->reason);
	if (fd < 0)
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (readlink(link, target, sizeof(target) - 1) < 0)
		target[0] = '\0';
	EXPECT(strstr(target, "eventfd"), "doorbell is %s", target);
	EXPECT(write(fd, &(uint64_t){ 1 }, 8) == 8, "doorbell not writable");
	close(fd);
}

static void cq_semantics(struct srxe_conn *c, const uint8_t *arena,
			 uint64_t arena_bytes, uint32_t *cq)
{
	struct srxe_create_cq_resp r;
	struct srxe_resize_cq_req rz = { 0 };
	struct srxe_resize_cq_resp rr;

	expect_err(c, create_cq(c, 0, 0, &r), EINVAL, "cqe 0", "cqe 0");
	expect_err(c, create_cq(c, 1048576, 0, &r), EINVAL, "cqe > max",
		   "max_cqe");
	expect_err(c, create_cq(c, 10, 1, &r), EINVAL, "comp_vector 1",
		   "comp_vector");
	expect_err(c, create_cq(c, 100, 0, &r), 0, "CREATE_CQ", NULL);
	EXPECT(r.cqe >= 100 && r.cq_handle, "cqe %u handle %x", r.cqe,
	       r.cq_handle);
	EXPECT(r.ring.stride == SRXE_CQE_STRIDE, "CQE stride %u",
	       r.ring.stride);
	expect_ring("CQ", &r.ring, arena_bytes, arena);
	*cq = r.cq_handle;
	rz.cq_handle = *cq;
	rz.cqe = 1000;
	expect_err(c,
		   srxe_call(c, SRXE_OP_RESIZE_CQ, &rz, sizeof(rz), -1, &rr,
			     sizeof(rr), NULL),
		   0, "RESIZE_CQ", NULL);
	EXPECT(rr.cqe >= 1000, "resized cqe %u", rr.cqe);
	expect_ring("resized CQ", &rr.ring, arena_bytes, arena);
	rz.cq_handle = 0x12345;
	expect_err(c,
		   srxe_call(c, SRXE_OP_RESIZE_CQ, &rz, sizeof(rz), -1, &rr,
			     sizeof(rr), NULL),
		   EINVAL, "RESIZE_CQ bogus", "no such CQ");
}

static void qp_create_errors(struct srxe_conn *c, uint32_t pd, uint32_t cq)
{
	struct srxe_create_qp_resp r;
	struct srxe_create_qp_req q = qp_req(pd, IBV_QPT_RC, cq, 0);

	q.pd_handle = pd + 1;
	expect_err(c, create_qp(c, &q, &r), EINVAL, "bogus PD", "no such PD");
	q = qp_req(pd, IBV_QPT_RC, cq, 0);
	q.recv_cq_handle = 0;
	expect_err(c, create_qp(c, &q, &r), EINVAL, "no recv CQ",
		   "no such receive CQ");
	q = qp_req(pd, IBV_QPT_RC, cq, 7);
	expect_err(c, create_qp(c, &q, &r), EINVAL, "bogus SRQ", "no such SRQ");
	q = qp_req(pd, IBV_QPT_RAW_PACKET, cq, 0);
	expect_err(c, create_qp(c, &q, &r), EOPNOTSUPP, "raw packet QP",
		   "not supported");
	q = qp_req(pd, IBV_QPT_RC, cq, 0);
	q.cap.max_send_wr = 16385;
	expect_err(c, create_qp(c, &q, &r), EINVAL, "max_send_wr", "max_qp_wr");
	q = qp_req(pd, IBV_QPT_RC, cq, 0);
	q.cap.max_recv_sge = 33;
	expect_err(c, create_qp(c, &q, &r), EINVAL, "max_recv_sge", "max_sge");
	q = qp_req(pd, IBV_QPT_RC, cq, 0);
	q.cap.max_inline_data = 257;
	expect_err(c, create_qp(c, &q, &r), EINVAL, "inline",
		   "max_inline_data");
	q = qp_req(pd, IBV_QPT_RC, cq, 0);
	q.sq_sig_all = 2;
	expect_err(c, create_qp(c, &q, &r), EINVAL, "sq_sig_all", "sq_sig_all");
}

static void expect_qp_geometry(const struct srxe_create_qp_resp *r,
			       const uint8_t *arena, uint64_t arena_bytes)
{
	EXPECT(r->qp_num >= 0x11 && r->qp_num <= 0xffffff, "qp_num 0x%x",
	       r->qp_num);
	EXPECT(r->cap.max_send_wr >= 100 && r->cap.max_recv_wr >= 33 &&
		       r->cap.max_send_sge >= 2 && r->cap.max_recv_sge >= 1 &&
		       r->cap.max_inline_data >= 64,
	       "granted less than asked");
	EXPECT(r->sq.size == r->cap.max_send_wr, "sq size %u vs wr %u",
	       r->sq.size, r->cap.max_send_wr);
	EXPECT(r->sq.stride >= sizeof(struct srxe_send_wqe) +
				       16 * r->cap.max_send_sge &&
		       r->sq.stride >= sizeof(struct srxe_send_wqe) +
					       r->cap.max_inline_data,
	       "sq stride %u too small for the granted caps", r->sq.stride);
	expect_ring("SQ", &r->sq, arena_bytes, arena);
	expect_ring("RQ", &r->rq, arena_bytes, arena);
	EXPECT(r->sq.offset + r->sq.bytes <= r->rq.offset ||
		       r->rq.offset + r->rq.bytes <= r->sq.offset,
	       "SQ and RQ overlap");
}

static void modify_semantics(struct srxe_conn *c, uint32_t qp)
{
	struct srxe_qp_attr_wire a = { .qp_state = IBV_QPS_INIT,
				       .port_num = 1 };
	struct srxe_query_qp_req qreq = { .qp_handle = qp };
	struct srxe_query_qp_resp qr = { 0 };

	a.qp_state = IBV_QPS_RTR;
	expect_err(c, modify_qp(c, qp, IBV_QP_STATE, &a), EINVAL, "RESET->RTR",
		   "RESET->RTR is not a legal transition for an RC QP");
	a.qp_state = IBV_QPS_INIT;
	expect_err(c,
		   modify_qp(c, qp,
			     IBV_QP_STATE | IBV_QP_PKEY_INDEX |
				     IBV_QP_ACCESS_FLAGS,
			     &a),
		   EINVAL, "no port",
		   "RESET->INIT on an RC QP requires IBV_QP_PORT");
	a.port_num = 2;
	expect_err(c,
		   modify_qp(c, qp,
			     IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				     IBV_QP_ACCESS_FLAGS,
			     &a),
		   EINVAL, "port 2", "port 2 does not exist");
	a.port_num = 1;
	expect_err(c,
		   modify_qp(c, qp,
			     IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				     IBV_QP_ACCESS_FLAGS,
			     &a),
		   0, "RESET->INIT", NULL);
	expect_err(c,
		   srxe_call(c, SRXE_OP_QUERY_QP, &qreq, sizeof(qreq), -1, &qr,
			     sizeof(qr), NULL),
		   0, "QUERY_QP", NULL);
	EXPECT(qr.attr.qp_state == IBV_QPS_INIT, "state after INIT is %u",
	       qr.attr.qp_state);
	expect_err(c, modify_qp(c, qp + 0x10000, IBV_QP_STATE, &a), EINVAL,
		   "stale QP handle", "no such QP");
}

static void srq_ah_semantics(struct srxe_conn *c, uint32_t pd, uint32_t cq,
			     uint32_t *srq, uint32_t *srq_qp, uint32_t *ah)
{
	struct srxe_create_srq_resp sr;
	struct srxe_create_qp_req q;
	struct srxe_create_qp_resp qr;
	struct srxe_modify_srq_req ms = { .attr_mask = IBV_SRQ_MAX_WR,
					  .max_wr = 64 };
	struct srxe_modify_srq_resp msr;
	struct srxe_ah_wire av = own_av();

	expect_err(c, create_srq(c, pd, 0, 0, &sr), EINVAL, "srq max_wr 0",
		   "max_wr is 0");
	/* as rxe: srq_limit is not checked at creation (docs/compat.md) */
	expect_err(c, create_srq(c, pd, 16, 17, &sr), 0, "srq_limit > max_wr",
		   NULL);
	expect_err(c, destroy(c, SRXE_OP_DESTROY_SRQ, sr.srq_handle), 0,
		   "DESTROY_SRQ", NULL);
	expect_err(c, create_srq(c, pd, 16385, 0, &sr), EINVAL, "srq max_wr",
		   "max_srq_wr");
	expect_err(c, create_srq(c, pd + 1, 16, 0, &sr), EINVAL, "srq PD",
		   "no such PD");
	expect_err(c, create_srq(c, pd, 16, 4, &sr), 0, "CREATE_SRQ", NULL);
	*srq = sr.srq_handle;
	ms.srq_handle = *srq;
	expect_err(c,
		   srxe_call(c, SRXE_OP_MODIFY_SRQ, &ms, sizeof(ms), -1, &msr,
			     sizeof(msr), NULL),
		   0, "SRQ resize", NULL);
	EXPECT(msr.max_wr == 64 && msr.posted == 0 && msr.ring.size == 64 &&
		       msr.ring.offset != sr.ring.offset,
	       "SRQ resize reply: max_wr %u posted %u size %u", msr.max_wr,
	       msr.posted, msr.ring.size);
	ms.max_wr = 0;
	expect_err(c,
		   srxe_call(c, SRXE_OP_MODIFY_SRQ, &ms, sizeof(ms), -1, &msr,
			     sizeof(msr), NULL),
		   EINVAL, "SRQ resize to 0", "outside 1..");
	ms.max_wr = 3; /* below the armed limit of 4, as rxe */
	expect_err(c,
		   srxe_call(c, SRXE_OP_MODIFY_SRQ, &ms, sizeof(ms), -1, &msr,
			     sizeof(msr), NULL),
		   EINVAL, "SRQ resize below the limit", "srq_limit");
	q = qp_req(pd, IBV_QPT_UD, cq, *srq);
	expect_err(c, create_qp(c, &q, &qr), 0, "UD QP on an SRQ", NULL);
	EXPECT(qr.rq.bytes == 0, "QP on an SRQ got an RQ of %llu bytes",
	       (unsigned long long)qr.rq.bytes);
	*srq_qp = qr.qp_handle;
	expect_err(c, destroy(c, SRXE_OP_DESTROY_SRQ, *srq), EBUSY,
		   "SRQ in use", "still used");
	av.is_global = 0;
	expect_err(c, create_ah(c, pd, &av, ah), EINVAL, "AH without GRH",
		   "GRH");
	av = own_av();
	av.port_num = 3;
	expect_err(c, create_ah(c, pd, &av, ah), EINVAL, "AH port", "port 3");
	av = own_av();
	expect_err(c, create_ah(c, pd, &av, ah), 0, "CREATE_AH", NULL);
}

/* A second client names the first one's objects: nothing of it is found. */
static void foreign_handles(uint32_t pd, uint32_t cq, uint32_t qp, uint32_t srq,
			    uint32_t ah)
{
	struct srxe_conn o;
	struct srxe_create_qp_resp r;
	struct srxe_create_qp_req q = qp_req(pd, IBV_QPT_RC, cq, 0);
	uint32_t own_pd;

	must_open(&o);
	expect_err(&o, create_qp(&o, &q, &r), EINVAL, "foreign PD",
		   "no such PD");
	alloc_pd(&o, &own_pd);
	q.pd_handle = own_pd;
	expect_err(&o, create_qp(&o, &q, &r), EINVAL, "foreign CQ",
		   "no such send CQ");
	expect_err(&o, destroy(&o, SRXE_OP_DESTROY_QP, qp), EINVAL,
		   "foreign QP", "no such QP");
	expect_err(&o, destroy(&o, SRXE_OP_DESTROY_CQ, cq), EINVAL,
		   "foreign CQ destroy", "no such CQ");
	expect_err(&o, destroy(&o, SRXE_OP_DESTROY_SRQ, srq), EINVAL,
		   "foreign SRQ", "no such SRQ");
	expect_err(&o, destroy(&o, SRXE_OP_DESTROY_AH, ah), EINVAL,
		   "foreign AH", "no such AH");
	srxe_conn_close(&o);
}

static int mode_semantics(void)
{
	struct srxe_conn c;
	struct srxe_create_qp_resp r1, r2;
	struct srxe_create_qp_req q;
	struct srxe_create_cq_resp cr;
	uint32_t pd, cq, srq, srq_qp, ah;
	uint64_t arena_bytes = 0;
	uint8_t *arena;

	if (srxe_conn_open(&c, sock_path))
		return 1;
	expect_err(&c, create_cq(&c, 10, 0, &cr), ENOTCONN, "before OPEN_CTX",
		   "OPEN_CTX");
	srxe_conn_close(&c);
	must_open(&c);
	arena = map_arena(&c, &arena_bytes);
	doorbell_is_eventfd(&c);
	alloc_pd(&c, &pd);
	cq_semantics(&c, arena, arena_bytes, &cq);
	qp_create_errors(&c, pd, cq);
	q = qp_req(pd, IBV_QPT_RC, cq, 0);
	expect_err(&c, create_qp(&c, &q, &r1), 0, "CREATE_QP RC", NULL);
	expect_qp_geometry(&r1, arena, arena_bytes);
	q = qp_req(pd, IBV_QPT_UC, cq, 0);
	expect_err(&c, create_qp(&c, &q, &r2), 0, "CREATE_QP UC", NULL);
	EXPECT(r1.qp_num != r2.qp_num, "two QPs share number 0x%x", r1.qp_num);
	modify_semantics(&c, r1.qp_handle);
	srq_ah_semantics(&c, pd, cq, &srq, &srq_qp, &ah);
	foreign_handles(pd, cq, r1.qp_handle, srq, ah);

	expect_err(&c, destroy(&c, SRXE_OP_DESTROY_CQ, cq), EBUSY, "CQ in use",
		   "still used");
	expect_err(&c, destroy(&c, SRXE_OP_DEALLOC_PD, pd), EBUSY, "PD in use",
		   "in use");
	expect_err(&c, destroy(&c, SRXE_OP_DESTROY_QP, r1.qp_handle), 0,
		   "DESTROY_QP", NULL);
	expect_err(&c, destroy(&c, SRXE_OP_DESTROY_QP, r1.qp_handle), EINVAL,
		   "DESTROY_QP twice", "no such QP");
	expect_err(&c, destroy(&c, SRXE_OP_DESTROY_QP, r2.qp_handle), 0,
		   "DESTROY_QP 2", NULL);
	expect_err(&c, destroy(&c, SRXE_OP_DESTROY_QP, srq_qp), 0,
		   "DESTROY_QP srq", NULL);
	expect_err(&c, destroy(&c, SRXE_OP_DESTROY_SRQ, srq), 0, "DESTROY_SRQ",
		   NULL);
	expect_err(&c, destroy(&c, SRXE_OP_DESTROY_CQ, cq), 0, "DESTROY_CQ",
		   NULL);
	expect_err(&c, destroy(&c, SRXE_OP_DEALLOC_PD, pd), EBUSY,
		   "PD with an AH", "in use");
	expect_err(&c, destroy(&c, SRXE_OP_DESTROY_AH, ah), 0, "DESTROY_AH",
		   NULL);
	expect_err(&c, destroy(&c, SRXE_OP_DEALLOC_PD, pd), 0, "DEALLOC_PD",
		   NULL);
	if (arena)
		munmap(arena, arena_bytes);
	srxe_conn_close(&c);
	return failures ? 1 : 0;
}

static int mode_limits(void)
{
	struct srxe_create_cq_resp r;
	struct srxe_conn c, c2;
	uint32_t *cqs = calloc(16384, sizeof(*cqs));
	unsigned int n = 0, i;
	int ret = 0;

	/* Big CQs fill the arena long before max_cq. */
	must_open(&c);
	while (n < 16384 && !(ret = create_cq(&c, 32767, 0, &r)))
		cqs[n++] = r.cq_handle;
	expect_err(&c, ret, ENOMEM, "arena exhaustion", "ring arena");
	EXPECT(n > 10 && n < 16384, "%u big CQs fit", n);
	for (i = 0; i < n; i++)
		EXPECT(!destroy(&c, SRXE_OP_DESTROY_CQ, cqs[i]),
		       "destroy %u: %s", i, c.reason);
	expect_err(&c, create_cq(&c, 32767, 0, &r), 0, "CQ after freeing",
		   NULL);
	destroy(&c, SRXE_OP_DESTROY_CQ, r.cq_handle);
	/* max_cq is device-wide: two clients share it. */
	must_open(&c2);
	for (n = 0; n <= 16384; n++) {
		struct srxe_conn *x = n % 2 ? &c2 : &c;

		if ((ret = create_cq(x, 1, 0, &r)))
			break;
	}
	expect_err(n % 2 ? &c2 : &c, ret, ENOMEM, "max_cq", "max_cq");
	EXPECT(n == 16384, "max_cq hit after %u CQs", n);
	srxe_conn_close(&c2);
	srxe_conn_close(&c);
	free(cqs);
	return failures ? 1 : 0;
}

/* Holds one of everything, then waits to be killed. */
static void hold_objects(int ready_fd)
{
	struct srxe_conn c;
	struct srxe_create_cq_resp cr;
	struct srxe_create_qp_resp qr;
	struct srxe_create_srq_resp sr;
	struct srxe_create_qp_req q;
	struct srxe_ah_wire av = own_av();
	uint32_t pd, ah;
	int ok;

	must_open(&c);
	ok = !alloc_pd(&c, &pd) && !create_cq(&c, 64, 0, &cr) &&
	     !create_srq(&c, pd, 32, 0, &sr) && !create_ah(&c, pd, &av, &ah);
	for (int i = 0; ok && i < 8; i++) {
		q = qp_req(pd, i % 2 ? IBV_QPT_RC : IBV_QPT_UD, cr.cq_handle,
			   i % 4 == 3 ? sr.srq_handle : 0);
		ok = !create_qp(&c, &q, &qr);
	}
	if (!ok)
		fprintf(stderr, "holder: %s\n", c.reason);
	if (write(ready_fd, ok ? "y" : "n", 1) != 1)
		_exit(1);
	pause();
	_exit(0);
}

static int mode_killed(void)
{
	struct srxe_status_resp st = { 0 };
	struct srxe_conn c;
	int p[2];
	char ok = 'n';
	pid_t pid;

	if (pipe(p))
		return 1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		hold_objects(p[1]);
	}
	close(p[1]);
	if (read(p[0], &ok, 1) != 1)
		ok = 'n';
	EXPECT(ok == 'y', "holder could not create its objects");
	if (srxe_conn_open(&c, sock_path) == 0) {
		srxe_call(&c, SRXE_OP_STATUS, NULL, 0, -1, &st, sizeof(st),
			  NULL);
		EXPECT(st.qps == 8 && st.cqs == 1 && st.srqs == 1 &&
			       st.ahs == 1,
		       "holder counted as %u QPs %u CQs %u SRQs %u AHs", st.qps,
		       st.cqs, st.srqs, st.ahs);
		srxe_conn_close(&c);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(p[0]);
	return failures ? 1 : 0;
}

static int mode_garbage(int n, unsigned int seed)
{
	uint8_t body[SRXE_MSG_MAX], reply[SRXE_MSG_MAX];
	struct srxe_conn c;

	srand48(seed);
	must_open(&c);
	for (int i = 0; i < n; i++) {
		uint16_t op =
			SRXE_OP_MAP_RINGS +
			lrand48() % (SRXE_OP_VERBS_END - SRXE_OP_MAP_RINGS);
		const struct srxe_op_info *info = srxe_op_info(op);
		int fd = -1, ret;

		for (size_t k = 0; k < info->req_body; k++)
			body[k] = lrand48() % 4 ? lrand48() : 0;
		/* Small handles reach real slots now and then. */
		if (info->req_body >= 4 && lrand48() % 2)
			body[0] = lrand48() % 4, body[1] = 0, body[2] = 1,
			body[3] = 0;
		ret = srxe_call(&c, op, body, info->req_body, -1, reply,
				info->reply_body, &fd);
		if (fd >= 0)
			close(fd);
		if (ret < 0) {
			fprintf(stderr,
				"FAIL: %s broke the connection: %d %s\n",
				info->name, ret, c.reason);
			return 1;
		}
	}
	srxe_conn_close(&c);
	return 0;
}

static int mode_expect_idle(void)
{
	struct srxe_status_resp st = { 0 };
	struct srxe_conn c;

	for (int i = 0; i < 100; i++) {
		if (srxe_conn_open(&c, sock_path) == 0) {
			srxe_call(&c, SRXE_OP_STATUS, NULL, 0, -1, &st,
				  sizeof(st), NULL);
			srxe_conn_close(&c);
			if (!st.clients && !st.pds && !st.qps && !st.cqs &&
			    !st.srqs && !st.ahs && st.connections == 1)
				return 0;
		}
		usleep(50000);
	}
	fprintf(stderr,
		"FAIL: not idle: clients=%u pds=%u qps=%u cqs=%u srqs=%u "
		"ahs=%u conns=%u\n",
		st.clients, st.pds, st.qps, st.cqs, st.srqs, st.ahs,
		st.connections);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s SOCK MODE [ARGS]\n", argv[0]);
		return 2;
	}
	sock_path = argv[1];
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[2], "semantics"))
		return mode_semantics();
	if (!strcmp(argv[2], "limits"))
		return mode_limits();
	if (!strcmp(argv[2], "killed"))
		return mode_killed();
	if (!strcmp(argv[2], "garbage") && argc == 5)
		return mode_garbage(atoi(argv[3]), strtoul(argv[4], NULL, 0));
	if (!strcmp(argv[2], "expect-idle"))
		return mode_expect_idle();
	fprintf(stderr, "unknown mode %s\n", argv[2]);
	return 2;
}
