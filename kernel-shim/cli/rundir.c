// SPDX-License-Identifier: MIT
#include "rundir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "srxe/paths.h"

/* Paths end up in sysfs attributes read by other processes: absolute. */
static int absolute_root(char out[PATH_MAX])
{
	const char *env = getenv(SRXE_RUNDIR_ENV);
	char cwd[PATH_MAX];
	size_t len;

	if (!env || !*env)
		env = SRXE_RUNDIR_DEFAULT;
	if (env[0] == '/') {
		if (snprintf(out, PATH_MAX, "%s", env) >= PATH_MAX)
			return -ENAMETOOLONG;
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return -EINVAL;
		if (snprintf(out, PATH_MAX, "%s/%s", cwd, env) >= PATH_MAX)
			return -ENAMETOOLONG;
	}
	len = strlen(out);
	while (len > 1 && out[len - 1] == '/')
		out[--len] = 0;
	return 0;
}

static int join(char out[PATH_MAX], const char *dir, const char *leaf)
{
	return snprintf(out, PATH_MAX, "%s/%s", dir, leaf) >= PATH_MAX
		       ? -ENAMETOOLONG
		       : 0;
}

int srxe_rundir_init(struct srxe_rundir *r, const char *name)
{
	int ret = absolute_root(r->root);

	if (ret)
		return ret;
	if (join(r->sys, r->root, SRXE_SYSFS_SUBDIR) ||
	    join(r->devdir, r->root, name) ||
	    join(r->sock, r->devdir, SRXE_SOCKET_NAME) ||
	    join(r->pidfile, r->devdir, SRXE_PIDFILE_NAME) ||
	    join(r->logfile, r->devdir, SRXE_LOGFILE_NAME) ||
	    join(r->uverbs_file, r->devdir, SRXE_UVERBS_INDEX_NAME) ||
	    join(r->cmdfile, r->devdir, SRXE_CMDFILE_NAME) ||
	    join(r->hw_counters, r->devdir, SRXE_HW_COUNTERS_NAME))
		return -ENAMETOOLONG;
	/* sun_path is 108 bytes; fail here rather than at connect(). */
	if (strlen(r->sock) >= 108)
		return -ENAMETOOLONG;
	return 0;
}
