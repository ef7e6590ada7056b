// SPDX-License-Identifier: MIT
/* Byte-size parsing (contract in include/srxe/size.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "srxe/size.h"

/* log2 of the suffix's multiplier, or -1 when it is not one. */
static int suffix_shift(const char *s)
{
	static const char units[] = "KMGT";
	const char *u;

	if (!*s)
		return 0;
	u = strchr(units, toupper((unsigned char)*s));
	if (!u)
		return -1;
	s++;
	if (*s && strcasecmp(s, "iB") && strcasecmp(s, "B"))
		return -1;
	return 10 * (int)(u - units + 1);
}

int srxe_parse_size(const char *text, uint64_t *bytes)
{
	unsigned long long v;
	char *end;
	int shift;

	if (!text || !isdigit((unsigned char)*text))
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	shift = suffix_shift(end);
	if (shift < 0)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*bytes = (uint64_t)v << shift;
	return 0;
}
