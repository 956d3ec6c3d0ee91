"""The address space: a sorted VMA list kept in step with the CPU's mappings,
and the typed user-memory accessors handlers use (EFAULT, never a crash).

Every byte of guest memory is host memory sysgate maps itself (anonymous
MAP_NORESERVE memory, or the file for file mappings) and hands to the CPU
with uc_mem_map_ptr: Unicorn then splits, protects and unmaps regions
without copying them, pages the guest never touches cost the host nothing,
a host fork copies on write, and mremap moves pages by moving the CPU's
view of them. What a process may commit is bounded (set_memory_limit)."""
import bisect

from unicorn import UcError

from .errors import KernelError, E
from .hostmem import HostMapping
from .filemap import FileMappings
from .uaccess import UserAccess
from .vma import (  # noqa: F401 (kernel.mm's names, as before)
    PAGE, PROT_READ, PROT_WRITE, PROT_EXEC, MAP_SHARED, MAP_PRIVATE, MAP_FIXED,
    MAP_ANONYMOUS, MAP_GROWSDOWN, MAP_FIXED_NOREPLACE, MREMAP_MAYMOVE, MREMAP_FIXED,
    DEFAULT_MEMORY_LIMIT, MAX_MAP_COUNT, DEMAND_MIN, DEMAND_CHUNK, Vma, MappedFile,
    set_memory_limit, memory_limit, page_up, _same_mapping, _on_demand, _touched,
    _cpu_prot, _limit)


class AddressSpace(FileMappings, UserAccess):
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
        self.kept = None        # the interpreter code an exec kept (kernel.keepinterp)

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
    def map(self, start, length, prot, data=b"", ptr=0, lazy=False, hold=None, adopt=False,
            **kw):
        """Map [start, start+length) fresh (replacing what was there): with
        data copied in, the host memory at ptr (held by hold) itself, or
        (lazy) nothing yet: file pages past the end of the file. ENOMEM
        before anything changes if the process would commit too much.
        adopt: ptr is a region the CPU has already (Protections.adopt)."""
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
        if v.backed and not (adopt and self.cpu.adopt(start, end - start, _cpu_prot(prot), v.ptr)):
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
