// SPDX-License-Identifier: MIT
#include "timing.h"

#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

uint64_t srxe_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void srxe_thread_slice(unsigned int slice_us)
{
	/* The uapi struct sched_attr (linux/sched/types.h clashes with
	 * <sched.h>); glibc 2.36 has no wrapper. */
	struct {
		uint32_t size, sched_policy;
		uint64_t sched_flags;
		int32_t sched_nice;
		uint32_t sched_priority;
		uint64_t sched_runtime, sched_deadline, sched_period;
		uint32_t sched_util_min, sched_util_max;
	} a = {
		.size = sizeof(a),
		.sched_policy = SCHED_OTHER,
		.sched_runtime = (uint64_t)slice_us * 1000u,
	};

	if (slice_us)
		syscall(SYS_sched_setattr, 0, &a, 0u);
}

/* IBA vol. 1 table 45, in microseconds, indexed by the 5-bit code. */
static const uint32_t rnr_timer_us[32] = {
	655360, 10,    20,    30,     40,     60,     80,     120,
	160,	240,   320,   480,    640,    960,    1280,   1920,
	2560,	3840,  5120,  7680,   10240,  15360,  20480,  30720,
	40960,	61440, 81920, 122880, 163840, 245760, 327680, 491520,
};

uint64_t srxe_rnr_timer_ns(uint8_t code)
{
	return (uint64_t)rnr_timer_us[code & 31] * 1000u;
}

uint64_t srxe_ack_timeout_ns(uint8_t timeout)
{
	timeout &= 31;
	if (!timeout)
		return 0;
	return 4096ull << timeout;
}

uint32_t srxe_mtu_bytes(uint32_t ibv_mtu)
{
	if (ibv_mtu < 1 || ibv_mtu > 5)
		return 0;
	return 256u << (ibv_mtu - 1);
}
