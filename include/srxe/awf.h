/* SPDX-License-Identifier: MIT */
/*
 * IBA 1.5 ATOMIC WRITE and FLUSH: the verbs-level numbers srxe uses.
 *
 * rdma-core 44 (Debian 12) has ATOMIC WRITE (IBV_WR_ATOMIC_WRITE,
 * IBV_WC_ATOMIC_WRITE, IBV_QP_EX_WITH_ATOMIC_WRITE, ibv_wr_atomic_write)
 * but not FLUSH, which came with rdma-core 45, and neither release's
 * <rdma/ib_user_verbs.h> copy names the device capability bits.  These
 * are the values rdma-core 45+ and the kernel's uapi define, spelled
 * here so that srxed, the engine and the provider agree on them while the
 * system headers lack them.  docs/atomic-write-flush.md says what each
 * one means on srxe.
 */
#ifndef SRXE_AWF_H
#define SRXE_AWF_H

/* enum ibv_wr_opcode / ib_wr_opcode (rdma-core 45: IBV_WR_FLUSH). */
#define SRXE_WR_FLUSH	     14u
#define SRXE_WR_ATOMIC_WRITE 15u /* IBV_WR_ATOMIC_WRITE in rdma-core 44 */

/* enum ibv_wc_opcode (rdma-core 45: IBV_WC_FLUSH). */
#define SRXE_WC_FLUSH	     8u
#define SRXE_WC_ATOMIC_WRITE 9u /* IBV_WC_ATOMIC_WRITE in rdma-core 44 */

/* enum ibv_access_flags (rdma-core 45: IBV_ACCESS_FLUSH_*). */
#define SRXE_ACCESS_FLUSH_GLOBAL     (1u << 8)
#define SRXE_ACCESS_FLUSH_PERSISTENT (1u << 9)

/* ibv_wr_flush() type (placement type, FETH bits 3-0) and level
 * (selectivity level, FETH bits 5-4): IBV_FLUSH_GLOBAL ... IBV_FLUSH_MR. */
#define SRXE_FLUSH_GLOBAL     1u
#define SRXE_FLUSH_PERSISTENT 2u
#define SRXE_FLUSH_RANGE      0u
#define SRXE_FLUSH_MR	      1u

/* enum ibv_qp_create_send_ops_flags (rdma-core 45: IBV_QP_EX_WITH_FLUSH). */
#define SRXE_QP_EX_WITH_FLUSH (1ull << 11)

/* enum ib_uverbs_device_cap_flags, in device_cap_flags_ex. */
#define SRXE_DEVICE_FLUSH_GLOBAL     (1ull << 38)
#define SRXE_DEVICE_FLUSH_PERSISTENT (1ull << 39)
#define SRXE_DEVICE_ATOMIC_WRITE     (1ull << 40)

#endif /* SRXE_AWF_H */
