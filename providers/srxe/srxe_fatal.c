// SPDX-License-Identifier: MIT
/*
 * srxed gone: device-fatal state of a context (contract: srxe_fatal.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <rdma/ib_user_verbs.h>

#include "srxe/wc_opcode.h"
#include "srxe_fatal.h"
#include "srxe_threads.h"
#include "srxe_verbs.h"

/* Flush cursor of one QP: the next SQ / RQ index to report. */
struct srxe_fatal_qp {
	struct srxe_qp *qp;
	uint32_t sq_next, rq_next;
	bool started;
};

struct srxe_fatal {
	pthread_mutex_t lock; /* qps and their cursors */
	struct srxe_fatal_qp *qps;
	size_t nqps, cap;
	pthread_t thread;
	int stop_fd; /* eventfd that ends the watcher */
	bool watching;
};

bool srxe_ctx_dead(const struct srxe_context *ctx)
{
	return __atomic_load_n(&ctx->dead, __ATOMIC_ACQUIRE);
}

void srxe_ctx_daemon_gone(struct srxe_context *ctx)
{
	struct ib_uverbs_async_event_desc ev = {
		.element = 0,
		.event_type = IBV_EVENT_DEVICE_FATAL,
	};
	int fd;

	if (__atomic_exchange_n(&ctx->dead, 1, __ATOMIC_ACQ_REL))
		return;
	fprintf(stderr,
		"%s: srxed is gone; the device is dead "
		"(IBV_EVENT_DEVICE_FATAL), open it again after `srxe up`\n",
		srxe_devname(ctx));
	fd = __atomic_exchange_n(&ctx->async_wfd, -1, __ATOMIC_ACQ_REL);
	if (fd < 0)
		return;
	/* 16 bytes into a pipe are atomic; a full pipe drops the record */
	if (write(fd, &ev, sizeof(ev)) != (ssize_t)sizeof(ev))
		fprintf(stderr, "%s: cannot queue IBV_EVENT_DEVICE_FATAL\n",
			srxe_devname(ctx));
	/* srxed's copy died with it: readers see EOF after the event */
	close(fd);
}

void srxe_fatal_inherited(struct srxe_context *ctx)
{
	struct srxe_fatal *f = ctx->fatal;

	ctx->inherited = true;
	__atomic_store_n(&ctx->dead, 1, __ATOMIC_RELEASE);
	if (ctx->async_wfd >= 0)
		close(ctx->async_wfd);
	ctx->async_wfd = -1;
	if (!f)
		return;
	/* threads do not survive fork: nothing to join in free_context */
	f->watching = false;
	pthread_mutex_init(&f->lock, NULL);
	for (size_t i = 0; i < f->nqps; i++) {
		pthread_spin_init(&f->qps[i].qp->sq.lock,
				  PTHREAD_PROCESS_PRIVATE);
		pthread_spin_init(&f->qps[i].qp->rq.lock,
				  PTHREAD_PROCESS_PRIVATE);
	}
}

bool srxe_fatal_conn_lost(int err)
{
	return err == EPIPE || err == ECONNRESET || err == ENOTCONN ||
	       err == ECONNREFUSED || err == ECONNABORTED;
}

static bool op_destroys(uint16_t op)
{
	switch (op) {
	case SRXE_OP_CLOSE_CTX:
	case SRXE_OP_DEALLOC_PD:
	case SRXE_OP_DEREG_MR:
	case SRXE_OP_DEREG_DONE:
	case SRXE_OP_DEREG_RUNS:
	case SRXE_OP_DESTROY_CQ:
	case SRXE_OP_DESTROY_QP:
	case SRXE_OP_DESTROY_SRQ:
	case SRXE_OP_DESTROY_AH:
		return true;
	default:
		return false;
	}
}

int srxe_fatal_answer(uint16_t op, void *reply, size_t reply_len)
{
	if (!op_destroys(op)) {
		errno = EIO;
		return EIO;
	}
	/* srxed freed the object when the connection ended */
	if (reply_len)
		memset(reply, 0, reply_len);
	errno = 0;
	return 0;
}

/* ---- detection ---- */

