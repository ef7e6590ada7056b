// SPDX-License-Identifier: MIT
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_args.h"
#include "srxe/client.h"

#ifndef SRXE_INSTALL_SBINDIR
#define SRXE_INSTALL_SBINDIR "/usr/local/sbin"
#endif

#define POLL_INTERVAL_MS 50

static bool is_executable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

static int try_candidate(char out[PATH_MAX], const char *dir, const char *leaf)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, leaf) >= PATH_MAX)
		return -ENAMETOOLONG;
	return is_executable(out) ? 0 : -ENOENT;
}

static int find_next_to_self(char out[PATH_MAX])
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -ENOENT;
	self[n] = 0;
	return try_candidate(out, dirname(self), "../srxed/srxed");
}

static int find_in_path(char out[PATH_MAX])
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	int ret = -ENOENT;

	if (!path)
		return -ENOENT;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	for (dir = strtok_r(copy, ":", &save); dir && ret;
	     dir = strtok_r(NULL, ":", &save))
		ret = try_candidate(out, *dir ? dir : ".", "srxed");
	free(copy);
	return ret;
}

int srxe_daemon_find_binary(char out[PATH_MAX])
{
	const char *env = getenv("SRXED");

	if (env && *env) {
		snprintf(out, PATH_MAX, "%s", env);
		return is_executable(out) ? 0 : -ENOENT;
	}
	if (!find_next_to_self(out))
		return 0;
	if (!try_candidate(out, SRXE_INSTALL_SBINDIR, "srxed"))
		return 0;
	return find_in_path(out);
}

static void redirect_stdio(const char *logfile)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int log =
		open(logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (null >= 0)
		dup2(null, STDIN_FILENO);
	if (log >= 0) {
		dup2(log, STDOUT_FILENO);
		dup2(log, STDERR_FILENO);
	}
}

/* Appends "opt value" when value is set; returns the new argc. */
static int add_count(char **argv, int argc, const char *opt, uint32_t value,
		     char buf[16])
{
	if (!value)
		return argc;
	snprintf(buf, 16, "%u", value);
	argv[argc++] = (char *)opt;
	argv[argc++] = buf;
	return argc;
}

static __attribute__((noreturn)) void
exec_daemon(const char *binary, const struct srxe_daemon_args *a)
{
	char ip[INET_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN], max_reg[32];
	const char *mode = srxe_cli_translation_name(a->translation);
	char *argv[] = {
		(char *)"srxed",
		(char *)"--name",
		(char *)a->name,
		(char *)"--rundir",
		(char *)a->devdir,
		(char *)"--ip",
		ip,
		(char *)"--netdev",
		(char *)a->netdev,
		(char *)"--translation",
		(char *)mode,
		NULL, /* --max-reg-bytes */
		NULL,
		NULL, /* per-context limits, issue #6 (add_count) */
		NULL,
		NULL,
		NULL,
		NULL,
		NULL,
		NULL, /* --engines (add_count) */
		NULL,
		NULL, /* --ip6 */
		NULL,
		NULL,
	};
	char counts[4][16];
	int argc = 11;

	inet_ntop(AF_INET, &a->ipv4_be, ip, sizeof(ip));
	if (a->max_reg_bytes) {
		snprintf(max_reg, sizeof(max_reg), "%llu",
			 (unsigned long long)a->max_reg_bytes);
		argv[argc++] = (char *)"--max-reg-bytes";
		argv[argc++] = max_reg;
	}
	argc = add_count(argv, argc, "--max-qp", a->max_qp, counts[0]);
	argc = add_count(argv, argc, "--max-cq", a->max_cq, counts[1]);
	argc = add_count(argv, argc, "--max-mr", a->max_mr, counts[2]);
	argc = add_count(argv, argc, "--engines", a->engines, counts[3]);
	if (a->ipv6_ll) {
		inet_ntop(AF_INET6, a->ipv6_ll, ip6, sizeof(ip6));
		argv[argc++] = (char *)"--ip6";
		argv[argc++] = ip6;
	}
	setsid();
	redirect_stdio(a->logfile);
	/* Files srxed creates must be usable by unprivileged clients. */
	umask(022);
	execv(binary, argv);
	fprintf(stderr, "srxe: cannot exec %s: %s\n", binary, strerror(errno));
	_exit(127);
}

