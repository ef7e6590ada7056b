// SPDX-License-Identifier: MIT
/*
 * One connected rsocket stream (rsocket_int.h, rsocket_wire.h): its QP,
 * CQ and three registered buffers, the credits and grants that pace the
 * peer, and the transfers themselves.
 *
 * Sending copies the application's bytes into the send ring (or inlines
 * them) and RDMA-writes them, with a DATA immediate, at the peer's current
 * grant; the grant, the send ring, the send queue and the peer's credits
 * must all have room.  Receiving takes DATA lengths off the receive
 * completions and copies from the receive buffer, which the peer fills in
 * order; each half the application has read is granted back to the peer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#include "rsocket_int.h"

#define RS_WR_RECV     (1ull << 63)
#define RS_GRANT_BYTES (sizeof(struct rsw_sge))

static int post_recv(struct rsock *rs)
{
	struct ibv_recv_wr wr = { .wr_id = RS_WR_RECV }, *bad;

	return ibv_post_recv(rs->id->qp, &wr, &bad);
}

static void *zalloc_pages(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len ? len : 1))
		return NULL;
	memset(p, 0, len);
	return p;
}

static int create_cq_qp(struct rsock *rs)
{
	struct ibv_qp_init_attr attr = {
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 1,
		.cap = { .max_send_wr = rs->opt.sq_size,
			 .max_recv_wr = rs->opt.rq_size,
			 .max_send_sge = 2,
			 .max_recv_sge = 1,
			 .max_inline_data = rs->opt.inline_size },
	};
	struct ibv_context *verbs = rs->id->verbs;

	rs->pd = ibv_alloc_pd(verbs);
	rs->cch = rs->pd ? ibv_create_comp_channel(verbs) : NULL;
	if (!rs->cch)
		return -1;
	fcntl(rs->cch->fd, F_SETFL, fcntl(rs->cch->fd, F_GETFL) | O_NONBLOCK);
	rs->cq = ibv_create_cq(verbs, rs->opt.sq_size + rs->opt.rq_size, rs,
			       rs->cch, 0);
	if (!rs->cq)
		return -1;
	attr.send_cq = attr.recv_cq = rs->cq;
	if (rdma_create_qp(rs->id, rs->pd, &attr))
		return -1;
	rs->opt.inline_size = (uint16_t)attr.cap.max_inline_data;
	return 0;
}

static int create_buffers(struct rsock *rs)
{
	int wr = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
	size_t slen = rs->opt.sbuf_size + RS_CTRL_SLOTS * RS_GRANT_BYTES;
	size_t tlen = RSW_SGL_SIZE * sizeof(struct rsw_sge) +
		      rs->opt.iomap_size * sizeof(struct rsw_iomap);

	rs->sbuf = zalloc_pages(slen);
	rs->tsgl = zalloc_pages(tlen);
	rs->rbuf = zalloc_pages(rs->opt.rbuf_size);
	rs->rmsg = calloc(rs->opt.rq_size + 1u, sizeof(*rs->rmsg));
	rs->iomap_seen = calloc(rs->opt.iomap_size + 1u, sizeof(bool));
	if (!rs->sbuf || !rs->tsgl || !rs->rbuf || !rs->rmsg ||
	    !rs->iomap_seen) {
		errno = ENOMEM;
		return -1;
	}
	rs->smr = ibv_reg_mr(rs->pd, rs->sbuf, slen, IBV_ACCESS_LOCAL_WRITE);
	rs->tmr = ibv_reg_mr(rs->pd, rs->tsgl, tlen, wr);
	rs->rmr = ibv_reg_mr(rs->pd, rs->rbuf, rs->opt.rbuf_size, wr);
	return rs->smr && rs->tmr && rs->rmr ? 0 : -1;
}

int rs_stream_setup(struct rsock *rs)
{
	unsigned int i;

	if (create_cq_qp(rs) || create_buffers(rs))
		return -1;
	rs->sbuf_avail = rs->opt.sbuf_size;
	/* The first half is the connection's grant, the second the first
	 * one to give back. */
	rs->rbuf_free = rs->opt.rbuf_size / 2;
	rs->rbuf_grant = rs->opt.rbuf_size / 2;
	rs->sqe_avail = rs->opt.sq_size - RS_CTRL_SLOTS;
	rs->ctrl_max = RS_CTRL_SLOTS;
	rs->rseq_comp = rs->opt.rq_size / 2;
	for (i = 0; i < rs->opt.rq_size; i++)
		if (post_recv(rs))
			return -1;
	return 0;
}

