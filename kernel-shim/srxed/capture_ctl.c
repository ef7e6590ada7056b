// SPDX-License-Identifier: MIT
#include "capture_ctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/capture.h"
#include "log.h"

#define CAPTURE_LINKTYPE_ETHERNET 1
#define CAPTURE_SNAPLEN_MAX	  65535u

static int say(char *why, int err, const char *text)
{
	snprintf(why, SRXE_REASON_MAX + 1, "%s", text);
	return err;
}

/* The packets carry every client's data: root or srxed's own user only. */
static bool may_capture(const struct srxed_session *s)
{
	return s->cred.uid == 0 || s->cred.uid == geteuid();
}

/* Records go out one per datagram: only a SOCK_SEQPACKET keeps them. */
static bool is_seqpacket(int fd)
{
	int type = 0, domain = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len))
		return false;
	len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len))
		return false;
	return type == SOCK_SEQPACKET && domain == AF_UNIX;
}

static int check_start(struct srxed *d, struct srxed_session *s,
		       const struct srxe_capture_start_req *r, int fd,
		       char *why)
{
	if (r->reserved)
		return say(why, EINVAL, "reserved field must be 0");
	if (r->snaplen > CAPTURE_SNAPLEN_MAX)
		return say(why, EINVAL, "snaplen above 65535");
	if (!may_capture(s))
		return say(why, EPERM,
			   "only root or the user srxed runs as may capture "
			   "(packets carry every client's data)");
	if (fd < 0 || !is_seqpacket(fd))
		return say(why, EINVAL,
			   "CAPTURE_START needs an AF_UNIX SOCK_SEQPACKET "
			   "socket passed with it");
	if (s->capture)
		return say(why, EBUSY, "this connection already ran a capture");
	return 0;
}

int srxed_capture_start(struct srxed *d, struct srxed_session *s,
			const struct srxe_capture_start_req *r, int *fd,
			struct srxe_capture_start_resp *out, char *why)
{
	struct srxe_capture_opts o = { .fd = *fd,
				       .max_packets = r->max_packets,
				       .snaplen = r->snaplen };
	const char *reason;
	int ret = check_start(d, s, r, *fd, why);

	if (ret)
		return ret;
	if (!d->engine)
		return say(why, ENODEV, "this srxed runs no engine");
	memcpy(o.mac, d->dev.mac, sizeof(o.mac));
	ret = srxe_capture_start(d->engine, &o, &s->capture, &reason);
	if (ret)
		return say(why, -ret, reason);
	*fd = -1;
	out->linktype = CAPTURE_LINKTYPE_ETHERNET;
	out->snaplen = r->snaplen ? r->snaplen : CAPTURE_SNAPLEN_MAX;
	log_info("client %llu: capture of %s started (max %llu packets)",
		 (unsigned long long)s->id, d->cfg.name,
		 (unsigned long long)r->max_packets);
	return 0;
}

int srxed_capture_stop(struct srxed *d, struct srxed_session *s,
		       struct srxe_capture_stop_resp *out, char *why)
{
	struct srxe_capture_counts n;

	if (!s->capture)
		return say(why, EINVAL,
			   "no capture was started on this connection");
	srxe_capture_stop(s->capture, &n);
	out->captured = n.captured;
	out->dropped = n.dropped;
	log_info("client %llu: capture stopped: %llu packets, %llu dropped",
		 (unsigned long long)s->id, (unsigned long long)n.captured,
		 (unsigned long long)n.dropped);
	return 0;
}

void srxed_capture_close(struct srxed *d, struct srxed_session *s)
{
	if (!s->capture)
		return;
	srxe_capture_free(s->capture);
	s->capture = NULL;
	log_info("client %llu: capture ended with its connection",
		 (unsigned long long)s->id);
}
