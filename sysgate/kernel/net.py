"""Sockets: each guest socket is a host socket, so Unix-domain peers and the
network are the host's own.

What the kernel model adds: Unix-domain socket *names* are file names, and
resolve inside the guest's root as every path does (bind creates the name
in the directory the guest's path leads to; connect and sendto reach the
socket file that path names, through its descriptor, never by a host path
a symlink could redirect). The name a guest bound is what getsockname
gives back. Blocking calls wait where signals and timers can interrupt
them (-ERESTARTSYS). i386 reaches all of it through socketcall too.
"""
import ctypes
import fcntl
import os
import stat
import struct

from . import sched
from .errors import KernelError, E
from .fs.lookup import open_at, parent_at
from .hostbuf import Fenced, gather, room, scatter
from .hostlibc import call, libc
from .mm import PROT_READ, PROT_WRITE
from .registry import syscall

AF_UNIX, AF_INET = 1, 2
SOCK_NONBLOCK, SOCK_CLOEXEC = 0o4000, 0o2000000
MSG_DONTWAIT, MSG_NOSIGNAL = 0x40, 0x4000
O_PATH, O_NONBLOCK = 0o10000000, 0o4000
AT_FDCWD = -100
SUN_PATH = 108
SOL_SOCKET, SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD = 1, 20, 21
SOCKADDR_MAX = 128
MAX_MSG = 1 << 20           # bytes moved through sysgate per send or receive call

# Names the guest bound, by socket inode: getsockname gives them back as
# the guest wrote them (the host saw a translated one).
_BOUND = {}
# Errors a recvmmsg batch ended on after receiving something, by socket
# inode: Linux leaves them in sk_err, for the next receive (or SO_ERROR).
_SOCK_ERR = {}
MSG_ERRQUEUE, SO_ERROR, SO_TYPE, SOCK_STREAM, FIONREAD = 0x2000, 4, 3, 1, 0x541B


def _key(host):
    st = os.fstat(host)
    return st.st_dev, st.st_ino


def _socket_fd(t, fd):
    """The host fd of a guest socket: EBADF, or ENOTSOCK."""
    host = t.files.host(fd)
    if not stat.S_ISSOCK(os.fstat(host).st_mode):
        raise KernelError(E.ENOTSOCK)
    return host


def _blocking(host, flags=0):
    return not flags & MSG_DONTWAIT and not fcntl.fcntl(host, fcntl.F_GETFL) & O_NONBLOCK


def _pending_error(host, flags):
    """sock_error for a receive: a kept error is the answer when a datagram
    socket is asked, or a stream socket has nothing queued."""
    key = _key(host)
    if key not in _SOCK_ERR or flags & MSG_ERRQUEUE:
        return
    kind, n, queued = ctypes.c_int(0), ctypes.c_uint32(4), ctypes.c_int(0)
    libc.getsockopt(host, SOL_SOCKET, SO_TYPE, ctypes.byref(kind), ctypes.byref(n))
    if kind.value == SOCK_STREAM:
        libc.ioctl(host, FIONREAD, ctypes.byref(queued))
        if queued.value:
            return
    raise KernelError(_SOCK_ERR.pop(key))


def _host(t, host, flags, fn, *args):
    """fn(*args), a socket call of libc's: on a blocking socket through
    sched.host_call, so a signal ends it even if it blocks in the host (the
    peer's buffer full, another process took the data the wait saw); its
    -1 becomes the errno as a KernelError."""
    if _blocking(host, flags):
        try:
            return sched.host_call(t, fn, *args)
        except OSError as e:
            raise KernelError(e.errno, quiet=bool(flags & MSG_NOSIGNAL)) from None
    r = fn(*args)
    if r < 0:
        raise KernelError(ctypes.get_errno(), quiet=bool(flags & MSG_NOSIGNAL))
    return r


def _wait(t, host, write, flags=0):
    """Wait until the socket is ready where a signal can end the wait; a
    non-blocking socket (or MSG_DONTWAIT) does not wait."""
    if _blocking(host, flags):
        sched.wait_fd(t, host, write)


# --- sizes -------------------------------------------------------------------------
# Every length a guest passes is checked before sysgate allocates: Linux
# copies straight between user memory and the socket, so its answers depend
# on what the host can take, never on the guest's number alone.
INT_MAX = 0x7FFFFFFF
PAGE = 4096
SOCKOPT_MAX = 1 << 20        # no option reads or writes more (netfilter tables aside)


