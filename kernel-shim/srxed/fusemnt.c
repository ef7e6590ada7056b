// SPDX-License-Identifier: MIT
/* srxed's shared FUSE plumbing, raw /dev/fuse protocol (fusemnt.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fusemnt.h"
#include "log.h"

void srxed_fuse_reply(int fd, uint64_t unique, int err, const void *body,
		      size_t len)
{
	struct fuse_out_header oh = {
		.len = sizeof(oh) + (err ? 0 : len),
		.error = -err,
		.unique = unique,
	};
	struct iovec iov[2] = { { &oh, sizeof(oh) }, { (void *)body, len } };

	/* ENOENT: the request was aborted meanwhile; nothing to do. */
	if (writev(fd, iov, err || !len ? 1 : 2) < 0 && errno != ENOENT)
		log_warn("FUSE: answer to request %llu lost: %s",
			 (unsigned long long)unique, strerror(errno));
}

bool srxed_fuse_init_out(const void *arg, size_t len, uint32_t max_write,
			 struct fuse_init_out *out)
{
	const struct fuse_init_in *in = arg;

	memset(out, 0, sizeof(*out));
	out->major = FUSE_KERNEL_VERSION;
	if (len < 8 || in->major != FUSE_KERNEL_VERSION)
		return false; /* the kernel then gives up */
	out->minor = in->minor < FUSE_KERNEL_MINOR_VERSION
			     ? in->minor
			     : FUSE_KERNEL_MINOR_VERSION;
	out->max_write = max_write;
	out->max_background = 16;
	out->congestion_threshold = 12;
	out->time_gran = 1;
	return true;
}

ssize_t srxed_fusemnt_next(struct srxed_fusemnt *m, void *buf, size_t cap,
			   const char *what)
{
	const struct fuse_in_header *h = buf;
	ssize_t n;

	while (m->fd >= 0) {
		n = read(m->fd, buf, cap);
		if (n < 0 && (errno == EINTR || errno == ENOENT))
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0) {
			log_warn("%s %s: %s", what, m->path,
				 errno == ENODEV ? "unmounted"
						 : strerror(errno));
			return -1;
		}
		if ((size_t)n < sizeof(*h) || h->len != (size_t)n) {
			log_warn("%s: malformed request", what);
			continue;
		}
		return n;
	}
	return -1;
}

int srxed_fuse_detach(const char *path)
{
	if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		return 0;
	return errno == EINVAL || errno == ENOENT ? 0 : -errno;
}

/*
 * Only syscalls and string scanning: the guard runs it after fork() of a
 * threaded srxed.  Escaped mount points (spaces...) never match: the
 * guard then leaves the mount alone.
 */
long srxed_fuse_mount_id(const char *path)
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

struct guard_job {
	const char *path;
	long mount_id;
	const char *const *names; /* NULL: remove nothing */
	dev_t dev;		  /* of the directory, when names */
	ino_t ino;
};

