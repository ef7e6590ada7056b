// SPDX-License-Identifier: MIT
/*
 * Completion timestamps (IBV_WC_EX_WITH_COMPLETION_TIMESTAMP and
 * _WALLCLOCK; kernel rxe has neither) on one device: an RC QP sends to
 * another, both on one extended CQ.
 *
 * usage: cq_timestamps DEVICE
 *
 *  - ibv_query_device_ex: completion_timestamp_mask and hca_core_clock
 *    (kHz) are set; ibv_query_rt_values_ex gives the raw clock.
 *  - Each completion's raw timestamp lies between the raw clock read
 *    before the post and the one read after the poll, its wallclock
 *    between CLOCK_REALTIME read then (1 ms of slack: the two clocks are
 *    read a moment apart), and they never go backwards over 200
 *    completions, also across an ibv_resize_cq.
 *  - A CQ without the flags has no timestamp getters.
 * Prints "PASS" and exits 0, or names every failed check and exits 1.
 */
static const char *who = "cq_timestamps";
static int failures;
#include "itest.h"

#define ROUNDS	   200
#define SLACK_NS   1000000ull
#define CYCLES_KHZ 1000000ull /* srxe's device clock: 1 GHz */

struct rig {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq_ex *cq;
	struct ibv_qp *tx, *rx;
	struct ibv_mr *mr;
	char buf[2][64];
};

