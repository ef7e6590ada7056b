/* SPDX-License-Identifier: MIT */
/*
 * srxe's sysfs view as the /sys/class of one process tree, for clients
 * that read /sys themselves and ignore SYSFS_PATH (UCX, libibumad's
 * ibstat, rdma-core's tests, hwloc; DESIGN.md 3).
 *
 * Contract of srxe_sysns_enter(view_sys):
 *  - Moves the caller into a new mount namespace (a new user namespace
 *    too, mapping only the caller's uid and gid to themselves, when the
 *    caller lacks CAP_SYS_ADMIN) whose mounts no longer propagate back.
 *  - There, /sys/class is a read-only tmpfs holding a bind of each real
 *    class directory (live: a netdev created later shows up), except
 *    infiniband, infiniband_verbs and infiniband_mad, which are binds of
 *    view_sys/class/<same> (live too: devices brought up later appear).
 *    Those three must be directories whose entries resolve without
 *    /sys/class (the view links to /sys/devices or into view_sys).
 *  - Everything else, /sys included, is as before.
 *  - Returns 0, or a negative errno with a one-line reason in why[len];
 *    on failure the caller may be in a new namespace whose /sys/class is
 *    unchanged, never in one with a half-built /sys/class.
 *  - Call before starting threads (unshare of a user namespace refuses a
 *    threaded caller).
 */
#ifndef SRXE_CLI_SYSNS_H
#define SRXE_CLI_SYSNS_H

#include <stddef.h>

int srxe_sysns_enter(const char *view_sys, char *why, size_t len);

#endif /* SRXE_CLI_SYSNS_H */
