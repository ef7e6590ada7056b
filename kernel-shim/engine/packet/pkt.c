// SPDX-License-Identifier: MIT
/* Building outgoing packets in wire format; the same-host parse. */
#include "pkt.h"

#include <string.h>

#include "wire.h"

bool srxe_tx_begin(struct srxe_tx_pkt *pkt, uint8_t opcode, uint32_t dqpn,
		   uint32_t psn, uint32_t payload_len)
{
	const struct srxe_opcode_info *op = srxe_opcode_info(opcode);
	uint8_t *bth = pkt->hdr;

	if (!op)
		return false;
	pkt->op = op;
	pkt->hdr_len = op->hdr_len;
	pkt->payload_len = payload_len;
	pkt->nchunks = 0;
	pkt->extra_psns = 0;
	/* The whole array: a constant size is a few vector stores, the
	 * header's own length a `rep stos` (4% of a wire sender's CPU at
	 * path MTU 1024, with the read-back below). */
	memset(pkt->hdr, 0, sizeof(pkt->hdr));
	srxe_bth_set_opcode(bth, opcode);
	srxe_bth_init_byte1(bth, (uint8_t)srxe_pad_len(payload_len),
			    SRXE_BTH_TVER);
	srxe_bth_set_pkey(bth, 0xffff);
	srxe_bth_set_dqpn(bth, dqpn);
	srxe_bth_set_psn(bth, psn);
	return true;
}

uint8_t *srxe_tx_ext(struct srxe_tx_pkt *pkt, enum srxe_ext_hdr kind)
{
	uint8_t off = pkt->op->ext_off[kind];

	return off ? pkt->hdr + off : NULL;
}

static void parse_ext(const uint8_t *bth, const struct srxe_opcode_info *op,
		      struct srxe_pkt *out)
{
	const uint8_t *h;

	if (op->ext_off[SRXE_EXT_RETH]) {
		h = bth + op->ext_off[SRXE_EXT_RETH];
		out->reth.va = srxe_reth_va(h);
		out->reth.rkey = srxe_reth_rkey(h);
		out->reth.len = srxe_reth_len(h);
	}
	if (op->ext_off[SRXE_EXT_AETH]) {
		h = bth + op->ext_off[SRXE_EXT_AETH];
		out->aeth.syndrome = srxe_aeth_syndrome(h);
		out->aeth.msn = srxe_aeth_msn(h);
	}
	if (op->ext_off[SRXE_EXT_DETH]) {
		h = bth + op->ext_off[SRXE_EXT_DETH];
		out->deth.qkey = srxe_deth_qkey(h);
		out->deth.sqpn = srxe_deth_sqpn(h);
	}
	if (op->ext_off[SRXE_EXT_IMMDT])
		out->imm = srxe_immdt_imm(bth + op->ext_off[SRXE_EXT_IMMDT]);
	if (op->ext_off[SRXE_EXT_IETH])
		out->ieth_rkey =
			srxe_ieth_rkey(bth + op->ext_off[SRXE_EXT_IETH]);
	if (op->ext_off[SRXE_EXT_ATOMICETH]) {
		h = bth + op->ext_off[SRXE_EXT_ATOMICETH];
		out->atomic.va = srxe_atmeth_va(h);
		out->atomic.rkey = srxe_atmeth_rkey(h);
		out->atomic.swap_add = srxe_atmeth_swap_add(h);
		out->atomic.compare = srxe_atmeth_compare(h);
	}
	if (op->ext_off[SRXE_EXT_ATOMICACKETH])
		out->atomic_orig = srxe_atmack_orig(
			bth + op->ext_off[SRXE_EXT_ATOMICACKETH]);
	if (op->ext_off[SRXE_EXT_XRCETH])
		out->xrc_srqn =
			srxe_xrceth_srqn(bth + op->ext_off[SRXE_EXT_XRCETH]);
	if (op->ext_off[SRXE_EXT_FETH]) {
		h = bth + op->ext_off[SRXE_EXT_FETH];
		out->feth.plt = srxe_feth_plt(h);
		out->feth.sel = srxe_feth_sel(h);
	}
}

