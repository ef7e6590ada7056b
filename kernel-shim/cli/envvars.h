/* SPDX-License-Identifier: MIT */
/*
 * The environment an unmodified verbs program needs to see srxe devices:
 * SYSFS_PATH (the runtime root's sysfs tree) and, unless an installed
 * /etc/libibverbs.d/srxe.driver already names the provider, RDMAV_DRIVERS.
 */
#ifndef SRXE_CLI_ENVVARS_H
#define SRXE_CLI_ENVVARS_H

#include <limits.h>
#include <stdbool.h>

#include "rundir.h"

struct srxe_envvars {
	char sysfs_path[PATH_MAX];
	bool need_drivers;	      /* false: a .driver file loads it */
	char rdmav_drivers[PATH_MAX]; /* provider path without -rdmav34.so */
	bool provider_found;
};

/*
 * Provider search: ../../providers/srxe/ next to this executable (build
 * tree), then the installed provider directory.
 */
void srxe_envvars_init(struct srxe_envvars *e, const struct srxe_rundir *r);

/* Print `export NAME='value'` lines for eval in a POSIX shell. */
void srxe_envvars_print(const struct srxe_envvars *e);

/* setenv() them in this process (for exec). Returns 0 or -errno. */
int srxe_envvars_apply(const struct srxe_envvars *e);

#endif /* SRXE_CLI_ENVVARS_H */
