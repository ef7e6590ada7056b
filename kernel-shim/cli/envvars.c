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
#ifndef SRXE_INSTALL_RDMACM_DIR
#define SRXE_INSTALL_RDMACM_DIR "/usr/local/lib/srxe/rdmacm"
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

/* Sets dir to "<this executable's directory>/<rel>". */
static bool next_to_self(const char *rel, char dir[PATH_MAX + 64])
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return false;
	self[n] = 0;
	snprintf(dir, PATH_MAX + 64, "%s/%s", dirname(self), rel);
	return true;
}

static bool provider_in_build_tree(char stem[PATH_MAX])
{
	char dir[PATH_MAX + 64];

	return next_to_self("../../providers/srxe", dir) &&
	       provider_in(dir, stem);
}

/* Sets real to dir's real path when "<dir>/librdmacm.so.1" exists. */
static bool rdmacm_in(const char *dir, char real[PATH_MAX])
{
	char file[PATH_MAX + 32];

	snprintf(file, sizeof(file), "%s/" SRXE_RDMACM_SONAME, dir);
	return access(file, R_OK) == 0 && realpath(dir, real);
}

/*
 * srxe's librdmacm: the build tree's providers/rdmacm next to a build-tree
 * srxe, else the installed private directory (never the system's library
 * directory: the system librdmacm stays what programs get without srxe).
 */
static bool rdmacm_find(char dir[PATH_MAX])
{
	char rel[PATH_MAX + 64];

	if (next_to_self("../../providers/rdmacm", rel) && rdmacm_in(rel, dir))
		return true;
	return rdmacm_in(SRXE_INSTALL_RDMACM_DIR, dir);
}

char *srxe_envvars_ld_path(const char *dir, const char *old)
{
	size_t dlen = strlen(dir), olen = old ? strlen(old) : 0;
	char *out = malloc(dlen + olen + 2), *o;
	const char *p, *end;

	if (!out)
		return NULL;
	o = out + sprintf(out, "%s", dir);
	if (!old || !*old)
		return out;
	/* Keep every other entry (an empty one means ".") in its order. */
	for (p = old;; p = end + 1) {
		end = strchrnul(p, ':');
		if ((size_t)(end - p) != dlen || strncmp(p, dir, dlen)) {
			*o++ = ':';
			memcpy(o, p, end - p);
			o += end - p;
		}
		if (!*end)
			break;
	}
	*o = 0;
	return out;
}

void srxe_envvars_init(struct srxe_envvars *e, const struct srxe_rundir *r)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->sysfs_path, sizeof(e->sysfs_path), "%s", r->sys);
	e->need_drivers = true;
	e->rdmacm_found = rdmacm_find(e->rdmacm_dir);
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
	if (e->rdmacm_found) {
		char *v = srxe_envvars_ld_path(e->rdmacm_dir,
					       getenv("LD_LIBRARY_PATH"));

		if (v)
			print_export("LD_LIBRARY_PATH", v);
		free(v);
	}
}

int srxe_envvars_apply(const struct srxe_envvars *e)
{
	if (setenv("SYSFS_PATH", e->sysfs_path, 1))
		return -errno;
	if (e->provider_found && e->need_drivers &&
	    setenv("RDMAV_DRIVERS", e->rdmav_drivers, 1))
		return -errno;
	if (e->rdmacm_found) {
		char *v = srxe_envvars_ld_path(e->rdmacm_dir,
					       getenv("LD_LIBRARY_PATH"));
		int ret = v && !setenv("LD_LIBRARY_PATH", v, 1) ? 0 : -errno;

		free(v);
		return ret;
	}
	return 0;
}
