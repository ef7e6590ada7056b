/* SPDX-License-Identifier: MIT */
/*
 * RoCEv2 / IBA transport headers as they appear on the wire.
 *
 * A RoCEv2 packet is IP | UDP (dport 4791) | BTH | extension headers |
 * payload | pad | ICRC.  Every header field is big-endian except the ICRC
 * trailer, which is stored least-significant byte first (as rxe and
 * hardware do).  This header only knows layouts: each accessor takes a
 * pointer to the first byte of its header and the caller guarantees that
 * the whole header is readable/writable (decode.h does the bounds checks).
 * Setters keep every bit outside their field.
 *
 * Layouts (IBA vol. 1, 9.2-9.5; byte offsets within each header):
 *   BTH  12 B  0 opcode | 1 SE:1 M:1 PadCnt:2 TVer:4 | 2-3 P_Key |
 *              4 resv8a (variant: FECN/BECN live here, masked by ICRC) |
 *              5-7 DestQP | 8 AckReq:1 resv:7 | 9-11 PSN
 *   RETH 16 B  0-7 VA | 8-11 R_Key | 12-15 DMA length
 *   AETH  4 B  0 syndrome | 1-3 MSN
 *   DETH  8 B  0-3 Q_Key | 4 reserved | 5-7 source QP
 *   ImmDt 4 B  immediate data
 *   IETH  4 B  R_Key to invalidate
 *   XRCETH 4 B  0 reserved | 1-3 XRC SRQ number (requests of XRC only,
 *              right after the BTH, before RETH/AtomicETH/ImmDt/IETH)
 *   AtomicETH 28 B  0-7 VA | 8-11 R_Key | 12-19 swap/add | 20-27 compare
 *   AtomicAckETH 8 B  original remote data
 *   FETH  4 B  (IBA 1.5 FLUSH) bits 31-6 reserved | 5-4 selectivity level
 *              | 3-0 placement type
 *   ICRC  4 B  CRC-32, little-endian
 */
#ifndef SRXE_ENGINE_WIRE_H
#define SRXE_ENGINE_WIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "be_bytes.h"

#define SRXE_ROCE_UDP_PORT 4791

#define SRXE_BTH_LEN	      12
#define SRXE_RETH_LEN	      16
#define SRXE_AETH_LEN	      4
#define SRXE_DETH_LEN	      8
#define SRXE_IMMDT_LEN	      4
#define SRXE_IETH_LEN	      4
#define SRXE_XRCETH_LEN	      4
#define SRXE_ATOMICETH_LEN    28
#define SRXE_ATOMICACKETH_LEN 8
#define SRXE_FETH_LEN	      4
#define SRXE_ICRC_LEN	      4

#define SRXE_QPN_MASK 0xffffffu
#define SRXE_PSN_MASK 0xffffffu
#define SRXE_MSN_MASK 0xffffffu

/* BTH byte 1 */
#define SRXE_BTH_SE_BIT	   0x80u
#define SRXE_BTH_MIG_BIT   0x40u
#define SRXE_BTH_PAD_SHIFT 4
#define SRXE_BTH_PAD_MASK  0x30u
#define SRXE_BTH_TVER_MASK 0x0fu
/* BTH byte 8 */
#define SRXE_BTH_ACKREQ_BIT 0x80u
/* The only transport header version defined by IBA. */
#define SRXE_BTH_TVER 0

/* AETH syndrome: bits 6-5 select the kind, bits 4-0 carry its value. */
#define SRXE_AETH_TYPE_MASK	   0x60u
#define SRXE_AETH_VALUE_MASK	   0x1fu
#define SRXE_AETH_ACK		   0x00u
#define SRXE_AETH_RNR_NAK	   0x20u
#define SRXE_AETH_NAK		   0x60u
#define SRXE_AETH_CREDITS_INVALID  0x1fu
#define SRXE_AETH_NAK_PSN_SEQ	   0x60u
#define SRXE_AETH_NAK_INVALID_REQ  0x61u
#define SRXE_AETH_NAK_REM_ACCESS   0x62u
#define SRXE_AETH_NAK_REM_OP	   0x63u
#define SRXE_AETH_NAK_INVALID_RDRQ 0x64u

static inline void srxe_set_bits8(uint8_t *p, uint8_t mask, uint8_t bits)
{
	*p = (uint8_t)((*p & ~mask) | (bits & mask));
}

/* ---- BTH ---- */

static inline uint8_t srxe_bth_opcode(const uint8_t *bth)
{
	return bth[0];
}

static inline void srxe_bth_set_opcode(uint8_t *bth, uint8_t opcode)
{
	bth[0] = opcode;
}

static inline bool srxe_bth_se(const uint8_t *bth)
{
	return bth[1] & SRXE_BTH_SE_BIT;
}

