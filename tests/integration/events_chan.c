// SPDX-License-Identifier: MIT
/*
 * Completion channels through the unmodified libibverbs API (issue #6):
 * two channels on one context, events on the right channel with the right
 * CQ, poll() and epoll wake-ups, solicited-only arming, ack counts,
 * destroy and re-create, srxed's fd count back to where it was, and clean
 * errors for bad command-file writes.
 *
 * usage: events_chan DEV SRXED_PID CMDFILE      run every check
 *        events_chan DEV hold                   make channels + CQs, print
 *                                               READY, wait to be killed
 *        events_chan DEV churn                  print READY, create and
 *                                               destroy channels until
 *                                               killed
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <poll.h>
#include <rdma/ib_user_verbs.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static const char *who = "events_chan";
static int failures;
#include "itest.h"

#define PORT	  1
#define GID_INDEX 1
#define BUF	  4096
#define WAIT_MS	  5000

struct side {
	struct ibv_qp *qp;
	struct ibv_cq *rcq; /* on a channel */
	int tag;	    /* cq_context */
};

struct fix {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	char *buf;
	union ibv_gid gid;
	struct ibv_cq *scq; /* send CQ of both QPs, no channel */
	struct side a, b;
};

static struct ibv_context *open_dev(const char *name)
{
	struct ibv_device **l = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	for (int i = 0; l && l[i]; i++)
		if (!strcmp(ibv_get_device_name(l[i]), name))
			ctx = ibv_open_device(l[i]);
	if (l)
		ibv_free_device_list(l);
	if (!ctx)
		die("cannot open %s: %s", name, strerror(errno));
	return ctx;
}

static void modify(struct ibv_qp *qp, struct ibv_qp_attr *a, int mask)
{
	int ret = ibv_modify_qp(qp, a, mask);

	if (ret)
		die("modify_qp to %d: %s", a->qp_state, strerror(ret));
}

static void connect_qp(struct fix *f, struct ibv_qp *qp, uint32_t dest)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT,
				 .port_num = PORT,
				 .qp_access_flags = IBV_ACCESS_REMOTE_WRITE };

	modify(qp, &a,
	       IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
		       IBV_QP_ACCESS_FLAGS);
	a = (struct ibv_qp_attr){
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_1024,
		.dest_qp_num = dest,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 12,
		.ah_attr = { .is_global = 1,
			     .grh = { .dgid = f->gid,
				      .sgid_index = GID_INDEX,
				      .hop_limit = 1 },
			     .port_num = PORT },
	};
	modify(qp, &a,
	       IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
		       IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
		       IBV_QP_MIN_RNR_TIMER);
	a = (struct ibv_qp_attr){ .qp_state = IBV_QPS_RTS,
				  .timeout = 14,
				  .retry_cnt = 7,
				  .rnr_retry = 7,
				  .max_rd_atomic = 1 };
	modify(qp, &a,
	       IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
		       IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		       IBV_QP_MAX_QP_RD_ATOMIC);
}

static struct ibv_qp *make_qp(struct fix *f, struct ibv_cq *rcq)
{
	struct ibv_qp_init_attr init = {
		.send_cq = f->scq,
		.recv_cq = rcq,
		.cap = { .max_send_wr = 8,
			 .max_recv_wr = 8,
			 .max_send_sge = 1,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};
	struct ibv_qp *qp = ibv_create_qp(f->pd, &init);

