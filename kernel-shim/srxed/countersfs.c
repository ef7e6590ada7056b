// SPDX-License-Identifier: MIT
/* srxed's hw_counters directory (contract: countersfs.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "countersfs.h"
#include "engine.h"
#include "fusemnt.h"
#include "hwcounters.h"
#include "log.h"
#include "srxe/paths.h"

#define CFS_MAX_WRITE 4096 /* nothing is written; INIT wants a size */
#define CFS_BUF	      (FUSE_MIN_READ_BUFFER + CFS_MAX_WRITE)
#define CFS_DIR_MODE  (S_IFDIR | 0555)
#define CFS_FILE_MODE (S_IFREG | 0444)
#define CFS_FILE_SIZE 4096 /* what sysfs reports for an attribute */
/* inode of file i: FUSE_ROOT_ID is the directory */
#define CFS_INO(i) ((uint64_t)(i) + FUSE_ROOT_ID + 1)

/* One open counter file: the text its reader is in the middle of. */
struct cfs_open {
	struct cfs_open *prev, *next;
	unsigned int file;
	bool taken; /* text holds a value */
	size_t len;
	char text[SRXED_HWC_TEXT_MAX];
};

struct srxed_countersfs {
	struct srxed *d;
	bool fuse;	  /* else files mode */
	int epfd;	  /* srxed's */
	int ev_fd;	  /* /dev/fuse or the timer: in epfd */
	uint64_t started; /* the files' times, as sysfs shows boot's */
	struct srxed_fusemnt mnt;
	void *buf;
	struct cfs_open *opens; /* freed at stop if a reader never closed */
	/* files mode */
	int dir_fd;
	struct srxed_fuse_guard guard;
	char path[PATH_MAX];
	char tmp[PATH_MAX + 8]; /* path ".tmp" */
};

static const enum srxed_poll_kind counters_tag = SRXED_POLL_COUNTERS;

static void sources(const struct srxed_countersfs *c,
		    struct srxed_hwc_sources *s)
{
	memset(s, 0, sizeof(*s));
	if (c->d->engine)
		srxe_engine_stats(c->d->engine, &s->eng);
	s->link_downed = __atomic_load_n(&c->d->link_downed, __ATOMIC_RELAXED);
	s->lifespan_ms = c->fuse ? 0 : SRXED_HWC_INTERVAL_MS;
}

/* ---- FUSE mode ---- */

static void reply(struct srxed_countersfs *c, uint64_t unique, int err,
		  const void *body, size_t len)
{
	srxed_fuse_reply(c->mnt.fd, unique, err, body, len);
}

/* file index of inode ino, or -1 (the directory, or nothing). */
static int file_of(uint64_t ino)
{
	return ino > FUSE_ROOT_ID && ino < CFS_INO(SRXED_HWC_FILES)
		       ? (int)(ino - CFS_INO(0))
		       : -1;
}

static bool fill_attr(const struct srxed_countersfs *c, uint64_t ino,
		      struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->atime = a->mtime = a->ctime = c->started;
	a->uid = getuid();
	a->gid = getgid();
	a->blksize = 4096;
	if (ino == FUSE_ROOT_ID) {
		a->mode = CFS_DIR_MODE;
		a->nlink = 2;
		return true;
	}
	if (file_of(ino) < 0)
		return false;
	a->mode = CFS_FILE_MODE;
	a->nlink = 1;
	a->size = CFS_FILE_SIZE;
	return true;
}

static void do_init(struct srxed_countersfs *c, const struct fuse_in_header *h,
		    const void *arg, size_t len)
{
	struct fuse_init_out out;

	if (!srxed_fuse_init_out(arg, len, CFS_MAX_WRITE, &out)) {
		reply(c, h->unique, 0, &out, 8);
		return;
	}
	reply(c, h->unique, 0, &out, sizeof(out));
}

static void do_lookup(struct srxed_countersfs *c,
		      const struct fuse_in_header *h, const char *name,
		      size_t len)
{
	struct fuse_entry_out out = { .entry_valid = 1, .attr_valid = 1 };
	int i;

	if (h->nodeid != FUSE_ROOT_ID) {
		reply(c, h->unique, ENOTDIR, NULL, 0);
		return;
	}
	if (!len || name[len - 1]) {
		reply(c, h->unique, EINVAL, NULL, 0);
		return;
	}
	i = srxed_hwc_lookup(name);
	if (i < 0) {
		reply(c, h->unique, ENOENT, NULL, 0);
		return;
	}
	out.nodeid = CFS_INO(i);
	fill_attr(c, out.nodeid, &out.attr);
	reply(c, h->unique, 0, &out, sizeof(out));
}