def _optmem_max():
    """The host's bound on a socket's control-message memory (sock_kmalloc)."""
    try:
        with open("/proc/sys/net/core/optmem_max") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 131072


OPTMEM_MAX = _optmem_max()


def _send_cap(host, length):
    """How many bytes of a send are worth reading: a datagram longer than
    the send buffer is refused by the host whatever its size (EMSGSIZE), and
    a stream takes part of a long one, as a signal can make it on Linux."""
    if length <= MAX_MSG:
        return length
    v, n = ctypes.c_int(0), ctypes.c_uint32(4)
    libc.getsockopt(host, SOL_SOCKET, 7, ctypes.byref(v), ctypes.byref(n))     # SO_SNDBUF
    return min(length, max(MAX_MSG, 2 * v.value + PAGE))


# --- addresses -----------------------------------------------------------------
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
    have = struct.unpack("<i", t.mm.read(alen_ptr, 4))[0]
    n = min(have, len(raw))
    if n >= 0:
        t.mm.write(alen_ptr, struct.pack("<i", len(raw)))
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


# --- the calls -----------------------------------------------------------------
def _install(t, host, flags):
    """A guest fd for a new host socket (made close-on-exec on the host, and
    non-blocking there if the guest asked): its close-on-exec is the guest's."""
    return t.files.install(host, cloexec=bool(flags & SOCK_CLOEXEC))


@syscall("socket", "int int int")
def sys_socket(t, domain, kind, proto):
    host = call("socket", domain, kind | SOCK_CLOEXEC, proto)
    return _install(t, host, kind)


@syscall("socketpair", "int int int ptr")
def sys_socketpair(t, domain, kind, proto, sv):
    pair = (ctypes.c_int * 2)()
    call("socketpair", domain, kind | SOCK_CLOEXEC, proto, pair)
    try:
        t.mm.write(sv, b"\0" * 8)            # EFAULT before any fd is installed
    except KernelError:
        os.close(pair[0])
        os.close(pair[1])
        raise
    a = _install(t, pair[0], kind)
    b = _install(t, pair[1], kind)
    t.mm.write(sv, struct.pack("<ii", a, b))
    return 0


@syscall("bind", "fd ptr int")
def sys_bind(t, fd, addr, alen):
    host = _socket_fd(t, fd)
    raw = _read_addr(t, addr, alen)
    with _to_host(t, raw, creating=True) as ha:
        call("bind", host, ha.buf, len(ha.raw))
    path = _unix_path(raw)
    if path is not None:
        _BOUND[_key(host)] = struct.pack("<H", AF_UNIX) + path + b"\0"
    return 0


@syscall("connect", "fd ptr int")
def sys_connect(t, fd, addr, alen):
    host = _socket_fd(t, fd)
    raw = _read_addr(t, addr, alen)
    with _to_host(t, raw, creating=False) as ha:
        # A blocking connect waits in the host, where a signal ends it (a
        # Unix listener's full backlog waits too, as on Linux).
        _host(t, host, 0, libc.connect, host, ha.buf, len(ha.raw))
        return 0


@syscall("listen", "fd int")
def sys_listen(t, fd, backlog):
    host = _socket_fd(t, fd)
    return call("listen", host, backlog)


def _accept(t, fd, addr, alen_ptr, flags):
    if flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC):
        raise KernelError(E.EINVAL)
    host = _socket_fd(t, fd)
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


@syscall("accept", "fd ptr ptr")
def sys_accept(t, fd, addr, alen):
    return _accept(t, fd, addr, alen, 0)


@syscall("accept4", "fd ptr ptr flags")
def sys_accept4(t, fd, addr, alen, flags):
    return _accept(t, fd, addr, alen, flags)


@syscall("getsockname", "fd ptr ptr")
def sys_getsockname(t, fd, addr, alen):
    host = _socket_fd(t, fd)
    _give_addr(t, _guest_view(_host_name(host, "getsockname"), host), addr, alen)
    return 0


@syscall("getpeername", "fd ptr ptr")
def sys_getpeername(t, fd, addr, alen):
    host = _socket_fd(t, fd)
    _give_addr(t, _host_name(host, "getpeername"), addr, alen)
    return 0


@syscall("shutdown", "fd int")
def sys_shutdown(t, fd, how):
    host = _socket_fd(t, fd)
    return call("shutdown", host, how)


