// SPDX-License-Identifier: MIT
#include "decode.h"

#include <string.h>

#include "icrc.h"
#include "wire.h"

#define IPPROTO_UDP_NUM	 17
#define IPV4_MIN_LEN	 20
#define IPV6_LEN	 40
#define UDP_HDR_LEN	 8
#define UDP_DPORT_OFF	 2
#define UDP_LEN_OFF	 4
#define IPV4_TOTLEN_OFF	 2
#define IPV4_PROTO_OFF	 9
#define IPV6_PAYLEN_OFF	 4
#define IPV6_NEXTHDR_OFF 6

static const char *const reason_names[SRXE_RX_REASON_COUNT] = {
	[SRXE_RX_OK] = "OK",
	[SRXE_RX_TOO_SHORT] = "TOO_SHORT",
	[SRXE_RX_BAD_IP] = "BAD_IP",
	[SRXE_RX_BAD_UDP] = "BAD_UDP",
	[SRXE_RX_BAD_ICRC] = "BAD_ICRC",
	[SRXE_RX_BAD_TVER] = "BAD_TVER",
	[SRXE_RX_BAD_OPCODE] = "BAD_OPCODE",
	[SRXE_RX_BAD_PAD] = "BAD_PAD",
	[SRXE_RX_BAD_LENGTH] = "BAD_LENGTH",
};

const char *srxe_rx_reason_name(enum srxe_rx_reason reason)
{
	if ((unsigned int)reason >= SRXE_RX_REASON_COUNT)
		return "?";
	return reason_names[reason];
}

static void parse_bth(const uint8_t *bth, struct srxe_pkt *pkt)
{
	pkt->opcode = srxe_bth_opcode(bth);
	pkt->se = srxe_bth_se(bth);
	pkt->mig = srxe_bth_mig(bth);
	pkt->pad = srxe_bth_pad(bth);
	pkt->tver = srxe_bth_tver(bth);
	pkt->pkey = srxe_bth_pkey(bth);
	pkt->resv8a = srxe_bth_resv8a(bth);
	pkt->dqpn = srxe_bth_dqpn(bth);
	pkt->ackreq = srxe_bth_ackreq(bth);
	pkt->psn = srxe_bth_psn(bth);
}

static void parse_ext(const uint8_t *h, enum srxe_ext_hdr kind,
		      struct srxe_pkt *pkt)
{
	switch (kind) {
	case SRXE_EXT_RETH:
		pkt->reth.va = srxe_reth_va(h);
		pkt->reth.rkey = srxe_reth_rkey(h);
		pkt->reth.len = srxe_reth_len(h);
		break;
	case SRXE_EXT_AETH:
		pkt->aeth.syndrome = srxe_aeth_syndrome(h);
		pkt->aeth.msn = srxe_aeth_msn(h);
		break;
	case SRXE_EXT_DETH:
		pkt->deth.qkey = srxe_deth_qkey(h);
		pkt->deth.sqpn = srxe_deth_sqpn(h);
		break;
	case SRXE_EXT_IMMDT:
		pkt->imm = srxe_immdt_imm(h);
		break;
	case SRXE_EXT_IETH:
		pkt->ieth_rkey = srxe_ieth_rkey(h);
		break;
	case SRXE_EXT_ATOMICETH:
		pkt->atomic.va = srxe_atmeth_va(h);
		pkt->atomic.rkey = srxe_atmeth_rkey(h);
		pkt->atomic.swap_add = srxe_atmeth_swap_add(h);
		pkt->atomic.compare = srxe_atmeth_compare(h);
		break;
	case SRXE_EXT_ATOMICACKETH:
		pkt->atomic_orig = srxe_atmack_orig(h);
		break;
	case SRXE_EXT_XRCETH:
		pkt->xrc_srqn = srxe_xrceth_srqn(h);
		break;
	case SRXE_EXT_FETH:
		pkt->feth.plt = srxe_feth_plt(h);
		pkt->feth.sel = srxe_feth_sel(h);
		break;
	case SRXE_EXT_COUNT:
		break;
	}
}

/* Pad and data length rules; @data is everything between the headers and
 * the ICRC (payload + pad). */
