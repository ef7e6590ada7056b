/* SPDX-License-Identifier: MIT */
/*
 * srxed's log: one line per event on stderr (the srxe CLI redirects it to
 * srxed.log), prefixed with time and level so that a person can follow a
 * client's life from connect to exit.
 */
#ifndef SRXED_LOG_H
#define SRXED_LOG_H

#include <stdbool.h>

enum srxed_log_level {
	SRXED_LOG_ERR,
	SRXED_LOG_WARN,
	SRXED_LOG_INFO,
	SRXED_LOG_DEBUG,
};

void srxed_log_set_verbose(bool verbose);
void srxed_log(enum srxed_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A control request's refusal: writes a reason for a person into why
 * (SRXE_REASON_MAX + 1 bytes, sent back with the errno) and returns err,
 * so that handlers end with return srxed_say(why, EINVAL, "...").
 */
int srxed_say(char *why, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(...)   srxed_log(SRXED_LOG_ERR, __VA_ARGS__)
#define log_warn(...)  srxed_log(SRXED_LOG_WARN, __VA_ARGS__)
#define log_info(...)  srxed_log(SRXED_LOG_INFO, __VA_ARGS__)
#define log_debug(...) srxed_log(SRXED_LOG_DEBUG, __VA_ARGS__)

#endif /* SRXED_LOG_H */
