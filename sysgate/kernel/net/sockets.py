"""Making, naming and connecting sockets: socket, socketpair, bind,
connect, listen, accept, getsockname, getpeername, shutdown."""
import ctypes
import os
import struct

from ...abi.structs import write_struct
from ..errors import KernelError, E
from ..hostlibc import call, libc
from ..registry import syscall
from .addr import _give_addr, _guest_view, _host_name, _read_addr, _to_host, _unix_path
from .base import (_BOUND, AF_UNIX, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCKADDR_MAX, _host,
                   _install, _key, _wait, sock, socket_fd)


@syscall("socket", "int int int")
def sys_socket(t, domain, kind, proto):
    host = call("socket", domain, kind | SOCK_CLOEXEC, proto)
    return _install(t, host, kind)


@syscall("socketpair", "int int int ptr")
def sys_socketpair(t, domain, kind, proto, sv):
    pair = (ctypes.c_int * 2)()
    call("socketpair", domain, kind | SOCK_CLOEXEC, proto, pair)
    try:
        write_struct(t, sv, "int2", 0, 0)     # EFAULT before any fd is installed
    except KernelError:
        os.close(pair[0])
        os.close(pair[1])
        raise
    a = _install(t, pair[0], kind)
    b = _install(t, pair[1], kind)
    write_struct(t, sv, "int2", a, b)
    return 0


def _addressed(t, f, addr, alen):
    """(the host socket, the address the guest gives it)."""
    return sock(f), _read_addr(t, addr, alen)


@syscall("bind", "file ptr int")
def sys_bind(t, f, addr, alen):
    host, raw = _addressed(t, f, addr, alen)
    with _to_host(t, raw, creating=True) as ha:
        call("bind", host, ha.buf, len(ha.raw))
    path = _unix_path(raw)
    if path is not None:
        _BOUND[_key(host)] = struct.pack("<H", AF_UNIX) + path + b"\0"
    return 0


@syscall("connect", "file ptr int")
def sys_connect(t, f, addr, alen):
    host, raw = _addressed(t, f, addr, alen)
    with _to_host(t, raw, creating=False) as ha:
        # A blocking connect waits in the host, where a signal ends it (a
        # Unix listener's full backlog waits too, as on Linux).
        _host(t, host, 0, libc.connect, host, ha.buf, len(ha.raw))
        return 0


@syscall("listen", "file int")
def sys_listen(t, f, backlog):
    host = sock(f)
    return call("listen", host, backlog)


# The flags are judged before the descriptor (EINVAL before EBADF).
@syscall("accept4", "fd ptr ptr flags")
@syscall("accept", "fd ptr ptr", flags=0)
def sys_accept4(t, fd, addr, alen_ptr, flags):
    if flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC):
        raise KernelError(E.EINVAL)
    host = socket_fd(t, fd)
    _wait(t, host, False)
    buf = ctypes.create_string_buffer(SOCKADDR_MAX)
    n = ctypes.c_uint32(SOCKADDR_MAX)
    new = _host(t, host, 0, libc.accept4, host, buf, ctypes.byref(n),
                (flags & SOCK_NONBLOCK) | SOCK_CLOEXEC)
    try:
        if addr:
            _give_addr(t, buf.raw[:min(n.value, SOCKADDR_MAX)], addr, alen_ptr)
    except KernelError:
        os.close(new)
        raise
    return _install(t, new, flags)


@syscall("getsockname", "file ptr ptr")
def sys_getsockname(t, f, addr, alen):
    host = sock(f)
    _give_addr(t, _guest_view(_host_name(host, "getsockname"), host), addr, alen)
    return 0


@syscall("getpeername", "file ptr ptr")
def sys_getpeername(t, f, addr, alen):
    host = sock(f)
    _give_addr(t, _host_name(host, "getpeername"), addr, alen)
    return 0


@syscall("shutdown", "file int")
def sys_shutdown(t, f, how):
    host = sock(f)
    return call("shutdown", host, how)