bool srxe_tx_parse(const struct srxe_tx_pkt *pkt, struct srxe_pkt *out)
{
	const uint8_t *bth = pkt->hdr;
	const struct srxe_opcode_info *op = srxe_opcode_info(bth[0]);

	if (!op || op->hdr_len != pkt->hdr_len)
		return false;
	if (pkt->payload_len && !(op->flags & SRXE_OPF_PAYLOAD))
		return false;
	memset(out, 0, sizeof(*out));
	out->op = op;
	out->opcode = srxe_bth_opcode(bth);
	out->se = srxe_bth_se(bth);
	out->mig = srxe_bth_mig(bth);
	out->pad = srxe_bth_pad(bth);
	out->tver = srxe_bth_tver(bth);
	out->pkey = srxe_bth_pkey(bth);
	out->resv8a = srxe_bth_resv8a(bth);
	out->dqpn = srxe_bth_dqpn(bth);
	out->ackreq = srxe_bth_ackreq(bth);
	out->psn = srxe_bth_psn(bth);
	parse_ext(bth, op, out);
	out->payload_len = pkt->payload_len;
	out->extra_psns = pkt->extra_psns;
	return true;
}

/* The bytes at the end of a copy stored one by one, after the rest. */
#define TAIL_BYTES 8u

/*
 * Copies one piece; @last: the piece ends the copy, whose last byte must
 * then land after every other (programs poll the last byte of a WRITE's
 * buffer and read the rest once it changes: ib_write_lat, riostream).
 * memmove stores in whatever order suits it (glibc's stores its first
 * vector last; ASan's copies backwards when the destination lies above
 * the source), so the tail is stored after it, in order, the very last
 * byte with release semantics.
 */
static void copy_piece(char *d, const char *s, uint32_t n, bool last)
{
	uint32_t body = n;

	if (last)
		body = n > TAIL_BYTES ? n - TAIL_BYTES : 0;
	if (body)
		memmove(d, s, body);
	if (body == n)
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (uint32_t i = body; i + 1 < n; i++)
		((volatile char *)d)[i] = s[i];
	__atomic_store_n(&d[n - 1], s[n - 1], __ATOMIC_RELEASE);
}

void srxe_sg_copy(const struct srxe_sg *dst, int ndst,
		  const struct srxe_sg *src, int nsrc, uint64_t len)
{
	int di = 0, si = 0;
	uint32_t doff = 0, soff = 0;

	while (len && di < ndst && si < nsrc) {
		uint32_t n = dst[di].len - doff;

		if (src[si].len - soff < n)
			n = src[si].len - soff;
		if (n > len)
			n = (uint32_t)len;
		if ((char *)dst[di].addr + doff != (char *)src[si].addr + soff)
			copy_piece((char *)dst[di].addr + doff,
				   (char *)src[si].addr + soff, n, n == len);
		len -= n;
		doff += n;
		soff += n;
		if (doff == dst[di].len) {
			di++;
			doff = 0;
		}
		if (soff == src[si].len) {
			si++;
			soff = 0;
		}
	}
}

bool srxe_tx_covered(const struct srxe_tx_pkt *pkt)
{
	uint64_t held = 0;

	for (int i = 0; i < pkt->nchunks; i++)
		held += pkt->chunks[i].len;
	return held >= pkt->payload_len;
}

bool srxe_tx_gather(uint8_t *p, const struct srxe_tx_pkt *pkt)
{
	uint32_t left = pkt->payload_len;

	for (int i = 0; i < pkt->nchunks && left; i++) {
		uint32_t n =
			pkt->chunks[i].len < left ? pkt->chunks[i].len : left;

		memcpy(p, pkt->chunks[i].addr, n);
		p += n;
		left -= n;
	}
	return !left;
}