/* The directory's files, then the directory, if it is still ours. */
static void guard_remove(const struct guard_job *j)
{
	struct stat st;
	int dfd;

	dfd = open(j->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	if (fstat(dfd, &st) || st.st_dev != j->dev || st.st_ino != j->ino) {
		close(dfd);
		return;
	}
	for (const char *const *n = j->names; *n; n++)
		unlinkat(dfd, *n, 0);
	close(dfd);
	rmdir(j->path);
}

static void guard_main(int rfd, const struct guard_job *j, const char *comm)
	__attribute__((noreturn));

/* The guard: waits for srxed to go, then cleans up after it. */
static void guard_main(int rfd, const struct guard_job *j, const char *comm)
{
	sigset_t all;
	ssize_t n;
	char b;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	prctl(PR_SET_NAME, comm);
	/* Holding /dev/fuse would keep a dead srxed's mount answering. */
	if (dup2(rfd, 0) < 0 || close_range(1, ~0U, 0) < 0)
		_exit(1);
	do
		n = read(0, &b, 1);
	while (n > 0 || (n < 0 && errno == EINTR));
	if (j->mount_id >= 0) {
		if (srxed_fuse_mount_id(j->path) != j->mount_id)
			_exit(0); /* not our mount any more: hands off */
		umount2(j->path, MNT_DETACH | UMOUNT_NOFOLLOW);
	}
	if (j->names)
		guard_remove(j);
	_exit(0);
}

void srxed_fuse_guard_start(struct srxed_fuse_guard *g, const char *path,
			    long mount_id, const char *const *names,
			    const struct stat *dir, const char *comm)
{
	struct guard_job j = { path, mount_id, names, 0, 0 };
	int p[2];
	pid_t pid;

	g->fd = -1;
	g->pid = 0;
	if (names && !dir)
		return;
	if (names) {
		j.dev = dir->st_dev;
		j.ino = dir->st_ino;
	}
	if (pipe2(p, O_CLOEXEC))
		return;
	pid = fork();
	if (pid == 0)
		guard_main(p[0], &j, comm);
	close(p[0]);
	if (pid < 0) {
		log_warn("%s: no guard process: %s", path, strerror(errno));
		close(p[1]);
		return;
	}
	g->fd = p[1];
	g->pid = pid;
}

void srxed_fuse_guard_stop(struct srxed_fuse_guard *g)
{
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	if (g->pid > 0)
		waitpid(g->pid, NULL, 0);
	g->pid = 0;
}

static int make_mountpoint(const char *path, mode_t rootmode)
{
	int fd;

	srxed_fuse_detach(path);
	if (S_ISDIR(rootmode)) {
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		return 0;
	}
	fd = open(path, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void remove_mountpoint(const char *path, mode_t rootmode)
{
	if (S_ISDIR(rootmode))
		rmdir(path);
	else
		unlink(path);
}

static int fail(struct srxed_fusemnt *m, int err, char *why, size_t cap,
		const char *what)
{
	snprintf(why, cap, "%s%s%s: %s", what, *what ? " " : "", m->path,
		 strerror(-err));
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	return err;
}

int srxed_fusemnt_mount(struct srxed_fusemnt *m, const char *path,
			mode_t rootmode, const char *opts, const char *comm,
			char *why, size_t cap)
{
	static const char *const no_files[] = { NULL };
	char o[256];
	struct stat st;
	int ret;

	m->fd = -1;
	m->guard = (struct srxed_fuse_guard){ -1, 0 };
	m->mounted = false;
	if (snprintf(m->path, sizeof(m->path), "%s", path) >=
	    (int)sizeof(m->path))
		return fail(m, -ENAMETOOLONG, why, cap, "");
	m->fd = open("/dev/fuse", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (m->fd < 0)
		return fail(m, -errno, why, cap, "cannot open /dev/fuse for");
	ret = make_mountpoint(path, rootmode);
	if (ret)
		return fail(m, ret, why, cap, "cannot create");
	snprintf(o, sizeof(o),
		 "fd=%d,rootmode=%o,user_id=%u,group_id=%u,allow_other%s%s",
		 m->fd, (unsigned int)rootmode, (unsigned int)getuid(),
		 (unsigned int)getgid(), *opts ? "," : "", opts);
	/* The guard checks the directory under the mount is still ours. */
	if (lstat(path, &st)) {
		ret = -errno;
		remove_mountpoint(path, rootmode);
		return fail(m, ret, why, cap, "");
	}
	if (mount("srxed", path, "fuse.srxed", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  o) < 0) {
		ret = -errno;
		remove_mountpoint(path, rootmode);
		return fail(m, ret, why, cap, "cannot mount");
	}
	m->mounted = true;
	m->rootmode = rootmode;
	srxed_fuse_guard_start(&m->guard, path, srxed_fuse_mount_id(path),
			       S_ISDIR(rootmode) ? no_files : NULL, &st, comm);
	return 0;
}

void srxed_fusemnt_unmount(struct srxed_fusemnt *m)
{
	if (m->mounted) {
		srxed_fuse_detach(m->path);
		remove_mountpoint(m->path, m->rootmode);
	}
	srxed_fuse_guard_stop(&m->guard);
	m->mounted = false;
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}
