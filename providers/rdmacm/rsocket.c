// SPDX-License-Identifier: MIT
/*
 * Placeholder: helper "libx" provides the rsocket family (ENOSYS stubs)
 * here; its version replaces this file at merge.
 */