static void dereg(struct ibv_mr **mr)
{
	if (*mr)
		ibv_dereg_mr(*mr);
	*mr = NULL;
}

void rs_stream_teardown(struct rsock *rs)
{
	if (rs->id && rs->id->qp)
		rdma_destroy_qp(rs->id);
	dereg(&rs->smr);
	dereg(&rs->tmr);
	dereg(&rs->rmr);
	if (rs->cq)
		ibv_destroy_cq(rs->cq);
	if (rs->cch)
		ibv_destroy_comp_channel(rs->cch);
	if (rs->pd)
		ibv_dealloc_pd(rs->pd);
	free(rs->sbuf);
	free(rs->tsgl);
	free(rs->rbuf);
	free(rs->rmsg);
	free(rs->iomap_seen);
	rs->iomap_seen = NULL;
	rs->cq = NULL;
	rs->cch = NULL;
	rs->pd = NULL;
	rs->sbuf = rs->rbuf = NULL;
	rs->tsgl = NULL;
	rs->rmsg = NULL;
}

void rs_stream_conn(const struct rsock *rs, struct rsw_conn *out)
{
	memset(out, 0, sizeof(*out));
	out->version = RSW_VERSION;
	out->flags = RSW_CONN_FLAG_IOMAP |
		     (rsw_host_is_be() ? RSW_CONN_FLAG_NET : 0);
	out->target_iomap_size = rsw_iomap_scale(rs->opt.iomap_size);
	out->credits = htobe16(rs->opt.rq_size);
	out->target_sgl =
		rsw_sge_to_be((struct rsw_sge){ .addr = (uintptr_t)rs->tsgl,
						.key = rs->tmr->rkey,
						.length = RSW_SGL_SIZE });
	out->data_buf = rsw_sge_to_be(
		(struct rsw_sge){ .addr = (uintptr_t)rs->rbuf,
				  .key = rs->rmr->rkey,
				  .length = rs->opt.rbuf_size / 2 });
}

void rs_stream_peer(struct rsock *rs, const struct rsw_conn *in)
{
	bool peer_be = in->flags & RSW_CONN_FLAG_NET;

	rs->remote_sgl = rsw_sge_from_be(in->target_sgl);
	if (!rs->remote_sgl.length)
		rs->remote_sgl.length = 1;
	rs->remote_sge = 1 % rs->remote_sgl.length;
	rs->swap_sgl = peer_be != (bool)rsw_host_is_be();
	if (in->flags & RSW_CONN_FLAG_IOMAP) {
		rs->remote_iomap.addr =
			rs->remote_sgl.addr +
			sizeof(struct rsw_sge) * rs->remote_sgl.length;
		rs->remote_iomap.key = rs->remote_sgl.key;
		rs->remote_iomap.length =
			rsw_iomap_count(in->target_iomap_size);
	}
	/* The first grant comes with the connection; the peer writes the
	 * next one to slot 1. */
	rs->cur = rsw_sge_from_be(in->data_buf);
	rs->tsge = 1 % RSW_SGL_SIZE;
	rs->tsgl_ready = 0;
	rs->sseq_comp = be16toh(in->credits);
	rs->readable = rs->writable = true;
}

/*
 * The grant being filled is a copy: the peer rewrites a slot as soon as
 * it has read what was written there, possibly before this side's own
 * bookkeeping of its last write has run.  A slot is copied once its
 * grant's completion has been seen (tsgl_ready), each field read once.
 */
static void load_grant(struct rsock *rs)
{
	const volatile struct rsw_sge *g = &rs->tsgl[rs->tsge];
	struct rsw_sge s;

	if (rs->cur.length || !rs->tsgl_ready)
		return;
	s = (struct rsw_sge){ g->addr, g->key, g->length };
	rs->cur = rs->swap_sgl ? rsw_sge_swap(s) : s;
	rs->tsge = (rs->tsge + 1) % RSW_SGL_SIZE;
	rs->tsgl_ready--;
}

