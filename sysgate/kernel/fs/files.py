"""System calls on open files: open, read, write, seek, dup, pipe, fcntl,
ioctl, getdents64, and the transfers (preadv, sendfile, fallocate, ...).

read and write are the hot path: a buffer inside one mapping goes straight
between the host call and guest memory; anything else takes the general
path, which copies what is mapped and stops where the mapping does, as
Linux's copy to and from user memory does."""
import ctypes
import fcntl as _fcntl
import os
import select
import stat
import struct

from ..errors import KernelError, E
from ..mm import PAGE, PROT_READ, PROT_WRITE
from ..registry import syscall
from ..sched import deadline_after, host_call, now_ns, wait_event, wait_fd
from .fdtable import NOFILE
from .locks import LOCK_CMDS, do_lock
from .lookup import AT_FDCWD, in_proc, open_at, read_path
from .proc import dirents as proc_dirents
from ..hostlibc import host_syscall, libc
from .path import SYS_getdents64, compat, compat_call

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
RWF_NOWAIT = 8


# --- open and close -------------------------------------------------------
O_LARGEFILE = 0o100000
O_PATH = 0o10000000
O_TMPFILE = 0o20000000     # __O_TMPFILE, with O_DIRECTORY in the user's O_TMPFILE
O_PATH_FLAGS = O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | O_CLOEXEC
MAX_NON_LFS = 0x7FFFFFFF


def do_open(t, dirfd, path_ptr, flags, mode):
    path = read_path(t, path_ptr)
    cloexec = bool(flags & O_CLOEXEC)
    if flags & O_PATH:
        flags &= O_PATH_FLAGS      # open(2) ignores the rest; openat2 would refuse it
    flags &= OPEN_FLAGS & ~O_CLOEXEC
    trunc = flags & os.O_TRUNC and t.mm.file_maps
    if trunc:
        flags &= ~os.O_TRUNC      # after the mappings let go of the pages
    # build_open_how: only the permission bits of a creating open's mode
    # count (openat2 itself would refuse the rest)
    mode = mode & 0o7777 & ~t.fs.umask if flags & (os.O_CREAT | O_TMPFILE) else 0
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
    if flags & (os.O_NONBLOCK | O_PATH) or flags & O_ACCMODE == os.O_RDWR:
        return open_at(t, dirfd, path, flags, mode)
    try:
        host, name, like = open_at(t, dirfd, path, flags | os.O_NONBLOCK, mode)
    except KernelError as e:
        if e.errno != E.ENXIO or flags & O_ACCMODE != os.O_WRONLY:
            raise
        # A FIFO with no reader refuses a non-blocking writer.
        host, name, like = open_at(t, dirfd, path, O_PATH | flags & os.O_NOFOLLOW, 0)
        if not stat.S_ISFIFO(os.fstat(host).st_mode):
            os.close(host)
            raise
    try:
        if stat.S_ISFIFO(os.fstat(host).st_mode):
            again = flags & ~(os.O_CREAT | os.O_EXCL | os.O_TRUNC | os.O_NOFOLLOW)
            proc = f"/proc/self/fd/{host}".encode()
            new = host_call(t, libc.open, proc, again | os.O_CLOEXEC)
            os.close(host)
            host = new
        else:
            _fcntl.fcntl(host, F_SETFL, _fcntl.fcntl(host, F_GETFL) & ~os.O_NONBLOCK)
    except BaseException:
        os.close(host)
        raise
    return host, name, like


def _truncate_host(t, host, length, o_trunc=False):
    """Truncate host's file, after the mappings let go of what goes. For
    O_TRUNC, a regular file only: Linux ignores it on devices, FIFOs and
    ttys, where ftruncate fails (EINVAL, from the host)."""
    st = os.fstat(host)
    if stat.S_ISREG(st.st_mode):
        t.mm.before_truncate(st.st_dev, st.st_ino, length)
    elif o_trunc:
        return
    os.ftruncate(host, length)


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


CLOSE_RANGE_UNSHARE, CLOSE_RANGE_CLOEXEC = 2, 4


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


