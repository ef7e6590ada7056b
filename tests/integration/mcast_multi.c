// SPDX-License-Identifier: MIT
/*
 * Issue #10, UD multicast: one sender and several receivers attached to
 * one group, on two srxe devices of the same host.
 *
 *   mcast_multi DEV_A DEV_B GROUP [MSGS]
 *	The sender and receivers A1, A2 and Aq (attached, but with another
 *	Q_Key) on DEV_A, receiver B1 on DEV_B.  Checks the attach/detach
 *	errors as kernel rxe gives them, that A1, A2 and B1 get every
 *	message exactly once with its data and a GRH naming the group, that
 *	Aq gets none, and that after A2 detaches it gets no more while A1
 *	and B1 still get every message.  Prints "PASS" when all held.
 *   mcast_multi --die DEV GROUP
 *	Attaches a UD QP to GROUP and exits without detaching or
 *	destroying anything: srxed must detach it (the caller checks
 *	`srxe status`).
 *
 * GROUP is an IPv4 multicast address, whose GID is ::ffff:GROUP (the
 * sender's AH uses GID index 1, the IPv4 GID; the GRH is 20 zero bytes
 * and the IPv4 header), or an IPv6 one (ff0x::, GID index 0, the
 * link-local GID; the GRH is the IPv6 header).  Either way the GRH's
 * destination must be the group, and its TTL / hop limit the AH's (1).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <infiniband/verbs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *who = "mcast_multi";
static int failures;

#include "itest.h"

#define QKEY	  0x11111111u
#define MSG_LEN	  200
#define GRH_LEN	  40
#define SLOT	  (GRH_LEN + MSG_LEN)
#define MAX_MSGS  64
#define MCAST_QPN 0xffffffu
#define HOP_LIMIT 1

/* The group: its GID, and whether it is an IPv6 one. */
static union ibv_gid group;
static bool group_v6;

struct ep {
	const char *name;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	uint8_t *buf;
	unsigned int got; /* messages received in this phase */
	bool seen[MAX_MSGS * 2];
};

static void to_rts(struct ibv_qp *qp, uint32_t qkey)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT,
				 .port_num = 1,
				 .qkey = qkey };

	if (ibv_modify_qp(qp, &a,
			  IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
				  IBV_QP_QKEY))
		die("modify to INIT failed");
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTR };
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE))
		die("modify to RTR failed");
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTS, .sq_psn = 0 };
	if (ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_SQ_PSN))
		die("modify to RTS failed");
}

static void ep_init(struct ep *e, const char *name, struct ibv_context *ctx,
		    uint32_t qkey)
{
	struct ibv_qp_init_attr init = {
		.qp_type = IBV_QPT_UD,
		.cap = { .max_send_wr = MAX_MSGS,
			 .max_recv_wr = MAX_MSGS * 2,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
	};
	size_t bytes = (size_t)SLOT * MAX_MSGS * 2;

	memset(e, 0, sizeof(*e));
	e->name = name;
	e->ctx = ctx;
	e->pd = ibv_alloc_pd(ctx);
	e->cq = ibv_create_cq(ctx, MAX_MSGS * 2, NULL, NULL, 0);
	e->buf = aligned_alloc(4096, (bytes + 4095) & ~(size_t)4095);
	if (!e->pd || !e->cq || !e->buf)
		die("%s: PD, CQ or buffer failed", name);
	memset(e->buf, 0, bytes);
	e->mr = ibv_reg_mr(e->pd, e->buf, bytes, IBV_ACCESS_LOCAL_WRITE);
	init.send_cq = init.recv_cq = e->cq;
	e->qp = ibv_create_qp(e->pd, &init);
	if (!e->mr || !e->qp)
		die("%s: MR or QP failed: %s", name, strerror(errno));
	to_rts(e->qp, qkey);
}

static void ep_fini(struct ep *e)
{
	if ((e->qp && ibv_destroy_qp(e->qp)) || ibv_dereg_mr(e->mr) ||
	    ibv_destroy_cq(e->cq) || ibv_dealloc_pd(e->pd))
		EXPECT(false, "%s: teardown failed", e->name);
	free(e->buf);
}

static void post_recvs(struct ep *e, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct ibv_sge sge = { .addr = (uintptr_t)(e->buf + i * SLOT),
				       .length = SLOT,
				       .lkey = e->mr->lkey };
		struct ibv_recv_wr wr = { .wr_id = i,
					  .sg_list = &sge,
					  .num_sge = 1 },
				   *bad;

		if (ibv_post_recv(e->qp, &wr, &bad))
			die("%s: post_recv failed", e->name);
	}
}