static void grant_used(struct rsock *rs, uint32_t len)
{
	rs->cur.addr += len;
	rs->cur.length -= len;
	load_grant(rs);
}

/* One WRITE WITH IMM of @imm (also its wr_id), or a plain WRITE when @op
 * is RSW_OP_WRITE, whose wr_id alone carries @imm. */
static int post_write_imm(struct rsock *rs, struct ibv_sge *sg, int nsge,
			  uint32_t imm, int flags, uint64_t addr, uint32_t rkey)
{
	bool plain = rsw_imm_op(imm) == RSW_OP_WRITE;
	struct ibv_send_wr wr = {
		.wr_id = imm,
		.sg_list = nsge ? sg : NULL,
		.num_sge = nsge,
		.opcode = plain ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_WRITE_WITH_IMM,
		.send_flags = flags,
		.imm_data = plain ? 0 : htobe32(imm),
		.wr.rdma = { .remote_addr = addr, .rkey = rkey },
	}, *bad;
	int ret = ibv_post_send(rs->id->qp, &wr, &bad);

	if (ret)
		errno = ret;
	return ret ? -1 : 0;
}

bool rs_stream_can_send(const struct rsock *rs)
{
	return rs->sqe_avail > 0 && rs->sbuf_avail >= RS_SNDLOWAT &&
	       rs->sseq_no != rs->sseq_comp && rs->cur.length;
}

bool rs_stream_has_data(const struct rsock *rs)
{
	return rs->rmsg_head != rs->rmsg_tail;
}

bool rs_stream_sends_done(const struct rsock *rs)
{
	return rs->sqe_avail == rs->opt.sq_size - RS_CTRL_SLOTS &&
	       rs->ctrl_max - rs->ctrl_seq == RS_CTRL_SLOTS;
}

static bool ctrl_room(const struct rsock *rs)
{
	return rs->ctrl_seq != rs->ctrl_max;
}

/* A grant of the next free half, or credits alone when none is free. */
static void send_credits(struct rsock *rs)
{
	uint32_t half = rs->opt.rbuf_size / 2;
	uint32_t imm =
		rsw_imm(RSW_OP_SGL, (uint16_t)(rs->rseq_no + rs->opt.rq_size));
	struct rsw_sge g = { (uintptr_t)&rs->rbuf[rs->rbuf_grant],
			     rs->rmr->rkey, half };
	struct ibv_sge sg;
	void *slot;

	rs->rseq_comp = rs->rseq_no + rs->opt.rq_size / 2;
	if (rs->rbuf_free < half) {
		if (!post_write_imm(rs, NULL, 0, imm, 0, 0, 0))
			rs->ctrl_seq++;
		return;
	}
	slot = rs->sbuf + rs->opt.sbuf_size +
	       RS_GRANT_BYTES * (rs->ctrl_seq % RS_CTRL_SLOTS);
	memcpy(slot, &g, sizeof(g));
	sg = (struct ibv_sge){ (uintptr_t)slot, sizeof(g), rs->smr->lkey };
	if (post_write_imm(rs, &sg, 1, imm, 0,
			   rs->remote_sgl.addr +
				   rs->remote_sge * sizeof(struct rsw_sge),
			   rs->remote_sgl.key))
		return;
	rs->ctrl_seq++;
	rs->rbuf_free -= half;
	rs->rbuf_grant = (rs->rbuf_grant + half) % rs->opt.rbuf_size;
	rs->remote_sge = (rs->remote_sge + 1) % rs->remote_sgl.length;
}

static bool live(const struct rsock *rs)
{
	return rs->phase == RS_CONNECTED && (rs->readable || rs->writable);
}

static void update_credits(struct rsock *rs)
{
	bool half_free = rs->rbuf_free >= rs->opt.rbuf_size / 2;
	bool half_used = (int16_t)(rs->rseq_no - rs->rseq_comp) >= 0;

	if ((half_free || half_used) && ctrl_room(rs) && live(rs))
		send_credits(rs);
}

static void on_ctrl(struct rsock *rs, uint32_t ctrl)
{
	if (ctrl == RSW_CTRL_DISCONNECT) {
		rs->readable = rs->writable = false;
	} else if (ctrl == RSW_CTRL_SHUTDOWN) {
		rs->readable = false;
	}
}

