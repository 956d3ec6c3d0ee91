"""openat2, and the file-handle calls.

openat2 is confined exactly as openat is: the guest's RESOLVE_BENEATH and
RESOLVE_IN_ROOT scope a walk to a directory that is itself inside the root,
so the host's openat2 enforces them below the root; the other resolve flags
are added to sysgate's own (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS for an
absolute path, RESOLVE_BENEATH for a relative one). What lands on a procfs
is answered by the model (lookup), as for openat.

name_to_handle_at answers EOPNOTSUPP, as for a file system that cannot
export handles (every caller copes: systemd, fanotify users fall back to
paths): a handle names an inode on the host's file system with no path, to
be opened by whoever holds CAP_DAC_READ_SEARCH there; the guest cannot use
one (open_by_handle_at is refused to an unprivileged caller, EPERM, as
Linux refuses it) and should not hand one to anything that can.
"""
import os
import struct

from ..errors import KernelError, E
from ..registry import syscall
from . import lookup, proc
from ...abi.consts import O_CLOEXEC, O_PATH
from .open import O_PATH_FLAGS, OPEN_FLAGS
from .lookup import (AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_FOLLOW, RESOLVE_BENEATH,
                     RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS,
                     RESOLVE_NO_XDEV, object_at, read_path)
from .path import openat2

RESOLVE_CACHED = 0x20
VALID_RESOLVE = 0x3F
OPEN_HOW_SIZE_VER0 = 24
PAGE = 4096
O_TMPFILE = 0o20000000 | os.O_DIRECTORY
O_LARGEFILE = 0o100000


def _read_how(t, ptr, size):
    """copy_struct_from_user: the first 24 bytes, and zeros after them."""
    if size < OPEN_HOW_SIZE_VER0:
        raise KernelError(E.EINVAL)
    if size > PAGE:
        raise KernelError(E.E2BIG)
    raw = t.mm.read(ptr, size)
    if any(raw[OPEN_HOW_SIZE_VER0:]):
        raise KernelError(E.E2BIG)
    return struct.unpack("<QQQ", raw[:OPEN_HOW_SIZE_VER0])


def _check_how(flags, mode, resolve):
    """build_open_flags' checks, in its order."""
    if flags >> 32 or flags & ~OPEN_FLAGS:
        raise KernelError(E.EINVAL)
    if flags & (os.O_CREAT | 0o20000000):
        if mode & ~0o7777:
            raise KernelError(E.EINVAL)
    elif mode:
        raise KernelError(E.EINVAL)
    if resolve & ~VALID_RESOLVE:
        raise KernelError(E.EINVAL)
    if resolve & RESOLVE_BENEATH and resolve & RESOLVE_IN_ROOT:
        raise KernelError(E.EINVAL)
    if flags & 0o20000000 and (flags & O_TMPFILE) != O_TMPFILE:
        raise KernelError(E.EINVAL)
    if flags & 0o20000000 and not flags & 3:
        raise KernelError(E.EINVAL)
    if flags & O_PATH and flags & ~O_PATH_FLAGS:
        raise KernelError(E.EINVAL)
    if resolve & RESOLVE_CACHED and flags & (os.O_TRUNC | os.O_CREAT | 0o20000000):
        raise KernelError(E.EAGAIN)


@syscall("openat2", "dirfd path ptr size")
def sys_openat2(t, dirfd, path_ptr, how_ptr, size):
    flags, mode, resolve = _read_how(t, how_ptr, size)
    _check_how(flags, mode, resolve)
    path = read_path(t, path_ptr)
    cloexec = bool(flags & O_CLOEXEC)
    flags &= ~O_CLOEXEC
    host, name, like = _open(t, dirfd, path, flags | O_LARGEFILE, mode & ~t.fs.umask, resolve)
    if like is not None:
        return t.files.install(host, cloexec=cloexec, like=like)
    return t.files.install(host, name, cloexec=cloexec)


