/* SPDX-License-Identifier: MIT */
/*
 * Byte sizes on command lines ("8G", "512M", "4096"), shared by srxed and
 * the srxe CLI so both accept exactly the same spellings.
 */
#ifndef SRXE_SIZE_H
#define SRXE_SIZE_H

#include <stdint.h>

/*
 * Decimal digits with an optional binary suffix K, M, G or T (either
 * case, optionally followed by "iB" or "B").  Returns 0 with *bytes, or
 * -EINVAL (empty, sign, junk, unknown suffix) / -ERANGE (over 2^64 - 1).
 */
int srxe_parse_size(const char *text, uint64_t *bytes);

#endif /* SRXE_SIZE_H */