static void on_recv(struct rsock *rs, const struct ibv_wc *wc)
{
	uint32_t imm = be32toh(wc->imm_data);

	if (!(wc->wc_flags & IBV_WC_WITH_IMM))
		return;
	switch (rsw_imm_op(imm)) {
	case RSW_OP_DATA:
		rs->rmsg[rs->rmsg_tail] = rsw_imm_value(imm);
		rs->rmsg_tail = (rs->rmsg_tail + 1) % (rs->opt.rq_size + 1u);
		break;
	case RSW_OP_SGL:
		/* A grant's slot is read only once its write has landed. */
		if (wc->byte_len == sizeof(struct rsw_sge)) {
			rs->tsgl_ready++;
			load_grant(rs);
		}
		rs->sseq_comp = (uint16_t)rsw_imm_value(imm);
		break;
	case RSW_OP_CTRL:
		on_ctrl(rs, rsw_imm_value(imm));
		break;
	case RSW_OP_IOMAP_SGL:
		/* Slot N holds the peer's iomap now (riowrite reads it). */
		if (rsw_imm_value(imm) < rs->opt.iomap_size)
			rs->iomap_seen[rsw_imm_value(imm)] = true;
		break;
	default:
		break;
	}
}

static void on_send(struct rsock *rs, const struct ibv_wc *wc)
{
	uint32_t imm = (uint32_t)wc->wr_id;

	switch (rsw_imm_op(imm)) {
	case RSW_OP_DATA:
	case RSW_OP_WRITE:
		rs->sqe_avail++;
		rs->sbuf_avail += rsw_imm_value(imm);
		break;
	case RSW_OP_IOMAP_SGL:
		rs->sqe_avail++;
		rs->sbuf_avail += sizeof(struct rsw_iomap);
		break;
	default:
		rs->ctrl_max++;
		break;
	}
	if (wc->status != IBV_WC_SUCCESS && !rs->dead) {
		/* retries ran out: the peer is unreachable, as TCP's timeout */
		if (rs->writable || rs->readable)
			rs->err = wc->status == IBV_WC_RETRY_EXC_ERR ? ETIMEDOUT
								     : EIO;
		rs->readable = rs->writable = false;
		rs->dead = true;
	}
}

static void drain_cq(struct rsock *rs)
{
	struct ibv_wc wc[16];
	unsigned int reposts = 0;
	int n, i;

	while ((n = ibv_poll_cq(rs->cq, 16, wc)) > 0) {
		for (i = 0; i < n; i++) {
			if (!(wc[i].wr_id & RS_WR_RECV)) {
				on_send(rs, &wc[i]);
			} else if (wc[i].status == IBV_WC_SUCCESS) {
				reposts++;
				on_recv(rs, &wc[i]);
			}
		}
	}
	while (reposts-- && live(rs))
		if (post_recv(rs))
			break;
}

void rs_stream_progress(struct rsock *rs)
{
	if (!rs->cq)
		return;
	update_credits(rs);
	drain_cq(rs);
	update_credits(rs);
}

int rs_stream_ctrl(struct rsock *rs, enum rsw_ctrl ctrl)
{
	if (!ctrl_room(rs) || !rs->id->qp)
		return -1;
	if (post_write_imm(rs, NULL, 0, rsw_imm(RSW_OP_CTRL, ctrl), 0, 0, 0))
		return -1;
	rs->ctrl_seq++;
	return 0;
}

/* Copies @len bytes to the send ring's head: one or two SGEs. */
static int stage(struct rsock *rs, const uint8_t *buf, uint32_t len,
		 struct ibv_sge sg[2])
{
	uint32_t head = rs->sbuf_head, first = rs->opt.sbuf_size - head;
	int n = 1;

	if (first > len)
		first = len;
	memcpy(rs->sbuf + head, buf, first);
	sg[0] = (struct ibv_sge){ (uintptr_t)(rs->sbuf + head), first,
				  rs->smr->lkey };
	if (len > first) {
		memcpy(rs->sbuf, buf + first, len - first);
		sg[1] = (struct ibv_sge){ (uintptr_t)rs->sbuf, len - first,
					  rs->smr->lkey };
		n = 2;
	}
	rs->sbuf_head = (head + len) % rs->opt.sbuf_size;
	return n;
}

