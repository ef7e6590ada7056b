// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the control protocol as srxed serves it.  Each input
 * is a short conversation of one client: every message goes through
 * srxed_dispatch() -- the codec's srxe_msg_check_request() and then the
 * real handler -- against a real session of a real struct srxed with a
 * running engine (no wire transport), exactly what conn.c does after
 * recvmsg() minus the socket.
 *
 * Input: one mode byte (fuzz_ctl.h), then records of a 16-bit
 * little-endian length and that many bytes, one datagram each.
 *
 * Oracles beyond the sanitizers:
 *  - every reply is a well-formed reply to its request
 *    (srxe_msg_check_reply() accepts it), as the provider will check it;
 *  - a descriptor handed out with a reply is open;
 *  - after the session is destroyed (the client "disconnects") every
 *    device-wide counter -- contexts, PDs, MRs, CQs, QPs, SRQs, AHs, live
 *    QP numbers, memory statistics -- is back to zero: nothing leaked
 *    across the session's end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/engine.h"
#include "fuzz_ctl.h"
#include "fuzz_entry.h"
#include "srxed/devattr.h"
#include "srxed/handlers.h"
#include "srxed/options.h"
#include "srxed/session.h"
#include "srxed/srxed.h"

static struct srxed d;
static int peer[2] = { -1, -1 }; /* a connected pair, for SO_PEERCRED */
static uint64_t next_session = 1;
static bool trace; /* FUZZ_TRACE=1: one line per request, for people */

static void die(const char *what, const char *why)
{
	fprintf(stderr, "fuzz_ctl: %s: %s\n", what, why ? why : "?");
	abort();
}

/* srxed's own command-line parser and device probe, so that limits and
 * defaults are the daemon's. */
static void configure(void)
{
	char *argv[] = { "srxed",
			 "--name",
			 FUZZ_CTL_DEVICE,
			 "--rundir",
			 "/nonexistent/fuzz_ctl",
			 "--ip",
			 FUZZ_CTL_IP,
			 "--netdev",
			 "lo",
			 "--max-reg-bytes",
			 FUZZ_CTL_MAX_REG,
			 "--max-mrs",
			 "64",
			 NULL };
	char err[256];

	if (srxed_parse_options((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv,
				&d.cfg, err, sizeof(err)) != SRXED_PARSE_OK)
		die("options", err);
	if (srxed_device_probe(&d, err, sizeof(err)))
		die("device probe", err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct srxe_engine_config ec = {
		.active_mtu = IBV_MTU_1024,
		.threads = 1,
		.spin_us = 50,
	};
	const char *why = NULL;

	trace = getenv("FUZZ_TRACE") != NULL;
	/* As srxed's server does: a client's async-event pipe may break. */
	signal(SIGPIPE, SIG_IGN);
	configure();
	ec.ipv4_be = d.cfg.ipv4_be;
	/* Same-host only: a fuzzer must not open raw sockets on 4791. */
	if (srxe_engine_start(&ec, &d.engine, &why))
		die("engine", why);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, peer))
		die("socketpair", strerror(errno));
	return 0;
}

/* The reply must be what the provider's client code accepts. */
static void check_reply(const void *msg, size_t len, const void *reply,
			size_t rlen, int reply_fd)
{
	struct srxe_msg_hdr req;
	const void *body;
	char reason[SRXE_REASON_MAX + 1];
	int ret;

	if (!rlen || rlen > SRXE_MSG_MAX)
		die("reply", "empty or oversized");
	if (reply_fd >= 0 && fcntl(reply_fd, F_GETFD) < 0)
		die("reply fd", "not open");
	/* Only requests whose header made it can be matched to a reply. */
	if (len < sizeof(req))
		return;
	memcpy(&req, msg, sizeof(req));
	if (!srxe_op_info(req.opcode))
		return;
	ret = srxe_msg_check_reply(reply, rlen, req.opcode, req.req_id, &body,
				   reason, sizeof(reason));
	if (ret < 0)
		die("reply", "malformed reply to a request");
}

