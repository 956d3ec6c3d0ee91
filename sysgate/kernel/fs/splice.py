"""Moving data between descriptors without the guest's memory: splice, tee,
copy_file_range, and vmsplice (which does use it).

Guest fds are host fds, so the host kernel moves the data itself. Its pipe
side is always asked not to block: a guest call that would block waits
where a signal can end the wait (sched.wait_fd), as Linux's pipe waits are
interruptible, and an fd the guest made non-blocking answers EAGAIN.
Offsets are loff_t in both ABIs, read before the call and written back
advanced by what moved."""
import ctypes
import errno
import fcntl
import os
import select
import stat
import struct

from ..errors import KernelError, E
from ..hostlibc import libc
from ..registry import syscall
from ..sched import wait_fd
from ...abi.consts import UIO_MAXIOV as IOV_MAX
from .rw import MAX_RW_COUNT
from .rwvec import sys_readv, sys_writev

SPLICE_F_MOVE, SPLICE_F_NONBLOCK, SPLICE_F_MORE, SPLICE_F_GIFT = 1, 2, 4, 8
SPLICE_FLAGS = SPLICE_F_MOVE | SPLICE_F_NONBLOCK | SPLICE_F_MORE | SPLICE_F_GIFT

libc.tee.restype = ctypes.c_ssize_t


def _offset(t, ptr):
    if not ptr:
        return None
    return struct.unpack("<q", t.mm.read(ptr, 8))[0]


def _advance(t, ptr, off, n):
    if ptr:
        t.mm.write(ptr, struct.pack("<q", off + n))


def _nonblocking(f):
    return bool(fcntl.fcntl(f.host, fcntl.F_GETFL) & os.O_NONBLOCK)


def _move(t, fin, fout, flags, attempt):
    """attempt() makes one host call with SPLICE_F_NONBLOCK; it is retried
    after waiting, interruptibly, for the side that was not ready."""
    while True:
        try:
            return attempt()
        except OSError as e:
            if e.errno != errno.EAGAIN:
                raise KernelError(e.errno) from None
        if flags & SPLICE_F_NONBLOCK or _nonblocking(fin) or _nonblocking(fout):
            raise KernelError(E.EAGAIN)
        if fin.blocks:
            wait_fd(t, fin.host)
        if fout.blocks:
            wait_fd(t, fout.host, write=True)


@syscall("splice", "fd ptr fd ptr size flags")
def sys_splice(t, fd_in, off_in, fd_out, off_out, length, flags):
    fin, fout = t.files.get(fd_in), t.files.get(fd_out)
    if flags & ~SPLICE_FLAGS:
        raise KernelError(E.EINVAL)
    oin, oout = _offset(t, off_in), _offset(t, off_out)
    if (oin is not None and oin < 0) or (oout is not None and oout < 0):
        raise KernelError(E.EINVAL)
    if length == 0:
        return 0
    length = min(length, MAX_RW_COUNT)
    n = _move(t, fin, fout, flags, lambda: os.splice(
        fin.host, fout.host, length, oin, oout, (flags & ~SPLICE_F_GIFT) | SPLICE_F_NONBLOCK))
    _advance(t, off_in, oin, n)
    _advance(t, off_out, oout, n)
    return n


def _tee(fin, fout, length, flags):
    r = libc.tee(fin.host, fout.host, ctypes.c_size_t(length),
                 ctypes.c_uint(flags | SPLICE_F_NONBLOCK))
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


@syscall("tee", "fd fd size flags")
def sys_tee(t, fd_in, fd_out, length, flags):
    fin, fout = t.files.get(fd_in), t.files.get(fd_out)
    if flags & ~SPLICE_FLAGS:
        raise KernelError(E.EINVAL)
    if length == 0:
        return 0
    length = min(length, MAX_RW_COUNT)
    return _move(t, fin, fout, flags, lambda: _tee(fin, fout, length, flags))


@syscall("copy_file_range", "fd ptr fd ptr size flags")
def sys_copy_file_range(t, fd_in, off_in, fd_out, off_out, length, flags):
    fin, fout = t.files.get(fd_in), t.files.get(fd_out)
    if flags:
        raise KernelError(E.EINVAL)
    oin, oout = _offset(t, off_in), _offset(t, off_out)
    length = min(length, MAX_RW_COUNT)
    try:
        n = os.copy_file_range(fin.host, fout.host, length, oin, oout)
    except OSError as e:
        raise KernelError(e.errno) from None
    _advance(t, off_in, oin, n)
    _advance(t, off_out, oout, n)
    return n


@syscall("vmsplice", "fd ptr ulong flags")
def sys_vmsplice(t, fd, iov, nr_segs, flags):
    """The guest's pages into a pipe (its write end) or out of it (its
    read end): the same bytes as writev and readv move, with splice's
    non-blocking flag."""
    f = t.files.get(fd)
    if flags & ~SPLICE_FLAGS:
        raise KernelError(E.EINVAL)
    if nr_segs > IOV_MAX:
        raise KernelError(E.EINVAL)
    if not stat.S_ISFIFO(os.fstat(f.host).st_mode):
        raise KernelError(E.EBADF)
    mode = fcntl.fcntl(f.host, fcntl.F_GETFL) & os.O_ACCMODE
    write = mode == os.O_WRONLY
    if mode == os.O_RDWR:
        raise KernelError(E.EBADF)
    if nr_segs == 0:
        return 0
    if flags & SPLICE_F_NONBLOCK and not _ready(f.host, write):
        raise KernelError(E.EAGAIN)
    return sys_writev(t, fd, iov, nr_segs) if write else sys_readv(t, fd, iov, nr_segs)


def _ready(host, write):
    p = select.poll()
    p.register(host, select.POLLOUT if write else select.POLLIN)
    return bool(p.poll(0))
