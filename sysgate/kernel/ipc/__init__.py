"""System V IPC: message queues (msg), semaphore sets (sem), shared memory
segments (shm), and i386's ipc() multiplexer (mux).

Each guest process is a host process, and the objects must be shared
between them: every call is the host kernel's own, made on the guest's
behalf, so keys, ids, permissions, limits, SEM_UNDO at exit and the errnos
are Linux's. What the kernel model adds: the structures cross between the
guest's layout and the host's (layout), sizes are checked before anything
is allocated, blocking calls end on a guest signal, and a segment attached
by the host in sysgate's address space is what the guest's CPU maps at the
guest's address (shm). Confined guests (--root) get an IPC namespace of
their own (namespace); where none can be made they get ENOSYS, as from a
kernel built without CONFIG_SYSVIPC, never the host's objects.
"""
import ctypes

from ..errors import KernelError, E
from ..hostlibc import libc
from ..sched import host_call
from ..tables.unistd import NR_X86_64

IPC_NOWAIT = 0o4000
IPC_64 = 0x100
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0, 1, 2, 3

# Whether the guest may reach the host's SysV IPC (namespace.setup decides).
_state = {"available": True}


def set_available(flag):
    _state["available"] = flag


def check_available():
    if not _state["available"]:
        raise KernelError(E.ENOSYS)


def _arg(a):
    return ctypes.c_long(a) if isinstance(a, int) else a


def host(name, *args):
    """The host's system call name (x86-64) for the guest; its errno as a
    KernelError."""
    r = libc.syscall(ctypes.c_long(NR_X86_64[name]), *map(_arg, args))
    if r < 0:
        raise KernelError(ctypes.get_errno())
    return r


def host_blocking(t, restart, name, *args, retry=None):
    """host(name, *args) for a call that may sleep: a guest signal ends the
    wait with restart; retry, when given, makes the arguments afresh for
    each attempt (a timeout's remaining time)."""
    nr = ctypes.c_long(NR_X86_64[name])

    def call():
        return libc.syscall(nr, *map(_arg, retry() if retry else args))
    try:
        return host_call(t, call, restart=restart)
    except OSError as e:
        raise KernelError(e.errno) from None


def info(kind):
    """The host's IPC_INFO struct of kind ("msg": msginfo, "sem": seminfo)
    as a tuple of ints: the limits a call is checked against."""
    buf = ctypes.create_string_buffer(40)
    if kind == "msg":
        host("msgctl", 0, IPC_INFO, buf)
        return tuple(ctypes.cast(buf, ctypes.POINTER(ctypes.c_int * 8)).contents)
    host("semctl", 0, 0, IPC_INFO, buf)
    return tuple(ctypes.cast(buf, ctypes.POINTER(ctypes.c_int * 10)).contents)
