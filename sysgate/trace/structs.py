"""Structures in traces, summarised the way strace summarises them. Each
decoder reads guest memory after the call; `out` marks structures the
kernel fills, shown only when the call succeeded."""
import stat as _stat
import struct

from ..kernel.errors import KernelError
from .names import SIGNALS

SA_FLAGS = [(0x1, "SA_NOCLDSTOP"), (0x2, "SA_NOCLDWAIT"), (0x4, "SA_SIGINFO"),
            (0x04000000, "SA_RESTORER"), (0x08000000, "SA_ONSTACK"), (0x10000000, "SA_RESTART"),
            (0x40000000, "SA_NODEFER"), (0x80000000, "SA_RESETHAND")]
FILE_TYPES = [(_stat.S_IFREG, "S_IFREG"), (_stat.S_IFDIR, "S_IFDIR"), (_stat.S_IFCHR, "S_IFCHR"),
              (_stat.S_IFBLK, "S_IFBLK"), (_stat.S_IFLNK, "S_IFLNK"), (_stat.S_IFIFO, "S_IFIFO"),
              (_stat.S_IFSOCK, "S_IFSOCK")]


def _mode(m):
    kind = next((n for v, n in FILE_TYPES if _stat.S_IFMT(m) == v), f"{_stat.S_IFMT(m):#o}")
    return f"{kind}|{m & 0o7777:04o}"


def sigset(bits):
    names = [SIGNALS[i][3:] if i < len(SIGNALS) else f"RT_{i + 1 - 32}"
             for i in range(64) if bits >> i & 1]
    return "[" + " ".join(names) + "]"


def _stat_struct(mm, addr, layout):
    # (format, offsets of mode, rdev, size) per layout
    if layout == "x86_64":
        mode, = struct.unpack_from("<I", mm.read(addr + 24, 4))
        rdev, size = struct.unpack_from("<Qq", mm.read(addr + 40, 16))
    elif layout == "stat64":
        mode, = struct.unpack_from("<I", mm.read(addr + 16, 4))
        rdev, = struct.unpack_from("<Q", mm.read(addr + 32, 8))
        size, = struct.unpack_from("<q", mm.read(addr + 44, 8))
    else:
        mode, = struct.unpack_from("<H", mm.read(addr + 8, 2))
        rdev, size = struct.unpack_from("<Ii", mm.read(addr + 16, 8))
    if _stat.S_ISCHR(mode) or _stat.S_ISBLK(mode):
        major, minor = (rdev >> 8) & 0xFFF, (rdev & 0xFF) | ((rdev >> 12) & 0xFFF00)
        return f"{{st_mode={_mode(mode)}, st_rdev=makedev({major:#x}, {minor:#x}), ...}}"
    return f"{{st_mode={_mode(mode)}, st_size={size}, ...}}"


def _timespec(mm, addr, is64):
    fmt = "<qq" if is64 else "<ii"
    sec, nsec = struct.unpack(fmt, mm.read(addr, struct.calcsize(fmt)))
    return f"{{tv_sec={sec}, tv_nsec={nsec}}}"


def _sigaction(mm, addr, is64):
    fmt = "<QQQQ" if is64 else "<IIIQ"
    handler, flags, restorer, mask = struct.unpack(fmt, mm.read(addr, struct.calcsize(fmt)))
    h = {0: "SIG_DFL", 1: "SIG_IGN"}.get(handler, hex(handler))
    fl = "|".join(n for b, n in SA_FLAGS if flags & b) or "0"
    text = f"{{sa_handler={h}, sa_mask={sigset(mask)}, sa_flags={fl}"
    if flags & 0x04000000:
        text += f", sa_restorer={restorer:#x}"
    return text + "}"


def _sigmask(mm, addr, is64):
    return sigset(struct.unpack("<Q", mm.read(addr, 8))[0])


