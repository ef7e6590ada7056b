// SPDX-License-Identifier: MIT
/* srxed's FUSE command file, raw /dev/fuse protocol (contract in cmdfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmdfile.h"
#include "log.h"

/* Commands are tiny; the kernel still wants room for a max_write write. */
#define CMDFILE_MAX_WRITE 4096
#define CMDFILE_BUF	  (FUSE_MIN_READ_BUFFER + CMDFILE_MAX_WRITE)
#define CMDFILE_MODE	  (S_IFREG | 0666)

static void reply(struct srxed_cmdfile *cf, uint64_t unique, int err,
		  const void *body, size_t len)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh) + (err ? 0 : len),
		.error = -err,
		.unique = unique,
	};
	struct iovec iov[2] = { { &oh, sizeof(oh) }, { (void *)body, len } };

	/* ENOENT: the request was aborted meanwhile; nothing to do. */
	if (writev(cf->fd, iov, err || !len ? 1 : 2) < 0 && errno != ENOENT)
		log_warn("command file: answer to request %llu lost: %s",
			 (unsigned long long)unique, strerror(errno));
}

static void do_init(struct srxed_cmdfile *cf, const struct fuse_in_header *h,
		    const void *arg, size_t len)
{
	const struct fuse_init_in *in = arg;
	struct fuse_init_out out = { .major = FUSE_KERNEL_VERSION };

	if (len < 8 || in->major != FUSE_KERNEL_VERSION) {
		/* Tell the kernel which major we speak; it then gives up. */
		reply(cf, h->unique, 0, &out, 8);
		return;
	}
	out.minor = in->minor < FUSE_KERNEL_MINOR_VERSION
			    ? in->minor
			    : FUSE_KERNEL_MINOR_VERSION;
	/* No flags: no writeback cache, no async reads, no splice. */
	out.max_write = CMDFILE_MAX_WRITE;
	out.max_background = 16;
	out.congestion_threshold = 12;
	out.time_gran = 1;
	cf->initialized = true;
	reply(cf, h->unique, 0, &out, sizeof(out));
}

static void fill_attr(struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = FUSE_ROOT_ID;
	a->mode = CMDFILE_MODE;
	a->nlink = 1;
	a->uid = getuid();
	a->gid = getgid();
	a->blksize = 4096;
}

static void do_getattr(struct srxed_cmdfile *cf, const struct fuse_in_header *h)
{
	struct fuse_attr_out out = { .attr_valid = 1 };

	fill_attr(&out.attr);
	reply(cf, h->unique, 0, &out, sizeof(out));
}

static void do_open(struct srxed_cmdfile *cf, const struct fuse_in_header *h)
{
	/* Every open is its own handle: one per verbs context. */
	struct fuse_open_out out = {
		.fh = ++cf->next_fh,
		.open_flags = FOPEN_DIRECT_IO,
	};

	reply(cf, h->unique, 0, &out, sizeof(out));
}

static void do_statfs(struct srxed_cmdfile *cf, const struct fuse_in_header *h)
{
	struct fuse_statfs_out out = {
		.st = { .bsize = 4096, .frsize = 4096, .namelen = 255 }
	};

	reply(cf, h->unique, 0, &out, sizeof(out));
}

static void do_write(struct srxed_cmdfile *cf, const struct fuse_in_header *h,
		     const void *arg, size_t len)
{
	const struct fuse_write_in *in = arg;
	struct srxed_cmdfile_write w;
	size_t hdr = sizeof(*in);

	if (len < hdr || in->size > len - hdr) {
		reply(cf, h->unique, EINVAL, NULL, 0);
		return;
	}
	w = (struct srxed_cmdfile_write){
		.unique = h->unique,
		.fh = in->fh,
		.uid = h->uid,
		.pid = h->pid,
		.data = (const char *)arg + hdr,
		.len = in->size,
	};
	cf->on_write(cf->opaque, &w);
}

static void do_release(struct srxed_cmdfile *cf, const struct fuse_in_header *h,
		       const void *arg, size_t len)
{
	const struct fuse_release_in *in = arg;

	if (len >= sizeof(*in) && cf->on_release)
		cf->on_release(cf->opaque, in->fh);
	reply(cf, h->unique, 0, NULL, 0);
}

static void dispatch(struct srxed_cmdfile *cf, const struct fuse_in_header *h,
		     const void *arg, size_t len)
{
	switch (h->opcode) {
	case FUSE_INIT:
		do_init(cf, h, arg, len);
		break;
	case FUSE_GETATTR:
		do_getattr(cf, h);
		break;
	case FUSE_OPEN:
		do_open(cf, h);
		break;
	case FUSE_WRITE:
		do_write(cf, h, arg, len);
		break;
	case FUSE_RELEASE:
		do_release(cf, h, arg, len);
		break;
	case FUSE_STATFS:
		do_statfs(cf, h);
		break;
	case FUSE_FLUSH:
	case FUSE_FSYNC:
	case FUSE_DESTROY:
		reply(cf, h->unique, 0, NULL, 0);
		break;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		/* No answer: the interrupted write is answered anyway, and
		 * promptly (cmdfile.h). */
		break;
	case FUSE_IOCTL:
		/* libibverbs' ioctl probe: ENOTTY selects write(). */
		reply(cf, h->unique, ENOTTY, NULL, 0);
		break;
	case FUSE_READ:
		reply(cf, h->unique, EINVAL, NULL, 0);
		break;
	case FUSE_SETATTR:
		reply(cf, h->unique, EPERM, NULL, 0);
		break;
	default:
		reply(cf, h->unique, ENOSYS, NULL, 0);
		break;
	}
}

