"""Credentials: the set*id family and capabilities.

The guest's credentials are its host process's own: each change is made by
the host kernel for the calling thread (raw system calls, as the guest made
them, so glibc's broadcast to other threads is the guest's own business),
so Linux's permission rules, saved ids, fsuid and the capability effects of
an id change are exactly Linux's, and every later file access and signal is
checked against the new identity. A guest that drops root cannot regain it,
and neither can sysgate on its behalf: so before the first change every
module sysgate may still need is imported (registry.before_identity_change:
kernel.lazyreg.import_everything).

The i386 ABI's old calls take 16-bit ids ((u16)-1 meaning "unchanged"), as
Linux's kernel/uid16.c converts them.
"""
import ctypes

from ..abi.structs import read_array, read_struct, write_field
from .errors import KernelError, E
from .hostlibc import host_syscall, libc
from . import registry
from .registry import syscall
from .tables.unistd import NR_X86_64

# The host's numbers of the calls made on the guest's behalf.
HOST = NR_X86_64

NGROUPS_MAX = 65536


def _u32(v):
    return ctypes.c_long(v & 0xFFFFFFFF)


def _id16(v):
    """low2highuid: a 16-bit id, (u16)-1 staying 'unchanged'."""
    v &= 0xFFFF
    return 0xFFFFFFFF if v == 0xFFFF else v


def _settle():
    hook = registry.before_identity_change
    if hook is not None:
        hook()


def _set(nr, ids, id16):
    """The host call nr (its name) with the guest's ids."""
    _settle()
    host_syscall(HOST[nr], *(_u32(_id16(i) if id16 else i) for i in ids))
    return 0


# Each call's i386 name takes 16-bit ids; its 32 name, like x86-64's, 32-bit ones.
_ID16 = "16-bit ids"


@syscall("setuid i386:setuid32", "uint", nr="setuid")
@syscall("i386:setuid", "uint", nr="setuid", id16=True, note=_ID16)
@syscall("setgid i386:setgid32", "uint", nr="setgid")
@syscall("i386:setgid", "uint", nr="setgid", id16=True, note=_ID16)
def sys_setuid(t, uid, nr, id16=False):
    return _set(nr, (uid,), id16)


@syscall("setreuid i386:setreuid32", "uint uint", nr="setreuid")
@syscall("i386:setreuid", "uint uint", nr="setreuid", id16=True, note=_ID16)
@syscall("setregid i386:setregid32", "uint uint", nr="setregid")
@syscall("i386:setregid", "uint uint", nr="setregid", id16=True, note=_ID16)
def sys_setreuid(t, r, e, nr, id16=False):
    return _set(nr, (r, e), id16)


@syscall("setresuid i386:setresuid32", "uint uint uint", nr="setresuid")
@syscall("i386:setresuid", "uint uint uint", nr="setresuid", id16=True, note=_ID16)
@syscall("setresgid i386:setresgid32", "uint uint uint", nr="setresgid")
@syscall("i386:setresgid", "uint uint uint", nr="setresgid", id16=True, note=_ID16)
def sys_setresuid(t, r, e, s, nr, id16=False):
    return _set(nr, (r, e, s), id16)


# setfsuid/setfsgid never fail: they answer the previous value either way.
@syscall("setfsuid i386:setfsuid32", "uint", nr="setfsuid")
@syscall("i386:setfsuid", "uint", nr="setfsuid", id16=True, note=_ID16)
@syscall("setfsgid i386:setfsgid32", "uint", nr="setfsgid")
@syscall("i386:setfsgid", "uint", nr="setfsgid", id16=True, note=_ID16)
def sys_setfsuid(t, uid, nr, id16=False):
    _settle()
    if not id16:
        return libc.syscall(ctypes.c_long(HOST[nr]), _u32(uid))
    old = libc.syscall(ctypes.c_long(HOST[nr]), _u32(_id16(uid)))
    return old if old < 0x10000 else 65534


def _setgroups(t, size, ptr, width):
    if size < 0 or size > NGROUPS_MAX:
        raise KernelError(E.EINVAL)
    ids = [i for i, in read_array(t, ptr, "u16" if width == 2 else "u32", size)]
    if width == 2:
        ids = [_id16(i) for i in ids]
    arr = (ctypes.c_uint32 * max(size, 1))(*ids)
    _settle()
    host_syscall(HOST["setgroups"], ctypes.c_long(size), arr)
    return 0


@syscall("setgroups i386:setgroups32", "int ptr", width=4)
@syscall("i386:setgroups", "int ptr", width=2, note=_ID16)
def sys_setgroups(t, size, ptr, width):
    return _setgroups(t, size, ptr, width)


# --- capabilities -----------------------------------------------------------------
# Linux's three header versions: v1 carries one 32-bit set of each kind, v2
# and v3 two. An unknown version is answered with the preferred one written
# back and EINVAL (or 0 when no data pointer was given: the probe libcap
# and LTP make).
CAP_V1, CAP_V2, CAP_V3 = 0x19980330, 0x20071026, 0x20080522
_WORDS = {CAP_V1: 1, CAP_V2: 2, CAP_V3: 2}


def _cap_header(t, hdr):
    version, pid = read_struct(t, hdr, "cap_header")
    words = _WORDS.get(version)
    if words is None:
        write_field(t, hdr, "cap_header", "version", "I", CAP_V3)
    return version, pid, words


def _cap_pid_ok(t, pid):
    """capget of another process: only the session's own guests (a host
    pid outside it is not the guest's to see)."""
    if pid in (0, t.pid, getattr(t, "tid", t.pid)):
        return True
    from .session import guest_processes
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
    host_syscall(HOST["capget"], h, out)
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
    _settle()
    host_syscall(HOST["capset"], h, ctypes.create_string_buffer(raw, 24))
    return 0
