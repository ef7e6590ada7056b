# SPDX-License-Identifier: MIT
"""Issue #12, must-show 4: a multiprocessing pool started after pyverbs
registered memory (test_fork.sh).  The parent registers a pyverbs-allocated
buffer and a bytearray of the Python heap (its pages carry other Python
objects with it); the pool's workers (fork children) read both and the
Python objects around them; afterwards the parent's MRs still work.

usage: fork_pool.py DEVICE      prints "fork_pool: OK"
"""
import ctypes
import multiprocessing as mp
import sys

import pyverbs.enums as e
from pyverbs.device import Context
from pyverbs.mr import MR
from pyverbs.pd import PD

ACC = (e.IBV_ACCESS_LOCAL_WRITE | e.IBV_ACCESS_REMOTE_WRITE |
       e.IBV_ACCESS_REMOTE_READ)
N = 64 * 1024
PATTERN = bytes((i * 7 + 3) & 0xff for i in range(N))
HEAP = bytearray(bytes((i * 5 + 1) & 0xff for i in range(N)))
SMALL = {i: str(i) * 3 for i in range(2000)}  # objects near HEAP


def work(i):
    mr = work.mr
    part = mr.read(256, i * 256)
    ok = part == PATTERN[i * 256:(i + 1) * 256]
    ok = ok and HEAP[i * 256:(i + 1) * 256] == \
        bytes((j * 5 + 1) & 0xff for j in range(i * 256, (i + 1) * 256))
    ok = ok and SMALL[i] == str(i) * 3
    HEAP[i] = 0  # the worker's own copy
    return ok


def main():
    ctx = Context(name=sys.argv[1])
    pd = PD(ctx)
    mr = MR(pd, N, ACC)
    mr.write(PATTERN, N, 0)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(HEAP))
    heap_mr = MR(pd, N, ACC, address=addr)
    work.mr = mr
    mp.set_start_method('fork')
    with mp.Pool(4) as pool:
        res = pool.map(work, range(N // 256))
    assert all(res), 'a worker saw wrong data: %s' % res.index(False)
    assert mr.read(N, 0) == PATTERN, 'parent MR changed'
    assert HEAP[0] == 1 and HEAP[7] == (7 * 5 + 1) & 0xff, 'parent heap'
    # the parent's MRs still work after the pool
    mr.write(b'\x55' * 16, 16, 0)
    assert mr.read(16, 0) == b'\x55' * 16
    heap_mr.close()
    mr.close()
    pd.close()
    ctx.close()
    print('fork_pool: OK')


if __name__ == '__main__':
    main()