def _open(t, dirfd, path, flags, mode, resolve):
    if not resolve:
        return lookup.open_at(t, dirfd, path, flags, mode)
    if not path:
        raise KernelError(E.ENOENT)
    scoped = resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)
    absolute = path[:1] == b"/"
    if scoped and absolute and resolve & RESOLVE_BENEATH:
        raise KernelError(E.EXDEV)
    base, f = lookup._base(t, dirfd) if not (absolute and not scoped) else (None, None)
    if f is not None and not f.isdir:
        raise KernelError(E.ENOTDIR)
    in_proc = (f is not None and lookup.in_proc(f)) or (f is None and t.fs.cwd_virtual and
                                                        (scoped or not absolute))
    if in_proc:
        return _walk_model(t, dirfd, path, flags, resolve, scoped)
    if not scoped and absolute and lookup._lexically_proc(path):
        return lookup._walk(t, path, flags, mode, resolve)
    fs = t.fs
    extra = resolve & (RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_CACHED)
    try:
        if scoped:
            # The scope is the directory itself, inside the root: the host
            # holds the walk below it. Magic links never: they are proc's.
            start = fs.cwd_fd if base is None else base
            host = openat2(start, path, flags, mode, resolve | RESOLVE_NO_MAGICLINKS)
        elif absolute:
            host = openat2(fs.root_fd, path, flags, mode,
                           RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra)
        else:
            try:
                host = openat2(fs.cwd_fd if base is None else base, path, flags, mode,
                               RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | extra)
            except KernelError as e:
                if e.errno != E.EXDEV or resolve & RESOLVE_NO_XDEV:
                    raise
                whole = lookup.absolute(t, dirfd, path)
                host = openat2(fs.root_fd, whole, flags, mode,
                               RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra)
    except KernelError as e:
        if e.errno != E.ELOOP or scoped or resolve & (RESOLVE_NO_SYMLINKS |
                                                      RESOLVE_NO_MAGICLINKS):
            raise
        return lookup._walk(t, lookup.absolute(t, dirfd, path), flags, mode, resolve)
    if proc.is_procfs(host):
        return lookup._redo_in_proc(t, host, flags, mode, path.endswith(b"/"), resolve)
    return host, None, None


def _walk_model(t, dirfd, path, flags, resolve, scoped):
    """A walk that starts in the guest's /proc: scoped to the directory by
    name (BENEATH: nothing above it; IN_ROOT: '/' and '..' stop there)."""
    resolve &= ~RESOLVE_NO_XDEV        # it starts inside the mount it may not leave
    if not scoped:
        return lookup._walk(t, lookup.absolute(t, dirfd, path), flags, 0, resolve)
    start = lookup.absolute(t, dirfd, b".").rstrip(b"/.") or b"/"
    depth = 0
    out = []
    for c in path.split(b"/"):
        if c in (b"", b"."):
            continue
        if c == b"..":
            if not out:
                if resolve & RESOLVE_BENEATH:
                    raise KernelError(E.EXDEV)
                continue
            out.pop()
            continue
        out.append(c)
        depth += 1
    whole = start.rstrip(b"/") + b"/" + b"/".join(out) + (b"/" if path.endswith(b"/") else b"")
    return lookup._walk(t, whole, flags, 0, resolve)


@syscall("name_to_handle_at", "dirfd path ptr ptr atflags", status="partial",
         note="EOPNOTSUPP after resolving the name: no host file handles for the guest")
def sys_name_to_handle_at(t, dirfd, path, handle, mount_id, flags):
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH | 0x200 | 0x1 | 0x2):
        raise KernelError(E.EINVAL)
    p = read_path(t, path) if path or not flags & AT_EMPTY_PATH else b""
    atflags = (0 if flags & AT_SYMLINK_FOLLOW else lookup.AT_SYMLINK_NOFOLLOW) | (
        flags & AT_EMPTY_PATH)
    with object_at(t, dirfd, p, atflags):
        pass
    raise KernelError(E.EOPNOTSUPP)


@syscall("open_by_handle_at", "fd ptr oflags", status="partial",
         note="EPERM, as for a caller without CAP_DAC_READ_SEARCH")
def sys_open_by_handle_at(t, mount_fd, handle, flags):
    if mount_fd != AT_FDCWD:
        t.files.get(mount_fd)
    raise KernelError(E.EPERM)
