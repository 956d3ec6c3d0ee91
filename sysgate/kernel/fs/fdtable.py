"""The guest's file-descriptor table.

Each guest fd owns one host fd; dup() dups the host fd too, so the open file
description (offset, status flags) is shared exactly as Linux shares it.
Only the close-on-exec flag lives here, because it belongs to the fd.
"""
import os

from ..errors import KernelError, E

NOFILE = 1024


class OpenFile:
    __slots__ = ("host", "path", "cloexec")

    def __init__(self, host, path, cloexec=False):
        self.host, self.path, self.cloexec = host, path, cloexec


class FdTable:
    def __init__(self, inherit_std=True):
        self.fds = {}
        if inherit_std:
            for fd in (0, 1, 2):
                try:
                    self.fds[fd] = OpenFile(os.dup(fd), f"/dev/std{('in', 'out', 'err')[fd]}")
                except OSError:
                    pass

    def get(self, fd):
        f = self.fds.get(fd)
        if f is None:
            raise KernelError(E.EBADF)
        return f

    def host(self, fd):
        return self.get(fd).host

    def lowest_free(self, start=0):
        fd = start
        while fd in self.fds:
            fd += 1
        if fd >= NOFILE:
            raise KernelError(E.EMFILE)
        return fd

    def install(self, host, path, cloexec=False, start=0):
        try:
            fd = self.lowest_free(start)
        except KernelError:
            os.close(host)
            raise
        self.fds[fd] = OpenFile(host, path, cloexec)
        return fd

    def install_at(self, fd, host, path, cloexec=False):
        if not 0 <= fd < NOFILE:
            os.close(host)
            raise KernelError(E.EBADF)
        self.close(fd, missing_ok=True)
        self.fds[fd] = OpenFile(host, path, cloexec)
        return fd

    def close(self, fd, missing_ok=False):
        f = self.fds.pop(fd, None)
        if f is None:
            if missing_ok:
                return
            raise KernelError(E.EBADF)
        try:
            os.close(f.host)
        except OSError:
            pass

    def close_all(self):
        for fd in list(self.fds):
            self.close(fd)