# --- read and write -------------------------------------------------------
# Linux first checks the whole buffer against the user address limit
# (access_ok: EFAULT), then copies page by page: a copy that faults after
# some bytes returns the bytes done. Only the 64-bit limit can be crossed
# (a compat caller's 32-bit range is far below it).
def _file(t, fd):
    f = t.files.fds.get(fd)
    if f is None:
        raise KernelError(E.EBADF)
    return f


def _nonblocking(h):
    return bool(_fcntl.fcntl(h, F_GETFL) & os.O_NONBLOCK)


SOL_SOCKET, SO_RCVTIMEO, SO_SNDTIMEO = 1, 20, 21


def _until(h, write):
    """The deadline of a wait on h: a socket's SO_RCVTIMEO or SO_SNDTIMEO
    from now, after which a blocking call gives up with EAGAIN (None: no
    timeout, or no socket)."""
    tv = (ctypes.c_long * 2)()
    n = ctypes.c_uint32(ctypes.sizeof(tv))
    if libc.getsockopt(h, SOL_SOCKET, SO_SNDTIMEO if write else SO_RCVTIMEO, tv,
                       ctypes.byref(n)) < 0 or not (tv[0] or tv[1]):
        return None
    return deadline_after(tv[0] * 10**9 + tv[1] * 1000)


def _wait_ready(t, h, write, until):
    """Wait until h is ready (wait_fd); until is a deadline from _until,
    computed on the first wait ([None] before it), past which EAGAIN."""
    if not until:
        until.append(_until(h, write))
    if until[0] is None:
        return wait_fd(t, h, write)
    events = select.POLLOUT if write else select.POLLIN | select.POLLPRI
    while not wait_event(t, ((h, events),), deadline=until[0]):
        if now_ns() >= until[0]:
            raise KernelError(E.EAGAIN)


def _read_waiting(t, f, n):
    """Up to n bytes from a pipe, tty, socket or device, as a blocking read
    waits: until data, or a signal (ERESTARTSYS). Pipes and sockets are
    read without blocking (RWF_NOWAIT: another process may drain them
    between a poll and a read) and waited for where a signal ends the wait;
    the rest block on the host where a signal pokes them out
    (sched.host_call)."""
    h = f.host
    buf = bytearray(n)
    until = []
    while True:
        try:
            got = os.preadv(h, [buf], -1, RWF_NOWAIT)
            return memoryview(buf)[:got]
        except BlockingIOError:
            if _nonblocking(h):
                raise KernelError(E.EAGAIN) from None
        except OSError as e:
            if e.errno != E.EOPNOTSUPP:
                raise
            break
        _wait_ready(t, h, False, until)
    cbuf = (ctypes.c_char * n).from_buffer(buf) if n else None
    got = host_call(t, libc.read, h, cbuf, ctypes.c_size_t(n))
    return memoryview(buf)[:got]


def _write_waiting(t, f, data):
    """Write data (bytes, or a list of buffers: a writev's host views) to a
    pipe, tty, socket or device as a blocking write does: all of it, unless
    a signal comes first: then the count written, or the restart when none
    was (pipe_write's `ret ?: -ERESTARTSYS`)."""
    h = f.host
    bufs = [memoryview(b) for b in (data if isinstance(data, list) else [data])]
    total, done = sum(len(b) for b in bufs), 0
    until = []
    while True:
        try:
            done += os.pwritev(h, _rest(bufs, done)[:IOV_MAX], -1, RWF_NOWAIT)
            if done == total:
                return done
        except BlockingIOError:
            pass
        except OSError as e:
            if e.errno != E.EOPNOTSUPP:
                if done:
                    return done
                raise
            break
        if _nonblocking(h):
            if done:
                return done
            raise KernelError(E.EAGAIN)
        try:
            _wait_ready(t, h, True, until)
        except KernelError:
            if done:
                return done
            raise
    while True:
        # A tty or device: the host call blocks, a piece at a time (a
        # signal ends it between pieces, as the tty layer's write loop).
        chunk = b"".join(bytes(b) for b in _rest(bufs, done, CHUNK))
        try:
            done += host_call(t, libc.write, h, chunk, ctypes.c_size_t(len(chunk)))
        except (KernelError, OSError):
            if done:
                return done
            raise
        if done == total:
            return done


