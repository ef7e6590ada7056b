/* SPDX-License-Identifier: MIT */
/*
 * CRC-32 and the RoCEv2 invariant CRC (ICRC).
 *
 * The ICRC is the Ethernet/zlib CRC-32 (reflected polynomial 0xEDB88320,
 * register preset to ones, result inverted) over
 *   8 bytes 0xFF (stand-in for the InfiniBand LRH that RoCEv2 does not have)
 *   | IP header | UDP header | BTH | extension headers | payload | pad
 * with the fields that routers may change ("variant" fields) set to all
 * ones first:
 *   IPv4: TOS (DSCP+ECN), TTL, header checksum
 *   IPv6: traffic class, flow label, hop limit
 *   UDP:  checksum
 *   BTH:  byte 4 (resv8a, where FECN/BECN live)
 * It travels as the last 4 bytes of the UDP payload, least-significant
 * byte first.  Everything else -- IP addresses, IPv4 identification and
 * total length, UDP ports and length -- is covered, so the ICRC must be
 * computed over the headers exactly as they go on the wire.
 *
 * The packet is never modified (but for the trailer, and the payload
 * srxe_icrc_seal_gather() copies in): the masked copy of the headers (at most
 * 88 bytes) is made on the stack.  Slicing-by-8, no external library.
 */
#ifndef SRXE_ENGINE_ICRC_H
#define SRXE_ENGINE_ICRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* zlib's crc32(): start with crc = 0, chain by passing the last result. */
uint32_t srxe_crc32(uint32_t crc, const void *buf, size_t len);

/*
 * ICRC of one packet.  @ip: the IPv4 header (@ip_len == IHL * 4, 20..60)
 * or the fixed IPv6 header (@ip_len == 40; extension headers are not
 * supported).  @udp: the UDP header; @covered_len: bytes from the UDP
 * header to the end of the pad, i.e. without the ICRC, at least UDP + BTH.
 * Returns 0 and sets *@icrc, or -EINVAL if the IP header is not one of the
 * above or @covered_len is too short.
 */
int srxe_icrc_compute(const uint8_t *ip, size_t ip_len, const uint8_t *udp,
		      size_t covered_len, uint32_t *icrc);

/* Whether the last 4 of @udp_len bytes at @udp hold the ICRC of the rest;
 * false also for any input srxe_icrc_compute() rejects. */
bool srxe_icrc_valid(const uint8_t *ip, size_t ip_len, const uint8_t *udp,
		     size_t udp_len);

/* Sender side: compute the ICRC and store it in the last 4 of @udp_len
 * bytes.  0 or -EINVAL as srxe_icrc_compute(). */
int srxe_icrc_seal(const uint8_t *ip, size_t ip_len, uint8_t *udp,
		   size_t udp_len);

/*
 * Sender side with the payload gathered in the same pass: copies
 * @payload_len bytes from the chunks @src (@nsrc of them, in order) to
 * @udp + @payload_off, behind the BTH and extension headers already
 * there, and seals as srxe_icrc_seal() does.  Whatever lies between the
 * payload and the ICRC (the pad) must be written before.  Where the CPU
 * copies as it folds (srxe_crc32_fold_copy_available()), the headers
 * come in whole 16-byte blocks (IPv4 without options, extension headers
 * of 0 or 16 bytes) and the payload has at least 256 bytes, each payload
 * byte is read once, not once by the copy and again by the CRC (up to
 * the first chunk whose length is not a multiple of 16); anywhere else
 * it copies, then seals.  0 or -EINVAL (as srxe_icrc_seal(), or the
 * payload does not fit before the ICRC).
 */
struct srxe_sg;
int srxe_icrc_seal_gather(const uint8_t *ip, size_t ip_len, uint8_t *udp,
			  size_t udp_len, size_t payload_off,
			  const struct srxe_sg *src, int nsrc,
			  size_t payload_len);

#endif