int srxe_daemon_start(const char *binary, const struct srxe_daemon_args *a,
		      pid_t *pid)
{
	pid_t child;

	fflush(NULL);
	child = fork();
	if (child < 0)
		return -errno;
	if (child == 0)
		exec_daemon(binary, a);
	*pid = child;
	return 0;
}

int srxe_daemon_status(const char *sock, struct srxe_status_resp *st, char *why,
		       size_t len)
{
	struct srxe_conn conn;
	int ret = srxe_conn_open(&conn, sock);

	if (ret) {
		snprintf(why, len, "%s", strerror(-ret));
		return ret;
	}
	ret = srxe_call(&conn, SRXE_OP_STATUS, NULL, 0, -1, st, sizeof(*st),
			NULL);
	if (ret)
		snprintf(why, len, "%s",
			 conn.reason[0] ? conn.reason : strerror(abs(ret)));
	srxe_conn_close(&conn);
	return ret;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static bool child_exited(pid_t pid, char *why, size_t len)
{
	int status;

	if (waitpid(pid, &status, WNOHANG) != pid)
		return false;
	if (WIFEXITED(status))
		snprintf(why, len, "srxed exited with status %d",
			 WEXITSTATUS(status));
	else
		snprintf(why, len, "srxed killed by signal %d",
			 WTERMSIG(status));
	return true;
}

int srxe_daemon_wait_ready(const char *sock, pid_t pid, int timeout_ms,
			   struct srxe_status_resp *st, char *why, size_t len)
{
	for (int waited = 0; waited <= timeout_ms; waited += POLL_INTERVAL_MS) {
		if (!srxe_daemon_status(sock, st, why, len))
			return 0;
		if (child_exited(pid, why, len))
			return -ECHILD;
		sleep_ms(POLL_INTERVAL_MS);
	}
	snprintf(why, len, "srxed did not answer on %s within %d ms", sock,
		 timeout_ms);
	return -ETIMEDOUT;
}

pid_t srxe_daemon_read_pidfile(const char *pidfile)
{
	FILE *f = fopen(pidfile, "re");
	long pid = 0;

	if (!f)
		return 0;
	if (fscanf(f, "%ld", &pid) != 1 || pid <= 0 || pid > INT32_MAX)
		pid = 0;
	fclose(f);
	return (pid_t)pid;
}

/* Reads "pid (comm) S ..." from /proc; comm may hold spaces. */
static int read_proc_stat(pid_t pid, char comm[32], char *state)
{
	char path[64], buf[512];
	char *open_paren, *close_paren;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren[1] != ' ')
		return -EINVAL;
	*close_paren = 0;
	snprintf(comm, 32, "%s", open_paren + 1);
	*state = close_paren[2];
	return 0;
}

static bool process_alive(pid_t pid)
{
	char comm[32], state;

	/* A zombie whose parent does not reap it is already gone for us. */
	return !read_proc_stat(pid, comm, &state) && state != 'Z' &&
	       state != 'X';
}

bool srxe_daemon_is_srxed(pid_t pid)
{
	char comm[32], state;

	if (pid <= 0 || read_proc_stat(pid, comm, &state))
		return false;
	return state != 'Z' && state != 'X' && !strcmp(comm, "srxed");
}

static bool wait_gone(pid_t pid, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += POLL_INTERVAL_MS) {
		/* Reap it if it happens to be our child. */
		waitpid(pid, NULL, WNOHANG);
		if (!process_alive(pid))
			return true;
		sleep_ms(POLL_INTERVAL_MS);
	}
	return false;
}

int srxe_daemon_stop(pid_t pid, int term_ms)
{
	if (kill(pid, SIGTERM) && errno == ESRCH)
		return 0;
	if (wait_gone(pid, term_ms))
		return 0;
	kill(pid, SIGKILL);
	return wait_gone(pid, 1000) ? 0 : -ETIMEDOUT;
}
