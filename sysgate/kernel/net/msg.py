"""Sending and receiving: send, sendto, recv, recvfrom, sendmsg, recvmsg,
sendmmsg, recvmmsg."""
import ctypes

from ...abi.consts import UIO_MAXIOV
from ...abi.structs import layout, read_iovecs, read_struct, write_field
from .. import sched
from ..errors import KernelError, E
from ..hostbuf import gather, room, scatter
from ..hostlibc import libc
from ..registry import syscall
from .addr import _give_addr, _guest_view, _read_addr, _to_host
from .base import (_SOCK_ERR, INT_MAX, MAX_MSG, MSG_DONTWAIT, MSG_ERRQUEUE, PAGE, SOCKADDR_MAX,
                   _host, _key, _pending_error, _send_cap, _wait, sock)
from .cmsg import (MSG_CMSG_CLOEXEC, MSG_CTRUNC, _control_in, control_to_guest,
                   control_to_host)

MAX_RW_COUNT = INT_MAX & ~(PAGE - 1)
CMSG_HOST_MAX = 1 << 16     # room for every control message a receive can carry


@syscall("sendto", "file buf size flags ptr int")
@syscall("send", "file buf size flags", addr=0, alen=0)
def sys_sendto(t, f, buf, length, flags, addr, alen):
    host = sock(f)
    length = _send_cap(host, min(length, MAX_RW_COUNT))
    raw = _read_addr(t, addr, alen) if addr else b""
    with _to_host(t, raw, creating=False) as ha, gather(t, [(buf, length)], length) as data:
        _wait(t, host, True, flags)
        return _host(t, host, flags, libc.sendto, host, ctypes.c_void_p(data.addr),
                     ctypes.c_size_t(length), flags, ha.buf, len(ha.raw))


@syscall("recvfrom", "file obuf size flags ptr ptr")
@syscall("recv", "file obuf size flags", addr=0, alen_ptr=0)
def sys_recvfrom(t, f, buf, length, flags, addr, alen_ptr):
    host = sock(f)
    if _SOCK_ERR:
        _pending_error(host, flags)
    _wait(t, host, False, flags)
    length = min(length, MAX_MSG)
    sa = ctypes.create_string_buffer(SOCKADDR_MAX)
    n = ctypes.c_uint32(SOCKADDR_MAX)
    with room(t, [(buf, length)], length) as out:
        r = _host(t, host, flags, libc.recvfrom, host, ctypes.c_void_p(out.addr),
                  ctypes.c_size_t(length), flags, sa, ctypes.byref(n))
        if r:
            t.mm.write(buf, out.get(min(r, length)))
    if addr:
        _give_addr(t, sa.raw[:min(n.value, SOCKADDR_MAX)], addr, alen_ptr)
    return r


