// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "daemon.h"
#include "fsutil.h"
#include "netinfo.h"
#include "publish.h"
#include "rundir.h"

#define READY_TIMEOUT_MS 5000
#define STALE_TERM_MS	 2000
#define LOG_TAIL_BYTES	 2048

static void warn_if_netlink(void)
{
	if (!srxe_kernel_has_rdma_netlink())
		return;
	fprintf(stderr,
		"srxe: note: this kernel answers RDMA netlink, so libibverbs "
		"ignores SYSFS_PATH: run programs with `srxe exec -- "
		"COMMAND` or in `srxe shell` to see srxe devices\n");
}

static bool report_if_running(const struct srxe_rundir *r, const char *name)
{
	struct srxe_status_resp st;
	char why[256];

	if (srxe_daemon_status(r->sock, &st, why, sizeof(why)))
		return false;
	printf("%s is already up (srxed pid %u)\n", name, st.daemon_pid);
	return true;
}

/* A previous srxed that died or hangs: clear everything it left. */
static void clean_stale(const struct srxe_rundir *r, const char *name)
{
	pid_t pid = srxe_daemon_read_pidfile(r->pidfile);

	if (srxe_daemon_is_srxed(pid))
		srxe_daemon_stop(pid, STALE_TERM_MS);
	srxe_unpublish_device(r, name);
	srxe_detach_mount(r->cmdfile);
	srxe_detach_mount(r->hw_counters);
	unlink(r->sock);
	unlink(r->pidfile);
}

static void print_log_tail(const char *logfile)
{
	char buf[LOG_TAIL_BYTES + 1];
	FILE *f = fopen(logfile, "re");
	size_t n;

	if (!f)
		return;
	if (fseek(f, -LOG_TAIL_BYTES, SEEK_END))
		rewind(f);
	n = fread(buf, 1, LOG_TAIL_BYTES, f);
	fclose(f);
	buf[n] = 0;
	if (n)
		fprintf(stderr, "--- %s ---\n%s%s", logfile, buf,
			buf[n - 1] == '\n' ? "" : "\n");
}

static int start_daemon(const struct srxe_cli_opts *o,
			const struct srxe_rundir *r, struct srxe_netinfo *ni,
			pid_t *pid)
{
	struct srxe_daemon_args args = {
		.name = o->name,
		.devdir = r->devdir,
		.logfile = r->logfile,
		.netdev = ni->netdev,
		.ipv4_be = ni->ipv4_be,
		.ipv6_ll = ni->has_ipv6_ll ? ni->ipv6_ll : NULL,
		.translation = o->translation,
		.max_reg_bytes = o->max_reg_bytes,
		.max_qp = o->max_qp,
		.max_cq = o->max_cq,
		.max_mr = o->max_mr,
		.engines = o->engines,
	};
	struct srxe_status_resp st;
	char binary[PATH_MAX], why[512];
	int ret = srxe_daemon_find_binary(binary);

	if (ret) {
		fprintf(stderr,
			"srxe: cannot find srxed: %s (set "
			"SRXED=/path/to/srxed)\n",
			strerror(-ret));
		return ret;
	}
	ret = srxe_daemon_start(binary, &args, pid);
	if (ret) {
		fprintf(stderr, "srxe: cannot start %s: %s\n", binary,
			strerror(-ret));
		return ret;
	}
	ret = srxe_daemon_wait_ready(r->sock, *pid, READY_TIMEOUT_MS, &st, why,
				     sizeof(why));
	if (ret) {
		fprintf(stderr,
			"srxe: srxed for %s did not come up: %s (log: %s)\n",
			o->name, why, r->logfile);
		if (ret == -ETIMEDOUT)
			srxe_daemon_stop(*pid, STALE_TERM_MS);
		print_log_tail(r->logfile);
	} else if (!st.wire) {
		/* Typically a second device on an address another device
		 * already holds: it can only reach its own QPs. */
		fprintf(stderr,
			"srxe: warning: %s has no RoCEv2/UDP wire (port 4791 "
			"busy or no raw socket, see %s); it reaches only its "
			"own address - give each device its own --ip\n",
			o->name, r->logfile);
	}
	if (!ret && ni->has_ipv6_ll && !(st.wire & SRXE_STATUS_WIRE_IPV6)) {
		/* A GID that carries no traffic is not advertised. */
		fprintf(stderr,
			"srxe: warning: %s cannot use IPv6 on %s (see %s): "
			"GID 0 is the IPv4 one\n",
			o->name, ni->netdev, r->logfile);
		ni->has_ipv6_ll = false;
	}
	return ret;
}

static int prepare_dirs(const struct srxe_rundir *r)
{
	int ret = srxe_mkdir_p(r->devdir);

	if (ret)
		fprintf(stderr, "srxe: cannot create %s: %s\n", r->devdir,
			strerror(-ret));
	return ret;
}

static void report_up(const struct srxe_cli_opts *o,
		      const struct srxe_netinfo *ni, pid_t pid)
{
	char ip[INET_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN + 8] = "";

	inet_ntop(AF_INET, &ni->ipv4_be, ip, sizeof(ip));
	if (ni->has_ipv6_ll) {
		strcpy(ip6, " ");
		inet_ntop(AF_INET6, ni->ipv6_ll, ip6 + 1, INET6_ADDRSTRLEN);
	}
	printf("%s is up on %s %s%s (srxed pid %d, translation %s)\n", o->name,
	       ni->netdev, ip, ip6, (int)pid,
	       srxe_cli_translation_name(o->translation));
}

static int bring_up(const struct srxe_cli_opts *o, const struct srxe_rundir *r)
{
	struct srxe_netinfo ni;
	char why[PATH_MAX + 128];
	pid_t pid;
	int ret;

	ret = srxe_netinfo_resolve(o->netdev[0] ? o->netdev : NULL,
				   o->ip_given ? &o->ipv4_be : NULL, &ni, why,
				   sizeof(why));
	if (ret) {
		fprintf(stderr, "srxe: %s\n", why);
		return 1;
	}
	if (prepare_dirs(r) || start_daemon(o, r, &ni, &pid))
		return 1;
	/* Any user may run verbs programs; srxed authorizes per request. */
	chmod(r->sock, 0666);
	ret = srxe_publish_device(r, o->name, &ni, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "srxe: %s\n", why);
		srxe_daemon_stop(pid, STALE_TERM_MS);
		srxe_remove_tree(r->devdir);
		srxe_unpublish_root_if_unused(r);
		return 1;
	}
	report_up(o, &ni, pid);
	return 0;
}

int srxe_cmd_up(const struct srxe_cli_opts *o)
{
	struct srxe_rundir r;
	int ret = srxe_rundir_init(&r, o->name);

	if (ret) {
		fprintf(stderr, "srxe: runtime root for %s: %s\n", o->name,
			strerror(-ret));
		return 1;
	}
	warn_if_netlink();
	if (report_if_running(&r, o->name))
		return 0;
	clean_stale(&r, o->name);
	return bring_up(o, &r);
}
