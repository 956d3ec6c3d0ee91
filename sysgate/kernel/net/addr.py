"""Socket addresses: a Unix-domain name resolves inside the guest's root
as every path does, and the name a guest bound is what it gets back."""
import ctypes
import os
import struct

from ...abi.consts import AT_FDCWD, O_PATH
from ...abi.structs import read_struct, write_struct
from ..errors import KernelError, E
from ..fs.lookup import open_at, parent_at
from ..hostlibc import call
from .base import _BOUND, AF_UNIX, SOCKADDR_MAX, _key

SUN_PATH = 108


def _read_addr(t, addr, alen):
    if alen < 0 or alen > SOCKADDR_MAX:
        raise KernelError(E.EINVAL)
    return t.mm.read(addr, alen) if alen else b""


def _unix_path(raw):
    """The pathname of a sockaddr_un (None for an abstract or unnamed one)."""
    if len(raw) <= 2 or raw[2] == 0:
        return None
    path = raw[2:2 + SUN_PATH].split(b"\0", 1)[0]
    return path


class _HostAddr:
    """The host's form of a guest address, with the descriptors that keep
    its translation valid until the call is made."""

    def __init__(self, raw, hold=()):
        self.raw, self.hold = raw, list(hold)
        self.buf = ctypes.create_string_buffer(raw, len(raw)) if raw else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for h in self.hold:
            os.close(h)


def _to_host(t, raw, creating):
    """A guest sockaddr as the host must see it: a Unix pathname is resolved
    inside the root (creating: its directory; otherwise the socket file)."""
    if len(raw) < 2 or struct.unpack_from("<H", raw)[0] != AF_UNIX:
        return _HostAddr(raw)            # the host judges it (EINVAL, EAFNOSUPPORT...)
    path = _unix_path(raw)
    if path is None:
        return _HostAddr(raw)
    if creating:
        with parent_at(t, AT_FDCWD, path, E.EADDRINUSE) as (dirfd, name):
            host_dir = os.dup(dirfd)
        host_path = f"/proc/self/fd/{host_dir}/".encode() + name
        hold = [host_dir]
    else:
        sock, _, _ = open_at(t, AT_FDCWD, path, O_PATH)
        host_path = f"/proc/self/fd/{sock}".encode()
        hold = [sock]
    if len(host_path) >= SUN_PATH:
        for h in hold:
            os.close(h)
        raise KernelError(E.ENAMETOOLONG)
    return _HostAddr(struct.pack("<H", AF_UNIX) + host_path + b"\0", hold)


def _give_addr(t, raw, addr, alen_ptr):
    """Write a sockaddr back as move_addr_to_user does: the full length to
    *alen_ptr first (unless the caller's is negative), then the address cut
    to the caller's length (EINVAL if that is negative)."""
    have = read_struct(t, alen_ptr, "int")[0]
    n = min(have, len(raw))
    if n >= 0:
        write_struct(t, alen_ptr, "int", len(raw))
    if n < 0:
        raise KernelError(E.EINVAL)
    if n:
        t.mm.write(addr, raw[:n])


def _host_name(host, which):
    """getsockname or getpeername of the host socket."""
    buf = ctypes.create_string_buffer(SOCKADDR_MAX)
    n = ctypes.c_uint32(SOCKADDR_MAX)
    call(which, host, buf, ctypes.byref(n))
    return buf.raw[:min(n.value, SOCKADDR_MAX)]


def _guest_view(raw, host):
    """What the guest sees of an address the host gives: the name it bound,
    where the host has the translated one."""
    if len(raw) > 2 and struct.unpack_from("<H", raw)[0] == AF_UNIX \
            and raw[2:].startswith(b"/proc/self/fd/"):
        return _BOUND.get(_key(host), struct.pack("<H", AF_UNIX))
    return raw