def _rest(bufs, skip, limit=None):
    """The buffers after the first skip bytes (at most limit bytes)."""
    out = []
    for b in bufs:
        if skip >= len(b):
            skip -= len(b)
            continue
        piece = b[skip:]
        skip = 0
        if limit is not None:
            piece = piece[:limit]
            limit -= len(piece)
        out.append(piece)
        if limit is not None and limit <= 0:
            break
    return out


def _access_ok(t, buf, count):
    if t.is64 and buf + count > t.mm.task_size:
        raise KernelError(E.EFAULT)


def _lfs_count(t, f, count, pos):
    """The count a file opened without O_LARGEFILE may still write at pos
    (None: the file offset): Linux's generic_write_check_limits."""
    if not f.isreg:
        return count
    h = f.host
    if pos is None:
        if _fcntl.fcntl(h, F_GETFL) & os.O_APPEND:
            pos = os.fstat(h).st_size
        else:
            pos = os.lseek(h, 0, os.SEEK_CUR)
    if pos >= MAX_NON_LFS:
        raise KernelError(E.EFBIG)
    return min(count, MAX_NON_LFS - pos)


def _read_into(t, buf, count, read, host, at=None):
    """read(n) -> bytes, copied to guest buf; a short read ends the call."""
    _access_ok(t, buf, count)
    count = min(count, MAX_RW_COUNT)
    if count == 0:
        read(0)
        return 0
    room = t.mm.extent(buf, count, PROT_WRITE)
    if room == 0:
        read(0)                      # EBADF, EISDIR, EINVAL come first
        st = os.fstat(host)
        if stat.S_ISREG(st.st_mode):
            # A regular file at its end copies nothing: 0, not EFAULT.
            pos = os.lseek(host, 0, os.SEEK_CUR) if at is None else at
            if not os.pread(host, 1, pos):
                return 0
        raise KernelError(E.EFAULT)
    if room > CHUNK and not stat.S_ISREG(os.fstat(host).st_mode):
        room = CHUNK     # a second read from a pipe or tty could block
    done = 0
    mm = t.mm
    while done < room:
        want = min(room - done, CHUNK)
        data = read(want)
        mm.write_kernel(buf + done, data)
        done += len(data)
        if len(data) < want:
            break
    return done


@syscall("read", "fd obuf size")
def sys_read(t, fd, buf, count):
    f = t.files.fds.get(fd)
    if f is None:
        raise KernelError(E.EBADF)
    h = f.host
    mm = t.mm
    if count <= CHUNK:
        v = mm.find(buf)
        if v is not None and buf + count <= v.end and v.prot & PROT_WRITE and v.backed and count:
            data = _read_waiting(t, f, count) if f.blocks else os.read(h, count)
            mm.write_kernel(buf, data)
            return len(data)
    if f.blocks:
        return _read_into(t, buf, count, lambda n: _read_waiting(t, f, n), h)
    return _read_into(t, buf, count, lambda n: os.read(h, n), h)


def do_pread(t, fd, buf, count, off):
    h = t.files.host(fd)
    if off < 0:
        raise KernelError(E.EINVAL)
    pos = [off]

    def rd(n):
        data = os.pread(h, n, pos[0])
        pos[0] += len(data)
        return data
    return _read_into(t, buf, count, rd, h, at=off)


@syscall("pread64", "fd obuf size off")
def sys_pread64(t, fd, buf, count, off):
    return do_pread(t, fd, buf, count, off)


def _write_from(t, buf, count, write, host=None):
    """write(data, done) -> int, fed from guest memory in chunks; only the
    readable start of the buffer is written (to host, when given)."""
    _access_ok(t, buf, count)
    count = min(count, MAX_RW_COUNT)
    if count == 0:
        return write(b"", 0)
    room = t.mm.extent(buf, count, PROT_READ)
    if room < count and host is not None and stat.S_ISFIFO(os.fstat(host).st_mode):
        # pipe_write takes a page's worth at a time and gives up a piece
        # it could not copy whole.
        room -= room % PAGE
    if room == 0:
        write(b"", 0)                # EBADF comes first
        raise KernelError(E.EFAULT)
    mm = t.mm
    done = 0
    while True:
        n = min(room - done, CHUNK)
        try:
            w = write(mm.peek(buf + done, n), done)
        except KernelError:
            if done:
                return done     # a signal after a piece was written
            raise
        done += w
        if done >= room or w < n:
            return done


