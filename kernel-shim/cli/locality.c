// SPDX-License-Identifier: MIT
#include "locality.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

#define WORD_BITS 32
#define MAX_WORDS ((SRXE_CPUMASK_TEXT_MAX - 1) / 9 + 1)
#define MAX_BITS  (MAX_WORDS * WORD_BITS)

/* One "a" or "a-b" element of a CPU list; *p is left after it. */
static int parse_range(const char **p, unsigned long *lo, unsigned long *hi)
{
	char *end;

	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	*lo = strtoul(*p, &end, 10);
	*hi = *lo;
	if (*end == '-') {
		if (!isdigit((unsigned char)end[1]))
			return -EINVAL;
		*hi = strtoul(end + 1, &end, 10);
	}
	*p = end;
	return *hi < *lo ? -EINVAL : 0;
}

static int parse_list(const char *list, unsigned int nbits, uint32_t *words)
{
	const char *p = list;
	unsigned long lo, hi;
	int ret;

	while (*p && *p != '\n') {
		ret = parse_range(&p, &lo, &hi);
		if (ret)
			return ret;
		if (hi >= nbits)
			return -ERANGE;
		for (unsigned long c = lo; c <= hi; c++)
			words[c / WORD_BITS] |= 1u << (c % WORD_BITS);
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	return 0;
}

int srxe_cpumask_text(const char *list, unsigned int nbits, char *out,
		      size_t len)
{
	uint32_t words[MAX_WORDS] = { 0 };
	unsigned int nwords = (nbits + WORD_BITS - 1) / WORD_BITS;
	unsigned int top_bits = nbits % WORD_BITS ?: WORD_BITS;
	size_t at = 0;
	int ret;

	if (!nbits || nbits > MAX_BITS)
		return -EINVAL;
	ret = parse_list(list, nbits, words);
	if (ret)
		return ret;
	for (unsigned int i = nwords; i-- > 0;) {
		int digits = i == nwords - 1 ? (int)(top_bits + 3) / 4 : 8;
		int n = snprintf(out + at, len - at, "%s%0*x",
				 i == nwords - 1 ? "" : ",", digits, words[i]);

		if (n < 0 || (size_t)n >= len - at)
			return -ENOSPC;
		at += n;
	}
	return 0;
}

static int read_under(const char *dir, const char *leaf, char *buf, size_t len)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, leaf) >= PATH_MAX)
		return -ENAMETOOLONG;
	return srxe_read_attr(path, buf, len);
}

/* nr_cpu_ids: one past the highest possible CPU. */
static int possible_cpus(const char *sysfs, unsigned int *nbits)
{
	char buf[256], *last;

	if (read_under(sysfs, "devices/system/cpu/possible", buf, sizeof(buf)))
		return -ENOENT;
	last = buf + strlen(buf);
	while (last > buf && isdigit((unsigned char)last[-1]))
		last--;
	if (!isdigit((unsigned char)*last))
		return -EINVAL;
	*nbits = strtoul(last, NULL, 10) + 1;
	return 0;
}

static int all_online_mask(const char *sysfs, char *out, size_t len)
{
	char online[SRXE_CPUMASK_TEXT_MAX];
	unsigned int nbits;
	int ret = possible_cpus(sysfs, &nbits);

	if (ret)
		return ret;
	ret = read_under(sysfs, "devices/system/cpu/online", online,
			 sizeof(online));
	return ret ?: srxe_cpumask_text(online, nbits, out, len);
}

/*
 * From the netdev's device up to (not including) <sysfs>/devices: the
 * first that has each attribute gives it.
 */
static void device_locality(const char *sysfs, const char *netdev,
			    struct srxe_locality *loc, bool *have_cpus)
{
	char link[PATH_MAX], dir[PATH_MAX], top[PATH_MAX], buf[32];
	bool have_node = false;
	size_t top_len;
	char *slash;

	if (snprintf(link, sizeof(link), "%s/class/net/%s/device", sysfs,
		     netdev) >= PATH_MAX ||
	    !realpath(link, dir))
		return;
	if (!realpath(sysfs, top) ||
	    strlen(top) + strlen("/devices") >= sizeof(top))
		return;
	strcat(top, "/devices");
	top_len = strlen(top);
	while (!strncmp(dir, top, top_len) && dir[top_len] == '/' &&
	       !(have_node && *have_cpus)) {
		if (!have_node &&
		    !read_under(dir, "numa_node", buf, sizeof(buf))) {
			loc->numa_node = atoi(buf);
			have_node = true;
		}
		if (!*have_cpus &&
		    !read_under(dir, "local_cpus", loc->local_cpus,
				sizeof(loc->local_cpus)) &&
		    loc->local_cpus[0])
			*have_cpus = true;
		slash = strrchr(dir, '/');
		*slash = 0;
	}
}

int srxe_netdev_locality(const char *sysfs, const char *netdev,
			 struct srxe_locality *loc)
{
	bool have_cpus = false;

	loc->numa_node = -1;
	loc->local_cpus[0] = 0;
	device_locality(sysfs, netdev, loc, &have_cpus);
	if (have_cpus)
		return 0;
	return all_online_mask(sysfs, loc->local_cpus, sizeof(loc->local_cpus));
}
