// SPDX-License-Identifier: MIT
/* Completion channels and the command file's sessions (contract in chan.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <rdma/ib_user_verbs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "chan.h"
#include "cmdfile.h"
#include "conn.h"
#include "log.h"
#include "srxe/fdpass.h"
#include "srxe/paths.h"

#define say srxed_say

#define CHAN_MAX_PER_CTX 256
#define CHAN_PENDING_MAX 16 /* command-file writes waiting per context */
#define CHAN_EVENTS	 32

enum tag_kind { TAG_FUSE, TAG_SVC, TAG_CHANNEL, TAG_TIMER };

/* What one registration in the module's epoll set points at. */
struct tag {
	enum tag_kind kind;
	void *obj;
};

struct srxed_channel {
	struct tag tag;
	struct srxed_channel *next;
	struct srxed_chan_ctx *owner;
	uint64_t ino; /* of the pipe: fd numbers get reused, inodes do not */
	int wfd;      /* write end, O_NONBLOCK */
	uint32_t cqs; /* CQs delivering to it */
	bool orphan;  /* the application closed its read end */
};

/* A command-file write waiting for the service thread. */
struct pending {
	struct pending *next;
	uint64_t unique; /* the FUSE write */
	uint64_t seq;	 /* req_id on the service socket */
	uint32_t len;	 /* bytes to acknowledge */
};

struct srxed_chan_ctx {
	struct tag tag; /* TAG_SVC */
	struct srxed_chans *cs;
	struct srxed_chan_ctx *prev, *next;
	uint64_t session_id;
	uint8_t token[SRXE_CHAN_TOKEN_BYTES];
	bool token_live; /* not bound yet */
	bool bound;
	bool svc_dead;
	uint64_t fh; /* the bound open command file */
	int svc_fd;  /* our end of the service socket */
	int peer_fd; /* the provider's end until it bound */
	pid_t pid, svc_tid;
	uid_t uid;
	struct srxed_channel *channels;
	unsigned int nchannels;
	struct pending *pending;
	uint64_t next_seq;
};

struct srxed_chans {
	struct srxed *d;
	int epfd, timer_fd;
	bool timer_on;
	bool cf_ok;
	struct srxed_cmdfile cf;
	char cf_why[SRXE_REASON_MAX];
	struct tag fuse_tag, timer_tag;
	struct srxed_chan_ctx *ctxs;
	unsigned int channels;
};

static const enum srxed_poll_kind chans_poll_tag = SRXED_POLL_CHANS;

static int watch(struct srxed_chans *cs, int fd, uint32_t events,
		 struct tag *tag)
{
	struct epoll_event ev = { .events = events, .data.ptr = tag };

