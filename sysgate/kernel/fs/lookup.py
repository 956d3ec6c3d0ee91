"""From a guest (dirfd, path) pair to a host fd or a parent and a name:
the one place that decides between the guest's own /proc and the confined
host walk."""
import os
from contextlib import contextmanager

from ..errors import KernelError, E
from . import proc
from .path import O_PATH, PATH_MAX, normalise

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_SYMLINK_FOLLOW = 0x100, 0x200, 0x400
AT_EMPTY_PATH = 0x1000
MAX_SYMLINKS = 40


def read_path(t, ptr):
    return t.mm.read_cstr(ptr, PATH_MAX)


def absolute(t, dirfd, path):
    if path.startswith(b"/") or dirfd == AT_FDCWD:
        return t.fs.absolute(path)
    return t.fs.absolute(path, t.files.get(dirfd).path)


def open_at(t, dirfd, path, flags, mode=0):
    """Open (dirfd, path) for the guest; returns (host fd, guest path)."""
    abspath = absolute(t, dirfd, path)
    for _ in range(MAX_SYMLINKS):
        norm = normalise(abspath)
        host = proc.open_file(t, norm)
        if host is not None:
            return host, norm
        target = proc.readlink(t, norm)
        if target is None:
            break
        if flags & os.O_NOFOLLOW and not flags & O_PATH:
            raise KernelError(E.ELOOP)
        abspath = target.encode()
    else:
        raise KernelError(E.ELOOP)
    host = t.fs.open(abspath, flags, mode & ~t.fs.umask)
    return host, t.fs.guest_path_of(host)


@contextmanager
def object_at(t, dirfd, path, atflags):
    """A host fd for the object (dirfd, path) names, for stat-like calls."""
    if not path:
        if not atflags & AT_EMPTY_PATH:
            raise KernelError(E.ENOENT)
        yield t.files.host(dirfd)
        return
    flags = O_PATH | (os.O_NOFOLLOW if atflags & AT_SYMLINK_NOFOLLOW else 0)
    host, _ = open_at(t, dirfd, path, flags)
    try:
        yield host
    finally:
        os.close(host)


@contextmanager
def parent_at(t, dirfd, path, dots_errno):
    """(host dirfd, last name) for calls that act on a name in a directory.

    A last name of '.' or '..' (or the root itself) is refused with
    dots_errno, as Linux refuses it, before anything acts relative to the
    parent: '..' from the root's fd would otherwise name the host directory
    above the root."""
    abspath = absolute(t, dirfd, path)
    stripped = abspath.rstrip(b"/")
    if not stripped or stripped.rsplit(b"/", 1)[-1] in (b".", b".."):
        raise KernelError(dots_errno)
    host, last = t.fs.open_parent(abspath)
    try:
        yield host, last
    finally:
        os.close(host)


def readlink_virtual(t, dirfd, path):
    return proc.readlink(t, normalise(absolute(t, dirfd, path)))
