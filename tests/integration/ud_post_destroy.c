// SPDX-License-Identifier: MIT
/*
 * Posts, then destroys at once, as mckey does: a UD QP posts MSGS
 * unsignaled sends to a second UD QP (same device, or a multicast group
 * the second QP joined) and the program immediately destroys the AH and
 * the sending QP.  Every send posted before the destroys must arrive with
 * its payload: kernel rxe sends a UD post in the post's own system call,
 * and programs rely on it.
 *
 *   ud_post_destroy DEVICE [mcast]
 *
 * Each round checks all MSGS receives (index and payload); ROUNDS rounds.
 * Unicast then also checks that destroying a QP drops its completions
 * not yet polled from a CQ it shares (check_destroy_drops_cqes).
 */
#include <arpa/inet.h>

static const char *who = "ud_post_destroy";
static int failures;
#include "itest.h"

#define QKEY	0x1234567
#define MSGS	256
#define PAYLOAD 1024
#define GRH	40
#define ROUNDS	20
#define SLOT	(GRH + PAYLOAD)

struct receiver {
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	uint8_t *buf;
};

static struct ibv_qp *ud_qp(struct ibv_pd *pd, struct ibv_cq *cq)
{
	struct ibv_qp_init_attr ia = {
		.send_cq = cq,
		.recv_cq = cq,
		.qp_type = IBV_QPT_UD,
		.cap = { .max_send_wr = MSGS,
			 .max_recv_wr = MSGS,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
	};
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT,
				 .port_num = 1,
				 .qkey = QKEY };
	struct ibv_qp *qp = ibv_create_qp(pd, &ia);

	if (!qp)
		die("ibv_create_qp: %s", strerror(errno));
	if (ibv_modify_qp(qp, &a,
			  IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				  IBV_QP_QKEY))
		die("modify to INIT: %s", strerror(errno));
	a.qp_state = IBV_QPS_RTR;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE))
		die("modify to RTR: %s", strerror(errno));
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = 0;
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN))
		die("modify to RTS: %s", strerror(errno));
	return qp;
}

static void post_receives(struct receiver *r)
{
	for (uint32_t i = 0; i < MSGS; i++) {
		struct ibv_sge sge = { .addr = (uintptr_t)(r->buf + i * SLOT),
				       .length = SLOT,
				       .lkey = r->mr->lkey };
		struct ibv_recv_wr wr = { .wr_id = i,
					  .sg_list = &sge,
					  .num_sge = 1 },
				   *bad;

		if (ibv_post_recv(r->qp, &wr, &bad))
			die("ibv_post_recv: %s", strerror(errno));
	}
}

/* One UD SEND of PAYLOAD bytes at @p to QP @dqpn through @ah. */
static void post_ud_send(struct ibv_qp *qp, struct ibv_ah *ah, uint32_t dqpn,
			 const uint8_t *p, struct ibv_mr *mr, uint64_t wr_id,
			 unsigned int flags)
{
	struct ibv_sge sge = { .addr = (uintptr_t)p,
			       .length = PAYLOAD,
			       .lkey = mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id,
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_SEND,
		.send_flags = flags,
		.wr.ud = { .ah = ah, .remote_qpn = dqpn, .remote_qkey = QKEY },
	},
			   *bad;

	if (ibv_post_send(qp, &wr, &bad))
		die("ibv_post_send %lu: %s", (unsigned long)wr_id,
		    strerror(errno));
}

/* A fresh sender: posts every message, destroys AH and QP, returns. */
static void send_and_destroy(struct ibv_pd *pd, struct ibv_ah_attr *av,
			     uint32_t dqpn, uint8_t *src, struct ibv_mr *mr,
			     int round)
{
	struct ibv_cq *cq = ibv_create_cq(pd->context, MSGS, NULL, NULL, 0);
	struct ibv_qp *qp = cq ? ud_qp(pd, cq) : NULL;
	struct ibv_ah *ah = qp ? ibv_create_ah(pd, av) : NULL;

	if (!ah)
		die("sender set-up: %s", strerror(errno));
	for (uint32_t i = 0; i < MSGS; i++) {
		uint8_t *p = src + i * PAYLOAD;

		memset(p, (int)(i + round), PAYLOAD);
		memcpy(p, &i, sizeof(i));
		post_ud_send(qp, ah, dqpn, p, mr, i, 0);
	}
	if (ibv_destroy_ah(ah) || ibv_destroy_qp(qp) || ibv_destroy_cq(cq))
		die("sender teardown: %s", strerror(errno));
}

