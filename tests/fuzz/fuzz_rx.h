/* SPDX-License-Identifier: MIT */
/*
 * Input format of the fuzz_rx target (tests/fuzz/fuzz_rx.c), shared with
 * the seed generator: one mode byte, then the datagram -- or, with
 * FUZZ_RX_MULTI, records of a 16-bit little-endian length and that many
 * bytes, fed one after the other into the same QPs.
 */
#ifndef SRXE_FUZZ_RX_H
#define SRXE_FUZZ_RX_H

enum fuzz_rx_mode {
	/* IPv4 version/IHL, total length, DF, protocol, UDP port and length
	 * made consistent, then the ICRC sealed over the result. */
	FUZZ_RX_FIX_ICRC = 1u << 0,
	/* The input is an Ethernet frame (else it starts at the IP header). */
	FUZZ_RX_ETH = 1u << 1,
	/* BTH DestQP := one of the target's QPs (DestQP modulo their
	 * number); IPv4 destination := the device's address. */
	FUZZ_RX_STEER = 1u << 2,
	/* RETH/AtomicETH: a valid rkey and an address inside the MR; DETH:
	 * the UD QP's Q_Key; IETH: a valid rkey. */
	FUZZ_RX_KEYS = 1u << 3,
	/* Requests: the responder's expected PSN; responses: a PSN among
	 * the RC requester's outstanding ones. */
	FUZZ_RX_PSN = 1u << 4,
	/* Several datagrams (see above). */
	FUZZ_RX_MULTI = 1u << 5,
	/* The memory client uses the MTT baseline instead of shortcuts. */
	FUZZ_RX_MTT = 1u << 6,
	/* No receive WQEs are posted: sends meet an empty RQ/SRQ (RNR). */
	FUZZ_RX_NO_RECV = 1u << 7,
};

/* The target device's IPv6 link-local address (its GID 0); IPv6 seeds
 * are addressed to it. */
#define FUZZ_RX_IPV6                                                           \
	{                                                                      \
		0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x5e, 0xff, 0xfe,    \
			0x00, 0x53, 0x01                                       \
	}

#endif
