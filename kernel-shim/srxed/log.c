// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "srxe/proto.h"

static bool log_verbose;

static const char *const level_names[] = {
	[SRXED_LOG_ERR] = "error",
	[SRXED_LOG_WARN] = "warning",
	[SRXED_LOG_INFO] = "info",
	[SRXED_LOG_DEBUG] = "debug",
};

void srxed_log_set_verbose(bool verbose)
{
	log_verbose = verbose;
}

void srxed_log(enum srxed_log_level level, const char *fmt, ...)
{
	char line[512];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (level == SRXED_LOG_DEBUG && !log_verbose)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line keeps lines whole when threads join later. */
	fprintf(stderr, "%02d:%02d:%02d.%03ld srxed %s: %s\n", tm.tm_hour,
		tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, level_names[level],
		line);
}

int srxed_say(char *why, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, SRXE_REASON_MAX + 1, fmt, ap);
	va_end(ap);
	return err;
}
