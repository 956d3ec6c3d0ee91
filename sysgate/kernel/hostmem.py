"""Host memory behind guest memory: mappings sysgate makes in its own
address space (anonymous MAP_NORESERVE memory, a file's pages, shared
memory) and hands to the CPU, and what the host knows of them."""
import ctypes
import mmap as _mmap
import os

from .errors import KernelError, E
from .hostlibc import libc

MAP_NORESERVE = 0x4000
_MADV_DONTNEED = 4


class HostMapping:
    """Host memory the CPU maps directly (uc_mem_map_ptr): private
    anonymous memory, a private (copy-on-write) or shared mapping of a
    file, or shared anonymous memory that a forked child shares. Unmapped
    when the last VMA using it goes (the CPU has let go of it by then)."""

    # Host address space all guest memory may take (uncharged read-only
    # memory costs address space too): beyond it the guest gets ENOMEM,
    # and sysgate keeps the rest of the host's 128 TiB for itself.
    ADDRESS_SPACE_CAP = 1 << 45
    in_use = 0

    def __init__(self, length, prot, flags, fd=-1, offset=0):
        self.addr = self.length = 0
        self.released = []      # host ranges given back already (release)
        if HostMapping.in_use + length > HostMapping.ADDRESS_SPACE_CAP:
            raise OSError(E.ENOMEM, "guest address space cap")
        addr = libc.mmap(None, length, prot, flags, fd, offset)
        if addr is None or addr == ctypes.c_void_p(-1).value:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
        self.addr, self.length = addr, length
        HostMapping.in_use += length

    @classmethod
    def anon(cls, length):
        """Private zero pages that cost nothing until touched."""
        try:
            return cls(length, _mmap.PROT_READ | _mmap.PROT_WRITE,
                       _mmap.MAP_PRIVATE | _mmap.MAP_ANONYMOUS | MAP_NORESERVE)
        except OSError:
            raise KernelError(E.ENOMEM) from None

    @staticmethod
    def drop(ptr, length):
        """Give back the host pages of a private range at once (they read
        as zeros, or as the file again, if the range is used after)."""
        libc.madvise(ctypes.c_void_p(ptr), ctypes.c_size_t(length), _MADV_DONTNEED)

    def release(self, ptr, length):
        """The private range [ptr, ptr+length) is no VMA's any more: its
        host pages and address space go now, not with the last piece."""
        libc.munmap(ctypes.c_void_p(ptr), ctypes.c_size_t(length))
        self.released.append((ptr, ptr + length))
        HostMapping.in_use -= length

    def __del__(self):
        if not self.addr:
            return
        HostMapping.in_use -= self.length - sum(hi - lo for lo, hi in self.released)
        at, end = self.addr, self.addr + self.length
        for lo, hi in sorted(self.released):
            if lo > at:
                libc.munmap(ctypes.c_void_p(at), ctypes.c_size_t(lo - at))
            at = max(at, hi)
        if at < end:
            libc.munmap(ctypes.c_void_p(at), ctypes.c_size_t(end - at))


def host_inode(ptr):
    """(dev, ino) of the host mapping at ptr, from the host's own maps."""
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                rng, _, _, dev, ino = line.split()[:5]
                lo, hi = (int(x, 16) for x in rng.split("-"))
                if lo <= ptr < hi:
                    major, minor = (int(x, 16) for x in dev.split(":"))
                    return major << 8 | minor, int(ino)
    except (OSError, ValueError):
        pass
    return 1, 0


def resident(ptr, length):
    """mincore of the host range: one byte per page, bit 0 set if resident."""
    vec = ctypes.create_string_buffer(length // 4096)
    libc.mincore(ctypes.c_void_p(ptr), ctypes.c_size_t(length), vec)
    return vec.raw

