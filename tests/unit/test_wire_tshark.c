// SPDX-License-Identifier: MIT
/*
 * Our decoder against Wireshark's: every frame of the golden capture,
 * every field tshark 4.0 printed into tests/data/rxe-6.1-golden.tshark.tsv
 * (tests/tools/gen-golden-tshark.sh), and the opcode name in the Info
 * column.  A field tshark left empty must be a header we say is absent,
 * and the other way round.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tools/golden_frames.h"
#include "engine/packet/be_bytes.h"
#include "engine/packet/decode.h"
#include "engine/packet/wire.h"

#define TSV_PATH     SRXE_TEST_DATA "/rxe-6.1-golden.tshark.tsv"
#define TSV_MAX_COLS 32
#define TSV_LINE_MAX 4096

struct tsv_row {
	char *cell[TSV_MAX_COLS];
	int ncols;
};

/* Splits @line in place at tabs; strips the line end. */
static void tsv_split(char *line, struct tsv_row *row)
{
	line[strcspn(line, "\r\n")] = '\0';
	row->ncols = 0;
	for (char *p = line;; p++) {
		char *tab = strchr(p, '\t');

		cr_assert_lt(row->ncols, TSV_MAX_COLS);
		row->cell[row->ncols++] = p;
		if (!tab)
			break;
		*tab = '\0';
		p = tab;
	}
}

static int tsv_col(const struct tsv_row *hdr, const char *name)
{
	for (int i = 0; i < hdr->ncols; i++)
		if (!strcmp(hdr->cell[i], name))
			return i;
	cr_assert_fail("column %s missing from %s", name, TSV_PATH);
	return -1;
}

/* A frame under test: the tshark row and our decode of it. */
struct check {
	const struct tsv_row *hdr;
	const struct tsv_row *row;
	const struct srxe_pkt *pkt;
	unsigned long frame;
};

static const char *cell(const struct check *c, const char *field)
{
	int col = tsv_col(c->hdr, field);

	cr_assert_lt(col, c->row->ncols, "frame %lu: short row", c->frame);
	return c->row->cell[col];
}

static uint64_t cell_value(const char *s)
{
	if (!strcmp(s, "True"))
		return 1;
	if (!strcmp(s, "False"))
		return 0;
	return strtoull(s, NULL, 0);
}

/* tshark printed @field iff @present, and then its value is @ours. */
static void expect(const struct check *c, const char *field, bool present,
		   uint64_t ours)
{
	const char *s = cell(c, field);

	cr_assert_eq(*s != '\0', present, "frame %lu %s: tshark '%s', ours %s",
		     c->frame, field, s, present ? "present" : "absent");
	if (present)
		cr_assert_eq(cell_value(s), ours,
			     "frame %lu %s: tshark %s, ours 0x%llx", c->frame,
			     field, s, (unsigned long long)ours);
}

/* tshark prints FT_BYTES as hex digits, possibly with ':' separators. */
static void expect_bytes32(const struct check *c, const char *field,
			   bool present, uint32_t ours)
{
	const char *s = cell(c, field);
	char hex[16] = "0x";
	size_t n = 2;

	cr_assert_eq(*s != '\0', present, "frame %lu %s", c->frame, field);
	if (!present)
		return;
	for (; *s && n < sizeof(hex) - 1; s++)
		if (*s != ':')
			hex[n++] = *s;
	hex[n] = '\0';
	cr_assert_eq(strtoull(hex, NULL, 16), ours, "frame %lu %s", c->frame,
		     field);
}

static bool has(const struct srxe_pkt *pkt, enum srxe_ext_hdr h)
{
	return pkt->op->ext_off[h] != 0;
}

static void check_bth(const struct check *c)
{
	const struct srxe_pkt *p = c->pkt;

	expect(c, "infiniband.bth.opcode", true, p->opcode);
	expect(c, "infiniband.bth.se", true, p->se);
	expect(c, "infiniband.bth.m", true, p->mig);
	expect(c, "infiniband.bth.padcnt", true, p->pad);
	expect(c, "infiniband.bth.tver", true, p->tver);
	expect(c, "infiniband.bth.p_key", true, p->pkey);
	expect(c, "infiniband.bth.destqp", true, p->dqpn);
	expect(c, "infiniband.bth.a", true, p->ackreq);
	expect(c, "infiniband.bth.psn", true, p->psn);
}

