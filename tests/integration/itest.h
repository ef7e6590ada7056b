/* SPDX-License-Identifier: MIT */
/*
 * Reporting helpers shared by the two-process integration programs.
 * The including file defines, before including this header,
 *   static const char *who;   (role printed with every failure)
 *   static int failures;      (count of failed EXPECTs)
 */
#ifndef SRXE_ITEST_H
#define SRXE_ITEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <infiniband/verbs.h>

static inline void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static inline void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL (%s, fatal): ", who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* Counts and reports a failed expectation; evaluates to the condition. */
#define EXPECT(cond, ...)                                                      \
	({                                                                     \
		bool ok_ = (cond);                                             \
		if (!ok_) {                                                    \
			failures++;                                            \
			fprintf(stderr, "FAIL (%s) %s:%d: ", who, __func__,    \
				__LINE__);                                     \
			fprintf(stderr, __VA_ARGS__);                          \
			fputc('\n', stderr);                                   \
		}                                                              \
		ok_;                                                           \
	})

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The verbs device called @name, opened; dies when there is none. */
static inline struct ibv_context *itest_open_device(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	for (int i = 0; list && list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			ctx = ibv_open_device(list[i]);
	if (list)
		ibv_free_device_list(list);
	if (!ctx)
		die("cannot open device %s", name);
	return ctx;
}

#endif /* SRXE_ITEST_H */
