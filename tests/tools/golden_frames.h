/* SPDX-License-Identifier: MIT */
/*
 * Test helper: the frames of tests/data/rxe-6.1-golden.pcap, each in its
 * own exact-size heap block (so ASan catches any read past a frame), with
 * the RoCEv2 datagram located.  Header-only because every unit test is its
 * own binary; include it from a test_wire_*.c file.
 */
#ifndef SRXE_TESTS_GOLDEN_FRAMES_H
#define SRXE_TESTS_GOLDEN_FRAMES_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/packet/netframe.h"
#include "engine/packet/pcap.h"

#define GOLDEN_PCAP    SRXE_TEST_DATA "/rxe-6.1-golden.pcap"
#define GOLDEN_FRAMES  402
#define GOLDEN_ETH_HDR 14

struct golden_frame {
	uint8_t *data;
	size_t len;
	struct srxe_frame_view view;
};

static struct golden_frame golden[GOLDEN_FRAMES];

static inline void golden_load(void)
{
	struct srxe_pcap_reader r;
	struct srxe_pcap_record rec;
	FILE *f = fopen(GOLDEN_PCAP, "rb");
	size_t n = 0;
	int ret;

	cr_assert_not_null(f, "cannot open %s", GOLDEN_PCAP);
	cr_assert_eq(srxe_pcap_reader_open(&r, f), 0);
	cr_assert_eq(r.linktype, SRXE_PCAP_LINKTYPE_ETHERNET);
	while ((ret = srxe_pcap_next(&r, &rec)) == 1) {
		struct golden_frame *g = &golden[n];

		cr_assert_lt(n, GOLDEN_FRAMES, "more frames than expected");
		cr_assert_eq(rec.len, rec.orig_len, "frame %zu cut", n + 1);
		g->data = malloc(rec.len);
		cr_assert_not_null(g->data);
		memcpy(g->data, rec.data, rec.len);
		g->len = rec.len;
		cr_assert_eq(srxe_frame_locate_eth(g->data, g->len, &g->view),
			     0, "frame %zu not located", n + 1);
		n++;
	}
	cr_assert_eq(ret, 0, "pcap read error %d", ret);
	cr_assert_eq(n, GOLDEN_FRAMES);
	srxe_pcap_reader_close(&r);
	fclose(f);
}

static inline void golden_free(void)
{
	for (size_t i = 0; i < GOLDEN_FRAMES; i++) {
		free(golden[i].data);
		golden[i].data = NULL;
	}
}

/* Offsets inside a frame, for flipping bits at known places. */
static inline size_t golden_ip_off(const struct golden_frame *g)
{
	return (size_t)(g->view.ip - g->data);
}

static inline size_t golden_udp_off(const struct golden_frame *g)
{
	return (size_t)(g->view.udp - g->data);
}

#endif