static bool payload_ok(const uint8_t *p, uint32_t i, int round)
{
	uint32_t idx;

	memcpy(&idx, p, sizeof(idx));
	if (idx != i)
		return false;
	for (size_t k = sizeof(idx); k < PAYLOAD; k++)
		if (p[k] != (uint8_t)(i + round))
			return false;
	return true;
}

/* Waits up to 5 s for every receive; checks each payload. */
static void check_receives(struct receiver *r, int round)
{
	uint64_t until = now_ms() + 5000;
	uint32_t got = 0;

	while (got < MSGS && now_ms() < until) {
		struct ibv_wc wc[32];
		int n = ibv_poll_cq(r->cq, 32, wc);

		if (n < 0)
			die("ibv_poll_cq");
		for (int k = 0; k < n; k++) {
			EXPECT(wc[k].status == IBV_WC_SUCCESS,
			       "round %d: receive %lu: %s", round,
			       (unsigned long)wc[k].wr_id,
			       ibv_wc_status_str(wc[k].status));
			EXPECT(payload_ok(r->buf + wc[k].wr_id * SLOT + GRH,
					  (uint32_t)got, round),
			       "round %d: message %u arrived as receive %lu "
			       "with the wrong payload",
			       round, got, (unsigned long)wc[k].wr_id);
			got++;
		}
	}
	EXPECT(got == MSGS,
	       "round %d: %u of %u sends posted before ibv_destroy_ah/qp "
	       "arrived",
	       round, got, MSGS);
}

/*
 * Two receivers share one CQ; a sender on its own CQ sends MSGS to each,
 * signaled.  Once every send completed, both receives of each pair are
 * in the shared CQ (same-host delivery happens before the send's
 * completion).  Destroying the first receiver drops its completions:
 * the CQ then yields exactly the second receiver's, in order (mlx5 does
 * this; libfabric's rxm reposts receives it finds for a closed QP).
 */
static void check_destroy_drops_cqes(struct ibv_pd *pd, struct ibv_ah_attr *av,
				     uint8_t *src, struct ibv_mr *smr,
				     struct receiver *gone,
				     struct receiver *kept)
{
	struct ibv_cq *scq =
		ibv_create_cq(pd->context, 2 * MSGS, NULL, NULL, 0);
	struct ibv_qp *sqp = scq ? ud_qp(pd, scq) : NULL;
	struct ibv_ah *ah = sqp ? ibv_create_ah(pd, av) : NULL;
	uint32_t gone_qpn = gone->qp->qp_num, sent = 0, got = 0;
	uint64_t until = now_ms() + 5000;
	struct ibv_wc wc[32];

	if (!ah)
		die("drop set-up: %s", strerror(errno));
	post_receives(gone);
	post_receives(kept);
	for (uint32_t i = 0; i < 2 * MSGS; i++) {
		post_ud_send(sqp, ah, i % 2 ? kept->qp->qp_num : gone_qpn, src,
			     smr, i, IBV_SEND_SIGNALED);
		/* the send queue holds MSGS */
		while ((i + 1) % MSGS == 0 && sent <= i && now_ms() < until) {
			int n = ibv_poll_cq(scq, 32, wc);

			if (n < 0)
				die("ibv_poll_cq");
			sent += (uint32_t)n;
		}
	}
	EXPECT(sent == 2 * MSGS, "%u of %u sends completed", sent, 2 * MSGS);
	if (ibv_destroy_qp(gone->qp))
		die("ibv_destroy_qp: %s", strerror(errno));
	for (int n; (n = ibv_poll_cq(kept->cq, 32, wc)) != 0;) {
		if (n < 0)
			die("ibv_poll_cq");
		for (int k = 0; k < n; k++, got++) {
			EXPECT(wc[k].qp_num != gone_qpn,
			       "a completion of the destroyed QP 0x%x came "
			       "after ibv_destroy_qp",
			       gone_qpn);
			EXPECT(wc[k].wr_id == got,
			       "receive %u of the kept QP came as wr_id %lu",
			       got, (unsigned long)wc[k].wr_id);
		}
	}
	EXPECT(got == MSGS, "the kept QP's CQ gave %u completions, not %u", got,
	       MSGS);
	if (ibv_destroy_ah(ah) || ibv_destroy_qp(sqp) || ibv_destroy_cq(scq))
		die("drop teardown: %s", strerror(errno));
}

