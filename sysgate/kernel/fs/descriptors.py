"""Descriptors themselves: close, dup, pipe, fcntl."""
import fcntl as _fcntl
import os

from ...abi.consts import (CLOSE_RANGE_CLOEXEC, CLOSE_RANGE_UNSHARE, F_ADD_SEALS, F_DUPFD,
                           F_DUPFD_CLOEXEC, F_GET_SEALS, F_GETFD, F_GETFL, F_GETPIPE_SZ, F_SETFD,
                           F_SETFL, F_SETPIPE_SZ, FASYNC, FD_CLOEXEC, O_APPEND, O_CLOEXEC,
                           O_DIRECT, O_LARGEFILE, O_NOATIME, O_NONBLOCK)
from ...abi.structs import check_writable, write_struct
from ..errors import KernelError, E
from ..registry import syscall
from .locks import LOCK_CMDS, do_lock


@syscall("close", "fd")
def sys_close(t, fd):
    t.files.close(fd)
    return 0


@syscall("close_range", "uint uint flags")
def sys_close_range(t, first, last, flags):
    # The guest's own table only: the host fds behind it close with them,
    # and sysgate's own descriptors are not the guest's to name.
    if flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) or first > last:
        raise KernelError(E.EINVAL)
    for fd in [fd for fd in t.files.fds if first <= fd <= last]:
        if flags & CLOSE_RANGE_CLOEXEC:
            t.files.fds[fd].cloexec = True
        else:
            t.files.close(fd)
    return 0


@syscall("dup", "file")
def sys_dup(t, f):
    return t.files.install(os.dup(f.host), like=f)


def _dup_to(t, old, new, cloexec):
    f = t.files.get(old)
    if old == new:
        return new
    return t.files.install_at(new, os.dup(f.host), cloexec=cloexec, like=f)


@syscall("dup2", "fd fd")
def sys_dup2(t, old, new):
    if old == new:
        t.files.get(old)
        return new
    return _dup_to(t, old, new, False)


@syscall("dup3", "fd fd flags")
def sys_dup3(t, old, new, flags):
    if old == new or flags & ~O_CLOEXEC:
        raise KernelError(E.EINVAL)
    return _dup_to(t, old, new, bool(flags & O_CLOEXEC))


@syscall("pipe2", "ptr flags")
@syscall("pipe", "ptr", flags=0)
def sys_pipe2(t, fds_ptr, flags):
    if flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT):
        raise KernelError(E.EINVAL)
    check_writable(t, fds_ptr, 8)       # before descriptors are made
    r, w = os.pipe2((flags & ~O_CLOEXEC) | os.O_CLOEXEC)
    cl = bool(flags & O_CLOEXEC)
    a = t.files.install(r, cloexec=cl)
    try:
        b = t.files.install(w, cloexec=cl)
    except KernelError:
        t.files.close(a)
        raise
    write_struct(t, fds_ptr, "int2", a, b)
    return 0


SETFL_MASK = O_APPEND | O_NONBLOCK | FASYNC | O_DIRECT | O_NOATIME


@syscall("fcntl", "file cmd ulong")
@syscall("fcntl64", "file cmd ulong", wide=True)
def sys_fcntl(t, f, cmd, arg, wide=False):
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        arg = arg & 0xFFFFFFFF
        if arg >= t.files.limit:
            raise KernelError(E.EINVAL)
        return t.files.install(os.dup(f.host), cloexec=cmd == F_DUPFD_CLOEXEC, start=arg,
                               like=f)
    if cmd == F_GETFD:
        return FD_CLOEXEC if f.cloexec else 0
    if cmd == F_SETFD:
        f.cloexec = bool(arg & FD_CLOEXEC)
        return 0
    if cmd == F_GETFL:
        fl = _fcntl.fcntl(f.host, F_GETFL)
        return fl & ~O_LARGEFILE if f.nolfs else fl
    if cmd == F_SETFL:
        cur = _fcntl.fcntl(f.host, F_GETFL)
        return _fcntl.fcntl(f.host, F_SETFL, (cur & ~SETFL_MASK) | (arg & SETFL_MASK)) and 0
    if cmd in (F_GETPIPE_SZ, F_SETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS):
        # The pipe's buffer and a memfd's seals are the host object's own.
        return _fcntl.fcntl(f.host, cmd, arg & 0xFFFFFFFF)
    if cmd in LOCK_CMDS:
        return do_lock(t, f, cmd, arg, wide)
    raise KernelError(E.EINVAL)