# --- sendmsg and recvmsg ------------------------------------------------------------
class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    """The host's own msghdr, handed to libc."""
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(_Iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


def _msghdr(t, ptr):
    """[name, namelen, iov, iovlen, control, controllen, flags] of a guest
    msghdr."""
    f = list(read_struct(t, ptr, "msghdr"))
    # namelen is an int: negative is EINVAL, more than a sockaddr_storage is
    # cut to one (__copy_msghdr).
    if not f[0]:
        f[1] = 0
    elif f[1] >> 31:
        raise KernelError(E.EINVAL)
    f[1] = min(f[1], SOCKADDR_MAX)
    return f


def _iovecs(t, iov, n):
    """The message's iovecs, their total cut to MAX_RW_COUNT as
    import_iovec cuts it."""
    room, cut = MAX_RW_COUNT, []
    for base, length in read_iovecs(t, iov, n, UIO_MAXIOV, E.EMSGSIZE):
        length = min(length, room)
        room -= length
        cut.append((base, length))
    return cut


def _sendmsg(t, host, msg, flags):
    name, namelen, iov, iovlen, control, controllen, _ = _msghdr(t, msg)
    raw = _read_addr(t, name, namelen) if name else b""
    vecs = _iovecs(t, iov, iovlen)
    cmsgs = _control_in(t, control, controllen) if controllen else ()
    total = _send_cap(host, sum(length for _, length in vecs))
    ctl = control_to_host(t, cmsgs)
    with _to_host(t, raw, creating=False) as ha, gather(t, vecs, total) as data:
        _wait(t, host, True, flags)
        vec = _Iovec(data.addr, total)
        cbuf = ctypes.create_string_buffer(ctl, max(len(ctl), 1))
        m = _Msghdr(ctypes.cast(ha.buf, ctypes.c_void_p) if ha.buf else None, len(ha.raw),
                    ctypes.pointer(vec), 1, ctypes.cast(cbuf, ctypes.c_void_p) if ctl else None,
                    len(ctl), 0)
        return _host(t, host, flags, libc.sendmsg, host, ctypes.byref(m), flags)


def _recvmsg(t, host, msg, flags):
    name, namelen, iov, iovlen, control, controllen, _ = _msghdr(t, msg)
    vecs = _iovecs(t, iov, iovlen)
    total = min(sum(length for _, length in vecs), MAX_MSG)
    if _SOCK_ERR:
        _pending_error(host, flags)
    _wait(t, host, False, flags)
    sa = ctypes.create_string_buffer(SOCKADDR_MAX)
    # Room for what fits the guest's buffer once its headers are the host's.
    cbuf = ctypes.create_string_buffer(min(2 * controllen + 64, CMSG_HOST_MAX))
    with room(t, vecs, total) as buf:
        vec = _Iovec(buf.addr, total)
        m = _Msghdr(ctypes.cast(sa, ctypes.c_void_p), SOCKADDR_MAX, ctypes.pointer(vec), 1,
                    ctypes.cast(cbuf, ctypes.c_void_p), len(cbuf) if controllen else 0, 0)
        r = _host(t, host, flags, libc.recvmsg, host, ctypes.byref(m),
                  (flags & ~MSG_CMSG_CLOEXEC) | MSG_CMSG_CLOEXEC)
        scatter(t, vecs, buf.get(min(r, total)))
    # The host was always asked for MSG_CMSG_CLOEXEC; msg_flags carries it
    # back only when the guest asked (___sys_recvmsg).
    out_flags = (m.flags & ~MSG_CMSG_CLOEXEC) | (flags & MSG_CMSG_CLOEXEC)
    ctl, truncated = control_to_guest(t, cbuf.raw[:m.controllen], controllen, flags)
    if truncated:
        out_flags |= MSG_CTRUNC
    if ctl:
        t.mm.write(control, ctl)
    write_field(t, msg, "msghdr", "controllen", "Q" if t.is64 else "I", len(ctl))
    if name:
        got = _guest_view(sa.raw[:min(m.namelen, SOCKADDR_MAX)], host)
        t.mm.write(name, got[:namelen])
        write_field(t, msg, "msghdr", "namelen", "I", len(got))
    else:
        write_field(t, msg, "msghdr", "namelen", "I", 0)
    write_field(t, msg, "msghdr", "flags", "i", out_flags)
    return r


@syscall("sendmsg", "file ptr flags")
def sys_sendmsg(t, f, msg, flags):
    return _sendmsg(t, sock(f), msg, flags)


@syscall("recvmsg", "file ptr flags")
def sys_recvmsg(t, f, msg, flags):
    return _recvmsg(t, sock(f), msg, flags)


# --- sendmmsg and recvmmsg ----------------------------------------------------------
MSG_WAITFORONE = 0x10000


def _multi(t, vec, vlen, one, deadline=None, keep=None):
    """sendmmsg/recvmmsg: one message at a time, each one's length into its
    msg_len; an error after the first ends the batch with the count so far
    (keep: the socket whose next receive gets that error, as do_recvmmsg
    leaves it in sk_err)."""
    vlen = min(vlen, UIO_MAXIOV)
    size, done = layout(t, "mmsghdr").size, 0
    for i in range(vlen):
        try:
            n = one(vec + i * size, i)
            write_field(t, vec + i * size, "mmsghdr", "len", "I", n)
        except KernelError as e:
            if not done:
                raise
            if keep is not None and e.errno != E.EAGAIN:
                _SOCK_ERR[_key(keep)] = e.errno
            break
        done += 1
        if deadline is not None and sched.now_ns() >= deadline:
            break
    return done


@syscall("sendmmsg", "file ptr uint flags")
def sys_sendmmsg(t, f, vec, vlen, flags):
    host = sock(f)                       # EBADF, ENOTSOCK even for no message
    return _multi(t, vec, vlen, lambda msg, i: _sendmsg(t, host, msg, flags))


@syscall("recvmmsg", "file ptr uint flags ptr", wide=False)
@syscall("recvmmsg_time64", "file ptr uint flags ptr", wide=True)
def sys_recvmmsg(t, f, vec, vlen, flags, ts, wide):
    from ..time import get_timespec
    host = sock(f)
    if _SOCK_ERR and not flags & MSG_ERRQUEUE:
        err = _SOCK_ERR.pop(_key(host), 0)
        if err:
            raise KernelError(err)
    deadline = None if not ts else sched.now_ns() + get_timespec(t, ts, wide)

    def one(msg, i):
        # MSG_WAITFORONE: only the first receive may wait.
        more = MSG_DONTWAIT if i and flags & MSG_WAITFORONE else 0
        return _recvmsg(t, host, msg, (flags & ~MSG_WAITFORONE) | more)
    return _multi(t, vec, vlen, one, deadline, keep=host)
