// SPDX-License-Identifier: MIT
/* srxed's FUSE command file, raw /dev/fuse protocol (contract in cmdfile.h). */
#include <errno.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmdfile.h"
#include "fusemnt.h"
#include "log.h"

/* Commands are tiny; the kernel still wants room for a max_write write. */
#define CMDFILE_MAX_WRITE 4096
#define CMDFILE_BUF	  (FUSE_MIN_READ_BUFFER + CMDFILE_MAX_WRITE)
#define CMDFILE_MODE	  (S_IFREG | 0666)

static void reply(struct srxed_cmdfile *cf, uint64_t unique, int err,
		  const void *body, size_t len)
{
	srxed_fuse_reply(cf->mnt.fd, unique, err, body, len);
}

static void do_init(struct srxed_cmdfile *cf, const struct fuse_in_header *h,
		    const void *arg, size_t len)
{
	struct fuse_init_out out;

	if (!srxed_fuse_init_out(arg, len, CMDFILE_MAX_WRITE, &out)) {
		/* Tell the kernel which major we speak; it then gives up. */
		reply(cf, h->unique, 0, &out, 8);
		return;
	}
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

	while ((n = srxed_fusemnt_next(&cf->mnt, cf->buf, CMDFILE_BUF,
				       "command file")) > 0)
		dispatch(cf, h, h + 1, n - sizeof(*h));
	return n == 0;
}

void srxed_cmdfile_reply_write(struct srxed_cmdfile *cf, uint64_t unique,
			       int err, uint32_t len)
{
	struct fuse_write_out out = { .size = len };

	if (cf->mnt.fd >= 0)
		reply(cf, unique, err, &out, sizeof(out));
}

int srxed_cmdfile_detach(const char *path)
{
	return srxed_fuse_detach(path);
}

int srxed_cmdfile_mount(struct srxed_cmdfile *cf, const char *path, char *why,
			size_t cap)
{
	int ret;

	cf->initialized = false;
	cf->buf = malloc(CMDFILE_BUF);
	if (!cf->buf) {
		cf->mnt.fd = -1;
		cf->mnt.mounted = false;
		cf->mnt.guard = (struct srxed_fuse_guard){ -1, 0 };
		snprintf(why, cap, "command file buffer: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	ret = srxed_fusemnt_mount(&cf->mnt, path, CMDFILE_MODE, "",
				  "srxed-cmdguard", why, cap);
	if (ret) {
		free(cf->buf);
		cf->buf = NULL;
	}
	return ret;
}

void srxed_cmdfile_unmount(struct srxed_cmdfile *cf)
{
	srxed_fusemnt_unmount(&cf->mnt);
	free(cf->buf);
	cf->buf = NULL;
}
