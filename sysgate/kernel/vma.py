"""A VMA (one mapping of the address space, with what /proc/<pid>/maps
shows of it), the open file behind file mappings, and what a process may
commit (set_memory_limit)."""
import os

from ..abi.consts import (MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE,  # noqa: F401
                          MAP_GROWSDOWN, MAP_PRIVATE, MAP_SHARED, MREMAP_FIXED, MREMAP_MAYMOVE,
                          PROT_EXEC, PROT_READ, PROT_WRITE)
from .hostmem import resident

PAGE = 0x1000

# What one process may commit (see Vma.charge), as Linux's strict overcommit
# accounting counts it. The default bounds a guest whatever the host has.
DEFAULT_MEMORY_LIMIT = 4 << 30
_limit = [DEFAULT_MEMORY_LIMIT]


def _max_map_count():
    try:
        with open("/proc/sys/vm/max_map_count") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 65530


# Linux's per-process bound on mappings, but at most half the host's: every
# guest mapping is one of sysgate's own (or two, once split), and sysgate
# needs some for itself.
MAX_MAP_COUNT = min(_max_map_count(), _max_map_count() // 2 - 1024)


def set_memory_limit(n):
    _limit[0] = n


def memory_limit():
    return _limit[0]


def page_up(x):
    return (x + PAGE - 1) & ~(PAGE - 1)


class Vma:
    """One mapping. Its memory (when backed) is host memory at ptr, held by
    hold (a HostMapping, which several pieces of a split mapping share).
    File mappings keep their file open (file: a MappedFile) and are the
    host's own mapping of the file: shared ones so that the guest's stores
    reach the file as Linux's page cache would, private ones copy on write.
    A mapping made PROT_NONE is only reserved: the CPU gets memory for it
    (backed) when mprotect first allows access, so reserving gigabytes of
    address space costs nothing. A file mapping's pages wholly past the end
    of its file are not backed either: touching one is SIGBUS, unless the
    file has grown since, when the page maps then (fault_in)."""
    __slots__ = ("start", "end", "prot", "shared", "name", "offset", "dev", "ino",
                 "file", "ptr", "backed", "hold", "anon_off")

    def __init__(self, start, end, prot, shared=False, name="", offset=0, dev=0, ino=0,
                 file=None, ptr=0, backed=True, hold=None, anon_off=None):
        self.start, self.end, self.prot, self.shared = start, end, prot, shared
        self.name, self.offset, self.dev, self.ino = name, offset, dev, ino
        self.file, self.ptr, self.backed = file, ptr, backed
        self.hold = hold        # the HostMapping at ptr
        # Linux's vm_pgoff of anonymous memory (in bytes): the address it
        # was mapped at, kept when mremap moves it; two pieces are one VMA
        # only where it runs on.
        self.anon_off = start if anon_off is None else anon_off

    def clone(self, start, end):
        off = self.offset + (start - self.start) if self.ino else 0
        ptr = self.ptr + (start - self.start) if self.ptr else 0
        return Vma(start, end, self.prot, self.shared, self.name, off, self.dev, self.ino,
                   self.file, ptr, self.backed, self.hold, self.anon_off + (start - self.start))

    def charge(self):
        """What the mapping commits, as Linux's VM_ACCOUNT: private
        writable memory and shared anonymous memory; not PROT_NONE
        reservations or read-only private mappings until mprotect makes them
        writable. MAP_NORESERVE is not an exemption (as under strict
        overcommit): the limit has to bound what the guest can touch."""
        if (self.prot & PROT_WRITE and not self.shared) or (self.shared and self.file is None):
            return self.end - self.start
        return 0

    def maps_line(self):
        perms = "".join((c if self.prot & b else "-") for c, b in
                        (("r", PROT_READ), ("w", PROT_WRITE), ("x", PROT_EXEC)))
        perms += "s" if self.shared else "p"
        dev = f"{(self.dev >> 8) & 0xFFF:02x}:{self.dev & 0xFF:02x}" if self.ino else "00:00"
        head = f"{self.start:08x}-{self.end:08x} {perms} {self.offset:08x} {dev} {self.ino}"
        return f"{head:<72} {self.name}".rstrip() if self.name else head


class MappedFile:
    """The open file behind file mappings (a host fd of its own), closed
    with the last VMA."""

    def __init__(self, host, writable, origin=None):
        self.host, self.writable = host, writable
        self.origin = origin if origin is not None else self   # the open file it came from

    def __del__(self):
        try:
            os.close(self.host)
        except OSError:
            pass


def _same_mapping(a, b):
    """b continues a's mapping as Linux sees it: a file mapping split where
    the end of its file falls (one part backed, one lazy), or private
    anonymous memory Linux would have merged (sysgate keeps pieces whose
    host memory is not contiguous apart: a heap grown by brk, say)."""
    if a.end != b.start or a.prot != b.prot or a.shared != b.shared:
        return False
    if a.file is not None:
        # Two mmaps of one open file at consecutive offsets are one VMA.
        return (b.file is not None and a.file.origin is b.file.origin
                and b.offset == a.offset + (a.end - a.start))
    if a.shared:
        # Shared memory is one object (one inode): pieces of it, in order.
        return b.file is None and (a.dev, a.ino) == (b.dev, b.ino)
    return (b.file is None and not a.ino and not b.ino and a.name == b.name
            and b.anon_off == a.anon_off + (a.end - a.start))


# Read-only anonymous memory is not charged, so its size is the guest's
# choice: a large mapping gets CPU memory only where it is touched, a chunk
# at a time (Unicorn's unmap costs time for every page of a region).
DEMAND_MIN = 32 << 20
DEMAND_CHUNK = 2 << 20


def _on_demand(v, prot=None):
    prot = v.prot if prot is None else prot
    return (v.file is None and not v.shared and not prot & PROT_WRITE
            and v.end - v.start >= DEMAND_MIN)


def _touched(v):
    """Whether the guest touched v (Linux: it has an anon_vma)."""
    return v.backed and any(resident(v.ptr, v.end - v.start))


def _cpu_prot(prot):
    # x86 page tables cannot express write- or exec-only pages.
    return prot | PROT_READ if prot else 0
