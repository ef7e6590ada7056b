/* SPDX-License-Identifier: MIT */
/*
 * Kernel rxe's hw counters (drivers/infiniband/sw/rxe/rxe_hw_counters.c,
 * kernel 6.1) computed from srxed's own counters: the names, the order,
 * the meaning of each (docs/hw-counters.md has the table) and the text a
 * read shows.  Pure computation: countersfs.h serves the files.
 *
 * Contract:
 *  - Files 0 .. SRXED_HWC_COUNTERS - 1 are the counters in rxe's order;
 *    file SRXED_HWC_LIFESPAN is "lifespan" (how old, in ms, a value read
 *    may be: 0 when every read is live).
 *  - Every file reads as one decimal number and a newline, as sysfs
 *    prints them ("%llu\n").  Differences are computed saturating: a
 *    snapshot never shows a wrapped-around number.
 */
#ifndef SRXED_HWCOUNTERS_H
#define SRXED_HWCOUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"

/* The files, in rxe's order (its enum rxe_counters), then lifespan. */
enum srxed_hwc_file {
	SRXED_HWC_SENT_PKTS,
	SRXED_HWC_RCVD_PKTS,
	SRXED_HWC_DUP_REQ,
	SRXED_HWC_OUT_OF_SEQ_REQ,
	SRXED_HWC_RCV_RNR,
	SRXED_HWC_SND_RNR,
	SRXED_HWC_RCV_SEQ_ERR,
	SRXED_HWC_ACK_DEFERRED,
	SRXED_HWC_RETRY_EXCEEDED,
	SRXED_HWC_RNR_RETRY_EXCEEDED,
	SRXED_HWC_COMP_RETRY,
	SRXED_HWC_SEND_ERR,
	SRXED_HWC_LINK_DOWNED,
	SRXED_HWC_RDMA_SEND,
	SRXED_HWC_RDMA_RECV,
	SRXED_HWC_LIFESPAN,
	SRXED_HWC_FILES
};

#define SRXED_HWC_COUNTERS SRXED_HWC_LIFESPAN
/* Longest text of one file: 20 digits and a newline. */
#define SRXED_HWC_TEXT_MAX 24

/* What the counters are computed from, taken at one instant. */
struct srxed_hwc_sources {
	struct srxe_eng_stats eng;
	uint64_t link_downed; /* srxed.h */
	unsigned int lifespan_ms;
};

/* The file names by index, then NULL. */
extern const char *const srxed_hwc_names[SRXED_HWC_FILES + 1];
/* Name of file i (< SRXED_HWC_FILES), or NULL. */
const char *srxed_hwc_name(unsigned int i);
/* Index of the file called name, or -1. */
int srxed_hwc_lookup(const char *name);
/* Value of file i. */
uint64_t srxed_hwc_value(unsigned int i, const struct srxed_hwc_sources *s);
/* Text of file i into buf (>= SRXED_HWC_TEXT_MAX); its length. */
size_t srxed_hwc_format(unsigned int i, const struct srxed_hwc_sources *s,
			char *buf);

#endif /* SRXED_HWCOUNTERS_H */
