"""What every socket call shares: the host socket behind a guest
descriptor, blocking and its waits, the errors a batch leaves, and the
sizes a guest may pass."""
import ctypes
import fcntl
import os
import stat
from pathlib import Path

from ...abi.consts import FIONREAD, O_NONBLOCK, SO_SNDBUF, SO_TYPE, SOL_SOCKET
from .. import sched
from ..errors import KernelError, E
from ..hostlibc import libc

# include/linux/socket.h and net.h are not uapi: these are Linux's values.
AF_UNIX, AF_INET = 1, 2
SOCK_STREAM = 1
SOCK_NONBLOCK, SOCK_CLOEXEC = 0o4000, 0o2000000
MSG_DONTWAIT, MSG_NOSIGNAL, MSG_ERRQUEUE = 0x40, 0x4000, 0x2000
SOCKADDR_MAX = 128
MAX_MSG = 1 << 20           # bytes moved through sysgate per send or receive call

# Names the guest bound, by socket inode: getsockname gives them back as
# the guest wrote them (the host saw a translated one).
_BOUND = {}
# Errors a recvmmsg batch ended on after receiving something, by socket
# inode: Linux leaves them in sk_err, for the next receive (or SO_ERROR).
_SOCK_ERR = {}


def _key(host):
    st = os.fstat(host)
    return st.st_dev, st.st_ino


def sock(f):
    """The host fd of the socket open file f is: ENOTSOCK if it is none."""
    if not stat.S_ISSOCK(os.fstat(f.host).st_mode):
        raise KernelError(E.ENOTSOCK)
    return f.host


def socket_fd(t, fd):
    """The host fd of a guest socket: EBADF, or ENOTSOCK."""
    return sock(t.files.get(fd))


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
        return int(Path("/proc/sys/net/core/optmem_max").read_text())
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
    libc.getsockopt(host, SOL_SOCKET, SO_SNDBUF, ctypes.byref(v), ctypes.byref(n))
    return min(length, max(MAX_MSG, 2 * v.value + PAGE))


def _install(t, host, flags):
    """A guest fd for a new host socket (made close-on-exec on the host, and
    non-blocking there if the guest asked): its close-on-exec is the guest's."""
    return t.files.install(host, cloexec=bool(flags & SOCK_CLOEXEC))
