"""A file's position and a directory's entries: lseek, _llseek, getdents64."""
import ctypes
import os
import stat
import struct

from ...abi.consts import PROT_WRITE
from ...abi.structs import join64
from ..errors import KernelError, E
from ..hostlibc import host_syscall
from ..registry import syscall
from ..tables.unistd import NR_I386, NR_X86_64
from .blocking import CHUNK
from .lookup import in_proc
from .path import compat, compat_call
from .proc import dirents as proc_dirents


@syscall("lseek", "file off int")
def sys_lseek(t, f, off, whence):
    h = f.host
    if not 0 <= whence <= 4:
        raise KernelError(E.EINVAL)
    if not t.is64 and f.isdir and compat():
        # A compat lseek: 32-bit directory cookies.
        return compat_call(NR_I386["lseek"], h, off & 0xFFFFFFFF, whence)
    pos = os.lseek(h, off, whence)
    if not t.is64 and pos > 0x7FFFFFFF:
        raise KernelError(E.EOVERFLOW)
    return pos


@syscall("_llseek", "file ulong ulong ptr int")
def sys_llseek(t, f, hi, lo, result, whence):
    h = f.host
    if not 0 <= whence <= 4:
        raise KernelError(E.EINVAL)
    c = not t.is64 and f.isdir and compat()
    if c:
        compat_call(NR_I386["_llseek"], h, hi & 0xFFFFFFFF, lo & 0xFFFFFFFF, c[2], whence)
        pos = c[1][:8]
    else:
        pos = struct.pack("<q", os.lseek(h, join64(lo, hi), whence))
    t.mm.write(result, pos)
    return 0


# --- directories ----------------------------------------------------------
@syscall("getdents64", "file obuf size")
def sys_getdents64(t, f, buf, count):
    h = f.host
    count = min(count & 0xFFFFFFFF, CHUNK)
    if t.mm.extent(buf, min(count, 24), PROT_WRITE) < min(count, 24):
        if not stat.S_ISDIR(os.fstat(h).st_mode):
            raise KernelError(E.ENOTDIR)
        raise KernelError(E.EFAULT)
    if f.isdir and in_proc(f):
        data = proc_dirents(t, f, count)
    elif not t.is64 and f.isdir and compat():
        # A compat caller gets 32-bit offsets (ext4 hashes): glibc's i386
        # readdir refuses 64-bit ones with EOVERFLOW.
        _, scratch, addr, _ = compat()
        n = compat_call(NR_I386["getdents64"], h, addr, count)
        data = scratch[:n]
    else:
        tmp = ctypes.create_string_buffer(count)
        n = host_syscall(NR_X86_64["getdents64"], ctypes.c_long(h), tmp, ctypes.c_long(count))
        data = tmp.raw[:n]
    t.mm.write(buf, data)
    return len(data)
