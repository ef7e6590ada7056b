// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture_ctl.h"
#include "chan.h"
#include "cm_ctl.h"
#include "devattr.h"
#include "handlers.h"
#include "log.h"
#include "mr.h"
#include "verbs.h"

struct request {
	const struct srxe_msg_hdr *hdr;
	const void *body;
	int *fd;
};

struct reply {
	int err;
	int fd; /* sent with the reply, still owned by the session; or -1 */
	char reason[SRXE_REASON_MAX + 1];
	union {
		struct srxe_open_ctx_resp open_ctx;
		struct srxe_query_device_resp query_device;
		struct srxe_query_port_resp query_port;
		struct srxe_alloc_pd_resp alloc_pd;
		struct srxe_status_resp status;
		struct srxe_reg_mr_resp reg_mr;
		struct srxe_dereg_mr_resp dereg_mr;
		union srxed_verbs_reply verbs;
		struct srxe_capture_start_resp capture_start;
		struct srxe_capture_stop_resp capture_stop;
		struct srxe_chan_open_resp chan_open;
		struct srxe_alloc_mw_resp alloc_mw;
		struct srxe_rereg_mr_resp rereg_mr;
		union srxed_cm_reply cm;
	} body;
};

typedef int (*handler_fn)(struct srxed *d, struct srxed_session *s,
			  const struct request *req, struct reply *rep);

struct handler {
	handler_fn fn;
	bool needs_ctx;
	bool takes_fd;
};

static int fail(struct reply *rep, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct reply *rep, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep->reason, sizeof(rep->reason), fmt, ap);
	va_end(ap);
	rep->err = err;
	return err;
}

/* The async-event channel must be something srxed can write records to. */
static int check_async_fd(int fd, struct reply *rep)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) < 0)
		return fail(rep, EBADF, "async event fd: %s", strerror(errno));
	if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
		return fail(rep, EINVAL,
			    "async event fd must be a pipe or socket");
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
		return fail(rep, EBADF, "async event fd is not writable");
	/* A client that stops reading events must never stall srxed. */
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return fail(rep, EBADF, "async event fd: %s", strerror(errno));
	return 0;
}

static int do_open_ctx(struct srxed *d, struct srxed_session *s,
		       const struct request *req, struct reply *rep)
{
	const struct srxe_open_ctx_req *r = req->body;
	int ret;

	if (s->has_ctx)
		return fail(rep, EBUSY,
			    "a context is already open on this connection");
	if (r->reserved)
		return fail(rep, EINVAL, "reserved field must be 0");
	if (r->client_version != SRXE_PROTO_VERSION)
		return fail(rep, EPROTONOSUPPORT,
			    "client speaks protocol %u, srxed speaks %u",
			    r->client_version, SRXE_PROTO_VERSION);
	if (!memchr(r->device, '\0', sizeof(r->device)))
		return fail(rep, EINVAL, "device name is not NUL-terminated");
	if (strcmp(r->device, d->cfg.name))
		return fail(rep, ENODEV, "this srxed serves %s, not %.32s",
			    d->cfg.name, r->device);
	if (*req->fd >= 0) {
		ret = check_async_fd(*req->fd, rep);
		if (ret)
			return ret;
	}
	ret = srxed_session_open_ctx(d, s, *req->fd, rep->reason);
	if (ret)
		return rep->err = ret;
	*req->fd = -1;
	rep->fd = srxed_mem_slab_fd(s);
	rep->body.open_ctx.ctx_handle = (uint32_t)s->id;
	rep->body.open_ctx.translation = d->cfg.translation;
	rep->body.open_ctx.slab_bytes = srxed_mem_slab_bytes(s);
	log_info("client %llu: context open on %s (async fd %s)",
		 (unsigned long long)s->id, d->cfg.name,
		 s->async_fd >= 0 ? "yes" : "no");
	return 0;
}

static int do_close_ctx(struct srxed *d, struct srxed_session *s,
			const struct request *req, struct reply *rep)
{
	srxed_session_close_ctx(d, s);
	log_info("client %llu: context closed", (unsigned long long)s->id);
	return 0;
}

static int do_query_device(struct srxed *d, struct srxed_session *s,
			   const struct request *req, struct reply *rep)
{
	srxed_query_device(d, &rep->body.query_device);
	return 0;
}

static int do_query_port(struct srxed *d, struct srxed_session *s,
			 const struct request *req, struct reply *rep)
{
	const struct srxe_query_port_req *r = req->body;

	if (r->reserved)
		return fail(rep, EINVAL, "reserved field must be 0");
	if (r->port_num != 1)
		return fail(rep, EINVAL,
			    "port %u does not exist (%s has port 1)",
			    r->port_num, d->cfg.name);
	srxed_query_port(d, &rep->body.query_port.attr);
	return 0;
}

