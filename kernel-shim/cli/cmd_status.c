// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "daemon.h"
#include "fsutil.h"
#include "rundir.h"
#include "srxe/device.h"
#include "srxe/paths.h"

static void print_ibdev_attr(const struct srxe_rundir *r, const char *name,
			     const char *label, const char *attr)
{
	char path[PATH_MAX + 128], value[128];

	snprintf(path, sizeof(path), "%s/class/infiniband/%s/%s", r->sys, name,
		 attr);
	if (srxe_read_attr(path, value, sizeof(value)))
		snprintf(value, sizeof(value), "(not published)");
	printf("  %-13s %s\n", label, value);
}

static void print_identity(const struct srxe_rundir *r, const char *name,
			   const struct srxe_status_resp *st)
{
	char ip[INET_ADDRSTRLEN], attr[64], label[16];

	inet_ntop(AF_INET, &st->ipv4_be, ip, sizeof(ip));
	printf("%s\n", name);
	/* GID 1 (IPv4) is always there; GID 0 only with IPv6. */
	print_ibdev_attr(r, name, "netdev:", "ports/1/gid_attrs/ndevs/1");
	printf("  %-13s %s\n", "address:", ip);
	print_ibdev_attr(r, name, "node_guid:", "node_guid");
	for (int i = 0; i < SRXE_GID_COUNT; i++) {
		snprintf(attr, sizeof(attr), "ports/1/gids/%d", i);
		snprintf(label, sizeof(label), "gid[%d]:", i);
		print_ibdev_attr(r, name, label, attr);
	}
}

static const char *const wire_drop_names[SRXE_WDROP_COUNT] = {
	[SRXE_WDROP_TOO_SHORT] = "too_short",
	[SRXE_WDROP_BAD_IP] = "bad_ip",
	[SRXE_WDROP_BAD_UDP] = "bad_udp",
	[SRXE_WDROP_BAD_ICRC] = "bad_icrc",
	[SRXE_WDROP_BAD_TVER] = "bad_tver",
	[SRXE_WDROP_BAD_OPCODE] = "bad_opcode",
	[SRXE_WDROP_BAD_PAD] = "bad_pad",
	[SRXE_WDROP_BAD_LENGTH] = "bad_length",
	[SRXE_WDROP_TRUNCATED] = "truncated",
	[SRXE_WDROP_NOT_FOR_US] = "not_for_us",
	[SRXE_WDROP_SOCKET_OVERFLOW] = "socket_overflow",
};

/* "wire drops:  N (reason n, ...)", every reason listed. */
static void print_wire_drops(const struct srxe_status_resp *st)
{
	uint64_t total = 0;

	for (int r = SRXE_WDROP_TOO_SHORT; r < SRXE_WDROP_COUNT; r++)
		total += st->wire_drops[r];
	printf("  %-13s %" PRIu64 " (", "wire drops:", total);
	for (int r = SRXE_WDROP_TOO_SHORT; r < SRXE_WDROP_COUNT; r++)
		printf("%s%s %" PRIu64, r == SRXE_WDROP_TOO_SHORT ? "" : ", ",
		       wire_drop_names[r], st->wire_drops[r]);
	printf(")\n");
}

