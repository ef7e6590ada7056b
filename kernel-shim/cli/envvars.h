/* SPDX-License-Identifier: MIT */
/*
 * The environment an unmodified verbs program needs to see srxe devices:
 * SYSFS_PATH (the runtime root's sysfs tree), unless an installed
 * /etc/libibverbs.d/srxe.driver already names the provider, RDMAV_DRIVERS,
 * and LD_LIBRARY_PATH led by srxe's private librdmacm directory so that
 * rdma_cm programs load srxe's librdmacm.so.1 (docs/rdmacm.md).
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
	char rdmacm_dir[PATH_MAX]; /* holds srxe's librdmacm.so.1 */
	bool rdmacm_found;
};

#define SRXE_RDMACM_SONAME "librdmacm.so.1"

/*
 * Provider search: ../../providers/srxe/ next to this executable (build
 * tree), then the installed provider directory.  srxe's librdmacm:
 * ../../providers/rdmacm/ next to this executable, then the installed
 * private directory (SRXE_INSTALL_RDMACM_DIR).
 */
void srxe_envvars_init(struct srxe_envvars *e, const struct srxe_rundir *r);

/*
 * LD_LIBRARY_PATH with dir first: dir, then old's entries other than dir
 * in their order (so repeating `srxe env` does not grow it).  malloc'd;
 * NULL when out of memory.
 */
char *srxe_envvars_ld_path(const char *dir, const char *old);

/* Print `export NAME='value'` lines for eval in a POSIX shell. */
void srxe_envvars_print(const struct srxe_envvars *e);

/* setenv() them in this process (for exec). Returns 0 or -errno. */
int srxe_envvars_apply(const struct srxe_envvars *e);

#endif /* SRXE_CLI_ENVVARS_H */
