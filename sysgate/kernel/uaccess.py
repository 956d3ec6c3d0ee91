"""User memory as handlers and the CPU touch it: demand paging (fault_in),
a vfork child's write tracking, and the checked reads and writes
(EFAULT, never a crash)."""
import ctypes
import os
import struct

from unicorn import UcError

from .errors import KernelError, E
from .hostmem import HostMapping
from .vma import PAGE, PROT_READ, PROT_WRITE, PROT_EXEC, DEMAND_CHUNK, page_up, _cpu_prot


class UserAccess:
    """AddressSpace's user-memory accessors (kernel.mm)."""

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
        if n > 0 and addr >= 0:
            # Within one VMA: its host memory, read in place (no Unicorn call).
            v = self.usable(addr, PROT_READ)
            if v is not None and v.ptr and addr + n <= v.end:
                return ctypes.string_at(v.ptr + (addr - v.start), n)
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
