"""System calls on names: directories, links, renames, access, cwd."""
import ctypes
import os
import stat
import struct
import time

from ..errors import KernelError, E
from ..registry import syscall
from .lookup import (AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_FOLLOW,
                     AT_SYMLINK_NOFOLLOW, in_proc, object_at, open_at, parent_at,
                     read_path, readlink_virtual)
from ..hostlibc import host_syscall
from .path import O_PATH, SYS_linkat, is_dir_fd


def _name(last):
    return last.decode(errors="surrogateescape")


@syscall("mkdir", "path mode")
def sys_mkdir(t, path, mode):
    return sys_mkdirat(t, AT_FDCWD, path, mode)


@syscall("mkdirat", "dirfd path mode")
def sys_mkdirat(t, dirfd, path, mode):
    with parent_at(t, dirfd, read_path(t, path), E.EEXIST) as (d, last):
        os.mkdir(_name(last), mode & 0o7777, dir_fd=d)
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


RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4
SYS_renameat2, SYS_mknodat, SYS_fchownat = 316, 259, 260


def _rename(t, olddir, oldpath, newdir, newpath, flags=0):
    if flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) or (
            flags & RENAME_EXCHANGE and flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)):
        raise KernelError(E.EINVAL)
    with parent_at(t, olddir, read_path(t, oldpath), E.EBUSY) as (d1, a), \
            parent_at(t, newdir, read_path(t, newpath), E.EBUSY) as (d2, b):
        if flags:
            host_syscall(SYS_renameat2, ctypes.c_long(d1), ctypes.c_char_p(a),
                         ctypes.c_long(d2), ctypes.c_char_p(b), ctypes.c_long(flags))
        else:
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
    src = read_path(t, old)
    if flags & AT_SYMLINK_FOLLOW or (not src and flags & AT_EMPTY_PATH):
        # The source is resolved in the root here, never by the host's
        # linkat: an absolute symlink would be followed outside it.
        with object_at(t, od, src, flags & AT_EMPTY_PATH) as h, \
                parent_at(t, nd, read_path(t, new), E.EEXIST) as (d2, b):
            if not src:
                host_syscall(SYS_linkat, ctypes.c_long(h), ctypes.c_char_p(b""),
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


def _readlink(t, dirfd, path, buf, size):
    if size <= 0:
        raise KernelError(E.EINVAL)
    data = readlink_at(t, dirfd, read_path(t, path))[:size]
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


@syscall("fchdir", "fd")
def sys_fchdir(t, fd):
    f = t.files.get(fd)
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


def _truncate(t, path, length):
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


@syscall("truncate", "path off")
def sys_truncate(t, path, length):
    return _truncate(t, path, length)


@syscall("truncate64", "path uint uint")
def sys_truncate64(t, path, lo, hi):
    v = (hi & 0xFFFFFFFF) << 32 | (lo & 0xFFFFFFFF)
    return _truncate(t, path, v - (1 << 64) if v >> 63 else v)


@syscall("utimensat", "dirfd path ptr atflags")
def sys_utimensat(t, dirfd, path, times, flags):
    return _utimensat(t, dirfd, path, times, flags, t.is64)


@syscall("utimensat_time64", "dirfd path ptr atflags")
def sys_utimensat_time64(t, dirfd, path, times, flags):
    return _utimensat(t, dirfd, path, times, flags, True)


def _utimensat(t, dirfd, path, times, flags, wide):
    ts = None
    if times:
        raw = t.mm.read(times, 32 if wide else 16)
        vals = struct.unpack("<4q" if wide else "<4i", raw)
        ts = (vals[0], vals[1], vals[2], vals[3])
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise KernelError(E.EINVAL)
    if path == 0 and dirfd != AT_FDCWD:
        # futimens: the descriptor itself (Linux refuses flags here).
        if flags:
            raise KernelError(E.EINVAL)
        _utime(t.files.host(dirfd), ts)
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


# The older forms: whole seconds (utime) or microseconds (utimes,
# futimesat), always following a final symlink.
def _utimes(t, dirfd, path, ts):
    if path == 0 and dirfd != AT_FDCWD:
        _utime(t.files.host(dirfd), ts)       # futimesat(fd, NULL, ...): the fd itself
        return 0
    with object_at(t, dirfd, read_path(t, path), 0) as h:
        _utime(h, ts)
    return 0


def _timevals(t, ptr):
    if not ptr:
        return None
    a, au, m, mu = struct.unpack("<4q" if t.is64 else "<4i",
                                 t.mm.read(ptr, 32 if t.is64 else 16))
    if not (0 <= au < 10**6 and 0 <= mu < 10**6):
        raise KernelError(E.EINVAL)
    return (a, au * 1000, m, mu * 1000)


@syscall("utime", "path ptr")
def sys_utime(t, path, times):
    ts = None
    if times:
        a, m = struct.unpack("<2q" if t.is64 else "<2i", t.mm.read(times, 16 if t.is64 else 8))
        ts = (a, 0, m, 0)
    return _utimes(t, AT_FDCWD, path, ts)


@syscall("utimes", "path ptr")
def sys_utimes(t, path, times):
    return _utimes(t, AT_FDCWD, path, _timevals(t, times))


@syscall("futimesat", "dirfd path ptr")
def sys_futimesat(t, dirfd, path, times):
    return _utimes(t, dirfd, path, _timevals(t, times))


# --- nodes and owners ---------------------------------------------------------
def _mknod(t, dirfd, path, mode, dev):
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO,
                                 stat.S_IFSOCK):
        raise KernelError(E.EINVAL)
    if t.fs.confined and stat.S_IFMT(mode) in (stat.S_IFCHR, stat.S_IFBLK):
        # A device node made inside the root would open the whole disk (or
        # memory) below it: a confined guest may not make one, as an
        # unprivileged process may not.
        raise KernelError(E.EPERM)
    with parent_at(t, dirfd, read_path(t, path), E.EEXIST) as (d, last):
        host_syscall(SYS_mknodat, ctypes.c_long(d), ctypes.c_char_p(last),
                     ctypes.c_long(mode & ~t.fs.umask & 0xFFFFFFFF), ctypes.c_long(dev))
    return 0