static void do_getattr(struct srxed_countersfs *c,
		       const struct fuse_in_header *h)
{
	struct fuse_attr_out out = { .attr_valid = 1 };

	if (!fill_attr(c, h->nodeid, &out.attr)) {
		reply(c, h->unique, ENOENT, NULL, 0);
		return;
	}
	reply(c, h->unique, 0, &out, sizeof(out));
}

static void snapshot(struct srxed_countersfs *c, struct cfs_open *o)
{
	struct srxed_hwc_sources s;

	sources(c, &s);
	o->len = srxed_hwc_format(o->file, &s, o->text);
	o->taken = true;
}

static void do_open(struct srxed_countersfs *c, const struct fuse_in_header *h,
		    const void *arg, size_t len)
{
	const struct fuse_open_in *in = arg;
	struct fuse_open_out out = { .open_flags = FOPEN_DIRECT_IO };
	int i = file_of(h->nodeid);
	struct cfs_open *o;

	if (len < sizeof(*in)) {
		reply(c, h->unique, EINVAL, NULL, 0);
		return;
	}
	if (i < 0) {
		reply(c, h->unique, h->nodeid == FUSE_ROOT_ID ? EISDIR : ENOENT,
		      NULL, 0);
		return;
	}
	/* root passes default_permissions' mode check: refuse here */
	if ((in->flags & O_ACCMODE) != O_RDONLY || (in->flags & O_TRUNC)) {
		reply(c, h->unique, EACCES, NULL, 0);
		return;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		reply(c, h->unique, ENOMEM, NULL, 0);
		return;
	}
	o->file = (unsigned int)i;
	o->next = c->opens;
	if (c->opens)
		c->opens->prev = o;
	c->opens = o;
	out.fh = (uint64_t)(uintptr_t)o;
	reply(c, h->unique, 0, &out, sizeof(out));
}

static void do_read(struct srxed_countersfs *c, const struct fuse_in_header *h,
		    const void *arg, size_t len)
{
	const struct fuse_read_in *in = arg;
	struct cfs_open *o;
	size_t n;

	if (len < sizeof(*in) || !in->fh) {
		reply(c, h->unique, EINVAL, NULL, 0);
		return;
	}
	/* fh is what our OPEN answered: the kernel hands it back as is */
	o = (struct cfs_open *)(uintptr_t)in->fh;
	/* like sysfs: a read from the start shows the value now */
	if (in->offset == 0 || !o->taken)
		snapshot(c, o);
	n = in->offset < o->len ? o->len - in->offset : 0;
	if (n > in->size)
		n = in->size;
	reply(c, h->unique, 0, o->text + (n ? in->offset : 0), n);
}

static void free_open(struct srxed_countersfs *c, struct cfs_open *o)
{
	if (o->prev)
		o->prev->next = o->next;
	else
		c->opens = o->next;
	if (o->next)
		o->next->prev = o->prev;
	free(o);
}

static void do_release(struct srxed_countersfs *c,
		       const struct fuse_in_header *h, const void *arg,
		       size_t len)
{
	const struct fuse_release_in *in = arg;

	if (len >= sizeof(*in) && in->fh)
		free_open(c, (struct cfs_open *)(uintptr_t)in->fh);
	reply(c, h->unique, 0, NULL, 0);
}

static void do_opendir(struct srxed_countersfs *c,
		       const struct fuse_in_header *h)
{
	struct fuse_open_out out = { 0 };

	if (h->nodeid != FUSE_ROOT_ID) {
		reply(c, h->unique, ENOTDIR, NULL, 0);
		return;
	}
	reply(c, h->unique, 0, &out, sizeof(out));
}

/* Appends entry idx (0 ".", 1 "..", then the files); false: no room. */
static bool add_dirent(char *buf, size_t cap, size_t *used, uint64_t idx)
{
	struct fuse_dirent *de = (struct fuse_dirent *)(buf + *used);
	const char *name;
	size_t sz;

	if (idx == 0)
		name = ".";
	else if (idx == 1)
		name = "..";
	else
		name = srxed_hwc_name((unsigned int)(idx - 2));
	sz = FUSE_DIRENT_SIZE(
		&(struct fuse_dirent){ .namelen = (uint32_t)strlen(name) });
	if (*used + sz > cap)
		return false;
	memset(de, 0, sz);
	de->ino = idx < 2 ? FUSE_ROOT_ID : CFS_INO(idx - 2);
	de->off = idx + 1; /* where the next READDIR starts */
	de->namelen = (uint32_t)strlen(name);
	de->type = idx < 2 ? DT_DIR : DT_REG;
	memcpy(de->name, name, de->namelen);
	*used += sz;
	return true;
}

