"""Memory system calls: brk, the mmap family, mprotect, mremap, madvise."""
import os
import struct

from .errors import KernelError, E
from .mm import (MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED,
                 MREMAP_FIXED, MREMAP_MAYMOVE, PAGE, page_up)
from .registry import syscall

PROT_MASK = 7 | 0x01000000 | 0x02000000   # PROT_GROWSDOWN/UP accepted, ignored


@syscall("brk", "addr")
def sys_brk(t, addr):
    mm = t.mm
    if addr < mm.brk_start:
        return mm.brk_cur
    old_end, new_end = page_up(mm.brk_cur), page_up(addr)
    if new_end > old_end:
        if mm.overlaps(old_end, new_end) or new_end > mm.mmap_base:
            return mm.brk_cur
        mm.map(old_end, new_end - old_end, 3, name="[heap]")
    elif new_end < old_end:
        mm.unmap(new_end, old_end - new_end)
    mm.brk_cur = addr
    return addr


def do_mmap(t, addr, length, prot, flags, fd, pgoff_bytes):
    mm = t.mm
    if length == 0 or addr & (PAGE - 1) or pgoff_bytes & (PAGE - 1):
        raise KernelError(E.EINVAL)
    if prot & ~PROT_MASK:
        raise KernelError(E.EINVAL)
    kind = flags & 0xF
    if kind not in (MAP_SHARED, MAP_PRIVATE, 0x03):
        raise KernelError(E.EINVAL)
    size = page_up(length)
    if size > mm.task_size or size == 0:
        raise KernelError(E.ENOMEM)
    data, name, ident = b"", "", {}
    if not flags & MAP_ANONYMOUS:
        f = t.files.get(fd)
        st = os.fstat(f.host)
        if not (os.path.stat.S_ISREG(st.st_mode) or os.path.stat.S_ISCHR(st.st_mode)):
            raise KernelError(E.ENODEV)
        data = os.pread(f.host, min(size, max(st.st_size - pgoff_bytes, 0)), pgoff_bytes) \
            if os.path.stat.S_ISREG(st.st_mode) else b""
        name, ident = f.path, {"offset": pgoff_bytes, "dev": st.st_dev, "ino": st.st_ino}
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr + size > mm.task_size:
            raise KernelError(E.ENOMEM)
        if flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED and mm.overlaps(addr, addr + size):
            raise KernelError(E.EEXIST)
        start = addr
    else:
        start = mm.find_free(size, addr)
    prot &= 7
    mm.map(start, size, prot, data, shared=kind == MAP_SHARED, name=name, **ident)
    return start


@syscall("mmap", "addr size prot mflags fd off")
def sys_mmap(t, addr, length, prot, flags, fd, off):
    return do_mmap(t, addr, length, prot, flags, fd, off)


@syscall("mmap2", "addr size prot mflags fd ulong")
def sys_mmap2(t, addr, length, prot, flags, fd, pgoff):
    return do_mmap(t, addr, length, prot, flags, fd, pgoff * PAGE)


@syscall("old_mmap", "ptr")
def sys_old_mmap(t, args):
    addr, length, prot, flags, fd, off = struct.unpack("<6I", t.mm.read(args, 24))
    if off & (PAGE - 1):
        raise KernelError(E.EINVAL)
    return do_mmap(t, addr, length, prot, flags, fd - (1 << 32) if fd >> 31 else fd, off)


@syscall("munmap", "addr size")
def sys_munmap(t, addr, length):
    if addr & (PAGE - 1) or length == 0 or addr + length > t.mm.task_size:
        raise KernelError(E.EINVAL)
    t.mm.unmap(addr, length)
    return 0


@syscall("mprotect", "addr size prot")
def sys_mprotect(t, addr, length, prot):
    if addr & (PAGE - 1) or prot & ~PROT_MASK:
        raise KernelError(E.EINVAL)
    if length == 0:
        return 0
    t.mm.protect(addr, length, prot & 7)
    return 0


@syscall("mremap", "addr size size mflags addr")
def sys_mremap(t, old, old_len, new_len, flags, new_addr):
    mm = t.mm
    if old & (PAGE - 1) or flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | 4) or new_len == 0:
        raise KernelError(E.EINVAL)
    if flags & MREMAP_FIXED and not flags & MREMAP_MAYMOVE:
        raise KernelError(E.EINVAL)
    old_len, new_len = page_up(old_len), page_up(new_len)
    v = mm.find(old)
    if v is None or old + old_len > v.end:
        raise KernelError(E.EFAULT)
    if new_len <= old_len and not flags & MREMAP_FIXED:
        if new_len < old_len:
            mm.unmap(old + new_len, old_len - new_len)
        return old
    if not flags & MREMAP_FIXED and not mm.overlaps(old + old_len, old + new_len) \
            and old + new_len <= mm.task_size:
        mm.map(old + old_len, new_len - old_len, v.prot, shared=v.shared, name=v.name)
        return old
    if not flags & MREMAP_MAYMOVE:
        raise KernelError(E.ENOMEM)
    data = bytes(mm.cpu.mem_read(old, min(old_len, new_len)))
    dest = new_addr if flags & MREMAP_FIXED else mm.find_free(new_len)
    if dest & (PAGE - 1):
        raise KernelError(E.EINVAL)
    prot, shared, name = v.prot, v.shared, v.name
    mm.unmap(old, old_len)
    mm.map(dest, new_len, prot, data, shared=shared, name=name)
    return dest


MADV_DONTNEED = 4


@syscall("madvise", "addr size int")
def sys_madvise(t, addr, length, advice):
    if addr & (PAGE - 1):
        raise KernelError(E.EINVAL)
    if advice == MADV_DONTNEED:
        # Private anonymous pages read back as zeros afterwards.
        for s, e in t.mm.mapped_ranges(addr, page_up(addr + length)):
            v = t.mm.find(s)
            if not v.ino and not v.shared:
                t.mm.write_kernel(s, bytes(e - s))
    return 0
