// SPDX-License-Identifier: MIT
/*
 * Synchronous control-protocol client (contract in include/srxe/client.h).
 * Lives inside foreign programs (the provider), so it never raises SIGPIPE,
 * never leaks a received descriptor and retries interrupted system calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "srxe/client.h"
#include "srxe/fdpass.h"
#include "srxe/paths.h"

/* Room for a few descriptors so that a misbehaving peer's extras are seen
 * (and closed) instead of being silently truncated.
 */
#define RECV_FDS_MAX 4

static int set_reason(struct srxe_conn *c, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_reason(struct srxe_conn *c, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	return ret;
}

int srxe_conn_open(struct srxe_conn *c, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	c->fd = -1;
	c->next_req_id = 1;
	c->reason[0] = '\0';
	if (!path || strlen(path) >= sizeof(addr.sun_path))
		return set_reason(c, -ENAMETOOLONG,
				  "socket path missing or too long");
	strcpy(addr.sun_path, path);

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return set_reason(c, -errno, "socket: %s", strerror(errno));
	do {
		ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	} while (ret < 0 && errno == EINTR);
	if (ret < 0) {
		ret = -errno;
		close(fd);
		return set_reason(c, ret, "cannot connect to srxed at %s: %s",
				  path, strerror(-ret));
	}
	ret = pthread_mutex_init(&c->lock, NULL);
	if (ret) {
		close(fd);
		return set_reason(c, -ret, "pthread_mutex_init: %s",
				  strerror(ret));
	}
	c->fd = fd;
	return 0;
}

void srxe_conn_close(struct srxe_conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	pthread_mutex_destroy(&c->lock);
}

static int send_request(int fd, const void *buf, size_t len, int send_fd)
{
	union {
		char space[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (send_fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.space;
		msg.msg_controllen = sizeof(ctl.space);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &send_fd, sizeof(int));
	}
	do {
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

static ssize_t recv_reply(struct srxe_conn *c, void *buf, size_t cap,
			  int *fd_out)
{
	union {
		char space[CMSG_SPACE(RECV_FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = cap };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = ctl.space,
			      .msg_controllen = sizeof(ctl.space) };
	bool foreign;
	ssize_t n;
	int nfds;

	do {
		n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return set_reason(c, -errno, "receiving reply: %s",
				  strerror(errno));
	nfds = srxe_take_fds(&msg, fd_out, &foreign);
	if (n > 0 && nfds <= 1 && !foreign &&
	    !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return n;
	if (*fd_out >= 0)
		close(*fd_out);
	*fd_out = -1;
	if (n == 0)
		return set_reason(c, -ECONNRESET,
				  "srxed closed the connection");
	return set_reason(c, -EPROTO,
			  "malformed reply from srxed: oversized or "
			  "unexpected ancillary data");
}

static int validate_call(struct srxe_conn *c, uint16_t op, size_t req_len,
			 size_t reply_len)
{
	const struct srxe_op_info *info = srxe_op_info(op);

	if (c->fd < 0)
		return set_reason(c, -EBADF, "connection is not open");
	if (!info)
		return set_reason(c, -EINVAL, "unknown opcode %u", op);
	if (req_len != info->req_body || reply_len != info->reply_body)
		return set_reason(c, -EINVAL,
				  "%s: request/reply size %zu/%zu, expected "
				  "%u/%u",
				  info->name, req_len, reply_len,
				  info->req_body, info->reply_body);
	return 0;
}

static int call_locked(struct srxe_conn *c, uint16_t op, const void *req,
		       size_t req_len, int send_fd, void *reply,
		       size_t reply_len, int *recv_fd)
{
	char buf[SRXE_MSG_MAX];
	uint64_t req_id = c->next_req_id++;
	const void *body;
	int fd = -1, ret;
	ssize_t n;

	n = srxe_msg_request(buf, sizeof(buf), op, req_id, req, req_len);
	if (n < 0)
		return set_reason(c, n, "cannot encode request");
	ret = send_request(c->fd, buf, n, send_fd);
	if (ret)
		return set_reason(c, ret, "sending request to srxed: %s",
				  strerror(-ret));
	n = recv_reply(c, buf, sizeof(buf), &fd);
	if (n < 0)
		return n;
	ret = srxe_msg_check_reply(buf, n, op, req_id, &body, c->reason,
				   sizeof(c->reason));
	if (ret == 0) {
		if (reply_len)
			memcpy(reply, body, reply_len);
		if (recv_fd) {
			*recv_fd = fd;
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return ret;
}

int srxe_call(struct srxe_conn *c, uint16_t op, const void *req, size_t req_len,
	      int send_fd, void *reply, size_t reply_len, int *recv_fd)
{
	int ret;

	if (recv_fd)
		*recv_fd = -1;
	ret = validate_call(c, op, req_len, reply_len);
	if (ret)
		return ret;
	pthread_mutex_lock(&c->lock);
	c->reason[0] = '\0';
	ret = call_locked(c, op, req, req_len, send_fd, reply, reply_len,
			  recv_fd);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* Clients need no notion of SRXE_RUNDIR: sysfs leads to the socket. */
int srxe_read_socket_path(const struct ibv_device *ibdev, char *path,
			  size_t cap)
{
	char attr[IBV_SYSFS_PATH_MAX + sizeof(SRXE_IBDEV_SOCKET_ATTR) + 1];
	ssize_t len;
	int fd;

	snprintf(attr, sizeof(attr), "%s/%s", ibdev->ibdev_path,
		 SRXE_IBDEV_SOCKET_ATTR);
	fd = open(attr, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	len = read(fd, path, cap);
	close(fd);
	if (len < 0)
		return errno;
	while (len > 0 && (path[len - 1] == '\n' || path[len - 1] == ' '))
		len--;
	if (len == 0 || (size_t)len >= cap || path[0] != '/')
		return EINVAL;
	path[len] = '\0';
	return 0;
}