static uint8_t pattern(unsigned int seq, unsigned int i)
{
	return (uint8_t)(seq * 31u + i * 7u + 1u);
}

/* The GRH names the group as destination, with the AH's hop limit. */
static bool grh_ok(const uint8_t *grh)
{
	if (group_v6)
		return grh[0] >> 4 == 6 && grh[7] == HOP_LIMIT &&
		       !memcmp(grh + 24, group.raw, 16);
	/* 20 zero bytes, then the IPv4 header */
	return grh[20] >> 4 == 4 && grh[20 + 8] == HOP_LIMIT &&
	       !memcmp(grh + 20 + 16, group.raw + 12, 4);
}

/* Consumes completions of @e; checks each one's data and GRH. */
static void drain(struct ep *e, uint32_t src_qpn)
{
	struct ibv_wc wc[16];
	int n;

	while ((n = ibv_poll_cq(e->cq, 16, wc)) > 0) {
		for (int i = 0; i < n; i++) {
			const uint8_t *slot = e->buf + wc[i].wr_id * SLOT;
			const uint8_t *msg = slot + GRH_LEN;
			uint32_t seq;
			bool data_ok = true;

			if (!EXPECT(wc[i].status == IBV_WC_SUCCESS,
				    "%s: completion status %s", e->name,
				    ibv_wc_status_str(wc[i].status)))
				continue;
			EXPECT(wc[i].opcode == IBV_WC_RECV &&
				       (wc[i].wc_flags & IBV_WC_GRH) &&
				       wc[i].byte_len == SLOT,
			       "%s: opcode %d flags 0x%x byte_len %u", e->name,
			       wc[i].opcode, wc[i].wc_flags, wc[i].byte_len);
			EXPECT(wc[i].src_qp == src_qpn, "%s: src_qp 0x%x",
			       e->name, wc[i].src_qp);
			EXPECT(grh_ok(slot),
			       "%s: the GRH does not name the group with hop "
			       "limit %d",
			       e->name, HOP_LIMIT);
			memcpy(&seq, msg, 4);
			for (unsigned int b = 4; b < MSG_LEN; b++)
				data_ok &= msg[b] == pattern(seq, b);
			if (!EXPECT(seq < MAX_MSGS * 2 && data_ok,
				    "%s: message %u corrupt", e->name, seq))
				continue;
			EXPECT(!e->seen[seq], "%s: message %u twice", e->name,
			       seq);
			e->seen[seq] = true;
			e->got++;
		}
	}
	if (n < 0)
		die("%s: poll_cq failed", e->name);
}

struct sender {
	struct ep ep;
	struct ibv_ah *ah;
};

static void send_msgs(struct sender *s, unsigned int first, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++) {
		unsigned int seq = first + k;
		uint8_t *msg = s->ep.buf + (seq % MAX_MSGS) * SLOT;
		struct ibv_sge sge = { .addr = (uintptr_t)msg,
				       .length = MSG_LEN,
				       .lkey = s->ep.mr->lkey };
		struct ibv_send_wr wr = {
			.wr_id = seq,
			.sg_list = &sge,
			.num_sge = 1,
			.opcode = IBV_WR_SEND,
			.send_flags = IBV_SEND_SIGNALED,
			.wr.ud = { .ah = s->ah,
				   .remote_qpn = MCAST_QPN,
				   .remote_qkey = QKEY },
		},
				   *bad;
		struct ibv_wc wc;
		uint64_t t0 = now_ms();
		int r;

		memcpy(msg, &seq, 4);
		for (unsigned int b = 4; b < MSG_LEN; b++)
			msg[b] = pattern(seq, b);
		if (ibv_post_send(s->ep.qp, &wr, &bad))
			die("post_send failed");
		while ((r = ibv_poll_cq(s->ep.cq, 1, &wc)) == 0 &&
		       now_ms() - t0 < 5000)
			;
		if (r != 1 || wc.status != IBV_WC_SUCCESS)
			die("send %u did not complete (%s)", seq,
			    r == 1 ? ibv_wc_status_str(wc.status) : "timeout");
		/* A receiver keeps up: the engine of each device runs
		 * its own thread, and UD has no flow control. */
		usleep(2000);
	}
}

