#!/usr/bin/python3
"""A FUSE file system with one file whose reads wait at a gate.

usage: gated_fuse.py MOUNTPOINT GATE LOG

MOUNTPOINT/data is SIZE bytes, byte i being (i * 7 + 3) & 0xff, writable in
place.  A read of it first appends "read OFFSET" to LOG, then waits until
the file GATE exists: a page fault on a mapping of it waits as long as the
test wants (tests/integration/test_odp_stall.sh).  Runs in the foreground
until unmounted.
"""
import errno
import os
import stat
import sys
import threading
import time

from fusepy import FUSE, FuseOSError, Operations

SIZE = 1 << 20


class Gated(Operations):
    def __init__(self, gate, log):
        self.gate = gate
        self.log = log
        self.data = bytearray((i * 7 + 3) & 0xFF for i in range(SIZE))
        self.mutex = threading.Lock()

    def getattr(self, path, fh=None):
        now = time.time()
        if path == "/":
            return dict(st_mode=stat.S_IFDIR | 0o755, st_nlink=2,
                        st_atime=now, st_mtime=now, st_ctime=now)
        if path == "/data":
            return dict(st_mode=stat.S_IFREG | 0o666, st_nlink=1,
                        st_size=SIZE, st_atime=now, st_mtime=now,
                        st_ctime=now)
        raise FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        return [".", "..", "data"]

    def open(self, path, flags):
        if path != "/data":
            raise FuseOSError(errno.ENOENT)
        return 0

    def read(self, path, size, offset, fh):
        with open(self.log, "a") as f:
            f.write("read %d\n" % offset)
        while not os.path.exists(self.gate):
            time.sleep(0.01)
        with self.mutex:
            return bytes(self.data[offset:offset + size])

    def write(self, path, buf, offset, fh):
        with self.mutex:
            end = min(offset + len(buf), SIZE)
            self.data[offset:end] = buf[:end - offset]
        return len(buf)

    def truncate(self, path, length, fh=None):
        raise FuseOSError(errno.EPERM)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    FUSE(Gated(sys.argv[2], sys.argv[3]), sys.argv[1], foreground=True,
         nothreads=False)
