/* SPDX-License-Identifier: MIT */
/*
 * Life cycle of one srxed process as seen from the CLI: find the binary,
 * start it detached, wait until it answers, ask its STATUS, stop it.
 * Knows nothing about sysfs.
 */
#ifndef SRXE_CLI_DAEMON_H
#define SRXE_CLI_DAEMON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "srxe/proto.h"

struct srxe_daemon_args {
	const char *name;
	const char *devdir;  /* srxed --rundir: socket and pid file go here */
	const char *logfile; /* receives srxed's stdout and stderr */
	const char *netdev;
	uint32_t ipv4_be;
	const uint8_t *ipv6_ll; /* srxed --ip6 (GID 0); NULL: none */
	enum srxe_translation translation;
	uint64_t max_reg_bytes; /* 0: srxed's default */
	/* Per-context limits; 0: srxed's default. */
	uint32_t max_qp, max_cq, max_mr;
	uint32_t engines; /* srxed --engines; 0: srxed's default */
};

/*
 * Locate srxed: $SRXED, then ../srxed/srxed next to this executable (build
 * tree), then the install sbindir, then $PATH.  Returns 0 or -ENOENT.
 */
int srxe_daemon_find_binary(char out[PATH_MAX]);

/* fork + setsid + exec; returns 0 with *pid, or a negative errno. */
int srxe_daemon_start(const char *binary, const struct srxe_daemon_args *a,
		      pid_t *pid);

/*
 * Poll the socket with STATUS until it answers (0), the child pid exits
 * (-ECHILD, why says how), or timeout_ms passes (-ETIMEDOUT).
 */
int srxe_daemon_wait_ready(const char *sock, pid_t pid, int timeout_ms,
			   struct srxe_status_resp *st, char *why, size_t len);

/*
 * One STATUS round trip.  Returns 0, or a negative errno (-ENOENT,
 * -ECONNREFUSED: not running) / positive errno from srxed, with why filled.
 */
int srxe_daemon_status(const char *sock, struct srxe_status_resp *st, char *why,
		       size_t len);

/* Pid from the pid file; 0 when absent or unreadable. */
pid_t srxe_daemon_read_pidfile(const char *pidfile);

/* True when pid is a live (not zombie) process named srxed. */
bool srxe_daemon_is_srxed(pid_t pid);

/*
 * SIGTERM, wait up to term_ms, then SIGKILL and wait up to a second.
 * Returns 0 once the process is gone, -ETIMEDOUT otherwise.
 */
int srxe_daemon_stop(pid_t pid, int term_ms);

#endif /* SRXE_CLI_DAEMON_H */