static int do_alloc_pd(struct srxed *d, struct srxed_session *s,
		       const struct request *req, struct reply *rep)
{
	const char *why;
	int ret;

	ret = srxed_session_alloc_pd(d, s, &rep->body.alloc_pd.pd_handle, &why);
	if (ret)
		return fail(rep, ret, "%s (%u PDs)", why, SRXED_MAX_PD);
	return 0;
}

static int do_dealloc_pd(struct srxed *d, struct srxed_session *s,
			 const struct request *req, struct reply *rep)
{
	const struct srxe_dealloc_pd_req *r = req->body;
	const char *why;
	int ret;

	if (r->reserved)
		return fail(rep, EINVAL, "reserved field must be 0");
	ret = srxed_session_dealloc_pd(d, s, r->pd_handle, &why);
	if (ret)
		return fail(rep, ret, "%s: handle 0x%x", why, r->pd_handle);
	return 0;
}

static int do_status(struct srxed *d, struct srxed_session *s,
		     const struct request *req, struct reply *rep)
{
	struct srxe_status_resp *st = &rep->body.status;

	snprintf(st->device, sizeof(st->device), "%s", d->cfg.name);
	st->daemon_pid = getpid();
	st->translation = d->cfg.translation;
	st->ipv4_be = d->cfg.ipv4_be;
	st->clients = d->stats.clients;
	st->connections = d->stats.connections;
	st->pds = d->stats.pds;
	st->mrs = d->stats.mem.mrs;
	st->qps = d->stats.qps;
	st->cqs = d->stats.cqs;
	st->srqs = d->stats.srqs;
	st->ahs = d->stats.ahs;
	st->reg_bytes = d->stats.mem.reg_bytes;
	st->translation_bytes = d->stats.mem.translation_bytes;
	st->frames_in_use = d->stats.mem.frames_in_use;
	st->table_frames_in_use = d->stats.mem.table_pages;
	st->requests = d->stats.requests;
	st->rejected = d->stats.rejected;
	if (d->engine)
		srxed_verbs_packet_status(d, st);
	srxed_cm_status(d, st);
	return 0;
}

static int do_reg_mr(struct srxed *d, struct srxed_session *s,
		     const struct request *req, struct reply *rep)
{
	return rep->err = srxed_mr_reg(d, s, req->body, &rep->body.reg_mr,
				       rep->reason);
}

static int do_dereg_mr(struct srxed *d, struct srxed_session *s,
		       const struct request *req, struct reply *rep)
{
	const struct srxe_dereg_mr_req *r = req->body;

	if (r->reserved)
		return fail(rep, EINVAL, "reserved field must be 0");
	return rep->err = srxed_mr_dereg(d, s, r->mr_handle,
					 &rep->body.dereg_mr, rep->reason);
}

static int do_dereg_runs(struct srxed *d, struct srxed_session *s,
			 const struct request *req, struct reply *rep)
{
	return rep->err = srxed_mr_dereg_runs(s, req->body, &rep->body.dereg_mr,
					      rep->reason);
}

static int do_dereg_done(struct srxed *d, struct srxed_session *s,
			 const struct request *req, struct reply *rep)
{
	const struct srxe_dereg_mr_req *r = req->body;

	if (r->reserved)
		return fail(rep, EINVAL, "reserved field must be 0");
	return rep->err = srxed_mr_dereg_done(d, s, r->mr_handle, rep->reason);
}

/* Opcodes 16-30: rings, doorbell, CQ, QP, SRQ, AH; 48-49: multicast
 * (verbs.h). */
static int do_verbs(struct srxed *d, struct srxed_session *s,
		    const struct request *req, struct reply *rep)
{
	return rep->err = srxed_verbs_request(d, s, req->hdr->opcode, req->body,
					      req->fd, &rep->body.verbs,
					      &rep->fd, rep->reason);
}

/* Opcodes 31-32: completion channels (chan.h). */
static int do_chan_open(struct srxed *d, struct srxed_session *s,
			const struct request *req, struct reply *rep)
{
	return rep->err = srxed_chan_open(d, s, req->body, &rep->body.chan_open,
					  &rep->fd, rep->reason);
}

static int do_svc_only(struct srxed *d, struct srxed_session *s,
		       const struct request *req, struct reply *rep)
{
	return fail(rep, EINVAL,
		    "SVC_MAKE_CHANNEL is sent by srxed on the service socket");
}

/* Opcodes 36-37: `srxe capture` (capture_ctl.h); no context needed. */
static int do_capture_start(struct srxed *d, struct srxed_session *s,
			    const struct request *req, struct reply *rep)
{
	return rep->err = srxed_capture_start(d, s, req->body, req->fd,
					      &rep->body.capture_start,
					      rep->reason);
}

