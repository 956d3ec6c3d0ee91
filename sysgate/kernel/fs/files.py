"""System calls on open files: open, read, write, seek, dup, pipe, fcntl,
ioctl, getdents64."""
import ctypes
import fcntl as _fcntl
import os
import stat
import struct

from ..errors import KernelError, E
from ..registry import syscall
from .lookup import AT_FDCWD, open_at, read_path
from ..sched import wait_fd
from .path import SYS_getdents64, host_syscall

MAX_RW_COUNT = 0x7FFFF000
IOV_MAX = 1024
O_CLOEXEC = 0o2000000
O_ACCMODE = 3
# Flags open(2) knows; openat2 refuses unknown bits that open ignores.
OPEN_FLAGS = (0o3 | 0o100 | 0o200 | 0o400 | 0o1000 | 0o2000 | 0o4000 | 0o10000 | 0o20000
              | 0o40000 | 0o100000 | 0o200000 | 0o400000 | 0o1000000 | O_CLOEXEC
              | 0o4000000 | 0o10000000 | 0o20000000)
# I/O chunk for one host call: large guest counts are served in pieces so a
# guest cannot make sysgate allocate gigabytes at once.
CHUNK = 1 << 20


# --- open and close -------------------------------------------------------
def do_open(t, dirfd, path_ptr, flags, mode):
    path = read_path(t, path_ptr)
    host, gpath = open_at(t, dirfd, path, flags & OPEN_FLAGS & ~O_CLOEXEC, mode)
    return t.files.install(host, gpath, cloexec=bool(flags & O_CLOEXEC))


@syscall("open", "path oflags mode")
def sys_open(t, path, flags, mode):
    return do_open(t, AT_FDCWD, path, flags, mode)


@syscall("openat", "dirfd path oflags mode")
def sys_openat(t, dirfd, path, flags, mode):
    return do_open(t, dirfd, path, flags, mode)


@syscall("creat", "path mode")
def sys_creat(t, path, mode):
    return do_open(t, AT_FDCWD, path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode)


@syscall("close", "fd")
def sys_close(t, fd):
    t.files.close(fd)
    return 0


# --- read and write -------------------------------------------------------
def _writable_extent(t, buf, count):
    """How much of [buf, buf+count) is mapped writable from buf onward."""
    end, addr = buf + count, buf
    while addr < end:
        v = t.mm.find(addr)
        if v is None or not v.prot & 2:
            break
        addr = v.end
    return min(addr, end) - buf


def _read_into(t, buf, count, read, host):
    count = min(count, MAX_RW_COUNT)
    if count == 0:
        read(0)
        return 0
    room = _writable_extent(t, buf, count)
    if room == 0:
        raise KernelError(E.EFAULT)
    if room > CHUNK and not stat.S_ISREG(os.fstat(host).st_mode):
        room = CHUNK     # a second read from a pipe or tty could block
    done = 0
    while done < room:
        want = min(room - done, CHUNK)
        data = read(want)
        t.mm.write(buf + done, data)
        done += len(data)
        if len(data) < want:
            break
    return done


@syscall("read", "fd obuf size")
def sys_read(t, fd, buf, count):
    h = t.files.host(fd)
    if t.timers.deadline is not None:
        wait_fd(t, h)       # a timer's signal must be able to interrupt the wait
    return _read_into(t, buf, count, lambda n: os.read(h, n), h)


@syscall("pread64", "fd obuf size off")
def sys_pread64(t, fd, buf, count, off):
    h = t.files.host(fd)
    if off < 0:
        raise KernelError(E.EINVAL)
    pos = [off]

    def rd(n):
        data = os.pread(h, n, pos[0])
        pos[0] += len(data)
        return data
    return _read_into(t, buf, count, rd, h)


def _write_from(t, buf, count, write):
    count = min(count, MAX_RW_COUNT)
    done = 0
    while True:
        n = min(count - done, CHUNK)
        w = write(t.mm.read(buf + done, n), done)
        done += w
        if done >= count or w < n:
            return done


@syscall("write", "fd buf size")
def sys_write(t, fd, buf, count):
    h = t.files.host(fd)
    if t.timers.deadline is not None:
        wait_fd(t, h, write=True)
    return _write_from(t, buf, count, lambda data, _: os.write(h, data))


