"""The CPU's view of guest memory: the Protections mirror of what is
mapped with which rights, the Engine's map, unmap, protect and memory
accessors that keep it, and the TLB-fill hook that answers from it."""
import bisect
import ctypes

from unicorn import UcError
from unicorn import unicorn_const as UC

from .gdt import GDT_ADDR, GDT_ENTRIES, KBASE, KEND, LDT_ADDR, TRAP_BASE, TRAP_PAGES
from .ucraw import _NO_REGION, _U32, _uc_mem_read, _uc_mem_write

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4

_MEM_TO_PROT = {UC.UC_MEM_READ: UC.UC_PROT_READ, UC.UC_MEM_WRITE: UC.UC_PROT_WRITE,
                UC.UC_MEM_FETCH: UC.UC_PROT_EXEC}


class Protections:
    """The CPU's view of which pages are mapped with which rights, kept in
    step with every map, unmap and protect: the TLB-fill hook answers from
    it (see Engine.__init__)."""

    def __init__(self):
        self.starts, self.regions = [], []      # [start, end, uc perms], sorted, disjoint

    def set(self, start, end, perms):
        """[start, end) now has perms (None: unmapped)."""
        starts, regions = self.starts, self.regions
        i = max(bisect.bisect_right(starts, start) - 1, 0)
        new = []
        j = i
        while j < len(regions) and regions[j][0] < end:
            a, b, p = regions[j]
            if b > start:
                if a < start:
                    new.append([a, start, p])
                if b > end:
                    new.append([end, b, p])
            else:
                new.append(regions[j])
            j += 1
        if perms is not None:
            new.append([start, end, perms])
        new.sort()
        regions[i:j] = new
        starts[i:j] = [r[0] for r in new]

    def at(self, addr):
        """(perms, start, end) of the region holding addr, or None."""
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0:
            r = self.regions[i]
            if addr < r[1]:
                return r
        return None


STALE_MAX = 64      # regions forget keeps out of sight at most


