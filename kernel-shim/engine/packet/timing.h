/* SPDX-License-Identifier: MIT */
/*
 * Clocks and the IBA timer encodings the engine uses:
 *  - local ACK timeout: 4.096 us * 2^timeout, 0 meaning "no timeout";
 *  - RNR NAK timer: the 5-bit code of IBA table 45 (code 0 is the longest,
 *    655.36 ms), carried in the RNR NAK's AETH and in min_rnr_timer;
 *  - path MTU: enum ibv_mtu to bytes.
 */
#ifndef SRXE_ENGINE_TIMING_H
#define SRXE_ENGINE_TIMING_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t srxe_now_ns(void);

/*
 * Gives the calling thread a scheduler slice of @slice_us (0: leaves it
 * as it is).  EEVDF (Linux 6.6+) takes a SCHED_OTHER task's
 * sched_runtime as its slice: a short one gives the thread an earlier
 * deadline, so that its wake-up preempts a task spinning on the CPU
 * instead of waiting for that task's slice to end.  Older kernels ignore
 * or refuse it: harmless.
 */
void srxe_thread_slice(unsigned int slice_us);

/* RNR NAK timer value of @code (0..31; higher bits ignored), in ns. */
uint64_t srxe_rnr_timer_ns(uint8_t code);

/* Local ACK timeout for the 5-bit @timeout, in ns; 0 for "infinite". */
uint64_t srxe_ack_timeout_ns(uint8_t timeout);

/* 256 << (mtu - 1) for IBV_MTU_256..IBV_MTU_4096; 0 for anything else. */
uint32_t srxe_mtu_bytes(uint32_t ibv_mtu);

/* rnr_retry value meaning "retry RNR NAKs forever". */
#define SRXE_RNR_RETRY_INFINITE 7

#endif