static void do_readdir(struct srxed_countersfs *c,
		       const struct fuse_in_header *h, const void *arg,
		       size_t len)
{
	const struct fuse_read_in *in = arg;
	char out[4096];
	size_t used = 0, cap;

	if (len < sizeof(*in)) {
		reply(c, h->unique, EINVAL, NULL, 0);
		return;
	}
	cap = in->size < sizeof(out) ? in->size : sizeof(out);
	for (uint64_t i = in->offset; i < SRXED_HWC_FILES + 2; i++)
		if (!add_dirent(out, cap, &used, i))
			break;
	reply(c, h->unique, 0, out, used);
}

static void do_statfs(struct srxed_countersfs *c,
		      const struct fuse_in_header *h)
{
	struct fuse_statfs_out out = {
		.st = { .bsize = 4096, .frsize = 4096, .namelen = 255 }
	};

	reply(c, h->unique, 0, &out, sizeof(out));
}

static void dispatch(struct srxed_countersfs *c, const struct fuse_in_header *h,
		     const void *arg, size_t len)
{
	switch (h->opcode) {
	case FUSE_INIT:
		do_init(c, h, arg, len);
		break;
	case FUSE_LOOKUP:
		do_lookup(c, h, arg, len);
		break;
	case FUSE_GETATTR:
		do_getattr(c, h);
		break;
	case FUSE_OPEN:
		do_open(c, h, arg, len);
		break;
	case FUSE_READ:
		do_read(c, h, arg, len);
		break;
	case FUSE_RELEASE:
		do_release(c, h, arg, len);
		break;
	case FUSE_OPENDIR:
		do_opendir(c, h);
		break;
	case FUSE_READDIR:
		do_readdir(c, h, arg, len);
		break;
	case FUSE_STATFS:
		do_statfs(c, h);
		break;
	case FUSE_FLUSH:
	case FUSE_RELEASEDIR:
	case FUSE_FSYNCDIR:
	case FUSE_DESTROY:
		reply(c, h->unique, 0, NULL, 0);
		break;
	case FUSE_FORGET:
	case FUSE_BATCH_FORGET:
	case FUSE_INTERRUPT:
		break; /* no answer: every request is answered at once */
	case FUSE_SETATTR:
	case FUSE_WRITE:
	case FUSE_CREATE:
	case FUSE_MKNOD:
	case FUSE_MKDIR:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_RENAME:
	case FUSE_RENAME2:
	case FUSE_LINK:
	case FUSE_SYMLINK:
	case FUSE_SETXATTR:
	case FUSE_REMOVEXATTR:
		reply(c, h->unique, EACCES, NULL, 0);
		break;
	default:
		reply(c, h->unique, ENOSYS, NULL, 0);
		break;
	}
}

static bool fuse_serve(struct srxed_countersfs *c)
{
	const struct fuse_in_header *h = c->buf;
	ssize_t n;

	while ((n = srxed_fusemnt_next(&c->mnt, c->buf, CFS_BUF,
				       "hw_counters")) > 0)
		dispatch(c, h, h + 1, n - sizeof(*h));
	return n == 0;
}

