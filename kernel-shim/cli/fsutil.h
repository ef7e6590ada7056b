/* SPDX-License-Identifier: MIT */
/*
 * Small file system helpers for building and tearing down the published
 * tree.  All return 0 or a negative errno.
 */
#ifndef SRXE_CLI_FSUTIL_H
#define SRXE_CLI_FSUTIL_H

#include <stddef.h>

/* mkdir -p with mode 0755 for every created component. */
int srxe_mkdir_p(const char *path);

/* Create or replace dir/leaf with "value\n", mode 0644 (like sysfs). */
int srxe_write_attr(const char *dir, const char *leaf, const char *value);

/* Read a one-line attribute, newline stripped. */
int srxe_read_attr(const char *path, char *buf, size_t len);

/*
 * rm -rf that never follows symbolic links (the tree links into /sys).
 * A missing path is success.
 */
int srxe_remove_tree(const char *path);

/*
 * Lazily unmounts whatever is mounted at path (srxed's command file left
 * mounted by a killed srxed: its stale FUSE mount would make
 * srxe_remove_tree() fail).  Nothing mounted is success; 0 or -errno.
 */
int srxe_detach_mount(const char *path);

/* Entries of directory path other than "." and "..", or -errno. */
int srxe_dir_entry_count(const char *path);

#endif /* SRXE_CLI_FSUTIL_H */
