/* SPDX-License-Identifier: MIT */
/*
 * srxed's command line, the interface the srxe CLI launches it with:
 *
 *   srxed --name NAME --rundir DIR --ip A.B.C.D --netdev IF
 *         [--translation shortcut|mtt] [--max-clients N]
 *         [--max-reg-bytes BYTES] [--max-mrs N]
 *         [--max-qp N] [--max-cq N] [--max-mr N] [--engines N]
 *         [--foreground] [--verbose]
 */
#ifndef SRXED_OPTIONS_H
#define SRXED_OPTIONS_H

#include <stdio.h>

#include "srxed.h"

#define SRXED_DEFAULT_MAX_CLIENTS 1024u
#define SRXED_MAX_CLIENTS_LIMIT	  65536u
/* Per-process registration limit (all contexts) = slab size. */
#define SRXED_DEFAULT_MAX_REG_BYTES (8ull << 30)
#define SRXED_MIN_REG_BYTES	    4096ull
/* Frame numbers are 32-bit: 16 TiB of 4 KiB frames. */
#define SRXED_MAX_REG_BYTES_LIMIT (16ull << 40)
/* MR handles are 16-bit slots (handles.h): the device-wide cap. */
#define SRXED_DEFAULT_MAX_MRS 65536u
#define SRXED_MAX_MRS_LIMIT   65536u

enum srxed_parse_result {
	SRXED_PARSE_OK,
	SRXED_PARSE_HELP,  /* --help: usage printed, exit 0 */
	SRXED_PARSE_ERROR, /* message in err, exit 2 */
};

enum srxed_parse_result srxed_parse_options(int argc, char **argv,
					    struct srxed_config *cfg, char *err,
					    size_t cap);
void srxed_usage(FILE *out);

#endif /* SRXED_OPTIONS_H */
