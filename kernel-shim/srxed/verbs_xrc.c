// SPDX-License-Identifier: MIT
/*
 * XRC (issue #10, include/srxe/proto_xrc.h): domains, XRC SRQs and XRC
 * target QPs.  The data path is the engine's (responder.c: a target QP
 * serves each request from the XRC SRQ its XRCETH names, if that SRQ is
 * in the target's domain); this file owns the objects.
 *
 * Domains are device-wide (struct srxed_xdom in d->xdoms), found by the
 * (st_dev, st_ino) of the file the client sent with OPEN_XRCD, so every
 * process that can open that file shares the domain, as with the kernel's
 * ib_uverbs_open_xrcd.  srxed sees the file itself (SCM_RIGHTS), never a
 * number the client claims, so a client cannot join a domain whose file
 * it cannot open.  Sessions hold handles (struct srxed_xrcd); a domain
 * goes when the last handle does.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devattr.h"
#include "log.h"
#include "verbs_objs.h"

#define say srxed_say

/* Domains a device holds at once; as many as it has SRQs. */
#define SRXED_MAX_XRCD SRXED_MAX_SRQ

static struct srxed_xdom *find_dom(struct srxed *d, dev_t dev, ino_t ino)
{
	for (struct srxed_xdom *x = d->xdoms; x; x = x->next)
		if (!x->anon && x->dev == dev && x->ino == ino)
			return x;
	return NULL;
}

static struct srxed_xdom *new_dom(struct srxed *d, const struct stat *st)
{
	struct srxed_xdom *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	do
		x->id = ++d->next_xdom_id;
	while (!x->id); /* 0 means "no domain" to the engine */
	x->anon = !st;
	if (st) {
		x->dev = st->st_dev;
		x->ino = st->st_ino;
	}
	x->next = d->xdoms;
	d->xdoms = x;
	return x;
}

static void put_dom(struct srxed *d, struct srxed_xdom *x)
{
	struct srxed_xdom **pp = &d->xdoms;

	if (--x->refs)
		return;
	while (*pp && *pp != x)
		pp = &(*pp)->next;
	if (*pp)
		*pp = x->next;
	free(x);
}

/* The domain OPEN_XRCD names, found or made; NULL with why set. */
static struct srxed_xdom *get_dom(struct srxed *d,
				  const struct srxe_open_xrcd_req *req, int fd,
				  int *err, char *why)
{
	struct srxed_xdom *x;
	struct stat st;

	if (fd < 0) {
		x = new_dom(d, NULL);
		if (!x)
			*err = say(why, ENOMEM, "srxed is out of memory");
		return x;
	}
	if (fstat(fd, &st) < 0) {
		*err = say(why, EBADF, "XRC domain file: %s", strerror(errno));
		return NULL;
	}
	x = find_dom(d, st.st_dev, st.st_ino);
	if (x && (req->oflags & O_EXCL)) {
		*err = say(why, EEXIST,
			   "the file already has an XRC domain (O_EXCL)");
		return NULL;
	}
	if (!x && !(req->oflags & O_CREAT)) {
		*err = say(why, EINVAL,
			   "the file has no XRC domain and O_CREAT is not set");
		return NULL;
	}
	if (!x) {
		x = new_dom(d, &st);
		if (!x)
			*err = say(why, ENOMEM, "srxed is out of memory");
	}
	return x;
}

int srxed_xrcd_open(struct srxed *d, struct srxed_session *s,
		    const struct srxe_open_xrcd_req *req, int *fd,
		    struct srxe_open_xrcd_resp *resp, char *why)
{
	struct srxed_verbs_ctx *v;
	struct srxed_xrcd *h;
	int ret;

	if (req->has_fd > 1 || (req->has_fd != 0) != (*fd >= 0))
		return say(why, EINVAL, "has_fd %u does not match the %s sent",
			   req->has_fd, *fd >= 0 ? "fd" : "absent fd");
	if (req->oflags & ~(uint32_t)(O_CREAT | O_EXCL))
		return say(why, EINVAL,
			   "oflags 0x%x: only O_CREAT and O_EXCL are defined",
			   req->oflags);
	v = srxed_verbs_ctx_get(d, s, &ret, why);
	if (!v)
		return ret;
	if (srxed_handles_count(&v->xrcds) >= SRXED_MAX_XRCD)
		return say(why, ENOMEM, "context XRCD limit (%u) reached",
			   SRXED_MAX_XRCD);
	h = calloc(1, sizeof(*h));
	if (!h)
		return say(why, ENOMEM, "srxed is out of memory");
	h->dom = get_dom(d, req, *fd, &ret, why);
	if (!h->dom) {
		free(h);
		return ret;
	}
	h->dom->refs++;
	if (srxed_handle_alloc(&v->xrcds, h, &h->handle)) {
		srxed_xrcd_release(d, h);
		return say(why, ENOMEM, "context XRCD limit (%u) reached",
			   SRXED_MAX_XRCD);
	}
	resp->xrcd_handle = h->handle;
	resp->reserved = 0;
	return 0;
}

