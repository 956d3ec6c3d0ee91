"""Page-cache hints and partial syncs on one open file: readahead and
sync_file_range, the host's own (the guest's fd is a host fd). i386 passes
the 64-bit offsets in two registers (Linux's compat_sys_ia32_* forms)."""
import ctypes

from ..errors import KernelError, E
from ..hostlibc import host_syscall
from ..registry import syscall
from ..tables.unistd import NR_X86_64

SYS_READAHEAD, SYS_SYNC_FILE_RANGE = NR_X86_64["readahead"], NR_X86_64["sync_file_range"]
SYNC_FILE_RANGE_FLAGS = 1 | 2 | 4


def _s64(lo, hi):
    v = (hi & 0xFFFFFFFF) << 32 | (lo & 0xFFFFFFFF)
    return v - (1 << 64) if v >> 63 else v


def _readahead(t, fd, off, count):
    host = t.files.host(fd)
    host_syscall(SYS_READAHEAD, ctypes.c_long(host), ctypes.c_long(off),
                 ctypes.c_size_t(count))
    return 0


@syscall("readahead", "fd off size")
def sys_readahead(t, fd, off, count):
    return _readahead(t, fd, off, count)


@syscall("i386:readahead", "fd uint uint uint")
def sys_ia32_readahead(t, fd, lo, hi, count):
    return _readahead(t, fd, _s64(lo, hi), count)


def _sync_file_range(t, fd, off, nbytes, flags):
    if flags & ~SYNC_FILE_RANGE_FLAGS:
        raise KernelError(E.EINVAL)
    host = t.files.host(fd)
    host_syscall(SYS_SYNC_FILE_RANGE, ctypes.c_long(host), ctypes.c_long(off),
                 ctypes.c_long(nbytes), ctypes.c_uint(flags))
    return 0


@syscall("sync_file_range", "fd off off flags")
def sys_sync_file_range(t, fd, off, nbytes, flags):
    return _sync_file_range(t, fd, off, nbytes, flags)


@syscall("i386:sync_file_range", "fd uint uint uint uint flags")
def sys_ia32_sync_file_range(t, fd, olo, ohi, nlo, nhi, flags):
    return _sync_file_range(t, fd, _s64(olo, ohi), _s64(nlo, nhi), flags)