static void check_ext(const struct check *c)
{
	const struct srxe_pkt *p = c->pkt;
	bool reth = has(p, SRXE_EXT_RETH), atm = has(p, SRXE_EXT_ATOMICETH);
	bool aeth = has(p, SRXE_EXT_AETH), deth = has(p, SRXE_EXT_DETH);
	bool ack = has(p, SRXE_EXT_ATOMICACKETH);

	/* Wireshark files AtomicETH's VA and R_Key under reth.*. */
	expect(c, "infiniband.reth.va", reth || atm,
	       reth ? p->reth.va : p->atomic.va);
	expect(c, "infiniband.reth.r_key", reth || atm,
	       reth ? p->reth.rkey : p->atomic.rkey);
	expect(c, "infiniband.reth.dmalen", reth, p->reth.len);
	expect(c, "infiniband.aeth.syndrome", aeth, p->aeth.syndrome);
	expect(c, "infiniband.aeth.msn", aeth, p->aeth.msn);
	expect(c, "infiniband.deth.q_key", deth, p->deth.qkey);
	expect(c, "infiniband.deth.srcqp", deth, p->deth.sqpn);
	expect(c, "infiniband.atomiceth.swapdt", atm, p->atomic.swap_add);
	expect(c, "infiniband.atomiceth.cmpdt", atm, p->atomic.compare);
	expect(c, "infiniband.atomicacketh.origremdt", ack, p->atomic_orig);
	expect_bytes32(c, "infiniband.immdt", has(p, SRXE_EXT_IMMDT), p->imm);
	expect_bytes32(c, "infiniband.ieth", has(p, SRXE_EXT_IETH),
		       p->ieth_rkey);
	/* tshark 4.0 shows the little-endian trailer as a big-endian number. */
	expect(c, "infiniband.invariant.crc", true, __builtin_bswap32(p->icrc));
}

/* Info is "<name> QP=0x<dqpn> " ("<name>QP=..." for UC RDMA Write First),
 * except for CM MADs, where the MAD dissector writes "CM: <message>". */
static void check_info(const struct check *c)
{
	const char *info = cell(c, "_ws.col.Info");
	const char *qp = strstr(info, "QP=");
	char name[128];
	size_t n;

	if (!strncmp(info, "CM: ", 4)) {
		cr_assert(c->pkt->opcode == SRXE_OP_UD_SEND_ONLY &&
				  c->pkt->dqpn == 1,
			  "frame %lu", c->frame);
		return;
	}
	cr_assert_not_null(qp, "frame %lu: Info '%s'", c->frame, info);
	cr_assert_eq(strtoul(qp + 3, NULL, 16), c->pkt->dqpn);
	n = (size_t)(qp - info);
	while (n && info[n - 1] == ' ')
		n--;
	cr_assert_lt(n, sizeof(name));
	memcpy(name, info, n);
	name[n] = '\0';
	cr_assert_str_eq(c->pkt->op->name, name, "frame %lu", c->frame);
}

/* data.len is payload + pad; absent when no payload or when a MAD
 * dissector consumed it. */
static void check_lengths(const struct check *c, const struct golden_frame *g)
{
	const char *dlen = cell(c, "data.len");
	uint32_t data = c->pkt->payload_len + c->pkt->pad;

	expect(c, "udp.srcport", true, srxe_get_be16(g->view.udp));
	expect(c, "udp.length", true, g->view.udp_len);
	if (*dlen)
		cr_assert_eq(strtoul(dlen, NULL, 10), data, "frame %lu",
			     c->frame);
	else
		cr_assert(data == 0 ||
				  !strncmp(cell(c, "_ws.col.Info"), "CM: ", 4),
			  "frame %lu: tshark shows no data", c->frame);
}

static void check_row(const struct tsv_row *hdr, const struct tsv_row *row)
{
	struct check c = { .hdr = hdr, .row = row };
	const struct golden_frame *g;
	struct srxe_pkt pkt;
	enum srxe_rx_reason r;

	c.frame = strtoul(row->cell[0], NULL, 10);
	cr_assert(c.frame >= 1 && c.frame <= GOLDEN_FRAMES);
	g = &golden[c.frame - 1];
	r = srxe_decode_udp(g->view.ip, g->view.ip_len, g->view.udp,
			    g->view.udp_len, &pkt);
	cr_assert_eq(r, SRXE_RX_OK, "frame %lu: %s", c.frame,
		     srxe_rx_reason_name(r));
	c.pkt = &pkt;
	check_bth(&c);
	check_ext(&c);
	check_info(&c);
	check_lengths(&c, g);
}

Test(wire_tshark, every_frame_matches_tshark, .init = golden_load,
     .fini = golden_free)
{
	FILE *f = fopen(TSV_PATH, "r");
	static char hdr_line[TSV_LINE_MAX], line[TSV_LINE_MAX];
	struct tsv_row hdr = { 0 }, row;
	unsigned long rows = 0, want_frame = 1;

	cr_assert_not_null(f, "cannot open %s", TSV_PATH);
	while (fgets(hdr_line, sizeof(hdr_line), f) && hdr_line[0] == '#')
		;
	tsv_split(hdr_line, &hdr);
	cr_assert_str_eq(hdr.cell[0], "frame.number");
	while (fgets(line, sizeof(line), f)) {
		tsv_split(line, &row);
		cr_assert_eq(strtoul(row.cell[0], NULL, 10), want_frame++);
		check_row(&hdr, &row);
		rows++;
	}
	fclose(f);
	cr_assert_eq(rows, GOLDEN_FRAMES);
}