/* Waits until every receiver in @want has @n messages, then a little more
 * so that a copy that should not come has its chance to. */
static void collect(struct ep **eps, unsigned int neps, unsigned int n,
		    uint32_t src_qpn)
{
	uint64_t t0 = now_ms(), done_at = 0;

	while (now_ms() - t0 < 10000) {
		bool all = true;

		for (unsigned int i = 0; i < neps; i++) {
			drain(eps[i], src_qpn);
			if (eps[i]->name[0] != '-' && eps[i]->got < n)
				all = false;
		}
		if (all && !done_at)
			done_at = now_ms();
		if (done_at && now_ms() - done_at > 300)
			break;
		usleep(1000);
	}
}

/* GROUP: an IPv4 or IPv6 multicast address. */
static void parse_group(const char *arg)
{
	memset(&group, 0, sizeof(group));
	group_v6 = inet_pton(AF_INET6, arg, group.raw) == 1;
	if (group_v6) {
		if (group.raw[0] != 0xff)
			die("%s is not an IPv6 multicast address", arg);
		return;
	}
	group.raw[10] = group.raw[11] = 0xff;
	if (inet_pton(AF_INET, arg, group.raw + 12) != 1 ||
	    (group.raw[12] & 0xf0) != 0xe0)
		die("%s is not an IPv4 or IPv6 multicast address", arg);
}

static int die_mode(const char *dev, const char *arg)
{
	struct ibv_context *ctx = itest_open_device(dev);
	struct ep e;

	parse_group(arg);
	ep_init(&e, "dying", ctx, QKEY);
	if (ibv_attach_mcast(e.qp, &group, 0))
		die("attach failed");
	printf("attached QP 0x%x; exiting without cleanup\n", e.qp->qp_num);
	fflush(stdout);
	_exit(0);
}