class GuestMemory:
    """Engine's memory: map, unmap, protect, reads and writes, and the
    hooks that turn a refused access into its exact address."""

    # --- memory --------------------------------------------------------
    # Callers (kernel.mm) have checked the range against the VMA list; an
    # error here means the two disagree, which is a kernel bug.
    def mem_read(self, addr, n):
        buf = ctypes.create_string_buffer(n)
        err = _uc_mem_read(self._uch, addr, buf, n)
        if err:
            raise UcError(err)
        return buf.raw

    def mem_write(self, addr, data):
        err = _uc_mem_write(self._uch, addr, data, len(data))
        if err:
            raise UcError(err)

    def read_u32(self, addr):
        # Most guest memory is host memory (map_ptr): read it in place, as
        # the CPU would, without a call into Unicorn (the i386 fast system
        # call reads its sixth argument from the user stack this way).
        r = self._host.at(addr)
        if r is not None and addr + 4 <= r[1]:
            return _U32(addr + r[2]).value
        err = _uc_mem_read(self._uch, addr, self._u32_addr, 4)
        if err:
            raise UcError(err)
        return self._u32.value

    def user_u32(self, addr):
        """The 32-bit word at addr as a user-mode read would find it (host
        memory the CPU maps readable), or None when the kernel's own
        checked read must answer (unmapped, not readable, not host memory,
        crossing a region's end): a system call's argument from the user
        stack, without a call into Unicorn. The last region found is kept
        (the stack, call after call) until a map, unmap or protect."""
        lo, hi, delta = self._u32_seen
        if lo <= addr and addr + 4 <= hi:
            return _U32(addr + delta).value
        r = self._host.at(addr)
        if r is not None and addr + 4 <= r[1]:
            p = self.prot.at(addr)
            if p is not None and p[2] & UC.UC_PROT_READ and addr + 4 <= p[1]:
                self._u32_seen = (max(r[0], p[0]), min(r[1], p[1]), r[2])
                return _U32(addr + r[2]).value
        return None

    @staticmethod
    def _uc_prot(prot):
        return ((UC.UC_PROT_READ if prot & PROT_READ else 0)
                | (UC.UC_PROT_WRITE if prot & PROT_WRITE else 0)
                | (UC.UC_PROT_EXEC if prot & PROT_EXEC else 0))

    def _map(self, addr, size, perms):
        if self._stale:
            self._drop_stale(addr, addr + size)
        self.uc.mem_map(addr, size, perms)
        self.prot.set(addr, addr + size, perms)

    def map_ptr(self, addr, size, prot, ptr):
        """Map host memory at ptr (shared mappings)."""
        perms = self._uc_prot(prot)
        if self._stale:
            self._drop_stale(addr, addr + size)
        self.uc.mem_map_ptr(addr, size, perms, ptr)
        self.prot.set(addr, addr + size, perms)
        # ptr - addr is the same for any part of the region, so it survives
        # the splits of a later partial unmap.
        self._host.set(addr, addr + size, ptr - addr)
        self._u32_seen = _NO_REGION

    # --- an exec on this CPU (Engine.reuse_for_exec) -----------------------
    # The regions of the image before it that held code stay mapped in
    # Unicorn, out of the guest's sight: the TLB fill sees only what prot
    # holds, and every lookup of a translated block starts from the TLB.
    # Unmapping them would discard their translated blocks one by one (some
    # milliseconds for a shell's); they go when a new mapping needs their
    # place, or with the CPU. One of them, the program interpreter's code,
    # is the new image's again (adopt): its blocks are not translated twice.
    def forget(self, addr, size, hold):
        """[addr, addr+size) is no mapping of the guest's any more, but
        stays in Unicorn with its translated blocks (hold: its host memory,
        kept alive with it)."""
        self.prot.set(addr, addr + size, None)
        self._host.set(addr, addr + size, None)
        self._u32_seen = _NO_REGION
        self._stale.append((addr, addr + size, hold))
        if len(self._stale) > STALE_MAX:
            s, e, _ = self._stale[0]        # a long chain of execs: the oldest goes
            self._drop_stale(s, e)

    def adopt(self, addr, size, prot, ptr):
        """A forgotten region, exactly, mapped again with the same host
        memory (ptr): True; False if no forgotten region is exactly that."""
        for i, (s, e, hold) in enumerate(self._stale):
            if s == addr and e == addr + size:
                break
        else:
            return False
        del self._stale[i]
        perms = self._uc_prot(prot)
        self.uc.mem_protect(addr, size, perms)
        self.prot.set(addr, addr + size, perms)
        self._host.set(addr, addr + size, ptr - addr)
        self._u32_seen = _NO_REGION
        return True

    def _drop_stale(self, start, end):
        """Unmap the forgotten regions [start, end) touches, whole."""
        keep = []
        for s, e, hold in self._stale:
            if s < end and start < e:
                self.uc.mem_unmap(s, e - s)
            else:
                keep.append((s, e, hold))
        self._stale = keep

    def unmap(self, addr, size):
        self.uc.mem_unmap(addr, size)
        self.prot.set(addr, addr + size, None)
        self._host.set(addr, addr + size, None)
        self._u32_seen = _NO_REGION

    def _protect(self, addr, size, perms):
        self.uc.mem_protect(addr, size, perms)
        self.prot.set(addr, addr + size, perms)
        self._u32_seen = _NO_REGION
        # Unicorn flushes the TLB when a region is split, not when only its
        # rights change; entries filled with the old rights must go.
        self.uc.ctl(UC.UC_CTL_TLB_FLUSH, UC.UC_CTL_IO_WRITE)

    def protect(self, addr, size, prot):
        self._protect(addr, size, self._uc_prot(prot))

    def _on_tlb_fill(self, uch, addr, access, entry, _):
        """A TLB miss (addr is the page): the page's own rights. An access
        the page does not allow is sent to a trap page instead, where the
        access itself fails in _on_trap with its exact address."""
        want = _MEM_TO_PROT.get(access, 0)
        e = entry.contents
        if KBASE <= addr < KEND:
            # The kernel page is guarded by its own protection hook
            # (_on_bad_mem), which lets the CPU's descriptor reads through;
            # Unicorn also looks up the page emu_start's end address is on.
            # A store there from user code is refused here (see below).
            k = self.prot.at(addr)
            if (want == UC.UC_PROT_WRITE and self._invalid_addr is not None
                    and (k is None or not k[2] & want)):
                self._refused = ("write", False, False)
                return False
            e.paddr, e.perms = addr, want
            return True
        r = self.prot.at(addr)
        watched = False
        if r is not None and r[2] & want and self._rewind is None:
            w = self._watch.get(addr, 0) if self._watch else 0
            if not w & want:
                e.paddr, e.perms = addr, r[2] & ~w
                return True
            watched = True      # a debugger watches this page (see watch_pages)
        if want == UC.UC_PROT_WRITE and self._invalid_addr is not None:
            # A store Unicorn refuses later (at the trap page) would only
            # ask for a stop, which without the per-access exit check comes
            # at the end of the block: refused here, it stops at once, PC
            # on the instruction (see cpu.ucfields).
            self._refused = ("write", r is not None, watched)
            return False
        n = self._trap_next
        if n == TRAP_PAGES:
            # Every trap page is in use: entries still pointing at one must
            # not outlive its reuse.
            self.uc.ctl(UC.UC_CTL_TLB_FLUSH, UC.UC_CTL_IO_WRITE)
            n = 0
        self._trap_next = n + 1
        self._traps[n] = (addr, r is not None, watched)
        e.paddr, e.perms = TRAP_BASE + (n << 12), want
        return True

    def _on_trap(self, uc, access, paddr, size, value, _):
        page, mapped, watched = self._traps[(paddr - TRAP_BASE) >> 12]
        if watched:
            self._watch_trap = page | (paddr & 0xFFF)
        self._last_bad = (page | (paddr & 0xFFF), mapped)
        return False

    def _on_bad_mem(self, uc, access, addr, size, value, _):
        if KBASE <= addr < KEND:
            if (access == UC.UC_MEM_READ_PROT and size == 4 and not addr & 3
                    and (addr - GDT_ADDR < 8 * GDT_ENTRIES or addr >= LDT_ADDR)):
                # The CPU reading a descriptor for user code (a segment load,
                # far transfer, LAR, LSL). Unicorn then caches the page as
                # readable, so later reads through non-canonical aliases get
                # through; writes and fetches never do.
                return True
            self._last_bad = (addr, False)
            return False
        mapped = access in (UC.UC_MEM_READ_PROT, UC.UC_MEM_WRITE_PROT, UC.UC_MEM_FETCH_PROT)
        self._last_bad = (addr, mapped)
        return False
