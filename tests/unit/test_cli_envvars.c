// SPDX-License-Identifier: MIT
/*
 * LD_LIBRARY_PATH of `srxe env`/`srxe exec` (kernel-shim/cli/envvars.h):
 * srxe's librdmacm directory first, the caller's entries kept in order,
 * no duplicate when applied twice.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "cli/envvars.h"

static void expect(const char *old, const char *want)
{
	char *got = srxe_envvars_ld_path("/opt/srxe/rdmacm", old);

	cr_assert(got, "out of memory");
	cr_assert_str_eq(got, want, "old \"%s\"", old ? old : "(unset)");
	free(got);
}

Test(cli_envvars, unset_or_empty_gives_the_directory_alone)
{
	/* An empty LD_LIBRARY_PATH must not turn into "dir:" (the cwd). */
	expect(NULL, "/opt/srxe/rdmacm");
	expect("", "/opt/srxe/rdmacm");
}

Test(cli_envvars, callers_entries_follow_in_order)
{
	expect("/a:/b", "/opt/srxe/rdmacm:/a:/b");
	expect("/a::/b:", "/opt/srxe/rdmacm:/a::/b:");
}

Test(cli_envvars, repeated_env_does_not_grow)
{
	expect("/opt/srxe/rdmacm", "/opt/srxe/rdmacm");
	expect("/opt/srxe/rdmacm:/a", "/opt/srxe/rdmacm:/a");
	expect("/a:/opt/srxe/rdmacm:/b", "/opt/srxe/rdmacm:/a:/b");
	/* A longer or shorter path with the same prefix is another entry. */
	expect("/opt/srxe/rdmacm2:/opt/srxe/rdma",
	       "/opt/srxe/rdmacm:/opt/srxe/rdmacm2:/opt/srxe/rdma");
}
