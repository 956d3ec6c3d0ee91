"""The host's libc, for the host calls Python's os module does not offer
(openat2, futex, sockets by raw address, epoll, timerfd, mmap at a known
address, ...): one handle, with the result types its users need, and the
one way such a call's failure becomes the guest's errno."""
import ctypes

from .errors import KernelError

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.sendto.restype = ctypes.c_ssize_t
libc.recvfrom.restype = ctypes.c_ssize_t
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long)


def call(name, *args):
    """libc's name(*args); its errno raised as a KernelError on failure."""
    r = getattr(libc, name)(*args)
    if r < 0:
        raise KernelError(ctypes.get_errno())
    return r


def host_syscall(nr, *args):
    """syscall(2) of the host; its errno raised as a KernelError on failure."""
    return call("syscall", ctypes.c_long(nr), *args)


def syscall_errno(nr, *args):
    """syscall(2) of the host as (result, errno), for callers that act on
    the errno themselves (a futex wait's EAGAIN and ETIMEDOUT)."""
    r = libc.syscall(ctypes.c_long(nr), *args)
    return (r, 0) if r >= 0 else (-1, ctypes.get_errno())