void srxed_xrcd_release(struct srxed *d, struct srxed_xrcd *x)
{
	put_dom(d, x->dom);
	free(x);
}

static struct srxed_xrcd *find_xrcd(struct srxed_session *s, uint32_t handle)
{
	return s->verbs ? srxed_handle_lookup(&s->verbs->xrcds, handle) : NULL;
}

int srxed_xrcd_close(struct srxed *d, struct srxed_session *s,
		     const struct srxe_destroy_req *req, char *why)
{
	struct srxed_xrcd *x;

	if (req->reserved)
		return say(why, EINVAL, "reserved field must be 0");
	x = find_xrcd(s, req->handle);
	if (!x)
		return say(why, EINVAL, "no such XRCD: handle 0x%x",
			   req->handle);
	if (x->users)
		return say(why, EBUSY,
			   "XRCD 0x%x still has %u XRC SRQ(s) and target QP(s)",
			   req->handle, x->users);
	srxed_handle_free(&s->verbs->xrcds, req->handle);
	srxed_xrcd_release(d, x);
	return 0;
}

int srxed_xsrq_create(struct srxed *d, struct srxed_session *s,
		      const struct srxe_create_xsrq_req *req,
		      struct srxe_create_xsrq_resp *resp, char *why)
{
	struct srxe_create_srq_req sreq = {
		.pd_handle = req->pd_handle,
		.max_wr = req->max_wr,
		.max_sge = req->max_sge,
		.srq_limit = req->srq_limit,
		.user_handle = req->user_handle,
	};
	struct srxe_create_srq_resp sresp;
	struct srxed_xsrq_args xrc;
	struct srxed_srq *srq;
	int ret;

	xrc.xrcd = find_xrcd(s, req->xrcd_handle);
	if (!xrc.xrcd)
		return say(why, EINVAL, "no such XRCD: handle 0x%x",
			   req->xrcd_handle);
	xrc.cq = srxed_handle_lookup(&s->verbs->cqs, req->cq_handle);
	if (!xrc.cq)
		return say(why, EINVAL, "no such CQ: handle 0x%x",
			   req->cq_handle);
	ret = srxed_srq_build(d, s, &sreq, &xrc, &sresp, why);
	if (ret)
		return ret;
	srq = srxed_handle_lookup(&s->verbs->srqs, sresp.srq_handle);
	resp->srq_handle = sresp.srq_handle;
	resp->srq_num = srq->srqn;
	resp->max_wr = sresp.max_wr;
	resp->max_sge = sresp.max_sge;
	resp->ring = sresp.ring;
	return 0;
}

int srxed_xrc_tgt_create(struct srxed *d, struct srxed_session *s,
			 const struct srxe_create_xrc_tgt_req *req,
			 struct srxe_create_xrc_tgt_resp *resp, char *why)
{
	struct srxed_xrcd *x;
	struct srxed_qp *qp;
	int ret;

	if (req->reserved)
		return say(why, EINVAL, "reserved field must be 0");
	x = find_xrcd(s, req->xrcd_handle);
	if (!x)
		return say(why, EINVAL, "no such XRCD: handle 0x%x",
			   req->xrcd_handle);
	if (d->stats.qps >= SRXED_MAX_QP)
		return say(why, ENOMEM, "device QP limit (max_qp %u) reached",
			   SRXED_MAX_QP);
	if (srxed_handles_count(&s->verbs->qps) >= d->cfg.max_qp)
		return say(why, ENOMEM,
			   "client QP limit (max_qp %u, srxe up --max-qp) "
			   "reached",
			   d->cfg.max_qp);
	qp = calloc(1, sizeof(*qp));
	if (!qp)
		return say(why, ENOMEM, "srxed is out of memory");
	qp->type = IBV_QPT_XRC_RECV;
	qp->xrcd = x;
	ret = srxed_qp_install(d, s->verbs, qp, req->user_handle, why);
	if (ret) {
		srxed_qp_release(d, s->verbs, qp);
		return ret;
	}
	resp->qp_handle = qp->handle;
	resp->qp_num = qp->qpn;
	return 0;
}