@syscall("write", "fd buf size")
def sys_write(t, fd, buf, count):
    f = t.files.fds.get(fd)
    if f is None:
        raise KernelError(E.EBADF)
    if f.nolfs:
        count = _lfs_count(t, f, count, None)
    h = f.host
    mm = t.mm
    if count <= CHUNK:
        v = mm.find(buf)
        if v is not None and buf + count <= v.end and v.prot and v.backed:
            if f.blocks:
                return _write_waiting(t, f, mm.peek(buf, count))
            return os.write(h, mm.peek(buf, count))
    if f.blocks:
        return _write_from(t, buf, count, lambda data, _: _write_waiting(t, f, data), h)
    return _write_from(t, buf, count, lambda data, _: os.write(h, data), h)


def do_pwrite(t, fd, buf, count, off):
    f = _file(t, fd)
    h = f.host
    if off < 0:
        raise KernelError(E.EINVAL)
    if f.nolfs:
        count = _lfs_count(t, f, count, off)
    return _write_from(t, buf, count, lambda data, done: os.pwrite(h, data, off + done))


@syscall("pwrite64", "fd buf size off")
def sys_pwrite64(t, fd, buf, count, off):
    return do_pwrite(t, fd, buf, count, off)


# i386 passes 64-bit offsets as two registers (arch/x86/kernel/sys_ia32.c);
# these handlers serve the i386 numbers of calls whose x86-64 form differs.
def _u64(lo, hi):
    v = (hi & 0xFFFFFFFF) << 32 | (lo & 0xFFFFFFFF)
    return v - (1 << 64) if v >> 63 else v


@syscall("ia32_pread64", "fd obuf size uint uint")
def sys_ia32_pread64(t, fd, buf, count, lo, hi):
    return do_pread(t, fd, buf, count, _u64(lo, hi))


@syscall("ia32_pwrite64", "fd buf size uint uint")
def sys_ia32_pwrite64(t, fd, buf, count, lo, hi):
    return do_pwrite(t, fd, buf, count, _u64(lo, hi))


def _iovecs(t, iov, cnt):
    if cnt < 0 or cnt > IOV_MAX:
        raise KernelError(E.EINVAL)
    w = t.word
    raw = t.mm.read(iov, cnt * 2 * w)
    vals = struct.unpack(f"<{2 * cnt}{'Q' if w == 8 else 'I'}", raw)
    out = []
    total = 0
    limit = (1 << (8 * w - 1)) - 1
    for base, n in zip(vals[0::2], vals[1::2]):
        if n > limit:
            raise KernelError(E.EINVAL)
        _access_ok(t, base, n)
        n = min(n, MAX_RW_COUNT - total)     # the total is cut, as Linux cuts it
        total += n
        out.append((base, n))
    return out


@syscall("readv", "fd ptr int")
def sys_readv(t, fd, iov, cnt):
    f = _file(t, fd)
    h = f.host
    if f.blocks:
        return _readv_waiting(t, f, _iovecs(t, iov, cnt))
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
    f = _file(t, fd)
    bufs = _gather(t, f, iov, cnt, None)
    if f.blocks:
        return _write_waiting(t, f, bufs)
    return os.writev(f.host, bufs)


def _readv_waiting(t, f, iovs):
    """readv from a file that may block: one wait and one read for the
    whole writable room (a pipe gives what it has, then readv returns),
    scattered over the iovecs."""
    room, mm = [], t.mm
    for base, n in iovs:
        k = mm.extent(base, n, PROT_WRITE) if n else 0
        room.append((base, k))
        if k < n:
            break
    want = min(sum(k for _, k in room), CHUNK)
    if want == 0 and any(n for _, n in iovs):
        _read_waiting(t, f, 0)       # EBADF, EINVAL come first
        raise KernelError(E.EFAULT)
    data = _read_waiting(t, f, want)
    at = 0
    for base, k in room:
        if at >= len(data):
            break
        piece = data[at:at + k]
        mm.write_kernel(base, piece)
        at += len(piece)
    return at