static uint64_t raw_clock(struct ibv_context *ctx)
{
	struct ibv_values_ex v = { .comp_mask = IBV_VALUES_MASK_RAW_CLOCK };

	if (ibv_query_rt_values_ex(ctx, &v) ||
	    !(v.comp_mask & IBV_VALUES_MASK_RAW_CLOCK))
		die("ibv_query_rt_values_ex: %s", strerror(errno));
	return (uint64_t)v.raw_clock.tv_sec * 1000000000ull +
	       (uint64_t)v.raw_clock.tv_nsec;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void check_device(struct ibv_context *ctx)
{
	struct ibv_device_attr_ex a;

	if (ibv_query_device_ex(ctx, NULL, &a))
		die("ibv_query_device_ex: %s", strerror(errno));
	EXPECT(a.completion_timestamp_mask == UINT64_MAX,
	       "completion_timestamp_mask 0x%llx",
	       (unsigned long long)a.completion_timestamp_mask);
	EXPECT(a.hca_core_clock == CYCLES_KHZ, "hca_core_clock %llu kHz",
	       (unsigned long long)a.hca_core_clock);
}

static void setup(struct rig *r, const char *dev)
{
	struct ibv_cq_init_attr_ex ca = {
		.cqe = 16,
		.wc_flags = IBV_WC_EX_WITH_BYTE_LEN |
			    IBV_WC_EX_WITH_COMPLETION_TIMESTAMP |
			    IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK,
	};
	struct ibv_qp_init_attr qa = {
		.cap = { .max_send_wr = 4,
			 .max_recv_wr = 4,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};
	union ibv_gid gid;

	r->ctx = itest_open_device(dev);
	r->pd = ibv_alloc_pd(r->ctx);
	r->cq = r->pd ? ibv_create_cq_ex(r->ctx, &ca) : NULL;
	r->mr = r->cq ? ibv_reg_mr(r->pd, r->buf, sizeof(r->buf),
				   IBV_ACCESS_LOCAL_WRITE)
		      : NULL;
	if (!r->mr)
		die("setup: %s", strerror(errno));
	if (!r->cq->read_completion_ts || !r->cq->read_completion_wallclock_ns)
		die("timestamp getters missing");
	qa.send_cq = qa.recv_cq = ibv_cq_ex_to_cq(r->cq);
	r->tx = ibv_create_qp(r->pd, &qa);
	r->rx = r->tx ? ibv_create_qp(r->pd, &qa) : NULL;
	if (!r->rx || ibv_query_gid(r->ctx, 1, 1, &gid))
		die("QPs: %s", strerror(errno));
	itest_rc_connect_pair(r->tx, r->rx, &gid);
}

static void post_pair(struct rig *r, uint64_t id)
{
	struct ibv_sge rs = { (uintptr_t)r->buf[1], 64, r->mr->lkey };
	struct ibv_sge ss = { (uintptr_t)r->buf[0], 64, r->mr->lkey };
	struct ibv_recv_wr rw = { .wr_id = id, .sg_list = &rs, .num_sge = 1 },
			   *rbad;
	struct ibv_send_wr sw = { .wr_id = id,
				  .sg_list = &ss,
				  .num_sge = 1,
				  .opcode = IBV_WR_SEND,
				  .send_flags = IBV_SEND_SIGNALED },
			   *sbad;

	if (ibv_post_recv(r->rx, &rw, &rbad) ||
	    ibv_post_send(r->tx, &sw, &sbad))
		die("post: %s", strerror(errno));
}

/* Reaps @want completions; checks each timestamp against the window. */
static void reap(struct rig *r, int want, uint64_t raw0, uint64_t wall0,
		 uint64_t *last)
{
	struct ibv_poll_cq_attr pa = { 0 };
	uint64_t ts[2], wall[2], raw1, wall1, end = now_ms() + 10000;
	int got = 0, ret;

	while (got < want) {
		ret = ibv_start_poll(r->cq, &pa);
		if (ret == ENOENT) {
			if (now_ms() > end)
				die("%d of %d completions", got, want);
			continue;
		}
		do {
			if (ret)
				die("poll: %d", ret);
			if (r->cq->status != IBV_WC_SUCCESS)
				die("completion: %s",
				    ibv_wc_status_str(r->cq->status));
			ts[got] = ibv_wc_read_completion_ts(r->cq);
			wall[got] = ibv_wc_read_completion_wallclock_ns(r->cq);
			got++;
		} while (got < want && !(ret = ibv_next_poll(r->cq)));
		ibv_end_poll(r->cq);
	}
	raw1 = raw_clock(r->ctx);
	wall1 = realtime_ns();
	for (int i = 0; i < want; i++) {
		EXPECT(ts[i] >= raw0 && ts[i] <= raw1,
		       "timestamp %llu outside [%llu, %llu]",
		       (unsigned long long)ts[i], (unsigned long long)raw0,
		       (unsigned long long)raw1);
		EXPECT(wall[i] + SLACK_NS >= wall0 &&
			       wall[i] <= wall1 + SLACK_NS,
		       "wallclock %llu outside [%llu, %llu]",
		       (unsigned long long)wall[i], (unsigned long long)wall0,
		       (unsigned long long)wall1);
		EXPECT(ts[i] >= *last, "timestamp went back: %llu after %llu",
		       (unsigned long long)ts[i], (unsigned long long)*last);
		*last = ts[i];
	}
}

static void traffic(struct rig *r)
{
	uint64_t last = 0;

	for (int i = 0; i < ROUNDS; i++) {
		uint64_t raw0 = raw_clock(r->ctx), wall0 = realtime_ns();

		post_pair(r, (uint64_t)i);
		/* while the pair may be in flight: CQEs written to the new
		 * ring before the provider sees it are timed too */
		if (i == ROUNDS / 2 &&
		    ibv_resize_cq(ibv_cq_ex_to_cq(r->cq), 64))
			die("ibv_resize_cq: %s", strerror(errno));
		reap(r, 2, raw0, wall0, &last);
	}
	printf("ok: %d SENDs, timestamps inside their windows, in order, "
	       "across a resize\n",
	       ROUNDS);
}

static void check_plain_cq(struct ibv_context *ctx)
{
	struct ibv_cq_init_attr_ex ca = { .cqe = 4,
					  .wc_flags = IBV_WC_EX_WITH_BYTE_LEN };
	struct ibv_cq_ex *cq = ibv_create_cq_ex(ctx, &ca);

	if (!cq)
		die("plain cq_ex: %s", strerror(errno));
	EXPECT(!cq->read_completion_ts && !cq->read_completion_wallclock_ns,
	       "a CQ without timestamps has timestamp getters");
	ibv_destroy_cq(ibv_cq_ex_to_cq(cq));
}

int main(int argc, char **argv)
{
	struct rig r = { 0 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2)
		die("usage: cq_timestamps DEVICE");
	setup(&r, argv[1]);
	check_device(r.ctx);
	check_plain_cq(r.ctx);
	traffic(&r);
	if (ibv_destroy_qp(r.rx) || ibv_destroy_qp(r.tx) ||
	    ibv_dereg_mr(r.mr) || ibv_destroy_cq(ibv_cq_ex_to_cq(r.cq)) ||
	    ibv_dealloc_pd(r.pd) || ibv_close_device(r.ctx))
		EXPECT(false, "teardown: %s", strerror(errno));
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}
