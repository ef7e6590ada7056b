// SPDX-License-Identifier: MIT
/*
 * Only one's own memory: the client's process, its VMAs and its rights on
 * the objects it maps (contract in peer_mem.h).
 */
#include "peer_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "log.h"
#include "srxe/proto.h"

#define say srxed_say

#define PAGE 4096ULL
#define WRITE_ACCESS                                                           \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                    \
	 IBV_ACCESS_REMOTE_ATOMIC)
/* Supplementary groups taken into the check; more are ignored (which can
 * only refuse, never grant). */
#define GROUPS_MAX 256

#ifndef PROCMAP_QUERY
/* The /proc/PID/maps query (Linux 6.11 uapi linux/fs.h), for older
 * headers: one VMA by address, without formatting and parsing them all. */
struct procmap_query {
	uint64_t size, query_flags, query_addr;
	uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset;
	uint64_t inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define PROCMAP_QUERY			   _IOWR('f', 17, struct procmap_query)
#define PROCMAP_QUERY_VMA_READABLE	   0x01
#define PROCMAP_QUERY_VMA_WRITABLE	   0x02
#define PROCMAP_QUERY_VMA_EXECUTABLE	   0x04
#define PROCMAP_QUERY_VMA_SHARED	   0x08
#define PROCMAP_QUERY_COVERING_OR_NEXT_VMA 0x10
#endif

#ifndef FUSE_SUPER_MAGIC
#define FUSE_SUPER_MAGIC 0x65735546
#endif

bool srxed_peer_alive(int pidfd)
{
	/* Signal 0 checks without sending.  EPERM still means "exists". */
	return pidfd >= 0 &&
	       (!syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) ||
		errno != ESRCH);
}

int srxed_peer_open(pid_t pid, int pidfd)
{
	char path[32];
	int dir;

	if (pid <= 0 || pidfd < 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	/* Only now: alive after the open means the directory is its. */
	if (!srxed_peer_alive(pidfd)) {
		close(dir);
		return -ESRCH;
	}
	return dir;
}

int srxed_peer_open_mem(pid_t pid, int pidfd)
{
	int dir = srxed_peer_open(pid, pidfd);
	int fd;

	if (dir < 0)
		return dir;
	fd = openat(dir, "mem", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	close(dir);
	return fd;
}

int srxed_peer_sender_ok(const struct srxed_session *s,
			 const struct ucred *sender, char *why)
{
	if (!sender)
		return say(why, EACCES,
			   "request without sender credentials (SO_PASSCRED)");
	if (sender->pid != s->cred.pid)
		return say(why, EACCES,
			   "sent by pid %d, but this connection belongs to pid "
			   "%d: a process may not use a context it inherited "
			   "or was given",
			   (int)sender->pid, (int)s->cred.pid);
	return 0;
}

/* The client's supplementary groups now (/proc/PID/status).  Count or
 * -errno. */
static int peer_groups(int dir, gid_t *g, int cap)
{
	char buf[4096], *p;
	ssize_t n;
	int fd = openat(dir, "status", O_RDONLY | O_CLOEXEC), count = 0;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n ? -errno : -ESRCH;
	buf[n] = '\0';
	p = strstr(buf, "\nGroups:");
	if (!p)
		return 0;
	p += strlen("\nGroups:");
	while (count < cap) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p)
			break;
		g[count++] = (gid_t)v;
		p = end;
	}
	return count;
}

/* Per-thread credential changes: glibc's setgroups() would change every
 * thread of srxed (setxid broadcast), the raw system call only this one. */
static long set_fs_ids(uid_t uid, gid_t gid, int ngroups, const gid_t *groups)
{
	if (syscall(SYS_setgroups, (size_t)ngroups, groups))
		return -errno;
	syscall(SYS_setfsgid, gid);
	syscall(SYS_setfsuid, uid);
	/* An invalid id changes nothing and returns the current one. */
	if ((uid_t)syscall(SYS_setfsuid, -1) != uid ||
	    (gid_t)syscall(SYS_setfsgid, -1) != gid)
		return -EPERM;
	return 0;
}

/*
 * Could the client open the object behind the O_PATH descriptor @obj with
 * O_RDWR (@write) or O_RDONLY?  Reopens it via /proc/self/fd as the
 * client on this thread only, then becomes srxed again.  0, -EACCES (and
 * the kernel's errno in *why_errno), or -errno when it cannot tell.
 */
