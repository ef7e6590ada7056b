// SPDX-License-Identifier: MIT
/*
 * Issue #5: srxed's CAPTURE_START / CAPTURE_STOP (kernel-shim/srxed/
 * capture_ctl.h) through srxed_dispatch(), against a real struct srxed
 * with a running engine (same-host only).  Bad requests get a clear
 * errno and reason and leave no descriptor behind; a good one streams a
 * pcap header and ends with EOF after CAPTURE_STOP.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/engine.h"
#include "srxed/devattr.h"
#include "srxed/handlers.h"
#include "srxed/options.h"
#include "srxed/session.h"
#include "srxed/srxed.h"

static struct srxed d;
static int peer[2] = { -1, -1 }; /* for SO_PEERCRED */
static struct srxed_session *s;

static void setup(void)
{
	char *argv[] = { "srxed",
			 "--name",
			 "srxecapt",
			 "--rundir",
			 "/nonexistent/capt",
			 "--ip",
			 "127.0.0.1",
			 "--netdev",
			 "lo",
			 NULL };
	struct srxe_engine_config ec = { .active_mtu = IBV_MTU_1024,
					 .threads = 1,
					 .spin_us = 50 };
	const char *why = NULL;
	char err[256];

	memset(&d, 0, sizeof(d));
	cr_assert_eq(srxed_parse_options(9, argv, &d.cfg, err, sizeof(err)),
		     SRXED_PARSE_OK, "%s", err);
	cr_assert_eq(srxed_device_probe(&d, err, sizeof(err)), 0, "%s", err);
	ec.ipv4_be = d.cfg.ipv4_be;
	cr_assert_eq(srxe_engine_start(&ec, &d.engine, &why), 0, "%s", why);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, peer), 0);
	s = srxed_session_new(1, peer[0]);
	cr_assert(s);
}

static void teardown(void)
{
	srxed_session_destroy(&d, s);
	srxe_engine_stop(d.engine);
	close(peer[0]);
	close(peer[1]);
}

/* One request; returns 0 or the errno answered, reason in @reason. */
static int call(struct srxed_session *ss, uint16_t op, const void *body,
		size_t len, int *fd, void *out, char *reason)
{
	char msg[SRXE_MSG_MAX], reply[SRXE_MSG_MAX];
	const void *rbody;
	int n = srxe_msg_request(msg, sizeof(msg), op, 7, body, len), err;
	int reply_fd = -1;
	size_t rlen;

	cr_assert_gt(n, 0);
	rlen = srxed_dispatch(&d, ss, msg, (size_t)n, fd, reply, sizeof(reply),
			      &err, &reply_fd);
	cr_assert_eq(reply_fd, -1, "capture replies carry no descriptor");
	n = srxe_msg_check_reply(reply, rlen, op, 7, &rbody, reason,
				 SRXE_REASON_MAX + 1);
	cr_assert_geq(n, 0, "malformed reply: %s", reason);
	if (!n && out)
		memcpy(out, rbody, srxe_op_info(op)->reply_body);
	return n;
}

static int start(struct srxed_session *ss,
		 const struct srxe_capture_start_req *r, int *fd, char *reason)
{
	struct srxe_capture_start_resp resp;
	int ret = call(ss, SRXE_OP_CAPTURE_START, r, sizeof(*r), fd, &resp,
		       reason);

	if (!ret) {
		cr_assert_eq(resp.linktype, 1);
		cr_assert_eq(resp.snaplen, r->snaplen ? r->snaplen : 65535);
	}
	return ret;
}

/* A request that must fail with @err and a reason holding @fragment; the
 * descriptor it carried must still be the caller's. */
static void expect_refused(const struct srxe_capture_start_req *r, int fd,
			   int err, const char *fragment)
{
	char reason[SRXE_REASON_MAX + 1];
	int kept = fd;

	cr_assert_eq(start(s, r, &kept, reason), err, "errno for \"%s\"",
		     fragment);
	cr_assert(strstr(reason, fragment), "reason \"%s\" lacks \"%s\"",
		  reason, fragment);
	cr_assert_eq(kept, fd, "a refused request must not keep the fd");
	if (fd >= 0)
		cr_assert_geq(fcntl(fd, F_GETFD), 0);
}

Test(srxed_capture, bad_requests_are_refused_with_reasons, .init = setup,
     .fini = teardown)
{
	const struct srxe_capture_start_req ok = { 0 };
	struct srxe_capture_start_req r = ok;
	char reason[SRXE_REASON_MAX + 1];
	int pipefd[2], stream[2], sp[2];

	cr_assert_eq(call(s, SRXE_OP_CAPTURE_STOP, NULL, 0, &(int){ -1 }, NULL,
			  reason),
		     EINVAL);
	cr_assert(strstr(reason, "no capture was started"), "%s", reason);
	expect_refused(&ok, -1, EINVAL, "SOCK_SEQPACKET");
	cr_assert_eq(pipe(pipefd), 0);
	expect_refused(&ok, pipefd[1], EINVAL, "SOCK_SEQPACKET");
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, stream), 0);
	expect_refused(&ok, stream[1], EINVAL, "SOCK_SEQPACKET");
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	r.reserved = 1;
	expect_refused(&r, sp[1], EINVAL, "reserved");
	r = ok;
	r.snaplen = 70000;
	expect_refused(&r, sp[1], EINVAL, "snaplen");
	s->cred.uid = 4321; /* as if another user connected */
	expect_refused(&ok, sp[1], EPERM, "only root or the user srxed");
	for (int i = 0; i < 2; i++) {
		close(pipefd[i]);
		close(stream[i]);
		close(sp[i]);
	}
}

Test(srxed_capture, one_capture_then_stop_and_eof, .init = setup,
     .fini = teardown)
{
	const struct srxe_capture_start_req r = { .snaplen = 2000 };
	struct srxe_capture_stop_resp counts;
	struct srxed_session *other = srxed_session_new(2, peer[0]);
	char reason[SRXE_REASON_MAX + 1], buf[64];
	struct pollfd p = { .events = POLLIN };
	int sp[2], sp2[2], fd;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp2), 0);
	fd = sp[1];
	cr_assert_eq(start(s, &r, &fd, reason), 0, "%s", reason);
	cr_assert_eq(fd, -1, "srxed keeps the socket");
	/* A second capture of the device, from another connection. */
	fd = sp2[1];
	cr_assert_eq(start(other, &r, &fd, reason), EBUSY);
	cr_assert(strstr(reason, "already running"), "%s", reason);
	cr_assert_eq(fd, sp2[1]);
	fd = sp2[1];
	cr_assert_eq(start(s, &r, &fd, reason), EBUSY);
	cr_assert_eq(call(other, SRXE_OP_CAPTURE_STOP, NULL, 0, &(int){ -1 },
			  NULL, reason),
		     EINVAL, "only the starter may stop it");
	cr_assert_eq(call(s, SRXE_OP_CAPTURE_STOP, NULL, 0, &(int){ -1 },
			  &counts, reason),
		     0, "%s", reason);
	cr_assert_eq(counts.captured, 0);
	cr_assert_eq(counts.dropped, 0);
	/* The pcap file header, then EOF. */
	p.fd = sp[0];
	cr_assert_eq(poll(&p, 1, 5000), 1);
	cr_assert_eq(recv(sp[0], buf, sizeof(buf), 0), 24);
	cr_assert_eq(poll(&p, 1, 5000), 1);
	cr_assert_eq(recv(sp[0], buf, sizeof(buf), 0), 0);
	srxed_session_destroy(&d, other);
	close(sp[0]);
	close(sp2[0]);
	close(sp2[1]);
}