	if (!qp)
		die("create_qp: %s", strerror(errno));
	return qp;
}

static void setup(struct fix *f, const char *dev)
{
	f->ctx = open_dev(dev);
	f->pd = ibv_alloc_pd(f->ctx);
	f->buf = aligned_alloc(4096, BUF);
	if (!f->pd || !f->buf)
		die("pd/buffer: %s", strerror(errno));
	f->mr = ibv_reg_mr(f->pd, f->buf, BUF, IBV_ACCESS_LOCAL_WRITE);
	if (!f->mr || ibv_query_gid(f->ctx, PORT, GID_INDEX, &f->gid))
		die("reg_mr/query_gid: %s", strerror(errno));
	f->scq = ibv_create_cq(f->ctx, 16, NULL, NULL, 0);
	if (!f->scq)
		die("send CQ: %s", strerror(errno));
}

static struct ibv_cq *channel_cq(struct fix *f, struct ibv_comp_channel *ch,
				 int *tag)
{
	struct ibv_cq *cq = ibv_create_cq(f->ctx, 16, tag, ch, 0);

	if (!cq)
		die("create_cq on a channel: %s", strerror(errno));
	return cq;
}

static void post_recv(struct fix *f, struct ibv_qp *qp)
{
	struct ibv_sge s = { (uintptr_t)f->buf, 64, f->mr->lkey };
	struct ibv_recv_wr wr = { .sg_list = &s, .num_sge = 1 }, *bad;

	if (ibv_post_recv(qp, &wr, &bad))
		die("post_recv: %s", strerror(errno));
}

/* A SEND from qp; waits for its send completion (no channel there). */
static void send_one(struct fix *f, struct ibv_qp *qp, bool solicited)
{
	struct ibv_sge s = { (uintptr_t)f->buf + 1024, 16, f->mr->lkey };
	struct ibv_send_wr wr = { .sg_list = &s,
				  .num_sge = 1,
				  .opcode = IBV_WR_SEND,
				  .send_flags = IBV_SEND_SIGNALED |
						(solicited ? IBV_SEND_SOLICITED
							   : 0) },
			   *bad;
	struct ibv_wc wc;
	uint64_t t0 = now_ms();
	int n;

	if (ibv_post_send(qp, &wr, &bad))
		die("post_send: %s", strerror(errno));
	while ((n = ibv_poll_cq(f->scq, 1, &wc)) == 0 &&
	       now_ms() - t0 < WAIT_MS)
		;
	if (n != 1 || wc.status != IBV_WC_SUCCESS)
		die("send completion: n=%d status %s", n,
		    n == 1 ? ibv_wc_status_str(wc.status) : "-");
}

/* Takes the receive completion out of cq (it arrived before the event). */
static void reap_recv(struct ibv_cq *cq)
{
	struct ibv_wc wc;
	uint64_t t0 = now_ms();
	int n;

	while ((n = ibv_poll_cq(cq, 1, &wc)) == 0 && now_ms() - t0 < WAIT_MS)
		;
	EXPECT(n == 1 && wc.status == IBV_WC_SUCCESS,
	       "receive completion: n=%d", n);
}

static bool readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

static void expect_event(struct ibv_comp_channel *ch, struct ibv_cq *want,
			 void *want_ctx, const char *what)
{
	struct ibv_cq *cq = NULL;
	void *cq_ctx = NULL;

	if (!EXPECT(ibv_get_cq_event(ch, &cq, &cq_ctx) == 0,
		    "%s: get_cq_event: %s", what, strerror(errno)))
		return;
	EXPECT(cq == want, "%s: event for CQ %p, expected %p", what, (void *)cq,
	       (void *)want);
	EXPECT(cq_ctx == want_ctx, "%s: cq_context %p, expected %p", what,
	       cq_ctx, want_ctx);
}

static void check_channel_fd(struct ibv_comp_channel *ch)
{
	int fdfl = fcntl(ch->fd, F_GETFD), fl = fcntl(ch->fd, F_GETFL);

	EXPECT(fdfl >= 0 && (fdfl & FD_CLOEXEC), "channel fd is not CLOEXEC");
	EXPECT(fl >= 0 && (fl & O_ACCMODE) == O_RDONLY && !(fl & O_NONBLOCK),
	       "channel fd flags 0x%x (want a blocking read end)", fl);
}

/* Events land on the channel of the CQ that completed, nowhere else. */
static void check_two_channels(struct fix *f, struct ibv_comp_channel *c1,
			       struct ibv_comp_channel *c2)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ibv_req_notify_cq(f->a.rcq, 0);
	ibv_req_notify_cq(f->b.rcq, 0);
	post_recv(f, f->b.qp);
	send_one(f, f->a.qp, false);
	EXPECT(readable(c2->fd, WAIT_MS), "poll: channel 2 did not wake");
	EXPECT(!readable(c1->fd, 0), "channel 1 woke for channel 2's CQ");
	expect_event(c2, f->b.rcq, &f->b.tag, "channel 2");
	reap_recv(f->b.rcq);
	ibv_ack_cq_events(f->b.rcq, 1);

