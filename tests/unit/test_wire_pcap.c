// SPDX-License-Identifier: MIT
/* Classic pcap reader/writer and frame location. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/golden_frames.h"
#include "engine/packet/be_bytes.h"
#include "engine/packet/netframe.h"
#include "engine/packet/pcap.h"

#define PCAP_FILE_HDR 24
#define PCAP_REC_HDR  16

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	cr_assert_not_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n);
	cr_assert_not_null(buf);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Reads every record of an in-memory file; returns the count, or the
 * negative error that ended the read. */
static int count_records(const uint8_t *file, size_t len)
{
	FILE *f = fmemopen((void *)file, len ? len : 1, "rb");
	struct srxe_pcap_reader r;
	struct srxe_pcap_record rec;
	int n = 0, ret;

	cr_assert_not_null(f);
	if (!len)
		fgetc(f); /* fmemopen cannot open size 0: consume the byte */
	ret = srxe_pcap_reader_open(&r, f);
	if (ret == 0) {
		while ((ret = srxe_pcap_next(&r, &rec)) == 1)
			n++;
		srxe_pcap_reader_close(&r);
	}
	fclose(f);
	return ret ? ret : n;
}

Test(wire_pcap, golden_file_reads_402_records)
{
	size_t len;
	uint8_t *file = slurp(GOLDEN_PCAP, &len);

	cr_assert_eq(len, 567036);
	cr_assert_eq(count_records(file, len), GOLDEN_FRAMES);
	free(file);
}

Test(wire_pcap, truncated_files_are_errors_not_crashes)
{
	size_t len;
	uint8_t *file = slurp(GOLDEN_PCAP, &len);
	size_t rec1_end = PCAP_FILE_HDR + PCAP_REC_HDR + 1082;

	cr_assert_eq(count_records(file, 0), -EINVAL);
	cr_assert_eq(count_records(file, PCAP_FILE_HDR - 1), -EINVAL);
	cr_assert_eq(count_records(file, PCAP_FILE_HDR), 0);
	cr_assert_eq(count_records(file, PCAP_FILE_HDR + 5), -EINVAL);
	cr_assert_eq(count_records(file, rec1_end - 1), -EINVAL);
	cr_assert_eq(count_records(file, rec1_end), 1);
	for (size_t cut = rec1_end + 1; cut < len; cut += 4099) {
		int ret = count_records(file, cut);

		cr_assert(ret == -EINVAL || ret > 0, "cut %zu: %d", cut, ret);
	}
	free(file);
}

Test(wire_pcap, bad_magic_and_oversized_records_are_rejected)
{
	size_t len;
	uint8_t *file = slurp(GOLDEN_PCAP, &len);

	file[0] ^= 0xff;
	cr_assert_eq(count_records(file, len), -EINVAL);
	file[0] ^= 0xff;
	/* First record's incl_len (little-endian file) = 1 MiB. */
	memcpy(file + PCAP_FILE_HDR + 8, "\x00\x00\x10\x00", 4);
	cr_assert_eq(count_records(file, len), -EINVAL);
	free(file);
}

Test(wire_pcap, big_endian_nanosecond_file_is_read)
{
	static const uint8_t
		file[] = {
			0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4,
			0,    0,    0,	  0,	0, 0, 0, 0,
			0,    0,    0xff, 0xff, 0, 0, 0, 101, /* linktype raw */
			0,    0,    0,	  7,	0, 0, 0, 9,   /* 7 s, 9 ns */
			0,    0,    0,	  3,	0, 0, 0, 60, /* 3 of 60 bytes */
			0xaa, 0xbb, 0xcc,
		};
	FILE *f = fmemopen((void *)file, sizeof(file), "rb");
	struct srxe_pcap_reader r;
	struct srxe_pcap_record rec;

	cr_assert_eq(srxe_pcap_reader_open(&r, f), 0);
	cr_assert(r.swapped == (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__));
	cr_assert(r.nanosec);
	cr_assert_eq(r.linktype, SRXE_PCAP_LINKTYPE_RAW);
	cr_assert_eq(srxe_pcap_next(&r, &rec), 1);
	cr_assert_eq(rec.ts.tv_sec, 7);
	cr_assert_eq(rec.ts.tv_nsec, 9);
	cr_assert_eq(rec.len, 3);
	cr_assert_eq(rec.orig_len, 60);
	cr_assert_eq(rec.data[2], 0xcc);
	cr_assert_eq(srxe_pcap_next(&r, &rec), 0);
	srxe_pcap_reader_close(&r);
	fclose(f);
}

