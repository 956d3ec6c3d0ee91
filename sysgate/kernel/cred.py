"""Credentials: the set*id family and capabilities.

The guest's credentials are its host process's own: each change is made by
the host kernel for the calling thread (raw system calls, as the guest made
them, so glibc's broadcast to other threads is the guest's own business),
so Linux's permission rules, saved ids, fsuid and the capability effects of
an id change are exactly Linux's, and every later file access and signal is
checked against the new identity. A guest that drops root cannot regain it,
and neither can sysgate on its behalf.

The i386 ABI's old calls take 16-bit ids ((u16)-1 meaning "unchanged"), as
Linux's kernel/uid16.c converts them.
"""
import ctypes
import struct

from .errors import KernelError, E
from .hostlibc import host_syscall, libc
from .registry import syscall

# x86-64 host numbers of the calls made on the guest's behalf
SYS_SETUID, SYS_SETGID, SYS_SETREUID, SYS_SETREGID = 105, 106, 113, 114
SYS_SETRESUID, SYS_SETRESGID, SYS_SETFSUID, SYS_SETFSGID = 117, 119, 122, 123
SYS_SETGROUPS, SYS_CAPGET, SYS_CAPSET = 116, 125, 126

NGROUPS_MAX = 65536


def _u32(v):
    return ctypes.c_long(v & 0xFFFFFFFF)


def _id16(v):
    """low2highuid: a 16-bit id, (u16)-1 staying 'unchanged'."""
    v &= 0xFFFF
    return 0xFFFFFFFF if v == 0xFFFF else v


def _set(nr, *ids):
    host_syscall(nr, *(_u32(i) for i in ids))
    return 0


@syscall("setuid", "uint")
def sys_setuid(t, uid):
    return _set(SYS_SETUID, uid)


@syscall("setuid16", "uint")
def sys_setuid16(t, uid):
    return _set(SYS_SETUID, _id16(uid))


@syscall("setgid", "uint")
def sys_setgid(t, gid):
    return _set(SYS_SETGID, gid)


@syscall("setgid16", "uint")
def sys_setgid16(t, gid):
    return _set(SYS_SETGID, _id16(gid))


@syscall("setreuid", "uint uint")
def sys_setreuid(t, r, e):
    return _set(SYS_SETREUID, r, e)


@syscall("setreuid16", "uint uint")
def sys_setreuid16(t, r, e):
    return _set(SYS_SETREUID, _id16(r), _id16(e))


@syscall("setregid", "uint uint")
def sys_setregid(t, r, e):
    return _set(SYS_SETREGID, r, e)


@syscall("setregid16", "uint uint")
def sys_setregid16(t, r, e):
    return _set(SYS_SETREGID, _id16(r), _id16(e))


@syscall("setresuid", "uint uint uint")
def sys_setresuid(t, r, e, s):
    return _set(SYS_SETRESUID, r, e, s)


@syscall("setresuid16", "uint uint uint")
def sys_setresuid16(t, r, e, s):
    return _set(SYS_SETRESUID, _id16(r), _id16(e), _id16(s))


@syscall("setresgid", "uint uint uint")
def sys_setresgid(t, r, e, s):
    return _set(SYS_SETRESGID, r, e, s)


@syscall("setresgid16", "uint uint uint")
def sys_setresgid16(t, r, e, s):
    return _set(SYS_SETRESGID, _id16(r), _id16(e), _id16(s))


# setfsuid/setfsgid never fail: they answer the previous value either way.
@syscall("setfsuid", "uint")
def sys_setfsuid(t, uid):
    return libc.syscall(ctypes.c_long(SYS_SETFSUID), _u32(uid))


@syscall("setfsuid16", "uint")
def sys_setfsuid16(t, uid):
    return _fs16(SYS_SETFSUID, uid)


@syscall("setfsgid", "uint")
def sys_setfsgid(t, gid):
    return libc.syscall(ctypes.c_long(SYS_SETFSGID), _u32(gid))


@syscall("setfsgid16", "uint")
def sys_setfsgid16(t, gid):
    return _fs16(SYS_SETFSGID, gid)


def _fs16(nr, v):
    old = libc.syscall(ctypes.c_long(nr), _u32(_id16(v)))
    return old if old < 0x10000 else 65534


def _setgroups(t, size, ptr, width):
    if size < 0 or size > NGROUPS_MAX:
        raise KernelError(E.EINVAL)
    raw = t.mm.read(ptr, size * width) if size else b""
    ids = struct.unpack(f"<{size}{'H' if width == 2 else 'I'}", raw)
    if width == 2:
        ids = tuple(_id16(i) for i in ids)
    arr = (ctypes.c_uint32 * max(size, 1))(*ids)
    host_syscall(SYS_SETGROUPS, ctypes.c_long(size), arr)
    return 0


@syscall("setgroups", "int ptr")
def sys_setgroups(t, size, ptr):
    return _setgroups(t, size, ptr, 4)


@syscall("setgroups16", "int ptr")
def sys_setgroups16(t, size, ptr):
    return _setgroups(t, size, ptr, 2)


# --- capabilities -----------------------------------------------------------------
# Linux's three header versions: v1 carries one 32-bit set of each kind, v2
# and v3 two. An unknown version is answered with the preferred one written
# back and EINVAL (or 0 when no data pointer was given: the probe libcap
# and LTP make).
CAP_V1, CAP_V2, CAP_V3 = 0x19980330, 0x20071026, 0x20080522
_WORDS = {CAP_V1: 1, CAP_V2: 2, CAP_V3: 2}


def _cap_header(t, hdr):
    version, pid = struct.unpack("<Ii", t.mm.read(hdr, 8))
    words = _WORDS.get(version)
    if words is None:
        t.mm.write(hdr, struct.pack("<I", CAP_V3))
    return version, pid, words


def _cap_pid_ok(t, pid):
    """capget of another process: only the session's own guests (a host
    pid outside it is not the guest's to see)."""
    if pid in (0, t.pid, getattr(t, "tid", t.pid)):
        return True
    from .signal import guest_processes
    return pid in guest_processes(t)


@syscall("capget", "ptr ptr")
def sys_capget(t, hdr, data):
    version, pid, words = _cap_header(t, hdr)
    if words is None:
        if data == 0:
            return 0
        raise KernelError(E.EINVAL)
    if pid < 0:
        raise KernelError(E.EINVAL)
    if not _cap_pid_ok(t, pid):
        raise KernelError(E.ESRCH)
    h = (ctypes.c_uint32 * 2)(CAP_V3, pid)
    out = (ctypes.c_uint32 * 6)()
    host_syscall(SYS_CAPGET, h, out)
    if data:
        t.mm.write(data, bytes(out)[:12 * words])
    return 0


@syscall("capset", "ptr ptr")
def sys_capset(t, hdr, data):
    version, pid, words = _cap_header(t, hdr)
    if words is None:
        raise KernelError(E.EINVAL)
    if pid not in (0, t.pid, getattr(t, "tid", t.pid)):
        raise KernelError(E.EPERM)
    raw = t.mm.read(data, 12 * words).ljust(24, b"\0")
    h = (ctypes.c_uint32 * 2)(CAP_V3, 0)
    host_syscall(SYS_CAPSET, h, ctypes.create_string_buffer(raw, 24))
    return 0
