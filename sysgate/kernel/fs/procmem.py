"""/proc/<pid>/mem: the guest's memory, read and written as Linux's mem_rw
does (access_remote_vm with FOLL_FORCE): a private mapping is written even
where it is read-only or PROT_NONE, a shared one only where it is writable;
an unmapped address ends the transfer, EIO if nothing was copied. And
/proc/<pid>/pagemap, as an unprivileged reader sees it (no frame numbers).

The descriptor the guest holds is an empty sealed memfd whose file offset is
the address; the transfers themselves are served here. The read and write
handlers are wrapped for that only once a guest opens a mem file, so the
ordinary read and write paths pay nothing."""
import os
import struct
import weakref

from ..errors import KernelError, E
from ..mm import PAGE, PROT_EXEC, PROT_WRITE

F_ADD_SEALS, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE = 1033, 1, 2, 4, 8
MAX_RW_COUNT = 0x7FFFF000
CHUNK = 1 << 20
_owners = {}         # memfd inode -> the AddressSpace it was opened for


def open_mem(t, n, flags):
    """A descriptor for mem or pagemap (read-only) of the guest's own process."""
    import fcntl
    if n.path.endswith("/pagemap") and flags & 3:
        raise KernelError(E.EACCES)
    pid = int(n.path.split("/")[2])
    remote = None
    if pid != t.pid:
        from ..ptrace.tracer import remote_mem
        remote = remote_mem(t, pid)       # ptrace: a tracer opens its tracee's mem
        if remote is None or n.path.endswith("/pagemap"):
            raise KernelError(E.EACCES)
    made = os.memfd_create("mem", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    try:
        os.fchmod(made, 0o600 if n.path.endswith("/mem") else 0o400)
        fcntl.fcntl(made, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)
        # Opened again with the guest's access mode: a read-only mem
        # refuses writes (EBADF) as Linux's does.
        fd = os.open(f"/proc/self/fd/{made}", (flags & 3) | os.O_CLOEXEC)
    finally:
        os.close(made)
    _owners[os.fstat(fd).st_ino] = weakref.ref(t.mm) if remote is None else remote
    _hook(t)
    return fd


def _mm_of(t, f):
    """The address space f reads, or None once it is gone (after exec)."""
    ref = _owners.get(os.fstat(f.host).st_ino)
    mm = ref() if ref is not None else None
    return mm if mm is t.mm else None


def _limit(t):
    return t.mm.task_size


def read_mem(t, f, addr, n):
    remote = _owners.get(os.fstat(f.host).st_ino)
    if hasattr(remote, "read"):
        return remote.read(addr, n) if n else b""      # a tracee's, over ptrace's channel
    mm = _mm_of(t, f)
    if mm is None or n == 0:
        return b""
    out = []
    end = min(addr + min(n, MAX_RW_COUNT), _limit(t))
    a = addr
    while a < end:
        v = mm.find(a)
        if v is None:
            break
        stop = min(v.end, end)
        if v.backed:
            out.append(mm.peek(a, stop - a))
        elif v.file is None:
            out.append(bytes(stop - a))     # reserved, never touched: zero pages
        else:
            break
        a = stop
    data = b"".join(out)
    if not data:
        raise KernelError(E.EIO)
    return data


def write_mem(t, f, addr, data):
    remote = _owners.get(os.fstat(f.host).st_ino)
    if hasattr(remote, "write"):
        return remote.write(addr, data) if data else 0
    mm = _mm_of(t, f)
    if mm is None or not data:
        return 0
    end = min(addr + len(data), _limit(t))
    a = addr
    while a < end:
        v = mm.find(a)
        if v is None or not v.backed or (v.shared and not v.prot & PROT_WRITE):
            break
        stop = min(v.end, end)
        mm.write_kernel(a, data[a - addr:stop - addr])
        if v.prot & PROT_EXEC:
            # Code written from outside the CPU: its translations must go,
            # as a store from user code would make them go.
            mm.cpu.uc.ctl_remove_cache(a, stop)
        a = stop
    if a == addr:
        raise KernelError(E.EIO)
    return a - addr


# --- the transfer calls --------------------------------------------------------
def _copy_out(t, buf, data):
    t.mm.write(buf, data)
    return len(data)


def _gather(t, buf, count):
    count = min(count, MAX_RW_COUNT)
    return t.mm.read(buf, count)


def _pos(f):
    return os.lseek(f.host, 0, os.SEEK_CUR)


def _advance(f, pos, n):
    os.lseek(f.host, pos + n, os.SEEK_SET)


def _need(f, write):
    import fcntl
    acc = fcntl.fcntl(f.host, fcntl.F_GETFL) & 3
    if acc == (os.O_RDONLY if write else os.O_WRONLY):
        raise KernelError(E.EBADF)


PM_PRESENT, PM_EXCLUSIVE, PM_FILE = 1 << 63, 1 << 56, 1 << 61


def read_pagemap(t, f, pos, n):
    """pagemap as an unprivileged reader sees it: a word per page, present
    (and exclusive, or file-backed) where the guest's memory is, frame
    numbers zeroed; EINVAL unless position and count are whole words."""
    if pos % 8 or n % 8:
        raise KernelError(E.EINVAL)
    mm = _mm_of(t, f)
    if mm is None:
        return b""
    first = pos // 8
    last = min(first + n // 8, _limit(t) // PAGE)
    out = []
    for vpn in range(first, max(first, last)):
        v = mm.find(vpn * PAGE)
        word = 0
        if v is not None and v.backed:
            word = PM_PRESENT | (PM_FILE if v.ino and not v.prot & PROT_WRITE else PM_EXCLUSIVE)
        out.append(word)
    return struct.pack(f"<{len(out)}Q", *out)


def _read(t, f, buf, count, pos=None):
    _need(f, False)
    at = _pos(f) if pos is None else pos
    if f.path.endswith("/pagemap"):
        data = read_pagemap(t, f, at, min(count, CHUNK))
        n = _copy_out(t, buf, data)
        if pos is None:
            _advance(f, at, n)
        return n
    data = read_mem(t, f, at, min(count, CHUNK * 16))
    n = _copy_out(t, buf, data)
    if pos is None:
        _advance(f, at, n)
    return n


def _write(t, f, buf, count, pos=None):
    _need(f, True)
    if f.path.endswith("/pagemap"):
        raise KernelError(E.EINVAL)
    at = _pos(f) if pos is None else pos
    n = write_mem(t, f, at, _gather(t, buf, min(count, CHUNK * 16)))
    if pos is None:
        _advance(f, at, n)
    return n


def _iov(t, iov, cnt):
    if cnt < 0 or cnt > 1024:
        raise KernelError(E.EINVAL)
    w = t.word
    vals = struct.unpack(f"<{2 * cnt}{'Q' if w == 8 else 'I'}", t.mm.read(iov, cnt * 2 * w))
    return list(zip(vals[0::2], vals[1::2]))


def _vec(t, f, iov, cnt, pos, op):
    total = 0
    for base, n in _iov(t, iov, cnt):
        if not n:
            continue
        try:
            got = op(t, f, base, n, None if pos is None else pos + total)
        except KernelError:
            if total:
                break
            raise
        total += got
        if got < n:
            break
    return total


def _u64(lo, hi):
    return ((hi & 0xFFFFFFFF) << 32 | (lo & 0xFFFFFFFF)) & ((1 << 64) - 1)


def _vpos(t, lo, hi):
    return _off(lo & ((1 << 64) - 1) if t.is64 else _u64(lo, hi))


def _off(off):
    """pread's position: negative is EINVAL even for mem, whose file offset
    (lseek) may go anywhere."""
    if off < 0 or off >> 63:
        raise KernelError(E.EINVAL)
    return off


_OPS = {
    "read": lambda t, f, buf, n: _read(t, f, buf, n),
    "write": lambda t, f, buf, n: _write(t, f, buf, n),
    "pread64": lambda t, f, buf, n, off: _read(t, f, buf, n, _off(off)),
    "pwrite64": lambda t, f, buf, n, off: _write(t, f, buf, n, _off(off)),
    "ia32_pread64": lambda t, f, buf, n, lo, hi: _read(t, f, buf, n, _off(_u64(lo, hi))),
    "ia32_pwrite64": lambda t, f, buf, n, lo, hi: _write(t, f, buf, n, _off(_u64(lo, hi))),
    "readv": lambda t, f, iov, cnt: _vec(t, f, iov, cnt, None, _read),
    "writev": lambda t, f, iov, cnt: _vec(t, f, iov, cnt, None, _write),
    "preadv": lambda t, f, iov, cnt, lo, hi: _vec(t, f, iov, cnt, _vpos(t, lo, hi), _read),
    "pwritev": lambda t, f, iov, cnt, lo, hi: _vec(t, f, iov, cnt, _vpos(t, lo, hi), _write),
    "preadv2": lambda t, f, iov, cnt, lo, hi, fl: _vec(t, f, iov, cnt, _vpos(t, lo, hi), _read),
    "pwritev2": lambda t, f, iov, cnt, lo, hi, fl: _vec(t, f, iov, cnt, _vpos(t, lo, hi),
                                                        _write),
}


def is_mem(f):
    """mem or pagemap: served from the guest's memory."""
    return (f.inproc and f.path is not None and not f.isdir
            and (f.path.endswith("/mem") or f.path.endswith("/pagemap")))


def _wrap(name, orig):
    op = _OPS[name]

    def handler(t, fd, *args):
        f = t.files.fds.get(fd)
        if f is None or not is_mem(f):
            return orig(t, fd, *args)
        return op(t, f, *args)
    handler.procmem = True
    return handler


def _hook(t):
    for table in t.syscall_tables():
        for e in table:
            if e is not None and e.call.name in _OPS and not getattr(e.fn, "procmem", False):
                e.fn = _wrap(e.call.name, e.fn)