Test(wire_pcap, writer_round_trips_the_golden_frames, .init = golden_load,
     .fini = golden_free)
{
	char *mem = NULL;
	size_t mem_len = 0, orig_len;
	FILE *f = open_memstream(&mem, &mem_len);
	struct srxe_pcap_writer w;
	struct srxe_pcap_reader r;
	struct srxe_pcap_record rec;
	uint8_t *orig = slurp(GOLDEN_PCAP, &orig_len);
	FILE *in = fmemopen(orig, orig_len, "rb");

	/* Copy with the original timestamps: the bytes must be identical. */
	cr_assert_eq(srxe_pcap_reader_open(&r, in), 0);
	cr_assert_eq(srxe_pcap_writer_open(&w, f, r.linktype, r.snaplen), 0);
	while (srxe_pcap_next(&r, &rec) == 1)
		cr_assert_eq(srxe_pcap_write(&w, &rec.ts, rec.data, rec.len),
			     0);
	srxe_pcap_reader_close(&r);
	fclose(in);
	fclose(f);
	cr_assert_eq(mem_len, orig_len);
	cr_assert_eq(memcmp(mem, orig, orig_len), 0);
	free(mem);
	free(orig);
}

Test(wire_pcap, writer_cuts_to_snaplen)
{
	char *mem = NULL;
	size_t mem_len = 0;
	FILE *f = open_memstream(&mem, &mem_len);
	struct srxe_pcap_writer w;
	struct srxe_pcap_reader r;
	struct srxe_pcap_record rec;
	struct timespec ts = { .tv_sec = 1, .tv_nsec = 2000 };
	uint8_t data[100];

	memset(data, 0x5a, sizeof(data));
	cr_assert_eq(srxe_pcap_writer_open(&w, f, 1, 64), 0);
	cr_assert_eq(srxe_pcap_write(&w, &ts, data, sizeof(data)), 0);
	fclose(f);
	f = fmemopen(mem, mem_len, "rb");
	cr_assert_eq(srxe_pcap_reader_open(&r, f), 0);
	cr_assert_eq(srxe_pcap_next(&r, &rec), 1);
	cr_assert_eq(rec.len, 64);
	cr_assert_eq(rec.orig_len, 100);
	cr_assert_eq(rec.ts.tv_nsec, 2000);
	srxe_pcap_reader_close(&r);
	fclose(f);
	free(mem);
}

/* ---- frame location ---- */

Test(wire_pcap, vlan_tagged_and_padded_frames_are_located, .init = golden_load,
     .fini = golden_free)
{
	const struct golden_frame *g = &golden[225]; /* frame 226: ACK, 62 B */
	uint8_t f[128];
	struct srxe_frame_view v;
	size_t len = g->len + 4 + 10;

	/* Insert an 802.1Q tag and 10 bytes of trailing Ethernet padding. */
	memcpy(f, g->data, 12);
	srxe_put_be16(f + 12, 0x8100);
	srxe_put_be16(f + 14, 0x0005);
	memcpy(f + 16, g->data + 12, g->len - 12);
	memset(f + 4 + g->len, 0, 10);
	cr_assert_eq(srxe_frame_locate_eth(f, len, &v), 0);
	cr_assert_eq(v.ip, f + 18);
	cr_assert_eq(v.ip_len, 20);
	cr_assert_eq(v.udp, f + 38);
	cr_assert_eq(v.udp_len, g->view.udp_len, "padding excluded");
}

Test(wire_pcap, non_roce_frames_are_enoent, .init = golden_load,
     .fini = golden_free)
{
	uint8_t f[128];
	struct srxe_frame_view v;
	size_t len;

	memcpy(f, golden[225].data, golden[225].len);
	len = golden[225].len;
	f[12] = 0x08, f[13] = 0x06; /* ARP */
	cr_assert_eq(srxe_frame_locate_eth(f, len, &v), -ENOENT);
	f[12] = 0x08, f[13] = 0x00;
	f[14 + 9] = 6; /* TCP */
	cr_assert_eq(srxe_frame_locate_eth(f, len, &v), -ENOENT);
	f[14 + 9] = 17;
	f[14 + 20 + 3] ^= 1; /* UDP dport 4790 */
	cr_assert_eq(srxe_frame_locate_eth(f, len, &v), -ENOENT);
	f[14 + 20 + 3] ^= 1;
	f[14 + 6] |= 0x20; /* more fragments */
	cr_assert_eq(srxe_frame_locate_eth(f, len, &v), -ENOENT);
	f[14 + 6] &= (uint8_t)~0x20;
	f[14] = 0x65; /* EtherType IPv4, version 6 */
	cr_assert_eq(srxe_frame_locate_eth(f, len, &v), -EINVAL);
	f[14] = 0x45;
	cr_assert_eq(srxe_frame_locate_eth(f, len, &v), 0);
	cr_assert_eq(srxe_frame_locate_ip(f + 14, len - 14, &v), 0);
}