bool srxed_cmdfile_serve(struct srxed_cmdfile *cf)
{
	const struct fuse_in_header *h = cf->buf;
	ssize_t n;

	while (cf->fd >= 0) {
		n = read(cf->fd, cf->buf, CMDFILE_BUF);
		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n < 0) {
			log_warn("command file %s: %s", cf->path,
				 errno == ENODEV ? "unmounted"
						 : strerror(errno));
			return false;
		}
		if ((size_t)n < sizeof(*h) || h->len != (size_t)n) {
			log_warn("command file: malformed request");
			continue;
		}
		dispatch(cf, h, h + 1, n - sizeof(*h));
	}
	return false;
}

void srxed_cmdfile_reply_write(struct srxed_cmdfile *cf, uint64_t unique,
			       int err, uint32_t len)
{
	struct fuse_write_out out = { .size = len };

	if (cf->fd >= 0)
		reply(cf, unique, err, &out, sizeof(out));
}

int srxed_cmdfile_detach(const char *path)
{
	if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		return 0;
	return errno == EINVAL || errno == ENOENT ? 0 : -errno;
}

/*
 * The id of the topmost mount at path (first field of mountinfo), or -1.
 * Only syscalls and string scanning: the guard runs it after fork() of a
 * threaded srxed.  Escaped mount points (spaces...) never match: the
 * guard then leaves the mount alone.
 */
static long mount_id_at(const char *path)
{
	static char buf[1 << 18];
	size_t len = 0, plen = strlen(path);
	long id = -1, mid;
	char *line, *nl, *f;
	ssize_t n;
	int fd, i;

	fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while (len < sizeof(buf) - 1 &&
	       (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	close(fd);
	buf[len] = 0;
	for (line = buf; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		*nl = 0;
		mid = strtol(line, &f, 10);
		for (i = 0; i < 3 && f; i++) /* parent, maj:min, root */
			f = strchr(f + 1, ' ');
		if (f && !strncmp(f + 1, path, plen) && f[1 + plen] == ' ')
			id = mid;
	}
	return id;
}

static void guard_main(int rfd, const char *path, long id)
	__attribute__((noreturn));

/* The guard: waits for srxed to go, then detaches srxed's mount. */
static void guard_main(int rfd, const char *path, long id)
{
	sigset_t all;
	ssize_t n;
	char b;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	prctl(PR_SET_NAME, "srxed-cmdguard");
	/* Holding /dev/fuse would keep a dead srxed's mount answering. */
	if (dup2(rfd, 0) < 0 || close_range(1, ~0U, 0) < 0)
		_exit(1);
	do
		n = read(0, &b, 1);
	while (n > 0 || (n < 0 && errno == EINTR));
	if (id >= 0 && mount_id_at(path) == id)
		umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
	_exit(0);
}

static void start_guard(struct srxed_cmdfile *cf)
{
	long id = mount_id_at(cf->path);
	int p[2];
	pid_t pid;

	if (id < 0 || pipe2(p, O_CLOEXEC))
		return;
	pid = fork();
	if (pid == 0)
		guard_main(p[0], cf->path, id);
	close(p[0]);
	if (pid < 0) {
		log_warn("command file: no guard process: %s", strerror(errno));
		close(p[1]);
		return;
	}
	cf->guard_fd = p[1];
	cf->guard_pid = pid;
}

static void stop_guard(struct srxed_cmdfile *cf)
{
	if (cf->guard_fd >= 0)
		close(cf->guard_fd);
	cf->guard_fd = -1;
	if (cf->guard_pid > 0)
		waitpid(cf->guard_pid, NULL, 0);
	cf->guard_pid = 0;
}

static int make_mountpoint(const char *path)
{
	int fd;

	srxed_cmdfile_detach(path);
	fd = open(path, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int fail(struct srxed_cmdfile *cf, int err, char *why, size_t cap,
		const char *what)
{
	snprintf(why, cap, "%s: %s", what, strerror(-err));
	if (cf->fd >= 0)
		close(cf->fd);
	cf->fd = -1;
	free(cf->buf);
	cf->buf = NULL;
	return err;
}

int srxed_cmdfile_mount(struct srxed_cmdfile *cf, const char *path, char *why,
			size_t cap)
{
	char opts[128];
	int ret;

	cf->fd = cf->guard_fd = -1;
	cf->guard_pid = 0;
	cf->mounted = cf->initialized = false;
	if (snprintf(cf->path, sizeof(cf->path), "%s", path) >=
	    (int)sizeof(cf->path))
		return fail(cf, -ENAMETOOLONG, why, cap, path);
	cf->buf = malloc(CMDFILE_BUF);
	if (!cf->buf)
		return fail(cf, -ENOMEM, why, cap, "command file buffer");
	cf->fd = open("/dev/fuse", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (cf->fd < 0)
		return fail(cf, -errno, why, cap, "cannot open /dev/fuse");
	ret = make_mountpoint(path);
	if (ret)
		return fail(cf, ret, why, cap,
			    "cannot create the command file");
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=%o,user_id=%u,group_id=%u,allow_other", cf->fd,
		 CMDFILE_MODE, (unsigned int)getuid(), (unsigned int)getgid());
	if (mount("srxed", path, "fuse.srxed", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  opts) < 0) {
		ret = -errno;
		unlink(path);
		return fail(cf, ret, why, cap, "cannot mount the command file");
	}
	cf->mounted = true;
	start_guard(cf);
	return 0;
}

void srxed_cmdfile_unmount(struct srxed_cmdfile *cf)
{
	if (cf->mounted) {
		srxed_cmdfile_detach(cf->path);
		unlink(cf->path);
	}
	stop_guard(cf);
	cf->mounted = false;
	if (cf->fd >= 0)
		close(cf->fd);
	cf->fd = -1;
	free(cf->buf);
	cf->buf = NULL;
}
