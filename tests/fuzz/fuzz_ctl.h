/* SPDX-License-Identifier: MIT */
/*
 * Input format of the fuzz_ctl target (tests/fuzz/fuzz_ctl.c), shared with
 * the seed generator: one mode byte, then records of a 16-bit
 * little-endian length and that many bytes, one control datagram each,
 * served in order on one fresh session.
 */
#ifndef SRXE_FUZZ_CTL_H
#define SRXE_FUZZ_CTL_H

#define FUZZ_CTL_DEVICE	 "srxefuzz0"
#define FUZZ_CTL_IP	 "127.0.0.1"
#define FUZZ_CTL_MAX_REG "4M" /* --max-reg-bytes: slab per context */

/* Handles of a fresh session are predictable: table slot n of generation
 * 1 (kernel-shim/srxed/handles.c). */
#define FUZZ_CTL_HANDLE(n) (0x10000u + (n))

enum fuzz_ctl_mode {
	/* Open the context (a valid OPEN_CTX, no fd) before the records. */
	FUZZ_CTL_OPEN = 1u << 0,
	/* Every datagram carries the write end of a fresh pipe. */
	FUZZ_CTL_FD = 1u << 1,
};

#endif