/* In the spirit of `rdma statistic`: what loss recovery did. */
static void print_reliability(const struct srxe_status_resp *st)
{
	printf("  %-13s retransmitted %" PRIu64 ", ack timeouts %" PRIu64
	       ", naks received %" PRIu64 ", rnr naks received %" PRIu64
	       ", duplicates %" PRIu64 ", reordered held %" PRIu64 "\n",
	       "reliability:", st->retrans_pkts, st->ack_timeouts,
	       st->naks_recv, st->rnr_naks_recv, st->dup_requests,
	       st->ooo_held);
	printf("  %-13s %" PRIu64 " (no_qp %" PRIu64 ", bad_pkey %" PRIu64
	       ", bad_qkey %" PRIu64 ", bad_state %" PRIu64
	       ", bad_opcode_seq %" PRIu64 ", mcast_no_group %" PRIu64
	       ", no_recv_wqe %" PRIu64 ", bad_request %" PRIu64
	       ", rq_error %" PRIu64 ")\n",
	       "rx drops:",
	       st->drop_no_qp + st->drop_bad_pkey + st->drop_bad_qkey +
		       st->drop_bad_state + st->drop_bad_seq +
		       st->drop_mcast_no_group + st->drop_no_recv_wqe +
		       st->drop_bad_request + st->drop_rq_error,
	       st->drop_no_qp, st->drop_bad_pkey, st->drop_bad_qkey,
	       st->drop_bad_state, st->drop_bad_seq, st->drop_mcast_no_group,
	       st->drop_no_recv_wqe, st->drop_bad_request, st->drop_rq_error);
	printf("  %-13s %" PRIu64 " (no_route %" PRIu64 ", tx_error %" PRIu64
	       ")\n",
	       "tx drops:", st->drop_no_route + st->drop_tx_error,
	       st->drop_no_route, st->drop_tx_error);
	printf("  %-13s groups %" PRIu64 ", attached %" PRIu64
	       ", received %" PRIu64 ", copies %" PRIu64
	       ", other groups %" PRIu64 "\n",
	       "multicast:", st->mcast_groups, st->mcast_attached,
	       st->mcast_recv, st->mcast_copies, st->mcast_other_group);
	printf("  %-13s channels %u, listens %u, connections %u; MADs in "
	       "%" PRIu64 " (malformed %" PRIu64 ", unmatched %" PRIu64
	       ", lost %" PRIu64 "), out %" PRIu64 " (retries %" PRIu64
	       "), timeouts %" PRIu64 ", reqs dropped %" PRIu64
	       ", events dropped %" PRIu64 ", disconnects held %" PRIu64 "\n",
	       "rdma_cm:", st->cm_channels, st->cm_listens, st->cm_conns,
	       st->cm_mads_in, st->cm_mads_bad, st->cm_mads_unmatched,
	       st->cm_mads_lost, st->cm_mads_out, st->cm_retries,
	       st->cm_timeouts, st->cm_reqs_dropped, st->cm_events_dropped,
	       st->cm_disconnects_held);
}

/* Where the contexts are: one count per engine thread. */
static void print_thread_ctxs(const struct srxe_status_resp *st)
{
	uint64_t n = st->engine_threads;

	if (n >
	    sizeof(st->engine_thread_ctxs) / sizeof(st->engine_thread_ctxs[0]))
		n = sizeof(st->engine_thread_ctxs) /
		    sizeof(st->engine_thread_ctxs[0]);
	printf("  %-13s contexts per engine thread:", "threads:");
	for (uint64_t i = 0; i < n; i++)
		printf(" %" PRIu32, st->engine_thread_ctxs[i]);
	printf("\n");
}

