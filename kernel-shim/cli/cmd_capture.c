// SPDX-License-Identifier: MIT
/*
 * srxe capture FILE [--count N] [--name DEV]: the device's RoCEv2 traffic
 * as a classic pcap file (conversation in include/srxe/proto_capture.h).
 *
 * The CLI creates FILE itself, so it belongs to the caller, and copies the
 * datagrams srxed sends on a socketpair into it: each is one complete
 * pcap unit, so the file is valid whenever the copy stops.  SIGINT,
 * SIGTERM and SIGHUP ask srxed to stop; the CLI then copies what srxed
 * still had buffered until EOF.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "commands.h"
#include "rundir.h"
#include "srxe/client.h"

/* Larger than any datagram srxed sends (64 KiB of whole records). */
#define UNIT_BUF     (64 * 1024 + 1)
#define FILE_HDR_LEN 24
#define REC_HDR_LEN  16

struct capture_run {
	const char *file;
	int out;   /* FILE or stdout */
	int data;  /* our end of the socketpair */
	int sigfd; /* SIGINT / SIGTERM / SIGHUP */
	bool stopped;
	bool have_header;
	uint64_t records; /* packets written to the file */
	struct srxe_capture_stop_resp counts;
	struct srxe_conn conn;
};

static int open_output(struct capture_run *r)
{
	if (!strcmp(r->file, "-")) {
		r->out = STDOUT_FILENO;
		return 0;
	}
	r->out = open(r->file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (r->out < 0) {
		fprintf(stderr, "srxe: capture: cannot create %s: %s\n",
			r->file, strerror(errno));
		return -1;
	}
	return 0;
}

static int block_signals(struct capture_run *r)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -1;
	sigdelset(&set, SIGPIPE);
	r->sigfd = signalfd(-1, &set, SFD_CLOEXEC);
	return r->sigfd < 0 ? -1 : 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int start(struct capture_run *r, const struct srxe_cli_opts *o)
{
	struct srxe_capture_start_req req = { .max_packets = o->capture_count };
	struct srxe_capture_start_resp resp;
	int sp[2], ret;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp)) {
		fprintf(stderr, "srxe: capture: socketpair: %s\n",
			strerror(errno));
		return -1;
	}
	r->data = sp[0];
	ret = srxe_call(&r->conn, SRXE_OP_CAPTURE_START, &req, sizeof(req),
			sp[1], &resp, sizeof(resp), NULL);
	close(sp[1]);
	if (ret) {
		r->stopped = true; /* nothing to stop */
		fprintf(stderr, "srxe: capture of %s: %s (%s)\n", o->name,
			r->conn.reason, strerror(ret < 0 ? -ret : ret));
		return -1;
	}
	return 0;
}

static int stop(struct capture_run *r)
{
	int ret;

	if (r->stopped)
		return 0;
	r->stopped = true;
	ret = srxe_call(&r->conn, SRXE_OP_CAPTURE_STOP, NULL, 0, -1, &r->counts,
			sizeof(r->counts), NULL);
	if (ret) {
		fprintf(stderr, "srxe: capture: stop: %s\n", r->conn.reason);
		return -1;
	}
	return 0;
}

/*
 * Records in a datagram of @n bytes: the first datagram is the file
 * header, every later one whole records.  -1 when it is neither, which
 * would leave a broken file.
 */
static long count_records(struct capture_run *r, const char *buf, size_t n)
{
	size_t off = 0;
	long records = 0;

	if (!r->have_header)
		return n == FILE_HDR_LEN ? 0 : -1;
	while (off + REC_HDR_LEN <= n) {
		uint32_t incl;

		memcpy(&incl, buf + off + 8, sizeof(incl));
		if (incl > n - off - REC_HDR_LEN)
			return -1;
		off += REC_HDR_LEN + incl;
		records++;
	}
	return off == n ? records : -1;
}

/* One datagram to the file: 1 copied, 0 at EOF, -1 on error. */
static int copy_unit(struct capture_run *r)
{
	static char buf[UNIT_BUF];
	ssize_t n = recv(r->data, buf, sizeof(buf), MSG_TRUNC);
	long records;

	if (n < 0)
		return errno == EINTR ? 1 : -1;
	if (n == 0)
		return 0;
	records =
		(size_t)n < sizeof(buf) ? count_records(r, buf, (size_t)n) : -1;
	if (records < 0) {
		fprintf(stderr,
			"srxe: capture: malformed datagram of %zd bytes from "
			"srxed\n",
			n);
		return -1;
	}
	if (write_all(r->out, buf, (size_t)n)) {
		fprintf(stderr, "srxe: capture: writing %s: %s\n", r->file,
			strerror(errno));
		return -1;
	}
	r->have_header = true;
	r->records += (uint64_t)records;
	return 1;
}

/* Copies until srxed closes the socket; a signal asks it to stop. */
static int copy_loop(struct capture_run *r)
{
	struct pollfd p[2] = { { .fd = r->data, .events = POLLIN },
			       { .fd = r->sigfd, .events = POLLIN } };

	for (;;) {
		struct signalfd_siginfo si;
		int ret;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[1].revents & POLLIN) {
			if (read(r->sigfd, &si, sizeof(si)) < 0)
				return -1;
			if (stop(r))
				return -1;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ret = copy_unit(r);
			if (ret <= 0)
				return ret;
		}
	}
}

static int run(struct capture_run *r, const struct srxe_cli_opts *o)
{
	struct srxe_rundir rd;
	int ret = srxe_rundir_init(&rd, o->name);

	if (ret) {
		fprintf(stderr, "srxe: runtime root: %s\n", strerror(-ret));
		return -1;
	}
	ret = srxe_conn_open(&r->conn, rd.sock);
	if (ret) {
		fprintf(stderr, "%s: srxed is not running; run `srxe up`\n",
			o->name);
		return -1;
	}
	ret = start(r, o);
	if (!ret)
		ret = copy_loop(r);
	if (stop(r))
		ret = -1;
	srxe_conn_close(&r->conn);
	return ret;
}

int srxe_cmd_capture(const struct srxe_cli_opts *o)
{
	struct capture_run r = { .file = o->capture_file, .data = -1 };
	int ret;

	if (block_signals(&r) || open_output(&r))
		return 1;
	ret = run(&r, o);
	if (r.out != STDOUT_FILENO && close(r.out) && !ret) {
		fprintf(stderr, "srxe: capture: closing %s: %s\n", r.file,
			strerror(errno));
		ret = -1;
	}
	if (r.data >= 0)
		close(r.data);
	close(r.sigfd);
	if (r.have_header)
		fprintf(stderr,
			"srxe capture: %" PRIu64
			" packets written to %s, %" PRIu64
			" dropped (capture buffer full)\n",
			r.records, strcmp(r.file, "-") ? r.file : "stdout",
			(uint64_t)r.counts.dropped);
	return ret ? 1 : 0;
}
