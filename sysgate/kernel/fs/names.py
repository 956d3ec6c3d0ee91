"""System calls on names: directories, links, renames, access, cwd."""
import os
import struct
import time

from ..errors import KernelError, E
from ..registry import syscall
from .lookup import (AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW,
                     AT_SYMLINK_NOFOLLOW, object_at, open_at, parent_at, read_path,
                     readlink_virtual)
from .path import O_PATH


def _name(last):
    return last.decode(errors="surrogateescape")


@syscall("mkdir", "path mode")
def sys_mkdir(t, path, mode):
    return sys_mkdirat(t, AT_FDCWD, path, mode)


@syscall("mkdirat", "dirfd path mode")
def sys_mkdirat(t, dirfd, path, mode):
    with parent_at(t, dirfd, read_path(t, path), E.EEXIST) as (d, last):
        os.mkdir(_name(last), mode & 0o7777 & ~t.fs.umask, dir_fd=d)
    return 0


@syscall("rmdir", "path")
def sys_rmdir(t, path):
    p = read_path(t, path)
    last = p.rstrip(b"/").rsplit(b"/", 1)[-1]
    with parent_at(t, AT_FDCWD, p, E.EINVAL if last == b"." else E.ENOTEMPTY) as (d, last):
        os.rmdir(_name(last), dir_fd=d)
    return 0


@syscall("unlink", "path")
def sys_unlink(t, path):
    return sys_unlinkat(t, AT_FDCWD, path, 0)


@syscall("unlinkat", "dirfd path atflags")
def sys_unlinkat(t, dirfd, path, flags):
    if flags & ~AT_REMOVEDIR:
        raise KernelError(E.EINVAL)
    if flags & AT_REMOVEDIR:
        p = read_path(t, path)
        last = p.rstrip(b"/").rsplit(b"/", 1)[-1]
        with parent_at(t, dirfd, p, E.EINVAL if last == b"." else E.ENOTEMPTY) as (d, last):
            os.rmdir(_name(last), dir_fd=d)
        return 0
    with parent_at(t, dirfd, read_path(t, path), E.EISDIR) as (d, last):
        os.unlink(_name(last), dir_fd=d)
    return 0


def _rename(t, olddir, oldpath, newdir, newpath, flags=0):
    if flags:
        raise KernelError(E.EINVAL)
    with parent_at(t, olddir, read_path(t, oldpath), E.EBUSY) as (d1, a), \
            parent_at(t, newdir, read_path(t, newpath), E.EBUSY) as (d2, b):
        os.rename(_name(a), _name(b), src_dir_fd=d1, dst_dir_fd=d2)
    return 0


@syscall("rename", "path path")
def sys_rename(t, old, new):
    return _rename(t, AT_FDCWD, old, AT_FDCWD, new)


@syscall("renameat", "dirfd path dirfd path")
def sys_renameat(t, od, old, nd, new):
    return _rename(t, od, old, nd, new)


@syscall("renameat2", "dirfd path dirfd path flags")
def sys_renameat2(t, od, old, nd, new, flags):
    return _rename(t, od, old, nd, new, flags)


@syscall("symlink", "str path")
def sys_symlink(t, target, path):
    return sys_symlinkat(t, target, AT_FDCWD, path)


@syscall("symlinkat", "str dirfd path")
def sys_symlinkat(t, target, dirfd, path):
    tgt = read_path(t, target)
    if not tgt:
        raise KernelError(E.ENOENT)
    with parent_at(t, dirfd, read_path(t, path), E.EEXIST) as (d, last):
        os.symlink(tgt, _name(last), dir_fd=d)
    return 0


@syscall("link", "path path")
def sys_link(t, old, new):
    return sys_linkat(t, AT_FDCWD, old, AT_FDCWD, new, 0)


@syscall("linkat", "dirfd path dirfd path atflags")
def sys_linkat(t, od, old, nd, new, flags):
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise KernelError(E.EINVAL)
    with parent_at(t, od, read_path(t, old), E.EPERM) as (d1, a), \
            parent_at(t, nd, read_path(t, new), E.EEXIST) as (d2, b):
        os.link(_name(a), _name(b), src_dir_fd=d1, dst_dir_fd=d2,
                follow_symlinks=bool(flags & AT_SYMLINK_FOLLOW))
    return 0