static int client_may_open(int dir, const struct ucred *cred, int obj,
			   bool write, int *why_errno)
{
	gid_t *mine = NULL, *theirs = NULL;
	int nmine, ntheirs, fd, err = 0, ret = 0;
	uid_t my_uid = (uid_t)syscall(SYS_setfsuid, -1);
	gid_t my_gid = (gid_t)syscall(SYS_setfsgid, -1);
	char path[40];

	*why_errno = 0;
	/* Root may open anything; a client of srxed's own uid nothing that
	 * srxed could not (a non-root srxed cannot act as anyone else). */
	if (cred->uid == 0 || cred->uid == geteuid())
		return 0;
	mine = calloc(GROUPS_MAX, sizeof(gid_t));
	theirs = calloc(GROUPS_MAX, sizeof(gid_t));
	if (!mine || !theirs) {
		ret = -ENOMEM;
		goto out;
	}
	nmine = (int)syscall(SYS_getgroups, GROUPS_MAX, mine);
	ntheirs = peer_groups(dir, theirs, GROUPS_MAX);
	if (nmine < 0 || ntheirs < 0) {
		ret = nmine < 0 ? -errno : ntheirs;
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", obj);
	ret = (int)set_fs_ids(cred->uid, cred->gid, ntheirs, theirs);
	if (!ret) {
		fd = open(path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC |
					O_NOCTTY | O_NONBLOCK);
		err = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
	}
	if (set_fs_ids(my_uid, my_gid, nmine, mine))
		log_err("cannot restore srxed's own file-system identity: %s",
			strerror(errno));
	if (!ret && err) {
		*why_errno = err;
		ret = -EACCES;
	}
out:
	free(mine);
	free(theirs);
	return ret;
}

/* O_PATH descriptor of map_files/<start>-<end>, or -errno. */
static int open_map_file_path(int dir, uint64_t start, uint64_t end)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "map_files/%llx-%llx",
		 (unsigned long long)start, (unsigned long long)end);
	fd = openat(dir, name, O_PATH | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/*
 * Whether srxed may open the object at all (0, else -EOPNOTSUPP): only
 * regular files -- opening a device node has side effects in its driver
 * -- and none of a FUSE file system, whose server (possibly the client)
 * could stall srxed's control thread in open() forever.
 */
static int openable(int obj)
{
	struct statfs fs;
	struct stat st;

	if (fstat(obj, &st) || !S_ISREG(st.st_mode) || fstatfs(obj, &fs) ||
	    fs.f_type == FUSE_SUPER_MAGIC)
		return -EOPNOTSUPP;
	return 0;
}

int srxed_peer_open_object(int dir, const struct ucred *cred, uint64_t start,
			   uint64_t end, int flags, bool write)
{
	int obj = open_map_file_path(dir, start, end), fd, kerr, ret;
	char path[40];

	if (obj < 0)
		return obj;
	ret = openable(obj);
	if (!ret)
		ret = client_may_open(dir, cred, obj, write, &kerr);
	if (ret) {
		close(obj);
		return ret;
	}
	/* The very object checked, not a second lookup of map_files. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", obj);
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
	ret = fd < 0 ? -errno : fd;
	close(obj);
	return ret;
}

/* One /proc/PID/maps line. */
struct vma {
	uint64_t start, end;
	char perms[5];
	unsigned int maj, min;
	unsigned long ino;
	bool sysv;
};

static bool parse_vma(const char *line, struct vma *v)
{
	unsigned long start, end;
	unsigned long long off;
	int path_at = 0;

	if (sscanf(line, "%lx-%lx %4s %llx %x:%x %lu %n", &start, &end,
		   v->perms, &off, &v->maj, &v->min, &v->ino, &path_at) < 7)
		return false;
	v->start = start;
	v->end = end;
	v->sysv = path_at && !strncmp(line + path_at, "/SYSV", 5);
	return true;
}

struct range_walk {
	int dir;
	const struct ucred *cred;
	uint64_t cur, end; /* page-aligned: the next byte to cover, the end */
	uint32_t access;
	bool shared; /* a shared mapping was seen in the range */
	struct srxed_peer_ranges *priv; /* NULL: not wanted */
	struct stat slab;		/* st_ino 0: no slab */
	char *why;
	int err; /* first refusal, or an internal error */
};

/* The client's rights on the shared object one VMA maps. */
static int check_object(struct range_walk *w, const struct vma *v)
{
	bool write = w->access & WRITE_ACCESS;
	int obj = open_map_file_path(w->dir, v->start, v->end), kerr = 0, ret;
	struct stat st;

	if (obj < 0)
		return obj == -ENOENT
			       ? say(w->why, ESRCH,
				     "the client exited or unmapped 0x%llx "
				     "while registering",
				     (unsigned long long)v->start)
			       : say(w->why, -obj,
				     "cannot open the object the client maps "
				     "at 0x%llx: %s",
				     (unsigned long long)v->start,
				     strerror(-obj));
	if (fstat(obj, &st) || major(st.st_dev) != v->maj ||
	    minor(st.st_dev) != v->min || st.st_ino != v->ino) {
		close(obj);
		return say(w->why, EFAULT,
			   "the mapping at 0x%llx changed while registering",
			   (unsigned long long)v->start);
	}
	/* srxed will not open it (shmreg leaves it to the provider, which
	 * refuses shared memory it cannot move: EOPNOTSUPP). */
	if (openable(obj)) {
		close(obj);
		return 0;
	}
	ret = client_may_open(w->dir, w->cred, obj, write, &kerr);
	close(obj);
	if (ret == -EACCES)
		return say(w->why, EACCES,
			   "0x%llx maps a file (owner uid %u, mode %04o) that "
			   "uid %u may not open for %s: %s",
			   (unsigned long long)v->start, (unsigned)st.st_uid,
			   (unsigned)(st.st_mode & 07777),
			   (unsigned)w->cred->uid,
			   write ? "writing" : "reading", strerror(kerr));
	if (ret)
		return say(w->why, EACCES,
			   "cannot check the client's rights on the file at "
			   "0x%llx: %s",
			   (unsigned long long)v->start, strerror(-ret));
	return 0;
}

/* [w->cur, end) is private memory: append it, merged with the last. */
static void note_private(struct range_walk *w, uint64_t end, unsigned long ino)
{
	struct srxed_peer_ranges *p = w->priv;

	if (!p)
		return;
	p->file_backed |= ino != 0;
	if (p->n && p->v[p->n - 1].end == w->cur)
		p->v[p->n - 1].end = end;
	else if (p->n < SRXED_PEER_RANGES_MAX)
		p->v[p->n++] = (typeof(p->v[0])){ w->cur, end };
	else
		p->overflow = true;
}

/* One VMA of the walk: 1 to go on, 0 when the range is covered, -1 when
 * refused (w->err, w->why). */
static int walk_vma(struct range_walk *w, const struct vma *v)
{
	bool write = w->access & WRITE_ACCESS, other;

	if (v->end <= w->cur)
		return 1;
	if (v->start > w->cur) {
		w->err = say(w->why, EFAULT,
			     "0x%llx is not mapped by the client (pid %d)",
			     (unsigned long long)w->cur, (int)w->cred->pid);
		return -1;
	}
	/* A shared mapping other than the context's own slab (frames srxed
	 * handed out: a buffer registered before). */
	other = v->perms[3] == 's' &&
		!(w->slab.st_ino == v->ino && major(w->slab.st_dev) == v->maj &&
		  minor(w->slab.st_dev) == v->min);
	w->shared |= other;
	if (other && v->ino && !v->sysv) {
		w->err = check_object(w, v);
		if (w->err)
			return -1;
	}
	if (v->perms[0] != 'r' || (write && v->perms[1] != 'w')) {
		w->err = say(
			w->why, EFAULT, "0x%llx lies in a %s mapping (%s): %s",
			(unsigned long long)w->cur,
			v->perms[0] != 'r' ? "non-readable" : "read-only",
			v->perms,
			v->perms[0] != 'r' ? "it cannot be registered"
					   : "register it without LOCAL_WRITE, "
					     "REMOTE_WRITE, REMOTE_ATOMIC");
		return -1;
	}
	if (v->perms[3] == 'p')
		note_private(w, v->end < w->end ? v->end : w->end, v->ino);
	w->cur = v->end;
	return w->cur < w->end;
}

/* Whether the VMA at @start is a SysV attachment ("/SYSV<key>"). */
static bool query_sysv(int fd, uint64_t start)
{
	char name[64] = "";
	struct procmap_query q = {
		.size = sizeof(q),
		.query_addr = start,
		.vma_name_size = sizeof(name),
		.vma_name_addr = (uintptr_t)name,
	};

	/* A longer name (ENAMETOOLONG) is no SysV one. */
	return !ioctl(fd, PROCMAP_QUERY, &q) && !strncmp(name, "/SYSV", 5);
}

/*
 * walk_vma() over the VMAs PROCMAP_QUERY returns from w->cur on: only the
 * range's, however many the process has.  2 when the kernel lacks the
 * query (before 6.11: parse the text instead), else the walk's more.
 */
static int walk_query(struct range_walk *w, int fd)
{
	int more = 1;

	while (more > 0) {
		struct procmap_query q = {
			.size = sizeof(q),
			.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
			.query_addr = w->cur,
		};
		struct vma v = { 0 };

		if (ioctl(fd, PROCMAP_QUERY, &q)) {
			if (errno == ENOTTY || errno == EINVAL)
				return 2; /* no such query here */
			if (errno == ENOENT)
				return 1; /* nothing at or above w->cur */
			w->err = say(w->why, ESRCH,
				     "cannot look up the client's mappings: %s",
				     strerror(errno));
			return -1;
		}
		v.start = q.vma_start;
		v.end = q.vma_end;
		v.perms[0] =
			q.vma_flags & PROCMAP_QUERY_VMA_READABLE ? 'r' : '-';
		v.perms[1] =
			q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE ? 'w' : '-';
		v.perms[2] =
			q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE ? 'x' : '-';
		v.perms[3] = q.vma_flags & PROCMAP_QUERY_VMA_SHARED ? 's' : 'p';
		v.ino = q.inode;
		v.maj = q.dev_major;
		v.min = q.dev_minor;
		v.sysv = v.perms[3] == 's' && v.ino && query_sysv(fd, v.start);
		more = walk_vma(w, &v);
	}
	return more;
}

/* walk_vma() over the text of maps, line by line; the walk's more. */
static int walk_text(struct range_walk *w, int fd)
{
	char buf[8192];
	size_t have = 0;
	int more = 1;

	while (more > 0) {
		ssize_t got = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *nl;

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
		buf[have] = '\0';
		while (more > 0 && (nl = memchr(buf, '\n', have))) {
			struct vma v;

			*nl = '\0';
			if (parse_vma(buf, &v))
				more = walk_vma(w, &v);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
		}
		if (have == sizeof(buf) - 1)
			break; /* no maps line is that long */
	}
	return more;
}

/* Walk the client's mappings until the range is covered. */
static int walk_maps(struct range_walk *w)
{
	int fd = openat(w->dir, "maps", O_RDONLY | O_CLOEXEC), more;

	if (fd < 0)
		return say(w->why, ESRCH, "cannot read the client's maps: %s",
			   strerror(errno));
	more = walk_query(w, fd);
	if (more == 2)
		more = walk_text(w, fd);
	close(fd);
	if (more > 0) /* the mappings ended before the range did */
		return say(w->why, EFAULT,
			   "0x%llx is not mapped by the client (pid %d)",
			   (unsigned long long)w->cur, (int)w->cred->pid);
	return more < 0 ? w->err : 0;
}

int srxed_peer_check_reg(const struct srxed_session *s, uint64_t va,
			 uint64_t length, uint32_t access, int slab_fd,
			 bool *shared, struct srxed_peer_ranges *priv,
			 char *why)
{
	struct range_walk w = {
		.priv = priv,
		.cred = &s->cred,
		.cur = va & ~(PAGE - 1),
		.end = (va + length + PAGE - 1) & ~(PAGE - 1),
		.access = access,
		.why = why,
	};
	int ret;

	if (slab_fd < 0 || fstat(slab_fd, &w.slab))
		w.slab.st_ino = 0;
	w.dir = srxed_peer_open(s->cred.pid, s->pidfd);
	if (w.dir < 0)
		return w.dir == -ESRCH
			       ? say(why, EACCES,
				     "the process that opened this context "
				     "(pid %d) has exited: whoever sends now "
				     "is not it",
				     (int)s->cred.pid)
			       : say(why, -w.dir,
				     "cannot look at the client's memory: %s",
				     strerror(-w.dir));
	if (priv)
		*priv = (struct srxed_peer_ranges){ .n = 0 };
	ret = walk_maps(&w);
	close(w.dir);
	*shared = w.shared;
	return ret;
}
