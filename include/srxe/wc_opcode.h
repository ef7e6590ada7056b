/* SPDX-License-Identifier: MIT */
/*
 * The completion opcode of a send WQE, shared by the engine (completions)
 * and the provider (flush completions after srxed is gone), so both report
 * the same enum ibv_wc_opcode for a given enum ibv_wr_opcode.
 */
#ifndef SRXE_WC_OPCODE_H
#define SRXE_WC_OPCODE_H

#include <stdint.h>

#include <infiniband/verbs.h>

#include "srxe/awf.h"

static inline enum ibv_wc_opcode srxe_wc_opcode(uint32_t wr_opcode)
{
	switch (wr_opcode) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		return IBV_WC_RDMA_WRITE;
	case IBV_WR_RDMA_READ:
		return IBV_WC_RDMA_READ;
	case IBV_WR_ATOMIC_CMP_AND_SWP:
		return IBV_WC_COMP_SWAP;
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
		return IBV_WC_FETCH_ADD;
	case IBV_WR_BIND_MW:
		return IBV_WC_BIND_MW;
	case IBV_WR_LOCAL_INV:
		return IBV_WC_LOCAL_INV;
	case SRXE_WR_ATOMIC_WRITE:
		return (enum ibv_wc_opcode)SRXE_WC_ATOMIC_WRITE;
	case SRXE_WR_FLUSH:
		return (enum ibv_wc_opcode)SRXE_WC_FLUSH;
	default:
		return IBV_WC_SEND;
	}
}

#endif
