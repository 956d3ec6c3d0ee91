"""System calls on names: directories, links, renames, access, cwd."""
import ctypes
import os
import stat

from ...abi.consts import O_PATH, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT
from ...abi.structs import join64
from ..errors import KernelError, E
from ..registry import syscall
from ..tables.unistd import NR_X86_64 as HOST
from .lookup import (AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW,
                     AT_SYMLINK_NOFOLLOW, in_proc, object_at, open_at, parent_at,
                     read_path, readlink_virtual)
from ..hostlibc import host_syscall
from .path import is_dir_fd


def _name(last):
    return last.decode(errors="surrogateescape")


# Each call's old form is its *at form from the cwd.
@syscall("mkdirat", "dirfd path mode")
@syscall("mkdir", "path mode", dirfd=AT_FDCWD)
def sys_mkdirat(t, dirfd, path, mode):
    with parent_at(t, dirfd, read_path(t, path), E.EEXIST) as (d, last):
        os.mkdir(_name(last), mode & 0o7777, dir_fd=d)
    return 0


@syscall("unlinkat", "dirfd path atflags")
@syscall("unlink", "path", dirfd=AT_FDCWD, flags=0)
@syscall("rmdir", "path", dirfd=AT_FDCWD, flags=AT_REMOVEDIR)
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


@syscall("renameat2", "dirfd path dirfd path flags")
@syscall("renameat", "dirfd path dirfd path", flags=0)
@syscall("rename", "path path", olddir=AT_FDCWD, newdir=AT_FDCWD, flags=0)
def sys_renameat2(t, olddir, oldpath, newdir, newpath, flags):
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) or (
            flags & RENAME_EXCHANGE and flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)):
        raise KernelError(E.EINVAL)
    with parent_at(t, olddir, read_path(t, oldpath), E.EBUSY) as (d1, a), \
            parent_at(t, newdir, read_path(t, newpath), E.EBUSY) as (d2, b):
        if flags:
            host_syscall(HOST["renameat2"], ctypes.c_long(d1), ctypes.c_char_p(a),
                         ctypes.c_long(d2), ctypes.c_char_p(b), ctypes.c_long(flags))
        else:
            os.rename(_name(a), _name(b), src_dir_fd=d1, dst_dir_fd=d2)
    return 0


@syscall("symlinkat", "str dirfd path")
@syscall("symlink", "str path", dirfd=AT_FDCWD)
def sys_symlinkat(t, target, dirfd, path):
    tgt = read_path(t, target)
    if not tgt:
        raise KernelError(E.ENOENT)
    with parent_at(t, dirfd, read_path(t, path), E.EEXIST) as (d, last):
        os.symlink(tgt, _name(last), dir_fd=d)
    return 0


@syscall("linkat", "dirfd path dirfd path atflags")
@syscall("link", "path path", od=AT_FDCWD, nd=AT_FDCWD, flags=0)
def sys_linkat(t, od, old, nd, new, flags):
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        raise KernelError(E.EINVAL)
    src = read_path(t, old)
    if flags & AT_SYMLINK_FOLLOW or (not src and flags & AT_EMPTY_PATH):
        # The source is resolved in the root here, never by the host's
        # linkat: an absolute symlink would be followed outside it.
        with object_at(t, od, src, flags & AT_EMPTY_PATH) as h, \
                parent_at(t, nd, read_path(t, new), E.EEXIST) as (d2, b):
            if not src:
                host_syscall(HOST["linkat"], ctypes.c_long(h), ctypes.c_char_p(b""),
                             ctypes.c_long(d2), ctypes.c_char_p(b),
                             ctypes.c_long(AT_EMPTY_PATH))
            else:
                os.link(f"/proc/self/fd/{h}", _name(b), dst_dir_fd=d2, follow_symlinks=True)
        return 0
    with parent_at(t, od, src, E.EPERM) as (d1, a), \
            parent_at(t, nd, read_path(t, new), E.EEXIST) as (d2, b):
        os.link(_name(a), _name(b), src_dir_fd=d1, dst_dir_fd=d2, follow_symlinks=False)
    return 0


def readlink_at(t, dirfd, p):
    """The target of the link (dirfd, p) names, as the guest sees it: its
    /proc magic links are the model's."""
    target = readlink_virtual(t, dirfd, p)
    if target is not None:
        return target.encode(errors="surrogateescape")
    with object_at(t, dirfd, p, AT_SYMLINK_NOFOLLOW) as h:
        if not stat.S_ISLNK(os.fstat(h).st_mode):
            raise KernelError(E.EINVAL)
        return os.fsencode(os.readlink("", dir_fd=h))