@syscall("pwrite64", "fd buf size off")
def sys_pwrite64(t, fd, buf, count, off):
    h = t.files.host(fd)
    if off < 0:
        raise KernelError(E.EINVAL)
    return _write_from(t, buf, count, lambda data, done: os.pwrite(h, data, off + done))


def _iovecs(t, iov, cnt):
    if cnt < 0 or cnt > IOV_MAX:
        raise KernelError(E.EINVAL)
    w = t.word
    raw = t.mm.read(iov, cnt * 2 * w)
    vals = struct.unpack(f"<{2 * cnt}{'Q' if w == 8 else 'I'}", raw)
    out = list(zip(vals[0::2], vals[1::2]))
    total = 0
    for _, n in out:
        total += n
        if n > (1 << (8 * w - 1)) - 1 or total > (1 << (8 * w - 1)) - 1:
            raise KernelError(E.EINVAL)
    return out


@syscall("readv", "fd ptr int")
def sys_readv(t, fd, iov, cnt):
    h = t.files.host(fd)
    if t.timers.deadline is not None:
        wait_fd(t, h)
    total = 0
    for base, n in _iovecs(t, iov, cnt):
        if n == 0:
            continue
        try:
            got = _read_into(t, base, n, lambda k: os.read(h, k), h)
        except KernelError:
            if total:
                return total
            raise
        total += got
        if got < n:
            break
    return total


@syscall("writev", "fd ptr int")
def sys_writev(t, fd, iov, cnt):
    h = t.files.host(fd)
    vecs = _iovecs(t, iov, cnt)
    data = b"".join(t.mm.read(base, min(n, MAX_RW_COUNT)) for base, n in vecs)
    return os.write(h, data[:MAX_RW_COUNT]) if data else os.write(h, b"")


@syscall("lseek", "fd off int")
def sys_lseek(t, fd, off, whence):
    h = t.files.host(fd)
    if not 0 <= whence <= 4:
        raise KernelError(E.EINVAL)
    pos = os.lseek(h, off, whence)
    if not t.is64 and pos > 0x7FFFFFFF:
        raise KernelError(E.EOVERFLOW)
    return pos


@syscall("_llseek", "fd ulong ulong ptr int")
def sys_llseek(t, fd, hi, lo, result, whence):
    h = t.files.host(fd)
    if not 0 <= whence <= 4:
        raise KernelError(E.EINVAL)
    off = ((hi & 0xFFFFFFFF) << 32) | (lo & 0xFFFFFFFF)
    if off >= 1 << 63:
        off -= 1 << 64
    pos = os.lseek(h, off, whence)
    t.mm.write(result, struct.pack("<q", pos))
    return 0


# --- descriptors ----------------------------------------------------------
@syscall("dup", "fd")
def sys_dup(t, fd):
    f = t.files.get(fd)
    return t.files.install(os.dup(f.host), f.path)


def _dup_to(t, old, new, cloexec):
    f = t.files.get(old)
    if old == new:
        return new
    return t.files.install_at(new, os.dup(f.host), f.path, cloexec)


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


def _pipe(t, fds_ptr, flags):
    if flags & ~(O_CLOEXEC | os.O_NONBLOCK | os.O_DIRECT):
        raise KernelError(E.EINVAL)
    t.mm._check(fds_ptr, 8, 2)
    r, w = os.pipe2((flags & ~O_CLOEXEC) | os.O_CLOEXEC)
    cl = bool(flags & O_CLOEXEC)
    a = t.files.install(r, f"pipe:[{os.fstat(r).st_ino}]", cl)
    try:
        b = t.files.install(w, f"pipe:[{os.fstat(w).st_ino}]", cl)
    except KernelError:
        t.files.close(a)
        raise
    t.mm.write(fds_ptr, struct.pack("<ii", a, b))
    return 0


@syscall("pipe", "ptr")
def sys_pipe(t, fds):
    return _pipe(t, fds, 0)


@syscall("pipe2", "ptr flags")
def sys_pipe2(t, fds, flags):
    return _pipe(t, fds, flags)


F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_DUPFD_CLOEXEC = 1030
F_GETPIPE_SZ, F_SETPIPE_SZ = 1032, 1031
FD_CLOEXEC = 1
SETFL_MASK = os.O_APPEND | os.O_NONBLOCK | 0o20000 | 0o40000 | 0o1000000


