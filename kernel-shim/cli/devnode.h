/* SPDX-License-Identifier: MIT */
/*
 * /dev/infiniband/uverbsN nodes of srxe devices: symlinks to /dev/full
 * (rdev 1:7, DESIGN.md 3).  /dev/infiniband is global to the machine, so
 * indexes are claimed atomically (symlink() fails with EEXIST for a taken
 * N, so a host's real character device uverbsN is never taken) and only
 * srxe's own symlinks are ever removed.  /dev/infiniband is
 * removed once empty only if srxe created it.
 */
#ifndef SRXE_CLI_DEVNODE_H
#define SRXE_CLI_DEVNODE_H

#include <stdbool.h>

/*
 * Create the lowest free uverbsN for which usable(N, arg) is true.
 * Returns 0 with *index, or a negative errno (-EACCES/-EPERM without root).
 */
int srxe_devnode_claim(bool (*usable)(int index, void *arg), void *arg,
		       int *index);

/* Remove uverbs<index> if it is an srxe symlink. */
void srxe_devnode_release(int index);

#endif /* SRXE_CLI_DEVNODE_H */