static int do_capture_stop(struct srxed *d, struct srxed_session *s,
			   const struct request *req, struct reply *rep)
{
	return rep->err = srxed_capture_stop(d, s, &rep->body.capture_stop,
					     rep->reason);
}

/* Opcodes 40-41: memory windows (include/srxe/proto_mw.h). */
static int do_alloc_mw(struct srxed *d, struct srxed_session *s,
		       const struct request *req, struct reply *rep)
{
	return rep->err = srxed_mw_alloc(d, s, req->body, &rep->body.alloc_mw,
					 rep->reason);
}

static int do_dealloc_mw(struct srxed *d, struct srxed_session *s,
			 const struct request *req, struct reply *rep)
{
	const struct srxe_dealloc_mw_req *r = req->body;

	if (r->reserved)
		return fail(rep, EINVAL, "reserved field must be 0");
	return rep->err = srxed_mw_dealloc(d, s, r->mw_handle, rep->reason);
}

/* Opcode 42: ibv_rereg_mr of PD/access (proto_mw.h). */
static int do_rereg_mr(struct srxed *d, struct srxed_session *s,
		       const struct request *req, struct reply *rep)
{
	return rep->err = srxed_mr_rereg(d, s, req->body, &rep->body.rereg_mr,
					 rep->reason);
}

/* Opcodes 64-74: rdma_cm (cm_ctl.h); no context needed. */
static int do_cm(struct srxed *d, struct srxed_session *s,
		 const struct request *req, struct reply *rep)
{
	return rep->err = srxed_cm_request(d, s, req->hdr->opcode, req->body,
					   req->fd, &rep->body.cm, rep->reason);
}

static const struct handler handlers[SRXE_OP_TABLE_SIZE] = {
	[SRXE_OP_OPEN_CTX] = { do_open_ctx, false, true },
	[SRXE_OP_CLOSE_CTX] = { do_close_ctx, true, false },
	[SRXE_OP_QUERY_DEVICE] = { do_query_device, true, false },
	[SRXE_OP_QUERY_PORT] = { do_query_port, true, false },
	[SRXE_OP_ALLOC_PD] = { do_alloc_pd, true, false },
	[SRXE_OP_DEALLOC_PD] = { do_dealloc_pd, true, false },
	[SRXE_OP_STATUS] = { do_status, false, false },
	[SRXE_OP_REG_MR] = { do_reg_mr, true, false },
	[SRXE_OP_DEREG_MR] = { do_dereg_mr, true, false },
	[SRXE_OP_DEREG_DONE] = { do_dereg_done, true, false },
	[SRXE_OP_DEREG_RUNS] = { do_dereg_runs, true, false },
	[SRXE_OP_MAP_RINGS] = { do_verbs, true, false },
	[SRXE_OP_GET_DOORBELL] = { do_verbs, true, false },
	[SRXE_OP_CREATE_CQ] = { do_verbs, true, false },
	[SRXE_OP_DESTROY_CQ] = { do_verbs, true, false },
	[SRXE_OP_RESIZE_CQ] = { do_verbs, true, false },
	[SRXE_OP_CREATE_QP] = { do_verbs, true, false },
	[SRXE_OP_MODIFY_QP] = { do_verbs, true, false },
	[SRXE_OP_QUERY_QP] = { do_verbs, true, false },
	[SRXE_OP_DESTROY_QP] = { do_verbs, true, false },
	[SRXE_OP_CREATE_SRQ] = { do_verbs, true, false },
	[SRXE_OP_MODIFY_SRQ] = { do_verbs, true, false },
	[SRXE_OP_QUERY_SRQ] = { do_verbs, true, false },
	[SRXE_OP_DESTROY_SRQ] = { do_verbs, true, false },
	[SRXE_OP_CREATE_AH] = { do_verbs, true, false },
	[SRXE_OP_DESTROY_AH] = { do_verbs, true, false },
	[SRXE_OP_CHAN_OPEN] = { do_chan_open, true, false },
	[SRXE_OP_SVC_MAKE_CHANNEL] = { do_svc_only, false, false },
	[SRXE_OP_CAPTURE_START] = { do_capture_start, false, true },
	[SRXE_OP_CAPTURE_STOP] = { do_capture_stop, false, false },
	[SRXE_OP_ALLOC_MW] = { do_alloc_mw, true, false },
	[SRXE_OP_DEALLOC_MW] = { do_dealloc_mw, true, false },
	[SRXE_OP_REREG_MR] = { do_rereg_mr, true, false },
	/* Issue #10: XRC (proto_xrc.h); OPEN_XRCD may carry the domain's
	 * file, which srxed only fstat()s (the connection closes it). */
	[SRXE_OP_OPEN_XRCD] = { do_verbs, true, true },
	[SRXE_OP_CLOSE_XRCD] = { do_verbs, true, false },
	[SRXE_OP_CREATE_XSRQ] = { do_verbs, true, false },
	[SRXE_OP_CREATE_XRC_TGT] = { do_verbs, true, false },
	[SRXE_OP_ATTACH_MCAST] = { do_verbs, true, false },
	[SRXE_OP_DETACH_MCAST] = { do_verbs, true, false },
	/* Issue #11: rdma_cm (proto_cm.h), allowed without OPEN_CTX. */
	[SRXE_OP_CM_ADD_CHANNEL] = { do_cm, false, true },
	[SRXE_OP_CM_DEL_CHANNEL] = { do_cm, false, false },
	[SRXE_OP_CM_LISTEN] = { do_cm, false, false },
	[SRXE_OP_CM_CONNECT] = { do_cm, false, false },
	[SRXE_OP_CM_ACCEPT] = { do_cm, false, false },
	[SRXE_OP_CM_REJECT] = { do_cm, false, false },
	[SRXE_OP_CM_ESTABLISH] = { do_cm, false, false },
	[SRXE_OP_CM_DISCONNECT] = { do_cm, false, false },
	[SRXE_OP_CM_DESTROY] = { do_cm, false, false },
	[SRXE_OP_CM_NOTIFY] = { do_cm, false, false },
	[SRXE_OP_CM_MIGRATE] = { do_cm, false, false },
};

