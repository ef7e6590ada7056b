// SPDX-License-Identifier: MIT
/*
 * QP 1, the General Services Interface (issue #11): the engine owns no QP
 * object for it.  A received UD SEND Only for QPN 1 is copied out to srxed's
 * CM through one callback; the CM's MADs leave as UD SEND Only from QPN 1
 * through the same transports the QPs use, so the same-host hand-over, the
 * wire, IPv6 and the capture tap all apply to them unchanged.
 */
#include <errno.h>
#include <string.h>

#include "objects/objects.h"
#include "packet/iphdr.h"
#include "packet/wire.h"
#include "proto.h"

#define GSI_QPN	     1u
#define GSI_QKEY     0x80010000u
#define UD_SEND_ONLY 0x64

static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };

void srxe_eng_set_gsi_rx(struct srxe_engine *eng, srxe_eng_gsi_rx_fn fn,
			 void *opaque)
{
	eng->dev->gsi_rx = fn;
	eng->dev->gsi_opaque = opaque;
}

/* Source and destination GIDs and GRH fields from the IP header. */
static void gids_from_ip(const uint8_t *ip, struct srxe_gsi_mad *m)
{
	if (ip[0] >> 4 == 6) {
		m->traffic_class = (uint8_t)((ip[0] << 4) | (ip[1] >> 4));
		m->flow_label = ((uint32_t)(ip[1] & 0x0f) << 16) |
				((uint32_t)ip[2] << 8) | ip[3];
		m->hop_limit = ip[7];
		memcpy(m->sgid, ip + SRXE_IPV6_SRC_OFF, 16);
		memcpy(m->dgid, ip + SRXE_IPV6_DST_OFF, 16);
		return;
	}
	m->traffic_class = ip[1];
	m->hop_limit = ip[8];
	memcpy(m->sgid, v4_mapped, 12);
	memcpy(m->sgid + 12, ip + 12, 4);
	memcpy(m->dgid, v4_mapped, 12);
	memcpy(m->dgid + 12, ip + 16, 4);
}

static bool gather(uint8_t *dst, uint32_t len, const struct srxe_sg *chunks,
		   int nchunks)
{
	uint32_t done = 0;

	for (int i = 0; i < nchunks && done < len; i++) {
		uint32_t n =
			chunks[i].len < len - done ? chunks[i].len : len - done;

		memcpy(dst + done, chunks[i].addr, n);
		done += n;
	}
	return done == len;
}

void srxe_gsi_rx(struct srxe_engine *eng, const struct srxe_pkt *pkt,
		 const struct srxe_sg *payload, int nchunks)
{
	struct srxe_gsi_mad m = { 0 };

	if (!eng->dev->gsi_rx) {
		eng->stats.drops++;
		eng->stats.drop_no_qp++;
		return;
	}
	/* QP 1's Q_Key is fixed: kernel rxe drops any other as a Q_Key
	 * violation (rxe_recv.c check_keys()), before a MAD layer sees it. */
	if (pkt->opcode == UD_SEND_ONLY && pkt->deth.qkey != GSI_QKEY) {
		eng->stats.drops++;
		eng->stats.drop_bad_qkey++;
		return;
	}
	if (pkt->opcode != UD_SEND_ONLY || pkt->payload_len != sizeof(m.mad) ||
	    !pkt->ip || !gather(m.mad, sizeof(m.mad), payload, nchunks)) {
		eng->stats.drops++;
		eng->stats.drop_bad_request++;
		return;
	}
	gids_from_ip(pkt->ip, &m);
	m.src_qpn = pkt->deth.sqpn;
	m.qkey = pkt->deth.qkey;
	m.pkey = pkt->pkey;
	m.len = sizeof(m.mad);
	eng->dev->gsi_rx(eng->dev->gsi_opaque, &m);
}

int srxe_eng_gsi_send(struct srxe_engine *eng, const uint8_t dgid[16],
		      uint32_t dqpn, uint32_t qkey, uint8_t traffic_class,
		      uint8_t hop_limit, const uint8_t *mad, uint32_t len,
		      const char **why)
{
	struct srxe_ah_wire av = { 0 };
	struct srxe_tx_pkt tx;
	struct srxe_dest dest;
	uint8_t *deth;
	int ret;

	*why = NULL;
	if (!len || len > 256) {
		*why = "a MAD is 1 to 256 bytes";
		return -EINVAL;
	}
	memcpy(av.dgid, dgid, sizeof(av.dgid));
	av.traffic_class = traffic_class;
	av.hop_limit = hop_limit;
	ret = srxe_resolve_av(eng, &av, &dest, why);
	if (ret)
		return ret;
	dest.qpn = dqpn & 0xffffff;
	/* As kernel rxe's QP 1 does: AckReq set, PSNs counting up (a UD
	 * receiver ignores both). */
	if (!srxe_tx_begin(&tx, UD_SEND_ONLY, dest.qpn, eng->dev->gsi_psn,
			   len)) {
		*why = "UD SEND Only is not in the opcode map";
		return -EINVAL;
	}
	eng->dev->gsi_psn = (eng->dev->gsi_psn + 1) & 0xffffff;
	srxe_bth_set_ackreq(tx.hdr, true);
	deth = srxe_tx_ext(&tx, SRXE_EXT_DETH);
	srxe_deth_set_qkey(deth, qkey);
	srxe_deth_set_sqpn(deth, GSI_QPN);
	tx.src_qpn = GSI_QPN;
	tx.nchunks = 1;
	tx.chunks[0] = (struct srxe_sg){ .addr = (void *)mad, .len = len };
	srxe_eng_xmit(eng, &tx, &dest);
	return 0;
}
