"""Where an ELF image goes: the address-space layout of a new process and
the mappings of its segments, made as Linux's load_elf_binary and
load_elf_interp make them, past execve's point of no return.

Every failure here is Fatal: Linux has already torn down the old program,
so the process is killed with SIGSEGV (bprm_execve's force_fatal_sig),
whatever errno the mapping met. The checks are Linux's own (vm_mmap,
vm_brk_flags, the per-segment TASK_SIZE check, BAD_ADDR of the entry),
made before anything is allocated; segment contents come from the file
through the memory manager's private file mappings (AddressSpace.map_file:
what the file holds, pages past its end SIGBUS), never a read of the
whole file."""
import errno

from ..abi.consts import PROT_EXEC, PROT_READ, PROT_WRITE
from .elf import ET_DYN, ET_EXEC, PF_R, PF_W, PF_X, Record

PAGE = 0x1000
STACK_SIZE = 8 << 20          # RLIMIT_STACK's usual 8 MiB
MIN_GAP = 128 << 20           # mmap_base stays this far below the stack
M64 = (1 << 64) - 1


def page_down(x):
    return x & ~(PAGE - 1)


def page_up(x):
    return (x + PAGE - 1) & ~(PAGE - 1)


class Fatal(Exception):
    """exec failed after its point of no return (errno: what Linux met)."""

    def __init__(self, err, why):
        super().__init__(why)
        self.errno = err


class Layout(Record):
    """Randomised (or seeded) bases of a new process, as arch/x86/mm/mmap.c."""
    __slots__ = ("task_size", "stack_top", "mmap_base", "load_bias", "brk_offset", "sp_offset")

    def __init__(self, task_size, stack_top, mmap_base, load_bias, brk_offset, sp_offset):
        self.task_size, self.stack_top, self.mmap_base = task_size, stack_top, mmap_base
        self.load_bias, self.brk_offset, self.sp_offset = load_bias, brk_offset, sp_offset


def choose_layout(is64, pie, rng, randomise=True):
    task_size = (1 << 47) - PAGE if is64 else 0xFFFFE000
    r = (lambda bits: rng.getrandbits(bits)) if randomise else (lambda bits: 0)
    # 64-bit: 22 bits of pages of stack randomisation and 28 of mmap; 32-bit:
    # 11 and 8 (STACK_RND_MASK, mmap_rnd_bits / mmap_rnd_compat_bits).
    stack_top = page_down(task_size - (r(22 if is64 else 11) << 12))
    mmap_base = page_down(task_size - MIN_GAP - (r(28 if is64 else 8) << 12))
    et_dyn_base = 0x555555554000 if is64 else 0x56555000
    load_bias = et_dyn_base + (r(28 if is64 else 8) << 12) if pie else 0
    return Layout(task_size, stack_top, mmap_base, load_bias,
                  brk_offset=(r(13) << 12), sp_offset=r(13) & ~0xF)


def host_number(path, default):
    """The first number in a host file (a /proc/sys setting), or default."""
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return default


def _commit_pages():
    """The largest single accounted mapping the host's overcommit policy
    grants (OVERCOMMIT_GUESS: RAM plus swap), in pages; None: no limit."""
    if host_number("/proc/sys/vm/overcommit_memory", 0) == 1:
        return None
    kb = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith(("MemTotal:", "SwapTotal:")):
                    kb += int(line.split()[1])
    except (OSError, ValueError):
        return None
    return kb // 4 or None


class Limits(Record):
    __slots__ = ("task_size", "mmap_min_addr", "commit_pages")

    def __init__(self, task_size, mmap_min_addr, commit_pages=None):
        self.task_size, self.mmap_min_addr, self.commit_pages = \
            task_size, mmap_min_addr, commit_pages

    @classmethod
    def host(cls, is64):
        # mmap_min_addr binds only a process without CAP_SYS_RAWIO
        # (cap_mmap_addr); the guest's capabilities are sysgate's own.
        # The host's settings are read once per sysgate (and its forks),
        # as kernel.mmap reads its commit limit: three /proc files at every
        # exec were some 0.2 ms of it.
        if not _HOST:
            _HOST[:] = [host_number("/proc/sys/vm/mmap_min_addr", 65536), _commit_pages()]
        low = 0 if _has_cap(CAP_SYS_RAWIO) else _HOST[0]
        return cls((1 << 47) - PAGE if is64 else 0xFFFFE000, low, _HOST[1])


_HOST = []          # [mmap_min_addr, commit pages]
CAP_SYS_RAWIO = 17
_CAP_V3 = 0x20080522


