"""setsockopt and getsockopt: the host judges the option; sysgate gives it
the guest's bytes as far as they are mapped, and i386's struct timeval."""
import ctypes
import struct

from ...abi.consts import (PROT_READ, PROT_WRITE, SO_ERROR, SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD,
                           SOL_SOCKET)
from ...abi.structs import LAYOUTS, read_struct, write_struct
from ..errors import KernelError, E
from ..hostbuf import Fenced
from ..hostlibc import call
from ..registry import syscall
from .base import _SOCK_ERR, SOCKOPT_MAX, _key, sock


_TIMEOS = (SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD)
_TV32, _TV64 = LAYOUTS["i386"]["timeval"].st, LAYOUTS["x86_64"]["timeval"].st


def _timeval_compat(raw, to_host):
    """i386's struct timeval (two 32-bit longs) for SO_RCVTIMEO/SO_SNDTIMEO
    against the host's (two 64-bit ones)."""
    src, dst = (_TV32, _TV64) if to_host else (_TV64, _TV32)
    return dst.pack(*src.unpack(raw[:src.size])) if len(raw) >= src.size else raw


def _compat_timeval(t, level, name):
    return not t.is64 and level == SOL_SOCKET and name in _TIMEOS


@syscall("setsockopt", "file int int ptr int")
def sys_setsockopt(t, f, level, name, val, vlen):
    host = sock(f)
    if vlen < 0:
        raise KernelError(E.EINVAL)
    if _compat_timeval(t, level, name):
        if vlen < 8:
            raise KernelError(E.EINVAL)
        raw = _timeval_compat(t.mm.read(val, 8), True)
        buf = ctypes.create_string_buffer(raw, len(raw))
        return call("setsockopt", host, level, name, buf, len(raw))
    # The host reads what the option needs of the guest's bytes and faults
    # where the guest's memory ends, so no more than that is copied.
    have = t.mm.extent(val, min(vlen, SOCKOPT_MAX), PROT_READ) if vlen else 0
    with Fenced(have) as fence:
        fence.put(t.mm.peek(val, have) if have else b"")
        return call("setsockopt", host, level, name, ctypes.c_void_p(fence.addr), vlen)


@syscall("getsockopt", "file int int ptr ptr")
def sys_getsockopt(t, f, level, name, val, vlen_ptr):
    host = sock(f)
    if _compat_timeval(t, level, name):
        have = read_struct(t, vlen_ptr, "int")[0]
        if have < 0:
            raise KernelError(E.EINVAL)
        buf = ctypes.create_string_buffer(32)
        n = ctypes.c_uint32(min(have * 2, 32))
        call("getsockopt", host, level, name, buf, ctypes.byref(n))
        raw = _timeval_compat(buf.raw[:n.value], False)[:have]
        if raw:
            t.mm.write(val, raw)
        write_struct(t, vlen_ptr, "int", len(raw))
        return 0
    # The host reads and judges the length itself (after the level: an
    # option the socket lacks is EOPNOTSUPP before any EFAULT or EINVAL).
    if t.mm.extent(vlen_ptr, 4, PROT_READ) < 4:
        with Fenced(0) as nothing:
            return call("getsockopt", host, level, name, ctypes.c_void_p(nothing.addr),
                        ctypes.c_void_p(nothing.addr))
    have = read_struct(t, vlen_ptr, "int")[0]
    room = t.mm.extent(val, min(have, SOCKOPT_MAX), PROT_WRITE) if have > 0 else 0
    n = ctypes.c_int32(have)
    with Fenced(room) as fence:
        call("getsockopt", host, level, name, ctypes.c_void_p(fence.addr), ctypes.byref(n))
        raw = fence.get(max(0, min(n.value, room)))
    if _SOCK_ERR and level == SOL_SOCKET and name == SO_ERROR and len(raw) == 4 \
            and not struct.unpack("<i", raw)[0]:
        raw = struct.pack("<i", _SOCK_ERR.pop(_key(host), 0))
    if raw:
        t.mm.write(val, raw)
    write_struct(t, vlen_ptr, "int", n.value)
    return 0
