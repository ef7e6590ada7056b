// SPDX-License-Identifier: MIT
/* srxed entry point: options, device probe, then the control plane. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "devattr.h"
#include "linkwatch.h"
#include "log.h"
#include "options.h"
#include "server.h"
#include "verbs.h"

/* Each client holds a socket and maybe an event pipe: use every
 * descriptor the hard limit allows.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void log_device(const struct srxed *d)
{
	char ip[INET_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN] = "none";

	inet_ntop(AF_INET, &d->cfg.ipv4_be, ip, sizeof(ip));
	if (d->cfg.has_ipv6)
		inet_ntop(AF_INET6, d->cfg.ipv6_ll, ip6, sizeof(ip6));
	log_info(
		"srxed %d: device %s ip %s ip6 %s netdev %s (mtu %u) node_guid "
		"%016llx translation %s max-clients %u max-reg-bytes %llu "
		"max-mrs %u max-qp %u max-cq %u max-mr %u engines %u",
		(int)getpid(), d->cfg.name, ip, ip6, d->cfg.netdev,
		d->dev.netdev_mtu, (unsigned long long)d->dev.node_guid,
		d->cfg.translation == SRXE_TRANSLATION_MTT ? "mtt" : "shortcut",
		d->cfg.max_clients, (unsigned long long)d->cfg.max_reg_bytes,
		d->cfg.max_mrs, d->cfg.max_qp, d->cfg.max_cq, d->cfg.max_mr,
		d->cfg.engines);
}

int main(int argc, char **argv)
{
	static struct srxed d;
	static struct srxed_server srv;
	static struct srxed_linkwatch lw;
	char err[256];
	int ret;

	switch (srxed_parse_options(argc, argv, &d.cfg, err, sizeof(err))) {
	case SRXED_PARSE_HELP:
		srxed_usage(stdout);
		return 0;
	case SRXED_PARSE_ERROR:
		fprintf(stderr, "srxed: %s\n", err);
		srxed_usage(stderr);
		return 2;
	case SRXED_PARSE_OK:
		break;
	}
	srxed_log_set_verbose(d.cfg.verbose);
	if (srxed_device_probe(&d, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	raise_fd_limit();
	/* --engines, else the default from the CPUs srxed may run on. */
	d.cfg.engines = srxed_engine_threads(&d.cfg);
	log_device(&d);
	/* The engine runs before the socket exists: a ready srxed serves. */
	if (srxed_verbs_engine_start(&d, err, sizeof(err))) {
		log_err("%s", err);
		return 1;
	}
	srxed_linkwatch_start(&lw, &d);
	if (srxed_server_start(&srv, &d)) {
		srxed_linkwatch_stop(&lw);
		srxed_verbs_engine_stop(&d);
		return 1;
	}
	ret = srxed_server_run(&srv);
	/* Sessions (and their engine contexts) go before the engine. */
	srxed_linkwatch_stop(&lw);
	srxed_server_stop(&srv);
	srxed_verbs_engine_stop(&d);
	return ret ? 1 : 0;
}