	ev.data.fd = c1->fd;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, c1->fd, &ev))
		die("epoll: %s", strerror(errno));
	post_recv(f, f->a.qp);
	send_one(f, f->b.qp, false);
	EXPECT(epoll_wait(ep, &out, 1, WAIT_MS) == 1 && out.data.fd == c1->fd,
	       "epoll: channel 1 did not wake");
	EXPECT(!readable(c2->fd, 0), "channel 2 woke for channel 1's CQ");
	expect_event(c1, f->a.rcq, &f->a.tag, "channel 1");
	reap_recv(f->a.rcq);
	ibv_ack_cq_events(f->a.rcq, 1);
	close(ep);

	/* Not armed: a completion raises no event. */
	post_recv(f, f->b.qp);
	send_one(f, f->a.qp, false);
	reap_recv(f->b.rcq);
	EXPECT(!readable(c2->fd, 300), "an unarmed CQ raised an event");
}

/* Next-solicited: a plain SEND does not wake, a solicited one does. */
static void check_solicited(struct fix *f, struct ibv_comp_channel *c2)
{
	ibv_req_notify_cq(f->b.rcq, 1);
	post_recv(f, f->b.qp);
	post_recv(f, f->b.qp);
	send_one(f, f->a.qp, false);
	reap_recv(f->b.rcq);
	EXPECT(!readable(c2->fd, 300),
	       "solicited-only CQ woke for an unsolicited SEND");
	send_one(f, f->a.qp, true);
	EXPECT(readable(c2->fd, WAIT_MS),
	       "solicited-only CQ did not wake for a solicited SEND");
	expect_event(c2, f->b.rcq, &f->b.tag, "solicited");
	reap_recv(f->b.rcq);
	ibv_ack_cq_events(f->b.rcq, 1);
	EXPECT(f->b.rcq->comp_events_completed == 2,
	       "channel 2's CQ acked %u events, expected 2",
	       f->b.rcq->comp_events_completed);
	EXPECT(f->a.rcq->comp_events_completed == 1,
	       "channel 1's CQ acked %u events, expected 1",
	       f->a.rcq->comp_events_completed);
}

static int count_fds(int pid)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		die("%s: %s", path, strerror(errno));
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* srxed releases a channel when it sees the reader go: allow it a moment. */
static void expect_fds(int pid, int want, const char *what)
{
	uint64_t t0 = now_ms();
	int n;

	while ((n = count_fds(pid)) != want && now_ms() - t0 < WAIT_MS)
		usleep(10000);
	EXPECT(n == want, "%s: srxed has %d fds, expected %d", what, n, want);
}

/*
 * srxed's fd count once it stops moving: a channel destroyed just before
 * (by the previous check) is released when srxed notices, a moment later;
 * a baseline taken before that would count it.
 */
static int settled_fds(int pid)
{
	uint64_t t0 = now_ms();
	int n = count_fds(pid), prev = -1;

	while (n != prev && now_ms() - t0 < WAIT_MS) {
		usleep(100 * 1000);
		prev = n;
		n = count_fds(pid);
	}
	return n;
}

/* Destroy while in use is EBUSY; destroy, re-create, deliver again. */
static void check_recreate(struct fix *f, struct ibv_comp_channel *c1,
			   int srxed_pid)
{
	int base;

	EXPECT(ibv_destroy_comp_channel(c1) == EBUSY,
	       "destroying a channel a CQ uses did not say EBUSY");
	base = settled_fds(srxed_pid);
	/* Fresh pipe, maybe the same fd number: events follow the inode. */
	for (int round = 0; round < 3; round++) {
		struct ibv_comp_channel *c = ibv_create_comp_channel(f->ctx);
		struct ibv_qp *x, *y;
		struct ibv_cq *cq;
		int tag, ret;

		if (!EXPECT(c, "re-create channel: %s", strerror(errno)))
			return;
		cq = channel_cq(f, c, &tag);
		x = make_qp(f, cq);
		y = make_qp(f, f->scq);
		connect_qp(f, x, y->qp_num);
		connect_qp(f, y, x->qp_num);
		ibv_req_notify_cq(cq, 0);
		post_recv(f, x);
		send_one(f, y, false);
		EXPECT(readable(c->fd, WAIT_MS), "round %d: no event", round);
		expect_event(c, cq, &tag, "re-created channel");
		reap_recv(cq);
		ibv_ack_cq_events(cq, 1);
		ibv_destroy_qp(x);
		ibv_destroy_qp(y);
		ret = ibv_destroy_cq(cq);
		EXPECT(ret == 0, "destroy_cq: %s", strerror(ret));
		EXPECT(ibv_destroy_comp_channel(c) == 0, "destroy channel");
		expect_fds(srxed_pid, base, "after destroy");
	}
}