static void *watch(void *arg)
{
	struct srxe_context *ctx = arg;
	struct srxe_fatal *f = ctx->fatal;

	for (;;) {
		struct pollfd p[2] = {
			/* no POLLIN: callers own the replies */
			{ .fd = ctx->conn.fd, .events = POLLRDHUP },
			{ .fd = f->stop_fd, .events = POLLIN },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if (p[0].revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) {
			srxe_ctx_daemon_gone(ctx);
			break;
		}
	}
	return NULL;
}

static int start_watcher(struct srxe_fatal *f, struct srxe_context *ctx)
{
	return srxe_thread_create(&f->thread, NULL, watch, ctx);
}

int srxe_fatal_start(struct srxe_context *ctx)
{
	struct srxe_fatal *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	f->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (f->stop_fd < 0) {
		ret = errno;
		goto fail;
	}
	ctx->fatal = f;
	ret = start_watcher(f, ctx);
	if (ret)
		goto fail;
	f->watching = true;
	return 0;
fail:
	if (f->stop_fd >= 0)
		close(f->stop_fd);
	pthread_mutex_destroy(&f->lock);
	free(f);
	ctx->fatal = NULL;
	return ret;
}

void srxe_fatal_stop(struct srxe_context *ctx)
{
	struct srxe_fatal *f = ctx->fatal;
	uint64_t one = 1;

	if (!f)
		return;
	if (f->watching) {
		/* an eventfd write of 8 bytes cannot fail short of EBADF */
		if (write(f->stop_fd, &one, sizeof(one)) != sizeof(one))
			pthread_cancel(f->thread);
		pthread_join(f->thread, NULL);
	}
	close(f->stop_fd);
	pthread_mutex_destroy(&f->lock);
	free(f->qps);
	free(f);
	ctx->fatal = NULL;
}

/* ---- the QP table ---- */

int srxe_fatal_qp_add(struct srxe_context *ctx, struct srxe_qp *qp)
{
	struct srxe_fatal *f = ctx->fatal;
	int ret = 0;

	if (!f)
		return 0;
	pthread_mutex_lock(&f->lock);
	if (f->nqps == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		void *p = realloc(f->qps, cap * sizeof(*f->qps));

		if (!p) {
			ret = ENOMEM;
			goto out;
		}
		f->qps = p;
		f->cap = cap;
	}
	f->qps[f->nqps++] = (struct srxe_fatal_qp){ .qp = qp };
out:
	pthread_mutex_unlock(&f->lock);
	return ret;
}

void srxe_fatal_qp_del(struct srxe_context *ctx, struct srxe_qp *qp)
{
	struct srxe_fatal *f = ctx->fatal;

	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nqps; i++) {
		if (f->qps[i].qp == qp) {
			f->qps[i] = f->qps[--f->nqps];
			break;
		}
	}
	pthread_mutex_unlock(&f->lock);
}

/* ---- flushing ---- */

static void flush_wc(struct ibv_wc *wc, uint64_t wr_id,
		     enum ibv_wc_opcode opcode, uint32_t qp_num)
{
	memset(wc, 0, sizeof(*wc));
	wc->wr_id = wr_id;
	wc->status = IBV_WC_WR_FLUSH_ERR;
	wc->opcode = opcode;
	wc->qp_num = qp_num;
}

/* WQEs srxed had not completed: [cons, head) of each ring. */
static void start_cursor(struct srxe_fatal_qp *e)
{
	struct srxe_qp *qp = e->qp;

	e->sq_next =
		__atomic_load_n(&qp->sq.ring.hdr->cons.val, __ATOMIC_ACQUIRE);
	if (qp->rq.ring.hdr)
		e->rq_next = __atomic_load_n(&qp->rq.ring.hdr->cons.val,
					     __ATOMIC_ACQUIRE);
	e->started = true;
}

static int flush_sq(struct srxe_fatal_qp *e, int n, struct ibv_wc *wc)
{
	struct srxe_qp *qp = e->qp;
	int out = 0;

	pthread_spin_lock(&qp->sq.lock);
	for (; out < n && e->sq_next != qp->sq.ring.head; e->sq_next++) {
		const struct srxe_send_wqe *w =
			srxe_ring_at(&qp->sq.ring, e->sq_next);

		flush_wc(&wc[out++], w->wr_id, srxe_wc_opcode(w->opcode),
			 qp->vqp.qp.qp_num);
	}
	pthread_spin_unlock(&qp->sq.lock);
	return out;
}

static int flush_rq(struct srxe_fatal_qp *e, int n, struct ibv_wc *wc)
{
	struct srxe_qp *qp = e->qp;
	int out = 0;

	if (!qp->rq.ring.hdr)
		return 0;
	pthread_spin_lock(&qp->rq.lock);
	for (; out < n && e->rq_next != qp->rq.ring.head; e->rq_next++) {
		const struct srxe_recv_wqe *w =
			srxe_ring_at(&qp->rq.ring, e->rq_next);

		flush_wc(&wc[out++], w->wr_id, IBV_WC_RECV, qp->vqp.qp.qp_num);
	}
	pthread_spin_unlock(&qp->rq.lock);
	return out;
}

int srxe_fatal_flush(struct srxe_context *ctx, struct srxe_cq *cq, int n,
		     struct ibv_wc *wc)
{
	struct srxe_fatal *f = ctx->fatal;
	struct ibv_cq *ibcq = &cq->vcq.cq;
	int out = 0;

	if (!f || n <= 0)
		return 0;
	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nqps && out < n; i++) {
		struct srxe_fatal_qp *e = &f->qps[i];

		if (!e->started)
			start_cursor(e);
		if (e->qp->vqp.qp.send_cq == ibcq)
			out += flush_sq(e, n - out, wc + out);
		if (e->qp->vqp.qp.recv_cq == ibcq)
			out += flush_rq(e, n - out, wc + out);
	}
	pthread_mutex_unlock(&f->lock);
	return out;
}
