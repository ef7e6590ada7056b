/* SPDX-License-Identifier: MIT */
/*
 * <devdir>/hw_counters/: kernel rxe's hw counter files (hwcounters.h)
 * fed from srxed's counters, for sysfs readers (issue #13; the sysfs
 * view links class/infiniband/<dev>/ports/1/hw_counters here;
 * docs/hw-counters.md).
 *
 * Contract:
 *  - srxed_countersfs_start() never stops srxed: it serves the directory
 *    in one of two modes, or, when neither can be had, logs why and
 *    serves nothing.
 *  - FUSE mode (preferred; /dev/fuse and CAP_SYS_ADMIN): a read-only FUSE
 *    directory (0555, files 0444, allow_other, default_permissions)
 *    served by the control-plane thread over the raw protocol
 *    (fusemnt.h).  Values are live: a read at offset 0 takes the
 *    counters now (direct I/O, no page cache); later offsets of the same
 *    open file continue that text, so a number is never torn.  lifespan
 *    reads 0.
 *  - Files mode (SRXED_HW_COUNTERS=files, or FUSE unavailable): a plain
 *    directory whose files srxed rewrites every SRXED_HWC_INTERVAL_MS
 *    (a temporary file, then rename(), so a reader sees a whole old or a
 *    whole new value).  lifespan reads that interval.  srxed logs which
 *    mode it took.
 *  - srxed_countersfs_stop() (srxed's exit) removes the mount and the
 *    directory; a killed srxed's guard process (fusemnt.h) does the same.
 *  - The event handler runs in the control-plane thread.
 */
#ifndef SRXED_COUNTERSFS_H
#define SRXED_COUNTERSFS_H

#include "srxed.h"

#define SRXED_HWC_INTERVAL_MS 1000
/* Environment: "files" forces files mode (containers, tests). */
#define SRXED_HW_COUNTERS_ENV "SRXED_HW_COUNTERS"

/* 0, or a negative errno when nothing is served (logged). */
int srxed_countersfs_start(struct srxed *d, int server_epoll_fd);
void srxed_countersfs_event(struct srxed *d);
void srxed_countersfs_stop(struct srxed *d);

#endif /* SRXED_COUNTERSFS_H */