static inline void srxe_bth_set_se(uint8_t *bth, bool se)
{
	srxe_set_bits8(&bth[1], SRXE_BTH_SE_BIT, se ? 0xff : 0);
}

static inline bool srxe_bth_mig(const uint8_t *bth)
{
	return bth[1] & SRXE_BTH_MIG_BIT;
}

static inline void srxe_bth_set_mig(uint8_t *bth, bool mig)
{
	srxe_set_bits8(&bth[1], SRXE_BTH_MIG_BIT, mig ? 0xff : 0);
}

static inline uint8_t srxe_bth_pad(const uint8_t *bth)
{
	return (bth[1] & SRXE_BTH_PAD_MASK) >> SRXE_BTH_PAD_SHIFT;
}

static inline void srxe_bth_set_pad(uint8_t *bth, uint8_t pad)
{
	srxe_set_bits8(&bth[1], SRXE_BTH_PAD_MASK,
		       (uint8_t)(pad << SRXE_BTH_PAD_SHIFT));
}

/*
 * Byte 1 whole: SE and M clear, @pad and @tver.  For a header being
 * built: no read of the byte (the setters above read it back, which right
 * after a memset of the header stalls the store forwarding).
 */
static inline void srxe_bth_init_byte1(uint8_t *bth, uint8_t pad, uint8_t tver)
{
	bth[1] = (uint8_t)(((pad << SRXE_BTH_PAD_SHIFT) & SRXE_BTH_PAD_MASK) |
			   (tver & SRXE_BTH_TVER_MASK));
}

static inline uint8_t srxe_bth_tver(const uint8_t *bth)
{
	return bth[1] & SRXE_BTH_TVER_MASK;
}

static inline void srxe_bth_set_tver(uint8_t *bth, uint8_t tver)
{
	srxe_set_bits8(&bth[1], SRXE_BTH_TVER_MASK, tver);
}

static inline uint16_t srxe_bth_pkey(const uint8_t *bth)
{
	return srxe_get_be16(bth + 2);
}

static inline void srxe_bth_set_pkey(uint8_t *bth, uint16_t pkey)
{
	srxe_put_be16(bth + 2, pkey);
}

static inline uint8_t srxe_bth_resv8a(const uint8_t *bth)
{
	return bth[4];
}

static inline void srxe_bth_set_resv8a(uint8_t *bth, uint8_t v)
{
	bth[4] = v;
}

static inline uint32_t srxe_bth_dqpn(const uint8_t *bth)
{
	return srxe_get_be24(bth + 5);
}

static inline void srxe_bth_set_dqpn(uint8_t *bth, uint32_t qpn)
{
	srxe_put_be24(bth + 5, qpn & SRXE_QPN_MASK);
}

static inline bool srxe_bth_ackreq(const uint8_t *bth)
{
	return bth[8] & SRXE_BTH_ACKREQ_BIT;
}

static inline void srxe_bth_set_ackreq(uint8_t *bth, bool ackreq)
{
	srxe_set_bits8(&bth[8], SRXE_BTH_ACKREQ_BIT, ackreq ? 0xff : 0);
}

static inline uint32_t srxe_bth_psn(const uint8_t *bth)
{
	return srxe_get_be24(bth + 9);
}

static inline void srxe_bth_set_psn(uint8_t *bth, uint32_t psn)
{
	srxe_put_be24(bth + 9, psn & SRXE_PSN_MASK);
}

/* ---- RETH ---- */

static inline uint64_t srxe_reth_va(const uint8_t *reth)
{
	return srxe_get_be64(reth);
}

static inline void srxe_reth_set_va(uint8_t *reth, uint64_t va)
{
	srxe_put_be64(reth, va);
}

static inline uint32_t srxe_reth_rkey(const uint8_t *reth)
{
	return srxe_get_be32(reth + 8);
}

static inline void srxe_reth_set_rkey(uint8_t *reth, uint32_t rkey)
{
	srxe_put_be32(reth + 8, rkey);
}

static inline uint32_t srxe_reth_len(const uint8_t *reth)
{
	return srxe_get_be32(reth + 12);
}

static inline void srxe_reth_set_len(uint8_t *reth, uint32_t len)
{
	srxe_put_be32(reth + 12, len);
}

/* ---- AETH ---- */

static inline uint8_t srxe_aeth_syndrome(const uint8_t *aeth)
{
	return aeth[0];
}

static inline void srxe_aeth_set_syndrome(uint8_t *aeth, uint8_t syndrome)
{
	aeth[0] = syndrome;
}

static inline uint32_t srxe_aeth_msn(const uint8_t *aeth)
{
	return srxe_get_be24(aeth + 1);
}

static inline void srxe_aeth_set_msn(uint8_t *aeth, uint32_t msn)
{
	srxe_put_be24(aeth + 1, msn & SRXE_MSN_MASK);
}

/* ---- DETH ---- */