def _has_cap(bit):
    """Whether sysgate's effective set holds capability bit (capget: the
    guest may have dropped it since the last exec)."""
    import ctypes
    from ..kernel.hostlibc import libc
    head = (ctypes.c_uint32 * 2)(_CAP_V3, 0)
    data = (ctypes.c_uint32 * 6)()      # two {effective, permitted, inheritable}
    if libc.capget(head, data) == 0:
        return bool(data[3 * (bit // 32)] >> (bit % 32) & 1)
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> bit & 1)
    except (OSError, ValueError):
        pass
    return False


class ExecFile(Record):
    """An opened file exec maps from: its MappedFile and identity."""
    __slots__ = ("mf", "name", "dev", "ino", "size")

    def __init__(self, mf, name, dev, ino, size):
        self.mf, self.name, self.dev, self.ino, self.size = mf, name, dev, ino, size


class Loaded(Record):
    __slots__ = ("entry", "phdr", "brk", "bias")

    def __init__(self, entry, phdr, brk, bias):
        self.entry = entry      # e_entry + load bias (AT_ENTRY)
        self.phdr = phdr        # AT_PHDR
        self.brk = brk          # end of the highest segment
        self.bias = bias


class Loader:
    """Maps one exec's images into mm (an AddressSpace)."""

    def __init__(self, mm, limits, read_implies_exec):
        self.mm, self.lim, self.rie = mm, limits, read_implies_exec

    def bad_addr(self, x):
        return x >= self.lim.task_size

    def prot(self, flags):
        prot = (PROT_READ if flags & PF_R else 0) | (PROT_WRITE if flags & PF_W else 0) \
            | (PROT_EXEC if flags & PF_X else 0)
        if self.rie and prot & PROT_READ:
            prot |= PROT_EXEC            # do_mmap under READ_IMPLIES_EXEC
        return prot

    # --- Linux's mapping primitives, their checks first -------------------
    def _fixed_ok(self, addr, length):
        """get_unmapped_area(MAP_FIXED) and security_mmap_addr."""
        if length > self.lim.task_size or addr > self.lim.task_size - length:
            raise Fatal(errno.ENOMEM, f"segment at {addr:#x}+{length:#x} beyond TASK_SIZE")
        if addr < self.lim.mmap_min_addr:
            raise Fatal(errno.EPERM, f"segment at {addr:#x} below mmap_min_addr")

    def _account(self, length):
        if self.lim.commit_pages is not None and length >> 12 > self.lim.commit_pages:
            raise Fatal(errno.ENOMEM, f"{length:#x} bytes exceed the host's commit limit")

    def mmap(self, f, addr, length, prot, off, fixed, map_len=None):
        """vm_mmap of a private file mapping; map_len (<= length) is what
        stays mapped (elf_map reserves a whole image, then unmaps the rest)."""
        if (off + page_up(length)) > M64 or off & (PAGE - 1):
            raise Fatal(errno.EINVAL, f"segment file offset {off:#x} not page aligned")
        length = page_up(length)
        if length == 0 or length > self.lim.task_size:
            raise Fatal(errno.ENOMEM, f"segment of {length:#x} bytes")
        if off + length > (1 << 63) - 1:
            raise Fatal(errno.EOVERFLOW, f"segment file offset {off:#x}")
        if fixed:
            self._fixed_ok(addr, length)
        else:
            hint = addr if addr >= self.lim.mmap_min_addr and \
                addr <= self.lim.task_size - length else 0
            addr = self.mm.find_free(length, hint)
        if prot & PROT_WRITE:
            self._account(length)
        size = length if map_len is None else page_up(map_len)
        self.mm.map_file(addr, size, prot, False, f.mf, off, name=f.name, dev=f.dev, ino=f.ino)
        return addr

    def brk(self, addr, length, prot_exec):
        """vm_brk_flags: anonymous zero pages, always read-write."""
        if length == 0:
            return
        self._fixed_ok(addr, length)
        self._account(length)
        exec_ = PROT_EXEC if prot_exec or self.rie else 0
        self.mm.map(addr, length, PROT_READ | PROT_WRITE | exec_)

    def padzero(self, f, addr, map_addr, off, prot):
        """Zero the rest of the page holding the end of the file part of a
        segment; Linux ignores the failure on a segment it cannot write."""
        nbyte = addr & (PAGE - 1)
        if not nbyte:
            return
        past_eof = off + (page_down(addr) - map_addr) >= page_up(f.size)
        if not prot & PROT_WRITE:
            return
        if past_eof:
            raise Fatal(errno.EFAULT, f"bss starts past the end of the file at {addr:#x}")
        v = self.mm.find(addr)
        if v is not None and not v.backed:
            self.mm.fault_in(addr)
        self.mm.write_kernel(addr, bytes(PAGE - nbyte))

    def elf_load(self, f, addr, ph, prot, fixed, total, mask):
        pageoff = ph.vaddr & (PAGE - 1)
        if ph.filesz:
            size = (ph.filesz + pageoff) & mask
            off = (ph.offset - pageoff) & mask
            start = page_down(addr)
            if not page_up(size):
                map_addr = start
            else:
                length = total if total else size
                map_addr = self.mmap(f, start, length, prot, off, fixed, map_len=size)
            if ph.memsz > ph.filesz:
                zero_start = map_addr + pageoff + ph.filesz
                zero_end = map_addr + pageoff + ph.memsz
                self.padzero(f, zero_start, map_addr, off, prot)
        else:
            map_addr = zero_start = page_down(addr)
            zero_end = zero_start + pageoff + ph.memsz
        if ph.memsz > ph.filesz:
            zs, ze = page_up(zero_start) & M64, page_up(zero_end) & M64
            self.brk(zs, (ze - zs) & M64, prot & PROT_EXEC)
        return map_addr

    def check_start(self, entry, stack_top):
        """The last checks before the new program starts: its entry point
        (BAD_ADDR), and the first stack pages, which exist before Linux
        maps any segment (one mapped over them leaves nowhere for the
        arguments)."""
        if self.bad_addr(entry):
            raise Fatal(errno.EINVAL, f"entry point {entry:#x} beyond TASK_SIZE")
        if self.mm.overlaps(stack_top - 0x21000, stack_top):
            raise Fatal(errno.EFAULT, "a segment covers the initial stack")

    def check_segment(self, k, ph):
        """The TASK_SIZE check load_elf_binary makes after each PT_LOAD."""
        ts = self.lim.task_size
        if self.bad_addr(k) or ph.filesz > ph.memsz or ph.memsz > ts or ts - ph.memsz < k:
            raise Fatal(errno.EINVAL, f"PT_LOAD at {ph.vaddr:#x} ({ph.memsz:#x} bytes) "
                        "does not fit the address space")


def total_mapping_size(segments, mask):
    lo, hi = mask, 0
    for p in segments:
        lo = min(lo, page_down(p.vaddr))
        hi = max(hi, (p.vaddr + p.memsz) & mask)
    return (hi - lo) & mask if segments else 0


def maximum_alignment(segments):
    a = 0
    for p in segments:
        if p.align and not p.align & (p.align - 1):
            a = max(a, p.align)
    return page_up(a)


def load_program(loader, img, f, layout, has_interp):
    """load_elf_binary's PT_LOAD loop: the program's segments mapped."""
    mask = M64 if img.is64 else 0xFFFFFFFF
    segs = img.segments
    first, bias, phdr, elf_brk = True, 0, 0, 0
    for ph in segs:
        prot = loader.prot(ph.flags)
        total, fixed = 0, True
        vaddr = ph.vaddr
        if first and img.etype == ET_DYN:
            total = total_mapping_size(segs, mask)
            if not total:
                raise Fatal(errno.EINVAL, "PT_LOAD segments span nothing")
            align = maximum_alignment(segs)
            if has_interp:
                bias = layout.load_bias
                if align:
                    bias &= ~(align - 1)
            elif align > PAGE:
                # A loader run directly goes where mmap puts it, aligned.
                bias = loader.mm.find_free(min(page_up(total), loader.lim.task_size)) \
                    & ~(align - 1)
            else:
                bias, fixed = 0, False
            bias = page_down((bias - vaddr) & M64)
        map_addr = loader.elf_load(f, (bias + vaddr) & M64, ph, prot, fixed, total, mask)
        if loader.bad_addr(map_addr):
            raise Fatal(errno.EINVAL, f"PT_LOAD at {map_addr:#x}")
        if first:
            first = False
            if img.etype == ET_DYN:
                bias = (bias + map_addr - page_down((bias + vaddr) & M64)) & M64
        if ph.offset <= img.phoff < ph.offset + ph.filesz:
            phdr = (img.phoff - ph.offset + ph.vaddr) & mask
        loader.check_segment(ph.vaddr, ph)
        elf_brk = max(elf_brk, ph.vaddr + ph.memsz)
    return Loaded((img.entry + bias) & M64, (phdr + bias) & M64, (elf_brk + bias) & M64, bias)


def load_interp(loader, img, f, no_base, prefer=0):
    """load_elf_interp: the interpreter's segments; returns its load address
    (prefer: where to put an ET_DYN one if that place is free)."""
    if img.etype not in (ET_EXEC, ET_DYN):
        raise Fatal(errno.ENOEXEC, "the interpreter is not an executable")
    mask = M64 if img.is64 else 0xFFFFFFFF
    segs = img.segments
    total = total_mapping_size(segs, mask)
    if not total:
        raise Fatal(errno.EINVAL, "the interpreter has no loadable segments")
    load_addr, load_addr_set = 0, False
    for ph in segs:
        vaddr = ph.vaddr
        fixed = img.etype == ET_EXEC or load_addr_set
        if not fixed and prefer and img.etype == ET_DYN:
            load_addr = (prefer - page_down(vaddr)) & M64     # a hint, as 0 is
        elif not fixed and no_base and img.etype == ET_DYN:
            load_addr = -vaddr & M64
        map_addr = loader.elf_load(f, (load_addr + vaddr) & M64, ph, loader.prot(ph.flags),
                                   fixed, total, mask)
        total = 0
        if loader.bad_addr(map_addr):
            raise Fatal(errno.EINVAL, f"interpreter PT_LOAD at {map_addr:#x}")
        if not load_addr_set and img.etype == ET_DYN:
            load_addr = (map_addr - page_down(vaddr)) & M64
            load_addr_set = True
        loader.check_segment((load_addr + ph.vaddr) & M64, ph)
    return load_addr
