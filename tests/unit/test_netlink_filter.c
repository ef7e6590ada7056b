// SPDX-License-Identifier: MIT
/*
 * The seccomp filter of `srxe exec` (kernel-shim/cli/netlink_filter.h).
 * This kernel may have no RDMA netlink at all (then NETLINK_RDMA fails
 * with EPROTONOSUPPORT anyway), so the filter is also proven on a netlink
 * family every kernel has, NETLINK_SOCK_DIAG: it works before, fails
 * after, and the families around it keep working.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/netlink_filter.h"

#define PYTHON "/usr/bin/python3"

/* 0 when the socket opened, else errno. */
static int try_socket(int family, int type, int protocol)
{
	int fd = socket(family, type | SOCK_CLOEXEC, protocol);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void install(int protocol)
{
	char why[256] = "";

	cr_assert_eq(srxe_netlink_filter_install(protocol, why, sizeof(why)), 0,
		     "%s", why);
}

static void expect_refused(int protocol)
{
	cr_expect_eq(try_socket(AF_NETLINK, SOCK_RAW, protocol),
		     EPROTONOSUPPORT, "SOCK_RAW netlink %d", protocol);
	cr_expect_eq(try_socket(AF_NETLINK, SOCK_DGRAM, protocol),
		     EPROTONOSUPPORT, "SOCK_DGRAM netlink %d", protocol);
}

static void expect_others_work(void)
{
	cr_expect_eq(try_socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), 0);
	cr_expect_eq(try_socket(AF_INET, SOCK_DGRAM, 0), 0);
	cr_expect_eq(try_socket(AF_INET, SOCK_STREAM, 0), 0);
	cr_expect_eq(try_socket(AF_UNIX, SOCK_STREAM, 0), 0);
}

Test(netlink_filter, rdma_refused_other_families_work)
{
	install(NETLINK_RDMA);
	expect_refused(NETLINK_RDMA);
	cr_expect_eq(try_socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG), 0);
	expect_others_work();
}

Test(netlink_filter, bites_on_a_family_this_kernel_has)
{
	cr_assert_eq(try_socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG), 0,
		     "NETLINK_SOCK_DIAG must work before the filter");
	install(NETLINK_SOCK_DIAG);
	expect_refused(NETLINK_SOCK_DIAG);
	expect_others_work();
}

static void expect_child_exit_zero(pid_t pid, const char *what)
{
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "%s: status 0x%x", what, status);
}

Test(netlink_filter, holds_after_fork)
{
	pid_t pid;

	install(NETLINK_SOCK_DIAG);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		bool ok = try_socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG) ==
				  EPROTONOSUPPORT &&
			  try_socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) == 0;
		_exit(ok ? 0 : 1);
	}
	expect_child_exit_zero(pid, "forked child");
}

/* A new program, started by a forked child, still runs under both. */
static const char exec_check[] =
	"import socket, sys\n"
	"def err(p):\n"
	"    try:\n"
	"        socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, p).close()\n"
	"        return 0\n"
	"    except OSError as e:\n"
	"        return e.errno\n"
	"bad = [p for p in (20, 4) if err(p) != 93] + ([0] if err(0) else [])\n"
	"sys.exit(1 if bad else 0)\n";

Test(netlink_filter, holds_after_fork_and_exec)
{
	pid_t pid;

	cr_assert_eq(EPROTONOSUPPORT, 93, "the script hard-codes errno 93");
	if (access(PYTHON, X_OK))
		cr_skip_test(PYTHON " is missing (package python3)");
	install(NETLINK_RDMA);
	install(NETLINK_SOCK_DIAG);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		execl(PYTHON, PYTHON, "-c", exec_check, (char *)NULL);
		_exit(127);
	}
	expect_child_exit_zero(pid, PYTHON " after exec");
}

/* Root keeps set-user-ID programs; anyone else gets no_new_privs. */
Test(netlink_filter, no_new_privs_only_without_cap_sys_admin)
{
	pid_t pid;

	if (geteuid())
		cr_skip_test("needs root to compare with an unprivileged user");
	install(NETLINK_SOCK_DIAG);
	cr_expect_eq(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (!pid) {
		char why[256];
		bool ok = !setgroups(0, NULL) &&
			  !setresgid(65534, 65534, 65534) &&
			  !setresuid(65534, 65534, 65534) &&
			  !srxe_netlink_filter_install(NETLINK_ROUTE, why,
						       sizeof(why)) &&
			  prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 &&
			  try_socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) ==
				  EPROTONOSUPPORT;
		_exit(ok ? 0 : 1);
	}
	expect_child_exit_zero(pid, "unprivileged child");
}