def do_fcntl(t, fd, cmd, arg):
    f = t.files.get(fd)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        arg = arg & 0xFFFFFFFF
        if arg >= 1024:
            raise KernelError(E.EINVAL)
        return t.files.install(os.dup(f.host), f.path, cmd == F_DUPFD_CLOEXEC, start=arg)
    if cmd == F_GETFD:
        return FD_CLOEXEC if f.cloexec else 0
    if cmd == F_SETFD:
        f.cloexec = bool(arg & FD_CLOEXEC)
        return 0
    if cmd == F_GETFL:
        return _fcntl.fcntl(f.host, F_GETFL)
    if cmd == F_SETFL:
        cur = _fcntl.fcntl(f.host, F_GETFL)
        return _fcntl.fcntl(f.host, F_SETFL, (cur & ~SETFL_MASK) | (arg & SETFL_MASK)) and 0
    if cmd in (F_GETPIPE_SZ, F_SETPIPE_SZ):
        return _fcntl.fcntl(f.host, cmd, arg & 0xFFFFFFFF)
    if cmd in (F_GETLK, F_SETLK, F_SETLKW, 36, 37, 38):
        # Record locks: one guest process owns all its locks; succeed as an
        # uncontended lock would.
        if cmd == F_GETLK:
            t.mm.write(arg, b"\x02\x00")   # l_type = F_UNLCK
        return 0
    raise KernelError(E.EINVAL)


@syscall("fcntl", "fd cmd ulong")
def sys_fcntl(t, fd, cmd, arg):
    return do_fcntl(t, fd, cmd, arg)


@syscall("fcntl64", "fd cmd ulong")
def sys_fcntl64(t, fd, cmd, arg):
    return do_fcntl(t, fd, cmd, arg)


# --- ioctl: terminal queries answered by the host terminal ----------------
TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, FIONREAD, FIONBIO = 0x5413, 0x5414, 0x540F, 0x541B, 0x5421
_IOCTL_OUT = {TCGETS: 36, TIOCGWINSZ: 8, TIOCGPGRP: 4, FIONREAD: 4}
_IOCTL_IN = {TCSETS: 36, TCSETSW: 36, TCSETSF: 36, TIOCSWINSZ: 8, FIONBIO: 4}


@syscall("ioctl", "fd cmd ulong")
def sys_ioctl(t, fd, cmd, arg):
    h = t.files.host(fd)
    if cmd in _IOCTL_OUT:
        n = _IOCTL_OUT[cmd]
        t.mm._check(arg, n, 2)
        t.mm.write(arg, _fcntl.ioctl(h, cmd, bytes(n)))
        return 0
    if cmd in _IOCTL_IN:
        _fcntl.ioctl(h, cmd, t.mm.read(arg, _IOCTL_IN[cmd]))
        return 0
    os.fstat(h)
    raise KernelError(E.ENOTTY)


# --- directories ----------------------------------------------------------
@syscall("getdents64", "fd obuf size")
def sys_getdents64(t, fd, buf, count):
    h = t.files.host(fd)
    count = min(count & 0xFFFFFFFF, CHUNK)
    if _writable_extent(t, buf, count) < min(count, 24):
        raise KernelError(E.EFAULT)
    tmp = ctypes.create_string_buffer(count)
    n = host_syscall(SYS_getdents64, ctypes.c_long(h), tmp, ctypes.c_long(count))
    t.mm.write(buf, tmp.raw[:n])
    return n


@syscall("fsync", "fd")
def sys_fsync(t, fd):
    os.fsync(t.files.host(fd))
    return 0


@syscall("fdatasync", "fd")
def sys_fdatasync(t, fd):
    os.fdatasync(t.files.host(fd))
    return 0


@syscall("ftruncate", "fd off")
def sys_ftruncate(t, fd, length):
    os.ftruncate(t.files.host(fd), length)
    return 0


@syscall("fchmod", "fd mode")
def sys_fchmod(t, fd, mode):
    os.chmod(t.files.host(fd), mode & 0o7777)
    return 0


@syscall("fadvise64", "fd off off int")
def sys_fadvise64(t, fd, off, length, advice):
    t.files.get(fd)
    return 0
