// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "srxe/paths.h"
#include "chan.h"
#include "cm_ctl.h"
#include "conn.h"
#include "countersfs.h"
#include "log.h"
#include "server.h"

/* Connections beyond --max-clients still get an explanation (EUSERS);
 * beyond this many more they are closed without one.
 */
#define REFUSED_MAX	16
#define EVENTS_PER_WAIT 64

static const enum srxed_poll_kind listener_tag = SRXED_POLL_LISTENER;
static const enum srxed_poll_kind signal_tag = SRXED_POLL_SIGNAL;

static int watch(struct srxed_server *srv, int fd, const void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = (void *)tag };

	return epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static int build_paths(struct srxed_server *srv)
{
	const char *dir = srv->d->cfg.rundir;
	struct sockaddr_un addr;
	int n;

	n = snprintf(srv->sock_path, sizeof(srv->sock_path), "%s/%s", dir,
		     SRXE_SOCKET_NAME);
	if (n < 0 || (size_t)n >= sizeof(addr.sun_path)) {
		log_err("socket path %s/%s is longer than %zu bytes", dir,
			SRXE_SOCKET_NAME, sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	n = snprintf(srv->pid_path, sizeof(srv->pid_path), "%s/%s", dir,
		     SRXE_PIDFILE_NAME);
	if (n < 0 || (size_t)n >= sizeof(srv->pid_path))
		return -ENAMETOOLONG;
	return 0;
}

static int ensure_rundir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_err("cannot create run directory %s: %s", dir,
			strerror(errno));
		return -errno;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		log_err("run directory %s is not a directory", dir);
		return -ENOTDIR;
	}
	return 0;
}

/* A socket file nobody answers on is left over from a dead srxed. */
static int claim_socket_path(const char *path, struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	int live;

	if (fd < 0)
		return -errno;
	live = connect(fd, (struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	if (live) {
		log_err("another srxed is already serving %s", path);
		return -EADDRINUSE;
	}
	if (unlink(path) < 0 && errno != ENOENT) {
		log_err("cannot remove stale socket %s: %s", path,
			strerror(errno));
		return -errno;
	}
	return 0;
}

static int open_listener(struct srxed_server *srv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	strcpy(addr.sun_path, srv->sock_path);
	ret = claim_socket_path(srv->sock_path, &addr);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Any local user may run verbs applications; no listen() yet, so
	 * nobody connects before the mode is right.
	 */
	/* Accepted sockets inherit SO_PASSCRED: every request, even one sent
	 * before srxed accepts, carries its sender (conn.c, peer_mem.h). */
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &(int){ 1 }, sizeof(int)) <
		    0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    chmod(srv->sock_path, 0666) < 0 || listen(fd, SOMAXCONN) < 0) {
		ret = -errno;
		log_err("cannot listen on %s: %s", srv->sock_path,
			strerror(-ret));
		close(fd);
		return ret;
	}
	srv->listen_fd = fd;
	return watch(srv, fd, &listener_tag) < 0 ? -errno : 0;
}

static int write_pidfile(const char *path)
{
	char tmp[SRXED_PATH_MAX + 8], line[32];
	int fd, len, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	len = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	ok = write(fd, line, len) == len;
	if (close(fd) < 0 || !ok || rename(tmp, path) < 0) {
		unlink(tmp);
		goto fail;
	}
	return 0;
fail:
	log_err("cannot write pid file %s: %s", path, strerror(errno));
	return -errno;
}

static int open_signals(struct srxed_server *srv)
{
	sigset_t set;
	int fd;

	/* Replies use MSG_NOSIGNAL; async-event pipes may still break. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	srv->signal_fd = fd;
	return watch(srv, fd, &signal_tag) < 0 ? -errno : 0;
}

int srxed_server_start(struct srxed_server *srv, struct srxed *d)
{
	int ret;

	memset(srv, 0, sizeof(*srv));
	srv->d = d;
	srv->listen_fd = srv->signal_fd = srv->reserve_fd = -1;
	srv->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (srv->epoll_fd < 0)
		return -errno;
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ret = build_paths(srv);
	if (!ret)
		ret = ensure_rundir(d->cfg.rundir);
	if (!ret)
		ret = open_signals(srv);
	if (!ret)
		ret = srxed_chans_start(d, srv->epoll_fd);
	if (!ret)
		ret = srxed_cm_start(d, srv->epoll_fd);
	if (!ret) /* never fatal: sysfs readers go without (logged) */
		srxed_countersfs_start(d, srv->epoll_fd);
	if (!ret)
		ret = open_listener(srv);
	if (!ret)
		ret = write_pidfile(srv->pid_path);
	if (ret)
		srxed_server_stop(srv);
	return ret;
}

