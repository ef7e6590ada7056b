// SPDX-License-Identifier: MIT
/*
 * Placeholder: helper "libx" provides rdma_getaddrinfo and
 * rdma_freeaddrinfo here; its version replaces this file at merge.
 */
