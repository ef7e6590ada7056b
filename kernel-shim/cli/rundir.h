/* SPDX-License-Identifier: MIT */
/*
 * File names of one device inside the runtime root (layout in
 * include/srxe/paths.h).  Pure string building, no file system access.
 */
#ifndef SRXE_CLI_RUNDIR_H
#define SRXE_CLI_RUNDIR_H

#include <limits.h>

struct srxe_rundir {
	char root[PATH_MAX];   /* $SRXE_RUNDIR or /run/srxe, absolute */
	char sys[PATH_MAX];    /* root/sys: the SYSFS_PATH */
	char devdir[PATH_MAX]; /* root/<name> */
	char sock[PATH_MAX];
	char pidfile[PATH_MAX];
	char logfile[PATH_MAX];
	char uverbs_file[PATH_MAX]; /* holds the uverbs index N */
	char cmdfile[PATH_MAX];	    /* srxed's FUSE command file (issue #6) */
	char hw_counters[PATH_MAX]; /* srxed's hw counters (issue #13) */
};

/*
 * Fill r for device name.  Returns 0, or -ENAMETOOLONG, or -EINVAL when
 * $SRXE_RUNDIR is relative and cannot be made absolute.
 */
int srxe_rundir_init(struct srxe_rundir *r, const char *name);

#endif /* SRXE_CLI_RUNDIR_H */
