"""A file's owner: chown and its forms. i386's chown, lchown and fchown
take 16-bit ids, its *32 calls (like x86-64's) full ones."""
import ctypes
import os

from ...abi.consts import AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW
from ..errors import KernelError, E
from ..hostlibc import host_syscall
from ..registry import syscall
from ..tables.unistd import NR_X86_64 as HOST
from .lookup import object_at, read_path

_ID16 = "16-bit ids"


def _id(v, bits):
    """An owner argument: -1 (of the call's width) keeps the owner."""
    full = (1 << bits) - 1
    return -1 if v & full == full else v & full


@syscall("fchownat", "dirfd path uint uint atflags")
@syscall("chown i386:chown32", "path uint uint", dirfd=AT_FDCWD, flags=0)
@syscall("lchown i386:lchown32", "path uint uint", dirfd=AT_FDCWD, flags=AT_SYMLINK_NOFOLLOW)
@syscall("i386:chown", "path uint uint", dirfd=AT_FDCWD, flags=0, bits=16, note=_ID16)
@syscall("i386:lchown", "path uint uint", dirfd=AT_FDCWD, flags=AT_SYMLINK_NOFOLLOW, bits=16,
         note=_ID16)
def sys_fchownat(t, dirfd, path, uid, gid, flags, bits=32):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise KernelError(E.EINVAL)
    p = read_path(t, path) if path or not flags & AT_EMPTY_PATH else b""
    with object_at(t, dirfd, p, flags) as h:
        host_syscall(HOST["fchownat"], ctypes.c_long(h), ctypes.c_char_p(b""),
                     ctypes.c_long(_id(uid, bits)), ctypes.c_long(_id(gid, bits)),
                     ctypes.c_long(AT_EMPTY_PATH))
    return 0


@syscall("fchown i386:fchown32", "file uint uint")
@syscall("i386:fchown", "file uint uint", bits=16, note=_ID16)
def sys_fchown(t, f, uid, gid, bits=32):
    os.chown(f.host, _id(uid, bits), _id(gid, bits))
    return 0
