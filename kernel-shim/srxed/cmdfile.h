/* SPDX-License-Identifier: MIT */
/*
 * srxed's command file: one regular file, <devdir>/cmd, served by srxed
 * itself over the raw /dev/fuse protocol (linux/fuse.h), so that the
 * provider can make it libibverbs' cmd_fd and answer the few kernel
 * commands libibverbs writes there without a kernel driver (issue #6,
 * docs/events.md).
 *
 * Contract:
 *  - srxed_cmdfile_mount() opens /dev/fuse non-blocking and mounts the
 *    file (allow_other, mode 0666, no default_permissions, direct I/O for
 *    every open, no writeback cache).  A stale mount left by a killed
 *    srxed at the same path is detached first.  Needs CAP_SYS_ADMIN and
 *    /dev/fuse; on failure it returns a negative errno with why filled.
 *  - srxed_cmdfile_serve() reads every request that is ready (never
 *    blocks) and answers INIT, GETATTR, OPEN, FLUSH, RELEASE, STATFS,
 *    FSYNC, FORGET and DESTROY itself; ioctls get ENOTTY (libibverbs then
 *    uses write()), READ and SETATTR EINVAL / EPERM, everything else
 *    ENOSYS.  WRITE goes to the write callback, which must answer it,
 *    now or later, with srxed_cmdfile_reply_write() exactly once.
 *    RELEASE is reported to the release callback.
 *  - The kernel waits for the answer to a write it handed over, even for
 *    a process being killed: callers must answer every write promptly.
 *  - srxed_cmdfile_unmount() detaches the mount (MNT_DETACH), which makes
 *    every request still waiting fail, closes /dev/fuse and removes the
 *    file.  Everything runs in the control-plane thread.
 *  - A killed srxed cannot unmount: its guard process (fusemnt.h, comm
 *    "srxed-cmdguard") detaches the mount if it is still the one srxed
 *    made, so a dead mount does not outlive its daemon (nor block rm -rf
 *    of its directory).
 */
#ifndef SRXED_CMDFILE_H
#define SRXED_CMDFILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fusemnt.h"

struct srxed_cmdfile_write {
	uint64_t unique; /* names the write in srxed_cmdfile_reply_write() */
	uint64_t fh;	 /* the open file (our OPEN answer) */
	uint32_t uid;	 /* of the writer */
	uint32_t pid;	 /* the writing thread's id, srxed's pid namespace */
	const void *data;
	size_t len;
};

typedef void (*srxed_cmdfile_write_fn)(void *opaque,
				       const struct srxed_cmdfile_write *w);
typedef void (*srxed_cmdfile_release_fn)(void *opaque, uint64_t fh);

struct srxed_cmdfile {
	struct srxed_fusemnt mnt; /* mnt.fd: /dev/fuse, -1 when not mounted */
	bool initialized;	  /* INIT answered */
	uint64_t next_fh;
	void *buf; /* one request (at least FUSE_MIN_READ_BUFFER bytes) */
	srxed_cmdfile_write_fn on_write;
	srxed_cmdfile_release_fn on_release;
	void *opaque;
};

int srxed_cmdfile_mount(struct srxed_cmdfile *cf, const char *path, char *why,
			size_t cap);
/* false once the connection is gone (unmounted from outside). */
bool srxed_cmdfile_serve(struct srxed_cmdfile *cf);
/* err: 0 (the write took len bytes) or a positive errno. */
void srxed_cmdfile_reply_write(struct srxed_cmdfile *cf, uint64_t unique,
			       int err, uint32_t len);
void srxed_cmdfile_unmount(struct srxed_cmdfile *cf);

/* Detach whatever is mounted at path (a stale command file); 0 or -errno. */
int srxed_cmdfile_detach(const char *path);

#endif /* SRXED_CMDFILE_H */