uint32_t rs_stream_chunk(const struct rsock *rs, uint32_t *olap, size_t left,
			 uint64_t room)
{
	uint32_t x = left < *olap ? (uint32_t)left : *olap;

	if (*olap < RS_MAX_TRANSFER && x == *olap)
		*olap <<= 1;
	if (x > rs->sbuf_avail)
		x = rs->sbuf_avail;
	return x > room ? (uint32_t)room : x;
}

int rs_stream_post(struct rsock *rs, const void *buf, uint32_t len,
		   uint32_t imm, uint64_t addr, uint32_t rkey)
{
	struct ibv_sge sg[2];
	int n, flags = 0;

	if (len <= rs->opt.inline_size) {
		sg[0] = (struct ibv_sge){ (uintptr_t)buf, len, 0 };
		n = 1;
		flags = IBV_SEND_INLINE;
	} else {
		n = stage(rs, buf, len, sg);
	}
	if (post_write_imm(rs, sg, n, imm, flags, addr, rkey))
		return -1;
	rs->sqe_avail--;
	rs->sbuf_avail -= len;
	return 0;
}

static int send_one(struct rsock *rs, const uint8_t *buf, uint32_t len)
{
	if (rs_stream_post(rs, buf, len, rsw_imm(RSW_OP_DATA, len),
			   rs->cur.addr, rs->cur.key))
		return -1;
	grant_used(rs, len);
	rs->sseq_no++;
	return 0;
}

bool rs_stream_send_ready(const struct rsock *rs)
{
	return rs_stream_can_send(rs) || !rs->writable;
}

ssize_t rs_stream_send(struct rsock *rs, const void *buf, size_t len,
		       bool nonblock)
{
	uint32_t olap = RS_OLAP_START;
	const uint8_t *p = buf;
	size_t left = len;
	uint32_t x;

	if (rs_iomap_flush(rs, nonblock))
		return -1;
	while (left) {
		rs_stream_progress(rs);
		if (!rs_stream_can_send(rs) &&
		    rs_wait(rs, rs_stream_send_ready, nonblock, -1))
			break;
		if (!rs->writable) {
			errno = rs->err ? rs->err : ECONNRESET;
			break;
		}
		x = rs_stream_chunk(rs, &olap, left, rs->cur.length);
		if (send_one(rs, p, x))
			break;
		p += x;
		left -= x;
	}
	if (left == len)
		return -1;
	return (ssize_t)(len - left);
}

static uint32_t copy_out(struct rsock *rs, uint8_t *buf, uint32_t len,
			 bool peek, unsigned int *head, uint32_t *off)
{
	uint32_t size = rs->opt.rbuf_size, done = 0;

	while (done < len && *head != rs->rmsg_tail) {
		uint32_t take = rs->rmsg[*head], end = size - *off;

		if (take > len - done)
			take = len - done;
		if (take > end) {
			memcpy(buf + done, rs->rbuf + *off, end);
			memcpy(buf + done + end, rs->rbuf, take - end);
		} else {
			memcpy(buf + done, rs->rbuf + *off, take);
		}
		*off = (*off + take) % size;
		done += take;
		if (peek && take == rs->rmsg[*head]) {
			*head = (*head + 1) % (rs->opt.rq_size + 1u);
			continue;
		}
		if (peek)
			break;
		rs->rbuf_free += take;
		rs->rmsg[*head] -= take;
		if (!rs->rmsg[*head]) {
			rs->rseq_no++;
			*head = (*head + 1) % (rs->opt.rq_size + 1u);
		}
	}
	return done;
}

static bool data_or_eof(const struct rsock *rs)
{
	return rs_stream_has_data(rs) || !rs->readable;
}

ssize_t rs_stream_recv(struct rsock *rs, void *buf, size_t len, int flags,
		       bool nonblock)
{
	bool peek = flags & MSG_PEEK, all = flags & MSG_WAITALL;
	size_t done = 0;
	bool failed = false;

	do {
		rs_stream_progress(rs);
		if (!rs_stream_has_data(rs) &&
		    rs_wait(rs, data_or_eof, nonblock, -1)) {
			failed = true;
			break;
		}
		if (peek) {
			unsigned int head = rs->rmsg_head;
			uint32_t off = rs->rbuf_off;

			return copy_out(rs, buf, len, true, &head, &off);
		}
		done += copy_out(rs, (uint8_t *)buf + done,
				 (uint32_t)(len - done), false, &rs->rmsg_head,
				 &rs->rbuf_off);
		rs_stream_progress(rs);
	} while (done < len && all && (rs->readable || rs_stream_has_data(rs)));
	if (!done && len && (failed || rs->err)) {
		if (!failed)
			errno = rs->err;
		return -1;
	}
	return (ssize_t)done;
}

