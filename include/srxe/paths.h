/* SPDX-License-Identifier: MIT */
/*
 * Where a running srxe device lives on the file system.  The srxe CLI
 * creates these, srxed serves in them, the provider finds srxed through
 * them.  All devices of one runtime root share one sysfs tree, so one
 * SYSFS_PATH shows all of them.
 *
 *   $SRXE_RUNDIR (default /run/srxe)
 *     sys/                                  SYSFS_PATH for libibverbs
 *       class/infiniband/<dev>/srxe_socket  absolute path of the socket
 *       class/infiniband/<dev>/hw_counters  -> <dev>/hw_counters below
 *     <dev>/srxed.sock  srxed.pid  srxed.log  uverbs (index N)
 *     <dev>/cmd  hw_counters/               served by srxed (FUSE)
 *   /dev/infiniband/uverbsN -> /dev/full
 */
#ifndef SRXE_PATHS_H
#define SRXE_PATHS_H

#define SRXE_RUNDIR_ENV	       "SRXE_RUNDIR"
#define SRXE_RUNDIR_DEFAULT    "/run/srxe"
#define SRXE_SYSFS_SUBDIR      "sys"
#define SRXE_SOCKET_NAME       "srxed.sock"
#define SRXE_PIDFILE_NAME      "srxed.pid"
#define SRXE_LOGFILE_NAME      "srxed.log"
#define SRXE_UVERBS_INDEX_NAME "uverbs"
#define SRXE_IBDEV_SOCKET_ATTR "srxe_socket"
#define SRXE_DEV_DIR	       "/dev/infiniband"
#define SRXE_UVERBS_TARGET     "/dev/full" /* rdev 1:7, writes fail ENOSPC */
#define SRXE_DEFAULT_DEVICE    "srxe0"
/* <devdir>/cmd: srxed's FUSE command file, the provider's cmd_fd (issue #6) */
#define SRXE_CMDFILE_NAME "cmd"
/* <devdir>/hw_counters/: rxe's hw counters, served live by srxed (#13) */
#define SRXE_HW_COUNTERS_NAME "hw_counters"

#endif /* SRXE_PATHS_H */