/* Two channels live, then one destroyed; the fd count follows. */
static void check_release(struct fix *f, int srxed_pid)
{
	int base = settled_fds(srxed_pid);
	struct ibv_comp_channel *c = ibv_create_comp_channel(f->ctx);

	if (!EXPECT(c, "create channel: %s", strerror(errno)))
		return;
	EXPECT(count_fds(srxed_pid) == base + 1,
	       "srxed holds %d fds for one new channel, expected %d",
	       count_fds(srxed_pid), base + 1);
	EXPECT(ibv_destroy_comp_channel(c) == 0, "destroy channel");
	expect_fds(srxed_pid, base, "after ibv_destroy_comp_channel");
}

/*
 * Issue #10: a CQ made by ibv_create_cq_ex() holds its channel once, so
 * the channel is busy while the CQ lives and free after (UCX creates its
 * CQs this way and warned "ibv_destroy_comp_channel() returned 16").
 */
static void check_cq_ex_channel(struct fix *f)
{
	struct ibv_comp_channel *c = ibv_create_comp_channel(f->ctx);
	struct ibv_cq_init_attr_ex attr = { .cqe = 16, .comp_vector = 0 };
	struct ibv_cq_ex *cq;
	int ret;

	if (!EXPECT(c, "create channel: %s", strerror(errno)))
		return;
	attr.channel = c;
	attr.wc_flags = IBV_WC_STANDARD_FLAGS;
	cq = ibv_create_cq_ex(f->ctx, &attr);
	if (!EXPECT(cq, "ibv_create_cq_ex with a channel: %s", strerror(errno)))
		return;
	EXPECT(c->refcnt == 1, "channel refcnt %d with one cq_ex, expected 1",
	       c->refcnt);
	EXPECT(ibv_destroy_comp_channel(c) == EBUSY,
	       "destroying a channel a cq_ex uses did not say EBUSY");
	ret = ibv_destroy_cq(ibv_cq_ex_to_cq(cq));
	EXPECT(ret == 0, "destroy cq_ex: %s", strerror(ret));
	ret = ibv_destroy_comp_channel(c);
	EXPECT(ret == 0, "destroy channel after its cq_ex: %s", strerror(ret));
}

static void write_expect(int fd, const void *buf, size_t len, int want_err,
			 const char *what)
{
	ssize_t n = write(fd, buf, len);

	EXPECT(n < 0 && errno == want_err, "%s: write gave %zd (%s), want %s",
	       what, n, n < 0 ? strerror(errno) : "ok", strerror(want_err));
}

/* Bad command-file writes get errors, never a crash or a hang. */
static void check_bad_writes(struct fix *f, const char *cmdfile)
{
	struct {
		struct ib_uverbs_cmd_hdr hdr;
		struct ib_uverbs_create_comp_channel cmd;
	} req = { { IB_USER_VERBS_CMD_CREATE_COMP_CHANNEL, 4, 1 }, { 8 } };
	struct {
		struct ib_uverbs_cmd_hdr hdr;
		uint8_t token[16];
	} bind = { { 0x53580100u, 6, 0 }, { 0 } };
	int fd;

	write_expect(f->ctx->cmd_fd, &req, sizeof(req), EFAULT,
		     "response pointer 8");
	req.hdr.command = IB_USER_VERBS_CMD_CREATE_CQ;
	write_expect(f->ctx->cmd_fd, &req, sizeof(req), EOPNOTSUPP,
		     "a kernel command srxe does not serve");
	write_expect(f->ctx->cmd_fd, &req, 3, EINVAL, "3 bytes");
	fd = open(cmdfile, O_RDWR | O_CLOEXEC);
	if (!EXPECT(fd >= 0, "open %s: %s", cmdfile, strerror(errno)))
		return;
	req.hdr.command = IB_USER_VERBS_CMD_CREATE_COMP_CHANNEL;
	write_expect(fd, &req, sizeof(req), EPERM, "unbound command file");
	write_expect(fd, &bind, sizeof(bind), EPERM, "wrong bind token");
	close(fd);
}