static void run_handler(struct srxed *d, struct srxed_session *s,
			const struct request *req, struct reply *rep)
{
	const struct handler *h = &handlers[req->hdr->opcode];
	const char *name = srxe_op_info(req->hdr->opcode)->name;

	if (!h->fn)
		fail(rep, EOPNOTSUPP, "%s is not implemented yet", name);
	else if (*req->fd >= 0 && !h->takes_fd)
		fail(rep, EINVAL, "%s carries no file descriptor", name);
	else if (h->needs_ctx && !s->has_ctx)
		fail(rep, ENOTCONN, "%s before OPEN_CTX: open a context first",
		     name);
	else
		h->fn(d, s, req, rep);
}

static size_t encode(const struct srxe_msg_hdr *hdr, const struct reply *rep,
		     void *out, size_t cap)
{
	const struct srxe_op_info *op = srxe_op_info(hdr->opcode);
	int n;

	if (!rep->err) {
		n = srxe_msg_reply_ok(out, cap, hdr, &rep->body,
				      op->reply_body);
		if (n > 0)
			return n;
		log_err("cannot encode %s reply (%d)", op->name, n);
		n = srxe_msg_reply_err(out, cap, hdr, EIO,
				       "srxed internal error");
		return n > 0 ? n : 0;
	}
	n = srxe_msg_reply_err(out, cap, hdr, rep->err, "%s", rep->reason);
	return n > 0 ? n : 0;
}

size_t srxed_reject(struct srxed *d, const void *msg, size_t len, int err,
		    const char *why, void *reply, size_t cap)
{
	struct srxe_msg_hdr hdr;
	int n;

	d->stats.requests++;
	d->stats.rejected++;
	if (len >= sizeof(hdr))
		memcpy(&hdr, msg, sizeof(hdr));
	n = srxe_msg_reply_err(reply, cap, len >= sizeof(hdr) ? &hdr : NULL,
			       err, "%s", why);
	return n > 0 ? n : 0;
}

size_t srxed_dispatch(struct srxed *d, struct srxed_session *s, const void *msg,
		      size_t len, int *fd, void *reply, size_t cap,
		      int *err_out, int *reply_fd)
{
	struct srxe_msg_hdr hdr;
	struct reply rep;
	const char *why;
	struct request req = { .hdr = &hdr, .fd = fd };
	int ret;

	*reply_fd = -1;
	ret = srxe_msg_check_request(msg, len, &hdr, &why);
	if (ret) {
		*err_out = ret;
		return srxed_reject(d, msg, len, -ret, why, reply, cap);
	}
	memset(&rep, 0, sizeof(rep));
	rep.fd = -1;
	req.body = (const char *)msg + sizeof(hdr);
	d->stats.requests++;
	run_handler(d, s, &req, &rep);
	*err_out = rep.err;
	if (rep.err) {
		d->stats.rejected++;
		log_debug("client %llu: %s rejected: %s",
			  (unsigned long long)s->id,
			  srxe_op_info(hdr.opcode)->name, rep.reason);
	} else {
		*reply_fd = rep.fd;
	}
	return encode(&hdr, &rep, reply, cap);
}