def _readlink(t, dirfd, path, buf, size):
    if size <= 0:
        raise KernelError(E.EINVAL)
    p = read_path(t, path)
    target = readlink_virtual(t, dirfd, p)
    if target is not None:
        data = target.encode()
    else:
        with object_at(t, dirfd, p, AT_SYMLINK_NOFOLLOW) as h:
            data = os.fsencode(os.readlink("", dir_fd=h))
    data = data[:size]
    t.mm.write(buf, data)
    return len(data)


@syscall("readlink", "path obuf int")
def sys_readlink(t, path, buf, size):
    return _readlink(t, AT_FDCWD, path, buf, size)


@syscall("readlinkat", "dirfd path obuf int")
def sys_readlinkat(t, dirfd, path, buf, size):
    return _readlink(t, dirfd, path, buf, size)


def _access(t, dirfd, path, mode, flags):
    if mode & ~7 or flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x200):
        raise KernelError(E.EINVAL)
    with object_at(t, dirfd, read_path(t, path), flags) as h:
        if mode and not os.access(f"/proc/self/fd/{h}", mode):
            raise KernelError(E.EACCES)
    return 0


@syscall("access", "path mode")
def sys_access(t, path, mode):
    return _access(t, AT_FDCWD, path, mode, 0)


@syscall("faccessat", "dirfd path mode")
def sys_faccessat(t, dirfd, path, mode):
    return _access(t, dirfd, path, mode, 0)


@syscall("faccessat2", "dirfd path mode atflags")
def sys_faccessat2(t, dirfd, path, mode, flags):
    return _access(t, dirfd, path, mode, flags)


@syscall("chdir", "path")
def sys_chdir(t, path):
    host, _ = open_at(t, AT_FDCWD, read_path(t, path), O_PATH | os.O_DIRECTORY)
    try:
        t.fs.chdir_to(host)
    finally:
        os.close(host)
    return 0


@syscall("fchdir", "fd")
def sys_fchdir(t, fd):
    h = t.files.host(fd)
    if not os.path.isdir(f"/proc/self/fd/{h}"):
        raise KernelError(E.ENOTDIR)
    t.fs.chdir_to(h)
    return 0


@syscall("getcwd", "obuf size")
def sys_getcwd(t, buf, size):
    data = t.fs.cwd.encode() + b"\0"
    if size < len(data):
        raise KernelError(E.ERANGE)
    t.mm.write(buf, data)
    return len(data)


@syscall("umask", "mode")
def sys_umask(t, mask):
    old, t.fs.umask = t.fs.umask, mask & 0o777
    return old


def _chmod(t, dirfd, path, mode, flags=0):
    with object_at(t, dirfd, read_path(t, path), flags) as h:
        os.chmod(f"/proc/self/fd/{h}", mode & 0o7777)
    return 0


@syscall("chmod", "path mode")
def sys_chmod(t, path, mode):
    return _chmod(t, AT_FDCWD, path, mode)


@syscall("fchmodat", "dirfd path mode")
def sys_fchmodat(t, dirfd, path, mode):
    return _chmod(t, dirfd, path, mode)


@syscall("truncate", "path off")
def sys_truncate(t, path, length):
    host, _ = open_at(t, AT_FDCWD, read_path(t, path), os.O_WRONLY)
    try:
        os.ftruncate(host, length)
    finally:
        os.close(host)
    return 0


@syscall("utimensat", "dirfd path ptr atflags")
def sys_utimensat(t, dirfd, path, times, flags):
    ts = None
    if times:
        w = t.word
        raw = t.mm.read(times, 4 * w)
        vals = struct.unpack("<4q" if w == 8 else "<4i", raw)
        ts = (vals[0], vals[1], vals[2], vals[3])
    if path == 0:
        target = t.files.host(dirfd)
        _utime(target, ts)
        return 0
    with object_at(t, dirfd, read_path(t, path), flags) as h:
        _utime(h, ts)
    return 0


UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


def _utime(host, ts):
    p = f"/proc/self/fd/{host}"
    if ts is None:
        os.utime(p)
        return
    st = os.stat(p)
    now = time.time_ns()
    out = []
    for (sec, ns), cur in zip((ts[:2], ts[2:]), (st.st_atime_ns, st.st_mtime_ns)):
        if ns == UTIME_NOW:
            out.append(now)
        elif ns == UTIME_OMIT:
            out.append(cur)
        elif not 0 <= ns < 10**9:
            raise KernelError(E.EINVAL)
        else:
            out.append(sec * 10**9 + ns)
    os.utime(p, ns=tuple(out))
