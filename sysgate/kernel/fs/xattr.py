"""Extended attributes: the get/set/list/remove families, each on a path
(following symlinks), an lpath (not following) and an fd, as fs/xattr.c.

Paths resolve as every guest path does (inside the root); the host call is
then made on the object itself through /proc/self/fd, so no host path is
ever looked up again."""
import os

from .lookup import object_at, read_path
from ...abi.consts import (AT_FDCWD, AT_SYMLINK_NOFOLLOW, XATTR_LIST_MAX, XATTR_NAME_MAX,
                           XATTR_SIZE_MAX)
from ..errors import KernelError, E
from ..registry import syscall

XATTR_CREATE, XATTR_REPLACE = 1, 2


def _name(t, ptr):
    """The attribute name: ERANGE when empty or longer than XATTR_NAME_MAX."""
    try:
        name = t.mm.read_cstr(ptr, XATTR_NAME_MAX + 1)
    except KernelError as e:
        if e.errno == E.ENAMETOOLONG:
            raise KernelError(E.ERANGE) from None
        raise
    if not name:
        raise KernelError(E.ERANGE)
    return name


def _on_object(t, where, fn):
    """fn(host target) for ('path', ptr, follow) or ('fd', fd)."""
    if where[0] == "fd":
        return fn(t.files.host(where[1]))
    _, ptr, follow = where
    with object_at(t, AT_FDCWD, read_path(t, ptr), 0 if follow else AT_SYMLINK_NOFOLLOW) as h:
        return fn(f"/proc/self/fd/{h}")


def _give(t, buf, size, data, limit):
    """Copy data out as the get and list calls do: its length when size is 0,
    ERANGE when it does not fit."""
    if size == 0:
        return len(data)
    if len(data) > min(size, limit):
        raise KernelError(E.ERANGE)
    t.mm.write(buf, data)
    return len(data)


def _get(t, where, name_ptr, buf, size):
    name = _name(t, name_ptr)
    value = _on_object(t, where, lambda obj: os.getxattr(obj, name))
    return _give(t, buf, size, value, XATTR_SIZE_MAX)


def _list(t, where, buf, size):
    names = _on_object(t, where, lambda obj: os.listxattr(obj))
    data = b"".join(os.fsencode(n) + b"\0" for n in names)
    return _give(t, buf, size, data, XATTR_LIST_MAX)


def _set(t, where, name_ptr, value_ptr, size, flags):
    if flags & ~(XATTR_CREATE | XATTR_REPLACE):
        raise KernelError(E.EINVAL)
    name = _name(t, name_ptr)
    if size > XATTR_SIZE_MAX:
        raise KernelError(E.E2BIG)
    value = t.mm.read(value_ptr, size) if size else b""
    _on_object(t, where, lambda obj: os.setxattr(obj, name, value, flags))
    return 0


def _remove(t, where, name_ptr):
    name = _name(t, name_ptr)
    _on_object(t, where, lambda obj: os.removexattr(obj, name))
    return 0


@syscall("getxattr", "path str obuf size")
def sys_getxattr(t, path, name, buf, size):
    return _get(t, ("path", path, True), name, buf, size)


@syscall("lgetxattr", "path str obuf size")
def sys_lgetxattr(t, path, name, buf, size):
    return _get(t, ("path", path, False), name, buf, size)


@syscall("fgetxattr", "fd str obuf size")
def sys_fgetxattr(t, fd, name, buf, size):
    return _get(t, ("fd", fd), name, buf, size)


@syscall("listxattr", "path obuf size")
def sys_listxattr(t, path, buf, size):
    return _list(t, ("path", path, True), buf, size)


@syscall("llistxattr", "path obuf size")
def sys_llistxattr(t, path, buf, size):
    return _list(t, ("path", path, False), buf, size)


@syscall("flistxattr", "fd obuf size")
def sys_flistxattr(t, fd, buf, size):
    return _list(t, ("fd", fd), buf, size)


@syscall("setxattr", "path str buf size flags")
def sys_setxattr(t, path, name, value, size, flags):
    return _set(t, ("path", path, True), name, value, size, flags)


@syscall("lsetxattr", "path str buf size flags")
def sys_lsetxattr(t, path, name, value, size, flags):
    return _set(t, ("path", path, False), name, value, size, flags)


@syscall("fsetxattr", "fd str buf size flags")
def sys_fsetxattr(t, fd, name, value, size, flags):
    return _set(t, ("fd", fd), name, value, size, flags)


@syscall("removexattr", "path str")
def sys_removexattr(t, path, name):
    return _remove(t, ("path", path, True), name)


@syscall("lremovexattr", "path str")
def sys_lremovexattr(t, path, name):
    return _remove(t, ("path", path, False), name)


@syscall("fremovexattr", "fd str")
def sys_fremovexattr(t, fd, name):
    return _remove(t, ("fd", fd), name)
