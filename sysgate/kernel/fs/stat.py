"""The stat family, with each ABI's structure layout:
x86-64 struct stat (144 bytes), i386 struct stat64 (96 bytes, packed),
i386 struct stat (64 bytes, 16-bit ids, EOVERFLOW on big values), and
statx, whose layout both ABIs share (served by the host's statx)."""
import ctypes
import os
import struct

from ..errors import KernelError, E
from ..registry import syscall
from .lookup import AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, object_at, read_path
from ..hostlibc import host_syscall, libc
from .path import SYS_statx

STAT64_X86_64 = struct.Struct("<QQQIIIiQqqqqQqQqQ24x")
STAT64_I386 = struct.Struct("<Q4xIIIIIQ4xqIQIIIIIIQ")
STAT_I386 = struct.Struct("<IIHHHHIIIIIIIIII8x")
assert (STAT64_X86_64.size, STAT64_I386.size, STAT_I386.size) == (144, 96, 64)


def _ns(ns):
    return divmod(ns, 10**9)


def _high2low(i):
    return i if i < 0x10000 else 65534


def pack_stat(st, layout):
    a, an = _ns(st.st_atime_ns)
    m, mn = _ns(st.st_mtime_ns)
    c, cn = _ns(st.st_ctime_ns)
    if layout == "x86_64":
        return STAT64_X86_64.pack(st.st_dev, st.st_ino, st.st_nlink, st.st_mode, st.st_uid,
                                  st.st_gid, 0, st.st_rdev, st.st_size, st.st_blksize,
                                  st.st_blocks, a, an, m, mn, c, cn)
    if layout == "stat64":
        return STAT64_I386.pack(st.st_dev, st.st_ino & 0xFFFFFFFF, st.st_mode, st.st_nlink,
                                st.st_uid, st.st_gid, st.st_rdev, st.st_size, st.st_blksize,
                                st.st_blocks, a & 0xFFFFFFFF, an, m & 0xFFFFFFFF, mn,
                                c & 0xFFFFFFFF, cn, st.st_ino)
    # i386 struct stat: Linux's cp_compat_stat refuses what does not fit.
    if st.st_ino > 0xFFFFFFFF or st.st_size > 0x7FFFFFFF or st.st_nlink > 0xFFFF:
        raise KernelError(E.EOVERFLOW)
    return STAT_I386.pack(st.st_dev & 0xFFFFFFFF, st.st_ino, st.st_mode, st.st_nlink,
                          _high2low(st.st_uid), _high2low(st.st_gid), st.st_rdev & 0xFFFFFFFF,
                          st.st_size, st.st_blksize, st.st_blocks & 0xFFFFFFFF,
                          a & 0xFFFFFFFF, an, m & 0xFFFFFFFF, mn, c & 0xFFFFFFFF, cn)


def _stat_at(t, dirfd, path_ptr, flags, buf, layout):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800):
        raise KernelError(E.EINVAL)
    path = read_path(t, path_ptr) if path_ptr or not flags & AT_EMPTY_PATH else b""
    with object_at(t, dirfd, path, flags) as h:
        st = os.stat(h)
    t.mm.write(buf, pack_stat(st, layout))
    return 0


def _fstat(t, fd, buf, layout):
    t.mm.write(buf, pack_stat(os.stat(t.files.host(fd)), layout))
    return 0


def _own_layout(t):
    return "x86_64" if t.is64 else "stat"


@syscall("stat", "path ptr")
def sys_stat(t, path, buf):
    return _stat_at(t, AT_FDCWD, path, 0, buf, _own_layout(t))


@syscall("lstat", "path ptr")
def sys_lstat(t, path, buf):
    return _stat_at(t, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, buf, _own_layout(t))


@syscall("fstat", "fd ptr")
def sys_fstat(t, fd, buf):
    return _fstat(t, fd, buf, _own_layout(t))


@syscall("newfstatat", "dirfd path ptr atflags")
def sys_newfstatat(t, dirfd, path, buf, flags):
    return _stat_at(t, dirfd, path, flags, buf, "x86_64")


@syscall("stat64", "path ptr")
def sys_stat64(t, path, buf):
    return _stat_at(t, AT_FDCWD, path, 0, buf, "stat64")


@syscall("lstat64", "path ptr")
def sys_lstat64(t, path, buf):
    return _stat_at(t, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, buf, "stat64")


