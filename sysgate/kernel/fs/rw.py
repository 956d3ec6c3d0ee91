"""read and write, and their positioned forms (pread64, pwrite64).

read and write are the hot path: a buffer inside one mapping goes straight
between the host call and guest memory; anything else takes the general
path, which copies what is mapped and stops where the mapping does, as
Linux's copy to and from user memory does."""
import fcntl as _fcntl
import os
import stat

from ...abi.consts import F_GETFL, O_APPEND, PROT_READ, PROT_WRITE, SI_USER, SIGXFSZ
from ...abi.structs import join64
from ..errors import KernelError, E
from ..mm import PAGE
from ..registry import syscall
from .blocking import CHUNK, read_waiting, write_waiting

MAX_RW_COUNT = 0x7FFFF000       # INT_MAX & PAGE_MASK: no transfer moves more
MAX_NON_LFS = 0x7FFFFFFF        # where a file opened without O_LARGEFILE ends
RLIMIT_FSIZE, RLIM_INFINITY = 1, (1 << 64) - 1


# read and write look their descriptor up themselves rather than through
# the registry's "file" kind: the call it costs shows on the hot path.
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
            data = read_waiting(t, f, count) if f.blocks else os.read(h, count)
            mm.write_kernel(buf, data)
            return len(data)
    if f.blocks:
        return _read_into(t, buf, count, lambda n: read_waiting(t, f, n), h)
    return _read_into(t, buf, count, lambda n: os.read(h, n), h)


@syscall("write", "fd buf size")
def sys_write(t, fd, buf, count):
    f = t.files.fds.get(fd)
    if f is None:
        raise KernelError(E.EBADF)
    if f.nolfs or t.rlimits:
        count = _lfs_count(t, f, count, None)
    h = f.host
    mm = t.mm
    if count <= CHUNK:
        v = mm.find(buf)
        if v is not None and buf + count <= v.end and v.prot and v.backed:
            if f.blocks:
                return write_waiting(t, f, mm.peek(buf, count))
            return os.write(h, mm.peek(buf, count))
    if f.blocks:
        return _write_from(t, buf, count, lambda data, _: write_waiting(t, f, data), h)
    return _write_from(t, buf, count, lambda data, _: os.write(h, data), h)


# Linux first checks the whole buffer against the user address limit
# (access_ok: EFAULT), then copies page by page: a copy that faults after
# some bytes returns the bytes done. Only the 64-bit limit can be crossed
# (a compat caller's 32-bit range is far below it).
def _access_ok(t, buf, count):
    if t.is64 and buf + count > t.mm.task_size:
        raise KernelError(E.EFAULT)


def _lfs_count(t, f, count, pos):
    """The count a regular file may still take at pos (None: the file
    offset), Linux's generic_write_check_limits: RLIMIT_FSIZE (past it
    SIGXFSZ and EFBIG), then the end of a file opened without O_LARGEFILE.
    Called where f.nolfs or t.rlimits (the guest set a limit of its own)."""
    if not f.isreg or not count:
        return count
    fsize = t.rlimits.get(RLIMIT_FSIZE, (RLIM_INFINITY,))[0]
    if not f.nolfs and fsize >= RLIM_INFINITY:
        return count
    h = f.host
    if pos is None:
        if _fcntl.fcntl(h, F_GETFL) & O_APPEND:
            pos = os.fstat(h).st_size
        else:
            pos = os.lseek(h, 0, os.SEEK_CUR)
    if fsize < RLIM_INFINITY:
        if pos >= fsize:
            from ..signal import send_self
            send_self(t, SIGXFSZ, code=SI_USER)
            raise KernelError(E.EFBIG)
        count = min(count, fsize - pos)
    if not f.nolfs:
        return count
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


@syscall("pread64", "file obuf size off")
def sys_pread64(t, f, buf, count, off):
    h = f.host
    if off < 0:
        raise KernelError(E.EINVAL)
    pos = [off]

    def rd(n):
        data = os.pread(h, n, pos[0])
        pos[0] += len(data)
        return data
    return _read_into(t, buf, count, rd, h, at=off)


@syscall("pwrite64", "file buf size off")
def sys_pwrite64(t, f, buf, count, off):
    h = f.host
    if off < 0:
        raise KernelError(E.EINVAL)
    if f.nolfs or t.rlimits:
        count = _lfs_count(t, f, count, off)
    return _write_from(t, buf, count, lambda data, done: os.pwrite(h, data, off + done))


# i386 passes 64-bit offsets as two registers (arch/x86/kernel/sys_ia32.c).
@syscall("i386:pread64", "file obuf size uint uint")
def sys_ia32_pread64(t, f, buf, count, lo, hi):
    return sys_pread64(t, f, buf, count, join64(lo, hi))


@syscall("i386:pwrite64", "file buf size uint uint")
def sys_ia32_pwrite64(t, f, buf, count, lo, hi):
    return sys_pwrite64(t, f, buf, count, join64(lo, hi))