static void print_packets(const struct srxe_status_resp *st)
{
	printf("  %-13s sent %" PRIu64 " (%" PRIu64 " B), received %" PRIu64
	       " (%" PRIu64 " B), naks sent %" PRIu64 ", rnr naks sent %" PRIu64
	       ", drops %" PRIu64 "\n",
	       "packets:", st->pkts_sent, st->bytes_sent, st->pkts_recv,
	       st->bytes_recv, st->naks_sent, st->rnr_naks_sent, st->drops);
	print_reliability(st);
	printf("  %-13s threads %" PRIu64 ", sleeps %" PRIu64
	       ", doorbells %" PRIu64 ", same-host bursts %" PRIu64 " (%" PRIu64
	       " MTU packets), hand-offs %" PRIu64 " direct, %" PRIu64
	       " queued, %" PRIu64 " dropped\n",
	       "engine:", st->engine_threads, st->engine_sleeps,
	       st->engine_doorbells, st->engine_bursts, st->engine_burst_pkts,
	       st->engine_handoffs_direct, st->engine_handoffs_queued,
	       st->engine_handoff_drops);
	print_thread_ctxs(st);
	printf("  %-13s reads %" PRIu64 " (%" PRIu64 " B), writes %" PRIu64
	       " (%" PRIu64 " B), faults %" PRIu64 ", deferred %" PRIu64 "\n",
	       "on-demand:", st->odp_reads, st->odp_bytes_read, st->odp_writes,
	       st->odp_bytes_written, st->odp_faults, st->odp_deferred);
	if (!st->wire) {
		printf("  %-13s off (same-host only)\n", "wire:");
		return;
	}
	printf("  %-13s udp, sent %" PRIu64 " pkts %" PRIu64
	       " B, received %" PRIu64 " pkts %" PRIu64
	       " B, send errors %" PRIu64 "\n",
	       "wire:", st->wire_pkts_sent, st->wire_bytes_sent,
	       st->wire_pkts_recv, st->wire_bytes_recv, st->wire_tx_errors);
	print_wire_drops(st);
}

static void print_counters(const struct srxe_status_resp *st)
{
	printf("  %-13s %u\n", "srxed pid:", st->daemon_pid);
	printf("  %-13s %s\n",
	       "translation:", srxe_cli_translation_name(st->translation));
	printf("  %-13s %u (connections %u)\n", "clients:", st->clients,
	       st->connections);
	printf("  %-13s pds %u, mrs %u, qps %u, cqs %u, srqs %u, ahs %u\n",
	       "objects:", st->pds, st->mrs, st->qps, st->cqs, st->srqs,
	       st->ahs);
	printf("  %-13s registered %" PRIu64 " B, translation %" PRIu64
	       " B, data frames %" PRIu64 ", table frames %" PRIu64 "\n",
	       "memory:", st->reg_bytes, st->translation_bytes,
	       st->frames_in_use, st->table_frames_in_use);
	printf("  %-13s %" PRIu64 " served, %" PRIu64 " rejected\n",
	       "requests:", st->requests, st->rejected);
	print_packets(st);
}

static int show_device(const char *name)
{
	struct srxe_status_resp st;
	struct srxe_rundir r;
	char why[256];
	int ret = srxe_rundir_init(&r, name);

	if (ret) {
		fprintf(stderr, "srxe: %s: %s\n", name, strerror(-ret));
		return 1;
	}
	if (srxe_daemon_status(r.sock, &st, why, sizeof(why))) {
		fprintf(stderr, "%s: srxed is not running; run `srxe up`\n",
			name);
		return 1;
	}
	print_identity(&r, name, &st);
	print_counters(&st);
	return 0;
}

static bool is_device_dir(const char *root, const char *entry)
{
	char path[PATH_MAX + 256];
	struct stat st;

	if (entry[0] == '.' || !strcmp(entry, SRXE_SYSFS_SUBDIR))
		return false;
	snprintf(path, sizeof(path), "%s/%s", root, entry);
	return !lstat(path, &st) && S_ISDIR(st.st_mode);
}

static int show_all(void)
{
	struct srxe_rundir r;
	struct dirent **list;
	int n, shown = 0, ret = 0;

	srxe_rundir_init(&r, "x");
	n = scandir(r.root, &list, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		if (is_device_dir(r.root, list[i]->d_name)) {
			if (shown++)
				putchar('\n');
			ret |= show_device(list[i]->d_name);
		}
		free(list[i]);
	}
	if (n >= 0)
		free(list);
	if (!shown) {
		fprintf(stderr, "srxe: no srxe device is up in %s\n", r.root);
		return 1;
	}
	return ret;
}

int srxe_cmd_status(const struct srxe_cli_opts *o)
{
	return o->name_given ? show_device(o->name) : show_all();
}