@syscall("mknod", "path mode uint")
def sys_mknod(t, path, mode, dev):
    return _mknod(t, AT_FDCWD, path, mode, dev)


@syscall("mknodat", "dirfd path mode uint")
def sys_mknodat(t, dirfd, path, mode, dev):
    return _mknod(t, dirfd, path, mode, dev)


def _id(v, bits):
    """An owner argument: -1 (of the call's width) keeps the owner."""
    full = (1 << bits) - 1
    return -1 if v & full == full else v & full


def _chown(t, dirfd, path, uid, gid, flags, bits=32):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        raise KernelError(E.EINVAL)
    p = read_path(t, path) if path or not flags & AT_EMPTY_PATH else b""
    with object_at(t, dirfd, p, flags) as h:
        host_syscall(SYS_fchownat, ctypes.c_long(h), ctypes.c_char_p(b""),
                     ctypes.c_long(_id(uid, bits)), ctypes.c_long(_id(gid, bits)),
                     ctypes.c_long(AT_EMPTY_PATH))
    return 0


@syscall("fchownat", "dirfd path uint uint atflags")
def sys_fchownat(t, dirfd, path, uid, gid, flags):
    return _chown(t, dirfd, path, uid, gid, flags)


@syscall("chown", "path uint uint")
def sys_chown(t, path, uid, gid):
    # i386's chown/lchown/fchown take 16-bit ids; the *32 calls full ones.
    return _chown(t, AT_FDCWD, path, uid, gid, 0, 32 if t.is64 else 16)


@syscall("lchown", "path uint uint")
def sys_lchown(t, path, uid, gid):
    return _chown(t, AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW, 32 if t.is64 else 16)


@syscall("chown32", "path uint uint")
def sys_chown32(t, path, uid, gid):
    return _chown(t, AT_FDCWD, path, uid, gid, 0)


@syscall("lchown32", "path uint uint")
def sys_lchown32(t, path, uid, gid):
    return _chown(t, AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW)


def _fchown(t, fd, uid, gid, bits):
    os.chown(t.files.host(fd), _id(uid, bits), _id(gid, bits))
    return 0


@syscall("fchown", "fd uint uint")
def sys_fchown(t, fd, uid, gid):
    return _fchown(t, fd, uid, gid, 32 if t.is64 else 16)


@syscall("fchown32", "fd uint uint")
def sys_fchown32(t, fd, uid, gid):
    return _fchown(t, fd, uid, gid, 32)