def _sendto(t, fd, buf, length, flags, addr, alen):
    host = _socket_fd(t, fd)
    length = _send_cap(host, min(length, MAX_RW_COUNT))
    raw = _read_addr(t, addr, alen) if addr else b""
    with _to_host(t, raw, creating=False) as ha, gather(t, [(buf, length)], length) as data:
        _wait(t, host, True, flags)
        return _host(t, host, flags, libc.sendto, host, ctypes.c_void_p(data.addr),
                     ctypes.c_size_t(length), flags, ha.buf, len(ha.raw))


@syscall("sendto", "fd buf size flags ptr int")
def sys_sendto(t, fd, buf, length, flags, addr, alen):
    return _sendto(t, fd, buf, length, flags, addr, alen)


@syscall("send", "fd buf size flags")
def sys_send(t, fd, buf, length, flags):
    return _sendto(t, fd, buf, length, flags, 0, 0)


def _recvfrom(t, fd, buf, length, flags, addr, alen_ptr):
    host = _socket_fd(t, fd)
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


@syscall("recvfrom", "fd obuf size flags ptr ptr")
def sys_recvfrom(t, fd, buf, length, flags, addr, alen):
    return _recvfrom(t, fd, buf, length, flags, addr, alen)


@syscall("recv", "fd obuf size flags")
def sys_recv(t, fd, buf, length, flags):
    return _recvfrom(t, fd, buf, length, flags, 0, 0)


# --- sendmsg and recvmsg ------------------------------------------------------------
SCM_RIGHTS, MSG_CTRUNC, MSG_CMSG_CLOEXEC = 1, 0x8, 0x40000000
UIO_MAXIOV = 1024
MAX_RW_COUNT = INT_MAX & ~(PAGE - 1)
CMSG_HOST_MAX = 1 << 16     # room for every control message a receive can carry


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.POINTER(_Iovec)), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


def _msghdr(t, ptr):
    """(name, namelen, iov, iovlen, control, controllen, flags) of a guest
    msghdr, and where its fields sit (for the ones recvmsg writes back)."""
    if t.is64:
        raw = t.mm.read(ptr, 56)
        f = list(struct.unpack("<QI4xQQQQi4x", raw))
        where = {"namelen": 8, "controllen": 40, "flags": 48}
    else:
        f = list(struct.unpack("<IIIIIIi", t.mm.read(ptr, 28)))
        where = {"namelen": 4, "controllen": 20, "flags": 24}
    # namelen is an int: negative is EINVAL, more than a sockaddr_storage is
    # cut to one (__copy_msghdr).
    if not f[0]:
        f[1] = 0
    elif f[1] >> 31:
        raise KernelError(E.EINVAL)
    f[1] = min(f[1], SOCKADDR_MAX)
    return f, where


def _iovecs(t, iov, n):
    if n > UIO_MAXIOV:
        raise KernelError(E.EMSGSIZE)
    fmt = "<QQ" if t.is64 else "<II"
    size = struct.calcsize(fmt)
    raw = t.mm.read(iov, n * size) if n else b""
    out = [struct.unpack_from(fmt, raw, i * size) for i in range(n)]
    # A length negative as the ABI's ssize_t is EINVAL; the total is cut
    # to MAX_RW_COUNT, as import_iovec cuts it.
    sign = 63 if t.is64 else 31
    if any(length >> sign for _, length in out):
        raise KernelError(E.EINVAL)
    room, cut = MAX_RW_COUNT, []
    for base, length in out:
        length = min(length, room)
        room -= length
        cut.append((base, length))
    return cut


def _cmsgs(raw, word, strict=False):
    """[(level, type, data)] of a control buffer whose headers and
    alignment are the ABI's (word: 8 on x86-64, 4 for i386). strict: a
    header whose length does not fit is EINVAL (CMSG_OK), as for a send."""
    hdr = struct.Struct("<Qii" if word == 8 else "<Iii")
    out, at = [], 0
    while at + hdr.size <= len(raw):
        length, level, kind = hdr.unpack_from(raw, at)
        if length < hdr.size or at + length > len(raw):
            if strict:
                raise KernelError(E.EINVAL)
            break
        out.append((level, kind, raw[at + hdr.size:at + length]))
        at += (length + word - 1) & ~(word - 1)
    return out


def _pack_cmsg(level, kind, data, word):
    hdr = struct.Struct("<Qii" if word == 8 else "<Iii")
    body = hdr.pack(hdr.size + len(data), level, kind) + data
    return body + b"\0" * (-len(body) % word)


