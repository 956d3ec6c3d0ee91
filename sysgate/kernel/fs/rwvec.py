"""The vector transfers: readv, writev, preadv, pwritev (and their 2 forms)."""
import os

from ...abi.consts import PROT_READ, PROT_WRITE, UIO_MAXIOV as IOV_MAX
from ...abi.structs import join64, read_array
from ..errors import KernelError, E
from ..registry import syscall
from .blocking import CHUNK, read_waiting, write_waiting
from .rw import MAX_RW_COUNT, _access_ok, _lfs_count, _read_into


def _iovecs(t, iov, cnt):
    if cnt < 0 or cnt > IOV_MAX:
        raise KernelError(E.EINVAL)
    out = []
    total = 0
    limit = (1 << (8 * t.word - 1)) - 1
    for base, n in read_array(t, iov, "iovec", cnt):
        if n > limit:
            raise KernelError(E.EINVAL)
        _access_ok(t, base, n)
        n = min(n, MAX_RW_COUNT - total)     # the total is cut, as Linux cuts it
        total += n
        out.append((base, n))
    return out


@syscall("readv", "fd ptr int")
def sys_readv(t, fd, iov, cnt):
    f = t.files.get(fd)
    if f.blocks:
        return _readv_waiting(t, f, _iovecs(t, iov, cnt))
    return _read_each(t, f.host, _iovecs(t, iov, cnt), None)


def _read_each(t, h, iovs, pos):
    """Into each iovec in turn, from pos on (None: the file offset); a
    short read ends the call, a fault after some bytes gives them."""
    total = 0
    for base, n in iovs:
        if n == 0:
            continue
        at = None if pos is None else pos + total
        rd = (lambda k: os.read(h, k)) if at is None else (lambda k: os.pread(h, k, at))
        try:
            got = _read_into(t, base, n, rd, h, at=at)
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
    f = t.files.get(fd)
    bufs = _gather(t, f, iov, cnt, None)
    if f.blocks:
        return write_waiting(t, f, bufs)
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
        read_waiting(t, f, 0)       # EBADF, EINVAL come first
        raise KernelError(E.EFAULT)
    data = read_waiting(t, f, want)
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
    if f.nolfs or t.rlimits:
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


# --- at a position -------------------------------------------------------------
def _pos(t, lo, hi):
    """preadv/pwritev's position: one register on x86-64, two on i386."""
    if t.is64:
        return lo - (1 << 64) if lo >> 63 else lo
    return join64(lo, hi)


@syscall("preadv", "file ptr int ulong ulong")
def sys_preadv(t, f, iov, cnt, lo, hi):
    return _preadv(t, f, iov, cnt, _pos(t, lo, hi))


@syscall("pwritev", "file ptr int ulong ulong")
def sys_pwritev(t, f, iov, cnt, lo, hi):
    return _pwritev(t, f, iov, cnt, _pos(t, lo, hi))


def _preadv(t, f, iov, cnt, pos):
    if pos < 0:
        raise KernelError(E.EINVAL)
    return _read_each(t, f.host, _iovecs(t, iov, cnt), pos)


def _pwritev(t, f, iov, cnt, pos):
    if pos < 0:
        raise KernelError(E.EINVAL)
    return os.pwritev(f.host, _gather(t, f, iov, cnt, pos), pos)


@syscall("preadv2", "fd ptr int ulong ulong flags", write=False)
@syscall("pwritev2", "fd ptr int ulong ulong flags", write=True)
def sys_preadv2(t, fd, iov, cnt, lo, hi, flags, write):
    # The flags are judged before the descriptor (EOPNOTSUPP before EBADF).
    pos = _pos(t, lo, hi)
    if flags & ~0x1F:
        raise KernelError(E.EOPNOTSUPP)
    if pos == -1:
        return (sys_writev if write else sys_readv)(t, fd, iov, cnt)
    return (_pwritev if write else _preadv)(t, t.files.get(fd), iov, cnt, pos)