def _gather(t, f, iov, cnt, pos):
    """What a writev-style call writes, as views of the host memory behind
    the guest's (nothing is copied, however large the iovecs): the iovecs'
    contents up to the first unreadable byte (a partial write, as Linux's),
    EFAULT if none."""
    bufs, total, faulted, mm = [], 0, False, t.mm
    for base, n in _iovecs(t, iov, cnt):
        if not n:
            continue
        views, room = mm.host_buffers(base, n, PROT_READ)
        bufs += views
        total += room
        if room < n:
            faulted = True
            break
    if not total and faulted:
        os.write(f.host, b"")
        raise KernelError(E.EFAULT)
    if f.nolfs:
        bufs = _first_bytes(bufs, _lfs_count(t, f, total, pos))
    return bufs[:IOV_MAX]


def _first_bytes(bufs, n):
    out = []
    for b in bufs:
        if n <= 0:
            break
        out.append(memoryview(b)[:n])
        n -= len(out[-1])
    return out


@syscall("lseek", "fd off int")
def sys_lseek(t, fd, off, whence):
    f = _file(t, fd)
    h = f.host
    if not 0 <= whence <= 4:
        raise KernelError(E.EINVAL)
    if not t.is64 and f.isdir and compat():
        # A compat lseek: 32-bit directory cookies.
        return compat_call(19, h, off & 0xFFFFFFFF, whence)
    pos = os.lseek(h, off, whence)
    if not t.is64 and pos > 0x7FFFFFFF:
        raise KernelError(E.EOVERFLOW)
    return pos


@syscall("_llseek", "fd ulong ulong ptr int")
def sys_llseek(t, fd, hi, lo, result, whence):
    f = _file(t, fd)
    h = f.host
    if not 0 <= whence <= 4:
        raise KernelError(E.EINVAL)
    c = not t.is64 and f.isdir and compat()
    if c:
        compat_call(140, h, hi & 0xFFFFFFFF, lo & 0xFFFFFFFF, c[2], whence)
        pos = c[1][:8]
    else:
        pos = struct.pack("<q", os.lseek(h, _u64(lo, hi), whence))
    t.mm.write(result, pos)
    return 0


# --- descriptors ----------------------------------------------------------
@syscall("dup", "fd")
def sys_dup(t, fd):
    f = t.files.get(fd)
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


def _pipe(t, fds_ptr, flags):
    if flags & ~(O_CLOEXEC | os.O_NONBLOCK | os.O_DIRECT):
        raise KernelError(E.EINVAL)
    t.mm._check(fds_ptr, 8, 2)
    r, w = os.pipe2((flags & ~O_CLOEXEC) | os.O_CLOEXEC)
    cl = bool(flags & O_CLOEXEC)
    a = t.files.install(r, cloexec=cl)
    try:
        b = t.files.install(w, cloexec=cl)
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
F_DUPFD_CLOEXEC = 1030
F_GETPIPE_SZ, F_SETPIPE_SZ = 1032, 1031
F_ADD_SEALS, F_GET_SEALS = 1033, 1034
FD_CLOEXEC = 1
SETFL_MASK = os.O_APPEND | os.O_NONBLOCK | 0o20000 | 0o40000 | 0o1000000


def do_fcntl(t, fd, cmd, arg, wide=False):
    f = t.files.get(fd)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        arg = arg & 0xFFFFFFFF
        if arg >= NOFILE:
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


@syscall("fcntl", "fd cmd ulong")
def sys_fcntl(t, fd, cmd, arg):
    return do_fcntl(t, fd, cmd, arg)


@syscall("fcntl64", "fd cmd ulong")
def sys_fcntl64(t, fd, cmd, arg):
    return do_fcntl(t, fd, cmd, arg, wide=True)


