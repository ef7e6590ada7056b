// SPDX-License-Identifier: MIT
#include "envvars.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SRXE_INSTALL_PROVIDER_DIR
#define SRXE_INSTALL_PROVIDER_DIR "/usr/lib/x86_64-linux-gnu/libibverbs"
#endif
#ifndef SRXE_INSTALL_DRIVER_CONF
#define SRXE_INSTALL_DRIVER_CONF "/etc/libibverbs.d/srxe.driver"
#endif

#define PROVIDER_STEM	"libsrxe"
#define PROVIDER_SUFFIX "-rdmav34.so"

/* Sets stem to "<dir>/libsrxe" when "<dir>/libsrxe-rdmav34.so" exists. */
static bool provider_in(const char *dir, char stem[PATH_MAX])
{
	char file[PATH_MAX + 32], real[PATH_MAX];

	snprintf(file, sizeof(file), "%s/" PROVIDER_STEM PROVIDER_SUFFIX, dir);
	if (!realpath(file, real))
		return false;
	real[strlen(real) - strlen(PROVIDER_SUFFIX)] = 0;
	snprintf(stem, PATH_MAX, "%s", real);
	return true;
}

static bool provider_in_build_tree(char stem[PATH_MAX])
{
	char self[PATH_MAX], dir[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return false;
	self[n] = 0;
	snprintf(dir, sizeof(dir), "%s/../../providers/srxe", dirname(self));
	return provider_in(dir, stem);
}

void srxe_envvars_init(struct srxe_envvars *e, const struct srxe_rundir *r)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->sysfs_path, sizeof(e->sysfs_path), "%s", r->sys);
	e->need_drivers = true;
	if (provider_in_build_tree(e->rdmav_drivers)) {
		e->provider_found = true;
		return;
	}
	if (provider_in(SRXE_INSTALL_PROVIDER_DIR, e->rdmav_drivers)) {
		e->provider_found = true;
		e->need_drivers = access(SRXE_INSTALL_DRIVER_CONF, R_OK) != 0;
	}
}

static void print_export(const char *name, const char *value)
{
	printf("export %s='", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*p);
	}
	puts("'");
}

void srxe_envvars_print(const struct srxe_envvars *e)
{
	print_export("SYSFS_PATH", e->sysfs_path);
	if (e->provider_found && e->need_drivers)
		print_export("RDMAV_DRIVERS", e->rdmav_drivers);
}

int srxe_envvars_apply(const struct srxe_envvars *e)
{
	if (setenv("SYSFS_PATH", e->sysfs_path, 1))
		return -errno;
	if (e->provider_found && e->need_drivers &&
	    setenv("RDMAV_DRIVERS", e->rdmav_drivers, 1))
		return -errno;
	return 0;
}
