// SPDX-License-Identifier: MIT
/*
 * Completion channels for unmodified libibverbs, provider side (contract
 * in srxe_svc.h): the command file as cmd_fd and the per-context service
 * thread that creates channel pipes inside the application.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "srxe.h"
#include "srxe_fatal.h"
#include "srxe/fdpass.h"
#include "srxe_threads.h"
#include "srxe/paths.h"

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

/* <devdir>/cmd sits next to <devdir>/srxed.sock. */
static int cmdfile_path(struct ibv_device *ibdev, char *path, size_t cap)
{
	char *slash;

	if (srxe_read_socket_path(ibdev, path, cap))
		return -1;
	slash = strrchr(path, '/');
	if (!slash ||
	    (size_t)(slash - path) + sizeof(SRXE_CMDFILE_NAME) + 1 > cap)
		return -1;
	strcpy(slash + 1, SRXE_CMDFILE_NAME);
	return 0;
}

/* @path if it is srxed's FUSE file, else -1: a plain file (srxed without
 * /dev/fuse, or a mount namespace that does not see the mount) would
 * swallow commands. */
static int open_fuse_file(const char *path)
{
	int fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	struct statfs sf;

	if (fd >= 0 && (fstatfs(fd, &sf) || sf.f_type != FUSE_SUPER_MAGIC)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * The command file seen from srxed's mount namespace: `ip netns exec`
 * gives every command a mount namespace of its own, so a client started
 * that way does not see the FUSE mount of an srxed started the same way.
 * /proc/<srxed>/root reaches it where the kernel lets us look (same
 * user, or root); srxed's pid is in srxed.pid next to the file.  A wrong
 * file is harmless: the channel binding needs srxed's one-time token.
 */
static int open_via_srxed_root(const char *path)
{
	char pidfile[IBV_SYSFS_PATH_MAX], alt[IBV_SYSFS_PATH_MAX + 32];
	const char *slash = strrchr(path, '/');
	char buf[24];
	ssize_t n;
	long pid;
	int fd;

	if (path[0] != '/' || !slash ||
	    snprintf(pidfile, sizeof(pidfile), "%.*s/%s", (int)(slash - path),
		     path, SRXE_PIDFILE_NAME) >= (int)sizeof(pidfile))
		return -1;
	fd = open(pidfile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 0 || snprintf(alt, sizeof(alt), "/proc/%ld/root%s", pid,
				 path) >= (int)sizeof(alt))
		return -1;
	return open_fuse_file(alt);
}

int srxe_cmdfile_adopt(struct ibv_device *ibdev, int cmd_fd)
{
	char path[IBV_SYSFS_PATH_MAX];
	int fd, saved;

	if (cmdfile_path(ibdev, path, sizeof(path)))
		return -1;
	fd = open_fuse_file(path);
	if (fd < 0)
		fd = open_via_srxed_root(path);
	if (fd < 0)
		return -1;
	saved = fcntl(cmd_fd, F_DUPFD_CLOEXEC, 0);
	if (saved < 0 || dup3(fd, cmd_fd, O_CLOEXEC) < 0) {
		if (saved >= 0)
			close(saved);
		close(fd);
		return -1;
	}
	close(fd);
	return saved;
}

static void restore_cmd_fd(struct srxe_context *ctx, int saved)
{
	if (saved < 0)
		return;
	dup3(saved, ctx->vctx.context.cmd_fd, O_CLOEXEC);
	close(saved);
}

/*
 * Store the fd number where libibverbs reads it.  process_vm_writev on
 * ourselves turns a bad pointer into EFAULT instead of a crash; where it
 * is filtered (seccomp) a plain store does the job.
 */
static int store_fd(uint64_t where, uint32_t fd)
{
	struct iovec local = { &fd, sizeof(fd) };
	struct iovec remote = { (void *)(uintptr_t)where, sizeof(fd) };

	if (!where || where % sizeof(fd))
		return EFAULT;
	if (process_vm_writev(getpid(), &local, 1, &remote, 1, 0) == sizeof(fd))
		return 0;
	if (errno == EFAULT)
		return EFAULT;
	memcpy((void *)(uintptr_t)where, &fd, sizeof(fd));
	return 0;
}

static int send_reply(int sock, const void *buf, int len, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == len ? 0 : -1;
}

/* One SVC_MAKE_CHANNEL: the pipe, the stored fd, the reply. */
static void make_channel(int sock, const struct srxe_msg_hdr *hdr,
			 const struct srxe_svc_make_channel_req *req)
{
	struct srxe_svc_make_channel_resp resp = { 0 };
	char out[SRXE_MSG_MAX];
	struct stat st;
	int p[2], err, n;

	if (pipe2(p, O_CLOEXEC)) {
		err = errno;
		goto fail;
	}
	err = fstat(p[0], &st) ? errno : store_fd(req->resp_ptr, p[0]);
	if (err) {
		close(p[0]);
		close(p[1]);
		goto fail;
	}
	resp.ino = st.st_ino;
	resp.rd_fd = p[0];
	n = srxe_msg_reply_ok(out, sizeof(out), hdr, &resp, sizeof(resp));
	if (n < 0 || send_reply(sock, out, n, p[1]))
		close(p[0]); /* srxed fails the write: nobody owns it */
	close(p[1]);
	return;
fail:
	n = srxe_msg_reply_err(out, sizeof(out), hdr, err,
			       "cannot create the channel: %s", strerror(err));
	if (n > 0)
		send_reply(sock, out, n, -1);
}

static void serve_one(int sock, const char *buf, size_t len)
{
	struct srxe_msg_hdr hdr;
	const char *why;
	char out[SRXE_MSG_MAX];
	int n;

	n = srxe_msg_check_request(buf, len, &hdr, &why);
	if (!n && hdr.opcode == SRXE_OP_SVC_MAKE_CHANNEL) {
		make_channel(sock, &hdr, (const void *)(buf + sizeof(hdr)));
		return;
	}
	if (len < sizeof(hdr))
		return;
	n = srxe_msg_reply_err(out, sizeof(out), &hdr, EOPNOTSUPP, "%s",
			       why ? why : "not a service request");
	if (n > 0)
		send_reply(sock, out, n, -1);
}

static void *svc_main(void *arg)
{
	struct srxe_context *ctx = arg;
	struct srxe_svc *svc = &ctx->svc;
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

	pthread_setname_np(pthread_self(), "srxe-svc");
	svc->tid = gettid();
	sem_post(&svc->ready);
	while (sem_wait(&svc->go) && errno == EINTR)
		;
	while (svc->fd >= 0) {
		msg = (struct msghdr){ .msg_iov = &iov,
				       .msg_iovlen = 1,
				       .msg_control = cbuf,
				       .msg_controllen = sizeof(cbuf) };
		n = recvmsg(svc->fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		/* srxed sends no descriptors; never keep any. */
		srxe_take_fds(&msg, &fd, &foreign);
		if (fd >= 0)
			close(fd);
		serve_one(svc->fd, buf.bytes, n);
	}
	if (svc->fd >= 0 && !__atomic_load_n(&svc->stopping, __ATOMIC_ACQUIRE))
		srxe_svc_on_hangup(ctx);
	return NULL;
}

void srxe_svc_on_hangup(struct srxe_context *ctx)
{
	__atomic_store_n(&ctx->svc.srxed_gone, true, __ATOMIC_RELEASE);
	srxe_ctx_daemon_gone(ctx); /* device-fatal state, srxe_fatal.h */
}

static int start_thread(struct srxe_context *ctx)
{
	int ret;

	ret = srxe_thread_create(&ctx->svc.thread, NULL, svc_main, ctx);
	if (ret)
		return ret;
	ctx->svc.running = true;
	while (sem_wait(&ctx->svc.ready) && errno == EINTR)
		;
	return 0;
}

/* CHAN_OPEN and the bind write; 0 or a positive errno. */
static int open_service(struct srxe_context *ctx)
{
	struct srxe_chan_open_req req = { .svc_tid = ctx->svc.tid };
	struct srxe_chan_open_resp resp;
	struct srxe_cmdfile_bind bind = {
		.command = SRXE_CMDFILE_BIND,
		.in_words = sizeof(bind) / 4,
	};
	int ret, fd = -1;

	ret = srxe_call(&ctx->conn, SRXE_OP_CHAN_OPEN, &req, sizeof(req), -1,
			&resp, sizeof(resp), &fd);
	if (ret)
		return ret < 0 ? -ret : ret;
	if (fd < 0)
		return EPROTO;
	memcpy(bind.token, resp.token, sizeof(bind.token));
	if (write(ctx->vctx.context.cmd_fd, &bind, sizeof(bind)) !=
	    sizeof(bind)) {
		ret = errno ? errno : EIO;
		close(fd);
		return ret;
	}
	ctx->svc.fd = fd;
	return 0;
}

void srxe_svc_start(struct srxe_context *ctx, int saved_cmd_fd)
{
	struct srxe_svc *svc = &ctx->svc;
	int ret;

	svc->fd = -1;
	if (saved_cmd_fd < 0)
		return; /* no command file: ENOSPC from /dev/full as before */
	sem_init(&svc->ready, 0, 0);
	sem_init(&svc->go, 0, 0);
	ret = start_thread(ctx);
	if (!ret)
		ret = open_service(ctx);
	if (svc->running)
		sem_post(&svc->go);
	if (!ret) {
		close(saved_cmd_fd);
		return;
	}
	if (getenv("SRXE_DEBUG"))
		fprintf(stderr, "%s: no completion channels: %s\n",
			srxe_devname(ctx),
			ctx->conn.reason[0] ? ctx->conn.reason : strerror(ret));
	srxe_svc_stop(ctx);
	restore_cmd_fd(ctx, saved_cmd_fd);
}

void srxe_svc_stop(struct srxe_context *ctx)
{
	struct srxe_svc *svc = &ctx->svc;

	if (!svc->running)
		return;
	__atomic_store_n(&svc->stopping, true, __ATOMIC_RELEASE);
	if (svc->fd >= 0)
		shutdown(svc->fd, SHUT_RDWR);
	pthread_join(svc->thread, NULL);
	svc->running = false;
	if (svc->fd >= 0)
		close(svc->fd);
	svc->fd = -1;
	sem_destroy(&svc->ready);
	sem_destroy(&svc->go);
}