# --- ioctl: terminals and ptys, answered by the host's own tty ------------
# Only the requests listed are passed on, with the argument sizes the tty
# layer uses (the same in both ABIs): an unknown request could reach a
# driver with a guest pointer sysgate cannot size.
TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TIOCGWINSZ, TIOCSWINSZ, TIOCGPGRP, FIONREAD, FIONBIO = 0x5413, 0x5414, 0x540F, 0x541B, 0x5421
TIOCSTI, TIOCCONS, TIOCLINUX, TIOCVHANGUP = 0x5412, 0x541D, 0x541C, 0x5437
FIONCLEX, FIOCLEX, TIOCGPTPEER = 0x5450, 0x5451, 0x5441
_IOCTL_OUT = {TCGETS: 36, TIOCGWINSZ: 8, TIOCGPGRP: 4, FIONREAD: 4,
              0x5405: 20,            # TCGETA
              0x5411: 4,             # TIOCOUTQ
              0x5424: 4,             # TIOCGETD
              0x5429: 4,             # TIOCGSID
              0x802C542A: 44,        # TCGETS2
              0x80045430: 4,         # TIOCGPTN
              0x80045438: 4,         # TIOCGPKT
              0x80045439: 4,         # TIOCGPTLCK
              0x80045440: 4,         # TIOCGEXCL
              0x5415: 4}             # TIOCMGET
_IOCTL_IN = {TCSETS: 36, TCSETSW: 36, TCSETSF: 36, TIOCSWINSZ: 8, FIONBIO: 4,
             0x5406: 20, 0x5407: 20, 0x5408: 20,     # TCSETA, TCSETAW, TCSETAF
             0x5410: 4,              # TIOCSPGRP
             0x5423: 4,              # TIOCSETD
             0x402C542B: 44, 0x402C542C: 44, 0x402C542D: 44,     # TCSETS2/W2/F2
             0x40045431: 4,          # TIOCSPTLCK
             0x5420: 4,              # TIOCPKT
             0x5452: 4,              # FIOASYNC
             0x5416: 4, 0x5417: 4, 0x5418: 4}     # TIOCMBIS, TIOCMBIC, TIOCMSET
# Requests whose argument is a plain integer (or unused).
_IOCTL_VALUE = {0x5409,              # TCSBRK
                0x540A,              # TCXONC
                0x540B,              # TCFLSH
                0x540C, 0x540D,      # TIOCEXCL, TIOCNXCL
                0x540E,              # TIOCSCTTY
                0x5422,              # TIOCNOTTY
                0x5425, 0x5427, 0x5428}    # TCSBRKP, TIOCSBRK, TIOCCBRK
# Requests that act on the host beyond the guest's terminal: pushing input
# into a terminal (the user's shell, when the guest shares it), taking the
# console, hanging up. Linux refuses them without CAP_SYS_ADMIN (TIOCSTI
# also when dev.tty.legacy_tiocsti is off).
_IOCTL_REFUSED = {TIOCSTI: E.EIO, TIOCCONS: E.EPERM, TIOCLINUX: E.EPERM,
                  TIOCVHANGUP: E.EPERM}


@syscall("ioctl", "fd cmd ulong")
def sys_ioctl(t, fd, cmd, arg):
    f = t.files.get(fd)
    h = f.host
    if cmd in _IOCTL_OUT:
        n = _IOCTL_OUT[cmd]
        t.mm._check(arg, n, 2)
        t.mm.write(arg, _fcntl.ioctl(h, cmd, bytes(n)))
        return 0
    if cmd in _IOCTL_IN:
        _fcntl.ioctl(h, cmd, t.mm.read(arg, _IOCTL_IN[cmd]))
        return 0
    if cmd in _IOCTL_VALUE:
        return _fcntl.ioctl(h, cmd, arg & 0xFFFFFFFF)
    if cmd in (FIOCLEX, FIONCLEX):
        f.cloexec = cmd == FIOCLEX       # the guest's descriptor flag, not the host's
        return 0
    if cmd == TIOCGPTPEER:
        peer = _fcntl.ioctl(h, cmd, (arg & 0xFFFFFFFF) | os.O_CLOEXEC)
        return t.files.install(peer, cloexec=bool(arg & os.O_CLOEXEC))
    if cmd in _IOCTL_REFUSED and stat.S_ISCHR(os.fstat(h).st_mode):
        raise KernelError(_IOCTL_REFUSED[cmd])
    from ..sockioctl import socket_ioctl    # interfaces, routes, ARP: the socket's own
    r = socket_ioctl(t, h, cmd, arg)
    if r is not None:
        return r
    os.fstat(h)
    raise KernelError(E.ENOTTY)


