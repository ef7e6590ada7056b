// SPDX-License-Identifier: MIT
/*
 * QP 1 (engine.h, gsi.c): a MAD sent with srxe_eng_gsi_send reaches the
 * GSI callback of the receiving device with its GIDs, source QPN and
 * Q_Key; other packets for QPN 1 (wrong length, wrong Q_Key) never reach
 * it.
 */
#include <pthread.h>

#include "engine_harness.h"

static struct srxe_gsi_mad got;
static int ngot;

static void on_mad(void *opaque, const struct srxe_gsi_mad *m)
{
	(void)opaque;
	got = *m;
	ngot++;
}

static void setup(void)
{
	h_engine_start(IBV_MTU_1024);
	ngot = 0;
}

static void teardown(void)
{
	srxe_engine_stop(h_eng);
}

TestSuite(engine_gsi, .init = setup, .fini = teardown);

static void send_qkey(const uint8_t dgid[16], uint32_t qkey, uint32_t len,
		      int expect)
{
	uint8_t mad[256];
	const char *why;

	for (unsigned int i = 0; i < sizeof(mad); i++)
		mad[i] = (uint8_t)(i * 7 + 1);
	srxe_engine_lock(h_eng);
	srxe_eng_set_gsi_rx(h_eng, on_mad, NULL);
	cr_assert_eq(
		srxe_eng_gsi_send(h_eng, dgid, 1, qkey, 0, 64, mad, len, &why),
		expect, "%s", why ? why : "");
	srxe_engine_unlock(h_eng);
}

static void send_to(const uint8_t dgid[16], uint32_t len, int expect)
{
	send_qkey(dgid, 0x80010000u, len, expect);
}

Test(engine_gsi, ipv4_mad_reaches_callback)
{
	uint8_t gid[16] = { [10] = 0xff, [11] = 0xff };
	uint32_t ip = h_ip();

	memcpy(gid + 12, &ip, 4);
	send_to(gid, 256, 0);
	cr_assert_eq(ngot, 1);
	cr_assert_arr_eq(got.sgid, gid, 16);
	cr_assert_arr_eq(got.dgid, gid, 16);
	cr_assert_eq(got.src_qpn, 1);
	cr_assert_eq(got.qkey, 0x80010000u);
	cr_assert_eq(got.len, 256);
	cr_assert_eq(got.mad[255], (uint8_t)(255 * 7 + 1));
}

Test(engine_gsi, ipv6_mad_reaches_callback)
{
	uint8_t gid[16] = H_IP6;

	send_to(gid, 256, 0);
	cr_assert_eq(ngot, 1);
	cr_assert_arr_eq(got.sgid, gid, 16);
	cr_assert_eq(got.hop_limit, 64);
}

Test(engine_gsi, short_mad_is_dropped)
{
	uint8_t gid[16] = { [10] = 0xff, [11] = 0xff };
	uint32_t ip = h_ip();
	struct srxe_eng_stats st;

	memcpy(gid + 12, &ip, 4);
	send_to(gid, 100, 0);
	cr_assert_eq(ngot, 0);
	srxe_engine_stats(h_eng, &st);
	cr_assert_eq(st.drop_bad_request, 1);
}

Test(engine_gsi, bad_gid_and_length_are_refused)
{
	uint8_t global[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	uint8_t gid[16] = { [10] = 0xff, [11] = 0xff };

	send_to(global, 256, -EINVAL);
	send_to(gid, 257, -EINVAL);
	cr_assert_eq(ngot, 0);
}

/* As kernel rxe's check_keys(): QP 1 takes only the GSI Q_Key. */
Test(engine_gsi, wrong_qkey_is_dropped)
{
	uint8_t gid[16] = { [10] = 0xff, [11] = 0xff };
	uint32_t ip = h_ip();
	struct srxe_eng_stats st;

	memcpy(gid + 12, &ip, 4);
	send_qkey(gid, 0x12345678u, 256, 0);
	cr_assert_eq(ngot, 0);
	srxe_engine_stats(h_eng, &st);
	cr_assert_eq(st.drop_bad_qkey, 1);
}