static void join_group(struct receiver *r, struct ibv_ah_attr *av)
{
	/* 239.1.2.4 as an IPv4-mapped GID: srxe's multicast on GID 1. */
	static const uint8_t grp[16] = {
		[10] = 0xff, [11] = 0xff, 239, 1, 2, 4
	};

	memcpy(av->grh.dgid.raw, grp, 16);
	av->is_global = 1;
	av->grh.sgid_index = 1;
	av->grh.hop_limit = 1;
	if (ibv_attach_mcast(r->qp, &av->grh.dgid, 0))
		die("ibv_attach_mcast: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	bool mcast = argc > 2 && !strcmp(argv[2], "mcast");
	struct ibv_context *ctx;
	struct ibv_ah_attr av = { .port_num = 1 };
	struct receiver r = { 0 };
	struct ibv_pd *pd;
	struct ibv_mr *smr;
	uint8_t *src;
	union ibv_gid gid;

	if (argc < 2)
		die("usage: ud_post_destroy DEVICE [mcast]");
	ctx = itest_open_device(argv[1]);
	pd = ibv_alloc_pd(ctx);
	r.buf = calloc(MSGS, SLOT);
	src = calloc(MSGS, PAYLOAD);
	if (!pd || !r.buf || !src)
		die("set-up: %s", strerror(errno));
	r.mr = ibv_reg_mr(pd, r.buf, MSGS * SLOT, IBV_ACCESS_LOCAL_WRITE);
	smr = ibv_reg_mr(pd, src, MSGS * PAYLOAD, 0);
	r.cq = ibv_create_cq(ctx, MSGS, NULL, NULL, 0);
	if (!r.mr || !smr || !r.cq)
		die("set-up: %s", strerror(errno));
	r.qp = ud_qp(pd, r.cq);
	if (mcast) {
		join_group(&r, &av);
	} else {
		if (ibv_query_gid(ctx, 1, 1, &gid))
			die("ibv_query_gid: %s", strerror(errno));
		av.is_global = 1;
		av.grh.dgid = gid;
		av.grh.sgid_index = 1;
		av.grh.hop_limit = 1;
	}
	for (int round = 0; round < ROUNDS; round++) {
		post_receives(&r);
		send_and_destroy(pd, &av, mcast ? 0xffffff : r.qp->qp_num, src,
				 smr, round);
		check_receives(&r, round);
		if (failures)
			break;
	}
	if (mcast && ibv_detach_mcast(r.qp, &av.grh.dgid, 0))
		die("ibv_detach_mcast: %s", strerror(errno));
	if (!mcast && !failures) {
		/* Receives into r's buffer too: only the completions count. */
		struct receiver gone = r;

		gone.qp = ud_qp(pd, r.cq);
		check_destroy_drops_cqes(pd, &av, src, smr, &gone, &r);
	}
	if (ibv_destroy_qp(r.qp) || ibv_destroy_cq(r.cq) ||
	    ibv_dereg_mr(r.mr) || ibv_dereg_mr(smr) || ibv_dealloc_pd(pd) ||
	    ibv_close_device(ctx))
		die("teardown: %s", strerror(errno));
	free(r.buf);
	free(src);
	if (failures)
		return 1;
	printf("%d rounds of %d %s UD sends, each destroyed right after its "
	       "posts: all arrived%s\n",
	       ROUNDS, MSGS, mcast ? "multicast" : "unicast",
	       mcast ? "" : "; a destroyed QP's completions left its CQ");
	return 0;
}