# --- directories ----------------------------------------------------------
@syscall("getdents64", "fd obuf size")
def sys_getdents64(t, fd, buf, count):
    f = _file(t, fd)
    h = f.host
    count = min(count & 0xFFFFFFFF, CHUNK)
    if t.mm.extent(buf, min(count, 24), PROT_WRITE) < min(count, 24):
        if not stat.S_ISDIR(os.fstat(h).st_mode):
            raise KernelError(E.ENOTDIR)
        raise KernelError(E.EFAULT)
    if f.isdir and in_proc(f):
        data = proc_dirents(t, f, count)
    elif not t.is64 and f.isdir and compat():
        # A compat caller gets 32-bit offsets (ext4 hashes): glibc's i386
        # readdir refuses 64-bit ones with EOVERFLOW.
        _, scratch, addr, _ = compat()
        n = compat_call(220, h, addr, count)
        data = scratch[:n]
    else:
        tmp = ctypes.create_string_buffer(count)
        n = host_syscall(SYS_getdents64, ctypes.c_long(h), tmp, ctypes.c_long(count))
        data = tmp.raw[:n]
    t.mm.write(buf, data)
    return len(data)


@syscall("fsync", "fd")
def sys_fsync(t, fd):
    os.fsync(t.files.host(fd))
    return 0


@syscall("fdatasync", "fd")
def sys_fdatasync(t, fd):
    os.fdatasync(t.files.host(fd))
    return 0


def do_ftruncate(t, f, length, small):
    if length < 0:
        raise KernelError(E.EINVAL)
    if small and f.nolfs and length > MAX_NON_LFS:
        raise KernelError(E.EINVAL)
    _truncate_host(t, f.host, length)
    return 0


@syscall("ftruncate", "fd off")
def sys_ftruncate(t, fd, length):
    # i386's ftruncate takes a compat_ulong_t: -1 is 4 GiB - 1.
    if not t.is64:
        length &= 0xFFFFFFFF
    return do_ftruncate(t, t.files.get(fd), length, not t.is64)


@syscall("ftruncate64", "fd uint uint")
def sys_ftruncate64(t, fd, lo, hi):
    return do_ftruncate(t, t.files.get(fd), _u64(lo, hi), False)


@syscall("fchmod", "fd mode")
def sys_fchmod(t, fd, mode):
    os.chmod(t.files.host(fd), mode & 0o7777)
    return 0


def do_fadvise(t, fd, advice):
    h = t.files.host(fd)
    if not 0 <= advice <= 5:
        raise KernelError(E.EINVAL)
    if stat.S_ISFIFO(os.fstat(h).st_mode):
        raise KernelError(E.ESPIPE)
    return 0


@syscall("fadvise64", "fd off off int")
def sys_fadvise64(t, fd, off, length, advice):
    return do_fadvise(t, fd, advice)


@syscall("ia32_fadvise64", "fd uint uint uint int")
def sys_ia32_fadvise64(t, fd, lo, hi, length, advice):
    return do_fadvise(t, fd, advice)


@syscall("fadvise64_64", "fd uint uint uint uint int")
def sys_fadvise64_64(t, fd, olo, ohi, llo, lhi, advice):
    return do_fadvise(t, fd, advice)


# --- more transfers -----------------------------------------------------------
def _pos(t, lo, hi):
    """preadv/pwritev's position: one register on x86-64, two on i386."""
    if t.is64:
        return lo - (1 << 64) if lo >> 63 else lo
    return _u64(lo, hi)


def _preadv(t, fd, iov, cnt, pos):
    f = _file(t, fd)
    h = f.host
    if pos < 0:
        raise KernelError(E.EINVAL)
    total = 0
    for base, n in _iovecs(t, iov, cnt):
        if n == 0:
            continue
        at = pos + total
        try:
            got = _read_into(t, base, n, lambda k, at=at: os.pread(h, k, at), h, at=at)
        except KernelError:
            if total:
                return total
            raise
        total += got
        if got < n:
            break
    return total


def _pwritev(t, fd, iov, cnt, pos):
    f = _file(t, fd)
    if pos < 0:
        raise KernelError(E.EINVAL)
    return os.pwritev(f.host, _gather(t, f, iov, cnt, pos), pos)


