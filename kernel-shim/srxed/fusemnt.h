/* SPDX-License-Identifier: MIT */
/*
 * The FUSE plumbing srxed's file systems share (the command file,
 * cmdfile.h, and the hw_counters directory, countersfs.h): one raw
 * /dev/fuse connection mounted on one path, its guard process, the
 * request loop and the reply.  What a file system answers is its own.
 *
 * Contract:
 *  - srxed_fusemnt_mount() opens /dev/fuse non-blocking, detaches a stale
 *    mount left at path by a killed srxed, creates the mount point (a
 *    regular file for an S_IFREG rootmode, a directory for S_IFDIR) and
 *    mounts it (nosuid, nodev, noexec, allow_other, plus extra options).
 *    Needs CAP_SYS_ADMIN and /dev/fuse; on failure it returns a negative
 *    errno with why filled and leaves nothing behind.
 *  - srxed_fusemnt_next() reads one request (never blocks): > 0 its
 *    length (a well-formed header at buf), 0 none ready, < 0 the
 *    connection is gone (unmounted from outside).
 *  - srxed_fusemnt_unmount() detaches the mount (MNT_DETACH: requests
 *    still waiting fail), removes the mount point, ends the guard and
 *    closes /dev/fuse.  Safe on a never-mounted or failed one.
 *  - A killed srxed cannot unmount: a guard process forked at mount time
 *    (its comm given by the caller, every fd but one pipe closed, signals
 *    blocked) waits for srxed's end of that pipe to close, then detaches
 *    the mount if it is still the one srxed made, and removes a
 *    directory mount point (a file one stays, as it always has), so
 *    neither a dead mount nor its directory outlives its daemon.
 *  - srxed_fuse_guard_start() is that guard for a plain directory too
 *    (id -1: nothing to detach): the caller's files, then the directory,
 *    are removed if the directory is still the one recorded.
 */
#ifndef SRXED_FUSEMNT_H
#define SRXED_FUSEMNT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct fuse_init_out;

/* The guard process of one mount or directory (below). */
struct srxed_fuse_guard {
	int fd;	 /* srxed's end of the guard's pipe, or -1 */
	int pid; /* the guard process, or 0 */
};

struct srxed_fusemnt {
	int fd; /* /dev/fuse, -1 when not mounted */
	bool mounted;
	mode_t rootmode;
	struct srxed_fuse_guard guard;
	char path[PATH_MAX];
};

/*
 * rootmode: S_IFREG|perm or S_IFDIR|perm; opts: extra mount options
 * ("" or e.g. "default_permissions"); comm: the guard's name (<= 15).
 */
int srxed_fusemnt_mount(struct srxed_fusemnt *m, const char *path,
			mode_t rootmode, const char *opts, const char *comm,
			char *why, size_t cap);
ssize_t srxed_fusemnt_next(struct srxed_fusemnt *m, void *buf, size_t cap,
			   const char *what);
void srxed_fusemnt_unmount(struct srxed_fusemnt *m);

/* Answer request unique: err 0 with body, or a positive errno. */
void srxed_fuse_reply(int fd, uint64_t unique, int err, const void *body,
		      size_t len);
/*
 * The INIT answer for request arg (len bytes): false when the kernel
 * speaks another major (out then names ours; answer 8 bytes of it).
 * No flags: no writeback cache, no async reads, no splice.
 */
bool srxed_fuse_init_out(const void *arg, size_t len, uint32_t max_write,
			 struct fuse_init_out *out);

/* Detach whatever is mounted at path; 0 or -errno. */
int srxed_fuse_detach(const char *path);

/*
 * Guard path, a plain directory (mount_id -1: nothing to detach) or a
 * mount (its id from srxed_fuse_mount_id()): after srxed goes, detach
 * the mount if it is still mount_id (else touch nothing), then, with
 * names, unlink path/name for each of the NULL-terminated names and
 * rmdir path, if path is still the directory dir (its lstat() before
 * anything was mounted on it).  names must stay valid (static).
 */
void srxed_fuse_guard_start(struct srxed_fuse_guard *g, const char *path,
			    long mount_id, const char *const *names,
			    const struct stat *dir, const char *comm);
void srxed_fuse_guard_stop(struct srxed_fuse_guard *g);
/* The id of the topmost mount at path (mountinfo), or -1. */
long srxed_fuse_mount_id(const char *path);

#endif /* SRXED_FUSEMNT_H */