	return epoll_ctl(cs->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void unwatch(struct srxed_chans *cs, int fd)
{
	epoll_ctl(cs->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* ---- channels ---- */

static void free_channel(struct srxed_channel *ch)
{
	struct srxed_chan_ctx *ctx = ch->owner;
	struct srxed_channel **pp;

	for (pp = &ctx->channels; *pp; pp = &(*pp)->next)
		if (*pp == ch) {
			*pp = ch->next;
			break;
		}
	if (!ch->orphan)
		unwatch(ctx->cs, ch->wfd);
	close(ch->wfd);
	ctx->nchannels--;
	ctx->cs->channels--;
	free(ch);
}

static void orphan_channel(struct srxed_channel *ch)
{
	if (ch->orphan)
		return;
	ch->orphan = true;
	unwatch(ch->owner->cs, ch->wfd);
	if (!ch->cqs)
		free_channel(ch);
}

static int adopt_channel(struct srxed_chan_ctx *ctx, int fd,
			 const struct srxe_svc_make_channel_resp *r)
{
	struct srxed_channel *ch;
	struct stat st;
	int fl;

	if (fstat(fd, &st) || !S_ISFIFO(st.st_mode) || st.st_ino != r->ino)
		return EPROTO;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_WRONLY)
		return EPROTO;
	/* A full pipe means an event is pending anyway: never block. */
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return errno;
	for (ch = ctx->channels; ch; ch = ch->next)
		if (ch->ino == r->ino)
			return EEXIST;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return ENOMEM;
	ch->tag = (struct tag){ TAG_CHANNEL, ch };
	ch->owner = ctx;
	ch->ino = r->ino;
	ch->wfd = fd;
	/* No events asked for: EPOLLERR alone says the reader closed. */
	if (watch(ctx->cs, fd, 0, &ch->tag)) {
		free(ch);
		return errno;
	}
	ch->next = ctx->channels;
	ctx->channels = ch;
	ctx->nchannels++;
	ctx->cs->channels++;
	return 0;
}

struct srxed_channel *srxed_chan_find(struct srxed_session *s, uint64_t ino,
				      int *event_fd)
{
	struct srxed_channel *ch;

	if (!s->chan)
		return NULL;
	for (ch = s->chan->channels; ch; ch = ch->next)
		if (ch->ino == ino && !ch->orphan) {
			*event_fd = ch->wfd;
			return ch;
		}
	return NULL;
}

void srxed_chan_get(struct srxed_channel *ch)
{
	ch->cqs++;
}

void srxed_chan_put(struct srxed *d, struct srxed_channel *ch)
{
	(void)d;
	if (--ch->cqs == 0 && ch->orphan)
		free_channel(ch);
}

unsigned int srxed_chans_count(const struct srxed *d)
{
	return d->chans ? d->chans->channels : 0;
}

/* ---- pending command-file writes ---- */

static void arm_timer(struct srxed_chans *cs, bool on)
{
	struct itimerspec its = { 0 };

	if (cs->timer_on == on)
		return;
	if (on)
		its.it_value.tv_sec = its.it_interval.tv_sec = 1;
	timerfd_settime(cs->timer_fd, 0, &its, NULL);
	cs->timer_on = on;
}

static struct pending *take_pending(struct srxed_chan_ctx *ctx, uint64_t seq)
{
	struct pending **pp, *p;

	for (pp = &ctx->pending; (p = *pp); pp = &p->next)
		if (p->seq == seq) {
			*pp = p->next;
			return p;
		}
	return NULL;
}

static void fail_pending(struct srxed_chan_ctx *ctx, int err)
{
	struct pending *p;

	while ((p = ctx->pending)) {
		ctx->pending = p->next;
		srxed_cmdfile_reply_write(&ctx->cs->cf, p->unique, err, 0);
		free(p);
	}
}

static unsigned int count_pending(const struct srxed_chan_ctx *ctx)
{
	unsigned int n = 0;

	for (const struct pending *p = ctx->pending; p; p = p->next)
		n++;
	return n;
}

/* ---- the service socket ---- */

static void svc_hangup(struct srxed_chan_ctx *ctx)
{
	if (ctx->svc_dead)
		return;
	ctx->svc_dead = true;
	unwatch(ctx->cs, ctx->svc_fd);
	/* Its thread is gone (joined or exited): nothing can still store
	 * into the application, so the writes can be answered. */
	fail_pending(ctx, ECONNABORTED);
	log_info("client %llu: channel service closed",
		 (unsigned long long)ctx->session_id);
}

static void svc_answer(struct srxed_chan_ctx *ctx, const void *buf, size_t n,
		       int fd)
{
	const struct srxe_svc_make_channel_resp *r;
	char reason[SRXE_REASON_MAX + 1];
	struct srxe_msg_hdr hdr;
	struct pending *p = NULL;
	const void *body;
	int ret;

	if (n >= sizeof(hdr)) {
		memcpy(&hdr, buf, sizeof(hdr));
		p = take_pending(ctx, hdr.req_id);
	}
	if (!p) {
		log_warn("client %llu: unexpected channel service message",
			 (unsigned long long)ctx->session_id);
		if (fd >= 0)
			close(fd);
		return;
	}
	ret = srxe_msg_check_reply(buf, n, SRXE_OP_SVC_MAKE_CHANNEL, hdr.req_id,
				   &body, reason, sizeof(reason));
	if (ret == 0 && fd < 0)
		ret = EPROTO;
	if (ret == 0) {
		r = body;
		ret = adopt_channel(ctx, fd, r);
		if (!ret)
			fd = -1;
	} else if (ret < 0) {
		ret = EPROTO;
	}
	if (fd >= 0)
		close(fd);
	if (ret)
		log_info("client %llu: completion channel refused: %s",
			 (unsigned long long)ctx->session_id, strerror(ret));
	srxed_cmdfile_reply_write(&ctx->cs->cf, p->unique, ret,
				  ret ? 0 : p->len);
	free(p);
}

static void svc_readable(struct srxed_chan_ctx *ctx)
{
	union {
		char bytes[SRXE_MSG_MAX];
		uint64_t align;
	} buf;
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { buf.bytes, sizeof(buf) };
	struct msghdr msg;
	bool foreign;
	ssize_t n;
	int fd;

	while (!ctx->svc_dead) {
		msg = (struct msghdr){ .msg_iov = &iov,
				       .msg_iovlen = 1,
				       .msg_control = cbuf,
				       .msg_controllen = sizeof(cbuf) };
		n = recvmsg(ctx->svc_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			svc_hangup(ctx);
			return;
		}
		srxe_take_fds(&msg, &fd, &foreign);
		if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
			if (fd >= 0)
				close(fd);
			fd = -1;
		}
		svc_answer(ctx, buf.bytes, n, fd);
	}
}

/* ---- command-file writes ---- */

static struct srxed_chan_ctx *ctx_by_fh(struct srxed_chans *cs, uint64_t fh)
{
	for (struct srxed_chan_ctx *c = cs->ctxs; c; c = c->next)
		if (c->bound && c->fh == fh)
			return c;
	return NULL;
}

static bool token_equal(const uint8_t *a, const uint8_t *b)
{
	uint8_t diff = 0;

	/* Every byte, always: timing says nothing about the token. */
	for (int i = 0; i < SRXE_CHAN_TOKEN_BYTES; i++)
		diff |= a[i] ^ b[i];
	return diff == 0;
}

static int do_bind(struct srxed_chans *cs, const struct srxed_cmdfile_write *w)
{
	struct srxe_cmdfile_bind b;
	struct srxed_chan_ctx *c;

	if (w->len != sizeof(b))
		return EINVAL;
	memcpy(&b, w->data, sizeof(b));
	if (b.in_words != sizeof(b) / 4 || b.out_words)
		return EINVAL;
	if (ctx_by_fh(cs, w->fh))
		return EBUSY;
	for (c = cs->ctxs; c; c = c->next) {
		if (!c->token_live || !token_equal(c->token, b.token))
			continue;
		if (c->uid != w->uid)
			return EPERM;
		c->token_live = false;
		c->bound = true;
		c->fh = w->fh;
		/* The provider has its end (it knew the token): srxed keeps
		 * only its own, so the provider's exit shows as a hang-up. */
		close(c->peer_fd);
		c->peer_fd = -1;
		log_info("client %llu: command file bound",
			 (unsigned long long)c->session_id);
		return 0;
	}
	return EPERM;
}

/* The writer must be a thread of the process that owns the session. */
static bool same_process(pid_t tid, pid_t pid)
{
	char path[64], line[128];
	bool ok = false;
	FILE *f;
	int tgid;

	if (tid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1) {
			ok = tgid == pid;
			break;
		}
	fclose(f);
	return ok;
}

static int make_channel(struct srxed_chan_ctx *ctx,
			const struct srxed_cmdfile_write *w,
			const struct ib_uverbs_cmd_hdr *hdr)
{
	struct srxe_svc_make_channel_req req;
	struct ib_uverbs_create_comp_channel cmd;
	char buf[sizeof(struct srxe_msg_hdr) + sizeof(req)];
	struct pending *p;
	int n;

	if (w->len != sizeof(*hdr) + sizeof(cmd) ||
	    hdr->in_words * 4u != w->len ||
	    hdr->out_words * 4u <
		    sizeof(struct ib_uverbs_create_comp_channel_resp))
		return EINVAL;
	if (ctx->svc_dead)
		return ECONNABORTED;
	if (!same_process(w->pid, ctx->pid))
		return EPERM;
	if (ctx->nchannels >= CHAN_MAX_PER_CTX)
		return EMFILE;
	if (count_pending(ctx) >= CHAN_PENDING_MAX)
		return EAGAIN;
	memcpy(&cmd, (const char *)w->data + sizeof(*hdr), sizeof(cmd));
	req.resp_ptr = cmd.response;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ENOMEM;
	p->seq = ++ctx->next_seq;
	p->unique = w->unique;
	p->len = w->len;
	n = srxe_msg_request(buf, sizeof(buf), SRXE_OP_SVC_MAKE_CHANNEL, p->seq,
			     &req, sizeof(req));
	if (n < 0 ||
	    send(ctx->svc_fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) != n) {
		free(p);
		return n < 0 ? EIO : errno == EAGAIN ? EAGAIN : ECONNABORTED;
	}
	p->next = ctx->pending;
	ctx->pending = p;
	arm_timer(ctx->cs, true);
	return -1; /* answered later */
}

static void on_write(void *opaque, const struct srxed_cmdfile_write *w)
{
	struct srxed_chans *cs = opaque;
	struct ib_uverbs_cmd_hdr hdr;
	struct srxed_chan_ctx *ctx;
	int ret;

	if (w->len < sizeof(hdr)) {
		ret = EINVAL;
	} else {
		memcpy(&hdr, w->data, sizeof(hdr));
		ctx = ctx_by_fh(cs, w->fh);
		if (hdr.command == SRXE_CMDFILE_BIND)
			ret = do_bind(cs, w);
		else if (!ctx)
			ret = EPERM; /* not bound to a context */
		else if (hdr.command == IB_USER_VERBS_CMD_CREATE_COMP_CHANNEL)
			ret = make_channel(ctx, w, &hdr);
		else
			ret = EOPNOTSUPP; /* srxe serves other verbs itself */
	}
	if (ret >= 0)
		srxed_cmdfile_reply_write(&cs->cf, w->unique, ret,
					  ret ? 0 : w->len);
}

static void on_release(void *opaque, uint64_t fh)
{
	struct srxed_chan_ctx *ctx = ctx_by_fh(opaque, fh);

	if (ctx)
		ctx->bound = false;
}

/* ---- liveness of service threads ---- */

static bool svc_thread_alive(const struct srxed_chan_ctx *ctx)
{
	char path[64];

	if (ctx->svc_tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)ctx->pid,
			 (int)ctx->svc_tid);
	else
		snprintf(path, sizeof(path), "/proc/%d", (int)ctx->pid);
	return access(path, F_OK) == 0;
}

/*
 * A process killed during a command-file write keeps its fd table (the
 * writing thread waits for us uninterruptibly), so the service socket
 * does not hang up: look for the service thread instead.
 */
static void timer_tick(struct srxed_chans *cs)
{
	uint64_t ticks;
	bool waiting = false;

	if (read(cs->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_warn("channel timer: %s", strerror(errno));
	for (struct srxed_chan_ctx *c = cs->ctxs; c; c = c->next) {
		if (c->pending && !svc_thread_alive(c)) {
			log_info("client %llu: service thread gone, channel "
				 "request failed",
				 (unsigned long long)c->session_id);
			fail_pending(c, ECONNABORTED);
		}
		waiting |= c->pending != NULL;
	}
	arm_timer(cs, waiting);
}

/* ---- the module's epoll set ---- */

void srxed_chans_event(struct srxed *d)
{
	struct srxed_chans *cs = d->chans;
	struct epoll_event evs[CHAN_EVENTS];
	struct tag *t;
	int i, n;

	if (!cs)
		return;
	n = epoll_wait(cs->epfd, evs, CHAN_EVENTS, 0);
	for (i = 0; i < n; i++) {
		t = evs[i].data.ptr;
		switch (t->kind) {
		case TAG_FUSE:
			if (!srxed_cmdfile_serve(&cs->cf)) {
				unwatch(cs, cs->cf.mnt.fd);
				cs->cf_ok = false;
			}
			break;
		case TAG_SVC:
			svc_readable(t->obj);
			break;
		case TAG_CHANNEL:
			/* Only one event per channel per batch: freeing it
			 * here cannot leave a later event dangling. */
			orphan_channel(t->obj);
			break;
		case TAG_TIMER:
			timer_tick(cs);
			break;
		}
	}
}

int srxed_chan_open(struct srxed *d, struct srxed_session *s,
		    const struct srxe_chan_open_req *req,
		    struct srxe_chan_open_resp *resp, int *reply_fd, char *why)
{
	struct srxed_chans *cs = d->chans;
	struct srxed_chan_ctx *ctx;
	char path[64];
	int sv[2];

	if (req->reserved)
		return say(why, EINVAL, "reserved field must be 0");
	if (!cs || !cs->cf_ok)
		return say(why, EOPNOTSUPP,
			   "completion channels are unavailable: %s",
			   cs ? cs->cf_why : "not started");
	if (s->chan)
		return say(why, EBUSY, "the context already has its service");
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return say(why, ENOMEM, "srxed is out of memory");
	if (getrandom(ctx->token, sizeof(ctx->token), 0) !=
	    sizeof(ctx->token)) {
		free(ctx);
		return say(why, EIO, "no random bytes for the token");
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		free(ctx);
		return say(why, errno, "service socket: %s", strerror(errno));
	}
	ctx->tag = (struct tag){ TAG_SVC, ctx };
	ctx->cs = cs;
	ctx->session_id = s->id;
	ctx->svc_fd = sv[0];
	ctx->peer_fd = sv[1];
	ctx->token_live = true;
	ctx->pid = s->cred.pid;
	ctx->uid = s->cred.uid;
	/* A tid from another pid namespace is not ours to check. */
	snprintf(path, sizeof(path), "/proc/%d/task/%u", (int)ctx->pid,
		 req->svc_tid);
	ctx->svc_tid = access(path, F_OK) == 0 ? (pid_t)req->svc_tid : 0;
	if (watch(cs, sv[0], EPOLLIN, &ctx->tag)) {
		close(sv[0]);
		close(sv[1]);
		free(ctx);
		return say(why, ENOMEM, "cannot watch the service socket");
	}
	ctx->next = cs->ctxs;
	if (cs->ctxs)
		cs->ctxs->prev = ctx;
	cs->ctxs = ctx;
	s->chan = ctx;
	memcpy(resp->token, ctx->token, sizeof(resp->token));
	*reply_fd = sv[1];
	return 0;
}

static void free_ctx(struct srxed_chan_ctx *ctx)
{
	struct srxed_chans *cs = ctx->cs;

	fail_pending(ctx, ECONNABORTED);
	while (ctx->channels) {
		if (ctx->channels->cqs) {
			/* The engine may still write to it: keep the fd. */
			log_err("client %llu: channel still used by %u CQs",
				(unsigned long long)ctx->session_id,
				ctx->channels->cqs);
			ctx->channels = ctx->channels->next;
			continue;
		}
		free_channel(ctx->channels);
	}
	if (!ctx->svc_dead)
		unwatch(cs, ctx->svc_fd);
	close(ctx->svc_fd);
	if (ctx->peer_fd >= 0)
		close(ctx->peer_fd);
	if (ctx->prev)
		ctx->prev->next = ctx->next;
	else
		cs->ctxs = ctx->next;
	if (ctx->next)
		ctx->next->prev = ctx->prev;
	free(ctx);
}

void srxed_chan_close(struct srxed *d, struct srxed_session *s)
{
	(void)d;
	if (!s->chan)
		return;
	free_ctx(s->chan);
	s->chan = NULL;
}

static int start_cmdfile(struct srxed_chans *cs)
{
	char path[PATH_MAX + 8];
	int ret;

	snprintf(path, sizeof(path), "%s/%s", cs->d->cfg.rundir,
		 SRXE_CMDFILE_NAME);
	cs->cf.on_write = on_write;
	cs->cf.on_release = on_release;
	cs->cf.opaque = cs;
	ret = srxed_cmdfile_mount(&cs->cf, path, cs->cf_why,
				  sizeof(cs->cf_why));
	if (ret) {
		log_warn("completion channels unavailable: %s", cs->cf_why);
		return ret;
	}
	if (watch(cs, cs->cf.mnt.fd, EPOLLIN, &cs->fuse_tag)) {
		snprintf(cs->cf_why, sizeof(cs->cf_why), "epoll: %s",
			 strerror(errno));
		srxed_cmdfile_unmount(&cs->cf);
		return -errno;
	}
	cs->cf_ok = true;
	log_info("command file %s mounted (completion channels)", path);
	return 0;
}

int srxed_chans_start(struct srxed *d, int server_epoll_fd)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.ptr = (void *)&chans_poll_tag };
	struct srxed_chans *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return -ENOMEM;
	cs->d = d;
	cs->cf.mnt.fd = -1;
	cs->fuse_tag = (struct tag){ TAG_FUSE, cs };
	cs->timer_tag = (struct tag){ TAG_TIMER, cs };
	cs->epfd = epoll_create1(EPOLL_CLOEXEC);
	cs->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (cs->epfd < 0 || cs->timer_fd < 0 ||
	    watch(cs, cs->timer_fd, EPOLLIN, &cs->timer_tag) ||
	    epoll_ctl(server_epoll_fd, EPOLL_CTL_ADD, cs->epfd, &ev)) {
		int ret = -errno;

		log_err("completion channels: %s", strerror(-ret));
		if (cs->epfd >= 0)
			close(cs->epfd);
		if (cs->timer_fd >= 0)
			close(cs->timer_fd);
		free(cs);
		return ret;
	}
	d->chans = cs;
	start_cmdfile(cs);
	return 0;
}

void srxed_chans_stop(struct srxed *d)
{
	struct srxed_chans *cs = d->chans;

	if (!cs)
		return;
	while (cs->ctxs)
		free_ctx(cs->ctxs);
	srxed_cmdfile_unmount(&cs->cf);
	close(cs->timer_fd);
	close(cs->epfd);
	free(cs);
	d->chans = NULL;
}
