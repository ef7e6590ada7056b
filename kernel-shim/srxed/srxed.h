/* SPDX-License-Identifier: MIT */
/*
 * State of one srxed instance shared by its modules: the configuration it
 * was started with, the device it serves and the daemon-wide counters
 * reported by STATUS.  Only the control-plane thread touches it.
 */
#ifndef SRXED_SRXED_H
#define SRXED_SRXED_H

#include <stdbool.h>
#include <stdint.h>
#include <limits.h>
#include <net/if.h>

#include "srxe/proto.h"
#include "qpn.h"
#include "translate.h"

struct srxe_engine;
struct srxed_chans;

struct srxed_config {
	char name[SRXE_DEVNAME_MAX];
	char rundir[PATH_MAX];
	char netdev[IF_NAMESIZE];
	uint32_t ipv4_be;
	/* --ip6: the netdev's IPv6 link-local address that `srxe up`
	 * published as GID 0; without it the device has no IPv6. */
	bool has_ipv6;
	uint8_t ipv6_ll[16];
	enum srxe_translation translation;
	unsigned int max_clients; /* connections served at once */
	uint64_t max_reg_bytes;	  /* per client process: slab size */
	uint32_t max_mrs;	  /* device-wide MR limit (max_mr) */
	/* Per client context (--max-qp, --max-cq, --max-mr), issue #6. */
	uint32_t max_qp, max_cq, max_mr;
	/* --engines: engine threads, 1..SRXE_ENGINE_MAX_THREADS; 0 until
	 * main() resolves the default (srxed_engine_threads(), verbs.h). */
	unsigned int engines;
	bool foreground;
	bool verbose;
};

struct srxed_device {
	uint8_t mac[6];
	uint64_t node_guid; /* host order */
	unsigned int netdev_mtu;
};

struct srxed_stats {
	uint64_t requests;
	uint64_t rejected;
	uint32_t connections;
	uint32_t clients; /* connections with an open context */
	uint32_t pds;
	uint32_t mr_handles;	      /* MRs live or being deregistered */
	uint32_t qps, cqs, srqs, ahs; /* device-wide, vs devattr.h limits */
	/* Sum of every context's srxe_mem_stats (kept by mr.c). */
	struct srxe_mem_stats mem;
};

struct srxed_xdom;
struct srxed_cm;
struct srxed_countersfs;

struct srxed {
	struct srxed_config cfg;
	struct srxed_device dev;
	struct srxed_stats stats;
	struct srxe_engine *engine; /* the data path (verbs.h); NULL in tests */
	struct srxed_qpns qpns;	    /* QP numbers live in this srxed */
	/* __atomic: the netdev's link is down (linkwatch.h) */
	int port_down;
	/* __atomic: times the link went down while srxed ran (linkwatch.h) */
	uint64_t link_downed;
	struct srxed_chans *chans; /* completion channels (chan.h) or NULL */
	/* XRC domains of every context (verbs_xrc.c), device-wide. */
	struct srxed_xdom *xdoms;
	uint32_t next_xdom_id;
	struct srxed_cm *cm; /* connection manager (cm_ctl.h) or NULL */
	/* <devdir>/hw_counters (countersfs.h) or NULL */
	struct srxed_countersfs *counters;
	/* Client processes and the memory their contexts share (proc.h). */
	struct srxed_proc *procs;
};

#endif /* SRXED_SRXED_H */
