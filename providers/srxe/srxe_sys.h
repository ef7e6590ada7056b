/* SPDX-License-Identifier: MIT */
/*
 * Memory-management system calls made directly, not through libc's
 * wrappers.  Libraries in the same process may replace those wrappers:
 * UCX's UCM hooks mmap, munmap, mremap and madvise to watch for unmapped
 * memory, and through its hook a page move's mremap(MREMAP_FIXED)
 * reported success yet left the range the old private mapping (seen under
 * ucx_perftest; gone with UCX_MEM_MMAP_HOOK_MODE=none).  The page mover,
 * the fork handlers and
 * the mover thread's setup go through these instead; errors are -1 or
 * MAP_FAILED with errno, as from libc.
 */
#ifndef SRXE_SYS_H
#define SRXE_SYS_H

#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static inline void *srxe_sys_mmap(void *addr, size_t len, int prot, int flags,
				  int fd, off_t off)
{
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static inline void *srxe_sys_mremap(void *old, size_t old_len, size_t new_len,
				    int flags, void *new_addr)
{
	return (void *)syscall(SYS_mremap, old, old_len, new_len, flags,
			       new_addr);
}

static inline int srxe_sys_munmap(void *addr, size_t len)
{
	return (int)syscall(SYS_munmap, addr, len);
}

static inline int srxe_sys_mprotect(void *addr, size_t len, int prot)
{
	return (int)syscall(SYS_mprotect, addr, len, prot);
}

static inline int srxe_sys_madvise(void *addr, size_t len, int advice)
{
	return (int)syscall(SYS_madvise, addr, len, advice);
}

#endif /* SRXE_SYS_H */