def _control_in(t, control, controllen):
    """The guest's control buffer for a send, read only once its size is
    one the host would take (____sys_sendmsg: ENOBUFS past INT_MAX or what
    sock_kmalloc gives; i386's headers are walked first, as
    cmsghdr_from_user_compat_to_kern walks them: EINVAL for a bad one or
    none at all)."""
    if controllen > INT_MAX:
        raise KernelError(E.ENOBUFS)
    if t.is64:
        if controllen >= OPTMEM_MAX:                 # sock_kmalloc's bound
            raise KernelError(E.ENOBUFS)
        return _cmsgs(t.mm.read(control, controllen), 8, strict=True)
    at = kcmlen = 0
    while control and controllen - at >= 12:      # a NULL buffer has no first header
        ucmlen = struct.unpack("<I", t.mm.read(control + at, 4))[0]
        if not 12 <= ucmlen <= controllen - at:
            raise KernelError(E.EINVAL)
        kcmlen += (ucmlen - 12 + 16 + 7) & ~7
        if kcmlen >= OPTMEM_MAX:
            raise KernelError(E.ENOBUFS)
        at += (ucmlen + 3) & ~3
    if not kcmlen:
        raise KernelError(E.EINVAL)
    return _cmsgs(t.mm.read(control, min(at, controllen)), 4)