static void add_conn(struct srxed_server *srv, int fd)
{
	struct srxed *d = srv->d;
	bool refused =
		d->stats.connections - srv->overflow >= d->cfg.max_clients;
	struct epoll_event ev = { .events = EPOLLIN };
	struct srxed_conn *c;

	if (refused && srv->overflow >= REFUSED_MAX) {
		log_warn("connection closed unanswered: %u clients connected",
			 d->stats.connections);
		close(fd);
		return;
	}
	c = conn_new(srv, fd, refused);
	ev.data.ptr = c;
	if (!c || epoll_ctl(srv->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		log_err("cannot serve a new connection: %s", strerror(errno));
		if (c)
			conn_close(srv, c);
		else
			close(fd);
		return;
	}
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	d->stats.connections++;
	srv->overflow += refused;
	log_info("client %llu connected: pid %d uid %u gid %u (%s)%s",
		 (unsigned long long)c->session->id, (int)c->session->cred.pid,
		 (unsigned int)c->session->cred.uid,
		 (unsigned int)c->session->cred.gid, c->session->comm,
		 refused ? ", refused: --max-clients reached" : "");
}

/* Out of descriptors: accept with the spare one and drop the connection,
 * so that the pending connection does not wake us forever.
 */
static void shed_connection(struct srxed_server *srv)
{
	int fd;

	if (srv->reserve_fd < 0)
		return;
	close(srv->reserve_fd);
	fd = accept(srv->listen_fd, NULL, NULL);
	if (fd >= 0)
		close(fd);
	srv->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	log_warn("out of file descriptors: connection dropped");
}

static void accept_all(struct srxed_server *srv)
{
	int fd;

	for (;;) {
		fd = accept4(srv->listen_fd, NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			add_conn(srv, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE)
			shed_connection(srv);
		else if (errno != EAGAIN)
			log_err("accept: %s", strerror(errno));
		return;
	}
}

static void unlink_conn(struct srxed_server *srv, struct srxed_conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* Closed connections are freed after the batch: a later event of the
 * same batch may still point at them.
 */
static void retire_conn(struct srxed_server *srv, struct srxed_conn *c)
{
	epoll_ctl(srv->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	unlink_conn(srv, c);
	c->retired = true;
	c->next = srv->graveyard;
	srv->graveyard = c;
}

static void bury_retired(struct srxed_server *srv)
{
	struct srxed_conn *c;

	while ((c = srv->graveyard)) {
		srv->graveyard = c->next;
		srv->d->stats.connections--;
		srv->overflow -= c->refused;
		conn_close(srv, c);
	}
}

static void read_signal(struct srxed_server *srv)
{
	struct signalfd_siginfo si;

	while (read(srv->signal_fd, &si, sizeof(si)) == sizeof(si))
		srv->stop_signal = si.ssi_signo;
}

static void handle_event(struct srxed_server *srv, struct epoll_event *ev)
{
	enum srxed_poll_kind kind = *(enum srxed_poll_kind *)ev->data.ptr;
	struct srxed_conn *c = ev->data.ptr;

	switch (kind) {
	case SRXED_POLL_LISTENER:
		accept_all(srv);
		break;
	case SRXED_POLL_SIGNAL:
		read_signal(srv);
		break;
	case SRXED_POLL_CONN:
		if (!c->retired && !conn_io(srv, c, ev->events))
			retire_conn(srv, c);
		break;
	case SRXED_POLL_CHANS:
		srxed_chans_event(srv->d);
		break;
	case SRXED_POLL_CM:
		srxed_cm_event(srv->d);
		break;
	case SRXED_POLL_COUNTERS:
		srxed_countersfs_event(srv->d);
		break;
	}
}

int srxed_server_run(struct srxed_server *srv)
{
	struct epoll_event evs[EVENTS_PER_WAIT];
	int i, n;

	log_info("serving %s on %s", srv->d->cfg.name, srv->sock_path);
	while (!srv->stop_signal) {
		n = epoll_wait(srv->epoll_fd, evs, EVENTS_PER_WAIT, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (i = 0; i < n; i++)
			handle_event(srv, &evs[i]);
		bury_retired(srv);
	}
	log_info("%s received, shutting down", strsignal(srv->stop_signal));
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void srxed_server_stop(struct srxed_server *srv)
{
	while (srv->conns)
		retire_conn(srv, srv->conns);
	bury_retired(srv);
	srxed_cm_stop(srv->d); /* after the sessions: their DREQs are out */
	srxed_chans_stop(srv->d);
	srxed_countersfs_stop(srv->d);
	if (srv->listen_fd >= 0) {
		unlink(srv->sock_path);
		unlink(srv->pid_path);
	}
	close_fd(&srv->listen_fd);
	close_fd(&srv->signal_fd);
	close_fd(&srv->reserve_fd);
	close_fd(&srv->epoll_fd);
}