static void trace_reply(const uint8_t *msg, size_t len, const char *reply,
			size_t rlen, int err)
{
	const struct srxe_msg_hdr *h = (const void *)reply;
	const struct srxe_op_info *op = srxe_op_info(h->opcode);
	const struct srxe_reply_status *st = (const void *)(h + 1);
	int n = rlen > sizeof(*h) + sizeof(*st) ? (int)st->reason_len : 0;

	if (n > (int)(rlen - sizeof(*h) - sizeof(*st)))
		n = 0;
	fprintf(stderr, "fuzz_ctl: %zu bytes, %s: err %d %.*s\n", len,
		op ? op->name : "?", err, n, (const char *)(st + 1));
}

/* With FUZZ_CTL_FD every datagram carries a pipe's write end, as OPEN_CTX
 * does; whatever the handler did not keep is closed, as conn.c does. */
static void serve(struct srxed_session *s, uint8_t mode, const uint8_t *msg,
		  size_t len)
{
	static union {
		char bytes[SRXE_MSG_MAX];
		uint64_t align;
	} reply;
	int fd = -1, pipefd[2] = { -1, -1 }, err = 0, reply_fd = -1;
	size_t rlen;

	if ((mode & FUZZ_CTL_FD) && pipe2(pipefd, O_CLOEXEC) == 0)
		fd = pipefd[1];
	rlen = srxed_dispatch(&d, s, msg, len, &fd, reply.bytes,
			      sizeof(reply.bytes), &err, &reply_fd);
	check_reply(msg, len, reply.bytes, rlen, reply_fd);
	if (trace)
		trace_reply(msg, len, reply.bytes, rlen, err);
	if (fd >= 0)
		close(fd);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
}

/* conn.c receives into an aligned buffer: serve an aligned copy of exactly
 * n bytes, so that ASan sees any read past the datagram. */
static void serve_copy(struct srxed_session *s, uint8_t mode,
		       const uint8_t *data, size_t n)
{
	uint8_t *msg = malloc(n ? n : 1);

	if (!msg)
		die("malloc", "out of memory");
	memcpy(msg, data, n);
	serve(s, mode, msg, n);
	free(msg);
}

static void open_ctx(struct srxed_session *s)
{
	struct srxe_open_ctx_req r = { .client_version = SRXE_PROTO_VERSION };
	char msg[SRXE_MSG_MAX];
	int n;

	snprintf(r.device, sizeof(r.device), "%s", FUZZ_CTL_DEVICE);
	n = srxe_msg_request(msg, sizeof(msg), SRXE_OP_OPEN_CTX, 1, &r,
			     sizeof(r));
	if (n <= 0)
		die("OPEN_CTX", "cannot encode");
	serve(s, 0, (const uint8_t *)msg, (size_t)n);
	if (!s->has_ctx)
		die("OPEN_CTX", "refused");
}

/* Everything the session owned is gone with it. */
static void check_released(void)
{
	const struct srxed_stats *st = &d.stats;

	if (st->clients || st->pds || st->mr_handles || st->qps || st->cqs ||
	    st->srqs || st->ahs || d.qpns.count || st->mem.mrs ||
	    st->mem.reg_bytes || st->mem.frames_in_use || st->mem.table_pages)
		die("session end", "objects or memory left behind");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srxed_session *s;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	s = srxed_session_new(next_session++, peer[0]);
	if (!s)
		die("session", "out of memory");
	if (mode & FUZZ_CTL_OPEN)
		open_ctx(s);
	while (size >= 2) {
		size_t n = data[0] | (size_t)data[1] << 8;

		data += 2;
		size -= 2;
		n = n < size ? n : size;
		serve_copy(s, mode, data, n);
		data += n;
		size -= n;
	}
	srxed_session_destroy(&d, s);
	check_released();
	return 0;
}
