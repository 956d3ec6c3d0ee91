"""The address space: a sorted VMA list kept in step with the CPU's mappings,
and the typed user-memory accessors handlers use (EFAULT, never a crash).

Every byte of guest memory is host memory sysgate maps itself (anonymous
MAP_NORESERVE memory, or the file for file mappings) and hands to the CPU
with uc_mem_map_ptr: Unicorn then splits, protects and unmaps regions
without copying them, pages the guest never touches cost the host nothing,
a host fork copies on write, and mremap moves pages by moving the CPU's
view of them. What a process may commit is bounded (set_memory_limit)."""
import bisect
import ctypes
import mmap as _mmap
import os
import struct

from unicorn import UcError

from .errors import KernelError, E
from .hostmem import HostMapping, host_inode, resident

PAGE = 0x1000
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_GROWSDOWN, MAP_FIXED_NOREPLACE = 0x100, 0x100000
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2

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


class AddressSpace:
    def __init__(self, cpu, is64):
        self.cpu = cpu
        self.is64 = is64
        self.task_size = (1 << 47) - PAGE if is64 else 0xFFFFE000
        self.vmas = []
        self.starts = []
        self._last = None
        self.mmap_base = 0
        self.brk_start = self.brk_cur = 0
        self.file_maps = False  # whether a file was ever mapped (truncate must look)
        self.dirty = None       # pages written while tracking (see track_writes)
        self.committed = 0      # sum of the VMAs' charge()

    # --- the VMA list ----------------------------------------------------
    def _insert(self, v):
        self._last = None
        self.committed += v.charge()
        i = bisect.bisect(self.starts, v.start)
        self.vmas.insert(i, v)
        self.starts.insert(i, v.start)

    def _carve(self, start, end):
        """Remove [start, end) from the VMA list (splitting); CPU untouched."""
        self._last = None      # the one-entry cache of find()
        out = []
        i = max(bisect.bisect(self.starts, start) - 1, 0)
        while i < len(self.vmas):
            v = self.vmas[i]
            if v.start >= end:
                break
            if v.end <= start:
                i += 1
                continue
            del self.vmas[i], self.starts[i]
            self.committed -= v.charge()
            out.append(v.clone(max(v.start, start), min(v.end, end)))
            if v.start < start:
                self._insert(v.clone(v.start, start))
                i += 1
            if v.end > end:
                self._insert(v.clone(end, v.end))
                i += 1
        return out

    def find(self, addr):
        v = self._last
        if v is not None and v.start <= addr < v.end:
            return v
        i = bisect.bisect(self.starts, addr) - 1
        if i >= 0 and self.vmas[i].end > addr:
            self._last = v = self.vmas[i]
            return v
        return None

    def overlaps(self, start, end):
        i = bisect.bisect_left(self.starts, end) - 1
        return i >= 0 and self.vmas[i].end > start

    def charge_in(self, start, end):
        """What [start, end) commits now."""
        total, vmas = 0, self.vmas
        for i in range(max(bisect.bisect(self.starts, start) - 1, 0), len(vmas)):
            v = vmas[i]
            if v.start >= end:
                break
            if v.end > start and v.charge():
                total += min(v.end, end) - max(v.start, start)
        return total

    def check_count(self, start=None, end=None):
        """ENOMEM when one more mapping would pass MAX_MAP_COUNT (with
        start, end: only if changing [start, end) splits a mapping)."""
        if len(self.vmas) + 2 <= MAX_MAP_COUNT:
            return
        if start is not None:
            a, b = self.find(start), self.find(end - 1)
            if not (a is not None and a.start < start or b is not None and b.end > end):
                return
        raise KernelError(E.ENOMEM)

    def check_commit(self, start, end, new):
        """ENOMEM if [start, end) committing new bytes (instead of what it
        commits now) takes the process past its limit."""
        if new and self.committed - self.charge_in(start, end) + new > _limit[0]:
            raise KernelError(E.ENOMEM)

    def mapped_ranges(self, start, end):
        """Contiguously mapped sub-ranges of [start, end)."""
        out = []
        vmas = self.vmas
        for i in range(max(bisect.bisect(self.starts, start) - 1, 0), len(vmas)):
            v = vmas[i]
            if v.start >= end:
                break
            if v.end <= start:
                continue
            s, e = max(v.start, start), min(v.end, end)
            if out and out[-1][1] == s:
                out[-1][1] = e
            else:
                out.append([s, e])
        return out

    # --- mapping -----------------------------------------------------------
    def map(self, start, length, prot, data=b"", ptr=0, lazy=False, hold=None, **kw):
        """Map [start, start+length) fresh (replacing what was there): with
        data copied in, the host memory at ptr (held by hold) itself, or
        (lazy) nothing yet: file pages past the end of the file. ENOMEM
        before anything changes if the process would commit too much."""
        end = page_up(start + length)
        v = Vma(start, end, prot, ptr=ptr, hold=hold, **kw)
        self.check_commit(start, end, v.charge())
        self.check_count()
        v.backed = bool(prot or data or ptr) and not lazy
        if v.backed and not (data or ptr) and _on_demand(v):
            v.backed = False
        if v.backed and not ptr:
            v.hold = HostMapping.anon(end - start)
            v.ptr = v.hold.addr
        self.unmap(start, end - start)
        if v.backed:
            try:
                self.cpu.map_ptr(start, end - start, _cpu_prot(prot), v.ptr)
            except UcError:
                raise KernelError(E.ENOMEM) from None
        if data:
            self.cpu.mem_write(start, bytes(data))
        self._insert(v)
        if kw.get("file") is not None:
            self.file_maps = True
        self._merge_around(start, end)
        return start

    def map_file(self, start, size, prot, shared, mf, offset, **ident):
        """Map size bytes of the file mf from offset (page-aligned): the
        pages the file covers now, shared ones as the host's own mapping of
        the file so that stores reach it, private ones as a copy; the pages
        past its end lazily."""
        fsize = os.fstat(mf.host).st_size
        in_file = min(size, max(page_up(fsize) - offset, 0))
        if in_file and shared:
            # The host maps whole pages; its mmap object wants the length
            # inside the file.
            prot_host = _mmap.PROT_READ | (_mmap.PROT_WRITE if mf.writable else 0)
            m = HostMapping(in_file, prot_host, _mmap.MAP_SHARED, mf.host, offset)
            self.map(start, in_file, prot, ptr=m.addr, shared=True, file=mf, offset=offset,
                     hold=m, **ident)
        elif in_file:
            self._map_private_file(start, in_file, prot, mf, offset, ident)
        if in_file < size:
            self.map(start + in_file, size - in_file, prot, lazy=True, shared=shared, file=mf,
                     offset=offset + in_file, **ident)

    def _map_private_file(self, start, size, prot, mf, offset, ident):
        """The host's own private mapping of the file: untouched pages are
        the file's (a sparse file's holes cost nothing), written ones the
        process's own copies. A file the host cannot map is read into
        anonymous memory instead, straight into the host pages."""
        m = None
        try:
            m = HostMapping(size, _mmap.PROT_READ | _mmap.PROT_WRITE, _mmap.MAP_PRIVATE,
                            mf.host, offset)
        except OSError:
            pass
        if m is None:
            m = HostMapping.anon(size)
            try:
                os.preadv(mf.host, [(ctypes.c_char * size).from_address(m.addr)], offset)
            except OSError:
                raise KernelError(E.ENODEV) from None
        self.map(start, size, prot, ptr=m.addr, hold=m, file=mf, offset=offset, **ident)

    def map_shared_anon(self, start, size, prot):
        """Shared anonymous memory: host memory mapped shared, so that a
        forked child (a forked host process) shares it, as after Linux's
        fork; Linux names it /dev/zero (deleted), a shmem inode."""
        m = HostMapping(size, _mmap.PROT_READ | _mmap.PROT_WRITE,
                        _mmap.MAP_SHARED | _mmap.MAP_ANONYMOUS)
        dev, ino = host_inode(m.addr)
        self.map(start, size, prot, ptr=m.addr, shared=True, name="/dev/zero (deleted)",
                 dev=dev, ino=ino, hold=m)

    def grow_shared(self, v, start, size):
        """mremap growing shared anonymous memory (v the piece before
        start): it maps more of the same object, whose size stays what it
        was (a shmem file's): pages past its end are SIGBUS."""
        off = v.offset + (start - v.start)          # in the object
        inside, hold = 0, v.hold if v.backed else None
        if hold is not None:
            inside = max(0, min(size, hold.length - off))
            if inside:
                self.map(start, inside, v.prot, ptr=hold.addr + off, hold=hold, shared=True,
                         name=v.name, offset=off, dev=v.dev, ino=v.ino)
        if size > inside:
            self.map(start + inside, size - inside, v.prot, lazy=True, shared=True,
                     name=v.name, offset=off + inside, dev=v.dev, ino=v.ino)

    def fault_in(self, addr, kind=None):
        """A touch of addr (a read, write or exec) found no memory: True if
        it was a file page past the end of the file that the file now covers
        (mapped now: retry), False if it is still past the end (SIGBUS),
        None if addr is no such page or the mapping forbids the access
        (SIGSEGV: Linux checks the access before it asks the file)."""
        v = self.find(addr)
        if v is None or v.backed or not v.prot:
            return None
        need = {"read": PROT_READ, "write": PROT_WRITE, "exec": PROT_EXEC}.get(kind, 0)
        if need and not _cpu_prot(v.prot) & need:
            return None
        if v.file is None and not v.shared:
            return self._back(addr)
        if v.file is None:
            return False            # shared memory grown past its object (grow_shared)
        page = addr & ~(PAGE - 1)
        offset = v.offset + (page - v.start)
        if offset >= page_up(os.fstat(v.file.host).st_size):
            return False
        try:
            self.map_file(page, v.end - page, v.prot, v.shared, v.file, offset,
                          name=v.name, dev=v.dev, ino=v.ino)
        except (OSError, ValueError, KernelError):
            return False            # the file shrank again meanwhile: past its end
        return self.find(addr) is not None and self.find(addr).backed

    def _back(self, addr):
        """Give the CPU memory for the stretch of a large read-only
        anonymous mapping around addr (see _on_demand): True, retry."""
        v = self.find(addr)
        lo = max(v.start, addr & ~(DEMAND_CHUNK - 1))
        hi = min(v.end, (addr & ~(DEMAND_CHUNK - 1)) + DEMAND_CHUNK)
        hold = HostMapping.anon(hi - lo)
        (p,) = self._carve(lo, hi)
        try:
            self.cpu.map_ptr(lo, hi - lo, _cpu_prot(p.prot), hold.addr)
        except UcError:
            self._insert(p)
            raise KernelError(E.ENOMEM) from None
        p.backed, p.ptr, p.hold = True, hold.addr, hold
        self._insert(p)
        return True

    def unmap(self, start, length):
        end = page_up(start + length)
        for v in self._carve(start, end):
            if v.backed:
                self.cpu.unmap(v.start, v.end - v.start)
                if not v.shared:
                    # Other pieces may keep the host mapping: this part
                    # goes now. (Shared memory lives while any piece does,
                    # as a shmem object does.)
                    v.hold.release(v.ptr, v.end - v.start)

    def move(self, old, size, dest):
        """Move the mappings of [old, old+size) to dest (free by now): the
        same host pages, shown to the CPU at the new place."""
        pieces = self._carve(old, old + size)
        for v in pieces:
            if v.backed:
                self.cpu.unmap(v.start, v.end - v.start)
        for v in pieces:
            n = v.clone(v.start, v.end)
            n.start, n.end = v.start - old + dest, v.end - old + dest
            if v.file is None and not v.shared and not _touched(v):
                # copy_vma: anonymous memory never faulted takes the offset
                # of its new place (so it merges there).
                n.anon_off = n.start
            if n.backed:
                try:
                    self.cpu.map_ptr(n.start, n.end - n.start, _cpu_prot(n.prot), n.ptr)
                except UcError:
                    raise KernelError(E.ENOMEM) from None
            self._insert(n)
        self._merge_around(dest, dest + size)

    def discard(self, start, length):
        """MADV_DONTNEED on private memory: anonymous pages read back as
        zeros, a file's as the file again; code there is translated anew."""
        for s, e in self.mapped_ranges(start, start + length):
            a = s
            while a < e:
                v = self.find(a)
                b = min(v.end, e)
                if v.backed and not v.shared:
                    HostMapping.drop(v.ptr + (a - v.start), b - a)
                    if self.dirty is not None:
                        self._mark(a, b - a)
                    if v.prot & PROT_EXEC:
                        self.cpu.uc.ctl_remove_cache(a, b)
                a = b

    def before_truncate(self, dev, ino, size):
        """The file (dev, ino) is cut to size: its pages past the new end
        leave every mapping of it, private copies included (Linux's
        truncate_pagecache unmaps even COWed pages), so the next touch is
        SIGBUS. Host pages must go before the host file shrinks under them:
        the CPU touching one would fault in sysgate itself."""
        if not self.file_maps:
            return
        keep = page_up(size)
        for v in list(self.vmas):
            if (v.file is not None and v.backed and v.dev == dev and v.ino == ino
                    and v.offset + (v.end - v.start) > keep):
                cut = max(v.start, v.start + keep - v.offset)
                self.map(cut, v.end - cut, v.prot, lazy=True, shared=v.shared, name=v.name,
                         offset=v.offset + (cut - v.start), dev=dev, ino=ino, file=v.file)

    # --- a vfork child's view: its stores belong to its parent too ----------
    def track_writes(self):
        """Start recording which pages get written (a CLONE_VM|CLONE_VFORK
        child, whose memory is its parent's on Linux): writable private
        memory becomes read-only for the CPU, and the first store to each
        page faults into note_write."""
        self.dirty = set()
        for v in self.vmas:
            if v.backed and not v.shared and v.prot & PROT_WRITE:
                self.cpu.protect(v.start, v.end - v.start, _cpu_prot(v.prot) & ~PROT_WRITE)

    def stop_tracking(self):
        """Writes are plain writes again (a process forked by a vfork child
        has memory of its own)."""
        if self.dirty is None:
            return
        self.dirty = None
        for v in self.vmas:
            if v.backed and not v.shared and v.prot & PROT_WRITE:
                self.cpu.protect(v.start, v.end - v.start, _cpu_prot(v.prot))

    def note_write(self, addr):
        """A store faulted at addr while tracking: True if it was one that
        the mapping allows (the page is recorded and made writable)."""
        v = self.find(addr)
        if self.dirty is None or v is None or not v.prot & PROT_WRITE or v.shared:
            return False
        page = addr & ~(PAGE - 1)
        if page in self.dirty:
            return False            # already writable: the fault is not ours
        self.dirty.add(page)
        self.cpu.protect(page, PAGE, _cpu_prot(v.prot))
        return True

    def _mark(self, addr, n):
        if n:
            self.dirty.update(range(addr & ~(PAGE - 1), addr + n, PAGE))

    def written_pages(self):
        """[(address, bytes)] of the recorded pages still mapped."""
        out = []
        for page in sorted(self.dirty or ()):
            v = self.find(page)
            # Only memory user code may write: the vvar page the kernel
            # keeps is each process's own business.
            if v is not None and v.backed and not v.shared and v.prot & PROT_WRITE:
                out.append((page, self.cpu.mem_read(page, PAGE)))
        return out

    def usable(self, addr, need):
        """The VMA at addr if the kernel may access it with need, its file
        page past the end of the file mapped first if the file has grown;
        None where user code would fault (EFAULT for a system call)."""
        v = self.find(addr)
        if v is None or not _cpu_prot(v.prot) & need:
            return None
        if not v.backed:
            if not self.fault_in(addr):
                return None
            v = self.find(addr)
        return v

    def extent(self, addr, n, need):
        """How many bytes from addr on (at most n) are mapped with need."""
        end, a = addr + n, addr
        while a < end:
            v = self.usable(a, need)
            if v is None:
                break
            a = v.end
        return max(min(a, end) - addr, 0)

    def host_buffers(self, addr, n, need=PROT_READ):
        """([views of the host memory behind the guest's], length) for
        [addr, addr+n) as far as it is mapped with need (see extent): a
        host call can read guest memory in place, however large. Not for
        stores into it (the CPU would not see code change, nor a vfork child
        its pages written)."""
        out, a, end = [], addr, addr + n
        while a < end:
            v = self.usable(a, need)
            if v is None:
                break
            b = min(v.end, end)
            out.append((ctypes.c_char * (b - a)).from_address(v.ptr + (a - v.start)))
            a = b
        return out, a - addr

    def peek(self, addr, n):
        """Read memory a caller has already checked (see extent)."""
        return self.cpu.mem_read(addr, n)

    def protect(self, start, length, prot, refuse=None):
        """mprotect as do_mprotect_pkey does it: mapping by mapping from
        start, each changed before the next is looked at, so a hole (ENOMEM)
        or a mapping refuse(v) refuses (raising) leaves the ones before it
        changed."""
        end = page_up(start + length)
        if self.find(start) is None:
            raise KernelError(E.ENOMEM)
        new = 0
        for s, e in self.mapped_ranges(start, end):
            a = s
            while a < e:
                v = self.find(a)
                b = min(v.end, e)
                if (prot & PROT_WRITE and not v.shared) or (v.shared and v.file is None):
                    new += b - a
                a = b
        self.check_commit(start, end, new)
        self.check_count(start, end)
        at = start
        try:
            while at < end:
                v = self.find(at)
                if v is None:
                    raise KernelError(E.ENOMEM)
                if refuse is not None:
                    refuse(v)
                stop = min(v.end, end)
                self._protect_one(at, stop, prot)
                at = stop
        finally:
            self._merge_around(start, at)

    def _protect_one(self, start, end, prot):
        """Change the protection of [start, end), part of one mapping."""
        if self.dirty is not None:
            self._mark(start, end - start)     # its stores can no longer be seen
        for v in self._carve(start, end):
            if v.backed and v.prot & PROT_EXEC and not prot & PROT_EXEC:
                # Code translated from here must not outlive the right to
                # run it (the page may be written and made executable again).
                self.cpu.uc.ctl_remove_cache(v.start, v.end)
            v.prot = prot
            if v.backed:
                self.cpu.protect(v.start, v.end - v.start, _cpu_prot(prot))
            elif prot and v.file is None and not v.shared and not _on_demand(v, prot):
                try:
                    hold = HostMapping.anon(v.end - v.start)
                    self.cpu.map_ptr(v.start, v.end - v.start, _cpu_prot(prot), hold.addr)
                except (UcError, KernelError):
                    v.prot = 0
                    self._insert(v)
                    raise KernelError(E.ENOMEM) from None
                v.backed, v.ptr, v.hold = True, hold.addr, hold
            self._insert(v)

    def _merge_around(self, start, end):
        i = max(bisect.bisect(self.starts, start) - 2, 0)
        while i + 1 < len(self.vmas) and self.vmas[i].start <= end:
            a, b = self.vmas[i], self.vmas[i + 1]
            if (a.end == b.start and a.prot == b.prot and a.shared == b.shared
                    and a.name == b.name and a.ino == b.ino and a.backed == b.backed
                    and a.file is b.file and a.hold is b.hold
                    and (not a.backed or a.ptr + (a.end - a.start) == b.ptr)
                    and b.anon_off == a.anon_off + (a.end - a.start)
                    and (a.file is None or b.offset == a.offset + (a.end - a.start))):
                a.end = b.end
                self._last = None
                del self.vmas[i + 1], self.starts[i + 1]
            else:
                i += 1

    def find_free(self, length, hint=0, below=None):
        """A free range, top-down from the mmap base (or from `below`, for
        an i386 call from a 64-bit process, whose result must fit 32 bits)."""
        length = page_up(length)
        limit = self.task_size if below is None else below
        if hint and hint + length <= limit and not self.overlaps(hint, hint + length):
            return hint
        top = self.mmap_base if below is None else min(self.mmap_base, below)
        for v in reversed(self.vmas):
            if v.start >= top:
                continue
            if v.end <= top - length:
                return top - length
            top = min(top, v.start)
        if top - length >= 0x10000:
            return top - length
        raise KernelError(E.ENOMEM)

    # --- user memory access ----------------------------------------------
    def _check(self, addr, n, need):
        if n == 0:
            return
        end = addr + n
        if addr < 0 or end > self.task_size:
            raise KernelError(E.EFAULT)
        while addr < end:
            v = self.usable(addr, need)
            if v is None:
                raise KernelError(E.EFAULT)
            addr = v.end

    def read(self, addr, n):
        self._check(addr, n, PROT_READ)
        return self.cpu.mem_read(addr, n) if n else b""

    def write(self, addr, data):
        self._check(addr, len(data), PROT_WRITE)
        if data:
            self.write_kernel(addr, data)

    def write_kernel(self, addr, data):
        """Write regardless of protection (loading, vvar updates)."""
        try:
            self.cpu.mem_write(addr, bytes(data))
        except UcError:
            # Memory the guest has unmapped since (its vvar page, whose
            # data Linux keeps up to date whether mapped or not): only the
            # parts still mapped are written.
            for s, e in self.mapped_ranges(addr, addr + len(data)):
                if self.find(s).backed:
                    self.cpu.mem_write(s, bytes(data[s - addr:e - addr]))
            return
        if self.dirty is not None:
            self._mark(addr, len(data))
        v = self.find(addr)
        if v is not None and (v.prot & PROT_EXEC or v.end < addr + len(data)):
            # Unicorn's own writes leave code it translated from here in
            # place: a read(2) into a JIT's buffer must be seen.
            self.cpu.uc.ctl_remove_cache(addr, addr + len(data))

    def read_cstr(self, addr, limit=4096):
        """A NUL-terminated string; ENAMETOOLONG past limit, as strncpy_from_user."""
        out = bytearray()
        while len(out) < limit:
            v = self.usable(addr, PROT_READ)
            if v is None:
                raise KernelError(E.EFAULT)
            chunk = self.cpu.mem_read(addr, min(v.end - addr, 256, limit - len(out)))
            nul = chunk.find(b"\0")
            if nul >= 0:
                out += chunk[:nul]
                return bytes(out)
            out += chunk
            addr += len(chunk)
        raise KernelError(E.ENAMETOOLONG)

    def read_u32(self, addr):
        v = self.find(addr)
        if v is not None and addr + 4 <= v.end and _cpu_prot(v.prot) & PROT_READ and v.backed:
            return self.cpu.read_u32(addr)
        return struct.unpack("<I", self.read(addr, 4))[0]

    def write_u32(self, addr, v):
        self.write(addr, struct.pack("<I", v & 0xFFFFFFFF))

    def pieces_end(self, v):
        """Where the mapping v belongs to ends: a file mapping is split
        where the end of its file falls (the pages past it are lazy), but it
        is one mapping to Linux, for mremap and /proc/self/maps."""
        end = v.end
        while True:
            n = self.find(end)
            if n is None or not _same_mapping(self.find(end - 1), n):
                return end
            end = n.end

    def mappings(self):
        """[(mapping, its first piece)]: the VMAs as /proc/self/maps shows
        them, a file mapping's lazy tail joined to it."""
        out, i = [], 0
        while i < len(self.vmas):
            v = self.vmas[i]
            end = self.pieces_end(v)
            while i < len(self.vmas) and self.vmas[i].start < end:
                i += 1
            out.append((v.clone(v.start, end), v))
        return out

    def maps_text(self):
        return "".join(m.maps_line() + "\n" for m, _ in self.mappings())