static enum srxe_rx_reason check_data_len(const struct srxe_opcode_info *op,
					  uint8_t pad, size_t data)
{
	if (!(op->flags & SRXE_OPF_PAYLOAD)) {
		if (pad)
			return SRXE_RX_BAD_PAD;
		return data ? SRXE_RX_BAD_LENGTH : SRXE_RX_OK;
	}
	/* First/Middle packets are a full path MTU: never padded. */
	if (pad && (op->flags & (SRXE_OPF_FIRST | SRXE_OPF_MIDDLE)))
		return SRXE_RX_BAD_PAD;
	return pad > data ? SRXE_RX_BAD_PAD : SRXE_RX_OK;
}

enum srxe_rx_reason srxe_decode_roce(const uint8_t *bth, size_t len,
				     struct srxe_pkt *pkt)
{
	const struct srxe_opcode_info *op;
	enum srxe_rx_reason reason;
	size_t data;

	if (len < SRXE_BTH_LEN + SRXE_ICRC_LEN)
		return SRXE_RX_TOO_SHORT;
	if (srxe_bth_tver(bth) != SRXE_BTH_TVER)
		return SRXE_RX_BAD_TVER;
	op = srxe_opcode_info(srxe_bth_opcode(bth));
	if (!op)
		return SRXE_RX_BAD_OPCODE;
	if (len < (size_t)op->hdr_len + SRXE_ICRC_LEN)
		return SRXE_RX_TOO_SHORT;
	data = len - op->hdr_len - SRXE_ICRC_LEN;
	reason = check_data_len(op, srxe_bth_pad(bth), data);
	if (reason != SRXE_RX_OK)
		return reason;

	memset(pkt, 0, sizeof(*pkt));
	pkt->op = op;
	parse_bth(bth, pkt);
	for (unsigned int i = 0; i < op->n_ext; i++)
		parse_ext(bth + op->ext_off[op->ext[i]], op->ext[i], pkt);
	pkt->payload = bth + op->hdr_len;
	pkt->payload_len = (uint32_t)(data - pkt->pad);
	pkt->icrc = srxe_icrc_trailer(bth + len - SRXE_ICRC_LEN);
	return SRXE_RX_OK;
}

static bool ip_shape_ok(const uint8_t *ip, size_t ip_len)
{
	if (!ip || ip_len < IPV4_MIN_LEN)
		return false;
	if (ip[0] >> 4 == 4)
		return ip_len == (size_t)(ip[0] & 0x0f) * 4;
	return ip[0] >> 4 == 6 && ip_len == IPV6_LEN;
}

/* The IP header describes exactly this UDP datagram. */
static bool ip_matches_udp(const uint8_t *ip, size_t ip_len, size_t udp_len)
{
	if (ip[0] >> 4 == 4)
		return ip[IPV4_PROTO_OFF] == IPPROTO_UDP_NUM &&
		       srxe_get_be16(ip + IPV4_TOTLEN_OFF) == ip_len + udp_len;
	return ip[IPV6_NEXTHDR_OFF] == IPPROTO_UDP_NUM &&
	       srxe_get_be16(ip + IPV6_PAYLEN_OFF) == udp_len;
}

static bool udp_header_ok(const uint8_t *udp, size_t udp_len)
{
	return srxe_get_be16(udp + UDP_DPORT_OFF) == SRXE_ROCE_UDP_PORT &&
	       srxe_get_be16(udp + UDP_LEN_OFF) == udp_len;
}

enum srxe_rx_reason srxe_decode_udp(const uint8_t *ip, size_t ip_len,
				    const uint8_t *udp, size_t udp_len,
				    struct srxe_pkt *pkt)
{
	enum srxe_rx_reason reason;

	if (!ip_shape_ok(ip, ip_len))
		return SRXE_RX_BAD_IP;
	if (!udp || udp_len < UDP_HDR_LEN + SRXE_BTH_LEN + SRXE_ICRC_LEN)
		return SRXE_RX_TOO_SHORT;
	if (!srxe_icrc_valid(ip, ip_len, udp, udp_len))
		return SRXE_RX_BAD_ICRC;
	if (!ip_matches_udp(ip, ip_len, udp_len))
		return SRXE_RX_BAD_IP;
	if (!udp_header_ok(udp, udp_len))
		return SRXE_RX_BAD_UDP;
	reason =
		srxe_decode_roce(udp + UDP_HDR_LEN, udp_len - UDP_HDR_LEN, pkt);
	if (reason == SRXE_RX_OK) {
		pkt->ip = ip;
		pkt->ip_len = (uint32_t)ip_len;
	}
	return reason;
}