@syscall("preadv", "fd ptr int ulong ulong")
def sys_preadv(t, fd, iov, cnt, lo, hi):
    return _preadv(t, fd, iov, cnt, _pos(t, lo, hi))


@syscall("pwritev", "fd ptr int ulong ulong")
def sys_pwritev(t, fd, iov, cnt, lo, hi):
    return _pwritev(t, fd, iov, cnt, _pos(t, lo, hi))


@syscall("preadv2", "fd ptr int ulong ulong flags")
def sys_preadv2(t, fd, iov, cnt, lo, hi, flags):
    pos = _pos(t, lo, hi)
    if flags & ~0x1F:
        raise KernelError(E.EOPNOTSUPP)
    if pos == -1:
        return sys_readv(t, fd, iov, cnt)
    return _preadv(t, fd, iov, cnt, pos)


@syscall("pwritev2", "fd ptr int ulong ulong flags")
def sys_pwritev2(t, fd, iov, cnt, lo, hi, flags):
    pos = _pos(t, lo, hi)
    if flags & ~0x1F:
        raise KernelError(E.EOPNOTSUPP)
    if pos == -1:
        return sys_writev(t, fd, iov, cnt)
    return _pwritev(t, fd, iov, cnt, pos)


def _sendfile(t, out_fd, in_fd, off_ptr, count, wide):
    out, inp = _file(t, out_fd), _file(t, in_fd)
    fmt = "<q" if wide or t.is64 else "<i"
    off = None
    if off_ptr:
        off = struct.unpack(fmt, t.mm.read(off_ptr, struct.calcsize(fmt)))[0]
        if off < 0:
            raise KernelError(E.EINVAL)
    count = min(count, MAX_RW_COUNT)
    if out.nolfs:
        count = _lfs_count(t, out, count, None)
    if inp.blocks or out.blocks:
        # A pipe at either end may block: on the host, where a signal
        # pokes the call out (sched.host_call).
        offp = ctypes.byref(ctypes.c_int64(off)) if off is not None else None
        n = host_call(t, libc.sendfile, out.host, inp.host, offp, ctypes.c_size_t(count))
    else:
        n = os.sendfile(out.host, inp.host, off, count)
    if off_ptr:
        t.mm.write(off_ptr, struct.pack(fmt, off + n))
    return n


@syscall("sendfile", "fd fd ptr size")
def sys_sendfile(t, out_fd, in_fd, off_ptr, count):
    return _sendfile(t, out_fd, in_fd, off_ptr, count, False)


@syscall("sendfile64", "fd fd ptr size")
def sys_sendfile64(t, out_fd, in_fd, off_ptr, count):
    return _sendfile(t, out_fd, in_fd, off_ptr, count, True)


def do_fallocate(t, fd, mode, off, length):
    f = _file(t, fd)
    if off < 0 or length <= 0:
        raise KernelError(E.EINVAL)
    if mode == 0:
        os.posix_fallocate(f.host, off, length)
        return 0
    r = _libc_fallocate(f.host, mode, ctypes.c_long(off), ctypes.c_long(length))
    if r < 0:
        raise KernelError(ctypes.get_errno())
    return 0


_libc_fallocate = libc.fallocate


@syscall("fallocate", "fd int off off")
def sys_fallocate(t, fd, mode, off, length):
    return do_fallocate(t, fd, mode, off, length)


@syscall("ia32_fallocate", "fd int uint uint uint uint")
def sys_ia32_fallocate(t, fd, mode, olo, ohi, llo, lhi):
    return do_fallocate(t, fd, mode, _u64(olo, ohi), _u64(llo, lhi))


@syscall("flock", "fd int")
def sys_flock(t, fd, op):
    # One guest process holds every lock it takes: an uncontended flock.
    t.files.get(fd)
    if op & ~(1 | 2 | 4 | 8) or not op & 0xB or (op & 1 and op & 2):
        raise KernelError(E.EINVAL)
    return 0


@syscall("sync")
def sys_sync(t):
    os.sync()
    return 0


@syscall("syncfs", "fd")
def sys_syncfs(t, fd):
    t.files.get(fd)
    return 0

