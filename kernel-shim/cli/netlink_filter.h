/* SPDX-License-Identifier: MIT */
/*
 * Hides RDMA netlink from a process tree (DESIGN.md 3): on a kernel with
 * ib_core, libibverbs enumerates devices through NETLINK_RDMA and never
 * reads SYSFS_PATH, so srxe devices stay invisible.  With
 * socket(AF_NETLINK, *, NETLINK_RDMA) failing with EPROTONOSUPPORT, as on
 * a kernel without RDMA, libibverbs falls back to the sysfs scan.
 *
 * Contract:
 *  - srxe_netlink_filter_install() installs a seccomp filter on the
 *    calling thread that makes socket(AF_NETLINK, any type, protocol)
 *    fail with EPROTONOSUPPORT and allows every other system call,
 *    including other netlink families.  It is inherited across fork,
 *    clone and execve and cannot be removed.
 *  - Native system calls of x86-64 (also its x32 and i386 ABIs) and
 *    aarch64 (also its 32-bit ABI) are filtered; a build for another
 *    architecture returns -EOPNOTSUPP.
 *  - A caller with CAP_SYS_ADMIN keeps set-user-ID programs working: the
 *    filter is installed without no_new_privs.  Otherwise no_new_privs is
 *    set first (the kernel demands it), and set-user-ID programs started
 *    under the filter run without their privileges.
 *  - Returns 0, or a negative errno with a one-line reason in why[len].
 *    Call it before starting other threads: only the caller is filtered.
 */
#ifndef SRXE_CLI_NETLINK_FILTER_H
#define SRXE_CLI_NETLINK_FILTER_H

#include <stddef.h>

#ifndef NETLINK_RDMA
#define NETLINK_RDMA 20
#endif

int srxe_netlink_filter_install(int protocol, char *why, size_t len);

#endif /* SRXE_CLI_NETLINK_FILTER_H */
