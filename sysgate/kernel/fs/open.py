"""open, openat and creat: a path made an open file, where a FIFO's open
waits for its other end as Linux's does."""
import fcntl as _fcntl
import os
import stat

from ...abi.consts import (AT_FDCWD, F_GETFL, F_SETFL, FASYNC, O_ACCMODE, O_APPEND, O_CLOEXEC,
                           O_CREAT, O_DIRECT, O_DIRECTORY, O_DSYNC, O_EXCL, O_LARGEFILE,
                           O_NOATIME, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_PATH, O_RDWR, O_SYNC,
                           O_TMPFILE, O_TRUNC, O_WRONLY)
from ..errors import KernelError, E
from ..hostlibc import libc
from ..registry import syscall
from ..sched import host_call
from .lookup import open_at, read_path


# Flags open(2) knows (VALID_OPEN_FLAGS); openat2 refuses unknown bits that open ignores.
OPEN_FLAGS = (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK
              | O_DSYNC | FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | O_NOFOLLOW | O_NOATIME
              | O_CLOEXEC | O_SYNC | O_PATH | O_TMPFILE)
O_PATH_FLAGS = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
__O_TMPFILE = 0o20000000       # O_TMPFILE without its O_DIRECTORY


@syscall("openat", "dirfd path oflags mode")
@syscall("open", "path oflags mode", dirfd=AT_FDCWD)
@syscall("creat", "path mode", dirfd=AT_FDCWD, flags=O_CREAT | O_WRONLY | O_TRUNC)
def sys_openat(t, dirfd, path, flags, mode):
    path = read_path(t, path)
    cloexec = bool(flags & O_CLOEXEC)
    if flags & O_PATH:
        flags &= O_PATH_FLAGS      # open(2) ignores the rest; openat2 would refuse it
    flags &= OPEN_FLAGS & ~O_CLOEXEC
    trunc = flags & O_TRUNC and t.mm.file_maps
    if trunc:
        flags &= ~O_TRUNC      # after the mappings let go of the pages
    # build_open_how: only the permission bits of a creating open's mode
    # count (openat2 itself would refuse the rest)
    mode = mode & 0o7777 & ~t.fs.umask if flags & (O_CREAT | __O_TMPFILE) else 0
    host, name, like = _open_waiting(t, dirfd, path, flags, mode)
    if trunc and flags & O_ACCMODE:
        _truncate_host(t, host, 0, o_trunc=True)
    # An i386 open(2) without O_LARGEFILE keeps the 2 GiB limit (Linux forces
    # O_LARGEFILE on 64-bit callers and in openat2, so the host fd has it).
    nolfs = not t.is64 and not flags & (O_LARGEFILE | O_PATH)
    if like is not None:
        return t.files.install(host, cloexec=cloexec, like=like)
    return t.files.install(host, name, cloexec=cloexec, nolfs=nolfs)


def _open_waiting(t, dirfd, path, flags, mode):
    """open_at, where the open of a FIFO waits for its other end as
    fifo_open does, interruptibly (ERESTARTSYS). The host open is made with
    O_NONBLOCK, which does not wait; a FIFO is then opened again from that
    descriptor, blocking where a signal pokes the call out."""
    if flags & (O_NONBLOCK | O_PATH) or flags & O_ACCMODE == O_RDWR:
        return open_at(t, dirfd, path, flags, mode)
    try:
        host, name, like = open_at(t, dirfd, path, flags | O_NONBLOCK, mode)
    except KernelError as e:
        if e.errno != E.ENXIO or flags & O_ACCMODE != O_WRONLY:
            raise
        # A FIFO with no reader refuses a non-blocking writer.
        host, name, like = open_at(t, dirfd, path, O_PATH | flags & O_NOFOLLOW, 0)
        if not stat.S_ISFIFO(os.fstat(host).st_mode):
            os.close(host)
            raise
    try:
        if stat.S_ISFIFO(os.fstat(host).st_mode):
            again = flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW)
            proc = f"/proc/self/fd/{host}".encode()
            new = host_call(t, libc.open, proc, again | os.O_CLOEXEC)
            os.close(host)
            host = new
        else:
            _fcntl.fcntl(host, F_SETFL, _fcntl.fcntl(host, F_GETFL) & ~O_NONBLOCK)
    except BaseException:
        os.close(host)
        raise
    return host, name, like


def _fsize_check(t, length):
    """inode_newsize_ok: growing a file past RLIMIT_FSIZE is SIGXFSZ, EFBIG."""
    from .rw import RLIMIT_FSIZE, RLIM_INFINITY
    if length > t.rlimits.get(RLIMIT_FSIZE, (RLIM_INFINITY,))[0]:
        from ...abi.consts import SI_USER, SIGXFSZ
        from ..signal import send_self
        send_self(t, SIGXFSZ, code=SI_USER)
        raise KernelError(E.EFBIG)


def _truncate_host(t, host, length, o_trunc=False):
    """Truncate host's file, after the mappings let go of what goes. For
    O_TRUNC, a regular file only: Linux ignores it on devices, FIFOs and
    ttys, where ftruncate fails (EINVAL, from the host)."""
    st = os.fstat(host)
    if stat.S_ISREG(st.st_mode):
        if t.rlimits and length > st.st_size:
            _fsize_check(t, length)
        t.mm.before_truncate(st.st_dev, st.st_ino, length)
    elif o_trunc:
        return
    os.ftruncate(host, length)