int main(int argc, char **argv)
{
	struct ibv_context *ca, *cb;
	struct ibv_device_attr da;
	struct ep a1, a2, aq, b1, rc_ep;
	struct sender s;
	union ibv_gid ucast = {
		.raw = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 }
	};
	struct ibv_ah_attr ah = { .is_global = 1, .port_num = 1 };
	struct ibv_qp_init_attr rc = { .qp_type = IBV_QPT_RC,
				       .cap = { .max_send_wr = 1,
						.max_recv_wr = 1,
						.max_send_sge = 1,
						.max_recv_sge = 1 } };
	unsigned int msgs;
	int ret;

	if (argc == 4 && !strcmp(argv[1], "--die"))
		return die_mode(argv[2], argv[3]);
	if (argc < 4)
		die("usage: mcast_multi DEV_A DEV_B GROUP [MSGS] | --die DEV "
		    "GROUP");
	msgs = argc > 4 ? (unsigned int)atoi(argv[4]) : 32;
	if (!msgs || msgs > MAX_MSGS)
		die("MSGS must be 1..%d", MAX_MSGS);
	parse_group(argv[3]);
	ca = itest_open_device(argv[1]);
	cb = itest_open_device(argv[2]);

	if (ibv_query_device(ca, &da))
		die("query_device failed");
	EXPECT(da.max_mcast_grp > 0 && da.max_mcast_qp_attach > 0 &&
		       da.max_total_mcast_qp_attach >= da.max_mcast_qp_attach,
	       "caps: max_mcast_grp %d max_mcast_qp_attach %d total %d",
	       da.max_mcast_grp, da.max_mcast_qp_attach,
	       da.max_total_mcast_qp_attach);
	printf("caps: max_mcast_grp %d, max_mcast_qp_attach %d, "
	       "max_total_mcast_qp_attach %d\n",
	       da.max_mcast_grp, da.max_mcast_qp_attach,
	       da.max_total_mcast_qp_attach);

	ep_init(&s.ep, "sender", ca, QKEY);
	ep_init(&a1, "A1", ca, QKEY);
	ep_init(&a2, "A2", ca, QKEY);
	ep_init(&aq, "-Aq", ca, QKEY + 1); /* '-': must receive nothing */
	ep_init(&b1, "B1", cb, QKEY);

	/* Errors as rxe + ib_core give them. */
	memset(&rc_ep, 0, sizeof(rc_ep));
	rc.send_cq = rc.recv_cq = a1.cq;
	rc_ep.qp = ibv_create_qp(a1.pd, &rc);
	if (!rc_ep.qp)
		die("RC QP: %s", strerror(errno));
	ret = ibv_attach_mcast(rc_ep.qp, &group, 0);
	EXPECT(ret == EINVAL, "attach of an RC QP: %d, want EINVAL", ret);
	ret = ibv_attach_mcast(a1.qp, &ucast, 0);
	EXPECT(ret == EINVAL, "attach to a unicast GID: %d, want EINVAL", ret);
	ret = ibv_detach_mcast(a1.qp, &group, 0);
	EXPECT(ret == EINVAL, "detach before attach: %d, want EINVAL", ret);
	ibv_destroy_qp(rc_ep.qp);

	EXPECT(!ibv_attach_mcast(a1.qp, &group, 0), "attach A1");
	EXPECT(!ibv_attach_mcast(a1.qp, &group, 0), "attach A1 again");
	EXPECT(!ibv_attach_mcast(a2.qp, &group, 0), "attach A2");
	EXPECT(!ibv_attach_mcast(aq.qp, &group, 0), "attach Aq");
	EXPECT(!ibv_attach_mcast(b1.qp, &group, 0), "attach B1");
	ret = ibv_destroy_qp(a2.qp);
	EXPECT(ret == EBUSY, "destroy of an attached QP: %d, want EBUSY", ret);
	post_recvs(&a1, MAX_MSGS * 2);
	post_recvs(&a2, MAX_MSGS * 2);
	post_recvs(&aq, MAX_MSGS * 2);
	post_recvs(&b1, MAX_MSGS * 2);

	memcpy(ah.grh.dgid.raw, group.raw, 16);
	ah.grh.sgid_index = group_v6 ? 0 : 1;
	ah.grh.hop_limit = HOP_LIMIT;
	s.ah = ibv_create_ah(s.ep.pd, &ah);
	if (!s.ah)
		die("create_ah to the group: %s", strerror(errno));

	/* Phase 1: every attached receiver with the right Q_Key. */
	{
		struct ep *all[] = { &a1, &a2, &aq, &b1 };

		send_msgs(&s, 0, msgs);
		collect(all, 4, msgs, s.ep.qp->qp_num);
		for (int i = 0; i < 4; i++) {
			unsigned int want = all[i] == &aq ? 0 : msgs;

			EXPECT(all[i]->got == want, "%s got %u of %u messages",
			       all[i]->name, all[i]->got, want);
			printf("phase 1: %s received %u of %u\n", all[i]->name,
			       all[i]->got, msgs);
			all[i]->got = 0;
		}
	}

	/* Phase 2: A2 detached gets nothing more. */
	EXPECT(!ibv_detach_mcast(a2.qp, &group, 0), "detach A2");
	ret = ibv_detach_mcast(a2.qp, &group, 0);
	EXPECT(ret == EINVAL, "second detach of A2: %d, want EINVAL", ret);
	{
		struct ep *all[] = { &a1, &a2, &b1 };

		a2.name = "-A2";
		send_msgs(&s, msgs, msgs);
		collect(all, 3, msgs, s.ep.qp->qp_num);
		for (int i = 0; i < 3; i++) {
			unsigned int want = all[i] == &a2 ? 0 : msgs;

			EXPECT(all[i]->got == want, "%s got %u of %u messages",
			       all[i]->name, all[i]->got, want);
			printf("phase 2: %s received %u of %u\n", all[i]->name,
			       all[i]->got, msgs);
		}
	}

	EXPECT(!ibv_detach_mcast(a1.qp, &group, 0), "detach A1");
	EXPECT(!ibv_detach_mcast(aq.qp, &group, 0), "detach Aq");
	EXPECT(!ibv_detach_mcast(b1.qp, &group, 0), "detach B1");
	EXPECT(!ibv_destroy_qp(a2.qp), "destroy A2 after detach");
	a2.qp = NULL;
	ibv_destroy_ah(s.ah);
	ep_fini(&s.ep);
	ep_fini(&a1);
	ep_fini(&a2);
	ep_fini(&aq);
	ep_fini(&b1);
	ibv_close_device(ca);
	ibv_close_device(cb);
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
