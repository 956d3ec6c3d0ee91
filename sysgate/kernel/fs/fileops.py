"""What else a guest does to an open file: fsync, ftruncate, fchmod,
fadvise, fallocate, flock, sendfile; and sync."""
import ctypes
import os
import stat

from ...abi.structs import join64, read_struct, write_struct
from ..errors import KernelError, E
from ..hostlibc import libc
from ..registry import syscall
from ..sched import host_call
from .open import _truncate_host
from .rw import MAX_NON_LFS, MAX_RW_COUNT, _lfs_count


@syscall("fsync", "file", sync=os.fsync)
@syscall("fdatasync", "file", sync=os.fdatasync)
def sys_fsync(t, f, sync):
    sync(f.host)
    return 0


def _ftruncate(t, f, length, small):
    if length < 0:
        raise KernelError(E.EINVAL)
    if small and f.nolfs and length > MAX_NON_LFS:
        raise KernelError(E.EINVAL)
    _truncate_host(t, f.host, length)
    return 0


@syscall("ftruncate", "file off")
def sys_ftruncate(t, f, length):
    # i386's ftruncate takes a compat_ulong_t: -1 is 4 GiB - 1.
    if not t.is64:
        length &= 0xFFFFFFFF
    return _ftruncate(t, f, length, not t.is64)


@syscall("ftruncate64", "file uint uint")
def sys_ftruncate64(t, f, lo, hi):
    return _ftruncate(t, f, join64(lo, hi), False)


@syscall("fchmod", "file mode")
def sys_fchmod(t, f, mode):
    os.chmod(f.host, mode & 0o7777)
    return 0


# The advice is all these take from their arguments (the range, one or two
# registers each, only says where it applies).
@syscall("fadvise64", "file off off int")
@syscall("i386:fadvise64", "file uint uint uint int")
@syscall("fadvise64_64", "file uint uint uint uint int")
def sys_fadvise64(t, f, *args):
    advice = args[-1]
    if not 0 <= advice <= 5:
        raise KernelError(E.EINVAL)
    if stat.S_ISFIFO(os.fstat(f.host).st_mode):
        raise KernelError(E.ESPIPE)
    return 0


@syscall("sendfile", "file file ptr size", wide=False)
@syscall("sendfile64", "file file ptr size", wide=True)
def sys_sendfile(t, out, inp, off_ptr, count, wide):
    name = "loff" if wide else "off"
    off = None
    if off_ptr:
        off = read_struct(t, off_ptr, name)[0]
        if off < 0:
            raise KernelError(E.EINVAL)
    count = min(count, MAX_RW_COUNT)
    if out.nolfs:
        count = _lfs_count(t, out, count, None)
    if inp.blocks or out.blocks:
        # A pipe at either end may block: on the host, where a signal
        # pokes the call out (sched.host_call).
        offp = ctypes.byref(ctypes.c_int64(off)) if off is not None else None
        n = host_call(t, libc.sendfile, out.host, inp.host, offp, ctypes.c_size_t(count))
    else:
        n = os.sendfile(out.host, inp.host, off, count)
    if off_ptr:
        write_struct(t, off_ptr, name, off + n)
    return n


@syscall("fallocate", "file int off off")
def sys_fallocate(t, f, mode, off, length):
    if off < 0 or length <= 0:
        raise KernelError(E.EINVAL)
    if mode == 0:
        os.posix_fallocate(f.host, off, length)
        return 0
    r = _libc_fallocate(f.host, mode, ctypes.c_long(off), ctypes.c_long(length))
    if r < 0:
        raise KernelError(ctypes.get_errno())
    return 0


_libc_fallocate = libc.fallocate


@syscall("i386:fallocate", "file int uint uint uint uint")
def sys_ia32_fallocate(t, f, mode, olo, ohi, llo, lhi):
    return sys_fallocate(t, f, mode, join64(olo, ohi), join64(llo, lhi))


@syscall("flock", "file int")
def sys_flock(t, f, op):
    # One guest process holds every lock it takes: an uncontended flock.
    if op & ~(1 | 2 | 4 | 8) or not op & 0xB or (op & 1 and op & 2):
        raise KernelError(E.EINVAL)
    return 0


@syscall("sync")
def sys_sync(t):
    os.sync()
    return 0


@syscall("syncfs", "file")
def sys_syncfs(t, f):
    return 0
