// SPDX-License-Identifier: MIT
/*
 * A process's memory through its helper thread (engine/objects/proc_io.h),
 * on this test's own /proc/self/mem: reads and writes land; a hole fails
 * a read and refuses a write before any byte of it is written.  Faults
 * that wait (-EAGAIN, later calls put off, the abandoned transfer landing
 * in order, closing while one waits) are tests/integration/
 * test_odp_stall.sh's, on a FUSE file: here nothing can hold a fault of
 * /proc/PID/mem (a userfaultfd page gives its remote fault SIGBUS), and
 * a zero wait is a race with the helper, not a test.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "engine/objects/proc_io.h"

#define PAGE	4096u
#define WAIT_NS (5u * 1000u * 1000u)

static struct srxe_proc_io *open_self(void)
{
	int fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	struct srxe_proc_io *io;

	cr_assert_geq(fd, 0, "open /proc/self/mem: %s", strerror(errno));
	io = srxe_proc_io_open(fd);
	cr_assert_not_null(io, "srxe_proc_io_open: %s", strerror(errno));
	return io;
}

static int rw(struct srxe_proc_io *io, void *buf, uint32_t len, void *at,
	      bool write, uint64_t wait_ns)
{
	return srxe_proc_io_rw(io, buf, len, (uintptr_t)at, write, wait_ns);
}

Test(proc_io, reads_and_writes_land)
{
	struct srxe_proc_io *io = open_self();
	static uint8_t mem[3 * PAGE], buf[3 * PAGE];

	for (unsigned int i = 0; i < sizeof(mem); i++)
		mem[i] = (uint8_t)(i * 3);
	cr_assert_eq(rw(io, buf, sizeof(buf), mem, false, WAIT_NS * 100), 0);
	cr_assert_arr_eq(buf, mem, sizeof(mem));
	memset(buf, 0x5a, PAGE);
	cr_assert_eq(rw(io, buf, PAGE, mem + 100, true, WAIT_NS * 100), 0);
	cr_assert_eq(mem[99], 99 * 3 % 256);
	cr_assert_eq(mem[100], 0x5a);
	cr_assert_eq(mem[100 + PAGE - 1], 0x5a);
	cr_assert_eq(mem[100 + PAGE], (uint8_t)((100 + PAGE) * 3));
	cr_assert_eq(rw(io, buf, SRXE_PROC_IO_MAX + 1, mem, false, WAIT_NS),
		     -EINVAL);
	srxe_proc_io_close(io);
}

Test(proc_io, a_hole_fails_and_a_write_into_it_writes_nothing)
{
	struct srxe_proc_io *io = open_self();
	uint8_t buf[2 * PAGE];
	uint8_t *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	cr_assert_neq(p, MAP_FAILED);
	memset(p, 0x11, PAGE);
	cr_assert_eq(munmap(p + PAGE, PAGE), 0);
	memset(buf, 0x77, sizeof(buf));
	cr_assert_eq(rw(io, buf, sizeof(buf), p, false, WAIT_NS * 100),
		     -EFAULT);
	cr_assert_eq(rw(io, buf, sizeof(buf), p, true, WAIT_NS * 100), -EFAULT);
	for (unsigned int i = 0; i < PAGE; i++)
		cr_assert_eq(p[i], 0x11, "byte %u before the hole written", i);
	munmap(p, PAGE);
	srxe_proc_io_close(io);
}