static inline uint32_t srxe_deth_qkey(const uint8_t *deth)
{
	return srxe_get_be32(deth);
}

static inline void srxe_deth_set_qkey(uint8_t *deth, uint32_t qkey)
{
	srxe_put_be32(deth, qkey);
}

static inline uint32_t srxe_deth_sqpn(const uint8_t *deth)
{
	return srxe_get_be24(deth + 5);
}

/* Writes the reserved byte as zero, as IBA requires of senders. */
static inline void srxe_deth_set_sqpn(uint8_t *deth, uint32_t qpn)
{
	deth[4] = 0;
	srxe_put_be24(deth + 5, qpn & SRXE_QPN_MASK);
}

/* ---- ImmDt and IETH ---- */

/* Immediate data as the big-endian number on the wire; verbs hands it to
 * applications in network order, so the caller converts with htobe32(). */
static inline uint32_t srxe_immdt_imm(const uint8_t *immdt)
{
	return srxe_get_be32(immdt);
}

static inline void srxe_immdt_set_imm(uint8_t *immdt, uint32_t imm)
{
	srxe_put_be32(immdt, imm);
}

static inline uint32_t srxe_ieth_rkey(const uint8_t *ieth)
{
	return srxe_get_be32(ieth);
}

static inline void srxe_ieth_set_rkey(uint8_t *ieth, uint32_t rkey)
{
	srxe_put_be32(ieth, rkey);
}

/* ---- XRCETH ---- */

static inline uint32_t srxe_xrceth_srqn(const uint8_t *xrceth)
{
	return srxe_get_be24(xrceth + 1);
}

/* The reserved byte is written as 0. */
static inline void srxe_xrceth_set_srqn(uint8_t *xrceth, uint32_t srqn)
{
	xrceth[0] = 0;
	srxe_put_be24(xrceth + 1, srqn & SRXE_QPN_MASK);
}

/* ---- AtomicETH and AtomicAckETH ---- */

static inline uint64_t srxe_atmeth_va(const uint8_t *atm)
{
	return srxe_get_be64(atm);
}

static inline void srxe_atmeth_set_va(uint8_t *atm, uint64_t va)
{
	srxe_put_be64(atm, va);
}

static inline uint32_t srxe_atmeth_rkey(const uint8_t *atm)
{
	return srxe_get_be32(atm + 8);
}

static inline void srxe_atmeth_set_rkey(uint8_t *atm, uint32_t rkey)
{
	srxe_put_be32(atm + 8, rkey);
}

/* The add operand of Fetch Add, the swap operand of Compare Swap. */
static inline uint64_t srxe_atmeth_swap_add(const uint8_t *atm)
{
	return srxe_get_be64(atm + 12);
}

static inline void srxe_atmeth_set_swap_add(uint8_t *atm, uint64_t v)
{
	srxe_put_be64(atm + 12, v);
}

static inline uint64_t srxe_atmeth_compare(const uint8_t *atm)
{
	return srxe_get_be64(atm + 20);
}

static inline void srxe_atmeth_set_compare(uint8_t *atm, uint64_t v)
{
	srxe_put_be64(atm + 20, v);
}

static inline uint64_t srxe_atmack_orig(const uint8_t *atmack)
{
	return srxe_get_be64(atmack);
}

static inline void srxe_atmack_set_orig(uint8_t *atmack, uint64_t v)
{
	srxe_put_be64(atmack, v);
}

/* ---- FETH (FLUSH) ---- */

#define SRXE_FETH_PLT_MASK  0x0fu
#define SRXE_FETH_SEL_SHIFT 4
#define SRXE_FETH_SEL_MASK  0x30u

/* Placement type: bit 0 global visibility, bit 1 persistence. */
static inline uint8_t srxe_feth_plt(const uint8_t *feth)
{
	return (uint8_t)(srxe_get_be32(feth) & SRXE_FETH_PLT_MASK);
}

/* Selectivity level: 0 the RETH range, 1 the whole memory region. */
static inline uint8_t srxe_feth_sel(const uint8_t *feth)
{
	return (uint8_t)((srxe_get_be32(feth) & SRXE_FETH_SEL_MASK) >>
			 SRXE_FETH_SEL_SHIFT);
}

/* Writes the reserved bits as zero. */
static inline void srxe_feth_set(uint8_t *feth, uint8_t plt, uint8_t sel)
{
	srxe_put_be32(feth, (plt & SRXE_FETH_PLT_MASK) |
				    (((uint32_t)sel << SRXE_FETH_SEL_SHIFT) &
				     SRXE_FETH_SEL_MASK));
}

/* ---- ICRC trailer ---- */

static inline uint32_t srxe_icrc_trailer(const uint8_t *icrc)
{
	return srxe_get_le32(icrc);
}

static inline void srxe_icrc_set_trailer(uint8_t *icrc, uint32_t crc)
{
	srxe_put_le32(icrc, crc);
}

#endif
