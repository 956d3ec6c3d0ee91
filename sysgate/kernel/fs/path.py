"""Path walk with confinement.

Every guest path becomes an absolute guest path (joined to the cwd or to the
directory of a dirfd) and is then resolved by the host kernel itself with
openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) below the root directory:
'..' stops at the root, absolute and relative symlinks resolve inside it, and
/proc magic links (/proc/self/root, /proc/*/fd/*) cannot be followed. Only
/proc/self entries the kernel model owns are answered without the host
(see proc.py). Operations on a final name (unlink, mkdir, lstat, ...) open
the parent this way and act on the single last component relative to it.
"""
import ctypes
import os
import posixpath

from ..errors import KernelError, E

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
SYS_openat2, SYS_statx, SYS_getdents64 = 437, 332, 217
RESOLVE_NO_MAGICLINKS, RESOLVE_IN_ROOT = 0x02, 0x10
O_PATH = 0o10000000
PATH_MAX = 4096


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64),
                ("resolve", ctypes.c_uint64)]


def host_syscall(nr, *args):
    r = _libc.syscall(ctypes.c_long(nr), *args)
    if r < 0:
        raise KernelError(ctypes.get_errno())
    return r


def openat2(dirfd, path, flags, mode, resolve):
    how = _OpenHow(flags | os.O_CLOEXEC, mode if flags & (os.O_CREAT | 0o20000000) else 0,
                   resolve)
    return host_syscall(SYS_openat2, ctypes.c_long(dirfd), ctypes.c_char_p(path),
                        ctypes.byref(how), ctypes.c_long(ctypes.sizeof(how)))


class FsContext:
    """Root and cwd of a task; the root is a host directory held open."""

    def __init__(self, root=None):
        self.root_host = os.path.realpath(root) if root else "/"
        self.root_fd = os.open(self.root_host, O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        self.confined = root is not None
        if self.confined:
            self.cwd = "/"
        else:
            self.cwd = os.getcwd()
        self.umask = 0o022

    def absolute(self, path, base=None):
        """The guest path, made absolute against base (default: the cwd)."""
        if not path:
            raise KernelError(E.ENOENT)
        if len(path) >= PATH_MAX:
            raise KernelError(E.ENAMETOOLONG)
        if path.startswith(b"/"):
            return path
        return (base or self.cwd).encode() + b"/" + path

    def open(self, abspath, flags, mode=0):
        """Resolve abspath inside the root and open it on the host."""
        return openat2(self.root_fd, abspath, flags, mode,
                       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)

    def open_parent(self, abspath):
        """(host dirfd of the parent, last component) for name operations."""
        stripped = abspath.rstrip(b"/")
        if not stripped:
            return None, b"/"
        parent, last = stripped.rsplit(b"/", 1)
        if abspath.endswith(b"/"):
            last += b"/"
        fd = self.open(parent or b"/", O_PATH | os.O_DIRECTORY)
        return fd, last

    def guest_path_of(self, hostfd):
        """The guest-visible absolute path of an open host fd."""
        real = os.readlink(f"/proc/self/fd/{hostfd}")
        if self.root_host == "/":
            return real
        if real == self.root_host:
            return "/"
        if real.startswith(self.root_host + "/"):
            return real[len(self.root_host):]
        return "/"   # cannot happen for a path resolved in the root

    def chdir_to(self, hostfd):
        self.cwd = self.guest_path_of(hostfd)
        if not self.confined:
            os.chdir(self.cwd)


def normalise(path):
    """Lexical normalisation, used only to recognise virtual /proc names."""
    return posixpath.normpath(path.decode(errors="surrogateescape"))