def _utsname(mm, addr, is64):
    raw = mm.read(addr, 390)
    f = [raw[i * 65:(i + 1) * 65].split(b"\0")[0].decode(errors="replace") for i in range(6)]
    return f'{{sysname="{f[0]}", nodename="{f[1]}", ...}}'


def _pipefds(mm, addr, is64):
    return "[%d, %d]" % struct.unpack("<ii", mm.read(addr, 8))


def dirent_count(mm, addr, nbytes, is64_records, is64):
    """How many directory entries a getdents(64) buffer of nbytes holds
    (strace prints the count, not the records)."""
    try:
        raw = mm.read(addr, nbytes)
    except KernelError:
        return "?"
    # d_reclen sits after d_ino and d_off: 8+8 bytes in linux_dirent64,
    # two longs in the old linux_dirent.
    at_reclen = 16 if is64_records else (16 if is64 else 8)
    n = pos = 0
    while pos + at_reclen + 2 <= len(raw):
        reclen = struct.unpack_from("<H", raw, pos + at_reclen)[0]
        if not reclen:
            break
        pos += reclen
        n += 1
    return n


def _sockaddr(mm, addr, is64):
    family = struct.unpack("<H", mm.read(addr, 2))[0]
    if family == 1:                                     # AF_UNIX
        raw = b""
        for n in (110, 16, 2):                         # as much as is readable
            try:
                raw = mm.read(addr, n)
                break
            except KernelError:
                continue
        path = raw[2:].split(b"\0", 1)[0]
        if len(raw) > 2 and raw[2] == 0 and len(raw) > 3:
            return '{sa_family=AF_UNIX, sun_path=@"%s"}' % raw[3:].split(b"\0", 1)[0].decode(
                errors="replace")
        return '{sa_family=AF_UNIX, sun_path="%s"}' % path.decode(errors="replace")
    if family == 2:                                     # AF_INET
        port, a, b, c, d = struct.unpack(">HBBBB", mm.read(addr + 2, 6))
        return ('{sa_family=AF_INET, sin_port=htons(%d), sin_addr=inet_addr("%d.%d.%d.%d")}'
                % (port, a, b, c, d))
    return "{sa_family=%d, ...}" % family


def _stat_for(layout_64, layout_32):
    return lambda mm, addr, is64: _stat_struct(mm, addr, layout_64 if is64 else layout_32)


_STAT = _stat_for("x86_64", "stat")
_STAT64 = _stat_for("stat64", "stat64")
_NEWFSTATAT = _stat_for("x86_64", "x86_64")
# call -> [(argument index, decoder, filled by the kernel?)]
DECODERS = {
    "stat": [(1, _STAT, True)], "lstat": [(1, _STAT, True)], "fstat": [(1, _STAT, True)],
    "newfstatat": [(2, _NEWFSTATAT, True)],
    "stat64": [(1, _STAT64, True)], "lstat64": [(1, _STAT64, True)],
    "fstat64": [(1, _STAT64, True)], "fstatat64": [(2, _STAT64, True)],
    "clock_gettime": [(1, _timespec, True)], "clock_getres": [(1, _timespec, True)],
    "nanosleep": [(0, _timespec, False)], "clock_nanosleep": [(2, _timespec, False)],
    "rt_sigaction": [(1, _sigaction, False), (2, _sigaction, True)],
    "rt_sigprocmask": [(1, _sigmask, False), (2, _sigmask, True)],
    "uname": [(0, _utsname, True)],
    "pipe": [(0, _pipefds, True)], "pipe2": [(0, _pipefds, True)],
    "connect": [(1, _sockaddr, False)], "bind": [(1, _sockaddr, False)],
    "sendto": [(4, _sockaddr, False)],
}


def summarise(name, args, result, mm, is64, out):
    """Replace pointer arguments of out (the decoded list) by structures."""
    for i, fn, filled in DECODERS.get(name, ()):
        if i >= len(out) or not args[i]:
            continue
        if filled and (result is None or result < 0):
            continue
        try:
            out[i] = fn(mm, args[i], is64)
        except (KernelError, struct.error):
            pass
