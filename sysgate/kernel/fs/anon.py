"""File descriptors with no name in the file system, made by the host for
the guest: memfd_create and inotify (fs/inotify_user.c).

A memfd is the host's own, so mapping it shared is host memory shared with
whoever else maps it. inotify watches a path the guest names: it is
resolved inside the root like every path, and the host watches the object
itself through its descriptor, so no host path is looked up again."""
import ctypes

from ..errors import KernelError, E
from ..registry import syscall
from .lookup import object_at, read_path

MFD_CLOEXEC, MFD_ALLOW_SEALING, MFD_HUGETLB = 1, 2, 4
MFD_NOEXEC_SEAL, MFD_EXEC = 8, 0x10
MFD_NAME_MAX = 249
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
IN_DONT_FOLLOW, IN_ONLYDIR = 0x02000000, 0x01000000
AT_FDCWD, AT_SYMLINK_NOFOLLOW = -100, 0x100

_LIBC = []


def _host(fn, *args):
    if not _LIBC:
        _LIBC.append(ctypes.CDLL(None, use_errno=True))
    r = getattr(_LIBC[0], fn)(*args)
    if r < 0:
        raise KernelError(ctypes.get_errno())
    return r


@syscall("memfd_create", "str flags")
def sys_memfd_create(t, name_ptr, flags):
    if flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC
                 | (0x3F << 26)):
        raise KernelError(E.EINVAL)
    try:
        name = t.mm.read_cstr(name_ptr, MFD_NAME_MAX + 1)
    except KernelError as e:
        raise KernelError(E.EINVAL if e.errno == E.ENAMETOOLONG else e.errno) from None
    host = _host("memfd_create", name, (flags & ~MFD_CLOEXEC) | MFD_CLOEXEC)
    return t.files.install(host, cloexec=bool(flags & MFD_CLOEXEC))


@syscall("inotify_init1", "flags")
def sys_inotify_init1(t, flags):
    if flags & ~(IN_NONBLOCK | IN_CLOEXEC):
        raise KernelError(E.EINVAL)
    host = _host("inotify_init1", (flags & IN_NONBLOCK) | IN_CLOEXEC)
    return t.files.install(host, cloexec=bool(flags & IN_CLOEXEC))


@syscall("inotify_init")
def sys_inotify_init(t):
    return sys_inotify_init1(t, 0)


def _inotify(t, fd):
    f = t.files.fds.get(fd)
    if f is None:
        raise KernelError(E.EBADF)
    return f.host


@syscall("inotify_add_watch", "fd path uint")
def sys_inotify_add_watch(t, fd, path, mask):
    host = _inotify(t, fd)
    flags = AT_SYMLINK_NOFOLLOW if mask & IN_DONT_FOLLOW else 0
    with object_at(t, AT_FDCWD, read_path(t, path), flags) as obj:
        # The magic link leads the host to the very object resolved above
        # (a symlink itself, under IN_DONT_FOLLOW): the host must follow it.
        return _host("inotify_add_watch", host, f"/proc/self/fd/{obj}".encode(),
                     mask & ~IN_DONT_FOLLOW)


@syscall("inotify_rm_watch", "fd int")
def sys_inotify_rm_watch(t, fd, wd):
    return _host("inotify_rm_watch", _inotify(t, fd), wd)
