/* SPDX-License-Identifier: MIT */
/*
 * srxed's control plane: one thread, one epoll set holding the listening
 * SOCK_SEQPACKET socket, a signalfd and every client connection.
 *
 * Contract:
 *  - srxed_server_start() creates <rundir>/srxed.sock (mode 0666, a stale
 *    socket is replaced, a live one is an error) and <rundir>/srxed.pid.
 *  - srxed_server_run() serves until SIGTERM or SIGINT; one bad client
 *    never blocks, crashes or disturbs another: replies are sent without
 *    blocking (a client that does not read its replies is simply not read
 *    from until it does), and all its state goes when its socket goes.
 *  - srxed_server_stop() frees every client and removes both files.
 */
#ifndef SRXED_SERVER_H
#define SRXED_SERVER_H

#include <limits.h>
#include <stdint.h>

#include "srxed.h"

/* sockaddr_un.sun_path bounds the run directory anyway. */
#define SRXED_PATH_MAX 128

struct srxed_conn;

struct srxed_server {
	struct srxed *d;
	int epoll_fd;
	int listen_fd;
	int signal_fd;
	int reserve_fd; /* spare fd, given up to shed connections on EMFILE */
	char sock_path[SRXED_PATH_MAX];
	char pid_path[SRXED_PATH_MAX];
	struct srxed_conn *conns;     /* live connections */
	struct srxed_conn *graveyard; /* closed during this epoll batch */
	uint32_t overflow;	      /* connections refused with EUSERS */
	uint64_t next_id;
	int stop_signal;
};

/* Returns 0 or a negative errno; the reason has been logged. */
int srxed_server_start(struct srxed_server *srv, struct srxed *d);
/* Returns 0 after a stop signal, or a negative errno on a fatal error. */
int srxed_server_run(struct srxed_server *srv);
void srxed_server_stop(struct srxed_server *srv);

#endif /* SRXED_SERVER_H */