@syscall("readlinkat", "dirfd path obuf int")
@syscall("readlink", "path obuf int", dirfd=AT_FDCWD)
def sys_readlinkat(t, dirfd, path, buf, size):
    if size <= 0:
        raise KernelError(E.EINVAL)
    data = readlink_at(t, dirfd, read_path(t, path))[:size]
    t.mm.write(buf, data)
    return len(data)


@syscall("faccessat2", "dirfd path mode atflags")
@syscall("faccessat", "dirfd path mode", flags=0)
@syscall("access", "path mode", dirfd=AT_FDCWD, flags=0)
def sys_faccessat2(t, dirfd, path, mode, flags):
    if mode & ~7 or flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x200):
        raise KernelError(E.EINVAL)
    with object_at(t, dirfd, read_path(t, path), flags) as h:
        if mode and not os.access(f"/proc/self/fd/{h}", mode):
            raise KernelError(E.EACCES)
    return 0


@syscall("chdir", "path")
def sys_chdir(t, path):
    host, name, like = open_at(t, AT_FDCWD, read_path(t, path), O_PATH | os.O_DIRECTORY)
    try:
        if like is not None:
            _check_chdir(t, like)
            name = like.path if in_proc(like) else None
        _may_search(host)
        t.fs.chdir_to(host, name if name is not None and name.startswith("/proc") else None)
    finally:
        os.close(host)
    return 0


def _check_chdir(t, f):
    """A directory from outside the root never becomes the cwd: '..' from
    it would lead above the root."""
    if not is_dir_fd(f.host):
        raise KernelError(E.ENOTDIR)
    if f.foreign and t.fs.confined and not t.fs.inside(f.host):
        raise KernelError(E.EACCES)


def _may_search(host):
    """set_fs_pwd's MAY_EXEC|MAY_CHDIR on the directory itself (the walk to
    it checked only the directories above it)."""
    if not os.access(f"/proc/self/fd/{host}", os.X_OK, effective_ids=True):
        raise KernelError(E.EACCES)


@syscall("fchdir", "file")
def sys_fchdir(t, f):
    _check_chdir(t, f)
    _may_search(f.host)
    t.fs.chdir_to(f.host, f.path if in_proc(f) else None)
    return 0


@syscall("getcwd", "obuf size")
def sys_getcwd(t, buf, size):
    fs = t.fs
    if fs.is_deleted_dir(fs.cwd_fd):
        raise KernelError(E.ENOENT)
    data = fs.cwd.encode(errors="surrogateescape") + b"\0"
    if size < len(data):
        raise KernelError(E.ERANGE)
    t.mm.write(buf, data)
    return len(data)


@syscall("umask", "mode")
def sys_umask(t, mask):
    return t.fs.set_umask(mask)


@syscall("fchmodat", "dirfd path mode")
@syscall("chmod", "path mode", dirfd=AT_FDCWD)
def sys_fchmodat(t, dirfd, path, mode):
    with object_at(t, dirfd, read_path(t, path), 0) as h:
        os.chmod(f"/proc/self/fd/{h}", mode & 0o7777)
    return 0


@syscall("truncate", "path off")
def sys_truncate(t, path, length):
    if length < 0:
        raise KernelError(E.EINVAL)
    # Without waiting on a FIFO's reader (ENXIO then): only a regular file
    # truncates, anything else is EINVAL (vfs_truncate).
    try:
        host, _, _ = open_at(t, AT_FDCWD, read_path(t, path),
                             os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except KernelError as e:
        raise KernelError(E.EINVAL if e.errno == E.ENXIO else e.errno) from None
    try:
        st = os.fstat(host)
        if stat.S_ISREG(st.st_mode):
            t.mm.before_truncate(st.st_dev, st.st_ino, length)
        os.ftruncate(host, length)
    finally:
        os.close(host)
    return 0


@syscall("truncate64", "path uint uint")
def sys_truncate64(t, path, lo, hi):
    return sys_truncate(t, path, join64(lo, hi))


# --- nodes -------------------------------------------------------------------
@syscall("mknodat", "dirfd path mode uint")
@syscall("mknod", "path mode uint", dirfd=AT_FDCWD)
def sys_mknodat(t, dirfd, path, mode, dev):
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO,
                                 stat.S_IFSOCK):
        raise KernelError(E.EINVAL)
    if t.fs.confined and stat.S_IFMT(mode) in (stat.S_IFCHR, stat.S_IFBLK):
        # A device node made inside the root would open the whole disk (or
        # memory) below it: a confined guest may not make one, as an
        # unprivileged process may not.
        raise KernelError(E.EPERM)
    with parent_at(t, dirfd, read_path(t, path), E.EEXIST) as (d, last):
        host_syscall(HOST["mknodat"], ctypes.c_long(d), ctypes.c_char_p(last),
                     ctypes.c_long(mode & ~t.fs.umask & 0xFFFFFFFF), ctypes.c_long(dev))
    return 0