def _sendmsg(t, fd, msg, flags):
    host = _socket_fd(t, fd)
    (name, namelen, iov, iovlen, control, controllen, _), _ = _msghdr(t, msg)
    raw = _read_addr(t, name, namelen) if name else b""
    vecs = _iovecs(t, iov, iovlen)
    cmsgs = _control_in(t, control, controllen) if controllen else ()
    total = _send_cap(host, sum(length for _, length in vecs))
    ctl = b""
    if cmsgs:
        for level, kind, body in cmsgs:
            if level == SOL_SOCKET and kind == SCM_RIGHTS:
                fds = struct.unpack(f"<{len(body) // 4}i", body[:len(body) // 4 * 4])
                hosts = []
                for gfd in fds:
                    f = t.files.fds.get(gfd)
                    if f is None:
                        raise KernelError(E.EBADF)
                    hosts.append(f.host)
                body = struct.pack(f"<{len(hosts)}i", *hosts)
            ctl += _pack_cmsg(level, kind, body, 8)
    with _to_host(t, raw, creating=False) as ha, gather(t, vecs, total) as data:
        _wait(t, host, True, flags)
        vec = _Iovec(data.addr, total)
        cbuf = ctypes.create_string_buffer(ctl, max(len(ctl), 1))
        m = _Msghdr(ctypes.cast(ha.buf, ctypes.c_void_p) if ha.buf else None, len(ha.raw),
                    ctypes.pointer(vec), 1, ctypes.cast(cbuf, ctypes.c_void_p) if ctl else None,
                    len(ctl), 0)
        return _host(t, host, flags, libc.sendmsg, host, ctypes.byref(m), flags)


def _max_fds(controllen, word):
    """scm_max_fds: how many descriptors the rest of the buffer holds, as
    the int Linux makes of it (so 2^62 bytes hold none: MSG_CTRUNC)."""
    hdr = 16 if word == 8 else 12
    if controllen <= hdr:
        return 0
    n = ((controllen - hdr) // 4) & 0xFFFFFFFF
    return n - (1 << 32) if n >> 31 else n


def _recvmsg(t, fd, msg, flags):
    host = _socket_fd(t, fd)
    (name, namelen, iov, iovlen, control, controllen, _), where = _msghdr(t, msg)
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
    ctl = b""
    for level, kind, body in _cmsgs(cbuf.raw[:m.controllen], 8):
        if level == SOL_SOCKET and kind == SCM_RIGHTS:
            hosts = list(struct.unpack(f"<{len(body) // 4}i", body[:len(body) // 4 * 4]))
            fit = max(0, min(len(hosts), _max_fds(controllen - len(ctl), t.word)))
            if fit < len(hosts):
                out_flags |= MSG_CTRUNC
                for h in hosts[fit:]:
                    os.close(h)
            if not fit:
                continue
            gfds = [t.files.install(h, cloexec=bool(flags & MSG_CMSG_CLOEXEC),
                                    foreign=t.fs.is_foreign(h)) for h in hosts[:fit]]
            body = struct.pack(f"<{fit}i", *gfds)
        piece = _pack_cmsg(level, kind, body, t.word)
        if len(ctl) + len(piece) > controllen:
            out_flags |= MSG_CTRUNC
            continue
        ctl += piece
    if ctl:
        t.mm.write(control, ctl)
    word = "<Q" if t.is64 else "<I"
    t.mm.write(msg + where["controllen"], struct.pack(word, len(ctl)))
    if name:
        got = _guest_view(sa.raw[:min(m.namelen, SOCKADDR_MAX)], host)
        t.mm.write(name, got[:namelen])
        t.mm.write(msg + where["namelen"], struct.pack("<I", len(got)))
    else:
        t.mm.write(msg + where["namelen"], struct.pack("<I", 0))
    t.mm.write(msg + where["flags"], struct.pack("<i", out_flags))
    return r


@syscall("sendmsg", "fd ptr flags")
def sys_sendmsg(t, fd, msg, flags):
    return _sendmsg(t, fd, msg, flags)


@syscall("recvmsg", "fd ptr flags")
def sys_recvmsg(t, fd, msg, flags):
    return _recvmsg(t, fd, msg, flags)


MSG_WAITFORONE = 0x10000


def _mmsg_size(t):
    return 64 if t.is64 else 32          # msghdr, then unsigned msg_len (padded)


def _multi(t, fd, vec, vlen, one, deadline=None, keep=None):
    """sendmmsg/recvmmsg: one message at a time, each one's length into its
    msg_len; an error after the first ends the batch with the count so far
    (keep: the socket whose next receive gets that error, as do_recvmmsg
    leaves it in sk_err)."""
    vlen = min(vlen, UIO_MAXIOV)
    size, done = _mmsg_size(t), 0
    for i in range(vlen):
        try:
            n = one(vec + i * size, i)
            t.mm.write(vec + i * size + (56 if t.is64 else 28), struct.pack("<I", n))
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


@syscall("sendmmsg", "fd ptr uint flags")
def sys_sendmmsg(t, fd, vec, vlen, flags):
    _socket_fd(t, fd)                   # EBADF, ENOTSOCK even for no message
    return _multi(t, fd, vec, vlen, lambda msg, i: _sendmsg(t, fd, msg, flags))


def _recvmmsg(t, fd, vec, vlen, flags, ts, wide):
    from .time import get_timespec
    host = _socket_fd(t, fd)
    if _SOCK_ERR and not flags & MSG_ERRQUEUE:
        err = _SOCK_ERR.pop(_key(host), 0)
        if err:
            raise KernelError(err)
    deadline = None if not ts else sched.now_ns() + get_timespec(t, ts, wide)

    def one(msg, i):
        # MSG_WAITFORONE: only the first receive may wait.
        more = MSG_DONTWAIT if i and flags & MSG_WAITFORONE else 0
        return _recvmsg(t, fd, msg, (flags & ~MSG_WAITFORONE) | more)
    return _multi(t, fd, vec, vlen, one, deadline, keep=host)


@syscall("recvmmsg", "fd ptr uint flags ptr")
def sys_recvmmsg(t, fd, vec, vlen, flags, ts):
    return _recvmmsg(t, fd, vec, vlen, flags, ts, False)


@syscall("recvmmsg_time64", "fd ptr uint flags ptr")
def sys_recvmmsg_time64(t, fd, vec, vlen, flags, ts):
    return _recvmmsg(t, fd, vec, vlen, flags, ts, True)


def _timeval_compat(t, level, name, raw, to_host):
    """i386's struct timeval (two 32-bit longs) for SO_RCVTIMEO/SO_SNDTIMEO
    against the host's (two 64-bit ones)."""
    if t.is64 or level != SOL_SOCKET or name not in (SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD):
        return raw
    if to_host:
        return struct.pack("<qq", *struct.unpack("<ii", raw[:8])) if len(raw) >= 8 else raw
    return struct.pack("<ii", *struct.unpack("<qq", raw[:16])) if len(raw) >= 16 else raw


def _compat_timeval(t, level, name):
    return not t.is64 and level == SOL_SOCKET and name in (SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD)


@syscall("setsockopt", "fd int int ptr int")
def sys_setsockopt(t, fd, level, name, val, vlen):
    host = _socket_fd(t, fd)
    if vlen < 0:
        raise KernelError(E.EINVAL)
    if _compat_timeval(t, level, name):
        if vlen < 8:
            raise KernelError(E.EINVAL)
        raw = _timeval_compat(t, level, name, t.mm.read(val, 8), True)
        buf = ctypes.create_string_buffer(raw, len(raw))
        return call("setsockopt", host, level, name, buf, len(raw))
    # The host reads what the option needs of the guest's bytes and faults
    # where the guest's memory ends, so no more than that is copied.
    have = t.mm.extent(val, min(vlen, SOCKOPT_MAX), PROT_READ) if vlen else 0
    with Fenced(have) as f:
        f.put(t.mm.peek(val, have) if have else b"")
        return call("setsockopt", host, level, name, ctypes.c_void_p(f.addr), vlen)


@syscall("getsockopt", "fd int int ptr ptr")
def sys_getsockopt(t, fd, level, name, val, vlen_ptr):
    host = _socket_fd(t, fd)
    if _compat_timeval(t, level, name):
        have = struct.unpack("<i", t.mm.read(vlen_ptr, 4))[0]
        if have < 0:
            raise KernelError(E.EINVAL)
        buf = ctypes.create_string_buffer(32)
        n = ctypes.c_uint32(min(have * 2, 32))
        call("getsockopt", host, level, name, buf, ctypes.byref(n))
        raw = _timeval_compat(t, level, name, buf.raw[:n.value], False)[:have]
        if raw:
            t.mm.write(val, raw)
        t.mm.write(vlen_ptr, struct.pack("<i", len(raw)))
        return 0
    # The host reads and judges the length itself (after the level: an
    # option the socket lacks is EOPNOTSUPP before any EFAULT or EINVAL).
    if t.mm.extent(vlen_ptr, 4, PROT_READ) < 4:
        with Fenced(0) as nothing:
            return call("getsockopt", host, level, name, ctypes.c_void_p(nothing.addr),
                        ctypes.c_void_p(nothing.addr))
    have = struct.unpack("<i", t.mm.read(vlen_ptr, 4))[0]
    room = t.mm.extent(val, min(have, SOCKOPT_MAX), PROT_WRITE) if have > 0 else 0
    n = ctypes.c_int32(have)
    with Fenced(room) as f:
        call("getsockopt", host, level, name, ctypes.c_void_p(f.addr), ctypes.byref(n))
        raw = f.get(max(0, min(n.value, room)))
    if _SOCK_ERR and level == SOL_SOCKET and name == SO_ERROR and len(raw) == 4 \
            and not struct.unpack("<i", raw)[0]:
        raw = struct.pack("<i", _SOCK_ERR.pop(_key(host), 0))
    if raw:
        t.mm.write(val, raw)
    t.mm.write(vlen_ptr, struct.pack("<i", n.value))
    return 0


# --- i386's multiplexer ------------------------------------------------------------
# call number -> (handler, argument count)
_SOCKETCALL = {
    1: (sys_socket, 3), 2: (sys_bind, 3), 3: (sys_connect, 3), 4: (sys_listen, 2),
    5: (sys_accept, 3), 6: (sys_getsockname, 3), 7: (sys_getpeername, 3),
    8: (sys_socketpair, 4), 9: (sys_send, 4), 10: (sys_recv, 4), 11: (sys_sendto, 6),
    12: (sys_recvfrom, 6), 13: (sys_shutdown, 2), 14: (sys_setsockopt, 5),
    15: (sys_getsockopt, 5), 16: (sys_sendmsg, 3), 17: (sys_recvmsg, 3),
    18: (sys_accept4, 4), 19: (sys_recvmmsg, 5), 20: (sys_sendmmsg, 4),
}
# Which arguments are C ints (sign-extended), per call.
_INT_ARGS = {1: (0, 1, 2), 2: (0, 2), 3: (0, 2), 4: (0, 1), 5: (0,), 6: (0,), 7: (0,),
             8: (0, 1, 2), 9: (0,), 10: (0,), 11: (0, 5), 12: (0,), 13: (0, 1),
             14: (0, 1, 2, 4), 15: (0, 1, 2), 16: (0,), 17: (0,), 18: (0,), 19: (0,),
             20: (0,)}


@syscall("socketcall", "int ptr")
def sys_socketcall(t, number, args):
    if number not in _SOCKETCALL:
        raise KernelError(E.EINVAL)
    fn, n = _SOCKETCALL[number]
    vals = list(struct.unpack(f"<{n}I", t.mm.read(args, 4 * n)))
    for i in _INT_ARGS.get(number, ()):
        if vals[i] & 0x80000000:
            vals[i] -= 1 << 32
    return fn(t, *vals)
