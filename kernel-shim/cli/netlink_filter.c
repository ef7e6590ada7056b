// SPDX-License-Identifier: MIT
#include "netlink_filter.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Where socket(2) is, per audit architecture the kernel may report. */
struct socket_syscall {
	uint32_t arch;
	uint32_t nr;
};

static const struct socket_syscall socket_syscalls[] = {
#if defined(__x86_64__)
	{ AUDIT_ARCH_X86_64, 41 },
	{ AUDIT_ARCH_X86_64, 0x40000000u | 41 }, /* x32 */
	{ AUDIT_ARCH_I386, 359 },
#elif defined(__aarch64__)
	{ AUDIT_ARCH_AARCH64, 198 },
	{ AUDIT_ARCH_ARM, 281 },
#endif
};

#define N_SOCKET_SYSCALLS (sizeof(socket_syscalls) / sizeof(socket_syscalls[0]))

/* The low 32 bits of argument i: socket()'s arguments are ints. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#else
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#endif

#define LOAD(off)    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define RET(v)	     BPF_STMT(BPF_RET | BPF_K, (v))

/*
 * Per table entry: "arch matches and nr matches -> check the arguments".
 * The argument check then sits after all entries:
 *
 *   [i*4+0] ld arch      [i*4+1] jeq arch ? next : skip entry
 *   [i*4+2] ld nr        [i*4+3] jeq nr ? to args : next entry
 *   ret ALLOW
 *   args: ld a0; jeq AF_NETLINK ? next : allow; ld a2; jeq proto ? deny : allow
 *   allow: ret ALLOW     deny: ret ERRNO
 */
#define PER_ENTRY 4
#define TAIL	  7
#define PROG_LEN  (N_SOCKET_SYSCALLS * PER_ENTRY + 1 + TAIL)

static size_t build_program(struct sock_filter *p, int protocol)
{
	size_t n = 0, args = N_SOCKET_SYSCALLS * PER_ENTRY + 1;

	for (size_t i = 0; i < N_SOCKET_SYSCALLS; i++) {
		/* Jumps count from the instruction after the jump. */
		uint8_t to_args = (uint8_t)(args - (n + 4));

		p[n++] = (struct sock_filter)LOAD(
			offsetof(struct seccomp_data, arch));
		p[n++] = (struct sock_filter)JEQ(socket_syscalls[i].arch, 0, 2);
		p[n++] = (struct sock_filter)LOAD(
			offsetof(struct seccomp_data, nr));
		p[n++] = (struct sock_filter)JEQ(socket_syscalls[i].nr, to_args,
						 0);
	}
	p[n++] = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
	p[n++] = (struct sock_filter)LOAD(ARG_LO(0));
	p[n++] = (struct sock_filter)JEQ(AF_NETLINK, 0, 2);
	p[n++] = (struct sock_filter)LOAD(ARG_LO(2));
	p[n++] = (struct sock_filter)JEQ((uint32_t)protocol, 1, 0);
	p[n++] = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
	p[n++] = (struct sock_filter)RET(SECCOMP_RET_ERRNO |
					 (EPROTONOSUPPORT & SECCOMP_RET_DATA));
	return n;
}

static int load(struct sock_fprog *prog)
{
	if (!syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog))
		return 0;
	if (errno != EACCES)
		return -errno;
	/* Without CAP_SYS_ADMIN the kernel wants no_new_privs first. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) ? -errno
								      : 0;
}

int srxe_netlink_filter_install(int protocol, char *why, size_t len)
{
	struct sock_filter insns[PROG_LEN];
	struct sock_fprog prog;
	int ret;

	if (!N_SOCKET_SYSCALLS) {
		snprintf(why, len,
			 "seccomp filter: not built for this "
			 "architecture");
		return -EOPNOTSUPP;
	}
	prog.len = (unsigned short)build_program(insns, protocol);
	prog.filter = insns;
	ret = load(&prog);
	if (ret)
		snprintf(why, len, "cannot install the seccomp filter: %s",
			 strerror(-ret));
	return ret;
}
