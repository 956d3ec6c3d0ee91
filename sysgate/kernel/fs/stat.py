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
from .path import SYS_statx, host_syscall

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
    path = read_path(t, path_ptr) if path_ptr else b""
    out = ctypes.create_string_buffer(STATX_SIZE)
    with object_at(t, dirfd, path, flags | (AT_EMPTY_PATH if not path else 0)) as h:
        host_syscall(SYS_statx, ctypes.c_long(h), ctypes.c_char_p(b""),
                     ctypes.c_long(AT_EMPTY_PATH | (flags & AT_STATX_SYNC_TYPE)),
                     ctypes.c_long(mask), out)
    t.mm.write(buf, out.raw)
    return 0