@syscall("fstat64", "fd ptr")
def sys_fstat64(t, fd, buf):
    return _fstat(t, fd, buf, "stat64")


@syscall("fstatat64", "dirfd path ptr atflags")
def sys_fstatat64(t, dirfd, path, buf, flags):
    return _stat_at(t, dirfd, path, flags, buf, "stat64")


AT_STATX_SYNC_TYPE = 0x6000
STATX_SIZE = 256


@syscall("statx", "dirfd path atflags uint ptr")
def sys_statx(t, dirfd, path_ptr, flags, mask, buf):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | AT_STATX_SYNC_TYPE):
        raise KernelError(E.EINVAL)
    if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE or mask & 0x80000000:
        raise KernelError(E.EINVAL)
    # Linux 6.11+: a NULL path is an empty one when AT_EMPTY_PATH is given.
    path = read_path(t, path_ptr) if path_ptr or not flags & AT_EMPTY_PATH else b""
    out = ctypes.create_string_buffer(STATX_SIZE)
    with object_at(t, dirfd, path, flags) as h:
        host_syscall(SYS_statx, ctypes.c_long(h), ctypes.c_char_p(b""),
                     ctypes.c_long(AT_EMPTY_PATH | (flags & AT_STATX_SYNC_TYPE)),
                     ctypes.c_long(mask), out)
    t.mm.write(buf, out.raw)
    return 0



# --- statfs ---------------------------------------------------------------
class _StatFs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_long) for n in ("type", "bsize", "blocks", "bfree", "bavail",
                                             "files", "ffree")] + \
               [("fsid0", ctypes.c_int), ("fsid1", ctypes.c_int)] + \
               [(n, ctypes.c_long) for n in ("namelen", "frsize", "flags", "s0", "s1", "s2",
                                             "s3")]


_fstatfs = libc.fstatfs
STATFS_X86_64 = struct.Struct("<7q2i3q32x")   # 120 bytes
STATFS64_I386 = struct.Struct("<II5Q2i3I16x")  # 84 bytes, packed
STATFS_I386 = struct.Struct("<7I2i3I16x")      # 64 bytes
assert (STATFS_X86_64.size, STATFS64_I386.size, STATFS_I386.size) == (120, 84, 64)


def _host_statfs(h):
    s = _StatFs()
    if _fstatfs(h, ctypes.byref(s)) < 0:
        raise KernelError(ctypes.get_errno())
    return s


def pack_statfs(s, layout):
    v = (s.type, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree)
    tail = (s.namelen, s.frsize, s.flags)
    if layout == "x86_64":
        return STATFS_X86_64.pack(*v, s.fsid0, s.fsid1, *tail)
    if layout == "statfs64":
        return STATFS64_I386.pack(v[0] & 0xFFFFFFFF, v[1], *v[2:], s.fsid0, s.fsid1, *tail)
    # compat_statfs: Linux refuses counts that do not fit in 32 bits.
    if any(x > 0xFFFFFFFF for x in v[2:]):
        raise KernelError(E.EOVERFLOW)
    return STATFS_I386.pack(v[0] & 0xFFFFFFFF, *v[1:], s.fsid0, s.fsid1, *tail)


def _statfs_path(t, path, buf, layout):
    with object_at(t, AT_FDCWD, read_path(t, path), 0) as h:
        data = pack_statfs(_host_statfs(h), layout)
    t.mm.write(buf, data)
    return 0


@syscall("statfs", "path ptr")
def sys_statfs(t, path, buf):
    return _statfs_path(t, path, buf, _own_layout(t) if t.is64 else "statfs")


@syscall("fstatfs", "fd ptr")
def sys_fstatfs(t, fd, buf):
    t.mm.write(buf, pack_statfs(_host_statfs(t.files.host(fd)),
                                "x86_64" if t.is64 else "statfs"))
    return 0


@syscall("statfs64", "path size ptr")
def sys_statfs64(t, path, size, buf):
    if size != STATFS64_I386.size:
        raise KernelError(E.EINVAL)
    return _statfs_path(t, path, buf, "statfs64")


@syscall("fstatfs64", "fd size ptr")
def sys_fstatfs64(t, fd, size, buf):
    if size != STATFS64_I386.size:
        raise KernelError(E.EINVAL)
    t.mm.write(buf, pack_statfs(_host_statfs(t.files.host(fd)), "statfs64"))
    return 0
