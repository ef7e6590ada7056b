// SPDX-License-Identifier: MIT
/*
 * rxe's hw counters from srxed's counters (kernel-shim/srxed/hwcounters.c):
 * rxe's names in rxe's order, what each file reads, and the text.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "srxed/hwcounters.h"

/* kernel 6.1 drivers/infiniband/sw/rxe/rxe_hw_counters.c, in order */
static const char *const rxe_names[] = {
	"sent_pkts",	       "rcvd_pkts",
	"duplicate_request",   "out_of_seq_request",
	"rcvd_rnr_err",	       "send_rnr_err",
	"rcvd_seq_err",	       "ack_deferred",
	"retry_exceeded_err",  "retry_rnr_exceeded_err",
	"completer_retry_err", "send_err",
	"link_downed",	       "rdma_sends",
	"rdma_recvs",
};

Test(hwcounters, rxe_names_in_order_then_lifespan)
{
	cr_assert_eq(SRXED_HWC_COUNTERS, 15);
	cr_assert_eq(SRXED_HWC_FILES, 16);
	for (unsigned int i = 0; i < SRXED_HWC_COUNTERS; i++) {
		cr_assert_str_eq(srxed_hwc_name(i), rxe_names[i]);
		cr_assert_eq(srxed_hwc_lookup(rxe_names[i]), (int)i);
	}
	cr_assert_str_eq(srxed_hwc_name(SRXED_HWC_LIFESPAN), "lifespan");
	cr_assert_eq(srxed_hwc_lookup("lifespan"), SRXED_HWC_LIFESPAN);
	cr_assert_null(srxed_hwc_name(SRXED_HWC_FILES));
	cr_assert_null(srxed_hwc_names[SRXED_HWC_FILES], "NULL-terminated");
	cr_assert_eq(srxed_hwc_lookup(""), -1);
	cr_assert_eq(srxed_hwc_lookup("sent_pkt"), -1);
	cr_assert_eq(srxed_hwc_lookup("sent_pkts "), -1);
	cr_assert_eq(srxed_hwc_lookup("."), -1);
}

static uint64_t val(const struct srxed_hwc_sources *s, const char *name)
{
	int i = srxed_hwc_lookup(name);

	cr_assert_geq(i, 0, "%s", name);
	return srxed_hwc_value((unsigned int)i, s);
}

Test(hwcounters, each_file_reads_its_source)
{
	struct srxed_hwc_sources s = {
		.eng = {
			.pkts_sent = 1000, .drop_no_route = 3,
			.drop_tx_error = 4, .pkts_recv = 900,
			.drop_no_qp = 10, .drop_bad_pkey = 1,
			.drop_bad_qkey = 2, .drop_bad_state = 5,
			.drop_bad_seq = 7, /* a valid header: counted */
			.dup_requests = 11, .nak_seq_sent = 12,
			.rnr_naks_recv = 13, .rnr_naks_sent = 14,
			.nak_seq_recv = 15, .comp_held = 16, .retry_exc = 17,
			.rnr_retry_exc = 18, .retries = 19, .sends_done = 20,
			.recvs_done = 21, .ooo_held = 99, .naks_sent = 98,
		},
		.link_downed = 22,
		.lifespan_ms = 1000,
	};

	cr_assert_eq(val(&s, "sent_pkts"), 993, "taken by a transport");
	cr_assert_eq(val(&s, "rcvd_pkts"), 882, "past rxe's header checks");
	cr_assert_eq(val(&s, "duplicate_request"), 11);
	cr_assert_eq(val(&s, "out_of_seq_request"), 12);
	cr_assert_eq(val(&s, "rcvd_rnr_err"), 13);
	cr_assert_eq(val(&s, "send_rnr_err"), 14);
	cr_assert_eq(val(&s, "rcvd_seq_err"), 15);
	cr_assert_eq(val(&s, "ack_deferred"), 16);
	cr_assert_eq(val(&s, "retry_exceeded_err"), 17);
	cr_assert_eq(val(&s, "retry_rnr_exceeded_err"), 18);
	cr_assert_eq(val(&s, "completer_retry_err"), 19);
	cr_assert_eq(val(&s, "send_err"), 7);
	cr_assert_eq(val(&s, "link_downed"), 22);
	cr_assert_eq(val(&s, "rdma_sends"), 20);
	cr_assert_eq(val(&s, "rdma_recvs"), 21);
	cr_assert_eq(val(&s, "lifespan"), 1000);
}

/* A read racing the engine never shows a wrapped-around huge number. */
Test(hwcounters, differences_never_wrap)
{
	struct srxed_hwc_sources s = {
		.eng = { .pkts_sent = 1,
			 .drop_tx_error = 2,
			 .pkts_recv = 0,
			 .drop_no_qp = 1 },
	};

	cr_assert_eq(val(&s, "sent_pkts"), 0);
	cr_assert_eq(val(&s, "rcvd_pkts"), 0);
	cr_assert_eq(val(&s, "send_err"), 2);
}

Test(hwcounters, text_is_decimal_and_newline)
{
	struct srxed_hwc_sources s = { .eng = { .dup_requests = UINT64_MAX } };
	char buf[SRXED_HWC_TEXT_MAX];
	size_t n;

	n = srxed_hwc_format(SRXED_HWC_DUP_REQ, &s, buf);
	cr_assert_eq(n, 21);
	cr_assert_eq(memcmp(buf, "18446744073709551615\n", n), 0);
	n = srxed_hwc_format(SRXED_HWC_RCV_RNR, &s, buf);
	cr_assert_eq(n, 2);
	cr_assert_eq(memcmp(buf, "0\n", n), 0);
}