static int start_fuse(struct srxed_countersfs *c, char *why, size_t cap)
{
	int ret;

	c->buf = malloc(CFS_BUF);
	if (!c->buf) {
		snprintf(why, cap, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = srxed_fusemnt_mount(&c->mnt, c->path, CFS_DIR_MODE,
				  "default_permissions", "srxed-hwcguard", why,
				  cap);
	if (ret) {
		free(c->buf);
		c->buf = NULL;
		return ret;
	}
	c->fuse = true;
	c->ev_fd = c->mnt.fd;
	return 0;
}

static void stop_fuse(struct srxed_countersfs *c)
{
	srxed_fusemnt_unmount(&c->mnt);
	while (c->opens)
		free_open(c, c->opens);
	free(c->buf);
	c->buf = NULL;
}

/* ---- files mode ---- */

/*
 * Each file whole, or not at all: written beside the directory (so that
 * the directory holds nothing else), then renamed into it.
 */
static void write_files(struct srxed_countersfs *c)
{
	struct srxed_hwc_sources s;
	char text[SRXED_HWC_TEXT_MAX];

	sources(c, &s);
	for (unsigned int i = 0; i < SRXED_HWC_FILES; i++) {
		size_t len = srxed_hwc_format(i, &s, text);
		int fd = open(c->tmp,
			      O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
				      O_CLOEXEC,
			      0444);
		bool ok;

		if (fd < 0) {
			log_warn("hw_counters: %s: %s", c->tmp,
				 strerror(errno));
			return;
		}
		ok = write(fd, text, len) == (ssize_t)len;
		close(fd);
		if (!ok ||
		    renameat(AT_FDCWD, c->tmp, c->dir_fd, srxed_hwc_name(i))) {
			log_warn("hw_counters: %s/%s: %s", c->path,
				 srxed_hwc_name(i), strerror(errno));
			unlink(c->tmp);
			return;
		}
	}
}

/* why = "what: strerror(errno)"; returns -errno. */
static int say(char *why, size_t cap, const char *what)
{
	int err = errno;

	snprintf(why, cap, "%s: %s", what, strerror(err));
	return -err;
}

static int start_files(struct srxed_countersfs *c, char *why, size_t cap)
{
	struct itimerspec its = {
		.it_interval = { SRXED_HWC_INTERVAL_MS / 1000,
				 (SRXED_HWC_INTERVAL_MS % 1000) * 1000000L },
	};
	struct stat st;

	its.it_value = its.it_interval;
	srxed_fuse_detach(c->path); /* a killed srxed's, not yet guarded */
	if (mkdir(c->path, 0755) && errno != EEXIST)
		return say(why, cap, c->path);
	c->dir_fd =
		open(c->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c->dir_fd < 0 || fstat(c->dir_fd, &st))
		return say(why, cap, c->path);
	c->ev_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (c->ev_fd < 0 || timerfd_settime(c->ev_fd, 0, &its, NULL))
		return say(why, cap, "timer");
	write_files(c);
	srxed_fuse_guard_start(&c->guard, c->path, -1, srxed_hwc_names, &st,
			       "srxed-hwcguard");
	return 0;
}

static void stop_files(struct srxed_countersfs *c)
{
	if (c->dir_fd >= 0) {
		for (const char *const *n = srxed_hwc_names; *n; n++)
			unlinkat(c->dir_fd, *n, 0);
		close(c->dir_fd);
		rmdir(c->path);
		unlink(c->tmp);
	}
	c->dir_fd = -1;
	srxed_fuse_guard_stop(&c->guard);
}

/* ---- the module ---- */

int srxed_countersfs_start(struct srxed *d, int server_epoll_fd)
{
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.ptr = (void *)&counters_tag };
	const char *mode = getenv(SRXED_HW_COUNTERS_ENV);
	struct srxed_countersfs *c = calloc(1, sizeof(*c));
	char why[256] = "", fwhy[256] = "";
	int ret = -EOPNOTSUPP;

	if (!c) {
		log_warn("hw_counters: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	c->d = d;
	c->started = (uint64_t)time(NULL);
	c->epfd = server_epoll_fd;
	c->ev_fd = c->dir_fd = -1;
	c->mnt.fd = -1;
	c->mnt.guard = c->guard = (struct srxed_fuse_guard){ -1, 0 };
	if (snprintf(c->path, sizeof(c->path), "%s/%s", d->cfg.rundir,
		     SRXE_HW_COUNTERS_NAME) >= (int)sizeof(c->path)) {
		log_warn("hw_counters: %s", strerror(ENAMETOOLONG));
		free(c);
		return -ENAMETOOLONG;
	}
	snprintf(c->tmp, sizeof(c->tmp), "%s.tmp", c->path);
	if (mode && !strcmp(mode, "files"))
		snprintf(fwhy, sizeof(fwhy), "%s=files", SRXED_HW_COUNTERS_ENV);
	else
		ret = start_fuse(c, fwhy, sizeof(fwhy));
	if (ret)
		ret = start_files(c, why, sizeof(why));
	if (!ret && epoll_ctl(server_epoll_fd, EPOLL_CTL_ADD, c->ev_fd, &ev))
		ret = -errno;
	if (ret) {
		log_warn("hw_counters: not served: %s", why[0] ? why : fwhy);
		d->counters = c;
		srxed_countersfs_stop(d);
		return ret;
	}
	if (c->fuse)
		log_info("hw_counters: %s served live over FUSE", c->path);
	else
		log_warn("hw_counters: FUSE not used (%s): %s holds files "
			 "rewritten every %d ms",
			 fwhy, c->path, SRXED_HWC_INTERVAL_MS);
	d->counters = c;
	return 0;
}

void srxed_countersfs_event(struct srxed *d)
{
	struct srxed_countersfs *c = d->counters;
	uint64_t ticks;

	if (!c || c->ev_fd < 0)
		return;
	if (!c->fuse) {
		if (read(c->ev_fd, &ticks, sizeof(ticks)) > 0)
			write_files(c);
		return;
	}
	if (!fuse_serve(c)) {
		/* unmounted from outside: stop listening, keep srxed */
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->ev_fd, NULL);
		c->ev_fd = -1;
	}
}

void srxed_countersfs_stop(struct srxed *d)
{
	struct srxed_countersfs *c = d->counters;

	if (!c)
		return;
	if (c->fuse) {
		stop_fuse(c);
	} else {
		if (c->ev_fd >= 0)
			close(c->ev_fd);
		stop_files(c);
	}
	free(c);
	d->counters = NULL;
}