static void hold(const char *dev)
{
	struct fix f = { 0 };
	struct ibv_comp_channel *c1, *c2;

	alarm(60); /* the test kills us long before */
	setup(&f, dev);
	c1 = ibv_create_comp_channel(f.ctx);
	c2 = ibv_create_comp_channel(f.ctx);
	if (!c1 || !c2)
		die("create_comp_channel: %s", strerror(errno));
	f.a.rcq = channel_cq(&f, c1, &f.a.tag);
	f.b.rcq = channel_cq(&f, c2, &f.b.tag);
	ibv_req_notify_cq(f.a.rcq, 0);
	printf("READY\n");
	fflush(stdout);
	pause();
}

/* Creates and destroys channels until killed (the kill lands mid-write). */
static void churn(const char *dev)
{
	struct ibv_context *ctx = open_dev(dev);
	struct ibv_comp_channel *c;

	alarm(60); /* the test kills us long before */
	printf("READY\n");
	fflush(stdout);
	for (;;) {
		c = ibv_create_comp_channel(ctx);
		if (!c)
			die("create_comp_channel: %s", strerror(errno));
		ibv_destroy_comp_channel(c);
	}
}

int main(int argc, char **argv)
{
	struct ibv_comp_channel *c1, *c2;
	struct fix f = { 0 };
	int srxed_pid;

	if (argc == 3 && !strcmp(argv[2], "hold"))
		hold(argv[1]);
	if (argc == 3 && !strcmp(argv[2], "churn"))
		churn(argv[1]);
	if (argc != 4)
		die("usage: events_chan DEV SRXED_PID CMDFILE | DEV "
		    "hold|churn");
	srxed_pid = atoi(argv[2]);
	setup(&f, argv[1]);
	c1 = ibv_create_comp_channel(f.ctx);
	c2 = ibv_create_comp_channel(f.ctx);
	if (!c1 || !c2)
		die("create_comp_channel: %s", strerror(errno));
	EXPECT(c1->fd != c2->fd, "two channels share fd %d", c1->fd);
	check_channel_fd(c1);
	f.a.rcq = channel_cq(&f, c1, &f.a.tag);
	f.b.rcq = channel_cq(&f, c2, &f.b.tag);
	f.a.qp = make_qp(&f, f.a.rcq);
	f.b.qp = make_qp(&f, f.b.rcq);
	connect_qp(&f, f.a.qp, f.b.qp->qp_num);
	connect_qp(&f, f.b.qp, f.a.qp->qp_num);

	check_two_channels(&f, c1, c2);
	check_solicited(&f, c2);
	check_bad_writes(&f, argv[3]);
	check_release(&f, srxed_pid);
	check_cq_ex_channel(&f);
	check_recreate(&f, c1, srxed_pid);

	ibv_destroy_qp(f.a.qp);
	ibv_destroy_qp(f.b.qp);
	EXPECT(ibv_destroy_cq(f.a.rcq) == 0, "destroy CQ a");
	EXPECT(ibv_destroy_cq(f.b.rcq) == 0, "destroy CQ b");
	EXPECT(ibv_destroy_comp_channel(c1) == 0, "destroy channel 1");
	EXPECT(ibv_destroy_comp_channel(c2) == 0, "destroy channel 2");
	ibv_destroy_cq(f.scq);
	ibv_dereg_mr(f.mr);
	ibv_dealloc_pd(f.pd);
	ibv_close_device(f.ctx);
	free(f.buf);
	if (failures)
		die("%d check(s) failed", failures);
	printf("events_chan: all checks passed\n");
	return 0;
}
