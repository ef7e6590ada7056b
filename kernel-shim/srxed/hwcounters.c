// SPDX-License-Identifier: MIT
/* rxe's hw counters from srxed's counters (contract: hwcounters.h). */
#include <stdio.h>
#include <string.h>

#include "hwcounters.h"

/* rxe's names (rxe_hw_counters.c). */
const char *const srxed_hwc_names[SRXED_HWC_FILES + 1] = {
	[SRXED_HWC_SENT_PKTS] = "sent_pkts",
	[SRXED_HWC_RCVD_PKTS] = "rcvd_pkts",
	[SRXED_HWC_DUP_REQ] = "duplicate_request",
	[SRXED_HWC_OUT_OF_SEQ_REQ] = "out_of_seq_request",
	[SRXED_HWC_RCV_RNR] = "rcvd_rnr_err",
	[SRXED_HWC_SND_RNR] = "send_rnr_err",
	[SRXED_HWC_RCV_SEQ_ERR] = "rcvd_seq_err",
	[SRXED_HWC_ACK_DEFERRED] = "ack_deferred",
	[SRXED_HWC_RETRY_EXCEEDED] = "retry_exceeded_err",
	[SRXED_HWC_RNR_RETRY_EXCEEDED] = "retry_rnr_exceeded_err",
	[SRXED_HWC_COMP_RETRY] = "completer_retry_err",
	[SRXED_HWC_SEND_ERR] = "send_err",
	[SRXED_HWC_LINK_DOWNED] = "link_downed",
	[SRXED_HWC_RDMA_SEND] = "rdma_sends",
	[SRXED_HWC_RDMA_RECV] = "rdma_recvs",
	[SRXED_HWC_LIFESPAN] = "lifespan",
	[SRXED_HWC_FILES] = NULL,
};

const char *srxed_hwc_name(unsigned int i)
{
	return i < SRXED_HWC_FILES ? srxed_hwc_names[i] : NULL;
}

int srxed_hwc_lookup(const char *name)
{
	for (unsigned int i = 0; i < SRXED_HWC_FILES; i++)
		if (!strcmp(srxed_hwc_names[i], name))
			return (int)i;
	return -1;
}

/* a - b, where b counts a subset of what a counts. */
static uint64_t minus(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

uint64_t srxed_hwc_value(unsigned int i, const struct srxed_hwc_sources *s)
{
	const struct srxe_eng_stats *e = &s->eng;

	switch (i) {
	case SRXED_HWC_SENT_PKTS: /* handed to a transport and taken by it */
		return minus(e->pkts_sent, e->drop_no_route + e->drop_tx_error);
	case SRXED_HWC_RCVD_PKTS: /* passed what rxe's hdr_check() checks */
		return minus(e->pkts_recv, e->drop_no_qp + e->drop_bad_pkey +
						   e->drop_bad_qkey +
						   e->drop_bad_state);
	case SRXED_HWC_DUP_REQ:
		return e->dup_requests;
	case SRXED_HWC_OUT_OF_SEQ_REQ: /* a PSN gap NAKed */
		return e->nak_seq_sent;
	case SRXED_HWC_RCV_RNR:
		return e->rnr_naks_recv;
	case SRXED_HWC_SND_RNR:
		return e->rnr_naks_sent;
	case SRXED_HWC_RCV_SEQ_ERR:
		return e->nak_seq_recv;
	case SRXED_HWC_ACK_DEFERRED: /* responses not handled on arrival */
		return e->comp_held;
	case SRXED_HWC_RETRY_EXCEEDED:
		return e->retry_exc;
	case SRXED_HWC_RNR_RETRY_EXCEEDED:
		return e->rnr_retry_exc;
	case SRXED_HWC_COMP_RETRY: /* retries started */
		return e->retries;
	case SRXED_HWC_SEND_ERR:
		return e->drop_no_route + e->drop_tx_error;
	case SRXED_HWC_LINK_DOWNED:
		return s->link_downed;
	case SRXED_HWC_RDMA_SEND:
		return e->sends_done;
	case SRXED_HWC_RDMA_RECV:
		return e->recvs_done;
	case SRXED_HWC_LIFESPAN:
		return s->lifespan_ms;
	case SRXED_HWC_FILES:
		break;
	}
	return 0;
}

size_t srxed_hwc_format(unsigned int i, const struct srxed_hwc_sources *s,
			char *buf)
{
	int n = snprintf(buf, SRXED_HWC_TEXT_MAX, "%llu\n",
			 (unsigned long long)srxed_hwc_value(i, s));

	return n > 0 ? (size_t)n : 0;
}