void rs_stream_arm(struct rsock *rs)
{
	if (!rs->cq)
		return;
	if (!rs->cq_armed) {
		ibv_req_notify_cq(rs->cq, 0);
		rs->cq_armed = true;
	}
	rs_stream_progress(rs);
}

void rs_stream_cq_event(struct rsock *rs)
{
	struct ibv_cq *cq;
	void *ctx;

	if (rs->cch && !ibv_get_cq_event(rs->cch, &cq, &ctx)) {
		ibv_ack_cq_events(cq, 1);
		rs->cq_armed = false;
	}
}

/*
 * Sleeps until the CQ's or the CM's channel has something, at most
 * @timeout_ms.  One thread of a socket sleeps at a time (wait_lock): the
 * one that takes the CQ's event disarms the CQ, so a second sleeper would
 * sleep on a CQ that raises no more events.  The next one re-checks (it
 * may already be ready) and re-arms before its turn.  Called and returns
 * with the socket locked.
 */
static void sleep_once(struct rsock *rs, bool (*ready)(const struct rsock *rs),
		       int timeout_ms)
{
	struct pollfd p[2] = { { rs->chan->fd, POLLIN, 0 },
			       { rs->cch ? rs->cch->fd : -1, POLLIN, 0 } };
	int n;

	pthread_mutex_unlock(&rs->lock);
	pthread_mutex_lock(&rs->wait_lock);
	pthread_mutex_lock(&rs->lock);
	rs_stream_arm(rs);
	if (ready(rs)) {
		pthread_mutex_unlock(&rs->wait_lock);
		return;
	}
	pthread_mutex_unlock(&rs->lock);
	n = poll(p, 2, timeout_ms);
	pthread_mutex_lock(&rs->lock);
	if (n > 0 && p[1].revents)
		rs_stream_cq_event(rs);
	if (n > 0 && p[0].revents)
		rs_cm_drain(rs);
	pthread_mutex_unlock(&rs->wait_lock);
}

/* CM events of a socket polled without blocking (a peer's disconnect):
 * looked for every RS_CM_GLANCE_EVERY calls, one poll() of the channel. */
#define RS_CM_GLANCE_EVERY 64u

void rs_cm_glance(struct rsock *rs)
{
	struct pollfd p = { rs->chan->fd, POLLIN, 0 };

	if (++rs->glances % RS_CM_GLANCE_EVERY)
		return;
	if (poll(&p, 1, 0) > 0)
		rs_cm_drain(rs);
}

/* A sleep looks again at least this often: a CQ event that rpoll in
 * another thread took leaves the CQ unarmed under a sleeper. */
#define RS_SLEEP_MAX_MS 100

int rs_wait(struct rsock *rs, bool (*ready)(const struct rsock *rs),
	    bool nonblock, int timeout_ms)
{
	uint64_t start, spin_end, end, t;
	unsigned int spins = 0;

	rs_stream_progress(rs);
	if (ready(rs))
		return 0;
	if (nonblock) {
		rs_cm_glance(rs);
		if (ready(rs))
			return 0;
		errno = EAGAIN;
		return -1;
	}
	start = rs_now_ns();
	spin_end = start + RS_SPIN_NS;
	end = timeout_ms < 0 ? UINT64_MAX
			     : start + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		rs_stream_progress(rs);
		if (ready(rs))
			return 0;
		if (++spins % RS_SPIN_CLOCK_EVERY)
			continue;
		t = rs_now_ns();
		if (t >= end) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (t < spin_end)
			continue;
		rs_stream_arm(rs);
		if (ready(rs))
			return 0;
		sleep_once(rs, ready,
			   end - t > RS_SLEEP_MAX_MS * 1000000ull
				   ? RS_SLEEP_MAX_MS
				   : (int)((end - t) / 1000000u + 1));
	}
}
